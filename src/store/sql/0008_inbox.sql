-- Inbox: messages between people who share an organization, the
-- notifications the system raises for them, and per-type notification
-- preferences. Portable SQL (SQLite 3.40 / PostgreSQL 15).
--
-- One row per message, shared by both sides: each side has its own flags
-- (the recipient's is_read/is_starred/is_archived/recipient_deleted, the
-- sender's sender_starred/sender_archived/sender_deleted), so each person
-- stars, archives and deletes only their own copy and both see the same
-- message id. The row goes once both sides deleted it. A message to oneself
-- is one row seen from both sides; changing it changes both sides.
--
-- Messages are not owned by one tenant: the two people share at least one
-- organization when it is sent (checked against memberships, not stored),
-- and either may later leave it without losing their copy.
--
-- thread_id is the id of the first message of the thread (its own id for a
-- new conversation); reply_to the message answered. A message may point at
-- a meeting the sender could read when sending, and a time in it.

CREATE TABLE messages (
    id                TEXT PRIMARY KEY,
    sender_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    recipient_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    thread_id         TEXT NOT NULL,
    reply_to          TEXT REFERENCES messages(id) ON DELETE SET NULL,
    subject           TEXT NOT NULL,
    body              TEXT NOT NULL,
    meeting_id        TEXT REFERENCES meetings(id) ON DELETE SET NULL,
    at_seconds        DOUBLE PRECISION,
    is_read           INTEGER NOT NULL DEFAULT 0 CHECK (is_read IN (0, 1)),
    is_starred        INTEGER NOT NULL DEFAULT 0 CHECK (is_starred IN (0, 1)),
    is_archived       INTEGER NOT NULL DEFAULT 0 CHECK (is_archived IN (0, 1)),
    recipient_deleted INTEGER NOT NULL DEFAULT 0 CHECK (recipient_deleted IN (0, 1)),
    sender_starred    INTEGER NOT NULL DEFAULT 0 CHECK (sender_starred IN (0, 1)),
    sender_archived   INTEGER NOT NULL DEFAULT 0 CHECK (sender_archived IN (0, 1)),
    sender_deleted    INTEGER NOT NULL DEFAULT 0 CHECK (sender_deleted IN (0, 1)),
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX messages_recipient ON messages(recipient_id, id);
CREATE INDEX messages_sender ON messages(sender_id, id);
CREATE INDEX messages_thread ON messages(thread_id, id);

-- type: new_message, transcription_completed, transcription_failed,
-- invitation, mention, quota_warning. content is a short sentence.
CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message_id  TEXT REFERENCES messages(id) ON DELETE SET NULL,
    type        TEXT NOT NULL,
    content     TEXT NOT NULL,
    is_read     INTEGER NOT NULL DEFAULT 0 CHECK (is_read IN (0, 1)),
    created_at  BIGINT NOT NULL
);
CREATE INDEX notifications_user ON notifications(user_id, id);
CREATE INDEX notifications_unread ON notifications(user_id, is_read);

-- A missing row means the default: in_app on, email off.
CREATE TABLE notification_preferences (
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    in_app      INTEGER NOT NULL CHECK (in_app IN (0, 1)),
    email       INTEGER NOT NULL CHECK (email IN (0, 1)),
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, type)
);
