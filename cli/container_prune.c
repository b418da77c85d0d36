/* container_prune.c: strata container prune [-f]: remove every container that is not running. */
#include <stdio.h>

#include "cli.h"
#include "container/container.h"
#include "util/cleanup.h"
#include "util/banned.h"

int cmd_container_prune(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct st_cli_remove_verb verb = {
		.name = "container prune",
		.usage = "Usage: strata container prune [OPTIONS]\n\n"
			 "Remove all stopped containers\n\nOptions:\n"
			 "  -f, --force   Do not prompt for confirmation\n",
	};
	struct st_cli_remove_opts o;
	int rc = st_cli_remove_flags(cli, argc, argv, &verb, &o, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (st_cli_confirm_remove(cli, o.force, verb.name,
				  "WARNING! This will remove all stopped containers.\n", err) < 0)
		return -1;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	struct st_container **v = NULL;
	size_t n = 0;
	if (st_container_list(s, &v, &n, err) < 0)
		return -1;
	bool header = false;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct st_container_state st;
		if ((rc = st_container_state(s, v[i], &st, err)) < 0)
			break;
		bool running = st.status == ST_CONTAINER_RUNNING;
		st_container_state_release(&st);
		if (running)
			continue;
		if ((rc = st_container_remove(s, v[i], 0, err)) < 0)
			break;
		if (!header)
			fputs("Deleted Containers:\n", cli->out);
		header = true;
		fprintf(cli->out, "%s\n", st_container_id(v[i]));
	}
	st_container_list_free(v, n);
	if (rc < 0)
		return -1;
	return 0;
}
