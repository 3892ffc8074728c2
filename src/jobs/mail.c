#include "jobs/mail.h"

#include <jansson.h>

#include "core/log.h"
#include "mail/mail.h"

enum job_result job_mail(struct job_run *run)
{
	enum mail_send_rc rc = mail_deliver(run->job->payload, run->error, sizeof run->error);
	/* Neither the address nor the content is logged: only the job and why it failed. */
	if (rc == MAIL_SENT) {
		log_info("mail sent", json_pack("{s:s,s:i}", "job_id", run->job->id, "attempt",
						run->job->attempts));
		return JOB_OK;
	}
	log_warn(rc == MAIL_REFUSED ? "mail refused" : "mail not sent yet",
		 json_pack("{s:s,s:i,s:s}", "job_id", run->job->id, "attempt", run->job->attempts,
			   "error", run->error));
	return rc == MAIL_REFUSED ? JOB_FAIL : JOB_RETRY;
}
