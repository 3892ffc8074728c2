-- Invitations and notifications (issue 10 and 11 follow-ups).
--
-- Which mail job carries an invitation's link (issue 10: "SMTP down ->
-- invitation still created, mail retried, the inviter sees 'not sent
-- yet'"). NULL when no mail was queued (no SMTP configured, or queueing
-- failed): the inviter passes the link on by hand. The job's state says
-- whether the mail is sent, still being tried, or given up.
ALTER TABLE invitations ADD COLUMN mail_job_id TEXT;
ALTER TABLE collection_invitations ADD COLUMN mail_job_id TEXT;

-- Where a notification leads in the web app (a path such as /meetings/{id}
-- or /invitations; NULL: nowhere beyond its message, if any).
ALTER TABLE notifications ADD COLUMN link TEXT;

-- The invitations addressed to someone, for their own list (GET
-- /api/v1/invitations/mine and /api/v1/collection-invitations/mine).
CREATE INDEX invitations_email ON invitations(email);
CREATE INDEX collection_invitations_email ON collection_invitations(email);
