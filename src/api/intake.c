/*
 * intake.c — how audio enters IAM, whichever door it comes through (a
 * plain upload, the last tus PATCH, the OpenAI-compatible endpoint): spool,
 * probe, store, attach, queue. Also the tickets that let a browser open the
 * event stream and the audio without an Authorization header.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "blob/blob.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "jobs/jobs.h"
#include "media/media.h"
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
	s->fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s->fd < 0) {
		log_error("cannot create spool file", json_pack("{s:s,s:s}", "path", s->path, "error", strerror(errno)));
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

int api_transcribe_start(struct app *app, struct db_conn *c, struct meeting *m,
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
		return DB_ERR;
	char job_id[UUID_STR_LEN];
	int rc = db_begin(c);
	if (rc == DB_OK)
		rc = job_enqueue(c, m->org_id, "transcribe", text, m->id, TRANSCRIBE_ATTEMPTS,
				 time_now_ms(), job_id);
	if (rc == DB_OK)
		rc = meeting_set_status(c, m->org_id, m->id, "queued", NULL);
	free(text);
	if (rc) {
		db_rollback(c);
		return rc;
	}
	rc = db_commit(c);
	if (rc == DB_OK) {
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
		log_error("blob put failed", json_pack("{s:s,s:s}", "key", key, "error", strerror(errno)));
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
		*code = rc == STORE_NOT_FOUND ? "not_found" : "database_unavailable";
		snprintf(detail, detaillen, rc == STORE_NOT_FOUND ? "The meeting was deleted meanwhile."
								  : "The database is busy. Try again.");
		return rc == STORE_NOT_FOUND ? 404 : 503;
	}
	if (old[0] && strcmp(old, key) != 0)
		blob_delete(app->blob, old);
	if (transcribe) {
		rc = api_transcribe_start(app, c, m, NULL, NULL);
		if (rc && rc != DB_UNIQUE)
			log_error("could not queue transcription", json_pack("{s:s,s:i}", "meeting_id", m->id, "rc", rc));
	}
	char id[UUID_STR_LEN], org[UUID_STR_LEN];
	snprintf(id, sizeof id, "%s", m->id);
	snprintf(org, sizeof org, "%s", m->org_id);
	meeting_clear(m);
	return meeting_get(c, org, id, m) == DB_OK ? 0 : 500;
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
	/* A ticket from a session that ended (logout) ends with it; one from a key, with the key. */
	if (by_session && session_check_member(c, sid, user, org) != DB_OK)
		return false;
	if (by_key && api_key_live(c, org, key) != DB_OK)
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
		http_problem(r, 401, "invalid_ticket",
			     "The ticket is not valid for this meeting or has expired. Ask for a new one.");
		return false;
	}
	return api_auth(r, c, p);
}

void api_janitor(struct app *app)
{
	struct db_conn *c = db_acquire(app->db, 1000);
	if (!c)
		return;
	char ids[64][UUID_STR_LEN];
	int n = upload_expire(c, time_now_ms(), ids, 64);
	db_release(c);
	for (int i = 0; i < n; i++) {
		char path[1100];
		snprintf(path, sizeof path, "%.1000s/tus-%.36s", blob_spool_dir(app->blob), ids[i]);
		unlink(path);
	}
	if (n > 0)
		log_info("expired uploads removed", json_pack("{s:i}", "count", n));
}
