/*
 * golang.c: the build information Go (1.18 and later) writes into every executable it links,
 * as runtime/debug.ReadBuildInfo and `go version -m` read it. Its header (32 bytes) is the
 * magic, the pointer size, flags, then 16 bytes of padding; with flag 2 the Go version and
 * the module information follow inline, each a uvarint length then its bytes. The module
 * information is wrapped in two 16-byte sentinels and holds tab-separated lines:
 *   path	<main package>
 *   mod	<main module>	<version>	<h1:sum>
 *   dep	<module>	<version>	<h1:sum>
 *   =>	<replacement>	<version>	<h1:sum>	(replaces the dep above)
 *   build	<key>=<value>
 * Older executables point at the strings through the data segment instead; they are named
 * in a warning rather than read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbom/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

#define GO_HEADER_LEN 32
#define GO_FLAG_INLINE 0x2

/* A uvarint-prefixed string at data[*pos]: false if it runs past 'len'. */
static bool read_string(const unsigned char *data, size_t len, size_t *pos, const char **s,
			size_t *n)
{
	uint64_t v = 0;
	for (unsigned shift = 0;; shift += 7) {
		if (*pos >= len || shift > 63)
			return false;
		unsigned char b = data[(*pos)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	if (v > len - *pos)
		return false;
	*s = (const char *)data + *pos;
	*n = (size_t)v;
	*pos += (size_t)v;
	return true;
}

/* The tab-separated fields of one line, at most 'max'. */
static size_t split_tabs(char *line, char **f, size_t max)
{
	size_t n = 0;
	while (n < max) {
		f[n++] = line;
		char *t = strchr(line, '\t');
		if (!t)
			break;
		*t = '\0';
		line = t + 1;
	}
	return n;
}

static struct st_sbom_pkg *add_module(struct st_sbom_found *f, const char *path, char **fld,
				      size_t n)
{
	struct st_sbom_pkg *p =
	    st_sbom_found_add(f, "go-module", "go-module-binary-cataloger", path);
	p->name = st_xstrdup(fld[1]);
	p->version = st_xstrdup(n > 2 && *fld[2] ? fld[2] : "(devel)");
	if (n > 3 && *fld[3])
		p->checksum = st_xstrdup(fld[3]);
	return p;
}

static void set_module(struct st_sbom_pkg *p, char **fld, size_t n)
{
	free(p->name);
	free(p->version);
	free(p->checksum);
	p->name = st_xstrdup(fld[1]);
	p->version = st_xstrdup(n > 2 && *fld[2] ? fld[2] : "(devel)");
	p->checksum = n > 3 && *fld[3] ? st_xstrdup(fld[3]) : NULL;
}

static void read_modinfo(const char *mod, size_t n, const char *path, struct st_sbom_found *f)
{
	/* the sentinels: 16 bytes before, 16 after, the last line's newline just before them */
	if (n >= 33 && mod[n - 17] == '\n') {
		mod += 16;
		n -= 32;
	}
	st_autofree char *text = st_xstrndup(mod, n);
	char *main_path = NULL;
	bool have_main = false;
	/* a replacement applies to the module listed just before it */
	ssize_t last = -1;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *fld[4];
		size_t k = split_tabs(line, fld, 4);
		if (k < 2 || !*fld[1])
			continue;
		if (!strcmp(fld[0], "path")) {
			main_path = fld[1];
		} else if (!strcmp(fld[0], "mod")) {
			add_module(f, path, fld, k);
			have_main = true;
			last = (ssize_t)f->n - 1;
		} else if (!strcmp(fld[0], "dep")) {
			add_module(f, path, fld, k);
			last = (ssize_t)f->n - 1;
		} else if (!strcmp(fld[0], "=>") && last >= 0) {
			set_module(&f->pkgs[last], fld, k);
		}
	}
	/* a binary built outside a module still names its main package */
	if (!have_main && main_path) {
		char *fld[] = { "mod", main_path, "(devel)" };
		add_module(f, path, fld, 3);
	}
}

void st_sbom_parse_go_buildinfo(const char *data, size_t len, const char *path,
				struct st_sbom_found *f)
{
	const unsigned char *d = (const unsigned char *)data;
	if (len < GO_HEADER_LEN || memcmp(data, ST_SBOM_GO_MAGIC, ST_SBOM_GO_MAGIC_LEN) != 0) {
		st_sbom_found_warn(f, "%s: Go build information truncated", path);
		return;
	}
	if (!(d[15] & GO_FLAG_INLINE)) {
		st_sbom_found_warn(f, "%s: Go build information of a Go before 1.18, not read",
				   path);
		return;
	}
	size_t pos = GO_HEADER_LEN, vlen, mlen;
	const char *version, *mod;
	if (!read_string(d, len, &pos, &version, &vlen) ||
	    !read_string(d, len, &pos, &mod, &mlen)) {
		st_sbom_found_warn(f, "%s: Go build information truncated or corrupt", path);
		return;
	}
	if (vlen < 3 || strncmp(version, "go", 2) != 0 || memchr(version, '\0', vlen) ||
	    memchr(version, '\n', vlen)) {
		st_sbom_found_warn(f, "%s: Go build information corrupt: Go version '%.*s'", path,
				   (int)(vlen > 40 ? 40 : vlen), version);
		return;
	}
	read_modinfo(mod, mlen, path, f);
	/* the standard library is a package too, versioned as the toolchain (as syft) */
	struct st_sbom_pkg *p =
	    st_sbom_found_add(f, "go-module", "go-module-binary-cataloger", path);
	p->name = st_xstrdup("stdlib");
	p->version = st_xstrndup(version, vlen);
}
