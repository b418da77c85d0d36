/* store.c: opening the store, the database schema and its migrations, SQL helpers. */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
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

/*
 * Several processes share the database; a writer holds the lock for one short transaction,
 * but gc or a big image_put may take a while on a slow disk. Ten seconds is long enough to
 * ride that out and short enough that a wedged process is reported instead of hanging.
 */
#define BUSY_TIMEOUT_MS 10000

/*
 * migrations[i] takes the schema from version i to i + 1. Never edit a released entry: add
 * one. Digests are "sha256:<hex>" text; sizes are bytes; times are microseconds.
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE layers ("
	"  digest TEXT PRIMARY KEY,"
	"  diff_id TEXT NOT NULL,"
	"  media_type TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  diff_size INTEGER NOT NULL,"
	"  added INTEGER NOT NULL);"
	"CREATE INDEX layers_diff_id ON layers(diff_id);"
	"CREATE TABLE images ("
	"  id TEXT PRIMARY KEY,"
	"  manifest_digest TEXT NOT NULL,"
	"  manifest_media_type TEXT NOT NULL,"
	"  config_media_type TEXT NOT NULL,"
	"  created TEXT, os TEXT, architecture TEXT, variant TEXT,"
	"  size INTEGER NOT NULL,"
	"  added INTEGER NOT NULL);"
	"CREATE TABLE image_layers ("
	"  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  diff_id TEXT NOT NULL,"
	"  digest TEXT NOT NULL REFERENCES layers(digest),"
	"  PRIMARY KEY (image_id, idx));"
	"CREATE INDEX image_layers_digest ON image_layers(digest);"
	"CREATE INDEX image_layers_diff_id ON image_layers(diff_id);"
	"CREATE TABLE refs ("
	"  name TEXT PRIMARY KEY,"
	"  image_id TEXT NOT NULL REFERENCES images(id),"
	"  manifest_digest TEXT NOT NULL);"
	"CREATE INDEX refs_image ON refs(image_id);"
	"CREATE TABLE cache ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL,"
	"  diff_id TEXT,"
	"  size INTEGER NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  last_used INTEGER NOT NULL);"
	"CREATE INDEX cache_last_used ON cache(last_used);"
	"CREATE INDEX cache_diff_id ON cache(diff_id);"
	"CREATE TABLE kv ("
	"  ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
	"  PRIMARY KEY (ns, key));"
	"CREATE TABLE unpacked ("
	"  diff_id TEXT PRIMARY KEY,"
	"  size INTEGER NOT NULL,"
	"  added INTEGER NOT NULL);"
	"CREATE TABLE leases ("
	"  id TEXT PRIMARY KEY,"
	"  pid INTEGER NOT NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE lease_items ("
	"  lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,"
	"  item TEXT NOT NULL,"
	"  PRIMARY KEY (lease_id, item));"
	"CREATE INDEX lease_items_item ON lease_items(item);",
	/* 1 -> 2: where an image came from or went to, as "repository@digest" */
	"CREATE TABLE repo_digests ("
	"  name TEXT PRIMARY KEY,"
	"  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE);"
	"CREATE INDEX repo_digests_image ON repo_digests(image_id);",
	/*
	 * 2 -> 3: edges between stored objects ('child': src lists dst; 'subject': src, an
	 * artifact of 'type', describes dst). A reference pulled through an index now keeps the
	 * index's manifest through an edge too.
	 */
	"CREATE TABLE edges ("
	"  src TEXT NOT NULL,"
	"  dst TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('child', 'subject')),"
	"  type TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (src, kind, dst));"
	"CREATE INDEX edges_dst ON edges(dst, kind, type);"
	"INSERT OR IGNORE INTO edges (src, dst, kind) "
	"  SELECT r.manifest_digest, i.manifest_digest, 'child' FROM refs r "
	"  JOIN images i ON i.id = r.image_id WHERE r.manifest_digest != i.manifest_digest;",
};

_Static_assert(sizeof(migrations) / sizeof(*migrations) == ST_STORE_SCHEMA_VERSION,
	       "one migration per schema version");

int64_t store_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int store_db_err(struct st_store *s, int rc, struct st_error **err, const char *what)
{
	int prim = rc & 0xff;
	enum st_errkind kind = ST_E_IO;
	if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
		kind = ST_E_BUSY;
	else if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB)
		kind = ST_E_INVALID;
	else if (prim == SQLITE_CONSTRAINT)
		kind = ST_E_INVALID;
	return st_err(err, kind, "%s: database '%s': %s", what, s->db_path,
		      s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

int store_db_exec(struct st_store *s, const char *sql, struct st_error **err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_db_err(s, rc, err, "exec");
	return 0;
}

int store_db_prepare(struct st_store *s, const char *sql, sqlite3_stmt **out, struct st_error **err)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, out, NULL);
	if (rc != SQLITE_OK)
		return store_db_err(s, rc, err, "prepare");
	return 0;
}

int store_db_step_done(struct st_store *s, sqlite3_stmt *st, struct st_error **err)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_db_err(s, rc, err, "write");
	return 0;
}

void store_db_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

char *store_db_col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? st_xstrdup((const char *)t) : NULL;
}

void store_db_col_digest(sqlite3_stmt *st, int i, struct st_digest *d)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	d->str[0] = '\0';
	if (t && st_digest_valid(t))
		memcpy(d->str, t, ST_DIGEST_STR_LEN + 1);
}

int store_tx_begin(struct st_store *s, struct tx *t, bool write, struct st_error **err)
{
	t->s = s;
	t->open = false;
	if (store_db_exec(s, write ? "BEGIN IMMEDIATE" : "BEGIN", err) < 0)
		return -1;
	t->open = true;
	return 0;
}

int store_tx_commit(struct tx *t, struct st_error **err)
{
	if (store_db_exec(t->s, "COMMIT", err) < 0)
		return -1; /* the cleanup rolls back */
	t->open = false;
	return 0;
}

void store_tx_rollbackp(struct tx *t)
{
	if (t->s && t->open)
		sqlite3_exec(t->s->db, "ROLLBACK", NULL, NULL, NULL);
	t->open = false;
}

int store_check_digest(const char *d, const char *what, struct st_error **err)
{
	if (!d || !st_digest_valid(d))
		return st_err(err, ST_E_INVALID, "%s '%s': not a sha256 digest", what,
			      d ? d : "(null)");
	return 0;
}

static int pragma_int(struct st_store *s, const char *sql, int *out, struct st_error **err)
{
	st_autostmt sqlite3_stmt *st = NULL;
	if (store_db_prepare(s, sql, &st, err) < 0)
		return -1;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_db_err(s, rc, err, "read schema version");
	*out = sqlite3_column_int(st, 0);
	return 0;
}

int store_db_relaxed_begin(struct st_store *s, struct st_error **err)
{
	return store_db_exec(s, "PRAGMA synchronous=NORMAL", err);
}

int store_db_relaxed_end(struct st_store *s, int rc, struct st_error **err)
{
	if (store_db_exec(s, "PRAGMA synchronous=FULL", rc < 0 ? NULL : err) < 0)
		return -1;
	return rc;
}

/*
 * Switching to WAL needs the database to itself for a moment. When several processes create a
 * store at once, SQLite answers "busy" or returns the old mode unchanged instead of waiting, so
 * try again for as long as the busy timeout would have waited.
 */
static int set_wal(struct st_store *s, struct st_error **err)
{
	for (int tries = 0;; tries++) {
		st_autostmt sqlite3_stmt *st = NULL;
		if (store_db_prepare(s, "PRAGMA journal_mode=WAL", &st, err) < 0)
			return -1;
		int rc = sqlite3_step(st);
		const char *mode =
		    rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
		if (mode && !strcmp(mode, "wal"))
			return 0;
		bool busy =
		    (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED || rc == SQLITE_ROW;
		if (!busy || tries * 10 >= BUSY_TIMEOUT_MS) {
			if (rc != SQLITE_ROW)
				return store_db_err(s, rc, err, "enable WAL");
			return st_err(err, ST_E_IO,
				      "enable WAL: database '%s': journal mode is '%s'", s->db_path,
				      mode ? mode : "?");
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static int migrate(struct st_store *s, struct st_error **err)
{
	st_autotx struct tx t = { 0 };
	if (store_tx_begin(s, &t, true, err) < 0)
		return -1;
	int v = 0;
	if (pragma_int(s, "PRAGMA user_version", &v, err) < 0)
		return -1;
	if (v > ST_STORE_SCHEMA_VERSION)
		return st_err(err, ST_E_INVALID,
			      "database '%s': schema version %d is newer than this strata "
			      "supports (%d)",
			      s->db_path, v, ST_STORE_SCHEMA_VERSION);
	if (v == ST_STORE_SCHEMA_VERSION)
		return store_tx_commit(&t, err);
	for (; v < ST_STORE_SCHEMA_VERSION; v++) {
		if (store_db_exec(s, migrations[v], err) < 0)
			return st_err_wrap(err, "migrate schema %d to %d", v, v + 1);
	}
	/* user_version takes no bound parameter; the number is ours, not input. */
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", ST_STORE_SCHEMA_VERSION);
	if (store_db_exec(s, sql, err) < 0)
		return -1;
	return store_tx_commit(&t, err);
}

int st_store_open(const char *root, struct st_store **out, struct st_error **err)
{
	st_auto(st_store) struct st_store *s = st_xcalloc(1, sizeof(*s));
	s->root = st_xstrdup(root);
	s->blobs_dir = st_path_join(root, "blobs/sha256");
	s->layers_dir = st_path_join(root, "layers");
	s->leases_dir = st_path_join(root, "leases");
	s->tmp_dir = st_path_join(root, "tmp");
	s->db_path = st_path_join(root, "strata.db");
	const char *dirs[] = { s->blobs_dir, s->layers_dir, s->leases_dir, s->tmp_dir };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++)
		if (st_mkdir_p(dirs[i], 0700, err) < 0)
			return st_err_wrap(err, "open store '%s'", root);

	int rc =
	    sqlite3_open_v2(s->db_path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_db_err(s, rc, err, "open");
		return st_err_wrap(err, "open store '%s'", root);
	}
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(s->db, 1);
	/*
	 * synchronous=FULL: gc unlinks blobs only after the commit that made them unreachable
	 * returned, so that commit must be on disk, not only in the page cache.
	 */
	if (set_wal(s, err) < 0 ||
	    store_db_exec(s, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL", err) < 0 ||
	    migrate(s, err) < 0)
		return st_err_wrap(err, "open store '%s'", root);
	*out = st_steal(&s);
	return 0;
}

void st_store_free(struct st_store *s)
{
	if (!s)
		return;
	if (s->db)
		sqlite3_close_v2(s->db);
	free(s->root);
	free(s->blobs_dir);
	free(s->layers_dir);
	free(s->leases_dir);
	free(s->tmp_dir);
	free(s->db_path);
	free(s);
}

void st_store_freep(struct st_store **s)
{
	st_store_free(*s);
	*s = NULL;
}

const char *st_store_root(const struct st_store *s)
{
	return s->root;
}

const char *st_store_tmp_dir(const struct st_store *s)
{
	return s->tmp_dir;
}

int store_tmp_guard(struct st_store *s, struct st_error **err)
{
	int fd = open(s->tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return st_err_errno(err, "open '%s'", s->tmp_dir);
	int rc;
	while ((rc = flock(fd, LOCK_SH)) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		st_err_errno(err, "lock '%s'", s->tmp_dir);
		close(fd);
		return -1;
	}
	return fd;
}

int store_tmp_publish(struct st_store *s, char **path, const char *prefix, struct st_error **err)
{
	const char *suffix = *path + strlen(s->tmp_dir) + 1 + strlen("new.");
	char *to = st_xasprintf("%s/%s%s", s->tmp_dir, prefix, suffix);
	if (rename(*path, to) < 0) {
		st_err_errno(err, "rename '%s'", *path);
		free(to);
		return -1;
	}
	free(*path);
	*path = to;
	return 0;
}

int st_store_tmp_mkdir(struct st_store *s, char **path, int *lock_fd, struct st_error **err)
{
	st_autoclose int guard = store_tmp_guard(s, err);
	if (guard < 0)
		return -1;
	st_autofree char *p = st_path_join(s->tmp_dir, "new.XXXXXX");
	if (!mkdtemp(p))
		return st_err_errno(err, "create directory in '%s'", s->tmp_dir);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		st_err_errno(err, "lock '%s'", p);
		if (fd >= 0)
			close(fd);
		rmdir(p);
		return -1;
	}
	if (store_tmp_publish(s, &p, "dir.", err) < 0) {
		close(fd);
		rmdir(p);
		return -1;
	}
	*lock_fd = fd;
	*path = st_steal(&p);
	return 0;
}
