/* figures.c: dive's figures, strata's waste, and the findings that explain it. */
#include "analyze/internal.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* ---- dive ---- */

static int ineff_cmp(const void *pa, const void *pb)
{
	const struct st_analyze_inefficiency *x = pa, *y = pb;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->path, y->path);
}

static void dive_figures(struct st_analyze *a)
{
	struct st_analyze_dive *d = &a->dive;
	for (size_t i = 0; i < a->n_layers; i++) {
		d->size += a->layers[i].pub.size;
		if (i)
			d->user_size += a->layers[i].pub.size;
	}
	uint64_t min = 0, all = 0;
	size_t n = 0;
	for (uint32_t id = 1; id < a->n_nodes; id++) {
		const struct node *nd = &a->nodes[id];
		min += nd->min;
		all += nd->cumulative;
		n += nd->sightings >= 2;
	}
	d->efficiency = all ? (double)min / (double)all : 1.0;
	d->files = st_xcalloc(n ? n : 1, sizeof(*d->files));
	struct st_buf path = ST_BUF_INIT;
	for (uint32_t id = 1; id < a->n_nodes; id++) {
		const struct node *nd = &a->nodes[id];
		if (nd->sightings < 2)
			continue;
		analyze_node_path(a, id, &path);
		struct st_analyze_inefficiency *f = &d->files[d->n_files++];
		f->path = st_xasprintf("/%s", path.data);
		f->count = nd->sightings;
		f->bytes = nd->cumulative;
		d->wasted_bytes += nd->cumulative;
	}
	st_buf_release(&path);
	/* dive's sort is unstable on ties: the path breaks them here, so runs agree */
	if (d->n_files > 1)
		qsort(d->files, d->n_files, sizeof(*d->files), ineff_cmp);
	d->user_wasted_percent = (double)d->wasted_bytes / (double)d->user_size;
}

/* ---- what a path is ---- */

/* Package managers' caches, below / or below a home directory. */
static const char *const cache_dirs[] = {
	"var/lib/apt/lists/", "var/cache/apt/", "var/cache/apk/",	 "etc/apk/cache/",
	"var/cache/yum/",     "var/cache/dnf/", "var/cache/pacman/pkg/",
};
static const char *const home_cache_dirs[] = {
	".npm/",
	".cache/pip/",
	".cache/yarn/",
	".cache/go-build/",
	"go/pkg/mod/cache/",
	".cache/composer/",
	".gradle/caches/",
	".m2/repository/",
	".cargo/registry/",
};

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool is_cache(const char *path)
{
	for (size_t i = 0; i < sizeof(cache_dirs) / sizeof(*cache_dirs); i++)
		if (starts(path, cache_dirs[i]))
			return true;
	if (starts(path, "usr/local/share/.cache/yarn/"))
		return true;
	const char *home = NULL;
	if (starts(path, "root/"))
		home = path + 5;
	else if (starts(path, "home/") && strchr(path + 5, '/'))
		home = strchr(path + 5, '/') + 1;
	if (!home)
		return false;
	for (size_t i = 0; i < sizeof(home_cache_dirs) / sizeof(*home_cache_dirs); i++)
		if (starts(home, home_cache_dirs[i]))
			return true;
	return false;
}

static bool ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && !strcmp(s + n - k, suffix);
}

/*
 * Names of keys and credentials; certificates of the trust stores are public. Plain string
 * tests: this runs on every file of the image, and fnmatch() pays for the locale each time.
 */
static bool is_secret(const char *path)
{
	static const char *const names[] = { ".env",	   "id_rsa", "id_dsa",		"id_ecdsa",
					     "id_ed25519", ".netrc", ".git-credentials" };
	static const char *const suffixes[] = { ".pem", ".key", ".p12", ".pfx" };
	static const char *const public_dirs[] = {
		"etc/ssl/certs/", "usr/share/ca-certificates/", "etc/pki/",
		"usr/lib/ssl/",	  "etc/ca-certificates/",	"usr/local/share/ca-certificates/",
	};
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	bool secret = starts(base, ".env.");
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		secret |= !strcmp(base, names[i]);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++)
		secret |= ends(base, suffixes[i]);
	for (size_t i = 0; secret && i < sizeof(public_dirs) / sizeof(*public_dirs); i++)
		secret = !starts(path, public_dirs[i]);
	return secret;
}

/* Compilers and build tools in a directory of commands. */
static bool is_build_tool(const char *path)
{
	static const char *const bins[] = { "usr/bin/", "usr/local/bin/", "bin/",
					    "usr/local/go/bin/", "root/.cargo/bin/" };
	static const char *const tools[] = {
		"gcc",	 "gcc-[0-9]*",	 "g++",	 "g++-[0-9]*", "cc", "c++",
		"clang", "clang-[0-9]*", "make", "cmake",      "go", "rustc",
		"cargo", "javac",	 "mvn",	 "gradle",
	};
	const char *base = strrchr(path, '/');
	if (!base)
		return false;
	size_t dir = (size_t)(base - path) + 1;
	bool in_bin = false;
	for (size_t i = 0; i < sizeof(bins) / sizeof(*bins); i++)
		in_bin |= strlen(bins[i]) == dir && starts(path, bins[i]);
	if (!in_bin)
		return false;
	for (size_t i = 0; i < sizeof(tools) / sizeof(*tools); i++)
		if (!fnmatch(tools[i], base + 1, 0))
			return true;
	return false;
}

static const char *const hints[] = {
	[ST_ANALYZE_CACHE] = "clean the cache in the RUN that fills it (apt-get clean && rm -rf "
			     "/var/lib/apt/lists/*, apk add --no-cache, pip install "
			     "--no-cache-dir), or keep it out of the layer with RUN "
			     "--mount=type=cache",
	[ST_ANALYZE_DELETED] = "delete it in the same RUN, or use a multi-stage build",
	[ST_ANALYZE_COPIED] = "use COPY --chown/--chmod, or set owners and modes in the step "
			      "that makes the files: changing them later copies every file",
	[ST_ANALYZE_OVERWRITTEN] = "make the file once, in the step that writes its last version",
	[ST_ANALYZE_SECRET] = "pass secrets with RUN --mount=type=secret: a file deleted later "
			      "stays in the layer that added it",
	[ST_ANALYZE_BUILD_TOOLS] = "build in a build stage and copy only the artifact from it "
				   "(COPY --from=build)",
};

const char *st_analyze_kind_name(enum st_analyze_kind k)
{
	static const char *const names[] = {
		[ST_ANALYZE_CACHE] = "cache",	[ST_ANALYZE_DELETED] = "deleted",
		[ST_ANALYZE_COPIED] = "copied", [ST_ANALYZE_OVERWRITTEN] = "overwritten",
		[ST_ANALYZE_SECRET] = "secret", [ST_ANALYZE_BUILD_TOOLS] = "build-tools",
	};
	return names[k];
}

/* ---- strata ---- */

struct charge {
	uint64_t key; /* kind, the layer that added, the one that removed */
	uint32_t entry;
};

static uint64_t charge_key(enum st_analyze_kind kind, uint16_t added, uint16_t removed)
{
	return (uint64_t)kind << 32 | (uint64_t)added << 16 | removed;
}

static int charge_cmp(const void *pa, const void *pb)
{
	const struct charge *x = pa, *y = pb;
	return (x->key > y->key) - (x->key < y->key);
}

static int finding_cmp(const void *pa, const void *pb)
{
	const struct st_analyze_finding *x = pa, *y = pb;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	return x->added_in < y->added_in ? -1 : x->added_in > y->added_in;
}

/* What a file is charged as, if anything: its path first, then how it stopped showing. */
static bool classify(const struct entry *e, const char *path, enum st_analyze_kind *kind)
{
	bool wasted = e->removed_in != NO_LAYER && !(e->flags & ENTRY_LINKED);
	if (is_secret(path))
		*kind = ST_ANALYZE_SECRET;
	else if (is_cache(path))
		*kind = ST_ANALYZE_CACHE;
	else if (!wasted)
		*kind = ST_ANALYZE_BUILD_TOOLS;
	else if (e->flags & ENTRY_SAME_CONTENT)
		*kind = ST_ANALYZE_COPIED;
	else if (e->flags & ENTRY_DELETED)
		*kind = ST_ANALYZE_DELETED;
	else
		*kind = ST_ANALYZE_OVERWRITTEN;
	return wasted || *kind != ST_ANALYZE_BUILD_TOOLS || is_build_tool(path);
}

static void findings(struct st_analyze *a, struct charge *v, size_t n)
{
	struct st_analyze_waste *w = &a->waste;
	if (n > 1)
		qsort(v, n, sizeof(*v), charge_cmp);
	struct st_buf path = ST_BUF_INIT;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		uint64_t bytes = 0;
		uint32_t largest = v[i].entry;
		for (; j < n && v[j].key == v[i].key; j++) {
			const struct entry *e = &a->entries[v[j].entry];
			bytes += e->size;
			if (e->size > a->entries[largest].size)
				largest = v[j].entry;
		}
		enum st_analyze_kind kind = (enum st_analyze_kind)(v[i].key >> 32);
		/* empty files waste nothing, but an empty secret is still a secret's name */
		if (bytes || kind == ST_ANALYZE_SECRET) {
			w->findings =
			    st_xrealloc(w->findings, (w->n_findings + 1) * sizeof(*w->findings));
			const struct entry *e = &a->entries[largest];
			analyze_node_path(a, e->node, &path);
			w->findings[w->n_findings++] = (struct st_analyze_finding){
				.kind = kind,
				.bytes = bytes,
				.files = j - i,
				.added_in = e->layer,
				.removed_in =
				    e->removed_in == NO_LAYER ? ST_ANALYZE_NONE : e->removed_in,
				.example = st_xasprintf("/%s", path.data),
				.hint = hints[kind],
			};
		}
		i = j;
	}
	st_buf_release(&path);
	if (w->n_findings)
		qsort(w->findings, w->n_findings, sizeof(*w->findings), finding_cmp);
}

static void strata_figures(struct st_analyze *a)
{
	struct st_analyze_waste *w = &a->waste;
	bool exclude = a->flags & ST_ANALYZE_EXCLUDE_BASE;
	for (size_t i = exclude ? a->n_base : 0; i < a->n_layers; i++)
		w->size += a->layers[i].pub.size;
	struct charge *v = st_xmalloc((a->n_entries ? a->n_entries : 1) * sizeof(*v));
	size_t n = 0;
	struct st_buf path = ST_BUF_INIT;
	for (uint32_t k = 0; k < a->n_entries; k++) {
		const struct entry *e = &a->entries[k];
		if (e->type != ST_LAYER_ENTRY_FILE || (exclude && e->layer < a->n_base))
			continue;
		bool wasted = e->removed_in != NO_LAYER && !(e->flags & ENTRY_LINKED);
		if (wasted) {
			w->wasted_bytes += e->size;
			w->wasted_files++;
			a->layers[e->layer].pub.wasted += e->size;
		}
		analyze_node_path(a, e->node, &path);
		enum st_analyze_kind kind;
		if (classify(e, path.data, &kind))
			v[n++] = (struct charge){ charge_key(kind, e->layer, e->removed_in), k };
	}
	st_buf_release(&path);
	w->efficiency = w->size ? 1.0 - (double)w->wasted_bytes / (double)w->size : 1.0;
	findings(a, v, n);
	free(v);
}

void analyze_figures(struct st_analyze *a)
{
	dive_figures(a);
	strata_figures(a);
}

void analyze_figures_release(struct st_analyze *a)
{
	for (size_t i = 0; i < a->dive.n_files; i++)
		free(a->dive.files[i].path);
	free(a->dive.files);
	for (size_t i = 0; i < a->waste.n_findings; i++)
		free(a->waste.findings[i].example);
	free(a->waste.findings);
}

const struct st_analyze_dive *st_analyze_dive(const struct st_analyze *a)
{
	return &a->dive;
}

const struct st_analyze_waste *st_analyze_waste(const struct st_analyze *a)
{
	return &a->waste;
}
