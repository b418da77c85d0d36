/* main.c: strata's entry point: global flags, the verb table, error printing and exit codes. */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/banned.h"

struct verb {
	const char *name; /* "images", or two words: "system df" */
	st_cli_fn fn;
	const char *help;
};

#define ST_CLI_ROW(fn, name, help) { name, cmd_##fn, help },
static const struct verb verbs[] = { ST_CLI_VERBS(ST_CLI_ROW) };
#undef ST_CLI_ROW

static void usage(FILE *f)
{
	fprintf(f, "Usage: strata [--root DIR] COMMAND [OPTIONS]\n\n"
		   "A daemonless container image builder and image toolkit.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(*verbs); i++)
		fprintf(f, "  %-16s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f, "\nThe store is $STRATA_ROOT, else /var/lib/strata as root, else "
		   "~/.local/share/strata.\nRun 'strata COMMAND --help' for a command's options.\n");
}

static char *default_root(void)
{
	const char *env = getenv("STRATA_ROOT");
	if (env && *env)
		return st_xstrdup(env);
	if (geteuid() == 0)
		return st_xstrdup("/var/lib/strata");
	const char *xdg = getenv("XDG_DATA_HOME");
	if (xdg && *xdg)
		return st_xasprintf("%s/strata", xdg);
	const char *home = getenv("HOME");
	return st_xasprintf("%s/.local/share/strata", home ? home : ".");
}

/* Match argv against a verb name of one or two words; returns words used, 0 if none. */
static int match(const char *name, int argc, char **argv)
{
	const char *sp = strchr(name, ' ');
	if (!sp)
		return strcmp(name, argv[0]) == 0 ? 1 : 0;
	size_t n = (size_t)(sp - name);
	if (strlen(argv[0]) != n || strncmp(argv[0], name, n) != 0 || argc < 2)
		return 0;
	return strcmp(sp + 1, argv[1]) == 0 ? 2 : 0;
}

static int exit_code(enum st_errkind kind)
{
	switch (kind) {
	case ST_E_USAGE:
		return 2;
	default:
		return 1;
	}
}

int main(int argc, char **argv)
{
	st_autofree char *root = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--root") && i + 1 < argc) {
			free(root);
			root = st_xstrdup(argv[++i]);
		} else if (!strncmp(argv[i], "--root=", 7)) {
			free(root);
			root = st_xstrdup(argv[i] + 7);
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
			printf("strata version %s\n", STRATA_VERSION);
			return 0;
		} else {
			fprintf(stderr, "strata: unknown flag '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (!root)
		root = default_root();

	const struct verb *v = NULL;
	int used = 0;
	for (size_t k = 0; k < sizeof(verbs) / sizeof(*verbs) && !v; k++) {
		used = match(verbs[k].name, argc - i, argv + i);
		if (used)
			v = &verbs[k];
	}
	if (!v) {
		fprintf(stderr, "strata: '%s' is not a strata command\n", argv[i]);
		usage(stderr);
		return 2;
	}

	struct st_cli cli = { .root = root, .out = stdout, .errout = stderr };
	struct st_error *err = NULL;
	/* argv[0] of the verb is its last word, so getopt messages name it. */
	int vargc = argc - i - used + 1;
	char **vargv = argv + i + used - 1;
	optind = 0;
	st_cancel_install();
	int rc = v->fn(&cli, vargc, vargv, &err);
	st_cli_close(&cli);
	bool flushed = fflush(stdout) == 0;
	int sig = st_cancel_signal();
	if (sig && (rc != 0 || !flushed)) {
		/* Whatever failed on the way out was the interruption: say only that. A closed pipe
		 * is the reader's choice (`strata export img | head`), not news. */
		if (sig != SIGPIPE)
			fprintf(stderr, "strata: %s: canceled\n", v->name);
		st_error_free(err);
		st_cancel_raise();
		return 128 + sig;
	}
	if (!flushed && rc == 0) {
		perror("strata: write");
		return 1;
	}
	if (rc == 0)
		return 0;
	if (err) {
		fprintf(stderr, "strata: %s: %s\n", v->name, err->msg ? err->msg : "failed");
		rc = exit_code(err->kind);
		st_error_free(err);
		return rc;
	}
	/* A verb may return a process exit status of its own (like 'run' forwarding one). */
	return rc > 0 ? rc : 1;
}
