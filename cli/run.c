/*
 * run.c: strata run [OPTIONS] IMAGE [COMMAND] [ARG...]: create a container and run it, in the
 * foreground (its exit code is strata's) or detached (-d), and the flags create shares.
 */
#include "run.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static const char create_opts_text[] =
    "      --add-host list        Add a custom host-to-IP mapping (host:ip)\n"
    "      --entrypoint string    Overwrite the default ENTRYPOINT of the image\n"
    "  -e, --env list             Set environment variables\n"
    "      --env-file list        Read in a file of environment variables\n"
    "  -h, --hostname string      Container host name\n"
    "      --init                 Run an init inside the container that forwards signals and\n"
    "                             reaps processes\n"
    "  -i, --interactive          Keep STDIN open\n"
    "      --mount mount          Attach a filesystem mount to the container\n"
    "                             (type=bind|volume|tmpfs,source=,target=[,readonly])\n"
    "      --name string          Assign a name to the container\n"
    "      --network string       Connect a container to a network: default, none or host\n"
    "      --read-only            Mount the container's root filesystem as read only\n"
    "      --rm                   Automatically remove the container when it exits\n"
    "      --tmpfs list           Mount a tmpfs directory (path[:options])\n"
    "  -t, --tty                  Allocate a pseudo-TTY\n"
    "  -p, --publish list         Publish a container's port to the host\n"
    "                             ([IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp])\n"
    "  -u, --user string          Username or UID (format: <name|uid>[:<group|gid>])\n"
    "  -v, --volume list          Bind mount a volume (host-path|name:container-path[:ro],\n"
    "                             or container-path for an anonymous volume)\n"
    "  -w, --workdir string       Working directory inside the container\n";

static void push(char ***v, size_t *n, const char *s)
{
	*v = st_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = st_xstrdup(s);
}

/* -e KEY without a value takes KEY from strata's environment, or is dropped, as Docker does. */
static void add_env(struct run_flags *f, const char *kv)
{
	if (strchr(kv, '=')) {
		push(&f->env, &f->create.n_env, kv);
		return;
	}
	const char *v = getenv(kv);
	if (v) {
		st_autofree char *s = st_xasprintf("%s=%s", kv, v);
		push(&f->env, &f->create.n_env, s);
	}
}

/* Docker's env-file: KEY=VALUE or KEY lines, '#' comments and blank lines skipped. */
static int read_env_file(struct run_flags *f, const char *path, struct st_error **err)
{
	struct st_buf text = ST_BUF_INIT;
	if (st_read_file(path, &text, err) < 0) {
		st_buf_release(&text);
		return st_err_wrap(err, "--env-file");
	}
	int rc = 0, line = 0;
	for (char *p = text.data ? text.data : (char *)""; *p && rc == 0;) {
		size_t len = strcspn(p, "\n");
		char *next = p + len + (p[len] == '\n');
		p[len] = '\0';
		line++;
		if (len && p[len - 1] == '\r')
			p[--len] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p && *p != '#') {
			size_t klen = strcspn(p, "=");
			if (klen == 0)
				rc = st_err(err, ST_E_INVALID,
					    "%s:%d: no variable name before '=': expected "
					    "KEY=VALUE",
					    path, line);
			else if (strcspn(p, " \t") < klen)
				rc = st_err(err, ST_E_INVALID,
					    "%s:%d: variable '%.*s' contains whitespaces", path,
					    line, (int)klen, p);
			else
				add_env(f, p);
		}
		p = next;
	}
	st_buf_release(&text);
	return rc;
}

int run_flags_parse(struct st_cli *cli, const char *verb, bool with_run, int argc, char **argv,
		    struct run_flags *f, struct st_error **err)
{
	enum {
		OPT_RM = 0x100,
		OPT_NAME,
		OPT_ENV_FILE,
		OPT_ENTRYPOINT,
		OPT_TMPFS,
		OPT_READ_ONLY,
		OPT_NETWORK,
		OPT_ADD_HOST,
		OPT_MOUNT,
		OPT_INIT,
		OPT_HELP,
	};
	static const struct option longopts[] = {
		{ "add-host", required_argument, NULL, OPT_ADD_HOST },
		{ "detach", no_argument, NULL, 'd' },
		{ "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
		{ "env", required_argument, NULL, 'e' },
		{ "env-file", required_argument, NULL, OPT_ENV_FILE },
		{ "hostname", required_argument, NULL, 'h' },
		{ "init", no_argument, NULL, OPT_INIT },
		{ "interactive", no_argument, NULL, 'i' },
		{ "mount", required_argument, NULL, OPT_MOUNT },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "network", required_argument, NULL, OPT_NETWORK },
		{ "net", required_argument, NULL, OPT_NETWORK },
		{ "publish", required_argument, NULL, 'p' },
		{ "read-only", no_argument, NULL, OPT_READ_ONLY },
		{ "rm", no_argument, NULL, OPT_RM },
		{ "tmpfs", required_argument, NULL, OPT_TMPFS },
		{ "tty", no_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "volume", required_argument, NULL, 'v' },
		{ "workdir", required_argument, NULL, 'w' },
		RUN_LIMITS_LONGOPTS,
		{ "help", no_argument, NULL, OPT_HELP },
		{ 0 },
	};
	memset(f, 0, sizeof(*f));
	int c;
	/* '+': the options end at IMAGE; what follows is the container's command. */
	while ((c = getopt_long(argc, argv, "+c:de:h:im:p:tu:v:w:", longopts, NULL)) != -1) {
		int k = run_limits_flag(c, optarg, f, err);
		if (k < 0)
			return -1;
		if (k)
			continue;
		switch (c) {
		case 'd':
			if (!with_run)
				return st_cli_usage(err, "unknown shorthand flag: 'd' in -d");
			f->detach = true;
			break;
		case 'e':
			add_env(f, optarg);
			break;
		case OPT_ENV_FILE:
			if (read_env_file(f, optarg, err) < 0)
				return -1;
			break;
		case 'h':
			f->create.hostname = optarg;
			break;
		case 'i':
			f->create.interactive = true;
			break;
		case 't':
			f->create.tty = true;
			break;
		case 'p':
			push(&f->publish, &f->create.n_publish, optarg);
			break;
		case 'u':
			f->create.user = optarg;
			break;
		case 'v':
			push(&f->volumes, &f->create.n_volumes, optarg);
			break;
		case 'w':
			f->create.workdir = optarg;
			break;
		case OPT_RM:
			f->create.auto_remove = true;
			break;
		case OPT_NAME:
			f->create.name = optarg;
			break;
		case OPT_ENTRYPOINT:
			f->create.entrypoint = optarg;
			break;
		case OPT_TMPFS:
			push(&f->tmpfs, &f->create.n_tmpfs, optarg);
			break;
		case OPT_READ_ONLY:
			f->create.read_only = true;
			break;
		case OPT_NETWORK:
			f->create.network = optarg;
			break;
		case OPT_INIT:
			f->create.init = true;
			break;
		case OPT_ADD_HOST:
			push(&f->hosts, &f->create.n_add_hosts, optarg);
			break;
		case OPT_MOUNT:
			push(&f->mounts, &f->create.n_mounts, optarg);
			break;
		case OPT_HELP:
			fprintf(cli->out,
				"Usage: strata %s [OPTIONS] IMAGE [COMMAND] "
				"[ARG...]\n\n%s\n\nOptions:\n",
				verb,
				with_run ? "Create and run a new container from an image"
					 : "Create a new container");
			if (with_run)
				fputs(
				    "  -d, --detach               Run container in background and "
				    "print container ID\n",
				    cli->out);
			fputs(create_opts_text, cli->out);
			fputs(run_limits_text, cli->out);
			return 1;
		default:
			return st_cli_usage(err, "see 'strata %s --help'", verb);
		}
	}
	if (optind >= argc)
		return st_cli_usage(err, "\"%s\" requires at least 1 argument", verb);
	f->create.image = argv[optind];
	f->create.cmd = argv + optind + 1;
	f->create.n_cmd = (size_t)(argc - optind - 1);
	f->create.env = f->env;
	f->create.volumes = f->volumes;
	f->create.mounts = f->mounts;
	f->create.tmpfs = f->tmpfs;
	f->create.add_hosts = f->hosts;
	f->create.publish = f->publish;
	run_limits_finish(f);
	return 0;
}

void run_flags_release(struct run_flags *f)
{
	st_strv_free(f->env, f->create.n_env);
	st_strv_free(f->volumes, f->create.n_volumes);
	st_strv_free(f->mounts, f->create.n_mounts);
	st_strv_free(f->tmpfs, f->create.n_tmpfs);
	st_strv_free(f->hosts, f->create.n_add_hosts);
	st_strv_free(f->publish, f->create.n_publish);
	run_limits_release(f);
}

int run_fail(const char *verb, struct st_error *err, int code)
{
	fflush(stdout);
	fprintf(stderr, "strata: %s: %s\n", verb, err && err->msg ? err->msg : "failed");
	st_error_free(err);
	return code;
}

int run_each(struct st_cli *cli, const char *verb, int argc, char **argv, run_each_fn fn, void *ctx,
	     struct st_error **err)
{
	if (optind >= argc)
		return st_cli_usage(err, "\"%s\" requires at least 1 argument", verb);
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	int failed = 0;
	for (int i = optind; i < argc; i++) {
		st_auto(st_container) struct st_container *ctr = NULL;
		if (st_container_find(s, argv[i], &ctr, err) < 0 || fn(s, ctr, ctx, err) < 0) {
			failed = run_fail(verb, st_steal(err), 1);
			continue;
		}
		fprintf(cli->out, "%s\n", argv[i]);
	}
	return failed;
}

int run_each_verb(struct st_cli *cli, const char *verb, const char *what, int argc, char **argv,
		  run_each_fn fn, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c != 'h')
			return st_cli_usage(err, "see 'strata %s --help'", verb);
		fprintf(cli->out, "Usage: strata %s CONTAINER [CONTAINER...]\n\n%s\n", verb, what);
		return 0;
	}
	return run_each(cli, verb, argc, argv, fn, NULL, err);
}

struct st_error *run_not_a_tty(struct st_error **err)
{
	st_err(err, ST_E_INVALID, "the input device is not a TTY");
	return st_steal(err);
}

int cmd_run(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	struct run_flags f;
	int rc = run_flags_parse(cli, "run", true, argc, argv, &f, err);
	if (rc != 0) {
		run_flags_release(&f);
		if (rc > 0)
			return 0;
		return run_fail("run", st_steal(err), 125);
	}
	struct st_store *s = NULL;
	st_auto(st_container) struct st_container *c = NULL;
	if (run_pull(cli, &f, err) < 0 || st_cli_store(cli, &s, err) < 0 ||
	    st_container_create(s, &f.create, &c, err) < 0) {
		run_flags_release(&f);
		return run_fail("run", st_steal(err), 125);
	}
	run_flags_release(&f);
	int code = 0;
	if (!f.detach && f.create.tty && f.create.interactive && !isatty(0))
		return run_fail("run", run_not_a_tty(err), 1);
	if (f.detach) {
		if (st_container_start(s, c, &code, err) < 0)
			return run_fail("run", st_steal(err), code);
		fprintf(cli->out, "%s\n", st_container_id(c));
		return 0;
	}
	fflush(cli->out);
	struct st_container_io io = { .out_fd = 1,
				      .err_fd = 2,
				      .attach_stdin = f.create.interactive };
	if (st_container_run(s, c, &io, &code, err) < 0)
		return run_fail("run", st_steal(err), code);
	return code;
}
