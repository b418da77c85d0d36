#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "snapshot/internal.h"
#include "snapshot/snapshot.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define N_LONG 100

struct fixture {
	char tmp[64];
};

static int setup(void **state)
{
	struct fixture *f = st_xcalloc(1, sizeof(*f));
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/st-snap-XXXXXX");
	if (!mkdtemp(f->tmp))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct st_error *err = NULL;
	/* Whatever a failed test left mounted must not be emptied through the mount. */
	FILE *m = fopen("/proc/self/mountinfo", "r");
	char line[8192];
	while (m && fgets(line, sizeof(line), m)) {
		char *p = strstr(line, f->tmp);
		if (p) {
			*strchr(p, ' ') = '\0';
			st_snapshot_umount(p, NULL);
		}
	}
	if (m)
		fclose(m);
	st_rm_rf(f->tmp, &err);
	st_error_free(err);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *content)
{
	struct st_error *err = NULL;
	assert_int_equal(st_write_file_atomic(path, NULL, content, strlen(content), 0644, &err), 0);
}

static char *read_str(const char *path)
{
	struct st_buf b = ST_BUF_INIT;
	struct st_error *err = NULL;
	if (st_read_file(path, &b, &err) < 0) {
		st_error_free(err);
		st_buf_release(&b);
		return NULL;
	}
	return st_buf_detach(&b, NULL);
}

static bool is_whiteout(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 &&
	       minor(st.st_rdev) == 0;
}

static void step_layout_is_created_and_removed(void **state)
{
	struct fixture *f = *state;
	struct st_error *err = NULL;
	st_autofree char *base = st_path_join(f->tmp, "steps");
	st_auto_snapshot_step struct st_snapshot_step s = ST_SNAPSHOT_STEP_INIT;
	assert_int_equal(st_snapshot_step_create(base, "s1", &s, &err), 0);
	const char *dirs[] = { s.upper, s.work, s.merged, s.bundle, s.empty };
	for (size_t i = 0; i < 5; i++) {
		struct stat st;
		assert_int_equal(stat(dirs[i], &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_true(strncmp(dirs[i], s.dir, strlen(s.dir)) == 0);
	}
	struct stat st;
	assert_int_equal(stat(s.upper, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);

	struct st_snapshot_step again = ST_SNAPSHOT_STEP_INIT;
	assert_int_equal(st_snapshot_step_create(base, "s1", &again, &err), -1);
	assert_int_equal(err->kind, ST_E_EXISTS);
	st_error_clear(&err);
	assert_null(again.dir);

	assert_int_equal(st_snapshot_step_create(base, "../x", &again, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	st_error_clear(&err);

	assert_int_equal(st_snapshot_step_remove(&s, &err), 0);
	assert_false(st_path_exists(s.dir));
	/* Removing again is not an error. */
	assert_int_equal(st_snapshot_step_remove(&s, &err), 0);
}

static void overlay_upper_is_a_plain_diff(void **state)
{
	struct fixture *f = *state;
	struct st_error *err = NULL;
	st_autofree char *lower = st_path_join(f->tmp, "lower");
	st_autofree char *lbin = st_path_join(lower, "bin");
	assert_int_equal(st_mkdir_p(lbin, 0755, &err), 0);
	st_autofree char *lls = st_path_join(lbin, "ls");
	write_file(lls, "ls\n");
	st_autofree char *lkeep = st_path_join(lower, "keep");
	write_file(lkeep, "keep\n");

	st_autofree char *base = st_path_join(f->tmp, "steps");
	st_auto_snapshot_step struct st_snapshot_step s = ST_SNAPSHOT_STEP_INIT;
	assert_int_equal(st_snapshot_step_create(base, "diff", &s, &err), 0);
	const char *lowers[] = { lower };
	if (st_snapshot_step_mount(&s, lowers, 1, &err) < 0)
		fail_msg("mount: %s", err->msg);
	assert_true(st_snapshot_is_mounted(s.merged));

	st_autofree char *mkeep = st_path_join(s.merged, "keep");
	st_autofree char *content = read_str(mkeep);
	assert_non_null(content);
	assert_string_equal(content, "keep\n");
	st_autofree char *mx = st_path_join(s.merged, "x");
	write_file(mx, "new\n");
	st_autofree char *mls = st_path_join(s.merged, "bin/ls");
	assert_int_equal(unlink(mls), 0);

	assert_int_equal(st_snapshot_step_umount(&s, &err), 0);
	assert_false(st_snapshot_is_mounted(s.merged));
	st_autofree char *ux = st_path_join(s.upper, "x");
	st_autofree char *ucontent = read_str(ux);
	assert_non_null(ucontent);
	assert_string_equal(ucontent, "new\n");
	st_autofree char *uls = st_path_join(s.upper, "bin/ls");
	assert_true(is_whiteout(uls));
	st_autofree char *ukeep = st_path_join(s.upper, "keep");
	assert_false(st_path_exists(ukeep));
	/* The lower is untouched. */
	assert_true(st_path_exists(lls));

	assert_int_equal(st_snapshot_step_remove(&s, &err), 0);
	assert_true(st_path_exists(lkeep));
}

static void scratch_step_mounts_an_empty_rootfs(void **state)
{
	struct fixture *f = *state;
	struct st_error *err = NULL;
	st_autofree char *base = st_path_join(f->tmp, "steps");
	st_auto_snapshot_step struct st_snapshot_step s = ST_SNAPSHOT_STEP_INIT;
	assert_int_equal(st_snapshot_step_create(base, "scratch", &s, &err), 0);
	if (st_snapshot_step_mount(&s, NULL, 0, &err) < 0)
		fail_msg("mount: %s", err->msg);
	st_autofree char *mf = st_path_join(s.merged, "hello");
	write_file(mf, "hi\n");
	assert_int_equal(st_snapshot_step_umount(&s, &err), 0);
	st_autofree char *uf = st_path_join(s.upper, "hello");
	assert_true(st_path_exists(uf));
	st_autofree char *ef = st_path_join(s.empty, "hello");
	assert_false(st_path_exists(ef));
	assert_int_equal(st_snapshot_step_remove(&s, &err), 0);
}

static void remove_unmounts_first_and_spares_lowers(void **state)
{
	struct fixture *f = *state;
	struct st_error *err = NULL;
	st_autofree char *lower = st_path_join(f->tmp, "lower");
	assert_int_equal(st_mkdir_p(lower, 0755, &err), 0);
	st_autofree char *lf = st_path_join(lower, "precious");
	write_file(lf, "data\n");
	st_autofree char *base = st_path_join(f->tmp, "steps");
	st_auto_snapshot_step struct st_snapshot_step s = ST_SNAPSHOT_STEP_INIT;
	assert_int_equal(st_snapshot_step_create(base, "busy", &s, &err), 0);
	const char *lowers[] = { lower };
	assert_int_equal(st_snapshot_step_mount(&s, lowers, 1, &err), 0);

	/* An open file keeps the mount busy: removal must detach it, not empty it. */
	st_autofree char *mf = st_path_join(s.merged, "precious");
	st_autoclose int fd = open(mf, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	if (st_snapshot_step_remove(&s, &err) < 0)
		fail_msg("remove: %s", err->msg);
	assert_false(st_path_exists(s.dir));
	st_autofree char *content = read_str(lf);
	assert_non_null(content);
	assert_string_equal(content, "data\n");
}

static void umount_of_a_plain_dir_is_not_an_error(void **state)
{
	struct fixture *f = *state;
	struct st_error *err = NULL;
	assert_false(st_snapshot_is_mounted(f->tmp));
	assert_int_equal(st_snapshot_umount(f->tmp, &err), 0);
	st_autofree char *missing = st_path_join(f->tmp, "missing");
	assert_int_equal(st_snapshot_umount(missing, &err), 0);
}

static void bad_arguments_are_invalid(void **state)
{
	struct fixture *f = *state;
	struct st_error *err = NULL;
	assert_int_equal(st_snapshot_mount(NULL, 0, "/u", "/w", f->tmp, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	st_error_clear(&err);
	const char *rel[] = { "relative/lower" };
	assert_int_equal(st_snapshot_mount(rel, 1, "/u", "/w", f->tmp, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	assert_non_null(strstr(err->msg, "relative/lower"));
	st_error_clear(&err);
}

static void a_missing_lower_is_an_io_error(void **state)
{
	struct fixture *f = *state;
	struct st_error *err = NULL;
	st_autofree char *base = st_path_join(f->tmp, "steps");
	st_auto_snapshot_step struct st_snapshot_step s = ST_SNAPSHOT_STEP_INIT;
	assert_int_equal(st_snapshot_step_create(base, "missing", &s, &err), 0);
	st_autofree char *missing = st_path_join(f->tmp, "no-such-layer");
	const char *lowers[] = { missing };
	assert_int_equal(st_snapshot_step_mount(&s, lowers, 1, &err), -1);
	assert_int_equal(err->kind, ST_E_IO);
	assert_int_equal(err->errnum, ENOENT);
	st_error_clear(&err);
	assert_false(st_snapshot_is_mounted(s.merged));
}

/* "lowerdir+" came with Linux 6.8. */
static bool kernel_has_lowerdir_plus(void)
{
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 8);
}

/*
 * 100 lowers under long store-like paths: the joined options are far beyond one page.
 * Each lower i holds "f<i>" and all hold "top" with their own number, so the merged view
 * shows every lower and the first (top) one wins.
 */
static void many_long_lowers_mount(enum st_snapshot_method method, void **state)
{
	struct fixture *f = *state;
	struct st_error *err = NULL;
	char *lowers[N_LONG];
	size_t total = 0;
	for (size_t i = 0; i < N_LONG; i++) {
		lowers[i] = st_xasprintf("%s/layers/%064zx/a-long-directory-name-for-the-diff",
					 f->tmp, i + 1);
		total += strlen(lowers[i]) + 1;
		assert_int_equal(st_mkdir_p(lowers[i], 0755, &err), 0);
		char name[32], num[32];
		snprintf(name, sizeof(name), "f%zu", i);
		snprintf(num, sizeof(num), "%zu", i);
		st_autofree char *p = st_path_join(lowers[i], name);
		write_file(p, num);
		st_autofree char *top = st_path_join(lowers[i], "top");
		write_file(top, num);
	}
	assert_true(total > (size_t)sysconf(_SC_PAGESIZE));

	st_autofree char *base = st_path_join(f->tmp, "steps");
	st_auto_snapshot_step struct st_snapshot_step s = ST_SNAPSHOT_STEP_INIT;
	assert_int_equal(st_snapshot_step_create(base, "many", &s, &err), 0);
	int rc = st_snapshot_mount_with(method, (const char *const *)lowers, N_LONG, s.upper,
					s.work, s.merged, &err);
	if (rc < 0 && method == ST_SNAPSHOT_NEWAPI && !kernel_has_lowerdir_plus()) {
		st_error_clear(&err);
		for (size_t i = 0; i < N_LONG; i++)
			free(lowers[i]);
		skip(); /* a kernel before 6.8; the other methods are tested */
	}
	if (rc < 0)
		fail_msg("mount: %s", err->msg);
	for (size_t i = 0; i < N_LONG; i++) {
		char name[32], num[32];
		snprintf(name, sizeof(name), "f%zu", i);
		snprintf(num, sizeof(num), "%zu", i);
		st_autofree char *p = st_path_join(s.merged, name);
		st_autofree char *c = read_str(p);
		assert_non_null(c);
		assert_string_equal(c, num);
		free(lowers[i]);
	}
	st_autofree char *top = st_path_join(s.merged, "top");
	st_autofree char *c = read_str(top);
	assert_string_equal(c, "0");
	/* No temp links are left next to the mount point. */
	st_autofree char *cmd = st_xasprintf("ls -A '%s' | grep -q '^\\.ovl-'", s.dir);
	assert_int_not_equal(system(cmd), 0);
	assert_int_equal(st_snapshot_step_remove(&s, &err), 0);
}

static void many_long_lowers_auto(void **state)
{
	many_long_lowers_mount(ST_SNAPSHOT_AUTO, state);
}

static void many_long_lowers_newapi(void **state)
{
	many_long_lowers_mount(ST_SNAPSHOT_NEWAPI, state);
}

static void many_long_lowers_legacy(void **state)
{
	many_long_lowers_mount(ST_SNAPSHOT_LEGACY, state);
}

static void odd_names_mount_through_links(void **state)
{
	struct fixture *f = *state;
	struct st_error *err = NULL;
	st_autofree char *lower = st_path_join(f->tmp, "a:b,c");
	assert_int_equal(st_mkdir_p(lower, 0755, &err), 0);
	st_autofree char *lf = st_path_join(lower, "odd");
	write_file(lf, "odd\n");
	st_autofree char *base = st_path_join(f->tmp, "steps");
	st_auto_snapshot_step struct st_snapshot_step s = ST_SNAPSHOT_STEP_INIT;
	assert_int_equal(st_snapshot_step_create(base, "odd", &s, &err), 0);
	const char *lowers[] = { lower };
	enum st_snapshot_method methods[] = { ST_SNAPSHOT_LEGACY, ST_SNAPSHOT_LINKS,
					      ST_SNAPSHOT_AUTO };
	for (size_t i = 0; i < 3; i++) {
		if (st_snapshot_mount_with(methods[i], lowers, 1, s.upper, s.work, s.merged, &err) <
		    0)
			fail_msg("mount (method %zu): %s", i, err->msg);
		st_autofree char *mf = st_path_join(s.merged, "odd");
		assert_true(st_path_exists(mf));
		assert_int_equal(st_snapshot_umount(s.merged, &err), 0);
	}
	assert_int_equal(st_snapshot_step_remove(&s, &err), 0);
}

int main(void)
{
	/* What needs no root runs everywhere; the mounts are skipped (77) without it. */
	const struct CMUnitTest plain[] = {
		cmocka_unit_test_setup_teardown(bad_arguments_are_invalid, setup, teardown),
	};
	int failed = cmocka_run_group_tests_name("snapshot arguments", plain, NULL, NULL);
	if (geteuid() != 0) {
		fprintf(stderr, "test_snapshot: overlay mounts need root: skipped\n");
		return failed ? failed : 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(umount_of_a_plain_dir_is_not_an_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(step_layout_is_created_and_removed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(overlay_upper_is_a_plain_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(scratch_step_mounts_an_empty_rootfs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(remove_unmounts_first_and_spares_lowers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_missing_lower_is_an_io_error, setup, teardown),
		cmocka_unit_test_setup_teardown(many_long_lowers_auto, setup, teardown),
		cmocka_unit_test_setup_teardown(many_long_lowers_newapi, setup, teardown),
		cmocka_unit_test_setup_teardown(many_long_lowers_legacy, setup, teardown),
		cmocka_unit_test_setup_teardown(odd_names_mount_through_links, setup, teardown),
	};
	return failed | cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
}
