/*
 * tell.h — telling an organization's owners (and admins) about money:
 * usage warnings, renewal pay links. Each gets a stored notification and,
 * unless they turned e-mail off for its type (on by default for these
 * types, store/notifications.h), a mail through the mail job.
 */
#ifndef IAM_BILLING_TELL_H
#define IAM_BILLING_TELL_H

#include <stdbool.h>

struct db_conn;
struct bus;

struct billing_tell {
	const char *type;	 /* notification type: "quota_warning", "billing" */
	const char *note;	 /* the notification's text */
	const char *subject;	 /* the mail: subject, */
	const char *intro;	 /*   its text, */
	const char *button;	 /*   the link's label, */
	const char *link;	 /*   the link (absolute), */
	const char *outro;	 /*   and a last line */
	bool owners_only;	 /* else owners and admins */
	const char *log_context; /* what the log lines say ("usage warning") */
};

/* Tell org_id's managers t (inside the caller's transaction or not). Failures are logged. */
void billing_tell_managers(struct db_conn *c, struct bus *bus, const char *org_id,
			   const struct billing_tell *t);

#endif
