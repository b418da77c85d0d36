/* ps.c: strata ps [-a] [-q] [--no-trunc] [--filter F]... [--format F]: list containers. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "container/container.h"
#include "fmt.h"
#include "format.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* How much of the command `docker ps` shows, in characters, before "…". */
#define COMMAND_MAX 20

/* "Up 3 seconds", "Up 3 seconds (Paused)", "Exited (0) 2 minutes ago", "Created", as Docker
 * words them. */
static char *status_text(const struct st_container_state *st, time_t now)
{
	time_t t;
	if (st->status == ST_CONTAINER_RUNNING) {
		st_autofree char *d = st_fmt_duration(
		    st->started_at && st_fmt_parse_time(st->started_at, &t) == 0 ? now - t : 0);
		/* Docker says Paused before any health */
		if (st->paused || !st->health)
			return st_xasprintf("Up %s%s", d, st->paused ? " (Paused)" : "");
		bool starting = !strcmp(st->health, "starting");
		return st_xasprintf("Up %s (%s%s)", d, starting ? "health: " : "", st->health);
	}
	if (st->status == ST_CONTAINER_EXITED) {
		st_autofree char *since =
		    st->finished_at ? st_fmt_since(st->finished_at, now) : st_xstrdup("");
		return st_xasprintf("Exited (%d) %s", st->exit_code, since);
	}
	return st_xstrdup("Created");
}

/* Go's strconv.Quote for what commands hold: '"' and '\\' escaped, control bytes as \xNN. */
static char *go_quote(const char *s, size_t len)
{
	struct st_buf b = ST_BUF_INIT;
	st_buf_addch(&b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\')
			st_buf_addf(&b, "\\%c", ch);
		else if (ch == '\n')
			st_buf_adds(&b, "\\n");
		else if (ch == '\t')
			st_buf_adds(&b, "\\t");
		else if (ch < 0x20 || ch == 0x7f)
			st_buf_addf(&b, "\\x%02x", ch);
		else
			st_buf_addch(&b, (char)ch);
	}
	st_buf_addch(&b, '"');
	return st_buf_detach(&b, NULL);
}

/* The command cut to COMMAND_MAX characters (UTF-8 aware) with "…", then quoted, as Docker's
 * ps does. */
static char *command_text(const char *cmd, bool trunc)
{
	size_t chars = 0, i = 0;
	for (; cmd[i] && (!trunc || chars < COMMAND_MAX); i++)
		if (((unsigned char)cmd[i] & 0xc0) != 0x80)
			chars++;
	while (cmd[i] && ((unsigned char)cmd[i] & 0xc0) == 0x80)
		i++;
	if (!trunc || !cmd[i])
		return go_quote(cmd, strlen(cmd));
	/* the last character makes room for the ellipsis */
	size_t cut = i;
	do
		cut--;
	while (cut > 0 && ((unsigned char)cmd[cut] & 0xc0) == 0x80);
	st_autofree char *cut_cmd = st_xasprintf("%.*s…", (int)cut, cmd);
	return go_quote(cut_cmd, strlen(cut_cmd));
}

/*
 * Docker's --filter: id= (a prefix), name= (a part of the name), status=, exited= (a code),
 * ancestor= (the image as given, or a prefix of its id). Filters of one key are alternatives;
 * different keys must all match.
 */
enum { F_ID, F_NAME, F_STATUS, F_EXITED, F_ANCESTOR, F_KEYS };
static const char *const filter_keys[F_KEYS] = { "id", "name", "status", "exited", "ancestor" };

struct filters {
	const char **v[F_KEYS];
	size_t n[F_KEYS];
};

static void filters_release(struct filters *f)
{
	for (int k = 0; k < F_KEYS; k++)
		free(f->v[k]);
}

static int add_filter(struct filters *f, const char *spec, struct st_error **err)
{
	const char *eq = strchr(spec, '=');
	if (!eq)
		return st_cli_usage(err, "bad format of filter (expected name=value)");
	size_t klen = (size_t)(eq - spec);
	for (int k = 0; k < F_KEYS; k++) {
		if (strlen(filter_keys[k]) != klen || strncmp(spec, filter_keys[k], klen))
			continue;
		const char *val = eq + 1;
		if (k == F_STATUS && strcmp(val, "created") && strcmp(val, "running") &&
		    strcmp(val, "paused") && strcmp(val, "exited") && strcmp(val, "restarting") &&
		    strcmp(val, "removing") && strcmp(val, "dead"))
			return st_err(err, ST_E_INVALID,
				      "invalid filter 'status=%s': expected created, restarting, "
				      "running, removing, paused, exited or dead",
				      val);
		char *end;
		if (k == F_EXITED && (strtol(val, &end, 10), !*val || *end))
			return st_err(err, ST_E_INVALID,
				      "invalid filter 'exited=%s': expected an exit code", val);
		f->v[k] = st_xrealloc(f->v[k], (f->n[k] + 1) * sizeof(*f->v[k]));
		f->v[k][f->n[k]++] = val;
		return 0;
	}
	return st_err(err, ST_E_INVALID, "invalid filter '%.*s'", (int)klen, spec);
}

static bool one_of(const struct filters *f, int k, const char *what, bool prefix)
{
	if (!f->n[k])
		return true;
	for (size_t i = 0; i < f->n[k]; i++) {
		const char *w = f->v[k][i];
		if (prefix ? !strncmp(what, w, strlen(w)) : strstr(what, w) != NULL)
			return true;
	}
	return false;
}

static bool filters_match(const struct filters *f, const struct st_container *c,
			  const struct st_container_state *st, const char *state)
{
	bool status = !f->n[F_STATUS], exited = !f->n[F_EXITED], ancestor = !f->n[F_ANCESTOR];
	for (size_t i = 0; i < f->n[F_STATUS]; i++)
		status = status || !strcmp(f->v[F_STATUS][i], state);
	for (size_t i = 0; i < f->n[F_EXITED]; i++)
		exited = exited || (st->status == ST_CONTAINER_EXITED &&
				    atoi(f->v[F_EXITED][i]) == st->exit_code);
	const char *image_id = st_container_image_id(c);
	if (!strncmp(image_id, "sha256:", 7))
		image_id += 7;
	for (size_t i = 0; i < f->n[F_ANCESTOR]; i++) {
		const char *a = f->v[F_ANCESTOR][i];
		if (!strncmp(a, "sha256:", 7))
			a += 7;
		ancestor = ancestor || !strcmp(st_container_image(c), f->v[F_ANCESTOR][i]) ||
			   (strlen(a) >= 4 && !strncmp(image_id, a, strlen(a)));
	}
	return status && exited && ancestor && one_of(f, F_ID, st_container_id(c), true) &&
	       one_of(f, F_NAME, st_container_name(c), false);
}

int cmd_ps(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-trunc", no_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'F' },
		{ "filter", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool all = false, quiet = false, trunc = true;
	const char *fmt = NULL;
	__attribute__((cleanup(filters_release))) struct filters filters = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "aqf:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (add_filter(&filters, optarg, err) < 0)
				return -1;
			break;
		case 'a':
			all = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'n':
			trunc = false;
			break;
		case 'F':
			fmt = optarg;
			break;
		case 'h':
			fputs(
			    "Usage: strata ps [OPTIONS]\n\nList containers\n\nOptions:\n"
			    "  -a, --all             Show all containers (default shows just "
			    "running)\n"
			    "  -f, --filter filter   Filter output based on conditions provided:\n"
			    "                        id=, name=, status=, exited=, ancestor=\n"
			    "      --format string   Format output using a Go template ('table "
			    "...' for columns)\n"
			    "      --no-trunc        Don't truncate output\n"
			    "  -q, --quiet           Only display container IDs\n",
			    cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata ps --help'");
		}
	}
	if (optind < argc)
		return st_cli_usage(err, "\"ps\" accepts no arguments");
	/* as Docker: a status or exited filter looks at stopped containers too */
	all = all || filters.n[F_STATUS] || filters.n[F_EXITED];
	if (quiet)
		fmt = "{{.ID}}";
	else if (!fmt)
		fmt = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
		      "{{.Ports}}\t{{.Names}}";
	json_t *header = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ID",
				   "CONTAINER ID", "Image", "IMAGE", "Command", "COMMAND",
				   "RunningFor", "CREATED", "CreatedAt", "CREATED AT", "Status",
				   "STATUS", "State", "STATE", "Ports", "PORTS", "Names", "NAMES");
	st_auto(st_cli_format) struct st_cli_format *f = NULL;
	int rc = st_cli_format_new(fmt, header, &f, err);
	json_decref(header);
	if (rc < 0)
		return -1;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	struct st_container **v = NULL;
	size_t n = 0;
	if (st_container_list(s, &v, &n, err) < 0)
		return -1;
	time_t now = time(NULL);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct st_container_state st;
		if ((rc = st_container_state(s, v[i], &st, err)) < 0)
			break;
		const char *state = st.paused ? "paused" : st_container_status_name(st.status);
		if ((all || st.status == ST_CONTAINER_RUNNING) &&
		    filters_match(&filters, v[i], &st, state)) {
			time_t created = 0;
			st_fmt_parse_time(st_container_created(v[i]), &created);
			st_autofree char *id = trunc ? st_xstrndup(st_container_id(v[i]), 12)
						     : st_xstrdup(st_container_id(v[i]));
			st_autofree char *cmd = st_container_command(v[i]);
			st_autofree char *shown = command_text(cmd, trunc);
			st_autofree char *since = st_fmt_since(st_container_created(v[i]), now);
			st_autofree char *at = st_fmt_go_string(created);
			st_autofree char *status = status_text(&st, now);
			st_autofree char *ports = st_container_ports(v[i]);
			json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
						"ID", id, "Image", st_container_image(v[i]),
						"Command", shown, "RunningFor", since, "CreatedAt",
						at, "Status", status, "State", state, "Ports",
						ports, "Names", st_container_name(v[i]));
			rc = st_cli_format_row(f, row, cli->out, err);
			json_decref(row);
		}
		st_container_state_release(&st);
	}
	st_container_list_free(v, n);
	if (rc < 0)
		return -1;
	st_cli_format_flush(f, cli->out);
	return 0;
}
