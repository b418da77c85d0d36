#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/timestamp.h"
#include "util/fs.h"
#include "util/strv.h"

static void buf_grows_and_stays_terminated(void **state)
{
	struct st_buf b = ST_BUF_INIT;
	assert_string_equal(st_buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		st_buf_addf(&b, "%d,", i);
	assert_int_equal(b.data[b.len], '\0');
	assert_true(strncmp(b.data, "0,1,2,", 6) == 0);
	size_t len = 0;
	char *s = st_buf_detach(&b, &len);
	assert_int_equal(strlen(s), len);
	assert_null(b.data);
	free(s);
}

static void err_wrap_prefixes_context(void **state)
{
	struct st_error *err = NULL;
	assert_int_equal(
	    st_err(&err, ST_E_PARSE, "Dockerfile:%d: unknown instruction '%s'", 7, "RUNN"), -1);
	assert_int_equal(st_err_wrap(&err, "build '%s'", "app:1"), -1);
	assert_int_equal(err->kind, ST_E_PARSE);
	assert_string_equal(err->msg, "build 'app:1': Dockerfile:7: unknown instruction 'RUNN'");
	st_error_free(err);
}

static void err_errno_keeps_errno(void **state)
{
	struct st_error *err = NULL;
	struct st_buf b = ST_BUF_INIT;
	assert_int_equal(st_read_file("/nonexistent/strata/x", &b, &err), -1);
	assert_int_equal(err->kind, ST_E_NOTFOUND);
	assert_non_null(strstr(err->msg, "No such file"));
	st_error_free(err);
	st_buf_release(&b);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void tmpfile_unlinks_unless_committed(void **state)
{
	char tmpl[] = "/tmp/strata-test-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	struct st_error *err = NULL;
	st_autofree char *tmp = st_path_join(tmpl, "tmp");
	st_autofree char *dst = st_path_join(tmpl, "out");
	{
		st_auto_tmpfile struct st_tmpfile t = ST_TMPFILE_INIT;
		assert_int_equal(st_tmpfile_open(&t, tmp, 0644, &err), 0);
		assert_int_equal(st_write_all(t.fd, "half", 4, &err), 0);
		assert_int_equal(count_entries(tmp), 1);
		/* leaving the scope without commit: as if the process stopped here */
	}
	assert_int_equal(count_entries(tmp), 0);
	assert_false(st_path_exists(dst));
	assert_int_equal(st_write_file_atomic(dst, tmp, "whole", 5, 0644, &err), 0);
	struct st_buf b = ST_BUF_INIT;
	assert_int_equal(st_read_file(dst, &b, &err), 0);
	assert_string_equal(b.data, "whole");
	st_buf_release(&b);
	assert_int_equal(count_entries(tmp), 0);
	assert_int_equal(st_rm_rf(tmpl, &err), 0);
	assert_false(st_path_exists(tmpl));
}

static void rm_rf_names_the_mount_it_stops_at(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* mounting needs root */
	char tmpl[] = "/tmp/st-util-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	struct st_error *err = NULL;
	st_autofree char *top = st_path_join(tmpl, "a");
	st_autofree char *deep = st_path_join(tmpl, "a/b/c");
	assert_int_equal(st_mkdir_p(deep, 0700, &err), 0);
	assert_int_equal(mount("tmpfs", deep, "tmpfs", 0, NULL), 0);
	assert_int_equal(mount("tmpfs", deep, "tmpfs", 0, NULL), 0);

	assert_int_equal(st_rm_rf(top, &err), -1);
	assert_int_equal(err->kind, ST_E_BUSY);
	st_autofree char *want = st_xasprintf("remove '%s': a mount point", deep);
	assert_string_equal(err->msg, want);
	st_error_clear(&err);

	size_t n = 0;
	assert_int_equal(st_umount_below(top, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(st_rm_rf(tmpl, &err), 0);
	assert_false(st_path_exists(tmpl));
}

static void path_join_normalises_slashes(void **state)
{
	st_autofree char *a = st_path_join("/a/", "/b");
	st_autofree char *b = st_path_join("/a", "");
	assert_string_equal(a, "/a/b");
	assert_string_equal(b, "/a");
}

static void put(const char *root, const char *rel, const char *data)
{
	st_autofree char *p = st_path_join(root, rel);
	struct st_error *err = NULL;
	assert_int_equal(st_write_file_atomic(p, NULL, data, strlen(data), 0644, &err), 0);
}

static void mkdir_in(const char *root, const char *rel)
{
	st_autofree char *p = st_path_join(root, rel);
	struct st_error *err = NULL;
	assert_int_equal(st_mkdir_p(p, 0755, &err), 0);
}

static void link_in(const char *root, const char *rel, const char *target)
{
	st_autofree char *p = st_path_join(root, rel);
	assert_int_equal(symlink(target, p), 0);
}

/* 1 and the host path, 0, or -1 for an error. */
static int lookup(char *const *layers, size_t n, const char *path, enum st_union_flags flags,
		  char **host, char **resolved)
{
	struct st_union_entry e;
	struct st_error *err = NULL;
	int rc = st_union_lookup(layers, n, path, flags, &e, &err);
	st_error_free(err);
	*host = rc == 1 ? st_steal(&e.host) : NULL;
	*resolved = rc >= 0 ? st_steal(&e.path) : NULL;
	st_union_entry_release(&e);
	return rc;
}

static void union_lookup_follows_links_inside_the_layers(void **state)
{
	/* Whiteouts and opaque directories need root (mknod, trusted.* xattrs). */
	if (geteuid() != 0)
		skip();
	char tmpl[] = "/tmp/strata-test-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	st_autofree char *top = st_path_join(tmpl, "top");
	st_autofree char *low = st_path_join(tmpl, "low");
	mkdir_in(low, "a");
	put(low, "a/f", "low");
	put(low, "a/g", "g");
	mkdir_in(low, "del");
	put(low, "del/x", "x");
	mkdir_in(low, "opq");
	put(low, "opq/old", "old");
	link_in(low, "abs", "/a");
	link_in(low, "rel", "../../../a/f");
	link_in(low, "loop1", "loop2");
	link_in(low, "loop2", "/loop1");
	link_in(low, "dangling", "/made/here");
	put(top, "a/f", "up");
	st_autofree char *del = st_path_join(top, "del");
	assert_int_equal(mknod(del, S_IFCHR | 0600, makedev(0, 0)), 0);
	mkdir_in(top, "opq");
	put(top, "opq/new", "new");
	st_autofree char *opq = st_path_join(top, "opq");
	assert_int_equal(setxattr(opq, "trusted.overlay.opaque", "y", 1, 0), 0);
	char *layers[] = { top, low };
	char *host, *path;

	/* An upper layer hides a lower one; directories merge. */
	assert_int_equal(lookup(layers, 2, "/a/f", 0, &host, &path), 1);
	assert_true(strstr(host, "/top/a/f") != NULL);
	free(host), free(path);
	assert_int_equal(lookup(layers, 2, "/a/g", 0, &host, &path), 1);
	assert_true(strstr(host, "/low/a/g") != NULL);
	free(host), free(path);
	/* A whiteout deletes, an opaque directory hides what is below it. */
	assert_int_equal(lookup(layers, 2, "/del/x", 0, &host, &path), 0);
	free(path);
	assert_int_equal(lookup(layers, 2, "/opq/old", 0, &host, &path), 0);
	free(path);
	assert_int_equal(lookup(layers, 2, "/opq/new", 0, &host, &path), 1);
	free(host), free(path);
	/* Links resolve in the union, '..' stops at its root. */
	assert_int_equal(lookup(layers, 2, "/abs/g", 0, &host, &path), 1);
	assert_string_equal(path, "/a/g");
	free(host), free(path);
	assert_int_equal(lookup(layers, 2, "/rel", ST_UNION_FOLLOW, &host, &path), 1);
	assert_string_equal(path, "/a/f");
	assert_true(strstr(host, "/top/a/f") != NULL);
	free(host), free(path);
	assert_int_equal(lookup(layers, 2, "/rel", 0, &host, &path), 1);
	assert_string_equal(path, "/rel");
	free(host), free(path);
	/* What is missing is where creating it would put it. */
	assert_int_equal(lookup(layers, 2, "/dangling/sub", 0, &host, &path), 0);
	assert_string_equal(path, "/made/here/sub");
	free(path);
	assert_int_equal(lookup(layers, 0, "/x/./y", 0, &host, &path), 0);
	assert_string_equal(path, "/x/y");
	free(path);
	/* Errors: a loop of links, a file used as a directory. */
	assert_int_equal(lookup(layers, 2, "/loop1", ST_UNION_FOLLOW, &host, &path), -1);
	assert_int_equal(lookup(layers, 2, "/a/f/x", 0, &host, &path), -1);
	struct st_error *err = NULL;
	assert_int_equal(st_rm_rf(tmpl, &err), 0);
}

static int record_walk(void *ctx, const char *path, const char *rel, enum st_walk_kind kind,
		       struct st_error **err)
{
	(void)path;
	struct st_buf *seen = ctx;
	if (!strcmp(rel, "stop"))
		return st_err(err, ST_E_INVALID, "stopped at '%s'", rel);
	st_buf_addf(seen, "%s:%c ", rel, "dfo"[kind]);
	return 0;
}

static void walk_sorts_by_name_and_does_not_follow_links(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/st-walk-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	put(tmpl, "b", "1");
	mkdir_in(tmpl, "a/z");
	put(tmpl, "a/y", "2");
	link_in(tmpl, "a/l", "/");
	struct st_buf seen = ST_BUF_INIT;
	struct st_error *err = NULL;
	assert_int_equal(st_fs_walk(tmpl, record_walk, &seen, &err), 0);
	assert_string_equal(seen.data, "a:d a/l:o a/y:f a/z:d b:f ");
	/* fn's error ends the walk and is what it returns */
	put(tmpl, "stop", "3");
	assert_int_equal(st_fs_walk(tmpl, record_walk, &seen, &err), -1);
	assert_non_null(strstr(err->msg, "stopped at 'stop'"));
	st_error_free(err);
	err = NULL;
	assert_int_equal(st_fs_walk("/nonexistent-st-walk", record_walk, &seen, &err), -1);
	st_error_free(err);
	err = NULL;
	st_buf_release(&seen);
	assert_int_equal(st_rm_rf(tmpl, &err), 0);
}

static void epochs_are_digits_and_times_rfc3339(void **state)
{
	int64_t v = 0;
	struct st_error *err = NULL;
	assert_int_equal(st_time_parse_epoch("1700000000", "X", &v, &err), 0);
	assert_int_equal(v, 1700000000);
	const char *bad[] = { "", "abc", "12abc", "-1", "+1", " 1", "99999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(st_time_parse_epoch(bad[i], "X", &v, &err), -1);
		assert_int_equal(err->kind, ST_E_INVALID);
		st_error_clear(&err);
	}
	char *t = st_time_rfc3339(1700000000, 0);
	assert_string_equal(t, "2023-11-14T22:13:20Z");
	free(t);
	t = st_time_rfc3339(1700000000, 120000000);
	assert_string_equal(t, "2023-11-14T22:13:20.12Z");
	free(t);
}

/* The growable vector is an argv at every step; the pair helpers grow and free. */
static void strv_stays_an_argv(void **state)
{
	(void)state;
	st_auto_strv struct st_strv s = { 0 };
	for (int i = 0; i < 10; i++) {
		char w[8];
		snprintf(w, sizeof(w), "w%d", i);
		if (i % 2)
			st_strv_push(&s, w);
		else
			st_strv_push_owned(&s, st_xstrdup(w));
		assert_int_equal(s.n, (size_t)i + 1);
		assert_string_equal(s.v[i], w);
		assert_null(s.v[i + 1]);
	}
	char **v = NULL;
	size_t n = 0;
	st_strv_append(&v, &n, "a");
	st_strv_append(&v, &n, "b");
	assert_int_equal(n, 2);
	assert_string_equal(v[1], "b");
	st_strv_free(v, n);
	st_strv_free(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_grows_and_stays_terminated),
		cmocka_unit_test(strv_stays_an_argv),
		cmocka_unit_test(err_wrap_prefixes_context),
		cmocka_unit_test(err_errno_keeps_errno),
		cmocka_unit_test(tmpfile_unlinks_unless_committed),
		cmocka_unit_test(path_join_normalises_slashes),
		cmocka_unit_test(walk_sorts_by_name_and_does_not_follow_links),
		cmocka_unit_test(union_lookup_follows_links_inside_the_layers),
		cmocka_unit_test(rm_rf_names_the_mount_it_stops_at),
		cmocka_unit_test(epochs_are_digits_and_times_rfc3339),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
