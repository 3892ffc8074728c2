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
	char *blob_url;        /* IAM_BLOB_URL, default file:$IAM_DATA_DIR/blobs */
	char *asr;             /* IAM_ASR engine chain, default "moonshine,sphinx" */
	char *models_dir;      /* IAM_MODELS_DIR, default <binary's dir>/../models */
	char *ort_lib;         /* IAM_ORT_LIB, NULL = models_dir/libonnxruntime.so.1 */
	char *openai_base_url; /* IAM_OPENAI_BASE_URL, NULL = none */
	char *openai_api_key;  /* IAM_OPENAI_API_KEY, NULL = none */
	char *openai_model;    /* IAM_OPENAI_MODEL, default "whisper-1" */
	int openai_timeout_s;  /* IAM_OPENAI_TIMEOUT_S, 1..3600, default 300 */
	int job_lease_s;       /* IAM_JOB_LEASE_S, 2..3600, default 30 */
	int max_audio_minutes; /* IAM_MAX_AUDIO_MINUTES, 1..525600, default 600: longest audio accepted */
	int jobs_per_org;      /* IAM_JOBS_PER_ORG, 0..1024 (0 = no limit), default max(1, workers / 2) */
	int sync_timeout_s;
	int refresh_grace_s;   /* IAM_REFRESH_GRACE_S, 0..300, default 30: a used refresh token gives the same successor */
	int header_timeout_s;  /* IAM_HEADER_TIMEOUT_S, 1..300, default 10: whole request head */
	int max_connections;   /* IAM_MAX_CONNECTIONS, 16..1000000, default 4096 */
	int max_conn_per_ip;   /* IAM_MAX_CONN_PER_IP, 0..1000000, default 256 (0 = no cap) */
	int sse_per_user;      /* IAM_SSE_PER_USER, 0..10000, default 8 (0 = no cap) */
	int sse_per_meeting;   /* IAM_SSE_PER_MEETING, 0..10000, default 32 (0 = no cap) */
	int sse_max;           /* IAM_SSE_MAX, 0..1000000, default max_connections / 4 */
	int tus_lock_s;           /* IAM_TUS_LOCK_S, 2..600, default 30: lease of a tus PATCH lock */
	long spool_orphan_age_s;  /* IAM_SPOOL_ORPHAN_AGE_S, default 3600: spool files unused this long go */
	long disk_min_free_mb;    /* IAM_DISK_MIN_FREE_MB, default 256: uploads keep this much disk free */
	char *web_dir;         /* IAM_WEB_DIR, default <binary's dir>/../web/dist; "" = no web app */    /* IAM_SYNC_TIMEOUT_S: /v1/audio/transcriptions waits this long, default 900 */
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
