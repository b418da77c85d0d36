#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/banned.h"

static char *dir_of(const char *path);

static int tmpfile_open(struct st_tmpfile *t, const char *dir, const char *name, mode_t mode,
			struct st_error **err)
{
	if (st_mkdir_p(dir, 0700, err) < 0)
		return -1;
	char *path = st_xasprintf("%s/%s", dir, name);
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		st_err_errno(err, "create temp file in '%s'", dir);
		free(path);
		return -1;
	}
	if (fchmod(fd, mode) < 0) {
		st_err_errno(err, "chmod '%s'", path);
		close(fd);
		unlink(path);
		free(path);
		return -1;
	}
	t->fd = fd;
	t->path = path;
	return 0;
}

int st_tmpfile_open(struct st_tmpfile *t, const char *dir, mode_t mode, struct st_error **err)
{
	return tmpfile_open(t, dir, "tmp.XXXXXX", mode, err);
}

int st_tmpfile_open_named(struct st_tmpfile *t, const char *dir, const char *pattern, mode_t mode,
			  struct st_error **err)
{
	return tmpfile_open(t, dir, pattern, mode, err);
}

int st_tmpfile_open_beside(struct st_tmpfile *t, const char *path, mode_t mode,
			   struct st_error **err)
{
	st_autofree char *dir = dir_of(path);
	const char *slash = strrchr(path, '/');
	st_autofree char *name = st_xasprintf(".%s.tmp-XXXXXX", slash ? slash + 1 : path);
	return tmpfile_open(t, dir, name, mode, err);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return st_xstrdup(".");
	if (slash == path)
		return st_xstrdup("/");
	return st_xstrndup(path, (size_t)(slash - path));
}

int st_fsync_dir(const char *path, struct st_error **err)
{
	st_autoclose int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return st_err_errno(err, "open directory '%s'", path);
	if (fsync(fd) < 0 && errno != EINVAL)
		return st_err_errno(err, "fsync directory '%s'", path);
	return 0;
}

int st_tmpfile_commit(struct st_tmpfile *t, const char *path, struct st_error **err)
{
	if (!t->path)
		return st_err(err, ST_E_INVALID, "commit '%s': temp file is not open", path);
	/* fsync before rename: a crash must leave no file or a whole one, never a torn one. */
	if (fsync(t->fd) < 0)
		return st_err_errno(err, "fsync '%s'", t->path);
	if (close(t->fd) < 0) {
		t->fd = -1;
		return st_err_errno(err, "close '%s'", t->path);
	}
	t->fd = -1;
	if (rename(t->path, path) < 0)
		return st_err_errno(err, "rename '%s' to '%s'", t->path, path);
	free(t->path);
	t->path = NULL;
	st_autofree char *dir = dir_of(path);
	return st_fsync_dir(dir, err);
}

void st_tmpfile_release(struct st_tmpfile *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->path) {
		unlink(t->path);
		free(t->path);
		t->path = NULL;
	}
}

void st_tmpfile_releasep(struct st_tmpfile *t)
{
	st_tmpfile_release(t);
}

int st_write_all(int fd, const void *p, size_t n, struct st_error **err)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return st_err_errno(err, "write");
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int st_read_file(const char *path, struct st_buf *out, struct st_error **err)
{
	st_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		st_err_errno(err, "open '%s'", path);
		if (errno == ENOENT)
			(*err)->kind = ST_E_NOTFOUND;
		return -1;
	}
	for (;;) {
		st_buf_grow(out, 65536);
		ssize_t r = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return st_err_errno(err, "read '%s'", path);
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
		out->data[out->len] = '\0';
	}
	return 0;
}

int st_write_file_atomic(const char *path, const char *tmpdir, const void *p, size_t n, mode_t mode,
			 struct st_error **err)
{
	st_autofree char *dir = tmpdir ? NULL : dir_of(path);
	st_auto_tmpfile struct st_tmpfile t = ST_TMPFILE_INIT;
	if (st_tmpfile_open(&t, tmpdir ? tmpdir : dir, mode, err) < 0)
		return -1;
	if (st_write_all(t.fd, p, n, err) < 0)
		return st_err_wrap(err, "write '%s'", t.path);
	return st_tmpfile_commit(&t, path, err);
}

int st_mkdir_p(const char *path, mode_t mode, struct st_error **err)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTDIR;
		return st_err_errno(err, "mkdir '%s'", path);
	}
	st_autofree char *p = st_xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return st_err_errno(err, "mkdir '%s'", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return st_err_errno(err, "mkdir '%s'", p);
	return 0;
}

/* 'path' is the entry's whole path, for messages: 'name' is relative to 'parent'. */
static int rm_rf_at(int parent, const char *name, dev_t dev, struct st_buf *path,
		    struct st_error **err)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return st_err_errno(err, "stat '%s'", path->data);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
			return st_err_errno(err, "remove '%s'", path->data);
		return 0;
	}
	if (st.st_dev != dev)
		return st_err(err, ST_E_BUSY, "remove '%s': a mount point", path->data);
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return st_err_errno(err, "open '%s'", path->data);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return st_err_errno(err, "open '%s'", path->data);
	}
	size_t len = path->len;
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		st_buf_addf(path, "/%s", de->d_name);
		rc = rm_rf_at(dirfd(d), de->d_name, dev, path, err);
		st_buf_setlen(path, len);
		if (rc < 0)
			break;
	}
	closedir(d);
	if (rc < 0)
		return -1;
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return st_err_errno(err, "remove '%s'", path->data);
	return 0;
}

int st_rm_rf(const char *path, struct st_error **err)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return st_err_errno(err, "stat '%s'", path);
	}
	struct st_buf whole = ST_BUF_INIT;
	st_buf_adds(&whole, path);
	int rc = rm_rf_at(AT_FDCWD, path, st.st_dev, &whole, err);
	st_buf_release(&whole);
	return rc;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

static int cmp_longest_first(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
	return la < lb ? 1 : la > lb ? -1 : 0;
}

int st_umount_below(const char *path, size_t *n, struct st_error **err)
{
	if (n)
		*n = 0;
	/* mountinfo names mount points by their real path. */
	st_autofree char *real = realpath(path, NULL);
	if (!real)
		return errno == ENOENT ? 0 : st_err_errno(err, "resolve '%s'", path);
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return st_err_errno(err, "open /proc/self/mountinfo");
	size_t len = strlen(real), k = 0;
	char **found = NULL;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		/* "id parent major:minor root mount-point options ...": the fifth field. */
		char *save = NULL, *mp = strtok_r(line, " ", &save);
		for (int i = 0; mp && i < 4; i++)
			mp = strtok_r(NULL, " ", &save);
		if (!mp)
			continue;
		unescape_octal(mp);
		if (strncmp(mp, real, len) != 0 || (mp[len] != '\0' && mp[len] != '/'))
			continue;
		found = st_xrealloc(found, (k + 1) * sizeof(*found));
		found[k++] = st_xstrdup(mp);
	}
	free(line);
	fclose(f);
	if (k)
		qsort(found, k, sizeof(*found), cmp_longest_first);
	int rc = 0;
	for (size_t i = 0; i < k && rc == 0; i++) {
		/* Gone already: it sat below one detached before (a mount stacked on another). */
		if (umount2(found[i], MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
		    errno != ENOENT)
			rc = st_err_errno(err, "unmount '%s'", found[i]);
		else if (n)
			(*n)++;
	}
	st_strv_free(found, k);
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int st_dir_names(DIR *d, const char *what, char ***names, size_t *n, struct st_error **err)
{
	char **v = NULL;
	size_t k = 0, cap = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 32;
			v = st_xrealloc(v, cap * sizeof(*v));
		}
		v[k++] = st_xstrdup(de->d_name);
		errno = 0;
	}
	if (errno) {
		st_strv_free(v, k);
		return st_err_errno(err, "read directory '%s'", what);
	}
	if (k)
		qsort(v, k, sizeof(*v), cmp_name);
	*names = v;
	*n = k;
	return 0;
}

bool st_path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

bool st_path_normalize(const char *in, struct st_buf *out)
{
	bool ok = true;
	st_buf_reset(out);
	st_buf_grow(out, 0); /* data is never NULL, even for the root "" */
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - s);
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.')
			ok = false;
		if (out->len)
			st_buf_addch(out, '/');
		st_buf_add(out, s, n);
	}
	return ok;
}

char *st_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	if (!*b)
		return st_xstrndup(a, la);
	return st_xasprintf("%.*s/%s", (int)la, a, b);
}

/* ---- the union of overlay lowerdirs ---- */

/* As many links as the kernel follows in one lookup before ELOOP. */
#define UNION_MAX_LINKS 40

/* A directory of the union: its fd in each layer that merges into it, else -1. */
struct union_dir {
	int *fds;
	size_t n;
};

static void union_dir_close(struct union_dir *d)
{
	for (size_t i = 0; i < d->n; i++) {
		if (d->fds[i] >= 0)
			close(d->fds[i]);
		d->fds[i] = -1;
	}
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == 0;
}

static bool is_opaque(int dirfd)
{
	char v = 0;
	return fgetxattr(dirfd, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y';
}

/*
 * Look 'name' up in the directory 'd' as overlayfs does: the topmost layer that has it gives
 * the entry (*st, *layer); a whiteout hides it; a directory merges with the directories of the
 * same name below it, down to an opaque one or a layer with a non-directory there. 'next'
 * receives the merged directory's fds. 1 if found, 0 if not, -1 with errno set.
 */
static int union_child(const struct union_dir *d, const char *name, struct union_dir *next,
		       struct stat *st, size_t *layer)
{
	bool found = false;
	for (size_t i = 0; i < d->n; i++) {
		if (d->fds[i] < 0)
			continue;
		struct stat s;
		if (fstatat(d->fds[i], name, &s, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			return -1;
		}
		if (is_whiteout(&s))
			break;
		if (!found) {
			*st = s;
			*layer = i;
			found = true;
		}
		if (!S_ISDIR(s.st_mode) || !S_ISDIR(st->st_mode))
			break;
		next->fds[i] =
		    openat(d->fds[i], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next->fds[i] < 0)
			return -1;
		if (is_opaque(next->fds[i]))
			break;
	}
	return found;
}

/* Open the union's directory 'path' (resolved: every component a directory). */
static int union_open(char *const *layers, const char *path, struct union_dir *d)
{
	union_dir_close(d);
	for (size_t i = 0; i < d->n; i++) {
		d->fds[i] = open(layers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d->fds[i] < 0)
			return -1;
	}
	st_autofree char *copy = st_xstrdup(path);
	struct union_dir next = { .fds = st_xcalloc(d->n + 1, sizeof(int)), .n = d->n };
	for (size_t i = 0; i < next.n; i++)
		next.fds[i] = -1;
	int rc = 0;
	for (char *save = NULL, *c = strtok_r(copy, "/", &save); c && rc == 0;
	     c = strtok_r(NULL, "/", &save)) {
		struct stat st;
		size_t layer;
		rc = union_child(d, c, &next, &st, &layer) == 1 && S_ISDIR(st.st_mode) ? 0 : -1;
		union_dir_close(d);
		int *t = d->fds;
		d->fds = next.fds;
		next.fds = t;
	}
	union_dir_close(&next);
	free(next.fds);
	return rc;
}

/* Append the components of 'rest' to 'path' as written, '..' taking one off. */
static void append_lexical(struct st_buf *path, const char *rest)
{
	st_autofree char *copy = st_xstrdup(rest);
	for (char *save = NULL, *c = strtok_r(copy, "/", &save); c;
	     c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			char *slash = path->len ? strrchr(path->data, '/') : NULL;
			st_buf_setlen(path, slash ? (size_t)(slash - path->data) : 0);
			continue;
		}
		st_buf_addf(path, "/%s", c);
	}
}

int st_union_lookup(char *const *layers, size_t n, const char *path, enum st_union_flags flags,
		    struct st_union_entry *out, struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	struct union_dir d = { .fds = st_xcalloc(n + 1, sizeof(int)), .n = n };
	struct union_dir next = { .fds = st_xcalloc(n + 1, sizeof(int)), .n = n };
	for (size_t i = 0; i < n; i++)
		d.fds[i] = next.fds[i] = -1;
	struct st_buf done = ST_BUF_INIT; /* resolved so far: "" is the root */
	struct st_buf rest = ST_BUF_INIT; /* still to resolve */
	st_buf_adds(&rest, path);
	int rc =
	    union_open(layers, "", &d) < 0 ? st_err_errno(err, "open the layers of the image") : 1;
	struct stat st = { 0 };
	size_t layer = 0;
	if (rc == 1 && n > 0 && lstat(layers[0], &st) < 0)
		rc = st_err_errno(err, "stat '%s'", layers[0]);
	if (n == 0) {
		rc = 0; /* scratch: not even the root exists */
		append_lexical(&done, path);
	}
	unsigned links = 0;
	while (rc == 1) {
		const char *r = st_buf_str(&rest);
		while (*r == '/')
			r++;
		if (!*r)
			break;
		const char *slash = strchr(r, '/');
		st_autofree char *name =
		    slash ? st_xstrndup(r, (size_t)(slash - r)) : st_xstrdup(r);
		st_autofree char *after = st_xstrdup(slash ? slash : "");
		st_buf_reset(&rest);
		st_buf_adds(&rest, after);
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			char *s = done.len ? strrchr(done.data, '/') : NULL;
			st_buf_setlen(&done, s ? (size_t)(s - done.data) : 0);
			if (union_open(layers, done.len ? done.data : "", &d) < 0)
				rc = st_err_errno(err, "open '%s' in the image", st_buf_str(&done));
			continue;
		}
		for (size_t i = 0; i < n; i++)
			next.fds[i] = -1;
		struct stat cst;
		size_t cl = 0;
		int found = union_child(&d, name, &next, &cst, &cl);
		if (found < 0) {
			rc = st_err_errno(err, "look up '%s/%s' in the image", st_buf_str(&done),
					  name);
			union_dir_close(&next);
			break;
		}
		if (!found) {
			st_buf_addf(&done, "/%s", name);
			append_lexical(&done, st_buf_str(&rest));
			rc = 0;
			break;
		}
		bool last = !*after || !after[strspn(after, "/")];
		if (S_ISLNK(cst.st_mode) && (!last || (flags & ST_UNION_FOLLOW))) {
			char target[PATH_MAX];
			ssize_t len = readlinkat(d.fds[cl], name, target, sizeof(target) - 1);
			if (len < 0) {
				rc =
				    st_err_errno(err, "read link '%s/%s'", st_buf_str(&done), name);
				break;
			}
			target[len] = '\0';
			if (++links > UNION_MAX_LINKS) {
				rc = st_err(err, ST_E_INVALID,
					    "'%s': too many levels of symbolic links", path);
				break;
			}
			st_buf_reset(&rest);
			st_buf_addf(&rest, "%s/%s", target, after);
			if (target[0] == '/') {
				st_buf_reset(&done);
				if (union_open(layers, "", &d) < 0)
					rc = st_err_errno(err, "open the layers of the image");
			}
			continue;
		}
		st_buf_addf(&done, "/%s", name);
		st = cst;
		layer = cl;
		if (last)
			break;
		if (!S_ISDIR(cst.st_mode)) {
			rc = st_err(err, ST_E_INVALID, "'%s': '%s' is not a directory", path,
				    done.data);
			break;
		}
		union_dir_close(&d);
		int *t = d.fds;
		d.fds = next.fds;
		next.fds = t;
	}
	union_dir_close(&d);
	union_dir_close(&next);
	free(d.fds);
	free(next.fds);
	st_buf_release(&rest);
	if (rc < 0) {
		st_buf_release(&done);
		return -1;
	}
	out->path = done.len ? st_buf_detach(&done, NULL) : st_xstrdup("/");
	st_buf_release(&done);
	if (rc == 1) {
		out->host =
		    st_xasprintf("%s%s", layers[layer], strcmp(out->path, "/") ? out->path : "");
		out->st = st;
	}
	return rc;
}

void st_union_entry_release(struct st_union_entry *e)
{
	free(e->path);
	free(e->host);
	e->path = e->host = NULL;
}

static int walk_order(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

int st_fs_walk(const char *root,
	       int (*fn)(void *ctx, const char *path, const char *rel, enum st_walk_kind kind,
			 struct st_error **err),
	       void *ctx, struct st_error **err)
{
	char *const roots[] = { (char *)root, NULL };
	FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, walk_order);
	if (!fts)
		return st_err_errno(err, "walk '%s'", root);
	size_t skip = strlen(root) + 1;
	int rc = 0;
	FTSENT *e;
	while (rc == 0 && (e = fts_read(fts))) {
		if (e->fts_info == FTS_DNR || e->fts_info == FTS_ERR || e->fts_info == FTS_NS) {
			errno = e->fts_errno;
			rc = st_err_errno(err, "walk '%s'", e->fts_path);
		} else if (e->fts_level > 0 && e->fts_info != FTS_DP) {
			enum st_walk_kind kind = e->fts_info == FTS_D	? ST_WALK_DIR
						 : e->fts_info == FTS_F ? ST_WALK_FILE
									: ST_WALK_OTHER;
			rc = fn(ctx, e->fts_path, e->fts_path + skip, kind, err);
		}
	}
	fts_close(fts);
	return rc;
}
