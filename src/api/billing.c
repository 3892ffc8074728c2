/*
 * billing.c — /api/v1/billing/...: plans, checkout and portal (Stripe),
 * PayGate, provider webhooks, invoices. Only owners and admins of an
 * organization manage its billing (billing_may_manage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "store/billing.h"

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

static const struct route ROUTES[] = {
    {.method = M_GET,
     .pattern = "/api/v1/billing/plans",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = list_plans},
};

size_t api_billing_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
