/*
 * meter.h — metering: what a finished transcription counts against its
 * organization's minutes, and what it cost us.
 */
#ifndef IAM_BILLING_METER_H
#define IAM_BILLING_METER_H

#include <stdint.h>

#include "store/store.h"

struct bus;

/* Whole seconds billed for audio of seconds (rounded up; at least 1 for any audio). */
int64_t meter_seconds(double seconds);

/* What engine costs per minute of audio, in micro-USD (0 for the offline engines). */
int64_t meter_cost_per_minute(const char *engine);

/* The "stripe_meter" job (jobs/stripe_meter.c) reports overage minutes to Stripe. */
#define METER_STRIPE_KIND     "stripe_meter"
#define METER_STRIPE_ATTEMPTS 10

/* Whole overage minutes at used_s seconds of a limit_s quota (limit_s < 0: unlimited, 0). */
int64_t meter_overage_minutes(int64_t limit_s, int64_t used_s);

/*
 * Record one transcription: seconds of audio of meeting_id by job_id,
 * once (a retried job never counts twice), with its cost; then the 80 % /
 * 100 % warnings (published on bus when not NULL). On a plan with overage
 * and a Stripe meter (and a Stripe customer), the whole overage minutes
 * this record adds are queued in the same transaction as a "stripe_meter"
 * job keyed by the usage record's id. c must not be in a transaction.
 * Returns the store result.
 */
enum store_rc meter_transcription(struct db_conn *c, struct bus *bus, const char *org_id,
				  const char *job_id, const char *meeting_id, double seconds,
				  const char *engine, const char *model);

/*
 * Record one chat message of org (message_id: once), then the warnings.
 * For the chat/inbox code: reserve with quota_reserve(c, org, QUOTA_CHAT,
 * 1, &u) before accepting a message (api_quota_problem replies the 402),
 * call this after storing it: the reservation becomes its record.
 */
enum store_rc meter_chat_message(struct db_conn *c, struct bus *bus, const char *org_id,
				 const char *message_id);

#endif
