/*
 * internal.h: the catalogers' parsers and the package list they fill, shared by the files of
 * src/sbom/. Each parser reads the bytes of one file as a layer holds it (untrusted: any
 * length, any bytes) and never fails: what it cannot read becomes a warning.
 */
#ifndef ST_SBOM_INTERNAL_H
#define ST_SBOM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "sbom/sbom.h"

/* What the parsers found in one file. */
struct st_sbom_found {
	struct st_sbom_pkg *pkgs;
	size_t n, cap;
	char **warnings;
	size_t n_warnings;
	char **licenses; /* a copyright file's licences */
	size_t n_licenses;
	struct st_sbom_distro distro; /* os-release */
};

void st_sbom_found_release(struct st_sbom_found *f);
/* A new package of type 'type' and cataloger 'found_by', found in 'path'. Borrowed. */
struct st_sbom_pkg *st_sbom_found_add(struct st_sbom_found *f, const char *type,
				      const char *found_by, const char *path);
void st_sbom_found_warn(struct st_sbom_found *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Add 'l' to the list if it is not there yet. */
void st_sbom_strv_add_unique(char ***v, size_t *n, const char *l);

void st_sbom_pkg_release(struct st_sbom_pkg *p);
/* A deep copy into 'out'. */
void st_sbom_pkg_copy(struct st_sbom_pkg *out, const struct st_sbom_pkg *p);

/* var/lib/dpkg/status, or one file of var/lib/dpkg/status.d/ (distroless). */
void st_sbom_parse_dpkg(const char *data, size_t len, const char *path, struct st_sbom_found *f);
/* usr/share/doc/PKG/copyright: its DEP-5 'License:' lines and common-licenses references. */
void st_sbom_parse_copyright(const char *data, size_t len, struct st_sbom_found *f);
/* lib/apk/db/installed. */
void st_sbom_parse_apk(const char *data, size_t len, const char *path, struct st_sbom_found *f);
/*
 * An rpm database in SQLite (rpmdb.sqlite), its bytes in 'data': they are changed (its
 * journal mode) so that SQLite reads it from memory.
 */
void st_sbom_parse_rpmdb(char *data, size_t len, const char *path, struct st_sbom_found *f);
/* *.dist-info/METADATA, *.egg-info/PKG-INFO or an *.egg-info file. */
void st_sbom_parse_python(const char *data, size_t len, const char *path, struct st_sbom_found *f);
/* node_modules/.../package.json. */
void st_sbom_parse_npm(const char *data, size_t len, const char *path, struct st_sbom_found *f);
/* etc/os-release, usr/lib/os-release: into f->distro. */
void st_sbom_parse_os_release(const char *data, size_t len, struct st_sbom_found *f);
/*
 * The build information of a Go executable, from its "\xff Go buildinf:" header on
 * ('data' starts at the magic): the main module, its dependencies and the Go version.
 */
void st_sbom_parse_go_buildinfo(const char *data, size_t len, const char *path,
				struct st_sbom_found *f);
/* Whether a file name is a Java archive's (.jar, .war, .ear, ...). */
bool st_sbom_java_name(const char *path);
/* A Java archive (jar, war, ear), its nested archives too. */
void st_sbom_parse_java(const char *data, size_t len, const char *path, struct st_sbom_found *f);

/* The magic that starts a Go executable's build information, at a 16-byte aligned offset. */
#define ST_SBOM_GO_MAGIC "\xff Go buildinf:"
#define ST_SBOM_GO_MAGIC_LEN 14

/* Fill p->purl and p->cpes from the package's fields and the image's distro. */
void st_sbom_pkg_identify(struct st_sbom_pkg *p, const struct st_sbom_distro *d);

#endif
