/*
 * intel_impl.h — what the files of src/intel share: words, stems, a
 * string-to-id table. Not part of the layer's interface.
 */
#ifndef IAM_INTEL_IMPL_H
#define IAM_INTEL_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#define INTEL_WORD_MAX 64

/*
 * The next word of *p (advanced past it) into out (lower-case ASCII; UTF-8
 * bytes kept as they are; longer words cut), its length returned; 0 at the
 * end. A word is letters, digits, bytes >= 0x80 and apostrophes inside
 * it. *brk (may be NULL) tells whether a phrase break (, ; : . ! ? ( ) " and
 * dashes) came between the previous word and this one.
 */
size_t intel_word(const char **p, char out[INTEL_WORD_MAX], bool *brk);

struct sb_stemmer;
/*
 * The Snowball stemmer for language ("de", "fr", ... as Snowball names
 * them; English when it has none for it); NULL when out of memory. Free
 * with intel_stemmer_free. (The stop list and the rules are English.)
 */
struct sb_stemmer *intel_stemmer_new(const char *language);
void intel_stemmer_free(struct sb_stemmer *s);
/* The stem of w into out (INTEL_WORD_MAX); w itself when stemming fails. */
void intel_stem(struct sb_stemmer *s, const char *w, char out[INTEL_WORD_MAX]);

/* Strings to dense ids 0, 1, 2, ... (open addressing). */
struct intel_vocab {
	char **keys;
	size_t *ids; /* slot -> id */
	size_t cap;  /* slots, a power of two */
	size_t n;    /* ids given */
	char **byid; /* id -> key (borrowed from keys) */
	size_t byid_cap;
};
/* The id of key, added when new. (size_t)-1 when out of memory. */
size_t intel_vocab_id(struct intel_vocab *v, const char *key);
/* The id of key, or (size_t)-1 when it was never added. */
size_t intel_vocab_find(const struct intel_vocab *v, const char *key);
void intel_vocab_free(struct intel_vocab *v);

/* Is w a filler or a word too common in speech to be a topic ("yeah", "thing", "going")? */
bool intel_filler(const char *w);

#endif
