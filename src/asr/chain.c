/*
 * chain.c — engines tried in order ("openai,sphinx"): the first that
 * succeeds wins, and every try is recorded for the job's history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asr/asr.h"
#include "core/log.h"

void asr_engine_free(struct asr_engine *e)
{
	if (!e)
		return;
	if (e->destroy)
		e->destroy(e);
	free(e);
}

void asr_chain_free(struct asr_chain *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		asr_engine_free(c->engines[i]);
	free(c);
}

/* Copy the next comma-separated name of *spec, spaces trimmed, into name; advances *spec. */
static int next_name(const char **spec, char *name, size_t len, int *too_long)
{
	const char *s = *spec;
	if (!*s)
		return 0;
	const char *end = strchr(s, ',');
	if (!end)
		end = s + strlen(s);
	*spec = *end ? end + 1 : end;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	const char *e = end;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	size_t n = (size_t)(e - s);
	*too_long = n >= len;
	if (*too_long)
		n = len - 1;
	memcpy(name, s, n);
	name[n] = '\0';
	return 1;
}

/* Returns a new chain (caller frees with asr_chain_free), or NULL with err. */
struct asr_chain *asr_chain_new(const char *spec, const struct asr_sphinx_config *sphinx,
				const struct asr_openai_config *openai, char *err, size_t errlen)
{
	struct asr_chain *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "Out of memory building the speech engine chain.");
		return NULL;
	}
	if (!spec)
		spec = "";
	char name[32];
	int too_long = 0;
	while (next_name(&spec, name, sizeof name, &too_long)) {
		if (!name[0]) {
			snprintf(err, errlen,
				 "The speech engine list has an empty entry; use names such as "
				 "\"openai,sphinx\".");
			goto fail;
		}
		if (too_long || (strcmp(name, "sphinx") && strcmp(name, "openai"))) {
			snprintf(err, errlen,
				 "Unknown speech engine \"%s%s\" (known: sphinx, openai).", name,
				 too_long ? "..." : "");
			goto fail;
		}
		for (size_t i = 0; i < c->n; i++)
			if (!strcmp(c->engines[i]->name, name)) {
				snprintf(err, errlen, "Speech engine \"%s\" is listed twice.",
					 name);
				goto fail;
			}
		if (c->n == ASR_CHAIN_MAX) {
			snprintf(err, errlen, "At most %d speech engines can be chained.",
				 ASR_CHAIN_MAX);
			goto fail;
		}
		struct asr_engine *e;
		char why[256] = "";
		if (!strcmp(name, "openai")) {
			if (!openai || !openai->base_url || !openai->base_url[0]) {
				snprintf(err, errlen,
					 "Speech engine \"openai\" needs a base URL "
					 "(IAM_OPENAI_BASE_URL).");
				goto fail;
			}
			e = asr_openai_new(openai, why, sizeof why);
		} else {
			e = asr_sphinx_new(sphinx, why, sizeof why);
		}
		if (!e) {
			snprintf(err, errlen, "Speech engine \"%s\": %s", name, why);
			goto fail;
		}
		c->engines[c->n++] = e;
	}
	if (!c->n) {
		snprintf(err, errlen, "No speech engine is configured (e.g. IAM_ASR=sphinx).");
		goto fail;
	}
	return c;
fail:
	asr_chain_free(c);
	return NULL;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int asr_chain_transcribe(struct asr_chain *c, const char *only, struct asr_source *src,
			 const struct asr_opts *o, struct transcript *out,
			 struct asr_attempt attempts[ASR_CHAIN_MAX], size_t *nattempts,
			 size_t *used, char *err, size_t errlen)
{
	size_t n = 0;
	int rc = ASR_UNSUPPORTED;
	if (nattempts)
		*nattempts = 0;
	if (used)
		*used = 0;
	if (errlen)
		err[0] = '\0';
	memset(out, 0, sizeof *out);
	if (!c || !c->n) {
		snprintf(err, errlen, "No speech engine is configured.");
		return ASR_UNSUPPORTED;
	}
	if (only && *only) {
		size_t i;
		for (i = 0; i < c->n; i++)
			if (!strcmp(c->engines[i]->name, only))
				break;
		if (i == c->n) {
			snprintf(err, errlen, "Speech provider \"%.32s\" is not configured.", only);
			return ASR_UNSUPPORTED;
		}
	}
	int tried = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct asr_engine *e = c->engines[i];
		if (only && *only && strcmp(e->name, only))
			continue;
		if (o && o->cancel && atomic_load(o->cancel)) {
			rc = ASR_CANCELLED;
			snprintf(err, errlen, "Transcription was cancelled.");
			break;
		}
		if (tried++ && (!src->rewind || src->rewind(src->ctx) != 0)) {
			/* rc and err still hold the previous engine's failure. */
			log_warn("asr: cannot rewind the audio for the next engine",
				 json_pack("{s:s}", "engine", e->name));
			break;
		}
		struct asr_attempt *a = attempts ? &attempts[n] : NULL;
		char why[256] = "";
		double t0 = mono_s();
		rc = e->transcribe(e, src, o, out, why, sizeof why);
		double dt = mono_s() - t0;
		if (rc != ASR_OK)
			transcript_free(out); /* engines leave it empty; make sure */
		if (rc != ASR_OK && !why[0])
			snprintf(why, sizeof why, "Speech engine %s failed.", e->name);
		if (a) {
			memset(a, 0, sizeof *a);
			snprintf(a->engine, sizeof a->engine, "%s", e->name);
			snprintf(a->model, sizeof a->model, "%s", e->model);
			a->rc = rc;
			a->seconds = dt;
			if (rc != ASR_OK)
				snprintf(a->error, sizeof a->error, "%s", why);
		}
		n++;
		if (nattempts)
			*nattempts = n;
		if (rc == ASR_OK) {
			if (used)
				*used = i;
			if (errlen)
				err[0] = '\0';
			return ASR_OK;
		}
		log_info("asr: engine failed",
			 json_pack("{s:s, s:i, s:f}", "engine", e->name, "rc", rc, "seconds", dt));
		snprintf(err, errlen, "%s", why);
		if (rc == ASR_CANCELLED)
			break;
	}
	return rc;
}
