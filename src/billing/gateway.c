#include "billing/gateway.h"

#include <curl/curl.h>
#include <pthread.h>
#include <string.h>

#include "core/buf.h"

#define GATEWAY_MAX_BODY (1 << 20)

const struct gateway *gateway_for_currency(const char *currency)
{
	if (!currency)
		return NULL;
	if (!strcmp(currency, GATEWAY_STRIPE.currency))
		return &GATEWAY_STRIPE;
	if (!strcmp(currency, GATEWAY_PAYGATE.currency))
		return &GATEWAY_PAYGATE;
	return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void curl_start(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;
	return buf_append(b, p, size * n) == 0 ? size * n : 0;
}

int gateway_http(const char *method, const char *url, const char *const *headers, const char *body,
		 long timeout_s, long *status, char **out)
{
	*out = NULL;
	*status = 0;
	pthread_once(&curl_once, curl_start);
	if (!curl_ok)
		return -1;
	CURL *h = curl_easy_init();
	if (!h)
		return -1;
	struct curl_slist *hl = NULL;
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	struct buf b = {.limit = GATEWAY_MAX_BODY};
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		buf_free(&b);
		return -1;
	}
	*out = buf_steal(&b);
	return 0;
}

int gateway_form_add(struct buf *b, const char *key, const char *value)
{
	char *k = curl_easy_escape(NULL, key, 0), *v = curl_easy_escape(NULL, value, 0);
	int rc = k && v ? buf_printf(b, "%s%s=%s", b->len ? "&" : "", k, v) : -1;
	curl_free(k);
	curl_free(v);
	return rc;
}
