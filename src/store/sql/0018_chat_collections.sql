-- A chat about one collection's meetings (issue 13: "Chat with a meeting or
-- a collection"). NULL: about one meeting (meeting_id) or every meeting the
-- person may read (both NULL).
ALTER TABLE chats ADD COLUMN collection_id TEXT REFERENCES collections(id) ON DELETE CASCADE;
