/* internal.h: helpers shared by the archive module's files. Not part of the public API. */
#ifndef ST_ARCHIVE_INTERNAL_H
#define ST_ARCHIVE_INTERNAL_H

#include "util/err.h"

/* Bytes moved per read/write when streaming blobs. */
#define ST_ARCHIVE_CHUNK (1u << 20)

/*
 * The archive-root-relative name a symlink 'name' (normalised) pointing to 'target' resolves
 * to, lexically. *out is new. ST_E_INVALID if the target is absolute or climbs out of the root.
 */
int st_archive_link_target(const char *name, const char *target, char **out, struct st_error **err);

#endif
