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
#include "core/macros.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
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

/* "host:port", "[v6]:port" or ":port" (all interfaces is never implied: host defaults to
 * 127.0.0.1). */
static int parse_listen(struct config *c, const char *s, char *err, size_t errlen)
{
	const char *colon;
	char host[256];
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || close - s - 1 <= 0 ||
		    close - s - 1 >= (long)sizeof host)
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
	return fail(err, errlen,
		    "IAM_LISTEN: expected HOST:PORT such as 127.0.0.1:8080, got '%.64s'", s);
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
				  "IAM_CORS_ORIGINS: '%.64s' is not an origin like "
				  "https://app.example.com",
				  tok);
			break;
		}
		if (c->cors_count == CONFIG_MAX_ORIGINS) {
			rc = fail(err, errlen, "IAM_CORS_ORIGINS: at most %d origins",
				  CONFIG_MAX_ORIGINS);
			break;
		}
		if (!(c->cors_origins[c->cors_count++] = strdup(tok))) {
			rc = fail(err, errlen, "IAM_CORS_ORIGINS: out of memory");
			break;
		}
	}
	free(copy);
	return rc;
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

/* "<data_dir><suffix>"; caller frees. */
static char *under_data_dir(const struct config *c, const char *prefix, const char *suffix)
{
	size_t len = strlen(prefix) + strlen(c->data_dir) + strlen(suffix) + 1;
	char *out = malloc(len);
	if (out)
		snprintf(out, len, "%s%s%s", prefix, c->data_dir, suffix);
	return out;
}

/* ---------- computed defaults ---------- */

static long def_cores(const struct config *c, long cores)
{
	return cores;
}

static long def_pool(const struct config *c, long cores)
{
	return (long)c->http_threads + c->workers + 2;
}

/* Half the workers: another organization always finds one free. */
static long def_jobs_per_org(const struct config *c, long cores)
{
	return c->workers / 2 > 1 ? c->workers / 2 : 1;
}

static long def_sse_max(const struct config *c, long cores)
{
	return c->max_connections / 4;
}

static char *def_database_url(const struct config *c)
{
	return under_data_dir(c, "sqlite:", "/iam.db");
}
static char *def_blob_url(const struct config *c)
{
	return under_data_dir(c, "file:", "/blobs");
}
/* The app and the models sit beside the binary's build directory: build/iamd -> web/dist, models.
 */
static char *def_web_dir(const struct config *c)
{
	return beside_binary("web/dist");
}
static char *def_models_dir(const struct config *c)
{
	return beside_binary("models");
}

/* ---------- parsers of the settings that are more than a number or free text ---------- */

static int parse_data_dir(struct config *c, const char *v, char *err, size_t errlen)
{
	if (strlen(v) > PATH_MAX - 64)
		return fail(err, errlen, "IAM_DATA_DIR: path is too long");
	c->data_dir = strdup(v);
	return c->data_dir ? 0 : fail(err, errlen, "IAM_DATA_DIR: out of memory");
}

static int parse_database_url(struct config *c, const char *v, char *err, size_t errlen)
{
	if (strncmp(v, "sqlite:", 7) != 0 && strncmp(v, "postgres://", 11) != 0 &&
	    strncmp(v, "postgresql://", 13) != 0)
		return fail(
		    err, errlen,
		    "IAM_DATABASE_URL: expected sqlite:PATH or postgres://user:pass@host:port/db");
	if (strcmp(v, "sqlite:") == 0)
		return fail(err, errlen, "IAM_DATABASE_URL: sqlite: needs a file path");
	c->database_url = strdup(v);
	return c->database_url ? 0 : fail(err, errlen, "IAM_DATABASE_URL: out of memory");
}

static int parse_jwt_secret(struct config *c, const char *v, char *err, size_t errlen)
{
	size_t len = strlen(v);
	if (len < 32 || len > 64)
		return fail(err, errlen,
			    "IAM_JWT_SECRET: must be 32 to 64 characters (got %zu); leave it unset "
			    "to generate one",
			    len);
	c->jwt_secret = strdup(v);
	return c->jwt_secret ? 0 : fail(err, errlen, "IAM_JWT_SECRET: out of memory");
}

static int parse_log_level(struct config *c, const char *v, char *err, size_t errlen)
{
	c->log_level = log_level_parse(v);
	if (c->log_level < 0)
		return fail(err, errlen,
			    "IAM_LOG_LEVEL: expected debug, info, warn or error, got '%.32s'", v);
	return 0;
}

static int parse_blob_url(struct config *c, const char *v, char *err, size_t errlen)
{
	if (strncmp(v, "file:", 5) != 0 || !v[5])
		return fail(err, errlen,
			    "IAM_BLOB_URL: expected file:DIR (S3 storage is not available yet)");
	c->blob_url = strdup(v);
	return c->blob_url ? 0 : fail(err, errlen, "IAM_BLOB_URL: out of memory");
}

static int parse_asr(struct config *c, const char *v, char *err, size_t errlen)
{
	for (const char *p = v; *p; p++)
		if (!islower((unsigned char)*p) && *p != ',' && *p != ' ')
			return fail(err, errlen,
				    "IAM_ASR: expected a list of engines such as openai,sphinx, "
				    "got '%.64s'",
				    v);
	c->asr = strdup(v);
	return c->asr ? 0 : fail(err, errlen, "IAM_ASR: out of memory");
}

static int parse_openai_base_url(struct config *c, const char *v, char *err, size_t errlen)
{
	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
		return fail(err, errlen,
			    "IAM_OPENAI_BASE_URL: expected http(s)://host/v1, got '%.64s'", v);
	c->openai_base_url = strdup(v);
	return c->openai_base_url ? 0 : fail(err, errlen, "IAM_OPENAI_BASE_URL: out of memory");
}

static int parse_llm_base_url(struct config *c, const char *v, char *err, size_t errlen)
{
	if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
		return fail(err, errlen,
			    "IAM_LLM_BASE_URL: expected http(s)://host/v1, got '%.64s'", v);
	c->llm_base_url = strdup(v);
	return c->llm_base_url ? 0 : fail(err, errlen, "IAM_LLM_BASE_URL: out of memory");
}

static int parse_redis_url(struct config *c, const char *v, char *err, size_t errlen)
{
	if (strncmp(v, "redis://", 8) != 0 && strncmp(v, "rediss://", 9) != 0)
		return fail(err, errlen, "IAM_REDIS_URL: expected redis://host:port");
	c->redis_url = strdup(v);
	return c->redis_url ? 0 : fail(err, errlen, "IAM_REDIS_URL: out of memory");
}

static int parse_smtp_url(struct config *c, const char *v, char *err, size_t errlen)
{
	if ((strncmp(v, "smtp://", 7) != 0 || !v[7]) && (strncmp(v, "smtps://", 8) != 0 || !v[8]))
		return fail(
		    err, errlen,
		    "IAM_SMTP_URL: expected smtp://[user:password@]host[:port] or smtps://...");
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return fail(err, errlen,
				    "IAM_SMTP_URL: spaces and control characters are "
				    "not allowed (percent-encode them)");
	c->smtp_url = strdup(v);
	return c->smtp_url ? 0 : fail(err, errlen, "IAM_SMTP_URL: out of memory");
}

static int parse_mail_from(struct config *c, const char *v, char *err, size_t errlen)
{
	const char *at = strchr(v, '@');
	if (!at || at == v || !at[1] || strlen(v) > 254 || strchr(at + 1, '@'))
		return fail(err, errlen,
			    "IAM_MAIL_FROM: expected an address such as "
			    "iam@example.com, got '%.64s'",
			    v);
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("<>()[]\\,;:\"", *p))
			return fail(
			    err, errlen,
			    "IAM_MAIL_FROM: expected a bare address such as iam@example.com, "
			    "got '%.64s'",
			    v);
	c->mail_from = strdup(v);
	return c->mail_from ? 0 : fail(err, errlen, "IAM_MAIL_FROM: out of memory");
}

static int parse_public_url(struct config *c, const char *v, char *err, size_t errlen)
{
	if (!origin_valid(v))
		return fail(err, errlen,
			    "IAM_PUBLIC_URL: expected an origin such as https://iam.example.com "
			    "(no path), got '%.64s'",
			    v);
	c->public_url = strdup(v);
	return c->public_url ? 0 : fail(err, errlen, "IAM_PUBLIC_URL: out of memory");
}

static char *def_public_url(const struct config *c)
{
	size_t len = strlen(c->listen_host) + 32;
	char *out = malloc(len);
	if (out)
		snprintf(out, len, strchr(c->listen_host, ':') ? "http://[%s]:%d" : "http://%s:%d",
			 c->listen_host, c->listen_port);
	return out;
}

/* An http(s) URL without a trailing slash, into *dst. */
static int http_url(char **dst, const char *name, const char *v, char *err, size_t errlen)
{
	if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) || strlen(v) > 512 ||
	    strpbrk(v, " \t\r\n?#"))
		return fail(err, errlen,
			    "%s: expected an http(s):// URL without query, got '%.64s'", name, v);
	size_t n = strlen(v);
	while (n > 8 && v[n - 1] == '/')
		n--;
	*dst = strndup(v, n);
	return *dst ? 0 : fail(err, errlen, "%s: out of memory", name);
}

static int parse_stripe_api_base(struct config *c, const char *v, char *err, size_t errlen)
{
	return http_url(&c->stripe_api_base, "IAM_STRIPE_API_BASE", v, err, errlen);
}

static int parse_paygate_base(struct config *c, const char *v, char *err, size_t errlen)
{
	return http_url(&c->paygate_base, "IAM_PAYGATE_BASE", v, err, errlen);
}

/* ---------- the table ---------- */

#define FIELD(f) .offset = offsetof(struct config, f), .size = sizeof(((struct config *)0)->f)

static const struct config_setting SETTINGS[] = {
    {.name = "IAM_LISTEN",
     .type = CONFIG_ADDRESS,
     FIELD(listen_host),
     .def_str = "127.0.0.1:8080",
     .parse = parse_listen,
     .doc_allowed = "`HOST:PORT`, `[IPv6]:PORT`",
     .help = "address and port (`[::1]:8080` for IPv6, `0.0.0.0:8080` for all interfaces)"},
    {.name = "IAM_DATA_DIR",
     .type = CONFIG_PATH,
     FIELD(data_dir),
     .def_str = "./data",
     .parse = parse_data_dir,
     .doc_allowed = "a directory",
     .help = "where the embedded defaults keep their files"},
    {.name = "IAM_DATABASE_URL",
     .type = CONFIG_URL,
     FIELD(database_url),
     .def_dup = def_database_url,
     .parse = parse_database_url,
     .doc_default = "`sqlite:$IAM_DATA_DIR/iam.db`",
     .doc_allowed = "`sqlite:PATH`, `postgres://`",
     .help = "the database: an SQLite file, or PostgreSQL at "
	     "`postgres://user:pass@host:port/db` "
	     "(needed to run more than one process)"},
    {.name = "IAM_JWT_SECRET",
     .type = CONFIG_SECRET,
     FIELD(jwt_secret),
     .secret = true,
     .parse = parse_jwt_secret,
     .doc_default = "generated once into the data dir",
     .doc_allowed = "32–64 characters",
     .help = "signs access tokens (set the same value on every process)"},
    {.name = "IAM_HTTP_THREADS",
     .type = CONFIG_INT,
     FIELD(http_threads),
     .min = 1,
     .max = 256,
     .def_int = def_cores,
     .doc_default = "number of cores",
     .help = "HTTP thread pool"},
    {.name = "IAM_WORKERS",
     .type = CONFIG_INT,
     FIELD(workers),
     .min = 0,
     .max = 256,
     .def_int = def_cores,
     .doc_default = "number of cores",
     .help = "job worker threads (`0` in a process that only serves the API)"},
    {.name = "IAM_DB_POOL_SIZE",
     .type = CONFIG_INT,
     FIELD(db_pool_size),
     .min = 1,
     .max = 1024,
     .def_int = def_pool,
     .doc_default = "threads + workers + 2",
     .help = "most database connections per process"},
    {.name = "IAM_MAX_UPLOAD_MB",
     .type = CONFIG_INT,
     FIELD(max_upload_mb),
     .min = 1,
     .max = 1048576,
     .def = 2048,
     .help = "largest accepted audio upload"},
    {.name = "IAM_CORS_ORIGINS",
     .type = CONFIG_LIST,
     FIELD(cors_origins),
     .parse = parse_origins,
     .doc_allowed = "up to 32 origins",
     .help = "comma-separated origins (`https://app.example.com`) allowed to call the API "
	     "from a "
	     "browser"},
    {.name = "IAM_LOG_LEVEL",
     .type = CONFIG_CHOICE,
     FIELD(log_level),
     .def_str = "info",
     .parse = parse_log_level,
     .doc_allowed = "`debug`, `info`, `warn`, `error`",
     .help = "the least important log lines written"},
    {.name = "IAM_SHUTDOWN_GRACE_S",
     .type = CONFIG_INT,
     FIELD(shutdown_grace_s),
     .min = 0,
     .max = 3600,
     .def = 30,
     .help = "how long SIGTERM waits for in-flight requests and running jobs"},
    {.name = "IAM_BLOB_URL",
     .type = CONFIG_URL,
     FIELD(blob_url),
     .def_dup = def_blob_url,
     .parse = parse_blob_url,
     .doc_default = "`file:$IAM_DATA_DIR/blobs`",
     .doc_allowed = "`file:DIR`",
     .help = "where audio is kept"},
    {.name = "IAM_ASR",
     .type = CONFIG_LIST,
     FIELD(asr),
     .def_str = "moonshine,sphinx",
     .parse = parse_asr,
     .doc_allowed = "engine names",
     .help = "speech engines, tried in order: `moonshine` (offline, English, the default), "
	     "`sphinx` "
	     "(offline PocketSphinx, English), `openai` (any OpenAI-compatible API, any "
	     "language); an "
	     "engine whose model is missing is skipped"},
    {.name = "IAM_MODELS_DIR",
     .type = CONFIG_PATH,
     FIELD(models_dir),
     .def_dup = def_models_dir,
     .doc_default = "`<binary's dir>/../models`",
     .doc_allowed = "a directory",
     .help = "where `scripts/fetch-models` puts Moonshine, Silero VAD and ONNX Runtime"},
    {.name = "IAM_ORT_LIB",
     .type = CONFIG_PATH,
     FIELD(ort_lib),
     .doc_default = "`$IAM_MODELS_DIR/libonnxruntime.so.1`",
     .doc_allowed = "a file",
     .help = "the ONNX Runtime shared library (1.16 or newer)"},
    {.name = "IAM_WEB_DIR",
     .type = CONFIG_PATH,
     FIELD(web_dir),
     .def_dup = def_web_dir,
     .empty_is_value = true,
     .doc_default = "`<binary's dir>/../web/dist`",
     .doc_allowed = "a directory, or empty",
     .help = "the built web app served at `/`; set but empty to serve the API alone"},
    {.name = "IAM_OPENAI_BASE_URL",
     .type = CONFIG_URL,
     FIELD(openai_base_url),
     .parse = parse_openai_base_url,
     .doc_allowed = "`http(s)://host/v1`",
     .help = "any OpenAI-compatible speech API (`https://api.openai.com/v1`, Groq, a "
	     "whisper.cpp "
	     "server, another IAM); needed by the `openai` engine"},
    {.name = "IAM_OPENAI_API_KEY",
     .type = CONFIG_SECRET,
     FIELD(openai_api_key),
     .secret = true,
     .doc_allowed = "text",
     .help = "its key"},
    {.name = "IAM_OPENAI_MODEL",
     .type = CONFIG_TEXT,
     FIELD(openai_model),
     .def_str = "whisper-1",
     .doc_allowed = "text",
     .help = "its model"},
    {.name = "IAM_OPENAI_TIMEOUT_S",
     .type = CONFIG_INT,
     FIELD(openai_timeout_s),
     .min = 1,
     .max = 3600,
     .def = 300,
     .help = "per request to it; timeouts, 429 and 5xx count as retryable"},
    {.name = "IAM_LLM_BASE_URL",
     .type = CONFIG_URL,
     FIELD(llm_base_url),
     .parse = parse_llm_base_url,
     .doc_allowed = "`http(s)://host/v1`",
     .help = "any OpenAI-compatible chat completions API (OpenAI, Groq, llama.cpp, Ollama) "
	     "for chat answers and summaries; unset, they are built offline from the "
	     "transcript"},
    {.name = "IAM_LLM_API_KEY",
     .type = CONFIG_SECRET,
     FIELD(llm_api_key),
     .secret = true,
     .doc_allowed = "text",
     .help = "its key"},
    {.name = "IAM_LLM_MODEL",
     .type = CONFIG_TEXT,
     FIELD(llm_model),
     .def_str = "gpt-4o-mini",
     .doc_allowed = "text",
     .help = "its model"},
    {.name = "IAM_LLM_TIMEOUT_S",
     .type = CONFIG_INT,
     FIELD(llm_timeout_s),
     .min = 1,
     .max = 600,
     .def = 30,
     .help = "longest wait for it to connect, to send the first byte, and between two "
	     "streamed chunks"},
    {.name = "IAM_LLM_CONTEXT_TOKENS",
     .type = CONFIG_INT,
     FIELD(llm_context_tokens),
     .min = 1024,
     .max = 2000000,
     .def = 8192,
     .help = "its context window; longer inputs are split to fit and the parts merged"},
    {.name = "IAM_LLM_EMBEDDING_MODEL",
     .type = CONFIG_TEXT,
     FIELD(llm_embedding_model),
     .doc_allowed = "text",
     .help = "an embeddings model of the same provider (`/embeddings`, such as "
	     "`text-embedding-3-small`): chat passages found by words are re-ranked by "
	     "meaning; unset, by words alone"},
    {.name = "IAM_JOB_LEASE_S",
     .type = CONFIG_INT,
     FIELD(job_lease_s),
     .min = 2,
     .max = 3600,
     .def = 30,
     .help = "a job whose worker stops renewing for this long is taken over by another"},
    {.name = "IAM_SYNC_TIMEOUT_S",
     .type = CONFIG_INT,
     FIELD(sync_timeout_s),
     .min = 5,
     .max = 86400,
     .def = 900,
     .help = "how long `/v1/audio/transcriptions` waits for its transcript"},
    {.name = "IAM_MAX_AUDIO_MINUTES",
     .type = CONFIG_INT,
     FIELD(max_audio_minutes),
     .min = 1,
     .max = 525600,
     .def = 600,
     .help = "longest audio accepted: a longer upload gets 422 `audio_too_long`, and "
	     "decoding stops "
	     "there whatever the file claims"},
    {.name = "IAM_JOBS_PER_ORG",
     .type = CONFIG_INT,
     FIELD(jobs_per_org),
     .min = 0,
     .max = 1024,
     .def_int = def_jobs_per_org,
     .doc_default = "half of `IAM_WORKERS`, at least 1",
     .help = "most jobs one organization runs at once, counted over all processes (`0` = "
	     "no limit); "
	     "waiting jobs are claimed from the organization running the fewest first. A "
	     "single-organization install may set it to `IAM_WORKERS`"},
    {.name = "IAM_HEADER_TIMEOUT_S",
     .type = CONFIG_INT,
     FIELD(header_timeout_s),
     .min = 1,
     .max = 300,
     .def = 10,
     .help = "a request head must arrive complete within this many seconds of the "
	     "connection opening "
	     "or the previous reply (else 408 and close; slow-header attacks); also how "
	     "long an idle "
	     "keep-alive connection stays open"},
    {.name = "IAM_MAX_CONNECTIONS",
     .type = CONFIG_INT,
     FIELD(max_connections),
     .min = 16,
     .max = 1000000,
     .def = 4096,
     .help = "connections served normally; an eighth more (at least 16) are answered 503 "
	     "and closed, "
	     "the rest refused. Lowered to fit the open-file limit if needed"},
    {.name = "IAM_MAX_CONN_PER_IP",
     .type = CONFIG_INT,
     FIELD(max_conn_per_ip),
     .min = 0,
     .max = 1000000,
     .def = 256,
     .help = "connections from one address served normally; as many again are answered "
	     "503, the rest "
	     "refused. `0` = no cap: set that (or a larger value) behind a reverse proxy, "
	     "where every "
	     "client has the proxy's address"},
    {.name = "IAM_SSE_PER_USER",
     .type = CONFIG_INT,
     FIELD(sse_per_user),
     .min = 0,
     .max = 10000,
     .def = 8,
     .help = "event streams one user may hold open (429 beyond; `0` = no cap)"},
    {.name = "IAM_SSE_PER_MEETING",
     .type = CONFIG_INT,
     FIELD(sse_per_meeting),
     .min = 0,
     .max = 10000,
     .def = 32,
     .help = "event streams open on one meeting (429 beyond; `0` = no cap)"},
    {.name = "IAM_SSE_MAX",
     .type = CONFIG_INT,
     FIELD(sse_max),
     .min = 0,
     .max = 1000000,
     .def_int = def_sse_max,
     .doc_default = "`IAM_MAX_CONNECTIONS / 4`",
     .help = "event streams open in all (429 beyond; `0` = no cap). Streams end within "
	     "about 2 s of "
	     "their session's logout"},
    {.name = "IAM_REDIS_URL",
     .type = CONFIG_URL,
     FIELD(redis_url),
     .parse = parse_redis_url,
     .doc_allowed = "`redis://`",
     .help = "share live events (WebSocket, event streams) across processes through Redis "
	     "pub/sub: `redis://[:password@]host:port[/db]`. Unset, events stay in the process; "
	     "Redis down, local delivery goes on and the bus reconnects with backoff"},
    {.name = "IAM_WS_MAX",
     .type = CONFIG_INT,
     FIELD(ws_max),
     .min = 1,
     .max = 1000000,
     .def = 20000,
     .help = "WebSockets open in all (`/api/v2/messages/ws/{user_id}`; 503 beyond)"},
    {.name = "IAM_WS_PER_USER",
     .type = CONFIG_INT,
     FIELD(ws_per_user),
     .min = 1,
     .max = 100000,
     .def = 16,
     .help = "WebSockets one user may hold open (429 beyond)"},
    {.name = "IAM_WS_PING_S",
     .type = CONFIG_INT,
     FIELD(ws_ping_s),
     .min = 1,
     .max = 3600,
     .def = 25,
     .help = "the server pings each WebSocket this often"},
    {.name = "IAM_WS_IDLE_S",
     .type = CONFIG_INT,
     FIELD(ws_idle_s),
     .min = 2,
     .max = 86400,
     .def = 75,
     .help = "a WebSocket from which nothing (not even a pong) arrives for this long is closed "
	     "(1001)"},
    {.name = "IAM_WS_AUTH_TIMEOUT_S",
     .type = CONFIG_INT,
     FIELD(ws_auth_timeout_s),
     .min = 1,
     .max = 300,
     .def = 5,
     .help =
	 "a WebSocket opened without credentials must send `{\"type\":\"auth\",\"ticket\":...}` "
	 "within this many seconds (else closed 1008)"},
    {.name = "IAM_WS_UNAUTH_PER_IP",
     .type = CONFIG_INT,
     FIELD(ws_unauth_per_ip),
     .min = 1,
     .max = 100000,
     .def = 16,
     .help = "WebSockets one client address may hold open before they authenticate (429 beyond)"},
    {.name = "IAM_WS_MAX_MESSAGE",
     .type = CONFIG_INT,
     FIELD(ws_max_message),
     .min = 128,
     .max = 16777216,
     .def = 65536,
     .help = "largest message a WebSocket client may send, in bytes (close 1009 beyond)"},
    {.name = "IAM_WS_QUEUE_BYTES",
     .type = CONFIG_INT,
     FIELD(ws_queue_bytes),
     .min = 4096,
     .max = 67108864,
     .def = 1048576,
     .help = "bytes waiting to be sent on one WebSocket; a client that does not read past "
	     "this is closed (1013)"},
    {.name = "IAM_TUS_LOCK_S",
     .type = CONFIG_INT,
     FIELD(tus_lock_s),
     .min = 2,
     .max = 600,
     .def = 30,
     .help = "lease of a tus PATCH's writer lock, renewed while it writes; a lock of a "
	     "process that "
	     "died on the same machine is taken over at once"},
    {.name = "IAM_SPOOL_ORPHAN_AGE_S",
     .type = CONFIG_INT,
     FIELD(spool_orphan_age_s),
     .min = 1,
     .max = 30L * 86400,
     .def = 3600,
     .help = "spool files (uploads in progress) not written for this long and used by no "
	     "active "
	     "upload are removed, at start-up and every minute"},
    {.name = "IAM_DISK_MIN_FREE_MB",
     .type = CONFIG_INT,
     FIELD(disk_min_free_mb),
     .min = 0,
     .max = 1048576,
     .def = 256,
     .help = "free space uploads always leave in the blob store; an upload that would not "
	     "fit gets "
	     "507"},
    {.name = "IAM_REFRESH_GRACE_S",
     .type = CONFIG_INT,
     FIELD(refresh_grace_s),
     .min = 0,
     .max = 300,
     .def = 30,
     .help = "a refresh token presented again this soon after its use (two tabs, a retried "
	     "request, "
	     "concurrent refreshes) gets the same successor instead of ending the session"},
    {.name = "IAM_TRUSTED_PROXIES",
     .type = CONFIG_LIST,
     FIELD(trusted_proxies),
     .doc_allowed = "addresses, CIDRs",
     .help = "comma-separated addresses/CIDRs of your reverse proxies (`10.0.0.0/8, ::1`); "
	     "only "
	     "requests from them have `X-Forwarded-For` (or, without it, `Forwarded`) "
	     "read, taking the "
	     "right-most address that is not a trusted proxy as the client. Without it the "
	     "headers are "
	     "ignored"},
    {.name = "IAM_REGISTER_PER_HOUR",
     .type = CONFIG_INT,
     FIELD(register_per_hour),
     .min = 0,
     .max = 1000000,
     .def = 10,
     .help = "registrations per client address per hour (`0` = no limit); beyond it 429 "
	     "`too_many_registrations` with `Retry-After`"},
    {.name = "IAM_HASH_CONCURRENCY",
     .type = CONFIG_INT,
     FIELD(hash_concurrency),
     .min = 1,
     .max = 256,
     .def_int = def_cores,
     .doc_default = "number of cores",
     .help = "password hashes (login, register, password change) running at once; at most "
	     "twice as "
	     "many more wait"},
    {.name = "IAM_HASH_WAIT_MS",
     .type = CONFIG_INT,
     FIELD(hash_wait_ms),
     .min = 0,
     .max = 60000,
     .def = 2000,
     .help = "how long a request waits for a hashing slot before 503 `server_busy` with "
	     "`Retry-After`, so a login flood cannot slow the rest of the API"},
    {.name = "IAM_SEARCH_RANK_WINDOW",
     .type = CONFIG_INT,
     FIELD(search_rank_window),
     .min = 1,
     .max = 100000,
     .def = 1200,
     .help = "most rows one search ranks: beyond this many matches only this many are ranked "
	     "and paged through (SQLite: the newest, the rows indexed last; PostgreSQL: the "
	     "first in table order, mostly the oldest); larger finds more of a very common "
	     "word's hits, at a cost about proportional to it"},
    {.name = "IAM_SMTP_URL",
     .type = CONFIG_SECRET,
     FIELD(smtp_url),
     .secret = true,
     .parse = parse_smtp_url,
     .doc_allowed = "`smtp://`, `smtps://`",
     .help = "the mail server, `smtp://user:password@host:587` (STARTTLS when the server "
	     "offers "
	     "it) or `smtps://` (TLS from the start). Without it no mail is sent: address "
	     "verification is skipped (with a warning at start-up) and invitation links "
	     "are shown "
	     "to copy"},
    {.name = "IAM_MAIL_FROM",
     .type = CONFIG_TEXT,
     FIELD(mail_from),
     .def_str = "iam@localhost",
     .parse = parse_mail_from,
     .doc_allowed = "an address",
     .help = "the sender of the mail IAM sends"},
    {.name = "IAM_PUBLIC_URL",
     .type = CONFIG_URL,
     FIELD(public_url),
     .def_dup = def_public_url,
     .parse = parse_public_url,
     .doc_default = "`http://$IAM_LISTEN`",
     .doc_allowed = "`http(s)://host[:port]`",
     .help = "where people reach the web app: links in mail and the OpenID Connect redirect "
	     "address (`$IAM_PUBLIC_URL/api/v1/auth/oidc/NAME/callback`) start with it"},
    {.name = "IAM_JOB_BACKOFF_MS",
     .type = CONFIG_INT,
     FIELD(job_backoff_ms),
     .min = 100,
     .max = 3600000,
     .def = 5000,
     .help = "a failed job (a mail the server refused, a speech API that was down) is tried "
	     "again after this long, doubling each time up to 10 minutes"},
    {.name = "IAM_AUDIT_RETENTION_DAYS",
     .type = CONFIG_INT,
     FIELD(audit_retention_days),
     .min = 0,
     .max = 36500,
     .def = 365,
     .help = "days the audit log (`GET /api/v1/audit-events`) keeps an event; older ones are "
	     "deleted by the minutely clean-up (`0` = keep for ever)"},
    {.name = "IAM_STRIPE_SECRET_KEY",
     .type = CONFIG_SECRET,
     FIELD(stripe_secret_key),
     .secret = true,
     .doc_allowed = "`sk_live_...`, `sk_test_...`",
     .help = "Stripe API key for USD subscriptions (Checkout, Customer Portal); without it "
	     "Stripe checkout answers 503 `billing_unavailable`"},
    {.name = "IAM_STRIPE_WEBHOOK_SECRET",
     .type = CONFIG_SECRET,
     FIELD(stripe_webhook_secret),
     .secret = true,
     .doc_allowed = "`whsec_...`, comma-separated",
     .help = "signing secret(s) of the Stripe webhook endpoint "
	     "`/api/v1/billing/stripe/webhook`; "
	     "give the old and the new one, comma-separated, while rolling it"},
    {.name = "IAM_STRIPE_API_BASE",
     .type = CONFIG_URL,
     FIELD(stripe_api_base),
     .def_str = "https://api.stripe.com",
     .parse = parse_stripe_api_base,
     .doc_allowed = "`http(s)://host`",
     .help = "where Stripe's API is (tests point it at a local stand-in)"},
    {.name = "IAM_PAYGATE_ID",
     .type = CONFIG_TEXT,
     FIELD(paygate_id),
     .doc_allowed = "text",
     .help = "PayGate PayWeb3 merchant id for ZAR payments; without it PayGate answers 503 "
	     "`billing_unavailable`"},
    {.name = "IAM_PAYGATE_KEY",
     .type = CONFIG_SECRET,
     FIELD(paygate_key),
     .secret = true,
     .doc_allowed = "text",
     .help = "PayGate encryption key (the MD5 checksum's secret)"},
    {.name = "IAM_PAYGATE_BASE",
     .type = CONFIG_URL,
     FIELD(paygate_base),
     .def_str = "https://secure.paygate.co.za/payweb3",
     .parse = parse_paygate_base,
     .doc_allowed = "`http(s)://host/payweb3`",
     .help = "where PayWeb3 is (`initiate.trans`, `process.trans`, `query.trans`)"},
    {.name = "IAM_BILLING_GRACE_DAYS",
     .type = CONFIG_INT,
     FIELD(billing_grace_days),
     .min = 0,
     .max = 90,
     .def = 7,
     .help = "days a past-due subscription keeps its plan before the organization falls "
	     "back to "
	     "Free (nothing is deleted)"},
    {.name = "IAM_VAT_PERCENT",
     .type = CONFIG_INT,
     FIELD(vat_percent),
     .min = 0,
     .max = 100,
     .def = 0,
     .help = "VAT included in prices, shown as a line on invoices (`15` in South Africa); "
	     "`0` = "
	     "no VAT line"},
};

const struct config_setting *config_settings(size_t *n)
{
	*n = ARRAY_LEN(SETTINGS);
	return SETTINGS;
}

static void *field(struct config *c, const struct config_setting *s)
{
	return (char *)c + s->offset;
}

/* A whole number in [min, max], or the computed default brought into that range. */
static int load_int(struct config *c, const struct config_setting *s, const char *v, long cores,
		    char *err, size_t errlen)
{
	long n;
	if (!v) {
		n = s->def_int ? s->def_int(c, cores) : s->def;
		n = n < s->min ? s->min : n > s->max ? s->max : n;
	} else if (parse_long(v, LONG_MIN, LONG_MAX, &n) < 0) {
		return fail(err, errlen, "%s: expected a whole number from %ld to %ld, got '%.64s'",
			    s->name, s->min, s->max, v);
	} else if (n < s->min || n > s->max) {
		return fail(err, errlen, "%s: %ld is out of range; allowed: %ld to %ld", s->name, n,
			    s->min, s->max);
	}
	if (s->size == sizeof(int))
		*(int *)field(c, s) = (int)n;
	else
		*(long *)field(c, s) = n;
	return 0;
}

static int load_other(struct config *c, const struct config_setting *s, const char *v, char *err,
		      size_t errlen)
{
	if (!v && s->def_dup) {
		char *d = s->def_dup(c);
		*(char **)field(c, s) = d;
		return d ? 0 : fail(err, errlen, "%s: out of memory", s->name);
	}
	if (!v)
		v = s->def_str;
	if (!v)
		return 0;
	if (s->parse)
		return s->parse(c, v, err, errlen);
	char *d = strdup(v);
	*(char **)field(c, s) = d;
	return d ? 0 : fail(err, errlen, "%s: out of memory", s->name);
}

int config_load(struct config *c, config_getenv_fn get, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cores < 1)
		cores = 1;

	/* In table order: a computed default reads only settings above it. */
	for (size_t i = 0; i < ARRAY_LEN(SETTINGS); i++) {
		const struct config_setting *s = &SETTINGS[i];
		const char *v = get(s->name);
		if (v && !*v && !s->empty_is_value)
			v = NULL; /* an exported but empty variable means "not set" */
		int rc = s->type == CONFIG_INT ? load_int(c, s, v, cores, err, errlen)
					       : load_other(c, s, v, err, errlen);
		if (rc < 0)
			return -1;
	}
	if (strstr(c->asr, "openai") && !c->openai_base_url)
		return fail(err, errlen, "IAM_ASR: the openai engine needs IAM_OPENAI_BASE_URL");
	return 0;
}

/* ---------- describing the table: `iamd help config` and README.md ---------- */

const char *config_allowed(const struct config_setting *s, char *out, size_t len)
{
	if (s->type == CONFIG_INT)
		snprintf(out, len, "%ld–%ld", s->min, s->max);
	else
		snprintf(out, len, "%s", s->doc_allowed ? s->doc_allowed : "");
	return out;
}

static void default_text(const struct config_setting *s, char *out, size_t len)
{
	if (s->doc_default)
		snprintf(out, len, "%s", s->doc_default);
	else if (s->type == CONFIG_INT)
		snprintf(out, len, "`%ld`", s->def);
	else if (s->def_str)
		snprintf(out, len, "`%s`", s->def_str);
	else
		snprintf(out, len, "none");
}

/* Markdown to plain text: without the backquotes. */
static void plain(const char *in, char *out, size_t len)
{
	size_t o = 0;
	for (; *in && o + 1 < len; in++)
		if (*in != '`')
			out[o++] = *in;
	out[o] = '\0';
}

/* text, words wrapped at width, every line indented by indent. */
static void put_wrapped(FILE *f, const char *text, int indent, int width)
{
	int col = 0;
	while (*text) {
		size_t w = strcspn(text, " ");
		if (col > indent && col + 1 + (int)w > width) {
			fputc('\n', f);
			col = 0;
		}
		if (col == 0)
			col = fprintf(f, "%*s", indent, "");
		else
			col += fprintf(f, " ");
		col += fprintf(f, "%.*s", (int)w, text);
		text += w;
		while (*text == ' ')
			text++;
	}
	fputc('\n', f);
}

int config_describe(FILE *out, bool markdown)
{
	char def[256], allowed[256], a[256], b[256];
	if (markdown)
		fputs("| variable | default | allowed | meaning |\n|---|---|---|---|\n", out);
	else
		fputs("Settings are IAM_* environment variables; an unset or empty one "
		      "takes its\n"
		      "default. A bad or out-of-range value stops start-up with a line "
		      "naming it.\n",
		      out);
	for (size_t i = 0; i < ARRAY_LEN(SETTINGS); i++) {
		const struct config_setting *s = &SETTINGS[i];
		default_text(s, def, sizeof def);
		config_allowed(s, allowed, sizeof allowed);
		if (markdown) {
			fprintf(out, "| `%s` | %s | %s | %s |\n", s->name, def, allowed, s->help);
			continue;
		}
		plain(def, a, sizeof a);
		plain(allowed, b, sizeof b);
		fprintf(out, "\n  %s\n", s->name);
		char line[600];
		snprintf(line, sizeof line, "default: %s; allowed: %s", a, b);
		put_wrapped(out, line, 6, 79);
		size_t hl = strlen(s->help) + 1;
		char *h = malloc(hl);
		if (!h)
			return -1;
		plain(s->help, h, hl);
		put_wrapped(out, h, 6, 79);
		free(h);
	}
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	/* Every setting kept as text owns its string (the CORS list is an array of them).
	 */
	for (size_t i = 0; i < ARRAY_LEN(SETTINGS); i++) {
		const struct config_setting *s = &SETTINGS[i];
		if (s->type == CONFIG_INT || s->type == CONFIG_CHOICE || s->size != sizeof(char *))
			continue;
		char **p = field(c, s);
		if (*p && s->secret)
			explicit_bzero(*p, strlen(*p));
		free(*p);
	}
	for (size_t i = 0; i < c->cors_count; i++)
		free(c->cors_origins[i]);
	memset(c, 0, sizeof *c);
}
