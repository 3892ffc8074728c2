#include "core/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/timeutil.h"

static _Atomic int g_level = LOG_INFO;
static const char *NAMES[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level lvl)
{
	g_level = lvl;
}
enum log_level log_get_level(void)
{
	return (enum log_level)g_level;
}

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s && strcmp(s, NAMES[i]) == 0)
			return i;
	if (s && strcmp(s, "warning") == 0)
		return LOG_WARN;
	return -1;
}

void log_write(enum log_level lvl, const char *msg, json_t *fields)
{
	if ((int)lvl < g_level) {
		json_decref(fields);
		return;
	}
	char ts[32];
	time_rfc3339(time_now_ms(), ts, sizeof ts);
	json_t *line = json_object();
	json_object_set_new(line, "ts", json_string(ts));
	json_object_set_new(line, "level", json_string(NAMES[lvl]));
	json_object_set_new(line, "msg", json_string(msg ? msg : ""));
	if (json_is_object(fields))
		json_object_update_missing(line, fields);
	json_decref(fields);
	char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(line);
	if (!text)
		return;
	size_t n = strlen(text);
	text[n] = '\n'; /* replace NUL: we write n+1 bytes, never read as a string again */
	ssize_t w = write(STDERR_FILENO, text, n + 1);
	(void)w;
	free(text);
}
