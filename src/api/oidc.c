/*
 * oidc.c — sign in with OpenID Connect (auth/oidc.h):
 *   GET  /api/v1/auth/oidc                  the configured providers (login page buttons)
 *   GET  /api/v1/auth/oidc/{name}/start     302 to the provider (state, nonce, PKCE S256)
 *   GET  /api/v1/auth/oidc/{name}/callback  the provider sends the browser back here: the
 *                                           code is exchanged, the ID token verified, the
 *                                           account found, linked or made; then 302 to the
 *                                           web app's /login?oidc_code=... (one-time, 2 min)
 *   POST /api/v1/auth/oidc/exchange         {code}: the token pair, as a login gives it
 *
 * State is a single-use token (stored hashed, 10 minutes) also kept in an
 * HttpOnly cookie, so a callback only completes in the browser that started
 * it. The nonce and PKCE verifier are derived from the state with a key
 * only this server has (HMAC of the JWT secret), so nothing secret about the
 * login is stored. An account is linked by e-mail only when the provider
 * says the address is verified and the existing account verified it too;
 * a new account is made when nobody has the address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/oidc.h"
#include "auth/password.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "mail/mail.h"
#include "store/audit.h"
#include "store/identities.h"
#include "store/sessions.h"
#include "store/tokens.h"
#include "store/users.h"

#define STATE_TTL_MS (10LL * 60 * 1000)
#define CODE_TTL_MS  (2LL * 60 * 1000)
#define STATE_COOKIE "iam_oidc_state"

/* base64url(HMAC(key derived from the JWT secret, label || state)) into out[48]. */
static void derive(struct app *app, const char *label, const char *state, char out[48])
{
	unsigned char key[32], mac[32];
	crypto_hmac_sha256(app->jwt.secret, app->jwt.len, "iam-oidc-v1", 11, key);
	char msg[TOKEN_BUF + 16];
	int n = snprintf(msg, sizeof msg, "%s:%s", label, state);
	crypto_hmac_sha256(key, sizeof key, msg, (size_t)n, mac);
	crypto_b64url_encode(mac, sizeof mac, out, 48);
	explicit_bzero(key, sizeof key);
}

/* What the state cookie holds for state: a hash, so the cookie alone is no state. */
static void cookie_value(const char *state, char out[65])
{
	crypto_sha256_hex(state, strlen(state), out);
}

static void list_providers(struct api_ctx *cx)
{
	json_t *data = json_array();
	for (size_t i = 0; i < oidc_count(); i++) {
		const char *n = oidc_name(i);
		char label[OIDC_NAME_MAX], url[OIDC_NAME_MAX + 40];
		snprintf(label, sizeof label, "%s", n);
		label[0] = (char)(label[0] >= 'a' && label[0] <= 'z' ? label[0] - 32 : label[0]);
		for (char *p = label; *p; p++)
			if (*p == '_')
				*p = ' ';
		snprintf(url, sizeof url, "/api/v1/auth/oidc/%s/start", n);
		json_array_append_new(
		    data, json_pack("{s:s,s:s,s:s}", "name", n, "label", label, "start_url", url));
	}
	http_reply_json(cx->req, 200, json_pack("{s:o}", "data", data));
}

static void no_provider(struct http_req *r, const char *name)
{
	http_problem(
	    r, 404, "oidc_provider_not_found",
	    "No sign-in provider is called '%.32s' here. GET /api/v1/auth/oidc lists them.", name);
}

static void start(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct app *app = api_app(r);
	const char *name = http_param(r, "name");
	if (!oidc_known(name)) {
		no_provider(r, name);
		return;
	}
	struct db_conn *c = api_conn(cx);
	if (!c)
		return;
	char state[TOKEN_BUF], nonce[48], verifier[48], challenge[48], cookie[65], err[256] = "";
	json_t *d = json_pack("{s:s}", "provider", name);
	char *data = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	enum store_rc rc =
	    data ? token_issue(c, TOKEN_OIDC_STATE, "os_", NULL, data, STATE_TTL_MS, state)
		 : STORE_ERROR;
	free(data);
	api_conn_release(cx);
	if (rc) {
		api_db_fail(r, rc, "oidc state");
		return;
	}
	derive(app, "nonce", state, nonce);
	derive(app, "pkce", state, verifier);
	oidc_pkce_challenge(verifier, challenge);
	char *url = oidc_authorize_url(name, state, nonce, challenge, err, sizeof err);
	if (!url) {
		log_warn("oidc provider unavailable",
			 json_pack("{s:s,s:s}", "provider", name, "error", err));
		http_add_header(r, "Retry-After", "30");
		http_problem(
		    r, 502, "oidc_unavailable",
		    "Signing in with %s is not possible right now: %s. Try again later, or "
		    "log in with your password.",
		    name, err);
		return;
	}
	cookie_value(state, cookie);
	char set[256];
	snprintf(
	    set, sizeof set, "%s=%s; Path=/api/v1/auth/oidc; Max-Age=600; HttpOnly; SameSite=Lax%s",
	    STATE_COOKIE, cookie, !strncmp(mail_public_url(), "https://", 8) ? "; Secure" : "");
	http_add_header(r, "Set-Cookie", set);
	http_add_header(r, "Cache-Control", "no-store");
	http_add_header(r, "Location", url);
	free(url);
	http_reply_empty(r, 302);
}

/* The cookie's value from the Cookie header into out, "" when absent. */
static void read_cookie(struct http_req *r, char out[65])
{
	out[0] = '\0';
	const char *h = http_header(r, "Cookie");
	size_t n = strlen(STATE_COOKIE);
	for (const char *p = h; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		if (!strncmp(p, STATE_COOKIE, n) && p[n] == '=') {
			p += n + 1;
			size_t l = strcspn(p, ";");
			if (l < 65) {
				memcpy(out, p, l);
				out[l] = '\0';
			}
			return;
		}
		p = strchr(p, ';');
	}
}

/*
 * A failed callback: a browser (Accept: text/html) goes back to the login
 * page with the code and the message; anything else gets problem+json.
 */
static void callback_fail(struct http_req *r, int status, const char *code, const char *detail)
{
	const char *accept = http_header(r, "Accept");
	if (accept && strstr(accept, "text/html")) {
		char *esc = NULL;
		size_t dl = strlen(detail);
		esc = malloc(dl * 3 + 1);
		if (esc) {
			char *o = esc;
			for (const unsigned char *p = (const unsigned char *)detail; *p; p++) {
				if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				    (*p >= '0' && *p <= '9') || strchr("-_.~", *p))
					*o++ = (char)*p;
				else
					o += sprintf(o, "%%%02X", *p);
			}
			*o = '\0';
			size_t ul = strlen(mail_public_url()) + strlen(esc) + 128;
			char *url = malloc(ul);
			if (url) {
				snprintf(url, ul, "%s/login?oidc_error=%s&message=%s",
					 mail_public_url(), code, esc);
				http_add_header(r, "Location", url);
				free(url);
				free(esc);
				http_reply_empty(r, 302);
				return;
			}
			free(esc);
		}
	}
	http_problem(r, status, code, "%s", detail);
}

/* Find, link or make the account for id. STORE_OK with u filled, or a reply made (returns -1). */
static int account_for(struct api_ctx *cx, const char *provider, const struct oidc_identity *id,
		       struct user *u, bool *created)
{
	struct http_req *r = cx->req;
	struct db_conn *c = api_conn(cx);
	char user_id[UUID_STR_LEN], detail[512];
	*created = false;
	if (!c)
		return -1;
	enum store_rc rc = identity_find(c, provider, id->subject, user_id);
	if (rc == STORE_OK) {
		rc = user_find(c, user_id, u);
		if (rc == STORE_OK)
			return 0;
	}
	if (rc != STORE_NOT_FOUND) {
		api_db_fail(r, rc, "find identity");
		return -1;
	}
	char email[EMAIL_BUF];
	const char *why;
	if (!id->email[0] || !id->email_verified) {
		snprintf(
		    detail, sizeof detail,
		    "Your e-mail address at %s is not verified (or was not shared), so it cannot "
		    "be used to sign in here. Verify it with %s, or sign up with a password.",
		    provider, provider);
		callback_fail(r, 403, "oidc_email_unverified", detail);
		return -1;
	}
	if (!api_email_normalize(id->email, email, sizeof email, &why)) {
		snprintf(detail, sizeof detail,
			 "The address %s gave (%.200s) cannot be used here: %s.", provider,
			 id->email, why);
		callback_fail(r, 403, "oidc_email_unusable", detail);
		return -1;
	}
	rc = user_find_by_email(c, email, u);
	if (rc == STORE_OK) {
		if (!u->email_verified_at) {
			snprintf(
			    detail, sizeof detail,
			    "An account with %s exists, but its address has not been verified "
			    "here, so it is not linked to %s. Log in with your password and verify "
			    "the address first.",
			    email, provider);
			callback_fail(r, 409, "oidc_link_unverified", detail);
			return -1;
		}
		rc = identity_link(c, provider, id->subject, u->id, email);
		if (rc == STORE_OK || rc == STORE_CONFLICT)
			return 0;
		api_db_fail(r, rc, "link identity");
		return -1;
	}
	if (rc != STORE_NOT_FOUND) {
		api_db_fail(r, rc, "find user");
		return -1;
	}
	/* A new account. Its password is random and unknown: "forgot password" can set one. */
	memset(u, 0, sizeof *u);
	snprintf(u->email, sizeof u->email, "%s", email);
	const char *why2;
	if (utf8_text_ok(id->given_name, &why2))
		snprintf(u->first_name, sizeof u->first_name, "%.100s", id->given_name);
	if (utf8_text_ok(id->family_name, &why2))
		snprintf(u->last_name, sizeof u->last_name, "%.100s", id->family_name);
	char pw[48];
	crypto_token(pw, sizeof pw, 32);
	api_conn_release(cx);
	if (password_gate_enter() < 0) {
		explicit_bzero(pw, sizeof pw);
		api_hash_busy(r);
		return -1;
	}
	int hrc = password_hash(pw, u->password_hash);
	password_gate_leave();
	explicit_bzero(pw, sizeof pw);
	if (hrc < 0) {
		http_problem_internal(r, "password hash");
		return -1;
	}
	if (!(c = api_conn(cx)))
		return -1;
	char org_name[NAME_BUF];
	if (u->first_name[0])
		snprintf(org_name, sizeof org_name, "%.380s's workspace", u->first_name);
	else
		snprintf(org_name, sizeof org_name, "%.*s's workspace", (int)strcspn(u->email, "@"),
			 u->email);
	struct membership m;
	rc = user_create(c, u, org_name, &m);
	if (rc == STORE_CONFLICT) { /* made meanwhile by another request: try again */
		callback_fail(r, 409, "oidc_retry",
			      "An account with this address was created at the same moment. Sign "
			      "in again.");
		return -1;
	}
	if (rc == STORE_OK)
		rc = user_mark_verified(c, u->id);
	if (rc == STORE_OK)
		rc = identity_link(c, provider, id->subject, u->id, email);
	if (rc) {
		api_db_fail(r, rc, "create account");
		return -1;
	}
	u->email_verified_at = time_now_ms();
	*created = true;
	return 0;
}

static void callback(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct app *app = api_app(r);
	const char *name = http_param(r, "name");
	char detail[640], err[400] = "";
	if (!oidc_known(name)) {
		no_provider(r, name);
		return;
	}
	const char *perr = http_query(r, "error"), *code = http_query(r, "code"),
		   *state = http_query(r, "state");
	if (perr) {
		const char *desc = http_query(r, "error_description");
		snprintf(detail, sizeof detail, "%s did not sign you in (%.64s%s%.200s).", name,
			 perr, desc ? ": " : "", desc ? desc : "");
		for (char *p = detail; *p; p++)
			if ((unsigned char)*p < 32)
				*p = ' ';
		callback_fail(r, 400, "oidc_denied", detail);
		return;
	}
	if (!state || !*state || !code || !*code || strlen(code) > 2048) {
		callback_fail(r, 400, "oidc_bad_request",
			      "The provider's answer lacks the code or the state. Start signing in "
			      "again.");
		return;
	}
	struct db_conn *c = api_conn(cx);
	if (!c)
		return;
	struct user_token t;
	enum store_rc rc = token_consume(c, TOKEN_OIDC_STATE, state, &t);
	api_conn_release(cx);
	if (rc == STORE_NOT_FOUND || rc == STORE_CONFLICT) {
		callback_fail(
		    r, 400, "oidc_bad_state",
		    rc == STORE_CONFLICT
			? "This sign-in was already finished or took longer than 10 minutes. "
			  "Start signing in again."
			: "This sign-in was not started here (unknown state). Start signing "
			  "in again from the login page.");
		return;
	}
	if (rc) {
		api_db_fail(r, rc, "oidc state");
		return;
	}
	json_t *d = json_loads(t.data, 0, NULL);
	const char *tp = json_string_value(json_object_get(d, "provider"));
	bool same = tp && !strcmp(tp, name);
	json_decref(d);
	char want[65], got[65];
	cookie_value(state, want);
	read_cookie(r, got);
	if (!same) {
		callback_fail(r, 400, "oidc_bad_state",
			      "This sign-in was started with another provider. Start again.");
		return;
	}
	if (!crypto_streq(want, got)) {
		callback_fail(r, 400, "oidc_browser_mismatch",
			      "This sign-in was started in another browser (or cookies are off). "
			      "Start signing in again in this browser.");
		return;
	}
	http_add_header(r, "Set-Cookie",
			STATE_COOKIE
			"=; Path=/api/v1/auth/oidc; Max-Age=0; HttpOnly; SameSite=Lax");
	char nonce[48], verifier[48];
	derive(app, "nonce", state, nonce);
	derive(app, "pkce", state, verifier);
	struct oidc_identity id;
	enum oidc_rc orc = oidc_finish(name, code, verifier, nonce, &id, err, sizeof err);
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	if (orc != OIDC_OK) {
		if ((c = api_conn(cx)))
			audit_record(c, NULL, NULL, "auth.oidc.failure", &ctx,
				     json_pack("{s:s,s:s}", "provider", name, "reason", err));
		api_conn_release(cx);
		snprintf(detail, sizeof detail, "Signing in with %s failed: %s.", name, err);
		callback_fail(r, orc == OIDC_UNAVAILABLE ? 502 : 401,
			      orc == OIDC_UNAVAILABLE ? "oidc_unavailable"
			      : orc == OIDC_REFUSED   ? "oidc_code_refused"
						      : "oidc_token_invalid",
			      detail);
		return;
	}
	struct user u;
	bool created;
	if (account_for(cx, name, &id, &u, &created) < 0)
		return;
	if (!(c = api_conn(cx)))
		return;
	char onetime[TOKEN_BUF];
	rc = token_issue(c, TOKEN_OIDC_CODE, "oc_", u.id, NULL, CODE_TTL_MS, onetime);
	if (rc) {
		api_db_fail(r, rc, "oidc code");
		return;
	}
	audit_record(c, NULL, u.id, created ? "auth.oidc.register" : "auth.oidc.success", &ctx,
		     json_pack("{s:s}", "provider", name));
	size_t ul = strlen(mail_public_url()) + TOKEN_BUF + 32;
	char *url = malloc(ul);
	if (!url) {
		http_problem_internal(r, "out of memory");
		return;
	}
	snprintf(url, ul, "%s/login?oidc_code=%s", mail_public_url(), onetime);
	explicit_bzero(onetime, sizeof onetime);
	http_add_header(r, "Cache-Control", "no-store");
	http_add_header(r, "Referrer-Policy", "no-referrer");
	http_add_header(r, "Location", url);
	free(url);
	http_reply_empty(r, 302);
}

struct exchange_in {
	const char *code;
};

static const struct jv_field EXCHANGE_FIELDS[] = {
    {.name = "code",
     .type = JV_STRING,
     .presence = JV_REQUIRED,
     .min_len = 1,
     .max_len = TOKEN_BUF,
     .dest = JV_DEST(struct exchange_in, code)},
};
static const struct jv_spec EXCHANGE_SPEC = {JV_FIELDS(EXCHANGE_FIELDS)};

static void exchange(struct api_ctx *cx)
{
	struct http_req *r = cx->req;
	struct db_conn *c = cx->conn;
	struct user_token t;
	enum store_rc rc =
	    token_consume(c, TOKEN_OIDC_CODE, API_IN(cx, struct exchange_in)->code, &t);
	if (rc == STORE_NOT_FOUND || rc == STORE_CONFLICT) {
		http_problem(
		    r, rc == STORE_CONFLICT ? 410 : 400, "oidc_code_invalid",
		    "This sign-in code was already used, has expired or is not valid. Sign "
		    "in again.");
		return;
	}
	struct user u;
	struct membership m;
	struct session s;
	char refresh[REFRESH_TOKEN_BUF], client[64];
	if (rc == STORE_OK)
		rc = user_find(c, t.user_id, &u);
	if (rc == STORE_OK)
		rc = user_personal_org(c, u.id, &m);
	api_client_addr(r, client);
	if (rc == STORE_OK)
		rc = session_start(c, u.id, m.org_id, client, http_header(r, "User-Agent"), &s,
				   refresh);
	if (rc) {
		api_db_fail(r, rc == STORE_NOT_FOUND ? STORE_ERROR : rc, "oidc login");
		return;
	}
	struct audit_ctx ctx;
	api_audit_ctx(r, &ctx);
	audit_record(c, m.org_id, u.id, "auth.login.success", &ctx,
		     json_pack("{s:s}", "via", "oidc"));
	api_reply_tokens(r, 200, &u, &m, &s, refresh);
}

static const struct route ROUTES[] = {
    {.method = M_GET, .pattern = "/api/v1/auth/oidc", .run = list_providers},
    {.method = M_GET, .pattern = "/api/v1/auth/oidc/{name}/start", .run = start},
    {.method = M_GET, .pattern = "/api/v1/auth/oidc/{name}/callback", .run = callback},
    {.method = M_POST,
     .pattern = "/api/v1/auth/oidc/exchange",
     .body = BODY_JSON,
     .json = &EXCHANGE_SPEC,
     .db = DB_CONN_HELD,
     .run = exchange},
};

size_t api_oidc_routes(const struct route **out)
{
	*out = ROUTES;
	return ARRAY_LEN(ROUTES);
}
