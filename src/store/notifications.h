/*
 * notifications.h — what the system tells a person: a new message, a
 * transcription completed or failed, an invitation, a mention, a quota
 * warning. Each is a row the person lists and marks read, and a live
 * "notification" event on the bus (BUS_USER) for their open pages.
 *
 * Per-type preferences say whether a type shows in the app and whether it
 * should also go out by e-mail (the mail sender reads notif_pref_get); a
 * type without a stored preference is in_app on, email off.
 */
#ifndef IAM_STORE_NOTIFICATIONS_H
#define IAM_STORE_NOTIFICATIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"

#define NOTIF_CONTENT_MAX 1000 /* bytes kept of a notification's content */
#define NOTIF_TYPE_BUF	  32
#define NOTIF_LINK_BUF	  256 /* a path in the web app */

struct bus;

struct notification {
	char id[UUID_STR_LEN];
	char user_id[UUID_STR_LEN];
	char message_id[UUID_STR_LEN]; /* "" for none */
	char type[NOTIF_TYPE_BUF];
	char content[NOTIF_CONTENT_MAX + 1];
	char link[NOTIF_LINK_BUF]; /* "" = none */
	bool is_read;
	int64_t created_at;
};

/* The known types, in a stable order (NOTIF_TYPE_COUNT of them). */
extern const char *const NOTIF_TYPES[];
#define NOTIF_TYPE_COUNT 7
/* True if name is one of NOTIF_TYPES. */
bool notif_type_known(const char *name);

/*
 * Mailing a notification whose type has e-mail on (set once at start-up,
 * by the mail module: the store does not send mail). path is where it
 * leads in the web app. Types whose senders write their own mail
 * (invitation, quota_warning, billing) are not passed to it.
 */
typedef void (*notif_mailer_fn)(struct db_conn *c, const char *user_id, const char *type,
				const char *content, const char *path);
void notif_set_mailer(notif_mailer_fn fn);

/*
 * The API representation {id, user_id, message_id, type, content, link,
 * is_read, created_at}. New ref.
 */
json_t *notif_json(const struct notification *n);

/*
 * Tell user_id something: unless they turned type off in the app, store a
 * notification (content cut to NOTIF_CONTENT_MAX bytes on a character
 * boundary; message_id may be NULL) and publish it as a "notification"
 * event to the user on bus (may be NULL). STORE_OK also when the
 * preference suppressed it. Safe to call from jobs and handlers alike.
 */
enum store_rc notify(struct db_conn *c, struct bus *bus, const char *user_id, const char *type,
		     const char *content, const char *message_id);
/* notify with a path in the web app it leads to (NULL: none; one over NOTIF_LINK_BUF is dropped).
 */
enum store_rc notify_link(struct db_conn *c, struct bus *bus, const char *user_id, const char *type,
			  const char *content, const char *message_id, const char *link);

/*
 * The hook of the transcription job: tell the meeting's creator (if any)
 * that its transcription completed (ok) or failed for good.
 */
enum store_rc notify_transcription(struct db_conn *c, struct bus *bus, const char *org_id,
				   const char *meeting_id, bool ok);

/* Newest first; unread_only; before = cursor id or NULL. *out: caller frees with free(). */
enum store_rc notif_list(struct db_conn *c, const char *user_id, bool unread_only,
			 const char *before, int limit, struct notification **out, size_t *n);
enum store_rc notif_unread_count(struct db_conn *c, const char *user_id, int64_t *count);
/* One of the user's notifications; STORE_NOT_FOUND when it is not theirs. */
enum store_rc notif_get(struct db_conn *c, const char *user_id, const char *id,
			struct notification *out);
/* Mark one read; STORE_NOT_FOUND when it is not the user's. */
enum store_rc notif_mark_read(struct db_conn *c, const char *user_id, const char *id);
/* Mark every unread one read; *changed (may be NULL) gets how many. */
enum store_rc notif_mark_all_read(struct db_conn *c, const char *user_id, int64_t *changed);

struct notif_pref {
	bool in_app;
	bool email;
};
/*
 * The preference for one type (the default when none is stored: in the
 * app always; by e-mail for quota_warning and billing only).
 */
enum store_rc notif_pref_get(struct db_conn *c, const char *user_id, const char *type,
			     struct notif_pref *out);
/* All types, in NOTIF_TYPES order (out has NOTIF_TYPE_COUNT entries). */
enum store_rc notif_prefs_all(struct db_conn *c, const char *user_id, struct notif_pref *out);
/* Store the preference for a known type. */
enum store_rc notif_pref_set(struct db_conn *c, const char *user_id, const char *type,
			     const struct notif_pref *p);

#endif
