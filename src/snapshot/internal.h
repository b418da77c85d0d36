/* internal.h: snapshot internals shared with the unit tests, not part of the public API. */
#ifndef ST_SNAPSHOT_INTERNAL_H
#define ST_SNAPSHOT_INTERNAL_H

#include <stddef.h>

#include "util/err.h"

/* How st_snapshot_mount() passes the lower dirs to the kernel. */
enum st_snapshot_method {
	ST_SNAPSHOT_AUTO,   /* the new API if the kernel has "lowerdir+", else LEGACY */
	ST_SNAPSHOT_NEWAPI, /* fsopen + fsconfig("lowerdir+") per lower (Linux 6.8+) */
	ST_SNAPSHOT_LEGACY, /* mount(2); short relative names when the options exceed a page */
	ST_SNAPSHOT_LINKS,  /* mount(2) with short relative names, always */
};

int st_snapshot_mount_with(enum st_snapshot_method method, const char *const *lowers, size_t n,
			   const char *upper, const char *work, const char *target,
			   struct st_error **err);

#endif
