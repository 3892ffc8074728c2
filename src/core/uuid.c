#include "core/uuid.h"

#include <pthread.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"

#define UUID_TS_MASK	 ((UINT64_C(1) << 48) - 1)
#define UUID_COUNTER_MAX 0xfffu

/*
 * The last (timestamp, counter) handed out. Every id takes the next pair
 * after this one under the lock, so ids from one process are strictly
 * increasing whatever the threads and the wall clock do.
 */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_last_ms;
static unsigned g_counter;

static int64_t (*g_clock)(void) = time_now_ms;

static const char HEX[] = "0123456789abcdef";

void uuid_set_clock(int64_t (*now_ms)(void))
{
	g_clock = now_ms ? now_ms : time_now_ms;
}

static void uuid_next(uint64_t *ms_out, unsigned *counter_out)
{
	uint64_t now = (uint64_t)g_clock() & UUID_TS_MASK;
	uint16_t seed;

	/*
	 * A fresh millisecond starts the counter at a random value below 2048:
	 * ids do not reveal how many were made in that millisecond, and at
	 * least 2048 more fit before the counter runs out.
	 */
	crypto_random(&seed, sizeof seed);
	pthread_mutex_lock(&g_lock);
	if (now > g_last_ms) {
		g_last_ms = now;
		g_counter = seed & 0x7ffu;
	} else if (g_counter < UUID_COUNTER_MAX) {
		/* Same millisecond, or the clock went back: keep counting. */
		g_counter++;
	} else {
		/*
		 * Counter exhausted: borrow the next millisecond. The clock catches
		 * up with us later; until then the branch above keeps counting.
		 */
		g_last_ms = (g_last_ms + 1) & UUID_TS_MASK;
		g_counter = seed & 0x7ffu;
	}
	*ms_out = g_last_ms;
	*counter_out = g_counter;
	pthread_mutex_unlock(&g_lock);
}

void uuid_v7(char out[UUID_STR_LEN])
{
	unsigned char b[16];
	uint64_t ms;
	unsigned counter;
	int pos = 0;

	uuid_next(&ms, &counter);
	/* Random bits are drawn outside the lock: they never decide the order. */
	crypto_random(b + 8, 8);
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70u | (counter >> 8));
	b[7] = (unsigned char)(counter & 0xffu);
	b[8] = (unsigned char)(0x80u | (b[8] & 0x3fu)); /* variant 10 */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[pos++] = '-';
		out[pos++] = HEX[b[i] >> 4];
		out[pos++] = HEX[b[i] & 0xf];
	}
	out[pos] = '\0';
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool uuid_valid(const char *s)
{
	if (!s)
		return false;
	/* Stops at a NUL before position 36, so a short string is never over-read. */
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : hex_val(s[i]) < 0)
			return false;
	}
	return s[36] == '\0';
}

int64_t uuid_v7_time(const char *s)
{
	int64_t ms = 0;

	if (!uuid_valid(s) || s[14] != '7' || !strchr("89abAB", s[19]))
		return -1;
	/* The 48-bit timestamp is the first 12 hex digits (8, dash, 4). */
	for (int i = 0; i < 13; i++) {
		if (i == 8)
			continue;
		ms = ms * 16 + hex_val(s[i]);
	}
	return ms;
}
