/* run.h: the flags `run` and `create` share (run.c). */
#ifndef ST_CLI_RUN_H
#define ST_CLI_RUN_H

#include <stdbool.h>

#include "cli.h"
#include "container/container.h"

struct run_flags {
	struct st_container_create create;
	bool detach;
	/* what the vectors of 'create' point into: owned */
	char **env, **volumes, **mounts, **tmpfs, **hosts, **publish;
};

/*
 * Parse `run` (with_run: -d too) or `create` flags and the IMAGE [COMMAND] [ARG...] after
 * them; 'verb' names the command in messages. 1 when --help was printed.
 */
int run_flags_parse(struct st_cli *cli, const char *verb, bool with_run, int argc, char **argv,
		    struct run_flags *f, struct st_error **err);
void run_flags_release(struct run_flags *f);

/* Print the error as main.c would and return 'code': run and create fail with Docker's 125. */
int run_fail(const char *verb, struct st_error *err, int code);

/* Docker's refusal of -i -t with a stdin that is not a terminal (it then exits 1). New. */
struct st_error *not_a_tty(struct st_error **err);

#endif
