#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

static struct stat lstat_in(const char *root, const char *rel)
{
	struct stat st;
	char *p = st_path_join(root, rel);
	assert_int_equal(lstat(p, &st), 0);
	free(p);
	return st;
}

static bool exists_in(const char *root, const char *rel)
{
	struct stat st;
	char *p = st_path_join(root, rel);
	bool r = lstat(p, &st) == 0;
	free(p);
	return r;
}

static void extract_round_trip(void **state)
{
	char *t = tmpdir_new(), *out = tmpdir_new();
	make_sample_tree(t, "/dir/file");
	char *p;

	struct st_buf layer = ST_BUF_INIT;
	struct st_error *err = NULL;
	struct st_layer_writer_opts o = { .compression = ST_LAYER_COMP_GZIP,
					  .flags = ST_LAYER_WRITER_CLAMP_MTIME,
					  .mtime_clamp = 1000 };
	struct st_layer_writer *w = st_layer_writer_new(&o, buf_sink(&layer), &err);
	assert_int_equal(st_layer_writer_add_tree(w, t, NULL, 0, &err), 0);
	struct st_layer_result res;
	assert_int_equal(st_layer_writer_finish(w, &res, &err), 0);
	st_layer_writer_free(w);

	struct mem_src m;
	struct st_digest diff_id;
	struct st_layer_extract_opts xo = { .mode = ST_LAYER_EXTRACT_APPLY };
	assert_int_equal(
	    st_layer_extract(mem_source(&m, layer.data, layer.len, 3000), out, &xo, &diff_id, &err),
	    0);
	assert_string_equal(diff_id.str, res.diff_id.str);

	struct stat st = lstat_in(out, "dir");
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1001);
	assert_int_equal(st.st_mtime, 1000);
	struct stat f = lstat_in(out, "dir/file");
	assert_int_equal(f.st_mode & 07777, 04755);
	assert_int_equal(f.st_mtime, 1000);
	char *c = read_file(out, "dir/file");
	assert_string_equal(c, "hello");
	free(c);
	p = st_path_join(out, "dir/file");
	char v[16] = { 0 };
	assert_int_equal(getxattr(p, "user.test", v, sizeof(v)), 5);
	assert_string_equal(v, "value");
	free(p);
	struct stat h = lstat_in(out, "dir/hard");
	assert_int_equal(h.st_ino, f.st_ino);
	assert_int_equal(h.st_nlink, 2);
	p = st_path_join(out, "dir/link");
	char target[64] = { 0 };
	assert_int_equal(readlink(p, target, sizeof(target)), 9);
	assert_string_equal(target, "/dir/file");
	free(p);
	assert_true(S_ISFIFO(lstat_in(out, "fifo").st_mode));
	st = lstat_in(out, "null");
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(1, 3));

	st_buf_release(&layer);
	tmpdir_free(t);
	tmpdir_free(out);
}

static const struct tspec lower[] = {
	{ 'd', "a/", NULL }, { 'f', "a/f1", "1" }, { 'd', "a/sub/", NULL }, { 'f', "a/sub/x", "x" },
	{ 'f', "b", "b" },   { 'f', "keep", "k" }, { 'd', "c/", NULL },	    { 'f', "c/gone", "g" },
};
/* The new entries of 'a' come before its opaque marker: they must survive it. */
static const struct tspec upper[] = {
	{ 'c', ".wh.b", NULL },	   { 'd', "a/", NULL },	    { 'f', "a/new", "n" },
	{ 'd', "a/sub/", NULL },   { 'f', "a/sub/y", "y" }, { 'f', "a/.wh..wh..opq", "" },
	{ 'f', "c/.wh.gone", "" },
};

static void extract_apply_whiteouts(void **state)
{
	char *out = tmpdir_new();
	struct st_buf l1 = ST_BUF_INIT, l2 = ST_BUF_INIT;
	struct st_error *err = NULL;
	make_tar(&l1, lower, sizeof(lower) / sizeof(*lower));
	make_tar(&l2, upper, sizeof(upper) / sizeof(*upper));
	assert_int_equal(extract_buf(&l1, out, ST_LAYER_EXTRACT_APPLY, 0, &err), 0);
	assert_true(exists_in(out, "b"));
	assert_int_equal(extract_buf(&l2, out, ST_LAYER_EXTRACT_APPLY, 0, &err), 0);
	assert_false(exists_in(out, "b"));
	assert_false(exists_in(out, ".wh.b"));
	assert_false(exists_in(out, "a/f1"));
	assert_false(exists_in(out, "a/sub/x"));
	assert_false(exists_in(out, "a/.wh..wh..opq"));
	assert_true(exists_in(out, "a/new"));
	assert_true(exists_in(out, "a/sub/y"));
	assert_true(exists_in(out, "keep"));
	assert_true(exists_in(out, "c"));
	assert_false(exists_in(out, "c/gone"));
	assert_false(exists_in(out, "c/.wh.gone"));
	st_buf_release(&l1);
	st_buf_release(&l2);
	tmpdir_free(out);
}

static void extract_overlay_whiteouts(void **state)
{
	char *out = tmpdir_new();
	struct st_buf l2 = ST_BUF_INIT;
	struct st_error *err = NULL;
	make_tar(&l2, upper, sizeof(upper) / sizeof(*upper));
	assert_int_equal(extract_buf(&l2, out, ST_LAYER_EXTRACT_OVERLAY, 0, &err), 0);
	struct stat st = lstat_in(out, "b");
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	st = lstat_in(out, "c/gone");
	assert_true(S_ISCHR(st.st_mode));
	char *p = st_path_join(out, "a");
	char v[4] = { 0 };
	assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
	assert_int_equal(v[0], 'y');
	free(p);
	assert_true(exists_in(out, "a/new"));
	assert_false(exists_in(out, "a/.wh..wh..opq"));
	st_buf_release(&l2);
	tmpdir_free(out);
}

/* A base dir with 'root' (the target) and 'sentinel' (must never change) side by side. */
struct arena {
	char *base, *root, *sentinel;
};

static void arena_new(struct arena *a)
{
	a->base = tmpdir_new();
	a->root = st_path_join(a->base, "root");
	a->sentinel = st_path_join(a->base, "sentinel");
	assert_int_equal(mkdir(a->root, 0755), 0);
	assert_int_equal(mkdir(a->sentinel, 0755), 0);
	write_file(a->sentinel, "secret", "orig", 0644);
}

static void arena_check_and_free(struct arena *a)
{
	DIR *d = opendir(a->sentinel);
	assert_non_null(d);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	assert_int_equal(n, 1);
	char *c = read_file(a->sentinel, "secret");
	assert_string_equal(c, "orig");
	free(c);
	assert_int_equal(lstat_in(a->sentinel, "secret").st_nlink, 1);
	/* Nothing new next to root and sentinel either. */
	d = opendir(a->base);
	n = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	assert_int_equal(n, 2);
	free(a->root);
	free(a->sentinel);
	tmpdir_free(a->base);
}

/* Feed 'b' to a checker in pieces of 'chunk' bytes; the index of the first failed write. */
static size_t check_feed(struct st_layer_checker *c, const struct st_buf *b, size_t chunk,
			 struct st_error **err)
{
	for (size_t off = 0; off < b->len; off += chunk) {
		size_t n = b->len - off < chunk ? b->len - off : chunk;
		if (st_layer_checker_write(c, b->data + off, n, err) < 0)
			return off;
	}
	return b->len;
}

static void checker_streams_the_check(void **state)
{
	struct st_buf tar = ST_BUF_INIT;
	struct st_error *err = NULL;
	const struct tspec good[] = { { 'd', "etc", NULL }, { 'f', "etc/passwd", "root:x:0:0" } };
	make_tar(&tar, good, 2);
	struct st_layer_checker *c = st_layer_checker_new(&err);
	assert_non_null(c);
	assert_int_equal(check_feed(c, &tar, 7, &err), tar.len);
	struct st_digest d, want;
	uint64_t size = 0;
	assert_int_equal(st_layer_checker_finish(c, &d, &size, &err), 0);
	st_digest_of(tar.data, tar.len, &want);
	assert_string_equal(d.str, want.str);
	assert_int_equal(size, tar.len);
	st_layer_checker_free(c);

	/* A refused entry ends the writes early, and finish names it. */
	char *big = malloc(4 << 20);
	memset(big, 'x', 4 << 20);
	big[(4 << 20) - 1] = 0;
	/* a stream of several buffers: the diff_id is hashed on the side, still in order */
	const struct tspec large[] = { { 'f', "big", big }, { 'f', "big2", big + 1 } };
	st_buf_reset(&tar);
	make_tar(&tar, large, 2);
	c = st_layer_checker_new(&err);
	assert_int_equal(check_feed(c, &tar, 100000, &err), tar.len);
	assert_int_equal(st_layer_checker_finish(c, &d, &size, &err), 0);
	st_digest_of(tar.data, tar.len, &want);
	assert_string_equal(d.str, want.str);
	assert_int_equal(size, tar.len);
	st_layer_checker_free(c);

	const struct tspec bad[] = { { 'f', "../../etc/passwd", "pwned" }, { 'f', "big", big } };
	st_buf_reset(&tar);
	make_tar(&tar, bad, 2);
	free(big);
	c = st_layer_checker_new(&err);
	size_t stopped = check_feed(c, &tar, 4096, &err);
	assert_true(stopped < tar.len);
	assert_int_equal(err->kind, ST_E_INVALID);
	assert_string_equal(err->msg, "entry '../../etc/passwd': path escapes the root");
	st_error_clear(&err);
	assert_int_equal(st_layer_checker_finish(c, NULL, NULL, &err), -1);
	st_error_clear(&err);
	st_layer_checker_free(c);

	/* The bytes are taken as the tar itself: compressed bytes are not inflated a second time,
	 * so what is checked is what extraction reads. */
	struct st_buf gz = ST_BUF_INIT;
	struct st_layer_compressor *z =
	    st_layer_compressor_new(ST_LAYER_COMP_GZIP, 0, buf_sink(&gz), &err);
	st_buf_reset(&tar);
	make_tar(&tar, good, 2);
	assert_int_equal(st_layer_compressor_write(z, tar.data, tar.len, &err), 0);
	assert_int_equal(st_layer_compressor_finish(z, &err), 0);
	st_layer_compressor_free(z);
	c = st_layer_checker_new(&err);
	check_feed(c, &gz, 4096, &err);
	assert_int_equal(st_layer_checker_finish(c, NULL, NULL, &err), -1);
	assert_int_equal(err->kind, ST_E_PARSE);
	st_error_clear(&err);
	st_layer_checker_free(c);

	/* Abandoned half-way: free does not wait for more bytes. */
	c = st_layer_checker_new(&err);
	check_feed(c, &(struct st_buf){ .data = tar.data, .len = 700 }, 100, &err);
	st_layer_checker_free(c);
	st_buf_release(&gz);
	st_buf_release(&tar);
}

static void extract_refuses_dotdot(void **state)
{
	struct arena a;
	arena_new(&a);
	struct st_buf tar = ST_BUF_INIT;
	struct st_error *err = NULL;
	const struct tspec s[] = { { 'f', "../../etc/passwd", "pwned" } };
	make_tar(&tar, s, 1);
	assert_int_equal(extract_buf(&tar, a.root, ST_LAYER_EXTRACT_APPLY, 0, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	assert_string_equal(err->msg, "layer entry '../../etc/passwd': path escapes the root");
	st_error_clear(&err);

	st_buf_reset(&tar);
	const struct tspec s2[] = { { 'f', "ok/../../sentinel/evil", "pwned" } };
	make_tar(&tar, s2, 1);
	assert_int_equal(extract_buf(&tar, a.root, ST_LAYER_EXTRACT_OVERLAY, 0, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	st_error_clear(&err);
	st_buf_release(&tar);
	arena_check_and_free(&a);
}

static void extract_strips_absolute(void **state)
{
	struct arena a;
	arena_new(&a);
	struct st_buf tar = ST_BUF_INIT;
	struct st_error *err = NULL;
	char *abs = st_path_join(a.sentinel, "abs");
	const struct tspec s[] = { { 'f', abs, "pwned" } };
	make_tar(&tar, s, 1);
	assert_int_equal(extract_buf(&tar, a.root, ST_LAYER_EXTRACT_APPLY, 0, &err), 0);
	char *c = read_file(a.root, abs + 1);
	assert_string_equal(c, "pwned");
	free(c);
	free(abs);
	st_buf_release(&tar);
	arena_check_and_free(&a);
}

/* Each case is refused or contained; either way the sentinel stays as it was. */
static void run_contained(const struct tspec *s, size_t n, enum st_layer_extract_flags flags,
			  const char *expect_in_root)
{
	struct arena a;
	arena_new(&a);
	struct st_buf tar = ST_BUF_INIT;
	struct st_error *err = NULL;
	/* Absolute links aim at the real sentinel directory. */
	struct tspec copy[8];
	char *paths[8] = { 0 };
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		copy[i] = s[i];
		if (s[i].data && !strncmp(s[i].data, "@S", 2)) {
			paths[i] = st_xasprintf("%s%s", a.sentinel, s[i].data + 2);
			copy[i].data = paths[i];
		}
	}
	make_tar(&tar, copy, n);
	for (int mode = 0; mode < 2; mode++) {
		int r = extract_buf(&tar, a.root, (enum st_layer_extract_mode)mode, flags, &err);
		if (r < 0) {
			assert_non_null(strstr(err->msg, "layer entry '"));
			st_error_clear(&err);
		} else if (expect_in_root) {
			assert_true(exists_in(a.root, expect_in_root));
		}
		assert_int_equal(st_rm_rf(a.root, &err), 0);
		assert_int_equal(mkdir(a.root, 0755), 0);
	}
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	st_buf_release(&tar);
	arena_check_and_free(&a);
}

static const struct tspec symlink_root[] = { { 'l', "link", "/" }, { 'f', "link/evil", "pwned" } };
static const struct tspec symlink_abs[] = { { 'l', "link", "@S" }, { 'f', "link/evil", "pwned" } };
static const struct tspec symlink_dotdot[] = { { 'l', "link", "../sentinel" },
					       { 'f', "link/evil", "pwned" } };
static const struct tspec symlink_chain[] = { { 'l', "a", ".." },
					      { 'l', "b", "a/a/a/a" },
					      { 'f', "b/sentinel/evil", "pwned" },
					      { 'f', "a/a/sentinel/evil2", "pwned" } };
static const struct tspec hardlink_passwd[] = { { 'h', "hl", "/etc/passwd" } };
static const struct tspec hardlink_abs[] = { { 'h', "hl", "@S/secret" } };
static const struct tspec hardlink_via_symlink[] = {
	{ 'l', "s", "@S/secret" }, { 'h', "h", "s" }, { 'f', "h", "pwned" }, { 'f', "s", "pwned" }
};
static const struct tspec hardlink_through_dir_link[] = { { 'l', "d", "@S" },
							  { 'h', "h", "d/secret" } };
static const struct tspec symlink_then_dir[] = { { 'l', "d", "@S" },
						 { 'd', "d/", NULL },
						 { 'f', "d/evil", "pwned" } };

static void extract_contains_malicious(void **state)
{
	for (int f = 0; f < 2; f++) {
		enum st_layer_extract_flags fl = f ? ST_LAYER_EXTRACT_NO_OPENAT2 : 0;
		run_contained(symlink_root, 2, fl, f ? NULL : "evil");
		run_contained(symlink_abs, 2, fl, NULL);
		run_contained(symlink_dotdot, 2, fl, NULL);
		run_contained(symlink_chain, 4, fl, f ? NULL : "sentinel/evil");
		run_contained(hardlink_passwd, 1, fl, NULL);
		run_contained(hardlink_abs, 1, fl, NULL);
		run_contained(hardlink_via_symlink, 4, fl, "h");
		run_contained(hardlink_through_dir_link, 2, fl, NULL);
		run_contained(symlink_then_dir, 3, fl, "d/evil");
	}
	struct stat st;
	assert_int_equal(lstat("/etc/passwd", &st), 0);
	assert_int_equal(st.st_nlink, 1);
}

static void extract_hardlink_to_passwd_names_entry(void **state)
{
	struct arena a;
	arena_new(&a);
	struct st_buf tar = ST_BUF_INIT;
	struct st_error *err = NULL;
	make_tar(&tar, hardlink_passwd, 1);
	assert_int_equal(extract_buf(&tar, a.root, ST_LAYER_EXTRACT_APPLY, 0, &err), -1);
	assert_int_equal(err->kind, ST_E_NOTFOUND);
	assert_string_equal(err->msg, "layer entry 'hl': hardlink target '/etc/passwd' not found");
	st_error_free(err);
	st_buf_release(&tar);
	arena_check_and_free(&a);
}

static void extract_rejects_garbage(void **state)
{
	char *out = tmpdir_new();
	struct st_buf junk = ST_BUF_INIT;
	struct st_error *err = NULL;
	for (int i = 0; i < 1024; i++)
		st_buf_addch(&junk, (char)(i * 7));
	assert_int_equal(extract_buf(&junk, out, ST_LAYER_EXTRACT_APPLY, 0, &err), -1);
	assert_int_equal(err->kind, ST_E_PARSE);
	st_error_free(err);
	st_buf_release(&junk);
	tmpdir_free(out);
}

static void extract_root_entry_and_empty_stream(void **state)
{
	char *out = tmpdir_new();
	struct st_buf tar = ST_BUF_INIT;
	struct st_error *err = NULL;
	const struct tspec s[] = { { 'd', "./", NULL }, { 'd', "/", NULL }, { 'f', "./x", "x" } };
	make_tar(&tar, s, 3);
	assert_int_equal(extract_buf(&tar, out, ST_LAYER_EXTRACT_APPLY, 0, &err), 0);
	assert_true(exists_in(out, "x"));
	st_buf_reset(&tar);
	assert_int_equal(extract_buf(&tar, out, ST_LAYER_EXTRACT_OVERLAY, 0, &err), 0);
	st_buf_release(&tar);
	tmpdir_free(out);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(extract_root_entry_and_empty_stream),
	cmocka_unit_test(extract_round_trip),
	cmocka_unit_test(extract_apply_whiteouts),
	cmocka_unit_test(extract_overlay_whiteouts),
	cmocka_unit_test(extract_refuses_dotdot),
	cmocka_unit_test(checker_streams_the_check),
	cmocka_unit_test(extract_strips_absolute),
	cmocka_unit_test(extract_contains_malicious),
	cmocka_unit_test(extract_hardlink_to_passwd_names_entry),
	cmocka_unit_test(extract_rejects_garbage),
};

const struct CMUnitTest *extract_tests(size_t *n)
{
	*n = sizeof(tests) / sizeof(*tests);
	return tests;
}
