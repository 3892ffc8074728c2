/*
 * router.h — the route table: METHOD + pattern ("/api/v1/api-keys/{id}")
 * to a handler. Patterns are literal segments and {name} parameters; a
 * parameter named "id" or ending in "_id" must be a UUID. A trailing slash
 * on the request path is ignored. HEAD matches GET routes.
 *
 * Matching reports, in this order: no route has this path shape (404);
 * some do but not for this method (405, with the allowed set); a UUID
 * parameter is malformed (400); found.
 */
#ifndef IAM_ROUTER_H
#define IAM_ROUTER_H

#include <stddef.h>

#define ROUTER_MAX_PARAMS   4
#define ROUTER_MAX_SEGMENTS 16
#define ROUTER_PARAM_MAX    256

enum http_method_bit {
	M_GET = 1 << 0,
	M_HEAD = 1 << 1,
	M_POST = 1 << 2,
	M_PUT = 1 << 3,
	M_PATCH = 1 << 4,
	M_DELETE = 1 << 5,
	M_OPTIONS = 1 << 6,
};

/* "GET" -> M_GET, unknown -> 0. */
int http_method_parse(const char *m);
/* Write "GET, PUT" for a mask into out. */
void http_methods_format(int mask, char *out, size_t outlen);

struct route; /* defined by http.h; the router only stores pointers */

struct route_match {
	const struct route *route;
	int allowed; /* methods allowed on this path (405 / CORS preflight) */
	int nparams;
	struct {
		char name[32];
		char value[ROUTER_PARAM_MAX];
	} params[ROUTER_MAX_PARAMS];
	char bad_param[64]; /* name of the malformed parameter */
};

enum router_rc { ROUTER_FOUND = 0, ROUTER_NOT_FOUND, ROUTER_METHOD_NOT_ALLOWED, ROUTER_BAD_PARAM };

struct router;
struct router *router_new(void); /* caller frees with router_free */
void router_free(struct router *rt);
/*
 * Add a route. method is one M_* bit; pattern and route must outlive the
 * router (use static tables). Returns 0, or -1 on a malformed pattern.
 */
int router_add(struct router *rt, int method, const char *pattern, const struct route *route);
int router_match(const struct router *rt, int method, const char *path, struct route_match *m);
/* The pattern a route was added with (for metrics labels). */
const char *router_pattern(const struct router *rt, const struct route *route);

#endif
