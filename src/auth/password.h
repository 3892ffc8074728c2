/*
 * password.h — argon2id password hashing (libsodium crypto_pwhash_str).
 * Hashes are self-describing strings ("$argon2id$v=19$m=...,t=...,p=1$...")
 * so the cost can be raised later and old hashes still verify.
 */
#ifndef IAM_PASSWORD_H
#define IAM_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_HASH_MAX 128 /* >= crypto_pwhash_STRBYTES */
#define PASSWORD_MIN_LEN 10
#define PASSWORD_MAX_LEN 1024 /* bound the work an attacker can ask for */

/*
 * Set the cost once at start-up: ops limit and memory in bytes. Defaults to
 * libsodium's INTERACTIVE limits. Tests may lower them.
 */
void password_set_cost(unsigned long long opslimit, size_t memlimit);

/* Hash pw into out (NUL-terminated). Returns 0, -1 on failure (out of memory). */
int password_hash(const char *pw, char out[PASSWORD_HASH_MAX]);

/* True if pw matches hash. Runs in time independent of where they differ. */
bool password_verify(const char *pw, const char *hash);

/* True if hash was made with weaker parameters than the current cost. */
bool password_needs_rehash(const char *hash);

/*
 * A dummy verify to spend the same time as a real one, so "no such user"
 * and "wrong password" take the same time.
 */
void password_burn(const char *pw);

#endif
