-- Platform settings (issue 5): the password policy, set by the 安全管理员.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
