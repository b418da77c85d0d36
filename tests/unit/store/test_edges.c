/* test_edges.c: edges between objects, artifacts kept with their subject, the v2 migration. */
#include "helpers.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#define SIG_TYPE "application/vnd.dev.cosign.simplesigning.v1+json"

/* An artifact about 'subject': a manifest blob and one payload blob, recorded. */
static void put_artifact(struct st_store *s, const char *subject, const char *text,
			 struct st_digest *manifest, struct st_digest *payload)
{
	OK(st_store_put_blob(s, text, strlen(text), payload, err));
	char m[256];
	snprintf(m, sizeof(m), "{\"artifact\":\"%s\"}", payload->str);
	OK(st_store_put_blob(s, m, strlen(m), manifest, err));
	const char *blobs[] = { payload->str };
	OK(st_store_artifact_put(s, manifest->str, SIG_TYPE, subject, blobs, 1, err));
}

static void artifact_lives_and_dies_with_its_subject(void **state)
{
	struct fx *f = *state;
	const char *la[] = { "base" };
	struct test_image a;
	make_image(f->s, "a", la, 1, &a);
	const char *tag = "app:1";
	OK(st_store_image_put(f->s, &a.img, &tag, 1, err));
	struct st_digest sig, payload;
	put_artifact(f->s, a.img.manifest_digest.str, "payload one", &sig, &payload);

	struct st_digest got;
	OK(st_store_artifact_get(f->s, a.img.manifest_digest.str, SIG_TYPE, &got, err));
	assert_string_equal(got.str, sig.str);
	FAILS(st_store_artifact_get(f->s, a.img.manifest_digest.str, "other", &got, err),
	      ST_E_NOTFOUND, "no other artifact");

	/* Kept while its subject is. */
	struct st_store_gc_report g;
	OK(st_store_gc(f->s, 0, &g, err));
	assert_int_equal(g.blobs, 0);
	assert_true(st_store_has_blob(f->s, sig.str));
	assert_true(st_store_has_blob(f->s, payload.str));

	/* A new artifact of the same type takes the old one's place; gc drops the old one. */
	struct st_digest sig2, payload2;
	put_artifact(f->s, a.img.manifest_digest.str, "payload two", &sig2, &payload2);
	OK(st_store_artifact_get(f->s, a.img.manifest_digest.str, SIG_TYPE, &got, err));
	assert_string_equal(got.str, sig2.str);
	OK(st_store_gc(f->s, 0, &g, err));
	assert_int_equal(g.blobs, 2);
	assert_false(st_store_has_blob(f->s, sig.str));
	assert_false(st_store_has_blob(f->s, payload.str));
	assert_true(st_store_has_blob(f->s, sig2.str));
	assert_true(st_store_has_blob(f->s, payload2.str));

	struct st_store_check_report r;
	OK(st_store_check(f->s, &r, err));
	assert_int_equal(r.n_problems, 0);
	st_store_check_report_release(&r);

	/* The subject goes: the artifact and its blobs go with it, edges and all. */
	OK(st_store_image_delete(f->s, a.img.id.str, ST_STORE_DELETE_FORCE, err));
	OK(st_store_gc(f->s, 0, &g, err));
	assert_false(st_store_has_blob(f->s, sig2.str));
	assert_false(st_store_has_blob(f->s, payload2.str));
	assert_int_equal(g.edges, 2);
	assert_int_equal(count_dir(f->root, "blobs/sha256"), 0);
	FAILS(st_store_artifact_get(f->s, a.img.manifest_digest.str, SIG_TYPE, &got, err),
	      ST_E_NOTFOUND, "no " SIG_TYPE " artifact");
}

static void artifact_needs_its_blobs(void **state)
{
	struct fx *f = *state;
	struct st_digest subject, manifest, missing;
	OK(st_store_put_blob(f->s, "subject", 7, &subject, err));
	OK(st_store_put_blob(f->s, "manifest", 8, &manifest, err));
	st_digest_of("missing", 7, &missing);
	const char *blobs[] = { missing.str };
	FAILS(st_store_artifact_put(f->s, manifest.str, SIG_TYPE, subject.str, blobs, 1, err),
	      ST_E_NOTFOUND, missing.str);
	FAILS(st_store_artifact_put(f->s, manifest.str, SIG_TYPE, missing.str, NULL, 0, err),
	      ST_E_NOTFOUND, "subject");
	FAILS(st_store_artifact_put(f->s, manifest.str, "", subject.str, NULL, 0, err),
	      ST_E_INVALID, "no type");
}

/* An index stored as a blob with a name resolved through it. */
static void index_for(struct st_store *s, const struct test_image *img, struct st_digest *out)
{
	char idx[256];
	snprintf(idx, sizeof(idx), "{\"manifests\":[\"%s\"]}", img->img.manifest_digest.str);
	OK(st_store_put_blob(s, idx, strlen(idx), out, err));
}

static void index_keeps_its_manifests(void **state)
{
	struct fx *f = *state;
	const char *la[] = { "base" };
	struct test_image a;
	make_image(f->s, "a", la, 1, &a);
	OK(st_store_image_put(f->s, &a.img, NULL, 0, err));
	struct st_digest idx, other;
	index_for(f->s, &a, &idx);
	OK(st_store_put_blob(f->s, "another platform", 16, &other, err));
	const char *children[] = { other.str };
	OK(st_store_edge_add(f->s, idx.str, ST_STORE_EDGE_CHILD, children, 1, err));
	/* The reference through the index lists the image's manifest as the index's child. */
	OK(st_store_ref_set(f->s, "app:1", a.img.id.str, idx.str, err));
	char **to = NULL;
	size_t n = 0;
	OK(st_store_edge_list(f->s, idx.str, ST_STORE_EDGE_CHILD, &to, &n, err));
	assert_int_equal(n, 2);
	st_store_strings_free(to, n);

	struct st_store_gc_report g;
	OK(st_store_gc(f->s, 0, &g, err));
	assert_int_equal(g.blobs, 0);
	assert_true(st_store_has_blob(f->s, other.str));

	OK(st_store_ref_delete(f->s, "app:1", err));
	OK(st_store_image_delete(f->s, a.img.id.str, 0, err));
	OK(st_store_gc(f->s, 0, &g, err));
	assert_false(st_store_has_blob(f->s, idx.str));
	assert_false(st_store_has_blob(f->s, other.str));
	assert_int_equal(count_dir(f->root, "blobs/sha256"), 0);
}

static void db_exec(const char *root, const char *sql)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/strata.db", root);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* A version 2 store gains the edges table, and the index edges its references imply. */
static void schema_2_migrates_index_references(void **state)
{
	struct fx *f = *state;
	const char *la[] = { "base" };
	struct test_image a;
	make_image(f->s, "a", la, 1, &a);
	OK(st_store_image_put(f->s, &a.img, NULL, 0, err));
	struct st_digest idx;
	index_for(f->s, &a, &idx);
	OK(st_store_ref_set(f->s, "app:1", a.img.id.str, idx.str, err));
	st_store_free(f->s);
	f->s = NULL;
	db_exec(f->root, "DROP TABLE edges; PRAGMA user_version=2");

	OK(st_store_open(f->root, &f->s, err));
	char **to = NULL;
	size_t n = 0;
	OK(st_store_edge_list(f->s, idx.str, ST_STORE_EDGE_CHILD, &to, &n, err));
	assert_int_equal(n, 1);
	assert_string_equal(to[0], a.img.manifest_digest.str);
	st_store_strings_free(to, n);
	struct st_digest sig, payload;
	put_artifact(f->s, idx.str, "payload", &sig, &payload);
	struct st_store_gc_report g;
	OK(st_store_gc(f->s, 0, &g, err));
	assert_int_equal(g.blobs, 0);
	assert_true(st_store_has_blob(f->s, sig.str));
}

int run_edge_tests(void)
{
	const struct CMUnitTest edge_tests[] = {
		cmocka_unit_test_setup_teardown(artifact_lives_and_dies_with_its_subject, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(artifact_needs_its_blobs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(index_keeps_its_manifests, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(schema_2_migrates_index_references, fx_setup,
						fx_teardown),
	};
	return cmocka_run_group_tests(edge_tests, NULL, NULL);
}
