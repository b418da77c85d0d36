/*
 * shell.c: what a RUN runs, read the way sh reads it, far enough for the rules: commands split
 * at unquoted ;, &, &&, ||, | and newlines, words with their quotes and escapes removed,
 * comments and redirections dropped, assignments before a command skipped, and the script of
 * `sh -c '...'` read as commands of its own. A quoted "&&" stays inside its word.
 *
 * NEEDSWORK: no shell grammar library is packaged for Debian 12 (tree-sitter's bash grammar
 * is not); compound commands (if, for, case) are read as their words, which finds the
 * commands inside them but not their structure.
 */
#include <stdlib.h>
#include <string.h>

#include "lint/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

struct reader {
	const char *p;
	struct lint_script *out;
	struct st_buf word;
	bool in_word;
	bool skip_next; /* the next word is a redirection's target */
	char **argv;
	size_t argc;
};

static void end_word(struct reader *r)
{
	if (!r->in_word)
		return;
	char *w = st_buf_detach(&r->word, NULL);
	r->in_word = false;
	if (r->skip_next) {
		r->skip_next = false;
		free(w);
		return;
	}
	r->argv = st_xrealloc(r->argv, (r->argc + 2) * sizeof(*r->argv));
	r->argv[r->argc++] = w;
	r->argv[r->argc] = NULL;
}

static bool is_assignment(const char *w)
{
	if (!((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') || *w == '_'))
		return false;
	for (w++; *w && *w != '='; w++)
		if (!((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') ||
		      (*w >= '0' && *w <= '9') || *w == '_'))
			return false;
	return *w == '=';
}

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

static void end_command(struct reader *r)
{
	end_word(r);
	r->skip_next = false;
	size_t skip = 0;
	while (skip < r->argc && is_assignment(r->argv[skip]))
		skip++;
	if (skip == r->argc) {
		st_dockerfile_strv_free(r->argv);
		r->argv = NULL;
		r->argc = 0;
		return;
	}
	for (size_t i = 0; i < skip; i++)
		free(r->argv[i]);
	memmove(r->argv, r->argv + skip, (r->argc - skip + 1) * sizeof(*r->argv));
	r->argc -= skip;
	struct lint_script *s = r->out;
	s->cmds = st_xrealloc(s->cmds, (s->ncmds + 1) * sizeof(*s->cmds));
	s->cmds[s->ncmds++] = (struct lint_cmd){ .argv = r->argv, .argc = r->argc };
	/* sh -c 'script': the script's commands are what runs. */
	if (is_shell(r->argv[0]))
		for (size_t i = 1; i + 1 < r->argc; i++)
			if (r->argv[i][0] == '-' && strchr(r->argv[i], 'c') &&
			    r->argv[i][1] != '-') {
				char *script = st_xstrdup(r->argv[i + 1]);
				r->argv = NULL;
				r->argc = 0;
				lint_script_parse(script, s);
				free(script);
				return;
			}
	r->argv = NULL;
	r->argc = 0;
}

static void add(struct reader *r, char ch)
{
	r->in_word = true;
	st_buf_addch(&r->word, ch);
}

/* $( ... ) and `...` go into the word as written: their commands are not this one's. */
static void substitution(struct reader *r)
{
	if (*r->p == '`') {
		add(r, *r->p++);
		while (*r->p && *r->p != '`')
			add(r, *r->p++);
		if (*r->p)
			add(r, *r->p++);
		return;
	}
	add(r, *r->p++); /* the '$' */
	int depth = 0;
	do {
		if (*r->p == '(')
			depth++;
		else if (*r->p == ')')
			depth--;
		add(r, *r->p++);
	} while (*r->p && depth > 0);
}

void lint_script_parse(const char *s, struct lint_script *out)
{
	struct reader r = { .p = s, .out = out, .word = ST_BUF_INIT };
	while (*r.p) {
		char ch = *r.p;
		if (ch == '\\') {
			r.p++;
			if (*r.p == '\n')
				r.p++;
			else if (*r.p)
				add(&r, *r.p++);
		} else if (ch == '\'') {
			r.in_word = true;
			for (r.p++; *r.p && *r.p != '\''; r.p++)
				add(&r, *r.p);
			if (*r.p)
				r.p++;
		} else if (ch == '"') {
			r.in_word = true;
			for (r.p++; *r.p && *r.p != '"'; r.p++) {
				if (*r.p == '\\' && r.p[1] && strchr("\"\\$`\n", r.p[1]))
					r.p++;
				add(&r, *r.p);
			}
			if (*r.p)
				r.p++;
		} else if (ch == '`' || (ch == '$' && r.p[1] == '(')) {
			substitution(&r);
		} else if (ch == '#' && !r.in_word) {
			while (*r.p && *r.p != '\n')
				r.p++;
		} else if (ch == ' ' || ch == '\t' || ch == '\r') {
			end_word(&r);
			r.p++;
		} else if (ch == '\n' || ch == ';' || ch == '&' || ch == '|' || ch == '(' ||
			   ch == ')') {
			if (ch == '|' && r.p[1] != '|' && !(r.p > s && r.p[-1] == '|'))
				out->pipe = true;
			end_command(&r);
			r.p++;
		} else if (ch == '>' || ch == '<') {
			/* A redirection: "2>" drops the fd digits, the target word goes too. */
			if (r.in_word && r.word.len) {
				size_t i = 0;
				while (i < r.word.len && r.word.data[i] >= '0' &&
				       r.word.data[i] <= '9')
					i++;
				if (i == r.word.len) {
					st_buf_reset(&r.word);
					r.in_word = false;
				}
			}
			end_word(&r);
			while (*r.p == '>' || *r.p == '<' || *r.p == '&' || *r.p == '-')
				r.p++;
			r.skip_next = true;
		} else {
			add(&r, ch);
			r.p++;
		}
	}
	end_command(&r);
	st_buf_release(&r.word);
}

void lint_script_release(struct lint_script *s)
{
	for (size_t i = 0; i < s->ncmds; i++)
		st_dockerfile_strv_free(s->cmds[i].argv);
	free(s->cmds);
	memset(s, 0, sizeof(*s));
}

void lint_run_script(const struct st_dockerfile_instr *in, struct lint_script *out)
{
	if (in->json) {
		if (!in->nargs)
			return;
		if (in->nargs >= 3 && is_shell(in->args[0]) && !strcmp(in->args[1], "-c")) {
			lint_script_parse(in->args[2], out);
			return;
		}
		struct lint_cmd cmd = { .argv = st_xcalloc(in->nargs + 1, sizeof(char *)),
					.argc = in->nargs };
		for (size_t i = 0; i < in->nargs; i++)
			cmd.argv[i] = st_xstrdup(in->args[i]);
		out->cmds = st_xrealloc(out->cmds, (out->ncmds + 1) * sizeof(*out->cmds));
		out->cmds[out->ncmds++] = cmd;
		return;
	}
	const char *line = in->nargs ? in->args[0] : "";
	if (in->nheredocs && st_dockerfile_heredoc_is_command(line)) {
		lint_script_parse(in->heredocs[0].content, out);
		return;
	}
	size_t before = out->ncmds;
	lint_script_parse(line, out);
	/* "RUN <<EOF bash" or "RUN python3 <<EOF": a shell's heredoc is its script. */
	bool shell_reads = out->ncmds > before && is_shell(out->cmds[before].argv[0]);
	for (size_t i = 0; shell_reads && i < in->nheredocs; i++)
		lint_script_parse(in->heredocs[i].content, out);
}
