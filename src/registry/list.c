/*
 * list.c: manifest lists kept in the store, and pushing an index with everything it lists.
 *
 * A list is edited as JSON (jansson) and written as a new index blob each time: blobs are
 * immutable, and the name moves to the new index in one step (st_store_ref_set), so a list is
 * never seen half-edited. Entries are written with the fields in the order of the OCI Go
 * structs, as the registry and skopeo write them.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "local/local.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/banned.h"

static void json_freep(json_t **j)
{
	json_decref(*j);
}
#define autojson __attribute__((cleanup(json_freep)))

int st_registry_list_get(struct st_store *s, const char *name, struct st_buf *bytes,
			 struct st_digest *digest, struct st_error **err)
{
	struct st_store_ref ref = { 0 };
	struct st_error *e = NULL;
	if (st_store_ref_get(s, name, &ref, &e) < 0) {
		if (e->kind != ST_E_NOTFOUND) {
			*err = e;
			return -1;
		}
		st_error_clear(&e);
		return st_err(err, ST_E_NOTFOUND, "%s: no such manifest list", name);
	}
	struct st_buf b = ST_BUF_INIT;
	int rc = st_store_read_blob(s, ref.manifest_digest.str, &b, err);
	if (rc == 0 && st_image_detect(b.data, b.len) != ST_IMAGE_KIND_INDEX)
		rc = st_err(err, ST_E_NOTFOUND, "%s: no such manifest list (it is an image)", name);
	if (rc == 0 && digest)
		*digest = ref.manifest_digest;
	if (rc == 0 && bytes)
		st_buf_add(bytes, b.data, b.len);
	st_buf_release(&b);
	st_store_ref_release(&ref);
	return rc;
}

/* An image a list can hold: in the store, with its manifest's media type and size. */
struct entry {
	struct st_store_image *img;
	uint64_t size;
};

static void entry_release(struct entry *en)
{
	st_store_image_free(en->img);
}

/*
 * Pull 'ref' (pinned to the digest the registry serves for it, so no tag is set) into the store,
 * choosing 'platform' (NULL: the host's) when it is an index.
 */
static int pull_entry(struct st_store *s, struct st_registry *r, const struct st_image_ref *ref,
		      const struct st_platform *platform, struct st_store_image **out,
		      struct st_error **err)
{
	struct st_registry_manifest top = { ST_BUF_INIT, NULL, { "" } };
	if (st_registry_get_manifest(r, ref, &top, err) < 0)
		return -1;
	st_auto(st_image_ref) struct st_image_ref *pinned =
	    st_image_ref_at_digest(ref, top.digest.str);
	st_registry_manifest_release(&top);
	struct st_registry_pull_opts po = { .platform = platform };
	struct st_registry_pull_result res;
	if (st_registry_pull(s, r, pinned, &po, &res, err) < 0)
		return -1;
	st_registry_pull_result_release(&res);
	return st_store_image_get(s, res.id.str, out, err);
}

/*
 * The image a person names: the store's, else the registry's. 'e' (may be NULL) chooses the
 * platform of a registry's index.
 */
static int find_entry(struct st_store *s, struct st_registry *r, const char *image,
		      const struct st_registry_list_edit *e, struct entry *out,
		      struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	struct st_error *le = NULL;
	if (st_local_image_find(s, image, &out->img, &le) < 0) {
		if (le->kind != ST_E_NOTFOUND) {
			*err = le;
			return -1;
		}
		st_error_clear(&le);
		st_auto(st_image_ref) struct st_image_ref *ref = NULL;
		if (st_image_ref_parse(image, &ref, err) < 0)
			return -1;
		struct st_platform want, *platform = NULL;
		if (e && (e->os || e->architecture)) {
			st_platform_host(&want);
			memset(want.variant, 0, sizeof(want.variant));
			if (e->os)
				snprintf(want.os, sizeof(want.os), "%s", e->os);
			if (e->architecture)
				snprintf(want.architecture, sizeof(want.architecture), "%s",
					 e->architecture);
			if (e->variant)
				snprintf(want.variant, sizeof(want.variant), "%s", e->variant);
			st_platform_normalize(&want);
			platform = &want;
		}
		if (pull_entry(s, r, ref, platform, &out->img, err) < 0)
			return st_err_wrap(err, "%s", image);
	}
	struct st_buf b = ST_BUF_INIT;
	int rc = st_store_read_blob(s, out->img->manifest_digest.str, &b, err);
	out->size = b.len;
	st_buf_release(&b);
	if (rc == 0 && (!out->img->os || !*out->img->os || !out->img->architecture ||
			!*out->img->architecture))
		rc = st_err(err, ST_E_INVALID,
			    "%s: the image's config names no os and architecture", image);
	if (rc < 0)
		entry_release(out);
	return rc;
}

/* The platform object of an entry, its keys in the order of the OCI Go struct. */
static json_t *platform_json(const char *os, const char *arch, const char *os_version,
			     json_t *os_features, const char *variant)
{
	json_t *p = json_object();
	json_object_set_new(p, "architecture", json_string(arch));
	json_object_set_new(p, "os", json_string(os));
	if (os_version && *os_version)
		json_object_set_new(p, "os.version", json_string(os_version));
	if (os_features && json_array_size(os_features))
		json_object_set(p, "os.features", os_features);
	if (variant && *variant)
		json_object_set_new(p, "variant", json_string(variant));
	return p;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Apply 'e' to the entry 'd' (a descriptor object), rewriting its platform in order. */
static int edit_entry(json_t *d, const struct st_registry_list_edit *e, struct st_error **err)
{
	if (!e)
		return 0;
	json_t *p = json_object_get(d, "platform");
	autojson json_t *features = json_incref(json_object_get(p, "os.features"));
	if (e->n_os_features) {
		json_decref(features);
		features = json_array();
		for (size_t i = 0; i < e->n_os_features; i++)
			json_array_append_new(features, json_string(e->os_features[i]));
	}
	struct st_platform pl = { 0 };
	snprintf(pl.os, sizeof(pl.os), "%s", e->os ? e->os : jstr(p, "os") ? jstr(p, "os") : "");
	snprintf(pl.architecture, sizeof(pl.architecture), "%s",
		 e->architecture	   ? e->architecture
		 : jstr(p, "architecture") ? jstr(p, "architecture")
					   : "");
	snprintf(pl.variant, sizeof(pl.variant), "%s",
		 e->variant	      ? e->variant
		 : e->architecture    ? ""
		 : jstr(p, "variant") ? jstr(p, "variant")
				      : "");
	snprintf(pl.os_version, sizeof(pl.os_version), "%s",
		 e->os_version		 ? e->os_version
		 : jstr(p, "os.version") ? jstr(p, "os.version")
					 : "");
	if (!*pl.os || !*pl.architecture)
		return st_err(err, ST_E_INVALID, "an entry needs an os and an architecture");
	/* Written as given, as Docker's annotate does: "arm64/v8" is what some indexes say. */
	/* Keys after "platform" keep their place: rebuild the object in order. */
	json_object_set_new(
	    d, "platform",
	    platform_json(pl.os, pl.architecture, pl.os_version, features, pl.variant));
	if (!e->n_annotations)
		return 0;
	json_t *ann = json_object_get(d, "annotations");
	if (!ann) {
		/* OCI's descriptor puts annotations before platform. */
		autojson json_t *plat = json_incref(json_object_get(d, "platform"));
		json_object_del(d, "platform");
		ann = json_object();
		json_object_set_new(d, "annotations", ann);
		json_object_set(d, "platform", plat);
	}
	for (size_t i = 0; i < e->n_annotations; i++) {
		const char *kv = e->annotations[i];
		const char *eq = strchr(kv, '=');
		if (!eq || eq == kv)
			return st_err(err, ST_E_INVALID, "annotation '%s': expected key=value", kv);
		st_autofree char *key = st_xstrndup(kv, (size_t)(eq - kv));
		json_object_set_new(ann, key, json_string(eq + 1));
	}
	return 0;
}

static json_t *entry_json(const struct entry *en)
{
	json_t *d = json_object();
	json_object_set_new(d, "mediaType", json_string(en->img->manifest_media_type));
	json_object_set_new(d, "digest", json_string(en->img->manifest_digest.str));
	json_object_set_new(d, "size", json_integer((json_int_t)en->size));
	json_object_set_new(
	    d, "platform",
	    platform_json(en->img->os, en->img->architecture, NULL, NULL, en->img->variant));
	return d;
}

/* The list being edited: its document and the image its name resolves to. */
struct list {
	json_t *doc;
	struct st_digest image_id; /* "" until an entry is added to a new list */
	bool exists;
};

static void list_release(struct list *l)
{
	json_decref(l->doc);
}

static int list_open(struct st_store *s, const char *name, bool create, struct list *l,
		     struct st_error **err)
{
	memset(l, 0, sizeof(*l));
	struct st_buf b = ST_BUF_INIT;
	struct st_error *e = NULL;
	if (st_registry_list_get(s, name, &b, NULL, &e) < 0) {
		if (e->kind != ST_E_NOTFOUND || !create) {
			*err = e;
			return -1;
		}
		st_error_clear(&e);
		/* A name that resolves to an image stays that image's. */
		struct st_store_ref ref = { 0 };
		if (st_store_ref_get(s, name, &ref, &e) == 0) {
			st_store_ref_release(&ref);
			return st_err(err, ST_E_INVALID,
				      "%s: an image has this name; a manifest list needs its own",
				      name);
		}
		st_error_clear(&e);
		l->doc = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
				   ST_MT_OCI_INDEX, "manifests");
		return 0;
	}
	json_error_t je;
	l->doc = json_loadb(b.data, b.len, 0, &je);
	st_buf_release(&b);
	if (!l->doc || !json_is_array(json_object_get(l->doc, "manifests")))
		return st_err(err, ST_E_PARSE, "%s: the manifest list is not an index", name);
	struct st_store_ref ref = { 0 };
	if (st_store_ref_get(s, name, &ref, err) < 0)
		return -1;
	l->image_id = ref.image_id;
	l->exists = true;
	st_store_ref_release(&ref);
	return 0;
}

/* The entry of manifest 'digest', or NULL. */
static json_t *list_find(struct list *l, const char *digest, size_t *at)
{
	json_t *ms = json_object_get(l->doc, "manifests");
	size_t i;
	json_t *d;
	json_array_foreach(ms, i, d)
	{
		const char *dg = jstr(d, "digest");
		if (dg && !strcmp(dg, digest)) {
			if (at)
				*at = i;
			return d;
		}
	}
	return NULL;
}

static int list_add(struct list *l, const struct entry *en, const struct st_registry_list_edit *e,
		    struct st_error **err)
{
	autojson json_t *d = entry_json(en);
	if (edit_entry(d, e, err) < 0)
		return -1;
	json_t *ms = json_object_get(l->doc, "manifests");
	size_t at;
	if (list_find(l, en->img->manifest_digest.str, &at))
		json_array_set(ms, at, d);
	else
		json_array_append(ms, d);
	if (!l->image_id.str[0])
		l->image_id = en->img->id;
	return 0;
}

/* Keep a manifest's config and layers while the manifest is kept. */
static int keep_blobs(struct st_store *s, const char *manifest, struct st_error **err)
{
	struct st_buf b = ST_BUF_INIT;
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	int rc = st_store_read_blob(s, manifest, &b, err);
	if (rc == 0)
		rc = st_image_manifest_parse(b.data, b.len, &m, err);
	st_buf_release(&b);
	if (rc < 0)
		return -1;
	const char **blobs = st_xcalloc(m->n_layers + 1, sizeof(*blobs));
	blobs[0] = m->config.digest.str;
	for (size_t i = 0; i < m->n_layers; i++)
		blobs[i + 1] = m->layers[i].digest.str;
	rc = st_store_edge_add(s, manifest, ST_STORE_EDGE_CHILD, blobs, m->n_layers + 1, err);
	free(blobs);
	return rc;
}

/*
 * Write the list as a new index blob, its edges, then point 'name' at it. The lease keeps the
 * blob from a concurrent gc until the reference does.
 */
static int list_save(struct st_store *s, const char *name, struct list *l, struct st_error **err)
{
	st_autofree char *text = json_dumps(l->doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t len = strlen(text);
	struct st_digest d;
	st_digest_of(text, len, &d);
	struct st_store_lease *lease = NULL;
	if (st_store_lease_begin(s, &lease, err) < 0)
		return -1;
	int rc = st_store_lease_add(lease, d.str, err);
	if (rc == 0)
		rc = st_store_put_blob(s, text, len, NULL, err);
	json_t *ms = json_object_get(l->doc, "manifests");
	size_t i;
	json_t *e;
	json_array_foreach(ms, i, e)
	{
		const char *m = jstr(e, "digest");
		if (rc == 0)
			rc = keep_blobs(s, m, err);
		if (rc == 0)
			rc = st_store_edge_add(s, d.str, ST_STORE_EDGE_CHILD, &m, 1, err);
	}
	if (rc == 0)
		rc = st_store_ref_set(s, name, l->image_id.str, d.str, err);
	st_store_lease_end(lease);
	return rc;
}

int st_registry_list_create(struct st_store *s, struct st_registry *r, const char *name,
			    const char *const *images, size_t n, unsigned flags,
			    struct st_error **err)
{
	struct list l;
	if (list_open(s, name, true, &l, err) < 0)
		return -1;
	int rc = 0;
	if (l.exists && !(flags & ST_REGISTRY_LIST_AMEND))
		rc = st_err(err, ST_E_INVALID,
			    "refusing to amend an existing manifest list with no --amend flag");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct entry en;
		rc = find_entry(s, r, images[i], NULL, &en, err);
		if (rc == 0) {
			rc = list_add(&l, &en, NULL, err);
			entry_release(&en);
		}
	}
	if (rc == 0)
		rc = list_save(s, name, &l, err);
	list_release(&l);
	return rc;
}

int st_registry_list_add(struct st_store *s, struct st_registry *r, const char *name,
			 const char *image, const struct st_registry_list_edit *e,
			 struct st_error **err)
{
	struct list l;
	if (list_open(s, name, false, &l, err) < 0)
		return -1;
	struct entry en;
	int rc = find_entry(s, r, image, e, &en, err);
	if (rc == 0) {
		rc = list_add(&l, &en, e, err);
		entry_release(&en);
	}
	if (rc == 0)
		rc = list_save(s, name, &l, err);
	list_release(&l);
	return rc;
}

/* The manifest digest 'image' names, without pulling anything: a digest, a store image, or
 * what the registry serves for it. New. */
static char *entry_digest(struct st_store *s, struct st_registry *r, const char *image,
			  struct st_error **err)
{
	if (!strncmp(image, "sha256:", 7) && strlen(image) == 71)
		return st_xstrdup(image);
	st_auto(st_store_image) struct st_store_image *img = NULL;
	struct st_error *le = NULL;
	if (st_local_image_find(s, image, &img, &le) == 0)
		return st_xstrdup(img->manifest_digest.str);
	if (le->kind != ST_E_NOTFOUND) {
		*err = le;
		return NULL;
	}
	st_error_clear(&le);
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_parse(image, &ref, err) < 0)
		return NULL;
	struct st_registry_manifest m = { ST_BUF_INIT, NULL, { "" } };
	if (st_registry_get_manifest(r, ref, &m, err) < 0)
		return NULL;
	char *d = st_xstrdup(m.digest.str);
	st_registry_manifest_release(&m);
	return d;
}

int st_registry_list_annotate(struct st_store *s, struct st_registry *r, const char *name,
			      const char *image, const struct st_registry_list_edit *e,
			      struct st_error **err)
{
	struct list l;
	if (list_open(s, name, false, &l, err) < 0)
		return -1;
	st_autofree char *digest = entry_digest(s, r, image, err);
	json_t *d = digest ? list_find(&l, digest, NULL) : NULL;
	int rc = digest ? 0 : -1;
	if (rc == 0 && !d)
		rc = st_err(err, ST_E_NOTFOUND, "manifest for image %s does not exist in %s", image,
			    name);
	if (rc == 0)
		rc = edit_entry(d, e, err);
	if (rc == 0)
		rc = list_save(s, name, &l, err);
	list_release(&l);
	return rc;
}

int st_registry_list_remove(struct st_store *s, const char *name, struct st_error **err)
{
	if (st_registry_list_get(s, name, NULL, NULL, err) < 0)
		return -1;
	return st_store_ref_delete(s, name, err);
}
