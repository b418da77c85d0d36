/* test_archive.c: format detection, entry names, load verification and save/load round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/archive.h"
#include "archive/internal.h"
#include "image/image.h"
#include "layer/compress.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/fs.h"

static struct st_error *err_;
#define OK(call)                                                                                   \
	do {                                                                                       \
		if ((call) < 0)                                                                    \
			fail_msg("%s: %s", #call, err_ ? err_->msg : "?");                         \
	} while (0)
#define err (&err_)

struct fx {
	char *dir;
	struct st_store *a, *b; /* two stores: load into one, save, load into the other */
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/strata-archive-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl))
		return -1;
	f->dir = strdup(tmpl);
	char *ra = st_path_join(f->dir, "a"), *rb = st_path_join(f->dir, "b");
	OK(st_store_open(ra, &f->a, err));
	OK(st_store_open(rb, &f->b, err));
	free(ra);
	free(rb);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	st_store_free(f->a);
	st_store_free(f->b);
	OK(st_rm_rf(f->dir, err));
	free(f->dir);
	free(f);
	return 0;
}

static char *path_in(struct fx *f, const char *name)
{
	return st_path_join(f->dir, name);
}

/* ---- building archives ---- */

static la_ssize_t buf_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	st_buf_add(ctx, p, n);
	return (la_ssize_t)n;
}

static struct archive *tar_new_buf(struct st_buf *out)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, 0);
	assert_int_equal(archive_write_open(a, out, NULL, buf_write, NULL), ARCHIVE_OK);
	return a;
}

static struct archive *tar_new_file(const char *path)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	return a;
}

static void tar_add(struct archive *a, const char *name, const void *p, size_t n)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)n);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, p, n), (la_ssize_t)n);
	archive_entry_free(e);
}

static void tar_symlink(struct archive *a, const char *name, const char *target)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFLNK);
	archive_entry_set_perm(e, 0777);
	archive_entry_set_symlink(e, target);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_entry_free(e);
}

static void tar_close(struct archive *a)
{
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* An uncompressed layer: one file of 'n' bytes that do not compress away. */
static void make_layer(struct st_buf *out, size_t n, unsigned seed)
{
	char *data = malloc(n);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		data[i] = (char)x;
	}
	struct archive *a = tar_new_buf(out);
	tar_add(a, "data.bin", data, n);
	tar_close(a);
	free(data);
}

static int sink_buf(void *ctx, const void *p, size_t n, struct st_error **e)
{
	st_buf_add(ctx, p, n);
	return 0;
}

static void gzip_of(const struct st_buf *in, struct st_buf *out)
{
	struct st_layer_sink sink = { .write = sink_buf, .ctx = out };
	struct st_layer_compressor *z = st_layer_compressor_new(ST_LAYER_COMP_GZIP, 0, sink, err);
	assert_non_null(z);
	OK(st_layer_compressor_write(z, in->data, in->len, err));
	OK(st_layer_compressor_finish(z, err));
	st_layer_compressor_free(z);
}

static void make_config(struct st_buf *out, const struct st_digest *diff_id)
{
	st_buf_addf(out,
		    "{\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"sh\"]},"
		    "\"created\":\"2024-01-01T00:00:00Z\",\"os\":\"linux\","
		    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
		    diff_id->str);
}

static char *hex_name(const char *prefix, const struct st_digest *d, const char *suffix)
{
	return st_xasprintf("%s%s%s", prefix, st_digest_hex(d), suffix);
}

/*
 * An old-style `docker save` archive: <id>/layer.tar (uncompressed), <config hex>.json,
 * a symlink alias as skopeo writes, manifest.json last. *id receives the config digest.
 */
static void write_old_docker(const char *path, size_t layer_size, const char *config_override,
			     struct st_digest *id)
{
	struct st_buf layer = ST_BUF_INIT, cfg = ST_BUF_INIT, man = ST_BUF_INIT;
	make_layer(&layer, layer_size, 1);
	struct st_digest diff;
	st_digest_of(layer.data, layer.len, &diff);
	if (config_override)
		st_buf_adds(&cfg, config_override);
	else
		make_config(&cfg, &diff);
	st_digest_of(cfg.data, cfg.len, id);
	char *cfg_name = hex_name("", id, ".json");
	char *layer_name = hex_name("", &diff, ".tar");
	st_buf_addf(&man,
		    "[{\"Config\":\"%s\",\"RepoTags\":[\"old:1\"],\"Layers\":[\"l1/layer.tar\"]}]",
		    cfg_name);
	struct archive *a = tar_new_file(path);
	tar_add(a, layer_name, layer.data, layer.len);
	char *target = st_xasprintf("../%s", layer_name);
	tar_symlink(a, "l1/layer.tar", target);
	free(target);
	tar_add(a, "l1/VERSION", "1.0", 3);
	tar_add(a, cfg_name, cfg.data, cfg.len);
	tar_add(a, "manifest.json", man.data, man.len);
	tar_close(a);
	free(cfg_name);
	free(layer_name);
	st_buf_release(&layer);
	st_buf_release(&cfg);
	st_buf_release(&man);
}

/*
 * An OCI archive (no manifest.json) with a gzip layer of 'layer_size' uncompressed bytes.
 * 'tamper' selects a fault: 0 none, 1 config bytes differ from their name, 2 the layer blob
 * differs from its name, 3 the config's diff_id is wrong, 4 index.json points to an index
 * with an entry for another platform (whose blob is missing) before the host's.
 */
static void write_oci(const char *path, size_t layer_size, int tamper, const char *ref_name)
{
	struct st_buf layer = ST_BUF_INIT, gz = ST_BUF_INIT, cfg = ST_BUF_INIT, man = ST_BUF_INIT,
		      idx = ST_BUF_INIT;
	make_layer(&layer, layer_size, 2);
	gzip_of(&layer, &gz);
	struct st_digest diff, ldig, cdig, mdig;
	st_digest_of(layer.data, layer.len, &diff);
	st_digest_of(gz.data, gz.len, &ldig);
	if (tamper == 3)
		st_digest_of("not the layer", 13, &diff);
	make_config(&cfg, &diff);
	st_digest_of(cfg.data, cfg.len, &cdig);
	st_buf_addf(
	    &man,
	    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
	    "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
	    "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"%s\",\"size\":%zu}]}",
	    cdig.str, cfg.len, ldig.str, gz.len);
	st_digest_of(man.data, man.len, &mdig);
	struct st_buf nested = ST_BUF_INIT;
	if (tamper == 4) {
		struct st_platform host;
		st_platform_host(&host);
		st_buf_addf(
		    &nested,
		    "{\"schemaVersion\":2,\"mediaType\":\"application/"
		    "vnd.oci.image.index.v1+json\","
		    "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		    "\"digest\":\"sha256:%064d\",\"size\":1,\"platform\":{\"architecture\":"
		    "\"%s\",\"os\":\"plan9\"}},{\"mediaType\":"
		    "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
		    "\"platform\":{\"architecture\":\"%s\",\"os\":\"%s\"}}]}",
		    0, host.architecture, mdig.str, man.len, host.architecture, host.os);
	}
	struct st_digest ndig;
	if (tamper == 4)
		st_digest_of(nested.data, nested.len, &ndig);
	st_buf_addf(&idx,
		    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
		    "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
		    "\"annotations\":{\"org.opencontainers.image.ref.name\":\"%s\"}}]}",
		    tamper == 4 ? ndig.str : mdig.str, tamper == 4 ? nested.len : man.len,
		    ref_name);
	if (tamper == 1)
		cfg.data[cfg.len - 2] = ' ';
	if (tamper == 2)
		gz.data[gz.len / 2] ^= 0x55;
	struct archive *a = tar_new_file(path);
	tar_add(a, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	char *n;
	tar_add(a, n = hex_name("blobs/sha256/", &ldig, ""), gz.data, gz.len);
	free(n);
	tar_add(a, n = hex_name("blobs/sha256/", &cdig, ""), cfg.data, cfg.len);
	free(n);
	tar_add(a, n = hex_name("blobs/sha256/", &mdig, ""), man.data, man.len);
	free(n);
	if (tamper == 4) {
		tar_add(a, n = hex_name("blobs/sha256/", &ndig, ""), nested.data, nested.len);
		free(n);
	}
	tar_add(a, "index.json", idx.data, idx.len);
	tar_close(a);
	st_buf_release(&nested);
	st_buf_release(&layer);
	st_buf_release(&gz);
	st_buf_release(&cfg);
	st_buf_release(&man);
	st_buf_release(&idx);
}

static size_t n_images(struct st_store *s)
{
	struct st_store_image **v = NULL;
	size_t n = 0;
	OK(st_store_image_list(s, 0, &v, &n, err));
	st_store_image_list_free(v, n);
	return n;
}

/* ---- tests ---- */

static void format_names(void **state)
{
	enum st_archive_format f;
	OK(st_archive_format_parse("docker-archive", &f, err));
	assert_int_equal(f, ST_ARCHIVE_DOCKER);
	OK(st_archive_format_parse("oci-dir", &f, err));
	assert_int_equal(f, ST_ARCHIVE_OCI_DIR);
	assert_int_equal(st_archive_format_parse("zip", &f, err), -1);
	assert_int_equal(err_->kind, ST_E_INVALID);
	st_error_clear(err);
	assert_string_equal(st_archive_format_name(ST_ARCHIVE_OCI_ARCHIVE), "oci-archive");

	const char *docker[] = { "blobs/sha256/ab", "index.json", "manifest.json", "oci-layout" };
	const char *oci[] = { "oci-layout", "index.json", "blobs/sha256/ab" };
	const char *other[] = { "etc/passwd", "bin/sh" };
	assert_int_equal(st_archive_detect_names(docker, 4), ST_ARCHIVE_DOCKER);
	assert_int_equal(st_archive_detect_names(oci, 3), ST_ARCHIVE_OCI_ARCHIVE);
	assert_int_equal(st_archive_detect_names(other, 2), ST_ARCHIVE_UNKNOWN);
	assert_int_equal(st_archive_detect_names(NULL, 0), ST_ARCHIVE_UNKNOWN);
}

static void entry_names(void **state)
{
	char *n = NULL;
	OK(st_archive_entry_name("./blobs//sha256/./ab/", &n, err));
	assert_string_equal(n, "blobs/sha256/ab");
	free(n);
	OK(st_archive_entry_name("./", &n, err));
	assert_string_equal(n, "");
	free(n);
	const char *bad[] = { "../x", "a/../../x", "a/..", "/etc/passwd" };
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(st_archive_entry_name(bad[i], &n, err), -1);
		assert_int_equal(err_->kind, ST_E_INVALID);
		assert_non_null(strstr(err_->msg, bad[i]));
		st_error_clear(err);
	}
	OK(st_archive_link_target("abc/layer.tar", "../12.tar", &n, err));
	assert_string_equal(n, "12.tar");
	free(n);
	OK(st_archive_link_target("a/b", "./c/../d", &n, err));
	assert_string_equal(n, "a/d");
	free(n);
	assert_int_equal(st_archive_link_target("a", "../x", &n, err), -1);
	assert_int_equal(err_->kind, ST_E_INVALID);
	st_error_clear(err);
	assert_int_equal(st_archive_link_target("a", "/etc/passwd", &n, err), -1);
	st_error_clear(err);
}

static void detect_paths(void **state)
{
	struct fx *f = *state;
	char *old = path_in(f, "old.tar"), *oci = path_in(f, "oci.tar"), *junk = path_in(f, "j");
	struct st_digest id;
	write_old_docker(old, 1000, NULL, &id);
	write_oci(oci, 1000, 0, "x:1");
	enum st_archive_format fmt;
	OK(st_archive_detect_path(old, &fmt, err));
	assert_int_equal(fmt, ST_ARCHIVE_DOCKER);
	OK(st_archive_detect_path(oci, &fmt, err));
	assert_int_equal(fmt, ST_ARCHIVE_OCI_ARCHIVE);
	OK(st_write_file_atomic(junk, NULL, "not a tar at all, really not", 28, 0644, err));
	assert_int_equal(st_archive_detect_path(junk, &fmt, err), -1);
	assert_int_equal(err_->kind, ST_E_PARSE);
	st_error_clear(err);
	assert_int_equal(st_archive_detect_path(f->dir, &fmt, err), 0);
	assert_int_equal(fmt, ST_ARCHIVE_UNKNOWN);
	char *missing = path_in(f, "missing");
	assert_int_equal(st_archive_detect_path(missing, &fmt, err), -1);
	assert_int_equal(err_->kind, ST_E_NOTFOUND);
	st_error_clear(err);
	free(missing);
	free(old);
	free(oci);
	free(junk);
}

static void load_old_docker_archive(void **state)
{
	struct fx *f = *state;
	/* Large enough to be streamed into the store rather than held in memory. */
	char *path = path_in(f, "old.tar");
	struct st_digest id;
	write_old_docker(path, 600 << 10, NULL, &id);
	struct st_archive_load_result r = { 0 };
	OK(st_archive_load_path(f->a, path, &r, err));
	assert_int_equal(r.format, ST_ARCHIVE_DOCKER);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].name, "old:1");
	assert_string_equal(r.v[0].id.str, id.str);
	assert_false(r.v[0].replaced);
	st_archive_load_result_release(&r);

	struct st_store_image *img = NULL;
	OK(st_store_image_get(f->a, id.str, &img, err));
	assert_int_equal(img->n_layers, 1);
	/* Uncompressed layers are stored as they are: the blob is the diff. */
	assert_string_equal(img->layers[0].digest.str, img->layers[0].diff_id.str);
	assert_string_equal(img->layers[0].media_type, "application/vnd.oci.image.layer.v1.tar");
	st_store_image_free(img);
	struct st_store_ref ref = { 0 };
	OK(st_store_ref_get(f->a, "docker.io/library/old:1", &ref, err));
	assert_string_equal(ref.image_id.str, id.str);
	st_store_ref_release(&ref);
	free(path);
}

static void expect_refused(struct fx *f, const char *path, enum st_errkind kind, const char *what)
{
	struct st_archive_load_result r = { 0 };
	assert_int_equal(st_archive_load_path(f->a, path, &r, err), -1);
	assert_int_equal(err_->kind, kind);
	if (!strstr(err_->msg, what))
		fail_msg("'%s' not in '%s'", what, err_->msg);
	st_error_clear(err);
	assert_int_equal(n_images(f->a), 0);
	struct st_store_check_report rep = { 0 };
	OK(st_store_check(f->a, &rep, err));
	assert_int_equal(rep.n_problems, 0);
	st_store_check_report_release(&rep);
}

static void corrupt_blobs_are_refused(void **state)
{
	struct fx *f = *state;
	char *p = path_in(f, "bad.tar");
	/* A small blob (held in memory) and a large one (streamed into the store). */
	write_oci(p, 1000, 1, "x:1");
	expect_refused(f, p, ST_E_DIGEST, "digest mismatch");
	write_oci(p, 2 << 20, 2, "x:1");
	expect_refused(f, p, ST_E_DIGEST, "digest mismatch");
	free(p);
}

static void wrong_diff_id_is_refused(void **state)
{
	struct fx *f = *state;
	char *p = path_in(f, "bad.tar");
	write_oci(p, 2 << 20, 3, "x:1");
	expect_refused(f, p, ST_E_DIGEST, "diff_id mismatch");
	struct st_digest id;
	write_old_docker(p, 1000,
			 "{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:"
			 "0000000000000000000000000000000000000000000000000000000000000000\"]}}",
			 &id);
	expect_refused(f, p, ST_E_DIGEST, "diff_id mismatch");
	free(p);
}

static void escaping_entries_are_refused(void **state)
{
	struct fx *f = *state;
	char *p = path_in(f, "esc.tar");
	struct archive *a = tar_new_file(p);
	tar_add(a, "../evil", "x", 1);
	tar_close(a);
	expect_refused(f, p, ST_E_INVALID, "escapes");
	a = tar_new_file(p);
	tar_symlink(a, "manifest.json", "../../etc/passwd");
	tar_close(a);
	expect_refused(f, p, ST_E_INVALID, "escapes");
	free(p);
}

static void oci_tag_only_ref_loads_untagged(void **state)
{
	struct fx *f = *state;
	char *p = path_in(f, "oci.tar");
	write_oci(p, 1000, 0, "latest");
	struct st_archive_load_result r = { 0 };
	OK(st_archive_load_path(f->a, p, &r, err));
	assert_int_equal(r.format, ST_ARCHIVE_OCI_ARCHIVE);
	assert_int_equal(r.n, 1);
	assert_null(r.v[0].name);
	st_archive_load_result_release(&r);
	write_oci(p, 1000, 0, "example.com/x:2");
	OK(st_archive_load_path(f->a, p, &r, err));
	assert_string_equal(r.v[0].name, "example.com/x:2");
	st_archive_load_result_release(&r);
	free(p);
}

static void index_picks_the_host_platform(void **state)
{
	struct fx *f = *state;
	char *p = path_in(f, "multi.tar");
	write_oci(p, 1000, 4, "example.com/multi:1");
	struct st_archive_load_result r = { 0 };
	OK(st_archive_load_path(f->a, p, &r, err));
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].name, "example.com/multi:1");
	st_archive_load_result_release(&r);
	assert_int_equal(n_images(f->a), 1);
	free(p);
}

static void read_all(const char *path, struct st_buf *out)
{
	OK(st_read_file(path, out, err));
}

static void save_load_round_trip(void **state)
{
	struct fx *f = *state;
	char *in = path_in(f, "in.tar");
	write_oci(in, 700 << 10, 0, "example.com/app:1");
	struct st_archive_load_result r = { 0 };
	OK(st_archive_load_path(f->a, in, &r, err));
	struct st_digest id = r.v[0].id;
	st_archive_load_result_release(&r);
	struct st_store_image *ia = NULL;
	OK(st_store_image_get(f->a, id.str, &ia, err));

	const char *names[] = { "example.com/app:1" };
	const enum st_archive_format fmts[] = { ST_ARCHIVE_DOCKER, ST_ARCHIVE_OCI_ARCHIVE,
						ST_ARCHIVE_OCI_DIR };
	const char *files[] = { "s.tar", "s-oci.tar", "s-dir" };
	for (size_t i = 0; i < 3; i++) {
		struct st_archive_save_opts o = { .format = fmts[i], .names = names, .n_names = 1 };
		char *out = path_in(f, files[i]);
		OK(st_archive_save_path(f->a, &o, out, err));
		OK(st_archive_load_path(f->b, out, &r, err));
		assert_int_equal(r.n, 1);
		assert_string_equal(r.v[0].name, "example.com/app:1");
		assert_string_equal(r.v[0].id.str, id.str);
		st_archive_load_result_release(&r);
		struct st_store_image *ib = NULL;
		OK(st_store_image_get(f->b, id.str, &ib, err));
		/* The archive's own manifest was kept: same digest on both sides. */
		assert_string_equal(ib->manifest_digest.str, ia->manifest_digest.str);
		assert_string_equal(ib->layers[0].diff_id.str, ia->layers[0].diff_id.str);
		st_store_image_free(ib);
		free(out);
	}

	/* Deterministic: the same image saves to the same bytes. */
	struct st_archive_save_opts o = { .format = ST_ARCHIVE_DOCKER,
					  .names = names,
					  .n_names = 1 };
	char *again = path_in(f, "again.tar"), *first = path_in(f, "s.tar");
	OK(st_archive_save_path(f->a, &o, again, err));
	struct st_buf x = ST_BUF_INIT, y = ST_BUF_INIT;
	read_all(first, &x);
	read_all(again, &y);
	assert_int_equal(x.len, y.len);
	assert_memory_equal(x.data, y.data, x.len);
	st_buf_release(&x);
	st_buf_release(&y);

	/* oci-dir refuses a non-empty target and leaves it alone. */
	o.format = ST_ARCHIVE_OCI_DIR;
	char *dir = path_in(f, "s-dir");
	assert_int_equal(st_archive_save_path(f->a, &o, dir, err), -1);
	assert_int_equal(err_->kind, ST_E_EXISTS);
	st_error_clear(err);

	/* An unknown image is named. */
	const char *missing[] = { "nosuch:1" };
	o.names = missing;
	o.format = ST_ARCHIVE_DOCKER;
	assert_int_equal(st_archive_save_path(f->a, &o, again, err), -1);
	assert_int_equal(err_->kind, ST_E_NOTFOUND);
	assert_non_null(strstr(err_->msg, "nosuch:1"));
	st_error_clear(err);

	st_store_image_free(ia);
	free(dir);
	free(again);
	free(first);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(format_names),
		cmocka_unit_test(entry_names),
		cmocka_unit_test_setup_teardown(detect_paths, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(load_old_docker_archive, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(corrupt_blobs_are_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(wrong_diff_id_is_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(escaping_entries_are_refused, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(oci_tag_only_ref_loads_untagged, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(index_picks_the_host_platform, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(save_load_round_trip, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
