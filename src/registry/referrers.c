/*
 * referrers.c: artifacts about an image (OCI 1.1 "subject"): pushing one, and listing them.
 *
 * A registry with the referrers API indexes a manifest's subject itself and says so with
 * OCI-Subject when the manifest is pushed; one without it (the distribution registry up to 3.x)
 * answers GET /v2/<name>/referrers/<digest> with 404. Then the client keeps the list as the
 * distribution spec says: an OCI index under the tag "sha256-<hex>" of the subject, read,
 * changed and written back by whoever adds a referrer. Two writers at once can lose one of
 * their entries: the spec has no lock, and neither has any client.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static void json_freep(json_t **j)
{
	json_decref(*j);
}
#define autojson __attribute__((cleanup(json_freep)))

/* The fallback tag of 'subject': "sha256-<hex>". New reference. */
static struct st_image_ref *fallback_ref(const struct st_image_ref *ref,
					 const struct st_digest *subject, struct st_error **err)
{
	struct st_image_ref *to = st_image_ref_dup(ref);
	free(to->digest);
	to->digest = NULL;
	st_autofree char *tag = st_xasprintf("sha256-%s", st_digest_hex(subject));
	if (st_image_ref_set_tag(to, tag, err) < 0) {
		st_image_ref_free(to);
		return NULL;
	}
	return to;
}

/* The fallback tag's index (a new document; an empty index when there is no such tag). */
static int fallback_get(struct st_registry *r, const struct st_image_ref *ref,
			const struct st_digest *subject, json_t **out, struct st_error **err)
{
	st_auto(st_image_ref) struct st_image_ref *tag = fallback_ref(ref, subject, err);
	if (!tag)
		return -1;
	struct st_registry_manifest m = { ST_BUF_INIT, NULL, { "" } };
	struct st_error *e = NULL;
	if (st_registry_get_manifest(r, tag, &m, &e) < 0) {
		if (e->kind != ST_E_NOTFOUND) {
			*err = e;
			return -1;
		}
		st_error_free(e);
		*out = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
				 ST_MT_OCI_INDEX, "manifests");
		return 0;
	}
	json_error_t je;
	*out = json_loadb(m.bytes.data, m.bytes.len, 0, &je);
	st_registry_manifest_release(&m);
	if (!json_is_array(json_object_get(*out, "manifests"))) {
		json_decref(*out);
		*out = NULL;
		return st_err(err, ST_E_PARSE, "%s: the referrers tag is not an index",
			      st_image_ref_tag(tag));
	}
	return 0;
}

int st_registry_referrers(struct st_registry *r, const struct st_image_ref *ref,
			  const struct st_digest *subject, const char *artifact_type,
			  struct st_buf *out, struct st_error **err)
{
	json_t *found = NULL;
	bool filtered = false;
	int rc = registry_referrers_api(r, ref, subject, artifact_type, &found, &filtered, err);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		autojson json_t *idx = NULL;
		if (fallback_get(r, ref, subject, &idx, err) < 0)
			return st_err_wrap(err, "referrers of %s", subject->str);
		found = json_incref(json_object_get(idx, "manifests"));
	}
	autojson json_t *list = found;
	autojson json_t *doc = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
					 ST_MT_OCI_INDEX, "manifests");
	json_t *ms = json_object_get(doc, "manifests");
	size_t i;
	json_t *d;
	json_array_foreach(list, i, d)
	{
		const char *t = json_string_value(json_object_get(d, "artifactType"));
		/* A registry may ignore the filter (no OCI-Filters-Applied): apply it here. */
		if (!artifact_type || filtered || (t && !strcmp(t, artifact_type)))
			json_array_append(ms, d);
	}
	st_autofree char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	st_buf_add(out, text, strlen(text));
	return 0;
}

/* A body read from memory. */
struct mem {
	const char *p;
	size_t len, off;
};

static ssize_t mem_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	struct mem *m = ctx;
	size_t k = m->len - m->off < n ? m->len - m->off : n;
	memcpy(buf, m->p + m->off, k);
	m->off += k;
	return (ssize_t)k;
}

static int mem_rewind(void *ctx, struct st_error **err)
{
	((struct mem *)ctx)->off = 0;
	return 0;
}

/* Upload 'len' bytes at 'p' unless the repository has them; *d receives their digest. */
static int push_bytes(struct st_registry *r, const struct st_image_ref *ref, const void *p,
		      size_t len, struct st_digest *d, struct st_error **err)
{
	st_digest_of(p, len, d);
	bool exists = false;
	if (st_registry_blob_exists(r, ref, d, &exists, err) < 0)
		return -1;
	if (exists)
		return 0;
	struct mem m = { p, len, 0 };
	struct st_http_body_reader body = { mem_read, mem_rewind, &m, len };
	bool mounted;
	return st_registry_push_blob(r, ref, d, &body, NULL, &mounted, err);
}

static json_t *descriptor(const char *media_type, const struct st_digest *d, size_t size)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", d->str, "size",
			 (json_int_t)size);
}

/* Add the artifact's descriptor to the fallback tag's index, replacing an older copy. */
static int fallback_add(struct st_registry *r, const struct st_image_ref *ref,
			const struct st_digest *subject, json_t *entry, struct st_error **err)
{
	autojson json_t *idx = NULL;
	if (fallback_get(r, ref, subject, &idx, err) < 0)
		return -1;
	json_t *ms = json_object_get(idx, "manifests");
	const char *digest = json_string_value(json_object_get(entry, "digest"));
	for (size_t i = 0; i < json_array_size(ms); i++) {
		const char *have =
		    json_string_value(json_object_get(json_array_get(ms, i), "digest"));
		if (have && !strcmp(have, digest))
			json_array_remove(ms, i--);
	}
	json_array_append(ms, entry);
	st_autofree char *text = json_dumps(idx, JSON_COMPACT | JSON_PRESERVE_ORDER);
	st_auto(st_image_ref) struct st_image_ref *tag = fallback_ref(ref, subject, err);
	if (!tag)
		return -1;
	return st_registry_put_manifest(r, tag, ST_MT_OCI_INDEX, text, strlen(text), err);
}

int st_registry_push_referrer(struct st_registry *r, const struct st_image_ref *ref,
			      const struct st_digest *subject, const void *bytes, size_t len,
			      struct st_error **err)
{
	json_error_t je;
	autojson json_t *m = json_loadb(bytes, len, 0, &je);
	if (!m)
		return st_err(err, ST_E_PARSE, "the artifact is not JSON: %s", je.text);
	struct st_digest digest;
	st_digest_of(bytes, len, &digest);
	st_auto(st_image_ref) struct st_image_ref *by_digest =
	    st_image_ref_at_digest(ref, digest.str);
	const char *mt = json_string_value(json_object_get(m, "mediaType"));
	bool indexed = false;
	if (registry_put_manifest(r, by_digest, mt ? mt : ST_MT_OCI_MANIFEST, bytes, len, &indexed,
				  err) < 0)
		return -1;
	if (indexed)
		return 0;
	/* The list carries the artifact's type and annotations, as the API's answer does: the
	 * type is the config's media type when the manifest names none. */
	const char *type = json_string_value(json_object_get(m, "artifactType"));
	if (!type)
		type =
		    json_string_value(json_object_get(json_object_get(m, "config"), "mediaType"));
	autojson json_t *entry = descriptor(mt ? mt : ST_MT_OCI_MANIFEST, &digest, len);
	if (type)
		json_object_set_new(entry, "artifactType", json_string(type));
	json_t *ann = json_object_get(m, "annotations");
	if (json_object_size(ann))
		json_object_set(entry, "annotations", ann);
	return fallback_add(r, ref, subject, entry, err);
}

int st_registry_attach(struct st_registry *r, const struct st_image_ref *ref,
		       const struct st_registry_artifact *a, struct st_digest *digest,
		       struct st_error **err)
{
	struct st_registry_manifest subj = { ST_BUF_INIT, NULL, { "" } };
	if (st_registry_get_manifest(r, ref, &subj, err) < 0)
		return -1;
	st_autofree char *subj_mt = st_xstrdup(subj.media_type);
	struct st_digest subject = subj.digest;
	size_t subj_size = subj.bytes.len;
	st_registry_manifest_release(&subj);

	autojson json_t *m = json_object();
	json_object_set_new(m, "schemaVersion", json_integer(2));
	json_object_set_new(m, "mediaType", json_string(ST_MT_OCI_MANIFEST));
	json_object_set_new(m, "artifactType", json_string(a->artifact_type));
	struct st_digest d;
	/* No config of its own: the spec's empty descriptor, "{}". */
	if (push_bytes(r, ref, "{}", 2, &d, err) < 0)
		return -1;
	json_object_set_new(m, "config", descriptor(ST_MT_OCI_EMPTY, &d, 2));
	json_t *layers = json_array();
	json_object_set_new(m, "layers", layers);
	for (size_t i = 0; i < a->n_files; i++) {
		struct st_buf b = ST_BUF_INIT;
		int rc = st_read_file(a->files[i], &b, err);
		if (rc == 0)
			rc = push_bytes(r, ref, b.data ? b.data : "", b.len, &d, err);
		size_t len = b.len;
		st_buf_release(&b);
		if (rc < 0)
			return st_err_wrap(err, "%s", a->files[i]);
		const char *base = strrchr(a->files[i], '/');
		/* oras's media type for a file, with its name as the title, as oras pulls it. */
		json_t *l = descriptor(ST_MT_OCI_LAYER, &d, len);
		json_object_set_new(l, "annotations",
				    json_pack("{s:s}", "org.opencontainers.image.title",
					      base ? base + 1 : a->files[i]));
		json_array_append_new(layers, l);
	}
	json_object_set_new(m, "subject", descriptor(subj_mt, &subject, subj_size));
	json_t *ann = json_object();
	for (size_t i = 0; i < a->n_annotations; i++) {
		const char *kv = a->annotations[i];
		const char *eq = strchr(kv, '=');
		if (!eq || eq == kv) {
			json_decref(ann);
			return st_err(err, ST_E_INVALID, "annotation '%s': expected key=value", kv);
		}
		st_autofree char *key = st_xstrndup(kv, (size_t)(eq - kv));
		json_object_set_new(ann, key, json_string(eq + 1));
	}
	if (json_object_size(ann))
		json_object_set(m, "annotations", ann);
	json_decref(ann);
	st_autofree char *text = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t len = strlen(text);
	st_digest_of(text, len, digest);
	if (st_registry_push_referrer(r, ref, &subject, text, len, err) < 0)
		return st_err_wrap(err, "attach to %s", subject.str);
	return 0;
}
