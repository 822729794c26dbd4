-- 政策解读 published with its policy (issue 5): a policy may need an
-- interpretation; an interpretation names the policy it explains and its kind.
ALTER TABLE documents ADD COLUMN needs_interpretation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN interprets INTEGER REFERENCES documents(id);
ALTER TABLE documents ADD COLUMN interpretation_kind TEXT;
CREATE INDEX documents_by_policy ON documents (interprets) WHERE interprets IS NOT NULL;
