/*
 * vad.h — voice-activity detection and segmentation at pauses.
 *
 * Speech probability per 32 ms frame (512 samples at 16 kHz) comes from
 * Silero VAD v5 through ONNX Runtime, or, when that model is not
 * available, from an energy detector with an adaptive noise floor. The
 * segmenter turns the probabilities into speech segments cut at pauses:
 * a segment ends after min_silence of non-speech, is never longer than
 * max_s (it is cut at the quietest frame of its last seconds, or, in speech
 * without any pause, right at max_s), and carries pad of audio on both
 * sides. Audio is fed in pieces and only the current segment is buffered,
 * so memory stays flat however long the input is.
 */
#ifndef IAM_VAD_H
#define IAM_VAD_H

#include <stdbool.h>
#include <stddef.h>

#define VAD_FRAME 512 /* samples per decision (32 ms at 16 kHz) */

/* The Silero model, shared by every stream (thread-safe). */
struct vad_model;
/* Load and check (SHA-256) the model; NULL with err. Needs ort_init first. */
struct vad_model *vad_model_load(const char *path, const char *sha256_hex, char *err,
				 size_t errlen);
void vad_model_free(struct vad_model *m); /* NULL is a no-op */

struct vad_params {
	double threshold;     /* speech when p >= this (0.5) */
	double neg_threshold; /* silence when p < this (threshold - 0.15) */
	double min_silence_s; /* a pause this long ends a segment */
	double min_speech_s;  /* shorter bursts are dropped */
	double pad_s;	      /* audio kept before and after the speech */
	double max_s;	      /* no segment is longer */
	double
	    lookback_s; /* a long segment is cut at the quietest frame this far back from max_s */
};
/* The defaults described above. */
void vad_params_default(struct vad_params *p);

/*
 * A finished segment: pcm holds n samples starting at start_sample of the
 * whole stream (padding included); speech_start / speech_end are where the
 * detected speech begins and ends, in samples from the stream start.
 * forced: the segment was cut inside speech (no pause was found). The
 * callback returns 0 to go on, or an rc (non-zero) to stop; that rc is
 * returned by vad_stream_feed / vad_stream_finish.
 */
struct vad_segment {
	const float *pcm;
	size_t n;
	long long start_sample;
	long long speech_start, speech_end;
	bool forced;
};
typedef int (*vad_segment_fn)(void *ctx, const struct vad_segment *seg);

struct vad_stream;
/* A new stream over model (NULL: the energy detector). NULL when out of memory. */
struct vad_stream *vad_stream_new(struct vad_model *model, const struct vad_params *p);
void vad_stream_free(struct vad_stream *s); /* NULL is a no-op */
/*
 * Feed n samples (16 kHz mono, [-1, 1]); finished segments are passed to
 * fn. 0, the callback's rc, or -1 when the model failed (err says why) or
 * memory ran out.
 */
int vad_stream_feed(struct vad_stream *s, const float *x, size_t n, vad_segment_fn fn, void *ctx,
		    char *err, size_t errlen);
/* End of audio: flush the last segment. Same results as vad_stream_feed. */
int vad_stream_finish(struct vad_stream *s, vad_segment_fn fn, void *ctx, char *err, size_t errlen);
/* Whether the stream uses the Silero model (false: energy). */
bool vad_stream_neural(const struct vad_stream *s);

#endif
