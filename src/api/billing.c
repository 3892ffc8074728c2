/*
 * billing.c — /api/v1/billing/...: plans, checkout and portal (Stripe),
 * PayGate, provider webhooks, invoices. Only owners and admins of an
 * organization manage its billing (.perm = PERM_SEE_BILLING on those routes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "auth/authz.h"
#include "billing/events.h"
#include "billing/gateway.h"
#include "billing/renewal.h"
#include "billing/invoice_pdf.h"
#include "core/buf.h"
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
	json_t *over = json_object();
	if (p->overage_allowed && p->usd_minor >= 0)
		json_object_set_new(over, "USD", json_integer(p->usd_overage_minor));
	if (p->overage_allowed && p->zar_minor >= 0)
		json_object_set_new(over, "ZAR", json_integer(p->zar_overage_minor));
	return json_pack("{s:s,s:s,s:{s:o,s:o,s:o,s:o},s:b,s:o,s:o}", "code", p->code, "name",
			 p->name, "limits", "minutes_per_month", limit_json(p->minutes_per_month),
			 "storage_bytes", limit_json(p->storage_bytes), "chat_messages_per_month",
			 limit_json(p->chat_messages_per_month), "api_requests_per_hour",
			 limit_json(p->api_requests_per_hour), "overage_allowed",
			 p->overage_allowed, "prices_minor", prices, "overage_minor_per_minute",
			 over);
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
	if (g == &GATEWAY_PAYGATE) {
		/* Our record first: the notify callback is checked against it. */
		struct paygate_payment pay = {.amount_minor = amount};
		snprintf(pay.reference, sizeof pay.reference, "%s", ref);
		snprintf(pay.org_id, sizeof pay.org_id, "%s", p->org_id);
		snprintf(pay.plan_code, sizeof pay.plan_code, "%s", plan.code);
		snprintf(pay.currency, sizeof pay.currency, "ZAR");
		rc = billing_paygate_create(cx->conn, &pay);
		if (rc) {
			api_db_fail(r, rc, "paygate payment");
			return;
		}
	}
	/* The provider is called without holding a database connection. */
	api_conn_release(cx);
	struct checkout_res res = {0};
	char err[512] = "";
	enum gateway_rc grc = g->checkout(cx->app->cfg, &req, &res, err, sizeof err);
	if (grc) {
		gateway_problem(r, grc, err);
		return;
	}
	json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "url", res.url, "session_id",
				 res.session_id, "gateway", g->name, "plan", plan.code,
				 "amount_minor", (json_int_t)amount, "currency", in->currency);
	if (g == &GATEWAY_PAYGATE) {
		/* PayWeb3's hosted page takes a browser form POST. */
		char action[700];
		snprintf(action, sizeof action, "%s/process.trans", cx->app->cfg->paygate_base);
		json_object_set_new(body, "form",
				    json_pack("{s:s,s:s,s:{s:s,s:s}}", "action", action, "method",
					      "POST", "fields", "PAY_REQUEST_ID", res.session_id,
					      "CHECKSUM", res.checksum));
		struct db_conn *c = api_conn(cx);
		if (!c || billing_paygate_set_request(c, ref, res.session_id)) {
			json_decref(body);
			if (c)
				api_db_fail(r, STORE_ERROR, "paygate request");
			return;
		}
	}
	http_reply_json(r, 201, body);
}

static void portal(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
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
	int vat_percent;
};

static int webhook_apply(struct db_conn *c, void *arg)
{
	struct webhook_tx *w = arg;
	bool first = false;
	w->replay = false;
	enum store_rc rc = billing_stripe_event(c, w->type, w->created_ms, w->obj, time_now_ms(),
						&w->outcome, w->org);
	/* A payment is a payment whatever order its events came in: our invoice for it. */
	if (!rc && w->org[0] && !strcmp(w->type, "invoice.paid"))
		rc = billing_stripe_invoice(c, w->org, w->obj, w->vat_percent);
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
	    .vat_percent = cfg->vat_percent,
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

/* ---- PayGate: the notify callback and the browser's return ---- */

#define NOTIFY_MAX 8192

struct notify_ctx {
	struct buf body;
	bool too_big;
};

static void notify_free(void *p)
{
	struct notify_ctx *n = p;
	buf_free(&n->body);
	free(n);
}

static void notify_open(struct api_ctx *cx)
{
	struct notify_ctx *n = calloc(1, sizeof *n);
	if (!n) {
		http_problem_internal(cx->req, "notify");
		return;
	}
	n->body.limit = NOTIFY_MAX;
	http_set_ctx(cx->req, n, notify_free);
}

static int notify_chunk(struct http_req *r, const char *data, size_t len)
{
	struct notify_ctx *n = http_ctx(r);
	if (!n || buf_append(&n->body, data, len) < 0) {
		if (n)
			n->too_big = true;
		return -1;
	}
	return 0;
}

static void text_reply(struct http_req *r, int status, const char *text)
{
	char *t = strdup(text);
	http_reply_text(r, status, "text/plain; charset=utf-8", t, t ? strlen(t) : 0);
}

/* Refuse a callback: logged with why, answered 400 so it is not taken as processed. */
static void notify_refuse(struct http_req *r, const char *why, const char *reference)
{
	log_warn("paygate notify refused",
		 json_pack("{s:s,s:s,s:s}", "request_id", http_request_id(r), "reason", why,
			   "reference", reference ? reference : ""));
	text_reply(r, 400, "ERROR");
}

struct paid_tx {
	const struct paygate_payment *pay;
	int status; /* TRANSACTION_STATUS */
	int vat_percent;
	bool replay;
};

static int64_t add_month(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	tm.tm_mon += 1;
	return (int64_t)timegm(&tm) * 1000 + ms % 1000;
}

static int paygate_apply(struct db_conn *c, void *arg)
{
	struct paid_tx *t = arg;
	const struct paygate_payment *pay = t->pay;
	bool first = false;
	t->replay = false;
	enum store_rc rc =
	    billing_event_claim(c, "paygate", pay->pay_request_id,
				t->status == 1 ? "paid" : "failed", pay->org_id, NULL, &first);
	if (rc)
		return rc;
	if (!first) {
		t->replay = true;
		return STORE_OK;
	}
	rc = billing_paygate_set_state(c, pay->reference, t->status == 1 ? "paid" : "failed");
	if (rc || t->status != 1)
		return rc;
	int64_t now = time_now_ms();
	struct subscription s;
	if (pay->renews_period_end) /* a month paid by the renewal's link (billing/renewal.h) */
		rc = renewal_paid(c, pay, now, &s);
	else
		rc = billing_subscription_get(c, pay->org_id, now, &s);
	if (rc)
		return rc;
	if (pay->renews_period_end)
		goto invoice;
	/* A renewal of the same plan extends the paid period; anything else starts now. */
	bool renewal = !strcmp(s.provider, "paygate") && !strcmp(s.state, "active") &&
		       !strcmp(s.plan_code, pay->plan_code) && s.period_end > now;
	if (!renewal)
		s.period_start = now;
	s.period_end = add_month(renewal ? s.period_end : now);
	snprintf(s.plan_code, sizeof s.plan_code, "%s", pay->plan_code);
	snprintf(s.state, sizeof s.state, "active");
	snprintf(s.provider, sizeof s.provider, "paygate");
	snprintf(s.currency, sizeof s.currency, "ZAR");
	s.customer_id[0] = '\0';
	snprintf(s.subscription_id, sizeof s.subscription_id, "%s", pay->reference);
	s.past_due_since = 0;
	s.provider_event_at = now;
	rc = billing_subscription_put(c, &s);
	if (rc)
		return rc;
invoice:;
	struct invoice inv = {.total_minor = pay->amount_minor,
			      .vat_percent = t->vat_percent,
			      .period_start = s.period_start,
			      .period_end = s.period_end};
	snprintf(inv.org_id, sizeof inv.org_id, "%s", pay->org_id);
	snprintf(inv.plan_code, sizeof inv.plan_code, "%s", pay->plan_code);
	snprintf(inv.currency, sizeof inv.currency, "%s", pay->currency);
	snprintf(inv.provider, sizeof inv.provider, "paygate");
	snprintf(inv.provider_ref, sizeof inv.provider_ref, "%s", pay->reference);
	bool created;
	return billing_invoice_add(c, &inv, &created);
}

static void paygate_notify(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const struct config *cfg = cx->app->cfg;
	struct notify_ctx *n = http_ctx(r);
	struct paygate_form f = {0};
	if (!cfg->paygate_key || !cfg->paygate_id) {
		http_problem(r, 503, "billing_unavailable", "PayGate is not configured.");
		return;
	}
	if (!n || n->too_big ||
	    paygate_form_parse(n->body.data ? n->body.data : "", n->body.len, &f) < 0) {
		notify_refuse(r, "malformed", NULL);
		return;
	}
	const char *ref = paygate_form_get(&f, "REFERENCE");
	const char *pg = paygate_form_get(&f, "PAYGATE_ID");
	const char *req_id = paygate_form_get(&f, "PAY_REQUEST_ID");
	const char *amount = paygate_form_get(&f, "AMOUNT");
	const char *currency = paygate_form_get(&f, "CURRENCY");
	const char *status = paygate_form_get(&f, "TRANSACTION_STATUS");
	struct paygate_payment pay;
	if (!paygate_form_verify(&f, cfg->paygate_key)) {
		notify_refuse(r, "checksum", ref);
		goto out;
	}
	if (!ref || !pg || !req_id || !amount || !currency || !status ||
	    strcmp(pg, cfg->paygate_id)) {
		notify_refuse(r, "fields", ref);
		goto out;
	}
	struct db_conn *c = api_conn(cx);
	if (!c)
		goto out;
	enum store_rc rc = billing_paygate_get(c, ref, &pay);
	if (rc == STORE_NOT_FOUND) {
		log_warn("paygate notify for an unknown reference",
			 json_pack("{s:s}", "reference", ref));
		text_reply(r, 200, "OK");
		goto out;
	}
	if (rc) {
		api_db_fail(r, rc, "paygate payment");
		goto out;
	}
	char want[32];
	snprintf(want, sizeof want, "%lld", (long long)pay.amount_minor);
	if (strcmp(req_id, pay.pay_request_id) || strcmp(amount, want) ||
	    strcmp(currency, pay.currency)) {
		notify_refuse(r, "amount, currency or request id", ref);
		goto out;
	}
	struct paid_tx t = {.pay = &pay, .status = atoi(status), .vat_percent = cfg->vat_percent};
	if (strcmp(pay.state, "initiated")) {
		text_reply(r, 200, "OK"); /* processed before: PayGate only needs the OK */
		goto out;
	}
	if (t.status == 1) {
		/* Confirm with PayGate itself before anything is marked paid. */
		api_conn_release(cx);
		struct paygate_status q;
		char err[300];
		enum gateway_rc grc =
		    paygate_query(cfg, pay.pay_request_id, pay.reference, &q, err, sizeof err);
		if (grc) {
			gateway_problem(r, grc, err);
			goto out;
		}
		if (q.transaction_status != 1 || q.amount_minor != pay.amount_minor ||
		    strcmp(q.currency, pay.currency) || strcmp(q.reference, pay.reference)) {
			notify_refuse(r, "query.trans disagrees", ref);
			goto out;
		}
		c = api_conn(cx);
		if (!c)
			goto out;
	}
	rc = store_tx(c, paygate_apply, &t);
	if (rc) {
		api_db_fail(r, rc, "paygate notify");
		goto out;
	}
	log_info("paygate notify", json_pack("{s:s,s:s,s:i,s:b}", "reference", ref, "org_id",
					     pay.org_id, "status", t.status, "replay", t.replay));
	text_reply(r, 200, "OK");
out:
	paygate_form_free(&f);
}

static void paygate_return(struct api_ctx *cx)
{
	/* The browser comes back here (a form POST); the notify callback did the work. */
	http_add_header(cx->req, "Location", "/billing?payment=return");
	http_reply_empty(cx->req, 303);
}

/* ---- invoices ---- */

static json_t *invoice_json(const struct invoice *v)
{
	char pdf[96];
	snprintf(pdf, sizeof pdf, "/api/v1/invoices/%s.pdf", v->id);
	return json_pack("{s:s,s:s,s:s,s:s,s:I,s:i,s:I,s:I,s:s,s:{s:o,s:o},s:o,s:s,s:s,s:o}", "id",
			 v->id, "number", v->number, "plan", v->plan_code, "currency", v->currency,
			 "subtotal_minor", (json_int_t)v->subtotal_minor, "vat_percent",
			 v->vat_percent, "vat_minor", (json_int_t)v->vat_minor, "total_minor",
			 (json_int_t)v->total_minor, "provider", v->provider, "period", "start",
			 api_time(v->period_start), "end", api_time(v->period_end), "issued_at",
			 api_time(v->issued_at), "pdf_url", pdf, "status",
			 v->paid_at ? "paid" : "open", "paid_at",
			 v->paid_at ? api_time(v->paid_at) : json_null());
}

static void list_invoices(struct api_ctx *cx)
{
	struct invoice *list = NULL;
	size_t n = 0;
	enum store_rc rc = billing_invoice_list(cx->conn, cx->principal->org_id, 100, &list, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "invoices");
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, invoice_json(&list[i]));
	free(list);
	http_reply_json(cx->req, 200, json_pack("{s:o,s:n}", "data", data, "next_cursor"));
}

static void get_invoice(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const char *file = http_param(r, "file");
	char id[UUID_STR_LEN + 8];
	size_t len = strlen(file);
	bool pdf = len > 4 && !strcmp(file + len - 4, ".pdf");
	snprintf(id, sizeof id, "%.*s", (int)(pdf ? len - 4 : len), file);
	if (len > UUID_STR_LEN + 4 || !uuid_valid(id)) {
		http_problem(r, 404, "not_found", "There is no invoice %s.", file);
		return;
	}
	struct invoice v;
	enum store_rc rc = billing_invoice_get(cx->conn, cx->principal->org_id, id, &v);
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 404, "not_found", "There is no invoice %s in your organization.",
			     id);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "invoice");
		return;
	}
	if (!pdf) {
		http_reply_json(r, 200, invoice_json(&v));
		return;
	}
	struct plan plan;
	if (billing_plan_get(cx->conn, v.plan_code, &plan) != STORE_OK)
		snprintf(plan.name, sizeof plan.name, "%s", v.plan_code);
	char org_name[256] = "";
	billing_org_name(cx->conn, v.org_id, org_name, sizeof org_name);
	api_conn_release(cx);
	size_t size = 0;
	char *bytes = invoice_pdf(&v, plan.name, org_name, &size);
	if (!bytes) {
		http_problem_internal(r, "invoice pdf");
		return;
	}
	char disp[96];
	snprintf(disp, sizeof disp, "attachment; filename=\"%s.pdf\"", v.number);
	http_add_header(r, "Content-Disposition", disp);
	http_reply_text(r, 200, "application/pdf", bytes, size);
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
     .perm = PERM_SEE_BILLING,
     .run = checkout},
    {.method = M_POST,
     .pattern = "/api/v1/billing/portal",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .perm = PERM_SEE_BILLING,
     .run = portal},
    {.method = M_POST,
     .pattern = "/api/v1/billing/stripe/webhook",
     .body = BODY_JSON,
     .run = stripe_webhook},
    {.method = M_POST,
     .pattern = "/api/v1/billing/paygate/notify",
     .body = BODY_STREAM,
     .open = notify_open,
     .chunk = notify_chunk,
     .run = paygate_notify},
    {.method = M_POST, .pattern = "/api/v1/billing/paygate/return", .run = paygate_return},
    {.method = M_GET,
     .pattern = "/api/v1/invoices",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .perm = PERM_SEE_BILLING,
     .run = list_invoices},
    {.method = M_GET,
     .pattern = "/api/v1/invoices/{file}",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .perm = PERM_SEE_BILLING,
     .run = get_invoice},
};

size_t api_billing_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
