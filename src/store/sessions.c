#include "store/sessions.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"

/* A sealed successor token (crypto_seal of at most REFRESH_TOKEN_BUF bytes). */
#define SEALED_BUF CRYPTO_SEALED_LEN(REFRESH_TOKEN_BUF)

static void token_new(char token[REFRESH_TOKEN_BUF], char hash[65])
{
	memcpy(token, "rt_", 3);
	crypto_token(token + 3, REFRESH_TOKEN_BUF - 3, 32);
	crypto_sha256_hex(token, strlen(token), hash);
}

static int token_insert(struct db_conn *c, const char *sid, const char *hash, int64_t now)
{
	char id[UUID_STR_LEN];
	uuid_v7(id);
	return db_exec(
	    c,
	    "INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at)"
	    " VALUES ($1, $2, $3, $4, $5)",
	    DB_PARAMS(DB_TEXT(id), DB_TEXT(sid), DB_TEXT(hash), DB_INT(now),
		      DB_INT(now + REFRESH_TTL_MS)),
	    NULL);
}

struct start_tx {
	const struct session *s;
	const char *ip, *ua, *hash;
	int64_t now;
};

static int start_tx(struct db_conn *c, void *arg)
{
	const struct start_tx *t = arg;
	int rc = db_exec(
	    c,
	    "INSERT INTO sessions (id, user_id, org_id, created_at, expires_at, ip, user_agent)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7)",
	    DB_PARAMS(DB_TEXT(t->s->id), DB_TEXT(t->s->user_id), DB_TEXT(t->s->org_id),
		      DB_INT(t->now), DB_INT(t->now + SESSION_TTL_MS), DB_TEXT(t->ip),
		      DB_TEXT(t->ua)),
	    NULL);
	if (rc)
		return rc;
	return token_insert(c, t->s->id, t->hash, t->now);
}

enum store_rc session_start(struct db_conn *c, const char *user_id, const char *org_id,
			    const char *ip, const char *user_agent, struct session *s,
			    char refresh[REFRESH_TOKEN_BUF])
{
	int64_t now = time_now_ms();
	char hash[65];
	uuid_v7(s->id);
	snprintf(s->user_id, sizeof s->user_id, "%s", user_id);
	snprintf(s->org_id, sizeof s->org_id, "%s", org_id);
	token_new(refresh, hash);
	char ua[256];
	snprintf(ua, sizeof ua, "%s", user_agent ? user_agent : "");
	struct start_tx t = {.s = s, .ip = ip ? ip : "", .ua = ua, .hash = hash, .now = now};
	return store_tx(c, start_tx, &t);
}

/* The key a successor is sealed with: derived from the rotated token, which only its holder has. */
static void successor_key(const char *refresh, unsigned char key[32])
{
	static const char LABEL[] = "iam-refresh-successor-v1";
	crypto_hmac_sha256(LABEL, sizeof LABEL - 1, refresh, strlen(refresh), key);
}

/* Re-read a token that another rotation used: when, and its sealed successor. */
static int token_reread(struct db_conn *c, const char *token_id, int64_t *used_at, char *successor,
			size_t cap)
{
	int rc;
	struct db_res *r =
	    db_query(c, "SELECT used_at, successor FROM refresh_tokens WHERE id = $1",
		     DB_PARAMS(DB_TEXT(token_id)), &rc);
	if (!r)
		return rc;
	rc = db_next(r);
	if (rc == 1) {
		*used_at = db_is_null(r, 0) ? 0 : db_int(r, 0);
		store_copy(successor, cap, r, 1);
	}
	db_res_free(r);
	return rc < 0 ? rc : rc == 1 ? DB_OK : STORE_NOT_FOUND;
}

struct rotate_tx {
	const char *hash;
	const unsigned char *key;
	int64_t now, grace_ms;
	struct session *s;
	char *next;
	enum store_rc outcome; /* STORE_OK (rotated) or STORE_TOKEN_REUSED, when committed */
};

static int rotate_tx(struct db_conn *c, void *arg)
{
	struct rotate_tx *t = arg;
	struct session *s = t->s;
	char next_hash[65], sealed[SEALED_BUF] = "";
	int rc;
	t->outcome = STORE_OK;
	struct db_res *r =
	    db_query(c,
		     "SELECT t.id, t.used_at, t.expires_at, s.id, s.user_id, s.org_id,"
		     " s.revoked_at, s.expires_at, t.successor FROM refresh_tokens t"
		     " JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1",
		     DB_PARAMS(DB_TEXT(t->hash)), &rc);
	if (!r)
		return rc;
	rc = db_next(r);
	if (rc <= 0) {
		db_res_free(r);
		return rc < 0 ? rc : STORE_NOT_FOUND;
	}
	char token_id[UUID_STR_LEN];
	store_copy(token_id, sizeof token_id, r, 0);
	int64_t used_at = db_is_null(r, 1) ? 0 : db_int(r, 1);
	bool expired = db_int(r, 2) <= t->now || db_int(r, 7) <= t->now;
	bool revoked = !db_is_null(r, 6);
	store_copy(s->id, sizeof s->id, r, 3);
	store_copy(s->user_id, sizeof s->user_id, r, 4);
	store_copy(s->org_id, sizeof s->org_id, r, 5);
	store_copy(sealed, sizeof sealed, r, 8);
	db_res_free(r);
	if (revoked || expired)
		return STORE_NOT_FOUND;
	if (!used_at) {
		/*
		 * The successor is sealed into the used token's row, so a refresh
		 * racing this one (two tabs, a retried request) can be handed the
		 * same successor instead of looking like a stolen token.
		 */
		int64_t changes = 0;
		token_new(t->next, next_hash);
		if (crypto_seal(t->key, t->next, strlen(t->next), sealed, sizeof sealed) < 0)
			return STORE_ERROR;
		/* The used_at guard makes two racing refreshes with one token see each other. */
		rc = db_exec(c,
			     "UPDATE refresh_tokens SET used_at = $2, successor = $3"
			     " WHERE id = $1 AND used_at IS NULL",
			     DB_PARAMS(DB_TEXT(token_id), DB_INT(t->now), DB_TEXT(sealed)),
			     &changes);
		if (rc)
			return rc;
		if (changes)
			return token_insert(c, s->id, next_hash, t->now);
		/* Another rotation won (PostgreSQL: it has committed by now); see what it left. */
		explicit_bzero(t->next, REFRESH_TOKEN_BUF);
		sealed[0] = '\0';
		rc = token_reread(c, token_id, &used_at, sealed, sizeof sealed);
		if (rc)
			return rc == STORE_NOT_FOUND ? STORE_ERROR : rc;
	}
	/* Used before: inside the grace window, the same successor again. */
	if (used_at && t->now - used_at <= t->grace_ms && sealed[0]) {
		long n = crypto_open(t->key, sealed, t->next, REFRESH_TOKEN_BUF - 1);
		if (n > 0) {
			t->next[n] = '\0';
			return STORE_OK; /* nothing written: the commit ends a read */
		}
	}
	/* Used, and not a near-simultaneous retry: someone else holds this token. */
	t->outcome = STORE_TOKEN_REUSED;
	return db_exec(c,
		       "UPDATE sessions SET revoked_at = $2, revoke_reason = 'refresh_token_reuse'"
		       " WHERE id = $1 AND revoked_at IS NULL",
		       DB_PARAMS(DB_TEXT(s->id), DB_INT(t->now)), NULL);
}

enum store_rc session_rotate(struct db_conn *c, const char *refresh, int64_t grace_ms,
			     struct session *s, char next[REFRESH_TOKEN_BUF])
{
	char hash[65];
	unsigned char key[32];
	crypto_sha256_hex(refresh, strlen(refresh), hash);
	successor_key(refresh, key);
	struct rotate_tx t = {.hash = hash,
			      .key = key,
			      .now = time_now_ms(),
			      .grace_ms = grace_ms,
			      .s = s,
			      .next = next};
	enum store_rc rc = store_tx(c, rotate_tx, &t);
	explicit_bzero(key, sizeof key);
	return rc == STORE_OK ? t.outcome : rc;
}

enum store_rc session_check(struct db_conn *c, const char *sid, const char *user_id)
{
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2"
		     " AND revoked_at IS NULL AND expires_at > $3",
		     DB_PARAMS(DB_TEXT(sid), DB_TEXT(user_id), DB_INT(time_now_ms())), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	db_res_free(r);
	return store_rc_of(rc == 1 ? DB_OK : rc == 0 ? STORE_NOT_FOUND : rc);
}

enum store_rc session_check_member(struct db_conn *c, const char *sid, const char *user_id,
				   const char *org_id)
{
	char role[16];
	return session_check_member_role(c, sid, user_id, org_id, role);
}

enum store_rc session_check_member_role(struct db_conn *c, const char *sid, const char *user_id,
					const char *org_id, char role[16])
{
	int rc;
	role[0] = '\0';
	struct db_res *r = db_query(
	    c,
	    "SELECT m.role FROM sessions s JOIN memberships m"
	    " ON m.org_id = s.org_id AND m.user_id = s.user_id"
	    " WHERE s.id = $1 AND s.user_id = $2 AND s.org_id = $3"
	    " AND s.revoked_at IS NULL AND s.expires_at > $4",
	    DB_PARAMS(DB_TEXT(sid), DB_TEXT(user_id), DB_TEXT(org_id), DB_INT(time_now_ms())), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1)
		store_copy(role, 16, r, 0);
	db_res_free(r);
	return store_rc_of(rc == 1 ? DB_OK : rc == 0 ? STORE_NOT_FOUND : rc);
}

enum store_rc session_revoke_org(struct db_conn *c, const char *user_id, const char *org_id,
				 const char *reason)
{
	return store_rc_of(db_exec(
	    c,
	    "UPDATE sessions SET revoked_at = $3, revoke_reason = $4"
	    " WHERE user_id = $1 AND org_id = $2 AND revoked_at IS NULL",
	    DB_PARAMS(DB_TEXT(user_id), DB_TEXT(org_id), DB_INT(time_now_ms()), DB_TEXT(reason)),
	    NULL));
}

enum store_rc session_revoke(struct db_conn *c, const char *sid, const char *reason)
{
	return store_rc_of(db_exec(c,
				   "UPDATE sessions SET revoked_at = $2, revoke_reason = $3"
				   " WHERE id = $1 AND revoked_at IS NULL",
				   DB_PARAMS(DB_TEXT(sid), DB_INT(time_now_ms()), DB_TEXT(reason)),
				   NULL));
}

enum store_rc session_revoke_by_refresh(struct db_conn *c, const char *refresh, const char *reason,
					struct session *s)
{
	int64_t now = time_now_ms();
	char hash[65];
	crypto_sha256_hex(refresh, strlen(refresh), hash);
	int rc;
	struct db_res *r =
	    db_query(c,
		     "SELECT s.id, s.user_id, s.org_id FROM refresh_tokens t"
		     " JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = $1"
		     " AND t.expires_at > $2 AND s.expires_at > $2 AND s.revoked_at IS NULL",
		     DB_PARAMS(DB_TEXT(hash), DB_INT(now)), &rc);
	if (!r)
		return store_rc_of(rc);
	rc = db_next(r);
	if (rc == 1) {
		store_copy(s->id, sizeof s->id, r, 0);
		store_copy(s->user_id, sizeof s->user_id, r, 1);
		store_copy(s->org_id, sizeof s->org_id, r, 2);
	}
	db_res_free(r);
	if (rc < 0)
		return store_rc_of(rc);
	if (rc == 0)
		return STORE_NOT_FOUND;
	int64_t changes = 0;
	rc = db_exec(c,
		     "UPDATE sessions SET revoked_at = $2, revoke_reason = $3"
		     " WHERE id = $1 AND revoked_at IS NULL",
		     DB_PARAMS(DB_TEXT(s->id), DB_INT(now), DB_TEXT(reason)), &changes);
	if (rc)
		return store_rc_of(rc);
	return store_rc_of(changes ? DB_OK : STORE_NOT_FOUND); /* a racing logout won */
}

enum store_rc session_revoke_others(struct db_conn *c, const char *user_id, const char *keep_sid,
				    const char *reason)
{
	return store_rc_of(db_exec(c,
				   "UPDATE sessions SET revoked_at = $3, revoke_reason = $4"
				   " WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL",
				   DB_PARAMS(DB_TEXT(user_id), DB_TEXT(keep_sid ? keep_sid : ""),
					     DB_INT(time_now_ms()), DB_TEXT(reason)),
				   NULL));
}
