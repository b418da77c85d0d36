/* manifest.c: media types, descriptors, image manifests and indexes (OCI and Docker schema2). */
#include "image/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/banned.h"

static const struct {
	const char *docker, *oci;
} twins[] = {
	{ ST_MT_DOCKER_MANIFEST, ST_MT_OCI_MANIFEST },
	{ ST_MT_DOCKER_MANIFEST_LIST, ST_MT_OCI_INDEX },
	{ ST_MT_DOCKER_CONFIG, ST_MT_OCI_CONFIG },
	{ ST_MT_DOCKER_LAYER, ST_MT_OCI_LAYER },
	{ ST_MT_DOCKER_LAYER_GZIP, ST_MT_OCI_LAYER_GZIP },
	{ ST_MT_DOCKER_LAYER_ZSTD, ST_MT_OCI_LAYER_ZSTD },
	{ ST_MT_DOCKER_LAYER_FOREIGN, ST_MT_OCI_LAYER_NONDIST_GZIP },
};

const char *st_image_mt_to_oci(const char *mt)
{
	for (size_t i = 0; mt && i < sizeof(twins) / sizeof(*twins); i++)
		if (strcmp(mt, twins[i].docker) == 0)
			return twins[i].oci;
	return mt;
}

enum st_image_compression st_image_mt_layer_compression(const char *mt)
{
	static const struct {
		const char *mt;
		enum st_image_compression c;
	} layers[] = {
		{ ST_MT_OCI_LAYER, ST_IMAGE_COMPRESSION_NONE },
		{ ST_MT_OCI_LAYER_GZIP, ST_IMAGE_COMPRESSION_GZIP },
		{ ST_MT_OCI_LAYER_ZSTD, ST_IMAGE_COMPRESSION_ZSTD },
		{ ST_MT_OCI_LAYER_NONDIST, ST_IMAGE_COMPRESSION_NONE },
		{ ST_MT_OCI_LAYER_NONDIST_GZIP, ST_IMAGE_COMPRESSION_GZIP },
		{ ST_MT_OCI_LAYER_NONDIST_ZSTD, ST_IMAGE_COMPRESSION_ZSTD },
		{ ST_MT_DOCKER_LAYER, ST_IMAGE_COMPRESSION_NONE },
		{ ST_MT_DOCKER_LAYER_GZIP, ST_IMAGE_COMPRESSION_GZIP },
		{ ST_MT_DOCKER_LAYER_ZSTD, ST_IMAGE_COMPRESSION_ZSTD },
		{ ST_MT_DOCKER_LAYER_FOREIGN, ST_IMAGE_COMPRESSION_GZIP },
	};
	for (size_t i = 0; mt && i < sizeof(layers) / sizeof(*layers); i++)
		if (strcmp(mt, layers[i].mt) == 0)
			return layers[i].c;
	return ST_IMAGE_COMPRESSION_UNKNOWN;
}

bool st_image_mt_is_layer(const char *mt)
{
	return st_image_mt_layer_compression(mt) != ST_IMAGE_COMPRESSION_UNKNOWN;
}

static bool is_manifest_mt(const char *mt)
{
	return strcmp(mt, ST_MT_OCI_MANIFEST) == 0 || strcmp(mt, ST_MT_DOCKER_MANIFEST) == 0;
}

static bool is_index_mt(const char *mt)
{
	return strcmp(mt, ST_MT_OCI_INDEX) == 0 || strcmp(mt, ST_MT_DOCKER_MANIFEST_LIST) == 0;
}

enum st_image_kind st_image_detect(const void *data, size_t len)
{
	json_t *j = json_loadb(data ? data : "", len, 0, NULL);
	enum st_image_kind k = ST_IMAGE_KIND_UNKNOWN;
	if (!json_is_object(j))
		goto out;
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	if (mt)
		k = is_manifest_mt(mt) ? ST_IMAGE_KIND_MANIFEST
		    : is_index_mt(mt)  ? ST_IMAGE_KIND_INDEX
				       : ST_IMAGE_KIND_UNKNOWN;
	else if (json_is_array(json_object_get(j, "manifests")))
		k = ST_IMAGE_KIND_INDEX;
	else if (json_is_object(json_object_get(j, "config")))
		k = ST_IMAGE_KIND_MANIFEST;
out:
	json_decref(j);
	return k;
}

/* ---- descriptors ---- */

void st_image_descriptor_release(struct st_image_descriptor *d)
{
	free(d->media_type);
	free(d->artifact_type);
	st_image_map_release(&d->annotations);
	for (size_t i = 0; i < d->n_urls; i++)
		free(d->urls[i]);
	free(d->urls);
	memset(d, 0, sizeof(*d));
}

void st_image_descriptor_copy(struct st_image_descriptor *dst,
			      const struct st_image_descriptor *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->media_type = src->media_type ? st_xstrdup(src->media_type) : NULL;
	dst->digest = src->digest;
	dst->size = src->size;
	dst->artifact_type = src->artifact_type ? st_xstrdup(src->artifact_type) : NULL;
	for (size_t i = 0; i < src->annotations.n; i++)
		st_image_map_set(&dst->annotations, src->annotations.v[i].key,
				 src->annotations.v[i].value);
	if (src->n_urls) {
		dst->urls = st_xcalloc(src->n_urls, sizeof(char *));
		for (size_t i = 0; i < src->n_urls; i++)
			dst->urls[i] = st_xstrdup(src->urls[i]);
		dst->n_urls = src->n_urls;
	}
	dst->has_platform = src->has_platform;
	dst->platform = src->platform;
}

static int parse_platform(const char *doc, const char *path, json_t *o, struct st_platform *p,
			  struct st_error **err)
{
	static const struct {
		const char *key;
		size_t off;
	} fields[] = {
		{ "architecture", offsetof(struct st_platform, architecture) },
		{ "os", offsetof(struct st_platform, os) },
		{ "variant", offsetof(struct st_platform, variant) },
		{ "os.version", offsetof(struct st_platform, os_version) },
	};
	if (!json_is_object(o))
		return st_err(err, ST_E_INVALID, "%s: %s: expected an object", doc, path);
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
		st_autofree char *s = NULL;
		bool required = i < 2;
		if (st_image_json_string(doc, path, o, fields[i].key, required, &s, err) < 0)
			return -1;
		if (s && strlen(s) >= ST_PLATFORM_FIELD_MAX)
			return st_err(err, ST_E_INVALID, "%s: %s.%s: too long", doc, path,
				      fields[i].key);
		if (s)
			memcpy((char *)p + fields[i].off, s, strlen(s) + 1);
	}
	return 0;
}

static int parse_descriptor(const char *doc, const char *path, json_t *o,
			    struct st_image_descriptor *d, struct st_error **err)
{
	st_autofree char *digest = NULL;
	memset(d, 0, sizeof(*d));
	if (!json_is_object(o))
		return st_err(err, ST_E_INVALID, "%s: %s: expected an object", doc, path);
	if (st_image_json_string(doc, path, o, "mediaType", true, &d->media_type, err) < 0 ||
	    st_image_json_string(doc, path, o, "digest", true, &digest, err) < 0 ||
	    st_image_json_string(doc, path, o, "artifactType", false, &d->artifact_type, err) < 0 ||
	    st_image_json_map(doc, path, o, "annotations", &d->annotations, err) < 0)
		return -1;
	if (!st_digest_valid(digest))
		return st_err(err, ST_E_INVALID, "%s: %s.digest: invalid digest '%s'", doc, path,
			      digest);
	memcpy(d->digest.str, digest, ST_DIGEST_STR_LEN + 1);
	json_t *size = json_object_get(o, "size");
	if (!size)
		return st_err(err, ST_E_INVALID, "%s: %s.size: missing", doc, path);
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return st_err(err, ST_E_INVALID, "%s: %s.size: expected a non-negative integer",
			      doc, path);
	d->size = json_integer_value(size);

	json_t *urls = json_object_get(o, "urls");
	if (urls && !json_is_null(urls)) {
		struct st_image_strv u = { 0 };
		if (st_image_json_strv(doc, path, o, "urls", &u, err) < 0)
			return -1;
		d->urls = u.v;
		d->n_urls = u.n;
	}
	json_t *plat = json_object_get(o, "platform");
	if (plat && !json_is_null(plat)) {
		st_autofree char *pp = st_image_jpath(path, "platform");
		if (parse_platform(doc, pp, plat, &d->platform, err) < 0)
			return -1;
		d->has_platform = true;
	}
	return 0;
}

static json_t *platform_json(const struct st_platform *p)
{
	/* the order of the fields in the OCI Go struct */
	json_t *o = json_object();
	json_object_set_new(o, "architecture", st_image_jstr(p->architecture));
	json_object_set_new(o, "os", st_image_jstr(p->os));
	if (p->os_version[0])
		json_object_set_new(o, "os.version", st_image_jstr(p->os_version));
	if (p->variant[0])
		json_object_set_new(o, "variant", st_image_jstr(p->variant));
	return o;
}

static json_t *descriptor_json(const struct st_image_descriptor *d, bool to_oci)
{
	json_t *o = json_object();
	const char *mt = d->media_type ? d->media_type : "";
	json_object_set_new(o, "mediaType", st_image_jstr(to_oci ? st_image_mt_to_oci(mt) : mt));
	json_object_set_new(o, "digest", st_image_jstr(d->digest.str));
	json_object_set_new(o, "size", json_integer(d->size));
	if (d->n_urls) {
		json_t *a = json_array();
		for (size_t i = 0; i < d->n_urls; i++)
			json_array_append_new(a, st_image_jstr(d->urls[i]));
		json_object_set_new(o, "urls", a);
	}
	if (d->annotations.n)
		json_object_set_new(o, "annotations", st_image_json_from_map(&d->annotations));
	if (d->has_platform)
		json_object_set_new(o, "platform", platform_json(&d->platform));
	if (d->artifact_type)
		json_object_set_new(o, "artifactType", st_image_jstr(d->artifact_type));
	return o;
}

static int parse_schema_version(const char *doc, json_t *j, int *out, struct st_error **err)
{
	json_t *v = json_object_get(j, "schemaVersion");
	if (!v)
		return st_err(err, ST_E_INVALID, "%s: schemaVersion: missing", doc);
	if (!json_is_integer(v) || json_integer_value(v) != 2)
		return st_err(err, ST_E_INVALID, "%s: schemaVersion: unsupported (want 2)", doc);
	*out = 2;
	return 0;
}

static int parse_descriptor_array(const char *doc, json_t *j, const char *key,
				  struct st_image_descriptor **out, size_t *n,
				  struct st_error **err)
{
	json_t *a = json_object_get(j, key);
	size_t i;
	json_t *e;
	if (!a)
		return st_err(err, ST_E_INVALID, "%s: %s: missing", doc, key);
	if (json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return st_err(err, ST_E_INVALID, "%s: %s: expected an array", doc, key);
	*out = st_xcalloc(json_array_size(a) ? json_array_size(a) : 1, sizeof(**out));
	json_array_foreach(a, i, e)
	{
		char path[64];
		snprintf(path, sizeof(path), "%s[%zu]", key, i);
		if (parse_descriptor(doc, path, e, &(*out)[i], err) < 0) {
			st_image_descriptor_release(&(*out)[i]);
			return -1;
		}
		(*n)++;
	}
	return 0;
}

static int parse_subject(const char *doc, json_t *j, struct st_image_descriptor **out,
			 struct st_error **err)
{
	json_t *s = json_object_get(j, "subject");
	if (!s || json_is_null(s))
		return 0;
	*out = st_xcalloc(1, sizeof(**out));
	return parse_descriptor(doc, "subject", s, *out, err);
}

/* ---- manifests ---- */

struct st_image_manifest *st_image_manifest_new(void)
{
	struct st_image_manifest *m = st_xcalloc(1, sizeof(*m));
	m->schema_version = 2;
	m->media_type = st_xstrdup(ST_MT_OCI_MANIFEST);
	m->config.media_type = st_xstrdup(ST_MT_OCI_CONFIG);
	return m;
}

void st_image_manifest_free(struct st_image_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	free(m->artifact_type);
	st_image_descriptor_release(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		st_image_descriptor_release(&m->layers[i]);
	free(m->layers);
	if (m->subject)
		st_image_descriptor_release(m->subject);
	free(m->subject);
	st_image_map_release(&m->annotations);
	free(m);
}

void st_image_manifest_freep(struct st_image_manifest **m)
{
	st_image_manifest_free(*m);
}

int st_image_manifest_parse(const void *data, size_t len, struct st_image_manifest **out,
			    struct st_error **err)
{
	static const char doc[] = "manifest";
	json_t *j = st_image_json_load(doc, data, len, err);
	if (!j)
		return -1;
	st_auto(st_image_manifest) struct st_image_manifest *m = st_xcalloc(1, sizeof(*m));
	int rc = -1;
	if (parse_schema_version(doc, j, &m->schema_version, err) < 0 ||
	    st_image_json_string(doc, "", j, "mediaType", false, &m->media_type, err) < 0 ||
	    st_image_json_string(doc, "", j, "artifactType", false, &m->artifact_type, err) < 0)
		goto out;
	if (m->media_type && !is_manifest_mt(m->media_type)) {
		st_err(err, ST_E_INVALID, "%s: mediaType: unexpected '%s'", doc, m->media_type);
		goto out;
	}
	if (!json_object_get(j, "config")) {
		st_err(err, ST_E_INVALID, "%s: config: missing", doc);
		goto out;
	}
	if (parse_descriptor(doc, "config", json_object_get(j, "config"), &m->config, err) < 0 ||
	    parse_descriptor_array(doc, j, "layers", &m->layers, &m->n_layers, err) < 0 ||
	    parse_subject(doc, j, &m->subject, err) < 0 ||
	    st_image_json_map(doc, "", j, "annotations", &m->annotations, err) < 0)
		goto out;
	/*
	 * Layer media types are not checked: attestation manifests and artifacts carry
	 * in-toto or other blobs there, and the consumer decides what it can unpack.
	 */
	*out = st_steal(&m);
	rc = 0;
out:
	json_decref(j);
	return rc;
}

static void manifest_serialize(const struct st_image_manifest *m, bool oci, struct st_buf *out)
{
	json_t *o = json_object();
	json_object_set_new(o, "schemaVersion", json_integer(2));
	json_object_set_new(o, "mediaType",
			    st_image_jstr(oci ? ST_MT_OCI_MANIFEST : ST_MT_DOCKER_MANIFEST));
	if (m->artifact_type)
		json_object_set_new(o, "artifactType", st_image_jstr(m->artifact_type));
	json_object_set_new(o, "config", descriptor_json(&m->config, oci));
	json_t *layers = json_array();
	for (size_t i = 0; i < m->n_layers; i++)
		json_array_append_new(layers, descriptor_json(&m->layers[i], oci));
	json_object_set_new(o, "layers", layers);
	if (m->subject)
		json_object_set_new(o, "subject", descriptor_json(m->subject, false));
	if (m->annotations.n)
		json_object_set_new(o, "annotations", st_image_json_from_map(&m->annotations));
	st_image_json_dump(o, out);
	json_decref(o);
}

void st_image_manifest_serialize(const struct st_image_manifest *m, struct st_buf *out)
{
	manifest_serialize(m, true, out);
}

void st_image_manifest_serialize_docker(const struct st_image_manifest *m, struct st_buf *out)
{
	manifest_serialize(m, false, out);
}

void st_image_manifest_add_layer(struct st_image_manifest *m, const struct st_image_descriptor *d)
{
	m->layers = st_xrealloc(m->layers, (m->n_layers + 1) * sizeof(*m->layers));
	st_image_descriptor_copy(&m->layers[m->n_layers++], d);
}

/* ---- indexes ---- */

struct st_image_index *st_image_index_new(void)
{
	struct st_image_index *idx = st_xcalloc(1, sizeof(*idx));
	idx->schema_version = 2;
	idx->media_type = st_xstrdup(ST_MT_OCI_INDEX);
	return idx;
}

void st_image_index_free(struct st_image_index *idx)
{
	if (!idx)
		return;
	free(idx->media_type);
	free(idx->artifact_type);
	for (size_t i = 0; i < idx->n_manifests; i++)
		st_image_descriptor_release(&idx->manifests[i]);
	free(idx->manifests);
	if (idx->subject)
		st_image_descriptor_release(idx->subject);
	free(idx->subject);
	st_image_map_release(&idx->annotations);
	free(idx);
}

void st_image_index_freep(struct st_image_index **idx)
{
	st_image_index_free(*idx);
}

int st_image_index_parse(const void *data, size_t len, struct st_image_index **out,
			 struct st_error **err)
{
	static const char doc[] = "index";
	json_t *j = st_image_json_load(doc, data, len, err);
	if (!j)
		return -1;
	st_auto(st_image_index) struct st_image_index *idx = st_xcalloc(1, sizeof(*idx));
	int rc = -1;
	if (parse_schema_version(doc, j, &idx->schema_version, err) < 0 ||
	    st_image_json_string(doc, "", j, "mediaType", false, &idx->media_type, err) < 0 ||
	    st_image_json_string(doc, "", j, "artifactType", false, &idx->artifact_type, err) < 0)
		goto out;
	if (idx->media_type && !is_index_mt(idx->media_type)) {
		st_err(err, ST_E_INVALID, "%s: mediaType: unexpected '%s'", doc, idx->media_type);
		goto out;
	}
	if (parse_descriptor_array(doc, j, "manifests", &idx->manifests, &idx->n_manifests, err) <
		0 ||
	    parse_subject(doc, j, &idx->subject, err) < 0 ||
	    st_image_json_map(doc, "", j, "annotations", &idx->annotations, err) < 0)
		goto out;
	*out = st_steal(&idx);
	rc = 0;
out:
	json_decref(j);
	return rc;
}

void st_image_index_serialize(const struct st_image_index *idx, struct st_buf *out)
{
	json_t *o = json_object();
	json_object_set_new(o, "schemaVersion", json_integer(2));
	json_object_set_new(o, "mediaType", st_image_jstr(ST_MT_OCI_INDEX));
	if (idx->artifact_type)
		json_object_set_new(o, "artifactType", st_image_jstr(idx->artifact_type));
	json_t *a = json_array();
	for (size_t i = 0; i < idx->n_manifests; i++)
		json_array_append_new(a, descriptor_json(&idx->manifests[i], false));
	json_object_set_new(o, "manifests", a);
	if (idx->subject)
		json_object_set_new(o, "subject", descriptor_json(idx->subject, false));
	if (idx->annotations.n)
		json_object_set_new(o, "annotations", st_image_json_from_map(&idx->annotations));
	st_image_json_dump(o, out);
	json_decref(o);
}

void st_image_index_add(struct st_image_index *idx, const struct st_image_descriptor *d)
{
	idx->manifests =
	    st_xrealloc(idx->manifests, (idx->n_manifests + 1) * sizeof(*idx->manifests));
	st_image_descriptor_copy(&idx->manifests[idx->n_manifests++], d);
}

const struct st_image_descriptor *st_image_index_select(const struct st_image_index *idx,
							const struct st_platform *want,
							struct st_error **err)
{
	const struct st_image_descriptor *best = NULL;
	struct st_platform w = *want;
	st_platform_normalize(&w);
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct st_image_descriptor *d = &idx->manifests[i];
		if (!d->has_platform || !st_platform_match(&w, &d->platform))
			continue;
		struct st_platform h = d->platform;
		st_platform_normalize(&h);
		if (strcmp(h.variant, w.variant) == 0)
			return d; /* exact */
		if (!best)
			best = d;
		else {
			/* among compatible ones prefer the highest level ("v7" over "v6") */
			struct st_platform b = best->platform;
			st_platform_normalize(&b);
			if (strcmp(h.variant, b.variant) > 0)
				best = d;
		}
	}
	if (!best) {
		struct st_buf b = ST_BUF_INIT;
		st_platform_format(&w, &b);
		st_err(err, ST_E_NOTFOUND,
		       "no matching manifest for %s in the manifest list entries", st_buf_str(&b));
		st_buf_release(&b);
	}
	return best;
}
