/*
 * test_uploads.c — the store side of uploads: tus writer locks
 * (store/uploads.c: server-made owners, leases, takeover from a dead
 * process) and attaching audio (store/meetings.c: refused while the
 * meeting is being transcribed, compare-and-set on the previous key, a
 * transcript stored only for the audio it was made from).
 *
 * SQLite always; PostgreSQL too when IAM_TEST_PG_URL is set (see
 * test_idempotency.c).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/meetings.h"
#include "store/uploads.h"

#include "db_fixture.h"

#define FAR (time_now_ms() + 3600 * 1000)

static void new_upload(struct fx *fx, struct upload *u, char meeting_id[UUID_STR_LEN])
{
	struct meeting m;
	meeting_init(&m);
	snprintf(m.org_id, sizeof m.org_id, "%s", fx->org);
	snprintf(m.title, sizeof m.title, "t");
	assert_int_equal(meeting_create(fx->c, &m), STORE_OK);
	memset(u, 0, sizeof *u);
	snprintf(u->org_id, sizeof u->org_id, "%s", fx->org);
	snprintf(u->meeting_id, sizeof u->meeting_id, "%s", m.id);
	u->length = 1000;
	u->expires_at = FAR;
	assert_int_equal(upload_create(fx->c, u), STORE_OK);
	if (meeting_id)
		snprintf(meeting_id, UUID_STR_LEN, "%s", m.id);
}

static int64_t offset_of(struct fx *fx, const char *id)
{
	struct upload u;
	assert_int_equal(upload_get(fx->c, fx->org, id, &u), STORE_OK);
	return u.offset;
}

/* An owner id of this machine whose process is gone. */
static void dead_owner(char out[UPLOAD_OWNER_MAX])
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	char self[UPLOAD_OWNER_MAX + 32];
	upload_owner_new(self);
	/* "host/boot/pid/start/rand": keep host and boot, name the child. */
	char *p = strchr(self, '/');
	p = strchr(p + 1, '/');
	*p = '\0';
	int n = snprintf(out, UPLOAD_OWNER_MAX, "%.100s/%ld/12345/00", self, (long)pid);
	assert_true(n > 0 && n < UPLOAD_OWNER_MAX);
}

static void test_owner_ids(void **state)
{
	(void)state;
	char a[UPLOAD_OWNER_MAX], b[UPLOAD_OWNER_MAX], dead[UPLOAD_OWNER_MAX];
	upload_owner_new(a);
	upload_owner_new(b);
	assert_string_not_equal(a, b);	    /* fresh each time, never from the request */
	assert_false(upload_owner_dead(a)); /* this process runs */
	dead_owner(dead);
	assert_true(upload_owner_dead(dead));
	/* Another machine (or boot): unknown, so only its lease can end it. */
	assert_false(upload_owner_dead("other-host/00000000-0000-0000-0000-000000000000/1/1/ab"));
	assert_false(upload_owner_dead("X-Request-Id-from-a-client"));
	assert_false(upload_owner_dead(""));
	assert_false(upload_owner_dead(NULL));
	/* Our own pid with another start time: a predecessor that had our pid. */
	char reused[UPLOAD_OWNER_MAX];
	snprintf(reused, sizeof reused, "%s", a);
	char *p = strchr(reused, '/');
	p = strchr(p + 1, '/');
	p = strchr(p + 1, '/');
	snprintf(p + 1, sizeof reused - (size_t)(p + 1 - reused), "1/ab");
	assert_true(upload_owner_dead(reused));
}

static void test_lock_one_writer(void **state)
{
	FX(state);
	struct upload u;
	new_upload(fx, &u, NULL);
	char a[UPLOAD_OWNER_MAX], b[UPLOAD_OWNER_MAX];
	upload_owner_new(a);
	upload_owner_new(b);
	assert_int_equal(upload_lock(fx->c, fx->org, u.id, a, FAR), STORE_OK);
	assert_int_equal(upload_lock(fx->c, fx->org, u.id, b, FAR), STORE_UPLOAD_BUSY);
	assert_int_equal(upload_lock(fx->c, fx->org2, u.id, b, FAR), STORE_NOT_FOUND);
	assert_int_equal(upload_renew(fx->c, u.id, a, FAR), STORE_OK);
	assert_int_equal(upload_renew(fx->c, u.id, b, FAR), STORE_UPLOAD_LOST);
	assert_int_equal(upload_advance(fx->c, u.id, b, 500, FAR), STORE_UPLOAD_LOST);
	assert_int_equal(offset_of(fx, u.id), 0);
	assert_int_equal(upload_advance(fx->c, u.id, a, 100, FAR), STORE_OK);
	assert_int_equal(offset_of(fx, u.id), 100);
	/* advance released it */
	assert_int_equal(upload_lock(fx->c, fx->org, u.id, b, FAR), STORE_OK);
}

static void test_lease_expiry_and_loss(void **state)
{
	FX(state);
	struct upload u;
	new_upload(fx, &u, NULL);
	char a[UPLOAD_OWNER_MAX], b[UPLOAD_OWNER_MAX];
	upload_owner_new(a);
	upload_owner_new(b);
	/* A lease that already ran out (its writer stalled): another writer takes over. */
	assert_int_equal(upload_lock(fx->c, fx->org, u.id, a, time_now_ms() - 1), STORE_OK);
	assert_int_equal(upload_lock(fx->c, fx->org, u.id, b, FAR), STORE_OK);
	/* The first writer learns it lost the lock and can record nothing. */
	assert_int_equal(upload_renew(fx->c, u.id, a, FAR), STORE_UPLOAD_LOST);
	assert_int_equal(upload_advance(fx->c, u.id, a, 900, FAR), STORE_UPLOAD_LOST);
	assert_int_equal(upload_unlock(fx->c, u.id, a), STORE_OK);
	assert_int_equal(upload_renew(fx->c, u.id, b, FAR),
			 STORE_OK); /* unlock by a did not free b's lock */
	assert_int_equal(offset_of(fx, u.id), 0);
	/* A stalled writer whose expired lock nobody took may renew it. */
	assert_int_equal(upload_advance(fx->c, u.id, b, 10, FAR), STORE_OK);
	assert_int_equal(upload_lock(fx->c, fx->org, u.id, a, time_now_ms() - 1), STORE_OK);
	assert_int_equal(upload_renew(fx->c, u.id, a, FAR), STORE_OK);
	/* Nothing is written to a terminated upload. */
	assert_int_equal(upload_terminate(fx->c, fx->org, u.id), STORE_OK);
	assert_int_equal(upload_renew(fx->c, u.id, a, FAR), STORE_UPLOAD_LOST);
	assert_int_equal(upload_advance(fx->c, u.id, a, 20, FAR), STORE_UPLOAD_LOST);
}

static void test_dead_holder_taken_over_at_once(void **state)
{
	FX(state);
	struct upload u;
	new_upload(fx, &u, NULL);
	char dead[UPLOAD_OWNER_MAX], b[UPLOAD_OWNER_MAX];
	dead_owner(dead);
	upload_owner_new(b);
	/* The holder was killed with an hour of lease left. */
	assert_int_equal(upload_lock(fx->c, fx->org, u.id, dead, FAR), STORE_OK);
	assert_int_equal(upload_lock(fx->c, fx->org, u.id, b, FAR), STORE_OK);
	assert_int_equal(upload_renew(fx->c, u.id, dead, FAR), STORE_UPLOAD_LOST);
	/* A live holder on another machine is not: its lease decides. */
	struct upload u2;
	new_upload(fx, &u2, NULL);
	assert_int_equal(upload_lock(fx->c, fx->org, u2.id, "elsewhere/boot/1/1/ab", FAR),
			 STORE_OK);
	assert_int_equal(upload_lock(fx->c, fx->org, u2.id, b, FAR), STORE_UPLOAD_BUSY);
	bool active = false;
	assert_int_equal(upload_is_active(fx->c, u2.id, &active), STORE_OK);
	assert_true(active);
	assert_int_equal(upload_is_active(fx->c, "0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e10", &active),
			 STORE_OK);
	assert_false(active);
}

/* ---- attaching audio ---- */

static void set_key(struct meeting *m, const char *key)
{
	snprintf(m->audio_key, sizeof m->audio_key, "%s", key);
	snprintf(m->audio_format, sizeof m->audio_format, "wav");
	m->file_size = 10;
	m->duration = 1;
}

static void test_audio_refused_while_busy(void **state)
{
	FX(state);
	struct upload u;
	char mid[UUID_STR_LEN], old[96];
	new_upload(fx, &u, mid);
	struct meeting m;
	assert_int_equal(meeting_get(fx->c, fx->org, mid, &m), STORE_OK);
	set_key(&m, "audio/aa/bb/k1");
	assert_int_equal(meeting_set_audio(fx->c, &m, old), STORE_OK);
	assert_string_equal(old, "");
	for (int i = 0; i < 2; i++) {
		const char *busy = i ? "processing" : "queued";
		assert_int_equal(meeting_set_status(fx->c, fx->org, mid, busy, NULL), STORE_OK);
		set_key(&m, "audio/aa/bb/k2");
		assert_int_equal(meeting_set_audio(fx->c, &m, old), STORE_MEETING_BUSY);
		assert_string_equal(old, "");
		struct meeting now;
		assert_int_equal(meeting_get(fx->c, fx->org, mid, &now), STORE_OK);
		assert_string_equal(now.audio_key, "audio/aa/bb/k1");
		assert_string_equal(now.status, busy);
		meeting_clear(&now);
	}
	assert_int_equal(meeting_set_status(fx->c, fx->org, mid, "completed", NULL), STORE_OK);
	assert_int_equal(meeting_set_audio(fx->c, &m, old), STORE_OK);
	assert_string_equal(old, "audio/aa/bb/k1");
	/* Another organization's meeting is not found. */
	snprintf(m.org_id, sizeof m.org_id, "%s", fx->org2);
	assert_int_equal(meeting_set_audio(fx->c, &m, old), STORE_NOT_FOUND);
	meeting_clear(&m);
}

static void test_transcript_only_for_its_audio(void **state)
{
	FX(state);
	struct upload u;
	char mid[UUID_STR_LEN], old[96];
	new_upload(fx, &u, mid);
	struct meeting m;
	assert_int_equal(meeting_get(fx->c, fx->org, mid, &m), STORE_OK);
	set_key(&m, "audio/aa/bb/first");
	assert_int_equal(meeting_set_audio(fx->c, &m, old), STORE_OK);
	/* The job read "first"; meanwhile the audio became "second". */
	set_key(&m, "audio/aa/bb/second");
	assert_int_equal(meeting_set_audio(fx->c, &m, old), STORE_OK);
	assert_int_equal(meeting_complete_audio(fx->c, fx->org, mid, "audio/aa/bb/first", "en",
						"old words", "{}", "sphinx", "m", 0.5, 1.0, "[]"),
			 STORE_NOT_FOUND);
	struct meeting_transcript t;
	assert_int_equal(meeting_transcript_get(fx->c, fx->org, mid, &t), STORE_NOT_FOUND);
	struct meeting now;
	assert_int_equal(meeting_get(fx->c, fx->org, mid, &now), STORE_OK);
	assert_string_equal(now.status, "uploaded");
	meeting_clear(&now);
	assert_int_equal(meeting_complete_audio(fx->c, fx->org, mid, "audio/aa/bb/second", "en",
						"new words", "{}", "sphinx", "m", 0.5, 1.0, "[]"),
			 STORE_OK);
	assert_int_equal(meeting_get(fx->c, fx->org, mid, &now), STORE_OK);
	assert_string_equal(now.status, "completed");
	meeting_clear(&now);
	assert_int_equal(meeting_transcript_get(fx->c, fx->org, mid, &t), STORE_OK);
	meeting_transcript_clear(&t);
	meeting_clear(&m);
}

enum { SWAPPERS = 4, SWAPS = 5 };
struct swapper {
	struct db *db;
	const char *org, *mid;
	int index;
	char olds[SWAPS][96];
	char keys[SWAPS][96];
	int rc;
};

static void *swap_main(void *arg)
{
	struct swapper *s = arg;
	struct db_conn *c = db_acquire_system(s->db, 5000);
	s->rc = c ? STORE_OK : STORE_UNAVAILABLE;
	for (int i = 0; c && i < SWAPS && s->rc == STORE_OK; i++) {
		struct meeting m;
		meeting_init(&m);
		snprintf(m.id, sizeof m.id, "%s", s->mid);
		snprintf(m.org_id, sizeof m.org_id, "%s", s->org);
		snprintf(s->keys[i], sizeof s->keys[i], "audio/aa/bb/t%d-%d", s->index, i);
		set_key(&m, s->keys[i]);
		s->rc = meeting_set_audio(c, &m, s->olds[i]);
	}
	db_release(c);
	return NULL;
}

/* Concurrent uploads: each replaced key is reported to exactly one uploader (nothing orphaned). */
static void test_concurrent_swaps_orphan_nothing(void **state)
{
	FX(state);
	struct upload u;
	char mid[UUID_STR_LEN];
	new_upload(fx, &u, mid);
	struct swapper s[SWAPPERS];
	pthread_t th[SWAPPERS];
	for (int i = 0; i < SWAPPERS; i++) {
		memset(&s[i], 0, sizeof s[i]);
		s[i].db = fx->db;
		s[i].org = fx->org;
		s[i].mid = mid;
		s[i].index = i;
		assert_int_equal(pthread_create(&th[i], NULL, swap_main, &s[i]), 0);
	}
	for (int i = 0; i < SWAPPERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(s[i].rc, STORE_OK);
	}
	struct meeting now;
	assert_int_equal(meeting_get(fx->c, fx->org, mid, &now), STORE_OK);
	/* Every key but the final one was replaced exactly once; "" (no audio) once. */
	int empty = 0;
	for (int i = 0; i < SWAPPERS; i++) {
		for (int j = 0; j < SWAPS; j++) {
			const char *k = s[i].keys[j];
			int seen = 0;
			for (int a = 0; a < SWAPPERS; a++)
				for (int b = 0; b < SWAPS; b++)
					seen += strcmp(s[a].olds[b], k) == 0;
			assert_int_equal(seen, strcmp(k, now.audio_key) == 0 ? 0 : 1);
			empty += s[i].olds[j][0] == '\0';
		}
	}
	assert_int_equal(empty, 1);
	meeting_clear(&now);
}

/* Is meeting id among those whose audio waits for its SHA-256? */
static bool unhashed(struct fx *fx, const char *id)
{
	struct meeting_audio_ref refs[50];
	char after[UUID_STR_LEN] = "";
	for (;;) {
		int n = -1;
		assert_int_equal(meeting_audio_unhashed(fx->c, after, refs, 50, &n), STORE_OK);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++)
			if (strcmp(refs[i].id, id) == 0)
				return true;
		if (n < 50)
			return false;
		snprintf(after, sizeof after, "%s", refs[n - 1].id);
	}
}

static void test_sha256_filled_in_later(void **state)
{
	FX(state);
	struct upload u;
	char mid[UUID_STR_LEN], old[96];
	new_upload(fx, &u, mid);
	assert_false(unhashed(fx, mid)); /* no audio: nothing to hash */
	struct meeting m;
	assert_int_equal(meeting_get(fx->c, fx->org, mid, &m), STORE_OK);
	set_key(&m, "audio/aa/bb/unhashed");
	m.audio_sha256[0] = '\0';
	assert_int_equal(meeting_set_audio(fx->c, &m, old), STORE_OK);
	assert_true(unhashed(fx, mid));
	/* A hash of audio the meeting no longer has is not recorded. */
	assert_int_equal(meeting_set_audio_sha256(fx->c, fx->org, mid, "audio/aa/bb/other", "ab"),
			 STORE_NOT_FOUND);
	assert_int_equal(
	    meeting_set_audio_sha256(fx->c, fx->org2, mid, "audio/aa/bb/unhashed", "ab"),
	    STORE_NOT_FOUND);
	assert_true(unhashed(fx, mid));
	assert_int_equal(
	    meeting_set_audio_sha256(fx->c, fx->org, mid, "audio/aa/bb/unhashed", "abcd"),
	    STORE_OK);
	assert_false(unhashed(fx, mid));
	struct meeting now;
	assert_int_equal(meeting_get(fx->c, fx->org, mid, &now), STORE_OK);
	assert_string_equal(now.audio_sha256, "abcd");
	meeting_clear(&now);
	meeting_clear(&m);
}

int main(void)
{
	if (!getenv("IAM_TEST_LOG"))
		log_set_level(LOG_ERROR + 1);
	// clang-format off
	const struct CMUnitTest sqlite_tests[] = {
		cmocka_unit_test(test_owner_ids),
		ST(test_lock_one_writer, KIND_SQLITE),
		ST(test_lease_expiry_and_loss, KIND_SQLITE),
		ST(test_dead_holder_taken_over_at_once, KIND_SQLITE),
		ST(test_audio_refused_while_busy, KIND_SQLITE),
		ST(test_transcript_only_for_its_audio, KIND_SQLITE),
		ST(test_concurrent_swaps_orphan_nothing, KIND_SQLITE),
		ST(test_sha256_filled_in_later, KIND_SQLITE),
	};
	const struct CMUnitTest pg_tests[] = {
		ST(test_lock_one_writer, KIND_PG),
		ST(test_lease_expiry_and_loss, KIND_PG),
		ST(test_dead_holder_taken_over_at_once, KIND_PG),
		ST(test_audio_refused_while_busy, KIND_PG),
		ST(test_transcript_only_for_its_audio, KIND_PG),
		ST(test_concurrent_swaps_orphan_nothing, KIND_PG),
		ST(test_sha256_filled_in_later, KIND_PG),
	};
	// clang-format on
	int failed = cmocka_run_group_tests_name("uploads_sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("uploads_postgres", pg_tests, NULL, NULL);
	return failed ? 1 : 0;
}
