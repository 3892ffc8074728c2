/*
 * static.c — the web app: files from the built app directory, with long
 * caching for content-hashed assets (/assets/...), revalidation for the
 * rest, precompressed .gz files when the client takes gzip, and
 * index.html for client-side routes. Never a path outside the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/internal.h"

/* What the app needs and nothing more: its own scripts, styles, media from the API, blobs for
 * recordings. */
static const char APP_CSP[] =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

static const char *mime_for(const char *path)
{
	static const char *const TYPES[][2] = {{".html", "text/html; charset=utf-8"},
					       {".js", "text/javascript; charset=utf-8"},
					       {".mjs", "text/javascript; charset=utf-8"},
					       {".css", "text/css; charset=utf-8"},
					       {".json", "application/json"},
					       {".svg", "image/svg+xml"},
					       {".png", "image/png"},
					       {".ico", "image/x-icon"},
					       {".webp", "image/webp"},
					       {".woff2", "font/woff2"},
					       {".txt", "text/plain; charset=utf-8"},
					       {".webmanifest", "application/manifest+json"},
					       {".map", "application/json"}};
	const char *dot = strrchr(path, '.');
	if (dot)
		for (size_t i = 0; i < sizeof TYPES / sizeof *TYPES; i++)
			if (strcmp(dot, TYPES[i][0]) == 0)
				return TYPES[i][1];
	return "application/octet-stream";
}

/* Only plain relative paths: no "..", no hidden files, no odd bytes. */
static bool path_ok(const char *p)
{
	if (strlen(p) > 512)
		return false;
	for (const char *s = p; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			return false;
		if (*s == '/' && s[1] == '.')
			return false; /* "..", ".hidden" */
	}
	return true;
}

static bool accepts_gzip(struct http_req *r)
{
	const char *ae = http_header(r, "Accept-Encoding");
	return ae && strstr(ae, "gzip");
}

/* Reply with file full (regular, inside the app dir). */
static bool send_file(struct http_req *r, const char *full, bool immutable)
{
	char gz[PATH_MAX + 4];
	int fd = -1;
	struct stat st;
	bool gzipped = false;
	if (accepts_gzip(r) && snprintf(gz, sizeof gz, "%s.gz", full) < (int)sizeof gz) {
		fd = open(gz, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		gzipped = fd >= 0;
	}
	if (fd < 0)
		fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	http_add_header(r, "Cache-Control",
			immutable ? "public, max-age=31536000, immutable" : "no-cache");
	http_add_header(r, "Content-Security-Policy", APP_CSP);
	http_add_header(r, "Vary", "Accept-Encoding");
	if (gzipped)
		http_add_header(r, "Content-Encoding", "gzip");
	http_reply_file(r, fd, st.st_size, mime_for(full), NULL);
	return true;
}

bool http_static(struct http_req *r)
{
	const char *dir = r->srv->static_dir;
	if (!dir || (r->mbit != M_GET && r->mbit != M_HEAD))
		return false;
	const char *p = r->path;
	if (!strncmp(p, "/api/", 5) || !strcmp(p, "/api") || !strncmp(p, "/v1/", 4) || !path_ok(p))
		return false;
	char full[PATH_MAX];
	if (strcmp(p, "/") != 0) {
		if (snprintf(full, sizeof full, "%s%s", dir, p) >= (int)sizeof full)
			return false;
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
			return send_file(r, full, !strncmp(p, "/assets/", 8));
		/* A missing asset is a 404; a path without an extension is a page of the app. */
		const char *last = strrchr(p, '/');
		if (strchr(last ? last : p, '.'))
			return false;
	}
	snprintf(full, sizeof full, "%s/index.html", dir);
	/* A shared meeting's public page (/s/{token}) is kept out of search engines. */
	if (!strncmp(p, "/s/", 3))
		http_add_header(r, "X-Robots-Tag", "noindex, nofollow");
	return send_file(r, full, false);
}
