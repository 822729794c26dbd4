-- A trail written by release 0.1 (log format level 0) has no recorded head:
-- its nodes never wrote one. Applying its entries today writes the head
-- beside every line, so a node that applied them with today's binary and a
-- node that applied them with 0.1 and was then upgraded would differ. The
-- head of such a trail is its last line, as applying would have left it.
INSERT INTO raft_meta (key, value)
SELECT 'audit_head', json_object('hash', hash, 'id', id) FROM audit_log
WHERE hash IS NOT NULL AND hash <> '' AND NOT EXISTS (SELECT 1 FROM raft_meta WHERE key = 'audit_head')
ORDER BY id DESC LIMIT 1;
