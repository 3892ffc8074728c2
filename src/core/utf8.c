#include "core/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>

size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (c == 0xe0)
			lo = 0xa0;
		if (c == 0xed)
			hi = 0x9f;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80
			   ? 4
			   : 0;
	}
	return 0;
}

size_t utf8_len(const char *s)
{
	size_t n = 0, k;
	for (const unsigned char *p = (const unsigned char *)s; *p; p += k, n++)
		if (!(k = utf8_seq(p)))
			return (size_t)-1;
	return n;
}

void utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		size_t k = utf8_seq(p);
		if (k)
			p += k;
		else
			*p++ = '?';
	}
}

char *utf8_dup_valid(const char *s)
{
	static const char repl[] = "\xef\xbf\xbd";
	const unsigned char *p;
	size_t n = 0, k;
	if (!s)
		s = "";
	for (p = (const unsigned char *)s; *p; p += k) {
		k = utf8_seq(p);
		n += k ? k : 3;
		if (!k)
			k = 1;
	}
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (p = (const unsigned char *)s; *p; p += k) {
		k = utf8_seq(p);
		memcpy(o, k ? (const char *)p : repl, k ? k : 3);
		o += k ? k : 3;
		if (!k)
			k = 1;
	}
	*o = '\0';
	return out;
}

/* The code point of the valid sequence of length k at p. */
static uint32_t utf8_code(const unsigned char *p, size_t k)
{
	switch (k) {
	case 1:
		return p[0];
	case 2:
		return (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	case 3:
		return (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
	default:
		return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
		       (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	}
}

bool utf8_text_ok(const char *s, const char **why)
{
	const char *reason = NULL;
	size_t k;
	for (const unsigned char *p = (const unsigned char *)s; *p; p += k) {
		k = utf8_seq(p);
		if (!k) {
			reason = "must be valid UTF-8";
			break;
		}
		uint32_t cp = utf8_code(p, k);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029) {
			reason = "must not contain control characters (such as ESC, BEL, tab or a "
				 "line break)";
			break;
		}
		if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
			reason = "must not contain bidirectional override or isolate characters "
				 "(U+202A..U+202E, U+2066..U+2069)";
			break;
		}
	}
	if (why)
		*why = reason;
	return reason == NULL;
}

char *utf8_fold(const char *s)
{
	size_t n = strlen(s), outlen = 0;
	if (utf8_len(s) == (size_t)-1)
		return NULL;
	/* libunistring: case folding, then NFKC of the result, into a fresh buffer. */
	uint8_t *folded = u8_casefold((const uint8_t *)s, n, NULL, UNINORM_NFKC, NULL, &outlen);
	if (!folded)
		return NULL;
	char *out = malloc(outlen + 1);
	if (out) {
		memcpy(out, folded, outlen);
		out[outlen] = '\0';
	}
	free(folded);
	/* An embedded NUL cannot come out of a NUL-free input, but do not trust it. */
	if (out && strlen(out) != outlen) {
		free(out);
		out = NULL;
	}
	return out;
}
