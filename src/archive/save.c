/* save.c: images to docker-archive, oci-archive and OCI layout directories. */
#include "archive/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/internal.h"
#include "image/image.h"
#include "local/local.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* One image to save and the names it is saved under. */
struct item {
	struct st_store_image *img;
	bool borrowed;		/* 'img' is the caller's (st_archive_save_opts.image) */
	struct st_buf manifest; /* the stored manifest's bytes, written as they are */
	struct st_image_manifest *m;
	char **names; /* normalised ("docker.io/library/busybox:latest"); none: untagged */
	size_t n_names;
	struct st_digest sigs; /* its signature manifest (cosign's), or "" */
	size_t sigs_size;
	/* The index of platforms its names point at (a multi-platform image), or "": saved
	 * whole, with every platform's manifest, config and layers. */
	struct st_digest index;
	struct st_buf index_bytes;
};

struct saver {
	struct st_store *s;
	struct st_store_lease *lease;
	struct item *v;
	size_t n;
	const char *as_name; /* an OCI layout's ref.name for the one image (as_name option) */
	char **blobs;	     /* every blob digest to write, sorted, once each */
	size_t n_blobs;
	char **layers; /* the images' layers among 'blobs': reported as they are written */
	size_t n_layers;
	const struct st_events *events;
	char *buf;
};

static void saver_release(struct saver *c)
{
	for (size_t i = 0; i < c->n; i++) {
		if (!c->v[i].borrowed)
			st_store_image_free(c->v[i].img);
		st_buf_release(&c->v[i].manifest);
		st_buf_release(&c->v[i].index_bytes);
		st_image_manifest_free(c->v[i].m);
		for (size_t k = 0; k < c->v[i].n_names; k++)
			free(c->v[i].names[k]);
		free(c->v[i].names);
	}
	free(c->v);
	for (size_t i = 0; i < c->n_blobs; i++)
		free(c->blobs[i]);
	free(c->blobs);
	for (size_t i = 0; i < c->n_layers; i++)
		free(c->layers[i]);
	free(c->layers);
	free(c->buf);
	st_store_lease_end(c->lease);
}

/* The item of 'img' as itself or, with an 'index' (may be NULL), as that index. */
static struct item *item_get(struct saver *c, struct st_store_image *img,
			     const struct st_digest *index)
{
	const char *want = index ? index->str : "";
	for (size_t i = 0; i < c->n; i++) {
		if (st_digest_equal(&c->v[i].img->id, &img->id) &&
		    !strcmp(c->v[i].index.str, want)) {
			st_store_image_free(img);
			return &c->v[i];
		}
	}
	c->v = st_xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	struct item *it = &c->v[c->n++];
	*it = (struct item){ .img = img, .manifest = ST_BUF_INIT, .index_bytes = ST_BUF_INIT };
	if (index)
		it->index = *index;
	return it;
}

static void item_name(struct item *it, const char *name)
{
	if (!name)
		return;
	for (size_t i = 0; i < it->n_names; i++)
		if (!strcmp(it->names[i], name))
			return;
	it->names = st_xrealloc(it->names, (it->n_names + 1) * sizeof(char *));
	it->names[it->n_names++] = st_xstrdup(name);
}

static int add_image(struct saver *c, const char *id, const char *name, struct st_error **err)
{
	struct st_store_image *img = NULL;
	struct st_digest index;
	int has_index = st_local_ref_index(c->s, name, &index, err);
	if (has_index < 0 || st_store_image_get(c->s, id, &img, err) < 0)
		return -1;
	item_name(item_get(c, img, has_index ? &index : NULL), name);
	return 0;
}

/*
 * Docker's rules: "busybox" (a name without tag) saves every tag of the repository;
 * "busybox:1" that tag; an id or name@digest the image, untagged.
 */
static int resolve(struct saver *c, const char *name, struct st_error **err)
{
	struct st_error *perr = NULL;
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_parse_flags(name, ST_IMAGE_REF_NO_DEFAULT_TAG, &ref, &perr) == 0 &&
	    !ref->digest) {
		if (!ref->tag) {
			st_autofree char *repo = st_image_ref_repository(ref);
			size_t rl = strlen(repo);
			struct st_store_ref *refs = NULL;
			size_t n = 0;
			if (st_store_ref_list(c->s, NULL, &refs, &n, err) < 0)
				return -1;
			size_t found = 0;
			int rc = 0;
			for (size_t i = 0; i < n && rc == 0; i++) {
				if (strncmp(refs[i].name, repo, rl) != 0 || refs[i].name[rl] != ':')
					continue;
				rc = add_image(c, refs[i].image_id.str, refs[i].name, err);
				found++;
			}
			st_store_refs_free(refs, n);
			if (rc < 0 || found)
				return rc;
		} else {
			st_autofree char *full = st_image_ref_string(ref);
			struct st_store_ref r = { 0 };
			if (st_store_ref_get(c->s, full, &r, &perr) == 0) {
				int rc = add_image(c, r.image_id.str, full, err);
				st_store_ref_release(&r);
				return rc;
			}
			if (perr->kind != ST_E_NOTFOUND) {
				*err = perr;
				return -1;
			}
		}
	}
	st_error_clear(&perr);
	/* An id, a name@digest, or a name st_local_image_find() knows better. */
	struct st_store_image *img = NULL;
	if (st_local_image_find(c->s, name, &img, err) < 0)
		return -1;
	item_get(c, img, NULL);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_blob(struct saver *c, const struct st_digest *d)
{
	c->blobs = st_xrealloc(c->blobs, (c->n_blobs + 1) * sizeof(char *));
	c->blobs[c->n_blobs++] = st_xstrdup(d->str);
}

static void add_layer(struct saver *c, const struct st_digest *d)
{
	add_blob(c, d);
	c->layers = st_xrealloc(c->layers, (c->n_layers + 1) * sizeof(*c->layers));
	c->layers[c->n_layers++] = st_xstrdup(d->str);
}

static bool is_layer(const struct saver *c, const char *digest)
{
	for (size_t i = 0; i < c->n_layers; i++)
		if (!strcmp(c->layers[i], digest))
			return true;
	return false;
}

/*
 * The image saved under o->as_name only. A docker-archive needs it as a reference; an OCI
 * ref.name is any string, kept as given, and also names the image in full when it parses.
 */
static int prepare_as_name(struct saver *c, const struct st_archive_save_opts *o,
			   struct st_error **err)
{
	struct item *it = &c->v[0];
	for (size_t k = 0; k < it->n_names; k++)
		free(it->names[k]);
	it->n_names = 0;
	if (o->format != ST_ARCHIVE_DOCKER)
		c->as_name = o->as_name;
	char *full = NULL;
	struct st_error *perr = NULL;
	if (st_local_ref_normalize(o->as_name, &full, &perr) < 0) {
		if (o->format == ST_ARCHIVE_DOCKER) {
			*err = perr;
			return st_err_wrap(err, "save as '%s'", o->as_name);
		}
		st_error_free(perr);
		return 0;
	}
	item_name(it, full);
	free(full);
	return 0;
}

/*
 * The image's signatures go into an OCI layout as one more index entry, named by cosign's tag
 * (which `strata load`, skopeo's oci:DIR:sha256-<hex>.sig and cosign find them by). Docker's
 * manifest.json has no place for them: a docker-archive goes without.
 */
static int add_sigs(struct saver *c, struct item *it, struct st_error **err)
{
	struct st_error *e = NULL;
	if (st_store_artifact_get(c->s, it->img->manifest_digest.str, ST_MT_COSIGN_SIGNATURES,
				  &it->sigs, &e) < 0) {
		if (e->kind != ST_E_NOTFOUND) {
			*err = e;
			return -1;
		}
		st_error_free(e);
		return 0;
	}
	struct st_buf b = ST_BUF_INIT;
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	int rc = st_store_read_blob(c->s, it->sigs.str, &b, err);
	if (rc == 0)
		rc = st_image_manifest_parse(b.data, b.len, &m, err);
	if (rc == 0) {
		it->sigs_size = b.len;
		add_blob(c, &it->sigs);
		add_blob(c, &m->config.digest);
		for (size_t k = 0; k < m->n_layers; k++)
			add_blob(c, &m->layers[k].digest);
	}
	st_buf_release(&b);
	if (rc < 0)
		return st_err_wrap(err, "image %s: signatures %s", it->img->id.str, it->sigs.str);
	return 0;
}

/* Every platform of the item's index: the index, and each manifest with its blobs. */
static int add_index(struct saver *c, struct item *it, struct st_error **err)
{
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	int rc = st_store_read_blob(c->s, it->index.str, &it->index_bytes, err);
	if (rc == 0)
		rc = st_image_index_parse(it->index_bytes.data, it->index_bytes.len, &idx, err);
	if (rc == 0)
		add_blob(c, &it->index);
	for (size_t i = 0; rc == 0 && i < idx->n_manifests; i++) {
		struct st_buf b = ST_BUF_INIT;
		st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
		const struct st_digest *d = &idx->manifests[i].digest;
		rc = st_store_read_blob(c->s, d->str, &b, err);
		if (rc == 0)
			rc = st_image_manifest_parse(b.data, b.len, &m, err);
		st_buf_release(&b);
		if (rc < 0)
			break;
		add_blob(c, d);
		add_blob(c, &m->config.digest);
		for (size_t k = 0; k < m->n_layers; k++)
			add_layer(c, &m->layers[k].digest);
	}
	if (rc < 0)
		return st_err_wrap(err, "index %s", it->index.str);
	return 0;
}

static int prepare(struct saver *c, struct st_store *s, const struct st_archive_save_opts *o,
		   struct st_error **err)
{
	c->s = s;
	c->events = &o->events;
	if (o->n_names == 0 && !o->image)
		return st_err(err, ST_E_INVALID, "save: no image given");
	if (o->image) {
		c->v = st_xcalloc(1, sizeof(*c->v));
		c->v[0] = (struct item){ .img = (struct st_store_image *)o->image,
					 .borrowed = true,
					 .manifest = ST_BUF_INIT,
					 .index_bytes = ST_BUF_INIT };
		c->n = 1;
		for (size_t i = 0; i < o->n_image_names; i++)
			item_name(&c->v[0], o->image_names[i]);
		if (o->image_index)
			c->v[0].index = *o->image_index;
	}
	for (size_t i = 0; i < o->n_names; i++)
		if (resolve(c, o->names[i], err) < 0)
			return -1;
	if (o->as_name && c->n != 1)
		return st_err(err, ST_E_INVALID, "save: one name for %zu images", c->n);
	if (o->as_name && prepare_as_name(c, o, err) < 0)
		return -1;
	/* Keep gc away from what we read, in case an image is removed while we write. */
	if (st_store_lease_begin(s, &c->lease, err) < 0)
		return -1;
	for (size_t i = 0; i < c->n; i++) {
		struct item *it = &c->v[i];
		if (st_store_read_blob(s, it->img->manifest_digest.str, &it->manifest, err) < 0 ||
		    st_image_manifest_parse(it->manifest.data, it->manifest.len, &it->m, err) < 0)
			return st_err_wrap(err, "image %s: manifest", it->img->id.str);
		add_blob(c, &it->m->config.digest);
		add_blob(c, &it->img->manifest_digest);
		for (size_t k = 0; k < it->m->n_layers; k++)
			add_layer(c, &it->m->layers[k].digest);
		if (o->format != ST_ARCHIVE_DOCKER && add_sigs(c, it, err) < 0)
			return -1;
		if (it->index.str[0] && add_index(c, it, err) < 0)
			return -1;
	}
	qsort(c->blobs, c->n_blobs, sizeof(char *), cmp_str);
	size_t k = 0;
	for (size_t i = 0; i < c->n_blobs; i++) {
		if (k && !strcmp(c->blobs[k - 1], c->blobs[i])) {
			free(c->blobs[i]);
			continue;
		}
		c->blobs[k++] = c->blobs[i];
	}
	c->n_blobs = k;
	for (size_t i = 0; i < c->n_blobs; i++)
		if (st_store_lease_add(c->lease, c->blobs[i], err) < 0)
			return -1;
	c->buf = st_xmalloc(ST_ARCHIVE_CHUNK);
	return 0;
}

/* ---- the JSON documents ---- */

static char *familiar(const char *full)
{
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	struct st_error *perr = NULL;
	if (st_image_ref_parse(full, &ref, &perr) < 0) {
		st_error_free(perr);
		return st_xstrdup(full);
	}
	return st_image_ref_familiar(ref);
}

/* The tag of a full name, or NULL: what Docker and containerd put in an OCI ref.name. */
static char *tag_of(const char *full)
{
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	struct st_error *perr = NULL;
	if (st_image_ref_parse(full, &ref, &perr) < 0) {
		st_error_free(perr);
		return NULL;
	}
	return ref->tag ? st_xstrdup(ref->tag) : NULL;
}

static void json_index(const struct saver *c, struct st_buf *out)
{
	st_auto(st_image_index) struct st_image_index *idx = st_image_index_new();
	for (size_t i = 0; i < c->n; i++) {
		const struct item *it = &c->v[i];
		struct st_image_descriptor d = { 0 };
		d.media_type = it->img->manifest_media_type ? it->img->manifest_media_type
							    : (char *)ST_MT_OCI_MANIFEST;
		d.digest = it->img->manifest_digest;
		d.size = (int64_t)it->manifest.len;
		if (it->index.str[0]) {
			/* A multi-platform image is its index, as BuildKit's oci exporter and
			 * Docker's containerd store write one. */
			d.media_type = (char *)ST_MT_OCI_INDEX;
			d.digest = it->index;
			d.size = (int64_t)it->index_bytes.len;
		}
		if (c->as_name) {
			struct st_image_descriptor e = d;
			e.annotations = (struct st_image_map){ 0 };
			st_image_map_set(&e.annotations, "org.opencontainers.image.ref.name",
					 c->as_name);
			st_image_index_add(idx, &e);
			st_image_map_release(&e.annotations);
			continue;
		}
		if (!it->n_names) {
			st_image_index_add(idx, &d);
			continue;
		}
		/* One entry per name, as Docker writes them; the annotations say which. ref.name
		 * is the tag alone ("latest"), as docker save and containerd write it and as the
		 * OCI spec's grammar for it (no ':' or repository) wants. */
		for (size_t k = 0; k < it->n_names; k++) {
			st_autofree char *tag = tag_of(it->names[k]);
			struct st_image_descriptor e = d;
			e.annotations = (struct st_image_map){ 0 };
			st_image_map_set(&e.annotations, "io.containerd.image.name", it->names[k]);
			if (tag)
				st_image_map_set(&e.annotations,
						 "org.opencontainers.image.ref.name", tag);
			st_image_index_add(idx, &e);
			st_image_map_release(&e.annotations);
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct item *it = &c->v[i];
		if (!it->sigs.str[0])
			continue;
		struct st_image_descriptor d = { .media_type = (char *)ST_MT_OCI_MANIFEST,
						 .digest = it->sigs,
						 .size = (int64_t)it->sigs_size };
		st_autofree char *tag = st_image_sig_tag(&it->img->manifest_digest);
		st_image_map_set(&d.annotations, "org.opencontainers.image.ref.name", tag);
		st_image_index_add(idx, &d);
		st_image_map_release(&d.annotations);
	}
	st_image_index_serialize(idx, out);
}

static char *blob_path(const struct st_digest *d)
{
	return st_xasprintf("blobs/sha256/%s", st_digest_hex(d));
}

static void json_dump(json_t *o, struct st_buf *out)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s)
		abort(); /* jansson fails only without memory */
	st_buf_adds(out, s);
	free(s);
}

/* Docker's manifest.json: [{"Config","RepoTags","Layers"}], paths into the OCI layout. */
static void json_docker_manifest(const struct saver *c, struct st_buf *out)
{
	json_t *a = json_array();
	for (size_t i = 0; i < c->n; i++) {
		const struct item *it = &c->v[i];
		json_t *o = json_object();
		st_autofree char *cfg = blob_path(&it->m->config.digest);
		json_object_set_new(o, "Config", json_string(cfg));
		json_t *tags = it->n_names ? json_array() : json_null();
		for (size_t k = 0; k < it->n_names; k++) {
			st_autofree char *fam = familiar(it->names[k]);
			json_array_append_new(tags, json_string(fam));
		}
		json_object_set_new(o, "RepoTags", tags);
		json_t *layers = json_array();
		for (size_t k = 0; k < it->m->n_layers; k++) {
			st_autofree char *lp = blob_path(&it->m->layers[k].digest);
			json_array_append_new(layers, json_string(lp));
		}
		json_object_set_new(o, "Layers", layers);
		json_array_append_new(a, o);
	}
	json_dump(a, out);
	json_decref(a);
}

/* Docker's legacy "repositories": {"busybox": {"latest": "<top layer id>"}}. */
static bool json_repositories(const struct saver *c, struct st_buf *out)
{
	json_t *o = json_object();
	for (size_t i = 0; i < c->n; i++) {
		const struct item *it = &c->v[i];
		const struct st_digest *top = it->m->n_layers
						  ? &it->m->layers[it->m->n_layers - 1].digest
						  : &it->m->config.digest;
		for (size_t k = 0; k < it->n_names; k++) {
			st_auto(st_image_ref) struct st_image_ref *ref = NULL;
			struct st_error *perr = NULL;
			if (st_image_ref_parse(it->names[k], &ref, &perr) < 0 || !ref->tag) {
				st_error_free(perr);
				continue;
			}
			st_autofree char *repo = st_image_ref_familiar_name(ref);
			json_t *r = json_object_get(o, repo);
			if (!r) {
				r = json_object();
				json_object_set_new(o, repo, r);
			}
			json_object_set_new(r, ref->tag, json_string(st_digest_hex(top)));
		}
	}
	bool any = json_object_size(o) > 0;
	if (any)
		json_dump(o, out);
	json_decref(o);
	return any;
}

static const char oci_layout[] = "{\"imageLayoutVersion\":\"" ST_MT_OCI_LAYOUT_VERSION "\"}";

/* ---- streaming a blob out of the store, verified ---- */

typedef int (*chunk_fn)(void *ctx, const void *p, size_t n, struct st_error **err);

static int copy_blob(struct saver *c, int fd, uint64_t size, const char *digest, chunk_fn fn,
		     void *ctx, struct st_error **err)
{
	/* A layer is reported as Docker's save would if it said anything: "Saving", "Saved". */
	const struct st_events *ev = is_layer(c, digest) ? c->events : NULL;
	char id[ST_EVENTS_ID_LEN + 1];
	st_events_short_id(digest + strlen("sha256:"), id);
	st_events_status(ev, id, "Saving");
	struct st_hasher h;
	st_hasher_init(&h);
	uint64_t total = 0;
	for (;;) {
		if (st_cancel_check(err) < 0) {
			st_hasher_release(&h);
			return -1;
		}
		ssize_t r = read(fd, c->buf, ST_ARCHIVE_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			st_hasher_release(&h);
			return st_err_errno(err, "read blob %s", digest);
		}
		if (r == 0)
			break;
		st_hasher_update(&h, c->buf, (size_t)r);
		total += (uint64_t)r;
		if (fn(ctx, c->buf, (size_t)r, err) < 0) {
			st_hasher_release(&h);
			return -1;
		}
		st_events_bytes(ev, id, total, size);
	}
	struct st_digest got;
	st_hasher_final(&h, &got);
	/* The store is trusted only this far: a bad blob must not leave in an archive. */
	if (total != size || strcmp(got.str, digest) != 0)
		return st_err(err, ST_E_DIGEST, "blob %s: digest mismatch: content hashes to %s",
			      digest, got.str);
	st_events_status(ev, id, "Saved");
	return 0;
}

/* ---- tar output ---- */

static int tar_fail(struct archive *a, const char *what, struct st_error **err)
{
	int e = archive_errno(a);
	if (e > 0) {
		errno = e;
		return st_err_errno(err, "write %s", what);
	}
	return st_err(err, ST_E_IO, "write %s: %s", what, archive_error_string(a));
}

int st_archive_tar_header(struct archive *a, const char *name, bool dir, int64_t size,
			  struct st_error **err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0755 : 0644);
	archive_entry_set_size(e, dir ? 0 : size);
	/* Fixed owner and time: the same images give the same archive, byte for byte. */
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, 0, 0);
	int r = archive_write_header(a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return tar_fail(a, name, err);
	return 0;
}

static int tar_data(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct archive *a = ctx;
	const char *q = p;
	while (n > 0) {
		la_ssize_t w = archive_write_data(a, q, n);
		if (w < 0)
			return tar_fail(a, "archive", err);
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

static int tar_file(struct archive *a, const char *name, const void *p, size_t n,
		    struct st_error **err)
{
	if (st_archive_tar_header(a, name, false, (int64_t)n, err) < 0)
		return -1;
	return tar_data(a, p, n, err);
}

static int tar_blob(struct saver *c, struct archive *a, const char *digest, struct st_error **err)
{
	st_autoclose int fd = -1;
	uint64_t size = 0;
	if (st_store_open_blob(c->s, digest, &fd, &size, err) < 0)
		return -1;
	st_autofree char *name = st_xasprintf("blobs/sha256/%s", digest + 7);
	if (st_archive_tar_header(a, name, false, (int64_t)size, err) < 0)
		return -1;
	return copy_blob(c, fd, size, digest, tar_data, a, err);
}

static int write_tar(struct saver *c, enum st_archive_format f, int fd, struct st_error **err)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	/* No blocking: blob chunks go straight to the fd instead of through a 10 KiB buffer. */
	archive_write_set_bytes_per_block(a, 0);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		int rc = tar_fail(a, "archive", err);
		archive_write_free(a);
		return rc;
	}
	struct st_buf doc = ST_BUF_INIT;
	int rc = st_archive_tar_header(a, "blobs/", true, 0, err);
	if (rc == 0)
		rc = st_archive_tar_header(a, "blobs/sha256/", true, 0, err);
	for (size_t i = 0; rc == 0 && i < c->n_blobs; i++)
		rc = tar_blob(c, a, c->blobs[i], err);
	if (rc == 0) {
		json_index(c, &doc);
		rc = tar_file(a, "index.json", doc.data, doc.len, err);
	}
	if (rc == 0 && f == ST_ARCHIVE_DOCKER) {
		st_buf_reset(&doc);
		json_docker_manifest(c, &doc);
		rc = tar_file(a, "manifest.json", doc.data, doc.len, err);
	}
	if (rc == 0)
		rc = tar_file(a, "oci-layout", oci_layout, strlen(oci_layout), err);
	if (rc == 0 && f == ST_ARCHIVE_DOCKER) {
		st_buf_reset(&doc);
		if (json_repositories(c, &doc))
			rc = tar_file(a, "repositories", doc.data, doc.len, err);
	}
	st_buf_release(&doc);
	if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
		rc = tar_fail(a, "archive", err);
	archive_write_free(a);
	return rc;
}

/* ---- directory output ---- */

static int fd_data(void *ctx, const void *p, size_t n, struct st_error **err)
{
	return st_write_all(*(int *)ctx, p, n, err);
}

static int dir_file(const char *dir, const char *name, const void *p, size_t n,
		    struct st_error **err)
{
	st_autofree char *path = st_path_join(dir, name);
	st_autoclose int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return st_err_errno(err, "create '%s'", path);
	return st_write_all(fd, p, n, err);
}

static int dir_blob(struct saver *c, const char *dir, const char *digest, struct st_error **err)
{
	st_autoclose int in = -1;
	uint64_t size = 0;
	if (st_store_open_blob(c->s, digest, &in, &size, err) < 0)
		return -1;
	st_autofree char *path = st_xasprintf("%s/blobs/sha256/%s", dir, digest + 7);
	st_autoclose int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out < 0)
		return st_err_errno(err, "create '%s'", path);
	return copy_blob(c, in, size, digest, fd_data, &out, err);
}

static int write_dir(struct saver *c, const char *dir, struct st_error **err)
{
	st_autofree char *blobs = st_path_join(dir, "blobs/sha256");
	if (st_mkdir_p(blobs, 0755, err) < 0)
		return -1;
	for (size_t i = 0; i < c->n_blobs; i++)
		if (dir_blob(c, dir, c->blobs[i], err) < 0)
			return -1;
	struct st_buf doc = ST_BUF_INIT;
	json_index(c, &doc);
	int rc = dir_file(dir, "index.json", doc.data, doc.len, err);
	st_buf_release(&doc);
	if (rc == 0)
		rc = dir_file(dir, "oci-layout", oci_layout, strlen(oci_layout), err);
	return rc;
}

/* ---- entry points ---- */

static bool is_tar_format(enum st_archive_format f)
{
	return f == ST_ARCHIVE_DOCKER || f == ST_ARCHIVE_OCI_ARCHIVE;
}

int st_archive_save_fd(struct st_store *s, const struct st_archive_save_opts *o, int fd,
		       struct st_error **err)
{
	if (!is_tar_format(o->format))
		return st_err(err, ST_E_INVALID, "save: format %s is not a tar archive",
			      st_archive_format_name(o->format));
	struct saver c = { 0 };
	int rc = prepare(&c, s, o, err);
	if (rc == 0)
		rc = write_tar(&c, o->format, fd, err);
	saver_release(&c);
	return rc;
}

static char *parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return st_xstrdup(".");
	if (slash == path)
		return st_xstrdup("/");
	return st_xstrndup(path, (size_t)(slash - path));
}

/* 1 if 'path' is an empty directory, 0 if absent, -1 with ST_E_EXISTS otherwise. */
static int check_target_dir(const char *path, struct st_error **err)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return st_err_errno(err, "stat '%s'", path);
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (!d)
			return st_err_errno(err, "open '%s'", path);
		struct dirent *de;
		bool empty = true;
		while (empty && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				empty = false;
		closedir(d);
		if (empty)
			return 1;
	}
	return st_err(err, ST_E_EXISTS, "'%s' exists and is not an empty directory", path);
}

static int save_dir(struct saver *c, const char *path, struct st_error **err)
{
	if (check_target_dir(path, err) < 0)
		return -1;
	st_autofree char *parent = parent_dir(path);
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	st_autofree char *tmp = st_xasprintf("%s/.%s.tmp-XXXXXX", parent, base);
	if (!mkdtemp(tmp))
		return st_err_errno(err, "create a directory in '%s'", parent);
	int rc = write_dir(c, tmp, err);
	if (rc == 0 && chmod(tmp, 0755) < 0)
		rc = st_err_errno(err, "chmod '%s'", tmp);
	/* rename(2) replaces an empty directory: the layout appears whole or not at all. */
	if (rc == 0 && rename(tmp, path) < 0)
		rc = st_err_errno(err, "rename '%s' to '%s'", tmp, path);
	if (rc < 0) {
		struct st_error *rmerr = NULL;
		if (st_rm_rf(tmp, &rmerr) < 0)
			st_error_free(rmerr);
	}
	return rc;
}

static int save_file(struct saver *c, enum st_archive_format f, const char *path,
		     struct st_error **err)
{
	st_auto_tmpfile struct st_tmpfile t = ST_TMPFILE_INIT;
	if (st_tmpfile_open_beside(&t, path, 0644, err) < 0 || write_tar(c, f, t.fd, err) < 0)
		return -1;
	return st_tmpfile_commit(&t, path, err);
}

int st_archive_save_path(struct st_store *s, const struct st_archive_save_opts *o, const char *path,
			 struct st_error **err)
{
	if (!is_tar_format(o->format) && o->format != ST_ARCHIVE_OCI_DIR)
		return st_err(err, ST_E_INVALID, "save: no format given");
	struct saver c = { 0 };
	int rc = prepare(&c, s, o, err);
	if (rc == 0) {
		rc = o->format == ST_ARCHIVE_OCI_DIR ? save_dir(&c, path, err)
						     : save_file(&c, o->format, path, err);
		if (rc < 0)
			st_err_wrap(err, "save to '%s'", path);
	}
	saver_release(&c);
	return rc;
}
