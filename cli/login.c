/*
 * login.c: strata login [-u USER] [-p PASS | --password-stdin] [SERVER]
 *          strata logout [SERVER]
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const char login_usage[] =
    "Usage: strata login [OPTIONS] [SERVER]\n\n"
    "Log in to a registry (Docker Hub when no SERVER is given)\n\n"
    "Options:\n"
    "      --authfile string    Credentials file (default: $REGISTRY_AUTH_FILE, else\n"
    "                           ~/.docker/config.json)\n"
    "  -p, --password string    Password\n"
    "      --password-stdin     Take the password from stdin\n"
    "      --tls-verify bool    Require HTTPS and verify certificates (default true)\n"
    "  -u, --username string    Username\n";

/* A line from 'f' without its newline; with echo off when 'f' is a terminal. New or NULL. */
static char *read_line(FILE *f, bool secret)
{
	struct termios old, quiet;
	bool tty = secret && isatty(fileno(f)) && tcgetattr(fileno(f), &old) == 0;
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(f), TCSAFLUSH, &quiet);
	}
	struct st_buf b = ST_BUF_INIT;
	int ch;
	while ((ch = fgetc(f)) != EOF && ch != '\n')
		st_buf_addf(&b, "%c", ch);
	if (tty) {
		tcsetattr(fileno(f), TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (ch == EOF && !b.len)
		return NULL;
	while (b.len && b.data[b.len - 1] == '\r')
		b.data[--b.len] = 0;
	return st_buf_detach(&b, NULL);
}

static const char *server_domain(const char *arg)
{
	if (!arg)
		return "docker.io";
	/* Docker accepts "https://host/..." and Docker Hub's old index address. */
	if (!strncmp(arg, "https://", 8))
		arg += 8;
	else if (!strncmp(arg, "http://", 7))
		arg += 7;
	if (!strncmp(arg, "index.docker.io", 15) || !strncmp(arg, "registry-1.docker.io", 20))
		return "docker.io";
	return arg;
}

int cmd_login(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	enum { OPT_STDIN = 256 };
	static const struct option longopts[] = {
		{ "username", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "password-stdin", no_argument, NULL, OPT_STDIN },
		ST_CLI_REGISTRY_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct st_registry_opts ro = { 0 };
	const char *user = NULL, *pass = NULL;
	bool from_stdin = false;
	int c;
	while ((c = getopt_long(argc, argv, "u:p:h", longopts, NULL)) != -1) {
		int k = st_cli_registry_opt(c, optarg, &ro, err);
		if (k < 0)
			return -1;
		if (k)
			continue;
		switch (c) {
		case 'u':
			user = optarg;
			break;
		case 'p':
			pass = optarg;
			break;
		case OPT_STDIN:
			from_stdin = true;
			break;
		case 'h':
			fputs(login_usage, cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata login --help'");
		}
	}
	if (argc - optind > 1)
		return st_cli_usage(err, "\"login\" accepts at most 1 argument: SERVER");
	if (pass && from_stdin)
		return st_cli_usage(err, "--password and --password-stdin are mutually exclusive");
	if (from_stdin && !user)
		return st_cli_usage(err, "must provide --username with --password-stdin");
	const char *domain = server_domain(optind < argc ? argv[optind] : NULL);
	st_autofree char *asked_user = NULL, *asked_pass = NULL;
	if (!user) {
		fputs("Username: ", stderr);
		asked_user = read_line(stdin, false);
		if (!asked_user)
			return st_err(err, ST_E_INVALID, "login %s: a username is required",
				      domain);
		user = asked_user;
	}
	if (!pass) {
		if (!from_stdin)
			fputs("Password: ", stderr);
		asked_pass = read_line(stdin, !from_stdin);
		if (!asked_pass)
			return st_err(err, ST_E_INVALID, "login %s: a password is required",
				      domain);
		pass = asked_pass;
	} else {
		fputs("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n",
		      stderr);
	}
	st_auto(st_registry) struct st_registry *r = st_registry_new(&ro, err);
	if (!r || st_registry_login(r, domain, user, pass, err) < 0)
		return -1;
	fputs("Login Succeeded\n", cli->out);
	return 0;
}

int cmd_logout(struct st_cli *cli, int argc, char **argv, struct st_error **err)
{
	static const struct option longopts[] = {
		{ "authfile", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct st_registry_opts ro = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'A':
			ro.auth_file = optarg;
			break;
		case 'h':
			fputs("Usage: strata logout [--authfile F] [SERVER]\n\n"
			      "Log out from a registry (Docker Hub when no SERVER is given)\n",
			      cli->out);
			return 0;
		default:
			return st_cli_usage(err, "see 'strata logout --help'");
		}
	}
	if (argc - optind > 1)
		return st_cli_usage(err, "\"logout\" accepts at most 1 argument: SERVER");
	const char *domain = server_domain(optind < argc ? argv[optind] : NULL);
	st_auto(st_registry) struct st_registry *r = st_registry_new(&ro, err);
	if (!r || st_registry_logout(r, domain, err) < 0)
		return -1;
	fprintf(cli->out, "Removing login credentials for %s\n", st_registry_auth_key(domain));
	return 0;
}
