/* local.c: the image model over the store: find, read, commit, and layers in the store. */
#include "local/local.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

int st_local_ref_normalize(const char *s, char **out, struct st_error **err)
{
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_parse(s, &ref, err) < 0)
		return -1;
	*out = st_image_ref_string(ref);
	return 0;
}

/* An image whose manifest digest is 'digest' (name@sha256:... resolves through it). */
static int find_by_manifest(struct st_store *s, const char *digest, struct st_store_image **out,
			    struct st_error **err)
{
	struct st_store_image **v = NULL;
	size_t n = 0;
	if (st_store_image_list(s, 0, &v, &n, err) < 0)
		return -1;
	int rc = 1;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v[i]->manifest_digest.str, digest)) {
			*out = v[i];
			v[i] = NULL;
			rc = 0;
			break;
		}
	}
	st_store_image_list_free(v, n);
	return rc;
}

int st_local_image_find(struct st_store *s, const char *name, struct st_store_image **out,
			struct st_error **err)
{
	struct st_error *perr = NULL;
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_parse(name, &ref, &perr) == 0) {
		if (ref->digest) {
			/* What a registry calls it (an index, pulled or pushed), then the manifest.
			 */
			st_autofree char *repo = st_image_ref_repository(ref);
			st_autofree char *rd = st_xasprintf("%s@%s", repo, ref->digest);
			struct st_digest id;
			if (st_store_repo_digest_get(s, rd, &id, &perr) == 0)
				return st_store_image_get(s, id.str, out, err);
			if (perr->kind != ST_E_NOTFOUND) {
				*err = perr;
				return -1;
			}
			st_error_clear(&perr);
			int rc = find_by_manifest(s, ref->digest, out, err);
			if (rc <= 0)
				return rc;
		} else {
			st_autofree char *full = st_image_ref_string(ref);
			struct st_store_ref r = { 0 };
			if (st_store_ref_get(s, full, &r, &perr) == 0) {
				int rc = st_store_image_get(s, r.image_id.str, out, err);
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
	if (st_image_ref_is_id(name)) {
		if (st_store_image_get(s, name, out, &perr) == 0)
			return 0;
		if (perr->kind != ST_E_NOTFOUND) {
			*err = perr;
			return -1;
		}
		st_error_clear(&perr);
	}
	return st_err(err, ST_E_NOTFOUND, "No such image: %s", name);
}

int st_local_image_config(struct st_store *s, const struct st_store_image *img,
			  struct st_image_config **out, struct st_error **err)
{
	struct st_buf b = ST_BUF_INIT;
	int rc = st_store_read_blob(s, img->id.str, &b, err);
	if (rc == 0)
		rc = st_image_config_parse(b.data, b.len, out, err);
	st_buf_release(&b);
	if (rc < 0)
		return st_err_wrap(err, "image %s: config", img->id.str);
	return 0;
}

int st_local_image_manifest(struct st_store *s, const struct st_store_image *img,
			    struct st_image_manifest **out, struct st_error **err)
{
	struct st_buf b = ST_BUF_INIT;
	int rc = st_store_read_blob(s, img->manifest_digest.str, &b, err);
	if (rc == 0)
		rc = st_image_manifest_parse(b.data, b.len, out, err);
	st_buf_release(&b);
	if (rc < 0)
		return st_err_wrap(err, "image %s: manifest", img->id.str);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "linux/amd64, linux/arm64": the platforms of an index's images. New. */
static char *index_platforms(const struct st_image_index *idx)
{
	struct st_buf b = ST_BUF_INIT;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct st_image_descriptor *d = &idx->manifests[i];
		if (!d->has_platform || !strcmp(d->platform.os, "unknown"))
			continue; /* attestations */
		if (b.len)
			st_buf_adds(&b, ", ");
		st_platform_format(&d->platform, &b);
	}
	if (!b.len)
		st_buf_adds(&b, "no platform");
	return st_buf_detach(&b, NULL);
}

/* The recorded image whose manifest is 'digest': *out, or NULL when there is none. */
static int image_by_manifest(struct st_store *s, const struct st_digest *digest,
			     struct st_store_image **out, struct st_error **err)
{
	struct st_store_image **v = NULL;
	size_t n = 0;
	*out = NULL;
	if (st_store_image_list(s, 0, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && !*out; i++)
		if (st_digest_equal(&v[i]->manifest_digest, digest))
			*out = st_steal(&v[i]);
	st_store_image_list_free(v, n);
	return 0;
}

int st_local_image_platform(struct st_store *s, const char *name, const struct st_store_image *img,
			    const struct st_platform *want, struct st_store_image **out,
			    struct st_error **err)
{
	*out = NULL;
	struct st_buf w = ST_BUF_INIT;
	st_platform_format(want, &w);
	st_autofree char *wanted = st_buf_detach(&w, NULL);
	st_autofree char *full = NULL;
	struct st_store_ref ref = { 0 };
	struct st_error *e = NULL;
	bool via_index = st_local_ref_normalize(name, &full, &e) == 0 &&
			 st_store_ref_get(s, full, &ref, &e) == 0 &&
			 !st_digest_equal(&ref.manifest_digest, &img->manifest_digest);
	st_error_free(e);
	if (!via_index) {
		st_store_ref_release(&ref);
		struct st_platform have = { 0 };
		snprintf(have.os, sizeof(have.os), "%s", img->os ? img->os : "linux");
		snprintf(have.architecture, sizeof(have.architecture), "%s",
			 img->architecture ? img->architecture : "");
		snprintf(have.variant, sizeof(have.variant), "%s",
			 img->variant ? img->variant : "");
		if (st_platform_match(want, &have))
			return st_store_image_get(s, img->id.str, out, err);
		struct st_buf h = ST_BUF_INIT;
		st_platform_format(&have, &h);
		st_err(err, ST_E_NOTFOUND, "image '%s' has no %s: it has %s", name, wanted, h.data);
		st_buf_release(&h);
		return -1;
	}
	struct st_buf bytes = ST_BUF_INIT;
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	int rc = st_store_read_blob(s, ref.manifest_digest.str, &bytes, err);
	if (rc == 0)
		rc = st_image_index_parse(bytes.data, bytes.len, &idx, err);
	st_buf_release(&bytes);
	st_store_ref_release(&ref);
	if (rc < 0)
		return st_err_wrap(err, "image '%s'", name);
	const struct st_image_descriptor *d = st_image_index_select(idx, want, &e);
	st_error_free(e);
	if (!d) {
		st_autofree char *has = index_platforms(idx);
		return st_err(err, ST_E_NOTFOUND, "image '%s' has no %s: it has %s", name, wanted,
			      has);
	}
	return image_by_manifest(s, &d->digest, out, err);
}

int st_local_ref_index(struct st_store *s, const char *name, struct st_digest *index,
		       struct st_error **err)
{
	st_autofree char *full = NULL;
	struct st_store_ref ref = { 0 };
	st_auto(st_store_image) struct st_store_image *img = NULL;
	struct st_error *e = NULL;
	if (st_local_ref_normalize(name, &full, &e) < 0 ||
	    st_store_ref_get(s, full, &ref, &e) < 0) {
		st_error_free(e); /* an id or a malformed name names no index */
		return 0;
	}
	struct st_buf bytes = ST_BUF_INIT;
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	int rc = st_store_image_get(s, ref.image_id.str, &img, err);
	bool is_index = rc == 0 && !st_digest_equal(&img->manifest_digest, &ref.manifest_digest);
	if (is_index)
		rc = st_store_read_blob(s, ref.manifest_digest.str, &bytes, err);
	/* Another manifest of the same config (built twice, once into an index, once not) is
	 * no index either. */
	if (is_index && rc == 0)
		is_index = st_image_detect(bytes.data, bytes.len) == ST_IMAGE_KIND_INDEX;
	if (is_index && rc == 0)
		rc = st_image_index_parse(bytes.data, bytes.len, &idx, err);
	for (size_t i = 0; is_index && rc == 0 && i < idx->n_manifests; i++)
		is_index = st_store_has_blob(s, idx->manifests[i].digest.str);
	if (rc == 0 && is_index)
		*index = ref.manifest_digest;
	st_buf_release(&bytes);
	st_store_ref_release(&ref);
	return rc < 0 ? -1 : is_index;
}

int st_local_image_tags(struct st_store *s, const char *image_id, char ***out, size_t *n,
			struct st_error **err)
{
	struct st_store_ref *refs = NULL;
	size_t nr = 0;
	if (st_store_ref_list(s, image_id, &refs, &nr, err) < 0)
		return -1;
	char **v = st_xcalloc(nr + 1, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < nr; i++) {
		st_auto(st_image_ref) struct st_image_ref *ref = NULL;
		struct st_error *perr = NULL;
		if (st_image_ref_parse(refs[i].name, &ref, &perr) < 0) {
			/* a name we cannot parse is shown as stored rather than hidden */
			st_error_free(perr);
			v[k++] = st_xstrdup(refs[i].name);
			continue;
		}
		v[k++] = st_image_ref_familiar(ref);
	}
	st_store_refs_free(refs, nr);
	qsort(v, k, sizeof(char *), cmp_str);
	*out = v;
	*n = k;
	return 0;
}

/* The familiar form of a stored reference name, or the name itself if it does not parse. */
static char *familiar(const char *stored)
{
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	struct st_error *perr = NULL;
	if (st_image_ref_parse(stored, &ref, &perr) < 0) {
		st_error_free(perr);
		return st_xstrdup(stored);
	}
	return st_image_ref_familiar(ref);
}

int st_local_rmi(struct st_store *s, const char *name, unsigned flags, struct st_local_removal *out,
		 struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, name, &img, err) < 0)
		return -1;
	/* Untagging needs the name as stored; an id or a digest reference names no tag. */
	st_autofree char *ref = NULL;
	struct st_error *perr = NULL;
	if (st_local_ref_normalize(name, &ref, &perr) < 0 || strchr(ref, '@')) {
		st_error_free(perr);
		free(ref);
		ref = NULL;
	}
	struct st_store_image_removal r;
	unsigned sf = (flags & ST_LOCAL_RMI_FORCE) ? ST_STORE_DELETE_FORCE : 0;
	if (st_store_image_remove(s, img->id.str, ref, sf, &r, err) < 0) {
		if ((*err)->kind == ST_E_BUSY) {
			char short_id[13];
			snprintf(short_id, sizeof(short_id), "%.12s", st_digest_hex(&img->id));
			st_error_clear(err);
			return st_err(err, ST_E_BUSY,
				      "conflict: unable to delete %s (must be forced) - image is "
				      "referenced in multiple repositories (use -f)",
				      short_id);
		}
		return -1;
	}
	out->untagged = st_xcalloc(r.n_untagged + 1, sizeof(*out->untagged));
	for (size_t i = 0; i < r.n_untagged; i++)
		out->untagged[out->n_untagged++] = familiar(r.untagged[i]);
	qsort(out->untagged, out->n_untagged, sizeof(char *), cmp_str);
	out->id = img->id;
	out->deleted = r.deleted;
	st_store_image_removal_release(&r);
	return 0;
}

void st_local_removal_release(struct st_local_removal *r)
{
	st_strv_free(r->untagged, r->n_untagged);
	memset(r, 0, sizeof(*r));
}

int st_local_image_repo_digests(struct st_store *s, const char *image_id, char ***out, size_t *n,
				struct st_error **err)
{
	if (st_store_repo_digests(s, image_id, out, n, err) < 0)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		char *at = strrchr((*out)[i], '@');
		st_auto(st_image_ref) struct st_image_ref *ref = NULL;
		struct st_error *perr = NULL;
		*at = 0;
		if (st_image_ref_parse_flags((*out)[i], ST_IMAGE_REF_NAME_ONLY, &ref, &perr) < 0) {
			st_error_free(perr);
			*at = '@'; /* shown as stored rather than hidden */
			continue;
		}
		char *name = st_image_ref_familiar_name(ref);
		char *fam = st_xasprintf("%s@%s", name, at + 1);
		free(name);
		free((*out)[i]);
		(*out)[i] = fam;
	}
	return 0;
}

/* Store 'p' as a blob held by 'lease' (if any) from the moment it becomes visible. */
static int put_leased(struct st_store *s, struct st_store_lease *lease, const void *p, size_t n,
		      struct st_digest *d, struct st_error **err)
{
	struct st_store_blob_writer *w = NULL;
	if (st_store_blob_writer_new(s, NULL, &w, err) < 0)
		return -1;
	if (lease)
		st_store_blob_writer_set_lease(w, lease);
	int rc = st_store_blob_writer_write(w, p, n, err);
	if (rc == 0)
		rc = st_store_blob_writer_commit(w, d, NULL, err);
	st_store_blob_writer_free(w);
	return rc;
}

/* The layer of 'l' that c->format asks for, in *out (new strings). */
static int format_layer(struct st_store *s, const struct st_local_commit *c,
			struct st_store_lease *lease, const struct st_store_layer *l,
			struct st_store_layer *out, struct st_error **err)
{
	const struct st_local_format *f = c->format;
	enum st_layer_comp have;
	if (!st_layer_media_type_comp(l->media_type ? l->media_type : "", &have))
		return st_err(err, ST_E_INVALID, "layer %s: '%s' is not a layer media type",
			      l->digest.str, l->media_type ? l->media_type : "");
	/* As BuildKit: without force, a layer already compressed (a base image's) stays as it
	 * is; the build's own layers are kept uncompressed in the store and compressed here. */
	enum st_layer_comp want = f->compression;
	if (!(f->flags & ST_LOCAL_FORMAT_FORCE) && have != ST_LAYER_COMP_NONE)
		want = have;
	if (want == ST_LAYER_COMP_ZSTD && (f->flags & ST_LOCAL_FORMAT_DOCKER))
		return st_err(err, ST_E_INVALID,
			      "layer %s is zstd-compressed, which Docker media types cannot name: "
			      "use oci-mediatypes=true or force-compression=true",
			      l->diff_id.str);
	if (st_local_layer_convert(s, lease, l, want, f->level, out, err) < 0)
		return -1;
	/* The uncompressed blob was only waiting for this one: a layer is kept once on disk. */
	if (have == ST_LAYER_COMP_NONE && want != ST_LAYER_COMP_NONE &&
	    st_store_layer_drop_spare(s, l->digest.str, NULL, err) < 0) {
		st_store_layer_release(out);
		return -1;
	}
	free(out->media_type);
	out->media_type = st_xstrdup(st_layer_media_type(want, f->flags & ST_LOCAL_FORMAT_DOCKER));
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? st_xstrdup(s) : NULL;
}

/* The first recorded variant of 'diff_id' whose blob the store has: 1 and *out (new), or 0. */
static int stored_variant(struct st_store *s, const char *diff_id, struct st_store_layer *out,
			  struct st_error **err)
{
	struct st_store_layer *v = NULL;
	size_t n = 0, k = 0;
	if (st_store_layer_variants(s, diff_id, &v, &n, err) < 0)
		return -1;
	while (k < n && !st_store_has_blob(s, v[k].digest.str))
		k++;
	if (k < n) {
		*out = v[k];
		v[k].media_type = NULL;
	}
	st_store_layers_free(v, n);
	return k < n;
}

/* *fd open on the blob of the first stored variant of 'diff_id': 1, or 0 if there is none. */
static int open_variant(struct st_store *s, const char *diff_id, int *fd, struct st_error **err)
{
	struct st_store_layer twin;
	int found = stored_variant(s, diff_id, &twin, err);
	if (found <= 0)
		return found;
	int rc = st_store_open_blob(s, twin.digest.str, fd, NULL, err);
	st_store_layer_release(&twin);
	return rc < 0 ? -1 : 1;
}

/*
 * The layers of 'c' as the store holds them, in *out (new) when one differs, else NULL: a layer
 * a build kept uncompressed may since live only as its compressed twin
 * (st_store_layer_drop_spare()), and an image must name a blob the store has. A layer a build
 * committed as its directory gets its uncompressed blob here, under 'lease'.
 */
static int stored_layers(struct st_store *s, const struct st_local_commit *c,
			 struct st_store_lease *lease, struct st_store_layer **out,
			 struct st_error **err)
{
	*out = NULL;
	for (size_t i = 0; i < c->n_layers; i++) {
		if (st_store_has_blob(s, c->layers[i].digest.str))
			continue;
		struct st_store_layer twin;
		int found = stored_variant(s, c->layers[i].diff_id.str, &twin, err);
		if (found < 0) {
			st_store_layers_free(*out, c->n_layers);
			*out = NULL;
			return -1;
		}
		if (!found) {
			/* A layer a build committed as its directory: its blob is written now. */
			struct st_store_layer made;
			struct st_error *e = NULL;
			if (st_local_layer_convert(s, lease, &c->layers[i], ST_LAYER_COMP_NONE, 0,
						   &made, &e) == 0)
				st_store_layer_release(&made);
			else if (e->kind == ST_E_NOTFOUND)
				st_error_free(e); /* recording the image names the missing blob */
			else {
				*err = e;
				st_store_layers_free(*out, c->n_layers);
				*out = NULL;
				return -1;
			}
			continue;
		}
		if (!*out) {
			*out = st_xcalloc(c->n_layers + 1, sizeof(**out));
			for (size_t j = 0; j < c->n_layers; j++) {
				(*out)[j] = c->layers[j];
				(*out)[j].media_type = dup_or_null(c->layers[j].media_type);
			}
		}
		st_store_layer_release(&(*out)[i]);
		(*out)[i] = twin;
	}
	return 0;
}

/*
 * Write the config and a manifest of 'c' as blobs under 'lease' and fill *img; its strings
 * are borrowed from 'c', from the static media types and from *formatted: the layers
 * c->format made, or those the store holds in place of c's (n_layers of them, or NULL when
 * c's serve as they are), which the caller frees with
 * st_store_layers_free() once *img is used.
 */
static int write_image(struct st_store *s, const struct st_local_commit *c,
		       struct st_store_lease *lease, struct st_local_stored_image *img,
		       struct st_store_layer **formatted, struct st_error **err)
{
	const struct st_image_config *cfg = c->config;
	bool docker = c->format && (c->format->flags & ST_LOCAL_FORMAT_DOCKER);
	const struct st_store_layer *layers = c->layers;
	*formatted = NULL;
	if (cfg->n_diff_ids != c->n_layers)
		return st_err(err, ST_E_INVALID,
			      "commit image: config has %zu diff_ids, %zu layers given",
			      cfg->n_diff_ids, c->n_layers);
	for (size_t i = 0; i < c->n_layers; i++)
		if (!st_digest_equal(&cfg->diff_ids[i], &c->layers[i].diff_id))
			return st_err(err, ST_E_INVALID,
				      "commit image: layer %zu is %s, config says %s", i,
				      c->layers[i].diff_id.str, cfg->diff_ids[i].str);

	if (c->format) {
		struct st_store_layer *v = st_xcalloc(c->n_layers + 1, sizeof(*v));
		for (size_t i = 0; i < c->n_layers; i++) {
			if (format_layer(s, c, lease, &c->layers[i], &v[i], err) < 0) {
				st_store_layers_free(v, c->n_layers);
				return -1;
			}
		}
		layers = *formatted = v;
	} else {
		if (stored_layers(s, c, lease, formatted, err) < 0)
			return -1;
		if (*formatted)
			layers = *formatted;
	}

	const char *config_mt = docker ? ST_MT_DOCKER_CONFIG : ST_MT_OCI_CONFIG;
	struct st_buf cbytes = ST_BUF_INIT, mbytes = ST_BUF_INIT;
	st_image_config_serialize(cfg, &cbytes);
	struct st_digest cdig, mdig;
	int rc = put_leased(s, lease, cbytes.data, cbytes.len, &cdig, err);

	st_auto(st_image_manifest) struct st_image_manifest *m = st_image_manifest_new();
	if (rc == 0) {
		free(m->config.media_type);
		m->config.media_type = st_xstrdup(config_mt);
		m->config.digest = cdig;
		m->config.size = (int64_t)cbytes.len;
		for (size_t i = 0; i < c->n_layers; i++) {
			struct st_image_descriptor d = { 0 };
			d.media_type = layers[i].media_type;
			d.digest = layers[i].digest;
			d.size = (int64_t)layers[i].size;
			st_image_manifest_add_layer(m, &d);
		}
		for (size_t i = 0; c->annotations && i < c->annotations->n; i++)
			st_image_map_set(&m->annotations, c->annotations->v[i].key,
					 c->annotations->v[i].value);
		if (docker)
			st_image_manifest_serialize_docker(m, &mbytes);
		else
			st_image_manifest_serialize(m, &mbytes);
		rc = put_leased(s, lease, mbytes.data, mbytes.len, &mdig, err);
	}
	if (rc == 0)
		*img = (struct st_local_stored_image){
			.id = cdig,
			.config_media_type = config_mt,
			.config = cfg,
			.manifest = mdig,
			.manifest_media_type = docker ? ST_MT_DOCKER_MANIFEST : ST_MT_OCI_MANIFEST,
			.layers = layers,
			.n_layers = c->n_layers,
		};
	st_buf_release(&cbytes);
	st_buf_release(&mbytes);
	return rc;
}

/* The record of 'img'; its strings are borrowed from it. */
static struct st_store_image record_of(const struct st_local_stored_image *img)
{
	const struct st_image_config *cfg = img->config;
	return (struct st_store_image){
		.id = img->id,
		.manifest_digest = img->manifest,
		.manifest_media_type = (char *)img->manifest_media_type,
		.config_media_type = (char *)img->config_media_type,
		.created = cfg->created,
		.os = cfg->os,
		.architecture = cfg->architecture,
		.variant = cfg->variant,
		.layers = (struct st_store_layer *)img->layers,
		.n_layers = img->n_layers,
	};
}

int st_local_image_record(struct st_store *s, const struct st_local_stored_image *img,
			  const char *const *refs, size_t n_refs, struct st_error **err)
{
	struct st_store_image rec = record_of(img);
	return st_store_image_put(s, &rec, refs, n_refs, err);
}

int st_local_image_write(struct st_store *s, const struct st_local_commit *c,
			 struct st_store_image **out, struct st_error **err)
{
	struct st_local_stored_image stored;
	struct st_store_layer *formatted = NULL;
	if (!c->lease)
		return st_err(err, ST_E_INVALID, "write image: no lease to hold its blobs");
	if (write_image(s, c, c->lease, &stored, &formatted, err) < 0)
		return st_err_wrap(err, "write image");
	struct st_store_image img = record_of(&stored);
	struct st_store_image *o = st_xcalloc(1, sizeof(*o));
	o->id = img.id;
	o->manifest_digest = img.manifest_digest;
	o->manifest_media_type = st_xstrdup(img.manifest_media_type);
	o->config_media_type = st_xstrdup(img.config_media_type);
	o->created = dup_or_null(img.created);
	o->os = dup_or_null(img.os);
	o->architecture = dup_or_null(img.architecture);
	o->variant = dup_or_null(img.variant);
	o->layers = st_xcalloc(c->n_layers + 1, sizeof(*o->layers));
	for (size_t i = 0; i < c->n_layers; i++) {
		o->layers[i] = img.layers[i];
		o->layers[i].media_type = dup_or_null(img.layers[i].media_type);
		o->size += img.layers[i].diff_size;
	}
	o->n_layers = c->n_layers;
	st_store_layers_free(formatted, c->n_layers);
	*out = o;
	return 0;
}

int st_local_image_commit(struct st_store *s, const struct st_local_commit *c, struct st_digest *id,
			  struct st_error **err)
{
	__attribute__((cleanup(st_store_lease_endp))) struct st_store_lease *lease_own = NULL;
	struct st_store_lease *lease = c->lease;
	if (!lease) {
		if (st_store_lease_begin(s, &lease_own, err) < 0)
			return -1;
		lease = lease_own;
	}
	struct st_local_stored_image img;
	struct st_store_layer *formatted = NULL;
	int rc = write_image(s, c, lease, &img, &formatted, err);
	if (rc == 0)
		rc = st_local_image_record(s, &img, c->refs, c->n_refs, err);
	st_store_layers_free(formatted, c->n_layers);
	if (rc < 0)
		return st_err_wrap(err, "commit image");
	if (id)
		*id = img.id;
	return 0;
}

struct st_local_layer_writer {
	struct st_store *store;
	struct st_store_lease *lease;
	struct st_store_blob_writer *blob;
	int fd; /* the blob writer's temp file, borrowed */
	struct st_layer_writer *layer;
	enum st_layer_comp comp;
	const struct st_digest *expect_diff_id; /* borrowed; NULL: whatever was written */
};

int st_local_layer_writer_new(struct st_store *s, struct st_store_lease *lease,
			      const struct st_layer_writer_opts *opts,
			      struct st_local_layer_writer **out, struct st_error **err)
{
	struct st_local_layer_writer *w = st_xcalloc(1, sizeof(*w));
	w->store = s;
	w->lease = lease;
	w->comp = opts->compression;
	if (st_store_blob_writer_new(s, NULL, &w->blob, err) < 0) {
		free(w);
		return -1;
	}
	if (lease)
		st_store_blob_writer_set_lease(w->blob, lease);
	/* The layer writer hashes what it compresses: its bytes go straight to the temp file. */
	w->fd = st_store_blob_writer_fd(w->blob);
	w->layer = st_layer_writer_new(opts, st_layer_sink_fd(&w->fd), err);
	if (!w->layer) {
		st_local_layer_writer_free(w);
		return -1;
	}
	*out = w;
	return 0;
}

struct st_layer_writer *st_local_layer_writer_layer(struct st_local_layer_writer *w)
{
	return w->layer;
}

int st_local_layer_writer_commit(struct st_local_layer_writer *w, struct st_store_layer *out,
				 struct st_error **err)
{
	struct st_layer_result res;
	if (st_layer_writer_finish(w->layer, &res, err) < 0)
		return -1;
	if (w->expect_diff_id && !st_digest_equal(&res.diff_id, w->expect_diff_id))
		return st_err(err, ST_E_DIGEST, "layer holds %s, expected %s", res.diff_id.str,
			      w->expect_diff_id->str);
	if (st_store_blob_writer_commit_hashed(w->blob, res.digest.str, NULL, err) < 0)
		return -1;
	if (w->lease && st_store_lease_add(w->lease, res.diff_id.str, err) < 0)
		return -1;
	struct st_store_layer l = { 0 };
	l.digest = res.digest;
	l.diff_id = res.diff_id;
	l.media_type = (char *)st_layer_media_type(res.compression, false);
	l.size = res.compressed_size;
	l.diff_size = res.size;
	if (st_store_layer_put(w->store, &l, err) < 0)
		return -1;
	if (out) {
		*out = l;
		out->media_type = st_xstrdup(l.media_type);
	}
	return 0;
}

/* A variant of 'diff_id' recorded in compression 'comp': 1 and *out (new strings), or 0. */
static int find_variant(struct st_store *s, const char *diff_id, enum st_layer_comp comp,
			struct st_store_layer *out, struct st_error **err)
{
	struct st_store_layer *v = NULL;
	size_t n = 0;
	if (st_store_layer_variants(s, diff_id, &v, &n, err) < 0)
		return -1;
	int found = 0;
	for (size_t i = 0; i < n && !found; i++) {
		enum st_layer_comp c;
		if (v[i].media_type && st_layer_media_type_comp(v[i].media_type, &c) && c == comp) {
			*out = v[i];
			v[i].media_type = NULL;
			found = 1;
		}
	}
	st_store_layers_free(v, n);
	return found;
}

/*
 * Where the bytes of layer 'l' are: *fd open on its blob, else on another variant of its
 * diff_id, or, for an uncompressed layer that a build committed as its directory
 * (st_local_layer_commit_dir()), *dir (new) that directory, to make the tar again from.
 * 'prefer_dir': the directory before a variant (reading the files costs less than inflating
 * a compressed twin). ST_E_NOTFOUND if there is none.
 */
static int layer_bytes(struct st_store *s, const struct st_store_layer *l, bool prefer_dir, int *fd,
		       char **dir, struct st_error **err)
{
	struct st_error *e = NULL;
	*dir = NULL;
	if (st_store_open_blob(s, l->digest.str, fd, NULL, &e) == 0)
		return 0;
	if (e->kind != ST_E_NOTFOUND) {
		*err = e;
		return -1;
	}
	bool have_dir = st_digest_equal(&l->digest, &l->diff_id) &&
			st_store_unpacked_has(s, l->diff_id.str, NULL);
	if (have_dir && prefer_dir) {
		st_error_free(e);
		return st_store_unpacked_path(s, l->diff_id.str, dir, err);
	}
	int found = open_variant(s, l->diff_id.str, fd, err);
	if (found == 0 && have_dir) {
		st_error_free(e);
		return st_store_unpacked_path(s, l->diff_id.str, dir, err);
	}
	if (found == 0)
		*err = e;
	else
		st_error_free(e);
	return found > 0 ? 0 : -1;
}

/* A new variant of 'l' in 'comp', from 'fd' (a tar, any compression) or from directory 'dir'. */
static int convert_from(struct st_store *s, struct st_store_lease *lease,
			const struct st_store_layer *l, enum st_layer_comp comp, int level, int fd,
			const char *dir, struct st_store_layer *out, struct st_error **err)
{
	struct st_layer_writer_opts lo = { .compression = comp, .level = level };
	st_auto(st_local_layer_writer) struct st_local_layer_writer *w = NULL;
	if (st_local_layer_writer_new(s, lease, &lo, &w, err) < 0)
		return -1;
	/* The diff_id is checked before the new blob is recorded as a variant of it: for a
	 * layer made again from its directory, that is what proves the tar the same. */
	struct st_layer_writer *lw = st_local_layer_writer_layer(w);
	w->expect_diff_id = &l->diff_id;
	int rc = dir ? st_layer_writer_add_tree(lw, dir, NULL, ST_LAYER_TREE_OVERLAY, err)
		     : st_layer_writer_add_raw(lw, st_layer_source_fd(&fd), err);
	if (rc < 0)
		return -1;
	return st_local_layer_writer_commit(w, out, err);
}

int st_local_layer_convert(struct st_store *s, struct st_store_lease *lease,
			   const struct st_store_layer *l, enum st_layer_comp comp, int level,
			   struct st_store_layer *out, struct st_error **err)
{
	/*
	 * Made once per layer and compression, then found again: a later build that hits the
	 * cache, or a push of the image, uses the same blob and so the same manifest.
	 */
	int found = find_variant(s, l->diff_id.str, comp, out, err);
	if (found < 0)
		return -1;
	if (found) {
		if (lease && st_store_lease_add(lease, out->digest.str, err) < 0) {
			st_store_layer_release(out);
			return -1;
		}
		return 0;
	}
	st_autoclose int fd = -1;
	st_autofree char *dir = NULL;
	if (layer_bytes(s, l, true, &fd, &dir, err) < 0)
		return st_err_wrap(err, "compress layer %s", l->diff_id.str);
	if (dir) {
		struct st_error *e = NULL;
		if (convert_from(s, lease, l, comp, level, -1, dir, out, &e) == 0)
			return 0;
		/* Not a directory a build committed (one unpacked from a tar that its blob, gone
		 * since, did not list in our order): the bytes are in a compressed twin, if any. */
		int have = e->kind == ST_E_DIGEST ? open_variant(s, l->diff_id.str, &fd, err) : 0;
		if (have == 0)
			*err = e;
		else
			st_error_free(e);
		if (have <= 0)
			return st_err_wrap(err, "compress layer %s", l->diff_id.str);
	}
	if (convert_from(s, lease, l, comp, level, fd, NULL, out, err) < 0)
		return st_err_wrap(err, "compress layer %s", l->diff_id.str);
	return 0;
}

/* No bytes go anywhere: a layer committed as its directory is only hashed. */
static int discard_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	(void)ctx, (void)p, (void)n, (void)err;
	return 0;
}

/*
 * Make 'dir' the store's unpacked copy of layer 'diff_id' (renamed): 1, or 0 when the store has
 * one already (marked, or renamed there first by another process).
 */
static int adopt_dir(struct st_store *s, const char *diff_id, uint64_t size, const char *dir,
		     struct st_error **err)
{
	if (st_store_unpacked_has(s, diff_id, NULL))
		return 0;
	st_autofree char *dst = NULL;
	if (st_store_unpacked_path(s, diff_id, &dst, err) < 0)
		return -1;
	if (rename(dir, dst) < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			return 0;
		return st_err_errno(err, "rename '%s' to '%s'", dir, dst);
	}
	return st_store_unpacked_mark(s, diff_id, size, err) < 0 ? -1 : 1;
}

/* The old way, for what the new one cannot do: the tar written as a blob, then 'dir' kept. */
static int commit_dir_blob(struct st_store *s, struct st_store_lease *lease,
			   const struct st_layer_writer_opts *opts, const char *dir,
			   struct st_store_layer *out, struct st_error **err)
{
	st_auto(st_local_layer_writer) struct st_local_layer_writer *w = NULL;
	if (st_local_layer_writer_new(s, lease, opts, &w, err) < 0 ||
	    st_layer_writer_add_tree(st_local_layer_writer_layer(w), dir, NULL,
				     ST_LAYER_TREE_OVERLAY, err) < 0 ||
	    st_local_layer_writer_commit(w, out, err) < 0)
		return -1;
	/* An unpacked copy there already is as good as this one. */
	if (adopt_dir(s, out->diff_id.str, out->diff_size, dir, err) < 0) {
		st_store_layer_release(out);
		return -1;
	}
	return 0;
}

int st_local_layer_commit_dir(struct st_store *s, struct st_store_lease *lease,
			      const struct st_layer_writer_opts *opts, const char *dir,
			      struct st_store_layer *out, struct st_error **err)
{
	/* A clamped mtime is in the tar, not in the files: the directory would not give the
	 * same tar again. */
	if (opts->compression != ST_LAYER_COMP_NONE || (opts->flags & ST_LAYER_WRITER_CLAMP_MTIME))
		return commit_dir_blob(s, lease, opts, dir, out, err);
	struct st_layer_result res;
	st_auto(st_layer_writer) struct st_layer_writer *w =
	    st_layer_writer_new(opts, (struct st_layer_sink){ discard_write, NULL }, err);
	if (!w || st_layer_writer_add_tree(w, dir, NULL, ST_LAYER_TREE_OVERLAY, err) < 0 ||
	    st_layer_writer_finish(w, &res, err) < 0)
		return -1;
	if (lease && st_store_lease_add(lease, res.diff_id.str, err) < 0)
		return -1;
	/*
	 * Only a directory that is the very tree its diff_id was hashed from may stand for the
	 * layer's bytes; a copy unpacked from someone's tar need not give that tar again. When one
	 * is there already (the same layer pulled, or built by another process at the same time),
	 * this layer gets its blob the old way.
	 */
	int adopted = adopt_dir(s, res.diff_id.str, res.size, dir, err);
	if (adopted < 0)
		return -1;
	if (!adopted)
		return commit_dir_blob(s, lease, opts, dir, out, err);
	*out = (struct st_store_layer){
		.digest = res.diff_id,
		.diff_id = res.diff_id,
		.media_type = st_xstrdup(st_layer_media_type(ST_LAYER_COMP_NONE, false)),
		.size = res.size,
		.diff_size = res.size,
	};
	return 0;
}

int st_local_layer_find(struct st_store *s, const char *digest, struct st_store_layer *out,
			struct st_error **err)
{
	struct st_error *e = NULL;
	if (st_store_layer_get(s, digest, out, &e) == 0) {
		if (st_store_has_blob(s, digest))
			return 1;
		st_store_layer_release(out);
		return 0;
	}
	if (e->kind != ST_E_NOTFOUND) {
		*err = e;
		return -1;
	}
	st_error_free(e);
	/* An uncompressed layer's digest is its diff_id: its variants say whether it was one. */
	struct st_store_layer *v = NULL;
	size_t n = 0;
	if (st_store_layer_variants(s, digest, &v, &n, err) < 0)
		return -1;
	if (n > 0) {
		*out = (struct st_store_layer){ .digest = v[0].diff_id,
						.diff_id = v[0].diff_id,
						.media_type = st_xstrdup(
						    st_layer_media_type(ST_LAYER_COMP_NONE, false)),
						.size = v[0].diff_size,
						.diff_size = v[0].diff_size };
	}
	st_store_layers_free(v, n);
	if (n > 0)
		return 1;
	/* A layer a build committed as its directory (st_local_layer_commit_dir()). */
	uint64_t size;
	if (!st_store_unpacked_has(s, digest, &size))
		return 0;
	st_autofree char *dir = NULL;
	if (st_store_unpacked_path(s, digest, &dir, err) < 0)
		return -1;
	if (!st_path_exists(dir))
		return 0;
	if (st_digest_parse(digest, &out->digest, err) < 0)
		return -1;
	out->diff_id = out->digest;
	out->media_type = st_xstrdup(st_layer_media_type(ST_LAYER_COMP_NONE, false));
	out->size = out->diff_size = size;
	return 1;
}

int st_local_layer_open(struct st_store *s, const struct st_store_layer *l, int *fd,
			struct st_error **err)
{
	st_autofree char *dir = NULL;
	if (layer_bytes(s, l, false, fd, &dir, err) < 0)
		return -1;
	if (!dir)
		return 0;
	/* Only a directory: its tar is written once, as the layer's uncompressed blob. */
	struct st_store_layer made;
	if (st_local_layer_convert(s, NULL, l, ST_LAYER_COMP_NONE, 0, &made, err) < 0)
		return -1;
	int rc = st_store_open_blob(s, made.digest.str, fd, NULL, err);
	st_store_layer_release(&made);
	return rc;
}

void st_local_layer_writer_free(struct st_local_layer_writer *w)
{
	if (!w)
		return;
	st_layer_writer_free(w->layer);
	st_store_blob_writer_free(w->blob);
	free(w);
}

void st_local_layer_writer_freep(struct st_local_layer_writer **w)
{
	st_local_layer_writer_free(*w);
}

int st_local_layer_unpack(struct st_store *s, const char *diff_id, char *const *lowers, size_t n,
			  char **path, struct st_error **err)
{
	st_autofree char *dst = NULL;
	if (st_store_unpacked_path(s, diff_id, &dst, err) < 0)
		return -1;
	if (st_store_unpacked_has(s, diff_id, NULL) && st_path_exists(dst)) {
		*path = st_steal(&dst);
		return 0;
	}
	struct st_store_layer *v = NULL;
	size_t nv = 0;
	if (st_store_layer_variants(s, diff_id, &v, &nv, err) < 0)
		return -1;
	if (nv == 0)
		return st_err(err, ST_E_NOTFOUND, "layer %s: no blob recorded", diff_id);
	st_autofree char *blob = st_xstrdup(v[0].digest.str);
	uint64_t size = v[0].diff_size;
	st_store_layers_free(v, nv);

	st_autofree char *tmp = NULL;
	st_autoclose int lock = -1;
	if (st_store_tmp_mkdir(s, &tmp, &lock, err) < 0)
		return -1;
	st_autoclose int fd = -1;
	int rc = st_store_open_blob(s, blob, &fd, NULL, err);
	struct st_digest got;
	if (rc == 0) {
		struct st_layer_extract_opts o = { .mode = ST_LAYER_EXTRACT_OVERLAY,
						   .lowers = lowers,
						   .n_lowers = n };
		rc = st_layer_extract(st_layer_source_fd(&fd), tmp, &o, &got, err);
	}
	if (rc == 0 && strcmp(got.str, diff_id) != 0)
		rc = st_err(err, ST_E_DIGEST, "layer blob %s unpacks to %s, expected %s", blob,
			    got.str, diff_id);
	if (rc == 0 && rename(tmp, dst) < 0) {
		/* Another process unpacked it first: theirs is as good as ours. */
		if (errno != EEXIST && errno != ENOTEMPTY)
			rc = st_err_errno(err, "rename '%s' to '%s'", tmp, dst);
	}
	if (rc == 0)
		rc = st_store_unpacked_mark(s, diff_id, size, err);
	struct st_error *rmerr = NULL;
	if (st_path_exists(tmp) && st_rm_rf(tmp, &rmerr) < 0)
		st_error_free(rmerr);
	if (rc < 0)
		return st_err_wrap(err, "unpack layer %s", diff_id);
	*path = st_steal(&dst);
	return 0;
}

int st_local_lowers(struct st_store *s, const struct st_store_layer *layers, size_t nl,
		    struct st_store_lease *lease, char ***paths, size_t *n, struct st_error **err)
{
	/* Bottom first: a layer may hardlink files of the layers below, unpacked before it. */
	char **all = st_xcalloc(nl + 1, sizeof(*all));
	char **below = st_xcalloc(nl + 1, sizeof(*below)); /* top first, borrowed from 'all' */
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < nl; i++) {
		const char *diff = layers[i].diff_id.str;
		for (size_t j = 0; j < i; j++)
			below[j] = all[i - 1 - j];
		if (lease)
			rc = st_store_lease_add(lease, diff, err);
		if (rc == 0)
			rc = st_local_layer_unpack(s, diff, below, i, &all[i], err);
	}
	free(below);
	if (rc < 0) {
		st_strv_free(all, nl);
		return -1;
	}
	/*
	 * Top first, as overlay wants them. The same layer twice (two steps that wrote the same
	 * files) would be the same lowerdir twice, which overlayfs refuses (ELOOP); the lower
	 * copy changes nothing in the union, as the upper one shows, hides and deletes the same
	 * paths.
	 */
	char **v = st_xcalloc(nl + 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = nl; i-- > 0;) {
		bool seen = false;
		for (size_t j = i + 1; j < nl && !seen; j++)
			seen = st_digest_equal(&layers[i].diff_id, &layers[j].diff_id);
		if (seen)
			free(all[i]);
		else
			v[k++] = all[i];
	}
	free(all);
	*paths = v;
	*n = k;
	return 0;
}

static int write_tree(const char *dir, int fd, struct st_error **err)
{
	struct st_layer_writer_opts lo = { .compression = ST_LAYER_COMP_NONE };
	st_auto(st_layer_writer) struct st_layer_writer *w =
	    st_layer_writer_new(&lo, st_layer_sink_fd(&fd), err);
	struct st_layer_result res;
	if (!w || st_layer_writer_add_tree(w, dir, NULL, 0, err) < 0 ||
	    st_layer_writer_finish(w, &res, err) < 0)
		return -1;
	return 0;
}

int st_local_image_view(struct st_store *s, const struct st_store_image *img, st_local_view_fn fn,
			void *ctx, struct st_error **err)
{
	__attribute__((cleanup(st_store_lease_endp))) struct st_store_lease *lease = NULL;
	if (st_store_lease_begin(s, &lease, err) < 0)
		return -1;
	char **lowers = NULL;
	size_t nlowers = 0;
	if (st_local_lowers(s, img->layers, img->n_layers, lease, &lowers, &nlowers, err) < 0)
		return -1;
	st_autofree char *base = NULL;
	st_autoclose int lock = -1;
	st_auto_snapshot_step struct st_snapshot_step view = ST_SNAPSHOT_STEP_INIT;
	int rc = st_store_tmp_mkdir(s, &base, &lock, err);
	if (rc == 0)
		rc = st_snapshot_step_create(base, "view", &view, err);
	/* The upper dir stays empty: nothing writes to the view. */
	if (rc == 0)
		rc = st_snapshot_step_mount(&view, (const char *const *)lowers, nlowers, err);
	if (rc == 0)
		rc = fn(ctx, view.merged, err);
	/* Unmount first: st_rm_rf never descends into a mount, the view's or any other. */
	struct st_error *cerr = NULL;
	if (view.dir)
		st_snapshot_step_remove(&view, &cerr);
	if (!cerr && base)
		st_rm_rf(base, &cerr);
	if (cerr && rc == 0) {
		*err = cerr;
		rc = -1;
	} else {
		st_error_free(cerr);
	}
	st_strv_free(lowers, nlowers);
	return rc;
}

static int write_view(void *ctx, const char *root, struct st_error **err)
{
	return write_tree(root, *(int *)ctx, err);
}

int st_local_image_export(struct st_store *s, const struct st_store_image *img, int fd,
			  struct st_error **err)
{
	return st_local_image_view(s, img, write_view, &fd, err);
}
