/*
 * messages.h — the inbox: messages between people who share an
 * organization (see sql/0008_inbox.sql for the row design).
 *
 * Every function takes the viewer's user id and sees only what the viewer
 * may see: a message they sent and did not delete, or one they received
 * and did not delete. Anything else is STORE_NOT_FOUND, so nobody learns
 * whether someone else's message exists. Flags (is_read, is_starred,
 * is_archived) are the viewer's own side; the sender's copy always reads.
 */
#ifndef IAM_STORE_MESSAGES_H
#define IAM_STORE_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"
#include "store/users.h"

#define MSG_SUBJECT_MAX 255	       /* code points */
#define MSG_BODY_MAX	(64 * 1024)    /* bytes */
#define MSG_Q_MAX	200	       /* bytes of a search query */
#define MSG_BULK_MAX	100	       /* ids in one bulk action */
#define MSG_THREAD_MAX	200	       /* messages returned for one thread */
#define MSG_PERSON_NAME (NAME_BUF * 2) /* "first last" */
#define MSG_TITLE_BUF	1024

struct msg_person {
	char id[UUID_STR_LEN];
	char email[EMAIL_BUF];
	char name[MSG_PERSON_NAME];
};

struct message {
	char id[UUID_STR_LEN];
	char thread_id[UUID_STR_LEN];
	char reply_to[UUID_STR_LEN];   /* "" for none */
	char meeting_id[UUID_STR_LEN]; /* "" for none */
	char meeting_title[MSG_TITLE_BUF];
	double at_seconds; /* meaningful when has_at */
	bool has_at;
	struct msg_person sender, recipient;
	char *subject; /* malloc'd; message_clear frees */
	char *body;    /* malloc'd; message_clear frees */
	bool is_read, is_starred, is_archived;
	int64_t created_at, updated_at;
};

/* Free what a message owns (not the struct); safe on a zeroed struct. */
void message_clear(struct message *m);
/* Clear and free an array of n messages; NULL is a no-op. */
void message_free_array(struct message *m, size_t n);

enum msg_folder { MSG_FOLDER_INBOX = 0, MSG_FOLDER_SENT, MSG_FOLDER_STARRED, MSG_FOLDER_ARCHIVED };
/* "inbox" -> MSG_FOLDER_INBOX ...; -1 for an unknown name. */
int msg_folder_parse(const char *name);

/* 1 when a and b are the same person or share an organization, 0 if not, <0 db error. */
int msg_can_write(struct db_conn *c, const char *a, const char *b);

struct msg_new {
	const char *sender_id;
	const char *recipient_id;
	const char *subject;
	const char *body;
	const char *reply_to;	/* NULL for none */
	const char *meeting_id; /* NULL for none */
	double at_seconds;
	bool has_at;
};

/*
 * Send. STORE_NOT_FOUND with *what = "recipient" (no shared organization or
 * no such user), "reply_to" (not a message the sender can see) or
 * "meeting_id" (not a meeting of an organization the sender belongs to).
 * On STORE_OK *out is the message as the sender sees it (clear with
 * message_clear).
 */
enum store_rc msg_send(struct db_conn *c, const struct msg_new *in, struct message *out,
		       const char **what);

/* One message as viewer sees it (clear with message_clear). */
enum store_rc msg_get(struct db_conn *c, const char *viewer, const char *id, struct message *out);

struct msg_filter {
	enum msg_folder folder;
	bool unread;	    /* only received messages not yet read */
	const char *q;	    /* substring of subject or body, case-insensitive ASCII; NULL = any */
	const char *before; /* cursor: ids below this one; NULL for the first page */
	const char *thread_id; /* only this thread (folder ignored); NULL = any */
};
/* Newest first, at most limit. *out: caller frees with message_free_array(*out, *n). */
enum store_rc msg_list(struct db_conn *c, const char *viewer, const struct msg_filter *f, int limit,
		       struct message **out, size_t *n);

/* Change the viewer's flags: -1 leaves a flag, 0/1 sets it. STORE_NOT_FOUND if not visible. */
enum store_rc msg_update(struct db_conn *c, const char *viewer, const char *id, int read,
			 int starred, int archived);
/* Delete the viewer's copy (the row goes when both sides deleted it). */
enum store_rc msg_delete(struct db_conn *c, const char *viewer, const char *id);

enum msg_action {
	MSG_READ = 0,
	MSG_UNREAD,
	MSG_STAR,
	MSG_UNSTAR,
	MSG_ARCHIVE,
	MSG_UNARCHIVE,
	MSG_DELETE
};
/* "read" -> MSG_READ ...; -1 for an unknown name. */
int msg_action_parse(const char *name);
/*
 * Apply action to each of ids (n <= MSG_BULK_MAX) in one transaction;
 * ok[i] says whether ids[i] was the viewer's (else it was left alone).
 */
enum store_rc msg_bulk(struct db_conn *c, const char *viewer, const char *const *ids, size_t n,
		       enum msg_action action, bool *ok);

struct msg_stats {
	int64_t total;	  /* received, not deleted */
	int64_t unread;	  /* received, not read, not archived, not deleted */
	int64_t starred;  /* starred on the viewer's side */
	int64_t archived; /* archived on the viewer's side */
	int64_t sent;	  /* sent, not deleted */
};
enum store_rc msg_stats(struct db_conn *c, const char *viewer, struct msg_stats *out);

/*
 * People who share an organization with user_id (user_id included),
 * whose email or name contains q (NULL = all), by email, at most limit.
 * *out: caller frees with free().
 */
enum store_rc msg_contacts(struct db_conn *c, const char *user_id, const char *q, int limit,
			   struct msg_person **out, size_t *n);

/*
 * Write a LIKE pattern "%q%" for q with %, _ and ! escaped by '!' (use
 * ESCAPE '!'), lower-cased ASCII, into out. False if it does not fit.
 */
bool msg_like_pattern(const char *q, char *out, size_t outlen);

#endif
