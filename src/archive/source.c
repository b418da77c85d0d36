/*
 * source.c: an image read in place from a docker-archive, an OCI archive or an OCI layout
 * directory, without loading it into a store. The metadata (manifest.json, or index.json and
 * the manifest) and the config are read when the image is opened; a layer is streamed from the
 * archive when asked for. A tar is scanned again for each entry it is asked for: only headers
 * are read on the way (libarchive skips the data of a file it can seek in), which costs far
 * less than copying the layers out.
 */
#include "archive/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive/internal.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

struct st_archive_image {
	char *path;
	enum st_archive_format format;
	struct st_image_config *config;
	struct st_buf config_bytes; /* as the archive holds them */
	char **layer_names; /* entry names in the tar, or paths under the layout directory */
	struct st_digest *digests;
	size_t n_layers;
	struct st_buf manifest; /* an OCI layout's, as it is there; none in a docker-archive */
	struct st_digest manifest_digest;
	int fd;		      /* the layer being read from a directory */
	struct archive *open; /* the layer being read from a tar */
};

/* ---- entries ---- */

/* The tar at 'path' positioned at entry 'name'; ST_E_NOTFOUND if it has none. */
static int tar_seek(const char *path, const char *name, struct archive **out, struct st_error **err)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, ST_ARCHIVE_CHUNK) != ARCHIVE_OK) {
		st_err(err, ST_E_PARSE, "%s: %s", path, archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	struct archive_entry *e;
	int rc;
	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
		st_autofree char *n = NULL;
		struct st_error *nerr = NULL;
		if (st_archive_entry_name(archive_entry_pathname(e), &n, &nerr) < 0) {
			st_error_free(nerr);
			continue;
		}
		if (!strcmp(n, name) && archive_entry_filetype(e) == AE_IFREG) {
			*out = a;
			return 0;
		}
	}
	if (rc == ARCHIVE_EOF)
		st_err(err, ST_E_NOTFOUND, "%s: no entry '%s'", path, name);
	else
		st_err(err, ST_E_PARSE, "%s: %s", path, archive_error_string(a));
	archive_read_free(a);
	return -1;
}

#define MAX_METADATA (64u << 20)

/* A small file of the archive (JSON) into 'out'. */
static int read_entry(const struct st_archive_image *img, const char *name, struct st_buf *out,
		      struct st_error **err)
{
	if (img->format == ST_ARCHIVE_OCI_DIR) {
		st_autofree char *p = st_path_join(img->path, name);
		return st_read_file(p, out, err);
	}
	struct archive *a = NULL;
	if (tar_seek(img->path, name, &a, err) < 0)
		return -1;
	char buf[65536];
	la_ssize_t k;
	while ((k = archive_read_data(a, buf, sizeof(buf))) > 0) {
		st_buf_add(out, buf, (size_t)k);
		if (out->len > MAX_METADATA) {
			k = 0;
			break;
		}
	}
	int rc = 0;
	if (k < 0)
		rc =
		    st_err(err, ST_E_PARSE, "%s: %s: %s", img->path, name, archive_error_string(a));
	else if (out->len > MAX_METADATA)
		rc = st_err(err, ST_E_INVALID, "%s: %s: larger than %u MiB", img->path, name,
			    MAX_METADATA >> 20);
	archive_read_free(a);
	return rc;
}

static char *blob_name(const struct st_digest *d)
{
	return st_xasprintf("blobs/sha256/%s", st_digest_hex(d));
}

/* ---- the image's metadata ---- */

static int read_config(struct st_archive_image *img, const char *name, struct st_error **err)
{
	struct st_buf *b = &img->config_bytes;
	if (read_entry(img, name, b, err) < 0)
		return -1;
	if (st_image_config_parse(b->data, b->len, &img->config, err) < 0)
		return st_err_wrap(err, "%s: %s", img->path, name);
	return 0;
}

static bool tag_matches(const char *have, const char *want)
{
	return !want || (have && !strcmp(have, want));
}

/* docker-archive: manifest.json lists each image's config and layer entries. */
static int open_docker(struct st_archive_image *img, const char *name, struct st_error **err)
{
	struct st_buf b = ST_BUF_INIT;
	if (read_entry(img, "manifest.json", &b, err) < 0)
		return -1;
	json_error_t je;
	json_t *doc = json_loadb(b.data, b.len, 0, &je);
	st_buf_release(&b);
	if (!json_is_array(doc)) {
		json_decref(doc);
		return st_err(err, ST_E_PARSE, "%s: manifest.json: expected an array of images",
			      img->path);
	}
	/* "me/bb:1" finds the "docker.io/me/bb:1" that skopeo writes, as load does */
	st_autofree char *full_name = NULL;
	struct st_error *nerr = NULL;
	if (name && st_local_ref_normalize(name, &full_name, &nerr) < 0)
		st_error_free(nerr);
	json_t *pick = NULL;
	size_t i;
	json_t *m;
	json_array_foreach(doc, i, m)
	{
		json_t *tags = json_object_get(m, "RepoTags");
		size_t k;
		json_t *t;
		bool hit = !name;
		json_array_foreach(tags, k, t)
		{
			const char *tag = json_string_value(t);
			st_autofree char *full = NULL;
			nerr = NULL;
			if (tag && full_name && st_local_ref_normalize(tag, &full, &nerr) < 0)
				st_error_free(nerr);
			hit |= tag_matches(tag, name) || (full && !strcmp(full, full_name));
		}
		if (hit && !pick)
			pick = m;
	}
	int rc = 0;
	if (!pick || (!name && json_array_size(doc) > 1)) {
		rc = !name ? st_err(err, ST_E_INVALID,
				    "%s holds %zu images: name one (docker-archive:%s:NAME)",
				    img->path, json_array_size(doc), img->path)
			   : st_err(err, ST_E_NOTFOUND, "%s: no image named '%s'", img->path, name);
		json_decref(doc);
		return rc;
	}
	const char *config = json_string_value(json_object_get(pick, "Config"));
	json_t *layers = json_object_get(pick, "Layers");
	if (!config || !json_is_array(layers))
		rc = st_err(err, ST_E_PARSE, "%s: manifest.json: an image without Config or Layers",
			    img->path);
	if (rc == 0)
		rc = read_config(img, config, err);
	img->n_layers = rc == 0 ? json_array_size(layers) : 0;
	img->layer_names = st_xcalloc(img->n_layers + 1, sizeof(*img->layer_names));
	img->digests = st_xcalloc(img->n_layers + 1, sizeof(*img->digests));
	for (i = 0; rc == 0 && i < img->n_layers; i++) {
		const char *l = json_string_value(json_array_get(layers, i));
		if (!l) {
			rc = st_err(err, ST_E_PARSE, "%s: manifest.json: Layers[%zu] is not a path",
				    img->path, i);
			break;
		}
		img->layer_names[i] = st_xstrdup(l);
		/* blobs/sha256/<hex> names its digest; an old <id>/layer.tar is its diff_id */
		if (strncmp(l, "blobs/sha256/", 13) ||
		    st_digest_from_hex(l + 13, &img->digests[i], NULL) < 0) {
			if (i < img->config->n_diff_ids)
				img->digests[i] = img->config->diff_ids[i];
		}
	}
	json_decref(doc);
	return rc;
}

/* OCI layout: index.json, the manifest it names (the host's platform of an index), the config. */
static int open_oci(struct st_archive_image *img, const char *name,
		    const struct st_platform *platform, struct st_error **err)
{
	struct st_buf b = ST_BUF_INIT;
	if (read_entry(img, "index.json", &b, err) < 0)
		return -1;
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	int rc = st_image_index_parse(b.data, b.len, &idx, err);
	st_buf_release(&b);
	if (rc < 0)
		return st_err_wrap(err, "%s: index.json", img->path);
	/* "t:1" finds the docker.io/library/t:1 that containerd's annotation names */
	st_autofree char *full_name = NULL;
	struct st_error *nerr = NULL;
	if (name && st_local_ref_normalize(name, &full_name, &nerr) < 0)
		st_error_free(nerr);
	const struct st_image_descriptor *pick = NULL;
	size_t n = 0;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct st_image_descriptor *d = &idx->manifests[i];
		const char *ref =
		    st_image_map_get(&d->annotations, "org.opencontainers.image.ref.name");
		const char *full = st_image_map_get(&d->annotations, "io.containerd.image.name");
		if (!name || tag_matches(ref, name) || tag_matches(full, name) ||
		    (full_name && tag_matches(full, full_name))) {
			pick = pick ? pick : d;
			n++;
		}
	}
	if (!pick)
		return name ? st_err(err, ST_E_NOTFOUND, "%s: no image named '%s'", img->path, name)
			    : st_err(err, ST_E_INVALID, "%s: no image", img->path);
	if (!name && n > 1)
		return st_err(err, ST_E_INVALID, "%s holds %zu images: name one (%s:NAME)",
			      img->path, n, st_archive_format_name(img->format));
	struct st_digest md = pick->digest;
	for (int depth = 0;; depth++) {
		st_autofree char *mname = blob_name(&md);
		if (read_entry(img, mname, &b, err) < 0)
			return -1;
		json_error_t je;
		json_t *doc = json_loadb(b.data, b.len, 0, &je);
		const char *mt = json_string_value(json_object_get(doc, "mediaType"));
		bool is_index = json_object_get(doc, "manifests") ||
				(mt && (strstr(mt, "index") || strstr(mt, "manifest.list")));
		json_decref(doc);
		if (!is_index)
			break;
		/* an index of platforms: the one asked for, else the host's, as load picks it */
		st_auto(st_image_index) struct st_image_index *sub = NULL;
		struct st_platform host;
		st_platform_host(&host);
		const struct st_image_descriptor *d = NULL;
		if (depth > 2 || st_image_index_parse(b.data, b.len, &sub, err) < 0 ||
		    !(d = st_image_index_select(sub, platform ? platform : &host, err))) {
			st_buf_release(&b);
			return depth > 2 ? st_err(err, ST_E_INVALID, "%s: indexes nest too deep",
						  img->path)
					 : st_err_wrap(err, "%s: %s", img->path, mname);
		}
		md = d->digest;
		st_buf_reset(&b);
	}
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	rc = st_image_manifest_parse(b.data, b.len, &m, err);
	img->manifest = b;
	img->manifest_digest = md;
	if (rc < 0)
		return st_err_wrap(err, "%s: manifest %s", img->path, md.str);
	st_autofree char *cname = blob_name(&m->config.digest);
	if (read_config(img, cname, err) < 0)
		return -1;
	img->n_layers = m->n_layers;
	img->layer_names = st_xcalloc(m->n_layers + 1, sizeof(*img->layer_names));
	img->digests = st_xcalloc(m->n_layers + 1, sizeof(*img->digests));
	for (size_t i = 0; i < m->n_layers; i++) {
		img->layer_names[i] = blob_name(&m->layers[i].digest);
		img->digests[i] = m->layers[i].digest;
	}
	return 0;
}

int st_archive_image_open(const char *path, enum st_archive_format format, const char *name,
			  const struct st_platform *platform, struct st_archive_image **out,
			  struct st_error **err)
{
	st_auto(st_archive_image) struct st_archive_image *img = st_xcalloc(1, sizeof(*img));
	img->path = st_xstrdup(path);
	img->fd = -1;
	if (!st_path_exists(path))
		return st_err(err, ST_E_NOTFOUND, "%s: no such file or directory", path);
	if (format == ST_ARCHIVE_UNKNOWN && st_archive_detect_path(path, &format, err) < 0)
		return -1;
	img->format = format;
	int rc;
	switch (format) {
	case ST_ARCHIVE_DOCKER:
		rc = open_docker(img, name, err);
		break;
	case ST_ARCHIVE_OCI_ARCHIVE:
	case ST_ARCHIVE_OCI_DIR:
		rc = open_oci(img, name, platform, err);
		break;
	default:
		rc = st_err(err, ST_E_INVALID,
			    "%s: neither a docker-archive nor an OCI layout or archive", path);
	}
	if (rc < 0)
		return -1;
	if (img->config->n_diff_ids != img->n_layers)
		return st_err(err, ST_E_INVALID,
			      "%s: the config lists %zu layers, the manifest %zu", path,
			      img->config->n_diff_ids, img->n_layers);
	*out = st_steal(&img);
	return 0;
}

static ssize_t tar_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	struct archive *a = ctx;
	la_ssize_t k = archive_read_data(a, buf, n);
	if (k < 0)
		return st_err(err, ST_E_PARSE, "%s", archive_error_string(a));
	return (ssize_t)k;
}

static void layer_close(void *ctx, size_t i)
{
	struct st_archive_image *img = ctx;
	(void)i;
	if (img->open)
		archive_read_free(img->open);
	img->open = NULL;
	if (img->fd >= 0)
		close(img->fd);
	img->fd = -1;
}

/* Entry 'name' through *src, valid until layer_close() or the next open. */
static int entry_open(struct st_archive_image *img, const char *name, struct st_layer_source *src,
		      struct st_error **err)
{
	layer_close(img, 0);
	if (img->format == ST_ARCHIVE_OCI_DIR) {
		st_autofree char *p = st_path_join(img->path, name);
		img->fd = open(p, O_RDONLY | O_CLOEXEC);
		if (img->fd < 0)
			return st_err_errno(err, "open '%s'", p);
		*src = st_layer_source_fd(&img->fd);
		return 0;
	}
	if (tar_seek(img->path, name, &img->open, err) < 0)
		return -1;
	*src = (struct st_layer_source){ .read = tar_read, .ctx = img->open };
	return 0;
}

static int layer_open(void *ctx, size_t i, struct st_layer_source *src, struct st_error **err)
{
	struct st_archive_image *img = ctx;
	return entry_open(img, img->layer_names[i], src, err);
}

static int blob_open(void *ctx, const struct st_digest *d, struct st_layer_source *src,
		     struct st_error **err)
{
	st_autofree char *name = blob_name(d);
	return entry_open(ctx, name, src, err);
}

static void blob_close(void *ctx)
{
	layer_close(ctx, 0);
}

int st_archive_image_source(struct st_archive_image *img, struct st_local_source *out,
			    struct st_error **err)
{
	if (!img->manifest.len)
		return st_err(err, ST_E_INVALID, "%s: a docker-archive has no manifest to keep",
			      img->path);
	*out = (struct st_local_source){ .manifest = img->manifest.data,
					 .manifest_len = img->manifest.len,
					 .manifest_digest = img->manifest_digest,
					 .open = blob_open,
					 .close = blob_close,
					 .ctx = img };
	return 0;
}

void st_archive_image_layers(struct st_archive_image *img, struct st_local_layers *out)
{
	*out = (struct st_local_layers){ .config = img->config,
					 .digests = img->digests,
					 .diff_ids = img->config->diff_ids,
					 .n_layers = img->n_layers,
					 .open = layer_open,
					 .close = layer_close,
					 .ctx = img };
}

const struct st_buf *st_archive_image_config_bytes(const struct st_archive_image *img)
{
	return &img->config_bytes;
}

const char *st_archive_image_layer_name(const struct st_archive_image *img, size_t i)
{
	return img->layer_names[i];
}

void st_archive_image_free(struct st_archive_image *img)
{
	if (!img)
		return;
	layer_close(img, 0);
	st_image_config_free(img->config);
	st_buf_release(&img->config_bytes);
	for (size_t i = 0; i < img->n_layers; i++)
		free(img->layer_names[i]);
	free(img->layer_names);
	free(img->digests);
	st_buf_release(&img->manifest);
	free(img->path);
	free(img);
}

void st_archive_image_freep(struct st_archive_image **img)
{
	st_archive_image_free(*img);
}
