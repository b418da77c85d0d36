/* Reference parsing: cases from distribution/reference normalize_test.go and reference_test.go. */
#include "tests.h"

#include <string.h>

#include "image/image.h"
#include "util/cleanup.h"

#define H64 "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"
#define D64 "sha256:" H64

struct ref_case {
	const char *in;
	const char *full;     /* NULL: must fail */
	const char *familiar; /* familiar string */
	const char *domain;
	const char *path;
	const char *err; /* substring of the message when failing */
};

static const struct ref_case cases[] = {
	{ "busybox", "docker.io/library/busybox:latest", "busybox:latest", "docker.io",
	  "library/busybox" },
	{ "docker/docker", "docker.io/docker/docker:latest", "docker/docker:latest", "docker.io",
	  "docker/docker" },
	{ "library/debian", "docker.io/library/debian:latest", "debian:latest", "docker.io",
	  "library/debian" },
	{ "debian:12", "docker.io/library/debian:12", "debian:12", "docker.io", "library/debian" },
	{ "docker.io/docker/docker", "docker.io/docker/docker:latest", "docker/docker:latest",
	  "docker.io", "docker/docker" },
	{ "docker.io/library/debian", "docker.io/library/debian:latest", "debian:latest",
	  "docker.io", "library/debian" },
	{ "docker.io/debian", "docker.io/library/debian:latest", "debian:latest", "docker.io",
	  "library/debian" },
	{ "index.docker.io/docker/docker", "docker.io/docker/docker:latest", "docker/docker:latest",
	  "docker.io", "docker/docker" },
	{ "index.docker.io/library/debian", "docker.io/library/debian:latest", "debian:latest",
	  "docker.io", "library/debian" },
	{ "index.docker.io/debian", "docker.io/library/debian:latest", "debian:latest", "docker.io",
	  "library/debian" },
	{ "127.0.0.1:5000/docker/docker", "127.0.0.1:5000/docker/docker:latest",
	  "127.0.0.1:5000/docker/docker:latest", "127.0.0.1:5000", "docker/docker" },
	{ "127.0.0.1:5000/library/debian", "127.0.0.1:5000/library/debian:latest",
	  "127.0.0.1:5000/library/debian:latest", "127.0.0.1:5000", "library/debian" },
	{ "127.0.0.1:5000/debian", "127.0.0.1:5000/debian:latest", "127.0.0.1:5000/debian:latest",
	  "127.0.0.1:5000", "debian" },
	{ "192.168.0.1", "docker.io/library/192.168.0.1:latest", "192.168.0.1:latest", "docker.io",
	  "library/192.168.0.1" },
	{ "192.168.0.1:80", "docker.io/library/192.168.0.1:80", "192.168.0.1:80", "docker.io",
	  "library/192.168.0.1" },
	{ "192.168.0.1:8/debian", "192.168.0.1:8/debian:latest", "192.168.0.1:8/debian:latest",
	  "192.168.0.1:8", "debian" },
	{ "192.168.0.2:25000/debian", "192.168.0.2:25000/debian:latest",
	  "192.168.0.2:25000/debian:latest", "192.168.0.2:25000", "debian" },
	{ "localhost/foo", "localhost/foo:latest", "localhost/foo:latest", "localhost", "foo" },
	{ "localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest",
	  "localhost:5000", "x" },
	{ "localhost:5000/x:1.0", "localhost:5000/x:1.0", "localhost:5000/x:1.0", "localhost:5000",
	  "x" },
	{ "my.reg:443/a/b:t", "my.reg:443/a/b:t", "my.reg:443/a/b:t", "my.reg:443", "a/b" },
	{ "xn--n3h.com/myimage", "xn--n3h.com/myimage:latest", "xn--n3h.com/myimage:latest",
	  "xn--n3h.com", "myimage" },
	{ "example.com/xn--7o8h.com/myimage", "example.com/xn--7o8h.com/myimage:latest",
	  "example.com/xn--7o8h.com/myimage:latest", "example.com", "xn--7o8h.com/myimage" },
	{ "example.com/some_separator__underscore/myimage",
	  "example.com/some_separator__underscore/myimage:latest", NULL, "example.com",
	  "some_separator__underscore/myimage" },
	{ "example.com/a--b---c/img", "example.com/a--b---c/img:latest", NULL, "example.com",
	  "a--b---c/img" },
	{ "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
	  "docker.io/library/"
	  "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest",
	  NULL, "docker.io",
	  "library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev" },
	{ "docker.io/" H64, "docker.io/library/" H64 ":latest", H64 ":latest", "docker.io",
	  "library/" H64 },
	{ "foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080", "foo/foo_bar.com:8080",
	  "docker.io", "foo/foo_bar.com" },
	{ "busybox@" D64, "docker.io/library/busybox@" D64, "busybox@" D64, "docker.io",
	  "library/busybox" },
	{ "busybox:1.36@" D64, "docker.io/library/busybox:1.36@" D64, "busybox:1.36@" D64,
	  "docker.io", "library/busybox" },
	{ "[::1]:5000/foo", "[::1]:5000/foo:latest", NULL, "[::1]:5000", "foo" },
	{ "[2001:db8::1]/foo:bar", "[2001:db8::1]/foo:bar", NULL, "[2001:db8::1]", "foo" },
	{ "Foo.com/bar", "Foo.com/bar:latest", NULL, "Foo.com", "bar" },
	{ "Uppercase/lowercase:tag", "Uppercase/lowercase:tag", NULL, "Uppercase", "lowercase" },
	{ "busybox:Tag_1.x-y", "docker.io/library/busybox:Tag_1.x-y", NULL, "docker.io",
	  "library/busybox" },
	{ "a/b/c/d/e", "docker.io/a/b/c/d/e:latest", "a/b/c/d/e:latest", "docker.io", "a/b/c/d/e" },
	{ "library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest", "docker.io",
	  "library/a/b" },
	/* invalid */
	{ "", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "https://github.com/docker/docker", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "docker/Docker", NULL, NULL, NULL, NULL,
	  "repository name (docker/Docker) must be lowercase" },
	{ "Busybox", NULL, NULL, NULL, NULL,
	  "invalid reference format: repository name (library/Busybox) must be lowercase" },
	{ "docker.io/docker/Docker", NULL, NULL, NULL, NULL, "must be lowercase" },
	{ "-docker", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "-docker/docker", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "-docker.io/docker/docker", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "docker///docker", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "docker.io/docker///docker", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ H64, NULL, NULL, NULL, NULL, "cannot specify 64-byte hexadecimal strings" },
	{ "example.com/__underscore/myimage", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "example.com/..dots/myimage", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "example.com/.dots/myimage", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "example.com/nodouble..dots/myimage", NULL, NULL, NULL, NULL,
	  "invalid reference format" },
	{ "example.com/trailing-/myimage", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "example.com/a___b/x", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "busybox:", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "busybox:-tag", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "busybox:.tag", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "busybox:a/b", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "busybox@sha256:abc", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "busybox@sha256:" H64 "00", NULL, NULL, NULL, NULL, "invalid checksum digest length" },
	{ "busybox@sha512:" H64 H64, NULL, NULL, NULL, NULL, "unsupported digest algorithm" },
	{ "busybox@" H64, NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "a:b:c", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "a b", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "localhost:abc/x", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "[::1/foo", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "foo/", NULL, NULL, NULL, NULL, "invalid reference format" },
	{ "/foo", NULL, NULL, NULL, NULL, "invalid reference format" },
};

static void ref_table(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct ref_case *c = &cases[i];
		struct st_image_ref *r = NULL;
		struct st_error *err = NULL;
		int rc = st_image_ref_parse(c->in, &r, &err);
		if (!c->full) {
			if (rc == 0)
				fail_msg("'%s' parsed but must fail", c->in);
			assert_int_equal(err->kind, ST_E_PARSE);
			if (!strstr(err->msg, c->err))
				fail_msg("'%s': message '%s' lacks '%s'", c->in, err->msg, c->err);
			st_error_free(err);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s' failed: %s", c->in, err->msg);
		st_autofree char *full = st_image_ref_string(r);
		st_autofree char *fam = st_image_ref_familiar(r);
		assert_string_equal(full, c->full);
		if (c->familiar)
			assert_string_equal(fam, c->familiar);
		assert_string_equal(st_image_ref_domain(r), c->domain);
		assert_string_equal(st_image_ref_path(r), c->path);
		/* the familiar and the full form parse back to the same reference */
		struct st_image_ref *again = NULL;
		assert_int_equal(st_image_ref_parse(fam, &again, &err), 0);
		st_autofree char *full2 = st_image_ref_string(again);
		assert_string_equal(full2, c->full);
		st_image_ref_free(again);
		st_image_ref_free(r);
	}
}

static void ref_defaults_to_docker_hub(void **state)
{
	st_auto(st_image_ref) struct st_image_ref *r = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_image_ref_parse("alpine", &r, &err), 0);
	assert_string_equal(r->path, "library/alpine");
	assert_string_equal(st_image_ref_tag(r), "latest");
	assert_null(st_image_ref_digest(r));
	st_autofree char *repo = st_image_ref_repository(r);
	st_autofree char *name = st_image_ref_familiar_name(r);
	assert_string_equal(repo, "docker.io/library/alpine");
	assert_string_equal(name, "alpine");
}

static void ref_digest_only_gets_no_tag(void **state)
{
	st_auto(st_image_ref) struct st_image_ref *r = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_image_ref_parse("busybox@" D64, &r, &err), 0);
	assert_null(r->tag);
	assert_string_equal(r->digest, D64);
}

static void ref_flags(void **state)
{
	struct st_image_ref *r = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_image_ref_parse_flags("busybox", ST_IMAGE_REF_NO_DEFAULT_TAG, &r, &err),
			 0);
	assert_null(r->tag);
	st_image_ref_free(r);
	assert_int_equal(st_image_ref_parse_flags("busybox:1", ST_IMAGE_REF_NAME_ONLY, &r, &err),
			 -1);
	assert_int_equal(err->kind, ST_E_PARSE);
	st_error_clear(&err);
}

static void ref_set_tag_and_dup(void **state)
{
	st_auto(st_image_ref) struct st_image_ref *r = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_image_ref_parse("localhost:5000/x", &r, &err), 0);
	assert_int_equal(st_image_ref_set_tag(r, "v2", &err), 0);
	st_auto(st_image_ref) struct st_image_ref *d = st_image_ref_dup(r);
	st_autofree char *s = st_image_ref_familiar(d);
	assert_string_equal(s, "localhost:5000/x:v2");
	assert_int_equal(st_image_ref_set_tag(r, "-bad", &err), -1);
	assert_int_equal(err->kind, ST_E_PARSE);
	st_error_clear(&err);
}

static void ref_name_too_long(void **state)
{
	char name[300];
	struct st_image_ref *r = NULL;
	struct st_error *err = NULL;
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	assert_int_equal(st_image_ref_parse(name, &r, &err), -1);
	assert_non_null(strstr(err->msg, "must not be more than 255 characters"));
	st_error_clear(&err);
}

static void ref_tag_grammar(void **state)
{
	char tag[130];
	assert_true(st_image_ref_tag_valid("latest"));
	assert_true(st_image_ref_tag_valid("_x"));
	assert_false(st_image_ref_tag_valid(""));
	assert_false(st_image_ref_tag_valid(".x"));
	memset(tag, 'a', 128);
	tag[128] = 0;
	assert_true(st_image_ref_tag_valid(tag));
	tag[128] = 'a';
	tag[129] = 0;
	assert_false(st_image_ref_tag_valid(tag));
}

static void ref_is_id(void **state)
{
	assert_true(st_image_ref_is_id("1a3f5e7d9c1b"));
	assert_true(st_image_ref_is_id(H64));
	assert_true(st_image_ref_is_id("sha256:1a3f"));
	assert_true(st_image_ref_is_id(D64));
	assert_false(st_image_ref_is_id("1a3f5e7d9c1"));  /* 11: too short */
	assert_false(st_image_ref_is_id(H64 "0"));	  /* 65 */
	assert_false(st_image_ref_is_id("1A3F5E7D9C1B")); /* upper case */
	assert_false(st_image_ref_is_id("busybox"));
	assert_false(st_image_ref_is_id("sha256:"));
	assert_false(st_image_ref_is_id(NULL));
}

int test_ref_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ref_table),
		cmocka_unit_test(ref_defaults_to_docker_hub),
		cmocka_unit_test(ref_digest_only_gets_no_tag),
		cmocka_unit_test(ref_flags),
		cmocka_unit_test(ref_set_tag_and_dup),
		cmocka_unit_test(ref_name_too_long),
		cmocka_unit_test(ref_tag_grammar),
		cmocka_unit_test(ref_is_id),
	};
	return cmocka_run_group_tests_name("ref", tests, NULL, NULL);
}
