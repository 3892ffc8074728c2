/*
 * diarize.h — offline speaker diarization from classical parts: who spoke
 * when, for any recording, without a neural speaker model.
 *
 * Pipeline (diarize.c has the details and the measured reasons):
 *   1. per 10 ms frame (25 ms window, FFT from FFTW): 16 MFCCs (c1..c16),
 *      log energy, and a pitch track (log F0 from the autocorrelation,
 *      also through FFTW) — kept as 18 floats a frame, nothing else;
 *   2. speech frames from vad.h (Silero VAD when a model is given, else
 *      vad.c's energy detector);
 *   3. speaker-change detection inside speech (a distance between the
 *      Gaussians of the 1 s before and after each point; peaks over a
 *      threshold cut the speech into homogeneous pieces);
 *   4. agglomerative clustering (Ward) of the pieces' 1 s window means,
 *      whitened by the within-speaker covariance; the speaker count is the
 *      largest whose clusters all stand apart by a measured distance, held
 *      to the caller's bounds;
 *   5. Viterbi resegmentation of the speech frames against one Gaussian per
 *      speaker, with a switching penalty and turns of at least ~1 s.
 *
 * Memory is bounded by the features, not the audio: 18 floats per 10 ms of
 * input (7.2 KB a second, ~26 MB for an hour) plus small per-piece
 * statistics; the audio itself is never kept beyond one VAD segment (at
 * most ~20 s, inside vad.c). Single-threaded; one diarizer per recording;
 * diarizers share nothing, so several may run in parallel threads (each
 * with its own diarizer; a shared vad_model is thread-safe).
 */
#ifndef IAM_DIARIZE_H
#define IAM_DIARIZE_H

#include <stddef.h>

#define DIAR_MAX_SPEAKERS 20

struct vad_model;

struct diar_opts {
	/*
	 * Speaker bounds: min == max > 0 is an exact count; 0 means unknown
	 * (min 0 -> 1, max 0 -> DIAR_MAX_SPEAKERS). Both must lie in
	 * 0..DIAR_MAX_SPEAKERS and min <= max when both are given. The bounds
	 * apply when there is speech; silence-only audio always gives 0.
	 */
	int min_speakers, max_speakers;
	/* Silero VAD model (not owned, may be shared); NULL: the energy detector. */
	struct vad_model *vad;
};

struct diar_turn {
	double start, end; /* seconds from the start of the audio; end > start */
	int speaker;	   /* 0..nspeakers-1, numbered by first appearance */
};

struct diarizer;

/*
 * Check the options (rc 0 or -1 with a sentence in err naming the field).
 * diar_new calls it too.
 */
int diar_opts_check(const struct diar_opts *o, char *err, size_t errlen);

/*
 * A new diarizer (o may be NULL: unknown count, energy detector). NULL when
 * the options are invalid (err says why) or memory ran out. Caller frees
 * with diar_free.
 */
struct diarizer *diar_new(const struct diar_opts *o, char *err, size_t errlen);

/*
 * Feed n samples of mono 16 kHz float PCM in [-1, 1], in order, the whole
 * recording in as many pieces as convenient. 0, or -1 (err says why: out of
 * memory, the VAD model failed, fed after diar_finish).
 */
int diar_feed(struct diarizer *d, const float *pcm16k, size_t n, char *err, size_t errlen);

/*
 * The same for 16-bit PCM (what media_decoder_read gives).
 */
int diar_feed_s16(struct diarizer *d, const short *pcm16k, size_t n, char *err, size_t errlen);

/*
 * End of audio: diarize. On 0, *turns holds *nturns turns in time order, not
 * overlapping (caller frees with free(); NULL when there are none) and
 * *nspeakers the number of speakers. Silence-only or empty audio gives 0
 * turns and 0 speakers with rc 0. -1 (err says why) on out of memory or a
 * VAD failure; may be called once.
 */
int diar_finish(struct diarizer *d, struct diar_turn **turns, size_t *nturns, int *nspeakers,
		char *err, size_t errlen);

/* Seconds of audio fed so far. */
double diar_duration(const struct diarizer *d);

/* NULL is a no-op. */
void diar_free(struct diarizer *d);

/* ---- exposed for unit tests ------------------------------------------- */

#define DIAR_NCEP 16 /* cepstra kept per frame (c1..c16) */
#define DIAR_DIM  18 /* floats per frame: cepstra, log energy, log F0 (0 when unvoiced) */

/*
 * Features of one 25 ms frame (400 samples at 16 kHz, from x[0]; the pitch
 * estimate looks at 640 samples, so x must hold that many): out[0..15] the
 * cepstra c1..c16, out[16] log energy, out[17] log F0 in Hz, 0 when
 * unvoiced. Also returns, through mel (may be NULL), the 40 log mel
 * energies. -1 when memory ran out.
 */
int diar_frame_features(const float *x, float out[DIAR_DIM], float mel[40]);

/*
 * Agglomerative clustering with the stopping rule, as diar_finish does it: segment s is the frames
 * x[(start[s] + i) * stride + 0..16] for i < len[s] (17 floats used per frame); clusters are kept
 * between min_k and max_k. labels[s] gets 0.. numbered by first appearance. Returns the cluster
 * count, or -1 when memory ran out. Exposed for the tests (synthetic Gaussian clusters).
 */
int diar_cluster_segments(const float *x, size_t stride, const size_t *start, const size_t *len,
			  size_t nseg, int min_k, int max_k, int *labels);

#endif
