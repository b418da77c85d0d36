/* found.c: the list of packages a parser fills, and the packages themselves. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sbom/internal.h"
#include "util/fs.h"
#include "util/banned.h"

static char *dup_or_null(const char *s)
{
	return s ? st_xstrdup(s) : NULL;
}

static char **strv_dup(char *const *v, size_t n)
{
	if (!n)
		return NULL;
	char **out = st_xcalloc(n, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		out[i] = st_xstrdup(v[i]);
	return out;
}

void st_sbom_pkg_release(struct st_sbom_pkg *p)
{
	free(p->name);
	free(p->version);
	free(p->group);
	free(p->arch);
	free(p->source);
	free(p->source_version);
	free(p->epoch);
	free(p->supplier);
	free(p->homepage);
	free(p->description);
	free(p->checksum);
	free(p->path);
	free(p->purl);
	st_strv_free(p->licenses, p->n_licenses);
	st_strv_free(p->paths, p->n_paths);
	st_strv_free(p->cpes, p->n_cpes);
	memset(p, 0, sizeof(*p));
}

void st_sbom_pkg_copy(struct st_sbom_pkg *out, const struct st_sbom_pkg *p)
{
	*out = (struct st_sbom_pkg){
		.type = p->type,
		.found_by = p->found_by,
		.name = dup_or_null(p->name),
		.version = dup_or_null(p->version),
		.group = dup_or_null(p->group),
		.arch = dup_or_null(p->arch),
		.source = dup_or_null(p->source),
		.source_version = dup_or_null(p->source_version),
		.epoch = dup_or_null(p->epoch),
		.supplier = dup_or_null(p->supplier),
		.homepage = dup_or_null(p->homepage),
		.description = dup_or_null(p->description),
		.checksum = dup_or_null(p->checksum),
		.licenses = strv_dup(p->licenses, p->n_licenses),
		.n_licenses = p->n_licenses,
		.path = dup_or_null(p->path),
		.paths = strv_dup(p->paths, p->n_paths),
		.n_paths = p->n_paths,
		.purl = dup_or_null(p->purl),
		.cpes = strv_dup(p->cpes, p->n_cpes),
		.n_cpes = p->n_cpes,
		.layer = p->layer,
		.present = p->present,
	};
}

void st_sbom_found_release(struct st_sbom_found *f)
{
	for (size_t i = 0; i < f->n; i++)
		st_sbom_pkg_release(&f->pkgs[i]);
	free(f->pkgs);
	st_strv_free(f->warnings, f->n_warnings);
	st_strv_free(f->licenses, f->n_licenses);
	free(f->distro.id);
	free(f->distro.version_id);
	free(f->distro.name);
	free(f->distro.id_like);
	memset(f, 0, sizeof(*f));
}

struct st_sbom_pkg *st_sbom_found_add(struct st_sbom_found *f, const char *type,
				      const char *found_by, const char *path)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 16;
		f->pkgs = st_xrealloc(f->pkgs, f->cap * sizeof(*f->pkgs));
	}
	struct st_sbom_pkg *p = &f->pkgs[f->n++];
	*p = (struct st_sbom_pkg){ .type = type, .found_by = found_by, .path = st_xstrdup(path) };
	return p;
}

void st_sbom_found_warn(struct st_sbom_found *f, const char *fmt, ...)
{
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	f->warnings = st_xrealloc(f->warnings, (f->n_warnings + 1) * sizeof(*f->warnings));
	f->warnings[f->n_warnings++] = st_buf_detach(&b, NULL);
}

void st_sbom_strv_add_unique(char ***v, size_t *n, const char *l)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i], l))
			return;
	*v = st_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = st_xstrdup(l);
}
