/*
 * Unit tests for http/router: literal and {param} segments, literal beats
 * parameter, 404 / 405 / 400 in that order, HEAD implied by GET, trailing
 * slashes, empty segments, UUID parameters, limits and malformed patterns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "http/router.h"

#define V7_ID  "0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e10"
#define V7_ID2 "0192f0c1-7b1f-7000-8000-000000000001"

static void h_dummy(struct http_req *r)
{
	(void)r;
}

/* Routes only need distinct addresses; the router never calls handlers. */
static const struct route R_HEALTH = {M_GET, "/health", h_dummy, BODY_NONE};
static const struct route R_ITEMS_GET = {M_GET, "/items", h_dummy, BODY_NONE};
static const struct route R_ITEMS_POST = {M_POST, "/items", h_dummy, BODY_JSON};
static const struct route R_ITEM_GET = {M_GET, "/items/{id}", h_dummy, BODY_NONE};
static const struct route R_ITEM_DELETE = {M_DELETE, "/items/{id}", h_dummy, BODY_NONE};
static const struct route R_SEARCH = {M_GET, "/items/search", h_dummy, BODY_NONE};

/*
 * Routers made by a test are freed by its teardown, so a failing assertion
 * (which leaves the test at once) leaks nothing under ASan.
 */
#define MAX_ROUTERS 8
static struct router *g_routers[MAX_ROUTERS];
static int g_nrouters;

static struct router *new_router(void)
{
	struct router *rt = router_new();
	assert_non_null(rt);
	assert_true(g_nrouters < MAX_ROUTERS);
	g_routers[g_nrouters++] = rt;
	return rt;
}

static int free_routers(void **state)
{
	while (g_nrouters > 0)
		router_free(g_routers[--g_nrouters]);
	return 0;
}

static void add(struct router *rt, const struct route *r)
{
	assert_int_equal(router_add(rt, r->method, r->pattern, r), 0);
}

/* ---------- methods ---------- */

static void test_method_parse(void **state)
{
	assert_int_equal(http_method_parse("GET"), M_GET);
	assert_int_equal(http_method_parse("HEAD"), M_HEAD);
	assert_int_equal(http_method_parse("POST"), M_POST);
	assert_int_equal(http_method_parse("PUT"), M_PUT);
	assert_int_equal(http_method_parse("PATCH"), M_PATCH);
	assert_int_equal(http_method_parse("DELETE"), M_DELETE);
	assert_int_equal(http_method_parse("OPTIONS"), M_OPTIONS);
	/* Methods are case-sensitive (RFC 9110 9.1); anything else is unknown. */
	assert_int_equal(http_method_parse("get"), 0);
	assert_int_equal(http_method_parse("Get"), 0);
	assert_int_equal(http_method_parse(""), 0);
	assert_int_equal(http_method_parse("GETX"), 0);
	assert_int_equal(http_method_parse("GE"), 0);
	assert_int_equal(http_method_parse(" GET"), 0);
	assert_int_equal(http_method_parse("TRACE"), 0);
	assert_int_equal(http_method_parse("CONNECT"), 0);
	assert_int_equal(http_method_parse("BREW"), 0);
}

static void test_methods_format(void **state)
{
	char out[128];

	http_methods_format(0, out, sizeof out);
	assert_string_equal(out, "");
	http_methods_format(M_GET, out, sizeof out);
	assert_string_equal(out, "GET");
	http_methods_format(M_GET | M_HEAD, out, sizeof out);
	assert_string_equal(out, "GET, HEAD");
	/* Always in the canonical order, whatever order the bits were set in. */
	http_methods_format(M_DELETE | M_GET | M_PUT, out, sizeof out);
	assert_string_equal(out, "GET, PUT, DELETE");
	http_methods_format(M_GET | M_HEAD | M_POST | M_PUT | M_PATCH | M_DELETE | M_OPTIONS, out,
			    sizeof out);
	assert_string_equal(out, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
	/* Bits beyond the known methods are ignored. */
	http_methods_format(M_POST | (1 << 7) | (1 << 20), out, sizeof out);
	assert_string_equal(out, "POST");

	/* Round trip through the parser. */
	const char *names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		http_methods_format(http_method_parse(names[i]), out, sizeof out);
		assert_string_equal(out, names[i]);
	}
}

static void test_methods_format_small_buffer(void **state)
{
	/* A short buffer is never overrun and always NUL-terminated. */
	const char *full = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
	int all = M_GET | M_HEAD | M_POST | M_PUT | M_PATCH | M_DELETE | M_OPTIONS;
	for (size_t len = 1; len < 50; len++) {
		char out[64];
		memset(out, 'Z', sizeof out);
		http_methods_format(all, out, len);
		size_t n = strnlen(out, sizeof out);
		assert_true(n < len);
		assert_memory_equal(out, full, n); /* a prefix of the full list */
		for (size_t i = len; i < sizeof out; i++)
			assert_int_equal(out[i], 'Z');
	}
}

/* ---------- matching ---------- */

static void test_literal_routes(void **state)
{
	struct router *rt = new_router();
	struct route_match m;
	add(rt, &R_HEALTH);
	add(rt, &R_ITEMS_GET);

	assert_int_equal(router_match(rt, M_GET, "/health", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &R_HEALTH);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(router_match(rt, M_GET, "/items", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &R_ITEMS_GET);

	/* Literals are compared exactly: case, prefixes and extensions differ. */
	assert_int_equal(router_match(rt, M_GET, "/Health", &m), ROUTER_NOT_FOUND);
	assert_null(m.route);
	assert_int_equal(router_match(rt, M_GET, "/healt", &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(rt, M_GET, "/healthz", &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(rt, M_GET, "/health/x", &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(rt, M_GET, "/", &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(rt, M_GET, "health", &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(rt, M_GET, "", &m), ROUTER_NOT_FOUND);
}

static void test_root_route(void **state)
{
	static const struct route root = {M_GET, "/", h_dummy, BODY_NONE};
	struct router *rt = new_router();
	struct route_match m;
	add(rt, &root);
	add(rt, &R_HEALTH);
	assert_int_equal(router_match(rt, M_GET, "/", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &root);
	assert_int_equal(router_match(rt, M_GET, "/health", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &R_HEALTH);
	assert_int_equal(router_match(rt, M_GET, "//", &m), ROUTER_NOT_FOUND);
}

static void test_id_param(void **state)
{
	struct router *rt = new_router();
	struct route_match m;
	add(rt, &R_ITEM_GET);

	assert_int_equal(router_match(rt, M_GET, "/items/" V7_ID, &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &R_ITEM_GET);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0].name, "id");
	assert_string_equal(m.params[0].value, V7_ID);
	assert_string_equal(m.bad_param, "");
	/* The collection path has a different shape. */
	assert_int_equal(router_match(rt, M_GET, "/items", &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(rt, M_GET, "/items/" V7_ID "/x", &m), ROUTER_NOT_FOUND);
}

static void test_several_params(void **state)
{
	static const struct route r = {M_GET, "/orgs/{org_id}/members/{user_id}/notes/{slug}",
				       h_dummy, BODY_NONE};
	struct router *rt = new_router();
	struct route_match m;
	add(rt, &r);

	assert_int_equal(
	    router_match(rt, M_GET, "/orgs/" V7_ID "/members/" V7_ID2 "/notes/hello", &m),
	    ROUTER_FOUND);
	assert_ptr_equal(m.route, &r);
	assert_int_equal(m.nparams, 3);
	assert_string_equal(m.params[0].name, "org_id");
	assert_string_equal(m.params[0].value, V7_ID);
	assert_string_equal(m.params[1].name, "user_id");
	assert_string_equal(m.params[1].value, V7_ID2);
	assert_string_equal(m.params[2].name, "slug");
	assert_string_equal(m.params[2].value, "hello");

	/* The second id is checked too, and named in bad_param. */
	assert_int_equal(router_match(rt, M_GET, "/orgs/" V7_ID "/members/bob/notes/hello", &m),
			 ROUTER_BAD_PARAM);
	assert_string_equal(m.bad_param, "user_id");
	assert_int_equal(router_match(rt, M_GET, "/orgs/acme/members/" V7_ID2 "/notes/hello", &m),
			 ROUTER_BAD_PARAM);
	assert_string_equal(m.bad_param, "org_id");
	/* Literal segments between the parameters still have to match. */
	assert_int_equal(
	    router_match(rt, M_GET, "/orgs/" V7_ID "/member/" V7_ID2 "/notes/hello", &m),
	    ROUTER_NOT_FOUND);

	/* Four parameters is the most a pattern may have; all four are returned. */
	static const struct route four = {M_GET, "/a/{p}/{q}/{r}/{s}", h_dummy, BODY_NONE};
	add(rt, &four);
	assert_int_equal(router_match(rt, M_GET, "/a/1/2/3/4", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &four);
	assert_int_equal(m.nparams, 4);
	assert_string_equal(m.params[3].name, "s");
	assert_string_equal(m.params[3].value, "4");
}

static void test_literal_beats_param(void **state)
{
	struct route_match m;
	for (int order = 0; order < 2; order++) {
		struct router *rt = new_router();
		if (order == 0) {
			add(rt, &R_ITEM_GET);
			add(rt, &R_SEARCH);
		} else {
			add(rt, &R_SEARCH);
			add(rt, &R_ITEM_GET);
		}
		assert_int_equal(router_match(rt, M_GET, "/items/search", &m), ROUTER_FOUND);
		assert_ptr_equal(m.route, &R_SEARCH);
		assert_int_equal(m.nparams, 0);
		assert_int_equal(router_match(rt, M_GET, "/items/" V7_ID, &m), ROUTER_FOUND);
		assert_ptr_equal(m.route, &R_ITEM_GET);
		/* Anything else that is not a UUID falls to {id} and is refused there. */
		assert_int_equal(router_match(rt, M_GET, "/items/searc", &m), ROUTER_BAD_PARAM);
		assert_string_equal(m.bad_param, "id");
	}

	/* Two parameters lose to one at the same depth, whatever the order. */
	static const struct route pp = {M_GET, "/t/{a}/{b}", h_dummy, BODY_NONE};
	static const struct route lp = {M_GET, "/t/x/{b}", h_dummy, BODY_NONE};
	static const struct route ll = {M_GET, "/t/x/y", h_dummy, BODY_NONE};
	const struct route *perms[][3] = {{&pp, &lp, &ll}, {&ll, &lp, &pp}, {&lp, &pp, &ll}};
	for (size_t i = 0; i < 3; i++) {
		struct router *rt = new_router();
		for (size_t j = 0; j < 3; j++)
			add(rt, perms[i][j]);
		assert_int_equal(router_match(rt, M_GET, "/t/x/y", &m), ROUTER_FOUND);
		assert_ptr_equal(m.route, &ll);
		assert_int_equal(router_match(rt, M_GET, "/t/x/z", &m), ROUTER_FOUND);
		assert_ptr_equal(m.route, &lp);
		assert_string_equal(m.params[0].value, "z");
		assert_int_equal(router_match(rt, M_GET, "/t/w/z", &m), ROUTER_FOUND);
		assert_ptr_equal(m.route, &pp);
		assert_int_equal(m.nparams, 2);
	}
}

static void test_404_vs_405(void **state)
{
	struct router *rt = new_router();
	struct route_match m;
	add(rt, &R_ITEMS_GET);
	add(rt, &R_ITEMS_POST);
	add(rt, &R_ITEM_GET);
	add(rt, &R_ITEM_DELETE);
	add(rt, &R_HEALTH);

	assert_int_equal(router_match(rt, M_POST, "/items", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &R_ITEMS_POST);
	assert_int_equal(m.allowed, M_GET | M_HEAD | M_POST);

	assert_int_equal(router_match(rt, M_DELETE, "/items", &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_null(m.route);
	assert_int_equal(m.allowed, M_GET | M_HEAD | M_POST);
	char allow[96];
	http_methods_format(m.allowed, allow, sizeof allow);
	assert_string_equal(allow, "GET, HEAD, POST");

	assert_int_equal(router_match(rt, M_PUT, "/items/" V7_ID, &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, M_GET | M_HEAD | M_DELETE);
	assert_int_equal(router_match(rt, M_OPTIONS, "/health", &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, M_GET | M_HEAD);
	/* An unknown method (the server passes -1 or 0) is a 405, not a 404. */
	assert_int_equal(router_match(rt, -1, "/health", &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, M_GET | M_HEAD);
	assert_int_equal(router_match(rt, 0, "/health", &m), ROUTER_METHOD_NOT_ALLOWED);

	/* 404 wins over 405: no shape matches, and nothing is allowed. */
	assert_int_equal(router_match(rt, M_DELETE, "/nothing", &m), ROUTER_NOT_FOUND);
	assert_int_equal(m.allowed, 0);
	assert_null(m.route);

	/* 405 is decided before the UUID check. */
	assert_int_equal(router_match(rt, M_PUT, "/items/not-a-uuid", &m),
			 ROUTER_METHOD_NOT_ALLOWED);
	assert_string_equal(m.bad_param, "");
	assert_int_equal(router_match(rt, M_DELETE, "/items/not-a-uuid", &m), ROUTER_BAD_PARAM);
	assert_ptr_equal(m.route, &R_ITEM_DELETE);
	assert_string_equal(m.bad_param, "id");
}

static void test_head_implied_by_get(void **state)
{
	struct router *rt = new_router();
	struct route_match m;
	add(rt, &R_HEALTH);
	add(rt, &R_ITEMS_POST);

	assert_int_equal(router_match(rt, M_HEAD, "/health", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &R_HEALTH);
	assert_true(m.allowed & M_HEAD);
	/* HEAD is implied by GET only: a POST-only path refuses HEAD. */
	assert_int_equal(router_match(rt, M_HEAD, "/items", &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, M_POST);
}

/*
 * A route registered for HEAD itself must be reachable by HEAD, and win
 * over the GET route that would otherwise stand in for it.
 */
static void test_explicit_head_route(void **state)
{
	static const struct route head_only = {M_HEAD, "/probe", h_dummy, BODY_NONE};
	static const struct route get_both = {M_GET, "/both", h_dummy, BODY_NONE};
	static const struct route head_both = {M_HEAD, "/both", h_dummy, BODY_NONE};
	struct router *rt = new_router();
	struct route_match m;
	add(rt, &head_only);
	add(rt, &get_both);
	add(rt, &head_both);

	assert_int_equal(router_match(rt, M_GET, "/both", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &get_both);
	assert_int_equal(router_match(rt, M_GET, "/probe", &m), ROUTER_METHOD_NOT_ALLOWED);
	assert_int_equal(m.allowed, M_HEAD);

	assert_int_equal(router_match(rt, M_HEAD, "/probe", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &head_only);
	assert_int_equal(router_match(rt, M_HEAD, "/both", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &head_both);
}

static void test_trailing_slash(void **state)
{
	static const struct route slashed = {M_GET, "/docs/", h_dummy, BODY_NONE};
	struct router *rt = new_router();
	struct route_match m;
	add(rt, &R_ITEMS_GET);
	add(rt, &R_ITEM_GET);
	add(rt, &slashed);

	assert_int_equal(router_match(rt, M_GET, "/items/", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &R_ITEMS_GET);
	assert_int_equal(router_match(rt, M_GET, "/items/" V7_ID "/", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &R_ITEM_GET);
	assert_string_equal(m.params[0].value, V7_ID); /* no slash in the value */
	/* A pattern's own trailing slash is ignored too. */
	assert_int_equal(router_match(rt, M_GET, "/docs", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &slashed);
	assert_int_equal(router_match(rt, M_GET, "/docs/", &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &slashed);
	/* Only one. */
	assert_int_equal(router_match(rt, M_GET, "/items//", &m), ROUTER_NOT_FOUND);
}

static void test_empty_segments(void **state)
{
	struct router *rt = new_router();
	struct route_match m;
	static const struct route deep = {M_GET, "/a/{x}/c", h_dummy, BODY_NONE};
	add(rt, &R_ITEMS_GET);
	add(rt, &R_ITEM_GET);
	add(rt, &deep);

	const char *paths[] = {"//items",
			       "/items//" V7_ID,
			       "//items/" V7_ID,
			       "/a//c",
			       "/a/b//c",
			       "/a/b/c//",
			       "///",
			       "//",
			       "/items///",
			       "items",
			       "items/",
			       "",
			       " /items",
			       "./items"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		int rc = router_match(rt, M_GET, paths[i], &m);
		if (rc != ROUTER_NOT_FOUND)
			fail_msg("path '%s' gave %d, want NOT_FOUND", paths[i], rc);
		assert_null(m.route);
	}
	/* An empty parameter never matches {x}: "/a//c" above; this one does. */
	assert_int_equal(router_match(rt, M_GET, "/a/b/c", &m), ROUTER_FOUND);
	assert_string_equal(m.params[0].value, "b");
}

static void test_uuid_validation(void **state)
{
	static const struct route by_user = {M_GET, "/users/{user_id}", h_dummy, BODY_NONE};
	struct router *rt = new_router();
	struct route_match m;
	add(rt, &R_ITEM_GET);
	add(rt, &by_user);

	struct {
		const char *path;
		int rc;
	} cases[] = {
	    {"/items/" V7_ID, ROUTER_FOUND},
	    /* any version, and uppercase hex, are canonical UUIDs */
	    {"/items/550e8400-e29b-41d4-a716-446655440000", ROUTER_FOUND},
	    {"/items/0192F0C1-7B1E-7CC3-9D7E-2B1C4A6F9E10", ROUTER_FOUND},
	    {"/items/00000000-0000-0000-0000-000000000000", ROUTER_FOUND},
	    /* wrong length */
	    {"/items/0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e1", ROUTER_BAD_PARAM},
	    {"/items/0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e100", ROUTER_BAD_PARAM},
	    {"/items/0192f0c17b1e7cc39d7e2b1c4a6f9e10", ROUTER_BAD_PARAM},
	    {"/items/x", ROUTER_BAD_PARAM},
	    {"/items/1", ROUTER_BAD_PARAM},
	    /* bad characters or dashes at the wrong place */
	    {"/items/0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e1g", ROUTER_BAD_PARAM},
	    {"/items/0192f0c1-7b1e-7cc3-9d7e_2b1c4a6f9e10", ROUTER_BAD_PARAM},
	    {"/items/0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e1%", ROUTER_BAD_PARAM},
	    {"/items/0192f0c17-b1e-7cc3-9d7e-2b1c4a6f9e10", ROUTER_BAD_PARAM},
	    {"/items/{0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e}", ROUTER_BAD_PARAM},
	    {"/items/0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e\xc3\xa9", ROUTER_BAD_PARAM},
	    {"/items/ 192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e10", ROUTER_BAD_PARAM},
	    /* *_id names are validated the same way */
	    {"/users/" V7_ID, ROUTER_FOUND},
	    {"/users/alice", ROUTER_BAD_PARAM},
	    {"/users/0192f0c1-7b1e-7cc3-9d7e-2b1c4a6f9e1z", ROUTER_BAD_PARAM},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = router_match(rt, M_GET, cases[i].path, &m);
		if (rc != cases[i].rc)
			fail_msg("path '%s' gave %d, want %d", cases[i].path, rc, cases[i].rc);
		if (rc == ROUTER_BAD_PARAM) {
			assert_string_equal(m.bad_param,
					    cases[i].path[1] == 'i' ? "id" : "user_id");
			assert_non_null(m.route); /* the route that would have run */
		} else {
			assert_string_equal(m.bad_param, "");
			assert_int_equal(strlen(m.params[0].value), 36);
		}
	}
}

static void test_non_id_params_not_validated(void **state)
{
	/* Names merely containing "id" are not UUIDs: only "id" and "*_id". */
	static const struct route slug = {M_GET, "/p/{slug}", h_dummy, BODY_NONE};
	static const struct route idx = {M_GET, "/q/{idx}", h_dummy, BODY_NONE};
	static const struct route uid = {M_GET, "/r/{uuid}", h_dummy, BODY_NONE};
	static const struct route ident = {M_GET, "/s/{ident}", h_dummy, BODY_NONE};
	static const struct route userid = {M_GET, "/t/{userid}", h_dummy, BODY_NONE};
	static const struct route idend = {M_GET, "/u/{id_x}", h_dummy, BODY_NONE};
	const struct route *all[] = {&slug, &idx, &uid, &ident, &userid, &idend};
	struct router *rt = new_router();
	struct route_match m;
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		add(rt, all[i]);

	const char *paths[] = {"/p/Hello-World", "/q/7",     "/r/not-a-uuid",
			       "/s/x y",	 "/t/alice", "/u/~"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		int rc = router_match(rt, M_GET, paths[i], &m);
		if (rc != ROUTER_FOUND)
			fail_msg("path '%s' gave %d, want FOUND", paths[i], rc);
		assert_ptr_equal(m.route, all[i]);
		assert_string_equal(m.params[0].value, paths[i] + 3);
	}
}

static void test_param_length(void **state)
{
	static const struct route slug = {M_GET, "/p/{slug}", h_dummy, BODY_NONE};
	struct router *rt = new_router();
	struct route_match m;
	add(rt, &slug);

	char path[3 + ROUTER_PARAM_MAX + 2];
	strcpy(path, "/p/");
	/* ROUTER_PARAM_MAX - 1 characters fit (with the NUL) ... */
	memset(path + 3, 'a', ROUTER_PARAM_MAX - 1);
	path[3 + ROUTER_PARAM_MAX - 1] = '\0';
	assert_int_equal(router_match(rt, M_GET, path, &m), ROUTER_FOUND);
	assert_int_equal(strlen(m.params[0].value), ROUTER_PARAM_MAX - 1);
	/* ... ROUTER_PARAM_MAX and more do not, and are a bad parameter, not a crash. */
	memset(path + 3, 'a', ROUTER_PARAM_MAX);
	path[3 + ROUTER_PARAM_MAX] = '\0';
	assert_int_equal(router_match(rt, M_GET, path, &m), ROUTER_BAD_PARAM);
	assert_string_equal(m.bad_param, "slug");

	size_t big = 100000;
	char *huge = malloc(big + 4);
	assert_non_null(huge);
	memcpy(huge, "/p/", 3);
	memset(huge + 3, 'b', big);
	huge[3 + big] = '\0';
	assert_int_equal(router_match(rt, M_GET, huge, &m), ROUTER_BAD_PARAM);
	free(huge);
}

static void test_segment_limit(void **state)
{
	char pat[256] = "", path[256] = "";
	for (int i = 0; i < ROUTER_MAX_SEGMENTS; i++) {
		strcat(pat, "/s");
		strcat(path, "/s");
	}
	struct router *rt = new_router();
	struct route_match m;
	static const struct route deep = {M_GET, "(set below)", h_dummy, BODY_NONE};
	assert_int_equal(router_add(rt, M_GET, pat, &deep), 0);
	assert_int_equal(router_match(rt, M_GET, path, &m), ROUTER_FOUND);
	assert_ptr_equal(m.route, &deep);
	strcat(path, "/");
	assert_int_equal(router_match(rt, M_GET, path, &m), ROUTER_FOUND);

	/* One segment more is refused in a path and in a pattern. */
	strcat(path, "s");
	assert_int_equal(router_match(rt, M_GET, path, &m), ROUTER_NOT_FOUND);
	char longer[sizeof pat + 8];
	snprintf(longer, sizeof longer, "%s/s", pat);
	assert_int_equal(router_add(rt, M_GET, longer, &deep), -1);

	/* A very deep path is simply not found. */
	char *many = malloc(2 * 10000 + 1);
	assert_non_null(many);
	for (int i = 0; i < 10000; i++)
		memcpy(many + 2 * i, "/s", 2);
	many[2 * 10000] = '\0';
	assert_int_equal(router_match(rt, M_GET, many, &m), ROUTER_NOT_FOUND);
	free(many);
}

static void test_add_rejects_malformed(void **state)
{
	static const struct route r = {M_GET, "-", h_dummy, BODY_NONE};
	struct router *rt = new_router();
	const char *bad[] = {
	    "",					 /* empty */
	    "items",				 /* not absolute */
	    "//",				 /* empty segment */
	    "//items",				 /* empty segment */
	    "/items//x",			 /* empty segment */
	    "/items//",				 /* two trailing slashes */
	    "/{}",				 /* empty name */
	    "/{",				 /* unterminated */
	    "/{id",				 /* unterminated */
	    "/{id}x",				 /* text after the name */
	    "/a/{id/b}",			 /* a slash inside braces */
	    "/{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}", /* a 30-character name: too long */
	    "/{a}/{b}/{c}/{d}/{e}",		 /* more than ROUTER_MAX_PARAMS */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (router_add(rt, M_GET, bad[i], &r) != -1)
			fail_msg("pattern '%s' was accepted", bad[i]);

	/* Nothing refused was added. */
	struct route_match m;
	assert_int_equal(router_match(rt, M_GET, "/x", &m), ROUTER_NOT_FOUND);
	assert_int_equal(router_match(rt, M_GET, "/a/b/c/d/e", &m), ROUTER_NOT_FOUND);

	/* The longest name that is allowed: 29 characters. */
	assert_int_equal(router_add(rt, M_GET, "/{aaaaaaaaaaaaaaaaaaaaaaaaaaaaa}", &r), 0);
	assert_int_equal(router_match(rt, M_GET, "/v", &m), ROUTER_FOUND);
	assert_string_equal(m.params[0].name, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

/* A brace inside a parameter name makes a name no handler could ask for. */
static void test_add_rejects_braces_in_names(void **state)
{
	static const struct route r = {M_GET, "-", h_dummy, BODY_NONE};
	struct router *rt = new_router();
	const char *bad[] = {"/{{id}", "/{id}}", "/{a{b}", "/{a}b}"};
	int accepted = 0;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (router_add(rt, M_GET, bad[i], &r) != -1) {
			print_message("pattern '%s' was accepted\n", bad[i]);
			accepted++;
		}
	assert_int_equal(accepted, 0);
}

static void test_router_pattern(void **state)
{
	static const struct route stranger = {M_GET, "/never/added", h_dummy, BODY_NONE};
	struct router *rt = new_router();
	add(rt, &R_ITEMS_GET);
	add(rt, &R_ITEM_GET);
	add(rt, &R_SEARCH);

	assert_string_equal(router_pattern(rt, &R_ITEMS_GET), "/items");
	assert_string_equal(router_pattern(rt, &R_ITEM_GET), "/items/{id}");
	assert_string_equal(router_pattern(rt, &R_SEARCH), "/items/search");
	/* The pattern is the one given, not a copy: static tables outlive the router. */
	assert_ptr_equal(router_pattern(rt, &R_ITEM_GET), R_ITEM_GET.pattern);
	assert_string_equal(router_pattern(rt, &stranger), "unmatched");
	assert_string_equal(router_pattern(rt, NULL), "unmatched");

	struct route_match m;
	assert_int_equal(router_match(rt, M_GET, "/items/" V7_ID, &m), ROUTER_FOUND);
	assert_string_equal(router_pattern(rt, m.route), "/items/{id}");

	struct router *empty = new_router();
	assert_string_equal(router_pattern(empty, &R_ITEMS_GET), "unmatched");
	assert_int_equal(router_match(empty, M_GET, "/items", &m), ROUTER_NOT_FOUND);
	router_free(NULL);
}

static void test_many_routes(void **state)
{
	/* More routes than the first allocation, each still found. */
	enum { N = 300 };
	static struct route routes[N];
	static char patterns[N][32];
	struct router *rt = new_router();
	for (int i = 0; i < N; i++) {
		snprintf(patterns[i], sizeof patterns[i], "/r%d/{id}", i);
		routes[i] = (struct route){M_GET, patterns[i], h_dummy, BODY_NONE};
		add(rt, &routes[i]);
	}
	for (int i = 0; i < N; i++) {
		char path[64];
		struct route_match m;
		snprintf(path, sizeof path, "/r%d/%s", i, V7_ID);
		assert_int_equal(router_match(rt, M_GET, path, &m), ROUTER_FOUND);
		assert_ptr_equal(m.route, &routes[i]);
		assert_string_equal(router_pattern(rt, &routes[i]), patterns[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_method_parse, free_routers),
	    cmocka_unit_test_teardown(test_methods_format, free_routers),
	    cmocka_unit_test_teardown(test_methods_format_small_buffer, free_routers),
	    cmocka_unit_test_teardown(test_literal_routes, free_routers),
	    cmocka_unit_test_teardown(test_root_route, free_routers),
	    cmocka_unit_test_teardown(test_id_param, free_routers),
	    cmocka_unit_test_teardown(test_several_params, free_routers),
	    cmocka_unit_test_teardown(test_literal_beats_param, free_routers),
	    cmocka_unit_test_teardown(test_404_vs_405, free_routers),
	    cmocka_unit_test_teardown(test_head_implied_by_get, free_routers),
	    cmocka_unit_test_teardown(test_explicit_head_route, free_routers),
	    cmocka_unit_test_teardown(test_trailing_slash, free_routers),
	    cmocka_unit_test_teardown(test_empty_segments, free_routers),
	    cmocka_unit_test_teardown(test_uuid_validation, free_routers),
	    cmocka_unit_test_teardown(test_non_id_params_not_validated, free_routers),
	    cmocka_unit_test_teardown(test_param_length, free_routers),
	    cmocka_unit_test_teardown(test_segment_limit, free_routers),
	    cmocka_unit_test_teardown(test_add_rejects_malformed, free_routers),
	    cmocka_unit_test_teardown(test_add_rejects_braces_in_names, free_routers),
	    cmocka_unit_test_teardown(test_router_pattern, free_routers),
	    cmocka_unit_test_teardown(test_many_routes, free_routers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
