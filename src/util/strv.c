#include "util/strv.h"

#include <stdlib.h>

#include "util/buf.h"
#include "util/banned.h"

void st_strv_push_owned(struct st_strv *s, char *owned)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->v = st_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = owned;
	s->v[s->n] = NULL;
}

void st_strv_push(struct st_strv *s, const char *str)
{
	st_strv_push_owned(s, st_xstrdup(str));
}

void st_strv_release(struct st_strv *s)
{
	st_strv_free(s->v, s->n);
	s->v = NULL;
	s->n = s->cap = 0;
}

void st_strv_append(char ***v, size_t *n, const char *s)
{
	*v = st_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = st_xstrdup(s);
}

void st_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
