#include "tests.h"

#include <string.h>

#include "image/image.h"
#include "util/cleanup.h"

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static const char oci_manifest[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" DA
    "\",\"size\":581},"
    "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" DB
    "\",\"size\":2152262,"
    "\"annotations\":{\"z\":\"1\",\"a\":\"2\"}}],"
    "\"annotations\":{\"org.opencontainers.image.created\":\"2024-01-01T00:00:00Z\"}}";

static const char docker_manifest[] =
    "{\n   \"schemaVersion\": 2,\n   \"mediaType\": "
    "\"application/vnd.docker.distribution.manifest.v2+json\",\n"
    "   \"config\": {\n      \"mediaType\": \"application/vnd.docker.container.image.v1+json\",\n"
    "      \"size\": 1457,\n      \"digest\": \"" DA "\"\n   },\n"
    "   \"layers\": [\n      {\n         \"mediaType\": "
    "\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\n"
    "         \"size\": 2591575,\n         \"digest\": \"" DB "\"\n      }\n   ]\n}";

static const char docker_list[] =
    "{\"schemaVersion\":2,\"mediaType\":\"application/"
    "vnd.docker.distribution.manifest.list.v2+json\","
    "\"manifests\":["
    "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" DA
    "\",\"size\":528,"
    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
    "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" DB
    "\",\"size\":528,"
    "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"}},"
    "{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"digest\":\"" DC
    "\",\"size\":528,"
    "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DC
    "\",\"size\":566,"
    "\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"},"
    "\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}}]}";

static void manifest_oci_round_trip_is_stable(void **state)
{
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL, *m2 = NULL;
	struct st_error *err = NULL;
	struct st_buf a = ST_BUF_INIT, b = ST_BUF_INIT;
	assert_int_equal(st_image_manifest_parse(oci_manifest, strlen(oci_manifest), &m, &err), 0);
	assert_int_equal(m->n_layers, 1);
	assert_int_equal(m->layers[0].size, 2152262);
	assert_string_equal(m->layers[0].digest.str, DB);
	assert_string_equal(st_image_map_get(&m->layers[0].annotations, "z"), "1");
	st_image_manifest_serialize(m, &a);
	/* maps come out sorted; everything else in the OCI struct order */
	assert_string_equal(
	    a.data,
	    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"config\":{\"mediaType\":\"application/"
	    "vnd.oci.image.config.v1+json\",\"digest\":\"" DA "\",\"size\":581},"
	    "\"layers\":[{\"mediaType\":\"application/"
	    "vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" DB "\",\"size\":2152262,"
	    "\"annotations\":{\"a\":\"2\",\"z\":\"1\"}}],"
	    "\"annotations\":{\"org.opencontainers.image.created\":\"2024-01-01T00:00:00Z\"}}");
	assert_int_equal(st_image_manifest_parse(a.data, a.len, &m2, &err), 0);
	st_image_manifest_serialize(m2, &b);
	assert_string_equal(a.data, b.data);
	st_buf_release(&a);
	st_buf_release(&b);
}

static void manifest_docker_schema2_becomes_oci(void **state)
{
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	struct st_error *err = NULL;
	struct st_buf a = ST_BUF_INIT;
	assert_int_equal(st_image_detect(docker_manifest, strlen(docker_manifest)),
			 ST_IMAGE_KIND_MANIFEST);
	assert_int_equal(
	    st_image_manifest_parse(docker_manifest, strlen(docker_manifest), &m, &err), 0);
	assert_string_equal(m->media_type, ST_MT_DOCKER_MANIFEST);
	assert_string_equal(m->config.media_type, ST_MT_DOCKER_CONFIG);
	assert_int_equal(st_image_mt_layer_compression(m->layers[0].media_type),
			 ST_IMAGE_COMPRESSION_GZIP);
	st_image_manifest_serialize(m, &a);
	assert_string_equal(
	    a.data,
	    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"config\":{\"mediaType\":\"application/"
	    "vnd.oci.image.config.v1+json\",\"digest\":\"" DA "\",\"size\":1457},"
	    "\"layers\":[{\"mediaType\":\"application/"
	    "vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" DB "\",\"size\":2591575}]}");
	st_buf_release(&a);
}

static void manifest_built_from_scratch(void **state)
{
	st_auto(st_image_manifest) struct st_image_manifest *m = st_image_manifest_new();
	struct st_image_descriptor l = { .media_type = (char *)ST_MT_OCI_LAYER_ZSTD, .size = 7 };
	struct st_error *err = NULL;
	struct st_buf a = ST_BUF_INIT;
	assert_int_equal(st_digest_parse(DA, &m->config.digest, &err), 0);
	m->config.size = 10;
	assert_int_equal(st_digest_parse(DC, &l.digest, &err), 0);
	st_image_manifest_add_layer(m, &l);
	st_image_manifest_serialize(m, &a);
	assert_string_equal(
	    a.data,
	    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"config\":{\"mediaType\":\"application/"
	    "vnd.oci.image.config.v1+json\",\"digest\":\"" DA "\",\"size\":10},"
	    "\"layers\":[{\"mediaType\":\"application/"
	    "vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"" DC "\",\"size\":7}]}");
	st_buf_release(&a);
}

static void manifest_errors(void **state)
{
	static const struct {
		const char *json;
		enum st_errkind kind;
		const char *msg;
	} cases[] = {
		{ "{", ST_E_PARSE, "manifest: line 1 column 1: " },
		{ "[]", ST_E_INVALID, "manifest: expected a JSON object" },
		{ "{\"schemaVersion\":1}", ST_E_INVALID,
		  "manifest: schemaVersion: unsupported (want 2)" },
		{ "{\"schemaVersion\":2,\"layers\":[]}", ST_E_INVALID,
		  "manifest: config: missing" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}", ST_E_INVALID,
		  "manifest: mediaType: unexpected 'text/plain'" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" DA
		  "\",\"size\":1}}",
		  ST_E_INVALID, "manifest: layers: missing" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" DA
		  "\",\"size\":-1},\"layers\":[]}",
		  ST_E_INVALID, "manifest: config.size: expected a non-negative integer" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" DA
		  "\",\"size\":1},\"layers\":["
		  "{\"mediaType\":\"x\",\"digest\":\"" DA
		  "\",\"size\":1},{\"mediaType\":\"x\",\"digest\":\"" DA "\",\"size\":1},"
		  "{\"mediaType\":\"x\",\"digest\":\"sha256:zz\",\"size\":1}]}",
		  ST_E_INVALID, "manifest: layers[2].digest: invalid digest 'sha256:zz'" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":7,\"digest\":\"" DA
		  "\",\"size\":1},\"layers\":[]}",
		  ST_E_INVALID, "manifest: config.mediaType: expected a string" },
		{ "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" DA
		  "\",\"size\":1},\"layers\":[],"
		  "\"annotations\":{\"a\":1}}",
		  ST_E_INVALID, "manifest: annotations[\"a\"]: expected a string" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct st_image_manifest *m = NULL;
		struct st_error *err = NULL;
		assert_int_equal(
		    st_image_manifest_parse(cases[i].json, strlen(cases[i].json), &m, &err), -1);
		assert_null(m);
		assert_int_equal(err->kind, cases[i].kind);
		if (strncmp(err->msg, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("case %zu: '%s' does not start with '%s'", i, err->msg,
				 cases[i].msg);
		st_error_free(err);
	}
}

static void index_select_and_round_trip(void **state)
{
	st_auto(st_image_index) struct st_image_index *idx = NULL, *idx2 = NULL;
	struct st_error *err = NULL;
	struct st_platform p;
	struct st_buf a = ST_BUF_INIT, b = ST_BUF_INIT;
	assert_int_equal(st_image_detect(docker_list, strlen(docker_list)), ST_IMAGE_KIND_INDEX);
	assert_int_equal(st_image_index_parse(docker_list, strlen(docker_list), &idx, &err), 0);
	assert_int_equal(idx->n_manifests, 4);

	assert_int_equal(st_platform_parse("linux/amd64", &p, &err), 0);
	assert_string_equal(st_image_index_select(idx, &p, &err)->digest.str, DA);
	assert_int_equal(st_platform_parse("linux/arm64", &p, &err), 0);
	assert_string_equal(st_image_index_select(idx, &p, &err)->digest.str, DC);
	assert_int_equal(st_platform_parse("linux/arm/v7", &p, &err), 0); /* v6 runs on v7 */
	assert_string_equal(st_image_index_select(idx, &p, &err)->digest.str, DB);
	assert_int_equal(st_platform_parse("linux/s390x", &p, &err), 0);
	assert_null(st_image_index_select(idx, &p, &err));
	assert_int_equal(err->kind, ST_E_NOTFOUND);
	assert_string_equal(err->msg,
			    "no matching manifest for linux/s390x in the manifest list entries");
	st_error_clear(&err);

	st_image_index_serialize(idx, &a);
	assert_non_null(strstr(a.data,
			       "{\"schemaVersion\":2,\"mediaType\":\"application/"
			       "vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":"
			       "\"application/vnd.docker.distribution.manifest.v2+json\""));
	assert_non_null(strstr(
	    a.data, "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v6\"}"));
	assert_int_equal(st_image_index_parse(a.data, a.len, &idx2, &err), 0);
	st_image_index_serialize(idx2, &b);
	assert_string_equal(a.data, b.data);
	st_buf_release(&a);
	st_buf_release(&b);
}

static void index_errors(void **state)
{
	struct st_image_index *idx = NULL;
	struct st_error *err = NULL;
	const char *j = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"" DA
			"\",\"size\":1,"
			"\"platform\":{\"os\":\"linux\"}}]}";
	assert_int_equal(st_image_index_parse(j, strlen(j), &idx, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	assert_string_equal(err->msg, "index: manifests[0].platform.architecture: missing");
	st_error_clear(&err);
	j = "{\"schemaVersion\":2,\"mediaType\":\"" ST_MT_OCI_MANIFEST "\",\"manifests\":[]}";
	assert_int_equal(st_image_index_parse(j, strlen(j), &idx, &err), -1);
	st_error_clear(&err);
}

static void media_types(void **state)
{
	assert_true(st_image_mt_is_layer(ST_MT_DOCKER_LAYER_GZIP));
	assert_true(st_image_mt_is_layer(ST_MT_OCI_LAYER));
	assert_false(st_image_mt_is_layer(ST_MT_OCI_CONFIG));
	assert_int_equal(st_image_mt_layer_compression(ST_MT_OCI_LAYER_ZSTD),
			 ST_IMAGE_COMPRESSION_ZSTD);
	assert_int_equal(st_image_mt_layer_compression(ST_MT_OCI_LAYER), ST_IMAGE_COMPRESSION_NONE);
	assert_string_equal(st_image_mt_to_oci(ST_MT_DOCKER_MANIFEST_LIST), ST_MT_OCI_INDEX);
	assert_string_equal(st_image_mt_to_oci("text/plain"), "text/plain");
	assert_int_equal(st_image_detect("nope", 4), ST_IMAGE_KIND_UNKNOWN);
	assert_int_equal(st_image_detect("{\"schemaVersion\":1,\"fsLayers\":[]}", 33),
			 ST_IMAGE_KIND_UNKNOWN);
	assert_int_equal(st_image_detect("{\"manifests\":[]}", 16), ST_IMAGE_KIND_INDEX);
}

int test_manifest_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(manifest_oci_round_trip_is_stable),
		cmocka_unit_test(manifest_docker_schema2_becomes_oci),
		cmocka_unit_test(manifest_built_from_scratch),
		cmocka_unit_test(manifest_errors),
		cmocka_unit_test(index_select_and_round_trip),
		cmocka_unit_test(index_errors),
		cmocka_unit_test(media_types),
	};
	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
