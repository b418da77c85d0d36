/*
 * git.c: git repositories as ADD sources and as build contexts, as BuildKit's git source has
 * them.
 *
 * What counts as a git URL is BuildKit's grammar (util/gitutil and dfgitutil): a git://,
 * ssh://, http:// or https:// URL, the http(s) ones only when their path ends in ".git", and
 * scp-like "user@host:path" (ssh). A "#ref:subdir" fragment (or "##ref=R,commit=C,subdir=D")
 * and BuildKit's query form (?ref=, ?tag=, ?branch=, ?subdir=, ?checksum= or ?commit=,
 * ?keep-git-dir=, ?mtime=commit|checkout) choose what is checked out.
 *
 * The work is done by the git program, not libgit2: BuildKit runs git itself, and so gets
 * every transport git has (smart HTTP with proxies from the environment, git://, ssh through
 * the user's agent) and shallow fetches of a single commit, which Debian 12's libgit2 (1.5)
 * cannot do. git runs with no user or system configuration and never prompts.
 *
 * A ref is resolved with `git ls-remote` when the step is keyed, so the cache key holds the
 * commit: a branch that moved misses and says from which commit to which. The commit is
 * fetched alone (--depth=1) when the step runs, into a git directory beside the tree, so the
 * tree has no .git unless --keep-git-dir asks for one. Submodules are checked out with it,
 * recursively, as BuildKit does, each from the URL its .gitmodules gives (git's defaults
 * refuse file:// and ext:: there). Modes are git's own (0644, 0755 for
 * executables, directories 0755), whatever the umask; mtimes are the checkout's, or the
 * commit's when the build has SOURCE_DATE_EPOCH or the URL says ?mtime=commit (BuildKit's rule).
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "builder/internal.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

extern char **environ;

/* scp-like "user@host:path": BuildKit's implicit ssh transport. */
static bool is_scp_like(const char *s)
{
	size_t u = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
	if (!u || s[u] != '@')
		return false;
	const char *host = s + u + 1;
	size_t h = strcspn(host, ":/");
	return h && host[h] == ':';
}

static bool has_scheme(const char *s, const char *scheme)
{
	size_t n = strlen(scheme);
	return !strncasecmp(s, scheme, n) && !strncmp(s + n, "://", 3);
}

bool builder_git_is_url(const char *s)
{
	if (has_scheme(s, "git") || has_scheme(s, "ssh") || is_scp_like(s))
		return true;
	if (!has_scheme(s, "http") && !has_scheme(s, "https"))
		return false;
	/* An http(s) URL is a repository only when its path ends in ".git". */
	size_t n = strcspn(s, "#?");
	return n >= 4 && !strncmp(s + n - 4, ".git", 4);
}

void builder_git_source_release(struct git_source *g)
{
	free(g->remote);
	free(g->ref);
	free(g->subdir);
	free(g->checksum);
	memset(g, 0, sizeof(*g));
}

static int set_once(char **field, const char *what, const char *v, size_t n, struct st_error **err)
{
	if (*field && (strlen(*field) != n || strncmp(*field, v, n)))
		return st_err(err, ST_E_INVALID, "%s conflicts: '%s' vs '%.*s'", what, *field,
			      (int)n, v);
	free(*field);
	*field = st_xstrndup(v, n);
	return 0;
}

static int parse_bool(const char *key, const char *v, size_t n, int *out, struct st_error **err)
{
	if (!n || (n == 4 && !strncmp(v, "true", 4)) || (n == 1 && *v == '1'))
		*out = 1;
	else if ((n == 5 && !strncmp(v, "false", 5)) || (n == 1 && *v == '0'))
		*out = 0;
	else
		return st_err(err, ST_E_INVALID, "invalid %s value '%.*s': expected true or false",
			      key, (int)n, v);
	return 0;
}

/* "##ref=R,commit=C,subdir=D": the fragment's CSV form. */
static int parse_fragment_csv(const char *f, struct git_source *g, struct st_error **err)
{
	while (*f) {
		size_t n = strcspn(f, ",");
		const char *eq = memchr(f, '=', n);
		if (!eq)
			return st_err(err, ST_E_INVALID,
				      "invalid field '%.*s': expected a key=value pair", (int)n, f);
		size_t kn = (size_t)(eq - f), vn = n - kn - 1;
		int rc;
		if (kn == 3 && !strncasecmp(f, "ref", 3))
			rc = set_once(&g->ref, "ref", eq + 1, vn, err);
		else if (kn == 6 && !strncasecmp(f, "commit", 6))
			rc = set_once(&g->checksum, "commit", eq + 1, vn, err);
		else if (kn == 6 && !strncasecmp(f, "subdir", 6))
			rc = set_once(&g->subdir, "subdir", eq + 1, vn, err);
		else
			rc = st_err(err, ST_E_INVALID,
				    "unexpected key '%.*s' (supported keys: ref, commit, subdir)",
				    (int)kn, f);
		if (rc < 0)
			return -1;
		f += n + (f[n] == ',');
	}
	return 0;
}

static int parse_query(const char *q, size_t len, struct git_source *g, struct st_error **err)
{
	st_autofree char *tag = NULL, *branch = NULL;
	const char *end = q + len;
	while (q < end) {
		size_t n = (size_t)(end - q);
		const char *amp = memchr(q, '&', n);
		if (amp)
			n = (size_t)(amp - q);
		const char *eq = memchr(q, '=', n);
		size_t kn = eq ? (size_t)(eq - q) : n, vn = eq ? n - kn - 1 : 0;
		const char *v = eq ? eq + 1 : "";
		st_autofree char *key = st_xstrndup(q, kn);
		int rc = 0;
		if (!vn && strcmp(key, "keep-git-dir") && strcmp(key, "submodules"))
			rc = st_err(err, ST_E_INVALID, "query '%s' has no value", key);
		else if (!strcmp(key, "ref"))
			rc = set_once(&g->ref, "ref", v, vn, err);
		else if (!strcmp(key, "tag"))
			rc = set_once(&tag, "tag", v, vn, err);
		else if (!strcmp(key, "branch"))
			rc = set_once(&branch, "branch", v, vn, err);
		else if (!strcmp(key, "subdir"))
			rc = set_once(&g->subdir, "subdir", v, vn, err);
		else if (!strcmp(key, "checksum") || !strcmp(key, "commit"))
			rc = set_once(&g->checksum, key, v, vn, err);
		else if (!strcmp(key, "keep-git-dir"))
			rc = parse_bool(key, v, vn, &g->keep_git_dir, err);
		else if (!strcmp(key, "mtime") && vn == 6 && !strncmp(v, "commit", 6))
			g->mtime_commit = 1;
		else if (!strcmp(key, "mtime") && vn == 8 && !strncmp(v, "checkout", 8))
			g->mtime_commit = 0;
		else if (!strcmp(key, "mtime"))
			rc = st_err(err, ST_E_INVALID,
				    "invalid mtime value '%.*s': expected commit or checkout",
				    (int)vn, v);
		else if (!strcmp(key, "submodules")) {
			int sub = 0;
			rc = parse_bool(key, v, vn, &sub, err);
			if (rc == 0 && sub)
				rc = st_err(err, ST_E_INVALID, "submodules are not supported");
		} else
			rc = st_err(err, ST_E_INVALID, "unexpected query '%s'", key);
		if (rc < 0)
			return -1;
		q += n + 1;
	}
	if (tag && branch)
		return st_err(err, ST_E_INVALID, "branch conflicts with tag");
	if (tag || branch) {
		const char *prefix = tag ? "refs/tags/" : "refs/heads/";
		const char *name = tag ? tag : branch;
		st_autofree char *full = strncmp(name, prefix, strlen(prefix))
					     ? st_xasprintf("%s%s", prefix, name)
					     : st_xstrdup(name);
		if (set_once(&g->ref, "ref", full, strlen(full), err) < 0)
			return -1;
	}
	return 0;
}

int builder_git_parse(const char *s, struct git_source *out, struct st_error **err)
{
	struct git_source g = { .keep_git_dir = -1, .mtime_commit = -1 };
	g.ssh = has_scheme(s, "ssh") || is_scp_like(s);
	const char *hash = strchr(s, '#');
	size_t rlen = hash ? (size_t)(hash - s) : strlen(s);
	/* The query is BuildKit's, never the server's: an scp-like path keeps its '?'. */
	const char *q = is_scp_like(s) ? NULL : memchr(s, '?', rlen);
	int rc = 0;
	if (q) {
		rc = parse_query(q + 1, rlen - (size_t)(q + 1 - s), &g, err);
		rlen = (size_t)(q - s);
	}
	if (rc == 0 && hash && hash[1] == '#') {
		rc = parse_fragment_csv(hash + 2, &g, err);
	} else if (rc == 0 && hash && hash[1]) {
		const char *f = hash + 1;
		size_t rn = strcspn(f, ":");
		if (rn)
			rc = set_once(&g.ref, "ref", f, rn, err);
		if (rc == 0 && f[rn] == ':' && f[rn + 1])
			rc = set_once(&g.subdir, "subdir", f + rn + 1, strlen(f + rn + 1), err);
	}
	if (rc == 0 && g.checksum && !g.ref)
		g.ref = st_xstrdup(g.checksum);
	if (rc == 0 && g.checksum &&
	    (strlen(g.checksum) < 4 || g.checksum[strspn(g.checksum, "0123456789abcdef")]))
		rc = st_err(err, ST_E_INVALID, "invalid commit '%s': expected a hexadecimal sha",
			    g.checksum);
	if (rc == 0 && g.ref && (g.ref[0] == '-' || strstr(g.ref, "..")))
		rc = st_err(err, ST_E_INVALID, "invalid ref '%s'", g.ref);
	if (rc == 0 && g.subdir) {
		/* Leading and trailing slashes say nothing; ".." could leave the tree. */
		char *c = builder_path_clean(g.subdir);
		free(g.subdir);
		g.subdir = !strcmp(c, "/") ? NULL : st_xstrdup(c + 1);
		free(c);
	}
	if (rc < 0) {
		builder_git_source_release(&g);
		return st_err_wrap(err, "git URL '%s'", s);
	}
	g.remote = st_xstrndup(s, rlen);
	*out = g;
	return 0;
}

/* ---- running git ---- */

struct git_env {
	char **v;
	size_t n;
};

static void env_add(struct git_env *e, char *kv)
{
	e->v = st_xrealloc(e->v, (e->n + 2) * sizeof(*e->v));
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
}

/* The environment git runs in: the process's own (proxies, PATH) without the variables that
 * would point git elsewhere, no configuration files, no prompts, ssh through o's agent. */
static void env_make(struct git_env *e, const struct git_opts *o)
{
	for (char **p = environ; *p; p++)
		if (strncmp(*p, "GIT_", 4) && strncmp(*p, "SSH_AUTH_SOCK=", 14) &&
		    strncmp(*p, "LC_ALL=", 7) && strncmp(*p, "HOME=", 5))
			env_add(e, st_xstrdup(*p));
	env_add(e, st_xstrdup("GIT_TERMINAL_PROMPT=0"));
	env_add(e, st_xstrdup("GIT_CONFIG_NOSYSTEM=1"));
	env_add(e, st_xstrdup("GIT_CONFIG_GLOBAL=/dev/null"));
	env_add(e, st_xstrdup("HOME=/nonexistent"));
	env_add(e, st_xstrdup("LC_ALL=C"));
	/* No known_hosts is given to a build: as BuildKit does without one, the host key is
	 * not checked; the agent holds the keys, and nothing asks for a password. */
	env_add(e, st_xstrdup("GIT_SSH_COMMAND=ssh -F /dev/null -o BatchMode=yes "
			      "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
			      "-o LogLevel=ERROR"));
	if (o->ssh_sock)
		env_add(e, st_xasprintf("SSH_AUTH_SOCK=%s", o->ssh_sock));
	/* The header through the environment, not the command line others can read. */
	if (o->auth_header) {
		env_add(e, st_xstrdup("GIT_CONFIG_COUNT=1"));
		env_add(e, st_xstrdup("GIT_CONFIG_KEY_0=http.extraHeader"));
		env_add(e, st_xasprintf("GIT_CONFIG_VALUE_0=%s", o->auth_header));
	}
}

static void env_free(struct git_env *e)
{
	st_strv_free(e->v, e->n);
}

/* git's stderr from its last "fatal:" or "error:" line on (else its last line), on one line.
 * New. */
static char *git_reason(const char *text)
{
	const char *best = NULL, *last = NULL;
	for (const char *l = text; *l;) {
		size_t n = strcspn(l, "\n");
		if (n) {
			last = l;
			if (!strncmp(l, "fatal: ", 7) || !strncmp(l, "error: ", 7))
				best = l;
		}
		l += n + (l[n] == '\n');
	}
	const char *r = best ? best : last;
	if (!r)
		return st_xstrdup("it failed without a message");
	if (!strncmp(r, "fatal: ", 7) || !strncmp(r, "error: ", 7))
		r += 7;
	struct st_buf b = ST_BUF_INIT;
	for (; *r; r++)
		if (*r != '\n')
			st_buf_add(&b, r, 1);
		else if (r[1])
			st_buf_adds(&b, " ");
	while (b.len && b.data[b.len - 1] == ' ')
		b.data[--b.len] = '\0';
	return st_buf_detach(&b, NULL);
}

/*
 * Run git with 'args' (NULL-terminated, after "git"). 0 and *out (may be NULL; new) its
 * stdout on success; ST_E_NET with git's reason when it fails.
 */
static int git_run(const struct git_opts *o, const char *const *args, char **out,
		   struct st_error **err)
{
	st_autofree char *git = st_runtime_search_path("git");
	if (!git)
		return st_err(err, ST_E_INVALID, "git is not installed (git sources need it)");
	size_t na = 0;
	while (args[na])
		na++;
	char **argv = st_xcalloc(na + 2, sizeof(*argv));
	argv[0] = git;
	for (size_t i = 0; i < na; i++)
		argv[i + 1] = (char *)args[i];
	struct git_env env = { 0 };
	env_make(&env, o);
	st_autoclose int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	st_autoclose int ofd = memfd_create("git-stdout", MFD_CLOEXEC);
	st_autoclose int efd = memfd_create("git-stderr", MFD_CLOEXEC);
	pid_t parent = getpid();
	pid_t pid = devnull >= 0 && ofd >= 0 && efd >= 0 ? fork() : -1;
	if (pid == 0) {
		/* A child of a process that may have threads: async-signal-safe calls only. */
		if (dup2(devnull, 0) < 0 || dup2(ofd, 1) < 0 || dup2(efd, 2) < 0)
			_exit(126);
		syscall(SYS_close_range, 3U, ~0U, 0U);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(126);
		umask(022);
		execve(argv[0], argv, env.v);
		_exit(127);
	}
	int e = errno;
	free(argv);
	env_free(&env);
	if (pid < 0) {
		errno = e;
		return st_err_errno(err, "run git");
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (out) {
			struct st_buf b = ST_BUF_INIT;
			st_autofree char *path = st_xasprintf("/proc/self/fd/%d", ofd);
			if (st_read_file(path, &b, err) < 0)
				return -1;
			*out = st_buf_detach(&b, NULL);
		}
		return 0;
	}
	struct st_buf b = ST_BUF_INIT;
	st_autofree char *path = st_xasprintf("/proc/self/fd/%d", efd);
	struct st_error *re = NULL;
	if (st_read_file(path, &b, &re) < 0)
		st_error_free(re);
	st_autofree char *why = git_reason(b.data ? b.data : "");
	st_buf_release(&b);
	return st_err(err, ST_E_NET, "git %s: %s", args[0], why);
}

/* ---- credentials ---- */

/* The host (with its port) of an http(s) remote, or NULL. New. */
static char *remote_host(const char *remote)
{
	if (!has_scheme(remote, "http") && !has_scheme(remote, "https"))
		return NULL;
	const char *h = strstr(remote, "://") + 3;
	size_t n = strcspn(h, "/");
	const char *at = memchr(h, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	return st_xstrndup(h, n);
}

/* The content of the build's secret 'id': 1 and *out (new), or 0 when there is none. */
static int secret_get(const struct st_builder_opts *bo, const char *id, char **out,
		      struct st_error **err)
{
	for (size_t i = 0; i < bo->n_secrets; i++) {
		const struct st_builder_secret *sc = &bo->secrets[i];
		if (strcmp(sc->id, id))
			continue;
		if (!sc->src) {
			*out = st_xstrdup(sc->value ? sc->value : "");
			return 1;
		}
		struct st_buf b = ST_BUF_INIT;
		if (st_read_file(sc->src, &b, err) < 0)
			return st_err_wrap(err, "secret '%s'", id);
		*out = st_buf_detach(&b, NULL);
		return 1;
	}
	return 0;
}

/* The secret 'name.<host>', else 'name': 1 and *out (new), or 0. */
static int secret_for_host(const struct st_builder_opts *bo, const char *name, const char *host,
			   char **out, struct st_error **err)
{
	st_autofree char *id = st_xasprintf("%s.%s", name, host);
	int rc = secret_get(bo, id, out, err);
	return rc ? rc : secret_get(bo, name, out, err);
}

int builder_git_auth(const struct st_builder_opts *bo, const struct git_source *g, char **out,
		     struct st_error **err)
{
	*out = NULL;
	st_autofree char *host = remote_host(g->remote);
	if (!host)
		return 0;
	st_autofree char *v = NULL;
	int rc = secret_for_host(bo, "GIT_AUTH_HEADER", host, &v, err);
	if (rc < 0)
		return -1;
	if (rc) {
		*out = st_xasprintf("Authorization: %s", v);
		return 0;
	}
	rc = secret_for_host(bo, "GIT_AUTH_TOKEN", host, &v, err);
	if (rc <= 0)
		return rc;
	v[strcspn(v, "\r\n")] = '\0';
	st_autofree char *plain = st_xasprintf("x-access-token:%s", v);
	size_t n = strlen(plain);
	st_autofree unsigned char *b64 = st_xcalloc(4 * ((n + 2) / 3) + 1, 1);
	EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)n);
	*out = st_xasprintf("Authorization: basic %s", (char *)b64);
	return 0;
}

/* ---- resolving a ref ---- */

static bool is_commit_sha(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return !s[n] && (n == 40 || n == 64);
}

/* The sha `ls-remote` printed for 'name' ("<sha>\t<name>\n" lines), or NULL. New. */
static char *ls_find(const char *out, const char *name)
{
	size_t nl = strlen(name);
	for (const char *l = out; *l;) {
		size_t n = strcspn(l, "\n");
		const char *tab = memchr(l, '\t', n);
		if (tab && n - (size_t)(tab + 1 - l) == nl && !strncmp(tab + 1, name, nl))
			return st_xstrndup(l, (size_t)(tab - l));
		l += n + (l[n] == '\n');
	}
	return NULL;
}

int builder_git_resolve(const struct git_source *g, const struct git_opts *o, char **commit,
			struct st_error **err)
{
	*commit = NULL;
	if (g->ref && is_commit_sha(g->ref)) {
		*commit = st_xstrdup(g->ref);
		return 0;
	}
	const char *ref = g->ref ? g->ref : "HEAD";
	st_autofree char *out = NULL;
	const char *args[] = { "ls-remote", "--", g->remote, ref, NULL };
	if (git_run(o, args, &out, err) < 0)
		return -1;
	/* The ref as written, else a branch, else a tag (its commit, for an annotated tag). */
	st_autofree char *heads = st_xasprintf("refs/heads/%s", ref);
	st_autofree char *tags = st_xasprintf("refs/tags/%s", ref);
	st_autofree char *peeled = st_xasprintf("refs/tags/%s^{}", ref);
	st_autofree char *peeled_full = st_xasprintf("%s^{}", ref);
	const char *names[] = { peeled_full, ref, heads, peeled, tags };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names) && !*commit; i++)
		*commit = ls_find(out, names[i]);
	if (!*commit)
		return st_err(err, ST_E_NOTFOUND, "ref '%s' not found in the repository", ref);
	return 0;
}

/* ---- checking a commit out ---- */

/* The commit's committer time, seconds since the epoch. */
static int commit_time(const struct git_opts *o, const char *gitdir, const char *commit,
		       int64_t *out, struct st_error **err)
{
	st_autofree char *gd = st_xasprintf("--git-dir=%s", gitdir);
	st_autofree char *text = NULL;
	const char *args[] = { gd, "show", "-s", "--format=%ct", commit, NULL };
	if (git_run(o, args, &text, err) < 0)
		return -1;
	*out = strtoll(text, NULL, 10);
	return 0;
}

/* git's own modes whatever the umask was; the commit's time when asked. */
static int normalize(const char *path, bool set_time, int64_t t, struct st_error **err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return st_err_errno(err, "stat '%s'", path);
	if (S_ISDIR(st.st_mode)) {
		if (chmod(path, 0755) < 0)
			return st_err_errno(err, "chmod '%s'", path);
		DIR *d = opendir(path);
		if (!d)
			return st_err_errno(err, "open '%s'", path);
		char **names = NULL;
		size_t n = 0;
		int rc = st_dir_names(d, path, &names, &n, err);
		closedir(d);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			st_autofree char *c = st_path_join(path, names[i]);
			rc = normalize(c, set_time, t, err);
		}
		st_strv_free(names, n);
		if (rc < 0)
			return -1;
	} else if (S_ISREG(st.st_mode)) {
		if (chmod(path, (st.st_mode & 0100) ? 0755 : 0644) < 0)
			return st_err_errno(err, "chmod '%s'", path);
	}
	if (set_time) {
		struct timespec ts[2] = { { .tv_sec = t }, { .tv_sec = t } };
		if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
			return st_err_errno(err, "set the time of '%s'", path);
	}
	return 0;
}

/*
 * Without a .git of the tree, the ".git" files git leaves in the submodules point at nothing:
 * they go too (git never tracks a ".git" of its own, so only submodules have them).
 */
static int remove_submodule_link(void *ctx, const char *path, const char *rel,
				 enum st_walk_kind kind, struct st_error **err)
{
	(void)ctx;
	const char *base = strrchr(rel, '/');
	if (kind == ST_WALK_FILE && !strcmp(base ? base + 1 : rel, ".git") && unlink(path) < 0)
		return st_err_errno(err, "remove '%s'", path);
	return 0;
}

static int remove_submodule_links(const char *work, struct st_error **err)
{
	return st_fs_walk(work, remove_submodule_link, NULL, err);
}

/* The submodules of the checked-out 'work' (if it has any), recursively, as BuildKit's. */
static int submodules(const struct git_opts *o, const char *gd, const char *wt, const char *work,
		      struct st_error **err)
{
	st_autofree char *list = st_path_join(work, ".gitmodules");
	if (!st_path_exists(list))
		return 0;
	const char *update[] = { gd,	    wt,	      "-C",	work,	       "submodule",
				 "--quiet", "update", "--init", "--recursive", NULL };
	if (git_run(o, update, NULL, err) < 0)
		return st_err_wrap(err, "submodules");
	return o->keep_git_dir ? 0 : remove_submodule_links(work, err);
}

int builder_git_checkout(const struct git_source *g, const char *commit, const char *dir,
			 const struct git_opts *o, char **tree, struct st_error **err)
{
	*tree = NULL;
	st_autofree char *work = st_path_join(dir, "tree");
	st_autofree char *gitdir =
	    o->keep_git_dir ? st_path_join(work, ".git") : st_path_join(dir, "git");
	st_autofree char *gd = st_xasprintf("--git-dir=%s", gitdir);
	st_autofree char *wt = st_xasprintf("--work-tree=%s", work);
	if (st_mkdir_p(work, 0755, err) < 0)
		return -1;
	const char *init[] = { "init", "-q", "--bare", gitdir, NULL };
	int rc = git_run(o, init, NULL, err);
	/* The commit alone: a server speaking protocol v2 hands out any commit it has. An older
	 * one gets the ref instead, whose history holds the commit. */
	const char *fetch[] = { gd,   "fetch",	 "-q",	 "--no-tags", "--depth=1",
				"--", g->remote, commit, NULL };
	if (rc == 0 && git_run(o, fetch, NULL, err) < 0) {
		if (!g->ref || is_commit_sha(g->ref)) {
			rc = -1;
		} else {
			st_error_clear(err);
			const char *ffetch[] = { gd,   "fetch",	  "-q",	  "--no-tags",
						 "--", g->remote, g->ref, NULL };
			rc = git_run(o, ffetch, NULL, err);
		}
	}
	const char *bare[] = { gd, "config", "core.bare", "false", NULL };
	if (rc == 0 && o->keep_git_dir)
		rc = git_run(o, bare, NULL, err);
	const char *co[] = { gd, wt, "checkout", "-q", "--detach", commit, NULL };
	if (rc == 0)
		rc = git_run(o, co, NULL, err);
	if (rc == 0)
		rc = submodules(o, gd, wt, work, err);
	if (rc == 0 && o->keep_git_dir) {
		/* What a clone would hold: the remote, for `git fetch` in a later step. */
		const char *origin[] = { gd, "remote", "add", "origin", g->remote, NULL };
		rc = git_run(o, origin, NULL, err);
	}
	int64_t t = 0;
	if (rc == 0 && o->mtime_commit)
		rc = commit_time(o, gitdir, commit, &t, err);
	if (rc < 0)
		return st_err_wrap(err, "commit %s", commit);

	st_autofree char *sub = g->subdir ? st_path_join(work, g->subdir) : st_xstrdup(work);
	if (g->subdir) {
		/* The subdir is looked up inside the tree: a link there may not lead out. */
		st_autofree char *real_work = realpath(work, NULL);
		st_autofree char *real = realpath(sub, NULL);
		size_t wl = real_work ? strlen(real_work) : 0;
		struct stat st;
		if (!real || !real_work || strncmp(real, real_work, wl) || real[wl] != '/' ||
		    stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
			return st_err(err, ST_E_NOTFOUND,
				      "commit %s: subdir '%s' not found (or not a directory)",
				      commit, g->subdir);
		/* A subdir that is a link: what it leads to is what is copied. */
		free(sub);
		sub = st_steal(&real);
	}
	if (normalize(sub, o->mtime_commit, t, err) < 0)
		return -1;
	*tree = st_steal(&sub);
	return 0;
}
