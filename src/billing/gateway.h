/*
 * gateway.h — payment gateways, one file each (stripe.c: USD
 * subscriptions; paygate.c: ZAR payments). A gateway starts a payment for
 * a plan and hands back where to send the browser; what comes back from
 * the provider (webhooks, notify callbacks) is read by its own file's
 * functions and applied by api/billing.c. Another gateway (Stitch,
 * PayFast) is one more file with a checkout function and its callback.
 *
 * Nothing here knows HTTP requests of our own API or the database.
 */
#ifndef IAM_BILLING_GATEWAY_H
#define IAM_BILLING_GATEWAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "store/billing.h"

enum gateway_rc {
	GATEWAY_OK = 0,
	GATEWAY_OFF,	 /* not configured */
	GATEWAY_REFUSED, /* the provider answered with an error (err says what) */
	GATEWAY_DOWN,	 /* could not reach it, or its answer made no sense */
};

struct checkout_req {
	const char *org_id;
	const char *email; /* the buyer's, may be "" */
	const struct plan *plan;
	const char *customer_id; /* the provider's customer, "" for a new one */
	const char *reference;	 /* our id for this payment */
	int64_t amount_minor;	 /* in the gateway's currency */
};

struct checkout_res {
	char url[2048];	      /* where the browser goes to pay */
	char session_id[160]; /* the provider's id of this checkout */
	char checksum[40];    /* PayGate: the CHECKSUM to post with PAY_REQUEST_ID */
};

struct gateway {
	const char *name;     /* "stripe", "paygate" */
	const char *currency; /* ISO 4217 */
	enum gateway_rc (*checkout)(const struct config *cfg, const struct checkout_req *in,
				    struct checkout_res *out, char *err, size_t errlen);
};

extern const struct gateway GATEWAY_STRIPE;
extern const struct gateway GATEWAY_PAYGATE;

/* The gateway that takes currency ("USD", "ZAR"), NULL for none. */
const struct gateway *gateway_for_currency(const char *currency);

/* ---- the HTTP client the gateways share (gateway.c) ---- */

/*
 * POST (body != NULL) or GET url with the given headers (NULL-terminated
 * list, may be NULL). *status gets the HTTP status; *out the body (bounded
 * to 1 MiB; caller frees). Returns 0, or -1 when it could not be reached.
 */
int gateway_http(const char *method, const char *url, const char *const *headers, const char *body,
		 long timeout_s, long *status, char **out);

/* Append "key=value" form-encoded (with & when not first) to a growable string. */
struct buf;
int gateway_form_add(struct buf *b, const char *key, const char *value);

/* ---- Stripe (stripe.c) ---- */

enum stripe_sig {
	STRIPE_SIG_OK = 0,
	STRIPE_SIG_MALFORMED, /* no t= or no v1= */
	STRIPE_SIG_STALE,     /* timestamp further than tolerance from now */
	STRIPE_SIG_MISMATCH,  /* no v1 matches any of our secrets */
};

/*
 * Verify a Stripe-Signature header over payload: HMAC-SHA256 of
 * "<t>.<payload>" keyed with each secret of the comma-separated list,
 * compared in constant time with every v1 (several during Stripe's secret
 * rotation); |now - t| must be within tolerance_s.
 */
enum stripe_sig stripe_verify(const char *header, const char *payload, size_t len,
			      const char *secrets, int64_t now_s, int64_t tolerance_s);

/* Customer Portal session for customer_id; url[2048]. */
enum gateway_rc stripe_portal(const struct config *cfg, const char *customer_id, char *url,
			      size_t urllen, char *err, size_t errlen);

/*
 * Report value (whole units, e.g. overage minutes) of customer_id to the
 * Stripe Billing Meter named event_name: POST /v1/billing/meter_events,
 * form-encoded, with identifier: Stripe keeps it unique for at least a
 * day and refuses a second event with it ("An event already exists with
 * identifier ..."), which counts as reported, so a retry never counts
 * twice. No Idempotency-Key: with one, Stripe replays a saved 500 to every
 * retry. *status: the HTTP status (0 when not reached).
 * GATEWAY_OK (also when Stripe already holds this identifier),
 * GATEWAY_DOWN (not reached, 429, 5xx: try again later), GATEWAY_REFUSED
 * (another 4xx: err says why; retrying cannot help), GATEWAY_OFF.
 */
enum gateway_rc stripe_meter_event(const struct config *cfg, const char *event_name,
				   const char *customer_id, int64_t value, const char *identifier,
				   int64_t timestamp_s, long *status, char *err, size_t errlen);

/* ---- PayGate PayWeb3 (paygate.c) ---- */

/*
 * The PayWeb3 checksum: MD5 (hex, lower case) of the values concatenated
 * in field order, then the encryption key. values: n strings.
 */
void paygate_checksum(const char *const *values, size_t n, const char *key, char out[33]);

#define PAYGATE_FORM_MAX 32

/* A form-encoded PayWeb3 message, its fields in the order received (decoded). */
struct paygate_form {
	size_t n;
	char *key[PAYGATE_FORM_MAX];
	char *value[PAYGATE_FORM_MAX];
};
/* Parse text (at most PAYGATE_FORM_MAX fields); -1 when malformed. Free with paygate_form_free. */
int paygate_form_parse(const char *text, size_t len, struct paygate_form *f);
void paygate_form_free(struct paygate_form *f);
/* The value of key, NULL when absent. */
const char *paygate_form_get(const struct paygate_form *f, const char *key);
/*
 * True when CHECKSUM is the MD5 of every other value in order plus key
 * (notify callbacks, query and initiate answers), compared in constant time.
 */
bool paygate_form_verify(const struct paygate_form *f, const char *key);

/* What query.trans says of a payment (verified). */
struct paygate_status {
	int transaction_status; /* 1 approved, 2 declined, 4 cancelled by the user, ... */
	int64_t amount_minor;
	char currency[4];
	char reference[64];
};
enum gateway_rc paygate_query(const struct config *cfg, const char *pay_request_id,
			      const char *reference, struct paygate_status *out, char *err,
			      size_t errlen);

#endif
