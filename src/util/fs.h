/* fs.h: files that appear whole (temp file + fsync + rename), and small fs helpers. */
#ifndef ST_UTIL_FS_H
#define ST_UTIL_FS_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/strv.h" /* st_dir_names() hands out a vector */

/*
 * A file written under a temporary name in 'dir' and renamed into place by
 * st_tmpfile_commit() after fsync of the file and of the target's directory (git's lockfile).
 * Until committed, releasing it (st_tmpfile_release, or the st_auto cleanup) unlinks it.
 */
struct st_tmpfile {
	int fd;	    /* -1 when not open */
	char *path; /* the temporary path, NULL once committed or released */
};

#define ST_TMPFILE_INIT                                                                            \
	{                                                                                          \
		.fd = -1, .path = NULL                                                             \
	}

/* Create a new temp file in 'dir' (created if missing) with 'mode'. */
int st_tmpfile_open(struct st_tmpfile *t, const char *dir, mode_t mode, struct st_error **err);
/*
 * Create the temp file of 'path' beside it (its dir is created if missing), named after it
 * (".<name>.tmp-XXXXXX"), so that one left by a killed process says what it was.
 */
int st_tmpfile_open_beside(struct st_tmpfile *t, const char *path, mode_t mode,
			   struct st_error **err);
/* Like st_tmpfile_open(), named after 'pattern' (which ends in "XXXXXX"). */
int st_tmpfile_open_named(struct st_tmpfile *t, const char *dir, const char *pattern, mode_t mode,
			  struct st_error **err);
/* fsync, close, rename to 'path', fsync the directory of 'path'. */
int st_tmpfile_commit(struct st_tmpfile *t, const char *path, struct st_error **err);
/* Close and unlink if not committed. Safe to call twice. */
void st_tmpfile_release(struct st_tmpfile *t);
void st_tmpfile_releasep(struct st_tmpfile *t);
#define st_auto_tmpfile __attribute__((cleanup(st_tmpfile_releasep)))

/* Write all of 'n' bytes, retrying on EINTR and short writes. */
int st_write_all(int fd, const void *p, size_t n, struct st_error **err);
/* Read a whole file into 'out' (appended). */
int st_read_file(const char *path, struct st_buf *out, struct st_error **err);
/* Write a whole file atomically: temp file in 'tmpdir' (or the target's dir if NULL), then rename.
 */
int st_write_file_atomic(const char *path, const char *tmpdir, const void *p, size_t n, mode_t mode,
			 struct st_error **err);
/* mkdir -p with 'mode' for the directories it creates. */
int st_mkdir_p(const char *path, mode_t mode, struct st_error **err);
/* rm -rf; a missing path is not an error. Does not follow symlinks or cross mounts. */
int st_rm_rf(const char *path, struct st_error **err);
/*
 * Unmount (detaching) every mount of this mount namespace at or below 'path', the deepest
 * first: what a killed process left there, before st_rm_rf(). *n (may be NULL) counts them.
 */
int st_umount_below(const char *path, size_t *n, struct st_error **err);
/* fsync a directory by path. */
int st_fsync_dir(const char *path, struct st_error **err);
bool st_path_exists(const char *path);
/*
 * The entries of the open directory 'd' except "." and "..", sorted bytewise (so walks and
 * layers come out the same on every filesystem). *names is a new vector of *n new strings:
 * st_strv_free(). 'what' names the directory in errors. 'd' stays open.
 */
int st_dir_names(DIR *d, const char *what, char ***names, size_t *n, struct st_error **err);
/*
 * Normalise a path relative to a root into 'out' (reset first): no leading '/', no '.' or empty
 * components, no trailing '/'; "" is the root itself. Returns false if a '..' component is
 * present (kept in 'out', so callers can name it).
 */
bool st_path_normalize(const char *in, struct st_buf *out);
/* New: "a/b" joined with one '/' between. */
char *st_path_join(const char *a, const char *b);

/* What st_fs_walk() found: a directory (seen before what it holds), a file, anything else. */
enum st_walk_kind { ST_WALK_DIR, ST_WALK_FILE, ST_WALK_OTHER };
/*
 * Every entry below 'root' (not root itself), without following symlinks, each directory's
 * entries in bytewise order of their names: fn(ctx, path, rel, kind, err) with 'path' as
 * opened and 'rel' relative to root. Stops at the first error, of the walk or of fn (< 0).
 */
int st_fs_walk(const char *root,
	       int (*fn)(void *ctx, const char *path, const char *rel, enum st_walk_kind kind,
			 struct st_error **err),
	       void *ctx, struct st_error **err);

/*
 * The union of overlay lowerdirs, top first, as overlayfs shows it: an upper layer hides what
 * lower ones have at the same path, a 0/0 character device (whiteout) deletes a path, a
 * directory with trusted.overlay.opaque="y" hides what lower layers have below it.
 */
enum st_union_flags {
	/* Follow a symlink in the last component too (symlinks among the parents always are). */
	ST_UNION_FOLLOW = 1 << 0,
};

struct st_union_entry {
	char *path; /* new: the path in the union with its links resolved; a missing tail as written
		     */
	char *host; /* new, or NULL if missing: the entry in the layer that provides it */
	struct stat st; /* lstat of 'host' */
};

/*
 * Look the absolute 'path' up in the union of 'layers' (n of them, top first). Symlinks,
 * absolute or relative, resolve inside the union as if it were '/' ('..' stops at its root),
 * never on the host, as openat2(RESOLVE_IN_ROOT) does on a mounted overlay. *out is filled
 * (st_union_entry_release()): 1 if the path exists, 0 if not, in which case out->path is where
 * creating it would put it (missing directories through a dangling link included).
 * ST_E_INVALID for a loop of links or a non-directory in the middle of the path.
 */
int st_union_lookup(char *const *layers, size_t n, const char *path, enum st_union_flags flags,
		    struct st_union_entry *out, struct st_error **err);
void st_union_entry_release(struct st_union_entry *e);

#endif
