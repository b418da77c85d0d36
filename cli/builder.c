/* builder.c: strata builder prune [-a] [--keep-storage SIZE] [-f] | strata builder du */
#include <getopt.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/build.h"
#include "cli.h"
#include "fmt.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const char prune_usage[] =
	"Usage: strata builder prune [OPTIONS]\n\n"
	"Remove build cache\n\n"
	"Options:\n"
	"  -a, --all                  Remove all unused build cache, not just dangling ones\n"
	"  -f, --force                Do not prompt for confirmation\n"
	"      --keep-storage bytes   Amount of disk space to keep for cache (e.g. 512MB, 2GB)\n\n"
	"Dangling cache: the steps no image in the store was built through (its image was\n"
	"removed, or the build failed or was never tagged). Without --all only those go, least\n"
	"recently used first; with --all every step's cache, and the context checksums and miss\n"
	"explanations too. RUN --mount=type=cache directories go unless --keep-storage is given.\n"
	"Without -f, a terminal on stdin is asked to confirm.\n";

static const char du_usage[] =
	"Usage: strata builder du\n\n"
	"Show build cache disk usage\n";

/* "512MB", "2GiB", "100k", "1048576": Docker's RAMInBytes-like parsing (decimal and binary). */
static int parse_size(const char *s, uint64_t *out, struct st_error **err)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return st_cli_usage(err, "invalid size '%s'", s);
	while (*end == ' ')
		end++;
	double mult = 1;
	char u = (char)(*end | 0x20);
	bool binary = end[0] && (end[1] == 'i' || end[1] == 'I');
	switch (*end ? u : 'b') {
	case 'b': mult = 1; break;
	case 'k': mult = binary ? 1024.0 : 1000.0; break;
	case 'm': mult = binary ? 1048576.0 : 1e6; break;
	case 'g': mult = binary ? 1073741824.0 : 1e9; break;
	case 't': mult = binary ? 1099511627776.0 : 1e12; break;
	default:
		return st_cli_usage(err, "invalid size '%s'", s);
	}
	*out = (uint64_t)(v * mult);
	return 0;
}

int cmd_builder_prune(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "force", no_argument, NULL, 'f' },
		{ "keep-storage", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t keep = 0;
	unsigned flags = 0;
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "afh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			flags |= ST_BUILD_PRUNE_ALL;
			break;
		case 'f':
			force = true;
			break;
		case 'k':
			if (parse_size(optarg, &keep, err) < 0)
				return -1;
			break;
		case 'h':
			fputs(prune_usage, cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata builder prune --help'");
		}
	}
	if (optind != argc)
		return st_cli_usage(err, "\"builder prune\" accepts no arguments");
	if (!force && isatty(STDIN_FILENO)) {
		fprintf(stderr, "WARNING! This will remove all %sbuild cache. Are you sure you want to "
				"continue? [y/N] ",
			(flags & ST_BUILD_PRUNE_ALL) ? "" : "dangling ");
		char answer[16] = "";
		if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y'))
			return 0;
	}
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	size_t removed = 0;
	uint64_t freed = 0;
	if (st_build_cache_prune(s, flags, keep, &removed, &freed, err) < 0)
		return -1;
	/* RUN --mount=type=cache dirs have no size budget of their own: only a full prune
	 * removes them. */
	size_t mremoved = 0;
	uint64_t mfreed = 0;
	if (keep == 0 && st_build_cache_mounts_prune(s, &mremoved, &mfreed, err) < 0)
		return -1;
	removed += mremoved;
	freed += mfreed;
	st_autofree char *sz = st_fmt_size(freed);
	fprintf(cli->out, "Deleted build cache objects: %zu\nTotal reclaimed space: %s\n", removed, sz);
	return 0;
}

int cmd_builder_du(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(du_usage, cli->out);
		return 0;
	}
	if (argc > 1)
		return st_cli_usage(err, "\"builder du\" accepts no arguments");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	struct st_build_cache_usage u;
	if (st_build_cache_du(s, &u, err) < 0)
		return -1;
	/* Docker's layout: one row per record, most recently used first, then the totals. */
	struct st_table t;
	st_table_init(&t, 4);
	const char *head[] = { "ID", "RECLAIMABLE", "SIZE", "LAST ACCESSED" };
	st_table_add(&t, head);
	time_t now = time(NULL);
	for (size_t i = 0; i < u.records; i++) {
		const struct st_build_cache_record *r = &u.v[i];
		st_autofree char *id = st_xstrndup(r->id, 25);
		st_autofree char *sz = st_fmt_size(r->size);
		long long ago = (long long)now - (long long)(r->last_used / 1000000);
		st_autofree char *d = st_fmt_duration(ago < 0 ? 0 : ago);
		st_autofree char *when = st_xasprintf("%s ago", d);
		const char *row[] = { id, r->reclaimable ? "true" : "false", sz, when };
		st_table_add(&t, row);
	}
	if (u.records)
		st_table_print(&t, cli->out);
	st_table_release(&t);
	st_autofree char *shared = st_fmt_size(u.size - u.reclaimable);
	st_autofree char *rec = st_fmt_size(u.reclaimable);
	st_autofree char *total = st_fmt_size(u.size);
	st_autofree char *meta = st_fmt_size(u.meta_size);
	fprintf(cli->out, "%sShared:\t\t%s\nPrivate:\t%s\nReclaimable:\t%s\nMetadata:\t%s\nTotal:\t\t%s\n",
		u.records ? "\n" : "", shared, rec, rec, meta, total);
	st_build_cache_usage_release(&u);
	return 0;
}
