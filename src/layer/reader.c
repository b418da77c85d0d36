#include "layer/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer/internal.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* Offset of the last component of a normalised path. */
static size_t base_off(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? (size_t)(s - path) + 1 : 0;
}

/* ---- listing ---- */

struct st_layer_reader {
	struct tar_in t;
	struct st_hasher h;
	bool hashing, eof;
	struct archive_entry *cur;
	struct st_buf path;
	bool path_ok; /* no '..' in the current entry's name */
};

struct st_layer_reader *st_layer_reader_new(struct st_layer_source src, struct st_error **err)
{
	struct st_layer_reader *r = st_xcalloc(1, sizeof(*r));
	st_hasher_init(&r->h);
	r->hashing = true;
	if (layer_tar_in_open(&r->t, src, true, (struct st_layer_sink){ 0 }, &r->h, "read layer",
			      err) < 0) {
		st_layer_reader_free(r);
		return NULL;
	}
	return r;
}

static enum st_layer_entry_type entry_type(struct archive_entry *ae)
{
	if (archive_entry_hardlink(ae))
		return ST_LAYER_ENTRY_HARDLINK;
	switch (archive_entry_filetype(ae)) {
	case AE_IFREG:
		return ST_LAYER_ENTRY_FILE;
	case AE_IFDIR:
		return ST_LAYER_ENTRY_DIR;
	case AE_IFLNK:
		return ST_LAYER_ENTRY_SYMLINK;
	case AE_IFCHR:
		return ST_LAYER_ENTRY_CHAR;
	case AE_IFBLK:
		return ST_LAYER_ENTRY_BLOCK;
	case AE_IFIFO:
		return ST_LAYER_ENTRY_FIFO;
	default:
		return ST_LAYER_ENTRY_OTHER;
	}
}

int st_layer_reader_next(struct st_layer_reader *r, struct st_layer_entry *e, struct st_error **err)
{
	/* Zero bytes are an empty layer, as Go's archive/tar (and so Docker) reads them. */
	if (r->eof || r->t.empty) {
		r->eof = true;
		return 0;
	}
	if (st_cancel_check(err) < 0)
		return -1;
	int rc = archive_read_next_header(r->t.a, &r->cur);
	if (rc == ARCHIVE_EOF) {
		r->eof = true;
		return 0;
	}
	if (rc < ARCHIVE_WARN)
		return layer_tar_in_error(&r->t, "read layer", err);
	struct archive_entry *ae = r->cur;
	const char *raw = archive_entry_pathname(ae);
	if (!raw)
		return st_err(err, ST_E_PARSE, "read layer: entry without a name");
	r->path_ok = st_path_normalize(raw, &r->path);
	memset(e, 0, sizeof(*e));
	e->raw_path = raw;
	e->path = r->path.data;
	e->type = entry_type(ae);
	e->size = archive_entry_size_is_set(ae) ? (uint64_t)archive_entry_size(ae) : 0;
	e->mode = archive_entry_perm(ae);
	e->uid = (uid_t)archive_entry_uid(ae);
	e->gid = (gid_t)archive_entry_gid(ae);
	e->mtime = archive_entry_mtime(ae);
	e->rdev = archive_entry_rdev(ae);
	if (e->type == ST_LAYER_ENTRY_HARDLINK)
		e->linkname = archive_entry_hardlink(ae);
	else if (e->type == ST_LAYER_ENTRY_SYMLINK)
		e->linkname = archive_entry_symlink(ae);
	size_t b = base_off(r->path.data);
	const char *base = r->path.data + b;
	if (!strncmp(base, ST_LAYER_WHITEOUT_PREFIX, 4) && e->type != ST_LAYER_ENTRY_DIR) {
		if (!strcmp(base, ST_LAYER_WHITEOUT_OPAQUE)) {
			e->type = ST_LAYER_ENTRY_OPAQUE;
			st_buf_setlen(&r->path, b ? b - 1 : 0);
		} else if (!strncmp(base, ".wh..wh.", 8)) {
			/* aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content. */
			e->type = ST_LAYER_ENTRY_OTHER;
		} else {
			e->type = ST_LAYER_ENTRY_WHITEOUT;
			memmove(r->path.data + b, base + 4, strlen(base + 4) + 1);
			r->path.len -= 4;
		}
		e->path = r->path.data;
	}
	return 1;
}

ssize_t st_layer_reader_read(struct st_layer_reader *r, void *buf, size_t n, struct st_error **err)
{
	la_ssize_t k = archive_read_data(r->t.a, buf, n);
	if (k < 0)
		return layer_tar_in_error(&r->t, "read layer", err);
	return (ssize_t)k;
}

int st_layer_reader_diff_id(struct st_layer_reader *r, struct st_digest *out, uint64_t *size,
			    struct st_error **err)
{
	if (!r->eof || !r->hashing)
		return st_err(err, ST_E_INVALID, "read layer: diff_id before the end of the layer");
	if (layer_tar_in_drain(&r->t, err) < 0)
		return -1;
	st_hasher_final(&r->h, out);
	r->hashing = false;
	if (size)
		*size = r->t.u.total;
	return 0;
}

void st_layer_reader_free(struct st_layer_reader *r)
{
	if (!r)
		return;
	layer_tar_in_close(&r->t);
	if (r->hashing)
		st_hasher_release(&r->h);
	st_buf_release(&r->path);
	free(r);
}

void st_layer_reader_freep(struct st_layer_reader **r)
{
	st_layer_reader_free(*r);
}

/* ---- checking ---- */

/* A name cut for messages: over-long names are one of the things refused. */
#define SHOWN_MAX 120

static int entry_refuse(const char *raw, struct st_error **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int entry_refuse(const char *raw, struct st_error **err, const char *fmt, ...)
{
	struct st_buf why = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(&why, fmt, ap);
	va_end(ap);
	st_err(err, ST_E_INVALID, "entry '%.*s%s': %s", SHOWN_MAX, raw,
	       strlen(raw) > SHOWN_MAX ? "..." : "", why.data);
	st_buf_release(&why);
	return -1;
}

/* What Linux refuses to create: a component over NAME_MAX or a path of PATH_MAX or more. */
static bool name_too_long(const char *path)
{
	if (strlen(path) >= PATH_MAX)
		return true;
	for (const char *c = path; *c;) {
		size_t n = strcspn(c, "/");
		if (n > NAME_MAX)
			return true;
		c += n + (c[n] == '/');
	}
	return false;
}

int layer_tar_entry_check(struct archive_entry *ae, struct st_buf *scratch, struct st_error **err)
{
	const char *raw = archive_entry_pathname(ae);
	if (!raw)
		return st_err(err, ST_E_PARSE, "entry without a name");
	if (!st_path_normalize(raw, scratch))
		return entry_refuse(raw, err, "path escapes the root");
	if (name_too_long(scratch->data))
		return entry_refuse(raw, err,
				    "name longer than %d bytes or with a component over %d",
				    PATH_MAX - 1, NAME_MAX);
	const char *base = scratch->data + base_off(scratch->data);
	/* ".wh..wh.*" other than the opaque marker is aufs bookkeeping, skipped on extraction */
	bool whiteout =
	    !strncmp(base, ST_LAYER_WHITEOUT_PREFIX, 4) &&
	    (strncmp(base, ".wh..wh.", 8) != 0 || !strcmp(base, ST_LAYER_WHITEOUT_OPAQUE));
	if (whiteout && strcmp(base, ST_LAYER_WHITEOUT_OPAQUE) != 0) {
		/* What a whiteout deletes must be a name in its directory. */
		const char *target = base + 4;
		if (!*target || !strcmp(target, ".") || !strcmp(target, ".."))
			return entry_refuse(raw, err, "whiteout without a name to delete");
	}
	if (whiteout) {
		/* A whiteout is a marker: content or children would be lost or misread. */
		if (archive_entry_filetype(ae) == AE_IFDIR)
			return entry_refuse(raw, err, "whiteout name on a directory");
		if (archive_entry_size(ae) > 0)
			return entry_refuse(raw, err, "whiteout with %lld bytes of data",
					    (long long)archive_entry_size(ae));
	}
	const char *hl = archive_entry_hardlink(ae);
	if (hl) {
		/* An absolute target names a path of the image, as containerd resolves it. */
		if (!st_path_normalize(hl, scratch) || !scratch->len)
			return entry_refuse(raw, err, "hardlink target '%s' escapes the root", hl);
		if (name_too_long(scratch->data))
			return entry_refuse(raw, err, "hardlink target longer than %d bytes",
					    PATH_MAX - 1);
	}
	const char *sl = archive_entry_symlink(ae);
	if (sl && strlen(sl) >= PATH_MAX)
		return entry_refuse(raw, err, "symlink target longer than %d bytes", PATH_MAX - 1);
	return 0;
}

/* The entries of an opened tar, each as st_layer_check() wants it. */
static int check_entries(struct tar_in *t, struct st_error **err)
{
	struct st_buf scratch = ST_BUF_INIT;
	int ret = 0;
	while (ret == 0 && !t->empty) {
		struct archive_entry *ae;
		int r = archive_read_next_header(t->a, &ae);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			ret = layer_tar_in_error(t, "read layer", err);
		else
			ret = layer_tar_entry_check(ae, &scratch, err);
	}
	st_buf_release(&scratch);
	return ret;
}

int st_layer_check(struct st_layer_source src, struct st_error **err)
{
	struct tar_in t;
	int ret =
	    layer_tar_in_open(&t, src, true, (struct st_layer_sink){ 0 }, NULL, "read layer", err);
	if (ret == 0)
		ret = check_entries(&t, err);
	layer_tar_in_close(&t);
	return ret;
}

/*
 * The streaming check: libarchive pulls its input while the caller pushes, so the check runs
 * in a thread of its own that reads a pipe the caller writes. Once the verdict is known the
 * thread reads the pipe to its end, so the writer never blocks on it nor gets SIGPIPE.
 */
struct st_layer_checker {
	int wfd;
	int rfd;
	pthread_t thread;
	bool started;
	atomic_bool failed;
	struct st_error *err; /* the thread's verdict, read after the join */
	int rc;
	struct st_digest diff_id; /* of every byte written, once the check passed */
	uint64_t size;
};

static void *checker_main(void *arg)
{
	struct st_layer_checker *c = arg;
	struct tar_in t;
	/* The diff_id is hashed here too, so the writer's thread only inflates. */
	struct st_hasher h;
	st_hasher_init(&h);
	/* The bytes are the inflated tar already: no second look for a compression magic, so
	 * what is checked is exactly what extraction will read. */
	c->rc = layer_tar_in_open(&t, st_layer_source_fd(&c->rfd), false,
				  (struct st_layer_sink){ 0 }, &h, "read layer", &c->err);
	if (c->rc == 0)
		c->rc = check_entries(&t, &c->err);
	/* what follows the tar's end blocks is part of the diff_id too */
	if (c->rc == 0)
		c->rc = layer_tar_in_drain(&t, &c->err);
	c->size = t.u.total;
	layer_tar_in_close(&t);
	if (c->rc == 0)
		st_hasher_final(&h, &c->diff_id);
	else
		st_hasher_release(&h);
	if (c->rc < 0)
		atomic_store(&c->failed, true);
	char buf[65536];
	while (read(c->rfd, buf, sizeof(buf)) > 0 || errno == EINTR)
		;
	return NULL;
}

struct st_layer_checker *st_layer_checker_new(struct st_error **err)
{
	struct st_layer_checker *c = st_xcalloc(1, sizeof(*c));
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		free(c);
		st_err_errno(err, "layer check: pipe");
		return NULL;
	}
	c->rfd = fds[0];
	c->wfd = fds[1];
	/* A larger pipe: fewer switches between the writer and the checker. Best effort. */
	(void)fcntl(c->wfd, F_SETPIPE_SZ, (int)ST_LAYER_BUFSZ);
	atomic_init(&c->failed, false);
	int rc = pthread_create(&c->thread, NULL, checker_main, c);
	if (rc != 0) {
		close(c->rfd);
		close(c->wfd);
		free(c);
		errno = rc;
		st_err_errno(err, "layer check: start a thread");
		return NULL;
	}
	c->started = true;
	return c;
}

/* Close the writing end and wait for the verdict. */
static int checker_join(struct st_layer_checker *c, struct st_error **err)
{
	if (c->started) {
		close(c->wfd);
		c->wfd = -1;
		pthread_join(c->thread, NULL);
		c->started = false;
		close(c->rfd);
		c->rfd = -1;
	}
	if (c->rc < 0) {
		if (err && c->err) {
			st_error_free(*err);
			*err = c->err;
			c->err = NULL;
		}
		return -1;
	}
	return 0;
}

int st_layer_checker_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct st_layer_checker *c = ctx;
	/* A refused layer stops the caller's transfer at once, with the entry named. */
	if (!c->started || atomic_load(&c->failed))
		return checker_join(c, err) < 0 ? -1
						: st_err(err, ST_E_INVALID, "layer check ended");
	int fd = c->wfd;
	return st_layer_sink_fd_write(&fd, p, n, err);
}

int st_layer_checker_finish(struct st_layer_checker *c, struct st_digest *diff_id, uint64_t *size,
			    struct st_error **err)
{
	if (checker_join(c, err) < 0)
		return -1;
	if (diff_id)
		*diff_id = c->diff_id;
	if (size)
		*size = c->size;
	return 0;
}

void st_layer_checker_free(struct st_layer_checker *c)
{
	if (!c)
		return;
	checker_join(c, NULL);
	st_error_free(c->err);
	free(c);
}

void st_layer_checker_freep(struct st_layer_checker **c)
{
	st_layer_checker_free(*c);
}

/* ---- extraction ---- */

/* The paths this layer created, so whiteouts only hide what lower layers put there. */
struct strset {
	char **v;
	size_t cap, len;
};

static size_t str_hash(const char *s)
{
	size_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static char **set_slot(struct strset *m, const char *s)
{
	size_t i = str_hash(s) & (m->cap - 1);
	while (m->v[i] && strcmp(m->v[i], s))
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

static void set_add(struct strset *m, const char *s)
{
	if (m->len * 2 >= m->cap) {
		struct strset n = { st_xcalloc(m->cap ? m->cap * 2 : 64, sizeof(char *)),
				    m->cap ? m->cap * 2 : 64, m->len };
		for (size_t i = 0; i < m->cap; i++)
			if (m->v[i])
				*set_slot(&n, m->v[i]) = m->v[i];
		free(m->v);
		*m = n;
	}
	char **slot = set_slot(m, s);
	if (!*slot) {
		*slot = st_xstrdup(s);
		m->len++;
	}
}

static bool set_has(struct strset *m, const char *s)
{
	return m->cap && *set_slot(m, s) != NULL;
}

static void set_release(struct strset *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i]);
	free(m->v);
	*m = (struct strset){ 0 };
}

struct dirtime {
	char *path;
	int64_t mtime;
};

struct extractor {
	int rootfd;
	struct st_layer_extract_opts o;
	bool openat2;
	struct strset seen;
	struct dirtime *dirs;
	size_t ndirs, capdirs;
	const char *raw; /* the current entry's name as in the tar, for messages */
};

static int open_in_root(struct extractor *x, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, x->rootfd, *rel ? rel : ".", &how, sizeof(how));
}

static int entry_err(struct extractor *x, struct st_error **err, const char *what)
{
	return st_err_errno(err, "layer entry '%s': %s", x->raw, what);
}

/*
 * Open directory 'rel' (normalised, relative to the root) with 'flags' (O_PATH or O_RDONLY),
 * creating missing directories if 'create'. With openat2, symlinks on the way resolve as if
 * the root were '/'; without, a symlink on the way is refused. Returns the fd, -1 with *err
 * set, or -2 with errno ENOENT if missing and not 'create'.
 */
static int open_dir(struct extractor *x, const char *rel, int flags, bool create,
		    struct st_error **err)
{
	flags |= O_DIRECTORY;
	if (x->openat2) {
		int fd = open_in_root(x, rel, flags);
		if (fd >= 0)
			return fd;
		if (errno == ENOSYS) {
			x->openat2 = false;
			return open_dir(x, rel, flags, create, err);
		}
		if (errno != ENOENT)
			return entry_err(x, err, "open parent directory");
		if (!create)
			return -2;
		/* Create each missing component under its (already resolved) parent. */
		struct st_buf pre = ST_BUF_INIT;
		const char *p = rel;
		int pfd = open_in_root(x, "", O_PATH | O_DIRECTORY);
		if (pfd < 0) {
			st_buf_release(&pre);
			return entry_err(x, err, "open root");
		}
		while (*p) {
			const char *s = p;
			while (*p && *p != '/')
				p++;
			size_t n = (size_t)(p - s);
			bool last = *p == '\0';
			if (!last)
				p++;
			if (pre.len)
				st_buf_addch(&pre, '/');
			st_buf_add(&pre, s, n);
			st_autofree char *comp = st_xstrndup(s, n);
			int nfd = open_in_root(x, pre.data, last ? flags : O_PATH | O_DIRECTORY);
			if (nfd < 0 && errno == ENOENT) {
				if (mkdirat(pfd, comp, 0755) < 0 && errno != EEXIST) {
					close(pfd);
					st_buf_release(&pre);
					return entry_err(x, err, "create parent directory");
				}
				nfd =
				    open_in_root(x, pre.data, last ? flags : O_PATH | O_DIRECTORY);
			}
			close(pfd);
			if (nfd < 0) {
				st_buf_release(&pre);
				return entry_err(x, err, "open parent directory");
			}
			pfd = nfd;
		}
		st_buf_release(&pre);
		return pfd;
	}

	/* Without openat2: one component at a time, never following a symlink. */
	int cur = openat(x->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return entry_err(x, err, "open root");
	const char *p = rel;
	while (*p) {
		const char *s = p;
		while (*p && *p != '/')
			p++;
		st_autofree char *comp = st_xstrndup(s, (size_t)(p - s));
		bool last = *p == '\0';
		if (*p)
			p++;
		int of = (last ? flags : O_PATH | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC;
		int nfd = openat(cur, comp, of);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
				close(cur);
				return entry_err(x, err, "create parent directory");
			}
			nfd = openat(cur, comp, of);
		}
		int e = errno;
		close(cur);
		if (nfd < 0) {
			if (e == ENOENT && !create)
				return -2;
			if (e == ENOTDIR || e == ELOOP)
				return st_err(err, ST_E_INVALID,
					      "layer entry '%s': path goes through a symlink or a "
					      "non-directory",
					      x->raw);
			errno = e;
			return entry_err(x, err, "open parent directory");
		}
		cur = nfd;
	}
	if (!*rel) {
		int fd = openat(cur, ".", flags | O_CLOEXEC);
		close(cur);
		if (fd < 0)
			return entry_err(x, err, "open root");
		return fd;
	}
	return cur;
}

/* rm -rf 'name' in 'dirfd', never following symlinks. */
static int remove_at(int dfd, const char *name)
{
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	struct dirent *de;
	int ret = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_at(dirfd(d), de->d_name) < 0)
			ret = -1;
	}
	closedir(d);
	if (ret == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		ret = -1;
	return ret;
}

/* Remove what lower layers left in directory 'rel' (open as 'fd'): keep this layer's paths. */
static int clear_lower(struct extractor *x, int fd, struct st_buf *rel)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -1;
	}
	size_t len = rel->len;
	struct dirent *de;
	int ret = 0;
	while ((de = readdir(d)) && ret == 0) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		st_buf_setlen(rel, len);
		if (len)
			st_buf_addch(rel, '/');
		st_buf_adds(rel, de->d_name);
		if (!set_has(&x->seen, rel->data)) {
			ret = remove_at(dirfd(d), de->d_name);
			continue;
		}
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode)) {
			int cfd = openat(dirfd(d), de->d_name,
					 O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0) {
				ret = -1;
				break;
			}
			ret = clear_lower(x, cfd, rel);
			close(cfd);
		}
	}
	closedir(d);
	st_buf_setlen(rel, len);
	return ret;
}

/* Make room for a new entry 'base' in 'pfd'; an existing directory stays for a directory. */
static int clear_leaf(struct extractor *x, int pfd, const char *base, bool keep_dir, bool *is_dir,
		      struct st_error **err)
{
	struct stat st;
	*is_dir = false;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return entry_err(x, err, "stat");
	}
	if (keep_dir && S_ISDIR(st.st_mode)) {
		*is_dir = true;
		return 0;
	}
	if (remove_at(pfd, base) < 0)
		return entry_err(x, err, "replace existing file");
	return 0;
}

/* Overlay metadata from a tarball could forge whiteouts or redirects in a lowerdir. */
static bool refuse_xattr(const char *name)
{
	return !strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13);
}

static int set_meta_fd(struct extractor *x, int fd, struct archive_entry *ae, bool times,
		       struct st_error **err)
{
	if (!(x->o.flags & ST_LAYER_EXTRACT_NO_CHOWN) &&
	    fchown(fd, (uid_t)archive_entry_uid(ae), (gid_t)archive_entry_gid(ae)) < 0)
		return entry_err(x, err, "chown");
	/* After chown, which clears setuid/setgid. */
	if (fchmod(fd, archive_entry_perm(ae)) < 0)
		return entry_err(x, err, "chmod");
	const char *name;
	const void *val;
	size_t size;
	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &name, &val, &size) == ARCHIVE_OK) {
		if (refuse_xattr(name))
			continue;
		if (fsetxattr(fd, name, val, size, 0) < 0 && errno != ENOTSUP)
			return st_err_errno(err, "layer entry '%s': set xattr '%s'", x->raw, name);
	}
	if (times) {
		struct timespec ts[2] = { { archive_entry_mtime(ae), 0 },
					  { archive_entry_mtime(ae), 0 } };
		if (futimens(fd, ts) < 0)
			return entry_err(x, err, "set times");
	}
	return 0;
}

static int set_meta_at(struct extractor *x, int pfd, const char *base, struct archive_entry *ae,
		       bool chmod_too, struct st_error **err)
{
	if (!(x->o.flags & ST_LAYER_EXTRACT_NO_CHOWN) &&
	    fchownat(pfd, base, (uid_t)archive_entry_uid(ae), (gid_t)archive_entry_gid(ae),
		     AT_SYMLINK_NOFOLLOW) < 0)
		return entry_err(x, err, "chown");
	/* Only for nodes we just made with mknodat: 'base' is not a symlink. */
	if (chmod_too && fchmodat(pfd, base, archive_entry_perm(ae), 0) < 0)
		return entry_err(x, err, "chmod");
	struct timespec ts[2] = { { archive_entry_mtime(ae), 0 }, { archive_entry_mtime(ae), 0 } };
	if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return entry_err(x, err, "set times");
	return 0;
}

static int write_file(struct extractor *x, struct archive *a, int pfd, const char *base,
		      struct archive_entry *ae, struct st_error **err)
{
	st_autoclose int fd =
	    openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return entry_err(x, err, "create");
	for (;;) {
		const void *p;
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(a, &p, &n, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return st_err(err, ST_E_PARSE, "layer entry '%s': %s", x->raw,
				      archive_error_string(a));
		const char *c = p;
		while (n > 0) {
			ssize_t w = pwrite(fd, c, n, off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return entry_err(x, err, "write");
			}
			c += w;
			off += w;
			n -= (size_t)w;
		}
	}
	/* Sparse entries may end in a hole. */
	if (archive_entry_size_is_set(ae) && ftruncate(fd, archive_entry_size(ae)) < 0)
		return entry_err(x, err, "truncate");
	return set_meta_fd(x, fd, ae, true, err);
}

static void remember_dir(struct extractor *x, const char *path, int64_t mtime)
{
	if (x->ndirs == x->capdirs) {
		x->capdirs = x->capdirs ? x->capdirs * 2 : 64;
		x->dirs = st_xrealloc(x->dirs, x->capdirs * sizeof(*x->dirs));
	}
	x->dirs[x->ndirs++] = (struct dirtime){ st_xstrdup(path), mtime };
}

static int do_whiteout(struct extractor *x, const struct st_layer_entry *e,
		       struct archive_entry *ae, struct st_error **err)
{
	size_t b = base_off(e->path);
	st_autofree char *parent = st_xstrndup(e->path, b ? b - 1 : 0);
	const char *base = e->path + b;
	if (!*base || !strcmp(base, "..") || !strcmp(base, "."))
		return st_err(err, ST_E_INVALID, "layer entry '%s': bad whiteout", x->raw);
	bool overlay = x->o.mode == ST_LAYER_EXTRACT_OVERLAY;
	/* A whiteout hides lower layers only; this layer's own entry of that name stays. */
	if (!overlay && set_has(&x->seen, e->path))
		return 0;
	int pfd = open_dir(x, parent, O_PATH, overlay, err);
	if (pfd == -2)
		return 0;
	if (pfd < 0)
		return -1;
	bool is_dir;
	int ret = clear_leaf(x, pfd, base, false, &is_dir, err);
	if (ret == 0 && overlay) {
		if (mknodat(pfd, base, S_IFCHR | 0, makedev(0, 0)) < 0)
			ret = entry_err(x, err, "create whiteout device");
		else
			ret = set_meta_at(x, pfd, base, ae, false, err);
	}
	close(pfd);
	return ret;
}

static int do_opaque(struct extractor *x, const struct st_layer_entry *e, struct st_error **err)
{
	bool overlay = x->o.mode == ST_LAYER_EXTRACT_OVERLAY;
	int fd = open_dir(x, e->path, O_RDONLY, overlay, err);
	if (fd == -2)
		return 0;
	if (fd < 0)
		return -1;
	int ret = 0;
	if (overlay) {
		if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
			ret = entry_err(x, err, "set opaque xattr");
	} else {
		struct st_buf rel = ST_BUF_INIT;
		st_buf_adds(&rel, e->path);
		if (clear_lower(x, fd, &rel) < 0)
			ret = entry_err(x, err, "clear opaque directory");
		st_buf_release(&rel);
	}
	close(fd);
	return ret;
}

/* The xattrs of 'sfd' onto 'dfd': file capabilities survive the copy of a lower file. */
static int copy_xattrs(struct extractor *x, int sfd, int dfd, struct st_error **err)
{
	ssize_t n = flistxattr(sfd, NULL, 0);
	if (n <= 0)
		return 0;
	st_autofree char *names = st_xmalloc((size_t)n);
	n = flistxattr(sfd, names, (size_t)n);
	for (const char *name = names; n > 0 && name < names + n; name += strlen(name) + 1) {
		if (refuse_xattr(name))
			continue;
		ssize_t vn = fgetxattr(sfd, name, NULL, 0);
		if (vn < 0)
			continue;
		st_autofree char *v = st_xmalloc((size_t)vn + 1);
		vn = fgetxattr(sfd, name, v, (size_t)vn);
		if (vn >= 0 && fsetxattr(dfd, name, v, (size_t)vn, 0) < 0 && errno != ENOTSUP)
			return st_err_errno(err, "layer entry '%s': set xattr '%s'", x->raw, name);
	}
	return 0;
}

/*
 * The hardlink 'base' in 'pfd' to 'target', a file of the layers below (x->o.lowers): a copy
 * of it, with its owner, mode, xattrs and times.
 */
static int copy_from_lower(struct extractor *x, int pfd, const char *base, const char *target,
			   struct st_error **err)
{
	st_autofree char *abs = st_xasprintf("/%s", target);
	struct st_union_entry e;
	int found = st_union_lookup(x->o.lowers, x->o.n_lowers, abs, 0, &e, err);
	int ret = 0;
	if (found < 0)
		ret = st_err_wrap(err, "layer entry '%s': hardlink target '%s'", x->raw, target);
	else if (!found)
		ret = st_err(err, ST_E_NOTFOUND, "layer entry '%s': hardlink target '%s' not found",
			     x->raw, target);
	else if (!S_ISREG(e.st.st_mode))
		ret = st_err(err, ST_E_INVALID,
			     "layer entry '%s': hardlink target '%s' of a lower layer is not a "
			     "regular file",
			     x->raw, target);
	st_autoclose int sfd = -1, dfd = -1;
	if (ret == 0) {
		sfd = open(e.host, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		dfd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (sfd < 0 || dfd < 0)
			ret = entry_err(x, err, "copy the hardlink target of a lower layer");
	}
	char buf[65536];
	for (ssize_t n; ret == 0 && (n = read(sfd, buf, sizeof(buf))) != 0;) {
		if (n < 0)
			ret = entry_err(x, err, "read the hardlink target of a lower layer");
		else
			ret = st_write_all(dfd, buf, (size_t)n, err);
	}
	if (ret == 0 && !(x->o.flags & ST_LAYER_EXTRACT_NO_CHOWN) &&
	    fchown(dfd, e.st.st_uid, e.st.st_gid) < 0)
		ret = entry_err(x, err, "chown");
	/* After chown, which clears setuid/setgid. */
	if (ret == 0 && fchmod(dfd, e.st.st_mode & 07777) < 0)
		ret = entry_err(x, err, "chmod");
	if (ret == 0)
		ret = copy_xattrs(x, sfd, dfd, err);
	struct timespec ts[2] = { e.st.st_atim, e.st.st_mtim };
	if (ret == 0 && futimens(dfd, ts) < 0)
		ret = entry_err(x, err, "set times");
	st_union_entry_release(&e);
	return ret;
}

static int do_hardlink(struct extractor *x, int pfd, const char *base, const char *target,
		       struct st_error **err)
{
	struct st_buf t = ST_BUF_INIT;
	st_autofree char *tparent = NULL;
	int ret = 0;
	if (!st_path_normalize(target, &t) || !t.len) {
		ret = st_err(err, ST_E_INVALID,
			     "layer entry '%s': hardlink target '%s' escapes the root", x->raw,
			     target);
		goto out;
	}
	size_t b = base_off(t.data);
	tparent = st_xstrndup(t.data, b ? b - 1 : 0);
	int tfd = open_dir(x, tparent, O_PATH, false, err);
	bool below = x->o.mode == ST_LAYER_EXTRACT_OVERLAY && x->o.n_lowers;
	struct stat tst;
	if (below &&
	    (tfd == -2 || (tfd >= 0 && fstatat(tfd, t.data + b, &tst, AT_SYMLINK_NOFOLLOW) < 0 &&
			   errno == ENOENT))) {
		ret = copy_from_lower(x, pfd, base, t.data, err);
		if (tfd >= 0)
			close(tfd);
		goto out;
	}
	if (tfd == -2) {
		ret = st_err(err, ST_E_NOTFOUND, "layer entry '%s': hardlink target '%s' not found",
			     x->raw, target);
		goto out;
	}
	if (tfd < 0) {
		ret = -1;
		goto out;
	}
	/* Flags 0: a symlink target is linked itself, never followed. */
	if (linkat(tfd, t.data + b, pfd, base, 0) < 0) {
		if (errno == ENOENT)
			ret = st_err(err, ST_E_NOTFOUND,
				     "layer entry '%s': hardlink target '%s' not found", x->raw,
				     target);
		else
			ret =
			    st_err_errno(err, "layer entry '%s': hardlink to '%s'", x->raw, target);
	}
	close(tfd);
out:
	st_buf_release(&t);
	return ret;
}

static int extract_one(struct extractor *x, struct st_layer_reader *r,
		       const struct st_layer_entry *e, struct st_error **err)
{
	struct archive_entry *ae = r->cur;
	x->raw = e->raw_path;
	if (!r->path_ok)
		return st_err(err, ST_E_INVALID, "layer entry '%s': path escapes the root", x->raw);
	switch (e->type) {
	case ST_LAYER_ENTRY_WHITEOUT:
		return do_whiteout(x, e, ae, err);
	case ST_LAYER_ENTRY_OPAQUE:
		return do_opaque(x, e, err);
	case ST_LAYER_ENTRY_OTHER:
		return 0;
	default:
		break;
	}
	/* The root itself ('./'): its owner and mode belong to whoever made 'root'. */
	if (!*e->path)
		return 0;
	size_t b = base_off(e->path);
	st_autofree char *parent = st_xstrndup(e->path, b ? b - 1 : 0);
	const char *base = e->path + b;
	int pfd = open_dir(x, parent, O_PATH, true, err);
	if (pfd < 0)
		return -1;
	bool is_dir;
	int ret = clear_leaf(x, pfd, base, e->type == ST_LAYER_ENTRY_DIR, &is_dir, err);
	if (ret < 0)
		goto out;
	switch (e->type) {
	case ST_LAYER_ENTRY_FILE:
		ret = write_file(x, r->t.a, pfd, base, ae, err);
		break;
	case ST_LAYER_ENTRY_DIR: {
		if (!is_dir && mkdirat(pfd, base, 0700) < 0) {
			ret = entry_err(x, err, "create directory");
			break;
		}
		int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			ret = entry_err(x, err, "open directory");
			break;
		}
		ret = set_meta_fd(x, fd, ae, false, err);
		close(fd);
		remember_dir(x, e->path, e->mtime);
		break;
	}
	case ST_LAYER_ENTRY_SYMLINK:
		if (symlinkat(e->linkname ? e->linkname : "", pfd, base) < 0)
			ret = entry_err(x, err, "create symlink");
		else
			ret = set_meta_at(x, pfd, base, ae, false, err);
		break;
	case ST_LAYER_ENTRY_HARDLINK:
		ret = do_hardlink(x, pfd, base, e->linkname, err);
		break;
	case ST_LAYER_ENTRY_CHAR:
	case ST_LAYER_ENTRY_BLOCK:
	case ST_LAYER_ENTRY_FIFO: {
		mode_t t = e->type == ST_LAYER_ENTRY_CHAR    ? S_IFCHR
			   : e->type == ST_LAYER_ENTRY_BLOCK ? S_IFBLK
							     : S_IFIFO;
		if (mknodat(pfd, base, t | (e->mode & 0777), e->rdev) < 0)
			ret = entry_err(x, err, "create device");
		else
			ret = set_meta_at(x, pfd, base, ae, true, err);
		break;
	}
	default:
		break;
	}
	if (ret == 0 && x->o.mode == ST_LAYER_EXTRACT_APPLY)
		set_add(&x->seen, e->path);
out:
	close(pfd);
	return ret;
}

/* Directory mtimes last: creating their children changed them. */
static void fix_dir_times(struct extractor *x)
{
	struct st_error *ignored = NULL;
	for (size_t i = x->ndirs; i-- > 0;) {
		x->raw = x->dirs[i].path;
		int fd = open_dir(x, x->dirs[i].path, O_RDONLY | O_NOFOLLOW, false, &ignored);
		st_error_clear(&ignored);
		if (fd < 0)
			continue;
		struct timespec ts[2] = { { x->dirs[i].mtime, 0 }, { x->dirs[i].mtime, 0 } };
		futimens(fd, ts);
		close(fd);
	}
}

int st_layer_extract(struct st_layer_source src, const char *root,
		     const struct st_layer_extract_opts *opts, struct st_digest *diff_id,
		     struct st_error **err)
{
	struct extractor x = { .rootfd = -1 };
	if (opts)
		x.o = *opts;
	x.openat2 = !(x.o.flags & ST_LAYER_EXTRACT_NO_OPENAT2);
	x.rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (x.rootfd < 0)
		return st_err_errno(err, "open extraction root '%s'", root);
	st_auto(st_layer_reader) struct st_layer_reader *r = st_layer_reader_new(src, err);
	int ret = r ? 0 : -1;
	while (ret == 0) {
		struct st_layer_entry e;
		int n = st_layer_reader_next(r, &e, err);
		if (n <= 0) {
			ret = n;
			break;
		}
		ret = extract_one(&x, r, &e, err);
	}
	if (ret == 0) {
		fix_dir_times(&x);
		if (diff_id) {
			ret = st_layer_reader_diff_id(r, diff_id, NULL, err);
		}
	}
	close(x.rootfd);
	set_release(&x.seen);
	for (size_t i = 0; i < x.ndirs; i++)
		free(x.dirs[i].path);
	free(x.dirs);
	return ret;
}
