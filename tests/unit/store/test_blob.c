/* test_blob.c: blobs appear whole and verified, or not at all. */
#include "helpers.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

static void blob_round_trip(void **state)
{
	struct fx *f = *state;
	struct st_store_blob_writer *w = NULL;
	OK(st_store_blob_writer_new(f->s, NULL, &w, err));
	OK(st_store_blob_writer_write(w, "hello ", 6, err));
	OK(st_store_blob_writer_write(w, "world", 5, err));
	assert_int_equal(st_store_blob_writer_size(w), 11);
	struct st_digest d, want;
	uint64_t size = 0;
	OK(st_store_blob_writer_commit(w, &d, &size, err));
	st_store_blob_writer_free(w);
	st_digest_of("hello world", 11, &want);
	assert_string_equal(d.str, want.str);
	assert_int_equal(size, 11);
	assert_true(st_store_has_blob(f->s, d.str));
	assert_int_equal(count_dir(f->root, "tmp"), 0);

	struct st_buf b = ST_BUF_INIT;
	OK(st_store_read_blob(f->s, d.str, &b, err));
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.data, "hello world", 11);
	st_buf_release(&b);

	int fd = -1;
	OK(st_store_open_blob(f->s, d.str, &fd, &size, err));
	assert_int_equal(size, 11);
	close(fd);

	/* The same content again is the same blob, not a second file. */
	struct st_digest again;
	OK(st_store_put_blob(f->s, "hello world", 11, &again, err));
	assert_string_equal(again.str, d.str);
	assert_int_equal(count_dir(f->root, "blobs/sha256"), 1);

	char *path = NULL;
	OK((path = st_store_blob_path(f->s, d.str, err)) ? 0 : -1);
	assert_true(strstr(path, "/blobs/sha256/") != NULL);
	assert_string_equal(strrchr(path, '/') + 1, st_digest_hex(&d));
	free(path);
}

static void expected_digest_mismatch_leaves_nothing(void **state)
{
	struct fx *f = *state;
	struct st_digest other;
	st_digest_of("other", 5, &other);
	struct st_store_blob_writer *w = NULL;
	OK(st_store_blob_writer_new(f->s, other.str, &w, err));
	OK(st_store_blob_writer_write(w, "data", 4, err));
	FAILS(st_store_blob_writer_commit(w, NULL, NULL, err), ST_E_DIGEST, "content hashes to");
	st_store_blob_writer_free(w);
	assert_int_equal(count_dir(f->root, "blobs/sha256"), 0);
	assert_int_equal(count_dir(f->root, "tmp"), 0);
	assert_false(st_store_has_blob(f->s, other.str));

	/* A writer freed without commit discards its temp file too. */
	OK(st_store_blob_writer_new(f->s, NULL, &w, err));
	OK(st_store_blob_writer_write(w, "data", 4, err));
	assert_int_equal(count_dir(f->root, "tmp"), 1);
	st_store_blob_writer_free(w);
	assert_int_equal(count_dir(f->root, "tmp"), 0);
	assert_int_equal(count_dir(f->root, "blobs/sha256"), 0);
}

static void bad_arguments_are_errors(void **state)
{
	struct fx *f = *state;
	struct st_store_blob_writer *w = NULL;
	FAILS(st_store_blob_writer_new(f->s, "sha256:abc", &w, err), ST_E_INVALID,
	      "expected digest 'sha256:abc': not a sha256 digest");
	assert_false(st_store_has_blob(f->s, "bogus"));
	FAILS(st_store_blob_path(f->s, "bogus", err) ? 0 : -1, ST_E_INVALID, "'bogus'");
	struct st_digest d;
	st_digest_of("missing", 7, &d);
	struct st_buf b = ST_BUF_INIT;
	FAILS(st_store_read_blob(f->s, d.str, &b, err), ST_E_NOTFOUND, "not found");
	int fd;
	FAILS(st_store_open_blob(f->s, d.str, &fd, NULL, err), ST_E_NOTFOUND, d.str);
	st_buf_release(&b);
}

static void corrupt_blob_is_detected(void **state)
{
	struct fx *f = *state;
	struct st_digest d;
	OK(st_store_put_blob(f->s, "precious", 8, &d, err));
	char *path = st_store_blob_path(f->s, d.str, NULL);
	chmod(path, 0644);
	OK(st_write_file_atomic(path, NULL, "precioux", 8, 0444, err));
	free(path);

	struct st_buf b = ST_BUF_INIT;
	FAILS(st_store_read_blob(f->s, d.str, &b, err), ST_E_DIGEST, "corrupt");
	assert_int_equal(b.len, 0);
	st_buf_release(&b);

	struct st_store_check_report r;
	OK(st_store_check(f->s, &r, err));
	assert_int_equal(r.blobs, 1);
	assert_int_equal(r.n_problems, 1);
	assert_true(strstr(r.problems[0], d.str) && strstr(r.problems[0], "corrupt"));
	st_store_check_report_release(&r);
}

static void fd_writer_with_own_hash(void **state)
{
	struct fx *f = *state;
	struct st_digest d;
	st_digest_of("direct", 6, &d);
	struct st_store_blob_writer *w = NULL;
	OK(st_store_blob_writer_new(f->s, d.str, &w, err));
	assert_int_equal(write(st_store_blob_writer_fd(w), "direct", 6), 6);
	uint64_t size = 0;
	OK(st_store_blob_writer_commit_hashed(w, d.str, &size, err));
	st_store_blob_writer_free(w);
	assert_int_equal(size, 6);
	assert_true(st_store_has_blob(f->s, d.str));

	struct st_digest other;
	st_digest_of("other", 5, &other);
	OK(st_store_blob_writer_new(f->s, d.str, &w, err));
	FAILS(st_store_blob_writer_commit_hashed(w, other.str, NULL, err), ST_E_DIGEST, d.str);
	st_store_blob_writer_free(w);
	assert_false(st_store_has_blob(f->s, other.str));
}

/*
 * A process killed in the middle of a blob write leaves only an unlocked temp file: nothing
 * in blobs/, a consistent check, and a temp file gc may remove. A live writer's temp file is
 * kept even when gc is told to ignore the age rule.
 */
static void killed_writer_leaves_nothing_visible(void **state)
{
	struct fx *f = *state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct st_store *s = NULL;
		struct st_store_blob_writer *w = NULL;
		if (st_store_open(f->root, &s, NULL) < 0 ||
		    st_store_blob_writer_new(s, NULL, &w, NULL) < 0 ||
		    st_store_blob_writer_write(w, "half a blo", 10, NULL) < 0)
			_exit(1);
		raise(SIGKILL);
		_exit(2);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(count_dir(f->root, "tmp"), 1);

	st_store_free(f->s);
	f->s = NULL;
	OK(st_store_open(f->root, &f->s, err));
	assert_int_equal(count_dir(f->root, "blobs/sha256"), 0);
	/* Nobody holds the dead writer's temp file any more: check removes it at once. */
	struct st_store_check_report r;
	OK(st_store_check(f->s, &r, err));
	assert_int_equal(r.n_problems, 0);
	assert_int_equal(r.leftovers, 1);
	assert_int_equal(r.leftover_bytes, 10);
	st_store_check_report_release(&r);
	assert_int_equal(count_dir(f->root, "tmp"), 0);

	/* A live writer's file stays. */
	struct st_store_gc_report g;
	struct st_store_blob_writer *live = NULL;
	OK(st_store_blob_writer_new(f->s, NULL, &live, err));
	OK(st_store_blob_writer_write(live, "alive", 5, err));
	OK(st_store_gc(f->s, ST_STORE_GC_TMP_NOW, &g, err));
	assert_int_equal(g.tmp, 0);
	assert_int_equal(count_dir(f->root, "tmp"), 1);
	struct st_digest d;
	OK(st_store_blob_writer_commit(live, &d, NULL, err));
	st_store_blob_writer_free(live);
	assert_true(st_store_has_blob(f->s, d.str));
	assert_int_equal(count_dir(f->root, "tmp"), 0);
}

struct gc_thread {
	struct st_store *s;
	int rc;
	bool done;
};

static void *gc_in_thread(void *arg)
{
	struct gc_thread *t = arg;
	struct st_store_gc_report g;
	struct st_error *e = NULL;
	t->rc = st_store_gc(t->s, 0, &g, &e);
	st_error_free(e);
	__atomic_store_n(&t->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static void gc_removes_half_made_entries_but_waits_for_one_being_made(void **state)
{
	struct fx *f = *state;
	/* What a process killed between creating and locking an entry leaves: it goes at once. */
	st_autofree char *dead = st_xasprintf("%s/tmp/dir.dead00", f->root);
	st_autofree char *half = st_xasprintf("%s/tmp/new.half00", f->root);
	assert_int_equal(mkdir(dead, 0700), 0);
	assert_int_equal(mkdir(half, 0700), 0);
	struct st_store_gc_report g;
	OK(st_store_gc(f->s, 0, &g, err));
	assert_int_equal(g.tmp, 2);
	assert_int_equal(count_dir(f->root, "tmp"), 0);

	/* A creator in the middle of making one (it holds tmp/ shared): gc waits for it. */
	int go[2], done[2];
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(done), 0);
	st_autofree char *tmp = st_xasprintf("%s/tmp", f->root);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(done[1]);
		int fd = open(tmp, O_RDONLY | O_DIRECTORY);
		char c = 0;
		if (fd < 0 || flock(fd, LOCK_SH) < 0 || mkdir(half, 0700) < 0 ||
		    write(go[1], &c, 1) != 1 || read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	char c;
	assert_int_equal(read(go[0], &c, 1), 1);
	struct gc_thread t = { .s = f->s };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, gc_in_thread, &t), 0);
	usleep(200 * 1000);
	assert_false(__atomic_load_n(&t.done, __ATOMIC_SEQ_CST));
	assert_true(st_path_exists(half));
	/* The creator dies before renaming it: now it is half-made, and gc removes it. */
	close(done[1]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(t.rc, 0);
	assert_false(st_path_exists(half));
	close(go[0]);
	close(go[1]);
	close(done[0]);
}

static void tmp_mkdir_is_locked_before_gc_can_see_it(void **state)
{
	struct fx *f = *state;
	char *path = NULL;
	int lock = -1;
	OK(st_store_tmp_mkdir(f->s, &path, &lock, err));
	assert_non_null(strstr(path, "/tmp/dir."));
	struct st_store_gc_report g;
	OK(st_store_gc(f->s, ST_STORE_GC_TMP_NOW, &g, err));
	assert_int_equal(g.tmp, 0);
	assert_true(st_path_exists(path));
	close(lock);
	OK(st_store_gc(f->s, 0, &g, err));
	assert_int_equal(g.tmp, 1);
	assert_false(st_path_exists(path));
	free(path);
}

int run_blob_tests(void)
{
	const struct CMUnitTest blob_tests[] = {
		cmocka_unit_test_setup_teardown(blob_round_trip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expected_digest_mismatch_leaves_nothing, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(bad_arguments_are_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(corrupt_blob_is_detected, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(fd_writer_with_own_hash, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(killed_writer_leaves_nothing_visible, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(
		    gc_removes_half_made_entries_but_waits_for_one_being_made, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(tmp_mkdir_is_locked_before_gc_can_see_it, fx_setup,
						fx_teardown),
	};
	return cmocka_run_group_tests(blob_tests, NULL, NULL);
}
