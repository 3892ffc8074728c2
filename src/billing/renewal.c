#include "billing/renewal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/gateway.h"
#include "billing/invoice_pdf.h"
#include "billing/tell.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "service/quota.h"
#include "store/billing.h"
#include "store/jobs.h"

int64_t renewal_add_month(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	tm.tm_mon += 1;
	return (int64_t)timegm(&tm) * 1000 + ms % 1000;
}

static enum store_rc queue_renewal(struct db_conn *c, const struct subscription *s, bool *queued)
{
	*queued = false;
	struct paygate_payment p;
	enum store_rc rc = billing_paygate_renewal_get(c, s->org_id, s->period_end, &p);
	if (rc != STORE_NOT_FOUND)
		return rc; /* initiated before (or an error) */
	char dedupe[96], id[UUID_STR_LEN];
	snprintf(dedupe, sizeof dedupe, "%s:%lld", s->org_id, (long long)s->period_end);
	json_t *j =
	    json_pack("{s:s,s:I}", "org_id", s->org_id, "period_end", (json_int_t)s->period_end);
	char *payload = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!payload)
		return STORE_ERROR;
	rc = job_enqueue(c, s->org_id, RENEWAL_KIND, payload, dedupe, RENEWAL_MAX_ATTEMPTS,
			 time_now_ms(), id);
	free(payload);
	if (rc == STORE_CONFLICT)
		return STORE_OK; /* queued already, not run yet */
	*queued = rc == STORE_OK;
	return rc;
}

enum store_rc renewal_sweep(struct db_conn *c, int64_t now, struct renewal_sweep *out)
{
	memset(out, 0, sizeof *out);
	struct subscription *subs = NULL;
	size_t n = 0;
	enum store_rc rc = billing_paygate_subscriptions(c, &subs, &n);
	if (rc)
		return rc;
	int64_t grace_ms = quota_grace_s() * 1000;
	for (size_t i = 0; i < n && !rc; i++) {
		struct subscription *s = &subs[i];
		if (!strcmp(s->state, "active") && s->period_end <= now) {
			/* Renewed ahead of time: the next month starts where this one ends. */
			struct paygate_payment p;
			rc = billing_paygate_renewal_get(c, s->org_id, s->period_end, &p);
			if (rc == STORE_OK && !strcmp(p.state, "paid")) {
				s->period_start = s->period_end;
				s->period_end = renewal_add_month(s->period_end);
				rc = billing_subscription_put(c, s);
				continue;
			}
			if (rc != STORE_NOT_FOUND && rc != STORE_OK)
				break;
			rc = STORE_OK;
			/* The period ended unpaid: past due from its end, the plan kept for the
			 * grace period. */
			snprintf(s->state, sizeof s->state, "past_due");
			s->past_due_since = s->period_end;
			rc = billing_subscription_put(c, s);
			out->past_due += !rc;
			log_info("paygate period ended unpaid",
				 json_pack("{s:s,s:s}", "org_id", s->org_id, "plan", s->plan_code));
		}
		if (!rc && !strcmp(s->state, "past_due") && now - s->past_due_since >= grace_ms) {
			/* Nothing is deleted: the organization is on Free, calendar months. */
			snprintf(s->state, sizeof s->state, "canceled");
			s->provider[0] = '\0';
			s->past_due_since = 0;
			rc = billing_subscription_put(c, s);
			out->downgraded += !rc;
			log_info("paygate subscription fell back to free",
				 json_pack("{s:s,s:s}", "org_id", s->org_id, "plan", s->plan_code));
			continue;
		}
		if (!rc && s->period_end - now <= RENEWAL_AHEAD_MS) {
			bool queued;
			rc = queue_renewal(c, s, &queued);
			out->queued += queued;
		}
	}
	free(subs);
	return rc;
}

enum store_rc renewal_paid(struct db_conn *c, const struct paygate_payment *pay, int64_t now,
			   struct subscription *s)
{
	enum store_rc rc = billing_subscription_get(c, pay->org_id, now, s);
	if (rc)
		return rc;
	bool current = !strcmp(s->provider, "paygate") && s->period_end == pay->renews_period_end &&
		       (!strcmp(s->state, "active") || !strcmp(s->state, "past_due"));
	if (current && !strcmp(s->state, "active") && now < s->period_end)
		return STORE_OK; /* paid ahead: the sweep starts the next month at the end */
	if (current) {
		/* Paid late, within the grace period: the next month from the old end. */
		s->period_start = s->period_end;
		s->period_end = renewal_add_month(s->period_end);
	} else {
		/* After the fallback to Free (or a change meanwhile): a month from now. */
		s->period_start = now;
		s->period_end = renewal_add_month(now);
		snprintf(s->plan_code, sizeof s->plan_code, "%s", pay->plan_code);
		snprintf(s->provider, sizeof s->provider, "paygate");
		snprintf(s->currency, sizeof s->currency, "ZAR");
		s->customer_id[0] = '\0';
		snprintf(s->subscription_id, sizeof s->subscription_id, "%s", pay->reference);
	}
	snprintf(s->state, sizeof s->state, "active");
	s->past_due_since = 0;
	s->provider_event_at = now;
	return billing_subscription_put(c, s);
}

/* The owners' pay-link mail and notification (inside the caller's transaction). */
static void tell_owners(struct db_conn *c, struct bus *bus, const char *org_id,
			const struct plan *plan, const struct invoice *inv, const char *url,
			int64_t period_end)
{
	char org[200] = "Your organization";
	billing_org_name(c, org_id, org, sizeof org);
	char money[48], due[40], subject[400], intro[1200];
	invoice_money(inv->total_minor, money, sizeof money);
	time_t t = (time_t)(period_end / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(due, sizeof due, "%Y-%m-%d %H:%M UTC", &tm);
	snprintf(subject, sizeof subject, "%s: pay ZAR %s to renew the %s plan", org, money,
		 plan->name);
	snprintf(intro, sizeof intro,
		 "The %s plan of %s renews on %s. Invoice %s for the next month is ZAR %s "
		 "(VAT included). Pay it with PayGate before then to keep the plan; unpaid, "
		 "the organization falls back to Free %lld days later (nothing is deleted).",
		 plan->name, org, due, inv->number, money, (long long)(quota_grace_s() / 86400));
	char note[3400];
	snprintf(note, sizeof note, "%s Pay: %s", intro, url);
	const struct billing_tell tell = {.type = "billing",
					  .note = note,
					  .subject = subject,
					  .intro = intro,
					  .button = "Pay with PayGate",
					  .link = url,
					  .outro =
					      "Questions about this invoice? Reply to this mail.",
					  .owners_only = true,
					  .log_context = "renewal"};
	billing_tell_managers(c, bus, org_id, &tell);
}

/* Step 1 (one transaction): the renewal payment row and its invoice, once. */
static enum store_rc prepare(struct db_conn *c, const char *org_id, int64_t period_end,
			     struct subscription *s, struct plan *plan, struct paygate_payment *pay,
			     struct invoice *inv, bool *nothing)
{
	*nothing = false;
	enum store_rc rc = billing_subscription_get(c, org_id, time_now_ms(), s);
	if (rc)
		return rc;
	if (strcmp(s->provider, "paygate") || s->period_end != period_end ||
	    (strcmp(s->state, "active") && strcmp(s->state, "past_due"))) {
		*nothing = true; /* paid, changed or canceled meanwhile */
		return STORE_OK;
	}
	rc = billing_plan_get(c, s->plan_code, plan);
	if (rc)
		return rc;
	if (plan->zar_minor <= 0) {
		*nothing = true;
		return STORE_OK;
	}
	rc = billing_paygate_renewal_get(c, org_id, period_end, pay);
	if (rc == STORE_NOT_FOUND) {
		memset(pay, 0, sizeof *pay);
		uuid_v7(pay->reference);
		snprintf(pay->org_id, sizeof pay->org_id, "%s", org_id);
		snprintf(pay->plan_code, sizeof pay->plan_code, "%s", plan->code);
		snprintf(pay->currency, sizeof pay->currency, "ZAR");
		snprintf(pay->state, sizeof pay->state, "initiated");
		pay->amount_minor = plan->zar_minor;
		pay->renews_period_end = period_end;
		rc = billing_paygate_create(c, pay);
	}
	if (rc)
		return rc;
	if (strcmp(pay->state, "initiated") || pay->pay_request_id[0]) {
		*nothing = true; /* paid, failed, or initiated and sent already */
		return STORE_OK;
	}
	memset(inv, 0, sizeof *inv);
	inv->total_minor = pay->amount_minor;
	inv->vat_percent = 0;
	inv->period_start = period_end;
	inv->period_end = renewal_add_month(period_end);
	snprintf(inv->org_id, sizeof inv->org_id, "%s", org_id);
	snprintf(inv->plan_code, sizeof inv->plan_code, "%s", pay->plan_code);
	snprintf(inv->currency, sizeof inv->currency, "ZAR");
	snprintf(inv->provider, sizeof inv->provider, "paygate");
	snprintf(inv->provider_ref, sizeof inv->provider_ref, "%s", pay->reference);
	return STORE_OK;
}

enum renewal_rc renewal_run(struct db *db, const struct config *cfg, struct bus *bus,
			    const char *org_id, int64_t period_end, char *err, size_t errlen)
{
	struct subscription s;
	struct plan plan;
	struct paygate_payment pay;
	struct invoice inv;
	bool nothing = false, created;
	struct db_conn *c = db_acquire_system(db, 10000);
	if (!c) {
		snprintf(err, errlen, "database unavailable");
		return RENEWAL_RETRY;
	}
	enum store_rc rc = store_rc_of(db_begin(c));
	if (!rc)
		rc = prepare(c, org_id, period_end, &s, &plan, &pay, &inv, &nothing);
	if (!rc && !nothing) {
		inv.vat_percent = cfg->vat_percent;
		rc = billing_invoice_open(c, &inv, &created);
	}
	if (!rc)
		rc = store_rc_of(db_commit(c));
	if (rc)
		db_rollback(c);
	/* The owner's e-mail for the payment page: the first owner's. */
	char email[256] = "";
	struct billing_manager *who = NULL;
	size_t n = 0;
	if (!rc && !nothing && !billing_org_managers(c, org_id, &who, &n))
		for (size_t i = 0; i < n && !email[0]; i++)
			if (!strcmp(who[i].role, "owner"))
				snprintf(email, sizeof email, "%s", who[i].email);
	free(who);
	db_release(c);
	if (rc) {
		snprintf(err, errlen, "database: %s", store_rc_name(rc));
		return RENEWAL_RETRY;
	}
	if (nothing)
		return RENEWAL_DONE;

	/* PayWeb3's payment request, without a connection held. */
	struct checkout_req req = {.org_id = org_id,
				   .email = email,
				   .plan = &plan,
				   .customer_id = "",
				   .reference = pay.reference,
				   .amount_minor = pay.amount_minor};
	struct checkout_res res = {0};
	enum gateway_rc grc = GATEWAY_PAYGATE.checkout(cfg, &req, &res, err, errlen);
	/* Not configured in this process: another worker (or a restart) may have it. */
	if (grc == GATEWAY_DOWN || grc == GATEWAY_OFF)
		return RENEWAL_RETRY;
	if (grc)
		return RENEWAL_FAIL;

	c = db_acquire_system(db, 10000);
	if (!c) {
		snprintf(err, errlen, "database unavailable");
		return RENEWAL_RETRY;
	}
	rc = store_rc_of(db_begin(c));
	if (!rc)
		rc = billing_paygate_set_link(c, pay.reference, res.session_id, res.url);
	if (!rc)
		tell_owners(c, bus, org_id, &plan, &inv, res.url, period_end);
	if (!rc)
		rc = store_rc_of(db_commit(c));
	if (rc)
		db_rollback(c);
	db_release(c);
	if (rc) {
		snprintf(err, errlen, "database: %s", store_rc_name(rc));
		return RENEWAL_RETRY;
	}
	log_info("paygate renewal sent",
		 json_pack("{s:s,s:s,s:s,s:I}", "org_id", org_id, "reference", pay.reference,
			   "invoice", inv.number, "amount_minor", (json_int_t)pay.amount_minor));
	return RENEWAL_DONE;
}
