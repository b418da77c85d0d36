/*
 * purl.c: package URLs and CPEs, as syft writes them.
 *
 * purls follow packageurl-go, which syft uses: namespace elements, name and version are
 * escaped as query values (url.QueryEscape, a space as "%20"), qualifier values with
 * url.QueryEscape; qualifiers in key order with "distro" last (syft's PURLQualifiers).
 * CPEs are CPE 2.3 formatted strings with the vendor and product guessed from the name, the
 * one candidate syft always generates among its several.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sbom/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static bool unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * A name, namespace element or version: packageurl-go's escape(), url.QueryEscape with a
 * space as "%20" ("1:2.3+dfsg" is "1%3A2.3%2Bdfsg", "@types" is "%40types").
 */
static void add_segment(struct st_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (unreserved(*p))
			st_buf_addch(b, (char)*p);
		else
			st_buf_addf(b, "%%%02X", *p);
	}
}

/* url.QueryEscape. */
static void add_query_value(struct st_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (unreserved(*p))
			st_buf_addch(b, (char)*p);
		else if (*p == ' ')
			st_buf_addch(b, '+');
		else
			st_buf_addf(b, "%%%02X", *p);
	}
}

/* Append "?k=v&..." from pairs already in key order, skipping NULL values. */
static void add_qualifiers(struct st_buf *b, const char *const *kv, size_t n)
{
	char sep = '?';
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (!kv[i + 1] || !*kv[i + 1])
			continue;
		st_buf_addch(b, sep);
		st_buf_adds(b, kv[i]);
		st_buf_addch(b, '=');
		add_query_value(b, kv[i + 1]);
		sep = '&';
	}
}

static char *distro_qualifier(const struct st_sbom_distro *d)
{
	if (!d->id)
		return NULL;
	return d->version_id ? st_xasprintf("%s-%s", d->id, d->version_id) : st_xstrdup(d->id);
}

static char *make_purl(const struct st_sbom_pkg *p, const struct st_sbom_distro *d)
{
	struct st_buf b = ST_BUF_INIT;
	st_autofree char *distro = distro_qualifier(d);
	if (!strcmp(p->type, "deb") || !strcmp(p->type, "apk")) {
		bool deb = !strcmp(p->type, "deb");
		st_buf_adds(&b, deb ? "pkg:deb/" : "pkg:apk/");
		add_segment(&b, d->id ? d->id : deb ? "debian" : "alpine");
		st_buf_addch(&b, '/');
		add_segment(&b, p->name);
		st_buf_addch(&b, '@');
		add_segment(&b, p->version);
		st_autofree char *upstream =
		    !p->source		? NULL
		    : p->source_version ? st_xasprintf("%s@%s", p->source, p->source_version)
					: st_xstrdup(p->source);
		const char *kv[] = { "arch", p->arch, "upstream", upstream, "distro", distro };
		add_qualifiers(&b, kv, 6);
	} else if (!strcmp(p->type, "rpm")) {
		/* syft's namespaces: the distro's id, but Red Hat's and openSUSE's own names */
		const char *ns = !d->id				  ? "rpm"
				 : !strcmp(d->id, "rhel")	  ? "redhat"
				 : !strncmp(d->id, "opensuse", 8) ? "opensuse"
								  : d->id;
		st_buf_adds(&b, "pkg:rpm/");
		add_segment(&b, ns);
		st_buf_addch(&b, '/');
		add_segment(&b, p->name);
		st_buf_addch(&b, '@');
		/* the epoch is a qualifier, not part of the purl's version */
		const char *v = p->version;
		if (p->epoch && !strncmp(v, p->epoch, strlen(p->epoch)) &&
		    v[strlen(p->epoch)] == ':')
			v += strlen(p->epoch) + 1;
		add_segment(&b, v);
		const char *kv[] = { "arch",	 p->arch,   "epoch",  p->epoch,
				     "upstream", p->source, "distro", distro };
		add_qualifiers(&b, kv, 8);
	} else if (!strcmp(p->type, "python")) {
		st_buf_adds(&b, "pkg:pypi/");
		add_segment(&b, p->name);
		st_buf_addch(&b, '@');
		add_segment(&b, p->version);
	} else if (!strcmp(p->type, "npm")) {
		st_buf_adds(&b, "pkg:npm/");
		if (p->group) {
			add_segment(&b, p->group);
			st_buf_addch(&b, '/');
		}
		add_segment(&b, p->name);
		st_buf_addch(&b, '@');
		add_segment(&b, p->version);
	} else if (!strcmp(p->type, "go-module")) {
		/* the module path's elements are the namespace and the name */
		st_buf_adds(&b, "pkg:golang/");
		st_autofree char *path = st_xstrdup(p->name);
		for (char *seg = path, *slash; seg; seg = slash ? slash + 1 : NULL) {
			slash = strchr(seg, '/');
			if (slash)
				*slash = '\0';
			add_segment(&b, seg);
			if (slash)
				st_buf_addch(&b, '/');
		}
		st_buf_addch(&b, '@');
		/* the toolchain's version without "go", as syft writes stdlib's */
		const char *v = p->version;
		add_segment(&b, !strcmp(p->name, "stdlib") && !strncmp(v, "go", 2) ? v + 2 : v);
	} else {
		st_buf_adds(&b, "pkg:maven/");
		if (p->group) {
			add_segment(&b, p->group);
			st_buf_addch(&b, '/');
		}
		add_segment(&b, p->name);
		st_buf_addch(&b, '@');
		add_segment(&b, p->version);
	}
	return st_buf_detach(&b, NULL);
}

/* A CPE 2.3 attribute: lower case, every character but [a-z0-9._-] quoted with '\'. */
static void add_cpe_attr(struct st_buf *b, const char *s)
{
	if (!s || !*s) {
		st_buf_addch(b, '*');
		return;
	}
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = (unsigned char)tolower(*p);
		if (isalnum(c) || c == '.' || c == '_' || c == '-')
			st_buf_addch(b, (char)c);
		else if (c > 0x20 && c < 0x7f)
			st_buf_addf(b, "\\%c", c);
		else
			st_buf_addch(b, '_');
	}
}

static void add_cpe(struct st_sbom_pkg *p, const char *vendor, const char *product)
{
	struct st_buf b = ST_BUF_INIT;
	st_buf_adds(&b, "cpe:2.3:a:");
	add_cpe_attr(&b, vendor);
	st_buf_addch(&b, ':');
	add_cpe_attr(&b, product);
	st_buf_addch(&b, ':');
	add_cpe_attr(&b, p->version);
	st_buf_adds(&b, ":*:*:*:*:*:*:*");
	char *cpe = st_buf_detach(&b, NULL);
	st_sbom_strv_add_unique(&p->cpes, &p->n_cpes, cpe);
	free(cpe);
}

void st_sbom_pkg_identify(struct st_sbom_pkg *p, const struct st_sbom_distro *d)
{
	free(p->purl);
	p->purl = make_purl(p, d);
	st_strv_free(p->cpes, p->n_cpes);
	p->cpes = NULL;
	p->n_cpes = 0;
	if (!strcmp(p->type, "go-module")) {
		/* "github.com/foo/bar": vendor foo, product bar */
		const char *last = strrchr(p->name, '/');
		if (!last) {
			add_cpe(p, p->name, p->name);
			return;
		}
		const char *prev = last;
		while (prev > p->name && prev[-1] != '/')
			prev--;
		st_autofree char *vendor = st_xstrndup(prev, (size_t)(last - prev));
		add_cpe(p, vendor, last + 1);
	} else if (!strcmp(p->type, "java-archive") && p->group) {
		const char *dot = strrchr(p->group, '.');
		add_cpe(p, dot ? dot + 1 : p->group, p->name);
	} else if (!strcmp(p->type, "python")) {
		st_autofree char *vendor = st_xasprintf("python-%s", p->name);
		add_cpe(p, vendor, p->name);
		add_cpe(p, p->name, p->name);
	} else {
		add_cpe(p, p->name, p->name);
	}
}
