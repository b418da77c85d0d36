/* system_prune.c: strata system prune [-a] [-f]: image prune and builder prune in one go. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "builder/builder.h"
#include "cli.h"
#include "container/container.h"
#include "container/volume.h"
#include "fmt.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata system prune [OPTIONS]\n\n"
    "Remove unused images and build cache\n\n"
    "Options:\n"
    "  -a, --all     Remove all unused images and all build cache, not just dangling ones\n"
    "  -f, --force   Do not prompt for confirmation\n"
    "      --volumes Prune anonymous volumes\n";

/* Docker's first step: every container that is not running goes. */
static int prune_containers(struct st_cli *cli, struct st_store *s, struct st_error **err)
{
	struct st_container **v = NULL;
	size_t n = 0;
	if (st_container_list(s, &v, &n, err) < 0)
		return -1;
	int rc = 0;
	size_t removed = 0;
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
		fprintf(cli->out, "%s%s\n", removed++ ? "" : "Deleted Containers:\n",
			st_container_id(v[i]));
	}
	if (removed)
		fputs("\n", cli->out);
	st_container_list_free(v, n);
	return rc;
}

int cmd_system_prune(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	int volumes = 0;
	const struct option more[] = {
		{ "volumes", no_argument, &volumes, 1 },
		{ 0 },
	};
	const struct st_cli_remove_verb verb = {
		.name = "system prune",
		.usage = usage_text,
		.flags = ST_CLI_REMOVE_ALL,
		.more = more,
	};
	struct st_cli_remove_opts o;
	int rc = st_cli_remove_flags(cli, argc, argv, &verb, &o, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	/* Docker's list, anonymous volumes after the containers with --volumes. */
	st_autofree char *warning = st_xasprintf(
	    "WARNING! This will remove:\n  - all stopped containers\n%s%s",
	    volumes ? "  - all anonymous volumes not used by at least one container\n" : "",
	    o.all ? "  - all images without at least one container associated to them\n"
		    "  - all build cache\n"
		  : "  - all dangling images\n  - unused build cache\n");
	if (st_cli_confirm_remove(cli, o.force, verb.name, warning, err) < 0)
		return -1;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	if (prune_containers(cli, s, err) < 0)
		return -1;
	/* Docker's order: containers, then the volumes they leave unused, then images. */
	uint64_t vol_bytes = 0;
	if (volumes) {
		char **names = NULL;
		size_t nv = 0;
		if (st_volume_prune(s, 0, &names, &nv, &vol_bytes, err) < 0)
			return -1;
		if (nv)
			fprintf(cli->out, "Deleted Volumes:\n");
		for (size_t i = 0; i < nv; i++)
			fprintf(cli->out, "%s\n", names[i]);
		if (nv)
			fprintf(cli->out, "\n");
		st_strv_free(names, nv);
	}
	char **ids = NULL;
	size_t n = 0;
	if (st_container_image_prune(s, o.all ? ST_STORE_PRUNE_ALL : 0, &ids, &n, err) < 0)
		return -1;
	if (n)
		fprintf(cli->out, "Deleted Images:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(cli->out, "deleted: %s\n", ids[i]);
	if (n)
		fprintf(cli->out, "\n");
	st_store_strings_free(ids, n);
	struct st_store_gc_report rep = { 0 };
	if (st_store_gc(s, 0, &rep, err) < 0)
		return -1;
	/* What container commands killed half-way left goes too (its problems are check's). */
	struct st_container_check_report crep;
	if (st_container_check(s, ST_CONTAINER_CHECK_REPAIR, &crep, err) < 0)
		return -1;
	st_container_check_report_release(&crep);
	/* The images' steps are dangling now, so the cache prune takes them too. */
	size_t removed = 0;
	uint64_t freed = 0;
	if (st_builder_cache_prune(s, o.all ? ST_BUILDER_PRUNE_ALL : 0, 0, &removed, &freed, err) <
	    0)
		return -1;
	fprintf(cli->out, "Deleted build cache objects: %zu\n", removed);
	st_autofree char *total =
	    st_fmt_size(rep.blob_bytes + rep.unpacked_bytes + freed + vol_bytes);
	fprintf(cli->out, "\nTotal reclaimed space: %s\n", total);
	return 0;
}
