#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/err.h"
#include "util/fs.h"

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
	assert_int_equal(st_err(&err, ST_E_PARSE, "Dockerfile:%d: unknown instruction '%s'", 7, "RUNN"), -1);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_grows_and_stays_terminated),
		cmocka_unit_test(err_wrap_prefixes_context),
		cmocka_unit_test(err_errno_keeps_errno),
		cmocka_unit_test(tmpfile_unlinks_unless_committed),
		cmocka_unit_test(path_join_normalises_slashes),
		cmocka_unit_test(rm_rf_names_the_mount_it_stops_at),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
