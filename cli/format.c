/* format.c: --format templates for listing verbs, and Docker's table layout. */
#include "format.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "template/template.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/banned.h"

struct st_cli_format {
	struct st_template *tmpl;
	bool table;
	json_t *titles; /* field -> column title */
	struct st_table rows;
	bool have_rows;
	char *header_line; /* rendered on the first row */
};

int st_cli_format_new(const char *fmt, const json_t *header, struct st_cli_format **out,
		      struct st_error **err)
{
	struct st_cli_format *f = st_xcalloc(1, sizeof(*f));
	st_autofree char *text = st_fmt_unescape(fmt);
	/* Docker's conventions: a leading "table" means columns; "json" alone means {{json .}} */
	if (st_template_parse_flags(text, ST_TEMPLATE_DOCKER, &f->tmpl, err) < 0) {
		free(f);
		return st_err_wrap(err, "--format '%s'", fmt);
	}
	f->table = st_template_is_table(f->tmpl);
	f->titles = header ? json_deep_copy(header) : json_object();
	*out = f;
	return 0;
}

/* A header object for 'row': each field titled from the given titles, else in upper case. */
static json_t *header_for(const struct st_cli_format *f, const json_t *row)
{
	json_t *h = json_object();
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)row, key, v)
	{
		json_t *t = json_object_get(f->titles, key);
		if (json_is_string(t)) {
			json_object_set(h, key, t);
			continue;
		}
		st_autofree char *up = st_xstrdup(key);
		for (char *p = up; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		json_object_set_new(h, key, json_string(up));
	}
	return h;
}

static void add_cells(struct st_cli_format *f, const char *line)
{
	size_t n = 1;
	for (const char *p = line; *p; p++)
		n += *p == '\t';
	if (!f->have_rows) {
		st_table_init(&f->rows, n);
		f->have_rows = true;
	}
	const char **cells = st_xcalloc(f->rows.ncols, sizeof(char *));
	char *copy = st_xstrdup(line);
	char *p = copy;
	for (size_t c = 0; c < f->rows.ncols && p; c++) {
		char *tab = c + 1 < f->rows.ncols ? strchr(p, '\t') : NULL;
		if (tab)
			*tab = '\0';
		cells[c] = p;
		p = tab ? tab + 1 : NULL;
	}
	st_table_add(&f->rows, cells);
	free(cells);
	free(copy);
}

int st_cli_format_row(struct st_cli_format *f, const json_t *row, FILE *out, struct st_error **err)
{
	struct st_buf b = ST_BUF_INIT;
	if (f->table && !f->header_line) {
		json_t *h = header_for(f, row);
		int rc = st_template_execute(f->tmpl, h, &b, err);
		json_decref(h);
		if (rc < 0) {
			st_buf_release(&b);
			return -1;
		}
		f->header_line = st_buf_detach(&b, NULL);
		add_cells(f, f->header_line);
	}
	if (st_template_execute(f->tmpl, row, &b, err) < 0) {
		st_buf_release(&b);
		return -1;
	}
	if (f->table)
		add_cells(f, st_buf_str(&b));
	else
		fprintf(out, "%s\n", st_buf_str(&b));
	st_buf_release(&b);
	return 0;
}

void st_cli_format_flush(struct st_cli_format *f, FILE *out)
{
	if (!f->table)
		return;
	if (!f->have_rows) {
		/* No rows: Docker still prints the header. Render it from the titles alone. */
		struct st_buf b = ST_BUF_INIT;
		struct st_error *e = NULL;
		if (st_template_execute(f->tmpl, f->titles, &b, &e) == 0)
			add_cells(f, st_buf_str(&b));
		st_error_free(e);
		st_buf_release(&b);
	}
	if (f->have_rows)
		st_table_print(&f->rows, out);
}

void st_cli_format_free(struct st_cli_format *f)
{
	if (!f)
		return;
	st_template_free(f->tmpl);
	json_decref(f->titles);
	if (f->have_rows)
		st_table_release(&f->rows);
	free(f->header_line);
	free(f);
}

void st_cli_format_freep(struct st_cli_format **f)
{
	st_cli_format_free(*f);
}

void st_cli_print_json(const json_t *v, FILE *out)
{
	char *s = json_dumps(v, JSON_INDENT(4) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (s)
		fprintf(out, "%s\n", s);
	free(s);
}
