/*
 * gc.c: garbage collection, consistency check and disk usage.
 *
 * gc runs in two write transactions. The first expires dead leases and deletes the layer and
 * unpacked records and the edges nothing reaches, and commits. The second computes the live blob
 * set from what is left and unlinks every other blob while still holding the write lock. Holding
 * the lock matters: st_store_image_put() checks that its blobs exist inside its own write
 * transaction, so it either runs before gc (and gc sees the image) or after (and sees the
 * blob gone). Splitting in two matters too: if gc is killed while unlinking, the records that
 * pointed at those blobs are already gone, so no record ever names a missing blob.
 */
#include "store/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define st_autodir __attribute__((cleanup(closedirp)))

/* True if nobody holds an flock on 'path' (a missing file counts as unlocked). */
static bool unlocked(const char *path)
{
	st_autoclose int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT;
	return flock(fd, LOCK_EX | LOCK_NB) == 0;
}

/* Does 'sql' with one text parameter return a row? */
static int exists(struct st_store *s, const char *sql, const char *arg, bool *out,
		  struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, sql, &q, err) < 0)
		return -1;
	store_db_bind_text(q, 1, arg);
	int rc = sqlite3_step(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_err(s, rc, err, "read");
	*out = rc == SQLITE_ROW;
	return 0;
}

static int query_u64(struct st_store *s, const char *sql, uint64_t *out, struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, sql, &q, err) < 0)
		return -1;
	int rc = sqlite3_step(q);
	if (rc != SQLITE_ROW)
		return store_db_err(s, rc, err, "read");
	*out = (uint64_t)sqlite3_column_int64(q, 0);
	return 0;
}

static int expire_leases(struct st_store *s, bool dry, struct st_store_gc_report *r,
			 struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	st_autostmt sqlite3_stmt *del = NULL;
	if (store_db_prepare(s, "SELECT id FROM leases", &q, err) < 0 ||
	    store_db_prepare(s, "DELETE FROM leases WHERE id = ?", &del, err) < 0)
		return -1;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(q, 0);
		if (!id || strchr(id, '/'))
			continue;
		st_autofree char *path = st_path_join(s->leases_dir, id);
		if (!unlocked(path))
			continue;
		sqlite3_reset(del);
		store_db_bind_text(del, 1, id);
		if (store_db_step_done(s, del, err) < 0)
			return -1;
		/* The holder is gone; if this transaction rolls back, a row without a file is
		 * still dead to the next gc. */
		if (!dry)
			unlink(path);
		r->leases++;
	}
	if (rc != SQLITE_DONE)
		return store_db_err(s, rc, err, "read leases");
	return 0;
}

static const char live_diff_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS gc_live_diff (d TEXT PRIMARY KEY);"
    "DELETE FROM gc_live_diff;"
    "INSERT OR IGNORE INTO gc_live_diff SELECT diff_id FROM image_layers "
    "  UNION SELECT diff_id FROM cache WHERE diff_id IS NOT NULL "
    "  UNION SELECT item FROM lease_items;";

/*
 * After the dead records are gone every remaining layer record is live. From the records,
 * edges reach further: down from what lists ('child'), up from a subject to its artifacts.
 */
static const char live_blob_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS gc_live_blob (d TEXT PRIMARY KEY);"
    "DELETE FROM gc_live_blob;"
    "WITH RECURSIVE live(d) AS ("
    "  SELECT id FROM images "
    "  UNION SELECT manifest_digest FROM images "
    "  UNION SELECT manifest_digest FROM refs "
    "  UNION SELECT digest FROM layers "
    "  UNION SELECT item FROM lease_items "
    "  UNION SELECT e.dst FROM edges e JOIN live ON e.src = live.d WHERE e.kind = 'child' "
    "  UNION SELECT e.src FROM edges e JOIN live ON e.dst = live.d WHERE e.kind = 'subject') "
    "INSERT OR IGNORE INTO gc_live_blob SELECT d FROM live;";

static int delete_dead_records(struct st_store *s, struct st_store_gc_report *r,
			       struct st_error **err)
{
	if (store_db_exec(s, live_diff_sql, err) < 0)
		return -1;
	if (store_db_exec(s,
			  "DELETE FROM layers WHERE diff_id NOT IN (SELECT d FROM gc_live_diff) "
			  "AND digest NOT IN (SELECT digest FROM image_layers) "
			  "AND digest NOT IN (SELECT item FROM lease_items)",
			  err) < 0)
		return -1;
	r->layers += (size_t)sqlite3_changes(s->db);
	uint64_t bytes = 0;
	if (query_u64(s,
		      "SELECT coalesce(sum(size), 0) FROM unpacked "
		      "WHERE diff_id NOT IN (SELECT d FROM gc_live_diff)",
		      &bytes, err) < 0)
		return -1;
	r->unpacked_bytes += bytes;
	if (store_db_exec(s,
			  "DELETE FROM unpacked WHERE diff_id NOT IN (SELECT d FROM gc_live_diff)",
			  err) < 0)
		return -1;
	/* An edge goes with the object it starts from: an artifact goes with its subject. */
	if (store_db_exec(s, live_blob_sql, err) < 0 ||
	    store_db_exec(s, "DELETE FROM edges WHERE src NOT IN (SELECT d FROM gc_live_blob)",
			  err) < 0)
		return -1;
	r->edges += (size_t)sqlite3_changes(s->db);
	return 0;
}

static int sweep_blobs(struct st_store *s, bool dry, struct st_store_gc_report *r,
		       struct st_error **err)
{
	if (store_db_exec(s, live_blob_sql, err) < 0)
		return -1;
	st_autodir DIR *d = opendir(s->blobs_dir);
	if (!d)
		return st_err_errno(err, "gc: open '%s'", s->blobs_dir);
	struct dirent *de;
	char digest[ST_DIGEST_STR_LEN + 1];
	while ((errno = 0, de = readdir(d))) {
		if (!st_digest_hex_valid(de->d_name))
			continue; /* not ours to judge; st_store_check() reports it */
		memcpy(digest, "sha256:", 7);
		memcpy(digest + 7, de->d_name, ST_DIGEST_HEX_LEN + 1);
		bool live = false;
		if (exists(s, "SELECT 1 FROM gc_live_blob WHERE d = ?", digest, &live, err) < 0)
			return -1;
		if (live)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!dry && unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			return st_err_errno(err, "gc: remove blob %s", digest);
		r->blobs++;
		r->blob_bytes += (uint64_t)st.st_size;
	}
	if (errno)
		return st_err_errno(err, "gc: read '%s'", s->blobs_dir);
	return 0;
}

/*
 * Move dead unpacked layers out of layers/ into tmp/ (a rename: quick, under the lock) and
 * append the new paths to 'doomed' for removal after the commit.
 */
static int sweep_unpacked(struct st_store *s, bool dry, struct st_store_gc_report *r,
			  char ***doomed, size_t *n_doomed, struct st_error **err)
{
	st_autodir DIR *d = opendir(s->layers_dir);
	if (!d)
		return st_err_errno(err, "gc: open '%s'", s->layers_dir);
	struct dirent *de;
	char digest[ST_DIGEST_STR_LEN + 1];
	while ((errno = 0, de = readdir(d))) {
		if (!st_digest_hex_valid(de->d_name))
			continue;
		memcpy(digest, "sha256:", 7);
		memcpy(digest + 7, de->d_name, ST_DIGEST_HEX_LEN + 1);
		bool live = false;
		if (exists(s, "SELECT 1 FROM gc_live_diff WHERE d = ?", digest, &live, err) < 0)
			return -1;
		if (live)
			continue;
		r->unpacked++;
		if (dry)
			continue;
		char *to = st_xasprintf("%s/gc.%s", s->tmp_dir, de->d_name);
		if (st_rm_rf(to, err) < 0) {
			free(to);
			return -1;
		}
		if (renameat(dirfd(d), de->d_name, AT_FDCWD, to) < 0) {
			st_err_errno(err, "gc: move '%s/%s'", s->layers_dir, de->d_name);
			free(to);
			return -1;
		}
		*doomed = st_xrealloc(*doomed, (*n_doomed + 1) * sizeof(**doomed));
		(*doomed)[(*n_doomed)++] = to;
	}
	if (errno)
		return st_err_errno(err, "gc: read '%s'", s->layers_dir);
	return 0;
}

static uint64_t du(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return (uint64_t)st.st_size;
	uint64_t total = 0;
	st_autodir DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		st_autofree char *sub = st_path_join(path, de->d_name);
		total += du(sub);
	}
	return total;
}

static void problem(struct st_store_check_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The names in tmp/, listed while holding its lock exclusively (see store_tmp_guard()): no
 * entry is being created then, so one still named "new.*" was left by a killed creator.
 */
static int list_tmp(struct st_store *s, char ***names, size_t *n, struct st_error **err)
{
	st_autodir DIR *d = opendir(s->tmp_dir);
	if (!d)
		return st_err_errno(err, "gc: open '%s'", s->tmp_dir);
	int rc;
	while ((rc = flock(dirfd(d), LOCK_EX)) < 0 && errno == EINTR)
		;
	if (rc < 0)
		return st_err_errno(err, "gc: lock '%s'", s->tmp_dir);
	/* The lock goes with the descriptor, when 'd' is closed. */
	return st_dir_names(d, s->tmp_dir, names, n, err);
}

/*
 * Remove the tmp/ entries of processes that are gone: nobody holds their lock. What such a
 * process left mounted there (in a mount namespace that was not its own) is unmounted first.
 * An entry that still cannot go is skipped and counted: a leftover must never stop gc.
 * 'chk' (may be NULL) gets a problem naming each entry kept and why.
 */
static int sweep_tmp(struct st_store *s, unsigned flags, struct st_store_gc_report *r,
		     struct st_store_check_report *chk, struct st_error **err)
{
	char **names = NULL;
	size_t n = 0;
	if (list_tmp(s, &names, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		st_autofree char *path = st_path_join(s->tmp_dir, names[i]);
		struct stat st;
		if (lstat(path, &st) < 0)
			continue;
		if (!S_ISLNK(st.st_mode) && !unlocked(path))
			continue;
		uint64_t bytes = du(path);
		if (flags & ST_STORE_GC_DRY_RUN) {
			r->tmp++;
			r->tmp_bytes += bytes;
			continue;
		}
		struct st_error *e = NULL;
		size_t mounts = 0;
		int rc = st_umount_below(path, &mounts, &e);
		r->tmp_mounts += mounts;
		if (rc == 0)
			rc = st_rm_rf(path, &e);
		if (rc < 0) {
			r->tmp_kept++;
			if (chk)
				problem(chk, "tmp/%s: left by an interrupted command: %s", names[i],
					e->msg);
			st_error_free(e);
			continue;
		}
		r->tmp++;
		r->tmp_bytes += bytes;
	}
	st_strv_free(names, n);
	return 0;
}

/* Remove lock files of leases that never got a row (their holder died while beginning). */
static int sweep_lease_files(struct st_store *s, unsigned flags, struct st_error **err)
{
	st_autodir DIR *d = opendir(s->leases_dir);
	if (!d)
		return st_err_errno(err, "gc: open '%s'", s->leases_dir);
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		st_autofree char *path = st_path_join(s->leases_dir, de->d_name);
		struct stat st;
		if (lstat(path, &st) < 0)
			continue;
		if (!(flags & ST_STORE_GC_TMP_NOW) && now - st.st_mtime < ST_STORE_TMP_GRACE)
			continue;
		bool known = false;
		if (exists(s, "SELECT 1 FROM leases WHERE id = ?", de->d_name, &known, err) < 0)
			return -1;
		if (!known && unlocked(path) && !(flags & ST_STORE_GC_DRY_RUN))
			unlink(path);
	}
	return 0;
}

int st_store_gc(struct st_store *s, unsigned flags, struct st_store_gc_report *report,
		struct st_error **err)
{
	struct st_store_gc_report r = { 0 };
	bool dry = flags & ST_STORE_GC_DRY_RUN;
	char **doomed = NULL;
	size_t n_doomed = 0;
	int rc = -1;
	{
		st_autotx struct tx t = { 0 };
		if (store_tx_begin(s, &t, true, err) < 0 || expire_leases(s, dry, &r, err) < 0 ||
		    delete_dead_records(s, &r, err) < 0)
			goto out;
		/* A dry run stays in one transaction so it sees its own deletions; then rolls back.
		 */
		if (!dry && (store_tx_commit(&t, err) < 0 || store_tx_begin(s, &t, true, err) < 0))
			goto out;
		if (sweep_blobs(s, dry, &r, err) < 0 ||
		    sweep_unpacked(s, dry, &r, &doomed, &n_doomed, err) < 0)
			goto out;
		if (!dry && store_tx_commit(&t, err) < 0)
			goto out;
	}
	/* One that does not go now stays in tmp/, where sweep_tmp() tries again. */
	for (size_t i = 0; i < n_doomed; i++)
		st_rm_rf(doomed[i], NULL);
	if (sweep_tmp(s, flags, &r, NULL, err) < 0 || sweep_lease_files(s, flags, err) < 0)
		goto out;
	if (report)
		*report = r;
	rc = 0;
out:
	st_store_strings_free(doomed, n_doomed);
	if (rc < 0)
		st_err_wrap(err, "gc '%s'", s->root);
	return rc;
}

/* ---- check ---- */

static void problem(struct st_store_check_report *r, const char *fmt, ...)
{
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	r->problems = st_xrealloc(r->problems, (r->n_problems + 1) * sizeof(*r->problems));
	r->problems[r->n_problems++] = st_buf_detach(&b, NULL);
}

/*
 * Run 'sql' and report each row as a problem: column 0 formatted into 'fmt' with "%s",
 * column 1 (if any) as a second "%s".
 */
static int report_rows(struct st_store *s, struct st_store_check_report *r, const char *sql,
		       const char *fmt, struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, sql, &q, err) < 0)
		return -1;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(q, 0);
		const char *b =
		    sqlite3_column_count(q) > 1 ? (const char *)sqlite3_column_text(q, 1) : "";
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		problem(r, fmt, a ? a : "(null)", b ? b : "(null)");
#pragma GCC diagnostic pop
	}
	if (rc != SQLITE_DONE)
		return store_db_err(s, rc, err, "check");
	return 0;
}

/* Report every digest that 'sql' returns (col 0: what, col 1: digest) whose blob is missing. */
static int check_blobs_exist(struct st_store *s, struct st_store_check_report *r, const char *sql,
			     struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, sql, &q, err) < 0)
		return -1;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *what = (const char *)sqlite3_column_text(q, 0);
		const char *d = (const char *)sqlite3_column_text(q, 1);
		if (!d || !st_store_has_blob(s, d))
			problem(r, "%s: blob %s missing", what ? what : "?", d ? d : "(null)");
	}
	if (rc != SQLITE_DONE)
		return store_db_err(s, rc, err, "check");
	return 0;
}

static int check_blob_files(struct st_store *s, struct st_store_check_report *r,
			    struct st_error **err)
{
	st_autodir DIR *d = opendir(s->blobs_dir);
	if (!d)
		return st_err_errno(err, "check: open '%s'", s->blobs_dir);
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!st_digest_hex_valid(de->d_name)) {
			problem(r, "blobs/sha256/%s: not named by a digest", de->d_name);
			continue;
		}
		st_autofree char *path = st_path_join(s->blobs_dir, de->d_name);
		struct st_digest got;
		unsigned long long size = 0;
		struct st_error *e = NULL;
		if (st_digest_of_file(path, &got, &size, &e) < 0) {
			problem(r, "blob sha256:%s: %s", de->d_name, e->msg);
			st_error_free(e);
			continue;
		}
		r->blobs++;
		r->bytes += size;
		if (strcmp(st_digest_hex(&got), de->d_name) != 0)
			problem(r, "blob sha256:%s: corrupt: content hashes to %s", de->d_name,
				got.str);
	}
	if (errno)
		return st_err_errno(err, "check: read '%s'", s->blobs_dir);
	return 0;
}

static int check_layer_sizes(struct st_store *s, struct st_store_check_report *r,
			     struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT digest, size FROM layers", &q, err) < 0)
		return -1;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(q, 0);
		uint64_t want = (uint64_t)sqlite3_column_int64(q, 1);
		if (!d || !st_digest_valid(d)) {
			problem(r, "layer '%s': not a digest", d ? d : "(null)");
			continue;
		}
		st_autofree char *path = st_path_join(s->blobs_dir, d + 7);
		struct stat st;
		if (stat(path, &st) < 0)
			problem(r, "layer %s: blob missing", d);
		else if ((uint64_t)st.st_size != want)
			problem(r, "layer %s: recorded size %llu, blob has %llu bytes", d,
				(unsigned long long)want, (unsigned long long)st.st_size);
	}
	if (rc != SQLITE_DONE)
		return store_db_err(s, rc, err, "check");
	return 0;
}

static int check_unpacked(struct st_store *s, struct st_store_check_report *r,
			  struct st_error **err)
{
	st_autostmt sqlite3_stmt *q = NULL;
	if (store_db_prepare(s, "SELECT diff_id FROM unpacked", &q, err) < 0)
		return -1;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(q, 0);
		st_autofree char *path = NULL;
		struct st_error *e = NULL;
		if (st_store_unpacked_path(s, d, &path, &e) < 0) {
			problem(r, "unpacked layer: %s", e->msg);
			st_error_free(e);
			continue;
		}
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			problem(r, "unpacked layer %s: directory '%s' missing", d, path);
	}
	if (rc != SQLITE_DONE)
		return store_db_err(s, rc, err, "check");
	return 0;
}

int st_store_check(struct st_store *s, struct st_store_check_report *out, struct st_error **err)
{
	struct st_store_check_report r = { 0 };
	struct st_store_gc_report tmp = { 0 };
	if (sweep_tmp(s, 0, &tmp, &r, err) < 0)
		goto out;
	r.leftovers = tmp.tmp;
	r.leftover_bytes = tmp.tmp_bytes;
	r.leftover_mounts = tmp.tmp_mounts;
	{
		/* One read transaction: the records checked are one consistent snapshot. */
		st_autotx struct tx t = { 0 };
		if (store_tx_begin(s, &t, false, err) < 0)
			goto out;
		if (report_rows(s, &r,
				"SELECT quick_check FROM pragma_quick_check "
				"WHERE quick_check != 'ok'",
				"database: %s%s", err) < 0 ||
		    report_rows(s, &r, "SELECT \"table\", parent FROM pragma_foreign_key_check",
				"database: a row of %s points to a missing %s row", err) < 0 ||
		    report_rows(s, &r,
				"SELECT name, image_id FROM refs "
				"WHERE image_id NOT IN (SELECT id FROM images)",
				"reference '%s': image %s missing", err) < 0 ||
		    check_blobs_exist(s, &r,
				      "SELECT 'reference ''' || name || '''', manifest_digest "
				      "FROM refs",
				      err) < 0 ||
		    check_blobs_exist(s, &r,
				      "SELECT 'image ' || id || ' manifest', manifest_digest "
				      "FROM images UNION ALL "
				      "SELECT 'image ' || id || ' config', id FROM images",
				      err) < 0 ||
		    check_blobs_exist(s, &r,
				      "SELECT 'edge from ' || src, dst FROM edges "
				      "WHERE kind = 'child'",
				      err) < 0 ||
		    report_rows(s, &r,
				"SELECT image_id, digest FROM image_layers "
				"WHERE digest NOT IN (SELECT digest FROM layers)",
				"image %s: layer record %s missing", err) < 0 ||
		    check_layer_sizes(s, &r, err) < 0 || check_unpacked(s, &r, err) < 0 ||
		    check_blob_files(s, &r, err) < 0)
			goto out;
		if (store_tx_commit(&t, err) < 0)
			goto out;
	}
	*out = r;
	return 0;
out:
	st_store_check_report_release(&r);
	return st_err_wrap(err, "check '%s'", s->root);
}

void st_store_check_report_release(struct st_store_check_report *r)
{
	st_store_strings_free(r->problems, r->n_problems);
	r->problems = NULL;
	r->n_problems = 0;
}

/* ---- df ---- */

int st_store_df(struct st_store *s, struct st_store_df *out, struct st_error **err)
{
	struct st_store_df df = { 0 };
	struct st_store_gc_report gc;
	if (st_store_gc(s, ST_STORE_GC_DRY_RUN, &gc, err) < 0)
		return st_err_wrap(err, "disk usage");
	df.gc_reclaimable = gc.blob_bytes + gc.unpacked_bytes + gc.tmp_bytes;

	st_autotx struct tx t = { 0 };
	uint64_t v[8];
	const char *const sql[8] = {
		"SELECT count(*) FROM images",
		"SELECT count(*) FROM images WHERE id IN (SELECT image_id FROM refs)",
		/* A layer shared by several images counts once, as `docker system df` does. */
		"SELECT coalesce(sum(ds), 0) FROM (SELECT max(l.diff_size) AS ds "
		"  FROM image_layers il JOIN layers l ON l.digest = il.digest GROUP BY il.diff_id)",
		"SELECT coalesce(sum(ds), 0) FROM (SELECT max(l.diff_size) AS ds "
		"  FROM image_layers il JOIN layers l ON l.digest = il.digest "
		"  WHERE il.diff_id NOT IN (SELECT x.diff_id FROM image_layers x "
		"    JOIN refs r ON r.image_id = x.image_id) GROUP BY il.diff_id)",
		"SELECT count(DISTINCT diff_id) FROM layers",
		"SELECT count(*) FROM unpacked",
		"SELECT coalesce(sum(size), 0) FROM unpacked",
		"SELECT count(*) FROM cache",
	};
	if (store_tx_begin(s, &t, false, err) < 0)
		return st_err_wrap(err, "disk usage");
	for (size_t i = 0; i < 8; i++)
		if (query_u64(s, sql[i], &v[i], err) < 0)
			return st_err_wrap(err, "disk usage");
	if (query_u64(s, "SELECT coalesce(sum(size), 0) FROM cache", &df.cache_size, err) < 0 ||
	    store_tx_commit(&t, err) < 0)
		return st_err_wrap(err, "disk usage");
	df.images = (size_t)v[0];
	df.images_active = (size_t)v[1];
	df.images_size = v[2];
	df.images_reclaimable = v[3];
	df.layers = (size_t)v[4];
	df.unpacked = (size_t)v[5];
	df.unpacked_size = v[6];
	df.cache = (size_t)v[7];

	st_autodir DIR *d = opendir(s->blobs_dir);
	if (!d)
		return st_err_errno(err, "disk usage: open '%s'", s->blobs_dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (!st_digest_hex_valid(de->d_name) || fstatat(dirfd(d), de->d_name, &st, 0) < 0)
			continue;
		df.blobs++;
		df.blobs_size += (uint64_t)st.st_size;
	}
	*out = df;
	return 0;
}
