/*
 * lease.c: leases keep blobs and layers from gc while an operation has not yet recorded them.
 *
 * A lease is a row in 'leases' with its items in 'lease_items', plus a lock file
 * leases/<id> that the holder keeps flock()ed. The lock, not the row, says whether the lease
 * is alive: the kernel drops it when the holder dies, however it dies, so neither pid reuse
 * nor a clock can make a dead lease look alive. gc deletes the rows of a lease whose file it
 * can lock.
 */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

struct st_store_lease {
	struct st_store *s;
	char *id;
	char *path;
	int fd;
};

static char *new_id(void)
{
	unsigned char r[12];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		/* getrandom only fails before the pool is seeded; the id need not be secret. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)((ts.tv_nsec >> (i % 4 * 8)) ^
					       (getpid() >> (i % 2 * 8)) ^ i);
	}
	char *id = st_xmalloc(sizeof(r) * 2 + 1);
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(id + 2 * i, 3, "%02x", r[i]);
	return id;
}

void st_store_lease_end(struct st_store_lease *l)
{
	if (!l)
		return;
	if (l->id) {
		st_autostmt sqlite3_stmt *st = NULL;
		/* A failure here leaves rows behind; gc removes them once the lock is gone. */
		if (sqlite3_prepare_v2(l->s->db, "DELETE FROM leases WHERE id = ?", -1, &st,
				       NULL) == SQLITE_OK) {
			store_db_bind_text(st, 1, l->id);
			sqlite3_step(st);
		}
	}
	if (l->path)
		unlink(l->path);
	if (l->fd >= 0)
		close(l->fd);
	free(l->id);
	free(l->path);
	free(l);
}

void st_store_lease_endp(struct st_store_lease **l)
{
	st_store_lease_end(*l);
	*l = NULL;
}

int st_store_lease_begin(struct st_store *s, struct st_store_lease **out, struct st_error **err)
{
	__attribute__((cleanup(st_store_lease_endp))) struct st_store_lease *l =
	    st_xcalloc(1, sizeof(*l));
	l->s = s;
	l->fd = -1;
	l->id = new_id();
	char *path = st_path_join(s->leases_dir, l->id);
	l->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		st_err_errno(err, "begin lease: create '%s'", path);
		free(path);
		return -1;
	}
	l->path = path;
	/* Locked before the row exists: gc only looks at files of leases it finds rows for. */
	if (flock(l->fd, LOCK_EX | LOCK_NB) < 0)
		return st_err_errno(err, "begin lease: lock '%s'", l->path);
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(s, "INSERT INTO leases (id, pid, created) VALUES (?, ?, ?)", &st,
			     err) < 0)
		return st_err_wrap(err, "begin lease");
	store_db_bind_text(st, 1, l->id);
	sqlite3_bind_int64(st, 2, getpid());
	sqlite3_bind_int64(st, 3, store_now_us());
	if (store_db_step_done(s, st, err) < 0)
		return st_err_wrap(err, "begin lease");
	*out = st_steal(&l);
	return 0;
}

int store_lease_add_locked(struct st_store *s, const char *id, const char *digest,
			   struct st_error **err)
{
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(s, "INSERT OR IGNORE INTO lease_items (lease_id, item) VALUES (?, ?)",
			     &st, err) < 0)
		return -1;
	store_db_bind_text(st, 1, id);
	store_db_bind_text(st, 2, digest);
	return store_db_step_done(s, st, err);
}

int st_store_lease_add(struct st_store_lease *l, const char *digest, struct st_error **err)
{
	if (store_check_digest(digest, "lease item", err) < 0)
		return -1;
	/* Relaxed: other processes see the item at once; only durability is given up. */
	if (store_db_relaxed_begin(l->s, err) < 0)
		return -1;
	int rc = store_db_relaxed_end(l->s, store_lease_add_locked(l->s, l->id, digest, err), err);
	if (rc < 0)
		return st_err_wrap(err, "lease %s", l->id);
	return 0;
}

int st_store_lease_hand_over(struct st_store_lease *l)
{
	int fd = l->fd;
	free(l->id);
	free(l->path);
	free(l);
	return fd;
}

const char *st_store_lease_id(const struct st_store_lease *l)
{
	return l->id;
}
