/*
 * fuzz_manifest.c: manifest, index and config parsing. Whatever parses must serialize, and
 * the serialized form must parse again and serialize to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

static void check_manifest(const uint8_t *data, size_t size)
{
	struct st_image_manifest *m = NULL, *m2 = NULL;
	struct st_error *err = NULL;
	if (st_image_manifest_parse(data, size, &m, &err) < 0) {
		st_error_free(err);
		return;
	}
	struct st_buf a = ST_BUF_INIT, b = ST_BUF_INIT;
	st_image_manifest_serialize(m, &a);
	if (st_image_manifest_parse(a.data, a.len, &m2, &err) < 0)
		abort();
	st_image_manifest_serialize(m2, &b);
	if (strcmp(a.data, b.data) != 0)
		abort();
	st_buf_release(&a);
	st_buf_release(&b);
	st_image_manifest_free(m);
	st_image_manifest_free(m2);
}

static void check_index(const uint8_t *data, size_t size)
{
	struct st_image_index *x = NULL, *x2 = NULL;
	struct st_error *err = NULL;
	struct st_platform p;
	if (st_image_index_parse(data, size, &x, &err) < 0) {
		st_error_free(err);
		return;
	}
	st_platform_host(&p);
	(void)st_image_index_select(x, &p, &err);
	st_error_clear(&err);
	struct st_buf a = ST_BUF_INIT, b = ST_BUF_INIT;
	st_image_index_serialize(x, &a);
	if (st_image_index_parse(a.data, a.len, &x2, &err) < 0)
		abort();
	st_image_index_serialize(x2, &b);
	if (strcmp(a.data, b.data) != 0)
		abort();
	st_buf_release(&a);
	st_buf_release(&b);
	st_image_index_free(x);
	st_image_index_free(x2);
}

static void check_config(const uint8_t *data, size_t size)
{
	struct st_image_config *c = NULL, *c2 = NULL;
	struct st_error *err = NULL;
	if (st_image_config_parse(data, size, &c, &err) < 0) {
		st_error_free(err);
		return;
	}
	struct st_buf a = ST_BUF_INIT, b = ST_BUF_INIT;
	st_image_config_env_set(c, "FUZZ", "1");
	(void)st_image_config_env_get(c, "PATH");
	st_image_config_serialize(c, &a);
	if (st_image_config_parse(a.data, a.len, &c2, &err) < 0)
		abort();
	st_image_config_serialize(c2, &b);
	if (strcmp(a.data, b.data) != 0)
		abort();
	struct st_image_inspect_info info = { .id = "sha256:x" };
	json_decref(st_image_config_inspect(c2, &info));
	st_image_config_free(st_image_config_dup(c2));
	st_buf_release(&a);
	st_buf_release(&b);
	st_image_config_free(c);
	st_image_config_free(c2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)st_image_detect(data, size);
	check_manifest(data, size);
	check_index(data, size);
	check_config(data, size);
	return 0;
}
