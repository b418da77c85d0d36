/*
 * lex.c: word expansion and splitting, the way BuildKit's frontend/dockerfile/shell lexer does
 * it: quotes, the escape character, $V and ${V...} with the modifiers - + ? (with and without
 * ':'), # ## % %% / //.
 *
 * The lexer recurses once per nested ${V:-...}; the depth is capped so that hostile input
 * cannot exhaust the stack. Pattern matching (#, %, /) uses a memoised backtracking matcher
 * with the leftmost-first preference of Go's regexp, so it stays O(pattern x value).
 * A substitution can still multiply its input (${V//x/$V$V} nested a few times grows
 * exponentially), so every expansion is capped at MAX_EXPANSION bytes.
 */
#include "dockerfile/lex.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/banned.h"

#define MAX_DEPTH 200
#define MAX_EXPANSION (1u << 20)

struct words {
	struct st_buf cur;
	bool in_word;
	char **v;
	size_t n, cap;
};

struct lex {
	const char *s;
	size_t len, pos;
	char esc;
	const struct st_dockerfile_lex_opts *o;
	const struct st_dockerfile_env *env;
	int depth;
	struct st_buf err; /* message of the first error */
};

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int peek(const struct lex *l)
{
	return l->pos < l->len ? (unsigned char)l->s[l->pos] : -1;
}

static int next(struct lex *l)
{
	return l->pos < l->len ? (unsigned char)l->s[l->pos++] : -1;
}

static int fail(struct lex *l, const char *msg)
{
	if (!l->err.len)
		st_buf_adds(&l->err, msg);
	return -1;
}

static void words_push(struct words *w)
{
	if (w->n + 2 > w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->v = st_xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	w->v[w->n++] = st_xstrdup(st_buf_str(&w->cur));
	w->v[w->n] = NULL;
	st_buf_reset(&w->cur);
	w->in_word = false;
}

static void words_addch(struct words *w, unsigned char c)
{
	if (!w)
		return;
	if (is_space(c)) {
		if (w->in_word && w->cur.len)
			words_push(w);
		return;
	}
	st_buf_addch(&w->cur, (char)c);
	w->in_word = true;
}

static void words_addraw(struct words *w, const char *p, size_t n)
{
	if (!w)
		return;
	st_buf_add(&w->cur, p, n);
	w->in_word = true;
}

static void words_finish(struct words *w)
{
	if (w->cur.len)
		words_push(w);
}

static void words_release(struct words *w)
{
	st_buf_release(&w->cur);
	if (w->v) {
		for (size_t i = 0; i < w->n; i++)
			free(w->v[i]);
		free(w->v);
	}
	w->v = NULL;
	w->n = w->cap = 0;
}

static const char *env_get(struct lex *l, const char *name)
{
	const struct st_dockerfile_env *e = l->env;
	if (!e)
		return NULL;
	if (e->lookup)
		return e->lookup(e->ctx, name);
	size_t n = strlen(name);
	for (size_t i = 0; i < e->nkv; i++) {
		const char *kv = e->kv[i];
		if (!kv)
			continue;
		if (strncmp(kv, name, n) == 0 && (kv[n] == '=' || kv[n] == '\0'))
			return kv[n] == '=' ? kv + n + 1 : "";
	}
	return NULL;
}

static int process_dollar(struct lex *l, struct st_buf *out);

static int single_quote(struct lex *l, struct st_buf *out)
{
	int c = next(l);
	if (l->o && l->o->raw_quotes)
		st_buf_addch(out, (char)c);
	for (;;) {
		c = next(l);
		if (c < 0)
			return fail(
			    l,
			    "unexpected end of statement while looking for matching single-quote");
		if (c == '\'') {
			if (l->o && l->o->raw_quotes)
				st_buf_addch(out, (char)c);
			return 0;
		}
		st_buf_addch(out, (char)c);
	}
}

static int double_quote(struct lex *l, bool raw_escapes, struct st_buf *out)
{
	int c = next(l);
	if (l->o && l->o->raw_quotes)
		st_buf_addch(out, (char)c);
	for (;;) {
		c = peek(l);
		if (c < 0)
			return fail(
			    l,
			    "unexpected end of statement while looking for matching double-quote");
		if (c == '"') {
			next(l);
			if (l->o && l->o->raw_quotes)
				st_buf_addch(out, (char)c);
			return 0;
		}
		if (c == '$') {
			if (process_dollar(l, out) < 0)
				return -1;
			continue;
		}
		c = next(l);
		if (c == (unsigned char)l->esc) {
			if (raw_escapes)
				st_buf_addch(out, (char)c);
			int p = peek(l);
			if (p < 0)
				continue; /* an escape at the end of the word is dropped */
			if (p == '"' || p == '$' || p == (unsigned char)l->esc)
				c = next(l);
		}
		st_buf_addch(out, (char)c);
	}
}

/*
 * Process until 'stop' (-1: end of input). 'result' gets the text, 'w' (may be NULL) the
 * words. With 'raw_escapes' the escape character is kept (patterns of # % /).
 */
static int process_stop_on(struct lex *l, int stop, bool raw_escapes, struct st_buf *result,
			   struct words *w)
{
	if (++l->depth > MAX_DEPTH) {
		l->depth--;
		return fail(l, "substitution nested too deeply");
	}
	bool quotes = !(l->o && l->o->skip_quotes);
	int rc = -1;
	while (peek(l) >= 0) {
		int c = peek(l);
		if (stop >= 0 && c == stop) {
			next(l);
			rc = 0;
			goto out;
		}
		if (c == '$' || (quotes && (c == '\'' || c == '"'))) {
			struct st_buf tmp = ST_BUF_INIT;
			int r;
			if (c == '$')
				r = process_dollar(l, &tmp);
			else if (c == '\'')
				r = single_quote(l, &tmp);
			else
				r = double_quote(l, raw_escapes, &tmp);
			if (r < 0) {
				st_buf_release(&tmp);
				goto out;
			}
			if (result->len + tmp.len > MAX_EXPANSION) {
				st_buf_release(&tmp);
				fail(l, "expansion larger than 1 MiB");
				goto out;
			}
			st_buf_add(result, tmp.data ? tmp.data : "", tmp.len);
			if (c == '$') {
				for (size_t i = 0; i < tmp.len; i++)
					words_addch(w, (unsigned char)tmp.data[i]);
			} else {
				words_addraw(w, st_buf_str(&tmp), tmp.len);
			}
			st_buf_release(&tmp);
			continue;
		}
		c = next(l);
		if (c == (unsigned char)l->esc) {
			if (raw_escapes) {
				char e = (char)c;
				words_addraw(w, &e, 1);
				st_buf_addch(result, e);
			}
			c = next(l);
			if (c < 0)
				break;
			char ch = (char)c;
			words_addraw(w, &ch, 1);
		} else {
			words_addch(w, (unsigned char)c);
		}
		st_buf_addch(result, (char)c);
	}
	if (stop >= 0) {
		struct st_buf m = ST_BUF_INIT;
		st_buf_addf(&m, "unexpected end of statement while looking for matching %c", stop);
		fail(l, m.data);
		st_buf_release(&m);
		goto out;
	}
	rc = 0;
out:
	l->depth--;
	return rc;
}

static bool is_special_param(int c)
{
	return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' ||
	       c == '0';
}

static bool is_name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c >= 0x80;
}

static void process_name(struct lex *l, struct st_buf *name)
{
	while (peek(l) >= 0) {
		int c = peek(l);
		if (name->len == 0 && c >= '0' && c <= '9') {
			while (peek(l) >= '0' && peek(l) <= '9')
				st_buf_addch(name, (char)next(l));
			return;
		}
		if (name->len == 0 && is_special_param(c)) {
			st_buf_addch(name, (char)next(l));
			return;
		}
		if (!is_name_char(c))
			return;
		st_buf_addch(name, (char)next(l));
	}
}

/* ---- shell patterns as BuildKit's convertShellPatternToRegex reads them ---- */

enum ptok_kind { PT_LIT, PT_ANY, PT_STAR };
struct ptok {
	enum ptok_kind kind;
	char c;
};

/* Tokenise a pattern; -1 with a message on an invalid escape. */
static int pattern_compile(const char *p, size_t n, struct ptok **out, size_t *nout,
			   struct st_buf *msg)
{
	struct ptok *t = st_xcalloc(n + 1, sizeof(*t));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '*') {
			t[k++] = (struct ptok){ PT_STAR, 0 };
		} else if (c == '?') {
			t[k++] = (struct ptok){ PT_ANY, 0 };
		} else if (c == '\\') {
			if (i + 1 < n && (p[i + 1] == '}' || p[i + 1] == '/'))
				continue; /* the escape of } and / belongs to ${}, not the pattern
					   */
			char e = i + 1 < n ? p[i + 1] : 0;
			if (e != '*' && e != '?' && e != '\\') {
				st_buf_addf(msg, "invalid escape '\\%c'", e ? e : ' ');
				free(t);
				return -1;
			}
			t[k++] = (struct ptok){ PT_LIT, e };
			i++;
		} else {
			t[k++] = (struct ptok){ PT_LIT, c };
		}
	}
	*out = t;
	*nout = k;
	return 0;
}

struct pmatch {
	const struct ptok *t;
	size_t nt;
	const char *s;
	size_t ns;
	bool greedy;
	int32_t *memo; /* (nt+1)*(ns+1): -2 unknown, -1 no match, else end offset */
};

static size_t utf8_len(const char *s, size_t i, size_t n)
{
	unsigned char c = (unsigned char)s[i];
	size_t w = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	return i + w <= n ? w : 1;
}

/* End of the preferred match of t[ti..] at s[si..], or -1 (Go regexp leftmost-first). */
static long pmatch_at(struct pmatch *m, size_t ti, size_t si)
{
	size_t key = ti * (m->ns + 1) + si;
	if (m->memo[key] != -2)
		return m->memo[key];
	long r = -1;
	if (ti == m->nt) {
		r = (long)si;
	} else if (m->t[ti].kind == PT_LIT) {
		if (si < m->ns && m->s[si] == m->t[ti].c)
			r = pmatch_at(m, ti + 1, si + 1);
	} else if (m->t[ti].kind == PT_ANY) {
		if (si < m->ns && m->s[si] != '\n')
			r = pmatch_at(m, ti + 1, si + utf8_len(m->s, si, m->ns));
	} else {
		/* '.' of Go's regexp does not match a newline */
		size_t max = si;
		while (max < m->ns && m->s[max] != '\n')
			max++;
		if (m->greedy) {
			for (size_t e = max + 1; e-- > si && r < 0;)
				r = pmatch_at(m, ti + 1, e);
		} else {
			for (size_t e = si; e <= max && r < 0; e++)
				r = pmatch_at(m, ti + 1, e);
		}
	}
	m->memo[key] = (int32_t)r;
	return r;
}

static int pmatch_init(struct pmatch *m, const struct ptok *t, size_t nt, const char *s, size_t ns,
		       bool greedy, struct st_buf *msg)
{
	if ((nt + 1) > SIZE_MAX / (ns + 1) || (nt + 1) * (ns + 1) > ((size_t)1 << 24) ||
	    ns > INT32_MAX) {
		st_buf_adds(msg, "pattern too large");
		return -1;
	}
	*m = (struct pmatch){ t, nt, s, ns, greedy, NULL };
	size_t cells = (nt + 1) * (ns + 1);
	m->memo = st_xmalloc(cells * sizeof(*m->memo));
	for (size_t i = 0; i < cells; i++)
		m->memo[i] = -2;
	return 0;
}

/* Find the leftmost match at or after 'from' into start and end; false if none. */
static bool pmatch_find(struct pmatch *m, size_t from, bool anchored, size_t *start, size_t *end)
{
	for (size_t si = from; si <= m->ns; si++) {
		long e = pmatch_at(m, 0, si);
		if (e >= 0) {
			*start = si;
			*end = (size_t)e;
			return true;
		}
		if (anchored)
			break;
	}
	return false;
}

static void reverse(char *s, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		char t = s[i];
		s[i] = s[n - 1 - i];
		s[n - 1 - i] = t;
	}
}

/* Reverse a pattern keeping "\x" escapes in front of their character. */
static char *reverse_pattern(const char *p, size_t n)
{
	char *out = st_xmalloc(n + 1);
	out[n] = 0;
	size_t last = n ? n - 1 : 0;
	for (size_t i = 0; i < n;) {
		size_t o = last - i;
		if (p[i] == '\\' && i != last) {
			out[o - 1] = p[i];
			out[o] = p[i + 1];
			i += 2;
		} else {
			out[o] = p[i];
			i++;
		}
	}
	return out;
}

/*
 * Compile 'pat' and set up a matcher over 'value'. On success *t and m->memo are new (free
 * both); on failure the lexer's error says which pattern was bad.
 */
static int pattern_prepare(struct lex *l, const char *pat, size_t npat, const char *value,
			   size_t nv, bool greedy, struct ptok **t, struct pmatch *m)
{
	size_t nt = 0;
	struct st_buf msg = ST_BUF_INIT;
	if (pattern_compile(pat, npat, t, &nt, &msg) < 0 ||
	    pmatch_init(m, *t, nt, value, nv, greedy, &msg) < 0) {
		struct st_buf e = ST_BUF_INIT;
		st_buf_addf(&e, "invalid pattern (%.*s) in substitution: %s", (int)npat, pat,
			    msg.data);
		fail(l, e.data);
		st_buf_release(&e);
		st_buf_release(&msg);
		free(*t);
		*t = NULL;
		return -1;
	}
	st_buf_release(&msg);
	return 0;
}

static int trim_prefix(struct lex *l, const char *pat, size_t npat, const char *value, bool greedy,
		       struct st_buf *out)
{
	struct ptok *t = NULL;
	struct pmatch m;
	if (pattern_prepare(l, pat, npat, value, strlen(value), greedy, &t, &m) < 0)
		return -1;
	size_t s, e;
	if (pmatch_find(&m, 0, true, &s, &e))
		st_buf_adds(out, value + e);
	else
		st_buf_adds(out, value);
	free(m.memo);
	free(t);
	return 0;
}

static int trim_suffix(struct lex *l, const char *pat, size_t npat, const char *value, bool greedy,
		       struct st_buf *out)
{
	/* As BuildKit: reverse both and trim a prefix, since the shortest rightmost match is
	 * not something a leftmost matcher finds directly. */
	st_autofree char *rp = reverse_pattern(pat, npat);
	st_autofree char *rv = st_xstrdup(value);
	reverse(rv, strlen(rv));
	struct st_buf tmp = ST_BUF_INIT;
	if (trim_prefix(l, rp, npat, rv, greedy, &tmp) < 0) {
		st_buf_release(&tmp);
		return -1;
	}
	reverse(tmp.data ? tmp.data : rv, tmp.len);
	st_buf_add(out, st_buf_str(&tmp), tmp.len);
	st_buf_release(&tmp);
	return 0;
}

/* Go's regexp.Expand for a template without named groups: $$, $0/${0}, other refs empty. */
static void expand_template(struct st_buf *out, const char *tpl, const char *match, size_t nmatch)
{
	for (const char *p = tpl; *p; p++) {
		if (*p != '$') {
			st_buf_addch(out, *p);
			continue;
		}
		if (p[1] == '$') {
			st_buf_addch(out, '$');
			p++;
			continue;
		}
		const char *name = p + 1, *end;
		bool brace = *name == '{';
		if (brace)
			name++;
		end = name;
		while (is_name_char((unsigned char)*end) && (unsigned char)*end < 0x80)
			end++;
		if (end == name || (brace && *end != '}')) {
			st_buf_addch(out, '$'); /* malformed: a literal $ */
			continue;
		}
		bool digits = true;
		for (const char *q = name; q < end; q++)
			digits = digits && *q >= '0' && *q <= '9';
		if (digits && end - name == 1 && *name == '0')
			st_buf_add(out, match, nmatch);
		else if (digits && strspn(name, "0") == (size_t)(end - name))
			st_buf_add(out, match, nmatch);
		p = brace ? end : end - 1;
	}
}

static int replace(struct lex *l, const char *pat, size_t npat, const char *repl, const char *value,
		   bool all, struct st_buf *out)
{
	struct ptok *t = NULL;
	struct pmatch m;
	size_t nv = strlen(value);
	if (pattern_prepare(l, pat, npat, value, nv, true, &t, &m) < 0)
		return -1;
	size_t s, e;
	if (!all) {
		if (pmatch_find(&m, 0, false, &s, &e)) {
			st_buf_add(out, value, s);
			st_buf_adds(out, repl);
			st_buf_adds(out, value + e);
		} else {
			st_buf_adds(out, value);
		}
	} else {
		/* Go's Regexp.ReplaceAllString loop, empty-match rules included. */
		size_t search = 0, last_end = 0;
		while (search <= nv && pmatch_find(&m, search, false, &s, &e)) {
			if (out->len > MAX_EXPANSION) {
				free(m.memo);
				free(t);
				return fail(l, "expansion larger than 1 MiB");
			}
			st_buf_add(out, value + last_end, s - last_end);
			if (e > last_end || s == 0)
				expand_template(out, repl, value + s, e - s);
			last_end = e;
			size_t w = search < nv ? utf8_len(value, search, nv) : 0;
			if (search + w > e)
				search += w;
			else if (search + 1 > e)
				search++;
			else
				search = e;
		}
		st_buf_adds(out, value + last_end);
	}
	free(m.memo);
	free(t);
	return 0;
}

static int process_dollar(struct lex *l, struct st_buf *out)
{
	bool skip_unset = l->o && l->o->skip_unset;
	next(l);
	if (peek(l) != '{') {
		struct st_buf name = ST_BUF_INIT;
		process_name(l, &name);
		if (!name.len) {
			st_buf_addch(out, '$');
		} else {
			const char *v = env_get(l, name.data);
			if (!v && skip_unset)
				st_buf_addf(out, "$%s", name.data);
			else if (v)
				st_buf_adds(out, v);
		}
		st_buf_release(&name);
		return 0;
	}
	next(l);
	int c = peek(l);
	if (c < 0)
		return fail(l, "syntax error: missing '}'");
	if (c == '{' || c == '}' || c == ':')
		return fail(l, "syntax error: bad substitution");

	st_autofree char *name = NULL;
	{
		struct st_buf nb = ST_BUF_INIT;
		process_name(l, &nb);
		name = st_buf_detach(&nb, NULL);
	}
	int ch = next(l);
	char chs[3] = { (char)(ch < 0 ? 0 : ch), 0, 0 };
	bool null_is_unset = false;
	int rc = -1;
	struct st_buf word = ST_BUF_INIT;
	struct st_buf msg = ST_BUF_INIT;

	switch (ch) {
	case '}': {
		const char *v = env_get(l, name);
		if (!v && skip_unset)
			st_buf_addf(out, "${%s}", name);
		else if (v)
			st_buf_adds(out, v);
		return 0;
	}
	case ':':
		null_is_unset = true;
		ch = next(l);
		chs[1] = (char)(ch < 0 ? 0 : ch);
		/* fall through */
	case '+':
	case '-':
	case '?':
	case '#':
	case '%': {
		bool raw = ch == '#' || ch == '%';
		if (null_is_unset && raw) {
			st_buf_addf(&msg, "unsupported modifier (%s) in substitution", chs);
			fail(l, msg.data);
			goto done;
		}
		if (process_stop_on(l, '}', raw, &word, NULL) < 0) {
			if (peek(l) < 0) {
				st_buf_reset(&l->err);
				fail(l, "syntax error: missing '}'");
			}
			goto done;
		}
		const char *v = env_get(l, name);
		bool set = v != NULL;
		if (!set)
			v = "";
		if (skip_unset && !set) {
			st_buf_addf(out, "${%s%s%s}", name, chs, st_buf_str(&word));
			rc = 0;
			goto done;
		}
		switch (ch) {
		case '-':
			st_buf_adds(out, (!set || (null_is_unset && !*v)) ? st_buf_str(&word) : v);
			rc = 0;
			break;
		case '+':
			if (!(!set || (null_is_unset && !*v)))
				st_buf_adds(out, st_buf_str(&word));
			rc = 0;
			break;
		case '?':
			if (!set || (null_is_unset && !*v)) {
				const char *m = word.len ? word.data
						: !set	 ? "is not allowed to be unset"
							 : "is not allowed to be empty";
				st_buf_addf(&msg, "%s: %s", name, m);
				fail(l, msg.data);
				break;
			}
			st_buf_adds(out, v);
			rc = 0;
			break;
		case '%':
		case '#': {
			const char *p = st_buf_str(&word);
			size_t np = word.len;
			bool greedy = false;
			if (np && p[0] == (char)ch) {
				greedy = true;
				p++;
				np--;
			}
			rc = ch == '%' ? trim_suffix(l, p, np, v, greedy, out)
				       : trim_prefix(l, p, np, v, greedy, out);
			break;
		}
		default:
			st_buf_addf(&msg, "unsupported modifier (%s) in substitution", chs);
			fail(l, msg.data);
		}
		goto done;
	}
	case '/': {
		bool all = peek(l) == '/';
		if (all)
			next(l);
		struct st_buf repl = ST_BUF_INIT;
		if (process_stop_on(l, '/', true, &word, NULL) < 0) {
			if (peek(l) < 0) {
				st_buf_reset(&l->err);
				fail(l, "syntax error: missing '/' in ${}");
			}
			goto done;
		}
		if (process_stop_on(l, '}', true, &repl, NULL) < 0) {
			if (peek(l) < 0) {
				st_buf_reset(&l->err);
				fail(l, "syntax error: missing '}'");
			}
			st_buf_release(&repl);
			goto done;
		}
		const char *v = env_get(l, name);
		if (!v && skip_unset) {
			st_buf_addf(out, "${%s/%s/%s}", name, st_buf_str(&word), st_buf_str(&repl));
			rc = 0;
		} else {
			rc = replace(l, st_buf_str(&word), word.len, st_buf_str(&repl), v ? v : "",
				     all, out);
		}
		st_buf_release(&repl);
		goto done;
	}
	default:
		if (ch < 0)
			st_buf_adds(&msg, "syntax error: missing '}'");
		else
			st_buf_addf(&msg, "unsupported modifier (%s) in substitution", chs);
		fail(l, msg.data);
	}
done:
	st_buf_release(&word);
	st_buf_release(&msg);
	return rc;
}

int st_dockerfile_lex(const char *word, const struct st_dockerfile_env *env, char escape,
		      const struct st_dockerfile_lex_opts *o, struct st_buf *result, char ***words,
		      size_t *nwords, struct st_error **err)
{
	struct lex l = { .s = word,
			 .len = strlen(word),
			 .esc = escape ? escape : '\\',
			 .o = o,
			 .env = env,
			 .err = ST_BUF_INIT };
	struct words w = { .cur = ST_BUF_INIT };
	struct st_buf res = ST_BUF_INIT;
	if (process_stop_on(&l, -1, o && o->raw_escapes, &res, words ? &w : NULL) < 0) {
		st_err(err, ST_E_PARSE, "failed to process \"%s\": %s", word, st_buf_str(&l.err));
		st_buf_release(&l.err);
		st_buf_release(&res);
		words_release(&w);
		return -1;
	}
	st_buf_release(&l.err);
	if (result)
		st_buf_add(result, st_buf_str(&res), res.len);
	st_buf_release(&res);
	if (words) {
		words_finish(&w);
		if (!w.v)
			w.v = st_xcalloc(1, sizeof(char *));
		*words = w.v;
		if (nwords)
			*nwords = w.n;
		w.v = NULL;
		words_release(&w);
	}
	return 0;
}

int st_dockerfile_expand(const char *word, const struct st_dockerfile_env *env, char escape,
			 char **out, struct st_error **err)
{
	struct st_buf b = ST_BUF_INIT;
	if (st_dockerfile_lex(word, env, escape, NULL, &b, NULL, NULL, err) < 0) {
		st_buf_release(&b);
		return -1;
	}
	*out = st_buf_detach(&b, NULL);
	return 0;
}

int st_dockerfile_words(const char *word, const struct st_dockerfile_env *env, char escape,
			char ***words, size_t *n, struct st_error **err)
{
	return st_dockerfile_lex(word, env, escape, NULL, NULL, words, n, err);
}

void st_dockerfile_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int st_dockerfile_heredoc_body(const struct st_dockerfile_heredoc *h,
			       const struct st_dockerfile_env *env, char escape, char **out,
			       struct st_error **err)
{
	if (!h->expand) {
		*out = st_xstrdup(h->content);
		return 0;
	}
	struct st_buf body = ST_BUF_INIT;
	struct st_dockerfile_lex_opts lo = { .skip_quotes = true };
	if (st_dockerfile_lex(h->content, env, escape, &lo, &body, NULL, NULL, err) < 0) {
		st_buf_release(&body);
		return -1;
	}
	*out = st_buf_detach(&body, NULL);
	return 0;
}
