/*
 * test_insights.c — the insights row (store/insights.h) on SQLite and, with
 * IAM_TEST_PG_URL, PostgreSQL: only the owning organization can queue or
 * read it; a computation that finds it queued again meanwhile is told so
 * (STORE_STALE, nothing stored) unless it forces; a stored body keeps its
 * transcript version; deleting the meeting removes the row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "db_fixture.h"
#include "store/insights.h"
#include "store/meetings.h"

static void meeting(struct fx *fx, char id[UUID_STR_LEN])
{
	struct meeting m;
	meeting_init(&m);
	snprintf(m.org_id, sizeof m.org_id, "%s", fx->org);
	snprintf(m.created_by, sizeof m.created_by, "%s", fx->user);
	snprintf(m.title, sizeof m.title, "Sync");
	assert_int_equal(meeting_create(fx->c, &m), STORE_OK);
	snprintf(id, UUID_STR_LEN, "%s", m.id);
	meeting_clear(&m);
}

static void test_tenants(void **state)
{
	FX(state);
	char id[UUID_STR_LEN];
	struct insights_row row;
	meeting(fx, id);
	/* Nothing yet; another organization can neither queue nor read. */
	assert_int_equal(insights_get(fx->c, fx->org, id, &row), STORE_NOT_FOUND);
	assert_int_equal(insights_queue(fx->c, fx->org2, id), STORE_NOT_FOUND);
	assert_int_equal(insights_get(fx->c, fx->org2, id, &row), STORE_NOT_FOUND);
	assert_int_equal(insights_queue(fx->c, fx->org, id), STORE_OK);
	assert_int_equal(insights_get(fx->c, fx->org2, id, &row), STORE_NOT_FOUND);
	assert_int_equal(insights_set_status(fx->c, fx->org2, id, "running", NULL),
			 STORE_NOT_FOUND);
	assert_int_equal(insights_get(fx->c, fx->org, id, &row), STORE_OK);
	assert_string_equal(row.status, "queued");
	assert_null(row.body);
	insights_row_clear(&row);
}

static void test_finish_and_requeue(void **state)
{
	FX(state);
	char id[UUID_STR_LEN];
	struct insights_row row;
	meeting(fx, id);
	assert_int_equal(insights_queue(fx->c, fx->org, id), STORE_OK);
	assert_int_equal(insights_set_status(fx->c, fx->org, id, "running", NULL), STORE_OK);
	assert_int_equal(insights_set_progress(fx->c, fx->org, id, 40), STORE_OK);
	assert_int_equal(insights_finish(fx->c, fx->org, id, 3, "{\"a\":1}", 0.5, false), STORE_OK);
	assert_int_equal(insights_get(fx->c, fx->org, id, &row), STORE_OK);
	assert_string_equal(row.status, "done");
	assert_int_equal(row.progress, 100);
	assert_int_equal(row.transcript_version, 3);
	assert_string_equal(row.body, "{\"a\":1}");
	assert_true(row.computed_at > 0);
	insights_row_clear(&row);

	/* Queued again while a computation runs: its result is refused, the old body stays. */
	assert_int_equal(insights_set_status(fx->c, fx->org, id, "running", NULL), STORE_OK);
	assert_int_equal(insights_queue(fx->c, fx->org, id), STORE_OK);
	assert_int_equal(insights_finish(fx->c, fx->org, id, 4, "{\"a\":2}", 0.5, false),
			 STORE_STALE);
	assert_int_equal(insights_get(fx->c, fx->org, id, &row), STORE_OK);
	assert_string_equal(row.status, "queued");
	assert_string_equal(row.body, "{\"a\":1}");
	assert_int_equal(row.transcript_version, 3);
	insights_row_clear(&row);
	/* ... unless it forces (its last pass). */
	assert_int_equal(insights_finish(fx->c, fx->org, id, 5, "{\"a\":3}", 0.5, true), STORE_OK);
	assert_int_equal(insights_get(fx->c, fx->org, id, &row), STORE_OK);
	assert_string_equal(row.status, "done");
	assert_int_equal(row.transcript_version, 5);
	insights_row_clear(&row);
	/* Another organization's finish touches nothing. */
	assert_int_equal(insights_finish(fx->c, fx->org2, id, 6, "{}", 0.5, true), STORE_NOT_FOUND);

	/* Failed keeps its sentence; the meeting's deletion takes the row along. */
	assert_int_equal(insights_set_status(fx->c, fx->org, id, "failed", "No transcript."),
			 STORE_OK);
	assert_int_equal(insights_get(fx->c, fx->org, id, &row), STORE_OK);
	assert_string_equal(row.error, "No transcript.");
	insights_row_clear(&row);
	assert_int_equal(
	    db_exec(fx->c, "DELETE FROM meetings WHERE id = $1", DB_PARAMS(DB_TEXT(id)), NULL),
	    DB_OK);
	assert_int_equal(insights_get(fx->c, fx->org, id, &row), STORE_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    ST(test_tenants, KIND_SQLITE),
	    ST(test_finish_and_requeue, KIND_SQLITE),
	    ST(test_tenants, KIND_PG),
	    ST(test_finish_and_requeue, KIND_PG),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
