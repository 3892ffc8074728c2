/*
 * Unit tests for auth/authz (the permission table: who may do what, and
 * README's matrix generated from it) and the team store modules it rests
 * on: store/orgs (the last owner stays), store/invitations (single use,
 * expiry, resend kills the old token, members are not invited again),
 * store/audit (filters, paging, retention purge).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authz.h"
#include "core/log.h"
#include "store/audit.h"
#include "store/invitations.h"
#include "store/orgs.h"

#include "db_fixture.h"

/* The matrix written out independently of the implementation's table. */
static void test_matrix(void **state)
{
	(void)state;
	static const struct {
		enum perm p;
		bool owner, admin, member, viewer;
	} WANT[] = {
	    // clang-format off
	    {PERM_NONE, 1, 1, 1, 1},
	    {PERM_READ, 1, 1, 1, 1},
	    {PERM_CREATE_MEETING, 1, 1, 1, 0},
	    {PERM_UPLOAD, 1, 1, 1, 0},
	    {PERM_TRANSCRIBE, 1, 1, 1, 0},
	    {PERM_EDIT_TRANSCRIPT, 1, 1, 1, 0},
	    {PERM_SHARE, 1, 1, 1, 0},
	    {PERM_DELETE_MEETING, 1, 1, 0, 0},
	    {PERM_MANAGE_MEMBERS, 1, 1, 0, 0},
	    {PERM_SEE_BILLING, 1, 1, 0, 0},
	    {PERM_MANAGE_KEYS, 1, 1, 0, 0},
	    {PERM_MANAGE_WEBHOOKS, 1, 1, 0, 0},
	    {PERM_READ_AUDIT, 1, 1, 0, 0},
	    {PERM_MANAGE_ORG, 1, 1, 0, 0},
	    {PERM_DELETE_ORG, 1, 0, 0, 0},
	    // clang-format on
	};
	assert_int_equal(sizeof WANT / sizeof *WANT, PERM_COUNT);
	for (size_t i = 0; i < sizeof WANT / sizeof *WANT; i++) {
		enum perm p = WANT[i].p;
		assert_int_equal(authz_may(ROLE_OWNER, p), WANT[i].owner);
		assert_int_equal(authz_may(ROLE_ADMIN, p), WANT[i].admin);
		assert_int_equal(authz_may(ROLE_MEMBER, p), WANT[i].member);
		assert_int_equal(authz_may(ROLE_VIEWER, p), WANT[i].viewer);
		assert_false(authz_may(ROLE_NONE, p));
		/* A higher role may always do what a lower one may. */
		for (int r = ROLE_VIEWER; r < ROLE_OWNER; r++)
			if (authz_may((enum org_role)r, p))
				assert_true(authz_may((enum org_role)(r + 1), p));
	}
	assert_false(authz_may(ROLE_OWNER, PERM_COUNT));
	assert_false(authz_may(ROLE_OWNER, (enum perm) - 1));
	assert_false(authz_may((enum org_role)99, PERM_READ));
}

static void test_role_names(void **state)
{
	(void)state;
	for (int r = ROLE_VIEWER; r <= ROLE_OWNER; r++)
		assert_int_equal(authz_role_parse(authz_role_name((enum org_role)r)), r);
	assert_int_equal(authz_role_parse("Owner"), ROLE_NONE);
	assert_int_equal(authz_role_parse(""), ROLE_NONE);
	assert_int_equal(authz_role_parse(NULL), ROLE_NONE);
	assert_int_equal(authz_role_parse("none"), ROLE_NONE);
	assert_string_equal(authz_perm_name(PERM_DELETE_ORG), "delete_org");
	assert_string_equal(authz_roles_with(PERM_DELETE_ORG), "owner");
}

/* README's permission matrix is authz_matrix_markdown(): regenerate it from there. */
static void test_readme_matrix(void **state)
{
	(void)state;
	char path[4096];
	const char *slash = strrchr(__FILE__, '/');
	snprintf(path, sizeof path, "%.*s%sREADME.md", slash ? (int)(slash - __FILE__) : 0,
		 __FILE__, slash ? "/../../" : "");
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s (run the tests from the repository's root)", path);
	char *readme = NULL;
	size_t cap = 0;
	ssize_t got = getdelim(&readme, &cap, '\0', f);
	fclose(f);
	assert_true(got > 0);
	const char *begin = "<!-- permissions-table: generated from src/auth/authz.c "
			    "(authz_matrix_markdown); tests/unit/test_authz.c checks it -->\n\n";
	const char *end = "\n<!-- end permissions-table -->\n";
	char *b = strstr(readme, begin), *e = b ? strstr(b, end) : NULL;
	char *md = authz_matrix_markdown();
	if (!b || !e || (size_t)(e - b - strlen(begin)) != strlen(md) ||
	    memcmp(b + strlen(begin), md, strlen(md)) != 0) {
		fprintf(stderr, "README.md's permission matrix should read:\n%s", md);
		fail_msg("README.md's permission matrix differs from src/auth/authz.c");
	}
	free(md);
	free(readme);
}

static void add_member(struct fx *fx, const char *org, const char *user, const char *role)
{
	assert_int_equal(org_member_add(fx->c, org, user, role), STORE_OK);
}

static void test_last_owner(void **state)
{
	FX(state);
	add_member(fx, fx->org, fx->user, "owner");
	/* The only owner can neither be demoted nor removed. */
	assert_int_equal(org_member_set_role(fx->c, fx->org, fx->user, "admin"), STORE_CONFLICT);
	assert_int_equal(org_member_remove(fx->c, fx->org, fx->user), STORE_CONFLICT);
	assert_int_equal(org_member_set_role(fx->c, fx->org, fx->user, "owner"), STORE_OK);
	/* With a second owner one may step down; then the other is the last again. */
	add_member(fx, fx->org, fx->user2, "owner");
	assert_int_equal(org_member_add(fx->c, fx->org, fx->user2, "admin"), STORE_CONFLICT);
	assert_int_equal(org_member_set_role(fx->c, fx->org, fx->user, "viewer"), STORE_OK);
	assert_int_equal(org_member_set_role(fx->c, fx->org, fx->user2, "member"), STORE_CONFLICT);
	assert_int_equal(org_member_remove(fx->c, fx->org, fx->user2), STORE_CONFLICT);
	char role[16];
	assert_int_equal(org_member_role(fx->c, fx->org, fx->user, role), STORE_OK);
	assert_string_equal(role, "viewer");
	assert_int_equal(org_member_remove(fx->c, fx->org, fx->user), STORE_OK);
	assert_int_equal(org_member_role(fx->c, fx->org, fx->user, role), STORE_NOT_FOUND);
	assert_int_equal(org_member_set_role(fx->c, fx->org, fx->user, "admin"), STORE_NOT_FOUND);
}

static void test_invitations(void **state)
{
	FX(state);
	add_member(fx, fx->org, fx->user, "owner");
	struct invitation inv, got;
	char token[INVITE_TOKEN_BUF], token2[INVITE_TOKEN_BUF];
	assert_int_equal(
	    invitation_create(fx->c, fx->org, "new@example.com", "member", fx->user, &inv, token),
	    STORE_OK);
	assert_true(strncmp(token, "inv_", 4) == 0 && strlen(token) >= 4 + 43); /* 256 bits */
	assert_int_equal(invitation_state(&inv, time_now_ms()), INVITE_PENDING);
	assert_true(inv.expires_at - inv.created_at == INVITE_TTL_MS);
	/* Only the hash is kept: the token itself is nowhere in the table. */
	int rc;
	struct db_res *r = db_query(fx->c, "SELECT count(*) FROM invitations WHERE token_hash = $1",
				    DB_PARAMS(DB_TEXT(token)), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	assert_int_equal(db_int(r, 0), 0);
	db_res_free(r);

	/* A resend kills the old token (revoked, not unknown) and issues a new one. */
	struct invitation again;
	assert_int_equal(invitation_resend(fx->c, fx->org, inv.id, fx->user, &again, token2),
			 STORE_OK);
	assert_string_not_equal(token, token2);
	assert_int_equal(invitation_find_by_token(fx->c, token, &got), STORE_OK);
	assert_int_equal(invitation_state(&got, time_now_ms()), INVITE_REVOKED);
	assert_int_equal(invitation_accept(fx->c, got.id, fx->user2), STORE_STALE);
	assert_int_equal(invitation_resend(fx->c, fx->org, inv.id, fx->user, &got, token),
			 STORE_NOT_FOUND);

	/* Accepted once; a second use is refused and changes nothing. */
	assert_int_equal(invitation_find_by_token(fx->c, token2, &got), STORE_OK);
	assert_int_equal(invitation_accept(fx->c, got.id, fx->user2), STORE_OK);
	char role[16];
	assert_int_equal(org_member_role(fx->c, fx->org, fx->user2, role), STORE_OK);
	assert_string_equal(role, "member");
	assert_int_equal(invitation_accept(fx->c, got.id, fx->user2), STORE_STALE);
	assert_int_equal(invitation_find_by_token(fx->c, token2, &got), STORE_OK);
	assert_int_equal(invitation_state(&got, time_now_ms()), INVITE_ACCEPTED);

	/* Expired: refused. */
	assert_int_equal(
	    invitation_create(fx->c, fx->org, "late@example.com", "viewer", fx->user, &inv, token),
	    STORE_OK);
	assert_int_equal(db_exec(fx->c, "UPDATE invitations SET expires_at = $2 WHERE id = $1",
				 DB_PARAMS(DB_TEXT(inv.id), DB_INT(time_now_ms() - 1)), NULL),
			 DB_OK);
	assert_int_equal(invitation_find_by_token(fx->c, token, &got), STORE_OK);
	assert_int_equal(invitation_state(&got, time_now_ms()), INVITE_EXPIRED);
	assert_int_equal(invitation_accept(fx->c, got.id, fx->user2), STORE_STALE);

	/* A member is not invited again; unknown tokens are unknown. */
	char email2[80];
	snprintf(email2, sizeof email2, "%s@example.com", fx->user2);
	assert_int_equal(invitation_create(fx->c, fx->org, email2, "admin", fx->user, &inv, token),
			 STORE_CONFLICT);
	assert_int_equal(invitation_find_by_token(fx->c, "inv_nope", &got), STORE_NOT_FOUND);
	/* Revoke: pending only, and only in its own organization. */
	assert_int_equal(
	    invitation_create(fx->c, fx->org, "x@example.com", "viewer", fx->user, &inv, token),
	    STORE_OK);
	assert_int_equal(invitation_revoke(fx->c, fx->org2, inv.id), STORE_NOT_FOUND);
	assert_int_equal(invitation_revoke(fx->c, fx->org, inv.id), STORE_OK);
	assert_int_equal(invitation_revoke(fx->c, fx->org, inv.id), STORE_NOT_FOUND);
	struct invitation *list;
	int n;
	assert_int_equal(invitation_list_pending(fx->c, fx->org, NULL, 10, &list, &n), STORE_OK);
	assert_int_equal(n, 0);
	free(list);
}

static void test_org_delete(void **state)
{
	FX(state);
	add_member(fx, fx->org, fx->user, "owner");
	int64_t now = time_now_ms();
	char m1[UUID_STR_LEN], m2[UUID_STR_LEN], job[UUID_STR_LEN];
	uuid_v7(m1);
	uuid_v7(m2);
	uuid_v7(job);
	assert_int_equal(
	    db_exec(fx->c,
		    "INSERT INTO meetings (id, org_id, title, audio_key, created_at, updated_at)"
		    " VALUES ($1, $2, 'a', 'audio/one', $3, $3), ($4, $2, 'b', NULL, $3, $3)",
		    DB_PARAMS(DB_TEXT(m1), DB_TEXT(fx->org), DB_INT(now), DB_TEXT(m2)), NULL),
	    DB_OK);
	assert_int_equal(
	    db_exec(fx->c,
		    "INSERT INTO jobs (id, org_id, kind, run_at, created_at, updated_at)"
		    " VALUES ($1, $2, 'transcribe', $3, $3, $3)",
		    DB_PARAMS(DB_TEXT(job), DB_TEXT(fx->org), DB_INT(now)), NULL),
	    DB_OK);
	char **keys;
	int n;
	assert_int_equal(org_delete(fx->c, fx->org, &keys, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0], "audio/one");
	org_keys_free(keys, n);
	static const char *const LEFT[] = {
	    "SELECT count(*) FROM meetings WHERE org_id = $1",
	    "SELECT count(*) FROM jobs WHERE org_id = $1",
	    "SELECT count(*) FROM memberships WHERE org_id = $1",
	    "SELECT count(*) FROM organizations WHERE id = $1",
	};
	for (size_t i = 0; i < sizeof LEFT / sizeof *LEFT; i++) {
		int rc;
		struct db_res *r = db_query(fx->c, LEFT[i], DB_PARAMS(DB_TEXT(fx->org)), &rc);
		assert_non_null(r);
		assert_int_equal(db_next(r), 1);
		assert_int_equal(db_int(r, 0), 0);
		db_res_free(r);
	}
	assert_int_equal(org_delete(fx->c, fx->org, &keys, &n), STORE_NOT_FOUND);
	/* The other tenant is untouched. */
	struct org o;
	add_member(fx, fx->org2, fx->user2, "owner");
	assert_int_equal(org_get(fx->c, fx->org2, fx->user2, &o), STORE_OK);
	assert_int_equal(org_get(fx->c, fx->org2, fx->user, &o), STORE_NOT_FOUND);
}

static void test_retention_due(void **state)
{
	FX(state);
	int64_t now = time_now_ms(), day = 86400000;
	assert_int_equal(db_exec(fx->c,
				 "UPDATE organizations SET retention_days = 30 WHERE id = $1",
				 DB_PARAMS(DB_TEXT(fx->org)), NULL),
			 DB_OK);
	char old[UUID_STR_LEN], fresh[UUID_STR_LEN], busy[UUID_STR_LEN], other[UUID_STR_LEN];
	uuid_v7(old);
	uuid_v7(fresh);
	uuid_v7(busy);
	uuid_v7(other);
	const char *sql = "INSERT INTO meetings (id, org_id, title, status, created_at, updated_at)"
			  " VALUES ($1, $2, 't', $3, $4, $4)";
	assert_int_equal(db_exec(fx->c, sql,
				 DB_PARAMS(DB_TEXT(old), DB_TEXT(fx->org), DB_TEXT("completed"),
					   DB_INT(now - 31 * day)),
				 NULL),
			 DB_OK);
	assert_int_equal(db_exec(fx->c, sql,
				 DB_PARAMS(DB_TEXT(fresh), DB_TEXT(fx->org), DB_TEXT("completed"),
					   DB_INT(now - 29 * day)),
				 NULL),
			 DB_OK);
	assert_int_equal(db_exec(fx->c, sql,
				 DB_PARAMS(DB_TEXT(busy), DB_TEXT(fx->org), DB_TEXT("processing"),
					   DB_INT(now - 40 * day)),
				 NULL),
			 DB_OK);
	/* An organization that keeps meetings for ever. */
	assert_int_equal(db_exec(fx->c, sql,
				 DB_PARAMS(DB_TEXT(other), DB_TEXT(fx->org2), DB_TEXT("completed"),
					   DB_INT(now - 4000 * day)),
				 NULL),
			 DB_OK);
	struct org_expired due[8];
	int n;
	assert_int_equal(org_retention_due(fx->c, now, 8, due, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(due[0].id, old);
	assert_string_equal(due[0].org_id, fx->org);
	/* Long retention periods do not overflow. */
	assert_int_equal(db_exec(fx->c,
				 "UPDATE organizations SET retention_days = 36500 WHERE id = $1",
				 DB_PARAMS(DB_TEXT(fx->org)), NULL),
			 DB_OK);
	assert_int_equal(org_retention_due(fx->c, now, 8, due, &n), STORE_OK);
	assert_int_equal(n, 0);
}

static void test_audit(void **state)
{
	FX(state);
	struct audit_ctx ctx = {.ip = "192.0.2.1", .user_agent = "ua", .request_id = "rq"};
	const char *const ACTIONS[] = {"auth.login.success", "meeting.read", "auth.logout",
				       "meeting.audio.download", "authx.other"};
	for (size_t i = 0; i < sizeof ACTIONS / sizeof *ACTIONS; i++)
		assert_int_equal(audit_record_target(fx->c, fx->org, fx->user, ACTIONS[i],
						     "meeting", "m1", &ctx,
						     json_pack("{s:i}", "n", (int)i)),
				 STORE_OK);
	assert_int_equal(audit_record(fx->c, fx->org2, fx->user2, "meeting.read", &ctx, NULL),
			 STORE_OK);
	struct audit_event *ev;
	int n;
	struct audit_filter f = {.limit = 10};
	assert_int_equal(audit_list(fx->c, fx->org, &f, &ev, &n), STORE_OK);
	assert_int_equal(n, 5);				  /* not the other organization's */
	assert_string_equal(ev[0].action, "authx.other"); /* newest first */
	assert_string_equal(ev[0].ip, "192.0.2.1");
	assert_string_equal(ev[0].target_id, "m1");
	char second[UUID_STR_LEN];
	snprintf(second, sizeof second, "%s", ev[1].id);
	audit_events_free(ev, n);
	f.action = "auth.";
	assert_int_equal(audit_list(fx->c, fx->org, &f, &ev, &n), STORE_OK);
	assert_int_equal(n, 2); /* a prefix ends at its dot: not "authx." */
	audit_events_free(ev, n);
	f.action = "meeting.read";
	assert_int_equal(audit_list(fx->c, fx->org, &f, &ev, &n), STORE_OK);
	assert_int_equal(n, 1);
	audit_events_free(ev, n);
	f = (struct audit_filter){.limit = 10, .before = second};
	assert_int_equal(audit_list(fx->c, fx->org, &f, &ev, &n), STORE_OK);
	assert_int_equal(n, 3);
	audit_events_free(ev, n);
	f = (struct audit_filter){.limit = 10, .actor_id = fx->user2};
	assert_int_equal(audit_list(fx->c, fx->org, &f, &ev, &n), STORE_OK);
	assert_int_equal(n, 0);
	audit_events_free(ev, n);
	/* Repeated reads within the window make one event. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(audit_record_once(fx->c, fx->org, fx->user, "meeting.read",
						   "meeting", "m2", 60000, &ctx, json_object()),
				 STORE_OK);
	assert_int_equal(audit_record_once(fx->c, fx->org, fx->user2, "meeting.read", "meeting",
					   "m2", 60000, &ctx, NULL),
			 STORE_OK);
	f = (struct audit_filter){.limit = 10, .action = "meeting.read"};
	assert_int_equal(audit_list(fx->c, fx->org, &f, &ev, &n), STORE_OK);
	assert_int_equal(n, 3); /* m1 once, m2 once by each user */
	audit_events_free(ev, n);
	int64_t deleted;
	assert_int_equal(audit_purge(fx->c, time_now_ms() + 1000, 100, &deleted), STORE_OK);
	assert_true(deleted >= 8);
	f = (struct audit_filter){.limit = 10};
	assert_int_equal(audit_list(fx->c, fx->org, &f, &ev, &n), STORE_OK);
	assert_int_equal(n, 0);
	audit_events_free(ev, n);
}

int main(void)
{
	if (!getenv("IAM_TEST_LOG"))
		log_set_level(LOG_ERROR + 1);
	// clang-format off
	const struct CMUnitTest pure_tests[] = {
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_role_names),
		cmocka_unit_test(test_readme_matrix),
	};
	const struct CMUnitTest sqlite_tests[] = {
		ST(test_last_owner, KIND_SQLITE),
		ST(test_invitations, KIND_SQLITE),
		ST(test_org_delete, KIND_SQLITE),
		ST(test_audit, KIND_SQLITE),
		ST(test_retention_due, KIND_SQLITE),
	};
	const struct CMUnitTest pg_tests[] = {
		ST(test_last_owner, KIND_PG),
		ST(test_invitations, KIND_PG),
		ST(test_org_delete, KIND_PG),
		ST(test_audit, KIND_PG),
		ST(test_retention_due, KIND_PG),
	};
	// clang-format on
	int failed = cmocka_run_group_tests_name("authz", pure_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("authz_sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("authz_postgres", pg_tests, NULL, NULL);
	return failed ? 1 : 0;
}
