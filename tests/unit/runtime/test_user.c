#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

int user_tests(void);

static const char passwd[] = "# comment\n"
			     "root:x:0:0:root:/root:/bin/sh\n"
			     "broken line\n"
			     "app:x:1000:1000::/home/app:/bin/sh\n"
			     "other:x:1001:1001::/home/other:/bin/sh\n";
static const char group[] = "root:x:0:\n"
			    "app:x:1000:\n"
			    "staff:x:50:other,app\n"
			    "audio:x:63:app\n"
			    "video:x:44:other\n";

struct ufix {
	char tmp[64];
	char *rootfs;
};

static void put(const char *dir, const char *rel, const char *content)
{
	struct st_error *err = NULL;
	st_autofree char *p = st_path_join(dir, rel);
	st_autofree char *d = st_xstrdup(p);
	*strrchr(d, '/') = '\0';
	assert_int_equal(st_mkdir_p(d, 0755, &err), 0);
	assert_int_equal(st_write_file_atomic(p, NULL, content, strlen(content), 0644, &err), 0);
}

static int usetup(void **state)
{
	struct ufix *f = st_xcalloc(1, sizeof(*f));
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/st-user-XXXXXX");
	if (!mkdtemp(f->tmp))
		return -1;
	f->rootfs = st_path_join(f->tmp, "rootfs");
	put(f->rootfs, "etc/passwd", passwd);
	put(f->rootfs, "etc/group", group);
	*state = f;
	return 0;
}

static int uteardown(void **state)
{
	struct ufix *f = *state;
	st_rm_rf(f->tmp, NULL);
	free(f->rootfs);
	free(f);
	return 0;
}

struct resolved {
	uid_t uid;
	gid_t gid;
	gid_t *gids;
	size_t n;
};

static int resolve(const char *rootfs, const char *user, struct resolved *r, struct st_error **err)
{
	r->uid = 12345;
	r->gid = 12345;
	return st_runtime_resolve_user(rootfs, user, &r->uid, &r->gid, &r->gids, &r->n, err);
}

static void user_by_name_gets_supplementary_groups(void **state)
{
	struct ufix *f = *state;
	struct st_error *err = NULL;
	struct resolved r;
	assert_int_equal(resolve(f->rootfs, "app", &r, &err), 0);
	assert_int_equal(r.uid, 1000);
	assert_int_equal(r.gid, 1000);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.gids[0], 50);
	assert_int_equal(r.gids[1], 63);
	free(r.gids);
}

static void numeric_uid_uses_the_entry_when_there_is_one(void **state)
{
	struct ufix *f = *state;
	struct st_error *err = NULL;
	struct resolved r;
	assert_int_equal(resolve(f->rootfs, "1001", &r, &err), 0);
	assert_int_equal(r.uid, 1001);
	assert_int_equal(r.gid, 1001);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.gids[0], 50);
	assert_int_equal(r.gids[1], 44);
	free(r.gids);

	assert_int_equal(resolve(f->rootfs, "4242", &r, &err), 0);
	assert_int_equal(r.uid, 4242);
	assert_int_equal(r.gid, 0);
	assert_int_equal(r.n, 0);
	assert_null(r.gids);
}

static void explicit_group_replaces_supplementary_groups(void **state)
{
	struct ufix *f = *state;
	struct st_error *err = NULL;
	struct resolved r;
	assert_int_equal(resolve(f->rootfs, "app:staff", &r, &err), 0);
	assert_int_equal(r.uid, 1000);
	assert_int_equal(r.gid, 50);
	assert_int_equal(r.n, 0);

	assert_int_equal(resolve(f->rootfs, "4242:4343", &r, &err), 0);
	assert_int_equal(r.uid, 4242);
	assert_int_equal(r.gid, 4343);
	assert_int_equal(r.n, 0);

	assert_int_equal(resolve(f->rootfs, "app:9999", &r, &err), 0);
	assert_int_equal(r.uid, 1000);
	assert_int_equal(r.gid, 9999);

	assert_int_equal(resolve(f->rootfs, "0:audio", &r, &err), 0);
	assert_int_equal(r.uid, 0);
	assert_int_equal(r.gid, 63);

	assert_int_equal(resolve(f->rootfs, "", &r, &err), 0);
	assert_int_equal(r.uid, 0);
	assert_int_equal(r.gid, 0);
	assert_int_equal(r.n, 0);
}

static void unknown_names_are_not_found(void **state)
{
	struct ufix *f = *state;
	struct st_error *err = NULL;
	struct resolved r;
	assert_int_equal(resolve(f->rootfs, "nobodyhere", &r, &err), -1);
	assert_int_equal(err->kind, ST_E_NOTFOUND);
	assert_string_equal(err->msg,
			    "unable to find user nobodyhere: no matching entries in passwd file");
	st_error_clear(&err);

	assert_int_equal(resolve(f->rootfs, "app:wheel", &r, &err), -1);
	assert_int_equal(err->kind, ST_E_NOTFOUND);
	assert_string_equal(err->msg,
			    "unable to find group wheel: no matching entries in group file");
	st_error_clear(&err);

	assert_int_equal(resolve(f->rootfs, "app:", &r, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	st_error_clear(&err);
}

static void a_rootfs_without_files_resolves_ids_only(void **state)
{
	struct ufix *f = *state;
	struct st_error *err = NULL;
	struct resolved r;
	st_autofree char *empty = st_path_join(f->tmp, "empty");
	assert_int_equal(st_mkdir_p(empty, 0755, &err), 0);
	assert_int_equal(resolve(empty, "10:20", &r, &err), 0);
	assert_int_equal(r.uid, 10);
	assert_int_equal(r.gid, 20);
	assert_int_equal(resolve(empty, "root", &r, &err), -1);
	assert_int_equal(err->kind, ST_E_NOTFOUND);
	st_error_clear(&err);
}

static void symlinks_do_not_leave_the_rootfs(void **state)
{
	struct ufix *f = *state;
	struct st_error *err = NULL;
	struct resolved r;
	/* The host side has a passwd that knows 'evil'; the image only links to it. */
	put(f->tmp, "outside/etc/passwd", "evil:x:777:777::/:/bin/sh\n");
	st_autofree char *host_passwd = st_path_join(f->tmp, "outside/etc/passwd");
	st_autofree char *abs = st_path_join(f->tmp, "abs");
	st_autofree char *abs_etc = st_path_join(abs, "etc");
	assert_int_equal(st_mkdir_p(abs_etc, 0755, &err), 0);
	st_autofree char *abs_link = st_path_join(abs_etc, "passwd");
	assert_int_equal(symlink(host_passwd, abs_link), 0);
	assert_int_equal(resolve(abs, "evil", &r, &err), -1);
	assert_int_equal(err->kind, ST_E_NOTFOUND);
	st_error_clear(&err);

	st_autofree char *rel = st_path_join(f->tmp, "rel");
	st_autofree char *rel_etc = st_path_join(rel, "etc");
	assert_int_equal(st_mkdir_p(rel_etc, 0755, &err), 0);
	st_autofree char *rel_link = st_path_join(rel_etc, "passwd");
	assert_int_equal(symlink("../../../../../../../../outside/etc/passwd", rel_link), 0);
	assert_int_equal(resolve(rel, "evil", &r, &err), -1);
	assert_int_equal(err->kind, ST_E_NOTFOUND);
	st_error_clear(&err);

	/* A link that stays inside the rootfs is followed, relative to the rootfs. */
	st_autofree char *in = st_path_join(f->tmp, "in");
	put(in, "usr/share/passwd", "inside:x:555:556::/:/bin/sh\n");
	st_autofree char *in_etc = st_path_join(in, "etc");
	assert_int_equal(st_mkdir_p(in_etc, 0755, &err), 0);
	st_autofree char *in_link = st_path_join(in_etc, "passwd");
	assert_int_equal(symlink("/usr/share/passwd", in_link), 0);
	assert_int_equal(resolve(in, "inside", &r, &err), 0);
	assert_int_equal(r.uid, 555);
	assert_int_equal(r.gid, 556);
}

int user_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(user_by_name_gets_supplementary_groups),
		cmocka_unit_test(numeric_uid_uses_the_entry_when_there_is_one),
		cmocka_unit_test(explicit_group_replaces_supplementary_groups),
		cmocka_unit_test(unknown_names_are_not_found),
		cmocka_unit_test(a_rootfs_without_files_resolves_ids_only),
		cmocka_unit_test(symlinks_do_not_leave_the_rootfs),
	};
	return cmocka_run_group_tests_name("user", tests, usetup, uteardown);
}
