/*
 * volume.c: strata volume create|ls|inspect|rm|prune: the volumes kept in the store, with
 * Docker's flags, output and messages.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "container/volume.h"
#include "fmt.h"
#include "format.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static void push(char ***v, size_t *n, const char *s)
{
	*v = st_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = st_xstrdup(s);
}

int cmd_volume_create(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "label", required_argument, NULL, 'l' },
		{ "driver", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char **labels = NULL;
	size_t n_labels = 0;
	const char *name = NULL;
	int c, rc = 0;
	while (rc == 0 && (c = getopt_long(argc, argv, "d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			push(&labels, &n_labels, optarg);
			break;
		case 'd':
			if (strcmp(optarg, "local"))
				rc = st_err(err, ST_E_INVALID,
					    "create: volume driver '%s' not found: strata has the "
					    "local driver only",
					    optarg);
			break;
		case 'n':
			name = optarg;
			break;
		case 'h':
			fputs(
			    "Usage: strata volume create [OPTIONS] [VOLUME]\n\nCreate a volume\n\n"
			    "Options:\n"
			    "  -d, --driver string   Specify volume driver name (default "
			    "\"local\")\n"
			    "      --label list      Set metadata for a volume (key=value)\n"
			    "      --name string     Specify volume name\n",
			    cli->out);
			st_strv_free(labels, n_labels);
			return 0;
		default:
			rc = st_cli_usage(err, "see 'strata volume create --help'");
		}
	}
	if (rc == 0 && optind < argc) {
		if (name && strcmp(name, argv[optind]))
			rc = st_cli_usage(err,
					  "conflicting options: either specify --name or provide "
					  "positional arg, not both");
		name = argv[optind];
		if (rc == 0 && optind + 1 < argc)
			rc = st_cli_usage(err, "\"volume create\" requires at most 1 argument");
	}
	struct st_store *s = NULL;
	st_auto(st_volume) struct st_volume *v = NULL;
	bool created;
	struct st_volume_create o = { .name = name, .labels = labels, .n_labels = n_labels };
	if (rc == 0)
		rc = st_cli_store(cli, &s, err);
	if (rc == 0)
		rc = st_volume_create(s, &o, &v, &created, err);
	st_strv_free(labels, n_labels);
	if (rc < 0)
		return -1;
	fprintf(cli->out, "%s\n", st_volume_name(v));
	return 0;
}

/* One --filter of `volume ls`: dangling=, name=, label=, driver=. */
struct filters {
	int dangling;	   /* -1: either */
	bool other_driver; /* driver=X for X not "local": nothing matches */
	char **names, **labels;
	size_t n_names, n_labels;
};

static int add_filter(struct filters *f, const char *spec, struct st_error **err)
{
	const char *eq = strchr(spec, '=');
	if (!eq)
		return st_cli_usage(err, "bad format of filter (expected name=value)");
	size_t klen = (size_t)(eq - spec);
	const char *val = eq + 1;
	if (klen == 8 && !strncmp(spec, "dangling", klen)) {
		if (!strcmp(val, "true") || !strcmp(val, "1"))
			f->dangling = 1;
		else if (!strcmp(val, "false") || !strcmp(val, "0"))
			f->dangling = 0;
		else
			return st_err(err, ST_E_INVALID,
				      "invalid filter 'dangling=%s': expected true or false", val);
	} else if (klen == 4 && !strncmp(spec, "name", klen)) {
		push(&f->names, &f->n_names, val);
	} else if (klen == 5 && !strncmp(spec, "label", klen)) {
		push(&f->labels, &f->n_labels, val);
	} else if (klen == 6 && !strncmp(spec, "driver", klen)) {
		f->other_driver |= strcmp(val, "local") != 0;
	} else {
		return st_err(err, ST_E_INVALID, "invalid filter '%.*s'", (int)klen, spec);
	}
	return 0;
}

static bool has_label(const json_t *labels, const char *spec)
{
	const char *eq = strchr(spec, '=');
	st_autofree char *key = eq ? st_xstrndup(spec, (size_t)(eq - spec)) : st_xstrdup(spec);
	const json_t *v = json_object_get(labels, key);
	return v && (!eq || !strcmp(json_string_value(v), eq + 1));
}

int cmd_volume_ls(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "filter", required_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct filters f = { .dangling = -1 };
	bool quiet = false;
	const char *fmt = NULL;
	int c, rc = 0;
	while (rc == 0 && (c = getopt_long(argc, argv, "qf:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'f':
			rc = add_filter(&f, optarg, err);
			break;
		case 'F':
			fmt = optarg;
			break;
		case 'h':
			fputs("Usage: strata volume ls [OPTIONS]\n\nList volumes\n\nOptions:\n"
			      "  -f, --filter filter   Provide filter values (e.g. "
			      "\"dangling=true\")\n"
			      "      --format string   Format output using a Go template ('table "
			      "...' for columns)\n"
			      "  -q, --quiet           Only display volume names\n",
			      cli->out);
			st_strv_free(f.names, f.n_names);
			st_strv_free(f.labels, f.n_labels);
			return 0;
		default:
			rc = st_cli_usage(err, "see 'strata volume ls --help'");
		}
	}
	if (rc == 0 && optind < argc)
		rc = st_cli_usage(err, "\"volume ls\" accepts no arguments");
	if (quiet)
		fmt = "{{.Name}}";
	else if (!fmt)
		fmt = "table {{.Driver}}\t{{.Name}}";
	st_auto(st_cli_format) struct st_cli_format *form = NULL;
	json_t *header = json_pack("{s:s, s:s}", "Driver", "DRIVER", "Name", "VOLUME NAME");
	if (rc == 0)
		rc = st_cli_format_new(fmt, header, &form, err);
	json_decref(header);
	struct st_store *s = NULL;
	struct st_volume **v = NULL;
	size_t n = 0;
	if (rc == 0 && (rc = st_cli_store(cli, &s, err)) == 0)
		rc = st_volume_list(s, &v, &n, err);
	for (size_t i = 0; i < n && rc == 0 && !f.other_driver; i++) {
		const json_t *rec = st_volume_inspect(v[i]);
		bool ok = true;
		for (size_t k = 0; k < f.n_names && ok; k++)
			ok = strstr(st_volume_name(v[i]), f.names[k]) != NULL;
		for (size_t k = 0; k < f.n_labels && ok; k++)
			ok = has_label(json_object_get(rec, "Labels"), f.labels[k]);
		if (ok && f.dangling >= 0) {
			char **ids = NULL;
			size_t nu = 0;
			if ((rc = st_volume_users(s, st_volume_name(v[i]), &ids, &nu, err)) < 0)
				break;
			st_strv_free(ids, nu);
			ok = (nu == 0) == (f.dangling == 1);
		}
		if (!ok)
			continue;
		/* Docker's Labels column: "k=v,k2=v2". */
		struct st_buf labels = ST_BUF_INIT;
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)json_object_get(rec, "Labels"), key, val) st_buf_addf(
		    &labels, "%s%s=%s", labels.len ? "," : "", key, json_string_value(val));
		json_t *row = json_pack(
		    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Name", st_volume_name(v[i]), "Driver",
		    "local", "Scope", "local", "Mountpoint", st_volume_mountpoint(v[i]), "Labels",
		    labels.data ? labels.data : "", "Links", "N/A", "Size", "N/A");
		st_buf_release(&labels);
		rc = st_cli_format_row(form, row, cli->out, err);
		json_decref(row);
	}
	st_volume_list_free(v, n);
	if (rc == 0)
		st_cli_format_flush(form, cli->out);
	st_strv_free(f.names, f.n_names);
	st_strv_free(f.labels, f.n_labels);
	return rc;
}

int cmd_volume_inspect(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *fmt = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fmt = optarg;
			break;
		case 'h':
			fputs("Usage: strata volume inspect [OPTIONS] VOLUME [VOLUME...]\n\n"
			      "Display detailed information on one or more volumes\n\nOptions:\n"
			      "  -f, --format string   Format output using a Go template\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata volume inspect --help'");
		}
	}
	if (optind >= argc)
		return st_cli_usage(err, "\"volume inspect\" requires at least 1 argument");
	st_auto(st_cli_format) struct st_cli_format *form = NULL;
	if (fmt && st_cli_format_new(fmt, NULL, &form, err) < 0)
		return -1;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	json_t *all = json_array();
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		st_auto(st_volume) struct st_volume *v = NULL;
		struct st_error *ferr = NULL;
		if (st_volume_find(s, argv[i], &v, &ferr) < 0) {
			/* Docker goes on with the others and names each missing one. */
			if (ferr->kind == ST_E_NOTFOUND)
				fprintf(stderr, "strata: volume inspect: No such volume: %s\n",
					argv[i]);
			else
				fprintf(stderr, "strata: volume inspect: %s\n", ferr->msg);
			st_error_free(ferr);
			rc = 1;
			continue;
		}
		if (form && st_cli_format_row(form, st_volume_inspect(v), cli->out, err) < 0) {
			json_decref(all);
			return -1;
		}
		json_array_append(all, (json_t *)st_volume_inspect(v));
	}
	if (!form)
		st_cli_print_json(all, cli->out);
	json_decref(all);
	return rc;
}

int cmd_volume_rm(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct st_cli_remove_verb verb = {
		.name = "volume rm",
		.usage = "Usage: strata volume rm [OPTIONS] VOLUME [VOLUME...]\n\n"
			 "Remove one or more volumes. You cannot remove a volume that is in use by "
			 "a container.\n\nOptions:\n"
			 "  -f, --force   Do not error on volumes that do not exist\n",
		.flags = ST_CLI_REMOVE_OPERANDS,
	};
	struct st_cli_remove_opts o;
	int rc = st_cli_remove_flags(cli, argc, argv, &verb, &o, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	int failed = 0;
	for (int i = optind; i < argc; i++) {
		struct st_error *rerr = NULL;
		if (st_volume_remove(s, argv[i], &rerr) < 0) {
			/* -f forgives a missing volume only: one in use is never removed. */
			if (!(o.force && rerr->kind == ST_E_NOTFOUND)) {
				fprintf(stderr, "strata: volume rm: %s\n", rerr->msg);
				failed = 1;
			}
			st_error_free(rerr);
			continue;
		}
		fprintf(cli->out, "%s\n", argv[i]);
	}
	return failed;
}

int cmd_volume_prune(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct st_cli_remove_verb verb = {
		.name = "volume prune",
		.usage = "Usage: strata volume prune [OPTIONS]\n\n"
			 "Remove unused local volumes\n\nOptions:\n"
			 "  -a, --all     Remove all unused volumes, not just anonymous ones\n"
			 "  -f, --force   Do not prompt for confirmation\n",
		.flags = ST_CLI_REMOVE_ALL,
	};
	struct st_cli_remove_opts o;
	int rc = st_cli_remove_flags(cli, argc, argv, &verb, &o, err);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	const char *warning = o.all
				  ? "WARNING! This will remove all local volumes not used by at "
				    "least one container.\n"
				  : "WARNING! This will remove anonymous local volumes not used by "
				    "at least one container.\n";
	if (st_cli_confirm_remove(cli, o.force, verb.name, warning, err) < 0)
		return -1;
	struct st_store *s = NULL;
	if (st_cli_store(cli, &s, err) < 0)
		return -1;
	char **names = NULL;
	size_t n = 0;
	uint64_t bytes = 0;
	if (st_volume_prune(s, o.all ? ST_VOLUME_PRUNE_ALL : 0, &names, &n, &bytes, err) < 0)
		return -1;
	if (n)
		fputs("Deleted Volumes:\n", cli->out);
	for (size_t i = 0; i < n; i++)
		fprintf(cli->out, "%s\n", names[i]);
	if (n)
		fputs("\n", cli->out);
	st_autofree char *size = st_fmt_size(bytes);
	fprintf(cli->out, "Total reclaimed space: %s\n", size);
	st_strv_free(names, n);
	return 0;
}
