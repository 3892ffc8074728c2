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

#define API_KEY_BUF 64
#define API_KEY_PREFIX_LEN 12
#define API_KEY_NAME_BUF 404

struct api_key {
	char id[UUID_STR_LEN];
	char org_id[UUID_STR_LEN];
	char user_id[UUID_STR_LEN];
	char name[API_KEY_NAME_BUF];
	char prefix[API_KEY_PREFIX_LEN + 1];
	int64_t created_at;
	int64_t last_used_at; /* 0 = never */
};

/* Create a key; fills k and the secret key text (shown once). */
int api_key_create(struct db_conn *c, const char *org_id, const char *user_id, const char *name,
		   struct api_key *k, char key[API_KEY_BUF]);

/*
 * Newest first, at most limit keys with id < before_id (NULL = from the
 * newest). *out is malloc'd (caller frees with free()), *n its length.
 */
int api_key_list(struct db_conn *c, const char *org_id, const char *before_id, int limit,
		 struct api_key **out, size_t *n);

/* Delete org's key id. STORE_NOT_FOUND if it is not there (or not org's). */
int api_key_delete(struct db_conn *c, const char *org_id, const char *id);

/*
 * Find the key by its text and mark it used (last_used_at is written at
 * most once a minute, so a busy key does not write on every request).
 */
int api_key_authenticate(struct db_conn *c, const char *key, struct api_key *k);

#endif
