-- A reviewer's leave for the personal data the content check found in a
-- draft (model::Command::AllowPersonalData): bound to the body's SHA-256 at
-- the time, so an edited body needs a new one. The reason is in the audit
-- trail too.
CREATE TABLE personal_data_allowances (
    document_id INTEGER PRIMARY KEY,
    body_sha256 TEXT NOT NULL,
    reason      TEXT NOT NULL,
    allowed_by  INTEGER,
    allowed_at  INTEGER NOT NULL
);
