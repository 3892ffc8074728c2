/*
 * media.c — sniffing (libmagic), opening inputs for FFmpeg, probing, and the
 * WAV header. The decoder is in decode.c.
 *
 * Probing trusts neither side alone: libmagic refuses what is clearly not
 * media before FFmpeg parses a byte of it, and when libmagic cannot tell
 * (application/octet-stream) FFmpeg must recognise the container with some
 * confidence. Then a first audio frame must actually decode.
 */
#include "media/media.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <magic.h>

#include <libavutil/avutil.h>
#include <libavutil/log.h>

#include "core/log.h"
#include "media/media_impl.h"

#define AVIO_BUF (64 * 1024)
/*
 * What FFmpeg may read to learn a file's streams. The defaults are about the
 * same; they are spelled out because they bound the work an upload can cause
 * on the thread that probes it.
 */
#define PROBE_SIZE	  (4 * 1024 * 1024) /* bytes find_stream_info reads at most */
#define PROBE_ANALYZE_US  (5 * 1000000)	    /* ... and at most this much of the timeline */
#define PROBE_MAX_STREAMS 64
/* Only audio is ever decoded; should a video decoder open anyway, tiny frames only. */
#define PROBE_MAX_PIXELS (64 * 64)
/*
 * The containers we accept: audio formats, and the video containers people
 * record meetings in. A match is by any of a demuxer's names ("mov" matches
 * "mov,mp4,m4a,3gp,3g2,mj2", "matroska" matches "matroska,webm"). Playlists,
 * image sequences, devices and raw video are not on it.
 */
static const char FORMAT_WHITELIST[] =
    "aac,ac3,aiff,amr,amrnb,amrwb,ape,asf,au,avi,caf,dts,dtshd,eac3,flac,flv,gsm,loas,"
    "matroska,mlp,mov,mp3,mpc,mpc8,mpeg,mpegts,mxf,nistsphere,ogg,rm,shn,tak,truehd,tta,voc,"
    "w64,wav,wv,xwma";
/* The first frame must decode within this much of the stream (probe only). */
#define PROBE_MAX_PACKETS     200
#define PROBE_MAX_ALL_PACKETS 2000
#define PROBE_MAX_SECONDS     5.0

void media_detail(char *detail, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!detail || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, len, fmt, ap);
	va_end(ap);
}

/* FFmpeg's error as a phrase for a person ("Invalid argument" helps nobody). */
static void ff_reason(int err, char *out, size_t len)
{
	if (err == AVERROR_EOF)
		snprintf(out, len, "it ends unexpectedly");
	else if (err == AVERROR_INVALIDDATA || err == AVERROR(EINVAL))
		snprintf(out, len, "the data is not valid");
	else if (err == AVERROR_PATCHWELCOME)
		snprintf(out, len, "it uses a feature that is not supported");
	else if (av_strerror(err, out, len) < 0)
		snprintf(out, len, "error %d", err);
}

/* ---- the longest audio ---------------------------------------------------- */

static _Atomic int64_t g_max_seconds = MEDIA_MAX_SECONDS_DEFAULT;

void media_set_max_seconds(int64_t seconds)
{
	atomic_store(&g_max_seconds, seconds > 0 ? seconds : 0);
}

int64_t media_max_seconds(void)
{
	return atomic_load(&g_max_seconds);
}

/* "2 h 5 min", "12 min 30 s", "45 s": a length a person reads at a glance. */
static void duration_words(double seconds, char *out, size_t len)
{
	long long s = seconds < 0      ? 0
		      : seconds > 1e15 ? (long long)1e15
				       : (long long)(seconds + 0.5);
	if (s >= 3600)
		snprintf(out, len, "%lld h %lld min", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, len, "%lld min %lld s", s / 60, s % 60);
	else
		snprintf(out, len, "%lld s", s);
}

/* MEDIA_TOO_LONG with detail, or MEDIA_OK; an unknown length (0) passes here. */
static int check_length(double duration, char *detail, size_t detaillen)
{
	int64_t max = media_max_seconds();
	char got[48];

	if (max <= 0 || !(duration > (double)max))
		return MEDIA_OK;
	duration_words(duration, got, sizeof got);
	if (max % 60 == 0)
		media_detail(detail, detaillen,
			     "The audio lasts %s; the longest accepted is %lld minute%s. Split it "
			     "into shorter parts.",
			     got, (long long)(max / 60), max == 60 ? "" : "s");
	else
		media_detail(detail, detaillen,
			     "The audio lasts %s; the longest accepted is %lld seconds. Split it "
			     "into shorter parts.",
			     got, (long long)max);
	return MEDIA_TOO_LONG;
}

/* ---- FFmpeg's log --------------------------------------------------------- */

/*
 * FFmpeg reports every damaged frame; for us that is debug noise, and its
 * default callback writes to stderr, which must carry only our JSON lines.
 */
static void ffmpeg_log(void *avcl, int level, const char *fmt, va_list vl)
{
	char line[512];
	int prefix = 1;

	if (level > AV_LOG_WARNING || log_get_level() > LOG_DEBUG)
		return;
	av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &prefix);
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
		line[--n] = '\0';
	if (n == 0)
		return;
	/* JSON needs valid UTF-8; FFmpeg may print raw tag bytes. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
			line[i] = '?';
	log_debug("ffmpeg", json_pack("{s:s, s:i}", "ffmpeg", line, "av_level", level));
}

static pthread_once_t g_ffmpeg_once = PTHREAD_ONCE_INIT;
/*
 * Every audio decoder this FFmpeg has, comma-separated: the codec whitelist
 * of every input, so a picture or video stream is never decoded (a 16000 x
 * 16000 PNG is 768 MB of RGB). Built once; NULL if out of memory, and then
 * inputs are refused.
 */
static char *g_audio_decoders;

static void audio_decoders_build(void)
{
	const AVCodec *c;
	void *it = NULL;
	size_t len = 0;

	while ((c = av_codec_iterate(&it)))
		if (av_codec_is_decoder(c) && c->type == AVMEDIA_TYPE_AUDIO)
			len += strlen(c->name) + 1;
	g_audio_decoders = malloc(len + 1); /* lives until exit */
	if (!g_audio_decoders)
		return;
	g_audio_decoders[0] = '\0';
	size_t o = 0;
	it = NULL;
	while ((c = av_codec_iterate(&it))) {
		if (!av_codec_is_decoder(c) || c->type != AVMEDIA_TYPE_AUDIO)
			continue;
		size_t n = strlen(c->name);
		if (o + n + 2 > len + 1)
			break;
		if (o > 0)
			g_audio_decoders[o++] = ',';
		memcpy(g_audio_decoders + o, c->name, n);
		o += n;
		g_audio_decoders[o] = '\0';
	}
}

static void ffmpeg_init_once(void)
{
	av_log_set_level(AV_LOG_WARNING);
	av_log_set_callback(ffmpeg_log);
	audio_decoders_build();
}

void media_ffmpeg_init(void)
{
	pthread_once(&g_ffmpeg_once, ffmpeg_init_once);
}

/* ---- libmagic ------------------------------------------------------------- */

/*
 * A magic_t is not thread-safe. One shared handle behind a lock rather than
 * one per thread: each handle costs ~2 MB of private memory (plus a mapping
 * of the 8 MB database), a sniff of 64 KiB takes 0.1-3 ms, and we sniff once
 * per upload and once per decode.
 */
static pthread_mutex_t g_magic_lock = PTHREAD_MUTEX_INITIALIZER;
static magic_t g_magic; /* lives until exit */
static bool g_magic_failed;

int media_sniff(const void *head, size_t len, char *mime, size_t mimelen)
{
	int rc = -1;

	if (!mime || mimelen == 0 || (!head && len > 0))
		return -1;
	pthread_mutex_lock(&g_magic_lock);
	if (!g_magic && !g_magic_failed) {
		g_magic = magic_open(MAGIC_MIME_TYPE);
		if (g_magic && magic_load(g_magic, NULL) != 0) {
			log_error("libmagic cannot load its database",
				  json_pack("{s:s?}", "error", magic_error(g_magic)));
			magic_close(g_magic);
			g_magic = NULL;
		}
		g_magic_failed = g_magic == NULL;
	}
	const char *t = g_magic ? magic_buffer(g_magic, head ? head : "", len) : NULL;
	if (t) {
		snprintf(mime, mimelen, "%s", t);
		rc = 0;
	}
	pthread_mutex_unlock(&g_magic_lock);
	return rc;
}

enum mime_kind { MIME_MEDIA, MIME_UNKNOWN, MIME_OTHER };

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * What libmagic's type says, and for a type that is clearly not media a name
 * for it a person understands ("a PDF document").
 */
static enum mime_kind mime_classify(const char *mime, const char **name)
{
	static const char *const media[] = {
	    "audio/",
	    "video/",
	    "application/ogg",
	    "application/x-matroska",
	    "application/mxf",
	    "application/vnd.rn-realmedia",
	    "application/vnd.ms-asf",
	};
	static const struct {
		const char *prefix;
		const char *name;
	} other[] = {
	    {"text/", "text"},
	    {"application/json", "text"},
	    {"application/xml", "text"},
	    {"application/javascript", "text"},
	    {"image/", "an image"},
	    {"font/", "a font"},
	    {"application/vnd.ms-opentype", "a font"},
	    {"application/pdf", "a PDF document"},
	    {"application/postscript", "a PostScript document"},
	    {"application/rtf", "a document"},
	    {"application/msword", "a document"},
	    {"application/vnd.openxmlformats", "a document"},
	    {"application/vnd.oasis.opendocument", "a document"},
	    {"application/vnd.ms-", "a document"},
	    {"application/epub", "an e-book"},
	    {"application/zip", "an archive"},
	    {"application/gzip", "an archive"},
	    {"application/x-gzip", "an archive"},
	    {"application/x-bzip", "an archive"},
	    {"application/x-xz", "an archive"},
	    {"application/x-lzma", "an archive"},
	    {"application/zstd", "an archive"},
	    {"application/x-zstd", "an archive"},
	    {"application/x-7z", "an archive"},
	    {"application/x-rar", "an archive"},
	    {"application/vnd.rar", "an archive"},
	    {"application/x-tar", "an archive"},
	    {"application/x-cpio", "an archive"},
	    {"application/x-iso9660", "a disk image"},
	    {"application/java-archive", "an archive"},
	    {"application/x-java-archive", "an archive"},
	    {"application/x-executable", "a program"},
	    {"application/x-pie-executable", "a program"},
	    {"application/x-sharedlib", "a program"},
	    {"application/x-object", "a program"},
	    {"application/x-mach-binary", "a program"},
	    {"application/x-dosexec", "a program"},
	    {"application/x-sqlite3", "a database"},
	    {"application/pgp", "encrypted data"},
	    {"message/", "an e-mail message"},
	    {"model/", "a 3D model"},
	};

	*name = NULL;
	for (size_t i = 0; i < sizeof media / sizeof *media; i++)
		if (starts(mime, media[i]))
			return MIME_MEDIA;
	for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
		if (starts(mime, other[i].prefix)) {
			*name = other[i].name;
			return MIME_OTHER;
		}
	}
	return MIME_UNKNOWN;
}

/* ---- inputs --------------------------------------------------------------- */

static int fd_read(void *opaque, uint8_t *buf, int size)
{
	struct media_input *in = opaque;
	ssize_t r;

	do
		r = read(in->fd, buf, (size_t)size);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return AVERROR(errno);
	return r == 0 ? AVERROR_EOF : (int)r;
}

static int64_t fd_seek(void *opaque, int64_t offset, int whence)
{
	struct media_input *in = opaque;

	if (whence & AVSEEK_SIZE)
		return in->size;
	off_t r = lseek(in->fd, (off_t)offset, whence & ~AVSEEK_FORCE);
	return r < 0 ? AVERROR(errno) : (int64_t)r;
}

/* No demuxer opens anything but the one file we hand it. */
static int io_refuse(AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
		     AVDictionary **options)
{
	log_debug("ffmpeg tried to open another resource; refused", NULL);
	return AVERROR(EPERM);
}

void media_input_close(struct media_input *in)
{
	/* With AVFMT_FLAG_CUSTOM_IO the AVIO context stays ours to free. */
	avformat_close_input(&in->fmt);
	if (in->avio) {
		av_freep(&in->avio->buffer);
		avio_context_free(&in->avio);
	}
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
	in->codec = NULL;
	in->stream = -1;
}

static bool has_real_video(const AVFormatContext *fmt)
{
	for (unsigned i = 0; i < fmt->nb_streams; i++) {
		const AVStream *st = fmt->streams[i];
		/* Cover art in an MP3 or M4A is a "video" stream of one picture. */
		if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
		    !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
			return true;
	}
	return false;
}

/* Let FFmpeg parse the container through our AVIO. 0 or AVERROR. */
static int ffmpeg_open(struct media_input *in)
{
	AVDictionary *opts = NULL;
	unsigned char *buf;
	int r;

	if (!g_audio_decoders)
		return AVERROR(ENOMEM);
	buf = av_malloc(AVIO_BUF);
	if (!buf)
		return AVERROR(ENOMEM);
	in->avio = avio_alloc_context(buf, AVIO_BUF, 0, in, fd_read, NULL, fd_seek);
	if (!in->avio) {
		av_free(buf);
		return AVERROR(ENOMEM);
	}
	in->fmt = avformat_alloc_context();
	if (!in->fmt)
		return AVERROR(ENOMEM);
	in->fmt->pb = in->avio;
	in->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	in->fmt->io_open = io_refuse;
	/*
	 * Nested inputs some demuxers create themselves (concat) do not use
	 * io_open but inherit this list: no protocol at all is allowed.
	 */
	av_dict_set(&opts, "protocol_whitelist", "none", 0);
	av_dict_set(&opts, "format_whitelist", FORMAT_WHITELIST, 0);
	/* Also handed to every decoder avformat_find_stream_info opens. */
	av_dict_set(&opts, "codec_whitelist", g_audio_decoders, 0);
	av_dict_set_int(&opts, "probesize", PROBE_SIZE, 0);
	av_dict_set_int(&opts, "analyzeduration", PROBE_ANALYZE_US, 0);
	av_dict_set_int(&opts, "max_streams", PROBE_MAX_STREAMS, 0);
	/* An empty name: the type comes from the content, never an extension. */
	r = avformat_open_input(&in->fmt, "", NULL, &opts);
	av_dict_free(&opts);
	return r; /* on failure avformat_open_input freed fmt and set it NULL */
}

/*
 * avformat_find_stream_info with everything but audio set aside: other
 * streams are discarded (demuxers that honour it do not even read their
 * packets), and each stream's decoder gets a pixel limit and one thread on
 * top of the audio-only codec whitelist. 0 or AVERROR.
 */
static int ffmpeg_stream_info(struct media_input *in)
{
	AVFormatContext *fmt = in->fmt;
	unsigned n = fmt->nb_streams;
	AVDictionary **opts = n ? av_calloc(n, sizeof *opts) : NULL;
	int r = 0;

	if (n && !opts)
		return AVERROR(ENOMEM);
	for (unsigned i = 0; i < n && r >= 0; i++) {
		if (fmt->streams[i]->codecpar->codec_type != AVMEDIA_TYPE_AUDIO)
			fmt->streams[i]->discard = AVDISCARD_ALL;
		if (av_dict_set_int(&opts[i], "max_pixels", PROBE_MAX_PIXELS, 0) < 0 ||
		    av_dict_set(&opts[i], "threads", "1", 0) < 0)
			r = AVERROR(ENOMEM);
	}
	if (r >= 0)
		r = avformat_find_stream_info(fmt, opts);
	for (unsigned i = 0; i < n; i++)
		av_dict_free(&opts[i]);
	av_free(opts);
	return r;
}

int media_input_open(const char *path, struct media_input *in, char *mime, size_t mimelen,
		     char *detail, size_t detaillen)
{
	unsigned char *head = NULL;
	struct stat st;
	const char *name;
	char err[AV_ERROR_MAX_STRING_SIZE];
	int rc = MEDIA_ERR, r;

	media_ffmpeg_init();
	*in = (struct media_input){.fd = -1, .stream = -1};
	mime[0] = '\0';
	/*
	 * Spool and blob paths are ours: a symbolic link there is never
	 * legitimate, and O_NONBLOCK keeps a FIFO from blocking us before the
	 * S_ISREG check (it changes nothing for a regular file).
	 */
	in->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (in->fd < 0 || fstat(in->fd, &st) < 0) {
		media_detail(detail, detaillen, "The file could not be opened: %s.",
			     strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		media_detail(detail, detaillen, "Not a regular file.");
		goto fail;
	}
	in->size = (int64_t)st.st_size;
	if (in->size == 0) {
		snprintf(mime, mimelen, "application/x-empty");
		media_detail(detail, detaillen, "The file is empty.");
		rc = MEDIA_UNREADABLE;
		goto fail;
	}

	head = malloc(MEDIA_SNIFF_LEN);
	if (!head) {
		media_detail(detail, detaillen, "Out of memory.");
		goto fail;
	}
	ssize_t got;
	do
		got = pread(in->fd, head, MEDIA_SNIFF_LEN, 0);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		media_detail(detail, detaillen, "The file could not be read: %s.", strerror(errno));
		goto fail;
	}
	if (media_sniff(head, (size_t)got, mime, mimelen) < 0) {
		media_detail(detail, detaillen, "The file type could not be determined.");
		goto fail;
	}
	free(head);
	head = NULL;

	enum mime_kind kind = mime_classify(mime, &name);
	if (kind == MIME_OTHER) {
		media_detail(detail, detaillen, "The file is %s (%s), not audio or video.", name,
			     mime);
		rc = MEDIA_NOT_AUDIO;
		goto fail;
	}

	r = ffmpeg_open(in);
	/*
	 * libmagic could not tell: a guess FFmpeg makes with little confidence
	 * (random bytes can pass for a raw MPEG stream) is not enough.
	 */
	if (r >= 0 && kind == MIME_UNKNOWN && in->fmt->probe_score <= AVPROBE_SCORE_RETRY)
		r = AVERROR_INVALIDDATA;
	if (r >= 0)
		r = ffmpeg_stream_info(in);
	if (r == AVERROR(ENOMEM)) {
		media_detail(detail, detaillen, "Out of memory.");
		goto fail;
	}
	if (r < 0) {
		ff_reason(r, err, sizeof err);
		if (kind == MIME_MEDIA) {
			media_detail(detail, detaillen,
				     "The file looks like %s but could not be read: %s. It may be "
				     "damaged or truncated.",
				     mime, err);
			rc = MEDIA_UNREADABLE;
		} else {
			media_detail(
			    detail, detaillen,
			    "The file is not in an audio or video format we recognise (%s).", mime);
			rc = MEDIA_NOT_AUDIO;
		}
		goto fail;
	}

	r = av_find_best_stream(in->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &in->codec, 0);
	if (r == AVERROR_DECODER_NOT_FOUND) {
		int idx = av_find_best_stream(in->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
		const char *codec =
		    idx >= 0 ? avcodec_get_name(in->fmt->streams[idx]->codecpar->codec_id)
			     : "unknown";
		media_detail(detail, detaillen,
			     "The file's audio is encoded as %s, which cannot be decoded here.",
			     codec);
		rc = MEDIA_UNREADABLE;
		goto fail;
	}
	if (r < 0) {
		if (has_real_video(in->fmt))
			media_detail(detail, detaillen,
				     "The file is video without an audio track.");
		else
			media_detail(detail, detaillen, "The file has no audio stream.");
		rc = MEDIA_NOT_AUDIO;
		goto fail;
	}
	in->stream = r;
	int rate = in->fmt->streams[r]->codecpar->sample_rate;
	if (rate != 0 && (rate < MEDIA_RATE_MIN || rate > MEDIA_RATE_MAX)) {
		media_detail(detail, detaillen,
			     "The file's audio claims a sample rate of %d Hz, which is not "
			     "plausible. It may be damaged.",
			     rate);
		rc = MEDIA_UNREADABLE;
		goto fail;
	}
	/* Let the demuxer skip everything that is not our audio. */
	for (unsigned i = 0; i < in->fmt->nb_streams; i++)
		if ((int)i != in->stream)
			in->fmt->streams[i]->discard = AVDISCARD_ALL;
	return MEDIA_OK;
fail:
	free(head);
	media_input_close(in);
	return rc;
}

int media_codec_open(const struct media_input *in, AVCodecContext **out)
{
	const AVStream *st = in->fmt->streams[in->stream];
	AVCodecContext *cc = avcodec_alloc_context3(in->codec);
	int r;

	*out = NULL;
	if (!cc)
		return AVERROR(ENOMEM);
	r = avcodec_parameters_to_context(cc, st->codecpar);
	if (r < 0)
		goto fail;
	cc->pkt_timebase = st->time_base;
	/* Workers already run in parallel; a decoder needs no threads of its own. */
	cc->thread_count = 1;
	r = avcodec_open2(cc, in->codec, NULL);
	if (r < 0)
		goto fail;
	*out = cc;
	return 0;
fail:
	avcodec_free_context(&cc);
	return r;
}

/* ---- probe ---------------------------------------------------------------- */

static void info_fill(const struct media_input *in, const char *mime, struct media_info *info)
{
	const AVFormatContext *fmt = in->fmt;
	const AVStream *st = fmt->streams[in->stream];
	const AVCodecParameters *par = st->codecpar;

	memset(info, 0, sizeof *info);
	if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
		info->duration = (double)fmt->duration / AV_TIME_BASE;
	else if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
		info->duration = (double)st->duration * av_q2d(st->time_base);
	/*
	 * An MP3's Xing header states the length of the whole encoding, and a
	 * truncated upload keeps it. Its bit rate comes from the same header,
	 * so the bytes actually present bound the duration.
	 */
	if (strcmp(fmt->iformat->name, "mp3") == 0 && par->bit_rate > 0 && in->size > 0) {
		double present = (double)in->size * 8 / (double)par->bit_rate;
		if (present < 0.9 * info->duration)
			info->duration = present;
	}
	snprintf(info->format, sizeof info->format, "%s", fmt->iformat->name);
	snprintf(info->codec, sizeof info->codec, "%s", avcodec_get_name(par->codec_id));
	info->sample_rate = par->sample_rate;
	info->channels = par->ch_layout.nb_channels;
	info->has_video = has_real_video(fmt);
	/* The audio's own rate; the container's (everything, video too) only as a fallback. */
	info->bit_rate = par->bit_rate > 0 ? par->bit_rate : fmt->bit_rate;
	snprintf(info->mime, sizeof info->mime, "%s", mime);
}

/*
 * Decode until the first audio frame comes out. MEDIA_OK, or
 * MEDIA_UNREADABLE with detail, or MEDIA_ERR.
 */
static int first_frame(struct media_input *in, char *detail, size_t detaillen)
{
	AVCodecContext *cc = NULL;
	AVPacket *pkt = av_packet_alloc();
	AVFrame *frame = av_frame_alloc();
	const AVStream *st = in->fmt->streams[in->stream];
	int packets = 0, all = 0, last_err = 0, rc = MEDIA_ERR, r;
	int64_t first_pts = AV_NOPTS_VALUE;
	bool draining = false;
	char err[AV_ERROR_MAX_STRING_SIZE];

	if (!pkt || !frame) {
		media_detail(detail, detaillen, "Out of memory.");
		goto out;
	}
	r = media_codec_open(in, &cc);
	if (r < 0) {
		ff_reason(r, err, sizeof err);
		media_detail(detail, detaillen, "The file's audio decoder could not start: %s.",
			     err);
		rc = r == AVERROR(ENOMEM) ? MEDIA_ERR : MEDIA_UNREADABLE;
		goto out;
	}
	for (;;) {
		r = avcodec_receive_frame(cc, frame);
		if (r == 0 && frame->nb_samples > 0) {
			rc = MEDIA_OK;
			goto out;
		}
		if (r == 0 || r == AVERROR(EAGAIN)) {
			av_frame_unref(frame);
		} else if (r == AVERROR_EOF) {
			break;
		} else if (r == AVERROR(ENOMEM)) {
			goto out;
		} else {
			last_err = r;
		}
		if (draining)
			break; /* a draining decoder ends with EOF; anything else, give up */
		bool enough = packets >= PROBE_MAX_PACKETS || all >= PROBE_MAX_ALL_PACKETS;
		r = enough ? AVERROR_EOF : av_read_frame(in->fmt, pkt);
		if (r == AVERROR(ENOMEM))
			goto out;
		if (r < 0) {
			if (r != AVERROR_EOF)
				last_err = r;
			avcodec_send_packet(cc, NULL);
			draining = true;
			continue;
		}
		all++;
		if (pkt->stream_index != in->stream) {
			av_packet_unref(pkt);
			continue;
		}
		packets++;
		if (pkt->pts != AV_NOPTS_VALUE) {
			if (first_pts == AV_NOPTS_VALUE)
				first_pts = pkt->pts;
			else if ((double)(pkt->pts - first_pts) * av_q2d(st->time_base) >
				 PROBE_MAX_SECONDS)
				packets = PROBE_MAX_PACKETS;
		}
		r = avcodec_send_packet(cc, pkt);
		av_packet_unref(pkt);
		if (r < 0 && r != AVERROR(EAGAIN))
			last_err = r;
	}
	rc = MEDIA_UNREADABLE;
	if (packets == 0) {
		media_detail(detail, detaillen, "The file contains no audio samples.");
	} else if (last_err) {
		ff_reason(last_err, err, sizeof err);
		media_detail(detail, detaillen,
			     "The file's audio could not be decoded: %s. It may be damaged or "
			     "truncated.",
			     err);
	} else {
		media_detail(detail, detaillen, "The file contains no audio samples.");
	}
out:
	avcodec_free_context(&cc);
	av_frame_free(&frame);
	av_packet_free(&pkt);
	return rc;
}

int media_probe(const char *path, struct media_info *info, char *detail, size_t detaillen)
{
	struct media_input in;
	char mime[sizeof info->mime];
	int rc;

	memset(info, 0, sizeof *info);
	media_detail(detail, detaillen, "%s", "");
	rc = media_input_open(path, &in, mime, sizeof mime, detail, detaillen);
	snprintf(info->mime, sizeof info->mime, "%s", mime);
	if (rc != MEDIA_OK)
		return rc;
	info_fill(&in, mime, info);
	/* Before decoding anything: the header's word is enough to refuse. */
	rc = check_length(info->duration, detail, detaillen);
	if (rc == MEDIA_OK)
		rc = first_frame(&in, detail, detaillen);
	media_input_close(&in);
	return rc;
}

/* ---- WAV ------------------------------------------------------------------ */

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

void media_wav_header(unsigned char out[44], size_t nsamples)
{
	/* RIFF sizes are 32-bit: a longer piece says the most it can. */
	uint64_t data = (uint64_t)nsamples * 2;
	if (data > UINT32_MAX - 36)
		data = (UINT32_MAX - 36) & ~(uint64_t)1;

	memcpy(out, "RIFF", 4);
	put_le32(out + 4, (uint32_t)(36 + data));
	memcpy(out + 8, "WAVEfmt ", 8);
	put_le32(out + 16, 16);		    /* fmt chunk size */
	put_le16(out + 20, 1);		    /* PCM */
	put_le16(out + 22, 1);		    /* mono */
	put_le32(out + 24, MEDIA_RATE);	    /* sample rate */
	put_le32(out + 28, MEDIA_RATE * 2); /* byte rate */
	put_le16(out + 32, 2);		    /* block align */
	put_le16(out + 34, 16);		    /* bits per sample */
	memcpy(out + 36, "data", 4);
	put_le32(out + 40, (uint32_t)data);
}
