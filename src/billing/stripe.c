/*
 * stripe.c — Stripe for USD subscriptions: Checkout Session, Customer
 * Portal (form-encoded requests with the secret key as Bearer, JSON
 * answers, errors as {"error": {"type", "message", ...}}) and the webhook
 * signature. IAM_STRIPE_API_BASE points it elsewhere (tests: a stand-in).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/gateway.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/log.h"

#define STRIPE_TIMEOUT_S 20

enum stripe_sig stripe_verify(const char *header, const char *payload, size_t len,
			      const char *secrets, int64_t now_s, int64_t tolerance_s)
{
	if (!header || !secrets || !*secrets || strlen(header) > 4096)
		return STRIPE_SIG_MALFORMED;
	/* t=<digits>, then any number of v1=<64 hex>; other schemes (v0) are ignored. */
	int64_t t = -1;
	char v1[8][65];
	size_t nv1 = 0;
	const char *p = header;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		if (n > 2 && !strncmp(p, "t=", 2)) {
			int64_t v = 0;
			size_t i = 2;
			for (; i < n && i < 14 && isdigit((unsigned char)p[i]); i++)
				v = v * 10 + (p[i] - '0');
			if (i != n)
				return STRIPE_SIG_MALFORMED;
			t = v;
		} else if (n == 67 && !strncmp(p, "v1=", 3) && nv1 < 8) {
			memcpy(v1[nv1], p + 3, 64);
			v1[nv1][64] = '\0';
			nv1++;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (t < 0 || nv1 == 0)
		return STRIPE_SIG_MALFORMED;
	if (t > now_s + tolerance_s || t < now_s - tolerance_s)
		return STRIPE_SIG_STALE;
	char ts[24];
	int tn = snprintf(ts, sizeof ts, "%lld.", (long long)t);
	char *signed_text = malloc((size_t)tn + len + 1);
	if (!signed_text)
		return STRIPE_SIG_MISMATCH;
	memcpy(signed_text, ts, (size_t)tn);
	memcpy(signed_text + tn, payload, len);
	bool ok = false;
	/* Each of our secrets (old and new while rolling) against each v1. */
	const char *s = secrets;
	while (*s && !ok) {
		const char *comma = strchr(s, ',');
		size_t sn = comma ? (size_t)(comma - s) : strlen(s);
		while (sn && isspace((unsigned char)*s)) {
			s++;
			sn--;
		}
		while (sn && isspace((unsigned char)s[sn - 1]))
			sn--;
		if (sn) {
			unsigned char mac[32];
			char hex[65];
			crypto_hmac_sha256(s, sn, signed_text, (size_t)tn + len, mac);
			crypto_hex(mac, 32, hex);
			for (size_t i = 0; i < nv1; i++) {
				for (char *c = v1[i]; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				if (crypto_equal(hex, v1[i], 64))
					ok = true;
			}
			explicit_bzero(mac, sizeof mac);
		}
		s += comma ? (size_t)(comma - s) + 1 : strlen(s);
	}
	free(signed_text);
	return ok ? STRIPE_SIG_OK : STRIPE_SIG_MISMATCH;
}

/*
 * POST form to path. *status gets the HTTP status (0 when Stripe could not
 * be reached); *obj the JSON answer on 2xx; on an error answer err gets
 * Stripe's message. GATEWAY_DOWN: not reached, unreadable, 429 or 5xx
 * (worth another try); GATEWAY_REFUSED: another 4xx.
 */
static enum gateway_rc stripe_request(const struct config *cfg, const char *path, const char *form,
				      const char *idem_key, long *status, json_t **obj, char *err,
				      size_t errlen)
{
	*obj = NULL;
	*status = 0;
	if (!cfg->stripe_secret_key || !*cfg->stripe_secret_key) {
		snprintf(err, errlen, "Stripe is not configured on this server.");
		return GATEWAY_OFF;
	}
	char url[1024], auth[512], idem[200];
	snprintf(url, sizeof url, "%s%s", cfg->stripe_api_base, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->stripe_secret_key);
	snprintf(idem, sizeof idem, "Idempotency-Key: %s", idem_key ? idem_key : "");
	const char *headers[] = {auth, "Content-Type: application/x-www-form-urlencoded",
				 idem_key ? idem : NULL, NULL};
	char *body;
	int rc = gateway_http("POST", url, headers, form, STRIPE_TIMEOUT_S, status, &body);
	explicit_bzero(auth, sizeof auth);
	if (rc < 0) {
		*status = 0;
		snprintf(err, errlen, "Stripe could not be reached. Try again in a minute.");
		return GATEWAY_DOWN;
	}
	json_t *j = json_loads(body, 0, NULL);
	free(body);
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(err, errlen, "Stripe gave an answer we could not read (HTTP %ld).",
			 *status);
		return GATEWAY_DOWN;
	}
	if (*status < 200 || *status > 299) {
		const char *msg =
		    json_string_value(json_object_get(json_object_get(j, "error"), "message"));
		snprintf(err, errlen, "Stripe refused (HTTP %ld): %.300s", *status,
			 msg ? msg : "no reason given");
		log_warn("stripe refused", json_pack("{s:s,s:i,s:s}", "path", path, "status",
						     (int)*status, "message", msg ? msg : ""));
		json_decref(j);
		return *status >= 500 || *status == 429 ? GATEWAY_DOWN : GATEWAY_REFUSED;
	}
	*obj = j;
	return GATEWAY_OK;
}

/* POST form to path; *obj the JSON answer on 2xx. */
static enum gateway_rc stripe_post(const struct config *cfg, const char *path, const char *form,
				   const char *idem_key, json_t **obj, char *err, size_t errlen)
{
	long status;
	enum gateway_rc rc = stripe_request(cfg, path, form, idem_key, &status, obj, err, errlen);
	/* Checkout and the portal answer a person now: a 429 is a refusal to show them. */
	return rc == GATEWAY_DOWN && status == 429 ? GATEWAY_REFUSED : rc;
}

enum gateway_rc stripe_meter_event(const struct config *cfg, const char *event_name,
				   const char *customer_id, int64_t value, const char *identifier,
				   int64_t timestamp_s, long *status, char *err, size_t errlen)
{
	struct buf f = {.limit = 4096};
	char v[32], ts[32];
	snprintf(v, sizeof v, "%lld", (long long)value);
	snprintf(ts, sizeof ts, "%lld", (long long)timestamp_s);
	int rc = gateway_form_add(&f, "event_name", event_name);
	rc |= gateway_form_add(&f, "payload[stripe_customer_id]", customer_id);
	rc |= gateway_form_add(&f, "payload[value]", v);
	rc |= gateway_form_add(&f, "identifier", identifier);
	rc |= gateway_form_add(&f, "timestamp", ts);
	*status = 0;
	if (rc) {
		buf_free(&f);
		snprintf(err, errlen, "Out of memory.");
		return GATEWAY_DOWN;
	}
	json_t *ev;
	/* No Idempotency-Key: Stripe would replay a saved 500 to every retry with it; the
	 * identifier is what makes a retry harmless here. */
	enum gateway_rc grc =
	    stripe_request(cfg, "/v1/billing/meter_events", f.data, NULL, status, &ev, err, errlen);
	buf_free(&f);
	/* Stripe keeps identifiers (at least 24 hours) and refuses one it has seen with a 400
	 * "An event already exists with identifier ...": that event was recorded already. */
	if (grc == GATEWAY_REFUSED && *status == 400 && strstr(err, "already exists"))
		return GATEWAY_OK;
	json_decref(ev);
	return grc;
}

static enum gateway_rc stripe_checkout(const struct config *cfg, const struct checkout_req *in,
				       struct checkout_res *out, char *err, size_t errlen)
{
	struct buf f = {.limit = 16384};
	char success[700], cancel[700], amount[32];
	snprintf(success, sizeof success,
		 "%s/billing?checkout=success&session_id={CHECKOUT_SESSION_ID}", cfg->public_url);
	snprintf(cancel, sizeof cancel, "%s/billing?checkout=cancel", cfg->public_url);
	snprintf(amount, sizeof amount, "%lld", (long long)in->amount_minor);
	int rc = gateway_form_add(&f, "mode", "subscription");
	rc |= gateway_form_add(&f, "success_url", success);
	rc |= gateway_form_add(&f, "cancel_url", cancel);
	rc |= gateway_form_add(&f, "client_reference_id", in->org_id);
	rc |= gateway_form_add(&f, "metadata[org_id]", in->org_id);
	rc |= gateway_form_add(&f, "metadata[plan]", in->plan->code);
	rc |= gateway_form_add(&f, "subscription_data[metadata][org_id]", in->org_id);
	rc |= gateway_form_add(&f, "subscription_data[metadata][plan]", in->plan->code);
	if (in->customer_id && *in->customer_id)
		rc |= gateway_form_add(&f, "customer", in->customer_id);
	else if (in->email && *in->email)
		rc |= gateway_form_add(&f, "customer_email", in->email);
	rc |= gateway_form_add(&f, "line_items[0][quantity]", "1");
	if (in->plan->stripe_price_id[0]) {
		rc |= gateway_form_add(&f, "line_items[0][price]", in->plan->stripe_price_id);
	} else {
		/* No Stripe price set up for the plan: the catalogue's price, inline. */
		char name[96];
		snprintf(name, sizeof name, "IAM %s", in->plan->name);
		rc |= gateway_form_add(&f, "line_items[0][price_data][currency]", "usd");
		rc |= gateway_form_add(&f, "line_items[0][price_data][unit_amount]", amount);
		rc |=
		    gateway_form_add(&f, "line_items[0][price_data][recurring][interval]", "month");
		rc |= gateway_form_add(&f, "line_items[0][price_data][product_data][name]", name);
	}
	if (rc) {
		buf_free(&f);
		snprintf(err, errlen, "Out of memory.");
		return GATEWAY_DOWN;
	}
	json_t *s;
	enum gateway_rc grc =
	    stripe_post(cfg, "/v1/checkout/sessions", f.data, in->reference, &s, err, errlen);
	buf_free(&f);
	if (grc)
		return grc;
	const char *url = json_string_value(json_object_get(s, "url"));
	const char *id = json_string_value(json_object_get(s, "id"));
	if (!url || !id || strncmp(url, "http", 4)) {
		json_decref(s);
		snprintf(err, errlen, "Stripe's checkout session has no URL.");
		return GATEWAY_DOWN;
	}
	snprintf(out->url, sizeof out->url, "%s", url);
	snprintf(out->session_id, sizeof out->session_id, "%s", id);
	json_decref(s);
	return GATEWAY_OK;
}

enum gateway_rc stripe_portal(const struct config *cfg, const char *customer_id, char *url,
			      size_t urllen, char *err, size_t errlen)
{
	struct buf f = {.limit = 4096};
	char ret[700];
	snprintf(ret, sizeof ret, "%s/billing", cfg->public_url);
	if (gateway_form_add(&f, "customer", customer_id) ||
	    gateway_form_add(&f, "return_url", ret)) {
		buf_free(&f);
		snprintf(err, errlen, "Out of memory.");
		return GATEWAY_DOWN;
	}
	json_t *s;
	enum gateway_rc grc =
	    stripe_post(cfg, "/v1/billing_portal/sessions", f.data, NULL, &s, err, errlen);
	buf_free(&f);
	if (grc)
		return grc;
	const char *u = json_string_value(json_object_get(s, "url"));
	if (!u || strncmp(u, "http", 4)) {
		json_decref(s);
		snprintf(err, errlen, "Stripe's portal session has no URL.");
		return GATEWAY_DOWN;
	}
	snprintf(url, urllen, "%s", u);
	json_decref(s);
	return GATEWAY_OK;
}

const struct gateway GATEWAY_STRIPE = {
    .name = "stripe", .currency = "USD", .checkout = stripe_checkout};
