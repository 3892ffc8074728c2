/*
 * chats.c — conversations with meetings (see chats.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "store/chats.h"

#define CHAT_COLS                                                                                  \
	"id, org_id, user_id, COALESCE(meeting_id, ''), title, created_at, updated_at,"            \
	" COALESCE(collection_id, '')"

static void read_chat(const struct db_res *r, struct chat *ch)
{
	memset(ch, 0, sizeof *ch);
	store_copy(ch->id, sizeof ch->id, r, 0);
	store_copy(ch->org_id, sizeof ch->org_id, r, 1);
	store_copy(ch->user_id, sizeof ch->user_id, r, 2);
	store_copy(ch->meeting_id, sizeof ch->meeting_id, r, 3);
	store_copy(ch->title, sizeof ch->title, r, 4);
	ch->created_at = db_int(r, 5);
	ch->updated_at = db_int(r, 6);
	store_copy(ch->collection_id, sizeof ch->collection_id, r, 7);
}

void chat_messages_free(struct chat_message *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		free(m[i].content);
		free(m[i].citations);
	}
	free(m);
}

enum store_rc chat_create(struct db_conn *c, struct chat *ch)
{
	uuid_v7(ch->id);
	ch->created_at = ch->updated_at = time_now_ms();
	int rc = db_exec(c,
			 "INSERT INTO chats (id, org_id, user_id, meeting_id, title, created_at,"
			 " updated_at, collection_id) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
			 DB_PARAMS(DB_TEXT(ch->id), DB_TEXT(ch->org_id), DB_TEXT(ch->user_id),
				   DB_TEXT(ch->meeting_id[0] ? ch->meeting_id : NULL),
				   DB_TEXT(ch->title), DB_INT(ch->created_at),
				   DB_TEXT(ch->collection_id[0] ? ch->collection_id : NULL)),
			 NULL);
	return store_rc_of(rc);
}

enum store_rc chat_get(struct db_conn *c, const char *org_id, const char *user_id, const char *id,
		       struct chat *out)
{
	int rc;
	struct db_res *r = db_query(
	    c, "SELECT " CHAT_COLS " FROM chats WHERE id = $1 AND org_id = $2 AND user_id = $3",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(user_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		read_chat(r, out);
	db_res_free(r);
	return rc == 1 ? STORE_OK : rc == 0 ? STORE_NOT_FOUND : store_rc_of(rc);
}

enum store_rc chat_list(struct db_conn *c, const char *org_id, const char *user_id,
			const char *before_id, int limit, struct chat **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT " CHAT_COLS " FROM chats WHERE org_id = $1 AND user_id = $2"
		     " AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4",
		     DB_PARAMS(DB_TEXT(org_id), DB_TEXT(user_id),
			       DB_TEXT(before_id ? before_id : ""), DB_INT(limit)),
		     &rc);
	if (!r)
		return store_rc_of(rc);
	struct chat *list = calloc(limit > 0 ? (size_t)limit : 1, sizeof *list);
	if (!list) {
		db_res_free(r);
		return STORE_ERROR;
	}
	size_t count = 0;
	while (count < (size_t)limit && (rc = db_next(r)) == 1)
		read_chat(r, &list[count++]);
	db_res_free(r);
	if (rc < 0) {
		free(list);
		return store_rc_of(rc);
	}
	*out = list;
	*n = count;
	return STORE_OK;
}

enum store_rc chat_messages(struct db_conn *c, const char *org_id, const char *chat_id, int max,
			    struct chat_message **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc;
	/* The latest max, read newest first and handed back oldest first. */
	struct db_res *r = db_query(
	    c,
	    "SELECT id, role, content, citations, status, COALESCE(source, ''), created_at"
	    " FROM chat_messages WHERE chat_id = $1 AND org_id = $2 ORDER BY id DESC LIMIT $3",
	    DB_PARAMS(DB_TEXT(chat_id), DB_TEXT(org_id), DB_INT(max)), &rc);
	if (!r)
		return store_rc_of(rc);
	struct chat_message *list = calloc(max > 0 ? (size_t)max : 1, sizeof *list);
	if (!list) {
		db_res_free(r);
		return STORE_ERROR;
	}
	size_t count = 0;
	bool nomem = false;
	while (count < (size_t)max && (rc = db_next(r)) == 1) {
		struct chat_message *m = &list[count++];
		store_copy(m->id, sizeof m->id, r, 0);
		store_copy(m->role, sizeof m->role, r, 1);
		m->content = strdup(db_text(r, 2) ? db_text(r, 2) : "");
		m->citations = strdup(db_text(r, 3) ? db_text(r, 3) : "[]");
		store_copy(m->status, sizeof m->status, r, 4);
		store_copy(m->source, sizeof m->source, r, 5);
		m->created_at = db_int(r, 6);
		nomem |= !m->content || !m->citations;
	}
	db_res_free(r);
	if (rc < 0 || nomem) {
		chat_messages_free(list, count);
		return rc < 0 ? store_rc_of(rc) : STORE_ERROR;
	}
	for (size_t i = 0; i < count / 2; i++) {
		struct chat_message t = list[i];
		list[i] = list[count - 1 - i];
		list[count - 1 - i] = t;
	}
	*out = list;
	*n = count;
	return STORE_OK;
}

struct exchange {
	const char *org_id, *chat_id, *question;
	struct chat_message *answer;
	char *question_id;
};

static int exchange_tx(struct db_conn *c, void *arg)
{
	struct exchange *x = arg;
	int64_t now = time_now_ms();
	x->answer->created_at = now;
	int64_t changes = 0;
	int rc = db_exec(c, "UPDATE chats SET updated_at = $3 WHERE id = $1 AND org_id = $2",
			 DB_PARAMS(DB_TEXT(x->chat_id), DB_TEXT(x->org_id), DB_INT(now)), &changes);
	if (rc)
		return rc;
	if (changes == 0)
		return STORE_NOT_FOUND; /* deleted meanwhile (its meeting went) */
	rc = db_exec(c,
		     "INSERT INTO chat_messages (id, chat_id, org_id, role, content, citations,"
		     " status, source, created_at) VALUES ($1, $2, $3, 'user', $4, '[]',"
		     " 'complete', NULL, $5)",
		     DB_PARAMS(DB_TEXT(x->question_id), DB_TEXT(x->chat_id), DB_TEXT(x->org_id),
			       DB_TEXT(x->question), DB_INT(now)),
		     NULL);
	if (rc)
		return rc;
	return db_exec(c,
		       "INSERT INTO chat_messages (id, chat_id, org_id, role, content, citations,"
		       " status, source, created_at) VALUES ($1, $2, $3, 'assistant', $4, $5, $6,"
		       " $7, $8)",
		       DB_PARAMS(DB_TEXT(x->answer->id), DB_TEXT(x->chat_id), DB_TEXT(x->org_id),
				 DB_TEXT(x->answer->content),
				 DB_TEXT(x->answer->citations ? x->answer->citations : "[]"),
				 DB_TEXT(x->answer->status), DB_TEXT(x->answer->source),
				 DB_INT(now)),
		       NULL);
}

enum store_rc chat_add_exchange(struct db_conn *c, const char *org_id, const char *chat_id,
				const char *question, struct chat_message *answer,
				char question_id[UUID_STR_LEN])
{
	uuid_v7(question_id);
	uuid_v7(answer->id); /* after the question's: they sort in order */
	struct exchange x = {.org_id = org_id,
			     .chat_id = chat_id,
			     .question = question,
			     .answer = answer,
			     .question_id = question_id};
	return store_tx(c, exchange_tx, &x);
}
