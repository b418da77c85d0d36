/*
 * fs.c: what a container's files give: its log, the diff of its writable layer, the merged
 * filesystem as a tar, and a commit of the writable layer as a new image.
 */
#include "container/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "local/local.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

#define FOLLOW_NS (50 * 1000 * 1000)

/* ---- logs ------------------------------------------------------------------------------- */

/* Parse the complete lines of buf[0..len) and call 'fn' for each; *used: bytes consumed. */
static int emit_lines(const char *buf, size_t len, size_t *used, st_container_log_fn fn, void *ctx,
		      struct st_error **err)
{
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		json_t *rec = json_loadb(buf + start, i - start, 0, NULL);
		const char *stream = NULL, *time = NULL, *log = NULL;
		size_t loglen = 0;
		int rc = 0;
		if (rec && json_unpack(rec, "{s:s, s:s, s:s%}", "stream", &stream, "time", &time,
				       "log", &log, &loglen) == 0) {
			struct st_container_log_line line = { stream, time, log, loglen };
			rc = fn(ctx, &line, err);
		}
		json_decref(rec);
		if (rc < 0)
			return -1;
		start = i + 1;
	}
	*used = start;
	return 0;
}

int st_container_logs(struct st_store *s, const struct st_container *c,
		      const struct st_container_logs_opts *o, st_container_log_fn fn, void *ctx,
		      struct st_error **err)
{
	(void)s;
	st_autofree char *path = container_path(c, "ctr.log");
	st_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return st_err_errno(err, "open '%s'", path);
	struct st_buf buf = ST_BUF_INIT;
	if (fd >= 0) {
		char chunk[65536];
		ssize_t n;
		while ((n = read(fd, chunk, sizeof(chunk))) > 0)
			st_buf_add(&buf, chunk, (size_t)n);
	}
	/* --tail: from the start of the last 'tail' complete lines. */
	size_t from = 0;
	if (o->tail >= 0) {
		int64_t lines = 0;
		size_t end = buf.len;
		while (end && buf.data[end - 1] != '\n')
			end--; /* a partial last line is not a line yet */
		from = end;
		while (from > 0 && lines < o->tail) {
			from--;
			while (from > 0 && buf.data[from - 1] != '\n')
				from--;
			lines++;
		}
	}
	size_t used = 0;
	int rc = emit_lines(buf.data ? buf.data + from : "", buf.len - from, &used, fn, ctx, err);
	size_t left = buf.len - from - used;
	memmove(buf.data ? buf.data : (char *)"", buf.data ? buf.data + from + used : "", left);
	st_buf_setlen(&buf, left);
	/* -f: more as it comes, until nobody supervises the container, then what is left. */
	while (rc == 0 && o->follow) {
		bool live = container_supervised(c);
		if (fd < 0)
			fd = open(path, O_RDONLY | O_CLOEXEC);
		char chunk[65536];
		ssize_t n = 0;
		while (fd >= 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
			st_buf_add(&buf, chunk, (size_t)n);
		rc = emit_lines(buf.data ? buf.data : "", buf.len, &used, fn, ctx, err);
		if (rc == 0 && used) {
			memmove(buf.data, buf.data + used, buf.len - used);
			st_buf_setlen(&buf, buf.len - used);
		}
		if (!live)
			break;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = FOLLOW_NS };
		nanosleep(&ts, NULL);
	}
	st_buf_release(&buf);
	return rc;
}

/* ---- diff ------------------------------------------------------------------------------- */

struct change {
	char kind;
	char *path;
};

struct changes {
	struct change *v;
	size_t n;
	char *const *lowers;
	size_t nl;
};

static bool in_lowers(const struct changes *ch, const char *path)
{
	for (size_t i = 0; i < ch->nl; i++) {
		st_autofree char *p = st_xasprintf("%s%s", ch->lowers[i], path);
		struct stat st;
		if (lstat(p, &st) == 0)
			return true;
	}
	return false;
}

static void add_change(struct changes *ch, char kind, const char *path)
{
	ch->v = st_xrealloc(ch->v, (ch->n + 1) * sizeof(*ch->v));
	ch->v[ch->n++] = (struct change){ kind, st_xstrdup(path) };
}

/* An overlay upper dir's entries as Docker's overlay driver reports them: a whiteout is a
 * deletion, a path the layers below have is a change (a copy-up, a dir whose entries
 * changed), anything else an addition. */
static int walk(struct changes *ch, const char *upper, const char *rel, struct st_error **err)
{
	st_autofree char *dir = st_xasprintf("%s%s", upper, rel);
	DIR *d = opendir(dir);
	if (!d)
		return st_err_errno(err, "open '%s'", dir);
	char **names = NULL;
	size_t n = 0;
	int rc = st_dir_names(d, dir, &names, &n, err);
	closedir(d);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		st_autofree char *path = st_xasprintf("%s/%s", rel, names[i]);
		st_autofree char *full = st_xasprintf("%s%s", upper, path);
		struct stat st;
		if (lstat(full, &st) < 0) {
			rc = st_err_errno(err, "stat '%s'", full);
			break;
		}
		if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0) {
			add_change(ch, 'D', path);
			continue;
		}
		add_change(ch, in_lowers(ch, path) ? 'C' : 'A', path);
		if (S_ISDIR(st.st_mode))
			rc = walk(ch, upper, path, err);
	}
	st_strv_free(names, n);
	return rc;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct change *)a)->path, ((const struct change *)b)->path);
}

int st_container_diff(struct st_store *s, const struct st_container *c, st_container_change_fn fn,
		      void *ctx, struct st_error **err)
{
	(void)s;
	size_t nl = 0;
	char **lowers = container_lowers(c, &nl);
	struct changes ch = { .lowers = lowers, .nl = nl };
	st_autofree char *upper = container_path(c, "upper");
	int rc = walk(&ch, upper, "", err);
	if (rc == 0 && ch.n) /* qsort() takes no NULL, which an empty layer's list is */
		qsort(ch.v, ch.n, sizeof(*ch.v), by_path);
	for (size_t i = 0; rc == 0 && i < ch.n; i++)
		rc = fn(ctx, ch.v[i].kind, ch.v[i].path, err);
	for (size_t i = 0; i < ch.n; i++)
		free(ch.v[i].path);
	free(ch.v);
	st_strv_free(lowers, nl);
	return rc;
}

/* ---- size ------------------------------------------------------------------------------ */

int container_du(const char *dir, uint64_t *bytes, struct st_error **err)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : st_err_errno(err, "open '%s'", dir);
	char **names = NULL;
	size_t n = 0;
	int rc = st_dir_names(d, dir, &names, &n, err);
	closedir(d);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		st_autofree char *p = st_path_join(dir, names[i]);
		struct stat st;
		if (lstat(p, &st) < 0)
			continue; /* gone meanwhile: the container runs */
		if (S_ISDIR(st.st_mode))
			rc = container_du(p, bytes, err);
		else if (S_ISREG(st.st_mode))
			*bytes += (uint64_t)st.st_size;
	}
	st_strv_free(names, n);
	return rc;
}

int st_container_size(const struct st_container *c, uint64_t *bytes, struct st_error **err)
{
	*bytes = 0;
	st_autofree char *upper = container_path(c, "upper");
	return container_du(upper, bytes, err);
}

/* ---- export ----------------------------------------------------------------------------- */

int st_container_export(struct st_store *s, const struct st_container *c, int fd,
			struct st_error **err)
{
	/* A read-only view: the writable layer as the top lower, whose whiteouts hide what it
	 * deleted, over the init layer and the image's. */
	size_t nl = 0;
	char **lowers = container_lowers(c, &nl);
	lowers = st_xrealloc(lowers, (nl + 1) * sizeof(*lowers));
	memmove(lowers + 1, lowers, nl * sizeof(*lowers));
	lowers[0] = container_path(c, "upper");
	nl++;
	st_autofree char *base = NULL;
	st_autoclose int lock = -1;
	st_auto_snapshot_step struct st_snapshot_step view = ST_SNAPSHOT_STEP_INIT;
	int rc = st_store_tmp_mkdir(s, &base, &lock, err);
	if (rc == 0)
		rc = st_snapshot_step_create(base, "view", &view, err);
	if (rc == 0)
		rc = st_snapshot_step_mount(&view, (const char *const *)lowers, nl, err);
	if (rc == 0) {
		struct st_layer_writer_opts lo = { .compression = ST_LAYER_COMP_NONE };
		st_auto(st_layer_writer) struct st_layer_writer *w =
		    st_layer_writer_new(&lo, st_layer_sink_fd(&fd), err);
		struct st_layer_result res;
		if (!w || st_layer_writer_add_tree(w, view.merged, NULL, 0, err) < 0 ||
		    st_layer_writer_finish(w, &res, err) < 0)
			rc = -1;
	}
	struct st_error *cerr = NULL;
	if (view.dir)
		st_snapshot_step_remove(&view, &cerr);
	if (!cerr && base)
		st_rm_rf(base, &cerr);
	if (cerr && rc == 0) {
		*err = cerr;
		rc = -1;
	} else {
		st_error_free(cerr);
	}
	st_strv_free(lowers, nl);
	return rc;
}

/* ---- commit ----------------------------------------------------------------------------- */

static void set_strv(struct st_image_strv *v, const json_t *a)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
	v->set = json_is_array(a);
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e)
	{
		v->v = st_xrealloc(v->v, (v->n + 1) * sizeof(*v->v));
		v->v[v->n++] = st_xstrdup(json_string_value(e));
	}
}

static void set_str(char **dst, const json_t *v)
{
	const char *s = json_string_value(v);
	free(*dst);
	*dst = s && *s ? st_xstrdup(s) : NULL;
}

int st_container_commit_config(struct st_store *s, const struct st_container *c,
			       struct st_image_config **out, struct st_error **err)
{
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_store_image_get(s, st_container_image_id(c), &img, err) < 0)
		return st_err_wrap(err, "the container's image");
	struct st_image_config *cfg = NULL;
	if (st_local_image_config(s, img, &cfg, err) < 0)
		return -1;
	const json_t *cc = json_object_get(c->rec, "Config");
	set_strv(&cfg->config.entrypoint, json_object_get(cc, "Entrypoint"));
	set_strv(&cfg->config.cmd, json_object_get(cc, "Cmd"));
	set_strv(&cfg->config.env, json_object_get(cc, "Env"));
	set_str(&cfg->config.user, json_object_get(cc, "User"));
	set_str(&cfg->config.working_dir, json_object_get(cc, "WorkingDir"));
	*out = cfg;
	return 0;
}

int st_container_commit(struct st_store *s, const struct st_container *c,
			const struct st_container_commit *o, struct st_digest *id,
			struct st_error **err)
{
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_store_image_get(s, st_container_image_id(c), &img, err) < 0)
		return st_err_wrap(err, "the container's image");
	__attribute__((cleanup(st_store_lease_endp))) struct st_store_lease *lease = NULL;
	if (st_store_lease_begin(s, &lease, err) < 0)
		return -1;
	struct st_layer_writer_opts lo = { .compression = ST_LAYER_COMP_GZIP };
	st_auto(st_local_layer_writer) struct st_local_layer_writer *w = NULL;
	if (st_local_layer_writer_new(s, lease, &lo, &w, err) < 0)
		return -1;
	st_autofree char *upper = container_path(c, "upper");
	if (st_layer_writer_add_tree(st_local_layer_writer_layer(w), upper, NULL,
				     ST_LAYER_TREE_OVERLAY, err) < 0)
		return st_err_wrap(err, "the container's writable layer");
	struct st_store_layer layer = { 0 };
	if (st_local_layer_writer_commit(w, &layer, err) < 0)
		return -1;
	struct st_image_config *cfg = o->config;
	st_autofree char *now = container_now();
	free(cfg->created);
	cfg->created = st_xstrdup(now);
	if (o->author) {
		free(cfg->author);
		cfg->author = st_xstrdup(o->author);
	}
	if (o->message) {
		free(cfg->comment);
		cfg->comment = st_xstrdup(o->message);
	}
	st_image_config_add_diff_id(cfg, &layer.diff_id);
	st_autofree char *cmd = st_container_command(c);
	struct st_image_history h = {
		.created = now,
		.created_by = cmd,
		.author = (char *)o->author,
		.comment = (char *)o->message,
	};
	st_image_config_add_history(cfg, &h);
	struct st_store_layer *layers = st_xcalloc(img->n_layers + 1, sizeof(*layers));
	for (size_t i = 0; i < img->n_layers; i++)
		layers[i] = img->layers[i];
	layers[img->n_layers] = layer;
	const char *refs[] = { o->ref };
	struct st_local_commit lc = {
		.config = cfg,
		.layers = layers,
		.n_layers = img->n_layers + 1,
		.refs = refs,
		.n_refs = o->ref ? 1 : 0,
		.lease = lease,
	};
	int rc = st_local_image_commit(s, &lc, id, err);
	free(layers);
	st_store_layer_release(&layer);
	return rc;
}
