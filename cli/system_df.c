/* system_df.c: strata system df [--format F] */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "fmt.h"
#include "format.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/banned.h"

static json_t *row(const char *type, size_t total, size_t active, uint64_t size, uint64_t reclaim)
{
	st_autofree char *sz = st_fmt_size(size);
	st_autofree char *rs = st_fmt_size(reclaim);
	st_autofree char *rc = size ? st_xasprintf("%s (%d%%)", rs, (int)(reclaim * 100 / size))
				    : st_xstrdup(rs);
	return json_pack("{s:s, s:I, s:I, s:s, s:s}", "Type", type, "TotalCount", (json_int_t)total,
			 "Active", (json_int_t)active, "Size", sz, "Reclaimable", rc);
}

int cmd_system_df(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *fmt = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
	int c;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			fmt = optarg;
			break;
		case 'v':
			break;
		case 'h':
			fputs("Usage: strata system df [OPTIONS]\n\nShow disk usage\n\nOptions:\n"
			      "      --format string   Format output using a Go template\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata system df --help'");
		}
	}
	json_t *header = json_pack("{s:s, s:s}", "TotalCount", "TOTAL", "Reclaimable", "RECLAIMABLE");
	st_auto(st_cli_format) struct st_cli_format *f = NULL;
	int rc = st_cli_format_new(fmt, header, &f, err);
	json_decref(header);
	if (rc < 0)
		return -1;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	struct st_store_df df;
	if (st_store_df(s, &df, err) < 0)
		return -1;
	json_t *rows[] = {
		/* Docker counts an image as active when a container uses it; strata runs none. */
		row("Images", df.images, 0, df.images_size, df.images_size),
		row("Containers", 0, 0, 0, 0),
		row("Local Volumes", 0, 0, 0, 0),
		row("Build Cache", df.cache, 0, df.cache_size, df.cache_size),
	};
	rc = 0;
	for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
		if (rc == 0)
			rc = st_cli_format_row(f, rows[i], cli->out, err);
		json_decref(rows[i]);
	}
	if (rc < 0)
		return -1;
	st_cli_format_flush(f, cli->out);
	return 0;
}
