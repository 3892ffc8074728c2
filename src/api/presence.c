/*
 * presence.c — who is online now, for the web app's presence dots:
 *
 *   GET /api/v2/presence   {"online": [user_id, ...]}
 *
 * The WebSocket's "presence" events only announce changes, so a page that
 * opens needs the state at that moment. The answer covers the people who
 * share an organization with the caller (the caller included), the first
 * PRESENCE_MAX of them by e-mail address, and is read from this process's
 * WebSocket hub (http_ws_online): with several iamd processes behind Redis
 * it is the local view (someone whose socket another process holds shows
 * offline until their next presence event reaches the page).
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "http/ws.h"
#include "store/messages.h"

#define PRESENCE_MAX 1000

static void presence_now(struct api_ctx *cx)
{
	struct msg_person *ps = NULL;
	size_t n = 0;
	char(*ids)[UUID_STR_LEN] = NULL;
	enum store_rc rc =
	    msg_contacts(cx->conn, cx->principal->user_id, NULL, PRESENCE_MAX, &ps, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "list the people of your organizations");
		return;
	}
	api_conn_release(cx);
	ids = calloc(n ? n : 1, sizeof *ids);
	if (!ids) {
		free(ps);
		http_problem_internal(cx->req, "presence");
		return;
	}
	for (size_t i = 0; i < n; i++)
		memcpy(ids[i], ps[i].id, UUID_STR_LEN);
	free(ps);
	size_t k = http_ws_online(cx->req, ids, n);
	json_t *online = json_array();
	for (size_t i = 0; i < k; i++)
		json_array_append_new(online, json_string(ids[i]));
	free(ids);
	http_add_header(cx->req, "Cache-Control", "no-store");
	http_reply_json(cx->req, 200, json_pack("{s:o}", "online", online));
}

static const struct route ROUTES[] = {
    {.method = M_GET,
     .pattern = "/api/v2/presence",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = presence_now},
};

size_t api_presence_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
