#include "billing/events.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "core/uuid.h"

#define MONTH_MS (31LL * 86400000)

const char *billing_stripe_state(const char *status)
{
	if (!status)
		return "";
	if (!strcmp(status, "active") || !strcmp(status, "trialing"))
		return "active";
	if (!strcmp(status, "past_due") || !strcmp(status, "unpaid"))
		return "past_due";
	if (!strcmp(status, "canceled") || !strcmp(status, "incomplete_expired"))
		return "canceled";
	return ""; /* incomplete, paused: nothing to act on */
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s ? s : NULL;
}

/* An id field that may be a string or an expanded object with "id". */
static const char *id_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (json_is_object(v))
		return str(v, "id");
	return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;
}

static int64_t secs_ms(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) * 1000 : 0;
}

/* Our organization for the event's object: metadata we set, else the customer. */
static enum store_rc find(struct db_conn *c, const char *type, json_t *obj, int64_t now,
			  struct subscription *s, bool *found)
{
	*found = false;
	json_t *md = json_object_get(obj, "metadata");
	const char *org = str(md, "org_id");
	if (!org && !strncmp(type, "checkout.session.", 17))
		org = str(obj, "client_reference_id");
	if (!org && !strncmp(type, "invoice.", 8)) {
		json_t *sd =
		    json_object_get(json_object_get(obj, "subscription_details"), "metadata");
		org = str(sd, "org_id");
	}
	if (org && uuid_valid(org)) {
		enum store_rc rc = billing_org_exists(c, org);
		if (rc == STORE_OK) {
			*found = true;
			return billing_subscription_get(c, org, now, s);
		}
		if (rc != STORE_NOT_FOUND)
			return rc;
	}
	const char *customer = id_of(obj, "customer");
	if (!customer)
		return STORE_OK;
	enum store_rc rc = billing_subscription_by_customer(c, "stripe", customer, s);
	if (rc == STORE_NOT_FOUND)
		return STORE_OK;
	*found = rc == STORE_OK;
	return rc;
}

/* The plan a subscription object names: its price's plan, else metadata.plan. */
static bool plan_from(struct db_conn *c, json_t *obj, char code[PLAN_CODE_MAX])
{
	struct plan p;
	json_t *item = json_array_get(json_object_get(json_object_get(obj, "items"), "data"), 0);
	const char *price = id_of(item, "price");
	if (price && billing_plan_by_price(c, price, &p) == STORE_OK) {
		snprintf(code, PLAN_CODE_MAX, "%s", p.code);
		return true;
	}
	const char *mp = str(json_object_get(obj, "metadata"), "plan");
	if (mp && billing_plan_get(c, mp, &p) == STORE_OK) {
		snprintf(code, PLAN_CODE_MAX, "%s", p.code);
		return true;
	}
	return false;
}

static void set_state(struct subscription *s, const char *state, int64_t now)
{
	if (!*state)
		return;
	if (!strcmp(state, "past_due")) {
		if (strcmp(s->state, "past_due") || !s->past_due_since)
			s->past_due_since = now; /* the grace period starts at the first failure */
	} else {
		s->past_due_since = 0;
	}
	snprintf(s->state, sizeof s->state, "%s", state);
}

enum store_rc billing_stripe_event(struct db_conn *c, const char *type, int64_t created_ms,
				   json_t *obj, int64_t now_ms, const char **outcome,
				   char org_id[40])
{
	struct subscription s;
	bool found;
	org_id[0] = '\0';
	*outcome = EVENT_IGNORED_TYPE;
	bool is_session = !strcmp(type, "checkout.session.completed");
	bool is_sub = !strncmp(type, "customer.subscription.", 22);
	bool is_inv = !strcmp(type, "invoice.paid") || !strcmp(type, "invoice.payment_failed");
	if (!is_session && !is_sub && !is_inv)
		return STORE_OK;
	enum store_rc rc = find(c, type, obj, now_ms, &s, &found);
	if (rc)
		return rc;
	if (!found) {
		*outcome = EVENT_UNKNOWN_CUSTOMER;
		return STORE_OK;
	}
	snprintf(org_id, 40, "%s", s.org_id);
	/* Whatever the order, remember who the customer is. */
	const char *customer = id_of(obj, "customer");
	const char *sub_id = is_sub ? str(obj, "id") : id_of(obj, "subscription");
	bool was_stripe = !strcmp(s.provider, "stripe");
	snprintf(s.provider, sizeof s.provider, "stripe");
	if (customer)
		snprintf(s.customer_id, sizeof s.customer_id, "%s", customer);
	if (sub_id)
		snprintf(s.subscription_id, sizeof s.subscription_id, "%s", sub_id);
	snprintf(s.currency, sizeof s.currency, "USD");
	if (!was_stripe || !s.stored) {
		s.period_start = now_ms;
		s.period_end = now_ms + MONTH_MS;
	}
	if (created_ms < s.provider_event_at) {
		/* Older than what we applied: its state is history. */
		*outcome = EVENT_OUT_OF_ORDER;
		return billing_subscription_put(c, &s);
	}
	s.provider_event_at = created_ms;
	*outcome = EVENT_APPLIED;
	char code[PLAN_CODE_MAX];
	if (is_session) {
		if (plan_from(c, obj, code))
			snprintf(s.plan_code, sizeof s.plan_code, "%s", code);
		set_state(&s, "active", now_ms);
	} else if (is_sub) {
		if (plan_from(c, obj, code))
			snprintf(s.plan_code, sizeof s.plan_code, "%s", code);
		const char *state = !strcmp(type, "customer.subscription.deleted")
					? "canceled"
					: billing_stripe_state(str(obj, "status"));
		set_state(&s, state, now_ms);
		/* The period: on the subscription (older API versions) or on its item. */
		json_t *item =
		    json_array_get(json_object_get(json_object_get(obj, "items"), "data"), 0);
		int64_t ps = secs_ms(obj, "current_period_start"),
			pe = secs_ms(obj, "current_period_end");
		if (!ps || !pe) {
			ps = secs_ms(item, "current_period_start");
			pe = secs_ms(item, "current_period_end");
		}
		if (ps && pe > ps) {
			s.period_start = ps;
			s.period_end = pe;
		}
	} else if (!strcmp(type, "invoice.paid")) {
		set_state(&s, "active", now_ms);
		json_t *line =
		    json_array_get(json_object_get(json_object_get(obj, "lines"), "data"), 0);
		json_t *period = json_object_get(line, "period");
		int64_t ps = secs_ms(period, "start"), pe = secs_ms(period, "end");
		if (ps && pe > ps) {
			s.period_start = ps;
			s.period_end = pe;
		}
	} else {
		set_state(&s, "past_due", now_ms);
	}
	return billing_subscription_put(c, &s);
}

enum store_rc billing_stripe_invoice(struct db_conn *c, const char *org_id, json_t *obj,
				     int vat_percent)
{
	const char *id = str(obj, "id");
	const char *cur = str(obj, "currency");
	json_t *paid = json_object_get(obj, "amount_paid");
	if (!id || !cur || strlen(cur) != 3 || !json_is_integer(paid) ||
	    json_integer_value(paid) <= 0)
		return STORE_OK; /* nothing was paid: no invoice */
	struct subscription s;
	enum store_rc rc = billing_subscription_get(c, org_id, time_now_ms(), &s);
	if (rc)
		return rc;
	struct invoice inv = {.total_minor = json_integer_value(paid), .vat_percent = vat_percent};
	json_t *line = json_array_get(json_object_get(json_object_get(obj, "lines"), "data"), 0);
	json_t *period = json_object_get(line, "period");
	inv.period_start = secs_ms(period, "start");
	inv.period_end = secs_ms(period, "end");
	if (!inv.period_start || !inv.period_end) {
		inv.period_start = s.period_start;
		inv.period_end = s.period_end;
	}
	snprintf(inv.org_id, sizeof inv.org_id, "%s", org_id);
	snprintf(inv.plan_code, sizeof inv.plan_code, "%s", s.plan_code);
	for (int i = 0; i < 3; i++)
		inv.currency[i] = (char)toupper((unsigned char)cur[i]);
	snprintf(inv.provider, sizeof inv.provider, "stripe");
	snprintf(inv.provider_ref, sizeof inv.provider_ref, "%s", id);
	bool created;
	return billing_invoice_add(c, &inv, &created);
}
