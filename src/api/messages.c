/*
 * messages.c — the inbox, at the paths the product spec gives:
 *
 *   GET    /api/v2/messages                 folder=inbox|sent|starred|archived, unread=true,
 *                                           q=, thread_id=, limit, cursor
 *   POST   /api/v2/messages                 {recipient_id | recipient_email, subject, body,
 *                                            reply_to?, meeting_id?, at_seconds?} -> 201;
 *                                           honours Idempotency-Key
 *   GET    /api/v2/messages/{message_id}
 *   PATCH  /api/v2/messages/{message_id}    {is_read?, is_starred?, is_archived?}
 *   DELETE /api/v2/messages/{message_id}    the caller's copy
 *   PUT    /api/v2/messages/bulk            {ids: [...<= 100], action} -> per-id results
 *   GET    /api/v2/messages/stats/summary   {total, unread, starred, archived, sent}
 *   GET    /api/v2/messages/contacts        people who share an organization with me (q=)
 *
 * (A trailing slash is ignored by the router, so "/api/v2/messages/" is the same path.)
 * Anyone the caller shares no organization with, and anyone else's message,
 * is 404: the inbox is no spam channel and does not tell what exists.
 * Events go on the bus to BUS_USER: new_message (recipient; the sender's
 * other pages too, with folder "sent"), message_updated (the caller), and
 * the recipient's notification.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "bus/bus.h"
#include "core/log.h"
#include "core/utf8.h"
#include "store/messages.h"
#include "store/notifications.h"
#include "store/users.h"

#define CONTACTS_MAX 50

static json_t *person_json(const struct msg_person *p)
{
	return json_pack("{s:s,s:s,s:s}", "id", p->id, "email", p->email, "name", p->name);
}

static json_t *message_json(const struct message *m)
{
	json_t *meeting = json_null();
	if (m->meeting_id[0])
		meeting =
		    json_pack("{s:s,s:s,s:o}", "id", m->meeting_id, "title", m->meeting_title,
			      "at_seconds", m->has_at ? json_real(m->at_seconds) : json_null());
	return json_pack(
	    "{s:s,s:s,s:s,s:o,s:o,s:s,s:s,s:b,s:b,s:b,s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "id", m->id,
	    "sender_id", m->sender.id, "recipient_id", m->recipient.id, "sender",
	    person_json(&m->sender), "recipient", person_json(&m->recipient), "subject", m->subject,
	    "body", m->body, "is_read", m->is_read, "is_starred", m->is_starred, "is_archived",
	    m->is_archived, "thread_id", m->thread_id, "reply_to",
	    m->reply_to[0] ? json_string(m->reply_to) : json_null(), "meeting_id",
	    m->meeting_id[0] ? json_string(m->meeting_id) : json_null(), "at_seconds",
	    m->meeting_id[0] && m->has_at ? json_real(m->at_seconds) : json_null(), "meeting",
	    meeting, "created_at", api_time(m->created_at), "updated_at", api_time(m->updated_at));
}

/* Publish to one user; data is borrowed. */
static void publish(struct app *app, const char *user_id, const char *type, const json_t *data)
{
	if (app->bus)
		bus_publish(app->bus, BUS_USER, user_id, type, data);
}

/* ---- list ---- */

struct list_in {
	struct api_page_in page; /* first: api_page_check's layout */
	int folder;
	bool unread;
	const char *q;
	const char *thread_id;
};

static void list_check(struct api_ctx *cx, json_t **errors)
{
	struct list_in *in = API_IN(cx, struct list_in);
	struct http_req *r = cx->req;
	if (!api_page(r, &in->page.limit, in->page.cursor))
		return;
	const char *folder = http_query(r, "folder");
	in->folder = MSG_FOLDER_INBOX;
	if (folder && (in->folder = msg_folder_parse(folder)) < 0)
		jv_error(errors, "folder", "must be one of inbox, sent, starred, archived");
	const char *unread = http_query(r, "unread");
	if (unread && strcmp(unread, "true") && strcmp(unread, "false"))
		jv_error(errors, "unread", "must be true or false");
	in->unread = unread && !strcmp(unread, "true");
	in->q = http_query(r, "q");
	if (in->q && strlen(in->q) > MSG_Q_MAX)
		jv_error(errors, "q", "must be at most %d bytes", MSG_Q_MAX);
	else if (in->q && utf8_len(in->q) == (size_t)-1)
		jv_error(errors, "q", "must be valid UTF-8");
	in->thread_id = http_query(r, "thread_id");
	if (in->thread_id && !uuid_valid(in->thread_id))
		jv_error(errors, "thread_id", "must be a message thread id (a UUID)");
}

static void list_messages(struct api_ctx *cx)
{
	const struct list_in *in = API_IN(cx, struct list_in);
	struct http_req *r = cx->req;
	int limit = in->page.limit;
	struct msg_filter f = {.folder = (enum msg_folder)in->folder,
			       .unread = in->unread,
			       .q = in->q && *in->q ? in->q : NULL,
			       .before = in->page.cursor[0] ? in->page.cursor : NULL,
			       .thread_id = in->thread_id};
	struct message *ms = NULL;
	size_t n = 0;
	enum store_rc rc = msg_list(cx->conn, cx->principal->user_id, &f, limit + 1, &ms, &n);
	if (rc) {
		api_db_fail(r, rc, "list messages");
		return;
	}
	json_t *data = json_array();
	size_t shown = n > (size_t)limit ? (size_t)limit : n;
	for (size_t i = 0; i < shown; i++)
		json_array_append_new(data, message_json(&ms[i]));
	json_t *next = n > (size_t)limit ? api_cursor(ms[shown - 1].id) : json_null();
	message_free_array(ms, n);
	http_reply_json(r, 200, json_pack("{s:o,s:o}", "data", data, "next_cursor", next));
}

/* ---- send ---- */

struct send_in {
	const char *recipient_id, *recipient_email, *subject, *body, *reply_to, *meeting_id;
	json_t *at_seconds;
	char email[EMAIL_BUF];
};

static const struct jv_field SEND_FIELDS[] = {
    {.name = "recipient_id",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = 64,
     .dest = JV_DEST(struct send_in, recipient_id)},
    {.name = "recipient_email",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = 254,
     .dest = JV_DEST(struct send_in, recipient_email)},
    {.name = "subject",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .max_len = MSG_SUBJECT_MAX,
     .dest = JV_DEST(struct send_in, subject)},
    {.name = "body",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .dest = JV_DEST(struct send_in, body)},
    {.name = "reply_to",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = 64,
     .dest = JV_DEST(struct send_in, reply_to)},
    {.name = "meeting_id",
     .type = JV_STRING,
     .null = JV_NULL_OK,
     .max_len = 64,
     .dest = JV_DEST(struct send_in, meeting_id)},
    {.name = "at_seconds",
     .type = JV_NUMBER,
     .null = JV_NULL_OK,
     .dest = JV_DEST(struct send_in, at_seconds)},
};
static const struct jv_spec SEND_SPEC = {JV_FIELDS(SEND_FIELDS)};

static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

static void send_check(struct api_ctx *cx, json_t **errors)
{
	struct send_in *in = API_IN(cx, struct send_in);
	const char *why;
	if (in->recipient_id && in->recipient_email)
		jv_error(errors, "recipient_id", "give recipient_id or recipient_email, not both");
	else if (!in->recipient_id && !in->recipient_email &&
		 !json_object_get(cx->body, "recipient_id") &&
		 !json_object_get(cx->body, "recipient_email"))
		jv_error(errors, "recipient_id", "is required (or give recipient_email)");
	else if (!in->recipient_id && !in->recipient_email)
		jv_error(errors, "recipient_id", "must not be null");
	if (in->recipient_id && !uuid_valid(in->recipient_id))
		jv_error(errors, "recipient_id", "must be a user id (a UUID)");
	if (in->recipient_email &&
	    !api_email_normalize(in->recipient_email, in->email, sizeof in->email, &why))
		jv_error(errors, "recipient_email", "%s", why);
	if (in->subject && blank(in->subject))
		jv_error(errors, "subject", "must not be blank");
	else if (in->subject && !utf8_text_ok(in->subject, &why))
		jv_error(errors, "subject", "%s", why);
	if (in->body && strlen(in->body) > MSG_BODY_MAX)
		jv_error(errors, "body", "must be at most %d bytes (64 KiB)", MSG_BODY_MAX);
	else if (in->body && blank(in->body))
		jv_error(errors, "body", "must not be blank");
	if (in->reply_to && !uuid_valid(in->reply_to))
		jv_error(errors, "reply_to", "must be a message id (a UUID)");
	if (in->meeting_id && !uuid_valid(in->meeting_id))
		jv_error(errors, "meeting_id", "must be a meeting id (a UUID)");
	if (in->at_seconds) {
		double at = json_number_value(in->at_seconds);
		if (!in->meeting_id)
			jv_error(errors, "at_seconds", "needs meeting_id");
		else if (!(at >= 0 && at <= 7 * 24 * 3600.0))
			jv_error(errors, "at_seconds", "must be a time in the meeting, in seconds");
	}
}

#define MENTIONS_MAX 10

static bool email_char(char ch)
{
	return isalnum((unsigned char)ch) || strchr("._%+-", ch);
}

/*
 * "@someone@example.com" in a message's body: each colleague of the sender
 * named so (at most MENTIONS_MAX, neither the sender nor the recipient,
 * sharing an organization with the sender) is told with a "mention"
 * notification quoting the sentence around it. Nobody else learns anything.
 */
static void notify_mentions(struct api_ctx *cx, const struct message *m, const char *recipient,
			    const char *body)
{
	char seen[MENTIONS_MAX][UUID_STR_LEN];
	size_t nseen = 0;
	for (const char *at = strchr(body, '@'); at && nseen < MENTIONS_MAX;
	     at = strchr(at + 1, '@')) {
		if (at > body && email_char(at[-1]))
			continue; /* the middle of an address, not a mention */
		const char *p = at + 1, *e = p;
		while (email_char(*e) || *e == '@')
			e++;
		while (e > p && (e[-1] == '.' || e[-1] == '-'))
			e--; /* "...@x.com." ends a sentence */
		char raw[EMAIL_BUF], email[EMAIL_BUF];
		const char *why;
		if (e - p < 3 || (size_t)(e - p) >= sizeof raw || !memchr(p, '@', (size_t)(e - p)))
			continue;
		memcpy(raw, p, (size_t)(e - p));
		raw[e - p] = '\0';
		struct user u;
		if (!api_email_normalize(raw, email, sizeof email, &why) ||
		    user_find_by_email(cx->conn, email, &u) != STORE_OK)
			continue;
		explicit_bzero(u.password_hash, sizeof u.password_hash);
		bool dup = strcmp(u.id, m->sender.id) == 0 || strcmp(u.id, recipient) == 0;
		for (size_t i = 0; i < nseen && !dup; i++)
			dup = strcmp(seen[i], u.id) == 0;
		if (dup || msg_can_write(cx->conn, m->sender.id, u.id) != 1)
			continue;
		snprintf(seen[nseen++], UUID_STR_LEN, "%s", u.id);
		/* The words around the mention, on character boundaries. */
		const char *from = at - (at - body > 80 ? 80 : at - body);
		while (from > body && ((unsigned char)*from & 0xC0) == 0x80)
			from--;
		size_t len = strnlen(from, 240);
		while (len && from[len] && ((unsigned char)from[len] & 0xC0) == 0x80)
			len--;
		char content[NOTIF_CONTENT_MAX + 1];
		/* A long one is cut (notify cuts on a character boundary anyway). */
		if (snprintf(
			content, sizeof content, "%s mentioned you in \u201c%.200s\u201d: %s%.*s%s",
			m->sender.name[0] ? m->sender.name : m->sender.email, m->subject,
			from > body ? "\u2026" : "", (int)len, from, from[len] ? "\u2026" : "") < 0)
			continue;
		if (notify(cx->conn, cx->app->bus, u.id, "mention", content, NULL) != STORE_OK)
			log_warn("could not store a mention notification",
				 json_pack("{s:s}", "message_id", m->id));
	}
}

static void send_message(struct api_ctx *cx)
{
	const struct send_in *in = API_IN(cx, struct send_in);
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	struct app *app = cx->app;
	const struct principal *p = cx->principal;
	char recipient[UUID_STR_LEN];
	enum store_rc rc;
	struct api_idem idem = {0};
	size_t blen;
	const char *raw = http_body(r, &blen);
	if (!api_idem_begin(r, c, p, raw, blen, &idem))
		return;
	if (in->recipient_email) {
		struct user u;
		rc = user_find_by_email(c, in->email, &u);
		explicit_bzero(u.password_hash, sizeof u.password_hash);
		if (rc == STORE_NOT_FOUND)
			goto not_found;
		if (rc) {
			api_idem_abandon(c, &idem);
			api_db_fail(r, rc, "find recipient");
			return;
		}
		snprintf(recipient, sizeof recipient, "%s", u.id);
	} else {
		snprintf(recipient, sizeof recipient, "%s", in->recipient_id);
	}
	struct msg_new mn = {.sender_id = p->user_id,
			     .recipient_id = recipient,
			     .subject = in->subject,
			     .body = in->body,
			     .reply_to = in->reply_to,
			     .meeting_id = in->meeting_id,
			     .has_at = in->at_seconds != NULL,
			     .at_seconds = in->at_seconds ? json_number_value(in->at_seconds) : 0};
	struct message m;
	const char *what = NULL;
	rc = msg_send(c, &mn, &m, &what);
	if (rc == STORE_NOT_FOUND && what && strcmp(what, "reply_to") == 0) {
		api_idem_abandon(c, &idem);
		http_problem(r, 404, "reply_to_not_found",
			     "There is no message %s in your inbox to reply to.", in->reply_to);
		return;
	}
	if (rc == STORE_NOT_FOUND && what && strcmp(what, "meeting_id") == 0) {
		api_idem_abandon(c, &idem);
		http_problem(r, 404, "meeting_not_found",
			     "There is no meeting %s in your organizations.", in->meeting_id);
		return;
	}
	if (rc == STORE_NOT_FOUND)
		goto not_found;
	if (rc) {
		api_idem_abandon(c, &idem);
		api_db_fail(r, rc, "send message");
		return;
	}
	json_t *body = message_json(&m);
	/* The recipient's view: unread, their own flags. */
	json_t *ev = json_deep_copy(body);
	json_object_set_new(ev, "folder", json_string("inbox"));
	json_object_set_new(ev, "is_read", json_false());
	json_object_set_new(ev, "is_starred", json_false());
	json_object_set_new(ev, "is_archived", json_false());
	publish(app, recipient, "new_message", ev);
	if (strcmp(recipient, p->user_id) != 0) {
		json_object_set_new(ev, "folder", json_string("sent"));
		json_object_set_new(ev, "is_read", json_true());
		publish(app, p->user_id, "new_message", ev);
	}
	json_decref(ev);
	char content[NOTIF_CONTENT_MAX + 1];
	snprintf(content, sizeof content, "New message from %s: %s",
		 m.sender.name[0] ? m.sender.name : m.sender.email, m.subject);
	rc = notify(c, app->bus, recipient, "new_message", content, m.id);
	if (rc)
		log_warn("could not store the new-message notification",
			 json_pack("{s:s,s:s}", "message_id", m.id, "rc", store_rc_name(rc)));
	notify_mentions(cx, &m, recipient, in->body);
	char loc[96];
	snprintf(loc, sizeof loc, "/api/v2/messages/%s", m.id);
	message_clear(&m);
	http_add_header(r, "Location", loc);
	json_t *hdrs = json_pack("{s:s}", "Location", loc);
	api_idem_store(c, &idem, 201, body, hdrs); /* a retry with the key gets this same reply */
	json_decref(hdrs);
	http_reply_json(r, 201, body);
	return;
not_found:
	/* Unknown, or nobody the caller shares an organization with: the same answer. */
	api_idem_abandon(c, &idem);
	http_problem(r, 404, "recipient_not_found",
		     "There is nobody in your organizations with that id or e-mail address.");
}

/* ---- one message ---- */

static void message_not_found(struct http_req *r, const char *id)
{
	http_problem(r, 404, "not_found", "There is no message %s in your inbox.", id);
}

static void get_message(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const char *id = http_param(r, "message_id");
	struct message m;
	enum store_rc rc = msg_get(cx->conn, cx->principal->user_id, id, &m);
	if (rc == STORE_NOT_FOUND) {
		message_not_found(r, id);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "get message");
		return;
	}
	json_t *body = message_json(&m);
	message_clear(&m);
	http_reply_json(r, 200, body);
}

struct patch_in {
	int read, starred, archived; /* -1 = not given */
};

static const struct jv_field PATCH_FIELDS[] = {
    {.name = "is_read", .type = JV_BOOL},
    {.name = "is_starred", .type = JV_BOOL},
    {.name = "is_archived", .type = JV_BOOL},
};
static const struct jv_spec PATCH_SPEC = {JV_FIELDS(PATCH_FIELDS)};

static int flag_of(json_t *body, const char *key)
{
	json_t *v = json_object_get(body, key);
	return json_is_boolean(v) ? json_is_true(v) : -1;
}

static void patch_check(struct api_ctx *cx, json_t **errors)
{
	struct patch_in *in = API_IN(cx, struct patch_in);
	in->read = flag_of(cx->body, "is_read");
	in->starred = flag_of(cx->body, "is_starred");
	in->archived = flag_of(cx->body, "is_archived");
	if (!*errors && in->read < 0 && in->starred < 0 && in->archived < 0)
		jv_error(errors, "is_read",
			 "give at least one of is_read, is_starred, is_archived");
}

static void updated_event(struct app *app, const char *user_id, const struct message *m,
			  const char *id)
{
	json_t *ev =
	    m ? json_pack("{s:s,s:b,s:b,s:b,s:b}", "id", m->id, "is_read", m->is_read, "is_starred",
			  m->is_starred, "is_archived", m->is_archived, "deleted", 0)
	      : json_pack("{s:s,s:b}", "id", id, "deleted", 1);
	publish(app, user_id, "message_updated", ev);
	json_decref(ev);
}

static void patch_message(struct api_ctx *cx)
{
	const struct patch_in *in = API_IN(cx, struct patch_in);
	struct http_req *r = cx->req;
	const char *id = http_param(r, "message_id");
	const char *me = cx->principal->user_id;
	enum store_rc rc = msg_update(cx->conn, me, id, in->read, in->starred, in->archived);
	struct message m;
	if (rc == STORE_OK)
		rc = msg_get(cx->conn, me, id, &m);
	if (rc == STORE_NOT_FOUND) {
		message_not_found(r, id);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "update message");
		return;
	}
	updated_event(cx->app, me, &m, id);
	json_t *body = message_json(&m);
	message_clear(&m);
	http_reply_json(r, 200, body);
}

static void delete_message(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	const char *id = http_param(r, "message_id");
	enum store_rc rc = msg_delete(cx->conn, cx->principal->user_id, id);
	if (rc == STORE_NOT_FOUND) {
		message_not_found(r, id);
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "delete message");
		return;
	}
	updated_event(cx->app, cx->principal->user_id, NULL, id);
	http_reply_empty(r, 204);
}

/* ---- bulk ---- */

struct bulk_in {
	json_t *ids;
	const char *action;
	int act;
};

static const struct jv_field BULK_FIELDS[] = {
    {.name = "ids",
     .type = JV_ARRAY,
     .presence = JV_REQUIRED,
     .dest = JV_DEST(struct bulk_in, ids)},
    {.name = "action",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .max_len = 32,
     .dest = JV_DEST(struct bulk_in, action)},
};
static const struct jv_spec BULK_SPEC = {JV_FIELDS(BULK_FIELDS)};

static void bulk_check(struct api_ctx *cx, json_t **errors)
{
	struct bulk_in *in = API_IN(cx, struct bulk_in);
	if (in->action && (in->act = msg_action_parse(in->action)) < 0)
		jv_error(errors, "action",
			 "must be one of read, unread, star, unstar, archive, unarchive, delete");
	if (!in->ids)
		return;
	size_t n = json_array_size(in->ids);
	if (n == 0 || n > MSG_BULK_MAX) {
		jv_error(errors, "ids", "must list from 1 to %d message ids (got %zu)",
			 MSG_BULK_MAX, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(in->ids, i));
		if (!s || !uuid_valid(s)) {
			jv_error(errors, "ids", "item %zu is not a message id (a UUID)", i);
			return;
		}
	}
}

static void bulk_messages(struct api_ctx *cx)
{
	const struct bulk_in *in = API_IN(cx, struct bulk_in);
	struct http_req *r = cx->req;
	const char *me = cx->principal->user_id;
	size_t n = json_array_size(in->ids);
	const char *ids[MSG_BULK_MAX];
	bool ok[MSG_BULK_MAX] = {0};
	for (size_t i = 0; i < n; i++)
		ids[i] = json_string_value(json_array_get(in->ids, i));
	enum store_rc rc = msg_bulk(cx->conn, me, ids, n, (enum msg_action)in->act, ok);
	if (rc) {
		api_db_fail(r, rc, "bulk message action");
		return;
	}
	json_t *results = json_array();
	size_t done = 0;
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(results, json_pack("{s:s,s:s}", "id", ids[i], "status",
							 ok[i] ? "ok" : "not_found"));
		done += ok[i];
	}
	json_t *ev = json_pack("{s:s,s:O}", "action", in->action, "ids", in->ids);
	publish(cx->app, me, "message_updated", ev);
	json_decref(ev);
	http_reply_json(r, 200,
			json_pack("{s:s,s:o,s:I,s:I}", "action", in->action, "results", results,
				  "ok", (json_int_t)done, "not_found", (json_int_t)(n - done)));
}

/* ---- stats, contacts ---- */

static void stats_summary(struct api_ctx *cx)
{
	struct msg_stats st;
	enum store_rc rc = msg_stats(cx->conn, cx->principal->user_id, &st);
	if (rc) {
		api_db_fail(cx->req, rc, "message stats");
		return;
	}
	http_reply_json(cx->req, 200,
			json_pack("{s:I,s:I,s:I,s:I,s:I}", "total", (json_int_t)st.total, "unread",
				  (json_int_t)st.unread, "starred", (json_int_t)st.starred,
				  "archived", (json_int_t)st.archived, "sent",
				  (json_int_t)st.sent));
}

struct contacts_in {
	const char *q;
	int limit;
};

static void contacts_check(struct api_ctx *cx, json_t **errors)
{
	struct contacts_in *in = API_IN(cx, struct contacts_in);
	in->q = http_query(cx->req, "q");
	if (in->q && (strlen(in->q) > MSG_Q_MAX || utf8_len(in->q) == (size_t)-1))
		jv_error(errors, "q", "must be valid UTF-8 of at most %d bytes", MSG_Q_MAX);
	const char *l = http_query(cx->req, "limit");
	in->limit = 20;
	if (l) {
		char *end;
		long v = strtol(l, &end, 10);
		if (!*l || *end || v < 1 || v > CONTACTS_MAX)
			jv_error(errors, "limit", "must be a whole number from 1 to %d",
				 CONTACTS_MAX);
		else
			in->limit = (int)v;
	}
}

static void list_contacts(struct api_ctx *cx)
{
	const struct contacts_in *in = API_IN(cx, struct contacts_in);
	struct msg_person *ps = NULL;
	size_t n = 0;
	enum store_rc rc = msg_contacts(cx->conn, cx->principal->user_id,
					in->q && *in->q ? in->q : NULL, in->limit, &ps, &n);
	if (rc) {
		api_db_fail(cx->req, rc, "list contacts");
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, person_json(&ps[i]));
	free(ps);
	http_reply_json(cx->req, 200, json_pack("{s:o}", "data", data));
}

static const struct route ROUTES[] = {
    {.method = M_GET,
     .pattern = "/api/v2/messages",
     .check = list_check,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = list_messages},
    {.method = M_POST,
     .pattern = "/api/v2/messages",
     .body = BODY_JSON,
     .json = &SEND_SPEC,
     .check = send_check,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = send_message},
    {.method = M_GET,
     .pattern = "/api/v2/messages/stats/summary",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = stats_summary},
    {.method = M_GET,
     .pattern = "/api/v2/messages/contacts",
     .check = contacts_check,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = list_contacts},
    {.method = M_PUT,
     .pattern = "/api/v2/messages/bulk",
     .body = BODY_JSON,
     .json = &BULK_SPEC,
     .check = bulk_check,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = bulk_messages},
    {.method = M_GET,
     .pattern = "/api/v2/messages/{message_id}",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = get_message},
    {.method = M_PATCH,
     .pattern = "/api/v2/messages/{message_id}",
     .body = BODY_JSON,
     .json = &PATCH_SPEC,
     .check = patch_check,
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = patch_message},
    {.method = M_DELETE,
     .pattern = "/api/v2/messages/{message_id}",
     .auth = AUTH_BEARER,
     .db = DB_CONN_HELD,
     .run = delete_message},
};

size_t api_messages_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
