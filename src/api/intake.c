/*
 * intake.c — the HTTP side of how audio enters IAM: spool files that
 * receive a body, ingest results as replies (service/ingest.c does the
 * work), tickets checked on requests (service/tickets.c), upload storage
 * space, Idempotency-Key on create endpoints.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "blob/blob.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/timeutil.h"
#include "jobs/jobs.h"
#include "store/idempotency.h"
#include "store/meetings.h"

_Static_assert(sizeof(((struct spool *)0)->sha) >= sizeof(struct crypto_sha256_ctx), "spool sha");

int spool_open(struct app *app, struct spool *s, const char *prefix)
{
	char id[UUID_STR_LEN];
	uuid_v7(id);
	s->size = 0;
	snprintf(s->path, sizeof s->path, "%s/%s-%s", blob_spool_dir(app->blob), prefix, id);
	s->fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->fd < 0) {
		log_error("cannot create spool file",
			  json_pack("{s:s,s:s}", "path", s->path, "error", strerror(errno)));
		s->path[0] = '\0';
		return -1;
	}
	crypto_sha256_init((struct crypto_sha256_ctx *)(void *)s->sha);
	return 0;
}

int spool_write(struct spool *s, const void *data, size_t len)
{
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(s->fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	crypto_sha256_update((struct crypto_sha256_ctx *)(void *)s->sha, data, len);
	s->size += (int64_t)len;
	return 0;
}

void spool_discard(struct spool *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->path[0])
		unlink(s->path);
	s->path[0] = '\0';
}

void api_jobs_wake(struct app *app)
{
	if (app->jobs)
		jobs_notify(app->jobs);
}

int api_ingest_status(enum ingest_rc rc, const char **code)
{
	switch (rc) {
	case INGEST_OK:
		*code = NULL;
		return 0;
	case INGEST_NOT_AUDIO:
		*code = "unsupported_media_type";
		return 415;
	case INGEST_UNREADABLE:
		*code = "unreadable_audio";
		return 422;
	case INGEST_TOO_LONG:
		*code = "audio_too_long";
		return 422;
	case INGEST_STORAGE_FAILED:
		*code = "storage_failed";
		return 503;
	case INGEST_MEETING_BUSY:
		*code = "meeting_busy";
		return 409;
	case INGEST_MEETING_GONE:
		*code = "not_found";
		return 404;
	case INGEST_DB_FAILED:
		*code = "database_unavailable";
		return 503;
	case INGEST_QUOTA:
		*code = "quota_exceeded";
		return 402;
	case INGEST_PROBE_FAILED:
	case INGEST_RELOAD_FAILED:
		break;
	}
	*code = "internal_error";
	return 500;
}

void api_ingest_problem(struct http_req *r, enum ingest_rc rc, const char *detail)
{
	const char *code;
	int status = api_ingest_status(rc, &code);
	if (status >= 500 && strcmp(code, "internal_error") == 0)
		http_problem_internal(r, "ingest");
	else
		http_problem(r, status, code, "%s", detail);
}

bool api_auth_or_ticket(struct http_req *r, struct db_conn *c, const char *meeting_id,
			struct principal *p)
{
	const char *ticket = http_query(r, "ticket");
	if (ticket && !http_header(r, "Authorization")) {
		if (ticket_verify(api_app(r)->ticket_key, c, ticket, meeting_id, p))
			return true;
		http_problem(
		    r, 401, "invalid_ticket",
		    "The ticket is not valid for this meeting or has expired. Ask for a new one.");
		return false;
	}
	return api_auth(r, c, p);
}

/* ---- disk space ---- */

int64_t api_disk_free(struct app *app)
{
	int64_t n;
	return blob_free_bytes(app->blob, &n) == 0 ? n : -1;
}

static int64_t min_free(struct app *app)
{
	return (int64_t)app->cfg->disk_min_free_mb * 1024 * 1024;
}

void api_storage_full(struct http_req *r)
{
	http_problem(
	    r, 507, "insufficient_storage",
	    "The server has no room to store this upload right now. Try again later; if it "
	    "keeps happening, tell the operator that upload storage is full.");
}

bool api_disk_room(struct http_req *r, int64_t need)
{
	struct app *app = api_app(r);
	int64_t free_bytes = api_disk_free(app);
	if (free_bytes < 0 || need < 0)
		return true; /* unknown: the writes themselves will tell */
	int64_t margin = min_free(app);
	if (free_bytes >= margin && need <= free_bytes - margin)
		return true;
	log_warn("upload refused: disk nearly full",
		 json_pack("{s:I,s:I,s:I}", "need", (json_int_t)need, "free",
			   (json_int_t)free_bytes, "min_free", (json_int_t)margin));
	api_storage_full(r);
	return false;
}

json_t *api_disk_status(struct app *app)
{
	int64_t free_bytes = api_disk_free(app);
	if (free_bytes < 0)
		return json_pack("{s:s}", "status", "unknown");
	return json_pack("{s:s,s:I,s:I}", "status", free_bytes < min_free(app) ? "low" : "ok",
			 "free_bytes", (json_int_t)free_bytes, "min_free_bytes",
			 (json_int_t)min_free(app));
}

static double gauge_free(void *ctx)
{
	return (double)api_disk_free(ctx);
}
static double gauge_min(void *ctx)
{
	return (double)min_free(ctx);
}

void api_disk_metrics(struct app *app)
{
	metrics_gauge_fn("iam_upload_storage_free_bytes",
			 "Bytes free where uploads are spooled and audio is kept (-1 if unknown).",
			 gauge_free, app);
	metrics_gauge_fn(
	    "iam_upload_storage_min_free_bytes",
	    "Free bytes uploads always leave (IAM_DISK_MIN_FREE_MB); below it uploads get 507.",
	    gauge_min, app);
}

/* ---- Idempotency-Key ---- */

#define IDEM_TTL_MS	(24LL * 3600 * 1000)
#define IDEM_PENDING_MS (15LL * 60 * 1000)

bool api_idem_begin(struct http_req *r, struct db_conn *c, const struct principal *p,
		    const char *extra, size_t extralen, struct api_idem *st)
{
	memset(st, 0, sizeof *st);
	const char *key = http_header(r, "Idempotency-Key");
	if (!key)
		return true;
	size_t n = strlen(key);
	bool ok = n >= 1 && n <= IDEM_KEY_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = key[i] >= 0x20 && key[i] <= 0x7e;
	if (!ok) {
		http_problem_fields(
		    r, 400, "invalid_idempotency_key",
		    json_pack("[{s:s,s:s}]", "field", "Idempotency-Key", "message",
			      "must be 1 to 255 printable ASCII characters"),
		    "Idempotency-Key must be 1 to 255 printable ASCII characters, such as a UUID.");
		return false;
	}
	struct crypto_sha256_ctx h;
	unsigned char digest[32];
	char hex[65];
	crypto_sha256_init(&h);
	crypto_sha256_update(&h, http_method(r), strlen(http_method(r)));
	crypto_sha256_update(&h, "\n", 1);
	crypto_sha256_update(&h, http_path(r), strlen(http_path(r)));
	crypto_sha256_update(&h, "\n", 1);
	if (extra)
		crypto_sha256_update(&h, extra, extralen);
	crypto_sha256_final(&h, digest);
	crypto_hex(digest, 32, hex);

	struct idem_reply rep;
	enum idem_claim state;
	enum store_rc rc = idem_claim(c, p->org_id, p->user_id, key, hex, IDEM_PENDING_MS,
				      IDEM_TTL_MS, &state, &rep);
	if (rc != STORE_OK) {
		api_db_fail(r, rc, "idempotency key");
		return false;
	}
	if (state == IDEM_NEW) {
		st->on = true;
		snprintf(st->org_id, sizeof st->org_id, "%s", p->org_id);
		snprintf(st->user_id, sizeof st->user_id, "%s", p->user_id);
		snprintf(st->key, sizeof st->key, "%s", key);
		return true;
	}
	if (state == IDEM_MISMATCH) {
		http_problem(
		    r, 422, "idempotency_key_reused",
		    "This Idempotency-Key was already used with a different request. Use a new key "
		    "for a new request.");
	} else if (state == IDEM_IN_FLIGHT) {
		http_add_header(r, "Retry-After", "1");
		http_problem(r, 409, "idempotency_key_in_flight",
			     "A request with this Idempotency-Key is still being processed. Retry "
			     "shortly to "
			     "get its result.");
	} else {
		json_t *hdrs = json_loads(rep.headers, 0, NULL);
		const char *name;
		json_t *v;
		json_object_foreach(hdrs, name, v)
		{
			if (json_is_string(v))
				http_add_header(r, name, json_string_value(v));
		}
		json_decref(hdrs);
		http_add_header(r, "Idempotent-Replayed", "true");
		json_t *body = rep.body[0] ? json_loads(rep.body, 0, NULL) : NULL;
		if (body)
			http_reply_json(r, rep.status, body);
		else
			http_reply_empty(r, rep.status);
		idem_reply_clear(&rep);
	}
	return false;
}

void api_idem_store(struct db_conn *c, struct api_idem *st, int status, const json_t *body,
		    const json_t *headers)
{
	if (!st->on)
		return;
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
	char *h = headers ? json_dumps(headers, JSON_COMPACT) : NULL;
	enum store_rc rc =
	    b ? idem_finish(c, st->org_id, st->user_id, st->key, status, "application/json", h, b)
	      : STORE_ERROR;
	if (rc)
		idem_abandon(c, st->org_id, st->user_id, st->key);
	free(b);
	free(h);
	st->on = false;
}

void api_idem_abandon(struct db_conn *c, struct api_idem *st)
{
	if (!st->on)
		return;
	if (c)
		idem_abandon(c, st->org_id, st->user_id, st->key);
	st->on = false;
}
