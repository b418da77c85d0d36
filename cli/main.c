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
		fprintf(f, "  %-17s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f, "\nThe store is $STRATA_ROOT, else /var/lib/strata as root, else "
		   "~/.local/share/strata.\nDocker's names work too: image ls, image rm, "
		   "buildx build, ...\nRun 'strata help COMMAND' for a command's options.\n");
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

struct alias {
	const char *name;
	const char *verb;
};

#define ST_CLI_ALIAS_ROW(name, verb) { name, verb },
static const struct alias aliases[] = { ST_CLI_ALIASES(ST_CLI_ALIAS_ROW) };
#undef ST_CLI_ALIAS_ROW

/* Docker verbs strata does not have: what to use instead. */
static const struct missing {
	const char *name;
	const char *instead;
} missing[] = {
	{ "search", "no registry search: 'strata tags NAME' lists a repository's tags" },
	{ "scout", "no vulnerability scanner: 'strata sbom -o cyclonedx-json IMAGE' lists its "
		   "packages for one" },
};

#define N(a) (sizeof(a) / sizeof(*(a)))

/* Match argv against a name of one or two words; returns words used, 0 if none. */
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

static const struct verb *verb_named(const char *name)
{
	for (size_t k = 0; k < N(verbs); k++)
		if (!strcmp(verbs[k].name, name))
			return &verbs[k];
	return NULL;
}

/* The verb (or alias of one) that argv starts with; *used is the number of words it took. */
static const struct verb *find_verb(int argc, char **argv, int *used)
{
	for (size_t k = 0; k < N(verbs); k++)
		if ((*used = match(verbs[k].name, argc, argv)))
			return &verbs[k];
	for (size_t k = 0; k < N(aliases); k++)
		if ((*used = match(aliases[k].name, argc, argv)))
			return verb_named(aliases[k].verb);
	return NULL;
}

/* Levenshtein distance, as cobra measures "did you mean" suggestions. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = st_xcalloc(lb + 1, sizeof(*row));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	size_t d = row[lb];
	free(row);
	return d;
}

/* Compare 'typed' with the first word of 'name', or with both words when it has two. */
static void consider(const char *name, const char *typed, bool two_words, const char **best,
		     size_t *best_d)
{
	st_autofree char *word = two_words || !strchr(name, ' ')
				     ? st_xstrdup(name)
				     : st_xstrndup(name, (size_t)(strchr(name, ' ') - name));
	if (two_words != (strchr(word, ' ') != NULL))
		return;
	size_t d = distance(typed, word);
	/* cobra suggests within a distance of 2, and any name the typed word begins */
	bool prefix = strlen(typed) >= 2 && !strncmp(word, typed, strlen(typed));
	if ((d <= 2 || prefix) && d < *best_d) {
		*best_d = d;
		*best = name;
	}
}

/* One line for a command strata does not know: the closest one, or what to use instead. */
static void unknown_command(int argc, char **argv)
{
	for (size_t k = 0; k < N(missing); k++)
		if (!strcmp(missing[k].name, argv[0])) {
			fprintf(stderr, "strata: '%s' is not a strata command: %s\n", argv[0],
				missing[k].instead);
			return;
		}
	/* "system frob": the group exists, so the suggestion is one of its verbs */
	bool group = false;
	size_t n0 = strlen(argv[0]);
	for (size_t k = 0; k < N(verbs); k++)
		group |= !strncmp(verbs[k].name, argv[0], n0) && verbs[k].name[n0] == ' ';
	for (size_t k = 0; k < N(aliases); k++)
		group |= !strncmp(aliases[k].name, argv[0], n0) && aliases[k].name[n0] == ' ';
	st_autofree char *typed =
	    group && argc > 1 ? st_xasprintf("%s %s", argv[0], argv[1]) : st_xstrdup(argv[0]);
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (size_t k = 0; k < N(verbs); k++)
		consider(verbs[k].name, typed, group, &best, &best_d);
	for (size_t k = 0; k < N(aliases); k++)
		consider(aliases[k].name, typed, group, &best, &best_d);
	if (group && (argc < 2 || !best)) {
		/* name the group's verbs rather than a far-fetched guess */
		struct st_buf subs = ST_BUF_INIT;
		for (size_t k = 0; k < N(verbs); k++)
			if (!strncmp(verbs[k].name, argv[0], n0) && verbs[k].name[n0] == ' ')
				st_buf_addf(&subs, "%s%s", subs.len ? ", " : "",
					    verbs[k].name + n0 + 1);
		for (size_t k = 0; k < N(aliases); k++)
			if (!strncmp(aliases[k].name, argv[0], n0) && aliases[k].name[n0] == ' ')
				st_buf_addf(&subs, "%s%s", subs.len ? ", " : "",
					    aliases[k].name + n0 + 1);
		if (argc < 2)
			fprintf(stderr, "strata: '%s' needs a subcommand: %s\n", argv[0],
				subs.data);
		else
			fprintf(stderr, "strata: '%s' is not a strata command; '%s' has: %s\n",
				typed, argv[0], subs.data);
		st_buf_release(&subs);
	} else if (best && !group && strchr(best, ' ')) {
		fprintf(stderr, "strata: '%s' is not a strata command; did you mean '%.*s'?\n",
			typed, (int)(strchr(best, ' ') - best), best);
	} else if (best) {
		fprintf(stderr, "strata: '%s' is not a strata command; did you mean '%s'?\n", typed,
			best);
	} else {
		fprintf(stderr, "strata: '%s' is not a strata command; see 'strata --help'\n",
			typed);
	}
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

/* argv[0] of the verb is "strata NAME", so getopt's messages name the command as typed. */
static int run_verb(const struct verb *v, int argc, char **argv, const char *root)
{
	st_autofree char *name = st_xasprintf("strata %s", v->name);
	st_autofree char **vargv = st_xcalloc((size_t)argc + 1, sizeof(char *));
	vargv[0] = name;
	for (int k = 1; k < argc; k++)
		vargv[k] = argv[k];
	struct st_cli cli = { .root = root, .out = stdout, .errout = stderr };
	struct st_error *err = NULL;
	optind = 0;
	st_cancel_install();
	int rc = v->fn(&cli, argc, vargv, &err);
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

int main(int argc, char **argv)
{
	st_autofree char *root = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *val = NULL;
		if (!strcmp(argv[i], "--root"))
			val = i + 1 < argc ? argv[++i] : "";
		else if (!strncmp(argv[i], "--root=", 7))
			val = argv[i] + 7;
		if (val && !*val) {
			fprintf(stderr, "strata: --root needs a directory: --root DIR\n");
			return 2;
		}
		if (val) {
			free(root);
			root = st_xstrdup(val);
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
			printf("strata version %s\n", STRATA_VERSION);
			return 0;
		} else {
			fprintf(stderr, "strata: unknown flag '%s'; see 'strata --help'\n",
				argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (!root)
		root = default_root();

	/* "strata help [COMMAND]" is "strata [COMMAND] --help" */
	bool help = !strcmp(argv[i], "help");
	if (help && ++i >= argc) {
		usage(stdout);
		return 0;
	}
	int used = 0;
	const struct verb *v = find_verb(argc - i, argv + i, &used);
	if (!v) {
		unknown_command(argc - i, argv + i);
		return 2;
	}
	if (help) {
		char *hargv[] = { NULL, (char *)"--help", NULL };
		return run_verb(v, 2, hargv, root);
	}
	return run_verb(v, argc - i - used + 1, argv + i + used - 1, root);
}
