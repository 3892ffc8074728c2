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
#include <string.h>

#include "core/utf8.h"

#include "core/macros.h" /* ARRAY_LEN */

enum jv_type { JV_STRING = 1, JV_INT, JV_BOOL, JV_OBJECT, JV_ARRAY, JV_NUMBER };
enum jv_presence { JV_OPTIONAL = 0, JV_REQUIRED };
enum jv_null {
	JV_NULL_REFUSED = 0,
	JV_NULL_OK
}; /* null is "not given" unless the handler decides */

/*
 * One field, with designated initialisers:
 *   {.name = "email", .type = JV_STRING, .presence = JV_REQUIRED, .min_len = 1,
 *    .dest = JV_DEST(struct login_in, email)}
 */
struct jv_field {
	const char *name;
	enum jv_type type;
	enum jv_presence presence;
	enum jv_null null;
	size_t min_len; /* strings: code points, after trimming nothing */
	size_t max_len; /* strings: code points; 0 = no limit */
	/*
	 * Where jv_fill stores the value in the destination struct (JV_DEST;
	 * 0 = nowhere): JV_STRING a const char * (into the JSON object), JV_BOOL
	 * a bool (true only for true), JV_INT a json_int_t (0 when absent), the
	 * other types a json_t * (borrowed). Absent, null or mistyped values
	 * leave the destination zero.
	 */
	size_t dest;
};
#define JV_DEST(type, member) (offsetof(type, member) + 1)

enum jv_empty { JV_EMPTY_REFUSED = 0, JV_EMPTY_OK }; /* an empty body parses as {} */

/* A JSON request body: the fields of its object and where they go. */
struct jv_spec {
	const struct jv_field *fields;
	size_t nfields;
	enum jv_empty empty;
};
/* .fields and .nfields of a spec from a static array of fields. */
#define JV_FIELDS(arr) .fields = (arr), .nfields = ARRAY_LEN(arr)

/* Store the values of obj into dest (a struct) as the fields' dest say. */
void jv_fill(json_t *obj, const struct jv_field *fields, size_t n, void *dest);

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
