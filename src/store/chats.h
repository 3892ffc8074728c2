/*
 * chats.h — conversations with meetings (sql/0012_chat.sql). A chat
 * belongs to one user in one organization: every function takes both, and
 * another user's chat is STORE_NOT_FOUND. Messages are written only in
 * pairs, the question with its complete answer (chat_add_exchange), so a
 * failed answer leaves nothing behind.
 */
#ifndef IAM_STORE_CHATS_H
#define IAM_STORE_CHATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"

#define CHAT_TITLE_MAX	 200  /* characters */
#define CHAT_MESSAGE_MAX 4000 /* characters of a question */
/* Most messages a chat returns (the latest ones). */
#define CHAT_MESSAGES_MAX 500

struct chat {
	char id[UUID_STR_LEN];
	char org_id[UUID_STR_LEN];
	char user_id[UUID_STR_LEN];
	char meeting_id[UUID_STR_LEN];	  /* "" = not about one meeting */
	char collection_id[UUID_STR_LEN]; /* "" = not about one collection */
	/* Both "": every meeting the user may read. */
	char title[CHAT_TITLE_MAX * 4 + 1];
	int64_t created_at, updated_at;
};

struct chat_message {
	char id[UUID_STR_LEN];
	char role[16];	 /* "user", "assistant" */
	char *content;	 /* malloc'd */
	char *citations; /* JSON array text, malloc'd */
	char status[16]; /* "complete" (a question), "answer" (the model), "excerpt" (offline) */
	char source[96]; /* the model's name, "offline", or "" for a question */
	int64_t created_at;
};
/* Free n messages and the array; NULL is a no-op. */
void chat_messages_free(struct chat_message *m, size_t n);

/* Store a new chat (ch->org_id, user_id, meeting_id, title set): fills id and times. */
enum store_rc chat_create(struct db_conn *c, struct chat *ch);
enum store_rc chat_get(struct db_conn *c, const char *org_id, const char *user_id, const char *id,
		       struct chat *out);
/*
 * The user's chats, newest first, ids below before_id (NULL = from the
 * top), at most limit. *out malloc'd (free()), *n of them.
 */
enum store_rc chat_list(struct db_conn *c, const char *org_id, const char *user_id,
			const char *before_id, int limit, struct chat **out, size_t *n);
/*
 * The last max messages of a chat, oldest first. *out malloc'd (free with
 * chat_messages_free), *n of them.
 */
enum store_rc chat_messages(struct db_conn *c, const char *org_id, const char *chat_id, int max,
			    struct chat_message **out, size_t *n);
/*
 * In one transaction: the question (role user) and its complete answer
 * (answer->content, citations, status, source), and the chat's updated_at.
 * Fills question_id and answer->id (and its created_at).
 */
enum store_rc chat_add_exchange(struct db_conn *c, const char *org_id, const char *chat_id,
				const char *question, struct chat_message *answer,
				char question_id[UUID_STR_LEN]);

#endif
