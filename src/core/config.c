#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Strict integer parse: the whole string, in [min, max]. */
static int parse_long(const char *s, long min, long max, long *out)
{
	if (!s || !*s || isspace((unsigned char)*s) || *s == '+')
		return -1;
	errno = 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int get_int(config_getenv_fn get, const char *name, long def, long min, long max,
		   long *out, char *err, size_t errlen)
{
	const char *s = get(name);
	if (!s || !*s) {
		*out = def;
		return 0;
	}
	if (parse_long(s, min, max, out) < 0)
		return fail(err, errlen, "%s: expected a whole number from %ld to %ld, got '%.64s'",
			    name, min, max, s);
	return 0;
}

/* "host:port", "[v6]:port" or ":port" (all interfaces is never implied: host defaults to 127.0.0.1). */
static int parse_listen(struct config *c, const char *s, char *err, size_t errlen)
{
	const char *colon;
	char host[256];
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || close - s - 1 <= 0 || close - s - 1 >= (long)sizeof host)
			goto bad;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon - s >= (long)sizeof host || memchr(s, ':', (size_t)(colon - s)))
			goto bad;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		if (!host[0])
			strcpy(host, "127.0.0.1");
	}
	for (char *p = host; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-:_", *p))
			goto bad;
	long port;
	if (parse_long(colon + 1, 1, 65535, &port) < 0)
		goto bad;
	c->listen_host = strdup(host);
	c->listen_port = (int)port;
	return c->listen_host ? 0 : fail(err, errlen, "IAM_LISTEN: out of memory");
bad:
	return fail(err, errlen, "IAM_LISTEN: expected HOST:PORT such as 127.0.0.1:8080, got '%.64s'", s);
}

/* An origin is scheme://host[:port] with no path, exactly as browsers send it. */
static int origin_valid(const char *o)
{
	const char *rest;
	if (strncmp(o, "http://", 7) == 0)
		rest = o + 7;
	else if (strncmp(o, "https://", 8) == 0)
		rest = o + 8;
	else
		return 0;
	if (!*rest || strlen(o) > 255)
		return 0;
	for (const char *p = rest; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p))
			return 0;
	return 1;
}

static int parse_origins(struct config *c, const char *s, char *err, size_t errlen)
{
	char *copy = strdup(s), *save = NULL;
	if (!copy)
		return fail(err, errlen, "IAM_CORS_ORIGINS: out of memory");
	int rc = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		size_t n = strlen(tok);
		while (n && isspace((unsigned char)tok[n - 1]))
			tok[--n] = '\0';
		if (!n)
			continue;
		if (!origin_valid(tok)) {
			rc = fail(err, errlen,
				  "IAM_CORS_ORIGINS: '%.64s' is not an origin like https://app.example.com", tok);
			break;
		}
		if (c->cors_count == CONFIG_MAX_ORIGINS) {
			rc = fail(err, errlen, "IAM_CORS_ORIGINS: at most %d origins", CONFIG_MAX_ORIGINS);
			break;
		}
		c->cors_origins[c->cors_count++] = strdup(tok);
	}
	free(copy);
	return rc;
}

static char *dup_or(const char *s, const char *def)
{
	return strdup(s && *s ? s : def);
}

/* rel under the parent of the running binary's directory (build/iamd -> rel); caller frees. */
static char *beside_binary(const char *rel)
{
	char exe[PATH_MAX];
	ssize_t len_exe = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len_exe <= 0)
		return strdup(rel);
	exe[len_exe] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	size_t len = strlen(exe) + strlen(rel) + 8;
	char *out = malloc(len);
	if (out)
		snprintf(out, len, "%s/../%s", exe, rel);
	return out;
}

int config_load(struct config *c, config_getenv_fn get, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	long n;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cores < 1)
		cores = 1;

	const char *listen = get("IAM_LISTEN");
	if (parse_listen(c, listen && *listen ? listen : "127.0.0.1:8080", err, errlen) < 0)
		return -1;

	c->data_dir = dup_or(get("IAM_DATA_DIR"), "./data");
	if (strlen(c->data_dir) > PATH_MAX - 64)
		return fail(err, errlen, "IAM_DATA_DIR: path is too long");

	const char *url = get("IAM_DATABASE_URL");
	if (url && *url) {
		if (strncmp(url, "sqlite:", 7) != 0 && strncmp(url, "postgres://", 11) != 0 &&
		    strncmp(url, "postgresql://", 13) != 0)
			return fail(err, errlen,
				    "IAM_DATABASE_URL: expected sqlite:PATH or postgres://user:pass@host:port/db");
		if (strcmp(url, "sqlite:") == 0)
			return fail(err, errlen, "IAM_DATABASE_URL: sqlite: needs a file path");
		c->database_url = strdup(url);
	} else {
		size_t len = strlen(c->data_dir) + 16;
		c->database_url = malloc(len);
		if (c->database_url)
			snprintf(c->database_url, len, "sqlite:%s/iam.db", c->data_dir);
	}

	const char *secret = get("IAM_JWT_SECRET");
	if (secret && *secret) {
		size_t len = strlen(secret);
		if (len < 32 || len > 64)
			return fail(err, errlen,
				    "IAM_JWT_SECRET: must be 32 to 64 characters (got %zu); leave it unset to generate one",
				    len);
		c->jwt_secret = strdup(secret);
	}

	if (get_int(get, "IAM_HTTP_THREADS", cores, 1, 256, &n, err, errlen) < 0)
		return -1;
	c->http_threads = (int)n;
	if (get_int(get, "IAM_WORKERS", cores, 0, 256, &n, err, errlen) < 0)
		return -1;
	c->workers = (int)n;
	if (get_int(get, "IAM_DB_POOL_SIZE", c->http_threads + c->workers + 2, 1, 1024, &n, err,
		    errlen) < 0)
		return -1;
	c->db_pool_size = (int)n;
	if (get_int(get, "IAM_MAX_UPLOAD_MB", 2048, 1, 1048576, &n, err, errlen) < 0)
		return -1;
	c->max_upload_mb = n;
	if (get_int(get, "IAM_SHUTDOWN_GRACE_S", 30, 0, 3600, &n, err, errlen) < 0)
		return -1;
	c->shutdown_grace_s = (int)n;

	const char *lvl = get("IAM_LOG_LEVEL");
	c->log_level = LOG_INFO;
	if (lvl && *lvl) {
		c->log_level = log_level_parse(lvl);
		if (c->log_level < 0)
			return fail(err, errlen, "IAM_LOG_LEVEL: expected debug, info, warn or error, got '%.32s'",
				    lvl);
	}

	const char *origins = get("IAM_CORS_ORIGINS");
	if (origins && *origins && parse_origins(c, origins, err, errlen) < 0)
		return -1;

	if (get_int(get, "IAM_OPENAI_TIMEOUT_S", 300, 1, 3600, &n, err, errlen) < 0)
		return -1;
	c->openai_timeout_s = (int)n;
	if (get_int(get, "IAM_JOB_LEASE_S", 30, 2, 3600, &n, err, errlen) < 0)
		return -1;
	c->job_lease_s = (int)n;
	if (get_int(get, "IAM_SYNC_TIMEOUT_S", 900, 5, 86400, &n, err, errlen) < 0)
		return -1;
	c->sync_timeout_s = (int)n;
	if (get_int(get, "IAM_MAX_AUDIO_MINUTES", 600, 1, 525600, &n, err, errlen) < 0)
		return -1;
	c->max_audio_minutes = (int)n;
	/* Half the workers: another organization always finds one free. */
	if (get_int(get, "IAM_JOBS_PER_ORG", c->workers / 2 > 1 ? c->workers / 2 : 1, 0, 1024, &n,
		    err, errlen) < 0)
		return -1;
	c->jobs_per_org = (int)n;
	if (get_int(get, "IAM_REFRESH_GRACE_S", 30, 0, 300, &n, err, errlen) < 0)
		return -1;
	c->refresh_grace_s = (int)n;

	if (get_int(get, "IAM_HEADER_TIMEOUT_S", 10, 1, 300, &n, err, errlen) < 0)
		return -1;
	c->header_timeout_s = (int)n;
	if (get_int(get, "IAM_MAX_CONNECTIONS", 4096, 16, 1000000, &n, err, errlen) < 0)
		return -1;
	c->max_connections = (int)n;
	if (get_int(get, "IAM_MAX_CONN_PER_IP", 256, 0, 1000000, &n, err, errlen) < 0)
		return -1;
	c->max_conn_per_ip = (int)n;
	if (get_int(get, "IAM_SSE_PER_USER", 8, 0, 10000, &n, err, errlen) < 0)
		return -1;
	c->sse_per_user = (int)n;
	if (get_int(get, "IAM_SSE_PER_MEETING", 32, 0, 10000, &n, err, errlen) < 0)
		return -1;
	c->sse_per_meeting = (int)n;
	if (get_int(get, "IAM_SSE_MAX", c->max_connections / 4, 0, 1000000, &n, err, errlen) < 0)
		return -1;
	c->sse_max = (int)n;
	if (get_int(get, "IAM_TUS_LOCK_S", 30, 2, 600, &n, err, errlen) < 0)
		return -1;
	c->tus_lock_s = (int)n;
	if (get_int(get, "IAM_SPOOL_ORPHAN_AGE_S", 3600, 1, 30L * 86400, &n, err, errlen) < 0)
		return -1;
	c->spool_orphan_age_s = n;
	if (get_int(get, "IAM_DISK_MIN_FREE_MB", 256, 0, 1048576, &n, err, errlen) < 0)
		return -1;
	c->disk_min_free_mb = n;

	const char *blob = get("IAM_BLOB_URL");
	if (blob && *blob) {
		if (strncmp(blob, "file:", 5) != 0 || !blob[5])
			return fail(err, errlen, "IAM_BLOB_URL: expected file:DIR (S3 storage is not available yet)");
		c->blob_url = strdup(blob);
	} else {
		size_t len = strlen(c->data_dir) + 16;
		c->blob_url = malloc(len);
		if (c->blob_url)
			snprintf(c->blob_url, len, "file:%s/blobs", c->data_dir);
	}
	const char *asr = get("IAM_ASR");
	c->asr = dup_or(asr, "moonshine,sphinx");
	for (const char *p = c->asr; p && *p; p++)
		if (!islower((unsigned char)*p) && *p != ',' && *p != ' ')
			return fail(err, errlen, "IAM_ASR: expected a list of engines such as openai,sphinx, got '%.64s'",
				    c->asr);
	const char *base = get("IAM_OPENAI_BASE_URL");
	if (base && *base) {
		if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)
			return fail(err, errlen, "IAM_OPENAI_BASE_URL: expected http(s)://host/v1, got '%.64s'", base);
		c->openai_base_url = strdup(base);
	}
	const char *key = get("IAM_OPENAI_API_KEY");
	if (key && *key)
		c->openai_api_key = strdup(key);
	c->openai_model = dup_or(get("IAM_OPENAI_MODEL"), "whisper-1");
	if (strstr(c->asr, "openai") && !c->openai_base_url)
		return fail(err, errlen, "IAM_ASR: the openai engine needs IAM_OPENAI_BASE_URL");

	/* The app and the models sit beside the binary's build directory: build/iamd -> web/dist, models. */
	const char *web = get("IAM_WEB_DIR");
	c->web_dir = web ? strdup(web) : beside_binary("web/dist");
	const char *models = get("IAM_MODELS_DIR");
	c->models_dir = models && *models ? strdup(models) : beside_binary("models");
	const char *ort = get("IAM_ORT_LIB");
	if (ort && *ort)
		c->ort_lib = strdup(ort);

	const char *redis = get("IAM_REDIS_URL");
	if (redis && *redis) {
		if (strncmp(redis, "redis://", 8) != 0 && strncmp(redis, "rediss://", 9) != 0)
			return fail(err, errlen, "IAM_REDIS_URL: expected redis://host:port");
		c->redis_url = strdup(redis);
	}
	if (!c->data_dir || !c->database_url || !c->blob_url || !c->asr || !c->openai_model ||
	    !c->models_dir || (ort && *ort && !c->ort_lib))
		return fail(err, errlen, "out of memory while reading configuration");
	return 0;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	free(c->listen_host);
	free(c->data_dir);
	free(c->database_url);
	if (c->jwt_secret) {
		explicit_bzero(c->jwt_secret, strlen(c->jwt_secret));
		free(c->jwt_secret);
	}
	for (size_t i = 0; i < c->cors_count; i++)
		free(c->cors_origins[i]);
	free(c->redis_url);
	free(c->blob_url);
	free(c->asr);
	free(c->models_dir);
	free(c->ort_lib);
	free(c->openai_base_url);
	if (c->openai_api_key) {
		explicit_bzero(c->openai_api_key, strlen(c->openai_api_key));
		free(c->openai_api_key);
	}
	free(c->openai_model);
	free(c->web_dir);
	memset(c, 0, sizeof *c);
}
