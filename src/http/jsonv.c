#include "http/jsonv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void jv_error(json_t **errors, const char *field, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!*errors)
		*errors = json_array();
	json_array_append_new(*errors, json_pack("{s:s,s:s}", "field", field, "message", msg));
}

static const char *type_name(enum jv_type t)
{
	switch (t) {
	case JV_STRING:
		return "a string";
	case JV_INT:
		return "a whole number";
	case JV_BOOL:
		return "true or false";
	case JV_OBJECT:
		return "an object";
	case JV_ARRAY:
		return "an array";
	case JV_NUMBER:
		return "a number";
	}
	return "?";
}

static bool type_ok(json_t *v, enum jv_type t)
{
	switch (t) {
	case JV_STRING:
		return json_is_string(v);
	case JV_INT:
		return json_is_integer(v);
	case JV_BOOL:
		return json_is_boolean(v);
	case JV_OBJECT:
		return json_is_object(v);
	case JV_ARRAY:
		return json_is_array(v);
	case JV_NUMBER:
		return json_is_number(v);
	}
	return false;
}

bool jv_check(json_t *obj, const struct jv_field *fields, size_t n, json_t **errors)
{
	bool ok = true;
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		bool known = false;
		for (size_t i = 0; i < n && !known; i++)
			known = strcmp(fields[i].name, key) == 0;
		if (!known) {
			jv_error(errors, key, "is not a field of this request; remove it");
			ok = false;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct jv_field *f = &fields[i];
		v = json_object_get(obj, f->name);
		if (!v || json_is_null(v)) {
			if (f->presence == JV_REQUIRED) {
				jv_error(errors, f->name, "is required");
				ok = false;
			} else if (v && f->null != JV_NULL_OK) {
				jv_error(errors, f->name, "must be %s, not null",
					 type_name(f->type));
				ok = false;
			}
			continue;
		}
		if (!type_ok(v, f->type)) {
			jv_error(errors, f->name, "must be %s", type_name(f->type));
			ok = false;
			continue;
		}
		if (f->type == JV_STRING) {
			const char *s = json_string_value(v);
			size_t len = json_string_length(v);
			size_t cps = utf8_len(s);
			if (strlen(s) != len || cps == (size_t)-1) {
				jv_error(errors, f->name,
					 "must be valid UTF-8 text without NUL characters");
				ok = false;
			} else if (f->max_len && cps > f->max_len) {
				jv_error(errors, f->name, "must be at most %zu characters",
					 f->max_len);
				ok = false;
			} else if (cps < f->min_len) {
				if (f->min_len == 1)
					jv_error(errors, f->name, "must not be empty");
				else
					jv_error(errors, f->name, "must be at least %zu characters",
						 f->min_len);
				ok = false;
			}
		}
	}
	return ok;
}

const char *jv_str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

void jv_fill(json_t *obj, const struct jv_field *fields, size_t n, void *dest)
{
	for (size_t i = 0; i < n; i++) {
		const struct jv_field *f = &fields[i];
		if (!f->dest)
			continue;
		char *at = (char *)dest + f->dest - 1;
		json_t *v = json_object_get(obj, f->name);
		if (!v || json_is_null(v) || !type_ok(v, f->type))
			continue;
		switch (f->type) {
		case JV_STRING: {
			const char *s = json_string_value(v);
			memcpy(at, &s, sizeof s);
			break;
		}
		case JV_BOOL: {
			bool b = json_is_true(v);
			memcpy(at, &b, sizeof b);
			break;
		}
		case JV_INT: {
			json_int_t x = json_integer_value(v);
			memcpy(at, &x, sizeof x);
			break;
		}
		default:
			memcpy(at, &v, sizeof v);
			break;
		}
	}
}
