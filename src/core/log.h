/*
 * log.h — JSON-lines logging to stderr: {"ts","level","msg",...fields}.
 * Thread-safe; one write(2) per line. Never log secrets or transcript text.
 */
#ifndef IAM_LOG_H
#define IAM_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Parse "debug"/"info"/"warn"/"error"; returns -1 if unknown. */
int log_level_parse(const char *s);

/*
 * Write one line. fields may be NULL; the reference to fields is stolen
 * (log_write decrefs it), so json_pack(...) can be passed inline.
 */
void log_write(enum log_level lvl, const char *msg, json_t *fields);

#define log_debug(msg, f) log_write(LOG_DEBUG, (msg), (f))
#define log_info(msg, f)  log_write(LOG_INFO, (msg), (f))
#define log_warn(msg, f)  log_write(LOG_WARN, (msg), (f))
#define log_error(msg, f) log_write(LOG_ERROR, (msg), (f))

#endif
