/*
 * rules.c: the CI gate. dive's three rules read and judged as dive 0.13 does (its .dive-ci
 * keys, its "disabled"/"off" values, its messages), strata's own beside them.
 */
#include "analyze/internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "util/cleanup.h"
#include "util/banned.h"

static const char *const rule_names[ST_ANALYZE_N_RULES] = {
	[ST_ANALYZE_RULE_LOWEST_EFFICIENCY] = "lowestEfficiency",
	[ST_ANALYZE_RULE_HIGHEST_WASTED_BYTES] = "highestWastedBytes",
	[ST_ANALYZE_RULE_HIGHEST_USER_WASTED] = "highestUserWastedPercent",
	[ST_ANALYZE_RULE_HIGHEST_IMAGE_SIZE] = "highestImageSize",
	[ST_ANALYZE_RULE_HIGHEST_STRATA_WASTED] = "highestStrataWastedBytes",
	[ST_ANALYZE_RULE_HIGHEST_WASTED_INCREASE] = "highestStrataWastedIncrease",
};

const char *st_analyze_rule_name(enum st_analyze_rule_id id)
{
	return rule_names[id];
}

void st_analyze_rules_init(struct st_analyze_rules *r)
{
	memset(r, 0, sizeof(*r));
	r->value[ST_ANALYZE_RULE_LOWEST_EFFICIENCY] = st_xstrdup("0.9");
	r->value[ST_ANALYZE_RULE_HIGHEST_USER_WASTED] = st_xstrdup("0.1");
}

void st_analyze_rules_release(struct st_analyze_rules *r)
{
	for (size_t i = 0; i < ST_ANALYZE_N_RULES; i++)
		free(r->value[i]);
	memset(r, 0, sizeof(*r));
}

static void known_rules(struct st_buf *b)
{
	for (size_t i = 0; i < ST_ANALYZE_N_RULES; i++)
		st_buf_addf(b, "%s%s", i ? ", " : "", rule_names[i]);
}

int st_analyze_rules_set(struct st_analyze_rules *r, const char *key, const char *value,
			 struct st_error **err)
{
	for (size_t i = 0; i < ST_ANALYZE_N_RULES; i++) {
		if (strcmp(key, rule_names[i]))
			continue;
		free(r->value[i]);
		r->value[i] = st_xstrdup(value);
		return 0;
	}
	struct st_buf b = ST_BUF_INIT;
	known_rules(&b);
	st_err(err, ST_E_INVALID, "unknown rule '%s' (expected one of %s)", key, b.data);
	st_buf_release(&b);
	return -1;
}

/* ---- .dive-ci ---- */

static int yaml_fail(const char *what, const yaml_node_t *n, struct st_error **err, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));
static int yaml_fail(const char *what, const yaml_node_t *n, struct st_error **err, const char *fmt,
		     ...)
{
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	st_err(err, ST_E_PARSE, "%s:%zu: %s", what, n->start_mark.line + 1, b.data);
	st_buf_release(&b);
	return -1;
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcasecmp(s, "null"));
}

static int read_rules(struct st_analyze_rules *r, yaml_document_t *doc, const yaml_node_t *rules,
		      const char *what, struct st_error **err)
{
	if (rules->type == YAML_SCALAR_NODE && is_null(rules))
		return 0;
	if (rules->type != YAML_MAPPING_NODE)
		return yaml_fail(what, rules, err, "rules: expected a mapping of rule: value");
	for (yaml_node_pair_t *p = rules->data.mapping.pairs.start;
	     p < rules->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		if (!k || !v || k->type != YAML_SCALAR_NODE)
			return yaml_fail(what, k ? k : rules, err, "rules: expected a rule name");
		if (v->type != YAML_SCALAR_NODE)
			return yaml_fail(what, v, err, "rules: %s: expected a value, not a %s",
					 scalar(k),
					 v->type == YAML_MAPPING_NODE ? "mapping" : "list");
		/* an empty value disables the rule, as "" does in dive */
		const char *value = is_null(v) ? "" : scalar(v);
		if (st_analyze_rules_set(r, scalar(k), value, err) < 0) {
			st_err_wrap(err, "rules");
			return st_err_wrap(err, "%s:%zu", what, k->start_mark.line + 1);
		}
	}
	return 0;
}

int st_analyze_rules_parse(struct st_analyze_rules *r, const void *data, size_t len,
			   const char *what, struct st_error **err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&parser))
		return st_err(err, ST_E_IO, "%s: cannot start the YAML parser", what);
	yaml_parser_set_input_string(&parser, data, len);
	if (!yaml_parser_load(&parser, &doc)) {
		st_err(err, ST_E_PARSE, "%s:%zu: %s", what, parser.problem_mark.line + 1,
		       parser.problem ? parser.problem : "malformed YAML");
		yaml_parser_delete(&parser);
		return -1;
	}
	yaml_parser_delete(&parser);
	int rc = 0;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root && root->type == YAML_SCALAR_NODE && is_null(root))
		root = NULL;
	if (root && root->type != YAML_MAPPING_NODE)
		rc = yaml_fail(what, root, err, "expected a mapping with 'rules'");
	for (yaml_node_pair_t *p = root ? root->data.mapping.pairs.start : NULL;
	     rc == 0 && p && p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&doc, p->value);
		if (k && v && k->type == YAML_SCALAR_NODE && !strcmp(scalar(k), "rules"))
			rc = read_rules(r, &doc, v, what, err);
	}
	yaml_document_delete(&doc);
	return rc;
}

/* ---- values ---- */

/* dive's isRuleDisabled. */
static bool disabled(const char *v)
{
	if (!v)
		return true;
	while (isspace((unsigned char)*v))
		v++;
	size_t n = strlen(v);
	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	return n == 0 || (n == 8 && !strncasecmp(v, "disabled", 8)) ||
	       (n == 3 && !strncasecmp(v, "off", 3)) || (n == 5 && !strncasecmp(v, "false", 5));
}

int st_analyze_parse_bytes(const char *s, uint64_t *out, struct st_error **err)
{
	/* go-humanize's table: SI and IEC names, with or without the 'b' */
	static const struct {
		const char *name;
		double mult;
	} units[] = {
		{ "", 1 },	  { "b", 1 },	     { "k", 1e3 },     { "kb", 1e3 },
		{ "m", 1e6 },	  { "mb", 1e6 },     { "g", 1e9 },     { "gb", 1e9 },
		{ "t", 1e12 },	  { "tb", 1e12 },    { "p", 1e15 },    { "pb", 1e15 },
		{ "e", 1e18 },	  { "eb", 1e18 },    { "ki", 1024.0 }, { "kib", 1024.0 },
		{ "mi", 0x1p20 }, { "mib", 0x1p20 }, { "gi", 0x1p30 }, { "gib", 0x1p30 },
		{ "ti", 0x1p40 }, { "tib", 0x1p40 }, { "pi", 0x1p50 }, { "pib", 0x1p50 },
		{ "ei", 0x1p60 }, { "eib", 0x1p60 },
	};
	struct st_buf num = ST_BUF_INIT;
	const char *c = s;
	for (; isdigit((unsigned char)*c) || *c == '.' || *c == ','; c++)
		if (*c != ',')
			st_buf_addch(&num, *c);
	char *end = NULL;
	errno = 0;
	double f = num.len ? strtod(num.data, &end) : 0;
	bool bad = !num.len || *end || errno;
	st_buf_release(&num);
	while (isspace((unsigned char)*c))
		c++;
	size_t n = strlen(c);
	while (n && isspace((unsigned char)c[n - 1]))
		n--;
	for (size_t i = 0; !bad && i < sizeof(units) / sizeof(*units); i++) {
		if (strlen(units[i].name) != n || strncasecmp(c, units[i].name, n))
			continue;
		f *= units[i].mult;
		if (f >= 0x1p64)
			return st_err(err, ST_E_INVALID, "'%s': too large", s);
		*out = (uint64_t)f;
		return 0;
	}
	return st_err(err, ST_E_INVALID, "'%s': expected a size such as 20MB, 20MiB or 300", s);
}

/* A fraction from 0 to 1, as dive's rules want. */
static int parse_fraction(enum st_analyze_rule_id id, const char *v, double *out,
			  struct st_error **err)
{
	char *end = NULL;
	errno = 0;
	double f = strtod(v, &end);
	if (end == v || *end || errno || isnan(f))
		return st_err(
		    err, ST_E_INVALID,
		    "invalid %s config value, given \"%s\": expected a number from 0 to 1",
		    rule_names[id], v);
	if (f < 0 || f > 1)
		return st_err(err, ST_E_INVALID,
			      "%s config value is outside allowed range (0-1), given '%f'",
			      rule_names[id], f);
	*out = f;
	return 0;
}

static int parse_size(enum st_analyze_rule_id id, const char *v, uint64_t *out,
		      struct st_error **err)
{
	if (st_analyze_parse_bytes(v, out, err) < 0)
		return st_err_wrap(err, "invalid %s config value", rule_names[id]);
	return 0;
}

/* Go's %v of a float64: the shortest text that reads back the same. */
static char *go_float(double f)
{
	for (int prec = 1; prec < 17; prec++) {
		char *s = st_xasprintf("%.*g", prec, f);
		if (strtod(s, NULL) == f)
			return s;
		free(s);
	}
	return st_xasprintf("%.17g", f);
}

/* One rule: 1 if it failed with *msg set, 0 if it passed, -1 on a bad value. */
static int judge(enum st_analyze_rule_id id, const char *v, const struct st_analyze *a,
		 const struct st_analyze *baseline, char **msg, struct st_error **err)
{
	const struct st_analyze_dive *d = &a->dive;
	double f;
	uint64_t max;
	switch (id) {
	case ST_ANALYZE_RULE_LOWEST_EFFICIENCY:
		if (parse_fraction(id, v, &f, err) < 0)
			return -1;
		if (f > d->efficiency) {
			st_autofree char *t = go_float(f);
			*msg = st_xasprintf(
			    "image efficiency is too low (efficiency=%2.2f < threshold=%s)",
			    d->efficiency, t);
			return 1;
		}
		return 0;
	case ST_ANALYZE_RULE_HIGHEST_WASTED_BYTES:
		if (parse_size(id, v, &max, err) < 0)
			return -1;
		if (d->wasted_bytes > max) {
			*msg = st_xasprintf(
			    "too many bytes wasted (wasted-bytes=%llu > threshold=%llu)",
			    (unsigned long long)d->wasted_bytes, (unsigned long long)max);
			return 1;
		}
		return 0;
	case ST_ANALYZE_RULE_HIGHEST_USER_WASTED:
		if (parse_fraction(id, v, &f, err) < 0)
			return -1;
		if (d->user_wasted_percent > f) {
			st_autofree char *t = go_float(f);
			*msg =
			    st_xasprintf("too many bytes wasted, relative to the user bytes added "
					 "(%%-user-wasted-bytes=%2.2f > threshold=%s)",
					 d->user_wasted_percent, t);
			return 1;
		}
		return 0;
	case ST_ANALYZE_RULE_HIGHEST_IMAGE_SIZE:
		if (parse_size(id, v, &max, err) < 0)
			return -1;
		if (d->size > max) {
			*msg = st_xasprintf("image is too large (size=%llu > threshold=%llu)",
					    (unsigned long long)d->size, (unsigned long long)max);
			return 1;
		}
		return 0;
	case ST_ANALYZE_RULE_HIGHEST_STRATA_WASTED:
		if (parse_size(id, v, &max, err) < 0)
			return -1;
		if (a->waste.wasted_bytes > max) {
			*msg = st_xasprintf("too many bytes the final filesystem does not show "
					    "(wasted-bytes=%llu > threshold=%llu)",
					    (unsigned long long)a->waste.wasted_bytes,
					    (unsigned long long)max);
			return 1;
		}
		return 0;
	case ST_ANALYZE_RULE_HIGHEST_WASTED_INCREASE:
		if (parse_size(id, v, &max, err) < 0)
			return -1;
		if (a->waste.wasted_bytes > baseline->waste.wasted_bytes + max) {
			*msg = st_xasprintf("waste grew against the baseline (wasted-bytes=%llu, "
					    "baseline=%llu, allowed increase=%llu)",
					    (unsigned long long)a->waste.wasted_bytes,
					    (unsigned long long)baseline->waste.wasted_bytes,
					    (unsigned long long)max);
			return 1;
		}
		return 0;
	case ST_ANALYZE_N_RULES:
		break;
	}
	return 0;
}

static int result_cmp(const void *pa, const void *pb)
{
	const struct st_analyze_result *x = pa, *y = pb;
	return strcmp(rule_names[x->id], rule_names[y->id]);
}

int st_analyze_rules_eval(const struct st_analyze_rules *r, const struct st_analyze *a,
			  const struct st_analyze *baseline, struct st_analyze_result **out,
			  struct st_error **err)
{
	struct st_analyze_result *v = st_xcalloc(ST_ANALYZE_N_RULES, sizeof(*v));
	for (size_t i = 0; i < ST_ANALYZE_N_RULES; i++) {
		enum st_analyze_rule_id id = (enum st_analyze_rule_id)i;
		const char *value = r->value[i];
		v[i].id = id;
		if (disabled(value) ||
		    (id == ST_ANALYZE_RULE_HIGHEST_WASTED_INCREASE && !baseline)) {
			v[i].verdict = ST_ANALYZE_SKIP;
			v[i].message = st_xstrdup(disabled(value) ? "disabled" : "no baseline");
			continue;
		}
		char *msg = NULL;
		int rc = judge(id, value, a, baseline, &msg, err);
		if (rc < 0) {
			st_analyze_results_free(v, ST_ANALYZE_N_RULES);
			return -1;
		}
		v[i].verdict = rc ? ST_ANALYZE_FAIL : ST_ANALYZE_PASS;
		/* dive shows a passing rule with its configured value */
		v[i].message = rc ? msg : st_xstrdup(value);
	}
	qsort(v, ST_ANALYZE_N_RULES, sizeof(*v), result_cmp);
	*out = v;
	return 0;
}

void st_analyze_results_free(struct st_analyze_result *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i].message);
	free(v);
}
