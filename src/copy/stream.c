/*
 * stream.c: a copy that never touches a store. Each blob goes from the source's reader
 * straight to the destination (an OCI layout's file, an oci-archive's tar entry, a registry
 * upload), hashed on the way and refused unless it is the blob its digest names; the manifest
 * keeps its bytes. A destination file or directory appears whole, once everything verified.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/archive.h"
#include "copy/internal.h"
#include "layer/compress.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

#define CHUNK (1u << 20)

/* Where the blobs go: one of these is in use, as dst->kind says. */
struct dest {
	const struct st_copy_ref *ref;
	const struct st_copy_opts *o;
	char *dir;		/* OCI: the layout being filled beside dst->path */
	struct st_tmpfile file; /* OCI_ARCHIVE: the tar being written beside dst->path */
	struct archive *a;	/* and its writer */
	int fd;			/* OCI: the blob being written */
	char *buf;		/* CHUNK bytes */
	struct st_digest *sent; /* the blobs written so far: each once, however many list it */
	size_t n_sent;
};

/* A blob's bytes as they go by, hashed and counted, to check against its descriptor 'want'. */
struct tally {
	const struct st_image_descriptor *want;
	struct st_hasher h;
	uint64_t done;
	bool hashing;
};

static void tally_release(struct tally *t)
{
	if (t->hashing)
		st_hasher_release(&t->h);
	t->hashing = false;
}

/* From the blob's start (again). */
static void tally_start(struct tally *t)
{
	tally_release(t);
	st_hasher_init(&t->h);
	t->hashing = true;
	t->done = 0;
}

static int tally_add(struct tally *t, const void *p, size_t n, struct st_error **err)
{
	t->done += n;
	if (t->want->size >= 0 && t->done > (uint64_t)t->want->size)
		return st_err(err, ST_E_DIGEST,
			      "blob %s: digest mismatch: more than its %lld bytes",
			      t->want->digest.str, (long long)t->want->size);
	st_hasher_update(&t->h, p, n);
	return 0;
}

/* At the blob's end: its size (when the descriptor has one) and its digest. */
static int tally_end(struct tally *t, struct st_error **err)
{
	struct st_digest got;
	st_hasher_final(&t->h, &got);
	t->hashing = false;
	if (t->want->size >= 0 && t->done != (uint64_t)t->want->size)
		return st_err(err, ST_E_DIGEST,
			      "blob %s: digest mismatch: %llu bytes, its descriptor says %lld",
			      t->want->digest.str, (unsigned long long)t->done,
			      (long long)t->want->size);
	if (!st_digest_equal(&got, &t->want->digest))
		return st_err(err, ST_E_DIGEST, "blob %s: digest mismatch: got %s",
			      t->want->digest.str, got.str);
	return 0;
}

/* A blob read from the source, checked against 'want' at its end. */
struct reader {
	struct st_local_source *src;
	const struct st_image_descriptor *want;
	struct st_layer_source in;
	struct tally t;
	bool open;
};

static void reader_close(struct reader *r)
{
	if (!r->open)
		return;
	r->src->close(r->src->ctx);
	tally_release(&r->t);
	r->open = false;
}

/* The blob from its start (again, for a retried upload). */
static int reader_open(struct reader *r, struct st_error **err)
{
	reader_close(r);
	if (r->src->open(r->src->ctx, &r->want->digest, &r->in, err) < 0)
		return -1;
	r->t.want = r->want;
	tally_start(&r->t);
	r->open = true;
	return 0;
}

static ssize_t reader_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	struct reader *r = ctx;
	ssize_t k = r->in.read(r->in.ctx, buf, n, err);
	if (k < 0)
		return -1;
	if (k > 0)
		return tally_add(&r->t, buf, (size_t)k, err) < 0 ? -1 : k;
	return tally_end(&r->t, err);
}

static int reader_rewind(void *ctx, struct st_error **err)
{
	return reader_open(ctx, err);
}

/* ---- destinations ---- */

static char *blob_name(const struct st_digest *d)
{
	return st_xasprintf("blobs/sha256/%s", st_digest_hex(d));
}

static int tar_fail(struct archive *a, const char *what, struct st_error **err)
{
	return st_err(err, ST_E_IO, "write %s: %s", what, archive_error_string(a));
}

/* Bytes of the entry begun last. */
static int dest_write(struct dest *d, const void *p, size_t n, struct st_error **err)
{
	if (d->ref->kind == ST_COPY_OCI)
		return st_write_all(d->fd, p, n, err);
	if (n && archive_write_data(d->a, p, n) != (la_ssize_t)n)
		return tar_fail(d->a, "archive", err);
	return 0;
}

/* Begin the file 'name' of 'size' bytes in the layout or the archive. */
static int dest_begin(struct dest *d, const char *name, int64_t size, struct st_error **err)
{
	if (d->ref->kind != ST_COPY_OCI)
		return st_archive_tar_header(d->a, name, false, size, err);
	st_autofree char *p = st_path_join(d->dir, name);
	d->fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (d->fd < 0)
		return st_err_errno(err, "create '%s'", p);
	return 0;
}

static int dest_end(struct dest *d, struct st_error **err)
{
	if (d->ref->kind != ST_COPY_OCI)
		return 0;
	int rc = close(d->fd) < 0 ? st_err_errno(err, "close a blob") : 0;
	d->fd = -1;
	return rc;
}

static int dest_file(struct dest *d, const char *name, const void *p, size_t n,
		     struct st_error **err)
{
	if (dest_begin(d, name, (int64_t)n, err) < 0 || dest_write(d, p, n, err) < 0)
		return -1;
	return dest_end(d, err);
}

static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? st_xstrndup(path, slash == path ? 1 : (size_t)(slash - path))
		     : st_xstrdup(".");
}

/* A layout is written where nothing is, or into an empty directory: found out before copying. */
static int check_free(const char *path, struct st_error **err)
{
	DIR *dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? 0 : st_err(err, ST_E_EXISTS, "'%s' exists", path);
	struct dirent *de;
	bool empty = true;
	while (empty && (de = readdir(dir)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(dir);
	return empty ? 0
		     : st_err(err, ST_E_EXISTS, "'%s' exists and is not an empty directory", path);
}

static int dest_open(struct dest *d, struct st_error **err)
{
	d->buf = st_xmalloc(CHUNK);
	if (d->ref->kind == ST_COPY_DOCKER)
		return 0;
	if (d->ref->kind == ST_COPY_OCI) {
		if (check_free(d->ref->path, err) < 0)
			return -1;
		st_autofree char *parent = parent_of(d->ref->path);
		const char *slash = strrchr(d->ref->path, '/');
		d->dir =
		    st_xasprintf("%s/.%s.tmp-XXXXXX", parent, slash ? slash + 1 : d->ref->path);
		if (!mkdtemp(d->dir)) {
			int e = errno;
			free(d->dir);
			d->dir = NULL;
			errno = e;
			return st_err_errno(err, "create a directory in '%s'", parent);
		}
		st_autofree char *blobs = st_path_join(d->dir, "blobs/sha256");
		return st_mkdir_p(blobs, 0755, err);
	}
	if (st_tmpfile_open_beside(&d->file, d->ref->path, 0644, err) < 0)
		return -1;
	d->a = archive_write_new();
	archive_write_set_format_pax_restricted(d->a);
	archive_write_set_bytes_per_block(d->a, 0);
	if (archive_write_open_fd(d->a, d->file.fd) != ARCHIVE_OK)
		return tar_fail(d->a, d->ref->path, err);
	if (st_archive_tar_header(d->a, "blobs", true, 0, err) < 0)
		return -1;
	return st_archive_tar_header(d->a, "blobs/sha256", true, 0, err);
}

/* Nothing of an unfinished copy stays: the layout or the tar being written goes. */
static void dest_release(struct dest *d)
{
	if (d->fd >= 0)
		close(d->fd);
	if (d->a)
		archive_write_free(d->a);
	st_tmpfile_release(&d->file);
	if (d->dir) {
		struct st_error *e = NULL;
		if (st_rm_rf(d->dir, &e) < 0)
			st_error_free(e);
	}
	free(d->dir);
	free(d->buf);
	free(d->sent);
}

/* A blob of the source registry written to a destination file as it arrives, hashed. */
struct fetch {
	struct dest *d;
	struct tally t;
};

static int fetch_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct fetch *f = ctx;
	if (tally_add(&f->t, p, n, err) < 0)
		return -1;
	return dest_write(f->d, p, n, err);
}

/* A registry that sends the blob again from its start: the layout's file starts over. */
static int fetch_reset(void *ctx, struct st_error **err)
{
	struct fetch *f = ctx;
	if (ftruncate(f->d->fd, 0) < 0 || lseek(f->d->fd, 0, SEEK_SET) < 0)
		return st_err_errno(err, "restart blob %s", f->t.want->digest.str);
	tally_start(&f->t);
	return 0;
}

/*
 * Blob 'want' of the registry's image 'from' into the layout or the archive, straight from the
 * HTTP response. What is written is part of a destination that appears only once the copy is
 * whole, so a blob that turns out wrong is never seen there. A tar entry cannot be written
 * again: to an archive, a download the registry restarts from its start fails.
 */
static int fetch_blob(struct dest *d, const struct st_image_ref *from,
		      const struct st_image_descriptor *want, struct st_error **err)
{
	struct fetch f = { .d = d, .t = { .want = want } };
	struct st_http_sink sink = { fetch_write, d->ref->kind == ST_COPY_OCI ? fetch_reset : NULL,
				     &f };
	st_autofree char *name = blob_name(&want->digest);
	if (want->size < 0)
		return st_err(err, ST_E_INVALID, "blob %s: no size", want->digest.str);
	if (dest_begin(d, name, want->size, err) < 0)
		return -1;
	tally_start(&f.t);
	int rc = st_registry_get_blob(d->o->src_registry, from, &want->digest, &sink, err);
	if (rc == 0)
		rc = tally_end(&f.t, err);
	tally_release(&f.t);
	if (rc == 0)
		rc = dest_end(d, err);
	return rc;
}

/*
 * A blob of the source registry uploaded to the destination registry while it downloads: a
 * thread runs the download into a pipe, whose other end is the upload's body. The reader
 * checks size and digest, and the destination checks the digest again when the upload
 * completes; an upload that starts over starts the download over.
 */
struct relay {
	struct st_registry *reg;
	const struct st_image_ref *from;
	const struct st_image_descriptor *want;
	pthread_t thread;
	bool running;
	int rfd, wfd; /* the pipe's ends: ours, and the download thread's */
	int rc;	      /* the download's result, and its error */
	struct st_error *err;
	struct tally t;
};

static int relay_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct relay *r = ctx;
	return st_write_all(r->wfd, p, n, err);
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	/* An upload given up closes the read end: the write then fails with EPIPE rather than
	 * the process dying of the signal (a blocked thread-directed signal dies with the
	 * thread). */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* No reset: bytes already sent cannot be taken back, so a download that the source
	 * restarts from its start fails, and the upload with it (a retry starts both over). */
	struct st_http_sink sink = { relay_write, NULL, r };
	r->rc = st_registry_get_blob(r->reg, r->from, &r->want->digest, &sink, &r->err);
	close(r->wfd);
	r->wfd = -1;
	return NULL;
}

static void relay_stop(struct relay *r)
{
	if (r->rfd >= 0)
		close(r->rfd);
	r->rfd = -1;
	if (r->running)
		pthread_join(r->thread, NULL);
	r->running = false;
	st_error_free(r->err);
	r->err = NULL;
	tally_release(&r->t);
}

/* The download from its start (again, for a retried upload). */
static int relay_start(void *ctx, struct st_error **err)
{
	struct relay *r = ctx;
	relay_stop(r);
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return st_err_errno(err, "blob %s: make a pipe", r->want->digest.str);
	/* Fewer, bigger hand-overs between the two threads; the default size is fine too. */
	(void)fcntl(fds[1], F_SETPIPE_SZ, (int)CHUNK);
	r->rfd = fds[0];
	r->wfd = fds[1];
	r->rc = 0;
	tally_start(&r->t);
	if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
		close(r->wfd);
		r->wfd = -1;
		return st_err(err, ST_E_IO, "blob %s: cannot start its download",
			      r->want->digest.str);
	}
	r->running = true;
	return 0;
}

static ssize_t relay_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	struct relay *r = ctx;
	ssize_t k;
	do
		k = read(r->rfd, buf, n);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return st_err_errno(err, "blob %s: read its download", r->want->digest.str);
	if (k > 0)
		return tally_add(&r->t, buf, (size_t)k, err) < 0 ? -1 : k;
	/* The end of the pipe: the download's own result first. */
	pthread_join(r->thread, NULL);
	r->running = false;
	if (r->rc < 0) {
		*err = r->err;
		r->err = NULL;
		return -1;
	}
	return tally_end(&r->t, err);
}

/* Blob 'want' of the registry's image 'from' to the destination registry, streamed. */
static int relay_blob(struct dest *d, const struct st_image_ref *from,
		      const struct st_image_descriptor *want, struct st_error **err)
{
	if (want->size < 0)
		return st_err(err, ST_E_INVALID, "blob %s: no size", want->digest.str);
	struct relay r = { .reg = d->o->src_registry,
			   .from = from,
			   .want = want,
			   .rfd = -1,
			   .wfd = -1,
			   .t = { .want = want } };
	struct st_http_body_reader body = { relay_read, relay_start, &r, (uint64_t)want->size };
	bool mounted = false;
	int rc = relay_start(&r, err);
	if (rc == 0)
		rc = st_registry_push_blob(d->o->dest_registry, d->ref->ref, &want->digest, &body,
					   NULL, &mounted, err);
	relay_stop(&r);
	return rc;
}

/*
 * Blob 'want' of 'src' to the destination, verified on the way. 'from': the source is this
 * image of o->src_registry, whose blobs go to a layout or an archive as they arrive.
 */
static int copy_blob(struct dest *d, struct st_local_source *src, const struct st_image_ref *from,
		     const struct st_image_descriptor *want, struct st_error **err)
{
	struct reader r = { .src = src, .want = want };
	if (d->ref->kind == ST_COPY_DOCKER) {
		struct st_registry *reg = d->o->dest_registry;
		bool exists = false;
		if (st_registry_blob_exists(reg, d->ref->ref, &want->digest, &exists, err) < 0)
			return -1;
		if (exists)
			return 0;
		if (from)
			return relay_blob(d, from, want, err);
		struct st_http_body_reader body = { reader_read, reader_rewind, &r,
						    (uint64_t)want->size };
		bool mounted = false;
		int rc = reader_open(&r, err);
		if (rc == 0)
			rc = st_registry_push_blob(reg, d->ref->ref, &want->digest, &body, NULL,
						   &mounted, err);
		reader_close(&r);
		return rc;
	}
	for (size_t i = 0; i < d->n_sent; i++)
		if (st_digest_equal(&d->sent[i], &want->digest))
			return 0;
	d->sent = st_xrealloc(d->sent, (d->n_sent + 1) * sizeof(*d->sent));
	d->sent[d->n_sent++] = want->digest;
	st_autofree char *name = blob_name(&want->digest);
	if (from)
		return fetch_blob(d, from, want, err);
	int rc = reader_open(&r, err);
	if (rc == 0)
		rc = dest_begin(d, name, want->size, err);
	ssize_t k = 1;
	while (rc == 0 && (k = reader_read(&r, d->buf, CHUNK, err)) > 0)
		rc = dest_write(d, d->buf, (size_t)k, err);
	if (rc == 0 && k < 0)
		rc = -1; /* the reader's end checked size and digest */
	if (rc == 0)
		rc = dest_end(d, err);
	reader_close(&r);
	return rc;
}

/* index.json naming the one manifest, under dst's name when it has one. */
static char *index_json(const struct st_copy_ref *dst, const char *media_type,
			const struct st_digest *digest, size_t size)
{
	json_t *m = json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest->str,
			      "size", (json_int_t)size);
	if (dst->name)
		json_object_set_new(
		    m, "annotations",
		    json_pack("{s:s}", "org.opencontainers.image.ref.name", dst->name));
	json_t *idx = json_pack("{s:i, s:s, s:[o]}", "schemaVersion", 2, "mediaType",
				ST_MT_OCI_INDEX, "manifests", m);
	char *s = json_dumps(idx, JSON_COMPACT);
	json_decref(idx);
	return s;
}

/*
 * A docker-archive's manifest.json beside the layout, as save writes it: the blobs are the
 * layout's, and RepoTags has dst's name (with ":latest" when it has no tag), else nothing.
 */
static char *docker_manifest_json(const struct st_copy_ref *dst, const struct st_image_manifest *m)
{
	st_autofree char *config = blob_name(&m->config.digest);
	json_t *layers = json_array();
	for (size_t i = 0; i < m->n_layers; i++) {
		st_autofree char *name = blob_name(&m->layers[i].digest);
		json_array_append_new(layers, json_string(name));
	}
	json_t *tags = json_array();
	if (dst->name) {
		const char *slash = strrchr(dst->name, '/');
		bool tagged = strchr(slash ? slash : dst->name, ':');
		json_array_append_new(tags,
				      json_sprintf("%s%s", dst->name, tagged ? "" : ":latest"));
	}
	json_t *doc =
	    json_pack("[{s:s, s:o, s:o}]", "Config", config, "RepoTags", tags, "Layers", layers);
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

static const char oci_layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";

/*
 * What makes the layout or the archive whole, then into place: index.json naming 'top' (the
 * manifest or index of 'len' bytes and type 'mt', written already), and for a docker-archive
 * Docker's manifest.json listing the image 'm'.
 */
static int dest_commit(struct dest *d, const char *mt, const struct st_digest *top, size_t len,
		       const struct st_image_manifest *m, struct st_error **err)
{
	st_autofree char *index = index_json(d->ref, mt, top, len);
	if (dest_file(d, "index.json", index, strlen(index), err) < 0 ||
	    dest_file(d, "oci-layout", oci_layout, strlen(oci_layout), err) < 0)
		return -1;
	if (d->ref->kind == ST_COPY_DOCKER_ARCHIVE) {
		st_autofree char *docker = docker_manifest_json(d->ref, m);
		if (dest_file(d, "manifest.json", docker, strlen(docker), err) < 0)
			return -1;
	}
	if (d->ref->kind != ST_COPY_OCI) {
		if (archive_write_close(d->a) != ARCHIVE_OK)
			return tar_fail(d->a, d->ref->path, err);
		return st_tmpfile_commit(&d->file, d->ref->path, err);
	}
	if (chmod(d->dir, 0755) < 0)
		return st_err_errno(err, "chmod '%s'", d->dir);
	/* rename(2) replaces an empty directory: the layout appears whole or not at all. */
	if (rename(d->dir, d->ref->path) < 0)
		return st_err_errno(err, "rename '%s' to '%s'", d->dir, d->ref->path);
	free(d->dir);
	d->dir = NULL;
	return 0;
}

/* The manifest last, then what makes the layout or the archive whole. */
static int dest_finish(struct dest *d, const struct st_local_source *src,
		       const struct st_image_manifest *m, struct st_error **err)
{
	const char *mt = m->media_type ? m->media_type : ST_MT_OCI_MANIFEST;
	if (d->ref->kind == ST_COPY_DOCKER)
		return st_registry_put_manifest(d->o->dest_registry, d->ref->ref, mt, src->manifest,
						src->manifest_len, err);
	st_autofree char *name = blob_name(&src->manifest_digest);
	if (dest_file(d, name, src->manifest, src->manifest_len, err) < 0)
		return -1;
	return dest_commit(d, mt, &src->manifest_digest, src->manifest_len, m, err);
}

/* ---- the copy ---- */

/* The image of 'src' to 'dst'; *id is its config's digest. */
static int copy_image(struct st_local_source *src, const struct st_image_ref *from,
		      const struct st_copy_ref *dst, const struct st_copy_opts *o,
		      struct st_digest *id, struct st_error **err)
{
	struct st_digest got;
	st_digest_of(src->manifest, src->manifest_len, &got);
	if (!st_digest_equal(&got, &src->manifest_digest))
		return st_err(err, ST_E_DIGEST, "manifest %s: digest mismatch: got %s",
			      src->manifest_digest.str, got.str);
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	if (st_image_manifest_parse(src->manifest, src->manifest_len, &m, err) < 0)
		return st_err_wrap(err, "manifest %s", got.str);
	*id = m->config.digest;
	struct dest d = { .ref = dst, .o = o, .file = ST_TMPFILE_INIT, .fd = -1 };
	int rc = dest_open(&d, err);
	for (size_t i = 0; rc == 0 && i < m->n_layers; i++)
		rc = copy_blob(&d, src, from, &m->layers[i], err);
	if (rc == 0)
		rc = copy_blob(&d, src, from, &m->config, err);
	if (rc == 0)
		rc = dest_finish(&d, src, m, err);
	dest_release(&d);
	return rc;
}

/*
 * Every image the registry's index 'top' lists, to a layout or an archive: each one's blobs
 * (once however many share them) and manifest as served, then the index, which index.json
 * names. The blobs go from the HTTP responses straight into the destination.
 */
static int copy_index(const struct st_copy_ref *src, const struct st_copy_ref *dst,
		      const struct st_copy_opts *o, const struct st_registry_manifest *top,
		      struct st_copy_result *out, struct st_error **err)
{
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	if (st_image_index_parse(top->bytes.data, top->bytes.len, &idx, err) < 0)
		return st_err_wrap(err, "index %s", top->digest.str);
	if (!idx->n_manifests)
		return st_err(err, ST_E_INVALID, "the index %s lists no image", top->digest.str);
	struct dest d = { .ref = dst, .o = o, .file = ST_TMPFILE_INIT, .fd = -1 };
	int rc = dest_open(&d, err);
	for (size_t i = 0; rc == 0 && i < idx->n_manifests; i++) {
		const struct st_digest *md = &idx->manifests[i].digest;
		st_auto(st_image_ref) struct st_image_ref *one =
		    st_image_ref_at_digest(src->ref, md->str);
		struct st_registry_manifest m = { ST_BUF_INIT, NULL, { "" } };
		st_auto(st_image_manifest) struct st_image_manifest *man = NULL;
		rc = st_registry_get_manifest_digest(o->src_registry, one, md, &m, err);
		if (rc == 0)
			rc = st_image_manifest_parse(m.bytes.data, m.bytes.len, &man, err);
		for (size_t k = 0; rc == 0 && k < man->n_layers; k++)
			rc = copy_blob(&d, NULL, one, &man->layers[k], err);
		if (rc == 0)
			rc = copy_blob(&d, NULL, one, &man->config, err);
		st_autofree char *name = blob_name(md);
		if (rc == 0)
			rc = dest_file(&d, name, m.bytes.data, m.bytes.len, err);
		st_registry_manifest_release(&m);
		if (rc < 0)
			st_err_wrap(err, "manifest %s", md->str);
		if (rc == 0 && i == 0)
			out->id = man->config.digest;
	}
	st_autofree char *name = blob_name(&top->digest);
	const char *mt = idx->media_type ? idx->media_type : ST_MT_OCI_INDEX;
	if (rc == 0)
		rc = dest_file(&d, name, top->bytes.data, top->bytes.len, err);
	if (rc == 0)
		rc = dest_commit(&d, mt, &top->digest, top->bytes.len, NULL, err);
	dest_release(&d);
	out->digest = top->digest;
	return rc;
}

/* skopeo's --multi-arch index-only: the registry's index as served, alone. */
static int copy_index_only(const struct st_copy_ref *dst, const struct st_copy_opts *o,
			   const struct st_registry_manifest *top, struct st_copy_result *out,
			   struct st_error **err)
{
	const char *mt = top->media_type ? top->media_type : ST_MT_OCI_INDEX;
	out->digest = top->digest;
	return st_registry_put_manifest(o->dest_registry, dst->ref, mt, top->bytes.data,
					top->bytes.len, err);
}

bool st_copy_can_stream(const struct st_copy_ref *src, const struct st_copy_ref *dst)
{
	return src->kind != ST_COPY_STORE && dst->kind != ST_COPY_STORE;
}

/*
 * An image of an OCI layout or archive, or of a docker-archive. Docker 25 and strata write an
 * OCI layout beside a docker-archive's manifest.json: its manifest is kept when it names the
 * image, so the image keeps its digest; an archive without one gets a manifest made for it.
 */
static int copy_archive(const struct st_copy_ref *src, const struct st_copy_ref *dst,
			const struct st_copy_opts *o, struct st_copy_result *out,
			struct st_error **err)
{
	enum st_archive_format f =
	    src->kind == ST_COPY_OCI ? ST_ARCHIVE_OCI_DIR : ST_ARCHIVE_OCI_ARCHIVE;
	struct st_local_source in;
	st_auto(st_archive_image) struct st_archive_image *img = NULL;
	struct st_error *e = NULL;
	if (st_archive_image_open(src->path, f, src->name, o->platform, &img, &e) < 0) {
		if (src->kind != ST_COPY_DOCKER_ARCHIVE || e->kind != ST_E_NOTFOUND) {
			*err = e;
			return -1;
		}
		st_error_free(e);
		st_auto(st_copy_darchive) struct st_copy_darchive *da = NULL;
		if (st_copy_darchive_open(src, dst, o, &da, &in, err) < 0)
			return -1;
		out->digest = in.manifest_digest;
		return copy_image(&in, NULL, dst, o, &out->id, err);
	}
	if (st_archive_image_source(img, &in, err) < 0)
		return -1;
	out->digest = in.manifest_digest;
	return copy_image(&in, NULL, dst, o, &out->id, err);
}

int st_copy_stream(const struct st_copy_ref *src, const struct st_copy_ref *dst,
		   const struct st_copy_opts *o, struct st_copy_result *out, struct st_error **err)
{
	if (src->kind != ST_COPY_DOCKER)
		return copy_archive(src, dst, o, out, err);
	if (o->all || o->index_only) {
		struct st_registry_manifest top = { ST_BUF_INIT, NULL, { "" } };
		if (st_registry_get_manifest(o->src_registry, src->ref, &top, err) < 0)
			return -1;
		int rc = 1;
		if (st_image_detect(top.bytes.data, top.bytes.len) == ST_IMAGE_KIND_INDEX)
			rc = o->index_only ? copy_index_only(dst, o, &top, out, err)
					   : copy_index(src, dst, o, &top, out, err);
		st_registry_manifest_release(&top);
		if (rc <= 0)
			return rc;
		/* not an index: the one image */
	}
	struct st_local_source in;
	st_auto(st_registry_image) struct st_registry_image *img = NULL;
	if (st_registry_image_open(o->src_registry, src->ref, o->platform, &img, err) < 0)
		return -1;
	st_registry_image_source(img, &in);
	out->digest = in.manifest_digest;
	/* every blob goes from the HTTP response straight on: into a file, or an upload */
	return copy_image(&in, src->ref, dst, o, &out->id, err);
}
