/*
 * completion.c: strata completion bash|zsh|fish
 *
 * The scripts are generated from the verb table and from each verb's --help text, so a verb
 * or flag added there completes without anyone editing a script.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/banned.h"

struct flag {
	char short_name; /* '\0' if none */
	char *long_name;
	bool takes_value;
	char *desc;
};

struct verb_info {
	const char *name; /* "images" or "system df" */
	const char *help;
	const char *target; /* for an alias, the verb it runs; else name */
	struct flag *flags;
	size_t nflags;
};

struct catalog {
	struct verb_info *v;
	size_t n;
};

/* One option line of a --help text: "  -f, --file string   Name of the Dockerfile". */
static bool parse_flag_line(const char *line, struct flag *f)
{
	const char *p = line;
	while (*p == ' ')
		p++;
	if (p == line || p[0] != '-')
		return false;
	f->short_name = '\0';
	if (p[1] != '-') {
		f->short_name = p[1];
		p += 2;
		if (strncmp(p, ", ", 2) != 0)
			return false;
		p += 2;
	}
	if (strncmp(p, "--", 2) != 0)
		return false;
	p += 2;
	size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
	if (n == 0)
		return false;
	f->long_name = st_xstrndup(p, n);
	p += n;
	/* a value's type follows after one space; the description after two or more */
	f->takes_value = p[0] == ' ' && p[1] != ' ' && p[1] != '\0';
	p += strspn(p, " ");
	if (f->takes_value)
		p += strcspn(p, " ");
	p += strspn(p, " ");
	f->desc = st_xstrdup(p);
	return true;
}

/* The flags a verb's --help lists, found by running it with --help into a buffer. */
static void collect_flags(st_cli_fn fn, const char *name, struct verb_info *vi)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out)
		return;
	struct st_cli sub = { .out = out, .errout = out };
	st_autofree char *arg0 = st_xasprintf("strata %s", name);
	char *argv[] = { arg0, (char *)"--help", NULL };
	struct st_error *e = NULL;
	optind = 0;
	fn(&sub, 2, argv, &e);
	st_error_free(e);
	fclose(out);
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		struct flag f;
		if (parse_flag_line(line, &f)) {
			vi->flags = st_xrealloc(vi->flags, (vi->nflags + 1) * sizeof(*vi->flags));
			vi->flags[vi->nflags++] = f;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(text);
}

static void catalog_add(struct catalog *c, const char *name, const char *help, const char *target)
{
	c->v = st_xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n++] = (struct verb_info){ .name = name, .help = help, .target = target };
}

static void catalog_load(struct catalog *c)
{
#define ST_CLI_CATALOG_ROW(fn, name, help)                                                         \
	catalog_add(c, name, help, name);                                                          \
	if (cmd_##fn != cmd_completion)                                                            \
		collect_flags(cmd_##fn, name, &c->v[c->n - 1]);
	ST_CLI_VERBS(ST_CLI_CATALOG_ROW)
#undef ST_CLI_CATALOG_ROW
#define ST_CLI_CATALOG_ALIAS(name, verb) catalog_add(c, name, NULL, verb);
	ST_CLI_ALIASES(ST_CLI_CATALOG_ALIAS)
#undef ST_CLI_CATALOG_ALIAS
	catalog_add(c, "help", "Help about any command", "help");
	/* an alias completes the flags of the verb it runs */
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].help)
			continue;
		for (size_t k = 0; k < c->n; k++)
			if (c->v[k].help && !strcmp(c->v[k].name, c->v[i].target))
				c->v[i].help = c->v[k].help;
	}
}

static void catalog_release(struct catalog *c)
{
	for (size_t i = 0; i < c->n; i++) {
		for (size_t k = 0; k < c->v[i].nflags; k++) {
			free(c->v[i].flags[k].long_name);
			free(c->v[i].flags[k].desc);
		}
		free(c->v[i].flags);
	}
	free(c->v);
}

static const struct verb_info *flags_of(const struct catalog *c, const struct verb_info *v)
{
	for (size_t k = 0; k < c->n; k++)
		if (!strcmp(c->v[k].name, v->target) && c->v[k].flags)
			return &c->v[k];
	return v;
}

/* The first words, once each, in table order: "build builder images ..." */
static void first_words(const struct catalog *c, struct st_buf *b)
{
	bool first = true;
	for (size_t i = 0; i < c->n; i++) {
		size_t n = strcspn(c->v[i].name, " ");
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcspn(c->v[k].name, " ") == n &&
			       !strncmp(c->v[k].name, c->v[i].name, n);
		if (!seen)
			st_buf_addf(b, "%s%.*s", first ? "" : " ", (int)n, c->v[i].name);
		first = first && seen;
	}
}

/* "'" inside a single-quoted shell word */
static void add_quoted(struct st_buf *b, const char *s)
{
	st_buf_addch(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			st_buf_adds(b, "'\\''");
		else
			st_buf_addch(b, *s);
	}
	st_buf_addch(b, '\'');
}

static void gen_bash(const struct catalog *c, struct st_buf *b)
{
	struct st_buf firsts = ST_BUF_INIT;
	first_words(c, &firsts);
	st_buf_adds(b, "# bash completion for strata (strata completion bash)\n"
		       "_strata() {\n"
		       "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
		       "\tlocal i w words=() key\n"
		       "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
		       "\t\tw=${COMP_WORDS[i]}\n"
		       "\t\tif [[ $w == --root ]]; then ((i++)); continue; fi\n"
		       "\t\t[[ $w == -* ]] || words+=(\"$w\")\n"
		       "\tdone\n");
	st_buf_addf(b,
		    "\tif ((${#words[@]} == 0)); then\n"
		    "\t\tif [[ $cur == -* ]]; then\n"
		    "\t\t\tCOMPREPLY=($(compgen -W '--root --help --version' -- \"$cur\"))\n"
		    "\t\telse\n"
		    "\t\t\tCOMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n"
		    "\t\tfi\n"
		    "\t\treturn\n"
		    "\tfi\n",
		    firsts.data);
	st_buf_release(&firsts);
	/* the second word of a group: "system df", "image ls" */
	st_buf_adds(b, "\tif ((${#words[@]} == 1)); then\n\t\tcase ${words[0]} in\n");
	for (size_t i = 0; i < c->n; i++) {
		const char *sp = strchr(c->v[i].name, ' ');
		if (!sp)
			continue;
		size_t n = (size_t)(sp - c->v[i].name);
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = !strncmp(c->v[k].name, c->v[i].name, n + 1);
		if (seen)
			continue;
		st_buf_addf(b, "\t\t%.*s)\n\t\t\tCOMPREPLY=($(compgen -W '", (int)n, c->v[i].name);
		bool first = true;
		for (size_t k = i; k < c->n; k++)
			if (!strncmp(c->v[k].name, c->v[i].name, n + 1)) {
				st_buf_addf(b, "%s%s", first ? "" : " ", c->v[k].name + n + 1);
				first = false;
			}
		st_buf_adds(b, "' -- \"$cur\"))\n\t\t\treturn\n\t\t\t;;\n");
	}
	st_buf_addf(b, "\t\thelp)\n\t\t\tCOMPREPLY=($(compgen -W '");
	first_words(c, b);
	st_buf_adds(b, "' -- \"$cur\"))\n\t\t\treturn\n\t\t\t;;\n");
	st_buf_adds(b, "\t\tesac\n\tfi\n"
		       "\tkey=${words[0]}\n"
		       "\t[[ ${#words[@]} -gt 1 ]] && case \"${words[0]} ${words[1]}\" in\n");
	for (size_t i = 0; i < c->n; i++)
		if (strchr(c->v[i].name, ' '))
			st_buf_addf(b, "\t\t'%s') key=\"${words[0]} ${words[1]}\" ;;\n",
				    c->v[i].name);
	st_buf_adds(b, "\tesac\n"
		       "\tif [[ $cur == -* ]]; then\n"
		       "\t\tcase $key in\n");
	for (size_t i = 0; i < c->n; i++) {
		const struct verb_info *f = flags_of(c, &c->v[i]);
		if (!f->nflags)
			continue;
		st_buf_addf(b, "\t\t'%s') COMPREPLY=($(compgen -W '", c->v[i].name);
		for (size_t k = 0; k < f->nflags; k++) {
			if (f->flags[k].short_name)
				st_buf_addf(b, "-%c ", f->flags[k].short_name);
			st_buf_addf(b, "--%s%s", f->flags[k].long_name,
				    k + 1 < f->nflags ? " " : "");
		}
		st_buf_adds(b, "' -- \"$cur\")) ;;\n");
	}
	st_buf_adds(b, "\t\tesac\n"
		       "\t\treturn\n"
		       "\tfi\n"
		       "\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
		       "}\n"
		       "complete -o filenames -F _strata strata\n");
}

static void gen_zsh(const struct catalog *c, struct st_buf *b)
{
	st_buf_adds(b, "#compdef strata\n"
		       "# zsh completion for strata (strata completion zsh)\n"
		       "_strata() {\n"
		       "\tlocal -a words_ cmds flags\n"
		       "\tlocal i w key\n"
		       "\tfor ((i = 2; i < CURRENT; i++)); do\n"
		       "\t\tw=${words[i]}\n"
		       "\t\tif [[ $w == --root ]]; then ((i++)); continue; fi\n"
		       "\t\t[[ $w == -* ]] || words_+=(\"$w\")\n"
		       "\tdone\n"
		       "\tif ((${#words_} == 0)); then\n"
		       "\t\tcmds=(\n");
	for (size_t i = 0; i < c->n; i++) {
		if (strchr(c->v[i].name, ' '))
			continue;
		st_buf_adds(b, "\t\t\t");
		st_autofree char *item = st_xasprintf("%s:%s", c->v[i].name, c->v[i].help);
		add_quoted(b, item);
		st_buf_addch(b, '\n');
	}
	struct st_buf groups = ST_BUF_INIT;
	for (size_t i = 0; i < c->n; i++) {
		const char *sp = strchr(c->v[i].name, ' ');
		if (!sp)
			continue;
		size_t n = (size_t)(sp - c->v[i].name);
		st_autofree char *g = st_xasprintf(" %.*s:", (int)n, c->v[i].name);
		if (strstr(groups.data ? groups.data : "", g))
			continue;
		st_buf_adds(&groups, g);
		st_buf_addf(b, "\t\t\t'%.*s:%.*s commands'\n", (int)n, c->v[i].name, (int)n,
			    c->v[i].name);
	}
	st_buf_release(&groups);
	st_buf_adds(b, "\t\t)\n"
		       "\t\t_describe command cmds\n"
		       "\t\treturn\n"
		       "\tfi\n"
		       "\tif ((${#words_} == 1)) && [[ $words_[1] == help ]]; then\n"
		       "\t\tcompadd -- ");
	first_words(c, b);
	st_buf_adds(b, "\n\t\treturn\n\tfi\n"
		       "\tif ((${#words_} == 1)); then\n"
		       "\t\tcase $words_[1] in\n");
	for (size_t i = 0; i < c->n; i++) {
		const char *sp = strchr(c->v[i].name, ' ');
		if (!sp)
			continue;
		size_t n = (size_t)(sp - c->v[i].name);
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = !strncmp(c->v[k].name, c->v[i].name, n + 1);
		if (seen)
			continue;
		st_buf_addf(b, "\t\t%.*s)\n\t\t\tcmds=(\n", (int)n, c->v[i].name);
		for (size_t k = i; k < c->n; k++)
			if (!strncmp(c->v[k].name, c->v[i].name, n + 1)) {
				st_autofree char *item =
				    st_xasprintf("%s:%s", c->v[k].name + n + 1, c->v[k].help);
				st_buf_adds(b, "\t\t\t\t");
				add_quoted(b, item);
				st_buf_addch(b, '\n');
			}
		st_buf_adds(b, "\t\t\t)\n\t\t\t_describe command cmds\n\t\t\treturn\n\t\t\t;;\n");
	}
	st_buf_adds(b, "\t\tesac\n\tfi\n"
		       "\tkey=$words_[1]\n"
		       "\t((${#words_} > 1)) && case \"$words_[1] $words_[2]\" in\n");
	for (size_t i = 0; i < c->n; i++)
		if (strchr(c->v[i].name, ' '))
			st_buf_addf(b, "\t\t'%s') key=\"$words_[1] $words_[2]\" ;;\n",
				    c->v[i].name);
	st_buf_adds(b, "\tesac\n"
		       "\tif [[ $PREFIX == -* ]]; then\n"
		       "\t\tcase $key in\n");
	for (size_t i = 0; i < c->n; i++) {
		const struct verb_info *f = flags_of(c, &c->v[i]);
		if (!f->nflags)
			continue;
		st_buf_addf(b, "\t\t'%s')\n\t\t\tflags=(\n", c->v[i].name);
		for (size_t k = 0; k < f->nflags; k++) {
			st_autofree char *item =
			    st_xasprintf("--%s:%s", f->flags[k].long_name, f->flags[k].desc);
			st_buf_adds(b, "\t\t\t\t");
			add_quoted(b, item);
			st_buf_addch(b, '\n');
		}
		st_buf_adds(b, "\t\t\t)\n\t\t\t;;\n");
	}
	st_buf_adds(b, "\t\tesac\n"
		       "\t\t_describe option flags\n"
		       "\t\treturn\n"
		       "\tfi\n"
		       "\t_files\n"
		       "}\n"
		       "# autoloaded from $fpath: complete now; sourced: register\n"
		       "if [ \"$funcstack[1]\" = \"_strata\" ]; then\n"
		       "\t_strata \"$@\"\n"
		       "else\n"
		       "\tcompdef _strata strata\n"
		       "fi\n");
}

static void gen_fish(const struct catalog *c, struct st_buf *b)
{
	st_buf_adds(
	    b, "# fish completion for strata (strata completion fish)\n"
	       "complete -c strata -f\n"
	       "complete -c strata -n __fish_use_subcommand -l root -r -d 'The store directory'\n");
	for (size_t i = 0; i < c->n; i++) {
		const char *sp = strchr(c->v[i].name, ' ');
		st_autofree char *group =
		    sp ? st_xstrndup(c->v[i].name, (size_t)(sp - c->v[i].name)) : NULL;
		/* the group word once, then each second word under it */
		bool seen = false;
		for (size_t k = 0; k < i && sp && !seen; k++)
			seen =
			    !strncmp(c->v[k].name, c->v[i].name, (size_t)(sp - c->v[i].name) + 1);
		if (sp && !seen)
			st_buf_addf(
			    b,
			    "complete -c strata -n __fish_use_subcommand -a %s -d '%s commands'\n",
			    group, group);
		st_buf_addf(b, "complete -c strata -n '%s%s' -a %s -d ",
			    sp ? "__fish_seen_subcommand_from " : "__fish_use_subcommand",
			    sp ? group : "", sp ? sp + 1 : c->v[i].name);
		add_quoted(b, c->v[i].help);
		st_buf_addch(b, '\n');
		const struct verb_info *f = flags_of(c, &c->v[i]);
		for (size_t k = 0; k < f->nflags; k++) {
			st_autofree char *cond =
			    sp ? st_xasprintf("__fish_seen_subcommand_from %s; and "
					      "__fish_seen_subcommand_from %s",
					      group, sp + 1)
			       : st_xasprintf("__fish_seen_subcommand_from %s", c->v[i].name);
			st_buf_addf(b, "complete -c strata -n '%s' -l %s", cond,
				    f->flags[k].long_name);
			if (f->flags[k].short_name)
				st_buf_addf(b, " -s %c", f->flags[k].short_name);
			st_buf_adds(b, f->flags[k].takes_value ? " -r -F -d " : " -d ");
			add_quoted(b, f->flags[k].desc);
			st_buf_addch(b, '\n');
		}
	}
}

int cmd_completion(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs("Usage: strata completion bash|zsh|fish\n\n"
		      "Generate a shell completion script\n\n"
		      "  bash: source <(strata completion bash)\n"
		      "  zsh:  strata completion zsh > \"${fpath[1]}/_strata\"\n"
		      "  fish: strata completion fish > ~/.config/fish/completions/strata.fish\n",
		      cli->out);
		return 0;
	}
	if (argc != 2)
		return st_cli_usage(
		    err, "\"completion\" requires exactly 1 argument: bash, zsh or fish");
	void (*gen)(const struct catalog *, struct st_buf *) = NULL;
	if (!strcmp(argv[1], "bash"))
		gen = gen_bash;
	else if (!strcmp(argv[1], "zsh"))
		gen = gen_zsh;
	else if (!strcmp(argv[1], "fish"))
		gen = gen_fish;
	if (!gen)
		return st_cli_usage(err, "unknown shell '%s': expected bash, zsh or fish", argv[1]);
	struct catalog c = { 0 };
	catalog_load(&c);
	struct st_buf b = ST_BUF_INIT;
	gen(&c, &b);
	fputs(b.data, cli->out);
	st_buf_release(&b);
	catalog_release(&c);
	return 0;
}
