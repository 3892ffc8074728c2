/*
 * uploads.c — audio in: POST /api/v1/meetings/{id}/upload (the raw body or
 * one multipart file part, streamed to disk as it arrives) and tus 1.0
 * resumable uploads at /api/v1/uploads (core, creation,
 * creation-with-upload, termination, checksum (sha1, sha256), expiration).
 *
 * tus writes: one writer per upload holds a lease in the database
 * (store/uploads.h), renewed while it writes; it never writes past the
 * lease it knows it holds. Data is gathered into TUS_BUF-sized writes and
 * made durable (fsync) once, at the end of the request.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "auth/authz.h"
#include "service/quota.h"
#include "blob/blob.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/meetings.h"
#include "store/uploads.h"

#define TUS_VERSION   "1.0.0"
#define UPLOAD_TTL_MS (24LL * 3600 * 1000)
#define TUS_BUF	      (1024 * 1024) /* bytes gathered per write(2) */
/*
 * Start writing back to the disk every this many bytes (sync_file_range),
 * so the fsync at the end of a request has little left to do: the disk
 * works while the network does.
 */
#define TUS_WRITEBACK (8 * 1024 * 1024)
/*
 * Buffers between the HTTP thread (which receives) and the request's
 * writer thread (which writes and hashes): TUS_NBUF * TUS_BUF bytes per
 * request being written, whatever the file's size.
 */
#define TUS_NBUF 4

static int64_t max_bytes(struct app *app)
{
	return (int64_t)app->cfg->max_upload_mb * 1024 * 1024;
}

static void too_large(struct http_req *r, int64_t size, int64_t max)
{
	http_problem(r, 413, "payload_too_large",
		     "The file is %lld bytes; the largest upload accepted is %lld MB.",
		     (long long)size, (long long)(max / (1024 * 1024)));
}

static bool busy_status(const char *s)
{
	return !strcmp(s, "queued") || !strcmp(s, "processing");
}

static bool disk_full(int err)
{
	return err == ENOSPC || err == EDQUOT;
}

/* write(2) all of it. 0 or -1 (errno). */
static int write_all(int fd, const char *p, size_t left)
{
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

/* ================= POST /api/v1/meetings/{id}/upload ================= */

struct direct {
	struct app *app;
	struct principal p;
	char meeting_id[UUID_STR_LEN];
	struct spool sp;
	struct http_multipart *mp; /* multipart only */
	bool multipart, got_file;
	struct ingest_speakers speakers; /* ?speakers_expected= ... */
	/* The same hints as multipart form fields (speakers_expected, min_, max_). */
	char form_hint[3][16];
	bool form_hint_given[3], form_hint_long[3];
	char part[64];
	char filename[1024];
	int64_t max;
	int64_t discarded; /* bytes swallowed after a full disk, to still reply */
	bool discard;
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
		snprintf(msg, sizeof msg,
			 "The file is larger than %lld MB, the largest upload accepted.",
			 (long long)(d->max / (1024 * 1024)));
		direct_fail(d, 413, "payload_too_large", msg);
		return -1;
	}
	if (spool_write(&d->sp, data, len) < 0) {
		if (disk_full(errno)) {
			/* Read (and drop) the rest, so the client gets the 507 rather than a cut
			 * connection. */
			direct_fail(d, 507, "insufficient_storage",
				    "The server ran out of room for this upload. Try again later; "
				    "if it keeps "
				    "happening, tell the operator that upload storage is full.");
			d->discard = true;
			return 0;
		}
		direct_fail(d, 503, "storage_failed",
			    "The upload could not be written to disk. Try again.");
		return -1;
	}
	return 0;
}

static const char *const HINT_KEYS[3] = {"speakers_expected", "min_speakers", "max_speakers"};

/* A piece of speaker-count form field h (checked in direct_done, as the query's are). */
static void form_hint_part(struct direct *d, int h, const char *data, size_t size, uint64_t off)
{
	char *v = d->form_hint[h];
	if (off == 0) {
		v[0] = '\0';
		d->form_hint_given[h] = true;
		d->form_hint_long[h] = false;
	}
	size_t have = strlen(v);
	if (d->form_hint_long[h] || have + size >= sizeof d->form_hint[h] ||
	    memchr(data, '\0', size)) {
		d->form_hint_long[h] = true; /* no count is that long */
		return;
	}
	memcpy(v + have, data, size);
	v[have + size] = '\0';
}

static int multipart_part(void *cls, const char *key, const char *filename, const char *data,
			  size_t size, uint64_t off)
{
	struct direct *d = cls;
	for (int h = 0; !filename && h < 3; h++)
		if (!strcmp(key, HINT_KEYS[h])) {
			form_hint_part(d, h, data, size, off);
			return 0;
		}
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

/*
 * Diarization hints from text values (query parameters or tus metadata):
 * parsed into *s, or a field error added.
 */
static void speakers_from(struct ingest_speakers *s, const char *expected, const char *min,
			  const char *max, json_t **errors)
{
	*s = (struct ingest_speakers){.expected = ingest_speakers_parse(expected),
				      .min = ingest_speakers_parse(min),
				      .max = ingest_speakers_parse(max)};
	const char *field, *why = ingest_speakers_problem(s, &field);
	if (why)
		jv_error(errors, field, "%s", why);
}

/* ?speakers_expected= or ?min_speakers= / ?max_speakers=, before any byte is read. */
static void direct_check(struct api_ctx *cx, json_t **errors)
{
	struct http_req *r = cx->req;
	speakers_from(API_IN(cx, struct ingest_speakers), http_query(r, "speakers_expected"),
		      http_query(r, "min_speakers"), http_query(r, "max_speakers"), errors);
}

static void direct_open(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct app *app = cx->app;
	struct db_conn *c = cx->conn;
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
	d->p = *cx->principal;
	d->speakers = *API_IN(cx, struct ingest_speakers);
	int rc = meeting_get(c, d->p.org_id, http_param(r, "id"), &m);
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 404, "not_found", "There is no meeting %s in your organization.",
			     http_param(r, "id"));
		goto out;
	}
	if (rc) {
		api_db_fail(r, rc, "load meeting");
		goto out;
	}
	if (busy_status(m.status)) {
		http_problem(r, 409, "meeting_busy",
			     "This meeting is being transcribed; wait until it finishes before "
			     "replacing its audio.");
		goto out;
	}
	snprintf(d->meeting_id, sizeof d->meeting_id, "%s", m.id);
	int64_t len = http_content_length(r);
	if (len > d->max) {
		too_large(r, len, d->max);
		goto out;
	}
	if (!api_disk_room(r, len > 0 ? len : 0))
		goto out;
	if (!api_quota_allow(r, c, d->p.org_id, QUOTA_STORAGE, len > 0 ? len : 0))
		goto out;
	const char *ct = http_header(r, "Content-Type");
	if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0) {
		d->multipart = true;
		d->mp = http_multipart_new(r, multipart_part, d);
	}
	const char *fn = http_query(r, "filename");
	if (fn)
		snprintf(d->filename, sizeof d->filename, "%s", fn);
	if (spool_open(app, &d->sp, "up") < 0)
		http_problem(r, 503, "storage_failed",
			     "The upload could not be stored. Try again.");
out:
	meeting_clear(&m);
}

static int direct_chunk(struct http_req *r, const char *data, size_t len)
{
	struct direct *d = http_ctx(r);
	if (d->discard) {
		d->discarded += (int64_t)len;
		return d->discarded > d->max ? -1 : 0;
	}
	if (d->multipart) {
		if (!d->mp) {
			direct_fail(d, 400, "malformed_multipart",
				    "The multipart body has no boundary. Send multipart/form-data "
				    "with a file part.");
			return -1;
		}
		if (http_multipart_feed(d->mp, data, len) < 0) {
			if (d->discard)
				return 0;
			direct_fail(d, 400, "malformed_multipart",
				    "The multipart body could not be read.");
			return -1;
		}
		return d->error && !d->discard ? -1 : 0;
	}
	return direct_write(d, data, len);
}

static void direct_done(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct direct *d = http_ctx(r);
	if (d->error) {
		http_problem(r, d->error, d->code, "%s", d->detail);
		return;
	}
	if (d->multipart && !d->got_file) {
		http_problem_fields(
		    r, 400, "missing_file",
		    json_pack("[{s:s,s:s}]", "field", "file", "message", "is required"),
		    "The form has no file part. Send the audio as a part named 'file'.");
		return;
	}
	if (d->form_hint_given[0] || d->form_hint_given[1] || d->form_hint_given[2]) {
		/* Counts as form fields, checked as the query's (a refusal drops the file). */
		const struct ingest_speakers *q = &d->speakers;
		json_t *errors = NULL;
		if (q->expected || q->min || q->max) {
			jv_error(&errors, "speakers_expected",
				 "give the speaker counts once: as query parameters or as form "
				 "fields");
		} else {
			const char *v[3];
			for (int h = 0; h < 3; h++)
				v[h] = !d->form_hint_given[h] ? NULL
				       : d->form_hint_long[h] ? "x" /* parses as no count */
							      : d->form_hint[h];
			speakers_from(&d->speakers, v[0], v[1], v[2], &errors);
		}
		if (errors) {
			http_problem_validation(r, errors);
			return;
		}
	}
	if (d->sp.size == 0) {
		http_problem(r, 422, "unreadable_audio", "The file is empty.");
		return;
	}
	/* close whatever fsync said: a failed fsync must not leak the descriptor. */
	int synced = fsync(d->sp.fd), sync_errno = errno;
	int closed = close(d->sp.fd);
	d->sp.fd = -1;
	if (synced < 0 || closed < 0) {
		if (synced < 0 && disk_full(sync_errno))
			api_storage_full(r);
		else
			http_problem(r, 503, "storage_failed",
				     "The upload could not be written to disk. Try again.");
		return;
	}
	unsigned char digest[32];
	char hex[65];
	crypto_sha256_final((struct crypto_sha256_ctx *)(void *)d->sp.sha, digest);
	crypto_hex(digest, 32, hex);
	const char *t = http_query(r, "transcribe");
	bool transcribe = !(t && (!strcmp(t, "false") || !strcmp(t, "0")));

	struct db_conn *c = api_conn(cx);
	if (!c)
		return;
	struct meeting m;
	int rc = meeting_get(c, d->p.org_id, d->meeting_id, &m);
	if (rc) {
		if (rc == STORE_NOT_FOUND)
			http_problem(r, 404, "not_found",
				     "The meeting was deleted during the upload.");
		else
			api_db_fail(r, rc, "load meeting");
		return;
	}
	char detail[512];
	struct quota_usage q;
	struct ingest_file f = {.path = d->sp.path,
				.filename = d->filename,
				.size = d->sp.size,
				.sha256 = hex,
				.speakers = &d->speakers,
				.quota = &q};
	enum ingest_rc irc =
	    ingest_audio(d->app->blob, c, &m, &f,
			 transcribe ? INGEST_AND_QUEUE : INGEST_ATTACH_ONLY, detail, sizeof detail);
	d->sp.path[0] = '\0'; /* consumed */
	if (irc == INGEST_QUOTA)
		api_quota_problem(r, &q);
	else if (irc)
		api_ingest_problem(r, irc, detail);
	else
		http_reply_json(r, 200, api_meeting_json_for(cx, &m));
	if (!irc)
		api_usage_after(d->app, c, d->p.org_id, QUOTA_STORAGE);
	api_jobs_wake(d->app);
	meeting_clear(&m);
}

/* ================= tus 1.0 ================= */

static void tus_headers(struct http_req *r)
{
	http_add_header(r, "Tus-Resumable", TUS_VERSION);
}

/* tus requests must say which protocol version they speak. */
static bool tus_version_ok(struct http_req *r)
{
	const char *v = http_header(r, "Tus-Resumable");
	if (v && strcmp(v, TUS_VERSION) == 0)
		return true;
	http_add_header(r, "Tus-Version", TUS_VERSION);
	http_problem(r, 412, "tus_version_unsupported",
		     "Send the header Tus-Resumable: %s; this server speaks tus %s.", TUS_VERSION,
		     TUS_VERSION);
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

static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/*
 * Decode standard base64 (RFC 4648 §4, padding optional) of len bytes into
 * out (outlen - 1 bytes at most, NUL-terminated). Returns the decoded
 * length, or -1 when it is not canonical base64 or does not fit: nothing
 * partly decoded is ever used.
 */
static long b64_std_decode(const char *v, size_t len, char *out, size_t outlen)
{
	char tmp[UPLOAD_METADATA_MAX + 1];
	size_t n = 0, pad = 0;
	if (len > UPLOAD_METADATA_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '=') {
			pad++;
			continue;
		}
		if (pad || !b64_char(v[i]))
			return -1; /* data after padding, or not a base64 character */
		tmp[n++] = v[i] == '+' ? '-' : v[i] == '/' ? '_' : v[i];
	}
	if (pad > 2 || (pad && (n + pad) % 4 != 0))
		return -1;
	tmp[n] = '\0';
	if (outlen == 0)
		return -1;
	long dn = n ? crypto_b64url_decode(tmp, n, out, outlen - 1) : 0;
	if (dn < 0)
		return -1;
	out[dn] = '\0';
	return dn;
}

/*
 * Upload-Metadata: "key b64,key b64,key". Checks every pair: keys are
 * printable ASCII without spaces or commas, values canonical base64.
 * Returns false when anything is malformed.
 */
static bool meta_valid(const char *meta)
{
	char scratch[UPLOAD_METADATA_MAX + 1];
	for (const char *p = meta; *p;) {
		size_t len = strcspn(p, ",");
		const char *end = p + len;
		while (p < end && *p == ' ')
			p++;
		size_t kl = strcspn(p, " ,");
		if (kl == 0 && p < end)
			return false;
		for (size_t i = 0; i < kl; i++)
			if (p[i] < 0x21 || p[i] > 0x7e)
				return false;
		const char *v = p + kl;
		while (v < end && *v == ' ')
			v++;
		size_t vl = (size_t)(end - v);
		while (vl && v[vl - 1] == ' ')
			vl--;
		if (vl && b64_std_decode(v, vl, scratch, sizeof scratch) < 0)
			return false;
		p = *end ? end + 1 : end;
	}
	return true;
}

/*
 * The decoded value of key in a header meta_valid accepted. Returns 1 with
 * out set, 0 when the key is absent (out ""), -1 when the value does not
 * fit in out or holds a NUL byte.
 */
static int meta_get(const char *meta, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);
	out[0] = '\0';
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
			while (vl && v[vl - 1] == ' ')
				vl--;
			long dn = b64_std_decode(v, vl, out, outlen);
			if (dn < 0 || memchr(out, '\0', (size_t)dn) != NULL) {
				out[0] = '\0';
				return -1;
			}
			return 1;
		}
		p += len;
	}
	return 0;
}

static void tus_options(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	char max[32];
	snprintf(max, sizeof max, "%" PRId64, max_bytes(api_app(r)));
	tus_headers(r);
	http_add_header(r, "Tus-Version", TUS_VERSION);
	http_add_header(r, "Tus-Extension",
			"creation,creation-with-upload,termination,checksum,expiration");
	http_add_header(r, "Tus-Max-Size", max);
	http_add_header(r, "Tus-Checksum-Algorithm", "sha1,sha256");
	http_reply_options(r);
}

enum tus_alg { ALG_NONE = 0, ALG_SHA1, ALG_SHA256 };

/* State of one POST (creation[-with-upload]) or PATCH. */
struct tus {
	struct app *app;
	struct principal p;
	struct upload u;
	char owner[UPLOAD_OWNER_MAX]; /* server-made lock owner id */
	int fd;
	int64_t start;	      /* offset before this request */
	int64_t received;     /* bytes of this request accepted (handed to the writer) */
	int64_t written;      /* bytes of this request written to the file (writer's; read after the
				 drain) */
	int64_t kicked;	      /* bytes of this request handed to writeback */
	struct tus_writer *w; /* NULL: nothing open (or writes made inline) */
	int64_t lease_ms;     /* IAM_TUS_LOCK_S */
	_Atomic int64_t lease_until; /* Unix ms: our lock is ours until then, as far as we know */
	int64_t renewed_at;	     /* Unix ms of the last renewal */
	bool locked;
	bool finished; /* the handler recorded the outcome */
	bool discard;  /* the disk is full: drop the rest of the body, then reply 507 */
	int64_t discarded;
	enum tus_alg alg; /* Upload-Checksum given */
	unsigned char want[SHA256_DIGEST_SIZE];
	struct sha1_ctx sha1;
	struct sha256_ctx sha256;
	struct api_idem idem; /* creation with Idempotency-Key */
	struct {	      /* creation: what tus_post_check read from the headers */
		int64_t length, first;
		const char *meta;
		char filename[1024], title[1024], meeting_id[128], language[32];
	} create;
	int error;
	const char *code;
	char detail[256];
};

/* Make the buffered bytes durable up to here (fsync). 0 or -1 (errno). */
static int tus_sync(struct tus *t)
{
	return t->written > 0 ? fsync(t->fd) : 0;
}

/*
 * Cut the file back to len, but only while our lease surely holds: once it
 * may have passed, the file may be another writer's (who cuts it to the
 * recorded offset when it opens it anyway).
 */
static void tus_truncate(struct tus *t, int64_t len)
{
	if (t->fd < 0 || !t->locked || time_now_ms() + 1000 >= t->lease_until)
		return;
	if (ftruncate(t->fd, len) < 0)
		log_warn("could not truncate upload", json_pack("{s:s}", "id", t->u.id));
}

/*
 * Runs when the request ends, whatever happened. An interrupted PATCH
 * (client gone mid-body) keeps what reached the disk, so the client can
 * resume from the server's offset — unless a checksum was promised, which
 * can then not be verified.
 */
static void tus_drain(struct tus *t, bool write_rest);

static void tus_free(void *p)
{
	struct tus *t = p;
	/* What arrived before the client went away counts (unless a checksum cannot be checked). */
	tus_drain(t, !t->finished && t->locked && !t->error && t->alg == ALG_NONE);
	bool keep = !t->finished && t->written > 0 && t->alg == ALG_NONE;
	if (t->fd >= 0) {
		if (keep && fsync(t->fd) < 0)
			keep = false;
		close(t->fd);
	}
	if ((t->locked && !t->finished) || t->idem.on) {
		struct db_conn *c = db_acquire_system(t->app->db, 5000);
		if (c) {
			if (t->locked && !t->finished) {
				if (keep)
					upload_advance(c, t->u.id, t->owner, t->start + t->written,
						       time_now_ms() + UPLOAD_TTL_MS);
				else
					upload_unlock(c, t->u.id, t->owner);
			}
			api_idem_abandon(c, &t->idem);
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
	t->lease_ms = (int64_t)t->app->cfg->tus_lock_s * 1000;
	upload_owner_new(t->owner);
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

/* Take the writer lock; on success our lease runs from now. */
static int tus_lock(struct db_conn *c, struct tus *t)
{
	int64_t now = time_now_ms();
	int rc = upload_lock(c, t->p.org_id, t->u.id, t->owner, now + t->lease_ms);
	if (rc == STORE_OK) {
		t->locked = true;
		t->lease_until = now + t->lease_ms;
		t->renewed_at = now;
	}
	return rc;
}

/*
 * May we write now? Renews the lease when a third of it has passed, and
 * refuses once the lock is lost, or once the lease is about to run out
 * without a renewal (another writer may take over after it).
 */
static bool tus_lease_ok(struct tus *t)
{
	int64_t now = time_now_ms();
	if (now - t->renewed_at >= t->lease_ms / 3) {
		struct db_conn *c = db_acquire_org(t->app->db, 500, t->u.org_id);
		if (c) {
			int rc = upload_renew(c, t->u.id, t->owner, now + t->lease_ms);
			db_release(c);
			if (rc == STORE_OK) {
				t->lease_until = now + t->lease_ms;
				t->renewed_at = now;
			} else if (rc == STORE_UPLOAD_LOST) {
				t->locked = false;
				t->lease_until = 0; /* the writer stops at once */
				tus_fail(t, 409, "upload_lock_lost",
					 "Another request took over this upload while this one was "
					 "writing. Ask "
					 "for the offset (HEAD) and resume from there.");
				return false;
			}
		}
	}
	if (now + 1000 >= t->lease_until) {
		tus_fail(t, 503, "storage_failed",
			 "The upload's lock could not be renewed (database unavailable). Ask for "
			 "the offset "
			 "(HEAD) and resume.");
		return false;
	}
	return true;
}

/*
 * The writer: the HTTP thread gathers the body into TUS_BUF buffers; a
 * thread of the request writes them to the file and hashes them, so
 * receiving, writing and hashing use both cores. A ring of TUS_NBUF
 * buffers: the HTTP thread fills slot (next + count) % TUS_NBUF and hands
 * it over (count++); the writer takes slot next. The writer writes only
 * while the lease the HTTP thread renews holds (lease_until).
 */
struct tus_writer {
	struct tus *t;
	pthread_t thread;
	bool threaded; /* false: pthread_create failed, writes are made inline */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *buf[TUS_NBUF];
	size_t len[TUS_NBUF];
	int next, count; /* guarded by lock */
	bool closing;	 /* guarded by lock */
	atomic_int err;	 /* errno of the first failed write; EOWNERDEAD when the lease ran out */
};

/*
 * Write one buffer at the end of the file and hash it. 0, or an errno
 * (EOWNERDEAD: our lease may have passed, so another writer may own the
 * file: nothing is written).
 */
static int tus_write_piece(struct tus *t, const char *data, size_t len)
{
	if (time_now_ms() + 1000 >= t->lease_until)
		return EOWNERDEAD;
	if (write_all(t->fd, data, len) < 0)
		return errno ? errno : EIO;
	if (t->alg == ALG_SHA256)
		sha256_update(&t->sha256, len, (const uint8_t *)data);
	else if (t->alg == ALG_SHA1)
		sha1_update(&t->sha1, len, (const uint8_t *)data);
	t->written += (int64_t)len;
	if (t->written - t->kicked >= TUS_WRITEBACK) {
		/* Only a hint: fsync at the end is what makes the data durable. */
		(void)sync_file_range(t->fd, t->start + t->kicked, t->written - t->kicked,
				      SYNC_FILE_RANGE_WRITE);
		t->kicked = t->written;
	}
	return 0;
}

static void *tus_writer_main(void *arg)
{
	struct tus_writer *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->count == 0 && !w->closing)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->count == 0)
			break;
		int i = w->next;
		pthread_mutex_unlock(&w->lock);
		/* After a failure the rest is dropped: the file ends at what was written before. */
		if (atomic_load(&w->err) == 0) {
			int e = tus_write_piece(w->t, w->buf[i], w->len[i]);
			if (e)
				atomic_store(&w->err, e);
		}
		pthread_mutex_lock(&w->lock);
		w->next = (w->next + 1) % TUS_NBUF;
		w->count--;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void tus_writer_free(struct tus_writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < TUS_NBUF; i++)
		free(w->buf[i]);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

/* A writer for t (its fd open). NULL when out of memory. */
static struct tus_writer *tus_writer_new(struct tus *t)
{
	struct tus_writer *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->t = t;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	for (int i = 0; i < TUS_NBUF; i++) {
		w->buf[i] = malloc(TUS_BUF);
		if (!w->buf[i]) {
			tus_writer_free(w);
			return NULL;
		}
	}
	w->threaded = pthread_create(&w->thread, NULL, tus_writer_main, w) == 0;
	return w;
}

/* The slot the HTTP thread fills. */
static int fill_slot(struct tus_writer *w)
{
	return (w->next + w->count) % TUS_NBUF;
}

/* Hand the filled slot to the writer; wait for a free slot to fill next. */
static void tus_submit(struct tus_writer *w)
{
	int i = fill_slot(w);
	if (w->len[i] == 0)
		return;
	if (!w->threaded) {
		if (atomic_load(&w->err) == 0) {
			int e = tus_write_piece(w->t, w->buf[i], w->len[i]);
			if (e)
				atomic_store(&w->err, e);
		}
		w->len[i] = 0;
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->count++;
	pthread_cond_broadcast(&w->cond);
	while (w->count == TUS_NBUF)
		pthread_cond_wait(&w->cond, &w->lock);
	w->len[fill_slot(w)] = 0;
	pthread_mutex_unlock(&w->lock);
}

/* Turn the writer's failure into the reply. */
static void tus_writer_failed(struct tus *t, int err)
{
	if (disk_full(err)) {
		tus_fail(t, 507, "insufficient_storage",
			 "The server ran out of room for this upload; what arrived before is kept. "
			 "Resume later (HEAD for the offset).");
		t->discard = true;
	} else if (err == EOWNERDEAD) {
		tus_fail(t, 503, "storage_failed",
			 "The upload's lock could not be renewed in time. Ask for the offset "
			 "(HEAD) and resume.");
	} else {
		tus_fail(t, 503, "storage_failed",
			 "The data could not be written to disk. Try again.");
	}
}

/*
 * End the writer: with write_rest, what is gathered is written first (else
 * dropped); then the thread is joined. Afterwards t->written is final and
 * the writer's failure, if any, is in t->error.
 */
static void tus_drain(struct tus *t, bool write_rest)
{
	struct tus_writer *w = t->w;
	if (!w)
		return;
	if (write_rest)
		tus_submit(w);
	if (w->threaded) {
		pthread_mutex_lock(&w->lock);
		w->closing = true;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	}
	int err = atomic_load(&w->err);
	if (err)
		tus_writer_failed(t, err);
	tus_writer_free(w);
	t->w = NULL;
}

static int tus_chunk(struct http_req *r, const char *data, size_t len)
{
	struct tus *t = http_ctx(r);
	if (t->discard) {
		t->discarded += (int64_t)len;
		return t->discarded > t->u.length ? -1 : 0;
	}
	if (t->error || !t->w)
		return -1;
	int err = atomic_load(&t->w->err);
	if (err) {
		tus_writer_failed(t, err);
		return t->discard ? 0 : -1;
	}
	/* Renew while data keeps coming, even when it is too little to fill a write. */
	if (!tus_lease_ok(t))
		return -1;
	/* Subtraction, not start + received + len: no overflow whatever the sizes. */
	if ((uint64_t)len > (uint64_t)(t->u.length - (t->start + t->received))) {
		tus_fail(t, 413, "exceeds_upload_length",
			 "The data goes past the Upload-Length declared at creation.");
		return -1;
	}
	t->received += (int64_t)len;
	struct tus_writer *w = t->w;
	while (len) {
		int i = fill_slot(w);
		size_t n = TUS_BUF - w->len[i] < len ? TUS_BUF - w->len[i] : len;
		memcpy(w->buf[i] + w->len[i], data, n);
		w->len[i] += n;
		data += n;
		len -= n;
		if (w->len[i] == TUS_BUF)
			tus_submit(w);
	}
	return 0;
}

/* Open the spool file for appending at t->start, and its writer. */
static int tus_open(struct tus *t, bool create)
{
	char path[1100];
	spool_path(t->app, t->u.id, path, sizeof path);
	/* O_NOFOLLOW: the spool holds only files we made; never follow a planted link. */
	t->fd =
	    open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT | O_EXCL : 0), 0600);
	if (t->fd < 0)
		return -1;
	/* Bytes past the recorded offset are from an attempt that did not count. */
	if (ftruncate(t->fd, t->start) < 0 || lseek(t->fd, t->start, SEEK_SET) < 0)
		goto fail;
	t->w = tus_writer_new(t);
	if (!t->w)
		goto fail;
	return 0;
fail:
	close(t->fd);
	t->fd = -1;
	return -1;
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
	/*
	 * No SHA-256 of the whole file here: hashing a large file would take
	 * as long as receiving it (and each request saw only its part). The
	 * janitor fills it in shortly after (service/janitor.c).
	 */
	char detail[512], v[3][8];
	struct ingest_speakers spk;
	json_t *errors = NULL; /* checked when the upload was created */
	meta_get(t->u.metadata, "speakers_expected", v[0], sizeof v[0]);
	meta_get(t->u.metadata, "min_speakers", v[1], sizeof v[1]);
	meta_get(t->u.metadata, "max_speakers", v[2], sizeof v[2]);
	speakers_from(&spk, v[0], v[1], v[2], &errors);
	json_decref(errors);
	struct quota_usage q;
	struct ingest_file f = {.path = path,
				.filename = t->u.filename,
				.size = t->u.length,
				.speakers = errors ? NULL : &spk,
				.quota = &q};
	enum ingest_rc irc =
	    ingest_audio(t->app->blob, c, &m, &f, INGEST_AND_QUEUE, detail, sizeof detail);
	meeting_clear(&m);
	if (irc) {
		upload_terminate(c, t->u.org_id, t->u.id);
		if (irc == INGEST_QUOTA)
			api_quota_problem(r, &q);
		else
			api_ingest_problem(r, irc, detail);
		return false;
	}
	upload_complete(c, t->u.id);
	api_usage_after(t->app, c, t->u.org_id, QUOTA_STORAGE);
	api_jobs_wake(t->app);
	return true;
}

/* Everything about a creation request that needs neither the caller nor the database. */
static void tus_post_check(struct api_ctx *cx, json_t **errors)
{
	struct http_req *r = cx->req;
	tus_headers(r);
	if (!tus_version_ok(r))
		return;
	struct tus *t = tus_new(r);
	if (!t)
		return;
	struct app *app = t->app;
	if (http_header(r, "Upload-Defer-Length")) {
		http_problem(r, 400, "defer_length_unsupported",
			     "Send Upload-Length with the size of the file; deferred lengths are "
			     "not supported.");
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
		http_problem(r, 400, "metadata_too_long",
			     "Upload-Metadata is longer than %d bytes.", UPLOAD_METADATA_MAX);
		return;
	}
	if (meta && !meta_valid(meta)) {
		http_problem_fields(
		    r, 400, "invalid_metadata",
		    json_pack("[{s:s,s:s}]", "field", "Upload-Metadata", "message",
			      "must be comma-separated 'key base64value' pairs"),
		    "Upload-Metadata must be comma-separated pairs of a key and its value in "
		    "standard base64; a value could not be decoded.");
		return;
	}
	char *filename = t->create.filename, *title = t->create.title;
	char *meeting_id = t->create.meeting_id, *language = t->create.language;
	if (meta) {
		const char *bad = NULL;
		if (meta_get(meta, "filename", filename, sizeof t->create.filename) < 0)
			bad = "filename";
		else if (meta_get(meta, "title", title, sizeof t->create.title) < 0)
			bad = "title";
		else if (meta_get(meta, "meeting_id", meeting_id, sizeof t->create.meeting_id) < 0)
			bad = "meeting_id";
		else if (meta_get(meta, "language", language, sizeof t->create.language) < 0)
			bad = "language";
		if (bad) {
			http_problem_fields(
			    r, 400, "invalid_metadata",
			    json_pack("[{s:s,s:s}]", "field", bad, "message",
				      "is too long or holds a NUL byte"),
			    "The Upload-Metadata value '%s' is too long or holds a NUL byte.", bad);
			return;
		}
	}
	if (meta) {
		char v[3][8];
		struct ingest_speakers spk;
		json_t *spk_errors = NULL;
		if (meta_get(meta, "speakers_expected", v[0], sizeof v[0]) < 0 ||
		    meta_get(meta, "min_speakers", v[1], sizeof v[1]) < 0 ||
		    meta_get(meta, "max_speakers", v[2], sizeof v[2]) < 0)
			jv_error(&spk_errors, "speakers_expected",
				 "speaker counts must be whole numbers from 1 to 20");
		else
			speakers_from(&spk, v[0], v[1], v[2], &spk_errors);
		if (spk_errors) {
			http_problem_fields(r, 400, "invalid_metadata", spk_errors,
					    "The speaker counts in Upload-Metadata cannot be used: "
					    "give speakers_expected, or min_speakers and/or "
					    "max_speakers, each a whole number from 1 to 20.");
			return;
		}
	}
	if (utf8_len(filename) == (size_t)-1 || utf8_len(title) == (size_t)-1) {
		http_problem(r, 400, "invalid_metadata",
			     "Upload-Metadata values must be UTF-8 text.");
		return;
	}
	if (meeting_id[0] && !uuid_valid(meeting_id)) {
		http_problem_fields(
		    r, 400, "invalid_metadata",
		    json_pack("[{s:s,s:s}]", "field", "meeting_id", "message", "must be a UUID"),
		    "The meeting_id in Upload-Metadata must be a meeting's id.");
		return;
	}
	if (body_is_tus(r) == false && http_content_length(r) > 0) {
		http_problem(r, 415, "unsupported_media_type",
			     "Data sent with the creation request must have Content-Type: "
			     "application/offset+octet-stream.");
		return;
	}
	int64_t first = http_content_length(r);
	if (first > length) {
		http_problem(r, 413, "exceeds_upload_length",
			     "The body is longer than Upload-Length.");
		return;
	}
	t->create.length = length;
	t->create.first = first;
	t->create.meta = meta;
}

static void tus_post_open(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	struct tus *t = http_ctx(r);
	t->p = *cx->principal;
	int64_t length = t->create.length, first = t->create.first;
	const char *meta = t->create.meta;
	const char *filename = t->create.filename, *title = t->create.title;
	const char *meeting_id = t->create.meeting_id, *language = t->create.language;
	struct meeting m;
	meeting_init(&m);
	/* The whole file must fit (it is renamed into the store, not copied). Told only to callers.
	 */
	if (!api_disk_room(r, length))
		goto out;
	if (!api_quota_allow(r, c, t->p.org_id, QUOTA_STORAGE, length))
		goto out;
	/* What identifies a creation request: its size, metadata and first data length. */
	char what[UPLOAD_METADATA_MAX + 64];
	int wn = snprintf(what, sizeof what, "%" PRId64 "\n%s\n%" PRId64, length, meta ? meta : "",
			  first);
	if (!api_idem_begin(r, c, &t->p, what,
			    (size_t)wn < sizeof what ? (size_t)wn : sizeof what - 1, &t->idem))
		goto out;
	int rc;
	if (meeting_id[0]) {
		rc = meeting_get(c, t->p.org_id, meeting_id, &m);
		if (rc == STORE_NOT_FOUND) {
			http_problem(r, 404, "not_found",
				     "There is no meeting %s in your organization.", meeting_id);
			goto out;
		}
		if (rc) {
			api_db_fail(r, rc, "load meeting");
			goto out;
		}
		if (busy_status(m.status)) {
			http_problem(r, 409, "meeting_busy",
				     "This meeting is being transcribed; wait until it finishes.");
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
	if (rc == STORE_OK)
		rc = tus_lock(c, t);
	if (rc) {
		api_db_fail(r, rc == STORE_UPLOAD_BUSY ? STORE_ERROR : rc, "create upload");
		goto out;
	}
	if (tus_open(t, true) < 0)
		http_problem(r, 503, "storage_failed",
			     "The upload could not be stored. Try again.");
out:
	if (http_replied(r))
		api_idem_abandon(c, &t->idem);
	meeting_clear(&m);
}

/* Make this request's data durable: write what is buffered, fsync. On failure t->error is set. */
static void tus_settle(struct tus *t)
{
	tus_drain(t, !t->error);
	if (t->fd >= 0 && t->written > 0) {
		if (tus_sync(t) < 0) {
			if (disk_full(errno))
				tus_fail(t, 507, "insufficient_storage",
					 "The server ran out of room for this upload. Resume later "
					 "(HEAD for the offset).");
			else
				tus_fail(t, 503, "storage_failed",
					 "The data could not be written to disk. Try again.");
			/* Not durable: none of this request counts. */
			t->written = 0;
		}
		/* A partial write may have left bytes past what counts. */
		tus_truncate(t, t->start + t->written);
	}
}

static void tus_post_done(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct tus *t = http_ctx(r);
	char loc[96], off[32], exp[64];
	snprintf(loc, sizeof loc, "/api/v1/uploads/%s", t->u.id);
	http_add_header(r, "Location", loc);
	http_add_header(r, "X-Meeting-Id", t->u.meeting_id);
	struct db_conn *c = api_conn(cx);
	if (!c)
		return;
	tus_settle(t);
	int64_t offset = t->start + t->written;
	int rc = upload_advance(c, t->u.id, t->owner, offset, t->u.expires_at);
	t->finished = true;
	t->locked = false;
	if (t->error || rc) {
		/* Keep what was written; the client can HEAD and resume. */
		api_idem_abandon(c, &t->idem);
		if (t->error)
			http_problem(r, t->error, t->code, "%s", t->detail);
		else if (rc == STORE_UPLOAD_LOST)
			http_problem(r, 409, "upload_lock_lost",
				     "Another request took over this upload while this one was "
				     "writing. Ask for "
				     "the offset (HEAD) and resume from there.");
		else
			api_db_fail(r, rc, "record upload");
		goto out;
	}
	if (offset == t->u.length && !tus_finalize(r, c, t)) {
		api_idem_abandon(c, &t->idem);
		goto out;
	}
	snprintf(off, sizeof off, "%" PRId64, offset);
	http_date(t->u.expires_at, exp, sizeof exp);
	http_add_header(r, "Upload-Offset", off);
	http_add_header(r, "Upload-Expires", exp);
	json_t *body = json_pack("{s:s,s:s,s:I,s:I}", "id", t->u.id, "meeting_id", t->u.meeting_id,
				 "offset", (json_int_t)offset, "length", (json_int_t)t->u.length);
	json_t *hdrs = json_pack("{s:s,s:s,s:s,s:s}", "Location", loc, "X-Meeting-Id",
				 t->u.meeting_id, "Upload-Offset", off, "Upload-Expires", exp);
	api_idem_store(c, &t->idem, 201, body, hdrs);
	json_decref(hdrs);
	http_reply_json(r, 201, body);
out:;
}

/* Load the upload named in the path for the caller; replies 404 when there is none. */
static bool tus_load(struct api_ctx *cx, struct tus *t, bool active_only)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	t->p = *cx->principal;
	int rc = upload_get(c, t->p.org_id, http_param(r, "id"), &t->u);
	if (rc == STORE_OK && (!active_only || !strcmp(t->u.state, "active")))
		return true;
	if (rc && rc != STORE_NOT_FOUND) {
		api_db_fail(r, rc, "load upload");
		return false;
	}
	http_problem(r, 404, "not_found", "There is no active upload %s. Start a new upload.",
		     http_param(r, "id"));
	return false;
}

/* HEAD, PATCH, DELETE: the tus headers, the version, the request's state. */
static void tus_check(struct api_ctx *cx, json_t **errors)
{
	struct http_req *r = cx->req;
	tus_headers(r);
	if (!strcmp(http_method(r), "HEAD"))
		http_add_header(r, "Cache-Control", "no-store");
	if (tus_version_ok(r))
		tus_new(r);
}

static void tus_head(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct tus *t = http_ctx(r);
	if (tus_load(cx, t, false)) {
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
}

/*
 * Upload-Checksum: "<algorithm> <base64 digest>". Fills t->alg and t->want
 * or replies 400 and returns false.
 */
static bool tus_checksum_parse(struct http_req *r, struct tus *t, const char *sum)
{
	size_t alg = strcspn(sum, " ");
	size_t dlen;
	if (alg == 6 && strncasecmp(sum, "sha256", 6) == 0) {
		t->alg = ALG_SHA256;
		dlen = SHA256_DIGEST_SIZE;
	} else if (alg == 4 && strncasecmp(sum, "sha1", 4) == 0) {
		t->alg = ALG_SHA1;
		dlen = SHA1_DIGEST_SIZE;
	} else {
		http_add_header(r, "Tus-Checksum-Algorithm", "sha1,sha256");
		http_problem(
		    r, 400, "checksum_algorithm_unsupported",
		    "Upload-Checksum must use sha1 or sha256 (\"sha256 <base64 digest>\").");
		return false;
	}
	/* The digest follows one space; a header that ends after the name has none. */
	const char *b = sum[alg] == ' ' ? sum + alg + 1 : NULL;
	char digest[64];
	if (!b || b64_std_decode(b, strlen(b), digest, sizeof digest) != (long)dlen) {
		t->alg = ALG_NONE;
		http_problem(
		    r, 400, "invalid_checksum",
		    "Upload-Checksum must carry the base64 %s digest after the algorithm name.",
		    dlen == SHA1_DIGEST_SIZE ? "SHA-1" : "SHA-256");
		return false;
	}
	memcpy(t->want, digest, dlen);
	if (t->alg == ALG_SHA256)
		sha256_init(&t->sha256);
	else
		sha1_init(&t->sha1);
	return true;
}

struct patch_in {
	int64_t offset; /* Upload-Offset */
};

static void tus_patch_check(struct api_ctx *cx, json_t **errors)
{
	struct http_req *r = cx->req;
	tus_check(cx, errors);
	struct tus *t = http_ctx(r);
	if (http_replied(r))
		return;
	if (!body_is_tus(r)) {
		http_problem(
		    r, 415, "unsupported_media_type",
		    "PATCH bodies must have Content-Type: application/offset+octet-stream.");
		return;
	}
	int64_t offset = parse_offset(http_header(r, "Upload-Offset"));
	if (offset < 0) {
		http_problem(r, 400, "upload_offset_required",
			     "Send Upload-Offset: the offset this data starts at.");
		return;
	}
	const char *sum = http_header(r, "Upload-Checksum");
	if (sum && !tus_checksum_parse(r, t, sum))
		return;
	API_IN(cx, struct patch_in)->offset = offset;
}

static void tus_patch_open(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	struct tus *t = http_ctx(r);
	int64_t offset = API_IN(cx, struct patch_in)->offset;
	if (!tus_load(cx, t, true))
		return;
	if (offset != t->u.offset) {
		char off[32];
		snprintf(off, sizeof off, "%" PRId64, t->u.offset);
		http_add_header(r, "Upload-Offset", off);
		http_problem(
		    r, 409, "offset_mismatch",
		    "Upload-Offset is %lld but the server has %lld bytes. Resume from %lld.",
		    (long long)offset, (long long)t->u.offset, (long long)t->u.offset);
		return;
	}
	int64_t len = http_content_length(r);
	/* offset == u.offset <= u.length here, so the subtraction cannot overflow. */
	if (len >= 0 && len > t->u.length - offset) {
		http_problem(r, 413, "exceeds_upload_length",
			     "The data goes past the Upload-Length declared at creation.");
		return;
	}
	if (!api_disk_room(r, len >= 0 ? len : t->u.length - offset))
		return;
	int rc = tus_lock(c, t);
	if (rc == STORE_UPLOAD_BUSY) {
		http_problem(r, 409, "upload_locked",
			     "Another request is writing to this upload. Try again shortly.");
		return;
	}
	if (rc) {
		if (rc == STORE_NOT_FOUND)
			http_problem(r, 404, "not_found", "This upload is no longer active.");
		else
			api_db_fail(r, rc, "lock upload");
		return;
	}
	t->start = offset;
	if (tus_open(t, false) < 0)
		http_problem(r, 503, "storage_failed",
			     "The upload's data could not be opened. Try again.");
}

static void tus_patch_done(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct tus *t = http_ctx(r);
	struct db_conn *c = api_conn(cx);
	if (!c)
		return;
	char off[32], exp[64];
	tus_drain(t, !t->error);
	if (t->alg != ALG_NONE && !t->error) {
		unsigned char got[SHA256_DIGEST_SIZE];
		size_t n = t->alg == ALG_SHA256 ? SHA256_DIGEST_SIZE : SHA1_DIGEST_SIZE;
		if (t->alg == ALG_SHA256)
			sha256_digest(&t->sha256, n, got);
		else
			sha1_digest(&t->sha1, n, got);
		if (!crypto_equal(got, t->want, n)) {
			/* Throw the data away: the offset stays where it was. */
			tus_truncate(t, t->start);
			upload_unlock(c, t->u.id, t->owner);
			t->finished = true;
			t->locked = false;
			snprintf(off, sizeof off, "%" PRId64, t->start);
			http_add_header(r, "Upload-Offset", off);
			http_problem(r, 460, "checksum_mismatch",
				     "The data does not match Upload-Checksum; it was discarded. "
				     "Send it again.");
			goto out;
		}
	}
	tus_settle(t);
	int64_t offset = t->start + t->written;
	int rc;
	if (t->error && t->alg != ALG_NONE) {
		tus_truncate(t, t->start); /* unverifiable: keep nothing */
		rc = upload_unlock(c, t->u.id, t->owner);
		offset = t->start;
	} else {
		int64_t expires = time_now_ms() + UPLOAD_TTL_MS;
		rc = upload_advance(c, t->u.id, t->owner, offset, expires);
		t->u.expires_at = expires;
	}
	t->finished = true;
	t->locked = false;
	if (rc == STORE_UPLOAD_LOST && !t->error)
		tus_fail(
		    t, 409, "upload_lock_lost",
		    "Another request took over this upload while this one was writing. Ask for the "
		    "offset (HEAD) and resume from there.");
	else if (rc && !t->error)
		tus_fail(t, 503, "database_unavailable",
			 "The upload's progress could not be recorded. Try again.");
	if (rc == STORE_OK) {
		snprintf(off, sizeof off, "%" PRId64, offset);
		http_add_header(r, "Upload-Offset", off);
	}
	if (t->error) {
		http_problem(r, t->error, t->code ? t->code : "storage_failed", "%s",
			     t->detail[0] ? t->detail
					  : "The data could not be written to disk. Try again.");
		goto out;
	}
	if (offset == t->u.length && !tus_finalize(r, c, t))
		goto out;
	http_date(t->u.expires_at, exp, sizeof exp);
	http_add_header(r, "Upload-Expires", exp);
	http_add_header(r, "X-Meeting-Id", t->u.meeting_id);
	http_reply_empty(r, 204);
out:;
}

static void tus_delete(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	struct tus *t = http_ctx(r);
	if (tus_load(cx, t, true)) {
		int rc = upload_terminate(c, t->p.org_id, t->u.id);
		if (rc == STORE_OK) {
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
}

#define UPLOAD_AUTH .auth = AUTH_BEARER, .db = DB_CONN_HELD

static const struct route ROUTES[] = {
    {.method = M_POST,
     .pattern = "/api/v1/meetings/{id}/upload",
     .body = BODY_STREAM,
     .check = direct_check,
     UPLOAD_AUTH,
     .open = direct_open,
     .chunk = direct_chunk,
     .run = direct_done,
     .perm = PERM_UPLOAD},
    {.method = M_OPTIONS, .pattern = "/api/v1/uploads", .run = tus_options},
    {.method = M_POST,
     .pattern = "/api/v1/uploads",
     .body = BODY_STREAM,
     .check = tus_post_check,
     UPLOAD_AUTH,
     .open = tus_post_open,
     .chunk = tus_chunk,
     .run = tus_post_done,
     .perm = PERM_UPLOAD},
    {.method = M_HEAD,
     .pattern = "/api/v1/uploads/{id}",
     .check = tus_check,
     UPLOAD_AUTH,
     .run = tus_head,
     .perm = PERM_UPLOAD},
    {.method = M_PATCH,
     .pattern = "/api/v1/uploads/{id}",
     .body = BODY_STREAM,
     .check = tus_patch_check,
     UPLOAD_AUTH,
     .open = tus_patch_open,
     .chunk = tus_chunk,
     .run = tus_patch_done,
     .perm = PERM_UPLOAD},
    {.method = M_DELETE,
     .pattern = "/api/v1/uploads/{id}",
     .check = tus_check,
     UPLOAD_AUTH,
     .run = tus_delete,
     .perm = PERM_UPLOAD},
};

size_t api_uploads_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
