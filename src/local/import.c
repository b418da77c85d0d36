/*
 * import.c: a root filesystem (a tar in any compression, a directory, or a tar on stdin)
 * becomes a one-layer image, as `docker import` makes it: the layer, then the config's
 * creation time, platform, diff_id and one history entry, recorded through the commit path.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "local/local.h"
#include "util/cleanup.h"
#include "util/timestamp.h"
#include "util/banned.h"

/* The creation time: SOURCE_DATE_EPOCH when given, for reproducible imports; else now. */
static char *created_at(const struct st_local_import *o)
{
	if (o->clamp)
		return st_time_rfc3339((time_t)o->source_date_epoch, 0);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return st_time_rfc3339(ts.tv_sec, ts.tv_nsec);
}

/* The tar being imported, its bytes reported as they are read. */
struct counted {
	int fd;
	const struct st_events *events;
	const char *id;
	uint64_t done, total;
};

static ssize_t counted_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	struct counted *c = ctx;
	ssize_t k = st_layer_source_fd_read(&c->fd, buf, n, err);
	if (k > 0) {
		c->done += (uint64_t)k;
		st_events_bytes(c->events, c->id, c->done, c->total);
	}
	return k;
}

static int write_layer(struct st_store *s, struct st_store_lease *lease,
		       const struct st_local_import *o, struct st_store_layer *out,
		       struct st_error **err)
{
	struct st_layer_writer_opts lo = { .compression = ST_LAYER_COMP_GZIP };
	if (o->clamp) {
		lo.flags |= ST_LAYER_WRITER_CLAMP_MTIME;
		lo.mtime_clamp = o->source_date_epoch;
	}
	st_auto(st_local_layer_writer) struct st_local_layer_writer *w = NULL;
	if (st_local_layer_writer_new(s, lease, &lo, &w, err) < 0)
		return -1;
	struct st_layer_writer *lw = st_local_layer_writer_layer(w);
	const char *src = o->src;
	struct stat st;
	if (strcmp(src, "-") != 0 && stat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (st_layer_writer_add_tree(lw, src, NULL, 0, err) < 0)
			return st_err_wrap(err, "import '%s'", src);
	} else {
		st_autoclose int fd = strcmp(src, "-") ? open(src, O_RDONLY | O_CLOEXEC) : dup(0);
		if (fd < 0)
			return st_err_errno(err, "open '%s'", src);
		const char *slash = strrchr(src, '/');
		struct counted c = { .fd = fd,
				     .events = &o->events,
				     .id = strcmp(src, "-") ? slash ? slash + 1 : src : "stdin" };
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			c.total = (uint64_t)st.st_size;
		st_events_status(c.events, c.id, "Importing");
		struct st_layer_source in = { .read = counted_read, .ctx = &c };
		if (st_layer_writer_add_raw(lw, in, err) < 0)
			return st_err_wrap(err, "import '%s'", src);
		st_events_status(c.events, c.id, "Imported");
	}
	return st_local_layer_writer_commit(w, out, err);
}

int st_local_import(struct st_store *s, const struct st_local_import *o, struct st_digest *id,
		    struct st_error **err)
{
	__attribute__((cleanup(st_store_lease_endp))) struct st_store_lease *lease = NULL;
	if (st_store_lease_begin(s, &lease, err) < 0)
		return -1;
	struct st_store_layer layer = { 0 };
	if (write_layer(s, lease, o, &layer, err) < 0)
		return -1;
	struct st_image_config *cfg = o->config;
	free(cfg->created);
	cfg->created = created_at(o);
	free(cfg->architecture);
	cfg->architecture = st_xstrdup(o->platform->architecture);
	free(cfg->os);
	cfg->os = st_xstrdup(o->platform->os);
	if (o->platform->variant[0]) {
		free(cfg->variant);
		cfg->variant = st_xstrdup(o->platform->variant);
	}
	st_autofree char *comment =
	    o->message ? st_xstrdup(o->message) : st_xasprintf("Imported from %s", o->src);
	if (o->message) {
		free(cfg->comment);
		cfg->comment = st_xstrdup(o->message);
	}
	st_image_config_add_diff_id(cfg, &layer.diff_id);
	struct st_image_history h = { .created = cfg->created, .comment = comment };
	st_image_config_add_history(cfg, &h);
	const char *refs[1] = { o->ref };
	struct st_local_commit c = {
		.config = cfg,
		.layers = &layer,
		.n_layers = 1,
		.refs = refs,
		.n_refs = o->ref ? 1 : 0,
		.lease = lease,
	};
	int rc = st_local_image_commit(s, &c, id, err);
	st_store_layer_release(&layer);
	return rc;
}
