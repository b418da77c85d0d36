/* runtime.h: OCI runtime-spec generation (config.json) and running a bundle with runc or crun. */
#ifndef ST_RUNTIME_RUNTIME_H
#define ST_RUNTIME_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

enum st_runtime_net {
	ST_RUNTIME_NET_NONE,	/* a new network namespace: only lo, brought up by the runtime */
	ST_RUNTIME_NET_HOST,	/* the host's network namespace */
	ST_RUNTIME_NET_DEFAULT, /* the namespace spec->netns names (st_runtime_netns_new()) */
};

enum st_runtime_mount_type {
	ST_RUNTIME_MOUNT_BIND,	/* bind a host file or dir ("rbind") */
	ST_RUNTIME_MOUNT_TMPFS, /* a new tmpfs (nosuid, nodev) */
};

enum st_runtime_mount_flags {
	ST_RUNTIME_MOUNT_READONLY = 1 << 0,
};

/* One extra mount; all strings borrowed. */
struct st_runtime_mount {
	enum st_runtime_mount_type type;
	const char *source;	 /* host path for BIND; ignored for TMPFS */
	const char *destination; /* absolute path inside the container */
	unsigned flags;		 /* enum st_runtime_mount_flags */
	const char *options;	 /* extra comma-separated options ("size=64m,mode=1777"), or NULL */
};

/* One resource limit (Docker's --ulimit): 'name' as setrlimit(2) names it without RLIMIT_
 * and lower-case ("nofile", "nproc"); -1 is unlimited. */
struct st_runtime_rlimit {
	const char *name;
	int64_t soft, hard;
};

/* The names st_runtime_rlimit takes (Docker's list), NULL-terminated. */
extern const char *const st_runtime_rlimit_names[];

/* A container's cgroup limits, the spec's linux.resources; 0 leaves a kind unlimited. */
struct st_runtime_resources {
	int64_t memory;	     /* bytes */
	int64_t memory_swap; /* bytes of memory and swap together; -1: unlimited swap */
	uint64_t cpu_shares; /* relative weight (1024: one share) */
	int64_t cpu_quota;   /* microseconds of CPU time per cpu_period */
	uint64_t cpu_period; /* microseconds */
	int64_t pids_limit;  /* processes and threads in the container */
};

/* The capability names the spec takes (linux/capability.h's, by number), NULL-terminated. */
extern const char *const st_runtime_caps_all[];
/* Docker's default capability set, NULL-terminated. */
extern const char *const st_runtime_caps_default[];

/*
 * What to run and how. All pointers are borrowed. The defaults (zero values) are those of a
 * Dockerfile RUN step: namespaces mount, PID, IPC, UTS and (NET_NONE) network; /proc, a tmpfs
 * /dev (the runtime creates null, zero, full, random, urandom, tty), /dev/pts, /dev/shm,
 * /dev/mqueue, read-only /sys and /sys/fs/cgroup; Docker's default capabilities (effective
 * and permitted only for uid 0, as Docker does); no-new-privileges off; RLIMIT_NOFILE at
 * min(1048576, the current hard limit); Docker's masked and read-only /proc and /sys paths.
 *
 * Files such as /etc/hosts, /etc/resolv.conf and /etc/hostname should be BIND mounts of files
 * kept outside the rootfs, so that they never end up in the step's layer. The runtime creates
 * a missing mount point in the rootfs (an empty file or dir): see st_runtime_placeholders_find().
 */
struct st_runtime_spec {
	const char *rootfs;	 /* absolute path */
	bool readonly_rootfs;	 /* false for build steps */
	const char *const *args; /* argv, NULL-terminated, at least one */
	const char *const *env;	 /* "K=V", NULL-terminated; NULL for none */
	const char *cwd;	 /* absolute; NULL: "/" */
	uid_t uid;
	gid_t gid;
	const gid_t *additional_gids;
	size_t n_additional_gids;
	const char *hostname; /* NULL: the runtime leaves the UTS namespace's default */
	enum st_runtime_net net;
	const char *netns; /* NET_DEFAULT: the namespace to join, st_runtime_netns_path() */
	const struct st_runtime_mount *mounts; /* applied after the standard ones, in order */
	size_t n_mounts;
	uint64_t shm_size; /* bytes of the /dev/shm tmpfs; 0: Docker's 64 MiB */
	const struct st_runtime_rlimit *rlimits; /* replace the defaults of the same name */
	size_t n_rlimits;
	/* BuildKit's RUN --security=insecure: every capability strata holds, no masked or
	 * read-only paths, /sys and cgroups writable, every device allowed. */
	bool insecure;
	const char *cgroup_parent; /* the container's cgroup is made below it; NULL: none */
	const char *id;		   /* the container's id, naming its cgroup below cgroup_parent */
	/* A pseudo-terminal for the process (st_runtime_opts.console_socket), of this size at
	 * start when both are set. */
	bool terminal;
	unsigned short console_rows, console_cols;
	/* Docker's --cap-add/--cap-drop result: the capability names ("CAP_CHOWN"), NULL-
	 * terminated (an empty list drops them all); NULL: Docker's default set. */
	const char *const *caps;
	bool no_new_privileges; /* Docker's --security-opt no-new-privileges */
	const struct st_runtime_resources *resources; /* cgroup limits; NULL: none */
};

/*
 * The spec as config.json text (OCI runtime-spec 1.0.2). New: the caller frees.
 * ST_E_INVALID for a spec that cannot work (no args, relative rootfs, cwd or destination).
 */
char *st_runtime_spec_json(const struct st_runtime_spec *spec, struct st_error **err);

/* Write <bundle>/config.json (atomically; 'bundle' is created if missing, outside the rootfs). */
int st_runtime_spec_write(const struct st_runtime_spec *spec, const char *bundle,
			  struct st_error **err);

/*
 * Resolve a Dockerfile USER string against <rootfs>/etc/passwd and <rootfs>/etc/group, with
 * Docker's rules: "name", "uid", "name:group", "uid:gid", "name:gid", "uid:group".
 * - A numeric uid needs no passwd entry (gid then defaults to 0, or to the entry's gid if
 *   there is one); a numeric gid needs no group entry.
 * - A name not in passwd is ST_E_NOTFOUND "unable to find user app: no matching entries in
 *   passwd file"; likewise for a group name.
 * - *gids are the groups that list the user as a member in /etc/group (none when a group
 *   was given explicitly, as Docker does); new, free() it; NULL when *n_gids is 0.
 * The files are read from inside 'rootfs' only: symlinks are resolved as if 'rootfs' were
 * the root, so a link pointing outside is never followed out of it. A rootfs without the
 * files resolves numeric ids only.
 */
int st_runtime_resolve_user(const char *rootfs, const char *user, uid_t *uid, gid_t *gid,
			    gid_t **gids, size_t *n_gids, struct st_error **err);

/*
 * Placeholders: mount points the runtime will create in the rootfs (as empty files or dirs)
 * because they are missing there: /proc, /dev, /sys on a scratch rootfs, /etc/hosts in an
 * image without one, the destinations of extra mounts. In a build step they would end up in the
 * layer, so: find them before the run, remove them after (through the still-mounted rootfs). Paths
 * are absolute inside the rootfs and owned by the struct.
 */
struct st_runtime_placeholders {
	char **paths; /* the first missing component of each destination */
	size_t n;
};

/* Before the run. Looks up paths inside spec->rootfs only (symlinks stay inside). */
int st_runtime_placeholders_find(const struct st_runtime_spec *spec,
				 struct st_runtime_placeholders *placeholders,
				 struct st_error **err);
/* After the run: remove each placeholder that is still an empty file or a tree of empty dirs
 * and files; one that the process filled is kept (it is then part of the step's result). */
int st_runtime_placeholders_remove(const char *rootfs,
				   const struct st_runtime_placeholders *placeholders,
				   struct st_error **err);
void st_runtime_placeholders_release(struct st_runtime_placeholders *placeholders);
void st_runtime_placeholders_releasep(struct st_runtime_placeholders *placeholders);
#define st_auto_runtime_placeholders __attribute__((cleanup(st_runtime_placeholders_releasep)))

/*
 * A network namespace as Docker's default bridge gives a container: its own loopback, one
 * interface (10.0.2.100/24) and a default route through slirp4netns to the host's network,
 * with a DNS forwarder at ST_RUNTIME_NETNS_DNS; the host's own loopback is out of reach.
 * It lasts until st_runtime_netns_free(), or until strata dies. ST_E_RUNTIME when slirp4netns
 * is missing or fails (its message quoted). See net.c.
 */
struct st_runtime_netns;
#define ST_RUNTIME_NETNS_DNS "10.0.2.3"
int st_runtime_netns_new(struct st_runtime_netns **out, struct st_error **err);
/*
 * The same, with slirp4netns's API socket at 'api_socket' (a path that must not exist yet, in a
 * directory of the caller's), for st_runtime_netns_forward().
 */
int st_runtime_netns_new_api(const char *api_socket, struct st_runtime_netns **out,
			     struct st_error **err);
/*
 * Forward 'host_ip':'host_port' on the host to 'guest_port' of the namespace ("tcp" or "udp"
 * 'proto'), through slirp4netns (Docker's -p). ST_E_INVALID without an API socket;
 * ST_E_RUNTIME with slirp4netns's answer when it refuses (a port already taken).
 */
int st_runtime_netns_forward(struct st_runtime_netns *ns, const char *proto, const char *host_ip,
			     int host_port, int guest_port, struct st_error **err);
/* The namespace's own address, where forwarded ports arrive. */
#define ST_RUNTIME_NETNS_GUEST "10.0.2.100"
/* Borrowed: "/proc/<pid>/ns/net", for st_runtime_spec.netns. */
const char *st_runtime_netns_path(const struct st_runtime_netns *ns);
void st_runtime_netns_free(struct st_runtime_netns *ns);
void st_runtime_netns_freep(struct st_runtime_netns **ns);

/*
 * A step's /etc/resolv.conf from the host's text 'host', appended to 'out': the host's as is
 * for NET_HOST; nothing for NET_NONE (there is no one to ask); for NET_DEFAULT, the host's
 * search and options lines with ST_RUNTIME_NETNS_DNS as the only nameserver.
 */
void st_runtime_resolv_conf(enum st_runtime_net net, const char *host, struct st_buf *out);

/*
 * *ip (new) is where a step reaches the host, what Docker's "host-gateway" stands for: the
 * host's first IPv4 address that is up and not loopback. ST_E_NOTFOUND when it has none.
 */
int st_runtime_host_address(char **ip, struct st_error **err);

/* New: the path of the executable 'name' in $PATH or the usual bin and sbin dirs, or NULL. */
char *st_runtime_search_path(const char *name);

/* Which stream a chunk of output came from. */
enum st_runtime_stream {
	ST_RUNTIME_STDOUT = 1,
	ST_RUNTIME_STDERR = 2,
};

/* Called with chunks of the container's output as they come (not split at lines). */
typedef void (*st_runtime_output_fn)(void *ctx, enum st_runtime_stream stream, const char *data,
				     size_t len);

struct st_runtime_opts {
	const char *runtime; /* "runc" (NULL means "runc"), "crun", or a path to an OCI runtime */
	const char
	    *state_root; /* the runtime's --root, e.g. under the strata store; NULL: its default */
	/* st_runtime_run(): the runtime writes the container's pid there once it is created (its
	 * --pid-file), so another process can tell a started container from one still starting */
	const char *pid_file;
	/* st_runtime_run(): the container reads strata's stdin, not /dev/null */
	bool inherit_stdin;
	/* st_runtime_run() of a spec with a terminal: the unix socket the runtime sends the
	 * pseudo-terminal's master to (its --console-socket). Needs pid_file. */
	const char *console_socket;
	/* st_runtime_run(): an exited container is kept (with its cgroup, to read what it
	 * counted) until st_runtime_delete(); on failure it is deleted all the same */
	bool keep;
};

/*
 * Run the container 'id' from 'bundle' in the foreground (`<runtime> --root R run --bundle B
 * ID`) with stdin from /dev/null (or strata's, rt->inherit_stdin) and stdout/stderr through pipes
 * to 'out' (may be NULL), and wait for it. On success *exit_code is the container process's exit
 * status (128 + signal if it was killed). Errors, all ST_E_RUNTIME:
 * - "runtime 'X' not found" when the binary is missing or not executable;
 * - "runtime 'X' failed to start: <its error or stderr tail>" when the runtime failed before
 *   the process ran (a bad spec, a missing executable in the rootfs, cgroup trouble), with a
 *   hint for crun on cgroups in hybrid mode.
 * With rt->console_socket the container's stdio is the terminal the runtime sends there (the
 * caller accepts it), and the pipes carry the runtime's own output only.
 * The container is deleted (`delete -f`) on every failure path. If the calling process dies,
 * a small monitor process kills and deletes the container (see runtime.c).
 * 'id' must match [A-Za-z0-9_.+-]+ (ST_E_INVALID).
 */
int st_runtime_run(const struct st_runtime_opts *rt, const char *bundle, const char *id,
		   st_runtime_output_fn out, void *out_ctx, int *exit_code, struct st_error **err);

/*
 * Kill (SIGKILL) and delete container 'id' if it exists; a container that does not exist is
 * not an error. For cleaning up after a crash: the build engine can call it for the ids it
 * finds recorded as running.
 */
int st_runtime_delete(const struct st_runtime_opts *rt, const char *id, struct st_error **err);

/*
 * The ids of the containers the runtime knows in rt->state_root (which must be set: the
 * runtime's default root is shared with everything else on the host). Read from the state
 * root's entries, one dir per container, as runc and crun keep them. A missing state root
 * has no containers. *ids is a new vector of new strings (free each, then the vector).
 */
int st_runtime_list(const struct st_runtime_opts *rt, char ***ids, size_t *n,
		    struct st_error **err);

#endif
