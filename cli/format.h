/*
 * format.h: Docker's --format for listing verbs: a Go template run once per row, where a
 * "table " prefix means aligned columns under a header row. Verbs describe their default
 * output as a table template too (as Docker does), so both paths print the same way.
 */
#ifndef ST_CLI_FORMAT_H
#define ST_CLI_FORMAT_H

#include <jansson.h>
#include <stdio.h>

#include "util/err.h"

struct st_cli_format;

/*
 * Parse 'fmt' (with "\t" and "\n" escapes, as typed on a command line). 'header' (borrowed,
 * may be NULL) maps field names to column titles ({"ID": "IMAGE ID"}) for table headers;
 * a field it lacks is titled with its name in upper case. *out is new.
 */
int st_cli_format_new(const char *fmt, const json_t *header, struct st_cli_format **out,
		      struct st_error **err);
/* Render one row ('row' borrowed). Table rows are kept until st_cli_format_flush(). */
int st_cli_format_row(struct st_cli_format *f, const json_t *row, FILE *out, struct st_error **err);
/* Print a table's header and rows, aligned. Nothing for a plain format. */
void st_cli_format_flush(struct st_cli_format *f, FILE *out);
void st_cli_format_free(struct st_cli_format *f);
void st_cli_format_freep(struct st_cli_format **f);

/* Print 'v' as Docker prints inspect output: indented JSON with a final newline. */
void st_cli_print_json(const json_t *v, FILE *out);

#endif
