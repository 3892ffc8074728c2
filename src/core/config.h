/*
 * config.h — settings from IAM_* environment variables. Every setting has a
 * working default; a bad value is refused with one line naming the variable.
 *
 * One table (config.c, config_settings()) lists every setting: its name,
 * type, default, bounds and help. The parser, `iamd help config` and the
 * README's configuration table are all produced from it, so a new setting
 * is one row there plus its field here.
 */
#ifndef IAM_CONFIG_H
#define IAM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CONFIG_MAX_ORIGINS 32

/* Each field is one setting of the table in config.c: its bounds, default and meaning are there. */
struct config {
	char *listen_host; /* IAM_LISTEN host part ("127.0.0.1", "::1", "0.0.0.0") */
	int listen_port;   /* IAM_LISTEN port part */
	char *data_dir;
	char *database_url;
	char *jwt_secret; /* NULL = load or generate in data_dir */
	int http_threads;
	int workers;
	int db_pool_size;
	long max_upload_mb;
	int log_level;				/* as enum log_level */
	char *cors_origins[CONFIG_MAX_ORIGINS]; /* exact origins */
	size_t cors_count;
	char *redis_url; /* NULL = none */
	int shutdown_grace_s;
	char *blob_url;
	char *asr; /* the engine chain */
	char *models_dir;
	char *ort_lib;	       /* NULL = models_dir/libonnxruntime.so.1 */
	char *openai_base_url; /* NULL = none */
	char *openai_api_key;  /* NULL = none */
	char *openai_model;
	int openai_timeout_s;
	char *llm_base_url; /* NULL = none: chat and insights answer offline */
	char *llm_api_key;  /* NULL = none */
	char *llm_model;
	int llm_timeout_s;	   /* connect, first byte, and silence between streamed chunks */
	int llm_context_tokens;	   /* the model's context budget (inputs are split to fit) */
	char *llm_embedding_model; /* NULL = no embeddings: passages ranked by bm25 alone */
	int job_lease_s;
	int max_audio_minutes;
	int jobs_per_org; /* 0 = no limit */
	int sync_timeout_s;
	int refresh_grace_s;
	int header_timeout_s;
	int max_connections;
	int max_conn_per_ip; /* 0 = no cap */
	int sse_per_user;    /* 0 = no cap */
	int sse_per_meeting; /* 0 = no cap */
	int sse_max;	     /* 0 = no cap */
	int ws_max;	     /* WebSockets in all */
	int ws_per_user;
	int ws_ping_s;
	int ws_idle_s;
	int ws_auth_timeout_s; /* a socket without credentials must authenticate within this */
	int ws_unauth_per_ip;  /* unauthenticated WebSockets per client address */
	long ws_max_message;   /* bytes */
	long ws_queue_bytes;   /* per socket */
	int tus_lock_s;
	long spool_orphan_age_s;
	long disk_min_free_mb;
	char *trusted_proxies; /* CIDR list (checked by auth/clientaddr at start-up), NULL = none */
	int register_per_hour; /* 0 = no limit */
	int hash_concurrency;
	int hash_wait_ms;
	/* store/search.h SEARCH_RANK_WINDOW */
	int search_rank_window;
	char *web_dir;	    /* "" = no web app */
	char *smtp_url;	    /* smtp:// or smtps://, may carry user:password; NULL = no e-mail */
	char *mail_from;    /* the From address of mail IAM sends */
	char *public_url;   /* where people reach the web app (links in mail, OIDC redirects) */
	int job_backoff_ms; /* first retry delay of a failed job (doubles each time) */
	int audit_retention_days;    /* 0 = keep for ever */
	char *stripe_secret_key;     /* NULL = Stripe off */
	char *stripe_webhook_secret; /* comma-separated; NULL = webhooks refused */
	char *stripe_api_base;
	char *paygate_id; /* NULL = PayGate off */
	char *paygate_key;
	char *paygate_base;
	int billing_grace_days;
	int vat_percent;
};

/* Where values come from: getenv in production, a table in tests. */
typedef const char *(*config_getenv_fn)(const char *name);

enum config_type {
	CONFIG_INT,	/* a whole number in [min, max] */
	CONFIG_TEXT,	/* free text */
	CONFIG_SECRET,	/* free text that is never printed back */
	CONFIG_PATH,	/* a file or directory */
	CONFIG_URL,	/* a URL of the schemes doc_allowed names */
	CONFIG_LIST,	/* comma-separated items */
	CONFIG_ADDRESS, /* HOST:PORT */
	CONFIG_CHOICE,	/* one word of doc_allowed */
};

/* One setting. Text fields are Markdown (README shows them as they are; help drops the backquotes).
 */
struct config_setting {
	const char *name; /* "IAM_HTTP_THREADS" */
	enum config_type type;
	size_t offset; /* of its field in struct config: int or long for CONFIG_INT, else char * */
	size_t size;   /* of that field */
	long min, max; /* CONFIG_INT: the allowed range, checked for given values and defaults */
	long def;      /* CONFIG_INT: the default, unless def_int computes one */
	/* CONFIG_INT: a default that depends on the machine or on settings read before it */
	long (*def_int)(const struct config *c, long cores);
	const char *def_str; /* others: the default, parsed like a given value; NULL = none */
	/* others: a computed default (not parsed); caller frees; NULL only when out of memory */
	char *(*def_dup)(const struct config *c);
	bool empty_is_value; /* "" is a value (IAM_WEB_DIR: no web app) rather than "unset" */
	bool secret;	     /* wiped before it is freed */
	/* others: check v and store it (else v is copied into the field); -1 with err set */
	int (*parse)(struct config *c, const char *v, char *err, size_t errlen);
	const char *doc_default; /* the default in words; NULL = generated from def / def_str */
	const char *doc_allowed; /* the allowed values; NULL = generated from min and max */
	const char *help;	 /* what it means */
};

/* The table, in the README's order (which is also the order settings are read in). */
const struct config_setting *config_settings(size_t *n);

/* "1–256" style range or the allowed values, Markdown. Returns out. */
const char *config_allowed(const struct config_setting *s, char *out, size_t len);

/*
 * Print every setting: as the README's Markdown table (markdown) or as the
 * text of `iamd help config`. Returns 0, or -1 if writing failed.
 */
int config_describe(FILE *out, bool markdown);

/*
 * Load settings. Returns 0, or -1 with "IAM_X: what is wrong" in err.
 * The caller frees with config_free() in both cases.
 */
int config_load(struct config *c, config_getenv_fn get, char *err, size_t errlen);
void config_free(struct config *c);

#endif
