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
#define PASSWORD_MIN_LEN  10
#define PASSWORD_MAX_LEN  1024 /* bound the work an attacker can ask for */

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

/*
 * The hashing gate: at most `slots` password hashes or verifies run at once
 * (each takes tens of milliseconds of CPU and 64 MiB), so a login or
 * registration flood cannot take every core and thread from the rest of the
 * API. A caller waits at most wait_ms for a slot, and at most 2 * slots
 * callers wait at all; the rest are told at once. Default: 4 slots, 2000 ms.
 */
void password_gate_set(int slots, int wait_ms);
/* Take a slot: 0, or -1 when none came free in time (reply 503 + Retry-After). */
int password_gate_enter(void);
/* Give the slot back (only after a successful password_gate_enter). */
void password_gate_leave(void);

#endif
