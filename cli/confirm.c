/* confirm.c: what the verbs that remove things share: -f/--force, --help and "[y/N]". */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "util/buf.h"
#include "util/banned.h"

bool st_cli_confirm(struct st_cli *cli, const char *warning)
{
	/* Like Docker, stdin is read even when it is no terminal: a script that pipes nothing,
	 * or no "y", gets nothing removed rather than a prune it did not ask for. */
	fprintf(cli->errout, "%sAre you sure you want to continue? [y/N] ", warning);
	fflush(cli->errout);
	char line[16] = "";
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

int st_cli_remove_flags(struct st_cli *cli, int argc, char **argv,
			const struct st_cli_remove_verb *verb, struct st_cli_remove_opts *out,
			struct st_error **err)
{
	/* -a/--all last: only the verbs with ST_CLI_REMOVE_ALL get it. */
	static const struct option common[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "all", no_argument, NULL, 'a' },
	};
	bool all = verb->flags & ST_CLI_REMOVE_ALL;
	size_t ncommon = all ? 3 : 2, nmore = 0;
	while (verb->more && verb->more[nmore].name)
		nmore++;
	/* getopt_long wants one table: ours, the verb's own, then the zero row. */
	struct option *longopts = st_xcalloc(ncommon + nmore + 1, sizeof(*longopts));
	for (size_t i = 0; i < ncommon; i++)
		longopts[i] = common[i];
	for (size_t i = 0; i < nmore; i++)
		longopts[ncommon + i] = verb->more[i];
	*out = (struct st_cli_remove_opts){ 0 };
	int rc = 0, c;
	while (rc == 0 && (c = getopt_long(argc, argv, all ? "afh" : "fh", longopts, NULL)) != -1) {
		switch (c) {
		case 0: /* one of 'more': getopt_long has set its flag, if it has one */
			break;
		case 'a':
			out->all = true;
			break;
		case 'f':
			out->force = true;
			break;
		case 'h':
			fputs(verb->usage, cli->out);
			rc = 1;
			break;
		default:
			rc = st_cli_usage(err, "see 'strata %s --help'", verb->name);
		}
	}
	free(longopts);
	if (rc != 0)
		return rc;
	if (verb->flags & ST_CLI_REMOVE_OPERANDS) {
		if (optind >= argc)
			return st_cli_usage(err, "\"%s\" requires at least 1 argument", verb->name);
	} else if (optind < argc) {
		return st_cli_usage(err, "\"%s\" accepts no arguments", verb->name);
	}
	return 0;
}

int st_cli_confirm_remove(struct st_cli *cli, bool force, const char *verb, const char *warning,
			  struct st_error **err)
{
	if (force || st_cli_confirm(cli, warning))
		return 0;
	/* Docker's answer to a "no": an error, so that a script sees nothing was removed. */
	return st_err(err, ST_E_INVALID, "%s has been cancelled", verb);
}
