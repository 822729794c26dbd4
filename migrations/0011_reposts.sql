-- Policies that reach every site that must carry them (issue 13): feeds
-- from above, repost rules, the copies they place and their tracking,
-- and 信息报送 upward.

-- A column may play a named role (e.g. `policy-repost`): reposts land in
-- the target site's column that plays the rule's role.
ALTER TABLE channels ADD COLUMN role TEXT;
CREATE UNIQUE INDEX channels_by_role ON channels (tenant_id, role) WHERE role IS NOT NULL;

-- A copy names its source document (a repost, or a 信息报送 adopted by the
-- portal); its content follows the source. `origin_url` is where a feed
-- item came from outside the platform.
ALTER TABLE documents ADD COLUMN copy_of INTEGER;
ALTER TABLE documents ADD COLUMN origin_url TEXT;
CREATE INDEX documents_by_source ON documents (copy_of) WHERE copy_of IS NOT NULL;

-- Free tags of a site, for rule targets ("every 乡镇 of the 北片区").
CREATE TABLE tenant_tags (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    tag       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, tag)
) WITHOUT ROWID;
CREATE INDEX tenant_tags_by_tag ON tenant_tags (tag, tenant_id);

-- Feeds the leader polls. Items become published documents of `tenant_id`
-- (a platform source site) in `channel_id`.
CREATE TABLE feeds (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL,
    url                TEXT NOT NULL,
    tenant_id          INTEGER NOT NULL REFERENCES tenants(id),
    channel_id         INTEGER NOT NULL REFERENCES channels(id),
    poll_seconds       INTEGER NOT NULL,
    allow_private      INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    -- The last poll, as the leader recorded it.
    etag               TEXT,
    last_modified      TEXT,
    last_poll_at       INTEGER,
    last_success_at    INTEGER,
    failing_reason     TEXT,
    failing_detail     TEXT,
    failures           INTEGER NOT NULL DEFAULT 0,
    items              INTEGER NOT NULL DEFAULT 0,
    -- 立即抓取: a poll asked for by the 系统管理员, answered by the leader.
    poll_requested_at  INTEGER
);

-- One feed item is one document: the same GUID (or link) again updates it.
CREATE TABLE feed_items (
    feed_id     INTEGER NOT NULL REFERENCES feeds(id),
    guid        TEXT NOT NULL,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (feed_id, guid)
) WITHOUT ROWID;

CREATE TABLE repost_rules (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    name          TEXT NOT NULL,
    -- JSON: the source, the filter and the targets (model::repost).
    source        TEXT NOT NULL,
    filter        TEXT NOT NULL,
    targets       TEXT NOT NULL,
    role          TEXT NOT NULL,
    mode          TEXT NOT NULL,
    deadline_ms   INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    created_by    INTEGER
);

-- One source document in one target site. `id` is the copy's document id
-- (decided by the fan-out, deterministic); `copy_id` is set once the copy
-- exists (at once when mandatory, on acceptance when optional).
CREATE TABLE reposts (
    id               INTEGER PRIMARY KEY,
    source_id        INTEGER NOT NULL REFERENCES documents(id),
    source_tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    tenant_id        INTEGER NOT NULL REFERENCES tenants(id),
    channel_id       INTEGER REFERENCES channels(id),
    copy_id          INTEGER,
    rule_id          INTEGER,
    mode             TEXT NOT NULL,
    state            TEXT NOT NULL,
    reason           TEXT,
    created_at       INTEGER NOT NULL,
    created_by       INTEGER,
    deadline_at      INTEGER NOT NULL,
    decided_at       INTEGER,
    decided_by       INTEGER,
    proof_status     INTEGER,
    proof_at         INTEGER,
    UNIQUE (source_id, tenant_id)
);
CREATE INDEX reposts_by_target ON reposts (tenant_id, state, deadline_at);
CREATE INDEX reposts_by_source_tenant ON reposts (source_tenant_id, created_at DESC);
CREATE INDEX reposts_by_rule ON reposts (rule_id) WHERE rule_id IS NOT NULL;
-- The leader looks for copies without a 200 proof several times a second:
-- it reads only those (proven copies leave the index).
CREATE INDEX reposts_unproven ON reposts (created_at) WHERE copy_id IS NOT NULL AND COALESCE(proof_status, 0) != 200;

-- 信息报送: a site's document offered to a portal column.
CREATE TABLE submissions (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants(id),
    document_id      INTEGER NOT NULL REFERENCES documents(id),
    portal_id        INTEGER NOT NULL REFERENCES tenants(id),
    channel_id       INTEGER NOT NULL REFERENCES channels(id),
    state            TEXT NOT NULL,
    reason           TEXT,
    created_at       INTEGER NOT NULL,
    created_by       INTEGER,
    decided_at       INTEGER,
    decided_by       INTEGER,
    copy_id          INTEGER
);
CREATE INDEX submissions_by_portal ON submissions (portal_id, state, created_at DESC);
CREATE INDEX submissions_by_site ON submissions (tenant_id, created_at DESC);
