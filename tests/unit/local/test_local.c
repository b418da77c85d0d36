#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "local/local.h"
#include "util/cleanup.h"
#include "util/fs.h"

struct fixture {
	char dir[64];
	struct st_store *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/strata-local-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	struct st_error *err = NULL;
	if (st_store_open(f->dir, &f->store, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	st_store_free(f->store);
	st_rm_rf(f->dir, NULL);
	free(f);
	return 0;
}

/* One layer holding etc/hello and a whiteout of 'gone', committed as app:1. */
static void commit_sample(struct st_store *s, struct st_digest *id, struct st_store_layer *layer)
{
	struct st_error *err = NULL;
	struct st_layer_writer_opts lo = { .compression = ST_LAYER_COMP_GZIP };
	struct st_local_layer_writer *w = NULL;
	assert_int_equal(st_local_layer_writer_new(s, NULL, &lo, &w, &err), 0);
	struct st_layer_writer *lw = st_local_layer_writer_layer(w);
	assert_int_equal(st_layer_writer_add_dir(lw, "etc", NULL, &err), 0);
	assert_int_equal(st_layer_writer_add_data(lw, "etc/hello", "hi\n", 3, NULL, &err), 0);
	assert_int_equal(st_layer_writer_add_whiteout(lw, "gone", &err), 0);
	assert_int_equal(st_local_layer_writer_commit(w, layer, &err), 0);
	st_local_layer_writer_free(w);

	struct st_image_config *cfg = st_image_config_new();
	cfg->created = strdup("2024-01-01T00:00:00Z");
	cfg->os = strdup("linux");
	cfg->architecture = strdup("amd64");
	st_image_config_add_diff_id(cfg, &layer->diff_id);
	const char *refs[] = { "docker.io/library/app:1" };
	struct st_local_commit c = {
		.config = cfg, .layers = layer, .n_layers = 1, .refs = refs, .n_refs = 1
	};
	assert_int_equal(st_local_image_commit(s, &c, id, &err), 0);
	st_image_config_free(cfg);
}

static void commit_then_find_by_name_and_id(void **state)
{
	struct fixture *f = *state;
	struct st_digest id;
	struct st_store_layer layer;
	commit_sample(f->store, &id, &layer);
	struct st_error *err = NULL;
	const char *names[] = { "app:1", "docker.io/library/app:1", id.str, st_digest_hex(&id) };
	for (size_t i = 0; i < 4; i++) {
		struct st_store_image *img = NULL;
		assert_int_equal(st_local_image_find(f->store, names[i], &img, &err), 0);
		assert_string_equal(img->id.str, id.str);
		assert_int_equal(img->n_layers, 1);
		st_store_image_free(img);
	}
	char prefix[13];
	memcpy(prefix, st_digest_hex(&id), 12);
	prefix[12] = '\0';
	struct st_store_image *img = NULL;
	assert_int_equal(st_local_image_find(f->store, prefix, &img, &err), 0);

	struct st_image_config *cfg = NULL;
	assert_int_equal(st_local_image_config(f->store, img, &cfg, &err), 0);
	assert_string_equal(cfg->diff_ids[0].str, layer.diff_id.str);
	st_image_config_free(cfg);
	char **tags = NULL;
	size_t n = 0;
	assert_int_equal(st_local_image_tags(f->store, img->id.str, &tags, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(tags[0], "app:1");
	st_store_strings_free(tags, n);
	st_store_image_free(img);
	st_store_layer_release(&layer);

	assert_int_equal(st_local_image_find(f->store, "nope:2", &img, &err), -1);
	assert_int_equal(err->kind, ST_E_NOTFOUND);
	assert_string_equal(err->msg, "No such image: nope:2");
	st_error_free(err);
}

static void commit_refuses_mismatched_layers(void **state)
{
	struct fixture *f = *state;
	struct st_digest id;
	struct st_store_layer layer;
	commit_sample(f->store, &id, &layer);
	struct st_image_config *cfg = st_image_config_new();
	struct st_error *err = NULL;
	struct st_local_commit c = { .config = cfg, .layers = &layer, .n_layers = 1 };
	assert_int_equal(st_local_image_commit(f->store, &c, NULL, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	st_error_free(err);
	st_image_config_free(cfg);
	st_store_layer_release(&layer);
}

static void convert_makes_a_variant_once_and_checks_the_diff_id(void **state)
{
	struct fixture *f = *state;
	struct st_digest id;
	struct st_store_layer gz;
	commit_sample(f->store, &id, &gz);
	struct st_error *err = NULL;
	struct st_store_layer z, again, plain;
	assert_int_equal(
	    st_local_layer_convert(f->store, NULL, &gz, ST_LAYER_COMP_ZSTD, 19, &z, &err), 0);
	assert_string_equal(z.diff_id.str, gz.diff_id.str);
	assert_string_not_equal(z.digest.str, gz.digest.str);
	assert_string_equal(z.media_type, "application/vnd.oci.image.layer.v1.tar+zstd");
	/* The second time, the recorded variant: the same blob. */
	assert_int_equal(
	    st_local_layer_convert(f->store, NULL, &gz, ST_LAYER_COMP_ZSTD, 1, &again, &err), 0);
	assert_string_equal(again.digest.str, z.digest.str);
	/* Uncompressed, the digest is the diff_id. */
	assert_int_equal(
	    st_local_layer_convert(f->store, NULL, &z, ST_LAYER_COMP_NONE, 0, &plain, &err), 0);
	assert_string_equal(plain.digest.str, gz.diff_id.str);
	struct st_store_layer *v = NULL;
	size_t n = 0;
	assert_int_equal(st_store_layer_variants(f->store, gz.diff_id.str, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	st_store_layers_free(v, n);

	/* A layer whose blob does not hold its diff_id is refused, and no variant recorded. */
	struct st_store_layer liar = gz;
	st_digest_of("other", 5, &liar.diff_id);
	struct st_store_layer out;
	assert_int_equal(
	    st_local_layer_convert(f->store, NULL, &liar, ST_LAYER_COMP_ZSTD, 0, &out, &err), -1);
	assert_int_equal(err->kind, ST_E_DIGEST);
	st_error_clear(&err);
	assert_int_equal(st_store_layer_variants(f->store, liar.diff_id.str, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	st_store_layers_free(v, n);
	st_store_layer_release(&gz);
	st_store_layer_release(&z);
	st_store_layer_release(&again);
	st_store_layer_release(&plain);
}

static void commit_with_a_format_names_the_compressed_layers(void **state)
{
	struct fixture *f = *state;
	struct st_digest id;
	struct st_store_layer gz;
	commit_sample(f->store, &id, &gz);
	struct st_error *err = NULL;
	struct st_store_image *img = NULL;
	assert_int_equal(st_local_image_find(f->store, "app:1", &img, &err), 0);
	struct st_image_config *cfg = NULL;
	assert_int_equal(st_local_image_config(f->store, img, &cfg, &err), 0);
	st_store_image_free(img);

	/* Without force a compressed layer stays as it is; with it, it becomes zstd. */
	struct st_local_format fmt = { .compression = ST_LAYER_COMP_ZSTD };
	const char *refs[] = { "docker.io/library/app:2" };
	struct st_local_commit c = { .config = cfg,
				     .layers = &gz,
				     .n_layers = 1,
				     .refs = refs,
				     .n_refs = 1,
				     .format = &fmt };
	assert_int_equal(st_local_image_commit(f->store, &c, NULL, &err), 0);
	assert_int_equal(st_local_image_find(f->store, "app:2", &img, &err), 0);
	assert_string_equal(img->layers[0].digest.str, gz.digest.str);
	st_store_image_free(img);
	fmt.flags = ST_LOCAL_FORMAT_FORCE;
	assert_int_equal(st_local_image_commit(f->store, &c, NULL, &err), 0);
	assert_int_equal(st_local_image_find(f->store, "app:2", &img, &err), 0);
	assert_string_equal(img->layers[0].media_type,
			    "application/vnd.oci.image.layer.v1.tar+zstd");
	st_store_image_free(img);

	/* Docker media types name no zstd layer. */
	fmt.flags = ST_LOCAL_FORMAT_FORCE | ST_LOCAL_FORMAT_DOCKER;
	assert_int_equal(st_local_image_commit(f->store, &c, NULL, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	st_error_clear(&err);
	fmt.compression = ST_LAYER_COMP_GZIP;
	assert_int_equal(st_local_image_commit(f->store, &c, NULL, &err), 0);
	assert_int_equal(st_local_image_find(f->store, "app:2", &img, &err), 0);
	assert_string_equal(img->manifest_media_type,
			    "application/vnd.docker.distribution.manifest.v2+json");
	assert_string_equal(img->layers[0].media_type,
			    "application/vnd.docker.image.rootfs.diff.tar.gzip");
	st_store_image_free(img);
	st_image_config_free(cfg);
	st_store_layer_release(&gz);
}

static void unpack_makes_an_overlay_lowerdir_once(void **state)
{
	struct fixture *f = *state;
	struct st_digest id;
	struct st_store_layer layer;
	commit_sample(f->store, &id, &layer);
	struct st_error *err = NULL;
	char *path = NULL;
	assert_int_equal(st_local_layer_unpack(f->store, layer.diff_id.str, NULL, 0, &path, &err),
			 0);
	st_autofree char *hello = st_path_join(path, "etc/hello");
	st_autofree char *gone = st_path_join(path, "gone");
	struct stat st;
	assert_int_equal(stat(hello, &st), 0);
	assert_int_equal(st.st_size, 3);
	/* the whiteout became what overlayfs understands: a 0/0 character device */
	assert_int_equal(lstat(gone, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, 0);
	char *again = NULL;
	assert_int_equal(st_local_layer_unpack(f->store, layer.diff_id.str, NULL, 0, &again, &err),
			 0);
	assert_string_equal(path, again);
	free(path);
	free(again);
	st_store_layer_release(&layer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(commit_then_find_by_name_and_id, setup, teardown),
		cmocka_unit_test_setup_teardown(commit_refuses_mismatched_layers, setup, teardown),
		cmocka_unit_test_setup_teardown(convert_makes_a_variant_once_and_checks_the_diff_id,
						setup, teardown),
		cmocka_unit_test_setup_teardown(commit_with_a_format_names_the_compressed_layers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(unpack_makes_an_overlay_lowerdir_once, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
