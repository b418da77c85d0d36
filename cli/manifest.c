/*
 * manifest.c: strata manifest inspect [--raw] [--tls-verify=false] [--authfile F]
 *                                     NAME[:TAG|@DIGEST]
 *             strata manifest create [-a] LIST IMAGE...
 *             strata manifest add|annotate [--os --arch --variant ...] LIST IMAGE
 *             strata manifest rm LIST...
 *             strata manifest push [-p] [-q] LIST [DESTINATION]
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "cli.h"
#include "layer_progress.h"
#include "local/local.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static const char usage_text[] =
    "Usage: strata manifest inspect [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
    "Display an image's manifest or manifest list, as the registry serves it\n\n"
    "Options:\n"
    "      --authfile string    Credentials file (default: ~/.docker/config.json)\n"
    "      --raw                The bytes as served, not indented (their digest is the image's)\n"
    "      --tls-verify bool    Require HTTPS and verify certificates (default true)\n";

int cmd_manifest_inspect(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	enum { OPT_RAW = 256 };
	static const struct option longopts[] = {
		{ "raw", no_argument, NULL, OPT_RAW },
		ST_CLI_REGISTRY_LONGOPTS,
		{ "insecure", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct st_registry_opts ro = { 0 };
	bool raw = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int k = st_cli_registry_opt(c, optarg, &ro, err);
		if (k < 0)
			return -1;
		if (k)
			continue;
		switch (c) {
		case OPT_RAW:
			raw = true;
			break;
		case 'h':
			fputs(usage_text, cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata manifest inspect --help'");
		}
	}
	if (argc - optind != 1)
		return st_cli_usage(err, "\"manifest inspect\" requires exactly 1 argument");
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_parse(argv[optind], &ref, err) < 0)
		return -1;
	struct st_registry_manifest m = { ST_BUF_INIT, NULL, { "" } };
	/* A manifest list of the store is shown before the registry is asked, as Docker does. */
	st_autofree char *name = st_image_ref_string(ref);
	struct st_store *s = NULL;
	struct st_error *le = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	if (st_registry_list_get(s, name, &m.bytes, NULL, &le) < 0) {
		if (le->kind != ST_E_NOTFOUND) {
			*err = le;
			return -1;
		}
		st_error_clear(&le);
		st_auto(st_registry) struct st_registry *r = st_registry_new(&ro, err);
		if (!r || st_registry_get_manifest(r, ref, &m, err) < 0)
			return -1;
	}
	int rc = 0;
	if (raw) {
		fwrite(m.bytes.data, 1, m.bytes.len, cli->out);
	} else {
		json_error_t je;
		json_t *j = json_loadb(m.bytes.data, m.bytes.len, 0, &je);
		char *text = j ? json_dumps(j, JSON_INDENT(3) | JSON_PRESERVE_ORDER) : NULL;
		if (text)
			fprintf(cli->out, "%s\n", text);
		else
			rc = st_err(err, ST_E_PARSE, "%s: the manifest is not JSON: %s",
				    argv[optind], je.text);
		free(text);
		json_decref(j);
	}
	st_registry_manifest_release(&m);
	return rc;
}

/* ---- manifest lists: create, add, annotate, rm, push ---------------------------------------- */

static const char create_usage[] =
    "Usage: strata manifest create [OPTIONS] MANIFEST_LIST MANIFEST [MANIFEST...]\n\n"
    "Create a local manifest list (an OCI index) of images, for `strata manifest push`.\n"
    "Each MANIFEST is an image of the store, else of its registry (pulled by digest)\n\n"
    "Options:\n"
    "  -a, --amend              Amend an existing manifest list\n"
    "      --authfile string    Credentials file (default: ~/.docker/config.json)\n"
    "      --tls-verify bool    Require HTTPS and verify certificates (default true)\n";

static const char add_usage[] =
    "Usage: strata manifest add [OPTIONS] MANIFEST_LIST MANIFEST\n\n"
    "Add an image to a local manifest list (its entry is replaced if it has one)\n\n"
    "Options:\n"
    "      --annotation strings Set an annotation of the entry (key=value)\n"
    "      --arch string        Set the architecture (and choose it from an index)\n"
    "      --authfile string    Credentials file (default: ~/.docker/config.json)\n"
    "      --os string          Set the operating system (and choose it from an index)\n"
    "      --tls-verify bool    Require HTTPS and verify certificates (default true)\n"
    "      --variant string     Set the architecture variant\n";

static const char annotate_usage[] =
    "Usage: strata manifest annotate [OPTIONS] MANIFEST_LIST MANIFEST\n\n"
    "Add additional information to a local image manifest\n\n"
    "Options:\n"
    "      --annotation strings Set an annotation of the entry (key=value)\n"
    "      --arch string        Set architecture\n"
    "      --authfile string    Credentials file (default: ~/.docker/config.json)\n"
    "      --os string          Set operating system\n"
    "      --os-features strings Set operating system feature\n"
    "      --os-version string  Set operating system version\n"
    "      --tls-verify bool    Require HTTPS and verify certificates (default true)\n"
    "      --variant string     Set architecture variant\n";

static const char rm_usage[] = "Usage: strata manifest rm MANIFEST_LIST [MANIFEST_LIST...]\n\n"
			       "Delete one or more manifest lists from the local store\n";

static const char push_usage[] =
    "Usage: strata manifest push [OPTIONS] MANIFEST_LIST [DESTINATION]\n\n"
    "Push a manifest list to a repository: every image it lists, then the list\n\n"
    "Options:\n"
    "      --authfile string    Credentials file (default: ~/.docker/config.json)\n"
    "  -p, --purge              Remove the local manifest list after push\n"
    "  -q, --quiet              Print only the list's digest\n"
    "      --tls-verify bool    Require HTTPS and verify certificates (default true)\n";

enum {
	OPT_AMEND = 256,
	OPT_OS,
	OPT_ARCH,
	OPT_VARIANT,
	OPT_OS_VERSION,
	OPT_OS_FEATURES,
	OPT_ANNOTATION,
	OPT_PURGE,
	OPT_QUIET,
};

struct list_opts {
	struct st_registry_opts ro;
	struct st_registry_list_edit edit;
	char **features, **annotations; /* owned vectors behind 'edit' */
	bool amend, purge, quiet;
};

static void list_opts_release(struct list_opts *o)
{
	st_strv_free(o->features, o->edit.n_os_features);
	st_strv_free(o->annotations, o->edit.n_annotations);
}

static void push_str(char ***v, size_t *n, const char *s, size_t len)
{
	*v = st_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = st_xstrndup(s, len);
}

/*
 * Parse the flags of a manifest list verb ('longopts', ending with "help"). Returns 1 when
 * --help was printed, -1 on a bad flag, 0 otherwise; optind is then at the operands.
 */
static int parse_list_opts(struct st_cli *cli, int argc, char **argv, const char *shortopts,
			   const struct option *longopts, const char *usage, const char *verb,
			   struct list_opts *o, struct st_error **err)
{
	struct st_registry_list_edit *e = &o->edit;
	int c;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int k = st_cli_registry_opt(c, optarg, &o->ro, err);
		if (k < 0)
			return -1;
		if (k)
			continue;
		switch (c) {
		case 'a':
			o->amend = true;
			break;
		case 'p':
			o->purge = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_OS:
			e->os = optarg;
			break;
		case OPT_ARCH:
			e->architecture = optarg;
			break;
		case OPT_VARIANT:
			e->variant = optarg;
			break;
		case OPT_OS_VERSION:
			e->os_version = optarg;
			break;
		case OPT_OS_FEATURES:
			/* A list flag, as Docker's: repeated, or comma-separated. */
			for (const char *p = optarg; *p;) {
				size_t len = strcspn(p, ",");
				if (len)
					push_str(&o->features, &e->n_os_features, p, len);
				p += len + (p[len] == ',');
			}
			e->os_features = o->features;
			break;
		case OPT_ANNOTATION:
			if (!strchr(optarg, '=') || *optarg == '=')
				return st_cli_usage(err, "--annotation '%s': expected key=value",
						    optarg);
			push_str(&o->annotations, &e->n_annotations, optarg, strlen(optarg));
			e->annotations = o->annotations;
			break;
		case 'h':
			fputs(usage, cli->out);
			return 1;
		default:
			return st_cli_usage(err, "see 'strata manifest %s --help'", verb);
		}
	}
	return 0;
}

/* The normalised name of the list 'arg', and the store and registry the verbs need. */
static int open_list(struct st_cli *cli, const char *arg, const struct list_opts *o, char **name,
		     struct st_store **s, struct st_registry **r, struct st_error **err)
{
	if (st_local_ref_normalize(arg, name, err) < 0)
		return -1;
	if (st_cli_store(cli, s, err) < 0)
		return -1;
	if (r && !(*r = st_registry_new(&o->ro, err)))
		return -1;
	return 0;
}

/* Print the list's digest, as `docker manifest create` prints what it created. */
static int print_created(struct st_cli *cli, struct st_store *s, const char *name,
			 struct st_error **err)
{
	struct st_digest d;
	if (st_registry_list_get(s, name, NULL, &d, err) < 0)
		return -1;
	fprintf(cli->errout, "Created manifest list %s\n", name);
	fprintf(cli->out, "%s\n", d.str);
	return 0;
}

int cmd_manifest_create(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "amend", no_argument, NULL, 'a' },
		ST_CLI_REGISTRY_LONGOPTS,
		{ "insecure", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	__attribute__((cleanup(list_opts_release))) struct list_opts o = { 0 };
	int k = parse_list_opts(cli, argc, argv, "ah", longopts, create_usage, "create", &o, err);
	if (k)
		return k < 0 ? -1 : 0;
	if (argc - optind < 2)
		return st_cli_usage(err, "\"manifest create\" requires at least 2 arguments: "
					 "MANIFEST_LIST MANIFEST [MANIFEST...]");
	st_autofree char *name = NULL;
	struct st_store *s = NULL;
	st_auto(st_registry) struct st_registry *r = NULL;
	if (open_list(cli, argv[optind], &o, &name, &s, &r, err) < 0)
		return -1;
	unsigned flags = o.amend ? ST_REGISTRY_LIST_AMEND : 0;
	if (st_registry_list_create(s, r, name, (const char *const *)argv + optind + 1,
				    (size_t)(argc - optind - 1), flags, err) < 0)
		return -1;
	return print_created(cli, s, name, err);
}

/* add and annotate: the same operands, the same flags but one. */
static int edit_verb(struct st_cli *cli, int argc, char **argv, bool annotate,
		     struct st_error **err)
{
	static const struct option annotate_longopts[] = {
		{ "os", required_argument, NULL, OPT_OS },
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "variant", required_argument, NULL, OPT_VARIANT },
		{ "os-version", required_argument, NULL, OPT_OS_VERSION },
		{ "os-features", required_argument, NULL, OPT_OS_FEATURES },
		{ "annotation", required_argument, NULL, OPT_ANNOTATION },
		ST_CLI_REGISTRY_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const struct option add_longopts[] = {
		{ "os", required_argument, NULL, OPT_OS },
		{ "arch", required_argument, NULL, OPT_ARCH },
		{ "variant", required_argument, NULL, OPT_VARIANT },
		{ "annotation", required_argument, NULL, OPT_ANNOTATION },
		ST_CLI_REGISTRY_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *verb = annotate ? "annotate" : "add";
	__attribute__((cleanup(list_opts_release))) struct list_opts o = { 0 };
	int k = parse_list_opts(cli, argc, argv, "h", annotate ? annotate_longopts : add_longopts,
				annotate ? annotate_usage : add_usage, verb, &o, err);
	if (k)
		return k < 0 ? -1 : 0;
	if (argc - optind != 2)
		return st_cli_usage(err,
				    "\"manifest %s\" requires exactly 2 arguments: MANIFEST_LIST "
				    "MANIFEST",
				    verb);
	st_autofree char *name = NULL;
	struct st_store *s = NULL;
	st_auto(st_registry) struct st_registry *r = NULL;
	if (open_list(cli, argv[optind], &o, &name, &s, &r, err) < 0)
		return -1;
	const char *image = argv[optind + 1];
	if (annotate)
		return st_registry_list_annotate(s, r, name, image, &o.edit, err);
	if (st_registry_list_add(s, r, name, image, &o.edit, err) < 0)
		return -1;
	struct st_digest d;
	if (st_registry_list_get(s, name, NULL, &d, err) < 0)
		return -1;
	fprintf(cli->out, "%s\n", d.str);
	return 0;
}

int cmd_manifest_add(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	return edit_verb(cli, argc, argv, false, err);
}

int cmd_manifest_annotate(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	return edit_verb(cli, argc, argv, true, err);
}

int cmd_manifest_rm(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	__attribute__((cleanup(list_opts_release))) struct list_opts o = { 0 };
	int k = parse_list_opts(cli, argc, argv, "h", longopts, rm_usage, "rm", &o, err);
	if (k)
		return k < 0 ? -1 : 0;
	if (argc - optind < 1)
		return st_cli_usage(err, "\"manifest rm\" requires at least 1 argument");
	/* As docker: every list is tried, the first failure is reported. */
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		st_autofree char *name = NULL;
		struct st_store *s = NULL;
		struct st_error *e = NULL;
		if (open_list(cli, argv[i], &o, &name, &s, NULL, &e) == 0 &&
		    st_registry_list_remove(s, name, &e) == 0)
			continue;
		if (rc == 0)
			*err = e;
		else
			st_error_clear(&e);
		rc = -1;
	}
	return rc;
}

int cmd_manifest_push(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "purge", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		ST_CLI_REGISTRY_LONGOPTS,
		{ "insecure", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	__attribute__((cleanup(list_opts_release))) struct list_opts o = { 0 };
	int k = parse_list_opts(cli, argc, argv, "pqh", longopts, push_usage, "push", &o, err);
	if (k)
		return k < 0 ? -1 : 0;
	if (argc - optind < 1 || argc - optind > 2)
		return st_cli_usage(err, "\"manifest push\" requires 1 or 2 arguments: "
					 "MANIFEST_LIST [DESTINATION]");
	st_autofree char *name = NULL;
	struct st_store *s = NULL;
	st_auto(st_registry) struct st_registry *r = NULL;
	if (open_list(cli, argv[optind], &o, &name, &s, &r, err) < 0)
		return -1;
	st_auto(st_image_ref) struct st_image_ref *dest = NULL;
	if (st_image_ref_parse(argv[argc - optind == 2 ? optind + 1 : optind], &dest, err) < 0)
		return -1;
	struct st_digest d;
	if (st_registry_list_get(s, name, NULL, &d, err) < 0)
		return -1;
	st_auto_cli_layers struct st_cli_layers layers = { 0 };
	if (st_cli_layers_init(&layers, cli->errout, "plain", o.quiet ? ST_CLI_LAYERS_QUIET : 0,
			       err) < 0)
		return -1;
	struct st_events ev = st_cli_layers_events(&layers);
	struct st_registry_push_result res;
	if (st_registry_push_index(s, r, &d, dest, &ev, &res, err) < 0)
		return -1;
	if (o.purge && st_registry_list_remove(s, name, err) < 0)
		return -1;
	fprintf(cli->out, "%s\n", res.digest.str);
	return 0;
}

/* ---- referrers: attach and list ------------------------------------------------------------ */

static const char attach_usage[] =
    "Usage: strata manifest attach [OPTIONS] --artifact-type TYPE NAME[:TAG|@DIGEST] FILE...\n\n"
    "Push an artifact (an OCI 1.1 manifest of FILEs) that refers to an image of a registry,\n"
    "as `oras attach` does; `strata manifest referrers` lists them\n\n"
    "Options:\n"
    "      --annotation strings  Set an annotation of the artifact (key=value)\n"
    "      --artifact-type string The artifact's type (a media type)\n"
    "      --authfile string     Credentials file (default: ~/.docker/config.json)\n"
    "      --tls-verify bool     Require HTTPS and verify certificates (default true)\n";

static const char referrers_usage[] =
    "Usage: strata manifest referrers [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
    "List the artifacts that refer to an image of a registry (signatures, SBOMs,\n"
    "attestations) as an OCI index, from the referrers API or its fallback tag\n\n"
    "Options:\n"
    "      --artifact-type string Only artifacts of this type\n"
    "      --authfile string     Credentials file (default: ~/.docker/config.json)\n"
    "      --tls-verify bool     Require HTTPS and verify certificates (default true)\n";

enum { OPT_ARTIFACT_TYPE = 512 };

/* The flags of attach and referrers. Returns 1 when --help was printed. */
static int parse_referrer_opts(struct st_cli *cli, int argc, char **argv, const char *usage,
			       const char *verb, struct list_opts *o, const char **type,
			       struct st_error **err)
{
	static const struct option longopts[] = {
		{ "artifact-type", required_argument, NULL, OPT_ARTIFACT_TYPE },
		{ "annotation", required_argument, NULL, OPT_ANNOTATION },
		ST_CLI_REGISTRY_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int k = st_cli_registry_opt(c, optarg, &o->ro, err);
		if (k < 0)
			return -1;
		if (k)
			continue;
		switch (c) {
		case OPT_ARTIFACT_TYPE:
			*type = optarg;
			break;
		case OPT_ANNOTATION:
			if (!strchr(optarg, '=') || *optarg == '=')
				return st_cli_usage(err, "--annotation '%s': expected key=value",
						    optarg);
			push_str(&o->annotations, &o->edit.n_annotations, optarg, strlen(optarg));
			break;
		case 'h':
			fputs(usage, cli->out);
			return 1;
		default:
			return st_cli_usage(err, "see 'strata manifest %s --help'", verb);
		}
	}
	return 0;
}

int cmd_manifest_attach(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	__attribute__((cleanup(list_opts_release))) struct list_opts o = { 0 };
	const char *type = NULL;
	int k = parse_referrer_opts(cli, argc, argv, attach_usage, "attach", &o, &type, err);
	if (k)
		return k < 0 ? -1 : 0;
	if (!type)
		return st_cli_usage(err, "\"manifest attach\" requires --artifact-type");
	if (argc - optind < 2)
		return st_cli_usage(err, "\"manifest attach\" requires at least 2 arguments: "
					 "NAME[:TAG|@DIGEST] FILE...");
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_parse(argv[optind], &ref, err) < 0)
		return -1;
	st_auto(st_registry) struct st_registry *r = st_registry_new(&o.ro, err);
	if (!r)
		return -1;
	struct st_registry_artifact a = {
		.artifact_type = type,
		.files = (const char *const *)argv + optind + 1,
		.n_files = (size_t)(argc - optind - 1),
		.annotations = o.annotations,
		.n_annotations = o.edit.n_annotations,
	};
	struct st_digest d;
	if (st_registry_attach(r, ref, &a, &d, err) < 0)
		return -1;
	st_autofree char *repo = st_image_ref_repository(ref);
	fprintf(cli->out, "%s@%s\n", repo, d.str);
	return 0;
}

int cmd_manifest_referrers(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	__attribute__((cleanup(list_opts_release))) struct list_opts o = { 0 };
	const char *type = NULL;
	int k = parse_referrer_opts(cli, argc, argv, referrers_usage, "referrers", &o, &type, err);
	if (k)
		return k < 0 ? -1 : 0;
	if (argc - optind != 1)
		return st_cli_usage(err, "\"manifest referrers\" requires exactly 1 argument");
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_parse(argv[optind], &ref, err) < 0)
		return -1;
	st_auto(st_registry) struct st_registry *r = st_registry_new(&o.ro, err);
	if (!r)
		return -1;
	/* The subject is what the name resolves to now: a tag's current manifest or index. */
	struct st_registry_manifest m = { ST_BUF_INIT, NULL, { "" } };
	if (st_registry_get_manifest(r, ref, &m, err) < 0)
		return -1;
	struct st_digest subject = m.digest;
	st_registry_manifest_release(&m);
	struct st_buf b = ST_BUF_INIT;
	int rc = st_registry_referrers(r, ref, &subject, type, &b, err);
	if (rc == 0) {
		json_t *j = json_loadb(b.data, b.len, 0, NULL);
		char *text = json_dumps(j, JSON_INDENT(3) | JSON_PRESERVE_ORDER);
		fprintf(cli->out, "%s\n", text);
		free(text);
		json_decref(j);
	}
	st_buf_release(&b);
	return rc;
}
