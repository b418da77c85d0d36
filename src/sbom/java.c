/*
 * java.c: Java archives (jar, war, ear and Jenkins' jpi/hpi), read from memory with
 * libarchive's zip reader: every META-INF/maven/<group>/<artifact>/pom.properties is a
 * package; an archive without one is named by its file name and META-INF/MANIFEST.MF.
 * Archives inside archives are read the same way, a few levels deep.
 */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sbom/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* Nested archives deeper than this are not opened (a zip bomb of zips). */
#define JAVA_MAX_DEPTH 4
/* Neither a manifest nor a nested archive is read past this. */
#define JAVA_MAX_MEMBER (64u << 20)

bool st_sbom_java_name(const char *path)
{
	static const char *const exts[] = { ".jar", ".war", ".ear", ".par", ".sar",
					    ".nar", ".jpi", ".hpi", ".lpkg" };
	size_t n = strlen(path);
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t e = strlen(exts[i]);
		if (n > e && !strcasecmp(path + n - e, exts[i]))
			return true;
	}
	return false;
}

/* "Key: value" of a manifest's main section; continuation lines start with one space. New. */
static char *manifest_get(const char *mf, const char *key)
{
	size_t klen = strlen(key);
	for (const char *l = mf; l && *l;) {
		const char *nl = strchr(l, '\n');
		if (*l == '\r' || *l == '\n')
			return NULL; /* the main section ends at the first blank line */
		if (!strncasecmp(l, key, klen) && l[klen] == ':') {
			struct st_buf b = ST_BUF_INIT;
			const char *v = l + klen + 1;
			while (*v == ' ')
				v++;
			for (;;) {
				const char *e = strchr(v, '\n');
				size_t n = e ? (size_t)(e - v) : strlen(v);
				if (n && v[n - 1] == '\r')
					n--;
				st_buf_add(&b, v, n);
				if (!e || e[1] != ' ')
					break;
				v = e + 2;
			}
			return st_buf_detach(&b, NULL);
		}
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* "key=value" of a properties file. New. */
static char *props_get(const char *text, const char *key)
{
	size_t klen = strlen(key);
	for (const char *l = text; l && *l;) {
		const char *nl = strchr(l, '\n');
		while (*l == ' ' || *l == '\t')
			l++;
		if (!strncmp(l, key, klen) && (l[klen] == '=' || l[klen] == ':')) {
			const char *v = l + klen + 1;
			size_t n = nl ? (size_t)(nl - v) : strlen(v);
			while (n && isspace((unsigned char)v[n - 1]))
				n--;
			return st_xstrndup(v, n);
		}
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static char *sha1_of(const char *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(data, len, md, &n, EVP_sha1(), NULL);
	struct st_buf b = ST_BUF_INIT;
	st_buf_adds(&b, "sha1:");
	for (unsigned int i = 0; i < n; i++)
		st_buf_addf(&b, "%02x", md[i]);
	return st_buf_detach(&b, NULL);
}

/* "commons-cli-1.5.0.jar" → name "commons-cli", version "1.5.0" (as the file names it). */
static void name_from_file(const char *path, char **name, char **version)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *colon = strrchr(base, ':');
	base = colon ? colon + 1 : base;
	const char *dot = strrchr(base, '.');
	size_t n = dot ? (size_t)(dot - base) : strlen(base);
	*version = NULL;
	for (size_t i = 1; i + 1 < n; i++) {
		if (base[i] == '-' && isdigit((unsigned char)base[i + 1])) {
			*version = st_xstrndup(base + i + 1, n - i - 1);
			n = i;
			break;
		}
	}
	*name = st_xstrndup(base, n);
}

static bool read_member(struct archive *a, struct st_buf *b)
{
	char chunk[16384];
	la_ssize_t k;
	st_buf_reset(b);
	while ((k = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
		if (b->len + (size_t)k > JAVA_MAX_MEMBER)
			return false;
		st_buf_add(b, chunk, (size_t)k);
	}
	return k == 0;
}

static void read_archive(const char *data, size_t len, const char *path, int depth,
			 struct st_sbom_found *f);

/* One archive's members: its manifest, its pom.properties, the archives inside it. */
static void read_members(struct archive *a, const char *path, int depth, char **manifest,
			 struct st_sbom_found *f, size_t *n_pom)
{
	struct archive_entry *ae;
	struct st_buf b = ST_BUF_INIT;
	int rc;
	while ((rc = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);
		if (!name || archive_entry_filetype(ae) != AE_IFREG)
			continue;
		bool is_manifest = !strcasecmp(name, "META-INF/MANIFEST.MF");
		size_t nlen = strlen(name);
		bool is_pom = !strncmp(name, "META-INF/maven/", 15) && nlen > 15 + 15 &&
			      !strcmp(name + nlen - 15, "/pom.properties");
		bool nested = st_sbom_java_name(name);
		if (!is_manifest && !is_pom && !nested)
			continue;
		if (!read_member(a, &b)) {
			st_sbom_found_warn(f, "%s: member '%s' unreadable or too large", path,
					   name);
			continue;
		}
		if (is_manifest) {
			free(*manifest);
			*manifest = st_xstrndup(st_buf_str(&b), b.len);
		} else if (is_pom) {
			st_autofree char *text = st_xstrndup(st_buf_str(&b), b.len);
			char *g = props_get(text, "groupId"), *art = props_get(text, "artifactId"),
			     *v = props_get(text, "version");
			if (art && *art && v && *v) {
				struct st_sbom_pkg *p = st_sbom_found_add(
				    f, "java-archive", "java-archive-cataloger", path);
				p->group = g && *g ? st_xstrdup(g) : NULL;
				p->name = st_steal(&art);
				p->version = st_steal(&v);
				(*n_pom)++;
			}
			free(g);
			free(art);
			free(v);
		} else if (depth + 1 < JAVA_MAX_DEPTH) {
			st_autofree char *inner = st_xasprintf("%s:%s", path, name);
			read_archive(st_buf_str(&b), b.len, inner, depth + 1, f);
		}
	}
	if (rc != ARCHIVE_EOF)
		st_sbom_found_warn(f, "%s: not a readable Java archive: %s", path,
				   archive_error_string(a) ? archive_error_string(a) : "bad zip");
	st_buf_release(&b);
}

static void read_archive(const char *data, size_t len, const char *path, int depth,
			 struct st_sbom_found *f)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_zip(a);
	size_t first = f->n, n_pom = 0;
	st_autofree char *manifest = NULL;
	if (archive_read_open_memory(a, data, len) != ARCHIVE_OK)
		st_sbom_found_warn(f, "%s: not a readable Java archive: %s", path,
				   archive_error_string(a) ? archive_error_string(a) : "bad zip");
	else
		read_members(a, path, depth, &manifest, f, &n_pom);
	archive_read_free(a);
	if (!n_pom) {
		/* no Maven metadata: the file's name and the manifest say what it is */
		char *name = NULL, *version = NULL;
		name_from_file(path, &name, &version);
		if (manifest) {
			char *mv = manifest_get(manifest, "Implementation-Version");
			if (!mv)
				mv = manifest_get(manifest, "Bundle-Version");
			if (!mv)
				mv = manifest_get(manifest, "Specification-Version");
			if (mv && *mv) {
				free(version);
				version = mv;
			} else {
				free(mv);
			}
		}
		if (!*name || !version || !*version) {
			free(name);
			free(version);
			return;
		}
		struct st_sbom_pkg *p =
		    st_sbom_found_add(f, "java-archive", "java-archive-cataloger", path);
		p->name = name;
		p->version = version;
	}
	st_autofree char *sha1 = sha1_of(data, len);
	char *lic = manifest ? manifest_get(manifest, "Bundle-License") : NULL;
	char *vendor = manifest ? manifest_get(manifest, "Implementation-Vendor") : NULL;
	for (size_t i = first; i < f->n; i++) {
		struct st_sbom_pkg *p = &f->pkgs[i];
		if (strcmp(p->path, path) != 0)
			continue; /* a nested archive's own */
		p->checksum = st_xstrdup(sha1);
		if (lic && *lic)
			st_sbom_strv_add_unique(&p->licenses, &p->n_licenses, lic);
		if (vendor && *vendor && !p->supplier)
			p->supplier = st_xstrdup(vendor);
	}
	free(lic);
	free(vendor);
}

void st_sbom_parse_java(const char *data, size_t len, const char *path, struct st_sbom_found *f)
{
	read_archive(data, len, path, 0, f);
}
