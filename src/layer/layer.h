/*
 * layer.h: OCI layers: writing a tar stream in one pass (tar → SHA-256 diff_id → compress →
 * SHA-256 digest → sink), reading one back (listing, safe extraction), and the whiteouts that
 * carry deletions between layers (OCI image-spec layer.md; overlayfs upper dirs).
 *
 * The module never stores blobs: writers emit to a caller's sink and report digests and sizes.
 */
#ifndef ST_LAYER_LAYER_H
#define ST_LAYER_LAYER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "digest/digest.h"
#include "layer/compress.h"
#include "util/err.h"

#define ST_LAYER_WHITEOUT_PREFIX ".wh."
#define ST_LAYER_WHITEOUT_OPAQUE ".wh..wh..opq"

/* ---- writing ---- */

enum st_layer_writer_flags {
	/* Clamp every mtime to at most 'mtime_clamp' (SOURCE_DATE_EPOCH) for reproducible layers.
	 */
	ST_LAYER_WRITER_CLAMP_MTIME = 1 << 0,
};

struct st_layer_writer_opts {
	enum st_layer_comp compression; /* NONE, GZIP or ZSTD */
	int level;			/* 0: the codec's default (see compress.h) */
	enum st_layer_writer_flags flags;
	int64_t mtime_clamp; /* seconds since the epoch, with ST_LAYER_WRITER_CLAMP_MTIME */
};

/* What a finished layer is. */
struct st_layer_result {
	struct st_digest diff_id; /* sha256 of the uncompressed tar */
	struct st_digest digest;  /* sha256 of the bytes given to the sink */
	uint64_t size;		  /* uncompressed tar bytes */
	uint64_t compressed_size; /* bytes given to the sink */
	enum st_layer_comp compression;
};

/* Per-entry overrides for single entries; a field counts only if its bit is in 'set'. */
enum st_layer_attr_set {
	ST_LAYER_ATTR_UID = 1 << 0,
	ST_LAYER_ATTR_GID = 1 << 1,
	ST_LAYER_ATTR_MODE = 1 << 2, /* permission bits, incl. setuid/setgid/sticky */
	ST_LAYER_ATTR_MTIME = 1 << 3,
};

struct st_layer_attr {
	enum st_layer_attr_set set;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	int64_t mtime;
};

enum st_layer_tree_flags {
	/*
	 * The tree is an overlayfs upper dir: a 0/0 character device becomes a '.wh.<name>'
	 * whiteout, a directory with trusted.overlay.opaque=y gets a '.wh..wh..opq' entry.
	 */
	ST_LAYER_TREE_OVERLAY = 1 << 0,
};

struct st_layer_writer;

/*
 * A new writer that emits the compressed layer to 'sink' as entries are added. Entries are
 * written as a PAX (restricted) tar: long names, xattrs and hardlinks survive; uname/gname,
 * atime and ctime are never written and mtimes have whole seconds, so the same input gives
 * the same bytes. New: free with st_layer_writer_free() (an unfinished layer is abandoned).
 */
struct st_layer_writer *st_layer_writer_new(const struct st_layer_writer_opts *opts,
					    struct st_layer_sink sink, struct st_error **err);

/*
 * Add the contents of directory 'dir' (not following symlinks; names sorted bytewise at each
 * level). Entry names are relative to 'dir', under 'prefix' if not NULL/empty, in which case
 * 'dir' itself is added first as 'prefix'. Regular files, dirs, symlinks, char/block devices,
 * fifos; a second path to the same (dev, inode) becomes a hardlink entry; sockets are skipped.
 * Ownership, mode and xattrs are kept, except trusted.overlay.* and security.selinux.
 */
int st_layer_writer_add_tree(struct st_layer_writer *w, const char *dir, const char *prefix,
			     enum st_layer_tree_flags flags, struct st_error **err);

/*
 * Add one entry named 'name' from the file at 'src' (not followed if a symlink): a regular
 * file with its data, a directory (the entry alone, not its contents), a symlink, a device or
 * a fifo. 'attr' (may be NULL) overrides ownership, mode and mtime. Names are relative to the
 * layer root; a leading '/' is dropped; '..' components are refused (ST_E_INVALID).
 */
int st_layer_writer_add_path(struct st_layer_writer *w, const char *src, const char *name,
			     const struct st_layer_attr *attr, struct st_error **err);
/* A regular file with the given bytes. Default mode 0644, owner 0:0, mtime 0 (then clamped). */
int st_layer_writer_add_data(struct st_layer_writer *w, const char *name, const void *p, size_t n,
			     const struct st_layer_attr *attr, struct st_error **err);
/* A directory. Default mode 0755, owner 0:0. */
int st_layer_writer_add_dir(struct st_layer_writer *w, const char *name,
			    const struct st_layer_attr *attr, struct st_error **err);
int st_layer_writer_add_symlink(struct st_layer_writer *w, const char *name, const char *target,
				const struct st_layer_attr *attr, struct st_error **err);
/* A hardlink 'name' to the earlier entry 'target' (a layer-root-relative name). */
int st_layer_writer_add_hardlink(struct st_layer_writer *w, const char *name, const char *target,
				 struct st_error **err);
/* Record that 'path' (from a lower layer) is deleted: writes '<dir>/.wh.<base>'. */
int st_layer_writer_add_whiteout(struct st_layer_writer *w, const char *path,
				 struct st_error **err);
/* Hide everything lower layers have under 'dir': writes '<dir>/.wh..wh..opq'. */
int st_layer_writer_add_opaque(struct st_layer_writer *w, const char *dir, struct st_error **err);

/*
 * Raw passthrough: read a tar from 'src' (uncompressed, gzip, zstd, bzip2 or xz: detected),
 * check with libarchive that it is a well-formed tar, and write its uncompressed bytes
 * unchanged through the hash and compress pipeline. The diff_id is thus the sha256 of the
 * input tar itself. Only on a fresh writer, and nothing can be added afterwards.
 * ST_E_PARSE if the input is not a tar; ST_E_INVALID for an entry st_layer_check() refuses.
 */
int st_layer_writer_add_raw(struct st_layer_writer *w, struct st_layer_source src,
			    struct st_error **err);

/* End the tar, flush the compressor and fill *out. No adds afterwards. */
int st_layer_writer_finish(struct st_layer_writer *w, struct st_layer_result *out,
			   struct st_error **err);
void st_layer_writer_free(struct st_layer_writer *w);
void st_layer_writer_freep(struct st_layer_writer **w);

/* ---- reading ---- */

enum st_layer_entry_type {
	ST_LAYER_ENTRY_FILE,
	ST_LAYER_ENTRY_DIR,
	ST_LAYER_ENTRY_SYMLINK,
	ST_LAYER_ENTRY_HARDLINK,
	ST_LAYER_ENTRY_CHAR,
	ST_LAYER_ENTRY_BLOCK,
	ST_LAYER_ENTRY_FIFO,
	ST_LAYER_ENTRY_WHITEOUT, /* '.wh.<name>': 'path' is the deleted path, without '.wh.' */
	ST_LAYER_ENTRY_OPAQUE,	 /* '.wh..wh..opq': 'path' is the opaque directory */
	ST_LAYER_ENTRY_OTHER,
};

/* One tar entry. Strings are borrowed: valid until the next st_layer_reader_next(). */
struct st_layer_entry {
	const char *path;     /* normalised: no leading '/' or './', no trailing '/'; "" = root */
	const char *raw_path; /* as stored in the tar */
	enum st_layer_entry_type type;
	uint64_t size; /* data bytes (regular files) */
	mode_t mode;   /* permission bits incl. setuid/setgid/sticky */
	uid_t uid;
	gid_t gid;
	int64_t mtime;
	const char *linkname; /* symlink target or hardlink target; NULL otherwise */
	dev_t rdev;
};

struct st_layer_reader;

/*
 * Read the layer from 'src' (compression detected: none, gzip, zstd, bzip2, xz).
 * New: free with st_layer_reader_free().
 */
struct st_layer_reader *st_layer_reader_new(struct st_layer_source src, struct st_error **err);
/* 1 and *e filled, 0 at the end, -1 on error (ST_E_PARSE for bad data). */
int st_layer_reader_next(struct st_layer_reader *r, struct st_layer_entry *e,
			 struct st_error **err);
/* Read data of the current entry: bytes read, 0 at its end, -1 on error. */
ssize_t st_layer_reader_read(struct st_layer_reader *r, void *buf, size_t n, struct st_error **err);
/*
 * After st_layer_reader_next() returned 0: read what is left of the stream and give the
 * sha256 and size of the whole uncompressed stream (to check a diff_id).
 */
int st_layer_reader_diff_id(struct st_layer_reader *r, struct st_digest *out, uint64_t *size,
			    struct st_error **err);
/*
 * Read the whole layer from 'src' and check that every entry could be unpacked safely, so a
 * bad layer is refused where it enters the store rather than at its first use: ST_E_INVALID
 * naming the first entry whose path escapes the root or is longer than Linux allows, whose
 * hardlink target is absolute or escapes the root, or that is a malformed whiteout (".wh."
 * alone, a whiteout with data, a directory with a whiteout name).
 */
int st_layer_check(struct st_layer_source src, struct st_error **err);
/*
 * st_layer_check() for an uncompressed tar that arrives in pieces (a blob being fetched and
 * inflated): write the bytes as they come (the write fits struct st_layer_sink), then finish
 * for the verdict and the diff_id and size of all that was written, so a fetched layer is
 * checked without reading its blob back. The check and the hashing run on threads of their
 * own: they cost the writer a copy into a pipe. A write fails as soon as the check has refused
 * an entry, with that entry named; finish gives the same error, or ST_E_PARSE for a stream
 * that is not a whole tar. Free abandons a check not finished.
 */
struct st_layer_checker;
struct st_layer_checker *st_layer_checker_new(struct st_error **err);
int st_layer_checker_write(void *ctx, const void *p, size_t n, struct st_error **err);
int st_layer_checker_finish(struct st_layer_checker *c, struct st_digest *diff_id, uint64_t *size,
			    struct st_error **err);
void st_layer_checker_free(struct st_layer_checker *c);
void st_layer_checker_freep(struct st_layer_checker **c);
void st_layer_reader_free(struct st_layer_reader *r);
void st_layer_reader_freep(struct st_layer_reader **r);

enum st_layer_extract_mode {
	/* Flatten: '.wh.x' deletes x; '.wh..wh..opq' empties the dir of what lower layers put. */
	ST_LAYER_EXTRACT_APPLY,
	/* One layer as an overlayfs lowerdir: '.wh.x' → 0/0 char device x; opaque → xattr. */
	ST_LAYER_EXTRACT_OVERLAY,
};

enum st_layer_extract_flags {
	/* Do not chown (rootless); ownership then belongs to the caller. */
	ST_LAYER_EXTRACT_NO_CHOWN = 1 << 0,
	/*
	 * Resolve paths component by component with O_NOFOLLOW and refuse any symlink among the
	 * parents, as on kernels without openat2(RESOLVE_IN_ROOT). For tests.
	 */
	ST_LAYER_EXTRACT_NO_OPENAT2 = 1 << 1,
};

struct st_layer_extract_opts {
	enum st_layer_extract_mode mode;
	enum st_layer_extract_flags flags;
	/*
	 * OVERLAY: the unpacked layers below this one, top first (borrowed). A hardlink to a
	 * file this layer lacks links, as containerd's applier allows, to that file of the
	 * layers below (st_union_lookup()); the entry becomes a copy of it, as a lowerdir
	 * cannot share an inode with another.
	 */
	char *const *lowers;
	size_t n_lowers;
};

/*
 * Extract the layer from 'src' into the existing directory 'root'. Nothing is ever created
 * outside 'root': '..' in an entry name is refused; a leading '/' is dropped; symlinks in the
 * parents of an entry and hardlink targets resolve as if 'root' were '/' (openat2
 * RESOLVE_IN_ROOT). Ownership (unless NO_CHOWN), modes incl. setuid, mtimes and xattrs are
 * kept. Errors name the entry: "layer entry '../x': path escapes the root" (ST_E_INVALID).
 * If 'diff_id' is not NULL it receives the sha256 of the uncompressed stream.
 * On error, 'root' holds a partial extraction; the caller removes it.
 */
int st_layer_extract(struct st_layer_source src, const char *root,
		     const struct st_layer_extract_opts *opts, struct st_digest *diff_id,
		     struct st_error **err);

#endif
