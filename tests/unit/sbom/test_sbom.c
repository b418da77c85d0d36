/*
 * The catalogers' parsers on crafted input, purls and CPEs, and the layer attribution on
 * images made here: a database rewritten, whited out, hidden by an opaque directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "local/local.h"
#include "sbom/internal.h"
#include "util/fs.h"

static const char status[] = "Package: libc6\n"
			     "Status: install ok installed\n"
			     "Architecture: amd64\n"
			     "Source: glibc\n"
			     "Version: 2.36-9+deb12u4\n"
			     "Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\n"
			     "Description: GNU C Library: Shared libraries\n"
			     " Contains the standard libraries.\n"
			     "\n"
			     "Package: gone\n"
			     "Status: deinstall ok config-files\n"
			     "Version: 1.0\n"
			     "\n"
			     "Package: libssl3\n"
			     "Status: install ok installed\n"
			     "Architecture: amd64\n"
			     "Source: openssl (3.0.11-1~deb12u2)\n"
			     "Version: 3.0.11-1~deb12u2+b1\n";

static void dpkg_status(void **state)
{
	(void)state;
	struct st_sbom_found f = { 0 };
	st_sbom_parse_dpkg(status, sizeof(status) - 1, "var/lib/dpkg/status", &f);
	/* config-files only: not installed, not listed */
	assert_int_equal(f.n, 2);
	assert_int_equal(f.n_warnings, 0);
	assert_string_equal(f.pkgs[0].name, "libc6");
	assert_string_equal(f.pkgs[0].description, "GNU C Library: Shared libraries");
	assert_string_equal(f.pkgs[0].source, "glibc");
	assert_null(f.pkgs[0].source_version);
	assert_string_equal(f.pkgs[1].source, "openssl");
	assert_string_equal(f.pkgs[1].source_version, "3.0.11-1~deb12u2");
	struct st_sbom_distro d = { .id = "debian", .version_id = "12" };
	st_sbom_pkg_identify(&f.pkgs[1], &d);
	assert_string_equal(f.pkgs[1].purl, "pkg:deb/debian/libssl3@3.0.11-1~deb12u2%2Bb1"
					    "?arch=amd64&upstream=openssl%403.0.11-1~deb12u2"
					    "&distro=debian-12");
	assert_string_equal(f.pkgs[1].cpes[0],
			    "cpe:2.3:a:libssl3:libssl3:3.0.11-1\\~deb12u2\\+b1:*:*:*:*:*:*:*");
	st_sbom_found_release(&f);
}

static void dpkg_truncated(void **state)
{
	(void)state;
	static const char cut[] = "Package: a\nVersion: 1\n\nPackage: b\nStatus: install ok";
	struct st_sbom_found f = { 0 };
	st_sbom_parse_dpkg(cut, sizeof(cut) - 1, "var/lib/dpkg/status", &f);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.n_warnings, 1);
	assert_string_equal(f.warnings[0],
			    "var/lib/dpkg/status:4: package without a version (Version:)");
	st_sbom_found_release(&f);
}

static void copyright_licenses(void **state)
{
	(void)state;
	static const char text[] =
	    "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
	    "\nFiles: *\nLicense: GPL-2+\n"
	    " On Debian systems, see /usr/share/common-licenses/GPL-2.\n"
	    "\nFiles: debian/*\nLicense: MIT\n\nLicense: GPL-2+\n";
	struct st_sbom_found f = { 0 };
	st_sbom_parse_copyright(text, sizeof(text) - 1, &f);
	assert_int_equal(f.n_licenses, 3);
	assert_string_equal(f.licenses[0], "GPL-2+");
	assert_string_equal(f.licenses[1], "GPL-2");
	assert_string_equal(f.licenses[2], "MIT");
	st_sbom_found_release(&f);
}

static void apk_installed(void **state)
{
	(void)state;
	static const char db[] = "P:libcrypto3\nV:3.1.4-r5\nA:x86_64\nL:Apache-2.0\no:openssl\n"
				 "\n\nP:noversion\n";
	struct st_sbom_found f = { 0 };
	st_sbom_parse_apk(db, sizeof(db) - 1, "lib/apk/db/installed", &f);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.n_warnings, 1);
	struct st_sbom_distro d = { .id = "alpine", .version_id = "3.19.1" };
	st_sbom_pkg_identify(&f.pkgs[0], &d);
	assert_string_equal(f.pkgs[0].purl, "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64"
					    "&upstream=openssl&distro=alpine-3.19.1");
	assert_string_equal(f.pkgs[0].licenses[0], "Apache-2.0");
	st_sbom_found_release(&f);
}

static void python_metadata(void **state)
{
	(void)state;
	static const char md[] = "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\n"
				 "License: UNKNOWN\n"
				 "Classifier: License :: OSI Approved :: MIT License\n"
				 "\nName: not-a-header\n";
	struct st_sbom_found f = { 0 };
	st_sbom_parse_python(md, sizeof(md) - 1, "PyYAML-6.0.dist-info/METADATA", &f);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.pkgs[0].name, "PyYAML");
	/* UNKNOWN is no licence: the classifier is */
	assert_int_equal(f.pkgs[0].n_licenses, 1);
	assert_string_equal(f.pkgs[0].licenses[0], "MIT License");
	struct st_sbom_distro d = { 0 };
	st_sbom_pkg_identify(&f.pkgs[0], &d);
	assert_string_equal(f.pkgs[0].purl, "pkg:pypi/PyYAML@6.0");
	st_sbom_found_release(&f);
}

static void npm_package(void **state)
{
	(void)state;
	static const char pj[] = "{\"name\":\"@babel/core\",\"version\":\"7.0.0\","
				 "\"licenses\":[{\"type\":\"MIT\"}],\"author\":{\"name\":\"x\"}}";
	struct st_sbom_found f = { 0 };
	st_sbom_parse_npm(pj, sizeof(pj) - 1, "node_modules/@babel/core/package.json", &f);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.pkgs[0].group, "@babel");
	assert_string_equal(f.pkgs[0].supplier, "x");
	assert_string_equal(f.pkgs[0].licenses[0], "MIT");
	struct st_sbom_distro d = { 0 };
	st_sbom_pkg_identify(&f.pkgs[0], &d);
	assert_string_equal(f.pkgs[0].purl, "pkg:npm/%40babel/core@7.0.0");
	st_sbom_found_release(&f);

	static const char bad[] = "{\"name\": \"x\",\n \"version\": }";
	st_sbom_parse_npm(bad, sizeof(bad) - 1, "node_modules/x/package.json", &f);
	assert_int_equal(f.n, 0);
	assert_int_equal(f.n_warnings, 1);
	assert_non_null(strstr(f.warnings[0], "node_modules/x/package.json:2: not JSON"));
	st_sbom_found_release(&f);
}

/* A Go build information blob: the header and the two inline strings. */
static size_t go_blob(char *out, const char *version, const char *mod, size_t mod_len)
{
	size_t n = 0;
	memcpy(out, ST_SBOM_GO_MAGIC, ST_SBOM_GO_MAGIC_LEN);
	n = ST_SBOM_GO_MAGIC_LEN;
	out[n++] = 8;
	out[n++] = 2;
	memset(out + n, 0, 16);
	n += 16;
	out[n++] = (char)strlen(version);
	memcpy(out + n, version, strlen(version));
	n += strlen(version);
	out[n++] = (char)(0x80 | (mod_len & 0x7f));
	out[n++] = (char)(mod_len >> 7);
	memcpy(out + n, mod, mod_len);
	return n + mod_len;
}

static void go_buildinfo(void **state)
{
	(void)state;
	char mod[512];
	/* between two 16-byte sentinels (zeros here) */
	int m = snprintf(mod, sizeof(mod),
			 "%016d"
			 "path\texample.com/app/cmd\n"
			 "mod\texample.com/app\tv1.2.3\th1:"
			 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
			 "dep\tgolang.org/x/sys\tv0.1.0\th1:old\n"
			 "=>\tgolang.org/x/sys\tv0.2.0\th1:new\n"
			 "build\tGOOS=linux\n"
			 "%016d",
			 0, 0);
	char blob[1024];
	size_t n = go_blob(blob, "go1.21.5", mod, (size_t)m);
	struct st_sbom_found f = { 0 };
	st_sbom_parse_go_buildinfo(blob, n, "usr/bin/app", &f);
	assert_int_equal(f.n_warnings, 0);
	assert_int_equal(f.n, 3);
	assert_string_equal(f.pkgs[0].name, "example.com/app");
	assert_string_equal(f.pkgs[0].version, "v1.2.3");
	assert_string_equal(f.pkgs[1].name, "golang.org/x/sys");
	assert_string_equal(f.pkgs[1].version, "v0.2.0");
	assert_string_equal(f.pkgs[1].checksum, "h1:new");
	assert_string_equal(f.pkgs[2].name, "stdlib");
	assert_string_equal(f.pkgs[2].version, "go1.21.5");
	struct st_sbom_distro d = { 0 };
	st_sbom_pkg_identify(&f.pkgs[0], &d);
	assert_string_equal(f.pkgs[0].purl, "pkg:golang/example.com/app@v1.2.3");
	assert_string_equal(f.pkgs[0].cpes[0], "cpe:2.3:a:example.com:app:v1.2.3:*:*:*:*:*:*:*");
	st_sbom_found_release(&f);

	/* a string that runs past the end */
	n = go_blob(blob, "go1.21.5", mod, (size_t)m);
	st_sbom_parse_go_buildinfo(blob, n - 10, "usr/bin/app", &f);
	assert_int_equal(f.n, 0);
	assert_int_equal(f.n_warnings, 1);
	assert_string_equal(f.warnings[0],
			    "usr/bin/app: Go build information truncated or corrupt");
	st_sbom_found_release(&f);
}

static void java_not_zip(void **state)
{
	(void)state;
	struct st_sbom_found f = { 0 };
	st_sbom_parse_java("PK\3\4garbage", 11, "x.jar", &f);
	assert_int_equal(f.n, 0);
	assert_true(f.n_warnings >= 1);
	assert_non_null(strstr(f.warnings[0], "x.jar: not a readable Java archive"));
	st_sbom_found_release(&f);
}

/* ---- the layers ---- */

struct fixture {
	char dir[64];
	struct st_store *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/strata-sbom-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	struct st_error *err = NULL;
	if (st_store_open(f->dir, &f->store, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	st_store_free(f->store);
	st_rm_rf(f->dir, NULL);
	free(f);
	return 0;
}

enum op { OP_END, OP_FILE, OP_WHITEOUT, OP_OPAQUE, OP_SYMLINK };
struct op_spec {
	enum op op;
	const char *path;
	const char *text; /* OP_FILE: the content; OP_SYMLINK: the target */
};

static void write_layer(struct st_store *s, const struct op_spec *ops, struct st_store_layer *out)
{
	struct st_error *err = NULL;
	struct st_layer_writer_opts lo = { .compression = ST_LAYER_COMP_GZIP };
	struct st_local_layer_writer *w = NULL;
	assert_int_equal(st_local_layer_writer_new(s, NULL, &lo, &w, &err), 0);
	struct st_layer_writer *lw = st_local_layer_writer_layer(w);
	for (const struct op_spec *o = ops; o->op != OP_END; o++) {
		int rc = -1;
		switch (o->op) {
		case OP_FILE:
			rc = st_layer_writer_add_data(lw, o->path, o->text, strlen(o->text), NULL,
						      &err);
			break;
		case OP_WHITEOUT:
			rc = st_layer_writer_add_whiteout(lw, o->path, &err);
			break;
		case OP_OPAQUE:
			rc = st_layer_writer_add_opaque(lw, o->path, &err);
			break;
		case OP_SYMLINK:
			rc = st_layer_writer_add_symlink(lw, o->path, o->text, NULL, &err);
			break;
		case OP_END:
			break;
		}
		assert_int_equal(rc, 0);
	}
	assert_int_equal(st_local_layer_writer_commit(w, out, &err), 0);
	st_local_layer_writer_free(w);
}

static void commit(struct st_store *s, const char *ref, struct st_store_layer *layers, size_t n)
{
	struct st_error *err = NULL;
	struct st_image_config *cfg = st_image_config_new();
	cfg->os = strdup("linux");
	cfg->architecture = strdup("amd64");
	for (size_t i = 0; i < n; i++) {
		st_image_config_add_diff_id(cfg, &layers[i].diff_id);
		char by[32];
		snprintf(by, sizeof(by), "step %zu", i);
		struct st_image_history h = { .created_by = by };
		st_image_config_add_history(cfg, &h);
	}
	const char *refs[] = { ref };
	struct st_local_commit c = {
		.config = cfg, .layers = layers, .n_layers = n, .refs = refs, .n_refs = 1
	};
	assert_int_equal(st_local_image_commit(s, &c, NULL, &err), 0);
	st_image_config_free(cfg);
}

#define PKG(name, version) "Package: " name "\nVersion: " version "\nArchitecture: amd64\n\n"

static const struct op_spec l0[] = {
	{ OP_FILE, "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n" },
	{ OP_FILE, "var/lib/dpkg/status", PKG("a", "1") PKG("b", "1") },
	{ OP_FILE, "usr/lib/node_modules/x/package.json", "{\"name\":\"x\",\"version\":\"1\"}" },
	{ OP_FILE, "usr/lib/node_modules/y/package.json", "{\"name\":\"y\",\"version\":\"1\"}" },
	{ OP_FILE, "opt/app/node_modules/z/package.json", "{\"name\":\"z\",\"version\":\"1\"}" },
	/* distroless: one file per package, beside its md5sums */
	{ OP_FILE, "var/lib/dpkg/status.d/base", "Package: base-files\nVersion: 12.4\n" },
	{ OP_FILE, "var/lib/dpkg/status.d/base.md5sums", "0123  etc/issue\n" },
	{ OP_FILE, "usr/lib/python3/dist-packages/foo-1.0.egg-info", "Name: foo\nVersion: 1.0\n" },
	{ OP_FILE, "usr/lib/python3/dist-packages/bar-2.0.egg-info/PKG-INFO",
	  "Name: bar\nVersion: 2.0\n" },
	{ OP_END },
};
/* c added; b upgraded; a kept */
static const struct op_spec l1[] = {
	{ OP_FILE, "var/lib/dpkg/status", PKG("a", "1") PKG("b", "2") PKG("c", "1") },
	{ OP_END },
};
/* x deleted, opt/app emptied by an opaque directory, y replaced by a symlink */
static const struct op_spec l2[] = {
	{ OP_WHITEOUT, "usr/lib/node_modules/x" },
	{ OP_OPAQUE, "opt/app" },
	{ OP_SYMLINK, "usr/lib/node_modules/y/package.json", "/dev/null" },
	{ OP_END },
};

static const struct st_sbom_pkg *find(const struct st_sbom *sb, const char *name,
				      const char *version)
{
	size_t n;
	const struct st_sbom_pkg *p = st_sbom_pkgs(sb, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(p[i].name, name) && !strcmp(p[i].version, version))
			return &p[i];
	fail_msg("no package %s %s", name, version);
	return NULL;
}

static void layer_attribution(void **state)
{
	struct fixture *f = *state;
	struct st_store_layer layers[3];
	write_layer(f->store, l0, &layers[0]);
	write_layer(f->store, l1, &layers[1]);
	write_layer(f->store, l2, &layers[2]);
	commit(f->store, "docker.io/library/sbom:1", layers, 3);
	for (size_t i = 0; i < 3; i++)
		st_store_layer_release(&layers[i]);
	struct st_error *err = NULL;
	struct st_store_image *img = NULL;
	assert_int_equal(st_local_image_find(f->store, "sbom:1", &img, &err), 0);
	struct st_sbom *sb = NULL;
	assert_int_equal(st_sbom_image(f->store, img, &sb, &err), 0);
	st_store_image_free(img);

	/* a: listed by both copies, added by the first */
	assert_int_equal(find(sb, "a", "1")->layer, 0);
	assert_true(find(sb, "a", "1")->present);
	assert_int_equal(find(sb, "b", "1")->layer, 0);
	assert_false(find(sb, "b", "1")->present);
	assert_int_equal(find(sb, "b", "2")->layer, 1);
	assert_true(find(sb, "b", "2")->present);
	assert_int_equal(find(sb, "c", "1")->layer, 1);
	assert_string_equal(st_sbom_layer(sb, 1)->command, "step 1");
	assert_false(find(sb, "x", "1")->present);
	assert_false(find(sb, "y", "1")->present);
	assert_false(find(sb, "z", "1")->present);
	assert_true(find(sb, "base-files", "12.4")->present);
	assert_true(find(sb, "foo", "1.0")->present);
	assert_true(find(sb, "bar", "2.0")->present);
	size_t nw;
	st_sbom_warnings(sb, &nw);
	assert_int_equal(nw, 0);
	assert_string_equal(find(sb, "c", "1")->purl,
			    "pkg:deb/debian/c@1?arch=amd64&distro=debian-12");

	/* squashed: what shows; all layers: everything, in a stable order */
	struct st_sbom_meta m = { .name = "sbom:1",
				  .image_id = "sha256:"
					      "0000000000000000000000000000000000000000000000000000"
					      "000000000000",
				  .tool_version = "test",
				  .created = 0 };
	struct st_buf out = ST_BUF_INIT;
	st_sbom_write(sb, ST_SBOM_PURLS, &m, &out);
	assert_string_equal(out.data, "pkg:deb/debian/a@1?arch=amd64&distro=debian-12\n"
				      "pkg:deb/debian/b@2?arch=amd64&distro=debian-12\n"
				      "pkg:deb/debian/base-files@12.4?distro=debian-12\n"
				      "pkg:deb/debian/c@1?arch=amd64&distro=debian-12\n"
				      "pkg:pypi/bar@2.0\n"
				      "pkg:pypi/foo@1.0\n");
	st_buf_reset(&out);
	m.scope = ST_SBOM_ALL_LAYERS;
	st_sbom_write(sb, ST_SBOM_PURLS, &m, &out);
	assert_non_null(strstr(out.data, "pkg:npm/z@1\n"));
	assert_non_null(strstr(out.data, "pkg:deb/debian/b@1?"));
	st_buf_release(&out);
	st_sbom_free(sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dpkg_status),
		cmocka_unit_test(dpkg_truncated),
		cmocka_unit_test(copyright_licenses),
		cmocka_unit_test(apk_installed),
		cmocka_unit_test(python_metadata),
		cmocka_unit_test(npm_package),
		cmocka_unit_test(go_buildinfo),
		cmocka_unit_test(java_not_zip),
		cmocka_unit_test_setup_teardown(layer_attribution, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
