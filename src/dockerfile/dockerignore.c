/*
 * dockerignore.c: moby/patternmatcher's semantics without its regular expressions. A pattern
 * there becomes an anchored regexp: "*" is [^/]*, "?" is [^/], "**" (with a following "/"
 * eaten) is "(.* then /)?" and ".*" at the end, "[...]" a character class, "\x" a literal x. A path
 * is excluded when the last pattern that matches it, or one of its parent directories, is not an
 * exception. The matcher here walks the same token list with memoised backtracking.
 */
#include "dockerfile/dockerignore.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

enum tk { T_LIT, T_ANY, T_STAR, T_DSTAR_DIR, T_DSTAR_END, T_CLASS };

struct tok {
	enum tk kind;
	char c;	       /* T_LIT: one byte (a multi-byte literal is several tokens) */
	uint32_t *set; /* T_CLASS: pairs lo,hi of code points */
	size_t nset;   /* number of pairs */
	bool negate;
};

struct pattern {
	char *text; /* cleaned, without "!" */
	bool exclusion;
	struct tok *t;
	size_t nt;
};

struct st_dockerignore {
	struct pattern *p;
	size_t n;
};

struct st_dockerignore *st_dockerignore_new(void)
{
	return st_xcalloc(1, sizeof(struct st_dockerignore));
}

static void pattern_release(struct pattern *p)
{
	for (size_t i = 0; i < p->nt; i++)
		free(p->t[i].set);
	free(p->t);
	free(p->text);
}

void st_dockerignore_free(struct st_dockerignore *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		pattern_release(&m->p[i]);
	free(m->p);
	free(m);
}

void st_dockerignore_freep(struct st_dockerignore **m)
{
	st_dockerignore_free(*m);
	*m = NULL;
}

/*
 * The code point at s[0..n) (n >= 1) and its width, as Go's utf8.DecodeRune: a byte that does
 * not start a valid sequence is U+FFFD of width 1. Go's regexp, which patternmatcher's
 * patterns become, reads paths this way, so "?" and "[^a]" take one character, not one byte.
 */
static size_t rune_at(const char *s, size_t n, uint32_t *r)
{
	const unsigned char *u = (const unsigned char *)s;
	*r = 0xfffd;
	if (u[0] < 0x80) {
		*r = u[0];
		return 1;
	}
	size_t w = u[0] >= 0xc2 && u[0] < 0xe0	 ? 2
		   : u[0] >= 0xe0 && u[0] < 0xf0 ? 3
		   : u[0] >= 0xf0 && u[0] < 0xf5 ? 4
						 : 0;
	if (!w || w > n)
		return 1;
	uint32_t cp = u[0] & (0x7f >> w);
	for (size_t i = 1; i < w; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 1;
		cp = cp << 6 | (u[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[w] || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
		return 1;
	*r = cp;
	return w;
}

/* Go's filepath.Clean for "/"-separated paths. New string. */
static char *path_clean(const char *p)
{
	if (!*p)
		return st_xstrdup(".");
	bool rooted = *p == '/';
	size_t n = strlen(p);
	char *out = st_xmalloc(n + 2);
	size_t w = 0, dotdot = 0;
	size_t r = 0;
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && p[r] != '/'; r++)
				out[w++] = p[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = 0;
	return out;
}

static int bad_pattern(struct st_error **err, const char *shown, const char *why)
{
	return st_err(err, ST_E_PARSE, "invalid .dockerignore pattern \"%s\": %s", shown, why);
}

/*
 * One member bound of a character class at s[*j], as Go's filepath.Match reads it (getEsc):
 * "-" and "]" must be escaped there, and the class must go on after it.
 */
static int class_char(const char *s, size_t n, size_t *j, uint32_t *r, const char *shown,
		      struct st_error **err)
{
	if (*j >= n)
		return bad_pattern(err, shown, "missing closing ]");
	if (s[*j] == '-' || s[*j] == ']')
		return bad_pattern(err, shown,
				   s[*j] == '-' ? "character range with a missing start"
						: "empty character class");
	if (s[*j] == '\\' && ++*j >= n)
		return bad_pattern(err, shown, "missing closing ]");
	size_t w = rune_at(s + *j, n - *j, r);
	if (*r == 0xfffd && w == 1 && (unsigned char)s[*j] >= 0x80)
		return bad_pattern(err, shown, "invalid UTF-8 in a character class");
	*j += w;
	if (*j >= n)
		return bad_pattern(err, shown, "missing closing ]");
	return 0;
}

/*
 * Compile the cleaned pattern pt->text into tokens. Patterns are checked as moby/patternmatcher
 * checks them, by Go's filepath.Match: an unclosed or empty class, a range without an end and
 * a trailing backslash are errors, named with 'shown' (the pattern as written).
 */
static int compile(struct pattern *pt, const char *shown, struct st_error **err)
{
	const char *s = pt->text;
	size_t n = strlen(s);
	pt->t = st_xcalloc(n + 1, sizeof(*pt->t));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		struct tok *t = &pt->t[k];
		if (c == '*') {
			if (s[i + 1] == '*') {
				i++;
				if (s[i + 1] == '/')
					i++;
				t->kind = i + 1 >= n ? T_DSTAR_END : T_DSTAR_DIR;
			} else {
				t->kind = T_STAR;
			}
		} else if (c == '?') {
			t->kind = T_ANY;
		} else if (c == '\\') {
			if (i + 1 >= n)
				return bad_pattern(err, shown, "trailing backslash");
			t->kind = T_LIT;
			t->c = s[++i];
		} else if (c == '[') {
			size_t j = i + 1;
			t->kind = T_CLASS;
			/* Go's filepath.Match only negates with '^'; '!' stays a member there */
			if (j < n && s[j] == '^') {
				t->negate = true;
				j++;
			}
			t->set = st_xmalloc((2 * (n - i) + 2) * sizeof(*t->set));
			pt->nt = k + 1; /* so that an error below still frees the set */
			while (j >= n || s[j] != ']' || !t->nset) {
				uint32_t lo, hi;
				if (class_char(s, n, &j, &lo, shown, err) < 0)
					return -1;
				hi = lo;
				if (s[j] == '-') {
					j++;
					if (j >= n || s[j] == ']')
						return bad_pattern(
						    err, shown,
						    "character range with a missing end");
					if (class_char(s, n, &j, &hi, shown, err) < 0)
						return -1;
					if (hi < lo)
						return bad_pattern(err, shown,
								   "bad character range");
				}
				t->set[2 * t->nset] = lo;
				t->set[2 * t->nset + 1] = hi;
				t->nset++;
			}
			i = j;
		} else {
			t->kind = T_LIT;
			t->c = c;
		}
		k++;
	}
	pt->nt = k;
	return 0;
}

struct mstate {
	const struct tok *t;
	size_t nt;
	const char *s;
	size_t ns;
	unsigned char *seen; /* (nt+1)*(ns+1) failed states */
};

static bool in_class(const struct tok *t, uint32_t c)
{
	bool in = false;
	for (size_t i = 0; i < t->nset && !in; i++)
		in = c >= t->set[2 * i] && c <= t->set[2 * i + 1];
	return in != t->negate;
}

static bool m_at(struct mstate *m, size_t ti, size_t si)
{
	size_t key = ti * (m->ns + 1) + si;
	if (m->seen[key])
		return false;
	bool ok = false;
	uint32_t r;
	if (ti == m->nt) {
		ok = si == m->ns;
	} else {
		const struct tok *t = &m->t[ti];
		switch (t->kind) {
		case T_LIT:
			ok = si < m->ns && m->s[si] == t->c && m_at(m, ti + 1, si + 1);
			break;
		case T_ANY:
			ok = si < m->ns && m->s[si] != '/' &&
			     m_at(m, ti + 1, si + rune_at(m->s + si, m->ns - si, &r));
			break;
		case T_CLASS:
			if (si < m->ns) {
				size_t w = rune_at(m->s + si, m->ns - si, &r);
				ok = in_class(t, r) && m_at(m, ti + 1, si + w);
			}
			break;
		case T_STAR:
			for (size_t e = si;; e++) {
				if (m_at(m, ti + 1, e)) {
					ok = true;
					break;
				}
				if (e >= m->ns || m->s[e] == '/')
					break;
			}
			break;
		case T_DSTAR_DIR: /* any run of whole directories, or none */
			ok = m_at(m, ti + 1, si);
			for (size_t e = si; !ok && e < m->ns; e++)
				if (m->s[e] == '/' && m->s[e] != '\n')
					ok = m_at(m, ti + 1, e + 1);
			break;
		case T_DSTAR_END:
			ok = true;
			for (size_t e = si; e < m->ns; e++)
				ok = ok && m->s[e] != '\n';
			ok = ok && m_at(m, ti + 1, m->ns);
			break;
		}
	}
	if (!ok)
		m->seen[key] = 1;
	return ok;
}

static bool pattern_match(const struct pattern *p, const char *s, size_t n)
{
	struct mstate m = { p->t, p->nt, s, n, NULL };
	m.seen = st_xcalloc((p->nt + 1) * (n + 1), 1);
	bool ok = m_at(&m, 0, 0);
	free(m.seen);
	return ok;
}

int st_dockerignore_add_pattern(struct st_dockerignore *m, const char *pattern,
				struct st_error **err)
{
	while (*pattern == ' ' || *pattern == '\t')
		pattern++;
	size_t n = strlen(pattern);
	while (n && (pattern[n - 1] == ' ' || pattern[n - 1] == '\t' || pattern[n - 1] == '\r'))
		n--;
	if (!n)
		return 0;
	st_autofree char *p = st_xstrndup(pattern, n);
	bool excl = p[0] == '!';
	const char *body = p + excl;
	if (excl) {
		while (*body == ' ' || *body == '\t')
			body++;
		if (!*body)
			return st_err(err, ST_E_PARSE, "illegal exclusion pattern: \"!\"");
	}
	char *clean = path_clean(body);
	if (clean[0] == '/' && clean[1]) {
		char *t = st_xstrdup(clean + 1);
		free(clean);
		clean = t;
	}
	struct pattern pt = { .text = clean, .exclusion = excl };
	if (compile(&pt, p, err) < 0) {
		pattern_release(&pt);
		return -1;
	}
	m->p = st_xrealloc(m->p, (m->n + 1) * sizeof(*m->p));
	m->p[m->n++] = pt;
	return 0;
}

int st_dockerignore_add_text(struct st_dockerignore *m, const char *name, const char *text,
			     size_t len, struct st_error **err)
{
	size_t off = 0;
	int line = 0;
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
		off = 3;
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t e = nl ? (size_t)(nl - text) : len;
		line++;
		st_autofree char *l = st_xstrndup(text + off, e - off);
		off = e + 1;
		if (l[0] == '#')
			continue;
		if (st_dockerignore_add_pattern(m, l, err) < 0)
			return st_err_wrap(err, "%s:%d", name ? name : ".dockerignore", line);
	}
	return 0;
}

bool st_dockerignore_matches(const struct st_dockerignore *m, const char *path)
{
	size_t n = strlen(path);
	bool matched = false;
	/* parent directories: every prefix ending before a '/' */
	for (size_t i = 0; i < m->n; i++) {
		const struct pattern *p = &m->p[i];
		if (p->exclusion != matched)
			continue;
		bool hit = pattern_match(p, path, n);
		for (size_t k = 0; !hit && k < n; k++)
			if (path[k] == '/')
				hit = pattern_match(p, path, k);
		if (hit)
			matched = !p->exclusion;
	}
	return matched;
}

/*
 * Could exception 'p' match 'dir' + "/..."? Compare it segment by segment with the directory:
 * a "**" could match anything from there; a segment that fails rules it out; an exception
 * with more segments than the directory could match inside.
 */
static bool exception_may_match_under(const struct pattern *p, const char *dir)
{
	const char *pt = p->text, *d = dir;
	for (;;) {
		const char *pe = strchr(pt, '/');
		size_t pn = pe ? (size_t)(pe - pt) : strlen(pt);
		if (memmem(pt, pn, "**", 2))
			return true;
		const char *de = strchr(d, '/');
		size_t dn = de ? (size_t)(de - d) : strlen(d);
		st_autofree char *seg = st_xstrndup(pt, pn);
		struct pattern one = { .text = seg };
		struct st_error *e = NULL;
		bool ok = compile(&one, seg, &e) == 0 && pattern_match(&one, d, dn);
		st_error_free(e);
		one.text = NULL;
		pattern_release(&one);
		if (!ok)
			return false;
		if (!pe)
			return false; /* the exception names the directory itself (or a parent) */
		if (!de)
			return true; /* more pattern left: something under dir */
		pt = pe + 1;
		d = de + 1;
	}
}

bool st_dockerignore_may_include_under(const struct st_dockerignore *m, const char *dir)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->p[i].exclusion && exception_may_match_under(&m->p[i], dir))
			return true;
	return false;
}

int st_dockerignore_load(const char *context, const char *dockerfile, struct st_dockerignore **out,
			 struct st_error **err)
{
	struct st_dockerignore *m = st_dockerignore_new();
	st_autofree char *path = NULL;
	if (dockerfile) {
		path = st_xasprintf("%s.dockerignore", dockerfile);
		if (!st_path_exists(path)) {
			free(path);
			path = NULL;
		}
	}
	if (!path)
		path = st_path_join(context, ".dockerignore");
	struct st_buf b = ST_BUF_INIT;
	if (st_path_exists(path)) {
		if (st_read_file(path, &b, err) < 0 ||
		    st_dockerignore_add_text(m, path, st_buf_str(&b), b.len, err) < 0) {
			st_buf_release(&b);
			st_dockerignore_free(m);
			return -1;
		}
	}
	st_buf_release(&b);
	*out = m;
	return 0;
}

static int walk_dir(const struct st_dockerignore *m, const char *root, const char *rel,
		    bool parent_excluded, st_dockerignore_walk_fn fn, void *ctx,
		    struct st_error **err)
{
	st_autofree char *path = *rel ? st_path_join(root, rel) : st_xstrdup(root);
	DIR *d = opendir(path);
	if (!d)
		return st_err_errno(err, "open directory '%s'", path);
	char **names = NULL;
	size_t n = 0;
	int rc = st_dir_names(d, path, &names, &n, err);
	closedir(d);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		st_autofree char *r =
		    *rel ? st_xasprintf("%s/%s", rel, names[i]) : st_xstrdup(names[i]);
		st_autofree char *full = st_path_join(root, r);
		struct stat st;
		if (lstat(full, &st) < 0) {
			rc = st_err_errno(err, "stat '%s'", full);
			break;
		}
		bool excluded = st_dockerignore_matches(m, r);
		if (S_ISDIR(st.st_mode)) {
			if (excluded && !st_dockerignore_may_include_under(m, r))
				continue; /* never read what the patterns rule out */
			if (!excluded && (rc = fn(ctx, r, &st)) != 0)
				break;
			rc = walk_dir(m, root, r, excluded, fn, ctx, err);
		} else if (!excluded) {
			rc = fn(ctx, r, &st);
		}
	}
	(void)parent_excluded;
	st_strv_free(names, n);
	return rc;
}

int st_dockerignore_walk(const struct st_dockerignore *m, const char *context,
			 st_dockerignore_walk_fn fn, void *ctx, struct st_error **err)
{
	return walk_dir(m, context, "", false, fn, ctx, err);
}
