/*
 * tickets.h — short-lived tickets for URLs a browser opens without an
 * Authorization header (a meeting's event stream and audio). A ticket names
 * one meeting and the caller's session or API key, is signed with a key
 * derived from the JWT secret, lives TICKET_TTL_S, and is checked again on
 * every use: it dies with its session (logout) or its key (deleted,
 * expired). Knows nothing of HTTP.
 */
#ifndef IAM_SERVICE_TICKETS_H
#define IAM_SERVICE_TICKETS_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/authn.h"

#define TICKET_TTL_S   300 /* five minutes; the web app asks for a new one as needed */
#define TICKET_KEY_LEN 32

/* A ticket for p to read meeting_id (malloc'd; caller frees), or NULL. */
char *ticket_issue(const unsigned char key[TICKET_KEY_LEN], const struct principal *p,
		   const char *meeting_id, int64_t *expires_ms);

/*
 * Check ticket for meeting_id: signature, expiry and the session or key it
 * came from. Fills p (read scope only) and returns true when it holds.
 */
bool ticket_verify(const unsigned char key[TICKET_KEY_LEN], struct db_conn *c, const char *ticket,
		   const char *meeting_id, struct principal *p);

#endif
