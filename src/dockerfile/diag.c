/*
 * diag.c: diagnostics with BuildKit's rule names, descriptions and documentation links
 * (frontend/dockerfile/linter/ruleset.go), and the "# check=" options that decide which of
 * them a build reports and whether they fail it (linter.ParseLintOptions).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dockerfile/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

#define URL(slug) "https://docs.docker.com/go/dockerfile/rule/" slug "/"

/* BuildKit reports every check as a warning; severities are for the linters on top. */
static const struct st_dockerfile_rule rules[] = {
	{ "StageNameCasing", "Stage names should be lowercase", URL("stage-name-casing"),
	  ST_DF_SEV_WARNING, false },
	{ "FromAsCasing", "The 'as' keyword should match the case of the 'from' keyword",
	  URL("from-as-casing"), ST_DF_SEV_WARNING, false },
	{ "NoEmptyContinuation", "Empty continuation lines will become errors in a future release",
	  URL("no-empty-continuation"), ST_DF_SEV_WARNING, false },
	{ "ConsistentInstructionCasing",
	  "All commands within the Dockerfile should use the same casing (either upper or lower)",
	  URL("consistent-instruction-casing"), ST_DF_SEV_WARNING, false },
	{ "DuplicateStageName", "Stage names should be unique", URL("duplicate-stage-name"),
	  ST_DF_SEV_WARNING, false },
	{ "ReservedStageName", "Reserved words should not be used as stage names",
	  URL("reserved-stage-name"), ST_DF_SEV_WARNING, false },
	{ "JSONArgsRecommended",
	  "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related "
	  "to OS signals",
	  URL("json-args-recommended"), ST_DF_SEV_WARNING, false },
	{ "MaintainerDeprecated",
	  "The MAINTAINER instruction is deprecated, use a label instead to define an image "
	  "author",
	  URL("maintainer-deprecated"), ST_DF_SEV_WARNING, false },
	{ "UndefinedArgInFrom", "FROM command must use declared ARGs", URL("undefined-arg-in-from"),
	  ST_DF_SEV_WARNING, false },
	{ "WorkdirRelativePath",
	  "Relative workdir without an absolute workdir declared within the build can have "
	  "unexpected results if the base image changes",
	  URL("workdir-relative-path"), ST_DF_SEV_WARNING, false },
	{ "UndefinedVar", "Variables should be defined before their use", URL("undefined-var"),
	  ST_DF_SEV_WARNING, false },
	{ "MultipleInstructionsDisallowed",
	  "Multiple instructions of the same type should not be used in the same stage",
	  URL("multiple-instructions-disallowed"), ST_DF_SEV_WARNING, false },
	{ "LegacyKeyValueFormat",
	  "Legacy key/value format with whitespace separator should not be used",
	  URL("legacy-key-value-format"), ST_DF_SEV_WARNING, false },
	{ "InvalidBaseImagePlatform", "Base image platform does not match expected target platform",
	  URL("invalid-base-image-platform"), ST_DF_SEV_WARNING, false },
	{ "RedundantTargetPlatform",
	  "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the "
	  "default behavior",
	  URL("redundant-target-platform"), ST_DF_SEV_WARNING, false },
	{ "SecretsUsedInArgOrEnv", "Sensitive data should not be used in the ARG or ENV commands",
	  URL("secrets-used-in-arg-or-env"), ST_DF_SEV_WARNING, false },
	{ "InvalidDefaultArgInFrom",
	  "Default value for global ARG results in an empty or invalid base image name",
	  URL("invalid-default-arg-in-from"), ST_DF_SEV_WARNING, false },
	{ "FromPlatformFlagConstDisallowed", "FROM --platform flag should not use a constant value",
	  URL("from-platform-flag-const-disallowed"), ST_DF_SEV_WARNING, false },
	{ "CopyIgnoredFile", "Attempting to Copy file that is excluded by .dockerignore",
	  URL("copy-ignored-file"), ST_DF_SEV_WARNING, true },
	{ "InvalidDefinitionDescription",
	  "Comment for build stage or argument should follow the format: `# <arg/stage name> "
	  "<description>`. If this is not intended to be a description comment, add an empty "
	  "line or comment between the instruction and the comment.",
	  URL("invalid-definition-description"), ST_DF_SEV_WARNING, true },
	{ "ExposeProtoCasing", "Protocol in EXPOSE instruction should be lowercase",
	  URL("expose-proto-casing"), ST_DF_SEV_WARNING, false },
	{ "ExposeInvalidFormat",
	  "IP address and host-port mapping should not be used in EXPOSE instruction. This will "
	  "become an error in a future release",
	  URL("expose-invalid-format"), ST_DF_SEV_WARNING, false },
};

const struct st_dockerfile_rule *st_dockerfile_rules(size_t *n)
{
	*n = sizeof(rules) / sizeof(*rules);
	return rules;
}

const struct st_dockerfile_rule *st_dockerfile_rule_find(const char *name)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++)
		if (!strcmp(rules[i].name, name))
			return &rules[i];
	return NULL;
}

const char *st_dockerfile_severity_name(enum st_dockerfile_severity s)
{
	switch (s) {
	case ST_DF_SEV_ERROR:
		return "error";
	case ST_DF_SEV_WARNING:
		return "warning";
	case ST_DF_SEV_INFO:
		return "info";
	case ST_DF_SEV_STYLE:
		return "style";
	}
	return "warning";
}

void dockerfile_diag_add(struct st_dockerfile_diag **v, size_t *n, const char *rule, int start,
			 int end, char *fix, const char *fmt, ...)
{
	const struct st_dockerfile_rule *r = st_dockerfile_rule_find(rule);
	struct st_buf b = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	*v = st_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct st_dockerfile_diag){
		.rule = r,
		.severity = r->severity,
		.message = st_buf_detach(&b, NULL),
		.start_line = start,
		.end_line = end,
		.fix = fix,
	};
}

void dockerfile_diags_free(struct st_dockerfile_diag *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].message);
		free(v[i].fix);
	}
	free(v);
}

/* ---- check= ---- */

static char *trim(const char *s, size_t n)
{
	while (n &&
	       (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r' ||
		     s[n - 1] == '\v' || s[n - 1] == '\f'))
		n--;
	return st_xstrndup(s, n);
}

/* strings.Split(v, ",") with each item trimmed, as BuildKit keeps them (empty ones too). */
static void split_list(const char *v, char ***out, size_t *n)
{
	for (const char *p = v;;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		*out = st_xrealloc(*out, (*n + 2) * sizeof(**out));
		(*out)[(*n)++] = trim(p, len);
		(*out)[*n] = NULL;
		if (!c)
			break;
		p = c + 1;
	}
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
	for (size_t i = 0; i < 6; i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int st_dockerfile_check_parse(const char *s, struct st_dockerfile_check *out, struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return 0;
	st_autofree char *all = trim(s, strlen(s));
	if (!*all)
		return 0;
	/* strings.SplitN(s, ";", 3): a third part keeps any further ';' in its value. */
	char *p = all;
	for (int part = 0; p; part++) {
		char *semi = part < 2 ? strchr(p, ';') : NULL;
		if (semi)
			*semi = 0;
		char *eq = strchr(p, '=');
		if (!eq) {
			st_dockerfile_check_release(out);
			return st_err(err, ST_E_PARSE, "invalid check option \"%s\"", p);
		}
		st_autofree char *k = trim(p, (size_t)(eq - p));
		st_autofree char *v = trim(eq + 1, strlen(eq + 1));
		if (!strcmp(k, "skip")) {
			if (!strcmp(v, "all"))
				out->skip_all = true;
			else
				split_list(v, &out->skip, &out->nskip);
		} else if (!strcmp(k, "experimental")) {
			if (!strcmp(v, "all"))
				out->experimental_all = true;
			else
				split_list(v, &out->experimental, &out->nexperimental);
		} else if (!strcmp(k, "error")) {
			if (parse_bool(v, &out->error) < 0) {
				st_err(err, ST_E_PARSE,
				       "failed to parse check option \"%s\": strconv.ParseBool: "
				       "parsing \"%s\": invalid syntax",
				       p, v);
				st_dockerfile_check_release(out);
				return -1;
			}
		} else {
			st_err(err, ST_E_PARSE, "invalid check option \"%s\"", k);
			st_dockerfile_check_release(out);
			return -1;
		}
		p = semi ? semi + 1 : NULL;
	}
	return 0;
}

void st_dockerfile_check_release(struct st_dockerfile_check *c)
{
	st_dockerfile_strv_free(c->skip);
	st_dockerfile_strv_free(c->experimental);
	memset(c, 0, sizeof(*c));
}

static bool listed(char *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], name))
			return true;
	return false;
}

bool st_dockerfile_check_enabled(const struct st_dockerfile_check *c,
				 const struct st_dockerfile_rule *rule)
{
	if (rule->experimental)
		return c->experimental_all || listed(c->experimental, c->nexperimental, rule->name);
	return !c->skip_all && !listed(c->skip, c->nskip, rule->name);
}
