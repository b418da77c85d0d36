/*
 * fetch.c: ADD's remote sources: a URL downloaded into a file with the HTTP client (http/),
 * which retries, resumes a dropped transfer and keeps proxies from the environment.
 *
 * BuildKit's HTTP source is the model: redirects are followed, any final status other than
 * 2xx is an error naming the URL and the status, the file is named after the last component
 * of the URL's path, and a Last-Modified header becomes the file's mtime. Remote archives are
 * kept as files (ADD --unpack decides otherwise; that is copy.c's business).
 *
 * Git sources (git@host:repo, git://, https://host/repo.git) are git.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "builder/internal.h"
#include "http/http.h"
#include "util/fs.h"
#include "util/cleanup.h"
#include "util/banned.h"

bool builder_fetch_is_url(const char *src)
{
	return !strncmp(src, "http://", 7) || !strncmp(src, "https://", 8);
}

char *builder_fetch_url_name(const char *url)
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
};

static int sink_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct fetch_sink *s = ctx;
	if (st_write_all(s->fd, p, n, err) < 0)
		return -1;
	st_hasher_update(&s->h, p, n);
	s->size += n;
	return 0;
}

/* The server sent the whole file again after a dropped transfer: start the file over. */
static int sink_reset(void *ctx, struct st_error **err)
{
	struct fetch_sink *s = ctx;
	if (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0)
		return st_err_errno(err, "truncate");
	st_hasher_release(&s->h);
	st_hasher_init(&s->h);
	s->size = 0;
	return 0;
}

int builder_fetch_url(const char *url, const char *path, struct fetch_result *out,
		      struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	out->mtime = -1;
	st_auto(st_http_client) struct st_http_client *c = st_http_client_new(NULL, err);
	if (!c)
		return st_err_wrap(err, "fetch '%s'", url);
	struct fetch_sink s = { .fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) };
	if (s.fd < 0)
		return st_err_errno(err, "create '%s'", path);
	st_hasher_init(&s.h);
	struct st_http_request rq = {
		.url = url,
		.flags = ST_HTTP_FOLLOW,
		.sink = { sink_write, sink_reset, &s },
	};
	struct st_http_response resp;
	int rc = st_http_do(c, &rq, &resp, err);
	if (rc == 0 && (resp.status < 200 || resp.status > 299))
		rc = st_http_status_error(&resp, err);
	if (rc < 0)
		st_err_wrap(err, "fetch '%s'", url);
	if (rc == 0 && fsync(s.fd) < 0)
		rc = st_err_errno(err, "fsync '%s'", path);
	if (rc == 0) {
		st_hasher_final(&s.h, &out->digest);
		out->size = s.size;
		out->mtime = resp.mtime;
	} else {
		st_hasher_release(&s.h);
	}
	close(s.fd);
	st_http_response_release(&resp);
	return rc;
}
