#include "store/collections.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"

static const char *const COLL_ROLE_NAMES[] = {"none", "viewer", "editor", "owner"};

const char *coll_role_name(enum coll_role r)
{
	return r >= COLL_NONE && r <= COLL_OWNER ? COLL_ROLE_NAMES[r] : "none";
}

enum coll_role coll_role_parse(const char *s)
{
	if (!s)
		return COLL_NONE;
	for (int r = COLL_VIEWER; r <= COLL_OWNER; r++)
		if (!strcmp(s, COLL_ROLE_NAMES[r]))
			return (enum coll_role)r;
	return COLL_NONE;
}

/* SQL giving a grant's role as its number (enum coll_role). */
#define ROLE_NUM(col)                                                                              \
	"CASE " col " WHEN 'owner' THEN 3 WHEN 'editor' THEN 2 WHEN 'viewer' THEN 1 ELSE 0 END"

/*
 * Is grant g alive? A collection's creator holds an owner grant they gave
 * themselves (granted_by = user_id): it lasts only while they are a member
 * of the organization, so removing a member ends it with the membership.
 * Grants from an invitation last until they are taken away.
 */
#define GRANT_LIVE(g) COLLECTION_GRANT_LIVE(g)

#define COLL_COLS                                                                                  \
	"k.id, k.org_id, o.name, k.name, k.created_by, k.created_at, k.updated_at,"                \
	" (SELECT COUNT(*) FROM collection_meetings cm WHERE cm.collection_id = k.id)"             \
	" FROM collections k JOIN organizations o ON o.id = k.org_id"

static void coll_read(const struct db_res *r, struct collection *k)
{
	store_copy(k->id, sizeof k->id, r, 0);
	store_copy(k->org_id, sizeof k->org_id, r, 1);
	store_copy(k->org_name, sizeof k->org_name, r, 2);
	store_copy(k->name, sizeof k->name, r, 3);
	store_copy(k->created_by, sizeof k->created_by, r, 4);
	k->created_at = db_int(r, 5);
	k->updated_at = db_int(r, 6);
	k->meeting_count = db_int(r, 7);
}

struct create_tx {
	const char *org_id, *name, *user_id;
	char id[UUID_STR_LEN];
};

static int create_tx(struct db_conn *c, void *arg)
{
	struct create_tx *t = arg;
	int64_t now = time_now_ms();
	uuid_v7(t->id);
	int rc = db_exec(c,
			 "INSERT INTO collections (id, org_id, name, created_by, created_at,"
			 " updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
			 DB_PARAMS(DB_TEXT(t->id), DB_TEXT(t->org_id), DB_TEXT(t->name),
				   DB_TEXT(t->user_id), DB_INT(now)),
			 NULL);
	if (rc)
		return rc;
	return db_exec(
	    c,
	    "INSERT INTO collection_grants (collection_id, user_id, org_id, role,"
	    " granted_by, created_at) VALUES ($1, $2, $3, 'owner', $2, $4)",
	    DB_PARAMS(DB_TEXT(t->id), DB_TEXT(t->user_id), DB_TEXT(t->org_id), DB_INT(now)), NULL);
}

enum store_rc collection_create(struct db_conn *c, const char *org_id, const char *name,
				const char *user_id, struct collection *out)
{
	struct create_tx t = {.org_id = org_id, .name = name, .user_id = user_id};
	enum store_rc rc = store_tx(c, create_tx, &t);
	return rc ? rc : collection_get(c, t.id, out);
}

enum store_rc collection_get(struct db_conn *c, const char *id, struct collection *out)
{
	int rc;
	struct db_res *r =
	    db_query(c, "SELECT " COLL_COLS " WHERE k.id = $1", DB_PARAMS(DB_TEXT(id)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		coll_read(r, out);
	db_res_free(r);
	return rc == 1 ? STORE_OK : rc == 0 ? STORE_NOT_FOUND : store_rc_of(rc);
}

static enum store_rc changed(int rc, int64_t changes)
{
	if (rc)
		return store_rc_of(rc);
	return changes ? STORE_OK : STORE_NOT_FOUND;
}

enum store_rc collection_rename(struct db_conn *c, const char *org_id, const char *id,
				const char *name)
{
	int64_t n = 0;
	int rc = db_exec(
	    c,
	    "UPDATE collections SET name = $3, updated_at = $4 WHERE id = $1"
	    " AND org_id = $2",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(name), DB_INT(time_now_ms())), &n);
	return changed(rc, n);
}

enum store_rc collection_delete(struct db_conn *c, const char *org_id, const char *id)
{
	int64_t n = 0;
	int rc = db_exec(c, "DELETE FROM collections WHERE id = $1 AND org_id = $2",
			 DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id)), &n);
	return changed(rc, n);
}

enum store_rc collection_list(struct db_conn *c, const char *org_id, const char *user_id,
			      const char *before_id, int limit, struct collection **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (limit < 1)
		return STORE_OK;
	int rc;
	struct db_res *r = db_query(
	    c,
	    "SELECT " COLL_COLS " WHERE (k.org_id = $1 OR EXISTS (SELECT 1 FROM collection_grants g"
	    " WHERE g.collection_id = k.id AND g.user_id = $2 AND " GRANT_LIVE(
		"g") ")) AND ($3 = '' OR k.id < $3)"
		     " ORDER BY k.id DESC LIMIT $4",
	    DB_PARAMS(DB_TEXT(org_id ? org_id : ""), DB_TEXT(user_id ? user_id : ""),
		      DB_TEXT(before_id ? before_id : ""), DB_INT(limit)),
	    &rc);
	if (!r)
		return store_rc_of(rc);
	struct collection *list = calloc((size_t)limit, sizeof *list);
	if (!list) {
		db_res_free(r);
		return STORE_ERROR;
	}
	size_t k = 0;
	while (k < (size_t)limit && (rc = db_next(r)) == 1)
		coll_read(r, &list[k++]);
	db_res_free(r);
	if (rc < 0) {
		free(list);
		return store_rc_of(rc);
	}
	*out = list;
	*n = k;
	return STORE_OK;
}

enum store_rc collection_grant_of(struct db_conn *c, const char *collection_id, const char *user_id,
				  enum coll_role *out)
{
	*out = COLL_NONE;
	int rc;
	struct db_res *r = db_query(
	    c,
	    "SELECT g.role FROM collection_grants g WHERE g.collection_id = $1 AND g.user_id = $2"
	    " AND " GRANT_LIVE("g"),
	    DB_PARAMS(DB_TEXT(collection_id), DB_TEXT(user_id ? user_id : "")), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		*out = coll_role_parse(db_text(r, 0));
	db_res_free(r);
	return rc < 0 ? store_rc_of(rc) : STORE_OK;
}

enum store_rc collection_meeting_grant(struct db_conn *c, const char *meeting_id,
				       const char *user_id, char org_out[UUID_STR_LEN],
				       enum coll_role *best)
{
	*best = COLL_NONE;
	org_out[0] = 0;
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT m.org_id, (SELECT MAX(" ROLE_NUM(
			 "g.role") ") FROM collection_meetings cm"
				   " JOIN collection_grants g ON g.collection_id = cm.collection_id"
				   " WHERE cm.meeting_id = m.id AND g.user_id = $2 AND " GRANT_LIVE(
				       "g") ") FROM meetings "
					    "m WHERE m.id = $1",
		     DB_PARAMS(DB_TEXT(meeting_id), DB_TEXT(user_id ? user_id : "")), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1) {
		store_copy(org_out, UUID_STR_LEN, r, 0);
		int64_t g = db_is_null(r, 1) ? 0 : db_int(r, 1);
		*best = g >= COLL_VIEWER && g <= COLL_OWNER ? (enum coll_role)g : COLL_NONE;
	}
	db_res_free(r);
	return rc == 1 ? STORE_OK : rc == 0 ? STORE_NOT_FOUND : store_rc_of(rc);
}

enum store_rc collection_add_meeting(struct db_conn *c, const char *org_id,
				     const char *collection_id, const char *meeting_id,
				     const char *by)
{
	int rc = db_exec(c,
			 "INSERT INTO collection_meetings (collection_id, meeting_id, org_id,"
			 " added_by, added_at) VALUES ($1, $2, $3, $4, $5)"
			 " ON CONFLICT (collection_id, meeting_id) DO NOTHING",
			 DB_PARAMS(DB_TEXT(collection_id), DB_TEXT(meeting_id), DB_TEXT(org_id),
				   DB_TEXT(by), DB_INT(time_now_ms())),
			 NULL);
	return store_rc_of(rc);
}

enum store_rc collection_remove_meeting(struct db_conn *c, const char *collection_id,
					const char *meeting_id)
{
	int64_t n = 0;
	int rc = db_exec(
	    c, "DELETE FROM collection_meetings WHERE collection_id = $1 AND meeting_id = $2",
	    DB_PARAMS(DB_TEXT(collection_id), DB_TEXT(meeting_id)), &n);
	return changed(rc, n);
}

enum store_rc collection_meeting_ids(struct db_conn *c, const char *collection_id,
				     const char *before_id, int limit, char (*ids)[UUID_STR_LEN],
				     size_t *n)
{
	*n = 0;
	int rc;
	struct db_res *r = db_query(
	    c,
	    "SELECT meeting_id FROM collection_meetings WHERE"
	    " collection_id = $1 AND ($2 = '' OR meeting_id < $2)"
	    " ORDER BY meeting_id DESC LIMIT $3",
	    DB_PARAMS(DB_TEXT(collection_id), DB_TEXT(before_id ? before_id : ""), DB_INT(limit)),
	    &rc);
	if (!r)
		return store_rc_of(rc);
	while (*n < (size_t)limit && (rc = db_next(r)) == 1)
		store_copy(ids[(*n)++], UUID_STR_LEN, r, 0);
	db_res_free(r);
	return rc < 0 ? store_rc_of(rc) : STORE_OK;
}

static void member_row(const struct db_res *r, void *elem)
{
	struct collection_member *m = elem;
	store_copy(m->user_id, sizeof m->user_id, r, 0);
	store_copy(m->email, sizeof m->email, r, 1);
	m->role = coll_role_parse(db_text(r, 2));
	m->created_at = db_int(r, 3);
}

enum store_rc collection_members(struct db_conn *c, const char *collection_id, int max,
				 struct collection_member **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT g.user_id, u.email, g.role, g.created_at"
		     " FROM collection_grants g JOIN users u ON u.id = g.user_id"
		     " WHERE " GRANT_LIVE("g") " AND g.collection_id = $1 ORDER BY " ROLE_NUM(
			 "g.role") " DESC, u.email LIMIT $2",
		     DB_PARAMS(DB_TEXT(collection_id), DB_INT(max)), &rc);
	void *list;
	rc = store_rows(r, rc, max, sizeof **out, member_row, &list, n);
	*out = list;
	return rc;
}

enum store_rc collection_member_remove(struct db_conn *c, const char *collection_id,
				       const char *user_id)
{
	int64_t n = 0;
	int rc =
	    db_exec(c, "DELETE FROM collection_grants WHERE collection_id = $1 AND user_id = $2",
		    DB_PARAMS(DB_TEXT(collection_id), DB_TEXT(user_id)), &n);
	return changed(rc, n);
}

static int grant_set(struct db_conn *c, const char *org_id, const char *collection_id,
		     const char *user_id, enum coll_role role, const char *by)
{
	return db_exec(c,
		       "INSERT INTO collection_grants (collection_id, user_id, org_id, role,"
		       " granted_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
		       " ON CONFLICT (collection_id, user_id) DO UPDATE SET role = excluded.role",
		       DB_PARAMS(DB_TEXT(collection_id), DB_TEXT(user_id), DB_TEXT(org_id),
				 DB_TEXT(coll_role_name(role)), DB_TEXT(by), DB_INT(time_now_ms())),
		       NULL);
}

enum store_rc collection_grant_set(struct db_conn *c, const char *org_id, const char *collection_id,
				   const char *user_id, enum coll_role role, const char *by)
{
	return store_rc_of(grant_set(c, org_id, collection_id, user_id, role, by));
}

/* ---- invitations ---- */

enum coll_invite_state coll_invite_state(const struct coll_invitation *inv, int64_t now)
{
	if (inv->accepted_at)
		return CINV_ACCEPTED;
	if (inv->revoked_at)
		return CINV_REVOKED;
	if (inv->expires_at <= now)
		return CINV_EXPIRED;
	return CINV_PENDING;
}

#define CINV_COLS                                                                                  \
	"i.id, i.collection_id, k.name, i.org_id, i.email, i.role, u.email, i.created_at,"         \
	" i.expires_at, i.accepted_at, i.revoked_at, j.state FROM collection_invitations i"        \
	" JOIN collections k ON k.id = i.collection_id LEFT JOIN users u ON u.id = i.invited_by"   \
	" LEFT JOIN jobs j ON j.id = i.mail_job_id"

static void cinv_read(const struct db_res *r, struct coll_invitation *inv)
{
	store_copy(inv->id, sizeof inv->id, r, 0);
	store_copy(inv->collection_id, sizeof inv->collection_id, r, 1);
	store_copy(inv->collection_name, sizeof inv->collection_name, r, 2);
	store_copy(inv->org_id, sizeof inv->org_id, r, 3);
	store_copy(inv->email, sizeof inv->email, r, 4);
	inv->role = coll_role_parse(db_text(r, 5));
	store_copy(inv->inviter_email, sizeof inv->inviter_email, r, 6);
	inv->created_at = db_int(r, 7);
	inv->expires_at = db_int(r, 8);
	inv->accepted_at = db_is_null(r, 9) ? 0 : db_int(r, 9);
	inv->revoked_at = db_is_null(r, 10) ? 0 : db_int(r, 10);
	store_copy(inv->mail_job_state, sizeof inv->mail_job_state, r, 11);
}

static enum store_rc cinv_one(struct db_conn *c, const char *where, const char *a,
			      struct coll_invitation *inv)
{
	char sql[1024];
	snprintf(sql, sizeof sql, "SELECT " CINV_COLS " WHERE %s", where);
	int rc;
	struct db_res *r = db_query(c, sql, DB_PARAMS(DB_TEXT(a)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		cinv_read(r, inv);
	db_res_free(r);
	return rc == 1 ? STORE_OK : rc == 0 ? STORE_NOT_FOUND : store_rc_of(rc);
}

struct cinv_tx {
	const struct collection *coll;
	const char *email, *by;
	enum coll_role role;
	char *token;
	char id[UUID_STR_LEN];
};

static int cinv_create_tx(struct db_conn *c, void *arg)
{
	struct cinv_tx *t = arg;
	int64_t now = time_now_ms();
	int rc =
	    db_exec(c,
		    "UPDATE collection_invitations SET revoked_at = $3 WHERE collection_id = $1"
		    " AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
		    DB_PARAMS(DB_TEXT(t->coll->id), DB_TEXT(t->email), DB_INT(now)), NULL);
	if (rc)
		return rc;
	char hash[65];
	memcpy(t->token, "cin_", 4);
	if (crypto_token(t->token + 4, COLL_TOKEN_BUF - 4, 32) < 0)
		return STORE_ERROR;
	crypto_sha256_hex(t->token, strlen(t->token), hash);
	uuid_v7(t->id);
	return db_exec(c,
		       "INSERT INTO collection_invitations (id, collection_id, org_id, email, role,"
		       " token_hash, invited_by, created_at, expires_at)"
		       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		       DB_PARAMS(DB_TEXT(t->id), DB_TEXT(t->coll->id), DB_TEXT(t->coll->org_id),
				 DB_TEXT(t->email), DB_TEXT(coll_role_name(t->role)), DB_TEXT(hash),
				 DB_TEXT(t->by), DB_INT(now), DB_INT(now + COLL_INVITE_TTL_MS)),
		       NULL);
}

enum store_rc coll_invite_create(struct db_conn *c, const struct collection *coll,
				 const char *email, enum coll_role role, const char *by,
				 struct coll_invitation *inv, char token[COLL_TOKEN_BUF])
{
	struct cinv_tx t = {.coll = coll, .email = email, .by = by, .role = role, .token = token};
	enum store_rc rc = store_tx(c, cinv_create_tx, &t);
	return rc ? rc : cinv_one(c, "i.id = $1", t.id, inv);
}

/* Rows of a query over CINV_COLS into a malloc'd list of at most max. */
static void cinv_row(const struct db_res *r, void *inv)
{
	cinv_read(r, inv);
}

static enum store_rc cinv_list(struct db_res *r, int rc, int max, struct coll_invitation **out,
			       size_t *n)
{
	void *list;
	rc = store_rows(r, rc, max, sizeof **out, cinv_row, &list, n);
	*out = list;
	return rc;
}

enum store_rc coll_invite_list(struct db_conn *c, const char *collection_id, int max,
			       struct coll_invitation **out, size_t *n)
{
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT " CINV_COLS " WHERE i.collection_id = $1 AND i.accepted_at IS NULL"
		     " AND i.revoked_at IS NULL AND i.expires_at > $2 ORDER BY i.id DESC LIMIT $3",
		     DB_PARAMS(DB_TEXT(collection_id), DB_INT(time_now_ms()), DB_INT(max)), &rc);
	return cinv_list(r, rc, max, out, n);
}

enum store_rc coll_invite_list_for_email(struct db_conn *c, const char *email, int max,
					 struct coll_invitation **out, size_t *n)
{
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT " CINV_COLS " WHERE i.email = $1 AND i.accepted_at IS NULL"
		     " AND i.revoked_at IS NULL AND i.expires_at > $2"
		     " ORDER BY i.id DESC LIMIT $3",
		     DB_PARAMS(DB_TEXT(email), DB_INT(time_now_ms()), DB_INT(max)), &rc);
	return cinv_list(r, rc, max, out, n);
}

enum store_rc coll_invite_find_by_id(struct db_conn *c, const char *id, struct coll_invitation *inv)
{
	return cinv_one(c, "i.id = $1", id, inv);
}

enum store_rc coll_invite_set_mail_job(struct db_conn *c, const char *id, const char *job_id)
{
	return store_rc_of(
	    db_exec(c, "UPDATE collection_invitations SET mail_job_id = $2 WHERE id = $1",
		    DB_PARAMS(DB_TEXT(id), DB_TEXT(job_id)), NULL));
}

enum store_rc coll_invite_revoke(struct db_conn *c, const char *collection_id, const char *id)
{
	int64_t n = 0;
	int rc =
	    db_exec(c,
		    "UPDATE collection_invitations SET revoked_at = $3 WHERE collection_id = $1"
		    " AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
		    DB_PARAMS(DB_TEXT(collection_id), DB_TEXT(id), DB_INT(time_now_ms())), &n);
	return changed(rc, n);
}

enum store_rc coll_invite_find(struct db_conn *c, const char *token, struct coll_invitation *inv)
{
	char hash[65];
	crypto_sha256_hex(token, strlen(token), hash);
	return cinv_one(c, "i.token_hash = $1", hash, inv);
}

struct accept_tx {
	const char *id, *user_id;
};

static int cinv_accept_tx(struct db_conn *c, void *arg)
{
	const struct accept_tx *t = arg;
	int64_t now = time_now_ms(), n = 0;
	int rc = db_exec(c,
			 "UPDATE collection_invitations SET accepted_at = $3, accepted_by = $2"
			 " WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL"
			 " AND expires_at > $3",
			 DB_PARAMS(DB_TEXT(t->id), DB_TEXT(t->user_id), DB_INT(now)), &n);
	if (rc)
		return rc;
	if (!n)
		return STORE_STALE;
	/* The invitation's role, unless the user holds a higher one already. */
	return db_exec(c,
		       "INSERT INTO collection_grants (collection_id, user_id, org_id, role,"
		       " granted_by, created_at) SELECT collection_id, $2, org_id, role,"
		       " invited_by, $3 FROM collection_invitations WHERE id = $1"
		       " ON CONFLICT (collection_id, user_id) DO UPDATE SET role = CASE WHEN"
		       " (" ROLE_NUM("excluded.role") ") > (" ROLE_NUM(
			   "collection_grants.role") ") THEN excluded.role ELSE"
						     " collection_grants.role END",
		       DB_PARAMS(DB_TEXT(t->id), DB_TEXT(t->user_id), DB_INT(now)), NULL);
}

enum store_rc coll_invite_accept(struct db_conn *c, const char *id, const char *user_id)
{
	struct accept_tx t = {.id = id, .user_id = user_id};
	return store_tx(c, cinv_accept_tx, &t);
}
