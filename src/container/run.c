/*
 * run.c: running a container: the supervisor, detached starts, signals, stop, wait, exec.
 *
 * The process that runs a container (strata in the foreground, or the supervisor of a
 * detached one) is its supervisor:
 *
 *   supervisor ── runtime monitor ── runc run ── the container's process
 *              └─ slirp4netns (default network)
 *
 * It holds containers/<id>/lock, enters a mount namespace of its own and mounts the overlay
 * there, so the mount lives exactly as long as the supervisor (and the container that uses
 * it), and no stale mount is ever left on the host. It writes the output to the json-file log
 * and records the exit status. When it dies however it dies, the runtime's monitor kills the
 * container (PR_SET_PDEATHSIG, see runtime/run.c) and the lock is released: the state then
 * reads as exited (container.c).
 */
#include "container/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "local/local.h"
#include "runtime/runtime.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* How often a waiting process looks again (stop's timeout, logs -f, a detached start). */
#define POLL_NS (20 * 1000 * 1000)
/* Docker's grace period between the stop signal and SIGKILL, in seconds. */
#define STOP_TIMEOUT 10

static void nap(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = POLL_NS };
	nanosleep(&ts, NULL);
}

char **container_lowers(const struct st_container *c, size_t *n)
{
	const char *ld = json_string_value(json_object_get(
	    json_object_get(json_object_get(c->rec, "GraphDriver"), "Data"), "LowerDir"));
	char **v = NULL;
	*n = 0;
	for (const char *p = ld ? ld : ""; *p;) {
		size_t len = strcspn(p, ":");
		v = st_xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = st_xstrndup(p, len);
		p += len + (p[len] == ':');
	}
	return v;
}

static const json_t *config_of(const struct st_container *c)
{
	return json_object_get(c->rec, "Config");
}

static const char *cfg_str(const struct st_container *c, const char *key)
{
	const char *v = json_string_value(json_object_get(config_of(c), key));
	return v ? v : "";
}

static const json_t *host_config(const struct st_container *c)
{
	return json_object_get(c->rec, "HostConfig");
}

/* ---- the json-file log ------------------------------------------------------------------- */

/* Output of one stream, cut at newlines into Docker's json-file records. */
struct log_stream {
	struct st_buf partial;
	const char *name;
};

struct output {
	int log_fd;
	int out_fd, err_fd;
	struct log_stream streams[2];
};

static void log_record(struct output *o, struct log_stream *ls, const char *p, size_t n)
{
	st_autofree char *now = container_now();
	json_t *rec = json_pack("{s:s%, s:s, s:s}", "log", p, n, "stream", ls->name, "time", now);
	char *line = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	if (line) {
		struct st_buf b = ST_BUF_INIT;
		st_buf_adds(&b, line);
		st_buf_addch(&b, '\n');
		/* One write per record on an O_APPEND fd: a reader never sees half a line. */
		if (write(o->log_fd, b.data, b.len) < 0) {
			/* a full disk loses log lines, never the container */
		}
		st_buf_release(&b);
		free(line);
	}
}

static void on_output(void *ctx, enum st_runtime_stream stream, const char *data, size_t len)
{
	struct output *o = ctx;
	int fd = stream == ST_RUNTIME_STDOUT ? o->out_fd : o->err_fd;
	if (fd >= 0) {
		struct st_error *err = NULL;
		if (st_write_all(fd, data, len, &err) < 0)
			st_error_free(err);
	}
	struct log_stream *ls = &o->streams[stream == ST_RUNTIME_STDOUT ? 0 : 1];
	st_buf_add(&ls->partial, data, len);
	size_t start = 0;
	for (size_t i = 0; i < ls->partial.len; i++)
		if (ls->partial.data[i] == '\n') {
			log_record(o, ls, ls->partial.data + start, i + 1 - start);
			start = i + 1;
		}
	memmove(ls->partial.data, ls->partial.data + start, ls->partial.len - start);
	st_buf_setlen(&ls->partial, ls->partial.len - start);
}

static void output_flush(struct output *o)
{
	for (int i = 0; i < 2; i++) {
		struct log_stream *ls = &o->streams[i];
		if (ls->partial.len)
			log_record(o, ls, ls->partial.data, ls->partial.len);
		st_buf_release(&ls->partial);
	}
}

/* ---- the runtime's files ---------------------------------------------------------------- */

/* /etc/hosts as Docker writes it, the container's name on its own address. */
static int write_hosts(const struct st_container *c, const char *path, const char *net,
		       struct st_error **err)
{
	struct st_buf h = ST_BUF_INIT;
	st_buf_adds(&h, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	const char *hostname = cfg_str(c, "Hostname");
	if (!strcmp(net, "default"))
		st_buf_addf(&h, "10.0.2.100\t%s\n", hostname);
	else
		st_buf_addf(&h, "127.0.1.1\t%s\n", hostname);
	st_autofree char *host_ip = NULL;
	size_t i;
	json_t *e;
	int rc = 0;
	json_array_foreach(json_object_get(host_config(c), "ExtraHosts"), i, e)
	{
		const char *spec = json_string_value(e);
		size_t nlen = strcspn(spec, ":=");
		const char *ip = spec[nlen] ? spec + nlen + 1 : "";
		if (!strcmp(ip, "host-gateway")) {
			if (!host_ip && st_runtime_host_address(&host_ip, err) < 0) {
				rc = st_err_wrap(err, "--add-host %s", spec);
				break;
			}
			ip = host_ip;
		}
		st_buf_addf(&h, "%s\t%.*s\n", ip, (int)nlen, spec);
	}
	if (rc == 0)
		rc = st_write_file_atomic(path, NULL, h.data, h.len, 0644, err);
	st_buf_release(&h);
	return rc;
}

static int write_etc(const struct st_container *c, const char *bundle, const char *net,
		     enum st_runtime_net mode, struct st_error **err)
{
	st_autofree char *hosts = st_path_join(bundle, "hosts");
	st_autofree char *resolv = st_path_join(bundle, "resolv.conf");
	st_autofree char *hostname = st_path_join(bundle, "hostname");
	if (write_hosts(c, hosts, net, err) < 0)
		return -1;
	struct st_buf host = ST_BUF_INIT, rv = ST_BUF_INIT;
	struct st_error *rerr = NULL;
	if (st_read_file("/etc/resolv.conf", &host, &rerr) < 0)
		st_error_free(rerr);
	st_runtime_resolv_conf(mode, st_buf_str(&host), &rv);
	int rc = st_write_file_atomic(resolv, NULL, st_buf_str(&rv), rv.len, 0644, err);
	st_buf_release(&host);
	st_buf_release(&rv);
	if (rc < 0)
		return -1;
	st_autofree char *hn = st_xasprintf("%s\n", cfg_str(c, "Hostname"));
	return st_write_file_atomic(hostname, NULL, hn, strlen(hn), 0644, err);
}

/* Docker's exit codes for a process that could not start: 127 when the command is not
 * there, 126 when it cannot be executed, 125 for anything else. */
static int start_failure_code(const struct st_error *e)
{
	const char *m = e && e->msg ? e->msg : "";
	if (strstr(m, "executable file not found") || strstr(m, "no such file or directory"))
		return 127;
	if (strstr(m, "permission denied") || strstr(m, "exec format error") ||
	    strstr(m, "is a directory"))
		return 126;
	return 125;
}

/* The process's environment: Docker puts PATH first when the image has none, and HOSTNAME. */
static const char **process_env(const struct st_container *c)
{
	const json_t *env = json_object_get(config_of(c), "Env");
	const char **v = st_xcalloc(json_array_size(env) + 3, sizeof(*v));
	size_t k = 0, i;
	bool has_path = false;
	json_t *e;
	json_array_foreach(env, i, e) has_path |= !strncmp(json_string_value(e), "PATH=", 5);
	if (!has_path)
		v[k++] = DEFAULT_PATH;
	json_array_foreach(env, i, e) v[k++] = json_string_value(e);
	return v;
}

struct run_parts {
	char **argv;
	size_t argc;
	const char **env;
	struct st_runtime_mount *mounts;
	size_t n_mounts;
	char **owned; /* strings the mounts point to */
	size_t n_owned;
};

static void run_parts_release(struct run_parts *p)
{
	st_strv_free(p->argv, p->argc);
	free(p->env);
	free(p->mounts);
	st_strv_free(p->owned, p->n_owned);
}

static const char *own(struct run_parts *p, char *s)
{
	p->owned = st_xrealloc(p->owned, (p->n_owned + 1) * sizeof(*p->owned));
	p->owned[p->n_owned++] = s;
	return s;
}

static void add_mount(struct run_parts *p, struct st_runtime_mount m)
{
	p->mounts = st_xrealloc(p->mounts, (p->n_mounts + 1) * sizeof(*p->mounts));
	p->mounts[p->n_mounts++] = m;
}

/*
 * --init: the static tini that Debian's tini package installs, as Docker's docker-init. It is
 * bind-mounted into a rootfs that may have no C library, hence static. STRATA_INIT_PATH names
 * another, as dockerd's --init-path does.
 */
static int init_binary(char **path, struct st_error **err)
{
	const char *given = getenv("STRATA_INIT_PATH");
	if (given && *given) {
		if (access(given, X_OK) < 0)
			return st_err_errno(err, "--init: init binary '%s' (STRATA_INIT_PATH)",
					    given);
		*path = st_xstrdup(given);
		return 0;
	}
	static const char *const names[] = { "tini-static", "docker-init" };
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if ((*path = st_runtime_search_path(names[i])))
			return 0;
	return st_err(err, ST_E_RUNTIME,
		      "--init: no init binary: neither tini-static nor docker-init is in PATH "
		      "(install Debian's tini package)");
}

static int run_parts_init(const struct st_container *c, const char *bundle, struct run_parts *p,
			  struct st_error **err)
{
	memset(p, 0, sizeof(*p));
	const json_t *args = json_object_get(c->rec, "Args");
	bool init = json_is_true(json_object_get(host_config(c), "Init"));
	/* Docker's order: /dev/init -- PATH ARGS... */
	size_t k = 0;
	p->argc = (init ? 3 : 1) + json_array_size(args);
	p->argv = st_xcalloc(p->argc + 1, sizeof(*p->argv));
	if (init) {
		char *tini = NULL;
		if (init_binary(&tini, err) < 0)
			return -1;
		add_mount(p, (struct st_runtime_mount){ .type = ST_RUNTIME_MOUNT_BIND,
							.source = own(p, tini),
							.destination = "/dev/init",
							.flags = ST_RUNTIME_MOUNT_READONLY });
		p->argv[k++] = st_xstrdup("/dev/init");
		p->argv[k++] = st_xstrdup("--");
	}
	p->argv[k++] = st_xstrdup(json_string_value(json_object_get(c->rec, "Path")));
	for (size_t i = 0; i < json_array_size(args); i++)
		p->argv[k++] = st_xstrdup(json_string_value(json_array_get(args, i)));
	p->env = process_env(c);
	static const char *const etc[] = { "hosts", "resolv.conf", "hostname" };
	for (size_t i = 0; i < 3; i++)
		add_mount(p, (struct st_runtime_mount){
				 .type = ST_RUNTIME_MOUNT_BIND,
				 .source = own(p, st_path_join(bundle, etc[i])),
				 .destination = own(p, st_xasprintf("/etc/%s", etc[i])) });
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(c->rec, "Mounts"), i, m)
	{
		const char *src = json_string_value(json_object_get(m, "Source"));
		if (!strcmp(json_string_value(json_object_get(m, "Type")), "tmpfs"))
			continue; /* mounted with HostConfig.Tmpfs below */
		/* Docker makes a missing host directory of a bind. */
		if (!st_path_exists(src) && st_mkdir_p(src, 0755, err) < 0)
			return st_err_wrap(err, "-v %s", src);
		add_mount(p,
			  (struct st_runtime_mount){
			      .type = ST_RUNTIME_MOUNT_BIND,
			      .source = src,
			      .destination = json_string_value(json_object_get(m, "Destination")),
			      .flags = json_is_false(json_object_get(m, "RW"))
					   ? ST_RUNTIME_MOUNT_READONLY
					   : 0u });
	}
	const char *dst;
	json_t *opts;
	json_object_foreach(json_object_get(host_config(c), "Tmpfs"), dst, opts)
	{
		const char *o = json_string_value(opts);
		add_mount(p, (struct st_runtime_mount){ .type = ST_RUNTIME_MOUNT_TMPFS,
							.destination = dst,
							.options = o && *o ? o : NULL });
	}
	return 0;
}

/* ---- the supervisor --------------------------------------------------------------------- */

static enum st_runtime_net net_mode(const char *net)
{
	if (!strcmp(net, "none"))
		return ST_RUNTIME_NET_NONE;
	if (!strcmp(net, "host"))
		return ST_RUNTIME_NET_HOST;
	return ST_RUNTIME_NET_DEFAULT;
}

/*
 * The image's layers unpacked, as create left them: gc may have removed them since, if the
 * image went too (rmi -f). And a lease on them (blobs and unpacked dirs), to hold while the
 * container runs: `rmi -f` of its image then deletes the image's record, and gc keeps the
 * layers its overlay is made of until the lease ends, as Docker keeps them. Done with the
 * database before a detached start forks, since the supervisor never uses it: SQLite's state
 * does not survive a fork.
 */
static int ensure_lowers(struct st_store *s, const struct st_container *c,
			 struct st_store_lease **lease, struct st_error **err)
{
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_store_image_get(s, st_container_image_id(c), &img, err) < 0)
		return st_err_wrap(err, "the container's image");
	if (st_store_lease_begin(s, lease, err) < 0)
		return -1;
	for (size_t i = 0; i < img->n_layers; i++)
		if (st_store_lease_add(*lease, img->layers[i].digest.str, err) < 0 ||
		    st_store_lease_add(*lease, img->layers[i].diff_id.str, err) < 0)
			return -1;
	char **lowers = NULL;
	size_t n = 0;
	if (st_local_lowers(s, img->layers, img->n_layers, NULL, &lowers, &n, err) < 0)
		return -1;
	st_strv_free(lowers, n);
	return 0;
}

/* -p: each binding forwarded from the host to the container's address. */
static int publish(struct st_runtime_netns *netns, const json_t *ports, struct st_error **err)
{
	const char *key;
	json_t *list;
	json_object_foreach((json_t *)ports, key, list)
	{
		int guest = atoi(key);
		const char *proto = strchr(key, '/') ? strchr(key, '/') + 1 : "tcp";
		size_t i;
		json_t *b;
		json_array_foreach(list, i, b)
		{
			const char *ip = json_string_value(json_object_get(b, "HostIp"));
			int host = atoi(json_string_value(json_object_get(b, "HostPort")));
			if (st_runtime_netns_forward(netns, proto, ip, host, guest, err) < 0)
				return st_err_wrap(err,
						   "Bind for %s:%d failed: port is already "
						   "allocated",
						   ip, host);
		}
	}
	return 0;
}

/*
 * Everything up to the runtime's exit, in the calling process, which holds the lock. 's' is
 * used for its paths only (see ensure_lowers()).
 */
static int supervise(struct st_store *s, const struct st_container *c,
		     const struct st_container_io *io, int *exit_code, struct st_error **err)
{
	*exit_code = 125;
	size_t nl = 0;
	char **lowers = container_lowers(c, &nl);

	st_autofree char *upper = container_path(c, "upper");
	st_autofree char *work = container_path(c, "work");
	st_autofree char *merged = container_path(c, "merged");
	st_autofree char *bundle = container_path(c, "bundle");
	st_autofree char *pid_file = container_path(c, "bundle/pid");
	st_autofree char *log = container_path(c, "ctr.log");
	unlink(pid_file);
	int rc = st_snapshot_private_ns(err);
	if (rc == 0)
		rc = st_snapshot_mount((const char *const *)lowers, nl, upper, work, merged, err);
	bool mounted = rc == 0;
	st_strv_free(lowers, nl);
	if (rc == 0)
		rc = container_volumes_fill(c, merged, err);

	const char *net = json_string_value(json_object_get(host_config(c), "NetworkMode"));
	enum st_runtime_net mode = net_mode(net ? net : "default");
	if (rc == 0)
		rc = write_etc(c, bundle, net ? net : "default", mode, err);
	st_auto(st_runtime_netns) struct st_runtime_netns *netns = NULL;
	const json_t *ports = json_object_get(host_config(c), "PortBindings");
	/* slirp4netns's API socket, for -p: short, as a socket path must be (108 bytes). */
	st_autofree char *api = json_object_size(ports)
				    ? st_xasprintf("/run/strata-%.12s.sock", st_container_id(c))
				    : NULL;
	if (api)
		unlink(api); /* left by a supervisor that was killed */
	if (rc == 0 && mode == ST_RUNTIME_NET_DEFAULT)
		rc = st_runtime_netns_new_api(api, &netns, err);
	if (rc == 0 && netns)
		rc = publish(netns, ports, err);
	uid_t uid = 0;
	gid_t gid = 0;
	st_autofree gid_t *gids = NULL;
	size_t ngids = 0;
	const char *user = cfg_str(c, "User");
	if (rc == 0 && *user)
		rc = st_runtime_resolve_user(merged, user, &uid, &gid, &gids, &ngids, err);
	struct run_parts parts;
	memset(&parts, 0, sizeof(parts));
	if (rc == 0)
		rc = run_parts_init(c, bundle, &parts, err);
	const char *wd = cfg_str(c, "WorkingDir");
	struct output out = {
		.log_fd = -1,
		.out_fd = io ? io->out_fd : -1,
		.err_fd = io ? io->err_fd : -1,
		.streams = { { ST_BUF_INIT, "stdout" }, { ST_BUF_INIT, "stderr" } },
	};
	/* -t: the terminal's output is the container's stdout, in the log too (Docker's). */
	bool tty = json_is_true(json_object_get(config_of(c), "Tty"));
	__attribute__((cleanup(container_console_freep))) struct container_console *console = NULL;
	if (rc == 0 && tty)
		rc = container_console_new(io && io->attach_stdin ? 0 : -1, io ? io->out_fd : -1,
					   on_output, &out, &console, err);
	size_t ncaps = 0;
	char **caps = container_caps(c, &ncaps);
	struct st_runtime_resources res;
	bool limited = container_resources(c, &res);
	struct st_runtime_spec spec = {
		.rootfs = merged,
		.readonly_rootfs = json_is_true(json_object_get(host_config(c), "ReadonlyRootfs")),
		.args = (const char *const *)parts.argv,
		.env = parts.env,
		.cwd = *wd ? wd : "/",
		.uid = uid,
		.gid = gid,
		.additional_gids = gids,
		.n_additional_gids = ngids,
		.hostname = cfg_str(c, "Hostname"),
		.net = mode,
		.netns = netns ? st_runtime_netns_path(netns) : NULL,
		.mounts = parts.mounts,
		.n_mounts = parts.n_mounts,
		.id = st_container_id(c),
		.terminal = tty,
		.caps = (const char *const *)caps,
		.no_new_privileges = container_no_new_privileges(c),
		.resources = limited ? &res : NULL,
	};
	if (console)
		container_console_size(console, &spec.console_rows, &spec.console_cols);
	if (rc == 0)
		rc = st_runtime_spec_write(&spec, bundle, err);
	st_strv_free(caps, ncaps);
	st_autoclose int log_fd = -1;
	if (rc == 0) {
		log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (log_fd < 0)
			rc = st_err_errno(err, "open '%s'", log);
		out.log_fd = log_fd;
	}
	struct container_state_change running = { .status = ST_CONTAINER_RUNNING,
						  .started = true,
						  .supervisor = (int)getpid() };
	if (rc == 0)
		rc = container_state_write(c, &running, err);
	int code = 0;
	if (rc == 0 && console)
		rc = container_console_start(console, err);
	bool oom = false;
	if (rc == 0) {
		st_autofree char *state_root = container_state_root(s);
		/* Kept after it exits, for its cgroup's count of OOM kills, then deleted. */
		struct st_runtime_opts ro = {
			.state_root = state_root,
			.pid_file = pid_file,
			.inherit_stdin = io && io->attach_stdin && !tty,
			.console_socket = console ? container_console_socket(console) : NULL,
			.keep = true,
		};
		/* Health checks run for detached containers only, as the task of their
		 * supervisor. */
		pid_t health = io ? 0 : container_health_start(s, c);
		/* The relay's thread writes the stdout stream, this one only the runtime's own
		 * stderr: the two never share a stream's buffer. */
		rc = st_runtime_run(&ro, bundle, st_container_id(c), on_output, &out, &code, err);
		container_health_stop(health);
		if (rc == 0) {
			oom = container_oom_killed(st_container_id(c));
			container_runtime_delete(s, c);
		}
	}
	container_console_free(st_steal(&console));
	output_flush(&out);
	run_parts_release(&parts);
	unlink(pid_file);
	if (mounted) {
		struct st_error *uerr = NULL;
		if (st_snapshot_umount(merged, &uerr) < 0)
			st_error_free(uerr);
	}
	if (rc < 0) {
		/* Stopped by a signal to strata (or to its supervisor): the runtime's monitor
		 * killed the container, which ran and is now exited. */
		bool killed = (*err)->kind == ST_E_CANCELED;
		*exit_code = killed ? 128 + SIGKILL : start_failure_code(*err);
		/* Docker leaves a container that could not start "created", with the code. */
		struct container_state_change failed = { .status = killed ? ST_CONTAINER_EXITED
									  : ST_CONTAINER_CREATED,
							 .exit_code = *exit_code,
							 .error = (*err)->msg,
							 .finished = killed };
		struct st_error *werr = NULL;
		if (container_state_write(c, &failed, &werr) < 0)
			st_error_free(werr);
		return -1;
	}
	*exit_code = code;
	struct container_state_change exited = { .status = ST_CONTAINER_EXITED,
						 .exit_code = code,
						 .finished = true,
						 .oom_killed = oom };
	return container_state_write(c, &exited, err);
}

/* Take the lock for a start: ST_E_BUSY when the container runs. */
static int lock_for_start(struct st_store *s, const struct st_container *c, int *lock,
			  struct st_error **err)
{
	*lock = container_lock_open(c, err);
	if (*lock < 0)
		return -1;
	/* A reader holds it shared for an instant (st_container_state()): try a few times. */
	for (int i = 0; i < 50; i++) {
		if (flock(*lock, LOCK_EX | LOCK_NB) == 0)
			return 0;
		struct st_container_state st;
		if (st_container_state(s, c, &st, err) < 0)
			return -1;
		bool running = st.status == ST_CONTAINER_RUNNING;
		st_container_state_release(&st);
		if (running)
			break;
		nap();
	}
	return st_err(err, ST_E_BUSY, "container %s is already running", st_container_name(c));
}

static bool auto_remove(const struct st_container *c)
{
	return json_is_true(json_object_get(host_config(c), "AutoRemove"));
}

int st_container_run(struct st_store *s, const struct st_container *c,
		     const struct st_container_io *io, int *exit_code, struct st_error **err)
{
	*exit_code = 125;
	st_autoclose int lock = -1;
	__attribute__((cleanup(st_store_lease_endp))) struct st_store_lease *lease = NULL;
	if (ensure_lowers(s, c, &lease, err) < 0 || lock_for_start(s, c, &lock, err) < 0)
		return -1;
	int rc = supervise(s, c, io, exit_code, err);
	close(st_steal_fd(&lock));
	if (auto_remove(c)) {
		struct st_error *rerr = NULL;
		if (container_remove_dir(s, c, &rerr) < 0 && rc == 0) {
			*err = rerr;
			return -1;
		}
		st_error_free(rerr);
		container_remove_anonymous(s, c->rec);
	}
	return rc;
}

/* In the supervisor: its own session, stdio on /dev/null, no fd of strata's but 'keep' (now
 * 3, returned) and the lease's 'lease' (now 4, kept open for the lease to live). */
static int detach(int keep, int lease)
{
	if (setsid() < 0)
		return -1;
	int devnull = open("/dev/null", O_RDWR);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0)
		return -1;
	/* Out of the way first, so that neither overwrites the other. */
	int k = fcntl(keep, F_DUPFD_CLOEXEC, 10), l = fcntl(lease, F_DUPFD_CLOEXEC, 10);
	if (k < 0 || l < 0 || dup3(k, 3, O_CLOEXEC) < 0 || dup3(l, 4, O_CLOEXEC) < 0)
		return -1;
	syscall(SYS_close_range, 5U, ~0U, 0U);
	return 3;
}

/* In the supervisor: run the container, then report a start failure on 'report' as the exit
 * code and the message ("<code> <message>"); a container that ran reports nothing. 's' and
 * 'c' are the parent's copies: 's' serves for its paths only, never for the database. */
static void __attribute__((noreturn))
supervisor(struct st_store *s, const struct st_container *c, int report)
{
	struct st_error *err = NULL;
	int code = 125;
	st_autoclose int lock = -1;
	int rc = lock_for_start(s, c, &lock, &err);
	if (rc == 0)
		rc = supervise(s, c, NULL, &code, &err);
	close(st_steal_fd(&lock));
	if (auto_remove(c)) {
		struct st_error *rerr = NULL;
		if (container_remove_dir(s, c, &rerr) < 0)
			st_error_free(rerr);
		else
			container_remove_anonymous(s, c->rec);
	}
	if (rc < 0) {
		char *msg = st_xasprintf("%d %s", code, err && err->msg ? err->msg : "failed");
		if (write(report, msg, strlen(msg)) < 0) {
			/* strata no longer waits for the answer */
		}
		free(msg);
	}
	st_error_free(err);
	_exit(rc < 0 ? 1 : 0);
}

int st_container_start(struct st_store *s, const struct st_container *c, int *exit_code,
		       struct st_error **err)
{
	*exit_code = 125;
	struct st_container_state st;
	if (st_container_state(s, c, &st, err) < 0)
		return -1;
	bool running = st.status == ST_CONTAINER_RUNNING;
	st_container_state_release(&st);
	if (running)
		return 0; /* docker start of a running container does nothing */
	st_autofree char *pid_file = container_path(c, "bundle/pid");
	unlink(pid_file);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return st_err_errno(err, "pipe");
	st_autoclose int rd = p[0];
	st_autoclose int wr = p[1];
	__attribute__((cleanup(st_store_lease_endp))) struct st_store_lease *lease = NULL;
	if (ensure_lowers(s, c, &lease, err) < 0)
		return -1;
	/* The supervisor holds the lease from now on. */
	st_autoclose int lease_fd = st_store_lease_hand_over(st_steal(&lease));
	/* Twice forked, so the supervisor is nobody's child but init's once strata exits. */
	pid_t child = fork();
	if (child < 0)
		return st_err_errno(err, "fork");
	if (child == 0) {
		pid_t sup = fork();
		if (sup != 0)
			_exit(sup < 0 ? 1 : 0);
		int report = detach(wr, lease_fd);
		if (report < 0)
			_exit(1);
		supervisor(s, c, report);
	}
	close(st_steal_fd(&wr));
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	/* Started once the runtime wrote the pid file; the report pipe closes when the
	 * supervisor is done, with a message if the start failed. */
	struct st_buf msg = ST_BUF_INIT;
	for (;;) {
		struct pollfd pfd = { .fd = rd, .events = POLLIN };
		int n = poll(&pfd, 1, POLL_NS / 1000000);
		if (n < 0 && errno != EINTR) {
			st_buf_release(&msg);
			return st_err_errno(err, "wait for the container to start");
		}
		if (n > 0) {
			char buf[4096];
			ssize_t r = read(rd, buf, sizeof(buf));
			if (r > 0) {
				st_buf_add(&msg, buf, (size_t)r);
				continue;
			}
			break; /* the supervisor is done */
		}
		if (st_path_exists(pid_file))
			break;
	}
	int rc = 0;
	if (msg.len) {
		char *sp = strchr(msg.data, ' ');
		*exit_code = atoi(msg.data);
		rc = st_err(err, ST_E_RUNTIME, "%s", sp ? sp + 1 : msg.data);
	}
	st_buf_release(&msg);
	return rc;
}

/* ---- signals, stop, wait ---------------------------------------------------------------- */

static int runc_path(char **path, struct st_error **err)
{
	*path = st_runtime_search_path("runc");
	if (!*path)
		return st_err(err, ST_E_RUNTIME,
			      "runtime 'runc' not found in PATH (is it installed?)");
	return 0;
}

/* Run runc with 'args' (NULL-terminated, after --root), stdio as given. Its exit code. */
static int runc(struct st_store *s, const char *const *args, int in, int out, int errfd,
		struct st_error **err)
{
	st_autofree char *path = NULL;
	if (runc_path(&path, err) < 0)
		return -1;
	st_autofree char *root = container_state_root(s);
	size_t n = 0;
	while (args[n])
		n++;
	const char **argv = st_xcalloc(n + 4, sizeof(*argv));
	argv[0] = path;
	argv[1] = "--root";
	argv[2] = root;
	for (size_t i = 0; i < n; i++)
		argv[3 + i] = args[i];
	pid_t pid = fork();
	if (pid < 0) {
		free(argv);
		return st_err_errno(err, "fork");
	}
	if (pid == 0) {
		if ((in >= 0 && dup2(in, 0) < 0) || (out >= 0 && dup2(out, 1) < 0) ||
		    (errfd >= 0 && dup2(errfd, 2) < 0))
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	free(argv);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return st_err_errno(err, "wait for runc");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static int check_running(struct st_store *s, const struct st_container *c, bool *running,
			 struct st_error **err)
{
	struct st_container_state st;
	if (st_container_state(s, c, &st, err) < 0)
		return -1;
	*running = st.status == ST_CONTAINER_RUNNING;
	st_container_state_release(&st);
	return 0;
}

static int check_paused(struct st_store *s, const struct st_container *c, bool *running,
			bool *paused, struct st_error **err)
{
	struct st_container_state st;
	if (st_container_state(s, c, &st, err) < 0)
		return -1;
	*running = st.status == ST_CONTAINER_RUNNING;
	*paused = st.paused;
	st_container_state_release(&st);
	return 0;
}

/* `runc pause` or `resume`, and the record to match. */
static int freeze(struct st_store *s, const struct st_container *c, bool pause,
		  struct st_error **err)
{
	const char *args[] = { pause ? "pause" : "resume", st_container_id(c), NULL };
	st_autoclose int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return st_err_errno(err, "pipe");
	st_autoclose int rd = p[0];
	st_autoclose int wr = p[1];
	/* runc's few lines of error fit in the pipe: it is read once runc is done. */
	int code = runc(s, args, devnull, devnull, wr, err);
	close(st_steal_fd(&wr));
	if (code < 0)
		return -1;
	if (code != 0) {
		char msg[1024];
		ssize_t n = read(rd, msg, sizeof(msg) - 1);
		msg[n > 0 ? n : 0] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		return st_err(err, ST_E_RUNTIME, "runc could not %s container %s: %s",
			      pause ? "pause" : "resume", st_container_name(c), msg);
	}
	return container_state_set_paused(c, pause, err);
}

int st_container_pause(struct st_store *s, const struct st_container *c, struct st_error **err)
{
	bool running, paused;
	if (check_paused(s, c, &running, &paused, err) < 0)
		return -1;
	if (!running)
		return st_err(err, ST_E_INVALID, "Container %s is not running", st_container_id(c));
	if (paused)
		return st_err(err, ST_E_INVALID, "Container %s is already paused",
			      st_container_id(c));
	return freeze(s, c, true, err);
}

int st_container_unpause(struct st_store *s, const struct st_container *c, struct st_error **err)
{
	bool running, paused;
	if (check_paused(s, c, &running, &paused, err) < 0)
		return -1;
	if (!running || !paused)
		return st_err(err, ST_E_INVALID, "Container %s is not paused", st_container_id(c));
	return freeze(s, c, false, err);
}

/* Docker resumes a paused container after its stop signal or SIGKILL, which it then gets. */
static bool resumes(const struct st_container *c, int sig)
{
	const char *stop = cfg_str(c, "StopSignal");
	int stop_sig;
	struct st_error *err = NULL;
	if (!*stop || sig == SIGKILL)
		return true;
	if (st_container_signal_parse(stop, &stop_sig, &err) < 0) {
		st_error_free(err);
		return false;
	}
	return sig == stop_sig;
}

int st_container_kill(struct st_store *s, const struct st_container *c, int sig,
		      struct st_error **err)
{
	bool running, paused;
	if (check_paused(s, c, &running, &paused, err) < 0)
		return -1;
	if (!running)
		return st_err(err, ST_E_INVALID, "container %s is not running", st_container_id(c));
	st_autofree char *num = st_xasprintf("%d", sig);
	const char *args[] = { "kill", st_container_id(c), num, NULL };
	st_autoclose int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int code = runc(s, args, devnull, devnull, devnull, err);
	if (code < 0)
		return -1;
	/* runc refuses a container that has just exited: that is as good as killed. */
	if (code != 0 && (check_running(s, c, &running, err) < 0 || running))
		return running ? st_err(err, ST_E_RUNTIME,
					"runc could not send signal %d to container %s", sig,
					st_container_name(c))
			       : -1;
	if (code != 0 || !paused || !resumes(c, sig))
		return 0;
	struct st_error *rerr = NULL;
	if (freeze(s, c, false, &rerr) == 0)
		return 0;
	/* The signal may have ended it before the resume, which then had nothing to do: the
	 * runtime keeps it stopped until its supervisor has recorded the exit, a moment later. */
	for (int i = 0; i < 100; i++) {
		if (check_running(s, c, &running, err) < 0)
			break;
		if (!running) {
			st_error_free(rerr);
			return 0;
		}
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (!*err)
		*err = rerr;
	else
		st_error_free(rerr);
	return -1;
}

/* Wait until nobody supervises the container, 'timeout_ns' at most (negative: forever). */
static bool wait_unsupervised(const struct st_container *c, long long timeout_ns)
{
	for (long long waited = 0; container_supervised(c); waited += POLL_NS) {
		if (timeout_ns >= 0 && waited >= timeout_ns)
			return false;
		nap();
	}
	return true;
}

int st_container_stop(struct st_store *s, const struct st_container *c, int timeout,
		      struct st_error **err)
{
	if (timeout == ST_CONTAINER_STOP_TIMEOUT_DEFAULT) {
		const json_t *t = json_object_get(config_of(c), "StopTimeout");
		timeout = json_is_integer(t) ? (int)json_integer_value(t) : STOP_TIMEOUT;
	}
	bool running;
	if (check_running(s, c, &running, err) < 0)
		return -1;
	if (!running)
		return 0;
	int sig = SIGTERM;
	const char *stop = cfg_str(c, "StopSignal");
	if (*stop && st_container_signal_parse(stop, &sig, err) < 0)
		return st_err_wrap(err, "the image's STOPSIGNAL");
	struct st_error *kerr = NULL;
	if (st_container_kill(s, c, sig, &kerr) < 0)
		st_error_free(kerr); /* it may have exited meanwhile */
	if (wait_unsupervised(c, timeout < 0 ? -1 : (long long)timeout * 1000000000LL))
		return 0;
	if (st_container_kill(s, c, SIGKILL, &kerr) < 0)
		st_error_free(kerr);
	wait_unsupervised(c, -1);
	return 0;
}

int st_container_wait(struct st_store *s, const struct st_container *c, int *exit_code,
		      struct st_error **err)
{
	wait_unsupervised(c, -1);
	struct st_container_state st;
	if (st_container_state(s, c, &st, err) < 0)
		return -1;
	*exit_code = st.exit_code;
	st_container_state_release(&st);
	return 0;
}

/* ---- exec ------------------------------------------------------------------------------- */

/* exec -t: the terminal's output to strata's stdout only (an exec's output is not logged). */
static void on_output_plain(void *ctx, enum st_runtime_stream stream, const char *data, size_t len)
{
	const struct output *o = ctx;
	struct st_error *err = NULL;
	if (st_write_all(stream == ST_RUNTIME_STDOUT ? o->out_fd : o->err_fd, data, len, &err) < 0)
		st_error_free(err);
}

/*
 * `runc exec --tty` must detach to hand the terminal over: the process it leaves behind is
 * then an orphan, which becomes strata's child (a subreaper) so that its status can be had.
 * Its exit code, as runc()'s.
 */
static int exec_tty(struct st_store *s, const char *const *args, struct container_console *console,
		    const char *pid_file, int devnull, struct st_error **err)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return st_err_errno(err, "become a subreaper");
	if (container_console_start(console, err) < 0)
		return -1;
	int code = runc(s, args, devnull, 1, 2, err);
	struct st_buf b = ST_BUF_INIT;
	struct st_error *rerr = NULL;
	pid_t pid = 0;
	if (code == 0 && st_read_file(pid_file, &b, &rerr) == 0)
		pid = atoi(st_buf_str(&b));
	st_error_free(rerr);
	st_buf_release(&b);
	unlink(pid_file);
	if (code != 0 || pid <= 0)
		return code == 0
			   ? st_err(err, ST_E_RUNTIME, "runc exec left no pid in '%s'", pid_file)
			   : code;
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return st_err_errno(err, "wait for the exec'd process");
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int st_container_exec(struct st_store *s, const struct st_container *c,
		      const struct st_container_exec *o, int *exit_code, struct st_error **err)
{
	struct st_container_state st;
	if (st_container_state(s, c, &st, err) < 0)
		return -1;
	bool running = st.status == ST_CONTAINER_RUNNING;
	bool paused = st.paused;
	int pid = st.pid;
	st_container_state_release(&st);
	if (!running)
		return st_err(err, ST_E_INVALID, "container %s is not running", st_container_id(c));
	if (paused)
		return st_err(err, ST_E_INVALID,
			      "Container %s is paused, unpause the container before exec",
			      st_container_id(c));
	size_t n = 0;
	while (o->argv[n])
		n++;
	const char **args = st_xcalloc(n + 2 * o->n_env + 10, sizeof(*args));
	size_t k = 0;
	args[k++] = "exec";
	for (size_t i = 0; i < o->n_env; i++) {
		args[k++] = "--env";
		args[k++] = o->env[i];
	}
	st_autofree char *ids = NULL;
	if (o->user && *o->user) {
		/* Names resolve in the container's own files, seen through its first process. */
		st_autofree char *root = st_xasprintf("/proc/%d/root", pid);
		uid_t uid;
		gid_t gid;
		st_autofree gid_t *gids = NULL;
		size_t ngids = 0;
		if (st_runtime_resolve_user(root, o->user, &uid, &gid, &gids, &ngids, err) < 0) {
			free(args);
			return -1;
		}
		ids = st_xasprintf("%u:%u", (unsigned)uid, (unsigned)gid);
		args[k++] = "--user";
		args[k++] = ids;
	}
	if (o->workdir && *o->workdir) {
		args[k++] = "--cwd";
		args[k++] = o->workdir;
	}
	struct output out = { .log_fd = -1, .out_fd = 1, .err_fd = 2 };
	__attribute__((cleanup(container_console_freep))) struct container_console *console = NULL;
	st_autofree char *pid_file = NULL;
	if (o->tty) {
		if (container_console_new(o->interactive ? 0 : -1, 1, on_output_plain, &out,
					  &console, err) < 0) {
			free(args);
			return -1;
		}
		pid_file = st_xasprintf("%s/exec-%d.pid", c->dir, (int)getpid());
		args[k++] = "--tty";
		args[k++] = "--console-socket";
		args[k++] = container_console_socket(console);
		args[k++] = "--detach";
		args[k++] = "--pid-file";
		args[k++] = pid_file;
	}
	args[k++] = st_container_id(c);
	for (size_t i = 0; i < n; i++)
		args[k++] = o->argv[i];
	args[k] = NULL;
	st_autoclose int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int code;
	if (console)
		code = exec_tty(s, args, console, pid_file, devnull, err);
	else
		code = runc(s, args, o->interactive ? 0 : devnull, 1, 2, err);
	free(args);
	if (code < 0)
		return -1;
	*exit_code = code;
	return 0;
}
