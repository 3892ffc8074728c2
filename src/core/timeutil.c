#include "core/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *time_rfc3339(int64_t unix_ms, char *out, size_t outlen)
{
	time_t secs = (time_t)(unix_ms / 1000);
	int ms = (int)(unix_ms % 1000);
	if (ms < 0) {
		ms += 1000;
		secs -= 1;
	}
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	return out;
}

static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int64_t time_parse_rfc3339(const char *s)
{
	if (!s || strlen(s) < 20)
		return -1;
	int Y = digits(s, 4), M = digits(s + 5, 2), D = digits(s + 8, 2);
	int h = digits(s + 11, 2), m = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (Y < 0 || M < 1 || M > 12 || D < 1 || D > 31 || h < 0 || h > 23 || m < 0 || m > 59 ||
	    sec < 0 || sec > 60 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	const char *p = s + 19;
	int ms = 0;
	if (*p == '.') {
		p++;
		int n = 0;
		while (isdigit((unsigned char)*p)) {
			if (n < 3)
				ms = ms * 10 + (*p - '0');
			n++;
			p++;
		}
		if (n == 0)
			return -1;
		for (; n < 3; n++)
			ms *= 10;
	}
	int offset_min = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh = digits(p + 1, 2), om = digits(p + 4, 2);
		if (oh < 0 || om < 0 || p[3] != ':' || oh > 23 || om > 59)
			return -1;
		offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (D > mdays[M - 1] || (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100) || Y % 400 == 0)))
		return -1;
	struct tm tm = {.tm_year = Y - 1900,
			.tm_mon = M - 1,
			.tm_mday = D,
			.tm_hour = h,
			.tm_min = m,
			.tm_sec = sec > 59 ? 59 : sec};
	time_t t = timegm(&tm);
	return ((int64_t)t - (int64_t)offset_min * 60) * 1000 + ms;
}
