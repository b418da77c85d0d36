/* system_check.c: strata system check: verify every blob and every record of the store. */
#include <string.h>

#include "cli.h"
#include "container/container.h"
#include "fmt.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/banned.h"

int cmd_system_check(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	bool repair = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(
			    "Usage: strata system check [--repair]\n\nVerify every blob's digest "
			    "and every reference, image, layer and container\nrecord of the store, "
			    "and remove what interrupted commands left in its tmp/\n(stale mounts "
			    "and trees). Exits 1 when a problem is found.\n\nOptions:\n"
			    "      --repair   Remove what a create or rm killed half-way left\n",
			    cli->out);
			return 0;
		}
		if (strcmp(argv[i], "--repair"))
			return st_cli_usage(err,
					    "\"system check\" accepts no arguments but --repair");
		repair = true;
	}
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	struct st_container_check_report crep;
	if (st_container_check(s, repair ? ST_CONTAINER_CHECK_REPAIR : 0, &crep, err) < 0)
		return -1;
	for (size_t i = 0; i < crep.n_problems; i++)
		fprintf(cli->out, "%s\n", crep.problems[i]);
	if (crep.removed)
		fprintf(cli->out, "removed %zu leftover%s of interrupted container commands\n",
			crep.removed, crep.removed == 1 ? "" : "s");
	size_t container_problems = crep.n_problems;
	st_container_check_report_release(&crep);
	struct st_store_check_report rep = { 0 };
	if (st_store_check(s, &rep, err) < 0)
		return -1;
	for (size_t i = 0; i < rep.n_problems; i++)
		fprintf(cli->out, "%s\n", rep.problems[i]);
	if (rep.leftovers) {
		st_autofree char *freed = st_fmt_size(rep.leftover_bytes);
		fprintf(cli->out,
			"removed %zu leftover%s of interrupted commands from tmp/ (%s, %zu stale "
			"mount%s)\n",
			rep.leftovers, rep.leftovers == 1 ? "" : "s", freed, rep.leftover_mounts,
			rep.leftover_mounts == 1 ? "" : "s");
	}
	st_autofree char *bytes = st_fmt_size(rep.bytes);
	size_t problems = rep.n_problems + container_problems;
	size_t blobs = rep.blobs;
	st_store_check_report_release(&rep);
	if (problems)
		return st_err(err, ST_E_DIGEST, "store '%s' is not consistent: %zu problem%s",
			      cli->root, problems, problems == 1 ? "" : "s");
	fprintf(cli->out, "store '%s' is consistent: %zu blobs verified (%s)\n", cli->root, blobs,
		bytes);
	return 0;
}
