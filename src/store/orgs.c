#include "store/orgs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

#define ORG_COLS                                                                                   \
	"o.id, o.name, o.personal, o.default_language, o.retention_days, o.created_at,"            \
	" o.updated_at, m.role,"                                                                   \
	" (SELECT count(*) FROM memberships mm WHERE mm.org_id = o.id)"

static void org_read(const struct db_res *r, struct org *o)
{
	store_copy(o->id, sizeof o->id, r, 0);
	store_copy(o->name, sizeof o->name, r, 1);
	o->personal = (int)db_int(r, 2);
	store_copy(o->default_language, sizeof o->default_language, r, 3);
	o->retention_days = db_is_null(r, 4) ? 0 : (int)db_int(r, 4);
	o->created_at = db_int(r, 5);
	o->updated_at = db_int(r, 6);
	store_copy(o->role, sizeof o->role, r, 7);
	o->members = db_int(r, 8);
}

struct create_tx {
	const char *user_id;
	const struct org *o;
};

static int create_tx(struct db_conn *c, void *arg)
{
	const struct create_tx *t = arg;
	const struct org *o = t->o;
	int rc = db_exec(c,
			 "INSERT INTO organizations (id, name, personal, owner_id, created_at,"
			 " updated_at, default_language, retention_days)"
			 " VALUES ($1, $2, 0, $3, $4, $4, $5, $6)",
			 DB_PARAMS(DB_TEXT(o->id), DB_TEXT(o->name), DB_TEXT(t->user_id),
				   DB_INT(o->created_at), DB_TEXT(o->default_language),
				   o->retention_days ? DB_INT(o->retention_days) : DB_NULL),
			 NULL);
	if (rc)
		return rc;
	return db_exec(c,
		       "INSERT INTO memberships (org_id, user_id, role, created_at)"
		       " VALUES ($1, $2, 'owner', $3)",
		       DB_PARAMS(DB_TEXT(o->id), DB_TEXT(t->user_id), DB_INT(o->created_at)), NULL);
}

enum store_rc org_create(struct db_conn *c, const char *user_id, struct org *o)
{
	uuid_v7(o->id);
	o->created_at = o->updated_at = time_now_ms();
	o->personal = 0;
	o->members = 1;
	snprintf(o->role, sizeof o->role, "owner");
	if (!o->default_language[0])
		snprintf(o->default_language, sizeof o->default_language, "en");
	struct create_tx t = {.user_id = user_id, .o = o};
	return store_tx(c, create_tx, &t);
}

static void org_row(const struct db_res *r, void *o)
{
	org_read(r, o);
}

enum store_rc org_list_for_user(struct db_conn *c, const char *user_id, int max, struct org **out,
				int *n)
{
	*out = NULL;
	*n = 0;
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT " ORG_COLS " FROM memberships m JOIN organizations o"
				    " ON o.id = m.org_id WHERE m.user_id = $1"
				    " ORDER BY o.personal DESC, o.created_at, o.id LIMIT $2",
				    DB_PARAMS(DB_TEXT(user_id), DB_INT(max)), &rc);
	void *list;
	size_t k;
	rc = store_rows(r, rc, max, sizeof **out, org_row, &list, &k);
	*out = list;
	*n = (int)k;
	return rc;
}

enum store_rc org_first_for_user(struct db_conn *c, const char *user_id, struct membership *m)
{
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT o.id, o.name, m.role, o.personal FROM memberships m"
				    " JOIN organizations o ON o.id = m.org_id WHERE m.user_id = $1"
				    " ORDER BY m.created_at, o.id LIMIT 1",
				    DB_PARAMS(DB_TEXT(user_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1) {
		store_copy(m->org_id, sizeof m->org_id, r, 0);
		store_copy(m->org_name, sizeof m->org_name, r, 1);
		store_copy(m->role, sizeof m->role, r, 2);
		m->personal = (int)db_int(r, 3);
	}
	db_res_free(r);
	return store_rc_of(rc == 1 ? DB_OK : rc == 0 ? STORE_NOT_FOUND : rc);
}

enum store_rc org_get(struct db_conn *c, const char *org_id, const char *user_id, struct org *o)
{
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT " ORG_COLS " FROM memberships m JOIN organizations o"
				    " ON o.id = m.org_id WHERE m.org_id = $1 AND m.user_id = $2",
				    DB_PARAMS(DB_TEXT(org_id), DB_TEXT(user_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		org_read(r, o);
	db_res_free(r);
	return store_rc_of(rc == 1 ? DB_OK : rc == 0 ? STORE_NOT_FOUND : rc);
}

enum store_rc org_update(struct db_conn *c, const struct org *o)
{
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE organizations SET name = $2, default_language = $3,"
			 " retention_days = $4, updated_at = $5 WHERE id = $1",
			 DB_PARAMS(DB_TEXT(o->id), DB_TEXT(o->name), DB_TEXT(o->default_language),
				   o->retention_days ? DB_INT(o->retention_days) : DB_NULL,
				   DB_INT(time_now_ms())),
			 &changes);
	if (rc)
		return store_rc_of(rc);
	return changes ? STORE_OK : STORE_NOT_FOUND;
}

void org_keys_free(char **keys, int n)
{
	if (!keys)
		return;
	for (int i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

struct delete_tx {
	const char *org_id;
	char **keys;
	int n, cap;
};

static int delete_tx(struct db_conn *c, void *arg)
{
	struct delete_tx *d = arg;
	/* A retried run starts afresh. */
	org_keys_free(d->keys, d->n);
	d->keys = NULL;
	d->n = d->cap = 0;
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT audio_key FROM meetings WHERE org_id = $1"
				    " AND audio_key IS NOT NULL AND audio_key <> ''",
				    DB_PARAMS(DB_TEXT(d->org_id)), &rc);
	if (!r)
		return rc;
	while ((rc = db_next(r)) == 1) {
		if (d->n == d->cap) {
			int cap = d->cap ? d->cap * 2 : 16;
			char **k = realloc(d->keys, (size_t)cap * sizeof *k);
			if (!k) {
				rc = STORE_ERROR;
				break;
			}
			d->keys = k;
			d->cap = cap;
		}
		char *key = strdup(db_text(r, 0));
		if (!key) {
			rc = STORE_ERROR;
			break;
		}
		d->keys[d->n++] = key;
	}
	db_res_free(r);
	if (rc < 0 || rc == STORE_ERROR)
		return rc;
	/* Rows without a foreign key to the organization go by hand; the rest cascade. */
	static const char *const SQL[] = {
	    "DELETE FROM jobs WHERE org_id = $1",
	    "DELETE FROM audit_events WHERE org_id = $1",
	};
	for (size_t i = 0; i < sizeof SQL / sizeof *SQL; i++)
		if ((rc = db_exec(c, SQL[i], DB_PARAMS(DB_TEXT(d->org_id)), NULL)))
			return rc;
	int64_t changes = 0;
	rc = db_exec(c, "DELETE FROM organizations WHERE id = $1", DB_PARAMS(DB_TEXT(d->org_id)),
		     &changes);
	if (rc)
		return rc;
	return changes ? DB_OK : STORE_NOT_FOUND;
}

enum store_rc org_delete(struct db_conn *c, const char *org_id, char ***keys, int *nkeys)
{
	struct delete_tx d = {.org_id = org_id};
	enum store_rc rc = store_tx(c, delete_tx, &d);
	if (rc) {
		org_keys_free(d.keys, d.n);
		*keys = NULL;
		*nkeys = 0;
		return rc;
	}
	*keys = d.keys;
	*nkeys = d.n;
	return STORE_OK;
}

enum store_rc org_retention_due(struct db_conn *c, int64_t now, int max, struct org_expired *out,
				int *n)
{
	*n = 0;
	int rc;
	struct db_res *r = db_query(
	    c,
	    "SELECT m.org_id, m.id FROM meetings m JOIN organizations o ON o.id = m.org_id"
	    " WHERE o.retention_days IS NOT NULL"
	    " AND m.created_at < CAST($1 AS BIGINT) - CAST(o.retention_days AS BIGINT) * 86400000"
	    " AND m.status NOT IN ('queued', 'processing') ORDER BY m.created_at LIMIT $2",
	    DB_PARAMS(DB_INT(now), DB_INT(max)), &rc);
	if (!r)
		return store_rc_of(rc);
	while (*n < max && (rc = db_next(r)) == 1) {
		store_copy(out[*n].org_id, sizeof out[*n].org_id, r, 0);
		store_copy(out[*n].id, sizeof out[*n].id, r, 1);
		(*n)++;
	}
	db_res_free(r);
	return rc < 0 ? store_rc_of(rc) : STORE_OK;
}

enum store_rc org_member_role(struct db_conn *c, const char *org_id, const char *user_id,
			      char role[16])
{
	int rc;
	role[0] = '\0';
	struct db_res *r =
	    db_query(c, "SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2",
		     DB_PARAMS(DB_TEXT(org_id), DB_TEXT(user_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		store_copy(role, 16, r, 0);
	db_res_free(r);
	return store_rc_of(rc == 1 ? DB_OK : rc == 0 ? STORE_NOT_FOUND : rc);
}

#define MEMBER_COLS                                                                                \
	"u.id, u.email, u.first_name, u.last_name, m.role, m.created_at FROM memberships m"        \
	" JOIN users u ON u.id = m.user_id"

static void member_read(const struct db_res *r, struct org_member *m)
{
	store_copy(m->user_id, sizeof m->user_id, r, 0);
	store_copy(m->email, sizeof m->email, r, 1);
	store_copy(m->first_name, sizeof m->first_name, r, 2);
	store_copy(m->last_name, sizeof m->last_name, r, 3);
	store_copy(m->role, sizeof m->role, r, 4);
	m->joined_at = db_int(r, 5);
}

enum store_rc org_member_get(struct db_conn *c, const char *org_id, const char *user_id,
			     struct org_member *m)
{
	int rc;
	struct db_res *r =
	    db_query(c, "SELECT " MEMBER_COLS " WHERE m.org_id = $1 AND m.user_id = $2",
		     DB_PARAMS(DB_TEXT(org_id), DB_TEXT(user_id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		member_read(r, m);
	db_res_free(r);
	return store_rc_of(rc == 1 ? DB_OK : rc == 0 ? STORE_NOT_FOUND : rc);
}

static void member_row(const struct db_res *r, void *m)
{
	member_read(r, m);
}

enum store_rc org_members_list(struct db_conn *c, const char *org_id, int max,
			       struct org_member **out, int *n)
{
	*out = NULL;
	*n = 0;
	int rc;
	struct db_res *r = db_query(
	    c, "SELECT " MEMBER_COLS " WHERE m.org_id = $1 ORDER BY m.created_at, u.id LIMIT $2",
	    DB_PARAMS(DB_TEXT(org_id), DB_INT(max)), &rc);
	void *list;
	size_t k;
	rc = store_rows(r, rc, max, sizeof **out, member_row, &list, &k);
	*out = list;
	*n = (int)k;
	return rc;
}

/*
 * Would taking user_id's owner role leave org_id without an owner? Reads the
 * member's role and the owners with the rows locked on PostgreSQL (FOR
 * UPDATE would not lock an aggregate; SQLite's BEGIN IMMEDIATE already
 * serialises writers), so two owners demoting each other at once cannot
 * both succeed.
 */
static int owner_check(struct db_conn *c, const char *org_id, const char *user_id, char role[16],
		       int64_t *owners)
{
	int rc;
	bool pg = db_conn_dialect(c) == DB_PG;
	struct db_res *r = db_query(c,
				    pg ? "SELECT user_id, role FROM memberships WHERE org_id = $1"
					 " AND (role = 'owner' OR user_id = $2) FOR UPDATE"
				       : "SELECT user_id, role FROM memberships WHERE org_id = $1"
					 " AND (role = 'owner' OR user_id = $2)",
				    DB_PARAMS(DB_TEXT(org_id), DB_TEXT(user_id)), &rc);
	if (!r)
		return rc;
	role[0] = '\0';
	*owners = 0;
	while ((rc = db_next(r)) == 1) {
		if (!strcmp(db_text(r, 1), "owner"))
			(*owners)++;
		if (!strcmp(db_text(r, 0), user_id))
			store_copy(role, 16, r, 1);
	}
	db_res_free(r);
	if (rc < 0)
		return rc;
	return role[0] ? DB_OK : STORE_NOT_FOUND;
}

struct role_tx {
	const char *org_id, *user_id, *role;
	bool remove;
};

static int role_tx(struct db_conn *c, void *arg)
{
	const struct role_tx *t = arg;
	char cur[16];
	int64_t owners = 0;
	int rc = owner_check(c, t->org_id, t->user_id, cur, &owners);
	if (rc)
		return rc;
	if (!strcmp(cur, "owner") && owners <= 1 && (t->remove || strcmp(t->role, "owner") != 0))
		return STORE_CONFLICT;
	if (!t->remove)
		return db_exec(
		    c, "UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2",
		    DB_PARAMS(DB_TEXT(t->org_id), DB_TEXT(t->user_id), DB_TEXT(t->role)), NULL);
	rc = db_exec(c, "DELETE FROM memberships WHERE org_id = $1 AND user_id = $2",
		     DB_PARAMS(DB_TEXT(t->org_id), DB_TEXT(t->user_id)), NULL);
	if (!rc)
		rc = db_exec(
		    c,
		    "UPDATE sessions SET revoked_at = $3, revoke_reason = 'removed'"
		    " WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL",
		    DB_PARAMS(DB_TEXT(t->org_id), DB_TEXT(t->user_id), DB_INT(time_now_ms())),
		    NULL);
	if (!rc)
		rc = db_exec(c, "DELETE FROM api_keys WHERE org_id = $1 AND user_id = $2",
			     DB_PARAMS(DB_TEXT(t->org_id), DB_TEXT(t->user_id)), NULL);
	return rc;
}

enum store_rc org_member_set_role(struct db_conn *c, const char *org_id, const char *user_id,
				  const char *role)
{
	struct role_tx t = {.org_id = org_id, .user_id = user_id, .role = role};
	return store_tx(c, role_tx, &t);
}

enum store_rc org_member_remove(struct db_conn *c, const char *org_id, const char *user_id)
{
	struct role_tx t = {.org_id = org_id, .user_id = user_id, .remove = true};
	return store_tx(c, role_tx, &t);
}

enum store_rc org_member_add(struct db_conn *c, const char *org_id, const char *user_id,
			     const char *role)
{
	int rc = db_exec(
	    c,
	    "INSERT INTO memberships (org_id, user_id, role, created_at)"
	    " VALUES ($1, $2, $3, $4)",
	    DB_PARAMS(DB_TEXT(org_id), DB_TEXT(user_id), DB_TEXT(role), DB_INT(time_now_ms())),
	    NULL);
	return store_rc_of(rc);
}
