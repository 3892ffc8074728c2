/*
 * media_impl.h — private: what probe (media.c) and the decoder (decode.c)
 * share. An input is one file opened for FFmpeg through our own AVIO over a
 * file descriptor, locked down so no demuxer can open anything else
 * (playlists, concat lists, references): an uploaded file can never make us
 * read another file or a URL. Only accepted containers are parsed and only
 * audio decoders may open (a picture stream cannot be decoded into
 * gigabytes), with explicit probe limits.
 */
#ifndef IAM_MEDIA_IMPL_H
#define IAM_MEDIA_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#define MEDIA_SNIFF_LEN (64 * 1024)
/*
 * Sample rates we accept. Below the minimum a damaged header turns a small
 * file into hours of resampled output; nothing real is outside the range.
 */
#define MEDIA_RATE_MIN 1000
#define MEDIA_RATE_MAX 768000

struct media_input {
	int fd;
	int64_t size;
	AVIOContext *avio;
	AVFormatContext *fmt;
	int stream; /* index of the audio stream */
	const AVCodec *codec;
};

/* Once per process: FFmpeg's log goes to ours at debug. Safe from any thread. */
void media_ffmpeg_init(void);

/*
 * Open path, sniff it, let FFmpeg read its header and pick the audio stream.
 * On MEDIA_OK in is open (media_input_close it) and mime holds libmagic's
 * type; otherwise in is closed and detail says why (enum media_rc).
 */
int media_input_open(const char *path, struct media_input *in, char *mime, size_t mimelen,
		     char *detail, size_t detaillen);
void media_input_close(struct media_input *in);

/* A decoder for in's audio stream in *out (caller frees with avcodec_free_context). 0 or AVERROR.
 */
int media_codec_open(const struct media_input *in, AVCodecContext **out);

/* snprintf into detail, tolerating a NULL/empty buffer. */
void media_detail(char *detail, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
