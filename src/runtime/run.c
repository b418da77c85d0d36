/*
 * run.c: running a bundle with an OCI runtime in the foreground.
 *
 * Process tree while a step runs:
 *
 *   strata ── monitor ── runc run ── container init ── ...
 *
 * The monitor exists so that a killed strata never leaves a container running: `runc run`
 * does not stop its container when runc itself dies (the container is reparented and keeps
 * going, we checked), and PR_SET_PDEATHSIG on runc would only kill runc. So the monitor gets
 * SIGTERM when strata dies (PR_SET_PDEATHSIG), and on that, or on SIGINT/SIGHUP/SIGTERM sent
 * to it, it runs `<runtime> kill ID KILL` until runc run returns, then `<runtime> delete -f
 * ID`. Otherwise it only waits for runc and exits with its status, which is the container
 * process's (runc run returns it; 128 + signal when the process was killed).
 *
 * PR_SET_PDEATHSIG fires when the thread that forked the monitor exits, not only the process:
 * that thread is blocked in st_runtime_run() for the monitor's whole life, so it is the same.
 *
 * The monitor is a fork of a process that may have threads: between fork and exec it only
 * makes async-signal-safe calls, on argv arrays built before the fork.
 *
 * With a terminal the runtime must detach (`run --detach --console-socket`: the master goes to
 * the socket, and runc returns once the process runs). The monitor is then a child subreaper:
 * the container's process, orphaned by runc, becomes its child, and the monitor waits for it
 * as it waits for runc otherwise, then deletes the stopped container. It keeps its end of the
 * error pipe meanwhile, so that strata goes on watching for a stop request until it exits.
 *
 * A runtime failure (bad spec, missing executable, cgroup trouble) and a process that ran
 * and exited non-zero both make runc exit non-zero; they are told apart by the runtime's
 * --log (JSON lines): an "error" record there means the runtime itself failed.
 */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/buf.h"
#include "util/cancel.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/banned.h"

/* How much of the runtime's stderr an error message quotes. */
#define STDERR_TAIL 2048
/* Kill attempts by the monitor while runc may still be creating the container. */
#define KILL_TRIES 100
#define KILL_INTERVAL_NS (100 * 1000 * 1000)

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *runtime_name(const struct st_runtime_opts *rt)
{
	return rt && rt->runtime && *rt->runtime ? rt->runtime : "runc";
}

static bool valid_id(const char *id)
{
	if (!id || !*id)
		return false;
	for (const char *p = id; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

static bool is_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Searches $PATH, then the usual sbin dirs too, since runc and slirp4netns live in /usr/sbin
 * or /usr/bin and a user's PATH may lack the former. */
char *st_runtime_search_path(const char *name)
{
	const char *env = getenv("PATH");
	st_autofree char *dirs = st_xasprintf("%s:%s", env ? env : "", DEFAULT_PATH);
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (!*d)
			continue;
		char *p = st_path_join(d, name);
		if (is_executable(p))
			return p;
		free(p);
	}
	return NULL;
}

/* New: the runtime's absolute or given path. */
static char *find_runtime(const char *name, struct st_error **err)
{
	if (strchr(name, '/')) {
		if (is_executable(name))
			return st_xstrdup(name);
		st_err(err, ST_E_RUNTIME, "runtime '%s' not found: %s", name,
		       access(name, F_OK) == 0 ? "not an executable file" : "no such file");
		return NULL;
	}
	char *p = st_runtime_search_path(name);
	if (!p)
		st_err(err, ST_E_RUNTIME, "runtime '%s' not found in PATH (is it installed?)",
		       name);
	return p;
}

/* The runtime and its global flags; argvs are built before any fork. */
static void argv_runtime(struct st_strv *a, const char *path, const struct st_runtime_opts *rt)
{
	st_strv_push(a, path);
	if (rt && rt->state_root) {
		st_strv_push(a, "--root");
		st_strv_push(a, rt->state_root);
	}
}

void st_runtime_reset_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void st_runtime_close_from(int fd)
{
	/* close_range(2) is Linux 5.9+; on older kernels the fds stay (all are O_CLOEXEC here). */
	syscall(SYS_close_range, (unsigned)fd, ~0U, 0U);
}

/* In a child: exec argv with stdio as given; on failure write errno to 'status_fd'. */
static void exec_child(char *const *argv, int in, int out, int errfd, int status_fd)
{
	st_runtime_reset_signals();
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		goto fail;
	if (status_fd >= 0) {
		if (dup2(status_fd, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
			goto fail;
		st_runtime_close_from(4);
	} else {
		st_runtime_close_from(3);
	}
	execv(argv[0], argv);
fail:;
	int e = errno;
	if (status_fd >= 0 && write(3, &e, sizeof(e)) < 0)
		_exit(126);
	_exit(127);
}

/* In the monitor: run argv to completion with all stdio on /dev/null. */
static void monitor_run(char *const *argv, int devnull)
{
	pid_t p = fork();
	if (p == 0)
		exec_child(argv, devnull, devnull, devnull, -1);
	if (p > 0)
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
}

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

struct monitor_args {
	char *const *run;
	char *const *kill;
	char *const *del;
	int devnull, in, out_w, err_w, status_w;
	pid_t parent;
	const char *detached_pid_file; /* runc detaches and writes the process's pid there */
	bool keep;		       /* a detached container stays for st_runtime_delete() */
};

/* What the monitor waits for: runc, then (when it detaches) the container's process. */
struct waited {
	pid_t runc, process;
	int status;
};

/* In the monitor: the pid runc wrote, or 0 (async-signal-safe: no stdio). */
static pid_t read_pid_file(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	pid_t pid = 0;
	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		pid = pid * 10 + (buf[i] - '0');
	return pid;
}

/* In the monitor: reap what has exited; true once w->status is the final one. */
static bool reap(const struct monitor_args *m, struct waited *w, int flags)
{
	int status;
	if (w->runc > 0 && waitpid(w->runc, &status, flags) == w->runc) {
		w->runc = 0;
		w->status = status;
		if (!m->detached_pid_file || exit_code_of(status) != 0)
			return true;
		w->process = read_pid_file(m->detached_pid_file);
		if (w->process <= 0)
			return true;
	}
	if (w->process > 0 && waitpid(w->process, &status, flags) == w->process) {
		w->process = 0;
		w->status = status;
		return true;
	}
	return false;
}

/*
 * In the monitor: close every fd but those in 'keep' (n of them, distinct, >= 3). It outlives
 * a killed strata by the time it takes to stop the container, and must not hold strata's
 * locks (tmp/ dirs, leases) meanwhile: gc would take a dead build's leftovers for live ones.
 */
static void close_all_but(int *keep, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	unsigned lo = 3;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0U);
		lo = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0U);
}

static void __attribute__((noreturn)) monitor(const struct monitor_args *m, const sigset_t *waitset)
{
	int keep[] = { m->devnull, m->out_w, m->err_w, m->status_w };
	close_all_but(keep, sizeof(keep) / sizeof(*keep));
	/* An ignored SIGCHLD would make the kernel reap runc before we can read its status. */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != m->parent)
		_exit(255); /* strata is already gone: start nothing */
	if (m->detached_pid_file && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		_exit(255);

	pid_t r = fork();
	if (r == 0)
		exec_child(m->run, m->in, m->out_w, m->err_w, m->status_w);
	if (r < 0)
		_exit(255);
	close(m->out_w);
	if (!m->detached_pid_file)
		close(m->err_w);
	close(m->status_w);

	struct waited w = { .runc = r };
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(waitset, &si);
		if (sig < 0)
			continue; /* EINTR */
		if (sig == SIGCHLD) {
			if (reap(m, &w, WNOHANG)) {
				if (m->detached_pid_file && w.runc == 0 && !m->keep)
					monitor_run(m->del, m->devnull);
				_exit(exit_code_of(w.status));
			}
			continue;
		}
		break; /* SIGTERM (strata died), SIGINT or SIGHUP: stop the container */
	}
	for (int i = 0; i < KILL_TRIES; i++) {
		monitor_run(m->kill, m->devnull);
		if (reap(m, &w, WNOHANG))
			goto reaped;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = KILL_INTERVAL_NS };
		nanosleep(&ts, NULL);
	}
	if (w.runc > 0)
		kill(w.runc, SIGKILL);
	if (w.process > 0)
		kill(w.process, SIGKILL);
	while (!reap(m, &w, 0) && (w.runc > 0 || w.process > 0))
		;
reaped:
	monitor_run(m->del, m->devnull);
	_exit(128 + SIGKILL);
}

/* Keep only the last STDERR_TAIL bytes (roughly) of the runtime's stderr. */
static void tail_add(struct st_buf *tail, const char *p, size_t n)
{
	st_buf_add(tail, p, n);
	if (tail->len > 2 * STDERR_TAIL) {
		size_t cut = tail->len - STDERR_TAIL;
		memmove(tail->data, tail->data + cut, tail->len - cut);
		st_buf_setlen(tail, tail->len - cut);
	}
}

/*
 * The runtime's own error from its JSON log: the last record at level error or fatal.
 * Lines that are not JSON count as errors too (a runtime that ignored --log-format).
 * Returns whether the log exists.
 */
static bool read_runtime_log(const char *path, struct st_buf *msg)
{
	struct st_buf text = ST_BUF_INIT;
	struct st_error *err = NULL;
	if (st_read_file(path, &text, &err) < 0) {
		st_error_free(err);
		st_buf_release(&text);
		return false;
	}
	char *save = NULL;
	for (char *line = strtok_r(text.data ? text.data : (char *)"", "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *rec = json_loads(line, 0, NULL);
		const char *level = NULL, *m = NULL;
		if (rec && json_unpack(rec, "{s:s, s:s}", "level", &level, "msg", &m) == 0) {
			if (!strcmp(level, "error") || !strcmp(level, "fatal")) {
				st_buf_reset(msg);
				st_buf_adds(msg, m);
			}
		} else if (!rec && *line) {
			st_buf_reset(msg);
			st_buf_adds(msg, line);
		}
		json_decref(rec);
	}
	st_buf_release(&text);
	return true;
}

/* Drop runc's "runc run failed: " prefix: the error we build already says so. */
static const char *strip_prefix(const char *msg)
{
	const char *p = strstr(msg, " run failed: ");
	if (p && (size_t)(p - msg) < 32 && !memchr(msg, ' ', (size_t)(p - msg)))
		return p + strlen(" run failed: ");
	return msg;
}

static int start_error(const char *name, const char *why, struct st_error **err)
{
	struct st_buf m = ST_BUF_INIT;
	size_t len = strlen(why);
	while (len && (why[len - 1] == '\n' || why[len - 1] == ' '))
		len--;
	st_buf_addf(&m, "runtime '%s' failed to start: %.*s", name, (int)len,
		    len ? why : "exited with an error and no message");
	if (strstr(why, "hybrid"))
		st_buf_adds(&m, " (hint: crun does not start on hosts whose cgroups are in hybrid "
				"mode; use --runtime runc)");
	st_err(err, ST_E_RUNTIME, "%s", m.data);
	st_buf_release(&m);
	return -1;
}

/* Run 'argv' synchronously; its stderr is appended to 'errout'. Returns the exit code or -1. */
static int run_sync(char *const *argv, struct st_buf *errout, struct st_error **err)
{
	st_autoclose int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return st_err_errno(err, "open /dev/null");
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return st_err_errno(err, "pipe");
	st_autoclose int rd = p[0];
	st_autoclose int wr = p[1];
	pid_t pid = fork();
	if (pid < 0)
		return st_err_errno(err, "fork");
	if (pid == 0)
		exec_child(argv, devnull, devnull, wr, -1);
	close(st_steal_fd(&wr));
	char buf[4096];
	ssize_t n;
	while ((n = read(rd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		tail_add(errout, buf, (size_t)n);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return st_err_errno(err, "wait for '%s'", argv[0]);
	}
	return exit_code_of(status);
}

int st_runtime_delete(const struct st_runtime_opts *rt, const char *id, struct st_error **err)
{
	const char *name = runtime_name(rt);
	if (!valid_id(id))
		return st_err(err, ST_E_INVALID, "invalid container id '%s'", id ? id : "(null)");
	st_autofree char *path = find_runtime(name, err);
	if (!path)
		return -1;
	st_auto_strv struct st_strv del = { 0 };
	argv_runtime(&del, path, rt);
	st_strv_push(&del, "delete");
	st_strv_push(&del, "-f");
	st_strv_push(&del, id);
	struct st_buf errout = ST_BUF_INIT;
	int code = run_sync(del.v, &errout, err);
	int rc = 0;
	if (code < 0)
		rc = -1;
	else if (code != 0 && !strstr(st_buf_str(&errout), "does not exist") &&
		 !strstr(st_buf_str(&errout), "not exist"))
		rc = st_err(err, ST_E_RUNTIME, "runtime '%s' could not delete container '%s': %s",
			    name, id, st_buf_str(&errout));
	st_buf_release(&errout);
	return rc;
}

int st_runtime_list(const struct st_runtime_opts *rt, char ***ids, size_t *n, struct st_error **err)
{
	*ids = NULL;
	*n = 0;
	if (!rt || !rt->state_root)
		return st_err(err, ST_E_INVALID, "listing containers needs a state root");
	DIR *d = opendir(rt->state_root);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return st_err_errno(err, "open state root '%s'", rt->state_root);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		/* Anything else there (runc keeps no other files, crun its lock) is not a
		 * container. */
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!valid_id(de->d_name) || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		*ids = st_xrealloc(*ids, (*n + 1) * sizeof(**ids));
		(*ids)[(*n)++] = st_xstrdup(de->d_name);
	}
	closedir(d);
	return 0;
}

/* After a failure: the container must not linger, running or stopped. */
static void delete_quietly(char *const *del)
{
	struct st_buf ignored = ST_BUF_INIT;
	run_sync(del, &ignored, NULL);
	st_buf_release(&ignored);
}

struct pipes {
	int out_r, out_w, err_r, err_w, status_r, status_w, devnull;
};

static void pipes_close(struct pipes *p)
{
	int *fds[] = { &p->out_r,    &p->out_w,	   &p->err_r,  &p->err_w,
		       &p->status_r, &p->status_w, &p->devnull };
	for (size_t i = 0; i < sizeof(fds) / sizeof(*fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static void pipes_closep(struct pipes *p)
{
	pipes_close(p);
}

static int pipes_open(struct pipes *p, struct st_error **err)
{
	int a[2], b[2], c[2];
	if (pipe2(a, O_CLOEXEC) < 0)
		return st_err_errno(err, "pipe");
	p->out_r = a[0];
	p->out_w = a[1];
	if (pipe2(b, O_CLOEXEC) < 0)
		return st_err_errno(err, "pipe");
	p->err_r = b[0];
	p->err_w = b[1];
	if (pipe2(c, O_CLOEXEC) < 0)
		return st_err_errno(err, "pipe");
	p->status_r = c[0];
	p->status_w = c[1];
	p->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (p->devnull < 0)
		return st_err_errno(err, "open /dev/null");
	return 0;
}

/* How often pump() looks whether strata was asked to stop. */
#define CANCEL_POLL_MS 100

/*
 * Forward the container's output until both pipes are at end of file. When strata is asked to
 * stop, the monitor is told to stop the container, and the output drains as it dies.
 */
static int pump(struct pipes *p, pid_t mon, st_runtime_output_fn out, void *ctx,
		struct st_buf *tail, struct st_error **err)
{
	bool stopping = false;
	struct pollfd fds[2] = { { .fd = p->out_r, .events = POLLIN },
				 { .fd = p->err_r, .events = POLLIN } };
	const enum st_runtime_stream streams[2] = { ST_RUNTIME_STDOUT, ST_RUNTIME_STDERR };
	char buf[65536];
	int open_fds = 2;
	while (open_fds > 0) {
		/* With a timeout: another thread of strata may be the one that got the signal. */
		if (!stopping && st_cancel_signal()) {
			kill(mon, SIGTERM);
			stopping = true;
		}
		if (poll(fds, 2, stopping ? -1 : CANCEL_POLL_MS) < 0) {
			if (errno == EINTR)
				continue;
			return st_err_errno(err, "poll the container's output");
		}
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(fds[i].fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				fds[i].fd = -1;
				open_fds--;
				continue;
			}
			if (i == 1)
				tail_add(tail, buf, (size_t)n);
			if (out)
				out(ctx, streams[i], buf, (size_t)n);
		}
	}
	return 0;
}

int st_runtime_run(const struct st_runtime_opts *rt, const char *bundle, const char *id,
		   st_runtime_output_fn out, void *out_ctx, int *exit_code, struct st_error **err)
{
	const char *name = runtime_name(rt);
	if (!valid_id(id))
		return st_err(err, ST_E_INVALID, "invalid container id '%s'", id ? id : "(null)");
	st_autofree char *config = st_path_join(bundle, "config.json");
	if (!st_path_exists(config))
		return st_err(err, ST_E_INVALID, "bundle '%s' has no config.json", bundle);
	st_autofree char *path = find_runtime(name, err);
	if (!path)
		return -1;
	if (rt && rt->state_root && st_mkdir_p(rt->state_root, 0700, err) < 0)
		return -1;
	st_autofree char *log = st_path_join(bundle, "runtime.log");
	if (unlink(log) < 0 && errno != ENOENT)
		return st_err_errno(err, "remove '%s'", log);

	st_auto_strv struct st_strv run = { 0 }, killv = { 0 }, del = { 0 };
	argv_runtime(&run, path, rt);
	st_strv_push(&run, "--log");
	st_strv_push(&run, log);
	st_strv_push(&run, "--log-format");
	st_strv_push(&run, "json");
	st_strv_push(&run, "run");
	/* runc keeps a detached container anyway: the monitor is the one that deletes it */
	if (rt && rt->keep && !rt->console_socket)
		st_strv_push(&run, "--keep");
	st_strv_push(&run, "--bundle");
	st_strv_push(&run, bundle);
	if (rt && rt->console_socket) {
		if (!rt->pid_file)
			return st_err(err, ST_E_INVALID, "a console socket needs a pid file");
		st_strv_push(&run, "--detach");
		st_strv_push(&run, "--console-socket");
		st_strv_push(&run, rt->console_socket);
	}
	if (rt && rt->pid_file) {
		st_strv_push(&run, "--pid-file");
		st_strv_push(&run, rt->pid_file);
	}
	st_strv_push(&run, id);
	argv_runtime(&killv, path, rt);
	st_strv_push(&killv, "kill");
	st_strv_push(&killv, id);
	st_strv_push(&killv, "KILL");
	argv_runtime(&del, path, rt);
	st_strv_push(&del, "delete");
	st_strv_push(&del, "-f");
	st_strv_push(&del, id);

	__attribute__((cleanup(pipes_closep))) struct pipes p = { -1, -1, -1, -1, -1, -1, -1 };
	if (pipes_open(&p, err) < 0)
		return -1;

	/* Blocked before the fork so that none is lost before the monitor waits for them. */
	sigset_t waitset, old;
	sigemptyset(&waitset);
	sigaddset(&waitset, SIGCHLD);
	sigaddset(&waitset, SIGTERM);
	sigaddset(&waitset, SIGINT);
	sigaddset(&waitset, SIGHUP);
	struct monitor_args m = { .run = run.v,
				  .kill = killv.v,
				  .del = del.v,
				  .devnull = p.devnull,
				  .in = rt && rt->inherit_stdin ? 0 : p.devnull,
				  .out_w = p.out_w,
				  .err_w = p.err_w,
				  .status_w = p.status_w,
				  .parent = getpid(),
				  .detached_pid_file =
				      rt && rt->console_socket ? rt->pid_file : NULL,
				  .keep = rt && rt->keep };
	pthread_sigmask(SIG_BLOCK, &waitset, &old);
	pid_t mon = fork();
	if (mon == 0)
		monitor(&m, &waitset);
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (mon < 0) {
		errno = fork_errno;
		return st_err_errno(err, "fork");
	}
	close(p.out_w);
	close(p.err_w);
	close(p.status_w);
	p.out_w = p.err_w = p.status_w = -1;

	int exec_errno = 0;
	ssize_t n;
	while ((n = read(p.status_r, &exec_errno, sizeof(exec_errno))) < 0 && errno == EINTR)
		;
	struct st_buf tail = ST_BUF_INIT;
	int rc = 0;
	if (n <= 0)
		rc = pump(&p, mon, out, out_ctx, &tail, err);
	int status = 0;
	while (waitpid(mon, &status, 0) < 0) {
		if (errno != EINTR) {
			rc = st_err_errno(err, "wait for runtime '%s'", name);
			break;
		}
	}
	if (rc == 0 && st_cancel_signal()) {
		/* The container was stopped on purpose: its exit status says nothing. */
		rc = st_cancel_check(err);
	} else if (rc == 0 && n > 0) {
		rc = st_err(err, ST_E_RUNTIME, "runtime '%s' could not be executed: %s", name,
			    strerror(exec_errno));
	} else if (rc == 0 && WIFSIGNALED(status)) {
		rc = st_err(err, ST_E_RUNTIME, "runtime '%s' monitor killed by signal %d", name,
			    WTERMSIG(status));
	} else if (rc == 0) {
		int code = exit_code_of(status);
		struct st_buf why = ST_BUF_INIT;
		bool has_log = read_runtime_log(log, &why);
		if (why.len)
			rc = start_error(name, strip_prefix(why.data), err);
		else if (!has_log && code != 0)
			/* A runtime that never wrote its log failed before doing anything. */
			rc = start_error(name, st_buf_str(&tail), err);
		else
			*exit_code = code;
		st_buf_release(&why);
	}
	st_buf_release(&tail);
	if (rc < 0)
		delete_quietly(del.v);
	return rc;
}
