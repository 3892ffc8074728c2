#include "auth/authn.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/timeutil.h"
#include "store/api_keys.h"
#include "store/sessions.h"

int authn_bearer(struct db_conn *c, const struct jwt_key *key, const char *header,
		 struct principal *p, const char **reason)
{
	memset(p, 0, sizeof *p);
	*reason = NULL;
	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return AUTHN_MISSING;
	const char *cred = header + 7;
	while (*cred == ' ')
		cred++;
	if (!*cred)
		return AUTHN_MISSING;

	if (strncmp(cred, "iam_", 4) == 0) {
		if (strlen(cred) >= API_KEY_BUF) {
			*reason = "The API key is not valid. Check it or create a new one.";
			return AUTHN_INVALID;
		}
		struct api_key k;
		int rc = api_key_authenticate(c, cred, &k);
		if (rc < 0)
			return AUTHN_ERROR;
		if (rc == STORE_NOT_FOUND) {
			*reason = "The API key is not valid or has been deleted. Create a new one.";
			return AUTHN_INVALID;
		}
		snprintf(p->user_id, sizeof p->user_id, "%s", k.user_id);
		snprintf(p->org_id, sizeof p->org_id, "%s", k.org_id);
		snprintf(p->api_key_id, sizeof p->api_key_id, "%s", k.id);
		p->via_api_key = true;
		return AUTHN_OK;
	}

	struct jwt_claims cl;
	int jrc = jwt_verify_access(key, cred, time_now_ms() / 1000, &cl);
	if (jrc != JWT_VALID) {
		*reason = jwt_rc_str(jrc);
		return AUTHN_INVALID;
	}
	int rc = session_check(c, cl.sid, cl.sub);
	if (rc < 0)
		return AUTHN_ERROR;
	if (rc == STORE_NOT_FOUND) {
		*reason = "This session has ended (logged out, password changed, or revoked). Log in again.";
		return AUTHN_INVALID;
	}
	snprintf(p->user_id, sizeof p->user_id, "%.36s", cl.sub);
	snprintf(p->org_id, sizeof p->org_id, "%.36s", cl.org);
	snprintf(p->session_id, sizeof p->session_id, "%.36s", cl.sid);
	snprintf(p->email, sizeof p->email, "%s", cl.email);
	return AUTHN_OK;
}
