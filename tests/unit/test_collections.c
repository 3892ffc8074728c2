/*
 * Unit tests for the second source of access to a meeting (auth/authz.h
 * authz_meeting_access, authz_collection_role and their pure decisions)
 * over store/collections and store/shares: every organization role ×
 * every collection grant × outsiders, API keys and another active
 * organization; collection invitations (single use, highest grant kept);
 * share links (hashed, revoked, expired).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authn.h"
#include "auth/authz.h"
#include "core/log.h"
#include "core/macros.h"
#include "core/crypto.h"
#include "store/collections.h"
#include "store/meetings.h"
#include "store/shares.h"

#include "db_fixture.h"

/* The decision written out independently: org role × grant -> access. */
static void test_access_matrix(void **state)
{
	(void)state;
	/* Rows: ROLE_NONE, VIEWER, MEMBER, ADMIN, OWNER; columns: COLL_NONE..COLL_OWNER. */
	static const enum meeting_access WANT[5][4] = {
	    /* outsider */ {ACCESS_NONE, ACCESS_READ, ACCESS_EDIT, ACCESS_EDIT},
	    /* viewer   */ {ACCESS_READ, ACCESS_READ, ACCESS_EDIT, ACCESS_EDIT},
	    /* member   */ {ACCESS_EDIT, ACCESS_EDIT, ACCESS_EDIT, ACCESS_EDIT},
	    /* admin    */ {ACCESS_EDIT, ACCESS_EDIT, ACCESS_EDIT, ACCESS_EDIT},
	    /* owner    */ {ACCESS_EDIT, ACCESS_EDIT, ACCESS_EDIT, ACCESS_EDIT},
	};
	static const enum coll_role WANT_COLL[5][4] = {
	    {COLL_NONE, COLL_VIEWER, COLL_EDITOR, COLL_OWNER},
	    {COLL_VIEWER, COLL_VIEWER, COLL_EDITOR, COLL_OWNER},
	    {COLL_EDITOR, COLL_EDITOR, COLL_EDITOR, COLL_OWNER},
	    {COLL_OWNER, COLL_OWNER, COLL_OWNER, COLL_OWNER},
	    {COLL_OWNER, COLL_OWNER, COLL_OWNER, COLL_OWNER},
	};
	for (int r = ROLE_NONE; r <= ROLE_OWNER; r++)
		for (int g = COLL_NONE; g <= COLL_OWNER; g++) {
			assert_int_equal(authz_access_of((enum org_role)r, (enum coll_role)g),
					 WANT[r][g]);
			assert_int_equal(
			    authz_collection_role_of((enum org_role)r, (enum coll_role)g),
			    WANT_COLL[r][g]);
		}
	assert_int_equal(coll_role_parse("editor"), COLL_EDITOR);
	assert_int_equal(coll_role_parse("admin"), COLL_NONE);
	assert_int_equal(coll_role_parse(NULL), COLL_NONE);
	assert_string_equal(coll_role_name(COLL_OWNER), "owner");
}

static void new_meeting(struct fx *fx, const char *org, const char *user, char id[UUID_STR_LEN])
{
	struct meeting m;
	meeting_init(&m);
	snprintf(m.org_id, sizeof m.org_id, "%s", org);
	snprintf(m.created_by, sizeof m.created_by, "%s", user);
	snprintf(m.title, sizeof m.title, "Meeting");
	assert_int_equal(meeting_create(fx->c, &m), STORE_OK);
	snprintf(id, UUID_STR_LEN, "%s", m.id);
	meeting_clear(&m);
}

static void member_of(struct fx *fx, const char *org, const char *user, const char *role)
{
	assert_int_equal(db_exec(fx->c,
				 "INSERT INTO memberships (org_id, user_id, role, created_at)"
				 " VALUES ($1, $2, $3, 1)",
				 DB_PARAMS(DB_TEXT(org), DB_TEXT(user), DB_TEXT(role)), NULL),
			 DB_OK);
}

static struct principal who(const char *user, const char *org, enum org_role role, bool key)
{
	struct principal p;
	memset(&p, 0, sizeof p);
	snprintf(p.user_id, sizeof p.user_id, "%s", user);
	snprintf(p.org_id, sizeof p.org_id, "%s", org);
	p.role = role;
	p.via_api_key = key;
	return p;
}

static enum meeting_access access(struct fx *fx, const struct principal *p, const char *mid)
{
	enum meeting_access a = (enum meeting_access)99;
	char org[UUID_STR_LEN];
	assert_int_equal(authz_meeting_access(fx->c, p, mid, &a, org), 0);
	return a;
}

/* Members by role × grants × outsiders, against the database. */
static void test_meeting_access(void **state)
{
	FX(state);
	/* fx->org with fx->user; fx->org2 is user2's: user2 is the outsider. */
	char shared[UUID_STR_LEN], other[UUID_STR_LEN];
	member_of(fx, fx->org, fx->user, "member");
	new_meeting(fx, fx->org, fx->user, shared);
	new_meeting(fx, fx->org, fx->user, other);
	struct collection k;
	assert_int_equal(collection_create(fx->c, fx->org, "Board", fx->user, &k), STORE_OK);
	assert_int_equal(k.meeting_count, 0);
	assert_int_equal(collection_add_meeting(fx->c, fx->org, k.id, shared, fx->user), STORE_OK);
	/* Adding twice is fine and changes nothing. */
	assert_int_equal(collection_add_meeting(fx->c, fx->org, k.id, shared, fx->user), STORE_OK);
	assert_int_equal(collection_get(fx->c, k.id, &k), STORE_OK);
	assert_int_equal(k.meeting_count, 1);

	/* Members of the meeting's organization, active there: by role alone. */
	for (int r = ROLE_VIEWER; r <= ROLE_OWNER; r++) {
		struct principal p = who(fx->user2, fx->org, (enum org_role)r, false);
		enum meeting_access want = r == ROLE_VIEWER ? ACCESS_READ : ACCESS_EDIT;
		assert_int_equal(access(fx, &p, shared), want);
		assert_int_equal(access(fx, &p, other), want);
	}
	/* The outsider (active in their own organization) without a grant: nothing. */
	struct principal out = who(fx->user2, fx->org2, ROLE_OWNER, false);
	assert_int_equal(access(fx, &out, shared), ACCESS_NONE);
	enum coll_role cr;
	assert_int_equal(authz_collection_role(fx->c, &out, k.id, &cr), 0);
	assert_int_equal(cr, COLL_NONE);

	/* Each grant: the collection's meeting only, never the other one. */
	static const struct {
		enum coll_role grant;
		enum meeting_access want;
	} G[] = {{COLL_VIEWER, ACCESS_READ}, {COLL_EDITOR, ACCESS_EDIT}, {COLL_OWNER, ACCESS_EDIT}};
	for (size_t i = 0; i < ARRAY_LEN(G); i++) {
		assert_int_equal(
		    collection_grant_set(fx->c, fx->org, k.id, fx->user2, G[i].grant, fx->user),
		    STORE_OK);
		assert_int_equal(access(fx, &out, shared), G[i].want);
		assert_int_equal(access(fx, &out, other), ACCESS_NONE);
		assert_int_equal(authz_collection_role(fx->c, &out, k.id, &cr), 0);
		assert_int_equal(cr, G[i].grant);
		/* An organization viewer with an editor grant edits the shared meeting only. */
		struct principal v = who(fx->user2, fx->org, ROLE_VIEWER, false);
		assert_int_equal(access(fx, &v, shared),
				 G[i].grant >= COLL_EDITOR ? ACCESS_EDIT : ACCESS_READ);
		assert_int_equal(access(fx, &v, other), ACCESS_READ);
		/* An API key acts in its organization only: grants are people's. */
		struct principal key = who(fx->user2, fx->org2, ROLE_OWNER, true);
		assert_int_equal(access(fx, &key, shared), ACCESS_NONE);
	}
	/* A member whose active organization is another one reaches it by grants only. */
	struct principal elsewhere = who(fx->user, fx->org2, ROLE_OWNER, false);
	assert_int_equal(access(fx, &elsewhere, other), ACCESS_NONE);
	assert_int_equal(access(fx, &elsewhere, shared), ACCESS_EDIT); /* the creator owns it */
	/* ... while a member: removed from the organization, their own grant ends too. */
	assert_int_equal(db_exec(fx->c,
				 "DELETE FROM memberships WHERE org_id = $1 AND user_id = $2",
				 DB_PARAMS(DB_TEXT(fx->org), DB_TEXT(fx->user)), NULL),
			 DB_OK);
	assert_int_equal(access(fx, &elsewhere, shared), ACCESS_NONE);
	assert_int_equal(authz_collection_role(fx->c, &elsewhere, k.id, &cr), 0);
	assert_int_equal(cr, COLL_NONE);
	/* A grant from an invitation outlives a membership (it was given to the person). */
	assert_int_equal(access(fx, &out, shared), ACCESS_EDIT);
	member_of(fx, fx->org, fx->user, "member");

	/* Out of the collection: the grant no longer reaches the meeting. */
	assert_int_equal(collection_remove_meeting(fx->c, k.id, shared), STORE_OK);
	assert_int_equal(collection_remove_meeting(fx->c, k.id, shared), STORE_NOT_FOUND);
	assert_int_equal(access(fx, &out, shared), ACCESS_NONE);
	/* Unknown meeting: none, not an error. */
	assert_int_equal(access(fx, &out, "019a0000-0000-7000-8000-000000000000"), ACCESS_NONE);

	/* Listing: the organization's collections for members; grants for the guest. */
	struct collection k2;
	assert_int_equal(collection_create(fx->c, fx->org, "Private", fx->user, &k2), STORE_OK);
	struct collection *list;
	size_t n;
	assert_int_equal(collection_list(fx->c, fx->org, fx->user, NULL, 10, &list, &n), STORE_OK);
	assert_int_equal(n, 2);
	free(list);
	assert_int_equal(collection_list(fx->c, NULL, fx->user2, NULL, 10, &list, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].id, k.id);
	free(list);
	/* Deleting the collection takes its grants with it. */
	assert_int_equal(collection_delete(fx->c, fx->org, k.id), STORE_OK);
	assert_int_equal(authz_collection_role(fx->c, &out, k.id, &cr), 0);
	assert_int_equal(cr, COLL_NONE);
}

static void test_invitations(void **state)
{
	FX(state);
	struct collection k;
	member_of(fx, fx->org, fx->user, "owner");
	assert_int_equal(collection_create(fx->c, fx->org, "Sales", fx->user, &k), STORE_OK);
	struct coll_invitation inv, again, got;
	char token[COLL_TOKEN_BUF], token2[COLL_TOKEN_BUF];
	assert_int_equal(
	    coll_invite_create(fx->c, &k, "guest@example.com", COLL_EDITOR, fx->user, &inv, token),
	    STORE_OK);
	assert_memory_equal(token, "cin_", 4);
	assert_true(strlen(token) >= 4 + 43); /* 256 bits in base64url */
	/* A second invitation to the same address revokes the first. */
	assert_int_equal(coll_invite_create(fx->c, &k, "guest@example.com", COLL_VIEWER, fx->user,
					    &again, token2),
			 STORE_OK);
	assert_int_equal(coll_invite_find(fx->c, token, &got), STORE_OK);
	assert_int_equal(coll_invite_state(&got, time_now_ms()), CINV_REVOKED);
	assert_int_equal(coll_invite_accept(fx->c, got.id, fx->user2), STORE_STALE);
	assert_int_equal(coll_invite_find(fx->c, "cin_guess", &got), STORE_NOT_FOUND);
	/* Only the hash is stored. */
	int rc;
	struct db_res *r =
	    db_query(fx->c, "SELECT token_hash FROM collection_invitations WHERE id = $1",
		     DB_PARAMS(DB_TEXT(again.id)), &rc);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	char hash[65];
	crypto_sha256_hex(token2, strlen(token2), hash);
	assert_string_equal(db_text(r, 0), hash);
	db_res_free(r);
	/* The user already holds editor: accepting a viewer invitation keeps editor. */
	assert_int_equal(
	    collection_grant_set(fx->c, fx->org, k.id, fx->user2, COLL_EDITOR, fx->user), STORE_OK);
	assert_int_equal(coll_invite_accept(fx->c, again.id, fx->user2), STORE_OK);
	enum coll_role g;
	assert_int_equal(collection_grant_of(fx->c, k.id, fx->user2, &g), STORE_OK);
	assert_int_equal(g, COLL_EDITOR);
	/* Single use. */
	assert_int_equal(coll_invite_accept(fx->c, again.id, fx->user2), STORE_STALE);
	struct collection_member *mem;
	size_t n;
	assert_int_equal(collection_members(fx->c, k.id, 10, &mem, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(mem[0].role, COLL_OWNER);
	free(mem);
}

static void test_share_links(void **state)
{
	FX(state);
	char mid[UUID_STR_LEN];
	new_meeting(fx, fx->org, fx->user, mid);
	struct share_link s, got;
	char token[SHARE_TOKEN_BUF];
	assert_int_equal(share_create(fx->c, fx->org, mid, fx->user, 0, &s, token), STORE_OK);
	assert_memory_equal(token, "shr_", 4);
	assert_true(strlen(token) >= 4 + 43);
	char hash[65];
	crypto_sha256_hex(token, strlen(token), hash);
	assert_string_equal(s.token_hash, hash);
	int64_t now = time_now_ms();
	assert_int_equal(share_find_live(fx->c, token, now, &got), STORE_OK);
	assert_string_equal(got.meeting_id, mid);
	assert_int_equal(share_find_live(fx->c, "shr_x", now, &got), STORE_NOT_FOUND);
	/* Another organization cannot revoke it. */
	assert_int_equal(share_revoke(fx->c, fx->org2, mid, s.id), STORE_NOT_FOUND);
	assert_int_equal(share_revoke(fx->c, fx->org, mid, s.id), STORE_OK);
	assert_int_equal(share_find_live(fx->c, token, now, &got), STORE_NOT_FOUND);
	assert_int_equal(share_revoke(fx->c, fx->org, mid, s.id), STORE_NOT_FOUND);
	/* Expiry. */
	assert_int_equal(share_create(fx->c, fx->org, mid, fx->user, now + 1000, &s, token),
			 STORE_OK);
	assert_int_equal(share_find_live(fx->c, token, now, &got), STORE_OK);
	assert_int_equal(share_find_live(fx->c, token, now + 1000, &got), STORE_NOT_FOUND);
	struct share_link *list;
	size_t n;
	assert_int_equal(share_list(fx->c, fx->org, mid, 10, &list, &n), STORE_OK);
	assert_int_equal(n, 1);
	free(list);
}

int main(void)
{
	if (!getenv("IAM_TEST_LOG"))
		log_set_level(LOG_ERROR + 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_access_matrix), ST(test_meeting_access, KIND_SQLITE),
	    ST(test_meeting_access, KIND_PG),	  ST(test_invitations, KIND_SQLITE),
	    ST(test_invitations, KIND_PG),	  ST(test_share_links, KIND_SQLITE),
	    ST(test_share_links, KIND_PG),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
