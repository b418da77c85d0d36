/* internal.h: what the registry module's files share. Not a public header. */
#ifndef ST_REGISTRY_INTERNAL_H
#define ST_REGISTRY_INTERNAL_H

#include <jansson.h>

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

/* client.c */
/* st_registry_put_manifest(); *subject_indexed (may be NULL): the registry answered OCI-Subject. */
int registry_put_manifest(struct st_registry *r, const struct st_image_ref *ref,
			  const char *media_type, const void *bytes, size_t len,
			  bool *subject_indexed, struct st_error **err);
/*
 * The referrers API of ref's repository: every page's descriptors about 'subject' (of
 * 'artifact_type' when not NULL, if the registry filters: *filtered) into *manifests, a new
 * JSON array. 1 when the registry has no referrers API (404).
 */
int registry_referrers_api(struct st_registry *r, const struct st_image_ref *ref,
			   const struct st_digest *subject, const char *artifact_type,
			   json_t **manifests, bool *filtered, struct st_error **err);

/* hosts.c */
/*
 * Blobs bigger than this go up in PATCH chunks of this size (the registries file's
 * "upload-chunk-size" changes it): under the 100 MB request bodies that common proxies in front
 * of registries accept, and big enough that a chunk's extra round trip costs nothing measurable.
 * A dropped connection then costs at most one chunk where the registry lets an upload resume.
 */
#define REGISTRY_CHUNK_SIZE (64u << 20)
struct registry_host_tls {
	char *host, *ca, *cert, *key;
};
struct registry_hosts {
	char **insecure; /* "host[:port]" reached without TLS verification (or over HTTP) */
	size_t n_insecure;
	char **mirrors; /* base URLs tried before Docker Hub for what is read from it */
	size_t n_mirrors;
	char **certs_dirs; /* where <host>/ca.crt and client.cert/client.key are looked for */
	size_t n_certs_dirs;
	struct registry_host_tls *tls; /* per host, found once */
	size_t n_tls;
	uint64_t chunk_size; /* blobs bigger than this go up in PATCH chunks of this size */
};
/*
 * Read the registries file (JSON: "insecure-registries", "registry-mirrors", "certs-dirs", as
 * in Docker's daemon.json). A missing file gives the defaults; a bad one ST_E_PARSE or
 * ST_E_INVALID naming the file and key.
 */
int registry_hosts_load(const char *file, struct registry_hosts *h, struct st_error **err);
void registry_hosts_release(struct registry_hosts *h);
bool registry_hosts_insecure(const struct registry_hosts *h, const char *domain);
/* The CA and client certificate of 'host' (borrowed strings, valid while 'h' lives). */
void registry_hosts_tls(struct registry_hosts *h, const char *host, struct st_http_tls *out);

#endif
