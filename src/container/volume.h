/*
 * volume.h: named and anonymous volumes, kept in the store as Docker's local driver keeps them:
 *
 *   volumes/<name>/_data         the volume's files, what containers mount
 *   volumes/<name>/volume.json   the record: Docker's `volume inspect` object without Mountpoint
 *   volumes/lock                 flock()ed: exclusively by rm and prune, shared by a create of a
 *                                container while it records the volumes it uses
 *
 * A volume is made whole under the store's tmp/ and renamed into volumes/, and removed by
 * renaming it out of sight first, so a crash never leaves half a volume listed. Anonymous
 * volumes (an image's VOLUME, `-v /path`) carry Docker's label com.docker.volume.anonymous.
 */
#ifndef ST_CONTAINER_VOLUME_H
#define ST_CONTAINER_VOLUME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

#define ST_VOLUME_ANONYMOUS_LABEL "com.docker.volume.anonymous"

struct st_volume;

/* What `volume create` makes. Everything is borrowed. */
struct st_volume_create {
	const char *name;    /* NULL: an anonymous volume with a random 64-hex name */
	char *const *labels; /* "KEY=VALUE" (or "KEY", an empty value) */
	size_t n_labels;
};

/*
 * Create a volume, or find the one of that name (Docker's create is idempotent: *created then
 * false and the labels are not changed). *out is new: st_volume_free(). ST_E_INVALID for a
 * name that is not [a-zA-Z0-9][a-zA-Z0-9_.-]+ or a label without a key.
 */
int st_volume_create(struct st_store *s, const struct st_volume_create *o, struct st_volume **out,
		     bool *created, struct st_error **err);

/* The volume 'name'. *out is new. ST_E_NOTFOUND "get NAME: no such volume". */
int st_volume_find(struct st_store *s, const char *name, struct st_volume **out,
		   struct st_error **err);

/* Every volume, by name: a new array of *n new volumes (st_volume_list_free()). */
int st_volume_list(struct st_store *s, struct st_volume ***out, size_t *n, struct st_error **err);
void st_volume_list_free(struct st_volume **v, size_t n);

void st_volume_free(struct st_volume *v);
void st_volume_freep(struct st_volume **v);

/* Borrowed, valid while 'v' lives. */
const char *st_volume_name(const struct st_volume *v);
const char *st_volume_mountpoint(const struct st_volume *v); /* <root>/volumes/<name>/_data */
bool st_volume_anonymous(const struct st_volume *v);
/* Docker's `volume inspect` object. Borrowed. */
const json_t *st_volume_inspect(const struct st_volume *v);

/* The ids of the containers whose Mounts use volume 'name': a new vector (st_strv_free()). */
int st_volume_users(struct st_store *s, const char *name, char ***ids, size_t *n,
		    struct st_error **err);

/* The bytes of the volume's files, as `system df -v` counts them. */
int st_volume_size(const struct st_volume *v, uint64_t *bytes, struct st_error **err);

/*
 * Remove the volume and its files. ST_E_BUSY with Docker's message ("remove NAME: volume is in
 * use - [ID, ...]") while a container uses it, running or not; ST_E_NOTFOUND as
 * st_volume_find().
 */
int st_volume_remove(struct st_store *s, const char *name, struct st_error **err);

enum st_volume_prune_flags {
	ST_VOLUME_PRUNE_ALL = 1 << 0, /* named volumes too, not only anonymous ones */
};
/*
 * Remove the volumes no container uses: the anonymous ones, or all with ST_VOLUME_PRUNE_ALL
 * (Docker's `volume prune [-a]`). *names is a new vector of the removed ones, *bytes what
 * their files took.
 */
int st_volume_prune(struct st_store *s, unsigned flags, char ***names, size_t *n, uint64_t *bytes,
		    struct st_error **err);

/*
 * The shared side of volumes/lock, for a container create that records volumes: while the
 * returned fd is open no volume is removed. An fd, or -1 with *err set.
 */
int st_volume_lock_shared(struct st_store *s, struct st_error **err);

#endif
