/*
 * health.c: HEALTHCHECK for running containers, as Docker runs it.
 *
 * The check (the image's HEALTHCHECK, or --health-* at create) is kept in the record's
 * Config.Healthcheck. A detached container's supervisor forks one prober process, which runs
 * the check with `runc exec` every interval, and writes State.Health to containers/<id>/
 * health.json (whole, by rename): Status, FailingStreak and the last five results, as Docker
 * keeps them. The prober dies with the supervisor (PR_SET_PDEATHSIG) and is killed when the
 * container exits, so health.json says what the last check found.
 */
#include "container/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* Docker's defaults (moby container/health.go, daemon/health.go). */
#define DEFAULT_INTERVAL_NS (30 * 1000000000LL)
#define DEFAULT_TIMEOUT_NS (30 * 1000000000LL)
#define DEFAULT_RETRIES 3
#define MIN_INTERVAL_NS 1000000LL /* 1 ms */
#define MAX_LOG_ENTRIES 5
#define MAX_OUTPUT_LEN 4096
#define WAIT_NS (20 * 1000 * 1000)

/* ---- the record -------------------------------------------------------------------------- */

static int check_duration(const char *flag, int64_t ns, struct st_error **err)
{
	if (ns < 0)
		return st_err(err, ST_E_INVALID, "%s cannot be negative", flag);
	if (ns && ns < MIN_INTERVAL_NS)
		return st_err(err, ST_E_INVALID, "%s in Healthcheck cannot be less than 1ms", flag);
	return 0;
}

int container_health_record(const struct st_container_health *h,
			    const struct st_image_healthcheck *img, json_t *config,
			    struct st_error **err)
{
	static const struct st_container_health none = { 0 };
	if (!h)
		h = &none;
	bool flags = h->cmd || h->interval_ns || h->timeout_ns || h->start_period_ns || h->retries;
	if (h->none && flags)
		return st_err(err, ST_E_INVALID,
			      "--no-healthcheck conflicts with --health-* options");
	if (check_duration("--health-interval", h->interval_ns, err) < 0 ||
	    check_duration("--health-timeout", h->timeout_ns, err) < 0 ||
	    check_duration("--health-start-period", h->start_period_ns, err) < 0)
		return -1;
	if (h->retries < 0)
		return st_err(err, ST_E_INVALID, "--health-retries cannot be negative");
	if (h->none) {
		json_object_set_new(config, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
		return 0;
	}
	if (!flags && !img)
		return 0;
	/* The flags over the image's, one field at a time, as Docker merges them. */
	json_t *test = json_array();
	if (h->cmd) {
		json_array_append_new(test, json_string("CMD-SHELL"));
		json_array_append_new(test, json_string(h->cmd));
	} else if (img) {
		for (size_t i = 0; i < img->test.n; i++)
			json_array_append_new(test, json_string(img->test.v[i]));
	}
	json_t *hc = json_pack("{s:o}", "Test", test);
	int64_t interval = h->interval_ns ? h->interval_ns : img ? img->interval_ns : 0;
	int64_t timeout = h->timeout_ns ? h->timeout_ns : img ? img->timeout_ns : 0;
	int64_t start = h->start_period_ns ? h->start_period_ns : img ? img->start_period_ns : 0;
	int64_t retries = h->retries ? h->retries : img ? img->retries : 0;
	if (interval)
		json_object_set_new(hc, "Interval", json_integer(interval));
	if (timeout)
		json_object_set_new(hc, "Timeout", json_integer(timeout));
	if (start)
		json_object_set_new(hc, "StartPeriod", json_integer(start));
	if (retries)
		json_object_set_new(hc, "Retries", json_integer(retries));
	json_object_set_new(config, "Healthcheck", hc);
	return 0;
}

/* The check's command line, or NULL when the container has none (or "NONE"). New vector. */
static char **check_argv(const struct st_container *c, size_t *n)
{
	const json_t *test = json_object_get(
	    json_object_get(json_object_get(c->rec, "Config"), "Healthcheck"), "Test");
	const char *kind = json_string_value(json_array_get(test, 0));
	*n = 0;
	if (!kind || json_array_size(test) < 2)
		return NULL;
	char **v = NULL;
	if (!strcmp(kind, "CMD-SHELL")) {
		v = st_xcalloc(4, sizeof(*v));
		v[0] = st_xstrdup("/bin/sh");
		v[1] = st_xstrdup("-c");
		v[2] = st_xstrdup(json_string_value(json_array_get(test, 1)));
		*n = 3;
	} else if (!strcmp(kind, "CMD")) {
		v = st_xcalloc(json_array_size(test), sizeof(*v));
		for (size_t i = 1; i < json_array_size(test); i++)
			v[(*n)++] = st_xstrdup(json_string_value(json_array_get(test, i)));
	}
	return v;
}

static int64_t hc_ns(const struct st_container *c, const char *key, int64_t dflt)
{
	int64_t v = json_integer_value(json_object_get(
	    json_object_get(json_object_get(c->rec, "Config"), "Healthcheck"), key));
	return v > 0 ? v : dflt;
}

/* ---- the prober -------------------------------------------------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void write_health(const struct st_container *c, json_t *health)
{
	st_autofree char *path = container_path(c, "health.json");
	char *text = json_dumps(health, JSON_COMPACT);
	struct st_error *err = NULL;
	if (st_write_file_atomic(path, NULL, text, strlen(text), 0644, &err) < 0)
		st_error_free(err); /* the next check writes it again */
	free(text);
}

/* Go's time.Duration String() of whole and fractional seconds, for the timeout message. */
static char *go_seconds(int64_t ns)
{
	return st_xasprintf("%gs", (double)ns / 1e9);
}

/*
 * One check: `runc exec` of 'argv' in the container, its output (stdout and stderr, the first
 * MAX_OUTPUT_LEN bytes) and exit code; killed after 'timeout' ns, exit code -1 then, as
 * Docker reports a check that timed out.
 */
static json_t *probe(const char *runc, const char *state_root, const struct st_container *c,
		     char **argv, size_t argc, int64_t timeout)
{
	st_autofree char *out_path = container_path(c, "health.out");
	st_autofree char *pid_path = container_path(c, "health.pid");
	st_autofree char *start = container_now();
	unlink(pid_path);
	const char **args = st_xcalloc(argc + 10, sizeof(*args));
	size_t k = 0;
	args[k++] = runc;
	args[k++] = "--root";
	args[k++] = state_root;
	args[k++] = "exec";
	args[k++] = "--pid-file";
	args[k++] = pid_path;
	args[k++] = st_container_id(c);
	for (size_t i = 0; i < argc; i++)
		args[k++] = argv[i];
	pid_t pid = fork();
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(126);
		execv(runc, (char *const *)args);
		_exit(127);
	}
	free(args);
	int status = 0, code = -1;
	bool timed_out = false;
	if (pid > 0) {
		for (int64_t deadline = now_ns() + timeout;;) {
			pid_t r = waitpid(pid, &status, WNOHANG);
			if (r == pid || (r < 0 && errno != EINTR))
				break;
			if (now_ns() >= deadline) {
				/* The checked process first, then runc, which waits for it. */
				FILE *f = fopen(pid_path, "re");
				int cpid = 0;
				if (f && fscanf(f, "%d", &cpid) == 1 && cpid > 0)
					kill(cpid, SIGKILL);
				if (f)
					fclose(f);
				kill(pid, SIGKILL);
				while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
					;
				timed_out = true;
				break;
			}
			sleep_ns(WAIT_NS);
		}
		if (!timed_out && WIFEXITED(status))
			code = WEXITSTATUS(status);
	}
	struct st_buf output = ST_BUF_INIT;
	if (timed_out) {
		st_autofree char *t = go_seconds(timeout);
		st_buf_addf(&output, "Health check exceeded timeout (%s)", t);
	} else {
		st_autoclose int fd = open(out_path, O_RDONLY | O_CLOEXEC);
		char buf[MAX_OUTPUT_LEN];
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		if (n > 0)
			st_buf_add(&output, buf, (size_t)n);
	}
	unlink(out_path);
	unlink(pid_path);
	st_autofree char *end = container_now();
	json_t *res = json_pack("{s:s, s:s, s:i, s:s%}", "Start", start, "End", end, "ExitCode",
				code, "Output", output.data ? output.data : "", output.len);
	st_buf_release(&output);
	return res;
}

/* Docker's rules: a pass makes it healthy; a failure after the start period counts towards
 * 'retries', and that many in a row make it unhealthy. */
static void record(json_t *health, json_t *result, bool in_start_period, int64_t retries)
{
	json_t *log = json_object_get(health, "Log");
	json_array_append_new(log, result);
	while (json_array_size(log) > MAX_LOG_ENTRIES)
		json_array_remove(log, 0);
	int64_t streak = json_integer_value(json_object_get(health, "FailingStreak"));
	if (json_integer_value(json_object_get(result, "ExitCode")) == 0) {
		json_object_set_new(health, "Status", json_string("healthy"));
		streak = 0;
	} else if (!in_start_period) {
		streak++;
		if (streak >= retries)
			json_object_set_new(health, "Status", json_string("unhealthy"));
	}
	json_object_set_new(health, "FailingStreak", json_integer(streak));
}

static void __attribute__((noreturn))
prober(struct st_store *s, const struct st_container *c, char **argv, size_t argc)
{
	syscall(SYS_close_range, 3U, ~0U, 0U);
	st_autofree char *runc = st_runtime_search_path("runc");
	st_autofree char *state_root = container_state_root(s);
	st_autofree char *pid_file = container_path(c, "bundle/pid");
	int64_t interval = hc_ns(c, "Interval", DEFAULT_INTERVAL_NS);
	int64_t timeout = hc_ns(c, "Timeout", DEFAULT_TIMEOUT_NS);
	int64_t start_period = hc_ns(c, "StartPeriod", 0);
	int64_t retries = hc_ns(c, "Retries", DEFAULT_RETRIES);
	json_t *health =
	    json_pack("{s:s, s:i, s:[]}", "Status", "starting", "FailingStreak", 0, "Log");
	write_health(c, health);
	if (!runc)
		_exit(1);
	/* The runtime writes the pid file once the container runs. */
	while (!st_path_exists(pid_file))
		sleep_ns(WAIT_NS);
	int64_t started = now_ns();
	for (;;) {
		sleep_ns(interval);
		json_t *res = probe(runc, state_root, c, argv, argc, timeout);
		record(health, res, now_ns() - started < start_period, retries);
		write_health(c, health);
	}
}

pid_t container_health_start(struct st_store *s, const struct st_container *c)
{
	st_autofree char *path = container_path(c, "health.json");
	unlink(path); /* a new start begins with "starting" */
	size_t argc = 0;
	char **argv = check_argv(c, &argc);
	if (!argv)
		return 0;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		prober(s, c, argv, argc);
	}
	st_strv_free(argv, argc);
	return pid > 0 ? pid : 0;
}

void container_health_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

json_t *container_health_read(const struct st_container *c)
{
	size_t argc = 0;
	char **argv = check_argv(c, &argc);
	if (!argv)
		return NULL;
	st_strv_free(argv, argc);
	st_autofree char *path = container_path(c, "health.json");
	json_t *h = json_load_file(path, 0, NULL);
	if (!json_is_object(h)) {
		json_decref(h);
		h = json_pack("{s:s, s:i, s:[]}", "Status", "starting", "FailingStreak", 0, "Log");
	}
	return h;
}
