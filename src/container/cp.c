/*
 * cp.c: `docker cp` in both directions, for running and stopped containers.
 *
 * Every path in the container is opened with openat2(RESOLVE_IN_ROOT) below a descriptor of
 * the container's root, so a symlink in it (to "/", to "../../..") resolves inside the
 * container as the container itself would see it, never on the host. What is copied travels
 * as a tar: the layer writer makes it, and the layer module's safe extraction (also
 * RESOLVE_IN_ROOT) unpacks it below a descriptor of the target directory.
 *
 * A running container's root is its first process's (/proc/PID/root): writes go through its
 * overlay to its writable layer, and `diff` shows them. A stopped one is mounted here, in the
 * caller's private mount namespace, on its upper dir, with its lock held so that it cannot
 * start meanwhile.
 */
#include "container/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "layer/layer.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* The container's root, opened. */
struct container_root {
	int fd;
	int lock;     /* held while a stopped container is mounted here */
	char *merged; /* where it is mounted, or NULL */
};

static void root_close(struct container_root *r)
{
	if (r->merged) {
		struct st_error *err = NULL;
		if (st_snapshot_umount(r->merged, &err) < 0)
			st_error_free(err);
		free(r->merged);
	}
	if (r->fd >= 0)
		close(r->fd);
	if (r->lock >= 0)
		close(r->lock);
}

/* 'path' below the root 'fd', resolved as if 'fd' were "/". */
static int open_in(int fd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	return (int)syscall(SYS_openat2, fd, *path ? path : ".", &how, sizeof(how));
}

/*
 * The container's binds and volumes over its mounted root, as it sees them when it runs, so
 * that a copy to a volume's path lands in the volume. Their mount points are opened inside the
 * root, and mounted on through their descriptors. The mounts go with the caller's namespace.
 */
static int mount_volumes(const struct st_container *c, int root, struct st_error **err)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(c->rec, "Mounts"), i, m)
	{
		const char *type = json_string_value(json_object_get(m, "Type"));
		const char *src = json_string_value(json_object_get(m, "Source"));
		const char *dst = json_string_value(json_object_get(m, "Destination"));
		if (!type || !strcmp(type, "tmpfs") || !src || !dst || !st_path_exists(src))
			continue;
		st_autoclose int fd = open_in(root, dst, O_PATH);
		if (fd < 0)
			return st_err_errno(err, "open the mount point '%s'", dst);
		st_autofree char *at = st_xasprintf("/proc/self/fd/%d", fd);
		if (mount(src, at, NULL, MS_BIND | MS_REC, NULL) < 0)
			return st_err_errno(err, "mount '%s' on '%s'", src, dst);
		if (!json_is_false(json_object_get(m, "RW")))
			continue;
		/* Opened again: 'fd' is the directory below the new mount, not its root. */
		st_autoclose int top = open_in(root, dst, O_PATH);
		st_autofree char *top_at = st_xasprintf("/proc/self/fd/%d", top);
		if (top < 0 ||
		    mount(NULL, top_at, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
			return st_err_errno(err, "make '%s' read-only", dst);
	}
	return 0;
}

static int mount_stopped(const struct st_container *c, struct container_root *r,
			 struct st_error **err)
{
	size_t nl = 0;
	char **lowers = container_lowers(c, &nl);
	st_autofree char *upper = container_path(c, "upper");
	st_autofree char *work = container_path(c, "work");
	st_autofree char *merged = container_path(c, "merged");
	int rc = st_snapshot_mount((const char *const *)lowers, nl, upper, work, merged, err);
	st_strv_free(lowers, nl);
	if (rc < 0)
		return -1;
	r->merged = st_steal(&merged);
	r->fd = open(r->merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0)
		return st_err_errno(err, "open '%s'", r->merged);
	return mount_volumes(c, r->fd, err);
}

static int root_open(struct st_store *s, const struct st_container *c, struct container_root *r,
		     struct st_error **err)
{
	r->fd = -1;
	r->merged = NULL;
	r->lock = container_lock_open(c, err);
	if (r->lock < 0)
		return -1;
	/* A reader holds the lock shared for an instant (st_container_state()): try again
	 * until it is ours or the container is seen running. */
	for (int i = 0; i < 50; i++) {
		if (flock(r->lock, LOCK_EX | LOCK_NB) == 0)
			return mount_stopped(c, r, err);
		struct st_container_state st;
		if (st_container_state(s, c, &st, err) < 0)
			return -1;
		int pid = st.status == ST_CONTAINER_RUNNING ? st.pid : 0;
		st_container_state_release(&st);
		if (pid > 0) {
			close(r->lock);
			r->lock = -1;
			st_autofree char *proc = st_xasprintf("/proc/%d/root", pid);
			r->fd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (r->fd < 0)
				return st_err_errno(err, "open the root of container %s",
						    st_container_name(c));
			return 0;
		}
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return st_err(err, ST_E_BUSY, "container %s is being started or stopped",
		      st_container_name(c));
}

/* A path split as Docker splits it: its directory, its last component ("" for "/"), and
 * whether it ends in "/" or "/." (the directory's contents). */
struct cp_path {
	char *dir, *base;
	bool slash, dot;
};

static void split(const char *p, struct cp_path *out)
{
	size_t len = strlen(p);
	out->dot = len >= 2 && !strcmp(p + len - 2, "/.");
	if (out->dot || (len == 1 && *p == '.'))
		len -= len == 1 ? 1 : 2;
	out->slash = out->dot || (len && p[len - 1] == '/');
	while (len > 1 && p[len - 1] == '/')
		len--;
	st_autofree char *t = st_xstrndup(p, len);
	char *sl = strrchr(t, '/');
	if (!sl) {
		out->dir = st_xstrdup(".");
		out->base = st_xstrdup(t);
	} else {
		out->base = st_xstrdup(sl + 1);
		out->dir = sl == t ? st_xstrdup("/") : st_xstrndup(t, (size_t)(sl - t));
	}
}

static void cp_path_release(struct cp_path *p)
{
	free(p->dir);
	free(p->base);
}

/*
 * Where a copy of a source (a directory or not) goes, by Docker's rules for DEST: into an
 * existing directory under the source's name (its contents for SRC/.); else as DEST itself,
 * which a file overwrites and a directory is created as. *dir is the directory to extract into
 * and *name the top entry's name there ("" for a directory's contents).
 */
static int plan(const struct cp_path *src, bool src_dir, const char *dest, bool exists,
		bool dest_dir, char **dir, char **name, struct st_error **err)
{
	struct cp_path d;
	split(dest, &d);
	int rc = 0;
	if (exists && dest_dir) {
		*dir = st_xstrdup(dest);
		*name = st_xstrdup(src->dot ? "" : src->base);
	} else if (exists && src_dir) {
		rc = st_err(err, ST_E_INVALID, "cannot copy a directory to a file: '%s'", dest);
	} else if (!exists && d.slash && !src_dir) {
		rc = st_err(err, ST_E_NOTFOUND,
			    "destination directory '%s' must exist: no such directory", dest);
	} else {
		*dir = st_xstrdup(d.dir);
		*name = st_xstrdup(d.base);
	}
	cp_path_release(&d);
	return rc;
}

/* The source at 'path' (a host path) as tar entries named 'name' ("": a directory's contents
 * only) to 'fd'. */
static int write_tar(int fd, const char *path, bool is_dir, const char *name, struct st_error **err)
{
	struct st_layer_writer_opts lo = { .compression = ST_LAYER_COMP_NONE };
	st_auto(st_layer_writer) struct st_layer_writer *w =
	    st_layer_writer_new(&lo, st_layer_sink_fd(&fd), err);
	if (!w)
		return -1;
	int rc = is_dir ? st_layer_writer_add_tree(w, path, *name ? name : NULL, 0, err)
			: st_layer_writer_add_path(w, path, name, NULL, err);
	struct st_layer_result res;
	if (rc == 0)
		rc = st_layer_writer_finish(w, &res, err);
	return rc;
}

static int extract(int fd, const char *root, unsigned flags, struct st_error **err)
{
	struct st_layer_extract_opts xo = {
		.mode = ST_LAYER_EXTRACT_APPLY,
		/* Docker: without -a, what is copied belongs to whoever copies it. */
		.flags = flags & ST_CONTAINER_CP_ARCHIVE ? 0 : ST_LAYER_EXTRACT_NO_CHOWN,
	};
	return st_layer_extract(st_layer_source_fd(&fd), root, &xo, NULL, err);
}

static int tmp_open(struct st_store *s, struct st_error **err)
{
	const char *tmp = st_store_tmp_dir(s);
	int fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return st_err_errno(err, "create a temporary file in '%s'", tmp);
	return fd;
}

/*
 * The source 'src' in the container: *path is a host path to it that goes through
 * descriptors opened in the container's root (*keep holds them), *is_dir what it is. The last
 * component is not followed (Docker copies a symlink as one) unless SRC ends in "/".
 */
static int not_found(const struct st_container *c, const char *given, struct st_error **err)
{
	if (errno == ENOENT || errno == ENOTDIR)
		return st_err(err, ST_E_NOTFOUND, "Could not find the file %s in container %s",
			      given, st_container_name(c));
	return st_err_errno(err, "open '%s' in container %s", given, st_container_name(c));
}

static int open_source(const struct st_container *c, int root, const struct cp_path *src,
		       const char *given, char **path, bool *is_dir, int *keep,
		       struct st_error **err)
{
	int parent = open_in(root, src->dir, O_PATH | O_DIRECTORY);
	if (parent < 0)
		return not_found(c, given, err);
	keep[0] = parent;
	struct stat st;
	const char *base = *src->base ? src->base : ".";
	if (fstatat(parent, base, &st, src->slash ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		return not_found(c, given, err);
	*is_dir = S_ISDIR(st.st_mode);
	if (src->slash && !*is_dir)
		return st_err(err, ST_E_INVALID, "%s: not a directory", given);
	if (!*is_dir) {
		*path = st_xasprintf("/proc/self/fd/%d/%s", parent, base);
		return 0;
	}
	/* A directory is held open itself, so what add_tree() walks is that directory. */
	st_autofree char *rel = st_path_join(src->dir, base);
	keep[1] = open_in(root, rel, O_RDONLY | O_DIRECTORY);
	if (keep[1] < 0)
		return st_err_errno(err, "open '%s' in the container", given);
	*path = st_xasprintf("/proc/self/fd/%d/.", keep[1]);
	return 0;
}

int st_container_cp_from(struct st_store *s, const struct st_container *c, const char *src,
			 const char *dest, int fd, unsigned flags, struct st_error **err)
{
	struct container_root root;
	if (root_open(s, c, &root, err) < 0) {
		root_close(&root);
		return -1;
	}
	struct cp_path sp;
	split(src, &sp);
	int keep[2] = { -1, -1 };
	st_autofree char *path = NULL, *dir = NULL, *name = NULL;
	bool is_dir = false;
	int rc = open_source(c, root.fd, &sp, src, &path, &is_dir, keep, err);
	if (rc == 0 && !dest) {
		const char *top = sp.dot || !*sp.base ? "" : sp.base;
		rc = write_tar(fd, path, is_dir, top, err);
	} else if (rc == 0) {
		struct stat st;
		bool exists = stat(dest, &st) == 0;
		rc = plan(&sp, is_dir, dest, exists, exists && S_ISDIR(st.st_mode), &dir, &name,
			  err);
		st_autoclose int tmp = rc == 0 ? tmp_open(s, err) : -1;
		if (rc == 0 && tmp < 0)
			rc = -1;
		if (rc == 0)
			rc = write_tar(tmp, path, is_dir, name, err);
		if (rc == 0 && lseek(tmp, 0, SEEK_SET) < 0)
			rc = st_err_errno(err, "seek");
		if (rc == 0)
			rc = extract(tmp, dir, flags, err);
	}
	for (int i = 0; i < 2; i++)
		if (keep[i] >= 0)
			close(keep[i]);
	cp_path_release(&sp);
	root_close(&root);
	return rc;
}

int st_container_cp_to(struct st_store *s, const struct st_container *c, const char *src, int fd,
		       const char *dest, unsigned flags, struct st_error **err)
{
	struct container_root root;
	if (root_open(s, c, &root, err) < 0) {
		root_close(&root);
		return -1;
	}
	st_autoclose int target = open_in(root.fd, dest, O_PATH);
	struct stat dst;
	bool exists = target >= 0 && fstat(target, &dst) == 0;
	bool dest_dir = exists && S_ISDIR(dst.st_mode);
	st_autofree char *dir = NULL, *name = NULL;
	int rc = 0;
	st_autoclose int tmp = -1;
	if (!src) {
		/* A tar stream is unpacked into DEST itself, which must be a directory. */
		if (!dest_dir)
			rc = st_err(err, ST_E_INVALID, "destination \"%s\" must be a directory",
				    dest);
		dir = st_xstrdup(dest);
	} else {
		struct cp_path sp;
		split(src, &sp);
		struct stat st;
		if ((sp.slash ? stat(src, &st) : lstat(src, &st)) < 0)
			rc = st_err_errno(err, "stat '%s'", src);
		else if (sp.slash && !S_ISDIR(st.st_mode))
			rc = st_err(err, ST_E_INVALID, "%s: not a directory", src);
		bool is_dir = rc == 0 && S_ISDIR(st.st_mode);
		if (rc == 0)
			rc = plan(&sp, is_dir, dest, exists, dest_dir, &dir, &name, err);
		if (rc == 0 && (tmp = tmp_open(s, err)) < 0)
			rc = -1;
		if (rc == 0)
			rc = write_tar(tmp, src, is_dir, name, err);
		if (rc == 0 && lseek(tmp, 0, SEEK_SET) < 0)
			rc = st_err_errno(err, "seek");
		cp_path_release(&sp);
	}
	st_autoclose int dirfd = rc == 0 ? open_in(root.fd, dir, O_PATH | O_DIRECTORY) : -1;
	if (rc == 0 && dirfd < 0)
		rc = not_found(c, dir, err);
	if (rc == 0) {
		st_autofree char *at = st_xasprintf("/proc/self/fd/%d", dirfd);
		rc = extract(src ? tmp : fd, at, flags, err);
	}
	root_close(&root);
	return rc;
}
