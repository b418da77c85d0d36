/*
 * ssh.c: RUN --mount=type=ssh, as BuildKit has it: an SSH agent of the user's reachable from a
 * step through a socket, so the step can use the agent's keys without ever holding them.
 *
 * strata build --ssh ID=PATH names an agent's socket, or a private key file: for key files,
 * strata starts an ssh-agent of its own for the build (its socket in a private directory),
 * loads them with ssh-add, and stops it when the build ends. The key is read by ssh-add alone:
 * it never enters a layer, a cache key, the history or the store.
 *
 * ssh-agent is set-group-id, so the kernel drops PR_SET_PDEATHSIG when it starts. So it runs
 * a shell (`ssh-agent -a SOCK sh -c SCRIPT`: the agent forks, and the process strata forked
 * becomes the shell), which reads a pipe strata holds and kills the agent at its end of file,
 * be it strata closing the pipe or the kernel closing it for a killed strata.
 *
 * A step does not get the agent's socket itself but a relay's: a socket in the step's own
 * directory with the mode and owner the mount asks for (BuildKit's default: 0600, root), so
 * the user's socket keeps its own. The relay is a fork of strata that accepts on that socket
 * and, for each connection, forks a child that connects to the agent and copies bytes both
 * ways. It dies with the step (a pipe strata holds, and PR_SET_PDEATHSIG). Forks of a process
 * that may have threads: between fork and exec (or _exit) only async-signal-safe calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "builder/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* How long ssh-agent may take to create its socket. */
#define AGENT_WAIT_TRIES 100
#define AGENT_WAIT_NS (50 * 1000 * 1000)

struct builder_ssh {
	const struct st_builder_opts *o;
	char **socks; /* per o->ssh[i]: the agent socket (borrowed from o, or our agent's) */
	char *dir;    /* our agent's private directory, or NULL */
	pid_t agent;  /* the shell our ssh-agent runs (see the top of this file), or 0 */
	int agent_w;  /* its stdin: the agent lives until it closes */
};

struct builder_ssh_relay {
	pid_t pid;
	int stop_w; /* the relay exits when this closes */
};

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* In a child: stdin 'in', stdout 'devnull', stderr 'errfd', every other fd closed, signals as
 * a shell leaves them, killed with the thread that forked it. */
static void child_setup(int in, int devnull, int errfd, pid_t parent)
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
	if (dup2(in, 0) < 0 || dup2(devnull, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(126);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(126);
}

/* Run ssh-add on the key files of 'o' for the agent at 'sock'; its stderr in the error. */
static int agent_add(const char *ssh_add, const char *sock, const char *key, struct st_error **err)
{
	st_autofree char *envsock = st_xasprintf("SSH_AUTH_SOCK=%s", sock);
	/* No terminal to ask a passphrase on: a protected key fails instead of waiting. */
	char *envp[] = { envsock, "SSH_ASKPASS_REQUIRE=never", "DISPLAY=", NULL };
	char *argv[] = { (char *)ssh_add, "-q", (char *)key, NULL };
	st_autoclose int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	st_autoclose int errfd = memfd_create("ssh-add-stderr", MFD_CLOEXEC);
	if (devnull < 0 || errfd < 0)
		return st_err_errno(err, "start ssh-add");
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return st_err_errno(err, "fork");
	if (pid == 0) {
		child_setup(devnull, devnull, errfd, parent);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	char msg[1024];
	ssize_t n = pread(errfd, msg, sizeof(msg) - 1, 0);
	size_t len = n > 0 ? (size_t)n : 0;
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	msg[len] = '\0';
	/* Its last line is the reason; a protected key's is the prompt nobody could answer. */
	char *line = strrchr(msg, '\n');
	line = line ? line + 1 : msg;
	if (strstr(line, "passphrase"))
		return st_err(
		    err, ST_E_INVALID,
		    "ssh-add could not load '%s': the key has a passphrase, and a build "
		    "cannot ask for it: add the key to your ssh-agent and pass its socket "
		    "(--ssh ID=$SSH_AUTH_SOCK)",
		    key);
	return st_err(err, ST_E_INVALID, "ssh-add could not load '%s': %s", key,
		      *line ? line : "it failed without a message");
}

/* Our own agent, for the build's key files: started once, on the first key file. */
static int agent_start(struct builder_ssh *s, char **sock, struct st_error **err)
{
	st_autofree char *agent = st_runtime_search_path("ssh-agent");
	if (!agent)
		return st_err(err, ST_E_NOTFOUND,
			      "--ssh with a key file needs ssh-agent, which is not in PATH "
			      "(install openssh-client)");
	const char *tmp = getenv("TMPDIR");
	st_autofree char *tmpl = st_xasprintf("%s/strata-ssh-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl))
		return st_err_errno(err, "create a directory for ssh-agent");
	s->dir = st_steal(&tmpl);
	*sock = st_path_join(s->dir, "agent.sock");
	/* The shell also removes the directory: after a killed strata, nobody else would. */
	char *argv[] = {
		agent,
		"-a",
		*sock,
		"/bin/sh",
		"-c",
		"while read -r _; do :; done; kill \"$SSH_AGENT_PID\"; /bin/rm -rf -- \"$0\"",
		s->dir,
		NULL
	};
	char *envp[] = { NULL };
	st_autoclose int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return st_err_errno(err, "open /dev/null");
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return st_err_errno(err, "pipe");
	s->agent_w = p[1];
	st_autoclose int agent_r = p[0];
	pid_t parent = getpid();
	s->agent = fork();
	if (s->agent < 0)
		return st_err_errno(err, "fork");
	if (s->agent == 0) {
		child_setup(agent_r, devnull, devnull, parent);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	for (int i = 0; i < AGENT_WAIT_TRIES; i++) {
		struct stat st;
		if (stat(*sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		if (waitpid(s->agent, NULL, WNOHANG) == s->agent) {
			s->agent = 0;
			break;
		}
		struct timespec ts = { .tv_sec = 0, .tv_nsec = AGENT_WAIT_NS };
		nanosleep(&ts, NULL);
	}
	return st_err(err, ST_E_RUNTIME, "ssh-agent did not start (no socket at '%s')", *sock);
}

void builder_ssh_free(struct builder_ssh *s)
{
	if (!s)
		return;
	if (s->agent_w >= 0)
		close(s->agent_w);
	if (s->agent > 0)
		reap(s->agent);
	for (size_t i = 0; s->socks && i < s->o->n_ssh; i++)
		if (s->socks[i] != s->o->ssh[i].path)
			free(s->socks[i]);
	free(s->socks);
	if (s->dir) {
		struct st_error *e = NULL;
		if (st_rm_rf(s->dir, &e) < 0)
			st_error_free(e);
		free(s->dir);
	}
	free(s);
}

int builder_ssh_new(const struct st_builder_opts *o, struct builder_ssh **out,
		    struct st_error **err)
{
	struct builder_ssh *s = st_xcalloc(1, sizeof(*s));
	s->o = o;
	s->agent_w = -1;
	s->socks = st_xcalloc(o->n_ssh + 1, sizeof(*s->socks));
	char *ours = NULL; /* our agent's socket, shared by every key file */
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < o->n_ssh; i++) {
		const struct st_builder_ssh *e = &o->ssh[i];
		struct stat st;
		if (stat(e->path, &st) < 0) {
			rc = st_err_errno(err, "--ssh %s=%s", e->id, e->path);
		} else if (S_ISSOCK(st.st_mode)) {
			s->socks[i] = (char *)e->path;
		} else if (!S_ISREG(st.st_mode)) {
			rc = st_err(err, ST_E_INVALID,
				    "--ssh %s=%s: neither an agent's socket nor a key file", e->id,
				    e->path);
		} else {
			st_autofree char *ssh_add = st_runtime_search_path("ssh-add");
			if (!ours)
				rc = agent_start(s, &ours, err);
			if (rc == 0 && !ssh_add)
				rc = st_err(err, ST_E_NOTFOUND,
					    "--ssh with a key file needs ssh-add, which is not in "
					    "PATH (install openssh-client)");
			if (rc == 0)
				rc = agent_add(ssh_add, ours, e->path, err);
			if (rc == 0)
				s->socks[i] = st_xstrdup(ours);
		}
	}
	free(ours);
	if (rc < 0) {
		builder_ssh_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

const char *builder_ssh_socket(const struct builder_ssh *s, const char *id)
{
	/* The last --ssh of an id wins, as the last --secret does. */
	for (size_t i = s->o->n_ssh; i > 0; i--)
		if (!strcmp(s->o->ssh[i - 1].id, id))
			return s->socks[i - 1];
	return NULL;
}

/* In a connection's child: copy bytes between the step's end 'c' and the agent 'a'. */
static void __attribute__((noreturn)) shuttle(int c, int a)
{
	struct pollfd p[2] = { { .fd = c, .events = POLLIN }, { .fd = a, .events = POLLIN } };
	char buf[16384];
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				_exit(
				    0); /* one side is done: the agent protocol is request, reply */
			for (ssize_t off = 0; off < n;) {
				ssize_t w = write(p[1 - i].fd, buf + off, (size_t)(n - off));
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					_exit(1);
				off += w;
			}
		}
	}
}

static void __attribute__((noreturn))
relay(int lfd, int stop_r, const struct sockaddr_un *agent, pid_t parent)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN; /* the connections' children reap themselves */
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(126);
	struct pollfd p[2] = { { .fd = lfd, .events = POLLIN },
			       { .fd = stop_r, .events = POLLIN } };
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (p[1].revents)
			_exit(0); /* strata closed its end: the step is over */
		if (!(p[0].revents & POLLIN))
			continue;
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			close(stop_r);
			int a = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (a < 0 || connect(a, (const struct sockaddr *)agent, sizeof(*agent)) < 0)
				_exit(1);
			shuttle(c, a);
		}
		close(c);
	}
}

void builder_ssh_relay_stop(struct builder_ssh_relay *r)
{
	if (!r)
		return;
	if (r->stop_w >= 0)
		close(r->stop_w);
	if (r->pid > 0)
		reap(r->pid);
	free(r);
}

int builder_ssh_relay_start(const char *agent, const char *dir, const char *name, mode_t mode,
			    uid_t uid, gid_t gid, struct builder_ssh_relay **out,
			    struct st_error **err)
{
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	if (strlen(agent) >= sizeof(to.sun_path))
		return st_err(err, ST_E_INVALID, "agent socket path '%s' is too long", agent);
	memcpy(to.sun_path, agent, strlen(agent) + 1);
	/* Bound through the directory's fd: the step's dir may be deeper than sun_path allows. */
	st_autoclose int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return st_err_errno(err, "open '%s'", dir);
	struct sockaddr_un at = { .sun_family = AF_UNIX };
	snprintf(at.sun_path, sizeof(at.sun_path), "/proc/self/fd/%d/%s", dfd, name);
	st_autoclose int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (const struct sockaddr *)&at, sizeof(at)) < 0 ||
	    listen(lfd, 16) < 0)
		return st_err_errno(err, "listen on a socket in '%s'", dir);
	if (fchmodat(dfd, name, mode, 0) < 0 || fchownat(dfd, name, uid, gid, 0) < 0)
		return st_err_errno(err, "set the mode and owner of the ssh socket");
	int stop[2];
	if (pipe2(stop, O_CLOEXEC) < 0)
		return st_err_errno(err, "pipe");
	st_autoclose int stop_r = stop[0];
	st_autoclose int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		close(stop[1]);
		return st_err_errno(err, "open /dev/null");
	}
	struct builder_ssh_relay *r = st_xcalloc(1, sizeof(*r));
	r->stop_w = stop[1];
	pid_t parent = getpid();
	r->pid = fork();
	if (r->pid < 0) {
		builder_ssh_relay_stop(r);
		return st_err_errno(err, "fork");
	}
	if (r->pid == 0) {
		/* Only the fds it needs: it must not keep strata's pipes or locks open. Moved
		 * above the targets first, so that no dup2() overwrites one still to move. */
		int from[] = { devnull, devnull, devnull, lfd, stop_r }, tmp[5];
		for (int i = 0; i < 5; i++)
			if ((tmp[i] = fcntl(from[i], F_DUPFD, 5)) < 0)
				_exit(126);
		for (int i = 0; i < 5; i++)
			if (dup2(tmp[i], i) < 0)
				_exit(126);
		syscall(SYS_close_range, 5U, ~0U, 0U);
		relay(3, 4, &to, parent);
	}
	*out = r;
	return 0;
}
