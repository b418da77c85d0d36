/* One binary for the layer module: codecs, writer, reader and extraction. */
#include "helpers.h"

int main(void)
{
	int failed = 0;
	size_t n;
	const struct CMUnitTest *t;
	t = codec_tests(&n);
	failed += _cmocka_run_group_tests("layer/codec", t, n, NULL, NULL);
	t = writer_tests(&n);
	failed += _cmocka_run_group_tests("layer/writer", t, n, NULL, NULL);
	t = extract_tests(&n);
	failed += _cmocka_run_group_tests("layer/extract", t, n, NULL, NULL);
	return failed ? 1 : 0;
}
