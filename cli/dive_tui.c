/*
 * dive_tui.c: strata dive's full-screen view. dive's layout: the layers (top left), the image's
 * figures and top findings (bottom left), the file tree of the selected layer or of the whole
 * image (right), the keys along the bottom. dive's keys, scoped by the pane that has the focus.
 *
 * A tree is built once per layer shown: the analysis walks the layer, the paths are sorted
 * component by component, and each node finds its parent on a stack of the open directories.
 * Drawing touches only the rows on screen, so a million files cost the build, not each key.
 */
#include "dive_tui.h"

#include <curses.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/banned.h"

#define CTRL(c) ((c)&0x1f)

struct tnode {
	char *name;
	uint32_t parent;
	uint32_t *kids;
	size_t nkids, capkids;
	struct st_analyze_entry e; /* e.path is not kept */
	bool has_entry;		   /* false: a directory only implied by what is below it */
	uint64_t size;		   /* a file's bytes, a directory's whole content */
	int depth;
	bool collapsed, keep;
};

struct tree {
	struct tnode *v; /* v[0] is the root */
	size_t n, cap;
	uint32_t *rows; /* the nodes on show, in order */
	size_t n_rows;
};

enum pane { PANE_LAYERS, PANE_TREE };

struct view {
	const char *name;
	const struct st_analyze *a;
	size_t layer;	/* selected */
	bool aggregate; /* the whole image instead of one layer */
	struct tree tree;
	size_t tree_layer; /* what 'tree' holds: a layer, or SIZE_MAX for the aggregate */
	size_t top, cur;   /* the tree's first row on screen, and the selected row */
	enum pane focus;
	bool show[4]; /* by enum st_analyze_status */
	bool attrs, by_size;
	struct st_buf filter;
	bool filtering;
};

/* ---- trees ---- */

struct item {
	char *path;
	struct st_analyze_entry e;
	bool has_entry;
};

struct items {
	struct item *v;
	size_t n, cap;
};

static int collect(void *ctx, const char *path, const struct st_analyze_entry *e)
{
	struct items *it = ctx;
	if (it->n == it->cap) {
		it->cap = it->cap ? it->cap * 2 : 1024;
		it->v = st_xrealloc(it->v, it->cap * sizeof(*it->v));
	}
	struct item *x = &it->v[it->n++];
	x->path = st_xstrdup(path);
	x->has_entry = e != NULL;
	if (e)
		x->e = *e;
	/* a layer lists a deletion as .wh.<name>: show the name, removed */
	char *base = strrchr(x->path, '/');
	base = base ? base + 1 : x->path;
	size_t n = strlen(base);
	if (e && e->type == ST_LAYER_ENTRY_WHITEOUT && n > 4 && !strncmp(base, ".wh.", 4))
		memmove(base, base + 4, n - 3);
	return 0;
}

/* Component by component: "a/b" before "a-". */
static int item_cmp(const void *pa, const void *pb)
{
	const char *x = ((const struct item *)pa)->path, *y = ((const struct item *)pb)->path;
	for (; *x && *x == *y; x++, y++)
		;
	unsigned char cx = *x == '/' ? 1 : (unsigned char)*x;
	unsigned char cy = *y == '/' ? 1 : (unsigned char)*y;
	return (cx > cy) - (cx < cy);
}

static uint32_t tree_add(struct tree *t, uint32_t parent, const char *name)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->v = st_xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	uint32_t id = (uint32_t)t->n++;
	struct tnode *nd = &t->v[id];
	memset(nd, 0, sizeof(*nd));
	nd->name = st_xstrdup(name);
	nd->parent = parent;
	if (id) {
		struct tnode *p = &t->v[parent];
		nd->depth = p->depth + 1;
		if (p->nkids == p->capkids) {
			p->capkids = p->capkids ? p->capkids * 2 : 4;
			p->kids = st_xrealloc(p->kids, p->capkids * sizeof(*p->kids));
		}
		p->kids[p->nkids++] = id;
	}
	return id;
}

static void tree_release(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].kids);
	}
	free(t->v);
	free(t->rows);
	memset(t, 0, sizeof(*t));
}

static void tree_build(struct view *v)
{
	struct items it = { 0 };
	if (v->aggregate)
		st_analyze_final_walk(v->a, collect, &it);
	else
		st_analyze_layer_walk(v->a, v->layer, collect, &it);
	if (it.n > 1)
		qsort(it.v, it.n, sizeof(*it.v), item_cmp);
	tree_release(&v->tree);
	struct tree *t = &v->tree;
	tree_add(t, 0, "");
	/* the open directories by depth: sorted paths come right after their parent's */
	uint32_t *stack = st_xcalloc(4096, sizeof(*stack));
	for (size_t i = 0; i < it.n; i++) {
		struct item *x = &it.v[i];
		int depth = 1;
		for (const char *c = x->path; *c; c++)
			depth += *c == '/';
		const char *base = strrchr(x->path, '/');
		uint32_t parent = depth > 1 && depth < 4096 ? stack[depth - 1] : 0;
		uint32_t id = tree_add(t, parent, base ? base + 1 : x->path);
		if (depth < 4096)
			stack[depth] = id;
		struct tnode *nd = &t->v[id];
		nd->has_entry = x->has_entry;
		nd->e = x->e;
		nd->e.path = NULL;
		if (!x->has_entry)
			nd->e.type = ST_LAYER_ENTRY_DIR;
		nd->size = nd->e.type == ST_LAYER_ENTRY_FILE ? nd->e.size : 0;
		free(x->path);
	}
	free(stack);
	free(it.v);
	/* the aggregate's directories come with their sizes; a layer's are summed here */
	for (size_t i = t->n; i-- > 1;) {
		struct tnode *nd = &t->v[i];
		if (v->aggregate && nd->e.type == ST_LAYER_ENTRY_DIR)
			nd->size = nd->e.size;
		else if (nd->parent && !v->aggregate)
			t->v[nd->parent].size += nd->size;
	}
	v->tree_layer = v->aggregate ? SIZE_MAX : v->layer;
	v->top = v->cur = 0;
}

static int kid_cmp(const void *pa, const void *pb, void *arg)
{
	const struct view *v = arg;
	const struct tnode *x = &v->tree.v[*(const uint32_t *)pa];
	const struct tnode *y = &v->tree.v[*(const uint32_t *)pb];
	if (v->by_size && x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return strcmp(x->name, y->name);
}

static void tree_sort(struct view *v)
{
	/* qsort_r wants an array, even of nothing: a leaf has no kids array at all. */
	for (size_t i = 0; i < v->tree.n; i++)
		if (v->tree.v[i].nkids > 1)
			qsort_r(v->tree.v[i].kids, v->tree.v[i].nkids, sizeof(uint32_t), kid_cmp,
				v);
}

/*
 * A layer's entries show how they changed what was below; the whole image shows what its own
 * layers changed in the base image's files, as dive compares every layer with the first.
 */
static enum st_analyze_status shown_status(const struct view *v, const struct tnode *nd)
{
	if (!nd->has_entry)
		return ST_ANALYZE_UNMODIFIED;
	size_t base = st_analyze_n_base(v->a) ? st_analyze_n_base(v->a) : 1;
	if (v->aggregate && nd->e.layer < base)
		return ST_ANALYZE_UNMODIFIED;
	return nd->e.status;
}

/* The path of node 'id' into 'out', from the root down. */
static void node_path(const struct tree *t, uint32_t id, struct st_buf *out)
{
	st_buf_reset(out);
	if (!id)
		return;
	node_path(t, t->v[id].parent, out);
	if (out->len)
		st_buf_addch(out, '/');
	st_buf_adds(out, t->v[id].name);
}

/* Which nodes show: those the filters let through, and the directories above them. */
static void tree_filter(struct view *v)
{
	struct tree *t = &v->tree;
	struct st_buf path = ST_BUF_INIT;
	for (size_t i = t->n; i-- > 1;) {
		struct tnode *nd = &t->v[i];
		bool kept = false;
		for (size_t k = 0; k < nd->nkids && !kept; k++)
			kept = t->v[nd->kids[k]].keep;
		if (!kept && v->show[shown_status(v, nd)]) {
			node_path(t, (uint32_t)i, &path);
			kept = !v->filter.len || strstr(path.data, v->filter.data);
		}
		nd->keep = kept;
	}
	st_buf_release(&path);
}

static void tree_rows(struct view *v)
{
	struct tree *t = &v->tree;
	free(t->rows);
	t->rows = st_xmalloc((t->n + 1) * sizeof(*t->rows));
	t->n_rows = 0;
	uint32_t *stack = st_xmalloc((t->n + 1) * sizeof(*stack));
	size_t sp = 0;
	for (size_t k = t->v[0].nkids; k-- > 0;)
		stack[sp++] = t->v[0].kids[k];
	while (sp) {
		uint32_t id = stack[--sp];
		struct tnode *nd = &t->v[id];
		if (!nd->keep)
			continue;
		t->rows[t->n_rows++] = id;
		if (!nd->collapsed)
			for (size_t k = nd->nkids; k-- > 0;)
				stack[sp++] = nd->kids[k];
	}
	free(stack);
	if (v->cur >= t->n_rows)
		v->cur = t->n_rows ? t->n_rows - 1 : 0;
}

static void refresh_tree(struct view *v)
{
	size_t want = v->aggregate ? SIZE_MAX : v->layer;
	if (v->tree_layer != want || !v->tree.n) {
		tree_build(v);
		tree_sort(v);
	}
	tree_filter(v);
	tree_rows(v);
}

/* ---- drawing ---- */

enum { C_ADDED = 1, C_REMOVED, C_MODIFIED, C_TITLE };

static char *human(uint64_t n)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double x = (double)n;
	size_t u = 0;
	while (x >= 1000 && u + 1 < sizeof(units) / sizeof(*units)) {
		x /= 1000;
		u++;
	}
	return u ? st_xasprintf("%.1f %s", x, units[u])
		 : st_xasprintf("%llu B", (unsigned long long)n);
}

static void put(int y, int x, int w, const char *s)
{
	if (w > 0)
		mvaddnstr(y, x, s, w);
}

static void box_at(int y, int x, int h, int w, const char *title, bool focused)
{
	if (h < 2 || w < 2)
		return;
	mvhline(y, x + 1, ACS_HLINE, w - 2);
	mvhline(y + h - 1, x + 1, ACS_HLINE, w - 2);
	mvvline(y + 1, x, ACS_VLINE, h - 2);
	mvvline(y + 1, x + w - 1, ACS_VLINE, h - 2);
	mvaddch(y, x, ACS_ULCORNER);
	mvaddch(y, x + w - 1, ACS_URCORNER);
	mvaddch(y + h - 1, x, ACS_LLCORNER);
	mvaddch(y + h - 1, x + w - 1, ACS_LRCORNER);
	attron(focused ? A_BOLD | COLOR_PAIR(C_TITLE) : A_BOLD);
	st_autofree char *t = st_xasprintf(" %s ", title);
	put(y, x + 2, w - 4, t);
	attroff(A_BOLD | COLOR_PAIR(C_TITLE));
}

static void draw_layers(struct view *v, int y, int x, int h, int w)
{
	box_at(y, x, h, w, "Layers", v->focus == PANE_LAYERS);
	size_t n = st_analyze_n_layers(v->a);
	int rows = h - 3;
	if (rows < 1)
		return;
	put(y + 1, x + 1, w - 2, "     Size  Command");
	size_t first = v->layer >= (size_t)rows ? v->layer - (size_t)rows + 1 : 0;
	for (int r = 0; r < rows && first + (size_t)r < n; r++) {
		size_t i = first + (size_t)r;
		const struct st_analyze_layer *l = st_analyze_layer(v->a, i);
		st_autofree char *size = human(l->size);
		/* as dive: a layer without its instruction shows where it came from */
		st_autofree char *from = st_xasprintf("FROM %.19s", l->digest);
		const char *cmd = l->command && *l->command ? l->command : from;
		if (!strncmp(cmd, "/bin/sh -c ", 11))
			cmd += 11;
		st_autofree char *line = st_xasprintf("%9s  %s", size, cmd);
		if (i == v->layer)
			attron(v->focus == PANE_LAYERS ? A_REVERSE : A_BOLD);
		put(y + 2 + r, x + 1, w - 2, line);
		for (int c = (int)strlen(line); c < w - 2; c++)
			mvaddch(y + 2 + r, x + 1 + c, ' ');
		attroff(A_REVERSE | A_BOLD);
	}
}

static void draw_details(struct view *v, int y, int x, int h, int w)
{
	box_at(y, x, h, w, "Image Details", false);
	const struct st_analyze_dive *d = st_analyze_dive(v->a);
	const struct st_analyze_waste *ws = st_analyze_waste(v->a);
	st_autofree char *total = human(d->size);
	st_autofree char *dw = human(d->wasted_bytes);
	st_autofree char *sw = human(ws->wasted_bytes);
	char *lines[6] = {
		st_xasprintf("Image name: %s", v->name),
		st_xasprintf("Total Image size: %s", total),
		st_xasprintf("Potential wasted space: %s", dw),
		st_xasprintf("Image efficiency score: %d %%", (int)(100 * d->efficiency)),
		st_xasprintf("Not in the final filesystem: %s (%.0f %%)", sw, 100 * ws->efficiency),
		st_xstrdup("Top findings:"),
	};
	int r = 0;
	for (; r < 6 && r < h - 2; r++) {
		put(y + 1 + r, x + 1, w - 2, lines[r]);
		free(lines[r]);
	}
	for (int k = r; k < 6; k++)
		free(lines[k]);
	for (size_t i = 0; i < ws->n_findings && r < h - 2; i++, r++) {
		const struct st_analyze_finding *f = &ws->findings[i];
		st_autofree char *b = human(f->bytes);
		st_autofree char *line =
		    st_xasprintf("%9s %-11s %s", b, st_analyze_kind_name(f->kind), f->example);
		put(y + 1 + r, x + 1, w - 2, line);
	}
}

static void mode_string(const struct tnode *nd, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";
	out[0] = nd->e.type == ST_LAYER_ENTRY_DIR	? 'd'
		 : nd->e.type == ST_LAYER_ENTRY_SYMLINK ? 'l'
							: '-';
	for (int i = 0; i < 9; i++)
		out[1 + i] = nd->e.mode & (1u << (8 - i)) ? rwx[i] : '-';
	out[10] = '\0';
}

static void draw_tree(struct view *v, int y, int x, int h, int w)
{
	st_autofree char *title =
	    v->aggregate ? st_xstrdup("Aggregated Layer Contents")
			 : st_xasprintf("Current Layer Contents (layer %zu)", v->layer);
	box_at(y, x, h, w, title, v->focus == PANE_TREE);
	int rows = h - 3;
	if (rows < 1)
		return;
	put(y + 1, x + 1, w - 2,
	    v->attrs ? "Permission     UID:GID       Size  Filetree" : "Filetree");
	if (v->cur < v->top)
		v->top = v->cur;
	if (v->cur >= v->top + (size_t)rows)
		v->top = v->cur - (size_t)rows + 1;
	struct st_buf line = ST_BUF_INIT;
	for (int r = 0; r < rows && v->top + (size_t)r < v->tree.n_rows; r++) {
		size_t row = v->top + (size_t)r;
		const struct tnode *nd = &v->tree.v[v->tree.rows[row]];
		st_buf_reset(&line);
		if (v->attrs) {
			char mode[11];
			mode_string(nd, mode);
			st_autofree char *ug = st_xasprintf("%u:%u", nd->e.uid, nd->e.gid);
			st_autofree char *size = human(nd->size);
			st_buf_addf(&line, "%s %11s %10s  ", mode, ug, size);
		}
		for (int k = 1; k < nd->depth; k++)
			st_buf_adds(&line, "  ");
		bool dir = nd->e.type == ST_LAYER_ENTRY_DIR && nd->nkids;
		st_buf_adds(&line, dir ? (nd->collapsed ? "+ " : "- ") : "  ");
		st_buf_adds(&line, nd->name);
		if (nd->e.linkname)
			st_buf_addf(&line, " -> %s", nd->e.linkname);
		static const int colors[] = { [ST_ANALYZE_ADDED] = C_ADDED,
					      [ST_ANALYZE_MODIFIED] = C_MODIFIED,
					      [ST_ANALYZE_UNMODIFIED] = 0,
					      [ST_ANALYZE_REMOVED] = C_REMOVED };
		int color = colors[shown_status(v, nd)];
		if (color)
			attron(COLOR_PAIR(color));
		if (row == v->cur && v->focus == PANE_TREE)
			attron(A_REVERSE);
		put(y + 2 + r, x + 1, w - 2, line.data);
		for (int c = (int)line.len; c < w - 2; c++)
			mvaddch(y + 2 + r, x + 1 + c, ' ');
		attroff(A_REVERSE | COLOR_PAIR(color));
	}
	st_buf_release(&line);
}

static void draw(struct view *v)
{
	erase();
	int h = LINES, w = COLS;
	int lw = w / 2 > 30 ? w / 2 : (w > 30 ? 30 : w);
	int lh = (h - 1) / 2;
	draw_layers(v, 0, 0, lh, lw);
	draw_details(v, lh, 0, h - 1 - lh, lw);
	draw_tree(v, 0, lw, h - 1, w - lw);
	/* the filters on show: a letter for each kind of change shown, '-' for one hidden */
	char shown[5] = { v->show[ST_ANALYZE_ADDED] ? 'A' : '-',
			  v->show[ST_ANALYZE_REMOVED] ? 'R' : '-',
			  v->show[ST_ANALYZE_MODIFIED] ? 'M' : '-',
			  v->show[ST_ANALYZE_UNMODIFIED] ? 'U' : '-', '\0' };
	st_autofree char *status =
	    v->filtering ? st_xasprintf("Path Filter: %s", v->filter.data)
	    : v->focus == PANE_LAYERS
		? st_xstrdup(
		      "q Quit  Tab Files  ^L Layer  ^A All layers  ^B Attr  ^O Sort  ^F Filter")
		: st_xasprintf("q Quit  Tab Layers  Space/^Space Fold  ^A^R^M^U Show:%s  ^B Attr  "
			       "^O Sort:%s  ^F Filter",
			       shown, v->by_size ? "size" : "name");
	attron(A_REVERSE);
	put(h - 1, 0, w, status);
	for (int c = (int)strlen(status); c < w; c++)
		mvaddch(h - 1, c, ' ');
	attroff(A_REVERSE);
	refresh();
}

/* ---- keys ---- */

static void move_layer(struct view *v, long by)
{
	long n = (long)st_analyze_n_layers(v->a);
	long to = (long)v->layer + by;
	v->layer = (size_t)(to < 0 ? 0 : to >= n ? n - 1 : to);
	if (!v->aggregate)
		refresh_tree(v);
}

static void move_row(struct view *v, long by)
{
	long n = (long)v->tree.n_rows;
	long to = (long)v->cur + by;
	v->cur = (size_t)(to < 0 ? 0 : to >= n ? (n ? n - 1 : 0) : to);
}

static void collapse_all(struct view *v)
{
	bool any_open = false;
	for (size_t i = 1; i < v->tree.n; i++)
		any_open |= v->tree.v[i].nkids && !v->tree.v[i].collapsed;
	for (size_t i = 1; i < v->tree.n; i++)
		v->tree.v[i].collapsed = any_open && v->tree.v[i].nkids;
	tree_rows(v);
}

/* false when it is time to quit */
static bool key(struct view *v, int c)
{
	int page = LINES > 6 ? LINES - 6 : 1;
	if (v->filtering) {
		if (c == '\n' || c == '\r' || c == KEY_ENTER || c == 27)
			v->filtering = false;
		else if ((c == KEY_BACKSPACE || c == 127 || c == 8) && v->filter.len)
			st_buf_setlen(&v->filter, v->filter.len - 1);
		else if (c >= ' ' && c < 127)
			st_buf_addch(&v->filter, (char)c);
		if (c == 27)
			st_buf_reset(&v->filter);
		refresh_tree(v);
		return true;
	}
	switch (c) {
	case 'q':
	case CTRL('c'):
		return false;
	case '\t':
		v->focus = v->focus == PANE_LAYERS ? PANE_TREE : PANE_LAYERS;
		return true;
	case CTRL('f'):
	case CTRL('_'):
		v->filtering = true;
		return true;
	case CTRL('b'):
		v->attrs = !v->attrs;
		return true;
	case CTRL('o'):
		v->by_size = !v->by_size;
		tree_sort(v);
		tree_rows(v);
		return true;
	}
	if (v->focus == PANE_LAYERS) {
		switch (c) {
		case KEY_UP:
		case 'k':
			move_layer(v, -1);
			break;
		case KEY_DOWN:
		case 'j':
			move_layer(v, 1);
			break;
		case KEY_PPAGE:
		case 'u':
			move_layer(v, -page);
			break;
		case KEY_NPAGE:
		case 'd':
			move_layer(v, page);
			break;
		case CTRL('a'):
			v->aggregate = true;
			refresh_tree(v);
			break;
		case CTRL('l'):
			v->aggregate = false;
			refresh_tree(v);
			break;
		}
		return true;
	}
	struct tnode *nd = v->tree.n_rows ? &v->tree.v[v->tree.rows[v->cur]] : NULL;
	switch (c) {
	case KEY_UP:
	case 'k':
		move_row(v, -1);
		break;
	case KEY_DOWN:
	case 'j':
		move_row(v, 1);
		break;
	case KEY_PPAGE:
	case 'u':
		move_row(v, -page);
		break;
	case KEY_NPAGE:
	case 'd':
		move_row(v, page);
		break;
	case ' ':
		if (nd && nd->nkids) {
			nd->collapsed = !nd->collapsed;
			tree_rows(v);
		}
		break;
	case 0: /* ctrl+space */
		collapse_all(v);
		break;
	case CTRL('a'):
	case CTRL('r'):
	case CTRL('m'):
	case '\n':
	case CTRL('u'): {
		enum st_analyze_status s = c == CTRL('a')   ? ST_ANALYZE_ADDED
					   : c == CTRL('r') ? ST_ANALYZE_REMOVED
					   : c == CTRL('u') ? ST_ANALYZE_UNMODIFIED
							    : ST_ANALYZE_MODIFIED;
		v->show[s] = !v->show[s];
		refresh_tree(v);
		break;
	}
	}
	return true;
}

int st_cli_dive_tui(const char *name, const struct st_analyze *a, struct st_error **err)
{
	struct view v = { .name = name, .a = a, .tree_layer = SIZE_MAX - 1 };
	v.show[ST_ANALYZE_ADDED] = v.show[ST_ANALYZE_REMOVED] = v.show[ST_ANALYZE_MODIFIED] =
	    v.show[ST_ANALYZE_UNMODIFIED] = true;
	if (!st_analyze_n_layers(a))
		return st_err(err, ST_E_INVALID, "'%s' has no layers to show", name);
	setlocale(LC_ALL, "");
	if (!initscr())
		return st_err(err, ST_E_IO, "cannot start the terminal view (TERM=%s)",
			      getenv("TERM") ? getenv("TERM") : "");
	/* raw: ctrl+c is a key here, as in dive, and the view restores the terminal itself */
	raw();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(C_ADDED, COLOR_GREEN, -1);
		init_pair(C_REMOVED, COLOR_RED, -1);
		init_pair(C_MODIFIED, COLOR_YELLOW, -1);
		init_pair(C_TITLE, COLOR_CYAN, -1);
	}
	refresh_tree(&v);
	do
		draw(&v);
	while (key(&v, getch()));
	endwin();
	tree_release(&v.tree);
	st_buf_release(&v.filter);
	return 0;
}
