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

enum export_format { EXPORT_TXT = 1, EXPORT_SRT, EXPORT_VTT, EXPORT_JSON };

/* "txt" -> EXPORT_TXT ... (any case); 0 if unknown. */
enum export_format export_parse(const char *name);
const char *export_mime(enum export_format f);	    /* "text/plain; charset=utf-8" ... */
const char *export_extension(enum export_format f); /* "txt", "srt", "vtt", "json" */
/* (Both NULL for a format that is not one of the above.) */

/*
 * Render t. Returns a malloc'd NUL-terminated buffer (caller frees) and its
 * length in *len, or NULL when out of memory (or f is unknown). title may
 * be NULL (used in TXT's heading and the JSON "title" field). t NULL renders
 * as an empty transcript.
 */
char *export_render(const struct transcript *t, enum export_format f, const char *title,
		    size_t *len);

#endif
