/* copy.c: an image between the registry, OCI layouts, archives and the store. */
#include "copy/copy.h"
#include "copy/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/archive.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static const struct {
	const char *prefix;
	enum st_copy_kind kind;
} transports[] = {
	{ "docker://", ST_COPY_DOCKER },
	{ "oci:", ST_COPY_OCI },
	{ "oci-archive:", ST_COPY_OCI_ARCHIVE },
	{ "docker-archive:", ST_COPY_DOCKER_ARCHIVE },
	{ "strata:", ST_COPY_STORE },
};

const char *st_copy_kind_name(enum st_copy_kind k)
{
	switch (k) {
	case ST_COPY_DOCKER:
		return "docker";
	case ST_COPY_OCI:
		return "oci";
	case ST_COPY_OCI_ARCHIVE:
		return "oci-archive";
	case ST_COPY_DOCKER_ARCHIVE:
		return "docker-archive";
	default:
		return "strata";
	}
}

void st_copy_ref_release(struct st_copy_ref *r)
{
	free(r->path);
	free(r->name);
	st_image_ref_free(r->ref);
	*r = (struct st_copy_ref){ 0 };
}

/* "PATH[:NAME]", as containers/image splits it: at the first ':'. */
static int parse_path(const char *rest, const char *transport, struct st_copy_ref *out,
		      struct st_error **err)
{
	const char *colon = strchr(rest, ':');
	out->path = colon ? st_xstrndup(rest, (size_t)(colon - rest)) : st_xstrdup(rest);
	if (!*out->path)
		return st_err(err, ST_E_INVALID, "%s: expected %s[:NAME]", transport,
			      out->kind == ST_COPY_OCI ? "DIRECTORY" : "FILE");
	if (colon && colon[1])
		out->name = st_xstrdup(colon + 1);
	return 0;
}

int st_copy_ref_parse(const char *s, struct st_copy_ref *out, struct st_error **err)
{
	*out = (struct st_copy_ref){ .kind = ST_COPY_STORE };
	const char *rest = s;
	const char *transport = "strata";
	for (size_t i = 0; i < sizeof(transports) / sizeof(*transports); i++) {
		size_t n = strlen(transports[i].prefix);
		if (!strncmp(s, transports[i].prefix, n)) {
			out->kind = transports[i].kind;
			transport = st_copy_kind_name(out->kind);
			rest = s + n;
			break;
		}
	}
	if (rest == s && strchr(s, ':') && !strncmp(s, "containers-storage:", 19))
		return st_err(err, ST_E_INVALID,
			      "%s: containers-storage is not strata's store; name an image of "
			      "strata's store as strata:NAME",
			      s);
	int rc = 0;
	switch (out->kind) {
	case ST_COPY_DOCKER:
		if (st_image_ref_parse(rest, &out->ref, err) < 0)
			rc = -1;
		break;
	case ST_COPY_STORE:
		if (!*rest)
			rc = st_err(err, ST_E_INVALID, "%s: expected an image name", transport);
		else
			out->name = st_xstrdup(rest);
		break;
	default:
		rc = parse_path(rest, transport, out, err);
	}
	if (rc < 0) {
		st_copy_ref_release(out);
		return st_err_wrap(err, "'%s'", s);
	}
	return 0;
}

/* An OCI layout is a directory; the archives are files (or do not exist yet). */
static int check_kind(const struct st_copy_ref *r, bool source, struct st_error **err)
{
	if (r->kind == ST_COPY_STORE || r->kind == ST_COPY_DOCKER)
		return 0;
	struct stat st;
	if (stat(r->path, &st) < 0) {
		if (errno == ENOENT && !source)
			return 0;
		return st_err_errno(err, "%s: '%s'", st_copy_kind_name(r->kind), r->path);
	}
	bool dir = S_ISDIR(st.st_mode);
	if (r->kind == ST_COPY_OCI && !dir)
		return st_err(err, ST_E_INVALID, "oci: '%s' is not a directory", r->path);
	if (r->kind != ST_COPY_OCI && dir)
		return st_err(err, ST_E_INVALID, "%s: '%s' is a directory, not a file",
			      st_copy_kind_name(r->kind), r->path);
	return 0;
}

/* Bring the image 'src' names into 's': *id is the image. */
static int fetch(struct st_store *s, const struct st_copy_ref *src, const struct st_copy_opts *o,
		 struct st_digest *id, struct st_error **err)
{
	switch (src->kind) {
	case ST_COPY_STORE: {
		st_auto(st_store_image) struct st_store_image *img = NULL;
		if (st_local_image_find(s, src->name, &img, err) < 0)
			return -1;
		*id = img->id;
		return 0;
	}
	case ST_COPY_DOCKER: {
		struct st_registry_pull_opts po = { .platform = o->platform, .events = o->events };
		struct st_registry_pull_result res;
		if (st_registry_pull(s, o->src_registry, src->ref, &po, &res, err) < 0)
			return -1;
		*id = res.id;
		st_registry_pull_result_release(&res);
		return 0;
	}
	default:
		break;
	}
	struct st_archive_load_result lr;
	if (st_archive_load_path_select(s, src->path, src->name, &lr, err) < 0)
		return -1;
	size_t distinct = 0;
	for (size_t i = 0; i < lr.n; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = st_digest_equal(&lr.v[k].id, &lr.v[i].id);
		distinct += !seen;
	}
	int rc = 0;
	if (distinct != 1)
		rc = st_err(err, ST_E_INVALID,
			    "%s:%s holds %zu images: name the one to copy as %s:%s:NAME",
			    st_copy_kind_name(src->kind), src->path, distinct,
			    st_copy_kind_name(src->kind), src->path);
	else
		*id = lr.v[0].id;
	st_archive_load_result_release(&lr);
	return rc;
}

/* Statements are small JSON documents: a bigger blob is not one. */
#define ATTESTATION_BLOB_MAX (64u << 20)

static int blob_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct st_buf *b = ctx;
	if (b->len + n > ATTESTATION_BLOB_MAX)
		return st_err(err, ST_E_INVALID, "larger than %u bytes", ATTESTATION_BLOB_MAX);
	st_buf_add(b, p, n);
	return 0;
}

static int blob_reset(void *ctx, struct st_error **err)
{
	st_buf_reset(ctx);
	return 0;
}

/* Blob 'd' of ref's repository into 's' under 'lease', verified. */
static int fetch_blob(struct st_store *s, struct st_registry *r, const struct st_image_ref *ref,
		      const struct st_digest *d, struct st_store_lease *lease,
		      struct st_error **err)
{
	struct st_buf b = ST_BUF_INIT;
	struct st_http_sink sink = { blob_write, blob_reset, &b };
	struct st_digest got;
	int rc = st_registry_get_blob(r, ref, d, &sink, err);
	if (rc == 0) {
		st_digest_of(b.data ? b.data : "", b.len, &got);
		if (!st_digest_equal(&got, d))
			rc = st_err(err, ST_E_DIGEST, "the registry sent content hashing to %s",
				    got.str);
	}
	if (rc == 0)
		rc = st_store_lease_add(lease, d->str, err);
	if (rc == 0)
		rc = st_store_put_blob(s, b.data ? b.data : "", b.len, NULL, err);
	st_buf_release(&b);
	return rc < 0 ? st_err_wrap(err, "blob %s", d->str) : 0;
}

/*
 * An attestation manifest of a build (BuildKit's layout: no image, statements as layers):
 * stored as served with its blobs, and edges to them.
 */
static int fetch_attestation(struct st_store *s, struct st_registry *r,
			     const struct st_image_ref *ref, const struct st_digest *d,
			     struct st_store_lease *lease, struct st_error **err)
{
	struct st_registry_manifest m = { ST_BUF_INIT, NULL, { "" } };
	st_auto(st_image_manifest) struct st_image_manifest *man = NULL;
	int rc = st_registry_get_manifest_digest(r, ref, d, &m, err);
	if (rc == 0)
		rc = st_image_manifest_parse(m.bytes.data, m.bytes.len, &man, err);
	if (rc == 0)
		rc = st_store_lease_add(lease, d->str, err);
	if (rc == 0)
		rc = st_store_put_blob(s, m.bytes.data, m.bytes.len, NULL, err);
	st_registry_manifest_release(&m);
	if (rc < 0)
		return st_err_wrap(err, "attestation manifest %s", d->str);
	st_autofree const char **blobs = st_xcalloc(man->n_layers + 1, sizeof(*blobs));
	for (size_t i = 0; i <= man->n_layers; i++) {
		const struct st_digest *b = i ? &man->layers[i - 1].digest : &man->config.digest;
		if (fetch_blob(s, r, ref, b, lease, err) < 0)
			return -1;
		blobs[i] = b->str;
	}
	return st_store_edge_add(s, d->str, ST_STORE_EDGE_CHILD, blobs, man->n_layers + 1, err);
}

/*
 * --all: when the registry's 'src' is an index, every image it lists is pulled by digest into
 * 's' and the index is stored as served, kept through 'lease' with edges to each manifest;
 * *index receives its digest and *id the first image. Not an index: *index is "".
 */
static int fetch_all(struct st_store *s, const struct st_copy_ref *src,
		     const struct st_copy_opts *o, struct st_store_lease *lease,
		     struct st_digest *id, struct st_digest *index, struct st_error **err)
{
	memset(index, 0, sizeof(*index));
	struct st_registry_manifest top = { ST_BUF_INIT, NULL, { "" } };
	if (st_registry_get_manifest(o->src_registry, src->ref, &top, err) < 0)
		return -1;
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	int rc = 0;
	if (st_image_detect(top.bytes.data, top.bytes.len) != ST_IMAGE_KIND_INDEX) {
		st_registry_manifest_release(&top);
		return fetch(s, src, o, id, err);
	}
	rc = st_image_index_parse(top.bytes.data, top.bytes.len, &idx, err);
	if (rc == 0)
		rc = st_store_lease_add(lease, top.digest.str, err);
	if (rc == 0)
		rc = st_store_put_blob(s, top.bytes.data, top.bytes.len, NULL, err);
	for (size_t i = 0; rc == 0 && i < idx->n_manifests; i++) {
		const struct st_digest *d = &idx->manifests[i].digest;
		st_auto(st_image_ref) struct st_image_ref *one =
		    st_image_ref_at_digest(src->ref, d->str);
		const char *type =
		    st_image_map_get(&idx->manifests[i].annotations, "vnd.docker.reference.type");
		if (type && !strcmp(type, "attestation-manifest")) {
			rc = fetch_attestation(s, o->src_registry, one, d, lease, err);
			const char *m = d->str;
			if (rc == 0)
				rc = st_store_edge_add(s, top.digest.str, ST_STORE_EDGE_CHILD, &m,
						       1, err);
			continue;
		}
		struct st_registry_pull_opts po = { .events = o->events };
		struct st_registry_pull_result res;
		rc = st_registry_pull(s, o->src_registry, one, &po, &res, err);
		if (rc < 0)
			break;
		if (i == 0)
			*id = res.id;
		st_registry_pull_result_release(&res);
		const char *m = d->str;
		rc = st_store_edge_add(s, top.digest.str, ST_STORE_EDGE_CHILD, &m, 1, err);
	}
	if (rc == 0 && idx->n_manifests == 0)
		rc = st_err(err, ST_E_INVALID, "the index %s lists no image", top.digest.str);
	if (rc == 0)
		*index = top.digest;
	st_registry_manifest_release(&top);
	return rc;
}

/* --all: the index 'index' (and the images it lists) of 's' to 'dst'. */
static int deliver_all(struct st_store *s, const struct st_digest *id,
		       const struct st_digest *index, const struct st_copy_ref *dst,
		       const struct st_copy_opts *o, struct st_digest *digest,
		       struct st_error **err)
{
	*digest = *index;
	if (dst->kind == ST_COPY_STORE) {
		st_autofree char *full = NULL;
		if (st_local_ref_normalize(dst->name, &full, err) < 0)
			return -1;
		return st_store_ref_set(s, full, id->str, index->str, err);
	}
	struct st_registry_push_result pr;
	return st_registry_push_index(s, o->dest_registry, index, dst->ref, &o->events, &pr, err);
}

/* Write the store's image 'id' to 'dst'; *digest is its manifest's. */
static int deliver(struct st_store *s, const struct st_digest *id, const struct st_copy_ref *dst,
		   const struct st_copy_opts *o, struct st_digest *digest, struct st_error **err)
{
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_store_image_get(s, id->str, &img, err) < 0)
		return -1;
	*digest = img->manifest_digest;
	switch (dst->kind) {
	case ST_COPY_STORE: {
		st_autofree char *full = NULL;
		if (st_local_ref_normalize(dst->name, &full, err) < 0)
			return -1;
		return st_store_ref_set(s, full, id->str, NULL, err);
	}
	case ST_COPY_DOCKER: {
		struct st_registry_push_result pr;
		if (st_registry_push(s, o->dest_registry, id->str, dst->ref, &o->events, &pr, err) <
		    0)
			return -1;
		*digest = pr.digest;
		return 0;
	}
	default:
		break;
	}
	const char *names[] = { id->str };
	struct st_archive_save_opts so = {
		.format = dst->kind == ST_COPY_OCI	     ? ST_ARCHIVE_OCI_DIR
			  : dst->kind == ST_COPY_OCI_ARCHIVE ? ST_ARCHIVE_OCI_ARCHIVE
							     : ST_ARCHIVE_DOCKER,
		.names = names,
		.n_names = 1,
		.as_name = dst->name,
	};
	return st_archive_save_path(s, &so, dst->path, err);
}

/* A store of its own for one copy, in a tmp/ dir of 's' that gc removes if we are killed. */
struct scratch {
	char *dir;
	int lock;
	struct st_store *s;
};

static int scratch_open(struct st_store *s, struct scratch *t, struct st_error **err)
{
	*t = (struct scratch){ .lock = -1 };
	if (st_store_tmp_mkdir(s, &t->dir, &t->lock, err) < 0)
		return -1;
	return st_store_open(t->dir, &t->s, err);
}

static void scratch_close(struct scratch *t)
{
	st_store_free(t->s);
	if (t->dir)
		st_rm_rf(t->dir, NULL);
	free(t->dir);
	if (t->lock >= 0)
		close(t->lock);
}

bool st_copy_needs_store(const struct st_copy_ref *src, const struct st_copy_ref *dst, bool all)
{
	/* a registry's index streams to a layout or an archive; to a registry it is pushed
	 * through the store */
	if (all)
		return src->kind != ST_COPY_DOCKER ||
		       (dst->kind != ST_COPY_OCI && dst->kind != ST_COPY_OCI_ARCHIVE);
	return !st_copy_can_stream(src, dst);
}

int st_copy(struct st_store *s, const struct st_copy_ref *src, const struct st_copy_ref *dst,
	    const struct st_copy_opts *o, struct st_copy_result *out, struct st_error **err)
{
	if ((src->kind == ST_COPY_DOCKER && !o->src_registry) ||
	    (dst->kind == ST_COPY_DOCKER && !o->dest_registry))
		return st_err(err, ST_E_INVALID, "copy: no registry client given");
	if (check_kind(src, true, err) < 0 || check_kind(dst, false, err) < 0)
		return st_err_wrap(err, "copy");
	/* An OCI layout or an archive written here holds one image of the store. */
	if (o->all && (src->kind != ST_COPY_DOCKER || dst->kind == ST_COPY_DOCKER_ARCHIVE))
		return st_err(
		    err, ST_E_INVALID,
		    "copy: --all copies from docker:// to docker://, oci:, oci-archive: or "
		    "the store");
	if (o->index_only && (src->kind != ST_COPY_DOCKER || dst->kind != ST_COPY_DOCKER))
		return st_err(err, ST_E_INVALID,
			      "copy: --multi-arch index-only copies from docker:// to docker://");
	bool direct = src->kind == ST_COPY_STORE || dst->kind == ST_COPY_STORE;
	if (!st_copy_needs_store(src, dst, o->all))
		return st_copy_stream(src, dst, o, out, err);
	struct scratch t = { .lock = -1 };
	if (!direct && scratch_open(s, &t, err) < 0) {
		scratch_close(&t);
		return st_err_wrap(err, "copy");
	}
	struct st_store *via = direct ? s : t.s;
	int rc;
	if (o->all) {
		struct st_digest index;
		struct st_store_lease *lease = NULL;
		rc = st_store_lease_begin(via, &lease, err);
		if (rc == 0)
			rc = fetch_all(via, src, o, lease, &out->id, &index, err);
		if (rc == 0 && index.str[0])
			rc = deliver_all(via, &out->id, &index, dst, o, &out->digest, err);
		else if (rc == 0)
			rc = deliver(via, &out->id, dst, o, &out->digest, err);
		if (lease)
			st_store_lease_end(lease);
	} else {
		rc = fetch(via, src, o, &out->id, err);
		if (rc == 0)
			rc = deliver(via, &out->id, dst, o, &out->digest, err);
	}
	scratch_close(&t);
	return rc;
}
