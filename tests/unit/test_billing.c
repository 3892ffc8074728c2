/*
 * Unit tests for billing: the Stripe-Signature check (rotation, secret
 * lists, tolerance, forgery, malformed headers; reference values made with
 * the official `stripe` npm package), the PayWeb3 checksum (PayGate's
 * documented initiate example), quota arithmetic and the effective plan,
 * metering rounding, and the subscription state machine under events in
 * and out of order, and the store's lists (plans, invoices, usage by day,
 * PayGate subscriptions) (on the SQLite fixture, PostgreSQL with IAM_TEST_PG_URL).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing/events.h"
#include "bus/bus.h"
#include "billing/gateway.h"
#include "billing/meter.h"
#include "core/crypto.h"
#include "core/log.h"
#include "service/quota.h"
#include "store/billing.h"

#include "db_fixture.h"

/* stripe.webhooks.generateTestHeaderString({payload: P, secret, timestamp: 1700000000}) */
static const char P[] = "{\"id\":\"evt_1\",\"type\":\"invoice.paid\"}";
#define T0	  1700000000
#define SIG_TEST  "46dc069361a7691082640523fa33fe5d6c8c88d5f5e257cdf8cf11539d166595"
#define SIG_OTHER "05074d0afb23c996d440f69b158e2062e80029a9afc33bb81c16b20d636a2063"
#define SEC_TEST  "whsec_test_secret"
#define SEC_OTHER "whsec_other"

static enum stripe_sig verify(const char *header, const char *secrets, int64_t now)
{
	return stripe_verify(header, P, strlen(P), secrets, now, 300);
}

static void test_stripe_signature(void **state)
{
	(void)state;
	assert_int_equal(verify("t=1700000000,v1=" SIG_TEST, SEC_TEST, T0), STRIPE_SIG_OK);
	/* rotation: Stripe signs with the new and the expiring secret */
	assert_int_equal(verify("t=1700000000,v1=" SIG_OTHER ",v1=" SIG_TEST, SEC_TEST, T0),
			 STRIPE_SIG_OK);
	assert_int_equal(verify("t=1700000000,v1=" SIG_TEST ",v1=" SIG_OTHER, SEC_TEST, T0),
			 STRIPE_SIG_OK);
	/* v0 and unknown schemes are ignored, spaces tolerated */
	assert_int_equal(verify("t=1700000000, v0=abc, v1=" SIG_TEST, SEC_TEST, T0), STRIPE_SIG_OK);
	/* our own list: the old and the new secret while rolling */
	assert_int_equal(verify("t=1700000000,v1=" SIG_TEST, SEC_OTHER "," SEC_TEST, T0),
			 STRIPE_SIG_OK);
	assert_int_equal(verify("t=1700000000,v1=" SIG_TEST, " " SEC_TEST " , x", T0),
			 STRIPE_SIG_OK);
	/* forged: another secret, or the signature of another timestamp */
	assert_int_equal(verify("t=1700000000,v1=" SIG_OTHER, SEC_TEST, T0), STRIPE_SIG_MISMATCH);
	assert_int_equal(verify("t=1700000001,v1=" SIG_TEST, SEC_TEST, T0), STRIPE_SIG_MISMATCH);
	/* tampered payload */
	assert_int_equal(
	    stripe_verify("t=1700000000,v1=" SIG_TEST, "{\"id\":\"evt_2\"}", 14, SEC_TEST, T0, 300),
	    STRIPE_SIG_MISMATCH);
	/* tolerance: 300 s either side is fine, 301 is stale */
	assert_int_equal(verify("t=1700000000,v1=" SIG_TEST, SEC_TEST, T0 + 300), STRIPE_SIG_OK);
	assert_int_equal(verify("t=1700000000,v1=" SIG_TEST, SEC_TEST, T0 - 300), STRIPE_SIG_OK);
	assert_int_equal(verify("t=1700000000,v1=" SIG_TEST, SEC_TEST, T0 + 301), STRIPE_SIG_STALE);
	assert_int_equal(verify("t=1700000000,v1=" SIG_TEST, SEC_TEST, T0 - 301), STRIPE_SIG_STALE);
	/* malformed */
	assert_int_equal(verify(NULL, SEC_TEST, T0), STRIPE_SIG_MALFORMED);
	assert_int_equal(verify("", SEC_TEST, T0), STRIPE_SIG_MALFORMED);
	assert_int_equal(verify("v1=" SIG_TEST, SEC_TEST, T0), STRIPE_SIG_MALFORMED);
	assert_int_equal(verify("t=1700000000", SEC_TEST, T0), STRIPE_SIG_MALFORMED);
	assert_int_equal(verify("t=17x0000000,v1=" SIG_TEST, SEC_TEST, T0), STRIPE_SIG_MALFORMED);
	assert_int_equal(verify("t=1700000000,v1=abc", SEC_TEST, T0), STRIPE_SIG_MALFORMED);
	assert_int_equal(verify("t=1700000000,v1=" SIG_TEST, "", T0), STRIPE_SIG_MALFORMED);
	assert_int_equal(verify("t=99999999999999999999,v1=" SIG_TEST, SEC_TEST, T0),
			 STRIPE_SIG_MALFORMED);
	char big[5000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(verify(big, SEC_TEST, T0), STRIPE_SIG_MALFORMED);
}

static void test_paygate_checksum(void **state)
{
	(void)state;
	/* PayGate's documented initiate.trans example (key "secret"). */
	const char *v[] = {"10011072130",
			   "pgtest_123456789",
			   "3299",
			   "ZAR",
			   "https://my.return.url/page",
			   "2018-01-01 12:00:00",
			   "en-za",
			   "ZAF",
			   "customer@paygate.co.za"};
	char out[33];
	paygate_checksum(v, sizeof v / sizeof *v, "secret", out);
	assert_string_equal(out, "59229d9c6cb336ae4bd287c87e6f0220");
	/* any value changed: another checksum */
	v[2] = "3300";
	paygate_checksum(v, sizeof v / sizeof *v, "secret", out);
	assert_string_not_equal(out, "59229d9c6cb336ae4bd287c87e6f0220");
}

static void test_paygate_form(void **state)
{
	(void)state;
	struct paygate_form f;
	/* a notify body: fields in order, CHECKSUM over every other value plus the key */
	const char *vals[] = {"10011072130", "ABC-1", "ref 1", "1", "ZAR", "36000"};
	char sum[33], body[512];
	paygate_checksum(vals, 6, "secret", sum);
	snprintf(body, sizeof body,
		 "PAYGATE_ID=10011072130&PAY_REQUEST_ID=ABC-1&REFERENCE=ref+1&TRANSACTION_STATUS=1"
		 "&CURRENCY=ZAR&AMOUNT=36000&CHECKSUM=%s",
		 sum);
	assert_int_equal(paygate_form_parse(body, strlen(body), &f), 0);
	assert_int_equal(f.n, 7);
	assert_string_equal(paygate_form_get(&f, "REFERENCE"), "ref 1");
	assert_null(paygate_form_get(&f, "USER1"));
	assert_true(paygate_form_verify(&f, "secret"));
	assert_false(paygate_form_verify(&f, "other key"));
	paygate_form_free(&f);
	/* one value changed: refused */
	char *amt = strstr(body, "36000");
	amt[0] = '4';
	assert_int_equal(paygate_form_parse(body, strlen(body), &f), 0);
	assert_false(paygate_form_verify(&f, "secret"));
	paygate_form_free(&f);
	/* malformed: bad escapes, encoded NUL, no '=', empty key, too many fields */
	const char *bad[] = {"A=%zz", "A=%4", "A=%00b", "A", "=x", "A=1&B"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(paygate_form_parse(bad[i], strlen(bad[i]), &f), -1);
	char many[2048] = "";
	for (int i = 0; i < PAYGATE_FORM_MAX + 1; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "K%d=v&", i);
	assert_int_equal(paygate_form_parse(many, strlen(many), &f), -1);
	/* no CHECKSUM, or one of the wrong length */
	assert_int_equal(paygate_form_parse("A=1&B=2", 7, &f), 0);
	assert_false(paygate_form_verify(&f, "secret"));
	paygate_form_free(&f);
	assert_int_equal(paygate_form_parse("A=1&CHECKSUM=abc", 16, &f), 0);
	assert_false(paygate_form_verify(&f, "secret"));
	paygate_form_free(&f);
	/* empty pairs are skipped */
	assert_int_equal(paygate_form_parse("&&A=1&&", 7, &f), 0);
	assert_int_equal(f.n, 1);
	paygate_form_free(&f);
}

static void test_quota_arithmetic(void **state)
{
	(void)state;
	assert_false(quota_exceeds(-1, INT64_MAX, INT64_MAX)); /* unlimited */
	assert_false(quota_exceeds(3600, 0, 3600));	       /* exactly the limit */
	assert_true(quota_exceeds(3600, 0, 3601));
	assert_false(quota_exceeds(3600, 3599, 1));
	assert_true(quota_exceeds(3600, 3600, 1));
	assert_false(quota_exceeds(3600, 3600, 0));
	assert_true(quota_exceeds(3600, 3601, 0)); /* already past (a downgrade) */
	assert_true(quota_exceeds(0, 0, 1));
	assert_true(quota_exceeds(INT64_MAX - 1, 10, INT64_MAX)); /* no overflow */
	assert_false(quota_exceeds(10, 5, -3));
	assert_int_equal(quota_threshold(-1, 100), 0);
	assert_int_equal(quota_threshold(100, 79), 0);
	assert_int_equal(quota_threshold(100, 80), 80);
	assert_int_equal(quota_threshold(100, 99), 80);
	assert_int_equal(quota_threshold(100, 100), 100);
	assert_int_equal(quota_threshold(0, 0), 100);
	assert_int_equal(quota_threshold(INT64_MAX, INT64_MAX / 5 * 4 + 1), 0); /* 79.99... % */
	assert_int_equal(quota_threshold(INT64_MAX, INT64_MAX / 5 * 4 + 2), 80);
	assert_int_equal(meter_seconds(45.0), 45);
	assert_int_equal(meter_seconds(60.004), 60);
	assert_int_equal(meter_seconds(60.2), 61);
	assert_int_equal(meter_seconds(0.2), 1);
	assert_int_equal(meter_seconds(0), 0);
	assert_int_equal(meter_seconds(-3), 0);
	assert_int_equal(meter_seconds(NAN), 0);
	assert_int_equal(meter_cost_per_minute("openai"), 6000);
	assert_int_equal(meter_cost_per_minute("sphinx"), 0);
	assert_int_equal(meter_cost_per_minute(NULL), 0);
}

static void test_effective_plan(void **state)
{
	(void)state;
	struct subscription s = {.plan_code = "pro", .state = "active"};
	int64_t day = 86400000;
	assert_string_equal(quota_plan_code(&s, 10 * day, 7 * 86400), "pro");
	snprintf(s.state, sizeof s.state, "past_due");
	s.past_due_since = 10 * day;
	assert_string_equal(quota_plan_code(&s, 16 * day, 7 * 86400), "pro"); /* in grace */
	assert_string_equal(quota_plan_code(&s, 17 * day - 1, 7 * 86400), "pro");
	assert_string_equal(quota_plan_code(&s, 17 * day, 7 * 86400), "free");
	assert_string_equal(quota_plan_code(&s, 10 * day, 0), "free");
	snprintf(s.state, sizeof s.state, "canceled");
	assert_string_equal(quota_plan_code(&s, 10 * day, 7 * 86400), "free");
	assert_string_equal(billing_stripe_state("trialing"), "active");
	assert_string_equal(billing_stripe_state("unpaid"), "past_due");
	assert_string_equal(billing_stripe_state("incomplete_expired"), "canceled");
	assert_string_equal(billing_stripe_state("incomplete"), "");
	assert_string_equal(billing_stripe_state(NULL), "");
}

/* A subscription object as Stripe sends it, for org with plan in metadata. */
static json_t *sub_obj(const char *org, const char *status, const char *plan, int64_t start)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s},s:I,s:I,s:{s:[]}}", "id", "sub_1", "object",
			 "subscription", "customer", "cus_1", "status", status, "metadata",
			 "org_id", org, "plan", plan, "current_period_start", (json_int_t)start,
			 "current_period_end", (json_int_t)(start + 2592000), "items", "data");
}

static const char *apply(struct fx *fx, const char *type, int64_t created_s, json_t *obj)
{
	const char *outcome = NULL;
	char org[40];
	assert_int_equal(
	    billing_stripe_event(fx->c, type, created_s * 1000, obj, time_now_ms(), &outcome, org),
	    STORE_OK);
	json_decref(obj);
	return outcome;
}

static void test_state_machine_order(void **state)
{
	FX(state);
	struct subscription s;
	/* updated (newer) before created (older): the newer state stays */
	assert_string_equal(apply(fx, "customer.subscription.updated", 2000,
				  sub_obj(fx->org, "active", "enterprise", 1990)),
			    EVENT_APPLIED);
	assert_string_equal(apply(fx, "customer.subscription.created", 1000,
				  sub_obj(fx->org, "active", "pro", 990)),
			    EVENT_OUT_OF_ORDER);
	assert_int_equal(billing_subscription_get(fx->c, fx->org, time_now_ms(), &s), STORE_OK);
	assert_string_equal(s.plan_code, "enterprise");
	assert_string_equal(s.state, "active");
	assert_string_equal(s.customer_id, "cus_1");
	assert_int_equal(s.period_start, 1990000);
	/* found by customer id from now on (no metadata) */
	json_t *failed = json_pack("{s:s,s:s}", "id", "in_1", "customer", "cus_1");
	assert_string_equal(apply(fx, "invoice.payment_failed", 3000, failed), EVENT_APPLIED);
	assert_int_equal(billing_subscription_get(fx->c, fx->org, time_now_ms(), &s), STORE_OK);
	assert_string_equal(s.state, "past_due");
	int64_t since = s.past_due_since;
	assert_true(since > 0);
	/* a second failure does not restart the grace period */
	failed = json_pack("{s:s,s:s}", "id", "in_2", "customer", "cus_1");
	assert_string_equal(apply(fx, "invoice.payment_failed", 3100, failed), EVENT_APPLIED);
	assert_int_equal(billing_subscription_get(fx->c, fx->org, time_now_ms(), &s), STORE_OK);
	assert_int_equal(s.past_due_since, since);
	/* deleted, then a late paid invoice from before: stays canceled */
	assert_string_equal(apply(fx, "customer.subscription.deleted", 4000,
				  sub_obj(fx->org, "canceled", "enterprise", 1990)),
			    EVENT_APPLIED);
	json_t *paid = json_pack("{s:s,s:s}", "id", "in_3", "customer", "cus_1");
	assert_string_equal(apply(fx, "invoice.paid", 3500, paid), EVENT_OUT_OF_ORDER);
	assert_int_equal(billing_subscription_get(fx->c, fx->org, time_now_ms(), &s), STORE_OK);
	assert_string_equal(s.state, "canceled");
	assert_int_equal(s.past_due_since, 0);
	/* unknown customer and unknown types change nothing */
	json_t *stranger = json_pack("{s:s,s:s}", "id", "sub_x", "customer", "cus_nobody");
	assert_string_equal(apply(fx, "customer.subscription.updated", 5000, stranger),
			    EVENT_UNKNOWN_CUSTOMER);
	assert_string_equal(apply(fx, "charge.refunded", 5000, json_object()), EVENT_IGNORED_TYPE);
	/* the other organization was never touched */
	assert_int_equal(billing_subscription_get(fx->c, fx->org2, time_now_ms(), &s), STORE_OK);
	assert_false(s.stored);
	assert_string_equal(s.plan_code, "free");
}

static void test_usage_idempotent(void **state)
{
	FX(state);
	struct usage_record u = {.org_id = fx->org,
				 .kind = USAGE_SECONDS,
				 .source_key = "job-1",
				 .quantity = 45,
				 .at_ms = time_now_ms()};
	bool inserted = false;
	assert_int_equal(billing_usage_add(fx->c, &u, &inserted), STORE_OK);
	assert_true(inserted);
	/* the retried job: counted once */
	assert_int_equal(billing_usage_add(fx->c, &u, &inserted), STORE_OK);
	assert_false(inserted);
	assert_int_equal(
	    meter_transcription(fx->c, NULL, fx->org, "job-1", NULL, 45.0, "sphinx", "m"),
	    STORE_OK);
	int64_t sum = 0;
	assert_int_equal(billing_usage_sum(fx->c, fx->org, USAGE_SECONDS, 0, INT64_MAX, &sum),
			 STORE_OK);
	assert_int_equal(sum, 45);
	struct quota_usage q;
	assert_int_equal(quota_check(fx->c, fx->org, QUOTA_MINUTES, 3555, &q), QUOTA_OK);
	assert_int_equal(quota_check(fx->c, fx->org, QUOTA_MINUTES, 3556, &q), QUOTA_EXCEEDED);
	assert_int_equal(q.limit, 3600);
	assert_int_equal(q.used, 45);
	/* queued audio counts, rounded up per file the same way on both databases */
	const double durations[] = {30.0, 30.004, 0.2};
	for (size_t i = 0; i < 3; i++) {
		char mid[UUID_STR_LEN];
		uuid_v7(mid);
		assert_int_equal(
		    db_exec(fx->c,
			    "INSERT INTO meetings (id, org_id, title, status, duration_seconds,"
			    " created_at, updated_at) VALUES ($1, $2, 't', 'queued', $3, 1, 1)",
			    DB_PARAMS(DB_TEXT(mid), DB_TEXT(fx->org), DB_REAL(durations[i])), NULL),
		    DB_OK);
	}
	int64_t pending = 0;
	assert_int_equal(billing_pending_seconds(fx->c, fx->org, &pending), STORE_OK);
	assert_int_equal(pending, 30 + 30 + 1);
	assert_int_equal(quota_check(fx->c, fx->org, QUOTA_MINUTES, 3600 - 45 - 61, &q), QUOTA_OK);
	assert_int_equal(quota_check(fx->c, fx->org, QUOTA_MINUTES, 3600 - 45 - 60, &q),
			 QUOTA_EXCEEDED);
	/* the 80 % warning is recorded once per period */
	bool first = false;
	assert_int_equal(billing_warning_claim(fx->c, fx->org, "minutes", 0, 80, &first), STORE_OK);
	assert_true(first);
	assert_int_equal(billing_warning_claim(fx->c, fx->org, "minutes", 0, 80, &first), STORE_OK);
	assert_false(first);
	/* events: once */
	assert_int_equal(billing_event_claim(fx->c, "stripe", "evt_1", "x", NULL, NULL, &first),
			 STORE_OK);
	assert_true(first);
	assert_int_equal(billing_event_claim(fx->c, "stripe", "evt_1", "x", NULL, NULL, &first),
			 STORE_OK);
	assert_false(first);
}

struct seen {
	int n;
	char type[32];
	char data[512];
};

static void on_event(void *ctx, const struct bus_event *ev)
{
	struct seen *s = ctx;
	s->n++;
	snprintf(s->type, sizeof s->type, "%s", ev->type);
	snprintf(s->data, sizeof s->data, "%s", ev->data);
}

static void test_warnings_once(void **state)
{
	FX(state);
	struct bus *bus = bus_new();
	struct seen seen = {0};
	int h = bus_subscribe(bus, on_event, &seen);
	/* Free: 50 chat messages. 39 -> nothing; 40 (80 %) -> one warning; 41..49 -> none. */
	char id[32];
	for (int i = 1; i <= 39; i++) {
		snprintf(id, sizeof id, "msg-%d", i);
		assert_int_equal(meter_chat_message(fx->c, bus, fx->org, id), STORE_OK);
	}
	assert_int_equal(seen.n, 0);
	assert_int_equal(meter_chat_message(fx->c, bus, fx->org, "msg-40"), STORE_OK);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.type, "notification");
	assert_non_null(strstr(seen.data, "\"threshold\":80"));
	assert_non_null(strstr(seen.data, "\"resource\":\"chat_messages\""));
	assert_int_equal(meter_chat_message(fx->c, bus, fx->org, "msg-40"), STORE_OK); /* again */
	for (int i = 41; i <= 49; i++) {
		snprintf(id, sizeof id, "msg-%d", i);
		assert_int_equal(meter_chat_message(fx->c, bus, fx->org, id), STORE_OK);
	}
	assert_int_equal(seen.n, 1);
	struct quota_usage u;
	assert_int_equal(quota_check(fx->c, fx->org, QUOTA_CHAT, 1, &u), QUOTA_OK);
	assert_int_equal(meter_chat_message(fx->c, bus, fx->org, "msg-50"), STORE_OK);
	assert_int_equal(seen.n, 2); /* 100 % */
	assert_non_null(strstr(seen.data, "\"threshold\":100"));
	assert_int_equal(quota_check(fx->c, fx->org, QUOTA_CHAT, 1, &u), QUOTA_EXCEEDED);
	assert_int_equal(u.limit, 50);
	assert_int_equal(u.used, 50);
	/* the other organization is untouched */
	assert_int_equal(quota_check(fx->c, fx->org2, QUOTA_CHAT, 1, &u), QUOTA_OK);
	assert_int_equal(u.used, 0);
	bus_unsubscribe(bus, h);
	bus_free(bus);
}

static void test_api_rate(void **state)
{
	FX(state);
	/* Free: 100 requests an hour, counted in memory and written in batches. */
	int64_t now = time_now_ms(), window = now - now % 3600000;
	struct quota_rate q;
	for (int i = 1; i <= 100; i++) {
		assert_int_equal(quota_api_hit(fx->c, fx->org, now, &q), QUOTA_OK);
		assert_int_equal(q.count, i);
		assert_int_equal(q.limit, 100);
	}
	assert_int_equal(quota_api_hit(fx->c, fx->org, now, &q), QUOTA_EXCEEDED);
	assert_int_equal(q.count, 101);
	assert_int_equal(q.reset_ms, window + 3600000);
	int64_t shared = 0;
	assert_int_equal(billing_api_count(fx->c, fx->org, window, &shared), STORE_OK);
	assert_true(shared >= 100 - 16 && shared <= 101); /* written in batches */
	assert_int_equal(quota_api_used(fx->org, window, shared), 101);
	/* a second later the batch is written */
	assert_int_equal(quota_api_hit(fx->c, fx->org, now + 1000, &q), QUOTA_EXCEEDED);
	assert_int_equal(billing_api_count(fx->c, fx->org, window, &shared), STORE_OK);
	assert_int_equal(shared, 102);
	/* the next hour starts from zero; the last hour's rest is kept */
	assert_int_equal(quota_api_hit(fx->c, fx->org, window + 3600000, &q), QUOTA_OK);
	assert_int_equal(q.count, 1);
	/* another organization has its own count */
	assert_int_equal(quota_api_hit(fx->c, fx->org2, now, &q), QUOTA_OK);
	assert_int_equal(q.count, 1);
}

/* Issue 13: a chat message's place is reserved with the check; metering turns it into the record.
 */
static void test_chat_reserve(void **state)
{
	FX(state);
	/* Free: 50 chat messages. 48 metered, 2 reservations fit, a third does not. (Message
	 * ids are unique across organizations, and PostgreSQL runs share one database.) */
	char id[32];
	for (int i = 1; i <= 48; i++) {
		snprintf(id, sizeof id, "rsv-%d", i);
		assert_int_equal(meter_chat_message(fx->c, NULL, fx->org, id), STORE_OK);
	}
	struct quota_usage u;
	assert_int_equal(quota_reserve(fx->c, fx->org, QUOTA_CHAT, 1, &u), QUOTA_OK);
	assert_int_equal(quota_reserve(fx->c, fx->org, QUOTA_CHAT, 1, &u), QUOTA_OK);
	assert_int_equal(quota_reserve(fx->c, fx->org, QUOTA_CHAT, 1, &u), QUOTA_EXCEEDED);
	assert_int_equal(u.used, 50);
	assert_int_equal(u.limit, 50);
	/* The answers are stored: the reservations become the records, nothing more is counted. */
	assert_int_equal(meter_chat_message(fx->c, NULL, fx->org, "rsv-49"), STORE_OK);
	assert_int_equal(meter_chat_message(fx->c, NULL, fx->org, "rsv-49"), STORE_OK); /* again */
	assert_int_equal(meter_chat_message(fx->c, NULL, fx->org, "rsv-50"), STORE_OK);
	int64_t sum = -1;
	assert_int_equal(billing_usage_sum(fx->c, fx->org, USAGE_CHAT, 0, INT64_MAX / 2, &sum),
			 STORE_OK);
	assert_int_equal(sum, 50);
	int64_t rows = -1;
	struct db_res *r = db_query(fx->c,
				    "SELECT COUNT(*) FROM usage_records WHERE org_id = $1"
				    " AND expires_at IS NOT NULL",
				    DB_PARAMS(DB_TEXT(fx->org)), NULL);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	rows = db_int(r, 0);
	db_res_free(r);
	assert_int_equal(rows, 0);
	/* The other organization is untouched. */
	assert_int_equal(quota_reserve(fx->c, fx->org2, QUOTA_CHAT, 1, &u), QUOTA_OK);
	assert_int_equal(u.used, 0);
}

static int64_t count_of(struct fx *fx, const char *sql)
{
	struct db_res *r = db_query(fx->c, sql, NULL, 0, NULL);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	int64_t n = db_int(r, 0);
	db_res_free(r);
	return n;
}

/* The plan catalogue: every plan, in display order (position, then code). */
static void test_list_plans(void **state)
{
	FX(state);
	struct plan p;
	assert_int_equal(billing_plan_get(fx->c, "free", &p), STORE_OK);
	snprintf(p.code, sizeof p.code, "test-lists");
	snprintf(p.name, sizeof p.name, "Lists");
	p.position = 99;
	assert_int_equal(billing_plan_put(fx->c, &p), STORE_OK);
	struct plan *list = NULL;
	size_t n = 0;
	assert_int_equal(billing_plan_list(fx->c, &list, &n), STORE_OK);
	assert_int_equal(n, count_of(fx, "SELECT COUNT(*) FROM plans"));
	assert_true(n >= 4);
	assert_string_equal(list[0].code, "free");
	assert_int_equal(list[0].minutes_per_month, 60);
	assert_int_equal(list[0].usd_minor, 0);
	bool seen = false;
	for (size_t i = 0; i < n; i++) {
		if (i)
			assert_true(list[i - 1].position < list[i].position ||
				    (list[i - 1].position == list[i].position &&
				     strcmp(list[i - 1].code, list[i].code) < 0));
		if (!strcmp(list[i].code, "enterprise"))
			assert_int_equal(list[i].minutes_per_month, BILLING_UNLIMITED);
		if (!strcmp(list[i].code, "test-lists")) {
			seen = true;
			assert_string_equal(list[i].name, "Lists");
			assert_int_equal(list[i].usd_minor, -1); /* no price of its own */
		}
	}
	assert_true(seen);
	free(list);
}

/* An organization's invoices: newest first, at most limit, no other organization's. */
static void test_list_invoices(void **state)
{
	FX(state);
	for (int i = 1; i <= 3; i++) {
		struct invoice inv = {.total_minor = 1150 * i, .vat_percent = 15};
		snprintf(inv.org_id, sizeof inv.org_id, "%s", fx->org);
		snprintf(inv.plan_code, sizeof inv.plan_code, "pro");
		snprintf(inv.currency, sizeof inv.currency, "ZAR");
		snprintf(inv.provider, sizeof inv.provider, "test");
		snprintf(inv.provider_ref, sizeof inv.provider_ref, "%s-%d", fx->org, i);
		bool created = false;
		assert_int_equal(billing_invoice_add(fx->c, &inv, &created), STORE_OK);
		assert_true(created);
	}
	struct invoice other = {.total_minor = 100};
	snprintf(other.org_id, sizeof other.org_id, "%s", fx->org2);
	snprintf(other.plan_code, sizeof other.plan_code, "pro");
	snprintf(other.currency, sizeof other.currency, "USD");
	snprintf(other.provider, sizeof other.provider, "test");
	snprintf(other.provider_ref, sizeof other.provider_ref, "%s-1", fx->org2);
	bool created = false;
	assert_int_equal(billing_invoice_add(fx->c, &other, &created), STORE_OK);

	struct invoice *list = NULL;
	size_t n = 0;
	assert_int_equal(billing_invoice_list(fx->c, fx->org, 2, &list, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].number, "INV-000003");
	assert_int_equal(list[0].total_minor, 3450);
	assert_int_equal(list[0].vat_minor, 450);
	assert_string_equal(list[0].currency, "ZAR");
	assert_true(list[0].paid_at > 0);
	assert_string_equal(list[1].number, "INV-000002");
	free(list);
	assert_int_equal(billing_invoice_list(fx->c, fx->org, 100, &list, &n), STORE_OK);
	assert_int_equal(n, 3);
	assert_int_equal(list[2].seq, 1);
	free(list);
	assert_int_equal(billing_invoice_list(fx->c, fx->org2, 100, &list, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].org_id, fx->org2);
	free(list);
}

/* Usage by day: one row for each day of [from, to) with usage, the first and last day of a
 * range that starts and ends inside a day included; nothing from outside the range. */
static void test_list_usage_days(void **state)
{
	FX(state);
	const int64_t day = 86400000, hour = 3600000;
	int64_t d0 = (time_now_ms() / day - 10) * day;
	int64_t from = d0 + 5 * hour, to = d0 + 3 * day + hour; /* 4 days touched */
	const struct {
		int64_t at;
		const char *kind;
		int64_t quantity;
	} recs[] = {
	    {from - 1, USAGE_SECONDS, 1000}, /* before the range */
	    {from, USAGE_SECONDS, 10},	       {d0 + day + hour, USAGE_CHAT, 2},
	    {d0 + 2 * day, USAGE_SECONDS, 20}, {to - 1, USAGE_SECONDS, 7},
	    {to, USAGE_SECONDS, 1000}, /* after it */
	};
	for (size_t i = 0; i < sizeof recs / sizeof *recs; i++) {
		char key[80];
		snprintf(key, sizeof key, "days-%s-%zu", fx->org, i);
		struct usage_record u = {.org_id = fx->org,
					 .kind = recs[i].kind,
					 .source_key = key,
					 .quantity = recs[i].quantity,
					 .at_ms = recs[i].at};
		assert_int_equal(billing_usage_add(fx->c, &u, NULL), STORE_OK);
	}
	int64_t count = 0;
	assert_int_equal(billing_api_hit(fx->c, fx->org, d0 + 3 * day, 4, &count), STORE_OK);
	assert_int_equal(billing_api_hit(fx->c, fx->org2, d0 + 3 * day, 9, &count), STORE_OK);

	struct usage_day *days = NULL;
	size_t n = 0;
	assert_int_equal(billing_usage_by_day(fx->c, fx->org, from, to, &days, &n), STORE_OK);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(days[i].day_ms, d0 + (int64_t)i * day);
	assert_int_equal(days[0].seconds, 10);
	assert_int_equal(days[1].chat_messages, 2);
	assert_int_equal(days[1].seconds, 0);
	assert_int_equal(days[2].seconds, 20);
	assert_int_equal(days[3].seconds, 7);
	assert_int_equal(days[3].api_requests, 4);
	free(days);
	/* One day, and no time at all. */
	assert_int_equal(
	    billing_usage_by_day(fx->c, fx->org, d0 + 2 * day, d0 + 2 * day + 1, &days, &n),
	    STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(days[0].seconds, 20);
	free(days);
	assert_int_equal(billing_usage_by_day(fx->c, fx->org, from, from, &days, &n), STORE_OK);
	assert_int_equal(n, 0);
	free(days);
	assert_int_equal(billing_usage_by_day(fx->c, fx->org2, from, to, &days, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(days[0].api_requests, 9);
	free(days);
}

/* The renewal sweep's list: PayGate subscriptions active or past due, soonest end first. */
static void test_list_paygate_subscriptions(void **state)
{
	FX(state);
	char org3[UUID_STR_LEN], user3[UUID_STR_LEN], org4[UUID_STR_LEN], user4[UUID_STR_LEN];
	make_account(fx, org3, user3);
	make_account(fx, org4, user4);
	const struct {
		const char *org, *provider, *state;
		int64_t end;
	} subs[] = {
	    {fx->org, "paygate", "active", 5000},
	    {fx->org2, "paygate", "past_due", 4000},
	    {org3, "stripe", "active", 3000},
	    {org4, "paygate", "canceled", 2000},
	};
	for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
		struct subscription s = {.period_start = 1000, .period_end = subs[i].end};
		snprintf(s.org_id, sizeof s.org_id, "%s", subs[i].org);
		snprintf(s.plan_code, sizeof s.plan_code, "pro");
		snprintf(s.state, sizeof s.state, "%s", subs[i].state);
		snprintf(s.currency, sizeof s.currency, "ZAR");
		snprintf(s.provider, sizeof s.provider, "%s", subs[i].provider);
		if (!strcmp(subs[i].state, "past_due"))
			s.past_due_since = 4000;
		assert_int_equal(billing_subscription_put(fx->c, &s), STORE_OK);
	}
	struct subscription *list = NULL;
	size_t n = 0;
	assert_int_equal(billing_paygate_subscriptions(fx->c, &list, &n), STORE_OK);
	assert_int_equal(n, count_of(fx, "SELECT COUNT(*) FROM subscriptions WHERE provider ="
					 " 'paygate' AND state IN ('active', 'past_due')"));
	/* (PostgreSQL keeps earlier runs' rows: only ours are looked at.) */
	int mine = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			assert_true(list[i - 1].period_end <= list[i].period_end);
		assert_string_not_equal(list[i].org_id, org3);
		assert_string_not_equal(list[i].org_id, org4);
		if (!strcmp(list[i].org_id, fx->org2)) {
			assert_int_equal(mine++, 0);
			assert_string_equal(list[i].state, "past_due");
			assert_int_equal(list[i].past_due_since, 4000);
		} else if (!strcmp(list[i].org_id, fx->org)) {
			assert_int_equal(mine++, 1);
			assert_string_equal(list[i].state, "active");
			assert_string_equal(list[i].provider, "paygate");
			assert_int_equal(list[i].period_end, 5000);
			assert_true(list[i].stored);
		}
	}
	assert_int_equal(mine, 2);
	free(list);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stripe_signature),
	    cmocka_unit_test(test_paygate_checksum),
	    cmocka_unit_test(test_paygate_form),
	    cmocka_unit_test(test_quota_arithmetic),
	    cmocka_unit_test(test_effective_plan),
	    ST(test_state_machine_order, KIND_SQLITE),
	    ST(test_state_machine_order, KIND_PG),
	    ST(test_usage_idempotent, KIND_SQLITE),
	    ST(test_usage_idempotent, KIND_PG),
	    ST(test_api_rate, KIND_SQLITE),
	    ST(test_api_rate, KIND_PG),
	    ST(test_warnings_once, KIND_SQLITE),
	    ST(test_warnings_once, KIND_PG),
	    ST(test_chat_reserve, KIND_SQLITE),
	    ST(test_chat_reserve, KIND_PG),
	    ST(test_list_plans, KIND_SQLITE),
	    ST(test_list_plans, KIND_PG),
	    ST(test_list_invoices, KIND_SQLITE),
	    ST(test_list_invoices, KIND_PG),
	    ST(test_list_usage_days, KIND_SQLITE),
	    ST(test_list_usage_days, KIND_PG),
	    ST(test_list_paygate_subscriptions, KIND_SQLITE),
	    ST(test_list_paygate_subscriptions, KIND_PG),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
