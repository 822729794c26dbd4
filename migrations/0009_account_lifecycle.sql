-- Account lifecycle (issue 10): an account can be disabled (it cannot log
-- in, its sessions are gone); a password set by the 安全管理员 must be
-- changed by its owner before anything else; when the password last
-- changed. User names are unique whatever their case: the state machine
-- checks lower(username) before creating, through this index.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_changed_at INTEGER;
CREATE INDEX users_by_folded_name ON users (lower(username));
CREATE INDEX sessions_by_user ON sessions (user_id);
