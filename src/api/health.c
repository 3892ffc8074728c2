/*
 * health.c — /healthz (process up), /readyz (database reachable),
 * /metrics (Prometheus text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "asr/asr.h"
#include "bus/bus.h"
#include "core/buf.h"
#include "core/metrics.h"
#include "core/timeutil.h"

static void healthz(struct api_ctx *cx)
{
	http_reply_json(cx->req, 200, json_pack("{s:s}", "status", "ok"));
}

static void readyz(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	/* Its own short wait and its own reply: not the frame's connection. */
	struct db_conn *c = db_acquire(api_app(r)->db, 2000);
	int rc = c ? db_ping(c) : DB_UNAVAILABLE;
	db_release(c);
	if (rc) {
		http_add_header(r, "Retry-After", "5");
		http_problem(r, 503, "not_ready", "The database is not reachable yet.");
		return;
	}
	/* Low upload storage is reported, not fatal: reads and transcription still work. */
	json_t *body = json_pack("{s:s,s:s}", "status", "ready", "database", "ok");
	json_object_set_new(body, "disk", api_disk_status(api_app(r)));
	/* The bus across processes: reported, never fatal (local delivery goes on without it). */
	json_object_set_new(body, "redis", json_string(bus_redis_state(api_app(r)->bus)));
	/* PostgreSQL: "bypassed" when the role is a superuser or BYPASSRLS (store/db.h). */
	int rls = db_rls_bypassed(api_app(r)->db);
	json_object_set_new(body, "row_level_security",
			    json_string(rls < 0 ? "not_applicable"
					: rls	? "bypassed"
						: "enforced"));
	/* Each speech engine's state where this process runs workers ("ready" or why not). */
	struct asr_chain *chain = __atomic_load_n(&api_app(r)->asr, __ATOMIC_ACQUIRE);
	if (chain) /* set once the workers have loaded their engines */
		json_object_set_new(body, "speech", asr_chain_state(chain));
	http_reply_json(r, 200, body);
}

/* Resident set size in bytes, from /proc (0 if unknown). */
static long long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long long pages = 0, resident = 0;
	if (f) {
		if (fscanf(f, "%lld %lld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * 4096;
}

static void metrics(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct app *app = api_app(r);
	struct buf out = {0};
	struct db_pool_stats st;
	db_pool_stats(app->db, &st);
	int rc = metrics_render(&out);
	rc |= buf_printf(
	    &out,
	    "# HELP iam_db_pool_size Most database connections this process may open.\n"
	    "# TYPE iam_db_pool_size gauge\niam_db_pool_size %d\n"
	    "# HELP iam_db_pool_connections_open Database connections open now.\n"
	    "# TYPE iam_db_pool_connections_open gauge\niam_db_pool_connections_open %d\n"
	    "# HELP iam_db_pool_connections_in_use Database connections borrowed now.\n"
	    "# TYPE iam_db_pool_connections_in_use gauge\niam_db_pool_connections_in_use %d\n"
	    "# HELP iam_db_pool_waits_total Times a request waited for a connection.\n"
	    "# TYPE iam_db_pool_waits_total counter\niam_db_pool_waits_total %lld\n"
	    "# HELP iam_process_resident_memory_bytes Resident memory.\n"
	    "# TYPE iam_process_resident_memory_bytes gauge\n"
	    "iam_process_resident_memory_bytes %lld\n"
	    "# HELP iam_process_start_time_seconds Start time, Unix seconds.\n"
	    "# TYPE iam_process_start_time_seconds gauge\n"
	    "iam_process_start_time_seconds %lld\n",
	    st.size, st.open, st.in_use, (long long)st.waits, rss_bytes(),
	    (long long)(app->started_ms / 1000));
	if (rc) {
		buf_free(&out);
		http_problem_internal(r, "render metrics");
		return;
	}
	size_t len = out.len;
	http_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", buf_steal(&out), len);
}

static const struct route ROUTES[] = {
    {.method = M_GET, .pattern = "/healthz", .run = healthz},
    {.method = M_GET, .pattern = "/readyz", .run = readyz},
    {.method = M_GET, .pattern = "/metrics", .run = metrics},
};

size_t api_health_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
