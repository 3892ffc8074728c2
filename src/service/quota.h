/*
 * quota.h — the one place that decides whether an organization may start
 * work: upload (storage), transcribe (minutes), chat (messages) and the
 * per-hour API request limit. Checked before work starts; api/ turns a
 * refusal into 402 quota_exceeded (429 for the request rate).
 *
 * Which plan applies: the subscription's, except that a canceled
 * subscription, or one past due for longer than the grace period
 * (quota_set_grace_s), falls back to Free. Nothing stored is ever deleted
 * when a plan shrinks: only new work is refused.
 *
 * The race rule (by design, see README "Plans, quotas and billing"): a
 * check holds no lock while an upload streams or a job runs; the decisive
 * checks are serialized per organization instead. Minutes: the check and
 * the queueing are one transaction under the organization's lock, and
 * queued audio counts as used, so transcriptions started together never
 * pass the limit. Storage: an upload is refused up front when its
 * declared size does not fit, and when it lands (check and attach under
 * the organization's lock, quota_hold) only if the stored bytes have
 * already reached the limit; so of uploads racing for the last bytes at
 * most one lands past the limit (the one that crosses it), never more.
 */
#ifndef IAM_SERVICE_QUOTA_H
#define IAM_SERVICE_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "store/billing.h"

struct bus;

enum quota_kind { QUOTA_MINUTES = 0, QUOTA_STORAGE, QUOTA_CHAT };

enum quota_rc { QUOTA_OK = 0, QUOTA_EXCEEDED = 1, QUOTA_ERROR = -1 };

/* Where an organization stands for one kind, in its unit (seconds, bytes, messages). */
struct quota_usage {
	enum quota_kind kind;
	int64_t limit; /* -1 = unlimited */
	int64_t used;
	int64_t requested;		 /* what the refused work would have added */
	int64_t period_start, resets_at; /* Unix ms */
	char plan[PLAN_CODE_MAX];
	char plan_name[64];
	bool overage; /* the plan bills minutes past the limit instead of refusing */
};

/* How long a past-due subscription keeps its plan before Free applies (set once at start). */
void quota_set_grace_s(int64_t seconds);
int64_t quota_grace_s(void);

/* "minutes", "storage", "chat_messages". */
const char *quota_kind_name(enum quota_kind k);

/* Pure arithmetic: would requested more on top of used pass limit (-1 = unlimited)? */
bool quota_exceeds(int64_t limit, int64_t used, int64_t requested);
/* The highest warning threshold (100, 80) used has reached of limit, else 0. */
int quota_threshold(int64_t limit, int64_t used);

/*
 * Pure: the plan code that applies to sub at now_ms — Free once canceled,
 * or once past due for grace_s seconds or more; else its own plan.
 */
const char *quota_plan_code(const struct subscription *sub, int64_t now_ms, int64_t grace_s);

/*
 * The subscription and the plan that apply at now_ms (see above): a past
 * due subscription beyond its grace period, or a canceled one, is Free.
 */
enum store_rc quota_effective(struct db_conn *c, const char *org_id, int64_t now_ms,
			      struct subscription *sub, struct plan *plan);

/* Fill *u with limit and use of kind for org now (requested = 0). */
enum quota_rc quota_usage(struct db_conn *c, const char *org_id, enum quota_kind kind,
			  struct quota_usage *u);

/*
 * THE check: may org add amount (seconds, bytes, messages) of kind now?
 * QUOTA_OK, QUOTA_EXCEEDED (with *u filled for the 402), QUOTA_ERROR (the
 * database failed: callers answer 503, they do not let work through).
 */
enum quota_rc quota_check(struct db_conn *c, const char *org_id, enum quota_kind kind,
			  int64_t amount, struct quota_usage *u);

/*
 * How long a reserved chat message counts while its answer is written:
 * longer than any answer takes; a message whose answer never completed
 * gives its place back after it.
 */
#define QUOTA_RESERVE_TTL_MS (10LL * 60 * 1000)

/*
 * quota_check and, when it allows, a reservation of amount, as one step:
 * one transaction under the organization's lock (BEGIN IMMEDIATE on
 * SQLite, an advisory transaction lock on PostgreSQL), so requests racing
 * for the last of a quota never pass it together. The reservation counts
 * as used until metering turns it into the record (meter_chat_message) or
 * QUOTA_RESERVE_TTL_MS passes. For QUOTA_CHAT; c must not be inside a
 * transaction. Same results as quota_check.
 */
enum quota_rc quota_reserve(struct db_conn *c, const char *org_id, enum quota_kind kind,
			    int64_t amount, struct quota_usage *u);
/*
 * Give a reservation of kind back at once (the work it held a place for
 * failed and is not counted), rather than after QUOTA_RESERVE_TTL_MS.
 * Failures are logged; the reservation then lapses by itself.
 */
void quota_unreserve(struct db_conn *c, const char *org_id, enum quota_kind kind);

/*
 * Hold the organization's quota lock across a check and the write it
 * allows (the last storage check and attaching the file): at most one
 * such decision of an organization at a time, across processes on
 * PostgreSQL (a session advisory lock on c), in this process on SQLite
 * (one lock: SQLite installs run one process). Always release on c.
 */
enum store_rc quota_hold(struct db_conn *c, const char *org_id);
void quota_release(struct db_conn *c, const char *org_id);

/* The per-hour API request limit. */
struct quota_rate {
	int64_t limit;	  /* -1 = unlimited */
	int64_t count;	  /* requests in this window, this one included */
	int64_t reset_ms; /* when the window ends (Unix ms) */
};
/* Count one API request of org; QUOTA_EXCEEDED when it is past the plan's limit. */
enum quota_rc quota_api_hit(struct db_conn *c, const char *org_id, int64_t now_ms,
			    struct quota_rate *out);

/*
 * This process's view of org's API requests in the window starting
 * window_ms: the shared count read from the database (shared) plus what
 * this process counted and has not written yet.
 */
int64_t quota_api_used(const char *org_id, int64_t window_ms, int64_t shared);

/*
 * After usage grew: record the 80 % and 100 % warnings of kind once per
 * period and publish each as a "notification" event to the organization
 * (bus may be NULL: recorded only).
 */
void quota_warn(struct db_conn *c, struct bus *bus, const char *org_id, enum quota_kind kind);

#endif
