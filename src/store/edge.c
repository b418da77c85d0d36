/* edge.c: edges between stored objects, and artifacts that live as long as their subject. */
#include "store/internal.h"

#include <stdlib.h>

#include "util/cleanup.h"
#include "util/banned.h"

static const char *kind_name(enum st_store_edge_kind kind)
{
	return kind == ST_STORE_EDGE_SUBJECT ? "subject" : "child";
}

static int need_blob(struct st_store *s, const char *digest, const char *what,
		     struct st_error **err)
{
	if (store_check_digest(digest, what, err) < 0)
		return -1;
	if (!st_store_has_blob(s, digest))
		return st_err(err, ST_E_NOTFOUND, "%s %s: blob not found", what, digest);
	return 0;
}

int store_edge_add_locked(struct st_store *s, const char *from, enum st_store_edge_kind kind,
			  const char *to, const char *type, struct st_error **err)
{
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(s,
			     "INSERT OR IGNORE INTO edges (src, dst, kind, type) "
			     "VALUES (?, ?, ?, ?)",
			     &st, err) < 0)
		return -1;
	store_db_bind_text(st, 1, from);
	store_db_bind_text(st, 2, to);
	store_db_bind_text(st, 3, kind_name(kind));
	store_db_bind_text(st, 4, type ? type : "");
	return store_db_step_done(s, st, err);
}

int st_store_edge_add(struct st_store *s, const char *from, enum st_store_edge_kind kind,
		      const char *const *to, size_t n, struct st_error **err)
{
	st_autotx struct tx t = { 0 };
	if (store_tx_begin(s, &t, true, err) < 0 || need_blob(s, from, "edge source", err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (need_blob(s, to[i], "edge target", err) < 0 ||
		    store_edge_add_locked(s, from, kind, to[i], NULL, err) < 0)
			return -1;
	return store_tx_commit(&t, err);
}

int st_store_edge_list(struct st_store *s, const char *from, enum st_store_edge_kind kind,
		       char ***to, size_t *n, struct st_error **err)
{
	*to = NULL;
	*n = 0;
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT dst FROM edges WHERE src = ? AND kind = ? ORDER BY dst", &q,
			     err) < 0)
		return -1;
	store_db_bind_text(q, 1, from);
	store_db_bind_text(q, 2, kind_name(kind));
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		*to = st_xrealloc(*to, (*n + 1) * sizeof(**to));
		(*to)[(*n)++] = store_db_col_dup(q, 0);
	}
	if (rc != SQLITE_DONE) {
		st_store_strings_free(*to, *n);
		*to = NULL;
		*n = 0;
		return store_db_err(s, rc, err, "read edges");
	}
	return 0;
}

int st_store_edge_list_to(struct st_store *s, const char *to, enum st_store_edge_kind kind,
			  char ***from, size_t *n, struct st_error **err)
{
	*from = NULL;
	*n = 0;
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT src FROM edges WHERE dst = ? AND kind = ? ORDER BY src", &q,
			     err) < 0)
		return -1;
	store_db_bind_text(q, 1, to);
	store_db_bind_text(q, 2, kind_name(kind));
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		*from = st_xrealloc(*from, (*n + 1) * sizeof(**from));
		(*from)[(*n)++] = store_db_col_dup(q, 0);
	}
	if (rc != SQLITE_DONE) {
		st_store_strings_free(*from, *n);
		*from = NULL;
		*n = 0;
		return store_db_err(s, rc, err, "read edges");
	}
	return 0;
}

int st_store_artifact_put(struct st_store *s, const char *digest, const char *type,
			  const char *subject, const char *const *blobs, size_t n,
			  struct st_error **err)
{
	if (!type || !*type)
		return st_err(err, ST_E_INVALID, "artifact %s: no type", digest);
	/* Checked inside the write transaction, as st_store_image_put() does: gc, which holds
	 * the write lock while it unlinks, runs wholly before or wholly after. */
	st_autotx struct tx t = { 0 };
	if (store_tx_begin(s, &t, true, err) < 0 || need_blob(s, digest, "artifact", err) < 0 ||
	    need_blob(s, subject, "subject", err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (need_blob(s, blobs[i], "artifact blob", err) < 0)
			return -1;
	st_autostmt sqlite3_stmt *del = NULL;
	if (store_db_prepare(s, "DELETE FROM edges WHERE kind = 'subject' AND dst = ? AND type = ?",
			     &del, err) < 0)
		return -1;
	store_db_bind_text(del, 1, subject);
	store_db_bind_text(del, 2, type);
	if (store_db_step_done(s, del, err) < 0 ||
	    store_edge_add_locked(s, digest, ST_STORE_EDGE_SUBJECT, subject, type, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (store_edge_add_locked(s, digest, ST_STORE_EDGE_CHILD, blobs[i], NULL, err) < 0)
			return -1;
	return store_tx_commit(&t, err);
}

int st_store_artifact_get(struct st_store *s, const char *subject, const char *type,
			  struct st_digest *out, struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(
		s, "SELECT src FROM edges WHERE kind = 'subject' AND dst = ? AND type = ?", &q,
		err) < 0)
		return -1;
	store_db_bind_text(q, 1, subject);
	store_db_bind_text(q, 2, type);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return st_err(err, ST_E_NOTFOUND, "no %s artifact about %s", type, subject);
	if (rc != SQLITE_ROW)
		return store_db_err(s, rc, err, "read artifact");
	store_db_col_digest(q, 0, out);
	return 0;
}
