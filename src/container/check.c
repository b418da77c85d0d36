/*
 * check.c: `system check` of the containers' records, and the removal of what a create or an
 * rm killed half-way left behind.
 *
 * A create makes containers/<id>/ and holds its lock until the record, written last, is there;
 * an rm renames the directory to ".removing-<id>" before deleting it. So a directory without
 * a record whose lock nobody holds is a create that died, a ".removing-" directory is an rm
 * that died, and a name whose container has no record names nothing: none is a container, and
 * all can go. The one moment a create has made its directory and not yet its lock file is
 * covered by CREATE_GRACE.
 */
#include "container/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* How old a directory without a lock file must be to be a dead create's (seconds). */
#define CREATE_GRACE 600

static void add_problem(struct st_container_check_report *r, char *msg)
{
	r->problems = st_xrealloc(r->problems, (r->n_problems + 1) * sizeof(*r->problems));
	r->problems[r->n_problems++] = msg;
}

/* Whether containers/<name>/ is what a create killed half-way left: no record, no holder. */
static bool half_made(const char *dir)
{
	st_autofree char *rec = st_path_join(dir, "config.json");
	if (st_path_exists(rec))
		return false;
	st_autofree char *lock = st_path_join(dir, "lock");
	st_autoclose int fd = open(lock, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		struct stat sb;
		return stat(dir, &sb) == 0 && time(NULL) - sb.st_mtime > CREATE_GRACE;
	}
	return flock(fd, LOCK_EX | LOCK_NB) == 0;
}

/* Remove a leftover directory: its overlay mount first, if a supervisor died with it. */
static int remove_leftover(const char *dir, struct st_error **err)
{
	st_autofree char *merged = st_path_join(dir, "merged");
	if (st_snapshot_umount(merged, err) < 0)
		return -1;
	return st_rm_rf(dir, err);
}

/* The record's problems: an image that is not in the store, a layer dir that is gone. */
static int check_record(struct st_store *s, const struct st_container *c,
			struct st_container_check_report *r, struct st_error **err)
{
	const char *image = st_container_image_id(c);
	st_auto(st_store_image) struct st_store_image *img = NULL;
	struct st_error *gerr = NULL;
	if (!image || st_store_image_get(s, image, &img, &gerr) < 0) {
		bool missing = !gerr || gerr->kind == ST_E_NOTFOUND;
		if (!missing) {
			*err = gerr;
			return -1;
		}
		st_error_free(gerr);
		add_problem(r,
			    st_xasprintf("container %s (%.12s): its image %s is not in the store",
					 st_container_name(c), st_container_id(c),
					 image ? image : "(none)"));
		return 0;
	}
	size_t n = 0;
	char **lowers = container_lowers(c, &n);
	/* The first is the container's own init layer, the rest the image's unpacked layers,
	 * which gc keeps while the image is there. */
	for (size_t i = 0; i < n; i++)
		if (!st_path_exists(lowers[i]))
			add_problem(r, st_xasprintf("container %s (%.12s): layer '%s' is missing",
						    st_container_name(c), st_container_id(c),
						    lowers[i]));
	st_strv_free(lowers, n);
	return 0;
}

static bool is_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == 64 && !s[n];
}

static int check_dir(struct st_store *s, const char *base, const char *name, unsigned flags,
		     struct st_container_check_report *r, struct st_error **err)
{
	st_autofree char *dir = st_path_join(base, name);
	bool removing = !strncmp(name, ".removing-", 10);
	if (!removing && !is_id(name))
		return 0;
	if (removing || half_made(dir)) {
		if (!(flags & ST_CONTAINER_CHECK_REPAIR)) {
			add_problem(r, st_xasprintf("containers/%s: left by %s killed half-way: "
						    "system check --repair removes it",
						    name, removing ? "an rm" : "a create"));
			return 0;
		}
		if (remove_leftover(dir, err) < 0)
			return -1;
		r->removed++;
		return 0;
	}
	st_auto(st_container) struct st_container *c = NULL;
	struct st_error *ferr = NULL;
	if (st_container_find(s, name, &c, &ferr) < 0) {
		if (ferr->kind == ST_E_NOTFOUND) {
			st_error_free(ferr); /* created or removed meanwhile */
			return 0;
		}
		add_problem(r, st_xasprintf("containers/%s: %s", name, ferr->msg));
		st_error_free(ferr);
		return 0;
	}
	return check_record(s, c, r, err);
}

/* names/<name> links whose container has no record (and is not being created). */
static int check_names(const char *base, unsigned flags, struct st_container_check_report *r,
		       struct st_error **err)
{
	st_autofree char *names = st_path_join(base, "names");
	DIR *d = opendir(names);
	if (!d)
		return errno == ENOENT ? 0 : st_err_errno(err, "open '%s'", names);
	char **v = NULL;
	size_t n = 0;
	int rc = st_dir_names(d, names, &v, &n, err);
	closedir(d);
	for (size_t i = 0; i < n && rc == 0; i++) {
		st_autofree char *link = st_path_join(names, v[i]);
		char target[128];
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		st_autofree char *dir = st_path_join(base, target);
		if (strchr(target, '/') || (st_path_exists(dir) && !half_made(dir)))
			continue;
		if (!(flags & ST_CONTAINER_CHECK_REPAIR)) {
			add_problem(r,
				    st_xasprintf("containers/names/%s: names no container (%.12s): "
						 "system check --repair removes it",
						 v[i], target));
			continue;
		}
		if (unlink(link) < 0 && errno != ENOENT)
			rc = st_err_errno(err, "remove '%s'", link);
		else
			r->removed++;
	}
	st_strv_free(v, n);
	return rc;
}

int st_container_check(struct st_store *s, unsigned flags, struct st_container_check_report *r,
		       struct st_error **err)
{
	memset(r, 0, sizeof(*r));
	st_autofree char *base = container_base(s);
	DIR *d = opendir(base);
	if (!d)
		return errno == ENOENT ? 0 : st_err_errno(err, "open '%s'", base);
	char **v = NULL;
	size_t n = 0;
	int rc = st_dir_names(d, base, &v, &n, err);
	closedir(d);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = check_dir(s, base, v[i], flags, r, err);
	st_strv_free(v, n);
	/* After the directories, so that a name whose half-made container just went goes too. */
	if (rc == 0)
		rc = check_names(base, flags, r, err);
	return rc;
}

void st_container_check_report_release(struct st_container_check_report *r)
{
	st_strv_free(r->problems, r->n_problems);
	memset(r, 0, sizeof(*r));
}
