/*
 * align.h — word start and end times inside a recognised segment, by forced
 * alignment of the words against the audio (PocketSphinx, English).
 */
#ifndef IAM_ALIGN_H
#define IAM_ALIGN_H

#include <stddef.h>
#include <stdint.h>

#include "asr/asr.h"

struct asr_aligner;
/* hmm / dict NULL: Debian's pocketsphinx-en-us. NULL with err. Thread-safe to use. */
struct asr_aligner *asr_aligner_new(const char *hmm, const char *dict, char *err, size_t errlen);
void asr_aligner_free(struct asr_aligner *a); /* NULL is a no-op */
/*
 * Set w's start/end (seconds from pcm[0]) for the words found in the audio;
 * words it could not place get -1 (the caller interpolates). Returns how
 * many words were placed, or -1 when the alignment failed as a whole.
 */
int asr_align(struct asr_aligner *a, const int16_t *pcm, size_t n, struct asr_words *w);

#endif
