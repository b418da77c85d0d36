/*
 * hadolint.c: hadolint's DL rules for size, cache, security and correctness, under their ids,
 * messages and severities (src/Hadolint/Rule/DL*.hs), so that existing ignore lists and
 * pragmas keep working. RUN is read with a bash grammar (shell.c): heredoc scripts and
 * `sh -c` strings are checked, a quoted "&&" is not a command boundary.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lint/internal.h"
#include "util/cleanup.h"
#include "util/banned.h"

#define WIKI(id) "https://github.com/hadolint/hadolint/wiki/" id

static const struct st_dockerfile_rule dl[] = {
	{ "DL3002", "Last USER should not be root", WIKI("DL3002"), ST_DF_SEV_WARNING, false },
	{ "DL3003", "Use WORKDIR to switch to a directory", WIKI("DL3003"), ST_DF_SEV_WARNING,
	  false },
	{ "DL3004",
	  "Do not use sudo as it leads to unpredictable behavior. Use a tool like gosu to enforce "
	  "root",
	  WIKI("DL3004"), ST_DF_SEV_ERROR, false },
	{ "DL3006", "Always tag the version of an image explicitly", WIKI("DL3006"),
	  ST_DF_SEV_WARNING, false },
	{ "DL3007",
	  "Using latest is prone to errors if the image will ever update. Pin the version "
	  "explicitly to a release tag",
	  WIKI("DL3007"), ST_DF_SEV_WARNING, false },
	{ "DL3008",
	  "Pin versions in apt get install. Instead of `apt-get install <package>` use `apt-get "
	  "install <package>=<version>`",
	  WIKI("DL3008"), ST_DF_SEV_WARNING, false },
	{ "DL3009", "Delete the apt-get lists after installing something", WIKI("DL3009"),
	  ST_DF_SEV_INFO, false },
	{ "DL3013",
	  "Pin versions in pip. Instead of `pip install <package>` use `pip install "
	  "<package>==<version>` or `pip install --requirement <requirements file>`",
	  WIKI("DL3013"), ST_DF_SEV_WARNING, false },
	{ "DL3015", "Avoid additional packages by specifying `--no-install-recommends`",
	  WIKI("DL3015"), ST_DF_SEV_INFO, false },
	{ "DL3016",
	  "Pin versions in npm. Instead of `npm install <package>` use `npm install "
	  "<package>@<version>`",
	  WIKI("DL3016"), ST_DF_SEV_WARNING, false },
	{ "DL3018",
	  "Pin versions in apk add. Instead of `apk add <package>` use `apk add "
	  "<package>=<version>`",
	  WIKI("DL3018"), ST_DF_SEV_WARNING, false },
	{ "DL3019",
	  "Use the `--no-cache` switch to avoid the need to use `--update` and remove "
	  "`/var/cache/apk/*` when done installing packages",
	  WIKI("DL3019"), ST_DF_SEV_INFO, false },
	{ "DL3020", "Use COPY instead of ADD for files and folders", WIKI("DL3020"),
	  ST_DF_SEV_ERROR, false },
	{ "DL3022", "COPY --from should reference a previously defined FROM alias", WIKI("DL3022"),
	  ST_DF_SEV_WARNING, false },
	{ "DL3025", "Use arguments JSON notation for CMD and ENTRYPOINT arguments", WIKI("DL3025"),
	  ST_DF_SEV_WARNING, false },
	{ "DL3026", "Use only an allowed registry in the FROM image", WIKI("DL3026"),
	  ST_DF_SEV_ERROR, false },
	{ "DL3027",
	  "Do not use apt as it is meant to be an end-user tool, use apt-get or apt-cache instead",
	  WIKI("DL3027"), ST_DF_SEV_WARNING, false },
	{ "DL3042",
	  "Avoid use of cache directory with pip. Use `pip install --no-cache-dir <package>`",
	  WIKI("DL3042"), ST_DF_SEV_WARNING, false },
	{ "DL3045", "`COPY` to a relative destination without `WORKDIR` set.", WIKI("DL3045"),
	  ST_DF_SEV_WARNING, false },
	{ "DL3059", "Multiple consecutive `RUN` instructions. Consider consolidation.",
	  WIKI("DL3059"), ST_DF_SEV_INFO, false },
	{ "DL4006",
	  "Set the SHELL option -o pipefail before RUN with a pipe in it. If you are using "
	  "/bin/sh in an alpine image or if your shell is symlinked to busybox then consider "
	  "explicitly setting your SHELL to /bin/ash, or disable this check",
	  WIKI("DL4006"), ST_DF_SEV_WARNING, false },
};

const struct st_dockerfile_rule *st_lint_rule_find(const char *name)
{
	for (size_t i = 0; i < sizeof(dl) / sizeof(*dl); i++)
		if (!strcmp(dl[i].name, name))
			return &dl[i];
	return lint_strata_rule_find(name);
}

static void add(struct lint_ctx *c, const char *id, const struct st_dockerfile_instr *in, char *fix)
{
	const struct st_dockerfile_rule *r = st_lint_rule_find(id);
	lint_add(c, r, in->start_line, in->end_line, fix, "%s", r->description);
}

/* ---- commands ---- */

static bool has_arg(const struct lint_cmd *cmd, const char *a)
{
	for (size_t i = 1; i < cmd->argc; i++)
		if (!strcmp(cmd->argv[i], a))
			return true;
	return false;
}

static bool has_prefix_arg(const struct lint_cmd *cmd, const char *prefix)
{
	for (size_t i = 1; i < cmd->argc; i++)
		if (!strncmp(cmd->argv[i], prefix, strlen(prefix)))
			return true;
	return false;
}

/* The command a word names: "/usr/bin/apt-get" is apt-get. */
static bool is(const struct lint_cmd *cmd, const char *name)
{
	const char *slash = strrchr(cmd->argv[0], '/');
	return !strcmp(slash ? slash + 1 : cmd->argv[0], name);
}

/* "pip install", "pip3 install", "python -m pip install": index of "install" or 0. */
static size_t pip_install(const struct lint_cmd *cmd)
{
	size_t i = 1;
	if (is(cmd, "python") || is(cmd, "python3")) {
		if (cmd->argc < 4 || strcmp(cmd->argv[1], "-m") || strcmp(cmd->argv[2], "pip"))
			return 0;
		i = 3;
	} else if (!is(cmd, "pip") && !is(cmd, "pip3")) {
		return 0;
	}
	for (; i < cmd->argc; i++)
		if (!strcmp(cmd->argv[i], "install"))
			return i;
	return 0;
}

/* The words after 'sub' that are not options nor the values 'valued' options take. */
static bool each_package(const struct lint_cmd *cmd, size_t from, const char *const *valued,
			 bool (*pinned)(const char *), bool *any)
{
	for (size_t i = from; i < cmd->argc; i++) {
		const char *a = cmd->argv[i];
		if (a[0] == '-') {
			for (const char *const *v = valued; *v; v++)
				if (!strcmp(a, *v))
					i++;
			continue;
		}
		*any = true;
		if (!pinned(a))
			return false;
	}
	return true;
}

static bool apt_pinned(const char *p)
{
	return strchr(p, '=') || strstr(p, ".deb");
}

static bool apk_pinned(const char *p)
{
	return strchr(p, '=') || strstr(p, ".apk");
}

static bool pip_pinned(const char *p)
{
	return strpbrk(p, "=<>~@") || strchr(p, '/') || !strcmp(p, ".") || strstr(p, ".whl") ||
	       strstr(p, ".tar.gz") || strstr(p, ".zip") || !strncmp(p, "git+", 4);
}

static bool npm_pinned(const char *p)
{
	const char *at = strchr(p + (*p == '@'), '@');
	return at || strchr(p, '/') || strchr(p, ':') || !strcmp(p, ".") || strstr(p, ".tgz") ||
	       strstr(p, ".tar.gz");
}

static bool apt_install(const struct lint_cmd *cmd, size_t *at)
{
	if (!is(cmd, "apt-get"))
		return false;
	for (size_t i = 1; i < cmd->argc; i++)
		if (!strcmp(cmd->argv[i], "install")) {
			*at = i + 1;
			return true;
		}
	return false;
}

static bool apk_add(const struct lint_cmd *cmd, size_t *at)
{
	if (!is(cmd, "apk"))
		return false;
	for (size_t i = 1; i < cmd->argc; i++)
		if (!strcmp(cmd->argv[i], "add")) {
			*at = i + 1;
			return true;
		}
	return false;
}

/* A --mount=type=cache on 'in' whose target starts with 'dir'. */
static bool cache_mount(const struct st_dockerfile_instr *in, const char *dir)
{
	for (size_t i = 0; i < in->nflags; i++)
		if (!strcmp(in->flags[i].name, "mount") && in->flags[i].value &&
		    strstr(in->flags[i].value, "type=cache") && strstr(in->flags[i].value, dir))
			return true;
	return false;
}

/* The single-line instruction with 'from' replaced by 'to' once; NULL otherwise. */
static char *replace_fix(const struct st_dockerfile_instr *in, const char *from, const char *to)
{
	if (in->start_line != in->end_line || !in->original)
		return NULL;
	const char *at = strstr(in->original, from);
	if (!at)
		return NULL;
	return st_xasprintf("%.*s%s%s", (int)(at - in->original), in->original, to,
			    at + strlen(from));
}

struct stage_info {
	bool workdir, pipefail;
	const struct st_dockerfile_instr *apt_run; /* a RUN that left the apt lists behind */
};

static void run(struct lint_ctx *c, const struct st_dockerfile_instr *in, struct stage_info *si,
		bool pip_env_no_cache)
{
	const struct lint_script *sc = lint_run_script(c, in);
	bool update = false, cleanup = false;
	static const char *const apt_valued[] = { "-o", "-t", "--target-release", "-c", NULL };
	static const char *const apk_valued[] = { "--virtual", "-t", "--repository", "-X", "-p",
						  "--root",    NULL };
	static const char *const pip_valued[] = { "-r",
						  "--requirement",
						  "-c",
						  "--constraint",
						  "-i",
						  "--index-url",
						  "--extra-index-url",
						  "--trusted-host",
						  "-t",
						  "--target",
						  "--prefix",
						  "-e",
						  "--editable",
						  "-f",
						  "--find-links",
						  NULL };
	static const char *const npm_valued[] = { "--prefix", "--registry", "--tag", NULL };
	bool f3003 = false, f3004 = false, f3008 = false, f3013 = false, f3015 = false,
	     f3016 = false, f3018 = false, f3019 = false, f3027 = false, f3042 = false;
	for (size_t i = 0; i < sc->ncmds; i++) {
		const struct lint_cmd *cmd = &sc->cmds[i];
		size_t at = 0;
		bool any = false;
		/* A cd in a subshell or $(...) ends with it: WORKDIR would not replace it. */
		f3003 = f3003 || (is(cmd, "cd") && !cmd->nested);
		f3004 = f3004 || is(cmd, "sudo");
		f3027 = f3027 || is(cmd, "apt");
		update = update || (is(cmd, "apt-get") && has_arg(cmd, "update"));
		cleanup = cleanup || (is(cmd, "rm") && has_arg(cmd, "/var/lib/apt/lists/*") &&
				      (has_prefix_arg(cmd, "-rf") || has_prefix_arg(cmd, "-fr") ||
				       has_arg(cmd, "-r") || has_arg(cmd, "-R")));
		if (apt_install(cmd, &at)) {
			f3008 = f3008 || !each_package(cmd, at, apt_valued, apt_pinned, &any);
			/* An explicit --install-recommends is a choice, not an oversight. */
			f3015 = f3015 || !(has_arg(cmd, "--no-install-recommends") ||
					   has_arg(cmd, "--install-recommends") ||
					   has_arg(cmd, "APT::Install-Recommends=false") ||
					   has_arg(cmd, "APT::Install-Recommends=0"));
		}
		if (apk_add(cmd, &at)) {
			f3018 = f3018 || !each_package(cmd, at, apk_valued, apk_pinned, &any);
			f3019 = f3019 ||
				(!has_arg(cmd, "--no-cache") && !cache_mount(in, "/var/cache/apk"));
		}
		if ((at = pip_install(cmd))) {
			bool req = has_arg(cmd, "-r") || has_arg(cmd, "--requirement");
			f3013 = f3013 ||
				(!req && !each_package(cmd, at + 1, pip_valued, pip_pinned, &any));
			f3042 = f3042 || (!has_arg(cmd, "--no-cache-dir") && !pip_env_no_cache &&
					  !cache_mount(in, "/root/.cache/pip"));
		}
		if (is(cmd, "npm") && cmd->argc > 1 &&
		    (!strcmp(cmd->argv[1], "install") || !strcmp(cmd->argv[1], "i") ||
		     !strcmp(cmd->argv[1], "add")))
			f3016 = f3016 || !each_package(cmd, 2, npm_valued, npm_pinned, &any);
	}
	if (f3003)
		add(c, "DL3003", in, NULL);
	if (f3004)
		add(c, "DL3004", in, NULL);
	if (f3008)
		add(c, "DL3008", in, NULL);
	if (f3013)
		add(c, "DL3013", in, NULL);
	if (f3015)
		add(c, "DL3015", in,
		    replace_fix(in, "apt-get install", "apt-get install --no-install-recommends"));
	if (f3016)
		add(c, "DL3016", in, NULL);
	if (f3018)
		add(c, "DL3018", in, NULL);
	if (f3019)
		add(c, "DL3019", in, replace_fix(in, "apk add", "apk add --no-cache"));
	if (f3027)
		add(c, "DL3027", in, replace_fix(in, "apt ", "apt-get "));
	if (f3042)
		add(c, "DL3042", in, replace_fix(in, "pip install", "pip install --no-cache-dir"));
	if (sc->pipe && !si->pipefail)
		add(c, "DL4006", in, NULL);
	if (update && !cleanup && !cache_mount(in, "/var/lib/apt/lists") && !si->apt_run)
		si->apt_run = in;
}

static bool archive(const char *s)
{
	static const char *const ext[] = { ".tar",  ".gz",  ".bz2", ".xz",   ".zip",
					   ".tgz",  ".tb2", ".tbz", ".tbz2", ".lz",
					   ".lzma", ".tlz", ".txz", ".Z",    ".tZ" };
	size_t n = strlen(s);
	for (size_t i = 0; i < sizeof(ext) / sizeof(*ext); i++) {
		size_t e = strlen(ext[i]);
		if (n > e && !strcmp(s + n - e, ext[i]))
			return true;
	}
	return false;
}

static bool url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) || !strncmp(s, "git@", 4);
}

/* DL3026: the registry of 'img' (docker.io when the name has none) is not a trusted one. */
static void trusted(struct lint_ctx *c, const struct st_dockerfile_stage *s, const char *img)
{
	const struct st_lint_config *cfg = c->o->config;
	if (!cfg || !cfg->ntrusted)
		return;
	size_t n = strcspn(img, "/");
	bool domain = img[n] == '/' && (memchr(img, '.', n) || memchr(img, ':', n) ||
					(n == 9 && !strncmp(img, "localhost", 9)));
	st_autofree char *reg = domain ? st_xstrndup(img, n) : st_xstrdup("docker.io");
	for (size_t i = 0; i < cfg->ntrusted; i++)
		if (!strcmp(cfg->trusted_registries[i], reg))
			return;
	add(c, "DL3026", s->from, NULL);
}

/* FROM image without a tag or digest (DL3006), or with :latest (DL3007). */
static void from(struct lint_ctx *c, const struct st_dockerfile_stage *s, size_t idx)
{
	const char *img = s->base;
	if (!strcasecmp(img, "scratch") || strchr(img, '$'))
		return;
	if (c->base_of[idx] >= 0)
		return;
	trusted(c, s, img);
	if (strchr(img, '@'))
		return;
	const char *slash = strrchr(img, '/');
	const char *colon = strchr(slash ? slash : img, ':');
	if (!colon)
		add(c, "DL3006", s->from, NULL);
	else if (!strcmp(colon + 1, "latest"))
		add(c, "DL3007", s->from, NULL);
}

static bool root_user(const char *u)
{
	size_t n = strcspn(u, ":");
	return (n == 4 && !strncmp(u, "root", 4)) || (n == 1 && u[0] == '0');
}

static bool same_flags(const struct st_dockerfile_instr *a, const struct st_dockerfile_instr *b)
{
	if (a->nflags != b->nflags)
		return false;
	for (size_t i = 0; i < a->nflags; i++)
		if (strcmp(a->flags[i].name, b->flags[i].name) ||
		    strcmp(a->flags[i].value ? a->flags[i].value : "",
			   b->flags[i].value ? b->flags[i].value : ""))
			return false;
	return true;
}

/* A shell that fails a pipe when any part fails: SHELL ["/bin/bash", "-o", "pipefail", ...]. */
static bool pipefail_shell(const struct st_dockerfile_instr *in)
{
	if (in->nargs && !strncmp(in->args[0], "pwsh", 4))
		return true;
	bool o = false;
	for (size_t i = 0; i < in->nargs; i++) {
		if (!strcmp(in->args[i], "pipefail") && o)
			return true;
		o = !strcmp(in->args[i], "-o");
	}
	return false;
}

void lint_hadolint(struct lint_ctx *c)
{
	const struct st_dockerfile *df = c->df;
	struct stage_info *si = st_xcalloc(df->nstages + 1, sizeof(*si));
	for (size_t i = 0; i < df->nstages; i++) {
		const struct st_dockerfile_stage *s = &df->stages[i];
		struct stage_info *cur = &si[i];
		from(c, s, i);
		if (c->base_of[i] >= 0)
			cur->workdir = si[c->base_of[i]].workdir;
		const struct st_dockerfile_instr *prev = NULL, *user = NULL;
		bool pip_no_cache = false;
		for (size_t k = 0; k < s->ninstrs; k++) {
			const struct st_dockerfile_instr *in = s->instrs[k];
			switch (in->kind) {
			case ST_DF_RUN:
				run(c, in, cur, pip_no_cache);
				if (prev && prev->kind == ST_DF_RUN && same_flags(prev, in))
					add(c, "DL3059", in, NULL);
				break;
			case ST_DF_WORKDIR:
				cur->workdir = true;
				break;
			case ST_DF_SHELL:
				cur->pipefail = pipefail_shell(in);
				break;
			case ST_DF_ENV:
				for (size_t a = 0; a + 1 < in->nargs; a += 2)
					pip_no_cache = pip_no_cache ||
						       !strcmp(in->args[a], "PIP_NO_CACHE_DIR");
				break;
			case ST_DF_USER:
				user = in;
				break;
			case ST_DF_CMD:
			case ST_DF_ENTRYPOINT:
				if (!in->json)
					add(c, "DL3025", in, lint_json_fix(in));
				break;
			case ST_DF_ADD: {
				bool copy = in->nargs > 1 && !in->nheredocs;
				for (size_t a = 0; copy && a + 1 < in->nargs; a++)
					copy = !archive(in->args[a]) && !url(in->args[a]);
				if (copy)
					add(c, "DL3020", in, replace_fix(in, in->keyword, "COPY"));
				break;
			}
			case ST_DF_COPY: {
				const char *fr = st_dockerfile_instr_flag(in, "from");
				bool known = !fr || strpbrk(fr, ":/$") ||
					     (*fr >= '0' && *fr <= '9') ||
					     lint_stage_before(c, fr, i) >= 0;
				if (!known)
					add(c, "DL3022", in, NULL);
				const char *dest = in->nargs ? in->args[in->nargs - 1] : "/";
				/* "$PHP_INI_DIR/conf.d/": quotes are the shell's, not the path's.
				 */
				if (*dest == '"' || *dest == '\'')
					dest++;
				if (!cur->workdir && dest[0] != '/' && dest[0] != '$')
					add(c, "DL3045", in, NULL);
				break;
			}
			default:
				break;
			}
			prev = in;
		}
		if (i + 1 == df->nstages && user && root_user(user->args[0]))
			add(c, "DL3002", user, NULL);
	}
	/* DL3009 only where the lists end up in an image: the last stage, or a stage another
	 * one builds FROM. */
	bool *based = st_xcalloc(df->nstages + 1, sizeof(*based));
	for (size_t k = 0; k < df->nstages; k++)
		if (c->base_of[k] >= 0)
			based[c->base_of[k]] = true;
	for (size_t i = 0; i < df->nstages; i++)
		if (si[i].apt_run && (i + 1 == df->nstages || based[i]))
			add(c, "DL3009", si[i].apt_run, NULL);
	free(based);
	free(si);
}
