/*
 * parser.c: the Dockerfile syntax tree, read as BuildKit's frontend/dockerfile/parser reads it:
 * parser directives, the escape character, continuation lines (comments and blank lines inside
 * them skipped), per-instruction argument parsers (JSON or shell form, ENV-style pairs, ...),
 * heredocs, and the s-expression dump of its test files.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile/internal.h"
#include "dockerfile/lex.h"
#include "util/cleanup.h"
#include "util/banned.h"

static bool is_ws(unsigned char c) /* Go's unicode.IsSpace for ASCII */
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_token_ws(unsigned char c) /* BuildKit's [\t\v\f\r ] */
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

int dockerfile_src_error(const struct src *s, int line, struct st_error **err, const char *fmt, ...)
{
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	if (line > 0)
		st_buf_addf(&b, "%s:%d: ", s->name, line);
	else
		st_buf_addf(&b, "%s: ", s->name);
	va_start(ap, fmt);
	st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (line > 0 && (size_t)line <= s->nlines) {
		const char *p = s->text + s->line_off[line - 1];
		const char *end = s->text + s->len;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n > 200)
			n = 200;
		st_buf_addf(&b, "\n %5d | %.*s", line, (int)n, p);
	}
	st_err(err, ST_E_PARSE, "%s", b.data);
	st_buf_release(&b);
	return -1;
}

/* ---- a minimal JSON reader: only "is this an array, of strings?" is asked of it ---- */

struct json {
	const char *p, *end;
	int depth;
};

static void json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_utf8(struct st_buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		st_buf_addch(b, (char)cp);
	} else if (cp < 0x800) {
		st_buf_addch(b, (char)(0xc0 | (cp >> 6)));
		st_buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		st_buf_addch(b, (char)(0xe0 | (cp >> 12)));
		st_buf_addch(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		st_buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		st_buf_addch(b, (char)(0xf0 | (cp >> 18)));
		st_buf_addch(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		st_buf_addch(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		st_buf_addch(b, (char)(0x80 | (cp & 0x3f)));
	}
}

static int json_hex4(struct json *j, uint32_t *v)
{
	if (j->end - j->p < 4)
		return -1;
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(j->p[i]);
		if (h < 0)
			return -1;
		*v = *v << 4 | (uint32_t)h;
	}
	j->p += 4;
	return 0;
}

/* A string at j->p (on the quote); decoded into 'out' when not NULL. */
static int json_string(struct json *j, struct st_buf *out)
{
	j->p++;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p++;
		if (c == '"')
			return 0;
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			if (out)
				st_buf_addch(out, (char)c);
			continue;
		}
		if (j->p >= j->end)
			return -1;
		char e = *j->p++;
		uint32_t cp;
		switch (e) {
		case '"':
		case '\\':
		case '/':
			cp = (uint32_t)e;
			break;
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u':
			if (json_hex4(j, &cp) < 0)
				return -1;
			if (cp >= 0xd800 && cp < 0xdc00) {
				uint32_t lo;
				const char *save = j->p;
				if (j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
					j->p += 2;
					if (json_hex4(j, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
						cp =
						    0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
						break;
					}
				}
				j->p = save;
				cp = 0xfffd;
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				cp = 0xfffd;
			}
			break;
		default:
			return -1;
		}
		if (out)
			put_utf8(out, cp);
	}
	return -1;
}

static int json_value(struct json *j);

static int json_number(struct json *j)
{
	const char *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end)
		return -1;
	if (*j->p == '0')
		j->p++;
	else if (*j->p >= '1' && *j->p <= '9')
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	else
		return -1;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return -1;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return -1;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	return j->p > s ? 0 : -1;
}

static int json_container(struct json *j, char close)
{
	if (++j->depth > 10000)
		return -1;
	j->p++;
	json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		json_ws(j);
		if (close == '}') {
			if (j->p >= j->end || *j->p != '"' || json_string(j, NULL) < 0)
				return -1;
			json_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return -1;
		}
		if (json_value(j) < 0)
			return -1;
		json_ws(j);
		if (j->p >= j->end)
			return -1;
		char c = *j->p++;
		if (c == close)
			break;
		if (c != ',')
			return -1;
	}
	j->depth--;
	return 0;
}

static int json_lit(struct json *j, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static int json_value(struct json *j)
{
	json_ws(j);
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '"':
		return json_string(j, NULL);
	case '[':
		return json_container(j, ']');
	case '{':
		return json_container(j, '}');
	case 't':
		return json_lit(j, "true");
	case 'f':
		return json_lit(j, "false");
	case 'n':
		return json_lit(j, "null");
	default:
		return json_number(j);
	}
}

enum json_res { JSON_NOT = 0, JSON_OK, JSON_NOT_STRINGS };

/*
 * BuildKit's parseJSON: "[" first, then the whole rest must be one JSON array (json.Unmarshal).
 * JSON_NOT_STRINGS for a valid array that holds anything but strings.
 */
static enum json_res parse_json_array(const char *rest, struct st_strv *items)
{
	while (*rest && is_ws((unsigned char)*rest))
		rest++;
	if (*rest != '[')
		return JSON_NOT;
	struct json j = { rest, rest + strlen(rest), 0 };
	if (json_value(&j) < 0)
		return JSON_NOT;
	json_ws(&j);
	if (j.p != j.end)
		return JSON_NOT;
	/* Valid: walk again collecting strings. */
	struct json k = { rest + 1, j.end, 0 };
	json_ws(&k);
	if (*k.p == ']')
		return JSON_OK;
	for (;;) {
		json_ws(&k);
		if (*k.p != '"')
			return JSON_NOT_STRINGS;
		struct st_buf b = ST_BUF_INIT;
		json_string(&k, &b);
		st_strv_push_owned(items, st_buf_detach(&b, NULL));
		json_ws(&k);
		if (*k.p++ == ']')
			return JSON_OK;
	}
}

/* ---- argument parsers (BuildKit's line_parsers.go) ---- */

struct node {
	struct st_strv args;
	bool json;
	bool legacy_pair;
	bool unknown;
	struct st_dockerfile_instr *sub;
};

/* Words with quotes and escapes kept (parseWords): for ENV, LABEL and ARG. */
static void parse_words(const char *rest, char esc, struct st_strv *out)
{
	enum { SPACES, WORD, QUOTE } phase = SPACES;
	struct st_buf w = ST_BUF_INIT;
	char quote = 0;
	bool blank_ok = false;
	size_t n = strlen(rest);
	for (size_t pos = 0; pos <= n; pos++) {
		char ch = pos < n ? rest[pos] : 0;
		if (phase == SPACES) {
			if (pos == n)
				break;
			if (is_ws((unsigned char)ch))
				continue;
			phase = WORD;
		}
		if ((phase == WORD || phase == QUOTE) && pos == n) {
			if (blank_ok || w.len)
				st_strv_push_owned(out, st_xstrdup(st_buf_str(&w)));
			break;
		}
		if (phase == WORD) {
			if (is_ws((unsigned char)ch)) {
				phase = SPACES;
				if (blank_ok || w.len)
					st_strv_push_owned(out, st_xstrdup(st_buf_str(&w)));
				st_buf_reset(&w);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = QUOTE;
			}
			if (ch == esc) {
				if (pos + 1 == n)
					continue; /* an escape at the end of the line is dropped */
				st_buf_addch(&w, ch);
				pos++;
				ch = rest[pos];
			}
			st_buf_addch(&w, ch);
			continue;
		}
		/* QUOTE */
		if (ch == quote)
			phase = WORD;
		if (ch == esc && quote != '\'') {
			if (pos + 1 == n) {
				phase = WORD;
				continue;
			}
			pos++;
			st_buf_addch(&w, ch);
			ch = rest[pos];
		}
		st_buf_addch(&w, ch);
	}
	st_buf_release(&w);
}

/* Split on runs of [\t\v\f\r ] like regexp.Split(rest, limit); limit 2 or -1. */
static void split_ws(const char *rest, int limit, struct st_strv *out)
{
	const char *p = rest;
	for (;;) {
		const char *q = p;
		while (*q && !is_token_ws((unsigned char)*q))
			q++;
		if (!*q || (limit > 0 && (int)out->n == limit - 1)) {
			st_strv_push_owned(out, st_xstrdup(p));
			return;
		}
		st_strv_push_owned(out, st_xstrndup(p, (size_t)(q - p)));
		while (*q && is_token_ws((unsigned char)*q))
			q++;
		p = q;
	}
}

static int parse_name_val(const char *rest, const char *key, char esc, struct node *n,
			  struct st_buf *msg)
{
	struct st_strv words = { 0 };
	parse_words(rest, esc, &words);
	int rc = 0;
	if (!words.n)
		goto out;
	if (!strchr(words.v[0], '=')) {
		struct st_strv parts = { 0 };
		split_ws(rest, 2, &parts);
		if (parts.n < 2) {
			st_buf_addf(msg, "%s must have two arguments", key);
			rc = -1;
		} else {
			st_strv_push_owned(&n->args, st_steal(&parts.v[0]));
			st_strv_push_owned(&n->args, st_steal(&parts.v[1]));
			n->legacy_pair = true;
		}
		st_strv_release(&parts);
		goto out;
	}
	for (size_t i = 0; i < words.n; i++) {
		char *eq = strchr(words.v[i], '=');
		if (!eq) {
			st_buf_addf(msg,
				    "Syntax error - can't find = in \"%s\". Must be of the form: "
				    "name=value",
				    words.v[i]);
			rc = -1;
			goto out;
		}
		if (eq == words.v[i]) {
			st_buf_addf(msg, "%s names can not be blank", key);
			rc = -1;
			goto out;
		}
		st_strv_push_owned(&n->args, st_xstrndup(words.v[i], (size_t)(eq - words.v[i])));
		st_strv_push_owned(&n->args, st_xstrdup(eq + 1));
	}
out:
	st_strv_release(&words);
	return rc;
}

static int parse_maybe_json(const char *rest, struct node *n, struct st_buf *msg)
{
	if (!*rest)
		return 0;
	enum json_res r = parse_json_array(rest, &n->args);
	if (r == JSON_OK) {
		n->json = true;
		return 0;
	}
	st_strv_release(&n->args);
	if (r == JSON_NOT_STRINGS) {
		st_buf_adds(
		    msg, "when using JSON array syntax, arrays must be comprised of strings only");
		return -1;
	}
	st_strv_push_owned(&n->args, st_xstrdup(rest));
	return 0;
}

static int parse_maybe_json_to_list(const char *rest, struct node *n, struct st_buf *msg)
{
	enum json_res r = parse_json_array(rest, &n->args);
	if (r == JSON_OK) {
		n->json = true;
		return 0;
	}
	st_strv_release(&n->args);
	if (r == JSON_NOT_STRINGS) {
		st_buf_adds(
		    msg, "when using JSON array syntax, arrays must be comprised of strings only");
		return -1;
	}
	if (*rest)
		split_ws(rest, -1, &n->args);
	return 0;
}

static const struct {
	const char *name;
	enum st_dockerfile_kind kind;
} keywords[] = {
	{ "from", ST_DF_FROM },
	{ "run", ST_DF_RUN },
	{ "cmd", ST_DF_CMD },
	{ "label", ST_DF_LABEL },
	{ "maintainer", ST_DF_MAINTAINER },
	{ "expose", ST_DF_EXPOSE },
	{ "env", ST_DF_ENV },
	{ "add", ST_DF_ADD },
	{ "copy", ST_DF_COPY },
	{ "entrypoint", ST_DF_ENTRYPOINT },
	{ "volume", ST_DF_VOLUME },
	{ "user", ST_DF_USER },
	{ "workdir", ST_DF_WORKDIR },
	{ "arg", ST_DF_ARG },
	{ "onbuild", ST_DF_ONBUILD },
	{ "stopsignal", ST_DF_STOPSIGNAL },
	{ "healthcheck", ST_DF_HEALTHCHECK },
	{ "shell", ST_DF_SHELL },
};

const char *st_dockerfile_kind_name(enum st_dockerfile_kind kind)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(*keywords); i++)
		if (keywords[i].kind == kind)
			return keywords[i].name;
	return "";
}

static enum st_dockerfile_kind kind_of(const char *kw)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(*keywords); i++)
		if (!strcasecmp(keywords[i].name, kw))
			return keywords[i].kind;
	return ST_DF_UNKNOWN;
}

/* BuildKit's extractBuilderFlags: leading "--x" words; returns the rest of the line. */
static const char *extract_flags(const char *line, struct st_strv *flags)
{
	enum { SPACES, WORD, QUOTE } phase = SPACES;
	struct st_buf w = ST_BUF_INIT;
	char quote = 0;
	bool blank_ok = false;
	size_t n = strlen(line);
	const char *rest = line + n;
	for (size_t pos = 0; pos <= n; pos++) {
		char ch = pos < n ? line[pos] : 0;
		if (phase == SPACES) {
			if (pos == n)
				break;
			if (is_ws((unsigned char)ch))
				continue;
			if (ch != '-' || pos + 1 == n || line[pos + 1] != '-') {
				rest = line + pos;
				goto out;
			}
			phase = WORD;
		}
		if ((phase == WORD || phase == QUOTE) && pos == n) {
			if (strcmp(st_buf_str(&w), "--") != 0 && (blank_ok || w.len))
				st_strv_push_owned(flags, st_xstrdup(st_buf_str(&w)));
			break;
		}
		if (phase == WORD) {
			if (is_ws((unsigned char)ch)) {
				phase = SPACES;
				if (!strcmp(st_buf_str(&w), "--")) {
					rest = line + pos;
					goto out;
				}
				if (blank_ok || w.len)
					st_strv_push_owned(flags, st_xstrdup(st_buf_str(&w)));
				st_buf_reset(&w);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = QUOTE;
				continue;
			}
			if (ch == '\\') {
				if (pos + 1 == n)
					continue;
				pos++;
				ch = line[pos];
			}
			st_buf_addch(&w, ch);
			continue;
		}
		if (ch == quote) {
			phase = WORD;
			continue;
		}
		if (ch == '\\') {
			if (pos + 1 == n) {
				phase = WORD;
				continue;
			}
			pos++;
			ch = line[pos];
		}
		st_buf_addch(&w, ch);
	}
out:
	st_buf_release(&w);
	return rest;
}

static char *trim_dup(const char *s)
{
	while (*s && is_ws((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && is_ws((unsigned char)s[n - 1]))
		n--;
	return st_xstrndup(s, n);
}

static int node_from_line(const char *line, char esc, int depth, struct st_dockerfile_instr *in,
			  struct st_buf *msg);

static int dispatch(enum st_dockerfile_kind kind, const char *rest, char esc, int depth,
		    struct node *n, struct st_buf *msg)
{
	switch (kind) {
	case ST_DF_ADD:
	case ST_DF_COPY:
	case ST_DF_VOLUME:
		return parse_maybe_json_to_list(rest, n, msg);
	case ST_DF_CMD:
	case ST_DF_ENTRYPOINT:
	case ST_DF_RUN:
	case ST_DF_SHELL:
		return parse_maybe_json(rest, n, msg);
	case ST_DF_ARG:
		parse_words(rest, esc, &n->args);
		return 0;
	case ST_DF_ENV:
		return parse_name_val(rest, "ENV", esc, n, msg);
	case ST_DF_LABEL:
		return parse_name_val(rest, "LABEL", esc, n, msg);
	case ST_DF_EXPOSE:
	case ST_DF_FROM:
		if (*rest)
			split_ws(rest, -1, &n->args);
		return 0;
	case ST_DF_MAINTAINER:
	case ST_DF_STOPSIGNAL:
	case ST_DF_USER:
	case ST_DF_WORKDIR:
		if (*rest)
			st_strv_push_owned(&n->args, st_xstrdup(rest));
		return 0;
	case ST_DF_HEALTHCHECK: {
		size_t sep = 0;
		while (rest[sep] && !is_ws((unsigned char)rest[sep]))
			sep++;
		if (!sep)
			return 0;
		size_t nx = sep;
		while (rest[nx] && is_ws((unsigned char)rest[nx]))
			nx++;
		struct node cmd = { 0 };
		if (parse_maybe_json(rest + nx, &cmd, msg) < 0)
			return -1;
		st_strv_push_owned(&n->args, st_xstrndup(rest, sep));
		for (size_t i = 0; i < cmd.args.n; i++)
			st_strv_push_owned(&n->args, st_steal(&cmd.args.v[i]));
		n->json = cmd.json;
		st_strv_release(&cmd.args);
		return 0;
	}
	case ST_DF_ONBUILD: {
		if (!*rest)
			return 0;
		if (depth > 0) {
			/* BuildKit recurses without bound; one level is all ONBUILD allows anyway.
			 */
			st_buf_adds(msg, "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
			return -1;
		}
		n->sub = st_xcalloc(1, sizeof(*n->sub));
		return node_from_line(rest, esc, depth + 1, n->sub, msg);
	}
	default:
		/* an unknown instruction: BuildKit's parseIgnore leaves one empty node */
		n->unknown = true;
		st_strv_push_owned(&n->args, st_xstrdup(""));
		return 0;
	}
}

static int node_from_line(const char *line, char esc, int depth, struct st_dockerfile_instr *in,
			  struct st_buf *msg)
{
	st_autofree char *t = trim_dup(line);
	size_t k = 0;
	while (t[k] && !is_token_ws((unsigned char)t[k]))
		k++;
	in->keyword = st_xstrndup(t, k);
	in->original = st_xstrdup(line);
	in->kind = kind_of(in->keyword);
	const char *after = t + k;
	while (*after && is_token_ws((unsigned char)*after))
		after++;
	struct st_strv flags = { 0 };
	st_autofree char *rest = NULL;
	if (*after || k < strlen(t)) {
		const char *r = extract_flags(after, &flags);
		rest = trim_dup(r);
	} else {
		rest = st_xstrdup("");
	}
	if (flags.n) {
		in->flags = st_xcalloc(flags.n, sizeof(*in->flags));
		for (size_t i = 0; i < flags.n; i++) {
			const char *f = flags.v[i] + 2; /* extract_flags only takes "--" words */
			const char *eq = strchr(f, '=');
			in->flags[i].name = eq ? st_xstrndup(f, (size_t)(eq - f)) : st_xstrdup(f);
			in->flags[i].value = eq ? st_xstrdup(eq + 1) : NULL;
		}
		in->nflags = flags.n;
	}
	st_strv_release(&flags);
	struct node n = { 0 };
	int rc = dispatch(in->kind, rest, esc, depth, &n, msg);
	in->json = n.json;
	in->legacy_pair = n.legacy_pair;
	in->sub = n.sub;
	in->args = n.args.v;
	in->nargs = n.args.n;
	if (!in->args)
		in->args = st_xcalloc(1, sizeof(char *));
	return rc;
}

/* ---- heredocs ---- */

static bool heredoc_allowed(const struct st_dockerfile_instr *in)
{
	if (in->kind == ST_DF_ONBUILD && in->sub)
		in = in->sub;
	return (in->kind == ST_DF_RUN || in->kind == ST_DF_COPY || in->kind == ST_DF_ADD) &&
	       !in->json;
}

static size_t count_quotes(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\'' || *s == '"';
	return n;
}

/* BuildKit's ParseHeredoc for one word: ^(\d*)<<(-?)([^<]*)$ and a one-word delimiter. */
static int heredoc_from_word(const char *w, struct st_dockerfile_heredoc *h, bool *found,
			     struct st_error **err)
{
	*found = false;
	const char *p = w;
	unsigned long fd = 0;
	while (*p >= '0' && *p <= '9') {
		if (fd < 100000000)
			fd = fd * 10 + (unsigned long)(*p - '0');
		p++;
	}
	if (p[0] != '<' || p[1] != '<')
		return 0;
	p += 2;
	bool chomp = *p == '-';
	if (chomp)
		p++;
	if (!*p || strchr(p, '<'))
		return 0;
	struct st_dockerfile_lex_opts o = { .skip_unset = true };
	char **words = NULL, **raw = NULL;
	size_t nw = 0, nr = 0;
	if (st_dockerfile_lex(p, NULL, '\\', &o, NULL, &words, &nw, err) < 0)
		return -1;
	if (nw != 1) {
		st_dockerfile_strv_free(words);
		return 0;
	}
	o.raw_quotes = true;
	if (st_dockerfile_lex(p, NULL, '\\', &o, NULL, &raw, &nr, err) < 0) {
		st_dockerfile_strv_free(words);
		return -1;
	}
	if (nr != 1) {
		st_dockerfile_strv_free(words);
		st_dockerfile_strv_free(raw);
		return st_err(err, ST_E_PARSE,
			      "internal lexing of heredoc produced inconsistent results: %s", p);
	}
	h->expand = count_quotes(words[0]) == count_quotes(raw[0]);
	h->name = st_steal(&words[0]);
	h->chomp = chomp;
	h->fd = (unsigned)fd;
	st_dockerfile_strv_free(words);
	st_dockerfile_strv_free(raw);
	*found = true;
	return 0;
}

bool st_dockerfile_heredoc_is_command(const char *cmd)
{
	struct st_dockerfile_heredoc h = { 0 };
	bool found = false;
	struct st_error *ignored = NULL;
	if (heredoc_from_word(cmd, &h, &found, &ignored) < 0)
		st_error_free(ignored); /* MustParseHeredoc: an error is "not a heredoc" */
	free(h.name);
	return found;
}

static int heredocs_from_line(const char *line, struct st_dockerfile_heredoc **out, size_t *nout,
			      struct st_error **err)
{
	struct st_dockerfile_lex_opts o = { .raw_quotes = true,
					    .raw_escapes = true,
					    .skip_unset = true };
	char **words = NULL;
	size_t nw = 0;
	struct st_error *ignored = NULL;
	if (st_dockerfile_lex(line, NULL, '\\', &o, NULL, &words, &nw, &ignored) < 0) {
		st_error_free(ignored); /* BuildKit ignores this error: no heredocs then */
		return 0;
	}
	int rc = 0;
	for (size_t i = 0; i < nw; i++) {
		struct st_dockerfile_heredoc h = { 0 };
		bool found;
		if (!strstr(words[i], "<<"))
			continue;
		if (heredoc_from_word(words[i], &h, &found, err) < 0) {
			rc = -1;
			break;
		}
		if (!found)
			continue;
		/* Grow geometrically (at each power of two): a line may hold thousands. */
		if ((*nout & (*nout - 1)) == 0)
			*out = st_xrealloc(*out, (*nout ? 2 * *nout : 1) * sizeof(**out));
		(*out)[(*nout)++] = h;
	}
	st_dockerfile_strv_free(words);
	return rc;
}

static char *chomp_tabs(const char *s)
{
	struct st_buf b = ST_BUF_INIT;
	bool bol = true;
	for (; *s; s++) {
		if (bol && *s == '\t')
			continue;
		bol = *s == '\n';
		st_buf_addch(&b, *s);
	}
	return st_buf_detach(&b, NULL);
}

/* ---- the line loop (BuildKit's parser.Parse) ---- */

struct directives {
	char esc;
	bool done;
	bool seen_escape, seen_syntax, seen_check;
};

static bool is_dir_space(char c) /* RE2's \s */
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* reDirectives: ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ on a line without its newline. */
static int possible_directive(struct directives *d, struct st_dockerfile *df, const char *p,
			      size_t n, struct st_buf *msg)
{
	if (d->done)
		return 0;
	size_t i = 0;
	if (i >= n || p[i] != '#')
		goto not ;
	i++;
	while (i < n && is_dir_space(p[i]))
		i++;
	size_t ks = i;
	if (i >= n || !((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')))
		goto not ;
	while (i < n && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
			 (p[i] >= '0' && p[i] <= '9')))
		i++;
	size_t ke = i;
	while (i < n && is_dir_space(p[i]))
		i++;
	if (i >= n || p[i] != '=')
		goto not ;
	i++;
	while (i < n && is_dir_space(p[i]))
		i++;
	size_t vs = i, ve = n;
	while (ve > vs && is_dir_space(p[ve - 1]))
		ve--;
	if (ve == vs)
		goto not ;
	for (size_t j = vs; j < ve; j++)
		if (p[j] == '\n')
			goto not ;
	char key[16];
	size_t kl = ke - ks;
	if (kl >= sizeof(key))
		goto not ;
	for (size_t j = 0; j < kl; j++)
		key[j] = (char)(p[ks + j] | 0x20);
	key[kl] = 0;
	bool *seen;
	char **slot = NULL;
	if (!strcmp(key, "escape")) {
		seen = &d->seen_escape;
	} else if (!strcmp(key, "syntax")) {
		seen = &d->seen_syntax;
		slot = &df->syntax;
	} else if (!strcmp(key, "check")) {
		seen = &d->seen_check;
		slot = &df->check;
	} else {
		goto not ;
	}
	if (*seen) {
		st_buf_addf(msg, "only one %s parser directive can be used", key);
		return -1;
	}
	*seen = true;
	if (slot) {
		*slot = st_xstrndup(p + vs, ve - vs);
		return 0;
	}
	if (ve - vs != 1 || (p[vs] != '\\' && p[vs] != '`')) {
		st_buf_addf(msg, "invalid escape token '%.*s' does not match ` or \\",
			    (int)(ve - vs), p + vs);
		return -1;
	}
	d->esc = p[vs];
	return 0;
	not : d->done = true;
	return 0;
}

struct line {
	const char *p;
	size_t n;  /* without the trailing \r\n run */
	size_t nr; /* with it */
};

static size_t trim_newline(const char *p, size_t n)
{
	while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	return n;
}

static bool line_is_comment(const char *p, size_t n)
{
	n = trim_newline(p, n);
	size_t i = 0;
	while (i < n && is_ws((unsigned char)p[i]))
		i++;
	return i < n && p[i] == '#';
}

/* Strip the continuation escape; true when the line continues. */
static bool trim_continuation(struct st_buf *l, char esc)
{
	size_t n = l->len;
	while (n && (l->data[n - 1] == ' ' || l->data[n - 1] == '\t'))
		n--;
	if (!n || l->data[n - 1] != esc)
		return false;
	if (n >= 2 && l->data[n - 2] == esc)
		return false;
	st_buf_setlen(l, n - 1);
	return true;
}

int st_dockerfile_parse_flags(const char *name, const char *text, size_t len,
			      enum st_dockerfile_parse_flags flags, struct st_dockerfile **out,
			      struct st_error **err)
{
	st_auto(st_dockerfile) struct st_dockerfile *df = st_xcalloc(1, sizeof(*df));
	df->name = st_xstrdup(name ? name : "Dockerfile");
	struct src s = { .name = df->name, .text = text, .len = len };
	struct directives d = { .esc = '\\' };
	struct st_buf msg = ST_BUF_INIT;
	struct st_buf cur = ST_BUF_INIT;
	size_t cap = 0;
	int rc = -1;

	/* Index the lines once: errors quote them, heredocs read them. */
	size_t lcap = 64;
	s.line_off = st_xmalloc(lcap * sizeof(size_t));
	for (size_t off = 0; off < len;) {
		if (s.nlines == lcap) {
			lcap *= 2;
			s.line_off = st_xrealloc(s.line_off, lcap * sizeof(size_t));
		}
		s.line_off[s.nlines++] = off;
		const char *nl = memchr(text + off, '\n', len - off);
		off = nl ? (size_t)(nl - text) + 1 : len;
	}
	/* Every word is a C string: a NUL would silently cut the line there, so refuse it. */
	const char *nul = memchr(text, '\0', len);
	if (nul) {
		size_t at = (size_t)(nul - text), l = 0;
		while (l + 1 < s.nlines && s.line_off[l + 1] <= at)
			l++;
		dockerfile_src_error(&s, (int)l + 1, err,
				     "NUL byte at column %zu: a Dockerfile must be text",
				     at - s.line_off[l] + 1);
		goto done;
	}
	size_t li = 0;
#define LINE_AT(i)                                                                                 \
	({                                                                                         \
		size_t o_ = s.line_off[i];                                                         \
		size_t e_ = (i) + 1 < s.nlines ? s.line_off[(i) + 1] : len;                        \
		(struct line){ text + o_, trim_newline(text + o_, e_ - o_), e_ - o_ };             \
	})

	while (li < s.nlines) {
		struct line ln = LINE_AT(li);
		const char *p = ln.p;
		size_t n = ln.n;
		if (li == 0 && n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) {
			p += 3;
			n -= 3;
		}
		while (n && is_ws((unsigned char)*p)) {
			p++;
			n--;
		}
		if (possible_directive(&d, df, p, n, &msg) < 0) {
			dockerfile_src_error(&s, (int)li + 1, err, "%s", msg.data);
			goto done;
		}
		li++;
		int start = (int)li;
		st_buf_reset(&cur);
		if (!(n && p[0] == '#'))
			st_buf_add(&cur, p, n);
		bool more = trim_continuation(&cur, d.esc);
		if (!more && cur.len == 0)
			continue;
		bool empty_cont = false;
		while (more && li < s.nlines) {
			struct line c = LINE_AT(li);
			if (possible_directive(&d, df, c.p, c.n, &msg) < 0) {
				dockerfile_src_error(&s, (int)li, err, "%s", msg.data);
				goto done;
			}
			li++;
			if (line_is_comment(c.p, c.n))
				continue;
			size_t i = 0;
			while (i < c.n && is_ws((unsigned char)c.p[i]))
				i++;
			if (i == c.n) {
				empty_cont = true;
				continue;
			}
			size_t before = cur.len;
			st_buf_add(&cur, c.p, c.n);
			struct st_buf tail = ST_BUF_INIT;
			st_buf_add(&tail, cur.data + before, cur.len - before);
			more = trim_continuation(&tail, d.esc);
			st_buf_setlen(&cur, before);
			st_buf_add(&cur, tail.data, tail.len);
			st_buf_release(&tail);
		}
		if (empty_cont)
			dockerfile_diag_add(&df->diags, &df->ndiags, "NoEmptyContinuation", start,
					    (int)li, NULL, "Empty continuation line");

		if (df->ninstrs == cap) {
			cap = cap ? cap * 2 : 16;
			df->instrs = st_xrealloc(df->instrs, cap * sizeof(*df->instrs));
		}
		struct st_dockerfile_instr *in = &df->instrs[df->ninstrs++];
		memset(in, 0, sizeof(*in));
		in->start_line = start;
		in->end_line = (int)li;
		st_buf_reset(&msg);
		if (node_from_line(cur.data, d.esc, 0, in, &msg) < 0) {
			dockerfile_src_error(&s, start, err, "%s", msg.data);
			goto done;
		}
		if (in->sub) {
			in->sub->start_line = in->start_line;
			in->sub->end_line = in->end_line;
		}
		/* Lexing the line is the slow part: only a line with "<<" can start a heredoc. */
		if (heredoc_allowed(in) && strstr(cur.data, "<<")) {
			struct st_dockerfile_heredoc *hd = NULL;
			size_t nhd = 0;
			struct st_error *herr = NULL;
			if (heredocs_from_line(cur.data, &hd, &nhd, &herr) < 0) {
				dockerfile_src_error(&s, start, err, "%s", herr->msg);
				st_error_free(herr);
				free(hd);
				goto done;
			}
			struct st_dockerfile_instr *target = in->sub ? in->sub : in;
			target->heredocs = hd;
			target->nheredocs = nhd;
			for (size_t h = 0; h < nhd; h++) {
				bool terminated = false;
				struct st_buf body = ST_BUF_INIT;
				while (li < s.nlines) {
					struct line b = LINE_AT(li);
					li++;
					const char *t = b.p;
					size_t tn = b.n;
					if (hd[h].chomp)
						while (tn && *t == '\t') {
							t++;
							tn--;
						}
					if (tn == strlen(hd[h].name) &&
					    !memcmp(t, hd[h].name, tn)) {
						terminated = true;
						break;
					}
					st_buf_add(&body, b.p, b.nr);
				}
				if (!terminated) {
					st_buf_release(&body);
					dockerfile_src_error(&s, start, err,
							     "unterminated heredoc '%s'",
							     hd[h].name);
					goto done;
				}
				if (hd[h].chomp) {
					hd[h].content = chomp_tabs(st_buf_str(&body));
					st_buf_release(&body);
				} else {
					hd[h].content = st_buf_detach(&body, NULL);
				}
			}
			in->end_line = (int)li;
			if (in->sub)
				in->sub->end_line = in->end_line;
		}
	}
#undef LINE_AT
	df->escape = d.esc;
	if (!df->ninstrs) {
		dockerfile_src_error(
		    &s, 0, err, "file with no instructions: an empty Dockerfile cannot be built");
		goto done;
	}
	if (!(flags & ST_DOCKERFILE_PARSE_AST_ONLY) && dockerfile_df_check(df, &s, err) < 0)
		goto done;
	*out = st_steal(&df);
	rc = 0;
done:
	st_buf_release(&msg);
	st_buf_release(&cur);
	free(s.line_off);
	return rc;
}

int st_dockerfile_parse(const char *name, const char *text, size_t len, struct st_dockerfile **out,
			struct st_error **err)
{
	return st_dockerfile_parse_flags(name, text, len, 0, out, err);
}

void dockerfile_instr_release(struct st_dockerfile_instr *in)
{
	free(in->keyword);
	free(in->original);
	for (size_t i = 0; i < in->nflags; i++) {
		free(in->flags[i].name);
		free(in->flags[i].value);
	}
	free(in->flags);
	if (in->args)
		for (size_t i = 0; i < in->nargs; i++)
			free(in->args[i]);
	free(in->args);
	for (size_t i = 0; i < in->nheredocs; i++) {
		free(in->heredocs[i].name);
		free(in->heredocs[i].content);
	}
	free(in->heredocs);
	if (in->sub) {
		dockerfile_instr_release(in->sub);
		free(in->sub);
	}
}

void st_dockerfile_free(struct st_dockerfile *df)
{
	if (!df)
		return;
	for (size_t i = 0; i < df->ninstrs; i++)
		dockerfile_instr_release(&df->instrs[i]);
	free(df->instrs);
	dockerfile_diags_free(df->diags, df->ndiags);
	for (size_t i = 0; i < df->nstages; i++) {
		free(df->stages[i].name);
		free(df->stages[i].base);
		free(df->stages[i].platform);
		free(df->stages[i].instrs);
	}
	free(df->stages);
	free(df->meta_args);
	free(df->name);
	free(df->syntax);
	free(df->check);
	free(df);
}

void st_dockerfile_freep(struct st_dockerfile **df)
{
	st_dockerfile_free(*df);
	*df = NULL;
}

/* ---- the dump ---- */

/* Go's strconv.Quote, for UTF-8 text (printable multi-byte runes kept as they are). */
static void go_quote(struct st_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	st_buf_addch(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		unsigned char c = *p;
		if (c >= 0x80) {
			size_t w = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
			bool ok = w > 0;
			for (size_t i = 1; ok && i < w; i++)
				ok = (p[i] & 0xc0) == 0x80;
			uint32_t cp = 0;
			if (ok) {
				cp = w == 2   ? (uint32_t)(c & 0x1f)
				     : w == 3 ? (uint32_t)(c & 0x0f)
					      : (uint32_t)(c & 0x07);
				for (size_t i = 1; i < w; i++)
					cp = cp << 6 | (p[i] & 0x3f);
				static const uint32_t minv[] = { 0, 0, 0x80, 0x800, 0x10000 };
				ok = cp >= minv[w] && cp <= 0x10ffff &&
				     !(cp >= 0xd800 && cp < 0xe000);
			}
			if (!ok) {
				st_buf_addf(b, "\\x%c%c", hex[c >> 4], hex[c & 15]);
				p++;
			} else if (cp < 0xa0 || cp == 0xad || cp == 0xfeff ||
				   (cp >= 0x2028 && cp <= 0x2029) ||
				   (cp >= 0x200b && cp <= 0x200f)) {
				st_buf_addf(b, "\\u%04x", cp); /* not printable for Go */
				p += w;
			} else {
				st_buf_add(b, p, w);
				p += w;
			}
			continue;
		}
		switch (c) {
		case '"':
			st_buf_adds(b, "\\\"");
			break;
		case '\\':
			st_buf_adds(b, "\\\\");
			break;
		case '\a':
			st_buf_adds(b, "\\a");
			break;
		case '\b':
			st_buf_adds(b, "\\b");
			break;
		case '\f':
			st_buf_adds(b, "\\f");
			break;
		case '\n':
			st_buf_adds(b, "\\n");
			break;
		case '\r':
			st_buf_adds(b, "\\r");
			break;
		case '\t':
			st_buf_adds(b, "\\t");
			break;
		case '\v':
			st_buf_adds(b, "\\v");
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				st_buf_addf(b, "\\x%c%c", hex[c >> 4], hex[c & 15]);
			else
				st_buf_addch(b, (char)c);
		}
		p++;
	}
	st_buf_addch(b, '"');
}

static void dump_instr(const struct st_dockerfile_instr *in, struct st_buf *b)
{
	for (const char *k = in->keyword; *k; k++)
		st_buf_addch(b, (*k >= 'A' && *k <= 'Z') ? (char)(*k | 0x20) : *k);
	if (in->nflags) {
		st_buf_adds(b, " [");
		for (size_t i = 0; i < in->nflags; i++) {
			if (i)
				st_buf_addch(b, ' ');
			struct st_buf f = ST_BUF_INIT;
			if (in->flags[i].value)
				st_buf_addf(&f, "--%s=%s", in->flags[i].name, in->flags[i].value);
			else
				st_buf_addf(&f, "--%s", in->flags[i].name);
			go_quote(b, st_buf_str(&f));
			st_buf_release(&f);
		}
		st_buf_addch(b, ']');
	}
	if (in->sub) {
		st_buf_adds(b, " (");
		dump_instr(in->sub, b);
		st_buf_addch(b, ')');
	}
	/*
	 * Since BuildKit 0.10 an ENV or LABEL pair is three nodes, name, value and the
	 * separator it was written with; 'args' keeps the pairs alone for the builder.
	 */
	bool pairs = in->kind == ST_DF_ENV || in->kind == ST_DF_LABEL;
	for (size_t i = 0; i < in->nargs; i++) {
		st_buf_addch(b, ' ');
		go_quote(b, in->args[i]);
		if (pairs && i % 2 == 1)
			st_buf_adds(b, in->legacy_pair ? " \"\"" : " \"=\"");
	}
}

void st_dockerfile_dump(const struct st_dockerfile *df, struct st_buf *out)
{
	for (size_t i = 0; i < df->ninstrs; i++) {
		st_buf_addch(out, '(');
		dump_instr(&df->instrs[i], out);
		st_buf_adds(out, ")\n");
	}
}
