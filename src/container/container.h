/*
 * container.h: containers made from images in the store, run daemonless as podman runs them.
 *
 * A container is an image's read-only layers plus a writable overlay upper dir of its own, and
 * a record saying how to run it (Docker's `inspect` JSON: Path, Args, Config, HostConfig,
 * Mounts, GraphDriver). Each lives in a directory of the store:
 *
 *   containers/<id>/config.json   the record, written once by create (atomically)
 *   containers/<id>/state.json    State (Status, ExitCode, StartedAt, ...), rewritten whole
 *   containers/<id>/lock          flock()ed by the process supervising the running container
 *   containers/<id>/init/         mount points of the runtime's files (Docker's "-init" layer)
 *   containers/<id>/upper, work   the overlay's upper and work dirs: the container's changes
 *   containers/<id>/merged        the overlay mount point, the rootfs
 *   containers/<id>/bundle/       the OCI bundle: config.json, hosts, resolv.conf, hostname
 *   containers/<id>/ctr.log       the output, as Docker's json-file log driver writes it
 *   containers/names/<name>       a symlink to <id>: names are unique by the link's creation
 *
 * A running container is watched by one process (strata itself in the foreground, or with -d a
 * small supervisor of its own, as podman's conmon) which holds the lock, keeps the log and
 * records the exit status. A supervisor that dies (even by SIGKILL) takes the container with it
 * (the runtime's monitor kills it) and drops the lock, so a record saying "running" without its
 * lock held is an exited container, never a phantom.
 */
#ifndef ST_CONTAINER_CONTAINER_H
#define ST_CONTAINER_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image.h"
#include "store/store.h"
#include "util/err.h"

struct st_container;

/* What `create` and `run` make a container of. Everything is borrowed. */
struct st_container_create {
	const char *image; /* as typed: a name, an id or an id prefix */
	const char *name;  /* NULL: one is made up, as Docker's "adjective_name" */
	char *const *cmd;  /* [COMMAND] [ARG...]: replaces the image's CMD when n_cmd > 0 */
	size_t n_cmd;
	const char *entrypoint; /* --entrypoint: replaces ENTRYPOINT ("" clears it) and CMD */
	char *const *env;	/* "K=V", over the image's ENV by name */
	size_t n_env;
	const char *workdir;  /* -w; NULL: the image's WORKDIR, else "/" */
	const char *user;     /* -u; NULL: the image's USER */
	const char *hostname; /* NULL: the id's first 12 characters */
	const char *network;  /* "default" (NULL), "none" or "host" */
	char *const *volumes; /* -v HOST:CTR[:ro|:rw], -v NAME:CTR[:ro|:rw] or -v CTR */
	size_t n_volumes;
	char *const *mounts; /* --mount type=bind|volume|tmpfs,source=,target=[,readonly] */
	size_t n_mounts;
	char *const *tmpfs; /* --tmpfs CTR[:OPTIONS] */
	size_t n_tmpfs;
	char *const *add_hosts; /* --add-host NAME:IP (IP may be host-gateway) */
	size_t n_add_hosts;
	char *const *publish; /* -p [IP:]HOSTPORT:CTRPORT[/tcp|/udp] */
	size_t n_publish;
	bool read_only;	  /* --read-only */
	bool auto_remove; /* --rm */
	bool interactive; /* -i: stdin is the container's */
	bool tty;	  /* -t: a pseudo-terminal (Config.Tty) */
	bool init;	  /* --init: tini as the first process, reaping and forwarding signals */
	const struct st_container_limits *limits; /* NULL: none of them */
	const struct st_container_health *health; /* NULL: the image's HEALTHCHECK */
	const struct st_platform *platform;	  /* --platform: the image must be of it */
};

/* --health-* and --no-healthcheck: each over the image's HEALTHCHECK; 0 or NULL: the image's. */
struct st_container_health {
	const char *cmd; /* --health-cmd, run by /bin/sh -c */
	int64_t interval_ns, timeout_ns, start_period_ns;
	int64_t retries;
	bool none; /* --no-healthcheck: no check, whatever the image says */
};

/*
 * What a container may use and do, Docker's HostConfig fields of the same names. Zero means
 * unset. The vectors are borrowed.
 */
struct st_container_limits {
	int64_t memory;	      /* --memory, bytes */
	int64_t memory_swap;  /* --memory-swap, bytes of memory and swap; -1: unlimited swap */
	int64_t nano_cpus;    /* --cpus, in billionths of a CPU */
	int64_t cpu_shares;   /* --cpu-shares */
	int64_t pids_limit;   /* --pids-limit; 0 or negative: unlimited */
	char *const *cap_add; /* --cap-add: "ALL", or names with or without "CAP_" */
	size_t n_cap_add;
	char *const *cap_drop; /* --cap-drop, likewise */
	size_t n_cap_drop;
	char *const *security_opt; /* --security-opt: no-new-privileges[=true|false] */
	size_t n_security_opt;
	const char *stop_signal; /* --stop-signal: over the image's STOPSIGNAL */
	int stop_timeout;	 /* --stop-timeout, seconds; used when has_stop_timeout */
	bool has_stop_timeout;
};

/*
 * Create a container from 'o' (nothing runs). *out is new: st_container_free().
 * ST_E_NOTFOUND "No such image: X"; ST_E_EXISTS with Docker's message for a name in use;
 * ST_E_INVALID naming the flag for a bad -v, --mount, --tmpfs, --add-host, --network, limit,
 * capability or security option, or a limit whose cgroup controller the host lacks; and "No
 * command specified" when neither the image nor 'o' gives one. The volumes it names are
 * created if missing, and an anonymous one for each of the image's VOLUMEs that no -v or
 * --mount covers; a new volume is filled from the image at its first start (Docker's copy).
 */
int st_container_create(struct st_store *s, const struct st_container_create *o,
			struct st_container **out, struct st_error **err);

/*
 * Find a container by name, full id or unique id prefix, as Docker does. *out is new.
 * ST_E_NOTFOUND "No such container: X".
 */
int st_container_find(struct st_store *s, const char *name, struct st_container **out,
		      struct st_error **err);

/* Every container, newest first: a new array of *n new containers (st_container_list_free()). */
int st_container_list(struct st_store *s, struct st_container ***out, size_t *n,
		      struct st_error **err);
void st_container_list_free(struct st_container **v, size_t n);

void st_container_free(struct st_container *c);
void st_container_freep(struct st_container **c);

/* Borrowed, valid while 'c' lives. */
const char *st_container_id(const struct st_container *c);
const char *st_container_name(const struct st_container *c);  /* without Docker's leading '/' */
const char *st_container_image(const struct st_container *c); /* as given to create */
const char *st_container_image_id(const struct st_container *c);
const char *st_container_created(const struct st_container *c); /* RFC 3339 */
/* The published ports as `docker ps` shows them: "127.0.0.1:8080->80/tcp, ...". New. */
char *st_container_ports(const struct st_container *c);
/* Whether it was created with a pseudo-terminal (-t). */
bool st_container_tty(const struct st_container *c);
/* Path and Args joined by spaces, as `docker ps` shows COMMAND. New. */
char *st_container_command(const struct st_container *c);

enum st_container_status {
	ST_CONTAINER_CREATED,
	ST_CONTAINER_RUNNING,
	ST_CONTAINER_EXITED,
};

struct st_container_state {
	enum st_container_status status;
	int exit_code;
	int pid;	   /* the container's first process while running, else 0 */
	bool paused;	   /* running, its processes frozen (pause) */
	char *started_at;  /* RFC 3339, NULL if never started; owned */
	char *finished_at; /* RFC 3339, NULL if never finished; owned */
	char *error;	   /* why it could not start or ended abnormally, or NULL; owned */
	/* a running container's health: "starting", "healthy", "unhealthy"; NULL without a
	 * health check; owned */
	char *health;
};
/* Docker's name of a status: "created", "running", "exited". */
const char *st_container_status_name(enum st_container_status status);

/*
 * The state as it is now. A record that says "running" whose supervisor is gone is made
 * "exited" (exit code 137, as a killed process) here, and the runtime's leftovers deleted.
 * *st is filled with new strings: st_container_state_release().
 */
int st_container_state(struct st_store *s, const struct st_container *c,
		       struct st_container_state *st, struct st_error **err);
void st_container_state_release(struct st_container_state *st);

/* Docker's `inspect` object of the container, its State as st_container_state() finds it (with
 * State.Health {Status, FailingStreak, Log} when it has a health check). New. */
json_t *st_container_inspect(struct st_store *s, const struct st_container *c,
			     struct st_error **err);

/* Where the container's output goes in the foreground, besides its log. */
struct st_container_io {
	int out_fd, err_fd; /* -1: nowhere */
	bool attach_stdin;  /* the container reads strata's stdin (-i) */
};

/*
 * Run the container in the calling process and wait for it: the foreground `run` and `start
 * -a`. The calling process enters a mount namespace of its own (st_snapshot_private_ns()):
 * call it before starting threads. *exit_code is the container process's exit status. Start
 * failures are ST_E_RUNTIME with the runtime's message, and *exit_code 127 for a missing
 * command, 126 for one that cannot be executed, 125 for any other (Docker's codes), also
 * when -1 is returned. ST_E_BUSY when it is already running. With --rm, the container is
 * removed once it exits.
 */
int st_container_run(struct st_store *s, const struct st_container *c,
		     const struct st_container_io *io, int *exit_code, struct st_error **err);

/*
 * Start the container under a supervisor process of its own (setsid, stdio on /dev/null) and
 * return once the container runs (or has already exited): `run -d` and `start`. Start
 * failures are reported as st_container_run() reports them, *exit_code set likewise.
 */
int st_container_start(struct st_store *s, const struct st_container *c, int *exit_code,
		       struct st_error **err);

/*
 * `docker rename`: the container is called 'name' from now on ('c' keeps the old one). ST_E_EXISTS
 * with Docker's message for a name in use; ST_E_INVALID for a bad name or the current one.
 */
int st_container_rename(struct st_store *s, const struct st_container *c, const char *name,
			struct st_error **err);

/* A signal as Docker takes it: "SIGTERM", "TERM" or "15". ST_E_INVALID otherwise. */
int st_container_signal_parse(const char *s, int *sig, struct st_error **err);

/*
 * Send 'sig' to the container's first process. ST_E_INVALID "container X is not running".
 * A paused container is resumed after the stop signal or SIGKILL so that it gets them, as
 * Docker does; other signals wait for unpause.
 */
int st_container_kill(struct st_store *s, const struct st_container *c, int sig,
		      struct st_error **err);

/* stop's 'timeout' when none is given: the container's --stop-timeout, else Docker's 10 s. */
#define ST_CONTAINER_STOP_TIMEOUT_DEFAULT (-2)

/*
 * `docker stop`: the stop signal (--stop-signal, else the image's STOPSIGNAL, else SIGTERM),
 * then SIGKILL after 'timeout' seconds (-1: wait forever) if it still runs; returns once it
 * has exited. A container that is not running is not an error.
 */
int st_container_stop(struct st_store *s, const struct st_container *c, int timeout,
		      struct st_error **err);

/*
 * `docker pause` and `unpause`: freeze and thaw the container's processes (the runtime's
 * pause and resume, through the freezer cgroup). ST_E_INVALID with Docker's message for a
 * container that is not running, already paused or not paused.
 */
int st_container_pause(struct st_store *s, const struct st_container *c, struct st_error **err);
int st_container_unpause(struct st_store *s, const struct st_container *c, struct st_error **err);

/* Wait until the container is not running; *exit_code is its exit code then. */
int st_container_wait(struct st_store *s, const struct st_container *c, int *exit_code,
		      struct st_error **err);

enum st_container_rm_flags {
	ST_CONTAINER_RM_FORCE = 1 << 0,	  /* kill a running container first */
	ST_CONTAINER_RM_VOLUMES = 1 << 1, /* and its anonymous volumes (rm -v) */
};
/*
 * Remove the container: its record, name, writable layer and log. A running one takes
 * ST_CONTAINER_RM_FORCE (ST_E_BUSY with Docker's message without it). A container run with
 * --rm removes its anonymous volumes with itself, as with ST_CONTAINER_RM_VOLUMES.
 */
int st_container_remove(struct st_store *s, const struct st_container *c, unsigned flags,
			struct st_error **err);

struct st_container_check_report {
	char **problems; /* one line each: what is wrong and where */
	size_t n_problems;
	size_t removed; /* leftovers removed (ST_CONTAINER_CHECK_REPAIR) */
};
enum st_container_check_flags {
	ST_CONTAINER_CHECK_REPAIR = 1 << 0, /* remove what a create or rm killed half-way left */
};
/*
 * `system check` of the containers: a record that cannot be read, or that names an image not
 * in the store or a layer directory that is gone, is a problem. What a create or an rm killed
 * half-way left (a directory without its record, a ".removing-" one, a name naming no
 * container) is a problem too, or with ST_CONTAINER_CHECK_REPAIR removed and counted. Safe
 * while other processes create and remove containers. *r: st_container_check_report_release().
 */
int st_container_check(struct st_store *s, unsigned flags, struct st_container_check_report *r,
		       struct st_error **err);
void st_container_check_report_release(struct st_container_check_report *r);

/* Whether a container was created from image 'image_id' ("sha256:..."). */
int st_container_image_used(struct st_store *s, const char *image_id, bool *used,
			    struct st_error **err);

/*
 * `image prune` that keeps what containers use: st_store_image_prune() ('flags' are its)
 * but for the images a container was created from, which stay. *ids: st_store_strings_free().
 */
int st_container_image_prune(struct st_store *s, unsigned flags, char ***ids, size_t *n,
			     struct st_error **err);

/* One line of the log: the bytes as the container wrote them (with the newline, if any). */
struct st_container_log_line {
	const char *stream; /* "stdout" or "stderr" */
	const char *time;   /* RFC 3339 with nanoseconds, as Docker writes it */
	const char *log;
	size_t len;
};
typedef int (*st_container_log_fn)(void *ctx, const struct st_container_log_line *line,
				   struct st_error **err);

struct st_container_logs_opts {
	bool follow;  /* keep reading until the container stops */
	int64_t tail; /* the last 'tail' lines only; negative: all */
};
/* Call 'fn' for each line of the container's log, in order. */
int st_container_logs(struct st_store *s, const struct st_container *c,
		      const struct st_container_logs_opts *o, st_container_log_fn fn, void *ctx,
		      struct st_error **err);

/* The bytes of the writable layer's files, as `docker ps -s` and `system df` count them. */
int st_container_size(const struct st_container *c, uint64_t *bytes, struct st_error **err);

/* `docker diff`: 'A' added, 'C' changed, 'D' deleted, with the absolute path. */
typedef int (*st_container_change_fn)(void *ctx, char kind, const char *path,
				      struct st_error **err);
/* The changes of the writable layer against the image, sorted by path. */
int st_container_diff(struct st_store *s, const struct st_container *c, st_container_change_fn fn,
		      void *ctx, struct st_error **err);

/*
 * The container's merged filesystem to 'fd' as an uncompressed tar. The view is a read-only
 * overlay mount: call st_snapshot_private_ns() first, so that it dies with the process.
 */
int st_container_export(struct st_store *s, const struct st_container *c, int fd,
			struct st_error **err);

enum st_container_cp_flags {
	ST_CONTAINER_CP_ARCHIVE = 1 << 0, /* -a: keep the source's uid/gid, else the copier's */
};
/*
 * `docker cp CONTAINER:SRC DEST`: 'src' in the container (a running or a stopped one) copied
 * to the host path 'dest' by Docker's rules (into an existing directory, SRC/. for a
 * directory's contents, a trailing '/' for a directory), or with 'dest' NULL as an uncompressed
 * tar to 'fd'. Symlinks in the container resolve inside it. A stopped container is mounted:
 * call st_snapshot_private_ns() first. ST_E_NOTFOUND when 'src' is not there.
 */
int st_container_cp_from(struct st_store *s, const struct st_container *c, const char *src,
			 const char *dest, int fd, unsigned flags, struct st_error **err);
/*
 * `docker cp SRC CONTAINER:DEST`: the host path 'src' copied to 'dest' in the container by the
 * same rules, or with 'src' NULL a tar read from 'fd' unpacked into the directory 'dest'.
 * Writes go to the container's writable layer, as `diff` shows them.
 */
int st_container_cp_to(struct st_store *s, const struct st_container *c, const char *src, int fd,
		       const char *dest, unsigned flags, struct st_error **err);

/* What `commit` makes. Everything is borrowed. */
struct st_container_commit {
	struct st_image_config *config; /* st_container_commit_config(), --change applied */
	const char *ref;		/* a normalised name for the image, or NULL */
	const char *message;		/* -m, or NULL */
	const char *author;		/* -a, or NULL */
};
/*
 * The config a commit starts from, as Docker makes it: the image's, with the container's
 * Entrypoint, Cmd, Env, User, WorkingDir. *out is new: st_image_config_free().
 */
int st_container_commit_config(struct st_store *s, const struct st_container *c,
			       struct st_image_config **out, struct st_error **err);
/* The writable layer as a new layer over the image's (deletions as OCI whiteouts). */
int st_container_commit(struct st_store *s, const struct st_container *c,
			const struct st_container_commit *o, struct st_digest *id,
			struct st_error **err);

/*
 * Run 'argv' in the running container (`runc exec`) with strata's stdio and wait for it;
 * *exit_code is its exit status. 'env' ("K=V", n_env), 'user' and 'workdir' may be NULL/0.
 */
struct st_container_exec {
	char *const *argv; /* NULL-terminated */
	char *const *env;
	size_t n_env;
	const char *user;
	const char *workdir;
	bool interactive;
	bool tty; /* -t: a pseudo-terminal, relayed to strata's stdin (-i) and stdout */
};
int st_container_exec(struct st_store *s, const struct st_container *c,
		      const struct st_container_exec *o, int *exit_code, struct st_error **err);

#endif
