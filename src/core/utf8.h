/*
 * utf8.h — strict UTF-8 (as jansson and PostgreSQL accept it): overlong
 * forms, surrogates and values past U+10FFFF are invalid.
 */
#ifndef IAM_UTF8_H
#define IAM_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid sequence at s (1..4), or 0. s[0] != 0; a NUL ends a sequence early. */
size_t utf8_seq(const unsigned char *s);
/* Number of code points, or (size_t)-1 if s is not valid UTF-8. */
size_t utf8_len(const char *s);
/* Replace every byte that does not start a valid sequence with '?', in place. */
void utf8_sanitize(char *s);
/* A copy of s (NULL reads as "") with invalid bytes replaced by U+FFFD. Caller frees; NULL if out
 * of memory. */
char *utf8_dup_valid(const char *s);

/*
 * True if s is fit for a one-line name or title shown to other people:
 * valid UTF-8 without control characters (C0 including tab and newline,
 * DEL, C1), line/paragraph separators (U+2028, U+2029), or bidirectional
 * embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069),
 * which can make text display as something it is not. On false, *why (may
 * be NULL) gets a message for an errors[] entry (static string).
 */
bool utf8_text_ok(const char *s, const char **why);

/*
 * Fold s for comparison as an identifier: Unicode NFKC compatibility
 * normalisation plus full case folding (so fullwidth "ＡＢＣ" and "abc" are
 * the same). Returns a malloc'd NUL-terminated string (caller frees with
 * free()), or NULL if s is not valid UTF-8 or memory ran out.
 */
char *utf8_fold(const char *s);

#endif
