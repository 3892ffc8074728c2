/*
 * Unit tests for core/config: defaults, every variable's valid forms, every
 * bad value refused with an error naming the variable, CORS list parsing,
 * config_free after a load that failed half-way (run under ASan), and the
 * settings table: its bounds and types, `iamd help config` and README.md's
 * table generated from it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/macros.h"

/* ---------- a fake environment ---------- */

#define ENV_MAX 32

static struct {
	const char *name;
	const char *value;
} g_env[ENV_MAX];
static size_t g_nenv;

static const char *fake_getenv(const char *name)
{
	for (size_t i = 0; i < g_nenv; i++)
		if (strcmp(g_env[i].name, name) == 0)
			return g_env[i].value;
	return NULL;
}

static void env_clear(void)
{
	g_nenv = 0;
}

static void env_set(const char *name, const char *value)
{
	for (size_t i = 0; i < g_nenv; i++)
		if (strcmp(g_env[i].name, name) == 0) {
			g_env[i].value = value;
			return;
		}
	assert_true(g_nenv < ENV_MAX);
	g_env[g_nenv].name = name;
	g_env[g_nenv].value = value;
	g_nenv++;
}

static int reset(void **state)
{
	env_clear();
	return 0;
}

static long cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n;
}

/* Load with only name=value set; it must succeed. Caller frees c. */
static void load_ok(struct config *c, const char *name, const char *value)
{
	char err[256] = "";
	env_clear();
	if (name)
		env_set(name, value);
	int rc = config_load(c, fake_getenv, err, sizeof err);
	if (rc != 0)
		fail_msg("%s='%s' refused: %s", name ? name : "(nothing)", value ? value : "", err);
}

/* name=value (with whatever else is in the env) must be refused, naming name. */
static void expect_bad_env(const char *name, const char *value)
{
	struct config c;
	char err[256];
	memset(err, 'X', sizeof err);
	err[sizeof err - 1] = '\0';
	env_set(name, value);
	int rc = config_load(&c, fake_getenv, err, sizeof err);
	config_free(&c);
	if (rc != -1)
		fail_msg("%s='%.80s' was accepted", name, value);
	size_t n = strlen(name);
	if (strncmp(err, name, n) != 0 || err[n] != ':')
		fail_msg("%s='%.80s': error does not start with '%s:': %s", name, value, name, err);
}

static void expect_bad(const char *name, const char *value)
{
	env_clear();
	expect_bad_env(name, value);
}

/* ---------- defaults ---------- */

static void check_defaults(const struct config *c)
{
	assert_string_equal(c->listen_host, "127.0.0.1");
	assert_int_equal(c->listen_port, 8080);
	assert_string_equal(c->data_dir, "./data");
	assert_string_equal(c->database_url, "sqlite:./data/iam.db");
	assert_null(c->jwt_secret);
	assert_int_equal(c->http_threads, cores());
	assert_int_equal(c->workers, cores());
	assert_int_equal(c->db_pool_size, c->http_threads + c->workers + 2);
	assert_int_equal(c->max_upload_mb, 2048);
	assert_int_equal(c->log_level, LOG_INFO);
	assert_int_equal(c->cors_count, 0);
	assert_null(c->cors_origins[0]);
	assert_null(c->redis_url);
	assert_int_equal(c->shutdown_grace_s, 30);
}

static void test_defaults(void **state)
{
	struct config c;
	load_ok(&c, NULL, NULL);
	check_defaults(&c);
	config_free(&c);
}

static void test_empty_values_are_defaults(void **state)
{
	/* An exported but empty variable means "not set". */
	const char *names[] = {"IAM_LISTEN",	   "IAM_DATA_DIR",	"IAM_DATABASE_URL",
			       "IAM_JWT_SECRET",   "IAM_HTTP_THREADS",	"IAM_WORKERS",
			       "IAM_DB_POOL_SIZE", "IAM_MAX_UPLOAD_MB", "IAM_LOG_LEVEL",
			       "IAM_CORS_ORIGINS", "IAM_REDIS_URL",	"IAM_SHUTDOWN_GRACE_S"};
	struct config c;
	char err[256] = "";
	env_clear();
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		env_set(names[i], "");
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), 0);
	check_defaults(&c);
	config_free(&c);
}

static void test_data_dir_drives_database_url(void **state)
{
	struct config c;
	load_ok(&c, "IAM_DATA_DIR", "/var/lib/iam");
	assert_string_equal(c.data_dir, "/var/lib/iam");
	assert_string_equal(c.database_url, "sqlite:/var/lib/iam/iam.db");
	config_free(&c);

	/* An explicit database URL wins over the data dir. */
	char err[256];
	env_clear();
	env_set("IAM_DATA_DIR", "/srv/iam");
	env_set("IAM_DATABASE_URL", "postgres://iam:pw@db:5432/iam");
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), 0);
	assert_string_equal(c.data_dir, "/srv/iam");
	assert_string_equal(c.database_url, "postgres://iam:pw@db:5432/iam");
	config_free(&c);

	/* A data dir too long to build paths under is refused. */
	char *longdir = malloc(5000);
	assert_non_null(longdir);
	memset(longdir, 'd', 4999);
	longdir[0] = '/';
	longdir[4999] = '\0';
	expect_bad("IAM_DATA_DIR", longdir);
	free(longdir);
}

/* ---------- IAM_LISTEN ---------- */

static void test_listen_valid(void **state)
{
	struct {
		const char *in, *host;
		int port;
	} cases[] = {
	    {"127.0.0.1:8080", "127.0.0.1", 8080},
	    {"0.0.0.0:80", "0.0.0.0", 80},
	    {"[::1]:9000", "::1", 9000},
	    {"[::]:443", "::", 443},
	    {"[fe80::1:2]:1", "fe80::1:2", 1},
	    {":9000", "127.0.0.1", 9000}, /* all interfaces is never implied */
	    {"localhost:65535", "localhost", 65535},
	    {"api-1.internal_net.example:3000", "api-1.internal_net.example", 3000},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct config c;
		load_ok(&c, "IAM_LISTEN", cases[i].in);
		assert_string_equal(c.listen_host, cases[i].host);
		assert_int_equal(c.listen_port, cases[i].port);
		config_free(&c);
	}
}

static void test_listen_bad(void **state)
{
	const char *bad[] = {
	    "nonsense",			      /* no port */
	    "127.0.0.1:0",		      /* port 0 */
	    "127.0.0.1:70000",		      /* port too large */
	    "127.0.0.1:65536",		      /* one too large */
	    "127.0.0.1:-1",		      /* negative */
	    "host:",			      /* empty port */
	    ":",			      /* nothing */
	    "8080",			      /* port alone, no colon */
	    "127.0.0.1:80x",		      /* trailing junk */
	    "127.0.0.1: 80",		      /* space */
	    "127.0.0.1:80 ",		      /* space */
	    "::1:9000",			      /* IPv6 needs brackets */
	    "[::1]9000",		      /* no colon after the bracket */
	    "[::1]:",			      /* empty port */
	    "[::1",			      /* unclosed */
	    "[]:80",			      /* empty host */
	    "a b:80",			      /* space in host */
	    "evil/host:80",		      /* slash in host */
	    "host;rm -rf:80",		      /* shell characters */
	    "[::1%eth0/x]:80",		      /* slash inside brackets */
	    "127.0.0.1:99999999999999999999", /* overflows long */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_bad("IAM_LISTEN", bad[i]);

	/* A host longer than any real one. */
	char longhost[400];
	memset(longhost, 'h', 300);
	strcpy(longhost + 300, ":80");
	expect_bad("IAM_LISTEN", longhost);
	char longv6[400];
	longv6[0] = '[';
	memset(longv6 + 1, 'a', 300);
	strcpy(longv6 + 301, "]:80");
	expect_bad("IAM_LISTEN", longv6);
}

/* ---------- integers ---------- */

static void test_threads_and_workers(void **state)
{
	struct config c;
	char err[256];

	load_ok(&c, "IAM_HTTP_THREADS", "1");
	assert_int_equal(c.http_threads, 1);
	assert_int_equal(c.db_pool_size, 1 + cores() + 2);
	config_free(&c);
	load_ok(&c, "IAM_HTTP_THREADS", "256");
	assert_int_equal(c.http_threads, 256);
	config_free(&c);
	load_ok(&c, "IAM_WORKERS", "0"); /* an api-only process */
	assert_int_equal(c.workers, 0);
	config_free(&c);
	load_ok(&c, "IAM_WORKERS", "256");
	assert_int_equal(c.workers, 256);
	config_free(&c);

	/* The pool default follows the values given. */
	env_clear();
	env_set("IAM_HTTP_THREADS", "3");
	env_set("IAM_WORKERS", "0");
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), 0);
	assert_int_equal(c.db_pool_size, 5);
	config_free(&c);
	env_set("IAM_DB_POOL_SIZE", "7");
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), 0);
	assert_int_equal(c.db_pool_size, 7);
	config_free(&c);

	const char *bad_threads[] = {"0",
				     "abc",
				     " 4",
				     "4 ",
				     "999",
				     "257",
				     "-1",
				     "4x",
				     "1e2",
				     "0x10",
				     "3.5",
				     "\t4",
				     "99999999999999999999999"};
	for (size_t i = 0; i < sizeof bad_threads / sizeof bad_threads[0]; i++)
		expect_bad("IAM_HTTP_THREADS", bad_threads[i]);

	const char *bad_workers[] = {"-1", "257", "many", " 1"};
	for (size_t i = 0; i < sizeof bad_workers / sizeof bad_workers[0]; i++)
		expect_bad("IAM_WORKERS", bad_workers[i]);

	const char *bad_pool[] = {"0", "-3", "1025", "ten"};
	for (size_t i = 0; i < sizeof bad_pool / sizeof bad_pool[0]; i++)
		expect_bad("IAM_DB_POOL_SIZE", bad_pool[i]);
}

static void test_max_upload_and_grace(void **state)
{
	struct config c;
	load_ok(&c, "IAM_MAX_UPLOAD_MB", "1");
	assert_int_equal(c.max_upload_mb, 1);
	config_free(&c);
	load_ok(&c, "IAM_MAX_UPLOAD_MB", "1048576");
	assert_int_equal(c.max_upload_mb, 1048576);
	config_free(&c);
	load_ok(&c, "IAM_SHUTDOWN_GRACE_S", "0");
	assert_int_equal(c.shutdown_grace_s, 0);
	config_free(&c);
	load_ok(&c, "IAM_SHUTDOWN_GRACE_S", "3600");
	assert_int_equal(c.shutdown_grace_s, 3600);
	config_free(&c);

	const char *bad_upload[] = {"0", "-1", "1048577", "2GB", "2048 "};
	for (size_t i = 0; i < sizeof bad_upload / sizeof bad_upload[0]; i++)
		expect_bad("IAM_MAX_UPLOAD_MB", bad_upload[i]);
	const char *bad_grace[] = {"-1", "3601", "soon"};
	for (size_t i = 0; i < sizeof bad_grace / sizeof bad_grace[0]; i++)
		expect_bad("IAM_SHUTDOWN_GRACE_S", bad_grace[i]);
}

/* ---------- strings ---------- */

static void test_log_level(void **state)
{
	struct {
		const char *in;
		int lvl;
	} cases[] = {{"debug", LOG_DEBUG},
		     {"info", LOG_INFO},
		     {"warn", LOG_WARN},
		     {"warning", LOG_WARN},
		     {"error", LOG_ERROR}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct config c;
		load_ok(&c, "IAM_LOG_LEVEL", cases[i].in);
		assert_int_equal(c.log_level, cases[i].lvl);
		config_free(&c);
	}
	const char *bad[] = {"loud", "trace", "info ", "0", "err"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_bad("IAM_LOG_LEVEL", bad[i]);
}

static void test_database_url(void **state)
{
	const char *good[] = {"sqlite:/tmp/x.db", "sqlite:relative.db",
			      "sqlite::memory:", "postgres://u:p@h:5432/db",
			      "postgresql://localhost/iam"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct config c;
		load_ok(&c, "IAM_DATABASE_URL", good[i]);
		assert_string_equal(c.database_url, good[i]);
		config_free(&c);
	}
	const char *bad[] = {"mysql://x",      "sqlite:",	  "sqlite",   "SQLITE:/x",
			     "postgres:/h/db", "/var/lib/iam.db", "http://db"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_bad("IAM_DATABASE_URL", bad[i]);
}

static void test_jwt_secret(void **state)
{
	char s[80];
	struct config c;

	memset(s, 'k', 32);
	s[32] = '\0';
	load_ok(&c, "IAM_JWT_SECRET", s);
	assert_string_equal(c.jwt_secret, s);
	config_free(&c);
	memset(s, 'k', 64);
	s[64] = '\0';
	load_ok(&c, "IAM_JWT_SECRET", s);
	assert_string_equal(c.jwt_secret, s);
	config_free(&c);

	expect_bad("IAM_JWT_SECRET", "short");
	memset(s, 'q', 31);
	s[31] = '\0';
	expect_bad("IAM_JWT_SECRET", s);
	memset(s, 'q', 65);
	s[65] = '\0';
	expect_bad("IAM_JWT_SECRET", s);

	/* The refusal never repeats the secret. */
	char err[256];
	env_clear();
	env_set("IAM_JWT_SECRET", "hunter2-but-not-long-enough");
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), -1);
	config_free(&c);
	assert_null(strstr(err, "hunter2"));
}

static void test_redis_url(void **state)
{
	struct config c;
	load_ok(&c, "IAM_REDIS_URL", "redis://localhost:6379");
	assert_string_equal(c.redis_url, "redis://localhost:6379");
	config_free(&c);
	load_ok(&c, "IAM_REDIS_URL", "rediss://cache.example:6380/0");
	assert_string_equal(c.redis_url, "rediss://cache.example:6380/0");
	config_free(&c);

	const char *bad[] = {"http://x", "localhost:6379", "redis:/x", "REDIS://x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_bad("IAM_REDIS_URL", bad[i]);
}

/* ---------- CORS ---------- */

static void test_cors_parsing(void **state)
{
	struct config c;
	load_ok(&c, "IAM_CORS_ORIGINS",
		" http://a.example ,https://b.example:8443,, ,\thttp://[::1]:3000 ,");
	assert_int_equal(c.cors_count, 3);
	assert_string_equal(c.cors_origins[0], "http://a.example");
	assert_string_equal(c.cors_origins[1], "https://b.example:8443");
	assert_string_equal(c.cors_origins[2], "http://[::1]:3000");
	assert_null(c.cors_origins[3]);
	config_free(&c);

	load_ok(&c, "IAM_CORS_ORIGINS", "https://only.example");
	assert_int_equal(c.cors_count, 1);
	assert_string_equal(c.cors_origins[0], "https://only.example");
	config_free(&c);

	/* Only separators: no origins, not an error. */
	load_ok(&c, "IAM_CORS_ORIGINS", " , ,,");
	assert_int_equal(c.cors_count, 0);
	config_free(&c);
}

static void test_cors_bad(void **state)
{
	const char *bad[] = {
	    "http://a.example/path",
	    "https://a.example/",
	    "a.example",
	    "//a.example",
	    "ftp://a.example",
	    "http://",
	    "https://",
	    "*",
	    "http://user@a.example",
	    "http://a.example?x=1",
	    "http://a.example#f",
	    "http://ok.example, nope",
	    "http://a .example",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_bad("IAM_CORS_ORIGINS", bad[i]);
}

static void test_cors_limit(void **state)
{
	char list[CONFIG_MAX_ORIGINS * 40 + 64] = "";
	for (int i = 0; i < CONFIG_MAX_ORIGINS; i++) {
		char one[40];
		snprintf(one, sizeof one, "%shttps://o%d.example", i ? "," : "", i);
		strcat(list, one);
	}
	struct config c;
	load_ok(&c, "IAM_CORS_ORIGINS", list);
	assert_int_equal(c.cors_count, CONFIG_MAX_ORIGINS);
	assert_string_equal(c.cors_origins[CONFIG_MAX_ORIGINS - 1], "https://o31.example");
	config_free(&c);

	strcat(list, ",https://one-too-many.example");
	expect_bad("IAM_CORS_ORIGINS", list);
	/* Empty items do not count towards the limit. */
	char padded[sizeof list + 16];
	snprintf(padded, sizeof padded, ",, ,%s", list);
	expect_bad("IAM_CORS_ORIGINS", padded);
}

/* ---------- error handling ---------- */

static void test_each_error_names_its_variable(void **state)
{
	/* Valid values everywhere, then one bad one at a time, in every position. */
	struct {
		const char *name, *good, *bad;
	} vars[] = {
	    {"IAM_LISTEN", "[::1]:9000", "nonsense"},
	    {"IAM_DATA_DIR", "/tmp/iam", NULL},
	    {"IAM_DATABASE_URL", "sqlite:/tmp/iam/x.db", "mysql://x"},
	    {"IAM_JWT_SECRET", "0123456789abcdef0123456789abcdef", "short"},
	    {"IAM_HTTP_THREADS", "2", "0"},
	    {"IAM_WORKERS", "1", "-1"},
	    {"IAM_DB_POOL_SIZE", "9", "0"},
	    {"IAM_MAX_UPLOAD_MB", "10", "0"},
	    {"IAM_SHUTDOWN_GRACE_S", "5", "-5"},
	    {"IAM_LOG_LEVEL", "warn", "loud"},
	    {"IAM_CORS_ORIGINS", "http://ok.example", "ok.example"},
	    {"IAM_REDIS_URL", "redis://r:6379", "http://x"},
	};
	size_t n = sizeof vars / sizeof vars[0];
	for (size_t k = 0; k < n; k++) {
		if (!vars[k].bad)
			continue;
		env_clear();
		for (size_t i = 0; i < n; i++)
			env_set(vars[i].name, vars[i].good);
		expect_bad_env(vars[k].name, vars[k].bad);
	}
	/* And all good together loads. */
	struct config c;
	char err[256];
	env_clear();
	for (size_t i = 0; i < n; i++)
		env_set(vars[i].name, vars[i].good);
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), 0);
	assert_string_equal(c.listen_host, "::1");
	assert_int_equal(c.db_pool_size, 9);
	assert_int_equal(c.log_level, LOG_WARN);
	assert_int_equal(c.cors_count, 1);
	config_free(&c);
}

static void test_small_error_buffer(void **state)
{
	struct config c;
	char err[12];
	memset(err, 'Z', sizeof err);
	env_clear();
	env_set("IAM_LISTEN", "nonsense");
	assert_int_equal(config_load(&c, fake_getenv, err, 8), -1);
	config_free(&c);
	assert_string_equal(err, "IAM_LIS"); /* truncated, terminated, not overrun */
	assert_int_equal(err[8], 'Z');
}

/*
 * Loads that fail after earlier settings were allocated: config_free must
 * release all of it (ASan's leak checker fails the run otherwise), and a
 * second config_free is harmless.
 */
static void test_free_after_partial_load(void **state)
{
	struct config c;
	char err[256];

	/* Fails on the last setting read, after every string was allocated. */
	env_clear();
	env_set("IAM_LISTEN", "0.0.0.0:9000");
	env_set("IAM_DATA_DIR", "/tmp/partial");
	env_set("IAM_JWT_SECRET", "0123456789abcdef0123456789abcdef");
	env_set("IAM_CORS_ORIGINS", "http://a.example,http://b.example");
	env_set("IAM_REDIS_URL", "http://not-redis");
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), -1);
	config_free(&c);
	config_free(&c);
	assert_null(c.listen_host);
	assert_int_equal(c.cors_count, 0);

	/* Fails in the middle of the origin list, after some were copied. */
	env_clear();
	env_set("IAM_CORS_ORIGINS", "http://a.example,http://b.example,bad,http://c.example");
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), -1);
	config_free(&c);

	/* Fails on the 33rd origin: 32 copies to release. */
	char list[CONFIG_MAX_ORIGINS * 40 + 64] = "";
	for (int i = 0; i <= CONFIG_MAX_ORIGINS; i++) {
		char one[40];
		snprintf(one, sizeof one, "%shttps://o%d.example", i ? "," : "", i);
		strcat(list, one);
	}
	env_set("IAM_CORS_ORIGINS", list);
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), -1);
	config_free(&c);

	/* Fails on the database URL, after the listen host and data dir. */
	env_clear();
	env_set("IAM_DATABASE_URL", "sqlite:");
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), -1);
	config_free(&c);

	/* Fails on the first setting: nothing was allocated. */
	env_clear();
	env_set("IAM_LISTEN", ":0");
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), -1);
	config_free(&c);

	/* config_load overwrites whatever the struct held; config_free(NULL) is a no-op. */
	memset(&c, 0xA5, sizeof c);
	env_clear();
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), 0);
	config_free(&c);
	config_free(NULL);
}

/* ---------- the settings table ---------- */

static const struct config_setting *setting(const char *name)
{
	size_t n;
	const struct config_setting *t = config_settings(&n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].name, name))
			return &t[i];
	fail_msg("%s is not in the settings table", name);
	return NULL;
}

static long int_field(const struct config *c, const struct config_setting *s)
{
	const char *p = (const char *)c + s->offset;
	return s->size == sizeof(int) ? *(const int *)p : *(const long *)p;
}

static void test_table_well_formed(void **state)
{
	size_t n;
	const struct config_setting *t = config_settings(&n);
	assert_true(n >=
		    39); /* every variable iamd read before the table existed, and IAM_WEB_DIR */
	for (size_t i = 0; i < n; i++) {
		const struct config_setting *s = &t[i];
		assert_non_null(s->name);
		assert_memory_equal(s->name, "IAM_", 4);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(t[j].name, s->name))
				fail_msg("%s is in the table twice", s->name);
		if (!s->help || !*s->help || strchr(s->help, '|') || strchr(s->help, '\n'))
			fail_msg("%s: help must be one line of Markdown without '|'", s->name);
		assert_true(s->offset + s->size <= sizeof(struct config));
		if (s->type == CONFIG_INT) {
			assert_true(s->size == sizeof(int) || s->size == sizeof(long));
			assert_true(s->min <= s->max);
			if (s->size == sizeof(int))
				assert_true(s->min >= INT32_MIN && s->max <= INT32_MAX);
			if (!s->def_int && (s->def < s->min || s->def > s->max))
				fail_msg("%s: default %ld outside %ld..%ld", s->name, s->def,
					 s->min, s->max);
			if (s->def_int && !s->doc_default)
				fail_msg("%s: a computed default needs doc_default", s->name);
		} else {
			if (!s->doc_allowed)
				fail_msg("%s: doc_allowed is missing", s->name);
			if (s->def_dup && !s->doc_default)
				fail_msg("%s: a computed default needs doc_default", s->name);
		}
	}
	/* Names the code and operators already use, each with its default unchanged. */
	const char *names[] = {
	    "IAM_LISTEN",
	    "IAM_DATA_DIR",
	    "IAM_DATABASE_URL",
	    "IAM_JWT_SECRET",
	    "IAM_HTTP_THREADS",
	    "IAM_WORKERS",
	    "IAM_DB_POOL_SIZE",
	    "IAM_MAX_UPLOAD_MB",
	    "IAM_CORS_ORIGINS",
	    "IAM_LOG_LEVEL",
	    "IAM_SHUTDOWN_GRACE_S",
	    "IAM_BLOB_URL",
	    "IAM_ASR",
	    "IAM_MODELS_DIR",
	    "IAM_ORT_LIB",
	    "IAM_WEB_DIR",
	    "IAM_OPENAI_BASE_URL",
	    "IAM_OPENAI_API_KEY",
	    "IAM_OPENAI_MODEL",
	    "IAM_OPENAI_TIMEOUT_S",
	    "IAM_LLM_BASE_URL",
	    "IAM_LLM_API_KEY",
	    "IAM_LLM_MODEL",
	    "IAM_LLM_TIMEOUT_S",
	    "IAM_LLM_CONTEXT_TOKENS",
	    "IAM_LLM_EMBEDDING_MODEL",
	    "IAM_JOB_LEASE_S",
	    "IAM_SYNC_TIMEOUT_S",
	    "IAM_MAX_AUDIO_MINUTES",
	    "IAM_JOBS_PER_ORG",
	    "IAM_HEADER_TIMEOUT_S",
	    "IAM_MAX_CONNECTIONS",
	    "IAM_MAX_CONN_PER_IP",
	    "IAM_SSE_PER_USER",
	    "IAM_SSE_PER_MEETING",
	    "IAM_SSE_MAX",
	    "IAM_REDIS_URL",
	    "IAM_WS_MAX",
	    "IAM_WS_PER_USER",
	    "IAM_WS_PING_S",
	    "IAM_WS_IDLE_S",
	    "IAM_WS_MAX_MESSAGE",
	    "IAM_WS_QUEUE_BYTES",
	    "IAM_WS_AUTH_TIMEOUT_S",
	    "IAM_WS_UNAUTH_PER_IP",
	    "IAM_TUS_LOCK_S",
	    "IAM_SPOOL_ORPHAN_AGE_S",
	    "IAM_DISK_MIN_FREE_MB",
	    "IAM_REFRESH_GRACE_S",
	    "IAM_TRUSTED_PROXIES",
	    "IAM_REGISTER_PER_HOUR",
	    "IAM_HASH_CONCURRENCY",
	    "IAM_HASH_WAIT_MS",
	    "IAM_SEARCH_RANK_WINDOW",
	    "IAM_SMTP_URL",
	    "IAM_MAIL_FROM",
	    "IAM_PUBLIC_URL",
	    "IAM_JOB_BACKOFF_MS",
	    "IAM_AUDIT_RETENTION_DAYS",
	    "IAM_STRIPE_SECRET_KEY",
	    "IAM_STRIPE_WEBHOOK_SECRET",
	    "IAM_STRIPE_API_BASE",
	    "IAM_PAYGATE_ID",
	    "IAM_PAYGATE_KEY",
	    "IAM_PAYGATE_BASE",
	    "IAM_BILLING_GRACE_DAYS",
	    "IAM_VAT_PERCENT",
	};
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		setting(names[i]);
	assert_int_equal(ARRAY_LEN(names), n);
}

/* Every number: both ends accepted, one past either end refused naming the variable and range. */
static void test_int_bounds_from_table(void **state)
{
	size_t n;
	const struct config_setting *t = config_settings(&n);
	size_t checked = 0;
	for (size_t i = 0; i < n; i++) {
		const struct config_setting *s = &t[i];
		if (s->type != CONFIG_INT)
			continue;
		checked++;
		char v[32], want[96], err[256];
		struct config c;
		long ends[] = {s->min, s->max};
		for (size_t k = 0; k < ARRAY_LEN(ends); k++) {
			snprintf(v, sizeof v, "%ld", ends[k]);
			load_ok(&c, s->name, v);
			assert_int_equal(int_field(&c, s), ends[k]);
			config_free(&c);
		}
		long outside[] = {s->min - 1, s->max + 1};
		for (size_t k = 0; k < ARRAY_LEN(outside); k++) {
			snprintf(v, sizeof v, "%ld", outside[k]);
			expect_bad(s->name, v);
			env_clear();
			env_set(s->name, v);
			assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), -1);
			config_free(&c);
			snprintf(want, sizeof want, "%s: %ld is out of range; allowed: %ld to %ld",
				 s->name, outside[k], s->min, s->max);
			assert_string_equal(err, want);
		}
		/* Not a number at all: the range is named too. */
		const char *junk[] = {
		    "ten", "1.5", "+1", " 1", "1 ", "0x10", "99999999999999999999999"};
		for (size_t k = 0; k < ARRAY_LEN(junk); k++) {
			expect_bad(s->name, junk[k]);
			env_clear();
			env_set(s->name, junk[k]);
			assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), -1);
			config_free(&c);
			snprintf(want, sizeof want, "%s: expected a whole number from %ld to %ld",
				 s->name, s->min, s->max);
			if (strncmp(err, want, strlen(want)) != 0)
				fail_msg("%s='%s': %s", s->name, junk[k], err);
		}
		/* A fixed default is what an unset variable gives. */
		if (!s->def_int) {
			load_ok(&c, NULL, NULL);
			assert_int_equal(int_field(&c, s), s->def);
			config_free(&c);
		}
	}
	assert_true(checked >= 23);
}

static void test_defaults_kept(void **state)
{
	/* The defaults operators rely on, written out so a table edit cannot move them silently. */
	struct config c;
	load_ok(&c, NULL, NULL);
	assert_int_equal(c.max_upload_mb, 2048);
	assert_int_equal(c.openai_timeout_s, 300);
	assert_int_equal(c.job_lease_s, 30);
	assert_int_equal(c.sync_timeout_s, 900);
	assert_int_equal(c.max_audio_minutes, 600);
	assert_int_equal(c.jobs_per_org, cores() / 2 > 1 ? cores() / 2 : 1);
	assert_int_equal(c.refresh_grace_s, 30);
	assert_int_equal(c.header_timeout_s, 10);
	assert_int_equal(c.max_connections, 4096);
	assert_int_equal(c.max_conn_per_ip, 256);
	assert_int_equal(c.sse_per_user, 8);
	assert_int_equal(c.sse_per_meeting, 32);
	assert_int_equal(c.sse_max, 1024);
	assert_int_equal(c.tus_lock_s, 30);
	assert_int_equal(c.spool_orphan_age_s, 3600);
	assert_int_equal(c.disk_min_free_mb, 256);
	assert_int_equal(c.register_per_hour, 10);
	assert_int_equal(c.hash_concurrency, cores());
	assert_int_equal(c.hash_wait_ms, 2000);
	assert_string_equal(c.asr, "moonshine,sphinx");
	assert_string_equal(c.openai_model, "whisper-1");
	assert_string_equal(c.blob_url, "file:./data/blobs");
	assert_null(c.openai_base_url);
	assert_null(c.openai_api_key);
	assert_null(c.ort_lib);
	assert_null(c.trusted_proxies);
	size_t wl = strlen(c.web_dir), ml = strlen(c.models_dir);
	assert_true(wl > 9 && !strcmp(c.web_dir + wl - 9, "/web/dist"));
	assert_true(ml > 7 && !strcmp(c.models_dir + ml - 7, "/models"));
	config_free(&c);
}

/* Defaults computed from settings read before them. */
static void test_computed_defaults(void **state)
{
	struct config c;
	char err[256];
	env_clear();
	env_set("IAM_WORKERS", "9");
	env_set("IAM_MAX_CONNECTIONS", "100");
	env_set("IAM_DATA_DIR", "/srv/x");
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), 0);
	assert_int_equal(c.jobs_per_org, 4);
	assert_int_equal(c.sse_max, 25);
	assert_string_equal(c.blob_url, "file:/srv/x/blobs");
	config_free(&c);

	load_ok(&c, "IAM_WORKERS", "0");
	assert_int_equal(c.jobs_per_org, 1);
	config_free(&c);

	/* IAM_WEB_DIR is the one setting where empty is a value: no web app. */
	load_ok(&c, "IAM_WEB_DIR", "");
	assert_string_equal(c.web_dir, "");
	config_free(&c);
	load_ok(&c, "IAM_WEB_DIR", "/srv/web");
	assert_string_equal(c.web_dir, "/srv/web");
	config_free(&c);

	/* Checked after every setting is read, whatever order they come in. */
	expect_bad("IAM_ASR", "openai,sphinx");
	env_clear();
	env_set("IAM_ASR", "openai");
	env_set("IAM_OPENAI_BASE_URL", "https://api.example/v1");
	env_set("IAM_OPENAI_API_KEY", "sk-test");
	assert_int_equal(config_load(&c, fake_getenv, err, sizeof err), 0);
	assert_string_equal(c.openai_api_key, "sk-test");
	config_free(&c);
}

/* The whole output of config_describe as a string; caller frees. */
static char *describe(bool markdown)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(config_describe(f, markdown), 0);
	fclose(f);
	return text;
}

static void test_markdown_table(void **state)
{
	char *md = describe(true);
	size_t n;
	const struct config_setting *t = config_settings(&n);
	/* A header, a rule, then one row per setting in table order, four cells each. */
	char *line = md, *next;
	size_t row = 0;
	assert_true(
	    !strncmp(md, "| variable | default | allowed | meaning |\n|---|---|---|---|\n", 60));
	line = strchr(strchr(md, '\n') + 1, '\n') + 1;
	for (; *line; line = next + 1, row++) {
		next = strchr(line, '\n');
		assert_non_null(next);
		assert_true(row < n);
		char head[96];
		snprintf(head, sizeof head, "| `%s` | ", t[row].name);
		if (strncmp(line, head, strlen(head)) != 0)
			fail_msg("row %zu should be %s: %.*s", row, t[row].name, (int)(next - line),
				 line);
		size_t bars = 0;
		for (char *p = line; p < next; p++)
			bars += *p == '|';
		assert_int_equal(bars, 5);
		assert_true(next[-1] == '|');
	}
	assert_int_equal(row, n);
	assert_non_null(
	    strstr(md, "| `IAM_HTTP_THREADS` | number of cores | 1–256 | HTTP thread pool |\n"));
	assert_non_null(strstr(
	    md, "| `IAM_MAX_UPLOAD_MB` | `2048` | 1–1048576 | largest accepted audio upload |\n"));
	assert_non_null(strstr(md, "| `IAM_OPENAI_API_KEY` | none | text | its key |\n"));
	assert_non_null(
	    strstr(md, "| `IAM_LOG_LEVEL` | `info` | `debug`, `info`, `warn`, `error` |"));
	free(md);
}

static void test_help_text(void **state)
{
	char *txt = describe(false);
	size_t n;
	const struct config_setting *t = config_settings(&n);
	/* Each setting on a line of its own, in order, with its default and allowed values. */
	const char *at = txt;
	for (size_t i = 0; i < n; i++) {
		char want[96];
		snprintf(want, sizeof want, "\n  %s\n      default: ", t[i].name);
		const char *p = strstr(at, want);
		if (!p)
			fail_msg("%s missing or out of order in help", t[i].name);
		at = p + 1;
	}
	assert_non_null(
	    strstr(txt, "\n  IAM_HTTP_THREADS\n      default: number of cores; allowed: 1–256\n"
			"      HTTP thread pool\n"));
	assert_non_null(
	    strstr(txt, "\n  IAM_SHUTDOWN_GRACE_S\n      default: 30; allowed: 0–3600\n"));
	/* Plain text: no Markdown quotes; wrapped for a terminal (counting UTF-8 characters). */
	assert_null(strchr(txt, '`'));
	for (const char *l = txt; *l;) {
		const char *e = strchr(l, '\n');
		assert_non_null(e);
		size_t chars = 0;
		for (const char *p = l; p < e; p++)
			chars += ((unsigned char)*p & 0xC0) != 0x80;
		if (chars > 79)
			fail_msg("help line longer than 79: %.*s", (int)(e - l), l);
		l = e + 1;
	}
	free(txt);
}

/*
 * README.md's configuration table is this table: regenerate it with
 * scripts/config-table --write. Found beside this file (tests run from the
 * repository's root, and __FILE__ is tests/unit/test_config.c there).
 */
static void test_readme_table_matches(void **state)
{
	char path[4096];
	const char *slash = strrchr(__FILE__, '/');
	snprintf(path, sizeof path, "%.*s%sREADME.md", slash ? (int)(slash - __FILE__) : 0,
		 __FILE__, slash ? "/../../" : "");
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s (run the tests from the repository's root)", path);
	char *readme = NULL;
	size_t cap = 0;
	ssize_t got = getdelim(&readme, &cap, '\0', f);
	fclose(f);
	assert_true(got > 0);
	const char *begin =
	    "<!-- config-table: generated by `iamd help config --markdown`; update with "
	    "scripts/config-table --write -->\n\n";
	const char *end = "\n<!-- end config-table -->\n";
	char *b = strstr(readme, begin), *e = b ? strstr(b, end) : NULL;
	if (!b || !e)
		fail_msg("README.md lacks the config-table markers");
	b += strlen(begin);
	char *md = describe(true);
	size_t mdlen = strlen(md);
	if ((size_t)(e - b) != mdlen || memcmp(b, md, mdlen) != 0)
		fail_msg("README.md's configuration table differs from the settings table: run "
			 "scripts/config-table --write");
	free(md);
	free(readme);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_defaults, reset),
	    cmocka_unit_test_setup(test_empty_values_are_defaults, reset),
	    cmocka_unit_test_setup(test_data_dir_drives_database_url, reset),
	    cmocka_unit_test_setup(test_listen_valid, reset),
	    cmocka_unit_test_setup(test_listen_bad, reset),
	    cmocka_unit_test_setup(test_threads_and_workers, reset),
	    cmocka_unit_test_setup(test_max_upload_and_grace, reset),
	    cmocka_unit_test_setup(test_log_level, reset),
	    cmocka_unit_test_setup(test_database_url, reset),
	    cmocka_unit_test_setup(test_jwt_secret, reset),
	    cmocka_unit_test_setup(test_redis_url, reset),
	    cmocka_unit_test_setup(test_cors_parsing, reset),
	    cmocka_unit_test_setup(test_cors_bad, reset),
	    cmocka_unit_test_setup(test_cors_limit, reset),
	    cmocka_unit_test_setup(test_each_error_names_its_variable, reset),
	    cmocka_unit_test_setup(test_small_error_buffer, reset),
	    cmocka_unit_test_setup(test_free_after_partial_load, reset),
	    cmocka_unit_test_setup(test_table_well_formed, reset),
	    cmocka_unit_test_setup(test_int_bounds_from_table, reset),
	    cmocka_unit_test_setup(test_defaults_kept, reset),
	    cmocka_unit_test_setup(test_computed_defaults, reset),
	    cmocka_unit_test_setup(test_markdown_table, reset),
	    cmocka_unit_test_setup(test_help_text, reset),
	    cmocka_unit_test_setup(test_readme_table_matches, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
