/*
 * Unit tests for service/: tickets (issued for one meeting, checked again
 * on every use against their session or API key, refused when tampered
 * with, for another meeting or under another key) and ingest (a file that
 * is not audio is refused as such and consumed, the meeting untouched),
 * and how api/ maps ingest results to HTTP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "blob/blob.h"
#include "core/log.h"
#include "service/ingest.h"
#include "service/tickets.h"
#include "store/api_keys.h"
#include "store/meetings.h"
#include "store/sessions.h"

#include "db_fixture.h"

static const unsigned char KEY[TICKET_KEY_LEN] = "0123456789abcdef0123456789abcdef";

static void session_principal(struct fx *fx, struct principal *p)
{
	struct session s;
	char refresh[REFRESH_TOKEN_BUF];
	/* The fixture's accounts have no membership rows; a session's org must be one. */
	assert_int_equal(db_exec(fx->c,
				 "INSERT INTO memberships (org_id, user_id, role, created_at)"
				 " VALUES ($1, $2, 'owner', 1)",
				 DB_PARAMS(DB_TEXT(fx->org), DB_TEXT(fx->user)), NULL),
			 DB_OK);
	assert_int_equal(session_start(fx->c, fx->user, fx->org, "127.0.0.1", "test", &s, refresh),
			 STORE_OK);
	memset(p, 0, sizeof *p);
	snprintf(p->user_id, sizeof p->user_id, "%s", fx->user);
	snprintf(p->org_id, sizeof p->org_id, "%s", fx->org);
	snprintf(p->session_id, sizeof p->session_id, "%s", s.id);
	p->scopes = API_SCOPES_ALL;
}

static void test_ticket_session(void **state)
{
	FX(state);
	struct principal p, got;
	session_principal(fx, &p);
	char meeting[UUID_STR_LEN], other[UUID_STR_LEN];
	uuid_v7(meeting);
	uuid_v7(other);
	int64_t exp = 0;
	char *t = ticket_issue(KEY, &p, meeting, &exp);
	assert_non_null(t);
	int64_t now = time_now_ms();
	assert_true(exp > now && exp <= now + TICKET_TTL_S * 1000 + 1000);

	assert_true(ticket_verify(KEY, fx->c, t, meeting, &got));
	assert_string_equal(got.user_id, fx->user);
	assert_string_equal(got.org_id, fx->org);
	assert_string_equal(got.session_id, p.session_id);
	assert_false(got.via_api_key);
	assert_int_equal(got.scopes, API_SCOPE_READ); /* a ticket only opens things for reading */

	/* Another meeting, another signing key, a changed byte: refused. */
	assert_false(ticket_verify(KEY, fx->c, t, other, &got));
	unsigned char key2[TICKET_KEY_LEN];
	memcpy(key2, KEY, sizeof key2);
	key2[0] ^= 1;
	assert_false(ticket_verify(key2, fx->c, t, meeting, &got));
	char *bad = strdup(t);
	bad[3] = bad[3] == 'A' ? 'B' : 'A';
	assert_false(ticket_verify(KEY, fx->c, bad, meeting, &got));
	assert_false(ticket_verify(KEY, fx->c, "no-dot-here", meeting, &got));
	free(bad);

	/* It dies with its session. */
	assert_int_equal(session_revoke(fx->c, p.session_id, "logout"), STORE_OK);
	assert_false(ticket_verify(KEY, fx->c, t, meeting, &got));
	free(t);
}

static void test_ticket_api_key(void **state)
{
	FX(state);
	struct api_key k;
	char secret[API_KEY_BUF];
	assert_int_equal(
	    api_key_create(fx->c, fx->org, fx->user, "k", API_SCOPES_ALL, 0, &k, secret), STORE_OK);
	struct principal p = {.via_api_key = true, .scopes = API_SCOPES_ALL}, got;
	snprintf(p.user_id, sizeof p.user_id, "%s", fx->user);
	snprintf(p.org_id, sizeof p.org_id, "%s", fx->org);
	snprintf(p.api_key_id, sizeof p.api_key_id, "%s", k.id);
	char meeting[UUID_STR_LEN];
	uuid_v7(meeting);
	int64_t exp;
	char *t = ticket_issue(KEY, &p, meeting, &exp);
	assert_non_null(t);
	assert_true(ticket_verify(KEY, fx->c, t, meeting, &got));
	assert_true(got.via_api_key);
	assert_string_equal(got.api_key_id, k.id);
	/* It dies with its key. */
	assert_int_equal(api_key_delete(fx->c, fx->org, k.id), STORE_OK);
	assert_false(ticket_verify(KEY, fx->c, t, meeting, &got));
	free(t);
}

static void test_ingest_not_audio(void **state)
{
	FX(state);
	char url[400], err[256], path[600];
	snprintf(url, sizeof url, "file:%s/blobs", fx->dir[0] ? fx->dir : "/tmp");
	struct blob_store *blob = blob_open(url, err, sizeof err);
	assert_non_null(blob);
	struct meeting m;
	meeting_init(&m);
	snprintf(m.org_id, sizeof m.org_id, "%s", fx->org);
	snprintf(m.created_by, sizeof m.created_by, "%s", fx->user);
	snprintf(m.title, sizeof m.title, "not audio");
	assert_int_equal(meeting_create(fx->c, &m), STORE_OK);

	snprintf(path, sizeof path, "%s/notes.txt", blob_spool_dir(blob));
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("This is a plain text file, not a recording.\n", f);
	fclose(f);
	struct ingest_file in = {.path = path, .filename = "notes.txt", .size = 9000};
	char detail[256] = "";
	enum ingest_rc rc =
	    ingest_audio(blob, fx->c, &m, &in, INGEST_AND_QUEUE, detail, sizeof detail);
	assert_true(rc == INGEST_NOT_AUDIO || rc == INGEST_UNREADABLE);
	assert_true(detail[0] != '\0');
	assert_int_equal(access(path, F_OK), -1); /* consumed */
	/* The meeting has no audio and nothing was queued. */
	struct meeting back;
	assert_int_equal(meeting_get(fx->c, fx->org, m.id, &back), STORE_OK);
	assert_string_equal(back.audio_key, "");
	assert_string_equal(back.status, "pending");
	meeting_clear(&back);
	meeting_clear(&m);
	blob_close(blob);
}

static void test_ingest_status_mapping(void **state)
{
	(void)state;
	const char *code;
	assert_int_equal(api_ingest_status(INGEST_OK, &code), 0);
	assert_int_equal(api_ingest_status(INGEST_NOT_AUDIO, &code), 415);
	assert_string_equal(code, "unsupported_media_type");
	assert_int_equal(api_ingest_status(INGEST_UNREADABLE, &code), 422);
	assert_string_equal(code, "unreadable_audio");
	assert_int_equal(api_ingest_status(INGEST_TOO_LONG, &code), 422);
	assert_string_equal(code, "audio_too_long");
	assert_int_equal(api_ingest_status(INGEST_MEETING_BUSY, &code), 409);
	assert_string_equal(code, "meeting_busy");
	assert_int_equal(api_ingest_status(INGEST_MEETING_GONE, &code), 404);
	assert_int_equal(api_ingest_status(INGEST_STORAGE_FAILED, &code), 503);
	assert_string_equal(code, "storage_failed");
	assert_int_equal(api_ingest_status(INGEST_DB_FAILED, &code), 503);
	assert_string_equal(code, "database_unavailable");
	/* Our own failures are internal errors, with a code (never NULL). */
	assert_int_equal(api_ingest_status(INGEST_RELOAD_FAILED, &code), 500);
	assert_string_equal(code, "internal_error");
	assert_int_equal(api_ingest_status(INGEST_PROBE_FAILED, &code), 500);
}

int main(void)
{
	if (!getenv("IAM_TEST_LOG"))
		log_set_level(LOG_ERROR + 1);
	// clang-format off
	const struct CMUnitTest pure_tests[] = {
		cmocka_unit_test(test_ingest_status_mapping),
	};
	const struct CMUnitTest sqlite_tests[] = {
		ST(test_ticket_session, KIND_SQLITE),
		ST(test_ticket_api_key, KIND_SQLITE),
		ST(test_ingest_not_audio, KIND_SQLITE),
	};
	const struct CMUnitTest pg_tests[] = {
		ST(test_ticket_session, KIND_PG),
		ST(test_ticket_api_key, KIND_PG),
		ST(test_ingest_not_audio, KIND_PG),
	};
	// clang-format on
	int failed = cmocka_run_group_tests_name("service", pure_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("service_sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("service_postgres", pg_tests, NULL, NULL);
	return failed ? 1 : 0;
}
