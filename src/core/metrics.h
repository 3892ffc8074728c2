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
