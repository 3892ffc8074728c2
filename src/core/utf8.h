/*
 * utf8.h — strict UTF-8 (as jansson and PostgreSQL accept it): overlong
 * forms, surrogates and values past U+10FFFF are invalid.
 */
#ifndef IAM_UTF8_H
#define IAM_UTF8_H

#include <stddef.h>

/* Length of the valid sequence at s (1..4), or 0. s[0] != 0; a NUL ends a sequence early. */
size_t utf8_seq(const unsigned char *s);
/* Number of code points, or (size_t)-1 if s is not valid UTF-8. */
size_t utf8_len(const char *s);
/* Replace every byte that does not start a valid sequence with '?', in place. */
void utf8_sanitize(char *s);
/* A copy of s (NULL reads as "") with invalid bytes replaced by U+FFFD. Caller frees; NULL if out of memory. */
char *utf8_dup_valid(const char *s);

#endif
