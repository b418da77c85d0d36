/* export.c: strata export [-o FILE] IMAGE: the image's flattened root filesystem as a tar. */
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* Apply every layer, bottom first, into 'dir': whiteouts delete what lower layers put there. */
static int flatten(struct st_store *s, const struct st_store_image *img, const char *dir,
		   struct st_error **err)
{
	for (size_t i = 0; i < img->n_layers; i++) {
		st_autoclose int fd = -1;
		if (st_store_open_blob(s, img->layers[i].digest.str, &fd, NULL, err) < 0)
			return -1;
		struct st_layer_extract_opts o = { .mode = ST_LAYER_EXTRACT_APPLY };
		struct st_digest got;
		if (st_layer_extract(st_layer_source_fd(&fd), dir, &o, &got, err) < 0)
			return st_err_wrap(err, "layer %s", img->layers[i].digest.str);
		if (!st_digest_equal(&got, &img->layers[i].diff_id))
			return st_err(err, ST_E_DIGEST, "layer %s: content hashes to %s, expected %s",
				      img->layers[i].digest.str, got.str, img->layers[i].diff_id.str);
	}
	return 0;
}

int cmd_export(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *output = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'h':
			fputs("Usage: strata export [OPTIONS] IMAGE\n\n"
			      "Export an image's filesystem (all layers applied) as a tar archive\n\n"
			      "Options:\n  -o, --output string   Write to a file, instead of STDOUT\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata export --help'");
		}
	}
	if (argc - optind != 1)
		return st_cli_usage(err, "\"export\" requires exactly 1 argument");
	if (!output && isatty(1))
		return st_err(err, ST_E_INVALID,
			      "cowardly refusing to save to a terminal. Use the -o flag or redirect");
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, argv[optind], &img, err) < 0)
		return -1;

	st_autofree char *dir = NULL;
	st_autoclose int lock = -1;
	if (st_store_tmp_mkdir(s, &dir, &lock, err) < 0)
		return -1;
	int rc = flatten(s, img, dir, err);
	st_auto_tmpfile struct st_tmpfile out = ST_TMPFILE_INIT;
	int fd = 1;
	if (rc == 0 && output) {
		st_autofree char *odir = st_xstrdup(output);
		char *slash = strrchr(odir, '/');
		if (slash)
			*slash = '\0';
		rc = st_tmpfile_open(&out, slash ? (odir[0] ? odir : "/") : ".", 0644, err);
		fd = out.fd;
	}
	if (rc == 0) {
		struct st_layer_writer_opts lo = { .compression = ST_LAYER_COMP_NONE };
		st_auto(st_layer_writer) struct st_layer_writer *w =
			st_layer_writer_new(&lo, st_layer_sink_fd(&fd), err);
		struct st_layer_result res;
		rc = w ? 0 : -1;
		if (rc == 0)
			rc = st_layer_writer_add_tree(w, dir, NULL, 0, err);
		if (rc == 0)
			rc = st_layer_writer_finish(w, &res, err);
	}
	if (rc == 0 && output)
		rc = st_tmpfile_commit(&out, output, err);
	struct st_error *rmerr = NULL;
	if (st_rm_rf(dir, &rmerr) < 0)
		st_error_free(rmerr);
	if (rc < 0)
		return st_err_wrap(err, "export '%s'", argv[optind]);
	return 0;
}
