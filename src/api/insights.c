/*
 * insights.c — a meeting's insights (summary, action items, decisions,
 * topics, sentiment; computed by the "insights" job, jobs/insights.h):
 *
 *   GET  /api/v1/meetings/{id}/insights   the stored insights and how far a
 *        computation got: {status, progress, transcript_version,
 *        current_transcript_version, stale, computed_at, error, summary,
 *        action_items, decisions, topics, sentiment}. status "none" (and
 *        null fields) when they were never computed.
 *   POST /api/v1/meetings/{id}/insights   compute them again from the
 *        current transcript (after edits): 202 with the same shape.
 *
 * Whoever may read the meeting reads its insights (collection guests too);
 * recomputing takes the right to edit it (403 otherwise). A meeting the
 * caller cannot see is 404; one without a transcript cannot have insights
 * computed (409 transcript_not_ready).
 *
 * Also the document exports (DOCX, PDF) that show the insights with the
 * transcript: api_export_render.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "jobs/insights.h"
#include "store/insights.h"
#include "store/meetings.h"

static const char *const FIELDS[] = {"summary", "action_items", "decisions", "topics", "sentiment"};

/* The reply for meeting m: its insights row (if any) and the transcript's current version. */
static void reply(struct api_ctx *cx, const struct meeting *m, int status)
{
	struct insights_row row = {0};
	struct meeting_transcript tr = {0};
	json_t *out = NULL, *body = NULL;
	int64_t current = 0;
	int rc = insights_get(cx->conn, m->org_id, m->id, &row);

	if (rc && rc != STORE_NOT_FOUND) {
		api_db_fail(cx->req, rc, "load insights");
		goto done;
	}
	int trc = meeting_transcript_get(cx->conn, m->org_id, m->id, &tr);
	if (trc && trc != STORE_NOT_FOUND) {
		api_db_fail(cx->req, trc, "load transcript");
		goto done;
	}
	if (trc == STORE_OK)
		current = tr.version;
	if (row.body) {
		body = json_loads(row.body, 0, NULL);
		if (!json_is_object(body)) {
			http_problem_internal(cx->req, "stored insights are damaged");
			goto done;
		}
	}
	out = json_pack(
	    "{s:s,s:s,s:i,s:o,s:o,s:b,s:o,s:o,s:o}", "meeting_id", m->id, "status",
	    rc == STORE_NOT_FOUND ? "none" : row.status, "progress", row.progress,
	    "transcript_version", body ? json_integer(row.transcript_version) : json_null(),
	    "current_transcript_version", current ? json_integer(current) : json_null(), "stale",
	    body && current && row.transcript_version != current, "computed_at",
	    api_time(row.computed_at), "error", row.error ? json_string(row.error) : json_null(),
	    "seconds", body ? json_real(row.seconds) : json_null());
	if (!out) {
		http_problem_internal(cx->req, "render insights");
		goto done;
	}
	for (size_t i = 0; i < sizeof FIELDS / sizeof *FIELDS; i++) {
		json_t *f = body ? json_object_get(body, FIELDS[i]) : NULL;
		json_object_set(out, FIELDS[i], f ? f : json_null());
	}
	http_reply_json(cx->req, status, out);
done:
	json_decref(body);
	insights_row_clear(&row);
	meeting_transcript_clear(&tr);
}

static void get_insights(struct api_ctx *cx)
{
	struct meeting m;
	if (!api_meeting_load(cx, &m, ACCESS_READ))
		return;
	reply(cx, &m, 200);
	meeting_clear(&m);
}

static void post_insights(struct api_ctx *cx)
{
	struct meeting_transcript tr = {0};
	struct meeting m;
	int rc;

	/* Recomputing may call the language model: editors of the meeting only. */
	if (!api_meeting_load(cx, &m, ACCESS_EDIT))
		return;
	rc = meeting_transcript_get(cx->conn, m.org_id, m.id, &tr);
	meeting_transcript_clear(&tr);
	if (rc == STORE_NOT_FOUND) {
		http_problem(cx->req, 409, "transcript_not_ready",
			     "There is no transcript yet (the meeting is %s): insights are "
			     "computed from it. Transcribe the meeting first.",
			     m.status);
		goto out;
	}
	if (rc) {
		api_db_fail(cx->req, rc, "load transcript");
		goto out;
	}
	rc = job_insights_enqueue(cx->conn, m.org_id, m.id, 0);
	if (rc) {
		api_db_fail(cx->req, rc, "queue insights");
		goto out;
	}
	reply(cx, &m, 202);
	api_jobs_wake(cx->app);
out:
	meeting_clear(&m);
}

char *api_export_render(struct app *app, const char *org_id, const struct meeting *m,
			const struct transcript *t, enum export_format f, size_t *len)
{
	struct export_doc doc = {.title = m->title, .date_ms = m->meeting_date};
	struct insights_row row = {0};
	json_t *ins = NULL;
	char *out;

	if (f != EXPORT_DOCX && f != EXPORT_PDF)
		return export_render(t, f, m->title, len);
	if (!doc.date_ms)
		doc.date_ms = m->created_at;
	/* Insights are a bonus here: without a connection or a row the document has none. */
	struct db_conn *c = db_acquire_org(app->db, DB_ACQUIRE_MS, org_id);
	if (c) {
		if (insights_get(c, org_id, m->id, &row) == STORE_OK && row.body)
			ins = json_loads(row.body, 0, NULL);
		db_release(c);
	}
	doc.insights = json_is_object(ins) ? ins : NULL;
	out = export_render_doc(t, f, &doc, len);
	json_decref(ins);
	insights_row_clear(&row);
	return out;
}

#define INSIGHTS_ROUTE .auth = AUTH_BEARER, .db = DB_CONN_HELD

static const struct route ROUTES[] = {
    {.method = M_GET,
     .pattern = "/api/v1/meetings/{id}/insights",
     INSIGHTS_ROUTE,
     .run = get_insights},
    {.method = M_POST,
     .pattern = "/api/v1/meetings/{id}/insights",
     INSIGHTS_ROUTE,
     .run = post_insights},
};

size_t api_insights_routes(const struct route **out)
{
	*out = ROUTES;
	return sizeof ROUTES / sizeof *ROUTES;
}
