#include "store/users.h"

#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"

#define USER_COLS                                                                                  \
	"id, email, first_name, last_name, company_name, password_hash, created_at, updated_at, "  \
	"password_changed_at, email_verified_at"

static void user_read(const struct db_res *r, struct user *u)
{
	store_copy(u->id, sizeof u->id, r, 0);
	store_copy(u->email, sizeof u->email, r, 1);
	store_copy(u->first_name, sizeof u->first_name, r, 2);
	store_copy(u->last_name, sizeof u->last_name, r, 3);
	store_copy(u->company_name, sizeof u->company_name, r, 4);
	store_copy(u->password_hash, sizeof u->password_hash, r, 5);
	u->created_at = db_int(r, 6);
	u->updated_at = db_int(r, 7);
	u->password_changed_at = db_int(r, 8);
	u->email_verified_at = db_is_null(r, 9) ? 0 : db_int(r, 9);
}

static int user_query_one(struct db_conn *c, const char *sql, const char *arg, struct user *u)
{
	int rc;
	struct db_res *r = db_query(c, sql, DB_PARAMS(DB_TEXT(arg)), &rc);
	if (!r)
		return rc;
	rc = db_next(r);
	if (rc == 1) {
		user_read(r, u);
		rc = DB_OK;
	} else if (rc == 0) {
		rc = STORE_NOT_FOUND;
	}
	db_res_free(r);
	return rc;
}

enum store_rc user_find(struct db_conn *c, const char *id, struct user *u)
{
	return store_rc_of(
	    user_query_one(c, "SELECT " USER_COLS " FROM users WHERE id = $1", id, u));
}

enum store_rc user_find_by_email(struct db_conn *c, const char *email, struct user *u)
{
	return store_rc_of(
	    user_query_one(c, "SELECT " USER_COLS " FROM users WHERE email = $1", email, u));
}

struct create_tx {
	const struct user *u;
	const struct membership *m;
	int64_t now;
};

static int create_tx(struct db_conn *c, void *arg)
{
	const struct create_tx *t = arg;
	const struct user *u = t->u;
	const struct membership *m = t->m;
	int rc = db_exec(
	    c,
	    "INSERT INTO users (id, email, password_hash, first_name, last_name, company_name,"
	    " created_at, updated_at, password_changed_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$7,$7)",
	    DB_PARAMS(DB_TEXT(u->id), DB_TEXT(u->email), DB_TEXT(u->password_hash),
		      DB_TEXT(u->first_name), DB_TEXT(u->last_name), DB_TEXT(u->company_name),
		      DB_INT(t->now)),
	    NULL);
	if (rc)
		return rc;
	rc = db_exec(
	    c,
	    "INSERT INTO organizations (id, name, personal, owner_id, created_at, updated_at)"
	    " VALUES ($1, $2, 1, $3, $4, $4)",
	    DB_PARAMS(DB_TEXT(m->org_id), DB_TEXT(m->org_name), DB_TEXT(u->id), DB_INT(t->now)),
	    NULL);
	if (rc)
		return rc;
	return db_exec(c,
		       "INSERT INTO memberships (org_id, user_id, role, created_at)"
		       " VALUES ($1, $2, 'owner', $3)",
		       DB_PARAMS(DB_TEXT(m->org_id), DB_TEXT(u->id), DB_INT(t->now)), NULL);
}

enum store_rc user_create(struct db_conn *c, struct user *u, const char *org_name,
			  struct membership *m)
{
	int64_t now = time_now_ms();
	uuid_v7(u->id);
	u->created_at = u->updated_at = u->password_changed_at = now;
	memset(m, 0, sizeof *m);
	uuid_v7(m->org_id);
	snprintf(m->org_name, sizeof m->org_name, "%s", org_name);
	strcpy(m->role, "owner");
	m->personal = 1;
	struct create_tx t = {.u = u, .m = m, .now = now};
	return store_tx(c, create_tx, &t);
}

enum store_rc user_update(struct db_conn *c, const struct user *u)
{
	int64_t changes = 0;
	int rc = db_exec(
	    c,
	    "UPDATE users SET email = $2, first_name = $3, last_name = $4, company_name = $5,"
	    " password_hash = $6, updated_at = $7, password_changed_at = $8,"
	    /* a new address is not verified (the old value on the right-hand side) */
	    " email_verified_at = CASE WHEN email = $2 THEN email_verified_at ELSE NULL END"
	    " WHERE id = $1",
	    DB_PARAMS(DB_TEXT(u->id), DB_TEXT(u->email), DB_TEXT(u->first_name),
		      DB_TEXT(u->last_name), DB_TEXT(u->company_name), DB_TEXT(u->password_hash),
		      DB_INT(u->updated_at), DB_INT(u->password_changed_at)),
	    &changes);
	if (rc)
		return store_rc_of(rc);
	return store_rc_of(changes ? DB_OK : STORE_NOT_FOUND);
}

enum store_rc user_mark_verified(struct db_conn *c, const char *user_id)
{
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $2)"
			 " WHERE id = $1",
			 DB_PARAMS(DB_TEXT(user_id), DB_INT(time_now_ms())), &changes);
	if (rc)
		return store_rc_of(rc);
	return changes ? STORE_OK : STORE_NOT_FOUND;
}

static int membership_query(struct db_conn *c, const char *sql, const char *a, const char *b,
			    struct membership *m)
{
	int rc;
	struct db_res *r = b ? db_query(c, sql, DB_PARAMS(DB_TEXT(a), DB_TEXT(b)), &rc)
			     : db_query(c, sql, DB_PARAMS(DB_TEXT(a)), &rc);
	if (!r)
		return rc;
	rc = db_next(r);
	if (rc == 1) {
		store_copy(m->org_id, sizeof m->org_id, r, 0);
		store_copy(m->org_name, sizeof m->org_name, r, 1);
		store_copy(m->role, sizeof m->role, r, 2);
		m->personal = (int)db_int(r, 3);
		rc = DB_OK;
	} else if (rc == 0) {
		rc = STORE_NOT_FOUND;
	}
	db_res_free(r);
	return rc;
}

enum store_rc user_membership(struct db_conn *c, const char *user_id, const char *org_id,
			      struct membership *m)
{
	return store_rc_of(membership_query(
	    c,
	    "SELECT o.id, o.name, m.role, o.personal FROM memberships m"
	    " JOIN organizations o ON o.id = m.org_id WHERE m.user_id = $1 AND m.org_id = $2",
	    user_id, org_id, m));
}

enum store_rc user_personal_org(struct db_conn *c, const char *user_id, struct membership *m)
{
	return store_rc_of(membership_query(
	    c,
	    "SELECT o.id, o.name, m.role, o.personal FROM memberships m"
	    " JOIN organizations o ON o.id = m.org_id"
	    " WHERE m.user_id = $1 AND o.personal = 1 ORDER BY o.created_at LIMIT 1",
	    user_id, NULL, m));
}
