/*
 * main.c — the iamd binary: subcommands, start-up, shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "service/janitor.h"
#include "asr/asr.h"
#include "asr/diarize.h"
#include "asr/ort.h"
#include "asr/vad.h"
#include "auth/clientaddr.h"
#include "auth/oidc.h"
#include "auth/password.h"
#include "billing/admin.h"
#include "service/quota.h"
#include "blob/blob.h"
#include "bus/bus.h"
#include "jobs/jobs.h"
#include "jobs/insights.h"
#include "intel/llm.h"
#include "jobs/transcribe.h"
#include "jobs/mail.h"
#include "jobs/billing_renew.h"
#include "jobs/stripe_meter.h"
#include "billing/meter.h"
#include "billing/renewal.h"
#include "mail/mail.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "export/export.h"
#include "http/http.h"
#include "media/media.h"
#include "store/db.h"
#include "store/migrate.h"
#include "store/notifications.h"
#include "store/tokens.h"

#ifndef IAM_VERSION
#define IAM_VERSION "0.1.0"
#endif

static const char USAGE[] =
    "Usage: iamd COMMAND\n"
    "\n"
    "IAM (Intelligent Audio Management): meeting audio to searchable transcripts.\n"
    "\n"
    "Commands:\n"
    "  serve     run the API and the job workers until SIGTERM/SIGINT (the default set-up)\n"
    "  api       run the API only (scale out: several api and worker processes)\n"
    "  worker    run the job workers only\n"
    "  migrate   apply pending database migrations and exit\n"
    "  version   print the version and exit\n"
    "  diarize FILE [--speakers N | --min N --max N] [--energy]\n"
    "            who spoke when in FILE, as JSON turns on stdout (Silero VAD from\n"
    "            IAM_MODELS_DIR when it loads, else the energy detector)\n"
    "  insights TRANSCRIPT.json\n"
    "            offline insights (summary, action items, topics, sentiment) of a\n"
    "            transcript file in the stored shape, as JSON on stdout\n"
    "  plans list|set|assign|renew  the plan catalogue, who is on which plan,\n"
    "            and the PayGate renewal sweep run now\n"
    "            (iamd plans, without arguments, for the options)\n"
    "  help      print this help\n"
    "  help config             every IAM_* setting: default, allowed values, meaning\n"
    "  help config --markdown  the same as README.md's configuration table\n"
    "\n"
    "Configuration comes from IAM_* environment variables (iamd help config).\n";

static const char *env_get(const char *name)
{
	return getenv(name);
}

/* mkdir -p with mode 0700 for the parts we create. */
static int mkdirs(const char *path)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/*
 * The JWT secret: IAM_JWT_SECRET, else DATA_DIR/jwt.secret, created once
 * (mode 0600) so tokens survive restarts.
 */
static int load_secret(const struct config *cfg, struct jwt_key *key, char *err, size_t errlen)
{
	if (cfg->jwt_secret)
		return jwt_key_init(key, cfg->jwt_secret, strlen(cfg->jwt_secret));
	char path[PATH_MAX], secret[80] = "";
	snprintf(path, sizeof path, "%s/jwt.secret", cfg->data_dir);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP) {
		snprintf(err, errlen,
			 "IAM_JWT_SECRET: %.300s is a symbolic link; replace it with a file", path);
		return -1;
	}
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && (st.st_mode & 077))
			log_warn("the JWT secret file can be read by other users; chmod 600 it",
				 json_pack("{s:s}", "path", path));
		ssize_t n = read(fd, secret, sizeof secret - 1);
		close(fd);
		if (n < 32) {
			snprintf(err, errlen,
				 "IAM_JWT_SECRET: %.300s is damaged (shorter than 32 bytes); "
				 "remove it to generate a new one",
				 path);
			return -1;
		}
		secret[n] = '\0';
		secret[strcspn(secret, "\r\n")] = '\0';
	} else {
		crypto_token(secret, sizeof secret, 36); /* 48 characters */
		char tmp[PATH_MAX + 8];
		snprintf(tmp, sizeof tmp, "%s.tmp", path);
		/*
		 * O_EXCL | O_NOFOLLOW: never write through a planted symlink or into
		 * a file someone else opened. A leftover from a crash is removed
		 * (unlink removes a symlink itself, not its target) and tried once more.
		 */
		const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
		fd = open(tmp, flags, 0600);
		if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
			fd = open(tmp, flags, 0600);
		bool ok = fd >= 0 && write(fd, secret, strlen(secret)) == (ssize_t)strlen(secret) &&
			  fsync(fd) == 0;
		int saved = errno;
		if (fd >= 0 && close(fd) < 0 && ok) {
			ok = false;
			saved = errno;
		}
		if (ok && rename(tmp, path) < 0) {
			ok = false;
			saved = errno;
		}
		if (!ok) {
			if (fd >= 0)
				unlink(tmp);
			explicit_bzero(secret, sizeof secret);
			snprintf(err, errlen, "IAM_DATA_DIR: cannot write %.300s: %s", path,
				 strerror(saved));
			return -1;
		}
		log_info("generated a JWT secret", json_pack("{s:s}", "path", path));
	}
	int rc = jwt_key_init(key, secret, strlen(secret));
	explicit_bzero(secret, sizeof secret);
	if (rc < 0)
		snprintf(err, errlen, "IAM_JWT_SECRET: %.300s must hold 32 to 64 characters", path);
	return rc;
}

/*
 * The data directory holds the JWT secret and (by default) the database and
 * audio: one that another user owns or anyone can write to could have its
 * files swapped or read, so it is refused. Group write is only warned about.
 */
static int check_data_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) < 0) {
		snprintf(err, errlen, "IAM_DATA_DIR: cannot read %.300s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "IAM_DATA_DIR: %.300s is not a directory", dir);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(
		    err, errlen,
		    "IAM_DATA_DIR: %.300s is owned by user %u, not by the user iamd runs as (%u); "
		    "chown it or choose another directory",
		    dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen,
			 "IAM_DATA_DIR: %.300s is writable by every user (mode %03o); chmod 700 it",
			 dir, (unsigned)(st.st_mode & 0777));
		return -1;
	}
	if (st.st_mode & S_IWGRP)
		log_warn("the data directory is group-writable; chmod 700 it",
			 json_pack("{s:s}", "path", dir));
	return 0;
}

static int open_store(const struct config *cfg, struct db **db, char *err, size_t errlen)
{
	if (mkdirs(cfg->data_dir) < 0) {
		snprintf(err, errlen, "IAM_DATA_DIR: cannot create %.300s: %s", cfg->data_dir,
			 strerror(errno));
		return -1;
	}
	if (check_data_dir(cfg->data_dir, err, errlen) < 0)
		return -1;
	char dberr[256];
	*db = db_open(cfg->database_url, cfg->db_pool_size, dberr, sizeof dberr);
	if (!*db) {
		snprintf(err, errlen, "IAM_DATABASE_URL: %s", dberr);
		return -1;
	}
	int applied = migrate_up(*db, dberr, sizeof dberr);
	if (applied < 0) {
		snprintf(err, errlen, "IAM_DATABASE_URL: migration failed: %s", dberr);
		db_close(*db);
		*db = NULL;
		return -1;
	}
	if (applied > 0)
		log_info("database migrated", json_pack("{s:i,s:i}", "applied", applied, "version",
							migrate_current(*db)));
	return 0;
}

static int cmd_migrate(const struct config *cfg)
{
	char err[512];
	struct db *db;
	if (open_store(cfg, &db, err, sizeof err) < 0) {
		fprintf(stderr, "iamd: %s\n", err);
		return 1;
	}
	printf("database at version %d\n", migrate_current(db));
	db_close(db);
	return 0;
}

/* `iamd plans ...` (billing/admin.c) on the configured, migrated database. */
static int cmd_plans(const struct config *cfg, int argc, char **argv)
{
	char err[512];
	struct db *db;
	if (open_store(cfg, &db, err, sizeof err) < 0) {
		fprintf(stderr, "iamd: %s\n", err);
		return 1;
	}
	quota_set_grace_s((int64_t)cfg->billing_grace_days * 86400); /* plans renew */
	int rc = billing_plans_command(db, argc, argv, stdout, stderr);
	db_close(db);
	return rc;
}

/* The janitor: periodic clean-up that must not depend on requests (expired uploads, orphan spool
 * files). */
struct janitor {
	struct app *app;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	pthread_t thread;
};

static void *janitor_main(void *arg)
{
	struct janitor *j = arg;
	pthread_mutex_lock(&j->lock);
	while (!j->stop) {
		pthread_mutex_unlock(&j->lock);
		struct janitor_env env = {.db = j->app->db,
					  .blob = j->app->blob,
					  .orphan_age_s = j->app->cfg->spool_orphan_age_s,
					  .audit_retention_days =
					      j->app->cfg->audit_retention_days};
		janitor_run(&env);
		/* Spent and expired single-use tokens (verification, reset, OIDC) go after a day.
		 */
		struct db_conn *c = db_acquire_system(j->app->db, 1000);
		if (c) {
			token_purge(c);
			db_release(c);
		}
		pthread_mutex_lock(&j->lock);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 60;
		while (!j->stop && pthread_cond_timedwait(&j->cond, &j->lock, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

enum role { ROLE_SERVE, ROLE_API, ROLE_WORKER };

static int run(const struct config *cfg, enum role role)
{
	int64_t t0 = time_mono_us();
	char err[512] = "";
	struct app app = {.cfg = cfg, .started_ms = time_now_ms()};
	quota_set_grace_s((int64_t)cfg->billing_grace_days * 86400);
	struct job_env env = {0};
	struct http_server *srv = NULL;
	struct route *routes = NULL; /* outlives the server */
	struct janitor jan = {
	    .app = &app, .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	bool jan_started = false;
	int status = 1;
	bool http = role != ROLE_WORKER, workers = role != ROLE_API && cfg->workers > 0;

	/* Signals are taken by sigwait below; block them before any thread starts. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Before any probe or decoder: uploads and jobs both obey it. */
	media_set_max_seconds((int64_t)cfg->max_audio_minutes * 60);
	if (open_store(cfg, &app.db, err, sizeof err) < 0 ||
	    load_secret(cfg, &app.jwt, err, sizeof err) < 0)
		goto out;
	if (clientaddr_configure(cfg->trusted_proxies, err, sizeof err) < 0)
		goto out;
	password_gate_set(cfg->hash_concurrency, cfg->hash_wait_ms);
	mail_configure(cfg->smtp_url, cfg->mail_from, cfg->public_url);
	notif_set_mailer(mail_notification);
	if (oidc_configure(environ, mail_public_url(), err, sizeof err) < 0)
		goto out;
	if (mail_enabled() && !(getenv("IAM_PUBLIC_URL") && *getenv("IAM_PUBLIC_URL")))
		log_warn("IAM_PUBLIC_URL is not set: links in mail point at the listening address",
			 json_pack("{s:s}", "public_url", mail_public_url()));
	if (!mail_enabled())
		log_warn(
		    "no SMTP server is configured (IAM_SMTP_URL): e-mail addresses are not "
		    "verified, password reset mail cannot be sent and invitation links must be "
		    "copied by hand",
		    NULL);
	/* Tickets are signed with a key derived from the JWT secret, never the secret itself. */
	crypto_hmac_sha256(app.jwt.secret, app.jwt.len, "iam-ticket-v1", 13, app.ticket_key);
	app.bus = bus_new();
	if (!app.bus) {
		snprintf(err, sizeof err, "out of memory");
		goto out;
	}
	if (cfg->redis_url && bus_redis_attach(app.bus, cfg->redis_url, err, sizeof err) < 0)
		goto out;
	char berr[256];
	app.blob = blob_open(cfg->blob_url, berr, sizeof berr);
	if (!app.blob) {
		snprintf(err, sizeof err, "IAM_BLOB_URL: %s", berr);
		goto out;
	}
	/* HTTP first: the API does not need the speech model, and queued jobs wait durably. */
	if (http) {
		size_t n = 0;
		routes = api_routes(&n);
		if (!routes) {
			snprintf(err, sizeof err, "out of memory");
			goto out;
		}
		struct http_server_opts o = {
		    .host = cfg->listen_host,
		    .port = cfg->listen_port,
		    .threads = cfg->http_threads,
		    .cors_origins = (const char *const *)cfg->cors_origins,
		    .cors_count = cfg->cors_count,
		    .app = &app,
		    .static_dir = cfg->web_dir && cfg->web_dir[0] ? cfg->web_dir : NULL,
		    .head_timeout_s = cfg->header_timeout_s,
		    .max_connections = cfg->max_connections,
		    .max_conn_per_ip = cfg->max_conn_per_ip,
		    .sse_per_user = cfg->sse_per_user,
		    .sse_per_meeting = cfg->sse_per_meeting,
		    .sse_max = cfg->sse_max,
		    .session_live = api_session_live,
		    .frame = api_frame,
		    .bus = app.bus,
		    .ws_max = cfg->ws_max,
		    .ws_per_user = cfg->ws_per_user,
		    .ws_ping_s = cfg->ws_ping_s,
		    .ws_idle_s = cfg->ws_idle_s,
		    .ws_max_message = (size_t)cfg->ws_max_message,
		    .ws_queue_bytes = (size_t)cfg->ws_queue_bytes,
		    .ws_user_orgs = api_user_orgs,
		    .ws_auth_timeout_s = cfg->ws_auth_timeout_s,
		    .ws_unauth_per_ip = cfg->ws_unauth_per_ip,
		    .ws_authenticate = api_ws_authenticate};
		srv = http_server_start(&o, routes, n, err, sizeof err);
		if (!srv)
			goto out;
	}
	if (workers) {
		struct asr_openai_config oc = {.base_url = cfg->openai_base_url,
					       .api_key = cfg->openai_api_key,
					       .model = cfg->openai_model,
					       .timeout_s = cfg->openai_timeout_s};
		struct asr_sphinx_config sc = {0};
		struct asr_models_config mc = {.models_dir = cfg->models_dir,
					       .ort_lib = cfg->ort_lib};
		char aerr[256];
		/* Published atomically: /readyz may already be reading it. */
		struct asr_chain *chain = asr_chain_new(cfg->asr, &sc, &oc, &mc, aerr, sizeof aerr);
		if (!chain) {
			snprintf(err, sizeof err, "IAM_ASR: %s", aerr);
			goto out;
		}
		__atomic_store_n(&app.asr, chain, __ATOMIC_RELEASE);
		env = (struct job_env){
		    .db = app.db, .blob = app.blob, .asr = app.asr, .bus = app.bus};
		struct jobs_config jc = {.threads = cfg->workers,
					 .lease_ms = cfg->job_lease_s * 1000,
					 .per_org = cfg->jobs_per_org,
					 .backoff_base_ms = cfg->job_backoff_ms};
		app.jobs = jobs_new(app.db, &jc, &env);
		job_insights_init(cfg->models_dir);
		llm_configure(cfg); /* the insights job's model, when IAM_LLM_BASE_URL is set */
		job_stripe_meter_init(cfg);
		job_billing_renew_init(cfg);
		if (!app.jobs || jobs_register(app.jobs, "transcribe", job_transcribe) < 0 ||
		    jobs_register(app.jobs, MAIL_KIND, job_mail) < 0 ||
		    jobs_register(app.jobs, "insights", job_insights) < 0 ||
		    jobs_register(app.jobs, METER_STRIPE_KIND, job_stripe_meter) < 0 ||
		    jobs_register(app.jobs, RENEWAL_KIND, job_paygate_renew) < 0 ||
		    jobs_register(app.jobs, RENEWAL_SWEEP_KIND, job_billing_sweep) < 0 ||
		    jobs_start(app.jobs) < 0) {
			snprintf(err, sizeof err, "IAM_WORKERS: the job workers could not start");
			goto out;
		}
		/* PayGate renewals (billing/renewal.h): the hourly sweep. */
		if (job_billing_sweep_schedule(app.db) < 0)
			log_warn("billing sweep not queued", NULL);
	}
	/* Every role: its first round (at start) removes what a crashed predecessor left. */
	api_disk_metrics(&app);
	if (pthread_create(&jan.thread, NULL, janitor_main, &jan) == 0)
		jan_started = true;
	log_info("ready",
		 json_pack("{s:s,s:s,s:i,s:s,s:i,s:s,s:f,s:s}", "role",
			   role == ROLE_SERVE ? "serve"
			   : role == ROLE_API ? "api"
					      : "worker",
			   "host", cfg->listen_host, "port", http ? cfg->listen_port : 0,
			   "database", db_dialect(app.db) == DB_PG ? "postgres" : "sqlite",
			   "workers", workers ? cfg->workers : 0, "asr", cfg->asr, "startup_ms",
			   (double)(time_mono_us() - t0) / 1000.0, "version", IAM_VERSION));
	int sig = 0;
	sigwait(&set, &sig);
	log_info("shutting down",
		 json_pack("{s:s,s:i}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", "grace_s",
			   cfg->shutdown_grace_s));
	status = 0;
out:
	if (status)
		fprintf(stderr, "iamd: %s\n", err);
	/*
	 * One grace for everything: running jobs are told to stop (and are
	 * handed back to the queue) while HTTP drains, then get what is left.
	 */
	int64_t stop_us = time_mono_us();
	jobs_stop_begin(app.jobs);
	http_server_stop(srv, cfg->shutdown_grace_s);
	free(routes);
	int64_t left_s = cfg->shutdown_grace_s - (time_mono_us() - stop_us) / 1000000;
	int running = jobs_stop(app.jobs, left_s > 0 ? (int)left_s : 0);
	running += api_chats_drain(5000); /* chat answers still being written */
	if (jan_started) {
		pthread_mutex_lock(&jan.lock);
		jan.stop = true;
		pthread_cond_signal(&jan.cond);
		pthread_mutex_unlock(&jan.lock);
		pthread_join(jan.thread, NULL);
	}
	if (running > 0) {
		/* Abandoned handlers may still use them: the process exit reclaims them instead. */
		log_error(
		    "job handlers still running after the grace; exiting without closing the "
		    "database, blob store and engines",
		    json_pack("{s:i,s:i}", "running", running, "grace_s", cfg->shutdown_grace_s));
	} else {
		asr_chain_free(app.asr);
		job_insights_shutdown();
		export_shutdown();
		blob_close(app.blob);
		db_close(app.db);
		bus_free(app.bus);
		oidc_reset();
	}
	explicit_bzero(&app.jwt, sizeof app.jwt);
	explicit_bzero(app.ticket_key, sizeof app.ticket_key);
	if (!status)
		log_info("stopped", NULL);
	return status;
}

/*
 * iamd diarize FILE [--speakers N | --min N --max N] [--energy]: decode, diarize,
 * print {"duration", "speakers", "turns": [{start, end, speaker}], "vad", "seconds"}.
 */
static int cmd_diarize(int argc, char **argv)
{
	struct diar_opts o = {0};
	const char *file = NULL;
	bool energy = false;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		int *v = !strcmp(a, "--speakers") || !strcmp(a, "--min") ? &o.min_speakers
			 : !strcmp(a, "--max")				 ? &o.max_speakers
									 : NULL;
		if (v && i + 1 < argc) {
			char *end;
			long n = strtol(argv[++i], &end, 10);
			if (*end || n < 1 || n > DIAR_MAX_SPEAKERS) {
				fprintf(stderr, "iamd diarize: %s wants 1..%d\n", a,
					DIAR_MAX_SPEAKERS);
				return 2;
			}
			*v = (int)n;
			if (!strcmp(a, "--speakers"))
				o.max_speakers = (int)n;
		} else if (!strcmp(a, "--energy")) {
			energy = true;
		} else if (a[0] != '-' && !file) {
			file = a;
		} else {
			fprintf(stderr, "usage: iamd diarize FILE [--speakers N | --min N --max N] "
					"[--energy]\n");
			return 2;
		}
	}
	if (!file) {
		fprintf(stderr,
			"usage: iamd diarize FILE [--speakers N | --min N --max N] [--energy]\n");
		return 2;
	}
	char err[512] = "", path[4096];
	const char *dir = getenv("IAM_MODELS_DIR") && *getenv("IAM_MODELS_DIR")
			      ? getenv("IAM_MODELS_DIR")
			      : "models";
	if (!energy) {
		snprintf(path, sizeof path, "%s/%s", dir, ASR_ORT_LIB);
		if (ort_init(path, err, sizeof err) == 0) {
			snprintf(path, sizeof path, "%s/%s", dir, ASR_SILERO_VAD);
			o.vad = vad_model_load(path, ASR_SILERO_VAD_SHA256, err, sizeof err);
		}
	}
	int rc = 1;
	struct media_decoder *md = NULL;
	struct diarizer *d = NULL;
	struct diar_turn *turns = NULL;
	size_t nturns = 0;
	int nspk = 0;
	int16_t buf[16000];
	long n;
	int64_t t0 = time_mono_us();
	if (media_decoder_open(file, &md, err, sizeof err) != MEDIA_OK) {
		fprintf(stderr, "iamd diarize: %s\n", err);
		goto out;
	}
	d = diar_new(&o, err, sizeof err);
	if (!d)
		goto fail;
	while ((n = media_decoder_read(md, buf, sizeof buf / sizeof *buf)) > 0)
		if (diar_feed_s16(d, buf, (size_t)n, err, sizeof err))
			goto fail;
	if (n < 0) {
		snprintf(err, sizeof err, "the audio could not be decoded");
		goto fail;
	}
	if (diar_finish(d, &turns, &nturns, &nspk, err, sizeof err))
		goto fail;
	printf("{\"duration\":%.3f,\"seconds\":%.3f,\"vad\":\"%s\",\"speakers\":%d,\"turns\":[",
	       diar_duration(d), (double)(time_mono_us() - t0) / 1e6, o.vad ? "silero" : "energy",
	       nspk);
	for (size_t i = 0; i < nturns; i++)
		printf("%s{\"start\":%.2f,\"end\":%.2f,\"speaker\":%d}", i ? "," : "",
		       turns[i].start, turns[i].end, turns[i].speaker);
	printf("]}\n");
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "iamd diarize: %s\n", err);
out:
	free(turns);
	diar_free(d);
	media_decoder_close(md);
	vad_model_free(o.vad);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "help";
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		if (argc > 2 && !strcmp(argv[2], "config")) {
			bool md = argc > 3 && !strcmp(argv[3], "--markdown");
			if (argc > (md ? 4 : 3)) {
				fprintf(stderr, "iamd: usage: iamd help config [--markdown]\n");
				return 2;
			}
			return config_describe(stdout, md) < 0 ? 1 : 0;
		}
		fputs(USAGE, stdout);
		return argc > 1 ? 0 : 2;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("iamd %s\n", IAM_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "diarize"))
		return cmd_diarize(argc, argv);
	if (!strcmp(cmd, "insights"))
		return job_insights_cli(argc, argv);
	if (strcmp(cmd, "serve") && strcmp(cmd, "api") && strcmp(cmd, "worker") &&
	    strcmp(cmd, "migrate") && strcmp(cmd, "plans")) {
		fprintf(stderr, "iamd: unknown command '%s'; run 'iamd --help'\n", cmd);
		return 2;
	}
	if (crypto_init() < 0) {
		fprintf(stderr, "iamd: libsodium could not start\n");
		return 1;
	}
	struct config cfg;
	char err[512];
	if (config_load(&cfg, env_get, err, sizeof err) < 0) {
		fprintf(stderr, "iamd: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	log_set_level((enum log_level)cfg.log_level);
	int rc = !strcmp(cmd, "plans")	   ? cmd_plans(&cfg, argc - 2, argv + 2)
		 : !strcmp(cmd, "migrate") ? cmd_migrate(&cfg)
					   : run(&cfg, !strcmp(cmd, "api")	? ROLE_API
						       : !strcmp(cmd, "worker") ? ROLE_WORKER
										: ROLE_SERVE);
	config_free(&cfg);
	return rc;
}
