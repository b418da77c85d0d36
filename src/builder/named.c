/*
 * named.c: named contexts (--build-context NAME=...), as BuildKit's dockerui client resolves
 * them. A name is compared normalised (BuildKit parses it as a reference and keeps its familiar
 * form without ":latest"), so FROM alpine, FROM alpine:latest and FROM docker.io/library/alpine
 * all find a context named alpine. Each context is resolved once per build, by the first stage
 * that needs it, into the state a stage would start from: an image's config and layers, or a
 * directory's (or a git repository's) files as one layer on BuildKit's empty image.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive/archive.h"
#include "builder/internal.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* ---- parsing --build-context ---- */

/* BuildKit's key for a name: the familiar reference without ":latest". New, or NULL. */
static char *name_key(const char *name, struct st_error **err)
{
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_parse(name, &ref, err) < 0)
		return NULL;
	char *fam = st_image_ref_familiar(ref);
	size_t n = strlen(fam);
	if (!ref->digest && n > 7 && !strcmp(fam + n - 7, ":latest"))
		fam[n - 7] = '\0';
	return fam;
}

static int parse_layout(const char *spec, const char *v, struct st_builder_context *out,
			struct st_error **err)
{
	/* DIR@sha256:..., else DIR:TAG where the ':' comes after the last '/'. */
	const char *at = strrchr(v, '@');
	const char *slash = strrchr(v, '/');
	const char *colon = strrchr(v, ':');
	if (at) {
		struct st_digest d;
		if (st_digest_parse(at + 1, &d, err) < 0)
			return st_err_wrap(err, "build context '%s'", spec);
		out->value = st_xstrndup(v, (size_t)(at - v));
		out->digest = st_xstrdup(d.str);
	} else if (colon && (!slash || colon > slash)) {
		out->value = st_xstrndup(v, (size_t)(colon - v));
		out->tag = st_xstrdup(colon + 1);
	} else {
		out->value = st_xstrdup(v);
		out->tag = st_xstrdup("latest");
	}
	if (!*out->value || (out->tag && !*out->tag))
		return st_err(err, ST_E_INVALID,
			      "build context '%s': expected oci-layout://DIR[:TAG|@DIGEST]", spec);
	return 0;
}

int st_builder_context_parse(const char *spec, struct st_builder_context *out,
			     struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	const char *eq = strchr(spec, '=');
	if (!eq || eq == spec || !eq[1])
		return st_err(err, ST_E_INVALID, "build context '%s': expected NAME=VALUE", spec);
	out->name = st_xstrndup(spec, (size_t)(eq - spec));
	out->key = name_key(out->name, err);
	if (!out->key)
		return st_err_wrap(err, "build context '%s': invalid name '%s'", spec, out->name);
	const char *v = eq + 1;
	if (!strncmp(v, "docker-image://", 15)) {
		out->kind = ST_BUILDER_CONTEXT_IMAGE;
		st_auto(st_image_ref) struct st_image_ref *ref = NULL;
		if (st_image_ref_parse(v + 15, &ref, err) < 0)
			return st_err_wrap(err, "build context '%s'", spec);
		out->value = st_xstrdup(v + 15);
		return 0;
	}
	if (!strncmp(v, "oci-layout://", 13)) {
		out->kind = ST_BUILDER_CONTEXT_OCI_LAYOUT;
		if (parse_layout(spec, v + 13, out, err) < 0)
			return -1;
		struct stat st;
		if (stat(out->value, &st) < 0 || !S_ISDIR(st.st_mode))
			return st_err(err, ST_E_INVALID,
				      "build context '%s': '%s' is not an OCI layout directory",
				      spec, out->value);
		return 0;
	}
	if (builder_git_is_url(v)) {
		out->kind = ST_BUILDER_CONTEXT_GIT;
		struct git_source g;
		if (builder_git_parse(v, &g, err) < 0)
			return st_err_wrap(err, "build context '%s'", spec);
		builder_git_source_release(&g);
		out->value = st_xstrdup(v);
		return 0;
	}
	if (strstr(v, "://") || !strncmp(v, "target:", 7) || !strncmp(v, "input:", 6))
		return st_err(err, ST_E_INVALID,
			      "build context '%s': unsupported source: use a directory, a git URL, "
			      "docker-image://REF or oci-layout://DIR[:TAG|@DIGEST]",
			      spec);
	out->kind = ST_BUILDER_CONTEXT_DIR;
	out->value = st_xstrdup(v);
	struct stat st;
	if (stat(v, &st) < 0 || !S_ISDIR(st.st_mode))
		return st_err(err, ST_E_INVALID, "build context '%s': '%s' is not a directory",
			      spec, v);
	return 0;
}

void st_builder_context_release(struct st_builder_context *c)
{
	free(c->name);
	free(c->key);
	free(c->value);
	free(c->tag);
	free(c->digest);
	memset(c, 0, sizeof(*c));
}

/* ---- resolving them ---- */

struct named_slot {
	bool done;
	struct build_state st;
};

struct build_named {
	const struct st_builder_context *v; /* the build's options' */
	size_t n;
	struct named_slot *slots;
	pthread_mutex_t lock; /* one resolution at a time: two stages wait for one pull */
};

struct build_named *builder_named_new(const struct st_builder_opts *o)
{
	struct build_named *n = st_xcalloc(1, sizeof(*n));
	n->v = o->contexts;
	n->n = o->n_contexts;
	n->slots = st_xcalloc(n->n + 1, sizeof(*n->slots));
	pthread_mutex_init(&n->lock, NULL);
	return n;
}

void builder_named_free(struct build_named *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		builder_state_release(&n->slots[i].st);
	free(n->slots);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

/*
 * The context 'name' names: its index, or -1. The last given wins, as flags do. "scratch" and
 * "context" are never looked up (BuildKit reserves them, in any case): what FROM scratch
 * means cannot be changed from the command line.
 */
static ssize_t lookup(const struct build_named *n, const char *name)
{
	if (!strcasecmp(name, "scratch") || !strcasecmp(name, "context"))
		return -1;
	struct st_error *perr = NULL;
	st_autofree char *key = name_key(name, &perr);
	st_error_free(perr);
	for (size_t i = n->n; i-- > 0;)
		if (key ? !strcmp(n->v[i].key, key) : !strcasecmp(n->v[i].name, name))
			return (ssize_t)i;
	return -1;
}

bool builder_named_has(const struct build_named *n, const char *name)
{
	return lookup(n, name) >= 0;
}

/* The entry of the layout's index.json the context names: its manifest digest. */
static int layout_entry(const struct st_builder_context *c, struct st_digest *out,
			struct st_error **err)
{
	st_autofree char *path = st_path_join(c->value, "index.json");
	struct st_buf text = ST_BUF_INIT;
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	int rc = st_read_file(path, &text, err);
	if (rc == 0)
		rc = st_image_index_parse(text.data, text.len, &idx, err);
	st_buf_release(&text);
	if (rc < 0)
		return st_err_wrap(err, "read '%s'", path);
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct st_image_descriptor *d = &idx->manifests[i];
		const char *tag =
		    st_image_map_get(&d->annotations, "org.opencontainers.image.ref.name");
		if (c->digest ? !strcmp(d->digest.str, c->digest) : tag && !strcmp(tag, c->tag)) {
			*out = d->digest;
			return 0;
		}
	}
	return st_err(err, ST_E_NOTFOUND, "'%s' has no image %s%s", c->value,
		      c->digest ? "" : "tagged ", c->digest ? c->digest : c->tag);
}

/* The store's image whose manifest is 'digest': 1 and *out (new), or 0. */
static int image_by_manifest(struct st_store *s, const struct st_digest *digest,
			     struct st_store_image **out, struct st_error **err)
{
	struct st_store_image **v = NULL;
	size_t n = 0;
	if (st_store_image_list(s, 0, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && !*out; i++) {
		if (st_digest_equal(&v[i]->manifest_digest, digest)) {
			*out = v[i];
			v[i] = NULL;
		}
	}
	st_store_image_list_free(v, n);
	return *out != NULL;
}

static bool in_list(struct st_store_image **v, size_t n, const struct st_digest *id)
{
	for (size_t i = 0; i < n; i++)
		if (st_digest_equal(&v[i]->id, id))
			return true;
	return false;
}

/* Images a layout's load recorded that the store did not have: the build forgets them. */
struct loaded {
	struct st_digest *ids;
	size_t n;
};

/*
 * The image of the layout's chosen entry, loaded into the store unless it is there already.
 * 'fresh' receives the images the load added (the whole layout is loaded), which the build
 * removes once it holds the layers it needs: BuildKit keeps nothing of a layout it read.
 */
static int resolve_layout(struct stage_run *r, const struct st_builder_context *c,
			  struct st_store_image **img, struct loaded *fresh, struct st_error **err)
{
	struct st_digest want;
	if (layout_entry(c, &want, err) < 0)
		return -1;
	int found = image_by_manifest(r->s, &want, img, err);
	if (found != 0)
		return found < 0 ? -1 : 0;
	struct st_store_image **before = NULL;
	size_t nbefore = 0;
	if (st_store_image_list(r->s, 0, &before, &nbefore, err) < 0)
		return -1;
	/* Every blob is verified on the way in, as for strata load. */
	struct st_archive_load_result res = { 0 };
	int rc = st_archive_load_path(r->s, c->value, &res, err);
	for (size_t i = 0; rc == 0 && i < res.n; i++) {
		if (in_list(before, nbefore, &res.v[i].id))
			continue;
		fresh->ids = st_xrealloc(fresh->ids, (fresh->n + 1) * sizeof(*fresh->ids));
		fresh->ids[fresh->n++] = res.v[i].id;
	}
	st_archive_load_result_release(&res);
	st_store_image_list_free(before, nbefore);
	if (rc == 0 && (found = image_by_manifest(r->s, &want, img, err)) == 0)
		rc = st_err(err, ST_E_NOTFOUND, "manifest %s was not loaded (an index?)", want.str);
	return found < 0 ? -1 : rc;
}

/* Remove the images 'fresh' lists (and any name the load gave them), 'img''s layers leased. */
static int forget_loaded(struct stage_run *r, const struct st_store_image *img,
			 const struct loaded *fresh, struct st_error **err)
{
	for (size_t i = 0; r->lease && i < img->n_layers; i++)
		if (st_store_lease_add(r->lease, img->layers[i].digest.str, err) < 0)
			return -1;
	for (size_t i = 0; i < fresh->n; i++) {
		struct st_local_removal rm = { 0 };
		struct st_error *rerr = NULL;
		/* Two names of one image give its id twice: the second finds nothing. */
		if (st_local_rmi(r->s, fresh->ids[i].str, ST_LOCAL_RMI_FORCE, &rm, &rerr) < 0 &&
		    rerr->kind != ST_E_NOTFOUND) {
			*err = rerr;
			st_local_removal_release(&rm);
			return -1;
		}
		st_error_free(rerr);
		st_local_removal_release(&rm);
	}
	return 0;
}

/*
 * The files of 'dir' as the one layer of BuildKit's empty image, keyed by their content; or
 * by 'key' (hex), under which the state is recorded then, to be found again without them.
 */
static int dir_state(struct stage_run *r, const char *dir, const char *key, struct build_state *st,
		     struct st_error **err)
{
	builder_state_scratch(r, st);
	struct st_layer_writer_opts lo;
	builder_layer_opts(r, &lo);
	st_auto(st_local_layer_writer) struct st_local_layer_writer *w = NULL;
	struct st_store_layer layer = { 0 };
	if (st_local_layer_writer_new(r->s, r->lease, &lo, &w, err) < 0 ||
	    st_layer_writer_add_tree(st_local_layer_writer_layer(w), dir, NULL, 0, err) < 0 ||
	    st_local_layer_writer_commit(w, &layer, err) < 0)
		return -1;
	int rc = r->lease ? st_store_lease_add(r->lease, layer.diff_id.str, err) : 0;
	if (rc == 0) {
		st_image_config_add_diff_id(st->cfg, &layer.diff_id);
		builder_state_add_layer(st, &layer);
		/* Keyed by content: the same files hit the same cache, wherever they are. */
		st_autofree char *t = st_xasprintf("context dir %s", layer.diff_id.str);
		struct st_digest d;
		st_digest_of(t, strlen(t), &d);
		snprintf(st->key, sizeof(st->key), "%s", key ? key : st_digest_hex(&d));
	}
	if (rc == 0 && key)
		rc = builder_cache_put(r->s, st, &layer, err);
	st_store_layer_release(&layer);
	return rc;
}

/*
 * A git repository's tree at the commit its ref names now, as ADD fetches it. Keyed by the
 * commit (and what else picks the tree), as BuildKit keys a git source: while the ref stays,
 * the layer made the first time is taken again without a fetch, and the steps on it hit.
 */
static int resolve_git(struct stage_run *r, const struct st_builder_context *c,
		       struct build_state *st, struct st_error **err)
{
	struct git_source g;
	if (builder_git_parse(c->value, &g, err) < 0)
		return -1;
	const struct st_builder_opts *bo = builder_opts(r);
	const struct builder_ssh *ssh = builder_ssh_of(r);
	bool epoch = bo->flags & ST_BUILDER_SOURCE_DATE_EPOCH;
	struct git_opts o = {
		.ssh_sock = g.ssh && ssh ? builder_ssh_socket(ssh, "default") : NULL,
		.keep_git_dir = g.keep_git_dir == 1,
		.mtime_commit = g.mtime_commit >= 0 ? g.mtime_commit == 1 : epoch,
	};
	st_autofree char *auth = NULL, *commit = NULL, *dir = NULL, *tree = NULL;
	st_autoclose int lock = -1;
	int rc = 0;
	if (g.ssh && !o.ssh_sock)
		rc = st_err(err, ST_E_INVALID,
			    "an ssh git URL needs an SSH agent: build with --ssh default");
	if (rc == 0)
		rc = builder_git_auth(bo, &g, &auth, err);
	o.auth_header = auth;
	if (rc == 0)
		rc = builder_git_resolve(&g, &o, &commit, err);
	if (rc == 0 && g.checksum && strncmp(commit, g.checksum, strlen(g.checksum)))
		rc = st_err(err, ST_E_DIGEST, "checksum mismatch: expected commit %s, got %s",
			    g.checksum, commit);
	char key[ST_DIGEST_HEX_LEN + 1] = "";
	int hit = 0;
	if (rc == 0) {
		st_autofree char *t =
		    st_xasprintf("context git %s %s %s %d %d", g.remote, commit,
				 g.subdir ? g.subdir : "", o.keep_git_dir, o.mtime_commit);
		struct st_digest d;
		st_digest_of(t, strlen(t), &d);
		snprintf(key, sizeof(key), "%s", st_digest_hex(&d));
		struct build_state empty = { 0 };
		builder_state_scratch(r, &empty);
		hit = builder_cache_get(r->s, key, &empty, st, err);
		builder_state_release(&empty);
		rc = hit < 0 ? -1 : 0;
	}
	if (rc == 0 && !hit)
		rc = st_store_tmp_mkdir(r->s, &dir, &lock, err);
	if (rc == 0 && !hit)
		rc = builder_git_checkout(&g, commit, dir, &o, &tree, err);
	if (rc == 0 && !hit)
		rc = dir_state(r, tree, key, st, err);
	struct st_error *e = NULL;
	if (dir && st_rm_rf(dir, &e) < 0)
		st_error_free(e); /* gc sweeps what is left in tmp/ */
	builder_git_source_release(&g);
	return rc;
}

static int resolve(struct stage_run *r, const struct st_builder_context *c, struct build_state *st,
		   struct st_error **err)
{
	if (c->kind == ST_BUILDER_CONTEXT_DIR)
		return dir_state(r, c->value, NULL, st, err);
	if (c->kind == ST_BUILDER_CONTEXT_GIT)
		return resolve_git(r, c, st, err);
	st_auto(st_store_image) struct st_store_image *img = NULL;
	struct loaded fresh = { 0 };
	int rc = c->kind == ST_BUILDER_CONTEXT_IMAGE ? builder_image_find(r, c->value, &img, err)
						     : resolve_layout(r, c, &img, &fresh, err);
	if (rc == 0)
		rc = builder_state_from_image(r, img, st, err);
	if (rc == 0 && fresh.n)
		rc = forget_loaded(r, img, &fresh, err);
	free(fresh.ids);
	return rc;
}

int builder_named_state(struct stage_run *r, const char *name, const struct build_state **st,
			struct st_error **err)
{
	struct build_named *n = builder_named(r);
	ssize_t i = lookup(n, name);
	if (i < 0)
		return 0;
	pthread_mutex_lock(&n->lock);
	struct named_slot *slot = &n->slots[i];
	int rc = 0;
	if (!slot->done) {
		rc = resolve(r, &n->v[i], &slot->st, err);
		if (rc < 0) {
			builder_state_release(&slot->st);
			st_err_wrap(err, "build context '%s'", n->v[i].name);
		}
		slot->done = rc == 0;
	}
	pthread_mutex_unlock(&n->lock);
	if (rc < 0)
		return -1;
	*st = &slot->st;
	return 1;
}
