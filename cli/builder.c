/* builder.c: strata builder prune [-a] [--keep-storage SIZE] [-f] | strata builder du */
#include <getopt.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"
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
    "Without -f, it asks on stdin for a \"y\" first.\n";

static const char du_usage[] =
    "Usage: strata builder du [OPTIONS]\n\n"
    "Show build cache disk usage\n\n"
    "Options:\n"
    "      --filter filter   Provide filter values: type=regular|exec.cachemount, id=PREFIX,\n"
    "                        until=DURATION (last used longer ago than, e.g. 24h, 90m)\n"
    "  -v, --verbose         Provide a more verbose output\n\n"
    "The build cache is the steps' records (type regular) and the RUN --mount=type=cache\n"
    "directories (type exec.cachemount).\n";

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
	case 'b':
		mult = 1;
		break;
	case 'k':
		mult = binary ? 1024.0 : 1000.0;
		break;
	case 'm':
		mult = binary ? 1048576.0 : 1e6;
		break;
	case 'g':
		mult = binary ? 1073741824.0 : 1e9;
		break;
	case 't':
		mult = binary ? 1099511627776.0 : 1e12;
		break;
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
			flags |= ST_BUILDER_PRUNE_ALL;
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
	if (st_cli_confirm_remove(cli, force, "builder prune",
				  (flags & ST_BUILDER_PRUNE_ALL)
				      ? "WARNING! This will remove all build cache.\n"
				      : "WARNING! This will remove all dangling build cache.\n",
				  err) < 0)
		return -1;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	size_t removed = 0;
	uint64_t freed = 0;
	if (st_builder_cache_prune(s, flags, keep, &removed, &freed, err) < 0)
		return -1;
	st_autofree char *sz = st_fmt_size(freed);
	fprintf(cli->out, "Deleted build cache objects: %zu\nTotal reclaimed space: %s\n", removed,
		sz);
	return 0;
}

/* Go's time.ParseDuration for what a filter needs: "24h", "1h30m", "90s". Microseconds. */
static int parse_duration(const char *s, int64_t *out, struct st_error **err)
{
	int64_t total = 0;
	const char *p = s;
	do {
		char *end;
		double v = strtod(p, &end);
		if (end == p || v < 0)
			return st_cli_usage(err, "invalid duration '%s'", s);
		double unit = *end == 'h'		     ? 3600e6
			      : *end == 'm' && end[1] == 's' ? 1e3
			      : *end == 'm'		     ? 60e6
			      : *end == 's'		     ? 1e6
							     : 0;
		if (!unit)
			return st_cli_usage(err, "invalid duration '%s': give a unit (h, m, s, ms)",
					    s);
		total += (int64_t)(v * unit);
		p = end + (*end == 'm' && end[1] == 's' ? 2 : 1);
	} while (*p);
	*out = total;
	return 0;
}

static int parse_du_filter(const char *f, struct st_builder_cache_filter *out,
			   struct st_error **err)
{
	const char *eq = strchr(f, '=');
	if (!eq || eq == f)
		return st_cli_usage(err, "bad filter '%s': want KEY=VALUE", f);
	size_t kn = (size_t)(eq - f);
	const char *v = eq + 1;
	if (kn == 4 && !strncmp(f, "type", 4)) {
		out->type = v;
	} else if (kn == 2 && !strncmp(f, "id", 2)) {
		out->id = v;
	} else if (kn == 5 && !strncmp(f, "until", 5)) {
		int64_t d = 0;
		if (parse_duration(v, &d, err) < 0)
			return -1;
		out->until = (int64_t)time(NULL) * 1000000 - d;
	} else {
		return st_cli_usage(err, "bad filter '%s': unknown key '%.*s' (type, id, until)", f,
				    (int)kn, f);
	}
	return 0;
}

static char *ago(int64_t us)
{
	long long s = (long long)time(NULL) - (long long)(us / 1000000);
	st_autofree char *d = st_fmt_duration(s < 0 ? 0 : s);
	return st_xasprintf("%s ago", d);
}

/* buildx du --verbose: one block of "Key: value" lines a record. */
static void print_verbose(FILE *out, const struct st_builder_cache_usage *u)
{
	for (size_t i = 0; i < u->records; i++) {
		const struct st_builder_cache_record *r = &u->v[i];
		bool mount = !strcmp(r->type, "exec.cachemount");
		st_autofree char *sz = st_fmt_size(r->size);
		st_autofree char *when = ago(r->last_used);
		fprintf(out, "ID:\t\t%s\n", r->id);
		fprintf(out, "Mutable:\t%s\n", mount ? "true" : "false");
		fprintf(out, "Reclaimable:\t%s\n", r->reclaimable ? "true" : "false");
		fprintf(out, "Shared:\t\tfalse\n");
		fprintf(out, "Size:\t\t%s\n", sz);
		if (r->description)
			fprintf(out, "Description:\t%s\n", r->description);
		fprintf(out, "Last used:\t%s\n", when);
		fprintf(out, "Type:\t\t%s\n\n", r->type);
	}
}

int cmd_builder_du(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "filter", required_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct st_builder_cache_filter filter = { 0 };
	bool verbose = false;
	int c;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_du_filter(optarg, &filter, err) < 0)
				return -1;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs(du_usage, cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata builder du --help'");
		}
	}
	if (optind != argc)
		return st_cli_usage(err, "\"builder du\" accepts no arguments");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	struct st_builder_cache_usage u;
	if (st_builder_cache_du(s, &filter, &u, err) < 0)
		return -1;
	if (verbose) {
		print_verbose(cli->out, &u);
	} else if (u.records) {
		/* Docker's layout: a row per record, most recently used first, then the totals */
		struct st_table t;
		st_table_init(&t, 4);
		const char *head[] = { "ID", "RECLAIMABLE", "SIZE", "LAST ACCESSED" };
		st_table_add(&t, head);
		for (size_t i = 0; i < u.records; i++) {
			const struct st_builder_cache_record *r = &u.v[i];
			st_autofree char *id = st_xstrndup(r->id, 25);
			st_autofree char *sz = st_fmt_size(r->size);
			st_autofree char *when = ago(r->last_used);
			const char *row[] = { id, r->reclaimable ? "true" : "false", sz, when };
			st_table_add(&t, row);
		}
		st_table_print(&t, cli->out);
		st_table_release(&t);
	}
	st_autofree char *shared = st_fmt_size(u.size - u.reclaimable);
	st_autofree char *rec = st_fmt_size(u.reclaimable);
	st_autofree char *total = st_fmt_size(u.size);
	st_autofree char *meta = st_fmt_size(u.meta_size);
	fprintf(cli->out,
		"%sShared:\t\t%s\nPrivate:\t%s\nReclaimable:\t%s\nMetadata:\t%s\nTotal:\t\t%s\n",
		u.records && !verbose ? "\n" : "", shared, rec, rec, meta, total);
	st_builder_cache_usage_release(&u);
	return 0;
}
