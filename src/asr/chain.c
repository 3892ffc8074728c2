/*
 * chain.c — engines tried in order ("openai,sphinx"): the first that
 * succeeds wins, and every try is recorded for the job's history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asr/align.h"
#include "asr/asr.h"
#include "asr/ort.h"
#include "asr/vad.h"
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
	vad_model_free(c->seg.vad);
	asr_aligner_free(c->seg.aligner);
	free(c);
}

json_t *asr_chain_state(const struct asr_chain *c)
{
	json_t *o = json_object();
	for (size_t i = 0; c && i < c->n; i++) {
		char buf[300];
		snprintf(buf, sizeof buf, "unavailable: %s", c->why[i]);
		json_object_set_new(o, c->names[i], json_string(c->engines[i] ? "ready" : buf));
	}
	if (c) {
		json_object_set_new(o, "vad", json_string(c->vad_state));
		json_object_set_new(o, "word_timing", json_string(c->align_state));
	}
	return o;
}

/* The VAD model and the aligner, once, when an engine on segmentation is configured. */
static void segmenter_init(struct asr_chain *c, const struct asr_models_config *models,
			   const struct asr_sphinx_config *sphinx)
{
	const char *dir = models && models->models_dir ? models->models_dir : "models";
	char path[4096], why[256] = "";
	if (models && models->ort_lib && models->ort_lib[0])
		snprintf(path, sizeof path, "%s", models->ort_lib);
	else
		snprintf(path, sizeof path, "%s/%s", dir, ASR_ORT_LIB);
	if (ort_init(path, why, sizeof why) == 0) {
		snprintf(path, sizeof path, "%s/%s", dir, ASR_SILERO_VAD);
		c->seg.vad = vad_model_load(path, ASR_SILERO_VAD_SHA256, why, sizeof why);
	}
	if (c->seg.vad) {
		snprintf(c->vad_state, sizeof c->vad_state, "silero-vad-v5");
	} else {
		snprintf(c->vad_state, sizeof c->vad_state, "energy (%.140s)", why);
		log_warn("asr: Silero VAD unavailable; cutting at pauses by energy",
			 json_pack("{s:s}", "reason", why));
	}
	why[0] = '\0';
	c->seg.aligner = asr_aligner_new(sphinx ? sphinx->hmm : NULL, sphinx ? sphinx->dict : NULL,
					 why, sizeof why);
	if (c->seg.aligner) {
		snprintf(c->align_state, sizeof c->align_state, "pocketsphinx forced alignment");
	} else {
		snprintf(c->align_state, sizeof c->align_state, "spread over speech (%.130s)", why);
		log_warn("asr: word aligner unavailable; word times are estimated",
			 json_pack("{s:s}", "reason", why));
	}
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
				const struct asr_openai_config *openai,
				const struct asr_models_config *models, char *err, size_t errlen)
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
		if (too_long || (strcmp(name, "sphinx") && strcmp(name, "openai") &&
				 strcmp(name, "moonshine"))) {
			snprintf(
			    err, errlen,
			    "Unknown speech engine \"%s%s\" (known: moonshine, sphinx, openai).",
			    name, too_long ? "..." : "");
			goto fail;
		}
		for (size_t i = 0; i < c->n; i++)
			if (!strcmp(c->names[i], name)) {
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
		bool segmented = strcmp(name, "openai") != 0;
		if (segmented && !c->vad_state[0])
			segmenter_init(c, models, sphinx);
		if (!strcmp(name, "moonshine")) {
			struct asr_moonshine_config mc = {.models_dir = models && models->models_dir
									    ? models->models_dir
									    : "models",
							  .seg = &c->seg};
			e = asr_moonshine_new(&mc, why, sizeof why);
		} else if (!strcmp(name, "openai")) {
			if (!openai || !openai->base_url || !openai->base_url[0]) {
				snprintf(err, errlen,
					 "Speech engine \"openai\" needs a base URL "
					 "(IAM_OPENAI_BASE_URL).");
				goto fail;
			}
			e = asr_openai_new(openai, why, sizeof why);
		} else {
			struct asr_sphinx_config sc = {0};
			if (sphinx)
				sc = *sphinx;
			sc.seg = &c->seg;
			e = asr_sphinx_new(&sc, why, sizeof why);
		}
		snprintf(c->names[c->n], sizeof c->names[0], "%.15s", name);
		if (!e) {
			/* Kept as unavailable: jobs fall back to the next engine. */
			snprintf(c->why[c->n], sizeof c->why[0], "%s", why);
			log_warn("asr: speech engine unavailable",
				 json_pack("{s:s,s:s}", "engine", name, "reason", why));
		}
		c->engines[c->n++] = e;
	}
	if (!c->n) {
		snprintf(err, errlen,
			 "No speech engine is configured (e.g. IAM_ASR=moonshine,sphinx).");
		goto fail;
	}
	size_t ready = 0;
	for (size_t i = 0; i < c->n; i++)
		ready += c->engines[i] != NULL;
	if (!ready) {
		snprintf(err, errlen, "No speech engine can run: %s: %s", c->names[0], c->why[0]);
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
			if (!strcmp(c->names[i], only))
				break;
		if (i == c->n) {
			snprintf(err, errlen, "Speech provider \"%.32s\" is not configured.", only);
			return ASR_UNSUPPORTED;
		}
	}
	/* Every engine's reason, for the message when none could do it. */
	char tried[768] = "", last[256] = "";
	size_t tlen = 0;
	int started = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct asr_engine *e = c->engines[i];
		if (only && *only && strcmp(c->names[i], only))
			continue;
		if (o && o->cancel && atomic_load(o->cancel)) {
			rc = ASR_CANCELLED;
			snprintf(err, errlen, "Transcription was cancelled.");
			break;
		}
		struct asr_attempt *a = attempts ? &attempts[n] : NULL;
		char why[256] = "";
		double dt = 0;
		if (!e) {
			rc = ASR_UNSUPPORTED;
			snprintf(why, sizeof why, "unavailable: %s", c->why[i]);
		} else {
			if (started++ && (!src->rewind || src->rewind(src->ctx) != 0)) {
				/* rc and err still hold the previous engine's failure. */
				log_warn("asr: cannot rewind the audio for the next engine",
					 json_pack("{s:s}", "engine", e->name));
				break;
			}
			double t0 = mono_s();
			rc = e->transcribe(e, src, o, out, why, sizeof why);
			dt = mono_s() - t0;
			if (rc != ASR_OK)
				transcript_free(out); /* engines leave it empty; make sure */
			if (rc != ASR_OK && !why[0])
				snprintf(why, sizeof why, "Speech engine %s failed.", e->name);
		}
		if (a) {
			memset(a, 0, sizeof *a);
			snprintf(a->engine, sizeof a->engine, "%s", c->names[i]);
			snprintf(a->model, sizeof a->model, "%s", e ? e->model : "");
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
		log_info("asr: engine failed", json_pack("{s:s, s:i, s:f}", "engine", c->names[i],
							 "rc", rc, "seconds", dt));
		snprintf(last, sizeof last, "%s", why);
		if (tlen < sizeof tried)
			tlen += (size_t)snprintf(tried + tlen, sizeof tried - tlen, "%s%s: %s",
						 tlen ? "; " : "", c->names[i], why);
		if (rc == ASR_CANCELLED) {
			snprintf(err, errlen, "%s", why);
			return rc;
		}
	}
	if (n > 1)
		snprintf(err, errlen, "No speech engine could transcribe this audio (%s).", tried);
	else if (n == 1)
		snprintf(err, errlen, "%s", last);
	return rc;
}
