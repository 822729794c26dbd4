-- The state machine's tables. Every table has an explicit primary key:
-- snapshots are made with VACUUM INTO, which may renumber implicit rowids.

-- Where the state machine stands in the Raft log (`last_applied`) and the
-- last membership it applied, both as JSON written by the cluster crate.
CREATE TABLE raft_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE tenants (
    id                 INTEGER PRIMARY KEY,
    code               TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL,
    parent_id          INTEGER REFERENCES tenants(id),
    mount_under_parent INTEGER NOT NULL DEFAULT 0,
    site_id_code       TEXT,
    icp                TEXT,
    police_record      TEXT,
    organ_code         TEXT NOT NULL,
    mailbox            TEXT,
    lifecycle          TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

-- A host selects exactly one tenant.
-- A host selects exactly one tenant; position 0 is the site's main domain.
CREATE TABLE tenant_hosts (
    host      TEXT PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    position  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE channels (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
    parent_id    INTEGER REFERENCES channels(id),
    slug         TEXT NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    update_class TEXT NOT NULL,
    position     INTEGER NOT NULL,
    link_url     TEXT,
    created_at   INTEGER NOT NULL,
    UNIQUE (tenant_id, slug)
);

CREATE TABLE documents (
    id                INTEGER PRIMARY KEY,
    tenant_id         INTEGER NOT NULL REFERENCES tenants(id),
    channel_id        INTEGER NOT NULL REFERENCES channels(id),
    title             TEXT NOT NULL,
    body_html         TEXT NOT NULL,
    summary           TEXT,
    source            TEXT,
    author            TEXT,
    state             TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    published_at      INTEGER,
    index_no          TEXT NOT NULL UNIQUE,
    index_year        INTEGER NOT NULL,
    index_serial      INTEGER NOT NULL,
    doc_no            TEXT,
    issuing_organ     TEXT NOT NULL,
    written_date      TEXT,
    topic             TEXT,
    disclosure        TEXT NOT NULL,
    disclosure_reason TEXT,
    validity          TEXT NOT NULL,
    created_by        INTEGER,
    UNIQUE (tenant_id, index_year, index_serial)
);
CREATE INDEX documents_by_channel ON documents (tenant_id, channel_id, state, published_at DESC);
CREATE INDEX documents_by_tenant ON documents (tenant_id, state, published_at DESC);

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
    document_id  INTEGER REFERENCES documents(id),
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   INTEGER
);
CREATE INDEX attachments_by_document ON attachments (document_id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    platform_role TEXT,
    created_at    INTEGER NOT NULL
);

CREATE TABLE grants (
    user_id   INTEGER NOT NULL REFERENCES users(id),
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    role      TEXT NOT NULL,
    PRIMARY KEY (user_id, tenant_id, role)
) WITHOUT ROWID;

-- Logins. Only the SHA-256 of a bearer token is kept.
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) WITHOUT ROWID;
