-- Row-level security is PostgreSQL's (see 0014_rls.pg.sql). SQLite is the
-- embedded, single-process default: it has no roles and no policies, and
-- the application's organization filters are the only bound.
SELECT 1;
