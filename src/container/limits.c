/*
 * limits.c: what a container may use and do: cgroup limits, capabilities, no-new-privileges,
 * the stop signal and timeout, and whether the kernel's OOM killer ended it.
 *
 * They are checked and kept in the record's HostConfig (and Config for the stop settings) at
 * create, as Docker's daemon keeps them, and turned into the runtime spec at each start.
 */
#include "container/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* Docker's minimum --memory (daemon/daemon_unix.go linuxMinMemory). */
#define MIN_MEMORY (6 * 1024 * 1024)
/* The CFS period Docker divides --cpus over, in microseconds. */
#define CPU_PERIOD 100000

/* ---- cgroup controllers ------------------------------------------------------------------ */

/*
 * Whether 'ctrl' is a controller of strata's own cgroups, from /proc/self/cgroup: a cgroup v1
 * line names its controllers ("4:memory:/path"); on a cgroup v2 host ("0::/path") the
 * controllers enabled there are listed in that cgroup's cgroup.controllers.
 */
static bool has_controller(const char *ctrl)
{
	struct st_buf text = ST_BUF_INIT;
	struct st_error *err = NULL;
	if (st_read_file("/proc/self/cgroup", &text, &err) < 0) {
		st_error_free(err);
		st_buf_release(&text);
		return false;
	}
	bool found = false;
	st_autofree char *v2 = NULL;
	for (char *line = text.data; line && *line && !found;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *list = strchr(line, ':');
		char *path = list ? strchr(list + 1, ':') : NULL;
		if (path) {
			*path++ = '\0';
			list++;
			if (!*list)
				v2 = st_xstrdup(path);
			for (char *c = list; *c && !found;) {
				size_t len = strcspn(c, ",");
				found = len == strlen(ctrl) && !strncmp(c, ctrl, len);
				c += len + (c[len] == ',');
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	st_buf_release(&text);
	if (found || !v2 || !st_path_exists("/sys/fs/cgroup/cgroup.controllers"))
		return found;
	st_autofree char *path = st_xasprintf("/sys/fs/cgroup%s/cgroup.controllers", v2);
	if (st_read_file(path, &text, &err) < 0) {
		st_error_free(err);
		st_buf_release(&text);
		return false;
	}
	for (char *w = text.data; w && *w && !found;) {
		size_t len = strcspn(w, " \n");
		found = len == strlen(ctrl) && !strncmp(w, ctrl, len);
		w += len + (w[len] != '\0');
	}
	st_buf_release(&text);
	return found;
}

static int need_controller(const char *flag, const char *ctrl, struct st_error **err)
{
	if (has_controller(ctrl))
		return 0;
	return st_err(err, ST_E_INVALID,
		      "%s: the host's cgroups have no %s controller, so the limit cannot be "
		      "applied: run without %s",
		      flag, ctrl, flag);
}

/* ---- capabilities ------------------------------------------------------------------------ */

/* Docker's form of a capability: "ALL", else upper case with the "CAP_" prefix. New. */
static char *cap_normalize(const char *name)
{
	if (!strcasecmp(name, "ALL"))
		return st_xstrdup("ALL");
	char *n = strncasecmp(name, "CAP_", 4) ? st_xasprintf("CAP_%s", name) : st_xstrdup(name);
	for (char *p = n; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return n;
}

static bool cap_known(const char *name)
{
	if (!strcmp(name, "ALL"))
		return true;
	for (size_t i = 0; st_runtime_caps_all[i]; i++)
		if (!strcmp(st_runtime_caps_all[i], name))
			return true;
	return false;
}

static json_t *caps_json(const char *flag, char *const *v, size_t n, struct st_error **err)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		st_autofree char *cap = cap_normalize(v[i]);
		if (!cap_known(cap)) {
			json_decref(a);
			st_err(err, ST_E_INVALID, "%s %s: unknown capability: \"%s\"", flag, v[i],
			       cap);
			return NULL;
		}
		json_array_append_new(a, json_string(cap));
	}
	return a;
}

static bool json_has(const json_t *a, const char *s)
{
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e) if (!strcmp(json_string_value(e), s)) return true;
	return false;
}

static void push(char ***v, size_t *n, const char *s)
{
	*v = st_xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = st_xstrdup(s);
	(*v)[*n] = NULL;
}

char **container_caps(const struct st_container *c, size_t *n)
{
	const json_t *hc = json_object_get(c->rec, "HostConfig");
	const json_t *add = json_object_get(hc, "CapAdd"), *drop = json_object_get(hc, "CapDrop");
	*n = 0;
	if (!json_array_size(add) && !json_array_size(drop))
		return NULL;
	/* As moby's TweakCapabilities: ALL added is every one but those dropped; ALL dropped is
	 * only those added; else the defaults less those dropped, plus those added. */
	char **v = st_xcalloc(1, sizeof(*v));
	size_t i;
	json_t *e;
	if (json_has(add, "ALL")) {
		for (i = 0; st_runtime_caps_all[i]; i++)
			if (!json_has(drop, st_runtime_caps_all[i]))
				push(&v, n, st_runtime_caps_all[i]);
		return v;
	}
	if (!json_has(drop, "ALL"))
		for (i = 0; st_runtime_caps_default[i]; i++)
			if (!json_has(drop, st_runtime_caps_default[i]))
				push(&v, n, st_runtime_caps_default[i]);
	json_array_foreach(add, i, e)
	{
		bool dup = false;
		for (size_t k = 0; k < *n && !dup; k++)
			dup = !strcmp(v[k], json_string_value(e));
		if (!dup)
			push(&v, n, json_string_value(e));
	}
	return v;
}

/* ---- security options -------------------------------------------------------------------- */

/* Docker's no-new-privileges, "=true" or ":true" (its old form) optional. */
static int parse_security_opt(const char *opt, bool *nnp, struct st_error **err)
{
	static const char key[] = "no-new-privileges";
	size_t len = strlen(key);
	if (strncmp(opt, key, len) || (opt[len] && opt[len] != '=' && opt[len] != ':'))
		return st_err(err, ST_E_INVALID,
			      "--security-opt %s: not supported: strata takes "
			      "no-new-privileges[=true|false]",
			      opt);
	const char *v = opt[len] ? opt + len + 1 : "true";
	if (!strcmp(v, "true"))
		*nnp = true;
	else if (!strcmp(v, "false"))
		*nnp = false;
	else
		return st_err(err, ST_E_INVALID,
			      "--security-opt %s: expected true or false after '='", opt);
	return 0;
}

bool container_no_new_privileges(const struct st_container *c)
{
	bool nnp = false;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(json_object_get(c->rec, "HostConfig"), "SecurityOpt"), i,
			   e)
	{
		struct st_error *err = NULL;
		if (parse_security_opt(json_string_value(e), &nnp, &err) < 0)
			st_error_free(err); /* checked at create */
	}
	return nnp;
}

/* ---- the record -------------------------------------------------------------------------- */

static int check_resources(const struct st_container_limits *l, struct st_error **err)
{
	if (l->memory < 0 || (l->memory && l->memory < MIN_MEMORY))
		return st_err(err, ST_E_INVALID, "--memory: Minimum memory limit allowed is 6MB");
	if (l->memory_swap > 0 && !l->memory)
		return st_err(err, ST_E_INVALID,
			      "--memory-swap: You should always set the Memory limit when using "
			      "Memoryswap limit, see usage");
	if (l->memory_swap > 0 && l->memory_swap < l->memory)
		return st_err(
		    err, ST_E_INVALID,
		    "--memory-swap: Minimum memoryswap limit should be larger than memory "
		    "limit, see usage");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (l->nano_cpus < 0 || (cpus > 0 && l->nano_cpus > cpus * 1000000000LL))
		return st_err(err, ST_E_INVALID,
			      "--cpus: Range of CPUs is from 0.01 to %ld.00, as there are only %ld "
			      "CPUs available",
			      cpus, cpus);
	if (l->nano_cpus && l->nano_cpus < 10000000)
		return st_err(err, ST_E_INVALID, "--cpus: Range of CPUs is from 0.01 to %ld.00",
			      cpus);
	if (l->cpu_shares < 0)
		return st_err(err, ST_E_INVALID, "--cpu-shares: must not be negative");
	if ((l->memory || l->memory_swap) && need_controller("--memory", "memory", err) < 0)
		return -1;
	if (l->nano_cpus && need_controller("--cpus", "cpu", err) < 0)
		return -1;
	if (l->cpu_shares && need_controller("--cpu-shares", "cpu", err) < 0)
		return -1;
	if (l->pids_limit > 0 && need_controller("--pids-limit", "pids", err) < 0)
		return -1;
	return 0;
}

int container_limits_record(const struct st_container_limits *l, json_t *host_config,
			    json_t *config, struct st_error **err)
{
	static const struct st_container_limits none = { 0 };
	if (!l)
		l = &none;
	if (check_resources(l, err) < 0)
		return -1;
	json_t *add = caps_json("--cap-add", l->cap_add, l->n_cap_add, err);
	if (!add)
		return -1;
	json_t *drop = caps_json("--cap-drop", l->cap_drop, l->n_cap_drop, err);
	if (!drop) {
		json_decref(add);
		return -1;
	}
	json_t *sec = json_array();
	for (size_t i = 0; i < l->n_security_opt; i++) {
		bool nnp;
		if (parse_security_opt(l->security_opt[i], &nnp, err) < 0) {
			json_decref(add);
			json_decref(drop);
			json_decref(sec);
			return -1;
		}
		json_array_append_new(sec, json_string(l->security_opt[i]));
	}
	int sig;
	if (l->stop_signal && st_container_signal_parse(l->stop_signal, &sig, err) < 0) {
		json_decref(add);
		json_decref(drop);
		json_decref(sec);
		return st_err_wrap(err, "--stop-signal");
	}
	/* Docker shows a memory limit without --memory-swap as twice the memory: the same
	 * amount of swap again. */
	int64_t swap = l->memory_swap ? l->memory_swap : l->memory * 2;
	json_object_set_new(host_config, "Memory", json_integer(l->memory));
	json_object_set_new(host_config, "MemorySwap", json_integer(swap));
	json_object_set_new(host_config, "NanoCpus", json_integer(l->nano_cpus));
	json_object_set_new(host_config, "CpuShares", json_integer(l->cpu_shares));
	json_object_set_new(host_config, "PidsLimit",
			    l->pids_limit > 0 ? json_integer(l->pids_limit) : json_null());
	json_object_set_new(host_config, "CapAdd", json_array_size(add) ? add : json_null());
	json_object_set_new(host_config, "CapDrop", json_array_size(drop) ? drop : json_null());
	json_object_set_new(host_config, "SecurityOpt", json_array_size(sec) ? sec : json_null());
	if (!json_array_size(add))
		json_decref(add);
	if (!json_array_size(drop))
		json_decref(drop);
	if (!json_array_size(sec))
		json_decref(sec);
	if (l->stop_signal)
		json_object_set_new(config, "StopSignal", json_string(l->stop_signal));
	if (l->has_stop_timeout)
		json_object_set_new(config, "StopTimeout", json_integer(l->stop_timeout));
	return 0;
}

bool container_resources(const struct st_container *c, struct st_runtime_resources *r)
{
	const json_t *hc = json_object_get(c->rec, "HostConfig");
	memset(r, 0, sizeof(*r));
	r->memory = json_integer_value(json_object_get(hc, "Memory"));
	/* Docker leaves the swap limit out on a host without swap accounting. */
	if (st_path_exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") ||
	    st_path_exists("/sys/fs/cgroup/cgroup.controllers"))
		r->memory_swap = json_integer_value(json_object_get(hc, "MemorySwap"));
	r->cpu_shares = (uint64_t)json_integer_value(json_object_get(hc, "CpuShares"));
	int64_t nano = json_integer_value(json_object_get(hc, "NanoCpus"));
	if (nano) {
		r->cpu_period = CPU_PERIOD;
		r->cpu_quota = nano * CPU_PERIOD / 1000000000LL;
	}
	r->pids_limit = json_integer_value(json_object_get(hc, "PidsLimit"));
	return r->memory || r->memory_swap || r->cpu_shares || r->cpu_quota || r->pids_limit;
}

/* ---- the OOM killer ---------------------------------------------------------------------- */

/* The value of 'key' in a cgroup file of "key value" lines, or 0. */
static long long cgroup_value(const char *path, const char *key)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[256];
	long long v = 0;
	size_t len = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ' ')
			v = strtoll(line + len + 1, NULL, 10);
	fclose(f);
	return v;
}

bool container_oom_killed(const char *id)
{
	/* The runtime makes the container's cgroup below its own, which is strata's. */
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return false;
	char line[4096];
	long long kills = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *list = strchr(line, ':');
		char *path = list ? strchr(list + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		list++;
		if (!strcmp(path, "/"))
			path = "";
		st_autofree char *file = NULL;
		if (!strcmp(list, "memory"))
			file =
			    st_xasprintf("/sys/fs/cgroup/memory%s/%s/memory.oom_control", path, id);
		else if (!*list)
			file = st_xasprintf("/sys/fs/cgroup%s/%s/memory.events", path, id);
		if (file)
			kills += cgroup_value(file, "oom_kill");
	}
	fclose(f);
	return kills > 0;
}
