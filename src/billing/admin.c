#include "billing/admin.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "billing/renewal.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "store/billing.h"

const char BILLING_PLANS_USAGE[] =
    "  plans list [--json]     the plan catalogue: limits and prices\n"
    "  plans set CODE [--name NAME] [--position N] [--minutes N] [--storage-bytes N]\n"
    "            [--storage-gb N] [--chat N] [--api-per-hour N] [--overage on|off]\n"
    "            [--price-usd CENTS] [--price-zar CENTS] [--stripe-price ID]\n"
    "            [--overage-usd CENTS] [--overage-zar CENTS] (per minute past the quota)\n"
    "            [--stripe-meter EVENT_NAME|none] (the Stripe meter overage minutes go to)\n"
    "            create or change a plan; a limit of 'unlimited' removes it\n"
    "  plans assign ORG_ID CODE  put an organization on a plan by hand\n"
    "  plans renew [--now RFC3339]  run the PayGate renewal sweep now (pay links,\n"
    "            past due, fallback to Free), as if it were --now\n";

static json_t *limit_json(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static void print_limit(FILE *out, int64_t v)
{
	if (v < 0)
		fprintf(out, " %14s", "unlimited");
	else
		fprintf(out, " %14lld", (long long)v);
}

static int cmd_list(struct db_conn *c, bool as_json, FILE *out, FILE *err)
{
	struct plan *plans = NULL;
	size_t n = 0;
	enum store_rc rc = billing_plan_list(c, &plans, &n);
	if (rc) {
		fprintf(err, "iamd plans: cannot read the catalogue (%s)\n", store_rc_name(rc));
		return 1;
	}
	if (as_json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			const struct plan *p = &plans[i];
			json_array_append_new(
			    arr,
			    json_pack(
				"{s:s,s:s,s:i,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o,s:I,s:I,s:o}", "code",
				p->code, "name", p->name, "position", p->position,
				"minutes_per_month", limit_json(p->minutes_per_month),
				"storage_bytes", limit_json(p->storage_bytes),
				"chat_messages_per_month", limit_json(p->chat_messages_per_month),
				"api_requests_per_hour", limit_json(p->api_requests_per_hour),
				"overage_allowed", p->overage_allowed, "usd_cents",
				limit_json(p->usd_minor), "zar_cents", limit_json(p->zar_minor),
				"stripe_price_id",
				p->stripe_price_id[0] ? json_string(p->stripe_price_id)
						      : json_null(),
				"usd_overage_cents_per_minute", (json_int_t)p->usd_overage_minor,
				"zar_overage_cents_per_minute", (json_int_t)p->zar_overage_minor,
				"stripe_meter_event",
				p->stripe_meter_event[0] ? json_string(p->stripe_meter_event)
							 : json_null()));
		}
		json_dumpf(arr, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', out);
		json_decref(arr);
	} else {
		fprintf(out, "%-12s %-12s %14s %14s %14s %14s %8s %10s %10s\n", "code", "name",
			"minutes/month", "storage bytes", "chat/month", "api/hour", "overage",
			"USD cents", "ZAR cents");
		for (size_t i = 0; i < n; i++) {
			const struct plan *p = &plans[i];
			fprintf(out, "%-12s %-12s", p->code, p->name);
			print_limit(out, p->minutes_per_month);
			print_limit(out, p->storage_bytes);
			print_limit(out, p->chat_messages_per_month);
			print_limit(out, p->api_requests_per_hour);
			fprintf(out, " %8s %10lld %10lld\n", p->overage_allowed ? "on" : "off",
				(long long)p->usd_minor, (long long)p->zar_minor);
		}
	}
	free(plans);
	return 0;
}

/* A whole number >= 0, or "unlimited" (-1). -2 when it is neither. */
static int64_t parse_limit(const char *s, bool allow_unlimited)
{
	if (allow_unlimited && !strcmp(s, "unlimited"))
		return -1;
	if (!*s || !isdigit((unsigned char)*s))
		return -2;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < 0)
		return -2;
	return v;
}

static bool code_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= PLAN_CODE_MAX)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' &&
		    *s != '_')
			return false;
	return true;
}

static bool meter_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= BILLING_METER_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_-.", *s))
			return false;
	return true;
}

static int cmd_set(struct db_conn *c, int argc, char **argv, FILE *out, FILE *err)
{
	if (argc < 2 || !code_ok(argv[1])) {
		fprintf(err,
			"iamd plans set: give a plan code (a-z, 0-9, -, _; at most %d "
			"characters)\n",
			PLAN_CODE_MAX - 1);
		return 2;
	}
	struct plan p;
	enum store_rc rc = billing_plan_get(c, argv[1], &p);
	if (rc == STORE_NOT_FOUND) {
		/* A new plan starts with Free's limits (never unlimited by accident), no prices. */
		if (billing_plan_get(c, "free", &p) != STORE_OK) {
			memset(&p, 0, sizeof p);
			p.minutes_per_month = p.storage_bytes = p.chat_messages_per_month =
			    p.api_requests_per_hour = 0;
		}
		snprintf(p.code, sizeof p.code, "%s", argv[1]);
		snprintf(p.name, sizeof p.name, "%s", argv[1]);
		p.position = 100;
		p.usd_minor = p.zar_minor = -1;
		p.stripe_price_id[0] = '\0';
		p.stripe_meter_event[0] = '\0';
	} else if (rc) {
		fprintf(err, "iamd plans set: cannot read plan %s (%s)\n", argv[1],
			store_rc_name(rc));
		return 1;
	}
	int64_t usd = -2, zar = -2, over_usd = -2, over_zar = -2;
	const char *price_id = NULL;
	for (int i = 2; i < argc; i++) {
		const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(err, "iamd plans set: %s needs a value\n", opt);
			return 2;
		}
		i++;
		int64_t n = -2;
		if (!strcmp(opt, "--name")) {
			if (!*v || strlen(v) >= sizeof p.name) {
				fprintf(err, "iamd plans set: --name must be 1-63 bytes\n");
				return 2;
			}
			snprintf(p.name, sizeof p.name, "%s", v);
			continue;
		}
		if (!strcmp(opt, "--overage")) {
			if (strcmp(v, "on") && strcmp(v, "off")) {
				fprintf(err, "iamd plans set: --overage is on or off\n");
				return 2;
			}
			p.overage_allowed = !strcmp(v, "on");
			continue;
		}
		if (!strcmp(opt, "--stripe-price")) {
			price_id = v;
			continue;
		}
		if (!strcmp(opt, "--stripe-meter")) {
			if (!strcmp(v, "none")) {
				p.stripe_meter_event[0] = '\0';
				continue;
			}
			if (!meter_name_ok(v)) {
				fprintf(err,
					"iamd plans set: --stripe-meter is the meter's event_name "
					"(1-100 of A-Z a-z 0-9 _ - .) or none\n");
				return 2;
			}
			snprintf(p.stripe_meter_event, sizeof p.stripe_meter_event, "%s", v);
			continue;
		}
		bool unl = strcmp(opt, "--position") && strncmp(opt, "--price-", 8) &&
			   strncmp(opt, "--overage-", 10);
		n = parse_limit(v, unl);
		if (n == -2 || (!strcmp(opt, "--storage-gb") && n > (INT64_MAX >> 30))) {
			fprintf(err, "iamd plans set: %s takes a whole number%s, got '%s'\n", opt,
				unl ? " or 'unlimited'" : "", v);
			return 2;
		}
		if (!strcmp(opt, "--position"))
			p.position = n > 1000000 ? 1000000 : (int)n;
		else if (!strcmp(opt, "--minutes"))
			p.minutes_per_month = n;
		else if (!strcmp(opt, "--storage-bytes"))
			p.storage_bytes = n;
		else if (!strcmp(opt, "--storage-gb"))
			p.storage_bytes = n < 0 ? -1 : n << 30;
		else if (!strcmp(opt, "--chat"))
			p.chat_messages_per_month = n;
		else if (!strcmp(opt, "--api-per-hour"))
			p.api_requests_per_hour = n;
		else if (!strcmp(opt, "--price-usd"))
			usd = n;
		else if (!strcmp(opt, "--price-zar"))
			zar = n;
		else if (!strcmp(opt, "--overage-usd"))
			over_usd = n;
		else if (!strcmp(opt, "--overage-zar"))
			over_zar = n;
		else {
			fprintf(err, "iamd plans set: unknown option %s\n", opt);
			return 2;
		}
	}
	if (db_begin(c) != DB_OK) {
		fprintf(err, "iamd plans set: the database is busy; try again\n");
		return 1;
	}
	rc = billing_plan_put(c, &p);
	if (!rc && usd >= 0)
		rc = billing_price_put(c, p.code, "USD", usd, price_id);
	else if (!rc && price_id)
		rc = billing_price_put(c, p.code, "USD", p.usd_minor >= 0 ? p.usd_minor : 0,
				       price_id);
	if (!rc && zar >= 0)
		rc = billing_price_put(c, p.code, "ZAR", zar, NULL);
	if (!rc && over_usd >= 0)
		rc = billing_overage_put(c, p.code, "USD", over_usd);
	if (!rc && over_zar >= 0)
		rc = billing_overage_put(c, p.code, "ZAR", over_zar);
	if (rc == STORE_NOT_FOUND) {
		db_rollback(c);
		fprintf(err, "iamd plans set: an overage price needs a price in that currency "
			     "(--price-usd / --price-zar)\n");
		return 2;
	}
	if (rc || db_commit(c) != DB_OK) {
		db_rollback(c);
		fprintf(err, "iamd plans set: could not save plan %s (%s)\n", p.code,
			store_rc_name(rc ? rc : STORE_ERROR));
		return 1;
	}
	fprintf(out, "plan %s saved\n", p.code);
	return 0;
}

static int cmd_assign(struct db_conn *c, int argc, char **argv, FILE *out, FILE *err)
{
	if (argc != 3 || !uuid_valid(argv[1])) {
		fprintf(err, "iamd plans assign: usage: iamd plans assign ORG_ID CODE\n");
		return 2;
	}
	struct plan p;
	enum store_rc rc = billing_plan_get(c, argv[2], &p);
	if (rc) {
		fprintf(err, "iamd plans assign: %s\n",
			rc == STORE_NOT_FOUND ? "no such plan (see iamd plans list)"
					      : store_rc_name(rc));
		return rc == STORE_NOT_FOUND ? 2 : 1;
	}
	struct subscription s;
	int64_t now = time_now_ms();
	rc = billing_subscription_get(c, argv[1], now, &s);
	if (rc) {
		fprintf(err, "iamd plans assign: %s\n", store_rc_name(rc));
		return 1;
	}
	snprintf(s.plan_code, sizeof s.plan_code, "%s", p.code);
	snprintf(s.state, sizeof s.state, "active");
	s.past_due_since = 0;
	rc = billing_subscription_put(c, &s);
	if (rc) {
		fprintf(err, "iamd plans assign: %s\n",
			rc == STORE_ERROR ? "no such organization" : store_rc_name(rc));
		return 1;
	}
	fprintf(out, "organization %s is on plan %s\n", argv[1], p.code);
	return 0;
}

static int cmd_renew(struct db_conn *c, int argc, char **argv, FILE *out, FILE *err)
{
	int64_t now = time_now_ms();
	if (argc == 3 && !strcmp(argv[1], "--now")) {
		now = time_parse_rfc3339(argv[2]);
		if (now <= 0) {
			fprintf(err, "iamd plans renew: --now takes an RFC 3339 time, got '%s'\n",
				argv[2]);
			return 2;
		}
	} else if (argc != 1) {
		fprintf(err, "iamd plans renew: usage: iamd plans renew [--now RFC3339]\n");
		return 2;
	}
	struct renewal_sweep r;
	enum store_rc rc = store_rc_of(db_begin(c));
	if (!rc)
		rc = renewal_sweep(c, now, &r);
	if (!rc)
		rc = store_rc_of(db_commit(c));
	if (rc) {
		db_rollback(c);
		fprintf(err, "iamd plans renew: %s\n", store_rc_name(rc));
		return 1;
	}
	fprintf(out, "{\"renewals_queued\": %d, \"past_due\": %d, \"downgraded\": %d}\n", r.queued,
		r.past_due, r.downgraded);
	return 0;
}

int billing_plans_command(struct db *db, int argc, char **argv, FILE *out, FILE *err)
{
	if (argc < 1) {
		fprintf(err, "iamd plans: usage:\n%s", BILLING_PLANS_USAGE);
		return 2;
	}
	struct db_conn *c = db_acquire_system(db, 10000);
	if (!c) {
		fprintf(err, "iamd plans: the database is unavailable\n");
		return 1;
	}
	int rc;
	if (!strcmp(argv[0], "list"))
		rc = argc > 2 || (argc == 2 && strcmp(argv[1], "--json"))
			 ? (fprintf(err, "iamd plans list: usage: iamd plans list [--json]\n"), 2)
			 : cmd_list(c, argc == 2, out, err);
	else if (!strcmp(argv[0], "set"))
		rc = cmd_set(c, argc, argv, out, err);
	else if (!strcmp(argv[0], "assign"))
		rc = cmd_assign(c, argc, argv, out, err);
	else if (!strcmp(argv[0], "renew"))
		rc = cmd_renew(c, argc, argv, out, err);
	else {
		fprintf(err, "iamd plans: unknown subcommand '%s'; usage:\n%s", argv[0],
			BILLING_PLANS_USAGE);
		rc = 2;
	}
	db_release(c);
	return rc;
}
