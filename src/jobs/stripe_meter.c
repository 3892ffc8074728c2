#include "jobs/stripe_meter.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "billing/gateway.h"
#include "core/config.h"
#include "core/log.h"

static const struct config *g_cfg;

void job_stripe_meter_init(const struct config *cfg)
{
	g_cfg = cfg;
}

enum job_result job_stripe_meter(struct job_run *run)
{
	const char *org = NULL, *usage_id = NULL, *customer = NULL, *event = NULL;
	json_int_t value = 0, ts = 0;
	if (json_unpack(run->payload, "{s:s,s:s,s:s,s:s,s:I,s:I}", "org_id", &org, "usage_id",
			&usage_id, "customer", &customer, "event_name", &event, "value", &value,
			"timestamp", &ts) < 0 ||
	    value <= 0) {
		snprintf(run->error, sizeof run->error,
			 "the stripe_meter job's payload is damaged");
		log_error("overage not reported",
			  json_pack("{s:s,s:s}", "job_id", run->job->id, "error", run->error));
		return JOB_FAIL;
	}
	if (!g_cfg || !g_cfg->stripe_secret_key || !*g_cfg->stripe_secret_key) {
		/* Queued where Stripe is configured, run by a process without it: wait for one. */
		snprintf(run->error, sizeof run->error,
			 "Stripe is not configured here (IAM_STRIPE_SECRET_KEY)");
		return JOB_RETRY;
	}
	long status = 0;
	char err[512] = "";
	enum gateway_rc rc = stripe_meter_event(g_cfg, event, customer, (int64_t)value, usage_id,
						(int64_t)ts, &status, err, sizeof err);
	json_t *f = json_pack("{s:s,s:s,s:s,s:I,s:i,s:i}", "job_id", run->job->id, "org_id", org,
			      "usage_id", usage_id, "minutes", value, "status", (int)status,
			      "attempt", run->job->attempts);
	if (rc == GATEWAY_OK) {
		log_info("overage reported to stripe", f);
		return JOB_OK;
	}
	snprintf(run->error, sizeof run->error, "%s", err);
	json_object_set_new(f, "error", json_string(err));
	if (rc == GATEWAY_REFUSED) {
		log_error("overage refused by stripe: not retried", f);
		return JOB_FAIL;
	}
	log_warn("overage not reported yet: will retry", f);
	return JOB_RETRY;
}
