#include "asr/vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr/ort.h"
#include "core/utf8.h"

#define VOCAB_MAX_BYTES (4u << 20)

struct vocab {
	char *data; /* the file, newlines turned into NULs */
	const char *piece[VOCAB_SIZE];
	unsigned char byte[VOCAB_SIZE]; /* for "<0xNN>" pieces */
	unsigned char kind[VOCAB_SIZE]; /* 0 control, 1 text, 2 byte */
};

enum { KIND_CONTROL, KIND_TEXT, KIND_BYTE };

static const char SPACE_MARK[] = "\xe2\x96\x81"; /* U+2581 */

void vocab_free(struct vocab *v)
{
	if (!v)
		return;
	free(v->data);
	free(v);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
				      : -1;
}

struct vocab *vocab_load(const char *path, const char *sha256_hex, char *err, size_t errlen)
{
	size_t len = 0;
	char *data = ort_read_model(path, sha256_hex, VOCAB_MAX_BYTES, &len, err, errlen);
	if (!data)
		return NULL;
	struct vocab *v = calloc(1, sizeof *v);
	char *text = realloc(data, len + 1);
	if (!v || !text) {
		free(v);
		free(text ? text : data);
		snprintf(err, errlen, "Out of memory.");
		return NULL;
	}
	text[len] = '\0';
	v->data = text;
	size_t id = 0;
	char *p = text;
	while (id < VOCAB_SIZE && p < text + len) {
		char *nl = memchr(p, '\n', (size_t)(text + len - p));
		if (nl)
			*nl = '\0';
		v->piece[id] = p;
		size_t n = strlen(p);
		if (id < 3 || !n || utf8_len(p) == (size_t)-1)
			v->kind[id] = KIND_CONTROL;
		else if (n == 6 && !strncmp(p, "<0x", 3) && p[5] == '>' && hexval(p[3]) >= 0 &&
			 hexval(p[4]) >= 0) {
			v->kind[id] = KIND_BYTE;
			v->byte[id] = (unsigned char)(hexval(p[3]) * 16 + hexval(p[4]));
		} else
			v->kind[id] = KIND_TEXT;
		id++;
		if (!nl)
			break;
		p = nl + 1;
	}
	if (id != VOCAB_SIZE) {
		snprintf(err, errlen, "Vocabulary %s has %zu pieces; %d are expected.", path, id,
			 VOCAB_SIZE);
		vocab_free(v);
		return NULL;
	}
	return v;
}

bool vocab_is_text(const struct vocab *v, int id)
{
	return v && id >= 0 && id < VOCAB_SIZE && v->kind[id] != KIND_CONTROL;
}

bool vocab_starts_word(const struct vocab *v, int id)
{
	if (!vocab_is_text(v, id))
		return false;
	if (v->kind[id] == KIND_BYTE)
		return v->byte[id] == ' ';
	return !strncmp(v->piece[id], SPACE_MARK, 3);
}

char *vocab_decode(const struct vocab *v, const int *ids, size_t n)
{
	size_t cap = 1;
	for (size_t i = 0; i < n; i++)
		if (vocab_is_text(v, ids[i]))
			cap += v->kind[ids[i]] == KIND_BYTE ? 1 : strlen(v->piece[ids[i]]);
	char *raw = malloc(cap);
	if (!raw)
		return NULL;
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		int id = ids[i];
		if (!vocab_is_text(v, id))
			continue;
		if (v->kind[id] == KIND_BYTE) {
			raw[len++] = (char)v->byte[id];
			continue;
		}
		for (const char *p = v->piece[id]; *p;) {
			if (!strncmp(p, SPACE_MARK, 3)) {
				raw[len++] = ' ';
				p += 3;
			} else {
				raw[len++] = *p++;
			}
		}
	}
	raw[len] = '\0';
	/* Bytes pieces can form invalid UTF-8: repair, then squeeze and trim spaces. */
	char *text = utf8_dup_valid(raw);
	free(raw);
	if (!text)
		return NULL;
	char *w = text;
	const char *r = text;
	while (*r == ' ')
		r++;
	for (; *r; r++) {
		if (*r == ' ' && (r[1] == ' ' || r[1] == '\0'))
			continue;
		*w++ = *r;
	}
	*w = '\0';
	return text;
}
