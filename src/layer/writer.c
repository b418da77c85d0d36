#include "layer/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer/internal.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* (dev, inode) → first entry name, to turn later links into hardlink entries. */
struct inoent {
	dev_t dev;
	ino_t ino;
	char *name; /* NULL: empty slot */
};

struct inomap {
	struct inoent *v;
	size_t cap, len;
};

static size_t ino_hash(dev_t dev, ino_t ino, size_t cap)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;
	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static struct inoent *ino_slot(struct inomap *m, dev_t dev, ino_t ino)
{
	size_t i = ino_hash(dev, ino, m->cap);
	while (m->v[i].name && !(m->v[i].dev == dev && m->v[i].ino == ino))
		i = (i + 1) & (m->cap - 1);
	return &m->v[i];
}

/* The name first seen for (dev, ino), or NULL after recording 'name' for it. */
static const char *ino_seen(struct inomap *m, dev_t dev, ino_t ino, const char *name)
{
	if (m->len * 2 >= m->cap) {
		struct inomap n = { st_xcalloc(m->cap ? m->cap * 2 : 64, sizeof(*n.v)),
				    m->cap ? m->cap * 2 : 64, m->len };
		for (size_t i = 0; i < m->cap; i++)
			if (m->v[i].name)
				*ino_slot(&n, m->v[i].dev, m->v[i].ino) = m->v[i];
		free(m->v);
		*m = n;
	}
	struct inoent *s = ino_slot(m, dev, ino);
	if (s->name)
		return s->name;
	*s = (struct inoent){ dev, ino, st_xstrdup(name) };
	m->len++;
	return NULL;
}

static void ino_release(struct inomap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].name);
	free(m->v);
	*m = (struct inomap){ 0 };
}

/* Smaller pieces (tar headers) cost less to hash than to hand to the hashing thread. */
#define SIDE_HASH_MIN ((size_t)64 << 10)

struct st_layer_writer {
	struct st_layer_writer_opts opts;
	struct st_layer_sink sink;
	struct st_hasher h_diff, h_dig;
	bool hashing;
	/* The diff_id hashed on a second core while this thread compresses or writes the same
	 * bytes: an uncompressed layer then costs the slower of the two passes, not their sum.
	 * Started by the first big piece. */
	struct layer_hash_offload *side;
	bool side_failed;
	uint64_t size, csize;
	struct st_layer_compressor *z;
	struct archive *a;
	struct archive_entry *e;
	unsigned char *stage; /* gathers libarchive's small writes (headers, padding) */
	size_t stage_len;
	unsigned char *io;
	struct inomap inodes;
	bool raw, finished, failed;
	bool discard; /* being freed unfinished: the sink must see nothing more */
	struct st_error *cb_err;
};

static int compressed_out(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct st_layer_writer *w = ctx;
	/* Uncompressed, the digest is the diff_id: hashing twice would halve the speed. */
	if (w->opts.compression != ST_LAYER_COMP_NONE)
		st_hasher_update(&w->h_dig, p, n);
	w->csize += n;
	return w->sink.write(w->sink.ctx, p, n, err);
}

static int pipe_write(struct st_layer_writer *w, const void *p, size_t n, struct st_error **err)
{
	w->size += n;
	if (n >= SIDE_HASH_MIN && !w->side && !w->side_failed) {
		w->side = layer_hash_offload_new(&w->h_diff);
		w->side_failed = !w->side;
	}
	/*
	 * Uncompressed, this thread has nothing of its own to do with the piece while it is
	 * hashed (a write to the page cache, or nothing when only the diff_id is wanted): hashing
	 * a copy lets it read the next piece meanwhile. Every piece then goes this way, in order.
	 */
	if (w->side && w->opts.compression == ST_LAYER_COMP_NONE) {
		layer_hash_offload_submit_copy(w->side, p, n);
		return st_layer_compressor_write(w->z, p, n, err);
	}
	if (n < SIDE_HASH_MIN || !w->side) {
		st_hasher_update(&w->h_diff, p, n);
		return st_layer_compressor_write(w->z, p, n, err);
	}
	layer_hash_offload_submit(w->side, p, n);
	int r = st_layer_compressor_write(w->z, p, n, err);
	/* the caller's buffer is theirs again when this returns */
	layer_hash_offload_wait(w->side, 0);
	return r;
}

static int stage_flush(struct st_layer_writer *w, struct st_error **err)
{
	size_t n = w->stage_len;
	w->stage_len = 0;
	return n ? pipe_write(w, w->stage, n, err) : 0;
}

/* Uncompressed tar bytes from libarchive or a raw passthrough. */
static int tar_out(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct st_layer_writer *w = ctx;
	/* Big writes (file data) go straight through; small ones are batched. */
	if (w->stage_len == 0 && n >= ST_LAYER_BUFSZ / 4)
		return pipe_write(w, p, n, err);
	while (n > 0) {
		size_t k = ST_LAYER_BUFSZ - w->stage_len;
		if (k > n)
			k = n;
		memcpy(w->stage + w->stage_len, p, k);
		w->stage_len += k;
		p = (const char *)p + k;
		n -= k;
		if (w->stage_len == ST_LAYER_BUFSZ && stage_flush(w, err) < 0)
			return -1;
	}
	return 0;
}

static la_ssize_t archive_out(struct archive *a, void *ctx, const void *p, size_t n)
{
	struct st_layer_writer *w = ctx;
	if (w->discard)
		return (la_ssize_t)n;
	if (tar_out(w, p, n, &w->cb_err) < 0) {
		archive_set_error(a, EIO, "%s", w->cb_err->msg);
		return -1;
	}
	return (la_ssize_t)n;
}

struct st_layer_writer *st_layer_writer_new(const struct st_layer_writer_opts *opts,
					    struct st_layer_sink sink, struct st_error **err)
{
	struct st_layer_writer *w = st_xcalloc(1, sizeof(*w));
	if (opts)
		w->opts = *opts;
	w->sink = sink;
	w->z = st_layer_compressor_new(w->opts.compression, w->opts.level,
				       (struct st_layer_sink){ compressed_out, w }, err);
	if (!w->z) {
		free(w);
		return NULL;
	}
	st_hasher_init(&w->h_diff);
	st_hasher_init(&w->h_dig);
	w->hashing = true;
	w->stage = st_xmalloc(ST_LAYER_BUFSZ);
	return w;
}

/* Turn a failed libarchive call into an error, preferring the sink's own error. */
static int archive_fail(struct st_layer_writer *w, const char *name, struct st_error **err)
{
	w->failed = true;
	if (w->cb_err && err) {
		st_error_free(*err);
		*err = w->cb_err;
		w->cb_err = NULL;
		return st_err_wrap(err, "write layer entry '%s'", name);
	}
	return st_err(err, ST_E_IO, "write layer entry '%s': %s", name, archive_error_string(w->a));
}

static int ready(struct st_layer_writer *w, struct st_error **err)
{
	if (w->failed)
		return st_err(err, ST_E_INVALID, "layer writer: an earlier write failed");
	if (w->finished || w->raw)
		return st_err(err, ST_E_INVALID, "layer writer: no more entries can be added");
	if (w->a)
		return 0;
	w->a = archive_write_new();
	w->e = archive_entry_new();
	w->io = st_xmalloc(ST_LAYER_BUFSZ);
	archive_write_set_format_pax_restricted(w->a);
	/* xattrs as SCHILY.xattr only, as Go's archive/tar (Docker, BuildKit) writes them: GNU tar
	 * warns about every LIBARCHIVE.xattr twin libarchive adds by default. */
	archive_write_set_format_option(w->a, "pax", "xattrheader", "SCHILY");
	/* No 10 KiB record padding: the stream ends after the two zero blocks, like Docker's. */
	archive_write_set_bytes_per_block(w->a, 0);
	archive_write_set_bytes_in_last_block(w->a, 1);
	if (archive_write_open2(w->a, w, NULL, archive_out, NULL, NULL) != ARCHIVE_OK)
		return archive_fail(w, "", err);
	return 0;
}

/* Normalise an entry name: no leading '/', no '.' or empty components; '..' is refused. */
static int norm_name(const char *in, struct st_buf *out, struct st_error **err)
{
	if (!st_path_normalize(in, out))
		return st_err(err, ST_E_INVALID, "layer entry '%s': '..' in name", in);
	if (!out->len)
		return st_err(err, ST_E_INVALID, "layer entry '%s': empty name", in);
	return 0;
}

static int64_t clamp(const struct st_layer_writer *w, int64_t t)
{
	if ((w->opts.flags & ST_LAYER_WRITER_CLAMP_MTIME) && t > w->opts.mtime_clamp)
		return w->opts.mtime_clamp;
	return t;
}

static void apply_attr(struct st_layer_writer *w, struct archive_entry *e,
		       const struct st_layer_attr *attr)
{
	if (attr) {
		if (attr->set & ST_LAYER_ATTR_UID)
			archive_entry_set_uid(e, attr->uid);
		if (attr->set & ST_LAYER_ATTR_GID)
			archive_entry_set_gid(e, attr->gid);
		if (attr->set & ST_LAYER_ATTR_MODE)
			archive_entry_set_perm(e, attr->mode & 07777);
		if (attr->set & ST_LAYER_ATTR_MTIME)
			archive_entry_set_mtime(e, attr->mtime, 0);
	}
	archive_entry_set_mtime(e, clamp(w, archive_entry_mtime(e)), 0);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Overlay bookkeeping and SELinux labels belong to the host, not to the image. */
static bool skip_xattr(const char *name)
{
	return !strncmp(name, "trusted.overlay.", 16) || !strcmp(name, "security.selinux");
}

static int add_xattrs(struct archive_entry *e, const char *path, struct st_error **err)
{
	ssize_t n = llistxattr(path, NULL, 0);
	if (n < 0) {
		if (errno == ENOTSUP || errno == ENODATA)
			return 0;
		return st_err_errno(err, "list xattrs of '%s'", path);
	}
	if (n == 0)
		return 0;
	st_autofree char *list = st_xmalloc((size_t)n + 1);
	n = llistxattr(path, list, (size_t)n);
	if (n < 0)
		return st_err_errno(err, "list xattrs of '%s'", path);
	size_t count = 0;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1)
		count++;
	st_autofree char **names = st_xcalloc(count ? count : 1, sizeof(*names));
	count = 0;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1)
		names[count++] = list + i;
	/* Sorted, so the same file always gives the same header. */
	qsort(names, count, sizeof(*names), cmp_str);
	struct st_buf val = ST_BUF_INIT;
	int ret = 0;
	for (size_t i = 0; i < count && ret == 0; i++) {
		if (skip_xattr(names[i]))
			continue;
		ssize_t vn = lgetxattr(path, names[i], NULL, 0);
		if (vn < 0) {
			if (errno == ENODATA)
				continue;
			ret = st_err_errno(err, "read xattr '%s' of '%s'", names[i], path);
			break;
		}
		st_buf_reset(&val);
		st_buf_grow(&val, (size_t)vn);
		vn = lgetxattr(path, names[i], val.data, (size_t)vn);
		if (vn < 0) {
			ret = st_err_errno(err, "read xattr '%s' of '%s'", names[i], path);
			break;
		}
		archive_entry_xattr_add_entry(e, names[i], val.data, (size_t)vn);
	}
	st_buf_release(&val);
	return ret;
}

static int write_header(struct st_layer_writer *w, const char *name, struct st_error **err)
{
	if (archive_write_header(w->a, w->e) < ARCHIVE_WARN)
		return archive_fail(w, name, err);
	return 0;
}

/* Copy exactly 'size' bytes of 'fd': a file that shrank meanwhile is padded with zeros. */
static int write_data_fd(struct st_layer_writer *w, int fd, const char *name, int64_t size,
			 struct st_error **err)
{
	int64_t left = size;
	while (left > 0) {
		if (st_cancel_check(err) < 0) {
			w->failed = true;
			return -1;
		}
		size_t want = left < (int64_t)ST_LAYER_BUFSZ ? (size_t)left : ST_LAYER_BUFSZ;
		ssize_t r = read(fd, w->io, want);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			w->failed = true;
			return st_err_errno(err, "read '%s'", name);
		}
		if (r == 0) {
			memset(w->io, 0, want);
			r = (ssize_t)want;
		}
		if (archive_write_data(w->a, w->io, (size_t)r) < 0)
			return archive_fail(w, name, err);
		left -= r;
	}
	return 0;
}

/*
 * One entry from a file on disk. 'hardlinks' enables (dev, ino) detection. The data of a
 * regular file is read through an O_NOFOLLOW descriptor opened before the header is written.
 */
static int add_from_disk(struct st_layer_writer *w, const char *path, const struct stat *st,
			 const char *name, const struct st_layer_attr *attr, bool hardlinks,
			 struct st_error **err)
{
	struct archive_entry *e = w->e;
	archive_entry_clear(e);
	archive_entry_set_pathname(e, name);
	archive_entry_set_mode(e, st->st_mode);
	archive_entry_set_uid(e, st->st_uid);
	archive_entry_set_gid(e, st->st_gid);
	archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
	apply_attr(w, e, attr);

	if (hardlinks && !S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		const char *first = ino_seen(&w->inodes, st->st_dev, st->st_ino, name);
		if (first) {
			archive_entry_set_hardlink(e, first);
			archive_entry_set_size(e, 0);
			return write_header(w, name, err);
		}
	}

	st_autoclose int fd = -1;
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			w->failed = true;
			return st_err_errno(err, "open '%s'", path);
		}
		archive_entry_set_size(e, st->st_size);
		break;
	case S_IFLNK: {
		st_autofree char *target = st_xmalloc((size_t)st->st_size + 2);
		ssize_t n = readlink(path, target, (size_t)st->st_size + 1);
		if (n < 0 || n > st->st_size)
			return st_err_errno(err, "readlink '%s'", path);
		target[n] = '\0';
		archive_entry_set_symlink(e, target);
		break;
	}
	case S_IFCHR:
	case S_IFBLK:
		archive_entry_set_rdev(e, st->st_rdev);
		break;
	case S_IFDIR:
	case S_IFIFO:
		break;
	default:
		return st_err(err, ST_E_INVALID, "'%s': unsupported file type", path);
	}
	if (add_xattrs(e, path, err) < 0)
		return -1;
	if (write_header(w, name, err) < 0)
		return -1;
	if (fd >= 0)
		return write_data_fd(w, fd, path, st->st_size, err);
	return 0;
}

/* "<dir>/<prefix><base>" for a path "dir/base". */
static void whiteout_name(const char *path, const char *prefix, struct st_buf *out)
{
	const char *slash = strrchr(path, '/');
	st_buf_reset(out);
	if (slash) {
		st_buf_add(out, path, (size_t)(slash - path) + 1);
		path = slash + 1;
	}
	st_buf_adds(out, prefix);
	st_buf_adds(out, path);
}

static int add_marker(struct st_layer_writer *w, const char *name, int64_t mtime,
		      struct st_error **err)
{
	archive_entry_clear(w->e);
	archive_entry_set_pathname(w->e, name);
	archive_entry_set_filetype(w->e, AE_IFREG);
	archive_entry_set_perm(w->e, 0);
	archive_entry_set_size(w->e, 0);
	archive_entry_set_mtime(w->e, clamp(w, mtime), 0);
	return write_header(w, name, err);
}

static bool overlay_opaque(const char *path)
{
	char v[2];
	ssize_t n = lgetxattr(path, "trusted.overlay.opaque", v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

static int walk(struct st_layer_writer *w, struct st_buf *disk, struct st_buf *name,
		enum st_layer_tree_flags flags, struct st_error **err)
{
	DIR *d = opendir(disk->data);
	if (!d)
		return st_err_errno(err, "open directory '%s'", disk->data);
	char **names = NULL;
	size_t n = 0;
	int ret = st_dir_names(d, disk->data, &names, &n, err);
	closedir(d);

	size_t dlen = disk->len, nlen = name->len;
	struct st_buf tmp = ST_BUF_INIT;
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (st_cancel_check(err) < 0) {
			ret = -1;
			break;
		}
		st_buf_setlen(disk, dlen);
		st_buf_setlen(name, nlen);
		st_buf_addch(disk, '/');
		st_buf_adds(disk, names[i]);
		if (nlen)
			st_buf_addch(name, '/');
		st_buf_adds(name, names[i]);
		struct stat st;
		if (lstat(disk->data, &st) < 0) {
			ret = st_err_errno(err, "stat '%s'", disk->data);
			break;
		}
		if (S_ISSOCK(st.st_mode))
			continue;
		if ((flags & ST_LAYER_TREE_OVERLAY) && S_ISCHR(st.st_mode) && st.st_rdev == 0) {
			whiteout_name(name->data, ST_LAYER_WHITEOUT_PREFIX, &tmp);
			ret = add_marker(w, tmp.data, st.st_mtim.tv_sec, err);
			continue;
		}
		ret = add_from_disk(w, disk->data, &st, name->data, NULL, true, err);
		if (ret == 0 && S_ISDIR(st.st_mode)) {
			if ((flags & ST_LAYER_TREE_OVERLAY) && overlay_opaque(disk->data)) {
				st_buf_reset(&tmp);
				st_buf_addf(&tmp, "%s/%s", name->data, ST_LAYER_WHITEOUT_OPAQUE);
				ret = add_marker(w, tmp.data, st.st_mtim.tv_sec, err);
			}
			if (ret == 0)
				ret = walk(w, disk, name, flags, err);
		}
	}
	st_buf_release(&tmp);
	st_buf_setlen(disk, dlen);
	st_buf_setlen(name, nlen);
	st_strv_free(names, n);
	return ret;
}

int st_layer_writer_add_tree(struct st_layer_writer *w, const char *dir, const char *prefix,
			     enum st_layer_tree_flags flags, struct st_error **err)
{
	if (ready(w, err) < 0)
		return -1;
	struct st_buf disk = ST_BUF_INIT, name = ST_BUF_INIT;
	int ret = 0;
	st_buf_adds(&disk, dir);
	while (disk.len > 1 && disk.data[disk.len - 1] == '/')
		st_buf_setlen(&disk, disk.len - 1);
	if (prefix && *prefix && strcmp(prefix, "/") && strcmp(prefix, ".")) {
		struct stat st;
		if (norm_name(prefix, &name, err) < 0)
			ret = -1;
		else if (lstat(disk.data, &st) < 0)
			ret = st_err_errno(err, "stat '%s'", disk.data);
		else
			ret = add_from_disk(w, disk.data, &st, name.data, NULL, false, err);
	}
	if (ret == 0)
		ret = walk(w, &disk, &name, flags, err);
	st_buf_release(&disk);
	st_buf_release(&name);
	return ret;
}

int st_layer_writer_add_path(struct st_layer_writer *w, const char *src, const char *name,
			     const struct st_layer_attr *attr, struct st_error **err)
{
	if (ready(w, err) < 0)
		return -1;
	struct st_buf n = ST_BUF_INIT;
	struct stat st;
	int ret;
	if (norm_name(name, &n, err) < 0)
		ret = -1;
	else if (lstat(src, &st) < 0)
		ret = st_err_errno(err, "stat '%s'", src);
	else if (S_ISSOCK(st.st_mode))
		ret = st_err(err, ST_E_INVALID, "'%s': cannot add a socket to a layer", src);
	else
		ret = add_from_disk(w, src, &st, n.data, attr, false, err);
	st_buf_release(&n);
	return ret;
}

static int add_simple(struct st_layer_writer *w, const char *name, unsigned type, mode_t mode,
		      const char *symlink, const struct st_layer_attr *attr, const void *data,
		      size_t size, struct st_error **err)
{
	if (ready(w, err) < 0)
		return -1;
	struct st_buf n = ST_BUF_INIT;
	if (norm_name(name, &n, err) < 0) {
		st_buf_release(&n);
		return -1;
	}
	archive_entry_clear(w->e);
	archive_entry_set_pathname(w->e, n.data);
	archive_entry_set_filetype(w->e, type);
	archive_entry_set_perm(w->e, mode);
	archive_entry_set_mtime(w->e, 0, 0);
	if (symlink)
		archive_entry_set_symlink(w->e, symlink);
	if (type == AE_IFREG)
		archive_entry_set_size(w->e, (la_int64_t)size);
	apply_attr(w, w->e, attr);
	int ret = write_header(w, n.data, err);
	if (ret == 0 && size && archive_write_data(w->a, data, size) < 0)
		ret = archive_fail(w, n.data, err);
	st_buf_release(&n);
	return ret;
}

int st_layer_writer_add_data(struct st_layer_writer *w, const char *name, const void *p, size_t n,
			     const struct st_layer_attr *attr, struct st_error **err)
{
	return add_simple(w, name, AE_IFREG, 0644, NULL, attr, p, n, err);
}

int st_layer_writer_add_dir(struct st_layer_writer *w, const char *name,
			    const struct st_layer_attr *attr, struct st_error **err)
{
	return add_simple(w, name, AE_IFDIR, 0755, NULL, attr, NULL, 0, err);
}

int st_layer_writer_add_symlink(struct st_layer_writer *w, const char *name, const char *target,
				const struct st_layer_attr *attr, struct st_error **err)
{
	return add_simple(w, name, AE_IFLNK, 0777, target, attr, NULL, 0, err);
}

int st_layer_writer_add_hardlink(struct st_layer_writer *w, const char *name, const char *target,
				 struct st_error **err)
{
	if (ready(w, err) < 0)
		return -1;
	struct st_buf n = ST_BUF_INIT, t = ST_BUF_INIT;
	int ret = -1;
	if (norm_name(name, &n, err) == 0 && norm_name(target, &t, err) == 0) {
		archive_entry_clear(w->e);
		archive_entry_set_pathname(w->e, n.data);
		archive_entry_set_filetype(w->e, AE_IFREG);
		archive_entry_set_perm(w->e, 0644);
		archive_entry_set_hardlink(w->e, t.data);
		archive_entry_set_size(w->e, 0);
		ret = write_header(w, n.data, err);
	}
	st_buf_release(&n);
	st_buf_release(&t);
	return ret;
}

int st_layer_writer_add_whiteout(struct st_layer_writer *w, const char *path, struct st_error **err)
{
	if (ready(w, err) < 0)
		return -1;
	struct st_buf n = ST_BUF_INIT, wh = ST_BUF_INIT;
	int ret = -1;
	if (norm_name(path, &n, err) == 0) {
		whiteout_name(n.data, ST_LAYER_WHITEOUT_PREFIX, &wh);
		ret = add_marker(w, wh.data, 0, err);
	}
	st_buf_release(&n);
	st_buf_release(&wh);
	return ret;
}

int st_layer_writer_add_opaque(struct st_layer_writer *w, const char *dir, struct st_error **err)
{
	if (ready(w, err) < 0)
		return -1;
	struct st_buf n = ST_BUF_INIT;
	int ret;
	/* The root itself can be opaque: "/" gives ".wh..wh..opq". */
	const char *p = dir;
	while (*p == '/' || (*p == '.' && (p[1] == '/' || p[1] == '\0')))
		p++;
	if (*p == '\0') {
		ret = add_marker(w, ST_LAYER_WHITEOUT_OPAQUE, 0, err);
	} else if (norm_name(dir, &n, err) == 0) {
		st_buf_adds(&n, "/" ST_LAYER_WHITEOUT_OPAQUE);
		ret = add_marker(w, n.data, 0, err);
	} else {
		ret = -1;
	}
	st_buf_release(&n);
	return ret;
}

int st_layer_writer_add_raw(struct st_layer_writer *w, struct st_layer_source src,
			    struct st_error **err)
{
	if (w->failed || w->finished || w->raw || w->a)
		return st_err(err, ST_E_INVALID, "layer writer: raw input needs a fresh writer");
	w->raw = true;
	struct tar_in t;
	struct st_buf scratch = ST_BUF_INIT;
	int ret = -1;
	if (layer_tar_in_open(&t, src, true, (struct st_layer_sink){ tar_out, w }, NULL,
			      "not a tar archive", err) < 0)
		goto out;
	if (t.empty) {
		st_err(err, ST_E_PARSE, "not a tar archive: empty input");
		goto out;
	}
	for (;;) {
		struct archive_entry *e;
		int r = archive_read_next_header(t.a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN || archive_read_data_skip(t.a) < ARCHIVE_WARN) {
			layer_tar_in_error(&t, "not a tar archive", err);
			goto out;
		}
		if (layer_tar_entry_check(e, &scratch, err) < 0)
			goto out;
	}
	ret = layer_tar_in_drain(&t, err);
out:
	st_buf_release(&scratch);
	if (ret < 0)
		w->failed = true;
	layer_tar_in_close(&t);
	return ret;
}

int st_layer_writer_finish(struct st_layer_writer *w, struct st_layer_result *out,
			   struct st_error **err)
{
	if (w->failed || w->finished)
		return st_err(err, ST_E_INVALID, "layer writer: already finished or failed");
	if (!w->raw && ready(w, err) < 0)
		return -1;
	if (w->a && archive_write_close(w->a) != ARCHIVE_OK)
		return archive_fail(w, "end of archive", err);
	if (stage_flush(w, err) < 0 || st_layer_compressor_finish(w->z, err) < 0) {
		w->failed = true;
		return -1;
	}
	w->finished = true;
	if (w->side)
		layer_hash_offload_wait(w->side, 0);
	st_hasher_final(&w->h_diff, &out->diff_id);
	st_hasher_final(&w->h_dig, &out->digest);
	if (w->opts.compression == ST_LAYER_COMP_NONE)
		out->digest = out->diff_id;
	w->hashing = false;
	out->size = w->size;
	out->compressed_size = w->csize;
	out->compression = w->opts.compression;
	return 0;
}

void st_layer_writer_free(struct st_layer_writer *w)
{
	if (!w)
		return;
	w->discard = true;
	if (w->a)
		archive_write_free(w->a);
	layer_hash_offload_free(w->side);
	if (w->e)
		archive_entry_free(w->e);
	if (w->hashing) {
		st_hasher_release(&w->h_diff);
		st_hasher_release(&w->h_dig);
	}
	st_layer_compressor_free(w->z);
	ino_release(&w->inodes);
	st_error_free(w->cb_err);
	free(w->stage);
	free(w->io);
	free(w);
}

void st_layer_writer_freep(struct st_layer_writer **w)
{
	st_layer_writer_free(*w);
}
