/*
 * uploads.c — audio in: POST /api/v1/meetings/{id}/upload (the raw body or
 * one multipart file part, streamed to disk as it arrives) and tus 1.0
 * resumable uploads at /api/v1/uploads (core, creation,
 * creation-with-upload, termination, checksum (sha256), expiration).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "blob/blob.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/meetings.h"
#include "store/uploads.h"

#define TUS_VERSION "1.0.0"
#define UPLOAD_TTL_MS (24LL * 3600 * 1000)
#define PATCH_LOCK_MS (10LL * 60 * 1000)

static int64_t max_bytes(struct app *app) { return (int64_t)app->cfg->max_upload_mb * 1024 * 1024; }

static void too_large(struct http_req *r, int64_t size, int64_t max)
{
	http_problem(r, 413, "payload_too_large",
		     "The file is %lld bytes; the largest upload accepted is %lld MB.", (long long)size,
		     (long long)(max / (1024 * 1024)));
}

static bool busy_status(const char *s) { return !strcmp(s, "queued") || !strcmp(s, "processing"); }

/* ================= POST /api/v1/meetings/{id}/upload ================= */

struct direct {
	struct app *app;
	struct principal p;
	char meeting_id[UUID_STR_LEN];
	struct spool sp;
	struct http_multipart *mp; /* multipart only */
	bool multipart, got_file;
	char part[64];
	char filename[1024];
	int64_t max;
	int error; /* HTTP status to answer with, 0 = none */
	const char *code;
	char detail[256];
};

static void direct_free(void *p)
{
	struct direct *d = p;
	http_multipart_free(d->mp);
	spool_discard(&d->sp);
	free(d);
}

static void direct_fail(struct direct *d, int status, const char *code, const char *detail)
{
	if (!d->error) {
		d->error = status;
		d->code = code;
		snprintf(d->detail, sizeof d->detail, "%s", detail);
	}
}

static int direct_write(struct direct *d, const char *data, size_t len)
{
	if (d->sp.size + (int64_t)len > d->max) {
		char msg[160];
		snprintf(msg, sizeof msg, "The file is larger than %lld MB, the largest upload accepted.",
			 (long long)(d->max / (1024 * 1024)));
		direct_fail(d, 413, "payload_too_large", msg);
		return -1;
	}
	if (spool_write(&d->sp, data, len) < 0) {
		direct_fail(d, 503, "storage_failed", "The upload could not be written to disk. Try again.");
		return -1;
	}
	return 0;
}

static int multipart_part(void *cls, const char *key, const char *filename, const char *data,
			  size_t size, uint64_t off)
{
	struct direct *d = cls;
	if (!filename && strcmp(key, "file") != 0)
		return 0; /* other form fields are ignored */
	if (d->got_file && off == 0 && strcmp(d->part, key) != 0) {
		direct_fail(d, 400, "too_many_files", "Send one file per upload.");
		return -1;
	}
	if (!d->got_file) {
		d->got_file = true;
		snprintf(d->part, sizeof d->part, "%s", key);
		if (filename)
			snprintf(d->filename, sizeof d->filename, "%s", filename);
	}
	return size ? direct_write(d, data, size) : 0;
}

static void direct_begin(struct http_req *r)
{
	struct app *app = api_app(r);
	struct db_conn *c = api_db(r);
	if (!c)
		return;
	struct direct *d = calloc(1, sizeof *d);
	struct meeting m;
	meeting_init(&m);
	if (!d) {
		http_problem_internal(r, "upload");
		goto out;
	}
	d->sp.fd = -1;
	http_set_ctx(r, d, direct_free);
	d->app = app;
	d->max = max_bytes(app);
	if (!api_auth(r, c, &d->p))
		goto out;
	int rc = meeting_get(c, d->p.org_id, http_param(r, "id"), &m);
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 404, "not_found", "There is no meeting %s in your organization.", http_param(r, "id"));
		goto out;
	}
	if (rc) {
		api_db_fail(r, rc, "load meeting");
		goto out;
	}
	if (busy_status(m.status)) {
		http_problem(r, 409, "meeting_busy",
			     "This meeting is being transcribed; wait until it finishes before replacing its audio.");
		goto out;
	}
	snprintf(d->meeting_id, sizeof d->meeting_id, "%s", m.id);
	int64_t len = http_content_length(r);
	if (len > d->max) {
		too_large(r, len, d->max);
		goto out;
	}
	const char *ct = http_header(r, "Content-Type");
	if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0) {
		d->multipart = true;
		d->mp = http_multipart_new(r, multipart_part, d);
	}
	const char *fn = http_query(r, "filename");
	if (fn)
		snprintf(d->filename, sizeof d->filename, "%s", fn);
	if (spool_open(app, &d->sp, "up") < 0)
		http_problem(r, 503, "storage_failed", "The upload could not be stored. Try again.");
out:
	meeting_clear(&m);
	db_release(c);
}

static int direct_chunk(struct http_req *r, const char *data, size_t len)
{
	struct direct *d = http_ctx(r);
	if (d->multipart) {
		if (!d->mp) {
			direct_fail(d, 400, "malformed_multipart",
				    "The multipart body has no boundary. Send multipart/form-data with a file part.");
			return -1;
		}
		if (http_multipart_feed(d->mp, data, len) < 0) {
			direct_fail(d, 400, "malformed_multipart", "The multipart body could not be read.");
			return -1;
		}
		return d->error ? -1 : 0;
	}
	return direct_write(d, data, len);
}

static void direct_done(struct http_req *r)
{
	struct direct *d = http_ctx(r);
	if (d->error) {
		http_problem(r, d->error, d->code, "%s", d->detail);
		return;
	}
	if (d->multipart && !d->got_file) {
		http_problem_fields(r, 400, "missing_file",
				    json_pack("[{s:s,s:s}]", "field", "file", "message", "is required"),
				    "The form has no file part. Send the audio as a part named 'file'.");
		return;
	}
	if (d->sp.size == 0) {
		http_problem(r, 422, "unreadable_audio", "The file is empty.");
		return;
	}
	if (fsync(d->sp.fd) < 0 || close(d->sp.fd) < 0) {
		d->sp.fd = -1;
		http_problem(r, 503, "storage_failed", "The upload could not be written to disk. Try again.");
		return;
	}
	d->sp.fd = -1;
	unsigned char digest[32];
	char hex[65];
	crypto_sha256_final((struct crypto_sha256_ctx *)(void *)d->sp.sha, digest);
	crypto_hex(digest, 32, hex);
	const char *t = http_query(r, "transcribe");
	bool transcribe = !(t && (!strcmp(t, "false") || !strcmp(t, "0")));

	struct db_conn *c = api_db(r);
	if (!c)
		return;
	struct meeting m;
	int rc = meeting_get(c, d->p.org_id, d->meeting_id, &m);
	if (rc) {
		if (rc == STORE_NOT_FOUND)
			http_problem(r, 404, "not_found", "The meeting was deleted during the upload.");
		else
			api_db_fail(r, rc, "load meeting");
		goto out;
	}
	const char *code = NULL;
	char detail[512];
	int status = api_ingest(d->app, c, &m, d->sp.path, d->filename, d->sp.size, hex, transcribe,
				&code, detail, sizeof detail);
	d->sp.path[0] = '\0'; /* consumed */
	if (status)
		api_ingest_problem(r, status, code, detail);
	else
		http_reply_json(r, 200, api_meeting_json(&m));
	api_jobs_wake(d->app);
	meeting_clear(&m);
out:
	db_release(c);
}

/* ================= tus 1.0 ================= */

static void tus_headers(struct http_req *r) { http_add_header(r, "Tus-Resumable", TUS_VERSION); }

/* tus requests must say which protocol version they speak. */
static bool tus_version_ok(struct http_req *r)
{
	const char *v = http_header(r, "Tus-Resumable");
	if (v && strcmp(v, TUS_VERSION) == 0)
		return true;
	http_add_header(r, "Tus-Version", TUS_VERSION);
	http_problem(r, 412, "tus_version_unsupported",
		     "Send the header Tus-Resumable: %s; this server speaks tus %s.", TUS_VERSION, TUS_VERSION);
	return false;
}

static void http_date(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outlen, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void spool_path(struct app *app, const char *id, char *out, size_t outlen)
{
	snprintf(out, outlen, "%.1000s/tus-%.36s", blob_spool_dir(app->blob), id);
}

static int64_t parse_offset(const char *s)
{
	if (!s || !*s)
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	return errno || *end || v < 0 || s[0] == '+' || s[0] == '-' ? -1 : (int64_t)v;
}

/* Upload-Metadata: "key b64,key b64,key". Returns value of key (decoded) or false. */
static bool meta_get(const char *meta, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	for (const char *p = meta; p && *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, ",");
		size_t kl = strcspn(p, " ,");
		if (kl == klen && strncmp(p, key, klen) == 0) {
			const char *v = p + kl;
			while (*v == ' ')
				v++;
			size_t vl = (size_t)(p + len - v);
			/* Values are standard base64 (with padding); convert to our url-safe decoder. */
			char tmp[UPLOAD_METADATA_MAX + 1];
			size_t n = 0;
			for (size_t i = 0; i < vl && n < sizeof tmp - 1; i++) {
				char ch = v[i];
				if (ch == '=')
					break;
				tmp[n++] = ch == '+' ? '-' : ch == '/' ? '_' : ch;
			}
			tmp[n] = '\0';
			long dn = crypto_b64url_decode(tmp, n, out, outlen - 1);
			if (dn < 0)
				return false;
			out[dn] = '\0';
			return memchr(out, '\0', (size_t)dn) == NULL;
		}
		p += len;
	}
	return false;
}

static void tus_options(struct http_req *r)
{
	char max[32];
	snprintf(max, sizeof max, "%" PRId64, max_bytes(api_app(r)));
	tus_headers(r);
	http_add_header(r, "Tus-Version", TUS_VERSION);
	http_add_header(r, "Tus-Extension", "creation,creation-with-upload,termination,checksum,expiration");
	http_add_header(r, "Tus-Max-Size", max);
	http_add_header(r, "Tus-Checksum-Algorithm", "sha256");
	http_reply_options(r);
}

/* State of one POST (creation[-with-upload]) or PATCH. */
struct tus {
	struct app *app;
	struct principal p;
	struct upload u;
	char owner[64];
	int fd;
	int64_t start;    /* offset before this request */
	int64_t written;  /* bytes written by this request */
	bool locked;
	bool finished;    /* the handler recorded the outcome */
	bool checksum;    /* Upload-Checksum given */
	unsigned char want[32];
	struct crypto_sha256_ctx sha;
	int error;
	const char *code;
	char detail[256];
};

/*
 * Runs when the request ends, whatever happened. An interrupted PATCH
 * (client gone mid-body) keeps what arrived, so the client can resume from
 * the server's offset — unless a checksum was promised, which can then not
 * be verified.
 */
static void tus_free(void *p)
{
	struct tus *t = p;
	if (t->fd >= 0) {
		if (!t->finished && t->written > 0 && !t->checksum)
			fsync(t->fd);
		close(t->fd);
	}
	if (t->locked && !t->finished) {
		struct db_conn *c = db_acquire(t->app->db, 5000);
		if (c) {
			if (t->written > 0 && !t->checksum)
				upload_advance(c, t->u.id, t->owner, t->start + t->written,
					       time_now_ms() + UPLOAD_TTL_MS);
			else
				upload_unlock(c, t->u.id, t->owner);
			db_release(c);
		}
	}
	free(t);
}

static struct tus *tus_new(struct http_req *r)
{
	struct tus *t = calloc(1, sizeof *t);
	if (!t) {
		http_problem_internal(r, "tus");
		return NULL;
	}
	t->fd = -1;
	t->app = api_app(r);
	snprintf(t->owner, sizeof t->owner, "%s", http_request_id(r));
	http_set_ctx(r, t, tus_free);
	return t;
}

static void tus_fail(struct tus *t, int status, const char *code, const char *detail)
{
	if (!t->error) {
		t->error = status;
		t->code = code;
		snprintf(t->detail, sizeof t->detail, "%s", detail);
	}
}

static int tus_chunk(struct http_req *r, const char *data, size_t len)
{
	struct tus *t = http_ctx(r);
	if (t->error || t->fd < 0)
		return -1;
	if (t->start + t->written + (int64_t)len > t->u.length) {
		tus_fail(t, 413, "exceeds_upload_length", "The data goes past the Upload-Length declared at creation.");
		return -1;
	}
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(t->fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			tus_fail(t, 503, "storage_failed", "The data could not be written to disk. Try again.");
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	t->written += (int64_t)len;
	if (t->checksum)
		crypto_sha256_update(&t->sha, data, len);
	return 0;
}

/* Open the spool file for appending at t->start. */
static int tus_open(struct tus *t, bool create)
{
	char path[1100];
	spool_path(t->app, t->u.id, path, sizeof path);
	t->fd = open(path, O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0600);
	if (t->fd < 0)
		return -1;
	/* Bytes past the recorded offset are from an attempt that did not count. */
	if (ftruncate(t->fd, t->start) < 0 || lseek(t->fd, t->start, SEEK_SET) < 0) {
		close(t->fd);
		t->fd = -1;
		return -1;
	}
	return 0;
}

static bool body_is_tus(struct http_req *r)
{
	const char *ct = http_header(r, "Content-Type");
	return ct && strncasecmp(ct, "application/offset+octet-stream", 31) == 0;
}

/*
 * The upload is complete: make it the meeting's audio. Replies with a
 * problem (and returns false) when the file is refused.
 */
static bool tus_finalize(struct http_req *r, struct db_conn *c, struct tus *t)
{
	char path[1100];
	spool_path(t->app, t->u.id, path, sizeof path);
	struct meeting m;
	int rc = meeting_get(c, t->u.org_id, t->u.meeting_id, &m);
	if (rc) {
		unlink(path);
		upload_terminate(c, t->u.org_id, t->u.id);
		http_problem(r, 404, "not_found", "The meeting of this upload was deleted.");
		return false;
	}
	/* Hash the whole file: the per-request hashes cover only their own chunk. */
	char hex[65] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct crypto_sha256_ctx h;
		crypto_sha256_init(&h);
		char buf[65536];
		ssize_t n;
		while ((n = read(fd, buf, sizeof buf)) > 0)
			crypto_sha256_update(&h, buf, (size_t)n);
		close(fd);
		unsigned char d[32];
		crypto_sha256_final(&h, d);
		crypto_hex(d, 32, hex);
	}
	const char *code = NULL;
	char detail[512];
	int status = api_ingest(t->app, c, &m, path, t->u.filename, t->u.length, hex, true, &code,
				detail, sizeof detail);
	meeting_clear(&m);
	if (status) {
		upload_terminate(c, t->u.org_id, t->u.id);
		api_ingest_problem(r, status, code, detail);
		return false;
	}
	upload_complete(c, t->u.id);
	api_jobs_wake(t->app);
	return true;
}

static void tus_post_begin(struct http_req *r)
{
	tus_headers(r);
	if (!tus_version_ok(r))
		return;
	struct tus *t = tus_new(r);
	if (!t)
		return;
	struct app *app = t->app;
	if (http_header(r, "Upload-Defer-Length")) {
		http_problem(r, 400, "defer_length_unsupported",
			     "Send Upload-Length with the size of the file; deferred lengths are not supported.");
		return;
	}
	int64_t length = parse_offset(http_header(r, "Upload-Length"));
	if (length < 0) {
		http_problem(r, 400, "upload_length_required",
			     "Send Upload-Length: the size of the file in bytes.");
		return;
	}
	if (length > max_bytes(app)) {
		too_large(r, length, max_bytes(app));
		return;
	}
	if (length == 0) {
		http_problem(r, 422, "unreadable_audio", "The file is empty.");
		return;
	}
	const char *meta = http_header(r, "Upload-Metadata");
	if (meta && strlen(meta) > UPLOAD_METADATA_MAX) {
		http_problem(r, 400, "metadata_too_long", "Upload-Metadata is longer than %d bytes.", UPLOAD_METADATA_MAX);
		return;
	}
	char filename[1024] = "", title[1024] = "", meeting_id[128] = "", language[32] = "";
	if (meta) {
		meta_get(meta, "filename", filename, sizeof filename);
		meta_get(meta, "title", title, sizeof title);
		meta_get(meta, "meeting_id", meeting_id, sizeof meeting_id);
		meta_get(meta, "language", language, sizeof language);
	}
	if (utf8_len(filename) == (size_t)-1 || utf8_len(title) == (size_t)-1) {
		http_problem(r, 400, "invalid_metadata", "Upload-Metadata values must be UTF-8 text.");
		return;
	}
	if (meeting_id[0] && !uuid_valid(meeting_id)) {
		http_problem_fields(r, 400, "invalid_metadata",
				    json_pack("[{s:s,s:s}]", "field", "meeting_id", "message", "must be a UUID"),
				    "The meeting_id in Upload-Metadata must be a meeting's id.");
		return;
	}
	if (body_is_tus(r) == false && http_content_length(r) > 0) {
		http_problem(r, 415, "unsupported_media_type",
			     "Data sent with the creation request must have Content-Type: application/offset+octet-stream.");
		return;
	}
	int64_t first = http_content_length(r);
	if (first > length) {
		http_problem(r, 413, "exceeds_upload_length", "The body is longer than Upload-Length.");
		return;
	}
	struct db_conn *c = api_db(r);
	if (!c)
		return;
	struct meeting m;
	meeting_init(&m);
	if (!api_auth(r, c, &t->p))
		goto out;
	int rc;
	if (meeting_id[0]) {
		rc = meeting_get(c, t->p.org_id, meeting_id, &m);
		if (rc == STORE_NOT_FOUND) {
			http_problem(r, 404, "not_found", "There is no meeting %s in your organization.", meeting_id);
			goto out;
		}
		if (rc) {
			api_db_fail(r, rc, "load meeting");
			goto out;
		}
		if (busy_status(m.status)) {
			http_problem(r, 409, "meeting_busy", "This meeting is being transcribed; wait until it finishes.");
			goto out;
		}
	} else {
		const char *name = title[0] ? title : filename[0] ? filename : "Untitled recording";
		snprintf(m.title, sizeof m.title, "%.*s", 200 * 4, name);
		/* Keep titles within the API's own limit, cut on a character boundary. */
		while (utf8_len(m.title) == (size_t)-1 || utf8_len(m.title) > MEETING_TITLE_MAX)
			m.title[strlen(m.title) - 1] = '\0';
		snprintf(m.org_id, sizeof m.org_id, "%s", t->p.org_id);
		snprintf(m.created_by, sizeof m.created_by, "%s", t->p.user_id);
		if (language[0])
			snprintf(m.language, sizeof m.language, "%.15s", language);
		rc = meeting_create(c, &m);
		if (rc) {
			api_db_fail(r, rc, "create meeting");
			goto out;
		}
	}
	memset(&t->u, 0, sizeof t->u);
	snprintf(t->u.org_id, sizeof t->u.org_id, "%s", t->p.org_id);
	snprintf(t->u.user_id, sizeof t->u.user_id, "%s", t->p.user_id);
	snprintf(t->u.meeting_id, sizeof t->u.meeting_id, "%s", m.id);
	snprintf(t->u.filename, sizeof t->u.filename, "%s", filename);
	snprintf(t->u.metadata, sizeof t->u.metadata, "%s", meta ? meta : "");
	t->u.length = length;
	t->u.expires_at = time_now_ms() + UPLOAD_TTL_MS;
	rc = upload_create(c, &t->u);
	if (rc == DB_OK)
		rc = upload_lock(c, t->p.org_id, t->u.id, t->owner, time_now_ms() + PATCH_LOCK_MS);
	if (rc) {
		api_db_fail(r, rc == UPLOAD_BUSY ? DB_ERR : rc, "create upload");
		goto out;
	}
	t->locked = true;
	if (tus_open(t, true) < 0)
		http_problem(r, 503, "storage_failed", "The upload could not be stored. Try again.");
out:
	meeting_clear(&m);
	db_release(c);
}

static void tus_post_done(struct http_req *r)
{
	struct tus *t = http_ctx(r);
	char loc[96], off[32], exp[64];
	snprintf(loc, sizeof loc, "/api/v1/uploads/%s", t->u.id);
	http_add_header(r, "Location", loc);
	http_add_header(r, "X-Meeting-Id", t->u.meeting_id);
	struct db_conn *c = api_db(r);
	if (!c)
		return;
	int64_t offset = t->start + t->written;
	if (t->error) {
		/* Keep what was written; the client can HEAD and resume. */
		upload_advance(c, t->u.id, t->owner, offset, t->u.expires_at);
		t->finished = true;
		http_problem(r, t->error, t->code, "%s", t->detail);
		goto out;
	}
	if (t->fd >= 0 && t->written && fsync(t->fd) < 0) {
		http_problem(r, 503, "storage_failed", "The upload could not be written to disk. Try again.");
		goto out;
	}
	upload_advance(c, t->u.id, t->owner, offset, t->u.expires_at);
	t->finished = true;
	if (offset == t->u.length && !tus_finalize(r, c, t))
		goto out;
	snprintf(off, sizeof off, "%" PRId64, offset);
	http_date(t->u.expires_at, exp, sizeof exp);
	http_add_header(r, "Upload-Offset", off);
	http_add_header(r, "Upload-Expires", exp);
	http_reply_json(r, 201, json_pack("{s:s,s:s,s:I,s:I}", "id", t->u.id, "meeting_id", t->u.meeting_id,
					  "offset", (json_int_t)offset, "length", (json_int_t)t->u.length));
out:
	db_release(c);
}

/* Load the upload named in the path for this caller; replies 404 when there is none. */
static bool tus_load(struct http_req *r, struct db_conn *c, struct tus *t, bool active_only)
{
	if (!api_auth(r, c, &t->p))
		return false;
	int rc = upload_get(c, t->p.org_id, http_param(r, "id"), &t->u);
	if (rc == DB_OK && (!active_only || !strcmp(t->u.state, "active")))
		return true;
	if (rc && rc != STORE_NOT_FOUND) {
		api_db_fail(r, rc, "load upload");
		return false;
	}
	http_problem(r, 404, "not_found", "There is no active upload %s. Start a new upload.", http_param(r, "id"));
	return false;
}

static void tus_head(struct http_req *r)
{
	tus_headers(r);
	http_add_header(r, "Cache-Control", "no-store");
	if (!tus_version_ok(r))
		return;
	struct tus *t = tus_new(r);
	if (!t)
		return;
	struct db_conn *c = api_db(r);
	if (!c)
		return;
	if (tus_load(r, c, t, false)) {
		if (strcmp(t->u.state, "terminated") == 0) {
			http_problem(r, 404, "not_found", "This upload was terminated or expired.");
		} else {
			char off[32], len[32], exp[64];
			snprintf(off, sizeof off, "%" PRId64, t->u.offset);
			snprintf(len, sizeof len, "%" PRId64, t->u.length);
			http_date(t->u.expires_at, exp, sizeof exp);
			http_add_header(r, "Upload-Offset", off);
			http_add_header(r, "Upload-Length", len);
			if (t->u.metadata[0])
				http_add_header(r, "Upload-Metadata", t->u.metadata);
			if (!strcmp(t->u.state, "active"))
				http_add_header(r, "Upload-Expires", exp);
			http_add_header(r, "X-Meeting-Id", t->u.meeting_id);
			http_reply_empty(r, 200);
		}
	}
	db_release(c);
}

static void tus_patch_begin(struct http_req *r)
{
	tus_headers(r);
	if (!tus_version_ok(r))
		return;
	struct tus *t = tus_new(r);
	if (!t)
		return;
	if (!body_is_tus(r)) {
		http_problem(r, 415, "unsupported_media_type",
			     "PATCH bodies must have Content-Type: application/offset+octet-stream.");
		return;
	}
	int64_t offset = parse_offset(http_header(r, "Upload-Offset"));
	if (offset < 0) {
		http_problem(r, 400, "upload_offset_required", "Send Upload-Offset: the offset this data starts at.");
		return;
	}
	const char *sum = http_header(r, "Upload-Checksum");
	if (sum) {
		size_t alg = strcspn(sum, " ");
		if (alg != 6 || strncasecmp(sum, "sha256", 6) != 0) {
			http_add_header(r, "Tus-Checksum-Algorithm", "sha256");
			http_problem(r, 400, "checksum_algorithm_unsupported",
				     "Upload-Checksum must use sha256 (\"sha256 <base64 digest>\").");
			return;
		}
		char tmp[64];
		const char *b = sum + 7;
		size_t n = 0;
		for (; *b && *b != '=' && n < sizeof tmp - 1; b++)
			tmp[n++] = *b == '+' ? '-' : *b == '/' ? '_' : *b;
		tmp[n] = '\0';
		if (crypto_b64url_decode(tmp, n, t->want, sizeof t->want) != 32) {
			http_problem(r, 400, "invalid_checksum", "Upload-Checksum must carry a base64 SHA-256 digest.");
			return;
		}
		t->checksum = true;
		crypto_sha256_init(&t->sha);
	}
	struct db_conn *c = api_db(r);
	if (!c)
		return;
	if (!tus_load(r, c, t, true))
		goto out;
	if (offset != t->u.offset) {
		char off[32];
		snprintf(off, sizeof off, "%" PRId64, t->u.offset);
		http_add_header(r, "Upload-Offset", off);
		http_problem(r, 409, "offset_mismatch",
			     "Upload-Offset is %lld but the server has %lld bytes. Resume from %lld.",
			     (long long)offset, (long long)t->u.offset, (long long)t->u.offset);
		goto out;
	}
	int64_t len = http_content_length(r);
	if (len >= 0 && offset + len > t->u.length) {
		http_problem(r, 413, "exceeds_upload_length", "The data goes past the Upload-Length declared at creation.");
		goto out;
	}
	int rc = upload_lock(c, t->p.org_id, t->u.id, t->owner, time_now_ms() + PATCH_LOCK_MS);
	if (rc == UPLOAD_BUSY) {
		http_problem(r, 409, "upload_locked", "Another request is writing to this upload. Try again shortly.");
		goto out;
	}
	if (rc) {
		if (rc == STORE_NOT_FOUND)
			http_problem(r, 404, "not_found", "This upload is no longer active.");
		else
			api_db_fail(r, rc, "lock upload");
		goto out;
	}
	t->locked = true;
	t->start = offset;
	if (tus_open(t, false) < 0)
		http_problem(r, 503, "storage_failed", "The upload's data could not be opened. Try again.");
out:
	db_release(c);
}

static void tus_patch_done(struct http_req *r)
{
	struct tus *t = http_ctx(r);
	struct db_conn *c = api_db(r);
	if (!c)
		return;
	int64_t offset = t->start + t->written;
	char off[32], exp[64];
	if (t->checksum && !t->error) {
		unsigned char got[32];
		crypto_sha256_final(&t->sha, got);
		if (!crypto_equal(got, t->want, 32)) {
			/* Throw the data away: the offset stays where it was. */
			if (ftruncate(t->fd, t->start) < 0)
				log_warn("could not truncate upload", json_pack("{s:s}", "id", t->u.id));
			upload_unlock(c, t->u.id, t->owner);
			t->finished = true;
			snprintf(off, sizeof off, "%" PRId64, t->start);
			http_add_header(r, "Upload-Offset", off);
			http_problem(r, 460, "checksum_mismatch",
				     "The data does not match Upload-Checksum; it was discarded. Send it again.");
			goto out;
		}
	}
	if (t->written && fsync(t->fd) < 0)
		t->error = t->error ? t->error : 503;
	if (t->error && t->checksum) {
		upload_unlock(c, t->u.id, t->owner); /* unverifiable: keep nothing */
		if (ftruncate(t->fd, t->start) < 0)
			log_warn("could not truncate upload", json_pack("{s:s}", "id", t->u.id));
		offset = t->start;
	} else {
		int64_t expires = time_now_ms() + UPLOAD_TTL_MS;
		upload_advance(c, t->u.id, t->owner, offset, expires);
		t->u.expires_at = expires;
	}
	t->finished = true;
	snprintf(off, sizeof off, "%" PRId64, offset);
	http_add_header(r, "Upload-Offset", off);
	if (t->error) {
		http_problem(r, t->error, t->code ? t->code : "storage_failed", "%s",
			     t->detail[0] ? t->detail : "The data could not be written to disk. Try again.");
		goto out;
	}
	if (offset == t->u.length && !tus_finalize(r, c, t))
		goto out;
	http_date(t->u.expires_at, exp, sizeof exp);
	http_add_header(r, "Upload-Expires", exp);
	http_add_header(r, "X-Meeting-Id", t->u.meeting_id);
	http_reply_empty(r, 204);
out:
	db_release(c);
}

static void tus_delete(struct http_req *r)
{
	tus_headers(r);
	if (!tus_version_ok(r))
		return;
	struct tus *t = tus_new(r);
	if (!t)
		return;
	struct db_conn *c = api_db(r);
	if (!c)
		return;
	if (tus_load(r, c, t, true)) {
		int rc = upload_terminate(c, t->p.org_id, t->u.id);
		if (rc == DB_OK) {
			char path[1100];
			spool_path(t->app, t->u.id, path, sizeof path);
			unlink(path);
			http_reply_empty(r, 204);
		} else if (rc == STORE_NOT_FOUND) {
			http_problem(r, 404, "not_found", "This upload is no longer active.");
		} else {
			api_db_fail(r, rc, "terminate upload");
		}
	}
	db_release(c);
}

static const struct route ROUTES[] = {
	{M_POST, "/api/v1/meetings/{id}/upload", direct_done, BODY_STREAM, direct_begin, direct_chunk},
	{M_OPTIONS, "/api/v1/uploads", tus_options, BODY_NONE},
	{M_POST, "/api/v1/uploads", tus_post_done, BODY_STREAM, tus_post_begin, tus_chunk},
	{M_HEAD, "/api/v1/uploads/{id}", tus_head, BODY_NONE},
	{M_PATCH, "/api/v1/uploads/{id}", tus_patch_done, BODY_STREAM, tus_patch_begin, tus_chunk},
	{M_DELETE, "/api/v1/uploads/{id}", tus_delete, BODY_NONE},
};

size_t api_uploads_routes(const struct route **out)
{
	*out = ROUTES;
	return sizeof ROUTES / sizeof *ROUTES;
}
