#include "billing/meter.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "service/quota.h"
#include "store/billing.h"
#include "store/jobs.h"

int64_t meter_seconds(double seconds)
{
	if (!(seconds > 0))
		return 0;
	if (seconds > 1e9)
		seconds = 1e9;
	/* Probed and decoded lengths differ by a few milliseconds: 60.004 s is one minute.
	 * (store/billing.c billing_pending_seconds rounds the same way.) */
	return (int64_t)ceil(seconds - 0.01);
}

int64_t meter_cost_per_minute(const char *engine)
{
	/* Hosted speech APIs bill per minute (OpenAI whisper-1: $0.006); ours run locally. */
	static const struct {
		const char *engine;
		int64_t micro_usd;
	} RATES[] = {{"openai", 6000}};
	for (size_t i = 0; i < sizeof RATES / sizeof *RATES; i++)
		if (engine && !strcmp(engine, RATES[i].engine))
			return RATES[i].micro_usd;
	return 0;
}

int64_t meter_overage_minutes(int64_t limit_s, int64_t used_s)
{
	if (limit_s < 0 || used_s <= limit_s)
		return 0;
	return (used_s - limit_s + 59) / 60;
}

/*
 * On a plan that bills minutes past its quota through a Stripe meter: the
 * overage minutes the record usage_id (quantity seconds, already inserted)
 * added, queued as a "stripe_meter" job. Called inside the metering
 * transaction, under the organization's lock, so concurrent records of one
 * organization see each other in order and their minutes add up.
 */
static enum store_rc queue_overage(struct db_conn *c, const char *org_id, const char *usage_id,
				   int64_t quantity, int64_t at_ms)
{
	struct subscription sub;
	struct plan plan;
	enum store_rc rc = quota_effective(c, org_id, at_ms, &sub, &plan);
	if (rc)
		return rc;
	if (!plan.overage_allowed || plan.minutes_per_month < 0)
		return STORE_OK;
	int64_t after = 0;
	rc = billing_usage_sum(c, org_id, USAGE_SECONDS, sub.period_start, sub.period_end, &after);
	if (rc)
		return rc;
	int64_t limit = plan.minutes_per_month * 60;
	int64_t minutes =
	    meter_overage_minutes(limit, after) - meter_overage_minutes(limit, after - quantity);
	if (minutes <= 0)
		return STORE_OK;
	if (strcmp(sub.provider, "stripe") || !sub.customer_id[0] || !plan.stripe_meter_event[0]) {
		/* Priced (GET /usage shows it) but nowhere to report it: say so for support. */
		log_warn("overage not reported to stripe",
			 json_pack("{s:s,s:s,s:I,s:s}", "org_id", org_id, "usage_id", usage_id,
				   "minutes", (json_int_t)minutes, "why",
				   plan.stripe_meter_event[0] ? "no stripe customer"
							      : "the plan has no stripe meter"));
		return STORE_OK;
	}
	json_t *p =
	    json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "org_id", org_id, "usage_id", usage_id,
		      "customer", sub.customer_id, "event_name", plan.stripe_meter_event, "value",
		      (json_int_t)minutes, "timestamp", (json_int_t)(at_ms / 1000));
	char *payload = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (!payload)
		return STORE_ERROR;
	char job_id[UUID_STR_LEN];
	rc = job_enqueue(c, org_id, METER_STRIPE_KIND, payload, usage_id, METER_STRIPE_ATTEMPTS,
			 time_now_ms(), job_id);
	free(payload);
	if (rc == STORE_CONFLICT)
		rc = STORE_OK; /* already queued for this record */
	if (!rc)
		log_info("overage queued for stripe",
			 json_pack("{s:s,s:s,s:I,s:s}", "org_id", org_id, "usage_id", usage_id,
				   "minutes", (json_int_t)minutes, "job_id", job_id));
	return rc;
}

enum store_rc meter_transcription(struct db_conn *c, struct bus *bus, const char *org_id,
				  const char *job_id, const char *meeting_id, double seconds,
				  const char *engine, const char *model)
{
	int64_t billed = meter_seconds(seconds);
	int64_t cost = (int64_t)llround((double)meter_cost_per_minute(engine) * seconds / 60.0);
	struct usage_record u = {.org_id = org_id,
				 .kind = USAGE_SECONDS,
				 .source_key = job_id,
				 .quantity = billed,
				 .meeting_id = meeting_id,
				 .provider = engine,
				 .model = model,
				 .cost_micro_usd = cost,
				 .at_ms = time_now_ms()};
	bool inserted = false;
	char usage_id[40] = "";
	/* The record and the overage it adds are one transaction under the organization's
	 * lock: a retried job never counts (or reports) twice, concurrent ones add up. */
	enum store_rc rc = store_rc_of(db_begin(c));
	if (!rc)
		rc = billing_org_lock_xact(c, org_id);
	if (!rc)
		rc = billing_usage_add_id(c, &u, &inserted, usage_id);
	if (!rc && inserted)
		rc = queue_overage(c, org_id, usage_id, billed, u.at_ms);
	if (!rc)
		rc = store_rc_of(db_commit(c));
	if (rc) {
		db_rollback(c);
		log_error("metering failed",
			  json_pack("{s:s,s:s,s:s}", "org_id", org_id, "meeting_id", meeting_id,
				    "rc", store_rc_name(rc)));
		return rc;
	}
	if (inserted)
		quota_warn(c, bus, org_id, QUOTA_MINUTES);
	return STORE_OK;
}

enum store_rc meter_chat_message(struct db_conn *c, struct bus *bus, const char *org_id,
				 const char *message_id)
{
	struct usage_record u = {.org_id = org_id,
				 .kind = USAGE_CHAT,
				 .source_key = message_id,
				 .quantity = 1,
				 .at_ms = time_now_ms()};
	bool inserted = false, claimed = false;
	/* The message's reservation (quota_reserve) becomes its record; without one (it
	 * expired, or the caller checked without reserving) a record is added. Under the
	 * organization's lock when we can open a transaction here. */
	bool tx = db_begin(c) == DB_OK;
	enum store_rc rc = tx ? billing_org_lock_xact(c, org_id) : STORE_OK;
	if (!rc)
		rc = billing_usage_claim(c, &u, &claimed);
	if (!rc && !claimed)
		rc = billing_usage_add(c, &u, &inserted);
	if (tx && !rc)
		rc = store_rc_of(db_commit(c));
	if (tx && rc)
		db_rollback(c);
	if (!rc && (inserted || claimed))
		quota_warn(c, bus, org_id, QUOTA_CHAT);
	return rc;
}
