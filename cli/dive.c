/*
 * dive.c: strata dive [--ci] [--json FILE] [--report] IMAGE: what each layer of an image adds,
 * changes and removes, and what it wastes: dive's figures (its --ci gate and --json layout)
 * beside strata's, whose findings name the instructions that added and removed each byte.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "archive/archive.h"
#include "cli.h"
#include "copy/copy.h"
#include "registry/registry.h"
#include "dive_tui.h"
#include "layer_progress.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

struct dive_opts {
	const char *image;
	const char *json;
	const char *sarif;
	const char *ci_config;
	const char *baseline;
	const char *base;
	const char *platform;
	const char *progress;
	bool ci, report, exclude_base;
	const char *rule[ST_ANALYZE_N_RULES]; /* set on the command line */
};

enum {
	OPT_CI = 0x100,
	OPT_CI_CONFIG,
	OPT_REPORT,
	OPT_BASELINE,
	OPT_BASE,
	OPT_EXCLUDE_BASE,
	OPT_PLATFORM,
	OPT_SARIF,
	OPT_PROGRESS,
	OPT_RULE, /* + the rule's id */
};

static const char usage[] =
    "Usage: strata dive [OPTIONS] IMAGE\n\n"
    "Show what each layer of an image adds, changes and removes, and what it wastes\n\n"
    "Two figures of waste, side by side:\n"
    "  dive's (as dive 0.13 computes them): every copy of a path seen in two layers or more\n"
    "    counts, the one that stays included; a deleted file counts its size, a deleted\n"
    "    directory nothing. efficiency = the smallest copy of each path / all copies;\n"
    "    user-wasted percent = those bytes / the size of every layer but the first.\n"
    "  strata's: the bytes the layers carry that the final filesystem does not show: every\n"
    "    overwritten copy, every deleted file, all that a removed or opaque directory hid;\n"
    "    hardlinks once. Each byte is charged to the instruction that added it and the one\n"
    "    that removed or overwrote it, with the fix.\n\n"
    "IMAGE is an image of the store, or read in place: docker://REF (a registry's),\n"
    "docker-archive:PATH[:NAME], oci:DIR[:NAME] or oci-archive:PATH[:NAME]. On a terminal,\n"
    "without --ci, --json or --report, a full-screen view shows the layers, the figures and\n"
    "each layer's files (dive's keys:\n"
    "Tab, ^L/^A layer or all, Space collapse, ^A/^R/^M/^U filters, ^B, ^O sort, ^F, q or ^C).\n\n"
    "Options:\n"
    "      --ci                                CI mode: judge the rules, exit 1 when one "
    "fails\n"
    "                                          (also when CI=true)\n"
    "      --ci-config string                  Rules file in dive's format (default "
    "\".dive-ci\",\n"
    "                                          when it exists); flags override it\n"
    "      --lowest-efficiency string          Fail below this dive efficiency, 0-1 "
    "(default \"0.9\")\n"
    "      --highest-wasted-bytes string       Fail above these dive wasted bytes "
    "(\"20MB\")\n"
    "      --highest-user-wasted-percent string\n"
    "                                          Fail above this dive user-wasted fraction, "
    "0-1\n"
    "                                          (default \"0.1\")\n"
    "      --highest-image-size string         Fail above this image size (\"500MB\")\n"
    "      --highest-strata-wasted-bytes string\n"
    "                                          Fail above these strata wasted bytes\n"
    "      --baseline string                   Fail when strata's waste grew against this "
    "image\n"
    "      --highest-strata-wasted-increase string\n"
    "                                          Growth allowed against --baseline (default "
    "\"0\")\n"
    "      --exclude-base                      Leave the base image's layers out of strata's "
    "figures\n"
    "      --platform string                   The platform to read from an archive's index "
    "(default:\n"
    "                                          the host's)\n"
    "      --base string                       The base image (default: the longest image "
    "whose\n"
    "                                          layers start this one's)\n"
    "  -j, --json string                       Write dive's JSON layout, strata's figures "
    "added\n"
    "      --progress string                   auto, plain or tty: each layer as it is read, "
    "on\n"
    "                                          STDERR (default auto: a terminal only)\n"
    "      --report                            Print a plain text report\n"
    "      --sarif string                      Also write the findings as SARIF 2.1.0, for "
    "code scanning\n"
    "Rules are disabled with \"disabled\", \"off\" or \"false\".\n";

static int parse_flags(struct st_cli *cli, int argc, char **argv, struct dive_opts *o,
		       struct st_error **err)
{
	/* dive's camelCase flags, and the kebab-case strata writes everywhere else */
	static const struct option longopts[] = {
		{ "ci", no_argument, NULL, OPT_CI },
		{ "ci-config", required_argument, NULL, OPT_CI_CONFIG },
		{ "json", required_argument, NULL, 'j' },
		{ "report", no_argument, NULL, OPT_REPORT },
		{ "baseline", required_argument, NULL, OPT_BASELINE },
		{ "base", required_argument, NULL, OPT_BASE },
		{ "exclude-base", no_argument, NULL, OPT_EXCLUDE_BASE },
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "sarif", required_argument, NULL, OPT_SARIF },
		{ "progress", required_argument, NULL, OPT_PROGRESS },
		{ "lowest-efficiency", required_argument, NULL,
		  OPT_RULE + ST_ANALYZE_RULE_LOWEST_EFFICIENCY },
		{ "lowestEfficiency", required_argument, NULL,
		  OPT_RULE + ST_ANALYZE_RULE_LOWEST_EFFICIENCY },
		{ "highest-wasted-bytes", required_argument, NULL,
		  OPT_RULE + ST_ANALYZE_RULE_HIGHEST_WASTED_BYTES },
		{ "highestWastedBytes", required_argument, NULL,
		  OPT_RULE + ST_ANALYZE_RULE_HIGHEST_WASTED_BYTES },
		{ "highest-user-wasted-percent", required_argument, NULL,
		  OPT_RULE + ST_ANALYZE_RULE_HIGHEST_USER_WASTED },
		{ "highestUserWastedPercent", required_argument, NULL,
		  OPT_RULE + ST_ANALYZE_RULE_HIGHEST_USER_WASTED },
		{ "highest-image-size", required_argument, NULL,
		  OPT_RULE + ST_ANALYZE_RULE_HIGHEST_IMAGE_SIZE },
		{ "highest-strata-wasted-bytes", required_argument, NULL,
		  OPT_RULE + ST_ANALYZE_RULE_HIGHEST_STRATA_WASTED },
		{ "highest-strata-wasted-increase", required_argument, NULL,
		  OPT_RULE + ST_ANALYZE_RULE_HIGHEST_WASTED_INCREASE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "j:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CI:
			o->ci = true;
			break;
		case OPT_CI_CONFIG:
			o->ci_config = optarg;
			break;
		case 'j':
			o->json = optarg;
			break;
		case OPT_REPORT:
			o->report = true;
			break;
		case OPT_BASELINE:
			o->baseline = optarg;
			break;
		case OPT_BASE:
			o->base = optarg;
			break;
		case OPT_EXCLUDE_BASE:
			o->exclude_base = true;
			break;
		case OPT_PLATFORM:
			o->platform = optarg;
			break;
		case OPT_SARIF:
			o->sarif = optarg;
			break;
		case OPT_PROGRESS:
			o->progress = optarg;
			break;
		case 'h':
			fputs(usage, cli->out);
			return 1;
		default:
			if (c >= OPT_RULE && c < OPT_RULE + ST_ANALYZE_N_RULES) {
				o->rule[c - OPT_RULE] = optarg;
				break;
			}
			return st_cli_usage(err, "see 'strata dive --help'");
		}
	}
	if (argc - optind != 1)
		return st_cli_usage(err, "\"dive\" requires exactly 1 argument");
	o->image = argv[optind];
	return 0;
}

/* go-humanize's Bytes, as dive prints sizes: "1.1 kB", "20 MB", "7 B". New string. */
static char *human(uint64_t n)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
	if (n < 10)
		return st_xasprintf("%llu B", (unsigned long long)n);
	int e = (int)floor(log((double)n) / log(1000.0));
	double v = floor((double)n / pow(1000.0, e) * 10 + 0.5) / 10;
	return st_xasprintf(v < 10 ? "%.1f %s" : "%.0f %s", v, units[e]);
}

/* dive's command column: created_by without a leading "/bin/sh -c ". */
static const char *dive_command(const char *by)
{
	if (!by)
		return "";
	return !strncmp(by, "/bin/sh -c ", 11) ? by + 11 : by;
}

/* The instruction of layer 'i' as a person reads it. */
static const char *instruction(const struct st_analyze *a, size_t i)
{
	const char *by = st_analyze_layer(a, i)->command;
	return by && *by ? by : "(no history)";
}

/* ---- images: the one analysed, its baseline, its base ---- */

/* "docker-archive:PATH[:NAME]", "oci:DIR[:NAME]", "oci-archive:PATH[:NAME]", as skopeo. */
static int analyze_archive(enum st_archive_format f, const struct st_copy_ref *at, const char *spec,
			   const struct st_platform *platform, const struct st_analyze_opts *ao,
			   struct st_analyze **out, struct st_error **err)
{
	st_auto(st_archive_image) struct st_archive_image *img = NULL;
	if (st_archive_image_open(at->path, f, at->name, platform, &img, err) < 0)
		return -1;
	struct st_local_layers in;
	st_archive_image_layers(img, &in);
	const struct st_image_config *cfg = in.config;
	if (st_platform_check(spec, platform, cfg->os, cfg->architecture, cfg->variant, err) < 0)
		return -1;
	return st_analyze_read(&in, ao, out, err);
}

/* "docker://REF": the registry's image, its layers fetched one at a time, not into the store. */
static int analyze_registry(const struct st_image_ref *ref, const char *spec,
			    const struct st_platform *platform, const struct st_analyze_opts *ao,
			    struct st_analyze **out, struct st_error **err)
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
	const struct st_image_config *cfg = in.config;
	if (st_platform_check(spec, platform, cfg->os, cfg->architecture, cfg->variant, err) < 0)
		return -1;
	return st_analyze_read(&in, ao, out, err);
}

/* An image of the store (its errors already name it). */
static int analyze_store(struct st_cli *cli, const char *name, const struct st_platform *platform,
			 const struct st_analyze_opts *ao, struct st_analyze **out,
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
	if (st_analyze_image(s, img, ao, out, err) < 0)
		return st_err_wrap(err, "analyze '%s'", name);
	return 0;
}

int st_cli_analyze_open(struct st_cli *cli, const char *name, const struct st_platform *platform,
			const struct st_analyze_opts *ao, struct st_analyze **out,
			struct st_error **err)
{
	/* The places an image can be are skopeo's transports, named as strata copy names them. */
	struct st_copy_ref at;
	if (st_copy_ref_parse(name, &at, err) < 0)
		return -1;
	/* What follows the transport names the image in messages, as before it had one. */
	const char *spec = at.kind == ST_COPY_DOCKER  ? name + strlen("docker://")
			   : at.kind == ST_COPY_STORE ? at.name
						      : strchr(name, ':') + 1;
	int rc = 0;
	switch (at.kind) {
	case ST_COPY_STORE:
		rc = analyze_store(cli, at.name, platform, ao, out, err);
		st_copy_ref_release(&at);
		return rc;
	case ST_COPY_DOCKER:
		rc = analyze_registry(at.ref, spec, platform, ao, out, err);
		break;
	case ST_COPY_OCI:
		rc = analyze_archive(ST_ARCHIVE_OCI_DIR, &at, spec, platform, ao, out, err);
		break;
	case ST_COPY_OCI_ARCHIVE:
		rc = analyze_archive(ST_ARCHIVE_OCI_ARCHIVE, &at, spec, platform, ao, out, err);
		break;
	case ST_COPY_DOCKER_ARCHIVE:
		rc = analyze_archive(ST_ARCHIVE_DOCKER, &at, spec, platform, ao, out, err);
		break;
	}
	st_copy_ref_release(&at);
	if (rc < 0)
		return st_err_wrap(err, "analyze '%s'", name);
	return 0;
}

static int base_layers(struct st_cli *cli, const char *base, size_t *n, struct st_error **err)
{
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, base, &img, err) < 0)
		return st_err_wrap(err, "--base");
	*n = img->n_layers;
	return 0;
}

/* ---- CI ---- */

static bool ci_env(void)
{
	const char *v = getenv("CI");
	return v && (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes"));
}

static int load_rules(const struct dive_opts *o, struct st_analyze_rules *r, struct st_error **err)
{
	const char *path = o->ci_config ? o->ci_config : ".dive-ci";
	if (o->ci_config || st_path_exists(path)) {
		struct st_buf text = ST_BUF_INIT;
		int rc = st_read_file(path, &text, err);
		if (rc == 0)
			rc = st_analyze_rules_parse(r, text.data, text.len, path, err);
		st_buf_release(&text);
		if (rc < 0)
			return -1;
	}
	if (o->baseline && !o->rule[ST_ANALYZE_RULE_HIGHEST_WASTED_INCREASE] &&
	    !r->value[ST_ANALYZE_RULE_HIGHEST_WASTED_INCREASE])
		st_analyze_rules_set(
		    r, st_analyze_rule_name(ST_ANALYZE_RULE_HIGHEST_WASTED_INCREASE), "0", NULL);
	for (size_t i = 0; i < ST_ANALYZE_N_RULES; i++)
		if (o->rule[i])
			st_analyze_rules_set(r, st_analyze_rule_name((enum st_analyze_rule_id)i),
					     o->rule[i], NULL);
	return 0;
}

/* dive's label column: lipgloss width 18. */
static void key_value(FILE *out, const char *key, const char *value)
{
	st_autofree char *k = st_xasprintf("%s:", key);
	fprintf(out, "  %-18s %s\n", k, value);
}

static void print_findings(FILE *out, const struct st_analyze *a, size_t max)
{
	const struct st_analyze_waste *w = st_analyze_waste(a);
	if (!w->n_findings) {
		fputs("Findings: (None)\n", out);
		return;
	}
	fputs("Findings:\n", out);
	for (size_t i = 0; i < w->n_findings && i < max; i++) {
		const struct st_analyze_finding *f = &w->findings[i];
		st_autofree char *size = human(f->bytes);
		fprintf(out, "  %zu. %s: %s in %zu file%s, e.g. %s\n", i + 1,
			st_analyze_kind_name(f->kind), size, f->files, f->files == 1 ? "" : "s",
			f->example);
		fprintf(out, "     added by layer %zu: %s\n", f->added_in,
			instruction(a, f->added_in));
		bool replaced = f->kind == ST_ANALYZE_OVERWRITTEN || f->kind == ST_ANALYZE_COPIED;
		if (f->removed_in != ST_ANALYZE_NONE)
			fprintf(out, "     %s by layer %zu: %s\n",
				replaced ? "replaced" : "removed", f->removed_in,
				instruction(a, f->removed_in));
		fprintf(out, "     fix: %s\n", f->hint);
	}
	if (w->n_findings > max)
		fprintf(out, "  ... and %zu more (--report lists them all)\n", w->n_findings - max);
}

static int run_ci(FILE *out, const struct dive_opts *o, const struct st_analyze *a,
		  const struct st_analyze *baseline, struct st_error **err)
{
	struct st_analyze_rules r;
	st_analyze_rules_init(&r);
	struct st_analyze_result *v = NULL;
	int rc = load_rules(o, &r, err);
	if (rc == 0)
		rc = st_analyze_rules_eval(&r, a, baseline, &v, err);
	st_analyze_rules_release(&r);
	if (rc < 0)
		return -1;
	const struct st_analyze_dive *d = st_analyze_dive(a);
	/* dive 0.13's report, section by section */
	fputs("Analysis:\n", out);
	st_autofree char *eff = st_xasprintf("%.2f %%", d->efficiency * 100);
	key_value(out, "efficiency", eff);
	st_autofree char *hb = human(d->wasted_bytes);
	st_autofree char *wb = st_xasprintf(
	    "%llu bytes %s%s%s", (unsigned long long)d->wasted_bytes, d->wasted_bytes ? "(" : "",
	    d->wasted_bytes ? hb : "", d->wasted_bytes ? ")" : "");
	key_value(out, "wastedBytes", wb);
	st_autofree char *uw = d->wasted_bytes
				   ? st_xasprintf("%.2f %%", d->user_wasted_percent * 100)
				   : st_xstrdup("0 %");
	key_value(out, "userWastedPercent", uw);
	const struct st_analyze_waste *w = st_analyze_waste(a);
	st_autofree char *sh = human(w->wasted_bytes);
	st_autofree char *sw =
	    st_xasprintf("%llu bytes (%s) in %zu files", (unsigned long long)w->wasted_bytes, sh,
			 w->wasted_files);
	key_value(out, "strataWastedBytes", sw);
	if (!d->n_files) {
		fputs("\nInefficient Files: (None)\n", out);
	} else {
		fprintf(out, "\nInefficient Files:\n  %-5s  %-12s  %s\n", "Count", "Wasted Space",
			"File Path");
		for (size_t i = 0; i < d->n_files; i++) {
			st_autofree char *s = human(d->files[i].bytes);
			fprintf(out, "  %-5zu  %-12s  %s\n", d->files[i].count, s,
				d->files[i].path);
		}
	}
	fputc('\n', out);
	print_findings(out, a, 5);
	fputs("\nEvaluation:\n", out);
	size_t pass = 0, fail = 0, skip = 0;
	static const char *const verdicts[] = { "PASS", "FAIL", "SKIP" };
	for (size_t i = 0; i < ST_ANALYZE_N_RULES; i++) {
		fprintf(out, "  %s  %s (%s)\n", verdicts[v[i].verdict],
			st_analyze_rule_name(v[i].id), v[i].message);
		pass += v[i].verdict == ST_ANALYZE_PASS;
		fail += v[i].verdict == ST_ANALYZE_FAIL;
		skip += v[i].verdict == ST_ANALYZE_SKIP;
	}
	st_analyze_results_free(v, ST_ANALYZE_N_RULES);
	struct st_buf tally = ST_BUF_INIT;
	if (pass)
		st_buf_addf(&tally, "pass:%zu", pass);
	if (fail)
		st_buf_addf(&tally, "%sfail:%zu", tally.len ? " " : "", fail);
	if (skip)
		st_buf_addf(&tally, "%sskip:%zu", tally.len ? " " : "", skip);
	fprintf(out, "\n%s [%s]\n", fail ? "FAIL" : "PASS", tally.data);
	st_buf_release(&tally);
	return fail ? 1 : 0;
}

/* ---- --json: dive's layout ---- */

/* Go's os.FileMode of a tar entry: permission bits and Go's type bits. */
static uint32_t go_file_mode(const struct st_analyze_entry *e)
{
	uint32_t m = e->mode & 0777;
	if (e->mode & 04000)
		m |= 1u << 23;
	if (e->mode & 02000)
		m |= 1u << 22;
	if (e->mode & 01000)
		m |= 1u << 20;
	switch (e->type) {
	case ST_LAYER_ENTRY_DIR:
		return m | 1u << 31;
	case ST_LAYER_ENTRY_SYMLINK:
		return m | 1u << 27;
	case ST_LAYER_ENTRY_CHAR:
		return m | 1u << 26 | 1u << 21;
	case ST_LAYER_ENTRY_BLOCK:
		return m | 1u << 26;
	case ST_LAYER_ENTRY_FIFO:
		return m | 1u << 25;
	default:
		return m;
	}
}

static int type_flag(const struct st_analyze_entry *e)
{
	switch (e->type) {
	case ST_LAYER_ENTRY_HARDLINK:
		return '1';
	case ST_LAYER_ENTRY_SYMLINK:
		return '2';
	case ST_LAYER_ENTRY_CHAR:
		return '3';
	case ST_LAYER_ENTRY_BLOCK:
		return '4';
	case ST_LAYER_ENTRY_DIR:
		return '5';
	case ST_LAYER_ENTRY_FIFO:
		return '6';
	default:
		return '0';
	}
}

static int add_file(void *ctx, const char *path, const struct st_analyze_entry *e)
{
	json_t *list = ctx;
	/* a directory only implied by what is below it has an empty record in dive */
	struct st_analyze_entry none = { .type = ST_LAYER_ENTRY_OTHER };
	const struct st_analyze_entry *x = e ? e : &none;
	/* built field by field: a million of them make json_pack's format parsing show */
	json_t *o = json_object();
	json_object_set_new_nocheck(o, "path", json_string(e ? path : ""));
	json_object_set_new_nocheck(o, "typeFlag", json_integer(e ? type_flag(x) : 0));
	json_object_set_new_nocheck(o, "linkName", json_string(x->linkname ? x->linkname : ""));
	json_object_set_new_nocheck(o, "size", json_integer((json_int_t)x->size));
	json_object_set_new_nocheck(o, "fileMode", json_integer(e ? go_file_mode(x) : 0));
	json_object_set_new_nocheck(o, "uid", json_integer(x->uid));
	json_object_set_new_nocheck(o, "gid", json_integer(x->gid));
	json_object_set_new_nocheck(o, "isDir", json_boolean(x->type == ST_LAYER_ENTRY_DIR));
	json_array_append_new(list, o);
	return 0;
}

static json_t *findings_json(const struct st_analyze *a)
{
	const struct st_analyze_waste *w = st_analyze_waste(a);
	json_t *v = json_array();
	for (size_t i = 0; i < w->n_findings; i++) {
		const struct st_analyze_finding *f = &w->findings[i];
		json_t *removed = f->removed_in == ST_ANALYZE_NONE
				      ? json_null()
				      : json_pack("{s:I, s:s}", "index", (json_int_t)f->removed_in,
						  "command", instruction(a, f->removed_in));
		json_array_append_new(
		    v, json_pack("{s:s, s:I, s:I, s:{s:I, s:s}, s:o, s:s, s:s}", "kind",
				 st_analyze_kind_name(f->kind), "sizeBytes", (json_int_t)f->bytes,
				 "files", (json_int_t)f->files, "addedBy", "index",
				 (json_int_t)f->added_in, "command", instruction(a, f->added_in),
				 "removedBy", removed, "example", f->example, "hint", f->hint));
	}
	return v;
}

static json_t *layer_json(const struct st_analyze *a, size_t i)
{
	const struct st_analyze_layer *l = st_analyze_layer(a, i);
	json_t *files = json_array();
	st_analyze_layer_walk(a, i, add_file, files);
	return json_pack("{s:I, s:s, s:s, s:I, s:s, s:o, s:{s:I, s:I, s:I, s:I, s:b}}", "index",
			 (json_int_t)i, "id", l->digest + 7, "digestId", l->diff_id, "sizeBytes",
			 (json_int_t)l->size, "command", dive_command(l->command), "fileList",
			 files, "strata", "wastedBytes", (json_int_t)l->wasted, "added",
			 (json_int_t)l->n_added, "modified", (json_int_t)l->n_modified, "removed",
			 (json_int_t)l->n_removed, "base", l->base);
}

/* {"image": {...}}: dive's image fields, strata's in "strata". */
static json_t *image_json(const struct st_analyze *a)
{
	const struct st_analyze_dive *d = st_analyze_dive(a);
	json_t *refs = json_array();
	for (size_t i = 0; i < d->n_files; i++)
		json_array_append_new(refs, json_pack("{s:I, s:I, s:s}", "count",
						      (json_int_t)d->files[i].count, "sizeBytes",
						      (json_int_t)d->files[i].bytes, "file",
						      d->files[i].path));
	const struct st_analyze_waste *w = st_analyze_waste(a);
	/* NaN and infinity are not JSON: a single layer has no user bytes */
	json_t *uwp =
	    isfinite(d->user_wasted_percent) ? json_real(d->user_wasted_percent) : json_null();
	return json_pack(
	    "{s:{s:I, s:I, s:f, s:o, s:{s:I, s:I, s:I, s:f, s:o, s:I, s:o}}}", "image", "sizeBytes",
	    (json_int_t)d->size, "inefficientBytes", (json_int_t)d->wasted_bytes, "efficiencyScore",
	    d->efficiency, "fileReference", refs, "strata", "sizeBytes", (json_int_t)w->size,
	    "wastedBytes", (json_int_t)w->wasted_bytes, "wastedFiles", (json_int_t)w->wasted_files,
	    "efficiency", w->efficiency, "userWastedPercent", uwp, "baseLayers",
	    (json_int_t)st_analyze_n_base(a), "findings", findings_json(a));
}

/*
 * dive's document, {"layer": [...], "image": {...}}, written one layer at a time: every file
 * list of the image held as jansson objects at once would cost about a kilobyte per entry.
 * jansson encodes each layer, and the image part with JSON_EMBED (its braces dropped); only
 * the punctuation around them is written here.
 */
static int write_json(const char *path, const struct st_analyze *a, struct st_error **err)
{
	st_auto_tmpfile struct st_tmpfile t = ST_TMPFILE_INIT;
	if (st_tmpfile_open_beside(&t, path, 0644, err) < 0)
		return -1;
	FILE *f = fdopen(dup(t.fd), "w");
	if (!f)
		return st_err_errno(err, "write '%s'", path);
	const size_t flags = JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17);
	fputs("{\n\"layer\": [\n", f);
	for (size_t i = 0; i < st_analyze_n_layers(a); i++) {
		json_t *l = layer_json(a, i);
		json_dumpf(l, f, flags);
		json_decref(l);
		fputs(i + 1 < st_analyze_n_layers(a) ? ",\n" : "\n", f);
	}
	fputs("],\n", f);
	json_t *image = image_json(a);
	json_dumpf(image, f, flags | JSON_EMBED);
	json_decref(image);
	fputs("\n}\n", f);
	bool ok = !ferror(f);
	if (fclose(f) != 0 || !ok)
		return st_err_errno(err, "write '%s'", path);
	return st_tmpfile_commit(&t, path, err);
}

/* ---- --sarif ---- */

static const char *sarif_level(enum st_analyze_kind k)
{
	return k == ST_ANALYZE_SECRET ? "error" : k == ST_ANALYZE_BUILD_TOOLS ? "note" : "warning";
}

/* The findings as SARIF 2.1.0 results, one rule per kind, for code-scanning UIs. */
static int write_sarif(const char *path, const char *name, const struct st_analyze *a,
		       struct st_error **err)
{
	static const char *const rule_text[] = {
		[ST_ANALYZE_CACHE] = "A package manager's cache left in the layer that filled it",
		[ST_ANALYZE_DELETED] = "Files added in one step and deleted in a later one",
		[ST_ANALYZE_COPIED] = "Files copied again to change their owner, mode or time",
		[ST_ANALYZE_OVERWRITTEN] = "Files overwritten in a later step",
		[ST_ANALYZE_SECRET] = "A file that looks like a key or credentials in a layer",
		[ST_ANALYZE_BUILD_TOOLS] = "Compilers and build tools in the final image",
	};
	const struct st_analyze_waste *w = st_analyze_waste(a);
	json_t *rules = json_array();
	for (size_t k = 0; k < sizeof(rule_text) / sizeof(*rule_text); k++) {
		enum st_analyze_kind kind = (enum st_analyze_kind)k;
		st_autofree char *id = st_xasprintf("strata-dive/%s", st_analyze_kind_name(kind));
		/* the fix comes with a finding: a rule without one describes itself */
		const char *hint = rule_text[k];
		for (size_t i = 0; i < w->n_findings; i++)
			if (w->findings[i].kind == kind)
				hint = w->findings[i].hint;
		json_array_append_new(rules, json_pack("{s:s, s:{s:s}, s:{s:s}, s:{s:s}}", "id", id,
						       "shortDescription", "text", rule_text[k],
						       "help", "text", hint, "defaultConfiguration",
						       "level", sarif_level(kind)));
	}
	json_t *results = json_array();
	for (size_t i = 0; i < w->n_findings; i++) {
		const struct st_analyze_finding *f = &w->findings[i];
		st_autofree char *id =
		    st_xasprintf("strata-dive/%s", st_analyze_kind_name(f->kind));
		st_autofree char *size = human(f->bytes);
		st_autofree char *removed =
		    f->removed_in == ST_ANALYZE_NONE
			? st_xstrdup("")
			: st_xasprintf(", removed or replaced by layer %zu (%s)", f->removed_in,
				       instruction(a, f->removed_in));
		st_autofree char *text = st_xasprintf(
		    "%s: %s in %zu file%s (e.g. %s), added by layer %zu (%s)%s. Fix: %s", name,
		    size, f->files, f->files == 1 ? "" : "s", f->example, f->added_in,
		    instruction(a, f->added_in), removed, f->hint);
		json_array_append_new(
		    results,
		    json_pack("{s:s, s:s, s:{s:s}, s:[{s:[{s:s, s:s}]}], s:{s:I, s:I, s:I, s:o}}",
			      "ruleId", id, "level", sarif_level(f->kind), "message", "text", text,
			      "locations", "logicalLocations", "fullyQualifiedName", f->example,
			      "kind", "file", "properties", "sizeBytes", (json_int_t)f->bytes,
			      "files", (json_int_t)f->files, "addedByLayer",
			      (json_int_t)f->added_in, "removedByLayer",
			      f->removed_in == ST_ANALYZE_NONE
				  ? json_null()
				  : json_integer((json_int_t)f->removed_in)));
	}
	json_t *doc = json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:o}}, s:o}]}", "$schema",
				"https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0",
				"runs", "tool", "driver", "name", "strata dive", "version",
				STRATA_VERSION, "rules", rules, "results", results);
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	struct st_buf b = ST_BUF_INIT;
	st_buf_adds(&b, text);
	st_buf_addch(&b, '\n');
	free(text);
	int rc = st_write_file_atomic(path, NULL, b.data, b.len, 0644, err);
	st_buf_release(&b);
	return rc;
}

/* ---- --report ---- */

static void print_report(FILE *out, const char *name, const struct st_analyze *a)
{
	const struct st_analyze_dive *d = st_analyze_dive(a);
	const struct st_analyze_waste *w = st_analyze_waste(a);
	st_autofree char *total = human(d->size);
	fprintf(out, "Image: %s\nLayers: %zu, %s in their files", name, st_analyze_n_layers(a),
		total);
	if (st_analyze_n_base(a))
		fprintf(out, ", the first %zu from the base image", st_analyze_n_base(a));
	fputs("\n\n", out);
	fprintf(out, "  %-3s  %-9s  %-9s  %-5s  %-5s  %-5s  %s\n", "#", "SIZE", "WASTED", "ADD",
		"MOD", "DEL", "INSTRUCTION");
	for (size_t i = 0; i < st_analyze_n_layers(a); i++) {
		const struct st_analyze_layer *l = st_analyze_layer(a, i);
		st_autofree char *size = human(l->size);
		st_autofree char *wasted = human(l->wasted);
		fprintf(out, "  %-3zu  %-9s  %-9s  %-5zu  %-5zu  %-5zu  %s\n", i, size, wasted,
			l->n_added, l->n_modified, l->n_removed, instruction(a, i));
	}
	fputs("\ndive's figures:\n", out);
	st_autofree char *eff = st_xasprintf("%.2f %%", d->efficiency * 100);
	key_value(out, "efficiency", eff);
	st_autofree char *hb = human(d->wasted_bytes);
	st_autofree char *wb = st_xasprintf("%llu bytes (%s) in %zu paths",
					    (unsigned long long)d->wasted_bytes, hb, d->n_files);
	key_value(out, "wastedBytes", wb);
	st_autofree char *uw = st_xasprintf("%.2f %%", d->user_wasted_percent * 100);
	key_value(out, "userWastedPercent", uw);
	fputs("\nstrata's figures:\n", out);
	st_autofree char *seff = st_xasprintf("%.2f %%", w->efficiency * 100);
	key_value(out, "efficiency", seff);
	st_autofree char *sh = human(w->wasted_bytes);
	st_autofree char *sw =
	    st_xasprintf("%llu bytes (%s) in %zu files", (unsigned long long)w->wasted_bytes, sh,
			 w->wasted_files);
	key_value(out, "wastedBytes", sw);
	fputc('\n', out);
	print_findings(out, a, SIZE_MAX);
}

int cmd_dive(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	struct dive_opts o = { 0 };
	int rc = parse_flags(cli, argc, argv, &o, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	struct st_platform platform;
	if (o.platform && st_platform_parse(o.platform, &platform, err) < 0)
		return -1;
	const struct st_platform *want = o.platform ? &platform : NULL;
	st_auto_cli_layers struct st_cli_layers layers = { 0 };
	if (st_cli_layers_init(&layers, cli->errout, o.progress, 0, err) < 0)
		return -1;
	struct st_analyze_opts ao = { .flags = o.exclude_base ? ST_ANALYZE_EXCLUDE_BASE : 0,
				      .events = st_cli_layers_events(&layers) };
	if (o.base && base_layers(cli, o.base, &ao.n_base, err) < 0)
		return -1;
	st_auto(st_analyze) struct st_analyze *a = NULL;
	if (st_cli_analyze_open(cli, o.image, want, &ao, &a, err) < 0)
		return -1;
	size_t nw = 0;
	const char *const *warnings = st_analyze_warnings(a, &nw);
	for (size_t i = 0; i < nw; i++)
		fprintf(cli->errout, "warning: %s\n", warnings[i]);
	if (o.sarif && write_sarif(o.sarif, o.image, a, err) < 0)
		return -1;
	/* as dive: --json writes the analysis and judges nothing */
	if (o.json)
		return write_json(o.json, a, err);
	if (o.ci || ci_env()) {
		st_auto(st_analyze) struct st_analyze *baseline = NULL;
		if (o.baseline &&
		    st_cli_analyze_open(cli, o.baseline, want, &ao, &baseline, err) < 0)
			return st_err_wrap(err, "--baseline");
		rc = run_ci(cli->out, &o, a, baseline, err);
		if (rc >= 0 && o.report) {
			fputc('\n', cli->out);
			print_report(cli->out, o.image, a);
		}
		return rc;
	}
	/* the full-screen view needs a terminal both ways; a pipe or a log gets the report */
	if (!o.report && isatty(0) && isatty(fileno(cli->out)))
		return st_cli_dive_tui(o.image, a, err);
	print_report(cli->out, o.image, a);
	return 0;
}

int st_cli_dive_build(struct st_cli *cli, const char *image, bool ci, struct st_error **err)
{
	st_auto(st_analyze) struct st_analyze *a = NULL;
	if (st_cli_analyze_open(cli, image, NULL, NULL, &a, err) < 0)
		return -1;
	FILE *out = cli->errout;
	if (ci) {
		struct dive_opts o = { 0 };
		fputc('\n', out);
		return run_ci(out, &o, a, NULL, err);
	}
	const struct st_analyze_dive *d = st_analyze_dive(a);
	const struct st_analyze_waste *w = st_analyze_waste(a);
	st_autofree char *dw = human(d->wasted_bytes);
	st_autofree char *sw = human(w->wasted_bytes);
	fprintf(out,
		"\nefficiency %.2f %% (dive), %s wasted (dive); %s the final filesystem does "
		"not show, in %zu file%s\n",
		d->efficiency * 100, dw, sw, w->wasted_files, w->wasted_files == 1 ? "" : "s");
	print_findings(out, a, 3);
	return 0;
}
