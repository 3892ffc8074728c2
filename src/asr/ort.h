/*
 * ort.h — our own small binding to ONNX Runtime's C API.
 *
 * No package here carries onnxruntime_c_api.h, so ort.c loads
 * libonnxruntime.so.1 with dlopen, calls OrtGetApiBase, and reads only the
 * entries of the OrtApi function table that we use, at the positions the
 * published C API gives them (the table only ever grows at its end, so the
 * positions hold for every version >= ORT_MIN_API). A unit test loads the
 * real models and runs them, so a wrong declaration fails loudly.
 *
 * Everything here is thread-safe: one session may be run from several
 * threads at once (ONNX Runtime allows concurrent Run calls).
 */
#ifndef IAM_ORT_H
#define IAM_ORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ORT_MIN_API  16 /* ONNX Runtime 1.16 or newer */
#define ORT_MAX_DIMS 8

enum ort_type { ORT_FLOAT = 1, ORT_INT64 = 7, ORT_BOOL = 9 };

/*
 * Load the library once per process (later calls return the first result).
 * path NULL or "" means "libonnxruntime.so.1" from the loader's path.
 * 0, or -1 with err (a sentence naming the file and what is wrong).
 */
int ort_init(const char *path, char *err, size_t errlen);
/* The loaded runtime's version ("1.22.0"), or NULL before a successful ort_init. */
const char *ort_version(void);

struct ort_session;
/*
 * A session over an ONNX model held in memory (the bytes are not kept; the
 * caller may free them on return). threads: intra-op threads per Run (1 is
 * best for one job per core). Returns NULL with err. Free with
 * ort_session_free.
 */
struct ort_session *ort_session_new(const void *model, size_t len, int threads, char *err,
				    size_t errlen);
void ort_session_free(struct ort_session *s); /* NULL is a no-op */
/* Input / output names as the model declares them (owned by the session). */
size_t ort_session_ninputs(const struct ort_session *s);
size_t ort_session_noutputs(const struct ort_session *s);
const char *ort_session_input(const struct ort_session *s, size_t i);
const char *ort_session_output(const struct ort_session *s, size_t i);

/* A tensor (an OrtValue). Free with ort_value_free; NULL is a no-op. */
struct ort_value;
/* A new zero-filled tensor that owns its memory; NULL when out of memory or shape is bad. */
struct ort_value *ort_tensor_new(enum ort_type type, const int64_t *shape, size_t ndim);
void ort_value_free(struct ort_value *v);
/* The tensor's elements (valid until ort_value_free), or NULL. */
void *ort_tensor_data(struct ort_value *v);
/* Its shape: number of dims (<= max written to shape), or -1. */
int ort_tensor_shape(const struct ort_value *v, int64_t *shape, size_t max);
/* Number of elements, or -1. */
int64_t ort_tensor_count(const struct ort_value *v);

/*
 * Run the model: inputs by name, outputs by name. out[i] are new values the
 * caller frees (left NULL on failure). 0, or -1 with err.
 */
int ort_run(struct ort_session *s, const char *const *in_names, struct ort_value *const *in,
	    size_t nin, const char *const *out_names, struct ort_value **out, size_t nout,
	    char *err, size_t errlen);

/*
 * Read a whole model file and check its SHA-256 against want_hex (64 hex
 * characters; NULL skips the check). Returns the bytes (caller frees) and
 * their length, or NULL with err saying what is missing or wrong.
 * At most max_bytes are accepted.
 */
void *ort_read_model(const char *path, const char *want_hex, size_t max_bytes, size_t *len,
		     char *err, size_t errlen);

#endif
