/*
 * scan.c: the layers streamed once, bottom first, into packages that know their layer.
 *
 * Every file a cataloger reads is an "evidence" file: its path, the layer that wrote the copy
 * that shows now, and what that copy lists. A later layer's copy replaces the record (and its
 * packages not yet seen are attributed to that layer); a whiteout, an opaque directory or an
 * entry of another kind at the path removes it. Packages are kept by their identity (type,
 * name, version, architecture, evidence path), so a package the next copy of the database
 * still lists keeps the layer that first listed it. At the end, the packages of the evidence
 * that survives are the final filesystem's.
 *
 * Only evidence files are held, each as parsed: a layer's other entries cost a path predicate.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local/local.h"
#include "sbom/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* Database files past this are skipped with a warning (dpkg's status of a big system: 5 MB). */
#define MAX_TEXT (64u << 20)
/* How much of a Go executable's build information is read, from its magic on. */
#define MAX_GO_INFO (1u << 20)
#define CHUNK (1u << 16)

enum kind {
	KIND_NONE,
	KIND_DPKG,
	KIND_COPYRIGHT,
	KIND_APK,
	KIND_RPM,
	KIND_PYTHON,
	KIND_NPM,
	KIND_OS_RELEASE,
	KIND_JAVA,
	KIND_EXECUTABLE, /* read only if it is an ELF file with Go build information */
};

struct evidence {
	char *path;
	size_t layer;
	bool live;
	size_t *pkgs; /* into st_sbom.pkgs */
	size_t n_pkgs;
	char **licenses; /* a copyright file's */
	size_t n_licenses;
	struct st_sbom_distro distro; /* os-release's */
};

/* An open-addressing table of strings to indexes; the strings belong to the caller. */
struct table {
	size_t *slots; /* index + 1; 0 is empty */
	size_t cap, n;
};

struct layer {
	char *digest, *diff_id, *command;
	struct st_sbom_layer pub;
};

struct st_sbom {
	struct st_sbom_pkg *pkgs;
	size_t n_pkgs, cap_pkgs;
	char **keys; /* the identity of each package */
	struct table pkg_index;
	struct evidence *ev;
	size_t n_ev, cap_ev;
	struct table ev_index;
	struct layer *layers;
	size_t n_layers;
	char **warnings;
	size_t n_warnings;
	struct st_sbom_distro distro;
};

/* ---- the tables ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The slot of 'key', or the empty slot where it would go. 'name(ctx, i)' is entry i's key. */
static size_t *table_slot(struct table *t, const char *key,
			  const char *(*name)(const struct st_sbom *, size_t),
			  const struct st_sbom *sb)
{
	size_t mask = t->cap - 1;
	for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
		size_t *s = &t->slots[i];
		if (!*s || !strcmp(name(sb, *s - 1), key))
			return s;
	}
}

static void table_put(struct table *t, const char *key, size_t idx,
		      const char *(*name)(const struct st_sbom *, size_t), const struct st_sbom *sb)
{
	if (2 * (t->n + 1) > t->cap) {
		struct table old = *t;
		t->cap = t->cap ? 2 * t->cap : 64;
		t->slots = st_xcalloc(t->cap, sizeof(*t->slots));
		for (size_t i = 0; i < old.cap; i++)
			if (old.slots[i])
				*table_slot(t, name(sb, old.slots[i] - 1), name, sb) = old.slots[i];
		free(old.slots);
	}
	*table_slot(t, key, name, sb) = idx + 1;
	t->n++;
}

/* Entry index of 'key', or SIZE_MAX. */
static size_t table_get(struct table *t, const char *key,
			const char *(*name)(const struct st_sbom *, size_t),
			const struct st_sbom *sb)
{
	if (!t->cap)
		return SIZE_MAX;
	size_t *s = table_slot(t, key, name, sb);
	return *s ? *s - 1 : SIZE_MAX;
}

static const char *ev_name(const struct st_sbom *sb, size_t i)
{
	return sb->ev[i].path;
}

static const char *pkg_name(const struct st_sbom *sb, size_t i)
{
	return sb->keys[i];
}

/* ---- which files the catalogers read ---- */

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && !memcmp(s + n - k, suffix, k);
}

/* Whether the path element starting at 'elem' is right inside a node_modules directory. */
static bool in_node_modules(const char *path, const char *elem)
{
	static const char nm[] = "node_modules/";
	size_t k = sizeof(nm) - 1;
	if ((size_t)(elem - path) < k || memcmp(elem - k, nm, k) != 0)
		return false;
	return elem - k == path || elem[-(ptrdiff_t)k - 1] == '/';
}

/* "node_modules/<name>/package.json" or "node_modules/@scope/<name>/package.json". */
static bool npm_manifest(const char *path, size_t n)
{
	if (!ends_with(path, n, "/package.json"))
		return false;
	const char *dir_end = path + n - strlen("/package.json");
	const char *elem = dir_end;
	while (elem > path && elem[-1] != '/')
		elem--;
	if (elem == dir_end)
		return false;
	if (in_node_modules(path, elem))
		return true;
	if (elem - path < 2)
		return false;
	const char *scope = elem - 1;
	while (scope > path && scope[-1] != '/')
		scope--;
	return *scope == '@' && scope + 1 < elem - 1 && in_node_modules(path, scope);
}

static enum kind classify(const struct st_layer_entry *e)
{
	const char *p = e->path;
	size_t n = strlen(p);
	if (!strcmp(p, "etc/os-release") || !strcmp(p, "usr/lib/os-release"))
		return KIND_OS_RELEASE;
	if (ends_with(p, n, "lib/dpkg/status"))
		return KIND_DPKG;
	const char *sd = strstr(p, "lib/dpkg/status.d/");
	if (sd && !strchr(sd + 18, '/') && sd[18] && !ends_with(p, n, ".md5sums"))
		return KIND_DPKG;
	if (!strncmp(p, "usr/share/doc/", 14) && ends_with(p, n, "/copyright")) {
		const char *pkg = p + 14;
		const char *slash = strchr(pkg, '/');
		if (slash && slash != pkg && !strcmp(slash, "/copyright"))
			return KIND_COPYRIGHT;
	}
	if (ends_with(p, n, "lib/apk/db/installed"))
		return KIND_APK;
	if (!strcmp(p, "var/lib/rpm/rpmdb.sqlite") || !strcmp(p, "usr/share/rpm/rpmdb.sqlite") ||
	    !strcmp(p, "usr/lib/sysimage/rpm/rpmdb.sqlite"))
		return KIND_RPM;
	if (ends_with(p, n, ".dist-info/METADATA") || ends_with(p, n, ".egg-info/PKG-INFO") ||
	    ends_with(p, n, ".egg-info"))
		return KIND_PYTHON;
	if (strstr(p, "node_modules/") && npm_manifest(p, n))
		return KIND_NPM;
	if (st_sbom_java_name(p))
		return KIND_JAVA;
	if (e->mode & 0111)
		return KIND_EXECUTABLE;
	return KIND_NONE;
}

/* ---- evidence ---- */

static void warn(struct st_sbom *sb, size_t layer, const char *msg)
{
	sb->warnings = st_xrealloc(sb->warnings, (sb->n_warnings + 1) * sizeof(*sb->warnings));
	sb->warnings[sb->n_warnings++] = st_xasprintf("layer %zu: %s", layer, msg);
}

static void distro_release(struct st_sbom_distro *d)
{
	free(d->id);
	free(d->version_id);
	free(d->name);
	free(d->id_like);
	memset(d, 0, sizeof(*d));
}

static void ev_clear(struct evidence *ev)
{
	free(ev->pkgs);
	ev->pkgs = NULL;
	ev->n_pkgs = 0;
	st_strv_free(ev->licenses, ev->n_licenses);
	ev->licenses = NULL;
	ev->n_licenses = 0;
	distro_release(&ev->distro);
	ev->live = false;
}

static struct evidence *ev_get(struct st_sbom *sb, const char *path, bool create)
{
	size_t i = table_get(&sb->ev_index, path, ev_name, sb);
	if (i != SIZE_MAX)
		return &sb->ev[i];
	if (!create)
		return NULL;
	if (sb->n_ev == sb->cap_ev) {
		sb->cap_ev = sb->cap_ev ? 2 * sb->cap_ev : 64;
		sb->ev = st_xrealloc(sb->ev, sb->cap_ev * sizeof(*sb->ev));
	}
	struct evidence *ev = &sb->ev[sb->n_ev];
	*ev = (struct evidence){ .path = st_xstrdup(path) };
	table_put(&sb->ev_index, ev->path, sb->n_ev, ev_name, sb);
	sb->n_ev++;
	return ev;
}

static char *pkg_key(const struct st_sbom_pkg *p)
{
	return st_xasprintf("%s\n%s\n%s\n%s\n%s\n%s", p->type, p->group ? p->group : "", p->name,
			    p->version, p->arch ? p->arch : "", p->path);
}

/* Package 'p' (moved from, if new) as listed by a copy of its database in 'layer'. */
static size_t pkg_intern(struct st_sbom *sb, struct st_sbom_pkg *p, size_t layer)
{
	char *key = pkg_key(p);
	size_t i = table_get(&sb->pkg_index, key, pkg_name, sb);
	if (i != SIZE_MAX) {
		free(key);
		return i;
	}
	if (sb->n_pkgs == sb->cap_pkgs) {
		sb->cap_pkgs = sb->cap_pkgs ? 2 * sb->cap_pkgs : 64;
		sb->pkgs = st_xrealloc(sb->pkgs, sb->cap_pkgs * sizeof(*sb->pkgs));
		sb->keys = st_xrealloc(sb->keys, sb->cap_pkgs * sizeof(*sb->keys));
	}
	i = sb->n_pkgs++;
	sb->pkgs[i] = *p;
	memset(p, 0, sizeof(*p));
	sb->pkgs[i].layer = layer;
	sb->keys[i] = key;
	table_put(&sb->pkg_index, key, i, pkg_name, sb);
	return i;
}

/* The copy of 'path' in 'layer' is what 'f' says. */
static void ev_record(struct st_sbom *sb, const char *path, size_t layer, struct st_sbom_found *f)
{
	for (size_t w = 0; w < f->n_warnings; w++)
		warn(sb, layer, f->warnings[w]);
	struct evidence *ev =
	    ev_get(sb, path, f->n || f->n_licenses || f->distro.id || f->distro.name);
	if (!ev)
		return;
	ev_clear(ev);
	ev->live = true;
	ev->layer = layer;
	ev->pkgs = st_xcalloc(f->n ? f->n : 1, sizeof(*ev->pkgs));
	for (size_t k = 0; k < f->n; k++)
		ev->pkgs[ev->n_pkgs++] = pkg_intern(sb, &f->pkgs[k], layer);
	ev->licenses = f->licenses;
	ev->n_licenses = f->n_licenses;
	f->licenses = NULL;
	f->n_licenses = 0;
	ev->distro = f->distro;
	memset(&f->distro, 0, sizeof(f->distro));
}

/* A whiteout of 'path' (or, 'opaque', of what layers below put under it). */
static void ev_remove_below(struct st_sbom *sb, const char *path, size_t layer, bool opaque)
{
	size_t n = strlen(path);
	for (size_t i = 0; i < sb->n_ev; i++) {
		struct evidence *ev = &sb->ev[i];
		if (!ev->live || (opaque && ev->layer >= layer))
			continue;
		bool under = !n || (!strncmp(ev->path, path, n) && ev->path[n] == '/');
		if (under || (!opaque && !strcmp(ev->path, path)))
			ev_clear(ev);
	}
}

/* ---- reading a layer ---- */

static int read_all(struct st_layer_reader *r, const char *path, uint64_t size, struct st_buf *b,
		    bool *too_big, struct st_error **err)
{
	st_buf_reset(b);
	*too_big = size > MAX_TEXT;
	if (*too_big)
		return 0;
	st_buf_grow(b, (size_t)size);
	ssize_t k;
	/* the buffer's last byte is its terminating NUL's */
	while ((k = st_layer_reader_read(r, b->data + b->len, b->cap - b->len - 1, err)) > 0) {
		st_buf_setlen(b, b->len + (size_t)k);
		if (b->len + 1 == b->cap)
			st_buf_grow(b, CHUNK);
	}
	if (k < 0)
		return st_err_wrap(err, "'%s'", path);
	return 0;
}

/* Fill 'b' with up to 'want' bytes: short only at the end of the file. */
static ssize_t read_full(struct st_layer_reader *r, char *b, size_t want, struct st_error **err)
{
	size_t got = 0;
	while (got < want) {
		ssize_t k = st_layer_reader_read(r, b + got, want - got, err);
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

/*
 * An executable: an ELF file whose build information magic sits at a 16-byte aligned offset
 * (Go aligns the section so; the file offset keeps the address's alignment) is a Go binary.
 * Chunks are read whole, a multiple of 16 bytes, so the magic never straddles two.
 */
static int scan_executable(struct st_layer_reader *r, const char *path, char *chunk,
			   struct st_buf *b, struct st_sbom_found *f, struct st_error **err)
{
	st_buf_reset(b);
	bool first = true;
	for (;;) {
		ssize_t k = read_full(r, chunk, CHUNK, err);
		if (k < 0)
			return st_err_wrap(err, "'%s'", path);
		if (first && (k < 4 || memcmp(chunk,
					      "\x7f"
					      "ELF",
					      4) != 0))
			return 0;
		first = false;
		if (b->len) {
			st_buf_add(b, chunk, (size_t)k);
		} else {
			for (size_t off = 0; off + ST_SBOM_GO_MAGIC_LEN <= (size_t)k; off += 16) {
				/* the first byte alone rules out nearly every offset, cheaply */
				if (chunk[off] == ST_SBOM_GO_MAGIC[0] &&
				    !memcmp(chunk + off, ST_SBOM_GO_MAGIC, ST_SBOM_GO_MAGIC_LEN)) {
					st_buf_add(b, chunk + off, (size_t)k - off);
					break;
				}
			}
		}
		if (b->len >= MAX_GO_INFO || (size_t)k < CHUNK)
			break;
	}
	if (b->len)
		st_sbom_parse_go_buildinfo(b->data, b->len, path, f);
	return 0;
}

static int catalog_file(struct st_sbom *sb, struct st_layer_reader *r, size_t li,
			const struct st_layer_entry *e, enum kind kind, char *chunk,
			struct st_buf *b, struct st_error **err)
{
	struct st_sbom_found f = { 0 };
	int rc = 0;
	if (kind == KIND_EXECUTABLE) {
		rc = scan_executable(r, e->path, chunk, b, &f, err);
	} else {
		bool too_big;
		rc = read_all(r, e->path, e->size, b, &too_big, err);
		if (rc == 0 && too_big)
			st_sbom_found_warn(&f, "%s: %llu bytes, too large to read", e->path,
					   (unsigned long long)e->size);
		else if (rc == 0)
			switch (kind) {
			case KIND_DPKG:
				st_sbom_parse_dpkg(b->data, b->len, e->path, &f);
				break;
			case KIND_COPYRIGHT:
				st_sbom_parse_copyright(b->data, b->len, &f);
				break;
			case KIND_APK:
				st_sbom_parse_apk(b->data, b->len, e->path, &f);
				break;
			case KIND_RPM:
				st_sbom_parse_rpmdb(b->data, b->len, e->path, &f);
				break;
			case KIND_PYTHON:
				st_sbom_parse_python(b->data, b->len, e->path, &f);
				break;
			case KIND_NPM:
				st_sbom_parse_npm(b->data, b->len, e->path, &f);
				break;
			case KIND_OS_RELEASE:
				st_sbom_parse_os_release(b->data, b->len, &f);
				break;
			case KIND_JAVA:
				st_sbom_parse_java(b->data, b->len, e->path, &f);
				break;
			default:
				break;
			}
	}
	if (rc == 0)
		ev_record(sb, e->path, li, &f);
	st_sbom_found_release(&f);
	return rc;
}

static int read_layer(struct st_sbom *sb, size_t li, struct st_layer_source src,
		      const struct st_digest *want, struct st_error **err)
{
	st_auto(st_layer_reader) struct st_layer_reader *r = st_layer_reader_new(src, err);
	if (!r)
		return -1;
	st_autofree char *chunk = st_xmalloc(CHUNK);
	struct st_buf b = ST_BUF_INIT;
	struct st_layer_entry e;
	int rc;
	while ((rc = st_layer_reader_next(r, &e, err)) == 1) {
		if (!*e.path)
			continue;
		if (e.type == ST_LAYER_ENTRY_WHITEOUT || e.type == ST_LAYER_ENTRY_OPAQUE) {
			if (sb->n_ev)
				ev_remove_below(sb, e.path, li, e.type == ST_LAYER_ENTRY_OPAQUE);
			continue;
		}
		enum kind kind = e.type == ST_LAYER_ENTRY_FILE ? classify(&e) : KIND_NONE;
		if (kind != KIND_NONE) {
			if (catalog_file(sb, r, li, &e, kind, chunk, &b, err) < 0) {
				rc = -1;
				break;
			}
		} else if (sb->n_ev) {
			/* something else now stands at a database's path */
			struct evidence *ev = ev_get(sb, e.path, false);
			if (ev && e.type != ST_LAYER_ENTRY_DIR)
				ev_clear(ev);
		}
	}
	st_buf_release(&b);
	if (rc < 0)
		return -1;
	struct st_digest diff_id;
	if (st_layer_reader_diff_id(r, &diff_id, NULL, err) < 0)
		return -1;
	if (!st_digest_equal(&diff_id, want))
		return st_err(err, ST_E_DIGEST,
			      "diff_id mismatch: the content is %s, the image says %s", diff_id.str,
			      want->str);
	return 0;
}

/* ---- the end: what shows, licences, the distro, purls, order ---- */

static void distro_copy(struct st_sbom_distro *out, const struct st_sbom_distro *d)
{
	out->id = d->id ? st_xstrdup(d->id) : NULL;
	out->version_id = d->version_id ? st_xstrdup(d->version_id) : NULL;
	out->name = d->name ? st_xstrdup(d->name) : NULL;
	out->id_like = d->id_like ? st_xstrdup(d->id_like) : NULL;
}

static void pick_distro(struct st_sbom *sb)
{
	/* etc/os-release first, as the spec says; it is often a link to usr/lib's */
	static const char *const paths[] = { "etc/os-release", "usr/lib/os-release" };
	for (size_t i = 0; i < 2; i++) {
		struct evidence *ev = ev_get(sb, paths[i], false);
		if (ev && ev->live && (ev->distro.id || ev->distro.name)) {
			distro_copy(&sb->distro, &ev->distro);
			return;
		}
	}
}

/* Debian's licences: usr/share/doc/<package>/copyright, as the package's evidence too. */
static void dpkg_licenses(struct st_sbom *sb, struct st_sbom_pkg *p)
{
	st_autofree char *path = st_xasprintf("usr/share/doc/%s/copyright", p->name);
	struct evidence *ev = ev_get(sb, path, false);
	if (!ev || !ev->n_licenses)
		return;
	for (size_t i = 0; i < ev->n_licenses; i++)
		st_sbom_strv_add_unique(&p->licenses, &p->n_licenses, ev->licenses[i]);
	st_sbom_strv_add_unique(&p->paths, &p->n_paths, path);
}

static int str_cmp(const char *x, const char *y)
{
	return strcmp(x ? x : "", y ? y : "");
}

static int pkg_cmp(const void *pa, const void *pb)
{
	const struct st_sbom_pkg *a = pa, *b = pb;
	int c;
	if ((c = strcmp(a->type, b->type)) || (c = str_cmp(a->group, b->group)) ||
	    (c = strcmp(a->name, b->name)) || (c = strcmp(a->version, b->version)) ||
	    (c = str_cmp(a->arch, b->arch)) || (c = strcmp(a->path, b->path)))
		return c;
	return a->layer < b->layer ? -1 : a->layer > b->layer;
}

static void finish(struct st_sbom *sb)
{
	for (size_t i = 0; i < sb->n_ev; i++)
		if (sb->ev[i].live)
			for (size_t k = 0; k < sb->ev[i].n_pkgs; k++)
				sb->pkgs[sb->ev[i].pkgs[k]].present = true;
	pick_distro(sb);
	for (size_t i = 0; i < sb->n_pkgs; i++) {
		struct st_sbom_pkg *p = &sb->pkgs[i];
		st_sbom_strv_add_unique(&p->paths, &p->n_paths, p->path);
		if (!strcmp(p->type, "deb"))
			dpkg_licenses(sb, p);
		st_sbom_pkg_identify(p, &sb->distro);
	}
	/* an image without packages has no array at all, which qsort() must not be given */
	if (sb->n_pkgs)
		qsort(sb->pkgs, sb->n_pkgs, sizeof(*sb->pkgs), pkg_cmp);
	/* the indexes are stale now: what they served is done */
	for (size_t i = 0; i < sb->n_pkgs; i++)
		free(sb->keys[i]);
	free(sb->keys);
	sb->keys = NULL;
	free(sb->pkg_index.slots);
	memset(&sb->pkg_index, 0, sizeof(sb->pkg_index));
	for (size_t i = 0; i < sb->n_ev; i++) {
		ev_clear(&sb->ev[i]);
		free(sb->ev[i].path);
	}
	free(sb->ev);
	sb->ev = NULL;
	sb->n_ev = 0;
	free(sb->ev_index.slots);
	memset(&sb->ev_index, 0, sizeof(sb->ev_index));
}

static void name_layers(struct st_sbom *sb, const struct st_image_config *cfg)
{
	size_t li = 0;
	for (size_t h = 0; cfg && h < cfg->n_history && li < sb->n_layers; h++) {
		if (cfg->history[h].empty_layer)
			continue;
		const char *by = cfg->history[h].created_by;
		sb->layers[li].command = st_xstrdup(by ? by : "");
		li++;
	}
}

int st_sbom_read(const struct st_local_layers *in, struct st_sbom **out, struct st_error **err)
{
	st_auto(st_sbom) struct st_sbom *sb = st_xcalloc(1, sizeof(*sb));
	sb->n_layers = in->n_layers;
	sb->layers = st_xcalloc(sb->n_layers ? sb->n_layers : 1, sizeof(*sb->layers));
	name_layers(sb, in->config);
	for (size_t i = 0; i < sb->n_layers; i++) {
		struct layer *l = &sb->layers[i];
		l->digest = st_xstrdup(in->digests[i].str);
		l->diff_id = st_xstrdup(in->diff_ids[i].str);
		l->pub = (struct st_sbom_layer){ .digest = l->digest,
						 .diff_id = l->diff_id,
						 .command = l->command };
		struct st_layer_source src;
		int rc = in->open(in->ctx, i, &src, err);
		if (rc == 0) {
			rc = read_layer(sb, i, src, &in->diff_ids[i], err);
			in->close(in->ctx, i);
		}
		if (rc < 0)
			return st_err_wrap(err, "layer %zu (%s)", i, in->digests[i].str);
	}
	finish(sb);
	*out = st_steal(&sb);
	return 0;
}

int st_sbom_image(struct st_store *s, const struct st_store_image *img, struct st_sbom **out,
		  struct st_error **err)
{
	struct st_local_store_layers l;
	int rc = st_local_store_layers_open(s, img, &l, err);
	if (rc == 0)
		rc = st_sbom_read(&l.in, out, err);
	st_local_store_layers_release(&l);
	return rc;
}

void st_sbom_free(struct st_sbom *sb)
{
	if (!sb)
		return;
	for (size_t i = 0; i < sb->n_pkgs; i++) {
		st_sbom_pkg_release(&sb->pkgs[i]);
		if (sb->keys)
			free(sb->keys[i]);
	}
	free(sb->pkgs);
	free(sb->keys);
	free(sb->pkg_index.slots);
	for (size_t i = 0; i < sb->n_ev; i++) {
		ev_clear(&sb->ev[i]);
		free(sb->ev[i].path);
	}
	free(sb->ev);
	free(sb->ev_index.slots);
	for (size_t i = 0; i < sb->n_layers; i++) {
		free(sb->layers[i].digest);
		free(sb->layers[i].diff_id);
		free(sb->layers[i].command);
	}
	free(sb->layers);
	st_strv_free(sb->warnings, sb->n_warnings);
	distro_release(&sb->distro);
	free(sb);
}

void st_sbom_freep(struct st_sbom **sb)
{
	st_sbom_free(*sb);
}

const struct st_sbom_pkg *st_sbom_pkgs(const struct st_sbom *sb, size_t *n)
{
	*n = sb->n_pkgs;
	return sb->pkgs;
}

size_t st_sbom_n_layers(const struct st_sbom *sb)
{
	return sb->n_layers;
}

const struct st_sbom_layer *st_sbom_layer(const struct st_sbom *sb, size_t i)
{
	return &sb->layers[i].pub;
}

const struct st_sbom_distro *st_sbom_distro(const struct st_sbom *sb)
{
	return &sb->distro;
}

const char *const *st_sbom_warnings(const struct st_sbom *sb, size_t *n)
{
	*n = sb->n_warnings;
	return (const char *const *)sb->warnings;
}
