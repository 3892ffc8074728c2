#include "jobs/transcribe.h"
#include "billing/meter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr/asr.h"
#include "asr/diarize.h"
#include "blob/blob.h"
#include "bus/bus.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/transcript.h"
#include "jobs/insights.h"
#include "media/media.h"
#include "store/meetings.h"
#include "store/notifications.h"

/*
 * Tell the organization's live sockets (bus "meeting.status") that the
 * meeting's status or progress changed. The database stays the truth: a
 * missed event is caught up by reading the meeting.
 */
static void announce(struct job_env *env, const char *org, const char *id, const char *status,
		     int progress, const char *error)
{
	json_t *d = json_pack("{s:s,s:s,s:i,s:s?}", "id", id, "status", status, "progress",
			      progress, "processing_error", error);
	if (d)
		bus_publish(env->bus, BUS_ORG, org, "meeting.status", d);
	json_decref(d);
}

struct progress {
	struct job_env *env;
	const char *org_id;
	const char *meeting_id;
	int last; /* percent last written */
	int64_t last_us;
	double lo, hi; /* the percent range of the current step */
};

/*
 * Recognition is up to 85%, diarization up to 95%, storing the result the
 * rest. Writes at most twice a second.
 */
static void on_progress(void *ctx, double fraction)
{
	struct progress *p = ctx;
	int pct = (int)(p->lo + fraction * (p->hi - p->lo));
	if (pct < 0)
		pct = 0;
	if (pct > 95)
		pct = 95;
	int64_t now = time_mono_us();
	if (pct <= p->last || now - p->last_us < 500000)
		return;
	struct db_conn *c = db_acquire_system(p->env->db, 500);
	if (!c)
		return;
	bool set = meeting_set_progress(c, p->org_id, p->meeting_id, pct) == STORE_OK;
	if (set) {
		p->last = pct;
		p->last_us = now;
	}
	db_release(c);
	if (set)
		announce(p->env, p->org_id, p->meeting_id, "processing", pct, NULL);
}

static long src_read(void *ctx, int16_t *buf, size_t max)
{
	return media_decoder_read(ctx, buf, max);
}
static int src_rewind(void *ctx)
{
	return media_decoder_rewind(ctx);
}

/* The diarization step of the steps JSON (NULL when it did not run). */
struct diar_step {
	bool ran, ok;
	double seconds;
	int speakers;
	char error[256];
};

static char *steps_json(const struct asr_attempt *a, size_t n, double decode_open_s,
			const struct diar_step *d)
{
	json_t *arr = json_array();
	json_array_append_new(
	    arr, json_pack("{s:s,s:f}", "step", "open_audio", "seconds", decode_open_s));
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_pack("{s:s,s:s,s:s,s:f,s:b}", "step", "transcribe", "engine",
				      a[i].engine, "model", a[i].model, "seconds", a[i].seconds,
				      "ok", a[i].rc == ASR_OK);
		if (a[i].rc != ASR_OK)
			json_object_set_new(s, "error", json_string(a[i].error));
		json_array_append_new(arr, s);
	}
	if (d && d->ran) {
		json_t *s = json_pack("{s:s,s:f,s:b,s:i}", "step", "diarize", "seconds", d->seconds,
				      "ok", d->ok, "speakers", d->speakers);
		if (!d->ok)
			json_object_set_new(s, "error", json_string(d->error));
		json_array_append_new(arr, s);
	}
	char *text = json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(arr);
	return text;
}

/* Record the outcome of a failed attempt on the meeting. */
static enum job_result failed(struct job_run *run, struct job_env *env, const char *org,
			      const char *id, bool retry, const char *error, const char *steps)
{
	struct db_conn *c = db_acquire_system(env->db, 5000);
	bool last = run->job->attempts >= run->job->max_attempts;
	if (c) {
		if (retry && !last)
			meeting_set_status(c, org, id, "queued", NULL);
		else if (meeting_fail(c, org, id, error, steps ? steps : "[]") == STORE_OK)
			notify_transcription(c, env->bus, org, id, false);
		db_release(c);
		announce(env, org, id, retry && !last ? "queued" : "failed", 0,
			 retry && !last ? NULL : error);
	}
	snprintf(run->error, sizeof run->error, "%s", error);
	return retry && !last ? JOB_RETRY : JOB_FAIL;
}

/* A payload integer in 1..DIAR_MAX_SPEAKERS, else 0 (the API checked it; a stale payload is
 * ignored). */
static int payload_speakers(const struct job_run *run, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(run->payload, key));
	return v >= 1 && v <= DIAR_MAX_SPEAKERS ? (int)v : 0;
}

/*
 * Diarize the decoded audio from the start and attribute tr's segments to
 * speakers. A failure leaves tr without speakers (the transcript is still
 * worth having) and is recorded in *ds.
 */
static void diarize_step(struct job_env *env, struct job_run *run, struct media_decoder *dec,
			 struct transcript *tr, struct progress *prog, struct diar_step *ds)
{
	int64_t t0 = time_mono_us();
	struct diar_opts o = {.vad = env->asr ? env->asr->seg.vad : NULL};
	struct diarizer *d = NULL;
	struct diar_turn *turns = NULL;
	struct transcript_turn *tt = NULL;
	size_t nturns = 0;
	int nspk = 0;
	int16_t *buf = NULL;
	enum { CHUNK = 16000 };

	ds->ran = true;
	int exact = payload_speakers(run, "speakers_expected");
	o.min_speakers = exact ? exact : payload_speakers(run, "min_speakers");
	o.max_speakers = exact ? exact : payload_speakers(run, "max_speakers");
	if (o.min_speakers && o.max_speakers && o.min_speakers > o.max_speakers)
		o.min_speakers = o.max_speakers;
	d = diar_new(&o, ds->error, sizeof ds->error);
	buf = malloc(CHUNK * sizeof *buf);
	if (!d || !buf) {
		if (!ds->error[0])
			snprintf(ds->error, sizeof ds->error, "out of memory");
		goto out;
	}
	if (media_decoder_rewind(dec) != 0) {
		snprintf(ds->error, sizeof ds->error, "the audio could not be read again");
		goto out;
	}
	for (;;) {
		long n = media_decoder_read(dec, buf, CHUNK);
		if (n < 0) {
			snprintf(ds->error, sizeof ds->error,
				 "the audio could not be decoded again");
			goto out;
		}
		if (n == 0)
			break;
		if (diar_feed_s16(d, buf, (size_t)n, ds->error, sizeof ds->error) < 0)
			goto out;
		if (atomic_load(&run->cancel))
			goto out;
		if (tr->duration > 0)
			on_progress(prog, diar_duration(d) / tr->duration * 0.9);
	}
	if (diar_finish(d, &turns, &nturns, &nspk, ds->error, sizeof ds->error) < 0)
		goto out;
	tt = calloc(nturns + 1, sizeof *tt);
	if (!tt) {
		snprintf(ds->error, sizeof ds->error, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nturns; i++)
		tt[i] = (struct transcript_turn){.start = turns[i].start,
						 .end = turns[i].end,
						 .speaker = (unsigned)turns[i].speaker};
	if (transcript_assign_turns(tr, tt, nturns) < 0) {
		snprintf(ds->error, sizeof ds->error, "out of memory");
		goto out;
	}
	ds->ok = true;
	ds->speakers = (int)tr->nspeakers;
out:
	ds->seconds = (double)(time_mono_us() - t0) / 1e6;
	if (!ds->ok && !atomic_load(&run->cancel))
		log_warn("diarization failed; transcript kept without speakers",
			 json_pack("{s:s}", "error", ds->error));
	free(tt);
	free(turns);
	free(buf);
	diar_free(d);
}

enum job_result job_transcribe(struct job_run *run)
{
	struct job_env *env = run->app;
	const char *id = json_string_value(json_object_get(run->payload, "meeting_id"));
	const char *lang = json_string_value(json_object_get(run->payload, "language"));
	const char *provider = json_string_value(json_object_get(run->payload, "provider"));
	const char *org = run->job->org_id;
	if (!id || !uuid_valid(id)) {
		snprintf(run->error, sizeof run->error, "payload has no meeting_id");
		return JOB_FAIL;
	}
	struct meeting m;
	struct media_decoder *dec = NULL;
	struct transcript tr = {0};
	char *steps = NULL, *body_text = NULL, *text = NULL;
	enum job_result result = JOB_OK;
	meeting_init(&m);

	struct db_conn *c = db_acquire_system(env->db, 5000);
	if (!c) {
		snprintf(run->error, sizeof run->error, "database unavailable");
		return JOB_RETRY;
	}
	int rc = meeting_get(c, org, id, &m);
	if (rc == STORE_OK && m.audio_key[0]) {
		rc = meeting_start_processing(c, org, id);
		if (rc == STORE_OK)
			announce(env, org, id, "processing", 0, NULL);
	}
	db_release(c);
	if (rc == STORE_NOT_FOUND) {
		log_info("meeting gone; nothing to transcribe",
			 json_pack("{s:s}", "meeting_id", id));
		goto out; /* deleted meanwhile: done */
	}
	if (rc) {
		snprintf(run->error, sizeof run->error, "database error %d", rc);
		result = JOB_RETRY;
		goto out;
	}
	if (!m.audio_key[0]) {
		result = failed(run, env, org, id, false,
				"This meeting has no audio. Upload audio first.", NULL);
		goto out;
	}

	int64_t t0 = time_mono_us();
	char path[1024], detail[512];
	if (blob_local_path(env->blob, m.audio_key, path, sizeof path) != 0) {
		result = failed(run, env, org, id, true,
				"The audio file could not be read from storage.", NULL);
		goto out;
	}
	if (media_decoder_open(path, &dec, detail, sizeof detail) != MEDIA_OK) {
		char msg[700];
		snprintf(msg, sizeof msg, "The audio could not be decoded: %s", detail);
		result = failed(run, env, org, id, false, msg, NULL);
		goto out;
	}
	double open_s = (double)(time_mono_us() - t0) / 1e6;

	struct asr_source src = {.read = src_read,
				 .rewind = src_rewind,
				 .ctx = dec,
				 .duration = m.duration > 0 ? m.duration : 0};
	struct progress prog = {.env = env, .org_id = org, .meeting_id = id, .lo = 0, .hi = 85};
	struct asr_opts opts = {.language = lang ? lang : m.language,
				.progress = on_progress,
				.progress_ctx = &prog,
				.cancel = &run->cancel};
	struct asr_attempt attempts[ASR_CHAIN_MAX];
	size_t nattempts = 0, used = 0;
	char err[512] = "";
	rc = asr_chain_transcribe(env->asr, provider, &src, &opts, &tr, attempts, &nattempts, &used,
				  err, sizeof err);
	steps = steps_json(attempts, nattempts, open_s, NULL);
	if (rc == ASR_CANCELLED || atomic_load(&run->cancel)) {
		/* Stopping (released and resumed later) or the lease was lost (someone else has
		 * it). */
		if (run->stopping) {
			c = db_acquire_system(env->db, 2000);
			if (c) {
				meeting_set_status(c, org, id, "queued", NULL);
				db_release(c);
			}
		}
		snprintf(run->error, sizeof run->error, "cancelled");
		result = JOB_RETRY;
		goto out;
	}
	if (rc != ASR_OK) {
		char msg[700];
		snprintf(msg, sizeof msg, "Transcription failed: %s",
			 err[0] ? err : "the speech engine gave no result.");
		result = failed(run, env, org, id, rc == ASR_RETRYABLE, msg, steps);
		goto out;
	}
	double pos = media_decoder_position(dec);
	if (tr.duration < pos)
		tr.duration = pos;
	/* Who spoke when: a pass of its own over the audio, the same for every engine. */
	struct diar_step ds = {0};
	prog.lo = 85;
	prog.hi = 95;
	diarize_step(env, run, dec, &tr, &prog, &ds);
	if (atomic_load(&run->cancel)) {
		snprintf(run->error, sizeof run->error, "cancelled");
		result = JOB_RETRY;
		goto out;
	}
	free(steps);
	steps = steps_json(attempts, nattempts, open_s, &ds);
	if (!tr.language[0])
		snprintf(tr.language, sizeof tr.language, "%s",
			 opts.language ? opts.language : "en");
	json_t *body = transcript_to_json(&tr);
	body_text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
	json_decref(body);
	text = transcript_text(&tr);
	if (!body_text || !text) {
		result = failed(run, env, org, id, true,
				"The transcript could not be stored (out of memory).", steps);
		goto out;
	}
	struct asr_engine *e = env->asr->engines[used];
	c = db_acquire_system(env->db, 10000);
	if (!c) {
		snprintf(run->error, sizeof run->error, "database unavailable");
		result = JOB_RETRY;
		goto out;
	}
	/* Only if the meeting still has the audio this job read (not replaced or removed
	 * meanwhile). */
	rc = meeting_complete_audio(c, org, id, m.audio_key, tr.language, text, body_text, e->name,
				    e->model, transcript_confidence(&tr), tr.duration, steps);
	if (rc == STORE_OK)
		notify_transcription(c, env->bus, org, id, true);
	/* Insights follow every transcript; failing to queue them never fails this job. */
	if (rc == STORE_OK && job_insights_enqueue(c, org, id, 0) != STORE_OK)
		log_warn("insights not queued", json_pack("{s:s}", "meeting_id", id));
	if (rc == STORE_OK) /* usage, once per job (billing/meter.h) */
		meter_transcription(c, env->bus, org, run->job->id, id, tr.duration, e->name,
				    e->model);
	db_release(c);
	if (rc == STORE_OK)
		announce(env, org, id, "completed", 100, NULL);
	if (rc && rc != STORE_NOT_FOUND) {
		snprintf(run->error, sizeof run->error, "could not store transcript (%d)", rc);
		result = JOB_RETRY;
		goto out;
	}
	log_info("transcribed",
		 json_pack("{s:s,s:s,s:f,s:I,s:f}", "meeting_id", id, "engine", e->name, "audio_s",
			   tr.duration, "segments", (json_int_t)tr.nsegments, "seconds",
			   (double)(time_mono_us() - t0) / 1e6));
out:
	media_decoder_close(dec);
	transcript_free(&tr);
	free(steps);
	free(body_text);
	free(text);
	meeting_clear(&m);
	return result;
}
