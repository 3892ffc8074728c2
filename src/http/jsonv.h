/*
 * jsonv.h — validate a JSON request object against a field list and
 * collect every problem at once as [{field, message}], so a client can
 * fix a whole form in one round trip.
 */
#ifndef IAM_JSONV_H
#define IAM_JSONV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/utf8.h"

enum jv_type { JV_STRING = 1, JV_INT, JV_BOOL, JV_OBJECT, JV_ARRAY, JV_NUMBER };

struct jv_field {
	const char *name;
	enum jv_type type;
	bool required;
	bool nullable;  /* null accepted (treated as "not given" unless the handler decides) */
	size_t min_len; /* strings: code points, after trimming nothing */
	size_t max_len; /* strings: code points; 0 = no limit */
};

/*
 * Check obj: unknown keys, missing required keys, wrong types, string
 * lengths, invalid UTF-8. Appends to *errors (created on first error).
 * Returns true if obj passed.
 */
bool jv_check(json_t *obj, const struct jv_field *fields, size_t n, json_t **errors);

/* Append {field, message} to *errors (created if NULL). */
void jv_error(json_t **errors, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* String value of key, or NULL when absent or null. */
const char *jv_str(json_t *obj, const char *key);

#endif
