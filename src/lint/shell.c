/*
 * shell.c: what a RUN runs, read with tree-sitter's bash grammar (third_party/tree-sitter-bash)
 * and walked for the rules: the simple commands in the order they run, with their words after
 * quote removal, wherever they stand (lists joined by && || ; &, pipelines, subshells, if/for/
 * while/case bodies, command substitutions), the script of `sh -c '...'` and the heredoc body a
 * shell reads parsed again, and the variables the script expands. A quoted "&&" stays inside
 * its word; `set -o pipefail` makes the pipes after it safe.
 *
 * Each RUN is parsed once per lint (lint_run_script caches it in the lint_ctx): every rule
 * reads the same walk.
 */
#include <stdlib.h>
#include <string.h>
#include <tree_sitter/api.h>

#include "lint/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

const TSLanguage *tree_sitter_bash(void);

/* Syntax trees deeper than this (a chain of && is one level per command) and `sh -c` inside
 * `sh -c` more often than that are not followed: such a script is made to exhaust the stack,
 * not to build an image. */
#define MAX_DEPTH 2000
#define MAX_SCRIPTS 16

struct walk {
	TSParser *parser;
	const char *text; /* the script the tree was parsed from */
	struct lint_script *out;
	int nested;    /* inside a subshell or a command substitution */
	bool pipefail; /* `set -o pipefail` ran */
	int depth;     /* of the syntax tree */
	int scripts;   /* scripts parsed inside scripts */
};

static void parse_into(struct walk *w, const char *s, size_t len);

static bool type_is(TSNode n, const char *t)
{
	return !strcmp(ts_node_type(n), t);
}

/* ---- words ---- */

/* Text of a "word": backslash escapes removed, a backslash-newline gone. */
static void unescape_word(const char *p, size_t n, struct st_buf *b)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n) {
			i++;
			if (p[i] != '\n')
				st_buf_addch(b, p[i]);
			continue;
		}
		st_buf_addch(b, p[i]);
	}
}

/* Inside "...": a backslash escapes only $ ` " \ and newline. */
static void unescape_dq(const char *p, size_t n, struct st_buf *b)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n && strchr("$`\"\\\n", p[i + 1])) {
			i++;
			if (p[i] != '\n')
				st_buf_addch(b, p[i]);
			continue;
		}
		st_buf_addch(b, p[i]);
	}
}

/* The word 'n' as the command receives it when no variable is set: quotes removed,
 * expansions and substitutions kept as written. */
static void word_value(const struct walk *w, TSNode n, struct st_buf *b)
{
	uint32_t s = ts_node_start_byte(n), e = ts_node_end_byte(n);
	const char *p = w->text + s;
	size_t len = e - s;
	if (type_is(n, "word")) {
		unescape_word(p, len, b);
	} else if (type_is(n, "raw_string")) {
		if (len >= 2)
			st_buf_add(b, p + 1, len - 2);
	} else if (type_is(n, "string")) {
		if (len >= 2 && p[0] == '"' && p[len - 1] == '"')
			unescape_dq(p + 1, len - 2, b);
		else
			st_buf_add(b, p, len);
	} else if (type_is(n, "concatenation") || type_is(n, "command_name")) {
		/* The pieces, and the text between them as written. */
		uint32_t at = s;
		for (uint32_t i = 0; i < ts_node_child_count(n); i++) {
			TSNode c = ts_node_child(n, i);
			st_buf_add(b, w->text + at, ts_node_start_byte(c) - at);
			word_value(w, c, b);
			at = ts_node_end_byte(c);
		}
		st_buf_add(b, w->text + at, e - at);
	} else {
		st_buf_add(b, p, len);
	}
}

/* ---- commands ---- */

static bool is_shell(const char *w)
{
	static const char *const shells[] = { "sh",	   "bash",     "ash",	       "dash",
					      "zsh",	   "/bin/sh",  "/bin/bash",    "/bin/ash",
					      "/bin/dash", "/bin/zsh", "/usr/bin/bash" };
	for (size_t i = 0; i < sizeof(shells) / sizeof(*shells); i++)
		if (!strcmp(w, shells[i]))
			return true;
	return false;
}

/* The index of the script of `sh [options] -c SCRIPT`, or 0. */
static size_t shell_script_arg(const struct lint_cmd *cmd)
{
	if (!is_shell(cmd->argv[0]))
		return 0;
	for (size_t i = 1; i + 1 < cmd->argc; i++) {
		const char *a = cmd->argv[i];
		if (a[0] != '-' || a[1] == '-')
			return 0;
		if (strchr(a, 'c'))
			return i + 1;
		if (strchr(a, 'o'))
			i++; /* -o OPTION */
	}
	return 0;
}

/* set -e, set -o pipefail, set -euxo pipefail, sh -o pipefail -c ...: whether pipefail is on
 * after the options in argv[from..]. */
static bool options_pipefail(const struct lint_cmd *cmd, size_t from, bool on)
{
	for (size_t i = from; i < cmd->argc; i++) {
		const char *a = cmd->argv[i];
		if ((a[0] != '-' && a[0] != '+') || a[1] == '-' || !strchr(a, 'o'))
			continue;
		if (i + 1 < cmd->argc && !strcmp(cmd->argv[i + 1], "pipefail"))
			on = a[0] == '-';
	}
	return on;
}

static void add_cmd(struct walk *w, char **argv, size_t argc)
{
	struct lint_script *s = w->out;
	s->cmds = st_xrealloc(s->cmds, (s->ncmds + 1) * sizeof(*s->cmds));
	s->cmds[s->ncmds++] = (struct lint_cmd){ .argv = argv, .argc = argc, .nested = w->nested };
}

static void walk(struct walk *w, TSTreeCursor *cur);

/* Walk the children of the cursor's node, and come back to it. */
static void walk_children(struct walk *w, TSTreeCursor *cur)
{
	if (!ts_tree_cursor_goto_first_child(cur))
		return;
	do
		walk(w, cur);
	while (ts_tree_cursor_goto_next_sibling(cur));
	ts_tree_cursor_goto_parent(cur);
}

/* A simple command: its substitutions run first, then it; `sh -c` runs its script. */
static void command(struct walk *w, TSTreeCursor *cur)
{
	char **argv = NULL;
	size_t argc = 0;
	struct st_buf b = ST_BUF_INIT;
	bool more = ts_tree_cursor_goto_first_child(cur);
	for (; more; more = ts_tree_cursor_goto_next_sibling(cur)) {
		const char *field = ts_tree_cursor_current_field_name(cur);
		TSNode c = ts_tree_cursor_current_node(cur);
		walk(w, cur); /* the substitutions in words, assignments and redirections */
		bool name = field && !strcmp(field, "name");
		if (!name && !(field && !strcmp(field, "argument") && argc))
			continue;
		st_buf_reset(&b);
		word_value(w, c, &b);
		argv = st_xrealloc(argv, (argc + 2) * sizeof(*argv));
		argv[argc++] = st_xstrndup(b.data ? b.data : "", b.len);
		argv[argc] = NULL;
	}
	ts_tree_cursor_goto_parent(cur);
	st_buf_release(&b);
	if (!argc)
		return;
	add_cmd(w, argv, argc);
	const struct lint_cmd *cmd = &w->out->cmds[w->out->ncmds - 1];
	if (!strcmp(cmd->argv[0], "set") && !w->nested)
		w->pipefail = options_pipefail(cmd, 1, w->pipefail);
	size_t script = shell_script_arg(cmd);
	if (script) {
		st_autofree char *text = st_xstrdup(cmd->argv[script]);
		bool outer = w->pipefail;
		w->pipefail = options_pipefail(cmd, 1, false);
		parse_into(w, text, strlen(text));
		w->pipefail = outer;
	}
}

/* cmd <<EOF ... EOF: the body is the command's input; a shell runs it as its script. The
 * statement comes first, its redirections after it. */
static void redirected(struct walk *w, TSTreeCursor *cur)
{
	size_t before = w->out->ncmds;
	bool shell_reads = false;
	bool more = ts_tree_cursor_goto_first_child(cur);
	for (; more; more = ts_tree_cursor_goto_next_sibling(cur)) {
		const char *field = ts_tree_cursor_current_field_name(cur);
		TSNode r = ts_tree_cursor_current_node(cur);
		if (field && !strcmp(field, "body")) {
			walk(w, cur);
			shell_reads = w->out->ncmds > before &&
				      is_shell(w->out->cmds[before].argv[0]) &&
				      !shell_script_arg(&w->out->cmds[before]);
			continue;
		}
		if (!type_is(r, "heredoc_redirect")) {
			walk(w, cur);
			continue;
		}
		bool in = ts_tree_cursor_goto_first_child(cur);
		for (; in; in = ts_tree_cursor_goto_next_sibling(cur)) {
			TSNode c = ts_tree_cursor_current_node(cur);
			if (!type_is(c, "heredoc_body")) {
				walk(w, cur);
			} else if (shell_reads) {
				uint32_t s = ts_node_start_byte(c);
				st_autofree char *text =
				    st_xstrndup(w->text + s, ts_node_end_byte(c) - s);
				parse_into(w, text, strlen(text));
			}
		}
		ts_tree_cursor_goto_parent(cur);
	}
	ts_tree_cursor_goto_parent(cur);
}

/* $X, ${X}, ${X:-default}: the script reads X. */
static void expansion(struct walk *w, TSNode n)
{
	for (uint32_t i = 0; i < ts_node_named_child_count(n); i++) {
		TSNode v = ts_node_named_child(n, i);
		if (!type_is(v, "variable_name"))
			continue;
		struct lint_script *s = w->out;
		uint32_t b = ts_node_start_byte(v);
		s->vars = st_xrealloc(s->vars, (s->nvars + 2) * sizeof(*s->vars));
		s->vars[s->nvars++] = st_xstrndup(w->text + b, ts_node_end_byte(v) - b);
		s->vars[s->nvars] = NULL;
		return;
	}
}

static void walk(struct walk *w, TSTreeCursor *cur)
{
	TSNode n = ts_tree_cursor_current_node(cur);
	if (w->depth >= MAX_DEPTH || !ts_node_is_named(n))
		return;
	w->depth++;
	const char *t = ts_node_type(n);
	bool nest = !strcmp(t, "subshell") || !strcmp(t, "command_substitution") ||
		    !strcmp(t, "process_substitution");
	w->nested += nest;
	if (!strcmp(t, "command")) {
		command(w, cur);
	} else if (!strcmp(t, "redirected_statement")) {
		redirected(w, cur);
	} else if (strcmp(t, "comment") && strcmp(t, "heredoc_body")) {
		if (!strcmp(t, "pipeline") && !w->pipefail)
			w->out->pipe = true;
		if (!strcmp(t, "simple_expansion") || !strcmp(t, "expansion"))
			expansion(w, n);
		walk_children(w, cur);
	}
	w->nested -= nest;
	w->depth--;
}

static void parse_into(struct walk *w, const char *s, size_t len)
{
	if (w->scripts >= MAX_SCRIPTS || len > UINT32_MAX)
		return;
	TSTree *tree = ts_parser_parse_string(w->parser, NULL, s, (uint32_t)len);
	if (!tree)
		return;
	const char *outer = w->text;
	int depth = w->depth;
	w->text = s;
	w->scripts++;
	TSTreeCursor cur = ts_tree_cursor_new(ts_tree_root_node(tree));
	walk(w, &cur);
	ts_tree_cursor_delete(&cur);
	w->scripts--;
	w->depth = depth;
	w->text = outer;
	ts_tree_delete(tree);
}

/* ---- scripts ---- */

TSParser *lint_shell_new(void)
{
	TSParser *p = ts_parser_new();
	/* The grammar is built in; only a runtime of another ABI refuses it, and that is a
	 * build that must not pass its tests. */
	if (!ts_parser_set_language(p, tree_sitter_bash()))
		abort();
	return p;
}

void lint_script_parse(TSParser *sh, const char *s, size_t len, struct lint_script *out)
{
	struct walk w = { .parser = sh, .out = out };
	parse_into(&w, s, len);
}

void lint_script_release(struct lint_script *s)
{
	for (size_t i = 0; i < s->ncmds; i++)
		st_dockerfile_strv_free(s->cmds[i].argv);
	free(s->cmds);
	st_dockerfile_strv_free(s->vars);
	memset(s, 0, sizeof(*s));
}

static void read_run(TSParser *sh, const struct st_dockerfile_instr *in, struct lint_script *out)
{
	if (in->json) {
		if (!in->nargs)
			return;
		char **argv = st_xcalloc(in->nargs + 1, sizeof(char *));
		for (size_t i = 0; i < in->nargs; i++)
			argv[i] = st_xstrdup(in->args[i]);
		out->cmds = st_xrealloc(out->cmds, (out->ncmds + 1) * sizeof(*out->cmds));
		out->cmds[out->ncmds++] = (struct lint_cmd){ .argv = argv, .argc = in->nargs };
		/* ["bash", "-euc", "script"]: the script is what runs. */
		size_t script = shell_script_arg(&out->cmds[out->ncmds - 1]);
		if (script)
			lint_script_parse(sh, in->args[script], strlen(in->args[script]), out);
		return;
	}
	const char *line = in->nargs ? in->args[0] : "";
	if (in->nheredocs && st_dockerfile_heredoc_is_command(line)) {
		const char *body = in->heredocs[0].content;
		lint_script_parse(sh, body, strlen(body), out);
		return;
	}
	size_t before = out->ncmds;
	lint_script_parse(sh, line, strlen(line), out);
	/* "RUN <<EOF bash" or "RUN python3 <<EOF": a shell's heredoc is its script. */
	bool shell_reads = out->ncmds > before && is_shell(out->cmds[before].argv[0]);
	for (size_t i = 0; shell_reads && i < in->nheredocs; i++) {
		const char *body = in->heredocs[i].content;
		lint_script_parse(sh, body, strlen(body), out);
	}
}

const struct lint_script *lint_run_script(struct lint_ctx *c, const struct st_dockerfile_instr *in)
{
	size_t i = (size_t)(in - c->df->instrs);
	if (!c->scripts) {
		c->scripts = st_xcalloc(c->df->ninstrs + 1, sizeof(*c->scripts));
		c->read = st_xcalloc(c->df->ninstrs + 1, sizeof(*c->read));
		c->shell = lint_shell_new();
	}
	if (!c->read[i]) {
		read_run(c->shell, in, &c->scripts[i]);
		c->read[i] = true;
	}
	return &c->scripts[i];
}

void lint_scripts_release(struct lint_ctx *c)
{
	for (size_t i = 0; c->scripts && i < c->df->ninstrs; i++)
		lint_script_release(&c->scripts[i]);
	free(c->scripts);
	free(c->read);
	if (c->shell)
		ts_parser_delete(c->shell);
	c->scripts = NULL;
	c->read = NULL;
	c->shell = NULL;
}
