/*
 * config.c: .strata-lint.yaml and hadolint's .hadolint.yaml, read with libyaml: `ignored`,
 * `override` (severity -> rules), `trustedRegistries` and `failure-threshold`. Keys hadolint
 * knows and strata does not (format, no-color, label-schema...) are let be, so one file
 * serves both tools.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "lint/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

struct reader {
	const char *name;
	yaml_document_t *doc;
	struct st_lint_config *out;
};

static int bad(struct reader *r, yaml_node_t *n, struct st_error **err, const char *what)
{
	return st_err(err, ST_E_PARSE, "%s:%zu: %s", r->name, n->start_mark.line + 1, what);
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A sequence of rule names ("- DL3006"), appended to *v. */
static int names(struct reader *r, yaml_node_t *n, const char *key, char ***v, size_t *nv,
		 struct st_error **err)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		st_autofree char *m = st_xasprintf("%s: expected a list of rule names", key);
		return bad(r, n, err, m);
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = yaml_document_get_node(r->doc, *it);
		const char *s = scalar(item);
		if (!s) {
			st_autofree char *m = st_xasprintf("%s: expected a rule name", key);
			return bad(r, item, err, m);
		}
		*v = st_xrealloc(*v, (*nv + 2) * sizeof(**v));
		(*v)[(*nv)++] = st_xstrdup(s);
		(*v)[*nv] = NULL;
	}
	return 0;
}

static int override(struct reader *r, yaml_node_t *n, struct st_error **err)
{
	if (n->type != YAML_MAPPING_NODE)
		return bad(r, n, err, "override: expected error, warning, info or style lists");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(r->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(r->doc, p->value);
		enum st_dockerfile_severity sev;
		if (!scalar(k) || st_lint_severity_parse(scalar(k), &sev) < 0)
			return bad(r, k, err,
				   "override: expected error, warning, info or style lists");
		char **rules = NULL;
		size_t nrules = 0;
		int rc = names(r, v, "override", &rules, &nrules, err);
		for (size_t i = 0; i < nrules; i++) {
			struct st_lint_config *c = r->out;
			c->override =
			    st_xrealloc(c->override, (c->noverride + 1) * sizeof(*c->override));
			c->override[c->noverride++] = (struct st_lint_override){ rules[i], sev };
		}
		free(rules);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int top(struct reader *r, yaml_node_t *root, struct st_error **err)
{
	if (root->type != YAML_MAPPING_NODE)
		return bad(r, root, err, "expected a mapping of settings");
	struct st_lint_config *c = r->out;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(r->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(r->doc, p->value);
		const char *key = scalar(k);
		int rc = 0;
		if (!key)
			rc = bad(r, k, err, "expected a setting's name");
		else if (!strcmp(key, "ignored"))
			rc = names(r, v, key, &c->ignored, &c->nignored, err);
		else if (!strcmp(key, "trustedRegistries"))
			rc = names(r, v, key, &c->trusted_registries, &c->ntrusted, err);
		else if (!strcmp(key, "override"))
			rc = override(r, v, err);
		else if (!strcmp(key, "failure-threshold")) {
			const char *s = scalar(v);
			c->threshold_set = true;
			c->threshold_none = s && !strcmp(s, "none");
			if (!s ||
			    (!c->threshold_none && st_lint_severity_parse(s, &c->threshold) < 0))
				rc = bad(r, v, err,
					 "failure-threshold: expected error, warning, info, style "
					 "or none");
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

int st_lint_config_parse(const char *name, const char *text, size_t len, struct st_lint_config *out,
			 struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser))
		return st_err(err, ST_E_PARSE, "%s: cannot start the YAML reader", name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		st_err(err, ST_E_PARSE, "%s:%zu: %s", name, parser.problem_mark.line + 1,
		       parser.problem ? parser.problem : "not YAML");
		yaml_parser_delete(&parser);
		return -1;
	}
	struct reader r = { .name = name, .doc = &doc, .out = out };
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	int rc = root ? top(&r, root, err) : 0;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc < 0)
		st_lint_config_release(out);
	return rc;
}

void st_lint_config_release(struct st_lint_config *c)
{
	st_dockerfile_strv_free(c->ignored);
	st_dockerfile_strv_free(c->trusted_registries);
	for (size_t i = 0; i < c->noverride; i++)
		free(c->override[i].rule);
	free(c->override);
	memset(c, 0, sizeof(*c));
}
