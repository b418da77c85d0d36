/* repodigest.c: the "repository@digest" names an image is known by in registries. */
#include "store/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/banned.h"

int st_store_repo_digest_add(struct st_store *s, const char *image_id, const char *name,
			     struct st_error **err)
{
	const char *at = strrchr(name, '@');
	if (!at || at == name || !st_digest_valid(at + 1))
		return st_err(err, ST_E_INVALID, "'%s' is not repository@sha256:<hex>", name);
	st_autotx struct tx t = { 0 };
	if (store_tx_begin(s, &t, true, err) < 0)
		return -1;
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT 1 FROM images WHERE id = ?", &q, err) < 0)
		return -1;
	store_db_bind_text(q, 1, image_id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return st_err(err, ST_E_NOTFOUND, "image %s not found", image_id);
	if (rc != SQLITE_ROW)
		return store_db_err(s, rc, err, "read image");
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(s,
			     "INSERT INTO repo_digests (name, image_id) VALUES (?, ?) "
			     "ON CONFLICT (name) DO UPDATE SET image_id = excluded.image_id",
			     &st, err) < 0)
		return -1;
	store_db_bind_text(st, 1, name);
	store_db_bind_text(st, 2, image_id);
	if (store_db_step_done(s, st, err) < 0 || store_tx_commit(&t, err) < 0)
		return -1;
	return 0;
}

/* The names 'sql' selects for its one parameter 'arg', as a new array of *n strings. */
static int names(struct st_store *s, const char *sql, const char *arg, char ***out, size_t *n,
		 struct st_error **err)
{
	*out = NULL;
	*n = 0;
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, sql, &q, err) < 0)
		return -1;
	store_db_bind_text(q, 1, arg);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		*out = st_xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = store_db_col_dup(q, 0);
	}
	if (rc != SQLITE_DONE) {
		st_store_strings_free(*out, *n);
		*out = NULL;
		*n = 0;
		return store_db_err(s, rc, err, "read repo digests");
	}
	return 0;
}

int st_store_repo_digests(struct st_store *s, const char *image_id, char ***out, size_t *n,
			  struct st_error **err)
{
	return names(s, "SELECT name FROM repo_digests WHERE image_id = ? ORDER BY name", image_id,
		     out, n, err);
}

int st_store_layer_repo_digests(struct st_store *s, const char *digest, char ***out, size_t *n,
				struct st_error **err)
{
	return names(s,
		     "SELECT DISTINCT r.name FROM repo_digests r JOIN image_layers l ON "
		     "l.image_id = r.image_id WHERE l.digest = ? ORDER BY r.name",
		     digest, out, n, err);
}

int st_store_repo_digest_get(struct st_store *s, const char *name, struct st_digest *image_id,
			     struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT image_id FROM repo_digests WHERE name = ?", &q, err) < 0)
		return -1;
	store_db_bind_text(q, 1, name);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return st_err(err, ST_E_NOTFOUND, "no image is %s", name);
	if (rc != SQLITE_ROW)
		return store_db_err(s, rc, err, "read repo digests");
	store_db_col_digest(q, 0, image_id);
	return 0;
}
