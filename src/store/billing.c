#include "store/billing.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/timeutil.h"
#include "core/uuid.h"

#define PLAN_COLS                                                                                  \
	"p.code, p.name, p.position, p.minutes_per_month, p.storage_bytes,"                        \
	" p.chat_messages_per_month, p.api_requests_per_hour, p.overage_allowed,"                  \
	" (SELECT amount_minor FROM plan_prices WHERE plan_code = p.code AND currency = 'USD'),"   \
	" (SELECT amount_minor FROM plan_prices WHERE plan_code = p.code AND currency = 'ZAR'),"   \
	" (SELECT provider_price_id FROM plan_prices WHERE plan_code = p.code AND currency = "     \
	"'USD'),"                                                                                  \
	" (SELECT overage_minor_per_minute FROM plan_prices WHERE plan_code = p.code AND"          \
	" currency = 'USD'),"                                                                      \
	" (SELECT overage_minor_per_minute FROM plan_prices WHERE plan_code = p.code AND"          \
	" currency = 'ZAR'), p.stripe_meter_event"

static int64_t int_or_unlimited(const struct db_res *r, int col)
{
	return db_is_null(r, col) ? BILLING_UNLIMITED : db_int(r, col);
}

/* The first row of sql, read into out by read; STORE_NOT_FOUND when there is none. */
static enum store_rc row_one(struct db_conn *c, const char *sql, const struct db_param *p,
			     size_t np, store_row_fn read, void *out)
{
	int rc;
	struct db_res *r = db_query(c, sql, p, np, &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		read(r, out);
	db_res_free(r);
	return rc == 1 ? STORE_OK : rc == 0 ? STORE_NOT_FOUND : store_rc_of(rc);
}

/* The first column of the first row (0 when there is none, or it is NULL). */
static enum store_rc one_int(struct db_conn *c, const char *sql, const struct db_param *p,
			     size_t np, int64_t *out)
{
	int rc;
	*out = 0;
	struct db_res *r = db_query(c, sql, p, np, &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1 && !db_is_null(r, 0))
		*out = db_int(r, 0);
	db_res_free(r);
	return rc < 0 ? store_rc_of(rc) : STORE_OK;
}

/*
 * Every row of a list that only its data bounds (the plan catalogue,
 * PayGate's subscriptions), read with store_rows: count_sql counts the rows
 * sql reads, so the array is as long as the list. A row added between the
 * two queries is left for the next call.
 */
static enum store_rc rows_all(struct db_conn *c, const char *count_sql, const char *sql,
			      size_t size, store_row_fn read, void **out, size_t *n)
{
	int64_t count = 0;
	*out = NULL;
	*n = 0;
	enum store_rc src = one_int(c, count_sql, NULL, 0, &count);
	if (src)
		return src;
	int rc;
	struct db_res *r = db_query(c, sql, NULL, 0, &rc);
	return store_rows(r, rc, count < INT_MAX ? (int)count : INT_MAX, size, read, out, n);
}

static void plan_read(const struct db_res *r, void *elem)
{
	struct plan *p = elem;
	memset(p, 0, sizeof *p);
	store_copy(p->code, sizeof p->code, r, 0);
	store_copy(p->name, sizeof p->name, r, 1);
	p->position = (int)db_int(r, 2);
	p->minutes_per_month = int_or_unlimited(r, 3);
	p->storage_bytes = int_or_unlimited(r, 4);
	p->chat_messages_per_month = int_or_unlimited(r, 5);
	p->api_requests_per_hour = int_or_unlimited(r, 6);
	p->overage_allowed = db_int(r, 7) != 0;
	p->usd_minor = db_is_null(r, 8) ? -1 : db_int(r, 8);
	p->zar_minor = db_is_null(r, 9) ? -1 : db_int(r, 9);
	store_copy(p->stripe_price_id, sizeof p->stripe_price_id, r, 10);
	p->usd_overage_minor = db_int(r, 11);
	p->zar_overage_minor = db_int(r, 12);
	store_copy(p->stripe_meter_event, sizeof p->stripe_meter_event, r, 13);
}

enum store_rc billing_plan_get(struct db_conn *c, const char *code, struct plan *out)
{
	return row_one(c, "SELECT " PLAN_COLS " FROM plans p WHERE p.code = $1",
		       DB_PARAMS(DB_TEXT(code)), plan_read, out);
}

enum store_rc billing_plan_by_price(struct db_conn *c, const char *price_id, struct plan *out)
{
	return row_one(c,
		       "SELECT " PLAN_COLS " FROM plans p JOIN plan_prices pp ON pp.plan_code = "
		       "p.code WHERE pp.provider_price_id = $1 ORDER BY p.position LIMIT 1",
		       DB_PARAMS(DB_TEXT(price_id)), plan_read, out);
}

enum store_rc billing_plan_list(struct db_conn *c, struct plan **out, size_t *n)
{
	void *list;
	enum store_rc rc = rows_all(c, "SELECT COUNT(*) FROM plans",
				    "SELECT " PLAN_COLS " FROM plans p ORDER BY p.position, p.code",
				    sizeof **out, plan_read, &list, n);
	*out = list;
	return rc;
}

static struct db_param limit_param(int64_t v)
{
	return v < 0 ? DB_NULL : DB_INT(v);
}

enum store_rc billing_plan_put(struct db_conn *c, const struct plan *p)
{
	int64_t now = time_now_ms();
	return store_rc_of(db_exec(
	    c,
	    "INSERT INTO plans (code, name, position, minutes_per_month, storage_bytes,"
	    " chat_messages_per_month, api_requests_per_hour, overage_allowed, created_at,"
	    " updated_at, stripe_meter_event) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)"
	    " ON CONFLICT (code) DO UPDATE SET name = $2, position = $3, minutes_per_month = $4,"
	    " storage_bytes = $5, chat_messages_per_month = $6, api_requests_per_hour = $7,"
	    " overage_allowed = $8, updated_at = $9, stripe_meter_event = $10",
	    DB_PARAMS(DB_TEXT(p->code), DB_TEXT(p->name), DB_INT(p->position),
		      limit_param(p->minutes_per_month), limit_param(p->storage_bytes),
		      limit_param(p->chat_messages_per_month),
		      limit_param(p->api_requests_per_hour), DB_INT(p->overage_allowed ? 1 : 0),
		      DB_INT(now),
		      DB_TEXT(p->stripe_meter_event[0] ? p->stripe_meter_event : NULL)),
	    NULL));
}

enum store_rc billing_price_put(struct db_conn *c, const char *code, const char *currency,
				int64_t amount_minor, const char *price_id)
{
	if (amount_minor < 0)
		return store_rc_of(
		    db_exec(c, "DELETE FROM plan_prices WHERE plan_code = $1 AND currency = $2",
			    DB_PARAMS(DB_TEXT(code), DB_TEXT(currency)), NULL));
	return store_rc_of(db_exec(
	    c,
	    "INSERT INTO plan_prices (plan_code, currency, amount_minor, provider_price_id)"
	    " VALUES ($1, $2, $3, $4) ON CONFLICT (plan_code, currency) DO UPDATE SET"
	    " amount_minor = $3,"
	    " provider_price_id = COALESCE($4, plan_prices.provider_price_id)",
	    DB_PARAMS(DB_TEXT(code), DB_TEXT(currency), DB_INT(amount_minor), DB_TEXT(price_id)),
	    NULL));
}

enum store_rc billing_overage_put(struct db_conn *c, const char *code, const char *currency,
				  int64_t per_minute_minor)
{
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE plan_prices SET overage_minor_per_minute = $3 WHERE plan_code = $1"
			 " AND currency = $2",
			 DB_PARAMS(DB_TEXT(code), DB_TEXT(currency), DB_INT(per_minute_minor)),
			 &changes);
	if (rc)
		return store_rc_of(rc);
	return changes ? STORE_OK : STORE_NOT_FOUND;
}

/* The calendar month (UTC) containing ms. */
static void month_of(int64_t ms, int64_t *start, int64_t *end)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	*start = (int64_t)timegm(&tm) * 1000;
	tm.tm_mon += 1;
	*end = (int64_t)timegm(&tm) * 1000;
}

#define SUB_COLS                                                                                   \
	"org_id, plan_code, state, currency, COALESCE(provider, ''),"                              \
	" COALESCE(provider_customer_id, ''), COALESCE(provider_subscription_id, ''),"             \
	" period_start, period_end, COALESCE(past_due_since, 0), provider_event_at"

static void sub_read(const struct db_res *r, void *elem)
{
	struct subscription *s = elem;
	memset(s, 0, sizeof *s);
	store_copy(s->org_id, sizeof s->org_id, r, 0);
	store_copy(s->plan_code, sizeof s->plan_code, r, 1);
	store_copy(s->state, sizeof s->state, r, 2);
	store_copy(s->currency, sizeof s->currency, r, 3);
	store_copy(s->provider, sizeof s->provider, r, 4);
	store_copy(s->customer_id, sizeof s->customer_id, r, 5);
	store_copy(s->subscription_id, sizeof s->subscription_id, r, 6);
	s->period_start = db_int(r, 7);
	s->period_end = db_int(r, 8);
	s->past_due_since = db_int(r, 9);
	s->provider_event_at = db_int(r, 10);
	s->stored = true;
}

enum store_rc billing_subscription_get(struct db_conn *c, const char *org_id, int64_t now_ms,
				       struct subscription *out)
{
	enum store_rc rc = row_one(c, "SELECT " SUB_COLS " FROM subscriptions WHERE org_id = $1",
				   DB_PARAMS(DB_TEXT(org_id)), sub_read, out);
	bool stored = rc == STORE_OK;
	if (rc == STORE_NOT_FOUND) {
		memset(out, 0, sizeof *out);
		snprintf(out->org_id, sizeof out->org_id, "%s", org_id);
		snprintf(out->plan_code, sizeof out->plan_code, "free");
		snprintf(out->state, sizeof out->state, "active");
		snprintf(out->currency, sizeof out->currency, "USD");
	} else if (rc)
		return rc;
	/* Periods without a provider (Free, manual) follow the calendar month. */
	if (!stored || (!out->provider[0] && now_ms >= out->period_end))
		month_of(now_ms, &out->period_start, &out->period_end);
	return STORE_OK;
}

enum store_rc billing_subscription_put(struct db_conn *c, const struct subscription *s)
{
	int64_t now = time_now_ms();
	return store_rc_of(db_exec(
	    c,
	    "INSERT INTO subscriptions (org_id, plan_code, state, currency, provider,"
	    " provider_customer_id, provider_subscription_id, period_start, period_end,"
	    " past_due_since, provider_event_at, created_at, updated_at)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)"
	    " ON CONFLICT (org_id) DO UPDATE SET plan_code = $2, state = $3, currency = $4,"
	    " provider = $5, provider_customer_id = $6, provider_subscription_id = $7,"
	    " period_start = $8, period_end = $9, past_due_since = $10, provider_event_at = $11,"
	    " updated_at = $12",
	    DB_PARAMS(DB_TEXT(s->org_id), DB_TEXT(s->plan_code), DB_TEXT(s->state),
		      DB_TEXT(s->currency), DB_TEXT(s->provider[0] ? s->provider : NULL),
		      DB_TEXT(s->customer_id[0] ? s->customer_id : NULL),
		      DB_TEXT(s->subscription_id[0] ? s->subscription_id : NULL),
		      DB_INT(s->period_start), DB_INT(s->period_end),
		      s->past_due_since ? DB_INT(s->past_due_since) : DB_NULL,
		      DB_INT(s->provider_event_at), DB_INT(now)),
	    NULL));
}

enum store_rc billing_subscription_by_customer(struct db_conn *c, const char *provider,
					       const char *customer_id, struct subscription *out)
{
	return row_one(c,
		       "SELECT " SUB_COLS " FROM subscriptions WHERE provider = $1"
		       " AND provider_customer_id = $2",
		       DB_PARAMS(DB_TEXT(provider), DB_TEXT(customer_id)), sub_read, out);
}

enum store_rc billing_usage_add(struct db_conn *c, const struct usage_record *u, bool *inserted)
{
	char id[40];
	return billing_usage_add_id(c, u, inserted, id);
}

enum store_rc billing_usage_add_id(struct db_conn *c, const struct usage_record *u, bool *inserted,
				   char id[40])
{
	uuid_v7(id);
	int64_t changes = 0;
	int rc = db_exec(c,
			 "INSERT INTO usage_records (id, org_id, kind, source_key, quantity,"
			 " meeting_id, provider, model, transcription_cost, occurred_at)"
			 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
			 " ON CONFLICT (kind, source_key) DO NOTHING",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(u->org_id), DB_TEXT(u->kind),
				   DB_TEXT(u->source_key), DB_INT(u->quantity),
				   DB_TEXT(u->meeting_id), DB_TEXT(u->provider), DB_TEXT(u->model),
				   DB_INT(u->cost_micro_usd), DB_INT(u->at_ms)),
			 &changes);
	bool added = rc == DB_OK && changes > 0;
	if (inserted)
		*inserted = added;
	if (!added)
		id[0] = '\0';
	return store_rc_of(rc);
}

enum store_rc billing_usage_sum(struct db_conn *c, const char *org_id, const char *kind,
				int64_t from_ms, int64_t to_ms, int64_t *sum)
{
	/* Records, and reservations that have not expired (chat messages being answered). */
	return one_int(c,
		       "SELECT COALESCE(SUM(quantity), 0) FROM usage_records WHERE org_id = $1"
		       " AND kind = $2 AND occurred_at >= $3 AND occurred_at < $4"
		       " AND (expires_at IS NULL OR expires_at > $5)",
		       DB_PARAMS(DB_TEXT(org_id), DB_TEXT(kind), DB_INT(from_ms), DB_INT(to_ms),
				 DB_INT(time_now_ms())),
		       sum);
}

enum store_rc billing_usage_reserve(struct db_conn *c, const char *org_id, const char *kind,
				    int64_t quantity, int64_t now_ms, int64_t ttl_ms)
{
	char id[UUID_STR_LEN], key[64];
	uuid_v7(id);
	snprintf(key, sizeof key, "reserved:%s", id);
	/* Expired reservations of the organization go first: they count for nothing. */
	int rc = db_exec(c,
			 "DELETE FROM usage_records WHERE org_id = $1 AND expires_at IS NOT NULL"
			 " AND expires_at <= $2",
			 DB_PARAMS(DB_TEXT(org_id), DB_INT(now_ms)), NULL);
	if (rc)
		return store_rc_of(rc);
	return store_rc_of(db_exec(
	    c,
	    "INSERT INTO usage_records (id, org_id, kind, source_key, quantity, occurred_at,"
	    " expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(kind), DB_TEXT(key), DB_INT(quantity),
		      DB_INT(now_ms), DB_INT(now_ms + ttl_ms)),
	    NULL));
}

enum store_rc billing_usage_claim(struct db_conn *c, const struct usage_record *u, bool *claimed)
{
	*claimed = false;
	/* One statement: the oldest live reservation of the organization becomes the record,
	 * unless the record is there already. expires_at IS NOT NULL is checked again on the
	 * row actually updated, so two claims never take the same reservation. */
	for (int attempt = 0; attempt < 3 && !*claimed; attempt++) {
		int64_t changes = 0;
		int rc = db_exec(
		    c,
		    "UPDATE usage_records SET source_key = $3, expires_at = NULL, occurred_at = $4,"
		    " quantity = $5 WHERE id = (SELECT id FROM usage_records WHERE org_id = $1"
		    " AND kind = $2 AND expires_at > $4 ORDER BY expires_at, id LIMIT 1)"
		    " AND expires_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM usage_records"
		    " WHERE kind = $2 AND source_key = $3)",
		    DB_PARAMS(DB_TEXT(u->org_id), DB_TEXT(u->kind), DB_TEXT(u->source_key),
			      DB_INT(u->at_ms), DB_INT(u->quantity)),
		    &changes);
		if (rc)
			return store_rc_of(rc);
		if (changes > 0) {
			*claimed = true;
			break;
		}
		int64_t left = 0;
		enum store_rc src = one_int(
		    c,
		    "SELECT COUNT(*) FROM usage_records WHERE org_id = $1 AND kind = $2"
		    " AND expires_at > $3",
		    DB_PARAMS(DB_TEXT(u->org_id), DB_TEXT(u->kind), DB_INT(u->at_ms)), &left);
		if (src)
			return src;
		if (!left)
			break; /* nothing reserved (or expired): the caller records it plainly */
	}
	return STORE_OK;
}

enum store_rc billing_usage_release(struct db_conn *c, const char *org_id, const char *kind)
{
	return store_rc_of(db_exec(
	    c,
	    "DELETE FROM usage_records WHERE id = (SELECT id FROM usage_records WHERE org_id = $1"
	    " AND kind = $2 AND expires_at > $3 ORDER BY expires_at DESC, id DESC LIMIT 1)"
	    " AND expires_at IS NOT NULL",
	    DB_PARAMS(DB_TEXT(org_id), DB_TEXT(kind), DB_INT(time_now_ms())), NULL));
}

enum store_rc billing_pending_seconds(struct db_conn *c, const char *org_id, int64_t *sum)
{
	/* Rounded up per file in C, as metering does: SQL's CAST rounds in PostgreSQL and
	 * truncates in SQLite. Few rows: the organization's queued or running jobs. */
	int rc;
	*sum = 0;
	struct db_res *r =
	    db_query(c,
		     "SELECT duration_seconds FROM meetings WHERE org_id = $1"
		     " AND status IN ('queued', 'processing') AND duration_seconds > 0",
		     DB_PARAMS(DB_TEXT(org_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	int64_t total = 0;
	while ((rc = db_next(r)) == 1) {
		double d = db_double(r, 0);
		if (d > 1e9)
			d = 1e9;
		total += (int64_t)ceil(d - 0.01);
	}
	db_res_free(r);
	if (rc < 0)
		return store_rc_of(rc);
	*sum = total;
	return STORE_OK;
}

enum store_rc billing_stored_bytes(struct db_conn *c, const char *org_id, int64_t *sum)
{
	return one_int(c,
		       "SELECT COALESCE(SUM(file_size), 0) FROM meetings WHERE org_id = $1"
		       " AND audio_key IS NOT NULL",
		       DB_PARAMS(DB_TEXT(org_id)), sum);
}

#define DAY_MS 86400000LL

/* The UTC days [from, to) touches, as the query below groups them: the most rows it has. */
static int days_touched(int64_t from_ms, int64_t to_ms)
{
	if (to_ms <= from_ms)
		return 0;
	int64_t days = (to_ms - 1) / DAY_MS - from_ms / DAY_MS + 1;
	return days < BILLING_USAGE_DAYS_MAX ? (int)days : BILLING_USAGE_DAYS_MAX;
}

static void day_read(const struct db_res *r, void *elem)
{
	*(struct usage_day *)elem = (struct usage_day){.day_ms = db_int(r, 0),
						       .seconds = db_int(r, 1),
						       .chat_messages = db_int(r, 2),
						       .api_requests = db_int(r, 3)};
}

enum store_rc billing_usage_by_day(struct db_conn *c, const char *org_id, int64_t from_ms,
				   int64_t to_ms, struct usage_day **out, size_t *n)
{
	int rc;
	struct db_res *r = db_query(
	    c,
	    "SELECT d, SUM(s), SUM(m), SUM(a) FROM ("
	    " SELECT (occurred_at / 86400000) * 86400000 AS d,"
	    "  CASE WHEN kind = 'seconds' THEN quantity ELSE 0 END AS s,"
	    "  CASE WHEN kind = 'chat_messages' THEN quantity ELSE 0 END AS m, 0 AS a"
	    " FROM usage_records WHERE org_id = $1 AND occurred_at >= $2 AND occurred_at < $3"
	    " AND expires_at IS NULL"
	    " UNION ALL"
	    " SELECT (window_start / 86400000) * 86400000, 0, 0, requests"
	    " FROM api_request_windows WHERE org_id = $1 AND window_start >= $2"
	    " AND window_start < $3) u GROUP BY d ORDER BY d",
	    DB_PARAMS(DB_TEXT(org_id), DB_INT(from_ms), DB_INT(to_ms)), &rc);
	void *list;
	rc = store_rows(r, rc, days_touched(from_ms, to_ms), sizeof **out, day_read, &list, n);
	*out = list;
	return rc;
}

enum store_rc billing_api_hit(struct db_conn *c, const char *org_id, int64_t window_ms, int64_t n,
			      int64_t *count)
{
	/* One atomic upsert: racing requests of several processes all count. */
	return one_int(c,
		       "INSERT INTO api_request_windows (org_id, window_start, requests)"
		       " VALUES ($1, $2, $3) ON CONFLICT (org_id, window_start)"
		       " DO UPDATE SET requests = api_request_windows.requests + $3"
		       " RETURNING requests",
		       DB_PARAMS(DB_TEXT(org_id), DB_INT(window_ms), DB_INT(n)), count);
}

enum store_rc billing_api_count(struct db_conn *c, const char *org_id, int64_t window_ms,
				int64_t *count)
{
	return one_int(c,
		       "SELECT requests FROM api_request_windows WHERE org_id = $1"
		       " AND window_start = $2",
		       DB_PARAMS(DB_TEXT(org_id), DB_INT(window_ms)), count);
}

enum store_rc billing_warning_claim(struct db_conn *c, const char *org_id, const char *kind,
				    int64_t period_start, int threshold, bool *first)
{
	int64_t changes = 0;
	int rc = db_exec(c,
			 "INSERT INTO usage_warnings (org_id, kind, period_start, threshold,"
			 " created_at) VALUES ($1, $2, $3, $4, $5)"
			 " ON CONFLICT (org_id, kind, period_start, threshold) DO NOTHING",
			 DB_PARAMS(DB_TEXT(org_id), DB_TEXT(kind), DB_INT(period_start),
				   DB_INT(threshold), DB_INT(time_now_ms())),
			 &changes);
	*first = rc == DB_OK && changes > 0;
	return store_rc_of(rc);
}

static void manager_row(const struct db_res *r, void *elem)
{
	struct billing_manager *m = elem;
	store_copy(m->user_id, sizeof m->user_id, r, 0);
	store_copy(m->email, sizeof m->email, r, 1);
	store_copy(m->first_name, sizeof m->first_name, r, 2);
	store_copy(m->role, sizeof m->role, r, 3);
}

enum store_rc billing_org_managers(struct db_conn *c, const char *org_id,
				   struct billing_manager **out, size_t *n)
{
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT u.id, u.email, u.first_name, m.role FROM memberships m"
				    " JOIN users u ON u.id = m.user_id"
				    " WHERE m.org_id = $1 AND m.role IN ('owner', 'admin')"
				    " ORDER BY m.created_at, u.id LIMIT 50",
				    DB_PARAMS(DB_TEXT(org_id)), &rc);
	void *list;
	rc = store_rows(r, rc, 50, sizeof **out, manager_row, &list, n);
	*out = list;
	return rc;
}

enum store_rc billing_event_claim(struct db_conn *c, const char *provider, const char *event_id,
				  const char *type, const char *org_id, const char *outcome,
				  bool *first)
{
	int64_t changes = 0;
	int rc =
	    db_exec(c,
		    "INSERT INTO billing_events (provider, event_id, type, org_id, outcome,"
		    " received_at) VALUES ($1, $2, $3, $4, $5, $6)"
		    " ON CONFLICT (provider, event_id) DO NOTHING",
		    DB_PARAMS(DB_TEXT(provider), DB_TEXT(event_id), DB_TEXT(type), DB_TEXT(org_id),
			      DB_TEXT(outcome ? outcome : ""), DB_INT(time_now_ms())),
		    &changes);
	*first = rc == DB_OK && changes > 0;
	return store_rc_of(rc);
}

enum store_rc billing_event_forget(struct db_conn *c, const char *provider, const char *event_id)
{
	return store_rc_of(
	    db_exec(c, "DELETE FROM billing_events WHERE provider = $1 AND event_id = $2",
		    DB_PARAMS(DB_TEXT(provider), DB_TEXT(event_id)), NULL));
}

enum store_rc billing_org_exists(struct db_conn *c, const char *org_id)
{
	int64_t n = 0;
	enum store_rc rc = one_int(c, "SELECT COUNT(*) FROM organizations WHERE id = $1",
				   DB_PARAMS(DB_TEXT(org_id)), &n);
	return rc ? rc : n > 0 ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc billing_paygate_create(struct db_conn *c, const struct paygate_payment *p)
{
	int64_t now = time_now_ms();
	return store_rc_of(db_exec(
	    c,
	    "INSERT INTO paygate_payments (reference, org_id, plan_code, amount_minor, currency,"
	    " state, created_at, updated_at, renews_period_end)"
	    " VALUES ($1, $2, $3, $4, $5, 'initiated', $6, $6, $7)",
	    DB_PARAMS(DB_TEXT(p->reference), DB_TEXT(p->org_id), DB_TEXT(p->plan_code),
		      DB_INT(p->amount_minor), DB_TEXT(p->currency), DB_INT(now),
		      p->renews_period_end ? DB_INT(p->renews_period_end) : DB_NULL),
	    NULL));
}

enum store_rc billing_paygate_set_request(struct db_conn *c, const char *reference,
					  const char *pay_request_id)
{
	return store_rc_of(db_exec(
	    c,
	    "UPDATE paygate_payments SET pay_request_id = $2, updated_at = $3"
	    " WHERE reference = $1",
	    DB_PARAMS(DB_TEXT(reference), DB_TEXT(pay_request_id), DB_INT(time_now_ms())), NULL));
}

#define PAY_COLS                                                                                   \
	"reference, org_id, plan_code, amount_minor, currency, COALESCE(pay_request_id, ''),"      \
	" state, COALESCE(renews_period_end, 0), COALESCE(pay_url, '')"

static void pay_read(const struct db_res *r, void *elem)
{
	struct paygate_payment *out = elem;
	memset(out, 0, sizeof *out);
	store_copy(out->reference, sizeof out->reference, r, 0);
	store_copy(out->org_id, sizeof out->org_id, r, 1);
	store_copy(out->plan_code, sizeof out->plan_code, r, 2);
	out->amount_minor = db_int(r, 3);
	store_copy(out->currency, sizeof out->currency, r, 4);
	store_copy(out->pay_request_id, sizeof out->pay_request_id, r, 5);
	store_copy(out->state, sizeof out->state, r, 6);
	out->renews_period_end = db_int(r, 7);
	store_copy(out->pay_url, sizeof out->pay_url, r, 8);
}

enum store_rc billing_paygate_get(struct db_conn *c, const char *reference,
				  struct paygate_payment *out)
{
	return row_one(c, "SELECT " PAY_COLS " FROM paygate_payments WHERE reference = $1",
		       DB_PARAMS(DB_TEXT(reference)), pay_read, out);
}

enum store_rc billing_paygate_renewal_get(struct db_conn *c, const char *org_id, int64_t period_end,
					  struct paygate_payment *out)
{
	return row_one(c,
		       "SELECT " PAY_COLS " FROM paygate_payments WHERE org_id = $1"
		       " AND renews_period_end = $2",
		       DB_PARAMS(DB_TEXT(org_id), DB_INT(period_end)), pay_read, out);
}

enum store_rc billing_paygate_set_link(struct db_conn *c, const char *reference,
				       const char *pay_request_id, const char *pay_url)
{
	return store_rc_of(db_exec(c,
				   "UPDATE paygate_payments SET pay_request_id = $2, pay_url = $3,"
				   " updated_at = $4 WHERE reference = $1",
				   DB_PARAMS(DB_TEXT(reference), DB_TEXT(pay_request_id),
					     DB_TEXT(pay_url), DB_INT(time_now_ms())),
				   NULL));
}

#define PAYGATE_SUBS                                                                               \
	" FROM subscriptions WHERE provider = 'paygate' AND state IN ('active', 'past_due')"

enum store_rc billing_paygate_subscriptions(struct db_conn *c, struct subscription **out, size_t *n)
{
	void *list;
	enum store_rc rc = rows_all(c, "SELECT COUNT(*)" PAYGATE_SUBS,
				    "SELECT " SUB_COLS PAYGATE_SUBS " ORDER BY period_end",
				    sizeof **out, sub_read, &list, n);
	*out = list;
	return rc;
}

enum store_rc billing_paygate_set_state(struct db_conn *c, const char *reference, const char *state)
{
	return store_rc_of(db_exec(
	    c, "UPDATE paygate_payments SET state = $2, updated_at = $3 WHERE reference = $1",
	    DB_PARAMS(DB_TEXT(reference), DB_TEXT(state), DB_INT(time_now_ms())), NULL));
}

#define INV_COLS                                                                                   \
	"id, org_id, seq, number, plan_code, currency, subtotal_minor, vat_percent, vat_minor,"    \
	" total_minor, provider, provider_ref, period_start, period_end, issued_at"
#define INV_READ INV_COLS ", COALESCE(paid_at, 0)"

static void inv_read(const struct db_res *r, void *elem)
{
	struct invoice *v = elem;
	memset(v, 0, sizeof *v);
	store_copy(v->id, sizeof v->id, r, 0);
	store_copy(v->org_id, sizeof v->org_id, r, 1);
	v->seq = db_int(r, 2);
	store_copy(v->number, sizeof v->number, r, 3);
	store_copy(v->plan_code, sizeof v->plan_code, r, 4);
	store_copy(v->currency, sizeof v->currency, r, 5);
	v->subtotal_minor = db_int(r, 6);
	v->vat_percent = (int)db_int(r, 7);
	v->vat_minor = db_int(r, 8);
	v->total_minor = db_int(r, 9);
	store_copy(v->provider, sizeof v->provider, r, 10);
	store_copy(v->provider_ref, sizeof v->provider_ref, r, 11);
	v->period_start = db_int(r, 12);
	v->period_end = db_int(r, 13);
	v->issued_at = db_int(r, 14);
	v->paid_at = db_int(r, 15);
}

static enum store_rc invoice_add(struct db_conn *c, struct invoice *inv, bool *created, bool paid);

enum store_rc billing_invoice_add(struct db_conn *c, struct invoice *inv, bool *created)
{
	return invoice_add(c, inv, created, true);
}

enum store_rc billing_invoice_open(struct db_conn *c, struct invoice *inv, bool *created)
{
	return invoice_add(c, inv, created, false);
}

static enum store_rc invoice_add(struct db_conn *c, struct invoice *inv, bool *created, bool paid)
{
	*created = false;
	struct invoice old;
	enum store_rc rc =
	    row_one(c,
		    "SELECT " INV_READ " FROM invoices WHERE provider = $1"
		    " AND provider_ref = $2",
		    DB_PARAMS(DB_TEXT(inv->provider), DB_TEXT(inv->provider_ref)), inv_read, &old);
	if (rc == STORE_OK) {
		*inv = old;
		if (!paid || old.paid_at)
			return STORE_OK;
		/* Issued ahead (a renewal), paid now. */
		inv->paid_at = time_now_ms();
		return store_rc_of(
		    db_exec(c, "UPDATE invoices SET paid_at = $2 WHERE id = $1 AND paid_at IS NULL",
			    DB_PARAMS(DB_TEXT(old.id), DB_INT(inv->paid_at)), NULL));
	}
	if (rc != STORE_NOT_FOUND)
		return rc;
	int64_t seq = 0;
	rc = one_int(c, "SELECT COALESCE(MAX(seq), 0) + 1 FROM invoices WHERE org_id = $1",
		     DB_PARAMS(DB_TEXT(inv->org_id)), &seq);
	if (rc)
		return rc;
	/* VAT is included in the price: vat = total * p / (100 + p), rounded. */
	int p = inv->vat_percent;
	inv->vat_minor = p > 0 ? (inv->total_minor * p + (100 + p) / 2) / (100 + p) : 0;
	inv->subtotal_minor = inv->total_minor - inv->vat_minor;
	inv->seq = seq;
	snprintf(inv->number, sizeof inv->number, "INV-%06lld", (long long)seq);
	uuid_v7(inv->id);
	inv->issued_at = time_now_ms();
	inv->paid_at = paid ? inv->issued_at : 0;
	rc = store_rc_of(db_exec(
	    c,
	    "INSERT INTO invoices (" INV_COLS ", paid_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
	    " $9, $10, $11, $12, $13, $14, $15, $16)",
	    DB_PARAMS(DB_TEXT(inv->id), DB_TEXT(inv->org_id), DB_INT(seq), DB_TEXT(inv->number),
		      DB_TEXT(inv->plan_code), DB_TEXT(inv->currency), DB_INT(inv->subtotal_minor),
		      DB_INT(p), DB_INT(inv->vat_minor), DB_INT(inv->total_minor),
		      DB_TEXT(inv->provider), DB_TEXT(inv->provider_ref), DB_INT(inv->period_start),
		      DB_INT(inv->period_end), DB_INT(inv->issued_at),
		      paid ? DB_INT(inv->paid_at) : DB_NULL),
	    NULL));
	*created = rc == STORE_OK;
	return rc;
}

enum store_rc billing_invoice_list(struct db_conn *c, const char *org_id, int limit,
				   struct invoice **out, size_t *n)
{
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT " INV_READ " FROM invoices WHERE org_id = $1"
				    " ORDER BY seq DESC LIMIT $2",
				    DB_PARAMS(DB_TEXT(org_id), DB_INT(limit)), &rc);
	void *list;
	rc = store_rows(r, rc, limit, sizeof **out, inv_read, &list, n);
	*out = list;
	return rc;
}

enum store_rc billing_invoice_get(struct db_conn *c, const char *org_id, const char *id,
				  struct invoice *out)
{
	return row_one(c, "SELECT " INV_READ " FROM invoices WHERE org_id = $1 AND id = $2",
		       DB_PARAMS(DB_TEXT(org_id), DB_TEXT(id)), inv_read, out);
}

enum store_rc billing_org_name(struct db_conn *c, const char *org_id, char *out, size_t outlen)
{
	int rc;
	out[0] = '\0';
	struct db_res *r = db_query(c, "SELECT name FROM organizations WHERE id = $1",
				    DB_PARAMS(DB_TEXT(org_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		store_copy(out, outlen, r, 0);
	db_res_free(r);
	return rc == 1 ? STORE_OK : rc == 0 ? STORE_NOT_FOUND : store_rc_of(rc);
}

/* A 64-bit advisory-lock key for an organization: FNV-1a of its id, in a namespace of our own. */
static int64_t org_key(const char *org_id)
{
	uint64_t h = 1469598103934665603ULL ^ 0x1a4b11f0ULL;
	for (const unsigned char *p = (const unsigned char *)org_id; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return (int64_t)(h >> 1);
}

static enum store_rc pg_lock(struct db_conn *c, const char *fn, const char *org_id)
{
	if (db_conn_dialect(c) != DB_PG)
		return STORE_OK;
	char sql[80];
	snprintf(sql, sizeof sql, "SELECT %s($1)", fn);
	int64_t ignored; /* what the lock functions return */
	return one_int(c, sql, DB_PARAMS(DB_INT(org_key(org_id))), &ignored);
}

enum store_rc billing_org_lock_xact(struct db_conn *c, const char *org_id)
{
	return pg_lock(c, "pg_advisory_xact_lock", org_id);
}

enum store_rc billing_org_lock(struct db_conn *c, const char *org_id)
{
	return pg_lock(c, "pg_advisory_lock", org_id);
}

enum store_rc billing_org_unlock(struct db_conn *c, const char *org_id)
{
	return pg_lock(c, "pg_advisory_unlock", org_id);
}
