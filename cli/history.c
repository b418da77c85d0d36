/* history.c: strata history [-H] [--no-trunc] [-q] [--format F] IMAGE */
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fmt.h"
#include "format.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/banned.h"

struct history_opts {
	bool human, no_trunc, quiet;
	const char *format;
	const char *image;
};

static int parse_flags(struct st_cli *cli, int argc, char **argv, struct history_opts *o,
		       struct st_error **err)
{
	static const struct option longopts[] = {
		{ "human", optional_argument, NULL, 'H' },
		{ "no-trunc", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	/* -H=false is how Docker users turn human sizes off: accept "-H=false" as one word */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-H=false") || !strcmp(argv[i], "--human=false")) {
			o->human = false;
			argv[i] = (char *)"--human=off";
		}
	}
	int c;
	while ((c = getopt_long(argc, argv, "Hqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			o->human = !optarg || !strcmp(optarg, "true") || !strcmp(optarg, "1");
			break;
		case 'n':
			o->no_trunc = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'F':
			o->format = optarg;
			break;
		case 'h':
			fputs("Usage: strata history [OPTIONS] IMAGE\n\nShow the history of an "
			      "image\n\n"
			      "Options:\n"
			      "      --format string   Format output using a Go template\n"
			      "  -H, --human           Print sizes and dates in human readable "
			      "format "
			      "(default true)\n"
			      "      --no-trunc        Don't truncate output\n"
			      "  -q, --quiet           Only show image IDs\n",
			      cli->out);
			return 1;
		default:
			return st_cli_usage(err, "see 'strata history --help'");
		}
	}
	if (argc - optind != 1)
		return st_cli_usage(err, "\"history\" requires exactly 1 argument");
	o->image = argv[optind];
	return 0;
}

/* Docker's stringutils.Ellipsis: at most 'max' characters, the last one an ellipsis. */
static char *ellipsis(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return st_xstrdup(s);
	return st_xasprintf("%.*s…", (int)(max - 1), s);
}

static json_t *make_row(const struct history_opts *o, const char *id, const char *created,
			const char *created_by, uint64_t size, const char *comment, time_t now)
{
	st_autofree char *sid =
	    !strcmp(id, "<missing>") || o->no_trunc ? st_xstrdup(id) : st_fmt_short_id(id);
	/* tabs and newlines in a RUN line would break the table */
	st_autofree char *by = st_xstrdup(created_by ? created_by : "");
	for (char *p = by; *p; p++)
		if (*p == '\t' || *p == '\n')
			*p = ' ';
	st_autofree char *by_shown = o->no_trunc ? st_xstrdup(by) : ellipsis(by, 45);
	/* Docker prints RFC 3339 in the local zone, to the second, where -H is off */
	time_t t;
	bool parsed = st_fmt_parse_time(created, &t) == 0;
	st_autofree char *at =
	    parsed ? st_fmt_rfc3339_local(t) : st_xstrdup(created ? created : "");
	st_autofree char *since = o->human ? st_fmt_since(created, now) : st_xstrdup(at);
	st_autofree char *sz =
	    o->human ? st_fmt_size(size) : st_xasprintf("%llu", (unsigned long long)size);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", sid, "CreatedSince", since,
			 "CreatedAt", at, "CreatedBy", by_shown, "Size", sz, "Comment",
			 comment ? comment : "");
}

/*
 * Docker's history SIZE is what the layer's files hold (regular files' bytes, as its graph
 * drivers sum them), not the tar's size with headers and padding. Reading the whole layer
 * costs a decompression; the store keeps only the tar's size.
 */
static int content_size(struct st_store *s, const struct st_store_layer *l, uint64_t *out,
			struct st_error **err)
{
	st_autoclose int fd = -1;
	if (st_store_open_blob(s, l->digest.str, &fd, NULL, err) < 0)
		return -1;
	st_auto(st_layer_reader) struct st_layer_reader *r =
	    st_layer_reader_new(st_layer_source_fd(&fd), err);
	if (!r)
		return -1;
	uint64_t total = 0;
	struct st_layer_entry e;
	int rc;
	while ((rc = st_layer_reader_next(r, &e, err)) == 1)
		if (e.type == ST_LAYER_ENTRY_FILE)
			total += e.size;
	if (rc < 0)
		return st_err_wrap(err, "layer %s", l->digest.str);
	*out = total;
	return 0;
}

int cmd_history(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	struct history_opts o = { .human = true };
	int rc = parse_flags(cli, argc, argv, &o, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	const char *fmt =
	    o.quiet ? "{{.ID}}"
	    : o.format
		? o.format
		: "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
	json_t *header = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "IMAGE", "CreatedSince",
				   "CREATED", "CreatedAt", "CREATED AT", "CreatedBy", "CREATED BY",
				   "Size", "SIZE", "Comment", "COMMENT");
	st_auto(st_cli_format) struct st_cli_format *f = NULL;
	rc = st_cli_format_new(fmt, header, &f, err);
	json_decref(header);
	if (rc < 0)
		return -1;

	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, o.image, &img, err) < 0)
		return -1;
	st_auto(st_image_config) struct st_image_config *cfg = NULL;
	if (st_local_image_config(s, img, &cfg, err) < 0)
		return -1;

	time_t now = time(NULL);
	size_t nrows = cfg->n_history ? cfg->n_history : img->n_layers;
	json_t **rows = st_xcalloc(nrows, sizeof(json_t *));
	size_t layer = 0;
	rc = 0;
	for (size_t i = 0; i < nrows && rc == 0; i++) {
		uint64_t size = 0;
		const struct st_image_history *h = cfg->n_history ? &cfg->history[i] : NULL;
		/* -q shows no size: spare it the layers' decompression */
		if ((!h || !h->empty_layer) && layer < img->n_layers && !o.quiet &&
		    content_size(s, &img->layers[layer++], &size, err) < 0) {
			rc = -1;
			break;
		}
		/* Only the top entry is this image; lower ones have no image of their own here. */
		const char *id = i + 1 == nrows ? img->id.str : "<missing>";
		rows[i] = make_row(&o, id, h ? h->created : cfg->created, h ? h->created_by : "",
				   size, h ? h->comment : "", now);
	}
	for (size_t i = nrows; i-- > 0;) {
		if (rc == 0)
			rc = st_cli_format_row(f, rows[i], cli->out, err);
		json_decref(rows[i]);
	}
	free(rows);
	if (rc < 0)
		return -1;
	st_cli_format_flush(f, cli->out);
	return 0;
}
