/*
 * fuzz_diveci: arbitrary bytes as a .dive-ci file. The rules either fail to read with an error
 * or are judged on an empty analysis; nothing may crash, hang or leak.
 */
#include <stdint.h>
#include <stdlib.h>

#include "analyze/analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_analyze_rules r;
	struct st_error *err = NULL;
	st_analyze_rules_init(&r);
	(void)st_analyze_rules_parse(&r, data, size, ".dive-ci", &err);
	st_error_free(err);
	for (size_t i = 0; i < ST_ANALYZE_N_RULES; i++) {
		uint64_t v;
		err = NULL;
		if (r.value[i])
			(void)st_analyze_parse_bytes(r.value[i], &v, &err);
		st_error_free(err);
	}
	st_analyze_rules_release(&r);
	return 0;
}
