#include "auth/password.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

_Static_assert(PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES, "hash buffer too small");

/* Set once at start-up, read by every request thread. */
static _Atomic unsigned long long g_opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
static _Atomic size_t g_memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;

/* The hash password_burn verifies against; empty if making it failed. */
static pthread_once_t g_burn_once = PTHREAD_ONCE_INIT;
static char g_burn_hash[PASSWORD_HASH_MAX];

void password_set_cost(unsigned long long opslimit, size_t memlimit)
{
	g_opslimit = opslimit;
	g_memlimit = memlimit;
}

/* Length of pw if it is an acceptable input (not NULL, not over the limit), else -1. */
static long password_len(const char *pw)
{
	size_t n;

	if (!pw)
		return -1;
	n = strnlen(pw, PASSWORD_MAX_LEN + 1);
	return n > PASSWORD_MAX_LEN ? -1 : (long)n;
}

/* True if hash is NUL-terminated within the size libsodium reads. */
static bool password_hash_ok(const char *hash)
{
	return hash && strnlen(hash, crypto_pwhash_STRBYTES) < crypto_pwhash_STRBYTES;
}

int password_hash(const char *pw, char out[PASSWORD_HASH_MAX])
{
	long len = password_len(pw);

	if (len < 0 || !out)
		return -1;
	if (crypto_pwhash_str_alg(out, pw, (unsigned long long)len, g_opslimit, g_memlimit,
				  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

bool password_verify(const char *pw, const char *hash)
{
	long len = password_len(pw);

	if (len < 0 || !password_hash_ok(hash))
		return false;
	/* libsodium recomputes the hash and compares the results in constant time. */
	return crypto_pwhash_str_verify(hash, pw, (unsigned long long)len) == 0;
}

bool password_needs_rehash(const char *hash)
{
	/*
	 * The argon2id-specific call: the generic one would accept an argon2i
	 * hash with the right parameters as current. libsodium reports any
	 * difference from the current cost (higher or lower) or an unreadable
	 * hash; all of them mean "hash again with what we use now".
	 */
	if (!password_hash_ok(hash))
		return true;
	return crypto_pwhash_argon2id_str_needs_rehash(hash, g_opslimit, g_memlimit) != 0;
}

static void password_burn_init(void)
{
	/* Any password will do: the result of the burn is thrown away. */
	if (password_hash("iam-burn-password-not-a-secret", g_burn_hash) != 0)
		g_burn_hash[0] = '\0';
}

void password_burn(const char *pw)
{
	long len = password_len(pw);
	char tmp[PASSWORD_HASH_MAX];

	/*
	 * Mirror password_verify exactly: it refuses a NULL or too-long password
	 * at once, so doing the same here keeps "no such user" and "wrong
	 * password" indistinguishable for those inputs too.
	 */
	if (len < 0)
		return;
	pthread_once(&g_burn_once, password_burn_init);
	if (g_burn_hash[0]) {
		/* The answer is meaningless; only the time spent matters. */
		int ignored = crypto_pwhash_str_verify(g_burn_hash, pw, (unsigned long long)len);
		(void)ignored;
		return;
	}
	/* Could not make the burn hash (out of memory): hashing costs about the same. */
	(void)password_hash(pw, tmp);
	sodium_memzero(tmp, sizeof tmp);
}

/* ---- the hashing gate ---- */

static pthread_mutex_t g_gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_gate_free = PTHREAD_COND_INITIALIZER;
static int g_gate_slots = 4, g_gate_wait_ms = 2000, g_gate_busy = 0, g_gate_waiting = 0;

void password_gate_set(int slots, int wait_ms)
{
	pthread_mutex_lock(&g_gate_lock);
	g_gate_slots = slots < 1 ? 1 : slots;
	g_gate_wait_ms = wait_ms < 0 ? 0 : wait_ms;
	pthread_cond_broadcast(&g_gate_free);
	pthread_mutex_unlock(&g_gate_lock);
}

int password_gate_enter(void)
{
	int rc = 0;
	pthread_mutex_lock(&g_gate_lock);
	if (g_gate_busy >= g_gate_slots) {
		if (g_gate_waiting >= 2 * g_gate_slots || g_gate_wait_ms == 0) {
			rc = -1;
			goto out;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += g_gate_wait_ms / 1000;
		until.tv_nsec += (long)(g_gate_wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		g_gate_waiting++;
		while (g_gate_busy >= g_gate_slots && rc == 0)
			if (pthread_cond_timedwait(&g_gate_free, &g_gate_lock, &until) != 0 &&
			    g_gate_busy >= g_gate_slots)
				rc = -1;
		g_gate_waiting--;
		if (rc)
			goto out;
	}
	g_gate_busy++;
out:
	pthread_mutex_unlock(&g_gate_lock);
	return rc;
}

void password_gate_leave(void)
{
	pthread_mutex_lock(&g_gate_lock);
	if (g_gate_busy > 0)
		g_gate_busy--;
	pthread_cond_signal(&g_gate_free);
	pthread_mutex_unlock(&g_gate_lock);
}
