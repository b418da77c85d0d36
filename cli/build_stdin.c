/*
 * build_stdin.c: what `strata build -` reads. As `docker build -` does, a tar (plain or
 * compressed) on stdin is the context, and anything else is a Dockerfile with no context.
 */
#include "build_stdin.h"

#include <archive.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "util/banned.h"

/* Enough for a tar header block, and for any compression's magic number. */
#define HEAD_SIZE 1024

static int read_some(int fd, struct st_buf *b, size_t want, struct st_error **err)
{
	char buf[65536];
	while (want > 0) {
		ssize_t n = read(fd, buf, want < sizeof(buf) ? want : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return st_err_errno(err, "read stdin");
		if (n == 0)
			break;
		st_buf_add(b, buf, (size_t)n);
		if (want != (size_t)-1)
			want -= (size_t)n;
	}
	return 0;
}

/* Docker's archive.IsArchive: a compression libarchive knows, or a tar header that parses. */
static bool is_archive(const struct st_buf *head)
{
	if (head->len == 0)
		return false;
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	bool yes = false;
	if (archive_read_open_memory(a, head->data, head->len) == ARCHIVE_OK) {
		struct archive_entry *e;
		yes = archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE ||
		      archive_read_next_header(a, &e) == ARCHIVE_OK;
	}
	archive_read_free(a);
	return yes;
}

/* The context reader gets the head back, then the rest of stdin, through a pipe. */
static void *feed(void *arg)
{
	struct st_cli_stdin *in = arg;
	/* If the build stops reading, write() fails with EPIPE instead of killing strata. */
	sigset_t pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	char buf[65536];
	const char *p = in->head.data;
	size_t n = in->head.len;
	for (;;) {
		while (n > 0) {
			ssize_t w = write(in->feed_fd, p, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				goto done;
			p += w;
			n -= (size_t)w;
		}
		ssize_t r = read(0, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		p = buf;
		n = (size_t)r;
	}
done:
	/* closing is what tells the reader the context ended: no cancel in between */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	close(in->feed_fd);
	in->feed_fd = -1;
	return NULL;
}

int st_cli_stdin_open(struct st_cli_stdin *in, struct st_buf *dockerfile, struct st_error **err)
{
	if (read_some(0, &in->head, HEAD_SIZE, err) < 0)
		return -1;
	if (!is_archive(&in->head)) {
		st_buf_add(dockerfile, in->head.data, in->head.len);
		return read_some(0, dockerfile, (size_t)-1, err);
	}
	/* A file on stdin can simply be read again from where it started. */
	if (lseek(0, -(off_t)in->head.len, SEEK_CUR) >= 0) {
		in->context_fd = 0;
		return 0;
	}
	int fds[2];
	if (pipe(fds) < 0)
		return st_err_errno(err, "pipe");
	in->context_fd = fds[0];
	in->feed_fd = fds[1];
	int e = pthread_create(&in->feeder, NULL, feed, in);
	if (e != 0) {
		errno = e;
		return st_err_errno(err, "start reading stdin");
	}
	in->feeding = true;
	return 0;
}

void st_cli_stdin_release(struct st_cli_stdin *in)
{
	if (in->context_fd > 0)
		close(in->context_fd);
	in->context_fd = -1;
	if (in->feeding) {
		/* The feeder may wait on stdin for data nobody needs any more. */
		pthread_cancel(in->feeder);
		pthread_join(in->feeder, NULL);
		in->feeding = false;
	}
	if (in->feed_fd >= 0)
		close(in->feed_fd);
	in->feed_fd = -1;
	st_buf_release(&in->head);
}
