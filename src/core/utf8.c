#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

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
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
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
