/*
 * blob_fs.c — the "file:DIR" blob backend.
 *
 *   DIR/objects/<kind>/<aa>/<bb>/<uuid>   one file per object
 *   DIR/spool/                            uploads in progress (same filesystem)
 *
 * A write never shows a partial object under its final name: content goes to
 * a temporary name in the object's own directory (O_EXCL, 0600), is fsynced,
 * renamed over the final name, and the directory is fsynced so the rename
 * survives a crash. Temporary names start with '.', which no key does.
 * The store holds nothing mutable after open, so any number of threads (or
 * processes) may use it at once.
 */
#include "blob/blob_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/crypto.h"

#define DIR_MODE  0700
#define FILE_MODE 0600
#define COPY_BUF  (64 * 1024)

struct blob_fs {
	struct blob_store base; /* first: blob.c sees only this */
	char root[PATH_MAX];	/* absolute, so a later chdir does not matter */
	char objects[PATH_MAX];
	char spool[PATH_MAX];
};

static struct blob_fs *fs_of(struct blob_store *s)
{
	return (struct blob_fs *)s;
}

/* snprintf that reports truncation as ENAMETOOLONG. 0 or -1. */
static int path_fmt(char *out, size_t outlen, const char *a, const char *b)
{
	int n = snprintf(out, outlen, "%s/%s", a, b);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* mkdir that accepts an existing directory. 1 if created, 0 if it was there, -1. */
static int mkdir_one(const char *path)
{
	struct stat st;

	if (mkdir(path, DIR_MODE) == 0)
		return 1;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* mkdir -p for the store's root. 0 or -1. */
static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (buf[i - 1] != '/' && mkdir_one(buf) < 0)
			return -1;
		buf[i] = c;
	}
	return 0;
}

/*
 * Create the shard directories of key under objects/ ("kind", "kind/aa",
 * "kind/aa/bb"). A directory we create is made durable in its parent.
 */
static int make_shard_dirs(struct blob_fs *fs, const char *key)
{
	char dir[PATH_MAX], parent[PATH_MAX];
	const char *slash = key;

	for (int level = 0; level < 3; level++) {
		slash = strchr(slash, '/');
		int n = snprintf(dir, sizeof dir, "%s/%.*s", fs->objects, (int)(slash - key), key);
		if (n < 0 || (size_t)n >= sizeof dir) {
			errno = ENAMETOOLONG;
			return -1;
		}
		int made = mkdir_one(dir);
		if (made < 0)
			return -1;
		if (made) {
			memcpy(parent, dir, (size_t)n + 1);
			*strrchr(parent, '/') = '\0';
			if (fsync_dir(parent) < 0)
				return -1;
		}
		slash++;
	}
	return 0;
}

/* The object's path and the directory holding it. 0 or -1. */
static int object_paths(struct blob_fs *fs, const char *key, char file[PATH_MAX],
			char dir[PATH_MAX])
{
	if (path_fmt(file, PATH_MAX, fs->objects, key) < 0)
		return -1;
	if (dir) {
		memcpy(dir, file, strlen(file) + 1);
		*strrchr(dir, '/') = '\0';
	}
	return 0;
}

/*
 * Create a fresh temporary file next to final (creating shard directories
 * when missing). Returns the fd, its name in tmp; -1 on error.
 */
static int temp_create(struct blob_fs *fs, const char *key, const char *dir, char tmp[PATH_MAX])
{
	unsigned char rnd[8];
	char hex[17];
	const char *base = strrchr(key, '/') + 1;

	for (int attempt = 0; attempt < 2; attempt++) {
		crypto_random(rnd, sizeof rnd);
		crypto_hex(rnd, sizeof rnd, hex);
		int n = snprintf(tmp, PATH_MAX, "%s/.%s.%s.tmp", dir, base, hex);
		if (n < 0 || n >= PATH_MAX) {
			errno = ENAMETOOLONG;
			return -1;
		}
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, FILE_MODE);
		if (fd >= 0)
			return fd;
		if (errno != ENOENT || attempt > 0 || make_shard_dirs(fs, key) < 0)
			return -1;
	}
	return -1;
}

static int write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int copy_fd(int in, int out)
{
	unsigned char *buf = malloc(COPY_BUF);
	int rc = -1;

	if (!buf)
		return -1;
	for (;;) {
		ssize_t r = read(in, buf, COPY_BUF);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		if (write_all(out, buf, (size_t)r) < 0)
			goto fail;
	}
	rc = 0;
fail:
	free(buf);
	return rc;
}

/*
 * Finish a temporary file: fsync, close, rename over final, fsync the
 * directory. Closes fd whatever happens; removes tmp on failure.
 */
static int temp_commit(int fd, const char *tmp, const char *final, const char *dir)
{
	int saved;

	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, final) < 0)
		goto fail;
	return fsync_dir(dir);
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

static int fs_put(struct blob_store *s, const char *key, const void *data, size_t len)
{
	struct blob_fs *fs = fs_of(s);
	char final[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX];
	int saved;

	if (object_paths(fs, key, final, dir) < 0)
		return -1;
	int fd = temp_create(fs, key, dir, tmp);
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) < 0)
		goto fail;
	return temp_commit(fd, tmp, final, dir);
fail:
	saved = errno;
	close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

/* Copy src (open as sfd) into the store: the cross-filesystem half of put_file. */
static int put_copy(struct blob_fs *fs, const char *key, int sfd, const char *final,
		    const char *dir)
{
	char tmp[PATH_MAX];
	int saved;

	if (lseek(sfd, 0, SEEK_SET) < 0)
		return -1;
	int fd = temp_create(fs, key, dir, tmp);
	if (fd < 0)
		return -1;
	if (copy_fd(sfd, fd) < 0)
		goto fail;
	return temp_commit(fd, tmp, final, dir);
fail:
	saved = errno;
	close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

static int fs_put_file(struct blob_store *s, const char *key, const char *path)
{
	struct blob_fs *fs = fs_of(s);
	char final[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	int rc = -1, saved;

	if (object_paths(fs, key, final, dir) < 0)
		return -1;
	/* Only a regular file moves in: never a symlink, device or directory. */
	int sfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return -1;
	if (fstat(sfd, &st) < 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	/*
	 * Objects are private whatever mode the spooler used; and the spooler
	 * may not have synced: the content must be durable before the name is.
	 */
	if (fchmod(sfd, FILE_MODE) < 0 || fsync(sfd) < 0)
		goto out;

	int r = rename(path, final);
	if (r < 0 && errno == ENOENT && make_shard_dirs(fs, key) == 0)
		r = rename(path, final);
	if (r == 0) {
		/* If this fails the object is in place but perhaps not durable: report it. */
		rc = fsync_dir(dir);
		goto out;
	}
	if (errno != EXDEV)
		goto out;
	if (put_copy(fs, key, sfd, final, dir) < 0)
		goto out;
	if (unlink(path) < 0) {
		/* All or nothing: the caller will not expect the object to exist. */
		saved = errno;
		unlink(final);
		errno = saved;
		goto out;
	}
	rc = 0;
out:
	saved = errno;
	close(sfd);
	errno = saved;
	return rc;
}

static int fs_open_read(struct blob_store *s, const char *key, int *fd, int64_t *size)
{
	char final[PATH_MAX];
	struct stat st;

	if (object_paths(fs_of(s), key, final, NULL) < 0)
		return -1;
	int f = open(final, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0)
		return (errno == ENOENT || errno == ENOTDIR) ? BLOB_NOT_FOUND : -1;
	if (fstat(f, &st) < 0) {
		int saved = errno;
		close(f);
		errno = saved;
		return -1;
	}
	*fd = f;
	*size = (int64_t)st.st_size;
	return 0;
}

static int fs_local_path(struct blob_store *s, const char *key, char *path, size_t pathlen)
{
	char final[PATH_MAX];
	struct stat st;

	if (object_paths(fs_of(s), key, final, NULL) < 0)
		return -1;
	if (lstat(final, &st) < 0)
		return (errno == ENOENT || errno == ENOTDIR) ? BLOB_NOT_FOUND : -1;
	size_t n = strlen(final);
	if (n >= pathlen) {
		errno = ERANGE;
		return -1;
	}
	memcpy(path, final, n + 1);
	return 0;
}

/* Empty shard directories are left in place: they are few and reused. */
static int fs_remove(struct blob_store *s, const char *key)
{
	char final[PATH_MAX];

	if (object_paths(fs_of(s), key, final, NULL) < 0)
		return -1;
	if (unlink(final) < 0 && errno != ENOENT && errno != ENOTDIR)
		return -1;
	return 0;
}

static int fs_free_bytes(struct blob_store *s, int64_t *free_bytes)
{
	struct statvfs st;

	if (statvfs(fs_of(s)->spool, &st) < 0)
		return -1;
	unsigned long long n = (unsigned long long)st.f_bavail * st.f_frsize;
	*free_bytes = n > (unsigned long long)INT64_MAX ? INT64_MAX : (int64_t)n;
	return 0;
}

static const char *fs_spool_dir(struct blob_store *s)
{
	return fs_of(s)->spool;
}

static void fs_close(struct blob_store *s)
{
	free(fs_of(s));
}

static const struct blob_ops FS_OPS = {
    .close = fs_close,
    .spool_dir = fs_spool_dir,
    .put_file = fs_put_file,
    .put = fs_put,
    .open_read = fs_open_read,
    .local_path = fs_local_path,
    .remove = fs_remove,
    .free_bytes = fs_free_bytes,
};

struct blob_store *blob_fs_open(const char *arg, char *err, size_t errlen)
{
	struct blob_fs *fs = NULL;
	const char *what = "";

	if (!arg || !*arg) {
		snprintf(err, errlen, "blob URL file: needs a directory");
		return NULL;
	}
	fs = calloc(1, sizeof *fs);
	if (!fs) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fs->base.ops = &FS_OPS;
	what = "cannot create";
	if (mkdir_parents(arg) < 0)
		goto fail;
	what = "cannot resolve";
	if (!realpath(arg, fs->root))
		goto fail;
	what = "cannot create";
	if (path_fmt(fs->objects, sizeof fs->objects, fs->root, "objects") < 0 ||
	    path_fmt(fs->spool, sizeof fs->spool, fs->root, "spool") < 0 ||
	    mkdir_one(fs->objects) < 0 || mkdir_one(fs->spool) < 0)
		goto fail;
	what = "cannot write to";
	if (access(fs->objects, W_OK | X_OK) < 0 || access(fs->spool, W_OK | X_OK) < 0)
		goto fail;
	return &fs->base;
fail:
	snprintf(err, errlen, "blob store %s %s: %s", what, arg, strerror(errno));
	free(fs);
	return NULL;
}
