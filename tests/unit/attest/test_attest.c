/* test_attest.c: in-toto statements, SLSA v1 provenance, --attest values, attestation lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"
#include "util/cleanup.h"
#include "util/fs.h"

static const char *str_at(json_t *root, const char *path)
{
	json_t *v = root;
	st_autofree char *copy = st_xstrdup(path);
	for (char *p = copy, *dot; p && v; p = dot) {
		dot = strchr(p, '.');
		if (dot)
			*dot++ = '\0';
		v = json_object_get(v, p);
	}
	return json_string_value(v);
}

static void fill_build(struct st_attest_build *b)
{
	*b = (struct st_attest_build){ 0 };
	b->dockerfile_name = st_xstrdup("Dockerfile");
	st_digest_of("FROM alpine\n", 12, &b->dockerfile_digest);
	b->dockerfile_source = st_xstrdup("FROM alpine\n");
	b->args = st_xcalloc(2, sizeof(*b->args));
	b->args[b->n_args++] = st_xstrdup("TOKEN=s3cret");
	st_platform_parse("linux/amd64", &b->platform, NULL);
	st_platform_parse("linux/amd64", &b->builder_platform, NULL);
	struct st_digest d;
	st_digest_of("base", 4, &d);
	st_attest_build_add_material(b, "pkg:docker/alpine@3.19?platform=linux%2Famd64", &d);
	st_attest_build_add_material(b, "pkg:docker/alpine@3.19?platform=linux%2Famd64", &d);
	b->invocation_id = st_xstrdup("0123");
	b->started = 1700000000;
	b->finished = 1700000060;
}

static void statement_names_subject_by_digest(void **state)
{
	struct st_digest m;
	st_digest_of("manifest", 8, &m);
	const char *names[] = { "pkg:docker/app@1?platform=linux%2Famd64" };
	json_t *st = st_attest_statement(ST_ATTEST_PREDICATE_SPDX, &m, names, 1, json_object());
	assert_string_equal(str_at(st, "_type"), "https://in-toto.io/Statement/v0.1");
	assert_string_equal(str_at(st, "predicateType"), "https://spdx.dev/Document");
	json_t *sub = json_array_get(json_object_get(st, "subject"), 0);
	assert_string_equal(str_at(sub, "name"), names[0]);
	assert_string_equal(str_at(sub, "digest.sha256"), st_digest_hex(&m));
	json_decref(st);
	/* an unnamed image is "_", as BuildKit names it */
	st = st_attest_statement(ST_ATTEST_PREDICATE_SPDX, &m, NULL, 0, json_object());
	assert_string_equal(str_at(json_array_get(json_object_get(st, "subject"), 0), "name"), "_");
	json_decref(st);
}

static void provenance_min_leaves_out_args_and_source(void **state)
{
	struct st_attest_build b;
	fill_build(&b);
	json_t *min = st_attest_provenance(&b, ST_ATTEST_PROVENANCE_MIN, NULL);
	json_t *max =
	    st_attest_provenance(&b, ST_ATTEST_PROVENANCE_MAX, "https://ci.example/run/1");
	assert_string_equal(str_at(min, "buildDefinition.buildType"), ST_ATTEST_BUILD_TYPE);
	assert_string_equal(
	    str_at(min, "buildDefinition.externalParameters.configSource.digest.sha256"),
	    st_digest_hex(&b.dockerfile_digest));
	json_t *margs =
	    json_object_get(json_object_get(json_object_get(json_object_get(min, "buildDefinition"),
							    "externalParameters"),
					    "request"),
			    "args");
	assert_int_equal(json_object_size(margs), 0);
	assert_null(json_object_get(json_object_get(json_object_get(min, "runDetails"), "metadata"),
				    "buildkit_metadata"));
	assert_string_equal(
	    str_at(max, "buildDefinition.externalParameters.request.args.build-arg:TOKEN"),
	    "s3cret");
	assert_string_equal(str_at(max, "runDetails.builder.id"), "https://ci.example/run/1");
	assert_string_equal(str_at(max, "runDetails.metadata.invocationId"), "0123");
	assert_string_equal(str_at(max, "runDetails.metadata.startedOn"), "2023-11-14T22:13:20Z");
	assert_string_equal(str_at(max, "runDetails.metadata.finishedOn"), "2023-11-14T22:14:20Z");
	/* the base once (added twice), then the Dockerfile */
	json_t *deps =
	    json_object_get(json_object_get(max, "buildDefinition"), "resolvedDependencies");
	assert_int_equal(json_array_size(deps), 2);
	assert_string_equal(str_at(json_array_get(deps, 1), "uri"), "file:Dockerfile");
	json_t *info = json_array_get(
	    json_object_get(
		json_object_get(
		    json_object_get(json_object_get(json_object_get(max, "runDetails"), "metadata"),
				    "buildkit_metadata"),
		    "source"),
		"infos"),
	    0);
	assert_string_equal(str_at(info, "data"), "RlJPTSBhbHBpbmUK");
	json_decref(min);
	json_decref(max);
	st_attest_build_release(&b);
}

static void attest_values_parse_as_buildx(void **state)
{
	struct st_attest_opts o = { 0 };
	st_autofree char *warning = NULL;
	struct st_error *err = NULL;
	char a[] = "type=sbom,generator=docker/scanner";
	assert_int_equal(st_attest_parse(a, &o, &warning, &err), 0);
	assert_true(o.sbom);
	assert_non_null(strstr(warning, "'docker/scanner' is not run"));
	char b[] = "type=provenance,mode=max,builder-id=https://b";
	assert_int_equal(st_attest_parse(b, &o, NULL, &err), 0);
	assert_int_equal(o.provenance, ST_ATTEST_PROVENANCE_MAX);
	assert_string_equal(o.builder_id, "https://b");
	char c[] = "false";
	assert_int_equal(st_attest_parse_provenance(c, &o, &err), 0);
	assert_int_equal(o.provenance, ST_ATTEST_PROVENANCE_NONE);
	char d[] = "max";
	assert_int_equal(st_attest_parse_provenance(d, &o, &err), 0);
	assert_int_equal(o.provenance, ST_ATTEST_PROVENANCE_MAX);
	char e[] = "type=sbom,disabled=true";
	assert_int_equal(st_attest_parse(e, &o, NULL, &err), 0);
	assert_false(o.sbom);
	char f[] = "type=provenance,mode=mid";
	assert_int_equal(st_attest_parse(f, &o, NULL, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	assert_non_null(strstr(err->msg, "mode='mid': expected min or max"));
	st_error_free(err);
	err = NULL;
	char g[] = "mode=max";
	assert_int_equal(st_attest_parse(g, &o, NULL, &err), -1);
	assert_non_null(strstr(err->msg, "no type="));
	st_error_free(err);
}

static void purl_of_an_image(void **state)
{
	struct st_image_ref *ref = NULL;
	struct st_error *err = NULL;
	struct st_platform p;
	st_platform_parse("linux/arm/v7", &p, NULL);
	assert_int_equal(st_image_ref_parse("localhost:5000/team/app:1.2", &ref, &err), 0);
	st_autofree char *a = st_attest_purl(ref, &p);
	assert_string_equal(a, "pkg:docker/localhost:5000/team/app@1.2?platform=linux%2Farm%2Fv7");
	st_image_ref_free(ref);
	assert_int_equal(st_image_ref_parse("alpine", &ref, &err), 0);
	st_autofree char *b = st_attest_purl(ref, NULL);
	assert_string_equal(b, "pkg:docker/alpine@latest");
	st_image_ref_free(ref);
}

static void attestations_found_by_subject(void **state)
{
	static const char index[] =
	    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
	    "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"digest\":\"sha256:"
	    "1111111111111111111111111111111111111111111111111111111111111111\","
	    "\"size\":1,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
	    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"digest\":\"sha256:"
	    "2222222222222222222222222222222222222222222222222222222222222222\","
	    "\"size\":1,\"annotations\":{\"vnd.docker.reference.digest\":"
	    "\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
	    "\"vnd.docker.reference.type\":\"attestation-manifest\"},"
	    "\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}}]}";
	char **v = NULL;
	size_t n = 0;
	struct st_error *err = NULL;
	assert_int_equal(
	    st_attest_for(index, strlen(index),
			  "sha256:1111111111111111111111111111111111111111111111111111111111111111",
			  &v, &n, &err),
	    0);
	assert_int_equal(n, 1);
	assert_string_equal(
	    v[0], "sha256:2222222222222222222222222222222222222222222222222222222222222222");
	st_strv_free(v, n);
	assert_int_equal(
	    st_attest_for(index, strlen(index),
			  "sha256:3333333333333333333333333333333333333333333333333333333333333333",
			  &v, &n, &err),
	    0);
	assert_int_equal(n, 0);
	st_strv_free(v, n);
	assert_int_equal(st_attest_for("{}", 2, NULL, &v, &n, &err), -1);
	st_error_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(statement_names_subject_by_digest),
		cmocka_unit_test(provenance_min_leaves_out_args_and_source),
		cmocka_unit_test(attest_values_parse_as_buildx),
		cmocka_unit_test(purl_of_an_image),
		cmocka_unit_test(attestations_found_by_subject),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
