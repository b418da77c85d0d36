/* internal.h: what the files of src/store/ share; not part of the public API. */
#ifndef ST_STORE_INTERNAL_H
#define ST_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

struct st_store {
	char *root;
	char *blobs_dir;  /* root/blobs/sha256 */
	char *layers_dir; /* root/layers */
	char *leases_dir; /* root/leases */
	char *tmp_dir;	  /* root/tmp */
	char *db_path;
	sqlite3 *db;
};

/* A statement finalized when it goes out of scope. */
static inline void stmt_finalizep(sqlite3_stmt **st)
{
	if (*st)
		sqlite3_finalize(*st);
}
#define st_autostmt __attribute__((cleanup(stmt_finalizep)))

/* Map the last SQLite error of 's' to an st_error: SQLITE_BUSY/LOCKED -> ST_E_BUSY. */
int store_db_err(struct st_store *s, int rc, struct st_error **err, const char *what);
int store_db_exec(struct st_store *s, const char *sql, struct st_error **err);
/*
 * Commit the next statements without waiting for the disk (synchronous=NORMAL), then go back
 * to synchronous=FULL. Only for records whose loss on a power cut harms nothing (LRU touches,
 * lease items: a lease matters only while its process lives); WAL stays consistent either way,
 * and the next FULL commit makes them durable too.
 */
int store_db_relaxed_begin(struct st_store *s, struct st_error **err);
/* Returns 'rc' unchanged, or -1 if going back to FULL failed (then *err is set if rc was 0). */
int store_db_relaxed_end(struct st_store *s, int rc, struct st_error **err);
int store_db_prepare(struct st_store *s, const char *sql, sqlite3_stmt **out,
		     struct st_error **err);
/* sqlite3_step expecting SQLITE_DONE. */
int store_db_step_done(struct st_store *s, sqlite3_stmt *st, struct st_error **err);
/* Bind text, NULL allowed. */
void store_db_bind_text(sqlite3_stmt *st, int i, const char *v);
/* New string or NULL for a NULL column. */
char *store_db_col_dup(sqlite3_stmt *st, int i);
/* Copy a digest column into 'd' (empty string if NULL or malformed). */
void store_db_col_digest(sqlite3_stmt *st, int i, struct st_digest *d);

/*
 * A transaction that rolls back when it goes out of scope unless committed. Write
 * transactions are BEGIN IMMEDIATE: taking the write lock up front means a read-modify-write
 * never fails half-way with SQLITE_BUSY because another process wrote in between.
 */
struct tx {
	struct st_store *s;
	bool open;
};
int store_tx_begin(struct st_store *s, struct tx *t, bool write, struct st_error **err);
int store_tx_commit(struct tx *t, struct st_error **err);
void store_tx_rollbackp(struct tx *t);
#define st_autotx __attribute__((cleanup(store_tx_rollbackp)))

/* Validate a digest argument: ST_E_INVALID naming 'what'. */
int store_check_digest(const char *d, const char *what, struct st_error **err);
/* Microseconds since the epoch. */
int64_t store_now_us(void);

/* Inside an open write transaction: record layer 'l' (blob presence checked). */
int store_layer_put_locked(struct st_store *s, const struct st_store_layer *l,
			   struct st_error **err);
/* Inside an open write transaction: record edge 'from' -> 'to' ('type' may be NULL). */
int store_edge_add_locked(struct st_store *s, const char *from, enum st_store_edge_kind kind,
			  const char *to, const char *type, struct st_error **err);
/* Inside an open write transaction: add 'digest' to lease 'id'. */
int store_lease_add_locked(struct st_store *s, const char *id, const char *digest,
			   struct st_error **err);

/*
 * Creating a tmp/ entry: it is made as "new.XXXXXX", flock()ed, then renamed by
 * store_tmp_publish() to "<prefix>XXXXXX" (*path is updated). The whole sequence runs between
 * store_tmp_guard() and closing the descriptor it returns: a shared flock() on tmp/ itself.
 * gc takes that lock exclusively to list the "new.*" entries: any it sees then has no creator
 * left (one killed between creating and renaming it) and goes at once, and an entry never
 * looks abandoned in the instant between its creation and its lock.
 */
int store_tmp_guard(struct st_store *s, struct st_error **err);
int store_tmp_publish(struct st_store *s, char **path, const char *prefix, struct st_error **err);

#endif
