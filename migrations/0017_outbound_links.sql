-- The leader's last check of each link from a site's home page to another
-- website (model::Command::RecordLinkChecks): the dead_links monitor names
-- the ones that do not work, as inspectors count 首页错链.
CREATE TABLE outbound_links (
    tenant_id INTEGER NOT NULL,
    url       TEXT NOT NULL,
    status    INTEGER NOT NULL,
    note      TEXT NOT NULL DEFAULT '',
    at        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, url)
);
