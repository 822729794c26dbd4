-- The audit trail is hash-chained (DESIGN: AuditEvent, append-only,
-- hash-chained): each line carries SHA-256(previous hash, this line), so a
-- line changed or removed in the database breaks the chain from there on.
ALTER TABLE audit_log ADD COLUMN hash TEXT NOT NULL DEFAULT '';
