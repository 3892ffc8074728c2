-- Row-level security on every tenant table (issue 10, item 9): defence in
-- depth under the application's own organization filters.
--
-- A connection sees a tenant row only when its scope allows the row's
-- organization. The scope is two settings the store layer sets on the
-- connection it borrows (store/db.h, "Tenant scope"):
--   iam.scope   = 'system'  cross-organization work (authentication by
--                           hash, jobs, the janitor, webhooks, migrations)
--   iam.org_ids = 'a,b,...' the organizations this request may touch
-- Neither set (a fresh connection, or one given back to the pool) means no
-- tenant rows at all: fail closed.
--
-- FORCE: the application's role owns these tables (it ran the migrations),
-- and a table's owner is exempt from its policies unless forced. A
-- superuser or a BYPASSRLS role is exempt whatever we do: iamd warns at
-- start-up when it runs as one.
--
-- Two tables with an org_id are left out on purpose:
--  * sessions: a login session belongs to a user; its org_id only names the
--    organization the session is acting in, and it is read by id on every
--    request before any scope is known.
--  * search_docs: the full-text index. Under a policy PostgreSQL may use an
--    index only for a condition whose operator is LEAKPROOF, and the text
--    match (tsvector @@ tsquery) is not (only a superuser could mark it):
--    every search became a scan of all the organization's documents instead
--    of a GIN lookup. Every search query joins meetings, whose policy bounds
--    what a hit can show, and search_docs only copies meetings' and
--    transcripts' text, which are protected where they live.

CREATE FUNCTION iam_org_visible(org TEXT) RETURNS BOOLEAN
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('iam.scope', true), '') = 'system'
        OR coalesce(org = ANY (string_to_array(nullif(current_setting('iam.org_ids', true), ''), ',')), false)
$$;

DO $$
DECLARE
    t TEXT;
    -- org_id NOT NULL: every row belongs to one organization.
    strict_tables TEXT[] := ARRAY[
        'memberships', 'api_keys', 'meetings', 'transcripts', 'uploads',
        'idempotency_keys', 'transcript_revisions', 'invitations', 'meeting_insights', 'subscriptions', 'usage_records', 'api_request_windows',
        'usage_warnings', 'paygate_payments', 'invoices', 'chats', 'chat_messages',
        'collections', 'collection_meetings', 'collection_grants',
        'collection_invitations', 'share_links'];
    -- org_id may be NULL (a user's own mail job, a login failure, a provider
    -- event for no known organization): such rows can be written from any
    -- scope but are read only in system scope.
    nullable_tables TEXT[] := ARRAY['audit_events', 'jobs', 'billing_events'];
BEGIN
    FOREACH t IN ARRAY strict_tables LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY iam_tenant ON %I USING (iam_org_visible(org_id))'
                       ' WITH CHECK (iam_org_visible(org_id))', t);
    END LOOP;
    FOREACH t IN ARRAY nullable_tables LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY iam_tenant ON %I USING (iam_org_visible(org_id))'
                       ' WITH CHECK (org_id IS NULL OR iam_org_visible(org_id))', t);
    END LOOP;
END
$$;
