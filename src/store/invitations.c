#include "store/invitations.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"

enum invitation_state invitation_state(const struct invitation *inv, int64_t now)
{
	if (inv->accepted_at)
		return INVITE_ACCEPTED;
	if (inv->revoked_at)
		return INVITE_REVOKED;
	if (inv->expires_at <= now)
		return INVITE_EXPIRED;
	return INVITE_PENDING;
}

static void token_new(char token[INVITE_TOKEN_BUF], char hash[65])
{
	memcpy(token, "inv_", 4);
	crypto_token(token + 4, INVITE_TOKEN_BUF - 4, 32);
	crypto_sha256_hex(token, strlen(token), hash);
}

#define INV_COLS                                                                                   \
	"i.id, i.org_id, o.name, i.email, i.role, i.invited_by, u.email, i.created_at,"            \
	" i.expires_at, i.accepted_at, i.revoked_at, j.state FROM invitations i"                   \
	" JOIN organizations o ON o.id = i.org_id LEFT JOIN users u ON u.id = i.invited_by"        \
	" LEFT JOIN jobs j ON j.id = i.mail_job_id"

static void inv_read(const struct db_res *r, struct invitation *inv)
{
	store_copy(inv->id, sizeof inv->id, r, 0);
	store_copy(inv->org_id, sizeof inv->org_id, r, 1);
	store_copy(inv->org_name, sizeof inv->org_name, r, 2);
	store_copy(inv->email, sizeof inv->email, r, 3);
	store_copy(inv->role, sizeof inv->role, r, 4);
	store_copy(inv->invited_by, sizeof inv->invited_by, r, 5);
	store_copy(inv->inviter_email, sizeof inv->inviter_email, r, 6);
	inv->created_at = db_int(r, 7);
	inv->expires_at = db_int(r, 8);
	inv->accepted_at = db_is_null(r, 9) ? 0 : db_int(r, 9);
	inv->revoked_at = db_is_null(r, 10) ? 0 : db_int(r, 10);
	store_copy(inv->mail_job_state, sizeof inv->mail_job_state, r, 11);
}

static int inv_one(struct db_conn *c, const char *where, const char *a, const char *b,
		   struct invitation *inv)
{
	char sql[1024];
	snprintf(sql, sizeof sql, "SELECT " INV_COLS " WHERE %s", where);
	int rc;
	struct db_res *r = b ? db_query(c, sql, DB_PARAMS(DB_TEXT(a), DB_TEXT(b)), &rc)
			     : db_query(c, sql, DB_PARAMS(DB_TEXT(a)), &rc);
	if (!r)
		return rc;
	rc = db_next(r);
	if (rc == 1)
		inv_read(r, inv);
	db_res_free(r);
	return rc == 1 ? DB_OK : rc == 0 ? STORE_NOT_FOUND : rc;
}

/* Insert a pending invitation; the caller's transaction. */
static int inv_insert(struct db_conn *c, const char *org_id, const char *email, const char *role,
		      const char *by, char token[INVITE_TOKEN_BUF], char id[UUID_STR_LEN])
{
	char hash[65];
	token_new(token, hash);
	uuid_v7(id);
	int64_t now = time_now_ms();
	return db_exec(c,
		       "INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by,"
		       " created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		       DB_PARAMS(DB_TEXT(id), DB_TEXT(org_id), DB_TEXT(email), DB_TEXT(role),
				 DB_TEXT(hash), DB_TEXT(by && by[0] ? by : NULL), DB_INT(now),
				 DB_INT(now + INVITE_TTL_MS)),
		       NULL);
}

struct create_tx {
	const char *org_id, *email, *role, *by;
	char *token;
	char id[UUID_STR_LEN];
};

static int create_tx(struct db_conn *c, void *arg)
{
	struct create_tx *t = arg;
	int rc;
	struct db_res *r = db_query(c,
				    "SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id"
				    " WHERE m.org_id = $1 AND u.email = $2",
				    DB_PARAMS(DB_TEXT(t->org_id), DB_TEXT(t->email)), &rc);
	if (!r)
		return rc;
	rc = db_next(r);
	db_res_free(r);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return STORE_CONFLICT;
	int64_t now = time_now_ms();
	rc = db_exec(c,
		     "UPDATE invitations SET revoked_at = $3 WHERE org_id = $1 AND email = $2"
		     " AND accepted_at IS NULL AND revoked_at IS NULL",
		     DB_PARAMS(DB_TEXT(t->org_id), DB_TEXT(t->email), DB_INT(now)), NULL);
	if (rc)
		return rc;
	return inv_insert(c, t->org_id, t->email, t->role, t->by, t->token, t->id);
}

enum store_rc invitation_create(struct db_conn *c, const char *org_id, const char *email,
				const char *role, const char *invited_by, struct invitation *inv,
				char token[INVITE_TOKEN_BUF])
{
	struct create_tx t = {
	    .org_id = org_id, .email = email, .role = role, .by = invited_by, .token = token};
	enum store_rc rc = store_tx(c, create_tx, &t);
	if (rc)
		return rc;
	return invitation_get(c, org_id, t.id, inv);
}

/* Rows of a query over INV_COLS into a malloc'd list of at most max. */
static void inv_row(const struct db_res *r, void *inv)
{
	inv_read(r, inv);
}

static enum store_rc inv_list(struct db_res *r, int rc, int max, struct invitation **out, int *n)
{
	void *list;
	size_t k;
	rc = store_rows(r, rc, max, sizeof **out, inv_row, &list, &k);
	*out = list;
	*n = (int)k;
	return rc;
}

enum store_rc invitation_list_pending(struct db_conn *c, const char *org_id, const char *before,
				      int max, struct invitation **out, int *n)
{
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT " INV_COLS " WHERE i.org_id = $1 AND i.accepted_at IS NULL"
		     " AND i.revoked_at IS NULL AND i.expires_at > $2 AND ($4 = '' OR i.id < $4)"
		     " ORDER BY i.id DESC LIMIT $3",
		     DB_PARAMS(DB_TEXT(org_id), DB_INT(time_now_ms()), DB_INT(max),
			       DB_TEXT(before ? before : "")),
		     &rc);
	return inv_list(r, rc, max, out, n);
}

enum store_rc invitation_list_for_email(struct db_conn *c, const char *email, int max,
					struct invitation **out, int *n)
{
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT " INV_COLS " WHERE i.email = $1 AND i.accepted_at IS NULL"
		     " AND i.revoked_at IS NULL AND i.expires_at > $2"
		     " ORDER BY i.id DESC LIMIT $3",
		     DB_PARAMS(DB_TEXT(email), DB_INT(time_now_ms()), DB_INT(max)), &rc);
	return inv_list(r, rc, max, out, n);
}

enum store_rc invitation_find_by_id(struct db_conn *c, const char *id, struct invitation *inv)
{
	return store_rc_of(inv_one(c, "i.id = $1", id, NULL, inv));
}

enum store_rc invitation_set_mail_job(struct db_conn *c, const char *id, const char *job_id)
{
	return store_rc_of(db_exec(c, "UPDATE invitations SET mail_job_id = $2 WHERE id = $1",
				   DB_PARAMS(DB_TEXT(id), DB_TEXT(job_id)), NULL));
}

enum store_rc invitation_get(struct db_conn *c, const char *org_id, const char *id,
			     struct invitation *inv)
{
	return store_rc_of(inv_one(c, "i.org_id = $1 AND i.id = $2", org_id, id, inv));
}

enum store_rc invitation_find_by_token(struct db_conn *c, const char *token, struct invitation *inv)
{
	char hash[65];
	crypto_sha256_hex(token, strlen(token), hash);
	return store_rc_of(inv_one(c, "i.token_hash = $1", hash, NULL, inv));
}

struct resend_tx {
	const char *org_id, *id, *by;
	char *token;
	char new_id[UUID_STR_LEN];
};

static int resend_tx(struct db_conn *c, void *arg)
{
	struct resend_tx *t = arg;
	struct invitation old;
	int rc = inv_one(c, "i.org_id = $1 AND i.id = $2", t->org_id, t->id, &old);
	if (rc)
		return rc;
	if (old.accepted_at || old.revoked_at)
		return STORE_NOT_FOUND;
	rc = db_exec(c, "UPDATE invitations SET revoked_at = $2 WHERE id = $1",
		     DB_PARAMS(DB_TEXT(t->id), DB_INT(time_now_ms())), NULL);
	if (rc)
		return rc;
	return inv_insert(c, t->org_id, old.email, old.role, t->by, t->token, t->new_id);
}

enum store_rc invitation_resend(struct db_conn *c, const char *org_id, const char *id,
				const char *by, struct invitation *inv,
				char token[INVITE_TOKEN_BUF])
{
	struct resend_tx t = {.org_id = org_id, .id = id, .by = by, .token = token};
	enum store_rc rc = store_tx(c, resend_tx, &t);
	if (rc)
		return rc;
	return invitation_get(c, org_id, t.new_id, inv);
}

enum store_rc invitation_revoke(struct db_conn *c, const char *org_id, const char *id)
{
	int64_t changes = 0;
	int rc = db_exec(c,
			 "UPDATE invitations SET revoked_at = $3 WHERE org_id = $1 AND id = $2"
			 " AND accepted_at IS NULL AND revoked_at IS NULL",
			 DB_PARAMS(DB_TEXT(org_id), DB_TEXT(id), DB_INT(time_now_ms())), &changes);
	if (rc)
		return store_rc_of(rc);
	return changes ? STORE_OK : STORE_NOT_FOUND;
}

struct accept_tx {
	const char *id, *user_id;
};

static int accept_tx(struct db_conn *c, void *arg)
{
	const struct accept_tx *t = arg;
	int64_t now = time_now_ms(), changes = 0;
	int rc = db_exec(c,
			 "UPDATE invitations SET accepted_at = $3, accepted_by = $2 WHERE id = $1"
			 " AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
			 DB_PARAMS(DB_TEXT(t->id), DB_TEXT(t->user_id), DB_INT(now)), &changes);
	if (rc)
		return rc;
	if (!changes)
		return STORE_STALE;
	return db_exec(c,
		       "INSERT INTO memberships (org_id, user_id, role, created_at)"
		       " SELECT org_id, $2, role, $3 FROM invitations WHERE id = $1",
		       DB_PARAMS(DB_TEXT(t->id), DB_TEXT(t->user_id), DB_INT(now)), NULL);
}

enum store_rc invitation_accept(struct db_conn *c, const char *id, const char *user_id)
{
	struct accept_tx t = {.id = id, .user_id = user_id};
	return store_tx(c, accept_tx, &t);
}
