#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "snapshot/snapshot.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

int user_tests(void);

static const char *const base_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL
};

/* One busybox rootfs for the whole group: extracting it per test costs more than the runs. */
struct fix {
	char tmp[64];
	char *rootfs;
	char *state;
	char *bundle;
	int seq;
};

static int group_setup(void **state)
{
	struct fix *f = st_xcalloc(1, sizeof(*f));
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/st-rt-XXXXXX");
	if (!mkdtemp(f->tmp))
		return -1;
	f->rootfs = st_path_join(f->tmp, "rootfs");
	f->state = st_path_join(f->tmp, "state");
	f->bundle = st_path_join(f->tmp, "bundle");
	st_autofree char *cmd = st_xasprintf(
	    "set -e; WORK='%s' '%s/scripts/make-busybox-rootfs.sh' '%s/bb.tar' >/dev/null; "
	    "mkdir -p '%s'; tar -xf '%s/bb.tar' -C '%s'",
	    f->tmp, ST_SOURCE_ROOT, f->tmp, f->rootfs, f->tmp, f->rootfs);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_runtime: cannot make the busybox rootfs\n");
		return -1;
	}
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	struct fix *f = *state;
	st_autofree char *cmd = st_xasprintf("grep -o ' %s[^ ]*' /proc/self/mountinfo | "
					     "xargs -r -n1 umount -l 2>/dev/null",
					     f->tmp);
	if (system(cmd) != 0) {
		/* nothing was mounted */
	}
	st_rm_rf(f->tmp, NULL);
	free(f->rootfs);
	free(f->state);
	free(f->bundle);
	free(f);
	return 0;
}

struct output {
	struct st_buf out, err;
	int chunks;
};

static void collect(void *ctx, enum st_runtime_stream stream, const char *data, size_t len)
{
	struct output *o = ctx;
	st_buf_add(stream == ST_RUNTIME_STDOUT ? &o->out : &o->err, data, len);
	o->chunks++;
}

static void output_release(struct output *o)
{
	st_buf_release(&o->out);
	st_buf_release(&o->err);
	o->chunks = 0;
}

static char *next_id(struct fix *f)
{
	return st_xasprintf("st-test-%d-%d", (int)getpid(), ++f->seq);
}

/* Write the spec and run it with runc; fails the test on any error. Returns the exit code. */
static int run_ok(struct fix *f, const struct st_runtime_spec *spec, struct output *o)
{
	struct st_error *err = NULL;
	if (st_runtime_spec_write(spec, f->bundle, &err) < 0)
		fail_msg("spec: %s", err->msg);
	struct st_runtime_opts rt = { .runtime = "runc", .state_root = f->state };
	st_autofree char *id = next_id(f);
	int code = -1;
	if (st_runtime_run(&rt, f->bundle, id, collect, o, &code, &err) < 0)
		fail_msg("run: %s", err->msg);
	return code;
}

static struct st_runtime_spec sh_spec(struct fix *f, const char *script)
{
	static const char *args[4];
	args[0] = "/bin/sh";
	args[1] = "-c";
	args[2] = script;
	args[3] = NULL;
	return (struct st_runtime_spec){
		.rootfs = f->rootfs, .args = args, .env = base_env, .hostname = "strata"
	};
}

static json_t *find_mount(json_t *mounts, const char *dest)
{
	size_t i;
	json_t *m;
	json_array_foreach(
	    mounts, i,
	    m) if (!strcmp(json_string_value(json_object_get(m, "destination")), dest)) return m;
	return NULL;
}

static bool has_string(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) if (!strcmp(json_string_value(v), s)) return true;
	return false;
}

static void spec_json_has_expected_fields(void **state)
{
	struct fix *f = *state;
	struct st_error *err = NULL;
	const char *args[] = { "/bin/sh", "-c", "make", NULL };
	const char *env[] = { "PATH=/bin", "FOO=bar", NULL };
	const gid_t gids[] = { 50, 63 };
	const struct st_runtime_mount mounts[] = {
		{ ST_RUNTIME_MOUNT_BIND, "/tmp/hosts", "/etc/hosts", ST_RUNTIME_MOUNT_READONLY,
		  NULL },
		{ ST_RUNTIME_MOUNT_TMPFS, NULL, "/run", 0, "size=64m,mode=755" },
	};
	struct st_runtime_spec spec = { .rootfs = f->rootfs,
					.args = args,
					.env = env,
					.cwd = "/src",
					.uid = 1000,
					.gid = 1000,
					.additional_gids = gids,
					.n_additional_gids = 2,
					.hostname = "buildhost",
					.mounts = mounts,
					.n_mounts = 2 };
	st_autofree char *text = st_runtime_spec_json(&spec, &err);
	assert_non_null(text);
	json_t *root = json_loads(text, 0, NULL);
	assert_non_null(root);

	json_t *proc = json_object_get(root, "process");
	assert_true(json_is_false(json_object_get(proc, "terminal")));
	assert_true(json_is_false(json_object_get(proc, "noNewPrivileges")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(proc, "args"), 2)),
			    "make");
	assert_int_equal(json_array_size(json_object_get(proc, "env")), 2);
	assert_string_equal(json_string_value(json_object_get(proc, "cwd")), "/src");
	json_t *user = json_object_get(proc, "user");
	assert_int_equal(json_integer_value(json_object_get(user, "uid")), 1000);
	assert_int_equal(json_integer_value(json_object_get(user, "gid")), 1000);
	assert_int_equal(
	    json_integer_value(json_array_get(json_object_get(user, "additionalGids"), 1)), 63);
	json_t *caps = json_object_get(proc, "capabilities");
	json_t *bounding = json_object_get(caps, "bounding");
	assert_int_equal(json_array_size(bounding), 14);
	assert_true(has_string(bounding, "CAP_CHOWN"));
	assert_true(has_string(bounding, "CAP_AUDIT_WRITE"));
	assert_false(has_string(bounding, "CAP_SYS_ADMIN"));
	/* Not root: the bounding set only. */
	assert_int_equal(json_array_size(json_object_get(caps, "effective")), 0);
	json_t *rl = json_array_get(json_object_get(proc, "rlimits"), 0);
	assert_string_equal(json_string_value(json_object_get(rl, "type")), "RLIMIT_NOFILE");
	struct rlimit cur;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &cur), 0);
	assert_true((rlim_t)json_integer_value(json_object_get(rl, "hard")) <= cur.rlim_max);
	assert_true(json_integer_value(json_object_get(rl, "hard")) <= 1048576);

	json_t *r = json_object_get(root, "root");
	assert_string_equal(json_string_value(json_object_get(r, "path")), f->rootfs);
	assert_true(json_is_false(json_object_get(r, "readonly")));
	assert_string_equal(json_string_value(json_object_get(root, "hostname")), "buildhost");

	json_t *ms = json_object_get(root, "mounts");
	assert_string_equal(json_string_value(json_object_get(find_mount(ms, "/proc"), "type")),
			    "proc");
	assert_string_equal(json_string_value(json_object_get(find_mount(ms, "/dev"), "type")),
			    "tmpfs");
	assert_non_null(find_mount(ms, "/dev/pts"));
	assert_non_null(find_mount(ms, "/dev/shm"));
	assert_true(has_string(json_object_get(find_mount(ms, "/sys"), "options"), "ro"));
	json_t *hosts = find_mount(ms, "/etc/hosts");
	assert_string_equal(json_string_value(json_object_get(hosts, "type")), "bind");
	assert_string_equal(json_string_value(json_object_get(hosts, "source")), "/tmp/hosts");
	assert_true(has_string(json_object_get(hosts, "options"), "rbind"));
	assert_true(has_string(json_object_get(hosts, "options"), "ro"));
	json_t *run = find_mount(ms, "/run");
	assert_true(has_string(json_object_get(run, "options"), "size=64m"));
	assert_true(has_string(json_object_get(run, "options"), "mode=755"));
	assert_false(has_string(json_object_get(run, "options"), "ro"));

	json_t *lx = json_object_get(root, "linux");
	json_t *ns = json_object_get(lx, "namespaces");
	size_t i;
	json_t *v;
	bool net = false, pid = false, mnt = false;
	json_array_foreach(ns, i, v)
	{
		const char *t = json_string_value(json_object_get(v, "type"));
		net |= !strcmp(t, "network");
		pid |= !strcmp(t, "pid");
		mnt |= !strcmp(t, "mount");
	}
	assert_true(net && pid && mnt);
	assert_true(has_string(json_object_get(lx, "maskedPaths"), "/proc/kcore"));
	assert_true(has_string(json_object_get(lx, "readonlyPaths"), "/proc/sys"));
	json_decref(root);

	/* Host network: no network namespace. Root: effective capabilities. */
	spec.net = ST_RUNTIME_NET_HOST;
	spec.uid = 0;
	st_autofree char *host = st_runtime_spec_json(&spec, &err);
	root = json_loads(host, 0, NULL);
	ns = json_object_get(json_object_get(root, "linux"), "namespaces");
	json_array_foreach(ns, i, v)
	    assert_string_not_equal(json_string_value(json_object_get(v, "type")), "network");
	caps = json_object_get(json_object_get(root, "process"), "capabilities");
	assert_int_equal(json_array_size(json_object_get(caps, "effective")), 14);
	json_decref(root);
}

static void bad_specs_are_invalid(void **state)
{
	struct fix *f = *state;
	struct st_error *err = NULL;
	const char *none[] = { NULL };
	const char *args[] = { "true", NULL };
	const char *bad_env[] = { "NOEQUALS", NULL };
	struct st_runtime_spec s = { .rootfs = f->rootfs, .args = none };
	assert_null(st_runtime_spec_json(&s, &err));
	assert_int_equal(err->kind, ST_E_INVALID);
	st_error_clear(&err);
	s = (struct st_runtime_spec){ .rootfs = "relative", .args = args };
	assert_null(st_runtime_spec_json(&s, &err));
	assert_int_equal(err->kind, ST_E_INVALID);
	st_error_clear(&err);
	s = (struct st_runtime_spec){ .rootfs = f->rootfs, .args = args, .env = bad_env };
	assert_null(st_runtime_spec_json(&s, &err));
	assert_int_equal(err->kind, ST_E_INVALID);
	assert_non_null(strstr(err->msg, "NOEQUALS"));
	st_error_clear(&err);
	const char *bad_utf8[] = { "echo", "\xff\xfe", NULL };
	s = (struct st_runtime_spec){ .rootfs = f->rootfs, .args = bad_utf8 };
	assert_null(st_runtime_spec_json(&s, &err));
	assert_int_equal(err->kind, ST_E_INVALID);
	st_error_clear(&err);
}

static void spec_json_carries_the_run_settings(void **state)
{
	struct fix *f = *state;
	struct st_error *err = NULL;
	const char *args[] = { "true", NULL };
	const struct st_runtime_rlimit rl[] = { { "nofile", 1024, 2048 }, { "nproc", 500, 500 } };
	struct st_runtime_spec spec = { .rootfs = f->rootfs,
					.args = args,
					.net = ST_RUNTIME_NET_DEFAULT,
					.netns = "/proc/42/ns/net",
					.shm_size = 128 << 20,
					.rlimits = rl,
					.n_rlimits = 2,
					.insecure = true,
					.cgroup_parent = "/builds/",
					.id = "step1" };
	st_autofree char *text = st_runtime_spec_json(&spec, &err);
	assert_non_null(text);
	json_t *root = json_loads(text, 0, NULL);
	json_t *lx = json_object_get(root, "linux");
	size_t i;
	json_t *v;
	const char *netns = NULL;
	json_array_foreach(json_object_get(lx, "namespaces"), i, v)
	{
		if (!strcmp(json_string_value(json_object_get(v, "type")), "network"))
			netns = json_string_value(json_object_get(v, "path"));
	}
	assert_string_equal(netns, "/proc/42/ns/net");
	json_t *ms = json_object_get(root, "mounts");
	assert_true(
	    has_string(json_object_get(find_mount(ms, "/dev/shm"), "options"), "size=134217728"));
	/* Insecure: nothing masked, /sys writable, every device, more than Docker's 14 caps */
	assert_null(json_object_get(lx, "maskedPaths"));
	assert_null(json_object_get(lx, "readonlyPaths"));
	assert_false(has_string(json_object_get(find_mount(ms, "/sys"), "options"), "ro"));
	json_t *dev =
	    json_array_get(json_object_get(json_object_get(lx, "resources"), "devices"), 0);
	assert_true(json_is_true(json_object_get(dev, "allow")));
	json_t *caps = json_object_get(json_object_get(root, "process"), "capabilities");
	assert_true(json_array_size(json_object_get(caps, "bounding")) > 14);
	assert_string_equal(json_string_value(json_object_get(lx, "cgroupsPath")), "/builds/step1");
	/* The given nofile replaces the default one */
	json_t *rls = json_object_get(json_object_get(root, "process"), "rlimits");
	assert_int_equal(json_array_size(rls), 2);
	json_t *nofile = json_array_get(rls, 0);
	assert_string_equal(json_string_value(json_object_get(nofile, "type")), "RLIMIT_NOFILE");
	assert_int_equal(json_integer_value(json_object_get(nofile, "soft")), 1024);
	assert_int_equal(json_integer_value(json_object_get(nofile, "hard")), 2048);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rls, 1), "type")),
			    "RLIMIT_NPROC");
	json_decref(root);

	/* The default network needs its namespace; limits must be known and in order */
	spec.netns = NULL;
	assert_null(st_runtime_spec_json(&spec, &err));
	assert_int_equal(err->kind, ST_E_INVALID);
	st_error_clear(&err);
	spec.netns = "/proc/42/ns/net";
	const struct st_runtime_rlimit bad[] = { { "nofiles", 1, 1 } };
	spec.rlimits = bad;
	spec.n_rlimits = 1;
	assert_null(st_runtime_spec_json(&spec, &err));
	assert_non_null(strstr(err->msg, "unknown resource limit 'nofiles'"));
	st_error_clear(&err);
}

/* The syscall rule of 'profile' that names 'name', or NULL. */
static json_t *seccomp_rule(json_t *profile, const char *name)
{
	json_t *rules = json_object_get(profile, "syscalls");
	for (size_t i = 0; i < json_array_size(rules); i++) {
		json_t *r = json_array_get(rules, i);
		if (has_string(json_object_get(r, "names"), name))
			return r;
	}
	return NULL;
}

static void spec_json_has_docker_seccomp_profile(void **state)
{
	struct fix *f = *state;
	struct st_error *err = NULL;
	const char *args[] = { "true", NULL };
	struct st_runtime_spec spec = { .rootfs = f->rootfs, .args = args };
	st_autofree char *text = st_runtime_spec_json(&spec, &err);
	assert_non_null(text);
	json_t *root = json_loads(text, 0, NULL);
	json_t *sc = json_object_get(json_object_get(root, "linux"), "seccomp");
	assert_string_equal(json_string_value(json_object_get(sc, "defaultAction")),
			    "SCMP_ACT_ERRNO");
	assert_int_equal(json_integer_value(json_object_get(sc, "defaultErrnoRet")), EPERM);
	assert_non_null(seccomp_rule(sc, "read"));
	/* Rules by capability: chroot comes with CAP_SYS_CHROOT, which a step has; mount and
	 * unshare with CAP_SYS_ADMIN, which it lacks. */
	assert_non_null(seccomp_rule(sc, "chroot"));
	assert_null(seccomp_rule(sc, "mount"));
	assert_null(seccomp_rule(sc, "unshare"));
	json_t *clone3 = seccomp_rule(sc, "clone3");
	assert_string_equal(json_string_value(json_object_get(clone3, "action")), "SCMP_ACT_ERRNO");
	assert_int_equal(json_integer_value(json_object_get(clone3, "errnoRet")), ENOSYS);
	json_t *arg = json_array_get(json_object_get(seccomp_rule(sc, "clone"), "args"), 0);
	assert_string_equal(json_string_value(json_object_get(arg, "op")), "SCMP_CMP_MASKED_EQ");
	assert_int_equal(json_integer_value(json_object_get(arg, "value")), 0x7E020000);
	json_decref(root);

	/* An insecure step runs unconfined. */
	spec.insecure = true;
	st_autofree char *insecure = st_runtime_spec_json(&spec, &err);
	assert_non_null(insecure);
	root = json_loads(insecure, 0, NULL);
	assert_null(json_object_get(json_object_get(root, "linux"), "seccomp"));
	json_decref(root);
}

static void resolv_conf_follows_the_network(void **state)
{
	(void)state;
	const char *host = "search example.org\nnameserver 127.0.0.53\noptions edns0\n";
	struct st_buf b = ST_BUF_INIT;
	st_runtime_resolv_conf(ST_RUNTIME_NET_DEFAULT, host, &b);
	assert_string_equal(st_buf_str(&b),
			    "search example.org\noptions edns0\nnameserver 10.0.2.3\n");
	st_buf_reset(&b);
	st_runtime_resolv_conf(ST_RUNTIME_NET_HOST, host, &b);
	assert_string_equal(st_buf_str(&b), host);
	st_buf_reset(&b);
	st_runtime_resolv_conf(ST_RUNTIME_NET_NONE, host, &b);
	assert_string_equal(st_buf_str(&b), "");
	st_buf_release(&b);
}

static void run_streams_output_and_returns_exit_code(void **state)
{
	struct fix *f = *state;
	struct output o = { ST_BUF_INIT, ST_BUF_INIT, 0 };
	struct st_runtime_spec spec = sh_spec(f, "echo hello; echo err >&2; exit 3");
	assert_int_equal(run_ok(f, &spec, &o), 3);
	assert_string_equal(st_buf_str(&o.out), "hello\n");
	assert_string_equal(st_buf_str(&o.err), "err\n");
	output_release(&o);

	spec = sh_spec(f, "true");
	assert_int_equal(run_ok(f, &spec, &o), 0);
	assert_int_equal(o.chunks, 0);
	output_release(&o);
}

static void run_applies_env_cwd_and_user(void **state)
{
	struct fix *f = *state;
	struct output o = { ST_BUF_INIT, ST_BUF_INIT, 0 };
	const char *env[] = { base_env[0], "FOO=bar baz", NULL };
	const gid_t gids[] = { 5, 50 };
	struct st_runtime_spec spec =
	    sh_spec(f, "id -u; id -g; id -G; pwd; echo \"$FOO\"; hostname; "
		       "grep CapEff /proc/self/status");
	spec.env = env;
	spec.cwd = "/tmp";
	spec.uid = 1000;
	spec.gid = 1001;
	spec.additional_gids = gids;
	spec.n_additional_gids = 2;
	assert_int_equal(run_ok(f, &spec, &o), 0);
	assert_string_equal(st_buf_str(&o.out), "1000\n1001\n1001 5 50\n/tmp\nbar baz\nstrata\n"
						"CapEff:\t0000000000000000\n");
	output_release(&o);

	/* Root gets Docker's capabilities, and a new cwd is created by the runtime. */
	spec = sh_spec(f, "pwd; grep CapEff /proc/self/status; ls /dev");
	spec.cwd = "/work/dir";
	assert_int_equal(run_ok(f, &spec, &o), 0);
	assert_non_null(strstr(st_buf_str(&o.out), "/work/dir\nCapEff:\t00000000a80425fb\n"));
	assert_non_null(strstr(st_buf_str(&o.out), "null"));
	assert_non_null(strstr(st_buf_str(&o.out), "urandom"));
	output_release(&o);
	st_autofree char *made = st_path_join(f->rootfs, "work");
	st_rm_rf(made, NULL);
}

/* Lines of /proc/net/dev that name an interface ("  lo: 123 ..."). */
static int count_interfaces(const char *proc_net_dev)
{
	int n = 0;
	for (const char *line = proc_net_dev; line && *line; line = strchr(line, '\n')) {
		line += *line == '\n';
		const char *colon = strchr(line, ':');
		const char *eol = strchr(line, '\n');
		if (colon && (!eol || colon < eol))
			n++;
	}
	return n;
}

static void network_none_has_only_loopback(void **state)
{
	struct fix *f = *state;
	struct output o = { ST_BUF_INIT, ST_BUF_INIT, 0 };
	struct st_runtime_spec spec = sh_spec(f, "cat /proc/net/dev");
	assert_int_equal(run_ok(f, &spec, &o), 0);
	const char *out = st_buf_str(&o.out);
	assert_non_null(strstr(out, "lo:"));
	assert_int_equal(count_interfaces(out), 1);
	output_release(&o);
	/* The runtime brought lo up. */
	spec = sh_spec(f, "ip link show lo");
	assert_int_equal(run_ok(f, &spec, &o), 0);
	assert_non_null(strstr(st_buf_str(&o.out), "LOOPBACK,UP"));
	output_release(&o);

	spec = sh_spec(f, "cat /proc/net/dev");
	spec.net = ST_RUNTIME_NET_HOST;
	assert_int_equal(run_ok(f, &spec, &o), 0);
	struct st_buf host = ST_BUF_INIT;
	struct st_error *err = NULL;
	assert_int_equal(st_read_file("/proc/net/dev", &host, &err), 0);
	assert_int_equal(count_interfaces(st_buf_str(&o.out)), count_interfaces(st_buf_str(&host)));
	st_buf_release(&host);
	output_release(&o);
}

static void bind_mounted_files_are_visible(void **state)
{
	struct fix *f = *state;
	struct st_error *err = NULL;
	struct output o = { ST_BUF_INIT, ST_BUF_INIT, 0 };
	st_autofree char *hosts = st_path_join(f->tmp, "hosts");
	const char content[] = "127.0.0.1 localhost\n10.1.2.3 strata-test\n";
	assert_int_equal(st_write_file_atomic(hosts, NULL, content, strlen(content), 0644, &err),
			 0);
	const struct st_runtime_mount mounts[] = {
		{ ST_RUNTIME_MOUNT_BIND, hosts, "/etc/hosts", ST_RUNTIME_MOUNT_READONLY, NULL },
		{ ST_RUNTIME_MOUNT_TMPFS, NULL, "/scratch", 0, "size=1m" },
	};
	struct st_runtime_spec spec =
	    sh_spec(f, "cat /etc/hosts; echo x > /scratch/y && cat /scratch/y; "
		       "echo no > /etc/hosts || echo ro");
	spec.mounts = mounts;
	spec.n_mounts = 2;
	/* The shared rootfs must stay as extracted: take the runtime's mount points out again. */
	st_auto_runtime_placeholders struct st_runtime_placeholders placeholders = { 0 };
	assert_int_equal(st_runtime_placeholders_find(&spec, &placeholders, &err), 0);
	assert_int_equal(placeholders.n, 2);
	assert_int_equal(run_ok(f, &spec, &o), 0);
	assert_int_equal(st_runtime_placeholders_remove(f->rootfs, &placeholders, &err), 0);
	st_autofree char *etc_hosts = st_path_join(f->rootfs, "etc/hosts");
	assert_false(st_path_exists(etc_hosts));
	assert_string_equal(st_buf_str(&o.out),
			    "127.0.0.1 localhost\n10.1.2.3 strata-test\nx\nro\n");
	output_release(&o);
	struct st_buf after = ST_BUF_INIT;
	assert_int_equal(st_read_file(hosts, &after, &err), 0);
	assert_string_equal(st_buf_str(&after), content);
	st_buf_release(&after);
}

static bool is_whiteout(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 &&
	       minor(st.st_rdev) == 0;
}

static void a_run_on_overlay_leaves_its_diff_in_upper(void **state)
{
	struct fix *f = *state;
	struct st_error *err = NULL;
	struct output o = { ST_BUF_INIT, ST_BUF_INIT, 0 };
	st_autofree char *base = st_path_join(f->tmp, "steps");
	st_auto_snapshot_step struct st_snapshot_step step = ST_SNAPSHOT_STEP_INIT;
	assert_int_equal(st_snapshot_step_create(base, "run1", &step, &err), 0);
	const char *lowers[] = { f->rootfs };
	if (st_snapshot_step_mount(&step, lowers, 1, &err) < 0)
		fail_msg("mount: %s", err->msg);

	/* busybox has no /etc/hosts: the runtime makes one to mount on, and a dir for /scratch. */
	st_autofree char *hosts = st_path_join(f->tmp, "hosts-overlay");
	assert_int_equal(st_write_file_atomic(hosts, NULL, "127.0.0.1 localhost\n", 20, 0644, &err),
			 0);
	const struct st_runtime_mount mounts[] = {
		{ ST_RUNTIME_MOUNT_BIND, hosts, "/etc/hosts", ST_RUNTIME_MOUNT_READONLY, NULL },
		{ ST_RUNTIME_MOUNT_TMPFS, NULL, "/scratch/deep", 0, NULL },
		{ ST_RUNTIME_MOUNT_TMPFS, NULL, "/tmp", 0, NULL },
	};
	struct st_runtime_spec spec = sh_spec(f, "echo x > /x && rm /bin/ls && echo done");
	spec.rootfs = step.merged;
	spec.mounts = mounts;
	spec.n_mounts = 3;
	st_auto_runtime_placeholders struct st_runtime_placeholders placeholders = { 0 };
	if (st_runtime_placeholders_find(&spec, &placeholders, &err) < 0)
		fail_msg("placeholders: %s", err->msg);
	assert_int_equal(placeholders.n, 2);
	assert_string_equal(placeholders.paths[0], "/etc/hosts");
	assert_string_equal(placeholders.paths[1], "/scratch");
	if (st_runtime_spec_write(&spec, step.bundle, &err) < 0)
		fail_msg("spec: %s", err->msg);
	struct st_runtime_opts rt = { .state_root = f->state };
	st_autofree char *id = next_id(f);
	int code = -1;
	if (st_runtime_run(&rt, step.bundle, id, collect, &o, &code, &err) < 0)
		fail_msg("run: %s", err->msg);
	assert_int_equal(code, 0);
	assert_string_equal(st_buf_str(&o.out), "done\n");
	output_release(&o);
	if (st_runtime_placeholders_remove(step.merged, &placeholders, &err) < 0)
		fail_msg("remove placeholders: %s", err->msg);

	assert_int_equal(st_snapshot_step_umount(&step, &err), 0);
	st_autofree char *uhosts = st_path_join(step.upper, "etc/hosts");
	assert_false(st_path_exists(uhosts));
	st_autofree char *uscratch = st_path_join(step.upper, "scratch");
	assert_false(st_path_exists(uscratch));
	st_autofree char *x = st_path_join(step.upper, "x");
	assert_true(st_path_exists(x));
	st_autofree char *ls = st_path_join(step.upper, "bin/ls");
	assert_true(is_whiteout(ls));
	st_autofree char *lower_ls = st_path_join(f->rootfs, "bin/ls");
	assert_true(st_path_exists(lower_ls));
	assert_int_equal(st_snapshot_step_remove(&step, &err), 0);
}

static void missing_runtime_is_a_clear_error(void **state)
{
	struct fix *f = *state;
	struct st_error *err = NULL;
	const char *args[] = { "true", NULL };
	struct st_runtime_spec spec = { .rootfs = f->rootfs, .args = args };
	assert_int_equal(st_runtime_spec_write(&spec, f->bundle, &err), 0);
	int code = -1;
	struct st_runtime_opts rt = { .runtime = "/nonexistent/runc", .state_root = f->state };
	assert_int_equal(st_runtime_run(&rt, f->bundle, "missing", NULL, NULL, &code, &err), -1);
	assert_int_equal(err->kind, ST_E_RUNTIME);
	assert_string_equal(err->msg, "runtime '/nonexistent/runc' not found: no such file");
	st_error_clear(&err);
	rt.runtime = "no-such-oci-runtime";
	assert_int_equal(st_runtime_run(&rt, f->bundle, "missing", NULL, NULL, &code, &err), -1);
	assert_int_equal(err->kind, ST_E_RUNTIME);
	assert_non_null(strstr(err->msg, "runtime 'no-such-oci-runtime' not found in PATH"));
	st_error_clear(&err);
	assert_int_equal(code, -1);
	rt.runtime = NULL;
	assert_int_equal(st_runtime_run(&rt, f->bundle, "bad/id", NULL, NULL, &code, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	st_error_clear(&err);
}

static void runtime_failing_at_start_is_a_clear_error(void **state)
{
	struct fix *f = *state;
	struct st_error *err = NULL;
	const char *args[] = { "true", NULL };
	struct st_runtime_spec spec = { .rootfs = f->rootfs, .args = args };
	assert_int_equal(st_runtime_spec_write(&spec, f->bundle, &err), 0);
	/* Like crun on a host whose cgroups are in hybrid mode. */
	st_autofree char *fake = st_path_join(f->tmp, "fake-crun");
	const char script[] =
	    "#!/bin/sh\necho 'crun: cgroups in hybrid mode are not supported' >&2\nexit 1\n";
	assert_int_equal(st_write_file_atomic(fake, NULL, script, strlen(script), 0755, &err), 0);
	struct st_runtime_opts rt = { .runtime = fake, .state_root = f->state };
	struct output o = { ST_BUF_INIT, ST_BUF_INIT, 0 };
	int code = -1;
	assert_int_equal(st_runtime_run(&rt, f->bundle, "fake", collect, &o, &code, &err), -1);
	assert_int_equal(err->kind, ST_E_RUNTIME);
	st_autofree char *want = st_xasprintf(
	    "runtime '%s' failed to start: crun: cgroups in hybrid mode are not supported (hint: "
	    "crun "
	    "does not start on hosts whose cgroups are in hybrid mode; use --runtime runc)",
	    fake);
	assert_string_equal(err->msg, want);
	st_error_clear(&err);
	output_release(&o);
}

static void runc_errors_are_runtime_errors_and_the_container_is_gone(void **state)
{
	struct fix *f = *state;
	struct st_error *err = NULL;
	const char *args[] = { "/no/such/command", NULL };
	struct st_runtime_spec spec = { .rootfs = f->rootfs, .args = args, .env = base_env };
	assert_int_equal(st_runtime_spec_write(&spec, f->bundle, &err), 0);
	struct st_runtime_opts rt = { .state_root = f->state };
	int code = -1;
	assert_int_equal(st_runtime_run(&rt, f->bundle, "badexec", NULL, NULL, &code, &err), -1);
	assert_int_equal(err->kind, ST_E_RUNTIME);
	assert_non_null(strstr(err->msg, "runtime 'runc' failed to start: "));
	assert_non_null(strstr(err->msg, "/no/such/command"));
	assert_null(strstr(err->msg, "runc run failed"));
	st_error_clear(&err);
	st_autofree char *leftover = st_path_join(f->state, "badexec");
	assert_false(st_path_exists(leftover));
	/* Deleting what does not exist is fine. */
	assert_int_equal(st_runtime_delete(&rt, "badexec", &err), 0);
}

static bool container_exists(struct fix *f, const char *id)
{
	st_autofree char *dir = st_path_join(f->state, id);
	return st_path_exists(dir);
}

static void write_to_fd(void *ctx, enum st_runtime_stream stream, const char *data, size_t len)
{
	int fd = *(int *)ctx;
	if (write(fd, data, len) < 0) {
		/* the test notices the missing output */
	}
}

/* A strata killed with SIGKILL mid-run must not leave its container running. */
static void killed_caller_does_not_leave_the_container(void **state)
{
	struct fix *f = *state;
	struct st_error *err = NULL;
	struct st_runtime_spec spec = sh_spec(f, "echo started; exec sleep 1000");
	assert_int_equal(st_runtime_spec_write(&spec, f->bundle, &err), 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	const char *id = "orphan";
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(p[0]);
		struct st_runtime_opts rt = { .state_root = f->state };
		int code;
		struct st_error *e = NULL;
		st_runtime_run(&rt, f->bundle, id, write_to_fd, &p[1], &code, &e);
		_exit(0);
	}
	close(p[1]);
	char buf[16] = { 0 };
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	assert_true(n > 0);
	assert_string_equal(buf, "started\n");
	assert_true(container_exists(f, id));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	for (int i = 0; i < 100 && container_exists(f, id); i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	assert_false(container_exists(f, id));
	st_autofree char *cmd = st_xasprintf("pgrep -f '^sleep 1000$' >/dev/null");
	assert_int_not_equal(system(cmd), 0);
}

static void list_reads_the_state_root(void **state)
{
	struct fix *f = *state;
	struct st_error *err = NULL;
	char **ids = NULL;
	size_t n = 0;
	struct st_runtime_opts none = { .runtime = "runc" };
	assert_int_equal(st_runtime_list(&none, &ids, &n, &err), -1);
	assert_int_equal(err->kind, ST_E_INVALID);
	st_error_free(err);
	err = NULL;
	st_autofree char *root = st_path_join(f->tmp, "list-root");
	struct st_runtime_opts rt = { .runtime = "runc", .state_root = root };
	/* A state root the runtime never made has no containers. */
	assert_int_equal(st_runtime_list(&rt, &ids, &n, &err), 0);
	assert_int_equal(n, 0);
	st_autofree char *c = st_path_join(root, "strata-build-dir.abc");
	assert_int_equal(st_mkdir_p(c, 0700, &err), 0);
	st_autofree char *lockf = st_path_join(root, "some.lock");
	assert_int_equal(st_write_file_atomic(lockf, NULL, "", 0, 0600, &err), 0);
	assert_int_equal(st_runtime_list(&rt, &ids, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], "strata-build-dir.abc");
	/* Deleting an id the runtime does not know is not an error. */
	assert_int_equal(st_runtime_delete(&rt, ids[0], &err), 0);
	free(ids[0]);
	free(ids);
}

static void spec_json_asks_for_a_terminal_of_a_size(void **state)
{
	struct fix *f = *state;
	struct st_error *err = NULL;
	const char *args[] = { "/bin/sh", NULL };
	struct st_runtime_spec spec = { .rootfs = f->rootfs,
					.args = args,
					.terminal = true,
					.console_rows = 30,
					.console_cols = 100 };
	st_autofree char *text = st_runtime_spec_json(&spec, &err);
	assert_non_null(text);
	json_t *root = json_loads(text, 0, NULL);
	json_t *proc = json_object_get(root, "process");
	assert_true(json_is_true(json_object_get(proc, "terminal")));
	json_t *size = json_object_get(proc, "consoleSize");
	assert_int_equal(json_integer_value(json_object_get(size, "height")), 30);
	assert_int_equal(json_integer_value(json_object_get(size, "width")), 100);
	json_decref(root);
	/* No size known (the output is not a terminal): the runtime's default. */
	spec.console_rows = spec.console_cols = 0;
	st_autofree char *unsized = st_runtime_spec_json(&spec, &err);
	root = json_loads(unsized, 0, NULL);
	assert_null(json_object_get(json_object_get(root, "process"), "consoleSize"));
	json_decref(root);
}

int main(void)
{
	/* What needs no root runs everywhere; the rest is skipped (77) without it. */
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(spec_json_has_expected_fields),
		cmocka_unit_test(bad_specs_are_invalid),
		cmocka_unit_test(spec_json_carries_the_run_settings),
		cmocka_unit_test(spec_json_asks_for_a_terminal_of_a_size),
		cmocka_unit_test(spec_json_has_docker_seccomp_profile),
		cmocka_unit_test(resolv_conf_follows_the_network),
	};
	int failed =
	    cmocka_run_group_tests_name("runtime specs", plain, group_setup, group_teardown) |
	    user_tests();
	if (geteuid() != 0) {
		fprintf(stderr, "test_runtime: the run tests need root (and runc): skipped\n");
		return failed ? failed : 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(run_streams_output_and_returns_exit_code),
		cmocka_unit_test(run_applies_env_cwd_and_user),
		cmocka_unit_test(network_none_has_only_loopback),
		cmocka_unit_test(bind_mounted_files_are_visible),
		cmocka_unit_test(a_run_on_overlay_leaves_its_diff_in_upper),
		cmocka_unit_test(missing_runtime_is_a_clear_error),
		cmocka_unit_test(runtime_failing_at_start_is_a_clear_error),
		cmocka_unit_test(runc_errors_are_runtime_errors_and_the_container_is_gone),
		cmocka_unit_test(killed_caller_does_not_leave_the_container),
		cmocka_unit_test(list_reads_the_state_root),
	};
	return failed | cmocka_run_group_tests_name("runtime", tests, group_setup, group_teardown);
}
