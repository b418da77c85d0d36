/* cache.c: build cache records and the generic key/value table. */
#include "store/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/banned.h"

/*
 * last_used is strictly increasing across the table, not just the clock: two uses within one
 * clock tick (or a clock that stepped back) must still order correctly for LRU pruning.
 */
#define NEXT_USE "max(?, coalesce((SELECT max(last_used) FROM cache), 0) + 1)"

int st_store_cache_put(struct st_store *s, const char *key, const char *value, const char *diff_id,
		       uint64_t size, struct st_error **err)
{
	if (!key || !*key)
		return st_err(err, ST_E_INVALID, "cache record: empty key");
	if (!value)
		return st_err(err, ST_E_INVALID, "cache record '%s': no value", key);
	if (diff_id && store_check_digest(diff_id, "cache record diff_id", err) < 0)
		return -1;
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(
		s,
		"INSERT INTO cache (key, value, diff_id, size, created, last_used) "
		"VALUES (?, ?, ?, ?, ?, " NEXT_USE ") ON CONFLICT (key) DO UPDATE SET "
		"value = excluded.value, diff_id = excluded.diff_id, size = excluded.size, "
		"created = excluded.created, last_used = excluded.last_used",
		&st, err) < 0)
		return -1;
	int64_t now = store_now_us();
	store_db_bind_text(st, 1, key);
	store_db_bind_text(st, 2, value);
	store_db_bind_text(st, 3, diff_id);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)size);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, now);
	return store_db_step_done(s, st, err);
}

#define CACHE_COLS "key, value, diff_id, size, created, last_used"

static void cache_from_row(sqlite3_stmt *q, struct st_store_cache *c)
{
	c->key = store_db_col_dup(q, 0);
	c->value = store_db_col_dup(q, 1);
	c->diff_id = store_db_col_dup(q, 2);
	c->size = (uint64_t)sqlite3_column_int64(q, 3);
	c->created = sqlite3_column_int64(q, 4);
	c->last_used = sqlite3_column_int64(q, 5);
}

int st_store_cache_get(struct st_store *s, const char *key, struct st_store_cache *out,
		       struct st_error **err)
{
	/*
	 * One statement: the lookup and the LRU touch are atomic without a transaction. The touch
	 * is relaxed: a rebuild that hits every step would otherwise pay one fsync per step for a
	 * last-used time.
	 */
	if (store_db_relaxed_begin(s, err) < 0)
		return -1;
	int ret = 0;
	{
		st_autostmt sqlite3_stmt *st = NULL;
		if (store_db_prepare(s,
				     "UPDATE cache SET last_used = " NEXT_USE
				     " WHERE key = ? RETURNING " CACHE_COLS,
				     &st, err) < 0) {
			ret = -1;
			goto out;
		}
		sqlite3_bind_int64(st, 1, store_now_us());
		store_db_bind_text(st, 2, key);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			ret = st_err(err, ST_E_NOTFOUND, "cache record '%s': not found", key);
		} else if (rc != SQLITE_ROW) {
			ret = store_db_err(s, rc, err, "read cache record");
		} else {
			cache_from_row(st, out);
			rc = sqlite3_step(st);
			if (rc != SQLITE_DONE) {
				st_store_cache_release(out);
				ret = store_db_err(s, rc, err, "update cache record");
			}
		}
	}
out:
	if (store_db_relaxed_end(s, ret, err) < 0 && ret == 0) {
		st_store_cache_release(out);
		ret = -1;
	}
	return ret;
}

int st_store_cache_list(struct st_store *s, struct st_store_cache **out, size_t *n,
			struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT " CACHE_COLS " FROM cache ORDER BY last_used", &q, err) < 0)
		return -1;
	struct st_store_cache *v = NULL;
	size_t len = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		v = st_xrealloc(v, (len + 1) * sizeof(*v));
		cache_from_row(q, &v[len++]);
	}
	if (rc != SQLITE_DONE) {
		st_store_caches_free(v, len);
		return store_db_err(s, rc, err, "read cache records");
	}
	*out = v;
	*n = len;
	return 0;
}

int st_store_cache_delete(struct st_store *s, const char *key, struct st_error **err)
{
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(s, "DELETE FROM cache WHERE key = ?", &st, err) < 0)
		return -1;
	store_db_bind_text(st, 1, key);
	if (store_db_step_done(s, st, err) < 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return st_err(err, ST_E_NOTFOUND, "cache record '%s': not found", key);
	return 0;
}

int st_store_cache_prune(struct st_store *s, uint64_t keep_bytes, size_t *removed, uint64_t *freed,
			 struct st_error **err)
{
	st_autotx struct tx t = { 0 };
	if (store_tx_begin(s, &t, true, err) < 0)
		return -1;
	st_autostmt sqlite3_stmt *sum = NULL;
	if (store_db_prepare(s, "SELECT coalesce(sum(size), 0) FROM cache", &sum, err) < 0)
		return -1;
	int rc = sqlite3_step(sum);
	if (rc != SQLITE_ROW)
		return store_db_err(s, rc, err, "read cache size");
	uint64_t total = (uint64_t)sqlite3_column_int64(sum, 0);

	st_autostmt sqlite3_stmt *q = NULL;
	st_autostmt sqlite3_stmt *del = NULL;
	if (store_db_prepare(s, "SELECT key, size FROM cache ORDER BY last_used", &q, err) < 0 ||
	    store_db_prepare(s, "DELETE FROM cache WHERE key = ?", &del, err) < 0)
		return -1;
	size_t count = 0;
	uint64_t bytes = 0;
	while ((keep_bytes == 0 || total > keep_bytes) && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		uint64_t sz = (uint64_t)sqlite3_column_int64(q, 1);
		sqlite3_reset(del);
		sqlite3_bind_value(del, 1, sqlite3_column_value(q, 0));
		if (store_db_step_done(s, del, err) < 0)
			return -1;
		total -= sz < total ? sz : total;
		bytes += sz;
		count++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_err(s, rc, err, "read cache records");
	sqlite3_reset(q);
	if (store_tx_commit(&t, err) < 0)
		return -1;
	if (removed)
		*removed = count;
	if (freed)
		*freed = bytes;
	return 0;
}

void st_store_cache_release(struct st_store_cache *c)
{
	free(c->key);
	free(c->value);
	free(c->diff_id);
	c->key = c->value = c->diff_id = NULL;
}

void st_store_caches_free(struct st_store_cache *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		st_store_cache_release(&v[i]);
	free(v);
}

/* ---- key/value ---- */

int st_store_kv_get(struct st_store *s, const char *ns, const char *key, char **value,
		    struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT value FROM kv WHERE ns = ? AND key = ?", &q, err) < 0)
		return -1;
	store_db_bind_text(q, 1, ns);
	store_db_bind_text(q, 2, key);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return st_err(err, ST_E_NOTFOUND, "%s '%s': not found", ns, key);
	if (rc != SQLITE_ROW)
		return store_db_err(s, rc, err, "read key");
	*value = store_db_col_dup(q, 0);
	return 0;
}

int st_store_kv_put(struct st_store *s, const char *ns, const char *key, const char *value,
		    struct st_error **err)
{
	if (!ns || !key || !value)
		return st_err(err, ST_E_INVALID, "put key: missing namespace, key or value");
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(s,
			     "INSERT INTO kv (ns, key, value) VALUES (?, ?, ?) "
			     "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value",
			     &st, err) < 0)
		return -1;
	store_db_bind_text(st, 1, ns);
	store_db_bind_text(st, 2, key);
	store_db_bind_text(st, 3, value);
	return store_db_step_done(s, st, err);
}

int st_store_kv_delete(struct st_store *s, const char *ns, const char *key, struct st_error **err)
{
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(s, "DELETE FROM kv WHERE ns = ? AND key = ?", &st, err) < 0)
		return -1;
	store_db_bind_text(st, 1, ns);
	store_db_bind_text(st, 2, key);
	return store_db_step_done(s, st, err);
}

int st_store_kv_list(struct st_store *s, const char *ns, unsigned flags, struct st_store_kv **out,
		     size_t *n, struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(
		s,
		(flags & ST_STORE_KV_VALUES)
		    ? "SELECT key, length(CAST(value AS BLOB)), value FROM kv WHERE ns = ? "
		      "ORDER BY key"
		    : "SELECT key, length(CAST(value AS BLOB)) FROM kv WHERE ns = ? "
		      "ORDER BY key",
		&q, err) < 0)
		return -1;
	store_db_bind_text(q, 1, ns);
	struct st_store_kv *v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = st_xrealloc(v, cap * sizeof(*v));
		}
		v[len].key = store_db_col_dup(q, 0);
		v[len].size = (uint64_t)sqlite3_column_int64(q, 1);
		v[len].value = (flags & ST_STORE_KV_VALUES) ? store_db_col_dup(q, 2) : NULL;
		len++;
	}
	if (rc != SQLITE_DONE) {
		st_store_kvs_free(v, len);
		return store_db_err(s, rc, err, "list keys");
	}
	*out = v;
	*n = len;
	return 0;
}

void st_store_kvs_free(struct st_store_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

int st_store_kv_delete_ns(struct st_store *s, const char *ns, size_t *removed,
			  struct st_error **err)
{
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(s, "DELETE FROM kv WHERE ns = ?", &st, err) < 0)
		return -1;
	store_db_bind_text(st, 1, ns);
	if (store_db_step_done(s, st, err) < 0)
		return -1;
	if (removed)
		*removed = (size_t)sqlite3_changes(s->db);
	return 0;
}
