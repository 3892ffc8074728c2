/*
 * realtime.c — live events for the web app and clients:
 *
 *   POST /api/v1/realtime/ticket       a short-lived ticket for the WebSocket
 *                                      (browsers cannot send headers on it)
 *   GET  /api/v2/messages/ws/{user_id} the WebSocket (http/ws.h)
 *
 * The socket authenticates before the upgrade, by ?ticket= or by
 * Authorization: Bearer; a bad or expired ticket is answered 401 there.
 * Without either, the upgrade is accepted and the socket must authenticate
 * by its first message, {"type":"auth","ticket":T} or {"type":"auth",
 * "token":JWT} (http/ws.h; api_ws_authenticate below checks it on the hub's
 * auth thread with the same functions). A ticket is bound to its user and
 * session (or API key) and is checked again on use; the socket is
 * re-checked while open, so logout ends it.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "http/ws.h"
#include "store/realtime.h"

/* What a realtime ticket names instead of a meeting. */
#define RT_TICKET_SCOPE "realtime"

static void issue_ticket(struct api_ctx *cx)
{
	struct principal p = *cx->principal;
	int64_t exp;
	char *t = ticket_issue(cx->app->ticket_key, &p, RT_TICKET_SCOPE, &exp);
	if (!t) {
		http_problem_internal(cx->req, "issue ticket");
		return;
	}
	/* The path the socket opens, for the caller's own id. */
	char url[96];
	snprintf(url, sizeof url, "/api/v2/messages/ws/%s", p.user_id);
	json_t *body =
	    json_pack("{s:s,s:o,s:s}", "ticket", t, "expires_at", api_time(exp), "url", url);
	http_add_header(cx->req, "Cache-Control", "no-store");
	http_reply_json(cx->req, 201, body);
	free(t);
}

static void socket_open(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct principal p;
	const char *ticket = http_query(r, "ticket");
	if (!ticket && !http_header(r, "Authorization")) {
		/* No credentials: the first message must bring them (the hub checks it). */
		struct ws_accept *a = calloc(1, sizeof *a);
		if (!a) {
			http_problem_internal(r, "websocket");
			return;
		}
		a->anonymous = true;
		snprintf(a->path_user_id, sizeof a->path_user_id, "%s", http_param(r, "user_id"));
		api_conn_release(cx);
		http_reply_websocket(r, a);
		free(a);
		return;
	}
	if (ticket && !http_header(r, "Authorization")) {
		if (!ticket_verify(cx->app->ticket_key, cx->conn, ticket, RT_TICKET_SCOPE, &p)) {
			http_problem(r, 401, "invalid_ticket",
				     "The ticket is not valid or has expired. Ask for a new one at "
				     "POST /api/v1/realtime/ticket.");
			return;
		}
	} else if (!api_auth(r, cx->conn, &p)) {
		return;
	}
	struct ws_accept *a = calloc(1, sizeof *a);
	if (!a) {
		http_problem_internal(r, "websocket");
		return;
	}
	snprintf(a->user_id, sizeof a->user_id, "%s", p.user_id);
	snprintf(a->session_id, sizeof a->session_id, "%s", p.via_api_key ? "" : p.session_id);
	snprintf(a->path_user_id, sizeof a->path_user_id, "%s", http_param(r, "user_id"));
	/* Organization events reach the socket for every organization the user is in now. */
	enum store_rc rc = realtime_user_orgs(cx->conn, p.user_id, a->orgs, WS_MAX_ORGS, &a->norgs);
	if (rc) {
		free(a);
		api_db_fail(r, rc, "load organizations");
		return;
	}
	api_conn_release(cx);
	http_reply_websocket(r, a);
	free(a);
}

int api_user_orgs(void *app_, const char *user_id, char (*out)[UUID_STR_LEN], size_t max, size_t *n)
{
	struct app *app = app_;
	struct db_conn *c = db_acquire_system(app->db, 0); /* never waits: the hub thread asks */
	if (!c)
		return -1;
	enum store_rc rc = realtime_user_orgs(c, user_id, out, max, n);
	db_release(c);
	return rc == STORE_OK ? 0 : -1;
}

int api_ws_authenticate(void *app_, const char *ticket, const char *token, struct ws_accept *a,
			char *reason, size_t reason_len)
{
	struct app *app = app_;
	struct principal p;
	char path[96], *header = NULL;
	int rc = WS_AUTH_DENIED;
	snprintf(path, sizeof path, "/api/v2/messages/ws/%s", a->path_user_id);
	/* The auth thread may wait for a connection (the hub thread goes on meanwhile).
	 * Authentication finds tickets and sessions by hash: system scope, as in the frame. */
	struct db_conn *c = db_acquire_system(app->db, 3000);
	if (!c)
		return WS_AUTH_UNAVAILABLE;
	if (ticket) {
		if (!ticket_verify(app->ticket_key, c, ticket, RT_TICKET_SCOPE, &p)) {
			snprintf(reason, reason_len,
				 "the ticket is not valid or has expired: get a new one at POST "
				 "/api/v1/realtime/ticket");
			goto out;
		}
	} else {
		const char *why = NULL;
		header = malloc(strlen(token) + 8);
		if (!header) {
			rc = WS_AUTH_UNAVAILABLE;
			goto out;
		}
		sprintf(header, "Bearer %s", token);
		int arc = authn_bearer(c, &app->jwt, header, &p, &why);
		if (arc == AUTHN_ERROR) {
			rc = WS_AUTH_UNAVAILABLE;
			goto out;
		}
		if (arc != AUTHN_OK) {
			snprintf(
			    reason, reason_len,
			    "the token is not valid or has expired: sign in again or use a ticket");
			goto out;
		}
		const char *denied = authn_scope_denied(&p, "GET", path);
		if (denied) {
			snprintf(reason, reason_len, "this API key may not open WebSockets");
			goto out;
		}
	}
	snprintf(a->user_id, sizeof a->user_id, "%s", p.user_id);
	snprintf(a->session_id, sizeof a->session_id, "%s", p.via_api_key ? "" : p.session_id);
	if (realtime_user_orgs(c, p.user_id, a->orgs, WS_MAX_ORGS, &a->norgs) != STORE_OK) {
		rc = WS_AUTH_UNAVAILABLE;
		goto out;
	}
	rc = WS_AUTH_OK;
out:
	free(header);
	db_release(c);
	return rc;
}

static const struct route ROUTES[] = {
    {.method = M_POST,
     .pattern = "/api/v1/realtime/ticket",
     .auth = AUTH_BEARER,
     .run = issue_ticket},
    {.method = M_GET,
     .pattern = "/api/v2/messages/ws/{user_id}",
     .db = DB_CONN_HELD,
     .run = socket_open},
};

size_t api_realtime_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
