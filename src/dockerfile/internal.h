/* internal.h: what the files of src/dockerfile/ share and nobody else sees. */
#ifndef ST_DOCKERFILE_INTERNAL_H
#define ST_DOCKERFILE_INTERNAL_H

#include "dockerfile/dockerfile.h"
#include "util/strv.h"

void dockerfile_instr_release(struct st_dockerfile_instr *in);

/* Line of source 'line' (1-based) of the text being parsed, without its newline. */
struct src {
	const char *name;
	const char *text;
	size_t len;
	size_t *line_off; /* start offset of each line */
	size_t nlines;
};

/* Set a parse error "name:line: msg" followed by the source line. Returns -1. */
int dockerfile_src_error(const struct src *s, int line, struct st_error **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Append a diagnostic of BuildKit's rule 'rule' (which must exist); 'fix' is owned or NULL. */
void dockerfile_diag_add(struct st_dockerfile_diag **v, size_t *n, const char *rule, int start,
			 int end, char *fix, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
void dockerfile_diags_free(struct st_dockerfile_diag *v, size_t n);

/* Check the instructions, fill flags, diagnostics and stages (the second phase of parsing). */
int dockerfile_df_check(struct st_dockerfile *df, const struct src *s, struct st_error **err);

#endif
