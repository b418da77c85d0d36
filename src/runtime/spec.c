/* spec.c: a RUN step's OCI runtime-spec config.json, modelled on Docker's and runc's defaults. */
#include "runtime/runtime.h"

#include <jansson.h>
#include <string.h>
#include <ctype.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "runtime/internal.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* Docker's default capability set (moby oci/caps/defaults.go). */
const char *const st_runtime_caps_default[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FSETID",
	"CAP_FOWNER",
	"CAP_MKNOD",
	"CAP_NET_RAW",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETFCAP",
	"CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT",
	"CAP_KILL",
	"CAP_AUDIT_WRITE",
	NULL,
};

/* Every capability, by number (linux/capability.h), for RUN --security=insecure. */
const char *const st_runtime_caps_all[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
	NULL,
};

const char *const st_runtime_rlimit_names[] = {
	"core",	  "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue", "nice",
	"nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack",	 NULL,
};
/* The resource of each name above, in the same order. */
static const int rlimit_resources[] = {
	RLIMIT_CORE,	RLIMIT_CPU,	 RLIMIT_DATA,	RLIMIT_FSIZE,	   RLIMIT_LOCKS,
	RLIMIT_MEMLOCK, RLIMIT_MSGQUEUE, RLIMIT_NICE,	RLIMIT_NOFILE,	   RLIMIT_NPROC,
	RLIMIT_RSS,	RLIMIT_RTPRIO,	 RLIMIT_RTTIME, RLIMIT_SIGPENDING, RLIMIT_STACK,
};

/* Docker's masked and read-only paths (moby oci/defaults.go), a superset of runc's. */
static const char *const masked_paths[] = {
	"/proc/asound",
	"/proc/acpi",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* Docker and BuildKit give containers this many open files. */
#define NOFILE_WANTED 1048576

#define N(a) (sizeof(a) / sizeof(*(a)))

static json_t *str_array(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *str_list(const char *const *v)
{
	json_t *a = json_array();
	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static json_t *mount_obj(const char *dest, const char *type, const char *source,
			 const char *const *opts, size_t n)
{
	return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source",
			 source, "options", str_array(opts, n));
}

static void add_standard_mounts(json_t *mounts, const struct st_runtime_spec *spec)
{
	static const char *const proc[] = { "nosuid", "noexec", "nodev" };
	static const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k" };
	static const char *const pts[] = { "nosuid",	    "noexec",	 "newinstance",
					   "ptmxmode=0666", "mode=0620", "gid=5" };
	st_autofree char *shm_size =
	    spec->shm_size ? st_xasprintf("size=%llu", (unsigned long long)spec->shm_size)
			   : st_xstrdup("size=65536k");
	const char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777", shm_size };
	static const char *const mqueue[] = { "nosuid", "noexec", "nodev" };
	/* The last option goes for an insecure step: /sys and cgroups writable. */
	static const char *const sys[] = { "nosuid", "noexec", "nodev", "ro" };
	static const char *const cgroup[] = { "nosuid", "noexec", "nodev", "relatime", "ro" };
	size_t ro = spec->insecure ? 1 : 0;
	json_array_append_new(mounts, mount_obj("/proc", "proc", "proc", proc, N(proc)));
	/* A tmpfs /dev: the runtime then creates the standard device nodes in it. */
	json_array_append_new(mounts, mount_obj("/dev", "tmpfs", "tmpfs", dev, N(dev)));
	json_array_append_new(mounts, mount_obj("/dev/pts", "devpts", "devpts", pts, N(pts)));
	json_array_append_new(mounts, mount_obj("/dev/shm", "tmpfs", "shm", shm, N(shm)));
	json_array_append_new(mounts,
			      mount_obj("/dev/mqueue", "mqueue", "mqueue", mqueue, N(mqueue)));
	json_array_append_new(mounts, mount_obj("/sys", "sysfs", "sysfs", sys, N(sys) - ro));
	json_array_append_new(
	    mounts, mount_obj("/sys/fs/cgroup", "cgroup", "cgroup", cgroup, N(cgroup) - ro));
}

static void add_options(json_t *opts, const char *extra)
{
	if (!extra)
		return;
	const char *p = extra;
	while (*p) {
		size_t len = strcspn(p, ",");
		if (len)
			json_array_append_new(opts, json_stringn(p, len));
		p += len;
		if (*p == ',')
			p++;
	}
}

static int add_extra_mount(json_t *mounts, const struct st_runtime_mount *m, struct st_error **err)
{
	if (!m->destination || m->destination[0] != '/')
		return st_err(err, ST_E_INVALID, "mount destination '%s' is not an absolute path",
			      m->destination ? m->destination : "(null)");
	json_t *opts = json_array();
	const char *type, *source;
	switch (m->type) {
	case ST_RUNTIME_MOUNT_BIND:
		if (!m->source || m->source[0] != '/') {
			json_decref(opts);
			return st_err(err, ST_E_INVALID,
				      "bind mount source '%s' is not an absolute path",
				      m->source ? m->source : "(null)");
		}
		type = "bind";
		source = m->source;
		json_array_append_new(opts, json_string("rbind"));
		json_array_append_new(opts, json_string("rprivate"));
		break;
	case ST_RUNTIME_MOUNT_TMPFS:
		type = "tmpfs";
		source = "tmpfs";
		json_array_append_new(opts, json_string("nosuid"));
		json_array_append_new(opts, json_string("nodev"));
		break;
	default:
		json_decref(opts);
		return st_err(err, ST_E_INVALID, "mount '%s': unknown type %d", m->destination,
			      (int)m->type);
	}
	if (m->flags & ST_RUNTIME_MOUNT_READONLY)
		json_array_append_new(opts, json_string("ro"));
	add_options(opts, m->options);
	json_array_append_new(mounts,
			      json_pack("{s:s, s:s, s:s, s:o}", "destination", m->destination,
					"type", type, "source", source, "options", opts));
	return 0;
}

/* The capabilities strata may hand on: its bounding set (a container may lack some). */
static json_t *held_caps(void)
{
	json_t *a = json_array();
	for (size_t i = 0; st_runtime_caps_all[i]; i++)
		if (prctl(PR_CAPBSET_READ, (unsigned long)i, 0, 0, 0) == 1)
			json_array_append_new(a, json_string(st_runtime_caps_all[i]));
	return a;
}

/* The resource 'name' stands for, or -1. */
static int rlimit_resource(const char *name)
{
	for (size_t i = 0; st_runtime_rlimit_names[i]; i++)
		if (!strcmp(st_runtime_rlimit_names[i], name))
			return rlimit_resources[i];
	return -1;
}

/*
 * A hard limit above strata's own needs CAP_SYS_RESOURCE, which a container strata runs in
 * may lack: say so here rather than have the runtime fail with "operation not permitted".
 */
static int check_raise(const struct st_runtime_rlimit *r, int resource, struct st_error **err)
{
	struct rlimit cur;
	if (getrlimit(resource, &cur) < 0 || cur.rlim_max == RLIM_INFINITY)
		return 0;
	if (r->hard != -1 && (rlim_t)r->hard <= cur.rlim_max)
		return 0;
	if (prctl(PR_CAPBSET_READ, (unsigned long)CAP_SYS_RESOURCE, 0, 0, 0) == 1)
		return 0;
	return st_err(err, ST_E_INVALID,
		      "resource limit '%s': the hard limit asked for is above strata's own, %llu, "
		      "and raising it takes CAP_SYS_RESOURCE, which strata does not have here",
		      r->name, (unsigned long long)cur.rlim_max);
}

static json_t *rlimit_obj(const char *name, json_int_t soft, json_int_t hard)
{
	st_autofree char *type = st_xasprintf("RLIMIT_%s", name);
	for (char *p = type; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	/* -1 is RLIM_INFINITY in the spec's uint64 */
	return json_pack("{s:s, s:I, s:I}", "type", type, "hard", hard, "soft", soft);
}

static json_t *rlimits_obj(const struct st_runtime_spec *spec)
{
	json_t *a = json_array();
	bool nofile = false;
	for (size_t i = 0; i < spec->n_rlimits; i++) {
		const struct st_runtime_rlimit *r = &spec->rlimits[i];
		nofile |= !strcmp(r->name, "nofile");
		json_array_append_new(a, rlimit_obj(r->name, r->soft, r->hard));
	}
	if (nofile)
		return a;
	/* Without CAP_SYS_RESOURCE the runtime cannot raise the hard limit: stay within it. */
	struct rlimit rl;
	json_int_t n = NOFILE_WANTED;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    rl.rlim_max < (rlim_t)n)
		n = (json_int_t)rl.rlim_max;
	json_array_append_new(a, rlimit_obj("nofile", n, n));
	return a;
}

/* The process's capability set: an insecure step's, the caller's, or Docker's default. */
static json_t *cap_set(const struct st_runtime_spec *spec)
{
	if (spec->insecure)
		return held_caps();
	return str_list(spec->caps ? spec->caps : st_runtime_caps_default);
}

static json_t *process_obj(const struct st_runtime_spec *spec)
{
	json_t *gids = json_array();
	for (size_t i = 0; i < spec->n_additional_gids; i++)
		json_array_append_new(gids, json_integer(spec->additional_gids[i]));
	json_t *user =
	    json_pack("{s:I, s:I}", "uid", (json_int_t)spec->uid, "gid", (json_int_t)spec->gid);
	if (spec->n_additional_gids)
		json_object_set_new(user, "additionalGids", gids);
	else
		json_decref(gids);

	/* Docker gives a non-root process the bounding set only: it must exec a file
	 * capability or setuid binary to gain any of them. */
	json_t *set = cap_set(spec);
	json_t *eff = spec->uid == 0 ? json_deep_copy(set) : json_array();
	json_t *caps = json_pack("{s:o, s:o, s:o}", "bounding", set, "effective", eff, "permitted",
				 json_deep_copy(eff));
	json_t *rlimits = rlimits_obj(spec);

	json_t *proc =
	    json_pack("{s:b, s:o, s:o, s:o, s:s, s:o, s:o, s:b}", "terminal", spec->terminal,
		      "user", user, "args", str_list(spec->args), "env", str_list(spec->env), "cwd",
		      spec->cwd ? spec->cwd : "/", "capabilities", caps, "rlimits", rlimits,
		      "noNewPrivileges", spec->no_new_privileges);
	if (spec->terminal && spec->console_rows && spec->console_cols)
		json_object_set_new(proc, "consoleSize",
				    json_pack("{s:i, s:i}", "height", spec->console_rows, "width",
					      spec->console_cols));
	return proc;
}

/* The spec's memory, cpu and pids objects, each only with the limits asked for. */
static void add_limits(json_t *resources, const struct st_runtime_resources *r)
{
	json_t *mem = json_object(), *cpu = json_object();
	if (r->memory)
		json_object_set_new(mem, "limit", json_integer(r->memory));
	if (r->memory_swap)
		json_object_set_new(mem, "swap", json_integer(r->memory_swap));
	if (r->cpu_shares)
		json_object_set_new(cpu, "shares", json_integer((json_int_t)r->cpu_shares));
	if (r->cpu_quota)
		json_object_set_new(cpu, "quota", json_integer(r->cpu_quota));
	if (r->cpu_period)
		json_object_set_new(cpu, "period", json_integer((json_int_t)r->cpu_period));
	if (json_object_size(mem))
		json_object_set(resources, "memory", mem);
	if (json_object_size(cpu))
		json_object_set(resources, "cpu", cpu);
	json_decref(mem);
	json_decref(cpu);
	if (r->pids_limit)
		json_object_set_new(resources, "pids", json_pack("{s:I}", "limit", r->pids_limit));
}

static json_t *linux_obj(const struct st_runtime_spec *spec)
{
	json_t *ns = json_array();
	const char *types[] = { "pid", "ipc", "uts", "mount" };
	for (size_t i = 0; i < N(types); i++)
		json_array_append_new(ns, json_pack("{s:s}", "type", types[i]));
	/* A network namespace without a path: the runtime sets up lo and nothing else. */
	if (spec->net == ST_RUNTIME_NET_NONE)
		json_array_append_new(ns, json_pack("{s:s}", "type", "network"));
	else if (spec->net == ST_RUNTIME_NET_DEFAULT)
		json_array_append_new(
		    ns, json_pack("{s:s, s:s}", "type", "network", "path", spec->netns));
	/* Deny every device but those the runtime always allows (null, zero, tty, ...), but to an
	 * insecure step. */
	json_t *resources =
	    json_pack("{s:[{s:b, s:s}]}", "devices", "allow", spec->insecure, "access", "rwm");
	if (spec->resources)
		add_limits(resources, spec->resources);
	json_t *lx = json_pack("{s:o, s:o}", "namespaces", ns, "resources", resources);
	if (!spec->insecure) {
		/* Docker's default profile, for the capabilities the process gets; an insecure
		 * step runs unconfined, as BuildKit's does. */
		json_t *caps = cap_set(spec);
		json_object_set_new(lx, "seccomp", st_runtime_seccomp_default(caps));
		json_decref(caps);
		json_object_set_new(lx, "maskedPaths", str_array(masked_paths, N(masked_paths)));
		json_object_set_new(lx, "readonlyPaths",
				    str_array(readonly_paths, N(readonly_paths)));
	}
	if (spec->cgroup_parent) {
		const char *p = spec->cgroup_parent;
		while (*p == '/')
			p++;
		size_t n = strlen(p);
		while (n && p[n - 1] == '/')
			n--;
		st_autofree char *path = st_xasprintf("/%.*s/%s", (int)n, p, spec->id);
		json_object_set_new(lx, "cgroupsPath", json_string(path));
	}
	return lx;
}

/* JSON strings must be UTF-8; jansson refuses anything else, and a dropped argv entry
 * would silently change the command. */
static bool utf8_ok(const char *s)
{
	json_t *t = s ? json_string(s) : NULL;
	json_decref(t);
	return !s || t;
}

static int check_utf8(const char *what, const char *s, struct st_error **err)
{
	if (utf8_ok(s))
		return 0;
	return st_err(err, ST_E_INVALID, "%s is not valid UTF-8", what);
}

static int check_spec(const struct st_runtime_spec *spec, struct st_error **err)
{
	if (check_utf8("rootfs path", spec->rootfs, err) < 0 ||
	    check_utf8("working directory", spec->cwd, err) < 0 ||
	    check_utf8("hostname", spec->hostname, err) < 0)
		return -1;
	for (const char *const *a = spec->args; a && *a; a++)
		if (check_utf8("a command argument", *a, err) < 0)
			return -1;
	for (const char *const *e = spec->env; e && *e; e++)
		if (check_utf8("an environment entry", *e, err) < 0)
			return -1;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct st_runtime_mount *m = &spec->mounts[i];
		if (check_utf8("a mount source", m->source, err) < 0 ||
		    check_utf8("a mount destination", m->destination, err) < 0 ||
		    check_utf8("mount options", m->options, err) < 0)
			return -1;
	}
	if (!spec->rootfs || spec->rootfs[0] != '/')
		return st_err(err, ST_E_INVALID, "rootfs '%s' is not an absolute path",
			      spec->rootfs ? spec->rootfs : "(null)");
	for (size_t i = 0; i < spec->n_rlimits; i++) {
		const struct st_runtime_rlimit *r = &spec->rlimits[i];
		int resource = rlimit_resource(r->name);
		if (resource < 0)
			return st_err(err, ST_E_INVALID, "unknown resource limit '%s'", r->name);
		if (r->hard != -1 && (r->soft == -1 || r->soft > r->hard))
			return st_err(err, ST_E_INVALID,
				      "resource limit '%s': the soft limit is above the hard limit",
				      r->name);
		if (check_raise(r, resource, err) < 0)
			return -1;
	}
	if (spec->cgroup_parent && !spec->id)
		return st_err(err, ST_E_INVALID, "a cgroup parent needs the container's id");
	if (check_utf8("cgroup parent", spec->cgroup_parent, err) < 0)
		return -1;
	if (spec->net == ST_RUNTIME_NET_DEFAULT && (!spec->netns || spec->netns[0] != '/'))
		return st_err(err, ST_E_INVALID,
			      "the default network needs the path of a network namespace");
	if (!spec->args || !spec->args[0] || !spec->args[0][0])
		return st_err(err, ST_E_INVALID, "no command to run");
	if (spec->cwd && spec->cwd[0] != '/')
		return st_err(err, ST_E_INVALID, "working directory '%s' is not an absolute path",
			      spec->cwd);
	for (const char *const *e = spec->env; e && *e; e++)
		if (!strchr(*e, '=') || **e == '=')
			return st_err(err, ST_E_INVALID, "environment entry '%s' is not K=V", *e);
	return 0;
}

char *st_runtime_spec_json(const struct st_runtime_spec *spec, struct st_error **err)
{
	if (check_spec(spec, err) < 0)
		return NULL;
	json_t *mounts = json_array();
	add_standard_mounts(mounts, spec);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		if (add_extra_mount(mounts, &spec->mounts[i], err) < 0) {
			json_decref(mounts);
			return NULL;
		}
	}
	json_t *root =
	    json_pack("{s:s, s:o, s:{s:s, s:b}, s:o, s:o}", "ociVersion", "1.0.2", "process",
		      process_obj(spec), "root", "path", spec->rootfs, "readonly",
		      spec->readonly_rootfs, "mounts", mounts, "linux", linux_obj(spec));
	if (spec->hostname)
		json_object_set_new(root, "hostname", json_string(spec->hostname));
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text)
		st_err(err, ST_E_INVALID,
		       "cannot encode the runtime spec (invalid UTF-8 in a string?)");
	return text;
}

int st_runtime_spec_write(const struct st_runtime_spec *spec, const char *bundle,
			  struct st_error **err)
{
	st_autofree char *text = st_runtime_spec_json(spec, err);
	if (!text)
		return -1;
	if (st_mkdir_p(bundle, 0700, err) < 0)
		return -1;
	st_autofree char *path = st_path_join(bundle, "config.json");
	return st_write_file_atomic(path, NULL, text, strlen(text), 0600, err);
}
