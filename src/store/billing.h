/*
 * billing.h — the plan catalogue, subscriptions, metered usage, processed
 * provider events and the per-hour API request counter (migration 0011).
 * Every function returns an enum store_rc; tenant-owned rows are reached
 * only with the caller's org_id. Limits of -1 mean unlimited (NULL in SQL).
 */
#ifndef IAM_STORE_BILLING_H
#define IAM_STORE_BILLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define PLAN_CODE_MAX	  32
#define BILLING_ID_MAX	  128
#define BILLING_UNLIMITED (-1)
#define BILLING_METER_MAX 101 /* Stripe: event_name at most 100 characters */

struct plan {
	char code[PLAN_CODE_MAX];
	char name[64];
	int position;
	int64_t minutes_per_month; /* -1 = unlimited */
	int64_t storage_bytes;
	int64_t chat_messages_per_month;
	int64_t api_requests_per_hour;
	bool overage_allowed;
	int64_t usd_minor; /* -1 = no price in that currency */
	int64_t zar_minor;
	/* Overage (overage_allowed): the price of a minute past the quota, per currency. */
	int64_t usd_overage_minor, zar_overage_minor;
	char stripe_price_id[BILLING_ID_MAX]; /* of the USD price; "" = none */
	/* The Stripe Billing Meter's event_name overage minutes go to; "" = not reported. */
	char stripe_meter_event[BILLING_METER_MAX];
};

/* STORE_NOT_FOUND for an unknown code. */
enum store_rc billing_plan_get(struct db_conn *c, const char *code, struct plan *out);
/* Every plan in display order; caller frees *out with free(). */
enum store_rc billing_plan_list(struct db_conn *c, struct plan **out, size_t *n);
/* Insert or replace the plan row (limits, name, position, overage, meter) — not prices. */
enum store_rc billing_plan_put(struct db_conn *c, const struct plan *p);
/* Set a price (amount < 0 removes it). price_id may be NULL (kept as is when updating). */
enum store_rc billing_price_put(struct db_conn *c, const char *code, const char *currency,
				int64_t amount_minor, const char *price_id);
/* Set the per-minute overage price in currency; STORE_NOT_FOUND without a price there. */
enum store_rc billing_overage_put(struct db_conn *c, const char *code, const char *currency,
				  int64_t per_minute_minor);
/* The plan whose USD price has this Stripe price id. */
enum store_rc billing_plan_by_price(struct db_conn *c, const char *price_id, struct plan *out);

struct subscription {
	char org_id[40];
	char plan_code[PLAN_CODE_MAX];
	char state[16]; /* active, past_due, canceled */
	char currency[4];
	char provider[16]; /* "" = none */
	char customer_id[BILLING_ID_MAX];
	char subscription_id[BILLING_ID_MAX];
	int64_t period_start, period_end; /* Unix ms */
	int64_t past_due_since;		  /* 0 = not past due */
	int64_t provider_event_at;	  /* newest provider event applied, Unix ms */
	bool stored;			  /* false: the implicit Free subscription */
};

/*
 * The organization's subscription; without a row, Free for the calendar
 * month (UTC) containing now_ms (stored = false).
 */
enum store_rc billing_subscription_get(struct db_conn *c, const char *org_id, int64_t now_ms,
				       struct subscription *out);
/* Insert or update the row of s->org_id. */
enum store_rc billing_subscription_put(struct db_conn *c, const struct subscription *s);
/* The subscription of a provider's customer id: STORE_NOT_FOUND when none. */
enum store_rc billing_subscription_by_customer(struct db_conn *c, const char *provider,
					       const char *customer_id, struct subscription *out);

/* Usage kinds stored in usage_records. */
#define USAGE_SECONDS "seconds"
#define USAGE_CHAT    "chat_messages"

struct usage_record {
	const char *org_id, *kind, *source_key;
	int64_t quantity;
	const char *meeting_id, *provider, *model; /* may be NULL */
	int64_t cost_micro_usd;
	int64_t at_ms;
};
/* Record usage once per (kind, source_key); *inserted false when it was already there. */
enum store_rc billing_usage_add(struct db_conn *c, const struct usage_record *u, bool *inserted);
/* billing_usage_add that also gives the new record's id (id[0] = '\0' when not inserted). */
enum store_rc billing_usage_add_id(struct db_conn *c, const struct usage_record *u, bool *inserted,
				   char id[40]);
/* Sum of quantity of kind for org in [from, to): records and live reservations. */
enum store_rc billing_usage_sum(struct db_conn *c, const char *org_id, const char *kind,
				int64_t from_ms, int64_t to_ms, int64_t *sum);
/*
 * Reserve quantity of kind for org until now_ms + ttl_ms (a usage row that
 * counts in billing_usage_sum until then); expired reservations of org are
 * removed first. Call inside the transaction that checked the quota.
 */
enum store_rc billing_usage_reserve(struct db_conn *c, const char *org_id, const char *kind,
				    int64_t quantity, int64_t now_ms, int64_t ttl_ms);
/*
 * Turn the organization's oldest live reservation of u->kind into the
 * record u (source_key, quantity, at_ms), in one statement; *claimed false
 * when there was none to take (or the record exists already): then the
 * caller records it with billing_usage_add.
 */
enum store_rc billing_usage_claim(struct db_conn *c, const struct usage_record *u, bool *claimed);
/* Give back the organization's newest live reservation of kind (its work failed). */
enum store_rc billing_usage_release(struct db_conn *c, const char *org_id, const char *kind);
/* Seconds of audio queued or being transcribed (not yet metered). */
enum store_rc billing_pending_seconds(struct db_conn *c, const char *org_id, int64_t *sum);
/* Bytes of audio stored for org (meetings' file sizes). */
enum store_rc billing_stored_bytes(struct db_conn *c, const char *org_id, int64_t *sum);

struct usage_day {
	int64_t day_ms; /* 00:00 UTC */
	int64_t seconds, chat_messages, api_requests;
};
/* The most days billing_usage_by_day reads (ten years). */
#define BILLING_USAGE_DAYS_MAX 3660
/*
 * Usage by day (UTC) in [from, to), days with any usage only, oldest first;
 * caller frees *out. A range of more than BILLING_USAGE_DAYS_MAX days gives
 * its first BILLING_USAGE_DAYS_MAX days with usage.
 */
enum store_rc billing_usage_by_day(struct db_conn *c, const char *org_id, int64_t from_ms,
				   int64_t to_ms, struct usage_day **out, size_t *n);

/* Count n API requests in the hour window starting window_ms; *count gets the new total. */
enum store_rc billing_api_hit(struct db_conn *c, const char *org_id, int64_t window_ms, int64_t n,
			      int64_t *count);
/* Requests counted in that window (0 when none). */
enum store_rc billing_api_count(struct db_conn *c, const char *org_id, int64_t window_ms,
				int64_t *count);

/* Claim the warning (org, kind, period, threshold); *first true the first time only. */
enum store_rc billing_warning_claim(struct db_conn *c, const char *org_id, const char *kind,
				    int64_t period_start, int threshold, bool *first);

/* An owner or admin of an organization: whom usage warnings and renewal links go to. */
struct billing_manager {
	char user_id[40];
	char email[256];
	char first_name[128];
	char role[16]; /* owner, admin */
};
/* The organization's owners and admins (at most 50, oldest first); caller frees *out. */
enum store_rc billing_org_managers(struct db_conn *c, const char *org_id,
				   struct billing_manager **out, size_t *n);

/*
 * Claim a provider event id: *first true when it was not processed before.
 * outcome (may be NULL) is kept for support.
 */
enum store_rc billing_event_claim(struct db_conn *c, const char *provider, const char *event_id,
				  const char *type, const char *org_id, const char *outcome,
				  bool *first);
/* Forget a claim (processing failed and will be retried by the provider). */
enum store_rc billing_event_forget(struct db_conn *c, const char *provider, const char *event_id);

/* ---- PayGate payments we initiated ---- */

struct paygate_payment {
	char reference[40];
	char org_id[40];
	char plan_code[PLAN_CODE_MAX];
	int64_t amount_minor;
	char currency[4];
	char pay_request_id[BILLING_ID_MAX];
	char state[16];		   /* initiated, paid, failed */
	int64_t renews_period_end; /* a renewal: the period_end it renews; 0 = a checkout */
	char pay_url[2048];	   /* a renewal's pay link ("" until initiated) */
};
enum store_rc billing_paygate_create(struct db_conn *c, const struct paygate_payment *p);
enum store_rc billing_paygate_set_request(struct db_conn *c, const char *reference,
					  const char *pay_request_id);
/* By our reference (any organization: the provider names it). */
enum store_rc billing_paygate_get(struct db_conn *c, const char *reference,
				  struct paygate_payment *out);
enum store_rc billing_paygate_set_state(struct db_conn *c, const char *reference,
					const char *state);
/* The request id and pay link PayGate gave a payment. */
enum store_rc billing_paygate_set_link(struct db_conn *c, const char *reference,
				       const char *pay_request_id, const char *pay_url);
/* The organization's renewal payment of the period ending period_end (STORE_NOT_FOUND: none). */
enum store_rc billing_paygate_renewal_get(struct db_conn *c, const char *org_id, int64_t period_end,
					  struct paygate_payment *out);
/* Subscriptions paid through PayGate that are active or past due; caller frees *out. */
enum store_rc billing_paygate_subscriptions(struct db_conn *c, struct subscription **out,
					    size_t *n);

/* ---- our invoices ---- */

struct invoice {
	char id[40];
	char org_id[40];
	int64_t seq;
	char number[40];
	char plan_code[PLAN_CODE_MAX];
	char currency[4];
	int64_t subtotal_minor, vat_minor, total_minor;
	int vat_percent;
	char provider[16];
	char provider_ref[BILLING_ID_MAX];
	int64_t period_start, period_end, issued_at;
	int64_t paid_at; /* 0 = not paid yet (a renewal issued ahead of its payment) */
};
/*
 * Record an invoice for a payment of total_minor (VAT of vat_percent
 * included): the next number of the organization. Once per
 * (provider, provider_ref): *created false when it exists (out filled).
 */
enum store_rc billing_invoice_add(struct db_conn *c, struct invoice *inv, bool *created);
/*
 * The same, for an invoice issued ahead of its payment (paid_at 0); the
 * payment's billing_invoice_add with the same (provider, provider_ref)
 * then marks it paid instead of adding another.
 */
enum store_rc billing_invoice_open(struct db_conn *c, struct invoice *inv, bool *created);
/* The organization's invoices, newest first, at most limit; caller frees *out. */
enum store_rc billing_invoice_list(struct db_conn *c, const char *org_id, int limit,
				   struct invoice **out, size_t *n);
enum store_rc billing_invoice_get(struct db_conn *c, const char *org_id, const char *id,
				  struct invoice *out);

/*
 * Serialize quota decisions of one organization across processes
 * (PostgreSQL advisory locks keyed by the org id): billing_org_lock_xact
 * until the end of the current transaction; billing_org_lock until
 * billing_org_unlock on the same connection. No-ops on SQLite (callers
 * serialize there: BEGIN IMMEDIATE, or a process lock).
 */
enum store_rc billing_org_lock_xact(struct db_conn *c, const char *org_id);
enum store_rc billing_org_lock(struct db_conn *c, const char *org_id);
enum store_rc billing_org_unlock(struct db_conn *c, const char *org_id);

/* The organization's name into out (STORE_NOT_FOUND when there is none). */
enum store_rc billing_org_name(struct db_conn *c, const char *org_id, char *out, size_t outlen);

/* STORE_OK when the organization exists, else STORE_NOT_FOUND. */
enum store_rc billing_org_exists(struct db_conn *c, const char *org_id);

#endif
