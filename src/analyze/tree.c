/*
 * tree.c: reading an image's layers into interned paths, and the two stacks built from them:
 * the real one (what the final filesystem shows, and who hid what) and dive's.
 *
 * Each path is a node (a name under a parent) found through one hash table, so a path costs
 * its last component once however many layers list it. A layer's entries are kept (without
 * their contents, which are only hashed), and applied to the stacks once the whole layer has
 * been read: a whiteout deletes against the layers below only, wherever it sits in the tar.
 * Deleting a directory walks only what is present below it, never the lower layers again.
 */
#include "analyze/internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest/digest.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

#define MAX_WARNINGS 20

/* ---- interning ---- */

static uint64_t name_hash(uint32_t parent, const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ULL);
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static void rehash(struct st_analyze *a)
{
	uint32_t nb = a->n_buckets ? a->n_buckets * 2 : 1024;
	free(a->buckets);
	a->buckets = st_xmalloc(nb * sizeof(*a->buckets));
	memset(a->buckets, 0xff, nb * sizeof(*a->buckets));
	a->n_buckets = nb;
	for (uint32_t id = 1; id < a->n_nodes; id++) {
		const char *name = analyze_node_name(a, id);
		uint32_t b =
		    (uint32_t)name_hash(a->nodes[id].parent, name, strlen(name)) & (nb - 1);
		a->nodes[id].hnext = a->buckets[b];
		a->buckets[b] = id;
	}
}

static uint32_t new_node(struct st_analyze *a, uint32_t parent, const char *s, size_t n)
{
	if (a->n_nodes == a->cap_nodes) {
		a->cap_nodes = a->cap_nodes ? a->cap_nodes * 2 : 1024;
		a->nodes = st_xrealloc(a->nodes, a->cap_nodes * sizeof(*a->nodes));
	}
	uint32_t id = a->n_nodes++;
	struct node *nd = &a->nodes[id];
	memset(nd, 0, sizeof(*nd));
	nd->parent = parent;
	nd->child = nd->sibling = nd->hnext = nd->top = nd->layer_entry = NO_ID;
	nd->name = (uint32_t)a->names.len;
	st_buf_add(&a->names, s, n);
	st_buf_addch(&a->names, '\0');
	if (id) {
		nd->sibling = a->nodes[parent].child;
		a->nodes[parent].child = id;
	}
	return id;
}

/* The child 'name' (n bytes) of 'parent', made if 'create'; NO_ID if absent. */
static uint32_t child_of(struct st_analyze *a, uint32_t parent, const char *s, size_t n,
			 bool create)
{
	if (a->n_buckets) {
		uint32_t b = (uint32_t)name_hash(parent, s, n) & (a->n_buckets - 1);
		for (uint32_t id = a->buckets[b]; id != NO_ID; id = a->nodes[id].hnext) {
			const char *name = analyze_node_name(a, id);
			if (a->nodes[id].parent == parent && !strncmp(name, s, n) && !name[n])
				return id;
		}
	}
	if (!create)
		return NO_ID;
	uint32_t id = new_node(a, parent, s, n);
	if (a->n_nodes > a->n_buckets)
		rehash(a);
	else {
		uint32_t b = (uint32_t)name_hash(parent, s, n) & (a->n_buckets - 1);
		a->nodes[id].hnext = a->buckets[b];
		a->buckets[b] = id;
	}
	return id;
}

/* The node of the components of 'path' (n bytes) under 'id'; NO_ID if absent and not 'create'. */
static uint32_t walk(struct st_analyze *a, uint32_t id, const char *path, size_t len, bool create)
{
	for (const char *c = path, *end = path + len; c < end && id != NO_ID;) {
		const char *slash = memchr(c, '/', (size_t)(end - c));
		size_t n = slash ? (size_t)(slash - c) : (size_t)(end - c);
		id = child_of(a, id, c, n, create);
		c += n + (slash != NULL);
	}
	return id;
}

/*
 * The node of a normalised path ("" is the root); NO_ID if absent and not 'create'. Only
 * creating calls (reading a layer) use and update the last directory: a lookup changes
 * nothing, so a const analysis stays untouched.
 */
static uint32_t intern(struct st_analyze *a, const char *path, bool create)
{
	const char *slash = strrchr(path, '/');
	if (!slash || !create)
		return walk(a, 0, path, strlen(path), create);
	size_t dlen = (size_t)(slash - path);
	uint32_t dir;
	if (a->last_dir.len == dlen && a->last_dir_id != NO_ID &&
	    !memcmp(a->last_dir.data, path, dlen)) {
		dir = a->last_dir_id;
	} else {
		dir = walk(a, 0, path, dlen, create);
		if (dir == NO_ID)
			return NO_ID;
		st_buf_reset(&a->last_dir);
		st_buf_add(&a->last_dir, path, dlen);
		a->last_dir_id = dir;
	}
	return walk(a, dir, slash + 1, strlen(slash + 1), create);
}

void analyze_node_path(const struct st_analyze *a, uint32_t id, struct st_buf *out)
{
	st_buf_reset(out);
	if (!id)
		return;
	/* the depth first, then fill from the end */
	size_t len = 0;
	for (uint32_t q = id; q; q = a->nodes[q].parent)
		len += strlen(analyze_node_name(a, q)) + 1;
	st_buf_grow(out, len);
	st_buf_setlen(out, len - 1);
	size_t end = len - 1;
	for (uint32_t q = id; q; q = a->nodes[q].parent) {
		const char *name = analyze_node_name(a, q);
		size_t n = strlen(name);
		end -= n;
		memcpy(out->data + end, name, n);
		if (end)
			out->data[--end] = '/';
	}
}

/* ---- reading a layer ---- */

static bool has_dotdot(const char *path)
{
	for (const char *c = path; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return true;
		c += n + (c[n] == '/');
	}
	return false;
}

static uint32_t new_entry(struct st_analyze *a)
{
	if (a->n_entries == a->cap_entries) {
		a->cap_entries = a->cap_entries ? a->cap_entries * 2 : 4096;
		a->entries = st_xrealloc(a->entries, a->cap_entries * sizeof(*a->entries));
	}
	struct entry *e = &a->entries[a->n_entries];
	memset(e, 0, sizeof(*e));
	e->target = NO_ID;
	e->removed_in = NO_LAYER;
	return a->n_entries++;
}

static uint32_t add_name(struct st_analyze *a, const char *s)
{
	uint32_t off = (uint32_t)a->names.len;
	st_buf_adds(&a->names, s);
	st_buf_addch(&a->names, '\0');
	return off + 1;
}

/* Hash a regular file's content: equal hashes are how a copy with new owners is told apart. */
static int hash_content(struct st_layer_reader *r, struct st_hasher *h, struct entry *e, char *buf,
			size_t cap, struct st_error **err)
{
	ssize_t k;
	while ((k = st_layer_reader_read(r, buf, cap, err)) > 0)
		st_hasher_update(h, buf, (size_t)k);
	unsigned char md[32];
	st_hasher_next(h, md);
	if (k < 0)
		return -1;
	memcpy(&e->hash, md, sizeof(e->hash));
	return 0;
}

/* Mark 'id' and its parents as nodes of layer 'stamp''s own tree (dive's per-layer tree). */
static void mark_in_tree(struct st_analyze *a, uint32_t id, uint16_t stamp, bool self)
{
	if (self)
		a->nodes[id].stamp = stamp;
	for (uint32_t q = id; q;) {
		uint32_t p = a->nodes[q].parent;
		a->nodes[p].child_stamp = stamp;
		if (!p || a->nodes[p].stamp == stamp)
			break;
		a->nodes[p].stamp = stamp;
		q = p;
	}
}

static int read_layer(struct st_analyze *a, size_t li, struct st_layer_source src,
		      const struct st_digest *want, struct st_error **err)
{
	st_auto(st_layer_reader) struct st_layer_reader *r = st_layer_reader_new(src, err);
	if (!r)
		return -1;
	struct layer *l = &a->layers[li];
	uint16_t stamp = (uint16_t)(li + 1);
	l->first = a->n_entries;
	st_autofree char *buf = st_xmalloc(1 << 16);
	struct st_hasher h;
	st_hasher_init(&h);
	struct st_buf target = ST_BUF_INIT;
	struct st_layer_entry le;
	int rc;
	while ((rc = st_layer_reader_next(r, &le, err)) == 1) {
		/* the root's own entry, and aufs bookkeeping, are not content (dive drops both) */
		if (!*le.path || le.type == ST_LAYER_ENTRY_OTHER)
			continue;
		if (has_dotdot(le.path)) {
			rc = st_err(err, ST_E_INVALID, "entry '%s': path escapes the root",
				    le.raw_path);
			break;
		}
		uint32_t id = intern(a, le.path, true);
		uint32_t k = new_entry(a);
		struct entry *e = &a->entries[k];
		e->node = id;
		e->layer = (uint16_t)li;
		e->type = (uint8_t)le.type;
		e->size = le.size;
		e->mode = le.mode;
		e->uid = le.uid;
		e->gid = le.gid;
		if (le.linkname)
			e->link = add_name(a, le.linkname);
		l->pub.size += le.size;
		if (le.type == ST_LAYER_ENTRY_WHITEOUT) {
			/* dive's node is '.wh.<name>', a leaf beside the path it deletes */
			mark_in_tree(a, id, stamp, false);
			continue;
		}
		mark_in_tree(a, id, stamp, true);
		if (le.type == ST_LAYER_ENTRY_OPAQUE)
			continue;
		a->nodes[id].layer_entry = k;
		if (le.type == ST_LAYER_ENTRY_HARDLINK) {
			/* a hardlink names an earlier entry of the same tar */
			if (st_path_normalize(le.linkname, &target)) {
				uint32_t t = intern(a, target.data, false);
				uint32_t te = t == NO_ID ? NO_ID : a->nodes[t].layer_entry;
				if (te != NO_ID && a->entries[te].layer == li &&
				    a->entries[te].type == ST_LAYER_ENTRY_FILE)
					e->target = te;
			}
		} else if (le.type == ST_LAYER_ENTRY_FILE &&
			   hash_content(r, &h, e, buf, 1 << 16, err) < 0) {
			rc = -1;
			break;
		}
	}
	st_buf_release(&target);
	st_hasher_release(&h);
	if (rc < 0)
		return -1;
	l->count = a->n_entries - l->first;
	struct st_digest diff_id;
	if (st_layer_reader_diff_id(r, &diff_id, NULL, err) < 0)
		return -1;
	if (!st_digest_equal(&diff_id, want))
		return st_err(err, ST_E_DIGEST,
			      "diff_id mismatch: the content is %s, the image says %s", diff_id.str,
			      want->str);
	return 0;
}

/* ---- dive's sightings ---- */

/* Something below a node: a small explicit stack, reused (paths can be deep, trees wide). */
struct walk {
	uint32_t *v;
	size_t n, cap;
};

static void walk_push(struct walk *w, uint32_t id)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 256;
		w->v = st_xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	w->v[w->n++] = id;
}

/* dive's size of a directory it deletes: everything in its stack below it. */
static uint64_t dive_subtree_size(struct st_analyze *a, uint32_t id, struct walk *w)
{
	uint64_t sum = 0;
	w->n = 0;
	walk_push(w, id);
	while (w->n) {
		uint32_t q = w->v[--w->n];
		sum += a->nodes[q].dive_size;
		for (uint32_t c = a->nodes[q].child; c != NO_ID; c = a->nodes[c].sibling)
			if (a->nodes[c].flags & NODE_DIVE_PRESENT)
				walk_push(w, c);
	}
	return sum;
}

struct sighting {
	uint32_t node;
	uint32_t entry; /* NO_ID for a directory dive made for an opaque marker */
	uint64_t size;
	bool missing; /* a whiteout of a path dive's stack does not have */
	char *key;    /* its place in dive's walk, only when a sighting is missing */
	size_t key_len;
};

/* dive's tree walk order: components compared bytewise, '\0' between them sorts first. */
static int sighting_cmp(const void *pa, const void *pb)
{
	const struct sighting *x = pa, *y = pb;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);
	if (c)
		return c;
	return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

static void sighting_key(struct st_analyze *a, struct sighting *g, struct st_buf *tmp)
{
	analyze_node_path(a, g->node, tmp);
	if (g->entry != NO_ID && a->entries[g->entry].type == ST_LAYER_ENTRY_WHITEOUT) {
		size_t b = strlen(analyze_node_name(a, g->node));
		st_buf_setlen(tmp, tmp->len - b);
		st_buf_addf(tmp, ".wh.%s", analyze_node_name(a, g->node));
	}
	for (size_t i = 0; i < tmp->len; i++)
		if (tmp->data[i] == '/')
			tmp->data[i] = '\0';
	g->key_len = tmp->len;
	g->key = st_xmalloc(tmp->len + 1);
	memcpy(g->key, tmp->data, tmp->len);
}

/*
 * dive visits the leaves of each layer's own tree and sizes a whiteout against the stack of
 * the layers below. A whiteout of a path that stack lacks makes dive's walk of that layer
 * stop there (dive logs it and goes on with the next layer): the leaves after it, in its walk
 * order, are not counted. dive looks a whiteout of layer 0 up in layer 0 itself, which seldom
 * holds what it deletes: here such a whiteout is always missing.
 */
static void dive_sightings(struct st_analyze *a, size_t li, struct walk *w)
{
	struct layer *l = &a->layers[li];
	uint16_t stamp = (uint16_t)(li + 1);
	struct sighting *v = st_xcalloc(l->count ? l->count : 1, sizeof(*v));
	size_t n = 0;
	bool any_missing = false;
	for (uint32_t k = l->first; k < l->first + l->count; k++) {
		struct entry *e = &a->entries[k];
		struct node *nd = &a->nodes[e->node];
		struct sighting g = { .node = e->node, .entry = k };
		if (e->type == ST_LAYER_ENTRY_WHITEOUT) {
			if (!(nd->flags & NODE_DIVE_PRESENT)) {
				g.missing = any_missing = true;
			} else if (nd->flags & NODE_DIVE_DIR) {
				g.size = dive_subtree_size(a, e->node, w);
			}
		} else if (e->type == ST_LAYER_ENTRY_OPAQUE) {
			/* the marker is dropped; the directory it sits in is a leaf if empty */
			bool explicit =
			    nd->layer_entry != NO_ID && a->entries[nd->layer_entry].layer == li;
			if (explicit || nd->child_stamp == stamp)
				continue;
			g.entry = NO_ID;
		} else {
			/* the last entry of a path in a tar is the one dive's tree keeps */
			if (nd->layer_entry != k || nd->child_stamp == stamp)
				continue;
			g.size = e->size;
		}
		v[n++] = g;
	}
	if (any_missing) {
		struct st_buf tmp = ST_BUF_INIT;
		for (size_t i = 0; i < n; i++)
			sighting_key(a, &v[i], &tmp);
		st_buf_release(&tmp);
		if (n > 1)
			qsort(v, n, sizeof(*v), sighting_cmp);
	}
	bool stopped = false;
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		if (stopped || (stopped = v[i].missing))
			continue;
		struct node *nd = &a->nodes[v[i].node];
		if (!nd->sightings || v[i].size < nd->min)
			nd->min = v[i].size;
		nd->sightings++;
		nd->cumulative += v[i].size;
	}
	free(v);
}

/* ---- applying a layer ---- */

static void warn(struct st_analyze *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct st_analyze *a, const char *fmt, ...)
{
	if (a->n_warnings > MAX_WARNINGS)
		return;
	a->warnings = st_xrealloc(a->warnings, (a->n_warnings + 1) * sizeof(*a->warnings));
	if (a->n_warnings == MAX_WARNINGS) {
		a->warnings[a->n_warnings++] = st_xstrdup("more warnings were left out");
		return;
	}
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	a->warnings[a->n_warnings++] = st_buf_detach(&b, NULL);
}

/* The entry that showed at a node stops showing in layer 'li'. */
static void hide_entry(struct st_analyze *a, struct node *nd, size_t li, uint8_t flags)
{
	if (nd->top == NO_ID)
		return;
	struct entry *e = &a->entries[nd->top];
	if (e->removed_in == NO_LAYER) {
		e->removed_in = (uint16_t)li;
		e->flags |= flags;
	}
}

/* Hide what shows below 'id' (and 'id' itself if 'self'), charged to layer 'li'. */
static void remove_below(struct st_analyze *a, uint32_t id, bool self, size_t li, uint8_t flags,
			 struct walk *w)
{
	w->n = 0;
	if (self) {
		walk_push(w, id);
	} else {
		for (uint32_t c = a->nodes[id].child; c != NO_ID; c = a->nodes[c].sibling)
			if (a->nodes[c].flags & NODE_PRESENT)
				walk_push(w, c);
	}
	while (w->n) {
		uint32_t q = w->v[--w->n];
		struct node *nd = &a->nodes[q];
		hide_entry(a, nd, li, flags);
		nd->flags &= (uint8_t)~NODE_PRESENT;
		for (uint32_t c = nd->child; c != NO_ID; c = a->nodes[c].sibling)
			if (a->nodes[c].flags & NODE_PRESENT)
				walk_push(w, c);
	}
}

static void dive_remove(struct st_analyze *a, uint32_t id, struct walk *w)
{
	w->n = 0;
	walk_push(w, id);
	while (w->n) {
		struct node *nd = &a->nodes[w->v[--w->n]];
		nd->flags &= (uint8_t)~NODE_DIVE_PRESENT;
		for (uint32_t c = nd->child; c != NO_ID; c = a->nodes[c].sibling)
			if (a->nodes[c].flags & NODE_DIVE_PRESENT)
				walk_push(w, c);
	}
}

static bool same_content(const struct entry *x, const struct entry *y)
{
	if (x->type != y->type || x->size != y->size)
		return false;
	if (x->type == ST_LAYER_ENTRY_FILE)
		return x->hash == y->hash;
	return true;
}

/* dive's FileInfo.Compare: type, content, mode, uid and gid. */
static bool same_entry(const struct st_analyze *a, const struct entry *x, const struct entry *y)
{
	if (!same_content(x, y) || x->mode != y->mode || x->uid != y->uid || x->gid != y->gid)
		return false;
	if (!x->link || !y->link)
		return x->link == y->link;
	return !strcmp(a->names.data + x->link - 1, a->names.data + y->link - 1);
}

/* Make the parents of 'id' show, as directories: what a file stood in their place is hidden. */
static void show_parents(struct st_analyze *a, uint32_t id, size_t li)
{
	for (uint32_t p = a->nodes[id].parent; p; p = a->nodes[p].parent) {
		struct node *nd = &a->nodes[p];
		if (nd->flags & NODE_PRESENT) {
			if (nd->top != NO_ID && a->entries[nd->top].type != ST_LAYER_ENTRY_DIR) {
				hide_entry(a, nd, li, 0);
				nd->top = NO_ID;
			}
			break;
		}
		nd->flags |= NODE_PRESENT;
		nd->top = NO_ID;
	}
}

/* dive stacks every node of a layer's tree: a parent without its own entry becomes empty. */
static void dive_show_parents(struct st_analyze *a, uint32_t id, size_t li, bool self)
{
	for (uint32_t p = self ? id : a->nodes[id].parent; p; p = a->nodes[p].parent) {
		struct node *nd = &a->nodes[p];
		bool explicit = nd->layer_entry != NO_ID && a->entries[nd->layer_entry].layer == li;
		if (!explicit) {
			nd->flags &= (uint8_t)~NODE_DIVE_DIR;
			nd->dive_size = 0;
		}
		nd->flags |= NODE_DIVE_PRESENT;
	}
}

static void apply_layer(struct st_analyze *a, size_t li, struct walk *w)
{
	struct layer *l = &a->layers[li];
	struct st_buf path = ST_BUF_INIT;
	/* deletions first: they act on the layers below, wherever the tar lists them */
	for (uint32_t k = l->first; k < l->first + l->count; k++) {
		struct entry *e = &a->entries[k];
		struct node *nd = &a->nodes[e->node];
		if (e->type == ST_LAYER_ENTRY_WHITEOUT) {
			e->status = ST_ANALYZE_REMOVED;
			l->pub.n_removed++;
			if (nd->flags & NODE_PRESENT) {
				remove_below(a, e->node, true, li, ENTRY_DELETED, w);
			} else {
				analyze_node_path(a, e->node, &path);
				warn(a, "layer %zu: whiteout of '%s', which no layer below has", li,
				     path.data);
			}
			if (nd->flags & NODE_DIVE_PRESENT)
				dive_remove(a, e->node, w);
		} else if (e->type == ST_LAYER_ENTRY_OPAQUE) {
			e->status = ST_ANALYZE_REMOVED;
			l->pub.n_removed++;
			remove_below(a, e->node, false, li, ENTRY_DELETED, w);
		}
	}
	st_buf_release(&path);
	for (uint32_t k = l->first; k < l->first + l->count; k++) {
		struct entry *e = &a->entries[k];
		struct node *nd = &a->nodes[e->node];
		if (e->type == ST_LAYER_ENTRY_WHITEOUT || e->type == ST_LAYER_ENTRY_OPAQUE) {
			dive_show_parents(a, e->node, li, e->type == ST_LAYER_ENTRY_OPAQUE);
			continue;
		}
		show_parents(a, e->node, li);
		bool dir = e->type == ST_LAYER_ENTRY_DIR;
		if (nd->flags & NODE_PRESENT) {
			const struct entry *old = nd->top == NO_ID ? NULL : &a->entries[nd->top];
			bool same = old ? same_entry(a, old, e) : dir;
			e->status = same ? ST_ANALYZE_UNMODIFIED : ST_ANALYZE_MODIFIED;
			if (old && old->type == ST_LAYER_ENTRY_FILE && same_content(old, e))
				hide_entry(a, nd, li, ENTRY_SAME_CONTENT);
			else
				hide_entry(a, nd, li, 0);
			/* only a directory over a directory keeps what is below */
			if (!dir || (old && old->type != ST_LAYER_ENTRY_DIR))
				remove_below(a, e->node, false, li, 0, w);
		} else {
			e->status = ST_ANALYZE_ADDED;
		}
		l->pub.n_added += e->status == ST_ANALYZE_ADDED;
		l->pub.n_modified += e->status == ST_ANALYZE_MODIFIED;
		nd->top = k;
		nd->flags |= NODE_PRESENT;
		dive_show_parents(a, e->node, li, false);
		nd->flags |= NODE_DIVE_PRESENT;
		if (dir)
			nd->flags |= NODE_DIVE_DIR;
		else
			nd->flags &= (uint8_t)~NODE_DIVE_DIR;
		nd->dive_size = e->size;
	}
}

/* ---- the image ---- */

/* The longest other image whose layers start this one's: the image it was built FROM. */
static int find_base(struct st_store *s, const struct st_store_image *img, size_t *out,
		     struct st_error **err)
{
	struct st_store_image **v = NULL;
	size_t n = 0;
	if (st_store_image_list(s, 0, &v, &n, err) < 0)
		return -1;
	*out = 0;
	for (size_t i = 0; i < n; i++) {
		const struct st_store_image *b = v[i];
		if (b->n_layers >= img->n_layers || b->n_layers <= *out)
			continue;
		size_t k = 0;
		while (k < b->n_layers &&
		       st_digest_equal(&b->layers[k].diff_id, &img->layers[k].diff_id))
			k++;
		if (k == b->n_layers)
			*out = k;
	}
	st_store_image_list_free(v, n);
	return 0;
}

/* created_by of each layer's history entry: the k-th entry that made a layer. */
static void name_layers(struct st_analyze *a, const struct st_image_config *cfg)
{
	size_t li = 0;
	for (size_t h = 0; h < cfg->n_history && li < a->n_layers; h++) {
		if (cfg->history[h].empty_layer)
			continue;
		const char *by = cfg->history[h].created_by;
		a->layers[li].command = st_xstrdup(by ? by : "");
		a->layers[li].pub.command = a->layers[li].command;
		li++;
	}
}

int st_analyze_read(const struct st_local_layers *layers, const struct st_analyze_opts *opts,
		    struct st_analyze **out, struct st_error **err)
{
	struct st_analyze_progress progress;
	st_analyze_progress_init(&progress, layers, opts ? &opts->events : NULL);
	const struct st_local_layers *in = &progress.in;
	if (in->n_layers >= NO_LAYER)
		return st_err(err, ST_E_INVALID, "image has %zu layers, more than %u", in->n_layers,
			      NO_LAYER - 1);
	st_auto(st_analyze) struct st_analyze *a = st_xcalloc(1, sizeof(*a));
	a->flags = opts ? opts->flags : 0;
	new_node(a, 0, "", 0);
	rehash(a);
	a->n_layers = in->n_layers;
	a->layers = st_xcalloc(a->n_layers ? a->n_layers : 1, sizeof(*a->layers));
	a->n_base = opts && opts->n_base < a->n_layers ? opts->n_base : 0;
	name_layers(a, in->config);
	struct walk w = { 0 };
	int rc = 0;
	size_t i = 0;
	for (; i < a->n_layers; i++) {
		struct layer *l = &a->layers[i];
		l->digest = st_xstrdup(in->digests[i].str);
		l->diff_id = st_xstrdup(in->diff_ids[i].str);
		l->pub.digest = l->digest;
		l->pub.diff_id = l->diff_id;
		l->pub.base = i < a->n_base;
		struct st_layer_source src;
		rc = in->open(in->ctx, i, &src, err);
		if (rc == 0) {
			rc = read_layer(a, i, src, &in->diff_ids[i], err);
			in->close(in->ctx, i);
		}
		if (rc < 0)
			break;
		l->pub.n_entries = l->count;
		dive_sightings(a, i, &w);
		apply_layer(a, i, &w);
	}
	free(w.v);
	if (rc < 0)
		return st_err_wrap(err, "layer %zu (%s)", i, in->digests[i].str);
	/* a file whose hardlink shows still shows, however its first name fared */
	for (uint32_t k = 0; k < a->n_entries; k++) {
		const struct entry *e = &a->entries[k];
		if (e->type == ST_LAYER_ENTRY_HARDLINK && e->removed_in == NO_LAYER &&
		    e->target != NO_ID)
			a->entries[e->target].flags |= ENTRY_LINKED;
	}
	analyze_figures(a);
	*out = st_steal(&a);
	return 0;
}

int st_analyze_image(struct st_store *s, const struct st_store_image *img,
		     const struct st_analyze_opts *opts, struct st_analyze **out,
		     struct st_error **err)
{
	struct st_analyze_opts o = opts ? *opts : (struct st_analyze_opts){ 0 };
	if (!o.n_base && find_base(s, img, &o.n_base, err) < 0)
		return -1;
	struct st_local_store_layers l;
	int rc = st_local_store_layers_open(s, img, &l, err);
	if (rc == 0)
		rc = st_analyze_read(&l.in, &o, out, err);
	st_local_store_layers_release(&l);
	return rc;
}

void st_analyze_free(struct st_analyze *a)
{
	if (!a)
		return;
	analyze_figures_release(a);
	for (size_t i = 0; i < a->n_layers; i++) {
		free(a->layers[i].digest);
		free(a->layers[i].diff_id);
		free(a->layers[i].command);
	}
	free(a->layers);
	st_strv_free(a->warnings, a->n_warnings);
	free(a->nodes);
	free(a->buckets);
	free(a->entries);
	st_buf_release(&a->names);
	st_buf_release(&a->last_dir);
	free(a);
}

void st_analyze_freep(struct st_analyze **a)
{
	st_analyze_free(*a);
}

size_t st_analyze_n_layers(const struct st_analyze *a)
{
	return a->n_layers;
}

const struct st_analyze_layer *st_analyze_layer(const struct st_analyze *a, size_t i)
{
	return &a->layers[i].pub;
}

size_t st_analyze_n_base(const struct st_analyze *a)
{
	return a->n_base;
}

const char *const *st_analyze_warnings(const struct st_analyze *a, size_t *n)
{
	*n = a->n_warnings;
	return (const char *const *)a->warnings;
}

static void fill_entry(const struct st_analyze *a, const struct entry *x,
		       struct st_analyze_entry *e)
{
	e->type = (enum st_layer_entry_type)x->type;
	e->status = (enum st_analyze_status)x->status;
	e->size = x->size;
	e->mode = x->mode;
	e->uid = x->uid;
	e->gid = x->gid;
	e->linkname = x->link ? a->names.data + x->link - 1 : NULL;
	e->layer = x->layer;
	e->removed_in = x->removed_in == NO_LAYER ? ST_ANALYZE_NONE : x->removed_in;
}

void st_analyze_entry(const struct st_analyze *a, size_t i, size_t k, struct st_buf *path,
		      struct st_analyze_entry *e)
{
	const struct entry *x = &a->entries[a->layers[i].first + k];
	analyze_node_path(a, x->node, path);
	fill_entry(a, x, e);
	e->path = path->data;
}

/* ---- walks ---- */

struct tree_node {
	char *key; /* components joined by '\0' */
	size_t key_len;
	uint32_t entry; /* NO_ID: a directory the layer only holds something below */
	uint32_t node;
};

/* Children before their parent, siblings bytewise: dive's VisitDepthChildFirst. */
static int child_first_cmp(const void *pa, const void *pb)
{
	const struct tree_node *x = pa, *y = pb;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);
	if (c || x->key_len == y->key_len)
		return c;
	/* one key starts the other: below it if a separator follows, else a longer name */
	const struct tree_node *longer = x->key_len > y->key_len ? x : y;
	int below = longer->key[n] == '\0' ? -1 : 1;
	return longer == x ? below : -below;
}

static void tree_add(const struct st_analyze *a, struct tree_node **v, size_t *n, size_t *cap,
		     uint32_t node, uint32_t entry, bool whiteout, struct st_buf *tmp)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		*v = st_xrealloc(*v, *cap * sizeof(**v));
	}
	analyze_node_path(a, node, tmp);
	if (whiteout) {
		st_buf_setlen(tmp, tmp->len - strlen(analyze_node_name(a, node)));
		st_buf_addf(tmp, ".wh.%s", analyze_node_name(a, node));
	}
	struct tree_node *t = &(*v)[(*n)++];
	t->key_len = tmp->len;
	t->key = st_xstrndup(tmp->data, tmp->len);
	for (size_t i = 0; i < t->key_len; i++)
		if (t->key[i] == '/')
			t->key[i] = '\0';
	t->entry = entry;
	t->node = node;
}

int st_analyze_layer_walk(const struct st_analyze *a, size_t i, st_analyze_node_fn fn, void *ctx)
{
	const struct layer *l = &a->layers[i];
	/* which nodes the layer's tree holds, with the entry that stands at each */
	uint32_t *at = st_xmalloc((size_t)a->n_nodes * sizeof(*at));
	memset(at, 0xff, (size_t)a->n_nodes * sizeof(*at));
	uint8_t *in = st_xcalloc(a->n_nodes, 1);
	struct tree_node *v = NULL;
	size_t n = 0, cap = 0;
	struct st_buf tmp = ST_BUF_INIT;
	for (uint32_t k = l->first; k < l->first + l->count; k++) {
		const struct entry *e = &a->entries[k];
		if (e->type == ST_LAYER_ENTRY_WHITEOUT)
			tree_add(a, &v, &n, &cap, e->node, k, true, &tmp);
		else if (e->type != ST_LAYER_ENTRY_OPAQUE)
			at[e->node] = k;
		uint32_t q =
		    e->type == ST_LAYER_ENTRY_WHITEOUT ? a->nodes[e->node].parent : e->node;
		for (; q && !in[q]; q = a->nodes[q].parent)
			in[q] = 1;
	}
	for (uint32_t q = 1; q < a->n_nodes; q++)
		if (in[q])
			tree_add(a, &v, &n, &cap, q, at[q], false, &tmp);
	free(at);
	free(in);
	if (n > 1)
		qsort(v, n, sizeof(*v), child_first_cmp);
	int rc = 0;
	for (size_t j = 0; j < n; j++) {
		if (rc == 0) {
			memcpy(tmp.data, v[j].key, v[j].key_len);
			for (size_t c = 0; c < v[j].key_len; c++)
				if (!tmp.data[c])
					tmp.data[c] = '/';
			st_buf_setlen(&tmp, v[j].key_len);
			struct st_analyze_entry e = { .path = tmp.data };
			if (v[j].entry != NO_ID)
				fill_entry(a, &a->entries[v[j].entry], &e);
			rc = fn(ctx, tmp.data, v[j].entry != NO_ID ? &e : NULL);
		}
		free(v[j].key);
	}
	free(v);
	st_buf_release(&tmp);
	return rc;
}

static int name_cmp(const void *pa, const void *pb, void *arg)
{
	const struct st_analyze *a = arg;
	return strcmp(analyze_node_name(a, *(const uint32_t *)pa),
		      analyze_node_name(a, *(const uint32_t *)pb));
}

/* What the final filesystem holds at and below each node, hardlinks once. */
static uint64_t final_sizes(const struct st_analyze *a, uint32_t id, uint64_t *size)
{
	uint64_t sum = 0;
	const struct node *nd = &a->nodes[id];
	const struct entry *e = nd->top == NO_ID ? NULL : &a->entries[nd->top];
	if (e && e->type == ST_LAYER_ENTRY_FILE)
		sum = e->size;
	/* a hardlink whose first name is gone holds the bytes now */
	if (e && e->type == ST_LAYER_ENTRY_HARDLINK && e->target != NO_ID &&
	    a->entries[e->target].removed_in != NO_LAYER)
		sum = a->entries[e->target].size;
	for (uint32_t c = nd->child; c != NO_ID; c = a->nodes[c].sibling)
		if (a->nodes[c].flags & NODE_PRESENT)
			sum += final_sizes(a, c, size);
	size[id] = sum;
	return sum;
}

static int final_walk(const struct st_analyze *a, uint32_t id, const uint64_t *size,
		      struct st_buf *path, st_analyze_node_fn fn, void *ctx)
{
	size_t n = 0;
	for (uint32_t c = a->nodes[id].child; c != NO_ID; c = a->nodes[c].sibling)
		n += (a->nodes[c].flags & NODE_PRESENT) != 0;
	if (!n)
		return 0;
	uint32_t *kids = st_xmalloc(n * sizeof(*kids));
	n = 0;
	for (uint32_t c = a->nodes[id].child; c != NO_ID; c = a->nodes[c].sibling)
		if (a->nodes[c].flags & NODE_PRESENT)
			kids[n++] = c;
	if (n > 1)
		qsort_r(kids, n, sizeof(*kids), name_cmp, (void *)a);
	size_t len = path->len;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct node *nd = &a->nodes[kids[i]];
		st_buf_setlen(path, len);
		if (len)
			st_buf_addch(path, '/');
		st_buf_adds(path, analyze_node_name(a, kids[i]));
		struct st_analyze_entry e = { .type = ST_LAYER_ENTRY_DIR,
					      .mode = 0755,
					      .removed_in = ST_ANALYZE_NONE };
		if (nd->top != NO_ID)
			fill_entry(a, &a->entries[nd->top], &e);
		if (e.type == ST_LAYER_ENTRY_DIR)
			e.size = size[kids[i]];
		e.path = path->data;
		rc = fn(ctx, path->data, &e);
		if (rc == 0)
			rc = final_walk(a, kids[i], size, path, fn, ctx);
	}
	st_buf_setlen(path, len);
	free(kids);
	return rc;
}

int st_analyze_final_walk(const struct st_analyze *a, st_analyze_node_fn fn, void *ctx)
{
	uint64_t *size = st_xcalloc(a->n_nodes, sizeof(*size));
	final_sizes(a, 0, size);
	struct st_buf path = ST_BUF_INIT;
	int rc = final_walk(a, 0, size, &path, fn, ctx);
	st_buf_release(&path);
	free(size);
	return rc;
}

/* ---- diff ---- */

struct final_file {
	char *path;
	const struct entry *e; /* NULL: a directory made by what is below it */
};

static int collect_final(void *ctx, const char *path, const struct st_analyze_entry *e)
{
	(void)e;
	struct {
		const struct st_analyze *a;
		struct final_file *v;
		size_t n, cap;
	} *c = ctx;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->v = st_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	uint32_t id = intern((struct st_analyze *)c->a, path, false);
	uint32_t top = c->a->nodes[id].top;
	c->v[c->n++] = (struct final_file){ .path = st_xasprintf("/%s", path),
					    .e = top == NO_ID ? NULL : &c->a->entries[top] };
	return 0;
}

/* Paths in the final walk's order: component by component, so "a/b" comes before "a-". */
static int path_cmp(const char *x, const char *y)
{
	for (; *x && *x == *y; x++, y++)
		;
	unsigned char cx = *x == '/' ? 1 : (unsigned char)*x;
	unsigned char cy = *y == '/' ? 1 : (unsigned char)*y;
	return (cx > cy) - (cx < cy);
}

static bool same_file(const struct st_analyze *a, const struct entry *x, const struct st_analyze *b,
		      const struct entry *y)
{
	if (!x || !y) {
		const struct entry *z = x ? x : y;
		return !z || z->type == ST_LAYER_ENTRY_DIR;
	}
	if (!same_content(x, y) || x->mode != y->mode || x->uid != y->uid || x->gid != y->gid)
		return false;
	const char *lx = x->link ? a->names.data + x->link - 1 : "";
	const char *ly = y->link ? b->names.data + y->link - 1 : "";
	return !strcmp(lx, ly);
}

static uint64_t file_size(const struct entry *e)
{
	return e && e->type == ST_LAYER_ENTRY_FILE ? e->size : 0;
}

void st_analyze_diff(const struct st_analyze *a, const struct st_analyze *b,
		     struct st_analyze_diff_entry **out, size_t *n)
{
	struct {
		const struct st_analyze *a;
		struct final_file *v;
		size_t n, cap;
	} ca = { .a = a }, cb = { .a = b };
	/* both lists come in the final walk's order, which path_cmp() follows */
	st_analyze_final_walk(a, collect_final, &ca);
	st_analyze_final_walk(b, collect_final, &cb);
	struct st_analyze_diff_entry *v = NULL;
	size_t nv = 0, cap = 0;
	size_t i = 0, j = 0;
	while (i < ca.n || j < cb.n) {
		int c = i == ca.n ? 1 : j == cb.n ? -1 : path_cmp(ca.v[i].path, cb.v[j].path);
		struct st_analyze_diff_entry d = { 0 };
		if (c < 0) {
			d = (struct st_analyze_diff_entry){ ST_ANALYZE_CHANGE_DELETED, ca.v[i].path,
							    file_size(ca.v[i].e), 0 };
			ca.v[i++].path = NULL;
		} else if (c > 0) {
			d = (struct st_analyze_diff_entry){ ST_ANALYZE_CHANGE_ADDED, cb.v[j].path,
							    0, file_size(cb.v[j].e) };
			cb.v[j++].path = NULL;
		} else {
			bool same = same_file(a, ca.v[i].e, b, cb.v[j].e);
			if (!same)
				d = (struct st_analyze_diff_entry){ ST_ANALYZE_CHANGE_CHANGED,
								    ca.v[i].path,
								    file_size(ca.v[i].e),
								    file_size(cb.v[j].e) };
			if (!same)
				ca.v[i].path = NULL;
			i++;
			j++;
			if (same)
				continue;
		}
		if (nv == cap) {
			cap = cap ? cap * 2 : 64;
			v = st_xrealloc(v, cap * sizeof(*v));
		}
		v[nv++] = d;
	}
	for (size_t k = 0; k < ca.n; k++)
		free(ca.v[k].path);
	for (size_t k = 0; k < cb.n; k++)
		free(cb.v[k].path);
	free(ca.v);
	free(cb.v);
	*out = v;
	*n = nv;
}

void st_analyze_diff_free(struct st_analyze_diff_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}
