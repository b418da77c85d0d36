/* placeholders.c: the mount points a runtime creates in the rootfs, found before and removed after.
 */
#include "runtime/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/banned.h"

/*
 * With RESOLVE_IN_ROOT an absolute symlink or a ".." lands inside root, so an image cannot
 * make us touch the host's files. Kernels without openat2 (before 5.6) get O_NOFOLLOW on
 * every component instead: a path through a symlink then reads as missing (ENOENT).
 */
int st_runtime_open_in_root(int root, const char *rel, int flags)
{
	while (*rel == '/')
		rel++;
	if (!*rel)
		rel = ".";
	struct open_how how = { .flags = (unsigned)flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	int fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
	if (fd >= 0 || errno != ENOSYS)
		return fd;

	st_autofree char *path = st_xstrdup(rel);
	int dir = dup(root);
	if (dir < 0)
		return -1;
	char *save = NULL;
	for (char *c = strtok_r(path, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		bool last = !save || !*save;
		if (!strcmp(c, ".."))
			c = "."; /* ".." at the root stays at the root; elsewhere this is stricter
				  */
		int next =
		    openat(dir, c, (last ? flags : O_PATH | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(dir);
		if (next < 0) {
			errno = e == ELOOP ? ENOENT : e;
			return -1;
		}
		dir = next;
	}
	return dir;
}

static void placeholders_add(struct st_runtime_placeholders *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->paths[i], path))
			return;
	s->paths = st_xrealloc(s->paths, (s->n + 1) * sizeof(*s->paths));
	s->paths[s->n++] = st_xstrdup(path);
}

/* Record the first missing component of 'dest' (the runtime creates it and all below). */
static int find_missing(int root, const char *dest, struct st_runtime_placeholders *s,
			struct st_error **err)
{
	st_autofree char *p = st_xstrdup(dest);
	size_t len = strlen(p);
	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		char saved = p[i];
		p[i] = '\0';
		int fd = st_runtime_open_in_root(root, p, O_PATH | O_NOFOLLOW);
		if (fd >= 0) {
			close(fd);
		} else if (errno == ENOENT) {
			placeholders_add(s, p);
			return 0;
		} else if (errno != ENOTDIR && errno != ELOOP) {
			return st_err_errno(err, "look up '%s' in the rootfs", p);
		}
		p[i] = saved;
	}
	return 0;
}

int st_runtime_placeholders_find(const struct st_runtime_spec *spec,
				 struct st_runtime_placeholders *placeholders,
				 struct st_error **err)
{
	*placeholders = (struct st_runtime_placeholders){ 0 };
	if (!spec->rootfs)
		return st_err(err, ST_E_INVALID, "no rootfs");
	st_autoclose int root = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return st_err_errno(err, "open rootfs '%s'", spec->rootfs);
	/* The standard mounts that sit directly on the rootfs (the others are inside /dev and
	 * /sys, which are new filesystems). */
	const char *standard[] = { "/proc", "/dev", "/sys" };
	for (size_t i = 0; i < sizeof(standard) / sizeof(*standard); i++)
		if (find_missing(root, standard[i], placeholders, err) < 0)
			goto fail;
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (spec->mounts[i].destination &&
		    find_missing(root, spec->mounts[i].destination, placeholders, err) < 0)
			goto fail;
	return 0;
fail:
	st_runtime_placeholders_release(placeholders);
	return -1;
}

/* Remove 'name' if it is an empty file, or a dir holding only such things. Returns whether
 * it is gone; -1 on an error. */
static int remove_if_empty(int parent, const char *name)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 1 : -1;
	if (S_ISREG(st.st_mode)) {
		if (st.st_size != 0)
			return 0;
		return unlinkat(parent, name, 0) == 0 ? 1 : -1;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int all_gone = 1;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		int r = remove_if_empty(dirfd(d), de->d_name);
		if (r < 0) {
			closedir(d);
			return -1;
		}
		if (r == 0)
			all_gone = 0;
	}
	closedir(d);
	if (!all_gone)
		return 0;
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0)
		return errno == ENOTEMPTY ? 0 : -1;
	return 1;
}

int st_runtime_placeholders_remove(const char *rootfs,
				   const struct st_runtime_placeholders *placeholders,
				   struct st_error **err)
{
	if (placeholders->n == 0)
		return 0;
	st_autoclose int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return st_err_errno(err, "open rootfs '%s'", rootfs);
	for (size_t i = 0; i < placeholders->n; i++) {
		const char *p = placeholders->paths[i];
		const char *slash = strrchr(p, '/');
		st_autofree char *dir = st_xstrndup(p, (size_t)(slash - p));
		st_autoclose int parent = st_runtime_open_in_root(root, dir, O_PATH | O_DIRECTORY);
		if (parent < 0) {
			if (errno == ENOENT)
				continue;
			return st_err_errno(err, "open '%s' in the rootfs", dir[0] ? dir : "/");
		}
		if (remove_if_empty(parent, slash + 1) < 0)
			return st_err_errno(err, "remove mount point '%s' from the rootfs", p);
	}
	return 0;
}

void st_runtime_placeholders_release(struct st_runtime_placeholders *placeholders)
{
	for (size_t i = 0; i < placeholders->n; i++)
		free(placeholders->paths[i]);
	free(placeholders->paths);
	*placeholders = (struct st_runtime_placeholders){ 0 };
}

void st_runtime_placeholders_releasep(struct st_runtime_placeholders *placeholders)
{
	st_runtime_placeholders_release(placeholders);
}
