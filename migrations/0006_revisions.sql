-- Revisions (issue 5): every edit of a document keeps what it was made into.
CREATE TABLE document_revisions (
    document_id INTEGER NOT NULL REFERENCES documents(id),
    revision    INTEGER NOT NULL,
    tenant_id   INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor       INTEGER,
    content     TEXT NOT NULL,
    PRIMARY KEY (document_id, revision)
) WITHOUT ROWID;
