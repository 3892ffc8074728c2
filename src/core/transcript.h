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
};

/* Free everything the transcript owns and zero it; NULL is a no-op. */
void transcript_free(struct transcript *t);

/*
 * Append a segment / word (strings are copied). Returns 0 or -1 (no memory).
 * Words appended after a segment belong to it (first_word/nwords are kept).
 */
int transcript_add_segment(struct transcript *t, double start, double end, double confidence,
			   const char *text);
int transcript_add_word(struct transcript *t, double start, double end, double confidence,
			const char *text);

/* Shift every time by offset seconds (joining transcripts of audio pieces). */
void transcript_shift(struct transcript *t, double offset);
/* Move all of src's segments and words to the end of dst; src is emptied. */
int transcript_append(struct transcript *dst, struct transcript *src);

/* The whole text: segment texts joined by single spaces. Caller frees. */
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
 */
json_t *transcript_to_json(const struct transcript *t);
int transcript_from_json(json_t *j, struct transcript *t);

#endif
