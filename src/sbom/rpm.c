/*
 * rpm.c: RPM's SQLite database (rpm 4.16 and later: var/lib/rpm/rpmdb.sqlite, or under
 * usr/lib/sysimage/rpm). Its Packages table holds one header blob per package, in rpm's
 * header format (lib/header.c, headerImport):
 *   int32 il, int32 dl                          big-endian: index entries, data bytes
 *   il × { int32 tag, type, offset, count }     the index
 *   dl bytes                                    the data the entries point into
 * Strings are NUL-terminated at their offset; an I18N string is an array whose first element
 * is the C locale's. The database comes from a layer: it is opened read-only from memory, in
 * SQLite's defensive mode, and a blob whose entries point outside its data is skipped with a
 * warning.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbom/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

enum {
	RPM_INT32 = 4,
	RPM_STRING = 6,
	RPM_STRING_ARRAY = 8,
	RPM_I18NSTRING = 9,
};

enum {
	TAG_NAME = 1000,
	TAG_VERSION = 1001,
	TAG_RELEASE = 1002,
	TAG_EPOCH = 1003,
	TAG_SUMMARY = 1004,
	TAG_VENDOR = 1011,
	TAG_LICENSE = 1014,
	TAG_URL = 1020,
	TAG_ARCH = 1022,
	TAG_SOURCERPM = 1044,
};

/* rpm's own limits on a header (lib/header.c): what is larger is corrupt. */
#define RPM_MAX_INDEX 0x0000ffff
#define RPM_MAX_DATA 0x0fffffff

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct header {
	const unsigned char *index, *data;
	uint32_t il, dl;
};

static bool header_parse(const unsigned char *b, size_t len, struct header *h)
{
	if (len < 8)
		return false;
	h->il = be32(b);
	h->dl = be32(b + 4);
	if (h->il > RPM_MAX_INDEX || h->dl > RPM_MAX_DATA ||
	    (uint64_t)8 + (uint64_t)h->il * 16 + h->dl > len)
		return false;
	h->index = b + 8;
	h->data = h->index + (size_t)h->il * 16;
	return true;
}

/* Entry 'tag', or false; *type, *off, *count filled. */
static bool header_entry(const struct header *h, uint32_t tag, uint32_t *type, uint32_t *off,
			 uint32_t *count)
{
	for (uint32_t i = 0; i < h->il; i++) {
		const unsigned char *e = h->index + (size_t)i * 16;
		if (be32(e) != tag)
			continue;
		*type = be32(e + 4);
		*off = be32(e + 8);
		*count = be32(e + 12);
		return *off < h->dl;
	}
	return false;
}

/* A string entry (the first of an array), new; NULL when absent or not terminated. */
static char *header_string(const struct header *h, uint32_t tag, bool *bad)
{
	uint32_t type, off, count;
	if (!header_entry(h, tag, &type, &off, &count))
		return NULL;
	if (type != RPM_STRING && type != RPM_STRING_ARRAY && type != RPM_I18NSTRING)
		return NULL;
	const char *s = (const char *)h->data + off;
	if (!memchr(s, '\0', h->dl - off)) {
		*bad = true;
		return NULL;
	}
	return *s ? st_xstrdup(s) : NULL;
}

static bool header_int32(const struct header *h, uint32_t tag, uint32_t *out)
{
	uint32_t type, off, count;
	if (!header_entry(h, tag, &type, &off, &count) || type != RPM_INT32 || !count ||
	    h->dl - off < 4)
		return false;
	*out = be32(h->data + off);
	return true;
}

static void rpm_package(const unsigned char *blob, size_t len, const char *path, sqlite3_int64 row,
			struct st_sbom_found *f)
{
	struct header h;
	bool bad = false;
	if (!header_parse(blob, len, &h)) {
		st_sbom_found_warn(f, "%s: package %lld: not an rpm header", path, (long long)row);
		return;
	}
	char *name = header_string(&h, TAG_NAME, &bad);
	char *version = header_string(&h, TAG_VERSION, &bad);
	char *release = header_string(&h, TAG_RELEASE, &bad);
	if (!name || !version || bad) {
		st_sbom_found_warn(f, "%s: package %lld: header without a name or version", path,
				   (long long)row);
		free(name);
		free(version);
		free(release);
		return;
	}
	struct st_sbom_pkg *p = st_sbom_found_add(f, "rpm", "rpm-db-cataloger", path);
	p->name = name;
	/* the package's version is rpm's version-release, as syft writes it */
	p->version = release ? st_xasprintf("%s-%s", version, release) : st_xstrdup(version);
	free(version);
	free(release);
	uint32_t epoch;
	if (header_int32(&h, TAG_EPOCH, &epoch)) {
		p->epoch = st_xasprintf("%u", epoch);
		char *v = st_xasprintf("%u:%s", epoch, p->version);
		free(p->version);
		p->version = v;
	}
	p->arch = header_string(&h, TAG_ARCH, &bad);
	p->source = header_string(&h, TAG_SOURCERPM, &bad);
	p->supplier = header_string(&h, TAG_VENDOR, &bad);
	p->homepage = header_string(&h, TAG_URL, &bad);
	p->description = header_string(&h, TAG_SUMMARY, &bad);
	char *lic = header_string(&h, TAG_LICENSE, &bad);
	if (lic)
		st_sbom_strv_add_unique(&p->licenses, &p->n_licenses, lic);
	free(lic);
}

void st_sbom_parse_rpmdb(char *data, size_t len, const char *path, struct st_sbom_found *f)
{
	/*
	 * An in-memory database cannot be in WAL mode: bytes 18 and 19 of the header say which
	 * journal the file was written with, and a checkpointed WAL database reads the same
	 * with them set to the rollback journal's value
	 */
	if (len >= 100 && !memcmp(data, "SQLite format 3", 16)) {
		data[18] = 1;
		data[19] = 1;
	}
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
		sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
		rc = sqlite3_deserialize(db, "main", (unsigned char *)data, (sqlite3_int64)len,
					 (sqlite3_int64)len, SQLITE_DESERIALIZE_READONLY);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "SELECT hnum, blob FROM Packages ORDER BY hnum", -1,
					&st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		rpm_package(blob, blob && n > 0 ? (size_t)n : 0, path, sqlite3_column_int64(st, 0),
			    f);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		st_sbom_found_warn(f, "%s: not a readable rpm database: %s", path,
				   db ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_finalize(st);
	sqlite3_close(db);
}
