/*
 * test_messages.c — the inbox store (store/messages.c) and notifications
 * (store/notifications.c): who may write to whom, folders, each side's own
 * flags and delete, bulk actions that touch only the caller's messages,
 * threads, search with wildcards, preferences.
 *
 * SQLite in a fresh temporary directory, and PostgreSQL when
 * IAM_TEST_PG_URL names a database (skipped without it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/uuid.h"
#include "store/db.h"
#include "store/messages.h"
#include "store/migrate.h"
#include "store/notifications.h"

#include "db_fixture.h"

static void join(struct fx *fx, const char *org, const char *user)
{
	assert_int_equal(db_exec(fx->c,
				 "INSERT INTO memberships (org_id, user_id, role, created_at)"
				 " VALUES ($1, $2, 'member', $3)",
				 DB_PARAMS(DB_TEXT(org), DB_TEXT(user), DB_INT(time_now_ms())),
				 NULL),
			 DB_OK);
}

/* fx->user and fx->user2 share fx->org; each also has their own. */
static void share(struct fx *fx)
{
	join(fx, fx->org, fx->user);
	join(fx, fx->org2, fx->user2);
	join(fx, fx->org, fx->user2);
}

static void send_ok(struct fx *fx, const char *from, const char *to, const char *subject,
		    const char *body, const char *reply_to, char id[UUID_STR_LEN])
{
	struct message m;
	const char *what = NULL;
	struct msg_new in = {.sender_id = from,
			     .recipient_id = to,
			     .subject = subject,
			     .body = body,
			     .reply_to = reply_to};
	assert_int_equal(msg_send(fx->c, &in, &m, &what), STORE_OK);
	assert_string_equal(m.subject, subject);
	assert_string_equal(m.sender.id, from);
	assert_string_equal(m.recipient.id, to);
	if (id)
		snprintf(id, UUID_STR_LEN, "%s", m.id);
	message_clear(&m);
}

static size_t count(struct fx *fx, const char *viewer, enum msg_folder folder, bool unread,
		    const char *q)
{
	struct message *ms = NULL;
	size_t n = 0;
	struct msg_filter f = {.folder = folder, .unread = unread, .q = q};
	assert_int_equal(msg_list(fx->c, viewer, &f, 100, &ms, &n), STORE_OK);
	message_free_array(ms, n);
	return n;
}

static void test_membership_rule(void **state)
{
	FX(state);
	struct message m;
	const char *what = NULL;
	struct msg_new in = {
	    .sender_id = fx->user, .recipient_id = fx->user2, .subject = "Hi", .body = "there"};
	join(fx, fx->org, fx->user);
	join(fx, fx->org2, fx->user2);
	/* Strangers: not found, whatever the recipient id. */
	assert_int_equal(msg_send(fx->c, &in, &m, &what), STORE_NOT_FOUND);
	assert_string_equal(what, "recipient");
	char nobody[UUID_STR_LEN];
	uuid_v7(nobody);
	in.recipient_id = nobody;
	assert_int_equal(msg_send(fx->c, &in, &m, &what), STORE_NOT_FOUND);
	/* Oneself: always. */
	in.recipient_id = fx->user;
	assert_int_equal(msg_send(fx->c, &in, &m, &what), STORE_OK);
	message_clear(&m);
	/* Once they share an organization. */
	join(fx, fx->org, fx->user2);
	in.recipient_id = fx->user2;
	assert_int_equal(msg_send(fx->c, &in, &m, &what), STORE_OK);
	message_clear(&m);
	/* A meeting of an organization the sender is not in is refused. */
	char meeting[UUID_STR_LEN];
	uuid_v7(meeting);
	assert_int_equal(db_exec(fx->c,
				 "INSERT INTO meetings (id, org_id, title, created_at, updated_at)"
				 " VALUES ($1, $2, 'Board', 1, 1)",
				 DB_PARAMS(DB_TEXT(meeting), DB_TEXT(fx->org2)), NULL),
			 DB_OK);
	in.meeting_id = meeting;
	assert_int_equal(msg_send(fx->c, &in, &m, &what), STORE_NOT_FOUND);
	assert_string_equal(what, "meeting_id");
	/* ... while user2 (a member of org2) may link it, with a time. */
	in.sender_id = fx->user2;
	in.recipient_id = fx->user;
	in.has_at = true;
	in.at_seconds = 12.5;
	assert_int_equal(msg_send(fx->c, &in, &m, &what), STORE_OK);
	assert_string_equal(m.meeting_id, meeting);
	assert_string_equal(m.meeting_title, "Board");
	assert_true(m.has_at);
	assert_true(m.at_seconds > 12.4 && m.at_seconds < 12.6);
	message_clear(&m);
}

static void test_folders_and_sides(void **state)
{
	FX(state);
	share(fx);
	char a[UUID_STR_LEN], b[UUID_STR_LEN];
	send_ok(fx, fx->user, fx->user2, "Budget", "100% sure", NULL, a);
	send_ok(fx, fx->user, fx->user2, "Lunch", "at noon", NULL, b);
	assert_int_equal(count(fx, fx->user2, MSG_FOLDER_INBOX, false, NULL), 2);
	assert_int_equal(count(fx, fx->user2, MSG_FOLDER_INBOX, true, NULL), 2);
	assert_int_equal(count(fx, fx->user, MSG_FOLDER_SENT, false, NULL), 2);
	assert_int_equal(count(fx, fx->user, MSG_FOLDER_INBOX, false, NULL), 0);
	assert_int_equal(count(fx, fx->user2, MSG_FOLDER_SENT, false, NULL), 0);

	/* The recipient reads, stars, archives: only their side changes. */
	assert_int_equal(msg_update(fx->c, fx->user2, a, 1, 1, -1), STORE_OK);
	assert_int_equal(msg_update(fx->c, fx->user2, b, -1, -1, 1), STORE_OK);
	assert_int_equal(count(fx, fx->user2, MSG_FOLDER_INBOX, false, NULL), 1);
	assert_int_equal(count(fx, fx->user2, MSG_FOLDER_INBOX, true, NULL), 0);
	assert_int_equal(count(fx, fx->user2, MSG_FOLDER_STARRED, false, NULL), 1);
	assert_int_equal(count(fx, fx->user2, MSG_FOLDER_ARCHIVED, false, NULL), 1);
	assert_int_equal(count(fx, fx->user, MSG_FOLDER_STARRED, false, NULL), 0);
	assert_int_equal(count(fx, fx->user, MSG_FOLDER_SENT, false, NULL), 2);
	struct message m;
	assert_int_equal(msg_get(fx->c, fx->user, a, &m), STORE_OK);
	assert_false(m.is_starred);
	assert_true(m.is_read); /* the sender's own copy */
	message_clear(&m);
	assert_int_equal(msg_get(fx->c, fx->user2, a, &m), STORE_OK);
	assert_true(m.is_starred);
	assert_true(m.is_read);
	message_clear(&m);

	struct msg_stats st;
	assert_int_equal(msg_stats(fx->c, fx->user2, &st), STORE_OK);
	assert_int_equal(st.total, 2);
	assert_int_equal(st.unread, 0); /* b is unread but archived */
	assert_int_equal(st.starred, 1);
	assert_int_equal(st.archived, 1);
	assert_int_equal(st.sent, 0);
	assert_int_equal(msg_stats(fx->c, fx->user, &st), STORE_OK);
	assert_int_equal(st.total, 0);
	assert_int_equal(st.sent, 2);

	/* Search: wildcards are literal, case does not matter. */
	assert_int_equal(count(fx, fx->user, MSG_FOLDER_SENT, false, "100%"), 1);
	assert_int_equal(count(fx, fx->user, MSG_FOLDER_SENT, false, "0_s"), 0);
	assert_int_equal(count(fx, fx->user, MSG_FOLDER_SENT, false, "LUNCH"), 1);
	assert_int_equal(count(fx, fx->user, MSG_FOLDER_SENT, false, "%"), 1);

	/* Per-side delete: the recipient's copy goes, the sender keeps theirs. */
	assert_int_equal(msg_delete(fx->c, fx->user2, a), STORE_OK);
	assert_int_equal(msg_get(fx->c, fx->user2, a, &m), STORE_NOT_FOUND);
	assert_int_equal(msg_delete(fx->c, fx->user2, a), STORE_NOT_FOUND);
	assert_int_equal(msg_update(fx->c, fx->user2, a, 0, -1, -1), STORE_NOT_FOUND);
	assert_int_equal(msg_get(fx->c, fx->user, a, &m), STORE_OK);
	message_clear(&m);
	assert_int_equal(msg_delete(fx->c, fx->user, a), STORE_OK);
	assert_int_equal(msg_get(fx->c, fx->user, a, &m), STORE_NOT_FOUND);
	/* Both sides gone: so is the row. */
	struct db_res *r = db_query(fx->c, "SELECT COUNT(*) FROM messages WHERE id = $1",
				    DB_PARAMS(DB_TEXT(a)), NULL);
	assert_non_null(r);
	assert_int_equal(db_next(r), 1);
	assert_int_equal(db_int(r, 0), 0);
	db_res_free(r);
}

static void test_paging_and_thread(void **state)
{
	FX(state);
	share(fx);
	char first[UUID_STR_LEN], second[UUID_STR_LEN], id[UUID_STR_LEN];
	send_ok(fx, fx->user, fx->user2, "Q1", "first", NULL, first);
	send_ok(fx, fx->user2, fx->user, "Re: Q1", "answer", first, second);
	send_ok(fx, fx->user, fx->user2, "Re: Q1", "thanks", second, id);
	send_ok(fx, fx->user, fx->user2, "Other", "x", NULL, NULL);
	struct message m;
	assert_int_equal(msg_get(fx->c, fx->user2, id, &m), STORE_OK);
	assert_string_equal(m.thread_id, first);
	assert_string_equal(m.reply_to, second);
	message_clear(&m);

	struct message *ms = NULL;
	size_t n = 0;
	struct msg_filter f = {.thread_id = first};
	assert_int_equal(msg_list(fx->c, fx->user, &f, 100, &ms, &n), STORE_OK);
	assert_int_equal(n, 3);
	message_free_array(ms, n);

	/* A reply to a message one cannot see is refused. */
	char u3[UUID_STR_LEN], o3[UUID_STR_LEN];
	make_account(fx, o3, u3);
	join(fx, o3, u3);
	const char *what = NULL;
	struct msg_new in = {
	    .sender_id = u3, .recipient_id = u3, .subject = "s", .body = "b", .reply_to = first};
	assert_int_equal(msg_send(fx->c, &in, &m, &what), STORE_NOT_FOUND);
	assert_string_equal(what, "reply_to");

	/* Pages of one, newest first, through the cursor. */
	f = (struct msg_filter){.folder = MSG_FOLDER_SENT};
	char cursor[UUID_STR_LEN] = "";
	size_t total = 0;
	for (int page = 0; page < 10; page++) {
		f.before = cursor[0] ? cursor : NULL;
		assert_int_equal(msg_list(fx->c, fx->user, &f, 1, &ms, &n), STORE_OK);
		if (n == 0) {
			message_free_array(ms, n);
			break;
		}
		if (cursor[0])
			assert_true(strcmp(ms[0].id, cursor) < 0);
		snprintf(cursor, sizeof cursor, "%s", ms[0].id);
		total += n;
		message_free_array(ms, n);
	}
	assert_int_equal(total, 3);
}

static void test_bulk_only_mine(void **state)
{
	FX(state);
	share(fx);
	char u3[UUID_STR_LEN], o3[UUID_STR_LEN];
	make_account(fx, o3, u3);
	join(fx, o3, u3);
	char mine[UUID_STR_LEN], foreign[UUID_STR_LEN], unknown[UUID_STR_LEN];
	send_ok(fx, fx->user, fx->user2, "to 2", "b", NULL, mine);
	send_ok(fx, u3, u3, "u3 alone", "b", NULL, foreign);
	uuid_v7(unknown);
	const char *ids[] = {mine, foreign, unknown};
	bool ok[3] = {true, true, true};
	assert_int_equal(msg_bulk(fx->c, fx->user2, ids, 3, MSG_STAR, ok), STORE_OK);
	assert_true(ok[0]);
	assert_false(ok[1]);
	assert_false(ok[2]);
	assert_int_equal(msg_bulk(fx->c, fx->user2, ids, 3, MSG_DELETE, ok), STORE_OK);
	assert_true(ok[0]);
	assert_false(ok[1]);
	/* u3's message is untouched. */
	struct message m;
	assert_int_equal(msg_get(fx->c, u3, foreign, &m), STORE_OK);
	assert_false(m.is_starred);
	message_clear(&m);
	/* The sender's copy of the deleted one is still there. */
	assert_int_equal(msg_get(fx->c, fx->user, mine, &m), STORE_OK);
	message_clear(&m);
	/* Contacts: people who share an organization, not u3. */
	struct msg_person *ps = NULL;
	size_t n = 0;
	assert_int_equal(msg_contacts(fx->c, fx->user, NULL, 50, &ps, &n), STORE_OK);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(ps[i].id, u3);
	free(ps);
}

static int events;
static void on_event(void *ctx, const struct bus_event *ev)
{
	(void)ctx;
	if (strcmp(ev->type, "notification") == 0)
		events++;
}

static void test_notifications(void **state)
{
	FX(state);
	struct bus *bus = bus_new();
	assert_non_null(bus);
	int h = bus_subscribe(bus, on_event, NULL);
	events = 0;
	assert_int_equal(notify(fx->c, bus, fx->user, "new_message", "Hello", NULL), STORE_OK);
	assert_int_equal(notify(fx->c, bus, fx->user, "transcription_completed", "Done", NULL),
			 STORE_OK);
	assert_int_equal(events, 2);
	int64_t unread = 0;
	assert_int_equal(notif_unread_count(fx->c, fx->user, &unread), STORE_OK);
	assert_int_equal(unread, 2);
	/* Turned off in the app: nothing stored, nothing published. */
	struct notif_pref off = {.in_app = false, .email = true};
	assert_int_equal(notif_pref_set(fx->c, fx->user, "new_message", &off), STORE_OK);
	assert_int_equal(notify(fx->c, bus, fx->user, "new_message", "Again", NULL), STORE_OK);
	assert_int_equal(events, 2);
	struct notif_pref prefs[NOTIF_TYPE_COUNT];
	assert_int_equal(notif_prefs_all(fx->c, fx->user, prefs), STORE_OK);
	assert_false(prefs[0].in_app);
	assert_true(prefs[0].email);
	assert_true(prefs[1].in_app);

	struct notification *ns = NULL;
	size_t n = 0;
	assert_int_equal(notif_list(fx->c, fx->user, true, NULL, 10, &ns, &n), STORE_OK);
	assert_int_equal(n, 2);
	/* Another user cannot mark mine read. */
	assert_int_equal(notif_mark_read(fx->c, fx->user2, ns[0].id), STORE_NOT_FOUND);
	assert_int_equal(notif_mark_read(fx->c, fx->user, ns[0].id), STORE_OK);
	free(ns);
	assert_int_equal(notif_unread_count(fx->c, fx->user, &unread), STORE_OK);
	assert_int_equal(unread, 1);
	int64_t changed = 0;
	assert_int_equal(notif_mark_all_read(fx->c, fx->user, &changed), STORE_OK);
	assert_int_equal(changed, 1);

	/* Content is cut on a character boundary. */
	char big[NOTIF_CONTENT_MAX + 10];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	memcpy(big + NOTIF_CONTENT_MAX - 1, "\xc3\xa9", 2); /* é across the limit */
	assert_int_equal(notify(fx->c, NULL, fx->user2, "mention", big, NULL), STORE_OK);
	assert_int_equal(notif_list(fx->c, fx->user2, false, NULL, 10, &ns, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(ns[0].content), NOTIF_CONTENT_MAX - 1);
	free(ns);
	bus_unsubscribe(bus, h);
	bus_free(bus);
}

static void test_like_pattern(void **state)
{
	(void)state;
	char out[32];
	assert_true(msg_like_pattern("A%b_c!", out, sizeof out));
	assert_string_equal(out, "%a!%b!_c!!%");
	assert_false(msg_like_pattern("0123456789012345678901234567890", out, sizeof out));
	assert_int_equal(msg_folder_parse("archived"), MSG_FOLDER_ARCHIVED);
	assert_int_equal(msg_folder_parse("trash"), -1);
	assert_int_equal(msg_action_parse("unarchive"), MSG_UNARCHIVE);
	assert_int_equal(msg_action_parse("purge"), -1);
}

int main(void)
{
	if (!getenv("IAM_TEST_LOG"))
		log_set_level(LOG_ERROR + 1);
	// clang-format off
	const struct CMUnitTest sqlite_tests[] = {
		cmocka_unit_test(test_like_pattern),
		ST(test_membership_rule, KIND_SQLITE),
		ST(test_folders_and_sides, KIND_SQLITE),
		ST(test_paging_and_thread, KIND_SQLITE),
		ST(test_bulk_only_mine, KIND_SQLITE),
		ST(test_notifications, KIND_SQLITE),
	};
	const struct CMUnitTest pg_tests[] = {
		ST(test_membership_rule, KIND_PG),
		ST(test_folders_and_sides, KIND_PG),
		ST(test_paging_and_thread, KIND_PG),
		ST(test_bulk_only_mine, KIND_PG),
		ST(test_notifications, KIND_PG),
	};
	// clang-format on
	int failed = cmocka_run_group_tests_name("messages_sqlite", sqlite_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("messages_postgres", pg_tests, NULL, NULL);
	return failed ? 1 : 0;
}
