/* users.h — users, their organizations and memberships. */
#ifndef IAM_USERS_H
#define IAM_USERS_H

#include <stdint.h>

#include "auth/password.h"
#include "core/uuid.h"
#include "store/store.h"

#define NAME_MAX_CHARS 100
#define NAME_BUF       (NAME_MAX_CHARS * 4 + 1)
#define EMAIL_BUF      256

struct user {
	char id[UUID_STR_LEN];
	char email[EMAIL_BUF];
	char first_name[NAME_BUF];
	char last_name[NAME_BUF];
	char company_name[NAME_BUF];
	char password_hash[PASSWORD_HASH_MAX];
	int64_t created_at;
	int64_t updated_at;
	int64_t password_changed_at;
	int64_t email_verified_at; /* 0 = not verified */
};

struct membership {
	char org_id[UUID_STR_LEN];
	char org_name[NAME_BUF];
	char role[16]; /* owner, admin, member, viewer */
	int personal;
};

/*
 * Create the user (u->id, timestamps filled in here), a personal
 * organization named org_name with the user as owner, in one transaction.
 * Returns STORE_OK, STORE_CONFLICT when the email is taken, or an error.
 */
enum store_rc user_create(struct db_conn *c, struct user *u, const char *org_name,
			  struct membership *m);
enum store_rc user_find(struct db_conn *c, const char *id, struct user *u);
enum store_rc user_find_by_email(struct db_conn *c, const char *email, struct user *u);
/* Save names, email, password hash and times. STORE_CONFLICT if the email is taken. */
enum store_rc user_update(struct db_conn *c, const struct user *u);
/* Record that the user's address is verified now (kept if it already was). */
enum store_rc user_mark_verified(struct db_conn *c, const char *user_id);

/* The user's membership in org_id (STORE_NOT_FOUND when not a member). */
enum store_rc user_membership(struct db_conn *c, const char *user_id, const char *org_id,
			      struct membership *m);
/* The user's personal organization. */
enum store_rc user_personal_org(struct db_conn *c, const char *user_id, struct membership *m);

#endif
