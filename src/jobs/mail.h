/*
 * mail.h (jobs) — the "mail" job: send one message queued by mail_queue
 * (mail/mail.h). A server that cannot be reached or answers 4xx means
 * another try later (the pool's backoff); a 5xx answer ends the job.
 */
#ifndef IAM_JOB_MAIL_H
#define IAM_JOB_MAIL_H

#include "jobs/jobs.h"

enum job_result job_mail(struct job_run *run);

#endif
