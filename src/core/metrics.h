/*
 * metrics.h — process-local Prometheus metrics for the HTTP layer.
 * Labels are route patterns (never raw paths) so cardinality stays bounded;
 * requests that match no route are counted under route="unmatched".
 * Thread-safe.
 */
#ifndef IAM_METRICS_H
#define IAM_METRICS_H

#include "core/buf.h"

void metrics_http_start(void); /* a request began (in-flight gauge) */
/* A request finished: count it and observe its latency. */
void metrics_http_done(const char *route, const char *method, int status, double seconds);
/* Connections and event streams (lock-free counters). */
enum metrics_refusal { REFUSED_PER_IP = 0, REFUSED_GLOBAL, REFUSED_HEAD_TIMEOUT, REFUSED_NREASONS };
enum metrics_sse_refusal {
	SSE_REFUSED_USER = 0,
	SSE_REFUSED_MEETING,
	SSE_REFUSED_TOTAL,
	SSE_REFUSED_NREASONS
};
void metrics_conn_add(int delta);		     /* connections open */
void metrics_conn_refused(enum metrics_refusal why); /* answered 503/408 and closed */
void metrics_sse_add(int delta);		     /* event streams open */
void metrics_sse_refused(enum metrics_sse_refusal why);
void metrics_sse_session_ended(void); /* a stream closed because its session ended */
/*
 * A gauge read at render time: fn(ctx) is called (under the registry's
 * lock: keep it quick, e.g. one statvfs) each time metrics are rendered.
 * name and help are static strings; ctx must outlive the registry.
 * Registering a name again replaces it. 0, or -1 when the table is full.
 */
int metrics_gauge_fn(const char *name, const char *help, double (*fn)(void *ctx), void *ctx);
/* Append the HTTP metrics in Prometheus text format 0.0.4. Returns 0 or -1. */
int metrics_render(struct buf *out);

#endif
