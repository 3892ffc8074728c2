#include "core/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_SERIES 512
#define MAX_ROUTES 128

static const double BUCKETS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				 0.1,	 0.25,	0.5,	1,     2.5,  5,	    10};
#define NBUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

struct counter {
	const char *route; /* static strings: route patterns live as long as the process */
	char method[8];
	int status;
	uint64_t count;
};

struct histogram {
	const char *route;
	uint64_t buckets[NBUCKETS];
	uint64_t count;
	double sum;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* Gauges whose value is read when /metrics is rendered (metrics_gauge_fn). */
struct gauge_fn {
	const char *name, *help;
	double (*fn)(void *ctx);
	void *ctx;
};
static struct gauge_fn g_gauges[16];
static size_t g_ngauges;
static struct counter g_counters[MAX_SERIES];
static size_t g_ncounters;
static struct histogram g_hist[MAX_ROUTES];
static size_t g_nhist;
static _Atomic long g_in_flight;

static _Atomic long g_conns, g_sse, g_sse_session_ended;
static _Atomic long long g_conn_refused[REFUSED_NREASONS], g_sse_refused[SSE_REFUSED_NREASONS];

void metrics_http_start(void)
{
	g_in_flight++;
}
void metrics_conn_add(int delta)
{
	g_conns += delta;
}
void metrics_conn_refused(enum metrics_refusal why)
{
	g_conn_refused[why]++;
}
void metrics_sse_add(int delta)
{
	g_sse += delta;
}
void metrics_sse_refused(enum metrics_sse_refusal why)
{
	g_sse_refused[why]++;
}
void metrics_sse_session_ended(void)
{
	g_sse_session_ended++;
}

void metrics_http_done(const char *route, const char *method, int status, double seconds)
{
	g_in_flight--;
	pthread_mutex_lock(&g_lock);
	struct counter *c = NULL;
	for (size_t i = 0; i < g_ncounters; i++) {
		struct counter *x = &g_counters[i];
		if (x->status == status && strcmp(x->route, route) == 0 &&
		    strcmp(x->method, method) == 0) {
			c = x;
			break;
		}
	}
	if (!c && g_ncounters < MAX_SERIES) {
		c = &g_counters[g_ncounters++];
		c->route = route;
		snprintf(c->method, sizeof c->method, "%s", method);
		c->status = status;
	}
	if (c)
		c->count++;
	struct histogram *h = NULL;
	for (size_t i = 0; i < g_nhist; i++)
		if (strcmp(g_hist[i].route, route) == 0) {
			h = &g_hist[i];
			break;
		}
	if (!h && g_nhist < MAX_ROUTES) {
		h = &g_hist[g_nhist++];
		h->route = route;
	}
	if (h) {
		for (size_t b = 0; b < NBUCKETS; b++)
			if (seconds <= BUCKETS[b])
				h->buckets[b]++;
		h->count++;
		h->sum += seconds;
	}
	pthread_mutex_unlock(&g_lock);
}

int metrics_render(struct buf *out)
{
	int rc = 0;
	pthread_mutex_lock(&g_lock);
	rc |= buf_puts(out,
		       "# HELP iam_http_requests_total HTTP requests by route, method and status.\n"
		       "# TYPE iam_http_requests_total counter\n");
	for (size_t i = 0; i < g_ncounters; i++) {
		struct counter *c = &g_counters[i];
		rc |= buf_printf(
		    out, "iam_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
		    c->route, c->method, c->status, (unsigned long long)c->count);
	}
	rc |= buf_puts(out,
		       "# HELP iam_http_request_duration_seconds HTTP request latency by route.\n"
		       "# TYPE iam_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < g_nhist; i++) {
		struct histogram *h = &g_hist[i];
		for (size_t b = 0; b < NBUCKETS; b++)
			rc |= buf_printf(out,
					 "iam_http_request_duration_seconds_bucket{route=\"%s\",le="
					 "\"%g\"} %llu\n",
					 h->route, BUCKETS[b], (unsigned long long)h->buckets[b]);
		rc |= buf_printf(
		    out,
		    "iam_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
		    "iam_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
		    "iam_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
		    h->route, (unsigned long long)h->count, h->route, h->sum, h->route,
		    (unsigned long long)h->count);
	}
	pthread_mutex_unlock(&g_lock);
	rc |= buf_printf(out,
			 "# HELP iam_http_requests_in_flight Requests being served now.\n"
			 "# TYPE iam_http_requests_in_flight gauge\n"
			 "iam_http_requests_in_flight %ld\n",
			 (long)g_in_flight);
	rc |= buf_printf(
	    out,
	    "# HELP iam_http_connections_open Client connections open now.\n"
	    "# TYPE iam_http_connections_open gauge\n"
	    "iam_http_connections_open %ld\n"
	    "# HELP iam_http_connections_refused_total Connections answered 503 (over a cap) or "
	    "408 "
	    "(request head too slow) and closed.\n"
	    "# TYPE iam_http_connections_refused_total counter\n"
	    "iam_http_connections_refused_total{reason=\"per_ip\"} %lld\n"
	    "iam_http_connections_refused_total{reason=\"global\"} %lld\n"
	    "iam_http_connections_refused_total{reason=\"head_timeout\"} %lld\n"
	    "# HELP iam_sse_streams_open Server-Sent Event streams open now.\n"
	    "# TYPE iam_sse_streams_open gauge\n"
	    "iam_sse_streams_open %ld\n"
	    "# HELP iam_sse_streams_refused_total Event streams refused with 429, by the cap hit.\n"
	    "# TYPE iam_sse_streams_refused_total counter\n"
	    "iam_sse_streams_refused_total{cap=\"user\"} %lld\n"
	    "iam_sse_streams_refused_total{cap=\"meeting\"} %lld\n"
	    "iam_sse_streams_refused_total{cap=\"total\"} %lld\n"
	    "# HELP iam_sse_streams_session_ended_total Event streams closed because their session "
	    "ended.\n"
	    "# TYPE iam_sse_streams_session_ended_total counter\n"
	    "iam_sse_streams_session_ended_total %ld\n",
	    (long)g_conns, (long long)g_conn_refused[REFUSED_PER_IP],
	    (long long)g_conn_refused[REFUSED_GLOBAL],
	    (long long)g_conn_refused[REFUSED_HEAD_TIMEOUT], (long)g_sse,
	    (long long)g_sse_refused[SSE_REFUSED_USER],
	    (long long)g_sse_refused[SSE_REFUSED_MEETING],
	    (long long)g_sse_refused[SSE_REFUSED_TOTAL], (long)g_sse_session_ended);
	pthread_mutex_lock(&g_lock);
	for (size_t i = 0; i < g_ngauges; i++) {
		struct gauge_fn *g = &g_gauges[i];
		rc |= buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", g->name, g->help,
				 g->name, g->name, g->fn(g->ctx));
	}
	pthread_mutex_unlock(&g_lock);
	return rc ? -1 : 0;
}

int metrics_gauge_fn(const char *name, const char *help, double (*fn)(void *ctx), void *ctx)
{
	int rc = -1;
	pthread_mutex_lock(&g_lock);
	for (size_t i = 0; i < g_ngauges; i++) {
		if (strcmp(g_gauges[i].name, name) == 0) {
			g_gauges[i] =
			    (struct gauge_fn){.name = name, .help = help, .fn = fn, .ctx = ctx};
			rc = 0;
			goto out;
		}
	}
	if (g_ngauges < sizeof g_gauges / sizeof *g_gauges) {
		g_gauges[g_ngauges++] =
		    (struct gauge_fn){.name = name, .help = help, .fn = fn, .ctx = ctx};
		rc = 0;
	}
out:
	pthread_mutex_unlock(&g_lock);
	return rc;
}
