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
/* Append the HTTP metrics in Prometheus text format 0.0.4. Returns 0 or -1. */
int metrics_render(struct buf *out);

#endif
