/*
 * format.c: findings as people and tools read them: the terminal form, hadolint's JSON keys,
 * SARIF 2.1.0 for code-scanning views (both written with jansson), GNU's "file:line:" form,
 * Checkstyle's and JUnit's XML (written with libxml2), and `docker build --check`'s (buildx's
 * printResult and BuildKit's Source.Print).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/xmlwriter.h>

#include "lint/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

int st_lint_format_parse(const char *s, enum st_lint_format *out)
{
	static const struct {
		const char *name;
		enum st_lint_format f;
	} names[] = { { "tty", ST_LINT_FORMAT_TTY },
		      { "json", ST_LINT_FORMAT_JSON },
		      { "sarif", ST_LINT_FORMAT_SARIF },
		      { "gnu", ST_LINT_FORMAT_GNU },
		      { "checkstyle", ST_LINT_FORMAT_CHECKSTYLE },
		      { "junit", ST_LINT_FORMAT_JUNIT } };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(s, names[i].name)) {
			*out = names[i].f;
			return 0;
		}
	return -1;
}

/* The text's lines as Go's strings.Split(text, "\n") gives them (a last "" after "\n"). */
struct lines {
	const char **p;
	size_t *n;
	size_t count;
};

static void split_lines(const char *text, size_t len, struct lines *l)
{
	size_t cap = 16;
	l->p = st_xmalloc(cap * sizeof(*l->p));
	l->n = st_xmalloc(cap * sizeof(*l->n));
	l->count = 0;
	for (size_t off = 0;;) {
		if (l->count == cap) {
			cap *= 2;
			l->p = st_xrealloc(l->p, cap * sizeof(*l->p));
			l->n = st_xrealloc(l->n, cap * sizeof(*l->n));
		}
		const char *nl = memchr(text + off, '\n', len - off);
		size_t e = nl ? (size_t)(nl - text) : len;
		l->p[l->count] = text + off;
		l->n[l->count++] = e - off;
		if (!nl)
			break;
		off = e + 1;
	}
}

static void free_lines(struct lines *l)
{
	free(l->p);
	free(l->n);
}

void st_lint_excerpt(const char *name, const char *text, size_t len, int start, int end,
		     struct st_buf *out)
{
	struct lines l;
	split_lines(text, len, &l);
	int nl = (int)l.count;
	if (end < start)
		end = start;
	if (start < 1 || start > nl) {
		free_lines(&l);
		return;
	}
	if (end > nl)
		end = nl;
	int pad = end == start ? 4 : 2, p = 0, from = start, to = end;
	while (p < pad) {
		if (from > 1) {
			from--;
			p++;
		}
		if (to != nl) {
			to++;
			p++;
		}
		p++;
	}
	st_buf_addf(out, "%s:%d\n--------------------\n", name, start);
	for (int i = from; i <= to; i++)
		st_buf_addf(out, " %3d | %s %.*s\n", i, i >= start && i <= end ? ">>>" : "   ",
			    (int)l.n[i - 1], l.p[i - 1]);
	st_buf_adds(out, "--------------------\n");
	free_lines(&l);
}

static const char *color_of(enum st_dockerfile_severity s)
{
	switch (s) {
	case ST_DF_SEV_ERROR:
		return "\033[31m";
	case ST_DF_SEV_WARNING:
		return "\033[33m";
	case ST_DF_SEV_INFO:
		return "\033[36m";
	case ST_DF_SEV_STYLE:
		return "\033[2m";
	}
	return "";
}

static void tty(const struct st_lint_result *r, const char *name, const char *text, size_t len,
		bool color, struct st_buf *out)
{
	struct lines l;
	split_lines(text, len, &l);
	for (size_t i = 0; i < r->ndiags; i++) {
		const struct st_dockerfile_diag *d = &r->diags[i];
		const char *sev = st_dockerfile_severity_name(d->severity);
		st_buf_addf(out, "%s:%d %s %s%s%s: %s\n", name, d->start_line, d->rule->name,
			    color ? color_of(d->severity) : "", sev, color ? "\033[0m" : "",
			    d->message);
		for (int n = d->start_line; n <= d->end_line && n >= 1 && (size_t)n <= l.count; n++)
			st_buf_addf(out, " %4d | %.*s\n", n, (int)l.n[n - 1], l.p[n - 1]);
		if (d->fix)
			st_buf_addf(out, "  fix: %s\n", d->fix);
	}
	free_lines(&l);
}

static json_t *finding_json(const struct st_dockerfile_diag *d, const char *name)
{
	json_t *o = json_object();
	json_object_set_new(o, "code", json_string(d->rule->name));
	json_object_set_new(o, "level", json_string(st_dockerfile_severity_name(d->severity)));
	json_object_set_new(o, "message", json_string(d->message));
	json_object_set_new(o, "file", json_string(name));
	json_object_set_new(o, "line", json_integer(d->start_line));
	json_object_set_new(o, "end_line", json_integer(d->end_line));
	json_object_set_new(o, "column", json_integer(1));
	json_object_set_new(o, "description", json_string(d->rule->description));
	if (d->rule->url)
		json_object_set_new(o, "url", json_string(d->rule->url));
	if (d->fix)
		json_object_set_new(o, "fix", json_string(d->fix));
	return o;
}

static const char *sarif_level(enum st_dockerfile_severity s)
{
	return s == ST_DF_SEV_ERROR ? "error" : s == ST_DF_SEV_WARNING ? "warning" : "note";
}

static json_t *sarif(const struct st_lint_result *r, const char *name)
{
	json_t *rules = json_array(), *results = json_array();
	for (size_t i = 0; i < r->ndiags; i++) {
		const struct st_dockerfile_diag *d = &r->diags[i];
		size_t idx = json_array_size(rules);
		for (size_t k = 0; k < json_array_size(rules); k++)
			if (!strcmp(
				json_string_value(json_object_get(json_array_get(rules, k), "id")),
				d->rule->name))
				idx = k;
		if (idx == json_array_size(rules)) {
			json_t *rule = json_pack("{s:s, s:{s:s}, s:{s:s}}", "id", d->rule->name,
						 "shortDescription", "text", d->rule->description,
						 "defaultConfiguration", "level",
						 sarif_level(d->rule->severity));
			if (d->rule->url)
				json_object_set_new(rule, "helpUri", json_string(d->rule->url));
			json_array_append_new(rules, rule);
		}
		json_t *res =
		    json_pack("{s:s, s:I, s:s, s:{s:s}, s:[{s:{s:{s:s}, s:{s:i, s:i, s:i}}}]}",
			      "ruleId", d->rule->name, "ruleIndex", (json_int_t)idx, "level",
			      sarif_level(d->severity), "message", "text", d->message, "locations",
			      "physicalLocation", "artifactLocation", "uri", name, "region",
			      "startLine", d->start_line, "endLine", d->end_line, "startColumn", 1);
		if (d->fix) {
			/* The lines the finding covers replaced by the fix, as code-scanning UIs
			 * offer it; the fix as text too for the tools that read only that. */
			st_autofree char *text = st_xasprintf("%s\n", d->fix);
			json_object_set_new(
			    res, "fixes",
			    json_pack("[{s:{s:s}, s:[{s:{s:s}, s:[{s:{s:i, s:i}, s:{s:s}}]}]}]",
				      "description", "text", d->rule->description,
				      "artifactChanges", "artifactLocation", "uri", name,
				      "replacements", "deletedRegion", "startLine", d->start_line,
				      "endLine", d->end_line, "insertedContent", "text", text));
			json_object_set_new(res, "properties", json_pack("{s:s}", "fix", d->fix));
		}
		json_array_append_new(results, res);
	}
	return json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:o}}, s:o}]}", "$schema",
			 "https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0",
			 "runs", "tool", "driver", "name", "strata lint", "informationUri",
			 "https://docs.docker.com/reference/build-checks/", "rules", rules,
			 "results", results);
}

static void dump(json_t *j, struct st_buf *out)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	st_buf_addf(out, "%s\n", s);
	free(s);
	json_decref(j);
}

/* Checkstyle knows error, warning and info. */
static const char *checkstyle_severity(enum st_dockerfile_severity s)
{
	return s == ST_DF_SEV_STYLE ? "info" : st_dockerfile_severity_name(s);
}

static void xml(const struct st_lint_result *r, enum st_lint_format f, const char *name,
		struct st_buf *out)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
	xmlTextWriterSetIndent(w, 1);
	xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL);
	if (f == ST_LINT_FORMAT_CHECKSTYLE) {
		xmlTextWriterStartElement(w, BAD_CAST "checkstyle");
		xmlTextWriterWriteAttribute(w, BAD_CAST "version", BAD_CAST "4.3");
		xmlTextWriterStartElement(w, BAD_CAST "file");
		xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST name);
		for (size_t i = 0; i < r->ndiags; i++) {
			const struct st_dockerfile_diag *d = &r->diags[i];
			xmlTextWriterStartElement(w, BAD_CAST "error");
			xmlTextWriterWriteFormatAttribute(w, BAD_CAST "line", "%d", d->start_line);
			xmlTextWriterWriteAttribute(w, BAD_CAST "column", BAD_CAST "1");
			xmlTextWriterWriteAttribute(w, BAD_CAST "severity",
						    BAD_CAST checkstyle_severity(d->severity));
			xmlTextWriterWriteAttribute(w, BAD_CAST "message", BAD_CAST d->message);
			xmlTextWriterWriteAttribute(w, BAD_CAST "source", BAD_CAST d->rule->name);
			xmlTextWriterEndElement(w);
		}
	} else {
		xmlTextWriterStartElement(w, BAD_CAST "testsuites");
		xmlTextWriterStartElement(w, BAD_CAST "testsuite");
		xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST name);
		xmlTextWriterWriteFormatAttribute(w, BAD_CAST "tests", "%zu", r->ndiags);
		xmlTextWriterWriteFormatAttribute(w, BAD_CAST "failures", "%zu", r->ndiags);
		for (size_t i = 0; i < r->ndiags; i++) {
			const struct st_dockerfile_diag *d = &r->diags[i];
			const char *sev = st_dockerfile_severity_name(d->severity);
			xmlTextWriterStartElement(w, BAD_CAST "testcase");
			xmlTextWriterWriteAttribute(w, BAD_CAST "name", BAD_CAST d->rule->name);
			xmlTextWriterWriteFormatAttribute(w, BAD_CAST "classname", "%s:%d", name,
							  d->start_line);
			xmlTextWriterStartElement(w, BAD_CAST "failure");
			xmlTextWriterWriteAttribute(w, BAD_CAST "message", BAD_CAST d->message);
			xmlTextWriterWriteAttribute(w, BAD_CAST "type", BAD_CAST sev);
			xmlTextWriterWriteFormatString(w, "%s:%d %s %s: %s", name, d->start_line,
						       d->rule->name, sev, d->message);
			xmlTextWriterEndElement(w);
			xmlTextWriterEndElement(w);
		}
	}
	xmlTextWriterEndDocument(w);
	xmlFreeTextWriter(w);
	st_buf_add(out, xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
	xmlBufferFree(buf);
}

static void check(const struct st_lint_result *r, const char *name, const char *text, size_t len,
		  struct st_buf *out)
{
	if (!r->ndiags) {
		st_buf_adds(out, "Check complete, no warnings found.\n");
		return;
	}
	if (r->ndiags == 1)
		st_buf_adds(out, "Check complete, 1 warning has been found!\n");
	else
		st_buf_addf(out, "Check complete, %zu warnings have been found!\n", r->ndiags);
	for (size_t i = 0; i < r->ndiags; i++) {
		const struct st_dockerfile_diag *d = &r->diags[i];
		st_buf_addf(out, "\nWARNING: %s", d->rule->name);
		if (d->rule->url)
			st_buf_addf(out, " - %s", d->rule->url);
		st_buf_addf(out, "\n%s\n", d->message);
		st_lint_excerpt(name, text, len, d->start_line, d->end_line, out);
	}
}

void st_lint_format(const struct st_lint_result *r, enum st_lint_format f, const char *name,
		    const char *text, size_t len, bool color, struct st_buf *out)
{
	switch (f) {
	case ST_LINT_FORMAT_TTY:
		tty(r, name, text, len, color, out);
		break;
	case ST_LINT_FORMAT_JSON: {
		json_t *a = json_array();
		for (size_t i = 0; i < r->ndiags; i++)
			json_array_append_new(a, finding_json(&r->diags[i], name));
		dump(a, out);
		break;
	}
	case ST_LINT_FORMAT_SARIF:
		dump(sarif(r, name), out);
		break;
	case ST_LINT_FORMAT_GNU:
		for (size_t i = 0; i < r->ndiags; i++)
			st_buf_addf(out, "%s:%d: %s: %s %s\n", name, r->diags[i].start_line,
				    st_dockerfile_severity_name(r->diags[i].severity),
				    r->diags[i].rule->name, r->diags[i].message);
		break;
	case ST_LINT_FORMAT_CHECKSTYLE:
	case ST_LINT_FORMAT_JUNIT:
		xml(r, f, name, out);
		break;
	case ST_LINT_FORMAT_CHECK:
		check(r, name, text, len, out);
		break;
	}
}
