/*
 * pull.c: an image from a registry into the store.
 *
 * Everything written is protected by one lease taken first, so a gc running meanwhile keeps
 * it; the image record that makes it reachable is written last, in one transaction. A layer
 * streams once through st_local_ingest, which checks its digest, its diff_id and that it
 * unpacks safely before it is recorded.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "layer/layer.h"
#include "local/local.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

#define DEFAULT_JOBS 3

void st_registry_pull_result_release(struct st_registry_pull_result *res)
{
	free(res->name);
	res->name = NULL;
}

/* ---- the pull ----------------------------------------------------------------------------- */

struct puller {
	struct st_store *s;
	struct st_registry *r;
	const struct st_image_ref *ref;
	const struct st_registry_pull_opts *o;
	struct st_store_lease *lease;
	const struct st_image_manifest *m;
	const struct st_image_config *cfg;
	struct st_store_layer *layers; /* filled as layers arrive */
	pthread_mutex_t lock;	       /* next, failed, events, downloaded */
	/*
	 * A store handle is one SQLite connection with state of its own: the workers share 's'
	 * one at a time. Downloads, decompression and checks run outside this lock.
	 */
	pthread_mutex_t store_lock;
	size_t next;
	struct st_error *failed;
	bool downloaded;
};

static void event(struct puller *p, const struct st_digest *d, const char *status)
{
	if (!p->o || !p->o->events.fn)
		return;
	char id[13] = "";
	if (d)
		snprintf(id, sizeof(id), "%.12s", st_digest_hex(d));
	pthread_mutex_lock(&p->lock);
	p->o->events.fn(p->o->events.ctx, id, status);
	pthread_mutex_unlock(&p->lock);
}

/* A layer's bytes on their way to the ingest, counted for the events' bytes callback. */
struct counted {
	struct puller *p;
	const struct st_image_descriptor *d;
	struct st_http_sink inner;
	uint64_t done;
};

static void count(struct counted *c)
{
	const struct st_events *ev = c->p->o ? &c->p->o->events : NULL;
	if (!ev || !ev->bytes)
		return;
	char id[13];
	snprintf(id, sizeof(id), "%.12s", st_digest_hex(&c->d->digest));
	pthread_mutex_lock(&c->p->lock);
	ev->bytes(ev->ctx, id, c->done, c->d->size > 0 ? (uint64_t)c->d->size : 0);
	pthread_mutex_unlock(&c->p->lock);
}

static int counted_write(void *ctx, const void *b, size_t n, struct st_error **err)
{
	struct counted *c = ctx;
	if (c->inner.write(c->inner.ctx, b, n, err) < 0)
		return -1;
	c->done += n;
	count(c);
	return 0;
}

static int counted_reset(void *ctx, struct st_error **err)
{
	struct counted *c = ctx;
	c->done = 0;
	count(c);
	return c->inner.reset(c->inner.ctx, err);
}

/* Whether the store has layer 'd' recorded with 'diff_id' (then *out is filled). */
static bool have_layer(struct puller *p, const struct st_image_descriptor *d,
		       const struct st_digest *diff_id, struct st_store_layer *out)
{
	struct st_error *e = NULL;
	if (st_store_layer_get(p->s, d->digest.str, out, &e) < 0) {
		st_error_free(e);
		return false;
	}
	if (!st_digest_equal(&out->diff_id, diff_id) || !st_store_has_blob(p->s, d->digest.str)) {
		st_store_layer_release(out);
		return false;
	}
	return true;
}

/*
 * Hold tmp/pull-<hex>.lock while downloading: a second strata pulling the same blob waits,
 * then finds it in the store. *fd is the lock to close.
 */
static int lock_blob(struct puller *p, const struct st_digest *d, int *fd, struct st_error **err)
{
	st_autofree char *path =
	    st_xasprintf("%s/pull-%s.lock", st_store_tmp_dir(p->s), st_digest_hex(d));
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return st_err_errno(err, "open '%s'", path);
	if (flock(*fd, LOCK_EX) < 0) {
		close(*fd);
		*fd = -1;
		return st_err_errno(err, "lock '%s'", path);
	}
	return 0;
}

/* Whether the store has the layer, under the store lock (*have filled when it does). */
static bool find(struct puller *p, const struct st_image_descriptor *d,
		 const struct st_digest *diff_id, struct st_store_layer *have)
{
	pthread_mutex_lock(&p->store_lock);
	bool found = have_layer(p, d, diff_id, have);
	pthread_mutex_unlock(&p->store_lock);
	return found;
}

static int pull_layer(struct puller *p, size_t i, struct st_error **err)
{
	const struct st_image_descriptor *d = &p->m->layers[i];
	const struct st_digest *diff_id = &p->cfg->diff_ids[i];
	pthread_mutex_lock(&p->store_lock);
	int rc = st_store_lease_add(p->lease, d->digest.str, err);
	if (rc == 0)
		rc = st_store_lease_add(p->lease, diff_id->str, err);
	pthread_mutex_unlock(&p->store_lock);
	if (rc < 0)
		return -1;
	/* Look, and look again once the blob's lock is held: another strata may have pulled it. */
	struct st_store_layer have;
	st_autoclose int lock = -1;
	bool found = find(p, d, diff_id, &have);
	if (!found && lock_blob(p, &d->digest, &lock, err) < 0)
		return -1;
	if (found || find(p, d, diff_id, &have)) {
		p->layers[i] = have;
		event(p, &d->digest, "Already exists");
		return 0;
	}
	event(p, &d->digest, "Downloading");
	st_auto(st_local_ingest) struct st_local_ingest *g = NULL;
	struct st_store_layer got;
	rc = st_local_ingest_new(p->s, p->lease, &p->store_lock, d, &g, err);
	if (rc == 0) {
		struct counted c = { p, d, { st_local_ingest_write, st_local_ingest_reset, g }, 0 };
		struct st_http_sink sink = { counted_write, counted_reset, &c };
		rc = st_registry_get_blob(p->r, p->ref, &d->digest, &sink, err);
	}
	if (rc == 0)
		rc = st_local_ingest_commit(g, diff_id, &got, err);
	if (rc < 0)
		return st_err_wrap(err, "layer %s", d->digest.str);
	p->layers[i] = got;
	pthread_mutex_lock(&p->lock);
	p->downloaded = true;
	pthread_mutex_unlock(&p->lock);
	event(p, &d->digest, "Pull complete");
	return 0;
}

static void *worker(void *arg)
{
	struct puller *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		size_t i = p->next++;
		bool stop = p->failed || i >= p->m->n_layers;
		pthread_mutex_unlock(&p->lock);
		if (stop)
			return NULL;
		struct st_error *e = NULL;
		if (pull_layer(p, i, &e) < 0) {
			pthread_mutex_lock(&p->lock);
			if (!p->failed)
				p->failed = e;
			else
				st_error_free(e);
			pthread_mutex_unlock(&p->lock);
		}
	}
}

static int pull_layers(struct puller *p, struct st_error **err)
{
	unsigned jobs = p->o && p->o->jobs ? p->o->jobs : DEFAULT_JOBS;
	if (jobs > p->m->n_layers)
		jobs = (unsigned)p->m->n_layers;
	pthread_t *t = st_xcalloc(jobs ? jobs : 1, sizeof(*t));
	unsigned started = 0;
	for (; started < jobs; started++)
		if (pthread_create(&t[started], NULL, worker, p) != 0)
			break;
	if (started == 0 && jobs)
		worker(p); /* no thread: do it here */
	for (unsigned k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	free(t);
	if (p->failed) {
		*err = p->failed;
		p->failed = NULL;
		return -1;
	}
	return 0;
}

/* Store a blob fetched whole (a manifest, the config): checked, leased, then written. */
static int put_small(struct puller *p, const struct st_buf *b, const struct st_digest *d,
		     struct st_error **err)
{
	struct st_digest got;
	st_digest_of(b->data ? b->data : "", b->len, &got);
	if (!st_digest_equal(&got, d))
		return st_err(err, ST_E_DIGEST, "blob %s: content hashes to %s", d->str, got.str);
	if (st_store_lease_add(p->lease, d->str, err) < 0)
		return -1;
	return st_store_put_blob(p->s, b->data ? b->data : "", b->len, NULL, err);
}

static int buf_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	st_buf_add(ctx, p, n);
	return 0;
}

static int buf_reset(void *ctx, struct st_error **err)
{
	st_buf_release(ctx);
	return 0;
}

/* The config, from the store when it is there, else from the registry (then stored). */
static int fetch_config(struct puller *p, struct st_image_config **out, struct st_error **err)
{
	const struct st_image_descriptor *cd = &p->m->config;
	struct st_buf b = ST_BUF_INIT;
	int rc = st_store_lease_add(p->lease, cd->digest.str, err);
	if (rc == 0 && st_store_has_blob(p->s, cd->digest.str)) {
		rc = st_store_read_blob(p->s, cd->digest.str, &b, err);
	} else if (rc == 0) {
		struct st_http_sink sink = { buf_write, buf_reset, &b };
		rc = st_registry_get_blob(p->r, p->ref, &cd->digest, &sink, err);
		if (rc == 0)
			rc = put_small(p, &b, &cd->digest, err);
	}
	if (rc == 0)
		rc = st_image_config_parse(b.data ? b.data : "", b.len, out, err);
	st_buf_release(&b);
	if (rc < 0)
		return st_err_wrap(err, "config %s", cd->digest.str);
	return 0;
}

/* "no matching manifest for linux/arm64 ...: the image has linux/amd64, linux/s390x" */
static int no_platform(const struct st_image_index *idx, struct st_error **err)
{
	struct st_buf b = ST_BUF_INIT;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct st_image_descriptor *d = &idx->manifests[i];
		if (!d->has_platform || !strcmp(d->platform.os, "unknown"))
			continue; /* attestations */
		if (b.len)
			st_buf_add(&b, ", ", 2);
		st_platform_format(&d->platform, &b);
	}
	st_autofree char *why = st_xstrdup((*err)->msg);
	st_err(err, ST_E_NOTFOUND, "%s; the image has %s (choose one with --platform)", why,
	       b.len ? b.data : "no platform");
	st_buf_release(&b);
	return -1;
}

/*
 * Resolve the reference to one image manifest: *top is what the reference named (kept for
 * RepoDigests and the tag), *m the manifest for the platform. Both are stored as served.
 */
static int resolve(struct puller *p, struct st_registry_manifest *top,
		   struct st_registry_manifest *man, struct st_image_manifest **m,
		   struct st_error **err)
{
	if (st_registry_get_manifest(p->r, p->ref, top, err) < 0)
		return -1;
	if (put_small(p, &top->bytes, &top->digest, err) < 0)
		return -1;
	const struct st_registry_manifest *chosen = top;
	enum st_image_kind kind = st_image_detect(top->bytes.data, top->bytes.len);
	if (kind == ST_IMAGE_KIND_INDEX) {
		st_auto(st_image_index) struct st_image_index *idx = NULL;
		if (st_image_index_parse(top->bytes.data, top->bytes.len, &idx, err) < 0)
			return st_err_wrap(err, "index %s", top->digest.str);
		struct st_platform want;
		if (p->o && p->o->platform)
			want = *p->o->platform;
		else
			st_platform_host(&want);
		const struct st_image_descriptor *d = st_image_index_select(idx, &want, err);
		if (!d)
			return no_platform(idx, err);
		if (st_registry_get_manifest_digest(p->r, p->ref, &d->digest, man, err) < 0 ||
		    put_small(p, &man->bytes, &man->digest, err) < 0)
			return -1;
		chosen = man;
	} else if (kind != ST_IMAGE_KIND_MANIFEST) {
		return st_err(err, ST_E_INVALID, "%s: not an image manifest or index (%s)",
			      top->digest.str, top->media_type);
	}
	if (st_image_manifest_parse(chosen->bytes.data, chosen->bytes.len, m, err) < 0)
		return st_err_wrap(err, "manifest %s", chosen->digest.str);
	if (chosen == top)
		*man = (struct st_registry_manifest){ ST_BUF_INIT, st_xstrdup(top->media_type),
						      top->digest };
	return 0;
}

static int record(struct puller *p, const struct st_registry_manifest *top,
		  const struct st_registry_manifest *man, struct st_registry_pull_result *out,
		  struct st_error **err)
{
	const struct st_image_config *c = p->cfg;
	struct st_store_image img = {
		.id = p->m->config.digest,
		.manifest_digest = man->digest,
		.manifest_media_type = p->m->media_type ? p->m->media_type : man->media_type,
		.config_media_type = p->m->config.media_type,
		.created = c->created,
		.os = c->os,
		.architecture = c->architecture,
		.variant = c->variant,
		.layers = p->layers,
		.n_layers = p->m->n_layers,
	};
	st_autofree char *repo = st_image_ref_repository(p->ref);
	st_autofree char *repo_digest = st_xasprintf("%s@%s", repo, top->digest.str);
	const char *tag = st_image_ref_tag(p->ref);
	st_autofree char *name =
	    tag && !st_image_ref_digest(p->ref) ? st_xasprintf("%s:%s", repo, tag) : NULL;
	const char *refs[] = { name };
	if (st_store_image_put(p->s, &img, refs, name ? 1 : 0, err) < 0)
		return -1;
	/* The tag resolves to what the registry served for it: the index when there is one. */
	if (name && st_store_ref_set(p->s, name, img.id.str, top->digest.str, err) < 0)
		return -1;
	if (st_store_repo_digest_add(p->s, img.id.str, repo_digest, err) < 0)
		return -1;
	out->id = img.id;
	out->digest = top->digest;
	out->name = st_steal(&name);
	return 0;
}

/* A signature's payload or config is a few hundred bytes; a bigger one is not cosign's. */
#define SIG_BLOB_MAX (1u << 20)

/*
 * The signatures cosign keeps beside the image 'digest' (the tag "sha256-<hex>.sig" of its
 * repository), stored with their blobs as the image's artifact so they go where it goes. An
 * image nobody signed has no such tag: nothing to do.
 */
static int pull_signatures(struct puller *p, const struct st_digest *digest, struct st_error **err)
{
	st_auto(st_image_ref) struct st_image_ref *sref = st_image_ref_dup(p->ref);
	free(sref->digest);
	sref->digest = NULL;
	st_autofree char *tag = st_image_sig_tag(digest);
	if (st_image_ref_set_tag(sref, tag, err) < 0)
		return -1;
	struct st_registry_manifest sig = { ST_BUF_INIT, NULL, { "" } };
	struct st_error *e = NULL;
	if (st_registry_get_manifest(p->r, sref, &sig, &e) < 0) {
		bool absent = e->kind == ST_E_NOTFOUND;
		if (!absent)
			*err = e;
		else
			st_error_free(e);
		return absent ? 0 : st_err_wrap(err, "signatures %s", tag);
	}
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	int rc = put_small(p, &sig.bytes, &sig.digest, err);
	if (rc == 0)
		rc = st_image_manifest_parse(sig.bytes.data, sig.bytes.len, &m, err);
	const char **blobs = m ? st_xcalloc(m->n_layers + 1, sizeof(*blobs)) : NULL;
	for (size_t i = 0; rc == 0 && i <= m->n_layers; i++) {
		const struct st_image_descriptor *d = i ? &m->layers[i - 1] : &m->config;
		blobs[i] = d->digest.str;
		if (d->size < 0 || d->size > SIG_BLOB_MAX) {
			rc = st_err(err, ST_E_INVALID,
				    "blob %s: %lld bytes, more than a signature's", d->digest.str,
				    (long long)d->size);
			break;
		}
		if (st_store_has_blob(p->s, d->digest.str)) {
			rc = st_store_lease_add(p->lease, d->digest.str, err);
			continue;
		}
		struct st_buf b = ST_BUF_INIT;
		struct st_http_sink sink = { buf_write, buf_reset, &b };
		rc = st_registry_get_blob(p->r, p->ref, &d->digest, &sink, err);
		if (rc == 0)
			rc = put_small(p, &b, &d->digest, err);
		st_buf_release(&b);
	}
	if (rc == 0)
		rc = st_store_artifact_put(p->s, sig.digest.str, ST_MT_COSIGN_SIGNATURES,
					   digest->str, blobs, m->n_layers + 1, err);
	free(blobs);
	st_registry_manifest_release(&sig);
	if (rc < 0)
		return st_err_wrap(err, "signatures %s", tag);
	st_autofree char *what = st_xasprintf("Pulled signatures %s", tag);
	event(p, NULL, what);
	return 0;
}

/* A referrer's blobs are documents (SBOMs, attestations, signatures): a bigger one is refused. */
#define REFERRER_BLOB_MAX (64u << 20)

/* One artifact about 'subject' (descriptor 'd'), with its blobs, kept as long as the subject. */
static int pull_referrer(struct puller *p, const struct st_digest *subject,
			 const struct st_image_descriptor *d, struct st_error **err)
{
	struct st_registry_manifest man = { ST_BUF_INIT, NULL, { "" } };
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	int rc = st_registry_get_manifest_digest(p->r, p->ref, &d->digest, &man, err);
	if (rc == 0)
		rc = st_image_manifest_parse(man.bytes.data, man.bytes.len, &m, err);
	if (rc == 0 && (!m->subject || !st_digest_equal(&m->subject->digest, subject)))
		rc = st_err(err, ST_E_INVALID, "its subject is not %s", subject->str);
	if (rc == 0)
		rc = put_small(p, &man.bytes, &man.digest, err);
	const char **blobs = m ? st_xcalloc(m->n_layers + 1, sizeof(*blobs)) : NULL;
	for (size_t i = 0; rc == 0 && i <= m->n_layers; i++) {
		const struct st_image_descriptor *b = i ? &m->layers[i - 1] : &m->config;
		blobs[i] = b->digest.str;
		if (b->size < 0 || b->size > REFERRER_BLOB_MAX) {
			rc = st_err(err, ST_E_INVALID, "blob %s: %lld bytes, more than %u MiB",
				    b->digest.str, (long long)b->size, REFERRER_BLOB_MAX >> 20);
			break;
		}
		if (st_store_has_blob(p->s, b->digest.str)) {
			rc = st_store_lease_add(p->lease, b->digest.str, err);
			continue;
		}
		struct st_buf buf = ST_BUF_INIT;
		struct st_http_sink sink = { buf_write, buf_reset, &buf };
		rc = st_registry_get_blob(p->r, p->ref, &b->digest, &sink, err);
		if (rc == 0)
			rc = put_small(p, &buf, &b->digest, err);
		st_buf_release(&buf);
	}
	const char *subj = subject->str;
	if (rc == 0)
		rc = st_store_edge_add(p->s, man.digest.str, ST_STORE_EDGE_CHILD, blobs,
				       m->n_layers + 1, err);
	if (rc == 0)
		rc = st_store_edge_add(p->s, man.digest.str, ST_STORE_EDGE_SUBJECT, &subj, 1, err);
	free(blobs);
	st_registry_manifest_release(&man);
	if (rc < 0)
		return st_err_wrap(err, "referrer %s", d->digest.str);
	return 0;
}

/*
 * The artifacts that refer to 'subject' (OCI 1.1 referrers: SBOMs, attestations, signatures),
 * from the referrers API or its fallback tag, stored so that push carries them along.
 */
static int pull_referrers(struct puller *p, const struct st_digest *subject, struct st_error **err)
{
	struct st_buf list = ST_BUF_INIT;
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	int rc = st_registry_referrers(p->r, p->ref, subject, NULL, &list, err);
	if (rc == 0)
		rc = st_image_index_parse(list.data, list.len, &idx, err);
	st_buf_release(&list);
	for (size_t i = 0; rc == 0 && i < idx->n_manifests; i++)
		rc = pull_referrer(p, subject, &idx->manifests[i], err);
	if (rc == 0 && idx->n_manifests) {
		st_autofree char *what =
		    st_xasprintf("Pulled %zu referrers of %s", idx->n_manifests, subject->str);
		event(p, NULL, what);
	}
	return rc;
}

int st_registry_pull(struct st_store *s, struct st_registry *r, const struct st_image_ref *ref,
		     const struct st_registry_pull_opts *o, struct st_registry_pull_result *out,
		     struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	struct puller p = { .s = s, .r = r, .ref = ref, .o = o };
	pthread_mutex_init(&p.lock, NULL);
	pthread_mutex_init(&p.store_lock, NULL);
	struct st_registry_manifest top = { ST_BUF_INIT, NULL, { "" } };
	struct st_registry_manifest man = { ST_BUF_INIT, NULL, { "" } };
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	st_auto(st_image_config) struct st_image_config *cfg = NULL;
	/* Taken before the first blob is written: gc may run at any time. */
	int rc = st_store_lease_begin(s, &p.lease, err);
	if (rc == 0)
		rc = resolve(&p, &top, &man, &m, err);
	p.m = m;
	if (rc == 0)
		rc = fetch_config(&p, &cfg, err);
	p.cfg = cfg;
	if (rc == 0 && cfg->n_diff_ids != m->n_layers)
		rc = st_err(err, ST_E_INVALID,
			    "the manifest lists %zu layers and the config %zu diff_ids",
			    m->n_layers, cfg->n_diff_ids);
	if (rc == 0) {
		p.layers = st_xcalloc(m->n_layers + 1, sizeof(*p.layers));
		rc = pull_layers(&p, err);
	}
	if (rc == 0)
		rc = record(&p, &top, &man, out, err);
	if (rc == 0) {
		/* The image is whole without them: a registry (or a mirror) that cannot give its
		 * signatures now does not undo the pull; verify says what is missing. */
		struct st_error *se = NULL;
		if (pull_signatures(&p, &out->digest, &se) < 0) {
			st_autofree char *what = st_xasprintf("Signatures not pulled: %s", se->msg);
			event(&p, NULL, what);
			st_error_free(se);
		}
		se = NULL;
		if (pull_referrers(&p, &out->digest, &se) < 0) {
			st_autofree char *what = st_xasprintf("Referrers not pulled: %s", se->msg);
			event(&p, NULL, what);
			st_error_free(se);
		}
	}
	out->downloaded = p.downloaded;
	for (size_t i = 0; p.layers && i < m->n_layers; i++)
		st_store_layer_release(&p.layers[i]);
	free(p.layers);
	st_registry_manifest_release(&top);
	st_registry_manifest_release(&man);
	if (p.lease)
		st_store_lease_end(p.lease);
	pthread_mutex_destroy(&p.lock);
	pthread_mutex_destroy(&p.store_lock);
	if (rc < 0) {
		st_autofree char *name = st_image_ref_familiar(ref);
		return st_err_wrap(err, "pull %s", name);
	}
	return 0;
}
