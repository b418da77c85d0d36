/* run.h: the flags `run` and `create` share (run.c). */
#ifndef ST_CLI_RUN_H
#define ST_CLI_RUN_H

#include <stdbool.h>

#include "cli.h"
#include "container/container.h"

struct run_flags {
	struct st_container_create create;
	struct st_container_limits limits;
	struct st_container_health health;
	struct st_platform platform;
	const char *pull; /* --pull: "missing", "always" or "never" (NULL) */
	bool detach;
	/* what the vectors of 'create' and 'limits' point into: owned */
	char **env, **volumes, **mounts, **tmpfs, **hosts, **publish;
	char **cap_add, **cap_drop, **security_opt;
};

/* The long options run_limits_flag() takes (run_opts.c), besides -m and -c: limits,
 * privileges, stop settings and the health check. */
enum {
	RUN_OPT_MEMORY_SWAP = 0x200,
	RUN_OPT_CPUS,
	RUN_OPT_PIDS_LIMIT,
	RUN_OPT_CAP_ADD,
	RUN_OPT_CAP_DROP,
	RUN_OPT_SECURITY_OPT,
	RUN_OPT_STOP_SIGNAL,
	RUN_OPT_STOP_TIMEOUT,
	RUN_OPT_HEALTH_CMD,
	RUN_OPT_HEALTH_INTERVAL,
	RUN_OPT_HEALTH_TIMEOUT,
	RUN_OPT_HEALTH_START_PERIOD,
	RUN_OPT_HEALTH_RETRIES,
	RUN_OPT_NO_HEALTHCHECK,
	RUN_OPT_PULL,
	RUN_OPT_PLATFORM,
};
#define RUN_LIMITS_LONGOPTS                                                                        \
	{ "memory", required_argument, NULL, 'm' },                                                \
	    { "memory-swap", required_argument, NULL, RUN_OPT_MEMORY_SWAP },                       \
	    { "cpus", required_argument, NULL, RUN_OPT_CPUS },                                     \
	    { "cpu-shares", required_argument, NULL, 'c' },                                        \
	    { "pids-limit", required_argument, NULL, RUN_OPT_PIDS_LIMIT },                         \
	    { "cap-add", required_argument, NULL, RUN_OPT_CAP_ADD },                               \
	    { "cap-drop", required_argument, NULL, RUN_OPT_CAP_DROP },                             \
	    { "security-opt", required_argument, NULL, RUN_OPT_SECURITY_OPT },                     \
	    { "stop-signal", required_argument, NULL, RUN_OPT_STOP_SIGNAL },                       \
	    { "stop-timeout", required_argument, NULL, RUN_OPT_STOP_TIMEOUT },                     \
	    { "health-cmd", required_argument, NULL, RUN_OPT_HEALTH_CMD },                         \
	    { "health-interval", required_argument, NULL, RUN_OPT_HEALTH_INTERVAL },               \
	    { "health-timeout", required_argument, NULL, RUN_OPT_HEALTH_TIMEOUT },                 \
	    { "health-start-period", required_argument, NULL, RUN_OPT_HEALTH_START_PERIOD },       \
	    { "health-retries", required_argument, NULL, RUN_OPT_HEALTH_RETRIES },                 \
	    { "no-healthcheck", no_argument, NULL, RUN_OPT_NO_HEALTHCHECK },                       \
	    { "pull", required_argument, NULL, RUN_OPT_PULL },                                     \
	{                                                                                          \
		"platform", required_argument, NULL, RUN_OPT_PLATFORM                              \
	}
/* Their --help lines. */
extern const char run_limits_text[];
/* Apply getopt's 'c' and its 'arg' when it is one of them: 1 if it was, 0 if not, -1 on a bad
 * value. */
int run_limits_flag(int c, const char *arg, struct run_flags *f, struct st_error **err);
/* After the flags: point f->create at the limits. */
void run_limits_finish(struct run_flags *f);
void run_limits_release(struct run_flags *f);
/* --pull: pull the image first when asked to ("always", or "missing" and not in the store),
 * with `pull`'s progress on stderr. */
int run_pull(struct st_cli *cli, struct run_flags *f, struct st_error **err);

/*
 * Parse `run` (with_run: -d too) or `create` flags and the IMAGE [COMMAND] [ARG...] after
 * them; 'verb' names the command in messages. 1 when --help was printed.
 */
int run_flags_parse(struct st_cli *cli, const char *verb, bool with_run, int argc, char **argv,
		    struct run_flags *f, struct st_error **err);
void run_flags_release(struct run_flags *f);

/* Print the error as main.c would and return 'code': run and create fail with Docker's 125. */
int run_fail(const char *verb, struct st_error *err, int code);

/* What a verb does to one of the containers it was given ('ctx' is the verb's). */
typedef int (*run_each_fn)(struct st_store *s, const struct st_container *c, void *ctx,
			   struct st_error **err);
/*
 * The verbs of CONTAINER... (argv from optind on): each one found and 'fn' applied, its name
 * printed as Docker prints it; a failure is reported with 'verb' and the next one tried.
 * Returns 1 if any failed, -1 (with *err) when none was given or the store cannot be opened.
 */
int run_each(struct st_cli *cli, const char *verb, int argc, char **argv, run_each_fn fn, void *ctx,
	     struct st_error **err);

/* run_each() for a verb whose only flag is --help; 'what' is its line in the usage. */
int run_each_verb(struct st_cli *cli, const char *verb, const char *what, int argc, char **argv,
		  run_each_fn fn, struct st_error **err);

/* Docker's refusal of -i -t with a stdin that is not a terminal (it then exits 1). New. */
struct st_error *run_not_a_tty(struct st_error **err);

#endif
