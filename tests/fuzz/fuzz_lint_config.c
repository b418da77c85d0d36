/* fuzz_lint_config.c: .strata-lint.yaml and .hadolint.yaml, read with libyaml. */
#include <stddef.h>
#include <stdint.h>

#include "lint/lint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_lint_config cfg;
	struct st_error *err = NULL;
	if (st_lint_config_parse("lint.yaml", (const char *)data, size, &cfg, &err) < 0) {
		st_error_free(err);
		return 0;
	}
	st_lint_config_release(&cfg);
	return 0;
}
