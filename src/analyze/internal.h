/* internal.h: the analysis's tables, shared by the files of src/analyze/. */
#ifndef ST_ANALYZE_INTERNAL_H
#define ST_ANALYZE_INTERNAL_H

#include <stdint.h>

#include "analyze/analyze.h"
#include "layer/layer.h"

#define NO_ID UINT32_MAX

enum entry_flags {
	ENTRY_SAME_CONTENT = 1 << 0, /* replaced by the same bytes (a chown, chmod or touch) */
	ENTRY_DELETED = 1 << 1,	     /* hidden by a whiteout or an opaque dir, not replaced */
	ENTRY_LINKED = 1 << 2,	     /* a hardlink to it shows in the final filesystem */
};

/* One tar entry. Memory per entry, not per byte: the contents are hashed and dropped. */
struct entry {
	uint64_t size;
	uint64_t hash;	 /* the first 8 bytes of the content's SHA-256 (regular files) */
	uint32_t node;	 /* the path */
	uint32_t link;	 /* offset + 1 of the link target in the names, 0 for none */
	uint32_t target; /* a hardlink's entry in the same layer, NO_ID if none */
	uint32_t mode, uid, gid;
	uint16_t layer;
	uint16_t removed_in; /* the layer that hid or replaced it; NO_LAYER if it shows */
	uint8_t type;	     /* enum st_layer_entry_type */
	uint8_t status;	     /* enum st_analyze_status */
	uint8_t flags;	     /* enum entry_flags */
};
#define NO_LAYER UINT16_MAX

enum node_flags {
	NODE_PRESENT = 1 << 0,	    /* in the final filesystem as built so far */
	NODE_DIVE_PRESENT = 1 << 1, /* in dive's stack of the layers so far */
	NODE_DIVE_DIR = 1 << 2,	    /* dive's stack holds it as a directory entry */
};

/* One interned path: a name under a parent. Node 0 is the root. */
struct node {
	uint32_t parent, child, sibling; /* the tree of every path ever seen */
	uint32_t hnext;			 /* the intern table's chain */
	uint32_t name;			 /* offset of the NUL-terminated name in 'names' */
	uint32_t top;			 /* the last entry of this path, NO_ID if none */
	uint32_t layer_entry;		 /* its entry in the layer being read */
	uint32_t sightings;		 /* dive: how often it was a leaf of a layer */
	uint64_t cumulative, min;	 /* dive: the sightings' sizes */
	uint64_t dive_size;		 /* dive: its size in the stack so far */
	uint16_t stamp;			 /* the last layer whose tree holds it, + 1 */
	uint16_t child_stamp;		 /* the last layer whose tree holds a child of it, + 1 */
	uint8_t flags;			 /* enum node_flags */
};

struct layer {
	struct st_analyze_layer pub;
	char *digest, *diff_id, *command;
	uint32_t first, count; /* its entries */
};

struct st_analyze {
	struct node *nodes;
	uint32_t n_nodes, cap_nodes;
	uint32_t *buckets; /* the intern table: node ids, chained through hnext */
	uint32_t n_buckets;
	/* The directory of the last path interned and its node: a tar lists a directory's
	 * entries together, so most paths start with the one before's directory. */
	struct st_buf last_dir;
	uint32_t last_dir_id;
	struct st_buf names;
	struct entry *entries;
	uint32_t n_entries, cap_entries;
	struct layer *layers;
	size_t n_layers, n_base;
	enum st_analyze_flags flags;
	char **warnings;
	size_t n_warnings;
	struct st_analyze_dive dive;
	struct st_analyze_waste waste;
};

/* The path of node 'id' into 'out' (reset first), without a leading '/'. */
void analyze_node_path(const struct st_analyze *a, uint32_t id, struct st_buf *out);
/* Borrowed: the name of node 'id'. */
static inline const char *analyze_node_name(const struct st_analyze *a, uint32_t id)
{
	return a->names.data + a->nodes[id].name;
}

/* figures.c: dive's figures and strata's, once every layer is read. */
void analyze_figures(struct st_analyze *a);
void analyze_figures_release(struct st_analyze *a);

#endif
