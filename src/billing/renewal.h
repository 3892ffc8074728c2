/*
 * renewal.h — monthly renewal of subscriptions paid through PayGate (ZAR).
 * PayWeb3 takes one payment at a time, so each month is paid by a link:
 *
 *   sweep (hourly job "billing_sweep", or `iamd plans renew`):
 *     active, period ends within RENEWAL_AHEAD_MS  -> queue "paygate_renew"
 *     active, period ended, not paid               -> past_due (grace starts
 *                                                      at the period's end)
 *     past due for the grace period (quota_grace_s) -> canceled: Free, with
 *                                                      calendar-month periods
 *   "paygate_renew" job: the next month's invoice (issued unpaid), a
 *     PayWeb3 payment request (initiate.trans) for the plan's ZAR price,
 *     and the pay link to the organization's owners by e-mail and
 *     notification; once per organization and period.
 *   PayGate's paid notify (api/billing.c, renewal_paid) marks the invoice
 *     paid; the period then goes on a month from its old end (at once when
 *     paid late, at the end by the sweep when paid ahead).
 *
 * The grace period is the one Stripe subscriptions get
 * (IAM_BILLING_GRACE_DAYS): quota/plan fallback as in service/quota.h.
 */
#ifndef IAM_BILLING_RENEWAL_H
#define IAM_BILLING_RENEWAL_H

#include <stdint.h>

#include "core/config.h"
#include "store/store.h"

struct bus;

#define RENEWAL_AHEAD_MS       (3LL * 86400000) /* the pay link goes out 3 days ahead */
#define RENEWAL_KIND	       "paygate_renew"
#define RENEWAL_SWEEP_KIND     "billing_sweep"
#define RENEWAL_MAX_ATTEMPTS   8
#define RENEWAL_SWEEP_EVERY_MS 3600000LL

struct renewal_sweep {
	int queued;	/* renewal jobs queued */
	int past_due;	/* periods that ended unpaid */
	int downgraded; /* past due beyond the grace period: now Free */
};

/*
 * One sweep at now_ms (the clock, or a chosen time for `iamd plans renew
 * --now`). Idempotent: a renewal already initiated or queued is not
 * queued again. Returns the store result; *out counts what changed.
 */
enum store_rc renewal_sweep(struct db_conn *c, int64_t now_ms, struct renewal_sweep *out);

enum renewal_rc {
	RENEWAL_DONE = 0,  /* initiated and sent, or nothing (any longer) to do */
	RENEWAL_RETRY = 1, /* the database or PayGate failed, or not configured here: later */
	RENEWAL_FAIL = 2,  /* PayGate refused: err says why */
};

/*
 * The "paygate_renew" job's work for org_id's period ending period_end:
 * invoice, payment request, pay link to the owners (mail through the mail
 * job, notification on bus). Takes connections from db as needed and holds
 * none while PayGate is called.
 */
enum renewal_rc renewal_run(struct db *db, const struct config *cfg, struct bus *bus,
			    const char *org_id, int64_t period_end, char *err, size_t errlen);

/*
 * PayGate's paid notify for a renewal payment (pay->renews_period_end set):
 * paid ahead, nothing changes now (the sweep starts the next month when
 * this one ends); paid late within the grace period, the next month starts
 * at the old end; after the fallback to Free, a month of the plan from now.
 * *s gets the subscription as stored.
 */
struct paygate_payment;
struct subscription;
enum store_rc renewal_paid(struct db_conn *c, const struct paygate_payment *pay, int64_t now,
			   struct subscription *s);

/* The next month's start from ms (the same day of the next month, UTC). */
int64_t renewal_add_month(int64_t ms);

#endif
