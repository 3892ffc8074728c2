/*
 * intake.c — how audio enters IAM, whichever door it comes through (a
 * plain upload, the last tus PATCH, the OpenAI-compatible endpoint): spool,
 * probe, store, attach, queue. Also the tickets that let a browser open the
 * event stream and the audio without an Authorization header.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
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
#include "media/media.h"
#include "store/idempotency.h"
#include "store/jobs.h"
#include "store/meetings.h"
#include "store/api_keys.h"
#include "store/sessions.h"
#include "store/uploads.h"

#define TRANSCRIBE_ATTEMPTS 4

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

struct queue_tx {
	const struct meeting *m;
	const char *payload;
};

/* The job and the status change together (store_tx may run this again). */
static int queue_tx(struct db_conn *c, void *arg)
{
	const struct queue_tx *q = arg;
	char job_id[UUID_STR_LEN];
	enum store_rc rc = job_enqueue(c, q->m->org_id, "transcribe", q->payload, q->m->id,
				       TRANSCRIBE_ATTEMPTS, time_now_ms(), job_id);
	if (rc == STORE_OK)
		rc = meeting_set_status(c, q->m->org_id, q->m->id, "queued", NULL);
	return rc;
}

enum store_rc api_transcribe_start(struct app *app, struct db_conn *c, struct meeting *m,
				   const char *language, const char *provider)
{
	json_t *payload = json_pack("{s:s}", "meeting_id", m->id);
	if (language)
		json_object_set_new(payload, "language", json_string(language));
	if (provider)
		json_object_set_new(payload, "provider", json_string(provider));
	char *text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	if (!text)
		return STORE_ERROR;
	struct queue_tx q = {.m = m, .payload = text};
	enum store_rc rc = store_tx(c, queue_tx, &q);
	free(text);
	if (rc == STORE_OK) {
		snprintf(m->status, sizeof m->status, "queued");
		m->processing_error[0] = '\0';
	}
	return rc;
}

int api_ingest(struct app *app, struct db_conn *c, struct meeting *m, const char *path,
	       const char *filename, int64_t size, const char *sha256, bool transcribe,
	       const char **code, char *detail, size_t detaillen)
{
	struct media_info info;
	int status = 0;
	char key[BLOB_KEY_MAX], old[96];
	key[0] = '\0';
	int rc = media_probe(path, &info, detail, detaillen);
	if (rc == MEDIA_NOT_AUDIO) {
		*code = "unsupported_media_type";
		status = 415;
		goto fail;
	}
	if (rc == MEDIA_UNREADABLE) {
		*code = "unreadable_audio";
		status = 422;
		goto fail;
	}
	if (rc == MEDIA_TOO_LONG) { /* detail states the limit */
		*code = "audio_too_long";
		status = 422;
		goto fail;
	}
	if (rc != MEDIA_OK) {
		*code = "internal_error";
		snprintf(detail, detaillen, "The file could not be examined. Try again.");
		status = 500;
		goto fail;
	}
	blob_key_new("audio", key);
	if (blob_put_file(app->blob, key, path) < 0) {
		log_error("blob put failed",
			  json_pack("{s:s,s:s}", "key", key, "error", strerror(errno)));
		*code = "storage_failed";
		snprintf(detail, detaillen, "The audio could not be stored. Try again.");
		status = 503;
		goto fail;
	}
	snprintf(m->audio_key, sizeof m->audio_key, "%s", key);
	snprintf(m->audio_format, sizeof m->audio_format, "%s", info.format);
	snprintf(m->audio_codec, sizeof m->audio_codec, "%s", info.codec);
	snprintf(m->audio_mime, sizeof m->audio_mime, "%s", info.mime);
	snprintf(m->audio_sha256, sizeof m->audio_sha256, "%s", sha256 ? sha256 : "");
	snprintf(m->original_filename, sizeof m->original_filename, "%s", filename ? filename : "");
	m->file_size = size;
	m->duration = info.duration > 0 ? info.duration : -1;
	rc = meeting_set_audio(c, m, old);
	if (rc) {
		blob_delete(app->blob, key); /* no orphan: the row never pointed at it */
		if (rc == STORE_MEETING_BUSY) {
			*code = "meeting_busy";
			snprintf(detail, detaillen,
				 "This meeting started being transcribed while the file arrived; "
				 "its audio was "
				 "not replaced. Wait until the transcription finishes, then upload "
				 "again.");
			return 409;
		}
		*code = rc == STORE_NOT_FOUND ? "not_found" : "database_unavailable";
		snprintf(detail, detaillen,
			 rc == STORE_NOT_FOUND ? "The meeting was deleted meanwhile."
					       : "The database is busy. Try again.");
		return rc == STORE_NOT_FOUND ? 404 : 503;
	}
	/* old is exactly the key this upload replaced (the row was locked): no other upload deletes
	 * it. */
	if (old[0] && strcmp(old, key) != 0)
		blob_delete(app->blob, old);
	if (transcribe) {
		rc = api_transcribe_start(app, c, m, NULL, NULL);
		if (rc == STORE_CONFLICT) {
			/* A live job for this meeting exists and has not started: it reads the new
			 * audio. */
			rc = meeting_set_status(c, m->org_id, m->id, "queued", NULL);
		}
		if (rc)
			log_error("could not queue transcription",
				  json_pack("{s:s,s:i}", "meeting_id", m->id, "rc", rc));
	}
	char id[UUID_STR_LEN], org[UUID_STR_LEN];
	snprintf(id, sizeof id, "%s", m->id);
	snprintf(org, sizeof org, "%s", m->org_id);
	meeting_clear(m);
	return meeting_get(c, org, id, m) == STORE_OK ? 0 : 500;
fail:
	unlink(path);
	return status;
}

void api_jobs_wake(struct app *app)
{
	if (app->jobs)
		jobs_notify(app->jobs);
}

void api_ingest_problem(struct http_req *r, int status, const char *code, const char *detail)
{
	if (status >= 500 && strcmp(code, "internal_error") == 0)
		http_problem_internal(r, "ingest");
	else
		http_problem(r, status, code, "%s", detail);
}

/* ---- tickets ---- */

static void ticket_mac(struct app *app, const char *payload, size_t len, unsigned char mac[32])
{
	crypto_hmac_sha256(app->ticket_key, sizeof app->ticket_key, payload, len, mac);
}

/*
 * A ticket is "t2|meeting|org|user|session|api key|expiry" (session or key
 * "-" when absent), base64url, then "." and its HMAC. It is checked again
 * on every use: it dies with its session (logout) or its API key (deleted,
 * expired), and after TICKET_TTL_S at the latest.
 */
char *api_ticket_issue(struct app *app, const struct principal *p, const char *meeting_id,
		       int64_t *expires_ms)
{
	int64_t exp = time_now_ms() / 1000 + TICKET_TTL_S;
	char payload[256], b64[400], sig[64];
	unsigned char mac[32];
	const char *sid = !p->via_api_key && p->session_id[0] ? p->session_id : "-";
	const char *key = p->via_api_key && p->api_key_id[0] ? p->api_key_id : "-";
	int n = snprintf(payload, sizeof payload, "t2|%s|%s|%s|%s|%s|%lld", meeting_id, p->org_id,
			 p->user_id, sid, key, (long long)exp);
	if (n < 0 || (size_t)n >= sizeof payload)
		return NULL;
	ticket_mac(app, payload, (size_t)n, mac);
	if (crypto_b64url_encode(payload, (size_t)n, b64, sizeof b64) < 0 ||
	    crypto_b64url_encode(mac, sizeof mac, sig, sizeof sig) < 0)
		return NULL;
	*expires_ms = exp * 1000;
	size_t len = strlen(b64) + strlen(sig) + 2;
	char *t = malloc(len);
	if (t)
		snprintf(t, len, "%s.%s", b64, sig);
	return t;
}

/* Check a ticket for meeting_id; fill p. */
static bool ticket_verify(struct app *app, struct db_conn *c, const char *ticket,
			  const char *meeting_id, struct principal *p)
{
	const char *dot = strchr(ticket, '.');
	if (!dot || strlen(ticket) > 600)
		return false;
	char payload[300];
	unsigned char mac[32], want[32];
	long n = crypto_b64url_decode(ticket, (size_t)(dot - ticket), payload, sizeof payload - 1);
	if (n <= 0 || crypto_b64url_decode(dot + 1, strlen(dot + 1), mac, sizeof mac) != 32)
		return false;
	payload[n] = '\0';
	ticket_mac(app, payload, (size_t)n, want);
	if (!crypto_equal(mac, want, 32))
		return false;
	char m[UUID_STR_LEN], org[UUID_STR_LEN], user[UUID_STR_LEN], sid[UUID_STR_LEN],
	    key[UUID_STR_LEN];
	long long exp;
	int end = 0;
	if (sscanf(payload, "t2|%36[^|]|%36[^|]|%36[^|]|%36[^|]|%36[^|]|%lld%n", m, org, user, sid,
		   key, &exp, &end) != 6 ||
	    end != n)
		return false;
	long long now = time_now_ms() / 1000;
	if (strcmp(m, meeting_id) != 0 || exp < now || exp > now + TICKET_TTL_S)
		return false;
	bool by_session = strcmp(sid, "-") != 0, by_key = strcmp(key, "-") != 0;
	if (by_session == by_key)
		return false;
	/* A ticket from a session that ended (logout) ends with it; one from a key, with the key.
	 */
	if (by_session && session_check_member(c, sid, user, org) != STORE_OK)
		return false;
	if (by_key && api_key_live(c, org, key) != STORE_OK)
		return false;
	memset(p, 0, sizeof *p);
	snprintf(p->org_id, sizeof p->org_id, "%s", org);
	snprintf(p->user_id, sizeof p->user_id, "%s", user);
	if (by_session)
		snprintf(p->session_id, sizeof p->session_id, "%s", sid);
	if (by_key)
		snprintf(p->api_key_id, sizeof p->api_key_id, "%s", key);
	p->via_api_key = by_key;
	p->scopes = API_SCOPE_READ; /* a ticket only opens things for reading */
	return true;
}

bool api_auth_or_ticket(struct http_req *r, struct db_conn *c, const char *meeting_id,
			struct principal *p)
{
	const char *ticket = http_query(r, "ticket");
	if (ticket && !http_header(r, "Authorization")) {
		if (ticket_verify(api_app(r), c, ticket, meeting_id, p))
			return true;
		http_problem(
		    r, 401, "invalid_ticket",
		    "The ticket is not valid for this meeting or has expired. Ask for a new one.");
		return false;
	}
	return api_auth(r, c, p);
}

/*
 * Spool files nobody will finish: a direct upload cut by a crash (kill -9)
 * leaves "up-..." behind, a finished or terminated tus upload whose process
 * died before removing it "tus-...". A file goes when it has not been
 * written for IAM_SPOOL_ORPHAN_AGE_S and no active upload names it.
 */
static void spool_sweep(struct app *app, struct db_conn *c)
{
	const char *dir = blob_spool_dir(app->blob);
	DIR *d = opendir(dir);
	if (!d)
		return;
	int dfd = dirfd(d), removed = 0;
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		struct stat st;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
			continue;
		if ((long)(now - st.st_mtime) < app->cfg->spool_orphan_age_s)
			continue;
		if (strncmp(e->d_name, "tus-", 4) == 0 && uuid_valid(e->d_name + 4)) {
			bool active;
			if (upload_is_active(c, e->d_name + 4, &active) != STORE_OK || active)
				continue; /* still resumable (or the database could not tell) */
		}
		if (unlinkat(dfd, e->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	if (removed > 0)
		log_info("orphan spool files removed", json_pack("{s:i}", "count", removed));
}

/* The file's SHA-256 (hex), read back from disk. false if it could not be read. */
static bool file_sha256(const char *path, char hex[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	struct sha256_ctx h;
	sha256_init(&h);
	enum { CHUNK = 1024 * 1024 };
	char *buf = malloc(CHUNK);
	ssize_t n = -1;
	if (buf) {
		while ((n = read(fd, buf, CHUNK)) > 0 || (n < 0 && errno == EINTR))
			if (n > 0)
				sha256_update(&h, (size_t)n, (const uint8_t *)buf);
	}
	free(buf);
	close(fd);
	if (n < 0)
		return false;
	unsigned char d[SHA256_DIGEST_SIZE];
	sha256_digest(&h, sizeof d, d);
	crypto_hex(d, sizeof d, hex);
	return true;
}

/*
 * Audio stored without its SHA-256 (tus uploads): compute a few per round,
 * going round the table so that one unreadable file does not hold up the
 * others. Only the janitor thread calls this.
 */
static void hash_pending(struct app *app, struct db_conn *c)
{
	static char after[UUID_STR_LEN];
	struct meeting_audio_ref refs[4];
	int n = 0;
	if (meeting_audio_unhashed(c, after, refs, 4, &n) != STORE_OK)
		n = 0;
	after[0] = '\0';
	if (n == 4)
		snprintf(after, sizeof after, "%s", refs[3].id);
	for (int i = 0; i < n; i++) {
		char path[1024], hex[65];
		if (blob_local_path(app->blob, refs[i].audio_key, path, sizeof path) != 0 ||
		    !file_sha256(path, hex))
			continue; /* removed meanwhile, or unreadable now: the next round tries
				     again */
		meeting_set_audio_sha256(c, refs[i].org_id, refs[i].id, refs[i].audio_key, hex);
	}
}

void api_janitor(struct app *app)
{
	struct db_conn *c = db_acquire(app->db, 1000);
	if (!c)
		return;
	char ids[64][UUID_STR_LEN];
	int n = 0;
	if (upload_expire(c, time_now_ms(), ids, 64, &n) != STORE_OK)
		n = 0;
	for (int i = 0; i < n; i++) {
		char path[1100];
		snprintf(path, sizeof path, "%.1000s/tus-%.36s", blob_spool_dir(app->blob), ids[i]);
		unlink(path);
	}
	if (n > 0)
		log_info("expired uploads removed", json_pack("{s:i}", "count", n));
	spool_sweep(app, c);
	int64_t purged;
	idem_purge(c, time_now_ms(), &purged);
	hash_pending(app, c);
	db_release(c);
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
