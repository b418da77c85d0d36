/* password.c: a private key's password, as cosign takes it: a variable, else the terminal. */
#include "password.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* One line from the terminal 'fd' with echo off; the newline is not kept. */
static int read_hidden(int fd, const char *prompt, char **out, struct st_error **err)
{
	struct termios old, quiet;
	bool tty = tcgetattr(fd, &old) == 0;
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSANOW, &quiet);
	}
	/* A prompt or newline that cannot be written changes nothing about the answer. */
	(void)!write(fd, prompt, strlen(prompt));
	struct st_buf b = ST_BUF_INIT;
	char c;
	ssize_t n;
	while ((n = read(fd, &c, 1)) == 1 && c != '\n')
		st_buf_addch(&b, c);
	if (tty)
		tcsetattr(fd, TCSANOW, &old);
	(void)!write(fd, "\n", 1);
	if (n < 0) {
		st_buf_release(&b);
		return st_err_errno(err, "read the password from the terminal");
	}
	*out = st_buf_detach(&b, NULL);
	return 0;
}

int st_cli_password(const char *prompt, bool confirm, char **out, struct st_error **err)
{
	const char *vars[] = { "STRATA_PASSWORD", "COSIGN_PASSWORD" };
	for (size_t i = 0; i < 2; i++) {
		const char *v = getenv(vars[i]);
		if (v) {
			*out = st_xstrdup(v);
			return 0;
		}
	}
	st_autoclose int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return st_err(err, ST_E_INVALID,
			      "no password: set STRATA_PASSWORD (or COSIGN_PASSWORD), or run on a "
			      "terminal");
	st_autopassword char *first = NULL;
	if (read_hidden(fd, prompt, &first, err) < 0)
		return -1;
	if (confirm) {
		st_autopassword char *again = NULL;
		if (read_hidden(fd, "Enter password for private key again: ", &again, err) < 0)
			return -1;
		if (strcmp(first, again) != 0)
			return st_err(err, ST_E_INVALID, "the passwords do not match");
	}
	*out = st_steal(&first);
	return 0;
}

void st_cli_password_freep(char **p)
{
	if (!*p)
		return;
	explicit_bzero(*p, strlen(*p));
	free(*p);
	*p = NULL;
}
