/*
 * transcript.h — the timed transcript: segments (sentences or phrases) and
 * the words in them, with times in seconds from the start of the audio and
 * confidences in 0..1. Produced by asr/, stored as JSON by store/, rendered
 * by export/. Nothing here knows about users or HTTP.
 */
#ifndef IAM_TRANSCRIPT_H
#define IAM_TRANSCRIPT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Speakers a transcript may hold (diarization asks for at most 20). */
#define TRANSCRIPT_MAX_SPEAKERS 32
/* Longest speaker name, in code points. */
#define TRANSCRIPT_NAME_MAX 80

struct transcript_word {
	double start, end;
	double confidence;
	char *text; /* owned */
};

struct transcript_segment {
	double start, end;
	double confidence;
	char *text;	   /* owned */
	size_t first_word; /* index into words[] */
	size_t nwords;	   /* 0 when the engine gave no word times */
	size_t speaker;	   /* 1-based index into speakers[]; 0 = not known */
	bool edited;	   /* its text was changed by a person */
};

/*
 * Who speaks. A speaker's number n gives its stable id "S<n>" and its
 * label "Speaker <n>"; numbers stay when others are merged away.
 */
struct transcript_speaker {
	unsigned number; /* 1..999 */
	char *name;	 /* owned; NULL until a person names the speaker */
};

struct transcript {
	struct transcript_segment *segments;
	size_t nsegments;
	struct transcript_word *words;
	size_t nwords;
	struct transcript_speaker *speakers;
	size_t nspeakers;  /* at most TRANSCRIPT_MAX_SPEAKERS */
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

/* ---- speakers (transcript_edit.c) ---- */

/*
 * Add a speaker numbered one above the highest so far (name may be NULL).
 * Returns its 1-based index, or 0 (no memory, or TRANSCRIPT_MAX_SPEAKERS
 * reached).
 */
size_t transcript_speaker_add(struct transcript *t, const char *name);
/* The 1-based index of the speaker with id "S<n>", or 0. */
size_t transcript_speaker_find(const struct transcript *t, const char *id);
/* "S<n>" of speaker index k (1-based) into out[8]; "" when k is not a speaker. */
void transcript_speaker_id(const struct transcript *t, size_t k, char out[8]);
/* The name people see: the given name, else "Speaker <n>"; out[] of TRANSCRIPT_NAME_MAX*4+1. */
void transcript_speaker_display(const struct transcript *t, size_t k, char *out, size_t outlen);
/* Seconds of segments attributed to speaker k. */
double transcript_talk_time(const struct transcript *t, size_t k);
/* Name speaker k (NULL or "" clears the name). 0, or -1 (no memory / no such speaker). */
int transcript_speaker_rename(struct transcript *t, size_t k, const char *name);
/*
 * Every segment of speaker from goes to speaker into, and from is removed
 * (later indices shift down by one). 0, or -1 when from == into or either
 * is not a speaker.
 */
int transcript_speaker_merge(struct transcript *t, size_t from, size_t into);
/* Drop speakers no segment refers to (indices renumbered in order). */
void transcript_speakers_prune(struct transcript *t);

/* A stretch of audio in which one speaker talks (from diarization). */
struct transcript_turn {
	double start, end;
	unsigned speaker; /* 0-based cluster number */
};
/*
 * Attribute segments (and words) to speakers from turns (any order): each
 * word goes to the turn it overlaps most (the nearest turn when it overlaps
 * none); a segment whose words change speaker is split there (a lone word
 * between two of one speaker stays with them). Segments without words take
 * the turn they overlap most. Speakers are created in order of first
 * appearance, replacing any there were; no turns = no speakers. 0, or -1
 * when out of memory (t is then unchanged).
 */
int transcript_assign_turns(struct transcript *t, const struct transcript_turn *turns,
			    size_t nturns);

/* ---- edits by people (transcript_edit.c) ---- */

/*
 * Replace segment i's text. Its words become the words of the new text:
 * words that did not change keep their times and confidences; new or
 * changed words are timed between their unchanged neighbours (the
 * segment's bounds at the ends) in proportion to their length, with
 * confidence 1. The segment is marked edited. 0, or -1 (no such segment,
 * no memory: t unchanged).
 */
int transcript_set_text(struct transcript *t, size_t i, const char *text);

/*
 * True when s (UTF-8) shows nothing: it is empty or holds only white space
 * (any Unicode White_Space, such as U+00A0 or U+3000) and default-ignorable
 * code points (such as U+200B, U+200D, U+2060, U+FEFF). Invalid UTF-8 is
 * not blank. Such a segment text or speaker name would look empty.
 */
bool transcript_text_blank(const char *s);

/*
 * A deep copy of src into dst (caller frees with transcript_free). 0 or -1.
 */
int transcript_copy(struct transcript *dst, const struct transcript *src);

/*
 * JSON form (the API's and the database's):
 * {"language","duration","text",
 *  "speakers":[{"id":"S1","label":"Speaker 1","name":null|"...","talk_time_s"}],
 *  "segments":[{"id","start","end","text","confidence","speaker":"S1"|null,"edited",
 *  "words":[{"word","start","end","confidence","speaker"}]}]}
 * "label", "talk_time_s", a word's "speaker", "text" and "id" are derived:
 * from_json accepts them (of the right type) and ignores them. "speakers",
 * "speaker" and "edited" may be left out (transcripts stored before
 * speakers existed).
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
