/* blob.c: blobs/sha256/<hex>, written through tmp/ and renamed into place whole. */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

struct st_store_blob_writer {
	struct st_store *s;
	struct st_tmpfile t;
	struct st_hasher h;
	bool hashing; /* the hasher holds a context to release */
	bool done;    /* commit was attempted */
	uint64_t size;
	struct st_digest expected;
	bool has_expected;
	struct st_store_lease *lease;
};

int st_store_blob_writer_new(struct st_store *s, const char *expected,
			     struct st_store_blob_writer **out, struct st_error **err)
{
	if (expected && store_check_digest(expected, "expected digest", err) < 0)
		return -1;
	st_auto(st_store_blob_writer) struct st_store_blob_writer *w = st_xcalloc(1, sizeof(*w));
	w->s = s;
	w->t = (struct st_tmpfile)ST_TMPFILE_INIT;
	st_autoclose int guard = store_tmp_guard(s, err);
	if (guard < 0)
		return st_err_wrap(err, "write blob");
	/* 0444: blobs are immutable; the descriptor was opened for writing before the chmod. */
	if (st_tmpfile_open_named(&w->t, s->tmp_dir, "new.XXXXXX", 0444, err) < 0)
		return st_err_wrap(err, "write blob");
	/*
	 * The lock tells gc the temp file has a live writer; it goes away with the process,
	 * so a writer killed half-way leaves a file gc may remove.
	 */
	if (flock(w->t.fd, LOCK_EX | LOCK_NB) < 0)
		return st_err_errno(err, "write blob: lock '%s'", w->t.path);
	if (store_tmp_publish(s, &w->t.path, "tmp.", err) < 0)
		return st_err_wrap(err, "write blob");
	if (expected) {
		memcpy(w->expected.str, expected, ST_DIGEST_STR_LEN + 1);
		w->has_expected = true;
	}
	st_hasher_init(&w->h);
	w->hashing = true;
	*out = st_steal(&w);
	return 0;
}

int st_store_blob_writer_write(struct st_store_blob_writer *w, const void *p, size_t n,
			       struct st_error **err)
{
	if (w->done)
		return st_err(err, ST_E_INVALID, "write blob: writer already committed");
	if (st_cancel_check(err) < 0)
		return -1;
	if (st_write_all(w->t.fd, p, n, err) < 0)
		return st_err_wrap(err, "write blob '%s'", w->t.path);
	st_hasher_update(&w->h, p, n);
	w->size += n;
	return 0;
}

void st_store_blob_writer_set_lease(struct st_store_blob_writer *w, struct st_store_lease *lease)
{
	w->lease = lease;
}

int st_store_blob_writer_fd(const struct st_store_blob_writer *w)
{
	return w->t.fd;
}

uint64_t st_store_blob_writer_size(const struct st_store_blob_writer *w)
{
	return w->size;
}

static int finish(struct st_store_blob_writer *w, const struct st_digest *d, uint64_t size,
		  struct st_error **err)
{
	if (w->has_expected && !st_digest_equal(d, &w->expected))
		return st_err(err, ST_E_DIGEST, "blob %s: content hashes to %s", w->expected.str,
			      d->str);
	if (w->lease && st_store_lease_add(w->lease, d->str, err) < 0)
		return st_err_wrap(err, "blob %s", d->str);
	st_autofree char *path = st_path_join(w->s->blobs_dir, st_digest_hex(d));
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size) {
		/* Content-addressed: the same name holds the same bytes; keep the old file. */
		st_tmpfile_release(&w->t);
		return 0;
	}
	if (st_tmpfile_commit(&w->t, path, err) < 0)
		return st_err_wrap(err, "blob %s", d->str);
	return 0;
}

int st_store_blob_writer_commit(struct st_store_blob_writer *w, struct st_digest *digest,
				uint64_t *size, struct st_error **err)
{
	if (w->done)
		return st_err(err, ST_E_INVALID, "commit blob: writer already committed");
	w->done = true;
	struct st_digest d;
	st_hasher_final(&w->h, &d);
	w->hashing = false;
	if (finish(w, &d, w->size, err) < 0) {
		st_tmpfile_release(&w->t);
		return -1;
	}
	if (digest)
		*digest = d;
	if (size)
		*size = w->size;
	return 0;
}

int st_store_blob_writer_commit_hashed(struct st_store_blob_writer *w, const char *digest,
				       uint64_t *size, struct st_error **err)
{
	if (w->done)
		return st_err(err, ST_E_INVALID, "commit blob: writer already committed");
	w->done = true;
	struct st_digest d;
	struct stat st;
	int rc = st_digest_parse(digest, &d, err);
	if (rc == 0 && fstat(w->t.fd, &st) < 0)
		rc = st_err_errno(err, "stat '%s'", w->t.path);
	if (rc == 0)
		rc = finish(w, &d, (uint64_t)st.st_size, err);
	if (rc < 0) {
		st_tmpfile_release(&w->t);
		return -1;
	}
	if (size)
		*size = (uint64_t)st.st_size;
	return 0;
}

void st_store_blob_writer_free(struct st_store_blob_writer *w)
{
	if (!w)
		return;
	if (w->hashing)
		st_hasher_release(&w->h);
	st_tmpfile_release(&w->t);
	free(w);
}

void st_store_blob_writer_freep(struct st_store_blob_writer **w)
{
	st_store_blob_writer_free(*w);
	*w = NULL;
}

int st_store_put_blob(struct st_store *s, const void *p, size_t n, struct st_digest *digest,
		      struct st_error **err)
{
	struct st_digest d;
	st_digest_of(p, n, &d);
	if (digest)
		*digest = d;
	if (st_store_has_blob(s, d.str))
		return 0;
	st_auto(st_store_blob_writer) struct st_store_blob_writer *w = NULL;
	if (st_store_blob_writer_new(s, d.str, &w, err) < 0 ||
	    st_store_blob_writer_write(w, p, n, err) < 0 ||
	    st_store_blob_writer_commit(w, NULL, NULL, err) < 0)
		return -1;
	return 0;
}

bool st_store_has_blob(struct st_store *s, const char *digest)
{
	if (!digest || !st_digest_valid(digest))
		return false;
	st_autofree char *path = st_path_join(s->blobs_dir, digest + 7);
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *st_store_blob_path(struct st_store *s, const char *digest, struct st_error **err)
{
	if (store_check_digest(digest, "blob", err) < 0)
		return NULL;
	return st_path_join(s->blobs_dir, digest + 7);
}

int st_store_open_blob(struct st_store *s, const char *digest, int *fd, uint64_t *size,
		       struct st_error **err)
{
	st_autofree char *path = st_store_blob_path(s, digest, err);
	if (!path)
		return -1;
	st_autoclose int f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0) {
		if (errno == ENOENT)
			return st_err(err, ST_E_NOTFOUND, "blob %s: not found", digest);
		return st_err_errno(err, "open blob '%s'", path);
	}
	struct stat st;
	if (fstat(f, &st) < 0)
		return st_err_errno(err, "stat blob '%s'", path);
	if (size)
		*size = (uint64_t)st.st_size;
	*fd = st_steal_fd(&f);
	return 0;
}

int st_store_read_blob(struct st_store *s, const char *digest, struct st_buf *out,
		       struct st_error **err)
{
	st_autofree char *path = st_store_blob_path(s, digest, err);
	if (!path)
		return -1;
	size_t start = out->len;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return st_err(err, ST_E_NOTFOUND, "blob %s: not found", digest);
	if (st_read_file(path, out, err) < 0) {
		st_buf_setlen(out, start);
		return -1;
	}
	struct st_digest d;
	st_digest_of(out->data + start, out->len - start, &d);
	if (strcmp(d.str, digest) != 0) {
		st_buf_setlen(out, start);
		return st_err(err, ST_E_DIGEST, "blob %s: corrupt: content hashes to %s", digest,
			      d.str);
	}
	return 0;
}
