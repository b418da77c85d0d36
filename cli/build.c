/* build.c: strata build [OPTIONS] CONTEXT|- : a Dockerfile and a context become an image. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builder/builder.h"
#include "build_checks.h"
#include "build_stdin.h"
#include "cli.h"
#include "snapshot/snapshot.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/timestamp.h"
#include "util/fs.h"
#include "util/banned.h"

enum progress_mode { PROGRESS_AUTO, PROGRESS_PLAIN, PROGRESS_TTY, PROGRESS_QUIET };

struct build_cli_opts {
	struct st_builder_opts b;
	const char **tags, **args, **labels, **nocache_stages, **cache_from, **cache_to;
	struct st_builder_secret *secrets;
	size_t nsecrets;
	char **secret_strs; /* the parsed fields the secrets borrow */
	size_t nsecret_strs;
	size_t ntags, nargs, nlabels, nnocache, ncache_from, ncache_to;
	const char *iidfile;
	/* -o, --push, --metadata-file */
	struct st_builder_output *outputs;
	size_t noutputs;
	bool push;
	const char *metadata_file;
	struct st_builder_context *contexts; /* --build-context */
	size_t ncontexts;
	const char *analyze; /* --analyze: "" to print the findings, "ci" to judge the rules */
	bool quiet;
	enum progress_mode progress;
	const char *context;
	const char *file;
	/* How RUN steps run, and what the image carries besides its config. */
	struct st_builder_host *hosts; /* --add-host; they own their strings */
	size_t nhosts;
	struct st_builder_ssh *ssh; /* --ssh; they own their strings */
	size_t nssh;
	struct st_runtime_rlimit *ulimits; /* --ulimit; names borrowed from the runtime */
	size_t nulimits;
	const char **annotations;
	size_t nannotations;
};

static const char usage_text[] =
    "Usage: strata build [OPTIONS] PATH|URL|-\n\n"
    "Build an image from a Dockerfile\n\n"
    "With -, stdin holds a tar of the context (plain or compressed), or a Dockerfile and no\n"
    "context. A git URL (https://host/repo.git#ref:subdir, git://..., git@host:repo.git) is\n"
    "checked out as the context.\n\n"
    "Options:\n"
    "      --add-host list           Add a custom host-to-IP mapping (host:ip; ip may be "
    "host-gateway)\n"
    "      --allow list              Allow extra privileged entitlement: security.insecure, "
    "network.host\n"
    "      --analyze                 Then print its efficiency and top findings (strata dive),\n"
    "                                and the lint rules on what it holds, by Dockerfile line,\n"
    "                                each platform's (=ci: fail the build when a .dive-ci\n"
    "                                rule fails for any)\n"
    "      --attest stringArray      Attestation: type=sbom or type=provenance[,mode=min|max]\n"
    "      --annotation list         Add an annotation to the image's manifest "
    "([manifest:]key=value)\n"
    "      --build-arg list          Set build-time variables (K=V, or K to take it from the "
    "environment)\n"
    "      --build-context list      Additional build contexts: NAME=DIR,\n"
    "                                NAME=docker-image://REF,\n"
    "                                NAME=oci-layout://DIR[:TAG|@DIGEST] or NAME=<git URL>\n"
    "      --cache-from stringArray  Use a shared build cache: type=local,src=DIR[,tag=T],\n"
    "                                type=registry,ref=REF, or REF\n"
    "      --cache-to stringArray    Share this build's cache: type=local,dest=DIR[,tag=T] or\n"
    "                                type=registry,ref=REF, or type=inline (in the image);\n"
    "                                mode=min (default: the final stage's steps) or\n"
    "                                mode=max (every stage's)\n"
    "      --cgroup-parent string    Parent cgroup of the RUN steps' containers\n"
    "      --check                   Run the build checks only: print what they find, build "
    "nothing\n"
    "  -f, --file string             Name of the Dockerfile (default: PATH/Dockerfile; - reads "
    "stdin)\n"
    "      --iidfile string          Write the image ID to the file\n"
    "  -j, --jobs int                Stages built at once (default: the number of CPUs)\n"
    "      --label list              Set metadata for an image\n"
    "      --load                    Accepted: the image is always in the store\n"
    "      --metadata-file string    Write build result metadata to a file\n"
    "      --network string          Networking mode for RUN: default, none or host (default: "
    "default)\n"
    "      --no-cache                Do not use cache when building the image\n"
    "      --no-cache-filter list    Do not cache the given stages\n"
    "  -o, --output stringArray      Output destination (format: type=local,dest=path): type\n"
    "                                image (name=, push=true), registry, local, tar, oci or\n"
    "                                docker (dest=, name=, tar=false); DIR for local, - for a\n"
    "                                tar on stdout; images take compression=gzip|zstd|\n"
    "                                uncompressed, compression-level=N, force-compression=true\n"
    "                                and oci-mediatypes=false; local and tar of several\n"
    "                                platforms: a directory each (platform-split=false: one);\n"
    "                                their attestations as files (attestation-prefix=P)\n"
    "      --platform string         Target platforms, comma-separated (linux/amd64,linux/arm64):\n"
    "                                several make an OCI index; a foreign RUN needs QEMU\n"
    "      --progress string         auto, plain, tty or quiet (default: auto)\n"
    "      --provenance string       Attach SLSA v1 provenance: true, false, min or max\n"
    "                                (mode=min|max[,builder-id=URI])\n"
    "      --pull string             missing, never or always (default: missing)\n"
    "      --push                    Shorthand for --output=type=image,push=true\n"
    "  -q, --quiet                   Print only the image ID on success\n"
    "      --runtime string          OCI runtime for RUN: runc (default), crun or a path\n"
    "      --sbom string             Attach an SPDX SBOM of the image: true or false\n"
    "      --secret stringArray      Secret for RUN --mount=type=secret: id=ID,src=FILE or "
    "id=ID,env=VAR\n"
    "      --ssh stringArray         SSH agent socket or keys for RUN --mount=type=ssh "
    "(default|ID[=SOCKET|KEY[,...]])\n"
    "      --shm-size bytes          Size of /dev/shm in RUN steps (default: 64m)\n"
    "      --source-date-epoch int   Clamp every timestamp to this time (also $SOURCE_DATE_EPOCH)\n"
    "      --squash                  Squash the final stage's new layers into one\n"
    "  -t, --tag list                Name and optionally a tag (name:tag)\n"
    "      --target string           Set the target build stage to build\n"
    "      --ulimit ulimit           Resource limit of RUN steps (name=soft[:hard])\n";

static void push(const char ***v, size_t *n, const char *s)
{
	*v = st_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = s;
}

static const char *secret_str(struct build_cli_opts *o, const char *p, size_t n)
{
	o->secret_strs = st_xrealloc(o->secret_strs, (o->nsecret_strs + 1) * sizeof(char *));
	return o->secret_strs[o->nsecret_strs++] = st_xstrndup(p, n);
}

/* Docker's --secret: "id=ID[,type=file|env][,src|source=FILE][,env=VAR]". Without a type, a
 * src means a file, an env a variable; with neither, the variable named ID if it is set, else
 * the file named ID. The content is read by the build, when a step mounts the secret. */
static int parse_secret(struct build_cli_opts *o, const char *spec, struct st_error **err)
{
	const char *id = NULL, *type = NULL, *src = NULL, *envname = NULL;
	for (const char *p = spec; *p;) {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);
		if (!eq)
			return st_cli_usage(err, "invalid --secret '%s': expected key=value", spec);
		size_t kl = (size_t)(eq - p);
		const char *v = secret_str(o, eq + 1, n - kl - 1);
		if (kl == 2 && !strncmp(p, "id", 2))
			id = v;
		else if (kl == 4 && !strncmp(p, "type", 4))
			type = v;
		else if ((kl == 3 && !strncmp(p, "src", 3)) ||
			 (kl == 6 && !strncmp(p, "source", 6)))
			src = v;
		else if (kl == 3 && !strncmp(p, "env", 3))
			envname = v;
		else
			return st_cli_usage(err, "invalid --secret '%s': unexpected key '%.*s'",
					    spec, (int)kl, p);
		p += n + (p[n] == ',');
	}
	if (!id || !*id)
		return st_cli_usage(err, "invalid --secret '%s': id is required", spec);
	if (type && strcmp(type, "file") && strcmp(type, "env"))
		return st_cli_usage(err, "invalid --secret '%s': type must be file or env", spec);
	if (!type)
		type = src ? "file" : envname ? "env" : getenv(id) ? "env" : "file";
	struct st_builder_secret sec = { .id = id };
	if (!strcmp(type, "file")) {
		sec.src = src ? src : id;
		if (access(sec.src, R_OK) < 0)
			return st_err_errno(err, "secret '%s': cannot read '%s'", id, sec.src);
	} else {
		const char *name = envname ? envname : src ? src : id;
		sec.value = getenv(name);
		if (!sec.value)
			return st_err(err, ST_E_NOTFOUND,
				      "secret '%s': environment variable %s is not set", id, name);
	}
	o->secrets = st_xrealloc(o->secrets, (o->nsecrets + 1) * sizeof(*o->secrets));
	o->secrets[o->nsecrets++] = sec;
	return 0;
}

/* One -o, parsed at once: a bad one fails before any work. */
static int parse_output(struct build_cli_opts *o, const char *arg, struct st_error **err)
{
	o->outputs = st_xrealloc(o->outputs, (o->noutputs + 1) * sizeof(*o->outputs));
	struct st_builder_output *out = &o->outputs[o->noutputs++];
	*out = (struct st_builder_output)ST_BUILDER_OUTPUT_INIT;
	if (st_builder_output_parse(arg, out, err) < 0)
		return -1;
	if (out->dest && !strcmp(out->dest, "-"))
		out->fd = STDOUT_FILENO;
	return 0;
}

/* buildx's --push: the first output, an image, is pushed; with none, one is made. */
static int finish_outputs(struct build_cli_opts *o, struct st_error **err)
{
	if (!o->push)
		return 0;
	if (o->noutputs == 0) {
		o->outputs = st_xcalloc(1, sizeof(*o->outputs));
		o->outputs[0] = (struct st_builder_output)ST_BUILDER_OUTPUT_INIT;
		o->noutputs = 1;
	}
	if (o->outputs[0].type != ST_BUILDER_OUTPUT_IMAGE)
		return st_cli_usage(err, "--push and an output of another type than image cannot "
					 "be used together");
	o->outputs[0].push = true;
	return 0;
}

/* Docker's --add-host: "NAME:IP" or "NAME=IP" (split at the first ':', so IPv6 works, also in
 * brackets), IP an address or "host-gateway". */
static int parse_add_host(struct build_cli_opts *o, const char *spec, struct st_error **err)
{
	const char *sep = strchr(spec, '=');
	if (!sep)
		sep = strchr(spec, ':');
	if (!sep || sep == spec || memchr(spec, ':', (size_t)(sep - spec)))
		return st_cli_usage(err, "invalid --add-host '%s': expected HOST:IP", spec);
	st_autofree char *ip = st_xstrdup(sep + 1);
	size_t n = strlen(ip);
	if (n > 2 && ip[0] == '[' && ip[n - 1] == ']') {
		memmove(ip, ip + 1, n - 2);
		ip[n - 2] = '\0';
	}
	unsigned char addr[sizeof(struct in6_addr)];
	if (strcmp(ip, "host-gateway") && inet_pton(AF_INET, ip, addr) != 1 &&
	    inet_pton(AF_INET6, ip, addr) != 1)
		return st_cli_usage(
		    err, "invalid --add-host '%s': '%s' is not an IP address or host-gateway", spec,
		    ip);
	o->hosts = st_xrealloc(o->hosts, (o->nhosts + 1) * sizeof(*o->hosts));
	o->hosts[o->nhosts++] =
	    (struct st_builder_host){ .name = st_xstrndup(spec, (size_t)(sep - spec)),
				      .ip = st_steal(&ip) };
	return 0;
}

/* buildx's --ssh: "default", "ID" (both: $SSH_AUTH_SOCK) or "ID=PATH[,PATH...]", each PATH an
 * agent's socket or a private key file. */
static int parse_ssh(struct build_cli_opts *o, const char *spec, struct st_error **err)
{
	const char *eq = strchr(spec, '=');
	size_t idlen = eq ? (size_t)(eq - spec) : strlen(spec);
	if (!idlen)
		return st_cli_usage(err, "invalid --ssh '%s': expected default or ID[=SOCKET|KEY]",
				    spec);
	const char *paths = eq ? eq + 1 : getenv("SSH_AUTH_SOCK");
	if (!paths || !*paths)
		return st_err(err, ST_E_INVALID,
			      "--ssh %s: SSH_AUTH_SOCK is not set: start an ssh-agent, or name a "
			      "socket or key file (--ssh %.*s=PATH)",
			      spec, (int)idlen, spec);
	for (const char *p = paths; *p;) {
		size_t n = strcspn(p, ",");
		if (n) {
			o->ssh = st_xrealloc(o->ssh, (o->nssh + 1) * sizeof(*o->ssh));
			o->ssh[o->nssh++] =
			    (struct st_builder_ssh){ st_xstrndup(spec, idlen), st_xstrndup(p, n) };
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

/* Docker's byte sizes (units.RAMInBytes): a number and an optional k, m, g, t or p (powers
 * of 1024), optionally followed by "b" or "ib", in any case. */
static int parse_bytes(const char *flag, const char *s, uint64_t *out, struct st_error **err)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || v < 0 || !(s[0] >= '0' && s[0] <= '9'))
		return st_cli_usage(err, "invalid %s '%s': expected a size such as 64m", flag, s);
	if (*end == ' ')
		end++;
	static const char units[] = "kmgtp";
	const char *u = *end ? strchr(units, tolower((unsigned char)*end)) : NULL;
	if (u) {
		for (const char *p = units; p <= u; p++)
			v *= 1024;
		end++;
	}
	if (tolower((unsigned char)*end) == 'i' && u)
		end++;
	if (tolower((unsigned char)*end) == 'b')
		end++;
	if (*end || v >= 18446744073709551615.0)
		return st_cli_usage(err, "invalid %s '%s': expected a size such as 64m", flag, s);
	*out = (uint64_t)v;
	return 0;
}

/* Docker's --ulimit: "NAME=SOFT[:HARD]", -1 for unlimited, HARD defaulting to SOFT. */
static int parse_ulimit(struct build_cli_opts *o, const char *spec, struct st_error **err)
{
	const char *eq = strchr(spec, '=');
	const char *name = NULL;
	for (const char *const *n = st_runtime_rlimit_names; eq && *n; n++)
		if (strlen(*n) == (size_t)(eq - spec) && !strncmp(*n, spec, (size_t)(eq - spec)))
			name = *n;
	if (!name)
		return st_cli_usage(err,
				    "invalid --ulimit '%s': expected NAME=SOFT[:HARD], NAME one "
				    "of core, cpu, data, fsize, locks, memlock, msgqueue, nice, "
				    "nofile, nproc, rss, rtprio, rttime, sigpending, stack",
				    spec);
	char *end;
	errno = 0;
	long long soft = strtoll(eq + 1, &end, 10), hard = soft;
	bool ok = end != eq + 1 && !errno;
	if (ok && *end == ':') {
		const char *h = end + 1;
		hard = strtoll(h, &end, 10);
		ok = end != h && !errno;
	}
	if (!ok || *end || soft < -1 || hard < -1)
		return st_cli_usage(
		    err, "invalid --ulimit '%s': expected NAME=SOFT[:HARD] in numbers", spec);
	if (hard != -1 && (soft == -1 || soft > hard))
		return st_cli_usage(
		    err, "invalid --ulimit '%s': the soft limit is above the hard limit", spec);
	o->ulimits = st_xrealloc(o->ulimits, (o->nulimits + 1) * sizeof(*o->ulimits));
	o->ulimits[o->nulimits++] = (struct st_runtime_rlimit){ name, soft, hard };
	return 0;
}

/* The flags that set how RUN steps run and what the image carries besides its config. */
enum {
	O_ADD_HOST = 0x2000,
	O_ALLOW,
	O_ANNOTATION,
	O_CGROUP_PARENT,
	O_SHM_SIZE,
	O_ULIMIT,
};

static int parse_run_flag(struct build_cli_opts *o, int c, const char *arg, struct st_error **err)
{
	switch (c) {
	case O_ADD_HOST:
		return parse_add_host(o, arg, err);
	case O_ALLOW:
		/* buildx's entitlements, comma-separated; RUN --network=host needs none here, but
		 * command lines written for BuildKit ask for it. */
		for (const char *p = arg; *p;) {
			size_t n = strcspn(p, ",");
			if (n == strlen("security.insecure") && !strncmp(p, "security.insecure", n))
				o->b.flags |= ST_BUILDER_ALLOW_INSECURE;
			else if (n != strlen("network.host") || strncmp(p, "network.host", n))
				return st_cli_usage(
				    err,
				    "invalid --allow '%s': use security.insecure or "
				    "network.host",
				    arg);
			p += n + (p[n] == ',');
		}
		return 0;
	case O_ANNOTATION:
		push(&o->annotations, &o->nannotations, arg);
		return 0;
	case O_CGROUP_PARENT:
		o->b.cgroup_parent = arg;
		return 0;
	case O_SHM_SIZE:
		return parse_bytes("--shm-size", arg, &o->b.shm_size, err);
	case O_ULIMIT:
		return parse_ulimit(o, arg, err);
	}
	return st_cli_usage(err, "see 'strata build --help'");
}

static int parse_flags(struct st_cli *cli, int argc, char **argv, struct build_cli_opts *o,
		       struct st_error **err)
{
	enum {
		O_BUILD_ARG = 256,
		O_CACHE_FROM,
		O_CACHE_TO,
		O_IIDFILE,
		O_LABEL,
		O_NETWORK,
		O_NO_CACHE,
		O_NO_CACHE_FILTER,
		O_PLATFORM,
		O_PROGRESS,
		O_PULL,
		O_RUNTIME,
		O_SDE,
		O_TARGET,
		O_SECRET,
		O_SSH,
		O_LOAD,
		O_PROVENANCE,
		O_SBOM,
		O_METADATA_FILE,
		O_PUSH,
		O_BUILD_CONTEXT,
		O_SQUASH,
		O_CHECK,
		O_ANALYZE,
		O_ATTEST
	};
	static const struct option longopts[] = {
		{ "add-host", required_argument, NULL, O_ADD_HOST },
		{ "allow", required_argument, NULL, O_ALLOW },
		{ "analyze", optional_argument, NULL, O_ANALYZE },
		{ "annotation", required_argument, NULL, O_ANNOTATION },
		{ "attest", required_argument, NULL, O_ATTEST },
		{ "cgroup-parent", required_argument, NULL, O_CGROUP_PARENT },
		{ "shm-size", required_argument, NULL, O_SHM_SIZE },
		{ "ulimit", required_argument, NULL, O_ULIMIT },
		{ "build-arg", required_argument, NULL, O_BUILD_ARG },
		{ "build-context", required_argument, NULL, O_BUILD_CONTEXT },
		{ "cache-from", required_argument, NULL, O_CACHE_FROM },
		{ "cache-to", required_argument, NULL, O_CACHE_TO },
		{ "check", no_argument, NULL, O_CHECK },
		{ "file", required_argument, NULL, 'f' },
		{ "iidfile", required_argument, NULL, O_IIDFILE },
		{ "jobs", required_argument, NULL, 'j' },
		{ "label", required_argument, NULL, O_LABEL },
		{ "load", no_argument, NULL, O_LOAD },
		{ "metadata-file", required_argument, NULL, O_METADATA_FILE },
		{ "output", required_argument, NULL, 'o' },
		{ "push", no_argument, NULL, O_PUSH },
		{ "network", required_argument, NULL, O_NETWORK },
		{ "no-cache", no_argument, NULL, O_NO_CACHE },
		{ "no-cache-filter", required_argument, NULL, O_NO_CACHE_FILTER },
		{ "platform", required_argument, NULL, O_PLATFORM },
		{ "progress", required_argument, NULL, O_PROGRESS },
		{ "provenance", optional_argument, NULL, O_PROVENANCE },
		{ "pull", optional_argument, NULL, O_PULL },
		{ "quiet", no_argument, NULL, 'q' },
		{ "runtime", required_argument, NULL, O_RUNTIME },
		{ "sbom", optional_argument, NULL, O_SBOM },
		{ "secret", required_argument, NULL, O_SECRET },
		{ "ssh", required_argument, NULL, O_SSH },
		{ "source-date-epoch", required_argument, NULL, O_SDE },
		{ "squash", no_argument, NULL, O_SQUASH },
		{ "tag", required_argument, NULL, 't' },
		{ "target", required_argument, NULL, O_TARGET },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool sde_set;
	if (st_time_source_date_epoch(&o->b.source_date_epoch, &sde_set, err) < 0)
		return -1;
	if (sde_set)
		o->b.flags |= ST_BUILDER_SOURCE_DATE_EPOCH;
	int c;
	while ((c = getopt_long(argc, argv, "f:j:o:qt:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_BUILD_ARG:
			if (optarg[0] == '=' || !optarg[0])
				return st_cli_usage(
				    err, "invalid --build-arg '%s': expected NAME=VALUE or NAME",
				    optarg);
			push(&o->args, &o->nargs, optarg);
			break;
		case O_CHECK:
			o->b.flags |= ST_BUILDER_CHECK;
			break;
		case 'f':
			o->file = optarg;
			break;
		case O_IIDFILE:
			o->iidfile = optarg;
			break;
		case 'j': {
			char *end;
			long j = strtol(optarg, &end, 10);
			if (*end || j < 1 || j > 1024)
				return st_cli_usage(err, "invalid --jobs '%s'", optarg);
			o->b.jobs = (unsigned)j;
			break;
		}
		case O_LABEL:
			push(&o->labels, &o->nlabels, optarg);
			break;
		case O_LOAD:
			/* buildx's --load: the image lands in strata's store anyway */
			break;
		case 'o':
			if (parse_output(o, optarg, err) < 0)
				return -1;
			break;
		case O_PUSH:
			o->push = true;
			break;
		case O_METADATA_FILE:
			o->metadata_file = optarg;
			break;
		case O_SQUASH:
			o->b.flags |= ST_BUILDER_SQUASH;
			break;
		case O_BUILD_CONTEXT:
			o->contexts =
			    st_xrealloc(o->contexts, (o->ncontexts + 1) * sizeof(*o->contexts));
			if (st_builder_context_parse(optarg, &o->contexts[o->ncontexts++], err) < 0)
				return -1;
			break;
		/*
		 * BuildKit adds min provenance by default to some image outputs (buildx does
		 * unless BUILDX_NO_DEFAULT_ATTESTATIONS is set); strata adds none unless asked:
		 * an attestation turns the image into an index, which would change every
		 * existing build's result, its pushed digest and what older tools read.
		 */
		case O_PROVENANCE:
		case O_SBOM:
		case O_ATTEST: {
			st_autofree char *warning = NULL;
			char on[] = "true";
			char *v = optarg ? optarg : on;
			int rc = c == O_SBOM ? st_attest_parse_sbom(v, &o->b.attest, &warning, err)
				 : c == O_PROVENANCE
				     ? st_attest_parse_provenance(v, &o->b.attest, err)
				     : st_attest_parse(v, &o->b.attest, &warning, err);
			if (rc < 0)
				return st_err_wrap(err, "invalid --%s '%s'",
						   c == O_SBOM	       ? "sbom"
						   : c == O_PROVENANCE ? "provenance"
								       : "attest",
						   v);
			if (warning)
				fprintf(cli->errout, "strata: build: warning: %s\n", warning);
			break;
		}
		case O_ADD_HOST:
		case O_ALLOW:
		case O_ANNOTATION:
		case O_CGROUP_PARENT:
		case O_SHM_SIZE:
		case O_ULIMIT:
			if (parse_run_flag(o, c, optarg, err) < 0)
				return -1;
			break;
		case O_NETWORK:
			if (!strcmp(optarg, "default"))
				o->b.net = ST_RUNTIME_NET_DEFAULT;
			else if (!strcmp(optarg, "none"))
				o->b.net = ST_RUNTIME_NET_NONE;
			else if (!strcmp(optarg, "host"))
				o->b.net = ST_RUNTIME_NET_HOST;
			else
				return st_cli_usage(
				    err, "invalid --network '%s': use default, none or host",
				    optarg);
			break;
		case O_NO_CACHE:
			o->b.flags |= ST_BUILDER_NO_CACHE;
			break;
		case O_NO_CACHE_FILTER:
			push(&o->nocache_stages, &o->nnocache, optarg);
			break;
		case O_CACHE_FROM:
			push(&o->cache_from, &o->ncache_from, optarg);
			break;
		case O_CACHE_TO:
			push(&o->cache_to, &o->ncache_to, optarg);
			break;
		case O_PLATFORM:
			o->b.platform = optarg;
			break;
		case O_PROGRESS:
			if (!strcmp(optarg, "auto"))
				o->progress = PROGRESS_AUTO;
			else if (!strcmp(optarg, "plain"))
				o->progress = PROGRESS_PLAIN;
			else if (!strcmp(optarg, "tty"))
				o->progress = PROGRESS_TTY;
			else if (!strcmp(optarg, "quiet") || !strcmp(optarg, "none"))
				o->progress = PROGRESS_QUIET;
			else
				return st_cli_usage(
				    err, "invalid --progress '%s': use auto, plain, tty or quiet",
				    optarg);
			break;
		case O_PULL:
			/* docker build's --pull is a boolean (true: always); buildx's takes a
			 * policy. */
			if (!optarg || !strcmp(optarg, "always") || !strcmp(optarg, "true"))
				o->b.pull = ST_BUILDER_PULL_ALWAYS;
			else if (!strcmp(optarg, "never"))
				o->b.pull = ST_BUILDER_PULL_NEVER;
			else if (!strcmp(optarg, "missing") || !strcmp(optarg, "false"))
				o->b.pull = ST_BUILDER_PULL_MISSING;
			else
				return st_cli_usage(
				    err, "invalid --pull '%s': use missing, never or always",
				    optarg);
			break;
		case 'q':
			o->quiet = true;
			break;
		case O_RUNTIME:
			o->b.runtime = optarg;
			break;
		case O_SECRET:
			if (parse_secret(o, optarg, err) < 0)
				return -1;
			break;
		case O_SSH:
			if (parse_ssh(o, optarg, err) < 0)
				return -1;
			break;
		case O_SDE:
			if (st_time_parse_epoch(optarg, "--source-date-epoch",
						&o->b.source_date_epoch, err) < 0)
				return -1;
			o->b.flags |= ST_BUILDER_SOURCE_DATE_EPOCH;
			break;
		case 't':
			push(&o->tags, &o->ntags, optarg);
			break;
		case O_ANALYZE:
			if (optarg && strcmp(optarg, "ci"))
				return st_cli_usage(err,
						    "invalid --analyze '%s': use --analyze or "
						    "--analyze=ci",
						    optarg);
			o->analyze = optarg ? optarg : "";
			break;
		case O_TARGET:
			o->b.target = optarg;
			break;
		case 'h':
			fputs(usage_text, cli->out);
			return 1;
		default:
			return st_cli_usage(err, "see 'strata build --help'");
		}
	}
	if (argc - optind != 1)
		return st_cli_usage(err, "\"build\" requires exactly 1 argument: PATH|URL|-");
	if (finish_outputs(o, err) < 0)
		return -1;
	o->context = argv[optind];
	return 0;
}

/* ---- progress display ---- */

/*
 * Two forms, as BuildKit's. "plain" writes each event as a "#N ..." line. "tty" draws a view,
 * redrawn ten times a second: a "[+] Building 12.5s (6/8)" header, then one line per step
 * with its time against the right edge, a finished step's miss explanation, a running step's
 * last lines of output. While it runs the view is kept to the terminal's height (the oldest
 * lines give way) since the cursor cannot go back above the screen; at the end it is drawn
 * whole, then what the build said (warnings, hints) and the failed step's excerpt. Every line
 * is cut to the terminal's width: a wrapped line would make the redraw clear one too few.
 */

#define TAIL_LINES 4

enum view_state { VIEW_RUNNING, VIEW_CACHED, VIEW_DONE, VIEW_FAILED };

struct step_view {
	unsigned id;
	char *name;
	struct st_buf partial;	/* output not yet ended by a newline */
	char *tail[TAIL_LINES]; /* the last lines of output, oldest first */
	double start, seconds;
	enum view_state state;
	char *reason;
};

struct display {
	FILE *f;
	bool tty;
	bool color; /* tty and no NO_COLOR */
	pthread_mutex_t lock;
	struct step_view *steps; /* in the order they started */
	size_t nsteps;
	size_t finished, total; /* for the header: steps done or cached, and all of them */
	bool wrote;		/* plain: a blank line goes before the next step */
	struct st_buf after;	/* tty: written below the view when it is done */
	int live_lines;		/* tty: lines of the view on screen */
	int cols, rows;		/* tty: the terminal's size */
	double t0;
	bool stop;
	pthread_t ticker;
	bool ticking;
	struct st_cli_checks checks; /* what the build checks found, printed at the end */
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct step_view *view_get(struct display *d, unsigned id)
{
	for (size_t i = 0; i < d->nsteps; i++)
		if (d->steps[i].id == id)
			return &d->steps[i];
	d->steps = st_xrealloc(d->steps, (d->nsteps + 1) * sizeof(*d->steps));
	struct step_view *v = &d->steps[d->nsteps++];
	memset(v, 0, sizeof(*v));
	v->id = id;
	v->partial = (struct st_buf)ST_BUF_INIT;
	return v;
}

/* Keep a line of output, tabs as spaces and without control characters (a tool's colours):
 * the view counts the columns it writes. */
static void tail_push(struct step_view *v, const char *line, size_t n)
{
	free(v->tail[0]);
	memmove(v->tail, v->tail + 1, (TAIL_LINES - 1) * sizeof(*v->tail));
	struct st_buf t = ST_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == 0x1b && i + 1 < n && line[i + 1] == '[') {
			/* A CSI sequence: parameters, then one final byte. */
			for (i += 2; i < n && (line[i] < 0x40 || line[i] > 0x7e); i++)
				;
			continue;
		}
		if (c == '\t')
			st_buf_addch(&t, ' ');
		else if (c >= 0x20 && c != 0x7f)
			st_buf_addch(&t, (char)c);
	}
	v->tail[TAIL_LINES - 1] = st_buf_detach(&t, NULL);
}

/* An SGR sequence, or nothing without colour. */
static const char *sgr(const struct display *d, const char *seq)
{
	return d->color ? seq : "";
}

/* How many bytes of 's' fill at most 'width' columns, UTF-8 sequences kept whole; a control
 * character ends it. */
static size_t fit(const char *s, int width, int *used)
{
	size_t i = 0;
	int cols = 0;
	while (s[i] && (unsigned char)s[i] >= 0x20 && s[i] != 0x7f && cols < width) {
		i++;
		while ((s[i] & 0xc0) == 0x80)
			i++;
		cols++;
	}
	if (used)
		*used = cols;
	return i;
}

/* The lines of the tty view, each ending in "\n". */
struct view_lines {
	char **v;
	size_t n;
};

static void add_line(struct view_lines *l, char *line)
{
	l->v = st_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = line;
}

/* " => <what><name>   12.3s", the time against the right edge (the last column stays
 * empty: writing there wraps on some terminals). */
static void add_row(struct display *d, struct view_lines *l, const char *color, const char *what,
		    const char *name, double seconds)
{
	char t[32];
	int tl = snprintf(t, sizeof(t), "%.1fs", seconds);
	int room = d->cols - 1 - 4 - (int)strlen(what) - 1 - tl;
	int used = 0;
	size_t n = fit(name, room > 0 ? room : 0, &used);
	add_line(l, st_xasprintf("%s => %s%.*s%*s %s%s\n", sgr(d, color), what, (int)n, name,
				 room > used ? room - used : 0, "", t, sgr(d, "\033[0m")));
}

/* " => => <text>", cut to the width. */
static void add_note(struct display *d, struct view_lines *l, const char *color, const char *text)
{
	size_t n = fit(text, d->cols - 1 - 7, NULL);
	add_line(l,
		 st_xasprintf("%s => => %.*s%s\n", sgr(d, color), (int)n, text, sgr(d, "\033[0m")));
}

static void view_clear(struct display *d)
{
	if (d->live_lines > 0)
		fprintf(d->f, "\033[%dA\033[J", d->live_lines);
	d->live_lines = 0;
}

/* Draw the view: 'final' draws all of it, once, to stay on the screen. */
static void view_draw(struct display *d, bool final)
{
	double now = mono();
	struct view_lines l = { 0 };
	char h[96];
	snprintf(h, sizeof(h), "[+] Building %.1fs (%zu/%zu)%s", now - d->t0, d->finished, d->total,
		 final ? " FINISHED" : "");
	size_t hn = fit(h, d->cols - 1, NULL);
	add_line(&l, st_xasprintf("%s%.*s%s\n", sgr(d, "\033[34m"), (int)hn, h, sgr(d, "\033[0m")));
	for (size_t i = 0; i < d->nsteps; i++) {
		struct step_view *v = &d->steps[i];
		switch (v->state) {
		case VIEW_RUNNING:
			add_row(d, &l, "", "", v->name, now - v->start);
			for (size_t t = 0; t < TAIL_LINES; t++) {
				if (!v->tail[t])
					continue;
				st_autofree char *line = st_xasprintf("# %s", v->tail[t]);
				add_note(d, &l, "\033[2m", line);
			}
			break;
		case VIEW_CACHED:
			add_row(d, &l, "", "CACHED ", v->name, v->seconds);
			break;
		case VIEW_DONE:
		case VIEW_FAILED:
			add_row(d, &l, v->state == VIEW_FAILED ? "\033[31m" : "",
				v->state == VIEW_FAILED ? "ERROR " : "", v->name, v->seconds);
			if (v->reason) {
				st_autofree char *why = st_xasprintf("cache miss: %s", v->reason);
				add_note(d, &l, "", why);
			}
			break;
		}
	}
	/* The header and the newest lines that fit. */
	size_t skip = 0;
	if (!final && d->rows > 2 && l.n > (size_t)d->rows - 1)
		skip = l.n - ((size_t)d->rows - 1);
	view_clear(d);
	for (size_t i = 0; i < l.n; i++) {
		if (i == 0 || i > skip) {
			fputs(l.v[i], d->f);
			d->live_lines++;
		}
		free(l.v[i]);
	}
	free(l.v);
	if (final)
		d->live_lines = 0;
	fflush(d->f);
}

static void *ticker(void *arg)
{
	struct display *d = arg;
	for (;;) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&d->lock);
		if (d->stop) {
			pthread_mutex_unlock(&d->lock);
			return NULL;
		}
		view_draw(d, false);
		pthread_mutex_unlock(&d->lock);
	}
}

static void plain_lines(struct display *d, struct step_view *v, bool flush)
{
	char *s = v->partial.data;
	size_t n = v->partial.len, start = 0;
	if (n == 0)
		return;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '\n' && s[i] != '\r')
			continue;
		if (i == n && !flush)
			break;
		if (i > start) {
			tail_push(v, s + start, i - start);
			if (!d->tty)
				fprintf(d->f, "#%u %.3f %.*s\n", v->id, mono() - v->start,
					(int)(i - start), s + start);
		}
		start = i + (i < n);
	}
	memmove(s, s + start, n - start);
	st_buf_setlen(&v->partial, n - start);
}

#define EXCERPT_LINE_MAX 200

/*
 * A failed step, as BuildKit shows it: its last lines of output in a box, then the failing
 * instruction in the Dockerfile, marked ">>>", with two lines of context either side.
 */
static void failure(struct st_buf *out, struct step_view *v, const struct st_builder_event *ev)
{
	st_buf_addf(out, "------\n > %s:\n", v->name);
	for (size_t t = 0; t < TAIL_LINES; t++)
		if (v->tail[t])
			st_buf_addf(out, "%s\n", v->tail[t]);
	st_buf_adds(out, "------\n");
	if (!ev->file || ev->start_line < 1)
		return;
	st_buf_addf(out, "%s:%d\n--------------------\n", ev->file, ev->start_line);
	int from = ev->start_line > 2 ? ev->start_line - 2 : 1, to = ev->end_line + 2;
	const char *p = ev->source, *end = ev->source + ev->source_len;
	for (int line = 1; p < end && line <= to; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (len && p[len - 1] == '\r')
			len--;
		if (line >= from) {
			bool mark = line >= ev->start_line && line <= ev->end_line;
			/* A generated Dockerfile can hold a line of megabytes: show its start. */
			int shown = len > EXCERPT_LINE_MAX ? EXCERPT_LINE_MAX : (int)len;
			st_buf_addf(out, " %3d | %s%.*s%s\n", line, mark ? ">>> " : "    ", shown,
				    p, (size_t)shown < len ? " ..." : "");
		}
		p = nl ? nl + 1 : end;
	}
	st_buf_adds(out, "--------------------\n");
}

static void on_event(void *ctx, const struct st_builder_event *ev)
{
	struct display *d = ctx;
	pthread_mutex_lock(&d->lock);
	d->total = ev->total;
	struct step_view *v = ev->id ? view_get(d, ev->id) : NULL;
	/* What the plain form writes at once, the tty form writes below the finished view. */
	struct st_buf plain = ST_BUF_INIT;
	struct st_buf *out = d->tty ? &d->after : &plain;
	switch (ev->type) {
	case ST_BUILDER_EVENT_START:
		free(v->name);
		v->name = st_xstrdup(ev->name ? ev->name : "");
		v->start = mono();
		v->state = VIEW_RUNNING;
		if (!d->tty)
			fprintf(d->f, "%s#%u %s\n", d->wrote ? "\n" : "", ev->id, v->name);
		break;
	case ST_BUILDER_EVENT_REASON:
		free(v->reason);
		v->reason = st_xstrdup(ev->text);
		if (!d->tty)
			fprintf(d->f, "#%u cache miss: %s\n", ev->id, ev->text);
		break;
	case ST_BUILDER_EVENT_OUTPUT:
		st_buf_add(&v->partial, ev->text, ev->len);
		plain_lines(d, v, false);
		break;
	case ST_BUILDER_EVENT_CACHED:
		v->state = VIEW_CACHED;
		v->seconds = ev->seconds;
		d->finished++;
		if (!d->tty)
			fprintf(d->f, "#%u CACHED\n", ev->id);
		break;
	case ST_BUILDER_EVENT_DONE:
		plain_lines(d, v, true);
		v->state = VIEW_DONE;
		v->seconds = ev->seconds;
		d->finished++;
		if (!d->tty)
			fprintf(d->f, "#%u DONE %.1fs\n", ev->id, ev->seconds);
		break;
	case ST_BUILDER_EVENT_ERROR:
		plain_lines(d, v, true);
		v->state = VIEW_FAILED;
		v->seconds = ev->seconds;
		if (!d->tty)
			fprintf(d->f, "#%u ERROR: %s\n", ev->id, ev->text);
		failure(out, v, ev);
		break;
	case ST_BUILDER_EVENT_INFO:
		st_buf_addf(out, "%s\n", ev->text);
		break;
	case ST_BUILDER_EVENT_WARNING:
		st_cli_checks_add(&d->checks, ev);
		break;
	case ST_BUILDER_EVENT_COMMITTED:
		plain_lines(d, v, true);
		if (!d->tty)
			fprintf(d->f, "#%u committed %s in %.1fs\n", ev->id, ev->text, ev->seconds);
		break;
	}
	fputs(st_buf_str(&plain), d->f);
	st_buf_release(&plain);
	d->wrote = true;
	if (d->tty && !d->stop)
		view_draw(d, false);
	fflush(d->f);
	pthread_mutex_unlock(&d->lock);
}

/* Stop redrawing; the tty form ends with the whole view and what was said below it. */
static void display_stop(struct display *d)
{
	if (!d->tty || d->stop)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_mutex_unlock(&d->lock);
	if (d->ticking)
		pthread_join(d->ticker, NULL);
	d->ticking = false;
	if (d->nsteps)
		view_draw(d, true);
	fputs(st_buf_str(&d->after), d->f);
	fflush(d->f);
}

static void display_release(struct display *d)
{
	display_stop(d);
	for (size_t i = 0; i < d->nsteps; i++) {
		free(d->steps[i].name);
		free(d->steps[i].reason);
		st_buf_release(&d->steps[i].partial);
		for (size_t t = 0; t < TAIL_LINES; t++)
			free(d->steps[i].tail[t]);
	}
	free(d->steps);
	st_buf_release(&d->after);
	st_cli_checks_release(&d->checks);
	pthread_mutex_destroy(&d->lock);
}

static int read_stdin(struct st_buf *out, struct st_error **err)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return st_err_errno(err, "read Dockerfile from stdin");
		if (n == 0)
			return 0;
		st_buf_add(out, buf, (size_t)n);
	}
}

/*
 * --analyze: the image built, or each platform's of a multi-platform build, each report
 * headed by its platform. With 'ci', 1 when any of them fails its rules.
 */
/* --analyze of one image: its efficiency report, then the lint rules on what its layers hold. */
static int analyze_image(struct st_cli *cli, const struct st_builder_opts *b, const char *id,
			 bool ci, struct st_error **err)
{
	int rc = st_cli_dive_build(cli, id, ci, err);
	if (rc == 0)
		rc = st_cli_checks_image(cli, b, id, cli->errout, err);
	return rc;
}

static int analyze_build(struct st_cli *cli, const struct st_builder_opts *b,
			 const struct st_builder_result *res, bool ci, struct st_error **err)
{
	if (res->n_images < 2)
		return res->has_image ? analyze_image(cli, b, res->id.str, ci, err)
				      : st_cli_dive_build(cli, res->id.str, ci, err);
	int verdict = 0;
	for (size_t i = 0; i < res->n_images; i++) {
		struct st_buf p = ST_BUF_INIT;
		st_platform_format(&res->images[i].platform, &p);
		fprintf(cli->errout, "\n%s:\n", p.data);
		st_buf_release(&p);
		int rc = analyze_image(cli, b, res->images[i].id.str, ci, err);
		if (rc < 0)
			return -1;
		verdict |= rc;
	}
	return verdict;
}

int cmd_build(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	struct st_cli_stdin in = ST_CLI_STDIN_INIT;
	struct build_cli_opts o = { .b = ST_BUILDER_OPTS_INIT };
	struct st_buf dftext = ST_BUF_INIT;
	struct display d = { .f = cli->errout, .after = ST_BUF_INIT, .t0 = mono() };
	struct st_builder_result res = { 0 };
	pthread_mutex_init(&d.lock, NULL);
	int rc = parse_flags(cli, argc, argv, &o, err);
	if (rc == 1) {
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	if (!strcmp(o.context, "-")) {
		if (o.file && !strcmp(o.file, "-")) {
			rc = st_cli_usage(
			    err, "the context and the Dockerfile cannot both come from stdin");
			goto out;
		}
		if ((rc = st_cli_stdin_open(&in, &dftext, err)) < 0)
			goto out;
		o.b.context_tar_fd = in.context_fd;
		if (in.context_fd < 0) {
			o.b.dockerfile_text = dftext.data ? dftext.data : "";
			o.b.dockerfile_len = dftext.len;
		}
	} else {
		o.b.context = o.context;
	}
	if (o.file && !strcmp(o.file, "-")) {
		if ((rc = read_stdin(&dftext, err)) < 0)
			goto out;
		o.b.dockerfile_text = dftext.data ? dftext.data : "";
		o.b.dockerfile_len = dftext.len;
	} else if (!o.b.dockerfile_text) {
		o.b.dockerfile = o.file;
	}
	o.b.tags = o.tags;
	o.b.n_tags = o.ntags;
	o.b.build_args = o.args;
	o.b.n_build_args = o.nargs;
	o.b.labels = o.labels;
	o.b.n_labels = o.nlabels;
	o.b.no_cache_stages = o.nocache_stages;
	o.b.n_no_cache_stages = o.nnocache;
	o.b.cache_from = o.cache_from;
	o.b.n_cache_from = o.ncache_from;
	o.b.cache_to = o.cache_to;
	o.b.n_cache_to = o.ncache_to;
	o.b.secrets = o.secrets;
	o.b.n_secrets = o.nsecrets;
	o.b.outputs = o.outputs;
	o.b.n_outputs = o.noutputs;
	o.b.contexts = o.contexts;
	o.b.n_contexts = o.ncontexts;
	o.b.hosts = o.hosts;
	o.b.n_hosts = o.nhosts;
	o.b.ssh = o.ssh;
	o.b.n_ssh = o.nssh;
	o.b.ulimits = o.ulimits;
	o.b.n_ulimits = o.nulimits;
	o.b.annotations = o.annotations;
	o.b.n_annotations = o.nannotations;
	/* Before any thread starts: the steps' mounts must die with this process. */
	if ((rc = st_snapshot_private_ns(err)) < 0)
		goto out;
	if (o.quiet)
		o.progress = PROGRESS_QUIET;
	if (o.progress == PROGRESS_AUTO)
		o.progress = isatty(fileno(cli->errout)) ? PROGRESS_TTY : PROGRESS_PLAIN;
	bool check_only = o.b.flags & ST_BUILDER_CHECK;
	if (check_only) {
		o.b.progress.fn = st_cli_checks_on_event;
		o.b.progress.ctx = &d.checks;
	} else if (o.progress != PROGRESS_QUIET) {
		d.tty = o.progress == PROGRESS_TTY;
		/* https://no-color.org: set and not empty turns colour off. */
		const char *nc = getenv("NO_COLOR");
		d.color = d.tty && !(nc && *nc);
		struct winsize ws;
		bool sized = ioctl(fileno(cli->errout), TIOCGWINSZ, &ws) == 0;
		d.cols = sized && ws.ws_col ? ws.ws_col : 80;
		d.rows = sized && ws.ws_row ? ws.ws_row : 24;
		o.b.progress.fn = on_event;
		o.b.progress.ctx = &d;
		if (d.tty && pthread_create(&d.ticker, NULL, ticker, &d) == 0)
			d.ticking = true;
	}

	struct st_store *s = NULL;
	if ((rc = st_cli_store(cli, &s, err)) < 0)
		goto out;
	rc = st_builder_run(s, &o.b, &res, err);
	display_stop(&d);
	if (check_only) {
		if (rc == 0 || d.checks.r.ndiags)
			st_cli_checks_report(&d.checks, cli->out);
		/* As docker build --check: findings make the exit status 1. */
		if (rc == 0 && d.checks.r.ndiags)
			rc = 1;
		goto out;
	}
	if (o.progress != PROGRESS_QUIET)
		st_cli_checks_summary(&d.checks, cli->errout);
	if (rc < 0)
		goto out;
	/* As buildx: the config digest of one image, the index's digest of several. */
	const char *iid = res.index.str[0] ? res.index.str : res.id.str;
	if (o.iidfile && res.has_image) {
		rc = st_write_file_atomic(o.iidfile, NULL, iid, strlen(iid), 0644, err);
		if (rc < 0)
			goto out;
	}
	if (o.metadata_file) {
		rc = st_write_file_atomic(o.metadata_file, NULL, res.metadata, strlen(res.metadata),
					  0644, err);
		if (rc < 0)
			goto out;
	}
	bool stdout_taken = false; /* an output wrote its tar there */
	for (size_t i = 0; i < o.noutputs; i++)
		stdout_taken |= o.outputs[i].fd == STDOUT_FILENO;
	if (o.quiet && res.has_image && !stdout_taken) {
		fprintf(cli->out, "%s\n", iid);
	} else if (o.progress != PROGRESS_QUIET) {
		if (res.has_image)
			fprintf(cli->errout, "\nwriting image %s done\n", iid);
		for (size_t i = 0; res.has_image && i < o.ntags; i++)
			fprintf(cli->errout, "naming to %s done\n", o.tags[i]);
		fprintf(cli->errout, "%.1fs: %zu step%s run, %zu cached\n", mono() - d.t0,
			res.steps, res.steps == 1 ? "" : "s", res.cached);
	}
	if (o.analyze)
		rc = analyze_build(cli, &o.b, &res, !strcmp(o.analyze, "ci"), err);
	if (res.has_image && o.ntags)
		st_cli_checks_remember(cli, &o.b, res.id.str);
out:
	display_release(&d);
	st_cli_stdin_release(&in);
	st_buf_release(&dftext);
	free(o.tags);
	free(o.args);
	free(o.labels);
	free(o.nocache_stages);
	free(o.cache_from);
	free(o.cache_to);
	free(o.secrets);
	for (size_t i = 0; i < o.noutputs; i++)
		st_builder_output_release(&o.outputs[i]);
	free(o.outputs);
	for (size_t i = 0; i < o.ncontexts; i++)
		st_builder_context_release(&o.contexts[i]);
	free(o.contexts);
	st_builder_result_release(&res);
	for (size_t i = 0; i < o.nsecret_strs; i++)
		free(o.secret_strs[i]);
	free(o.secret_strs);
	for (size_t i = 0; i < o.nhosts; i++) {
		free((char *)o.hosts[i].name);
		free((char *)o.hosts[i].ip);
	}
	free(o.hosts);
	for (size_t i = 0; i < o.nssh; i++) {
		free((char *)o.ssh[i].id);
		free((char *)o.ssh[i].path);
	}
	free(o.ssh);
	free(o.ulimits);
	free(o.annotations);
	return rc;
}
