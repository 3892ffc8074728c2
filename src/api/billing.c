/*
 * billing.c — /api/v1/billing/...: plans, checkout and portal (Stripe),
 * PayGate, provider webhooks, invoices. Only owners and admins of an
 * organization manage its billing (billing_may_manage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "billing/events.h"
#include "billing/gateway.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/billing.h"

/* Stripe's own tolerance for webhook timestamps. */
#define STRIPE_TOLERANCE_S 300

static json_t *limit_json(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *plan_json(const struct plan *p)
{
	json_t *prices = json_object();
	if (p->usd_minor >= 0)
		json_object_set_new(prices, "USD", json_integer(p->usd_minor));
	if (p->zar_minor >= 0)
		json_object_set_new(prices, "ZAR", json_integer(p->zar_minor));
	return json_pack("{s:s,s:s,s:{s:o,s:o,s:o,s:o},s:b,s:o}", "code", p->code, "name", p->name,
			 "limits", "minutes_per_month", limit_json(p->minutes_per_month),
			 "storage_bytes", limit_json(p->storage_bytes), "chat_messages_per_month",
			 limit_json(p->chat_messages_per_month), "api_requests_per_hour",
			 limit_json(p->api_requests_per_hour), "overage_allowed",
			 p->overage_allowed, "prices_minor", prices);
}

static void list_plans(struct api_ctx *cx)
{
	struct plan *plans = NULL;
	size_t n = 0;
	enum store_rc rc = billing_plan_list(cx->conn, &plans, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "list plans");
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, plan_json(&plans[i]));
	free(plans);
	http_reply_json(cx->req, 200, json_pack("{s:o}", "data", data));
}

/*
 * Who may manage billing: owners and admins of the organization.
 * TEMPORARY (teams work in progress): a direct membership query in this
 * one place; swap in the permission function from auth/ when it lands.
 * Replies 403 and returns false for anyone else.
 */
static bool billing_may_manage(struct api_ctx *cx)
{
	char role[16];
	enum store_rc rc =
	    billing_member_role(cx->conn, cx->principal->org_id, cx->principal->user_id, role);
	if (rc && rc != STORE_NOT_FOUND) {
		api_db_fail(cx->req, rc, "membership");
		return false;
	}
	if (rc == STORE_OK && (!strcmp(role, "owner") || !strcmp(role, "admin")))
		return true;
	http_problem(cx->req, 403, "forbidden",
		     "Only an owner or admin of the organization can manage its billing.");
	return false;
}

static void gateway_problem(struct http_req *r, enum gateway_rc grc, const char *err)
{
	if (grc == GATEWAY_OFF)
		http_problem(r, 503, "billing_unavailable", "%s", err);
	else if (grc == GATEWAY_REFUSED)
		http_problem(r, 502, "payment_provider_refused", "%s", err);
	else {
		http_add_header(r, "Retry-After", "30");
		http_problem(r, 503, "payment_provider_unavailable", "%s", err);
	}
}

struct checkout_in {
	const char *plan;
	const char *currency;
};

static const struct jv_field CHECKOUT_FIELDS[] = {
    {.name = "plan",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .max_len = PLAN_CODE_MAX - 1,
     .dest = JV_DEST(struct checkout_in, plan)},
    {.name = "currency",
     .type = JV_STRING,
     .min_len = 3,
     .max_len = 3,
     .dest = JV_DEST(struct checkout_in, currency)},
};
static const struct jv_spec CHECKOUT_SPEC = {JV_FIELDS(CHECKOUT_FIELDS)};

static void checkout_check(struct api_ctx *cx, json_t **errors)
{
	struct checkout_in *in = API_IN(cx, struct checkout_in);
	if (!in->currency)
		in->currency = "USD";
	if (!*errors && !gateway_for_currency(in->currency))
		jv_error(errors, "currency", "must be USD (Stripe) or ZAR (PayGate)");
}

static void checkout(struct api_ctx *cx)
{
	const struct checkout_in *in = API_IN(cx, struct checkout_in);
	struct http_req *r = cx->req;
	const struct principal *p = cx->principal;
	if (!billing_may_manage(cx))
		return;
	struct plan plan;
	enum store_rc rc = billing_plan_get(cx->conn, in->plan, &plan);
	if (rc == STORE_NOT_FOUND) {
		http_problem_fields(r, 400, "validation_failed",
				    json_pack("[{s:s,s:s}]", "field", "plan", "message",
					      "is not a plan; see GET /api/v1/billing/plans"),
				    "plan: no plan '%s'.", in->plan);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "plan");
		return;
	}
	const struct gateway *g = gateway_for_currency(in->currency);
	int64_t amount = !strcmp(in->currency, "ZAR") ? plan.zar_minor : plan.usd_minor;
	if (amount <= 0) {
		http_problem_fields(
		    r, 400, "validation_failed",
		    json_pack("[{s:s,s:s}]", "field", "plan", "message",
			      amount == 0 ? "is free: no payment needed (cancel in the portal)"
					  : "has no price in this currency"),
		    "The %s plan cannot be bought in %s.", plan.name, in->currency);
		return;
	}
	struct subscription sub;
	rc = billing_subscription_get(cx->conn, p->org_id, time_now_ms(), &sub);
	if (rc) {
		api_db_fail(r, rc, "subscription");
		return;
	}
	char ref[UUID_STR_LEN];
	uuid_v7(ref);
	struct checkout_req req = {
	    .org_id = p->org_id,
	    .email = p->email,
	    .plan = &plan,
	    .customer_id = !strcmp(sub.provider, g->name) ? sub.customer_id : "",
	    .reference = ref,
	    .amount_minor = amount,
	};
	/* The provider is called without holding a database connection. */
	api_conn_release(cx);
	struct checkout_res res = {0};
	char err[512] = "";
	enum gateway_rc grc = g->checkout(cx->app->cfg, &req, &res, err, sizeof err);
	if (grc) {
		gateway_problem(r, grc, err);
		return;
	}
	http_reply_json(r, 201,
			json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "url", res.url, "session_id",
				  res.session_id, "gateway", g->name, "plan", plan.code,
				  "amount_minor", (json_int_t)amount, "currency", in->currency));
}

static void portal(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	if (!billing_may_manage(cx))
		return;
	struct subscription sub;
	enum store_rc rc =
	    billing_subscription_get(cx->conn, cx->principal->org_id, time_now_ms(), &sub);
	if (rc) {
		api_db_fail(r, rc, "subscription");
		return;
	}
	if (strcmp(sub.provider, "stripe") || !sub.customer_id[0]) {
		http_problem(r, 409, "no_billing_account",
			     "This organization has no Stripe subscription yet; subscribe through "
			     "POST /api/v1/billing/checkout first.");
		return;
	}
	api_conn_release(cx);
	char url[2048], err[512] = "";
	enum gateway_rc grc =
	    stripe_portal(cx->app->cfg, sub.customer_id, url, sizeof url, err, sizeof err);
	if (grc) {
		gateway_problem(r, grc, err);
		return;
	}
	http_reply_json(r, 201, json_pack("{s:s}", "url", url));
}

struct webhook_tx {
	const char *id, *type;
	int64_t created_ms;
	json_t *obj;
	const char *outcome;
	char org[40];
	bool replay;
};

static int webhook_apply(struct db_conn *c, void *arg)
{
	struct webhook_tx *w = arg;
	bool first = false;
	w->replay = false;
	enum store_rc rc = billing_stripe_event(c, w->type, w->created_ms, w->obj, time_now_ms(),
						&w->outcome, w->org);
	if (!rc)
		rc = billing_event_claim(c, "stripe", w->id, w->type, w->org[0] ? w->org : NULL,
					 w->outcome, &first);
	if (!rc && !first) {
		w->replay = true;
		return STORE_CONFLICT; /* rolled back: nothing changed */
	}
	return rc;
}

static void stripe_webhook(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const struct config *cfg = cx->app->cfg;
	size_t len;
	const char *payload = http_body(r, &len);
	if (!cfg->stripe_webhook_secret || !*cfg->stripe_webhook_secret) {
		http_problem(r, 503, "billing_unavailable",
			     "Stripe webhooks are not configured on this server.");
		return;
	}
	enum stripe_sig sig =
	    stripe_verify(http_header(r, "Stripe-Signature"), payload, len,
			  cfg->stripe_webhook_secret, time_now_ms() / 1000, STRIPE_TOLERANCE_S);
	if (sig != STRIPE_SIG_OK) {
		log_warn("stripe webhook refused",
			 json_pack("{s:s,s:s}", "request_id", http_request_id(r), "reason",
				   sig == STRIPE_SIG_STALE ? "stale" : "signature"));
		if (sig == STRIPE_SIG_STALE)
			http_problem(
			    r, 400, "stale_signature",
			    "The Stripe-Signature timestamp is more than %d seconds from now.",
			    STRIPE_TOLERANCE_S);
		else
			http_problem(r, 400, "invalid_signature",
				     "The Stripe-Signature header does not sign this payload.");
		return;
	}
	json_t *ev = json_loadb(payload, len, 0, NULL);
	json_t *data = json_object_get(ev, "data");
	struct webhook_tx w = {
	    .id = json_string_value(json_object_get(ev, "id")),
	    .type = json_string_value(json_object_get(ev, "type")),
	    .created_ms = json_integer_value(json_object_get(ev, "created")) * 1000,
	    .obj = json_object_get(data, "object"),
	};
	if (!w.id || !*w.id || strlen(w.id) > 200 || !w.type || !json_is_object(w.obj)) {
		json_decref(ev);
		http_problem(r, 400, "invalid_event", "The event has no id, type or data.object.");
		return;
	}
	struct db_conn *c = api_conn(cx);
	if (!c) {
		json_decref(ev);
		return;
	}
	enum store_rc rc = store_tx(c, webhook_apply, &w);
	if (w.replay) {
		http_problem(r, 409, "event_already_processed",
			     "Event %s was processed before; nothing changed.", w.id);
	} else if (rc) {
		api_db_fail(r, rc, "stripe event");
	} else {
		log_info("stripe event", json_pack("{s:s,s:s,s:s,s:s}", "event_id", w.id, "type",
						   w.type, "outcome", w.outcome, "org_id", w.org));
		http_reply_json(r, 200,
				json_pack("{s:b,s:s}", "received", 1, "outcome", w.outcome));
	}
	json_decref(ev);
}

static const struct route ROUTES[] = {
    {.method = M_GET,
     .pattern = "/api/v1/billing/plans",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = list_plans},
    {.method = M_POST,
     .pattern = "/api/v1/billing/checkout",
     .body = BODY_JSON,
     .json = &CHECKOUT_SPEC,
     .check = checkout_check,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = checkout},
    {.method = M_POST,
     .pattern = "/api/v1/billing/portal",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = portal},
    {.method = M_POST,
     .pattern = "/api/v1/billing/stripe/webhook",
     .body = BODY_JSON,
     .run = stripe_webhook},
};

size_t api_billing_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
