/*
 * janitor.h — periodic clean-up, run about once a minute by one thread:
 * tus uploads that expired (rows and spool files), orphan spool files
 * (older than orphan_age_s and named by no active upload), expired
 * Idempotency-Key records, the SHA-256 of stored audio that lacks it,
 * meetings older than their organization's retention_days (with their
 * audio), and audit events older than audit_retention_days.
 */
#ifndef IAM_SERVICE_JANITOR_H
#define IAM_SERVICE_JANITOR_H

#include <stdint.h>

struct db;
struct blob_store;

struct janitor_env {
	struct db *db;
	struct blob_store *blob;
	int64_t orphan_age_s;	  /* IAM_SPOOL_ORPHAN_AGE_S */
	int audit_retention_days; /* IAM_AUDIT_RETENTION_DAYS; 0 = keep for ever */
};

/* One round. Skips it when no database connection comes free within a second. */
void janitor_run(const struct janitor_env *env);

#endif
