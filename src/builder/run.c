/*
 * run.c: RUN: an overlay over the image's unpacked layers, an OCI bundle, the runtime, and the
 * upper dir turned into a layer.
 *
 * The upper dir is already what the next step needs as a lowerdir (whiteouts as 0/0 character
 * devices, opaque dirs by xattr), so once its tar is hashed it is renamed into the store's
 * layers/<diff_id> and stands for the layer: no blob is written until an output needs one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "builder/internal.h"
#include "local/local.h"
#include "runtime/runtime.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* --network and --security; --mount is mount.c's. */
static int check_flags(struct stage_run *r, const struct st_dockerfile_instr *in,
		       struct st_buf *canon, struct st_error **err)
{
	for (size_t i = 0; i < in->nflags; i++) {
		const struct st_dockerfile_flag *f = &in->flags[i];
		const char *v = f->value ? f->value : "";
		if (!strcmp(f->name, "mount")) {
			continue;
		} else if (!strcmp(f->name, "network")) {
			if (strcmp(v, "default") && strcmp(v, "none") && strcmp(v, "host"))
				return st_err(
				    err, ST_E_INVALID,
				    "RUN --network=%s: unknown network mode: use default, "
				    "none or host",
				    v);
			/* keyed as the mode the step gets: see builder_run_key() */
		} else if (!strcmp(f->name, "security")) {
			/* Insecure only when the build allows it, as BuildKit asks for the
			 * security.insecure entitlement. */
			if (!strcmp(v, "insecure") &&
			    !(builder_opts(r)->flags & ST_BUILDER_ALLOW_INSECURE))
				return st_err(
				    err, ST_E_INVALID,
				    "RUN --security=insecure needs the build to allow it: "
				    "strata build --allow security.insecure");
			if (strcmp(v, "sandbox") && strcmp(v, "insecure"))
				return st_err(err, ST_E_INVALID,
					      "RUN --security=%s: unknown mode: use sandbox or "
					      "insecure",
					      v);
			/* sandbox is what every step gets: nothing changes, not even the key */
		} else {
			return st_err(err, ST_E_INVALID, "RUN: unknown flag --%s", f->name);
		}
	}
	return 0;
}

/* Where a "#!" heredoc's body becomes a file, as BuildKit puts it: the step's /dev is a tmpfs,
 * so the script never reaches the layer. */
#define SCRIPT_DIR "/dev/pipes/"

/*
 * The argv of the step, as BuildKit's dispatchRun makes it. New vector (NULL-terminated), *n
 * items. A command that is one heredoc and nothing else ("RUN <<EOF") runs the body as the
 * shell's script; if the body starts with "#!", *script is set to that heredoc instead: the
 * caller makes its body an executable file at SCRIPT_DIR<name>, and the shell runs that file,
 * so the kernel starts the interpreter the "#!" line names. Any other command ("RUN python3
 * <<EOF", several heredocs) goes to the shell with the bodies after it: the shell reads each
 * body itself, as the named command's stdin. 'script' may be NULL.
 */
static char **run_argv(struct stage_run *r, const struct st_dockerfile_instr *in, size_t *n,
		       const struct st_dockerfile_heredoc **script)
{
	size_t cap = 8, k = 0;
	char **v = st_xcalloc(cap, sizeof(*v));
	if (script)
		*script = NULL;
	if (in->json) {
		v = st_xrealloc(v, (in->nargs + 1) * sizeof(*v));
		for (size_t i = 0; i < in->nargs; i++)
			v[k++] = st_xstrdup(in->args[i]);
		v[k] = NULL;
		*n = k;
		return v;
	}
	const struct st_image_strv *sh = &r->st.cfg->config.shell;
	size_t nsh = sh->set && sh->n ? sh->n : 2;
	v = st_xrealloc(v, (nsh + 2) * sizeof(*v));
	for (size_t i = 0; i < nsh; i++)
		v[k++] = st_xstrdup(sh->set && sh->n ? sh->v[i] : (i == 0 ? "/bin/sh" : "-c"));
	const char *cmd = in->nargs ? in->args[0] : "";
	struct st_buf text = ST_BUF_INIT;
	if (in->nheredocs && st_dockerfile_heredoc_is_command(cmd)) {
		const struct st_dockerfile_heredoc *h = &in->heredocs[0];
		if (!strncmp(h->content, "#!", 2)) {
			st_buf_addf(&text, SCRIPT_DIR "%s", h->name);
			if (script)
				*script = h;
		} else {
			st_buf_adds(&text, h->content);
		}
	} else {
		st_buf_adds(&text, cmd);
		for (size_t i = 0; i < in->nheredocs; i++) {
			const struct st_dockerfile_heredoc *h = &in->heredocs[i];
			st_buf_addf(&text, "\n%s%s", h->content, h->name);
		}
	}
	v[k++] = st_buf_detach(&text, NULL);
	v[k] = NULL;
	*n = k;
	return v;
}

/* How much of a command an error quotes. */
#define QUOTE_MAX 256

/*
 * The kernel refuses an exec whose single argument is longer than MAX_ARG_STRLEN (32 pages),
 * or whose arguments and environment together pass the limit sysconf(_SC_ARG_MAX) reports
 * (a quarter of the stack limit, which the runtime passes on): say so before starting a
 * container that could only fail with E2BIG.
 */
static int check_arg_size(char *const *argv, const char *const *env, bool json,
			  struct st_error **err)
{
	size_t one_max = 32 * (size_t)sysconf(_SC_PAGESIZE), total = 0;
	for (size_t i = 0; argv[i]; i++) {
		size_t n = strlen(argv[i]) + 1;
		if (n > one_max) {
			/* In shell form the whole command is the shell's one argument. */
			st_autofree char *what =
			    json ? st_xasprintf("argument %zu of the command", i + 1)
				 : st_xstrdup("the command");
			return st_err(
			    err, ST_E_INVALID,
			    "%s is %zu bytes, and Linux takes at most %zu in one argument "
			    "(argument list too long): put it in a file (COPY it, or a "
			    "heredoc starting with #!) and run that",
			    what, n - 1, one_max - 1);
		}
		total += n + sizeof(char *);
	}
	for (size_t i = 0; env[i]; i++)
		total += strlen(env[i]) + 1 + sizeof(char *);
	long all_max = sysconf(_SC_ARG_MAX);
	if (all_max > 0 && total > (size_t)all_max)
		return st_err(err, ST_E_INVALID,
			      "the command and its environment are %zu bytes, and Linux takes at "
			      "most %ld (argument list too long)",
			      total, all_max);
	return 0;
}

/* BuildKit's created_by prefix: "|2 A=1 B=2 " when build args are in scope. */
static void args_prefix(struct stage_run *r, struct st_buf *b)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nargs; i++)
		n++;
	if (!n)
		return;
	st_buf_addf(b, "|%zu ", n);
	for (size_t i = 0; i < r->nargs; i++)
		st_buf_addf(b, "%s ", r->args[i]);
}

/* RUN --network: "default" is the build's --network. */
static enum st_runtime_net step_net(struct stage_run *r, const struct st_dockerfile_instr *in)
{
	const char *v = st_dockerfile_instr_flag(in, "network");
	if (v && !strcmp(v, "none"))
		return ST_RUNTIME_NET_NONE;
	if (v && !strcmp(v, "host"))
		return ST_RUNTIME_NET_HOST;
	return builder_opts(r)->net;
}

static bool step_insecure(const struct st_dockerfile_instr *in)
{
	const char *v = st_dockerfile_instr_flag(in, "security");
	return v && !strcmp(v, "insecure");
}

static const char *net_name(enum st_runtime_net net)
{
	switch (net) {
	case ST_RUNTIME_NET_NONE:
		return "none";
	case ST_RUNTIME_NET_HOST:
		return "host";
	case ST_RUNTIME_NET_DEFAULT:
		break;
	}
	return "default";
}

int builder_run_key(struct stage_run *r, const struct st_dockerfile_instr *in, struct key_inputs *k,
		    struct st_error **err)
{
	struct st_buf canon = ST_BUF_INIT;
	st_buf_addf(&canon, "run%s", in->json ? " json" : "");
	if (check_flags(r, in, &canon, err) < 0 || builder_mounts_key(r, in, &canon, k, err) < 0) {
		st_buf_release(&canon);
		return -1;
	}
	size_t n;
	const struct st_dockerfile_heredoc *script;
	char **argv = run_argv(r, in, &n, &script);
	for (size_t i = 0; i < n; i++)
		st_buf_addf(&canon, "\x1f%s", argv[i]);
	st_strv_free(argv, n);
	/* The argv only names a script file: what runs is its body. */
	if (script)
		st_buf_addf(&canon, "\x1escript=%s", script->content);
	for (size_t i = 0; i < r->nargs; i++)
		st_buf_addf(&k->args, "%s\n", r->args[i]);
	/* The network the step sees can change what it produces: BuildKit keys the mode as
	 * the step gets it (RUN --network=default takes the build's), and the names of the
	 * --add-host entries but not their addresses. Named, not numbered: a miss explains
	 * itself with the two values ("network changed from host to none"). */
	st_buf_addf(&canon, "\x1enetwork=%s", net_name(step_net(r, in)));
	const struct st_builder_opts *o = builder_opts(r);
	if (o->n_hosts) {
		st_buf_adds(&canon, "\x1e"
				    "add-host=");
		for (size_t i = 0; i < o->n_hosts; i++)
			st_buf_addf(&canon, "%s%s", i ? "," : "", o->hosts[i].name);
	}
	/* The rest of what BuildKit keys of an exec: its security mode, /dev/shm's size,
	 * resource limits and cgroup parent. */
	if (step_insecure(in))
		st_buf_adds(&canon, "\x1e"
				    "security=insecure");
	if (o->shm_size)
		st_buf_addf(&canon, "\x1eshm-size=%llu", (unsigned long long)o->shm_size);
	if (o->n_ulimits) {
		st_buf_adds(&canon, "\x1e"
				    "ulimit=");
		for (size_t i = 0; i < o->n_ulimits; i++)
			st_buf_addf(&canon, "%s%s=%lld:%lld", i ? "," : "", o->ulimits[i].name,
				    (long long)o->ulimits[i].soft, (long long)o->ulimits[i].hard);
	}
	if (o->cgroup_parent)
		st_buf_addf(&canon,
			    "\x1e"
			    "cgroup-parent=%s",
			    o->cgroup_parent);
	st_buf_add(&k->instr_own, canon.data, canon.len);
	k->instr = k->instr_own.data;
	st_buf_release(&canon);
	return 0;
}

/*
 * What resolvers and clients print when there is no network to use: glibc and musl
 * (getaddrinfo), busybox wget, apt, curl, Node's EAI_AGAIN, Go's resolver, and the kernel's
 * ENETUNREACH for a connect in a namespace that has only lo.
 */
static const char *const no_net_signs[] = {
	"Temporary failure in name resolution",
	"Temporary failure resolving",
	"Name or service not known",
	"No address associated with hostname",
	"Name does not resolve",
	"bad address",
	"Could not resolve",
	"EAI_AGAIN",
	"dial tcp: lookup",
	"Network is unreachable",
	"Network unreachable",
};

/* The step's output goes to the build's events; on the way it is watched for signs of a
 * missing network, also where a sign is split between two chunks. */
struct output_watch {
	struct stage_run *r;
	struct st_buf tail; /* the end of what came before: one byte short of the longest sign */
	bool no_net_sign;
};

static void on_output(void *ctx, enum st_runtime_stream stream, const char *data, size_t len)
{
	struct output_watch *w = ctx;
	(void)stream;
	builder_stage_event(w->r, ST_BUILDER_EVENT_OUTPUT, data, len, 0);
	if (w->no_net_sign || !len)
		return;
	st_buf_add(&w->tail, data, len);
	size_t longest = 0;
	for (size_t i = 0; i < sizeof(no_net_signs) / sizeof(*no_net_signs); i++) {
		size_t n = strlen(no_net_signs[i]);
		if (memmem(w->tail.data, w->tail.len, no_net_signs[i], n))
			w->no_net_sign = true;
		longest = n > longest ? n : longest;
	}
	if (w->tail.len >= longest) {
		size_t keep = longest - 1;
		memmove(w->tail.data, w->tail.data + w->tail.len - keep, keep);
		st_buf_setlen(&w->tail, keep);
	}
}

/* The line a failed step without network gets when its output suggests it needed one. */
static void add_no_net_hint(struct st_buf *msg, const struct st_dockerfile_instr *in)
{
	const char *v = st_dockerfile_instr_flag(in, "network");
	if (v && !strcmp(v, "none"))
		st_buf_adds(msg, "\nhint: this step ran with RUN --network=none, and its output "
				 "shows a failed name lookup or connection: give it a network "
				 "with RUN --network=default");
	else
		st_buf_adds(msg, "\nhint: this step ran without network (the build's --network is "
				 "none), and its output shows a failed name lookup or connection: "
				 "give it one with `strata build --network default` (the default), "
				 "or this step alone with RUN --network=default");
}

static bool dir_empty(const char *path);

/*
 * After the placeholders are gone: a parent that overlayfs copied up only because the runtime
 * created a placeholder in it is left in the upper dir, empty and with the image's owner and
 * mode; it is not the step's doing, so it goes too (an opaque dir, or one whose owner or mode
 * changed, stays).
 */
static void drop_copied_up(const char *upper, char *const *lowers, size_t nl,
			   const struct st_runtime_placeholders *ph)
{
	for (size_t i = 0; i < ph->n; i++) {
		st_autofree char *dir = st_xstrdup(ph->paths[i]);
		char *slash;
		while ((slash = strrchr(dir, '/')) && slash != dir) {
			*slash = '\0';
			st_autofree char *p = st_xasprintf("%s%s", upper, dir);
			struct stat st, lst;
			if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode) || !dir_empty(p))
				break;
			if (getxattr(p, "trusted.overlay.opaque", NULL, 0) >= 0)
				break;
			if (!builder_lower_lstat(lowers, nl, dir, &lst) || !S_ISDIR(lst.st_mode) ||
			    lst.st_mode != st.st_mode || lst.st_uid != st.st_uid ||
			    lst.st_gid != st.st_gid)
				break;
			if (rmdir(p) < 0)
				break;
		}
	}
}

static bool dir_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return true;
	struct dirent *de;
	bool empty = true;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = false;
			break;
		}
	closedir(d);
	return empty;
}

/* A step's hostname (BuildKit's is "buildkitsandbox"). */
#define STEP_HOSTNAME "strata"

/* BuildKit's /etc/hosts, then the build's --add-host entries. The step's own name is on the
 * loopback line, as BuildKit puts it, so that a tool resolving it does not ask the network. */
static int write_hosts(const char *path, const struct st_builder_opts *o, struct st_error **err)
{
	struct st_buf h = ST_BUF_INIT;
	st_buf_adds(&h, "127.0.0.1\tlocalhost " STEP_HOSTNAME
			"\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	st_autofree char *host_ip = NULL;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < o->n_hosts; i++) {
		const char *ip = o->hosts[i].ip;
		if (!strcmp(ip, "host-gateway")) {
			if (!host_ip && st_runtime_host_address(&host_ip, err) < 0) {
				rc = st_err_wrap(err, "--add-host %s:host-gateway",
						 o->hosts[i].name);
				break;
			}
			ip = host_ip;
		}
		st_buf_addf(&h, "%s\t%s\n", ip, o->hosts[i].name);
	}
	if (rc == 0)
		rc = st_write_file_atomic(path, NULL, h.data, h.len, 0644, err);
	st_buf_release(&h);
	return rc;
}

static int write_etc_files(const char *bundle, const struct st_builder_opts *o,
			   enum st_runtime_net net, char **hosts, char **resolv, char **hostname,
			   struct st_error **err)
{
	*hosts = st_path_join(bundle, "hosts");
	*resolv = st_path_join(bundle, "resolv.conf");
	*hostname = st_path_join(bundle, "hostname");
	if (write_hosts(*hosts, o, err) < 0)
		return -1;
	struct st_buf host = ST_BUF_INIT, rv = ST_BUF_INIT;
	struct st_error *rerr = NULL;
	if (st_read_file("/etc/resolv.conf", &host, &rerr) < 0)
		st_error_free(rerr); /* a host without one: the step gets none either */
	st_runtime_resolv_conf(net, st_buf_str(&host), &rv);
	int rc = st_write_file_atomic(*resolv, NULL, st_buf_str(&rv), rv.len, 0644, err);
	st_buf_release(&host);
	st_buf_release(&rv);
	if (rc < 0)
		return -1;
	static const char hn[] = STEP_HOSTNAME "\n";
	return st_write_file_atomic(*hostname, NULL, hn, sizeof(hn) - 1, 0644, err);
}

/* A "#!" heredoc's body as an executable file in the bundle, to be bound at *dest. */
static int write_script(const char *bundle, const struct st_dockerfile_heredoc *h, char **file,
			char **dest, struct st_error **err)
{
	/* The delimiter names the file, as BuildKit names it: it must be one name. */
	if (strchr(h->name, '/') || !strcmp(h->name, ".") || !strcmp(h->name, ".."))
		return st_err(err, ST_E_INVALID,
			      "heredoc delimiter '%s' is not a file name, and a heredoc that "
			      "starts with #! runs as a file named after its delimiter",
			      h->name);
	*file = st_path_join(bundle, "script");
	*dest = st_xasprintf(SCRIPT_DIR "%s", h->name);
	return st_write_file_atomic(*file, NULL, h->content, strlen(h->content), 0755, err);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "#5 committed 1.0 GiB in 0.8s": what the step's layer cost from the process's exit. */
static void report_commit(struct stage_run *r, uint64_t size, double seconds)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)size;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(*units)) {
		v /= 1024;
		u++;
	}
	char text[32];
	if (u == 0)
		snprintf(text, sizeof(text), "%" PRIu64 " B", size);
	else
		snprintf(text, sizeof(text), "%.1f %s", v, units[u]);
	builder_stage_event(r, ST_BUILDER_EVENT_COMMITTED, text, 0, seconds);
}

/*
 * Turn 'upper' into a layer: only its tar's diff_id is computed, and the directory becomes the
 * store's unpacked copy of the layer, what the next step mounts (st_local_layer_commit_dir()).
 */
static int commit_upper(struct stage_run *r, const char *upper, struct st_store_layer *layer,
			struct st_error **err)
{
	struct st_layer_writer_opts lo;
	builder_layer_opts(r, &lo);
	return st_local_layer_commit_dir(r->s, r->lease, &lo, upper, layer, err);
}

/* The runtime's state lives in the store, not in its host-wide default (/run/runc): a build
 * then sees and cleans up only its own containers. New. */
static char *state_root(struct st_store *s, const char *runtime)
{
	const char *name = runtime && *runtime ? runtime : "runc";
	const char *slash = strrchr(name, '/');
	st_autofree char *rt = st_path_join(st_store_root(s), "runtime");
	return st_path_join(rt, slash ? slash + 1 : name);
}

int builder_run_check_root(const struct st_dockerfile *df, const struct st_dockerfile_plan *plan,
			   struct st_error **err)
{
	if (geteuid() == 0)
		return 0;
	for (size_t i = 0; i < plan->nstages; i++) {
		const struct st_dockerfile_stage *st = &df->stages[plan->stages[i].index];
		for (size_t j = 0; j < st->ninstrs; j++)
			if (st->instrs[j]->kind == ST_DF_RUN)
				return st_err(
				    err, ST_E_INVALID,
				    "%s:%d: RUN needs root, and strata runs as uid %u: "
				    "a RUN step unpacks image files owned by other users, "
				    "mounts an overlay and starts runc (strata has no "
				    "rootless mode yet): run the build as root",
				    df->name, st->instrs[j]->start_line, (unsigned)geteuid());
	}
	return 0;
}

int builder_run_cleanup_stale(struct st_store *s, const struct st_builder_opts *o,
			      struct st_error **err)
{
	st_autofree char *root = state_root(s, o->runtime);
	struct st_runtime_opts ro = { .runtime = o->runtime, .state_root = root };
	char **ids = NULL;
	size_t n = 0;
	if (st_runtime_list(&ro, &ids, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		static const char prefix[] = "strata-build-";
		if (strncmp(ids[i], prefix, sizeof(prefix) - 1))
			continue;
		/* The id names the step's dir under tmp/, flock()ed while its build lives. */
		st_autofree char *dir =
		    st_path_join(st_store_tmp_dir(s), ids[i] + sizeof(prefix) - 1);
		st_autoclose int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* a running build's */
		rc = st_runtime_delete(&ro, ids[i], err);
	}
	st_strv_free(ids, n);
	return rc;
}

int builder_run_exec(struct stage_run *r, const struct st_dockerfile_instr *in,
		     struct st_store_layer *layer, bool *has_layer, char **created_by,
		     struct st_error **err)
{
	const struct st_builder_opts *o = builder_opts(r);
	*has_layer = false;
	if (builder_platform_can_run(&r->platform, err) < 0)
		return -1;
	char **lowers = NULL;
	size_t nl = 0;
	if (builder_stage_lowers(r, &r->st, &lowers, &nl, err) < 0)
		return -1;
	st_autofree char *base = NULL;
	st_autoclose int lock = -1;
	int rc = st_store_tmp_mkdir(r->s, &base, &lock, err);
	st_auto_snapshot_step struct st_snapshot_step step = ST_SNAPSHOT_STEP_INIT;
	st_auto_runtime_placeholders struct st_runtime_placeholders ph = { 0 };
	struct run_mounts *rmounts = NULL;
	bool created = false, mounted = false;
	if (rc == 0)
		rc = st_snapshot_step_create(base, "s", &step, err);
	created = rc == 0;
	/* The bundle's config.json carries the env= secrets. */
	if (rc == 0)
		rc = st_snapshot_step_mount_bundle(&step, err);
	if (rc == 0)
		rc = st_snapshot_step_mount(&step, (const char *const *)lowers, nl, err);
	mounted = rc == 0;
	if (rc == 0)
		rc = builder_mounts_setup(r, in, base, &rmounts, err);

	size_t argc = 0;
	const struct st_dockerfile_heredoc *script;
	char **argv = run_argv(r, in, &argc, &script);
	const struct st_image_runconfig *cfg = &r->st.cfg->config;
	uid_t uid = 0;
	gid_t gid = 0;
	gid_t *gids = NULL;
	size_t ngids = 0;
	if (rc == 0 && cfg->user && *cfg->user)
		rc =
		    st_runtime_resolve_user(step.merged, cfg->user, &uid, &gid, &gids, &ngids, err);

	/* Env: the image's, then build args not shadowed by it, then a default PATH, then the
	 * env= secrets (which win: they are asked for by name). */
	size_t nsec = 0;
	const char *const *secenv = builder_mounts_env(rmounts, &nsec);
	size_t ne = cfg->env.n + r->nargs + 1 + nsec;
	const char **env = st_xcalloc(ne + 1, sizeof(*env));
	size_t k = 0;
	bool has_path = false;
	for (size_t i = 0; i < cfg->env.n; i++) {
		const char *eq = strchr(cfg->env.v[i], '=');
		size_t len = eq ? (size_t)(eq - cfg->env.v[i]) : strlen(cfg->env.v[i]);
		bool shadowed = false;
		for (size_t j = 0; j < nsec; j++)
			if (!strncmp(secenv[j], cfg->env.v[i], len) && secenv[j][len] == '=')
				shadowed = true;
		if (!shadowed)
			env[k++] = cfg->env.v[i];
		if (!strncmp(cfg->env.v[i], "PATH=", 5))
			has_path = true;
	}
	for (size_t i = 0; i < r->nargs; i++) {
		const char *eq = strchr(r->args[i], '=');
		st_autofree char *name = st_xstrndup(r->args[i], (size_t)(eq - r->args[i]));
		bool shadowed = false;
		for (size_t j = 0; j < nsec; j++)
			if (!strncmp(secenv[j], r->args[i], (size_t)(eq - r->args[i]) + 1))
				shadowed = true;
		if (!st_image_config_env_get(r->st.cfg, name) && !shadowed)
			env[k++] = r->args[i];
	}
	if (!has_path)
		env[k++] = "PATH=" BUILD_DEFAULT_PATH;
	for (size_t j = 0; j < nsec; j++)
		env[k++] = secenv[j];
	env[k] = NULL;

	st_autofree char *hosts = NULL, *resolv = NULL, *hostname = NULL;
	enum st_runtime_net net = step_net(r, in);
	if (rc == 0)
		rc = write_etc_files(step.bundle, o, net, &hosts, &resolv, &hostname, err);
	/* Said before the runtime fails on it, with less to go on. */
	if (rc == 0 && o->cgroup_parent && access("/sys/fs/cgroup", W_OK) < 0)
		rc = st_err_errno(err,
				  "--cgroup-parent %s: strata cannot make cgroups on this host "
				  "(/sys/fs/cgroup)",
				  o->cgroup_parent);
	st_auto(st_runtime_netns) struct st_runtime_netns *netns = NULL;
	if (rc == 0 && net == ST_RUNTIME_NET_DEFAULT)
		rc = st_runtime_netns_new(&netns, err);
	st_autofree char *script_file = NULL, *script_dest = NULL;
	if (rc == 0 && script)
		rc = write_script(step.bundle, script, &script_file, &script_dest, err);
	/* The id names the step's dir: unique, and builder_run_cleanup_stale() can tell by its
	 * lock whether the build that made it still runs. */
	const char *slash = base ? strrchr(base, '/') : NULL;
	st_autofree char *id =
	    base ? st_xasprintf("strata-build-%s", slash ? slash + 1 : base) : NULL;
	size_t nextra = 0;
	const struct st_runtime_mount *extra = builder_mounts_runtime(rmounts, &nextra);
	struct st_runtime_mount *mounts = st_xcalloc(4 + nextra, sizeof(*mounts));
	mounts[0] = (struct st_runtime_mount){ .type = ST_RUNTIME_MOUNT_BIND,
					       .source = hosts,
					       .destination = "/etc/hosts" };
	mounts[1] = (struct st_runtime_mount){ .type = ST_RUNTIME_MOUNT_BIND,
					       .source = resolv,
					       .destination = "/etc/resolv.conf" };
	mounts[2] = (struct st_runtime_mount){ .type = ST_RUNTIME_MOUNT_BIND,
					       .source = hostname,
					       .destination = "/etc/hostname" };
	size_t nm = 3;
	if (script_file)
		mounts[nm++] = (struct st_runtime_mount){ .type = ST_RUNTIME_MOUNT_BIND,
							  .source = script_file,
							  .destination = script_dest,
							  .flags = ST_RUNTIME_MOUNT_READONLY };
	for (size_t i = 0; i < nextra; i++)
		mounts[nm++] = extra[i];
	struct st_runtime_spec spec = {
		.rootfs = step.merged,
		.args = (const char *const *)argv,
		.env = env,
		.cwd = cfg->working_dir && *cfg->working_dir ? cfg->working_dir : "/",
		.uid = uid,
		.gid = gid,
		.additional_gids = gids,
		.n_additional_gids = ngids,
		.hostname = STEP_HOSTNAME,
		.net = net,
		.netns = netns ? st_runtime_netns_path(netns) : NULL,
		.mounts = mounts,
		.n_mounts = nm,
		.shm_size = o->shm_size,
		.rlimits = o->ulimits,
		.n_rlimits = o->n_ulimits,
		.insecure = step_insecure(in),
		.cgroup_parent = o->cgroup_parent,
		.id = id,
	};
	if (rc == 0)
		rc = check_arg_size(argv, env, in->json, err);
	if (rc == 0)
		rc = st_runtime_placeholders_find(&spec, &ph, err);
	if (rc == 0)
		rc = st_runtime_spec_write(&spec, step.bundle, err);
	int code = 0;
	struct output_watch watch = { .r = r, .tail = ST_BUF_INIT };
	if (rc == 0) {
		st_autofree char *sroot = state_root(r->s, o->runtime);
		struct st_runtime_opts ro = { .runtime = o->runtime, .state_root = sroot };
		rc = st_runtime_run(&ro, step.bundle, id, on_output, &watch, &code, err);
	}
	double exited = mono_s();
	/* The config holds the env= secrets: it goes as soon as the runtime is done. */
	{
		st_autofree char *cj =
		    st_path_join(step.bundle ? step.bundle : base, "config.json");
		unlink(cj);
	}
	/* Through the still-mounted rootfs, so that the overlay forgets them entirely. */
	if (mounted && rc == 0)
		rc = st_runtime_placeholders_remove(step.merged, &ph, err);
	if (mounted) {
		struct st_error *uerr = NULL;
		if (st_snapshot_step_umount(&step, &uerr) < 0) {
			if (rc == 0) {
				*err = uerr;
				rc = -1;
			} else {
				st_error_free(uerr);
			}
		}
	}
	builder_run_mounts_free(rmounts);
	struct st_buf cb = ST_BUF_INIT;
	st_buf_adds(&cb, "RUN ");
	args_prefix(r, &cb);
	for (size_t i = 0; i < argc; i++)
		st_buf_addf(&cb, "%s%s", i ? " " : "", argv[i]);
	if (rc == 0 && code != 0) {
		struct st_buf cmd = ST_BUF_INIT, shown = ST_BUF_INIT;
		for (size_t i = 0; i < argc; i++)
			st_buf_addf(&cmd, "%s%s", i ? " " : "", argv[i]);
		builder_add_capped(&shown, cmd.data, QUOTE_MAX);
		st_buf_reset(&cmd);
		st_buf_addf(&cmd, "process \"%s\" did not complete successfully: exit code: %d",
			    shown.data, code);
		/* Only a step that really had no network: elsewhere the same words mean
		 * something else (a typo in a host name, a server down). */
		if (net == ST_RUNTIME_NET_NONE && watch.no_net_sign)
			add_no_net_hint(&cmd, in);
		rc = st_err(err, ST_E_RUNTIME, "%s", cmd.data);
		st_buf_release(&cmd);
		st_buf_release(&shown);
	}
	if (rc == 0) {
		drop_copied_up(step.upper, lowers, nl, &ph);
		if (!dir_empty(step.upper)) {
			rc = commit_upper(r, step.upper, layer, err);
			*has_layer = rc == 0;
			if (rc == 0)
				report_commit(r, layer->diff_size, mono_s() - exited);
		}
	}
	if (rc == 0)
		*created_by = st_buf_detach(&cb, NULL);
	st_buf_release(&cb);
	st_buf_release(&watch.tail);
	free(mounts);
	free(env);
	free(gids);
	st_strv_free(argv, argc);
	st_strv_free(lowers, nl);
	if (created) {
		struct st_error *rerr = NULL;
		if (st_snapshot_step_remove(&step, &rerr) < 0)
			st_error_free(rerr);
	}
	if (base) {
		struct st_error *rerr = NULL;
		if (st_rm_rf(base, &rerr) < 0)
			st_error_free(rerr);
	}
	return rc;
}
