/* password.h: the password of a private key, from the environment or the terminal. */
#ifndef ST_CLI_PASSWORD_H
#define ST_CLI_PASSWORD_H

#include <stdbool.h>

#include "util/err.h"

/*
 * *out (new) is $STRATA_PASSWORD, else $COSIGN_PASSWORD (either may be empty, as cosign
 * allows), else read from the terminal after 'prompt' with echo off; 'confirm' asks a second
 * time and fails when the two differ. ST_E_INVALID when there is neither a variable nor a
 * terminal.
 */
int st_cli_password(const char *prompt, bool confirm, char **out, struct st_error **err);
/* Wipe and free a password. NULL does nothing. */
void st_cli_password_freep(char **p);
#define st_autopassword __attribute__((cleanup(st_cli_password_freep)))

#endif
