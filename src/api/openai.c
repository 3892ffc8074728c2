/*
 * openai.c — OpenAI's speech-to-text wire format, so OpenAI SDKs and tools
 * work against IAM unchanged: POST /v1/audio/transcriptions and GET
 * /v1/models, authenticated with an IAM API key (or access token).
 *
 * The audio becomes a meeting in the caller's organization (so it can be
 * found, exported and deleted later) and is transcribed by the job queue
 * like any other; the request is parked (no HTTP thread is held) until
 * the job finishes, then answered in the requested response_format.
 * Errors use OpenAI's shape: {"error": {message, type, param, code}}.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "auth/authz.h"
#include "billing/meter.h"
#include "blob/blob.h"
#include "service/quota.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/transcript.h"
#include "export/export.h"
#include "store/meetings.h"

#define FIELD_MAX 4096

static void oai_error(struct http_req *r, int status, const char *type, const char *param,
		      const char *code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void oai_error(struct http_req *r, int status, const char *type, const char *param,
		      const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	utf8_sanitize(msg);
	json_t *e = json_pack("{s:s,s:s,s:o,s:o}", "message", msg, "type", type, "param",
			      param ? json_string(param) : json_null(), "code",
			      code ? json_string(code) : json_null());
	http_reply_json(r, status, json_pack("{s:o}", "error", e));
}

/* The quota check (service/quota.h) answered in OpenAI's error shape: 402 quota_exceeded. */
static bool oai_quota(struct http_req *r, struct db_conn *c, const char *org_id,
		      enum quota_kind kind, int64_t amount)
{
	struct quota_usage u;
	enum quota_rc rc = quota_check(c, org_id, kind, amount, &u);
	if (rc == QUOTA_OK)
		return true;
	if (rc == QUOTA_ERROR) {
		oai_error(r, 503, "server_error", NULL, NULL, "The database is busy. Try again.");
		return false;
	}
	char detail[512];
	api_quota_detail(&u, detail, sizeof detail);
	oai_error(r, 402, "insufficient_quota", NULL, "quota_exceeded", "%s", detail);
	return false;
}

bool api_openai_auth(struct http_req *r, struct db_conn *c, struct principal *p)
{
	const char *reason = NULL;
	int rc = authn_bearer(c, &api_app(r)->jwt, http_header(r, "Authorization"), p, &reason);
	if (rc == AUTHN_OK) {
		const char *denied = authn_scope_denied(p, http_method(r), http_path(r));
		if (!denied)
			return true;
		oai_error(r, 403, "invalid_request_error", NULL, "insufficient_scope", "%s",
			  denied);
		return false;
	}
	if (rc == AUTHN_ERROR) {
		oai_error(r, 503, "server_error", NULL, NULL,
			  "The database is unavailable. Try again.");
		return false;
	}
	oai_error(r, 401, "invalid_request_error", NULL, "invalid_api_key",
		  rc == AUTHN_MISSING
		      ? "You didn't provide an API key. Send 'Authorization: Bearer iam_...'."
		      : "Incorrect API key provided. Create a key in IAM and try again.");
	return false;
}

/* Models: "whisper-1" runs the configured chain; each engine can also be named directly. */
static bool model_engine(struct app *app, const char *model, const char **provider)
{
	*provider = NULL;
	if (!strcmp(model, "whisper-1") || !strcmp(model, "iam"))
		return true;
	const char *list = app->cfg->asr;
	size_t n = strlen(model);
	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, ", ");
		if (len && len == n && !strncmp(p, model, n)) {
			*provider = model;
			return true;
		}
		p += len;
	}
	return false;
}

static void list_models(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	{
		struct app *app = cx->app;
		json_t *data = json_array();
		int64_t created = app->started_ms / 1000;
		json_array_append_new(data, json_pack("{s:s,s:s,s:I,s:s}", "id", "whisper-1",
						      "object", "model", "created",
						      (json_int_t)created, "owned_by", "iam"));
		for (const char *s = app->cfg->asr; *s;) {
			while (*s == ' ' || *s == ',')
				s++;
			size_t len = strcspn(s, ", ");
			if (len) {
				char id[32];
				snprintf(id, sizeof id, "%.*s", (int)len, s);
				json_array_append_new(data, json_pack("{s:s,s:s,s:I,s:s}", "id", id,
								      "object", "model", "created",
								      (json_int_t)created,
								      "owned_by", "iam"));
			}
			s += len;
		}
		http_reply_json(r, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
	}
}

struct oai {
	struct app *app;
	struct principal p;
	struct http_multipart *mp;
	struct spool sp;
	bool got_file;
	char filename[512];
	char model[128], language[32], prompt[FIELD_MAX], response_format[32], temperature[32];
	char stream[16];
	bool gran_word, gran_segment, gran_bad, gran_open;
	char gran[32];
	int error; /* HTTP status */
	char message[256];
	const char *param;
	/* After queuing: */
	char meeting_id[UUID_STR_LEN];
	int64_t deadline_ms;
};

static void oai_free(void *p)
{
	struct oai *o = p;
	http_multipart_free(o->mp);
	spool_discard(&o->sp);
	free(o);
}

static void oai_fail(struct oai *o, int status, const char *param, const char *msg)
{
	if (!o->error) {
		o->error = status;
		o->param = param;
		snprintf(o->message, sizeof o->message, "%s", msg);
	}
}

/* Append a piece of a small text field, refusing oversized ones. */
static int field_piece(struct oai *o, char *dst, size_t cap, const char *name, const char *data,
		       size_t len, uint64_t off)
{
	if (off + len >= cap) {
		oai_fail(o, 400, name, "This field is too long.");
		return -1;
	}
	memcpy(dst + off, data, len);
	dst[off + len] = '\0';
	return 0;
}

static void gran_flush(struct oai *o)
{
	if (!o->gran_open)
		return;
	if (!strcmp(o->gran, "word"))
		o->gran_word = true;
	else if (!strcmp(o->gran, "segment"))
		o->gran_segment = true;
	else
		o->gran_bad = true;
	o->gran_open = false;
	o->gran[0] = '\0';
}

static int oai_part(void *cls, const char *field, const char *filename, const char *data,
		    size_t len, uint64_t off)
{
	struct oai *o = cls;
	if (!strcmp(field, "file")) {
		if (!o->got_file) {
			o->got_file = true;
			snprintf(o->filename, sizeof o->filename, "%s",
				 filename ? filename : "audio");
		}
		if (o->sp.size + (int64_t)len > (int64_t)o->app->cfg->max_upload_mb * 1024 * 1024) {
			oai_fail(o, 413, "file", "The file is larger than this server accepts.");
			return -1;
		}
		if (len && spool_write(&o->sp, data, len) < 0) {
			oai_fail(o, 500, NULL, "The file could not be stored.");
			return -1;
		}
		return 0;
	}
	if (!strcmp(field, "model"))
		return field_piece(o, o->model, sizeof o->model, "model", data, len, off);
	if (!strcmp(field, "language"))
		return field_piece(o, o->language, sizeof o->language, "language", data, len, off);
	if (!strcmp(field, "prompt"))
		return field_piece(o, o->prompt, sizeof o->prompt, "prompt", data, len, off);
	if (!strcmp(field, "response_format"))
		return field_piece(o, o->response_format, sizeof o->response_format,
				   "response_format", data, len, off);
	if (!strcmp(field, "temperature"))
		return field_piece(o, o->temperature, sizeof o->temperature, "temperature", data,
				   len, off);
	if (!strcmp(field, "stream"))
		return field_piece(o, o->stream, sizeof o->stream, "stream", data, len, off);
	if (!strcmp(field, "timestamp_granularities[]") ||
	    !strcmp(field, "timestamp_granularities")) {
		/* A value may arrive in pieces: collect it, judge it when the next part starts or
		 * at the end. */
		if (off == 0)
			gran_flush(o);
		o->gran_open = true;
		return field_piece(o, o->gran, sizeof o->gran, "timestamp_granularities", data, len,
				   off);
	}
	return 0; /* unknown fields are ignored, as OpenAI does */
}

static void oai_open(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct app *app = cx->app;
	struct oai *o = calloc(1, sizeof *o);
	if (!o) {
		oai_error(r, 500, "server_error", NULL, NULL, "Out of memory.");
		return;
	}
	o->sp.fd = -1;
	o->app = app;
	o->p = *cx->principal;
	http_set_ctx(r, o, oai_free);
	int64_t len = http_content_length(r);
	if (len > (int64_t)app->cfg->max_upload_mb * 1024 * 1024 + 65536) {
		oai_error(r, 413, "invalid_request_error", "file", NULL,
			  "The request is larger than the %ld MB this server accepts.",
			  app->cfg->max_upload_mb);
		return;
	}
	/* Before any byte is read: room for the file and some minutes left. */
	if (!oai_quota(r, cx->conn, o->p.org_id, QUOTA_STORAGE, len > 0 ? len : 0) ||
	    !oai_quota(r, cx->conn, o->p.org_id, QUOTA_MINUTES, 1))
		return;
	o->mp = http_multipart_new(r, oai_part, o);
	if (!o->mp) {
		oai_error(
		    r, 400, "invalid_request_error", NULL, NULL,
		    "Send the request as multipart/form-data with the audio in a 'file' field.");
		return;
	}
	if (spool_open(app, &o->sp, "oai") < 0)
		oai_error(r, 500, "server_error", NULL, NULL,
			  "The file could not be stored. Try again.");
}

static int oai_chunk(struct http_req *r, const char *data, size_t len)
{
	struct oai *o = http_ctx(r);
	if (http_multipart_feed(o->mp, data, len) < 0) {
		oai_fail(o, 400, NULL, "The multipart body could not be read.");
		return -1;
	}
	return o->error ? -1 : 0;
}

static const char *language_name(const char *code)
{
	static const char *const MAP[][2] = {
	    {"en", "english"},	  {"de", "german"},   {"fr", "french"},
	    {"es", "spanish"},	  {"it", "italian"},  {"nl", "dutch"},
	    {"pt", "portuguese"}, {"ja", "japanese"}, {"zh", "chinese"}};
	for (size_t i = 0; i < sizeof MAP / sizeof *MAP; i++)
		if (!strncmp(code, MAP[i][0], 2))
			return MAP[i][1];
	return code;
}

static bool oai_check(void *ctx)
{
	struct oai *o = ctx;
	if (time_now_ms() > o->deadline_ms)
		return true;
	struct db_conn *c =
	    db_acquire_org(o->app->db, 0, o->p.org_id); /* never wait on the timer thread */
	if (!c)
		return false;
	struct meeting m;
	int rc = meeting_get(c, o->p.org_id, o->meeting_id, &m);
	db_release(c);
	if (rc)
		return rc == STORE_NOT_FOUND;
	bool done = !strcmp(m.status, "completed") || !strcmp(m.status, "failed");
	meeting_clear(&m);
	return done;
}

static void oai_reply(struct http_req *r, struct oai *o, struct db_conn *c, const struct meeting *m)
{
	struct meeting_transcript t;
	if (meeting_transcript_get(c, o->p.org_id, m->id, &t) != STORE_OK) {
		oai_error(r, 500, "server_error", NULL, NULL, "The transcript could not be read.");
		return;
	}
	json_t *body = json_loads(t.body, 0, NULL);
	struct transcript tr = {0};
	if (!body || transcript_from_json(body, &tr) < 0) {
		json_decref(body);
		meeting_transcript_clear(&t);
		oai_error(r, 500, "server_error", NULL, NULL, "The transcript is damaged.");
		return;
	}
	const char *fmt = o->response_format[0] ? o->response_format : "json";
	char *text = transcript_text(&tr);
	if (!strcmp(fmt, "json")) {
		http_reply_json(r, 200, json_pack("{s:s}", "text", text ? text : ""));
	} else if (!strcmp(fmt, "text")) {
		size_t n = text ? strlen(text) : 0;
		char *out = malloc(n + 2);
		if (out) {
			memcpy(out, text ? text : "", n);
			out[n] = '\n';
			out[n + 1] = '\0';
		}
		http_reply_text(r, 200, "text/plain; charset=utf-8", out, out ? n + 1 : 0);
	} else if (!strcmp(fmt, "srt") || !strcmp(fmt, "vtt")) {
		/* As OpenAI's: what was said, no speaker labels (diarized_json has who). */
		for (size_t i = 0; i < tr.nsegments; i++)
			tr.segments[i].speaker = 0;
		size_t len = 0;
		char *out =
		    export_render(&tr, !strcmp(fmt, "srt") ? EXPORT_SRT : EXPORT_VTT, NULL, &len);
		http_reply_text(r, 200, "text/plain; charset=utf-8", out, len);
	} else if (!strcmp(fmt, "diarized_json")) {
		/*
		 * OpenAI's diarizing format: segments of one speaker each, speakers
		 * lettered A, B, ... in order of appearance (ours are S1, S2, ...).
		 */
		json_t *segs = json_array();
		for (size_t i = 0; i < tr.nsegments; i++) {
			const struct transcript_segment *s = &tr.segments[i];
			char id[32], spk[24];
			size_t k = s->speaker <= tr.nspeakers ? s->speaker : 0;
			snprintf(id, sizeof id, "seg_%03zu", i);
			if (k >= 1 && k <= 26)
				snprintf(spk, sizeof spk, "%c", (char)('A' + k - 1));
			else
				snprintf(spk, sizeof spk, "S%zu", k);
			json_array_append_new(segs,
					      json_pack("{s:s,s:s,s:f,s:f,s:s,s:s}", "type",
							"transcript.text.segment", "id", id,
							"start", s->start, "end", s->end, "text",
							s->text ? s->text : "", "speaker", spk));
		}
		http_reply_json(r, 200,
				json_pack("{s:s,s:f,s:s,s:o}", "task", "transcribe", "duration",
					  tr.duration, "text", text ? text : "", "segments", segs));
	} else { /* verbose_json */
		json_t *segs = json_array(), *words = json_array();
		for (size_t i = 0; i < tr.nsegments; i++) {
			const struct transcript_segment *s = &tr.segments[i];
			double conf = s->confidence > 0 ? s->confidence : 1e-6;
			json_array_append_new(
			    segs,
			    json_pack("{s:I,s:i,s:f,s:f,s:s,s:[],s:f,s:f,s:f,s:f}", "id",
				      (json_int_t)i, "seek", 0, "start", s->start, "end", s->end,
				      "text", s->text, "tokens", "temperature", 0.0, "avg_logprob",
				      log(conf), "compression_ratio", 1.0, "no_speech_prob", 0.0));
		}
		for (size_t i = 0; i < tr.nwords; i++)
			json_array_append_new(
			    words, json_pack("{s:s,s:f,s:f}", "word", tr.words[i].text, "start",
					     tr.words[i].start, "end", tr.words[i].end));
		json_t *out = json_pack("{s:s,s:s,s:f,s:s}", "task", "transcribe", "language",
					language_name(tr.language), "duration", tr.duration, "text",
					text ? text : "");
		if (o->gran_segment || !o->gran_word)
			json_object_set_new(out, "segments", segs);
		else
			json_decref(segs);
		if (o->gran_word)
			json_object_set_new(out, "words", words);
		else
			json_decref(words);
		http_reply_json(r, 200, out);
	}
	free(text);
	transcript_free(&tr);
	json_decref(body);
	meeting_transcript_clear(&t);
}

static void oai_finish(struct http_req *r, void *ctx, bool stopping)
{
	struct oai *o = ctx;
	if (stopping) {
		oai_error(r, 503, "server_error", NULL, NULL,
			  "The server is restarting; the transcription continues as meeting %s.",
			  o->meeting_id);
		return;
	}
	struct db_conn *c = db_acquire_org(o->app->db, DB_ACQUIRE_MS, o->p.org_id);
	if (!c) {
		oai_error(r, 503, "server_error", NULL, NULL, "The database is busy. Try again.");
		return;
	}
	struct meeting m;
	int rc = meeting_get(c, o->p.org_id, o->meeting_id, &m);
	if (rc) {
		oai_error(r, rc == STORE_NOT_FOUND ? 404 : 503, "server_error", NULL, NULL,
			  rc == STORE_NOT_FOUND ? "The meeting was deleted during transcription."
						: "The database is busy. Try again.");
	} else if (!strcmp(m.status, "completed")) {
		oai_reply(r, o, c, &m);
	} else if (!strcmp(m.status, "failed")) {
		oai_error(r, 500, "server_error", NULL, NULL, "%s",
			  m.processing_error[0] ? m.processing_error : "Transcription failed.");
	} else {
		oai_error(r, 504, "server_error", NULL, NULL,
			  "Transcription is taking longer than %d s; it continues as meeting %s.",
			  o->app->cfg->sync_timeout_s, o->meeting_id);
	}
	if (!rc)
		meeting_clear(&m);
	db_release(c);
}

static void oai_done(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct oai *o = http_ctx(r);
	struct app *app = o->app;
	gran_flush(o);
	if (o->error) {
		oai_error(r, o->error, o->error >= 500 ? "server_error" : "invalid_request_error",
			  o->param, NULL, "%s", o->message);
		return;
	}
	if (!o->got_file) {
		oai_error(r, 400, "invalid_request_error", "file", NULL,
			  "You must provide a file: send the audio in the 'file' field.");
		return;
	}
	if (!o->model[0]) {
		oai_error(r, 400, "invalid_request_error", "model", NULL,
			  "You must provide a model parameter.");
		return;
	}
	const char *provider;
	if (!model_engine(app, o->model, &provider)) {
		oai_error(r, 400, "invalid_request_error", "model", "model_not_found",
			  "The model '%s' does not exist. Use whisper-1 or one of GET /v1/models.",
			  o->model);
		return;
	}
	const char *fmt = o->response_format;
	if (fmt[0] && strcmp(fmt, "json") && strcmp(fmt, "text") && strcmp(fmt, "srt") &&
	    strcmp(fmt, "vtt") && strcmp(fmt, "verbose_json") && strcmp(fmt, "diarized_json")) {
		oai_error(r, 400, "invalid_request_error", "response_format", NULL,
			  "response_format must be one of json, text, srt, verbose_json, vtt, "
			  "diarized_json.");
		return;
	}
	if (o->gran_bad || ((o->gran_word || o->gran_segment) && strcmp(fmt, "verbose_json"))) {
		oai_error(r, 400, "invalid_request_error", "timestamp_granularities", NULL,
			  "timestamp_granularities must be word and/or segment, with "
			  "response_format verbose_json.");
		return;
	}
	if (o->temperature[0]) {
		char *end;
		double t = strtod(o->temperature, &end);
		if (*end || t < 0 || t > 1) {
			oai_error(r, 400, "invalid_request_error", "temperature", NULL,
				  "temperature must be a number from 0 to 1.");
			return;
		}
	}
	if (o->stream[0] && strcmp(o->stream, "false")) {
		oai_error(r, 400, "invalid_request_error", "stream", NULL,
			  "Streaming is not supported; omit stream.");
		return;
	}
	if (o->language[0] && (strlen(o->language) < 2 || strlen(o->language) > 15)) {
		oai_error(r, 400, "invalid_request_error", "language", NULL,
			  "language must be an ISO-639-1 code such as en.");
		return;
	}
	if (o->sp.size == 0) {
		oai_error(r, 400, "invalid_request_error", "file", NULL,
			  "The audio file is empty.");
		return;
	}
	if (fsync(o->sp.fd) < 0 || close(o->sp.fd) < 0) {
		o->sp.fd = -1;
		oai_error(r, 500, "server_error", NULL, NULL, "The file could not be stored.");
		return;
	}
	o->sp.fd = -1;
	unsigned char digest[32];
	char hex[65];
	crypto_sha256_final((struct crypto_sha256_ctx *)(void *)o->sp.sha, digest);
	crypto_hex(digest, 32, hex);

	struct db_conn *c = api_conn(cx);
	if (!c)
		return;
	struct meeting m;
	meeting_init(&m);
	snprintf(m.org_id, sizeof m.org_id, "%s", o->p.org_id);
	snprintf(m.created_by, sizeof m.created_by, "%s", o->p.user_id);
	snprintf(m.title, sizeof m.title, "%.200s", o->filename);
	while (utf8_len(m.title) == (size_t)-1)
		m.title[strlen(m.title) - 1] = '\0';
	if (!m.title[0])
		snprintf(m.title, sizeof m.title, "API transcription");
	m.description = strdup("Transcribed through POST /v1/audio/transcriptions.");
	if (o->language[0])
		snprintf(m.language, sizeof m.language, "%.15s", o->language);
	int rc = meeting_create(c, &m);
	if (rc) {
		oai_error(r, 503, "server_error", NULL, NULL, "The database is busy. Try again.");
		goto out;
	}
	const char *code;
	char detail[512];
	struct ingest_file f = {
	    .path = o->sp.path, .filename = o->filename, .size = o->sp.size, .sha256 = hex};
	enum ingest_rc irc =
	    ingest_audio(app->blob, c, &m, &f, INGEST_ATTACH_ONLY, detail, sizeof detail);
	o->sp.path[0] = '\0';
	int status = api_ingest_status(irc, &code);
	if (status) {
		char key[96];
		meeting_delete(c, o->p.org_id, m.id, key); /* nothing half-made stays behind */
		oai_error(r, status >= 500 ? status : 400,
			  status >= 500 ? "server_error" : "invalid_request_error",
			  status >= 500 ? NULL : "file", NULL, "%s", detail);
		goto out;
	}
	/* Now that the length is known: the whole file must fit the minutes left. */
	if (!oai_quota(r, c, o->p.org_id, QUOTA_MINUTES, meter_seconds(m.duration))) {
		char key[96] = "";
		if (meeting_delete(c, o->p.org_id, m.id, key) == STORE_OK && key[0])
			blob_delete(app->blob, key);
		goto out;
	}
	struct quota_usage q;
	bool over = false;
	rc = ingest_queue_within_quota(c, &m, o->language[0] ? o->language : NULL, provider, NULL,
				       &q, &over);
	if (over) {
		char key[96] = "", qd[512];
		api_quota_detail(&q, qd, sizeof qd);
		if (meeting_delete(c, o->p.org_id, m.id, key) == STORE_OK && key[0])
			blob_delete(app->blob, key);
		oai_error(r, 402, "insufficient_quota", NULL, "quota_exceeded", "%s", qd);
		goto out;
	}
	if (rc) {
		oai_error(r, 503, "server_error", NULL, NULL,
			  "Transcription could not be queued. Try again.");
		goto out;
	}
	snprintf(o->meeting_id, sizeof o->meeting_id, "%s", m.id);
	o->deadline_ms = time_now_ms() + (int64_t)app->cfg->sync_timeout_s * 1000;
	http_add_header(r, "X-Meeting-Id", m.id);
	api_jobs_wake(app);
	/* The context now belongs to the parked request. */
	http_park(r, 300, oai_check, oai_finish, http_take_ctx(r), oai_free);
out:
	meeting_clear(&m);
}

static const struct route ROUTES[] = {
    {.method = M_GET,
     .pattern = "/v1/models",
     .auth = AUTH_OPENAI,
     .db = DB_CONN_HELD,
     .run = list_models,
     .perm = PERM_READ},
    {.method = M_POST,
     .pattern = "/v1/audio/transcriptions",
     .body = BODY_STREAM,
     .auth = AUTH_OPENAI,
     .db = DB_CONN_HELD,
     .open = oai_open,
     .chunk = oai_chunk,
     .run = oai_done,
     .perm = PERM_UPLOAD},
};

size_t api_openai_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
