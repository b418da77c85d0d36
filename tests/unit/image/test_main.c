#include "tests.h"

int main(void)
{
	int failed = 0;
	failed += test_ref_group();
	failed += test_platform_group();
	failed += test_manifest_group();
	failed += test_config_group();
	return failed ? 1 : 0;
}
