#include "snapshot/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snapshot/internal.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/*
 * index=off: no inode index, so hard links in lowers are not tied to this upper.
 * metacopy=off: a chmod/chown copies the whole file up, so the upper holds whole files.
 * redirect_dir=off: renaming a lower dir fails with EXDEV and tools copy it instead, so
 * the upper never holds redirect xattrs that a tar diff could not express.
 */
static const char *const ovl_flags[][2] = {
	{ "index", "off" },
	{ "metacopy", "off" },
	{ "redirect_dir", "off" },
};

int st_snapshot_private_ns(struct st_error **err)
{
	if (unshare(CLONE_NEWNS) < 0) {
		if (errno == EPERM)
			return 0;
		return st_err_errno(err, "create a mount namespace");
	}
	/* Else the host's shared mounts would propagate our mounts back out. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return st_err_errno(err, "make the mounts of the new namespace private");
	return 0;
}

static int check_paths(const char *const *lowers, size_t n, const char *upper, const char *work,
		       const char *target, struct st_error **err)
{
	if (n == 0)
		return st_err(
		    err, ST_E_INVALID,
		    "overlay needs at least one lower dir (use an empty dir for scratch)");
	for (size_t i = 0; i < n; i++)
		if (!lowers[i] || lowers[i][0] != '/')
			return st_err(err, ST_E_INVALID, "lower dir '%s' is not an absolute path",
				      lowers[i] ? lowers[i] : "(null)");
	const char *abs[][2] = { { "upper", upper }, { "work", work }, { "target", target } };
	for (size_t i = 0; i < 3; i++)
		if (!abs[i][1] || abs[i][1][0] != '/')
			return st_err(err, ST_E_INVALID, "%s dir '%s' is not an absolute path",
				      abs[i][0], abs[i][1] ? abs[i][1] : "(null)");
	return 0;
}

/* The kernel's own words: the new API queues messages such as "e overlay: ..." on the fd. */
static void add_fs_log(int fsfd, struct st_buf *msg)
{
	char line[512];
	ssize_t r;
	while ((r = read(fsfd, line, sizeof(line) - 1)) > 0) {
		line[r] = '\0';
		if (line[r - 1] == '\n')
			line[r - 1] = '\0';
		st_buf_addf(msg, "%s%s", msg->len ? "; " : "",
			    line[0] && line[1] == ' ' ? line + 2 : line);
	}
}

static int fs_error(int fsfd, struct st_error **err, const char *fmt, const char *arg)
{
	int e = errno;
	struct st_buf why = ST_BUF_INIT;
	add_fs_log(fsfd, &why);
	errno = e;
	if (why.len)
		st_err_errno(err, "%s '%s' (%s)", fmt, arg, why.data);
	else
		st_err_errno(err, "%s '%s'", fmt, arg);
	st_buf_release(&why);
	return -1;
}

/*
 * Returns 1 when the kernel may lack what this method needs and 'fall_back' allows trying
 * mount(2) instead; else 0 or -1. Kernels before 6.5 take any parameter through the VFS's
 * legacy wrapper and only fail (EINVAL) when overlay parses the joined string at
 * FSCONFIG_CMD_CREATE, and 6.5 to 6.7 reject "lowerdir+" itself: so any EINVAL before the
 * mount is attached means "try mount(2)", which then reports a genuine error on its own.
 */
static int mount_newapi(bool fall_back, const char *const *lowers, size_t n, const char *upper,
			const char *work, const char *target, struct st_error **err)
{
	st_autoclose int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0) {
		if (fall_back && (errno == ENOSYS || errno == EPERM))
			return 1;
		return st_err_errno(err, "open an overlay filesystem context");
	}
#define FAIL(what, arg)                                                                            \
	do {                                                                                       \
		if (fall_back && errno == EINVAL)                                                  \
			return 1;                                                                  \
		return fs_error(fsfd, err, what, arg);                                             \
	} while (0)
	for (size_t i = 0; i < n; i++)
		if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0) < 0)
			FAIL("overlay lower dir", lowers[i]);
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0)
		FAIL("overlay upper dir", upper);
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0)
		FAIL("overlay work dir", work);
	for (size_t i = 0; i < sizeof(ovl_flags) / sizeof(*ovl_flags); i++)
		if (fsconfig(fsfd, FSCONFIG_SET_STRING, ovl_flags[i][0], ovl_flags[i][1], 0) < 0)
			FAIL("overlay option", ovl_flags[i][0]);
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		FAIL("create overlay for", target);
#undef FAIL
	st_autoclose int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
	if (mfd < 0)
		return fs_error(fsfd, err, "create overlay mount for", target);
	if (move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return st_err_errno(err, "mount overlay on '%s'", target);
	return 0;
}

/* The legacy option syntax splits on ':' and ',' and escapes with '\\'. */
static bool plain_path(const char *p)
{
	return !strpbrk(p, ":,\\");
}

static void add_flags(struct st_buf *o)
{
	for (size_t i = 0; i < sizeof(ovl_flags) / sizeof(*ovl_flags); i++)
		st_buf_addf(o, ",%s=%s", ovl_flags[i][0], ovl_flags[i][1]);
}

static int mount_direct(const char *opts, const char *target, struct st_error **err)
{
	if (mount("overlay", target, "overlay", 0, opts) < 0)
		return st_err_errno(err, "mount overlay on '%s'", target);
	return 0;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return st_xstrdup("/");
	return st_xstrndup(path, (size_t)(slash - path));
}

/*
 * mount(2) takes at most one page of options, which 100 lowers of store paths overflow.
 * So each dir gets a symlink with a short name ("0", "1", ..., "u", "w") in a temp dir next
 * to the target, and a child process chdirs there and mounts with those relative names: the
 * kernel resolves them (following the links) at mount time, after which the links can go.
 * A child, because the cwd belongs to the whole process and other threads may rely on it.
 */
static int mount_links(const char *const *lowers, size_t n, const char *upper, const char *work,
		       const char *target, struct st_error **err)
{
	st_autofree char *parent = dir_of(target);
	st_autofree char *links = st_xasprintf("%s/.ovl-XXXXXX", parent);
	if (!mkdtemp(links))
		return st_err_errno(err, "create a temp dir in '%s'", parent);

	int rc = -1;
	struct st_buf opts = ST_BUF_INIT;
	st_buf_adds(&opts, "lowerdir=");
	for (size_t i = 0; i < n; i++) {
		st_autofree char *link = st_xasprintf("%s/%zu", links, i);
		if (symlink(lowers[i], link) < 0) {
			st_err_errno(err, "symlink '%s'", link);
			goto out;
		}
		st_buf_addf(&opts, "%s%zu", i ? ":" : "", i);
	}
	const char *uw[][2] = { { "u", upper }, { "w", work } };
	for (size_t i = 0; i < 2; i++) {
		st_autofree char *link = st_xasprintf("%s/%s", links, uw[i][0]);
		if (symlink(uw[i][1], link) < 0) {
			st_err_errno(err, "symlink '%s'", link);
			goto out;
		}
	}
	st_buf_adds(&opts, ",upperdir=u,workdir=w");
	add_flags(&opts);
	if (opts.len >= (size_t)sysconf(_SC_PAGESIZE)) {
		st_err(err, ST_E_INVALID, "too many overlay lower dirs (%zu)", n);
		goto out;
	}

	pid_t pid = fork();
	if (pid < 0) {
		st_err_errno(err, "fork");
		goto out;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls here: the parent may have other threads. */
		if (chdir(links) < 0)
			_exit(errno & 0xff);
		if (mount("overlay", target, "overlay", 0, opts.data) < 0)
			_exit(errno & 0xff);
		_exit(0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			st_err_errno(err, "wait for the mount process");
			goto out;
		}
	}
	if (!WIFEXITED(status)) {
		st_err(err, ST_E_IO, "mount overlay on '%s': mount process killed by signal %d",
		       target, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		goto out;
	}
	if (WEXITSTATUS(status) != 0) {
		errno = WEXITSTATUS(status);
		st_err_errno(err, "mount overlay on '%s'", target);
		goto out;
	}
	rc = 0;
out:
	st_buf_release(&opts);
	/* The mount no longer needs the links; a leftover dir goes with the step dir. */
	st_rm_rf(links, NULL);
	return rc;
}

static int mount_legacy(bool force_links, const char *const *lowers, size_t n, const char *upper,
			const char *work, const char *target, struct st_error **err)
{
	bool plain = plain_path(upper) && plain_path(work);
	struct st_buf opts = ST_BUF_INIT;
	st_buf_adds(&opts, "lowerdir=");
	for (size_t i = 0; i < n; i++) {
		plain = plain && plain_path(lowers[i]);
		st_buf_addf(&opts, "%s%s", i ? ":" : "", lowers[i]);
	}
	st_buf_addf(&opts, ",upperdir=%s,workdir=%s", upper, work);
	add_flags(&opts);
	int rc;
	if (!force_links && plain && opts.len < (size_t)sysconf(_SC_PAGESIZE))
		rc = mount_direct(opts.data, target, err);
	else
		rc = mount_links(lowers, n, upper, work, target, err);
	st_buf_release(&opts);
	return rc;
}

int st_snapshot_mount_with(enum st_snapshot_method method, const char *const *lowers, size_t n,
			   const char *upper, const char *work, const char *target,
			   struct st_error **err)
{
	if (check_paths(lowers, n, upper, work, target, err) < 0)
		return -1;
	if (method == ST_SNAPSHOT_AUTO || method == ST_SNAPSHOT_NEWAPI) {
		int r =
		    mount_newapi(method == ST_SNAPSHOT_AUTO, lowers, n, upper, work, target, err);
		if (r <= 0)
			return r;
	}
	return mount_legacy(method == ST_SNAPSHOT_LINKS, lowers, n, upper, work, target, err);
}

int st_snapshot_mount(const char *const *lowers, size_t n, const char *upper, const char *work,
		      const char *target, struct st_error **err)
{
	return st_snapshot_mount_with(ST_SNAPSHOT_AUTO, lowers, n, upper, work, target, err);
}

bool st_snapshot_is_mounted(const char *path)
{
	struct statx stx;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
		return false;
	if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
		return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
	/* Kernels before 5.8: a mount root sits on another device than its parent. */
	struct stat self, up;
	st_autofree char *dotdot = st_path_join(path, "..");
	if (lstat(path, &self) < 0 || stat(dotdot, &up) < 0)
		return false;
	return self.st_dev != up.st_dev || self.st_ino == up.st_ino;
}

int st_snapshot_umount(const char *target, struct st_error **err)
{
	if (umount2(target, UMOUNT_NOFOLLOW) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOENT) {
		if (!st_snapshot_is_mounted(target))
			return 0;
		return st_err_errno(err, "unmount '%s'", target);
	}
	if (errno != EBUSY)
		return st_err_errno(err, "unmount '%s'", target);
	/* Something still uses it (a process, a nested mount): detach now, free later. */
	if (umount2(target, UMOUNT_NOFOLLOW | MNT_DETACH) < 0)
		return st_err_errno(err, "unmount '%s' (detach)", target);
	return 0;
}

static bool valid_id(const char *id)
{
	return id && *id && !strchr(id, '/') && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

/* mkdir, then chmod: the mode must not depend on the umask (upper's mode is the rootfs's). */
static int make_dir(const char *path, mode_t mode, struct st_error **err)
{
	if (mkdir(path, mode) < 0)
		return st_err_errno(err, "mkdir '%s'", path);
	if (chmod(path, mode) < 0)
		return st_err_errno(err, "chmod '%s'", path);
	return 0;
}

int st_snapshot_step_create(const char *base, const char *id, struct st_snapshot_step *step,
			    struct st_error **err)
{
	*step = (struct st_snapshot_step)ST_SNAPSHOT_STEP_INIT;
	if (!valid_id(id))
		return st_err(err, ST_E_INVALID, "invalid step id '%s'", id ? id : "(null)");
	if (st_mkdir_p(base, 0700, err) < 0)
		return -1;
	step->dir = st_path_join(base, id);
	if (mkdir(step->dir, 0700) < 0) {
		int e = errno;
		st_err_errno(err, "mkdir '%s'", step->dir);
		if (e == EEXIST)
			(*err)->kind = ST_E_EXISTS;
		st_snapshot_step_release(step);
		return -1;
	}
	step->upper = st_path_join(step->dir, "upper");
	step->work = st_path_join(step->dir, "work");
	step->merged = st_path_join(step->dir, "merged");
	step->bundle = st_path_join(step->dir, "bundle");
	step->empty = st_path_join(step->dir, "empty");
	if (make_dir(step->upper, 0755, err) < 0 || make_dir(step->work, 0700, err) < 0 ||
	    make_dir(step->merged, 0755, err) < 0 || make_dir(step->bundle, 0700, err) < 0 ||
	    make_dir(step->empty, 0755, err) < 0) {
		st_rm_rf(step->dir, NULL);
		st_snapshot_step_release(step);
		return -1;
	}
	return 0;
}

int st_snapshot_step_mount(const struct st_snapshot_step *step, const char *const *lowers, size_t n,
			   struct st_error **err)
{
	const char *scratch[] = { step->empty };
	if (n == 0) {
		lowers = scratch;
		n = 1;
	}
	return st_snapshot_mount(lowers, n, step->upper, step->work, step->merged, err);
}

int st_snapshot_step_mount_bundle(const struct st_snapshot_step *step, struct st_error **err)
{
	if (mount("tmpfs", step->bundle, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") <
	    0)
		return st_err_errno(err, "mount a tmpfs on '%s'", step->bundle);
	return 0;
}

int st_snapshot_step_umount(const struct st_snapshot_step *step, struct st_error **err)
{
	const char *targets[] = { step->merged, step->bundle };
	for (size_t i = 0; i < 2; i++)
		if (st_snapshot_is_mounted(targets[i]) && st_snapshot_umount(targets[i], err) < 0)
			return -1;
	return 0;
}

int st_snapshot_step_remove(const struct st_snapshot_step *step, struct st_error **err)
{
	if (!step->dir || !st_path_exists(step->dir))
		return 0;
	if (st_snapshot_step_umount(step, err) < 0)
		return st_err_wrap(err, "remove step dir '%s'", step->dir);
	/* st_rm_rf stops at mount points (ST_E_BUSY), so a mount that survived is never emptied. */
	if (st_rm_rf(step->dir, err) < 0)
		return st_err_wrap(err, "remove step dir '%s'", step->dir);
	return 0;
}

void st_snapshot_step_release(struct st_snapshot_step *step)
{
	free(step->dir);
	free(step->upper);
	free(step->work);
	free(step->merged);
	free(step->bundle);
	free(step->empty);
	*step = (struct st_snapshot_step)ST_SNAPSHOT_STEP_INIT;
}

void st_snapshot_step_releasep(struct st_snapshot_step *step)
{
	st_snapshot_step_release(step);
}
