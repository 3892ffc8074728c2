/*
 * api.h — the application's HTTP resources and the helpers they share.
 * Handlers validate, call store/ and auth/, and reply; they never write SQL.
 */
#ifndef IAM_API_H
#define IAM_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/authn.h"
#include "auth/jwt.h"
#include "core/config.h"
#include "export/export.h"
#include "http/http.h"
#include "http/jsonv.h"
#include "store/db.h"

struct bus;
#include "store/store.h"
#include "service/ingest.h"
#include "service/tickets.h"
#include "core/uuid.h"

#define ACCESS_TTL_S  900
#define DB_ACQUIRE_MS 5000

struct blob_store;
struct asr_chain;
struct jobs;

struct app {
	const struct config *cfg;
	struct db *db;
	struct jwt_key jwt;
	int64_t started_ms;
	struct blob_store *blob;
	struct asr_chain *asr; /* NULL in a process that runs no workers */
	struct jobs *jobs;     /* NULL in a process that runs no workers */
	unsigned char ticket_key[32];
	struct bus *bus; /* live events (bus/bus.h): WebSocket, SSE */
};

/* Authenticate like api_auth, but answer failures in OpenAI's error shape (openai.c). */
bool api_openai_auth(struct http_req *r, struct db_conn *c, struct principal *p);

/* Route tables, one per resource file. Each returns its count. */
size_t api_health_routes(const struct route **out);
size_t api_auth_routes(const struct route **out);
size_t api_users_routes(const struct route **out);
size_t api_api_keys_routes(const struct route **out);
size_t api_meetings_routes(const struct route **out);
size_t api_uploads_routes(const struct route **out);
size_t api_openai_routes(const struct route **out);
size_t api_transcripts_routes(const struct route **out);
size_t api_messages_routes(const struct route **out);
size_t api_notifications_routes(const struct route **out);
size_t api_account_routes(const struct route **out);
size_t api_oidc_routes(const struct route **out);
size_t api_realtime_routes(const struct route **out);
size_t api_presence_routes(const struct route **out);
/* For the WebSocket hub: the user's organizations now; -1 when no connection is idle (realtime.c).
 */
int api_user_orgs(void *app, const char *user_id, char (*out)[37], size_t max, size_t *n);
/* The credential of a WebSocket's auth message (http/ws.h ws_hub_opts.authenticate). */
int api_ws_authenticate(void *app, const char *ticket, const char *token, struct ws_accept *a,
			char *reason, size_t reason_len);

/*
 * Queue the mail that verifies u's address (account.c), and wake the
 * workers. A no-op (STORE_OK) without SMTP or when it is verified already.
 */
struct user;
struct membership;
struct session;
/* Reply status with a new token pair for session s, the user and the organization (auth.c). */
void api_reply_tokens(struct http_req *r, int status, const struct user *u,
		      const struct membership *m, const struct session *s, const char *refresh);
enum store_rc api_send_verification(struct app *app, struct db_conn *c, const struct user *u);
size_t api_insights_routes(const struct route **out);
size_t api_search_routes(const struct route **out);
size_t api_orgs_routes(const struct route **out);
size_t api_invitations_routes(const struct route **out);
size_t api_audit_routes(const struct route **out);
size_t api_usage_routes(const struct route **out);
size_t api_billing_routes(const struct route **out);
size_t api_collections_routes(const struct route **out);
size_t api_shares_routes(const struct route **out);
size_t api_chats_routes(const struct route **out);
/*
 * At shutdown, after the HTTP server stopped (its streams are gone, so the
 * model threads are told to stop): wait up to timeout_ms for them to end.
 * Returns how many still run (then the database must not be closed).
 */
int api_chats_drain(int timeout_ms);

/* ---- quotas (usage.c over service/quota.h) ---- */

struct quota_usage;
/* The sentence a 402 gives: what ran out, what is left, where to upgrade. */
void api_quota_detail(const struct quota_usage *u, char *detail, size_t len);
/* Reply 402 quota_exceeded with limit, used, requested, unit, resets_at and upgrade_url. */
void api_quota_problem(struct http_req *r, const struct quota_usage *u);
/*
 * The quota check before work starts: true when org may add amount of kind
 * (an int enum quota_kind); else replies 402 (or 503) and returns false.
 */
bool api_quota_allow(struct http_req *r, struct db_conn *c, const char *org_id, int kind,
		     int64_t amount);
/*
 * Count a request made with an API key against the plan's requests per
 * hour: sets RateLimit-Limit/-Remaining/-Reset; past the limit replies 429
 * rate_limited with Retry-After and returns false.
 */
bool api_rate_limit(struct http_req *r, struct db_conn *c, const struct principal *p);
/* After usage of kind (int enum quota_kind) grew: the 80 %/100 % warnings. */
void api_usage_after(struct app *app, struct db_conn *c, const char *org_id, int kind);

/* ---- the frame (frame.c) ---- */

/* Bytes of per-request scratch a route gets in api_ctx.in (JSON destinations, parsed query). */
#define API_IN_MAX 512

/* What a framed handler receives (see struct route in http/http.h). */
struct api_ctx {
	struct http_req *req;
	struct app *app;
	/* Borrowed for DB_CONN_HELD routes or by api_conn(); released by the frame. */
	struct db_conn *conn;
	/* The authenticated caller; NULL on AUTH_NONE routes and the end of a streamed body. */
	struct principal *principal;
	/* The JSON object of a route with a json spec (owned by the request), else NULL. */
	json_t *body;
	/* Zeroed scratch: the json spec's destinations, or what check parsed for run. */
	void *in;
};
/* cx->in as a T *, checked at compile time to fit API_IN_MAX. */
#define API_IN(cx, T) ((T *)(cx)->in + 0 * sizeof(char[sizeof(T) <= API_IN_MAX ? 1 : -1]))

/* The frame: http_server_opts.frame. */
void api_frame(struct http_req *r, const struct route *route, enum http_phase phase);
/*
 * Every route of the application, collected from the resource files
 * (malloc'd, exactly *n; the caller frees it after the server stopped).
 */
struct route *api_routes(size_t *n);
/*
 * The request's connection, borrowed now if the route did not hold one;
 * NULL after replying 503 when none came free. The frame releases it.
 */
struct db_conn *api_conn(struct api_ctx *cx);
/* Give the connection back early (before sending a file, a stream). */
void api_conn_release(struct api_ctx *cx);

static inline struct app *api_app(struct http_req *r)
{
	return http_app(r);
}

/* Borrow a database connection, or reply 503 and return NULL. Release with db_release. */
struct db_conn *api_db(struct http_req *r);
/*
 * True when a failed store call (rc) should be retried by the client: the
 * database is busy or unreachable (rc says so, or the last database error
 * on this thread did).
 */
bool api_db_retryable(enum store_rc rc);
/* Reply for a failed store call: 503 + Retry-After when api_db_retryable, else 500. */
void api_db_fail(struct http_req *r, enum store_rc rc, const char *what);

/*
 * For the HTTP server's stream re-check: 1 if session sid of user_id is
 * live, 0 if it ended (logout, revoked, expired), -1 if that cannot be
 * told now (no idle database connection: never waits for one).
 */
int api_session_live(void *app, const char *user_id, const char *sid);

/* Authenticate the caller, or reply 401 (with WWW-Authenticate) and return false. */
bool api_auth(struct http_req *r, struct db_conn *c, struct principal *p);

/*
 * List paging: ?limit= (1..100, default 20) and ?cursor= (opaque). On bad
 * input replies 400 and returns false. cursor_id is "" for the first page.
 */
bool api_page(struct http_req *r, int *limit, char cursor_id[UUID_STR_LEN]);
/* ?limit= alone (1..100, default 20): a field error in *errors when it is bad. */
void api_limit(struct http_req *r, int *limit, json_t **errors);
/* A route check (cx->in is a struct api_page_in) for list endpoints: api_page. */
struct api_page_in {
	int limit;
	char cursor[UUID_STR_LEN]; /* "" for the first page */
};
struct api_ctx;
void api_page_check(struct api_ctx *cx, json_t **errors);
/* The opaque cursor for a page that ends at id (json string). */
json_t *api_cursor(const char *id);

/* RFC 3339 string for Unix ms, or JSON null when ms is 0. */
json_t *api_time(int64_t ms);

/*
 * Normalise an email (trim, lower-case) into out and check its shape.
 * Returns false (and leaves a reason in *why) if it is not an address.
 */
bool api_email_normalize(const char *in, char *out, size_t outlen, const char **why);

/* Check a new password (length, not the email); adds errors under field. */
void api_password_rules(const char *pw, const char *email, const char *field, json_t **errors);

/* Failed-password throttling for one account (login, current_password). */
struct throttle_policy;
extern const struct throttle_policy API_ACCOUNT_POLICY;
/* The client's address, through trusted proxies (auth/clientaddr.h), into out[64]. */
void api_client_addr(struct http_req *r, char out[64]);
/* The throttle key for failed passwords of one account from one client. */
void api_account_key(const char *email, const char *client, char *out, size_t outlen);
/* 503 server_busy with Retry-After: no password-hashing slot came free in time. */
void api_hash_busy(struct http_req *r);
/* 429 too_many_attempts with Retry-After for a wait in ms. */
void api_too_many(struct http_req *r, int64_t wait_ms);

/* Audit context for this request. */
struct audit_ctx;
void api_audit_ctx(struct http_req *r, struct audit_ctx *ctx);
/*
 * Record an audit event for the caller (cx->principal: actor and
 * organization) on this request's connection: action ("meeting.read"), the
 * target's kind and id (may be NULL), details (stolen; may be NULL). A
 * failure is logged, never fails the request (audit.c).
 */
void api_audit(struct api_ctx *cx, const char *action, const char *target_type,
	       const char *target_id, json_t *details);
/*
 * api_audit for reads: the same caller reading the same target again
 * within API_AUDIT_READ_WINDOW_MS is not recorded again (polling, seeking).
 */
#define API_AUDIT_READ_WINDOW_MS (10 * 60 * 1000)
void api_audit_read(struct api_ctx *cx, const char *action, const char *target_type,
		    const char *target_id);

/* ---- audio intake (intake.c) ---- */

struct meeting;

/* A file being received into the blob store's spool, hashed as it arrives. */
struct spool {
	int fd;
	char path[1024];
	int64_t size;
	unsigned char sha[128] __attribute__((aligned(16))); /* struct crypto_sha256_ctx */
};
/* Create an empty spool file. 0 or -1. */
int spool_open(struct app *app, struct spool *s, const char *prefix);
/* Append data. 0 or -1 (errno). */
int spool_write(struct spool *s, const void *data, size_t len);
/* Close and remove the file if it is still there. */
void spool_discard(struct spool *s);

/* Wake this process's workers for a job just queued (call after building the reply). */
void api_jobs_wake(struct app *app);

/* HTTP status and problem code for an ingest result (0 and NULL for INGEST_OK). */
int api_ingest_status(enum ingest_rc rc, const char **code);
/* Reply 415/422/409/... for an ingest failure, with the service's detail. */
void api_ingest_problem(struct http_req *r, enum ingest_rc rc, const char *detail);

/* Meeting JSON (meetings.c). */
json_t *api_meeting_json(const struct meeting *m);
/*
 * The same with what the caller may do with m (permissions: by role,
 * collection grant and key scope): the reply of one meeting to its caller
 * (create, read, update, upload, transcribe). Caller owns the reference.
 */
json_t *api_meeting_json_for(struct api_ctx *cx, const struct meeting *m);
/*
 * Load the meeting in the path ({id}) when the caller may see it: as a
 * member of its organization or through a shared collection
 * (authz_meeting_access); 404 when not, 403 when the access is below need.
 * False after replying; on true the caller clears m (meetings.c).
 */
bool api_meeting_load(struct api_ctx *cx, struct meeting *m, enum meeting_access need);
/*
 * api_audit_read of meeting m, recorded in m's organization (a collection
 * guest reads in another organization than their active one).
 */
void api_meeting_audit_read(struct api_ctx *cx, const struct meeting *m, const char *action);

/*
 * Authenticate by header, or by ?ticket= for meeting_id. Replies 401 and
 * returns false when neither works.
 */
bool api_auth_or_ticket(struct http_req *r, struct db_conn *c, const char *meeting_id,
			struct principal *p);

/* ---- upload storage space (intake.c) ---- */

/* Bytes free in the upload storage, -1 when unknown. */
int64_t api_disk_free(struct app *app);
/*
 * Is there room for need more bytes while keeping IAM_DISK_MIN_FREE_MB
 * free? If not, replies 507 insufficient_storage and returns false.
 */
bool api_disk_room(struct http_req *r, int64_t need);
/* Reply 507 insufficient_storage. */
void api_storage_full(struct http_req *r);
/* {status: ok|low|unknown, free_bytes, min_free_bytes} for /readyz. */
json_t *api_disk_status(struct app *app);
/* Register the free-space gauges for /metrics (once, at start). */
void api_disk_metrics(struct app *app);

/* ---- Idempotency-Key on create endpoints (intake.c) ---- */

struct api_idem {
	bool on; /* a key was given and claimed: store or abandon it */
	char org_id[UUID_STR_LEN];
	char user_id[UUID_STR_LEN];
	char key[256];
};
/*
 * If the request carries Idempotency-Key, claim it for the caller with a
 * hash of the method, path and extra (the body, or what stands for it).
 * Returns true to go on (st->on when claimed). Returns false after
 * replying: the stored reply again (with Idempotent-Replayed: true), 422
 * idempotency_key_reused (another request), 409 idempotency_key_in_flight,
 * 400 invalid_idempotency_key.
 */
bool api_idem_begin(struct http_req *r, struct db_conn *c, const struct principal *p,
		    const char *extra, size_t extralen, struct api_idem *st);
/* Keep the reply (status, JSON body and headers {name: value}; borrowed) for 24 h. */
void api_idem_store(struct db_conn *c, struct api_idem *st, int status, const json_t *body,
		    const json_t *headers);
/* The request failed: forget the claim so a retry runs afresh. */
void api_idem_abandon(struct db_conn *c, struct api_idem *st);

/*
 * A transcript export of meeting m (insights.c): DOCX and PDF also show the
 * meeting's date and its stored insights (summary, action items) when there
 * are any; other formats are export_render's. Caller frees; NULL when out
 * of memory.
 */
struct transcript;
char *api_export_render(struct app *app, const char *org_id, const struct meeting *m,
			const struct transcript *t, enum export_format f, size_t *len);
/*
 * Start a login session for u in organization m and reply status with the
 * token pair, the user and the organization (auth.c). False after replying
 * with a failure.
 */
struct user;
struct membership;
bool api_start_session(struct http_req *r, struct db_conn *c, const struct user *u,
		       const struct membership *m, int status);
/* ---- organizations (orgs.c) ---- */
struct org;
/* An organization with the caller's role; active says whether it is active_org. */
json_t *api_org_full_json(const struct org *o, const char *active_org);
/*
 * May a caller with role mine grant role wanted? If not, replies 403
 * role_escalation and returns false.
 */
bool api_role_grantable(struct http_req *r, enum org_role mine, const char *wanted);
/* Route check: "role" in the body, when present, names a role. */
void api_role_check(struct api_ctx *cx, json_t **errors);

/* The name of a new account's personal organization (auth.c). */
void api_org_name_for(const struct user *u, char *out, size_t outlen);

/* Shared representations (users.c). */
struct user;
struct membership;
json_t *api_user_json(const struct user *u);
json_t *api_org_json(const struct membership *m);
/* Refuse control and bidi-override characters in first_name, last_name, company_name. */
void api_name_rules(json_t *in, json_t **errors);
#endif
