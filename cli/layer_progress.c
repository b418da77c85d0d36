/* layer_progress.c: per-layer progress lines for the verbs that report struct st_events. */
#include "layer_progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fmt.h"
#include "util/cleanup.h"
#include "util/banned.h"

#define BAR 40
/* Redraws at most this often (a fast transfer calls back thousands of times a second). */
#define DRAW_INTERVAL 0.1

struct st_cli_layer_line {
	char *id;
	char *status;
	uint64_t done, total;
	bool moving;  /* bytes came since the status changed: the bar shows */
	double start; /* when its bytes began to move */
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int st_cli_layers_init(struct st_cli_layers *p, FILE *f, const char *mode, unsigned flags,
		       struct st_error **err)
{
	*p = (struct st_cli_layers){ .f = f };
	if (!mode || !strcmp(mode, "auto")) {
		const char *term = getenv("TERM");
		p->tty = isatty(fileno(f)) && !(term && !strcmp(term, "dumb"));
		p->off = !p->tty && !(flags & ST_CLI_LAYERS_PIPE_PLAIN);
	} else if (!strcmp(mode, "tty")) {
		p->tty = true;
	} else if (strcmp(mode, "plain")) {
		return st_cli_usage(err, "--progress: expected auto, plain or tty, not '%s'", mode);
	}
	if (flags & ST_CLI_LAYERS_QUIET)
		p->off = true;
	return 0;
}

void st_cli_layers_release(struct st_cli_layers *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].id);
		free(p->v[i].status);
	}
	free(p->v);
	*p = (struct st_cli_layers){ 0 };
}

/*
 * "Downloading [=====>     ]  12.3MB/45.6MB  8.1MB/s  4s", "Reading layer  12.3MB" when the
 * total is not known, or the status alone once the bytes stopped moving.
 */
static void render(const struct st_cli_layer_line *l, struct st_buf *out)
{
	st_buf_addf(out, "%s: %s", l->id, l->status);
	if (!l->moving || (l->total && l->done >= l->total))
		return;
	if (!l->total) {
		st_autofree char *done = st_fmt_size(l->done);
		st_buf_addf(out, "  %s", done);
		return;
	}
	size_t fill = (size_t)((double)l->done / (double)l->total * BAR);
	st_buf_adds(out, " [");
	for (size_t i = 0; i < BAR; i++)
		st_buf_adds(out, i < fill ? "=" : i == fill ? ">" : " ");
	st_autofree char *done = st_fmt_size(l->done);
	st_autofree char *total = st_fmt_size(l->total);
	st_buf_addf(out, "] %8s/%s", done, total);
	double secs = mono() - l->start;
	if (secs > 0.2 && l->done) {
		double rate = (double)l->done / secs;
		st_autofree char *r = st_fmt_size((uint64_t)rate);
		st_buf_addf(out, "  %s/s  %.0fs", r, (double)(l->total - l->done) / rate);
	}
}

/* Rewrite line 'i' in place: up to it, clear it, print it, back down. */
static void draw(struct st_cli_layers *p, size_t i)
{
	struct st_buf b = ST_BUF_INIT;
	render(&p->v[i], &b);
	size_t up = p->n - i;
	fprintf(p->f, "\033[%zuA\r\033[K%s\033[%zuB\r", up, st_buf_str(&b), up);
	fflush(p->f);
	st_buf_release(&b);
	p->last_draw = mono();
}

static struct st_cli_layer_line *find(struct st_cli_layers *p, const char *id, size_t *at)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].id, id)) {
			*at = i;
			return &p->v[i];
		}
	return NULL;
}

static void layers_event(void *ctx, const char *id, const char *status)
{
	struct st_cli_layers *p = ctx;
	if (!p->tty || !*id) {
		fprintf(p->f, "%s%s%s\n", id, *id ? ": " : "", status);
		return;
	}
	size_t i;
	struct st_cli_layer_line *l = find(p, id, &i);
	if (!l) {
		p->v = st_xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
		l = &p->v[p->n++];
		*l = (struct st_cli_layer_line){ .id = st_xstrdup(id),
						 .status = st_xstrdup(status),
						 .start = mono() };
		/* A new line at the bottom, where the cursor is. */
		struct st_buf b = ST_BUF_INIT;
		render(l, &b);
		fprintf(p->f, "%s\n", st_buf_str(&b));
		fflush(p->f);
		st_buf_release(&b);
		return;
	}
	free(l->status);
	l->status = st_xstrdup(status);
	l->start = mono();
	l->moving = false;
	draw(p, i);
}

static void layers_bytes(void *ctx, const char *id, uint64_t done, uint64_t total)
{
	struct st_cli_layers *p = ctx;
	size_t i;
	struct st_cli_layer_line *l = p->tty ? find(p, id, &i) : NULL;
	if (!l)
		return;
	l->done = done;
	l->total = total;
	l->moving = true;
	if ((total && done >= total) || mono() - p->last_draw >= DRAW_INTERVAL)
		draw(p, i);
}

struct st_events st_cli_layers_events(struct st_cli_layers *p)
{
	if (p->off)
		return (struct st_events){ 0 };
	return (struct st_events){ .fn = layers_event, .ctx = p, .bytes = layers_bytes };
}
