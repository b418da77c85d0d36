/* meta.c: layer, image, reference and unpacked-layer records. */
#include "store/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* ---- layers ---- */

static int check_layer(const struct st_store_layer *l, struct st_error **err)
{
	if (store_check_digest(l->digest.str, "layer digest", err) < 0 ||
	    store_check_digest(l->diff_id.str, "layer diff_id", err) < 0)
		return -1;
	if (!l->media_type || !*l->media_type)
		return st_err(err, ST_E_INVALID, "layer %s: no media type", l->digest.str);
	return 0;
}

int store_layer_put_locked(struct st_store *s, const struct st_store_layer *l,
			   struct st_error **err)
{
	if (check_layer(l, err) < 0)
		return -1;
	if (!st_store_has_blob(s, l->digest.str))
		return st_err(err, ST_E_NOTFOUND, "layer %s: blob not found", l->digest.str);
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT diff_id FROM layers WHERE digest = ?", &q, err) < 0)
		return -1;
	store_db_bind_text(q, 1, l->digest.str);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const char *old = (const char *)sqlite3_column_text(q, 0);
		if (old && strcmp(old, l->diff_id.str) != 0)
			return st_err(err, ST_E_INVALID,
				      "layer %s: recorded with diff_id %s, not %s", l->digest.str,
				      old, l->diff_id.str);
	} else if (rc != SQLITE_DONE) {
		return store_db_err(s, rc, err, "read layer");
	}
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(
		s,
		"INSERT INTO layers (digest, diff_id, media_type, size, diff_size, added) "
		"VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO UPDATE SET "
		"media_type = excluded.media_type, size = excluded.size, "
		"diff_size = excluded.diff_size",
		&st, err) < 0)
		return -1;
	store_db_bind_text(st, 1, l->digest.str);
	store_db_bind_text(st, 2, l->diff_id.str);
	store_db_bind_text(st, 3, l->media_type);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)l->size);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)l->diff_size);
	sqlite3_bind_int64(st, 6, store_now_us());
	return store_db_step_done(s, st, err);
}

int st_store_layer_put(struct st_store *s, const struct st_store_layer *l, struct st_error **err)
{
	st_autotx struct tx t = { 0 };
	if (store_tx_begin(s, &t, true, err) < 0 || store_layer_put_locked(s, l, err) < 0 ||
	    store_tx_commit(&t, err) < 0)
		return -1;
	return 0;
}

#define LAYER_COLS "digest, diff_id, media_type, size, diff_size"

static void layer_from_row(sqlite3_stmt *q, int c, struct st_store_layer *l)
{
	store_db_col_digest(q, c, &l->digest);
	store_db_col_digest(q, c + 1, &l->diff_id);
	l->media_type = store_db_col_dup(q, c + 2);
	l->size = (uint64_t)sqlite3_column_int64(q, c + 3);
	l->diff_size = (uint64_t)sqlite3_column_int64(q, c + 4);
}

int st_store_layer_get(struct st_store *s, const char *digest, struct st_store_layer *out,
		       struct st_error **err)
{
	if (store_check_digest(digest, "layer", err) < 0)
		return -1;
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT " LAYER_COLS " FROM layers WHERE digest = ?", &q, err) < 0)
		return -1;
	store_db_bind_text(q, 1, digest);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return st_err(err, ST_E_NOTFOUND, "layer %s: not found", digest);
	if (rc != SQLITE_ROW)
		return store_db_err(s, rc, err, "read layer");
	layer_from_row(q, 0, out);
	return 0;
}

int st_store_layer_variants(struct st_store *s, const char *diff_id, struct st_store_layer **out,
			    size_t *n, struct st_error **err)
{
	if (store_check_digest(diff_id, "diff_id", err) < 0)
		return -1;
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(
		s, "SELECT " LAYER_COLS " FROM layers WHERE diff_id = ? ORDER BY added, rowid", &q,
		err) < 0)
		return -1;
	store_db_bind_text(q, 1, diff_id);
	struct st_store_layer *v = NULL;
	size_t len = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		v = st_xrealloc(v, (len + 1) * sizeof(*v));
		layer_from_row(q, 0, &v[len++]);
	}
	if (rc != SQLITE_DONE) {
		st_store_layers_free(v, len);
		return store_db_err(s, rc, err, "read layers");
	}
	*out = v;
	*n = len;
	return 0;
}

int st_store_layer_drop_spare(struct st_store *s, const char *digest, bool *removed,
			      struct st_error **err)
{
	if (removed)
		*removed = false;
	st_autofree char *path = st_store_blob_path(s, digest, err);
	if (!path)
		return -1;
	/*
	 * In two transactions, as gc does: the record goes first, so a crash between the two
	 * leaves a blob nothing names (gc's to take) and never a record without its blob.
	 */
	{
		st_autotx struct tx t = { 0 };
		st_autostmt sqlite3_stmt *st = NULL;
		if (store_tx_begin(s, &t, true, err) < 0 ||
		    store_db_prepare(s,
				     "DELETE FROM layers WHERE digest = ?1 "
				     "AND digest NOT IN (SELECT digest FROM image_layers) "
				     "AND EXISTS (SELECT 1 FROM layers v WHERE v.diff_id = "
				     "layers.diff_id AND v.digest != ?1)",
				     &st, err) < 0)
			return -1;
		store_db_bind_text(st, 1, digest);
		if (store_db_step_done(s, st, err) < 0)
			return -1;
		if (sqlite3_changes(s->db) == 0)
			return 0;
		if (store_tx_commit(&t, err) < 0)
			return -1;
	}
	/* Under the write lock: a build that recorded the same layer again meanwhile keeps it. */
	st_autotx struct tx t = { 0 };
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_tx_begin(s, &t, true, err) < 0 ||
	    store_db_prepare(s, "SELECT 1 FROM layers WHERE digest = ?", &q, err) < 0)
		return -1;
	store_db_bind_text(q, 1, digest);
	int rc = sqlite3_step(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_err(s, rc, err, "read layer");
	if (rc == SQLITE_DONE && unlink(path) < 0 && errno != ENOENT)
		return st_err_errno(err, "remove blob '%s'", path);
	if (store_tx_commit(&t, err) < 0)
		return -1;
	if (removed)
		*removed = rc == SQLITE_DONE;
	return 0;
}

void st_store_layer_release(struct st_store_layer *l)
{
	free(l->media_type);
	l->media_type = NULL;
}

void st_store_layers_free(struct st_store_layer *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		st_store_layer_release(&v[i]);
	free(v);
}

/* ---- references ---- */

static int check_name(const char *name, struct st_error **err)
{
	if (!name || !*name)
		return st_err(err, ST_E_INVALID, "reference: empty name");
	for (const char *c = name; *c; c++)
		if (iscntrl((unsigned char)*c) || *c == ' ')
			return st_err(err, ST_E_INVALID, "reference '%s': invalid character", name);
	return 0;
}

static int ref_set_locked(struct st_store *s, const char *name, const char *image_id,
			  const char *manifest_digest, struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT manifest_digest FROM images WHERE id = ?", &q, err) < 0)
		return -1;
	store_db_bind_text(q, 1, image_id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return st_err(err, ST_E_NOTFOUND, "tag '%s': image %s not found", name, image_id);
	if (rc != SQLITE_ROW)
		return store_db_err(s, rc, err, "read image");
	st_autofree char *own = store_db_col_dup(q, 0);
	if (!manifest_digest)
		manifest_digest = own;
	else if (strcmp(manifest_digest, own) != 0 && !st_store_has_blob(s, manifest_digest))
		return st_err(err, ST_E_NOTFOUND, "tag '%s': manifest %s not found", name,
			      manifest_digest);
	/* A name resolved through an index: the index lists the image's manifest. */
	if (strcmp(manifest_digest, own) != 0 &&
	    store_edge_add_locked(s, manifest_digest, ST_STORE_EDGE_CHILD, own, NULL, err) < 0)
		return -1;
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(s,
			     "INSERT INTO refs (name, image_id, manifest_digest) VALUES (?, ?, ?) "
			     "ON CONFLICT (name) DO UPDATE SET image_id = excluded.image_id, "
			     "manifest_digest = excluded.manifest_digest",
			     &st, err) < 0)
		return -1;
	store_db_bind_text(st, 1, name);
	store_db_bind_text(st, 2, image_id);
	store_db_bind_text(st, 3, manifest_digest);
	return store_db_step_done(s, st, err);
}

int st_store_ref_set(struct st_store *s, const char *name, const char *image_id,
		     const char *manifest_digest, struct st_error **err)
{
	if (check_name(name, err) < 0 || store_check_digest(image_id, "image", err) < 0 ||
	    (manifest_digest && store_check_digest(manifest_digest, "manifest", err) < 0))
		return -1;
	st_autotx struct tx t = { 0 };
	if (store_tx_begin(s, &t, true, err) < 0 ||
	    ref_set_locked(s, name, image_id, manifest_digest, err) < 0 ||
	    store_tx_commit(&t, err) < 0)
		return -1;
	return 0;
}

static void ref_from_row(sqlite3_stmt *q, struct st_store_ref *r)
{
	r->name = store_db_col_dup(q, 0);
	store_db_col_digest(q, 1, &r->image_id);
	store_db_col_digest(q, 2, &r->manifest_digest);
}

int st_store_ref_get(struct st_store *s, const char *name, struct st_store_ref *out,
		     struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT name, image_id, manifest_digest FROM refs WHERE name = ?",
			     &q, err) < 0)
		return -1;
	store_db_bind_text(q, 1, name);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return st_err(err, ST_E_NOTFOUND, "reference '%s': not found", name);
	if (rc != SQLITE_ROW)
		return store_db_err(s, rc, err, "read reference");
	ref_from_row(q, out);
	return 0;
}

int st_store_ref_delete(struct st_store *s, const char *name, struct st_error **err)
{
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(s, "DELETE FROM refs WHERE name = ?", &st, err) < 0)
		return -1;
	store_db_bind_text(st, 1, name);
	if (store_db_step_done(s, st, err) < 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return st_err(err, ST_E_NOTFOUND, "reference '%s': not found", name);
	return 0;
}

int st_store_ref_list(struct st_store *s, const char *image_id, struct st_store_ref **out,
		      size_t *n, struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s,
			     image_id
				 ? "SELECT name, image_id, manifest_digest FROM refs "
				   "WHERE image_id = ? ORDER BY name"
				 : "SELECT name, image_id, manifest_digest FROM refs ORDER BY name",
			     &q, err) < 0)
		return -1;
	if (image_id)
		store_db_bind_text(q, 1, image_id);
	struct st_store_ref *v = NULL;
	size_t len = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		v = st_xrealloc(v, (len + 1) * sizeof(*v));
		ref_from_row(q, &v[len++]);
	}
	if (rc != SQLITE_DONE) {
		st_store_refs_free(v, len);
		return store_db_err(s, rc, err, "read references");
	}
	*out = v;
	*n = len;
	return 0;
}

void st_store_ref_release(struct st_store_ref *r)
{
	free(r->name);
	r->name = NULL;
}

void st_store_refs_free(struct st_store_ref *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		st_store_ref_release(&v[i]);
	free(v);
}

/* ---- images ---- */

static int check_image(const struct st_store_image *img, struct st_error **err)
{
	if (store_check_digest(img->id.str, "image id", err) < 0 ||
	    store_check_digest(img->manifest_digest.str, "manifest", err) < 0)
		return -1;
	if (!img->manifest_media_type || !img->config_media_type)
		return st_err(err, ST_E_INVALID, "image %s: no media type", img->id.str);
	return 0;
}

int st_store_image_put(struct st_store *s, const struct st_store_image *img,
		       const char *const *refs, size_t n_refs, struct st_error **err)
{
	if (check_image(img, err) < 0)
		return -1;
	for (size_t i = 0; i < n_refs; i++)
		if (check_name(refs[i], err) < 0)
			return -1;
	st_autotx struct tx t = { 0 };
	if (store_tx_begin(s, &t, true, err) < 0)
		return -1;
	/* Checked inside the write transaction: a concurrent gc either ran before (and the
	 * check sees what it removed) or runs after (and sees this image). */
	const char *need[] = { img->manifest_digest.str, img->id.str };
	for (size_t i = 0; i < 2; i++)
		if (!st_store_has_blob(s, need[i]))
			return st_err(err, ST_E_NOTFOUND, "image %s: %s blob %s not found",
				      img->id.str, i == 0 ? "manifest" : "config", need[i]);
	uint64_t size = 0;
	for (size_t i = 0; i < img->n_layers; i++) {
		if (store_layer_put_locked(s, &img->layers[i], err) < 0)
			return st_err_wrap(err, "image %s", img->id.str);
		size += img->layers[i].diff_size;
	}
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(s,
			     "INSERT INTO images (id, manifest_digest, manifest_media_type, "
			     "config_media_type, created, os, architecture, variant, size, added) "
			     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
			     "manifest_digest = excluded.manifest_digest, "
			     "manifest_media_type = excluded.manifest_media_type, "
			     "config_media_type = excluded.config_media_type, "
			     "created = excluded.created, os = excluded.os, "
			     "architecture = excluded.architecture, variant = excluded.variant, "
			     "size = excluded.size, added = excluded.added",
			     &st, err) < 0)
		return -1;
	store_db_bind_text(st, 1, img->id.str);
	store_db_bind_text(st, 2, img->manifest_digest.str);
	store_db_bind_text(st, 3, img->manifest_media_type);
	store_db_bind_text(st, 4, img->config_media_type);
	store_db_bind_text(st, 5, img->created);
	store_db_bind_text(st, 6, img->os);
	store_db_bind_text(st, 7, img->architecture);
	store_db_bind_text(st, 8, img->variant);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)size);
	sqlite3_bind_int64(st, 10, store_now_us());
	if (store_db_step_done(s, st, err) < 0)
		return -1;

	st_autostmt sqlite3_stmt *del = NULL;
	if (store_db_prepare(s, "DELETE FROM image_layers WHERE image_id = ?", &del, err) < 0)
		return -1;
	store_db_bind_text(del, 1, img->id.str);
	if (store_db_step_done(s, del, err) < 0)
		return -1;
	st_autostmt sqlite3_stmt *ins = NULL;
	if (store_db_prepare(s,
			     "INSERT INTO image_layers (image_id, idx, diff_id, digest) "
			     "VALUES (?, ?, ?, ?)",
			     &ins, err) < 0)
		return -1;
	for (size_t i = 0; i < img->n_layers; i++) {
		sqlite3_reset(ins);
		store_db_bind_text(ins, 1, img->id.str);
		sqlite3_bind_int64(ins, 2, (sqlite3_int64)i);
		store_db_bind_text(ins, 3, img->layers[i].diff_id.str);
		store_db_bind_text(ins, 4, img->layers[i].digest.str);
		if (store_db_step_done(s, ins, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < n_refs; i++)
		if (ref_set_locked(s, refs[i], img->id.str, NULL, err) < 0)
			return -1;
	return store_tx_commit(&t, err);
}

/* Resolve a full id or a unique hex prefix to a full id in 'out'. */
static int resolve_id(struct st_store *s, const char *id, struct st_digest *out,
		      struct st_error **err)
{
	if (st_digest_valid(id)) {
		memcpy(out->str, id, ST_DIGEST_STR_LEN + 1);
		return 0;
	}
	const char *hex = strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
	size_t len = strlen(hex);
	bool ok = len >= 4 && len <= ST_DIGEST_HEX_LEN;
	for (size_t i = 0; ok && i < len; i++)
		ok = isdigit((unsigned char)hex[i]) || (hex[i] >= 'a' && hex[i] <= 'f');
	if (!ok)
		return st_err(err, ST_E_NOTFOUND, "image '%s': not found", id);
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT id FROM images WHERE substr(id, 8, ?) = ? LIMIT 2", &q,
			     err) < 0)
		return -1;
	sqlite3_bind_int(q, 1, (int)len);
	store_db_bind_text(q, 2, hex);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return st_err(err, ST_E_NOTFOUND, "image '%s': not found", id);
	if (rc != SQLITE_ROW)
		return store_db_err(s, rc, err, "read image");
	store_db_col_digest(q, 0, out);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		return st_err(err, ST_E_INVALID, "image '%s': ambiguous id prefix", id);
	return 0;
}

static int load_image(struct st_store *s, const char *id, struct st_store_image **out,
		      struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(
		s,
		"SELECT id, manifest_digest, manifest_media_type, config_media_type, "
		"created, os, architecture, variant, size, added FROM images WHERE id = ?",
		&q, err) < 0)
		return -1;
	store_db_bind_text(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return st_err(err, ST_E_NOTFOUND, "image %s: not found", id);
	if (rc != SQLITE_ROW)
		return store_db_err(s, rc, err, "read image");
	st_auto(st_store_image) struct st_store_image *img = st_xcalloc(1, sizeof(*img));
	store_db_col_digest(q, 0, &img->id);
	store_db_col_digest(q, 1, &img->manifest_digest);
	img->manifest_media_type = store_db_col_dup(q, 2);
	img->config_media_type = store_db_col_dup(q, 3);
	img->created = store_db_col_dup(q, 4);
	img->os = store_db_col_dup(q, 5);
	img->architecture = store_db_col_dup(q, 6);
	img->variant = store_db_col_dup(q, 7);
	img->size = (uint64_t)sqlite3_column_int64(q, 8);
	img->added = sqlite3_column_int64(q, 9);

	st_autostmt sqlite3_stmt *lq = NULL;
	if (store_db_prepare(s,
			     "SELECT l.digest, il.diff_id, l.media_type, l.size, l.diff_size "
			     "FROM image_layers il JOIN layers l ON l.digest = il.digest "
			     "WHERE il.image_id = ? ORDER BY il.idx",
			     &lq, err) < 0)
		return -1;
	store_db_bind_text(lq, 1, id);
	while ((rc = sqlite3_step(lq)) == SQLITE_ROW) {
		img->layers = st_xrealloc(img->layers, (img->n_layers + 1) * sizeof(*img->layers));
		layer_from_row(lq, 0, &img->layers[img->n_layers++]);
	}
	if (rc != SQLITE_DONE)
		return store_db_err(s, rc, err, "read image layers");
	*out = st_steal(&img);
	return 0;
}

int st_store_image_get(struct st_store *s, const char *id, struct st_store_image **out,
		       struct st_error **err)
{
	st_autotx struct tx t = { 0 };
	struct st_digest full;
	if (store_tx_begin(s, &t, false, err) < 0 || resolve_id(s, id, &full, err) < 0 ||
	    load_image(s, full.str, out, err) < 0)
		return -1;
	return store_tx_commit(&t, err);
}

/*
 * An image an index lists is not dangling while a name points at that index: it is one
 * platform of a named multi-platform image.
 */
#define NOT_IN_NAMED_INDEX                                                                         \
	"NOT EXISTS (SELECT 1 FROM refs JOIN edges e ON e.src = refs.manifest_digest "             \
	"AND e.kind = 'child' WHERE e.dst = images.manifest_digest) "

int st_store_image_list(struct st_store *s, unsigned flags, struct st_store_image ***out, size_t *n,
			struct st_error **err)
{
	st_autotx struct tx t = { 0 };
	if (store_tx_begin(s, &t, false, err) < 0)
		return -1;
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s,
			     (flags & ST_STORE_LIST_DANGLING)
				 ? "SELECT id FROM images WHERE NOT EXISTS "
				   "(SELECT 1 FROM refs WHERE refs.image_id = images.id) "
				   "AND " NOT_IN_NAMED_INDEX "ORDER BY added DESC, rowid DESC"
				 : "SELECT id FROM images ORDER BY added DESC, rowid DESC",
			     &q, err) < 0)
		return -1;
	struct st_store_image **v = NULL;
	size_t len = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		v = st_xrealloc(v, (len + 1) * sizeof(*v));
		if (load_image(s, (const char *)sqlite3_column_text(q, 0), &v[len], err) < 0) {
			st_store_image_list_free(v, len);
			return -1;
		}
		len++;
	}
	if (rc != SQLITE_DONE) {
		st_store_image_list_free(v, len);
		return store_db_err(s, rc, err, "read images");
	}
	if (store_tx_commit(&t, err) < 0) {
		st_store_image_list_free(v, len);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

static int delete_image_locked(struct st_store *s, const char *id, struct st_error **err)
{
	const char *sql[] = { "DELETE FROM refs WHERE image_id = ?",
			      "DELETE FROM images WHERE id = ?" };
	for (size_t i = 0; i < 2; i++) {
		st_autostmt sqlite3_stmt *st = NULL;
		if (store_db_prepare(s, sql[i], &st, err) < 0)
			return -1;
		store_db_bind_text(st, 1, id);
		if (store_db_step_done(s, st, err) < 0)
			return -1;
	}
	return 0;
}

int st_store_image_delete(struct st_store *s, const char *id, unsigned flags, struct st_error **err)
{
	st_autotx struct tx t = { 0 };
	struct st_digest full;
	if (store_tx_begin(s, &t, true, err) < 0 || resolve_id(s, id, &full, err) < 0)
		return -1;
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT name FROM refs WHERE image_id = ? ORDER BY name LIMIT 1",
			     &q, err) < 0)
		return -1;
	store_db_bind_text(q, 1, full.str);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && !(flags & ST_STORE_DELETE_FORCE))
		return st_err(err, ST_E_BUSY, "image %s: referenced by '%s'", full.str,
			      (const char *)sqlite3_column_text(q, 0));
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_err(s, rc, err, "read references");
	if (delete_image_locked(s, full.str, err) < 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return st_err(err, ST_E_NOTFOUND, "image %s: not found", full.str);
	return store_tx_commit(&t, err);
}

/* The names of the references to 'image_id', sorted. */
static int ref_names(struct st_store *s, const char *image_id, char ***out, size_t *n,
		     struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT name FROM refs WHERE image_id = ? ORDER BY name", &q, err) <
	    0)
		return -1;
	store_db_bind_text(q, 1, image_id);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		*out = st_xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = store_db_col_dup(q, 0);
	}
	if (rc != SQLITE_DONE)
		return store_db_err(s, rc, err, "read references");
	return 0;
}

int st_store_image_remove(struct st_store *s, const char *image_id, const char *name,
			  unsigned flags, struct st_store_image_removal *out, struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	st_autotx struct tx t = { 0 };
	if (store_tx_begin(s, &t, true, err) < 0)
		return -1;
	char **names = NULL;
	size_t n = 0;
	int rc = ref_names(s, image_id, &names, &n, err);
	bool by_name = false;
	for (size_t i = 0; rc == 0 && name && i < n; i++)
		by_name = by_name || !strcmp(names[i], name);
	if (rc == 0 && by_name && n > 1) {
		/* One of several names: only the name goes. */
		st_autostmt sqlite3_stmt *d = NULL;
		rc = store_db_prepare(s, "DELETE FROM refs WHERE name = ?", &d, err);
		if (rc == 0) {
			store_db_bind_text(d, 1, name);
			rc = store_db_step_done(s, d, err);
		}
		st_store_strings_free(names, n);
		names = st_xcalloc(1, sizeof(*names));
		names[0] = st_xstrdup(name);
		n = 1;
	} else if (rc == 0 && n > 1 && !(flags & ST_STORE_DELETE_FORCE)) {
		rc = st_err(err, ST_E_BUSY,
			    "image is referenced in multiple repositories (use -f to remove it "
			    "with all its names)");
	} else if (rc == 0) {
		rc = delete_image_locked(s, image_id, err);
		if (rc == 0 && sqlite3_changes(s->db) == 0)
			rc = st_err(err, ST_E_NOTFOUND, "image %s: not found", image_id);
		out->deleted = rc == 0;
	}
	if (rc == 0)
		rc = store_tx_commit(&t, err);
	if (rc < 0) {
		st_store_strings_free(names, n);
		out->deleted = false;
		return -1;
	}
	out->untagged = names;
	out->n_untagged = n;
	return 0;
}

void st_store_image_removal_release(struct st_store_image_removal *r)
{
	st_store_strings_free(r->untagged, r->n_untagged);
	memset(r, 0, sizeof(*r));
}

int st_store_image_prune(struct st_store *s, unsigned flags, char ***ids, size_t *n,
			 struct st_error **err)
{
	st_autotx struct tx t = { 0 };
	if (store_tx_begin(s, &t, true, err) < 0)
		return -1;
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s,
			     (flags & ST_STORE_PRUNE_ALL)
				 ? "SELECT id FROM images ORDER BY added"
				 : "SELECT id FROM images WHERE NOT EXISTS "
				   "(SELECT 1 FROM refs WHERE refs.image_id = images.id) "
				   "AND " NOT_IN_NAMED_INDEX "ORDER BY added",
			     &q, err) < 0)
		return -1;
	char **v = NULL;
	size_t len = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		v = st_xrealloc(v, (len + 1) * sizeof(*v));
		v[len++] = store_db_col_dup(q, 0);
	}
	if (rc != SQLITE_DONE) {
		st_store_strings_free(v, len);
		return store_db_err(s, rc, err, "read images");
	}
	sqlite3_reset(q);
	for (size_t i = 0; i < len; i++) {
		if (delete_image_locked(s, v[i], err) < 0) {
			st_store_strings_free(v, len);
			return -1;
		}
	}
	if (store_tx_commit(&t, err) < 0) {
		st_store_strings_free(v, len);
		return -1;
	}
	if (ids)
		*ids = v;
	else
		st_store_strings_free(v, len);
	if (n)
		*n = len;
	return 0;
}

void st_store_image_free(struct st_store_image *img)
{
	if (!img)
		return;
	free(img->manifest_media_type);
	free(img->config_media_type);
	free(img->created);
	free(img->os);
	free(img->architecture);
	free(img->variant);
	st_store_layers_free(img->layers, img->n_layers);
	free(img);
}

void st_store_image_freep(struct st_store_image **img)
{
	st_store_image_free(*img);
	*img = NULL;
}

void st_store_image_list_free(struct st_store_image **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		st_store_image_free(v[i]);
	free(v);
}

void st_store_strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- unpacked layers ---- */

int st_store_unpacked_path(struct st_store *s, const char *diff_id, char **out,
			   struct st_error **err)
{
	if (store_check_digest(diff_id, "diff_id", err) < 0)
		return -1;
	*out = st_path_join(s->layers_dir, diff_id + 7);
	return 0;
}

int st_store_unpacked_mark(struct st_store *s, const char *diff_id, uint64_t size,
			   struct st_error **err)
{
	st_autofree char *path = NULL;
	if (st_store_unpacked_path(s, diff_id, &path, err) < 0)
		return -1;
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return st_err(err, ST_E_NOTFOUND, "unpacked layer %s: no directory '%s'", diff_id,
			      path);
	st_autostmt sqlite3_stmt *ins = NULL;
	if (store_db_prepare(s,
			     "INSERT INTO unpacked (diff_id, size, added) VALUES (?, ?, ?) "
			     "ON CONFLICT (diff_id) DO UPDATE SET size = excluded.size",
			     &ins, err) < 0)
		return -1;
	store_db_bind_text(ins, 1, diff_id);
	sqlite3_bind_int64(ins, 2, (sqlite3_int64)size);
	sqlite3_bind_int64(ins, 3, store_now_us());
	return store_db_step_done(s, ins, err);
}

bool st_store_unpacked_has(struct st_store *s, const char *diff_id, uint64_t *size)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (!diff_id || sqlite3_prepare_v2(s->db, "SELECT size FROM unpacked WHERE diff_id = ?", -1,
					   &q, NULL) != SQLITE_OK)
		return false;
	store_db_bind_text(q, 1, diff_id);
	if (sqlite3_step(q) != SQLITE_ROW)
		return false;
	if (size)
		*size = (uint64_t)sqlite3_column_int64(q, 0);
	return true;
}

int st_store_unpacked_unmark(struct st_store *s, const char *diff_id, struct st_error **err)
{
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(s, "DELETE FROM unpacked WHERE diff_id = ?", &st, err) < 0)
		return -1;
	store_db_bind_text(st, 1, diff_id);
	if (store_db_step_done(s, st, err) < 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return st_err(err, ST_E_NOTFOUND, "unpacked layer %s: not marked", diff_id);
	return 0;
}
