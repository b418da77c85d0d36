/*
 * fetch.c: ADD's remote sources: a URL downloaded with libcurl into a file.
 *
 * BuildKit's HTTP source is the model: redirects are followed, any final status other than
 * 2xx is an error naming the URL and the status, the file is named after the last component
 * of the URL's path, and a Last-Modified header becomes the file's mtime. Remote archives are
 * kept as files (ADD --unpack decides otherwise; that is copy.c's business).
 *
 * Git sources (git@host:repo, git://, https://host/repo.git) are recognised only to be refused
 * with a clear message: strata does not clone repositories; a RUN step or an archive URL can.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "build/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* A stalled transfer must not hang a build: no progress for this long fails it. */
#define FETCH_CONNECT_TIMEOUT 30L
#define FETCH_LOW_SPEED_TIME 60L
#define FETCH_MAX_REDIRS 10L

bool fetch_is_url(const char *src)
{
	return !strncmp(src, "http://", 7) || !strncmp(src, "https://", 8);
}

bool fetch_is_git(const char *src)
{
	if (!strncmp(src, "git@", 4) || !strncmp(src, "git://", 6) || !strncmp(src, "ssh://", 6))
		return true;
	if (!fetch_is_url(src))
		return false;
	/* BuildKit treats "https://host/repo.git" (with an optional "#ref:dir") as a repository. */
	size_t n = strcspn(src, "#?");
	return n >= 4 && !strncmp(src + n - 4, ".git", 4);
}

char *fetch_url_name(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	p += strcspn(p, "/?#"); /* skip the host */
	size_t n = strcspn(p, "?#");
	while (n && p[n - 1] == '/')
		n--;
	const char *b = p + n;
	while (b > p && b[-1] != '/')
		b--;
	size_t bl = (size_t)(p + n - b);
	if (!bl || (bl == 1 && *b == '.') || (bl == 2 && !strncmp(b, "..", 2)))
		return st_xstrdup("__unnamed__");
	return st_xstrndup(b, bl);
}

struct fetch_sink {
	int fd;
	struct st_hasher h;
	uint64_t size;
	int errnum; /* a write failed */
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct fetch_sink *s = ctx;
	size_t n = size * nmemb;
	for (size_t off = 0; off < n;) {
		ssize_t w = write(s->fd, p + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			s->errnum = errno;
			return 0; /* curl stops with CURLE_WRITE_ERROR */
		}
		off += (size_t)w;
	}
	st_hasher_update(&s->h, p, n);
	s->size += n;
	return n;
}

static const char *status_text(long code)
{
	switch (code) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 410: return "Gone";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "";
	}
}

int fetch_url(const char *url, const char *path, struct fetch_result *out, struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	out->mtime = -1;
	/* Refcounted, and thread-safe in every libcurl this builds against (7.84+ "threadsafe");
	 * stages fetch from their own threads. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return st_err(err, ST_E_NET, "fetch '%s': cannot initialise libcurl", url);
	CURL *c = curl_easy_init();
	if (!c) {
		curl_global_cleanup();
		return st_err(err, ST_E_NET, "fetch '%s': cannot initialise libcurl", url);
	}
	struct fetch_sink s = { .fd = -1 };
	s.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = 0;
	if (s.fd < 0) {
		rc = st_err_errno(err, "create '%s'", path);
		goto out;
	}
	st_hasher_init(&s.h);
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, FETCH_MAX_REDIRS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, FETCH_CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, FETCH_LOW_SPEED_TIME);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
	curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "strata/" STRATA_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	CURLcode cr = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cr == CURLE_WRITE_ERROR && s.errnum) {
		errno = s.errnum;
		rc = st_err_errno(err, "fetch '%s': write '%s'", url, path);
	} else if (cr != CURLE_OK) {
		rc = st_err(err, ST_E_NET, "fetch '%s': %s", url, *errbuf ? errbuf : curl_easy_strerror(cr));
	} else if (code < 200 || code > 299) {
		const char *t = status_text(code);
		rc = st_err(err, code == 404 || code == 410 ? ST_E_NOTFOUND : ST_E_NET,
			    "fetch '%s': server returned HTTP %ld%s%s", url, code, *t ? " " : "", t);
	}
	if (rc == 0) {
		curl_off_t ft = -1;
		if (curl_easy_getinfo(c, CURLINFO_FILETIME_T, &ft) == CURLE_OK && ft >= 0)
			out->mtime = (int64_t)ft;
		if (fsync(s.fd) < 0)
			rc = st_err_errno(err, "fsync '%s'", path);
	}
	if (rc == 0) {
		st_hasher_final(&s.h, &out->digest);
		out->size = s.size;
	} else {
		st_hasher_release(&s.h);
	}
out:
	if (s.fd >= 0)
		close(s.fd);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	return rc;
}
