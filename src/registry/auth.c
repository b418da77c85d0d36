/*
 * auth.c: registry credentials, kept where Docker keeps them.
 *
 * The file is Docker's config.json ($DOCKER_CONFIG/config.json, else ~/.docker/config.json;
 * $REGISTRY_AUTH_FILE or --authfile name another, as podman and skopeo allow), read and
 * written the way the Docker CLI does: a registry listed under "credHelpers", or every
 * registry when "credsStore" is set, goes through the credential helper
 * docker-credential-<name> (get, store and erase, the server on stdin, JSON back); otherwise
 * "auths" holds base64("user:password"). Passwords travel through pipes and files that only
 * their owner can read, never through a process's arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

extern char **environ;

static char *docker_config_file(void)
{
	const char *d = getenv("DOCKER_CONFIG");
	if (d && *d)
		return st_xasprintf("%s/config.json", d);
	const char *h = getenv("HOME");
	return st_xasprintf("%s/.docker/config.json", h && *h ? h : "/root");
}

char *st_registry_auth_file(void)
{
	const char *e = getenv("REGISTRY_AUTH_FILE");
	return e && *e ? st_xstrdup(e) : docker_config_file();
}

const char *st_registry_auth_key(const char *domain)
{
	return !strcmp(domain, "docker.io") ? "https://index.docker.io/v1/" : domain;
}

char *registry_b64(const char *s)
{
	size_t n = strlen(s);
	char *out = st_xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

/* "user:password" from base64, or NULL when it is not that. */
static char *b64_decode(const char *s)
{
	size_t n = strlen(s);
	if (n % 4)
		return NULL;
	unsigned char *out = st_xmalloc(n / 4 * 3 + 1);
	int k = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (k < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as bytes. */
	while (n && s[n - 1] == '=' && k > 0) {
		k--;
		n--;
	}
	out[k] = 0;
	if (!strchr((char *)out, ':')) {
		free(out);
		return NULL;
	}
	return (char *)out;
}

/*
 * Run "docker-credential-<helper> <verb>" with 'input' on stdin; *output (may be NULL) gets
 * what it printed. Returns its exit status, or -1 with *err when it could not run.
 */
static int run_helper(const char *helper, const char *verb, const char *input, char **output,
		      struct st_error **err)
{
	st_autofree char *prog = st_xasprintf("docker-credential-%s", helper);
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		int e = errno;
		if (in[0] >= 0) {
			close(in[0]);
			close(in[1]);
		}
		errno = e;
		return st_err_errno(err, "pipe");
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	char *argv[] = { prog, (char *)verb, NULL };
	pid_t pid;
	int rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (rc != 0) {
		close(in[1]);
		close(out[0]);
		errno = rc;
		return st_err_errno(err, "run credential helper '%s'", prog);
	}
	struct st_error *werr = NULL;
	if (st_write_all(in[1], input, strlen(input), &werr) < 0)
		st_error_free(werr); /* a helper that reads nothing still answers */
	close(in[1]);
	struct st_buf b = ST_BUF_INIT;
	char chunk[4096];
	ssize_t k;
	while ((k = read(out[0], chunk, sizeof(chunk))) > 0 || (k < 0 && errno == EINTR))
		if (k > 0)
			st_buf_add(&b, chunk, (size_t)k);
	close(out[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (output)
		*output = st_buf_detach(&b, NULL);
	else
		st_buf_release(&b);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The helper the config names for 'key': credHelpers first, then credsStore. Borrowed. */
static const char *helper_for(json_t *root, const char *key)
{
	const char *h =
	    json_string_value(json_object_get(json_object_get(root, "credHelpers"), key));
	if (h && *h)
		return h;
	h = json_string_value(json_object_get(root, "credsStore"));
	return h && *h ? h : NULL;
}

/* "user:password" for 'domain' from the config file at 'path', or NULL. */
static char *from_file(const char *path, const char *domain)
{
	json_t *root = json_load_file(path, 0, NULL);
	if (!root)
		return NULL;
	const char *key = st_registry_auth_key(domain);
	char *found = NULL;
	const char *helper = helper_for(root, key);
	if (helper) {
		char *out = NULL;
		struct st_error *e = NULL;
		if (run_helper(helper, "get", key, &out, &e) == 0) {
			json_t *j = json_loads(out, 0, NULL);
			const char *u = json_string_value(json_object_get(j, "Username"));
			const char *p = json_string_value(json_object_get(j, "Secret"));
			if (u && p)
				found = st_xasprintf("%s:%s", u, p);
			json_decref(j);
		}
		st_error_free(e);
		free(out);
	}
	json_t *auths = json_object_get(root, "auths");
	st_autofree char *https = st_xasprintf("https://%s", domain);
	const char *keys[] = { key, domain, https };
	for (size_t i = 0; i < 3 && !found; i++) {
		const char *a =
		    json_string_value(json_object_get(json_object_get(auths, keys[i]), "auth"));
		if (a && *a)
			found = b64_decode(a);
	}
	json_decref(root);
	return found;
}

char *registry_credentials(const char *auth_file, const char *domain)
{
	char *c = from_file(auth_file, domain);
	if (c)
		return c;
	st_autofree char *docker = docker_config_file();
	return strcmp(docker, auth_file) ? from_file(docker, domain) : NULL;
}

static int write_config(const char *path, json_t *root, struct st_error **err)
{
	char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	st_autofree char *dir = st_xstrdup(path);
	char *slash = strrchr(dir, '/');
	int rc = 0;
	if (slash && slash != dir) {
		*slash = 0;
		rc = st_mkdir_p(dir, 0700, err);
	}
	/* The file may hold passwords: only its owner may read it. */
	if (rc == 0)
		rc = st_write_file_atomic(path, slash ? dir : ".", text, strlen(text), 0600, err);
	free(text);
	return rc;
}

int registry_save_credentials(const char *path, const char *domain, const char *user,
			      const char *password, struct st_error **err)
{
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	if (!root) {
		if (access(path, F_OK) == 0)
			return st_err(err, ST_E_PARSE, "%s: %s", path, je.text);
		root = json_object();
	}
	const char *key = st_registry_auth_key(domain);
	const char *helper = helper_for(root, key);
	int rc = 0;
	if (helper) {
		json_t *in = user ? json_pack("{s:s, s:s, s:s}", "ServerURL", key, "Username", user,
					      "Secret", password)
				  : NULL;
		char *text = in ? json_dumps(in, JSON_COMPACT) : NULL;
		int st = run_helper(helper, user ? "store" : "erase", text ? text : key, NULL, err);
		json_decref(in);
		if (text) {
			explicit_bzero(text, strlen(text));
			free(text);
		}
		if (st > 0)
			rc =
			    st_err(err, ST_E_IO, "credential helper docker-credential-%s %s failed",
				   helper, user ? "store" : "erase");
		else if (st < 0)
			rc = -1;
		json_decref(root);
		return rc;
	}
	json_t *auths = json_object_get(root, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		json_object_set_new(root, "auths", auths);
	}
	if (user) {
		st_autofree char *up = st_xasprintf("%s:%s", user, password);
		st_autofree char *b64 = registry_b64(up);
		json_object_set_new(auths, key, json_pack("{s:s}", "auth", b64));
		explicit_bzero(up, strlen(up));
	} else if (json_object_del(auths, key) < 0) {
		json_decref(root);
		return st_err(err, ST_E_NOTFOUND, "not logged in to %s", domain);
	}
	rc = write_config(path, root, err);
	json_decref(root);
	return rc;
}
