/*
 * usage.c — GET /api/v1/usage (the current period, limits, use, history by
 * day) and the HTTP face of the quota service (service/quota.h): the 402
 * quota_exceeded problem and the per-hour API request limit (429 with
 * Retry-After and RateLimit-* headers).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/authz.h"
#include "bus/bus.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "service/quota.h"

#define DAY_MS	     86400000LL
#define HISTORY_DAYS 31
#define UPGRADE_URL  "/billing"

static double minutes_of(int64_t seconds)
{
	return round((double)seconds / 60.0 * 100.0) / 100.0;
}

/* A limit or use in the unit the API shows: minutes for minutes, else as stored. */
static json_t *shown(enum quota_kind k, int64_t v)
{
	if (v < 0)
		return json_null();
	if (k == QUOTA_MINUTES)
		return v % 60 ? json_real(minutes_of(v)) : json_integer(v / 60);
	return json_integer(v);
}

static const char *unit_of(enum quota_kind k)
{
	return k == QUOTA_MINUTES ? "minutes" : k == QUOTA_STORAGE ? "bytes" : "messages";
}

/* "1.5 GB" style size for people (powers of 1024, as the limits are set). */
static void human_bytes(int64_t n, char *out, size_t len)
{
	static const char *const UNITS[] = {"bytes", "KB", "MB", "GB", "TB"};
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof UNITS / sizeof *UNITS) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%lld bytes", (long long)n);
	else
		snprintf(out, len, "%.1f %s", v, UNITS[u]);
}

void api_quota_detail(const struct quota_usage *u, char *detail, size_t len)
{
	char resets[40];
	time_rfc3339(u->resets_at, resets, sizeof resets);
	switch (u->kind) {
	case QUOTA_MINUTES:
		if (u->used >= u->limit)
			snprintf(detail, len,
				 "Your organization has used all %lld transcription minutes of its "
				 "%s plan for this period. Upgrade at %s or wait until %s.",
				 (long long)(u->limit / 60), u->plan_name, UPGRADE_URL, resets);
		else
			snprintf(detail, len,
				 "This audio is %.2f minutes long but only %.2f of your %lld "
				 "transcription minutes are left this period (%s plan); it was not "
				 "transcribed. Upgrade at %s or wait until %s.",
				 (double)u->requested / 60.0, (double)(u->limit - u->used) / 60.0,
				 (long long)(u->limit / 60), u->plan_name, UPGRADE_URL, resets);
		break;
	case QUOTA_STORAGE: {
		char lim[32], used[32];
		human_bytes(u->limit, lim, sizeof lim);
		human_bytes(u->used, used, sizeof used);
		snprintf(
		    detail, len,
		    "This upload would take your organization past its %s of storage (%s used, "
		    "%s plan). Delete audio you no longer need or upgrade at %s; nothing already "
		    "stored is touched.",
		    lim, used, u->plan_name, UPGRADE_URL);
		break;
	}
	case QUOTA_CHAT:
		snprintf(
		    detail, len,
		    "Your organization has used all %lld chat messages of its %s plan for this "
		    "period. Upgrade at %s or wait until %s.",
		    (long long)u->limit, u->plan_name, UPGRADE_URL, resets);
		break;
	}
}

void api_quota_problem(struct http_req *r, const struct quota_usage *u)
{
	char resets[40], detail[512];
	time_rfc3339(u->resets_at, resets, sizeof resets);
	api_quota_detail(u, detail, sizeof detail);
	json_t *p = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:s,s:s,s:s,s:s}", "type",
			      "/problems/quota_exceeded", "title", "Payment required", "status",
			      402, "detail", detail, "code", "quota_exceeded", "request_id",
			      http_request_id(r), "resource", quota_kind_name(u->kind), "limit",
			      shown(u->kind, u->limit), "used", shown(u->kind, u->used),
			      "requested", shown(u->kind, u->requested), "unit", unit_of(u->kind),
			      "plan", u->plan, "resets_at", resets, "upgrade_url", UPGRADE_URL);
	char *text = p ? json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(p);
	if (!text) {
		http_problem_internal(r, "quota problem");
		return;
	}
	http_reply_text(r, 402, "application/problem+json", text, strlen(text));
}

bool api_quota_allow(struct http_req *r, struct db_conn *c, const char *org_id, int kind,
		     int64_t amount)
{
	struct quota_usage u;
	enum quota_rc rc = quota_check(c, org_id, (enum quota_kind)kind, amount, &u);
	if (rc == QUOTA_OK)
		return true;
	if (rc == QUOTA_EXCEEDED)
		api_quota_problem(r, &u);
	else
		api_db_fail(r, STORE_ERROR, "quota check");
	return false;
}

bool api_rate_limit(struct http_req *r, struct db_conn *c, const struct principal *p)
{
	/* Developer API traffic (API keys) is what the plan's requests per hour count. */
	if (!p->via_api_key)
		return true;
	struct quota_rate q;
	int64_t now = time_now_ms();
	enum quota_rc rc = quota_api_hit(c, p->org_id, now, &q);
	if (rc == QUOTA_ERROR) {
		/* Counting failed: let the request through rather than fail the API on it. */
		log_warn("api request count failed", json_pack("{s:s}", "org_id", p->org_id));
		return true;
	}
	if (q.limit < 0)
		return true;
	char v[32];
	int64_t reset_s = (q.reset_ms - now + 999) / 1000;
	snprintf(v, sizeof v, "%lld", (long long)q.limit);
	http_add_header(r, "RateLimit-Limit", v);
	snprintf(v, sizeof v, "%lld", (long long)(q.count >= q.limit ? 0 : q.limit - q.count));
	http_add_header(r, "RateLimit-Remaining", v);
	snprintf(v, sizeof v, "%lld", (long long)reset_s);
	http_add_header(r, "RateLimit-Reset", v);
	if (rc == QUOTA_OK)
		return true;
	http_add_header(r, "Retry-After", v);
	http_problem(r, 429, "rate_limited",
		     "Your organization's plan allows %lld API requests per hour and they are used "
		     "up. Try again in %lld seconds, or upgrade at %s.",
		     (long long)q.limit, (long long)reset_s, UPGRADE_URL);
	return false;
}

void api_usage_after(struct app *app, struct db_conn *c, const char *org_id, int kind)
{
	quota_warn(c, app->bus, org_id, (enum quota_kind)kind);
}

static json_t *resource_json(enum quota_kind k, const struct quota_usage *u)
{
	json_t *o = json_pack("{s:o,s:o,s:s}", "limit", shown(k, u->limit), "used",
			      shown(k, u->used), "unit", unit_of(k));
	json_object_set_new(o, "remaining",
			    u->limit < 0 ? json_null()
					 : shown(k, u->used >= u->limit ? 0 : u->limit - u->used));
	if (k == QUOTA_MINUTES) {
		json_object_set_new(o, "used_seconds", json_integer(u->used));
		json_object_set_new(o, "overage_allowed", json_boolean(u->overage));
		/* Minutes past the quota on a plan that bills them instead of refusing. */
		int64_t past = u->limit >= 0 && u->used > u->limit ? u->used - u->limit : 0;
		json_object_set_new(o, "overage_minutes", json_real(minutes_of(past)));
	}
	return o;
}

static void get_usage(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	const char *org = cx->principal->org_id;
	int64_t now = time_now_ms();
	struct subscription sub;
	struct plan plan;
	struct quota_usage u[3];
	struct usage_day *days = NULL;
	size_t ndays = 0;
	enum store_rc rc = quota_effective(c, org, now, &sub, &plan);
	for (int k = 0; !rc && k < 3; k++)
		if (quota_usage(c, org, (enum quota_kind)k, &u[k]) != QUOTA_OK)
			rc = STORE_ERROR;
	int64_t window = now - now % 3600000LL, requests = 0;
	if (!rc)
		rc = billing_api_count(c, org, window, &requests);
	requests = quota_api_used(org, window, requests);
	int64_t from = sub.period_start;
	if (now - from > HISTORY_DAYS * DAY_MS)
		from = now - HISTORY_DAYS * DAY_MS;
	if (!rc)
		rc = billing_usage_by_day(c, org, from - from % DAY_MS, now + 1, &days, &ndays);
	if (rc) {
		api_db_fail(r, rc, "usage");
		return;
	}
	json_t *history = json_array();
	for (size_t i = 0; i < ndays; i++) {
		char day[40];
		time_rfc3339(days[i].day_ms, day, sizeof day);
		day[10] = '\0';
		json_array_append_new(history,
				      json_pack("{s:s,s:f,s:I,s:I,s:I}", "date", day, "minutes",
						minutes_of(days[i].seconds), "seconds",
						(json_int_t)days[i].seconds, "chat_messages",
						(json_int_t)days[i].chat_messages, "api_requests",
						(json_int_t)days[i].api_requests));
	}
	free(days);
	json_t *api = json_pack(
	    "{s:o,s:I,s:s,s:o}", "limit",
	    plan.api_requests_per_hour < 0 ? json_null() : json_integer(plan.api_requests_per_hour),
	    "used", (json_int_t)requests, "unit", "requests per hour", "resets_at",
	    api_time(window + 3600000LL));
	json_t *body = json_pack(
	    "{s:{s:s,s:s},s:{s:s,s:s,s:s,s:o},s:{s:o,s:o},s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "plan",
	    "code", plan.code, "name", plan.name, "subscription", "plan", sub.plan_code, "state",
	    sub.state, "currency", sub.currency, "past_due_since", api_time(sub.past_due_since),
	    "period", "start", api_time(sub.period_start), "end", api_time(sub.period_end),
	    "resets_at", api_time(sub.period_end), "minutes", resource_json(QUOTA_MINUTES, &u[0]),
	    "storage", resource_json(QUOTA_STORAGE, &u[1]), "chat_messages",
	    resource_json(QUOTA_CHAT, &u[2]), "api_requests", api, "history", history,
	    "upgrade_url", UPGRADE_URL);
	http_reply_json(r, 200, body);
}

static const struct route ROUTES[] = {
    {.method = M_GET,
     .pattern = "/api/v1/usage",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .perm = PERM_SEE_BILLING,
     .run = get_usage},
};

size_t api_usage_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
