#include "auth/email.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

#define EMAIL_MAX 254 /* RFC 5321 path limit */
#define LOCAL_MAX 64

bool email_normalize(const char *in, char *out, size_t outlen, const char **why)
{
	static const char SHAPE[] = "must be an email address such as name@example.com";
	bool ok = false;
	char *trimmed = NULL, *folded = NULL;

	*why = SHAPE;
	if (!in || !out || outlen == 0)
		return false;
	out[0] = '\0';
	while (isspace((unsigned char)*in))
		in++;
	size_t n = strlen(in);
	while (n && isspace((unsigned char)in[n - 1]))
		n--;
	/* Bound the work before folding (folding can only grow a string a little). */
	if (n == 0 || n > 4 * EMAIL_MAX)
		return false;
	trimmed = strndup(in, n);
	if (!trimmed)
		goto fail;
	folded = utf8_fold(trimmed);
	if (!folded)
		goto fail; /* not UTF-8 (or out of memory: refused all the same) */
	n = strlen(folded);
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)folded[i] >= 0x80) {
			*why = "must be written in ASCII letters, digits and punctuation "
			       "(internationalised addresses are not accepted)";
			goto fail;
		}
	}
	if (n == 0 || n > EMAIL_MAX || n >= outlen)
		goto fail;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)folded[i]);
	out[n] = '\0';
	const char *at = strchr(out, '@');
	if (!at || at == out || strchr(at + 1, '@') || at - out > LOCAL_MAX)
		goto fail;
	const char *domain = at + 1;
	const char *dot = strrchr(domain, '.');
	if (!dot || dot == domain || !dot[1] || domain[0] == '.' || strstr(domain, ".."))
		goto fail;
	for (const char *p = out; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' || ch == 0x7f || strchr("()<>,;:\\\"[]", ch))
			goto fail;
	}
	ok = true;
fail:
	if (!ok)
		out[0] = '\0';
	free(folded);
	free(trimmed);
	return ok;
}
