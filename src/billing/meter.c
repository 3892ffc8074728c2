#include "billing/meter.h"

#include <math.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "service/quota.h"
#include "store/billing.h"

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
	enum store_rc rc = billing_usage_add(c, &u, &inserted);
	if (rc) {
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
	bool inserted = false;
	enum store_rc rc = billing_usage_add(c, &u, &inserted);
	if (!rc && inserted)
		quota_warn(c, bus, org_id, QUOTA_CHAT);
	return rc;
}
