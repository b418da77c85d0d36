/* inspect.c: strata inspect [--format F] IMAGE..., strata inspect --raw [docker://]IMAGE */
#include <getopt.h>
#include <string.h>

#include "attest/attest.h"
#include "cli.h"
#include "container/container.h"
#include "fmt.h"
#include "format.h"
#include "template/template.h"
#include "local/local.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* A container of that name or id, as Docker looks containers up before images. 0: none. */
static int inspect_container(struct st_store *s, const char *name, json_t **out,
			     struct st_error **err)
{
	st_auto(st_container) struct st_container *c = NULL;
	struct st_error *e = NULL;
	*out = NULL;
	if (st_container_find(s, name, &c, &e) < 0) {
		if (e->kind == ST_E_NOTFOUND) {
			st_error_free(e);
			return 0;
		}
		*err = e;
		return -1;
	}
	*out = st_container_inspect(s, c, err);
	return *out ? 0 : -1;
}

/*
 * "Attestations": the statements the index 'name' points at attaches to 'img' (a build's
 * --sbom and --provenance), as docker buildx imagetools lists them. Added only when there
 * are some: the rest of the document stays Docker's.
 */
static int add_attestations(struct st_store *s, const char *name, const struct st_store_image *img,
			    json_t *v, struct st_error **err)
{
	struct st_attest_entry *e = NULL;
	size_t n = 0;
	if (st_attest_list(s, name, &img->manifest_digest, &e, &n, err) < 0)
		return -1;
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I}", "PredicateType",
						      e[i].predicate_type, "Manifest",
						      e[i].manifest.str, "Digest", e[i].digest.str,
						      "Size", (json_int_t)e[i].size));
	if (n && json_is_object(v))
		json_object_set(v, "Attestations", list);
	json_decref(list);
	st_attest_entries_free(e, n);
	return 0;
}

/* What --type asks for. */
enum inspect_type { TYPE_ANY, TYPE_IMAGE, TYPE_CONTAINER };

static json_t *inspect_one(struct st_store *s, const char *name, enum inspect_type type,
			   struct st_error **err)
{
	json_t *ctr = NULL;
	if (type != TYPE_IMAGE && inspect_container(s, name, &ctr, err) < 0)
		return NULL;
	if (ctr)
		return ctr;
	if (type == TYPE_CONTAINER) {
		st_err(err, ST_E_NOTFOUND, "No such container: %s", name);
		return NULL;
	}
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, name, &img, err) < 0) {
		/* Docker names what it looked for: images and containers both, unless --type */
		if ((*err)->kind == ST_E_NOTFOUND && type == TYPE_ANY) {
			st_error_clear(err);
			st_err(err, ST_E_NOTFOUND, "No such object: %s", name);
		}
		return NULL;
	}
	st_auto(st_image_config) struct st_image_config *cfg = NULL;
	if (st_local_image_config(s, img, &cfg, err) < 0)
		return NULL;
	char **tags = NULL;
	size_t nt = 0;
	if (st_local_image_tags(s, img->id.str, &tags, &nt, err) < 0)
		return NULL;
	st_autofree char *added = img->added > 0 ? st_fmt_time((time_t)(img->added / 1000000),
							       (long)(img->added % 1000000) * 1000)
						 : NULL;
	char **digests = NULL;
	size_t nd = 0;
	if (st_local_image_repo_digests(s, img->id.str, &digests, &nd, err) < 0) {
		st_store_strings_free(tags, nt);
		return NULL;
	}
	struct st_image_inspect_info info = {
		.id = img->id.str,
		.repo_tags = (const char *const *)tags,
		.n_repo_tags = nt,
		.repo_digests = (const char *const *)digests,
		.n_repo_digests = nd,
		.size = (int64_t)img->size,
		.last_tag_time = added,
	};
	json_t *v = st_image_config_inspect(cfg, &info);
	st_store_strings_free(tags, nt);
	st_store_strings_free(digests, nd);
	if (add_attestations(s, name, img, v, err) < 0) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/*
 * --raw: the manifest or index bytes of 'name' as stored (an image of the store) or as its
 * registry serves them (a name the store lacks, or one written docker://REF), as
 * `docker buildx imagetools inspect --raw` prints them.
 */
static int inspect_raw(struct st_cli *cli, const char *name, const struct st_registry_opts *ro,
		       struct st_error **err)
{
	bool remote = !strncmp(name, "docker://", 9);
	if (remote)
		name += 9;
	struct st_store *s = NULL;
	if (!remote && st_cli_store(cli, &s, err) < 0)
		return -1;
	st_auto(st_store_image) struct st_store_image *img = NULL;
	struct st_error *e = NULL;
	if (!remote && st_local_image_find(s, name, &img, &e) == 0) {
		/* A name resolves to what it points at: an index, for several platforms. */
		st_autofree char *full = NULL;
		struct st_store_ref ref = { 0 };
		struct st_digest what = img->manifest_digest;
		if (st_local_ref_normalize(name, &full, &e) == 0 &&
		    st_store_ref_get(s, full, &ref, &e) == 0)
			what = ref.manifest_digest;
		st_error_free(e);
		st_store_ref_release(&ref);
		struct st_buf b = ST_BUF_INIT;
		int rc = st_store_read_blob(s, what.str, &b, err);
		if (rc == 0)
			fwrite(b.data, 1, b.len, cli->out);
		st_buf_release(&b);
		return rc;
	}
	if (e && e->kind != ST_E_NOTFOUND) {
		*err = e;
		return -1;
	}
	st_error_free(e);
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_parse(name, &ref, err) < 0)
		return -1;
	st_auto(st_registry) struct st_registry *r = st_registry_new(ro, err);
	if (!r)
		return -1;
	struct st_registry_manifest m = { .bytes = ST_BUF_INIT };
	int rc = st_registry_get_manifest(r, ref, &m, err);
	if (rc == 0)
		fwrite(m.bytes.data, 1, m.bytes.len, cli->out);
	st_registry_manifest_release(&m);
	return rc;
}

int cmd_inspect(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	enum { OPT_RAW = 256 };
	static const struct option longopts[] = {
		{ "raw", no_argument, NULL, OPT_RAW },
		ST_CLI_REGISTRY_LONGOPTS,
		{ "format", required_argument, NULL, 'f' },
		{ "size", no_argument, NULL, 's' },
		{ "type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *fmt = NULL;
	bool raw = false;
	enum inspect_type type = TYPE_ANY;
	struct st_registry_opts ro = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "f:sh", longopts, NULL)) != -1) {
		int k = st_cli_registry_opt(c, optarg, &ro, err);
		if (k < 0)
			return -1;
		if (k)
			continue;
		switch (c) {
		case OPT_RAW:
			raw = true;
			break;
		case 'f':
			fmt = optarg;
			break;
		case 's':
			/* Docker's -s adds sizes to containers; an image's Size is always there */
			break;
		case 't':
			if (strcmp(optarg, "image") && strcmp(optarg, "container"))
				return st_cli_usage(err, "--type: 'image' or 'container'");
			type = !strcmp(optarg, "container") ? TYPE_CONTAINER : TYPE_IMAGE;
			break;
		case 'h':
			fputs("Usage: strata inspect [OPTIONS] IMAGE [IMAGE...]\n\n"
			      "Display detailed information on one or more images\n\nOptions:\n"
			      "      --authfile string    Credentials file for --raw from a "
			      "registry\n"
			      "  -f, --format string      Format output using a Go template\n"
			      "      --raw                The manifest or index as stored, or as "
			      "the\n"
			      "                           registry serves it (a name the store "
			      "lacks,\n"
			      "                           or docker://NAME)\n"
			      "  -s, --size               Display total file sizes (always shown)\n"
			      "      --tls-verify bool    Verify the registry's certificate "
			      "(default true)\n"
			      "      --type string        Only this type: 'image' or 'container'\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata inspect --help'");
		}
	}
	if (optind >= argc)
		return st_cli_usage(err, "\"inspect\" requires at least 1 argument");
	if (raw && fmt)
		return st_cli_usage(err, "--raw and --format cannot be used together");
	if (raw && argc - optind != 1)
		return st_cli_usage(err, "--raw takes exactly 1 image");
	if (raw)
		return inspect_raw(cli, argv[optind], &ro, err);
	/* Docker hands an inspect format to the template as typed: "\n" stays two characters
	 * for the template's own string literals ({{"\n"}}); only list verbs unescape theirs. */
	st_auto(st_template) struct st_template *t = NULL;
	if (fmt && st_template_parse_flags(fmt, ST_TEMPLATE_DOCKER, &t, err) < 0)
		return st_err_wrap(err, "--format '%s'", fmt);
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	json_t *all = json_array();
	struct st_error *missing = NULL;
	int rc = 0;
	/* Like Docker: print what was found, report each name that was not, fail at the end. */
	for (int i = optind; i < argc && rc == 0; i++) {
		struct st_error *e = NULL;
		json_t *v = inspect_one(s, argv[i], type, &e);
		if (!v) {
			if (missing)
				fprintf(cli->errout, "strata: inspect: %s\n", missing->msg);
			st_error_free(missing);
			missing = e;
			continue;
		}
		if (t) {
			struct st_buf b = ST_BUF_INIT;
			rc = st_template_execute(t, v, &b, err);
			if (rc == 0)
				fprintf(cli->out, "%s\n", st_buf_str(&b));
			st_buf_release(&b);
			json_decref(v);
		} else {
			json_array_append_new(all, v);
		}
	}
	if (rc == 0 && !t)
		st_cli_print_json(all, cli->out);
	json_decref(all);
	if (rc == 0 && missing) {
		*err = missing;
		return -1;
	}
	st_error_free(missing);
	return rc;
}
