/*
 * analyze.h: what an image's layers hold and what they waste. Each layer is streamed once;
 * its entries become a tree of interned paths, each marked added, modified or removed against
 * the layers below, and the image's final filesystem is kept as it builds up. From them come
 * two sets of figures side by side:
 *
 * - dive 0.13's, computed as dive computes them so that the numbers compare: every sighting of
 *   a leaf of a layer's own tree counts its size (a whiteout: the size of the directory it
 *   deletes, 0 for a file; opaque markers are ignored); efficiency = sum of each path's
 *   smallest sighting / sum of all sightings; wasted bytes = every sighting of the paths seen
 *   twice or more, the surviving copy included; user-wasted percent = wasted bytes / the size
 *   of every layer but the first.
 * - strata's: the bytes the layers carry that the final filesystem does not show (every
 *   superseded copy, every deleted file, everything a removed or opaque directory hid; a file
 *   with several hardlinks counted once), each charged to the history entry that added it and
 *   the one that removed or overwrote it, grouped into findings with a fix.
 */
#ifndef ST_ANALYZE_ANALYZE_H
#define ST_ANALYZE_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image.h"
#include "layer/layer.h"
#include "local/local.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/events.h"

/* No layer: what a live entry was removed in, what a finding without a remover names. */
#define ST_ANALYZE_NONE SIZE_MAX

struct st_analyze;

/* A layer as read, with the history entry that made it. Strings are borrowed from the analysis. */
struct st_analyze_layer {
	const char *digest;  /* the compressed blob */
	const char *diff_id; /* the uncompressed tar */
	const char *command; /* created_by of its history entry; NULL when the history is short */
	uint64_t size;	     /* what its entries hold: tar header sizes (dive's layer size) */
	size_t n_entries;
	size_t n_added, n_modified, n_removed; /* entries, against the layers below */
	uint64_t wasted; /* strata's: bytes of this layer the final filesystem does not show */
	bool base;	 /* one of the base image's layers */
};

enum st_analyze_status {
	ST_ANALYZE_ADDED,
	ST_ANALYZE_MODIFIED, /* type, size, content, mode, uid or gid differ from the one below */
	ST_ANALYZE_UNMODIFIED,
	ST_ANALYZE_REMOVED, /* a whiteout, or an opaque directory's marker */
};

/* One entry of a layer, as st_analyze_entry() fills it. */
struct st_analyze_entry {
	const char *path; /* borrowed from the caller's buffer: "etc/passwd", no leading '/' */
	enum st_layer_entry_type type;
	enum st_analyze_status status;
	uint64_t size;
	uint32_t mode, uid, gid;
	const char *linkname; /* borrowed from the analysis; NULL when none */
	size_t layer;	      /* the layer it comes from */
	size_t removed_in;    /* the layer that hid or replaced it; ST_ANALYZE_NONE if it shows */
};

enum st_analyze_flags {
	/* Leave the base image's layers out of strata's waste and of the findings. */
	ST_ANALYZE_EXCLUDE_BASE = 1 << 0,
};

struct st_analyze_opts {
	enum st_analyze_flags flags;
	/*
	 * How many bottom layers are the base image's. 0: the longest image of the store whose
	 * layers are a strict prefix of this image's (the one it was built FROM), if any.
	 */
	size_t n_base;
	/* Each layer as it is read: "Reading layer" with the bytes read so far (of a total not
	 * known), then "Read complete"; the id is the layer blob's short digest. */
	struct st_events events;
};

/*
 * Analyse 'img' of store 's': every layer is read once, its diff_id checked. *out is new:
 * st_analyze_free(). A truncated or malformed layer is an error naming the layer (ST_E_PARSE,
 * ST_E_INVALID); a whiteout of a path no layer below has is only a warning
 * (st_analyze_warnings()). 'opts' may be NULL.
 */
int st_analyze_image(struct st_store *s, const struct st_store_image *img,
		     const struct st_analyze_opts *opts, struct st_analyze **out,
		     struct st_error **err);

/* Layers from anywhere else (an archive read in place): the caller opens each one. */
/* As st_analyze_image(); the base image is only known from opts->n_base. */
int st_analyze_read(const struct st_local_layers *in, const struct st_analyze_opts *opts,
		    struct st_analyze **out, struct st_error **err);
void st_analyze_free(struct st_analyze *a);

/*
 * The layers of 'inner' (borrowed) as p->in, each open, read and close of a layer reported to
 * 'events' (borrowed) as st_analyze_opts.events says: for the analysis, and for other readers
 * of an image's layers (the SBOM). 'p' must stay where it is while p->in is read.
 */
struct st_analyze_progress {
	struct st_local_layers in;
	const struct st_local_layers *inner;
	const struct st_events *events;
	struct st_layer_source src; /* the open layer's, from 'inner' */
	char id[ST_EVENTS_ID_LEN + 1];
	uint64_t done;
};
void st_analyze_progress_init(struct st_analyze_progress *p, const struct st_local_layers *inner,
			      const struct st_events *events);
void st_analyze_freep(struct st_analyze **a);

size_t st_analyze_n_layers(const struct st_analyze *a);
/* Borrowed. */
const struct st_analyze_layer *st_analyze_layer(const struct st_analyze *a, size_t i);
/* How many bottom layers are the base image's (0 if it is not known). */
size_t st_analyze_n_base(const struct st_analyze *a);
/* Borrowed: messages about odd but readable layers ("layer 2: whiteout of 'x', which ..."). */
const char *const *st_analyze_warnings(const struct st_analyze *a, size_t *n);

/* Entry 'k' of layer 'i', in the layer's tar order; e->path is written into 'path'. */
void st_analyze_entry(const struct st_analyze *a, size_t i, size_t k, struct st_buf *path,
		      struct st_analyze_entry *e);

/*
 * Call 'fn' for every node of layer 'i''s own tree in dive's order (children before their
 * parent, siblings sorted bytewise), the root excepted. A directory the layer has no entry of
 * (it only holds something below it) comes with e == NULL. Whiteouts come as their
 * '.wh.<name>' path, as dive lists them. A non-zero return of 'fn' stops the walk.
 */
typedef int (*st_analyze_node_fn)(void *ctx, const char *path, const struct st_analyze_entry *e);
int st_analyze_layer_walk(const struct st_analyze *a, size_t i, st_analyze_node_fn fn, void *ctx);

/*
 * Call 'fn' for every path of the final filesystem, parents first, siblings sorted bytewise.
 * e->size of a directory is what it holds, all the way down. A directory made only by what is
 * below it comes with type ST_LAYER_ENTRY_DIR and status ADDED.
 */
int st_analyze_final_walk(const struct st_analyze *a, st_analyze_node_fn fn, void *ctx);

/* ---- dive's figures ---- */

struct st_analyze_inefficiency {
	char *path;	/* "/etc/passwd", as dive shows it */
	size_t count;	/* sightings */
	uint64_t bytes; /* all of them together */
};

struct st_analyze_dive {
	uint64_t size;		    /* the sum of the layers' sizes */
	uint64_t user_size;	    /* the same without the first layer */
	double efficiency;	    /* 1 when nothing was seen */
	uint64_t wasted_bytes;	    /* dive's inefficientBytes */
	double user_wasted_percent; /* a fraction; NaN or infinity for a single layer, as dive */
	struct st_analyze_inefficiency *files; /* largest first, as dive lists them */
	size_t n_files;
};
/* Borrowed: dive's figures, computed with the analysis. */
const struct st_analyze_dive *st_analyze_dive(const struct st_analyze *a);

/* ---- strata's figures and findings ---- */

enum st_analyze_kind {
	ST_ANALYZE_CACHE,	/* a package manager's cache in the layer that made it */
	ST_ANALYZE_DELETED,	/* added in one step, deleted in a later one */
	ST_ANALYZE_COPIED,	/* the same bytes again with other owners, modes or times */
	ST_ANALYZE_OVERWRITTEN, /* replaced by other bytes in a later step */
	ST_ANALYZE_SECRET,	/* a file that looks like a key or credentials, deleted or not */
	ST_ANALYZE_BUILD_TOOLS, /* compilers and build tools in the final filesystem */
};

struct st_analyze_finding {
	enum st_analyze_kind kind;
	uint64_t bytes;
	size_t files;
	size_t added_in;   /* layer */
	size_t removed_in; /* layer, or ST_ANALYZE_NONE */
	char *example;	   /* the largest of its files, "/var/lib/apt/lists/x" */
	const char *hint;  /* static: the fix */
};

struct st_analyze_waste {
	uint64_t size;	       /* the layers' sizes; without the base's with EXCLUDE_BASE */
	uint64_t wasted_bytes; /* what the final filesystem does not show */
	size_t wasted_files;
	double efficiency;		     /* 1 - wasted / size; 1 for an empty image */
	struct st_analyze_finding *findings; /* largest first */
	size_t n_findings;
};
/* Borrowed: strata's figures and findings. */
const struct st_analyze_waste *st_analyze_waste(const struct st_analyze *a);
/* Static: "cache", "deleted", "copied", "overwritten", "secret", "build-tools". */
const char *st_analyze_kind_name(enum st_analyze_kind k);

/* ---- CI rules: dive's .dive-ci and strata's own ---- */

enum st_analyze_rule_id {
	ST_ANALYZE_RULE_LOWEST_EFFICIENCY,	 /* dive: efficiency below */
	ST_ANALYZE_RULE_HIGHEST_WASTED_BYTES,	 /* dive: wasted bytes above */
	ST_ANALYZE_RULE_HIGHEST_USER_WASTED,	 /* dive: user-wasted percent above */
	ST_ANALYZE_RULE_HIGHEST_IMAGE_SIZE,	 /* strata: the layers' size above */
	ST_ANALYZE_RULE_HIGHEST_STRATA_WASTED,	 /* strata: strata's wasted bytes above */
	ST_ANALYZE_RULE_HIGHEST_WASTED_INCREASE, /* strata: waste grown past the baseline's */
	ST_ANALYZE_N_RULES,
};

struct st_analyze_rules {
	/* The value as configured (dive's "0.9", "20MB"), new; NULL or disabled: skipped. */
	char *value[ST_ANALYZE_N_RULES];
};

/* dive's defaults: lowestEfficiency 0.9, highestUserWastedPercent 0.1, the rest disabled. */
void st_analyze_rules_init(struct st_analyze_rules *r);
void st_analyze_rules_release(struct st_analyze_rules *r);
/*
 * Static: the rule's key in .dive-ci: dive's lowestEfficiency, highestWastedBytes and
 * highestUserWastedPercent; strata's highestImageSize (bytes), highestStrataWastedBytes (bytes)
 * and highestStrataWastedIncrease (bytes of strata's waste over the baseline's).
 */
const char *st_analyze_rule_name(enum st_analyze_rule_id id);
/* Set rule 'key' (its .dive-ci name) to 'value'. ST_E_INVALID for an unknown key. */
int st_analyze_rules_set(struct st_analyze_rules *r, const char *key, const char *value,
			 struct st_error **err);
/*
 * Read a .dive-ci file's bytes: a YAML mapping whose 'rules' mapping sets the keys above, in
 * dive's camelCase. Other top-level keys are ignored, as dive ignores them. 'what' names the
 * file in errors: "what:3: rules: expected a mapping" (ST_E_PARSE).
 */
int st_analyze_rules_parse(struct st_analyze_rules *r, const void *data, size_t len,
			   const char *what, struct st_error **err);

enum st_analyze_verdict { ST_ANALYZE_PASS, ST_ANALYZE_FAIL, ST_ANALYZE_SKIP };
struct st_analyze_result {
	enum st_analyze_rule_id id;
	enum st_analyze_verdict verdict;
	char *message; /* new: dive's text: the threshold, "disabled", or why it failed */
};
/*
 * Evaluate 'r' on 'a'; 'baseline' (may be NULL: that rule is skipped) is the previous
 * release's analysis. *out is a new array of ST_ANALYZE_N_RULES results sorted by rule name,
 * as dive prints them: st_analyze_results_free(). ST_E_INVALID for a value that does not
 * parse or is out of range, naming the rule, as dive does.
 */
int st_analyze_rules_eval(const struct st_analyze_rules *r, const struct st_analyze *a,
			  const struct st_analyze *baseline, struct st_analyze_result **out,
			  struct st_error **err);
void st_analyze_results_free(struct st_analyze_result *v, size_t n);

/* Parse go-humanize bytes as dive does: "20MB" = 20000000, "20MiB", "1.5 kB", "300". */
int st_analyze_parse_bytes(const char *s, uint64_t *out, struct st_error **err);

/* ---- image diff ---- */

enum st_analyze_change {
	ST_ANALYZE_CHANGE_ADDED,
	ST_ANALYZE_CHANGE_DELETED,
	ST_ANALYZE_CHANGE_CHANGED
};

struct st_analyze_diff_entry {
	enum st_analyze_change change;
	char *path;	      /* "/etc/passwd" */
	uint64_t size_before; /* 0 when added */
	uint64_t size_after;  /* 0 when deleted */
};

/*
 * The paths of 'b''s final filesystem that are not in 'a''s (added), in 'a''s and not in
 * 'b''s (deleted), or in both but differing in type, size, content, mode, owner or link target
 * (changed), sorted by path. *out is a new array: st_analyze_diff_free().
 */
void st_analyze_diff(const struct st_analyze *a, const struct st_analyze *b,
		     struct st_analyze_diff_entry **out, size_t *n);
void st_analyze_diff_free(struct st_analyze_diff_entry *v, size_t n);

#endif
