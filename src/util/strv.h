/*
 * strv.h: vectors of strings. The growable one, kept NULL-terminated so that it serves as an
 * argv; and helpers for the plain (char **v, size_t n) pairs that APIs hand out.
 */
#ifndef ST_UTIL_STRV_H
#define ST_UTIL_STRV_H

#include <stddef.h>

struct st_strv {
	char **v; /* NULL-terminated once anything was pushed; NULL before */
	size_t n, cap;
};

/* Append a copy of 's'. */
void st_strv_push(struct st_strv *s, const char *str);
/* Append 'owned', which the vector frees. */
void st_strv_push_owned(struct st_strv *s, char *owned);
void st_strv_release(struct st_strv *s);
#define st_auto_strv __attribute__((cleanup(st_strv_release)))

/* Append a copy of 's' to the pair (*v, *n). */
void st_strv_append(char ***v, size_t *n, const char *s);
/* Free 'n' strings and the vector; NULL does nothing. */
void st_strv_free(char **v, size_t n);

#endif
