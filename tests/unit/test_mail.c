/*
 * Unit tests for mail/mail (issue 10 item 4): quoted-printable and RFC 2047
 * encoders, the RFC 5322 message with its multipart/alternative parts, and
 * refusing what would let a value inject headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "mail/mail.h"

/* Decode quoted-printable (soft breaks removed, CRLF kept as LF). Caller frees. */
static char *qp_decode(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	while (*s) {
		if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
			s += 3;
		} else if (s[0] == '=') {
			unsigned v;
			assert_int_equal(sscanf(s + 1, "%2X", &v), 1);
			*o++ = (char)v;
			s += 3;
		} else if (s[0] == '\r' && s[1] == '\n') {
			*o++ = '\n';
			s += 2;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* Every line (CRLF-separated) is at most 76 characters and there is no bare LF or CR. */
static void assert_lines(const char *s, size_t max)
{
	size_t col = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '\r') {
			assert_int_equal(p[1], '\n');
			p++;
			col = 0;
			continue;
		}
		assert_int_not_equal(*p, '\n');
		col++;
		assert_true(col <= max);
	}
}

static void test_qp(void **state)
{
	static const char *const cases[] = {
	    "plain ascii",
	    "Zoë says: 1 + 1 = 2, naïve café",
	    "trailing space \nand tab\t\nend ",
	    ".leading dot\n.again",
	    "a very long line that goes on and on and on and on and on and on and on and on and "
	    "on and on and on well past seventy-six characters 会議会議会議会議会議会議会議",
	    "crlf\r\nlines\r\n",
	    "",
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *enc = mail_qp_encode(cases[i], strlen(cases[i]));
		assert_non_null(enc);
		assert_lines(enc, 76);
		for (const char *p = enc; *p; p++)
			assert_true((unsigned char)*p < 128);
		char *dec = qp_decode(enc), *want = strdup(cases[i]), *w = want;
		/* CRLF in the input reads back as LF */
		for (char *r = want; *r; r++)
			if (!(r[0] == '\r' && r[1] == '\n'))
				*w++ = *r;
		*w = '\0';
		assert_string_equal(dec, want);
		free(dec);
		free(want);
		free(enc);
	}
	char *enc = mail_qp_encode("end \n", 5);
	assert_string_equal(enc, "end=20\r\n");
	free(enc);
	enc = mail_qp_encode("=", 1);
	assert_string_equal(enc, "=3D");
	free(enc);
	enc = mail_qp_encode(".x", 2);
	assert_string_equal(enc, "=2Ex");
	free(enc);
}

static void test_header_encode(void **state)
{
	char *h = mail_header_encode("Reset your IAM password");
	assert_string_equal(h, "Reset your IAM password");
	free(h);
	/* "=?" in plain text would read as an encoded word: it is encoded itself */
	h = mail_header_encode("odd =?x?= text");
	assert_true(strncmp(h, "=?UTF-8?B?", 10) == 0);
	free(h);
	const char *utf =
	    "Bienvenue, Zoë — 会議の議事録はこちら、会議の議事録はこちら、会議の議事録";
	h = mail_header_encode(utf);
	assert_non_null(h);
	assert_lines(h, 76);
	/* Decode every word and glue them back: the same text, no character split. */
	char joined[512] = "";
	for (const char *p = h; (p = strstr(p, "=?UTF-8?B?"));) {
		p += 10;
		const char *end = strstr(p, "?=");
		assert_non_null(end);
		unsigned char bin[128];
		size_t n;
		assert_int_equal(sodium_base642bin(bin, sizeof bin, p, (size_t)(end - p), NULL, &n,
						   NULL, sodium_base64_VARIANT_ORIGINAL),
				 0);
		bin[n] = '\0';
		assert_true(strlen((char *)bin) == n);
		strcat(joined, (char *)bin);
		p = end + 2;
	}
	assert_string_equal(joined, utf);
	free(h);
	assert_null(mail_header_encode("bad \xff utf-8"));
}

static void test_build(void **state)
{
	struct mail_msg m = {.from = "noreply@iam.test",
			     .from_name = "IAM",
			     .to = "zoe@example.com",
			     .subject = "Confirmez votre adresse — Zoë",
			     .text = "Hello Zoë,\n\nhttps://iam.test/verify-email?token=abc=def\n",
			     .html = "<p>Hello Zoë,</p><a href=\"https://iam.test/x\">go</a>",
			     .date_ms = 1796010000000LL};
	size_t len = 0;
	char *msg = mail_build(&m, &len);
	assert_non_null(msg);
	assert_int_equal(strlen(msg), len);
	assert_lines(msg, 998);
	char *body = strstr(msg, "\r\n\r\n");
	assert_non_null(body);
	*body = '\0';
	const char *head = msg;
	assert_non_null(strstr(head, "From: \"IAM\" <noreply@iam.test>\r\n"));
	assert_non_null(strstr(head, "To: zoe@example.com\r\n"));
	assert_non_null(strstr(head, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(head, "Date: Mon, 30 Nov 2026 03:40:00 +0000\r\n"));
	assert_non_null(strstr(head, "MIME-Version: 1.0\r\n"));
	const char *mid = strstr(head, "Message-ID: <");
	assert_non_null(mid);
	assert_true(strstr(mid, "@iam.test>\r\n") != NULL);
	const char *ct = strstr(head, "Content-Type: multipart/alternative; boundary=\"");
	assert_non_null(ct);
	char boundary[80], delim[96], close[100];
	assert_int_equal(
	    sscanf(ct, "Content-Type: multipart/alternative; boundary=\"%79[^\"]\"", boundary), 1);
	snprintf(delim, sizeof delim, "\r\n--%s\r\n", boundary);
	snprintf(close, sizeof close, "\r\n--%s--\r\n", boundary);
	const char *rest = body + 2; /* after the blank line */
	const char *p1 = strstr(rest, delim + 2), *p2 = p1 ? strstr(p1 + 1, delim) : NULL;
	assert_non_null(p1);
	assert_non_null(p2);
	assert_non_null(strstr(p2, close));
	assert_true(strstr(p1, "Content-Type: text/plain; charset=UTF-8\r\n") < p2);
	assert_non_null(strstr(p2, "Content-Type: text/html; charset=UTF-8\r\n"));
	/* The text part decodes back to the text (the '=' in the link encoded on the wire). */
	const char *tb = strstr(p1, "\r\n\r\n") + 4;
	char part[1024];
	snprintf(part, sizeof part, "%.*s", (int)(p2 - tb), tb);
	assert_non_null(strstr(part, "token=3Dabc=3Ddef"));
	char *dec = qp_decode(part);
	assert_non_null(strstr(dec, "Hello Zoë,\n\nhttps://iam.test/verify-email?token=abc=def"));
	free(dec);
	free(msg);

	/* Text only: a single part, no multipart. */
	m.html = NULL;
	m.message_id = "<fixed@iam.test>";
	msg = mail_build(&m, &len);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "Message-ID: <fixed@iam.test>\r\n"));
	assert_non_null(strstr(msg, "Content-Type: text/plain; charset=UTF-8\r\n"));
	assert_null(strstr(msg, "multipart"));
	free(msg);
}

static void test_refuses_injection(void **state)
{
	struct mail_msg m = {
	    .from = "noreply@iam.test", .to = "a@example.com", .subject = "Hi", .text = "x"};
	size_t len;
	const char *bad_to[] = {"a@example.com\r\nBcc: b@example.com",
				"A <a@example.com>",
				"a@b@c",
				"@example.com",
				"a@",
				"",
				"a b@example.com"};
	for (size_t i = 0; i < sizeof bad_to / sizeof *bad_to; i++) {
		m.to = bad_to[i];
		assert_false(mail_address_ok(bad_to[i]));
		assert_null(mail_build(&m, &len));
	}
	m.to = "a@example.com";
	m.subject = "Hi\r\nBcc: b@example.com";
	assert_null(mail_build(&m, &len));
	m.subject = "Hi";
	m.text = "bad \xc3\x28 utf-8";
	assert_null(mail_build(&m, &len));
	m.text = "ok";
	m.message_id = "<x>\r\nBcc: b@example.com";
	assert_null(mail_build(&m, &len));
	assert_true(mail_address_ok("first.last+tag@sub.example.com"));
}

static void test_send_unreachable(void **state)
{
	/* Port 9 on loopback is closed here: a server that is down means "try later". */
	char err[256] = "";
	enum mail_send_rc rc = mail_send("smtp://user:s3cret@127.0.0.1:9", "a@iam.test",
					 "b@example.com", "x\r\n", 3, err, sizeof err);
	assert_int_equal(rc, MAIL_TRY_LATER);
	assert_non_null(strstr(err, "127.0.0.1:9"));
	assert_null(strstr(err, "s3cret")); /* no credentials in the reason */
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qp),
	    cmocka_unit_test(test_header_encode),
	    cmocka_unit_test(test_build),
	    cmocka_unit_test(test_refuses_injection),
	    cmocka_unit_test(test_send_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
