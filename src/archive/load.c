/* load.c: docker-archive, OCI archive and OCI layout directories into the store. */
#include "archive/archive.h"

#include <archive.h>
#include <archive_entry.h>
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
#include "layer/compress.h"
#include "layer/layer.h"
#include "local/local.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/*
 * A tar is read once, front to back. Old Docker archives put manifest.json last, so what an
 * entry is becomes known only at the end. Rather than extracting to disk and reading again,
 * every entry goes where it would end up anyway: a large one straight into the store as a blob
 * (hashed, and decompressed and hashed again for a diff_id, in the same pass), a small one
 * into memory until the documents say whether it is needed. Entries under blobs/sha256/ are
 * checked against their names as they arrive. Blobs nobody references stay under our lease
 * and are freed by gc afterwards. Links only alias other entries; nothing is written outside
 * the store.
 */
#define SMALL_ENTRY (256u << 10)
#define MAX_LINK_HOPS 16

struct entry {
	char *name;
	char *link; /* a symlink or hardlink: the entry name it stands for */
	bool in_mem;
	struct st_buf data; /* in_mem: the bytes */
	bool stored;	    /* a blob of the store */
	struct st_digest digest;
	uint64_t size;
	enum st_layer_comp comp;
	bool has_diff; /* diff_id and diff_size hold the uncompressed content's digest */
	struct st_digest diff_id;
	uint64_t diff_size;
	char *diff_err;	     /* why the uncompressed content is unknown */
	bool unpack_checked; /* a layer whose entries were all found safe to unpack */
};

/* An image ready to be recorded. */
struct plan {
	struct st_digest id;
	struct st_digest manifest_digest;
	char *manifest_media_type;
	char *config_media_type;
	struct st_image_config *config;
	struct st_store_layer *layers;
	size_t n_layers;
	char **refs; /* normalised names */
	size_t n_refs;
};

/* An image's cosign signatures found in an OCI layout, their blobs already in the store. */
struct sigs {
	struct st_digest subject;  /* the image they sign */
	struct st_digest manifest; /* the signature manifest */
	char **blobs;		   /* its config and layers */
	size_t n_blobs;
};

/* A name that points at an index of platforms, each loaded: recorded after the images. */
struct index_link {
	char *ref;		     /* normalised */
	struct st_digest index;	     /* the index blob (stored) */
	struct st_digest host;	     /* the manifest the name's image is: the host's */
	struct st_digest *manifests; /* every platform's */
	size_t n;
};

struct loader {
	struct st_store *s;
	struct st_store_lease *lease;
	const char *what; /* the archive, for messages */
	int dirfd;	  /* an OCI layout directory; -1 for a tar */
	struct entry **v;
	size_t n;
	char *buf;
	struct plan *plans;
	size_t n_plans;
	const char *select; /* load only the image of this name (NULL: all) */
	const struct st_events *events;
	char *select_full; /* 'select' normalised, or NULL when it is no reference */
	struct sigs *sigs;
	size_t n_sigs;
	struct index_link *links;
	size_t n_links;
};

static void entry_free(struct entry *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->link);
	st_buf_release(&e->data);
	free(e->diff_err);
	free(e);
}

static void plan_release(struct plan *p)
{
	free(p->manifest_media_type);
	free(p->config_media_type);
	st_image_config_free(p->config);
	for (size_t i = 0; i < p->n_layers; i++)
		st_store_layer_release(&p->layers[i]);
	free(p->layers);
	for (size_t i = 0; i < p->n_refs; i++)
		free(p->refs[i]);
	free(p->refs);
}

static void loader_release(struct loader *L)
{
	for (size_t i = 0; i < L->n; i++)
		entry_free(L->v[i]);
	free(L->v);
	for (size_t i = 0; i < L->n_plans; i++)
		plan_release(&L->plans[i]);
	free(L->plans);
	free(L->select_full);
	for (size_t i = 0; i < L->n_sigs; i++)
		st_strv_free(L->sigs[i].blobs, L->sigs[i].n_blobs);
	free(L->sigs);
	for (size_t i = 0; i < L->n_links; i++) {
		free(L->links[i].ref);
		free(L->links[i].manifests);
	}
	free(L->links);
	free(L->buf);
	if (L->dirfd >= 0)
		close(L->dirfd);
	st_store_lease_end(L->lease);
}

static struct entry *find(struct loader *L, const char *name)
{
	/* Later entries of a tar replace earlier ones of the same name, as on extraction. */
	for (size_t i = L->n; i-- > 0;)
		if (!strcmp(L->v[i]->name, name))
			return L->v[i];
	return NULL;
}

static struct entry *entry_add(struct loader *L, char *name)
{
	struct entry *e = st_xcalloc(1, sizeof(*e));
	e->name = name;
	e->data = (struct st_buf)ST_BUF_INIT;
	L->v = st_xrealloc(L->v, (L->n + 1) * sizeof(*L->v));
	L->v[L->n++] = e;
	return e;
}

/* "blobs/sha256/<hex>" names its content: the digest it must have, else NULL. */
static bool name_digest(const char *name, struct st_digest *out)
{
	static const char prefix[] = "blobs/sha256/";
	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
		return false;
	struct st_error *perr = NULL;
	if (st_digest_from_hex(name + sizeof(prefix) - 1, out, &perr) < 0) {
		st_error_free(perr);
		return false;
	}
	return true;
}

/* ---- one pass over an entry's bytes: store or memory, digest, diff_id ---- */

struct feed {
	struct entry *e;
	struct st_store_blob_writer *w; /* NULL when the bytes go to e->data */
	unsigned char head[ST_LAYER_COMP_MAGIC_LEN];
	size_t n_head;
	bool started;
	struct st_layer_decompressor *d;
	struct st_hasher dh;
	bool dh_live;
	uint64_t d_size;
	struct st_error *derr;
	const struct st_events *events; /* NULL: an entry not reported */
	char id[ST_EVENTS_ID_LEN + 1];	/* the layer it is, as reported */
	uint64_t total;			/* its size from the tar header; 0: unknown */
};

static int diff_sink(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct feed *f = ctx;
	st_hasher_update(&f->dh, p, n);
	f->d_size += n;
	return 0;
}

static void feed_decompress(struct feed *f, const void *p, size_t n)
{
	if (!f->d || f->derr || !n)
		return;
	if (st_layer_decompressor_write(f->d, p, n, &f->derr) < 0) {
		st_layer_decompressor_free(f->d);
		f->d = NULL;
	}
}

/* Decide the compression from the first bytes and replay them to the decompressor. */
static void feed_start(struct feed *f)
{
	f->started = true;
	f->e->comp = st_layer_comp_detect(f->head, f->n_head);
	switch (f->e->comp) {
	case ST_LAYER_COMP_GZIP:
	case ST_LAYER_COMP_ZSTD:
		st_hasher_init(&f->dh);
		f->dh_live = true;
		struct st_layer_sink sink = { .write = diff_sink, .ctx = f };
		f->d = st_layer_decompressor_new(f->e->comp, sink, &f->derr);
		feed_decompress(f, f->head, f->n_head);
		break;
	case ST_LAYER_COMP_NONE:
		break;
	default:
		st_err(&f->derr, ST_E_INVALID, "%s compression is not supported for layers",
		       st_layer_comp_name(f->e->comp));
	}
}

static int feed_bytes(struct feed *f, const void *p, size_t n, struct st_error **err)
{
	if (f->w) {
		if (st_store_blob_writer_write(f->w, p, n, err) < 0)
			return -1;
	} else {
		st_buf_add(&f->e->data, p, n);
	}
	f->e->size += n;
	if (f->events)
		st_events_bytes(f->events, f->id, f->e->size, f->total);
	const unsigned char *q = p;
	if (!f->started) {
		size_t k = sizeof(f->head) - f->n_head;
		if (k > n)
			k = n;
		memcpy(f->head + f->n_head, q, k);
		f->n_head += k;
		q += k;
		n -= k;
		if (f->n_head < sizeof(f->head))
			return 0;
		feed_start(f);
	}
	feed_decompress(f, q, n);
	return 0;
}

static int feed_end(struct feed *f, struct st_error **err)
{
	struct entry *e = f->e;
	if (!f->started)
		feed_start(f);
	if (f->d && !f->derr && st_layer_decompressor_finish(f->d, &f->derr) == 0) {
		st_hasher_final(&f->dh, &e->diff_id);
		f->dh_live = false;
		e->diff_size = f->d_size;
		e->has_diff = true;
	}
	if (f->derr) {
		e->diff_err = st_xstrdup(f->derr->msg);
		st_error_clear(&f->derr);
	}
	struct st_digest want;
	bool named = name_digest(e->name, &want);
	if (f->w) {
		if (st_store_blob_writer_commit(f->w, &e->digest, NULL, err) < 0) {
			if ((*err)->kind == ST_E_DIGEST)
				return st_err_wrap(err, "%s: digest mismatch", e->name);
			return st_err_wrap(err, "%s", e->name);
		}
		e->stored = true;
	} else {
		st_digest_of(e->data.data ? e->data.data : "", e->data.len, &e->digest);
		e->in_mem = true;
		if (named && !st_digest_equal(&want, &e->digest))
			return st_err(err, ST_E_DIGEST, "%s: digest mismatch: content hashes to %s",
				      e->name, e->digest.str);
	}
	if (e->comp == ST_LAYER_COMP_NONE) {
		e->diff_id = e->digest;
		e->diff_size = e->size;
		e->has_diff = true;
	}
	if (f->events)
		st_events_status(f->events, f->id, "Loaded");
	return 0;
}

static void feed_release(struct feed *f)
{
	st_store_blob_writer_free(f->w);
	st_layer_decompressor_free(f->d);
	if (f->dh_live)
		st_hasher_release(&f->dh);
	st_error_free(f->derr);
}

/*
 * The id a big entry is reported under: its digest's for a blob of an OCI layout, the layer's
 * directory for an old docker-archive's "<id>/layer.tar". Which entries are layers is only
 * known once the archive's documents are read, which can come last: the entries big enough
 * to be streamed into the store are the ones reported, for those are where a load spends its
 * time (a config of that size is rare; one would be reported too).
 */
static bool report_id(const char *name, char id[ST_EVENTS_ID_LEN + 1])
{
	struct st_digest d;
	if (name_digest(name, &d)) {
		st_events_short_id(st_digest_hex(&d), id);
		return true;
	}
	const char *slash = strchr(name, '/');
	if (!slash || strcmp(slash, "/layer.tar") != 0 || slash - name < ST_EVENTS_ID_LEN)
		return false;
	st_events_short_id(name, id);
	return true;
}

static int feed_init(struct loader *L, struct feed *f, struct entry *e, bool big, int64_t size,
		     struct st_error **err)
{
	*f = (struct feed){ .e = e };
	if (!big)
		return 0;
	struct st_digest want;
	bool named = name_digest(e->name, &want);
	if (st_store_blob_writer_new(L->s, named ? want.str : NULL, &f->w, err) < 0)
		return -1;
	st_store_blob_writer_set_lease(f->w, L->lease);
	if (st_events_on(L->events) && report_id(e->name, f->id)) {
		f->events = L->events;
		f->total = size > 0 ? (uint64_t)size : 0;
		st_events_status(f->events, f->id, "Loading layer");
	}
	return 0;
}

/* ---- reading a tar ---- */

static int tar_fail(struct loader *L, struct archive *a, struct st_error **err)
{
	return st_err(err, ST_E_PARSE, "%s",
		      archive_error_string(a) ? archive_error_string(a) : "unreadable archive");
}

static int tar_file(struct loader *L, struct archive *a, struct entry *e, int64_t size,
		    struct st_error **err)
{
	struct feed f;
	if (feed_init(L, &f, e, size < 0 || size > (int64_t)SMALL_ENTRY, size, err) < 0)
		return -1;
	int rc = 0;
	int64_t pos = 0;
	for (;;) {
		const void *p;
		size_t len = 0;
		la_int64_t off;
		int r = archive_read_data_block(a, &p, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			rc = tar_fail(L, a, err);
			break;
		}
		/* A sparse entry: the holes are zeros. */
		while (rc == 0 && pos < off) {
			size_t z = (size_t)(off - pos) < ST_ARCHIVE_CHUNK ? (size_t)(off - pos)
									  : ST_ARCHIVE_CHUNK;
			memset(L->buf, 0, z);
			rc = feed_bytes(&f, L->buf, z, err);
			pos += (int64_t)z;
		}
		if (rc == 0)
			rc = feed_bytes(&f, p, len, err);
		if (rc < 0)
			break;
		pos += (int64_t)len;
	}
	while (rc == 0 && size > pos) {
		size_t z = (size_t)(size - pos) < ST_ARCHIVE_CHUNK ? (size_t)(size - pos)
								   : ST_ARCHIVE_CHUNK;
		memset(L->buf, 0, z);
		rc = feed_bytes(&f, L->buf, z, err);
		pos += (int64_t)z;
	}
	if (rc == 0)
		rc = feed_end(&f, err);
	feed_release(&f);
	return rc;
}

static int read_tar(struct loader *L, struct archive *a, struct st_error **err)
{
	struct archive_entry *ae;
	int r;
	size_t headers = 0;
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		headers++;
		char *name = NULL;
		if (st_archive_entry_name(archive_entry_pathname(ae), &name, err) < 0)
			return -1;
		const char *hl = archive_entry_hardlink(ae);
		mode_t type = archive_entry_filetype(ae);
		if (hl) {
			struct entry *e = entry_add(L, name);
			if (st_archive_entry_name(hl, &e->link, err) < 0)
				return -1;
		} else if (type == AE_IFLNK) {
			struct entry *e = entry_add(L, name);
			if (st_archive_link_target(name, archive_entry_symlink(ae), &e->link, err) <
			    0)
				return -1;
		} else if (type == AE_IFREG) {
			struct entry *e = entry_add(L, name);
			int64_t size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : -1;
			if (tar_file(L, a, e, size, err) < 0)
				return -1;
		} else {
			/* Directories and anything else carry nothing an image needs. */
			free(name);
		}
	}
	if (r != ARCHIVE_EOF && !headers)
		return st_err(err, ST_E_PARSE, "not a tar archive: %s",
			      archive_error_string(a) ? archive_error_string(a) : "empty input");
	if (r != ARCHIVE_EOF)
		return tar_fail(L, a, err);
	return 0;
}

/* ---- reading a directory (an OCI layout): entries are read when first asked for ---- */

static int dir_file(struct loader *L, const char *name, struct entry **out, struct st_error **err)
{
	/* Names come normalised (no '..', not absolute); O_NOFOLLOW keeps a link from leading out.
	 */
	st_autoclose int fd = openat(L->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return st_err_errno(err, "open '%s'", name);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return st_err_errno(err, "stat '%s'", name);
	if (!S_ISREG(st.st_mode))
		return st_err(err, ST_E_INVALID, "'%s': not a regular file", name);
	struct entry *e = entry_add(L, st_xstrdup(name));
	struct feed f;
	if (feed_init(L, &f, e, st.st_size > (off_t)SMALL_ENTRY, st.st_size, err) < 0)
		return -1;
	int rc = 0;
	for (;;) {
		ssize_t r = read(fd, L->buf, ST_ARCHIVE_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = st_err_errno(err, "read '%s'", name);
			break;
		}
		if (r == 0)
			break;
		if ((rc = feed_bytes(&f, L->buf, (size_t)r, err)) < 0)
			break;
	}
	if (rc == 0)
		rc = feed_end(&f, err);
	feed_release(&f);
	if (rc < 0)
		return -1;
	*out = e;
	return 0;
}

/* The entry 'raw' names, links followed. ST_E_NOTFOUND if the archive has none. */
static int lookup(struct loader *L, const char *raw, struct entry **out, struct st_error **err)
{
	st_autofree char *name = NULL;
	if (st_archive_entry_name(raw, &name, err) < 0)
		return -1;
	for (int hop = 0; hop < MAX_LINK_HOPS; hop++) {
		struct entry *e = find(L, name);
		if (!e && L->dirfd >= 0) {
			int rc = dir_file(L, name, &e, err);
			if (rc < 0)
				return -1;
		}
		if (!e)
			return st_err(err, ST_E_NOTFOUND, "'%s': no such file in the archive", raw);
		if (!e->link) {
			*out = e;
			return 0;
		}
		free(name);
		name = st_xstrdup(e->link);
	}
	return st_err(err, ST_E_INVALID, "'%s': too many levels of links", raw);
}

static int lookup_blob(struct loader *L, const struct st_image_descriptor *d, struct entry **out,
		       struct st_error **err)
{
	st_autofree char *name = st_xasprintf("blobs/sha256/%s", st_digest_hex(&d->digest));
	if (lookup(L, name, out, err) < 0)
		return -1;
	if (d->size >= 0 && (uint64_t)d->size != (*out)->size)
		return st_err(err, ST_E_INVALID, "'%s': size %llu, the descriptor says %lld", name,
			      (unsigned long long)(*out)->size, (long long)d->size);
	return 0;
}

/* The entry's bytes: borrowed from memory, or read (verified) from the store into 'tmp'. */
static int entry_bytes(struct loader *L, struct entry *e, struct st_buf *tmp, const char **p,
		       size_t *n, struct st_error **err)
{
	if (e->in_mem) {
		*p = e->data.data ? e->data.data : "";
		*n = e->data.len;
		return 0;
	}
	st_buf_reset(tmp);
	if (st_store_read_blob(L->s, e->digest.str, tmp, err) < 0)
		return st_err_wrap(err, "%s", e->name);
	*p = tmp->data;
	*n = tmp->len;
	return 0;
}

static int put_mem(struct loader *L, const void *p, size_t n, const char *expected,
		   struct st_digest *out, struct st_error **err)
{
	st_auto(st_store_blob_writer) struct st_store_blob_writer *w = NULL;
	if (st_store_blob_writer_new(L->s, expected, &w, err) < 0)
		return -1;
	st_store_blob_writer_set_lease(w, L->lease);
	if (st_store_blob_writer_write(w, p, n, err) < 0)
		return -1;
	return st_store_blob_writer_commit(w, out, NULL, err);
}

/* Make the entry a blob of the store (a small one was only in memory so far). */
static int entry_store(struct loader *L, struct entry *e, struct st_error **err)
{
	if (e->stored)
		return 0;
	if (put_mem(L, e->data.data ? e->data.data : "", e->data.len, e->digest.str, NULL, err) < 0)
		return st_err_wrap(err, "%s", e->name);
	e->stored = true;
	return 0;
}

static int check_layer(const struct entry *e, const struct st_digest *want, size_t i,
		       struct st_error **err)
{
	if (!e->has_diff)
		return st_err(err, ST_E_INVALID, "layer %zu '%s': %s", i, e->name,
			      e->diff_err ? e->diff_err : "unreadable");
	if (!st_digest_equal(&e->diff_id, want))
		return st_err(
		    err, ST_E_DIGEST,
		    "layer %zu '%s': diff_id mismatch: uncompressed content hashes to %s, "
		    "the config says %s",
		    i, e->name, e->diff_id.str, want->str);
	return 0;
}

struct mem_source {
	const char *p;
	size_t len, off;
};

static ssize_t mem_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	struct mem_source *m = ctx;
	if (n > m->len - m->off)
		n = m->len - m->off;
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

/*
 * Refuse a layer that could not be unpacked safely (paths or hardlinks out of the root, bad
 * whiteouts, over-long names) now, before the image is recorded, rather than at its first use.
 */
static int check_unpack(struct loader *L, struct entry *e, size_t i, struct st_error **err)
{
	if (e->unpack_checked)
		return 0;
	int rc;
	if (e->in_mem) {
		struct mem_source m = { e->data.data ? e->data.data : "", e->data.len, 0 };
		rc = st_layer_check((struct st_layer_source){ mem_read, &m }, err);
	} else {
		st_autoclose int fd = -1;
		rc = st_store_open_blob(L->s, e->digest.str, &fd, NULL, err);
		if (rc == 0)
			rc = st_layer_check(st_layer_source_fd(&fd), err);
	}
	if (rc < 0)
		return st_err_wrap(err, "layer %zu '%s'", i, e->name);
	e->unpack_checked = true;
	return 0;
}

static struct plan *plan_for(struct loader *L, const struct st_digest *id)
{
	for (size_t i = 0; i < L->n_plans; i++)
		if (st_digest_equal(&L->plans[i].id, id))
			return &L->plans[i];
	return NULL;
}

static void plan_add_ref(struct plan *p, const char *ref)
{
	if (!ref)
		return;
	for (size_t i = 0; i < p->n_refs; i++)
		if (!strcmp(p->refs[i], ref))
			return;
	p->refs = st_xrealloc(p->refs, (p->n_refs + 1) * sizeof(char *));
	p->refs[p->n_refs++] = st_xstrdup(ref);
}

/*
 * Record the plan for an image: 'cfg_e' the config entry and *cfg its parsed content (taken
 * when the plan is new), 'layers' the layer entries (already checked against the config), and
 * the manifest's bytes and media type. Stores every blob.
 */
static int plan_add(struct loader *L, struct entry *cfg_e, const char *config_mt,
		    struct st_image_config **cfg, struct entry **layers,
		    const char *const *layer_mts, size_t n, const struct st_digest *manifest,
		    const char *manifest_mt, const char *ref, struct st_error **err)
{
	struct plan *p = plan_for(L, &cfg_e->digest);
	if (p) {
		plan_add_ref(p, ref);
		return 0;
	}
	if (entry_store(L, cfg_e, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (entry_store(L, layers[i], err) < 0)
			return -1;
	L->plans = st_xrealloc(L->plans, (L->n_plans + 1) * sizeof(*L->plans));
	p = &L->plans[L->n_plans++];
	*p = (struct plan){ 0 };
	p->id = cfg_e->digest;
	p->manifest_digest = *manifest;
	p->manifest_media_type = st_xstrdup(manifest_mt);
	p->config_media_type = st_xstrdup(config_mt);
	p->config = st_steal(cfg);
	p->layers = st_xcalloc(n ? n : 1, sizeof(*p->layers));
	p->n_layers = n;
	for (size_t i = 0; i < n; i++) {
		p->layers[i].digest = layers[i]->digest;
		p->layers[i].diff_id = layers[i]->diff_id;
		p->layers[i].media_type = st_xstrdup(layer_mts[i]);
		p->layers[i].size = layers[i]->size;
		p->layers[i].diff_size = layers[i]->diff_size;
	}
	plan_add_ref(p, ref);
	return 0;
}

static int parse_config(struct loader *L, struct entry *e, struct st_image_config **out,
			struct st_error **err)
{
	struct st_buf tmp = ST_BUF_INIT;
	const char *p = NULL;
	size_t n = 0;
	int rc = entry_bytes(L, e, &tmp, &p, &n, err);
	if (rc == 0 && st_image_config_parse(p, n, out, err) < 0)
		rc = st_err_wrap(err, "%s", e->name);
	st_buf_release(&tmp);
	return rc;
}

/* ---- OCI: index.json → (index →) manifest → config + layers ---- */

static int oci_manifest(struct loader *L, struct entry *me, const char *mt, const void *data,
			size_t len, const char *ref, struct st_error **err)
{
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	if (st_image_manifest_parse(data, len, &m, err) < 0)
		return st_err_wrap(err, "%s", me->name);
	struct entry *cfg_e = NULL;
	if (lookup_blob(L, &m->config, &cfg_e, err) < 0)
		return st_err_wrap(err, "%s: config", me->name);
	st_auto(st_image_config) struct st_image_config *cfg = NULL;
	if (parse_config(L, cfg_e, &cfg, err) < 0)
		return -1;
	if (cfg->n_diff_ids != m->n_layers)
		return st_err(err, ST_E_INVALID, "%s: %zu layers, the config has %zu diff_ids",
			      me->name, m->n_layers, cfg->n_diff_ids);
	st_autofree struct entry **layers = st_xcalloc(m->n_layers + 1, sizeof(*layers));
	st_autofree const char **mts = st_xcalloc(m->n_layers + 1, sizeof(*mts));
	for (size_t i = 0; i < m->n_layers; i++) {
		if (lookup_blob(L, &m->layers[i], &layers[i], err) < 0)
			return st_err_wrap(err, "%s: layer %zu", me->name, i);
		if (check_layer(layers[i], &cfg->diff_ids[i], i, err) < 0 ||
		    check_unpack(L, layers[i], i, err) < 0)
			return -1;
		mts[i] = m->layers[i].media_type ? m->layers[i].media_type : ST_MT_OCI_LAYER;
	}
	if (entry_store(L, me, err) < 0)
		return -1;
	const char *cmt = m->config.media_type ? m->config.media_type : ST_MT_OCI_CONFIG;
	const char *mmt = m->media_type ? m->media_type : mt ? mt : ST_MT_OCI_MANIFEST;
	return plan_add(L, cfg_e, cmt, &cfg, layers, mts, m->n_layers, &me->digest, mmt, ref, err);
}

static int oci_descriptor(struct loader *L, const struct st_image_descriptor *d, const char *ref,
			  int depth, struct st_error **err);

/* Whether 'd' is an attestation manifest of a build (BuildKit's layout). */
static bool is_attestation(const struct st_image_descriptor *d)
{
	const char *type = st_image_map_get(&d->annotations, "vnd.docker.reference.type");
	return type && !strcmp(type, "attestation-manifest");
}

/*
 * Whether the archive holds every platform's manifest of 'idx' (attestations aside): several
 * platforms, or one with the attestations a build attached, which only the index keeps.
 */
static bool index_complete(struct loader *L, const struct st_image_index *idx)
{
	size_t n = 0;
	bool attested = false;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct st_image_descriptor *d = &idx->manifests[i];
		struct entry *e = NULL;
		struct st_error *lerr = NULL;
		if (is_attestation(d) && lookup_blob(L, d, &e, &lerr) == 0)
			attested = true;
		st_error_clear(&lerr);
		if (!d->has_platform || !strcmp(d->platform.os, "unknown"))
			continue;
		if (lookup_blob(L, d, &e, &lerr) < 0) {
			st_error_free(lerr);
			return false;
		}
		n++;
	}
	return n > 1 || (n == 1 && attested);
}

/* Attestation manifest 'd' and its blobs stored, with its edges to them. */
static int keep_attestation(struct loader *L, const struct st_image_descriptor *d,
			    struct st_error **err)
{
	struct entry *e = NULL;
	struct st_buf tmp = ST_BUF_INIT;
	const char *p = NULL;
	size_t n = 0;
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	int rc = lookup_blob(L, d, &e, err);
	if (rc == 0)
		rc = entry_store(L, e, err);
	if (rc == 0)
		rc = entry_bytes(L, e, &tmp, &p, &n, err);
	if (rc == 0 && st_image_manifest_parse(p, n, &m, err) < 0)
		rc = st_err_wrap(err, "%s", e->name);
	st_buf_release(&tmp);
	if (rc < 0)
		return -1;
	st_autofree const char **blobs = st_xcalloc(m->n_layers + 1, sizeof(*blobs));
	for (size_t i = 0; i <= m->n_layers; i++) {
		const struct st_image_descriptor *b = i ? &m->layers[i - 1] : &m->config;
		struct entry *be = NULL;
		if (lookup_blob(L, b, &be, err) < 0 || entry_store(L, be, err) < 0)
			return -1;
		blobs[i] = b->digest.str;
	}
	return st_store_edge_add(L->s, d->digest.str, ST_STORE_EDGE_CHILD, blobs, m->n_layers + 1,
				 err);
}

/*
 * An index whose every platform the archive holds (a multi-platform image saved whole): each
 * platform loaded, the name on the host's ('sel'), and the index linked to them all.
 */
static int oci_index_whole(struct loader *L, struct entry *e, const struct st_image_index *idx,
			   const struct st_image_descriptor *sel, const char *ref, int depth,
			   struct st_error **err)
{
	struct index_link link = { .index = e->digest, .host = sel->digest };
	link.manifests = st_xcalloc(idx->n_manifests, sizeof(*link.manifests));
	int rc = entry_store(L, e, err);
	for (size_t i = 0; rc == 0 && i < idx->n_manifests; i++) {
		const struct st_image_descriptor *d = &idx->manifests[i];
		if (is_attestation(d)) {
			struct entry *ae = NULL;
			struct st_error *lerr = NULL;
			if (lookup_blob(L, d, &ae, &lerr) < 0) {
				st_error_free(lerr); /* saved without it: the image stands alone */
				continue;
			}
			rc = keep_attestation(L, d, err);
			link.manifests[link.n++] = d->digest;
			continue;
		}
		if (!d->has_platform || !strcmp(d->platform.os, "unknown"))
			continue;
		struct st_image_descriptor copy;
		st_image_descriptor_copy(&copy, d);
		rc = oci_descriptor(L, &copy, d == sel ? ref : NULL, depth + 1, err);
		st_image_descriptor_release(&copy);
		link.manifests[link.n++] = d->digest;
	}
	if (rc < 0 || !ref) {
		free(link.manifests);
		return rc;
	}
	link.ref = st_xstrdup(ref);
	L->links = st_xrealloc(L->links, (L->n_links + 1) * sizeof(*L->links));
	L->links[L->n_links++] = link;
	return 0;
}

static int oci_descriptor(struct loader *L, const struct st_image_descriptor *d, const char *ref,
			  int depth, struct st_error **err)
{
	struct entry *e = NULL;
	if (lookup_blob(L, d, &e, err) < 0)
		return -1;
	struct st_buf tmp = ST_BUF_INIT;
	const char *p = NULL;
	size_t n = 0;
	int rc = entry_bytes(L, e, &tmp, &p, &n, err);
	if (rc < 0)
		goto out;
	switch (st_image_detect(p, n)) {
	case ST_IMAGE_KIND_MANIFEST:
		rc = oci_manifest(L, e, d->media_type, p, n, ref, err);
		break;
	case ST_IMAGE_KIND_INDEX: {
		if (depth > 4) {
			rc = st_err(err, ST_E_INVALID, "%s: indexes nested too deep", e->name);
			break;
		}
		st_auto(st_image_index) struct st_image_index *idx = NULL;
		if (st_image_index_parse(p, n, &idx, err) < 0) {
			rc = st_err_wrap(err, "%s", e->name);
			break;
		}
		struct st_platform host;
		st_platform_host(&host);
		const struct st_image_descriptor *sel = st_image_index_select(idx, &host, err);
		if (!sel) {
			rc = st_err_wrap(err, "%s", e->name);
			break;
		}
		if (index_complete(L, idx)) {
			rc = oci_index_whole(L, e, idx, sel, ref, depth, err);
			break;
		}
		struct st_image_descriptor copy;
		st_image_descriptor_copy(&copy, sel);
		rc = oci_descriptor(L, &copy, ref, depth + 1, err);
		st_image_descriptor_release(&copy);
		break;
	}
	default:
		rc = st_err(err, ST_E_INVALID, "%s: neither an image manifest nor an index",
			    e->name);
	}
out:
	st_buf_release(&tmp);
	return rc;
}

/*
 * The name an index.json entry gives its image: containerd's full name first, else the OCI
 * ref.name if it is a whole reference. A ref.name that is only a tag ("latest", as Docker
 * writes it) names no repository: the image is loaded untagged. *out is new or NULL.
 */
static char *oci_ref(const struct st_image_descriptor *d)
{
	const char *keys[] = { "io.containerd.image.name", "org.opencontainers.image.ref.name" };
	for (size_t i = 0; i < 2; i++) {
		const char *v = st_image_map_get(&d->annotations, keys[i]);
		if (!v || (i == 1 && !strpbrk(v, ":/")))
			continue;
		char *full = NULL;
		struct st_error *perr = NULL;
		if (st_local_ref_normalize(v, &full, &perr) == 0)
			return full;
		st_error_free(perr);
	}
	return NULL;
}

static int read_index(struct loader *L, struct st_image_index **out, struct st_error **err)
{
	struct entry *e = NULL;
	if (lookup(L, "index.json", &e, err) < 0)
		return -1;
	struct st_buf tmp = ST_BUF_INIT;
	const char *p = NULL;
	size_t n = 0;
	int rc = entry_bytes(L, e, &tmp, &p, &n, err);
	if (rc == 0 && st_image_index_parse(p, n, out, err) < 0)
		rc = st_err_wrap(err, "index.json");
	st_buf_release(&tmp);
	return rc;
}

static int not_selected(struct loader *L, struct st_error **err)
{
	return st_err(err, ST_E_NOTFOUND, "no image named '%s' in the archive", L->select);
}

/* Whether index entry 'd' (with full name 'ref', or NULL) is the one L->select names. */
static bool oci_selected(const struct loader *L, const struct st_image_descriptor *d,
			 const char *ref)
{
	const char *name = st_image_map_get(&d->annotations, "org.opencontainers.image.ref.name");
	if (name && !strcmp(name, L->select))
		return true;
	return ref && L->select_full && !strcmp(ref, L->select_full);
}

/*
 * Whether index entry 'd' is the signatures of an image, as `strata save` writes them: named
 * by cosign's tag "sha256-<hex>.sig" alone. *subject receives the image's digest.
 */
static bool sigs_entry(const struct st_image_descriptor *d, struct st_digest *subject)
{
	const char *tag = st_image_map_get(&d->annotations, "org.opencontainers.image.ref.name");
	if (!tag || st_image_map_get(&d->annotations, "io.containerd.image.name") ||
	    strlen(tag) != strlen("sha256-.sig") + ST_DIGEST_HEX_LEN ||
	    strncmp(tag, "sha256-", 7) != 0 || strcmp(tag + 7 + ST_DIGEST_HEX_LEN, ".sig") != 0)
		return false;
	char digest[ST_DIGEST_STR_LEN + 1];
	snprintf(digest, sizeof(digest), "sha256:%.*s", ST_DIGEST_HEX_LEN, tag + 7);
	if (!st_digest_valid(digest))
		return false;
	memcpy(subject->str, digest, sizeof(digest));
	return true;
}

/* Store the signature manifest 'd' and its blobs; they are recorded with the images. */
static int oci_sigs(struct loader *L, const struct st_image_descriptor *d,
		    const struct st_digest *subject, struct st_error **err)
{
	struct entry *me = NULL;
	struct st_buf tmp = ST_BUF_INIT;
	const char *p = NULL;
	size_t n = 0;
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	int rc = lookup_blob(L, d, &me, err);
	if (rc == 0)
		rc = entry_bytes(L, me, &tmp, &p, &n, err);
	if (rc == 0 && st_image_manifest_parse(p, n, &m, err) < 0)
		rc = st_err_wrap(err, "%s", me->name);
	st_buf_release(&tmp);
	if (rc < 0 || entry_store(L, me, err) < 0)
		return -1;
	L->sigs = st_xrealloc(L->sigs, (L->n_sigs + 1) * sizeof(*L->sigs));
	struct sigs *sg = &L->sigs[L->n_sigs++];
	*sg = (struct sigs){ .subject = *subject, .manifest = me->digest };
	sg->blobs = st_xcalloc(m->n_layers + 1, sizeof(*sg->blobs));
	for (size_t i = 0; i <= m->n_layers; i++) {
		const struct st_image_descriptor *b = i ? &m->layers[i - 1] : &m->config;
		struct entry *e = NULL;
		if (lookup_blob(L, b, &e, err) < 0 || entry_store(L, e, err) < 0)
			return st_err_wrap(err, "%s", me->name);
		sg->blobs[sg->n_blobs++] = st_xstrdup(e->digest.str);
	}
	return 0;
}

/* Record the signatures of the images just recorded: they live as long as their image. */
static int record_sigs(struct loader *L, struct st_error **err)
{
	for (size_t i = 0; i < L->n_sigs; i++) {
		const struct sigs *sg = &L->sigs[i];
		bool loaded = false;
		for (size_t k = 0; k < L->n_plans && !loaded; k++)
			loaded = st_digest_equal(&L->plans[k].manifest_digest, &sg->subject);
		if (loaded && st_store_artifact_put(L->s, sg->manifest.str, ST_MT_COSIGN_SIGNATURES,
						    sg->subject.str, (const char *const *)sg->blobs,
						    sg->n_blobs, err) < 0)
			return st_err_wrap(err, "record the signatures of %s", sg->subject.str);
	}
	return 0;
}

static int resolve_oci(struct loader *L, struct st_error **err)
{
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	if (read_index(L, &idx, err) < 0)
		return -1;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		struct st_digest subject;
		if (sigs_entry(&idx->manifests[i], &subject)) {
			if (oci_sigs(L, &idx->manifests[i], &subject, err) < 0)
				return -1;
			continue;
		}
		st_autofree char *ref = oci_ref(&idx->manifests[i]);
		if (L->select && !oci_selected(L, &idx->manifests[i], ref))
			continue;
		if (oci_descriptor(L, &idx->manifests[i], ref, 0, err) < 0)
			return -1;
	}
	if (!L->n_plans && L->select)
		return not_selected(L, err);
	if (!L->n_plans)
		return st_err(err, ST_E_INVALID, "index.json: no image in the archive");
	return 0;
}

/* ---- Docker: manifest.json ---- */

static const char *layer_media_type(enum st_layer_comp c)
{
	switch (c) {
	case ST_LAYER_COMP_GZIP:
		return ST_MT_OCI_LAYER_GZIP;
	case ST_LAYER_COMP_ZSTD:
		return ST_MT_OCI_LAYER_ZSTD;
	default:
		return ST_MT_OCI_LAYER;
	}
}

/*
 * An archive written by Docker 25+ (or by us) holds the image's own manifest in its OCI
 * layout: find the one with this config and these layer blobs, so its digest survives.
 */
static int find_oci_manifest(struct loader *L, const struct st_image_index *idx,
			     const struct entry *cfg_e, struct entry **layers, size_t n,
			     struct entry **out, struct st_image_manifest **mout,
			     struct st_error **err)
{
	*out = NULL;
	for (size_t i = 0; i < idx->n_manifests && !*out; i++) {
		const struct st_image_descriptor *d = &idx->manifests[i];
		struct entry *me = NULL;
		struct st_error *lerr = NULL;
		if (lookup_blob(L, d, &me, &lerr) < 0) {
			/* Not there: this archive just does not carry that manifest. */
			st_error_free(lerr);
			continue;
		}
		struct st_buf tmp = ST_BUF_INIT;
		const char *p = NULL;
		size_t len = 0;
		if (entry_bytes(L, me, &tmp, &p, &len, err) < 0) {
			st_buf_release(&tmp);
			return -1;
		}
		struct st_image_manifest *m = NULL;
		struct st_error *perr = NULL;
		if (st_image_detect(p, len) == ST_IMAGE_KIND_MANIFEST &&
		    st_image_manifest_parse(p, len, &m, &perr) == 0 &&
		    st_digest_equal(&m->config.digest, &cfg_e->digest) && m->n_layers == n) {
			bool same = true;
			for (size_t k = 0; k < n && same; k++)
				same = st_digest_equal(&m->layers[k].digest, &layers[k]->digest);
			if (same) {
				*out = me;
				*mout = m;
				if (!m->media_type && d->media_type)
					m->media_type = st_xstrdup(d->media_type);
				m = NULL;
			}
		}
		st_image_manifest_free(m);
		st_error_free(perr);
		st_buf_release(&tmp);
	}
	return 0;
}

static int docker_entry(struct loader *L, json_t *o, size_t idx_no,
			const struct st_image_index *idx, struct st_error **err)
{
	const char *cfg_name = json_string_value(json_object_get(o, "Config"));
	json_t *jl = json_object_get(o, "Layers");
	json_t *tags = json_object_get(o, "RepoTags");
	if (!cfg_name || !json_is_array(jl) ||
	    (tags && !json_is_null(tags) && !json_is_array(tags)))
		return st_err(err, ST_E_INVALID, "manifest.json: [%zu]: needs Config and Layers",
			      idx_no);
	struct entry *cfg_e = NULL;
	if (lookup(L, cfg_name, &cfg_e, err) < 0)
		return st_err_wrap(err, "manifest.json: [%zu]: config", idx_no);
	st_auto(st_image_config) struct st_image_config *cfg = NULL;
	if (parse_config(L, cfg_e, &cfg, err) < 0)
		return -1;
	size_t n = json_array_size(jl);
	if (cfg->n_diff_ids != n)
		return st_err(err, ST_E_INVALID,
			      "manifest.json: [%zu]: %zu layers, the config has %zu diff_ids",
			      idx_no, n, cfg->n_diff_ids);
	st_autofree struct entry **layers = st_xcalloc(n + 1, sizeof(*layers));
	st_autofree const char **mts = st_xcalloc(n + 1, sizeof(*mts));
	for (size_t i = 0; i < n; i++) {
		const char *ln = json_string_value(json_array_get(jl, i));
		if (!ln)
			return st_err(err, ST_E_INVALID,
				      "manifest.json: [%zu]: Layers[%zu]: not a string", idx_no, i);
		if (lookup(L, ln, &layers[i], err) < 0)
			return st_err_wrap(err, "manifest.json: [%zu]: layer %zu", idx_no, i);
		if (check_layer(layers[i], &cfg->diff_ids[i], i, err) < 0 ||
		    check_unpack(L, layers[i], i, err) < 0)
			return -1;
		mts[i] = layer_media_type(layers[i]->comp);
	}

	/* The names, checked before anything is recorded. */
	size_t nt = json_is_array(tags) ? json_array_size(tags) : 0;
	st_autofree char **refs = st_xcalloc(nt + 1, sizeof(char *));
	int rc = 0;
	for (size_t i = 0; i < nt && rc == 0; i++) {
		const char *t = json_string_value(json_array_get(tags, i));
		if (!t)
			rc = st_err(err, ST_E_INVALID,
				    "manifest.json: [%zu]: RepoTags[%zu]: not a string", idx_no, i);
		else if (st_local_ref_normalize(t, &refs[i], err) < 0)
			rc = st_err_wrap(err, "manifest.json: [%zu]: RepoTags[%zu]", idx_no, i);
	}

	if (rc == 0 && L->select) {
		/* Only the selected name, and no entry at all without it. */
		size_t keep = nt;
		for (size_t i = 0; i < nt; i++)
			if (keep == nt && L->select_full && !strcmp(refs[i], L->select_full))
				keep = i;
		for (size_t i = 0; i < nt; i++)
			if (i != keep)
				free(refs[i]);
		if (keep == nt)
			return 0;
		refs[0] = refs[keep];
		nt = 1;
	}

	struct entry *me = NULL;
	st_auto(st_image_manifest) struct st_image_manifest *om = NULL;
	const char *mmt = ST_MT_OCI_MANIFEST;
	const char *cmt = ST_MT_OCI_CONFIG;
	if (rc == 0 && idx)
		rc = find_oci_manifest(L, idx, cfg_e, layers, n, &me, &om, err);
	struct st_digest mdig;
	if (rc == 0 && me) {
		/* Its own media types, as the manifest's bytes say them. */
		rc = entry_store(L, me, err);
		mdig = me->digest;
		if (om->media_type)
			mmt = om->media_type;
		if (om->config.media_type)
			cmt = om->config.media_type;
		for (size_t i = 0; i < n; i++)
			if (om->layers[i].media_type)
				mts[i] = om->layers[i].media_type;
	} else if (rc == 0) {
		/* Old archives have no manifest: write the one a registry would have served. */
		st_auto(st_image_manifest) struct st_image_manifest *m = st_image_manifest_new();
		m->config.digest = cfg_e->digest;
		m->config.size = (int64_t)cfg_e->size;
		for (size_t i = 0; i < n; i++) {
			struct st_image_descriptor d = { 0 };
			d.media_type = (char *)mts[i];
			d.digest = layers[i]->digest;
			d.size = (int64_t)layers[i]->size;
			st_image_manifest_add_layer(m, &d);
		}
		struct st_buf mb = ST_BUF_INIT;
		st_image_manifest_serialize(m, &mb);
		rc = put_mem(L, mb.data, mb.len, NULL, &mdig, err);
		st_buf_release(&mb);
	}
	for (size_t i = 0; i < (nt ? nt : 1) && rc == 0; i++)
		rc = plan_add(L, cfg_e, cmt, &cfg, layers, mts, n, &mdig, mmt, refs[i], err);
	for (size_t i = 0; i < nt; i++)
		free(refs[i]);
	return rc;
}

static int resolve_docker(struct loader *L, struct st_error **err)
{
	struct entry *e = NULL;
	if (lookup(L, "manifest.json", &e, err) < 0)
		return -1;
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	struct entry *ie = NULL;
	struct st_error *ierr = NULL;
	if (lookup(L, "index.json", &ie, &ierr) == 0) {
		/* Only a hint for keeping manifest digests: a bad one is ignored, as Docker does.
		 */
		if (read_index(L, &idx, &ierr) < 0)
			st_error_clear(&ierr);
	} else {
		st_error_clear(&ierr);
	}
	struct st_buf tmp = ST_BUF_INIT;
	const char *p = NULL;
	size_t n = 0;
	int rc = entry_bytes(L, e, &tmp, &p, &n, err);
	json_error_t jerr;
	json_t *a = rc == 0 ? json_loadb(p, n, 0, &jerr) : NULL;
	if (rc == 0 && !a)
		rc = st_err(err, ST_E_PARSE, "manifest.json:%d: %s", jerr.line, jerr.text);
	else if (rc == 0 && !json_is_array(a))
		rc = st_err(err, ST_E_INVALID, "manifest.json: not an array");
	for (size_t i = 0; rc == 0 && i < json_array_size(a); i++) {
		json_t *o = json_array_get(a, i);
		if (!json_is_object(o))
			rc = st_err(err, ST_E_INVALID, "manifest.json: [%zu]: not an object", i);
		else
			rc = docker_entry(L, o, i, idx, err);
	}
	if (rc == 0 && !L->n_plans && L->select)
		rc = not_selected(L, err);
	else if (rc == 0 && !L->n_plans)
		rc = st_err(err, ST_E_INVALID, "manifest.json: no image in the archive");
	json_decref(a);
	st_buf_release(&tmp);
	return rc;
}

/* ---- recording ---- */

static void result_add(struct st_archive_load_result *r, const char *full, const struct plan *p,
		       const struct st_store_ref *old)
{
	r->v = st_xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	struct st_archive_loaded *l = &r->v[r->n++];
	*l = (struct st_archive_loaded){ .id = p->id };
	if (full) {
		st_auto(st_image_ref) struct st_image_ref *ref = NULL;
		struct st_error *perr = NULL;
		if (st_image_ref_parse(full, &ref, &perr) == 0)
			l->name = st_image_ref_familiar(ref);
		else
			l->name = st_xstrdup(full);
		st_error_free(perr);
	}
	if (old && !st_digest_equal(&old->image_id, &p->id)) {
		l->replaced = true;
		l->old_id = old->image_id;
	}
}

/* Whether 'manifest' is one platform of a multi-platform image loaded under a name. */
static bool in_index(const struct loader *L, const struct st_digest *manifest)
{
	for (size_t i = 0; i < L->n_links; i++)
		for (size_t k = 0; k < L->links[i].n; k++)
			if (st_digest_equal(&L->links[i].manifests[k], manifest))
				return true;
	return false;
}

/* Each name of a multi-platform image points at its index, which lists every platform. */
static int record_links(struct loader *L, struct st_error **err)
{
	for (size_t i = 0; i < L->n_links; i++) {
		const struct index_link *l = &L->links[i];
		const struct plan *host = NULL;
		for (size_t k = 0; k < L->n_plans && !host; k++)
			if (st_digest_equal(&L->plans[k].manifest_digest, &l->host))
				host = &L->plans[k];
		if (!host)
			continue; /* its config was another image's: that one carries the name */
		st_autofree const char **to = st_xcalloc(l->n + 1, sizeof(*to));
		for (size_t k = 0; k < l->n; k++)
			to[k] = l->manifests[k].str;
		if (st_store_edge_add(L->s, l->index.str, ST_STORE_EDGE_CHILD, to, l->n, err) < 0 ||
		    st_store_ref_set(L->s, l->ref, host->id.str, l->index.str, err) < 0)
			return st_err_wrap(err, "record index %s", l->index.str);
	}
	return 0;
}

static int record(struct loader *L, struct st_archive_load_result *out, struct st_error **err)
{
	for (size_t i = 0; i < L->n_plans; i++) {
		const struct plan *p = &L->plans[i];
		struct st_store_ref *old = st_xcalloc(p->n_refs + 1, sizeof(*old));
		bool *had = st_xcalloc(p->n_refs + 1, sizeof(bool));
		for (size_t k = 0; k < p->n_refs; k++) {
			struct st_error *gerr = NULL;
			had[k] = st_store_ref_get(L->s, p->refs[k], &old[k], &gerr) == 0;
			st_error_free(gerr);
		}
		const struct st_local_stored_image img = {
			.id = p->id,
			.config_media_type = p->config_media_type,
			.config = p->config,
			.manifest = p->manifest_digest,
			.manifest_media_type = p->manifest_media_type,
			.layers = p->layers,
			.n_layers = p->n_layers,
		};
		int rc =
		    st_local_image_record(L->s, &img, (const char *const *)p->refs, p->n_refs, err);
		for (size_t k = 0; rc == 0 && k < p->n_refs; k++)
			result_add(out, p->refs[k], p, had[k] ? &old[k] : NULL);
		if (rc == 0 && !p->n_refs && !in_index(L, &p->manifest_digest))
			result_add(out, NULL, p, NULL);
		for (size_t k = 0; k < p->n_refs; k++)
			if (had[k])
				st_store_ref_release(&old[k]);
		free(old);
		free(had);
		if (rc < 0)
			return st_err_wrap(err, "record image %s", p->id.str);
	}
	return 0;
}

static int loader_init(struct loader *L, struct st_store *s, const char *what,
		       struct st_error **err)
{
	*L = (struct loader){ .s = s, .what = what, .dirfd = -1 };
	L->buf = st_xmalloc(ST_ARCHIVE_CHUNK);
	/* Taken before the first blob is written: gc may run at any time. */
	return st_store_lease_begin(s, &L->lease, err);
}

/*
 * Whether index.json lists a multi-platform image the archive holds whole: Docker's
 * manifest.json names one platform's config and layers, so index.json is read instead, as
 * Docker's containerd image store reads it.
 */
static bool has_platforms(struct loader *L)
{
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	struct st_error *e = NULL;
	struct entry *ie = NULL;
	if (lookup(L, "index.json", &ie, &e) < 0 || read_index(L, &idx, &e) < 0) {
		st_error_free(e);
		return false;
	}
	bool found = false;
	for (size_t i = 0; i < idx->n_manifests && !found; i++) {
		const struct st_image_descriptor *d = &idx->manifests[i];
		struct entry *me = NULL;
		if (!d->media_type || strcmp(d->media_type, ST_MT_OCI_INDEX) != 0 ||
		    lookup_blob(L, d, &me, &e) < 0) {
			st_error_clear(&e);
			continue;
		}
		struct st_buf tmp = ST_BUF_INIT;
		const char *p = NULL;
		size_t n = 0;
		st_auto(st_image_index) struct st_image_index *sub = NULL;
		if (entry_bytes(L, me, &tmp, &p, &n, &e) == 0 &&
		    st_image_index_parse(p, n, &sub, &e) == 0)
			found = index_complete(L, sub);
		st_error_clear(&e);
		st_buf_release(&tmp);
	}
	return found;
}

static int finish(struct loader *L, enum st_archive_format f, struct st_archive_load_result *out,
		  struct st_error **err)
{
	int rc;
	if (f == ST_ARCHIVE_DOCKER && has_platforms(L))
		rc = resolve_oci(L, err);
	else if (f == ST_ARCHIVE_DOCKER)
		rc = resolve_docker(L, err);
	else if (f == ST_ARCHIVE_OCI_ARCHIVE || f == ST_ARCHIVE_OCI_DIR)
		rc = resolve_oci(L, err);
	else
		rc = st_err(err, ST_E_INVALID,
			    "not a docker-archive or OCI layout: no manifest.json or index.json");
	if (rc < 0)
		return -1;
	*out = (struct st_archive_load_result){ .format = f };
	if (record(L, out, err) < 0 || record_links(L, err) < 0 || record_sigs(L, err) < 0) {
		st_archive_load_result_release(out);
		return -1;
	}
	return 0;
}

static int load_archive(struct loader *L, struct archive *a, struct st_archive_load_result *out,
			struct st_error **err)
{
	if (read_tar(L, a, err) < 0)
		return -1;
	const char **names = st_xcalloc(L->n + 1, sizeof(char *));
	for (size_t i = 0; i < L->n; i++)
		names[i] = L->v[i]->name;
	enum st_archive_format f = st_archive_detect_names(names, L->n);
	free(names);
	return finish(L, f, out, err);
}

static void loader_opts(struct loader *L, const struct st_archive_load_opts *o);

int st_archive_load_fd_opts(struct st_store *s, int fd, const char *what,
			    const struct st_archive_load_opts *o,
			    struct st_archive_load_result *out, struct st_error **err)
{
	struct loader L;
	int rc = loader_init(&L, s, what, err);
	loader_opts(&L, o);
	if (rc == 0) {
		struct archive *a = archive_read_new();
		archive_read_support_filter_all(a);
		archive_read_support_format_tar(a);
		if (archive_read_open_fd(a, fd, ST_ARCHIVE_CHUNK) != ARCHIVE_OK)
			rc = st_err(err, ST_E_PARSE, "not a tar archive: %s",
				    archive_error_string(a) ? archive_error_string(a)
							    : "empty input");
		else
			rc = load_archive(&L, a, out, err);
		archive_read_free(a);
	}
	loader_release(&L);
	if (rc < 0)
		return st_err_wrap(err, "load '%s'", what);
	return 0;
}

int st_archive_load_fd(struct st_store *s, int fd, const char *what,
		       struct st_archive_load_result *out, struct st_error **err)
{
	return st_archive_load_fd_opts(s, fd, what, NULL, out, err);
}

int st_archive_load_path(struct st_store *s, const char *path, struct st_archive_load_result *out,
			 struct st_error **err)
{
	return st_archive_load_path_opts(s, path, NULL, out, err);
}

int st_archive_load_path_select(struct st_store *s, const char *path, const char *select,
				struct st_archive_load_result *out, struct st_error **err)
{
	struct st_archive_load_opts o = { .select = select };
	return st_archive_load_path_opts(s, path, &o, out, err);
}

static void loader_opts(struct loader *L, const struct st_archive_load_opts *o)
{
	if (!o)
		return;
	L->select = o->select;
	L->events = &o->events;
	struct st_error *perr = NULL;
	if (o->select && st_local_ref_normalize(o->select, &L->select_full, &perr) < 0)
		st_error_free(perr);
}

int st_archive_load_path_opts(struct st_store *s, const char *path,
			      const struct st_archive_load_opts *o,
			      struct st_archive_load_result *out, struct st_error **err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return st_err(err, ST_E_NOTFOUND, "open '%s': no such file or directory",
				      path);
		return st_err_errno(err, "stat '%s'", path);
	}
	if (!S_ISDIR(st.st_mode)) {
		st_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return st_err_errno(err, "open '%s'", path);
		return st_archive_load_fd_opts(s, fd, path, o, out, err);
	}
	enum st_archive_format f;
	if (st_archive_detect_path(path, &f, err) < 0)
		return -1;
	struct loader L;
	int rc = loader_init(&L, s, path, err);
	loader_opts(&L, o);
	if (rc == 0) {
		L.dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (L.dirfd < 0)
			rc = st_err_errno(err, "open '%s'", path);
	}
	if (rc == 0)
		rc = finish(&L, f, out, err);
	loader_release(&L);
	if (rc < 0)
		return st_err_wrap(err, "load '%s'", path);
	return 0;
}

void st_archive_load_result_release(struct st_archive_load_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].name);
	free(r->v);
	*r = (struct st_archive_load_result){ 0 };
}
