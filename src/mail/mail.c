#include "mail/mail.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "core/uuid.h"
#include "core/log.h"
#include "store/jobs.h"
#include "store/users.h"

/* ---------- settings ---------- */

static char *g_smtp_url, *g_from, *g_public_url;

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

void mail_configure(const char *smtp_url, const char *from, const char *public_url)
{
	free(g_smtp_url);
	free(g_from);
	free(g_public_url);
	g_smtp_url = dup_or_null(smtp_url);
	g_from = dup_or_null(from);
	g_public_url = dup_or_null(public_url);
	if (g_public_url) {
		size_t n = strlen(g_public_url);
		while (n && g_public_url[n - 1] == '/')
			g_public_url[--n] = '\0';
	}
}

bool mail_enabled(void)
{
	return g_smtp_url != NULL;
}

const char *mail_public_url(void)
{
	return g_public_url ? g_public_url : "";
}

/* ---------- addresses and ids ---------- */

bool mail_address_ok(const char *a)
{
	if (!a)
		return false;
	size_t n = strlen(a);
	const char *at = strchr(a, '@');
	if (n == 0 || n > MAIL_ADDRESS_MAX || !at || at == a || !at[1] || strchr(at + 1, '@'))
		return false;
	for (const char *p = a; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' || ch >= 0x7f || strchr("<>()[]\\,;:\"", ch))
			return false;
	}
	return true;
}

void mail_message_id(const char *from, char out[MAIL_MESSAGE_ID_MAX])
{
	char id[UUID_STR_LEN];
	uuid_v7(id);
	const char *at = from ? strchr(from, '@') : NULL;
	const char *domain = at && at[1] ? at + 1 : "iam.invalid";
	snprintf(out, MAIL_MESSAGE_ID_MAX, "<%s@%.100s>", id, domain);
}

/* ---------- encoders ---------- */

static const char HEX[] = "0123456789ABCDEF";

char *mail_qp_encode(const char *text, size_t len)
{
	struct buf b = {0};
	size_t col = 0;
	int bad = 0;
	for (size_t i = 0; i < len && !bad; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '\r' && i + 1 < len && text[i + 1] == '\n')
			continue; /* CRLF: the LF below ends the line */
		if (ch == '\n') {
			bad |= buf_puts(&b, "\r\n");
			col = 0;
			continue;
		}
		/* Whitespace at the end of a line would be lost in transport: encode it. */
		bool eol = i + 1 == len || text[i + 1] == '\n' ||
			   (text[i + 1] == '\r' && i + 2 < len && text[i + 2] == '\n');
		bool literal =
		    (ch >= 33 && ch <= 126 && ch != '=') || ((ch == ' ' || ch == '\t') && !eol);
		/* A '.' opening a line is encoded too, so no relay's dot handling can touch it. */
		if (ch == '.' && col == 0)
			literal = false;
		size_t w = literal ? 1 : 3;
		if (col + w > 75) { /* leave room for the soft break's '=' */
			bad |= buf_puts(&b, "=\r\n");
			col = 0;
		}
		if (literal) {
			bad |= buf_append(&b, &text[i], 1);
		} else {
			char enc[3] = {'=', HEX[ch >> 4], HEX[ch & 15]};
			bad |= buf_append(&b, enc, 3);
		}
		col += w;
	}
	if (bad) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 32 || (unsigned char)*s > 126)
			return false;
	return true;
}

char *mail_header_encode(const char *s)
{
	if (utf8_len(s) == (size_t)-1)
		return NULL;
	struct buf b = {0};
	int bad = 0;
	if (printable_ascii(s) && !strstr(s, "=?")) {
		bad |= buf_puts(&b, s);
		goto out;
	}
	/*
	 * "=?UTF-8?B?" + base64 + "?=" stays within 75 characters with at most
	 * 45 bytes per word; a character is never split between two words.
	 */
	const unsigned char *p = (const unsigned char *)s;
	bool first = true;
	while (*p && !bad) {
		size_t n = 0;
		while (p[n]) {
			size_t q = utf8_seq(p + n);
			if (q == 0 || n + q > 45)
				break;
			n += q;
		}
		if (n == 0) { /* not reached: s is valid UTF-8 */
			bad = 1;
			break;
		}
		char enc[64];
		sodium_bin2base64(enc, sizeof enc, p, n, sodium_base64_VARIANT_ORIGINAL);
		bad |= buf_printf(&b, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", enc);
		first = false;
		p += n;
	}
out:
	if (bad) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* RFC 5322 date: "Mon, 30 Nov 2026 03:35:44 +0000". */
static void rfc5322_date(int64_t ms, char out[40])
{
	static const char *const DAYS[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", DAYS[tm.tm_wday % 7], tm.tm_mday,
		 MONTHS[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool body_ok(const char *s)
{
	return s && strlen(s) <= MAIL_BODY_MAX && utf8_len(s) != (size_t)-1;
}

/* A display name as a quoted string (ASCII) or an encoded word; NULL if none fits. */
static char *display_name(const char *name)
{
	if (!name || !*name || strlen(name) > 100)
		return NULL;
	if (printable_ascii(name) && !strpbrk(name, "\"\\")) {
		size_t n = strlen(name) + 3;
		char *q = malloc(n);
		if (q)
			snprintf(q, n, "\"%s\"", name);
		return q;
	}
	return mail_header_encode(name);
}

static int add_part(struct buf *b, const char *boundary, const char *type, const char *body)
{
	char *qp = mail_qp_encode(body, strlen(body));
	if (!qp)
		return -1;
	int bad = buf_printf(b,
			     "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
			     "Content-Transfer-Encoding: quoted-printable\r\n\r\n%s\r\n",
			     boundary, type, qp);
	free(qp);
	return bad;
}

char *mail_build(const struct mail_msg *m, size_t *len)
{
	if (!mail_address_ok(m->from) || !mail_address_ok(m->to) || !m->subject ||
	    strlen(m->subject) > MAIL_SUBJECT_MAX || !body_ok(m->text) ||
	    (m->html && !body_ok(m->html)))
		return NULL;
	for (const char *p = m->subject; *p; p++)
		if (*p == '\r' || *p == '\n')
			return NULL;
	if (m->message_id && (strlen(m->message_id) >= MAIL_MESSAGE_ID_MAX ||
			      !printable_ascii(m->message_id) || m->message_id[0] != '<'))
		return NULL;
	struct buf b = {0};
	char *subject = mail_header_encode(m->subject), *name = display_name(m->from_name);
	char date[40], mid[MAIL_MESSAGE_ID_MAX], boundary[48];
	unsigned char rnd[12];
	int bad = !subject;
	rfc5322_date(m->date_ms ? m->date_ms : time_now_ms(), date);
	if (m->message_id)
		snprintf(mid, sizeof mid, "%s", m->message_id);
	else
		mail_message_id(m->from, mid);
	crypto_random(rnd, sizeof rnd);
	/* "=_" cannot occur in quoted-printable text, so the boundary is never in a part. */
	memcpy(boundary, "=_iam_", 6);
	crypto_hex(rnd, sizeof rnd, boundary + 6);
	if (bad)
		goto out;
	if (name)
		bad |= buf_printf(&b, "From: %s <%s>\r\n", name, m->from);
	else
		bad |= buf_printf(&b, "From: %s\r\n", m->from);
	bad |= buf_printf(&b,
			  "To: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\n"
			  "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n",
			  m->to, subject, date, mid);
	if (m->html) {
		bad |= buf_printf(&b,
				  "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n"
				  "This is a multi-part message in MIME format.\r\n\r\n",
				  boundary);
		bad |= add_part(&b, boundary, "text/plain", m->text);
		bad |= add_part(&b, boundary, "text/html", m->html);
		bad |= buf_printf(&b, "--%s--\r\n", boundary);
	} else {
		char *qp = mail_qp_encode(m->text, strlen(m->text));
		bad |=
		    !qp || buf_printf(&b,
				      "Content-Type: text/plain; charset=UTF-8\r\n"
				      "Content-Transfer-Encoding: quoted-printable\r\n\r\n%s\r\n",
				      qp);
		free(qp);
	}
out:
	free(subject);
	free(name);
	if (bad) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return buf_steal(&b);
}

/* ---------- sending ---------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void curl_start(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

struct reader {
	const char *p;
	size_t left;
};

static size_t on_read(char *out, size_t size, size_t n, void *ud)
{
	struct reader *r = ud;
	size_t want = size * n < r->left ? size * n : r->left;
	memcpy(out, r->p, want);
	r->p += want;
	r->left -= want;
	return want;
}

/* The host part of an smtp(s):// URL for messages, without credentials. */
static void url_host(const char *url, char *out, size_t outlen)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	const char *at = strchr(h, '@');
	const char *slash = strchr(h, '/');
	if (at && (!slash || at < slash))
		h = at + 1;
	snprintf(out, outlen, "%.*s", (int)strcspn(h, "/?#"), h);
}

enum mail_send_rc mail_send(const char *smtp_url, const char *from, const char *to, const char *msg,
			    size_t len, char *err, size_t errlen)
{
	char host[256], addr[MAIL_ADDRESS_MAX + 3];
	url_host(smtp_url, host, sizeof host);
	pthread_once(&curl_once, curl_start);
	if (!curl_ok) {
		snprintf(err, errlen, "libcurl could not start");
		return MAIL_TRY_LATER;
	}
	CURL *h = curl_easy_init();
	struct curl_slist *rcpt = NULL;
	enum mail_send_rc rc = MAIL_TRY_LATER;
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	snprintf(addr, sizeof addr, "<%s>", to);
	rcpt = curl_slist_append(NULL, addr);
	snprintf(addr, sizeof addr, "<%s>", from);
	struct reader rd = {msg, len};
	char cerr[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, smtp_url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, addr);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &rd);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	CURLcode cc = rcpt ? curl_easy_perform(h) : CURLE_OUT_OF_MEMORY;
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (cc == CURLE_OK) {
		rc = MAIL_SENT;
	} else {
		/* A 5xx reply is the server's final word; anything else may pass later. */
		rc = code >= 500 && code < 600 ? MAIL_REFUSED : MAIL_TRY_LATER;
		snprintf(err, errlen, "SMTP server %s: %s%s(reply %ld)", host,
			 cerr[0] ? cerr : curl_easy_strerror(cc), cerr[0] ? " " : " ", code);
	}
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	return rc;
}

/* ---------- queueing ---------- */

enum store_rc mail_queue(struct db_conn *c, const char *org_id_or_null, const char *to,
			 const char *subject, const char *text, const char *html)
{
	char id[UUID_STR_LEN];
	return mail_queue_job(c, org_id_or_null, to, subject, text, html, id);
}

enum store_rc mail_queue_job(struct db_conn *c, const char *org_id_or_null, const char *to,
			     const char *subject, const char *text, const char *html,
			     char id[UUID_STR_LEN])
{
	id[0] = '\0';
	if (!mail_address_ok(to) || !subject || strlen(subject) > MAIL_SUBJECT_MAX ||
	    strpbrk(subject, "\r\n") || !body_ok(text) || (html && !body_ok(html)))
		return STORE_ERROR;
	if (!mail_enabled())
		return STORE_OK;
	char mid[MAIL_MESSAGE_ID_MAX];
	mail_message_id(g_from, mid);
	json_t *p = json_pack("{s:s,s:s,s:s,s:s}", "to", to, "subject", subject, "text", text,
			      "message_id", mid);
	if (p && html)
		json_object_set_new(p, "html", json_string(html));
	char *payload = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (!payload)
		return STORE_ERROR;
	enum store_rc rc = job_enqueue(c, org_id_or_null, MAIL_KIND, payload, NULL,
				       MAIL_MAX_ATTEMPTS, time_now_ms(), id);
	free(payload);
	return rc;
}

enum mail_send_rc mail_deliver(const char *payload, char *err, size_t errlen)
{
	json_t *p = json_loads(payload, 0, NULL);
	const char *to = NULL, *subject = NULL, *text = NULL, *html = NULL, *mid = NULL;
	enum mail_send_rc rc = MAIL_REFUSED;
	char *msg = NULL;
	size_t len = 0;
	if (!p || json_unpack(p, "{s:s,s:s,s:s,s:s,s?s}", "to", &to, "subject", &subject, "text",
			      &text, "message_id", &mid, "html", &html) < 0) {
		snprintf(err, errlen, "the mail job's payload is damaged");
		goto out;
	}
	if (!mail_enabled()) {
		/* Queued while SMTP was configured, run by a process without it: wait for one. */
		snprintf(err, errlen, "no SMTP server is configured here (IAM_SMTP_URL)");
		rc = MAIL_TRY_LATER;
		goto out;
	}
	struct mail_msg m = {.from = g_from,
			     .from_name = "IAM",
			     .to = to,
			     .subject = subject,
			     .text = text,
			     .html = html,
			     .message_id = mid};
	msg = mail_build(&m, &len);
	if (!msg) {
		snprintf(err, errlen, "the message could not be built (bad address or content)");
		goto out;
	}
	rc = mail_send(g_smtp_url, g_from, to, msg, len, err, errlen);
out:
	free(msg);
	json_decref(p);
	return rc;
}

/* Minimal HTML escaping for the few values put in a mail's HTML part. */
static int html_put(struct buf *b, const char *s)
{
	static const char *const esc[256] = {
	    ['<'] = "&lt;", ['>'] = "&gt;", ['&'] = "&amp;", ['"'] = "&quot;", ['\''] = "&#39;"};
	int bad = 0;
	for (; *s && !bad; s++) {
		const char *e = esc[(unsigned char)*s];
		bad = e ? buf_puts(b, e) : buf_append(b, s, 1);
	}
	return bad;
}

enum store_rc mail_queue_action(struct db_conn *c, const char *org_id_or_null, const char *to,
				const char *subject, const char *greeting, const char *intro,
				const char *action, const char *link, const char *outro,
				char job_id[UUID_STR_LEN])
{
	char none[UUID_STR_LEN];
	struct buf text = {0}, html = {0};
	int bad = buf_printf(&text, "%s\n\n%s\n\n%s:\n%s\n\n%s\n\n-- \nIAM\n", greeting, intro,
			     action, link, outro);
	bad |= buf_puts(&html, "<!doctype html><html><body style=\"font-family:sans-serif\"><p>");
	bad |= html_put(&html, greeting);
	bad |= buf_puts(&html, "</p><p>");
	bad |= html_put(&html, intro);
	bad |= buf_puts(&html, "</p><p><a href=\"");
	bad |= html_put(&html, link);
	bad |= buf_puts(&html, "\">");
	bad |= html_put(&html, action);
	bad |= buf_puts(&html, "</a></p><p>");
	bad |= html_put(&html, outro);
	bad |= buf_puts(&html, "</p><p>IAM</p></body></html>");
	enum store_rc rc = bad ? STORE_ERROR
			       : mail_queue_job(c, org_id_or_null, to, subject, text.data,
						html.data, job_id ? job_id : none);
	buf_free(&text);
	buf_free(&html);
	return rc;
}

const char *mail_state(const char *job_state_or_null)
{
	const char *s = job_state_or_null;
	if (!s || !s[0])
		return "not_sent";
	if (strcmp(s, "done") == 0)
		return "sent";
	if (strcmp(s, "failed") == 0)
		return "retrying";
	if (strcmp(s, "dead") == 0)
		return "failed";
	return "queued"; /* queued, running */
}

void mail_notification(struct db_conn *c, const char *user_id, const char *type,
		       const char *content, const char *path)
{
	if (!mail_enabled())
		return;
	struct user u;
	if (user_find(c, user_id, &u) != STORE_OK)
		return;
	explicit_bzero(u.password_hash, sizeof u.password_hash);
	/* The subject: the notification's first words, cut on a character boundary. */
	char subject[160];
	size_t n = 0;
	while (content[n] && content[n] != '\n') {
		size_t k = utf8_seq((const unsigned char *)content + n);
		if (k == 0 || n + k > 120)
			break;
		n += k;
	}
	snprintf(subject, sizeof subject, "%.*s%s", (int)n, content,
		 content[n] && content[n] != '\n' ? "\u2026" : "");
	char hello[NAME_BUF + 16], link[1400];
	snprintf(hello, sizeof hello, "Hello%s%s,", u.first_name[0] ? " " : "", u.first_name);
	snprintf(link, sizeof link, "%s%s", mail_public_url(), path);
	enum store_rc rc = mail_queue_action(
	    c, NULL, u.email, subject, hello, content, "Open in IAM", link,
	    "You get this mail because e-mail is on for these notifications in your account "
	    "settings; turn it off there.",
	    NULL);
	if (rc)
		log_warn("notification mail not queued",
			 json_pack("{s:s,s:s}", "type", type, "rc", store_rc_name(rc)));
}
