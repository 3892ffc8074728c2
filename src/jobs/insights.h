/*
 * insights.h — the "insights" job: compute a meeting's insights (summary,
 * action items, decisions, topics, sentiment: intel/intel.h) from its
 * current transcript, reporting progress on the insights row, and store
 * them with the transcript version they came from.
 * Payload: {"meeting_id": "..."}. Queued when a transcription completes
 * (jobs/transcribe.c) and on request (POST /api/v1/meetings/{id}/insights).
 */
#ifndef IAM_JOB_INSIGHTS_H
#define IAM_JOB_INSIGHTS_H

#include "jobs/jobs.h"

#define INSIGHTS_MAX_ATTEMPTS 3

/*
 * Load what the job needs once per process: the VADER lexicon from
 * models_dir/vader_lexicon.txt. Missing or broken, the job still runs and
 * sentiment says "unavailable" (a warning is logged). Call before workers
 * start; job_insights_shutdown after they stopped.
 */
void job_insights_init(const char *models_dir);
void job_insights_shutdown(void);

/*
 * Mark meeting_id's insights queued and enqueue the job, to run delay_ms
 * from now (a job already waiting for the meeting is enough: it reads the
 * transcript when it runs). STORE_OK, STORE_NOT_FOUND (not org_id's
 * meeting) or an error. The caller wakes workers if it can.
 */
enum store_rc job_insights_enqueue(struct db_conn *c, const char *org_id, const char *meeting_id,
				   int64_t delay_ms);

/* After a transcript edit, insights are computed again this much later (edits come in bursts). */
#define INSIGHTS_EDIT_DELAY_MS 5000

enum job_result job_insights(struct job_run *run);

/*
 * iamd insights FILE.json: the offline insights of a transcript file (the
 * stored shape, core/transcript.h) printed as JSON, with
 * {"segments","seconds"} on stderr. The lexicon comes from IAM_MODELS_DIR
 * (default "models"). For benchmarks and for checking the rules on a
 * transcript by hand. Returns the process exit code.
 */
int job_insights_cli(int argc, char **argv);

#endif
