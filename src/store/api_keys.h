/*
 * api_keys.h — organization API keys. A key is "iam_" + 32 random bytes
 * (base64url); it is returned once at creation and only its SHA-256 is
 * kept (high-entropy keys need no slow hash). prefix (the first
 * API_KEY_PREFIX_LEN characters) is kept so people can tell keys apart.
 */
#ifndef IAM_API_KEYS_H
#define IAM_API_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"

#define API_KEY_BUF	   64
#define API_KEY_PREFIX_LEN 12
#define API_KEY_NAME_BUF   404

/*
 * What a key may do. read: GET; write: other mutations; transcribe: audio
 * uploads and /v1/audio/transcriptions; admin: API key management. Stored
 * as a comma-separated list ("read,write").
 */
enum api_scope {
	API_SCOPE_READ = 1 << 0,
	API_SCOPE_WRITE = 1 << 1,
	API_SCOPE_TRANSCRIBE = 1 << 2,
	API_SCOPE_ADMIN = 1 << 3,
};
#define API_SCOPES_ALL (API_SCOPE_READ | API_SCOPE_WRITE | API_SCOPE_TRANSCRIBE | API_SCOPE_ADMIN)
/* What a key gets when its creator names no scopes (and what older keys were given). */
#define API_SCOPES_DEFAULT  (API_SCOPE_READ | API_SCOPE_WRITE | API_SCOPE_TRANSCRIBE)
#define API_SCOPES_TEXT_BUF 32

/* The name of one scope bit ("read"), or NULL. */
const char *api_scope_name(unsigned bit);
/* The bit for a name, or 0 when it is not a scope. */
unsigned api_scope_parse(const char *name);
/* "read,write" for a mask into out[API_SCOPES_TEXT_BUF]. */
void api_scopes_format(unsigned scopes, char out[API_SCOPES_TEXT_BUF]);

/* STORE_NOT_FOUND's sibling: the key exists but its expires_at has passed. */

struct api_key {
	char id[UUID_STR_LEN];
	char org_id[UUID_STR_LEN];
	char user_id[UUID_STR_LEN];
	char name[API_KEY_NAME_BUF];
	char prefix[API_KEY_PREFIX_LEN + 1];
	int64_t created_at;
	int64_t last_used_at; /* 0 = never */
	unsigned scopes;      /* enum api_scope bits */
	int64_t expires_at;   /* 0 = never */
};

/*
 * Create a key with scopes (enum api_scope bits) and expires_at (Unix ms, 0
 * = never); fills k and the secret key text (shown once).
 */
enum store_rc api_key_create(struct db_conn *c, const char *org_id, const char *user_id,
			     const char *name, unsigned scopes, int64_t expires_at,
			     struct api_key *k, char key[API_KEY_BUF]);

/* STORE_OK if key id of org_id exists and has not expired, else STORE_NOT_FOUND. */
enum store_rc api_key_live(struct db_conn *c, const char *org_id, const char *id);

/* How many keys user_id made that still work (not expired), in every organization. */
enum store_rc api_key_count_active(struct db_conn *c, const char *user_id, int64_t *count);
/* Delete every key user_id made; *deleted (may be NULL) gets how many. */
enum store_rc api_key_delete_by_user(struct db_conn *c, const char *user_id, int64_t *deleted);

/*
 * Newest first, at most limit keys with id < before_id (NULL = from the
 * newest). *out is malloc'd (caller frees with free()), *n its length.
 */
enum store_rc api_key_list(struct db_conn *c, const char *org_id, const char *before_id, int limit,
			   struct api_key **out, size_t *n);

/* Delete org's key id. STORE_NOT_FOUND if it is not there (or not org's). */
enum store_rc api_key_delete(struct db_conn *c, const char *org_id, const char *id);

/*
 * Find the key by its text and mark it used. STORE_NOT_FOUND when unknown,
 * STORE_KEY_EXPIRED (k filled) when past its expires_at (last_used_at is written at
 * most once a minute, so a busy key does not write on every request).
 */
enum store_rc api_key_authenticate(struct db_conn *c, const char *key, struct api_key *k);

#endif
