/*
 * media.h — what is in a file, and its audio as 16 kHz mono signed 16-bit
 * PCM (FFmpeg: libavformat, libavcodec, libswresample; libmagic for
 * sniffing). The common audio containers and the video containers people
 * record in are accepted (FORMAT_WHITELIST in media.c); video files are fine
 * when they have an audio track. Only audio is ever decoded, and how much
 * is bounded (media_max_seconds). Nothing here knows about users or storage.
 */
#ifndef IAM_MEDIA_H
#define IAM_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEDIA_RATE 16000

enum media_rc {
	MEDIA_OK = 0,
	MEDIA_NOT_AUDIO = 1, /* not a media file, or no audio stream (detail says what it is) */
	MEDIA_UNREADABLE =
	    2,		    /* looks like media but is empty, truncated before any audio, corrupt */
	MEDIA_TOO_LONG = 3, /* longer than media_max_seconds() (detail states the limit) */
	MEDIA_ERR = -1	    /* out of memory, I/O error */
};

struct media_info {
	double duration; /* seconds; from the container, or 0 when it does not say */
	char format[64]; /* FFmpeg's short container name: "mp3", "wav", "ogg",
			    "mov,mp4,m4a,3gp,3g2,mj2" */
	char codec[32];	 /* audio codec: "mp3", "pcm_s16le", "opus", ... */
	int sample_rate;
	int channels;
	bool has_video;
	int64_t bit_rate;
	char mime[64]; /* libmagic's MIME type of the file */
};

/*
 * The longest audio accepted (IAM_MAX_AUDIO_MINUTES), in seconds; 0 = no
 * limit. Process-wide: set once at start-up, read by every probe (which
 * answers MEDIA_TOO_LONG beyond it) and every decoder opened afterwards
 * (which ends its output there, whatever the file's header claimed).
 */
#define MEDIA_MAX_SECONDS_DEFAULT (600 * 60)
void media_set_max_seconds(int64_t seconds);
int64_t media_max_seconds(void);

/* libmagic MIME type of a buffer (the first bytes of a file). 0 or -1. */
int media_sniff(const void *head, size_t len, char *mime, size_t mimelen);

/*
 * Look at the file: libmagic and FFmpeg must agree it is audio, or video with
 * an audio track, and at least the first audio packet must decode. On
 * MEDIA_NOT_AUDIO / MEDIA_UNREADABLE / MEDIA_TOO_LONG, detail holds a
 * sentence a person can act on ("The file is text (text/plain), not
 * audio."); with MEDIA_TOO_LONG, info is filled in too.
 */
int media_probe(const char *path, struct media_info *info, char *detail, size_t detaillen);

/* Streaming decoder to 16 kHz mono s16: memory does not grow with duration. */
struct media_decoder;
int media_decoder_open(const char *path, struct media_decoder **out, char *detail,
		       size_t detaillen);
/* Up to max samples into buf; returns the count, 0 at the end, <0 on a decode error. */
long media_decoder_read(struct media_decoder *d, int16_t *buf, size_t max);
/*
 * True once read() has returned the end because it reached
 * media_max_seconds() (anything after it in the file is not decoded; a file
 * exactly that long reads as truncated too). Reset by rewind.
 */
bool media_decoder_truncated(const struct media_decoder *d);
/* Seconds decoded so far. */
double media_decoder_position(const struct media_decoder *d);
/* Start again from the beginning. 0 or -1. */
int media_decoder_rewind(struct media_decoder *d);
void media_decoder_close(struct media_decoder *d);

/*
 * A 44-byte WAV header for n samples of 16 kHz mono s16 (for sending PCM
 * pieces to speech APIs).
 */
void media_wav_header(unsigned char out[44], size_t nsamples);

#endif
