/* tests.h: the groups of the dockerfile test binary. */
#ifndef ST_TESTS_DOCKERFILE_H
#define ST_TESTS_DOCKERFILE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

int run_parse_tests(void);
int run_lex_tests(void);
int run_plan_tests(void);
int run_ignore_tests(void);
int run_diag_tests(void);

#endif
