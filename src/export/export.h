/*
 * export.h — render a transcript as a file people use elsewhere.
 *
 * SRT and WebVTT follow the players' rules: cue times "HH:MM:SS,mmm" (SRT)
 * / "HH:MM:SS.mmm" (VTT), cues in order and not overlapping, at most 2 lines
 * of at most EXPORT_LINE_MAX characters (code points, not bytes), at most
 * EXPORT_CUE_MAX_S seconds per cue. A cue runs from its first word's start
 * to its last word's end (in proportion to text length when the engine gave
 * no word times). Cues and lines break at sentence ends (. ? !) first, then
 * at clause ends (, ; : dashes), then between other words, and leave no
 * word alone on a line or in a cue where a better break exists. A cue never
 * spans two speakers: WebVTT cues carry a voice span "<v Name>", SRT cues
 * start with "Name: " where the speaker changes, and TXT paragraphs read
 * "[HH:MM:SS] Name: text" (the name people gave, else "Speaker N"). Text keeps
 * the engine's casing and punctuation in every format. Output is UTF-8 with
 * "\n" line ends.
 */
#ifndef IAM_EXPORT_H
#define IAM_EXPORT_H

#include <stddef.h>

#include "core/transcript.h"

#define EXPORT_LINE_MAX	 42
#define EXPORT_CUE_MAX_S 7.0

enum export_format { EXPORT_TXT = 1, EXPORT_SRT, EXPORT_VTT, EXPORT_JSON, EXPORT_DOCX, EXPORT_PDF };

/* "txt" -> EXPORT_TXT ... (any case); 0 if unknown. */
enum export_format export_parse(const char *name);
const char *export_mime(enum export_format f);	    /* "text/plain; charset=utf-8" ... */
const char *export_extension(enum export_format f); /* "txt", "srt", "vtt", "json", "docx", "pdf" */
/* (Both NULL for a format that is not one of the above.) */

/*
 * Render t. Returns a malloc'd NUL-terminated buffer (caller frees) and its
 * length in *len, or NULL when out of memory (or f is unknown). title may
 * be NULL (used in TXT's heading and the JSON "title" field). t NULL renders
 * as an empty transcript. DOCX and PDF are binary (the NUL after them is
 * not part of the file); they are rendered as export_render_doc with only
 * the title.
 */
char *export_render(const struct transcript *t, enum export_format f, const char *title,
		    size_t *len);

/*
 * Documents for people (DOCX: docx.c, PDF: pdf.c). Both show the title, the
 * date, the participants (speaker names), the summary and the action items
 * and decisions when insights are given, then the transcript: one paragraph
 * per segment with its time and speaker name. DOCX is OOXML (WordprocessingML
 * in a zip); PDF is laid out with pango on cairo pages (A4, page numbers,
 * the title at the top of every page, any script pango can shape).
 */
struct export_doc {
	const char *title; /* NULL or "": "Transcript" */
	long long date_ms; /* Unix ms of the meeting, 0 = none */
	const json_t
	    *insights; /* intel_analyze's document (summary, action_items, decisions) or NULL */
};
/* Same contract as export_render; f is EXPORT_DOCX or EXPORT_PDF (else NULL). */
char *export_render_doc(const struct transcript *t, enum export_format f,
			const struct export_doc *doc, size_t *len);

/* ---- shared by docx.c and pdf.c (export.c) ---- */

/* Speaker k's name as shown (valid UTF-8, one line) into out; "" when none. */
void export_speaker_name(const struct transcript *t, size_t k, char *out, size_t outlen);
/* "HH:MM:SS" of seconds into out[16]. */
void export_clock(double seconds, char out[16]);
/* "30 November 2026" (UTC) of Unix ms into out[40]; "" for 0. */
void export_date(long long ms, char out[40]);
/* Segment indices in order of start time (caller frees), NULL when none or out of memory. */
size_t *export_segment_order(const struct transcript *t);
char *export_render_docx(const struct transcript *t, const struct export_doc *doc, size_t *len);
char *export_render_pdf(const struct transcript *t, const struct export_doc *doc, size_t *len);

/*
 * Release the font caches cairo and fontconfig keep for the whole process
 * (pdf.c), so that a leak checker sees only real leaks. Only when nothing
 * renders any more (at exit, after the HTTP server stopped).
 */
void export_shutdown(void);

#endif
