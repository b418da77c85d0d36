/*
 * parse.c: the text databases: dpkg's status (deb822 paragraphs), Debian copyright files,
 * apk's installed (one "K:value" a line), Python's core metadata (email headers), npm's
 * package.json (jansson) and os-release (shell-like assignments).
 */
#include <ctype.h>
#include <stddef.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sbom/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* One line of a text: [p, p + len), and the line number it has. */
struct line {
	const char *p;
	size_t len;
	size_t no;
};

/* The next line of [*pos, end), without its newline (and a '\r' before it). */
static bool next_line(const char **pos, const char *end, struct line *l)
{
	if (*pos >= end)
		return false;
	const char *nl = memchr(*pos, '\n', (size_t)(end - *pos));
	const char *stop = nl ? nl : end;
	l->p = *pos;
	l->len = (size_t)(stop - *pos);
	if (l->len && l->p[l->len - 1] == '\r')
		l->len--;
	l->no++;
	*pos = nl ? nl + 1 : end;
	return true;
}

static bool blank(const struct line *l)
{
	for (size_t i = 0; i < l->len; i++)
		if (!isspace((unsigned char)l->p[i]))
			return false;
	return true;
}

/* [p, p + n) without the blanks at either end, as a new string. */
static char *trimmed(const char *p, size_t n)
{
	while (n && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	while (n && isspace((unsigned char)p[n - 1]))
		n--;
	return st_xstrndup(p, n);
}

/*
 * A paragraph of "Key: value" lines (deb822, email headers). Only the first line of a value is
 * kept: the fields read here are one line; continuation lines (starting with a blank) belong
 * to descriptions.
 */
struct para {
	struct line *lines;
	size_t n, cap;
	size_t first_no;
};

static void para_add(struct para *pa, const struct line *l)
{
	if (pa->n == pa->cap) {
		pa->cap = pa->cap ? 2 * pa->cap : 32;
		pa->lines = st_xrealloc(pa->lines, pa->cap * sizeof(*pa->lines));
	}
	if (!pa->n)
		pa->first_no = l->no;
	pa->lines[pa->n++] = *l;
}

/* The value of the i-th field named 'key' (case-insensitive), new; NULL when absent. */
static char *para_get_nth(const struct para *pa, const char *key, char sep, size_t nth)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i < pa->n; i++) {
		const struct line *l = &pa->lines[i];
		if (l->len <= klen || l->p[klen] != sep || strncasecmp(l->p, key, klen) != 0)
			continue;
		if (nth-- == 0)
			return trimmed(l->p + klen + 1, l->len - klen - 1);
	}
	return NULL;
}

static char *para_get(const struct para *pa, const char *key)
{
	return para_get_nth(pa, key, ':', 0);
}

/* ---- dpkg ---- */

/* "Source: openssl (3.0.11-1)": the name, and the version when it differs. */
static void dpkg_source(struct st_sbom_pkg *p, char *src)
{
	char *paren = strchr(src, '(');
	if (paren) {
		char *close = strchr(paren, ')');
		if (close)
			p->source_version = trimmed(paren + 1, (size_t)(close - paren - 1));
		*paren = '\0';
	}
	p->source = trimmed(src, strlen(src));
	free(src);
	if (!*p->source) {
		free(p->source);
		p->source = NULL;
	}
}

static void dpkg_package(const struct para *pa, const char *path, struct st_sbom_found *f)
{
	char *name = para_get(pa, "Package");
	char *version = para_get(pa, "Version");
	char *status = para_get(pa, "Status");
	/*
	 * "install ok installed": the last word is the state; a package removed but for its
	 * conffiles ("config-files") or half unpacked is not installed, as dpkg-query says
	 */
	const char *state = status ? strrchr(status, ' ') : NULL;
	bool installed = !status || (state && !strcmp(state + 1, "installed"));
	free(status);
	if (!name || !*name || !version || !*version) {
		st_sbom_found_warn(f, "%s:%zu: package without %s", path, pa->first_no,
				   !name || !*name ? "a name (Package:)" : "a version (Version:)");
		free(name);
		free(version);
		return;
	}
	if (!installed) {
		free(name);
		free(version);
		return;
	}
	struct st_sbom_pkg *p = st_sbom_found_add(f, "deb", "dpkg-db-cataloger", path);
	p->name = name;
	p->version = version;
	p->arch = para_get(pa, "Architecture");
	p->supplier = para_get(pa, "Maintainer");
	p->homepage = para_get(pa, "Homepage");
	p->description = para_get(pa, "Description");
	char *src = para_get(pa, "Source");
	if (src)
		dpkg_source(p, src);
	if (p->source && !strcmp(p->source, p->name) && !p->source_version) {
		free(p->source);
		p->source = NULL;
	}
}

/* Call 'fn' for each paragraph; blank lines separate them. */
static void paragraphs(const char *data, size_t len, const char *path, struct st_sbom_found *f,
		       void (*fn)(const struct para *, const char *, struct st_sbom_found *))
{
	const char *pos = data, *end = data + len;
	struct para pa = { 0 };
	struct line l = { 0 };
	while (next_line(&pos, end, &l)) {
		if (blank(&l)) {
			if (pa.n)
				fn(&pa, path, f);
			pa.n = 0;
			continue;
		}
		para_add(&pa, &l);
	}
	if (pa.n)
		fn(&pa, path, f);
	free(pa.lines);
}

void st_sbom_parse_dpkg(const char *data, size_t len, const char *path, struct st_sbom_found *f)
{
	paragraphs(data, len, path, f, dpkg_package);
}

/* ---- copyright ---- */

static void add_license(struct st_sbom_found *f, const char *p, size_t n)
{
	while (n && (p[n - 1] == '.' || p[n - 1] == ','))
		n--;
	if (!n)
		return;
	char *l = st_xstrndup(p, n);
	st_sbom_strv_add_unique(&f->licenses, &f->n_licenses, l);
	free(l);
}

/* As syft reads them: every "License: X" line's first word, every common-licenses/X. */
void st_sbom_parse_copyright(const char *data, size_t len, struct st_sbom_found *f)
{
	static const char common[] = "/usr/share/common-licenses/";
	const char *pos = data, *end = data + len;
	struct line l = { 0 };
	while (next_line(&pos, end, &l)) {
		if (l.len > 8 && !strncmp(l.p, "License:", 8)) {
			size_t i = 8;
			while (i < l.len && isblank((unsigned char)l.p[i]))
				i++;
			size_t s = i;
			while (i < l.len && !isspace((unsigned char)l.p[i]))
				i++;
			add_license(f, l.p + s, i - s);
		}
		const size_t clen = sizeof(common) - 1;
		const char *at = l.p, *end_line = l.p + l.len;
		while ((at = memmem(at, (size_t)(end_line - at), common, clen))) {
			const char *s = at + clen, *e = s;
			while (e < end_line &&
			       (isalnum((unsigned char)*e) || *e == '_' || *e == '.' || *e == '-'))
				e++;
			add_license(f, s, (size_t)(e - s));
			at = e;
		}
	}
}

/* ---- apk ---- */

static void apk_package(const struct para *pa, const char *path, struct st_sbom_found *f)
{
	char *name = para_get_nth(pa, "P", ':', 0);
	char *version = para_get_nth(pa, "V", ':', 0);
	if (!name || !*name || !version || !*version) {
		st_sbom_found_warn(f, "%s:%zu: package without %s", path, pa->first_no,
				   !name || !*name ? "a name (P:)" : "a version (V:)");
		free(name);
		free(version);
		return;
	}
	struct st_sbom_pkg *p = st_sbom_found_add(f, "apk", "apk-db-cataloger", path);
	p->name = name;
	p->version = version;
	p->arch = para_get_nth(pa, "A", ':', 0);
	p->supplier = para_get_nth(pa, "m", ':', 0);
	p->homepage = para_get_nth(pa, "U", ':', 0);
	p->description = para_get_nth(pa, "T", ':', 0);
	p->source = para_get_nth(pa, "o", ':', 0);
	if (p->source && !strcmp(p->source, p->name)) {
		free(p->source);
		p->source = NULL;
	}
	char *lic = para_get_nth(pa, "L", ':', 0);
	if (lic && *lic)
		st_sbom_strv_add_unique(&p->licenses, &p->n_licenses, lic);
	free(lic);
}

void st_sbom_parse_apk(const char *data, size_t len, const char *path, struct st_sbom_found *f)
{
	paragraphs(data, len, path, f, apk_package);
}

/* ---- Python ---- */

void st_sbom_parse_python(const char *data, size_t len, const char *path, struct st_sbom_found *f)
{
	/* the headers end at the first blank line; the description follows */
	const char *pos = data, *end = data + len;
	struct para pa = { 0 };
	struct line l = { 0 };
	while (next_line(&pos, end, &l) && !blank(&l))
		para_add(&pa, &l);
	char *name = para_get(&pa, "Name");
	char *version = para_get(&pa, "Version");
	if (!name || !*name || !version || !*version) {
		st_sbom_found_warn(f, "%s: no %s", path,
				   !name || !*name ? "Name: header" : "Version: header");
		free(name);
		free(version);
		free(pa.lines);
		return;
	}
	struct st_sbom_pkg *p =
	    st_sbom_found_add(f, "python", "python-installed-package-cataloger", path);
	p->name = name;
	p->version = version;
	p->supplier = para_get(&pa, "Author");
	if (!p->supplier || !*p->supplier) {
		free(p->supplier);
		p->supplier = para_get(&pa, "Author-email");
	}
	p->homepage = para_get(&pa, "Home-page");
	p->description = para_get(&pa, "Summary");
	/* the newest field first, then License:, then the trove classifiers (as syft) */
	char *lic = para_get(&pa, "License-Expression");
	if (!lic || !*lic) {
		free(lic);
		lic = para_get(&pa, "License");
	}
	if (lic && *lic && strcasecmp(lic, "UNKNOWN") != 0 && !strchr(lic, '\n'))
		st_sbom_strv_add_unique(&p->licenses, &p->n_licenses, lic);
	free(lic);
	for (size_t i = 0; !p->n_licenses; i++) {
		char *c = para_get_nth(&pa, "Classifier", ':', i);
		if (!c)
			break;
		static const char trove[] = "License ::";
		const char *last = strrchr(c, ':');
		if (!strncmp(c, trove, sizeof(trove) - 1) && last && last[1] == ' ' && last[2])
			st_sbom_strv_add_unique(&p->licenses, &p->n_licenses, last + 2);
		free(c);
	}
	free(pa.lines);
}

/* ---- npm ---- */

static char *json_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? st_xstrdup(s) : NULL;
}

/* "license": "MIT", {"type": "MIT"}; "licenses": ["MIT", {"type": "MIT"}] (old form). */
static void npm_license(struct st_sbom_pkg *p, json_t *v)
{
	const char *s = json_string_value(v);
	if (!s && json_is_object(v))
		s = json_string_value(json_object_get(v, "type"));
	if (s && *s)
		st_sbom_strv_add_unique(&p->licenses, &p->n_licenses, s);
}

void st_sbom_parse_npm(const char *data, size_t len, const char *path, struct st_sbom_found *f)
{
	json_error_t je;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		st_sbom_found_warn(f, "%s:%d: not JSON: %s", path, je.line, je.text);
		return;
	}
	const char *name = json_string_value(json_object_get(root, "name"));
	const char *version = json_string_value(json_object_get(root, "version"));
	if (!name || !*name || !version || !*version) {
		st_sbom_found_warn(f, "%s: no \"%s\" string", path,
				   !name || !*name ? "name" : "version");
		json_decref(root);
		return;
	}
	struct st_sbom_pkg *p = st_sbom_found_add(f, "npm", "javascript-package-cataloger", path);
	/* "@scope/name": the scope is the purl's namespace */
	const char *slash = name[0] == '@' ? strchr(name, '/') : NULL;
	if (slash && slash[1]) {
		p->group = st_xstrndup(name, (size_t)(slash - name));
		p->name = st_xstrdup(slash + 1);
	} else {
		p->name = st_xstrdup(name);
	}
	p->version = st_xstrdup(version);
	p->homepage = json_str(root, "homepage");
	p->description = json_str(root, "description");
	json_t *author = json_object_get(root, "author");
	p->supplier = json_is_object(author) ? json_str(author, "name") : json_str(root, "author");
	npm_license(p, json_object_get(root, "license"));
	json_t *lics = json_object_get(root, "licenses"), *v;
	size_t i;
	json_array_foreach(lics, i, v)
	{
		npm_license(p, v);
	}
	json_decref(root);
}

/* ---- os-release ---- */

/* A value as the shell reads it: quoted with " or ', backslash escapes in "". New. */
static char *os_value(const char *p, size_t n)
{
	struct st_buf b = ST_BUF_INIT;
	char q = n && (*p == '"' || *p == '\'') ? *p : 0;
	size_t i = q ? 1 : 0;
	for (; i < n; i++) {
		if (q && p[i] == q)
			break;
		if (q == '"' && p[i] == '\\' && i + 1 < n)
			i++;
		st_buf_addch(&b, p[i]);
	}
	return st_buf_detach(&b, NULL);
}

void st_sbom_parse_os_release(const char *data, size_t len, struct st_sbom_found *f)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "ID", offsetof(struct st_sbom_distro, id) },
		{ "VERSION_ID", offsetof(struct st_sbom_distro, version_id) },
		{ "PRETTY_NAME", offsetof(struct st_sbom_distro, name) },
		{ "ID_LIKE", offsetof(struct st_sbom_distro, id_like) },
	};
	const char *pos = data, *end = data + len;
	struct line l = { 0 };
	while (next_line(&pos, end, &l)) {
		const char *eq = memchr(l.p, '=', l.len);
		if (!eq)
			continue;
		size_t klen = (size_t)(eq - l.p);
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if (strlen(keys[k].key) != klen || strncmp(l.p, keys[k].key, klen) != 0)
				continue;
			char **slot = (char **)((char *)&f->distro + keys[k].off);
			free(*slot);
			*slot = os_value(eq + 1, l.len - klen - 1);
		}
	}
}
