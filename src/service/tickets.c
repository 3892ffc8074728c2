/*
 * tickets.c — see tickets.h.
 */
#include "service/tickets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/timeutil.h"
#include "store/api_keys.h"
#include "store/sessions.h"

static void ticket_mac(const unsigned char key[TICKET_KEY_LEN], const char *payload, size_t len,
		       unsigned char mac[32])
{
	crypto_hmac_sha256(key, TICKET_KEY_LEN, payload, len, mac);
}

/*
 * A ticket is "t2|meeting|org|user|session|api key|expiry" (session or key
 * "-" when absent), base64url, then "." and its HMAC. It is checked again
 * on every use: it dies with its session (logout) or its API key (deleted,
 * expired), and after TICKET_TTL_S at the latest.
 */
char *ticket_issue(const unsigned char tkey[TICKET_KEY_LEN], const struct principal *p,
		   const char *meeting_id, int64_t *expires_ms)
{
	int64_t exp = time_now_ms() / 1000 + TICKET_TTL_S;
	char payload[256], b64[400], sig[64];
	unsigned char mac[32];
	const char *sid = !p->via_api_key && p->session_id[0] ? p->session_id : "-";
	const char *key = p->via_api_key && p->api_key_id[0] ? p->api_key_id : "-";
	int n = snprintf(payload, sizeof payload, "t2|%s|%s|%s|%s|%s|%lld", meeting_id, p->org_id,
			 p->user_id, sid, key, (long long)exp);
	if (n < 0 || (size_t)n >= sizeof payload)
		return NULL;
	ticket_mac(tkey, payload, (size_t)n, mac);
	if (crypto_b64url_encode(payload, (size_t)n, b64, sizeof b64) < 0 ||
	    crypto_b64url_encode(mac, sizeof mac, sig, sizeof sig) < 0)
		return NULL;
	*expires_ms = exp * 1000;
	size_t len = strlen(b64) + strlen(sig) + 2;
	char *t = malloc(len);
	if (t)
		snprintf(t, len, "%s.%s", b64, sig);
	return t;
}

bool ticket_verify(const unsigned char tkey[TICKET_KEY_LEN], struct db_conn *c, const char *ticket,
		   const char *meeting_id, struct principal *p)
{
	const char *dot = strchr(ticket, '.');
	if (!dot || strlen(ticket) > 600)
		return false;
	char payload[300];
	unsigned char mac[32], want[32];
	long n = crypto_b64url_decode(ticket, (size_t)(dot - ticket), payload, sizeof payload - 1);
	if (n <= 0 || crypto_b64url_decode(dot + 1, strlen(dot + 1), mac, sizeof mac) != 32)
		return false;
	payload[n] = '\0';
	ticket_mac(tkey, payload, (size_t)n, want);
	if (!crypto_equal(mac, want, 32))
		return false;
	char m[UUID_STR_LEN], org[UUID_STR_LEN], user[UUID_STR_LEN], sid[UUID_STR_LEN],
	    key[UUID_STR_LEN];
	long long exp;
	int end = 0;
	if (sscanf(payload, "t2|%36[^|]|%36[^|]|%36[^|]|%36[^|]|%36[^|]|%lld%n", m, org, user, sid,
		   key, &exp, &end) != 6 ||
	    end != n)
		return false;
	long long now = time_now_ms() / 1000;
	if (strcmp(m, meeting_id) != 0 || exp < now || exp > now + TICKET_TTL_S)
		return false;
	bool by_session = strcmp(sid, "-") != 0, by_key = strcmp(key, "-") != 0;
	if (by_session == by_key)
		return false;
	/* A ticket from a session that ended (logout) ends with it; one from a key, with the key.
	 */
	if (by_session && session_check_member(c, sid, user, org) != STORE_OK)
		return false;
	if (by_key && api_key_live(c, org, key) != STORE_OK)
		return false;
	memset(p, 0, sizeof *p);
	snprintf(p->org_id, sizeof p->org_id, "%s", org);
	snprintf(p->user_id, sizeof p->user_id, "%s", user);
	if (by_session)
		snprintf(p->session_id, sizeof p->session_id, "%s", sid);
	if (by_key)
		snprintf(p->api_key_id, sizeof p->api_key_id, "%s", key);
	p->via_api_key = by_key;
	p->scopes = API_SCOPE_READ; /* a ticket only opens things for reading */
	return true;
}
