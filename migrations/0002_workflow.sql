-- The editorial workflow (issue 5): review stages, 退文, 保密审查, the legal
-- basis of a disclosure decision, and the audit trail.
--
-- `documents.disclosure` stays NOT NULL: the empty string means a draft has
-- not chosen its 公开属性 yet (a submission refuses that).

ALTER TABLE documents ADD COLUMN disclosure_basis TEXT;
ALTER TABLE documents ADD COLUMN needs_secrecy_review INTEGER NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN review_stage TEXT;
ALTER TABLE documents ADD COLUMN return_reason TEXT;
ALTER TABLE documents ADD COLUMN return_stage TEXT;
ALTER TABLE documents ADD COLUMN returned_by INTEGER;
ALTER TABLE documents ADD COLUMN returned_at INTEGER;
ALTER TABLE documents ADD COLUMN secrecy_passed INTEGER;
ALTER TABLE documents ADD COLUMN secrecy_conclusion TEXT;
ALTER TABLE documents ADD COLUMN secrecy_by INTEGER;
ALTER TABLE documents ADD COLUMN secrecy_at INTEGER;

-- Every proposal the state machine applied or refused: who, when, from
-- where, what, and the result. Written by the state machine only, so every
-- node holds the same trail. Never the command's payload (passwords, tokens).
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      INTEGER,
    client_ip  TEXT,
    tenant_id  INTEGER,
    target_id  INTEGER,
    action     TEXT NOT NULL,
    result     TEXT NOT NULL,
    detail     TEXT
);
CREATE INDEX audit_by_tenant ON audit_log (tenant_id, id);
CREATE INDEX audit_by_target ON audit_log (target_id, id);
