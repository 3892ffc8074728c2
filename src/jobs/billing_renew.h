/*
 * billing_renew.h — the PayGate renewal jobs (billing/renewal.h):
 * "billing_sweep" runs the renewal sweep and queues the next one an hour
 * later; "paygate_renew" ({"org_id", "period_end"}) sends one
 * organization's next-month invoice and pay link.
 */
#ifndef IAM_JOB_BILLING_RENEW_H
#define IAM_JOB_BILLING_RENEW_H

#include "jobs/jobs.h"

struct config;
struct db;

/* The settings the jobs use (kept by pointer: cfg outlives the workers). */
void job_billing_renew_init(const struct config *cfg);

/* Queue this hour's sweep (once per hour slot while one is waiting). 0 or -1. */
int job_billing_sweep_schedule(struct db *db);

enum job_result job_billing_sweep(struct job_run *run);
enum job_result job_paygate_renew(struct job_run *run);

#endif
