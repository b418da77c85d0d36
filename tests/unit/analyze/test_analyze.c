/*
 * Figures on images made here, entry by entry, with every expected number worked out by hand
 * in the comments: dive's efficiency and wasted bytes, strata's waste and its findings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/fs.h"

struct fixture {
	char dir[64];
	struct st_store *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/strata-analyze-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	struct st_error *err = NULL;
	if (st_store_open(f->dir, &f->store, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	st_store_free(f->store);
	st_rm_rf(f->dir, NULL);
	free(f);
	return 0;
}

/* One entry of a crafted layer. */
enum op { OP_END, OP_DIR, OP_FILE, OP_LINK, OP_WHITEOUT, OP_OPAQUE };
struct op_spec {
	enum op op;
	const char *path;
	size_t size;	    /* OP_FILE: that many bytes of 'fill' */
	char fill;	    /* OP_FILE: the content's byte: same fill and size, same content */
	const char *target; /* OP_LINK */
	uid_t uid;
};

static void write_layer(struct st_store *s, const struct op_spec *ops, struct st_store_layer *out)
{
	struct st_error *err = NULL;
	struct st_layer_writer_opts lo = { .compression = ST_LAYER_COMP_GZIP };
	struct st_local_layer_writer *w = NULL;
	assert_int_equal(st_local_layer_writer_new(s, NULL, &lo, &w, &err), 0);
	struct st_layer_writer *lw = st_local_layer_writer_layer(w);
	for (const struct op_spec *o = ops; o->op != OP_END; o++) {
		struct st_layer_attr attr = { .set = ST_LAYER_ATTR_UID, .uid = o->uid };
		int rc = -1;
		switch (o->op) {
		case OP_DIR:
			rc = st_layer_writer_add_dir(lw, o->path, &attr, &err);
			break;
		case OP_FILE: {
			char *data = malloc(o->size + 1);
			memset(data, o->fill, o->size);
			rc = st_layer_writer_add_data(lw, o->path, data, o->size, &attr, &err);
			free(data);
			break;
		}
		case OP_LINK:
			rc = st_layer_writer_add_hardlink(lw, o->path, o->target, &err);
			break;
		case OP_WHITEOUT:
			rc = st_layer_writer_add_whiteout(lw, o->path, &err);
			break;
		case OP_OPAQUE:
			rc = st_layer_writer_add_opaque(lw, o->path, &err);
			break;
		case OP_END:
			break;
		}
		assert_int_equal(rc, 0);
	}
	assert_int_equal(st_local_layer_writer_commit(w, out, &err), 0);
	st_local_layer_writer_free(w);
}

/* Commit the layers (each with its history line) as 'ref'. */
static void commit(struct st_store *s, const char *ref, struct st_store_layer *layers, size_t n,
		   const char *const *history)
{
	struct st_error *err = NULL;
	struct st_image_config *cfg = st_image_config_new();
	cfg->os = strdup("linux");
	cfg->architecture = strdup("amd64");
	for (size_t i = 0; i < n; i++) {
		st_image_config_add_diff_id(cfg, &layers[i].diff_id);
		struct st_image_history h = { .created_by = (char *)history[i] };
		st_image_config_add_history(cfg, &h);
	}
	const char *refs[] = { ref };
	struct st_local_commit c = {
		.config = cfg, .layers = layers, .n_layers = n, .refs = refs, .n_refs = 1
	};
	assert_int_equal(st_local_image_commit(s, &c, NULL, &err), 0);
	st_image_config_free(cfg);
}

static const struct op_spec layer0[] = {
	{ OP_DIR, "etc" },
	{ OP_FILE, "etc/a", 100, 'a' },
	{ OP_FILE, "etc/b", 200, 'b' },
	{ OP_DIR, "opt" },
	{ OP_DIR, "opt/sdk" },
	{ OP_FILE, "opt/sdk/x", 1000, 'x' },
	{ OP_FILE, "opt/sdk/y", 500, 'y' },
	{ OP_DIR, "d" },
	{ OP_FILE, "d/old", 50, 'o' },
	{ OP_DIR, "usr" },
	{ OP_FILE, "usr/f", 300, 'f' },
	{ OP_LINK, "usr/link", 0, 0, "usr/f" },
	{ OP_END },
};
/* etc/a overwritten with other bytes; a download in tmp */
static const struct op_spec layer1[] = {
	{ OP_DIR, "etc" }, { OP_FILE, "etc/a", 150, 'A' },
	{ OP_DIR, "tmp" }, { OP_FILE, "tmp/dl", 400, 'd' },
	{ OP_END },
};
/* the download deleted, rm -rf /opt/sdk, chown of etc/a (same bytes, another owner) */
static const struct op_spec layer2[] = {
	{ OP_WHITEOUT, "tmp/dl" },
	{ OP_WHITEOUT, "opt/sdk" },
	{ OP_DIR, "etc" },
	{ OP_FILE, "etc/a", 150, 'A', NULL, 1000 },
	{ OP_END },
};
/*
 * d made opaque, an apt list and a key left behind (their parents only implied), and the
 * first name of the hardlinked usr/f deleted while usr/link keeps its bytes.
 */
static const struct op_spec layer3[] = {
	{ OP_DIR, "d" },
	{ OP_OPAQUE, "d" },
	{ OP_FILE, "d/new", 70, 'n' },
	{ OP_FILE, "var/lib/apt/lists/pkgs", 600, 'p' },
	{ OP_FILE, "root/.ssh/id_rsa", 10, 'k' },
	{ OP_WHITEOUT, "usr/f" },
	{ OP_END },
};
static const char *const history[] = {
	"ADD rootfs.tar /",
	"RUN /bin/sh -c echo > /etc/a && wget /tmp/dl",
	"RUN /bin/sh -c rm /tmp/dl && rm -rf /opt/sdk && chown 1000 /etc/a",
	"RUN /bin/sh -c apt-get update",
};

/* app:1 = the four layers; base:1 = layer 0 alone. */
static void make_images(struct st_store *s)
{
	const struct op_spec *specs[] = { layer0, layer1, layer2, layer3 };
	struct st_store_layer layers[4];
	for (size_t i = 0; i < 4; i++)
		write_layer(s, specs[i], &layers[i]);
	commit(s, "docker.io/library/app:1", layers, 4, history);
	commit(s, "docker.io/library/base:1", layers, 1, history);
	for (size_t i = 0; i < 4; i++)
		st_store_layer_release(&layers[i]);
}

static struct st_analyze *analyze(struct st_store *s, const char *name, enum st_analyze_flags fl)
{
	struct st_error *err = NULL;
	struct st_store_image *img = NULL;
	assert_int_equal(st_local_image_find(s, name, &img, &err), 0);
	struct st_analyze_opts o = { .flags = fl };
	struct st_analyze *a = NULL;
	int rc = st_analyze_image(s, img, &o, &a, &err);
	if (rc < 0)
		fail_msg("%s", err->msg);
	st_store_image_free(img);
	return a;
}

static void dive_figures_follow_dive(void **state)
{
	struct fixture *f = *state;
	make_images(f->store);
	st_auto(st_analyze) struct st_analyze *a = analyze(f->store, "app:1", 0);
	assert_int_equal(st_analyze_n_layers(a), 4);
	/* layer sizes: tar header sizes, a hardlink 0 */
	assert_int_equal(st_analyze_layer(a, 0)->size, 100 + 200 + 1000 + 500 + 50 + 300);
	assert_int_equal(st_analyze_layer(a, 1)->size, 150 + 400);
	assert_int_equal(st_analyze_layer(a, 2)->size, 150);
	assert_int_equal(st_analyze_layer(a, 3)->size, 70 + 600 + 10);
	const struct st_analyze_dive *d = st_analyze_dive(a);
	assert_int_equal(d->size, 3530);
	assert_int_equal(d->user_size, 1380);
	/*
	 * Sightings per path (min / all): etc/a 100,150,150 (100/400); etc/b (200/200);
	 * opt/sdk/x (1000/1000); opt/sdk/y (500/500); opt/sdk: the whiteout of a directory
	 * counts what it held, once (1500/1500, not waste); d/old (50/50); usr/f 300 then its
	 * whiteout 0 (0/300); usr/link (0/0); tmp/dl 400 then its whiteout 0 (0/400); d/new
	 * (70/70); the apt list (600/600); the key (10/10). d's opaque marker is ignored.
	 * min = 100+200+1000+500+1500+50+0+0+0+70+600+10 = 4030; all = 5030.
	 */
	assert_true(fabs(d->efficiency - 4030.0 / 5030.0) < 1e-12);
	/* every sighting of the paths seen twice: etc/a 400, tmp/dl 400, usr/f 300 */
	assert_int_equal(d->wasted_bytes, 1100);
	assert_true(fabs(d->user_wasted_percent - 1100.0 / 1380.0) < 1e-12);
	assert_int_equal(d->n_files, 3);
	assert_string_equal(d->files[0].path, "/etc/a");
	assert_int_equal(d->files[0].count, 3);
	assert_int_equal(d->files[0].bytes, 400);
	assert_string_equal(d->files[1].path, "/tmp/dl");
	assert_int_equal(d->files[1].count, 2);
	assert_string_equal(d->files[2].path, "/usr/f");
	assert_int_equal(d->files[2].bytes, 300);
}

static void strata_waste_and_findings(void **state)
{
	struct fixture *f = *state;
	make_images(f->store);
	st_auto(st_analyze) struct st_analyze *a = analyze(f->store, "app:1", 0);
	/* base:1 is layer 0 alone: the image app:1 was built FROM */
	assert_int_equal(st_analyze_n_base(a), 1);
	const struct st_analyze_waste *w = st_analyze_waste(a);
	/*
	 * etc/a 100 (overwritten), etc/a 150 (chowned: the same bytes again), tmp/dl 400
	 * (deleted), opt/sdk/x 1000 + y 500 (rm -rf), d/old 50 (opaque). usr/f is deleted
	 * but its bytes still show through usr/link: not waste.
	 */
	assert_int_equal(w->wasted_bytes, 100 + 150 + 400 + 1500 + 50);
	assert_int_equal(w->wasted_files, 6);
	assert_int_equal(w->size, 3530);
	assert_int_equal(st_analyze_layer(a, 0)->wasted, 100 + 1500 + 50);
	assert_int_equal(st_analyze_layer(a, 1)->wasted, 150 + 400);
	static const struct {
		enum st_analyze_kind kind;
		uint64_t bytes;
		size_t files, added, removed;
		const char *example;
	} want[] = {
		{ ST_ANALYZE_DELETED, 1500, 2, 0, 2, "/opt/sdk/x" },
		{ ST_ANALYZE_CACHE, 600, 1, 3, ST_ANALYZE_NONE, "/var/lib/apt/lists/pkgs" },
		{ ST_ANALYZE_DELETED, 400, 1, 1, 2, "/tmp/dl" },
		{ ST_ANALYZE_COPIED, 150, 1, 1, 2, "/etc/a" },
		{ ST_ANALYZE_OVERWRITTEN, 100, 1, 0, 1, "/etc/a" },
		{ ST_ANALYZE_DELETED, 50, 1, 0, 3, "/d/old" },
		{ ST_ANALYZE_SECRET, 10, 1, 3, ST_ANALYZE_NONE, "/root/.ssh/id_rsa" },
	};
	assert_int_equal(w->n_findings, sizeof(want) / sizeof(*want));
	for (size_t i = 0; i < w->n_findings; i++) {
		const struct st_analyze_finding *g = &w->findings[i];
		assert_int_equal(g->kind, want[i].kind);
		assert_int_equal(g->bytes, want[i].bytes);
		assert_int_equal(g->files, want[i].files);
		assert_int_equal(g->added_in, want[i].added);
		assert_int_equal(g->removed_in, want[i].removed);
		assert_string_equal(g->example, want[i].example);
		assert_non_null(g->hint);
	}
	/* the instructions a finding names */
	assert_string_equal(st_analyze_layer(a, 2)->command, history[2]);
}

static void exclude_base_leaves_base_layers_out(void **state)
{
	struct fixture *f = *state;
	make_images(f->store);
	st_auto(st_analyze) struct st_analyze *a =
	    analyze(f->store, "app:1", ST_ANALYZE_EXCLUDE_BASE);
	const struct st_analyze_waste *w = st_analyze_waste(a);
	/* only layers 1..3: etc/a 150 and tmp/dl 400 */
	assert_int_equal(w->wasted_bytes, 550);
	assert_int_equal(w->size, 1380);
	assert_true(fabs(w->efficiency - (1.0 - 550.0 / 1380.0)) < 1e-12);
}

static void statuses_against_the_layers_below(void **state)
{
	struct fixture *f = *state;
	make_images(f->store);
	st_auto(st_analyze) struct st_analyze *a = analyze(f->store, "app:1", 0);
	const struct st_analyze_layer *l1 = st_analyze_layer(a, 1), *l2 = st_analyze_layer(a, 2),
				      *l3 = st_analyze_layer(a, 3);
	assert_int_equal(l1->n_added, 2); /* tmp, tmp/dl */
	assert_int_equal(l1->n_modified, 1);
	assert_int_equal(l2->n_removed, 2);
	assert_int_equal(l2->n_modified, 1); /* etc/a: another uid */
	assert_int_equal(l3->n_added, 3);
	assert_int_equal(l3->n_removed, 2); /* the opaque marker and usr/f */
	struct st_buf path = ST_BUF_INIT;
	struct st_analyze_entry e;
	st_analyze_entry(a, 2, 3, &path, &e);
	assert_string_equal(e.path, "etc/a");
	assert_int_equal(e.status, ST_ANALYZE_MODIFIED);
	assert_int_equal(e.uid, 1000);
	assert_int_equal(e.removed_in, ST_ANALYZE_NONE);
	st_analyze_entry(a, 0, 1, &path, &e);
	assert_string_equal(e.path, "etc/a");
	assert_int_equal(e.removed_in, 1);
	st_buf_release(&path);
}

struct walked {
	char text[512];
};

static int note(void *ctx, const char *path, const struct st_analyze_entry *e)
{
	struct walked *w = ctx;
	size_t n = strlen(w->text);
	snprintf(w->text + n, sizeof(w->text) - n, "%s%s%s", n ? " " : "", path, e ? "" : "*");
	return 0;
}

static void layer_walk_in_dive_order(void **state)
{
	struct fixture *f = *state;
	make_images(f->store);
	st_auto(st_analyze) struct st_analyze *a = analyze(f->store, "app:1", 0);
	/* children first, siblings bytewise; '*': a directory the layer only implies */
	struct walked w = { "" };
	st_analyze_layer_walk(a, 2, note, &w);
	assert_string_equal(w.text, "etc/a etc opt/.wh.sdk opt* tmp/.wh.dl tmp*");
	memset(&w, 0, sizeof(w));
	st_analyze_layer_walk(a, 3, note, &w);
	assert_string_equal(w.text, "d/new d root/.ssh/id_rsa root/.ssh* root* usr/.wh.f usr* "
				    "var/lib/apt/lists/pkgs var/lib/apt/lists* var/lib/apt* "
				    "var/lib* var*");
}

static int final_note(void *ctx, const char *path, const struct st_analyze_entry *e)
{
	struct walked *w = ctx;
	size_t n = strlen(w->text);
	snprintf(w->text + n, sizeof(w->text) - n, "%s%s=%llu", n ? " " : "", path,
		 (unsigned long long)e->size);
	return 0;
}

static void final_tree_with_directory_sizes(void **state)
{
	struct fixture *f = *state;
	make_images(f->store);
	st_auto(st_analyze) struct st_analyze *a = analyze(f->store, "app:1", 0);
	struct walked w = { "" };
	st_analyze_final_walk(a, final_note, &w);
	assert_string_equal(w.text, "d=70 d/new=70 etc=350 etc/a=150 etc/b=200 opt=0 root=10 "
				    "root/.ssh=10 root/.ssh/id_rsa=10 tmp=0 usr=300 usr/link=0 "
				    "var=600 var/lib=600 var/lib/apt=600 var/lib/apt/lists=600 "
				    "var/lib/apt/lists/pkgs=600");
}

static void diff_of_two_images(void **state)
{
	struct fixture *f = *state;
	make_images(f->store);
	st_auto(st_analyze) struct st_analyze *base = analyze(f->store, "base:1", 0);
	st_auto(st_analyze) struct st_analyze *app = analyze(f->store, "app:1", 0);
	struct st_analyze_diff_entry *v = NULL;
	size_t n = 0;
	st_analyze_diff(base, app, &v, &n);
	struct walked w = { "" };
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(w.text);
		snprintf(w.text + len, sizeof(w.text) - len, "%s%c %s", len ? " " : "",
			 "ADC"[v[i].change], v[i].path);
	}
	st_analyze_diff_free(v, n);
	assert_string_equal(w.text,
			    "A /d/new D /d/old C /etc/a D /opt/sdk D /opt/sdk/x "
			    "D /opt/sdk/y A /root A /root/.ssh A /root/.ssh/id_rsa A /tmp "
			    "D /usr/f A /var A /var/lib A /var/lib/apt A /var/lib/apt/lists "
			    "A /var/lib/apt/lists/pkgs");
}

static void truncated_layer_is_an_error_naming_it(void **state)
{
	struct fixture *f = *state;
	struct st_error *err = NULL;
	/* a tar cut in the middle of a file's data */
	struct st_buf tar = ST_BUF_INIT;
	st_buf_addf(&tar, "%s", "");
	char block[512] = { 0 };
	snprintf(block, 100, "big");
	memcpy(block + 100, "0000644", 8);
	memcpy(block + 108, "0000000", 8);
	memcpy(block + 116, "0000000", 8);
	memcpy(block + 124, "00000010000", 12); /* 4096 bytes announced */
	memcpy(block + 136, "00000000000", 12);
	block[156] = '0';
	memcpy(block + 257, "ustar", 6);
	memcpy(block + 263, "00", 2);
	memset(block + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < 512; i++)
		sum += (unsigned char)block[i];
	snprintf(block + 148, 8, "%06o", sum);
	st_buf_add(&tar, block, 512);
	st_buf_add(&tar, "only a little", 13);
	struct st_store_layer l = { .media_type = "application/vnd.oci.image.layer.v1.tar" };
	assert_int_equal(st_store_put_blob(f->store, tar.data, tar.len, &l.digest, &err), 0);
	l.diff_id = l.digest;
	l.size = l.diff_size = tar.len;
	st_buf_release(&tar);
	assert_int_equal(st_store_layer_put(f->store, &l, &err), 0);
	const char *h[] = { "ADD big /" };
	commit(f->store, "docker.io/library/cut:1", &l, 1, h);

	struct st_store_image *img = NULL;
	assert_int_equal(st_local_image_find(f->store, "cut:1", &img, &err), 0);
	struct st_analyze *a = NULL;
	assert_int_equal(st_analyze_image(f->store, img, NULL, &a, &err), -1);
	assert_null(a);
	assert_int_equal(err->kind, ST_E_PARSE);
	assert_non_null(strstr(err->msg, "layer 0 (sha256:"));
	st_error_free(err);
	st_store_image_free(img);
}

static void a_whiteout_of_nothing_is_a_warning(void **state)
{
	struct fixture *f = *state;
	static const struct op_spec l0[] = { { OP_FILE, "a", 5, 'a' }, { OP_END } };
	static const struct op_spec l1[] = { { OP_WHITEOUT, "never" },
					     { OP_FILE, "b", 7, 'b' },
					     { OP_END } };
	struct st_store_layer layers[2];
	write_layer(f->store, l0, &layers[0]);
	write_layer(f->store, l1, &layers[1]);
	const char *h[] = { "ADD a /", "RUN rm -f /never" };
	commit(f->store, "docker.io/library/odd:1", layers, 2, h);
	st_store_layer_release(&layers[0]);
	st_store_layer_release(&layers[1]);
	st_auto(st_analyze) struct st_analyze *a = analyze(f->store, "odd:1", 0);
	size_t n = 0;
	const char *const *warnings = st_analyze_warnings(a, &n);
	assert_int_equal(n, 1);
	assert_string_equal(warnings[0], "layer 1: whiteout of 'never', which no layer below has");
	/*
	 * dive's walk of layer 1 stops at the whiteout it cannot find: 'b' comes after
	 * '.wh.never' in its order, so it is never counted ('a' 5 alone: efficiency 1).
	 */
	assert_int_equal(st_analyze_dive(a)->size, 12);
	assert_true(st_analyze_dive(a)->efficiency == 1.0);
	assert_int_equal(st_analyze_dive(a)->wasted_bytes, 0);
}

static void build_tools_and_a_deleted_secret(void **state)
{
	struct fixture *f = *state;
	static const struct op_spec l0[] = { { OP_DIR, "usr" },
					     { OP_DIR, "usr/bin" },
					     { OP_FILE, "usr/bin/gcc-12", 500, 'g' },
					     { OP_FILE, "usr/bin/ls", 100, 'l' },
					     { OP_END } };
	static const struct op_spec l1[] = { { OP_FILE, ".env", 20, 'e' }, { OP_END } };
	static const struct op_spec l2[] = { { OP_WHITEOUT, ".env" }, { OP_END } };
	struct st_store_layer layers[3];
	write_layer(f->store, l0, &layers[0]);
	write_layer(f->store, l1, &layers[1]);
	write_layer(f->store, l2, &layers[2]);
	const char *h[] = { "RUN apt-get install gcc", "COPY .env /", "RUN rm /.env" };
	commit(f->store, "docker.io/library/tools:1", layers, 3, h);
	for (size_t i = 0; i < 3; i++)
		st_store_layer_release(&layers[i]);
	st_auto(st_analyze) struct st_analyze *a = analyze(f->store, "tools:1", 0);
	const struct st_analyze_waste *w = st_analyze_waste(a);
	/* only the secret is waste; the compiler is still there, and that is the finding */
	assert_int_equal(w->wasted_bytes, 20);
	assert_int_equal(w->n_findings, 2);
	assert_int_equal(w->findings[0].kind, ST_ANALYZE_BUILD_TOOLS);
	assert_int_equal(w->findings[0].bytes, 500);
	assert_int_equal(w->findings[0].added_in, 0);
	assert_int_equal(w->findings[0].removed_in, ST_ANALYZE_NONE);
	assert_string_equal(w->findings[0].example, "/usr/bin/gcc-12");
	/* deleted later, the key is still in the layer that added it */
	assert_int_equal(w->findings[1].kind, ST_ANALYZE_SECRET);
	assert_int_equal(w->findings[1].bytes, 20);
	assert_int_equal(w->findings[1].added_in, 1);
	assert_int_equal(w->findings[1].removed_in, 2);
}

static void dive_ci_file_and_rules(void **state)
{
	struct fixture *f = *state;
	make_images(f->store);
	st_auto(st_analyze) struct st_analyze *a = analyze(f->store, "app:1", 0);
	struct st_error *err = NULL;
	struct st_analyze_rules r;
	st_analyze_rules_init(&r);
	const char *yml = "rules:\n"
			  "  lowestEfficiency: 0.95\n"
			  "  highestWastedBytes: 1KB\n"
			  "  highestUserWastedPercent: off\n"
			  "  highestStrataWastedBytes: 3kB\n";
	assert_int_equal(st_analyze_rules_parse(&r, yml, strlen(yml), ".dive-ci", &err), 0);
	struct st_analyze_result *v = NULL;
	assert_int_equal(st_analyze_rules_eval(&r, a, NULL, &v, &err), 0);
	/* sorted by name, as dive prints them */
	assert_string_equal(st_analyze_rule_name(v[0].id), "highestImageSize");
	assert_int_equal(v[0].verdict, ST_ANALYZE_SKIP);
	assert_string_equal(v[1].message, "3kB"); /* 2200 <= 3000 */
	assert_int_equal(v[1].verdict, ST_ANALYZE_PASS);
	assert_int_equal(v[2].verdict, ST_ANALYZE_SKIP); /* no baseline */
	assert_string_equal(v[3].message, "disabled");
	assert_int_equal(v[4].verdict, ST_ANALYZE_FAIL);
	assert_string_equal(v[4].message,
			    "too many bytes wasted (wasted-bytes=1100 > threshold=1000)");
	assert_int_equal(v[5].verdict, ST_ANALYZE_FAIL);
	assert_string_equal(v[5].message,
			    "image efficiency is too low (efficiency=0.80 < threshold=0.95)");
	st_analyze_results_free(v, ST_ANALYZE_N_RULES);

	/* baseline: the same image, waste grew by 0 */
	assert_int_equal(st_analyze_rules_set(&r, "highestStrataWastedIncrease", "0", &err), 0);
	assert_int_equal(st_analyze_rules_eval(&r, a, a, &v, &err), 0);
	assert_int_equal(v[2].verdict, ST_ANALYZE_PASS);
	st_analyze_results_free(v, ST_ANALYZE_N_RULES);

	const char *bad = "rules:\n  lowest-efficiency: 0.9\n";
	assert_int_equal(st_analyze_rules_parse(&r, bad, strlen(bad), ".dive-ci", &err), -1);
	assert_non_null(strstr(err->msg, ".dive-ci:2: rules: unknown rule 'lowest-efficiency'"));
	st_error_clear(&err);
	const char *broken = "rules:\n  lowestEfficiency: [0.9\n";
	assert_int_equal(st_analyze_rules_parse(&r, broken, strlen(broken), "ci.yml", &err), -1);
	assert_int_equal(err->kind, ST_E_PARSE);
	assert_non_null(strstr(err->msg, "ci.yml:"));
	st_error_clear(&err);
	assert_int_equal(st_analyze_rules_set(&r, "lowestEfficiency", "1.5", &err), 0);
	assert_int_equal(st_analyze_rules_eval(&r, a, NULL, &v, &err), -1);
	assert_string_equal(err->msg, "lowestEfficiency config value is outside allowed range "
				      "(0-1), given '1.500000'");
	st_error_clear(&err);
	st_analyze_rules_release(&r);
}

static void humanize_bytes(void **state)
{
	(void)state;
	struct st_error *err = NULL;
	uint64_t v = 0;
	assert_int_equal(st_analyze_parse_bytes("20MB", &v, &err), 0);
	assert_int_equal(v, 20000000);
	assert_int_equal(st_analyze_parse_bytes("20MiB", &v, &err), 0);
	assert_int_equal(v, 20971520);
	assert_int_equal(st_analyze_parse_bytes("1.5 kB", &v, &err), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(st_analyze_parse_bytes("1,000", &v, &err), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(st_analyze_parse_bytes("20 parsecs", &v, &err), -1);
	st_error_clear(&err);
	assert_int_equal(st_analyze_parse_bytes("MB", &v, &err), -1);
	st_error_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(dive_figures_follow_dive, setup, teardown),
		cmocka_unit_test_setup_teardown(strata_waste_and_findings, setup, teardown),
		cmocka_unit_test_setup_teardown(exclude_base_leaves_base_layers_out, setup,
						teardown),
		cmocka_unit_test_setup_teardown(statuses_against_the_layers_below, setup, teardown),
		cmocka_unit_test_setup_teardown(layer_walk_in_dive_order, setup, teardown),
		cmocka_unit_test_setup_teardown(final_tree_with_directory_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(diff_of_two_images, setup, teardown),
		cmocka_unit_test_setup_teardown(truncated_layer_is_an_error_naming_it, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_whiteout_of_nothing_is_a_warning, setup,
						teardown),
		cmocka_unit_test_setup_teardown(build_tools_and_a_deleted_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(dive_ci_file_and_rules, setup, teardown),
		cmocka_unit_test(humanize_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
