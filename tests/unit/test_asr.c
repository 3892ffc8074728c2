/*
 * Unit tests for asr/: PocketSphinx on espeak-ng speech of known text, the
 * OpenAI-compatible client against a fake server (libmicrohttpd) speaking
 * the real wire format, and the fallback chain.
 *
 * Speech tests need espeak-ng and sox and are skipped without them.
 * IAM_ASR_BENCH=1 also runs a ~60 s recording and prints WER and the
 * real-time factor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "asr/asr.h"
#include "asr_wer.h"

/* ---- audio sources ---------------------------------------------------- */

struct pcm {
	int16_t *s; /* owned */
	size_t n, pos;
	long fail_at;	     /* read returns -1 once pos reaches this; <0: never */
	atomic_bool *cancel; /* set when pos reaches cancel_at */
	size_t cancel_at;
	int rewinds;
};

static long pcm_read(void *ctx, int16_t *buf, size_t max)
{
	struct pcm *p = ctx;
	if (p->fail_at >= 0 && p->pos >= (size_t)p->fail_at)
		return -1;
	size_t k = p->n - p->pos < max ? p->n - p->pos : max;
	memcpy(buf, p->s + p->pos, k * sizeof *buf);
	p->pos += k;
	if (p->cancel && p->pos >= p->cancel_at)
		atomic_store(p->cancel, true);
	return (long)k;
}

static int pcm_rewind(void *ctx)
{
	struct pcm *p = ctx;
	p->pos = 0;
	p->rewinds++;
	return 0;
}

static struct asr_source pcm_source(struct pcm *p)
{
	p->pos = 0;
	return (struct asr_source){pcm_read, pcm_rewind, p, (double)p->n / ASR_RATE};
}

static struct pcm pcm_zeros(double seconds)
{
	size_t n = (size_t)(seconds * ASR_RATE);
	struct pcm p = {.s = calloc(n ? n : 1, sizeof(int16_t)), .n = n, .fail_at = -1};
	assert_non_null(p.s);
	return p;
}

static int have_tools(void)
{
	static int have = -1;
	if (have < 0)
		have = system("command -v espeak-ng >/dev/null 2>&1 && "
			      "command -v sox >/dev/null 2>&1") == 0;
	return have;
}

/* espeak-ng speech of text as 16 kHz mono s16; text must not contain '\''. */
static struct pcm speak(const char *text)
{
	char dir[] = "/tmp/iam-asr-test.XXXXXX";
	assert_non_null(mkdtemp(dir));
	size_t cmdlen = strlen(text) + 512;
	char *cmd = malloc(cmdlen);
	assert_non_null(cmd);
	snprintf(cmd, cmdlen,
		 "espeak-ng -v en-us -s 150 -w %s/x.wav '%s' && "
		 "sox -D %s/x.wav -r 16000 -c 1 -b 16 -e signed-integer -t raw %s/y.raw",
		 dir, text, dir, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, cmdlen, "%s/y.raw", dir);
	FILE *f = fopen(cmd, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	struct pcm p = {.s = malloc((size_t)size + 2), .fail_at = -1};
	assert_non_null(p.s);
	p.n = fread(p.s, sizeof(int16_t), (size_t)size / 2, f);
	fclose(f);
	snprintf(cmd, cmdlen, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_true(p.n > ASR_RATE / 2);
	return p;
}

/* ---- transcript checks ------------------------------------------------ */

static void check_transcript(const struct transcript *t)
{
	double prev = 0;
	for (size_t i = 0; i < t->nsegments; i++) {
		const struct transcript_segment *s = &t->segments[i];
		assert_true(s->start >= prev - 1e-9);
		assert_true(s->end >= s->start);
		assert_true(s->end <= t->duration + 1e-6);
		assert_true(s->confidence >= 0 && s->confidence <= 1);
		assert_non_null(s->text);
		assert_true(s->text[0] != '\0');
		assert_true(s->first_word + s->nwords <= t->nwords);
		for (size_t j = 0; j < s->nwords; j++) {
			const struct transcript_word *w = &t->words[s->first_word + j];
			assert_true(w->start >= s->start - 1e-6);
			assert_true(w->end <= s->end + 1e-6);
		}
		prev = s->start;
	}
	prev = 0;
	for (size_t i = 0; i < t->nwords; i++) {
		const struct transcript_word *w = &t->words[i];
		assert_true(w->start >= prev - 1e-9);
		assert_true(w->end >= w->start);
		assert_true(w->end <= t->duration + 1e-6);
		assert_true(w->confidence >= 0 && w->confidence <= 1);
		assert_non_null(w->text);
		assert_null(strchr(w->text, '('));
		assert_true(w->text[0] != '<' && w->text[0] != '[' && w->text[0] != '+');
		prev = w->start;
	}
}

/* Share of ref's content words (stop words left out) found anywhere in hyp. */
static double content_recall(const char *ref, const char *hyp)
{
	static const char *const stop[] = {"the",  "a",	   "an",  "to",	  "of",	 "and",	 "in",
					   "on",   "at",   "for", "is",	  "was", "with", "her",
					   "his",  "it",   "we",  "you",  "i",	 "he",	 "she",
					   "they", "that", "our", "from", "by",	 "be",	 "will"};
	struct wer_words r, h;
	assert_int_equal(wer_split(ref, &r), 0);
	assert_int_equal(wer_split(hyp, &h), 0);
	size_t n = 0, found = 0;
	for (size_t i = 0; i < r.n; i++) {
		int is_stop = 0;
		for (size_t k = 0; k < sizeof stop / sizeof *stop; k++)
			is_stop |= !strcmp(r.w[i], stop[k]);
		if (is_stop)
			continue;
		n++;
		for (size_t j = 0; j < h.n; j++)
			if (!strcmp(r.w[i], h.w[j])) {
				found++;
				break;
			}
	}
	wer_words_free(&r);
	wer_words_free(&h);
	return n ? (double)found / (double)n : 1;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- sphinx ----------------------------------------------------------- */

static struct asr_engine *sphinx; /* shared by the sphinx tests */

static int sphinx_setup(void **state)
{
	char err[256] = "";
	sphinx = asr_sphinx_new(NULL, err, sizeof err);
	if (!sphinx)
		fprintf(stderr, "asr_sphinx_new: %s\n", err);
	return sphinx ? 0 : -1;
}

static int sphinx_teardown(void **state)
{
	asr_engine_free(sphinx);
	sphinx = NULL;
	return 0;
}

struct progress {
	int calls;
	double last;
	int backwards;
};

static void on_progress(void *ctx, double f)
{
	struct progress *p = ctx;
	if (f < p->last || f < 0 || f > 1)
		p->backwards = 1;
	p->last = f;
	p->calls++;
}

static const char *const SENTENCES[] = {
    "The quick brown fox jumps over the lazy dog.",
    "We will meet on Monday morning to discuss the budget for next year.",
    "The children played in the park until it started to rain.",
    "Please remember to lock the door when you leave the office.",
};

static void test_sphinx_sentences(void **state)
{
	if (!have_tools())
		skip();
	char text[1024] = "";
	for (size_t i = 0; i < sizeof SENTENCES / sizeof *SENTENCES; i++) {
		strcat(text, SENTENCES[i]);
		strcat(text, " ");
	}
	struct pcm p = speak(text);
	struct asr_source src = pcm_source(&p);
	struct progress pr = {0};
	struct asr_opts o = {.language = "en", .progress = on_progress, .progress_ctx = &pr};
	struct transcript t;
	char err[256] = "x";
	assert_int_equal(sphinx->transcribe(sphinx, &src, &o, &t, err, sizeof err), ASR_OK);
	assert_string_equal(err, "");
	assert_string_equal(t.language, "en");
	assert_true(fabs(t.duration - (double)p.n / ASR_RATE) < 0.02);
	assert_true(t.nsegments >= 1);
	assert_true(t.nwords >= 10);
	check_transcript(&t);
	assert_true(pr.calls >= 2);
	assert_false(pr.backwards);
	assert_true(pr.last == 1.0);

	char *hyp = transcript_text(&t);
	assert_non_null(hyp);
	double recall = content_recall(text, hyp);
	double w = wer(text, hyp);
	print_message("sphinx: %zu segments, %zu words, content-word recall %.0f%%, WER %.1f%%\n",
		      t.nsegments, t.nwords, 100 * recall, 100 * w);
	assert_true(recall >= 0.6);
	/* The words' times cover the speech: the last one ends near the end. */
	assert_true(t.words[t.nwords - 1].end > t.duration - 1.5);
	free(hyp);
	transcript_free(&t);
	free(p.s);
}

static void test_sphinx_silence(void **state)
{
	struct pcm p = pcm_zeros(3);
	struct asr_source src = pcm_source(&p);
	struct transcript t;
	char err[256];
	assert_int_equal(sphinx->transcribe(sphinx, &src, NULL, &t, err, sizeof err), ASR_OK);
	assert_int_equal(t.nsegments, 0);
	assert_int_equal(t.nwords, 0);
	assert_true(fabs(t.duration - 3) < 1e-9);
	transcript_free(&t);

	/* Faint steady hiss is not speech either. */
	uint32_t x = 1;
	for (size_t i = 0; i < p.n; i++) {
		x = x * 1103515245u + 12345u;
		p.s[i] = (int16_t)((int)((x >> 16) % 41) - 20);
	}
	src = pcm_source(&p);
	assert_int_equal(sphinx->transcribe(sphinx, &src, NULL, &t, err, sizeof err), ASR_OK);
	assert_int_equal(t.nsegments, 0);
	transcript_free(&t);
	free(p.s);

	/* No samples at all, and an odd sample count. */
	struct pcm e = pcm_zeros(0);
	src = pcm_source(&e);
	assert_int_equal(sphinx->transcribe(sphinx, &src, NULL, &t, err, sizeof err), ASR_OK);
	assert_int_equal(t.nsegments, 0);
	assert_true(t.duration == 0);
	transcript_free(&t);
	free(e.s);
	struct pcm odd = pcm_zeros(0.0123);
	src = pcm_source(&odd);
	assert_int_equal(sphinx->transcribe(sphinx, &src, NULL, &t, err, sizeof err), ASR_OK);
	assert_true(fabs(t.duration - (double)odd.n / ASR_RATE) < 1e-9);
	transcript_free(&t);
	free(odd.s);
}

static void test_sphinx_language(void **state)
{
	struct pcm p = pcm_zeros(0.5);
	struct asr_source src = pcm_source(&p);
	struct transcript t;
	char err[256] = "";
	const char *bad[] = {"fr", "de-DE", "english-but-longer-than-anything", "e"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct asr_opts o = {.language = bad[i]};
		assert_int_equal(sphinx->transcribe(sphinx, &src, &o, &t, err, sizeof err),
				 ASR_UNSUPPORTED);
		assert_non_null(strstr(err, "English"));
		assert_int_equal(t.nsegments, 0);
	}
	const char *good[] = {"en", "en-US", "EN", NULL};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		struct asr_opts o = {.language = good[i]};
		src = pcm_source(&p);
		assert_int_equal(sphinx->transcribe(sphinx, &src, &o, &t, err, sizeof err), ASR_OK);
		transcript_free(&t);
	}
	free(p.s);
}

static void test_sphinx_cancel(void **state)
{
	struct pcm p = pcm_zeros(5);
	/* A tone burst every second so there is something to decode. */
	for (size_t i = 0; i < p.n; i++)
		if ((i / 8000) % 2)
			p.s[i] = (int16_t)(3000 * sin((double)i * 0.07));
	atomic_bool cancel = true;
	struct asr_opts o = {.cancel = &cancel};
	struct asr_source src = pcm_source(&p);
	struct transcript t;
	char err[256];
	assert_int_equal(sphinx->transcribe(sphinx, &src, &o, &t, err, sizeof err), ASR_CANCELLED);
	assert_int_equal(t.nsegments, 0);

	/* Cancelled by the caller half-way through. */
	atomic_store(&cancel, false);
	p.cancel = &cancel;
	p.cancel_at = p.n / 2;
	src = pcm_source(&p);
	double t0 = mono_s();
	assert_int_equal(sphinx->transcribe(sphinx, &src, &o, &t, err, sizeof err), ASR_CANCELLED);
	assert_true(p.pos < p.n);
	assert_true(mono_s() - t0 < 5);
	assert_int_equal(t.nsegments, 0);
	assert_null(t.segments);

	/* The pooled decoder still works afterwards. */
	atomic_store(&cancel, false);
	p.cancel = NULL;
	src = pcm_source(&p);
	assert_int_equal(sphinx->transcribe(sphinx, &src, &o, &t, err, sizeof err), ASR_OK);
	check_transcript(&t);
	transcript_free(&t);
	free(p.s);
}

static void test_sphinx_read_error(void **state)
{
	struct pcm p = pcm_zeros(2);
	p.fail_at = ASR_RATE;
	struct asr_source src = pcm_source(&p);
	struct transcript t;
	char err[256] = "";
	assert_int_equal(sphinx->transcribe(sphinx, &src, NULL, &t, err, sizeof err), ASR_FAILED);
	assert_true(err[0] != '\0');
	assert_int_equal(t.nsegments, 0);
	free(p.s);
}

struct thread_job {
	const struct pcm *audio;
	char *text;
	int rc;
};

static void *thread_run(void *arg)
{
	struct thread_job *j = arg;
	struct pcm p = *j->audio;
	struct asr_source src = pcm_source(&p);
	struct transcript t;
	char err[256];
	j->rc = sphinx->transcribe(sphinx, &src, NULL, &t, err, sizeof err);
	if (j->rc == ASR_OK)
		j->text = transcript_text(&t);
	transcript_free(&t);
	return NULL;
}

static void test_sphinx_threads(void **state)
{
	if (!have_tools())
		skip();
	struct pcm p = speak(SENTENCES[0]);
	struct thread_job jobs[3] = {{&p, NULL, 0}, {&p, NULL, 0}, {&p, NULL, 0}};
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thread_run, &jobs[i]), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(jobs[i].rc, ASR_OK);
		assert_non_null(jobs[i].text);
		/* Same audio, same decoder settings: the same words. */
		assert_string_equal(jobs[i].text, jobs[0].text);
	}
	assert_true(content_recall(SENTENCES[0], jobs[0].text) >= 0.6);
	for (int i = 0; i < 3; i++)
		free(jobs[i].text);
	free(p.s);
}

static void test_sphinx_bad_model(void **state)
{
	char err[256] = "";
	struct asr_sphinx_config c = {.hmm = "/nonexistent/model"};
	assert_null(asr_sphinx_new(&c, err, sizeof err));
	assert_non_null(strstr(err, "/nonexistent/model"));
	struct asr_sphinx_config d = {.dict = "/nonexistent/dict"};
	err[0] = '\0';
	assert_null(asr_sphinx_new(&d, err, sizeof err));
	assert_true(err[0] != '\0');
	asr_engine_free(NULL);
}

/* IAM_ASR_BENCH=1: ~60 s of speech, WER and real-time factor. */
static void test_sphinx_bench(void **state)
{
	if (!getenv("IAM_ASR_BENCH") || !have_tools())
		skip();
	static const char *const text =
	    "Good morning everyone and thank you for joining the call. "
	    "Let us review the sales numbers from the last quarter. "
	    "Our team finished the project two weeks ahead of schedule. "
	    "The customer asked for a refund because the product was broken. "
	    "We need to hire three more engineers before the launch. "
	    "I think we should start the presentation with a short video. "
	    "The flight to Chicago was delayed by two hours. "
	    "The board approved the plan at the annual meeting. "
	    "Everyone agreed that the first version was too expensive. "
	    "We should send the contract to the lawyers for review. "
	    "The marketing team wants more time to prepare the campaign. "
	    "Please write down your questions and send them by email. "
	    "Our results show a clear increase in user activity. "
	    "The store will be open late during the holiday season. "
	    "She has been learning to play the piano for three years. "
	    "Could you explain how the new system works?";
	struct pcm p = speak(text);
	struct asr_source src = pcm_source(&p);
	struct transcript t;
	char err[256];
	double c0 = cpu_s(), w0 = mono_s();
	assert_int_equal(sphinx->transcribe(sphinx, &src, NULL, &t, err, sizeof err), ASR_OK);
	double cpu = cpu_s() - c0, wall = mono_s() - w0;
	check_transcript(&t);
	char *hyp = transcript_text(&t);
	double audio = (double)p.n / ASR_RATE;
	print_message("sphinx bench: %.1f s audio, %zu segments, WER %.1f%%, RTF %.3f cpu "
		      "(%.3f wall)\n",
		      audio, t.nsegments, 100 * wer(text, hyp), cpu / audio, wall / audio);
	free(hyp);
	transcript_free(&t);
	free(p.s);
}

/* ---- fake OpenAI-compatible server ------------------------------------ */

enum fake_mode {
	FAKE_OK,
	FAKE_429,
	FAKE_500,
	FAKE_400,
	FAKE_401_ECHO,
	FAKE_GARBAGE,
	FAKE_NO_TEXT,
	FAKE_SLEEP,
	FAKE_TEXT_ONLY,
};

struct fake {
	struct MHD_Daemon *d;
	unsigned short port;
	enum fake_mode mode;
	pthread_mutex_t lock;
	/* what the last request carried */
	int requests;
	char method[16], url[128], auth[128], ctype[128];
	char model[64], format[64], language[16], prompt[128];
	int granularity_segment, granularity_word;
	char filename[64], file_type[64];
	int wav_ok; /* the 44-byte header says 16 kHz mono s16 and matches the size */
	size_t samples, total_samples;
};

struct fake_req {
	struct MHD_PostProcessor *pp;
	unsigned char *file;
	size_t file_len, file_cap;
	char model[64], format[64], language[16], prompt[128];
	int gseg, gword;
	char filename[64], file_type[64];
	int too_big;
};

static void copy_field(char *dst, size_t len, const char *data, uint64_t off, size_t size)
{
	if (off >= len - 1)
		return;
	size_t n = size < len - 1 - off ? size : len - 1 - off;
	memcpy(dst + off, data, n);
	dst[off + n] = '\0';
}

static enum MHD_Result fake_field(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *filename, const char *content_type,
				  const char *transfer_encoding, const char *data, uint64_t off,
				  size_t size)
{
	struct fake_req *r = cls;
	if (!strcmp(key, "file")) {
		if (filename)
			snprintf(r->filename, sizeof r->filename, "%s", filename);
		if (content_type)
			snprintf(r->file_type, sizeof r->file_type, "%s", content_type);
		if (r->file_len + size > 8u << 20) {
			r->too_big = 1;
			return MHD_YES;
		}
		if (r->file_len + size > r->file_cap) {
			size_t cap = (r->file_len + size) * 2;
			unsigned char *f = realloc(r->file, cap);
			if (!f)
				return MHD_NO;
			r->file = f;
			r->file_cap = cap;
		}
		memcpy(r->file + r->file_len, data, size);
		r->file_len += size;
	} else if (!strcmp(key, "model")) {
		copy_field(r->model, sizeof r->model, data, off, size);
	} else if (!strcmp(key, "response_format")) {
		copy_field(r->format, sizeof r->format, data, off, size);
	} else if (!strcmp(key, "language")) {
		copy_field(r->language, sizeof r->language, data, off, size);
	} else if (!strcmp(key, "prompt")) {
		copy_field(r->prompt, sizeof r->prompt, data, off, size);
	} else if (!strcmp(key, "timestamp_granularities[]") && size) {
		if (!strncmp(data, "segment", size))
			r->gseg = 1;
		if (!strncmp(data, "word", size))
			r->gword = 1;
	}
	return MHD_YES;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned le16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static int wav_valid(const unsigned char *f, size_t n)
{
	return n >= 44 && !memcmp(f, "RIFF", 4) && le32(f + 4) == n - 8 &&
	       !memcmp(f + 8, "WAVEfmt ", 8) && le32(f + 16) == 16 && le16(f + 20) == 1 &&
	       le16(f + 22) == 1 && le32(f + 24) == 16000 && le32(f + 28) == 32000 &&
	       le16(f + 32) == 2 && le16(f + 34) == 16 && !memcmp(f + 36, "data", 4) &&
	       le32(f + 40) == n - 44;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *ctype,
			     const char *body)
{
	struct MHD_Response *res =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(res, "Content-Type", ctype);
	enum MHD_Result ret = MHD_queue_response(c, status, res);
	MHD_destroy_response(res);
	return ret;
}

/* verbose_json for a piece of dur seconds: two segments, three words. */
static char *verbose_json(double dur)
{
	double h = dur / 2;
	json_t *j = json_pack(
	    "{s:s, s:s, s:f, s:s, s:[{s:i, s:f, s:f, s:s, s:f, s:f}, {s:i, s:f, s:f, s:s, s:f, "
	    "s:f}], s:[{s:s, s:f, s:f}, {s:s, s:f, s:f}, {s:s, s:f, s:f}]}",
	    "task", "transcribe", "language", "english", "duration", dur, "text",
	    " Hello world. Second part.", "segments", "id", 0, "start", 0.0, "end", h, "text",
	    " Hello world.", "avg_logprob", -0.25, "no_speech_prob", 0.01, "id", 1, "start", h,
	    "end", dur, "text", " Second part.", "avg_logprob", -0.5, "no_speech_prob", 0.02,
	    "words", "word", "Hello", "start", 0.1 * h, "end", 0.4 * h, "word", " world.", "start",
	    0.5 * h, "end", 0.9 * h, "word", "Second", "start", h + 0.1 * h, "end", h + 0.8 * h);
	char *s = json_dumps(j, JSON_REAL_PRECISION(10));
	json_decref(j);
	return s;
}

static enum MHD_Result fake_handler(void *cls, struct MHD_Connection *c, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct fake *f = cls;
	struct fake_req *r = *con_cls;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		r->pp = MHD_create_post_processor(c, 65536, fake_field, r);
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->pp)
			MHD_post_process(r->pp, upload_data, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&f->lock);
	f->requests++;
	snprintf(f->method, sizeof f->method, "%s", method);
	snprintf(f->url, sizeof f->url, "%s", url);
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	snprintf(f->auth, sizeof f->auth, "%s", auth ? auth : "");
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	snprintf(f->ctype, sizeof f->ctype, "%s", ct ? ct : "");
	memcpy(f->model, r->model, sizeof f->model);
	memcpy(f->format, r->format, sizeof f->format);
	memcpy(f->language, r->language, sizeof f->language);
	memcpy(f->prompt, r->prompt, sizeof f->prompt);
	memcpy(f->filename, r->filename, sizeof f->filename);
	memcpy(f->file_type, r->file_type, sizeof f->file_type);
	f->granularity_segment = r->gseg;
	f->granularity_word = r->gword;
	f->wav_ok = !r->too_big && wav_valid(r->file, r->file_len);
	f->samples = r->file_len >= 44 ? (r->file_len - 44) / 2 : 0;
	f->total_samples += f->samples;
	enum fake_mode mode = f->mode;
	pthread_mutex_unlock(&f->lock);

	double dur = (double)(r->file_len >= 44 ? (r->file_len - 44) / 2 : 0) / 16000;
	switch (mode) {
	case FAKE_429:
		return reply(c, 429, "application/json",
			     "{\"error\":{\"message\":\"Rate limit reached for requests\","
			     "\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}");
	case FAKE_500:
		return reply(c, 500, "text/html", "<html><body>Internal error</body></html>");
	case FAKE_400:
		return reply(c, 400, "application/json",
			     "{\"error\":{\"message\":\"Audio file is too short. Minimum audio "
			     "length is 0.1 seconds.\",\"type\":\"invalid_request_error\","
			     "\"param\":\"file\",\"code\":\"audio_too_short\"}}");
	case FAKE_401_ECHO:
		return reply(c, 401, "application/json",
			     "{\"error\":{\"message\":\"Incorrect API key provided: "
			     "sk-secret-key-123.\",\"type\":\"invalid_request_error\"}}");
	case FAKE_GARBAGE:
		return reply(c, 200, "text/html", "<html>Welcome to nginx!</html>");
	case FAKE_NO_TEXT:
		return reply(c, 200, "application/json",
			     "{\"task\":\"transcribe\",\"segments\":[]}");
	case FAKE_SLEEP:
		sleep(3);
		return reply(c, 200, "application/json", "{\"text\":\"late\"}");
	case FAKE_TEXT_ONLY:
		return reply(c, 200, "application/json", "{\"text\":\" Just text. \"}");
	case FAKE_OK:
		break;
	}
	char *body = verbose_json(dur);
	enum MHD_Result ret = reply(c, 200, "application/json", body);
	free(body);
	return ret;
}

static void fake_done(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct fake_req *r = *con_cls;
	if (!r)
		return;
	if (r->pp)
		MHD_destroy_post_processor(r->pp);
	free(r->file);
	free(r);
	*con_cls = NULL;
}

static struct fake fake;

static int fake_setup(void **state)
{
	memset(&fake, 0, sizeof fake);
	pthread_mutex_init(&fake.lock, NULL);
	fake.d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
	    fake_handler, &fake, MHD_OPTION_NOTIFY_COMPLETED, fake_done, NULL, MHD_OPTION_SOCK_ADDR,
	    &(struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
	    MHD_OPTION_END);
	if (!fake.d)
		return -1;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(fake.d, MHD_DAEMON_INFO_BIND_PORT);
	fake.port = info ? info->port : 0;
	return fake.port ? 0 : -1;
}

static int fake_teardown(void **state)
{
	MHD_stop_daemon(fake.d);
	pthread_mutex_destroy(&fake.lock);
	return 0;
}

static void fake_reset(enum fake_mode mode)
{
	pthread_mutex_lock(&fake.lock);
	fake.mode = mode;
	fake.requests = 0;
	fake.total_samples = 0;
	pthread_mutex_unlock(&fake.lock);
}

static struct asr_engine *fake_engine(int timeout_s, int piece_s)
{
	char url[64], err[256] = "";
	snprintf(url, sizeof url, "http://127.0.0.1:%u/v1/", fake.port);
	struct asr_openai_config c = {.base_url = url,
				      .api_key = "sk-secret-key-123",
				      .model = "whisper-1",
				      .timeout_s = timeout_s,
				      .piece_s = piece_s};
	struct asr_engine *e = asr_openai_new(&c, err, sizeof err);
	assert_non_null(e);
	assert_string_equal(e->name, "openai");
	assert_string_equal(e->model, "whisper-1");
	return e;
}

/* Some audio: a warble, so it is not all zeros. */
static struct pcm warble(double seconds)
{
	struct pcm p = pcm_zeros(seconds);
	for (size_t i = 0; i < p.n; i++)
		p.s[i] = (int16_t)(2000 * sin((double)i * 0.05 + sin((double)i * 0.001)));
	return p;
}

static void test_openai_ok(void **state)
{
	fake_reset(FAKE_OK);
	struct asr_engine *e = fake_engine(10, 0);
	struct pcm p = warble(2.5);
	struct asr_source src = pcm_source(&p);
	struct progress pr = {0};
	struct asr_opts o = {.language = "en-US",
			     .prompt = "IAM, Stella",
			     .progress = on_progress,
			     .progress_ctx = &pr};
	struct transcript t;
	char err[256] = "x";
	assert_int_equal(e->transcribe(e, &src, &o, &t, err, sizeof err), ASR_OK);
	assert_string_equal(err, "");

	/* The request, as the server saw it. */
	assert_int_equal(fake.requests, 1);
	assert_string_equal(fake.method, "POST");
	assert_string_equal(fake.url, "/v1/audio/transcriptions");
	assert_string_equal(fake.auth, "Bearer sk-secret-key-123");
	assert_non_null(strstr(fake.ctype, "multipart/form-data"));
	assert_string_equal(fake.model, "whisper-1");
	assert_string_equal(fake.format, "verbose_json");
	assert_string_equal(fake.language, "en");
	assert_string_equal(fake.prompt, "IAM, Stella");
	assert_true(fake.granularity_segment && fake.granularity_word);
	assert_string_equal(fake.filename, "audio.wav");
	assert_string_equal(fake.file_type, "audio/wav");
	assert_true(fake.wav_ok);
	assert_int_equal(fake.samples, p.n);

	/* The answer, parsed. */
	assert_string_equal(t.language, "en");
	assert_true(fabs(t.duration - 2.5) < 1e-9);
	assert_int_equal(t.nsegments, 2);
	assert_int_equal(t.nwords, 3);
	check_transcript(&t);
	assert_string_equal(t.segments[0].text, "Hello world.");
	assert_string_equal(t.segments[1].text, "Second part.");
	assert_true(fabs(t.segments[0].confidence - exp(-0.25)) < 1e-6);
	assert_true(fabs(t.segments[1].confidence - exp(-0.5)) < 1e-6);
	assert_int_equal(t.segments[0].nwords, 2);
	assert_int_equal(t.segments[1].nwords, 1);
	assert_string_equal(t.words[1].text, "world.");
	assert_true(fabs(t.segments[1].start - 1.25) < 1e-6);
	assert_true(pr.last == 1.0 && !pr.backwards);
	char *text = transcript_text(&t);
	assert_string_equal(text, "Hello world. Second part.");
	free(text);
	transcript_free(&t);

	/* Text without segments still gives one segment. */
	fake_reset(FAKE_TEXT_ONLY);
	src = pcm_source(&p);
	assert_int_equal(e->transcribe(e, &src, NULL, &t, err, sizeof err), ASR_OK);
	assert_int_equal(t.nsegments, 1);
	assert_string_equal(t.segments[0].text, "Just text.");
	assert_true(t.segments[0].end <= t.duration);
	assert_string_equal(t.language, "en");
	transcript_free(&t);

	/* No audio: nothing is sent. */
	fake_reset(FAKE_OK);
	struct pcm none = pcm_zeros(0);
	src = pcm_source(&none);
	assert_int_equal(e->transcribe(e, &src, NULL, &t, err, sizeof err), ASR_OK);
	assert_int_equal(fake.requests, 0);
	assert_int_equal(t.nsegments, 0);
	transcript_free(&t);
	free(none.s);
	free(p.s);
	asr_engine_free(e);
}

static void test_openai_pieces(void **state)
{
	fake_reset(FAKE_OK);
	struct asr_engine *e = fake_engine(10, 1);
	struct pcm p = warble(2.5);
	struct asr_source src = pcm_source(&p);
	struct progress pr = {0};
	struct asr_opts o = {.progress = on_progress, .progress_ctx = &pr};
	struct transcript t;
	char err[256];
	assert_int_equal(e->transcribe(e, &src, &o, &t, err, sizeof err), ASR_OK);
	assert_int_equal(fake.requests, 3); /* 1 s + 1 s + 0.5 s */
	assert_int_equal(fake.total_samples, p.n);
	assert_string_equal(fake.language, "en"); /* the default */
	assert_int_equal(t.nsegments, 6);
	assert_int_equal(t.nwords, 9);
	check_transcript(&t);
	const double starts[] = {0, 0.5, 1, 1.5, 2, 2.25};
	const double ends[] = {0.5, 1, 1.5, 2, 2.25, 2.5};
	for (size_t i = 0; i < 6; i++) {
		assert_true(fabs(t.segments[i].start - starts[i]) < 1e-6);
		assert_true(fabs(t.segments[i].end - ends[i]) < 1e-6);
	}
	/* Word "Second" of the last piece: 2.0 + 0.25 + 0.025. */
	assert_true(fabs(t.words[8].start - 2.275) < 1e-6);
	assert_true(pr.calls >= 3 && !pr.backwards && pr.last == 1.0);
	transcript_free(&t);
	free(p.s);
	asr_engine_free(e);
}

static void expect_error(enum fake_mode mode, int rc, const char *needle, const char *needle2)
{
	fake_reset(mode);
	struct asr_engine *e = fake_engine(mode == FAKE_SLEEP ? 1 : 10, 0);
	struct pcm p = warble(0.5);
	struct asr_source src = pcm_source(&p);
	struct transcript t;
	char err[256] = "";
	double t0 = mono_s();
	assert_int_equal(e->transcribe(e, &src, NULL, &t, err, sizeof err), rc);
	if (mode == FAKE_SLEEP)
		assert_true(mono_s() - t0 < 2.9);
	assert_int_equal(t.nsegments, 0);
	assert_null(t.segments);
	if (needle && !strstr(err, needle))
		fail_msg("\"%s\" not in \"%s\"", needle, err);
	if (needle2 && !strstr(err, needle2))
		fail_msg("\"%s\" not in \"%s\"", needle2, err);
	assert_null(strstr(err, "sk-secret-key-123"));
	free(p.s);
	asr_engine_free(e);
}

static void test_openai_errors(void **state)
{
	expect_error(FAKE_429, ASR_RETRYABLE, "429", "Rate limit reached for requests");
	expect_error(FAKE_500, ASR_RETRYABLE, "500", NULL);
	expect_error(FAKE_400, ASR_FAILED, "400", "Audio file is too short");
	expect_error(FAKE_401_ECHO, ASR_FAILED, "401", "Incorrect API key");
	expect_error(FAKE_GARBAGE, ASR_FAILED, "not a transcription", NULL);
	expect_error(FAKE_NO_TEXT, ASR_FAILED, "not a transcription", NULL);
	expect_error(FAKE_SLEEP, ASR_RETRYABLE, "1 s", NULL);
}

/* A TCP port on 127.0.0.1 where nothing listens. */
static unsigned short dead_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
	close(s);
	return ntohs(a.sin_port);
}

static void test_openai_unreachable_and_config(void **state)
{
	char url[64], err[256] = "";
	snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", dead_port());
	struct asr_openai_config c = {.base_url = url, .timeout_s = 5};
	struct asr_engine *e = asr_openai_new(&c, err, sizeof err);
	assert_non_null(e);
	assert_string_equal(e->model, "whisper-1");
	struct pcm p = warble(0.3);
	struct asr_source src = pcm_source(&p);
	struct transcript t;
	assert_int_equal(e->transcribe(e, &src, NULL, &t, err, sizeof err), ASR_RETRYABLE);
	assert_non_null(strstr(err, "127.0.0.1"));

	atomic_bool cancel = true;
	struct asr_opts o = {.cancel = &cancel};
	src = pcm_source(&p);
	assert_int_equal(e->transcribe(e, &src, &o, &t, err, sizeof err), ASR_CANCELLED);
	p.fail_at = 0;
	src = pcm_source(&p);
	assert_int_equal(e->transcribe(e, &src, NULL, &t, err, sizeof err), ASR_FAILED);
	asr_engine_free(e);
	free(p.s);

	struct asr_openai_config bad[] = {
	    {.base_url = NULL},
	    {.base_url = ""},
	    {.base_url = "ftp://example.com"},
	    {.base_url = "http://example.com", .api_key = "sk\r\nX-Evil: 1"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = '\0';
		assert_null(asr_openai_new(&bad[i], err, sizeof err));
		assert_true(err[0] != '\0');
	}
	assert_null(asr_openai_new(NULL, err, sizeof err));
}

/* ---- chain ------------------------------------------------------------ */

static void test_chain_fallback(void **state)
{
	if (!have_tools())
		skip();
	char url[64], err[256] = "";
	snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", dead_port());
	struct asr_openai_config oc = {.base_url = url, .timeout_s = 5};
	struct asr_chain *c = asr_chain_new(" openai , sphinx ", NULL, &oc, NULL, err, sizeof err);
	assert_non_null(c);
	assert_int_equal(c->n, 2);
	assert_string_equal(c->engines[0]->name, "openai");
	assert_string_equal(c->engines[1]->name, "sphinx");

	struct pcm p = speak(SENTENCES[2]);
	struct asr_source src = pcm_source(&p);
	struct asr_attempt at[ASR_CHAIN_MAX];
	size_t n = 99, used = 99;
	struct transcript t;
	assert_int_equal(
	    asr_chain_transcribe(c, NULL, &src, NULL, &t, at, &n, &used, err, sizeof err), ASR_OK);
	assert_int_equal(n, 2);
	assert_int_equal(used, 1);
	assert_string_equal(at[0].engine, "openai");
	assert_int_equal(at[0].rc, ASR_RETRYABLE);
	assert_true(at[0].seconds > 0);
	assert_true(at[0].error[0] != '\0');
	assert_string_equal(at[1].engine, "sphinx");
	assert_string_equal(at[1].model, "pocketsphinx-en-us-5prealpha");
	assert_int_equal(at[1].rc, ASR_OK);
	assert_string_equal(at[1].error, "");
	assert_true(at[1].seconds > 0);
	assert_int_equal(p.rewinds, 1); /* before sphinx */
	check_transcript(&t);
	char *text = transcript_text(&t);
	assert_true(content_recall(SENTENCES[2], text) >= 0.6);
	free(text);
	transcript_free(&t);

	/* only: just that engine. */
	src = pcm_source(&p);
	assert_int_equal(
	    asr_chain_transcribe(c, "sphinx", &src, NULL, &t, at, &n, &used, err, sizeof err),
	    ASR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(used, 1);
	assert_string_equal(at[0].engine, "sphinx");
	transcript_free(&t);

	src = pcm_source(&p);
	assert_int_equal(
	    asr_chain_transcribe(c, "openai", &src, NULL, &t, at, &n, &used, err, sizeof err),
	    ASR_RETRYABLE);
	assert_int_equal(n, 1);
	assert_true(err[0] != '\0');
	assert_int_equal(t.nsegments, 0);

	src = pcm_source(&p);
	assert_int_equal(
	    asr_chain_transcribe(c, "whisperx", &src, NULL, &t, at, &n, &used, err, sizeof err),
	    ASR_UNSUPPORTED);
	assert_non_null(strstr(err, "whisperx"));
	assert_non_null(strstr(err, "not configured"));
	assert_int_equal(n, 0);

	/* A language sphinx lacks: its rc comes back. */
	struct asr_opts fr = {.language = "fr"};
	src = pcm_source(&p);
	assert_int_equal(
	    asr_chain_transcribe(c, "sphinx", &src, &fr, &t, at, &n, &used, err, sizeof err),
	    ASR_UNSUPPORTED);
	assert_int_equal(at[0].rc, ASR_UNSUPPORTED);
	free(p.s);
	asr_chain_free(c);
}

static void test_chain_specs(void **state)
{
	char err[256];
	struct asr_openai_config oc = {.base_url = "http://127.0.0.1:9/v1"};
	struct asr_openai_config nourl = {.base_url = NULL};
	struct {
		const char *spec;
		const struct asr_openai_config *openai;
		const char *needle;
	} bad[] = {
	    {"sphinx,whisper", &oc, "whisper"},
	    {"foo", &oc, "foo"},
	    {"sphinx,sphinx", &oc, "twice"},
	    {"openai, openai", &oc, "twice"},
	    {"openai", &nourl, "base URL"},
	    {"openai", NULL, "base URL"},
	    {"", &oc, "No speech engine"},
	    {NULL, &oc, "No speech engine"},
	    {"sphinx,,openai", &oc, "empty"},
	    {"averyveryveryveryverylongenginename", &oc, "averyvery"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = '\0';
		assert_null(asr_chain_new(bad[i].spec, NULL, bad[i].openai, NULL, err, sizeof err));
		if (!strstr(err, bad[i].needle))
			fail_msg("spec \"%s\": \"%s\" not in \"%s\"",
				 bad[i].spec ? bad[i].spec : "(null)", bad[i].needle, err);
	}
	struct asr_sphinx_config broken = {.hmm = "/nonexistent"};
	assert_null(asr_chain_new("sphinx", &broken, NULL, NULL, err, sizeof err));
	assert_non_null(strstr(err, "sphinx"));

	struct asr_chain *c = asr_chain_new("openai", NULL, &oc, NULL, err, sizeof err);
	assert_non_null(c);
	assert_int_equal(c->n, 1);
	asr_chain_free(c);
	asr_chain_free(NULL);
}

int main(void)
{
	const struct CMUnitTest sphinx_tests[] = {
	    cmocka_unit_test(test_sphinx_sentences),  cmocka_unit_test(test_sphinx_silence),
	    cmocka_unit_test(test_sphinx_language),   cmocka_unit_test(test_sphinx_cancel),
	    cmocka_unit_test(test_sphinx_read_error), cmocka_unit_test(test_sphinx_threads),
	    cmocka_unit_test(test_sphinx_bad_model),  cmocka_unit_test(test_sphinx_bench),
	};
	const struct CMUnitTest openai_tests[] = {
	    cmocka_unit_test(test_openai_ok),
	    cmocka_unit_test(test_openai_pieces),
	    cmocka_unit_test(test_openai_errors),
	    cmocka_unit_test(test_openai_unreachable_and_config),
	};
	const struct CMUnitTest chain_tests[] = {
	    cmocka_unit_test(test_chain_fallback),
	    cmocka_unit_test(test_chain_specs),
	};
	int failed =
	    cmocka_run_group_tests_name("asr_sphinx", sphinx_tests, sphinx_setup, sphinx_teardown);
	failed +=
	    cmocka_run_group_tests_name("asr_openai", openai_tests, fake_setup, fake_teardown);
	failed += cmocka_run_group_tests_name("asr_chain", chain_tests, NULL, NULL);
	return failed ? 1 : 0;
}
