/*
 * blob.c — what every blob backend shares: choosing the backend by URL, and
 * the key format. Keys are checked here, once, before a backend sees them:
 * a backend may build paths or URLs from a key without further thought.
 */
#include "blob/blob.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blob/blob_impl.h"
#include "core/uuid.h"

#define KIND_MAX 16
#define UUID_LEN 36
/* Where the shard bytes come from: the first two bytes of the UUID's last group (all random). */
#define SHARD_AT 24

struct blob_store *blob_open(const char *url, char *err, size_t errlen)
{
	if (url && strncmp(url, "file:", 5) == 0)
		return blob_fs_open(url + 5, err, errlen);
	snprintf(err, errlen, "unsupported blob URL");
	return NULL;
}

void blob_close(struct blob_store *s)
{
	if (s)
		s->ops->close(s);
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}
static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static size_t kind_len(const char *kind)
{
	size_t n = 0;

	while (n <= KIND_MAX && is_lower(kind[n]))
		n++;
	return n;
}

void blob_key_new(const char *kind, char key[BLOB_KEY_MAX])
{
	char id[UUID_STR_LEN];
	size_t n = kind ? kind_len(kind) : 0;

	/* A bad kind is our own bug; an empty key fails every later call. */
	key[0] = '\0';
	if (n == 0 || n > KIND_MAX || kind[n] != '\0')
		return;
	uuid_v7(id);
	snprintf(key, BLOB_KEY_MAX, "%s/%.2s/%.2s/%s", kind, id + SHARD_AT, id + SHARD_AT + 2, id);
}

/* Lowercase canonical UUIDv7 with the RFC 9562 variant, and nothing after it. */
static bool uuid_v7_strict(const char *u)
{
	for (int i = 0; i < UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (u[i] != '-')
				return false;
		} else if (!is_hex(u[i])) {
			return false;
		}
	}
	return u[UUID_LEN] == '\0' && u[14] == '7' && strchr("89ab", u[19]) != NULL;
}

bool blob_key_valid(const char *key)
{
	if (!key)
		return false;
	size_t n = kind_len(key);
	if (n == 0 || n > KIND_MAX || key[n] != '/')
		return false;
	const char *p = key + n + 1;
	/* "aa/bb/" */
	if (!is_hex(p[0]) || !is_hex(p[1]) || p[2] != '/' || !is_hex(p[3]) || !is_hex(p[4]) ||
	    p[5] != '/')
		return false;
	const char *u = p + 6;
	if (!uuid_v7_strict(u))
		return false;
	/* The shard must be the one blob_key_new derives from the id. */
	return memcmp(p, u + SHARD_AT, 2) == 0 && memcmp(p + 3, u + SHARD_AT + 2, 2) == 0;
}

const char *blob_spool_dir(struct blob_store *s)
{
	return s->ops->spool_dir(s);
}

int blob_put_file(struct blob_store *s, const char *key, const char *path)
{
	if (!blob_key_valid(key) || !path) {
		errno = EINVAL;
		return -1;
	}
	return s->ops->put_file(s, key, path);
}

int blob_put(struct blob_store *s, const char *key, const void *data, size_t len)
{
	if (!blob_key_valid(key) || (!data && len > 0)) {
		errno = EINVAL;
		return -1;
	}
	return s->ops->put(s, key, data, len);
}

int blob_open_read(struct blob_store *s, const char *key, int *fd, int64_t *size)
{
	*fd = -1;
	if (!blob_key_valid(key)) {
		errno = EINVAL;
		return -1;
	}
	return s->ops->open_read(s, key, fd, size);
}

int blob_local_path(struct blob_store *s, const char *key, char *path, size_t pathlen)
{
	if (!blob_key_valid(key)) {
		errno = EINVAL;
		return -1;
	}
	return s->ops->local_path(s, key, path, pathlen);
}

int blob_delete(struct blob_store *s, const char *key)
{
	if (!blob_key_valid(key)) {
		errno = EINVAL;
		return -1;
	}
	return s->ops->remove(s, key);
}

int blob_free_bytes(struct blob_store *s, int64_t *free_bytes)
{
	*free_bytes = 0;
	if (!s->ops->free_bytes) {
		errno = ENOTSUP;
		return -1;
	}
	return s->ops->free_bytes(s, free_bytes);
}
