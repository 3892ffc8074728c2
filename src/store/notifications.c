#include "store/notifications.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/utf8.h"

const char *const NOTIF_TYPES[NOTIF_TYPE_COUNT] = {
    "new_message",
    "transcription_completed",
    "transcription_failed",
    "invitation",
    "mention",
    "quota_warning",
    "billing",
};

/* Money matters reach the owners by mail unless they say otherwise. */
static struct notif_pref default_pref(const char *type)
{
	bool mail = strcmp(type, "quota_warning") == 0 || strcmp(type, "billing") == 0;
	return (struct notif_pref){.in_app = true, .email = mail};
}

/* Types mailed by their senders themselves, with a mail of their own. */
static bool mailed_by_sender(const char *type)
{
	return strcmp(type, "invitation") == 0 || strcmp(type, "quota_warning") == 0 ||
	       strcmp(type, "billing") == 0;
}

static notif_mailer_fn g_mailer; /* set once at start, read-only after */

void notif_set_mailer(notif_mailer_fn fn)
{
	g_mailer = fn;
}

#define NOTIF_COLS "id, user_id, message_id, type, content, is_read, created_at, link"

bool notif_type_known(const char *name)
{
	for (size_t i = 0; name && i < NOTIF_TYPE_COUNT; i++)
		if (strcmp(name, NOTIF_TYPES[i]) == 0)
			return true;
	return false;
}

json_t *notif_json(const struct notification *n)
{
	char at[40];
	time_rfc3339(n->created_at, at, sizeof at);
	return json_pack("{s:s,s:s,s:o,s:s,s:s,s:o,s:b,s:s}", "id", n->id, "user_id", n->user_id,
			 "message_id", n->message_id[0] ? json_string(n->message_id) : json_null(),
			 "type", n->type, "content", n->content, "link",
			 n->link[0] ? json_string(n->link) : json_null(), "is_read", n->is_read,
			 "created_at", at);
}

static void notif_read(const struct db_res *r, struct notification *n)
{
	memset(n, 0, sizeof *n);
	store_copy(n->id, sizeof n->id, r, 0);
	store_copy(n->user_id, sizeof n->user_id, r, 1);
	store_copy(n->message_id, sizeof n->message_id, r, 2);
	store_copy(n->type, sizeof n->type, r, 3);
	store_copy(n->content, sizeof n->content, r, 4);
	utf8_sanitize(n->content);
	n->is_read = db_int(r, 5) != 0;
	n->created_at = db_int(r, 6);
	store_copy(n->link, sizeof n->link, r, 7);
}

/* Copy s into out (size NOTIF_CONTENT_MAX + 1), cut on a character boundary. */
static void content_cut(const char *s, char *out)
{
	size_t n = 0;
	while (s[n]) {
		size_t k = utf8_seq((const unsigned char *)s + n);
		if (k == 0 || n + k > NOTIF_CONTENT_MAX)
			break;
		n += k;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

enum store_rc notify(struct db_conn *c, struct bus *bus, const char *user_id, const char *type,
		     const char *content, const char *message_id)
{
	return notify_link(c, bus, user_id, type, content, message_id, NULL);
}

enum store_rc notify_link(struct db_conn *c, struct bus *bus, const char *user_id, const char *type,
			  const char *content, const char *message_id, const char *link)
{
	struct notif_pref pref;
	enum store_rc rc = notif_pref_get(c, user_id, type, &pref);
	if (rc)
		return rc;
	if (pref.email && g_mailer && !mailed_by_sender(type)) {
		char path[NOTIF_LINK_BUF + 64];
		if (link && *link)
			snprintf(path, sizeof path, "%s", link);
		else if (message_id && *message_id)
			snprintf(path, sizeof path, "/inbox?open=%s", message_id);
		else
			snprintf(path, sizeof path, "/");
		g_mailer(c, user_id, type, content ? content : "", path);
	}
	if (!pref.in_app)
		return STORE_OK;
	struct notification n = {0};
	uuid_v7(n.id);
	snprintf(n.user_id, sizeof n.user_id, "%s", user_id);
	snprintf(n.message_id, sizeof n.message_id, "%s", message_id ? message_id : "");
	snprintf(n.type, sizeof n.type, "%s", type);
	content_cut(content ? content : "", n.content);
	if (link && strlen(link) < sizeof n.link)
		snprintf(n.link, sizeof n.link, "%s", link);
	n.created_at = time_now_ms();
	rc = store_rc_of(db_exec(
	    c,
	    "INSERT INTO notifications (id, user_id, message_id, type, content,"
	    " created_at, link) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	    DB_PARAMS(DB_TEXT(n.id), DB_TEXT(user_id), DB_TEXT(message_id), DB_TEXT(type),
		      DB_TEXT(n.content), DB_INT(n.created_at), DB_TEXT(n.link[0] ? n.link : NULL)),
	    NULL));
	if (rc)
		return rc;
	if (bus) {
		json_t *data = notif_json(&n);
		if (data)
			bus_publish(bus, BUS_USER, user_id, "notification", data);
		json_decref(data);
	}
	return STORE_OK;
}

enum store_rc notify_transcription(struct db_conn *c, struct bus *bus, const char *org_id,
				   const char *meeting_id, bool ok)
{
	int rc;
	char user[UUID_STR_LEN] = "", content[NOTIF_CONTENT_MAX + 1];
	struct db_res *r =
	    db_query(c, "SELECT created_by, title FROM meetings WHERE org_id = $1 AND id = $2",
		     DB_PARAMS(DB_TEXT(org_id), DB_TEXT(meeting_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1) {
		store_copy(user, sizeof user, r, 0);
		snprintf(content, sizeof content, "%s: %.900s",
			 ok ? "Transcript ready" : "Transcription failed", db_text(r, 1));
	}
	db_res_free(r);
	if (rc < 0)
		return store_rc_of(rc);
	if (rc == 0 || !user[0])
		return STORE_OK; /* gone, or its creator left */
	char link[NOTIF_LINK_BUF];
	snprintf(link, sizeof link, "/meetings/%s", meeting_id);
	return notify_link(c, bus, user, ok ? "transcription_completed" : "transcription_failed",
			   content, NULL, link);
}

enum store_rc notif_list(struct db_conn *c, const char *user_id, bool unread_only,
			 const char *before, int limit, struct notification **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc;
	const char *sql;
	/* Four fixed statements (prepared once each): unread filter x cursor. */
	if (unread_only)
		sql = before ? "SELECT " NOTIF_COLS " FROM notifications WHERE user_id = $1"
			       " AND is_read = 0 AND id < $3 ORDER BY id DESC LIMIT $2"
			     : "SELECT " NOTIF_COLS " FROM notifications WHERE user_id = $1"
			       " AND is_read = 0 ORDER BY id DESC LIMIT $2";
	else
		sql = before ? "SELECT " NOTIF_COLS " FROM notifications WHERE user_id = $1"
			       " AND id < $3 ORDER BY id DESC LIMIT $2"
			     : "SELECT " NOTIF_COLS " FROM notifications WHERE user_id = $1"
			       " ORDER BY id DESC LIMIT $2";
	struct db_res *r =
	    before
		? db_query(c, sql, DB_PARAMS(DB_TEXT(user_id), DB_INT(limit), DB_TEXT(before)), &rc)
		: db_query(c, sql, DB_PARAMS(DB_TEXT(user_id), DB_INT(limit)), &rc);
	if (!r)
		return store_rc_of(rc);
	struct notification *ns = calloc(limit > 0 ? (size_t)limit : 1, sizeof *ns);
	if (!ns) {
		db_res_free(r);
		return STORE_ERROR;
	}
	size_t count = 0;
	while (count < (size_t)limit && (rc = db_next(r)) == 1)
		notif_read(r, &ns[count++]);
	db_res_free(r);
	if (rc < 0) {
		free(ns);
		return store_rc_of(rc);
	}
	*out = ns;
	*n = count;
	return STORE_OK;
}

enum store_rc notif_unread_count(struct db_conn *c, const char *user_id, int64_t *count)
{
	int rc;
	*count = 0;
	struct db_res *r =
	    db_query(c, "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND is_read = 0",
		     DB_PARAMS(DB_TEXT(user_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		*count = db_int(r, 0);
	db_res_free(r);
	return store_rc_of(rc < 0 ? rc : DB_OK);
}

enum store_rc notif_get(struct db_conn *c, const char *user_id, const char *id,
			struct notification *out)
{
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT " NOTIF_COLS " FROM notifications WHERE id = $1"
				    " AND user_id = $2",
				    DB_PARAMS(DB_TEXT(id), DB_TEXT(user_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		notif_read(r, out);
	db_res_free(r);
	return store_rc_of(rc == 1 ? DB_OK : rc == 0 ? STORE_NOT_FOUND : rc);
}

enum store_rc notif_mark_read(struct db_conn *c, const char *user_id, const char *id)
{
	int64_t changes = 0;
	int rc = db_exec(c, "UPDATE notifications SET is_read = 1 WHERE id = $1 AND user_id = $2",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(user_id)), &changes);
	if (rc)
		return store_rc_of(rc);
	return changes ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc notif_mark_all_read(struct db_conn *c, const char *user_id, int64_t *changed)
{
	int64_t changes = 0;
	int rc =
	    db_exec(c, "UPDATE notifications SET is_read = 1 WHERE user_id = $1 AND is_read = 0",
		    DB_PARAMS(DB_TEXT(user_id)), &changes);
	if (changed)
		*changed = changes;
	return store_rc_of(rc);
}

enum store_rc notif_pref_get(struct db_conn *c, const char *user_id, const char *type,
			     struct notif_pref *out)
{
	int rc;
	*out = default_pref(type);
	struct db_res *r = db_query(c,
				    "SELECT in_app, email FROM notification_preferences"
				    " WHERE user_id = $1 AND type = $2",
				    DB_PARAMS(DB_TEXT(user_id), DB_TEXT(type)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1) {
		out->in_app = db_int(r, 0) != 0;
		out->email = db_int(r, 1) != 0;
	}
	db_res_free(r);
	return store_rc_of(rc < 0 ? rc : DB_OK);
}

enum store_rc notif_prefs_all(struct db_conn *c, const char *user_id, struct notif_pref *out)
{
	int rc;
	for (size_t i = 0; i < NOTIF_TYPE_COUNT; i++)
		out[i] = default_pref(NOTIF_TYPES[i]);
	struct db_res *r = db_query(
	    c, "SELECT type, in_app, email FROM notification_preferences WHERE user_id = $1",
	    DB_PARAMS(DB_TEXT(user_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	while ((rc = db_next(r)) == 1) {
		const char *t = db_text(r, 0);
		for (size_t i = 0; i < NOTIF_TYPE_COUNT; i++)
			if (strcmp(t, NOTIF_TYPES[i]) == 0) {
				out[i].in_app = db_int(r, 1) != 0;
				out[i].email = db_int(r, 2) != 0;
			}
	}
	db_res_free(r);
	return store_rc_of(rc < 0 ? rc : DB_OK);
}

enum store_rc notif_pref_set(struct db_conn *c, const char *user_id, const char *type,
			     const struct notif_pref *p)
{
	if (!notif_type_known(type))
		return STORE_NOT_FOUND;
	return store_rc_of(db_exec(
	    c,
	    "INSERT INTO notification_preferences (user_id, type, in_app, email, updated_at)"
	    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, type) DO UPDATE SET"
	    " in_app = excluded.in_app, email = excluded.email,"
	    " updated_at = excluded.updated_at",
	    DB_PARAMS(DB_TEXT(user_id), DB_TEXT(type), DB_INT(p->in_app ? 1 : 0),
		      DB_INT(p->email ? 1 : 0), DB_INT(time_now_ms())),
	    NULL));
}
