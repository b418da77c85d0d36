/* fuzz_template.c: parse any text as a template and run it on a fixed inspect-like value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template/template.h"

static const char data_json[] =
    "{\"Id\":\"sha256:abc\",\"RepoTags\":[\"busybox:latest\"],\"Size\":42,\"Ratio\":1.5,\"Nil\":"
    "null,"
    "\"Ok\":true,\"Config\":{\"Env\":[\"A=1\"],\"Cmd\":[\"sh\"],\"Labels\":{\"k\":\"v\"}},"
    "\"Mixed\":[\"a\",1,null,{\"k\":[1,2]}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct st_template *t = NULL;
	struct st_error *err = NULL;
	memcpy(s, data, size);
	s[size] = 0;
	if (st_template_parse_flags(s, ST_TEMPLATE_DOCKER, &t, &err) == 0) {
		json_t *v = json_loads(data_json, 0, NULL);
		struct st_buf out = ST_BUF_INIT;
		if (st_template_execute(t, v, &out, &err) < 0)
			st_error_clear(&err);
		st_buf_reset(&out);
		if (st_template_execute(t, NULL, &out, &err) < 0)
			st_error_clear(&err);
		st_buf_release(&out);
		json_decref(v);
		st_template_free(t);
	} else {
		st_error_clear(&err);
	}
	free(s);
	return 0;
}
