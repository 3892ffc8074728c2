/*
 * tell.c — see tell.h.
 */
#include "billing/tell.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "mail/mail.h"
#include "store/billing.h"
#include "store/notifications.h"

void billing_tell_managers(struct db_conn *c, struct bus *bus, const char *org_id,
			   const struct billing_tell *t)
{
	struct billing_manager *who = NULL;
	size_t n = 0;
	if (billing_org_managers(c, org_id, &who, &n)) {
		log_error("billing: the organization's managers were not found",
			  json_pack("{s:s,s:s}", "org_id", org_id, "for", t->log_context));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (t->owners_only && strcmp(who[i].role, "owner") != 0)
			continue;
		if (notify(c, bus, who[i].user_id, t->type, t->note, NULL))
			log_warn("billing: notification not stored",
				 json_pack("{s:s,s:s}", "user_id", who[i].user_id, "for",
					   t->log_context));
		struct notif_pref pref;
		if (notif_pref_get(c, who[i].user_id, t->type, &pref) || !pref.email ||
		    !mail_enabled() || !mail_address_ok(who[i].email))
			continue;
		char hello[sizeof who[i].first_name + 16];
		snprintf(hello, sizeof hello, "Hello%s%s,", who[i].first_name[0] ? " " : "",
			 who[i].first_name);
		if (mail_queue_action(c, org_id, who[i].email, t->subject, hello, t->intro,
				      t->button, t->link, t->outro, NULL))
			log_warn("billing: mail not queued",
				 json_pack("{s:s,s:s}", "user_id", who[i].user_id, "for",
					   t->log_context));
	}
	free(who);
}
