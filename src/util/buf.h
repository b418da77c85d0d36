/* buf.h: one growable, always NUL-terminated byte buffer (git's strbuf). */
#ifndef ST_UTIL_BUF_H
#define ST_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct st_buf {
	char *data; /* never NULL after any call; "" when empty */
	size_t len, cap;
};

#define ST_BUF_INIT                                                                                \
	{                                                                                          \
		.data = NULL, .len = 0, .cap = 0                                                   \
	}

/* Make room for 'extra' more bytes (plus the NUL). Running out of memory aborts. */
void st_buf_grow(struct st_buf *b, size_t extra);
void st_buf_add(struct st_buf *b, const void *p, size_t n);
void st_buf_adds(struct st_buf *b, const char *s);
/* Inline: lexers add a character at a time, and most of the time there is room. */
static inline void st_buf_addch(struct st_buf *b, char c)
{
	if (b->data && b->len + 2 <= b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return;
	}
	st_buf_add(b, &c, 1);
}
void st_buf_addf(struct st_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void st_buf_vaddf(struct st_buf *b, const char *fmt, va_list ap);
void st_buf_setlen(struct st_buf *b, size_t len);
void st_buf_reset(struct st_buf *b); /* len = 0, keeps memory */
/* Borrowed: "" for an empty, never-grown buffer. */
const char *st_buf_str(const struct st_buf *b);
/* New: the caller frees. The buffer is back to ST_BUF_INIT. */
char *st_buf_detach(struct st_buf *b, size_t *len);
void st_buf_release(struct st_buf *b);

/* Allocation helpers that abort on out-of-memory. */
void *st_xmalloc(size_t n);
void *st_xcalloc(size_t n, size_t size);
void *st_xrealloc(void *p, size_t n);
char *st_xstrdup(const char *s);
char *st_xstrndup(const char *s, size_t n);
char *st_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
