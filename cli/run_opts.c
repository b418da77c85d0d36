/*
 * run_opts.c: the flags of `run` and `create` that say what a container may use and do:
 * --memory and the other cgroup limits (with Docker's units), capabilities, security options,
 * the stop signal and timeout, and its health check.
 */
#include "run.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "local/local.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/banned.h"

const char run_limits_text[] =
    "      --cap-add list         Add Linux capabilities (or ALL)\n"
    "      --cap-drop list        Drop Linux capabilities (or ALL)\n"
    "      --cpu-shares int       CPU shares (relative weight)\n"
    "      --cpus decimal         Number of CPUs\n"
    "  -m, --memory bytes         Memory limit (e.g. 512m, 1g)\n"
    "      --memory-swap bytes    Swap limit equal to memory plus swap: '-1' to enable "
    "unlimited swap\n"
    "      --pids-limit int       Tune container pids limit (set -1 for unlimited)\n"
    "      --security-opt list    Security Options (no-new-privileges[=true|false])\n"
    "      --stop-signal string   Signal to stop the container\n"
    "      --stop-timeout int     Timeout (in seconds) to stop a container\n"
    "      --health-cmd string    Command to run to check health\n"
    "      --health-interval duration      Time between running the check (ms|s|m|h)\n"
    "      --health-retries int            Consecutive failures needed to report unhealthy\n"
    "      --health-start-period duration  Start period for the container to initialize\n"
    "                                      before starting health-retries countdown\n"
    "      --health-timeout duration       Maximum time to allow one check to run\n"
    "      --no-healthcheck       Disable any container-specified HEALTHCHECK\n"
    "      --platform string      Set platform if server is multi-platform capable\n"
    "      --pull string          Pull image before running (\"always\", \"missing\", "
    "\"never\")\n"
    "                             (default \"missing\", as Docker's)\n";

/* Docker's sizes (go-units RAMInBytes): a number, then b, k, m, g, t or p (powers of 1024),
 * with an optional "i" and "b" after the unit, in either case. */
static int parse_bytes(const char *flag, const char *s, int64_t *out, struct st_error **err)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	bool ok = end != s && *s >= '0' && *s <= '9' && errno == 0 && v >= 0;
	if (*end == ' ')
		end++;
	double mult = 1;
	const char *units = "kmgtp";
	const char *u = *end ? strchr(units, *end | 0x20) : NULL;
	if (u && *end != ' ') {
		for (const char *p = units; p <= u; p++)
			mult *= 1024;
		end++;
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (!ok || *end || v * mult > 9.2e18)
		return st_err(err, ST_E_USAGE,
			      "invalid argument \"%s\" for \"%s\" flag: invalid size: '%s'", s,
			      flag, s);
	*out = (int64_t)(v * mult);
	return 0;
}

static int parse_int(const char *flag, const char *s, int64_t *out, struct st_error **err)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno)
		return st_err(err, ST_E_USAGE,
			      "invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: parsing "
			      "\"%s\": invalid syntax",
			      s, flag, s);
	*out = v;
	return 0;
}

int run_limits_flag(int c, const char *arg, struct run_flags *f, struct st_error **err)
{
	struct st_container_health *h = &f->health;
	struct st_container_limits *l = &f->limits;
	int64_t v;
	switch (c) {
	case 'm':
		return parse_bytes("-m, --memory", arg, &l->memory, err) < 0 ? -1 : 1;
	case RUN_OPT_MEMORY_SWAP:
		if (!strcmp(arg, "-1")) {
			l->memory_swap = -1;
			return 1;
		}
		return parse_bytes("--memory-swap", arg, &l->memory_swap, err) < 0 ? -1 : 1;
	case RUN_OPT_CPUS: {
		char *end;
		double cpus = strtod(arg, &end);
		if (!*arg || *end || !(cpus >= 0 && cpus <= 1e9))
			return st_err(
			    err, ST_E_USAGE,
			    "invalid argument \"%s\" for \"--cpus\" flag: failed to parse "
			    "%s as a rational number",
			    arg, arg);
		l->nano_cpus = (int64_t)(cpus * 1e9 + 0.5);
		return 1;
	}
	case 'c':
		return parse_int("-c, --cpu-shares", arg, &l->cpu_shares, err) < 0 ? -1 : 1;
	case RUN_OPT_PIDS_LIMIT:
		return parse_int("--pids-limit", arg, &l->pids_limit, err) < 0 ? -1 : 1;
	case RUN_OPT_CAP_ADD:
		st_strv_append(&f->cap_add, &l->n_cap_add, arg);
		return 1;
	case RUN_OPT_CAP_DROP:
		st_strv_append(&f->cap_drop, &l->n_cap_drop, arg);
		return 1;
	case RUN_OPT_SECURITY_OPT:
		st_strv_append(&f->security_opt, &l->n_security_opt, arg);
		return 1;
	case RUN_OPT_STOP_SIGNAL:
		l->stop_signal = arg;
		return 1;
	case RUN_OPT_STOP_TIMEOUT:
		if (parse_int("--stop-timeout", arg, &v, err) < 0)
			return -1;
		if (v < -1 || v > 1000000)
			return st_err(err, ST_E_USAGE,
				      "--stop-timeout %s: expected a number of seconds (-1: wait "
				      "forever)",
				      arg);
		l->stop_timeout = (int)v;
		l->has_stop_timeout = true;
		return 1;
	case RUN_OPT_HEALTH_CMD:
		h->cmd = arg;
		return 1;
	case RUN_OPT_HEALTH_INTERVAL:
		return st_fmt_parse_duration("--health-interval", arg, &h->interval_ns, err) < 0
			   ? -1
			   : 1;
	case RUN_OPT_HEALTH_TIMEOUT:
		return st_fmt_parse_duration("--health-timeout", arg, &h->timeout_ns, err) < 0 ? -1
											       : 1;
	case RUN_OPT_HEALTH_START_PERIOD:
		return st_fmt_parse_duration("--health-start-period", arg, &h->start_period_ns,
					     err) < 0
			   ? -1
			   : 1;
	case RUN_OPT_HEALTH_RETRIES:
		return parse_int("--health-retries", arg, &h->retries, err) < 0 ? -1 : 1;
	case RUN_OPT_NO_HEALTHCHECK:
		h->none = true;
		return 1;
	case RUN_OPT_PULL:
		if (strcmp(arg, "always") && strcmp(arg, "missing") && strcmp(arg, "never"))
			return st_err(err, ST_E_USAGE,
				      "invalid pull option: '%s': must be one of \"always\", "
				      "\"missing\" or \"never\"",
				      arg);
		f->pull = arg;
		return 1;
	case RUN_OPT_PLATFORM:
		if (st_platform_parse(arg, &f->platform, err) < 0)
			return st_err_wrap(err, "--platform");
		f->create.platform = &f->platform;
		return 1;
	}
	return 0;
}

void run_limits_finish(struct run_flags *f)
{
	f->limits.cap_add = f->cap_add;
	f->limits.cap_drop = f->cap_drop;
	f->limits.security_opt = f->security_opt;
	f->create.limits = &f->limits;
	f->create.health = &f->health;
}

int run_pull(struct st_cli *cli, struct run_flags *f, struct st_error **err)
{
	/* Docker's default: an image the store lacks is pulled */
	const char *policy = f->pull ? f->pull : "missing";
	if (!strcmp(policy, "never"))
		return 0;
	if (!strcmp(policy, "missing")) {
		struct st_store *s = NULL;
		if (st_cli_store(cli, &s, err) < 0)
			return -1;
		st_auto(st_store_image) struct st_store_image *img = NULL;
		struct st_error *ferr = NULL;
		if (st_local_image_find(s, f->create.image, &img, &ferr) == 0)
			return 0;
		bool missing = ferr->kind == ST_E_NOTFOUND;
		if (!missing) {
			*err = ferr;
			return -1;
		}
		st_error_free(ferr);
		fprintf(cli->errout, "Unable to find image '%s' locally\n", f->create.image);
	}
	/* `pull` as the user would type it, its results on stderr as Docker's run shows them. */
	struct st_buf plat = ST_BUF_INIT;
	if (f->create.platform)
		st_platform_format(f->create.platform, &plat);
	char *argv[] = { "strata pull", "--platform", plat.data, (char *)f->create.image, NULL };
	int argc = 4;
	if (!f->create.platform) {
		argv[1] = (char *)f->create.image;
		argv[2] = NULL;
		argc = 2;
	}
	struct st_cli sub = *cli;
	sub.out = cli->errout;
	int saved = optind;
	optind = 0;
	int rc = cmd_pull(&sub, argc, argv, err);
	optind = saved;
	cli->store = sub.store;
	st_buf_release(&plat);
	return rc;
}

void run_limits_release(struct run_flags *f)
{
	st_strv_free(f->cap_add, f->limits.n_cap_add);
	st_strv_free(f->cap_drop, f->limits.n_cap_drop);
	st_strv_free(f->security_opt, f->limits.n_security_opt);
}
