-- The platform's probes of every site's home page (compliance monitors).
-- Kept 8 days: the reachability monitor looks at the last 7.
CREATE TABLE home_probes (
    tenant_id INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    status    INTEGER NOT NULL,
    ms        INTEGER NOT NULL
);
CREATE INDEX home_probes_by_time ON home_probes (at, tenant_id);

-- Tamper evidence: the digest of each document as its last command left it
-- (store::integrity). A document written before this table existed has
-- none until it changes again.
CREATE TABLE document_digests (
    id     INTEGER PRIMARY KEY,
    digest TEXT NOT NULL
);

-- The second factor (TOTP) of accounts that turned it on; last_step is the
-- newest code step used, so a code is accepted once.
CREATE TABLE totp (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id),
    secret      TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL,
    last_step   INTEGER NOT NULL
);

-- Passwords an account had (their argon2id hashes), newest last: a new
-- password may not be one of the last few (password policy `history`).
CREATE TABLE password_history (
    user_id       INTEGER NOT NULL,
    password_hash TEXT NOT NULL,
    at            INTEGER NOT NULL
);
CREATE INDEX password_history_by_user ON password_history (user_id, at);
