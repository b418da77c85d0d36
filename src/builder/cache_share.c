/*
 * cache_share.c: build caches that travel, as BuildKit's --cache-to and --cache-from.
 *
 * An exported cache is an OCI image manifest whose config is strata's cache document (media
 * type ST_BUILDER_CACHE_MT: the records, each a step's key, its stored value and its layer)
 * and whose layers are the records' layer blobs, as stored. It goes to an OCI layout
 * directory (type=local, index.json entry ref.name = the tag) or to a registry under a tag
 * (type=registry), the shape BuildKit gives its caches, so any OCI registry can hold it.
 *
 * Importing reads the documents first; a record is used only when a step misses the local
 * cache with the record's key: its layer is checked like any pulled layer (digest, diff_id,
 * safe to unpack) and recorded, and the step becomes a local hit. The layers are fetched
 * ahead, while the context is read and hashed (see "prefetching" below), else when the step
 * asks; never twice.
 * Keys cover only what a step depends on (the parent's key from the base image id down, the
 * instruction, its args and the content of copied files), so they are the same on any
 * machine. A cache that cannot be read is a warning, as in BuildKit: the build goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/internal.h"
#include "local/local.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

#define CACHE_DOC_VERSION 1
/* Bigger documents are refused: a cache of many thousand steps is far below this. */
#define CACHE_DOC_MAX (64u << 20)

enum share_type { SHARE_LOCAL, SHARE_REGISTRY, SHARE_INLINE };

/* Where an image's config carries its inline cache (type=inline, BUILDKIT_INLINE_CACHE=1). */
#define INLINE_KEY "strata.buildcache.v1"

struct share_spec {
	enum share_type type;
	char *dir;		  /* local: src= or dest= */
	char *tag;		  /* local: the index.json entry (default "latest") */
	struct st_image_ref *ref; /* registry */
	bool max;		  /* mode=max */
	bool ignore_error;	  /* export failures are warnings */
};

enum prefetch_state {
	PF_NONE,    /* fetched when a step asks */
	PF_QUEUED,  /* a prefetch worker takes it, unless a step asks first */
	PF_RUNNING, /* being fetched: a step that needs it waits */
	PF_DONE,    /* in the store, or pf_err says why not */
};

/* One imported record. */
struct share_record {
	char *key;
	char *value;
	bool has_layer;
	struct st_image_descriptor layer; /* media type, digest, size */
	struct st_digest diff_id;
	uint64_t diff_size;
	size_t from; /* the spec it came from */
	/* The layers below its own in the image it records (from its config), NULL if unknown. */
	struct st_digest *below;
	size_t n_below;
	enum prefetch_state pf; /* under the share's lock */
	struct st_error *pf_err;
};

/* Layers fetched ahead at once: the registry's pulls use a few connections too. */
#define PREFETCH_JOBS 2

struct builder_cache_share;

/* A prefetch worker, with a store handle (one per thread) and a lease of its own. */
struct prefetcher {
	struct builder_cache_share *c;
	pthread_t thread;
	bool started;
	struct st_store *s;
	struct st_store_lease *lease; /* keeps what it fetched until the build ends */
};

/*
 * A key a step of 'stage' used in the build numbered 'build' (one per platform); 'in_min':
 * the stage is one mode=min shares, once that build is settled.
 */
struct used_key {
	char key[ST_DIGEST_HEX_LEN + 1];
	size_t stage, build;
	bool in_min;
};

/* A COPY --from checksum by its memo key: imported, or used by a step (as in used_key). */
struct share_sum {
	char memo[ST_DIGEST_HEX_LEN + 1];
	char sum[ST_DIGEST_HEX_LEN + 1];
	size_t stage, build;
	bool in_min;
};

struct builder_cache_share {
	struct share_spec *from, *to;
	size_t n_from, n_to;
	const struct st_registry_opts *ro;
	struct st_registry *reg;
	pthread_mutex_t lock; /* fetches, and the keys used */
	struct share_record *recs;
	size_t n_recs;
	struct used_key *used;
	size_t n_used;
	struct share_sum *sums_in, *sums_used;
	size_t n_sums_in, n_sums_used;
	bool imported;
	size_t builds; /* the builds settled: the current one's number */
	/* Prefetching: the workers, the next record they look at, a fetch ended. */
	struct prefetcher pf[PREFETCH_JOBS];
	bool pf_started;
	size_t pf_next;
	bool pf_stop; /* atomic: read by the transfers to give up early */
	pthread_cond_t pf_cond;
};

static void prefetch_stop(struct builder_cache_share *c);

static void spec_release(struct share_spec *s)
{
	free(s->dir);
	free(s->tag);
	st_image_ref_free(s->ref);
}

void builder_cache_share_free(struct builder_cache_share *c)
{
	if (!c)
		return;
	prefetch_stop(c);
	for (size_t i = 0; i < c->n_from; i++)
		spec_release(&c->from[i]);
	for (size_t i = 0; i < c->n_to; i++)
		spec_release(&c->to[i]);
	free(c->from);
	free(c->to);
	for (size_t i = 0; i < c->n_recs; i++) {
		free(c->recs[i].key);
		free(c->recs[i].value);
		st_image_descriptor_release(&c->recs[i].layer);
		free(c->recs[i].below);
		st_error_free(c->recs[i].pf_err);
	}
	free(c->recs);
	free(c->used);
	free(c->sums_in);
	free(c->sums_used);
	st_registry_free(c->reg);
	pthread_cond_destroy(&c->pf_cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* ---- specs ---- */

/* BuildKit keys strata takes and has nothing to do with: compression is the store's. */
static bool ignored_key(const char *k)
{
	static const char *const keys[] = { "compression",
					    "compression-level",
					    "force-compression",
					    "oci-mediatypes",
					    "image-manifest",
					    "oci-artifact",
					    "store",
					    "digest" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (!strcmp(k, keys[i]))
			return true;
	return false;
}

/*
 * "type=local,dest=DIR,mode=max", "type=registry,ref=R", or a bare reference (the
 * registry type, as `docker build --cache-from IMAGE` means it). 'flag' names the option.
 */
static int spec_parse(const char *text, bool to, struct share_spec *out, struct st_error **err)
{
	const char *flag = to ? "--cache-to" : "--cache-from";
	*out = (struct share_spec){ .type = SHARE_REGISTRY };
	if (!strchr(text, '=')) {
		if (st_image_ref_parse(text, &out->ref, err) < 0)
			return st_err_wrap(err, "%s '%s'", flag, text);
		return 0;
	}
	st_autofree char *copy = st_xstrdup(text);
	char *save = NULL;
	const char *type = NULL, *ref = NULL;
	int rc = 0;
	for (char *f = strtok_r(copy, ",", &save); f && rc == 0; f = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(f, '=');
		if (!eq) {
			rc = st_err(err, ST_E_USAGE, "%s '%s': '%s' is not KEY=VALUE", flag, text,
				    f);
			break;
		}
		*eq = '\0';
		const char *v = eq + 1;
		if (!strcmp(f, "type")) {
			type = v;
		} else if (!strcmp(f, "ref")) {
			ref = v;
		} else if (!strcmp(f, to ? "dest" : "src")) {
			free(out->dir);
			out->dir = st_xstrdup(v);
		} else if (!strcmp(f, "tag")) {
			free(out->tag);
			out->tag = st_xstrdup(v);
		} else if (to && !strcmp(f, "mode")) {
			if (strcmp(v, "min") && strcmp(v, "max"))
				rc = st_err(err, ST_E_USAGE,
					    "%s '%s': mode must be min or max, not '%s'", flag,
					    text, v);
			out->max = !strcmp(v, "max");
		} else if (to && !strcmp(f, "ignore-error")) {
			out->ignore_error = !strcmp(v, "true");
		} else if (!ignored_key(f)) {
			rc = st_err(err, ST_E_USAGE, "%s '%s': unknown key '%s'", flag, text, f);
		}
	}
	if (rc < 0)
		return -1;
	if (!type || !strcmp(type, "registry")) {
		if (!ref)
			return st_err(err, ST_E_USAGE, "%s '%s': type=registry needs ref=", flag,
				      text);
		if (st_image_ref_parse(ref, &out->ref, err) < 0)
			return st_err_wrap(err, "%s '%s'", flag, text);
		return 0;
	}
	if (to && !strcmp(type, "inline")) {
		out->type = SHARE_INLINE;
		return 0;
	}
	if (!strcmp(type, "local")) {
		out->type = SHARE_LOCAL;
		if (!out->dir)
			return st_err(err, ST_E_USAGE, "%s '%s': type=local needs %s=DIR", flag,
				      text, to ? "dest" : "src");
		if (!out->tag)
			out->tag = st_xstrdup("latest");
		return 0;
	}
	return st_err(err, ST_E_USAGE,
		      "%s '%s': unsupported cache type '%s' (expected local, registry%s)", flag,
		      text, type, to ? " or inline" : "");
}

/* --build-arg BUILDKIT_INLINE_CACHE=1 asks for an inline cache, as in BuildKit. */
static bool inline_arg(const struct st_builder_opts *o)
{
	for (size_t i = 0; i < o->n_build_args; i++) {
		const char *a = o->build_args[i];
		if (!strncmp(a, "BUILDKIT_INLINE_CACHE=", 22))
			return strcmp(a + 22, "0") && strcmp(a + 22, "false") && a[22];
	}
	return false;
}

int builder_cache_share_new(const struct st_builder_opts *o, struct builder_cache_share **out,
			    struct st_error **err)
{
	*out = NULL;
	if (!o->n_cache_from && !o->n_cache_to && !inline_arg(o))
		return 0;
	struct builder_cache_share *c = st_xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->pf_cond, NULL);
	c->ro = o->registry;
	c->from = st_xcalloc(o->n_cache_from + 1, sizeof(*c->from));
	c->to = st_xcalloc(o->n_cache_to + 2, sizeof(*c->to));
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < o->n_cache_from; i++, c->n_from++)
		rc = spec_parse(o->cache_from[i], false, &c->from[i], err);
	for (size_t i = 0; rc == 0 && i < o->n_cache_to; i++, c->n_to++)
		rc = spec_parse(o->cache_to[i], true, &c->to[i], err);
	if (rc == 0 && inline_arg(o))
		c->to[c->n_to++] = (struct share_spec){ .type = SHARE_INLINE };
	if (rc < 0) {
		builder_cache_share_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

static struct st_registry *registry(struct builder_cache_share *c, struct st_error **err)
{
	if (!c->reg) {
		struct st_registry_opts defaults = { 0 };
		c->reg = st_registry_new(c->ro ? c->ro : &defaults, err);
	}
	return c->reg;
}

/* ---- reading blobs of a cache ---- */

static int buf_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct st_buf *b = ctx;
	if (b->len + n > CACHE_DOC_MAX)
		return st_err(err, ST_E_INVALID, "larger than %u MiB", CACHE_DOC_MAX >> 20);
	st_buf_add(b, p, n);
	return 0;
}

static int buf_reset(void *ctx, struct st_error **err)
{
	(void)err;
	st_buf_setlen(ctx, 0);
	return 0;
}

static char *layout_blob(const struct share_spec *sp, const struct st_digest *d)
{
	return st_xasprintf("%s/blobs/sha256/%s", sp->dir, st_digest_hex(d));
}

/* Stream blob 'd' of the cache 'sp' to 'sink'. */
static int blob_get(struct builder_cache_share *c, const struct share_spec *sp,
		    const struct st_digest *d, const struct st_http_sink *sink,
		    struct st_error **err)
{
	if (sp->type == SHARE_REGISTRY) {
		struct st_registry *r = registry(c, err);
		return r ? st_registry_get_blob(r, sp->ref, d, sink, err) : -1;
	}
	st_autofree char *path = layout_blob(sp, d);
	st_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return st_err_errno(err, "open '%s'", path);
	st_autofree char *buf = st_xmalloc(1 << 20);
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return st_err_errno(err, "read '%s'", path);
		if (n == 0)
			return 0;
		if (sink->write(sink->ctx, buf, (size_t)n, err) < 0)
			return -1;
	}
}

/* A small blob (manifest, document) into 'out', checked against its digest. */
static int blob_bytes(struct builder_cache_share *c, const struct share_spec *sp,
		      const struct st_digest *d, struct st_buf *out, struct st_error **err)
{
	struct st_http_sink sink = { buf_write, buf_reset, out };
	if (blob_get(c, sp, d, &sink, err) < 0)
		return -1;
	struct st_digest got;
	st_digest_of(out->data, out->len, &got);
	if (!st_digest_equal(&got, d))
		return st_err(err, ST_E_DIGEST, "blob %s: digest mismatch: got %s", d->str,
			      got.str);
	return 0;
}

/* The cache manifest of 'sp' into *m. */
static int read_manifest(struct builder_cache_share *c, const struct share_spec *sp,
			 struct st_image_manifest **m, struct st_error **err)
{
	struct st_buf bytes = ST_BUF_INIT;
	int rc;
	if (sp->type == SHARE_REGISTRY) {
		struct st_registry *r = registry(c, err);
		struct st_registry_manifest rm = { .bytes = ST_BUF_INIT };
		rc = r ? st_registry_get_manifest(r, sp->ref, &rm, err) : -1;
		if (rc == 0)
			rc = st_image_manifest_parse(rm.bytes.data, rm.bytes.len, m, err);
		st_registry_manifest_release(&rm);
		return rc;
	}
	st_autofree char *ipath = st_path_join(sp->dir, "index.json");
	rc = st_read_file(ipath, &bytes, err);
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	if (rc == 0 && st_image_index_parse(bytes.data, bytes.len, &idx, err) < 0)
		rc = st_err_wrap(err, "%s", ipath);
	const struct st_image_descriptor *d = NULL;
	for (size_t i = 0; rc == 0 && idx && i < idx->n_manifests && !d; i++) {
		const char *name = st_image_map_get(&idx->manifests[i].annotations,
						    "org.opencontainers.image.ref.name");
		if (name && !strcmp(name, sp->tag))
			d = &idx->manifests[i];
	}
	if (rc == 0 && !d)
		rc = st_err(err, ST_E_NOTFOUND, "%s: no cache tagged '%s'", ipath, sp->tag);
	st_buf_setlen(&bytes, 0);
	if (rc == 0)
		rc = blob_bytes(c, sp, &d->digest, &bytes, err);
	if (rc == 0)
		rc = st_image_manifest_parse(bytes.data, bytes.len, m, err);
	st_buf_release(&bytes);
	return rc;
}

static const struct st_image_descriptor *layer_of(const struct st_image_manifest *m,
						  const char *digest)
{
	for (size_t i = 0; i < m->n_layers; i++)
		if (!strcmp(m->layers[i].digest.str, digest))
			return &m->layers[i];
	return NULL;
}

/*
 * The layers below the record's own, from the config of the image it records ('config', may
 * be NULL): what a prefetch looks at to tell whether the build can reach the record. Left
 * unknown when the config does not end with the record's layer.
 */
static void record_below(struct share_record *rec, const char *config)
{
	st_auto(st_image_config) struct st_image_config *cfg = NULL;
	if (!config || st_image_config_parse(config, strlen(config), &cfg, NULL) < 0)
		return;
	size_t n = cfg->n_diff_ids;
	if (!n || !st_digest_equal(&cfg->diff_ids[n - 1], &rec->diff_id))
		return;
	rec->below = st_xcalloc(n, sizeof(*rec->below));
	memcpy(rec->below, cfg->diff_ids, (n - 1) * sizeof(*rec->below));
	rec->n_below = n - 1;
}

/* The records of cache document 'doc' (whose layers 'm' lists), added to c->recs. */
static int add_records(struct builder_cache_share *c, size_t from, const void *doc, size_t len,
		       const struct st_image_manifest *m, struct st_error **err)
{
	json_error_t jerr;
	json_t *root = json_loadb(doc, len, 0, &jerr);
	if (!root)
		return st_err(err, ST_E_PARSE, "cache document: %s", jerr.text);
	int rc = 0;
	json_t *recs = json_object_get(root, "records");
	if (json_integer_value(json_object_get(root, "version")) != CACHE_DOC_VERSION ||
	    !json_is_array(recs))
		rc = st_err(err, ST_E_INVALID, "cache document: not version %d with records",
			    CACHE_DOC_VERSION);
	size_t i;
	json_t *r;
	json_array_foreach(recs, i, r)
	{
		if (rc < 0)
			break;
		const char *key = json_string_value(json_object_get(r, "key"));
		const char *value = json_string_value(json_object_get(r, "value"));
		const char *layer = json_string_value(json_object_get(r, "layer"));
		const char *diff_id = json_string_value(json_object_get(r, "diff_id"));
		json_t *dsize = json_object_get(r, "diff_size");
		if (!key || strlen(key) != ST_DIGEST_HEX_LEN || !value ||
		    (layer && (!diff_id || !json_is_integer(dsize)))) {
			rc =
			    st_err(err, ST_E_INVALID, "cache document: records[%zu]: malformed", i);
			break;
		}
		/* The value is what a hit applies: the layer it names must be the record's, or a
		 * cache could make a step take any layer the store happens to hold. */
		json_t *v = json_loads(value, 0, NULL);
		const char *vlayer = json_string_value(json_object_get(v, "layer"));
		bool same = (!vlayer && !layer) || (vlayer && layer && !strcmp(vlayer, layer));
		if (!same)
			rc = st_err(err, ST_E_INVALID,
				    "cache document: records[%zu]: its value names layer %s, the "
				    "record %s",
				    i, vlayer ? vlayer : "none", layer ? layer : "none");
		struct share_record rec = { .from = from };
		const struct st_image_descriptor *ld = layer ? layer_of(m, layer) : NULL;
		if (rc == 0 && layer && (!ld || st_digest_parse(diff_id, &rec.diff_id, NULL) < 0)) {
			rc = st_err(err, ST_E_INVALID,
				    "cache document: records[%zu]: layer %s is not in the cache", i,
				    layer);
		}
		if (rc == 0 && ld)
			record_below(&rec, json_string_value(json_object_get(v, "config")));
		json_decref(v);
		if (rc < 0)
			break;
		rec.key = st_xstrdup(key);
		rec.value = st_xstrdup(value);
		if (ld) {
			rec.has_layer = true;
			st_image_descriptor_copy(&rec.layer, ld);
			rec.diff_size = (uint64_t)json_integer_value(dsize);
		}
		c->recs = st_xrealloc(c->recs, (c->n_recs + 1) * sizeof(*c->recs));
		c->recs[c->n_recs++] = rec;
	}
	/* "sums": COPY --from checksums by memo key, both 64 hex digits. */
	json_t *sums = json_object_get(root, "sums");
	if (rc == 0 && sums && !json_is_object(sums))
		rc = st_err(err, ST_E_INVALID, "cache document: sums: not an object");
	const char *memo;
	json_t *sv;
	json_object_foreach(sums, memo, sv)
	{
		const char *sum = json_string_value(sv);
		if (rc < 0)
			break;
		if (!st_digest_hex_valid(memo) || !st_digest_hex_valid(sum)) {
			rc = st_err(err, ST_E_INVALID,
				    "cache document: sums: '%s': not a checksum by its key", memo);
			break;
		}
		c->sums_in = st_xrealloc(c->sums_in, (c->n_sums_in + 1) * sizeof(*c->sums_in));
		struct share_sum *x = &c->sums_in[c->n_sums_in++];
		memcpy(x->memo, memo, sizeof(x->memo));
		memcpy(x->sum, sum, sizeof(x->sum));
		x->stage = 0;
	}
	json_decref(root);
	return rc;
}

/* The cache document an image's config carries inline, into *doc: 0, or ST_E_NOTFOUND. */
static int inline_doc(const struct st_buf *config, struct st_buf *doc, struct st_error **err)
{
	json_t *root = json_loadb(config->data, config->len, 0, NULL);
	const char *text = json_string_value(json_object_get(root, INLINE_KEY));
	int rc = 0;
	if (text)
		st_buf_adds(doc, text);
	else
		rc = st_err(err, ST_E_NOTFOUND, "the image has no inline cache (%s)", INLINE_KEY);
	json_decref(root);
	return rc;
}

static int check_cache_manifest(const struct st_image_manifest *m, struct st_error **err)
{
	if (!m->config.media_type || strcmp(m->config.media_type, ST_BUILDER_CACHE_MT))
		return st_err(err, ST_E_INVALID, "not a strata build cache (config is %s)",
			      m->config.media_type ? m->config.media_type : "untyped");
	return 0;
}

static int import_one(struct builder_cache_share *c, size_t i, struct st_error **err)
{
	const struct share_spec *sp = &c->from[i];
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	if (read_manifest(c, sp, &m, err) < 0)
		return -1;
	struct st_buf doc = ST_BUF_INIT;
	int rc;
	if (m->config.media_type && (!strcmp(m->config.media_type, ST_MT_OCI_CONFIG) ||
				     !strcmp(m->config.media_type, ST_MT_DOCKER_CONFIG))) {
		/* An image: its config may carry an inline cache of its own layers. */
		struct st_buf config = ST_BUF_INIT;
		rc = blob_bytes(c, sp, &m->config.digest, &config, err);
		if (rc == 0)
			rc = inline_doc(&config, &doc, err);
		st_buf_release(&config);
	} else {
		rc = check_cache_manifest(m, err);
		if (rc == 0)
			rc = blob_bytes(c, sp, &m->config.digest, &doc, err);
	}
	if (rc == 0)
		rc = add_records(c, i, doc.data, doc.len, m, err);
	st_buf_release(&doc);
	return rc;
}

int builder_cache_share_parse(struct builder_cache_share *c, const void *manifest, size_t mlen,
			      const void *doc, size_t dlen, struct st_error **err)
{
	if (!c->n_from)
		return st_err(err, ST_E_INVALID, "no --cache-from to parse for");
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	if (st_image_manifest_parse(manifest, mlen, &m, err) < 0 ||
	    check_cache_manifest(m, err) < 0)
		return -1;
	return add_records(c, 0, doc, dlen, m, err);
}

static char *spec_name(const struct share_spec *sp)
{
	if (sp->type == SHARE_LOCAL)
		return st_xasprintf("type=local,dir=%s", sp->dir);
	return st_image_ref_string(sp->ref);
}

int builder_cache_share_import(struct builder_cache_share *c, builder_warn_fn warn, void *ctx)
{
	if (!c || c->imported)
		return 0;
	c->imported = true;
	for (size_t i = 0; i < c->n_from; i++) {
		struct st_error *e = NULL;
		if (import_one(c, i, &e) < 0) {
			st_autofree char *name = spec_name(&c->from[i]);
			st_autofree char *msg =
			    st_xasprintf("failed to import cache %s: %s", name, e->msg);
			warn(ctx, msg);
			st_error_free(e);
		}
	}
	return 0;
}

/* ---- using a record ---- */

static struct share_record *record_find(struct builder_cache_share *c, const char *key)
{
	for (size_t i = 0; i < c->n_recs; i++)
		if (!strcmp(c->recs[i].key, key))
			return &c->recs[i];
	return NULL;
}

/* The ingest's sink; a fetch ahead gives up once no step is left to use it. */
struct fetch_sink {
	struct builder_cache_share *c;
	struct st_local_ingest *g;
	bool ahead;
};

static int fetch_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct fetch_sink *f = ctx;
	if (f->ahead && __atomic_load_n(&f->c->pf_stop, __ATOMIC_RELAXED))
		return st_err(err, ST_E_INVALID, "cancelled");
	return st_local_ingest_write(f->g, p, n, err);
}

static int fetch_reset(void *ctx, struct st_error **err)
{
	return st_local_ingest_reset(((struct fetch_sink *)ctx)->g, err);
}

/*
 * Make sure the store has the record's layer: fetched and checked when it does not. 'ahead':
 * for a prefetch worker.
 */
static int fetch_layer(struct builder_cache_share *c, struct st_store *s,
		       const struct share_record *rec, bool ahead, struct st_store_lease *lease,
		       struct st_error **err)
{
	if (st_store_lease_add(lease, rec->layer.digest.str, err) < 0 ||
	    st_store_lease_add(lease, rec->diff_id.str, err) < 0)
		return -1;
	struct st_store_layer have;
	struct st_error *e = NULL;
	if (st_store_layer_get(s, rec->layer.digest.str, &have, &e) == 0) {
		bool same = st_digest_equal(&have.diff_id, &rec->diff_id) &&
			    st_store_has_blob(s, rec->layer.digest.str);
		st_store_layer_release(&have);
		if (same)
			return 0;
	}
	st_error_free(e);
	st_auto(st_local_ingest) struct st_local_ingest *g = NULL;
	if (st_local_ingest_new(s, lease, NULL, &rec->layer, &g, err) < 0)
		return -1;
	struct fetch_sink f = { c, g, ahead };
	struct st_http_sink sink = { fetch_write, fetch_reset, &f };
	if (blob_get(c, &c->from[rec->from], &rec->layer.digest, &sink, err) < 0 ||
	    st_local_ingest_commit(g, &rec->diff_id, NULL, err) < 0)
		return st_err_wrap(err, "layer %s", rec->layer.digest.str);
	return 0;
}

/*
 * The record's layer for a step: fetched here, unless a prefetch has it or is fetching it
 * (then wait for it). A failed prefetch fails the step's fetch as the same fetch made here
 * would.
 */
static int layer_for_step(struct builder_cache_share *c, struct st_store *s,
			  struct share_record *rec, struct st_store_lease *lease,
			  struct st_error **err)
{
	pthread_mutex_lock(&c->lock);
	while (rec->pf == PF_RUNNING)
		pthread_cond_wait(&c->pf_cond, &c->lock);
	bool here = rec->pf != PF_DONE;
	if (here)
		rec->pf = PF_RUNNING;
	int rc = 0;
	if (!here && rec->pf_err)
		rc = st_err(err, rec->pf_err->kind, "%s", rec->pf_err->msg);
	pthread_mutex_unlock(&c->lock);
	if (rc < 0)
		return -1;
	/* Fetched ahead: this only adds it to the step's lease and sees it is there. */
	rc = fetch_layer(c, s, rec, false, lease, err);
	if (here) {
		pthread_mutex_lock(&c->lock);
		rec->pf = PF_DONE;
		if (rc < 0)
			st_err(&rec->pf_err, (*err)->kind, "%s", (*err)->msg);
		pthread_cond_broadcast(&c->pf_cond);
		pthread_mutex_unlock(&c->lock);
	}
	return rc;
}

int builder_cache_share_fetch(struct builder_cache_share *c, struct st_store *s, const char *key,
			      struct st_error **err)
{
	if (!c)
		return 0;
	struct share_record *rec = record_find(c, key);
	if (!rec)
		return 0;
	struct st_store_lease *lease = NULL;
	int rc = st_store_lease_begin(s, &lease, err);
	if (rc == 0 && rec->has_layer)
		rc = layer_for_step(c, s, rec, lease, err);
	if (rc == 0)
		rc = st_store_cache_put(s, rec->key, rec->value,
					rec->has_layer ? rec->diff_id.str : NULL, rec->diff_size,
					err);
	st_store_lease_end(lease);
	if (rc < 0)
		return st_err_wrap(err, "cache from %s",
				   c->from[rec->from].type == SHARE_LOCAL ? c->from[rec->from].dir
									  : "the registry");
	return 1;
}

/* ---- prefetching ----
 *
 * A step that hits waits for its layer; the layers of a cache are known as soon as it is
 * imported, long before the steps that hit them (the context is read and hashed first), so
 * workers fetch them meanwhile, in the records' order (the order of the steps that made them).
 * A fetched layer is only a blob and a layer record kept by the worker's lease: it becomes the
 * step's (a cache record) when the step hits, so one no step used goes with the next gc.
 *
 * Only layers the build can reach are fetched: a record's layers below its own must all be in
 * the store already (its base image) or be brought by another record fetched. The layers of a
 * cache built on another base image, or whose base image is not here, wait for their step.
 */

/* Whether the layer 'd' is one a worker fetches or the store has. */
static bool reachable(struct builder_cache_share *c, struct st_store *s, const struct st_digest *d)
{
	for (size_t i = 0; i < c->n_recs; i++)
		if (c->recs[i].pf == PF_QUEUED && st_digest_equal(&c->recs[i].diff_id, d))
			return true;
	struct st_store_layer *v = NULL;
	size_t n = 0;
	struct st_error *e = NULL;
	if (st_store_layer_variants(s, d->str, &v, &n, &e) < 0)
		st_error_free(e);
	st_store_layers_free(v, n);
	return n > 0;
}

/* Queue the records whose layers below are reachable, until no more can be. */
static size_t prefetch_pick(struct builder_cache_share *c, struct st_store *s)
{
	size_t queued = 0;
	for (bool more = true; more;) {
		more = false;
		for (size_t i = 0; i < c->n_recs; i++) {
			struct share_record *rec = &c->recs[i];
			if (!rec->has_layer || !rec->below || rec->pf != PF_NONE)
				continue;
			bool ok = true;
			for (size_t k = 0; k < rec->n_below && ok; k++)
				ok = reachable(c, s, &rec->below[k]);
			if (ok) {
				rec->pf = PF_QUEUED;
				queued++;
				more = true;
			}
		}
	}
	return queued;
}

static void *prefetch_worker(void *arg)
{
	struct prefetcher *w = arg;
	struct builder_cache_share *c = w->c;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct share_record *rec = NULL;
		while (!__atomic_load_n(&c->pf_stop, __ATOMIC_RELAXED) && !rec &&
		       c->pf_next < c->n_recs) {
			rec = &c->recs[c->pf_next++];
			if (rec->pf != PF_QUEUED)
				rec = NULL; /* taken by its step meanwhile, or not to fetch */
		}
		if (!rec)
			break;
		rec->pf = PF_RUNNING;
		pthread_mutex_unlock(&c->lock);
		struct st_error *e = NULL;
		int rc = fetch_layer(c, w->s, rec, true, w->lease, &e);
		pthread_mutex_lock(&c->lock);
		rec->pf = PF_DONE;
		if (rc < 0 && __atomic_load_n(&c->pf_stop, __ATOMIC_RELAXED)) {
			/* Given up, not failed: a step of a later build may still fetch it. */
			rec->pf = PF_NONE;
			st_error_free(e);
		} else if (rc < 0) {
			rec->pf_err = e;
		}
		pthread_cond_broadcast(&c->pf_cond);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

void builder_cache_share_prefetch(struct builder_cache_share *c, struct st_store *s)
{
	if (!c || c->pf_started || !c->n_recs)
		return;
	c->pf_started = true;
	if (!prefetch_pick(c, s))
		return;
	for (size_t i = 0; i < PREFETCH_JOBS; i++) {
		struct prefetcher *w = &c->pf[i];
		struct st_error *e = NULL;
		w->c = c;
		/* A worker that cannot start leaves its records to the others, or to the steps. */
		if (st_store_open(st_store_root(s), &w->s, &e) < 0 ||
		    st_store_lease_begin(w->s, &w->lease, &e) < 0) {
			st_error_free(e);
			continue;
		}
		w->started = pthread_create(&w->thread, NULL, prefetch_worker, w) == 0;
	}
}

void builder_cache_share_prefetch_end(struct builder_cache_share *c)
{
	if (!c)
		return;
	__atomic_store_n(&c->pf_stop, true, __ATOMIC_RELAXED);
	for (size_t i = 0; i < PREFETCH_JOBS; i++) {
		if (c->pf[i].started)
			pthread_join(c->pf[i].thread, NULL);
		c->pf[i].started = false;
	}
}

static void prefetch_stop(struct builder_cache_share *c)
{
	builder_cache_share_prefetch_end(c);
	for (size_t i = 0; i < PREFETCH_JOBS; i++) {
		st_store_lease_end(c->pf[i].lease);
		st_store_free(c->pf[i].s);
		c->pf[i] = (struct prefetcher){ 0 };
	}
}

void builder_cache_share_used(struct builder_cache_share *c, const char *key, size_t stage)
{
	if (!c || !c->n_to)
		return;
	pthread_mutex_lock(&c->lock);
	c->used = st_xrealloc(c->used, (c->n_used + 1) * sizeof(*c->used));
	c->used[c->n_used] = (struct used_key){ .stage = stage, .build = c->builds };
	snprintf(c->used[c->n_used].key, sizeof(c->used[c->n_used].key), "%s", key);
	c->n_used++;
	pthread_mutex_unlock(&c->lock);
}

bool builder_cache_share_sum(struct builder_cache_share *c, const char *memo,
			     char out[ST_DIGEST_HEX_LEN + 1])
{
	if (!c)
		return false;
	bool found = false;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_sums_in && !found; i++)
		if (!strcmp(c->sums_in[i].memo, memo)) {
			memcpy(out, c->sums_in[i].sum, ST_DIGEST_HEX_LEN + 1);
			found = true;
		}
	pthread_mutex_unlock(&c->lock);
	return found;
}

void builder_cache_share_sum_used(struct builder_cache_share *c, const char *memo, const char *sum,
				  size_t stage)
{
	if (!c || !c->n_to)
		return;
	pthread_mutex_lock(&c->lock);
	c->sums_used = st_xrealloc(c->sums_used, (c->n_sums_used + 1) * sizeof(*c->sums_used));
	struct share_sum *x = &c->sums_used[c->n_sums_used++];
	*x = (struct share_sum){ .stage = stage, .build = c->builds };
	snprintf(x->memo, sizeof(x->memo), "%s", memo);
	snprintf(x->sum, sizeof(x->sum), "%s", sum);
	pthread_mutex_unlock(&c->lock);
}

void builder_cache_share_settle(struct builder_cache_share *c, const bool *in_min)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_used; i++)
		if (c->used[i].build == c->builds)
			c->used[i].in_min = in_min[c->used[i].stage];
	for (size_t i = 0; i < c->n_sums_used; i++)
		if (c->sums_used[i].build == c->builds)
			c->sums_used[i].in_min = in_min[c->sums_used[i].stage];
	c->builds++;
}

/* ---- export ---- */

/* The cache document and its manifest for the keys of 'stages' (NULL: all). */
struct export
{
	struct st_buf doc;
	struct st_image_manifest *m;
	struct st_buf manifest;
	struct st_digest doc_digest, manifest_digest;
	struct st_store_lease *lease; /* holds the compressed layers made for it */
};

static void export_release(struct export *x)
{
	st_store_lease_end(x->lease);
	st_buf_release(&x->doc);
	st_buf_release(&x->manifest);
	st_image_manifest_free(x->m);
}

static bool has_diff_id(const struct st_image_config *cfg, const struct st_digest *d)
{
	for (size_t i = 0; i < cfg->n_diff_ids; i++)
		if (st_digest_equal(&cfg->diff_ids[i], d))
			return true;
	return false;
}

/*
 * The store keeps a step's layer uncompressed: the cache shares it compressed as the image
 * output 'f' makes it (the same blob, made once: gzip by default), and the record 'o' (its
 * value 'v') then names that blob, so that it names the layer an image pushed from the
 * build has.
 */
static int share_compressed(struct st_store *s, struct export *x, const struct st_local_format *f,
			    struct st_store_layer *l, json_t *v, json_t *o, struct st_error **err)
{
	enum st_layer_comp c;
	if (!l->media_type || !st_layer_media_type_comp(l->media_type, &c) || c == f->compression ||
	    (c != ST_LAYER_COMP_NONE && !(f->flags & ST_LOCAL_FORMAT_FORCE)))
		return 0;
	if (!x->lease && st_store_lease_begin(s, &x->lease, err) < 0)
		return -1;
	struct st_store_layer gz;
	if (st_local_layer_convert(s, x->lease, l, f->compression, f->level, &gz, err) < 0)
		return -1;
	st_store_layer_release(l);
	*l = gz;
	json_object_set_new(v, "layer", json_string(gz.digest.str));
	char *text = json_dumps(v, JSON_COMPACT);
	if (!text)
		abort(); /* jansson fails only without memory */
	json_object_set_new(o, "value", json_string(text));
	free(text);
	return 0;
}

/* Whether the used key 'u' goes into an export of 'max' mode, of the build 'only' (-1: any). */
static bool exported(const struct used_key *u, bool max, ssize_t only)
{
	return (max || u->in_min) && (only < 0 || u->build == (size_t)only);
}

/*
 * 'only_in' (may be NULL): keep only the records of the last build settled whose layer that
 * image has (inline); else the records of every build, every platform's. Layers are shared
 * in format 'f'.
 */
static int export_build(struct builder_cache_share *c, struct st_store *s, bool max,
			const struct st_image_config *only_in, const struct st_local_format *f,
			struct export *x, struct st_error **err)
{
	ssize_t only = only_in ? (ssize_t)c->builds - 1 : -1;
	*x = (struct export){ .doc = ST_BUF_INIT, .manifest = ST_BUF_INIT };
	x->m = st_image_manifest_new();
	json_t *recs = json_array();
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < c->n_used; i++) {
		const struct used_key *u = &c->used[i];
		if (!exported(u, max, only))
			continue;
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++)
			dup = exported(&c->used[k], max, only) && !strcmp(c->used[k].key, u->key);
		if (dup)
			continue;
		struct st_store_cache rec = { 0 };
		struct st_error *e = NULL;
		if (st_store_cache_get(s, u->key, &rec, &e) < 0) {
			st_error_free(e); /* pruned meanwhile: nothing to share */
			continue;
		}
		json_t *o = json_pack("{s:s, s:s}", "key", rec.key, "value", rec.value);
		json_t *v = json_loads(rec.value, 0, NULL);
		const char *layer = v ? json_string_value(json_object_get(v, "layer")) : NULL;
		if (layer) {
			struct st_store_layer l;
			rc = st_local_layer_find(s, layer, &l, err);
			if (rc == 0)
				rc = st_err(err, ST_E_NOTFOUND, "layer %s: not found", layer);
			else if (rc == 1)
				rc = 0;
			if (rc == 0)
				rc = share_compressed(s, x, f, &l, v, o, err);
			if (rc == 0 && only_in && !has_diff_id(only_in, &l.diff_id)) {
				st_store_layer_release(&l);
				json_decref(v);
				json_decref(o);
				st_store_cache_release(&rec);
				continue;
			}
			if (rc == 0) {
				json_object_set_new(o, "layer", json_string(l.digest.str));
				json_object_set_new(o, "diff_id", json_string(l.diff_id.str));
				json_object_set_new(o, "diff_size",
						    json_integer((json_int_t)l.diff_size));
				if (!layer_of(x->m, l.digest.str)) {
					struct st_image_descriptor d = { 0 };
					d.media_type = l.media_type ? l.media_type
								    : (char *)ST_MT_OCI_LAYER_GZIP;
					d.digest = l.digest;
					d.size = (int64_t)l.size;
					st_image_manifest_add_layer(x->m, &d);
				}
				st_store_layer_release(&l);
			}
		}
		json_decref(v);
		json_array_append_new(recs, o);
		st_store_cache_release(&rec);
	}
	json_t *sums = json_object();
	for (size_t i = 0; i < c->n_sums_used; i++)
		if ((max || c->sums_used[i].in_min) &&
		    (only < 0 || c->sums_used[i].build == (size_t)only))
			json_object_set_new(sums, c->sums_used[i].memo,
					    json_string(c->sums_used[i].sum));
	json_t *root = json_pack("{s:i, s:o, s:o}", "version", CACHE_DOC_VERSION, "records", recs,
				 "sums", sums);
	char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	st_buf_adds(&x->doc, text);
	free(text);
	if (rc < 0)
		return -1;
	st_digest_of(x->doc.data, x->doc.len, &x->doc_digest);
	free(x->m->config.media_type);
	x->m->config.media_type = st_xstrdup(ST_BUILDER_CACHE_MT);
	x->m->config.digest = x->doc_digest;
	x->m->config.size = (int64_t)x->doc.len;
	st_image_manifest_serialize(x->m, &x->manifest);
	st_digest_of(x->manifest.data, x->manifest.len, &x->manifest_digest);
	return 0;
}

/* Write 'n' bytes as the layout blob 'd' unless it is there already. */
static int layout_put(const struct share_spec *sp, const struct st_digest *d, const void *p,
		      size_t n, int from_fd, struct st_error **err)
{
	st_autofree char *path = layout_blob(sp, d);
	if (st_path_exists(path))
		return 0;
	st_auto_tmpfile struct st_tmpfile t = ST_TMPFILE_INIT;
	if (st_tmpfile_open_beside(&t, path, 0644, err) < 0)
		return -1;
	if (from_fd < 0 && st_write_all(t.fd, p, n, err) < 0)
		return st_err_wrap(err, "write '%s'", path);
	st_autofree char *buf = from_fd >= 0 ? st_xmalloc(1 << 20) : NULL;
	while (from_fd >= 0) {
		ssize_t k = read(from_fd, buf, 1 << 20);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return st_err_errno(err, "read blob %s", d->str);
		if (k == 0)
			break;
		if (st_write_all(t.fd, buf, (size_t)k, err) < 0)
			return st_err_wrap(err, "write '%s'", path);
	}
	return st_tmpfile_commit(&t, path, err);
}

static int export_local(struct st_store *s, const struct share_spec *sp, const struct export *x,
			struct st_error **err)
{
	st_autofree char *blobs = st_xasprintf("%s/blobs/sha256", sp->dir);
	if (st_mkdir_p(blobs, 0755, err) < 0)
		return -1;
	for (size_t i = 0; i < x->m->n_layers; i++) {
		st_autoclose int fd = -1;
		if (st_store_open_blob(s, x->m->layers[i].digest.str, &fd, NULL, err) < 0 ||
		    layout_put(sp, &x->m->layers[i].digest, NULL, 0, fd, err) < 0)
			return -1;
	}
	if (layout_put(sp, &x->doc_digest, x->doc.data, x->doc.len, -1, err) < 0 ||
	    layout_put(sp, &x->manifest_digest, x->manifest.data, x->manifest.len, -1, err) < 0)
		return -1;
	/* index.json last: the entry of our tag replaced, the others kept. */
	st_autofree char *ipath = st_path_join(sp->dir, "index.json");
	struct st_buf old = ST_BUF_INIT;
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	struct st_error *e = NULL;
	if (st_read_file(ipath, &old, &e) < 0 ||
	    st_image_index_parse(old.data, old.len, &idx, &e) < 0) {
		st_error_free(e);
		idx = st_image_index_new();
	}
	st_buf_release(&old);
	st_auto(st_image_index) struct st_image_index *nidx = st_image_index_new();
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const char *name = st_image_map_get(&idx->manifests[i].annotations,
						    "org.opencontainers.image.ref.name");
		if (!name || strcmp(name, sp->tag))
			st_image_index_add(nidx, &idx->manifests[i]);
	}
	struct st_image_descriptor d = { 0 };
	d.media_type = (char *)ST_MT_OCI_MANIFEST;
	d.digest = x->manifest_digest;
	d.size = (int64_t)x->manifest.len;
	st_image_map_set(&d.annotations, "org.opencontainers.image.ref.name", sp->tag);
	st_image_index_add(nidx, &d);
	st_image_map_release(&d.annotations);
	struct st_buf out = ST_BUF_INIT;
	st_image_index_serialize(nidx, &out);
	st_autofree char *layout = st_path_join(sp->dir, "oci-layout");
	static const char layout_text[] =
	    "{\"imageLayoutVersion\":\"" ST_MT_OCI_LAYOUT_VERSION "\"}";
	int rc =
	    st_write_file_atomic(layout, NULL, layout_text, sizeof(layout_text) - 1, 0644, err);
	if (rc == 0)
		rc = st_write_file_atomic(ipath, NULL, out.data, out.len, 0644, err);
	st_buf_release(&out);
	return rc;
}

struct mem_reader {
	const struct st_buf *b;
	size_t off;
};

static ssize_t mem_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	(void)err;
	struct mem_reader *m = ctx;
	size_t left = m->b->len - m->off;
	if (n > left)
		n = left;
	memcpy(buf, m->b->data + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

static int mem_rewind(void *ctx, struct st_error **err)
{
	(void)err;
	((struct mem_reader *)ctx)->off = 0;
	return 0;
}

static int export_registry(struct builder_cache_share *c, struct st_store *s,
			   const struct share_spec *sp, const struct export *x,
			   struct st_error **err)
{
	struct st_registry *r = registry(c, err);
	if (!r)
		return -1;
	for (size_t i = 0; i < x->m->n_layers; i++)
		if (st_registry_push_store_blob(s, r, sp->ref, &x->m->layers[i].digest, NULL, err) <
		    0)
			return -1;
	bool exists = false;
	if (st_registry_blob_exists(r, sp->ref, &x->doc_digest, &exists, err) < 0)
		return -1;
	if (!exists) {
		struct mem_reader m = { &x->doc, 0 };
		struct st_http_body_reader body = { mem_read, mem_rewind, &m, x->doc.len };
		bool mounted = false;
		if (st_registry_push_blob(r, sp->ref, &x->doc_digest, &body, NULL, &mounted, err) <
		    0)
			return -1;
	}
	return st_registry_put_manifest(r, sp->ref, ST_MT_OCI_MANIFEST, x->manifest.data,
					x->manifest.len, err);
}

int builder_cache_share_export(struct builder_cache_share *c, struct st_store *s,
			       builder_warn_fn warn, void *ctx, struct st_error **err)
{
	for (size_t i = 0; c && i < c->n_to; i++) {
		const struct share_spec *sp = &c->to[i];
		if (sp->type == SHARE_INLINE)
			continue; /* in the image's config: builder_cache_share_inline() */
		struct export x;
		const struct st_local_format gzip = { .compression = ST_LAYER_COMP_GZIP };
		int rc = export_build(c, s, sp->max, NULL, &gzip, &x, err);
		if (rc == 0)
			rc = sp->type == SHARE_LOCAL ? export_local(s, sp, &x, err)
						     : export_registry(c, s, sp, &x, err);
		export_release(&x);
		if (rc < 0) {
			st_autofree char *name = spec_name(sp);
			st_err_wrap(err, "export cache to %s", name);
			if (!sp->ignore_error)
				return -1;
			warn(ctx, (*err)->msg);
			st_error_clear(err);
		}
	}
	return 0;
}

int builder_cache_share_inline(struct builder_cache_share *c, struct st_store *s,
			       const struct st_local_format *f, struct st_image_config *cfg,
			       struct st_error **err)
{
	bool wanted = false;
	for (size_t i = 0; c && i < c->n_to; i++)
		wanted |= c->to[i].type == SHARE_INLINE;
	if (!wanted)
		return 0;
	struct export x;
	int rc = export_build(c, s, false, cfg, f, &x, err);
	if (rc == 0) {
		if (!cfg->raw)
			cfg->raw = json_object();
		json_object_set_new(cfg->raw, INLINE_KEY, json_stringn(x.doc.data, x.doc.len));
	}
	export_release(&x);
	return rc;
}
