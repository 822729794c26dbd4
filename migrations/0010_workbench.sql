-- The workbench (issue 12). A browser session ends after `idle_ms` without
-- a request; `last_seen_at` is when one was last marked (API tokens have
-- no idle limit: both NULL).
ALTER TABLE sessions ADD COLUMN idle_ms INTEGER;
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER;
-- Admin document lists page by key, newest change first: each filter the
-- workbench offers has an index that ends in (updated_at, id), so a page
-- is a range read wherever it starts, and a filter that matches nothing
-- reads nothing (measured by benches/workbench.rs at 100,000 documents).
CREATE INDEX documents_admin ON documents (tenant_id, updated_at DESC, id DESC);
CREATE INDEX documents_admin_by_channel ON documents (tenant_id, channel_id, updated_at DESC, id DESC);
CREATE INDEX documents_admin_by_state ON documents (tenant_id, state, updated_at DESC, id DESC);
CREATE INDEX documents_admin_by_disclosure ON documents (tenant_id, disclosure, updated_at DESC, id DESC);
CREATE INDEX documents_admin_by_year ON documents (tenant_id, index_year, updated_at DESC, id DESC);
-- "My drafts": an author's documents in one state.
CREATE INDEX documents_admin_by_author ON documents (tenant_id, created_by, state, updated_at DESC, id DESC);
