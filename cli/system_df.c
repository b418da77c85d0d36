/* system_df.c: strata system df [-v] [--format F] */
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "builder/builder.h"
#include "cli.h"
#include "container/container.h"
#include "container/volume.h"
#include "fmt.h"
#include "format.h"
#include "local/local.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static json_t *row(const char *type, size_t total, size_t active, uint64_t size, uint64_t reclaim)
{
	st_autofree char *sz = st_fmt_size(size);
	st_autofree char *rs = st_fmt_size(reclaim);
	st_autofree char *rc =
	    size ? st_xasprintf("%s (%d%%)", rs, (int)(reclaim * 100 / size)) : st_xstrdup(rs);
	return json_pack("{s:s, s:I, s:I, s:s, s:s}", "Type", type, "TotalCount", (json_int_t)total,
			 "Active", (json_int_t)active, "Size", sz, "Reclaimable", rc);
}

/* Bytes of 'img's layers that another image of 'all' has too (each diff_id once). */
static uint64_t shared_size(const struct st_store_image *img, struct st_store_image **all, size_t n)
{
	uint64_t shared = 0;
	for (size_t l = 0; l < img->n_layers; l++) {
		const struct st_store_layer *ly = &img->layers[l];
		bool dup = false, other = false;
		for (size_t k = 0; k < l && !dup; k++)
			dup = st_digest_equal(&img->layers[k].diff_id, &ly->diff_id);
		for (size_t i = 0; i < n && !other && !dup; i++) {
			if (all[i] == img)
				continue;
			for (size_t k = 0; k < all[i]->n_layers && !other; k++)
				other = st_digest_equal(&all[i]->layers[k].diff_id, &ly->diff_id);
		}
		if (other)
			shared += ly->diff_size;
	}
	return shared;
}

static int image_rows(struct st_store *s, struct st_table *t, struct st_error **err)
{
	struct st_store_image **imgs = NULL;
	size_t n = 0;
	if (st_store_image_list(s, 0, &imgs, &n, err) < 0)
		return -1;
	time_t now = time(NULL);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct st_store_image *img = imgs[i];
		char **tags = NULL;
		size_t nt = 0;
		if ((rc = st_local_image_tags(s, img->id.str, &tags, &nt, err)) < 0)
			break;
		uint64_t sh = shared_size(img, imgs, n);
		st_autofree char *id = st_fmt_short_id(img->id.str);
		st_autofree char *since = st_fmt_since(img->created, now);
		st_autofree char *size = st_fmt_size(img->size);
		st_autofree char *shared = st_fmt_size(sh);
		st_autofree char *unique = st_fmt_size(img->size - sh);
		for (size_t k = 0; k < (nt ? nt : 1); k++) {
			char *colon = nt ? strrchr(tags[k], ':') : NULL;
			if (colon && strchr(colon, '/'))
				colon = NULL;
			st_autofree char *repo =
			    !nt	    ? st_xstrdup("<none>")
			    : colon ? st_xstrndup(tags[k], (size_t)(colon - tags[k]))
				    : st_xstrdup(tags[k]);
			const char *tag = colon ? colon + 1 : "<none>";
			const char *row[] = { repo, tag, id, since, size, shared, unique, "0" };
			st_table_add(t, row);
		}
		st_store_strings_free(tags, nt);
	}
	st_store_image_list_free(imgs, n);
	return rc;
}

/* docker system df -v's volumes: name, the containers using it, the size of its files. */
static int print_volumes(struct st_store *s, FILE *out, struct st_error **err)
{
	struct st_volume **v = NULL;
	size_t n = 0;
	if (st_volume_list(s, &v, &n, err) < 0)
		return -1;
	struct st_table t;
	st_table_init(&t, 3);
	const char *head[] = { "VOLUME NAME", "LINKS", "SIZE" };
	st_table_add(&t, head);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint64_t bytes = 0;
		char **ids = NULL;
		size_t users = 0;
		rc = st_volume_size(v[i], &bytes, err);
		if (rc == 0)
			rc = st_volume_users(s, st_volume_name(v[i]), &ids, &users, err);
		st_strv_free(ids, users);
		st_autofree char *links = st_xasprintf("%zu", users);
		st_autofree char *size = st_fmt_size(bytes);
		const char *row[] = { st_volume_name(v[i]), links, size };
		st_table_add(&t, row);
	}
	if (rc == 0)
		st_table_print(&t, out);
	st_table_release(&t);
	st_volume_list_free(v, n);
	return rc;
}

/* docker system df -v: each kind of object, one table each. */
static int print_verbose(struct st_store *s, const struct st_builder_cache_usage *u, FILE *out,
			 struct st_error **err)
{
	struct st_table t;
	st_table_init(&t, 8);
	const char *ih[] = { "REPOSITORY", "TAG",	  "IMAGE ID",	 "CREATED",
			     "SIZE",	   "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS" };
	st_table_add(&t, ih);
	int rc = image_rows(s, &t, err);
	if (rc == 0) {
		fputs("Images space usage:\n\n", out);
		st_table_print(&t, out);
		/* NEEDSWORK: the containers are not listed here yet */
		fputs("\nContainers space usage:\n\nCONTAINER ID   IMAGE     COMMAND   "
		      "LOCAL VOLUMES   SIZE      CREATED   STATUS    NAMES\n",
		      out);
		fputs("\nLocal Volumes space usage:\n\n", out);
		rc = print_volumes(s, out, err);
		st_autofree char *total = st_fmt_size(u->size);
		fprintf(out, "\nBuild cache usage: %s\n\n", total);
	}
	st_table_release(&t);
	if (rc < 0)
		return -1;
	st_table_init(&t, 6);
	const char *ch[] = {
		"CACHE ID", "CACHE TYPE", "SIZE", "LAST USED", "SHARED", "RECLAIMABLE"
	};
	st_table_add(&t, ch);
	time_t now = time(NULL);
	for (size_t i = 0; i < u->records; i++) {
		const struct st_builder_cache_record *r = &u->v[i];
		st_autofree char *id = st_xstrndup(r->id, 12);
		st_autofree char *sz = st_fmt_size(r->size);
		long long ago = (long long)now - (long long)(r->last_used / 1000000);
		st_autofree char *d = st_fmt_duration(ago < 0 ? 0 : ago);
		st_autofree char *when = st_xasprintf("%s ago", d);
		const char *row[] = { id,   r->type, sz,
				      when, "false", r->reclaimable ? "true" : "false" };
		st_table_add(&t, row);
	}
	st_table_print(&t, out);
	st_table_release(&t);
	return 0;
}

int cmd_system_df(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *fmt =
	    "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
	bool verbose = false;
	int c;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			fmt = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			fputs("Usage: strata system df [OPTIONS]\n\nShow disk usage\n\nOptions:\n"
			      "      --format string   Format output using a Go template\n"
			      "  -v, --verbose         Show detailed information on space usage\n\n"
			      "The build cache counts the steps' records and the RUN\n"
			      "--mount=type=cache directories, as 'strata builder du' does.\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata system df --help'");
		}
	}
	json_t *header =
	    json_pack("{s:s, s:s}", "TotalCount", "TOTAL", "Reclaimable", "RECLAIMABLE");
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
	/* The build cache as builder du sees it, so that the two agree. */
	struct st_builder_cache_usage u;
	if (st_builder_cache_du(s, NULL, &u, err) < 0)
		return -1;
	if (verbose) {
		rc = print_verbose(s, &u, cli->out, err);
		st_builder_cache_usage_release(&u);
		return rc;
	}
	size_t cache_active = 0;
	for (size_t i = 0; i < u.records; i++)
		cache_active += !u.v[i].reclaimable;
	struct st_container **ctrs = NULL;
	size_t nc = 0, running = 0, used_images = 0;
	uint64_t ctr_size = 0, ctr_reclaim = 0;
	if (st_container_list(s, &ctrs, &nc, err) < 0) {
		st_builder_cache_usage_release(&u);
		return -1;
	}
	for (size_t i = 0; i < nc && rc == 0; i++) {
		struct st_container_state st;
		uint64_t sz = 0;
		rc = st_container_state(s, ctrs[i], &st, err);
		if (rc == 0)
			rc = st_container_size(ctrs[i], &sz, err);
		if (rc < 0)
			break;
		ctr_size += sz;
		if (st.status == ST_CONTAINER_RUNNING)
			running++;
		else
			ctr_reclaim += sz;
		st_container_state_release(&st);
		/* Docker counts an image as active when a container uses it. */
		bool first = true;
		for (size_t k = 0; k < i && first; k++)
			first =
			    strcmp(st_container_image_id(ctrs[k]), st_container_image_id(ctrs[i]));
		used_images += first;
	}
	st_container_list_free(ctrs, nc);
	if (rc < 0) {
		st_builder_cache_usage_release(&u);
		return -1;
	}
	/* Volumes: active when a container uses one, reclaimable otherwise, as Docker counts. */
	struct st_volume **vols = NULL;
	size_t nv = 0, vol_active = 0;
	uint64_t vol_size = 0, vol_reclaim = 0;
	if (st_volume_list(s, &vols, &nv, err) < 0) {
		st_builder_cache_usage_release(&u);
		return -1;
	}
	for (size_t i = 0; i < nv && rc == 0; i++) {
		uint64_t sz = 0;
		char **ids = NULL;
		size_t users = 0;
		rc = st_volume_size(vols[i], &sz, err);
		if (rc == 0)
			rc = st_volume_users(s, st_volume_name(vols[i]), &ids, &users, err);
		st_strv_free(ids, users);
		vol_size += sz;
		vol_active += users > 0;
		vol_reclaim += users ? 0 : sz;
	}
	st_volume_list_free(vols, nv);
	if (rc < 0) {
		st_builder_cache_usage_release(&u);
		return -1;
	}
	json_t *rows[] = {
		row("Images", df.images, used_images, df.images_size, df.images_size),
		row("Containers", nc, running, ctr_size, ctr_reclaim),
		row("Local Volumes", nv, vol_active, vol_size, vol_reclaim),
		row("Build Cache", u.records, cache_active, u.size, u.reclaimable),
	};
	st_builder_cache_usage_release(&u);
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
