/*
 * config.c: the instructions that only change the image config (ENV, LABEL, EXPOSE, VOLUME,
 * USER, WORKDIR, CMD, ENTRYPOINT, SHELL, STOPSIGNAL, MAINTAINER, ONBUILD, HEALTHCHECK, ARG),
 * and the history line BuildKit writes for each. Shared by builds and `strata import --change`.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/builder.h"
#include "builder/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* Go's %q of a []string: ["a" "b"]. */
static void go_quote_list(struct st_buf *b, const struct st_image_strv *v)
{
	st_buf_addch(b, '[');
	for (size_t i = 0; i < v->n; i++) {
		if (i)
			st_buf_addch(b, ' ');
		st_buf_addch(b, '"');
		for (const char *p = v->v[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				st_buf_addch(b, '\\');
			st_buf_addch(b, *p);
		}
		st_buf_addch(b, '"');
	}
	st_buf_addch(b, ']');
}

/* Parse a Go duration ("1m30s", "500ms"); -1 on error. */
static int64_t parse_duration(const char *s)
{
	if (!strcmp(s, "0"))
		return 0;
	int64_t total = 0;
	const char *p = s;
	if (!*p)
		return -1;
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		if (end == p)
			return -1;
		p = end;
		int64_t unit;
		if (!strncmp(p, "ns", 2)) {
			unit = 1;
			p += 2;
		} else if (!strncmp(p, "us", 2) || !strncmp(p, "µs", 3)) {
			unit = 1000;
			p += p[0] == 'u' ? 2 : 3;
		} else if (!strncmp(p, "ms", 2)) {
			unit = 1000000;
			p += 2;
		} else if (*p == 's') {
			unit = 1000000000LL;
			p++;
		} else if (*p == 'm') {
			unit = 60000000000LL;
			p++;
		} else if (*p == 'h') {
			unit = 3600000000000LL;
			p++;
		} else {
			return -1;
		}
		total += (int64_t)(v * (double)unit);
	}
	return total;
}

/* Go's time.Duration String() for the history line. */
static void go_duration(struct st_buf *b, int64_t ns)
{
	if (ns == 0) {
		st_buf_adds(b, "0s");
		return;
	}
	int64_t h = ns / 3600000000000LL, m = (ns / 60000000000LL) % 60;
	double sec = (double)(ns % 60000000000LL) / 1e9;
	if (h)
		st_buf_addf(b, "%" PRId64 "h", h);
	if (h || m)
		st_buf_addf(b, "%" PRId64 "m", m);
	st_buf_addf(b, "%gs", sec);
}

/* A CMD or ENTRYPOINT: exec form as given, shell form through the config's SHELL. */
static void strv_from_shell(const struct st_image_config *cfg, const struct st_dockerfile_instr *in,
			    struct st_image_strv *out)
{
	if (in->json) {
		st_image_strv_set(out, (const char *const *)in->args, in->nargs);
		return;
	}
	st_image_strv_release(out);
	const struct st_image_strv *sh = &cfg->config.shell;
	if (sh->set && sh->n) {
		for (size_t i = 0; i < sh->n; i++)
			st_image_strv_push(out, sh->v[i]);
	} else {
		st_image_strv_push(out, "/bin/sh");
		st_image_strv_push(out, "-c");
	}
	st_image_strv_push(out, in->nargs ? in->args[0] : "");
}

/* A port number 1-65535, as Docker's nat package reads one. */
static bool port_number(const char *s, size_t n)
{
	unsigned long v = 0;
	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* EXPOSE's "PORT[-PORT]/PROTO" (proto already lower-cased in 'spec'), checked as Docker's
 * nat.ParsePortSpecs does, so a typo like "80/tpc" fails the build instead of reaching the
 * image. 'typed' is the word as written, for the message. */
static int check_port(const char *typed, const char *spec, struct st_error **err)
{
	const char *slash = strchr(spec, '/');
	const char *proto = slash + 1;
	if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
		return st_err(err, ST_E_INVALID,
			      "invalid proto '%s' in '%s': expected tcp, udp or sctp", proto,
			      typed);
	const char *port = spec;
	size_t n = (size_t)(slash - spec);
	const char *dash = memchr(port, '-', n);
	bool ok = dash ? port_number(port, (size_t)(dash - port)) &&
			     port_number(dash + 1, (size_t)(slash - dash - 1))
		       : port_number(port, n);
	if (!ok)
		return st_err(err, ST_E_INVALID,
			      "invalid port '%.*s' in '%s': expected a number from 1 to 65535 or a "
			      "range like 8000-8010",
			      (int)n, port, typed);
	return 0;
}

int st_builder_config_apply(struct st_image_config *cfg, const struct st_dockerfile_instr *in,
			    char **w, size_t nw, bool *cmd_set, char **created_by, char **mkdir,
			    struct st_error **err)
{
	struct st_image_runconfig *rc = &cfg->config;
	struct st_buf cb = ST_BUF_INIT;
	switch (in->kind) {
	case ST_DF_ENV:
		st_buf_adds(&cb, "ENV");
		st_image_config_env_set_pairs(cfg, w, nw / 2);
		for (size_t i = 0; i + 1 < nw; i += 2)
			st_buf_addf(&cb, " %s=%s", w[i], w[i + 1]);
		break;
	case ST_DF_LABEL:
		st_buf_adds(&cb, "LABEL");
		st_image_map_set_pairs(&rc->labels, w, nw / 2);
		for (size_t i = 0; i + 1 < nw; i += 2)
			st_buf_addf(&cb, " %s=%s", w[i], w[i + 1]);
		break;
	case ST_DF_ARG:
		st_buf_adds(&cb, "ARG");
		for (size_t i = 0; i < nw; i++)
			st_buf_addf(&cb, " %s", w[i]);
		break;
	case ST_DF_EXPOSE: {
		struct st_image_strv ports = { 0 };
		for (size_t i = 0; i < nw; i++) {
			st_autofree char *p =
			    strchr(w[i], '/') ? st_xstrdup(w[i]) : st_xasprintf("%s/tcp", w[i]);
			for (char *c = p; *c; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c = (char)(*c - 'A' + 'a');
			if (check_port(w[i], p, err) < 0) {
				st_image_strv_release(&ports);
				st_buf_release(&cb);
				return -1;
			}
			if (!st_image_strv_has(&rc->exposed_ports, p))
				st_image_strv_push(&rc->exposed_ports, p);
			if (!st_image_strv_has(&ports, p))
				st_image_strv_push(&ports, p);
		}
		/* Go prints a map sorted by key: "EXPOSE map[80/tcp:{} 8080/tcp:{}]". */
		for (size_t i = 1; i < ports.n; i++)
			for (size_t j = i; j > 0 && strcmp(ports.v[j - 1], ports.v[j]) > 0; j--) {
				char *t = ports.v[j];
				ports.v[j] = ports.v[j - 1];
				ports.v[j - 1] = t;
			}
		st_buf_adds(&cb, "EXPOSE map[");
		for (size_t i = 0; i < ports.n; i++)
			st_buf_addf(&cb, "%s%s:{}", i ? " " : "", ports.v[i]);
		st_buf_addch(&cb, ']');
		st_image_strv_release(&ports);
		break;
	}
	case ST_DF_VOLUME:
		st_buf_adds(&cb, "VOLUME [");
		for (size_t i = 0; i < nw; i++) {
			if (!st_image_strv_has(&rc->volumes, w[i]))
				st_image_strv_push(&rc->volumes, w[i]);
			st_buf_addf(&cb, "%s%s", i ? " " : "", w[i]);
		}
		st_buf_addch(&cb, ']');
		break;
	case ST_DF_USER:
		free(rc->user);
		rc->user = st_xstrdup(nw ? w[0] : "");
		st_buf_addf(&cb, "USER %s", rc->user);
		break;
	case ST_DF_WORKDIR: {
		const char *cur = rc->working_dir && *rc->working_dir ? rc->working_dir : "/";
		st_autofree char *joined = nw && w[0][0] == '/'
					       ? st_xstrdup(w[0])
					       : st_xasprintf("%s/%s", cur, nw ? w[0] : "");
		char *wd = builder_path_clean(joined);
		free(rc->working_dir);
		rc->working_dir = wd;
		st_buf_addf(&cb, "WORKDIR %s", wd);
		if (strcmp(wd, "/") != 0)
			*mkdir = st_xstrdup(wd);
		break;
	}
	case ST_DF_CMD:
		strv_from_shell(cfg, in, &rc->cmd);
		*cmd_set = true;
		st_buf_adds(&cb, "CMD ");
		go_quote_list(&cb, &rc->cmd);
		break;
	case ST_DF_ENTRYPOINT:
		strv_from_shell(cfg, in, &rc->entrypoint);
		if (!*cmd_set)
			st_image_strv_release(
			    &rc->cmd); /* an inherited CMD goes with a new ENTRYPOINT */
		st_buf_adds(&cb, "ENTRYPOINT ");
		go_quote_list(&cb, &rc->entrypoint);
		break;
	case ST_DF_SHELL:
		if (!in->json || in->nargs == 0) {
			st_buf_release(&cb);
			return st_err(err, ST_E_INVALID,
				      "SHELL requires the arguments to be in JSON form");
		}
		st_image_strv_set(&rc->shell, (const char *const *)in->args, in->nargs);
		st_buf_adds(&cb, "SHELL [");
		for (size_t i = 0; i < in->nargs; i++)
			st_buf_addf(&cb, "%s%s", i ? " " : "", in->args[i]);
		st_buf_addch(&cb, ']');
		break;
	case ST_DF_STOPSIGNAL:
		free(rc->stop_signal);
		rc->stop_signal = st_xstrdup(nw ? w[0] : "");
		st_buf_addf(&cb, "STOPSIGNAL %s", rc->stop_signal);
		break;
	case ST_DF_MAINTAINER:
		free(cfg->author);
		cfg->author = st_xstrdup(in->nargs ? in->args[0] : "");
		st_buf_addf(&cb, "MAINTAINER %s", cfg->author);
		break;
	case ST_DF_ONBUILD: {
		/* The trigger as written after the keyword. */
		const char *t = in->original;
		while (*t == ' ' || *t == '\t')
			t++;
		t += strlen(in->keyword);
		while (*t == ' ' || *t == '\t')
			t++;
		st_image_strv_push(&rc->on_build, t);
		st_buf_addf(&cb, "ONBUILD %s", t);
		break;
	}
	case ST_DF_HEALTHCHECK: {
		struct st_image_healthcheck *h = st_xcalloc(1, sizeof(*h));
		const char *type = in->nargs ? in->args[0] : "NONE";
		if (!strcasecmp(type, "NONE")) {
			st_image_strv_push(&h->test, "NONE");
		} else {
			if (in->json) {
				st_image_strv_push(&h->test, "CMD");
				for (size_t i = 1; i < in->nargs; i++)
					st_image_strv_push(&h->test, in->args[i]);
			} else {
				st_image_strv_push(&h->test, "CMD-SHELL");
				st_image_strv_push(&h->test, in->nargs > 1 ? in->args[1] : "");
			}
			static const char *const names[] = { "interval", "timeout", "start-period",
							     "start-interval" };
			int64_t *dst[] = { &h->interval_ns, &h->timeout_ns, &h->start_period_ns,
					   &h->start_interval_ns };
			for (size_t i = 0; i < 4; i++) {
				const char *v = st_dockerfile_instr_flag(in, names[i]);
				if (!v)
					continue;
				int64_t d = parse_duration(v);
				if (d < 0) {
					st_image_healthcheck_free(h);
					st_buf_release(&cb);
					return st_err(err, ST_E_INVALID,
						      "HEALTHCHECK: invalid --%s duration '%s'",
						      names[i], v);
				}
				*dst[i] = d;
			}
			const char *rt = st_dockerfile_instr_flag(in, "retries");
			if (rt)
				h->retries = strtoll(rt, NULL, 10);
		}
		st_buf_adds(&cb, "HEALTHCHECK &{");
		go_quote_list(&cb, &h->test);
		int64_t ds[] = { h->interval_ns, h->timeout_ns, h->start_period_ns,
				 h->start_interval_ns };
		for (size_t i = 0; i < 4; i++) {
			st_buf_adds(&cb, " \"");
			go_duration(&cb, ds[i]);
			st_buf_addch(&cb, '"');
		}
		st_buf_addf(&cb, " '\\x%02x'}", (unsigned)(h->retries & 0xff));
		st_image_healthcheck_free(rc->healthcheck);
		rc->healthcheck = h;
		break;
	}
	default:
		st_buf_release(&cb);
		return st_err(err, ST_E_INVALID, "unsupported instruction %s", in->keyword);
	}
	*created_by = st_buf_detach(&cb, NULL);
	return 0;
}
