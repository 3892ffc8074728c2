#include "http/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/uuid.h"

struct entry {
	int method;
	const char *pattern;
	const struct route *route;
	int nseg;
	int nparams;
	struct {
		const char *text; /* points into pattern */
		size_t len;
		int is_param;
		int is_uuid;
	} seg[ROUTER_MAX_SEGMENTS];
};

struct router {
	struct entry *entries;
	size_t n, cap;
};

static const char *METHOD_NAMES[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

int http_method_parse(const char *m)
{
	for (int i = 0; i < 7; i++)
		if (strcmp(m, METHOD_NAMES[i]) == 0)
			return 1 << i;
	return 0;
}

void http_methods_format(int mask, char *out, size_t outlen)
{
	size_t used = 0;
	out[0] = '\0';
	for (int i = 0; i < 7; i++) {
		if (!(mask & (1 << i)))
			continue;
		int n =
		    snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", METHOD_NAMES[i]);
		if (n < 0 || (size_t)n >= outlen - used)
			return;
		used += (size_t)n;
	}
}

struct router *router_new(void)
{
	return calloc(1, sizeof(struct router));
}

void router_free(struct router *rt)
{
	if (!rt)
		return;
	free(rt->entries);
	free(rt);
}

/* Split a path into segments (pointers into p). Returns count or -1. */
static int split(const char *p, const char **seg, size_t *len, int max)
{
	int n = 0;
	if (*p != '/')
		return -1;
	while (*p == '/') {
		p++;
		if (!*p)
			break; /* trailing slash (or root) */
		const char *end = strchr(p, '/');
		size_t l = end ? (size_t)(end - p) : strlen(p);
		if (l == 0 || n == max)
			return -1;
		seg[n] = p;
		len[n] = l;
		n++;
		p += l;
	}
	return n;
}

int router_add(struct router *rt, int method, const char *pattern, const struct route *route)
{
	struct entry e = {.method = method, .pattern = pattern, .route = route};
	const char *seg[ROUTER_MAX_SEGMENTS];
	size_t len[ROUTER_MAX_SEGMENTS];
	int n = split(pattern, seg, len, ROUTER_MAX_SEGMENTS);
	if (n < 0)
		return -1;
	int params = 0;
	for (int i = 0; i < n; i++) {
		e.seg[i].text = seg[i];
		e.seg[i].len = len[i];
		if (seg[i][0] == '{') {
			if (len[i] < 3 || len[i] > 31 || seg[i][len[i] - 1] != '}' ||
			    memchr(seg[i] + 1, '{', len[i] - 2) ||
			    memchr(seg[i] + 1, '}', len[i] - 2) || ++params > ROUTER_MAX_PARAMS)
				return -1;
			e.seg[i].is_param = 1;
			e.seg[i].text++;
			e.seg[i].len -= 2;
			size_t l = e.seg[i].len;
			e.seg[i].is_uuid = (l == 2 && memcmp(e.seg[i].text, "id", 2) == 0) ||
					   (l > 3 && memcmp(e.seg[i].text + l - 3, "_id", 3) == 0);
		}
	}
	e.nseg = n;
	e.nparams = params;
	if (rt->n == rt->cap) {
		size_t cap = rt->cap ? rt->cap * 2 : 32;
		struct entry *p = realloc(rt->entries, cap * sizeof *p);
		if (!p)
			return -1;
		rt->entries = p;
		rt->cap = cap;
	}
	rt->entries[rt->n++] = e;
	return 0;
}

static int shape_matches(const struct entry *e, int n, const char **seg, const size_t *len)
{
	if (e->nseg != n)
		return 0;
	for (int i = 0; i < n; i++) {
		if (e->seg[i].is_param)
			continue;
		if (e->seg[i].len != len[i] || memcmp(e->seg[i].text, seg[i], len[i]) != 0)
			return 0;
	}
	return 1;
}

int router_match(const struct router *rt, int method, const char *path, struct route_match *m)
{
	memset(m, 0, sizeof *m);
	const char *seg[ROUTER_MAX_SEGMENTS];
	size_t len[ROUTER_MAX_SEGMENTS];
	int n = split(path, seg, len, ROUTER_MAX_SEGMENTS);
	if (n < 0)
		return ROUTER_NOT_FOUND;
	const struct entry *hit = NULL, *get = NULL;
	int shape = 0;
	for (size_t i = 0; i < rt->n; i++) {
		const struct entry *e = &rt->entries[i];
		if (!shape_matches(e, n, seg, len))
			continue;
		shape = 1;
		m->allowed |= e->method;
		if (e->method == M_GET)
			m->allowed |= M_HEAD;
		/* Literal segments beat parameters: "/meetings/search" wins over "/meetings/{id}".
		 */
		if (e->method == method && (!hit || e->nparams < hit->nparams))
			hit = e;
		if (method == M_HEAD && e->method == M_GET && (!get || e->nparams < get->nparams))
			get = e;
	}
	if (!hit)
		hit = get; /* HEAD is served by the GET route unless one is registered for HEAD */
	if (!shape)
		return ROUTER_NOT_FOUND;
	if (!hit)
		return ROUTER_METHOD_NOT_ALLOWED;
	m->route = hit->route;
	for (int i = 0; i < n; i++) {
		if (!hit->seg[i].is_param)
			continue;
		int k = m->nparams++;
		snprintf(m->params[k].name, sizeof m->params[k].name, "%.*s", (int)hit->seg[i].len,
			 hit->seg[i].text);
		if (len[i] >= ROUTER_PARAM_MAX || (hit->seg[i].is_uuid && (len[i] != 36))) {
			snprintf(m->bad_param, sizeof m->bad_param, "%.*s", (int)hit->seg[i].len,
				 hit->seg[i].text);
			return ROUTER_BAD_PARAM;
		}
		memcpy(m->params[k].value, seg[i], len[i]);
		m->params[k].value[len[i]] = '\0';
		if (hit->seg[i].is_uuid && !uuid_valid(m->params[k].value)) {
			snprintf(m->bad_param, sizeof m->bad_param, "%.*s", (int)hit->seg[i].len,
				 hit->seg[i].text);
			return ROUTER_BAD_PARAM;
		}
	}
	return ROUTER_FOUND;
}

const char *router_pattern(const struct router *rt, const struct route *route)
{
	for (size_t i = 0; i < rt->n; i++)
		if (rt->entries[i].route == route)
			return rt->entries[i].pattern;
	return "unmatched";
}
