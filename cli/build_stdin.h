/* build_stdin.h: `strata build -`: a context tar, or a Dockerfile, on stdin. */
#ifndef ST_CLI_BUILD_STDIN_H
#define ST_CLI_BUILD_STDIN_H

#include <pthread.h>
#include <stdbool.h>

#include "util/buf.h"
#include "util/err.h"

struct st_cli_stdin {
	struct st_buf head; /* what was read to tell a tar from a Dockerfile */
	int context_fd;	    /* the context tar to read, or -1 if stdin held a Dockerfile */
	int feed_fd;	    /* a pipe's writing end, when stdin cannot be read again */
	pthread_t feeder;
	bool feeding;
};

#define ST_CLI_STDIN_INIT                                                                          \
	{                                                                                          \
		.head = ST_BUF_INIT, .context_fd = -1, .feed_fd = -1                               \
	}

/*
 * Look at stdin: a tar (plain or compressed) leaves in->context_fd open on the whole of it;
 * anything else is appended to 'dockerfile' and in->context_fd is -1. Release 'in' with
 * st_cli_stdin_release() once the build is done, whatever this returned.
 */
/* 'in' starts as ST_CLI_STDIN_INIT. */
int st_cli_stdin_open(struct st_cli_stdin *in, struct st_buf *dockerfile, struct st_error **err);
void st_cli_stdin_release(struct st_cli_stdin *in);

#endif
