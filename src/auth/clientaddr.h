/*
 * clientaddr.h — who the client is when iamd runs behind reverse proxies.
 *
 * IAM_TRUSTED_PROXIES lists the proxies (CIDRs, default none). Only when the
 * socket peer is one of them are X-Forwarded-For (preferred) or Forwarded
 * read, and then the client is the right-most address that is not itself a
 * trusted proxy: everything to its left was written by the client and can
 * be anything. With no trusted proxies the headers are ignored and the peer
 * is the client. Throttles and rate limits key on this address.
 */
#ifndef IAM_CLIENTADDR_H
#define IAM_CLIENTADDR_H

#include <stdbool.h>
#include <stddef.h>

#define CLIENTADDR_MAX 32 /* CIDRs in IAM_TRUSTED_PROXIES */
#define CLIENTADDR_BUF 64 /* an address as text (INET6_ADDRSTRLEN and a NUL) */

struct clientaddr_cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
};

struct clientaddr_trust {
	struct clientaddr_cidr cidr[CLIENTADDR_MAX];
	size_t n;
};

/*
 * Parse "10.0.0.0/8, 192.168.1.5, ::1/128" (a bare address is a /32 or /128).
 * Returns 0, or -1 with a reason in err. An empty or NULL list trusts none.
 */
int clientaddr_parse(const char *list, struct clientaddr_trust *t, char *err, size_t errlen);

/* True if the textual address ip lies in one of t's CIDRs. */
bool clientaddr_trusted(const struct clientaddr_trust *t, const char *ip);

/*
 * The client address for a request from peer with these header values (each
 * may be NULL), written in canonical form to out[CLIENTADDR_BUF].
 */
void clientaddr_resolve(const struct clientaddr_trust *t, const char *peer, const char *xff,
			const char *forwarded, char out[CLIENTADDR_BUF]);

/* The process-wide trust list (set once at start-up, before serving). */
int clientaddr_configure(const char *list, char *err, size_t errlen);
const struct clientaddr_trust *clientaddr_global(void);

#endif
