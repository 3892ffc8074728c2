/*
 * insights.c — the "insights" job (see insights.h).
 *
 * Progress: reading the transcript 5%, the analysis up to 95% (intel.c
 * reports its steps), storing the rest; written at most twice a second.
 * Retries: a database that is busy or away, or memory running out, is
 * retried by the jobs framework (INSIGHTS_MAX_ATTEMPTS); after the last
 * attempt the row says failed with a sentence for people. A meeting
 * deleted meanwhile ends the job quietly.
 */
#include "jobs/insights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/transcript.h"
#include "core/uuid.h"
#include "intel/intel.h"
#include "jobs/transcribe.h"
#include "store/insights.h"
#include "store/jobs.h"
#include "store/meetings.h"

static struct intel_lexicon *g_lexicon; /* read-only once loaded */

void job_insights_init(const char *models_dir)
{
	char path[1024], err[256];

	if (g_lexicon)
		return;
	snprintf(path, sizeof path, "%s/vader_lexicon.txt", models_dir ? models_dir : "models");
	g_lexicon = intel_lexicon_load(path, err, sizeof err);
	if (!g_lexicon)
		log_warn("sentiment lexicon not loaded; insights will have no sentiment (run "
			 "scripts/fetch-models)",
			 json_pack("{s:s}", "error", err));
}

void job_insights_shutdown(void)
{
	intel_lexicon_free(g_lexicon);
	g_lexicon = NULL;
}

enum store_rc job_insights_enqueue(struct db_conn *c, const char *org_id, const char *meeting_id)
{
	char payload[96], dedupe[64], id[UUID_STR_LEN];
	enum store_rc rc = insights_queue(c, org_id, meeting_id);

	if (rc)
		return rc;
	snprintf(payload, sizeof payload, "{\"meeting_id\":\"%s\"}", meeting_id);
	snprintf(dedupe, sizeof dedupe, "insights:%s", meeting_id);
	rc = job_enqueue(c, org_id, "insights", payload, dedupe, INSIGHTS_MAX_ATTEMPTS,
			 time_now_ms(), id);
	/* One waiting already: it reads the transcript when it runs. */
	return rc == STORE_CONFLICT ? STORE_OK : rc;
}

struct progress {
	struct job_env *env;
	const char *org, *id;
	int last;
	int64_t last_us;
};

static void set_progress(struct progress *p, int pct)
{
	int64_t now = time_mono_us();
	struct db_conn *c;

	if (pct <= p->last || now - p->last_us < 500000)
		return;
	c = db_acquire(p->env->db, 500);
	if (!c)
		return;
	if (insights_set_progress(c, p->org, p->id, pct) == STORE_OK) {
		p->last = pct;
		p->last_us = now;
	}
	db_release(c);
}

static void on_progress(void *ctx, double fraction)
{
	set_progress(ctx, 5 + (int)(fraction * 90));
}

/*
 * Where a language model plugs in (issue 13 item 3): given the offline
 * document, replace what the model does better (an abstractive summary,
 * action items, decisions) and set that field's "source" to the model's
 * name; on any failure leave the offline field as it is. Offline only for
 * now: nothing to do.
 */
static void refine_with_model(json_t *doc, const struct transcript *t)
{
	(void)doc;
	(void)t;
}

static void publish(struct job_env *env, const char *org, const char *id, const char *status)
{
	json_t *data;
	if (!env->bus)
		return;
	data = json_pack("{s:s,s:s}", "meeting_id", id, "status", status);
	bus_publish(env->bus, BUS_ORG, org, "meeting.insights", data);
	json_decref(data);
}

/* Failed this attempt: retried while attempts remain, else the row says failed. */
static enum job_result failed(struct job_run *run, struct job_env *env, const char *org,
			      const char *id, const char *why)
{
	bool last = run->job->attempts >= run->job->max_attempts;
	struct db_conn *c = db_acquire(env->db, 5000);

	if (c) {
		insights_set_status(c, org, id, last ? "failed" : "queued",
				    last ? "The insights could not be computed. Try again later."
					 : NULL);
		db_release(c);
	}
	if (last)
		publish(env, org, id, "failed");
	snprintf(run->error, sizeof run->error, "%s", why);
	return last ? JOB_FAIL : JOB_RETRY;
}

/*
 * One computation: the current transcript, analysed and stored. *again is
 * set when the insights were asked for again while this ran (an edit and
 * POST meanwhile: the job already queued took that request), so the caller
 * computes once more from the newer transcript; on the last pass (last)
 * the result is stored anyway.
 */
static enum job_result compute(struct job_run *run, struct job_env *env, const char *org,
			       const char *id, bool last, bool *again)
{
	struct meeting_transcript row = {0};
	struct transcript tr = {0};
	json_t *doc = NULL;
	char *text = NULL;
	enum job_result result = JOB_OK;
	int64_t t0 = time_mono_us();
	struct db_conn *c;
	int rc;

	*again = false;
	c = db_acquire(env->db, 5000);
	if (!c) {
		snprintf(run->error, sizeof run->error, "database unavailable");
		return JOB_RETRY;
	}
	rc = insights_set_status(c, org, id, "running", NULL);
	if (rc == STORE_OK)
		rc = meeting_transcript_get(c, org, id, &row);
	db_release(c);
	if (rc == STORE_NOT_FOUND && !row.body) {
		/* The meeting (or its transcript) is gone: nothing to do. */
		c = db_acquire(env->db, 5000);
		if (c) {
			insights_set_status(c, org, id, "failed",
					    "There is no transcript to compute insights from.");
			db_release(c);
		}
		goto out;
	}
	if (rc) {
		result = failed(run, env, org, id, "database error");
		goto out;
	}
	publish(env, org, id, "running");
	{
		json_t *j = json_loads(row.body, 0, NULL);
		int prc = j ? transcript_from_json(j, &tr) : -1;
		json_decref(j);
		if (prc < 0) {
			/* Damaged beyond reading: retrying would not help. */
			c = db_acquire(env->db, 5000);
			if (c) {
				insights_set_status(c, org, id, "failed",
						    "The stored transcript could not be read.");
				db_release(c);
			}
			snprintf(run->error, sizeof run->error, "stored transcript is damaged");
			result = JOB_FAIL;
			goto out;
		}
	}
	struct progress prog = {.env = env, .org = org, .id = id};
	set_progress(&prog, 5);
	doc = intel_analyze(&tr, g_lexicon, on_progress, &prog);
	if (!doc) {
		result = failed(run, env, org, id, "out of memory");
		goto out;
	}
	refine_with_model(doc, &tr);
	if (atomic_load(&run->cancel)) {
		snprintf(run->error, sizeof run->error, "cancelled");
		result = JOB_RETRY;
		goto out;
	}
	text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (!text) {
		result = failed(run, env, org, id, "out of memory");
		goto out;
	}
	double seconds = (double)(time_mono_us() - t0) / 1e6;
	c = db_acquire(env->db, 10000);
	if (!c) {
		result = failed(run, env, org, id, "database unavailable");
		goto out;
	}
	rc = insights_finish(c, org, id, row.version, text, seconds, last);
	db_release(c);
	if (rc == STORE_STALE) {
		*again = true;
		goto out;
	}
	if (rc && rc != STORE_NOT_FOUND) {
		result = failed(run, env, org, id, "could not store insights");
		goto out;
	}
	publish(env, org, id, "done");
	log_info("insights", json_pack("{s:s,s:I,s:I,s:f}", "meeting_id", id, "segments",
				       (json_int_t)tr.nsegments, "transcript_version",
				       (json_int_t)row.version, "seconds", seconds));
out:
	json_decref(doc);
	free(text);
	transcript_free(&tr);
	meeting_transcript_clear(&row);
	return result;
}

enum job_result job_insights(struct job_run *run)
{
	struct job_env *env = run->app;
	const char *id = json_string_value(json_object_get(run->payload, "meeting_id"));
	enum job_result result = JOB_OK;
	bool again = true;

	if (!id || !uuid_valid(id)) {
		snprintf(run->error, sizeof run->error, "payload has no meeting_id");
		return JOB_FAIL;
	}
	for (int pass = 0; again && result == JOB_OK && pass < 3; pass++)
		result = compute(run, env, run->job->org_id, id, pass == 2, &again);
	return result;
}

int job_insights_cli(int argc, char **argv)
{
	const char *dir = getenv("IAM_MODELS_DIR");
	struct transcript tr = {0};
	json_error_t jerr;
	json_t *j, *doc;
	int64_t t0;

	if (argc != 3) {
		fprintf(stderr, "usage: iamd insights TRANSCRIPT.json\n");
		return 2;
	}
	j = json_load_file(argv[2], 0, &jerr);
	if (!j || transcript_from_json(j, &tr) < 0) {
		fprintf(stderr, "iamd insights: %s is not a transcript (%s)\n", argv[2],
			j ? "not the stored shape" : jerr.text);
		json_decref(j);
		return 1;
	}
	json_decref(j);
	job_insights_init(dir && *dir ? dir : "models");
	t0 = time_mono_us();
	doc = intel_analyze(&tr, g_lexicon, NULL, NULL);
	double seconds = (double)(time_mono_us() - t0) / 1e6;
	if (!doc) {
		fprintf(stderr, "iamd insights: out of memory\n");
		transcript_free(&tr);
		job_insights_shutdown();
		return 1;
	}
	json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
	fputc('\n', stdout);
	fprintf(stderr, "{\"segments\":%zu,\"seconds\":%.4f}\n", tr.nsegments, seconds);
	json_decref(doc);
	transcript_free(&tr);
	job_insights_shutdown();
	return 0;
}
