#include "helpers.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>

#include "digest/digest.h"

#define LONG_DIR                                                                                   \
	"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd" \
	"dddddddddddddddddddddddddddddddd"
#define LONG_SUB                                                                                   \
	"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" \
	"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define LONG_FILE                                                                                  \
	"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" \
	"nnnnnnnnnnnnnnnnnnnnnn"

/* A tree with every kind of entry a layer carries. */
static char *make_tree(void)
{
	char *t = tmpdir_new();
	char *p;
	make_sample_tree(t, "file");
	p = st_path_join(t, LONG_DIR "/" LONG_SUB);
	struct st_error *err = NULL;
	assert_int_equal(st_mkdir_p(p, 0755, &err), 0);
	free(p);
	write_file(t, LONG_DIR "/" LONG_SUB "/file", "deep", 0644);
	write_file(t, LONG_FILE, "long", 0600);
	return t;
}

static void write_layer(const char *tree, enum st_layer_comp c, enum st_layer_tree_flags tf,
			struct st_buf *out, struct st_layer_result *res)
{
	struct st_error *err = NULL;
	struct st_layer_writer_opts o = { .compression = c,
					  .flags = ST_LAYER_WRITER_CLAMP_MTIME,
					  .mtime_clamp = 1000 };
	struct st_layer_writer *w = st_layer_writer_new(&o, buf_sink(out), &err);
	assert_non_null(w);
	assert_int_equal(st_layer_writer_add_tree(w, tree, NULL, tf, &err), 0);
	assert_int_equal(st_layer_writer_finish(w, res, &err), 0);
	st_layer_writer_free(w);
}

static void strip_slash(char *s)
{
	size_t n = strlen(s);
	if (n > 1 && s[n - 1] == '/')
		s[n - 1] = '\0';
}

static void writer_tree_round_trip(void **state)
{
	char *t = make_tree();
	struct st_buf tar = ST_BUF_INIT;
	struct st_layer_result res;
	write_layer(t, ST_LAYER_COMP_NONE, 0, &tar, &res);
	assert_int_equal(res.size, tar.len);

	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, tar.data, tar.len), ARCHIVE_OK);
	struct archive_entry *e;
	int seen = 0;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char *path = st_xstrdup(archive_entry_pathname(e));
		strip_slash(path);
		assert_true(archive_entry_mtime(e) <= 1000);
		assert_false(archive_entry_atime_is_set(e));
		assert_false(archive_entry_ctime_is_set(e));
		if (!strcmp(path, "dir")) {
			assert_int_equal(archive_entry_filetype(e), AE_IFDIR);
			assert_int_equal(archive_entry_perm(e), 0750);
			assert_int_equal(archive_entry_uid(e), 1000);
			assert_int_equal(archive_entry_gid(e), 1001);
			seen |= 1;
		} else if (!strcmp(path, "dir/file")) {
			assert_int_equal(archive_entry_filetype(e), AE_IFREG);
			assert_int_equal(archive_entry_perm(e), 04755);
			assert_int_equal(archive_entry_size(e), 5);
			char buf[16] = { 0 };
			assert_int_equal(archive_read_data(a, buf, sizeof(buf)), 5);
			assert_string_equal(buf, "hello");
			const char *name;
			const void *val;
			size_t size;
			assert_true(archive_entry_xattr_reset(e) >= 1);
			assert_int_equal(archive_entry_xattr_next(e, &name, &val, &size),
					 ARCHIVE_OK);
			assert_string_equal(name, "user.test");
			assert_int_equal(size, 5);
			assert_memory_equal(val, "value", 5);
			seen |= 2;
		} else if (!strcmp(path, "dir/hard")) {
			assert_string_equal(archive_entry_hardlink(e), "dir/file");
			seen |= 4;
		} else if (!strcmp(path, "dir/link")) {
			assert_int_equal(archive_entry_filetype(e), AE_IFLNK);
			assert_string_equal(archive_entry_symlink(e), "file");
			seen |= 8;
		} else if (!strcmp(path, "fifo")) {
			assert_int_equal(archive_entry_filetype(e), AE_IFIFO);
			seen |= 16;
		} else if (!strcmp(path, "null")) {
			assert_int_equal(archive_entry_filetype(e), AE_IFCHR);
			assert_int_equal(archive_entry_rdevmajor(e), 1);
			assert_int_equal(archive_entry_rdevminor(e), 3);
			seen |= 32;
		} else if (!strcmp(path, LONG_DIR "/" LONG_SUB "/file")) {
			assert_true(strlen(path) > 255);
			char buf[16] = { 0 };
			assert_int_equal(archive_read_data(a, buf, sizeof(buf)), 4);
			assert_string_equal(buf, "deep");
			seen |= 64;
		} else if (!strcmp(path, LONG_FILE)) {
			seen |= 128;
		}
		free(path);
	}
	assert_int_equal(seen, 255);
	archive_read_free(a);
	st_buf_release(&tar);
	tmpdir_free(t);
}

static void writer_is_deterministic(void **state)
{
	char *t = make_tree();
	for (int c = ST_LAYER_COMP_NONE; c <= ST_LAYER_COMP_ZSTD; c++) {
		struct st_buf a = ST_BUF_INIT, b = ST_BUF_INIT;
		struct st_layer_result ra, rb;
		write_layer(t, (enum st_layer_comp)c, 0, &a, &ra);
		/* New mtimes and atimes between the runs: the clamp hides them. */
		char *p = st_path_join(t, "dir/file");
		assert_int_equal(utimes(p, NULL), 0);
		free(p);
		write_layer(t, (enum st_layer_comp)c, 0, &b, &rb);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.data, b.data, a.len);
		assert_string_equal(ra.digest.str, rb.digest.str);
		assert_string_equal(ra.diff_id.str, rb.diff_id.str);
		st_buf_release(&a);
		st_buf_release(&b);
	}
	tmpdir_free(t);
}

static void writer_digests_and_sizes(void **state)
{
	char *t = make_tree();
	struct st_buf plain = ST_BUF_INIT;
	struct st_layer_result rp;
	write_layer(t, ST_LAYER_COMP_NONE, 0, &plain, &rp);
	for (int c = ST_LAYER_COMP_NONE; c <= ST_LAYER_COMP_ZSTD; c++) {
		struct st_buf z = ST_BUF_INIT, back = ST_BUF_INIT;
		struct st_layer_result r;
		struct st_error *err = NULL;
		write_layer(t, (enum st_layer_comp)c, 0, &z, &r);
		struct st_digest d;
		st_digest_of(z.data, z.len, &d);
		assert_string_equal(r.digest.str, d.str);
		assert_int_equal(r.compressed_size, z.len);
		struct st_layer_decompressor *dz =
		    st_layer_decompressor_new((enum st_layer_comp)c, buf_sink(&back), &err);
		assert_int_equal(st_layer_decompressor_write(dz, z.data, z.len, &err), 0);
		assert_int_equal(st_layer_decompressor_finish(dz, &err), 0);
		st_layer_decompressor_free(dz);
		st_digest_of(back.data, back.len, &d);
		assert_string_equal(r.diff_id.str, d.str);
		assert_string_equal(r.diff_id.str, rp.diff_id.str);
		assert_int_equal(r.size, back.len);
		assert_int_equal(r.compression, c);
		st_buf_release(&z);
		st_buf_release(&back);
	}
	st_buf_release(&plain);
	tmpdir_free(t);
}

struct listed {
	char path[64];
	enum st_layer_entry_type type;
};

static size_t list_layer(const struct st_buf *layer, struct listed *out, size_t max)
{
	struct mem_src m;
	struct st_error *err = NULL;
	struct st_layer_reader *r =
	    st_layer_reader_new(mem_source(&m, layer->data, layer->len, 1000), &err);
	assert_non_null(r);
	struct st_layer_entry e;
	size_t n = 0;
	int k;
	while ((k = st_layer_reader_next(r, &e, &err)) == 1) {
		assert_true(n < max);
		snprintf(out[n].path, sizeof(out[n].path), "%s", e.path);
		out[n].type = e.type;
		n++;
	}
	assert_int_equal(k, 0);
	struct st_digest d, want;
	uint64_t size;
	assert_int_equal(st_layer_reader_diff_id(r, &d, &size, &err), 0);
	st_layer_reader_free(r);
	(void)want;
	return n;
}

static void writer_overlay_upper_to_whiteouts(void **state)
{
	char *t = tmpdir_new();
	char *p = st_path_join(t, "gone");
	assert_int_equal(mknod(p, S_IFCHR | 0, makedev(0, 0)), 0);
	free(p);
	p = st_path_join(t, "opq");
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
	free(p);
	write_file(t, "opq/child", "c", 0644);
	write_file(t, "keep", "k", 0644);
	p = st_path_join(t, "keep");
	assert_int_equal(setxattr(p, "trusted.overlay.origin", "x", 1, 0), 0);
	free(p);

	struct st_buf tar = ST_BUF_INIT;
	struct st_layer_result res;
	write_layer(t, ST_LAYER_COMP_GZIP, ST_LAYER_TREE_OVERLAY, &tar, &res);
	struct listed l[16];
	size_t n = list_layer(&tar, l, 16);
	assert_int_equal(n, 5);
	assert_string_equal(l[0].path, "gone");
	assert_int_equal(l[0].type, ST_LAYER_ENTRY_WHITEOUT);
	assert_string_equal(l[1].path, "keep");
	assert_string_equal(l[2].path, "opq");
	assert_int_equal(l[2].type, ST_LAYER_ENTRY_DIR);
	assert_string_equal(l[3].path, "opq");
	assert_int_equal(l[3].type, ST_LAYER_ENTRY_OPAQUE);
	assert_string_equal(l[4].path, "opq/child");

	/* The raw names, and no overlay xattrs leak into the layer. */
	struct st_buf plain = ST_BUF_INIT;
	write_layer(t, ST_LAYER_COMP_NONE, ST_LAYER_TREE_OVERLAY, &plain, &res);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, plain.data, plain.len), ARCHIVE_OK);
	struct archive_entry *e;
	const char *want[] = { ".wh.gone", "keep", "opq/", "opq/.wh..wh..opq", "opq/child" };
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
		assert_string_equal(archive_entry_pathname(e), want[i]);
		assert_int_equal(archive_entry_xattr_count(e), 0);
	}
	archive_read_free(a);
	st_buf_release(&plain);
	st_buf_release(&tar);
	tmpdir_free(t);
}

static void writer_single_entries(void **state)
{
	char *t = tmpdir_new();
	write_file(t, "src", "payload", 0600);
	char *src = st_path_join(t, "src");
	struct st_buf tar = ST_BUF_INIT;
	struct st_error *err = NULL;
	struct st_layer_writer_opts o = { .compression = ST_LAYER_COMP_NONE };
	struct st_layer_writer *w = st_layer_writer_new(&o, buf_sink(&tar), &err);
	struct st_layer_attr attr = { .set = ST_LAYER_ATTR_UID | ST_LAYER_ATTR_GID |
					     ST_LAYER_ATTR_MODE | ST_LAYER_ATTR_MTIME,
				      .uid = 33,
				      .gid = 34,
				      .mode = 0755,
				      .mtime = 42 };
	assert_int_equal(st_layer_writer_add_dir(w, "/app", NULL, &err), 0);
	assert_int_equal(st_layer_writer_add_path(w, src, "/app/bin", &attr, &err), 0);
	assert_int_equal(st_layer_writer_add_symlink(w, "app/ln", "bin", NULL, &err), 0);
	assert_int_equal(st_layer_writer_add_hardlink(w, "app/hl", "/app/bin", &err), 0);
	assert_int_equal(st_layer_writer_add_data(w, "./app/msg", "hi", 2, NULL, &err), 0);
	assert_int_equal(st_layer_writer_add_whiteout(w, "/etc/old", &err), 0);
	assert_int_equal(st_layer_writer_add_opaque(w, "var/cache", &err), 0);
	assert_int_equal(st_layer_writer_add_data(w, "../escape", "x", 1, NULL, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	assert_string_equal(err->msg, "layer entry '../escape': '..' in name");
	st_error_clear(&err);
	struct st_layer_result res;
	assert_int_equal(st_layer_writer_finish(w, &res, &err), 0);
	assert_int_equal(st_layer_writer_add_dir(w, "late", NULL, &err), -1);
	st_error_clear(&err);
	st_layer_writer_free(w);

	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, tar.data, tar.len), ARCHIVE_OK);
	struct archive_entry *e;
	const char *want[] = { "app/",
			       "app/bin",
			       "app/ln",
			       "app/hl",
			       "app/msg",
			       "etc/.wh.old",
			       "var/cache/.wh..wh..opq" };
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
		assert_string_equal(archive_entry_pathname(e), want[i]);
		if (i == 1) {
			assert_int_equal(archive_entry_uid(e), 33);
			assert_int_equal(archive_entry_gid(e), 34);
			assert_int_equal(archive_entry_perm(e), 0755);
			assert_int_equal(archive_entry_mtime(e), 42);
			assert_int_equal(archive_entry_size(e), 7);
		}
		if (i == 3)
			assert_string_equal(archive_entry_hardlink(e), "app/bin");
	}
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_EOF);
	archive_read_free(a);
	st_buf_release(&tar);
	free(src);
	tmpdir_free(t);
}

static void writer_raw_passthrough(void **state)
{
	char *t = make_tree();
	struct st_buf plain = ST_BUF_INIT, gz = ST_BUF_INIT;
	struct st_layer_result rp;
	write_layer(t, ST_LAYER_COMP_NONE, 0, &plain, &rp);
	write_layer(t, ST_LAYER_COMP_GZIP, 0, &gz, &rp);
	struct st_digest want;
	st_digest_of(plain.data, plain.len, &want);
	/* Extra zero blocks after the end-of-archive marker are kept too. */
	st_buf_add(&plain, "\0\0\0\0\0\0\0\0", 8);
	st_digest_of(plain.data, plain.len, &want);

	const struct st_buf *inputs[] = { &plain, &gz };
	for (size_t i = 0; i < 2; i++) {
		struct st_buf out = ST_BUF_INIT;
		struct st_error *err = NULL;
		struct st_layer_writer_opts o = { .compression = ST_LAYER_COMP_ZSTD };
		struct st_layer_writer *w = st_layer_writer_new(&o, buf_sink(&out), &err);
		struct mem_src m;
		assert_int_equal(
		    st_layer_writer_add_raw(
			w, mem_source(&m, inputs[i]->data, inputs[i]->len, 4096), &err),
		    0);
		struct st_layer_result r;
		assert_int_equal(st_layer_writer_finish(w, &r, &err), 0);
		st_layer_writer_free(w);
		if (i == 0)
			assert_string_equal(r.diff_id.str, want.str);
		else
			assert_string_equal(r.diff_id.str, rp.diff_id.str);
		assert_int_equal(st_layer_comp_detect(out.data, out.len), ST_LAYER_COMP_ZSTD);
		st_buf_release(&out);
	}

	/* Not a tar. */
	struct st_buf out = ST_BUF_INIT;
	struct st_error *err = NULL;
	struct st_layer_writer *w = st_layer_writer_new(NULL, buf_sink(&out), &err);
	char junk[2048];
	memset(junk, 'x', sizeof(junk));
	struct mem_src m;
	assert_int_equal(st_layer_writer_add_raw(w, mem_source(&m, junk, sizeof(junk), 0), &err),
			 -1);
	assert_int_equal(err->kind, ST_E_PARSE);
	assert_non_null(strstr(err->msg, "not a tar archive"));
	st_error_free(err);
	st_layer_writer_free(w);
	st_buf_release(&out);
	st_buf_release(&plain);
	st_buf_release(&gz);
	tmpdir_free(t);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(writer_tree_round_trip),
	cmocka_unit_test(writer_is_deterministic),
	cmocka_unit_test(writer_digests_and_sizes),
	cmocka_unit_test(writer_overlay_upper_to_whiteouts),
	cmocka_unit_test(writer_single_entries),
	cmocka_unit_test(writer_raw_passthrough),
};

const struct CMUnitTest *writer_tests(size_t *n)
{
	*n = sizeof(tests) / sizeof(*tests);
	return tests;
}
