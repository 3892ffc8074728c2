/*
 * insights.h — a meeting's insights row (sql/0010_insights.sql): status,
 * progress, the JSON body the API returns, the transcript version it was
 * computed from. Every function takes the caller's org_id.
 */
#ifndef IAM_STORE_INSIGHTS_H
#define IAM_STORE_INSIGHTS_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct insights_row {
	char status[16]; /* queued | running | done | failed */
	int progress;	 /* 0..100 */
	int64_t transcript_version;
	char *body;	/* JSON text or NULL (never computed), malloc'd */
	char *error;	/* a sentence for people or NULL, malloc'd */
	double seconds; /* how long the last computation took */
	int64_t created_at, updated_at, computed_at;
};
/* Free what the row owns; NULL is a no-op. */
void insights_row_clear(struct insights_row *r);

/*
 * Mark the insights of meeting_id queued (creating the row; an earlier
 * body stays until the new one is stored). STORE_NOT_FOUND when the meeting
 * is not org_id's.
 */
enum store_rc insights_queue(struct db_conn *c, const char *org_id, const char *meeting_id);
/* status running/failed (error kept for failed) with progress. STORE_NOT_FOUND if no row. */
enum store_rc insights_set_status(struct db_conn *c, const char *org_id, const char *meeting_id,
				  const char *status, const char *error);
enum store_rc insights_set_progress(struct db_conn *c, const char *org_id, const char *meeting_id,
				    int progress);
/*
 * Store a computed body: status done, progress 100. Unless force, only
 * while the row is running: STORE_STALE when it was queued again meanwhile
 * (nothing stored). STORE_NOT_FOUND if no row.
 */
enum store_rc insights_finish(struct db_conn *c, const char *org_id, const char *meeting_id,
			      int64_t transcript_version, const char *body, double seconds,
			      bool force);
/* The row (clear with insights_row_clear). STORE_NOT_FOUND when there is none. */
enum store_rc insights_get(struct db_conn *c, const char *org_id, const char *meeting_id,
			   struct insights_row *out);

#endif
