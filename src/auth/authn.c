#include "auth/authn.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/timeutil.h"
#include "store/api_keys.h"
#include "store/orgs.h"
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
		enum store_rc rc = api_key_authenticate(c, cred, &k);
		if (rc != STORE_OK && rc != STORE_NOT_FOUND && rc != STORE_KEY_EXPIRED)
			return AUTHN_ERROR;
		if (rc == STORE_NOT_FOUND) {
			*reason = "The API key is not valid or has been deleted. Create a new one.";
			return AUTHN_INVALID;
		}
		if (rc == STORE_KEY_EXPIRED) {
			*reason = "The API key has expired (see expires_at in the key list). "
				  "Create a new one.";
			return AUTHN_INVALID;
		}
		char role[16];
		rc = org_member_role(c, k.org_id, k.user_id, role);
		if (rc != STORE_OK && rc != STORE_NOT_FOUND)
			return AUTHN_ERROR;
		if (rc == STORE_NOT_FOUND) {
			*reason =
			    "The API key's creator is no longer a member of its organization, so "
			    "the key no longer works. Ask a member to create a new one.";
			return AUTHN_INVALID;
		}
		p->role = authz_role_parse(role);
		snprintf(p->user_id, sizeof p->user_id, "%s", k.user_id);
		snprintf(p->org_id, sizeof p->org_id, "%s", k.org_id);
		snprintf(p->api_key_id, sizeof p->api_key_id, "%s", k.id);
		p->via_api_key = true;
		p->scopes = k.scopes;
		return AUTHN_OK;
	}

	struct jwt_claims cl;
	int jrc = jwt_verify_access(key, cred, time_now_ms() / 1000, &cl);
	if (jrc != JWT_VALID) {
		*reason = jwt_rc_str(jrc);
		return AUTHN_INVALID;
	}
	/*
	 * The org claim is checked against the session and the user's
	 * memberships, not believed: a token signed with a leaked secret still
	 * cannot name another tenant.
	 */
	char role[16];
	enum store_rc rc = session_check_member_role(c, cl.sid, cl.sub, cl.org, role);
	if (rc != STORE_OK && rc != STORE_NOT_FOUND)
		return AUTHN_ERROR;
	if (rc == STORE_NOT_FOUND) {
		*reason =
		    "This session has ended (logged out, password changed, or revoked), or the "
		    "token names an organization you are no longer a member of. Log in again, "
		    "or switch to another organization.";
		return AUTHN_INVALID;
	}
	snprintf(p->user_id, sizeof p->user_id, "%.36s", cl.sub);
	snprintf(p->org_id, sizeof p->org_id, "%.36s", cl.org);
	snprintf(p->session_id, sizeof p->session_id, "%.36s", cl.sid);
	snprintf(p->email, sizeof p->email, "%s", cl.email);
	p->scopes = API_SCOPES_ALL;
	p->role = authz_role_parse(role);
	return AUTHN_OK;
}

static bool path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool path_ends(const char *path, const char *suffix)
{
	size_t n = strlen(path), k = strlen(suffix);
	size_t end = n && path[n - 1] == '/' ? n - 1 : n; /* the router ignores a trailing slash */
	return end >= k && strncmp(path + end - k, suffix, k) == 0;
}

unsigned authn_scope_needed(const char *method, const char *path)
{
	if (!method || !path)
		return API_SCOPE_ADMIN;
	if (path_under(path, "/api/v1/api-keys"))
		return API_SCOPE_ADMIN;
	if (path_under(path, "/api/v1/uploads") || path_under(path, "/v1/audio"))
		return API_SCOPE_TRANSCRIBE;
	if (path_under(path, "/api/v1/meetings") &&
	    (path_ends(path, "/upload") || path_ends(path, "/transcribe")))
		return API_SCOPE_TRANSCRIBE;
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD") || !strcmp(method, "OPTIONS"))
		return API_SCOPE_READ;
	if (path_under(path, "/api/v1/meetings") && path_ends(path, "/ticket"))
		return API_SCOPE_READ;
	return API_SCOPE_WRITE;
}

const char *authn_scope_denied(const struct principal *p, const char *method, const char *path)
{
	unsigned need = authn_scope_needed(method, path);
	if (!p->via_api_key || (p->scopes & need))
		return NULL;
	switch (need) {
	case API_SCOPE_READ:
		return "This API key lacks the 'read' scope needed to read. Use a key with that "
		       "scope.";
	case API_SCOPE_WRITE:
		return "This API key lacks the 'write' scope needed to change data. Use a key with "
		       "that scope.";
	case API_SCOPE_TRANSCRIBE:
		return "This API key lacks the 'transcribe' scope needed to upload or transcribe "
		       "audio. Use a key with that scope.";
	default:
		return "Managing API keys needs a login session or a key with the 'admin' scope.";
	}
}
