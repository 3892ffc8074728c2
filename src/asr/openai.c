/*
 * openai.c — client for any OpenAI-compatible POST .../audio/transcriptions
 * (OpenAI, Groq, whisper.cpp server, speaches, another iamd).
 *
 * The source is read in pieces of at most piece_s seconds; each piece is
 * sent as a 16 kHz mono 16-bit WAV in multipart/form-data asking for
 * verbose_json with segment and word timestamps, and the answer's times are
 * shifted by the piece's offset. One piece of PCM is the most we hold
 * (600 s = 19 MB), and the answer is capped at OPENAI_MAX_BODY.
 *
 * Never logged: the API key, the audio, the transcript text.
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "asr/asr.h"
#include "core/buf.h"
#include "core/log.h"
#include "media/media.h"

#define OPENAI_MAX_BODY	       (64u << 20) /* a verbose_json answer larger than this is refused */
#define OPENAI_CONNECT_TIMEOUT 10L
#define OPENAI_DEFAULT_TIMEOUT 600
#define WAV_HEADER	       44   /* media_wav_header's size */
#define READ_CHUNK	       4096 /* samples per source read */
#define BEARER		       "Authorization: Bearer "

/* The pieces are the decoder's PCM, described by media_wav_header. */
_Static_assert(ASR_RATE == MEDIA_RATE, "the speech engines take the decoder's sample rate");

struct openai {
	char *url;    /* base_url + "/audio/transcriptions"; owned */
	char *auth;   /* "Authorization: Bearer ..." or NULL; owned, never logged */
	char *model;  /* owned */
	char *host;   /* for error messages (no path, no credentials); owned */
	long timeout; /* seconds per request */
	size_t piece; /* samples per request */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void curl_start(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

/* The response body, bounded by OPENAI_MAX_BODY. */
struct body {
	struct buf buf;
	int too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct body *b = ud;
	size_t add = size * n;
	if (add > OPENAI_MAX_BODY - b->buf.len) {
		b->too_big = 1;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	return buf_append(&b->buf, p, add) < 0 ? 0 : add;
}

static int on_xfer(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		   curl_off_t ulnow)
{
	const struct asr_opts *o = ud;
	return o && o->cancel && atomic_load(o->cancel) ? 1 : 0;
}

static void put_le16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v & 0xff);
	p[1] = (unsigned char)((v >> 8) & 0xff);
}

/* "english" -> "en"; two-letter codes are kept; anything else gives NULL. */
static const char *language_code(const char *l)
{
	static const char *const names[][2] = {
	    {"english", "en"},	  {"spanish", "es"},	{"french", "fr"},     {"german", "de"},
	    {"italian", "it"},	  {"portuguese", "pt"}, {"dutch", "nl"},      {"russian", "ru"},
	    {"chinese", "zh"},	  {"japanese", "ja"},	{"korean", "ko"},     {"arabic", "ar"},
	    {"hindi", "hi"},	  {"turkish", "tr"},	{"polish", "pl"},     {"ukrainian", "uk"},
	    {"swedish", "sv"},	  {"danish", "da"},	{"norwegian", "no"},  {"finnish", "fi"},
	    {"greek", "el"},	  {"czech", "cs"},	{"romanian", "ro"},   {"hungarian", "hu"},
	    {"hebrew", "he"},	  {"indonesian", "id"}, {"vietnamese", "vi"}, {"thai", "th"},
	    {"catalan", "ca"},	  {"malay", "ms"},	{"persian", "fa"},    {"bulgarian", "bg"},
	    {"croatian", "hr"},	  {"serbian", "sr"},	{"slovak", "sk"},     {"slovenian", "sl"},
	    {"lithuanian", "lt"}, {"latvian", "lv"},	{"estonian", "et"},   {"welsh", "cy"},
	    {"tagalog", "tl"},	  {"urdu", "ur"},	{"bengali", "bn"},    {"tamil", "ta"},
	};
	if (!l)
		return NULL;
	if (strlen(l) == 2 && isalpha((unsigned char)l[0]) && isalpha((unsigned char)l[1]))
		return l;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcasecmp(l, names[i][0]))
			return names[i][1];
	return NULL;
}

/* The request's language: ISO 639-1 from "en", "en-US", "English"; "en" when unset. */
static void request_language(const char *l, char out[3])
{
	strcpy(out, "en");
	if (!l || !*l)
		return;
	const char *code = language_code(l);
	if (code) {
		out[0] = (char)tolower((unsigned char)code[0]);
		out[1] = (char)tolower((unsigned char)code[1]);
	} else if (isalpha((unsigned char)l[0]) && isalpha((unsigned char)l[1]) &&
		   (l[2] == '-' || l[2] == '_')) {
		out[0] = (char)tolower((unsigned char)l[0]);
		out[1] = (char)tolower((unsigned char)l[1]);
	}
}

/* Copy s into out without control characters, quotes or runs of spaces; for error texts. */
static void clean_text(const char *s, char *out, size_t len)
{
	size_t j = 0;
	for (; s && *s && j + 1 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			c = ' ';
		if (c == ' ' && (j == 0 || out[j - 1] == ' '))
			continue;
		out[j++] = (char)c;
	}
	while (j && out[j - 1] == ' ')
		j--;
	out[j] = '\0';
}

/* OpenAI's {"error":{"message": ...}} (or {"error": "..."}, {"message": ...}) into msg. */
static void api_error(const struct body *b, char *msg, size_t len)
{
	msg[0] = '\0';
	if (!b->buf.data)
		return;
	json_t *j = json_loadb(b->buf.data, b->buf.len, 0, NULL);
	if (!j)
		return;
	json_t *e = json_object_get(j, "error");
	const char *m = NULL;
	if (json_is_object(e))
		m = json_string_value(json_object_get(e, "message"));
	else if (json_is_string(e))
		m = json_string_value(e);
	else
		m = json_string_value(json_object_get(j, "message"));
	if (m)
		clean_text(m, msg, len);
	json_decref(j);
}

/* Servers may echo the key in an error message; blank it out before it is stored. */
static void scrub_key(const struct openai *oa, char *msg)
{
	if (!oa->auth)
		return;
	const char *key = oa->auth + strlen(BEARER);
	size_t n = strlen(key);
	char *p;
	while (n >= 4 && (p = strstr(msg, key)))
		memset(p, '*', n);
}

static int num(json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_number(v))
		return -1;
	double d = json_number_value(v);
	if (!isfinite(d))
		return -1;
	*out = d;
	return 0;
}

/* Whisper puts a space before each segment and word: trim both ends into a new string. */
static char *trimmed(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	char *t = malloc(n + 1);
	if (t) {
		memcpy(t, s, n);
		t[n] = '\0';
	}
	return t;
}

struct seg {
	double start, end, conf;
	char *text; /* owned */
};

struct word {
	double start, end;
	char *text; /* owned */
	size_t seg;
};

static int by_start_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

static int by_start_word(const void *a, const void *b)
{
	const struct word *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * Parse one piece's verbose_json into out, times clamped to the piece
 * [0, dur] and shifted by offset. 0, or -1 when the answer is not a
 * transcription (-2: out of memory).
 */
static int parse_piece(const struct body *b, double offset, double dur, struct transcript *out)
{
	struct seg *segs = NULL;
	struct word *words = NULL;
	size_t nseg = 0, nword = 0;
	int rc = -1;
	json_t *j = b->buf.data ? json_loadb(b->buf.data, b->buf.len, 0, NULL) : NULL;
	if (!json_is_object(j))
		goto done;
	const char *text = json_string_value(json_object_get(j, "text"));
	if (!text)
		goto done;
	json_t *js = json_object_get(j, "segments");
	json_t *jw = json_object_get(j, "words");
	if ((js && !json_is_array(js) && !json_is_null(js)) ||
	    (jw && !json_is_array(jw) && !json_is_null(jw)))
		goto done;

	size_t ns = json_array_size(js), nw = json_array_size(jw);
	segs = calloc(ns + 1, sizeof *segs);
	words = calloc(nw + 1, sizeof *words);
	if (!segs || !words)
		goto nomem;
	for (size_t i = 0; i < ns; i++) {
		json_t *s = json_array_get(js, i);
		const char *st = json_string_value(json_object_get(s, "text"));
		double start, end, lp;
		if (!json_is_object(s) || !st || num(s, "start", &start) || num(s, "end", &end))
			goto done;
		char *t = trimmed(st);
		if (!t)
			goto nomem;
		if (!*t) {
			free(t);
			continue;
		}
		struct seg *g = &segs[nseg++];
		g->text = t;
		g->start = clampd(start, 0, dur);
		g->end = clampd(end, g->start, dur);
		g->conf = num(s, "avg_logprob", &lp) == 0 ? clampd(exp(lp), 0, 1) : 1;
	}
	for (size_t i = 0; i < nw; i++) {
		json_t *w = json_array_get(jw, i);
		const char *wt = json_string_value(json_object_get(w, "word"));
		double start, end;
		if (!json_is_object(w) || !wt || num(w, "start", &start) || num(w, "end", &end))
			goto done;
		char *t = trimmed(wt);
		if (!t)
			goto nomem;
		if (!*t) {
			free(t);
			continue;
		}
		struct word *x = &words[nword++];
		x->text = t;
		x->start = clampd(start, 0, dur);
		x->end = clampd(end, x->start, dur);
	}
	if (!nseg) {
		/* Text but no segments (or words only): one segment for the piece. */
		char *t = trimmed(text);
		if (!t)
			goto nomem;
		if (!*t) {
			free(t);
		} else {
			segs[0] = (struct seg){
			    .start = nword ? words[0].start : 0,
			    .end = nword ? words[nword - 1].end : dur,
			    .conf = 1,
			    .text = t,
			};
			nseg = 1;
		}
	}
	qsort(segs, nseg, sizeof *segs, by_start_seg);
	qsort(words, nword, sizeof *words, by_start_word);
	/*
	 * Each word goes to the segment holding its midpoint, else the nearest;
	 * both lists are in time order, so one walk does it.
	 */
	size_t k = 0;
	for (size_t i = 0; i < nword && nseg; i++) {
		double mid = (words[i].start + words[i].end) / 2;
		while (k + 1 < nseg && mid >= segs[k].end &&
		       (mid >= segs[k + 1].start || mid - segs[k].end > segs[k + 1].start - mid))
			k++;
		words[i].seg = k;
	}
	size_t wi = 0;
	for (size_t i = 0; i < nseg; i++) {
		struct seg *g = &segs[i];
		if (transcript_add_segment(out, g->start + offset, g->end + offset, g->conf,
					   g->text) < 0)
			goto nomem;
		for (; wi < nword && words[wi].seg == i; wi++)
			if (transcript_add_word(out, words[wi].start + offset,
						words[wi].end + offset, g->conf,
						words[wi].text) < 0)
				goto nomem;
	}
	if (!out->language[0]) {
		const char *code = language_code(json_string_value(json_object_get(j, "language")));
		if (code)
			snprintf(out->language, sizeof out->language, "%c%c",
				 tolower((unsigned char)code[0]), tolower((unsigned char)code[1]));
	}
	rc = 0;
	goto done;
nomem:
	rc = -2;
done:
	for (size_t i = 0; i < nseg; i++)
		free(segs[i].text);
	for (size_t i = 0; i < nword; i++)
		free(words[i].text);
	free(segs);
	free(words);
	json_decref(j);
	return rc;
}

/* The WAV piece, read by curl straight from our buffer. */
struct upload {
	const unsigned char *data;
	size_t len, pos;
};

static size_t upload_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t k = size * n < u->len - u->pos ? size * n : u->len - u->pos;
	memcpy(buf, u->data + u->pos, k);
	u->pos += k;
	return k;
}

static int upload_seek(void *arg, curl_off_t off, int origin)
{
	struct upload *u = arg;
	if (origin != SEEK_SET || off < 0 || (size_t)off > u->len)
		return CURL_SEEKFUNC_CANTSEEK;
	u->pos = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

/*
 * POST one WAV piece. Returns ASR_OK with the body in *b, or an rc with
 * err set.
 */
static int post_piece(struct openai *oa, const unsigned char *wav, size_t wavlen,
		      const struct asr_opts *o, const char *lang, struct body *b, char *err,
		      size_t errlen)
{
	int rc = ASR_FAILED;
	CURL *h = curl_easy_init();
	curl_mime *mime = NULL;
	struct curl_slist *hdr = NULL;
	if (!h)
		goto nomem;
	mime = curl_mime_init(h);
	if (!mime)
		goto nomem;
	curl_mimepart *p = curl_mime_addpart(mime);
	/* Read in place: curl_mime_data() would copy up to 19 MB. */
	struct upload up = {wav, wavlen, 0};
	if (!p || curl_mime_name(p, "file") ||
	    curl_mime_data_cb(p, (curl_off_t)wavlen, upload_read, upload_seek, NULL, &up) ||
	    curl_mime_filename(p, "audio.wav") || curl_mime_type(p, "audio/wav"))
		goto nomem;
	const char *fields[][2] = {
	    {"model", oa->model},
	    {"response_format", "verbose_json"},
	    {"timestamp_granularities[]", "segment"},
	    {"timestamp_granularities[]", "word"},
	    {"language", lang},
	    {"prompt", o && o->prompt && *o->prompt ? o->prompt : NULL},
	};
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		if (!fields[i][1])
			continue;
		p = curl_mime_addpart(mime);
		if (!p || curl_mime_name(p, fields[i][0]) ||
		    curl_mime_data(p, fields[i][1], CURL_ZERO_TERMINATED))
			goto nomem;
	}
	struct curl_slist *t;
	if (!(t = curl_slist_append(hdr, "Accept: application/json")))
		goto nomem;
	hdr = t;
	if (!(t = curl_slist_append(hdr, "Expect:"))) /* no 1 s wait for 100-continue */
		goto nomem;
	hdr = t;
	if (oa->auth) {
		if (!(t = curl_slist_append(hdr, oa->auth)))
			goto nomem;
		hdr = t;
	}
	curl_easy_setopt(h, CURLOPT_URL, oa->url);
	curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, oa->timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, OPENAI_CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "iam-asr/1");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xfer);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)o);

	CURLcode cc = curl_easy_perform(h);
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK) {
		switch (cc) {
		case CURLE_ABORTED_BY_CALLBACK:
			rc = ASR_CANCELLED;
			snprintf(err, errlen, "Transcription was cancelled.");
			break;
		case CURLE_WRITE_ERROR:
			rc = ASR_FAILED;
			snprintf(err, errlen, "The speech API at %s sent %s.", oa->host,
				 b->too_big ? "an answer larger than 64 MB"
					    : "an unreadable answer");
			break;
		case CURLE_OPERATION_TIMEDOUT:
			rc = ASR_RETRYABLE;
			snprintf(err, errlen, "The speech API at %s did not answer within %ld s.",
				 oa->host, oa->timeout);
			break;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_SSL_CONNECT_ERROR:
			rc = ASR_RETRYABLE;
			snprintf(err, errlen, "The speech API at %s could not be reached: %s.",
				 oa->host, curl_easy_strerror(cc));
			break;
		default:
			rc = ASR_FAILED;
			snprintf(err, errlen, "The speech API at %s could not be used: %s.",
				 oa->host, curl_easy_strerror(cc));
		}
		goto done;
	}
	if (status >= 200 && status < 300) {
		rc = ASR_OK;
		goto done;
	}
	char msg[160];
	api_error(b, msg, sizeof msg);
	scrub_key(oa, msg);
	rc = status == 408 || status == 429 || status >= 500 ? ASR_RETRYABLE : ASR_FAILED;
	snprintf(err, errlen, "The speech API at %s answered HTTP %ld%s%s%s", oa->host, status,
		 msg[0] ? ": " : "", msg, msg[0] && strchr(".!?", msg[strlen(msg) - 1]) ? "" : ".");
	goto done;
nomem:
	rc = ASR_FAILED;
	snprintf(err, errlen, "Out of memory preparing the speech API request.");
done:
	curl_mime_free(mime);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return rc;
}

static int openai_transcribe(struct asr_engine *e, struct asr_source *src, const struct asr_opts *o,
			     struct transcript *out, char *err, size_t errlen)
{
	struct openai *oa = e->impl;
	unsigned char *wav = NULL;
	int16_t *pcm = NULL;
	struct body b = {0};
	int rc = ASR_FAILED;
	char lang[3];
	if (errlen)
		err[0] = '\0';
	memset(out, 0, sizeof *out);
	if (!src || !src->read) {
		snprintf(err, errlen, "No audio to transcribe.");
		return ASR_FAILED;
	}
	request_language(o ? o->language : NULL, lang);
	wav = malloc(WAV_HEADER + oa->piece * 2);
	pcm = malloc(READ_CHUNK * sizeof *pcm);
	if (!wav || !pcm) {
		snprintf(err, errlen, "Out of memory preparing the speech API request.");
		goto done;
	}
	long long done_samples = 0;
	int eof = 0;
	while (!eof) {
		/* Fill one piece. */
		size_t n = 0;
		while (n < oa->piece) {
			if (o && o->cancel && atomic_load(o->cancel)) {
				rc = ASR_CANCELLED;
				snprintf(err, errlen, "Transcription was cancelled.");
				goto done;
			}
			size_t want = oa->piece - n < READ_CHUNK ? oa->piece - n : READ_CHUNK;
			long got = src->read(src->ctx, pcm, want);
			if (got == 0) {
				eof = 1;
				break;
			}
			if (got < 0 || (size_t)got > want) {
				rc = ASR_FAILED;
				snprintf(err, errlen, "The audio could not be read.");
				goto done;
			}
			for (long i = 0; i < got; i++)
				put_le16(wav + WAV_HEADER + (n + (size_t)i) * 2, (uint16_t)pcm[i]);
			n += (size_t)got;
		}
		if (!n)
			break;
		media_wav_header(wav, n);
		buf_clear(&b.buf);
		b.too_big = 0;
		rc = post_piece(oa, wav, WAV_HEADER + n * 2, o, lang, &b, err, errlen);
		if (rc != ASR_OK)
			goto done;
		double offset = (double)done_samples / ASR_RATE;
		double dur = (double)n / ASR_RATE;
		int pr = parse_piece(&b, offset, dur, out);
		if (pr == -2) {
			rc = ASR_FAILED;
			snprintf(err, errlen, "Out of memory reading the speech API's answer.");
			goto done;
		}
		if (pr < 0) {
			rc = ASR_FAILED;
			snprintf(err, errlen,
				 "The speech API at %s returned an answer that is not a "
				 "transcription.",
				 oa->host);
			goto done;
		}
		done_samples += (long long)n;
		if (o && o->progress && src->duration > 0) {
			double f = (double)done_samples / ASR_RATE / src->duration;
			o->progress(o->progress_ctx, f > 1 ? 1 : f);
		}
	}
	out->duration = (double)done_samples / ASR_RATE;
	if (!out->language[0])
		snprintf(out->language, sizeof out->language, "%s", lang);
	if (o && o->progress)
		o->progress(o->progress_ctx, 1);
	rc = ASR_OK;
done:
	if (rc != ASR_OK)
		transcript_free(out);
	buf_free(&b.buf);
	free(wav);
	free(pcm);
	return rc;
}

static void openai_destroy(struct asr_engine *e)
{
	struct openai *oa = e->impl;
	if (!oa)
		return;
	free(oa->url);
	if (oa->auth) {
		/* The key should not linger in freed memory. */
		volatile char *p = oa->auth;
		while (*p)
			*p++ = '\0';
		free(oa->auth);
	}
	free(oa->model);
	free(oa->host);
	free(oa);
	e->impl = NULL;
}

/* "https://user:pw@api.example.com:443/v1" -> "api.example.com:443". */
static char *url_host(const char *url)
{
	const char *s = strstr(url, "://");
	s = s ? s + 3 : url;
	const char *end = s + strcspn(s, "/?#");
	const char *at = memchr(s, '@', (size_t)(end - s));
	if (at)
		s = at + 1;
	return strndup(s, (size_t)(end - s));
}

/*
 * Returns a new engine (caller frees with asr_engine_free) or NULL with
 * err. Nothing is sent until the first transcription.
 */
struct asr_engine *asr_openai_new(const struct asr_openai_config *c, char *err, size_t errlen)
{
	struct asr_engine *e = NULL;
	struct openai *oa = NULL;
	if (!c || !c->base_url || !*c->base_url) {
		snprintf(err, errlen, "The OpenAI-compatible speech engine needs a base URL.");
		return NULL;
	}
	if (strncasecmp(c->base_url, "http://", 7) && strncasecmp(c->base_url, "https://", 8)) {
		snprintf(err, errlen,
			 "The speech API base URL must start with http:// or https://.");
		return NULL;
	}
	if (c->api_key && strpbrk(c->api_key, "\r\n")) {
		snprintf(err, errlen, "The speech API key contains a line break.");
		return NULL;
	}
	pthread_once(&curl_once, curl_start);
	if (!curl_ok) {
		snprintf(err, errlen, "libcurl could not be initialised.");
		return NULL;
	}
	e = calloc(1, sizeof *e);
	oa = calloc(1, sizeof *oa);
	if (!e || !oa)
		goto nomem;
	e->impl = oa;
	e->transcribe = openai_transcribe;
	e->destroy = openai_destroy;
	const char *model = c->model && *c->model ? c->model : "whisper-1";
	snprintf(e->name, sizeof e->name, "openai");
	snprintf(e->model, sizeof e->model, "%s", model);

	size_t n = strlen(c->base_url);
	while (n && c->base_url[n - 1] == '/')
		n--;
	static const char path[] = "/audio/transcriptions";
	oa->url = malloc(n + sizeof path);
	if (!oa->url)
		goto nomem;
	memcpy(oa->url, c->base_url, n);
	memcpy(oa->url + n, path, sizeof path);
	if (c->api_key && *c->api_key) {
		size_t len = strlen(BEARER) + strlen(c->api_key) + 1;
		oa->auth = malloc(len);
		if (!oa->auth)
			goto nomem;
		snprintf(oa->auth, len, "%s%s", BEARER, c->api_key);
	}
	oa->model = strdup(model);
	oa->host = url_host(c->base_url);
	if (!oa->model || !oa->host)
		goto nomem;
	oa->timeout = c->timeout_s > 0 ? c->timeout_s : OPENAI_DEFAULT_TIMEOUT;
	int piece =
	    c->piece_s > 0 && c->piece_s < ASR_OPENAI_PIECE_S ? c->piece_s : ASR_OPENAI_PIECE_S;
	oa->piece = (size_t)piece * ASR_RATE;
	return e;
nomem:
	snprintf(err, errlen, "Out of memory setting up the speech API client.");
	asr_engine_free(e);
	if (!e)
		free(oa);
	return NULL;
}
