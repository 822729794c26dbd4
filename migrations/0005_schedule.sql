-- Scheduled publication and withdrawal (issue 5): the leader proposes the
-- transition when the time comes.
ALTER TABLE documents ADD COLUMN publish_at INTEGER;
ALTER TABLE documents ADD COLUMN unpublish_at INTEGER;
CREATE INDEX documents_due ON documents (state, publish_at, unpublish_at);
