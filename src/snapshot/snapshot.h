/* snapshot.h: overlay mounts for build steps and containers, and a step's working dirs. */
#ifndef ST_SNAPSHOT_SNAPSHOT_H
#define ST_SNAPSHOT_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/*
 * Move the calling process into a mount namespace of its own in which every mount is private.
 * The mounts made afterwards (overlays, tmpfs, binds) are then invisible to the rest of the
 * host and die with the namespace, that is when this process and the children it starts are
 * gone, however they end (SIGKILL included): an interrupted command leaves no mount behind.
 * Children started afterwards (the OCI runtime) share the namespace and so see the mounts.
 * Call it before starting threads: a thread started earlier stays in the old namespace.
 * A process that may not create namespaces (not root) cannot mount either: that is not an
 * error here, and the mount itself reports it.
 */
int st_snapshot_private_ns(struct st_error **err);

/*
 * Mount an overlay on 'target' (an existing directory) with 'lowers' (n >= 1, the top layer
 * first, as overlayfs orders them), the writable 'upper' and the overlay 'work' dir (empty,
 * on the same filesystem as 'upper'). All paths are borrowed.
 *
 * The mount uses index=off, metacopy=off and redirect_dir=off so that, once unmounted, 'upper'
 * is a plain diff: new and changed files whole, deletions as 0/0 character devices and opaque
 * directories as "trusted.overlay.opaque" xattrs (the layer module turns them into OCI
 * whiteouts).
 *
 * Any number of lowers up to the kernel's limit (500) works: the one-page limit of mount(2)
 * options is avoided with the "lowerdir+" option of the new mount API where the kernel has it
 * (6.8+), else with short relative names. A scratch step has no lowers: pass one empty
 * directory (st_snapshot_step_mount() does).
 * ST_E_INVALID for n == 0 or a bad path, ST_E_IO (errno kept) when the kernel refuses.
 */
int st_snapshot_mount(const char *const *lowers, size_t n, const char *upper, const char *work,
		      const char *target, struct st_error **err);

/*
 * Unmount 'target'. A busy mount is detached (MNT_DETACH) instead: it disappears from the
 * namespace at once and is freed when its last user goes. A 'target' that is not a mount
 * point is not an error.
 */
int st_snapshot_umount(const char *target, struct st_error **err);

/* Whether 'path' is the root of a mount. False when it does not exist. */
bool st_snapshot_is_mounted(const char *path);

/*
 * The working dirs of one step (or container) under a base dir:
 *   <base>/<id>/upper    the overlay upper dir: the step's diff
 *   <base>/<id>/work     the overlay work dir
 *   <base>/<id>/merged   the overlay mount point: the container's rootfs
 *   <base>/<id>/bundle   the OCI bundle (config.json, runtime log), outside the rootfs
 *   <base>/<id>/empty    an empty dir, the lower of a scratch step
 * All strings are owned by the struct.
 */
struct st_snapshot_step {
	char *dir;
	char *upper;
	char *work;
	char *merged;
	char *bundle;
	char *empty;
};

#define ST_SNAPSHOT_STEP_INIT                                                                      \
	{                                                                                          \
		0                                                                                  \
	}

/*
 * Create <base>/<id> and its subdirs (base is created if missing). 'id' is one path
 * component. ST_E_EXISTS if <base>/<id> already exists; ST_E_INVALID for a bad id.
 * On failure nothing is left behind and 'step' is released.
 */
int st_snapshot_step_create(const char *base, const char *id, struct st_snapshot_step *step,
			    struct st_error **err);

/* Mount the overlay of 'step' on step->merged; n == 0 mounts a scratch rootfs. */
int st_snapshot_step_mount(const struct st_snapshot_step *step, const char *const *lowers, size_t n,
			   struct st_error **err);

/*
 * Mount a tmpfs on step->bundle. A bundle's config.json holds the process's environment,
 * secrets included, which must never reach a disk; in a private mount namespace
 * (st_snapshot_private_ns()) the tmpfs goes with the process, however it ends.
 */
int st_snapshot_step_mount_bundle(const struct st_snapshot_step *step, struct st_error **err);

/* Unmount step->merged and step->bundle where they are mounted. */
int st_snapshot_step_umount(const struct st_snapshot_step *step, struct st_error **err);

/*
 * Unmount step->merged if still mounted, then remove <base>/<id> entirely. Never descends
 * into a mount: if the unmount fails, nothing is removed (ST_E_BUSY). Removing a step that
 * is already gone is not an error. 'step' still owns its strings: release it after.
 */
int st_snapshot_step_remove(const struct st_snapshot_step *step, struct st_error **err);

/* Free the strings of 'step' (the dirs stay on disk). Safe to call twice. */
void st_snapshot_step_release(struct st_snapshot_step *step);
void st_snapshot_step_releasep(struct st_snapshot_step *step);
#define st_auto_snapshot_step __attribute__((cleanup(st_snapshot_step_releasep)))

#endif
