-- Collections and share links (issue 10, items 6 and 7).
--
-- A collection is a folder of meetings in one organization; a meeting may
-- be in several. People get a role on a collection (owner / editor /
-- viewer) by e-mail invitation: a grant reaches the collection's meetings
-- only, never the rest of the organization (auth/authz.h decides).
CREATE TABLE collections (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX collections_org ON collections(org_id, id);

CREATE TABLE collection_meetings (
    collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    meeting_id    TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    added_by      TEXT REFERENCES users(id) ON DELETE SET NULL,
    added_at      BIGINT NOT NULL,
    PRIMARY KEY (collection_id, meeting_id)
);
CREATE INDEX collection_meetings_meeting ON collection_meetings(meeting_id);

CREATE TABLE collection_grants (
    collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    granted_by    TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (collection_id, user_id)
);
CREATE INDEX collection_grants_user ON collection_grants(user_id);

-- Invitations to a collection: the organization invitations' token pattern
-- ("cin_" + 32 random bytes, only the SHA-256 kept, single use, 7 days).
CREATE TABLE collection_invitations (
    id            TEXT PRIMARY KEY,
    collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    org_id        TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    token_hash    TEXT NOT NULL UNIQUE,
    invited_by    TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    accepted_at   BIGINT,
    accepted_by   TEXT REFERENCES users(id) ON DELETE SET NULL,
    revoked_at    BIGINT
);
CREATE INDEX collection_invitations_coll ON collection_invitations(collection_id);

-- A public read-only link to one meeting: "shr_" + 32 random bytes, only
-- the SHA-256 kept; dead after revoked_at or expires_at (NULL = no expiry).
CREATE TABLE share_links (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX share_links_meeting ON share_links(meeting_id);
