/*
 * cache.c: step keys, cache records and the explanation of misses.
 *
 * A key is the sha256 of a small text naming everything the step's result depends on: the
 * parent's key (which, through the chain, covers the base image id and every earlier step),
 * the instruction after expansion, the build args it sees and the checksum of the files it
 * copies. The record under a key holds the state after the step: the image config (with its
 * history entries and their timestamps, so a hit reproduces the same image id) and the layer
 * the step added, if any. The record names the layer's diff_id so gc keeps the layer.
 *
 * To explain a miss, the inputs of the last key computed at each position of a Dockerfile
 * (context, stage, step) are kept in the kv table; a miss compares against them.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/stat.h>

#include "builder/internal.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/banned.h"

void builder_state_release(struct build_state *st)
{
	st_image_config_free(st->cfg);
	st_store_layers_free(st->layers, st->n_layers);
	memset(st, 0, sizeof(*st));
}

static void layer_copy(struct st_store_layer *dst, const struct st_store_layer *src)
{
	*dst = *src;
	dst->media_type = st_xstrdup(src->media_type ? src->media_type : ST_MT_OCI_LAYER_GZIP);
}

void builder_state_copy(struct build_state *dst, const struct build_state *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->cfg = src->cfg ? st_image_config_dup(src->cfg) : st_image_config_new();
	for (size_t i = 0; i < src->n_layers; i++)
		builder_state_add_layer(dst, &src->layers[i]);
	memcpy(dst->key, src->key, sizeof(dst->key));
}

void builder_state_add_layer(struct build_state *st, const struct st_store_layer *l)
{
	st->layers = st_xrealloc(st->layers, (st->n_layers + 1) * sizeof(*st->layers));
	layer_copy(&st->layers[st->n_layers++], l);
}

void builder_key_inputs_init(struct key_inputs *k)
{
	memset(k, 0, sizeof(*k));
	k->args = (struct st_buf)ST_BUF_INIT;
	k->files = (struct st_buf)ST_BUF_INIT;
	k->instr_own = (struct st_buf)ST_BUF_INIT;
}

void builder_key_inputs_release(struct key_inputs *k)
{
	st_buf_release(&k->args);
	st_buf_release(&k->files);
	st_buf_release(&k->instr_own);
}

void builder_key_compute(const struct key_inputs *k, char out[ST_DIGEST_HEX_LEN + 1])
{
	struct st_hasher h;
	st_hasher_init(&h);
	static const char tag[] = "strata-build-cache-v1\n";
	st_hasher_update(&h, tag, sizeof(tag) - 1);
	st_hasher_update(&h, k->parent, strlen(k->parent) + 1);
	st_hasher_update(&h, k->instr, strlen(k->instr) + 1);
	st_hasher_update(&h, st_buf_str(&k->args), k->args.len + 1);
	st_hasher_update(&h, k->files_sum, strlen(k->files_sum) + 1);
	struct st_digest d;
	st_hasher_final(&h, &d);
	memcpy(out, st_digest_hex(&d), ST_DIGEST_HEX_LEN + 1);
}

int builder_cache_get(struct st_store *s, const char *key, const struct build_state *parent,
		      struct build_state *out, struct st_error **err)
{
	struct st_store_cache rec = { 0 };
	struct st_error *gerr = NULL;
	if (st_store_cache_get(s, key, &rec, &gerr) < 0) {
		if (gerr->kind == ST_E_NOTFOUND) {
			st_error_free(gerr);
			return 0;
		}
		*err = gerr;
		return -1;
	}
	int rc = 0;
	json_error_t jerr;
	json_t *doc = json_loads(rec.value, 0, &jerr);
	const char *cfg_text = doc ? json_string_value(json_object_get(doc, "config")) : NULL;
	const char *layer = doc ? json_string_value(json_object_get(doc, "layer")) : NULL;
	struct st_image_config *cfg = NULL;
	struct st_store_layer l = { 0 };
	bool have_layer = false;
	if (!cfg_text || st_image_config_parse(cfg_text, strlen(cfg_text), &cfg, NULL) < 0) {
		rc = 0; /* an unreadable record is a miss; the step rewrites it */
		goto out;
	}
	if (layer) {
		struct st_error *lerr = NULL;
		int found = st_local_layer_find(s, layer, &l, &lerr);
		if (found <= 0) {
			/* The layer went (gc after a prune): the record is useless. */
			st_error_free(lerr);
			st_image_config_free(cfg);
			goto out;
		}
		have_layer = true;
	}
	memset(out, 0, sizeof(*out));
	out->cfg = cfg;
	for (size_t i = 0; i < parent->n_layers; i++)
		builder_state_add_layer(out, &parent->layers[i]);
	if (have_layer) {
		builder_state_add_layer(out, &l);
		st_store_layer_release(&l);
	}
	snprintf(out->key, sizeof(out->key), "%s", key);
	rc = 1;
out:
	json_decref(doc);
	st_store_cache_release(&rec);
	return rc;
}

int builder_cache_put(struct st_store *s, const struct build_state *st,
		      const struct st_store_layer *layer, struct st_error **err)
{
	struct st_buf cfg = ST_BUF_INIT;
	st_image_config_serialize(st->cfg, &cfg);
	json_t *doc = json_pack("{s:i, s:s}", "v", 1, "config", st_buf_str(&cfg));
	if (layer)
		json_object_set_new(doc, "layer", json_string(layer->digest.str));
	st_buf_release(&cfg);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	int rc = st_store_cache_put(s, st->key, text, layer ? layer->diff_id.str : NULL,
				    layer ? layer->diff_size : 0, err);
	free(text);
	return rc;
}

/* ---- explanations ---- */

/* The value of 'name' in "K=V\n" lines, or NULL. New. */
static char *line_value(const char *lines, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = lines; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > n && !strncmp(p, name, n) && p[n] == '=')
			return st_xstrndup(p + n + 1, len - n - 1);
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* First build arg that differs between two "K=V\n" lists. */
static char *args_diff(const char *old, const char *cur)
{
	for (int pass = 0; pass < 2; pass++) {
		const char *a = pass ? old : cur, *b = pass ? cur : old;
		for (const char *p = a; p && *p;) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p) : strlen(p);
			const char *eq = memchr(p, '=', len);
			if (eq) {
				st_autofree char *name = st_xstrndup(p, (size_t)(eq - p));
				st_autofree char *va = line_value(a, name);
				st_autofree char *vb = line_value(b, name);
				const char *vold = pass ? va : vb, *vcur = pass ? vb : va;
				if (!vb || strcmp(va, vb) != 0) {
					if (!vold)
						return st_xasprintf("build arg %s set to '%s'",
								    name, vcur);
					if (!vcur)
						return st_xasprintf(
						    "build arg %s ('%s') no longer set", name,
						    vold);
					return st_xasprintf(
					    "build arg %s changed from '%s' to '%s'", name, vold,
					    vcur);
				}
			}
			p = nl ? nl + 1 : NULL;
		}
	}
	return NULL;
}

/* Parse "<hex> <path>\n" lines into a sorted-by-path walk; report the first difference. */
static char *files_diff(const char *old, const char *cur)
{
	/* Both lists are in the same deterministic order (the sources as selected), so walk
	 * them side by side; a path present in one only is an addition or a removal. */
	const char *a = old, *b = cur;
	while (*a || *b) {
		const char *na = strchr(a, '\n'), *nb = strchr(b, '\n');
		size_t la = na ? (size_t)(na - a) : strlen(a),
		       lb = nb ? (size_t)(nb - b) : strlen(b);
		if (!*a) {
			const char *sp = memchr(b, ' ', lb);
			return st_xasprintf("file %.*s was added",
					    sp ? (int)(lb - (size_t)(sp + 1 - b)) : (int)lb,
					    sp ? sp + 1 : b);
		}
		if (!*b) {
			const char *sp = memchr(a, ' ', la);
			return st_xasprintf("file %.*s was removed",
					    sp ? (int)(la - (size_t)(sp + 1 - a)) : (int)la,
					    sp ? sp + 1 : a);
		}
		const char *sa = memchr(a, ' ', la), *sb = memchr(b, ' ', lb);
		if (!sa || !sb)
			break;
		size_t pa = la - (size_t)(sa + 1 - a), pb = lb - (size_t)(sb + 1 - b);
		if (pa != pb || memcmp(sa + 1, sb + 1, pa) != 0) {
			int c = strncmp(sa + 1, sb + 1, pa < pb ? pa : pb);
			if (c > 0 || (c == 0 && pa > pb))
				return st_xasprintf("file %.*s was added", (int)pb, sb + 1);
			return st_xasprintf("file %.*s was removed", (int)pa, sa + 1);
		}
		if ((size_t)(sa - a) != (size_t)(sb - b) || memcmp(a, b, (size_t)(sa - a)) != 0) {
			/* "<commit>:git <remote>": the ref now names another commit. */
			if (sa - a > 4 && sb - b > 4 && !memcmp(sa - 4, ":git", 4) &&
			    !memcmp(sb - 4, ":git", 4))
				return st_xasprintf("git %.*s moved from commit %.*s to %.*s",
						    (int)pb, sb + 1, (int)(sa - a - 4), a,
						    (int)(sb - b - 4), b);
			/* "<digest>:stage /out/app from stage build": the line names itself. */
			bool named = sb - b > 6 &&
				     (!memcmp(sb - 6, ":stage", 6) || !memcmp(sb - 6, ":image", 6));
			return st_xasprintf("%s%.*s changed", named ? "" : "file ", (int)pa,
					    sa + 1);
		}
		a = na ? na + 1 : a + la;
		b = nb ? nb + 1 : b + lb;
	}
	return st_xstrdup("the copied files changed");
}

/* The 'i'th field of 's' split at 'sep', as a pointer into 's' and its length; NULL if 's'
 * has fewer fields. */
static const char *field(const char *s, char sep, size_t i, size_t *len)
{
	for (; i > 0; i--) {
		s = strchr(s, sep);
		if (!s)
			return NULL;
		s++;
	}
	const char *e = strchr(s, sep);
	*len = e ? (size_t)(e - s) : strlen(s);
	return s;
}

/* The length of the instruction itself in a canonical text: the settings it is run with
 * ("\x1e" "network=none") follow it. */
static size_t instr_len(const char *canon)
{
	return strcspn(canon, "\x1e");
}

/*
 * Two canonical texts of one instruction as written differ in what was substituted
 * (ENV V=$X with another X) or in a setting the step runs with (the build's --network): say
 * which, with both values. NULL if the difference is elsewhere.
 */
static char *canon_diff(const char *old, const char *cur)
{
	size_t lo = instr_len(old), lc = instr_len(cur);
	if (lo == lc && !memcmp(old, cur, lo)) {
		/* Settings: "\x1e" "name=value" each, in the same order every time. */
		for (size_t i = 1;; i++) {
			size_t no = 0, nc = 0;
			const char *a = field(old, '\x1e', i, &no), *b = field(cur, '\x1e', i, &nc);
			if (!a || !b)
				return NULL;
			if (no == nc && !memcmp(a, b, no))
				continue;
			const char *ea = memchr(a, '=', no), *eb = memchr(b, '=', nc);
			if (!ea || !eb || ea - a != eb - b || memcmp(a, b, (size_t)(ea - a)) != 0)
				return NULL;
			return st_xasprintf("%.*s changed from %.*s to %.*s", (int)(ea - a), a,
					    (int)(no - (size_t)(ea + 1 - a)), ea + 1,
					    (int)(nc - (size_t)(eb + 1 - b)), eb + 1);
		}
	}
	/* Words: "\x1f" before each, after the kind and its flags (" --from=x"). */
	st_autofree char *o = st_xstrndup(old, lo), *c = st_xstrndup(cur, lc);
	for (size_t i = 0;; i++) {
		size_t no = 0, nc = 0;
		const char *a = field(o, '\x1f', i, &no), *b = field(c, '\x1f', i, &nc);
		if (!a || !b)
			return NULL;
		if (no == nc && !memcmp(a, b, no))
			continue;
		if (i == 0) {
			/* The kind and flags: name the flag whose value differs. */
			st_autofree char *fa = st_xstrndup(a, no), *fb = st_xstrndup(b, nc);
			for (size_t j = 1;; j++) {
				size_t ja = 0, jb = 0;
				const char *x = field(fa, ' ', j, &ja), *y = field(fb, ' ', j, &jb);
				if (!x || !y)
					return NULL;
				if (ja != jb || memcmp(x, y, ja) != 0)
					return st_xasprintf("a flag changed from %.*s to %.*s",
							    (int)ja, x, (int)jb, y);
			}
		}
		/* ENV and LABEL expand to names and values, in turn: name the variable. */
		size_t nk = 0, nn = 0;
		const char *kind = field(c, '\x1f', 0, &nk);
		const char *name = i % 2 == 0 ? field(c, '\x1f', i - 1, &nn) : NULL;
		if (name && ((nk == 3 && !strncasecmp(kind, "env", 3)) ||
			     (nk == 5 && !strncasecmp(kind, "label", 5))))
			return st_xasprintf(
			    "the expanded value of %.*s changed from '%.*s' to '%.*s'", (int)nn,
			    name, (int)no, a, (int)nc, b);
		return st_xasprintf("the expanded value changed from '%.*s' to '%.*s'", (int)no, a,
				    (int)nc, b);
	}
}

int builder_cache_explain(struct st_store *s, const char *position, const struct key_inputs *k,
			  const char *key, bool hit, struct cache_why *why, struct st_error **err)
{
	memset(why, 0, sizeof(*why));
	st_autofree char *old = NULL;
	struct st_error *kerr = NULL;
	bool same = false, failed = false, running = false;
	if (st_store_kv_get(s, KV_NS_LAST, position, &old, &kerr) == 0) {
		json_error_t jerr;
		json_t *doc = json_loads(old, 0, &jerr);
		const char *okey = json_string_value(json_object_get(doc, "key"));
		const char *instr = json_string_value(json_object_get(doc, "instr"));
		const char *text = json_string_value(json_object_get(doc, "text"));
		const char *parent = json_string_value(json_object_get(doc, "parent"));
		const char *args = json_string_value(json_object_get(doc, "args"));
		const char *fsum = json_string_value(json_object_get(doc, "files"));
		same = okey && !strcmp(okey, key);
		failed = json_is_true(json_object_get(doc, "failed"));
		/* Set while a step runs, cleared when it ends: still set, the run was killed. */
		running = json_is_true(json_object_get(doc, "running"));
		/* The step's own inputs first: a step that changed itself says so even when an
		 * earlier step changed too. */
		if (hit || !doc || !instr || !parent) {
			why->text = NULL;
		} else if (same) {
			why->text = st_xstrdup(
			    failed ? "the previous attempt at this step failed"
			    : running
				? "the previous attempt at this step did not finish (interrupted)"
				: "the cached result is gone (pruned)");
		} else if (strcmp(instr, k->instr) != 0) {
			why->own = true;
			if (text && k->text && !strcmp(text, k->text))
				why->text = canon_diff(instr, k->instr);
			if (!why->text)
				why->text = st_xasprintf(
				    "the instruction changed (was: %.200s%s)", text ? text : instr,
				    strlen(text ? text : instr) > 200 ? " ..." : "");
		} else if (args && strcmp(args, st_buf_str(&k->args)) != 0) {
			why->own = true;
			why->text = args_diff(args, st_buf_str(&k->args));
		} else if (fsum && strcmp(fsum, k->files_sum) != 0) {
			why->own = true;
			st_autofree char *files = NULL;
			struct st_error *ferr = NULL;
			if (st_store_kv_get(s, KV_NS_FILES, fsum, &files, &ferr) == 0)
				why->text = files_diff(files, st_buf_str(&k->files));
			else
				why->text = st_xstrdup("the copied files changed");
			st_error_free(ferr);
		} else if (strcmp(parent, k->parent) != 0) {
			why->parent_only = true;
			why->text = st_xstrdup("the parent step changed");
		} else {
			why->text = st_xstrdup("the cached result is gone (pruned)");
		}
		json_decref(doc);
	} else {
		st_error_free(kerr);
	}
	if (same && !failed && (hit || running))
		return 0; /* a no-change rebuild writes nothing */
	/* The file list (20,000 lines for a big context) is kept once per distinct content, by
	 * its checksum, and only when the step runs: a hit's list was kept by the miss that made
	 * the record. */
	if (!hit && k->files.len &&
	    st_store_kv_put(s, KV_NS_FILES, k->files_sum, st_buf_str(&k->files), err) < 0)
		return -1;
	json_t *doc =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "key", key, "instr", k->instr,
		      "parent", k->parent, "args", st_buf_str(&k->args), "files", k->files_sum,
		      "text", k->text ? k->text : "", "running", !hit);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	int rc = st_store_kv_put(s, KV_NS_LAST, position, text, err);
	free(text);
	return rc;
}

int builder_cache_attempt(struct st_store *s, const char *position, const char *key, bool ok,
			  struct st_error **err)
{
	st_autofree char *old = NULL;
	struct st_error *kerr = NULL;
	if (st_store_kv_get(s, KV_NS_LAST, position, &old, &kerr) < 0) {
		st_error_free(kerr);
		return 0;
	}
	json_error_t jerr;
	json_t *doc = json_loads(old, 0, &jerr);
	const char *okey = json_string_value(json_object_get(doc, "key"));
	int rc = 0;
	if (okey && !strcmp(okey, key)) {
		json_object_set_new(doc, "running", json_false());
		json_object_set_new(doc, "failed", json_boolean(!ok));
		char *text = json_dumps(doc, JSON_COMPACT);
		rc = st_store_kv_put(s, KV_NS_LAST, position, text, err);
		free(text);
	}
	json_decref(doc);
	return rc;
}

/* ---- builder du / prune ---- */

/*
 * The image configs in the store, to tell dangling records from those an image was built
 * through: a record's history (each step's timestamp and command) is then a prefix of the
 * image's history. Timestamps make the prefix specific to one build's chain.
 */
struct image_histories {
	struct st_image_config **cfg;
	size_t n;
};

static void histories_release(struct image_histories *h)
{
	for (size_t i = 0; i < h->n; i++)
		st_image_config_free(h->cfg[i]);
	free(h->cfg);
}

static int histories_load(struct st_store *s, struct image_histories *h, struct st_error **err)
{
	memset(h, 0, sizeof(*h));
	struct st_store_image **imgs = NULL;
	size_t n = 0;
	if (st_store_image_list(s, 0, &imgs, &n, err) < 0)
		return -1;
	h->cfg = st_xcalloc(n + 1, sizeof(*h->cfg));
	for (size_t i = 0; i < n; i++) {
		struct st_error *e = NULL;
		if (st_local_image_config(s, imgs[i], &h->cfg[h->n], &e) == 0)
			h->n++;
		st_error_free(e); /* an unreadable image keeps nothing alive */
	}
	st_store_image_list_free(imgs, n);
	return 0;
}

static bool same_str(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static bool history_prefix(const struct st_image_config *rec, const struct st_image_config *img)
{
	if (rec->n_history == 0 || rec->n_history > img->n_history)
		return false;
	for (size_t i = 0; i < rec->n_history; i++) {
		const struct st_image_history *a = &rec->history[i], *b = &img->history[i];
		if (!same_str(a->created, b->created) || !same_str(a->created_by, b->created_by) ||
		    a->empty_layer != b->empty_layer)
			return false;
	}
	return true;
}

/*
 * Whether no image was built through record 'c', and (if 'description' is not NULL) the
 * instruction of its step, the last history entry of the config it recorded (new, or NULL).
 */
static bool record_dangling(const struct st_store_cache *c, const struct image_histories *h,
			    char **description)
{
	json_error_t jerr;
	json_t *doc = json_loads(c->value, 0, &jerr);
	const char *text = doc ? json_string_value(json_object_get(doc, "config")) : NULL;
	struct st_image_config *cfg = NULL;
	bool dangling = true;
	if (text && st_image_config_parse(text, strlen(text), &cfg, NULL) == 0) {
		for (size_t i = 0; dangling && i < h->n; i++)
			if (history_prefix(cfg, h->cfg[i]))
				dangling = false;
		if (description && cfg->n_history && cfg->history[cfg->n_history - 1].created_by)
			*description = st_xstrdup(cfg->history[cfg->n_history - 1].created_by);
		st_image_config_free(cfg);
	}
	json_decref(doc);
	return dangling;
}

static uint64_t kv_bytes(struct st_store *s, const char *ns)
{
	struct st_store_kv *v = NULL;
	size_t n = 0;
	uint64_t total = 0;
	struct st_error *e = NULL;
	if (st_store_kv_list(s, ns, 0, &v, &n, &e) < 0) {
		st_error_free(e);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		total += v[i].size;
	st_store_kvs_free(v, n);
	return total;
}

static bool filter_keeps(const struct st_builder_cache_filter *f,
			 const struct st_builder_cache_record *r)
{
	if (!f)
		return true;
	if (f->type && strcmp(f->type, r->type) != 0)
		return false;
	if (f->id && strncmp(r->id, f->id, strlen(f->id)) != 0)
		return false;
	return !f->until || r->last_used < f->until;
}

static int by_last_used_desc(const void *a, const void *b)
{
	const struct st_builder_cache_record *x = a, *y = b;
	if (x->last_used != y->last_used)
		return x->last_used > y->last_used ? -1 : 1;
	return strcmp(x->id, y->id);
}

int st_builder_cache_du(struct st_store *s, const struct st_builder_cache_filter *filter,
			struct st_builder_cache_usage *out, struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	struct st_store_cache *v = NULL;
	size_t n = 0;
	if (st_store_cache_list(s, &v, &n, err) < 0)
		return -1;
	struct image_histories h;
	if (histories_load(s, &h, err) < 0) {
		st_store_caches_free(v, n);
		return -1;
	}
	struct st_builder_cache_record *mounts = NULL;
	size_t nm = 0;
	if (builder_cache_mounts_list(s, &mounts, &nm, err) < 0) {
		histories_release(&h);
		st_store_caches_free(v, n);
		return -1;
	}
	out->v = st_xcalloc(n + nm + 1, sizeof(*out->v));
	for (size_t i = 0; i < n + nm; i++) {
		struct st_builder_cache_record r;
		if (i < n) {
			const struct st_store_cache *c = &v[i];
			r = (struct st_builder_cache_record){
				.id = st_xstrdup(c->key),
				.type = "regular",
				.size = c->size,
				.last_used = c->last_used,
			};
			r.reclaimable = record_dangling(c, &h, &r.description);
		} else {
			r = mounts[i - n];
		}
		if (!filter_keeps(filter, &r)) {
			free(r.id);
			free(r.description);
			continue;
		}
		out->v[out->records++] = r;
		out->size += r.size;
		if (r.reclaimable)
			out->reclaimable += r.size;
		if (r.last_used > out->last_used)
			out->last_used = r.last_used;
	}
	if (out->records)
		qsort(out->v, out->records, sizeof(*out->v), by_last_used_desc);
	out->meta_size = kv_bytes(s, KV_NS_CTX) + kv_bytes(s, KV_NS_LAST) +
			 kv_bytes(s, KV_NS_FILES) + kv_bytes(s, KV_NS_FROM);
	free(mounts);
	histories_release(&h);
	st_store_caches_free(v, n);
	return 0;
}

void st_builder_cache_usage_release(struct st_builder_cache_usage *u)
{
	for (size_t i = 0; u->v && i < u->records; i++) {
		free(u->v[i].id);
		free(u->v[i].description);
	}
	free(u->v);
	memset(u, 0, sizeof(*u));
}

/* The context directory a kv key names ("<dir>" or "<dir>\n<dockerfile>\n..."); New. */
static char *key_dir(const char *key)
{
	const char *nl = strchr(key, '\n');
	return nl ? st_xstrndup(key, (size_t)(nl - key)) : st_xstrdup(key);
}

static bool dir_exists(const char *dir)
{
	struct stat st;
	return dir[0] == '/' && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * Forget the build's kv records that can no longer serve: checksums and explanations of
 * context directories that are gone (a stdin context's directory always is), and file lists
 * no remaining explanation names. The COPY --from checksums go every time: each is one
 * computation to redo, and nothing else tells which of them a kept record needs.
 */
static int forget_meta(struct st_store *s, bool all, struct st_error **err)
{
	if (st_store_kv_delete_ns(s, KV_NS_FROM, NULL, err) < 0)
		return -1;
	if (all) {
		const char *ns[] = { KV_NS_CTX, KV_NS_LAST, KV_NS_FILES };
		for (size_t i = 0; i < 3; i++)
			if (st_store_kv_delete_ns(s, ns[i], NULL, err) < 0)
				return -1;
		return 0;
	}
	struct st_store_kv *v = NULL;
	size_t n = 0;
	if (st_store_kv_list(s, KV_NS_CTX, 0, &v, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		st_autofree char *d = key_dir(v[i].key);
		if (!dir_exists(d))
			rc = st_store_kv_delete(s, KV_NS_CTX, v[i].key, err);
	}
	st_store_kvs_free(v, n);
	if (rc < 0 || st_store_kv_list(s, KV_NS_LAST, ST_STORE_KV_VALUES, &v, &n, err) < 0)
		return -1;
	char **named = st_xcalloc(n + 1, sizeof(*named));
	size_t nnamed = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		st_autofree char *d = key_dir(v[i].key);
		if (strcmp(d, "-") != 0 && !dir_exists(d)) {
			rc = st_store_kv_delete(s, KV_NS_LAST, v[i].key, err);
			continue;
		}
		json_error_t jerr;
		json_t *doc = json_loads(v[i].value, 0, &jerr);
		const char *f = json_string_value(json_object_get(doc, "files"));
		if (f && *f)
			named[nnamed++] = st_xstrdup(f);
		json_decref(doc);
	}
	st_store_kvs_free(v, n);
	if (rc == 0 && st_store_kv_list(s, KV_NS_FILES, 0, &v, &n, err) == 0) {
		for (size_t i = 0; rc == 0 && i < n; i++) {
			bool keep = false;
			for (size_t j = 0; !keep && j < nnamed; j++)
				keep = !strcmp(named[j], v[i].key);
			if (!keep)
				rc = st_store_kv_delete(s, KV_NS_FILES, v[i].key, err);
		}
		st_store_kvs_free(v, n);
	} else {
		rc = -1;
	}
	for (size_t i = 0; i < nnamed; i++)
		free(named[i]);
	free(named);
	return rc;
}

int st_builder_cache_prune(struct st_store *s, unsigned flags, uint64_t keep_bytes, size_t *removed,
			   uint64_t *freed, struct st_error **err)
{
	bool all = flags & ST_BUILDER_PRUNE_ALL;
	struct st_store_cache *v = NULL;
	size_t n = 0;
	if (st_store_cache_list(s, &v, &n, err) < 0) /* least recently used first */
		return -1;
	struct image_histories h = { 0 };
	if (!all && histories_load(s, &h, err) < 0) {
		st_store_caches_free(v, n);
		return -1;
	}
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i].size;
	size_t nrem = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n && (keep_bytes == 0 || total > keep_bytes); i++) {
		if (!all && !record_dangling(&v[i], &h, NULL))
			continue;
		struct st_error *e = NULL;
		if (st_store_cache_delete(s, v[i].key, &e) < 0) {
			if (e->kind != ST_E_NOTFOUND) { /* another prune was first */
				*err = e;
				rc = -1;
				break;
			}
			st_error_free(e);
			continue;
		}
		total -= v[i].size < total ? v[i].size : total;
		nrem++;
	}
	histories_release(&h);
	st_store_caches_free(v, n);
	if (rc < 0 || forget_meta(s, all && keep_bytes == 0, err) < 0)
		return -1;
	struct st_store_gc_report r = { 0 };
	if (st_store_gc(s, 0, &r, err) < 0)
		return -1;
	size_t mrem = 0;
	uint64_t mfreed = 0;
	if (keep_bytes == 0 && builder_cache_mounts_prune(s, &mrem, &mfreed, err) < 0)
		return -1;
	if (removed)
		*removed = nrem + mrem;
	if (freed)
		*freed = r.blob_bytes + r.unpacked_bytes + r.tmp_bytes + mfreed;
	return 0;
}
