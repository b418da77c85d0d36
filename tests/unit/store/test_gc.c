/* test_gc.c: gc keeps what is reachable or leased, check, df, and several processes at once. */
#include "helpers.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fs.h"

static void gc_keeps_reachable_and_leased(void **state)
{
	struct fx *f = *state;
	const char *la[] = { "kept base", "kept app" };
	const char *lb[] = { "kept base", "dropped" };
	struct test_image a, b;
	make_image(f->s, "a", la, 2, &a);
	make_image(f->s, "b", lb, 2, &b);
	const char *tag = "app:1";
	OK(st_store_image_put(f->s, &a.img, &tag, 1, err));
	OK(st_store_image_put(f->s, &b.img, NULL, 0, err));

	struct st_digest orphan, leased;
	OK(st_store_put_blob(f->s, "orphan", 6, &orphan, err));
	struct st_store_lease *lease = NULL;
	OK(st_store_lease_begin(f->s, &lease, err));
	struct st_store_blob_writer *w = NULL;
	OK(st_store_blob_writer_new(f->s, NULL, &w, err));
	st_store_blob_writer_set_lease(w, lease);
	OK(st_store_blob_writer_write(w, "leased", 6, err));
	OK(st_store_blob_writer_commit(w, &leased, NULL, err));
	st_store_blob_writer_free(w);

	/* Image b still holds its blobs. */
	struct st_store_gc_report g;
	OK(st_store_gc(f->s, 0, &g, err));
	assert_int_equal(g.blobs, 1);
	assert_int_equal(g.blob_bytes, 6);
	assert_false(st_store_has_blob(f->s, orphan.str));
	assert_true(st_store_has_blob(f->s, leased.str));
	assert_true(st_store_has_blob(f->s, b.layers[1].digest.str));

	/* Once b is gone: its config, manifest and own layer go; the shared layer stays. */
	OK(st_store_image_delete(f->s, b.img.id.str, 0, err));
	OK(st_store_gc(f->s, ST_STORE_GC_DRY_RUN, &g, err));
	assert_int_equal(g.blobs, 3);
	assert_int_equal(g.layers, 1);
	assert_true(st_store_has_blob(f->s, b.img.id.str));
	OK(st_store_gc(f->s, 0, &g, err));
	assert_int_equal(g.blobs, 3);
	assert_int_equal(g.layers, 1);
	assert_false(st_store_has_blob(f->s, b.img.id.str));
	assert_false(st_store_has_blob(f->s, b.img.manifest_digest.str));
	assert_false(st_store_has_blob(f->s, b.layers[1].digest.str));
	assert_true(st_store_has_blob(f->s, b.layers[0].digest.str));
	for (size_t i = 0; i < 2; i++)
		assert_true(st_store_has_blob(f->s, a.layers[i].digest.str));
	assert_true(st_store_has_blob(f->s, a.img.id.str));
	assert_true(st_store_has_blob(f->s, a.img.manifest_digest.str));
	struct st_store_layer l;
	FAILS(st_store_layer_get(f->s, b.layers[1].digest.str, &l, err), ST_E_NOTFOUND,
	      "not found");

	/* Ending the lease makes its blob collectable. */
	st_store_lease_end(lease);
	OK(st_store_gc(f->s, 0, &g, err));
	assert_int_equal(g.blobs, 1);
	assert_false(st_store_has_blob(f->s, leased.str));
	assert_int_equal(count_dir(f->root, "leases"), 0);

	struct st_store_check_report r;
	OK(st_store_check(f->s, &r, err));
	for (size_t i = 0; i < r.n_problems; i++)
		print_error("%s\n", r.problems[i]);
	assert_int_equal(r.n_problems, 0);
	assert_int_equal(r.blobs, 4);
	st_store_check_report_release(&r);
}

static void cache_and_unpacked_layers(void **state)
{
	struct fx *f = *state;
	const char *la[] = { "cached layer" };
	struct test_image a;
	make_image(f->s, "c", la, 1, &a);
	OK(st_store_layer_put(f->s, &a.layers[0], err));
	OK(st_store_cache_put(f->s, "sha256:step", "{}", a.layers[0].diff_id.str, 12, err));
	char *path = NULL;
	OK(st_store_unpacked_path(f->s, a.layers[0].diff_id.str, &path, err));
	OK(st_mkdir_p(path, 0700, err));
	char *file = st_path_join(path, "f");
	OK(st_write_file_atomic(file, NULL, "x", 1, 0644, err));
	free(file);
	OK(st_store_unpacked_mark(f->s, a.layers[0].diff_id.str, 1, err));

	/* An unpacked directory nobody recorded or needs goes too. */
	struct st_digest stray;
	st_digest_of("stray", 5, &stray);
	char *stray_path = NULL;
	OK(st_store_unpacked_path(f->s, stray.str, &stray_path, err));
	OK(st_mkdir_p(stray_path, 0700, err));

	struct st_store_gc_report g;
	OK(st_store_gc(f->s, 0, &g, err));
	assert_int_equal(g.layers, 0);
	assert_int_equal(g.unpacked, 1);
	assert_true(st_path_exists(path));
	assert_false(st_path_exists(stray_path));
	assert_true(st_store_has_blob(f->s, a.layers[0].digest.str));

	OK(st_store_cache_prune(f->s, 0, NULL, NULL, err));
	OK(st_store_gc(f->s, 0, &g, err));
	assert_int_equal(g.layers, 1);
	assert_int_equal(g.unpacked, 1);
	assert_int_equal(g.unpacked_bytes, 1);
	assert_false(st_path_exists(path));
	assert_false(st_store_unpacked_has(f->s, a.layers[0].diff_id.str, NULL));
	assert_int_equal(count_dir(f->root, "blobs/sha256"), 0);
	assert_int_equal(count_dir(f->root, "tmp"), 0);
	free(path);
	free(stray_path);
}

static void lease_of_killed_process_expires(void **state)
{
	struct fx *f = *state;
	struct st_digest d;
	st_digest_of("child's", 7, &d);
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct st_store *s = NULL;
		struct st_store_lease *l = NULL;
		if (st_store_open(f->root, &s, NULL) < 0 || st_store_lease_begin(s, &l, NULL) < 0 ||
		    st_store_lease_add(l, d.str, NULL) < 0 ||
		    st_store_put_blob(s, "child's", 7, NULL, NULL) < 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	char c;
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);

	/* Alive: the lease protects the blob. */
	struct st_store_gc_report g;
	OK(st_store_gc(f->s, 0, &g, err));
	assert_int_equal(g.blobs, 0);
	assert_int_equal(g.leases, 0);
	assert_true(st_store_has_blob(f->s, d.str));

	kill(pid, SIGKILL);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	OK(st_store_gc(f->s, 0, &g, err));
	assert_int_equal(g.leases, 1);
	assert_int_equal(g.blobs, 1);
	assert_false(st_store_has_blob(f->s, d.str));
	assert_int_equal(count_dir(f->root, "leases"), 0);
}

/* Two processes record the same blobs, image and tag while a third collects garbage. */
static void concurrent_writers_stay_consistent(void **state)
{
	struct fx *f = *state;
	pid_t pids[3];
	for (int k = 0; k < 3; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] != 0)
			continue;
		struct st_store *s = NULL;
		if (st_store_open(f->root, &s, NULL) < 0)
			_exit(10);
		for (int i = 0; i < 15; i++) {
			struct st_error *e = NULL;
			if (k == 2) {
				if (st_store_gc(s, 0, NULL, &e) < 0)
					_exit(11);
				continue;
			}
			struct st_store_lease *l = NULL;
			const char *layers[] = { "same base", "same app" };
			struct test_image t;
			if (st_store_lease_begin(s, &l, &e) < 0)
				_exit(12);
			/* Lease first: the blobs are collectable until the image is recorded. */
			char buf[64];
			for (size_t j = 0; j < 2; j++) {
				struct st_digest d;
				st_digest_of(layers[j], strlen(layers[j]), &d);
				st_store_lease_add(l, d.str, NULL);
			}
			snprintf(buf, sizeof(buf), "{\"config\":\"%s\"}", "same");
			struct st_digest cd, md;
			st_digest_of(buf, strlen(buf), &cd);
			st_store_lease_add(l, cd.str, NULL);
			char man[512];
			snprintf(man, sizeof(man), "{\"manifest\":\"%s\",\"config\":\"%s\"}",
				 "same", cd.str);
			st_digest_of(man, strlen(man), &md);
			st_store_lease_add(l, md.str, NULL);
			make_image(s, "same", layers, 2, &t);
			const char *tag = "docker.io/library/same:latest";
			if (st_store_image_put(s, &t.img, &tag, 1, &e) < 0)
				_exit(13);
			st_store_lease_end(l);
		}
		st_store_free(s);
		_exit(0);
	}
	for (int k = 0; k < 3; k++) {
		int status;
		assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	struct st_store_check_report r;
	OK(st_store_check(f->s, &r, err));
	for (size_t i = 0; i < r.n_problems; i++)
		print_error("%s\n", r.problems[i]);
	assert_int_equal(r.n_problems, 0);
	st_store_check_report_release(&r);
	struct st_store_ref ref;
	OK(st_store_ref_get(f->s, "docker.io/library/same:latest", &ref, err));
	struct st_store_image *img = NULL;
	OK(st_store_image_get(f->s, ref.image_id.str, &img, err));
	assert_int_equal(img->n_layers, 2);
	st_store_image_free(img);
	st_store_ref_release(&ref);
	struct st_store_gc_report g;
	OK(st_store_gc(f->s, ST_STORE_GC_TMP_NOW, &g, err));
	assert_int_equal(g.blobs, 0);
	assert_int_equal(count_dir(f->root, "blobs/sha256"), 4);
	assert_int_equal(count_dir(f->root, "tmp"), 0);
}

static void df_counts_shared_layers_once(void **state)
{
	struct fx *f = *state;
	const char *la[] = { "shared!", "a" };	  /* diff sizes 70, 10 */
	const char *lb[] = { "shared!", "bbbb" }; /* 70, 40 */
	struct test_image a, b;
	make_image(f->s, "a", la, 2, &a);
	make_image(f->s, "b", lb, 2, &b);
	const char *tag = "a:1";
	OK(st_store_image_put(f->s, &a.img, &tag, 1, err));
	OK(st_store_image_put(f->s, &b.img, NULL, 0, err));
	OK(st_store_cache_put(f->s, "sha256:c", "{}", NULL, 5, err));

	struct st_store_df df;
	OK(st_store_df(f->s, &df, err));
	assert_int_equal(df.images, 2);
	assert_int_equal(df.images_active, 1);
	assert_int_equal(df.images_size, 70 + 10 + 40);
	assert_int_equal(df.images_reclaimable, 40);
	assert_int_equal(df.layers, 3);
	assert_int_equal(df.blobs, 7);
	assert_int_equal(df.cache, 1);
	assert_int_equal(df.cache_size, 5);
	assert_int_equal(df.gc_reclaimable, 0);

	OK(st_store_image_delete(f->s, b.img.id.str, 0, err));
	OK(st_store_df(f->s, &df, err));
	assert_int_equal(df.images_size, 80);
	assert_int_equal(df.gc_reclaimable,
			 4 + b.img.id.str[0] * 0 + (uint64_t)strlen("{\"config\":\"b\"}") +
			     (uint64_t)strlen("{\"manifest\":\"b\",\"config\":\"") +
			     ST_DIGEST_STR_LEN + 2);
}

int run_gc_tests(void)
{
	const struct CMUnitTest gc_tests[] = {
		cmocka_unit_test_setup_teardown(gc_keeps_reachable_and_leased, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(cache_and_unpacked_layers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(lease_of_killed_process_expires, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(concurrent_writers_stay_consistent, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(df_counts_shared_layers_once, fx_setup,
						fx_teardown),
	};
	return cmocka_run_group_tests(gc_tests, NULL, NULL);
}
