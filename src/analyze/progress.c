/*
 * progress.c: an image's layers read with each read reported. The layers are streamed as
 * they are stored (compressed, most of the time), and their readers do not know a layer's
 * blob size, so the bytes are reported without a total.
 */
#include "analyze/analyze.h"

#include "util/banned.h"

static ssize_t progress_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	struct st_analyze_progress *p = ctx;
	ssize_t k = p->src.read(p->src.ctx, buf, n, err);
	if (k > 0) {
		p->done += (uint64_t)k;
		st_events_bytes(p->events, p->id, p->done, 0);
	}
	return k;
}

static int progress_open(void *ctx, size_t i, struct st_layer_source *src, struct st_error **err)
{
	struct st_analyze_progress *p = ctx;
	if (p->inner->open(p->inner->ctx, i, &p->src, err) < 0)
		return -1;
	st_events_short_id(st_digest_hex(&p->inner->digests[i]), p->id);
	p->done = 0;
	st_events_status(p->events, p->id, "Reading layer");
	*src = (struct st_layer_source){ .read = progress_read, .ctx = p };
	return 0;
}

static void progress_close(void *ctx, size_t i)
{
	struct st_analyze_progress *p = ctx;
	p->inner->close(p->inner->ctx, i);
	st_events_status(p->events, p->id, "Read complete");
}

void st_analyze_progress_init(struct st_analyze_progress *p, const struct st_local_layers *inner,
			      const struct st_events *events)
{
	*p = (struct st_analyze_progress){ .inner = inner, .events = events };
	p->in = *inner;
	p->in.open = progress_open;
	p->in.close = progress_close;
	p->in.ctx = p;
}
