/*
 * write.c: the documents. SPDX 2.3 and CycloneDX 1.6 follow syft's mapping of a package
 * (fields, purls as external references, the image as the root package or the metadata's
 * component), so that tools reading syft's documents read these. What syft cannot say goes
 * where each format keeps tool data: the layer that added a package and its instruction are
 * an SPDX package comment and CycloneDX properties.
 *
 * Identifiers that must be unique (the SPDX namespace, the CycloneDX serial number) are
 * derived from the image and the scope, not drawn at random, so the same image gives the
 * same bytes.
 */
#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "digest/digest.h"
#include "sbom/internal.h"
#include "util/cleanup.h"
#include "util/timestamp.h"
#include "util/banned.h"

bool st_sbom_format_parse(const char *name, enum st_sbom_format *out)
{
	static const struct {
		const char *name;
		enum st_sbom_format f;
	} names[] = {
		{ "table", ST_SBOM_TABLE },
		{ "spdx-json", ST_SBOM_SPDX_JSON },
		{ "cyclonedx-json", ST_SBOM_CYCLONEDX_JSON },
		{ "strata-json", ST_SBOM_STRATA_JSON },
		{ "purls", ST_SBOM_PURLS },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i].name)) {
			*out = names[i].f;
			return true;
		}
	}
	return false;
}

static bool selected(const struct st_sbom_pkg *p, const struct st_sbom_meta *m)
{
	return m->scope == ST_SBOM_ALL_LAYERS || p->present;
}

/* A name-based (version 5 layout) UUID from the image, the scope and 'what'. New. */
static char *uuid_of(const struct st_sbom_meta *m, const char *what)
{
	struct st_buf seed = ST_BUF_INIT;
	st_buf_addf(&seed, "%s\n%s\n%s\n%d\n%s", what, m->name ? m->name : "",
		    m->image_id ? m->image_id : "", (int)m->scope,
		    m->manifest_digest ? m->manifest_digest : "");
	struct st_digest d;
	st_digest_of(seed.data, seed.len, &d);
	st_buf_release(&seed);
	const char *h = d.str + strlen("sha256:");
	/* the version nibble 5 and the RFC 4122 variant, as CycloneDX's pattern wants them */
	static const char variant[] = "89ab";
	return st_xasprintf("%.8s-%.4s-5%.3s-%c%.3s-%.12s", h, h + 8, h + 13,
			    variant[(h[16] - '0') & 3], h + 17, h + 20);
}

/* The image's purl, as syft writes its root: pkg:oci/<name>@<digest>?arch=...&tag=... New. */
static char *image_purl(const struct st_sbom_meta *m)
{
	const char *name = m->name ? m->name : "image";
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	const char *at = strchr(base, '@');
	const char *colon = strchr(base, ':');
	size_t n = at ? (size_t)(at - base) : colon ? (size_t)(colon - base) : strlen(base);
	const char *tag = !at && colon ? colon + 1 : NULL;
	struct st_buf b = ST_BUF_INIT;
	st_buf_adds(&b, "pkg:oci/");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)base[i]);
		if (isalnum(c) || strchr("-._~", c))
			st_buf_addch(&b, (char)c);
		else
			st_buf_addf(&b, "%%%02X", c);
	}
	const char *digest = m->manifest_digest ? m->manifest_digest : m->image_id;
	st_buf_addf(&b, "@sha256%%3A%s", digest + strlen("sha256:"));
	char sep = '?';
	if (m->architecture) {
		st_buf_addf(&b, "%carch=%s", sep, m->architecture);
		sep = '&';
	}
	if (tag)
		st_buf_addf(&b, "%ctag=%s", sep, tag);
	return st_buf_detach(&b, NULL);
}

static const char *short_command(const char *by)
{
	if (!by || !*by)
		return "(no history)";
	if (!strncmp(by, "/bin/sh -c #(nop) ", 18))
		return by + 18;
	return !strncmp(by, "/bin/sh -c ", 11) ? by + 11 : by;
}

/* ---- licences: SPDX ids where the text names one ---- */

/* The SPDX ids licences are most often written with, checked case-insensitively. */
static const char *const spdx_ids[] = {
	"0BSD",
	"AGPL-3.0-only",
	"AGPL-3.0-or-later",
	"Apache-1.1",
	"Apache-2.0",
	"Artistic-1.0",
	"Artistic-2.0",
	"BSD-2-Clause",
	"BSD-3-Clause",
	"BSD-4-Clause",
	"BSL-1.0",
	"CC-BY-4.0",
	"CC-BY-SA-4.0",
	"CC0-1.0",
	"CDDL-1.0",
	"curl",
	"EPL-1.0",
	"EPL-2.0",
	"GFDL-1.2-only",
	"GFDL-1.2-or-later",
	"GFDL-1.3-only",
	"GFDL-1.3-or-later",
	"GPL-1.0-only",
	"GPL-1.0-or-later",
	"GPL-2.0-only",
	"GPL-2.0-or-later",
	"GPL-3.0-only",
	"GPL-3.0-or-later",
	"ISC",
	"LGPL-2.0-only",
	"LGPL-2.0-or-later",
	"LGPL-2.1-only",
	"LGPL-2.1-or-later",
	"LGPL-3.0-only",
	"LGPL-3.0-or-later",
	"MIT",
	"MIT-0",
	"MPL-1.1",
	"MPL-2.0",
	"OpenSSL",
	"PSF-2.0",
	"Python-2.0",
	"Ruby",
	"Unicode-DFS-2016",
	"Unlicense",
	"WTFPL",
	"X11",
	"Zlib",
};

/* "GPL-2" → "GPL-2.0-only", "LGPL-2.1+" → "LGPL-2.1-or-later" (Debian's short names). */
static char *gnu_id(const char *s)
{
	static const char *const families[] = { "AGPL-", "LGPL-", "GPL-", "GFDL-" };
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		size_t k = strlen(families[f]);
		if (strncasecmp(s, families[f], k) != 0)
			continue;
		const char *v = s + k;
		size_t n = strspn(v, "0123456789.");
		if (!n)
			return NULL;
		bool plus = v[n] == '+' && !v[n + 1];
		if (v[n] && !plus)
			return NULL;
		return st_xasprintf("%.*s%.*s%s-%s", (int)k - 1, families[f], (int)n, v,
				    memchr(v, '.', n) ? "" : ".0", plus ? "or-later" : "only");
	}
	return NULL;
}

/* The SPDX id 's' names, or NULL. New. */
static char *spdx_id(const char *s)
{
	for (size_t i = 0; i < sizeof(spdx_ids) / sizeof(spdx_ids[0]); i++)
		if (!strcasecmp(s, spdx_ids[i]))
			return st_xstrdup(spdx_ids[i]);
	char *g = gnu_id(s);
	if (g) {
		for (size_t i = 0; i < sizeof(spdx_ids) / sizeof(spdx_ids[0]); i++)
			if (!strcmp(g, spdx_ids[i]))
				return g;
		free(g);
	}
	return NULL;
}

/* "LicenseRef-" and the text with every character SPDX ids do not allow as '-'. New. */
static char *license_ref(const char *s)
{
	struct st_buf b = ST_BUF_INIT;
	st_buf_adds(&b, "LicenseRef-");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		st_buf_addch(&b, isalnum(*p) || *p == '.' ? (char)*p : '-');
	return st_buf_detach(&b, NULL);
}

/* ---- SPDX 2.3 ---- */

static char *spdx_ref(const char *prefix, const char *a, const char *b, size_t n)
{
	struct st_buf r = ST_BUF_INIT;
	st_buf_adds(&r, prefix);
	for (const char *s = a; s && *s; s++)
		st_buf_addch(&r, isalnum((unsigned char)*s) || *s == '.' ? *s : '-');
	if (b) {
		st_buf_addch(&r, '-');
		for (const char *s = b; *s; s++)
			st_buf_addch(&r, isalnum((unsigned char)*s) || *s == '.' ? *s : '-');
	}
	if (n != SIZE_MAX)
		st_buf_addf(&r, "-%zu", n);
	return st_buf_detach(&r, NULL);
}

/* "Name <mail>" → "Person: Name (mail)", SPDX's form; NOASSERTION when unknown. New. */
static char *spdx_supplier(const char *s)
{
	if (!s || !*s)
		return st_xstrdup("NOASSERTION");
	struct st_buf b = ST_BUF_INIT;
	st_buf_adds(&b, "Person: ");
	for (; *s; s++)
		st_buf_addch(&b, *s == '<' ? '(' : *s == '>' ? ')' : *s);
	return st_buf_detach(&b, NULL);
}

/* The declared licence expression; unknown texts become LicenseRefs recorded in 'extracted'. */
static char *spdx_license(const struct st_sbom_pkg *p, json_t *extracted)
{
	if (!p->n_licenses)
		return st_xstrdup("NOASSERTION");
	struct st_buf b = ST_BUF_INIT;
	for (size_t i = 0; i < p->n_licenses; i++) {
		if (i)
			st_buf_adds(&b, " AND ");
		char *id = spdx_id(p->licenses[i]);
		if (!id) {
			id = license_ref(p->licenses[i]);
			if (!json_object_get(extracted, id))
				json_object_set_new(extracted, id, json_string(p->licenses[i]));
		}
		st_buf_adds(&b, id);
		free(id);
	}
	if (p->n_licenses > 1) {
		/* several licences of one package: the expression groups them */
		char *inner = st_buf_detach(&b, NULL);
		st_buf_addf(&b, "(%s)", inner);
		free(inner);
	}
	return st_buf_detach(&b, NULL);
}

static char *layer_comment(const struct st_sbom *sb, const struct st_sbom_pkg *p)
{
	const struct st_sbom_layer *l = st_sbom_layer(sb, p->layer);
	return st_xasprintf(
	    "added by layer %zu (%s): %s; %s", p->layer, l->diff_id, short_command(l->command),
	    p->present ? "present in the final filesystem" : "not in the final filesystem");
}

/* Go's h1: is base64 of a SHA-256: hex for a checksum. New, or NULL. */
static char *h1_hex(const char *sum)
{
	if (!sum || strncmp(sum, "h1:", 3) != 0 || strlen(sum + 3) != 44)
		return NULL;
	unsigned char raw[48];
	if (EVP_DecodeBlock(raw, (const unsigned char *)sum + 3, 44) != 33)
		return NULL;
	struct st_buf b = ST_BUF_INIT;
	for (size_t i = 0; i < 32; i++)
		st_buf_addf(&b, "%02x", raw[i]);
	return st_buf_detach(&b, NULL);
}

static json_t *spdx_checksums(const struct st_sbom_pkg *p)
{
	st_autofree char *h1 = h1_hex(p->checksum);
	const char *alg = h1 ? "SHA256" : "SHA1";
	const char *value = h1 ? h1 : NULL;
	if (!value && p->checksum && !strncmp(p->checksum, "sha1:", 5))
		value = p->checksum + 5;
	if (!value)
		return NULL;
	json_t *c = json_object();
	json_object_set_new(c, "algorithm", json_string(alg));
	json_object_set_new(c, "checksumValue", json_string(value));
	return json_pack("[o]", c);
}

static json_t *spdx_package(const struct st_sbom *sb, const struct st_sbom_pkg *p, const char *ref,
			    json_t *extracted)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "SPDXID", json_string(ref));
	json_object_set_new(o, "versionInfo", json_string(p->version));
	st_autofree char *supplier = spdx_supplier(p->supplier);
	json_object_set_new(o, "supplier", json_string(supplier));
	json_object_set_new(o, "downloadLocation", json_string("NOASSERTION"));
	json_object_set_new(o, "filesAnalyzed", json_false());
	json_t *sums = spdx_checksums(p);
	if (sums)
		json_object_set_new(o, "checksums", sums);
	if (p->homepage)
		json_object_set_new(o, "homepage", json_string(p->homepage));
	struct st_buf src = ST_BUF_INIT;
	st_buf_addf(&src, "acquired package info from %s:", p->found_by);
	for (size_t k = 0; k < p->n_paths; k++)
		st_buf_addf(&src, "%s /%s", k ? "," : "", p->paths[k]);
	json_object_set_new(o, "sourceInfo", json_string(src.data));
	st_buf_release(&src);
	json_object_set_new(o, "licenseConcluded", json_string("NOASSERTION"));
	st_autofree char *lic = spdx_license(p, extracted);
	json_object_set_new(o, "licenseDeclared", json_string(lic));
	json_object_set_new(o, "copyrightText", json_string("NOASSERTION"));
	if (p->description)
		json_object_set_new(o, "description", json_string(p->description));
	st_autofree char *comment = layer_comment(sb, p);
	json_object_set_new(o, "comment", json_string(comment));
	json_t *refs = json_array();
	for (size_t k = 0; k < p->n_cpes; k++)
		json_array_append_new(refs, json_pack("{s:s,s:s,s:s}", "referenceCategory",
						      "SECURITY", "referenceType", "cpe23Type",
						      "referenceLocator", p->cpes[k]));
	json_array_append_new(refs,
			      json_pack("{s:s,s:s,s:s}", "referenceCategory", "PACKAGE-MANAGER",
					"referenceType", "purl", "referenceLocator", p->purl));
	json_object_set_new(o, "externalRefs", refs);
	return o;
}

static json_t *relationship(const char *a, const char *type, const char *b)
{
	return json_pack("{s:s,s:s,s:s}", "spdxElementId", a, "relatedSpdxElement", b,
			 "relationshipType", type);
}

static json_t *spdx_document(const struct st_sbom *sb, const struct st_sbom_meta *m)
{
	const char *name = m->name ? m->name : "image";
	st_autofree char *uuid = uuid_of(m, "spdx");
	st_autofree char *created = st_time_rfc3339((time_t)m->created, 0);
	st_autofree char *ns = spdx_ref("https://strata.invalid/spdx/", name, uuid, SIZE_MAX);
	st_autofree char *tool = st_xasprintf("Tool: strata-%s", m->tool_version);
	json_t *doc = json_object();
	json_object_set_new(doc, "spdxVersion", json_string("SPDX-2.3"));
	json_object_set_new(doc, "dataLicense", json_string("CC0-1.0"));
	json_object_set_new(doc, "SPDXID", json_string("SPDXRef-DOCUMENT"));
	json_object_set_new(doc, "name", json_string(name));
	json_object_set_new(doc, "documentNamespace", json_string(ns));
	json_object_set_new(doc, "creationInfo",
			    json_pack("{s:[s,s],s:s}", "creators", "Organization: strata", tool,
				      "created", created));
	json_t *pkgs = json_array(), *rels = json_array(), *extracted = json_object();

	/* the image itself, as syft's root package */
	st_autofree char *root = spdx_ref("SPDXRef-DocumentRoot-Image-", name, NULL, SIZE_MAX);
	st_autofree char *ipurl = image_purl(m);
	const char *digest = m->manifest_digest ? m->manifest_digest : m->image_id;
	json_t *r = json_object();
	json_object_set_new(r, "name", json_string(name));
	json_object_set_new(r, "SPDXID", json_string(root));
	json_object_set_new(r, "versionInfo", json_string(digest));
	json_object_set_new(r, "supplier", json_string("NOASSERTION"));
	json_object_set_new(r, "downloadLocation", json_string("NOASSERTION"));
	json_object_set_new(r, "filesAnalyzed", json_false());
	json_object_set_new(r, "checksums",
			    json_pack("[{s:s,s:s}]", "algorithm", "SHA256", "checksumValue",
				      digest + strlen("sha256:")));
	json_object_set_new(r, "licenseConcluded", json_string("NOASSERTION"));
	json_object_set_new(r, "licenseDeclared", json_string("NOASSERTION"));
	json_object_set_new(r, "copyrightText", json_string("NOASSERTION"));
	json_object_set_new(r, "externalRefs",
			    json_pack("[{s:s,s:s,s:s}]", "referenceCategory", "PACKAGE-MANAGER",
				      "referenceType", "purl", "referenceLocator", ipurl));
	json_object_set_new(r, "primaryPackagePurpose", json_string("CONTAINER"));
	json_array_append_new(pkgs, r);
	json_array_append_new(rels, relationship("SPDXRef-DOCUMENT", "DESCRIBES", root));

	size_t n;
	const struct st_sbom_pkg *all = st_sbom_pkgs(sb, &n);
	for (size_t i = 0; i < n; i++) {
		if (!selected(&all[i], m))
			continue;
		st_autofree char *ref = spdx_ref("SPDXRef-Package-", all[i].type, all[i].name, i);
		json_array_append_new(pkgs, spdx_package(sb, &all[i], ref, extracted));
		json_array_append_new(rels, relationship(root, "CONTAINS", ref));
	}
	json_object_set_new(doc, "packages", pkgs);
	if (json_object_size(extracted)) {
		json_t *infos = json_array();
		const char *id;
		json_t *text;
		/* in the order the packages named them: the packages' order */
		json_object_foreach(extracted, id, text)
		{
			const char *t = json_string_value(text);
			json_array_append_new(infos, json_pack("{s:s,s:s,s:s}", "licenseId", id,
							       "name", t, "extractedText", t));
		}
		json_object_set_new(doc, "hasExtractedLicensingInfos", infos);
	}
	json_decref(extracted);
	json_object_set_new(doc, "relationships", rels);
	return doc;
}

/* ---- CycloneDX 1.6 ---- */

static void property(json_t *props, const char *name, const char *value)
{
	if (value)
		json_array_append_new(props, json_pack("{s:s,s:s}", "name", name, "value", value));
}

static json_t *cdx_licenses(const struct st_sbom_pkg *p)
{
	json_t *a = json_array();
	for (size_t i = 0; i < p->n_licenses; i++) {
		st_autofree char *id = spdx_id(p->licenses[i]);
		json_array_append_new(a, json_pack("{s:{s:s}}", "license", id ? "id" : "name",
						   id ? id : p->licenses[i]));
	}
	return a;
}

static json_t *cdx_component(const struct st_sbom *sb, const struct st_sbom_pkg *p, size_t i)
{
	json_t *c = json_object();
	st_autofree char *ref =
	    st_xasprintf("%s%cpackage-id=%zx", p->purl, strchr(p->purl, '?') ? '&' : '?', i);
	json_object_set_new(c, "bom-ref", json_string(ref));
	json_object_set_new(c, "type", json_string("library"));
	if (p->supplier)
		json_object_set_new(c, "author", json_string(p->supplier));
	if (p->group)
		json_object_set_new(c, "group", json_string(p->group));
	json_object_set_new(c, "name", json_string(p->name));
	json_object_set_new(c, "version", json_string(p->version));
	if (p->description)
		json_object_set_new(c, "description", json_string(p->description));
	st_autofree char *h1 = h1_hex(p->checksum);
	if (h1)
		json_object_set_new(c, "hashes",
				    json_pack("[{s:s,s:s}]", "alg", "SHA-256", "content", h1));
	else if (p->checksum && !strncmp(p->checksum, "sha1:", 5))
		json_object_set_new(
		    c, "hashes",
		    json_pack("[{s:s,s:s}]", "alg", "SHA-1", "content", p->checksum + 5));
	if (p->n_licenses)
		json_object_set_new(c, "licenses", cdx_licenses(p));
	if (p->n_cpes)
		json_object_set_new(c, "cpe", json_string(p->cpes[0]));
	json_object_set_new(c, "purl", json_string(p->purl));
	if (p->homepage)
		json_object_set_new(
		    c, "externalReferences",
		    json_pack("[{s:s,s:s}]", "url", p->homepage, "type", "website"));
	json_t *props = json_array();
	const struct st_sbom_layer *l = st_sbom_layer(sb, p->layer);
	for (size_t k = 1; k < p->n_cpes; k++)
		property(props, "syft:cpe23", p->cpes[k]);
	property(props, "syft:package:foundBy", p->found_by);
	property(props, "syft:package:type", p->type);
	for (size_t k = 0; k < p->n_paths; k++) {
		st_autofree char *pn = st_xasprintf("syft:location:%zu:path", k);
		st_autofree char *path = st_xasprintf("/%s", p->paths[k]);
		st_autofree char *ln = st_xasprintf("syft:location:%zu:layerID", k);
		property(props, pn, path);
		property(props, ln, l->diff_id);
	}
	st_autofree char *index = st_xasprintf("%zu", p->layer);
	property(props, "strata:layer:index", index);
	property(props, "strata:layer:diffID", l->diff_id);
	property(props, "strata:layer:instruction", short_command(l->command));
	property(props, "strata:present", p->present ? "true" : "false");
	json_object_set_new(c, "properties", props);
	return c;
}

static json_t *cdx_document(const struct st_sbom *sb, const struct st_sbom_meta *m)
{
	st_autofree char *uuid = uuid_of(m, "cyclonedx");
	st_autofree char *serial = st_xasprintf("urn:uuid:%s", uuid);
	st_autofree char *created = st_time_rfc3339((time_t)m->created, 0);
	st_autofree char *ipurl = image_purl(m);
	const char *digest = m->manifest_digest ? m->manifest_digest : m->image_id;
	json_t *doc = json_object();
	json_object_set_new(doc, "$schema",
			    json_string("http://cyclonedx.org/schema/bom-1.6.schema.json"));
	json_object_set_new(doc, "bomFormat", json_string("CycloneDX"));
	json_object_set_new(doc, "specVersion", json_string("1.6"));
	json_object_set_new(doc, "serialNumber", json_string(serial));
	json_object_set_new(doc, "version", json_integer(1));
	json_t *tool = json_pack("{s:s,s:s,s:s,s:s}", "type", "application", "author", "strata",
				 "name", "strata", "version", m->tool_version);
	json_t *image = json_pack("{s:s,s:s,s:s,s:s}", "bom-ref", ipurl, "type", "container",
				  "name", m->name ? m->name : "image", "version", digest);
	json_object_set_new(doc, "metadata",
			    json_pack("{s:s,s:{s:[o]},s:o}", "timestamp", created, "tools",
				      "components", tool, "component", image));
	json_t *comps = json_array();
	size_t n;
	const struct st_sbom_pkg *all = st_sbom_pkgs(sb, &n);
	for (size_t i = 0; i < n; i++)
		if (selected(&all[i], m))
			json_array_append_new(comps, cdx_component(sb, &all[i], i));
	const struct st_sbom_distro *d = st_sbom_distro(sb);
	if (d->id) {
		json_t *os = json_object();
		st_autofree char *ref =
		    st_xasprintf("os:%s@%s", d->id, d->version_id ? d->version_id : "");
		json_object_set_new(os, "bom-ref", json_string(ref));
		json_object_set_new(os, "type", json_string("operating-system"));
		json_object_set_new(os, "name", json_string(d->id));
		if (d->version_id)
			json_object_set_new(os, "version", json_string(d->version_id));
		if (d->name)
			json_object_set_new(os, "description", json_string(d->name));
		json_array_append_new(comps, os);
	}
	json_object_set_new(doc, "components", comps);
	return doc;
}

/* ---- strata's JSON: the layers first, each package pointing at one ---- */

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *opt_string(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *strata_document(const struct st_sbom *sb, const struct st_sbom_meta *m)
{
	st_autofree char *created = st_time_rfc3339((time_t)m->created, 0);
	json_t *doc = json_object();
	json_object_set_new(doc, "schema", json_string("strata-sbom/1"));
	json_object_set_new(doc, "created", json_string(created));
	json_object_set_new(doc, "tool",
			    json_pack("{s:s,s:s}", "name", "strata", "version", m->tool_version));
	json_object_set_new(
	    doc, "scope", json_string(m->scope == ST_SBOM_ALL_LAYERS ? "all-layers" : "squashed"));
	json_object_set_new(doc, "image",
			    json_pack("{s:s,s:s,s:o,s:o}", "name", m->name ? m->name : "", "id",
				      m->image_id, "manifestDigest", opt_string(m->manifest_digest),
				      "architecture", opt_string(m->architecture)));
	const struct st_sbom_distro *d = st_sbom_distro(sb);
	json_object_set_new(doc, "distro",
			    d->id
				? json_pack("{s:s,s:o,s:o}", "id", d->id, "versionID",
					    opt_string(d->version_id), "name", opt_string(d->name))
				: json_null());
	json_t *layers = json_array();
	for (size_t i = 0; i < st_sbom_n_layers(sb); i++) {
		const struct st_sbom_layer *l = st_sbom_layer(sb, i);
		json_array_append_new(layers, json_pack("{s:I,s:s,s:s,s:o}", "index", (json_int_t)i,
							"digest", l->digest, "diffID", l->diff_id,
							"createdBy", opt_string(l->command)));
	}
	json_object_set_new(doc, "layers", layers);
	json_t *pkgs = json_array();
	size_t n;
	const struct st_sbom_pkg *all = st_sbom_pkgs(sb, &n);
	for (size_t i = 0; i < n; i++) {
		const struct st_sbom_pkg *p = &all[i];
		if (!selected(p, m))
			continue;
		const struct st_sbom_layer *l = st_sbom_layer(sb, p->layer);
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(p->name));
		json_object_set_new(o, "version", json_string(p->version));
		json_object_set_new(o, "type", json_string(p->type));
		json_object_set_new(o, "foundBy", json_string(p->found_by));
		json_object_set_new(o, "purl", json_string(p->purl));
		json_object_set_new(o, "cpes", strv_json(p->cpes, p->n_cpes));
		json_object_set_new(o, "licenses", strv_json(p->licenses, p->n_licenses));
		json_object_set_new(o, "locations", strv_json(p->paths, p->n_paths));
		if (p->group)
			json_object_set_new(o, "group", json_string(p->group));
		if (p->arch)
			json_object_set_new(o, "architecture", json_string(p->arch));
		if (p->source)
			json_object_set_new(o, "source", json_string(p->source));
		if (p->epoch)
			json_object_set_new(o, "epoch", json_string(p->epoch));
		if (p->checksum)
			json_object_set_new(o, "checksum", json_string(p->checksum));
		json_object_set_new(o, "layer",
				    json_pack("{s:I,s:s,s:o}", "index", (json_int_t)p->layer,
					      "diffID", l->diff_id, "createdBy",
					      opt_string(l->command)));
		json_object_set_new(o, "present", json_boolean(p->present));
		json_array_append_new(pkgs, o);
	}
	json_object_set_new(doc, "packages", pkgs);
	size_t nw;
	const char *const *w = st_sbom_warnings(sb, &nw);
	json_object_set_new(doc, "warnings", strv_json((char *const *)w, nw));
	return doc;
}

/* ---- for people and scripts ---- */

static void write_table(const struct st_sbom *sb, const struct st_sbom_meta *m, struct st_buf *out)
{
	size_t n, wn = 4, wv = 7, wt = 4;
	const struct st_sbom_pkg *all = st_sbom_pkgs(sb, &n);
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		if (!selected(&all[i], m))
			continue;
		shown++;
		wn = strlen(all[i].name) > wn ? strlen(all[i].name) : wn;
		wv = strlen(all[i].version) > wv ? strlen(all[i].version) : wv;
		wt = strlen(all[i].type) > wt ? strlen(all[i].type) : wt;
	}
	if (!shown) {
		st_buf_adds(out, "No packages discovered\n");
		return;
	}
	bool all_layers = m->scope == ST_SBOM_ALL_LAYERS;
	st_buf_addf(out, "%-*s  %-*s  %-*s  LAYER  %sINSTRUCTION\n", (int)wn, "NAME", (int)wv,
		    "VERSION", (int)wt, "TYPE", all_layers ? "PRESENT  " : "");
	for (size_t i = 0; i < n; i++) {
		const struct st_sbom_pkg *p = &all[i];
		if (!selected(p, m))
			continue;
		const char *cmd = short_command(st_sbom_layer(sb, p->layer)->command);
		st_buf_addf(out, "%-*s  %-*s  %-*s  %-5zu  ", (int)wn, p->name, (int)wv, p->version,
			    (int)wt, p->type, p->layer);
		if (all_layers)
			st_buf_addf(out, "%-7s  ", p->present ? "yes" : "no");
		/* one line per package: an instruction's own newlines are not kept */
		size_t len = strcspn(cmd, "\n");
		st_buf_addf(out, "%.*s%s\n", (int)(len > 60 ? 57 : len), cmd,
			    len > 60 ? "..." : "");
	}
}

static void write_purls(const struct st_sbom *sb, const struct st_sbom_meta *m, struct st_buf *out)
{
	size_t n;
	const struct st_sbom_pkg *all = st_sbom_pkgs(sb, &n);
	const char *last = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!selected(&all[i], m))
			continue;
		/* the same package in two places is one purl */
		if (last && !strcmp(last, all[i].purl))
			continue;
		st_buf_addf(out, "%s\n", all[i].purl);
		last = all[i].purl;
	}
}

void st_sbom_write(const struct st_sbom *sb, enum st_sbom_format f, const struct st_sbom_meta *m,
		   struct st_buf *out)
{
	json_t *doc = NULL;
	switch (f) {
	case ST_SBOM_TABLE:
		write_table(sb, m, out);
		return;
	case ST_SBOM_PURLS:
		write_purls(sb, m, out);
		return;
	case ST_SBOM_SPDX_JSON:
		doc = spdx_document(sb, m);
		break;
	case ST_SBOM_CYCLONEDX_JSON:
		doc = cdx_document(sb, m);
		break;
	case ST_SBOM_STRATA_JSON:
		doc = strata_document(sb, m);
		break;
	}
	char *text = json_dumps(doc, JSON_INDENT(2));
	st_buf_adds(out, text);
	st_buf_addch(out, '\n');
	free(text);
	json_decref(doc);
}
