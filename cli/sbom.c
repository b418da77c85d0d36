/*
 * sbom.c: strata sbom [-o FORMAT[=FILE]]... [--scope S] [--file F] [--platform P] IMAGE:
 * the packages of an image, each with the layer and the instruction that added it, as SPDX
 * 2.3, CycloneDX 1.6, strata's JSON, a table or purls (syft's -o, several at once).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/analyze.h"
#include "archive/archive.h"
#include "attest/attest.h"
#include "attest/attest.h"
#include "cli.h"
#include "copy/copy.h"
#include "layer_progress.h"
#include "local/local.h"
#include "registry/registry.h"
#include "sbom/sbom.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/timestamp.h"
#include "util/banned.h"

struct output {
	enum st_sbom_format format;
	const char *file; /* NULL: standard output */
};

struct sbom_opts {
	const char *image;
	const char *file;
	const char *platform;
	const char *progress;
	enum st_sbom_scope scope;
	struct output *outputs;
	size_t n_outputs;
};

enum { OPT_SCOPE = 0x100, OPT_FILE, OPT_PLATFORM, OPT_PROGRESS };

static const char usage[] =
    "Usage: strata sbom [OPTIONS] IMAGE\n\n"
    "List the packages of an image: a software bill of materials\n\n"
    "Packages come from dpkg's database (status and status.d/, licences from\n"
    "/usr/share/doc/*/copyright), apk's, rpm's (rpmdb.sqlite), Python's dist-info and\n"
    "egg-info, npm's node_modules, the build information of Go executables and Java\n"
    "archives; the distro from /etc/os-release. Each package names the layer that added it (the "
    "first whose\n"
    "copy of its database lists it) and that layer's instruction.\n\n"
    "IMAGE is an image of the store, or read in place: docker://REF (a registry's),\n"
    "docker-archive:PATH[:NAME], oci:DIR[:NAME] or oci-archive:PATH[:NAME].\n\n"
    "Options:\n"
    "  -o, --output stringArray   Format, and where to write it: FORMAT or FORMAT=FILE;\n"
    "                             several allowed. FORMAT is table (default), spdx-json,\n"
    "                             cyclonedx-json, strata-json or purls\n"
    "      --scope string         squashed (default): the final filesystem's packages;\n"
    "                             all-layers: also those later layers removed\n"
    "      --file string          Write the output that names no file to this file\n"
    "      --platform string      The platform to read from an index (default: the host's)\n"
    "      --progress string      auto, plain or tty: each layer as it is read, on STDERR\n"
    "                             (default auto: a terminal only)\n"
    "An image of the store built with --sbom has its SPDX document attached: -o spdx-json\n"
    "alone (squashed) prints that document, as the build wrote it.\n"
    "Timestamps are $SOURCE_DATE_EPOCH when it is set.\n";

static int add_output(struct sbom_opts *o, const char *spec, struct st_error **err)
{
	const char *eq = strchr(spec, '=');
	st_autofree char *name = eq ? st_xstrndup(spec, (size_t)(eq - spec)) : st_xstrdup(spec);
	/* syft's FORMAT@VERSION: only the versions written here are accepted */
	char *at = strchr(name, '@');
	if (at) {
		*at = '\0';
		const char *v = at + 1;
		bool ok = (!strcmp(name, "spdx-json") && !strcmp(v, "2.3")) ||
			  (!strcmp(name, "cyclonedx-json") && !strcmp(v, "1.6"));
		if (!ok)
			return st_cli_usage(err, "--output '%s': version %s is not written", spec,
					    v);
	}
	struct output out = { .file = eq ? eq + 1 : NULL };
	if (!st_sbom_format_parse(name, &out.format))
		return st_cli_usage(err,
				    "--output '%s': unknown format '%s' (expected table, "
				    "spdx-json, cyclonedx-json, strata-json or purls)",
				    spec, name);
	if (eq && !eq[1])
		return st_cli_usage(err, "--output '%s': no file after '='", spec);
	o->outputs = st_xrealloc(o->outputs, (o->n_outputs + 1) * sizeof(*o->outputs));
	o->outputs[o->n_outputs++] = out;
	return 0;
}

static int parse_flags(struct st_cli *cli, int argc, char **argv, struct sbom_opts *o,
		       struct st_error **err)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "scope", required_argument, NULL, OPT_SCOPE },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "progress", required_argument, NULL, OPT_PROGRESS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (add_output(o, optarg, err) < 0)
				return -1;
			break;
		case OPT_SCOPE:
			if (!strcmp(optarg, "squashed"))
				o->scope = ST_SBOM_SQUASHED;
			else if (!strcmp(optarg, "all-layers"))
				o->scope = ST_SBOM_ALL_LAYERS;
			else
				return st_cli_usage(
				    err, "--scope '%s': expected squashed or all-layers", optarg);
			break;
		case OPT_FILE:
			o->file = optarg;
			break;
		case OPT_PLATFORM:
			o->platform = optarg;
			break;
		case OPT_PROGRESS:
			o->progress = optarg;
			break;
		case 'h':
			fputs(usage, cli->out);
			return 1;
		default:
			return st_cli_usage(err, "see 'strata sbom --help'");
		}
	}
	if (argc - optind != 1)
		return st_cli_usage(err, "\"sbom\" requires exactly 1 argument");
	o->image = argv[optind];
	if (!o->n_outputs)
		add_output(o, "table", err);
	return 0;
}

/* ---- the image, wherever it is ---- */

/* What the document says of the image, owned here. */
struct image_meta {
	char *id;
	char *manifest_digest;
	char *arch;
};

static void image_meta_release(struct image_meta *m)
{
	free(m->id);
	free(m->manifest_digest);
	free(m->arch);
}

/* Read the layers of an image, each read reported to 'ev'. */
static int read_layers(const struct st_local_layers *in, const struct st_events *ev,
		       struct st_sbom **out, struct st_error **err)
{
	struct st_analyze_progress progress;
	st_analyze_progress_init(&progress, in, ev);
	return st_sbom_read(&progress.in, out, err);
}

/* Read the layers of an image opened in place. */
static int read_in_place(const char *spec, const struct st_platform *platform,
			 const struct st_local_layers *in, const struct st_events *ev,
			 struct image_meta *meta, struct st_sbom **out, struct st_error **err)
{
	const struct st_image_config *cfg = in->config;
	if (st_platform_check(spec, platform, cfg->os, cfg->architecture, cfg->variant, err) < 0)
		return -1;
	struct st_digest id;
	st_image_config_digest(cfg, &id);
	meta->id = st_xstrdup(id.str);
	meta->arch = cfg->architecture ? st_xstrdup(cfg->architecture) : NULL;
	return read_layers(in, ev, out, err);
}

static int read_archive(enum st_archive_format f, const struct st_copy_ref *at, const char *spec,
			const struct st_platform *platform, const struct st_events *ev,
			struct image_meta *meta, struct st_sbom **out, struct st_error **err)
{
	st_auto(st_archive_image) struct st_archive_image *img = NULL;
	if (st_archive_image_open(at->path, f, at->name, platform, &img, err) < 0)
		return -1;
	struct st_local_layers in;
	st_archive_image_layers(img, &in);
	return read_in_place(spec, platform, &in, ev, meta, out, err);
}

static int read_registry(const struct st_image_ref *ref, const char *spec,
			 const struct st_platform *platform, const struct st_events *ev,
			 struct image_meta *meta, struct st_sbom **out, struct st_error **err)
{
	struct st_registry_opts ro = { 0 };
	st_auto(st_registry) struct st_registry *r = st_registry_new(&ro, err);
	if (!r)
		return -1;
	st_auto(st_registry_image) struct st_registry_image *img = NULL;
	if (st_registry_image_open(r, ref, platform, &img, err) < 0)
		return -1;
	struct st_local_layers in;
	st_registry_image_layers(img, &in);
	return read_in_place(spec, platform, &in, ev, meta, out, err);
}

static int read_store(struct st_cli *cli, const char *name, const struct st_platform *platform,
		      const struct st_events *ev, struct image_meta *meta, struct st_sbom **out,
		      struct st_error **err)
{
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, name, &img, err) < 0)
		return -1;
	if (st_platform_check(name, platform, img->os, img->architecture, img->variant, err) < 0)
		return -1;
	meta->id = st_xstrdup(img->id.str);
	meta->manifest_digest = st_xstrdup(img->manifest_digest.str);
	meta->arch = img->architecture ? st_xstrdup(img->architecture) : NULL;
	struct st_local_store_layers l;
	int rc = st_local_store_layers_open(s, img, &l, err);
	if (rc == 0)
		rc = read_layers(&l.in, ev, out, err);
	st_local_store_layers_release(&l);
	return rc;
}

static int open_image(struct st_cli *cli, const char *name, const struct st_platform *platform,
		      const struct st_events *ev, struct image_meta *meta, struct st_sbom **out,
		      struct st_error **err)
{
	/* the places an image can be are skopeo's transports, named as strata copy names them */
	struct st_copy_ref at;
	if (st_copy_ref_parse(name, &at, err) < 0)
		return -1;
	const char *spec = at.kind == ST_COPY_DOCKER  ? name + strlen("docker://")
			   : at.kind == ST_COPY_STORE ? at.name
						      : strchr(name, ':') + 1;
	int rc = 0;
	switch (at.kind) {
	case ST_COPY_STORE:
		rc = read_store(cli, at.name, platform, ev, meta, out, err);
		break;
	case ST_COPY_DOCKER:
		rc = read_registry(at.ref, spec, platform, ev, meta, out, err);
		break;
	case ST_COPY_OCI:
		rc = read_archive(ST_ARCHIVE_OCI_DIR, &at, spec, platform, ev, meta, out, err);
		break;
	case ST_COPY_OCI_ARCHIVE:
		rc = read_archive(ST_ARCHIVE_OCI_ARCHIVE, &at, spec, platform, ev, meta, out, err);
		break;
	case ST_COPY_DOCKER_ARCHIVE:
		rc = read_archive(ST_ARCHIVE_DOCKER, &at, spec, platform, ev, meta, out, err);
		break;
	}
	st_copy_ref_release(&at);
	if (rc < 0)
		return st_err_wrap(err, "'%s'", name);
	return 0;
}

/* ---- output ---- */

static int write_output(struct st_cli *cli, const struct output *o, const char *file,
			const struct st_sbom *sb, const struct st_sbom_meta *m,
			struct st_error **err)
{
	struct st_buf text = ST_BUF_INIT;
	st_sbom_write(sb, o->format, m, &text);
	int rc = 0;
	/* purls of an image without packages are no text at all, and no buffer to write from */
	if (!file) {
		if (text.len)
			fwrite(text.data, 1, text.len, cli->out);
	} else {
		FILE *f = fopen(file, "w");
		if (!f) {
			rc = st_err_errno(err, "open '%s'", file);
		} else {
			if (text.len)
				fwrite(text.data, 1, text.len, f);
			if (fclose(f) != 0)
				rc = st_err_errno(err, "write '%s'", file);
		}
	}
	st_buf_release(&text);
	return rc;
}

/*
 * The SPDX document attached at build time to the store's image that 'o' names, when every
 * output asks for SPDX of the final filesystem (the only document a build attaches): 1 with
 * *out (new) and *from (its attestation manifest), else 0.
 */
static int attached_spdx(struct st_cli *cli, const struct sbom_opts *o,
			 const struct st_platform *platform, json_t **out, struct st_digest *from,
			 struct st_error **err)
{
	for (size_t i = 0; i < o->n_outputs; i++)
		if (o->outputs[i].format != ST_SBOM_SPDX_JSON)
			return 0;
	struct st_copy_ref at;
	struct st_error *e = NULL;
	if (o->scope != ST_SBOM_SQUASHED || st_copy_ref_parse(o->image, &at, &e) < 0) {
		st_error_free(e);
		return 0;
	}
	bool store = at.kind == ST_COPY_STORE;
	st_copy_ref_release(&at);
	struct st_store *s = NULL;
	if (!store || st_cli_store(cli, &s, err) < 0)
		return store ? -1 : 0;
	/* A name that finds nothing, or not of the platform, is for the catalogue to report. */
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, o->image, &img, &e) < 0 ||
	    st_platform_check(o->image, platform, img->os, img->architecture, img->variant, &e) <
		0) {
		st_error_free(e);
		return 0;
	}
	struct st_attest_entry *v = NULL;
	size_t n = 0;
	if (st_attest_list(s, o->image, &img->manifest_digest, &v, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (strcmp(v[i].predicate_type, ST_ATTEST_PREDICATE_SPDX))
			continue;
		rc = st_attest_predicate(s, &v[i], out, err) < 0 ? -1 : 1;
		*from = v[i].manifest;
	}
	st_attest_entries_free(v, n);
	return rc;
}

/* Write the attached document 'doc' to each output. */
static int write_attached(struct st_cli *cli, const struct sbom_opts *o, json_t *doc,
			  struct st_error **err)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		abort(); /* jansson fails only without memory */
	int rc = 0;
	for (size_t i = 0; i < o->n_outputs && rc == 0; i++) {
		const char *file = o->outputs[i].file ? o->outputs[i].file : o->file;
		FILE *f = file ? fopen(file, "w") : cli->out;
		if (!f) {
			rc = st_err_errno(err, "open '%s'", file);
			break;
		}
		fprintf(f, "%s\n", text);
		if (file && fclose(f) != 0)
			rc = st_err_errno(err, "write '%s'", file);
	}
	free(text);
	return rc;
}

int cmd_sbom(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	struct sbom_opts o = { 0 };
	int rc = parse_flags(cli, argc, argv, &o, err);
	if (rc != 0) {
		free(o.outputs);
		return rc < 0 ? -1 : 0;
	}
	st_autofree struct output *outputs = o.outputs;
	int64_t created = 0;
	bool sde = false;
	if (st_time_source_date_epoch(&created, &sde, err) < 0)
		return -1;
	if (!sde)
		created = (int64_t)time(NULL);
	struct st_platform platform;
	if (o.platform && st_platform_parse(o.platform, &platform, err) < 0)
		return -1;
	json_t *doc = NULL;
	struct st_digest from;
	int have = attached_spdx(cli, &o, o.platform ? &platform : NULL, &doc, &from, err);
	if (have < 0)
		return -1;
	if (have) {
		fprintf(cli->errout, "using the SBOM attached to %s at build time (%s)\n", o.image,
			from.str);
		rc = write_attached(cli, &o, doc, err);
		json_decref(doc);
		return rc;
	}
	st_auto_cli_layers struct st_cli_layers layers = { 0 };
	if (st_cli_layers_init(&layers, cli->errout, o.progress, 0, err) < 0)
		return -1;
	struct st_events ev = st_cli_layers_events(&layers);
	struct image_meta im = { 0 };
	st_auto(st_sbom) struct st_sbom *sb = NULL;
	if (open_image(cli, o.image, o.platform ? &platform : NULL, &ev, &im, &sb, err) < 0) {
		image_meta_release(&im);
		return -1;
	}
	size_t nw = 0;
	const char *const *warnings = st_sbom_warnings(sb, &nw);
	for (size_t i = 0; i < nw; i++)
		fprintf(cli->errout, "warning: %s\n", warnings[i]);
	struct st_sbom_meta m = { .name = o.image,
				  .image_id = im.id,
				  .manifest_digest = im.manifest_digest,
				  .architecture = im.arch,
				  .tool_version = STRATA_VERSION,
				  .created = created,
				  .scope = o.scope };
	for (size_t i = 0; i < o.n_outputs && rc == 0; i++) {
		const char *file = outputs[i].file ? outputs[i].file : o.file;
		rc = write_output(cli, &outputs[i], file, sb, &m, err);
	}
	image_meta_release(&im);
	return rc;
}
