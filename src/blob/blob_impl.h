/*
 * blob_impl.h — private: the backend interface behind blob.h.
 *
 * blob.c owns what every backend shares (URL dispatch, key generation and
 * validation); a backend only ever sees keys that blob_key_valid accepted.
 * A backend's store struct starts with struct blob_store, so blob.c can
 * reach the ops table and the backend can cast back to its own type.
 */
#ifndef IAM_BLOB_IMPL_H
#define IAM_BLOB_IMPL_H

#include "blob/blob.h"

struct blob_ops {
	void (*close)(struct blob_store *s);
	const char *(*spool_dir)(struct blob_store *s);
	int (*put_file)(struct blob_store *s, const char *key, const char *path);
	int (*put)(struct blob_store *s, const char *key, const void *data, size_t len);
	int (*open_read)(struct blob_store *s, const char *key, int *fd, int64_t *size);
	int (*local_path)(struct blob_store *s, const char *key, char *path, size_t pathlen);
	int (*remove)(struct blob_store *s, const char *key);
	int (*free_bytes)(struct blob_store *s, int64_t *free_bytes);
};

struct blob_store {
	const struct blob_ops *ops;
};

/*
 * "file:DIR" backend. arg is DIR (the URL without its scheme). NULL with a
 * one-line reason in err. Freed through ops->close.
 */
struct blob_store *blob_fs_open(const char *arg, char *err, size_t errlen);

#endif
