/*
 * hosts.c: what strata knows about registry hosts beyond their names: the registries to reach
 * without TLS verification, the mirrors of Docker Hub (both from the registries file, with
 * Docker daemon.json's keys) and each host's own CA and client certificate (Docker's certs.d
 * layout: <dir>/<host[:port]>/NAME.crt, client.cert and client.key).
 */
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static const char *const default_certs_dirs[] = {
	"/etc/strata/certs.d",
	"/etc/docker/certs.d",
	"/etc/containers/certs.d",
};

char *st_registry_hosts_file(void)
{
	const char *env = getenv("STRATA_REGISTRIES_CONF");
	return st_xstrdup(env && *env ? env : "/etc/strata/registries.json");
}

/* The strings of array 'key' of 'root' into *v (none when absent). */
static int strings(json_t *root, const char *file, const char *key, char ***v, size_t *n,
		   struct st_error **err)
{
	json_t *a = json_object_get(root, key);
	if (!a)
		return 0;
	if (!json_is_array(a))
		return st_err(err, ST_E_INVALID, "%s: \"%s\": expected an array of strings", file,
			      key);
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e)
	{
		if (!json_is_string(e))
			return st_err(err, ST_E_INVALID, "%s: \"%s\"[%zu]: expected a string", file,
				      key, i);
		st_strv_append(v, n, json_string_value(e));
	}
	return 0;
}

int registry_hosts_load(const char *file, struct registry_hosts *h, struct st_error **err)
{
	*h = (struct registry_hosts){ 0 };
	struct st_buf text = ST_BUF_INIT;
	struct st_error *rerr = NULL;
	int rc = 0;
	if (st_read_file(file, &text, &rerr) < 0) {
		/* No file: Docker's defaults (loopback is insecure anyway, see client.c). */
		bool missing = !st_path_exists(file);
		if (missing) {
			st_error_free(rerr);
		} else {
			*err = rerr;
			rc = -1;
		}
	} else {
		json_error_t jerr;
		json_t *root = json_loadb(text.data, text.len, 0, &jerr);
		if (!root || !json_is_object(root))
			rc = st_err(err, ST_E_PARSE, "%s:%d: %s", file, root ? 1 : jerr.line,
				    root ? "expected an object" : jerr.text);
		if (rc == 0)
			rc = strings(root, file, "insecure-registries", &h->insecure,
				     &h->n_insecure, err);
		if (rc == 0)
			rc = strings(root, file, "registry-mirrors", &h->mirrors, &h->n_mirrors,
				     err);
		if (rc == 0)
			rc = strings(root, file, "certs-dirs", &h->certs_dirs, &h->n_certs_dirs,
				     err);
		json_t *chunk = json_object_get(root, "upload-chunk-size");
		if (rc == 0 && chunk && (!json_is_integer(chunk) || json_integer_value(chunk) < 1))
			rc = st_err(err, ST_E_INVALID,
				    "%s: \"upload-chunk-size\": expected a number of bytes", file);
		else if (rc == 0 && chunk)
			h->chunk_size = (uint64_t)json_integer_value(chunk);
		json_decref(root);
	}
	st_buf_release(&text);
	if (rc == 0 && !h->chunk_size)
		h->chunk_size = REGISTRY_CHUNK_SIZE;
	if (rc == 0 && !h->certs_dirs)
		for (size_t i = 0; i < sizeof(default_certs_dirs) / sizeof(*default_certs_dirs);
		     i++)
			st_strv_append(&h->certs_dirs, &h->n_certs_dirs, default_certs_dirs[i]);
	/* A mirror is a base URL: "https://mirror.example" (a trailing '/' dropped). */
	for (size_t i = 0; rc == 0 && i < h->n_mirrors; i++) {
		char *m = h->mirrors[i];
		if (strncmp(m, "http://", 7) && strncmp(m, "https://", 8))
			rc = st_err(err, ST_E_INVALID,
				    "%s: registry-mirrors: '%s' is not an http:// or https:// URL",
				    file, m);
		size_t n = strlen(m);
		while (n > 8 && m[n - 1] == '/')
			m[--n] = '\0';
	}
	if (rc < 0)
		registry_hosts_release(h);
	return rc;
}

void registry_hosts_release(struct registry_hosts *h)
{
	st_strv_free(h->insecure, h->n_insecure);
	st_strv_free(h->mirrors, h->n_mirrors);
	st_strv_free(h->certs_dirs, h->n_certs_dirs);
	for (size_t i = 0; i < h->n_tls; i++) {
		free(h->tls[i].host);
		free(h->tls[i].ca);
		free(h->tls[i].cert);
		free(h->tls[i].key);
	}
	free(h->tls);
	*h = (struct registry_hosts){ 0 };
}

bool registry_hosts_insecure(const struct registry_hosts *h, const char *domain)
{
	for (size_t i = 0; i < h->n_insecure; i++)
		if (!strcmp(h->insecure[i], domain))
			return true;
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && !strcmp(s + n - k, suffix);
}

/* The files of <dir>/<host>: the first CA (*.crt) and client pair (*.cert, *.key) by name. */
static void scan(const char *dir, struct registry_host_tls *t)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	char **names = NULL;
	size_t n = 0;
	struct st_error *e = NULL;
	int rc = st_dir_names(d, dir, &names, &n, &e);
	closedir(d);
	if (rc < 0) {
		st_error_free(e);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char **slot = ends_with(names[i], ".crt")    ? &t->ca
			      : ends_with(names[i], ".cert") ? &t->cert
			      : ends_with(names[i], ".key")  ? &t->key
							     : NULL;
		if (slot && !*slot)
			*slot = st_path_join(dir, names[i]);
	}
	st_strv_free(names, n);
}

static const struct registry_host_tls *host_tls(struct registry_hosts *h, const char *host)
{
	for (size_t i = 0; i < h->n_tls; i++)
		if (!strcmp(h->tls[i].host, host))
			return &h->tls[i];
	struct registry_host_tls t = { .host = st_xstrdup(host) };
	for (size_t i = 0; i < h->n_certs_dirs && !t.ca && !t.cert; i++) {
		st_autofree char *dir = st_path_join(h->certs_dirs[i], host);
		scan(dir, &t);
	}
	if (!t.cert || !t.key) {
		/* Half a client pair is no pair. */
		free(t.cert);
		free(t.key);
		t.cert = t.key = NULL;
	}
	h->tls = st_xrealloc(h->tls, (h->n_tls + 1) * sizeof(*h->tls));
	h->tls[h->n_tls] = t;
	return &h->tls[h->n_tls++];
}

void registry_hosts_tls(struct registry_hosts *h, const char *host, struct st_http_tls *out)
{
	const struct registry_host_tls *t = host_tls(h, host);
	*out = (struct st_http_tls){ .ca_file = t->ca, .cert_file = t->cert, .key_file = t->key };
}
