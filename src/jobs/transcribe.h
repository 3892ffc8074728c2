/*
 * transcribe.h — the "transcribe" job: decode a meeting's audio and run the
 * speech engine chain on it, reporting progress, then store the transcript
 * (or a failure a person can act on) on the meeting.
 * Payload: {"meeting_id": "...", "language"?: "en", "provider"?: "sphinx"}.
 */
#ifndef IAM_JOB_TRANSCRIBE_H
#define IAM_JOB_TRANSCRIBE_H

#include "jobs/jobs.h"

struct blob_store;
struct asr_chain;
struct bus;

/* What workers need; handed to jobs_new as its app pointer. */
struct job_env {
	struct db *db;
	struct blob_store *blob;
	struct asr_chain *asr;
	struct bus *bus; /* live events (meeting.status, notifications) */
};

enum job_result job_transcribe(struct job_run *run);

#endif
