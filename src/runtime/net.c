/*
 * net.c: a step's own network namespace with outbound connectivity, as Docker's default bridge
 * gives a container, through user-mode networking.
 *
 * slirp4netns, not pasta: pasta copies the host's addresses into the namespace, so a step
 * could not reach a service on the host's own address (it would be its own); slirp4netns
 * gives the namespace a network of its own (10.0.2.0/24, the host's side at 10.0.2.2, a DNS
 * forwarder at 10.0.2.3), refuses the host's loopback on request (--disable-host-loopback:
 * 10.0.2.2 then reaches nothing, as a container on Docker's bridge cannot reach the host's
 * 127.0.0.1), and says when it is ready (--ready-fd) and stops when told (--exit-fd).
 *
 * Processes, for one step:
 *
 *   strata ─┬─ holder (in the new network namespace, waiting on a pipe)
 *           └─ slirp4netns (in the host's namespace, with a tap device in the holder's)
 *
 * The namespace is the holder's until the container joins it (/proc/<holder>/ns/net in the
 * runtime spec). Both children end when strata closes their pipe's write end, which the
 * kernel does if strata is killed; PR_SET_PDEATHSIG backs that up. Both are forks of a process
 * that may have threads: between fork and exec they make async-signal-safe calls only.
 */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* slirp4netns's own maximum, as podman and rootlesskit set it: fewer, larger packets. */
#define SLIRP_MTU "65520"
/* How much of slirp4netns's stderr an error quotes. */
#define STDERR_MAX 1024

struct st_runtime_netns {
	pid_t holder, slirp;
	int hold_w; /* the holder waits until this closes */
	int exit_w; /* slirp4netns's --exit-fd: it stops when this closes */
	char *path;
	char *api; /* slirp4netns's --api-socket, or NULL */
};

/* In a child: move fds[i] to fd i (they may overlap the targets), close every other fd. */
static int place_fds(const int *fds, int n)
{
	int tmp[8];
	for (int i = 0; i < n; i++)
		if ((tmp[i] = fcntl(fds[i], F_DUPFD, n)) < 0)
			return -1;
	for (int i = 0; i < n; i++)
		if (dup2(tmp[i], i) < 0)
			return -1;
	st_runtime_close_from(n);
	return 0;
}

/* In the holder: a new network namespace, reported on fd 1 (0 or an errno), kept until fd 0
 * reads end of file. */
static void __attribute__((noreturn)) holder(int hold_r, int ready_w, pid_t parent)
{
	int fds[] = { hold_r, ready_w };
	if (place_fds(fds, 2) < 0)
		_exit(126);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(126);
	int e = unshare(CLONE_NEWNET) < 0 ? errno : 0;
	if (write(1, &e, sizeof(e)) != (ssize_t)sizeof(e) || e)
		_exit(126);
	close(1);
	char c;
	while (read(0, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* In the slirp4netns child: stdin and stdout /dev/null, stderr 'errfd', the exit pipe on 3
 * and the ready pipe on 4, as argv says. */
static void __attribute__((noreturn))
slirp_child(char *const *argv, int devnull, int errfd, int exit_r, int ready_w, pid_t parent)
{
	int fds[] = { devnull, devnull, errfd, exit_r, ready_w };
	st_runtime_reset_signals();
	if (place_fds(fds, 5) < 0)
		_exit(126);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(126);
	execv(argv[0], argv);
	_exit(127);
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

void st_runtime_netns_free(struct st_runtime_netns *ns)
{
	if (!ns)
		return;
	/* Closing the pipes is how both are told to stop (see the top of this file). */
	if (ns->exit_w >= 0)
		close(ns->exit_w);
	if (ns->slirp > 0)
		reap(ns->slirp);
	if (ns->hold_w >= 0)
		close(ns->hold_w);
	if (ns->holder > 0)
		reap(ns->holder);
	free(ns->path);
	if (ns->api)
		unlink(ns->api);
	free(ns->api);
	free(ns);
}

void st_runtime_netns_freep(struct st_runtime_netns **ns)
{
	st_runtime_netns_free(*ns);
}

const char *st_runtime_netns_path(const struct st_runtime_netns *ns)
{
	return ns->path;
}

static int start_holder(struct st_runtime_netns *ns, struct st_error **err)
{
	int hold[2], ready[2];
	if (pipe2(hold, O_CLOEXEC) < 0)
		return st_err_errno(err, "pipe");
	ns->hold_w = hold[1];
	st_autoclose int hold_r = hold[0];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return st_err_errno(err, "pipe");
	st_autoclose int ready_r = ready[0];
	st_autoclose int ready_w = ready[1];
	pid_t parent = getpid();
	ns->holder = fork();
	if (ns->holder < 0)
		return st_err_errno(err, "fork");
	if (ns->holder == 0)
		holder(hold_r, ready_w, parent);
	close(st_steal_fd(&ready_w));
	int e = 0;
	ssize_t n;
	while ((n = read(ready_r, &e, sizeof(e))) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(e))
		return st_err(err, ST_E_RUNTIME,
			      "create a network namespace: the process that "
			      "holds it exited");
	if (e) {
		errno = e;
		return st_err_errno(err, "create a network namespace");
	}
	return 0;
}

static int start_slirp(struct st_runtime_netns *ns, struct st_error **err)
{
	st_autofree char *path = st_runtime_search_path("slirp4netns");
	if (!path)
		return st_err(err, ST_E_RUNTIME,
			      "slirp4netns not found in PATH: RUN steps reach the network through "
			      "it (install slirp4netns), or build with --network=host or "
			      "--network=none");
	st_autofree char *pid = st_xasprintf("%d", (int)ns->holder);
	st_autofree char *api = ns->api ? st_xasprintf("--api-socket=%s", ns->api) : NULL;
	/* The sandbox: slirp4netns in a mount namespace of its own, with no capability left
	 * but binding low ports, since it parses what the step sends. */
	const char *argv[] = { path,
			       "--configure",
			       "--mtu=" SLIRP_MTU,
			       "--disable-host-loopback",
			       "--enable-sandbox",
			       "--exit-fd=3",
			       "--ready-fd=4",
			       pid,
			       "tap0",
			       NULL,
			       NULL };
	/* the API socket goes before the positional arguments */
	if (api) {
		memmove(argv + 8, argv + 7, 2 * sizeof(*argv));
		argv[7] = api;
	}
	int exitp[2], ready[2];
	if (pipe2(exitp, O_CLOEXEC) < 0)
		return st_err_errno(err, "pipe");
	ns->exit_w = exitp[1];
	st_autoclose int exit_r = exitp[0];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return st_err_errno(err, "pipe");
	st_autoclose int ready_r = ready[0];
	st_autoclose int ready_w = ready[1];
	st_autoclose int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return st_err_errno(err, "open /dev/null");
	/* Its stderr, read only if it fails: a pipe nobody reads could fill and block it. */
	st_autoclose int errfd = memfd_create("slirp4netns-stderr", MFD_CLOEXEC);
	if (errfd < 0)
		return st_err_errno(err, "memfd_create");
	pid_t parent = getpid();
	ns->slirp = fork();
	if (ns->slirp < 0)
		return st_err_errno(err, "fork");
	if (ns->slirp == 0)
		slirp_child((char *const *)argv, devnull, errfd, exit_r, ready_w, parent);
	close(st_steal_fd(&ready_w));
	char c;
	ssize_t n;
	while ((n = read(ready_r, &c, 1)) < 0 && errno == EINTR)
		;
	if (n == 1)
		return 0;
	reap(ns->slirp);
	ns->slirp = 0;
	char msg[STDERR_MAX + 1];
	ssize_t m = pread(errfd, msg, STDERR_MAX, 0);
	size_t len = m > 0 ? (size_t)m : 0;
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		len--;
	msg[len] = '\0';
	return st_err(err, ST_E_RUNTIME, "slirp4netns failed to set up the step's network: %s",
		      len ? msg : "it exited without a message");
}

int st_runtime_netns_new(struct st_runtime_netns **out, struct st_error **err)
{
	return st_runtime_netns_new_api(NULL, out, err);
}

int st_runtime_netns_new_api(const char *api_socket, struct st_runtime_netns **out,
			     struct st_error **err)
{
	struct st_runtime_netns *ns = st_xcalloc(1, sizeof(*ns));
	ns->hold_w = ns->exit_w = -1;
	ns->api = api_socket ? st_xstrdup(api_socket) : NULL;
	if (start_holder(ns, err) < 0 || start_slirp(ns, err) < 0) {
		st_runtime_netns_free(ns);
		return -1;
	}
	ns->path = st_xasprintf("/proc/%d/ns/net", (int)ns->holder);
	*out = ns;
	return 0;
}

static bool is_nameserver(const char *line, size_t len)
{
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	return len > 10 && !strncmp(line, "nameserver", 10) &&
	       (line[10] == ' ' || line[10] == '\t');
}

void st_runtime_resolv_conf(enum st_runtime_net net, const char *host, struct st_buf *out)
{
	if (net == ST_RUNTIME_NET_NONE)
		return;
	if (net == ST_RUNTIME_NET_HOST) {
		st_buf_adds(out, host);
		return;
	}
	/* The host's resolvers may be on its loopback (a local cache), which the step cannot
	 * reach; slirp4netns's forwarder asks them on the step's behalf. */
	for (const char *p = host; *p;) {
		size_t len = strcspn(p, "\n");
		if (!is_nameserver(p, len)) {
			st_buf_add(out, p, len);
			st_buf_addch(out, '\n');
		}
		p += len + (p[len] == '\n');
	}
	st_buf_adds(out, "nameserver " ST_RUNTIME_NETNS_DNS "\n");
}

int st_runtime_host_address(char **ip, struct st_error **err)
{
	struct ifaddrs *ifs;
	if (getifaddrs(&ifs) < 0)
		return st_err_errno(err, "list the host's network addresses");
	*ip = NULL;
	for (struct ifaddrs *i = ifs; i && !*ip; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		char buf[INET_ADDRSTRLEN];
		const struct sockaddr_in *sin = (const struct sockaddr_in *)i->ifa_addr;
		if (inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)))
			*ip = st_xstrdup(buf);
	}
	freeifaddrs(ifs);
	if (!*ip)
		return st_err(err, ST_E_NOTFOUND,
			      "the host has no IPv4 address but its loopback, and a step cannot "
			      "reach the host's loopback");
	return 0;
}

/* slirp4netns's API: one JSON request per connection, one JSON answer (see its man page). */
int st_runtime_netns_forward(struct st_runtime_netns *ns, const char *proto, const char *host_ip,
			     int host_port, int guest_port, struct st_error **err)
{
	if (!ns->api)
		return st_err(err, ST_E_INVALID, "the network has no API socket to forward ports");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(ns->api) >= sizeof(sa.sun_path))
		return st_err(err, ST_E_INVALID, "API socket path '%s' is too long", ns->api);
	memcpy(sa.sun_path, ns->api, strlen(ns->api) + 1);
	st_autoclose int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return st_err_errno(err, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return st_err_errno(err, "connect to slirp4netns at '%s'", ns->api);
	json_t *req =
	    json_pack("{s:s, s:{s:s, s:s, s:i, s:s, s:i}}", "execute", "add_hostfwd", "arguments",
		      "proto", proto, "host_addr", host_ip, "host_port", host_port, "guest_addr",
		      ST_RUNTIME_NETNS_GUEST, "guest_port", guest_port);
	char *text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	int rc = st_write_all(fd, text, strlen(text), err);
	free(text);
	if (rc < 0)
		return -1;
	shutdown(fd, SHUT_WR);
	struct st_buf answer = ST_BUF_INIT;
	char buf[1024];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st_buf_release(&answer);
			return st_err_errno(err, "read slirp4netns's answer");
		}
		st_buf_add(&answer, buf, (size_t)n);
	}
	json_t *ans = json_loadb(st_buf_str(&answer), answer.len, 0, NULL);
	const char *desc =
	    json_string_value(json_object_get(json_object_get(ans, "error"), "desc"));
	if (!json_is_object(ans) || json_object_get(ans, "error"))
		rc = st_err(err, ST_E_RUNTIME, "forward %s:%d/%s: %s", host_ip, host_port, proto,
			    desc ? desc : st_buf_str(&answer));
	json_decref(ans);
	st_buf_release(&answer);
	return rc;
}
