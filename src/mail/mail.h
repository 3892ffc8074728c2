/*
 * mail.h — e-mail: building RFC 5322 messages and sending them by SMTP
 * (libcurl), through the durable job queue.
 *
 * Callers queue a mail with mail_queue (inside their request, with their
 * connection); a worker runs the "mail" job (jobs/mail.c), which builds
 * the message and hands it to the SMTP server, retried with backoff while
 * the server is down or answers 4xx. Each message is multipart/alternative
 * with a plain-text and an HTML part, UTF-8, quoted-printable; the Subject
 * is an RFC 2047 encoded word when it is not plain ASCII; Date and
 * Message-ID are set (the Message-ID is chosen when the mail is queued, so
 * a retry after a lost reply is recognisably the same message).
 */
#ifndef IAM_MAIL_H
#define IAM_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/uuid.h"
#include "store/store.h"

#define MAIL_KIND	    "mail"
#define MAIL_MAX_ATTEMPTS   8
#define MAIL_SUBJECT_MAX    300		 /* bytes */
#define MAIL_BODY_MAX	    (256 * 1024) /* bytes, each of text and HTML */
#define MAIL_ADDRESS_MAX    254
#define MAIL_MESSAGE_ID_MAX 160

/*
 * Process-wide settings, set once at start-up before any worker or request
 * runs: the SMTP URL (NULL or "" = no mail: mail_enabled() is false),
 * the From address and the public URL of the web app (links). Copies them.
 */
void mail_configure(const char *smtp_url, const char *from, const char *public_url);
bool mail_enabled(void);
/* The public URL links start with, without a trailing slash ("" before mail_configure). */
const char *mail_public_url(void);

/* What a message says. */
struct mail_msg {
	const char *from;	/* bare address */
	const char *from_name;	/* display name, may be NULL */
	const char *to;		/* bare address */
	const char *subject;	/* UTF-8 */
	const char *text;	/* UTF-8 */
	const char *html;	/* UTF-8, may be NULL (then text only) */
	const char *message_id; /* "<...@...>", or NULL for a new one */
	int64_t date_ms;	/* Unix ms; 0 = now */
};

/*
 * Is addr a bare address we send to (no display name, no CR/LF, no
 * spaces or angle brackets, one @, at most MAIL_ADDRESS_MAX bytes)?
 */
bool mail_address_ok(const char *addr);

/* A new Message-ID "<uuid@domain of from>" into out[MAIL_MESSAGE_ID_MAX]. */
void mail_message_id(const char *from, char out[MAIL_MESSAGE_ID_MAX]);

/*
 * The whole message (headers, CRLF line ends, MIME parts). NULL when an
 * address is not mail_address_ok, a part is not valid UTF-8 or too long,
 * or memory ran out. Caller frees; *len gets its length.
 */
char *mail_build(const struct mail_msg *m, size_t *len);

/* Encoders, exposed for tests. Each appends to a malloc'd string; caller frees; NULL on failure. */
/* Quoted-printable (RFC 2045) with CRLF line ends, lines at most 76 characters. */
char *mail_qp_encode(const char *text, size_t len);
/* The Subject header's value: as is when plain printable ASCII, else RFC 2047 "B" words. */
char *mail_header_encode(const char *utf8);

enum mail_send_rc {
	MAIL_SENT = 0,
	MAIL_TRY_LATER = 1, /* could not connect, timed out, 4xx: retry */
	MAIL_REFUSED = 2,   /* 5xx: the server will not take it; do not retry */
};
/*
 * Send msg (a built message) from from to to through smtp_url. STARTTLS
 * is used when an smtp:// server offers it (and the certificate is then
 * verified); smtps:// is TLS from the start. err gets a reason without
 * credentials.
 */
enum mail_send_rc mail_send(const char *smtp_url, const char *from, const char *to, const char *msg,
			    size_t len, char *err, size_t errlen);

/*
 * Send what mail_queue put in a job's payload (JSON text) with the
 * configured server and From address. MAIL_REFUSED also for a damaged
 * payload (retrying cannot help).
 */
enum mail_send_rc mail_deliver(const char *payload, char *err, size_t errlen);

/*
 * Queue a mail to to (a "mail" job). org_id may be NULL (mail of no
 * organization: verification, password reset). html may be NULL. The
 * caller wakes its workers afterwards if it has any (api_jobs_wake).
 * Returns STORE_OK, STORE_ERROR for a bad address or oversized content
 * (nothing queued), or the database's error. Without SMTP configured
 * (mail_enabled() false) nothing is queued and STORE_OK is returned:
 * callers that must know check mail_enabled() first.
 */
enum store_rc mail_queue(struct db_conn *c, const char *org_id_or_null, const char *to,
			 const char *subject, const char *text, const char *html);
/*
 * mail_queue that also gives the job's id (job_id[0] is '\0' when nothing
 * was queued because no SMTP server is configured), so a caller can later
 * tell "sent" from "not sent yet" (the job's state in the jobs table).
 */
enum store_rc mail_queue_job(struct db_conn *c, const char *org_id_or_null, const char *to,
			     const char *subject, const char *text, const char *html,
			     char job_id[UUID_STR_LEN]);

/*
 * Queue a mail with one call to action, its text and HTML parts made from
 * the same words: greeting, intro, then action (the link's label) and link,
 * then outro. Values are escaped for the HTML part. job_id as for
 * mail_queue_job (may be NULL). STORE_ERROR when building failed.
 */
enum store_rc mail_queue_action(struct db_conn *c, const char *org_id_or_null, const char *to,
				const char *subject, const char *greeting, const char *intro,
				const char *action, const char *link, const char *outro,
				char job_id[UUID_STR_LEN]);

/*
 * The notifications' mailer (store/notifications.h notif_set_mailer): a
 * mail to user_id saying content, with a button to path in the web app
 * (IAM_PUBLIC_URL + path). Nothing without SMTP; failures are logged.
 */
void mail_notification(struct db_conn *c, const char *user_id, const char *type,
		       const char *content, const char *path);

/*
 * What became of a queued mail, for people to read, from its job's state
 * (NULL: no job, i.e. nothing was queued): "not_sent" (no job: no SMTP
 * server, or queueing failed; the link must be passed on by hand),
 * "queued" (waiting or being sent), "retrying" (an attempt failed; it is
 * tried again), "sent", "failed" (given up after its attempts).
 */
const char *mail_state(const char *job_state_or_null);

#endif
