#include "service/quota.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/tell.h"
#include "bus/bus.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "mail/mail.h"

#define HOUR_MS 3600000LL

static _Atomic int64_t grace_seconds = 7 * 86400;

static pthread_mutex_t sqlite_quota_lock = PTHREAD_MUTEX_INITIALIZER;

enum store_rc quota_hold(struct db_conn *c, const char *org_id)
{
	if (db_conn_dialect(c) != DB_PG) {
		pthread_mutex_lock(&sqlite_quota_lock);
		return STORE_OK;
	}
	return billing_org_lock(c, org_id);
}

void quota_release(struct db_conn *c, const char *org_id)
{
	if (db_conn_dialect(c) != DB_PG) {
		pthread_mutex_unlock(&sqlite_quota_lock);
		return;
	}
	if (billing_org_unlock(c, org_id) != STORE_OK)
		log_error("quota lock not released", json_pack("{s:s}", "org_id", org_id));
}

void quota_set_grace_s(int64_t seconds)
{
	atomic_store(&grace_seconds, seconds);
}

int64_t quota_grace_s(void)
{
	return atomic_load(&grace_seconds);
}

const char *quota_kind_name(enum quota_kind k)
{
	switch (k) {
	case QUOTA_MINUTES:
		return "minutes";
	case QUOTA_STORAGE:
		return "storage";
	case QUOTA_CHAT:
		return "chat_messages";
	}
	return "unknown";
}

bool quota_exceeds(int64_t limit, int64_t used, int64_t requested)
{
	if (limit < 0)
		return false;
	if (requested < 0)
		requested = 0;
	/* used + requested > limit, without overflow */
	return used > limit || requested > limit - used;
}

int quota_threshold(int64_t limit, int64_t used)
{
	if (limit < 0)
		return 0;
	if (used >= limit)
		return 100;
	/* used * 100 >= limit * 80, in a form that cannot overflow for byte counts */
	if (used >= limit - limit / 5)
		return 80;
	return 0;
}

const char *quota_plan_code(const struct subscription *sub, int64_t now_ms, int64_t grace_s)
{
	if (!strcmp(sub->state, "canceled"))
		return "free";
	if (!strcmp(sub->state, "past_due") && now_ms - sub->past_due_since >= grace_s * 1000)
		return "free";
	return sub->plan_code;
}

enum store_rc quota_effective(struct db_conn *c, const char *org_id, int64_t now_ms,
			      struct subscription *sub, struct plan *plan)
{
	enum store_rc rc = billing_subscription_get(c, org_id, now_ms, sub);
	if (rc)
		return rc;
	const char *code = quota_plan_code(sub, now_ms, quota_grace_s());
	rc = billing_plan_get(c, code, plan);
	if (rc == STORE_NOT_FOUND && strcmp(code, "free"))
		rc = billing_plan_get(c, "free", plan); /* a plan removed from the catalogue */
	return rc;
}

static enum quota_rc fill(struct db_conn *c, const char *org_id, enum quota_kind kind,
			  struct quota_usage *u)
{
	struct subscription sub;
	struct plan plan;
	int64_t now = time_now_ms();
	memset(u, 0, sizeof *u);
	u->kind = kind;
	if (quota_effective(c, org_id, now, &sub, &plan))
		return QUOTA_ERROR;
	snprintf(u->plan, sizeof u->plan, "%s", plan.code);
	snprintf(u->plan_name, sizeof u->plan_name, "%s", plan.name);
	u->period_start = sub.period_start;
	u->resets_at = sub.period_end;
	enum store_rc rc = STORE_OK;
	int64_t a = 0, b = 0;
	switch (kind) {
	case QUOTA_MINUTES:
		u->limit = plan.minutes_per_month < 0 ? -1 : plan.minutes_per_month * 60;
		u->overage = plan.overage_allowed;
		rc = billing_usage_sum(c, org_id, USAGE_SECONDS, sub.period_start, sub.period_end,
				       &a);
		if (!rc)
			rc = billing_pending_seconds(c, org_id, &b);
		u->used = a + b;
		break;
	case QUOTA_STORAGE:
		u->limit = plan.storage_bytes;
		rc = billing_stored_bytes(c, org_id, &u->used);
		break;
	case QUOTA_CHAT:
		u->limit = plan.chat_messages_per_month;
		rc = billing_usage_sum(c, org_id, USAGE_CHAT, sub.period_start, sub.period_end,
				       &u->used);
		break;
	}
	return rc ? QUOTA_ERROR : QUOTA_OK;
}

enum quota_rc quota_usage(struct db_conn *c, const char *org_id, enum quota_kind kind,
			  struct quota_usage *u)
{
	return fill(c, org_id, kind, u);
}

enum quota_rc quota_check(struct db_conn *c, const char *org_id, enum quota_kind kind,
			  int64_t amount, struct quota_usage *u)
{
	if (fill(c, org_id, kind, u) != QUOTA_OK)
		return QUOTA_ERROR;
	u->requested = amount;
	if (kind == QUOTA_MINUTES && u->overage)
		return QUOTA_OK; /* billed per minute past the quota instead */
	return quota_exceeds(u->limit, u->used, amount) ? QUOTA_EXCEEDED : QUOTA_OK;
}

enum quota_rc quota_reserve(struct db_conn *c, const char *org_id, enum quota_kind kind,
			    int64_t amount, struct quota_usage *u)
{
	if (kind != QUOTA_CHAT)
		return quota_check(c, org_id, kind, amount, u);
	memset(u, 0, sizeof *u);
	if (db_begin(c) != DB_OK)
		return QUOTA_ERROR;
	enum quota_rc rc = QUOTA_ERROR;
	if (billing_org_lock_xact(c, org_id))
		goto fail;
	rc = quota_check(c, org_id, kind, amount, u);
	if (rc != QUOTA_OK)
		goto fail;
	if (billing_usage_reserve(c, org_id, USAGE_CHAT, amount, time_now_ms(),
				  QUOTA_RESERVE_TTL_MS) ||
	    db_commit(c) != DB_OK) {
		rc = QUOTA_ERROR;
		goto fail;
	}
	return QUOTA_OK;
fail:
	db_rollback(c);
	return rc;
}

void quota_unreserve(struct db_conn *c, const char *org_id, enum quota_kind kind)
{
	if (kind != QUOTA_CHAT || !c)
		return;
	enum store_rc rc = billing_usage_release(c, org_id, USAGE_CHAT);
	if (rc)
		log_warn("quota reservation not given back (it lapses by itself)",
			 json_pack("{s:s,s:s}", "org_id", org_id, "rc", store_rc_name(rc)));
}

/*
 * The API request counter, kept cheap: each process counts an organization's
 * requests in memory and adds them to the shared row (api_request_windows)
 * at most once a second or every RATE_BATCH requests; the decision is the
 * shared total last read plus what this process has not written yet. The
 * plan's limit is cached for RATE_LIMIT_TTL_MS. So with several processes
 * an organization may pass its hourly limit by at most about a second's
 * (or RATE_BATCH) requests per process; with one process it is exact.
 */
#define RATE_SLOTS	  512
#define RATE_BATCH	  16
#define RATE_FLUSH_MS	  1000
#define RATE_LIMIT_TTL_MS 30000

struct rate_slot {
	char org[40];
	int64_t window;	     /* hour start this slot counts */
	int64_t shared;	     /* the shared total as last read */
	int64_t pending;     /* counted here, not written yet */
	int64_t last_flush;  /* ms */
	int64_t limit;	     /* cached plan limit (-1 unlimited) */
	int64_t limit_until; /* ms; 0 = not known */
	int64_t used_at;     /* ms: for eviction */
};

static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rate_slot rate_slots[RATE_SLOTS];

static uint32_t rate_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of org (rate_lock held): found, a free one, or NULL when the probe is full. */
static struct rate_slot *rate_find(const char *org, int64_t now)
{
	uint32_t h = rate_hash(org);
	struct rate_slot *oldest = NULL;
	for (uint32_t i = 0; i < 8; i++) {
		struct rate_slot *s = &rate_slots[(h + i) % RATE_SLOTS];
		if (!strcmp(s->org, org))
			return s;
		if (!s->org[0] || (!s->pending && now - s->used_at > HOUR_MS)) {
			memset(s, 0, sizeof *s);
			snprintf(s->org, sizeof s->org, "%s", org);
			return s;
		}
		if (!s->pending && (!oldest || s->used_at < oldest->used_at))
			oldest = s;
	}
	if (oldest) { /* nothing unwritten in it: safe to reuse */
		memset(oldest, 0, sizeof *oldest);
		snprintf(oldest->org, sizeof oldest->org, "%s", org);
	}
	return oldest;
}

enum quota_rc quota_api_hit(struct db_conn *c, const char *org_id, int64_t now_ms,
			    struct quota_rate *out)
{
	int64_t window = now_ms - now_ms % HOUR_MS;
	memset(out, 0, sizeof *out);
	out->reset_ms = window + HOUR_MS;
	if (strlen(org_id) >= 40)
		return QUOTA_ERROR;
	int64_t old_window = 0, old_pending = 0, flush = 0, limit = -1;
	bool need_limit;
	pthread_mutex_lock(&rate_lock);
	struct rate_slot *s = rate_find(org_id, now_ms);
	if (!s) {
		pthread_mutex_unlock(&rate_lock);
		/* Every slot near it is busy: count straight in the database. */
		struct subscription sub;
		struct plan plan;
		if (quota_effective(c, org_id, now_ms, &sub, &plan))
			return QUOTA_ERROR;
		out->limit = plan.api_requests_per_hour;
		if (billing_api_hit(c, org_id, window, 1, &out->count))
			return QUOTA_ERROR;
		return out->limit >= 0 && out->count > out->limit ? QUOTA_EXCEEDED : QUOTA_OK;
	}
	if (s->window != window) {
		old_window = s->window;
		old_pending = s->pending;
		s->window = window;
		s->shared = s->pending = s->last_flush = 0;
	}
	s->used_at = now_ms;
	s->pending++;
	out->count = s->shared + s->pending;
	if (now_ms - s->last_flush >= RATE_FLUSH_MS || s->pending >= RATE_BATCH) {
		flush = s->pending;
		s->pending = 0;
		s->last_flush = now_ms;
	}
	need_limit = now_ms >= s->limit_until;
	limit = s->limit;
	pthread_mutex_unlock(&rate_lock);

	if (old_pending > 0 && old_window > 0) {
		int64_t ignored;
		billing_api_hit(c, org_id, old_window, old_pending, &ignored);
	}
	enum quota_rc rc = QUOTA_OK;
	if (need_limit) {
		struct subscription sub;
		struct plan plan;
		if (quota_effective(c, org_id, now_ms, &sub, &plan)) {
			rc = QUOTA_ERROR;
		} else {
			limit = plan.api_requests_per_hour;
			pthread_mutex_lock(&rate_lock);
			if (!strcmp(s->org, org_id)) {
				s->limit = limit;
				s->limit_until = now_ms + RATE_LIMIT_TTL_MS;
			}
			pthread_mutex_unlock(&rate_lock);
		}
	}
	if (flush > 0) {
		int64_t total;
		enum store_rc src = billing_api_hit(c, org_id, window, flush, &total);
		pthread_mutex_lock(&rate_lock);
		if (!strcmp(s->org, org_id) && s->window == window) {
			if (src) {
				s->pending += flush; /* written next time */
				s->last_flush = 0;
			} else {
				s->shared = total;
				if (total + s->pending > out->count)
					out->count = total + s->pending;
			}
		}
		pthread_mutex_unlock(&rate_lock);
		if (src)
			rc = QUOTA_ERROR;
	}
	out->limit = limit;
	if (rc == QUOTA_ERROR)
		return rc;
	return limit >= 0 && out->count > limit ? QUOTA_EXCEEDED : QUOTA_OK;
}

int64_t quota_api_used(const char *org_id, int64_t window_ms, int64_t shared)
{
	int64_t used = shared;
	pthread_mutex_lock(&rate_lock);
	uint32_t h = rate_hash(org_id);
	for (uint32_t i = 0; i < 8; i++) {
		struct rate_slot *s = &rate_slots[(h + i) % RATE_SLOTS];
		if (!strcmp(s->org, org_id)) {
			if (s->window == window_ms && s->shared + s->pending > used)
				used = s->shared + s->pending;
			break;
		}
	}
	pthread_mutex_unlock(&rate_lock);
	return used;
}

/* A byte count as GiB with one decimal ("0.8 GiB"), for people. */
static void gib(int64_t bytes, char *out, size_t len)
{
	snprintf(out, len, "%.1f GiB", (double)bytes / (1024.0 * 1024.0 * 1024.0));
}

/*
 * Tell the organization's owners and admins that kind reached threshold t:
 * a stored notification each (their in-app preference decides) and an
 * e-mail each through the mail job, unless they turned quota_warning
 * e-mails off (on by default: the warning is about money).
 */
static void warn_people(struct db_conn *c, struct bus *bus, const char *org_id,
			const struct quota_usage *u, int t)
{
	char org[200] = "Your organization";
	billing_org_name(c, org_id, org, sizeof org);
	char used[40], limit[40], when[40], what[40];
	const char *unit = u->kind == QUOTA_MINUTES   ? "transcription minutes"
			   : u->kind == QUOTA_STORAGE ? "storage"
						      : "chat messages";
	switch (u->kind) {
	case QUOTA_MINUTES:
		snprintf(used, sizeof used, "%lld", (long long)(u->used / 60));
		snprintf(limit, sizeof limit, "%lld minutes", (long long)(u->limit / 60));
		break;
	case QUOTA_STORAGE:
		gib(u->used, used, sizeof used);
		gib(u->limit, limit, sizeof limit);
		break;
	case QUOTA_CHAT:
		snprintf(used, sizeof used, "%lld", (long long)u->used);
		snprintf(limit, sizeof limit, "%lld chat messages", (long long)u->limit);
		break;
	}
	time_t rt = (time_t)(u->resets_at / 1000);
	struct tm tm;
	gmtime_r(&rt, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
	snprintf(what, sizeof what, "%s", t >= 100 ? "all" : "80%");
	char subject[300], intro[900], note[300], link[600];
	snprintf(subject, sizeof subject, "%s has used %s of its %s", org, what, unit);
	if (t >= 100 && u->kind == QUOTA_MINUTES && u->overage)
		snprintf(note, sizeof note,
			 "Minutes past the limit are billed per minute on the %s plan.",
			 u->plan_name);
	else if (t >= 100)
		snprintf(note, sizeof note,
			 "New work that needs more is refused until then; nothing stored is "
			 "touched. Upgrade the plan to go on now.");
	else
		snprintf(note, sizeof note,
			 "At 100%% new work that needs more is refused until the period resets.");
	snprintf(intro, sizeof intro,
		 "%s has used %s of its %s (%d%%) on the %s plan this period. The %s limit "
		 "resets on %s. %s",
		 org, used, limit, t, u->plan_name, unit, when, note);
	snprintf(link, sizeof link, "%s/billing", mail_public_url());
	const struct billing_tell tell = {
	    .type = "quota_warning",
	    .note = intro,
	    .subject = subject,
	    .intro = intro,
	    .button = "See usage and plans",
	    .link = link,
	    .outro = "You get this once per billing period for each limit.",
	    .log_context = "usage warning"};
	billing_tell_managers(c, bus, org_id, &tell);
}

void quota_warn(struct db_conn *c, struct bus *bus, const char *org_id, enum quota_kind kind)
{
	struct quota_usage u;
	if (fill(c, org_id, kind, &u) != QUOTA_OK)
		return;
	int reached = quota_threshold(u.limit, u.used);
	static const int THRESHOLDS[] = {80, 100};
	for (size_t i = 0; i < sizeof THRESHOLDS / sizeof *THRESHOLDS; i++) {
		int t = THRESHOLDS[i];
		bool first = false;
		if (reached < t ||
		    billing_warning_claim(c, org_id, quota_kind_name(kind), u.period_start, t,
					  &first) ||
		    !first)
			continue;
		/* The live org-wide event pages show as it happens (as before), then the
		 * owners' and admins' stored notifications and mails. */
		char resets[40], msg[200];
		time_rfc3339(u.resets_at, resets, sizeof resets);
		snprintf(msg, sizeof msg,
			 t >= 100 ? "Your organization has used all of its %s for this period."
				  : "Your organization has used 80%% of its %s for this period.",
			 kind == QUOTA_STORAGE ? "storage" : quota_kind_name(kind));
		json_t *data =
		    json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:s,s:s,s:s}", "kind", "usage_warning",
			      "title", t >= 100 ? "Quota reached" : "Quota almost used", "resource",
			      quota_kind_name(kind), "threshold", t, "limit",
			      (json_int_t)(kind == QUOTA_MINUTES ? u.limit / 60 : u.limit), "used",
			      (json_int_t)(kind == QUOTA_MINUTES ? u.used / 60 : u.used),
			      "resets_at", resets, "message", msg, "upgrade_url", "/billing");
		if (bus && data)
			bus_publish(bus, BUS_ORG, org_id, "notification", data);
		json_decref(data);
		warn_people(c, bus, org_id, &u, t);
		log_info("usage warning", json_pack("{s:s,s:s,s:i}", "org_id", org_id, "resource",
						    quota_kind_name(kind), "threshold", t));
	}
}
