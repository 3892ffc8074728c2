/*
 * vocab.h — the SentencePiece vocabulary Moonshine speaks (the 32000 LLaMA
 * pieces), for turning token ids back into text.
 *
 * The file has one piece per line in id order. In a piece, "▁" (U+2581) is
 * a space and "<0xNN>" is one raw byte (so text in any script survives);
 * ids 0-2 (<unk>, <s>, </s>) and ids outside the file are not text.
 */
#ifndef IAM_VOCAB_H
#define IAM_VOCAB_H

#include <stdbool.h>
#include <stddef.h>

#define VOCAB_SIZE 32000

struct vocab;
/* Load and check (SHA-256; NULL skips) the file. NULL with err. Free with vocab_free. */
struct vocab *vocab_load(const char *path, const char *sha256_hex, char *err, size_t errlen);
void vocab_free(struct vocab *v); /* NULL is a no-op */

/* Whether id is a piece of text (not a control token or out of range). */
bool vocab_is_text(const struct vocab *v, int id);
/* Whether id's piece begins a new word (starts with "▁"). */
bool vocab_starts_word(const struct vocab *v, int id);
/*
 * The text of ids[0..n): pieces joined, "▁" as spaces, byte pieces as
 * bytes, non-text ids skipped, spaces at both ends trimmed, runs of spaces
 * kept as one, invalid UTF-8 replaced by U+FFFD. Caller frees; NULL when out
 * of memory.
 */
char *vocab_decode(const struct vocab *v, const int *ids, size_t n);

#endif
