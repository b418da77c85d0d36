/* internal.h: the copy module's pieces shared between its files. Not part of the public API. */
#ifndef ST_COPY_INTERNAL_H
#define ST_COPY_INTERNAL_H

#include "copy/copy.h"

/* Whether a copy from 'src' to 'dst' streams its blobs without a store (stream.c). */
bool st_copy_can_stream(const struct st_copy_ref *src, const struct st_copy_ref *dst);
/* That copy: one image (from an index: o->platform's), its manifest's bytes kept. */
int st_copy_stream(const struct st_copy_ref *src, const struct st_copy_ref *dst,
		   const struct st_copy_opts *o, struct st_copy_result *out, struct st_error **err);

/*
 * The image 'src' names in a docker-archive as a copy to 'dst' reads it (darchive.c): *in is
 * borrowed from *out (st_copy_darchive_free()). Every layer is read and checked now, before
 * anything is written; the manifest is made for the blobs as they will be sent.
 */
struct st_copy_darchive;
struct st_local_source;
int st_copy_darchive_open(const struct st_copy_ref *src, const struct st_copy_ref *dst,
			  const struct st_copy_opts *o, struct st_copy_darchive **out,
			  struct st_local_source *in, struct st_error **err);
void st_copy_darchive_free(struct st_copy_darchive *da);
void st_copy_darchive_freep(struct st_copy_darchive **da);

#endif
