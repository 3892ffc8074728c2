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

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/transcript.h"
#include "core/uuid.h"
#include "intel/intel.h"
#include "intel/llm.h"
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

enum store_rc job_insights_enqueue(struct db_conn *c, const char *org_id, const char *meeting_id,
				   int64_t delay_ms)
{
	char payload[96], dedupe[64], id[UUID_STR_LEN];
	enum store_rc rc = insights_queue(c, org_id, meeting_id);

	if (rc)
		return rc;
	snprintf(payload, sizeof payload, "{\"meeting_id\":\"%s\"}", meeting_id);
	snprintf(dedupe, sizeof dedupe, "insights:%s", meeting_id);
	rc = job_enqueue(c, org_id, "insights", payload, dedupe, INSIGHTS_MAX_ATTEMPTS,
			 time_now_ms() + delay_ms, id);
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
	c = db_acquire_system(p->env->db, 500);
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

/* ---- the language model's summary (issue 13 item 3) ---- */

#define REFINE_MAX_SENTENCES 10
#define REFINE_LINE_MAX	     600

static const char REFINE_PART[] =
    "You summarize meeting transcripts. Each transcript line starts with its time in square "
    "brackets and the speaker. Write a summary of 4 to 8 sentences, one sentence per line, "
    "each ending with the time in square brackets of the transcript line it mainly comes "
    "from, such as [1:23]. Use only what the transcript says: no names, numbers or "
    "decisions that are not in it. No headings, no bullets, no other text.";
static const char REFINE_MERGE[] =
    "You combine partial summaries of one meeting, given in order, into one summary of 5 to "
    "8 sentences. Keep the time in square brackets at the end of each sentence, such as "
    "[1:23]. One sentence per line; no headings, no bullets, nothing that is not in the "
    "partial summaries.";

/* "[m:ss]" or "[h:mm:ss]" at the end of line (len bytes) as seconds, and where it starts; -1. */
static double trailing_time(const char *line, size_t len, size_t *at)
{
	while (len && (line[len - 1] == ' ' || line[len - 1] == '.'))
		len--;
	if (len < 5 || line[len - 1] != ']')
		return -1;
	size_t open = len - 1;
	while (open && line[open] != '[')
		open--;
	if (line[open] != '[' || len - open > 12)
		return -1;
	unsigned a = 0, b = 0, c = 0;
	char tail;
	int n = sscanf(line + open, "[%u:%u:%u%c", &a, &b, &c, &tail);
	double t;
	if (n == 4 && tail == ']' && b < 60 && c < 60)
		t = a * 3600.0 + b * 60.0 + c;
	else if (sscanf(line + open, "[%u:%u%c", &a, &b, &tail) == 3 && tail == ']' && b < 60)
		t = a * 60.0 + b;
	else
		return -1;
	*at = open;
	return t;
}

/* The transcript as "[m:ss] Speaker: text" lines. Caller frees; NULL when out of memory. */
static char *timed_text(const struct transcript *t)
{
	struct buf b = {0};
	for (size_t i = 0; i < t->nsegments; i++) {
		const struct transcript_segment *sg = &t->segments[i];
		char who[TRANSCRIPT_NAME_MAX * 4 + 1] = "Unknown speaker";
		if (sg->speaker)
			transcript_speaker_display(t, sg->speaker, who, sizeof who);
		long s = sg->start > 0 ? (long)sg->start : 0;
		if (buf_printf(&b, "[%ld:%02ld] %s: %s\n", s / 60, s % 60, who, sg->text) < 0) {
			buf_free(&b);
			return NULL;
		}
	}
	if (buf_append(&b, "", 1) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/*
 * The model's summary lines as the document's summary section, each
 * sentence tied to the segment nearest the time it names (lines naming no
 * time are dropped: not grounded). NULL when fewer than two remain.
 */
static json_t *summary_section(const char *text, const struct transcript *t, const char *model)
{
	json_t *arr = json_array();
	for (const char *p = text; *p && json_array_size(arr) < REFINE_MAX_SENTENCES;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *line = p;
		p += len + (nl ? 1 : 0);
		while (len && (*line == ' ' || *line == '-' || *line == '*' || *line == '\t')) {
			line++;
			len--;
		}
		size_t at = 0;
		double when = len && len < REFINE_LINE_MAX ? trailing_time(line, len, &at) : -1;
		if (when < 0)
			continue;
		size_t tl = at;
		while (tl && line[tl - 1] == ' ')
			tl--;
		if (tl < 3 || !t->nsegments)
			continue;
		size_t best = 0;
		for (size_t i = 1; i < t->nsegments; i++)
			if (fabs(t->segments[i].start - when) <
			    fabs(t->segments[best].start - when))
				best = i;
		const struct transcript_segment *sg = &t->segments[best];
		char id[8];
		char name[TRANSCRIPT_NAME_MAX * 4 + 1];
		transcript_speaker_id(t, sg->speaker, id);
		if (sg->speaker)
			transcript_speaker_display(t, sg->speaker, name, sizeof name);
		json_t *sent =
		    json_pack("{s:s%,s:f,s:f,s:o,s:o}", "text", line, tl, "start",
			      round(sg->start * 1000) / 1000, "end", round(sg->end * 1000) / 1000,
			      "speaker", id[0] ? json_string(id) : json_null(), "speaker_name",
			      sg->speaker ? json_string(name) : json_null());
		if (sent)
			json_array_append_new(arr, sent);
	}
	if (json_array_size(arr) < 2) {
		json_decref(arr);
		return NULL;
	}
	return json_pack("{s:s,s:o}", "source", model, "sentences", arr);
}

static bool refine_cancelled(void *ctx)
{
	return atomic_load((atomic_bool *)ctx);
}

/*
 * Where a language model plugs in (issue 13 item 3): with IAM_LLM_BASE_URL
 * set, the summary becomes the model's abstractive summary grounded in the
 * transcript (each sentence tied to the moment it names), its "source" the
 * model's name. A transcript longer than the context budget is split at
 * line ends, each part summarized, and the parts merged by one more call.
 * On any failure (provider down, garbage, no grounded sentence) the
 * offline summary stays, and the log says why.
 */
static void refine_with_model(json_t *doc, const struct transcript *t, atomic_bool *cancel)
{
	struct llm_opts o;
	int ctx_tokens = 0;
	if (!t->nsegments || !llm_configured(&o, &ctx_tokens))
		return;
	o.max_tokens = 600;
	o.temperature = 0.2;
	o.cancelled = refine_cancelled;
	o.cancel_ctx = cancel;
	char *text = timed_text(t);
	char **parts = NULL;
	size_t nparts = 0;
	struct buf merged = {0};
	char *answer = NULL;
	struct llm_result res = {0};
	bool used = false;
	/* Input gets about half the window (4 bytes a token), the rest is prompt and answer. */
	size_t budget = (size_t)ctx_tokens * 4 / 2;
	if (!text || llm_split(text, budget, &parts, &nparts) < 0 || nparts == 0)
		goto out;
	for (size_t i = 0; i < nparts; i++) {
		struct llm_msg m[2] = {{"system", REFINE_PART}, {"user", parts[i]}};
		if (llm_chat(&o, m, 2, &answer, &res) != LLM_OK)
			goto out;
		if (buf_puts(&merged, answer) < 0 || buf_puts(&merged, "\n") < 0)
			goto out;
		free(answer);
		answer = NULL;
	}
	if (nparts > 1) {
		buf_append(&merged, "", 1);
		struct llm_msg m[2] = {{"system", REFINE_MERGE}, {"user", merged.data}};
		if (llm_chat(&o, m, 2, &answer, &res) != LLM_OK)
			goto out;
	} else {
		buf_append(&merged, "", 1);
		answer = buf_steal(&merged);
	}
	json_t *section = summary_section(answer, t, o.model);
	if (!section) {
		snprintf(res.detail, sizeof res.detail,
			 "the model's summary named no transcript times");
		goto out;
	}
	json_object_set_new(doc, "summary", section);
	used = true;
out:
	if (!used)
		log_write(LOG_WARN,
			  "insights: the language model's summary was not used; the offline "
			  "one stays",
			  json_pack("{s:s,s:s,s:s}", "rc", llm_rc_name(res.rc), "detail",
				    res.detail, "provider", res.provider));
	free(answer);
	buf_free(&merged);
	llm_parts_free(parts, nparts);
	free(text);
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
	struct db_conn *c = db_acquire_system(env->db, 5000);

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
	c = db_acquire_system(env->db, 5000);
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
		c = db_acquire_system(env->db, 5000);
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
			c = db_acquire_system(env->db, 5000);
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
	refine_with_model(doc, &tr, &run->cancel);
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
	c = db_acquire_system(env->db, 10000);
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
