/* tests.h: the groups of the image test binary, one per source file. */
#ifndef ST_TEST_IMAGE_TESTS_H
#define ST_TEST_IMAGE_TESTS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

int test_ref_group(void);
int test_platform_group(void);
int test_manifest_group(void);
int test_config_group(void);

#endif
