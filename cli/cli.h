/* cli.h: what every verb gets from main.c. */
#ifndef ST_CLI_CLI_H
#define ST_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "util/err.h"

struct st_store;

struct st_cli {
	const char *root;	/* the store's root directory */
	FILE *out;		/* results */
	FILE *errout;		/* progress and messages for people */
	struct st_store *store; /* opened on first use by st_cli_store() */
};

/* Borrowed: the store at cli->root, opened (and created) on first use. */
int st_cli_store(struct st_cli *cli, struct st_store **out, struct st_error **err);

/* Release what the verbs opened (the store). */
void st_cli_close(struct st_cli *cli);

/* Print 'warning' and ask "Are you sure you want to continue? [y/N]" on stdin; true on "y". */
bool st_cli_confirm(struct st_cli *cli, const char *warning);

/* The verbs that remove things (rmi, volume rm, the prunes): their flags and their question. */
struct option;
enum st_cli_remove_flags {
	ST_CLI_REMOVE_ALL = 1 << 0,	 /* takes -a/--all */
	ST_CLI_REMOVE_OPERANDS = 1 << 1, /* takes one or more operands; else none */
};
struct st_cli_remove_verb {
	const char *name;	   /* "volume prune", for messages */
	const char *usage;	   /* the --help text */
	unsigned flags;		   /* enum st_cli_remove_flags */
	const struct option *more; /* more long options, each setting its 'flag' (none: ignored) */
};
struct st_cli_remove_opts {
	bool force, all;
};
/*
 * Parse -f/--force, -h/--help, -a/--all (with ST_CLI_REMOVE_ALL) and verb->more, then check the
 * operand count. 0 with optind at the first operand; 1 when --help was printed (the verb is
 * done); -1 with an ST_E_USAGE error.
 */
int st_cli_remove_flags(struct st_cli *cli, int argc, char **argv,
			const struct st_cli_remove_verb *verb, struct st_cli_remove_opts *out,
			struct st_error **err);
/* Unless -f, ask with 'warning'; a "no" is Docker's error "<verb> has been cancelled". */
int st_cli_confirm_remove(struct st_cli *cli, bool force, const char *verb, const char *warning,
			  struct st_error **err);

/* A verb: argv[0] is "strata NAME" (getopt names it in its messages). */
typedef int (*st_cli_fn)(struct st_cli *cli, int argc, char **argv, struct st_error **err);

/*
 * Usage error helper for verbs: returns -1 with an ST_E_USAGE error. main prints it and
 * exits 2.
 */
#define st_cli_usage(err, ...) st_err((err), ST_E_USAGE, __VA_ARGS__)

/* The flags of the verbs that talk to a registry (registry_opts.c), for getopt_long. */
enum { ST_CLI_OPT_TLS_VERIFY = 0x1000, ST_CLI_OPT_AUTHFILE };
#define ST_CLI_REGISTRY_LONGOPTS                                                                   \
	{ "tls-verify", required_argument, NULL, ST_CLI_OPT_TLS_VERIFY },                          \
	{                                                                                          \
		"authfile", required_argument, NULL, ST_CLI_OPT_AUTHFILE                           \
	}
struct st_registry_opts;
/* Apply getopt's 'c' and its 'arg' when it is one of them: 1 if it was, 0 if not, -1 on a bad
 * value (ST_E_USAGE). */
int st_cli_registry_opt(int c, const char *arg, struct st_registry_opts *ro, struct st_error **err);

/*
 * After a build (build --analyze): the efficiency and the top findings of 'image' on
 * cli->errout; with 'ci', dive's CI report and rules (.dive-ci). 1 if a rule failed.
 */
int st_cli_dive_build(struct st_cli *cli, const char *image, bool ci, struct st_error **err);

/*
 * Analyse the image 'name' names: in the store, or read in place from docker-archive:PATH[:NAME],
 * oci:DIR[:NAME] or oci-archive:PATH[:NAME]; 'platform' (NULL: the host's) picks from an
 * index. *out is new: st_analyze_free().
 */
struct st_analyze;
struct st_analyze_opts;
struct st_platform;
int st_cli_analyze_open(struct st_cli *cli, const char *name, const struct st_platform *platform,
			const struct st_analyze_opts *ao, struct st_analyze **out,
			struct st_error **err);

/*
 * Apply one --change (a Dockerfile instruction `docker import` and `docker commit` accept) to
 * 'cfg' the way a build step would (import.c). *cmd_set: a CMD was set by a change.
 */
struct st_image_config;
int st_cli_apply_change(struct st_image_config *cfg, bool *cmd_set, const char *change,
			struct st_error **err);

/* The verbs (one file each in cli/), in the order --help lists them. */
#define ST_CLI_VERBS(X)                                                                            \
	X(build, "build", "Build an image from a Dockerfile")                                      \
	X(builder_du, "builder du", "Show build cache disk usage")                                 \
	X(builder_prune, "builder prune", "Remove build cache")                                    \
	X(run, "run", "Create and run a new container from an image")                              \
	X(create, "create", "Create a new container")                                              \
	X(start, "start", "Start one or more stopped containers")                                  \
	X(ps, "ps", "List containers")                                                             \
	X(logs, "logs", "Fetch the logs of a container")                                           \
	X(stop, "stop", "Stop one or more running containers")                                     \
	X(kill, "kill", "Kill one or more running containers")                                     \
	X(restart, "restart", "Restart one or more containers")                                    \
	X(pause, "pause", "Pause all processes within one or more containers")                     \
	X(unpause, "unpause", "Unpause all processes within one or more containers")               \
	X(rename, "rename", "Rename a container")                                                  \
	X(wait, "wait", "Block until containers stop, then print their exit codes")                \
	X(container_rm, "rm", "Remove one or more containers")                                     \
	X(container_prune, "container prune", "Remove all stopped containers")                     \
	X(exec, "exec", "Execute a command in a running container")                                \
	X(commit, "commit", "Create a new image from a container's changes")                       \
	X(cp, "cp", "Copy files/folders between a container and the local filesystem")             \
	X(volume_create, "volume create", "Create a volume")                                       \
	X(volume_ls, "volume ls", "List volumes")                                                  \
	X(volume_inspect, "volume inspect", "Display detailed information on volumes")             \
	X(volume_rm, "volume rm", "Remove one or more volumes")                                    \
	X(volume_prune, "volume prune", "Remove unused local volumes")                             \
	X(images, "images", "List images")                                                         \
	X(import, "import", "Import a root filesystem tarball or directory as an image")           \
	X(history, "history", "Show the history of an image")                                      \
	X(dive, "dive", "Show what each layer adds, changes, removes and wastes")                  \
	X(diff, "diff", "Show the files added, deleted and changed between two images")            \
	X(sbom, "sbom", "List an image's packages and the layers that added them")                 \
	X(inspect, "inspect", "Display detailed information on one or more images")                \
	X(tag, "tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")                     \
	X(rmi, "rmi", "Remove one or more images")                                                 \
	X(image_prune, "image prune", "Remove unused images")                                      \
	X(save, "save", "Save images to a tar archive or an OCI layout directory")                 \
	X(load, "load", "Load images from a tar archive or an OCI layout directory")               \
	X(export, "export", "Export an image's flattened filesystem as a tar archive")             \
	X(pull, "pull", "Download an image from a registry")                                       \
	X(push, "push", "Upload an image to a registry")                                           \
	X(login, "login", "Log in to a registry")                                                  \
	X(logout, "logout", "Log out from a registry")                                             \
	X(manifest_inspect, "manifest inspect",                                                    \
	  "Display an image's manifest or manifest list from a registry")                          \
	X(manifest_create, "manifest create", "Create a local manifest list of images")            \
	X(manifest_add, "manifest add", "Add an image to a local manifest list")                   \
	X(manifest_annotate, "manifest annotate", "Describe an entry of a local manifest list")    \
	X(manifest_rm, "manifest rm", "Delete local manifest lists")                               \
	X(manifest_push, "manifest push", "Push a manifest list and its images to a registry")     \
	X(manifest_attach, "manifest attach", "Push an artifact that refers to an image")          \
	X(manifest_referrers, "manifest referrers", "List the artifacts that refer to an image")   \
	X(tags, "tags", "List the tags of a repository in a registry")                             \
	X(copy, "copy", "Copy an image between registries, archives, OCI layouts and the store")   \
	X(key_generate, "key generate", "Generate a cosign-compatible key pair")                   \
	X(sign, "sign", "Sign an image with a cosign-compatible key")                              \
	X(verify, "verify", "Verify an image's cosign signatures")                                 \
	X(system_df, "system df", "Show disk usage")                                               \
	X(system_prune, "system prune", "Remove unused images and build cache")                    \
	X(system_check, "system check", "Verify every blob and record of the store")               \
	X(lint, "lint", "Check a Dockerfile against BuildKit's and hadolint's rules")              \
	X(debug, "debug", "Debug Dockerfiles: parse, expand, words, ignore")                       \
	X(completion, "completion", "Generate a bash, zsh or fish completion script")              \
	X(version, "version", "Show the strata version")

/* Docker's other names for the verbs above: `docker image ls` is `docker images`. */
#define ST_CLI_ALIASES(X)                                                                          \
	X("container run", "run")                                                                  \
	X("container create", "create")                                                            \
	X("container start", "start")                                                              \
	X("container ls", "ps")                                                                    \
	X("container list", "ps")                                                                  \
	X("container logs", "logs")                                                                \
	X("container stop", "stop")                                                                \
	X("container kill", "kill")                                                                \
	X("container restart", "restart")                                                          \
	X("container pause", "pause")                                                              \
	X("container unpause", "unpause")                                                          \
	X("container rename", "rename")                                                            \
	X("container wait", "wait")                                                                \
	X("container rm", "rm")                                                                    \
	X("container remove", "rm")                                                                \
	X("container exec", "exec")                                                                \
	X("container commit", "commit")                                                            \
	X("container cp", "cp")                                                                    \
	X("container inspect", "inspect")                                                          \
	X("container diff", "diff")                                                                \
	X("container export", "export")                                                            \
	X("volume list", "volume ls")                                                              \
	X("volume remove", "volume rm")                                                            \
	X("image ls", "images")                                                                    \
	X("image list", "images")                                                                  \
	X("image rm", "rmi")                                                                       \
	X("image remove", "rmi")                                                                   \
	X("image inspect", "inspect")                                                              \
	X("image history", "history")                                                              \
	X("image tag", "tag")                                                                      \
	X("image save", "save")                                                                    \
	X("image load", "load")                                                                    \
	X("image import", "import")                                                                \
	X("image build", "build")                                                                  \
	X("builder build", "build")                                                                \
	X("buildx build", "build")                                                                 \
	X("buildx b", "build")                                                                     \
	X("buildx du", "builder du")                                                               \
	X("buildx prune", "builder prune")

#define ST_CLI_DECLARE(fn, name, help)                                                             \
	int cmd_##fn(struct st_cli *cli, int argc, char **argv, struct st_error **err);
ST_CLI_VERBS(ST_CLI_DECLARE)
#undef ST_CLI_DECLARE

#endif
