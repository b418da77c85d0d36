/* build.c: strata build [OPTIONS] CONTEXT|- : a Dockerfile and a context become an image. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builder/builder.h"
#include "build_stdin.h"
#include "cli.h"
#include "snapshot/snapshot.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/timestamp.h"
#include "util/fs.h"
#include "util/banned.h"

enum progress_mode { PROGRESS_AUTO, PROGRESS_PLAIN, PROGRESS_TTY, PROGRESS_QUIET };

struct build_cli_opts {
	struct st_builder_opts b;
	const char **tags, **args, **labels, **nocache_stages;
	struct st_builder_secret *secrets;
	size_t nsecrets;
	char **secret_strs; /* the parsed fields the secrets borrow */
	size_t nsecret_strs;
	size_t ntags, nargs, nlabels, nnocache;
	const char *iidfile;
	const char *analyze; /* --analyze: "" to print the findings, "ci" to judge the rules */
	bool quiet;
	enum progress_mode progress;
	const char *context;
	const char *file;
};

static const char usage_text[] =
    "Usage: strata build [OPTIONS] PATH|-\n\n"
    "Build an image from a Dockerfile\n\n"
    "With -, stdin holds a tar of the context (plain or compressed), or a Dockerfile and no\n"
    "context.\n\n"
    "Options:\n"
    "      --analyze                 Then print its efficiency and top findings (strata dive);\n"
    "                                (=ci: fail the build when a .dive-ci rule fails)\n"
    "      --build-arg list          Set build-time variables (K=V, or K to take it from the "
    "environment)\n"
    "  -f, --file string             Name of the Dockerfile (default: PATH/Dockerfile; - reads "
    "stdin)\n"
    "      --iidfile string          Write the image ID to the file\n"
    "  -j, --jobs int                Stages built at once (default: the number of CPUs)\n"
    "      --label list              Set metadata for an image\n"
    "      --load                    Accepted: the image is always in the store\n"
    "      --network string          Networking mode for RUN: none (default) or host\n"
    "      --no-cache                Do not use cache when building the image\n"
    "      --no-cache-filter list    Do not cache the given stages\n"
    "      --platform string         Target platform (only the host's for now)\n"
    "      --progress string         auto, plain, tty or quiet (default: auto)\n"
    "      --provenance string       Only false: no provenance attestations yet\n"
    "      --pull string             missing, never or always (default: missing)\n"
    "  -q, --quiet                   Print only the image ID on success\n"
    "      --runtime string          OCI runtime for RUN: runc (default), crun or a path\n"
    "      --sbom string             Only false: no SBOM attestations yet\n"
    "      --secret stringArray      Secret for RUN --mount=type=secret: id=ID,src=FILE or "
    "id=ID,env=VAR\n"
    "      --ssh stringArray         Refused: strata has no SSH agent forwarding\n"
    "      --source-date-epoch int   Clamp every timestamp to this time (also $SOURCE_DATE_EPOCH)\n"
    "  -t, --tag list                Name and optionally a tag (name:tag)\n"
    "      --target string           Set the target build stage to build\n";

static void push(const char ***v, size_t *n, const char *s)
{
	*v = st_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

static const char *secret_str(struct build_cli_opts *o, const char *p, size_t n)
{
	o->secret_strs = st_xrealloc(o->secret_strs, (o->nsecret_strs + 1) * sizeof(char *));
	return o->secret_strs[o->nsecret_strs++] = st_xstrndup(p, n);
}

/* Docker's --secret: "id=ID[,type=file|env][,src|source=FILE][,env=VAR]". Without a type, a
 * src means a file, an env a variable; with neither, the variable named ID if it is set, else
 * the file named ID. The content is read by the build, when a step mounts the secret. */
static int parse_secret(struct build_cli_opts *o, const char *spec, struct st_error **err)
{
	const char *id = NULL, *type = NULL, *src = NULL, *envname = NULL;
	for (const char *p = spec; *p;) {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);
		if (!eq)
			return st_cli_usage(err, "invalid --secret '%s': expected key=value", spec);
		size_t kl = (size_t)(eq - p);
		const char *v = secret_str(o, eq + 1, n - kl - 1);
		if (kl == 2 && !strncmp(p, "id", 2))
			id = v;
		else if (kl == 4 && !strncmp(p, "type", 4))
			type = v;
		else if ((kl == 3 && !strncmp(p, "src", 3)) ||
			 (kl == 6 && !strncmp(p, "source", 6)))
			src = v;
		else if (kl == 3 && !strncmp(p, "env", 3))
			envname = v;
		else
			return st_cli_usage(err, "invalid --secret '%s': unexpected key '%.*s'",
					    spec, (int)kl, p);
		p += n + (p[n] == ',');
	}
	if (!id || !*id)
		return st_cli_usage(err, "invalid --secret '%s': id is required", spec);
	if (type && strcmp(type, "file") && strcmp(type, "env"))
		return st_cli_usage(err, "invalid --secret '%s': type must be file or env", spec);
	if (!type)
		type = src ? "file" : envname ? "env" : getenv(id) ? "env" : "file";
	struct st_builder_secret sec = { .id = id };
	if (!strcmp(type, "file")) {
		sec.src = src ? src : id;
		if (access(sec.src, R_OK) < 0)
			return st_err_errno(err, "secret '%s': cannot read '%s'", id, sec.src);
	} else {
		const char *name = envname ? envname : src ? src : id;
		sec.value = getenv(name);
		if (!sec.value)
			return st_err(err, ST_E_NOTFOUND,
				      "secret '%s': environment variable %s is not set", id, name);
	}
	o->secrets = st_xrealloc(o->secrets, (o->nsecrets + 1) * sizeof(*o->secrets));
	o->secrets[o->nsecrets++] = sec;
	return 0;
}

static int parse_flags(struct st_cli *cli, int argc, char **argv, struct build_cli_opts *o,
		       struct st_error **err)
{
	enum {
		O_BUILD_ARG = 256,
		O_IIDFILE,
		O_LABEL,
		O_NETWORK,
		O_NO_CACHE,
		O_NO_CACHE_FILTER,
		O_PLATFORM,
		O_PROGRESS,
		O_PULL,
		O_RUNTIME,
		O_SDE,
		O_TARGET,
		O_SECRET,
		O_SSH,
		O_LOAD,
		O_PROVENANCE,
		O_SBOM,
		O_ANALYZE
	};
	static const struct option longopts[] = {
		{ "analyze", optional_argument, NULL, O_ANALYZE },
		{ "build-arg", required_argument, NULL, O_BUILD_ARG },
		{ "file", required_argument, NULL, 'f' },
		{ "iidfile", required_argument, NULL, O_IIDFILE },
		{ "jobs", required_argument, NULL, 'j' },
		{ "label", required_argument, NULL, O_LABEL },
		{ "load", no_argument, NULL, O_LOAD },
		{ "network", required_argument, NULL, O_NETWORK },
		{ "no-cache", no_argument, NULL, O_NO_CACHE },
		{ "no-cache-filter", required_argument, NULL, O_NO_CACHE_FILTER },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ "progress", required_argument, NULL, O_PROGRESS },
		{ "provenance", optional_argument, NULL, O_PROVENANCE },
		{ "pull", optional_argument, NULL, O_PULL },
		{ "quiet", no_argument, NULL, 'q' },
		{ "runtime", required_argument, NULL, O_RUNTIME },
		{ "sbom", optional_argument, NULL, O_SBOM },
		{ "secret", required_argument, NULL, O_SECRET },
		{ "ssh", required_argument, NULL, O_SSH },
		{ "source-date-epoch", required_argument, NULL, O_SDE },
		{ "tag", required_argument, NULL, 't' },
		{ "target", required_argument, NULL, O_TARGET },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool sde_set;
	if (st_time_source_date_epoch(&o->b.source_date_epoch, &sde_set, err) < 0)
		return -1;
	if (sde_set)
		o->b.flags |= ST_BUILDER_SOURCE_DATE_EPOCH;
	int c;
	while ((c = getopt_long(argc, argv, "f:j:qt:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_BUILD_ARG:
			if (optarg[0] == '=' || !optarg[0])
				return st_cli_usage(
				    err, "invalid --build-arg '%s': expected NAME=VALUE or NAME",
				    optarg);
			push(&o->args, &o->nargs, optarg);
			break;
		case 'f':
			o->file = optarg;
			break;
		case O_IIDFILE:
			o->iidfile = optarg;
			break;
		case 'j': {
			char *end;
			long j = strtol(optarg, &end, 10);
			if (*end || j < 1 || j > 1024)
				return st_cli_usage(err, "invalid --jobs '%s'", optarg);
			o->b.jobs = (unsigned)j;
			break;
		}
		case O_LABEL:
			push(&o->labels, &o->nlabels, optarg);
			break;
		case O_LOAD:
			/* buildx's --load: the image lands in strata's store anyway */
			break;
		case O_PROVENANCE:
		case O_SBOM:
			/* CI scripts pass =false to keep attestations out of the image */
			if (!optarg || (strcmp(optarg, "false") && strcmp(optarg, "0")))
				return st_err(
				    err, ST_E_INVALID,
				    "--%s: attestations are not available yet; pass --%s=false "
				    "or leave the flag out",
				    c == O_SBOM ? "sbom" : "provenance",
				    c == O_SBOM ? "sbom" : "provenance");
			break;
		case O_NETWORK:
			if (!strcmp(optarg, "none") || !strcmp(optarg, "default"))
				o->b.net = ST_RUNTIME_NET_NONE;
			else if (!strcmp(optarg, "host"))
				o->b.net = ST_RUNTIME_NET_HOST;
			else
				return st_cli_usage(err, "invalid --network '%s': use none or host",
						    optarg);
			break;
		case O_NO_CACHE:
			o->b.flags |= ST_BUILDER_NO_CACHE;
			break;
		case O_NO_CACHE_FILTER:
			push(&o->nocache_stages, &o->nnocache, optarg);
			break;
		case O_PLATFORM:
			o->b.platform = optarg;
			break;
		case O_PROGRESS:
			if (!strcmp(optarg, "auto"))
				o->progress = PROGRESS_AUTO;
			else if (!strcmp(optarg, "plain"))
				o->progress = PROGRESS_PLAIN;
			else if (!strcmp(optarg, "tty"))
				o->progress = PROGRESS_TTY;
			else if (!strcmp(optarg, "quiet") || !strcmp(optarg, "none"))
				o->progress = PROGRESS_QUIET;
			else
				return st_cli_usage(
				    err, "invalid --progress '%s': use auto, plain, tty or quiet",
				    optarg);
			break;
		case O_PULL:
			/* docker build's --pull is a boolean (true: always); buildx's takes a
			 * policy. */
			if (!optarg || !strcmp(optarg, "always") || !strcmp(optarg, "true"))
				o->b.pull = ST_BUILDER_PULL_ALWAYS;
			else if (!strcmp(optarg, "never"))
				o->b.pull = ST_BUILDER_PULL_NEVER;
			else if (!strcmp(optarg, "missing") || !strcmp(optarg, "false"))
				o->b.pull = ST_BUILDER_PULL_MISSING;
			else
				return st_cli_usage(
				    err, "invalid --pull '%s': use missing, never or always",
				    optarg);
			break;
		case 'q':
			o->quiet = true;
			break;
		case O_RUNTIME:
			o->b.runtime = optarg;
			break;
		case O_SECRET:
			if (parse_secret(o, optarg, err) < 0)
				return -1;
			break;
		case O_SSH:
			return st_err(err, ST_E_INVALID,
				      "--ssh is not supported: strata has no SSH agent forwarding");
		case O_SDE:
			if (st_time_parse_epoch(optarg, "--source-date-epoch",
						&o->b.source_date_epoch, err) < 0)
				return -1;
			o->b.flags |= ST_BUILDER_SOURCE_DATE_EPOCH;
			break;
		case 't':
			push(&o->tags, &o->ntags, optarg);
			break;
		case O_ANALYZE:
			if (optarg && strcmp(optarg, "ci"))
				return st_cli_usage(err,
						    "invalid --analyze '%s': use --analyze or "
						    "--analyze=ci",
						    optarg);
			o->analyze = optarg ? optarg : "";
			break;
		case O_TARGET:
			o->b.target = optarg;
			break;
		case 'h':
			fputs(usage_text, cli->out);
			return 1;
		default:
			return st_cli_usage(err, "see 'strata build --help'");
		}
	}
	if (argc - optind != 1)
		return st_cli_usage(err, "\"build\" requires exactly 1 argument: PATH|-");
	o->context = argv[optind];
	return 0;
}

/* ---- progress display ---- */

/*
 * Two forms, as BuildKit's. "plain" writes each event as a "#N ..." line. "tty" draws a view,
 * redrawn ten times a second: a "[+] Building 12.5s (6/8)" header, then one line per step
 * with its time against the right edge, a finished step's miss explanation, a running step's
 * last lines of output. While it runs the view is kept to the terminal's height (the oldest
 * lines give way) since the cursor cannot go back above the screen; at the end it is drawn
 * whole, then what the build said (warnings, hints) and the failed step's excerpt. Every line
 * is cut to the terminal's width: a wrapped line would make the redraw clear one too few.
 */

#define TAIL_LINES 4

enum view_state { VIEW_RUNNING, VIEW_CACHED, VIEW_DONE, VIEW_FAILED };

struct step_view {
	unsigned id;
	char *name;
	struct st_buf partial;	/* output not yet ended by a newline */
	char *tail[TAIL_LINES]; /* the last lines of output, oldest first */
	double start, seconds;
	enum view_state state;
	char *reason;
};

struct display {
	FILE *f;
	bool tty;
	bool color; /* tty and no NO_COLOR */
	pthread_mutex_t lock;
	struct step_view *steps; /* in the order they started */
	size_t nsteps;
	size_t finished, total; /* for the header: steps done or cached, and all of them */
	bool wrote;		/* plain: a blank line goes before the next step */
	struct st_buf after;	/* tty: written below the view when it is done */
	int live_lines;		/* tty: lines of the view on screen */
	int cols, rows;		/* tty: the terminal's size */
	double t0;
	bool stop;
	pthread_t ticker;
	bool ticking;
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct step_view *view_get(struct display *d, unsigned id)
{
	for (size_t i = 0; i < d->nsteps; i++)
		if (d->steps[i].id == id)
			return &d->steps[i];
	d->steps = st_xrealloc(d->steps, (d->nsteps + 1) * sizeof(*d->steps));
	struct step_view *v = &d->steps[d->nsteps++];
	memset(v, 0, sizeof(*v));
	v->id = id;
	v->partial = (struct st_buf)ST_BUF_INIT;
	return v;
}

/* Keep a line of output, tabs as spaces and without control characters (a tool's colours):
 * the view counts the columns it writes. */
static void tail_push(struct step_view *v, const char *line, size_t n)
{
	free(v->tail[0]);
	memmove(v->tail, v->tail + 1, (TAIL_LINES - 1) * sizeof(*v->tail));
	struct st_buf t = ST_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == 0x1b && i + 1 < n && line[i + 1] == '[') {
			/* A CSI sequence: parameters, then one final byte. */
			for (i += 2; i < n && (line[i] < 0x40 || line[i] > 0x7e); i++)
				;
			continue;
		}
		if (c == '\t')
			st_buf_addch(&t, ' ');
		else if (c >= 0x20 && c != 0x7f)
			st_buf_addch(&t, (char)c);
	}
	v->tail[TAIL_LINES - 1] = st_buf_detach(&t, NULL);
}

/* An SGR sequence, or nothing without colour. */
static const char *sgr(const struct display *d, const char *seq)
{
	return d->color ? seq : "";
}

/* How many bytes of 's' fill at most 'width' columns, UTF-8 sequences kept whole; a control
 * character ends it. */
static size_t fit(const char *s, int width, int *used)
{
	size_t i = 0;
	int cols = 0;
	while (s[i] && (unsigned char)s[i] >= 0x20 && s[i] != 0x7f && cols < width) {
		i++;
		while ((s[i] & 0xc0) == 0x80)
			i++;
		cols++;
	}
	if (used)
		*used = cols;
	return i;
}

/* The lines of the tty view, each ending in "\n". */
struct view_lines {
	char **v;
	size_t n;
};

static void add_line(struct view_lines *l, char *line)
{
	l->v = st_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = line;
}

/* " => <what><name>   12.3s", the time against the right edge (the last column stays
 * empty: writing there wraps on some terminals). */
static void add_row(struct display *d, struct view_lines *l, const char *color, const char *what,
		    const char *name, double seconds)
{
	char t[32];
	int tl = snprintf(t, sizeof(t), "%.1fs", seconds);
	int room = d->cols - 1 - 4 - (int)strlen(what) - 1 - tl;
	int used = 0;
	size_t n = fit(name, room > 0 ? room : 0, &used);
	add_line(l, st_xasprintf("%s => %s%.*s%*s %s%s\n", sgr(d, color), what, (int)n, name,
				 room > used ? room - used : 0, "", t, sgr(d, "\033[0m")));
}

/* " => => <text>", cut to the width. */
static void add_note(struct display *d, struct view_lines *l, const char *color, const char *text)
{
	size_t n = fit(text, d->cols - 1 - 7, NULL);
	add_line(l,
		 st_xasprintf("%s => => %.*s%s\n", sgr(d, color), (int)n, text, sgr(d, "\033[0m")));
}

static void view_clear(struct display *d)
{
	if (d->live_lines > 0)
		fprintf(d->f, "\033[%dA\033[J", d->live_lines);
	d->live_lines = 0;
}

/* Draw the view: 'final' draws all of it, once, to stay on the screen. */
static void view_draw(struct display *d, bool final)
{
	double now = mono();
	struct view_lines l = { 0 };
	char h[96];
	snprintf(h, sizeof(h), "[+] Building %.1fs (%zu/%zu)%s", now - d->t0, d->finished, d->total,
		 final ? " FINISHED" : "");
	size_t hn = fit(h, d->cols - 1, NULL);
	add_line(&l, st_xasprintf("%s%.*s%s\n", sgr(d, "\033[34m"), (int)hn, h, sgr(d, "\033[0m")));
	for (size_t i = 0; i < d->nsteps; i++) {
		struct step_view *v = &d->steps[i];
		switch (v->state) {
		case VIEW_RUNNING:
			add_row(d, &l, "", "", v->name, now - v->start);
			for (size_t t = 0; t < TAIL_LINES; t++) {
				if (!v->tail[t])
					continue;
				st_autofree char *line = st_xasprintf("# %s", v->tail[t]);
				add_note(d, &l, "\033[2m", line);
			}
			break;
		case VIEW_CACHED:
			add_row(d, &l, "", "CACHED ", v->name, v->seconds);
			break;
		case VIEW_DONE:
		case VIEW_FAILED:
			add_row(d, &l, v->state == VIEW_FAILED ? "\033[31m" : "",
				v->state == VIEW_FAILED ? "ERROR " : "", v->name, v->seconds);
			if (v->reason) {
				st_autofree char *why = st_xasprintf("cache miss: %s", v->reason);
				add_note(d, &l, "", why);
			}
			break;
		}
	}
	/* The header and the newest lines that fit. */
	size_t skip = 0;
	if (!final && d->rows > 2 && l.n > (size_t)d->rows - 1)
		skip = l.n - ((size_t)d->rows - 1);
	view_clear(d);
	for (size_t i = 0; i < l.n; i++) {
		if (i == 0 || i > skip) {
			fputs(l.v[i], d->f);
			d->live_lines++;
		}
		free(l.v[i]);
	}
	free(l.v);
	if (final)
		d->live_lines = 0;
	fflush(d->f);
}

static void *ticker(void *arg)
{
	struct display *d = arg;
	for (;;) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&d->lock);
		if (d->stop) {
			pthread_mutex_unlock(&d->lock);
			return NULL;
		}
		view_draw(d, false);
		pthread_mutex_unlock(&d->lock);
	}
}

static void plain_lines(struct display *d, struct step_view *v, bool flush)
{
	char *s = v->partial.data;
	size_t n = v->partial.len, start = 0;
	if (n == 0)
		return;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '\n' && s[i] != '\r')
			continue;
		if (i == n && !flush)
			break;
		if (i > start) {
			tail_push(v, s + start, i - start);
			if (!d->tty)
				fprintf(d->f, "#%u %.3f %.*s\n", v->id, mono() - v->start,
					(int)(i - start), s + start);
		}
		start = i + (i < n);
	}
	memmove(s, s + start, n - start);
	st_buf_setlen(&v->partial, n - start);
}

#define EXCERPT_LINE_MAX 200

/*
 * A failed step, as BuildKit shows it: its last lines of output in a box, then the failing
 * instruction in the Dockerfile, marked ">>>", with two lines of context either side.
 */
static void failure(struct st_buf *out, struct step_view *v, const struct st_builder_event *ev)
{
	st_buf_addf(out, "------\n > %s:\n", v->name);
	for (size_t t = 0; t < TAIL_LINES; t++)
		if (v->tail[t])
			st_buf_addf(out, "%s\n", v->tail[t]);
	st_buf_adds(out, "------\n");
	if (!ev->file || ev->start_line < 1)
		return;
	st_buf_addf(out, "%s:%d\n--------------------\n", ev->file, ev->start_line);
	int from = ev->start_line > 2 ? ev->start_line - 2 : 1, to = ev->end_line + 2;
	const char *p = ev->source, *end = ev->source + ev->source_len;
	for (int line = 1; p < end && line <= to; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len && p[len - 1] == '\r')
			len--;
		if (line >= from) {
			bool mark = line >= ev->start_line && line <= ev->end_line;
			/* A generated Dockerfile can hold a line of megabytes: show its start. */
			int shown = len > EXCERPT_LINE_MAX ? EXCERPT_LINE_MAX : (int)len;
			st_buf_addf(out, " %3d | %s%.*s%s\n", line, mark ? ">>> " : "    ", shown,
				    p, (size_t)shown < len ? " ..." : "");
		}
		p = nl ? nl + 1 : end;
	}
	st_buf_adds(out, "--------------------\n");
}

static void on_event(void *ctx, const struct st_builder_event *ev)
{
	struct display *d = ctx;
	pthread_mutex_lock(&d->lock);
	d->total = ev->total;
	struct step_view *v = ev->id ? view_get(d, ev->id) : NULL;
	/* What the plain form writes at once, the tty form writes below the finished view. */
	struct st_buf plain = ST_BUF_INIT;
	struct st_buf *out = d->tty ? &d->after : &plain;
	switch (ev->type) {
	case ST_BUILDER_EVENT_START:
		free(v->name);
		v->name = st_xstrdup(ev->name ? ev->name : "");
		v->start = mono();
		v->state = VIEW_RUNNING;
		if (!d->tty)
			fprintf(d->f, "%s#%u %s\n", d->wrote ? "\n" : "", ev->id, v->name);
		break;
	case ST_BUILDER_EVENT_REASON:
		free(v->reason);
		v->reason = st_xstrdup(ev->text);
		if (!d->tty)
			fprintf(d->f, "#%u cache miss: %s\n", ev->id, ev->text);
		break;
	case ST_BUILDER_EVENT_OUTPUT:
		st_buf_add(&v->partial, ev->text, ev->len);
		plain_lines(d, v, false);
		break;
	case ST_BUILDER_EVENT_CACHED:
		v->state = VIEW_CACHED;
		v->seconds = ev->seconds;
		d->finished++;
		if (!d->tty)
			fprintf(d->f, "#%u CACHED\n", ev->id);
		break;
	case ST_BUILDER_EVENT_DONE:
		plain_lines(d, v, true);
		v->state = VIEW_DONE;
		v->seconds = ev->seconds;
		d->finished++;
		if (!d->tty)
			fprintf(d->f, "#%u DONE %.1fs\n", ev->id, ev->seconds);
		break;
	case ST_BUILDER_EVENT_ERROR:
		plain_lines(d, v, true);
		v->state = VIEW_FAILED;
		v->seconds = ev->seconds;
		if (!d->tty)
			fprintf(d->f, "#%u ERROR: %s\n", ev->id, ev->text);
		failure(out, v, ev);
		break;
	case ST_BUILDER_EVENT_INFO:
		st_buf_addf(out, "%s\n", ev->text);
		break;
	}
	fputs(st_buf_str(&plain), d->f);
	st_buf_release(&plain);
	d->wrote = true;
	if (d->tty && !d->stop)
		view_draw(d, false);
	fflush(d->f);
	pthread_mutex_unlock(&d->lock);
}

/* Stop redrawing; the tty form ends with the whole view and what was said below it. */
static void display_stop(struct display *d)
{
	if (!d->tty || d->stop)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_mutex_unlock(&d->lock);
	if (d->ticking)
		pthread_join(d->ticker, NULL);
	d->ticking = false;
	if (d->nsteps)
		view_draw(d, true);
	fputs(st_buf_str(&d->after), d->f);
	fflush(d->f);
}

static void display_release(struct display *d)
{
	display_stop(d);
	for (size_t i = 0; i < d->nsteps; i++) {
		free(d->steps[i].name);
		free(d->steps[i].reason);
		st_buf_release(&d->steps[i].partial);
		for (size_t t = 0; t < TAIL_LINES; t++)
			free(d->steps[i].tail[t]);
	}
	free(d->steps);
	st_buf_release(&d->after);
	pthread_mutex_destroy(&d->lock);
}

static int read_stdin(struct st_buf *out, struct st_error **err)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return st_err_errno(err, "read Dockerfile from stdin");
		if (n == 0)
			return 0;
		st_buf_add(out, buf, (size_t)n);
	}
}

int cmd_build(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	struct st_cli_stdin in = ST_CLI_STDIN_INIT;
	struct build_cli_opts o = { .b = ST_BUILDER_OPTS_INIT };
	struct st_buf dftext = ST_BUF_INIT;
	struct display d = { .f = cli->errout, .after = ST_BUF_INIT, .t0 = mono() };
	pthread_mutex_init(&d.lock, NULL);
	int rc = parse_flags(cli, argc, argv, &o, err);
	if (rc == 1) {
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	if (!strcmp(o.context, "-")) {
		if (o.file && !strcmp(o.file, "-")) {
			rc = st_cli_usage(
			    err, "the context and the Dockerfile cannot both come from stdin");
			goto out;
		}
		if ((rc = st_cli_stdin_open(&in, &dftext, err)) < 0)
			goto out;
		o.b.context_tar_fd = in.context_fd;
		if (in.context_fd < 0) {
			o.b.dockerfile_text = dftext.data ? dftext.data : "";
			o.b.dockerfile_len = dftext.len;
		}
	} else {
		o.b.context = o.context;
	}
	if (o.file && !strcmp(o.file, "-")) {
		if ((rc = read_stdin(&dftext, err)) < 0)
			goto out;
		o.b.dockerfile_text = dftext.data ? dftext.data : "";
		o.b.dockerfile_len = dftext.len;
	} else if (!o.b.dockerfile_text) {
		o.b.dockerfile = o.file;
	}
	o.b.tags = o.tags;
	o.b.n_tags = o.ntags;
	o.b.build_args = o.args;
	o.b.n_build_args = o.nargs;
	o.b.labels = o.labels;
	o.b.n_labels = o.nlabels;
	o.b.no_cache_stages = o.nocache_stages;
	o.b.n_no_cache_stages = o.nnocache;
	o.b.secrets = o.secrets;
	o.b.n_secrets = o.nsecrets;
	/* Before any thread starts: the steps' mounts must die with this process. */
	if ((rc = st_snapshot_private_ns(err)) < 0)
		goto out;
	if (o.quiet)
		o.progress = PROGRESS_QUIET;
	if (o.progress == PROGRESS_AUTO)
		o.progress = isatty(fileno(cli->errout)) ? PROGRESS_TTY : PROGRESS_PLAIN;
	if (o.progress != PROGRESS_QUIET) {
		d.tty = o.progress == PROGRESS_TTY;
		/* https://no-color.org: set and not empty turns colour off. */
		const char *nc = getenv("NO_COLOR");
		d.color = d.tty && !(nc && *nc);
		struct winsize ws;
		bool sized = ioctl(fileno(cli->errout), TIOCGWINSZ, &ws) == 0;
		d.cols = sized && ws.ws_col ? ws.ws_col : 80;
		d.rows = sized && ws.ws_row ? ws.ws_row : 24;
		o.b.progress.fn = on_event;
		o.b.progress.ctx = &d;
		if (d.tty && pthread_create(&d.ticker, NULL, ticker, &d) == 0)
			d.ticking = true;
	}

	struct st_store *s = NULL;
	if ((rc = st_cli_store(cli, &s, err)) < 0)
		goto out;
	struct st_builder_result res = { 0 };
	rc = st_builder_run(s, &o.b, &res, err);
	display_stop(&d);
	if (rc < 0)
		goto out;
	if (o.iidfile) {
		rc = st_write_file_atomic(o.iidfile, NULL, res.id.str, strlen(res.id.str), 0644,
					  err);
		if (rc < 0)
			goto out;
	}
	if (o.quiet) {
		fprintf(cli->out, "%s\n", res.id.str);
	} else if (o.progress != PROGRESS_QUIET) {
		fprintf(cli->errout, "\nwriting image %s done\n", res.id.str);
		for (size_t i = 0; i < o.ntags; i++)
			fprintf(cli->errout, "naming to %s done\n", o.tags[i]);
		fprintf(cli->errout, "%.1fs: %zu step%s run, %zu cached\n", mono() - d.t0,
			res.steps, res.steps == 1 ? "" : "s", res.cached);
	}
	if (o.analyze)
		rc = st_cli_dive_build(cli, res.id.str, !strcmp(o.analyze, "ci"), err);
out:
	display_release(&d);
	st_cli_stdin_release(&in);
	st_buf_release(&dftext);
	free(o.tags);
	free(o.args);
	free(o.labels);
	free(o.nocache_stages);
	free(o.secrets);
	for (size_t i = 0; i < o.nsecret_strs; i++)
		free(o.secret_strs[i]);
	free(o.secret_strs);
	return rc;
}
