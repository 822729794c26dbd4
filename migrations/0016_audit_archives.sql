-- Audit lines exported to the object store and dropped here
-- (model::Command::ArchiveAudit): the chain verifies on from the hand-over
-- hash of the last line archived.
CREATE TABLE audit_archives (
    through_id    INTEGER PRIMARY KEY,
    object_key    TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    handover_hash TEXT NOT NULL,
    lines         INTEGER NOT NULL,
    at            INTEGER NOT NULL
);
