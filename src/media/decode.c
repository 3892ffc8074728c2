/*
 * decode.c — the streaming decoder: any audio FFmpeg reads, out as 16 kHz
 * mono s16.
 *
 * Pull model: read() asks for samples, and only when the small buffer of
 * converted samples is empty is the next packet read, decoded and
 * resampled. Memory is bounded by the largest frame a codec produces, never
 * by the length of the file. Damaged packets are skipped; the decoder fails
 * only when nothing at all decodes.
 */
#include "media/media.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>

#include "core/log.h"
#include "media/media_impl.h"

/* Consecutive errors without a decoded frame before we call it the end. */
#define MAX_ERROR_STREAK 500

enum dec_state {
	DEC_RUN,   /* reading packets */
	DEC_DRAIN, /* input ended; the codec is giving back what it holds */
	DEC_DONE   /* codec and resampler flushed */
};

struct media_decoder {
	char *path; /* ours; for reopening when a seek fails */
	struct media_input in;
	AVCodecContext *cc;
	AVPacket *pkt;
	AVFrame *frame;

	/* The resampler and the input it was set up for: rebuilt when frames change. */
	SwrContext *swr;
	int swr_rate;
	int swr_fmt;
	AVChannelLayout swr_layout;

	/* Converted samples not yet returned: buf[pos..len). */
	int16_t *buf;
	size_t cap, len, pos;

	/*
	 * The first audio packet of the file as we first read it. After a seek
	 * back to the start the first packet must be this one again (else we
	 * reopen); demuxers attach the trim of the encoder delay (MP3, Opus
	 * pre-skip) to it only on the first read, so we put it back.
	 */
	bool first_seen;
	int64_t first_pts, first_pos;
	uint8_t first_skip[10];
	size_t first_skip_len;
	bool verify_first; /* set by a seeking rewind until the first packet is checked */

	enum dec_state state;
	bool failed;
	/*
	 * media_max_seconds() at open, in samples (0 = no limit): output ends
	 * there whatever the header said the length was.
	 */
	int64_t max_samples;
	bool truncated;
	int64_t returned; /* samples handed out since the start (or rewind) */
	int64_t frames;	  /* frames decoded since open: 0 at the end means failure */
	int64_t skipped;  /* damaged packets / frames skipped */
	int streak;	  /* errors since the last good frame */
};

static void swr_reset(struct media_decoder *d)
{
	swr_free(&d->swr);
	av_channel_layout_uninit(&d->swr_layout);
	d->swr_rate = 0;
	d->swr_fmt = -1;
}

static int buf_reserve(struct media_decoder *d, size_t more)
{
	if (d->len + more <= d->cap)
		return 0;
	size_t cap = d->cap ? d->cap : 4096;
	while (cap < d->len + more)
		cap *= 2;
	int16_t *b = realloc(d->buf, cap * sizeof *b);
	if (!b)
		return -1;
	d->buf = b;
	d->cap = cap;
	return 0;
}

/* Whatever the resampler still holds (its filter delay) into buf. 0 or -1. */
static int swr_drain(struct media_decoder *d)
{
	if (!d->swr)
		return 0;
	int64_t want = swr_get_out_samples(d->swr, 0);
	if (want <= 0)
		return 0;
	if (buf_reserve(d, (size_t)want) < 0)
		return -1;
	uint8_t *out = (uint8_t *)(d->buf + d->len);
	int n = swr_convert(d->swr, &out, (int)want, NULL, 0);
	if (n < 0)
		return -1;
	d->len += (size_t)n;
	return 0;
}

/* Make sure the resampler matches this frame's format. 0 or -1. */
static int swr_setup(struct media_decoder *d, const AVFrame *f)
{
	AVChannelLayout in_layout = {0}, mono = AV_CHANNEL_LAYOUT_MONO;
	int r;

	if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || f->ch_layout.nb_channels <= 0)
		av_channel_layout_default(
		    &in_layout, f->ch_layout.nb_channels > 0 ? f->ch_layout.nb_channels : 1);
	else if (av_channel_layout_copy(&in_layout, &f->ch_layout) < 0)
		return -1;

	if (d->swr && d->swr_rate == f->sample_rate && d->swr_fmt == f->format &&
	    av_channel_layout_compare(&d->swr_layout, &in_layout) == 0) {
		av_channel_layout_uninit(&in_layout);
		return 0;
	}
	/* The stream changed shape mid-way (rate, channels): finish the old one first. */
	if (d->swr && swr_drain(d) < 0)
		goto fail;
	swr_reset(d);
	r = swr_alloc_set_opts2(&d->swr, &mono, AV_SAMPLE_FMT_S16, MEDIA_RATE, &in_layout,
				(enum AVSampleFormat)f->format, f->sample_rate, 0, NULL);
	if (r < 0 || swr_init(d->swr) < 0)
		goto fail;
	d->swr_rate = f->sample_rate;
	d->swr_fmt = f->format;
	d->swr_layout = in_layout; /* moves ownership */
	return 0;
fail:
	av_channel_layout_uninit(&in_layout);
	swr_reset(d);
	return -1;
}

/*
 * Resample a decoded frame into buf. 0 when converted, 1 when the frame has
 * a shape we cannot convert (skipped like a damaged packet), -1 on failure.
 */
static int convert(struct media_decoder *d, const AVFrame *f)
{
	if (f->nb_samples <= 0 || f->sample_rate < MEDIA_RATE_MIN ||
	    f->sample_rate > MEDIA_RATE_MAX || swr_setup(d, f) < 0)
		return 1;
	int want = swr_get_out_samples(d->swr, f->nb_samples);
	if (want < 0 || buf_reserve(d, (size_t)want) < 0)
		return -1;
	uint8_t *out = (uint8_t *)(d->buf + d->len);
	int n = swr_convert(d->swr, &out, want, (const uint8_t **)f->extended_data, f->nb_samples);
	if (n < 0)
		return 1;
	d->len += (size_t)n;
	d->frames++;
	d->streak = 0;
	return 0;
}

static void note_skip(struct media_decoder *d, const char *what, int err)
{
	char msg[AV_ERROR_MAX_STRING_SIZE];

	d->skipped++;
	d->streak++;
	av_strerror(err, msg, sizeof msg);
	log_debug("media: skipped damaged audio",
		  json_pack("{s:s, s:s, s:I}", "stage", what, "error", msg, "skipped",
			    (json_int_t)d->skipped));
}

static int dec_reopen(struct media_decoder *d);

/*
 * Remember the file's first audio packet, or after a seeking rewind check
 * that we are back on it (restoring its trim side data). 0 to go on with
 * pkt, 1 if pkt was dropped and the input reopened instead, -1 on failure.
 */
static int first_packet(struct media_decoder *d, AVPacket *pkt)
{
	size_t len = 0;
	uint8_t *skip = av_packet_get_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, &len);

	if (!d->first_seen) {
		d->first_seen = true;
		d->first_pts = pkt->pts;
		d->first_pos = pkt->pos;
		if (skip && len <= sizeof d->first_skip) {
			memcpy(d->first_skip, skip, len);
			d->first_skip_len = len;
		}
		return 0;
	}
	if (!d->verify_first)
		return 0;
	d->verify_first = false;
	if (pkt->pts != d->first_pts || pkt->pos != d->first_pos) {
		av_packet_unref(pkt);
		log_debug("media: seek did not return to the first packet; reopening", NULL);
		return dec_reopen(d) < 0 ? -1 : 1;
	}
	if (!skip && d->first_skip_len > 0) {
		uint8_t *sd =
		    av_packet_new_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, d->first_skip_len);
		if (!sd)
			return -1;
		memcpy(sd, d->first_skip, d->first_skip_len);
	}
	return 0;
}

/*
 * Decode until buf holds some samples or the stream is done. 0, or -1 on a
 * failure that ends decoding (out of memory, resampler).
 */
static int produce(struct media_decoder *d)
{
	int r;

	while (d->len == 0 && d->state != DEC_DONE) {
		r = avcodec_receive_frame(d->cc, d->frame);
		if (r == 0) {
			r = convert(d, d->frame);
			av_frame_unref(d->frame);
			if (r < 0)
				return -1;
			if (r > 0)
				note_skip(d, "convert", AVERROR_INVALIDDATA);
			continue;
		}
		if (r == AVERROR_EOF || (d->state == DEC_DRAIN && r == AVERROR(EAGAIN))) {
			d->state = DEC_DONE;
			if (swr_drain(d) < 0)
				return -1;
			break;
		}
		if (r == AVERROR(ENOMEM))
			return -1;
		if (r != AVERROR(EAGAIN)) {
			note_skip(d, "decode", r);
			if (d->streak > 2 * MAX_ERROR_STREAK) {
				d->state = DEC_DONE; /* a codec that only ever fails */
			} else if (d->streak > MAX_ERROR_STREAK && d->state == DEC_RUN) {
				avcodec_send_packet(d->cc, NULL);
				d->state = DEC_DRAIN;
			}
			continue;
		}
		if (d->state == DEC_DRAIN)
			continue; /* not reached: EAGAIN while draining ends above */

		/* The codec wants input. */
		r = av_read_frame(d->in.fmt, d->pkt);
		if (r == AVERROR(ENOMEM))
			return -1;
		if (r == AVERROR(EAGAIN))
			continue;
		if (r == AVERROR_INVALIDDATA && d->streak < MAX_ERROR_STREAK) {
			/* Demuxers resync after a damaged stretch. */
			note_skip(d, "demux", r);
			continue;
		}
		if (r < 0 && d->verify_first) {
			/* A rewind's seek found no packet at all: start over instead. */
			if (dec_reopen(d) < 0)
				return -1;
			continue;
		}
		if (r < 0) {
			/* End of file, or an error we cannot read past: flush what we have. */
			if (r != AVERROR_EOF)
				note_skip(d, "read", r);
			avcodec_send_packet(d->cc, NULL);
			d->state = DEC_DRAIN;
			continue;
		}
		if (d->pkt->stream_index != d->in.stream) {
			av_packet_unref(d->pkt);
			continue;
		}
		r = first_packet(d, d->pkt);
		if (r < 0)
			return -1;
		if (r > 0)
			continue; /* reopened */
		r = avcodec_send_packet(d->cc, d->pkt);
		av_packet_unref(d->pkt);
		if (r == AVERROR(ENOMEM))
			return -1;
		if (r < 0 && r != AVERROR(EAGAIN))
			note_skip(d, "packet", r);
	}
	return 0;
}

/* Open the input and the codec (not the resampler: that follows the first frame). */
static int dec_start(struct media_decoder *d, char *detail, size_t detaillen)
{
	char mime[64], err[AV_ERROR_MAX_STRING_SIZE];
	int rc = media_input_open(d->path, &d->in, mime, sizeof mime, detail, detaillen);
	if (rc != MEDIA_OK)
		return rc;
	int r = media_codec_open(&d->in, &d->cc);
	if (r < 0) {
		av_strerror(r, err, sizeof err);
		media_detail(detail, detaillen, "The file's audio decoder could not start: %s.",
			     err);
		media_input_close(&d->in);
		return r == AVERROR(ENOMEM) ? MEDIA_ERR : MEDIA_UNREADABLE;
	}
	return MEDIA_OK;
}

static void dec_stop(struct media_decoder *d)
{
	avcodec_free_context(&d->cc);
	media_input_close(&d->in);
}

static void dec_reset_output(struct media_decoder *d)
{
	swr_reset(d);
	d->len = d->pos = 0;
	d->returned = 0;
	d->state = DEC_RUN;
	d->streak = 0;
	d->failed = false;
	d->truncated = false;
	d->verify_first = false;
}

/* Close and open the input again: decoding restarts exactly as after open. */
static int dec_reopen(struct media_decoder *d)
{
	dec_stop(d);
	dec_reset_output(d);
	d->first_seen = false;
	d->first_skip_len = 0;
	if (dec_start(d, NULL, 0) != MEDIA_OK) {
		d->failed = true;
		return -1;
	}
	return 0;
}

int media_decoder_open(const char *path, struct media_decoder **out, char *detail, size_t detaillen)
{
	struct media_decoder *d = calloc(1, sizeof *d);
	int rc = MEDIA_ERR;

	*out = NULL;
	media_detail(detail, detaillen, "%s", "");
	if (!d) {
		media_detail(detail, detaillen, "Out of memory.");
		return MEDIA_ERR;
	}
	d->in.fd = -1;
	d->swr_fmt = -1;
	d->max_samples = media_max_seconds() * MEDIA_RATE;
	d->path = strdup(path);
	d->pkt = av_packet_alloc();
	d->frame = av_frame_alloc();
	if (!d->path || !d->pkt || !d->frame) {
		media_detail(detail, detaillen, "Out of memory.");
		goto fail;
	}
	rc = dec_start(d, detail, detaillen);
	if (rc != MEDIA_OK)
		goto fail;
	*out = d;
	return MEDIA_OK;
fail:
	media_decoder_close(d);
	return rc;
}

long media_decoder_read(struct media_decoder *d, int16_t *buf, size_t max)
{
	if (d->failed)
		return -1;
	if (max == 0)
		return 0;
	if (d->max_samples > 0 && d->returned >= d->max_samples) {
		/* The limit: whatever follows is not decoded at all. */
		if (!d->truncated) {
			d->truncated = true;
			log_warn("media: decoding stopped at the longest accepted length",
				 json_pack("{s:I}", "max_seconds",
					   (json_int_t)(d->max_samples / MEDIA_RATE)));
		}
		return 0;
	}
	if (d->pos == d->len) {
		d->pos = d->len = 0;
		if (produce(d) < 0) {
			d->failed = true;
			return -1;
		}
		if (d->len == 0) /* done */
			return d->frames > 0 ? 0 : -1;
	}
	size_t n = d->len - d->pos;
	if (n > max)
		n = max;
	if (d->max_samples > 0 && (int64_t)n > d->max_samples - d->returned)
		n = (size_t)(d->max_samples - d->returned);
	if (n > (size_t)LONG_MAX)
		n = (size_t)LONG_MAX;
	memcpy(buf, d->buf + d->pos, n * sizeof *buf);
	d->pos += n;
	d->returned += (int64_t)n;
	return (long)n;
}

bool media_decoder_truncated(const struct media_decoder *d)
{
	return d && d->truncated;
}

double media_decoder_position(const struct media_decoder *d)
{
	return (double)d->returned / MEDIA_RATE;
}

int media_decoder_rewind(struct media_decoder *d)
{
	const AVStream *st = d->in.fmt ? d->in.fmt->streams[d->in.stream] : NULL;
	int r = -1;

	if (st && d->first_seen) {
		/*
		 * 0, not start_time: an MP3's start_time lies after the encoder
		 * delay and seeking there skips the first packet. A stream may start
		 * before 0 (Opus pre-skip).
		 */
		int64_t ts = 0;
		if (st->start_time != AV_NOPTS_VALUE && st->start_time < 0)
			ts = st->start_time;
		r = av_seek_frame(d->in.fmt, d->in.stream, ts, AVSEEK_FLAG_BACKWARD);
	}
	if (r >= 0) {
		/*
		 * A fresh codec rather than avcodec_flush_buffers: some decoders
		 * trim their start (Opus pre-skip in WebM) only once after opening,
		 * and the samples must come out exactly as the first time.
		 */
		dec_reset_output(d);
		avcodec_free_context(&d->cc);
		if (media_codec_open(&d->in, &d->cc) == 0) {
			d->verify_first = true;
			return 0;
		}
	}
	/* Not seekable, the seek failed, or nothing read yet: start over from a fresh open. */
	if (st && d->first_seen)
		log_debug("media: seek to start failed; reopening", NULL);
	return dec_reopen(d);
}

void media_decoder_close(struct media_decoder *d)
{
	if (!d)
		return;
	dec_stop(d);
	swr_reset(d);
	av_frame_free(&d->frame);
	av_packet_free(&d->pkt);
	free(d->buf);
	free(d->path);
	free(d);
}
