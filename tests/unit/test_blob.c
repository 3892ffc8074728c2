/*
 * Unit tests for blob (file backend): keys, put/put_file/read/delete, the
 * cross-filesystem move, atomic visibility, and many threads at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "blob/blob.h"
#include "core/crypto.h"

static char g_tmp[256];

static int rm_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char sub[PATH_MAX];
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			rm_tree(sub);
		}
		if (d)
			closedir(d);
		return rmdir(path);
	}
	return unlink(path);
}

static int group_setup(void **state)
{
	if (crypto_init() != 0)
		return -1;
	snprintf(g_tmp, sizeof g_tmp, "/tmp/iam-test-blob-XXXXXX");
	return mkdtemp(g_tmp) ? 0 : -1;
}

static int group_teardown(void **state)
{
	rm_tree(g_tmp);
	return 0;
}

/* Each test gets a fresh store in its own directory. */
static int setup(void **state)
{
	static int n;
	char url[PATH_MAX + 16], err[256];
	snprintf(url, sizeof url, "file:%s/store%d", g_tmp, n++);
	struct blob_store *s = blob_open(url, err, sizeof err);
	if (!s) {
		fprintf(stderr, "blob_open: %s\n", err);
		return -1;
	}
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	blob_close(*state);
	return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Read key's content back through blob_open_read; returns a malloc'd buffer. */
static unsigned char *read_key(struct blob_store *s, const char *key, int64_t *size)
{
	int fd;
	assert_int_equal(blob_open_read(s, key, &fd, size), 0);
	unsigned char *buf = malloc((size_t)*size + 1);
	assert_non_null(buf);
	ssize_t got = 0;
	while (got < *size) {
		ssize_t r = read(fd, buf + got, (size_t)(*size - got));
		assert_true(r > 0);
		got += r;
	}
	close(fd);
	return buf;
}

/* Count directory entries other than . and .. */
static int count_entries(const char *dir, int *hidden)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (hidden)
		*hidden = 0;
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		if (hidden && e->d_name[0] == '.')
			(*hidden)++;
	}
	closedir(d);
	return n;
}

static void test_key_new(void **state)
{
	char key[BLOB_KEY_MAX], prev[BLOB_KEY_MAX] = "";

	for (int i = 0; i < 1000; i++) {
		blob_key_new("audio", key);
		assert_true(blob_key_valid(key));
		assert_int_equal(strlen(key), 6 + 6 + 36);
		assert_memory_equal(key, "audio/", 6);
		/* Shard bytes are the start of the uuid's last group. */
		assert_memory_equal(key + 6, key + 12 + 24, 2);
		assert_memory_equal(key + 9, key + 12 + 26, 2);
		assert_string_not_equal(key, prev);
		strcpy(prev, key);
	}
	blob_key_new("abcdefghijklmnop", key); /* 16: the longest kind */
	assert_true(blob_key_valid(key));

	const char *bad_kinds[] = {"", "Audio", "a/b", "..", "abcdefghijklmnopq", "au dio", "a1"};
	for (size_t i = 0; i < sizeof bad_kinds / sizeof *bad_kinds; i++) {
		blob_key_new(bad_kinds[i], key);
		assert_string_equal(key, "");
		assert_false(blob_key_valid(key));
	}
	blob_key_new(NULL, key);
	assert_string_equal(key, "");
}

static void test_key_valid(void **state)
{
	char good[BLOB_KEY_MAX], k[BLOB_KEY_MAX * 2];
	blob_key_new("audio", good);
	assert_true(blob_key_valid(good));
	assert_true(blob_key_valid("audio/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f60718"));

	const char *bad[] = {
	    NULL,
	    "",
	    "audio",
	    "audio/",
	    "audio/../../etc/passwd",
	    "../audio/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "/abs/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "/audio/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "audio/c3/d4/../../../../../../etc/passwd",
	    "audio/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f60718/",
	    "audio/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f60718/..",
	    "audio/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f607180",
	    "audio/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f6071",
	    "audio/c3/d4//01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "audio//c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "audio/c3/d/01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "audio/c3d4/01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "Audio/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "audio/C3/D4/01890a5d-ac96-774b-bcce-C3D4e5f60718",
	    "audio/c3/d4/01890A5D-AC96-774B-BCCE-C3D4E5F60718",
	    "audio/c3/d4/01890a5d-ac96-474b-bcce-c3d4e5f60718", /* v4 */
	    "audio/c3/d4/01890a5d-ac96-774b-7cce-c3d4e5f60718", /* bad variant */
	    "audio/c3/d4/01890a5dxac96-774b-bcce-c3d4e5f60718",
	    "audio/00/00/01890a5d-ac96-774b-bcce-c3d4e5f60718", /* shard not from the id */
	    "audio/d4/c3/01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "abcdefghijklmnopq/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "au dio/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "audio1/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "audio/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f6071\n",
	    "audio\\c3\\d4\\01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "audio/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f60718 ",
	    " audio/c3/d4/01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "audio/./d4/01890a5d-ac96-774b-bcce-c3d4e5f60718",
	    "audio/c3/d4/.1890a5d-ac96-774b-bcce-c3d4e5f60718",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (blob_key_valid(bad[i]))
			fail_msg("accepted bad key #%zu: %s", i, bad[i]);
	}

	/* A separator, dot or end anywhere it does not belong is refused. */
	for (size_t i = 0; i < strlen(good); i++) {
		if (good[i] == '/')
			continue;
		strcpy(k, good);
		k[i] = '/';
		assert_false(blob_key_valid(k));
		strcpy(k, good);
		k[i] = '.';
		assert_false(blob_key_valid(k));
		strcpy(k, good);
		k[i] = '\0';
		assert_false(blob_key_valid(k));
	}
	/* Appending anything is refused. */
	snprintf(k, sizeof k, "%s%s", good, "x");
	assert_false(blob_key_valid(k));
}

static void test_open_urls(void **state)
{
	char err[256], cwd[PATH_MAX], dir[PATH_MAX];
	struct blob_store *s;

	err[0] = '\0';
	assert_null(blob_open("s3://bucket?region=x", err, sizeof err));
	assert_string_equal(err, "unsupported blob URL");
	assert_null(blob_open("FILE:/tmp/x", err, sizeof err));
	assert_null(blob_open("/tmp/x", err, sizeof err));
	assert_null(blob_open(NULL, err, sizeof err));
	assert_null(blob_open("file:", err, sizeof err));
	assert_true(strlen(err) > 0);

	/* A path below a regular file cannot be created. */
	char file[PATH_MAX + 16], url[PATH_MAX + 32];
	snprintf(file, sizeof file, "%s/plainfile", g_tmp);
	write_file(file, "x", 1);
	snprintf(url, sizeof url, "file:%s/sub", file);
	err[0] = '\0';
	assert_null(blob_open(url, err, sizeof err));
	assert_non_null(strstr(err, "cannot create"));

	/* Relative paths resolve against the cwd at open, and survive a chdir after. */
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(g_tmp), 0);
	s = blob_open("file:rel/blobs", err, sizeof err);
	assert_int_equal(chdir(cwd), 0);
	assert_non_null(s);
	snprintf(dir, sizeof dir, "%s/rel/blobs/spool", g_tmp);
	assert_string_equal(blob_spool_dir(s), dir);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);

	char key[BLOB_KEY_MAX];
	blob_key_new("audio", key);
	assert_int_equal(blob_put(s, key, "abc", 3), 0);
	char path[PATH_MAX];
	assert_int_equal(blob_local_path(s, key, path, sizeof path), 0);
	assert_int_equal(path[0], '/');
	blob_close(s);

	/* Opening an existing store again works. */
	assert_int_equal(chdir(g_tmp), 0);
	s = blob_open("file:rel/blobs/", err, sizeof err);
	assert_int_equal(chdir(cwd), 0);
	assert_non_null(s);
	int64_t size;
	free(read_key(s, key, &size));
	assert_int_equal(size, 3);
	blob_close(s);
	blob_close(NULL);
}

static void test_put_read_delete(void **state)
{
	struct blob_store *s = *state;
	char key[BLOB_KEY_MAX], path[PATH_MAX];
	int64_t size;
	int fd;
	const char msg[] = "hello blob";

	blob_key_new("audio", key);
	assert_int_equal(blob_open_read(s, key, &fd, &size), BLOB_NOT_FOUND);
	assert_int_equal(fd, -1);
	assert_int_equal(blob_local_path(s, key, path, sizeof path), BLOB_NOT_FOUND);
	assert_int_equal(blob_delete(s, key), 0);

	assert_int_equal(blob_put(s, key, msg, sizeof msg - 1), 0);
	unsigned char *got = read_key(s, key, &size);
	assert_int_equal(size, sizeof msg - 1);
	assert_memory_equal(got, msg, sizeof msg - 1);
	free(got);

	assert_int_equal(blob_local_path(s, key, path, sizeof path), 0);
	assert_non_null(strstr(path, key));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, sizeof msg - 1);
	/* Shard directories are private. */
	char dir[PATH_MAX];
	strcpy(dir, path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* No temporary file left beside it. */
	assert_int_equal(count_entries(dir, NULL), 1);

	/* A too-small buffer is an error, not a truncated path. */
	char small[8];
	errno = 0;
	assert_int_equal(blob_local_path(s, key, small, sizeof small), -1);
	assert_int_equal(errno, ERANGE);

	/* Overwrite replaces the whole content. */
	assert_int_equal(blob_put(s, key, "xy", 2), 0);
	got = read_key(s, key, &size);
	assert_int_equal(size, 2);
	assert_memory_equal(got, "xy", 2);
	free(got);

	/* Empty object. */
	char key2[BLOB_KEY_MAX];
	blob_key_new("audio", key2);
	assert_int_equal(blob_put(s, key2, NULL, 0), 0);
	assert_int_equal(blob_open_read(s, key2, &fd, &size), 0);
	assert_int_equal(size, 0);
	close(fd);

	assert_int_equal(blob_delete(s, key), 0);
	assert_int_equal(blob_open_read(s, key, &fd, &size), BLOB_NOT_FOUND);
	assert_int_equal(blob_local_path(s, key, path, sizeof path), BLOB_NOT_FOUND);
	assert_int_equal(blob_delete(s, key), 0);
	assert_int_equal(blob_delete(s, key2), 0);
}

static void test_bad_keys_refused(void **state)
{
	struct blob_store *s = *state;
	const char *keys[] = {"audio/../../etc/passwd", "/etc/passwd", "", "audio/aa/bb/x"};
	char path[PATH_MAX], spool_file[PATH_MAX + 16];
	int fd = 123;
	int64_t size;

	snprintf(spool_file, sizeof spool_file, "%s/upload", blob_spool_dir(s));
	write_file(spool_file, "data", 4);
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		errno = 0;
		assert_int_equal(blob_put(s, keys[i], "x", 1), -1);
		assert_int_equal(errno, EINVAL);
		errno = 0;
		assert_int_equal(blob_put_file(s, keys[i], spool_file), -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(blob_open_read(s, keys[i], &fd, &size), -1);
		assert_int_equal(fd, -1);
		assert_int_equal(blob_local_path(s, keys[i], path, sizeof path), -1);
		assert_int_equal(blob_delete(s, keys[i]), -1);
		assert_int_equal(blob_put(s, NULL, "x", 1), -1);
	}
	/* The upload was not consumed by any refused call. */
	assert_int_equal(access(spool_file, F_OK), 0);
	unlink(spool_file);
}

static void test_put_file_rename(void **state)
{
	struct blob_store *s = *state;
	char key[BLOB_KEY_MAX], src[PATH_MAX + 16];
	int64_t size;
	unsigned char data[100000];

	crypto_random(data, sizeof data);
	snprintf(src, sizeof src, "%s/upload-1", blob_spool_dir(s));
	write_file(src, data, sizeof data);
	assert_int_equal(chmod(src, 0644), 0);
	struct stat before;
	assert_int_equal(stat(src, &before), 0);

	blob_key_new("audio", key);
	assert_int_equal(blob_put_file(s, key, src), 0);
	assert_int_equal(access(src, F_OK), -1);
	unsigned char *got = read_key(s, key, &size);
	assert_int_equal(size, sizeof data);
	assert_memory_equal(got, data, sizeof data);
	free(got);
	/* Same filesystem: a rename, so the very same inode. */
	char path[PATH_MAX];
	struct stat after;
	assert_int_equal(blob_local_path(s, key, path, sizeof path), 0);
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	assert_int_equal(after.st_mode & 0777, 0600);

	/* A missing source fails and creates nothing. */
	char key2[BLOB_KEY_MAX];
	blob_key_new("audio", key2);
	errno = 0;
	assert_int_equal(blob_put_file(s, key2, src), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(blob_local_path(s, key2, path, sizeof path), BLOB_NOT_FOUND);

	/* A directory or a symlink is not moved in. */
	char sub[PATH_MAX + 16], link[PATH_MAX + 16];
	snprintf(sub, sizeof sub, "%s/adir", blob_spool_dir(s));
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(blob_put_file(s, key2, sub), -1);
	snprintf(src, sizeof src, "%s/target", blob_spool_dir(s));
	write_file(src, "t", 1);
	snprintf(link, sizeof link, "%s/alink", blob_spool_dir(s));
	assert_int_equal(symlink(src, link), 0);
	assert_int_equal(blob_put_file(s, key2, link), -1);
	assert_int_equal(blob_local_path(s, key2, path, sizeof path), BLOB_NOT_FOUND);
	assert_int_equal(access(src, F_OK), 0);
	unlink(link);
	unlink(src);
	rmdir(sub);
}

static void test_put_file_cross_device(void **state)
{
	struct blob_store *s = *state;
	struct stat a, b;
	char src[64] = "/dev/shm/iam-test-blob-XXXXXX";

	if (stat("/dev/shm", &b) != 0 || stat(blob_spool_dir(s), &a) != 0 || a.st_dev == b.st_dev) {
		skip();
		return;
	}
	int fd = mkstemp(src);
	assert_true(fd >= 0);
	unsigned char data[300000]; /* several copy buffers */
	crypto_random(data, sizeof data);
	assert_int_equal(write(fd, data, sizeof data), (ssize_t)sizeof data);
	close(fd);

	char key[BLOB_KEY_MAX], path[PATH_MAX];
	int64_t size;
	blob_key_new("audio", key);
	assert_int_equal(blob_put_file(s, key, src), 0);
	assert_int_equal(access(src, F_OK), -1);
	unsigned char *got = read_key(s, key, &size);
	assert_int_equal(size, sizeof data);
	assert_memory_equal(got, data, sizeof data);
	free(got);
	assert_int_equal(blob_local_path(s, key, path, sizeof path), 0);
	*strrchr(path, '/') = '\0';
	int hidden;
	assert_int_equal(count_entries(path, &hidden), 1);
	assert_int_equal(hidden, 0);
	struct stat st;
	assert_int_equal(blob_local_path(s, key, path, sizeof path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/*
 * Atomicity: while one thread rewrites a key with large contents of
 * different sizes, another keeps opening the final name; it must only ever
 * see a complete version (size one of the written sizes, content uniform).
 */
struct atom_ctx {
	struct blob_store *s;
	char key[BLOB_KEY_MAX];
	atomic_bool done;
	int seen;
	int bad;
};

#define ATOM_BIG   (4 * 1024 * 1024)
#define ATOM_SMALL (1024 * 1024 + 7)

static void *atom_reader(void *arg)
{
	struct atom_ctx *c = arg;
	unsigned char *buf = malloc(ATOM_BIG);
	while (!atomic_load(&c->done)) {
		int fd;
		int64_t size;
		if (blob_open_read(c->s, c->key, &fd, &size) != 0)
			continue;
		ssize_t got = 0, r;
		while ((r = read(fd, buf + got, ATOM_BIG - (size_t)got)) > 0)
			got += r;
		close(fd);
		c->seen++;
		if ((got != ATOM_BIG && got != ATOM_SMALL) || got != size ||
		    buf[0] != buf[got - 1] || buf[0] != buf[got / 2])
			c->bad++;
	}
	free(buf);
	return NULL;
}

static void test_atomic_visibility(void **state)
{
	struct atom_ctx c = {.s = *state};
	pthread_t t;
	unsigned char *data = malloc(ATOM_BIG);

	assert_non_null(data);
	blob_key_new("audio", c.key);
	atomic_init(&c.done, false);
	assert_int_equal(pthread_create(&t, NULL, atom_reader, &c), 0);
	for (int i = 0; i < 12; i++) {
		memset(data, 'a' + i, ATOM_BIG);
		size_t len = (i % 2) ? ATOM_SMALL : ATOM_BIG;
		assert_int_equal(blob_put(c.s, c.key, data, len), 0);
		usleep(2000);
	}
	atomic_store(&c.done, true);
	pthread_join(t, NULL);
	free(data);
	assert_int_equal(c.bad, 0);
	assert_true(c.seen > 0);

	char path[PATH_MAX];
	int hidden;
	assert_int_equal(blob_local_path(c.s, c.key, path, sizeof path), 0);
	*strrchr(path, '/') = '\0';
	assert_int_equal(count_entries(path, &hidden), 1);
	assert_int_equal(hidden, 0);
}

/* Many threads writing at once: distinct keys and one shared key. */
#define PUT_THREADS 8
#define PUT_EACH    60

struct put_ctx {
	struct blob_store *s;
	const char *shared;
	int id;
	char keys[PUT_EACH][BLOB_KEY_MAX];
	int failures;
};

static void *put_worker(void *arg)
{
	struct put_ctx *c = arg;
	char body[64];
	for (int i = 0; i < PUT_EACH; i++) {
		blob_key_new(i % 2 ? "audio" : "video", c->keys[i]);
		int n = snprintf(body, sizeof body, "thread %d item %d", c->id, i);
		if (blob_put(c->s, c->keys[i], body, (size_t)n) != 0)
			c->failures++;
		n = snprintf(body, sizeof body, "shared by thread %02d", c->id);
		if (blob_put(c->s, c->shared, body, (size_t)n) != 0)
			c->failures++;
	}
	return NULL;
}

static void test_concurrent_puts(void **state)
{
	struct blob_store *s = *state;
	char shared[BLOB_KEY_MAX];
	static struct put_ctx ctx[PUT_THREADS];
	pthread_t t[PUT_THREADS];

	blob_key_new("audio", shared);
	for (int i = 0; i < PUT_THREADS; i++) {
		ctx[i] = (struct put_ctx){.s = s, .shared = shared, .id = i};
		assert_int_equal(pthread_create(&t[i], NULL, put_worker, &ctx[i]), 0);
	}
	for (int i = 0; i < PUT_THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < PUT_THREADS; i++) {
		assert_int_equal(ctx[i].failures, 0);
		for (int j = 0; j < PUT_EACH; j++) {
			char want[64];
			int64_t size;
			int n = snprintf(want, sizeof want, "thread %d item %d", i, j);
			unsigned char *got = read_key(s, ctx[i].keys[j], &size);
			assert_int_equal(size, n);
			assert_memory_equal(got, want, (size_t)n);
			free(got);
		}
	}
	int64_t size;
	unsigned char *got = read_key(s, shared, &size);
	assert_int_equal(size, 19);
	assert_memory_equal(got, "shared by thread ", 17);
	free(got);

	/* Nothing temporary anywhere under the shared key's directory. */
	char path[PATH_MAX];
	int hidden;
	assert_int_equal(blob_local_path(s, shared, path, sizeof path), 0);
	*strrchr(path, '/') = '\0';
	count_entries(path, &hidden);
	assert_int_equal(hidden, 0);
}

/* Free space is that of the filesystem holding the spool, as an unprivileged writer sees it. */
static void test_free_bytes(void **state)
{
	struct blob_store *s = *state;
	int64_t before = -1, after = -1;
	struct statvfs st;

	assert_int_equal(blob_free_bytes(s, &before), 0);
	assert_int_equal(statvfs(blob_spool_dir(s), &st), 0);
	int64_t want = (int64_t)st.f_bavail * (int64_t)st.f_frsize;
	assert_true(before > 0);
	/* Other processes write meanwhile: near, not equal. */
	int64_t diff = before > want ? before - want : want - before;
	assert_true(diff < 256LL * 1024 * 1024);
	/* Writing 8 MiB (synced) leaves less free. */
	char key[BLOB_KEY_MAX];
	size_t n = 8 * 1024 * 1024;
	char *big = calloc(1, n);
	assert_non_null(big);
	memset(big, 'x', n);
	blob_key_new("audio", key);
	assert_int_equal(blob_put(s, key, big, n), 0);
	free(big);
	assert_int_equal(blob_free_bytes(s, &after), 0);
	assert_true(after < before + 64LL * 1024 * 1024);
	assert_int_equal(blob_delete(s, key), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_new),
	    cmocka_unit_test(test_key_valid),
	    cmocka_unit_test(test_open_urls),
	    cmocka_unit_test_setup_teardown(test_put_read_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_keys_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_file_rename, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_file_cross_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_atomic_visibility, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_puts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_bytes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
