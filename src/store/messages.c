#include "store/messages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/timeutil.h"

/* $1 is always the viewer. Flags are the viewer's side; the sender's own copy always reads. */
#define MSG_COLS                                                                                   \
	"m.id, m.thread_id, m.reply_to, m.meeting_id, mt.title, m.at_seconds, m.subject, m.body,"  \
	" CASE WHEN m.recipient_id = $1 THEN m.is_read ELSE 1 END,"                                \
	" CASE WHEN m.recipient_id = $1 THEN m.is_starred ELSE m.sender_starred END,"              \
	" CASE WHEN m.recipient_id = $1 THEN m.is_archived ELSE m.sender_archived END,"            \
	" m.created_at, m.updated_at,"                                                             \
	" s.id, s.email, s.first_name, s.last_name, r.id, r.email, r.first_name, r.last_name"
#define MSG_FROM                                                                                   \
	" FROM messages m JOIN users s ON s.id = m.sender_id JOIN users r ON r.id = "              \
	"m.recipient_id"                                                                           \
	" LEFT JOIN meetings mt ON mt.id = m.meeting_id"
#define MSG_VISIBLE                                                                                \
	"((m.recipient_id = $1 AND m.recipient_deleted = 0)"                                       \
	" OR (m.sender_id = $1 AND m.sender_deleted = 0))"

void message_clear(struct message *m)
{
	if (!m)
		return;
	free(m->subject);
	free(m->body);
	m->subject = m->body = NULL;
}

void message_free_array(struct message *m, size_t n)
{
	if (!m)
		return;
	for (size_t i = 0; i < n; i++)
		message_clear(&m[i]);
	free(m);
}

int msg_folder_parse(const char *name)
{
	static const char *const names[] = {"inbox", "sent", "starred", "archived"};
	for (size_t i = 0; name && i < sizeof names / sizeof *names; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

int msg_action_parse(const char *name)
{
	static const char *const names[] = {"read",    "unread",    "star",  "unstar",
					    "archive", "unarchive", "delete"};
	for (size_t i = 0; name && i < sizeof names / sizeof *names; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

bool msg_like_pattern(const char *q, char *out, size_t outlen)
{
	size_t n = 0;
	if (outlen < 3)
		return false;
	out[n++] = '%';
	for (const char *s = q; *s; s++) {
		if (n + 4 > outlen)
			return false;
		if (*s == '%' || *s == '_' || *s == '!')
			out[n++] = '!';
		out[n++] = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s;
	}
	out[n++] = '%';
	out[n] = '\0';
	return true;
}

static void person_read(const struct db_res *r, int col, struct msg_person *p)
{
	store_copy(p->id, sizeof p->id, r, col);
	store_copy(p->email, sizeof p->email, r, col + 1);
	const char *first = db_text(r, col + 2), *last = db_text(r, col + 3);
	snprintf(p->name, sizeof p->name, "%s%s%s", first, *first && *last ? " " : "", last);
}

static int msg_read(const struct db_res *r, struct message *m)
{
	memset(m, 0, sizeof *m);
	store_copy(m->id, sizeof m->id, r, 0);
	store_copy(m->thread_id, sizeof m->thread_id, r, 1);
	store_copy(m->reply_to, sizeof m->reply_to, r, 2);
	store_copy(m->meeting_id, sizeof m->meeting_id, r, 3);
	store_copy(m->meeting_title, sizeof m->meeting_title, r, 4);
	m->has_at = !db_is_null(r, 5);
	m->at_seconds = m->has_at ? db_double(r, 5) : 0;
	m->subject = strdup(db_text(r, 6));
	m->body = strdup(db_text(r, 7));
	m->is_read = db_int(r, 8) != 0;
	m->is_starred = db_int(r, 9) != 0;
	m->is_archived = db_int(r, 10) != 0;
	m->created_at = db_int(r, 11);
	m->updated_at = db_int(r, 12);
	person_read(r, 13, &m->sender);
	person_read(r, 17, &m->recipient);
	if (!m->subject || !m->body) {
		message_clear(m);
		return -1;
	}
	return 0;
}

int msg_can_write(struct db_conn *c, const char *a, const char *b)
{
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT 1 FROM memberships x JOIN memberships y ON y.org_id = x.org_id"
		     " WHERE x.user_id = $1 AND y.user_id = $2 LIMIT 1",
		     DB_PARAMS(DB_TEXT(a), DB_TEXT(b)), &rc);
	if (!r)
		return rc < 0 ? rc : DB_ERR;
	rc = db_next(r);
	db_res_free(r);
	return rc;
}

enum store_rc msg_get(struct db_conn *c, const char *viewer, const char *id, struct message *out)
{
	int rc;
	memset(out, 0, sizeof *out);
	struct db_res *r =
	    db_query(c, "SELECT " MSG_COLS MSG_FROM " WHERE m.id = $2 AND " MSG_VISIBLE,
		     DB_PARAMS(DB_TEXT(viewer), DB_TEXT(id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		rc = msg_read(r, out) ? STORE_ERROR : DB_OK;
	else if (rc == 0)
		rc = STORE_NOT_FOUND;
	db_res_free(r);
	return store_rc_of(rc);
}

/* 1 if the query with params (a, b) has a row, 0 if not, <0 db error. */
static int exists2(struct db_conn *c, const char *sql, const char *a, const char *b)
{
	int rc;
	struct db_res *r = db_query(c, sql, DB_PARAMS(DB_TEXT(a), DB_TEXT(b)), &rc);
	if (!r)
		return rc < 0 ? rc : DB_ERR;
	rc = db_next(r);
	db_res_free(r);
	return rc;
}

enum store_rc msg_send(struct db_conn *c, const struct msg_new *in, struct message *out,
		       const char **what)
{
	char id[UUID_STR_LEN], thread[UUID_STR_LEN];
	int rc;
	memset(out, 0, sizeof *out);
	*what = NULL;
	rc = msg_can_write(c, in->sender_id, in->recipient_id);
	if (rc <= 0) {
		*what = "recipient";
		return rc < 0 ? store_rc_of(rc) : STORE_NOT_FOUND;
	}
	uuid_v7(id);
	snprintf(thread, sizeof thread, "%s", id);
	if (in->reply_to) {
		struct db_res *r = db_query(
		    c, "SELECT m.thread_id FROM messages m WHERE m.id = $2 AND " MSG_VISIBLE,
		    DB_PARAMS(DB_TEXT(in->sender_id), DB_TEXT(in->reply_to)), &rc);
		if (!r)
			return store_rc_of(rc);
		rc = db_next(r);
		if (rc == 1)
			store_copy(thread, sizeof thread, r, 0);
		db_res_free(r);
		if (rc <= 0) {
			*what = "reply_to";
			return rc < 0 ? store_rc_of(rc) : STORE_NOT_FOUND;
		}
	}
	if (in->meeting_id) {
		rc =
		    exists2(c,
			    "SELECT 1 FROM meetings mt JOIN memberships ms ON ms.org_id = mt.org_id"
			    " WHERE mt.id = $1 AND ms.user_id = $2",
			    in->meeting_id, in->sender_id);
		if (rc <= 0) {
			*what = "meeting_id";
			return rc < 0 ? store_rc_of(rc) : STORE_NOT_FOUND;
		}
	}
	int64_t now = time_now_ms();
	rc = db_exec(
	    c,
	    "INSERT INTO messages (id, sender_id, recipient_id, thread_id, reply_to, subject,"
	    " body, meeting_id, at_seconds, created_at, updated_at)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(in->sender_id), DB_TEXT(in->recipient_id),
		      DB_TEXT(thread), DB_TEXT(in->reply_to), DB_TEXT(in->subject),
		      DB_TEXT(in->body), DB_TEXT(in->meeting_id),
		      in->meeting_id && in->has_at ? DB_REAL(in->at_seconds) : DB_NULL,
		      DB_INT(now)),
	    NULL);
	if (rc)
		return store_rc_of(rc);
	return msg_get(c, in->sender_id, id, out);
}

enum store_rc msg_list(struct db_conn *c, const char *viewer, const struct msg_filter *f, int limit,
		       struct message **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char sql[2048], like[MSG_Q_MAX * 2 + 3];
	struct db_param params[6];
	size_t np = 0;
	int len;
	params[np++] = DB_TEXT(viewer);
	params[np++] = DB_INT(limit);
	len = snprintf(sql, sizeof sql, "SELECT " MSG_COLS MSG_FROM " WHERE ");
	if (f->thread_id) {
		params[np++] = DB_TEXT(f->thread_id);
		len += snprintf(sql + len, sizeof sql - (size_t)len,
				MSG_VISIBLE " AND m.thread_id = $%zu", np);
	} else {
		static const char *const folder_sql[] = {
		    "m.recipient_id = $1 AND m.recipient_deleted = 0 AND m.is_archived = 0",
		    "m.sender_id = $1 AND m.sender_deleted = 0 AND m.sender_archived = 0",
		    "((m.recipient_id = $1 AND m.recipient_deleted = 0 AND m.is_starred = 1)"
		    " OR (m.sender_id = $1 AND m.sender_deleted = 0 AND m.sender_starred = 1))",
		    "((m.recipient_id = $1 AND m.recipient_deleted = 0 AND m.is_archived = 1)"
		    " OR (m.sender_id = $1 AND m.sender_deleted = 0 AND m.sender_archived = 1))",
		};
		int fo = f->folder >= MSG_FOLDER_INBOX && f->folder <= MSG_FOLDER_ARCHIVED
			     ? (int)f->folder
			     : MSG_FOLDER_INBOX;
		len += snprintf(sql + len, sizeof sql - (size_t)len, "%s", folder_sql[fo]);
	}
	if (f->unread)
		len += snprintf(sql + len, sizeof sql - (size_t)len,
				" AND m.recipient_id = $1 AND m.recipient_deleted = 0"
				" AND m.is_read = 0");
	if (f->q && *f->q) {
		if (!msg_like_pattern(f->q, like, sizeof like))
			return STORE_ERROR;
		params[np++] = DB_TEXT(like);
		len += snprintf(sql + len, sizeof sql - (size_t)len,
				" AND (LOWER(m.subject) LIKE $%zu ESCAPE '!'"
				" OR LOWER(m.body) LIKE $%zu ESCAPE '!')",
				np, np);
	}
	if (f->before) {
		params[np++] = DB_TEXT(f->before);
		len += snprintf(sql + len, sizeof sql - (size_t)len, " AND m.id < $%zu", np);
	}
	len += snprintf(sql + len, sizeof sql - (size_t)len, " ORDER BY m.id DESC LIMIT $2");
	if (len >= (int)sizeof sql)
		return STORE_ERROR;
	int rc;
	struct db_res *r = db_query(c, sql, params, np, &rc);
	if (!r)
		return store_rc_of(rc);
	struct message *ms = calloc(limit > 0 ? (size_t)limit : 1, sizeof *ms);
	if (!ms) {
		db_res_free(r);
		return STORE_ERROR;
	}
	size_t count = 0;
	while (count < (size_t)limit && (rc = db_next(r)) == 1) {
		if (msg_read(r, &ms[count])) {
			rc = STORE_ERROR;
			break;
		}
		count++;
	}
	db_res_free(r);
	if (rc < 0 || rc == STORE_ERROR) {
		message_free_array(ms, count);
		return store_rc_of(rc);
	}
	*out = ms;
	*n = count;
	return STORE_OK;
}

/* Both sides' flags; returns rows changed (0: not the viewer's) or a negative db_rc. */
static int64_t update_sides(struct db_conn *c, const char *viewer, const char *id, int read,
			    int starred, int archived, int64_t now)
{
#define FLAG(v) ((v) < 0 ? DB_NULL : DB_INT((v) ? 1 : 0))
	int64_t a = 0, b = 0;
	int rc = db_exec(c,
			 "UPDATE messages SET is_read = COALESCE($3, is_read),"
			 " is_starred = COALESCE($4, is_starred),"
			 " is_archived = COALESCE($5, is_archived), updated_at = $6"
			 " WHERE id = $1 AND recipient_id = $2 AND recipient_deleted = 0",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(viewer), FLAG(read), FLAG(starred),
				   FLAG(archived), DB_INT(now)),
			 &a);
	if (rc)
		return rc;
	rc = db_exec(
	    c,
	    "UPDATE messages SET sender_starred = COALESCE($3, sender_starred),"
	    " sender_archived = COALESCE($4, sender_archived), updated_at = $5"
	    " WHERE id = $1 AND sender_id = $2 AND sender_deleted = 0",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(viewer), FLAG(starred), FLAG(archived), DB_INT(now)),
	    &b);
	if (rc)
		return rc;
	return a + b;
#undef FLAG
}

static int64_t delete_sides(struct db_conn *c, const char *viewer, const char *id, int64_t now)
{
	int64_t a = 0, b = 0;
	int rc = db_exec(c,
			 "UPDATE messages SET recipient_deleted = 1, updated_at = $3"
			 " WHERE id = $1 AND recipient_id = $2 AND recipient_deleted = 0",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(viewer), DB_INT(now)), &a);
	if (rc)
		return rc;
	rc = db_exec(c,
		     "UPDATE messages SET sender_deleted = 1, updated_at = $3"
		     " WHERE id = $1 AND sender_id = $2 AND sender_deleted = 0",
		     DB_PARAMS(DB_TEXT(id), DB_TEXT(viewer), DB_INT(now)), &b);
	if (rc)
		return rc;
	if (a + b == 0)
		return 0;
	rc = db_exec(c,
		     "DELETE FROM messages WHERE id = $1 AND recipient_deleted = 1"
		     " AND sender_deleted = 1",
		     DB_PARAMS(DB_TEXT(id)), NULL);
	return rc ? rc : a + b;
}

enum store_rc msg_update(struct db_conn *c, const char *viewer, const char *id, int read,
			 int starred, int archived)
{
	int64_t n = update_sides(c, viewer, id, read, starred, archived, time_now_ms());
	if (n < 0)
		return store_rc_of((int)n);
	return n ? STORE_OK : STORE_NOT_FOUND;
}

struct delete_tx {
	const char *viewer, *id;
};

static int delete_tx(struct db_conn *c, void *arg)
{
	const struct delete_tx *d = arg;
	int64_t n = delete_sides(c, d->viewer, d->id, time_now_ms());
	if (n < 0)
		return (int)n;
	return n ? DB_OK : STORE_NOT_FOUND;
}

enum store_rc msg_delete(struct db_conn *c, const char *viewer, const char *id)
{
	struct delete_tx d = {viewer, id};
	return store_tx(c, delete_tx, &d);
}

struct bulk_tx {
	const char *viewer;
	const char *const *ids;
	size_t n;
	enum msg_action action;
	bool *ok;
};

static int bulk_tx(struct db_conn *c, void *arg)
{
	struct bulk_tx *b = arg;
	int64_t now = time_now_ms();
	for (size_t i = 0; i < b->n; i++) {
		int64_t k;
		switch (b->action) {
		case MSG_READ:
		case MSG_UNREAD:
			k = update_sides(c, b->viewer, b->ids[i], b->action == MSG_READ, -1, -1,
					 now);
			break;
		case MSG_STAR:
		case MSG_UNSTAR:
			k = update_sides(c, b->viewer, b->ids[i], -1, b->action == MSG_STAR, -1,
					 now);
			break;
		case MSG_ARCHIVE:
		case MSG_UNARCHIVE:
			k = update_sides(c, b->viewer, b->ids[i], -1, -1, b->action == MSG_ARCHIVE,
					 now);
			break;
		default:
			k = delete_sides(c, b->viewer, b->ids[i], now);
			break;
		}
		if (k < 0)
			return (int)k;
		b->ok[i] = k > 0;
	}
	return DB_OK;
}

enum store_rc msg_bulk(struct db_conn *c, const char *viewer, const char *const *ids, size_t n,
		       enum msg_action action, bool *ok)
{
	if (n > MSG_BULK_MAX)
		return STORE_ERROR;
	struct bulk_tx b = {viewer, ids, n, action, ok};
	return store_tx(c, bulk_tx, &b);
}

enum store_rc msg_stats(struct db_conn *c, const char *viewer, struct msg_stats *out)
{
	memset(out, 0, sizeof *out);
	int rc;
	struct db_res *r = db_query(
	    c,
	    "SELECT"
	    " COALESCE(SUM(CASE WHEN recipient_id = $1 AND recipient_deleted = 0"
	    "   THEN 1 ELSE 0 END), 0),"
	    " COALESCE(SUM(CASE WHEN recipient_id = $1 AND recipient_deleted = 0 AND is_read = 0"
	    "   AND is_archived = 0 THEN 1 ELSE 0 END), 0),"
	    " COALESCE(SUM(CASE WHEN (recipient_id = $1 AND recipient_deleted = 0 AND is_starred = "
	    "1)"
	    "   OR (sender_id = $1 AND sender_deleted = 0 AND sender_starred = 1)"
	    "   THEN 1 ELSE 0 END), 0),"
	    " COALESCE(SUM(CASE WHEN (recipient_id = $1 AND recipient_deleted = 0 AND is_archived "
	    "= 1)"
	    "   OR (sender_id = $1 AND sender_deleted = 0 AND sender_archived = 1)"
	    "   THEN 1 ELSE 0 END), 0),"
	    " COALESCE(SUM(CASE WHEN sender_id = $1 AND sender_deleted = 0 THEN 1 ELSE 0 END), 0)"
	    " FROM messages WHERE recipient_id = $1 OR sender_id = $1",
	    DB_PARAMS(DB_TEXT(viewer)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1) {
		out->total = db_int(r, 0);
		out->unread = db_int(r, 1);
		out->starred = db_int(r, 2);
		out->archived = db_int(r, 3);
		out->sent = db_int(r, 4);
	}
	db_res_free(r);
	return store_rc_of(rc < 0 ? rc : DB_OK);
}

enum store_rc msg_contacts(struct db_conn *c, const char *user_id, const char *q, int limit,
			   struct msg_person **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char like[MSG_Q_MAX * 2 + 3];
	int rc;
	struct db_res *r;
	if (q && *q) {
		if (!msg_like_pattern(q, like, sizeof like))
			return STORE_ERROR;
		r = db_query(c,
			     "SELECT DISTINCT u.id, u.email, u.first_name, u.last_name"
			     " FROM memberships x JOIN memberships y ON y.org_id = x.org_id"
			     " JOIN users u ON u.id = y.user_id WHERE x.user_id = $1"
			     " AND (LOWER(u.email) LIKE $3 ESCAPE '!'"
			     " OR LOWER(u.first_name || ' ' || u.last_name) LIKE $3 ESCAPE '!')"
			     " ORDER BY u.email LIMIT $2",
			     DB_PARAMS(DB_TEXT(user_id), DB_INT(limit), DB_TEXT(like)), &rc);
	} else {
		r = db_query(c,
			     "SELECT DISTINCT u.id, u.email, u.first_name, u.last_name"
			     " FROM memberships x JOIN memberships y ON y.org_id = x.org_id"
			     " JOIN users u ON u.id = y.user_id WHERE x.user_id = $1"
			     " ORDER BY u.email LIMIT $2",
			     DB_PARAMS(DB_TEXT(user_id), DB_INT(limit)), &rc);
	}
	if (!r)
		return store_rc_of(rc);
	struct msg_person *ps = calloc(limit > 0 ? (size_t)limit : 1, sizeof *ps);
	if (!ps) {
		db_res_free(r);
		return STORE_ERROR;
	}
	size_t count = 0;
	while (count < (size_t)limit && (rc = db_next(r)) == 1)
		person_read(r, 0, &ps[count++]);
	db_res_free(r);
	if (rc < 0) {
		free(ps);
		return store_rc_of(rc);
	}
	*out = ps;
	*n = count;
	return STORE_OK;
}
