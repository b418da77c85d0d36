/*
 * console.c: a container's pseudo-terminal (`-t`), relayed between the caller and its master.
 *
 * The runtime makes the terminal inside the container and sends its master over a unix
 * socket (runc's --console-socket, as podman's conmon receives it: SCM_RIGHTS). One thread
 * accepts it, then copies the master's output to the caller's callback and the caller's input
 * to the master, and passes the host terminal's size on at start and on every SIGWINCH, until
 * the terminal's last user inside is gone (a read on the master then fails with EIO).
 *
 * SIGWINCH is read from a signalfd: it is blocked in the calling thread while the relay runs
 * (a thread inherits its creator's mask, so no thread takes the signal away from the fd), and
 * the caller's mask is given back when the relay stops.
 */
#include "container/internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* How long the relay keeps reading after the runtime returned, for output still on its way. */
#define DRAIN_MS 1000

struct container_console {
	char *dir, *path; /* the socket, in a directory of its own */
	int listen_fd, master_fd, stop_fd, winch_fd;
	int in_fd;  /* what is sent to the terminal, or -1 */
	int tty_fd; /* the host terminal whose size the container's follows, or -1 */
	st_runtime_output_fn out;
	void *ctx;
	int raw_fd;	      /* the terminal put in raw mode, or -1 */
	struct termios saved; /* its settings before */
	bool started;
	pthread_t thread;
	sigset_t old_mask;
};

int container_console_new(int in_fd, int tty_fd, st_runtime_output_fn out, void *ctx,
			  struct container_console **con, struct st_error **err)
{
	struct container_console *c = st_xcalloc(1, sizeof(*c));
	c->listen_fd = c->master_fd = c->stop_fd = c->winch_fd = c->raw_fd = -1;
	c->in_fd = in_fd;
	c->tty_fd = tty_fd >= 0 && isatty(tty_fd) ? tty_fd : -1;
	c->out = out;
	c->ctx = ctx;
	*con = c;
	/* A socket path must fit in 108 bytes, which the store's root may not leave room for. */
	char tmpl[] = "/tmp/strata-tty-XXXXXX";
	if (!mkdtemp(tmpl))
		return st_err_errno(err, "create a directory for the console socket");
	c->dir = st_xstrdup(tmpl);
	c->path = st_path_join(c->dir, "console.sock");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0)
		return st_err_errno(err, "console socket");
	if (bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(c->listen_fd, 1) < 0)
		return st_err_errno(err, "listen on '%s'", c->path);
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->stop_fd < 0)
		return st_err_errno(err, "eventfd");
	return 0;
}

const char *container_console_socket(const struct container_console *con)
{
	return con->path;
}

void container_console_size(const struct container_console *con, unsigned short *rows,
			    unsigned short *cols)
{
	struct winsize ws = { 0 };
	if (con->tty_fd < 0 || ioctl(con->tty_fd, TIOCGWINSZ, &ws) < 0)
		memset(&ws, 0, sizeof(ws));
	*rows = ws.ws_row;
	*cols = ws.ws_col;
}

/* The host terminal's size onto the container's: the kernel then sends it SIGWINCH. */
static void resize(struct container_console *con)
{
	struct winsize ws;
	if (con->tty_fd >= 0 && con->master_fd >= 0 && ioctl(con->tty_fd, TIOCGWINSZ, &ws) == 0)
		ioctl(con->master_fd, TIOCSWINSZ, &ws);
}

/* The master from the runtime's message on 'conn' (its payload is the terminal's path). */
static int receive_master(int conn)
{
	char data[4096];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	ssize_t n;
	while ((n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	struct cmsghdr *h = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS ||
	    h->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(h), sizeof(fd));
	return fd;
}

static void accept_master(struct container_console *con)
{
	st_autoclose int conn = accept4(con->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return;
	/* Connected: the path has served, and a strata killed from now on (a terminal's hangup)
	 * leaves nothing behind in /tmp. */
	unlink(con->path);
	rmdir(con->dir);
	con->master_fd = receive_master(conn);
	if (con->master_fd < 0)
		return;
	close(st_steal_fd(&con->listen_fd));
	resize(con);
}

static void send_input(struct container_console *con)
{
	char buf[4096];
	ssize_t n = read(con->in_fd, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		con->in_fd = -1; /* the end of the input is not the end of the container */
		return;
	}
	struct st_error *err = NULL;
	if (st_write_all(con->master_fd, buf, (size_t)n, &err) < 0)
		st_error_free(err); /* the container is gone: its output ends the relay */
}

static void *relay(void *arg)
{
	struct container_console *con = arg;
	bool stopping = false;
	char buf[65536];
	for (;;) {
		enum { TERM, STOP, IN, WINCH, N };
		struct pollfd fds[N] = {
			[TERM] = { .fd = con->master_fd >= 0 ? con->master_fd : con->listen_fd,
				   .events = POLLIN },
			[STOP] = { .fd = stopping ? -1 : con->stop_fd, .events = POLLIN },
			[IN] = { .fd = con->master_fd >= 0 ? con->in_fd : -1, .events = POLLIN },
			[WINCH] = { .fd = con->winch_fd, .events = POLLIN },
		};
		int n = poll(fds, N, stopping ? DRAIN_MS : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (fds[STOP].revents) {
			stopping = true;
			if (con->master_fd < 0)
				break; /* the runtime failed before it made a terminal */
		}
		if (fds[WINCH].revents) {
			struct signalfd_siginfo si;
			if (read(con->winch_fd, &si, sizeof(si)) > 0)
				resize(con);
		}
		if (fds[IN].revents)
			send_input(con);
		if (!fds[TERM].revents)
			continue;
		if (con->master_fd < 0) {
			accept_master(con);
			continue;
		}
		ssize_t r = read(con->master_fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* EIO: nobody inside has the terminal open any more */
		con->out(con->ctx, ST_RUNTIME_STDOUT, buf, (size_t)r);
	}
	return NULL;
}

int container_console_start(struct container_console *con, struct st_error **err)
{
	sigset_t winch;
	sigemptyset(&winch);
	sigaddset(&winch, SIGWINCH);
	if (con->tty_fd >= 0) {
		pthread_sigmask(SIG_BLOCK, &winch, &con->old_mask);
		con->winch_fd = signalfd(-1, &winch, SFD_CLOEXEC);
		if (con->winch_fd < 0) {
			pthread_sigmask(SIG_SETMASK, &con->old_mask, NULL);
			return st_err_errno(err, "signalfd");
		}
	}
	/* Keys go to the container as they are typed, Ctrl-C included, as Docker's client
	 * does; the terminal's own output processing stays off, the container's does it. */
	if (con->in_fd >= 0 && isatty(con->in_fd) && tcgetattr(con->in_fd, &con->saved) == 0) {
		struct termios raw = con->saved;
		cfmakeraw(&raw);
		if (tcsetattr(con->in_fd, TCSANOW, &raw) == 0)
			con->raw_fd = con->in_fd;
	}
	int rc = pthread_create(&con->thread, NULL, relay, con);
	if (rc != 0) {
		errno = rc;
		return st_err_errno(err, "start the terminal's relay");
	}
	con->started = true;
	return 0;
}

void container_console_free(struct container_console *con)
{
	if (!con)
		return;
	if (con->started) {
		uint64_t one = 1;
		if (write(con->stop_fd, &one, sizeof(one)) < 0) {
			/* an eventfd write fails only on overflow */
		}
		pthread_join(con->thread, NULL);
	}
	if (con->raw_fd >= 0)
		tcsetattr(con->raw_fd, TCSADRAIN, &con->saved);
	if (con->winch_fd >= 0) {
		close(con->winch_fd);
		pthread_sigmask(SIG_SETMASK, &con->old_mask, NULL);
	}
	int fds[] = { con->listen_fd, con->master_fd, con->stop_fd };
	for (size_t i = 0; i < sizeof(fds) / sizeof(*fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (con->path)
		unlink(con->path);
	if (con->dir)
		rmdir(con->dir);
	free(con->path);
	free(con->dir);
	free(con);
}

void container_console_freep(struct container_console **con)
{
	container_console_free(*con);
}
