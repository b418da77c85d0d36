/* helpers.h: memory sinks/sources, temp dirs and tar building for the layer tests. */
#ifndef ST_TEST_LAYER_HELPERS_H
#define ST_TEST_LAYER_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer/layer.h"
#include "util/buf.h"
#include "util/fs.h"

#define UNUSED __attribute__((unused))

static UNUSED int buf_sink_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	st_buf_add(ctx, p, n);
	return 0;
}

static UNUSED struct st_layer_sink buf_sink(struct st_buf *b)
{
	return (struct st_layer_sink){ buf_sink_write, b };
}

/* A source over memory that hands out at most 'chunk' bytes a call (to test short reads). */
struct mem_src {
	const char *p;
	size_t len, pos, chunk;
};

static UNUSED ssize_t mem_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	struct mem_src *m = ctx;
	size_t k = m->len - m->pos;
	if (k > n)
		k = n;
	if (m->chunk && k > m->chunk)
		k = m->chunk;
	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	return (ssize_t)k;
}

static UNUSED struct st_layer_source mem_source(struct mem_src *m, const void *p, size_t len,
						size_t chunk)
{
	*m = (struct mem_src){ p, len, 0, chunk };
	return (struct st_layer_source){ mem_read, m };
}

static UNUSED char *tmpdir_new(void)
{
	char *t = st_xstrdup("/tmp/st-layer-test.XXXXXX");
	assert_non_null(mkdtemp(t));
	return t;
}

static UNUSED void tmpdir_free(char *t)
{
	struct st_error *err = NULL;
	assert_int_equal(st_rm_rf(t, &err), 0);
	free(t);
}

static UNUSED void write_file(const char *dir, const char *rel, const char *content, mode_t mode)
{
	char *p = st_path_join(dir, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

/*
 * In 't': dir/ (0750, 1000:1001), dir/file (setuid, an xattr), dir/hard (a hardlink to it),
 * dir/link (a symlink to 'link_target'), a fifo and /dev/null's twin.
 */
static UNUSED void make_sample_tree(const char *t, const char *link_target)
{
	char *p = st_path_join(t, "dir");
	assert_int_equal(mkdir(p, 0750), 0);
	assert_int_equal(chown(p, 1000, 1001), 0);
	free(p);
	write_file(t, "dir/file", "hello", 0755);
	p = st_path_join(t, "dir/file");
	assert_int_equal(chmod(p, 04755), 0);
	assert_int_equal(setxattr(p, "user.test", "value", 5, 0), 0);
	char *q = st_path_join(t, "dir/hard");
	assert_int_equal(link(p, q), 0);
	free(q);
	free(p);
	p = st_path_join(t, "dir/link");
	assert_int_equal(symlink(link_target, p), 0);
	free(p);
	p = st_path_join(t, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	free(p);
	p = st_path_join(t, "null");
	assert_int_equal(mknod(p, S_IFCHR | 0666, makedev(1, 3)), 0);
	free(p);
}

static UNUSED char *read_file(const char *dir, const char *rel)
{
	char *p = st_path_join(dir, rel);
	struct st_buf b = ST_BUF_INIT;
	struct st_error *err = NULL;
	int r = st_read_file(p, &b, &err);
	free(p);
	if (r < 0) {
		st_error_free(err);
		return NULL;
	}
	return st_buf_detach(&b, NULL);
}

static UNUSED la_ssize_t tar_buf_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	st_buf_add(ctx, p, n);
	return (la_ssize_t)n;
}

/* One entry of a hand-made tar: type 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'c' char 0/0. */
struct tspec {
	char type;
	const char *path;
	const char *data; /* file content, or link target */
};

static UNUSED void make_tar(struct st_buf *out, const struct tspec *s, size_t n)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, 0);
	assert_int_equal(archive_write_open2(a, out, NULL, tar_buf_write, NULL, NULL), ARCHIVE_OK);
	struct archive_entry *e = archive_entry_new();
	for (size_t i = 0; i < n; i++) {
		archive_entry_clear(e);
		archive_entry_set_pathname(e, s[i].path);
		archive_entry_set_mtime(e, 1000, 0);
		size_t len = 0;
		switch (s[i].type) {
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			len = strlen(s[i].data);
			archive_entry_set_size(e, (la_int64_t)len);
			break;
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0755);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_perm(e, 0777);
			archive_entry_set_symlink(e, s[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
			archive_entry_set_hardlink(e, s[i].data);
			archive_entry_set_size(e, 0);
			break;
		case 'c':
			archive_entry_set_filetype(e, AE_IFCHR);
			archive_entry_set_perm(e, 0);
			archive_entry_set_rdev(e, 0);
			break;
		}
		assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
		if (len)
			assert_int_equal(archive_write_data(a, s[i].data, len), (la_ssize_t)len);
	}
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* Extract a tar held in memory. */
static UNUSED int extract_buf(const struct st_buf *tar, const char *root,
			      enum st_layer_extract_mode mode, enum st_layer_extract_flags flags,
			      struct st_error **err)
{
	struct mem_src m;
	struct st_layer_extract_opts o = { .mode = mode, .flags = flags };
	return st_layer_extract(mem_source(&m, tar->data, tar->len, 0), root, &o, NULL, err);
}

const struct CMUnitTest *codec_tests(size_t *n);
const struct CMUnitTest *writer_tests(size_t *n);
const struct CMUnitTest *extract_tests(size_t *n);

#endif
