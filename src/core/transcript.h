/*
 * transcript.h — the timed transcript: segments (sentences or phrases) and
 * the words in them, with times in seconds from the start of the audio and
 * confidences in 0..1. Produced by asr/, stored as JSON by store/, rendered
 * by export/. Nothing here knows about users or HTTP.
 */
#ifndef IAM_TRANSCRIPT_H
#define IAM_TRANSCRIPT_H

#include <jansson.h>
#include <stddef.h>

struct transcript_word {
	double start, end;
	double confidence;
	char *text; /* owned */
};

struct transcript_segment {
	double start, end;
	double confidence;
	char *text;        /* owned */
	size_t first_word; /* index into words[] */
	size_t nwords;     /* 0 when the engine gave no word times */
};

struct transcript {
	struct transcript_segment *segments;
	size_t nsegments;
	struct transcript_word *words;
	size_t nwords;
	char language[16]; /* BCP 47 / ISO 639-1 such as "en" */
	double duration;   /* seconds of audio */
	/*
	 * Allocated lengths of segments[] / words[], kept by transcript.c so
	 * growth can double. Zero-initialise them (or the whole struct); a
	 * count above its capacity is read as "exactly count allocated".
	 */
	size_t segments_cap, words_cap;
};

/* Free everything the transcript owns and zero it; NULL is a no-op. */
void transcript_free(struct transcript *t);

/*
 * Append a segment / word (strings are copied). Returns 0 or -1 (no memory).
 * Words appended after a segment belong to it (first_word/nwords are kept).
 * Values are normalised on the way in: NaN or negative times become 0, end
 * is at least start, confidence is clamped to 0..1, invalid UTF-8 bytes
 * become U+FFFD.
 */
int transcript_add_segment(struct transcript *t, double start, double end, double confidence,
			   const char *text);
int transcript_add_word(struct transcript *t, double start, double end, double confidence,
			const char *text);

/*
 * Shift every time by offset seconds (joining transcripts of audio pieces).
 * A non-zero duration (where the audio ends) moves too; times stop at 0.
 */
void transcript_shift(struct transcript *t, double offset);
/*
 * Move all of src's segments and words to the end of dst; src is emptied.
 * dst keeps its language (takes src's if it has none) and the larger
 * duration. -1 (both unchanged) when out of memory or dst == src.
 */
int transcript_append(struct transcript *dst, struct transcript *src);

/*
 * The whole text: segment texts (trimmed, empty ones left out) joined by
 * single spaces. Caller frees; NULL when out of memory.
 */
char *transcript_text(const struct transcript *t);
/* Mean word confidence (segment confidence when there are no words); 0 if empty. */
double transcript_confidence(const struct transcript *t);

/*
 * JSON form (the API's and the database's):
 * {"language","duration","text","segments":[{"id","start","end","text","confidence",
 *  "words":[{"word","start","end","confidence"}]}]}
 * transcript_to_json returns a new reference. transcript_from_json fills t
 * (caller frees with transcript_free) and returns 0, or -1 if j is not of
 * this shape.
 * to_json rounds times to milliseconds and confidences to 3 decimals, and
 * keeps words inside their segment, so its output always passes from_json.
 * from_json refuses unknown keys, wrong types, negative times, start > end
 * and words outside their segment; "text" and "id" (derived) and "words"
 * may be left out. t is overwritten, not freed, and left empty on failure.
 */
json_t *transcript_to_json(const struct transcript *t);
int transcript_from_json(json_t *j, struct transcript *t);

#endif
