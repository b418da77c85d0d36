/* internal.h: what the registry module's files share. Not a public header. */
#ifndef ST_REGISTRY_INTERNAL_H
#define ST_REGISTRY_INTERNAL_H

#include "registry/registry.h"

/* auth.c */
/* New: base64 of the string 's'. */
char *registry_b64(const char *s);
/*
 * New "user:password" for 'domain' from the config file 'auth_file' (its credHelpers,
 * credsStore or auths, in Docker's order), then from Docker's own when that is another file;
 * NULL when there is none.
 */
char *registry_credentials(const char *auth_file, const char *domain);
/* Save (user and password) or erase (both NULL) the credentials of 'domain'. */
int registry_save_credentials(const char *auth_file, const char *domain, const char *user,
			      const char *password, struct st_error **err);

#endif
