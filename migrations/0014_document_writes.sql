-- Every write to a document row or its digest, whoever makes it: the state
-- machine's commands and anything else that opens the database (a hand edit
-- with the sqlite3 shell fires these triggers too). The tamper checker
-- (platform::integrity) reads the writes since its last look, so it checks
-- what changed every few seconds and sweeps everything only now and then.
-- One row per document: a new write replaces the old row with a higher seq
-- (delete, then insert: a conflict clause inside a trigger would give way
-- to the outer statement's).
CREATE TABLE document_writes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id  INTEGER NOT NULL UNIQUE
);
CREATE TRIGGER document_written_insert AFTER INSERT ON documents
BEGIN DELETE FROM document_writes WHERE id = NEW.id; INSERT INTO document_writes (id) VALUES (NEW.id); END;
CREATE TRIGGER document_written_update AFTER UPDATE ON documents
BEGIN DELETE FROM document_writes WHERE id = NEW.id; INSERT INTO document_writes (id) VALUES (NEW.id); END;
CREATE TRIGGER document_digest_written AFTER UPDATE ON document_digests
BEGIN DELETE FROM document_writes WHERE id = NEW.id; INSERT INTO document_writes (id) VALUES (NEW.id); END;
