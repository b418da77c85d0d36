/* create.c: strata create [OPTIONS] IMAGE [COMMAND] [ARG...]: a container, not started. */
#include <stdio.h>

#include "run.h"
#include "util/cleanup.h"
#include "util/banned.h"

int cmd_create(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	struct run_flags f;
	int rc = run_flags_parse(cli, "create", false, argc, argv, &f, err);
	if (rc != 0) {
		run_flags_release(&f);
		return rc > 0 ? 0 : run_fail("create", st_steal(err), 125);
	}
	struct st_store *s = NULL;
	st_auto(st_container) struct st_container *c = NULL;
	rc = run_pull(cli, &f, err);
	if (rc == 0)
		rc = st_cli_store(cli, &s, err);
	if (rc == 0)
		rc = st_container_create(s, &f.create, &c, err);
	run_flags_release(&f);
	if (rc < 0)
		return run_fail("create", st_steal(err), 125);
	fprintf(cli->out, "%s\n", st_container_id(c));
	return 0;
}
