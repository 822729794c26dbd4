-- Each site's HTTPS certificate (chain and key in PEM), replicated like
-- everything else so that any node can serve any site by SNI. The key is
-- as secret as the database file itself; it is never shown by the API nor
-- written to the audit trail (which names the fingerprint).
CREATE TABLE site_certificates (
    tenant_id       INTEGER PRIMARY KEY REFERENCES tenants(id),
    chain_pem       TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    not_after       INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    hosts           TEXT NOT NULL,
    updated_at      INTEGER NOT NULL
);
