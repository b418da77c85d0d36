/* internal.h: what the container module's files share, not part of its API. */
#ifndef ST_CONTAINER_INTERNAL_H
#define ST_CONTAINER_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "container/container.h"
#include "runtime/runtime.h"

struct st_container {
	char *dir;   /* containers/<id> */
	json_t *rec; /* config.json: Docker's inspect object without State */
};

/* New: <root>/containers. */
char *container_base(struct st_store *s);
/* New: <container dir>/<name>. */
char *container_path(const struct st_container *c, const char *name);
/* New: now, RFC 3339 with nanoseconds. */
char *container_now(void);
/* New: the runtime's --root for containers. */
char *container_state_root(struct st_store *s);

/* The container's lock file, opened (not locked): an fd, or -1 with *err set. */
int container_lock_open(const struct st_container *c, struct st_error **err);
/* Whether a supervisor holds the lock now. */
bool container_supervised(const struct st_container *c);

struct container_state_change {
	enum st_container_status status;
	int exit_code;
	const char *error; /* NULL: none */
	bool started;	   /* StartedAt = now */
	bool finished;	   /* FinishedAt = now */
	int supervisor;	   /* the supervising process, podman's ConmonPid (0 when not running) */
	bool oom_killed;   /* the kernel's OOM killer ended it */
};
/* Rewrite state.json (atomically) with 'ch' over what it says. */
int container_state_write(const struct st_container *c, const struct container_state_change *ch,
			  struct st_error **err);

/* Set Paused in state.json (atomically), keeping the rest. */
int container_state_set_paused(const struct st_container *c, bool paused, struct st_error **err);

/* `runc delete -f` of the container, errors ignored (it may not exist). */
void container_runtime_delete(struct st_store *s, const struct st_container *c);
/* Remove the container's directory and name (it must not run). */
int container_remove_dir(struct st_store *s, const struct st_container *c, struct st_error **err);

/* Add the bytes of the regular files under 'dir' (none if it is missing) to *bytes. */
int container_du(const char *dir, uint64_t *bytes, struct st_error **err);

/* Remove the anonymous volumes of 'rec''s Mounts, what nothing else uses of them (errors are
 * ignored: a volume another container uses stays, as Docker leaves it). */
void container_remove_anonymous(struct st_store *s, const json_t *rec);
/* In the supervisor, the container's rootfs mounted at 'merged': fill each empty volume of
 * its Mounts with what the image has at its destination, as Docker copies it. */
int container_volumes_fill(const struct st_container *c, const char *merged, struct st_error **err);

/* The layers below the writable one, top first (the init layer, then the image's), from the
 * record's GraphDriver.LowerDir. New vector: st_strv_free(). */
char **container_lowers(const struct st_container *c, size_t *n);

/*
 * A container's pseudo-terminal (console.c): a unix socket for the runtime's --console-socket,
 * then a thread that relays between the master it receives and the caller: what it reads
 * from 'in_fd' (-1: nothing) goes to the terminal, the terminal's output to 'out' as
 * ST_RUNTIME_STDOUT (from the relay's thread), and 'tty_fd''s size (when it is a terminal)
 * to the container's at start and on SIGWINCH. *con is new: container_console_free().
 */
struct container_console;
int container_console_new(int in_fd, int tty_fd, st_runtime_output_fn out, void *ctx,
			  struct container_console **con, struct st_error **err);
/* Borrowed: the socket's path. */
const char *container_console_socket(const struct container_console *con);
/* The size of the host terminal, 0 and 0 without one. */
void container_console_size(const struct container_console *con, unsigned short *rows,
			    unsigned short *cols);
/* Start relaying; 'in_fd', if a terminal, is in raw mode until container_console_free(). */
int container_console_start(struct container_console *con, struct st_error **err);
/* Once the runtime returned: relay what the terminal still has, stop, restore the host
 * terminal and remove the socket. */
void container_console_free(struct container_console *con);
void container_console_freep(struct container_console **con);

/* limits.c */
struct st_runtime_resources;
/* Check 'l' (NULL: none) and keep it in the record's HostConfig and Config, as Docker does. */
int container_limits_record(const struct st_container_limits *l, json_t *host_config,
			    json_t *config, struct st_error **err);
/* The capabilities --cap-add/--cap-drop leave, a new NULL-terminated vector of *n, or NULL
 * (Docker's defaults) when neither was given. */
char **container_caps(const struct st_container *c, size_t *n);
bool container_no_new_privileges(const struct st_container *c);
/* The cgroup limits of the record; whether there is any. */
bool container_resources(const struct st_container *c, struct st_runtime_resources *r);
/* Whether the kernel's OOM killer killed a process of the (exited, kept) container 'id'. */
bool container_oom_killed(const char *id);

/* health.c */
/* Keep the check of 'h' (NULL: no flags) over the image's 'img' (NULL: none) in 'config'. */
int container_health_record(const struct st_container_health *h,
			    const struct st_image_healthcheck *img, json_t *config,
			    struct st_error **err);
/* Fork the process that runs the container's health check on its schedule: its pid, or 0 when
 * the container has no check. It waits for the container to run. */
pid_t container_health_start(struct st_store *s, const struct st_container *c);
/* Kill and reap what container_health_start() started (0: nothing). */
void container_health_stop(pid_t pid);
/* State.Health as the last check left it, or NULL when the container has no check. New. */
json_t *container_health_read(const struct st_container *c);

#endif
