#include "tests.h"

int main(void)
{
	int failed = 0;
	failed += run_parse_tests();
	failed += run_lex_tests();
	failed += run_plan_tests();
	failed += run_ignore_tests();
	failed += run_diag_tests();
	return failed ? 1 : 0;
}
