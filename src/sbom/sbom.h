/*
 * sbom.h: the packages an image holds, and the layer and instruction that brought each in.
 *
 * The layers are streamed once, bottom first. Only the files a cataloger reads are kept, and
 * only while they are parsed: package databases (dpkg's status and status.d/, apk's
 * installed, rpm's rpmdb.sqlite), Python's METADATA and PKG-INFO, npm's package.json under
 * node_modules, the build information of Go executables, Java archives, Debian copyright files and
 * os-release. Memory grows with the packages found, not with the files of the image.
 *
 * A package is attributed to the first layer whose copy of its database lists it (not the
 * last layer that rewrote the database, as other tools do), with that layer's history entry.
 * It is "present" when the final filesystem's copy of a database still lists it.
 *
 * Output: SPDX 2.3 JSON, CycloneDX 1.6 JSON, strata's own JSON, a table or purls, each
 * deterministic for the same image, time and scope.
 */
#ifndef ST_SBOM_SBOM_H
#define ST_SBOM_SBOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image.h"
#include "layer/layer.h"
#include "local/local.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

/* The distribution, from etc/os-release. Fields NULL when unknown. */
struct st_sbom_distro {
	char *id;	  /* "debian" */
	char *version_id; /* "12" */
	char *name;	  /* PRETTY_NAME or NAME */
	char *id_like;
};

/* One package. Strings are owned by the SBOM; NULL when unknown. */
struct st_sbom_pkg {
	const char
	    *type; /* syft's: "deb", "rpm", "apk", "python", "npm", "go-module", "java-archive" */
	const char *found_by; /* the cataloger: "dpkg-db-cataloger", ... */
	char *name;
	char *version;
	char *group; /* Maven groupId, an npm scope */
	char *arch;
	char *source;	      /* dpkg Source, apk origin */
	char *source_version; /* dpkg "Source: name (version)" */
	char *epoch;	      /* rpm's, when it has one (the version starts with it too) */
	char *supplier;	      /* Maintainer, Author */
	char *homepage;
	char *description;
	char *checksum; /* Go modules: "h1:..."; jars: "sha1:<hex>" */
	char **licenses;
	size_t n_licenses;
	char *path;   /* the file it was found in: "var/lib/dpkg/status" */
	char **paths; /* every file it was found from (with licences' copyright files) */
	size_t n_paths;
	char *purl;
	char **cpes;
	size_t n_cpes;
	size_t layer; /* the layer that added it */
	bool present; /* the final filesystem still has it */
};

/* A layer of the image as the SBOM names it. Borrowed from the SBOM. */
struct st_sbom_layer {
	const char *digest;
	const char *diff_id;
	const char *command; /* its history entry's created_by; NULL when the history is short */
};

struct st_sbom;

/* Layers from anywhere: the caller opens each one (as st_analyze_input). */

/*
 * Catalogue the layers of 'in'. *out is new: st_sbom_free(). A layer that cannot be read (a
 * truncated or corrupt tar, a diff_id that does not match) is an error naming it; a database
 * that cannot be parsed is a warning (st_sbom_warnings()) and the rest goes on.
 */
int st_sbom_read(const struct st_local_layers *in, struct st_sbom **out, struct st_error **err);
/* The same for an image of the store. */
int st_sbom_image(struct st_store *s, const struct st_store_image *img, struct st_sbom **out,
		  struct st_error **err);
void st_sbom_free(struct st_sbom *sb);
void st_sbom_freep(struct st_sbom **sb);

/* Borrowed: every package seen in any layer, sorted by type, name, version, path, layer. */
const struct st_sbom_pkg *st_sbom_pkgs(const struct st_sbom *sb, size_t *n);
size_t st_sbom_n_layers(const struct st_sbom *sb);
const struct st_sbom_layer *st_sbom_layer(const struct st_sbom *sb, size_t i);
/* Borrowed: the final filesystem's distro. */
const struct st_sbom_distro *st_sbom_distro(const struct st_sbom *sb);
/* Borrowed: what could not be read ("usr/lib/x/package.json: not JSON: ..."). */
const char *const *st_sbom_warnings(const struct st_sbom *sb, size_t *n);

/* ---- output ---- */

enum st_sbom_format {
	ST_SBOM_TABLE,
	ST_SBOM_SPDX_JSON,
	ST_SBOM_CYCLONEDX_JSON,
	ST_SBOM_STRATA_JSON,
	ST_SBOM_PURLS,
};

/* "spdx-json", "cyclonedx-json", "strata-json", "table", "purls": false for another name. */
bool st_sbom_format_parse(const char *name, enum st_sbom_format *out);

enum st_sbom_scope {
	ST_SBOM_SQUASHED,   /* what the final filesystem holds */
	ST_SBOM_ALL_LAYERS, /* every package any layer held, with whether it is still there */
};

/* What the document says about itself. Borrowed. */
struct st_sbom_meta {
	const char *name;	     /* the image as it was asked for */
	const char *image_id;	     /* its config digest */
	const char *manifest_digest; /* NULL when not known */
	const char *architecture;
	const char *tool_version; /* strata's */
	int64_t created;	  /* the document's time, seconds since the epoch */
	enum st_sbom_scope scope;
};

/* Append the document to 'out': the same SBOM, meta and format give the same bytes. */
void st_sbom_write(const struct st_sbom *sb, enum st_sbom_format f, const struct st_sbom_meta *m,
		   struct st_buf *out);

#endif
