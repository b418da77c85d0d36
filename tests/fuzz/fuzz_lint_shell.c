/*
 * fuzz_lint_shell.c: lint's reading of a RUN's shell text with the bash grammar and the walk
 * of its syntax tree, over any bytes: words, lists, heredocs, `sh -c` strings parsed again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tree_sitter/api.h>

#include "lint/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static TSParser *sh;
	if (!sh)
		sh = lint_shell_new();
	struct lint_script sc = { 0 };
	lint_script_parse(sh, (const char *)data, size, &sc);
	for (size_t i = 0; i < sc.ncmds; i++)
		if (!sc.cmds[i].argv[0] || sc.cmds[i].argv[sc.cmds[i].argc])
			abort();
	lint_script_release(&sc);
	return 0;
}
