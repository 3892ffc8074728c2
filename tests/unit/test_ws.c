/*
 * Unit tests for http/ws: the handshake's accept key (RFC 6455's example),
 * the per-socket outbound queue (shared messages, byte limit, order), and
 * the token bucket behind the rate limits; the hub with real sockets
 * (socketpairs): caps on unauthenticated sockets per address, and
 * authentication by the first message (a slow check on the auth thread, a
 * client that leaves while it runs, silence past the timeout).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http/ws.h"

#define ALICE "11111111-1111-4111-8111-111111111111"
#define BOB   "22222222-2222-4222-8222-222222222222"

static void test_accept_key(void **state)
{
	char out[29];
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(ws_accept_key(NULL, out), -1);
	assert_int_equal(ws_accept_key("", out), -1);
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", out), -1);	  /* short */
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ!=", out), -1);	  /* not base64 */
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZXNzc3M=", out), -1); /* not 16 bytes */
}

static void test_queue_limit_order_and_sharing(void **state)
{
	struct ws_queue a = {0}, b = {0};
	struct ws_msg *m1 = ws_msg_new("0123456789", 10), *m2 = ws_msg_new("abcdef", 6);
	assert_non_null(m1);
	assert_non_null(m2);
	/* One message, two queues: shared by reference. */
	assert_int_equal(ws_queue_push(&a, m1, 100), 0);
	assert_int_equal(ws_queue_push(&b, m1, 100), 0);
	assert_int_equal(m1->refs, 3);
	assert_int_equal(ws_queue_push(&a, m2, 16), 0); /* exactly at the limit */
	assert_int_equal(a.bytes, 16);
	assert_int_equal(ws_queue_push(&a, m2, 16), -1); /* past it: refused, nothing changed */
	assert_int_equal(a.bytes, 16);
	assert_int_equal(a.count, 2);
	assert_int_equal(m2->refs, 2);
	struct ws_msg *p = ws_queue_pop(&a);
	assert_ptr_equal(p, m1);
	ws_msg_unref(p);
	assert_int_equal(a.bytes, 6);
	ws_queue_clear(&a);
	assert_null(ws_queue_pop(&a));
	assert_int_equal(a.bytes, 0);
	assert_int_equal(m2->refs, 1);
	ws_queue_clear(&b);
	assert_int_equal(m1->refs, 1);
	ws_msg_unref(m1);
	ws_msg_unref(m2);
	ws_msg_unref(NULL);
}

static void test_bucket(void **state)
{
	struct ws_bucket b = {0};
	int64_t t = 1000000;
	int ok = 0;
	for (int i = 0; i < 100; i++)
		ok += ws_bucket_take(&b, 10.0, 20.0, t);
	assert_int_equal(ok, 20); /* the burst */
	assert_false(ws_bucket_take(&b, 10.0, 20.0, t + 50));
	assert_true(ws_bucket_take(&b, 10.0, 20.0, t + 100)); /* 10/s: one more after 100 ms */
	assert_false(ws_bucket_take(&b, 10.0, 20.0, t + 100));
	ok = 0;
	for (int i = 0; i < 100; i++)
		ok += ws_bucket_take(&b, 10.0, 20.0, t + 60000); /* refills to the burst, no more */
	assert_int_equal(ok, 20);
}

static void test_anon_cap_per_address(void **state)
{
	struct ws_hub_opts o = {.anon_per_addr = 2, .per_user = 1};
	struct ws_hub *h = ws_hub_new(&o);
	assert_non_null(h);
	assert_false(ws_hub_takes_anon(h)); /* no authenticate callback */
	assert_int_equal(ws_hub_reserve_anon(h, "10.0.0.1"), WS_OK);
	assert_int_equal(ws_hub_reserve_anon(h, "10.0.0.1"), WS_OK);
	assert_int_equal(ws_hub_reserve_anon(h, "10.0.0.1"), WS_ADDR_FULL);
	assert_int_equal(ws_hub_reserve_anon(h, "10.0.0.2"), WS_OK); /* another address */
	/* Per user counts apart. */
	assert_int_equal(ws_hub_reserve(h, ALICE), WS_OK);
	assert_int_equal(ws_hub_reserve(h, ALICE), WS_USER_FULL);
	assert_int_equal(ws_hub_count(h), 4);
	ws_hub_unreserve_anon(h, "10.0.0.1");
	assert_int_equal(ws_hub_reserve_anon(h, "10.0.0.1"), WS_OK);
	ws_hub_unreserve_anon(h, "10.0.0.9"); /* holds nothing: no change */
	assert_int_equal(ws_hub_count(h), 4);
	ws_hub_free(h);
}

/* A slow check: "good" is ALICE, anything else is refused. */
static int fake_auth(void *app, const char *ticket, const char *token, struct ws_accept *a,
		     char *reason, size_t reason_len)
{
	usleep(200 * 1000);
	const char *cred = ticket ? ticket : token;
	if (strcmp(cred, "good") != 0) {
		snprintf(reason, reason_len, "the ticket is not valid");
		return WS_AUTH_DENIED;
	}
	snprintf(a->user_id, sizeof a->user_id, "%s", ALICE);
	return WS_AUTH_OK;
}

/* A masked client text frame (payload < 126 bytes) on fd. */
static void send_text(int fd, const char *text)
{
	unsigned char f[256];
	size_t n = strlen(text);
	assert_true(n < 126);
	const unsigned char mask[4] = {1, 2, 3, 4};
	f[0] = 0x81;
	f[1] = (unsigned char)(0x80 | n);
	memcpy(f + 2, mask, 4);
	for (size_t i = 0; i < n; i++)
		f[6 + i] = (unsigned char)text[i] ^ mask[i % 4];
	assert_int_equal(write(fd, f, 6 + n), (ssize_t)(6 + n));
}

/* A masked client frame: opcode, FIN, payload (< 126 bytes) into f; its length. */
static size_t frame_of(unsigned char *f, int opcode, bool fin, const char *text)
{
	size_t n = strlen(text);
	const unsigned char mask[4] = {9, 8, 7, 6};
	f[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
	f[1] = (unsigned char)(0x80 | n);
	memcpy(f + 2, mask, 4);
	for (size_t i = 0; i < n; i++)
		f[6 + i] = (unsigned char)text[i] ^ mask[i % 4];
	return 6 + n;
}

/* The next server frame that is not a ping: its opcode, payload in out (NUL-ended); -1 on
 * EOF/timeout. */
static int read_frame(int fd, char *out, size_t cap)
{
	for (;;) {
		unsigned char hd[2];
		if (recv(fd, hd, 2, MSG_WAITALL) != 2)
			return -1;
		size_t n = hd[1] & 0x7f;
		assert_true(n < 126 && n < cap);
		if (n && recv(fd, out, n, MSG_WAITALL) != (ssize_t)n)
			return -1;
		out[n] = '\0';
		if ((hd[0] & 0x0f) != 0x9)
			return hd[0] & 0x0f;
	}
}

static int client_for(struct ws_hub *h, const char *path_user)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct ws_accept a = {.anonymous = true};
	snprintf(a.path_user_id, sizeof a.path_user_id, "%s", path_user);
	snprintf(a.addr, sizeof a.addr, "127.0.0.1");
	assert_int_equal(ws_hub_reserve_anon(h, a.addr), WS_OK);
	ws_hub_adopt(h, sv[1], NULL, 0, &a);
	return sv[0];
}

static void test_auth_by_first_message(void **state)
{
	struct ws_hub_opts o = {
	    .auth_timeout_s = 1, .anon_per_addr = 8, .park_ms = 50, .authenticate = fake_auth};
	struct ws_hub *h = ws_hub_new(&o);
	assert_non_null(h);
	assert_true(ws_hub_takes_anon(h));
	char buf[200];

	/* The right credential: authenticated, as ALICE. */
	int c1 = client_for(h, ALICE);
	send_text(c1, "{\"type\":\"auth\",\"ticket\":\"good\"}");
	assert_int_equal(read_frame(c1, buf, sizeof buf), 0x1);
	assert_string_equal(buf,
			    "{\"type\":\"authenticated\",\"data\":{\"user_id\":\"" ALICE "\"}}");
	/* Its slot moved from the address to ALICE: still counted once. */
	assert_int_equal(ws_hub_count(h), 1);

	/*
	 * An idle socket lets go of wslay's context between messages only: a
	 * message in two fragments with a pause (and a control ping) between,
	 * and a frame cut in three writes with pauses, still arrive whole.
	 */
	unsigned char f[3][128];
	size_t n0 = frame_of(f[0], 0x1, false, "{\"type\":\"ping\",");
	size_t n1 = frame_of(f[1], 0x9, true, "x");
	size_t n2 = frame_of(f[2], 0x0, true, "\"timestamp\":42}");
	assert_int_equal(write(c1, f[0], n0), (ssize_t)n0);
	usleep(600 * 1000); /* parked meanwhile */
	assert_int_equal(write(c1, f[1], n1), (ssize_t)n1);
	usleep(600 * 1000); /* parked meanwhile */
	assert_int_equal(write(c1, f[2], n2), (ssize_t)n2);
	unsigned char hd[2];
	assert_int_equal(recv(c1, hd, 2, MSG_WAITALL), 2); /* the pong of the control ping */
	assert_int_equal(hd[0] & 0x0f, 0xA);
	assert_int_equal(recv(c1, buf, hd[1] & 0x7f, MSG_WAITALL), hd[1] & 0x7f);
	assert_int_equal(read_frame(c1, buf, sizeof buf), 0x1);
	assert_string_equal(buf, "{\"type\":\"pong\",\"timestamp\":42}");
	n0 = frame_of(f[0], 0x1, true, "{\"type\":\"ping\",\"timestamp\":43}");
	assert_int_equal(write(c1, f[0], 1), 1);
	usleep(600 * 1000); /* parked meanwhile */
	assert_int_equal(write(c1, f[0] + 1, 8), 8);
	usleep(600 * 1000); /* parked meanwhile */
	assert_int_equal(write(c1, f[0] + 9, n0 - 9), (ssize_t)(n0 - 9));
	assert_int_equal(read_frame(c1, buf, sizeof buf), 0x1);
	assert_string_equal(buf, "{\"type\":\"pong\",\"timestamp\":43}");

	/* A wrong one, another message first, and ALICE's credential on BOB's path: 1008. */
	const char *bad[][2] = {{ALICE, "{\"type\":\"auth\",\"token\":\"bad\"}"},
				{ALICE, "{\"type\":\"ping\"}"},
				{BOB, "{\"type\":\"auth\",\"ticket\":\"good\"}"}};
	for (size_t i = 0; i < 3; i++) {
		int c = client_for(h, bad[i][0]);
		send_text(c, bad[i][1]);
		assert_int_equal(read_frame(c, buf, sizeof buf), 0x8);
		assert_int_equal(((unsigned char)buf[0] << 8) | (unsigned char)buf[1], 1008);
		close(c);
	}

	/* Silence past auth_timeout_s: 1008. */
	int c2 = client_for(h, ALICE);
	assert_int_equal(read_frame(c2, buf, sizeof buf), 0x8);
	assert_int_equal(((unsigned char)buf[0] << 8) | (unsigned char)buf[1], 1008);
	assert_non_null(strstr(buf + 2, "within 1 s"));
	close(c2);

	/* A client that leaves while its check runs, and one still checking when the hub stops. */
	int c3 = client_for(h, ALICE);
	send_text(c3, "{\"type\":\"auth\",\"ticket\":\"good\"}");
	usleep(50 * 1000);
	close(c3);
	int c4 = client_for(h, ALICE);
	send_text(c4, "{\"type\":\"auth\",\"ticket\":\"good\"}");
	usleep(400 * 1000);
	int c5 = client_for(h, ALICE);
	send_text(c5, "{\"type\":\"auth\",\"ticket\":\"good\"}");
	usleep(50 * 1000);
	ws_hub_free(h); /* no leak, no use after free (run under the sanitizers) */
	close(c1);
	close(c4);
	close(c5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accept_key),
	    cmocka_unit_test(test_queue_limit_order_and_sharing),
	    cmocka_unit_test(test_bucket),
	    cmocka_unit_test(test_anon_cap_per_address),
	    cmocka_unit_test(test_auth_by_first_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
