-- Chat with a meeting (issue 13): conversations are kept per user. A chat
-- is about one meeting, or (meeting_id NULL) about every meeting the user
-- may read. Messages are stored only once complete: the user's question
-- and the answer go in together, with the answer's citations as JSON
-- ([{meeting_id, segment_index, speaker, start, text}]), its status
-- ('answer' from the model, 'excerpt' built offline from passages) and its
-- source (the model's name, or 'offline').
CREATE TABLE chats (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    meeting_id TEXT REFERENCES meetings(id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX chats_user ON chats(org_id, user_id, id);
CREATE INDEX chats_meeting ON chats(meeting_id);

CREATE TABLE chat_messages (
    id         TEXT PRIMARY KEY,
    chat_id    TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    org_id     TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content    TEXT NOT NULL,
    citations  TEXT NOT NULL DEFAULT '[]',
    status     TEXT NOT NULL DEFAULT 'complete' CHECK (status IN ('complete', 'answer', 'excerpt')),
    source     TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX chat_messages_chat ON chat_messages(chat_id, id);
