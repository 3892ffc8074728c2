/*
 * ort.c — ONNX Runtime through dlopen and the OrtApi function table.
 *
 * The table (struct OrtApi in onnxruntime_c_api.h) is a list of function
 * pointers whose order is part of ONNX Runtime's ABI: new entries are only
 * appended. We read the entries we use by their position. Every entry that
 * can fail returns an OrtStatus* (NULL on success) that we turn into a
 * message and release.
 */
#include "asr/ort.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.h"

typedef void (*ort_fn)(void);
typedef struct OrtStatus OrtStatus;
typedef struct OrtEnv OrtEnv;
typedef struct OrtSession OrtSession;
typedef struct OrtSessionOptions OrtSessionOptions;
typedef struct OrtValue OrtValue;
typedef struct OrtAllocator OrtAllocator;
typedef struct OrtTensorTypeAndShapeInfo OrtTensorTypeAndShapeInfo;

/* Positions in struct OrtApi (0-based), from the published C API. */
enum {
	ORT_GetErrorMessage = 2,
	ORT_CreateEnv = 3,
	ORT_CreateSessionFromArray = 8,
	ORT_Run = 9,
	ORT_CreateSessionOptions = 10,
	ORT_SetSessionGraphOptimizationLevel = 23,
	ORT_SetIntraOpNumThreads = 24,
	ORT_SetInterOpNumThreads = 25,
	ORT_SessionGetInputCount = 30,
	ORT_SessionGetOutputCount = 31,
	ORT_SessionGetInputName = 36,
	ORT_SessionGetOutputName = 37,
	ORT_CreateTensorAsOrtValue = 48,
	ORT_GetTensorMutableData = 51,
	ORT_GetDimensionsCount = 61,
	ORT_GetDimensions = 62,
	ORT_GetTensorShapeElementCount = 64,
	ORT_GetTensorTypeAndShape = 65,
	ORT_AllocatorFree = 76,
	ORT_GetAllocatorWithDefaultOptions = 78,
	ORT_ReleaseEnv = 92,
	ORT_ReleaseStatus = 93,
	ORT_ReleaseSession = 95,
	ORT_ReleaseValue = 96,
	ORT_ReleaseTensorTypeAndShapeInfo = 99,
	ORT_ReleaseSessionOptions = 100,
};

struct ort_api_base {
	const void *(*get_api)(uint32_t version);
	const char *(*get_version_string)(void);
};

static struct {
	pthread_once_t once;
	int rc;
	char err[1024];
	char path[512];
	void *lib;
	const ort_fn *api;
	const char *version;
	OrtEnv *env;
	OrtAllocator *alloc;
} g = {.once = PTHREAD_ONCE_INIT};

#define FN(idx, type) ((type)g.api[idx])

/* Turn a status into err (when it is an error) and release it. 0 or -1. */
static int check(OrtStatus *st, const char *what, char *err, size_t errlen)
{
	if (!st)
		return 0;
	const char *msg = FN(ORT_GetErrorMessage, const char *(*)(const OrtStatus *))(st);
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what, msg ? msg : "unknown ONNX Runtime error");
	FN(ORT_ReleaseStatus, void (*)(OrtStatus *))(st);
	return -1;
}

static void load(void)
{
	const char *path = g.path[0] ? g.path : "libonnxruntime.so.1";
	g.rc = -1;
	g.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!g.lib) {
		const char *why = dlerror();
		snprintf(g.err, sizeof g.err,
			 "ONNX Runtime library %.400s cannot be loaded (%.400s)", path,
			 why ? why : "unknown error");
		return;
	}
	const struct ort_api_base *(*get_base)(void) = NULL;
	*(void **)&get_base = dlsym(g.lib, "OrtGetApiBase");
	const struct ort_api_base *base = get_base ? get_base() : NULL;
	if (!base || !base->get_api) {
		snprintf(g.err, sizeof g.err, "%.400s is not ONNX Runtime (no OrtGetApiBase)",
			 path);
		return;
	}
	g.version = base->get_version_string ? base->get_version_string() : "?";
	g.api = base->get_api(ORT_MIN_API);
	if (!g.api) {
		snprintf(
		    g.err, sizeof g.err,
		    "ONNX Runtime %.32s in %.400s is too old: API version %d or newer is needed",
		    g.version, path, ORT_MIN_API);
		return;
	}
	/* Errors only: ONNX Runtime's own log lines are not JSON. 3 = ORT_LOGGING_LEVEL_ERROR. */
	if (check(
		FN(ORT_CreateEnv, OrtStatus * (*)(int, const char *, OrtEnv **))(3, "iamd", &g.env),
		"CreateEnv", g.err, sizeof g.err))
		return;
	if (check(
		FN(ORT_GetAllocatorWithDefaultOptions, OrtStatus * (*)(OrtAllocator **))(&g.alloc),
		"GetAllocatorWithDefaultOptions", g.err, sizeof g.err))
		return;
	g.rc = 0;
}

int ort_init(const char *path, char *err, size_t errlen)
{
	/* The path of the first call wins; pthread_once makes the load happen once. */
	static pthread_mutex_t path_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&path_lock);
	if (!g.path[0] && path && *path)
		snprintf(g.path, sizeof g.path, "%s", path);
	pthread_mutex_unlock(&path_lock);
	pthread_once(&g.once, load);
	if (g.rc && err && errlen)
		snprintf(err, errlen, "%s", g.err);
	return g.rc;
}

const char *ort_version(void)
{
	return g.rc == 0 && g.api ? g.version : NULL;
}

struct ort_session {
	OrtSession *s;
	char **inputs, **outputs;
	size_t nin, nout;
};

static void free_names(char **names, size_t n)
{
	if (!names)
		return;
	/* Through a named pointer: clang-format 14 has no stable layout for FN(...)(args). */
	OrtStatus *(*allocator_free)(OrtAllocator *, void *) =
	    FN(ORT_AllocatorFree, OrtStatus * (*)(OrtAllocator *, void *));
	for (size_t i = 0; i < n; i++)
		if (names[i])
			allocator_free(g.alloc, names[i]);
	free(names);
}

void ort_session_free(struct ort_session *s)
{
	if (!s)
		return;
	free_names(s->inputs, s->nin);
	free_names(s->outputs, s->nout);
	if (s->s)
		FN(ORT_ReleaseSession, void (*)(OrtSession *))(s->s);
	free(s);
}

/* Read the model's input (out=0) or output (out=1) names. 0 or -1. */
static int read_names(struct ort_session *s, int out, char *err, size_t errlen)
{
	size_t n = 0;
	typedef OrtStatus *(*count_fn)(const OrtSession *, size_t *);
	typedef OrtStatus *(*name_fn)(const OrtSession *, size_t, OrtAllocator *, char **);
	if (check(
		FN(out ? ORT_SessionGetOutputCount : ORT_SessionGetInputCount, count_fn)(s->s, &n),
		"SessionGetCount", err, errlen))
		return -1;
	if (n > 256) {
		snprintf(err, errlen, "The model has %zu %s; at most 256 are expected.", n,
			 out ? "outputs" : "inputs");
		return -1;
	}
	char **names = calloc(n ? n : 1, sizeof *names);
	if (!names) {
		snprintf(err, errlen, "Out of memory.");
		return -1;
	}
	if (out) {
		s->outputs = names;
		s->nout = n;
	} else {
		s->inputs = names;
		s->nin = n;
	}
	for (size_t i = 0; i < n; i++)
		if (check(FN(out ? ORT_SessionGetOutputName : ORT_SessionGetInputName,
			     name_fn)(s->s, i, g.alloc, &names[i]),
			  "SessionGetName", err, errlen))
			return -1;
	return 0;
}

struct ort_session *ort_session_new(const void *model, size_t len, int threads, char *err,
				    size_t errlen)
{
	if (ort_init(NULL, err, errlen))
		return NULL;
	struct ort_session *s = calloc(1, sizeof *s);
	OrtSessionOptions *o = NULL;
	if (!s) {
		snprintf(err, errlen, "Out of memory.");
		return NULL;
	}
	typedef OrtStatus *(*opt_int_fn)(OrtSessionOptions *, int);
	if (check(FN(ORT_CreateSessionOptions, OrtStatus * (*)(OrtSessionOptions **))(&o),
		  "CreateSessionOptions", err, errlen) ||
	    check(FN(ORT_SetIntraOpNumThreads, opt_int_fn)(o, threads > 0 ? threads : 1),
		  "SetIntraOpNumThreads", err, errlen) ||
	    check(FN(ORT_SetInterOpNumThreads, opt_int_fn)(o, 1), "SetInterOpNumThreads", err,
		  errlen) ||
	    /* 99 = ORT_ENABLE_ALL */
	    check(FN(ORT_SetSessionGraphOptimizationLevel, opt_int_fn)(o, 99),
		  "SetSessionGraphOptimizationLevel", err, errlen))
		goto fail;
	typedef OrtStatus *(*create_fn)(const OrtEnv *, const void *, size_t,
					const OrtSessionOptions *, OrtSession **);
	if (check(FN(ORT_CreateSessionFromArray, create_fn)(g.env, model, len, o, &s->s),
		  "The model could not be loaded", err, errlen))
		goto fail;
	if (read_names(s, 0, err, errlen) || read_names(s, 1, err, errlen))
		goto fail;
	FN(ORT_ReleaseSessionOptions, void (*)(OrtSessionOptions *))(o);
	return s;
fail:
	if (o)
		FN(ORT_ReleaseSessionOptions, void (*)(OrtSessionOptions *))(o);
	ort_session_free(s);
	return NULL;
}

size_t ort_session_ninputs(const struct ort_session *s)
{
	return s ? s->nin : 0;
}
size_t ort_session_noutputs(const struct ort_session *s)
{
	return s ? s->nout : 0;
}
const char *ort_session_input(const struct ort_session *s, size_t i)
{
	return s && i < s->nin ? s->inputs[i] : NULL;
}
const char *ort_session_output(const struct ort_session *s, size_t i)
{
	return s && i < s->nout ? s->outputs[i] : NULL;
}

static size_t type_size(enum ort_type t)
{
	switch (t) {
	case ORT_FLOAT:
		return 4;
	case ORT_INT64:
		return 8;
	case ORT_BOOL:
		return 1;
	}
	return 0;
}

struct ort_value *ort_tensor_new(enum ort_type type, const int64_t *shape, size_t ndim)
{
	if (g.rc || !g.api || ndim > ORT_MAX_DIMS || !type_size(type))
		return NULL;
	int64_t count = 1;
	for (size_t i = 0; i < ndim; i++) {
		if (shape[i] < 0 || (shape[i] && count > INT64_MAX / 16 / shape[i]))
			return NULL;
		count *= shape[i];
	}
	OrtValue *v = NULL;
	typedef OrtStatus *(*mk_fn)(OrtAllocator *, const int64_t *, size_t, int, OrtValue **);
	if (check(FN(ORT_CreateTensorAsOrtValue, mk_fn)(g.alloc, shape, ndim, (int)type, &v),
		  "CreateTensor", NULL, 0))
		return NULL;
	void *data = NULL;
	if (count > 0) {
		if (check(FN(ORT_GetTensorMutableData, OrtStatus * (*)(OrtValue *, void **))(v,
											     &data),
			  "GetTensorMutableData", NULL, 0) ||
		    !data) {
			FN(ORT_ReleaseValue, void (*)(OrtValue *))(v);
			return NULL;
		}
		memset(data, 0, (size_t)count * type_size(type));
	}
	return (struct ort_value *)v;
}

void ort_value_free(struct ort_value *v)
{
	if (v && g.api)
		FN(ORT_ReleaseValue, void (*)(OrtValue *))((OrtValue *)v);
}

void *ort_tensor_data(struct ort_value *v)
{
	void *data = NULL;
	if (!v || check(FN(ORT_GetTensorMutableData,
			   OrtStatus * (*)(OrtValue *, void **))((OrtValue *)v, &data),
			"GetTensorMutableData", NULL, 0))
		return NULL;
	return data;
}

/* Shape info of v (caller releases), or NULL. */
static OrtTensorTypeAndShapeInfo *shape_info(const struct ort_value *v)
{
	OrtTensorTypeAndShapeInfo *info = NULL;
	typedef OrtStatus *(*ts_fn)(const OrtValue *, OrtTensorTypeAndShapeInfo **);
	if (!v || check(FN(ORT_GetTensorTypeAndShape, ts_fn)((const OrtValue *)v, &info),
			"GetTensorTypeAndShape", NULL, 0))
		return NULL;
	return info;
}

int ort_tensor_shape(const struct ort_value *v, int64_t *shape, size_t max)
{
	OrtTensorTypeAndShapeInfo *info = shape_info(v);
	if (!info)
		return -1;
	size_t n = 0;
	int64_t dims[ORT_MAX_DIMS];
	int rc = -1;
	typedef OrtStatus *(*cnt_fn)(const OrtTensorTypeAndShapeInfo *, size_t *);
	typedef OrtStatus *(*dims_fn)(const OrtTensorTypeAndShapeInfo *, int64_t *, size_t);
	if (!check(FN(ORT_GetDimensionsCount, cnt_fn)(info, &n), "GetDimensionsCount", NULL, 0) &&
	    n <= ORT_MAX_DIMS &&
	    !check(FN(ORT_GetDimensions, dims_fn)(info, dims, n), "GetDimensions", NULL, 0)) {
		for (size_t i = 0; i < n && i < max; i++)
			shape[i] = dims[i];
		rc = (int)n;
	}
	FN(ORT_ReleaseTensorTypeAndShapeInfo, void (*)(OrtTensorTypeAndShapeInfo *))(info);
	return rc;
}

int64_t ort_tensor_count(const struct ort_value *v)
{
	OrtTensorTypeAndShapeInfo *info = shape_info(v);
	if (!info)
		return -1;
	size_t n = 0;
	typedef OrtStatus *(*cnt_fn)(const OrtTensorTypeAndShapeInfo *, size_t *);
	int bad =
	    check(FN(ORT_GetTensorShapeElementCount, cnt_fn)(info, &n), "ElementCount", NULL, 0);
	FN(ORT_ReleaseTensorTypeAndShapeInfo, void (*)(OrtTensorTypeAndShapeInfo *))(info);
	return bad ? -1 : (int64_t)n;
}

int ort_run(struct ort_session *s, const char *const *in_names, struct ort_value *const *in,
	    size_t nin, const char *const *out_names, struct ort_value **out, size_t nout,
	    char *err, size_t errlen)
{
	for (size_t i = 0; i < nout; i++)
		out[i] = NULL;
	if (!s || !s->s) {
		snprintf(err, errlen, "No model session.");
		return -1;
	}
	typedef OrtStatus *(*run_fn)(OrtSession *, const void *, const char *const *,
				     const OrtValue *const *, size_t, const char *const *, size_t,
				     OrtValue **);
	return check(FN(ORT_Run, run_fn)(s->s, NULL, in_names, (const OrtValue *const *)in, nin,
					 out_names, nout, (OrtValue **)out),
		     "Inference failed", err, errlen);
}

void *ort_read_model(const char *path, const char *want_hex, size_t max_bytes, size_t *len,
		     char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	*len = 0;
	if (fd < 0) {
		snprintf(err, errlen, "Model file %s cannot be opened (%s).", path,
			 strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "Model file %s is not a regular file.", path);
		goto fail;
	}
	if (st.st_size <= 0 || (unsigned long long)st.st_size > max_bytes) {
		snprintf(err, errlen, "Model file %s has an unexpected size (%lld bytes).", path,
			 (long long)st.st_size);
		goto fail;
	}
	size_t n = (size_t)st.st_size, got = 0;
	buf = malloc(n);
	if (!buf) {
		snprintf(err, errlen, "Out of memory reading %s.", path);
		goto fail;
	}
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "Model file %s could not be read.", path);
			goto fail;
		}
		got += (size_t)r;
	}
	if (want_hex) {
		char hex[65];
		crypto_sha256_hex(buf, n, hex);
		if (strcasecmp(hex, want_hex) != 0) {
			snprintf(
			    err, errlen,
			    "Model file %s is corrupt or of another version (SHA-256 %.12s..., "
			    "expected %.12s...); run scripts/install-deps again.",
			    path, hex, want_hex);
			goto fail;
		}
	}
	close(fd);
	*len = n;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}
