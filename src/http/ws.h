/*
 * ws.h — WebSockets (RFC 6455): one hub, one epoll thread for every socket,
 * framing by wslay.
 *
 * The HTTP server upgrades a request (http_reply_websocket) and hands the
 * socket to the hub. The hub subscribes to the event bus and sends each
 * socket what is addressed to its user (BUS_USER) or to one of its
 * organizations (BUS_ORG) as {"type": T, "data": {...}}. It pings every
 * ping_s, closes sockets silent for idle_s (1001), messages over
 * max_message (1009), protocol errors (1002, by wslay), a client that does
 * not read once queue_bytes wait for it (1013), a session that ended (1008),
 * and everything with 1001 when the server stops.
 *
 * From the client: {"type":"ping","timestamp":x} is answered
 * {"type":"pong","timestamp":x}; {"type":"typing","to":USER} tells USER
 * (when they share an organization) {"type":"typing","data":{"from":ME}}.
 * Both are rate-limited; a flood is dropped, one that goes on closed 1008.
 * The hub publishes "presence" {user_id, status: online|offline} to the
 * user's organizations when their first socket here opens and their last
 * one closes.
 *
 * A socket upgraded without credentials (browsers cannot send headers) is
 * held unauthenticated: at most anon_per_addr per client address, no
 * events, no presence. Its first message must be {"type":"auth",
 * "ticket":T} or {"type":"auth","token":JWT} within auth_timeout_s; the
 * credential is checked on the hub's auth thread (the database may be
 * slow: the event thread never waits for it), and the socket then gets
 * {"type":"authenticated","data":{"user_id":U}} and its events. Any other
 * message first, silence, a bad credential or another user's id in the
 * path: closed 1008 with a reason that says what to do.
 */
#ifndef IAM_HTTP_WS_H
#define IAM_HTTP_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/uuid.h"

struct bus;
struct ws_hub;
struct ws_accept;

#define WS_MAX_ORGS 64

struct ws_hub_opts {
	int max;      /* sockets in all */
	int per_user; /* sockets per user */
	int ping_s, idle_s;
	size_t max_message, queue_bytes;
	struct bus *bus; /* events to deliver (may be NULL: pings only) */
	void *app;	 /* for session_live */
	/* 1 live, 0 ended, -1 cannot tell now; must not block (see http_server_opts). */
	int (*session_live)(void *app, const char *user_id, const char *session_id);
	/*
	 * The user's organizations now (at most max into out, their number in
	 * *n): 0, or -1 when that cannot be told now. Must not block. Each
	 * socket's organizations are re-read every two ping intervals, so a
	 * member who leaves (or joins) one stops (or starts) getting its events.
	 */
	int (*user_orgs)(void *app, const char *user_id, char (*out)[UUID_STR_LEN], size_t max,
			 size_t *n);
	int park_ms; /* a socket quiet this long frees its framing state (0: 2000) */
	/* Called once with ws_accept.tag (when set) when the socket ends, or is never adopted. */
	void (*release)(void *release_ctx, void *tag);
	void *release_ctx;
	int auth_timeout_s; /* an unauthenticated socket has this long to authenticate */
	int anon_per_addr;  /* unauthenticated sockets per client address */
	/*
	 * Check the credential of an auth message (ticket or token, the other
	 * NULL) for the socket a (path_user_id set): fill a's user, session and
	 * organizations and return WS_AUTH_OK; or WS_AUTH_DENIED with a reason
	 * (one sentence, < 100 bytes, for the close frame); or WS_AUTH_UNAVAILABLE
	 * (database down). Runs on the hub's auth thread: may wait, boundedly.
	 * NULL: sockets without credentials are refused (401 before the upgrade).
	 */
	int (*authenticate)(void *app, const char *ticket, const char *token, struct ws_accept *a,
			    char *reason, size_t reason_len);
};

enum { WS_AUTH_OK = 0, WS_AUTH_DENIED = 1, WS_AUTH_UNAVAILABLE = 2 };

/* Who a socket is for, decided before the upgrade. */
struct ws_accept {
	char user_id[UUID_STR_LEN];
	char session_id[UUID_STR_LEN];	 /* "" when not bound to a session (API key) */
	char path_user_id[UUID_STR_LEN]; /* {user_id} of the URL: must be user_id (else 1008) */
	char orgs[WS_MAX_ORGS][UUID_STR_LEN];
	size_t norgs;
	bool anonymous; /* no credentials yet: the first message must authenticate */
	void *tag;	/* the HTTP server's, handed to ws_hub_opts.release when the socket ends */
	char addr[48];	/* the client's address (anonymous sockets are capped per address) */
};

/* Start the hub's thread and subscribe it to the bus. NULL on failure. */
struct ws_hub *ws_hub_new(const struct ws_hub_opts *o);
/*
 * Close every socket (1001) and stop the thread; from then on reservations
 * are refused and sockets handed over are closed at once (an upgrade that
 * was under way). NULL is a no-op; twice is harmless.
 */
void ws_hub_stop(struct ws_hub *h);
/* Stop if needed and free: only once nothing can call the hub any more (MHD stopped). */
void ws_hub_free(struct ws_hub *h);

enum ws_reserve { WS_OK = 0, WS_FULL = 1, WS_USER_FULL = 2, WS_ADDR_FULL = 3 };
/* Take a slot for user_id before upgrading (caps); give it back with ws_hub_unreserve if unused. */
enum ws_reserve ws_hub_reserve(struct ws_hub *h, const char *user_id);
void ws_hub_unreserve(struct ws_hub *h, const char *user_id);
/* The same for an unauthenticated socket from addr (anon_per_addr). */
enum ws_reserve ws_hub_reserve_anon(struct ws_hub *h, const char *addr);
void ws_hub_unreserve_anon(struct ws_hub *h, const char *addr);
/* Whether sockets without credentials are taken (an authenticate callback is set). */
bool ws_hub_takes_anon(const struct ws_hub *h);

/*
 * Adopt an upgraded socket that holds a reservation: extra (bytes the
 * client sent after its head) is read first. The hub owns fd from now on
 * and closes it when done (also when it cannot adopt it). a is copied.
 */
void ws_hub_adopt(struct ws_hub *h, int fd, const char *extra, size_t extra_len,
		  const struct ws_accept *a);

/* Sockets open now. */
int ws_hub_count(struct ws_hub *h);

/*
 * Keep in ids (compacted to the front, order kept) the users with a socket
 * held by this process's hub (open, or reserved and being upgraded); returns
 * how many. The local view only: with several processes behind Redis, a user
 * whose socket another process holds is not counted (the presence events do
 * cross processes). Any thread; takes the hub's lock once.
 */
struct http_req;
size_t http_ws_online(struct http_req *r, char (*ids)[UUID_STR_LEN], size_t n);

/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: 0, or -1 when the key is malformed. */
int ws_accept_key(const char *key, char out[29]);

/*
 * The per-socket outbound queue (exposed for tests): messages shared by
 * reference between sockets, a byte count, and a limit.
 */
struct ws_msg {
	int refs;
	size_t len;
	char data[];
};
struct ws_msg *ws_msg_new(const char *data, size_t len); /* refs = 1; NULL when out of memory */
void ws_msg_unref(struct ws_msg *m);
struct ws_qent;
struct ws_queue {
	struct ws_qent *head, *tail;
	size_t bytes, count;
};
/* Append m (taking a reference) unless that would pass limit bytes: 0, or -1 (full, no change). */
int ws_queue_push(struct ws_queue *q, struct ws_msg *m, size_t limit);
/* The oldest message (its reference is the caller's), or NULL. */
struct ws_msg *ws_queue_pop(struct ws_queue *q);
void ws_queue_clear(struct ws_queue *q);

/* A token bucket: rate per second, burst at most. */
struct ws_bucket {
	double tokens;
	int64_t last_ms;
};
bool ws_bucket_take(struct ws_bucket *b, double rate, double burst, int64_t now_ms);

#endif
