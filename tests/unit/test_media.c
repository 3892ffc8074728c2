/*
 * Unit tests for media: sniffing, probing real and broken files, streaming
 * decode to 16 kHz mono, rewind, the WAV header, and flat memory over an
 * hour of audio. Inputs are generated at test time (espeak-ng, ffmpeg,
 * sox) into a temporary directory; a test whose tool is missing is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "media/media.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static char g_dir[256];
static bool g_espeak, g_ffmpeg, g_sox;

/* ---- helpers -------------------------------------------------------------- */

static const char *in_dir(const char *name)
{
	static _Thread_local char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", g_dir, name);
	return path;
}

static bool exists(const char *name)
{
	struct stat st;
	return stat(in_dir(name), &st) == 0;
}

static bool have(const char *tool)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* Run a shell command inside the temp dir. */
__attribute__((format(printf, 1, 2))) static bool sh(const char *fmt, ...)
{
	char cmd[2048];
	int n = snprintf(cmd, sizeof cmd, "cd '%s' && ", g_dir);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
	va_end(ap);
	return system(cmd) == 0;
}

static void write_bytes(const char *name, const void *data, size_t len)
{
	FILE *f = fopen(in_dir(name), "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static long file_size(const char *name)
{
	struct stat st;
	return stat(in_dir(name), &st) == 0 ? (long)st.st_size : -1;
}

/* Copy the first len bytes of src to dst. */
static void head_copy(const char *src, const char *dst, long len)
{
	FILE *in = fopen(in_dir(src), "rb");
	assert_non_null(in);
	char *buf = malloc((size_t)len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, in), (size_t)len);
	fclose(in);
	write_bytes(dst, buf, (size_t)len);
	free(buf);
}

#define REQUIRE(name)                                                                              \
	do {                                                                                       \
		if (!exists(name)) {                                                               \
			print_message("skipped: %s was not generated (tool missing)\n", name);     \
			skip();                                                                    \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long max_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Resident set size now, in KiB (0 if /proc is not there). */
static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

struct decoded {
	long rss_start, rss_max; /* KiB, sampled while decoding */
	int64_t samples;
	int peak;
	double rms;
	long chunks;
	double position;
	long last_rc;
};

/* Decode a whole file; asserts the decoder opens. */
static struct decoded decode_all(const char *name)
{
	struct media_decoder *d = NULL;
	char detail[256];
	struct decoded r = {0};
	int16_t buf[4096];
	double sumsq = 0;
	long n;

	int rc = media_decoder_open(in_dir(name), &d, detail, sizeof detail);
	if (rc != MEDIA_OK)
		fail_msg("decoder_open(%s) = %d: %s", name, rc, detail);
	assert_true(media_decoder_position(d) == 0.0);
	r.rss_start = r.rss_max = rss_kb();
	while ((n = media_decoder_read(d, buf, sizeof buf / sizeof *buf)) > 0) {
		if (r.chunks % 2000 == 0) {
			long now = rss_kb();
			if (now > r.rss_max)
				r.rss_max = now;
		}
		assert_true(n <= (long)(sizeof buf / sizeof *buf));
		for (long i = 0; i < n; i++) {
			int v = abs(buf[i]);
			if (v > r.peak)
				r.peak = v;
			sumsq += (double)buf[i] * buf[i];
		}
		r.samples += n;
		r.chunks++;
	}
	r.last_rc = n;
	r.position = media_decoder_position(d);
	r.rms = r.samples ? sqrt(sumsq / (double)r.samples) : 0;
	/* After the end: still the end. */
	assert_int_equal(media_decoder_read(d, buf, 10), n);
	media_decoder_close(d);
	return r;
}

static void assert_near(double got, double want, double tolerance, const char *what)
{
	if (fabs(got - want) > tolerance * want)
		fail_msg("%s: got %.3f, want %.3f ±%.0f%%", what, got, want, tolerance * 100);
}

/* ---- fixtures ------------------------------------------------------------- */

static int group_setup(void **state)
{
	snprintf(g_dir, sizeof g_dir, "/tmp/iam-test-media-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	g_espeak = have("espeak-ng");
	g_ffmpeg = have("ffmpeg");
	g_sox = have("sox");
	if (!g_espeak || !g_ffmpeg || !g_sox)
		print_message("note: missing tools (espeak-ng %d, ffmpeg %d, sox %d): some tests "
			      "skip\n",
			      g_espeak, g_ffmpeg, g_sox);

	/* Small files everyone uses; the large ones are made by their tests. */
	if (g_espeak)
		sh("espeak-ng -w f.wav 'hello world this is a test of the transcription "
		   "service'");
	if (g_espeak && g_ffmpeg && exists("f.wav")) {
		sh("ffmpeg -nostdin -loglevel error -i f.wav f.mp3");
		sh("ffmpeg -nostdin -loglevel error -i f.wav -c:a libopus f.ogg");
		sh("ffmpeg -nostdin -loglevel error -i f.wav -c:a aac f.m4a");
		sh("ffmpeg -nostdin -loglevel error -i f.wav f.flac");
		sh("ffmpeg -nostdin -loglevel error -i f.wav -c:a libvorbis f.webm");
		sh("ffmpeg -nostdin -loglevel error -i f.wav -c:a aac f.aac");
		/* MPEG-TS: libmagic says application/octet-stream, FFmpeg must be sure. */
		sh("ffmpeg -nostdin -loglevel error -f lavfi -i "
		   "testsrc=duration=2:size=160x120:rate=10 -i f.wav -shortest f.ts");
		/* Opus in WebM with video: the decoder trims the pre-skip itself. */
		sh("ffmpeg -nostdin -loglevel error -f lavfi -i "
		   "testsrc=duration=2:size=160x120:rate=10 -i f.wav -shortest -c:v libvpx "
		   "-c:a libopus vo.webm");
		sh("ffmpeg -nostdin -loglevel error -f lavfi -i "
		   "testsrc=duration=2:size=160x120:rate=10 -i f.wav -shortest v.mp4");
	}
	if (g_ffmpeg) {
		sh("ffmpeg -nostdin -loglevel error -f lavfi -i "
		   "testsrc=duration=2:size=160x120:rate=10 nv.mp4");
		/* 10 s of tone, 44.1 kHz stereo: for truncation and damage. */
		sh("ffmpeg -nostdin -loglevel error -f lavfi -i sine=frequency=440:duration=10 "
		   "-ac 2 -ar 44100 -b:a 128k ten.mp3");
		/* 48 kHz stereo WAV, left and right different. */
		sh("ffmpeg -nostdin -loglevel error -f lavfi -i "
		   "\"aevalsrc=0.5*sin(2*PI*300*t)|0.5*sin(2*PI*500*t):s=48000:d=2\" st.wav");
	}
	if (g_sox)
		sh("sox -n -r 16000 -c 1 s.wav trim 0 3");
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int group_teardown(void **state)
{
	return nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- sniff ---------------------------------------------------------------- */

static void test_sniff(void **state)
{
	char mime[64];
	unsigned char wav[44];

	media_wav_header(wav, 16000);
	assert_int_equal(media_sniff(wav, sizeof wav, mime, sizeof mime), 0);
	assert_string_equal(mime, "audio/x-wav");
	assert_int_equal(media_sniff("hello there\n", 12, mime, sizeof mime), 0);
	assert_string_equal(mime, "text/plain");
	assert_int_equal(media_sniff("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", 15, mime, sizeof mime), 0);
	assert_string_equal(mime, "application/pdf");
	assert_int_equal(media_sniff("", 0, mime, sizeof mime), 0);
	/* A tiny buffer truncates rather than overflows. */
	char small[6];
	assert_int_equal(media_sniff("hello there\n", 12, small, sizeof small), 0);
	assert_string_equal(small, "text/");
}

#define SNIFF_THREADS 4
static void *sniff_worker(void *arg)
{
	unsigned char wav[44];
	char mime[64];
	long bad = 0;
	media_wav_header(wav, 100);
	for (int i = 0; i < 300; i++) {
		if (media_sniff(wav, sizeof wav, mime, sizeof mime) != 0 ||
		    strcmp(mime, "audio/x-wav") != 0)
			bad++;
		if (media_sniff("just text\n", 10, mime, sizeof mime) != 0 ||
		    strcmp(mime, "text/plain") != 0)
			bad++;
	}
	return (void *)bad;
}

static void test_sniff_threads(void **state)
{
	pthread_t t[SNIFF_THREADS];
	for (int i = 0; i < SNIFF_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, sniff_worker, NULL), 0);
	for (int i = 0; i < SNIFF_THREADS; i++) {
		void *bad;
		pthread_join(t[i], &bad);
		assert_int_equal((long)bad, 0);
	}
}

/* ---- WAV header ----------------------------------------------------------- */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_wav_header(void **state)
{
	unsigned char h[44];

	media_wav_header(h, 16000);
	assert_memory_equal(h, "RIFF", 4);
	assert_int_equal(le32(h + 4), 36 + 32000);
	assert_memory_equal(h + 8, "WAVEfmt ", 8);
	assert_int_equal(le32(h + 16), 16);
	assert_int_equal(h[20] | h[21] << 8, 1);
	assert_int_equal(h[22] | h[23] << 8, 1);
	assert_int_equal(le32(h + 24), 16000);
	assert_int_equal(le32(h + 28), 32000);
	assert_int_equal(h[32] | h[33] << 8, 2);
	assert_int_equal(h[34] | h[35] << 8, 16);
	assert_memory_equal(h + 36, "data", 4);
	assert_int_equal(le32(h + 40), 32000);

	media_wav_header(h, 0);
	assert_int_equal(le32(h + 4), 36);
	assert_int_equal(le32(h + 40), 0);

	/* Beyond 4 GiB the sizes saturate instead of wrapping. */
	media_wav_header(h, (size_t)3 << 30);
	assert_true(le32(h + 40) > 0xfff00000u);
	assert_int_equal(le32(h + 40) % 2, 0);
	assert_true(le32(h + 4) >= le32(h + 40));
}

/* Our own WAV round-trips bit for bit: 16 kHz mono s16 needs no conversion. */
static void test_wav_round_trip(void **state)
{
	enum { N = 16000 };
	unsigned char *file = malloc(44 + N * 2);
	int16_t pcm[N];

	assert_non_null(file);
	for (int i = 0; i < N; i++)
		pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 440 * i / 16000.0) + (i % 7));
	media_wav_header(file, N);
	for (int i = 0; i < N; i++) {
		file[44 + 2 * i] = (unsigned char)(pcm[i] & 0xff);
		file[45 + 2 * i] = (unsigned char)((uint16_t)pcm[i] >> 8);
	}
	write_bytes("own.wav", file, 44 + N * 2);
	free(file);

	struct media_info info;
	char detail[256];
	assert_int_equal(media_probe(in_dir("own.wav"), &info, detail, sizeof detail), MEDIA_OK);
	assert_string_equal(info.format, "wav");
	assert_string_equal(info.codec, "pcm_s16le");
	assert_int_equal(info.sample_rate, 16000);
	assert_int_equal(info.channels, 1);
	assert_false(info.has_video);
	assert_string_equal(info.mime, "audio/x-wav");
	assert_near(info.duration, 1.0, 0.001, "duration");
	assert_int_equal(info.bit_rate, 256000);

	struct media_decoder *d;
	assert_int_equal(media_decoder_open(in_dir("own.wav"), &d, detail, sizeof detail),
			 MEDIA_OK);
	int16_t out[N + 100];
	long got = 0, n;
	/* Odd-sized reads exercise the internal buffer's bookkeeping. */
	while ((n = media_decoder_read(d, out + got,
				       got + 333 > N + 100 ? (size_t)(N + 100 - got) : 333)) > 0)
		got += n;
	assert_int_equal(n, 0);
	assert_int_equal(got, N);
	assert_memory_equal(out, pcm, sizeof pcm);
	assert_true(media_decoder_position(d) == 1.0);

	/* Rewind gives the same samples again. */
	assert_int_equal(media_decoder_rewind(d), 0);
	assert_true(media_decoder_position(d) == 0.0);
	got = 0;
	while ((n = media_decoder_read(d, out + got, (size_t)(N + 100 - got))) > 0)
		got += n;
	assert_int_equal(got, N);
	assert_memory_equal(out, pcm, sizeof pcm);
	assert_int_equal(media_decoder_read(d, out, 0), 0);
	media_decoder_close(d);
	media_decoder_close(NULL);
}

/* ---- probe + decode of good files ------------------------------------------ */

struct good_case {
	const char *file;
	const char *format;
	const char *codec;
	const char *mime_prefix;
	bool has_video;
	bool speech;
	/* Raw streams (ADTS) have no duration: FFmpeg estimates it from the bit rate. */
	bool estimated;
};

static void check_good(const struct good_case *c, double want_duration)
{
	struct media_info info;
	char detail[256] = "unset";

	int rc = media_probe(in_dir(c->file), &info, detail, sizeof detail);
	if (rc != MEDIA_OK)
		fail_msg("probe(%s) = %d: %s", c->file, rc, detail);
	assert_string_equal(info.format, c->format);
	assert_string_equal(info.codec, c->codec);
	if (strncmp(info.mime, c->mime_prefix, strlen(c->mime_prefix)) != 0)
		fail_msg("%s: mime %s", c->file, info.mime);
	assert_int_equal(info.has_video, c->has_video);
	assert_true(info.sample_rate > 0);
	assert_true(info.channels > 0);
	assert_true(info.bit_rate > 0);
	if (want_duration > 0)
		assert_near(info.duration, want_duration, c->estimated ? 0.15 : 0.05, c->file);

	struct decoded dd = decode_all(c->file);
	assert_int_equal(dd.last_rc, 0);
	double truth = c->estimated ? want_duration : info.duration;
	assert_near((double)dd.samples, truth * MEDIA_RATE, 0.05, c->file);
	assert_true(dd.position == (double)dd.samples / MEDIA_RATE);
	if (c->speech) {
		/* Speech is loud somewhere, and not only a click. */
		if (dd.peak < 3000 || dd.rms < 300)
			fail_msg("%s: looks silent (peak %d, rms %.0f)", c->file, dd.peak, dd.rms);
	}
}

static void test_good_files(void **state)
{
	static const struct good_case cases[] = {
	    {"f.wav", "wav", "pcm_s16le", "audio/", false, true},
	    {"f.mp3", "mp3", "mp3", "audio/mpeg", false, true},
	    {"f.ogg", "ogg", "opus", "audio/ogg", false, true},
	    {"f.m4a", "mov,mp4,m4a,3gp,3g2,mj2", "aac", "audio/", false, true},
	    {"f.flac", "flac", "flac", "audio/flac", false, true},
	    {"v.mp4", "mov,mp4,m4a,3gp,3g2,mj2", "aac", "video/mp4", true, true},
	    {"f.webm", "matroska,webm", "vorbis", "video/webm", false, true},
	    {"f.aac", "aac", "aac", "audio/", false, true, true},
	    {"f.ts", "mpegts", "mp2", "application/octet-stream", true, true},
	    {"vo.webm", "matroska,webm", "opus", "video/webm", true, true},
	};
	REQUIRE("f.wav");
	/* The reference length: the WAV espeak-ng wrote. */
	struct media_info ref;
	char detail[256];
	assert_int_equal(media_probe(in_dir("f.wav"), &ref, detail, sizeof detail), MEDIA_OK);
	assert_true(ref.duration > 2.0);
	assert_int_equal(ref.sample_rate, 22050);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		if (!exists(cases[i].file)) {
			print_message("note: %s not generated; not checked\n", cases[i].file);
			continue;
		}
		/* Files with video are cut to its 2 s by -shortest. */
		double want = cases[i].has_video ? 0 : ref.duration;
		check_good(&cases[i], want);
	}
}

static void test_stereo_48k(void **state)
{
	REQUIRE("st.wav");
	struct good_case c = {"st.wav", "wav", "pcm_s16le", "audio/", false, false};
	check_good(&c, 2.0);
	struct decoded dd = decode_all("st.wav");
	/* Two half-scale tones mixed down: clearly present, never clipped. */
	assert_true(dd.peak > 10000);
	assert_true(dd.peak < 32767);
}

static void test_silence(void **state)
{
	REQUIRE("s.wav");
	struct media_info info;
	char detail[256];
	assert_int_equal(media_probe(in_dir("s.wav"), &info, detail, sizeof detail), MEDIA_OK);
	assert_near(info.duration, 3.0, 0.01, "duration");
	struct decoded dd = decode_all("s.wav");
	assert_int_equal(dd.samples, 48000);
	assert_true(dd.peak <= 1);
}

/* ---- files that are not audio, or broken ---------------------------------- */

static void expect_probe(const char *file, int want_rc, const char *want_detail)
{
	struct media_info info;
	char detail[256] = "";
	int rc = media_probe(in_dir(file), &info, detail, sizeof detail);
	if (rc != want_rc)
		fail_msg("probe(%s) = %d, want %d: %s", file, rc, want_rc, detail);
	if (!strstr(detail, want_detail))
		fail_msg("probe(%s) detail \"%s\" lacks \"%s\"", file, detail, want_detail);
	/* A sentence: capital first, full stop last. */
	assert_true(detail[0] >= 'A' && detail[0] <= 'Z');
	assert_int_equal(detail[strlen(detail) - 1], '.');
}

static void test_not_audio(void **state)
{
	write_bytes("x.mp3", "this is not an mp3 at all\n", 26);
	expect_probe("x.mp3", MEDIA_NOT_AUDIO,
		     "The file is text (text/plain), not audio or video.");

	const char pdf[] = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n";
	write_bytes("doc.wav", pdf, sizeof pdf - 1);
	expect_probe("doc.wav", MEDIA_NOT_AUDIO, "a PDF document (application/pdf)");

	static const unsigned char png[] = {
	    0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I',  'H',  'D',	'R', 0,
	    0,	  0,   1,   0,	 0,    0,    1,	   8,	 2, 0, 0, 0,  0x90, 0x77, 0x53, 0xde};
	write_bytes("pic.mp3", png, sizeof png);
	expect_probe("pic.mp3", MEDIA_NOT_AUDIO, "an image (image/png)");

	/* Random bytes: libmagic cannot tell, FFmpeg must not guess it into audio. */
	unsigned char *rnd = malloc(200000);
	assert_non_null(rnd);
	srand(12345);
	for (int i = 0; i < 200000; i++)
		rnd[i] = (unsigned char)(rand() >> 7);
	write_bytes("r.bin", rnd, 200000);
	free(rnd);
	expect_probe("r.bin", MEDIA_NOT_AUDIO, "not in an audio or video format");

	/* An HLS playlist pointing at other files is text: refused before FFmpeg. */
	char m3u[512];
	int n = snprintf(m3u, sizeof m3u,
			 "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://%s/f.wav\n"
			 "#EXT-X-ENDLIST\n",
			 g_dir);
	write_bytes("list.m3u8", m3u, (size_t)n);
	expect_probe("list.m3u8", MEDIA_NOT_AUDIO, "text");

	if (exists("nv.mp4"))
		expect_probe("nv.mp4", MEDIA_NOT_AUDIO,
			     "The file is video without an audio track.");
}

static void test_unreadable(void **state)
{
	unsigned char h[44];

	write_bytes("empty.mp3", "", 0);
	expect_probe("empty.mp3", MEDIA_UNREADABLE, "The file is empty.");

	media_wav_header(h, 0);
	write_bytes("hdr.wav", h, sizeof h);
	expect_probe("hdr.wav", MEDIA_UNREADABLE, "contains no audio samples");

	/* A WAV header promising a second of audio, and nothing after it. */
	media_wav_header(h, 16000);
	write_bytes("hdr2.wav", h, sizeof h);
	expect_probe("hdr2.wav", MEDIA_UNREADABLE, "contains no audio samples");

	if (exists("f.mp3")) {
		head_copy("f.mp3", "h.mp3", 100);
		struct media_info info;
		char detail[256];
		int rc = media_probe(in_dir("h.mp3"), &info, detail, sizeof detail);
		if (rc != MEDIA_UNREADABLE)
			fail_msg("h.mp3: rc %d: %s", rc, detail);
		assert_string_equal(info.mime, "audio/mpeg");
		assert_true(strlen(detail) > 10);
	}

	/* An MP3 frame header run followed by garbage. */
	unsigned char junk[4000];
	memset(junk, 0x55, sizeof junk);
	memcpy(junk, "ID3\x03\x00\x00\x00\x00\x00\x00", 10);
	write_bytes("junk.mp3", junk, sizeof junk);
	struct media_info info;
	char detail[256];
	int rc = media_probe(in_dir("junk.mp3"), &info, detail, sizeof detail);
	assert_true(rc == MEDIA_UNREADABLE || rc == MEDIA_NOT_AUDIO);

	/* Not there at all: an error, not a verdict on the content. */
	assert_int_equal(media_probe(in_dir("nope.wav"), &info, detail, sizeof detail), MEDIA_ERR);
	assert_non_null(strstr(detail, "No such file"));
	/* A directory. */
	assert_int_equal(media_probe(g_dir, &info, detail, sizeof detail), MEDIA_ERR);
	/* No room for a detail is fine. */
	assert_int_equal(media_probe(in_dir("empty.mp3"), &info, NULL, 0), MEDIA_UNREADABLE);
}

static void test_decoder_refuses(void **state)
{
	struct media_decoder *d = (void *)1;
	char detail[256];
	int16_t buf[256];
	unsigned char h[44];

	/* Its own inputs: tests may run alone. */
	write_bytes("x.mp3", "this is not an mp3 at all\n", 26);
	write_bytes("empty.mp3", "", 0);
	media_wav_header(h, 0);
	write_bytes("hdr.wav", h, sizeof h);

	assert_int_equal(media_decoder_open(in_dir("x.mp3"), &d, detail, sizeof detail),
			 MEDIA_NOT_AUDIO);
	assert_null(d);
	assert_int_equal(media_decoder_open(in_dir("empty.mp3"), &d, detail, sizeof detail),
			 MEDIA_UNREADABLE);
	assert_int_equal(media_decoder_open(in_dir("nope.wav"), &d, detail, sizeof detail),
			 MEDIA_ERR);
	if (exists("nv.mp4"))
		assert_int_equal(media_decoder_open(in_dir("nv.mp4"), &d, detail, sizeof detail),
				 MEDIA_NOT_AUDIO);

	/* A header with no samples opens, but nothing decodes: an error, not an empty stream. */
	assert_int_equal(media_decoder_open(in_dir("hdr.wav"), &d, detail, sizeof detail),
			 MEDIA_OK);
	assert_true(media_decoder_read(d, buf, 256) < 0);
	assert_true(media_decoder_read(d, buf, 256) < 0);
	media_decoder_close(d);
}

/* ---- damaged files -------------------------------------------------------- */

static void test_truncated_mp3(void **state)
{
	REQUIRE("ten.mp3");
	long size = file_size("ten.mp3");
	head_copy("ten.mp3", "trunc.mp3", size * 4 / 10);

	struct media_info info;
	char detail[256];
	int rc = media_probe(in_dir("trunc.mp3"), &info, detail, sizeof detail);
	if (rc != MEDIA_OK)
		fail_msg("trunc.mp3: %d %s", rc, detail);
	/* The Xing header still says 10 s; what is there says 4. */
	assert_near(info.duration, 4.0, 0.05, "probed duration");
	struct decoded dd = decode_all("trunc.mp3");
	assert_int_equal(dd.last_rc, 0);
	/* What is there decodes: 40% of 10 s. */
	assert_near((double)dd.samples / MEDIA_RATE, 4.0, 0.05, "decoded seconds");
	assert_true(dd.peak > 2000); /* lavfi's sine is quiet: about -21 dBFS */
	print_message("truncated mp3: probe says %.2f s, decoded %.2f s\n", info.duration,
		      (double)dd.samples / MEDIA_RATE);
}

static void test_damaged_middle(void **state)
{
	REQUIRE("ten.mp3");
	long size = file_size("ten.mp3");
	head_copy("ten.mp3", "dmg.mp3", size);
	/* Overwrite 3 KB in the middle with noise. */
	FILE *f = fopen(in_dir("dmg.mp3"), "r+b");
	assert_non_null(f);
	fseek(f, size / 2, SEEK_SET);
	srand(7);
	for (int i = 0; i < 3000; i++)
		fputc(rand() & 0xff, f);
	fclose(f);

	struct media_info info;
	char detail[256];
	assert_int_equal(media_probe(in_dir("dmg.mp3"), &info, detail, sizeof detail), MEDIA_OK);
	struct decoded dd = decode_all("dmg.mp3");
	assert_int_equal(dd.last_rc, 0);
	/* A few frames lost, the rest is there. */
	assert_near((double)dd.samples / MEDIA_RATE, 10.0, 0.05, "decoded seconds");
}

/*
 * Bad input never crashes or hangs: good files with bytes flipped, cut at
 * random places, or with a header claiming an absurd sample rate. Any
 * verdict is fine; decoding must end, and never yield more than a sane
 * amount of audio.
 */
static void test_mutations(void **state)
{
	const char *files[] = {"f.wav", "f.mp3", "f.ogg", "f.m4a", "f.flac", "f.webm", "v.mp4"};
	int verdicts[4] = {0};
	unsigned seed = 99;

	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		if (!exists(files[i]))
			continue;
		long size = file_size(files[i]);
		FILE *f = fopen(in_dir(files[i]), "rb");
		assert_non_null(f);
		unsigned char *orig = malloc((size_t)size), *mut = malloc((size_t)size);
		assert_non_null(orig);
		assert_non_null(mut);
		assert_int_equal(fread(orig, 1, (size_t)size, f), (size_t)size);
		fclose(f);
		for (int v = 0; v < 30; v++) {
			long len = size;
			memcpy(mut, orig, (size_t)size);
			if (v % 3 == 2) {
				len = 1 + (long)(rand_r(&seed) % (unsigned)size);
			} else {
				/* Mostly near the start, where the headers are. */
				for (int k = 0; k < 8; k++) {
					long at =
					    (long)(rand_r(&seed) %
						   (unsigned)(v % 3 ? size
								    : (size < 512 ? size : 512)));
					mut[at] = (unsigned char)rand_r(&seed);
				}
			}
			write_bytes("mut.bin", mut, (size_t)len);
			struct media_info info;
			char detail[256];
			int rc = media_probe(in_dir("mut.bin"), &info, detail, sizeof detail);
			/* A damaged header may also claim an absurd length. */
			assert_true(rc >= MEDIA_OK && rc <= MEDIA_TOO_LONG);
			verdicts[rc]++;
			if (rc != MEDIA_OK)
				assert_true(strlen(detail) > 0);
			struct media_decoder *d;
			if (media_decoder_open(in_dir("mut.bin"), &d, detail, sizeof detail) !=
			    MEDIA_OK)
				continue;
			int16_t buf[4096];
			long n;
			int64_t total = 0;
			while ((n = media_decoder_read(d, buf, 4096)) > 0) {
				total += n;
				/* The originals are all under 5 s. */
				if (total > 60 * MEDIA_RATE)
					fail_msg("%s variant %d: more than a minute of audio",
						 files[i], v);
			}
			media_decoder_close(d);
		}
		free(orig);
		free(mut);
	}
	print_message("mutations: %d ok, %d not audio, %d unreadable, %d too long\n", verdicts[0],
		      verdicts[1], verdicts[2], verdicts[3]);

	/* A WAV header claiming 1 Hz: refused, not resampled into hours. */
	unsigned char h[44 + 2000] = {0};
	media_wav_header(h, 1000);
	h[24] = 1, h[25] = h[26] = h[27] = 0; /* rate 1 */
	h[28] = 2, h[29] = h[30] = h[31] = 0; /* byte rate */
	write_bytes("slow.wav", h, sizeof h);
	expect_probe("slow.wav", MEDIA_UNREADABLE, "sample rate of 1 Hz");
}

/* ---- rewind --------------------------------------------------------------- */

/* Read exactly n samples (fewer only at the end). */
static long read_n(struct media_decoder *d, int16_t *out, long n)
{
	long got = 0, r;
	while (got < n && (r = media_decoder_read(d, out + got, (size_t)(n - got))) > 0)
		got += r;
	return got;
}

static void test_rewind(void **state)
{
	const char *files[] = {"f.wav", "f.mp3",  "f.ogg", "f.m4a", "f.flac",
			       "v.mp4", "f.webm", "f.aac", "f.ts",  "vo.webm"};
	enum { N = 8000 };
	static int16_t first[N], again[N], buf[4096];
	char detail[256];

	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		if (!exists(files[i]))
			continue;
		struct decoded full = decode_all(files[i]);
		struct media_decoder *d;
		assert_int_equal(media_decoder_open(in_dir(files[i]), &d, detail, sizeof detail),
				 MEDIA_OK);
		/* Before anything is read: a no-op in effect. */
		assert_int_equal(media_decoder_rewind(d), 0);
		assert_int_equal(read_n(d, first, N), N);
		/* Read on a little, then go back: the very same samples again. */
		assert_true(media_decoder_read(d, buf, 4096) > 0);
		assert_int_equal(media_decoder_rewind(d), 0);
		assert_true(media_decoder_position(d) == 0.0);
		assert_int_equal(read_n(d, again, N), N);
		if (memcmp(first, again, sizeof first) != 0)
			fail_msg("%s: after rewind the audio differs", files[i]);
		int64_t total = N;
		long n;
		while ((n = media_decoder_read(d, buf, 4096)) > 0)
			total += n;
		assert_int_equal(n, 0);
		assert_int_equal(total, full.samples);
		/* And once more from the very end. */
		assert_int_equal(media_decoder_rewind(d), 0);
		assert_int_equal(read_n(d, again, N), N);
		assert_memory_equal(first, again, sizeof first);
		media_decoder_close(d);
	}
}

/* ---- threads -------------------------------------------------------------- */

static void *probe_worker(void *arg)
{
	const char *file = arg;
	long bad = 0;
	for (int i = 0; i < 5; i++) {
		struct media_info info;
		char detail[256];
		if (media_probe(in_dir(file), &info, detail, sizeof detail) != MEDIA_OK)
			bad++;
		struct media_decoder *d;
		if (media_decoder_open(in_dir(file), &d, detail, sizeof detail) != MEDIA_OK) {
			bad++;
			continue;
		}
		int16_t buf[2048];
		long n, total = 0;
		while ((n = media_decoder_read(d, buf, 2048)) > 0)
			total += n;
		if (n < 0 || total < MEDIA_RATE)
			bad++;
		media_decoder_close(d);
	}
	return (void *)bad;
}

static void test_threads(void **state)
{
	const char *files[] = {"f.mp3", "f.ogg", "f.m4a", "f.flac"};
	pthread_t t[4];
	REQUIRE("f.flac");
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, probe_worker, (void *)files[i]), 0);
	for (int i = 0; i < 4; i++) {
		void *bad;
		pthread_join(t[i], &bad);
		assert_int_equal((long)bad, 0);
	}
}

/* ---- long files ----------------------------------------------------------- */

/* A 5-minute 44.1 kHz stereo MP3 (made once), the unit the long tests are built from. */
static bool make_five_minutes(void)
{
	if (exists("five.mp3"))
		return true;
	if (!g_ffmpeg)
		return false;
	/* No Xing/ID3 header: copies can be concatenated byte for byte. */
	return sh("ffmpeg -nostdin -loglevel error -f lavfi -i "
		  "\"aevalsrc=0.3*sin(2*PI*(200+100*sin(t))*t):s=44100:d=300\" -ac 2 -b:a 128k "
		  "-write_xing 0 -id3v2_version 0 five.mp3");
}

static void test_decode_speed(void **state)
{
	if (!make_five_minutes()) {
		print_message("skipped: ffmpeg missing\n");
		skip();
		return;
	}
	double t0 = now_s();
	struct decoded dd = decode_all("five.mp3");
	double dt = now_s() - t0;
	assert_int_equal(dd.last_rc, 0);
	assert_near((double)dd.samples, 300.0 * MEDIA_RATE, 0.01, "samples");
	print_message("decode speed: 5-minute 44.1 kHz stereo mp3 in %.2f s = %.0f s of audio "
		      "per second\n",
		      dt, 300.0 / dt);
}

static void test_one_hour_flat_memory(void **state)
{
	if (!make_five_minutes()) {
		print_message("skipped: ffmpeg missing\n");
		skip();
		return;
	}
	/* Twelve copies end to end: an hour, made in a blink. */
	if (!exists("hour.mp3"))
		assert_true(sh("for i in 1 2 3 4 5 6 7 8 9 10 11 12; do cat five.mp3; done > "
			       "hour.mp3"));

	struct media_info info;
	char detail[256];
	assert_int_equal(media_probe(in_dir("hour.mp3"), &info, detail, sizeof detail), MEDIA_OK);
	assert_near(info.duration, 3600, 0.01, "duration");

	long before = max_rss_kb();
	double t0 = now_s();
	struct decoded dd = decode_all("hour.mp3");
	double dt = now_s() - t0;
	long after = max_rss_kb();
	assert_int_equal(dd.last_rc, 0);
	assert_near((double)dd.samples, 3600.0 * MEDIA_RATE, 0.01, "samples");
	print_message("one hour: decoded in %.1f s; RSS while decoding %ld -> at most %ld KiB "
		      "(+%ld KiB); peak RSS (ru_maxrss) %ld -> %ld KiB\n",
		      dt, dd.rss_start, dd.rss_max, dd.rss_max - dd.rss_start, before, after);
	if (UNDER_ASAN) {
		print_message("(ASan quarantine inflates RSS: memory bound not checked)\n");
	} else {
		assert_true(after - before < 30 * 1024);
		assert_true(dd.rss_max - dd.rss_start < 30 * 1024);
	}
}

/* ---- hostile files -------------------------------------------------------- */

struct probe_child {
	int rc;
	long grew_kb; /* ru_maxrss after the probe minus before, in the child */
	struct media_info info;
	char detail[256];
};

/*
 * Probe in a forked child, so the peak RSS it reports belongs to this
 * probe alone (ru_maxrss only ever grows within a process).
 */
static struct probe_child probe_in_child(const char *name)
{
	struct probe_child out = {.rc = -100};
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		struct probe_child r = {0};
		long before = max_rss_kb();
		r.rc = media_probe(in_dir(name), &r.info, r.detail, sizeof r.detail);
		r.grew_kb = max_rss_kb() - before;
		ssize_t w = write(fds[1], &r, sizeof r);
		_exit(w == (ssize_t)sizeof r ? 0 : 1);
	}
	close(fds[1]);
	ssize_t got = read(fds[0], &out, sizeof out);
	close(fds[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (got != (ssize_t)sizeof out || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("probe of %s: the child died (status %d)", name, status);
	return out;
}

/*
 * Issue 8 #23: a Matroska file with 2 s of FLAC and one 8000x8000 PNG frame
 * (230 KB) made the probe decode the picture: 192 MB of RGB on the HTTP
 * thread (16000x16000 took 790 MB). Only audio may be decoded, and the
 * audio must still be found.
 */
static void test_probe_picture_bomb(void **state)
{
	if (!g_ffmpeg) {
		print_message("skipped: ffmpeg missing\n");
		skip();
		return;
	}
	if (!exists("bomb.mkv"))
		assert_true(sh("ffmpeg -nostdin -loglevel error -f lavfi -i sine=d=2 -f lavfi -i "
			       "color=c=red:s=8000x8000:d=0.04 -map 0:a -map 1:v -frames:v 1 "
			       "-c:a flac -c:v png bomb.mkv"));
	struct probe_child r = probe_in_child("bomb.mkv");
	print_message("picture bomb (%ld bytes): probe rc %d, peak RSS grew %ld KiB\n",
		      file_size("bomb.mkv"), r.rc, r.grew_kb);
	if (r.rc != MEDIA_OK)
		fail_msg("probe(bomb.mkv) = %d: %s", r.rc, r.detail);
	assert_string_equal(r.info.codec, "flac");
	assert_string_equal(r.info.format, "matroska,webm");
	assert_near(r.info.duration, 2.0, 0.05, "duration");
	assert_true(r.info.has_video);
	/* The picture alone decodes to 192 MB. */
	assert_true(r.grew_kb < 32 * 1024);

	/* The worker's decoder opens the same file the same way. */
	struct decoded dd = decode_all("bomb.mkv");
	assert_int_equal(dd.last_rc, 0);
	assert_near((double)dd.samples, 2.0 * MEDIA_RATE, 0.02, "samples");
}

/*
 * Issue 8 #27: the media open follows symbolic links, and a FIFO put in
 * place of the file blocks the opening thread until someone writes to it.
 * Spool and blob paths are ours: a link there is never legitimate.
 */
static void test_open_no_follow(void **state)
{
	unsigned char h[44];
	int16_t pcm[1600] = {0};
	unsigned char file[44 + sizeof pcm];
	media_wav_header(h, 1600);
	memcpy(file, h, sizeof h);
	memcpy(file + sizeof h, pcm, sizeof pcm);
	write_bytes("target.wav", file, sizeof file);

	struct media_info info;
	char detail[256];
	assert_int_equal(media_probe(in_dir("target.wav"), &info, detail, sizeof detail), MEDIA_OK);

	char target[PATH_MAX];
	snprintf(target, sizeof target, "%s", in_dir("target.wav"));
	unlink(in_dir("link.wav"));
	assert_int_equal(symlink(target, in_dir("link.wav")), 0);
	assert_int_equal(media_probe(in_dir("link.wav"), &info, detail, sizeof detail), MEDIA_ERR);
	assert_non_null(strstr(detail, "could not be opened"));
	struct media_decoder *d = (void *)1;
	assert_int_equal(media_decoder_open(in_dir("link.wav"), &d, detail, sizeof detail),
			 MEDIA_ERR);
	assert_null(d);

	/* A FIFO: refused at once (the test would hang here before). */
	unlink(in_dir("fifo.wav"));
	assert_int_equal(mkfifo(in_dir("fifo.wav"), 0600), 0);
	double t0 = now_s();
	assert_int_equal(media_probe(in_dir("fifo.wav"), &info, detail, sizeof detail), MEDIA_ERR);
	assert_string_equal(detail, "Not a regular file.");
	assert_true(now_s() - t0 < 1.0);
}

/*
 * Issue 8 #24: nothing bounded the decoded length. 20 KB of FLAC (8 kHz
 * silence) says it lasts two hours; a 2 GB upload could say 280,000. The
 * probe refuses audio longer than the maximum (MEDIA_TOO_LONG, the limit
 * in the detail).
 */
static void test_probe_too_long(void **state)
{
	assert_int_equal(media_max_seconds(), MEDIA_MAX_SECONDS_DEFAULT);
	assert_int_equal(MEDIA_MAX_SECONDS_DEFAULT, 600 * 60);
	if (!g_ffmpeg) {
		print_message("skipped: ffmpeg missing\n");
		skip();
		return;
	}
	if (!exists("long.flac"))
		assert_true(sh("ffmpeg -nostdin -loglevel error -f lavfi -i "
			       "anullsrc=r=8000:cl=mono -t 7200 -c:a flac -frame_size 65535 "
			       "long.flac"));
	print_message("two hours of FLAC silence: %ld bytes\n", file_size("long.flac"));

	struct media_info info;
	char detail[256];
	/* Under the default of ten hours it is fine. */
	assert_int_equal(media_probe(in_dir("long.flac"), &info, detail, sizeof detail), MEDIA_OK);
	assert_near(info.duration, 7200, 0.001, "duration");

	media_set_max_seconds(3600);
	assert_int_equal(media_max_seconds(), 3600);
	int rc = media_probe(in_dir("long.flac"), &info, detail, sizeof detail);
	media_set_max_seconds(MEDIA_MAX_SECONDS_DEFAULT);
	if (rc != MEDIA_TOO_LONG)
		fail_msg("probe(long.flac) = %d: %s", rc, detail);
	/* What was found is still reported, and the detail names the limit. */
	assert_near(info.duration, 7200, 0.001, "duration");
	assert_string_equal(info.codec, "flac");
	if (!strstr(detail, "2 h 0 min") || !strstr(detail, "60 minutes"))
		fail_msg("detail: %s", detail);
	assert_true(detail[0] >= 'A' && detail[0] <= 'Z');
	assert_int_equal(detail[strlen(detail) - 1], '.');
	/* Exactly at the limit is allowed. */
	media_set_max_seconds(7200);
	rc = media_probe(in_dir("long.flac"), &info, detail, sizeof detail);
	media_set_max_seconds(MEDIA_MAX_SECONDS_DEFAULT);
	assert_int_equal(rc, MEDIA_OK);
}

/*
 * A header can lie: a FLAC whose STREAMINFO says 1 s and holds 90 s probes
 * as 1 s. The decoder itself stops at the maximum, and says so.
 */
static void test_decoder_stops_at_max(void **state)
{
	if (!g_ffmpeg) {
		print_message("skipped: ffmpeg missing\n");
		skip();
		return;
	}
	if (!exists("lie.flac")) {
		assert_true(sh("ffmpeg -nostdin -loglevel error -f lavfi -i sine=d=90:r=8000 "
			       "-c:a flac lie.flac"));
		/* STREAMINFO's total samples: the low 36 bits of the 8 bytes at 18. */
		FILE *f = fopen(in_dir("lie.flac"), "r+b");
		assert_non_null(f);
		unsigned char b[8];
		assert_int_equal(fseek(f, 18, SEEK_SET), 0);
		assert_int_equal(fread(b, 1, 8, f), 8);
		uint64_t v = 0;
		for (int i = 0; i < 8; i++)
			v = v << 8 | b[i];
		v = (v & ~((UINT64_C(1) << 36) - 1)) | 8000; /* one second at 8 kHz */
		for (int i = 7; i >= 0; i--, v >>= 8)
			b[i] = (unsigned char)v;
		assert_int_equal(fseek(f, 18, SEEK_SET), 0);
		assert_int_equal(fwrite(b, 1, 8, f), 8);
		fclose(f);
	}
	media_set_max_seconds(60);
	struct media_info info;
	char detail[256];
	int rc = media_probe(in_dir("lie.flac"), &info, detail, sizeof detail);
	if (rc != MEDIA_OK)
		fail_msg("probe(lie.flac) = %d: %s", rc, detail);
	assert_near(info.duration, 1.0, 0.01, "probed duration (the lie)");

	struct media_decoder *d = NULL;
	rc = media_decoder_open(in_dir("lie.flac"), &d, detail, sizeof detail);
	assert_int_equal(rc, MEDIA_OK);
	int16_t buf[4096];
	int64_t total = 0;
	long n;
	while ((n = media_decoder_read(d, buf, sizeof buf / sizeof *buf)) > 0)
		total += n;
	assert_int_equal(n, 0);
	assert_int_equal(total, 60 * MEDIA_RATE);
	assert_true(media_decoder_position(d) == 60.0);
	assert_true(media_decoder_truncated(d));
	assert_int_equal(media_decoder_read(d, buf, 10), 0);
	/* A rewind starts counting again, and stops at the same place. */
	assert_int_equal(media_decoder_rewind(d), 0);
	assert_false(media_decoder_truncated(d));
	total = 0;
	while ((n = media_decoder_read(d, buf, 1000)) > 0)
		total += n;
	assert_int_equal(total, 60 * MEDIA_RATE);
	media_decoder_close(d);

	/* With room to spare, all 90 s come out and nothing is cut. */
	media_set_max_seconds(MEDIA_MAX_SECONDS_DEFAULT);
	assert_int_equal(media_decoder_open(in_dir("lie.flac"), &d, detail, sizeof detail),
			 MEDIA_OK);
	total = 0;
	while ((n = media_decoder_read(d, buf, sizeof buf / sizeof *buf)) > 0)
		total += n;
	assert_int_equal(n, 0);
	assert_near((double)total, 90.0 * MEDIA_RATE, 0.001, "samples");
	assert_false(media_decoder_truncated(d));
	media_decoder_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sniff),
	    cmocka_unit_test(test_sniff_threads),
	    cmocka_unit_test(test_wav_header),
	    cmocka_unit_test(test_wav_round_trip),
	    cmocka_unit_test(test_good_files),
	    cmocka_unit_test(test_stereo_48k),
	    cmocka_unit_test(test_silence),
	    cmocka_unit_test(test_not_audio),
	    cmocka_unit_test(test_unreadable),
	    cmocka_unit_test(test_decoder_refuses),
	    cmocka_unit_test(test_truncated_mp3),
	    cmocka_unit_test(test_damaged_middle),
	    cmocka_unit_test(test_mutations),
	    cmocka_unit_test(test_rewind),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_decode_speed),
	    cmocka_unit_test(test_one_hour_flat_memory),
	    cmocka_unit_test(test_probe_picture_bomb),
	    cmocka_unit_test(test_open_no_follow),
	    cmocka_unit_test(test_probe_too_long),
	    cmocka_unit_test(test_decoder_stops_at_max),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
