-- 有效性 changes (issue 5): the document that replaces a 修订/失效/废止 one.
ALTER TABLE documents ADD COLUMN replaced_by INTEGER REFERENCES documents(id);
