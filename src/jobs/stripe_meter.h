/*
 * stripe_meter.h — the "stripe_meter" job: report the overage minutes of
 * one transcription to Stripe's metered billing (a Billing Meter event),
 * queued by billing/meter.c with the usage record's id as its dedupe key.
 * Payload: {"org_id", "usage_id", "customer", "event_name", "value",
 * "timestamp"}. The usage record id is the meter event's identifier, so a
 * retried job never reports twice (Stripe refuses an identifier it holds). Stripe
 * unreachable, 429 or 5xx: retried with the pool's backoff; another 4xx:
 * failed for good, the reason logged.
 */
#ifndef IAM_JOB_STRIPE_METER_H
#define IAM_JOB_STRIPE_METER_H

#include "jobs/jobs.h"

struct config;

/* The Stripe settings the job uses (kept by pointer: cfg outlives the workers). */
void job_stripe_meter_init(const struct config *cfg);

enum job_result job_stripe_meter(struct job_run *run);

#endif
