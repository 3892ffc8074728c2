/*
 * paygate.c — PayGate PayWeb3 for ZAR: initiate.trans (fields in the
 * documented order with an MD5 CHECKSUM of their values plus the
 * encryption key), the hosted page process.trans, query.trans to confirm,
 * and the checksum every answer and notify callback is verified with.
 * PayWeb3 speaks application/x-www-form-urlencoded both ways.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <nettle/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing/gateway.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/log.h"

#define PAYGATE_TIMEOUT_S 20

void paygate_checksum(const char *const *values, size_t n, const char *key, char out[33])
{
	struct md5_ctx ctx;
	uint8_t digest[MD5_DIGEST_SIZE];
	md5_init(&ctx);
	for (size_t i = 0; i < n; i++)
		if (values[i])
			md5_update(&ctx, strlen(values[i]), (const uint8_t *)values[i]);
	md5_update(&ctx, strlen(key), (const uint8_t *)key);
	md5_digest(&ctx, MD5_DIGEST_SIZE, digest);
	crypto_hex(digest, MD5_DIGEST_SIZE, out);
}

static char *unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			out[o++] = ' ';
		} else if (s[i] == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) &&
			   isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = {s[i + 1], s[i + 2], 0};
			out[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else if (s[i] == '%') {
			free(out);
			return NULL;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	if (strlen(out) != o) { /* an encoded NUL */
		free(out);
		return NULL;
	}
	return out;
}

void paygate_form_free(struct paygate_form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->key[i]);
		free(f->value[i]);
	}
	f->n = 0;
}

int paygate_form_parse(const char *text, size_t len, struct paygate_form *f)
{
	memset(f, 0, sizeof *f);
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && text[j] != '&')
			j++;
		if (j > i) {
			const char *eq = memchr(text + i, '=', j - i);
			if (!eq || f->n == PAYGATE_FORM_MAX)
				goto bad;
			char *k = unescape(text + i, (size_t)(eq - (text + i)));
			char *v = unescape(eq + 1, (size_t)(text + j - eq - 1));
			if (!k || !v || !*k) {
				free(k);
				free(v);
				goto bad;
			}
			f->key[f->n] = k;
			f->value[f->n] = v;
			f->n++;
		}
		i = j + 1;
	}
	return 0;
bad:
	paygate_form_free(f);
	return -1;
}

const char *paygate_form_get(const struct paygate_form *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->key[i], key))
			return f->value[i];
	return NULL;
}

bool paygate_form_verify(const struct paygate_form *f, const char *key)
{
	const char *given = paygate_form_get(f, "CHECKSUM");
	if (!given || strlen(given) != 32)
		return false;
	const char *values[PAYGATE_FORM_MAX];
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->key[i], "CHECKSUM"))
			values[n++] = f->value[i];
	char want[33], lower[33];
	paygate_checksum(values, n, key, want);
	for (size_t i = 0; i < 33; i++)
		lower[i] = (char)tolower((unsigned char)given[i]);
	return crypto_equal(want, lower, 32);
}

static bool configured(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->paygate_id && *cfg->paygate_id && cfg->paygate_key && *cfg->paygate_key)
		return true;
	snprintf(err, errlen, "PayGate is not configured on this server.");
	return false;
}

/* POST fields (names[i]=values[i], n of them, then CHECKSUM) to base/endpoint; *f the answer. */
static enum gateway_rc paygate_post(const struct config *cfg, const char *endpoint,
				    const char *const *names, const char *const *values, size_t n,
				    struct paygate_form *f, char *err, size_t errlen)
{
	char sum[33], url[700];
	paygate_checksum(values, n, cfg->paygate_key, sum);
	struct buf b = {.limit = 16384};
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		rc |= gateway_form_add(&b, names[i], values[i]);
	rc |= gateway_form_add(&b, "CHECKSUM", sum);
	if (rc) {
		buf_free(&b);
		snprintf(err, errlen, "Out of memory.");
		return GATEWAY_DOWN;
	}
	snprintf(url, sizeof url, "%s/%s", cfg->paygate_base, endpoint);
	const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	long status;
	char *body;
	rc = gateway_http("POST", url, headers, b.data, PAYGATE_TIMEOUT_S, &status, &body);
	buf_free(&b);
	if (rc < 0) {
		snprintf(err, errlen, "PayGate could not be reached. Try again in a minute.");
		return GATEWAY_DOWN;
	}
	size_t len = strlen(body);
	while (len && (body[len - 1] == '\n' || body[len - 1] == '\r'))
		body[--len] = '\0';
	rc = status == 200 ? paygate_form_parse(body, len, f) : -1;
	free(body);
	if (rc < 0) {
		snprintf(err, errlen, "PayGate gave an answer we could not read (HTTP %ld).",
			 status);
		return GATEWAY_DOWN;
	}
	const char *e = paygate_form_get(f, "ERROR");
	if (e) {
		snprintf(err, errlen, "PayGate refused: %.200s", e);
		log_warn("paygate refused",
			 json_pack("{s:s,s:s}", "endpoint", endpoint, "error", e));
		paygate_form_free(f);
		return GATEWAY_REFUSED;
	}
	if (!paygate_form_verify(f, cfg->paygate_key)) {
		snprintf(err, errlen, "PayGate's answer failed its checksum.");
		log_warn("paygate checksum mismatch", json_pack("{s:s}", "endpoint", endpoint));
		paygate_form_free(f);
		return GATEWAY_DOWN;
	}
	return GATEWAY_OK;
}

static enum gateway_rc paygate_checkout(const struct config *cfg, const struct checkout_req *in,
					struct checkout_res *out, char *err, size_t errlen)
{
	if (!configured(cfg, err, errlen))
		return GATEWAY_OFF;
	char amount[32], date[32], ret[700], notify[700];
	snprintf(amount, sizeof amount, "%lld", (long long)in->amount_minor);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(ret, sizeof ret, "%s/api/v1/billing/paygate/return", cfg->public_url);
	snprintf(notify, sizeof notify, "%s/api/v1/billing/paygate/notify", cfg->public_url);
	/* The documented order: the checksum covers the values in exactly this order. */
	const char *names[] = {"PAYGATE_ID", "REFERENCE",	 "AMOUNT", "CURRENCY",
			       "RETURN_URL", "TRANSACTION_DATE", "LOCALE", "COUNTRY",
			       "EMAIL",	     "NOTIFY_URL"};
	const char *values[] = {cfg->paygate_id, in->reference, amount,
				"ZAR",		 ret,		date,
				"en-za",	 "ZAF",		in->email ? in->email : "",
				notify};
	struct paygate_form f;
	enum gateway_rc rc = paygate_post(cfg, "initiate.trans", names, values,
					  sizeof names / sizeof *names, &f, err, errlen);
	if (rc)
		return rc;
	const char *id = paygate_form_get(&f, "PAY_REQUEST_ID");
	const char *ref = paygate_form_get(&f, "REFERENCE");
	const char *pg = paygate_form_get(&f, "PAYGATE_ID");
	const char *sum = paygate_form_get(&f, "CHECKSUM");
	if (!id || !*id || strlen(id) >= sizeof out->session_id || !ref ||
	    strcmp(ref, in->reference) || !pg || strcmp(pg, cfg->paygate_id)) {
		paygate_form_free(&f);
		snprintf(err, errlen, "PayGate's answer does not match the request.");
		return GATEWAY_DOWN;
	}
	snprintf(out->session_id, sizeof out->session_id, "%s", id);
	snprintf(out->checksum, sizeof out->checksum, "%s", sum);
	char *eid = curl_easy_escape(NULL, id, 0);
	snprintf(out->url, sizeof out->url, "%s/process.trans?PAY_REQUEST_ID=%s&CHECKSUM=%s",
		 cfg->paygate_base, eid ? eid : "", sum);
	curl_free(eid);
	paygate_form_free(&f);
	return GATEWAY_OK;
}

enum gateway_rc paygate_query(const struct config *cfg, const char *pay_request_id,
			      const char *reference, struct paygate_status *out, char *err,
			      size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!configured(cfg, err, errlen))
		return GATEWAY_OFF;
	const char *names[] = {"PAYGATE_ID", "PAY_REQUEST_ID", "REFERENCE"};
	const char *values[] = {cfg->paygate_id, pay_request_id, reference};
	struct paygate_form f;
	enum gateway_rc rc = paygate_post(cfg, "query.trans", names, values, 3, &f, err, errlen);
	if (rc)
		return rc;
	const char *st = paygate_form_get(&f, "TRANSACTION_STATUS");
	const char *amt = paygate_form_get(&f, "AMOUNT");
	const char *cur = paygate_form_get(&f, "CURRENCY");
	const char *ref = paygate_form_get(&f, "REFERENCE");
	const char *id = paygate_form_get(&f, "PAY_REQUEST_ID");
	if (!st || !amt || !cur || !ref || !id || strcmp(id, pay_request_id)) {
		paygate_form_free(&f);
		snprintf(err, errlen, "PayGate's query answer is incomplete.");
		return GATEWAY_DOWN;
	}
	out->transaction_status = atoi(st);
	out->amount_minor = strtoll(amt, NULL, 10);
	snprintf(out->currency, sizeof out->currency, "%s", cur);
	snprintf(out->reference, sizeof out->reference, "%s", ref);
	paygate_form_free(&f);
	return GATEWAY_OK;
}

const struct gateway GATEWAY_PAYGATE = {
    .name = "paygate", .currency = "ZAR", .checkout = paygate_checkout};
