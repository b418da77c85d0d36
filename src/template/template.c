/*
 * template.c: lexer, parser and evaluator for the Go text/template subset in template.h.
 *
 * The shape follows Go's text/template/parse: the text is cut into tokens, a recursive
 * descent parser builds a tree of lists, actions, if/range/with nodes, pipelines, commands
 * and operands, and the evaluator walks it with "dot" and a stack of variables. Values are
 * jansson references; NULL stands for Go's invalid reflect.Value (a missing key), which is
 * what prints as "<no value>".
 *
 * Depth is bounded (MAX_DEPTH) so that hostile nesting fails with an error instead of
 * exhausting the stack; nothing else can loop, since range only walks finite values.
 */
#include "template/template.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/banned.h"

#define MAX_DEPTH 100

/* ---------------------------------------------------------------------------------------- */
/* Tokens */

enum tok {
	T_EOF,
	T_TEXT,
	T_LEFT,	 /* {{ */
	T_RIGHT, /* }} */
	T_FIELD, /* .Name (s = "Name") */
	T_DOT,
	T_VAR, /* $ or $name (s = "$name") */
	T_IDENT,
	T_STRING, /* s = the unquoted value */
	T_NUMBER,
	T_BOOL,
	T_NIL,
	T_PIPE,
	T_LPAREN,
	T_RPAREN,
	T_DECLARE,
	T_ASSIGN,
	T_COMMA,
	T_IF,
	T_ELSE,
	T_END,
	T_RANGE,
	T_WITH,
	T_UNSUPPORTED, /* define, template, block, break, continue */
};

struct token {
	enum tok t;
	char *s;
	size_t slen;
	size_t pos, end; /* byte offsets in the text */
	int line, col;
	bool space_before;
};

struct lexer {
	const char *text;
	size_t len, pos;
	struct token *v;
	size_t n, cap;
	struct st_error **err;
};

struct st_template {
	struct node *root;
	bool table;
	char *text;
};

/* A copy of n bytes that may hold NULs, NUL-terminated. */
static char *memdup0(const char *p, size_t n)
{
	char *d = st_xmalloc(n + 1);
	memcpy(d, p, n);
	d[n] = 0;
	return d;
}

static void line_col(const char *text, size_t pos, int *line, int *col)
{
	int l = 1;
	size_t ls = 0;
	for (size_t i = 0; i < pos; i++)
		if (text[i] == '\n') {
			l++;
			ls = i + 1;
		}
	*line = l;
	*col = (int)(pos - ls) + 1;
}

static int parse_err_at(struct st_error **err, const char *text, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int parse_err_at(struct st_error **err, const char *text, size_t pos, const char *fmt, ...)
{
	int line, col;
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	line_col(text, pos, &line, &col);
	va_start(ap, fmt);
	st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	st_err(err, ST_E_PARSE, "template: :%d:%d: %s", line, col, st_buf_str(&b));
	st_buf_release(&b);
	return -1;
}

static void emit(struct lexer *lx, enum tok t, size_t pos, size_t end, char *s, size_t slen,
		 bool space)
{
	if (lx->n == lx->cap) {
		lx->cap = lx->cap ? 2 * lx->cap : 32;
		lx->v = st_xrealloc(lx->v, lx->cap * sizeof(*lx->v));
	}
	struct token *k = &lx->v[lx->n++];
	k->t = t;
	k->s = s;
	k->slen = slen;
	k->pos = pos;
	k->end = end;
	line_col(lx->text, pos, &k->line, &k->col);
	k->space_before = space;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alnum_(char c)
{
	return isalnum((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

/* Go's strconv.Unquote for "..." and '...': \a \b \f \n \r \t \v \\ \" \' \xHH \ooo \uHHHH. */
static int unquote(struct lexer *lx, size_t start, size_t end, struct st_buf *out)
{
	const char *s = lx->text;
	for (size_t i = start; i < end; i++) {
		char c = s[i];
		if (c != '\\') {
			st_buf_addch(out, c);
			continue;
		}
		if (++i >= end)
			return parse_err_at(lx->err, s, i, "unterminated quoted string");
		c = s[i];
		switch (c) {
		case 'a':
			st_buf_addch(out, '\a');
			break;
		case 'b':
			st_buf_addch(out, '\b');
			break;
		case 'f':
			st_buf_addch(out, '\f');
			break;
		case 'n':
			st_buf_addch(out, '\n');
			break;
		case 'r':
			st_buf_addch(out, '\r');
			break;
		case 't':
			st_buf_addch(out, '\t');
			break;
		case 'v':
			st_buf_addch(out, '\v');
			break;
		case '\\':
		case '"':
		case '\'':
			st_buf_addch(out, c);
			break;
		case 'x':
		case 'u':
		case 'U': {
			int nd = c == 'x' ? 2 : c == 'u' ? 4 : 8;
			unsigned long v = 0;
			for (int k = 0; k < nd; k++) {
				if (i + 1 >= end || !isxdigit((unsigned char)s[i + 1]))
					return parse_err_at(lx->err, s, i,
							    "invalid syntax in quoted string");
				char h = s[++i];
				v = v * 16 +
				    (unsigned long)(isdigit((unsigned char)h)
							? h - '0'
							: (tolower((unsigned char)h) - 'a' + 10));
			}
			if (c == 'x') {
				st_buf_addch(out, (char)v);
			} else if (v < 0x80) {
				st_buf_addch(out, (char)v);
			} else if (v < 0x800) {
				st_buf_addch(out, (char)(0xc0 | (v >> 6)));
				st_buf_addch(out, (char)(0x80 | (v & 0x3f)));
			} else if (v < 0x10000) {
				st_buf_addch(out, (char)(0xe0 | (v >> 12)));
				st_buf_addch(out, (char)(0x80 | ((v >> 6) & 0x3f)));
				st_buf_addch(out, (char)(0x80 | (v & 0x3f)));
			} else if (v <= 0x10ffff) {
				st_buf_addch(out, (char)(0xf0 | (v >> 18)));
				st_buf_addch(out, (char)(0x80 | ((v >> 12) & 0x3f)));
				st_buf_addch(out, (char)(0x80 | ((v >> 6) & 0x3f)));
				st_buf_addch(out, (char)(0x80 | (v & 0x3f)));
			} else {
				return parse_err_at(lx->err, s, i,
						    "invalid syntax in quoted string");
			}
			break;
		}
		default:
			if (c >= '0' && c <= '7') {
				unsigned v = 0;
				for (int k = 0; k < 3; k++, i++) {
					if (i >= end || s[i] < '0' || s[i] > '7')
						return parse_err_at(
						    lx->err, s, i,
						    "invalid syntax in quoted string");
					v = v * 8 + (unsigned)(s[i] - '0');
				}
				i--;
				if (v > 255)
					return parse_err_at(lx->err, s, i,
							    "invalid syntax in quoted string");
				st_buf_addch(out, (char)v);
				break;
			}
			return parse_err_at(lx->err, s, i, "invalid syntax in quoted string");
		}
	}
	return 0;
}

static const struct {
	const char *word;
	enum tok t;
} keywords[] = {
	{ "if", T_IF },
	{ "else", T_ELSE },
	{ "end", T_END },
	{ "range", T_RANGE },
	{ "with", T_WITH },
	{ "nil", T_NIL },
	{ "true", T_BOOL },
	{ "false", T_BOOL },
	{ "define", T_UNSUPPORTED },
	{ "template", T_UNSUPPORTED },
	{ "block", T_UNSUPPORTED },
	{ "break", T_UNSUPPORTED },
	{ "continue", T_UNSUPPORTED },
};

/* Lex the inside of one action, from lx->pos (just after "{{" and any trim marker). */
static int lex_action(struct lexer *lx, bool *trim_right)
{
	const char *s = lx->text;
	int parens = 0;
	bool space = false;
	for (;;) {
		size_t p = lx->pos;
		if (p >= lx->len)
			return parse_err_at(lx->err, s, p, "unclosed action");
		char c = s[p];
		/* right delimiter, with " -}}" trim marker */
		if (c == '-' && p > 0 && is_space(s[p - 1]) && p + 2 < lx->len + 1 &&
		    strncmp(s + p, "-}}", 3) == 0) {
			*trim_right = true;
			emit(lx, T_RIGHT, p, p + 3, NULL, 0, space);
			lx->pos = p + 3;
			return 0;
		}
		if (c == '}' && p + 1 < lx->len && s[p + 1] == '}') {
			if (parens)
				return parse_err_at(lx->err, s, p, "unclosed left paren");
			*trim_right = false;
			emit(lx, T_RIGHT, p, p + 2, NULL, 0, space);
			lx->pos = p + 2;
			return 0;
		}
		if (is_space(c)) {
			lx->pos++;
			space = true;
			continue;
		}
		size_t q = p + 1;
		if (c == '|') {
			emit(lx, T_PIPE, p, q, NULL, 0, space);
		} else if (c == '(') {
			if (++parens > MAX_DEPTH)
				return parse_err_at(lx->err, s, p, "max nesting depth exceeded");
			emit(lx, T_LPAREN, p, q, NULL, 0, space);
		} else if (c == ')') {
			if (--parens < 0)
				return parse_err_at(lx->err, s, p, "unexpected right paren");
			emit(lx, T_RPAREN, p, q, NULL, 0, space);
		} else if (c == ',') {
			emit(lx, T_COMMA, p, q, NULL, 0, space);
		} else if (c == ':') {
			if (q >= lx->len || s[q] != '=')
				return parse_err_at(lx->err, s, p, "expected :=");
			q++;
			emit(lx, T_DECLARE, p, q, NULL, 0, space);
		} else if (c == '=') {
			emit(lx, T_ASSIGN, p, q, NULL, 0, space);
		} else if (c == '"' || c == '\'') {
			while (q < lx->len && s[q] != c && s[q] != '\n') {
				if (s[q] == '\\')
					q++;
				q++;
			}
			if (q >= lx->len || s[q] != c)
				return parse_err_at(lx->err, s, p, "unterminated quoted string");
			struct st_buf b = ST_BUF_INIT;
			if (unquote(lx, p + 1, q, &b) < 0) {
				st_buf_release(&b);
				return -1;
			}
			q++;
			if (c == '\'') {
				/* a character constant is a number in Go */
				if (b.len == 0) {
					st_buf_release(&b);
					return parse_err_at(lx->err, s, p,
							    "empty character constant");
				}
				char *num = st_xasprintf("%u", (unsigned char)b.data[0]);
				st_buf_release(&b);
				emit(lx, T_NUMBER, p, q, num, strlen(num), space);
			} else {
				size_t n;
				char *str = st_buf_detach(&b, &n);
				emit(lx, T_STRING, p, q, str, n, space);
			}
		} else if (c == '`') {
			while (q < lx->len && s[q] != '`')
				q++;
			if (q >= lx->len)
				return parse_err_at(lx->err, s, p,
						    "unterminated raw quoted string");
			emit(lx, T_STRING, p, q + 1, st_xstrndup(s + p + 1, q - p - 1), q - p - 1,
			     space);
			q++;
		} else if (c == '.' && (q >= lx->len || !is_alnum_(s[q]))) {
			if (q < lx->len && isdigit((unsigned char)s[q]))
				goto number;
			emit(lx, T_DOT, p, q, NULL, 0, space);
		} else if (c == '.') {
			if (isdigit((unsigned char)s[q]) &&
			    !(p > 0 && (is_alnum_(s[p - 1]) || s[p - 1] == ')')))
				goto number;
			while (q < lx->len && is_alnum_(s[q]))
				q++;
			emit(lx, T_FIELD, p, q, st_xstrndup(s + p + 1, q - p - 1), q - p - 1,
			     space);
		} else if (c == '$') {
			while (q < lx->len && is_alnum_(s[q]))
				q++;
			emit(lx, T_VAR, p, q, st_xstrndup(s + p, q - p), q - p, space);
		} else if (isdigit((unsigned char)c) ||
			   ((c == '-' || c == '+') && q < lx->len &&
			    (isdigit((unsigned char)s[q]) || s[q] == '.'))) {
		number:
			q = p + 1;
			while (q < lx->len &&
			       (isalnum((unsigned char)s[q]) || s[q] == '.' || s[q] == '_' ||
				((s[q] == '+' || s[q] == '-') &&
				 (s[q - 1] == 'e' || s[q - 1] == 'E' || s[q - 1] == 'p' ||
				  s[q - 1] == 'P'))))
				q++;
			emit(lx, T_NUMBER, p, q, st_xstrndup(s + p, q - p), q - p, space);
		} else if (isalpha((unsigned char)c) || c == '_') {
			while (q < lx->len && is_alnum_(s[q]))
				q++;
			enum tok t = T_IDENT;
			for (size_t k = 0; k < sizeof(keywords) / sizeof(*keywords); k++)
				if (strlen(keywords[k].word) == q - p &&
				    strncmp(s + p, keywords[k].word, q - p) == 0)
					t = keywords[k].t;
			emit(lx, t, p, q, st_xstrndup(s + p, q - p), q - p, space);
		} else if (c == '/' && q < lx->len && s[q] == '*') {
			return parse_err_at(lx->err, s, p, "comment must be alone in an action");
		} else {
			if (isprint((unsigned char)c))
				return parse_err_at(lx->err, s, p, "unexpected \"%c\" in operand",
						    c);
			return parse_err_at(lx->err, s, p, "bad character U+%04X",
					    (unsigned char)c);
		}
		lx->pos = q;
		space = false;
	}
}

static void trim_last_text_right(struct lexer *lx)
{
	if (lx->n && lx->v[lx->n - 1].t == T_TEXT) {
		struct token *k = &lx->v[lx->n - 1];
		while (k->slen && is_space(k->s[k->slen - 1]))
			k->s[--k->slen] = 0;
	}
}

static int lex(struct lexer *lx)
{
	const char *s = lx->text;
	bool trim_next = false;
	while (lx->pos < lx->len) {
		const char *open = strstr(s + lx->pos, "{{");
		size_t tend = open ? (size_t)(open - s) : lx->len;
		size_t tstart = lx->pos;
		if (trim_next)
			while (tstart < tend && is_space(s[tstart]))
				tstart++;
		if (tend > tstart)
			emit(lx, T_TEXT, tstart, tend, st_xstrndup(s + tstart, tend - tstart),
			     tend - tstart, false);
		if (!open)
			break;
		size_t p = tend + 2;
		if (p + 1 < lx->len && s[p] == '-' && is_space(s[p + 1])) {
			trim_last_text_right(lx);
			p += 2;
		}
		/* a comment: slash-star ... star-slash alone in an action, trim markers allowed */
		size_t c = p;
		while (c < lx->len && is_space(s[c]))
			c++;
		if (c + 1 < lx->len && s[c] == '/' && s[c + 1] == '*') {
			const char *close = strstr(s + c + 2, "*/");
			if (!close)
				return parse_err_at(lx->err, s, c, "unclosed comment");
			size_t e = (size_t)(close - s) + 2;
			trim_next = false;
			if (e + 4 <= lx->len && strncmp(s + e, " -}}", 4) == 0) {
				trim_next = true;
				e += 4;
			} else if (e + 2 <= lx->len && strncmp(s + e, "}}", 2) == 0) {
				e += 2;
			} else {
				return parse_err_at(lx->err, s, e,
						    "comment ends before closing delimiter");
			}
			lx->pos = e;
			continue;
		}
		emit(lx, T_LEFT, tend, p, NULL, 0, false);
		lx->pos = p;
		if (lex_action(lx, &trim_next) < 0)
			return -1;
	}
	emit(lx, T_EOF, lx->len, lx->len, NULL, 0, false);
	return 0;
}

static void lexer_release(struct lexer *lx)
{
	for (size_t i = 0; i < lx->n; i++)
		free(lx->v[i].s);
	free(lx->v);
}

/* ---------------------------------------------------------------------------------------- */
/* Tree */

enum node_type { N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH };
enum arg_type { A_FIELD, A_DOT, A_VAR, A_STRING, A_INT, A_REAL, A_BOOL, A_NIL, A_FUNC, A_PIPE };

struct pipe;

struct arg {
	enum arg_type t;
	char *name;	 /* A_VAR ("$x"), A_FUNC, A_STRING (value) */
	size_t name_len; /* A_STRING may hold NULs */
	char **fields;	 /* the field chain after the term (A_FIELD: the whole chain) */
	size_t n_fields;
	long long i;
	double r;
	bool b;
	struct pipe *pipe; /* A_PIPE */
	char *src;	   /* source text, for error messages */
	size_t pos;
};

struct cmd {
	struct arg **args;
	size_t n;
	size_t pos;
};

struct pipe {
	char *vars[2];
	size_t n_vars;
	bool assign; /* = rather than := */
	struct cmd **cmds;
	size_t n;
	size_t pos;
};

struct node {
	enum node_type t;
	char *text; /* N_TEXT */
	size_t text_len;
	struct pipe *pipe;
	struct node **list, **else_list;
	size_t n_list, n_else;
	size_t pos;
};

static void pipe_free(struct pipe *p);

static void arg_free(struct arg *a)
{
	if (!a)
		return;
	free(a->name);
	for (size_t i = 0; i < a->n_fields; i++)
		free(a->fields[i]);
	free(a->fields);
	pipe_free(a->pipe);
	free(a->src);
	free(a);
}

static void cmd_free(struct cmd *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		arg_free(c->args[i]);
	free(c->args);
	free(c);
}

static void pipe_free(struct pipe *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_vars; i++)
		free(p->vars[i]);
	for (size_t i = 0; i < p->n; i++)
		cmd_free(p->cmds[i]);
	free(p->cmds);
	free(p);
}

static void node_free(struct node *n);

static void list_free(struct node **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		node_free(l[i]);
	free(l);
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	free(n->text);
	pipe_free(n->pipe);
	list_free(n->list, n->n_list);
	list_free(n->else_list, n->n_else);
	free(n);
}

/* ---------------------------------------------------------------------------------------- */
/* Parser */

struct parser {
	struct lexer *lx;
	size_t i;
	int depth;
	struct st_error **err;
};

static struct token *peek(struct parser *p)
{
	return &p->lx->v[p->i];
}

static struct token *next(struct parser *p)
{
	struct token *t = &p->lx->v[p->i];
	if (t->t != T_EOF)
		p->i++;
	return t;
}

static const char *tok_desc(const struct token *t, char *buf, size_t n)
{
	switch (t->t) {
	case T_EOF:
		return "EOF";
	case T_RIGHT:
		return "}}";
	case T_LEFT:
		return "{{";
	case T_PIPE:
		return "|";
	case T_LPAREN:
		return "(";
	case T_RPAREN:
		return ")";
	case T_DECLARE:
		return ":=";
	case T_ASSIGN:
		return "=";
	case T_COMMA:
		return ",";
	case T_DOT:
		return ".";
	case T_FIELD:
		snprintf(buf, n, ".%s", t->s);
		return buf;
	case T_STRING:
		snprintf(buf, n, "\"%.40s\"", t->s);
		return buf;
	default:
		snprintf(buf, n, "%.40s", t->s ? t->s : "?");
		return buf;
	}
}

static int unexpected(struct parser *p, struct token *t, const char *where)
{
	char buf[64];
	return parse_err_at(p->err, p->lx->text, t->pos, "unexpected %s in %s",
			    tok_desc(t, buf, sizeof(buf)), where);
}

static bool is_function(const char *name);
static struct pipe *parse_pipe(struct parser *p, bool allow_decl, size_t max_vars, enum tok end);

static void push_field(struct arg *a, const char *f)
{
	a->fields = st_xrealloc(a->fields, (a->n_fields + 1) * sizeof(char *));
	a->fields[a->n_fields++] = st_xstrdup(f);
}

static int parse_number(struct parser *p, struct token *t, struct arg *a)
{
	char *end;
	const char *s = t->s;
	errno = 0;
	bool real =
	    strpbrk(s, ".eEpP") && !(strncmp(s, "0x", 2) == 0 || strncmp(s, "0X", 2) == 0 ||
				     strncmp(s, "-0x", 3) == 0 || strncmp(s, "+0x", 3) == 0);
	st_autofree char *clean = st_xstrdup(s);
	size_t w = 0;
	for (size_t r = 0; clean[r]; r++)
		if (clean[r] != '_')
			clean[w++] = clean[r];
	clean[w] = 0;
	if (!real) {
		long long v = strtoll(clean, &end, 0);
		if (*end == 0 && errno == 0) {
			a->t = A_INT;
			a->i = v;
			return 0;
		}
	}
	errno = 0;
	double d = strtod(clean, &end);
	if (*end != 0 || errno != 0 || !clean[0])
		return parse_err_at(p->err, p->lx->text, t->pos, "bad number syntax: \"%s\"", s);
	a->t = A_REAL;
	a->r = d;
	return 0;
}

/* term: .Field... | . | $var | literal | function | ( pipeline ); then .Field chains */
static struct arg *parse_operand(struct parser *p)
{
	struct token *t = peek(p);
	struct arg *a = st_xcalloc(1, sizeof(*a));
	a->pos = t->pos;
	size_t start = t->pos;
	switch (t->t) {
	case T_FIELD:
		a->t = A_FIELD;
		break;
	case T_DOT:
		next(p);
		a->t = A_DOT;
		break;
	case T_VAR:
		next(p);
		a->t = A_VAR;
		a->name = st_xstrdup(t->s);
		break;
	case T_STRING:
		next(p);
		a->t = A_STRING;
		a->name = memdup0(t->s, t->slen);
		a->name_len = t->slen;
		break;
	case T_NUMBER:
		next(p);
		if (parse_number(p, t, a) < 0)
			goto fail;
		break;
	case T_BOOL:
		next(p);
		a->t = A_BOOL;
		a->b = strcmp(t->s, "true") == 0;
		break;
	case T_NIL:
		next(p);
		a->t = A_NIL;
		break;
	case T_IDENT:
		next(p);
		if (!is_function(t->s)) {
			parse_err_at(p->err, p->lx->text, t->pos, "function \"%s\" not defined",
				     t->s);
			goto fail;
		}
		a->t = A_FUNC;
		a->name = st_xstrdup(t->s);
		break;
	case T_LPAREN:
		next(p);
		if (++p->depth > MAX_DEPTH) {
			parse_err_at(p->err, p->lx->text, t->pos, "max nesting depth exceeded");
			goto fail;
		}
		a->t = A_PIPE;
		a->pipe = parse_pipe(p, false, 0, T_RPAREN);
		p->depth--;
		if (!a->pipe)
			goto fail;
		next(p); /* ) */
		break;
	default:
		arg_free(a);
		return NULL; /* not an operand; the caller decides */
	}
	/* field chain: fields glued to the term */
	while (peek(p)->t == T_FIELD &&
	       (a->t == A_FIELD ? (a->n_fields == 0 || !peek(p)->space_before)
				: !peek(p)->space_before)) {
		if (a->t != A_FIELD && a->t != A_VAR && a->t != A_PIPE && a->t != A_DOT) {
			char buf[64];
			parse_err_at(p->err, p->lx->text, peek(p)->pos, "unexpected %s after term",
				     tok_desc(peek(p), buf, sizeof(buf)));
			goto fail;
		}
		if (a->t == A_DOT) {
			parse_err_at(p->err, p->lx->text, peek(p)->pos, "unexpected . after term");
			goto fail;
		}
		push_field(a, next(p)->s);
	}
	if (a->t == A_FIELD && a->n_fields == 0) {
		parse_err_at(p->err, p->lx->text, t->pos, "bad field");
		goto fail;
	}
	a->src = st_xstrndup(p->lx->text + start, p->lx->v[p->i ? p->i - 1 : 0].end - start);
	return a;
fail:
	arg_free(a);
	return (struct arg *)-1;
}

#define OPERAND_ERR ((struct arg *)-1)

static struct cmd *parse_cmd(struct parser *p, enum tok end)
{
	struct cmd *c = st_xcalloc(1, sizeof(*c));
	c->pos = peek(p)->pos;
	for (;;) {
		struct token *t = peek(p);
		if (t->t == end || t->t == T_PIPE) {
			if (!c->n) {
				parse_err_at(p->err, p->lx->text, t->pos,
					     "missing value for command");
				goto fail;
			}
			return c;
		}
		if (c->n && !t->space_before && t->t != T_LPAREN && t->t != T_STRING) {
			/* Go: operands must be separated by spaces */
			char buf[64];
			parse_err_at(p->err, p->lx->text, t->pos, "unexpected %s in operand",
				     tok_desc(t, buf, sizeof(buf)));
			goto fail;
		}
		struct arg *a = parse_operand(p);
		if (a == OPERAND_ERR)
			goto fail;
		if (!a) {
			if (t->t == T_EOF || (t->t == T_RIGHT && end == T_RPAREN))
				parse_err_at(p->err, p->lx->text, t->pos,
					     t->t == T_EOF ? "unclosed action"
							   : "unclosed left paren");
			else
				unexpected(p, t, "operand");
			goto fail;
		}
		c->args = st_xrealloc(c->args, (c->n + 1) * sizeof(*c->args));
		c->args[c->n++] = a;
	}
fail:
	cmd_free(c);
	return NULL;
}

static struct pipe *parse_pipe(struct parser *p, bool allow_decl, size_t max_vars, enum tok end)
{
	struct pipe *pp = st_xcalloc(1, sizeof(*pp));
	pp->pos = peek(p)->pos;
	/* declarations: $x := / $x = / $i, $e := */
	if (allow_decl && peek(p)->t == T_VAR) {
		size_t save = p->i;
		size_t nv = 0;
		char *vars[2] = { 0 };
		for (;;) {
			struct token *v = peek(p);
			if (v->t != T_VAR || nv == 2)
				break;
			next(p);
			vars[nv++] = v->s;
			struct token *op = peek(p);
			if (op->t == T_COMMA && nv < max_vars) {
				next(p);
				continue;
			}
			if (op->t == T_DECLARE || op->t == T_ASSIGN) {
				next(p);
				pp->assign = op->t == T_ASSIGN;
				for (size_t k = 0; k < nv; k++)
					pp->vars[k] = st_xstrdup(vars[k]);
				pp->n_vars = nv;
				if (nv == 2 && pp->assign) {
					parse_err_at(p->err, p->lx->text, op->pos,
						     "too many declarations");
					goto fail;
				}
				break;
			}
			p->i = save; /* not a declaration: an operand */
			break;
		}
	}
	for (;;) {
		struct cmd *c = parse_cmd(p, end);
		if (!c)
			goto fail;
		pp->cmds = st_xrealloc(pp->cmds, (pp->n + 1) * sizeof(*pp->cmds));
		pp->cmds[pp->n++] = c;
		struct token *t = peek(p);
		if (t->t == end)
			break;
		next(p); /* | */
		if (peek(p)->t == end) {
			parse_err_at(p->err, p->lx->text, peek(p)->pos, "missing command after |");
			goto fail;
		}
	}
	return pp;
fail:
	pipe_free(pp);
	return NULL;
}

static void list_add(struct node ***l, size_t *n, struct node *x)
{
	*l = st_xrealloc(*l, (*n + 1) * sizeof(**l));
	(*l)[(*n)++] = x;
}

/*
 * Parse nodes until {{else}}, {{end}} or EOF. *stop is the keyword that ended the list
 * (T_ELSE, T_END or T_EOF), with the parser positioned after it.
 */
static int parse_list(struct parser *p, struct node ***l, size_t *n, enum tok *stop);

static struct node *parse_control(struct parser *p, enum tok kw, size_t pos)
{
	struct node *nd = st_xcalloc(1, sizeof(*nd));
	enum tok stop;
	nd->t = kw == T_IF ? N_IF : kw == T_RANGE ? N_RANGE : N_WITH;
	nd->pos = pos;
	if (++p->depth > MAX_DEPTH) {
		parse_err_at(p->err, p->lx->text, pos, "max nesting depth exceeded");
		goto fail;
	}
	nd->pipe = parse_pipe(p, true, kw == T_RANGE ? 2 : 1, T_RIGHT);
	if (!nd->pipe)
		goto fail;
	next(p); /* }} */
	if (parse_list(p, &nd->list, &nd->n_list, &stop) < 0)
		goto fail;
	if (stop == T_ELSE) {
		struct token *t = peek(p);
		if ((t->t == T_IF || t->t == T_WITH) && kw != T_RANGE) {
			/* {{else if ...}}: a nested control sharing our {{end}} */
			next(p);
			struct node *inner = parse_control(p, t->t, t->pos);
			if (!inner)
				goto fail;
			list_add(&nd->else_list, &nd->n_else, inner);
			p->depth--;
			return nd;
		}
		if (t->t != T_RIGHT) {
			unexpected(p, t, "else");
			goto fail;
		}
		next(p);
		if (parse_list(p, &nd->else_list, &nd->n_else, &stop) < 0)
			goto fail;
		if (stop == T_ELSE) {
			parse_err_at(p->err, p->lx->text, p->lx->v[p->i - 1].pos,
				     "expected end; found {{else}}");
			goto fail;
		}
	}
	if (stop != T_END) {
		parse_err_at(p->err, p->lx->text, peek(p)->pos, "unexpected EOF");
		goto fail;
	}
	if (peek(p)->t != T_RIGHT) {
		unexpected(p, peek(p), "end");
		goto fail;
	}
	next(p);
	p->depth--;
	return nd;
fail:
	node_free(nd);
	return NULL;
}

static int parse_list(struct parser *p, struct node ***l, size_t *n, enum tok *stop)
{
	for (;;) {
		struct token *t = next(p);
		if (t->t == T_EOF) {
			*stop = T_EOF;
			return 0;
		}
		if (t->t == T_TEXT) {
			struct node *x = st_xcalloc(1, sizeof(*x));
			x->t = N_TEXT;
			x->text = memdup0(t->s, t->slen);
			x->text_len = t->slen;
			x->pos = t->pos;
			list_add(l, n, x);
			continue;
		}
		/* T_LEFT */
		struct token *k = peek(p);
		switch (k->t) {
		case T_ELSE:
		case T_END:
			next(p);
			*stop = k->t;
			return 0;
		case T_IF:
		case T_RANGE:
		case T_WITH: {
			next(p);
			struct node *x = parse_control(p, k->t, k->pos);
			if (!x)
				return -1;
			list_add(l, n, x);
			continue;
		}
		case T_UNSUPPORTED:
			return parse_err_at(p->err, p->lx->text, k->pos, "{{%s}} is not supported",
					    k->s);
		default: {
			struct node *x = st_xcalloc(1, sizeof(*x));
			x->t = N_ACTION;
			x->pos = k->pos;
			x->pipe = parse_pipe(p, true, 1, T_RIGHT);
			if (!x->pipe) {
				free(x);
				return -1;
			}
			next(p); /* }} */
			list_add(l, n, x);
		}
		}
	}
}

int st_template_parse_flags(const char *text, unsigned flags, struct st_template **out,
			    struct st_error **err)
{
	st_auto(st_template) struct st_template *t = st_xcalloc(1, sizeof(*t));
	const char *body = text ? text : "";
	if (flags & ST_TEMPLATE_DOCKER) {
		if (strncmp(body, "table", 5) == 0 && (body[5] == 0 || is_space(body[5]))) {
			t->table = true;
			body += 5;
			while (is_space(*body))
				body++;
		}
		if (strcmp(body, "json") == 0)
			body = "{{json .}}";
	}
	t->text = st_xstrdup(body);
	struct lexer lx = { .text = t->text, .len = strlen(t->text), .err = err };
	struct parser p = { .lx = &lx, .err = err };
	int rc = lex(&lx);
	if (rc == 0) {
		enum tok stop;
		t->root = st_xcalloc(1, sizeof(*t->root));
		t->root->t = N_WITH; /* a list holder; its pipe is NULL */
		rc = parse_list(&p, &t->root->list, &t->root->n_list, &stop);
		if (rc == 0 && stop != T_EOF)
			rc = parse_err_at(err, t->text, lx.v[p.i - 1].pos, "unexpected {{%s}}",
					  stop == T_ELSE ? "else" : "end");
	}
	lexer_release(&lx);
	if (rc < 0)
		return -1;
	*out = st_steal(&t);
	return 0;
}

int st_template_parse(const char *text, struct st_template **out, struct st_error **err)
{
	return st_template_parse_flags(text, 0, out, err);
}

bool st_template_is_table(const struct st_template *t)
{
	return t->table;
}

void st_template_free(struct st_template *t)
{
	if (!t)
		return;
	node_free(t->root);
	free(t->text);
	free(t);
}

void st_template_freep(struct st_template **t)
{
	st_template_free(*t);
}

/* ---------------------------------------------------------------------------------------- */
/* Printing as Go's fmt %v */

/*
 * Go's %v for a float64 (strconv 'g' with the shortest precision): shortest round-trip
 * digits, %e form when the exponent is < -4 or >= 6 ("1e+06", "123456", "0.0001").
 */
static void print_real(double d, struct st_buf *out)
{
	char buf[64];
	if (isnan(d)) {
		st_buf_adds(out, "NaN");
		return;
	}
	if (isinf(d)) {
		st_buf_adds(out, d > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (d == 0) {
		st_buf_adds(out, signbit(d) ? "-0" : "0");
		return;
	}
	int prec;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	/* buf: [-]d.ddde[+-]XX */
	char digits[32];
	size_t nd = 0;
	const char *q = buf;
	bool neg = *q == '-';
	if (neg)
		q++;
	for (; *q && *q != 'e'; q++)
		if (isdigit((unsigned char)*q))
			digits[nd++] = *q;
	digits[nd] = 0;
	int exp = atoi(q + 1);
	if (neg)
		st_buf_addch(out, '-');
	if (exp < -4 || exp >= 6) {
		st_buf_addch(out, digits[0]);
		if (nd > 1) {
			st_buf_addch(out, '.');
			st_buf_add(out, digits + 1, nd - 1);
		}
		st_buf_addf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
		return;
	}
	if (exp < 0) {
		st_buf_adds(out, "0.");
		for (int k = -1; k > exp; k--)
			st_buf_addch(out, '0');
		st_buf_add(out, digits, nd);
		return;
	}
	for (int k = 0; k <= exp; k++)
		st_buf_addch(out, (size_t)k < nd ? digits[k] : '0');
	if ((size_t)exp + 1 < nd) {
		st_buf_addch(out, '.');
		st_buf_add(out, digits + exp + 1, nd - (size_t)exp - 1);
	}
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of an object, sorted (Go prints and ranges maps in key order). Caller frees the array. */
static const char **sorted_keys(const json_t *o, size_t *n)
{
	const char *k;
	json_t *v;
	size_t i = 0;
	*n = json_object_size(o);
	const char **keys = st_xcalloc(*n ? *n : 1, sizeof(*keys));
	json_object_foreach((json_t *)o, k, v) keys[i++] = k;
	qsort(keys, *n, sizeof(*keys), cmp_keys);
	return keys;
}

static void print_inner(const json_t *v, struct st_buf *out, int depth)
{
	if (depth > MAX_DEPTH) {
		st_buf_adds(out, "...");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		st_buf_add(out, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		st_buf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		print_real(json_real_value(v), out);
		break;
	case JSON_TRUE:
		st_buf_adds(out, "true");
		break;
	case JSON_FALSE:
		st_buf_adds(out, "false");
		break;
	case JSON_NULL:
		st_buf_adds(out, "<nil>");
		break;
	case JSON_ARRAY: {
		size_t i;
		json_t *e;
		st_buf_addch(out, '[');
		json_array_foreach((json_t *)v, i, e)
		{
			if (i)
				st_buf_addch(out, ' ');
			print_inner(e, out, depth + 1);
		}
		st_buf_addch(out, ']');
		break;
	}
	case JSON_OBJECT: {
		size_t n;
		const char **keys = sorted_keys(v, &n);
		st_buf_adds(out, "map[");
		for (size_t i = 0; i < n; i++) {
			if (i)
				st_buf_addch(out, ' ');
			st_buf_addf(out, "%s:", keys[i]);
			const json_t *e = json_object_get(v, keys[i]);
			/* Docker's sets are maps to struct{} (ExposedPorts, Volumes): Go prints
			 * each value as {}, where an empty map would print map[] */
			if (json_is_object(e) && json_object_size(e) == 0)
				st_buf_adds(out, "{}");
			else
				print_inner(e, out, depth + 1);
		}
		st_buf_addch(out, ']');
		free(keys);
		break;
	}
	}
}

void st_template_print_value(const json_t *v, struct st_buf *out)
{
	if (!v || json_is_null(v))
		st_buf_adds(out, "<no value>");
	else
		print_inner(v, out, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Evaluation */

struct var {
	char *name;
	json_t *v; /* owned reference; NULL = missing */
};

struct state {
	const struct st_template *t;
	struct var *vars;
	size_t n_vars, cap_vars;
	struct st_buf *out;
	struct st_error **err;
	int depth;
};

static int exec_err(struct state *s, size_t pos, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int exec_err(struct state *s, size_t pos, const char *at, const char *fmt, ...)
{
	int line, col;
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	line_col(s->t->text, pos, &line, &col);
	va_start(ap, fmt);
	st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (at)
		st_err(s->err, ST_E_INVALID, "template: :%d:%d: executing \"\" at <%s>: %s", line,
		       col, at, st_buf_str(&b));
	else
		st_err(s->err, ST_E_INVALID, "template: :%d:%d: executing \"\": %s", line, col,
		       st_buf_str(&b));
	st_buf_release(&b);
	return -1;
}

static json_t *ref(const json_t *v)
{
	return json_incref((json_t *)v);
}

static void push_var(struct state *s, const char *name, json_t *v /* reference taken */)
{
	if (s->n_vars == s->cap_vars) {
		s->cap_vars = s->cap_vars ? 2 * s->cap_vars : 8;
		s->vars = st_xrealloc(s->vars, s->cap_vars * sizeof(*s->vars));
	}
	s->vars[s->n_vars].name = st_xstrdup(name);
	s->vars[s->n_vars++].v = v;
}

static void pop_vars(struct state *s, size_t mark)
{
	while (s->n_vars > mark) {
		s->n_vars--;
		free(s->vars[s->n_vars].name);
		json_decref(s->vars[s->n_vars].v);
	}
}

static struct var *find_var(struct state *s, const char *name)
{
	for (size_t i = s->n_vars; i-- > 0;)
		if (strcmp(s->vars[i].name, name) == 0)
			return &s->vars[i];
	return NULL;
}

static const char *go_type(const json_t *v)
{
	if (!v)
		return "<nil>";
	switch (json_typeof(v)) {
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "int";
	case JSON_REAL:
		return "float64";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	case JSON_NULL:
		return "<nil>";
	case JSON_ARRAY:
		return "[]interface {}";
	case JSON_OBJECT:
		return "map[string]interface {}";
	}
	return "?";
}

static bool truth(const json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0;
	case JSON_TRUE:
		return true;
	case JSON_FALSE:
		return false;
	case JSON_NULL:
		return false;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	}
	return false;
}

/* Walk a field chain from 'v' (borrowed). Returns a new reference or NULL (missing); -1 via *bad.
 */
static int walk_fields(struct state *s, const struct arg *a, size_t from, const json_t *v,
		       json_t **out)
{
	const json_t *cur = v;
	for (size_t i = from; i < a->n_fields; i++) {
		if (!cur || json_is_null(cur)) {
			cur = NULL; /* a missing map entry has no fields: stay missing */
			break;
		}
		if (!json_is_object(cur))
			return exec_err(s, a->pos, a->src, "can't evaluate field %s in type %s",
					a->fields[i], go_type(cur));
		cur = json_object_get(cur, a->fields[i]);
	}
	*out = cur ? ref(cur) : NULL;
	return 0;
}

static int eval_pipe(struct state *s, const struct pipe *p, const json_t *dot, json_t **out);
static int call_func(struct state *s, const struct cmd *c, const json_t *dot, json_t *final,
		     bool has_final, json_t **out);

static int eval_arg(struct state *s, const struct arg *a, const json_t *dot, json_t **out)
{
	*out = NULL;
	switch (a->t) {
	case A_FIELD:
		return walk_fields(s, a, 0, dot, out);
	case A_DOT:
		*out = dot ? ref(dot) : NULL;
		return 0;
	case A_VAR: {
		struct var *v = find_var(s, a->name);
		if (!v)
			return exec_err(s, a->pos, a->src, "undefined variable: %s", a->name);
		return walk_fields(s, a, 0, v->v, out);
	}
	case A_STRING:
		*out = json_stringn_nocheck(a->name, a->name_len);
		return 0;
	case A_INT:
		*out = json_integer(a->i);
		return 0;
	case A_REAL:
		*out = json_real(a->r);
		return 0;
	case A_BOOL:
		*out = json_boolean(a->b);
		return 0;
	case A_NIL:
		return exec_err(s, a->pos, a->src, "nil is not a command");
	case A_FUNC: {
		/* a function used as an argument: called with no arguments */
		struct cmd c = { .args = (struct arg **)&a, .n = 1, .pos = a->pos };
		return call_func(s, &c, dot, NULL, false, out);
	}
	case A_PIPE: {
		json_t *v = NULL;
		if (eval_pipe(s, a->pipe, dot, &v) < 0)
			return -1;
		int rc = walk_fields(s, a, 0, v, out);
		json_decref(v);
		return rc;
	}
	}
	return -1;
}

/* ---- functions ---- */

static void to_string(const json_t *v, struct st_buf *out)
{
	st_template_print_value(v, out);
}

/* Go's fmt.Sprint: a space between operands when neither side is a string. */
static json_t *fn_print(json_t **args, size_t n, bool ln)
{
	struct st_buf b = ST_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		bool str = args[i] && json_is_string(args[i]);
		bool prev_str = i && args[i - 1] && json_is_string(args[i - 1]);
		if (i && (ln || (!str && !prev_str)))
			st_buf_addch(&b, ' ');
		if (!args[i])
			st_buf_adds(&b, "<nil>");
		else
			print_inner(args[i], &b, 0);
	}
	if (ln)
		st_buf_addch(&b, '\n');
	json_t *r = json_stringn_nocheck(b.data ? b.data : "", b.len);
	st_buf_release(&b);
	return r;
}

static bool as_int(const json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
	    fabs(json_real_value(v)) < 9e18) {
		*out = (long long)json_real_value(v);
		return true;
	}
	return false;
}

/* Pad 'str' to 'width' as fmt does: spaces on the left, or the right with '-', or zeros. */
static void pad_field(struct st_buf *b, const char *str, size_t len, int width, bool left,
		      bool zero)
{
	size_t w = width > 0 ? (size_t)width : 0;
	size_t fill = w > len ? w - len : 0;
	if (left) {
		st_buf_add(b, str, len);
		while (fill--)
			st_buf_addch(b, ' ');
		return;
	}
	if (zero && len && (str[0] == '-' || str[0] == '+')) {
		st_buf_addch(b, str[0]);
		str++;
		len--;
	}
	while (fill--)
		st_buf_addch(b, zero ? '0' : ' ');
	st_buf_add(b, str, len);
}

/* Go's fmt.Sprintf for the verbs %v %s %d %q %t %f %g %e %x %X %o %c %%, flags -+0 and width. */
static json_t *fn_printf(const char *f, size_t flen, json_t **args, size_t n)
{
	struct st_buf b = ST_BUF_INIT;
	size_t ai = 0;
	for (size_t i = 0; i < flen; i++) {
		if (f[i] != '%') {
			st_buf_addch(&b, f[i]);
			continue;
		}
		bool left = false, zero = false, plus = false;
		i++;
		while (i < flen && strchr("-+# 0", f[i])) {
			left |= f[i] == '-';
			zero |= f[i] == '0';
			plus |= f[i] == '+';
			i++;
		}
		int width = -1, prec = -1;
		if (i < flen && isdigit((unsigned char)f[i])) {
			width = 0;
			while (i < flen && isdigit((unsigned char)f[i]))
				width = width < 10000 ? width * 10 + (f[i++] - '0') : (i++, width);
		}
		if (i < flen && f[i] == '.') {
			i++;
			prec = 0;
			while (i < flen && isdigit((unsigned char)f[i]))
				prec = prec < 10000 ? prec * 10 + (f[i++] - '0') : (i++, prec);
		}
		if (i >= flen) {
			st_buf_adds(&b, "%!(NOVERB)");
			break;
		}
		char verb = f[i];
		if (verb == '%') {
			st_buf_addch(&b, '%');
			continue;
		}
		if (ai >= n) {
			st_buf_addf(&b, "%%!%c(MISSING)", verb);
			continue;
		}
		json_t *v = args[ai++];
		long long iv;
		struct st_buf tmp = ST_BUF_INIT;
		bool bad = false;
		switch (verb) {
		case 'v':
		case 's':
			if (!v)
				st_buf_adds(&tmp, verb == 's' ? "%!s(<nil>)" : "<nil>");
			else
				print_inner(v, &tmp, 0);
			if (prec >= 0 && (size_t)prec < tmp.len)
				st_buf_setlen(&tmp, (size_t)prec);
			zero = false;
			break;
		case 'q':
			if (v && json_is_string(v)) {
				char *q = json_dumps(v, JSON_ENCODE_ANY);
				st_buf_adds(&tmp, q ? q : "\"\"");
				free(q);
			} else {
				bad = true;
			}
			break;
		case 'd':
		case 'x':
		case 'X':
		case 'o':
		case 'c':
			if (v && as_int(v, &iv)) {
				unsigned long long u =
				    iv < 0 ? 0ULL - (unsigned long long)iv : (unsigned long long)iv;
				if (verb == 'c')
					st_buf_addch(&tmp, (char)iv);
				else if (verb == 'd')
					st_buf_addf(&tmp, "%s%llu",
						    iv < 0 ? "-"
						    : plus ? "+"
							   : "",
						    u);
				else
					st_buf_addf(&tmp,
						    verb == 'x'	  ? "%s%llx"
						    : verb == 'X' ? "%s%llX"
								  : "%s%llo",
						    iv < 0 ? "-" : "", u);
			} else if (v && json_is_string(v) && (verb == 'x' || verb == 'X')) {
				const char *sv = json_string_value(v);
				for (size_t k = 0; k < json_string_length(v); k++)
					st_buf_addf(&tmp, verb == 'x' ? "%02x" : "%02X",
						    (unsigned char)sv[k]);
			} else {
				bad = true;
			}
			break;
		case 'f':
		case 'F':
		case 'e':
		case 'E':
		case 'g':
		case 'G':
			if (v && json_is_number(v)) {
				double d = json_number_value(v);
				int p = prec < 0 ? 6 : prec;
				if (plus && d >= 0)
					st_buf_addch(&tmp, '+');
				if ((verb == 'g' || verb == 'G') && prec < 0)
					print_real(d, &tmp); /* Go's %g without precision is the
								shortest form */
				else if (verb == 'f' || verb == 'F')
					st_buf_addf(&tmp, "%.*f", p, d);
				else if (verb == 'e')
					st_buf_addf(&tmp, "%.*e", p, d);
				else if (verb == 'E')
					st_buf_addf(&tmp, "%.*E", p, d);
				else if (verb == 'g')
					st_buf_addf(&tmp, "%.*g", p, d);
				else
					st_buf_addf(&tmp, "%.*G", p, d);
			} else {
				bad = true;
			}
			break;
		case 't':
			if (v && json_is_boolean(v))
				st_buf_adds(&tmp, json_is_true(v) ? "true" : "false");
			else
				bad = true;
			break;
		default:
			bad = true;
		}
		if (bad) {
			st_buf_reset(&tmp);
			if (v)
				print_inner(v, &tmp, 0);
			else
				st_buf_adds(&tmp, "<nil>");
			st_buf_addf(&b, "%%!%c(%s=%s)", verb, go_type(v), st_buf_str(&tmp));
		} else {
			pad_field(&b, st_buf_str(&tmp), tmp.len, width, left, zero);
		}
		st_buf_release(&tmp);
	}
	if (ai < n) {
		st_buf_adds(&b, "%!(EXTRA ");
		for (size_t k = ai; k < n; k++) {
			if (k > ai)
				st_buf_adds(&b, ", ");
			st_buf_addf(&b, "%s=", go_type(args[k]));
			if (args[k])
				print_inner(args[k], &b, 0);
			else
				st_buf_adds(&b, "<nil>");
		}
		st_buf_addch(&b, ')');
	}
	json_t *r = json_stringn_nocheck(b.data ? b.data : "", b.len);
	st_buf_release(&b);
	return r;
}

/* Compare for eq/lt...: numbers numerically, strings bytewise, bools for equality. */
static int compare(struct state *s, size_t pos, const char *fn, const json_t *a, const json_t *b,
		   int *out, bool ordered)
{
	if (!a || !b || json_is_null(a) || json_is_null(b)) {
		if (ordered)
			return exec_err(s, pos, NULL,
					"error calling %s: invalid type for comparison", fn);
		*out = ((!a || json_is_null(a)) && (!b || json_is_null(b))) ? 0 : 1;
		return 0;
	}
	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b)) {
			json_int_t x = json_integer_value(a), y = json_integer_value(b);
			*out = x < y ? -1 : x > y;
		} else {
			double x = json_number_value(a), y = json_number_value(b);
			*out = x < y ? -1 : x > y;
		}
		return 0;
	}
	if (json_is_string(a) && json_is_string(b)) {
		size_t la = json_string_length(a), lb = json_string_length(b);
		int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
		*out = c ? c : la < lb ? -1 : la > lb;
		return 0;
	}
	if (json_is_boolean(a) && json_is_boolean(b) && !ordered) {
		*out = json_is_true(a) != json_is_true(b);
		return 0;
	}
	if (json_typeof(a) != json_typeof(b) || ordered)
		return exec_err(s, pos, NULL, "error calling %s: incompatible types for comparison",
				fn);
	*out = json_equal((json_t *)a, (json_t *)b) ? 0 : 1;
	return 0;
}

static const char *const functions[] = { "and",	     "or",     "not",	  "len",      "index",
					 "print",    "printf", "println", "eq",	      "ne",
					 "lt",	     "le",     "gt",	  "ge",	      "json",
					 "join",     "split",  "upper",	  "lower",    "title",
					 "truncate", "pad",    "html",	  "urlquery", NULL };

static bool is_function(const char *name)
{
	for (size_t i = 0; functions[i]; i++)
		if (strcmp(functions[i], name) == 0)
			return true;
	return false;
}

static void args_free(json_t **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(v[i]);
	free(v);
}

static int want_args(struct state *s, size_t pos, const char *fn, size_t n, size_t want)
{
	if (n != want)
		return exec_err(s, pos, NULL, "wrong number of args for %s: want %zu got %zu", fn,
				want, n);
	return 0;
}

static json_t *string_of(const json_t *v)
{
	struct st_buf b = ST_BUF_INIT;
	if (v && json_is_string(v))
		return ref(v);
	to_string(v, &b);
	json_t *r = json_stringn_nocheck(b.data ? b.data : "", b.len);
	st_buf_release(&b);
	return r;
}

static json_t *map_chars(const json_t *v, int mode)
{
	json_t *sv = string_of(v);
	size_t n = json_string_length(sv);
	char *c = memdup0(json_string_value(sv), n);
	bool word_start = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)c[i];
		if (mode == 0)
			c[i] = (char)toupper(ch);
		else if (mode == 1)
			c[i] = (char)tolower(ch);
		else {
			/* strings.Title: letters after a separator (not letter, digit, '_') go
			 * upper */
			if (word_start && isalpha(ch))
				c[i] = (char)toupper(ch);
			word_start = !(isalnum(ch) || ch == '_' || ch >= 0x80);
		}
	}
	json_t *r = json_stringn_nocheck(c, n);
	free(c);
	json_decref(sv);
	return r;
}

static int call_func(struct state *s, const struct cmd *c, const json_t *dot, json_t *final,
		     bool has_final, json_t **out)
{
	const char *fn = c->args[0]->name;
	size_t pos = c->args[0]->pos;
	size_t n = c->n - 1 + (has_final ? 1 : 0);
	int rc = -1;
	*out = NULL;

	/* and/or evaluate lazily: they stop at the first falsy/truthy argument */
	if (strcmp(fn, "and") == 0 || strcmp(fn, "or") == 0) {
		bool is_and = fn[0] == 'a';
		if (n == 0)
			return exec_err(s, pos, NULL,
					"wrong number of args for %s: want at least 1 got 0", fn);
		for (size_t i = 0; i < n; i++) {
			json_t *v = NULL;
			if (i + 1 < c->n) {
				if (eval_arg(s, c->args[i + 1], dot, &v) < 0)
					return -1;
			} else {
				v = final ? ref(final) : NULL;
			}
			if (i + 1 == n || truth(v) != is_and) {
				*out = v;
				return 0;
			}
			json_decref(v);
		}
		return 0;
	}

	json_t **a = st_xcalloc(n ? n : 1, sizeof(*a));
	for (size_t i = 1; i < c->n; i++)
		if (eval_arg(s, c->args[i], dot, &a[i - 1]) < 0)
			goto out;
	if (has_final)
		a[n - 1] = final ? ref(final) : NULL;

	if (strcmp(fn, "not") == 0) {
		if (want_args(s, pos, fn, n, 1) < 0)
			goto out;
		*out = json_boolean(!truth(a[0]));
	} else if (strcmp(fn, "len") == 0) {
		if (want_args(s, pos, fn, n, 1) < 0)
			goto out;
		if (a[0] && json_is_string(a[0]))
			*out = json_integer((json_int_t)json_string_length(a[0]));
		else if (a[0] && json_is_array(a[0]))
			*out = json_integer((json_int_t)json_array_size(a[0]));
		else if (a[0] && json_is_object(a[0]))
			*out = json_integer((json_int_t)json_object_size(a[0]));
		else if (a[0] && json_is_null(a[0]))
			*out = json_integer(0);
		else {
			exec_err(s, pos, NULL, "error calling len: len of type %s", go_type(a[0]));
			goto out;
		}
	} else if (strcmp(fn, "index") == 0) {
		if (n == 0) {
			exec_err(s, pos, NULL,
				 "wrong number of args for index: want at least 1 got 0");
			goto out;
		}
		json_t *cur = a[0] ? ref(a[0]) : NULL;
		for (size_t i = 1; i < n; i++) {
			json_t *nx = NULL;
			long long k;
			if (!cur || json_is_null(cur)) {
				/* index of a nil map is the zero value */
			} else if (json_is_array(cur)) {
				if (!a[i] || !as_int(a[i], &k)) {
					json_decref(cur);
					exec_err(s, pos, NULL,
						 "error calling index: cannot index slice/array "
						 "with type %s",
						 go_type(a[i]));
					goto out;
				}
				if (k < 0 || (size_t)k >= json_array_size(cur)) {
					json_decref(cur);
					exec_err(s, pos, NULL,
						 "error calling index: index out of range: %lld",
						 k);
					goto out;
				}
				nx = ref(json_array_get(cur, (size_t)k));
			} else if (json_is_object(cur)) {
				if (!a[i] || !json_is_string(a[i])) {
					json_decref(cur);
					exec_err(s, pos, NULL,
						 "error calling index: value has type %s; should "
						 "be string",
						 go_type(a[i]));
					goto out;
				}
				json_t *e = json_object_getn(cur, json_string_value(a[i]),
							     json_string_length(a[i]));
				nx = e ? ref(e) : NULL;
			} else if (json_is_string(cur) && a[i] && as_int(a[i], &k)) {
				if (k < 0 || (size_t)k >= json_string_length(cur)) {
					json_decref(cur);
					exec_err(s, pos, NULL,
						 "error calling index: index out of range: %lld",
						 k);
					goto out;
				}
				nx = json_integer((unsigned char)json_string_value(cur)[k]);
			} else {
				exec_err(s, pos, NULL,
					 "error calling index: can't index item of type %s",
					 go_type(cur));
				json_decref(cur); /* after go_type() has looked at it */
				goto out;
			}
			json_decref(cur);
			cur = nx;
		}
		*out = cur;
	} else if (strcmp(fn, "print") == 0 || strcmp(fn, "println") == 0) {
		*out = fn_print(a, n, fn[5] == 'l');
	} else if (strcmp(fn, "printf") == 0) {
		if (n == 0 || !a[0] || !json_is_string(a[0])) {
			exec_err(s, pos, NULL, "error calling printf: the format must be a string");
			goto out;
		}
		*out = fn_printf(json_string_value(a[0]), json_string_length(a[0]), a + 1, n - 1);
	} else if (strcmp(fn, "eq") == 0 || strcmp(fn, "ne") == 0) {
		if (n < 2) {
			exec_err(s, pos, NULL,
				 "wrong number of args for %s: want at least 2 got %zu", fn, n);
			goto out;
		}
		bool eq = false;
		for (size_t i = 1; i < n && !eq; i++) {
			int r;
			if (compare(s, pos, fn, a[0], a[i], &r, false) < 0)
				goto out;
			eq = r == 0;
		}
		*out = json_boolean(fn[0] == 'e' ? eq : !eq);
	} else if (!strcmp(fn, "lt") || !strcmp(fn, "le") || !strcmp(fn, "gt") ||
		   !strcmp(fn, "ge")) {
		int r;
		if (want_args(s, pos, fn, n, 2) < 0 ||
		    compare(s, pos, fn, a[0], a[1], &r, true) < 0)
			goto out;
		bool v = fn[0] == 'l' ? (fn[1] == 't' ? r < 0 : r <= 0)
				      : (fn[1] == 't' ? r > 0 : r >= 0);
		*out = json_boolean(v);
	} else if (strcmp(fn, "json") == 0) {
		/* Docker: json.Encoder without HTML escaping, trailing newline trimmed */
		if (want_args(s, pos, fn, n, 1) < 0)
			goto out;
		char *j = a[0] ? json_dumps(a[0], JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		*out = json_string_nocheck(j ? j : "null");
		free(j);
	} else if (strcmp(fn, "join") == 0) {
		if (want_args(s, pos, fn, n, 2) < 0)
			goto out;
		struct st_buf b = ST_BUF_INIT;
		json_t *sep = string_of(a[1]);
		if (a[0] && json_is_array(a[0])) {
			size_t i;
			json_t *e;
			json_array_foreach(a[0], i, e)
			{
				if (i)
					st_buf_add(&b, json_string_value(sep),
						   json_string_length(sep));
				print_inner(e, &b, 0);
			}
		} else if (a[0] && !json_is_null(a[0])) {
			json_decref(sep);
			st_buf_release(&b);
			exec_err(
			    s, pos, NULL,
			    "error calling join: wrong type for value; expected []string; got %s",
			    go_type(a[0]));
			goto out;
		}
		json_decref(sep);
		*out = json_stringn_nocheck(b.data ? b.data : "", b.len);
		st_buf_release(&b);
	} else if (strcmp(fn, "split") == 0) {
		if (want_args(s, pos, fn, n, 2) < 0)
			goto out;
		json_t *str = string_of(a[0]), *sep = string_of(a[1]);
		const char *p = json_string_value(str), *end = p + json_string_length(str);
		size_t sl = json_string_length(sep);
		json_t *arr = json_array();
		if (sl == 0) {
			/* strings.Split with "" splits into UTF-8 sequences; bytes are close enough
			 */
			for (; p < end; p++)
				json_array_append_new(arr, json_stringn_nocheck(p, 1));
		} else {
			for (;;) {
				const char *hit =
				    memmem(p, (size_t)(end - p), json_string_value(sep), sl);
				if (!hit) {
					json_array_append_new(
					    arr, json_stringn_nocheck(p, (size_t)(end - p)));
					break;
				}
				json_array_append_new(arr,
						      json_stringn_nocheck(p, (size_t)(hit - p)));
				p = hit + sl;
			}
		}
		json_decref(str);
		json_decref(sep);
		*out = arr;
	} else if (!strcmp(fn, "upper") || !strcmp(fn, "lower") || !strcmp(fn, "title")) {
		if (want_args(s, pos, fn, n, 1) < 0)
			goto out;
		*out = map_chars(a[0], fn[0] == 'u' ? 0 : fn[0] == 'l' ? 1 : 2);
	} else if (strcmp(fn, "truncate") == 0) {
		long long k;
		if (want_args(s, pos, fn, n, 2) < 0)
			goto out;
		if (!a[1] || !as_int(a[1], &k) || k < 0) {
			exec_err(s, pos, NULL,
				 "error calling truncate: length must be a non-negative integer");
			goto out;
		}
		json_t *str = string_of(a[0]);
		size_t l = json_string_length(str);
		*out = json_stringn_nocheck(json_string_value(str), (size_t)k < l ? (size_t)k : l);
		json_decref(str);
	} else if (strcmp(fn, "pad") == 0) {
		long long pre, suf;
		if (want_args(s, pos, fn, n, 3) < 0)
			goto out;
		if (!a[1] || !a[2] || !as_int(a[1], &pre) || !as_int(a[2], &suf) || pre < 0 ||
		    suf < 0 || pre > 10000 || suf > 10000) {
			exec_err(s, pos, NULL,
				 "error calling pad: widths must be integers from 0 to 10000");
			goto out;
		}
		json_t *str = string_of(a[0]);
		struct st_buf b = ST_BUF_INIT;
		/* Docker's padWithSpace pads only a non-empty string */
		if (json_string_length(str)) {
			for (long long i = 0; i < pre; i++)
				st_buf_addch(&b, ' ');
			st_buf_add(&b, json_string_value(str), json_string_length(str));
			for (long long i = 0; i < suf; i++)
				st_buf_addch(&b, ' ');
		}
		*out = json_stringn_nocheck(b.data ? b.data : "", b.len);
		st_buf_release(&b);
		json_decref(str);
	} else {
		exec_err(s, pos, NULL, "function \"%s\" not supported", fn);
		goto out;
	}
	rc = 0;
out:
	args_free(a, n);
	return rc;
}

static int eval_cmd(struct state *s, const struct cmd *c, const json_t *dot, json_t *final,
		    bool has_final, json_t **out)
{
	const struct arg *first = c->args[0];
	if (first->t == A_FUNC && first->n_fields == 0)
		return call_func(s, c, dot, final, has_final, out);
	if (c->n > 1 || has_final) {
		if (first->t == A_FIELD || first->t == A_VAR)
			return exec_err(s, first->pos, first->src,
					"%s has arguments but cannot be invoked as function",
					first->src);
		return exec_err(s, first->pos, first->src, "can't give argument to non-function %s",
				first->src);
	}
	return eval_arg(s, first, dot, out);
}

static int eval_pipe(struct state *s, const struct pipe *p, const json_t *dot, json_t **out)
{
	json_t *v = NULL;
	if (++s->depth > MAX_DEPTH) {
		s->depth--;
		return exec_err(s, p->pos, NULL, "max nesting depth exceeded");
	}
	for (size_t i = 0; i < p->n; i++) {
		json_t *nv = NULL;
		int rc = eval_cmd(s, p->cmds[i], dot, v, i > 0, &nv);
		json_decref(v);
		v = nv;
		if (rc < 0) {
			s->depth--;
			return -1;
		}
	}
	s->depth--;
	*out = v;
	return 0;
}

/* Evaluate a pipeline, performing its declarations. */
static int eval_pipe_decl(struct state *s, const struct pipe *p, const json_t *dot, json_t **out)
{
	if (eval_pipe(s, p, dot, out) < 0)
		return -1;
	if (p->n_vars == 1 && !p->assign) {
		push_var(s, p->vars[0], *out ? ref(*out) : NULL);
	} else if (p->n_vars == 1) {
		struct var *v = find_var(s, p->vars[0]);
		if (!v) {
			json_decref(*out);
			*out = NULL;
			return exec_err(s, p->pos, NULL, "undefined variable: %s", p->vars[0]);
		}
		json_decref(v->v);
		v->v = *out ? ref(*out) : NULL;
	}
	return 0;
}

static int exec_list(struct state *s, struct node *const *l, size_t n, const json_t *dot);

static int exec_range(struct state *s, const struct node *nd, const json_t *dot)
{
	json_t *v = NULL;
	const struct pipe *p = nd->pipe;
	size_t mark = s->n_vars;
	int rc = 0;
	if (eval_pipe(s, p, dot, &v) < 0)
		return -1;
	size_t count = 0;
	if (v && json_is_array(v)) {
		count = json_array_size(v);
		for (size_t i = 0; i < count && rc == 0; i++) {
			json_t *e = json_array_get(v, i);
			size_t m = s->n_vars;
			if (p->n_vars == 2) {
				push_var(s, p->vars[0], json_integer((json_int_t)i));
				push_var(s, p->vars[1], ref(e));
			} else if (p->n_vars == 1) {
				push_var(s, p->vars[0], ref(e));
			}
			rc = exec_list(s, nd->list, nd->n_list, e);
			pop_vars(s, m);
		}
	} else if (v && json_is_object(v)) {
		const char **keys = sorted_keys(v, &count);
		for (size_t i = 0; i < count && rc == 0; i++) {
			json_t *e = json_object_get(v, keys[i]);
			size_t m = s->n_vars;
			if (p->n_vars == 2) {
				push_var(s, p->vars[0], json_string_nocheck(keys[i]));
				push_var(s, p->vars[1], ref(e));
			} else if (p->n_vars == 1) {
				push_var(s, p->vars[0], ref(e));
			}
			rc = exec_list(s, nd->list, nd->n_list, e);
			pop_vars(s, m);
		}
		free(keys);
	} else if (v && !json_is_null(v)) {
		rc = exec_err(s, nd->pos, NULL, "range can't iterate over %s", go_type(v));
	}
	if (rc == 0 && count == 0)
		rc = exec_list(s, nd->else_list, nd->n_else, dot);
	json_decref(v);
	pop_vars(s, mark);
	return rc;
}

static int exec_node(struct state *s, const struct node *nd, const json_t *dot)
{
	json_t *v = NULL;
	size_t mark = s->n_vars;
	int rc;
	switch (nd->t) {
	case N_TEXT:
		st_buf_add(s->out, nd->text, nd->text_len);
		return 0;
	case N_ACTION:
		if (eval_pipe_decl(s, nd->pipe, dot, &v) < 0)
			return -1;
		/* a declaration prints nothing; its variable lives to the end of the enclosing list
		 */
		if (nd->pipe->n_vars == 0)
			st_template_print_value(v, s->out);
		json_decref(v);
		return 0;
	case N_IF:
	case N_WITH:
		if (eval_pipe_decl(s, nd->pipe, dot, &v) < 0)
			return -1;
		if (truth(v))
			rc = exec_list(s, nd->list, nd->n_list, nd->t == N_WITH ? v : dot);
		else
			rc = exec_list(s, nd->else_list, nd->n_else, dot);
		json_decref(v);
		pop_vars(s, mark);
		return rc;
	case N_RANGE:
		return exec_range(s, nd, dot);
	}
	return -1;
}

static int exec_list(struct state *s, struct node *const *l, size_t n, const json_t *dot)
{
	size_t mark = s->n_vars;
	int rc = 0;
	if (++s->depth > MAX_DEPTH)
		rc = exec_err(s, 0, NULL, "max nesting depth exceeded");
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = exec_node(s, l[i], dot);
	s->depth--;
	pop_vars(s, mark);
	return rc;
}

int st_template_execute(const struct st_template *t, const json_t *data, struct st_buf *out,
			struct st_error **err)
{
	struct state s = { .t = t, .out = out, .err = err };
	st_buf_grow(out, 0); /* out->data is never NULL afterwards, even for empty output */
	push_var(&s, "$", data ? ref(data) : NULL);
	int rc = exec_list(&s, t->root->list, t->root->n_list, data);
	pop_vars(&s, 0);
	free(s.vars);
	return rc;
}
