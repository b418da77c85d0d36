/* test_meta.c: schema, layers, images, references, cache and key/value records. */
#include "helpers.h"

#define ZERO_DIGEST "sha256:0000000000000000000000000000000000000000000000000000000000000000"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fs.h"

static int user_version(const char *root)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/strata.db", root);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	int v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

static void set_user_version(const char *root, int v)
{
	char path[4096], sql[64];
	snprintf(path, sizeof(path), "%s/strata.db", root);
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void schema_is_created_and_versioned(void **state)
{
	struct fx *f = *state;
	assert_int_equal(user_version(f->root), ST_STORE_SCHEMA_VERSION);
	const char *dirs[] = { "blobs/sha256", "layers", "tmp", "leases" };
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(count_dir(f->root, dirs[i]), 0);

	/* Reopening a current database changes nothing. */
	st_store_free(f->s);
	f->s = NULL;
	OK(st_store_open(f->root, &f->s, err));
	assert_int_equal(user_version(f->root), ST_STORE_SCHEMA_VERSION);

	/* A database from a newer strata is refused, not downgraded. */
	st_store_free(f->s);
	f->s = NULL;
	set_user_version(f->root, ST_STORE_SCHEMA_VERSION + 1);
	FAILS(st_store_open(f->root, &f->s, err), ST_E_INVALID, "is newer than this strata");
	assert_null(f->s);
	set_user_version(f->root, ST_STORE_SCHEMA_VERSION);
	OK(st_store_open(f->root, &f->s, err));
}

static void empty_database_file_is_migrated(void **state)
{
	struct fx *f = *state;
	st_store_free(f->s);
	f->s = NULL;
	char path[4096];
	snprintf(path, sizeof(path), "%s/strata.db", f->root);
	OK(st_rm_rf(f->root, err));
	OK(st_mkdir_p(f->root, 0700, err));
	OK(st_write_file_atomic(path, NULL, "", 0, 0600, err));
	OK(st_store_open(f->root, &f->s, err));
	assert_int_equal(user_version(f->root), ST_STORE_SCHEMA_VERSION);
	OK(st_store_kv_put(f->s, "t", "k", "v", err));
}

/* Several processes creating the same new store at once all succeed, on one schema. */
static void concurrent_first_open(void **state)
{
	struct fx *f = *state;
	st_store_free(f->s);
	f->s = NULL;
	char root[4096];
	snprintf(root, sizeof(root), "%s/fresh", f->root);
	pid_t pids[4];
	for (int k = 0; k < 4; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0) {
			struct st_store *s = NULL;
			struct st_error *cerr = NULL;
			if (st_store_open(root, &s, &cerr) < 0 ||
			    st_store_kv_put(s, "n", "k", "v", &cerr) < 0) {
				fprintf(stderr, "child %d: %s\n", k, cerr ? cerr->msg : "?");
				_exit(1);
			}
			st_store_free(s);
			_exit(0);
		}
	}
	for (int k = 0; k < 4; k++) {
		int status;
		assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(user_version(root), ST_STORE_SCHEMA_VERSION);
	OK(st_store_open(f->root, &f->s, err));
}

static void image_round_trip(void **state)
{
	struct fx *f = *state;
	const char *layers[] = { "base layer", "app layer" };
	struct test_image t;
	make_image(f->s, "a", layers, 2, &t);
	const char *tags[] = { "docker.io/library/app:1" };
	OK(st_store_image_put(f->s, &t.img, tags, 1, err));

	struct st_store_image *img = NULL;
	OK(st_store_image_get(f->s, t.img.id.str, &img, err));
	assert_string_equal(img->manifest_digest.str, t.img.manifest_digest.str);
	assert_string_equal(img->config_media_type, t.img.config_media_type);
	assert_string_equal(img->created, "2024-05-01T10:00:00Z");
	assert_string_equal(img->architecture, "amd64");
	assert_null(img->variant);
	assert_int_equal(img->size, (strlen(layers[0]) + strlen(layers[1])) * 10);
	assert_int_equal(img->n_layers, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(img->layers[i].diff_id.str, t.layers[i].diff_id.str);
		assert_string_equal(img->layers[i].digest.str, t.layers[i].digest.str);
		assert_int_equal(img->layers[i].size, strlen(layers[i]));
	}
	st_store_image_free(img);

	/* A short id as `docker images` prints it. */
	char prefix[16];
	snprintf(prefix, sizeof(prefix), "%.12s", st_digest_hex(&t.img.id));
	OK(st_store_image_get(f->s, prefix, &img, err));
	assert_string_equal(img->id.str, t.img.id.str);
	st_store_image_free(img);
	FAILS(st_store_image_get(f->s, "0000000000", &img, err), ST_E_NOTFOUND, "not found");

	/* Layer lookups both ways. */
	struct st_store_layer l;
	OK(st_store_layer_get(f->s, t.layers[1].digest.str, &l, err));
	assert_string_equal(l.diff_id.str, t.layers[1].diff_id.str);
	st_store_layer_release(&l);

	/* Deleting a tagged image needs force; it removes the record, not the blobs. */
	FAILS(st_store_image_delete(f->s, t.img.id.str, 0, err), ST_E_BUSY,
	      "referenced by 'docker.io/library/app:1'");
	OK(st_store_image_delete(f->s, t.img.id.str, ST_STORE_DELETE_FORCE, err));
	FAILS(st_store_image_get(f->s, t.img.id.str, &img, err), ST_E_NOTFOUND, t.img.id.str);
	struct st_store_ref r;
	FAILS(st_store_ref_get(f->s, tags[0], &r, err), ST_E_NOTFOUND, tags[0]);
	assert_true(st_store_has_blob(f->s, t.img.manifest_digest.str));
	FAILS(st_store_image_delete(f->s, t.img.id.str, 0, err), ST_E_NOTFOUND, "not found");
}

static void image_put_needs_all_blobs(void **state)
{
	struct fx *f = *state;
	const char *layers[] = { "one" };
	struct test_image t;
	make_image(f->s, "b", layers, 1, &t);
	st_digest_of("never stored", 12, &t.layers[0].digest);
	const char *tags[] = { "x:1" };
	FAILS(st_store_image_put(f->s, &t.img, tags, 1, err), ST_E_NOTFOUND, "blob not found");
	struct st_store_image **v = NULL;
	size_t n = 9;
	OK(st_store_image_list(f->s, 0, &v, &n, err));
	assert_int_equal(n, 0);
	st_store_image_list_free(v, n);
	struct st_store_ref *refs = NULL;
	OK(st_store_ref_list(f->s, NULL, &refs, &n, err));
	assert_int_equal(n, 0);
	st_store_refs_free(refs, n);

	t.img.manifest_media_type = NULL;
	FAILS(st_store_image_put(f->s, &t.img, NULL, 0, err), ST_E_INVALID, "no media type");
}

static void refs_set_replace_delete_list(void **state)
{
	struct fx *f = *state;
	const char *la[] = { "shared", "a only" };
	const char *lb[] = { "shared", "b only" };
	struct test_image a, b;
	make_image(f->s, "a", la, 2, &a);
	make_image(f->s, "b", lb, 2, &b);
	const char *tag = "docker.io/library/app:latest";
	OK(st_store_image_put(f->s, &a.img, &tag, 1, err));
	OK(st_store_image_put(f->s, &b.img, NULL, 0, err));

	struct st_store_image **v = NULL;
	size_t n = 0;
	OK(st_store_image_list(f->s, ST_STORE_LIST_DANGLING, &v, &n, err));
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->id.str, b.img.id.str);
	st_store_image_list_free(v, n);

	/* Re-tagging moves the name and leaves the old image dangling. */
	OK(st_store_ref_set(f->s, tag, b.img.id.str, NULL, err));
	OK(st_store_ref_set(f->s, "docker.io/library/app:2", b.img.id.str, NULL, err));
	struct st_store_ref r;
	OK(st_store_ref_get(f->s, tag, &r, err));
	assert_string_equal(r.image_id.str, b.img.id.str);
	assert_string_equal(r.manifest_digest.str, b.img.manifest_digest.str);
	st_store_ref_release(&r);
	OK(st_store_image_list(f->s, ST_STORE_LIST_DANGLING, &v, &n, err));
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->id.str, a.img.id.str);
	st_store_image_list_free(v, n);

	struct st_store_ref *refs = NULL;
	OK(st_store_ref_list(f->s, NULL, &refs, &n, err));
	assert_int_equal(n, 2);
	assert_string_equal(refs[0].name, "docker.io/library/app:2");
	assert_string_equal(refs[1].name, tag);
	st_store_refs_free(refs, n);
	OK(st_store_ref_list(f->s, a.img.id.str, &refs, &n, err));
	assert_int_equal(n, 0);
	st_store_refs_free(refs, n);

	OK(st_store_ref_delete(f->s, "docker.io/library/app:2", err));
	FAILS(st_store_ref_delete(f->s, "docker.io/library/app:2", err), ST_E_NOTFOUND,
	      "reference 'docker.io/library/app:2': not found");
	struct st_digest nowhere;
	st_digest_of("nowhere", 7, &nowhere);
	FAILS(st_store_ref_set(f->s, "x:1", nowhere.str, NULL, err), ST_E_NOTFOUND,
	      "tag 'x:1': image");
	FAILS(st_store_ref_set(f->s, "", a.img.id.str, NULL, err), ST_E_INVALID, "empty name");
	FAILS(st_store_ref_set(f->s, "x:1", a.img.id.str, nowhere.str, err), ST_E_NOTFOUND,
	      "manifest");

	/* prune: dangling first, then -a (every image, untagging it). */
	char **ids = NULL;
	OK(st_store_image_prune(f->s, 0, &ids, &n, err));
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], a.img.id.str);
	st_store_strings_free(ids, n);
	OK(st_store_image_prune(f->s, ST_STORE_PRUNE_ALL, &ids, &n, err));
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], b.img.id.str);
	st_store_strings_free(ids, n);
	OK(st_store_ref_list(f->s, NULL, &refs, &n, err));
	assert_int_equal(n, 0);
	st_store_refs_free(refs, n);
}

static void remove_untags_one_of_several_names_or_deletes(void **state)
{
	struct fx *f = *state;
	const char *l[] = { "layer" };
	struct test_image a;
	make_image(f->s, "rm", l, 1, &a);
	const char *tags[] = { "docker.io/library/x:1", "docker.io/library/x:2" };
	OK(st_store_image_put(f->s, &a.img, tags, 2, err));
	OK(st_store_repo_digest_add(f->s, a.img.id.str, "docker.io/library/x@" ZERO_DIGEST, err));

	struct st_store_image_removal r;
	OK(st_store_image_remove(f->s, a.img.id.str, tags[1], 0, &r, err));
	assert_false(r.deleted);
	assert_int_equal(r.n_untagged, 1);
	assert_string_equal(r.untagged[0], tags[1]);
	st_store_image_removal_release(&r);
	/* By id, with two names it would take -f; with one name left it goes with it. */
	OK(st_store_ref_set(f->s, tags[1], a.img.id.str, NULL, err));
	FAILS(st_store_image_remove(f->s, a.img.id.str, NULL, 0, &r, err), ST_E_BUSY,
	      "multiple repositories");
	OK(st_store_image_remove(f->s, a.img.id.str, NULL, ST_STORE_DELETE_FORCE, &r, err));
	assert_true(r.deleted);
	assert_int_equal(r.n_untagged, 2);
	assert_string_equal(r.untagged[0], tags[0]);
	st_store_image_removal_release(&r);
	/* The repo digests went with the image. */
	char **rd = NULL;
	size_t n = 0;
	OK(st_store_repo_digests(f->s, a.img.id.str, &rd, &n, err));
	assert_int_equal(n, 0);
	st_store_strings_free(rd, n);
	FAILS(st_store_image_remove(f->s, a.img.id.str, NULL, 0, &r, err), ST_E_NOTFOUND,
	      "not found");
}

static void layer_variants(void **state)
{
	struct fx *f = *state;
	struct st_store_layer gz = { .media_type =
					 (char *)"application/vnd.oci.image.layer.v1.tar+gzip",
				     .size = 3,
				     .diff_size = 100 };
	struct st_store_layer zst = { .media_type =
					  (char *)"application/vnd.oci.image.layer.v1.tar+zstd",
				      .size = 4,
				      .diff_size = 100 };
	st_digest_of("tar", 3, &gz.diff_id);
	zst.diff_id = gz.diff_id;
	OK(st_store_put_blob(f->s, "gzz", 3, &gz.digest, err));
	FAILS(st_store_layer_put(f->s, &zst, err), ST_E_INVALID, "not a sha256 digest");
	st_digest_of("zstd", 4, &zst.digest);
	FAILS(st_store_layer_put(f->s, &zst, err), ST_E_NOTFOUND, "blob not found");
	OK(st_store_put_blob(f->s, "zstd", 4, NULL, err));
	OK(st_store_layer_put(f->s, &gz, err));
	OK(st_store_layer_put(f->s, &zst, err));
	OK(st_store_layer_put(f->s, &zst, err));

	struct st_store_layer *v = NULL;
	size_t n = 0;
	OK(st_store_layer_variants(f->s, gz.diff_id.str, &v, &n, err));
	assert_int_equal(n, 2);
	assert_string_equal(v[0].digest.str, gz.digest.str);
	assert_string_equal(v[1].media_type, zst.media_type);
	st_store_layers_free(v, n);

	struct st_store_layer bad = gz;
	st_digest_of("other tar", 9, &bad.diff_id);
	FAILS(st_store_layer_put(f->s, &bad, err), ST_E_INVALID, "recorded with diff_id");
	struct st_store_layer l;
	FAILS(st_store_layer_get(f->s, bad.diff_id.str, &l, err), ST_E_NOTFOUND, "not found");
}

static void cache_lru_and_prune(void **state)
{
	struct fx *f = *state;
	OK(st_store_cache_put(f->s, "sha256:k1", "{\"r\":1}", NULL, 10, err));
	OK(st_store_cache_put(f->s, "sha256:k2", "{\"r\":2}", NULL, 10, err));
	OK(st_store_cache_put(f->s, "sha256:k3", "{\"r\":3}", NULL, 10, err));
	struct st_store_cache c;
	OK(st_store_cache_get(f->s, "sha256:k1", &c, err));
	assert_string_equal(c.value, "{\"r\":1}");
	assert_null(c.diff_id);
	assert_true(c.last_used > c.created);
	st_store_cache_release(&c);

	struct st_store_cache *v = NULL;
	size_t n = 0;
	OK(st_store_cache_list(f->s, &v, &n, err));
	assert_int_equal(n, 3);
	assert_string_equal(v[0].key, "sha256:k2");
	assert_string_equal(v[2].key, "sha256:k1");
	st_store_caches_free(v, n);

	size_t removed = 0;
	uint64_t freed = 0;
	OK(st_store_cache_prune(f->s, 20, &removed, &freed, err));
	assert_int_equal(removed, 1);
	assert_int_equal(freed, 10);
	FAILS(st_store_cache_get(f->s, "sha256:k2", &c, err), ST_E_NOTFOUND,
	      "cache record 'sha256:k2': not found");
	OK(st_store_cache_get(f->s, "sha256:k3", &c, err));
	st_store_cache_release(&c);

	OK(st_store_cache_prune(f->s, 0, &removed, &freed, err));
	assert_int_equal(removed, 2);
	OK(st_store_cache_list(f->s, &v, &n, err));
	assert_int_equal(n, 0);
	st_store_caches_free(v, n);
	FAILS(st_store_cache_delete(f->s, "sha256:k3", err), ST_E_NOTFOUND, "not found");
	FAILS(st_store_cache_put(f->s, "k", "v", "nope", 1, err), ST_E_INVALID, "'nope'");
}

static void kv_and_unpacked(void **state)
{
	struct fx *f = *state;
	char *v = NULL;
	FAILS(st_store_kv_get(f->s, "ctx", "a", &v, err), ST_E_NOTFOUND, "ctx 'a': not found");
	OK(st_store_kv_put(f->s, "ctx", "a", "1", err));
	OK(st_store_kv_put(f->s, "ctx", "a", "2", err));
	OK(st_store_kv_put(f->s, "other", "a", "3", err));
	OK(st_store_kv_get(f->s, "ctx", "a", &v, err));
	assert_string_equal(v, "2");
	free(v);
	OK(st_store_kv_delete(f->s, "ctx", "a", err));
	OK(st_store_kv_delete(f->s, "ctx", "a", err));
	OK(st_store_kv_get(f->s, "other", "a", &v, err));
	free(v);

	OK(st_store_kv_put(f->s, "ns", "b", "22", err));
	OK(st_store_kv_put(f->s, "ns", "a", "1", err));
	struct st_store_kv *kv = NULL;
	size_t n = 0;
	OK(st_store_kv_list(f->s, "ns", 0, &kv, &n, err));
	assert_int_equal(n, 2);
	assert_string_equal(kv[0].key, "a");
	assert_null(kv[0].value);
	assert_int_equal(kv[1].size, 2);
	st_store_kvs_free(kv, n);
	OK(st_store_kv_list(f->s, "ns", ST_STORE_KV_VALUES, &kv, &n, err));
	assert_string_equal(kv[1].value, "22");
	st_store_kvs_free(kv, n);
	size_t removed = 0;
	OK(st_store_kv_delete_ns(f->s, "ns", &removed, err));
	assert_int_equal(removed, 2);
	OK(st_store_kv_list(f->s, "ns", 0, &kv, &n, err));
	assert_int_equal(n, 0);
	st_store_kvs_free(kv, n);
	OK(st_store_kv_get(f->s, "other", "a", &v, err)); /* other namespaces stay */
	free(v);

	struct st_digest diff;
	st_digest_of("layer", 5, &diff);
	FAILS(st_store_unpacked_mark(f->s, diff.str, 5, err), ST_E_NOTFOUND, "no directory");
	char *path = NULL;
	OK(st_store_unpacked_path(f->s, diff.str, &path, err));
	OK(st_mkdir_p(path, 0700, err));
	free(path);
	OK(st_store_unpacked_mark(f->s, diff.str, 5, err));
	uint64_t size = 0;
	assert_true(st_store_unpacked_has(f->s, diff.str, &size));
	assert_int_equal(size, 5);
	OK(st_store_unpacked_unmark(f->s, diff.str, err));
	assert_false(st_store_unpacked_has(f->s, diff.str, NULL));
	FAILS(st_store_unpacked_unmark(f->s, diff.str, err), ST_E_NOTFOUND, "not marked");
}

int run_meta_tests(void)
{
	const struct CMUnitTest meta_tests[] = {
		cmocka_unit_test_setup_teardown(schema_is_created_and_versioned, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(empty_database_file_is_migrated, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(concurrent_first_open, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(image_round_trip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(image_put_needs_all_blobs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(refs_set_replace_delete_list, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(remove_untags_one_of_several_names_or_deletes,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(layer_variants, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(cache_lru_and_prune, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(kv_and_unpacked, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(meta_tests, NULL, NULL);
}
