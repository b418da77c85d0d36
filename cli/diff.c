/*
 * diff.c: strata diff [--json] [--layers] IMAGE1 IMAGE2: the files IMAGE2 adds (A), deletes (D)
 * and changes (C) against IMAGE1, as `docker diff` lists a container's, with their sizes; or,
 * with --layers, the layers both share and what each adds after they diverge.
 */
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "analyze/analyze.h"
#include "cli.h"
#include "container/container.h"
#include "fmt.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/banned.h"

struct diff_opts {
	bool json, layers;
	const char *image[2];
	const char *container; /* `docker diff CONTAINER` */
};

static int parse_flags(struct st_cli *cli, int argc, char **argv, struct diff_opts *o,
		       struct st_error **err)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "layers", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'l':
			o->layers = true;
			break;
		case 'h':
			fputs(
			    "Usage: strata diff CONTAINER\n"
			    "       strata diff [OPTIONS] IMAGE1 IMAGE2\n\n"
			    "Show the files a container added (A), deleted (D) and changed (C) "
			    "against its image\n"
			    "Show the files IMAGE2 adds (A), deletes (D) and changes (C) against "
			    "IMAGE1\n"
			    "(images of the store, or docker://REF, docker-archive:PATH, oci:DIR, "
			    "oci-archive:PATH)\n"
			    "(type, size, content, mode, owner or link target)\n\n"
			    "Options:\n"
			    "      --json     Print JSON\n"
			    "      --layers   Compare the layer stacks: the layers both share, "
			    "the first\n"
			    "                 where they diverge, what each adds after it\n",
			    cli->out);
			return 1;
		default:
			return st_cli_usage(err, "see 'strata diff --help'");
		}
	}
	if (argc - optind == 1 && !o->json && !o->layers) {
		o->container = argv[optind];
		return 0;
	}
	if (argc - optind != 2)
		return st_cli_usage(err, "\"diff\" requires a container or exactly 2 images");
	o->image[0] = argv[optind];
	o->image[1] = argv[optind + 1];
	return 0;
}

static const char *const change_letter[] = { "A", "D", "C" };

static int print_files(struct st_cli *cli, const struct diff_opts *o, struct st_error **err)
{
	struct st_analyze *a[2] = { NULL, NULL };
	int rc = 0;
	for (size_t i = 0; i < 2 && rc == 0; i++)
		rc = st_cli_analyze_open(cli, o->image[i], NULL, NULL, &a[i], err);
	struct st_analyze_diff_entry *v = NULL;
	size_t n = 0;
	if (rc == 0)
		st_analyze_diff(a[0], a[1], &v, &n);
	st_analyze_free(a[0]);
	st_analyze_free(a[1]);
	if (rc < 0)
		return -1;
	json_t *list = o->json ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		const struct st_analyze_diff_entry *d = &v[i];
		if (list) {
			json_array_append_new(list,
					      json_pack("{s:s, s:s, s:I, s:I}", "Kind",
							change_letter[d->change], "Path", d->path,
							"SizeBefore", (json_int_t)d->size_before,
							"SizeAfter", (json_int_t)d->size_after));
			continue;
		}
		st_autofree char *before = st_fmt_size(d->size_before);
		st_autofree char *after = st_fmt_size(d->size_after);
		if (d->change == ST_ANALYZE_CHANGE_CHANGED && d->size_before != d->size_after)
			fprintf(cli->out, "C %s\t%s -> %s\n", d->path, before, after);
		else if (d->change == ST_ANALYZE_CHANGE_ADDED && d->size_after)
			fprintf(cli->out, "A %s\t%s\n", d->path, after);
		else if (d->change == ST_ANALYZE_CHANGE_DELETED && d->size_before)
			fprintf(cli->out, "D %s\t%s\n", d->path, before);
		else
			fprintf(cli->out, "%s %s\n", change_letter[d->change], d->path);
	}
	st_analyze_diff_free(v, n);
	if (list) {
		json_dumpf(list, cli->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', cli->out);
		json_decref(list);
	}
	return 0;
}

/* An image's layers with the history entry that made each. */
struct stack {
	struct st_store_image *img;
	struct st_image_config *cfg;
	const char **command; /* borrowed from cfg; one per layer */
};

static int load_stack(struct st_store *s, const char *name, struct stack *st, struct st_error **err)
{
	if (st_local_image_find(s, name, &st->img, err) < 0 ||
	    st_local_image_config(s, st->img, &st->cfg, err) < 0)
		return -1;
	st->command = st_xcalloc(st->img->n_layers + 1, sizeof(*st->command));
	size_t li = 0;
	for (size_t h = 0; h < st->cfg->n_history && li < st->img->n_layers; h++)
		if (!st->cfg->history[h].empty_layer)
			st->command[li++] = st->cfg->history[h].created_by;
	return 0;
}

static void release_stack(struct stack *st)
{
	st_store_image_free(st->img);
	st_image_config_free(st->cfg);
	free(st->command);
}

static json_t *layer_json(const struct stack *st, size_t i)
{
	const char *by = st->command[i];
	return json_pack("{s:I, s:s, s:s}", "index", (json_int_t)i, "diffId",
			 st->img->layers[i].diff_id.str, "command", by ? by : "");
}

static void print_layer(FILE *out, const struct stack *st, size_t i)
{
	const char *by = st->command[i];
	fprintf(out, "  %-3zu %.19s  %s\n", i, st->img->layers[i].diff_id.str, by ? by : "");
}

static int print_layers(struct st_cli *cli, const struct diff_opts *o, struct st_store *s,
			struct st_error **err)
{
	struct stack st[2] = { 0 };
	int rc = load_stack(s, o->image[0], &st[0], err);
	if (rc == 0)
		rc = load_stack(s, o->image[1], &st[1], err);
	size_t shared = 0;
	while (
	    rc == 0 && shared < st[0].img->n_layers && shared < st[1].img->n_layers &&
	    !strcmp(st[0].img->layers[shared].diff_id.str, st[1].img->layers[shared].diff_id.str))
		shared++;
	bool same = rc == 0 && shared == st[0].img->n_layers && shared == st[1].img->n_layers;
	if (rc == 0 && o->json) {
		json_t *doc = json_object();
		json_t *common = json_array();
		for (size_t i = 0; i < shared; i++)
			json_array_append_new(common, layer_json(&st[0], i));
		json_object_set_new(doc, "shared", common);
		json_object_set_new(doc, "divergeAt",
				    same ? json_null() : json_integer((json_int_t)shared));
		for (size_t k = 0; k < 2; k++) {
			json_t *own = json_array();
			for (size_t i = shared; i < st[k].img->n_layers; i++)
				json_array_append_new(own, layer_json(&st[k], i));
			json_object_set_new(doc, k ? "image2" : "image1", own);
		}
		json_dumpf(doc, cli->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', cli->out);
		json_decref(doc);
	} else if (rc == 0) {
		fprintf(cli->out, "Shared layers: %zu\n", shared);
		for (size_t i = 0; i < shared; i++)
			print_layer(cli->out, &st[0], i);
		if (same)
			fputs("The layers are the same\n", cli->out);
		else
			fprintf(cli->out, "Diverge at layer %zu\n", shared);
		for (size_t k = 0; k < 2 && !same; k++) {
			fprintf(cli->out, "%s adds %zu:\n", o->image[k],
				st[k].img->n_layers - shared);
			for (size_t i = shared; i < st[k].img->n_layers; i++)
				print_layer(cli->out, &st[k], i);
		}
	}
	release_stack(&st[0]);
	release_stack(&st[1]);
	return rc;
}

static int print_change(void *ctx, char kind, const char *path, struct st_error **err)
{
	(void)err;
	fprintf(ctx, "%c %s\n", kind, path);
	return 0;
}

static int print_container(struct st_cli *cli, const char *name, struct st_error **err)
{
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_container) struct st_container *c = NULL;
	if (st_container_find(s, name, &c, err) < 0)
		return -1;
	return st_container_diff(s, c, print_change, cli->out, err);
}

int cmd_diff(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	struct diff_opts o = { 0 };
	int rc = parse_flags(cli, argc, argv, &o, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (o.container)
		return print_container(cli, o.container, err);
	if (!o.layers)
		return print_files(cli, &o, err);
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	return print_layers(cli, &o, s, err);
}
