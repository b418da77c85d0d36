/*
 * template.h: a subset of Go's text/template over jansson values, enough for Docker's
 * --format strings. Parse once, execute many times (once per row).
 *
 * Supported: text, {{.Field.Sub}}, {{.}}, {{$}}, {{$var}} and {{$x := ...}} / {{$x = ...}},
 * {{if}} / {{else if}} / {{else}} / {{end}}, {{range}} (arrays, and objects in key order, with
 * {{range $i, $e := ...}} and {{else}}), {{with}}, pipelines {{.X | json}}, parentheses,
 * string ("\t", `raw`), number, true/false/nil literals, comments (a slash-star comment alone
 * in an action), the trim markers
 * {{- and -}}, and the functions of text/template (and, or, not, len, index, print, printf,
 * println, eq, ne, lt, le, gt, ge) and of Docker's CLI (json, join, split, upper, lower,
 * title, truncate, pad). Not supported: define, template, block, break, continue, slice, call.
 *
 * Values print as Go's fmt prints what encoding/json decodes: strings raw, integers without
 * ".0", reals as %v (1.5, 1e+06), true/false, arrays as [a b c], objects as map[k:v] with
 * sorted keys, null inside a container as <nil>. A missing key, or null, printed directly
 * gives "<no value>", as Go prints a missing map key.
 *
 * Errors are ST_E_PARSE for the template text ("template: :1:9: unexpected \"}\" in
 * operand") and ST_E_INVALID for execution ("template: :1:2: executing \"\" at <.A.B>: can't
 * evaluate field B in type string"). Nothing aborts on any input text.
 */
#ifndef ST_TEMPLATE_TEMPLATE_H
#define ST_TEMPLATE_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>

#include "util/buf.h"
#include "util/err.h"

struct st_template;

enum st_template_flags {
	/*
	 * Docker's CLI conventions: a leading "table" word is removed and remembered
	 * (st_template_is_table()), and the whole string "json" means {{json .}}.
	 */
	ST_TEMPLATE_DOCKER = 1 << 0,
};

/* Parse 'text' as is (no "table" handling). *out is new: st_template_free(). */
int st_template_parse(const char *text, struct st_template **out, struct st_error **err);
int st_template_parse_flags(const char *text, unsigned flags, struct st_template **out,
			    struct st_error **err);
/*
 * True if the text began with "table" under ST_TEMPLATE_DOCKER: print a header row (run the
 * template on an object mapping each field name to its title) and align the rows.
 */
bool st_template_is_table(const struct st_template *t);

/*
 * Run the template with 'data' (borrowed, may be NULL: then every field is missing) as dot,
 * appending to 'out'. On error 'out' may hold partial output.
 */
int st_template_execute(const struct st_template *t, const json_t *data, struct st_buf *out,
			struct st_error **err);

void st_template_free(struct st_template *t);
void st_template_freep(struct st_template **t);

/*
 * Append 'v' as Go's fmt %v prints it (see above); NULL prints "<no value>". For callers
 * that print single values the way templates do.
 */
void st_template_print_value(const json_t *v, struct st_buf *out);

#endif
