/*
 * store.h: the content-addressed blob store and the metadata database.
 *
 * Layout under the root directory:
 *
 *   blobs/sha256/<hex>     every blob, immutable, visible only whole and verified
 *   layers/<diff hex>/     a layer unpacked once (filled by the snapshot module), or a
 *                          build's RUN layer kept as its directory, its only copy until an
 *                          output needs a blob (st_local_layer_commit_dir())
 *   leases/<id>            one lock file per live lease (flock)
 *   tmp/                   every write starts here and is renamed into place
 *   strata.db              SQLite in WAL mode: layers, images, refs, edges, cache, kv, leases
 *
 * Several strata processes may use one store at once. A 'struct st_store' itself is not
 * thread-safe: use one handle per thread.
 *
 * Digests are "sha256:<64 hex>" strings. Functions taking a digest string refuse a malformed
 * one with ST_E_INVALID. Sizes are in bytes. Times are microseconds since the Unix epoch
 * unless said otherwise.
 *
 * Reachability: a blob, a layer record or an unpacked layer stays as long as an image, a
 * reference, a build cache record, a live lease or an edge from something kept needs it;
 * st_store_gc() removes the rest.
 * Anything written before the record that will reference it (pull, load, import, build)
 * must be protected by a lease taken *before* the write: gc does not wait for you.
 */
#ifndef ST_STORE_STORE_H
#define ST_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "digest/digest.h"
#include "util/buf.h"
#include "util/err.h"

/* The database schema version this code writes (PRAGMA user_version). */
#define ST_STORE_SCHEMA_VERSION 3

struct st_store;
struct st_store_lease;
struct st_store_blob_writer;

/* ---- Opening ------------------------------------------------------------------------------ */

/*
 * Open the store at 'root', creating the layout and the database if missing and migrating an
 * older schema. On success *out is new: free it with st_store_free(). ST_E_INVALID if the
 * database was written by a newer strata; ST_E_BUSY if another process held the database
 * locked for longer than the busy timeout.
 */
int st_store_open(const char *root, struct st_store **out, struct st_error **err);
/* NULL does nothing. Every lease and writer of the store must have been ended/freed first. */
void st_store_free(struct st_store *s);
void st_store_freep(struct st_store **s);

/* Borrowed, valid while 's' lives. */
const char *st_store_root(const struct st_store *s);
/*
 * Borrowed: the store's tmp/ directory. Its entries are made by st_store_tmp_mkdir() and the
 * blob writer, flock()ed while their process lives; gc removes an entry nobody holds at once
 * (unmounting what a killed process left mounted there), also one a process killed while
 * creating it left half-made.
 */
const char *st_store_tmp_dir(const struct st_store *s);
/* A lease file without a row (its holder died beginning it) goes once this many seconds old. */
#define ST_STORE_TMP_GRACE 3600

/*
 * Create a new, empty directory under tmp/ for work that is renamed into the store later
 * (e.g. extracting a layer before renaming it to its st_store_unpacked_path()). *path is new;
 * *lock_fd holds an flock() on the directory that keeps gc away from it: close it once the
 * directory was renamed or removed.
 */
int st_store_tmp_mkdir(struct st_store *s, char **path, int *lock_fd, struct st_error **err);

/* ---- Blobs -------------------------------------------------------------------------------- */

/*
 * A streaming blob writer. Bytes go to a temp file under tmp/ (flock()ed while the writer
 * lives) and are hashed as they stream. st_store_blob_writer_commit() verifies, fsyncs and
 * renames the file to blobs/sha256/<hex>; a blob already present is not rewritten.
 *
 * 'expected' may be NULL; if given, commit fails with ST_E_DIGEST on a mismatch and nothing
 * becomes visible. On success *out is new: free it with st_store_blob_writer_free(), which
 * discards an uncommitted blob.
 */
int st_store_blob_writer_new(struct st_store *s, const char *expected,
			     struct st_store_blob_writer **out, struct st_error **err);
int st_store_blob_writer_write(struct st_store_blob_writer *w, const void *p, size_t n,
			       struct st_error **err);
/*
 * Add the digest to 'lease' (borrowed; must outlive the commit) before the blob becomes
 * visible, so no gc can remove it between the commit and the record that will reference it.
 */
void st_store_blob_writer_set_lease(struct st_store_blob_writer *w, struct st_store_lease *lease);
/*
 * Borrowed: the temp file's descriptor, for code that writes into it directly (e.g. a
 * sendfile or a codec that hashes what it writes). Bytes written here bypass the hasher: commit
 * such a writer with st_store_blob_writer_commit_hashed(), not st_store_blob_writer_commit().
 */
int st_store_blob_writer_fd(const struct st_store_blob_writer *w);
/* Bytes written so far through st_store_blob_writer_write(). */
uint64_t st_store_blob_writer_size(const struct st_store_blob_writer *w);
/*
 * Commit: *digest and *size (either may be NULL) receive the blob's digest and size.
 * ST_E_DIGEST if an expected digest was given and does not match (nothing visible).
 * The writer can only be freed afterwards, whatever the outcome.
 */
int st_store_blob_writer_commit(struct st_store_blob_writer *w, struct st_digest *digest,
				uint64_t *size, struct st_error **err);
/*
 * Commit a blob written through st_store_blob_writer_fd() whose digest the caller computed
 * while writing. The digest is trusted, not re-read. ST_E_DIGEST if it differs from the
 * writer's expected digest.
 */
int st_store_blob_writer_commit_hashed(struct st_store_blob_writer *w, const char *digest,
				       uint64_t *size, struct st_error **err);
/* NULL does nothing. An uncommitted blob is discarded. */
void st_store_blob_writer_free(struct st_store_blob_writer *w);
void st_store_blob_writer_freep(struct st_store_blob_writer **w);

/*
 * Store a small blob in one call; *digest (may be NULL) receives its digest. To keep it from a
 * concurrent gc until a record references it, add its digest (st_digest_of) to a lease first.
 */
int st_store_put_blob(struct st_store *s, const void *p, size_t n, struct st_digest *digest,
		      struct st_error **err);
/* True if the blob is present. A malformed digest is not present. */
bool st_store_has_blob(struct st_store *s, const char *digest);
/* New: the blob's path, whether or not it exists. NULL and ST_E_INVALID on a bad digest. */
char *st_store_blob_path(struct st_store *s, const char *digest, struct st_error **err);
/*
 * Append the whole blob to 'out', verified: ST_E_DIGEST if its content does not hash to
 * 'digest' (a corrupt store); ST_E_NOTFOUND if absent.
 */
int st_store_read_blob(struct st_store *s, const char *digest, struct st_buf *out,
		       struct st_error **err);
/*
 * Open the blob for streaming. *fd is new (close it); *size (may be NULL) receives the size.
 * Not verified: a streaming reader hashes what it reads and compares at the end.
 * ST_E_NOTFOUND if absent.
 */
int st_store_open_blob(struct st_store *s, const char *digest, int *fd, uint64_t *size,
		       struct st_error **err);

/* ---- Layers: diff_id (uncompressed) <-> compressed blob ---------------------------------- */

struct st_store_layer {
	struct st_digest digest;  /* the compressed blob */
	struct st_digest diff_id; /* digest of the uncompressed tar */
	char *media_type;	  /* owned when returned by the store, borrowed when given to it */
	uint64_t size;		  /* compressed (blob) size */
	uint64_t diff_size;	  /* uncompressed size */
};

/*
 * Record a layer (its blob must exist: ST_E_NOTFOUND otherwise). Re-recording the same digest
 * updates media type and sizes; ST_E_INVALID if it names another diff_id. 'l' is borrowed.
 * The record lives while an image, a cache record or a lease needs it.
 */
int st_store_layer_put(struct st_store *s, const struct st_store_layer *l, struct st_error **err);
/* Look up by compressed digest. *out is filled with new strings: st_store_layer_release(). */
int st_store_layer_get(struct st_store *s, const char *digest, struct st_store_layer *out,
		       struct st_error **err);
/*
 * All compressed variants of 'diff_id' (oldest first). *out is a new array of *n layers:
 * free with st_store_layers_free(). No variant is not an error (*n = 0).
 */
int st_store_layer_variants(struct st_store *s, const char *diff_id, struct st_store_layer **out,
			    size_t *n, struct st_error **err);
/*
 * Remove layer 'digest' (its record and its blob) when it is a spare copy: another variant of
 * its diff_id is recorded and no image names this one. A layer a build kept uncompressed goes
 * this way once its compressed twin exists, so the store holds its bytes once. *removed (may be
 * NULL) says whether it went; a layer not recorded is not an error.
 */
int st_store_layer_drop_spare(struct st_store *s, const char *digest, bool *removed,
			      struct st_error **err);
void st_store_layer_release(struct st_store_layer *l);
void st_store_layers_free(struct st_store_layer *v, size_t n);

/* ---- Unpacked layers (layers/<hex>) --------------------------------------------------------- */

/* New: root/layers/<hex of diff_id>, whether or not it exists. */
int st_store_unpacked_path(struct st_store *s, const char *diff_id, char **out,
			   struct st_error **err);
/* Record that the directory at st_store_unpacked_path() is complete (it must exist). */
int st_store_unpacked_mark(struct st_store *s, const char *diff_id, uint64_t size,
			   struct st_error **err);
/* True if marked; *size (may be NULL) receives the recorded size. */
bool st_store_unpacked_has(struct st_store *s, const char *diff_id, uint64_t *size);
/* Forget the mark (the directory is left for gc). ST_E_NOTFOUND if not marked. */
int st_store_unpacked_unmark(struct st_store *s, const char *diff_id, struct st_error **err);

/* ---- Images ----------------------------------------------------------------------------- */

struct st_store_image {
	struct st_digest id;		  /* the config digest */
	struct st_digest manifest_digest; /* the manifest whose layers are listed below */
	char *manifest_media_type;
	char *config_media_type;
	char *created;			   /* RFC 3339, may be NULL */
	char *os, *architecture, *variant; /* may be NULL */
	uint64_t size; /* sum of the layers' diff_size; computed by st_store_image_put() */
	int64_t added; /* when recorded; set by st_store_image_put() */
	struct st_store_layer *layers; /* in manifest order: diff_id + the compressed blob used */
	size_t n_layers;
};

/*
 * Record an image and set 'refs' (n_refs names, may be 0) to it, all in one transaction.
 * The manifest, config and every layer blob must exist (ST_E_NOTFOUND naming the missing
 * one). Layer records are written too. An existing image with the same id is replaced, and
 * each of 'refs' that pointed elsewhere now points here (the old image may become dangling).
 * 'img' is borrowed; 'size' and 'added' are ignored.
 */
int st_store_image_put(struct st_store *s, const struct st_store_image *img,
		       const char *const *refs, size_t n_refs, struct st_error **err);
/*
 * Look up by id (config digest). *out is new: st_store_image_free(). ST_E_NOTFOUND if absent.
 * A unique prefix of the hex (without "sha256:", at least 4 characters, as `docker images`
 * shows it) is accepted too; ST_E_INVALID if ambiguous.
 */
int st_store_image_get(struct st_store *s, const char *id, struct st_store_image **out,
		       struct st_error **err);

enum st_store_image_list_flags {
	ST_STORE_LIST_DANGLING = 1 << 0, /* only images no reference points to, directly or as
					  * one platform of a named index */
};
/* *out is a new array of *n new images (newest first): st_store_image_list_free(). */
int st_store_image_list(struct st_store *s, unsigned flags, struct st_store_image ***out, size_t *n,
			struct st_error **err);

enum st_store_image_delete_flags {
	ST_STORE_DELETE_FORCE = 1 << 0, /* delete the image's references too */
};
/*
 * Delete the image record (not its blobs: gc frees those). ST_E_NOTFOUND if absent;
 * ST_E_BUSY if a reference points to it and ST_STORE_DELETE_FORCE is not given.
 */
int st_store_image_delete(struct st_store *s, const char *id, unsigned flags,
			  struct st_error **err);

struct st_store_image_removal {
	char **untagged; /* the reference names removed, sorted */
	size_t n_untagged;
	bool deleted; /* the image record went too */
};
/*
 * `docker rmi` in one transaction: when 'name' (may be NULL) is one of several references to
 * 'image_id' (a full id), only that name goes; otherwise the image goes with every name, which
 * takes ST_STORE_DELETE_FORCE when there are several (ST_E_BUSY without it). Blobs stay for
 * st_store_gc(). *out is filled: st_store_image_removal_release().
 */
int st_store_image_remove(struct st_store *s, const char *image_id, const char *name,
			  unsigned flags, struct st_store_image_removal *out,
			  struct st_error **err);
void st_store_image_removal_release(struct st_store_image_removal *r);

enum st_store_prune_flags {
	ST_STORE_PRUNE_ALL = 1 << 0, /* every image and its references, not only dangling ones */
};
/*
 * Delete dangling images (with ST_STORE_PRUNE_ALL: all images, untagging them) in one
 * transaction. *ids (may be NULL) receives a new array of *n new id strings:
 * st_store_strings_free(). Run st_store_gc() afterwards to free the space.
 * This is `strata image prune [-a]`: without containers every image is "unused".
 */
int st_store_image_prune(struct st_store *s, unsigned flags, char ***ids, size_t *n,
			 struct st_error **err);
void st_store_image_free(struct st_store_image *img);
void st_store_image_freep(struct st_store_image **img);
void st_store_image_list_free(struct st_store_image **v, size_t n);
void st_store_strings_free(char **v, size_t n);

/* ---- References ------------------------------------------------------------------------- */

struct st_store_ref {
	char *name; /* normalised, e.g. "docker.io/library/busybox:latest"; owned */
	struct st_digest image_id;
	/* the manifest (or index) the name resolves to: the image's, unless set otherwise */
	struct st_digest manifest_digest;
};

/*
 * Point 'name' at image 'image_id', replacing what it pointed to. 'manifest_digest' may be
 * NULL (the image's manifest); give an index digest when the name was pulled through one (its
 * blob must exist). ST_E_NOTFOUND if the image is not recorded; ST_E_INVALID on an empty name.
 * The store does not parse names: callers pass normalised ones.
 */
int st_store_ref_set(struct st_store *s, const char *name, const char *image_id,
		     const char *manifest_digest, struct st_error **err);
/* *out is filled with a new name: st_store_ref_release(). ST_E_NOTFOUND if absent. */
int st_store_ref_get(struct st_store *s, const char *name, struct st_store_ref *out,
		     struct st_error **err);
/* ST_E_NOTFOUND if absent. */
int st_store_ref_delete(struct st_store *s, const char *name, struct st_error **err);
/* All references (image_id NULL) or those of one image, by name. st_store_refs_free(). */
int st_store_ref_list(struct st_store *s, const char *image_id, struct st_store_ref **out,
		      size_t *n, struct st_error **err);
void st_store_ref_release(struct st_store_ref *r);
void st_store_refs_free(struct st_store_ref *v, size_t n);

/* ---- RepoDigests ------------------------------------------------------------------------- */

/*
 * Record that image 'image_id' is "repository@digest" ('name') in a registry, as a pull or a
 * push learns it. A name recorded for another image moves to this one (a tag pushed again).
 * The record goes with the image. ST_E_NOTFOUND if the image is not recorded.
 */
int st_store_repo_digest_add(struct st_store *s, const char *image_id, const char *name,
			     struct st_error **err);
/* The image a "repository@digest" name was recorded for. ST_E_NOTFOUND if none. */
int st_store_repo_digest_get(struct st_store *s, const char *name, struct st_digest *image_id,
			     struct st_error **err);
/*
 * The "repository@digest" names of every image holding layer blob 'digest', sorted: where a
 * registry already has it, for a cross-repository mount. A new array (st_store_strings_free()).
 */
int st_store_layer_repo_digests(struct st_store *s, const char *digest, char ***out, size_t *n,
				struct st_error **err);
/* The image's names, sorted: a new array of *n new strings (st_store_strings_free()). */
int st_store_repo_digests(struct st_store *s, const char *image_id, char ***out, size_t *n,
			  struct st_error **err);

/* ---- Edges: what points at what ----------------------------------------------------------- */

/*
 * Edges keep blobs that no image record names: an index's manifests, an artifact (a signature,
 * an attestation) and the blobs it lists.
 *  - ST_STORE_EDGE_CHILD 'from' -> 'to': 'from' (an index, an artifact's manifest) lists 'to'
 *    (a manifest, a config, a layer); 'to' is kept while 'from' is.
 *  - ST_STORE_EDGE_SUBJECT 'from' -> 'to': 'from' (an artifact) describes 'to' (its subject,
 *    a manifest or an index); 'from' is kept while 'to' is, and goes with it.
 * Edges whose 'from' is no longer kept are removed by st_store_gc().
 */
enum st_store_edge_kind {
	ST_STORE_EDGE_CHILD = 1,
	ST_STORE_EDGE_SUBJECT,
};

/*
 * Record the edges 'from' -> each of 'to' (n of them) of 'kind', in one transaction. Every
 * blob named must exist (ST_E_NOTFOUND naming it). Recording an edge twice is harmless.
 */
int st_store_edge_add(struct st_store *s, const char *from, enum st_store_edge_kind kind,
		      const char *const *to, size_t n, struct st_error **err);
/* What 'from' points to by edges of 'kind', sorted: a new array (st_store_strings_free()). */
int st_store_edge_list(struct st_store *s, const char *from, enum st_store_edge_kind kind,
		       char ***to, size_t *n, struct st_error **err);
/* What points to 'to' by edges of 'kind' (the artifacts about a subject), sorted: a new array. */
int st_store_edge_list_to(struct st_store *s, const char *to, enum st_store_edge_kind kind,
			  char ***from, size_t *n, struct st_error **err);

/*
 * Record artifact 'digest' (its manifest's blob) of 'type' (e.g. cosign's signature) about
 * 'subject', with the blobs its manifest lists ('blobs', n: config and layers), in one
 * transaction: it lives as long as its subject. It takes the place of the artifact of the same
 * type about the same subject, as a registry's one "sha256-<hex>.sig" tag moves: the old one
 * is left to gc. Every blob must exist (ST_E_NOTFOUND naming it).
 */
int st_store_artifact_put(struct st_store *s, const char *digest, const char *type,
			  const char *subject, const char *const *blobs, size_t n,
			  struct st_error **err);
/* *out receives the artifact of 'type' about 'subject'. ST_E_NOTFOUND if there is none. */
int st_store_artifact_get(struct st_store *s, const char *subject, const char *type,
			  struct st_digest *out, struct st_error **err);

/* ---- Build cache records ------------------------------------------------------------------ */

struct st_store_cache {
	char *key;     /* owned */
	char *value;   /* opaque text (e.g. JSON); owned */
	char *diff_id; /* the layer this record keeps alive, or NULL; owned */
	uint64_t size;
	int64_t created, last_used; /* microseconds */
};

/* Insert or replace. 'diff_id' may be NULL. */
int st_store_cache_put(struct st_store *s, const char *key, const char *value, const char *diff_id,
		       uint64_t size, struct st_error **err);
/*
 * Look up and mark as most recently used. *out is filled with new strings:
 * st_store_cache_release(). ST_E_NOTFOUND on a miss.
 */
int st_store_cache_get(struct st_store *s, const char *key, struct st_store_cache *out,
		       struct st_error **err);
/* All records, least recently used first: st_store_caches_free(). */
int st_store_cache_list(struct st_store *s, struct st_store_cache **out, size_t *n,
			struct st_error **err);
/* ST_E_NOTFOUND if absent. */
int st_store_cache_delete(struct st_store *s, const char *key, struct st_error **err);
/*
 * Delete least recently used records until their total size is at most 'keep_bytes'
 * (0: delete all). *removed and *freed (may be NULL) receive the count and the sum of sizes.
 * Run st_store_gc() to free the layers they kept alive.
 */
int st_store_cache_prune(struct st_store *s, uint64_t keep_bytes, size_t *removed, uint64_t *freed,
			 struct st_error **err);
void st_store_cache_release(struct st_store_cache *c);
void st_store_caches_free(struct st_store_cache *v, size_t n);

/* ---- Small key/value table for other modules (e.g. context checksums) --------------------- */

/* *value is new. ST_E_NOTFOUND if absent. */
int st_store_kv_get(struct st_store *s, const char *ns, const char *key, char **value,
		    struct st_error **err);
int st_store_kv_put(struct st_store *s, const char *ns, const char *key, const char *value,
		    struct st_error **err);
/* A missing key is not an error. */
int st_store_kv_delete(struct st_store *s, const char *ns, const char *key, struct st_error **err);

struct st_store_kv {
	char *key;     /* owned */
	char *value;   /* owned; NULL unless listed with ST_STORE_KV_VALUES */
	uint64_t size; /* bytes of the value */
};
enum st_store_kv_list_flags {
	ST_STORE_KV_VALUES = 1 << 0, /* also read the values (they may be large) */
};
/* The keys of namespace 'ns', sorted. *out is a new array of *n: st_store_kvs_free(). */
int st_store_kv_list(struct st_store *s, const char *ns, unsigned flags, struct st_store_kv **out,
		     size_t *n, struct st_error **err);
void st_store_kvs_free(struct st_store_kv *v, size_t n);
/* Delete every key of 'ns'. *removed (may be NULL) receives how many there were. */
int st_store_kv_delete_ns(struct st_store *s, const char *ns, size_t *removed,
			  struct st_error **err);

/* ---- Leases ------------------------------------------------------------------------------- */

/*
 * A lease protects blobs, layer records and unpacked layers (by digest or diff_id) from gc
 * until st_store_lease_end(). It is held by an flock() on leases/<id>, so a process that dies,
 * even by SIGKILL, stops protecting at once; gc then deletes its records. *out is new.
 */
int st_store_lease_begin(struct st_store *s, struct st_store_lease **out, struct st_error **err);
/* Protect 'digest' (a blob digest or a diff_id). Adding twice is harmless. */
int st_store_lease_add(struct st_store_lease *l, const char *digest, struct st_error **err);
/* Borrowed. */
const char *st_store_lease_id(const struct st_store_lease *l);
/*
 * Free 'l' without ending the lease, for a process to fork off a holder: the returned fd
 * (O_CLOEXEC, the caller's to close) holds the lease's lock, and the lease lives as long as
 * that fd is open in some process. gc then deletes it.
 */
int st_store_lease_hand_over(struct st_store_lease *l);
/* End the lease and free it. NULL does nothing. Never fails: gc cleans up what this leaves. */
void st_store_lease_end(struct st_store_lease *l);
void st_store_lease_endp(struct st_store_lease **l);

/* ---- Garbage collection, check, disk usage ------------------------------------------------ */

enum st_store_gc_flags {
	ST_STORE_GC_DRY_RUN = 1 << 0, /* count what would be removed, remove nothing */
	/* Also remove lease files without a row younger than ST_STORE_TMP_GRACE. Only safe when
	 * no other strata process runs. */
	ST_STORE_GC_TMP_NOW = 1 << 1,
};

struct st_store_gc_report {
	size_t blobs; /* blobs removed */
	uint64_t blob_bytes;
	size_t layers;		 /* layer records removed */
	size_t unpacked;	 /* unpacked layer directories removed */
	uint64_t unpacked_bytes; /* as recorded by st_store_unpacked_mark() */
	size_t tmp;		 /* tmp/ entries removed */
	uint64_t tmp_bytes;
	size_t tmp_mounts; /* stale mounts under tmp/ unmounted */
	size_t
	    tmp_kept;  /* stale tmp/ entries that could not be removed (st_store_check says why) */
	size_t leases; /* dead leases expired */
	size_t edges;  /* edges removed with the object they started from */
};

/*
 * Remove what nothing reaches: blobs, layer records and unpacked layers not needed by an
 * image, a reference, a cache record, a live lease or an edge from something kept (an
 * artifact whose subject goes goes with it); dead leases; stale tmp/ entries.
 * 'report' may be NULL. Safe to run while other processes use the store.
 */
int st_store_gc(struct st_store *s, unsigned flags, struct st_store_gc_report *report,
		struct st_error **err);

struct st_store_check_report {
	size_t blobs;	  /* blobs verified */
	uint64_t bytes;	  /* bytes hashed */
	size_t leftovers; /* stale tmp/ entries of killed processes removed */
	uint64_t leftover_bytes;
	size_t leftover_mounts; /* stale mounts under tmp/ unmounted */
	char **problems; /* owned, one line each, e.g. "blob sha256:...: content hashes to ..." */
	size_t n_problems;
};
/*
 * Verify every blob's content, the database's integrity, and that every reference, image,
 * layer record and unpacked mark points to something that exists. Repairs only one thing:
 * what killed processes left in tmp/ (stale mounts and trees nobody holds) is removed, as gc
 * would, and counted; a leftover that cannot be removed is a problem naming it. Returns 0
 * when the check ran (problems or not); -1 only if it could not run.
 */
int st_store_check(struct st_store *s, struct st_store_check_report *report, struct st_error **err);
void st_store_check_report_release(struct st_store_check_report *r);

struct st_store_df {
	size_t images;		     /* image records */
	size_t images_active;	     /* images some reference points to */
	uint64_t images_size;	     /* uncompressed size of their layers, each diff_id once */
	uint64_t images_reclaimable; /* of that, layers only dangling images use */
	size_t layers;		     /* distinct diff_ids recorded */
	size_t blobs;		     /* blob files */
	uint64_t blobs_size;	     /* their bytes on disk */
	size_t unpacked;	     /* unpacked layers */
	uint64_t unpacked_size;	     /* as recorded */
	size_t cache;		     /* build cache records */
	uint64_t cache_size;	     /* their recorded sizes (all reclaimable by cache prune) */
	uint64_t gc_reclaimable;     /* blob + unpacked + tmp bytes st_store_gc() would free now */
};
/* Disk usage, like `docker system df`. */
int st_store_df(struct st_store *s, struct st_store_df *out, struct st_error **err);

#endif
