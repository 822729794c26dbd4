-- The workbench (issue 12). A browser session ends after `idle_ms` without
-- a request; `last_seen_at` is when one was last marked (API tokens have
-- no idle limit: both NULL). Admin document lists page by key, newest
-- change first, so the indexes carry (updated_at, id) after the filters.
ALTER TABLE sessions ADD COLUMN idle_ms INTEGER;
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
CREATE INDEX documents_admin ON documents (tenant_id, updated_at DESC, id DESC);
CREATE INDEX documents_admin_by_channel ON documents (tenant_id, channel_id, updated_at DESC, id DESC);
CREATE INDEX documents_admin_by_state ON documents (tenant_id, state, updated_at DESC, id DESC);
