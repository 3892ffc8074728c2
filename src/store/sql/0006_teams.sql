-- Teams (issue 10): organization settings, invitations, audit targets.
--
-- Organizations get a default language for new meetings and a retention
-- period (NULL = keep meetings for ever).
ALTER TABLE organizations ADD COLUMN default_language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE organizations ADD COLUMN retention_days INTEGER;

-- An invitation to join an organization with a role, by e-mail address.
-- The token ("inv_" + 32 random bytes) is shown once; only its SHA-256 is
-- kept. It works once (accepted_at), until expires_at (7 days), and not
-- after revocation (revoked_at; a resend revokes the old row and makes a
-- new one, so the old link answers "gone", not "unknown").
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,                   -- normalised like users.email
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    token_hash  TEXT NOT NULL UNIQUE,
    invited_by  TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    revoked_at  BIGINT
);
CREATE INDEX invitations_org ON invitations(org_id, email);

-- What an audit event acted on ('meeting', 'member', 'invitation', ...).
ALTER TABLE audit_events ADD COLUMN target_type TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN target_id TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_events_created ON audit_events(created_at);
CREATE INDEX sessions_org_user ON sessions(org_id, user_id);
