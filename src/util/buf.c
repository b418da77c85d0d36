#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

/* Running out of memory aborts: every caller would only pass the failure up and die. */
void *st_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *st_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		abort();
	return p;
}

void *st_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();
	return q;
}

char *st_xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		abort();
	return p;
}

char *st_xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		abort();
	return p;
}

char *st_xasprintf(const char *fmt, ...)
{
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return st_buf_detach(&b, NULL);
}

void st_buf_grow(struct st_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap && b->data)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = st_xrealloc(b->data, cap);
	b->cap = cap;
	b->data[b->len] = '\0';
}

void st_buf_add(struct st_buf *b, const void *p, size_t n)
{
	st_buf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void st_buf_adds(struct st_buf *b, const char *s)
{
	st_buf_add(b, s, strlen(s));
}

void st_buf_vaddf(struct st_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		abort();
	st_buf_grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void st_buf_addf(struct st_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void st_buf_setlen(struct st_buf *b, size_t len)
{
	st_buf_grow(b, len > b->len ? len - b->len : 0);
	b->len = len;
	b->data[len] = '\0';
}

void st_buf_reset(struct st_buf *b)
{
	if (b->data)
		st_buf_setlen(b, 0);
}

const char *st_buf_str(const struct st_buf *b)
{
	return b->data ? b->data : "";
}

char *st_buf_detach(struct st_buf *b, size_t *len)
{
	st_buf_grow(b, 0);
	char *p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void st_buf_release(struct st_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
