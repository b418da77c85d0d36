/* lex.h: the word lexer behind st_dockerfile_expand/words, with BuildKit's internal switches. */
#ifndef ST_DOCKERFILE_LEX_H
#define ST_DOCKERFILE_LEX_H

#include "dockerfile/dockerfile.h"

struct st_dockerfile_lex_opts {
	bool raw_quotes;  /* keep quote characters in the output */
	bool raw_escapes; /* keep escape characters in the output */
	bool skip_unset;  /* leave $V / ${V...} of unset V as written */
	bool skip_quotes; /* quotes are plain characters */
};

/*
 * Process 'word': the expansion is appended to 'result' (may be NULL), the split words (a new
 * NULL-terminated vector) stored in *words when 'words' is not NULL.
 */
int st_dockerfile_lex(const char *word, const struct st_dockerfile_env *env, char escape,
		      const struct st_dockerfile_lex_opts *o, struct st_buf *result, char ***words,
		      size_t *nwords, struct st_error **err);

#endif
