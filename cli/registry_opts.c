/* registry_opts.c: the flags every verb that talks to a registry takes, read one way. */
#include <string.h>

#include "cli.h"
#include "registry/registry.h"

int st_cli_registry_opt(int c, const char *arg, struct st_registry_opts *ro, struct st_error **err)
{
	switch (c) {
	case ST_CLI_OPT_TLS_VERIFY:
		if (strcmp(arg, "true") && strcmp(arg, "false"))
			return st_cli_usage(err, "--tls-verify: expected true or false, not '%s'",
					    arg);
		ro->tls_verify_off = !strcmp(arg, "false");
		return 1;
	case ST_CLI_OPT_AUTHFILE:
		ro->auth_file = arg;
		return 1;
	default:
		return 0;
	}
}
