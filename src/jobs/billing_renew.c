#include "jobs/billing_renew.h"

#include <jansson.h>
#include <stdio.h>

#include "billing/renewal.h"
#include "core/config.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "jobs/transcribe.h"

static const struct config *g_cfg;

void job_billing_renew_init(const struct config *cfg)
{
	g_cfg = cfg;
}

/* Queue the sweep of the hour slot containing at_ms, to run at at_ms. */
static enum store_rc schedule(struct db_conn *c, int64_t at_ms)
{
	char dedupe[48], id[UUID_STR_LEN];
	snprintf(dedupe, sizeof dedupe, "sweep:%lld", (long long)(at_ms / RENEWAL_SWEEP_EVERY_MS));
	enum store_rc rc = job_enqueue(c, NULL, RENEWAL_SWEEP_KIND, "{}", dedupe, 3, at_ms, id);
	return rc == STORE_CONFLICT ? STORE_OK : rc;
}

int job_billing_sweep_schedule(struct db *db)
{
	struct db_conn *c = db_acquire_system(db, 10000);
	if (!c)
		return -1;
	enum store_rc rc = schedule(c, time_now_ms());
	db_release(c);
	return rc ? -1 : 0;
}

enum job_result job_billing_sweep(struct job_run *run)
{
	struct job_env *env = run->app;
	struct db_conn *c = db_acquire_system(env->db, 10000);
	if (!c) {
		snprintf(run->error, sizeof run->error, "database unavailable");
		return JOB_RETRY;
	}
	int64_t now = time_now_ms();
	struct renewal_sweep out;
	enum store_rc rc = store_rc_of(db_begin(c));
	if (!rc)
		rc = renewal_sweep(c, now, &out);
	if (!rc)
		rc = store_rc_of(db_commit(c));
	if (rc)
		db_rollback(c);
	/* The next one, whatever became of this one. */
	enum store_rc next =
	    schedule(c, now - now % RENEWAL_SWEEP_EVERY_MS + RENEWAL_SWEEP_EVERY_MS);
	db_release(c);
	if (next)
		log_warn("billing sweep: the next one is not queued",
			 json_pack("{s:s}", "rc", store_rc_name(next)));
	if (rc) {
		snprintf(run->error, sizeof run->error, "database: %s", store_rc_name(rc));
		return JOB_RETRY;
	}
	if (out.queued || out.past_due || out.downgraded)
		log_info("billing sweep",
			 json_pack("{s:i,s:i,s:i}", "renewals_queued", out.queued, "past_due",
				   out.past_due, "downgraded", out.downgraded));
	return JOB_OK;
}

enum job_result job_paygate_renew(struct job_run *run)
{
	struct job_env *env = run->app;
	const char *org = NULL;
	json_int_t period_end = 0;
	if (json_unpack(run->payload, "{s:s,s:I}", "org_id", &org, "period_end", &period_end) < 0) {
		snprintf(run->error, sizeof run->error,
			 "the paygate_renew job's payload is damaged");
		return JOB_FAIL;
	}
	if (!g_cfg) {
		snprintf(run->error, sizeof run->error, "not configured");
		return JOB_RETRY;
	}
	enum renewal_rc rc = renewal_run(env->db, g_cfg, env->bus, org, (int64_t)period_end,
					 run->error, sizeof run->error);
	if (rc == RENEWAL_DONE)
		return JOB_OK;
	json_t *f = json_pack("{s:s,s:s,s:i,s:s}", "job_id", run->job->id, "org_id", org, "attempt",
			      run->job->attempts, "error", run->error);
	if (rc == RENEWAL_FAIL) {
		log_error("paygate renewal failed: not retried", f);
		return JOB_FAIL;
	}
	log_warn("paygate renewal not sent yet: will retry", f);
	return JOB_RETRY;
}
