/* images.c: strata images [-a] [-q] [--digests] [--no-trunc] [--filter F]... [--format F]
 * [REPOSITORY[:TAG]] */
#include <fnmatch.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "fmt.h"
#include "format.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/banned.h"

struct images_opts {
	bool quiet, digests, no_trunc;
	int dangling;	   /* -1: any, 0: only tagged, 1: only dangling */
	const char **refs; /* reference=PATTERN filters (and the positional REPOSITORY) */
	size_t nrefs;
	const char **labels; /* label=K or label=K=V */
	size_t nlabels;
	const char *before, *since; /* before=IMAGE, since=IMAGE */
	const char *format;
};

static const char usage_text[] =
    "Usage: strata images [OPTIONS] [REPOSITORY[:TAG]]\n\n"
    "List images\n\n"
    "Options:\n"
    "  -a, --all             Show all images (there are no intermediate images to hide)\n"
    "      --digests         Show digests\n"
    "  -f, --filter filter   Filter output: dangling=true|false, reference=PATTERN,\n"
    "                        label=KEY[=VALUE], before=IMAGE, since=IMAGE\n"
    "      --format string   Format output using a Go template ('table ...' for columns)\n"
    "      --no-trunc        Don't truncate output\n"
    "  -q, --quiet           Only show image IDs\n";

static void push(const char ***v, size_t *n, const char *s)
{
	*v = st_xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = s;
}

static int add_filter(struct images_opts *o, const char *f, struct st_error **err)
{
	if (!strcmp(f, "dangling=true") || !strcmp(f, "dangling=1")) {
		o->dangling = 1;
	} else if (!strcmp(f, "dangling=false") || !strcmp(f, "dangling=0")) {
		o->dangling = 0;
	} else if (!strncmp(f, "reference=", 10)) {
		push(&o->refs, &o->nrefs, f + 10);
	} else if (!strncmp(f, "label=", 6)) {
		push(&o->labels, &o->nlabels, f + 6);
	} else if (!strncmp(f, "before=", 7)) {
		o->before = f + 7;
	} else if (!strncmp(f, "since=", 6)) {
		o->since = f + 6;
	} else {
		return st_cli_usage(err,
				    "invalid filter '%s': expected dangling=, reference=, label=, "
				    "before= or since=",
				    f);
	}
	return 0;
}

static int parse_flags(struct st_cli *cli, int argc, char **argv, struct images_opts *o,
		       struct st_error **err)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "digests", no_argument, NULL, 'd' },
		{ "filter", required_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ "no-trunc", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "af:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			break;
		case 'd':
			o->digests = true;
			break;
		case 'f':
			if (add_filter(o, optarg, err) < 0)
				return -1;
			break;
		case 'F':
			o->format = optarg;
			break;
		case 'n':
			o->no_trunc = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			fputs(usage_text, cli->out);
			return 1;
		default:
			return st_cli_usage(err, "see 'strata images --help'");
		}
	}
	if (argc - optind > 1)
		return st_cli_usage(err, "\"images\" accepts at most one argument");
	if (argc - optind == 1)
		push(&o->refs, &o->nrefs, argv[optind]);
	return 0;
}

/* Docker's reference filter: the pattern matches "name" or "name:tag" (familiar forms). */
static bool ref_matches(const struct images_opts *o, const char *repo, const char *tag)
{
	if (!o->nrefs)
		return true;
	st_autofree char *full = st_xasprintf("%s:%s", repo, tag);
	for (size_t i = 0; i < o->nrefs; i++) {
		if (fnmatch(o->refs[i], repo, 0) == 0 || fnmatch(o->refs[i], full, 0) == 0)
			return true;
	}
	return false;
}

static bool labels_match(struct st_store *s, const struct images_opts *o,
			 const struct st_store_image *img)
{
	if (!o->nlabels)
		return true;
	st_auto(st_image_config) struct st_image_config *cfg = NULL;
	struct st_error *e = NULL;
	if (st_local_image_config(s, img, &cfg, &e) < 0) {
		st_error_free(e);
		return false;
	}
	for (size_t i = 0; i < o->nlabels; i++) {
		const char *eq = strchr(o->labels[i], '=');
		st_autofree char *key = eq ? st_xstrndup(o->labels[i], (size_t)(eq - o->labels[i]))
					   : st_xstrdup(o->labels[i]);
		const char *v = st_image_map_get(&cfg->config.labels, key);
		if (!v || (eq && strcmp(v, eq + 1) != 0))
			return false;
	}
	return true;
}

/* An RFC 3339 time in nanoseconds since the epoch: images made in one second still order. */
static bool created_ns(const char *rfc3339, int64_t *out)
{
	time_t t;
	if (st_fmt_parse_time(rfc3339, &t) < 0)
		return false;
	int64_t ns = 0;
	const char *dot = strchr(rfc3339, '.');
	for (int i = 1; i <= 9; i++)
		ns = ns * 10 + (dot && dot[i] >= '0' && dot[i] <= '9' ? dot[i] - '0' : 0);
	*out = (int64_t)t * 1000000000 + ns;
	return true;
}

/* before=/since=: the creation time of the image named, which must exist (as Docker says). */
static int created_of(struct st_store *s, const char *name, int64_t *out, struct st_error **err)
{
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, name, &img, err) < 0)
		return -1;
	if (!created_ns(img->created, out))
		return st_err(err, ST_E_INVALID, "image '%s' has no creation time to compare with",
			      name);
	return 0;
}

static json_t *row_for(const struct st_store_image *img, const char *repo, const char *tag,
		       const struct images_opts *o, time_t now)
{
	st_autofree char *id = o->no_trunc ? st_xstrdup(img->id.str) : st_fmt_short_id(img->id.str);
	st_autofree char *since = st_fmt_since(img->created, now);
	st_autofree char *size = st_fmt_size(img->size);
	/* Docker's CreatedAt is Go's time.Time.String(): "2023-11-14 23:13:20 +0100 CET" */
	time_t t;
	st_autofree char *at =
	    st_fmt_parse_time(img->created, &t) == 0 ? st_fmt_go_string(t) : st_xstrdup("");
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", id,
			 "Repository", repo, "Tag", tag, "Digest", img->manifest_digest.str,
			 "CreatedSince", since, "CreatedAt", at, "Size", size, "VirtualSize", size,
			 "Containers", "N/A", "SharedSize", "N/A");
}

int cmd_images(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	struct images_opts o = { .dangling = -1 };
	int rc = parse_flags(cli, argc, argv, &o, err);
	/* they free the lists on return */
	st_autofree const char **refs = o.refs;
	st_autofree const char **labels = o.labels;
	(void)refs, (void)labels;
	if (rc != 0)
		return rc < 0 ? -1 : 0;

	const char *fmt = o.format;
	if (o.quiet)
		fmt = "{{.ID}}";
	else if (!fmt && o.digests)
		fmt =
		    "table "
		    "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
	else if (!fmt)
		fmt = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
	/* Every field a row has: an empty list still prints its header from these. */
	json_t *header =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID", "IMAGE ID",
		      "Repository", "REPOSITORY", "Tag", "TAG", "Digest", "DIGEST", "CreatedSince",
		      "CREATED", "CreatedAt", "CREATED AT", "Size", "SIZE", "VirtualSize", "SIZE",
		      "Containers", "CONTAINERS", "SharedSize", "SHARED SIZE");
	st_auto(st_cli_format) struct st_cli_format *f = NULL;
	rc = st_cli_format_new(fmt, header, &f, err);
	json_decref(header);
	if (rc < 0)
		return -1;

	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	struct st_store_image **imgs = NULL, **dangling = NULL;
	size_t n = 0, nd = 0;
	if (st_store_image_list(s, 0, &imgs, &n, err) < 0)
		return -1;
	/* A platform of a named multi-platform image has no name of its own, yet is no
	 * <none> row: Docker lists one row per name. */
	if (st_store_image_list(s, ST_STORE_LIST_DANGLING, &dangling, &nd, err) < 0) {
		st_store_image_list_free(imgs, n);
		return -1;
	}
	int64_t before = INT64_MAX, since = INT64_MIN;
	rc = 0;
	if (o.before && created_of(s, o.before, &before, err) < 0)
		rc = -1;
	if (rc == 0 && o.since && created_of(s, o.since, &since, err) < 0)
		rc = -1;
	time_t now = time(NULL);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct st_store_image *img = imgs[i];
		int64_t created;
		if ((o.before || o.since) &&
		    (!created_ns(img->created, &created) || created >= before || created <= since))
			continue;
		if (!labels_match(s, &o, img))
			continue;
		char **tags = NULL;
		size_t nt = 0;
		if (st_local_image_tags(s, img->id.str, &tags, &nt, err) < 0) {
			rc = -1;
			break;
		}
		bool is_dangling = false;
		for (size_t d = 0; d < nd && !is_dangling; d++)
			is_dangling = st_digest_equal(&dangling[d]->id, &img->id);
		if (nt == 0 && is_dangling && o.dangling != 0 && !o.nrefs) {
			json_t *row = row_for(img, "<none>", "<none>", &o, now);
			rc = st_cli_format_row(f, row, cli->out, err);
			json_decref(row);
		}
		for (size_t t = 0; t < nt && rc == 0 && o.dangling != 1; t++) {
			/* "name:tag" splits at the last ':' that is not part of a registry port */
			char *colon = strrchr(tags[t], ':');
			if (colon && strchr(colon, '/'))
				colon = NULL;
			st_autofree char *repo =
			    colon ? st_xstrndup(tags[t], (size_t)(colon - tags[t]))
				  : st_xstrdup(tags[t]);
			const char *tag = colon ? colon + 1 : "<none>";
			if (!ref_matches(&o, repo, tag))
				continue;
			json_t *row = row_for(img, repo, tag, &o, now);
			rc = st_cli_format_row(f, row, cli->out, err);
			json_decref(row);
			/* -q lists each image once, however many tags it has */
			if (o.quiet)
				break;
		}
		st_store_strings_free(tags, nt);
	}
	st_store_image_list_free(imgs, n);
	st_store_image_list_free(dangling, nd);
	if (rc < 0)
		return -1;
	st_cli_format_flush(f, cli->out);
	return 0;
}
