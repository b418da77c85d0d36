/* internal.h: the copy module's pieces shared between its files. Not part of the public API. */
#ifndef ST_COPY_INTERNAL_H
#define ST_COPY_INTERNAL_H

#include "copy/copy.h"

/* Whether a copy from 'src' to 'dst' streams its blobs without a store (stream.c). */
bool st_copy_can_stream(const struct st_copy_ref *src, const struct st_copy_ref *dst);
/* That copy: one image (from an index: o->platform's), its manifest's bytes kept. */
int st_copy_stream(const struct st_copy_ref *src, const struct st_copy_ref *dst,
		   const struct st_copy_opts *o, struct st_copy_result *out, struct st_error **err);

#endif
