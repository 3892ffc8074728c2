#include "auth/clientaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOPS_MAX 32 /* forwarding entries looked at, right to left */

static struct clientaddr_trust g_trust;

/* Parse a bare address (no port, no brackets) into family/bytes. */
static bool addr_parse(const char *s, int *family, unsigned char out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		/* An IPv4-mapped IPv6 address is the IPv4 address. */
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(out, mapped, 12) == 0) {
			memmove(out, out + 12, 4);
			memset(out + 4, 0, 12);
			*family = AF_INET;
		} else {
			*family = AF_INET6;
		}
		return true;
	}
	return false;
}

int clientaddr_parse(const char *list, struct clientaddr_trust *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	if (!list)
		return 0;
	const char *p = list;
	while (*p) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, ", \t");
		char item[80];
		if (len >= sizeof item) {
			snprintf(err, errlen,
				 "IAM_TRUSTED_PROXIES: '%.40s...' is not an address or CIDR", p);
			return -1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		p += len;
		if (t->n == CLIENTADDR_MAX) {
			snprintf(err, errlen, "IAM_TRUSTED_PROXIES: at most %d entries",
				 CLIENTADDR_MAX);
			return -1;
		}
		struct clientaddr_cidr *c = &t->cidr[t->n];
		char *slash = strchr(item, '/');
		long bits = -1;
		if (slash) {
			char *end;
			*slash = '\0';
			bits = strtol(slash + 1, &end, 10);
			if (!slash[1] || *end || !isdigit((unsigned char)slash[1]))
				bits = -2;
		}
		if (!addr_parse(item, &c->family, c->addr) || bits == -2 ||
		    bits > (c->family == AF_INET ? 32 : 128)) {
			if (slash)
				*slash = '/';
			snprintf(err, errlen,
				 "IAM_TRUSTED_PROXIES: '%s' is not an address or CIDR such as "
				 "10.0.0.0/8 "
				 "or fd00::/8",
				 item);
			return -1;
		}
		c->bits = bits < 0 ? (c->family == AF_INET ? 32 : 128) : (int)bits;
		t->n++;
	}
	return 0;
}

static bool cidr_has(const struct clientaddr_cidr *c, int family, const unsigned char a[16])
{
	if (c->family != family)
		return false;
	int full = c->bits / 8, rest = c->bits % 8;
	if (memcmp(c->addr, a, (size_t)full) != 0)
		return false;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		if ((c->addr[full] & mask) != (a[full] & mask))
			return false;
	}
	return true;
}

static bool trusted_bin(const struct clientaddr_trust *t, int family, const unsigned char a[16])
{
	for (size_t i = 0; t && i < t->n; i++)
		if (cidr_has(&t->cidr[i], family, a))
			return true;
	return false;
}

bool clientaddr_trusted(const struct clientaddr_trust *t, const char *ip)
{
	int family;
	unsigned char a[16];
	return ip && addr_parse(ip, &family, a) && trusted_bin(t, family, a);
}

/*
 * One forwarding entry ("1.2.3.4", "1.2.3.4:80", "[::1]:80", "\"[::1]\"")
 * into an address. False for "unknown", obfuscated names and garbage.
 */
static bool entry_parse(const char *s, size_t len, int *family, unsigned char a[16])
{
	char buf[80];
	while (len && isspace((unsigned char)*s))
		s++, len--;
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"')
		s++, len -= 2;
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *host = buf;
	if (host[0] == '[') {
		char *close = strchr(host, ']');
		if (!close)
			return false;
		*close = '\0';
		host++;
	} else if (strchr(host, '.') && strchr(host, ':')) {
		*strchr(host, ':') = '\0'; /* IPv4 with a port */
	}
	return addr_parse(host, family, a);
}

/* Split a header into entries: XFF "a, b"; Forwarded "for=a;proto=x, for=b". */
static size_t hops_read(const char *h, bool forwarded, const char *start[HOPS_MAX],
			size_t len[HOPS_MAX])
{
	size_t n = 0;
	for (const char *p = h; p && *p;) {
		if (n == HOPS_MAX) {
			/* keep the right-most HOPS_MAX: the left ones are the client's to write */
			memmove(start, start + 1, (HOPS_MAX - 1) * sizeof *start);
			memmove(len, len + 1, (HOPS_MAX - 1) * sizeof *len);
			n--;
		}
		size_t elem = strcspn(p, ",");
		const char *e = p, *end = p + elem;
		if (forwarded) {
			/* find for= among the element's ;-separated pairs */
			const char *val = NULL;
			size_t vlen = 0;
			while (e < end) {
				while (e < end && (isspace((unsigned char)*e) || *e == ';'))
					e++;
				size_t pair = 0;
				while (e + pair < end && e[pair] != ';')
					pair++;
				if (pair > 4 && strncasecmp(e, "for=", 4) == 0) {
					val = e + 4;
					vlen = pair - 4;
				}
				e += pair;
			}
			start[n] = val ? val : p;
			len[n] = val ? vlen : 0;
		} else {
			start[n] = p;
			len[n] = elem;
		}
		n++;
		p = *end ? end + 1 : end;
	}
	return n;
}

static void format_addr(int family, const unsigned char a[16], char out[CLIENTADDR_BUF])
{
	if (!inet_ntop(family, a, out, CLIENTADDR_BUF))
		snprintf(out, CLIENTADDR_BUF, "unknown");
}

void clientaddr_resolve(const struct clientaddr_trust *t, const char *peer, const char *xff,
			const char *forwarded, char out[CLIENTADDR_BUF])
{
	int family;
	unsigned char a[16];
	bool peer_ok = peer && addr_parse(peer, &family, a);

	if (peer_ok)
		format_addr(family, a, out);
	else
		snprintf(out, CLIENTADDR_BUF, "%.*s", CLIENTADDR_BUF - 1, peer ? peer : "unknown");
	if (!peer_ok || !trusted_bin(t, family, a))
		return;
	/* X-Forwarded-For is what the proxies README shows set; Forwarded only without it. */
	const char *h = xff && *xff ? xff : forwarded;
	if (!h || !*h)
		return;
	const char *start[HOPS_MAX];
	size_t len[HOPS_MAX];
	size_t n = hops_read(h, h != xff, start, len);
	for (size_t i = n; i-- > 0;) {
		if (!entry_parse(start[i], len[i], &family, a))
			return; /* garbage where an address should be: keep the proxy's own */
		format_addr(family, a, out);
		if (!trusted_bin(t, family, a))
			return; /* the right-most untrusted entry */
	}
}

int clientaddr_configure(const char *list, char *err, size_t errlen)
{
	return clientaddr_parse(list, &g_trust, err, errlen);
}

const struct clientaddr_trust *clientaddr_global(void)
{
	return &g_trust;
}
