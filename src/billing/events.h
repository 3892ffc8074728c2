/*
 * events.h — the subscription state machine, driven by a provider's
 * verified events. Each event is applied from the object it carries (its
 * own status and period), and one older than the newest already applied
 * changes nothing, so events arriving out of order still end in the right
 * state. Nothing is ever deleted: a canceled subscription keeps its row
 * and the organization falls back to Free (service/quota.h).
 */
#ifndef IAM_BILLING_EVENTS_H
#define IAM_BILLING_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "store/billing.h"

/* What an event did, for the reply and the log. */
#define EVENT_APPLIED	       "applied"
#define EVENT_UNKNOWN_CUSTOMER "ignored_unknown_customer"
#define EVENT_OUT_OF_ORDER     "ignored_out_of_order"
#define EVENT_IGNORED_TYPE     "ignored_type"

/* Stripe subscription status -> our state ("" when it says nothing: incomplete). */
const char *billing_stripe_state(const char *status);

/*
 * Apply one Stripe event (type, created in Unix ms, data.object) at now_ms.
 * *outcome gets one of the EVENT_* strings; *org_id[40] the organization
 * ("" when unknown). Returns the store result (errors: the caller rolls
 * back and answers 500, so Stripe retries).
 */
enum store_rc billing_stripe_event(struct db_conn *c, const char *type, int64_t created_ms,
				   json_t *obj, int64_t now_ms, const char **outcome,
				   char org_id[40]);

/*
 * Our invoice for a paid Stripe invoice object (amount_paid, currency,
 * the line's period), once per Stripe invoice id.
 */
enum store_rc billing_stripe_invoice(struct db_conn *c, const char *org_id, json_t *obj,
				     int vat_percent);

#endif
