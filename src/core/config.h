/*
 * config.h — settings from IAM_* environment variables. Every setting has a
 * working default; a bad value is refused with one line naming the variable.
 */
#ifndef IAM_CONFIG_H
#define IAM_CONFIG_H

#include <stddef.h>

#define CONFIG_MAX_ORIGINS 32

struct config {
	char *listen_host;     /* IAM_LISTEN host part ("127.0.0.1", "::1", "0.0.0.0") */
	int listen_port;       /* IAM_LISTEN port part, 1..65535 */
	char *data_dir;        /* IAM_DATA_DIR */
	char *database_url;    /* IAM_DATABASE_URL */
	char *jwt_secret;      /* IAM_JWT_SECRET, NULL = load or generate in data_dir */
	int http_threads;      /* IAM_HTTP_THREADS, 1..256 */
	int workers;           /* IAM_WORKERS, 0..256 */
	int db_pool_size;      /* IAM_DB_POOL_SIZE, default http_threads + workers + 2 */
	long max_upload_mb;    /* IAM_MAX_UPLOAD_MB, 1..1048576 */
	int log_level;         /* IAM_LOG_LEVEL as enum log_level */
	char *cors_origins[CONFIG_MAX_ORIGINS]; /* IAM_CORS_ORIGINS, exact origins */
	size_t cors_count;
	char *redis_url;       /* IAM_REDIS_URL, NULL = none */
	int shutdown_grace_s;  /* IAM_SHUTDOWN_GRACE_S, 0..3600: wait for in-flight requests */
};

/* Where values come from: getenv in production, a table in tests. */
typedef const char *(*config_getenv_fn)(const char *name);

/*
 * Load settings. Returns 0, or -1 with "IAM_X: what is wrong" in err.
 * The caller frees with config_free() in both cases.
 */
int config_load(struct config *c, config_getenv_fn get, char *err, size_t errlen);
void config_free(struct config *c);

#endif
