#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "digest/digest.h"

static void digest_of_empty_is_known(void **state)
{
	struct st_digest d;
	st_digest_of("", 0, &d);
	assert_string_equal(
	    d.str, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_string_equal(st_digest_hex(&d),
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void streaming_equals_one_shot(void **state)
{
	struct st_digest a, b;
	struct st_hasher h;
	st_hasher_init(&h);
	st_hasher_update(&h, "hello ", 6);
	st_hasher_update(&h, "world", 5);
	st_hasher_final(&h, &a);
	st_digest_of("hello world", 11, &b);
	assert_true(st_digest_equal(&a, &b));
}

static void parse_rejects_bad_digests(void **state)
{
	struct st_digest d;
	struct st_error *err = NULL;
	const char *bad[] = {
		"",
		"sha256:",
		"sha256:abc",
		"md5:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(st_digest_parse(bad[i], &d, &err), -1);
		assert_int_equal(err->kind, ST_E_INVALID);
		st_error_clear(&err);
	}
	assert_int_equal(
	    st_digest_parse(
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", &d,
		&err),
	    0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(digest_of_empty_is_known),
		cmocka_unit_test(streaming_equals_one_shot),
		cmocka_unit_test(parse_rejects_bad_digests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
