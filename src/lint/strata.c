/*
 * strata.c: strata's own rules, for what costs image size and build time and what neither
 * BuildKit nor hadolint looks at: the whole context copied before the dependencies are
 * installed (every edit then reinstalls them), `npm install` where `npm ci` serves, a layer
 * that only changes owners or modes, a download deleted in a later layer, package manager
 * caches left behind, a final stage that runs as root by default, and a token passed as an
 * ARG that RUN reads.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lint/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const struct st_dockerfile_rule rules[] = {
	{ "ST1001",
	  "Copying the whole context before installing dependencies reinstalls them whenever any "
	  "file changes; copy the manifests, install, then copy the rest",
	  NULL, ST_DF_SEV_WARNING, false },
	{ "ST1002",
	  "`npm install` without packages can change the lockfile; `npm ci` installs exactly what "
	  "it pins",
	  NULL, ST_DF_SEV_INFO, false },
	{ "ST1003",
	  "A RUN that only changes owners or modes copies every file it touches into a new layer; "
	  "use COPY --chown/--chmod where the files come in",
	  NULL, ST_DF_SEV_WARNING, false },
	{ "ST1004",
	  "A file deleted in a later RUN than the one that fetched it stays in the earlier layer",
	  NULL, ST_DF_SEV_WARNING, false },
	{ "ST1005", "Package manager cache not cleaned in the RUN that filled it", NULL,
	  ST_DF_SEV_INFO, false },
	{ "ST1006", "The final stage sets no USER: the container runs as root", NULL,
	  ST_DF_SEV_INFO, false },
	{ "ST1008",
	  "The build context holds what no image needs and .dockerignore lets it through: every "
	  "build sends it",
	  NULL, ST_DF_SEV_WARNING, false },
	{ "ST1007",
	  "A token in an ARG is kept in the image's history and the build cache; RUN "
	  "--mount=type=secret keeps it out",
	  NULL, ST_DF_SEV_WARNING, false },
};

const struct st_dockerfile_rule *lint_strata_rule_find(const char *name)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++)
		if (!strcmp(rules[i].name, name))
			return &rules[i];
	return lint_image_rule_find(name);
}

/* A dependency install and the files it reads, for the reordering ST1001 suggests. */
struct install {
	const char *cmd, *sub; /* argv[0] and a word after it ("npm", "ci") */
	const char *manifests;
};

static const struct install installs[] = {
	{ "npm", "ci", "package.json package-lock.json" },
	{ "npm", "install", "package.json package-lock.json" },
	{ "yarn", "install", "package.json yarn.lock" },
	{ "pnpm", "install", "package.json pnpm-lock.yaml" },
	{ "pip", "-r", NULL },
	{ "pip3", "-r", NULL },
	{ "go", "download", "go.mod go.sum" },
	{ "mvn", "dependency:go-offline", "pom.xml" },
	{ "mvn", "dependency:resolve", "pom.xml" },
	{ "gradle", "dependencies", "build.gradle settings.gradle" },
	{ "bundle", "install", "Gemfile Gemfile.lock" },
	{ "composer", "install", "composer.json composer.lock" },
};

static bool has(const struct lint_cmd *c, const char *w)
{
	for (size_t i = 1; i < c->argc; i++)
		if (!strcmp(c->argv[i], w))
			return true;
	return false;
}

/* The manifests the install in 'in' reads ("package.json package-lock.json"), or NULL. */
static char *install_manifests(struct lint_ctx *ctx, const struct st_dockerfile_instr *in)
{
	const struct lint_script *sc = lint_run_script(ctx, in);
	char *found = NULL;
	for (size_t i = 0; !found && i < sc->ncmds; i++) {
		const struct lint_cmd *c = &sc->cmds[i];
		for (size_t k = 0; !found && k < sizeof(installs) / sizeof(*installs); k++) {
			if (strcmp(c->argv[0], installs[k].cmd) || !has(c, installs[k].sub))
				continue;
			if (installs[k].manifests) {
				found = st_xstrdup(installs[k].manifests);
				continue;
			}
			for (size_t a = 1; a + 1 < c->argc; a++)
				if (!strcmp(c->argv[a], "-r"))
					found = st_xstrdup(c->argv[a + 1]);
		}
	}
	return found;
}

/* COPY . . or COPY . /app: every file of the context. */
static bool copies_everything(const struct st_dockerfile_instr *in)
{
	if (in->kind != ST_DF_COPY || st_dockerfile_instr_flag(in, "from") || in->nargs < 2)
		return false;
	for (size_t i = 0; i + 1 < in->nargs; i++)
		if (!strcmp(in->args[i], ".") || !strcmp(in->args[i], "./") ||
		    !strcmp(in->args[i], "*"))
			return true;
	return false;
}

static void copy_before_install(struct lint_ctx *c, const struct st_dockerfile_stage *s)
{
	const struct st_dockerfile_instr *copy = NULL;
	for (size_t k = 0; k < s->ninstrs; k++) {
		const struct st_dockerfile_instr *in = s->instrs[k];
		if (!copy && copies_everything(in)) {
			copy = in;
			continue;
		}
		if (!copy || in->kind != ST_DF_RUN)
			continue;
		st_autofree char *m = install_manifests(c, in);
		if (!m)
			continue;
		/* The manifests go to the directory the whole context goes to. */
		const char *dest = copy->args[copy->nargs - 1];
		bool dir = dest[strlen(dest) - 1] == '/';
		char *fix = NULL;
		if (copy->start_line == copy->end_line && in->original)
			fix = st_xasprintf("COPY %s %s%s\n%s\n%s", m, dest, dir ? "" : "/",
					   in->original, copy->original);
		lint_add(c, lint_strata_rule_find("ST1001"), copy->start_line, in->end_line, fix,
			 "COPY of the whole context on line %d comes before the install on line "
			 "%d: copy %s first",
			 copy->start_line, in->start_line, m);
		return;
	}
}

static bool all_owner_changes(const struct lint_script *sc)
{
	if (!sc->ncmds)
		return false;
	for (size_t i = 0; i < sc->ncmds; i++) {
		const struct lint_cmd *cmd = &sc->cmds[i];
		bool chx = !strcmp(cmd->argv[0], "chown") || !strcmp(cmd->argv[0], "chmod");
		if (!chx || !(has(cmd, "-R") || has(cmd, "--recursive")))
			return false;
	}
	return true;
}

/* The file a download command writes: curl -o F / -O URL, wget -O F / URL. */
static const char *download_target(const struct lint_cmd *cmd)
{
	bool curl = !strcmp(cmd->argv[0], "curl"), wget = !strcmp(cmd->argv[0], "wget");
	if (!curl && !wget)
		return NULL;
	const char *url = NULL;
	for (size_t i = 1; i < cmd->argc; i++) {
		const char *a = cmd->argv[i];
		if ((curl && !strcmp(a, "-o")) || (wget && !strcmp(a, "-O")))
			return i + 1 < cmd->argc && strcmp(cmd->argv[i + 1], "-") ? cmd->argv[i + 1]
										  : NULL;
		if (!strncmp(a, "http://", 7) || !strncmp(a, "https://", 8))
			url = a;
	}
	bool remote_name = wget || has(cmd, "-O") || has(cmd, "--remote-name");
	if (!url || !remote_name)
		return NULL;
	const char *slash = strrchr(url, '/');
	return slash && slash[1] ? slash + 1 : NULL;
}

static const char *basename_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

struct fetched {
	char *name;
	const struct st_dockerfile_instr *in;
};

/* The size rules (ST1003, ST1004, ST1005) look at the layers of 'in_image' stages only: a
 * stage that is only copied from leaves its layers behind. */
static void stage_rules(struct lint_ctx *c, const struct st_dockerfile_stage *s, bool in_image)
{
	struct fetched *f = NULL;
	size_t nf = 0;
	for (size_t k = 0; k < s->ninstrs; k++) {
		const struct st_dockerfile_instr *in = s->instrs[k];
		if (in->kind != ST_DF_RUN)
			continue;
		const struct lint_script *sc = lint_run_script(c, in);
		if (in_image && all_owner_changes(sc))
			lint_add(c, lint_strata_rule_find("ST1003"), in->start_line, in->end_line,
				 NULL, "%s", lint_strata_rule_find("ST1003")->description);
		bool npm_bare = false, cache = false, cleaned = false;
		for (size_t i = 0; i < sc->ncmds; i++) {
			const struct lint_cmd *cmd = &sc->cmds[i];
			const char *a0 = basename_of(cmd->argv[0]);
			if (!strcmp(a0, "npm") && cmd->argc >= 2 &&
			    !strcmp(cmd->argv[1], "install")) {
				bool pkgs = false;
				for (size_t a = 2; a < cmd->argc; a++)
					pkgs = pkgs || cmd->argv[a][0] != '-';
				npm_bare = npm_bare || !pkgs;
			}
			if ((!strcmp(a0, "yum") || !strcmp(a0, "dnf") || !strcmp(a0, "microdnf") ||
			     !strcmp(a0, "zypper")) &&
			    (has(cmd, "install") || has(cmd, "in")))
				cache = true;
			if ((!strcmp(a0, "yum") || !strcmp(a0, "dnf") || !strcmp(a0, "microdnf") ||
			     !strcmp(a0, "zypper")) &&
			    (has(cmd, "clean") || has(cmd, "cc")))
				cleaned = true;
			if (!strcmp(a0, "rm") && cmd->argc > 1)
				for (size_t a = 1; a < cmd->argc; a++)
					if (strstr(cmd->argv[a], "/var/cache/"))
						cleaned = true;
			const char *t = download_target(cmd);
			if (t) {
				f = st_xrealloc(f, (nf + 1) * sizeof(*f));
				f[nf++] = (struct fetched){ st_xstrdup(basename_of(t)), in };
			}
			for (size_t a = 1; !strcmp(a0, "rm") && a < cmd->argc; a++)
				for (size_t j = 0; j < nf; j++)
					if (in_image && f[j].in != in &&
					    !strcmp(basename_of(cmd->argv[a]), f[j].name))
						lint_add(
						    c, lint_strata_rule_find("ST1004"),
						    in->start_line, in->end_line, NULL,
						    "%s, fetched on line %d, is deleted here in "
						    "another layer: it still takes its space in "
						    "the "
						    "image",
						    f[j].name, f[j].in->start_line);
		}
		if (npm_bare)
			lint_add(c, lint_strata_rule_find("ST1002"), in->start_line, in->end_line,
				 NULL, "%s", lint_strata_rule_find("ST1002")->description);
		if (in_image && cache && !cleaned)
			lint_add(c, lint_strata_rule_find("ST1005"), in->start_line, in->end_line,
				 NULL, "%s: add `&& yum clean all` (dnf, zypper: their clean)",
				 lint_strata_rule_find("ST1005")->description);
	}
	for (size_t j = 0; j < nf; j++)
		free(f[j].name);
	free(f);
}

/* The secret-looking ARGs (BuildKit's SecretsUsedInArgOrEnv words) that a RUN reads. */
static void arg_tokens(struct lint_ctx *c, const struct st_dockerfile_stage *s)
{
	static const char *const words[] = { "TOKEN",	"PASSWORD", "SECRET",	  "APIKEY",
					     "API_KEY", "PASSWD",   "CREDENTIALS" };
	for (size_t k = 0; k < s->ninstrs; k++) {
		const struct st_dockerfile_instr *a = s->instrs[k];
		if (a->kind != ST_DF_ARG)
			continue;
		for (size_t w = 0; w < a->nargs; w++) {
			st_autofree char *name = st_xstrndup(a->args[w], strcspn(a->args[w], "="));
			bool secret = false;
			for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
				secret = secret || strcasestr(name, words[i]);
			if (!secret)
				continue;
			for (size_t r = k + 1; r < s->ninstrs; r++) {
				const struct st_dockerfile_instr *in = s->instrs[r];
				if (in->kind != ST_DF_RUN)
					continue;
				/* Expanded by the shell: '$TOKEN' in single quotes is text. */
				const struct lint_script *sc = lint_run_script(c, in);
				bool reads = false;
				for (size_t v = 0; v < sc->nvars && !reads; v++)
					reads = !strcmp(sc->vars[v], name);
				if (!reads)
					continue;
				lint_add(
				    c, lint_strata_rule_find("ST1007"), in->start_line,
				    in->end_line, NULL,
				    "ARG %s reaches this RUN through the image's history and the "
				    "build cache: use RUN --mount=type=secret,id=%s,env=%s and "
				    "strata build --secret id=%s,env=%s",
				    name, name, name, name, name);
				break;
			}
		}
	}
}

/* ST1008: .git, node_modules or .env at the top of the context, not excluded. */
static void context_entries(struct lint_ctx *c)
{
	static const char *const heavy[] = { ".git", "node_modules", ".env" };
	const struct st_lint_opts *o = c->o;
	int line = 0, end = 0;
	for (size_t i = 0; i < c->df->ninstrs && !line; i++)
		if (copies_everything(&c->df->instrs[i])) {
			line = c->df->instrs[i].start_line;
			end = c->df->instrs[i].end_line;
		}
	/* Only what a COPY of everything takes along goes into the image or its cache key. */
	if (!line)
		return;
	for (size_t i = 0; i < o->ncontext_entries; i++)
		for (size_t k = 0; k < sizeof(heavy) / sizeof(*heavy); k++)
			if (!strcmp(o->context_entries[i], heavy[k]) &&
			    !(o->ignore && st_dockerignore_matches(o->ignore, heavy[k])))
				lint_add(
				    c, lint_strata_rule_find("ST1008"), line, end, NULL,
				    "%s is in the context and .dockerignore does not exclude it: "
				    "COPY . sends it into the image (add \"%s\" to .dockerignore)",
				    heavy[k], heavy[k]);
}

/* An image that installs or runs gosu or su-exec starts as root on purpose: its entrypoint
 * steps down to a user once it has set up what needs root (the official images' pattern). */
static bool drops_root(struct lint_ctx *c, const struct st_dockerfile_instr *in)
{
	if (in->kind != ST_DF_RUN)
		return false;
	const struct lint_script *sc = lint_run_script(c, in);
	for (size_t i = 0; i < sc->ncmds; i++) {
		const char *a0 = basename_of(sc->cmds[i].argv[0]);
		if (!strcmp(a0, "gosu") || !strcmp(a0, "su-exec"))
			return true;
	}
	return false;
}

void lint_strata(struct lint_ctx *c)
{
	context_entries(c);
	const struct st_dockerfile *df = c->df;
	bool *based = st_xcalloc(df->nstages + 1, sizeof(*based));
	for (size_t k = 0; k < df->nstages; k++)
		if (c->base_of[k] >= 0)
			based[c->base_of[k]] = true;
	for (size_t i = 0; i < df->nstages; i++) {
		copy_before_install(c, &df->stages[i]);
		stage_rules(c, &df->stages[i], i + 1 == df->nstages || based[i]);
		arg_tokens(c, &df->stages[i]);
	}
	free(based);
	/* ST1006: the last stage and the stages it is built on set no USER. */
	if (!df->nstages)
		return;
	size_t i = df->nstages - 1;
	for (;;) {
		const struct st_dockerfile_stage *s = &df->stages[i];
		for (size_t k = 0; k < s->ninstrs; k++)
			if (s->instrs[k]->kind == ST_DF_USER || drops_root(c, s->instrs[k]))
				return;
		if (c->base_of[i] < 0)
			break;
		i = (size_t)c->base_of[i];
	}
	const struct st_dockerfile_instr *from = df->stages[df->nstages - 1].from;
	/* scratch images often have no shell or users at all: nothing to switch to. */
	if (strcasecmp(df->stages[df->nstages - 1].base, "scratch"))
		lint_add(c, lint_strata_rule_find("ST1006"), from->start_line, from->end_line, NULL,
			 "%s", lint_strata_rule_find("ST1006")->description);
}
