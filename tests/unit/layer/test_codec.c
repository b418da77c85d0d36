#include "helpers.h"

#include "digest/digest.h"

/* Semi-compressible bytes: text-like runs with a pseudo-random walk. */
static void fill_data(struct st_buf *b, size_t n)
{
	uint32_t x = 12345;
	st_buf_grow(b, n);
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		b->data[i] = (char)('a' + ((x >> 16) % 16));
	}
	st_buf_setlen(b, n);
}

static void compress_buf(enum st_layer_comp c, const void *p, size_t n, struct st_buf *out)
{
	struct st_error *err = NULL;
	struct st_layer_compressor *z = st_layer_compressor_new(c, 0, buf_sink(out), &err);
	assert_non_null(z);
	/* Uneven writes, to cross buffer boundaries. */
	size_t off = 0, step = 7777;
	while (off < n) {
		size_t k = n - off < step ? n - off : step;
		assert_int_equal(st_layer_compressor_write(z, (const char *)p + off, k, &err), 0);
		off += k;
		step = step * 3 % 900001 + 1;
	}
	assert_int_equal(st_layer_compressor_finish(z, &err), 0);
	st_layer_compressor_free(z);
}

static int decompress_buf(enum st_layer_comp c, const void *p, size_t n, struct st_buf *out,
			  struct st_error **err)
{
	struct st_layer_decompressor *d = st_layer_decompressor_new(c, buf_sink(out), err);
	assert_non_null(d);
	int r = 0;
	for (size_t off = 0; off < n && r == 0; off += 65536)
		r = st_layer_decompressor_write(d, (const char *)p + off,
						n - off < 65536 ? n - off : 65536, err);
	if (r == 0)
		r = st_layer_decompressor_finish(d, err);
	st_layer_decompressor_free(d);
	return r;
}

static void roundtrip(enum st_layer_comp c)
{
	struct st_buf data = ST_BUF_INIT, z = ST_BUF_INIT, back = ST_BUF_INIT;
	struct st_error *err = NULL;
	fill_data(&data, 3 * 1024 * 1024 + 17);
	compress_buf(c, data.data, data.len, &z);
	assert_int_equal(st_layer_comp_detect(z.data, z.len), c);
	if (c != ST_LAYER_COMP_NONE)
		assert_true(z.len < data.len);
	assert_int_equal(decompress_buf(c, z.data, z.len, &back, &err), 0);
	assert_int_equal(back.len, data.len);
	assert_memory_equal(back.data, data.data, data.len);
	st_buf_release(&data);
	st_buf_release(&z);
	st_buf_release(&back);
}

static void codec_roundtrip_none(void **state)
{
	roundtrip(ST_LAYER_COMP_NONE);
}

static void codec_roundtrip_gzip(void **state)
{
	roundtrip(ST_LAYER_COMP_GZIP);
}

static void codec_roundtrip_zstd(void **state)
{
	roundtrip(ST_LAYER_COMP_ZSTD);
}

/* Compress 'data' with 'c' at 'level' into *out. */
static void compress_level(enum st_layer_comp c, int level, const struct st_buf *data,
			   struct st_buf *out)
{
	struct st_error *err = NULL;
	struct st_layer_compressor *z = st_layer_compressor_new(c, level, buf_sink(out), &err);
	assert_non_null(z);
	assert_int_equal(st_layer_compressor_write(z, data->data, data->len, &err), 0);
	assert_int_equal(st_layer_compressor_finish(z, &err), 0);
	st_layer_compressor_free(z);
}

static void codec_levels(void **state)
{
	(void)state;
	struct st_buf data = ST_BUF_INIT;
	struct st_error *err = NULL;
	fill_data(&data, 2 * 1024 * 1024);
	/* Every gzip level isa-l has, and zstd's fastest and a slow one, round-trip. */
	const struct {
		enum st_layer_comp c;
		int level;
	} cases[] = { { ST_LAYER_COMP_GZIP, 1 },
		      { ST_LAYER_COMP_GZIP, 2 },
		      { ST_LAYER_COMP_GZIP, 3 },
		      { ST_LAYER_COMP_ZSTD, 1 },
		      { ST_LAYER_COMP_ZSTD, 19 } };
	size_t sizes[5];
	for (size_t i = 0; i < 5; i++) {
		struct st_buf z = ST_BUF_INIT, back = ST_BUF_INIT;
		compress_level(cases[i].c, cases[i].level, &data, &z);
		assert_int_equal(decompress_buf(cases[i].c, z.data, z.len, &back, &err), 0);
		assert_int_equal(back.len, data.len);
		assert_memory_equal(back.data, data.data, data.len);
		sizes[i] = z.len;
		st_buf_release(&z);
		st_buf_release(&back);
	}
	assert_true(sizes[4] < sizes[3]);
	/* Out of the codec's range: refused, naming the level. */
	struct st_buf sink = ST_BUF_INIT;
	assert_null(st_layer_compressor_new(ST_LAYER_COMP_GZIP, 4, buf_sink(&sink), &err));
	assert_int_equal(err->kind, ST_E_INVALID);
	assert_string_equal(err->msg, "gzip level 4 out of range 1..3");
	st_error_clear(&err);
	assert_null(st_layer_compressor_new(ST_LAYER_COMP_ZSTD, 200, buf_sink(&sink), &err));
	assert_int_equal(err->kind, ST_E_INVALID);
	st_error_clear(&err);
	st_buf_release(&data);
}

static void codec_empty_input(void **state)
{
	for (int c = ST_LAYER_COMP_NONE; c <= ST_LAYER_COMP_ZSTD; c++) {
		struct st_buf z = ST_BUF_INIT, back = ST_BUF_INIT;
		struct st_error *err = NULL;
		compress_buf((enum st_layer_comp)c, "", 0, &z);
		assert_int_equal(decompress_buf((enum st_layer_comp)c, z.data, z.len, &back, &err),
				 0);
		assert_int_equal(back.len, 0);
		st_buf_release(&z);
		st_buf_release(&back);
	}
}

static void codec_multi_member(void **state)
{
	for (int c = ST_LAYER_COMP_GZIP; c <= ST_LAYER_COMP_ZSTD; c++) {
		struct st_buf z = ST_BUF_INIT, back = ST_BUF_INIT;
		struct st_error *err = NULL;
		compress_buf((enum st_layer_comp)c, "hello ", 6, &z);
		compress_buf((enum st_layer_comp)c, "", 0, &z);
		compress_buf((enum st_layer_comp)c, "world", 5, &z);
		assert_int_equal(decompress_buf((enum st_layer_comp)c, z.data, z.len, &back, &err),
				 0);
		assert_string_equal(back.data, "hello world");
		st_buf_release(&z);
		st_buf_release(&back);
	}
}

static void codec_truncated_and_corrupt(void **state)
{
	for (int c = ST_LAYER_COMP_GZIP; c <= ST_LAYER_COMP_ZSTD; c++) {
		struct st_buf data = ST_BUF_INIT, z = ST_BUF_INIT, back = ST_BUF_INIT;
		struct st_error *err = NULL;
		fill_data(&data, 100000);
		compress_buf((enum st_layer_comp)c, data.data, data.len, &z);
		assert_int_equal(
		    decompress_buf((enum st_layer_comp)c, z.data, z.len - 5, &back, &err), -1);
		assert_int_equal(err->kind, ST_E_PARSE);
		st_error_clear(&err);
		st_buf_reset(&back);
		z.data[z.len - 6] ^= 0x55; /* inside the checksum trailer */
		assert_int_equal(decompress_buf((enum st_layer_comp)c, z.data, z.len, &back, &err),
				 -1);
		assert_int_equal(err->kind, ST_E_PARSE);
		st_error_clear(&err);
		st_buf_release(&data);
		st_buf_release(&z);
		st_buf_release(&back);
	}
}

static void codec_detect_and_media_types(void **state)
{
	assert_int_equal(st_layer_comp_detect("\x1f\x8b\x08", 3), ST_LAYER_COMP_GZIP);
	assert_int_equal(st_layer_comp_detect("\x28\xb5\x2f\xfd", 4), ST_LAYER_COMP_ZSTD);
	assert_int_equal(st_layer_comp_detect("BZh9", 4), ST_LAYER_COMP_BZIP2);
	assert_int_equal(st_layer_comp_detect("\xfd"
					      "7zXZ\0",
					      6),
			 ST_LAYER_COMP_XZ);
	assert_int_equal(st_layer_comp_detect("etc/", 4), ST_LAYER_COMP_NONE);
	assert_int_equal(st_layer_comp_detect("\x1f", 1), ST_LAYER_COMP_NONE);

	enum st_layer_comp c;
	assert_true(st_layer_media_type_comp("application/vnd.oci.image.layer.v1.tar+zstd", &c));
	assert_int_equal(c, ST_LAYER_COMP_ZSTD);
	assert_true(
	    st_layer_media_type_comp("application/vnd.docker.image.rootfs.diff.tar.gzip", &c));
	assert_int_equal(c, ST_LAYER_COMP_GZIP);
	assert_true(st_layer_media_type_comp("application/vnd.oci.image.layer.v1.tar", &c));
	assert_int_equal(c, ST_LAYER_COMP_NONE);
	assert_false(st_layer_media_type_comp("application/vnd.oci.image.config.v1+json", &c));
	assert_string_equal(st_layer_media_type(ST_LAYER_COMP_GZIP, false),
			    "application/vnd.oci.image.layer.v1.tar+gzip");
	assert_string_equal(st_layer_media_type(ST_LAYER_COMP_GZIP, true),
			    "application/vnd.docker.image.rootfs.diff.tar.gzip");
	assert_null(st_layer_media_type(ST_LAYER_COMP_XZ, false));

	struct st_error *err = NULL;
	assert_int_equal(st_layer_comp_parse("zstd", &c, &err), 0);
	assert_int_equal(c, ST_LAYER_COMP_ZSTD);
	assert_int_equal(st_layer_comp_parse("lz4", &c, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	assert_string_equal(err->msg, "unknown compression 'lz4'");
	st_error_free(err);
}

/*
 * A layer of several buffers is hashed on a thread of its own while it is read: the diff_id
 * must still be the digest of every byte, in order, whatever the compression and however
 * short the source's reads; a reader dropped half-way must not wait for nor leak the thread.
 */
static void reader_hashes_big_layers(void **state)
{
	(void)state;
	struct st_buf data = ST_BUF_INIT;
	fill_data(&data, 300 * 1024);
	char *names[24];
	struct tspec spec[24];
	for (size_t i = 0; i < 24; i++) {
		names[i] = st_xasprintf("d/f%zu", i);
		/* the contents differ in length so entries straddle buffer ends */
		data.data[data.len - i - 1] = '\0';
		spec[i] = (struct tspec){ 'f', names[i], data.data + i * 997 };
	}
	struct st_buf tar = ST_BUF_INIT;
	make_tar(&tar, spec, 24);
	struct st_digest want;
	st_digest_of(tar.data, tar.len, &want);
	const size_t chunks[] = { 0, 65537, 3000 };
	for (int c = ST_LAYER_COMP_NONE; c <= ST_LAYER_COMP_ZSTD; c++) {
		struct st_buf z = ST_BUF_INIT;
		if (c == ST_LAYER_COMP_NONE)
			st_buf_add(&z, tar.data, tar.len);
		else
			compress_buf((enum st_layer_comp)c, tar.data, tar.len, &z);
		for (size_t k = 0; k < sizeof(chunks) / sizeof(*chunks); k++) {
			for (int whole = 0; whole < 2; whole++) {
				struct mem_src m;
				struct st_error *err = NULL;
				struct st_layer_reader *r = st_layer_reader_new(
				    mem_source(&m, z.data, z.len, chunks[k]), &err);
				assert_non_null(r);
				struct st_layer_entry e;
				char buf[4096];
				size_t seen = 0;
				while (st_layer_reader_next(r, &e, &err) == 1) {
					seen++;
					while (st_layer_reader_read(r, buf, sizeof(buf), &err) > 0)
						;
					if (!whole && seen == 12)
						break;
				}
				if (whole) {
					assert_int_equal(seen, 24);
					struct st_digest d;
					uint64_t size = 0;
					assert_int_equal(
					    st_layer_reader_diff_id(r, &d, &size, &err), 0);
					assert_string_equal(d.str, want.str);
					assert_int_equal(size, tar.len);
				}
				st_layer_reader_free(r);
			}
		}
		st_buf_release(&z);
	}
	for (size_t i = 0; i < 24; i++)
		free(names[i]);
	st_buf_release(&tar);
	st_buf_release(&data);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(reader_hashes_big_layers),
	cmocka_unit_test(codec_roundtrip_none),
	cmocka_unit_test(codec_roundtrip_gzip),
	cmocka_unit_test(codec_roundtrip_zstd),
	cmocka_unit_test(codec_levels),
	cmocka_unit_test(codec_empty_input),
	cmocka_unit_test(codec_multi_member),
	cmocka_unit_test(codec_truncated_and_corrupt),
	cmocka_unit_test(codec_detect_and_media_types),
};

const struct CMUnitTest *codec_tests(size_t *n)
{
	*n = sizeof(tests) / sizeof(*tests);
	return tests;
}
