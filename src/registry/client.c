/*
 * client.c: the distribution API (manifests, blobs, uploads, tags) and authentication.
 *
 * Authentication follows the distribution spec's token flow as Docker does it: a request
 * goes out with the token cached for its registry and scope (if any); a 401 carries a
 * challenge, "Basic realm=..." (answered with the saved credentials) or "Bearer realm=...,
 * service=..." (a token is fetched from the realm for "repository:<name>:pull[,push]", with the
 * credentials as Basic auth when there are some, anonymously otherwise), and the request is
 * sent once more with the answer.
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "registry/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

struct token {
	char *key; /* "<domain> <scope>" */
	char *authorization;
};

struct scheme {
	char *domain;
	bool plain_http;
};

struct st_registry {
	struct st_http_client *http;
	char *auth_file;
	bool tls_verify_off;
	pthread_mutex_t lock; /* the caches below: layers are pulled from several threads */
	struct token *tokens;
	size_t n_tokens;
	struct scheme *schemes;
	size_t n_schemes;
	struct registry_hosts hosts; /* under 'lock' */
};

struct st_registry *st_registry_new(const struct st_registry_opts *o, struct st_error **err)
{
	struct st_http_client_opts ho = { 0 };
	if (o && o->http)
		ho = *o->http;
	if (o && o->tls_verify_off)
		ho.insecure = true;
	struct registry_hosts hosts;
	st_autofree char *hosts_file =
	    o && o->hosts_file ? st_xstrdup(o->hosts_file) : st_registry_hosts_file();
	if (registry_hosts_load(hosts_file, &hosts, err) < 0)
		return NULL;
	struct st_http_client *http = st_http_client_new(&ho, err);
	if (!http) {
		registry_hosts_release(&hosts);
		return NULL;
	}
	struct st_registry *r = st_xcalloc(1, sizeof(*r));
	r->hosts = hosts;
	r->http = http;
	r->auth_file = o && o->auth_file ? st_xstrdup(o->auth_file) : st_registry_auth_file();
	r->tls_verify_off = o && o->tls_verify_off;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void st_registry_free(struct st_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_tokens; i++) {
		free(r->tokens[i].key);
		free(r->tokens[i].authorization);
	}
	free(r->tokens);
	for (size_t i = 0; i < r->n_schemes; i++)
		free(r->schemes[i].domain);
	free(r->schemes);
	registry_hosts_release(&r->hosts);
	pthread_mutex_destroy(&r->lock);
	st_http_client_free(r->http);
	free(r->auth_file);
	free(r);
}

void st_registry_freep(struct st_registry **r)
{
	st_registry_free(*r);
	*r = NULL;
}

void st_registry_manifest_release(struct st_registry_manifest *m)
{
	st_buf_release(&m->bytes);
	free(m->media_type);
	m->media_type = NULL;
}

/* ---- hosts -------------------------------------------------------------------------------- */

/* Docker Hub's references say "docker.io"; its API lives elsewhere. */
static const char *api_host(const char *domain)
{
	return !strcmp(domain, "docker.io") ? "registry-1.docker.io" : domain;
}

/* Docker reaches registries on 127.0.0.0/8 (and localhost, ::1) without TLS when need be. */
static bool is_loopback(const char *domain)
{
	size_t n = strcspn(domain, ":");
	if (domain[0] == '[')
		return !strncmp(domain, "[::1]", 5);
	return (n == 9 && !strncmp(domain, "localhost", 9)) || !strncmp(domain, "127.", 4);
}

/* Whether 'domain' is reached without verifying its certificate (and over HTTP if need be). */
static bool insecure(struct st_registry *r, const char *domain)
{
	pthread_mutex_lock(&r->lock);
	bool listed = registry_hosts_insecure(&r->hosts, domain);
	pthread_mutex_unlock(&r->lock);
	return r->tls_verify_off || listed;
}

/* The TLS settings for a request to 'url': its host's CA and client certificate. */
static void tls_for(struct st_registry *r, const char *url, struct st_http_tls *out)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	st_autofree char *host = st_xstrndup(h, strcspn(h, "/"));
	pthread_mutex_lock(&r->lock);
	registry_hosts_tls(&r->hosts, host, out);
	out->insecure = registry_hosts_insecure(&r->hosts, host) ||
			(!strcmp(host, "registry-1.docker.io") &&
			 registry_hosts_insecure(&r->hosts, "docker.io"));
	pthread_mutex_unlock(&r->lock);
}

/*
 * "https://host" or, for a registry that may speak plain HTTP and does not answer TLS,
 * "http://host". The answer is remembered for the client's life.
 */
static char *base_url(struct st_registry *r, const char *domain)
{
	const char *host = api_host(domain);
	if (!is_loopback(domain) && !insecure(r, domain))
		return st_xasprintf("https://%s", host);
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n_schemes; i++) {
		if (!strcmp(r->schemes[i].domain, domain)) {
			bool plain = r->schemes[i].plain_http;
			pthread_mutex_unlock(&r->lock);
			return st_xasprintf("%s://%s", plain ? "http" : "https", host);
		}
	}
	pthread_mutex_unlock(&r->lock);
	/* Any answer over TLS, even a 401, means TLS works; a failed handshake means it does not.
	 */
	st_autofree char *probe = st_xasprintf("https://%s/v2/", host);
	/* The question is whether it speaks TLS, not whether we trust it: a certificate we do
	 * not trust is reported by the real request, not taken for plain HTTP. */
	struct st_http_tls tls = { .insecure = true };
	struct st_http_request rq = {
		.method = "GET", .url = probe, .flags = ST_HTTP_NO_RETRY, .tls = &tls
	};
	struct st_http_response resp;
	struct st_error *perr = NULL;
	bool plain = st_http_do(r->http, &rq, &resp, &perr) < 0;
	st_error_free(perr);
	st_http_response_release(&resp);
	pthread_mutex_lock(&r->lock);
	r->schemes = st_xrealloc(r->schemes, (r->n_schemes + 1) * sizeof(*r->schemes));
	r->schemes[r->n_schemes++] = (struct scheme){ st_xstrdup(domain), plain };
	pthread_mutex_unlock(&r->lock);
	return st_xasprintf("%s://%s", plain ? "http" : "https", host);
}

/* ---- requests ----------------------------------------------------------------------------- */

struct auth_ctx {
	struct st_registry *r;
	const char *domain;
	const char *scope;    /* "repository:<name>:pull" */
	const char *userpass; /* explicit credentials (login); NULL: the saved ones */
};

/* The value of parameter 'name' in a challenge ('realm="x",service="y"'), new, or NULL. */
static char *challenge_param(const char *ch, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = ch; (p = strstr(p, name)); p += n) {
		if ((p != ch && p[-1] != ' ' && p[-1] != ',') || p[n] != '=')
			continue;
		const char *v = p + n + 1;
		if (*v == '"') {
			const char *end = strchr(v + 1, '"');
			return end ? st_xstrndup(v + 1, (size_t)(end - v - 1)) : NULL;
		}
		return st_xstrndup(v, strcspn(v, ", "));
	}
	return NULL;
}

static char *url_escape(const char *s)
{
	struct st_buf b = ST_BUF_INIT;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
			st_buf_add(&b, p, 1);
		else
			st_buf_addf(&b, "%%%02X", *p);
	}
	return st_buf_detach(&b, NULL);
}

/* Fetch a Bearer token from the challenge's realm; *authorization is new. */
static int fetch_token(struct auth_ctx *a, const char *challenge, const char *userpass,
		       char **authorization, struct st_error **err)
{
	st_autofree char *realm = challenge_param(challenge, "realm");
	st_autofree char *service = challenge_param(challenge, "service");
	if (!realm)
		return st_err(err, ST_E_NET, "%s: a Bearer challenge without a realm", a->domain);
	struct st_buf u = ST_BUF_INIT;
	st_buf_addf(&u, "%s%c", realm, strchr(realm, '?') ? '&' : '?');
	if (service) {
		st_autofree char *e = url_escape(service);
		st_buf_addf(&u, "service=%s&", e);
	}
	/* Several scopes (a mount reads another repository) are several parameters. */
	const char *sc = a->scope;
	do {
		size_t n = strcspn(sc, " ");
		st_autofree char *one = st_xstrndup(sc, n);
		st_autofree char *e = url_escape(one);
		st_buf_addf(&u, "%sscope=%s", sc == a->scope ? "" : "&", e);
		sc += n + (sc[n] == ' ');
	} while (*sc);
	st_autofree char *basic = NULL;
	if (userpass) {
		st_autofree char *b = registry_b64(userpass);
		basic = st_xasprintf("Basic %s", b);
	}
	struct st_http_tls tls;
	tls_for(a->r, u.data, &tls);
	struct st_http_request rq = {
		.url = u.data, .authorization = basic, .flags = ST_HTTP_FOLLOW, .tls = &tls
	};
	struct st_http_response resp;
	int rc = st_http_do(a->r->http, &rq, &resp, err);
	if (rc == 0 && (resp.status == 401 || resp.status == 403))
		rc =
		    st_err(err, ST_E_INVALID, "unauthorized: %s",
			   userpass ? "incorrect username or password" : "authentication required");
	else if (rc == 0 && resp.status != 200)
		rc = st_http_status_error(&resp, err);
	if (rc == 0) {
		json_t *j =
		    json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
		const char *t = json_string_value(json_object_get(j, "token"));
		if (!t || !*t)
			t = json_string_value(json_object_get(j, "access_token"));
		if (t && *t)
			*authorization = st_xasprintf("Bearer %s", t);
		else
			rc = st_err(err, ST_E_NET, "the token server answered without a token");
		json_decref(j);
	}
	if (rc < 0)
		st_err_wrap(err, "get a token from '%s'", realm);
	st_http_response_release(&resp);
	st_buf_release(&u);
	return rc;
}

static void token_put(struct st_registry *r, const char *key, const char *authorization)
{
	pthread_mutex_lock(&r->lock);
	size_t i = 0;
	while (i < r->n_tokens && strcmp(r->tokens[i].key, key))
		i++;
	if (i == r->n_tokens) {
		r->tokens = st_xrealloc(r->tokens, (r->n_tokens + 1) * sizeof(*r->tokens));
		r->tokens[r->n_tokens++] = (struct token){ st_xstrdup(key), NULL };
	}
	free(r->tokens[i].authorization);
	r->tokens[i].authorization = st_xstrdup(authorization);
	pthread_mutex_unlock(&r->lock);
}

static char *token_get(struct st_registry *r, const char *key)
{
	char *v = NULL;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n_tokens && !v; i++)
		if (!strcmp(r->tokens[i].key, key))
			v = st_xstrdup(r->tokens[i].authorization);
	pthread_mutex_unlock(&r->lock);
	return v;
}

static int on_challenge(void *ctx, const char *challenge, char **authorization,
			struct st_error **err)
{
	struct auth_ctx *a = ctx;
	st_autofree char *saved =
	    a->userpass ? NULL : registry_credentials(a->r->auth_file, a->domain);
	const char *userpass = a->userpass ? a->userpass : saved;
	if (!strncasecmp(challenge, "Basic", 5)) {
		if (userpass) {
			st_autofree char *b = registry_b64(userpass);
			*authorization = st_xasprintf("Basic %s", b);
		}
	} else if (!strncasecmp(challenge, "Bearer", 6)) {
		if (fetch_token(a, challenge, userpass, authorization, err) < 0)
			return -1;
	}
	if (*authorization) {
		st_autofree char *key = st_xasprintf("%s %s", a->domain, a->scope);
		token_put(a->r, key, *authorization);
	}
	return 0;
}

/* The registry's own words for a failed request: "manifest unknown: ...", or its status. */
static int api_error(const struct st_http_response *resp, struct st_error **err)
{
	json_t *j = resp->body.len ? json_loadb(resp->body.data, resp->body.len, 0, NULL) : NULL;
	json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
	const char *code = json_string_value(json_object_get(e0, "code"));
	const char *msg = json_string_value(json_object_get(e0, "message"));
	int rc;
	if (resp->status == 401 || resp->status == 403) {
		rc = st_err(err, ST_E_INVALID, "%s: %s",
			    resp->status == 401 ? "unauthorized" : "denied",
			    msg ? msg : "authentication required");
	} else if (code) {
		struct st_buf b = ST_BUF_INIT;
		for (const char *p = code; *p; p++) {
			char c = *p == '_' ? ' ' : *p;
			st_buf_addf(&b, "%c", c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		rc = st_err(err, resp->status == 404 ? ST_E_NOTFOUND : ST_E_NET, "%s: %s", b.data,
			    msg ? msg : code);
		st_buf_release(&b);
	} else {
		rc = st_http_status_error(resp, err);
	}
	json_decref(j);
	return rc;
}

struct call {
	const char *method;
	const char *path; /* after /v2/<name>/, or a full URL (upload locations) */
	const char *const *headers;
	const void *body;
	size_t body_len;
	const struct st_http_body_reader *reader;
	const struct st_http_sink *sink;
	bool push; /* needs the push scope */
	bool follow;
	const char *also_pull; /* another repository of the registry read too (a mount's source) */
};

/*
 * A read from Docker Hub goes to its mirrors first, as Docker's registry-mirrors: the first
 * that answers serves it (true, *resp filled), its credentials and tokens its own. A mirror is
 * a pull-through cache of Docker Hub, so its 404 is Docker Hub's too; one that cannot be
 * reached, refuses us or fails (5xx) is skipped, and false sends the request to Docker Hub.
 */
static bool from_mirror(struct st_registry *r, const struct st_image_ref *ref, const struct call *c,
			const struct st_http_request *hub, struct st_http_response *resp)
{
	bool read = !c->method || !strcmp(c->method, "GET") || !strcmp(c->method, "HEAD");
	if (!read || strcmp(st_image_ref_domain(ref), "docker.io"))
		return false;
	for (size_t i = 0; i < r->hosts.n_mirrors; i++) {
		const char *m = r->hosts.mirrors[i];
		st_autofree char *url =
		    st_xasprintf("%s/v2/%s/%s", m, st_image_ref_path(ref), c->path);
		const char *h = strstr(m, "://") + 3;
		st_autofree char *mhost = st_xstrndup(h, strcspn(h, "/"));
		struct auth_ctx a = { r, mhost, ((struct auth_ctx *)hub->auth_ctx)->scope, NULL };
		struct st_http_tls tls;
		tls_for(r, url, &tls);
		struct st_http_request rq = *hub;
		rq.url = url;
		rq.authorization = NULL;
		rq.auth_ctx = &a;
		rq.tls = &tls;
		struct st_error *e = NULL;
		if (st_http_do(r->http, &rq, resp, &e) == 0 &&
		    (resp->status < 400 || resp->status == 404))
			return true;
		if (!e)
			st_http_response_release(resp);
		st_error_free(e);
		/* What a failed transfer wrote goes before Docker Hub's answer. */
		if (hub->sink.reset && hub->sink.reset(hub->sink.ctx, &e) < 0)
			st_error_free(e);
	}
	return false;
}

/* Send 'c' for ref's repository. Returns 0 with any status: the caller judges it. */
static int call(struct st_registry *r, const struct st_image_ref *ref, const struct call *c,
		struct st_http_response *resp, struct st_error **err)
{
	const char *domain = st_image_ref_domain(ref);
	st_autofree char *url = NULL;
	if (!strncmp(c->path, "http://", 7) || !strncmp(c->path, "https://", 8)) {
		url = st_xstrdup(c->path);
	} else {
		st_autofree char *base = base_url(r, domain);
		url = c->path[0] == '/'
			  ? st_xasprintf("%s%s", base, c->path)
			  : st_xasprintf("%s/v2/%s/%s", base, st_image_ref_path(ref), c->path);
	}
	st_autofree char *scope =
	    st_xasprintf("repository:%s:%s%s%s%s", st_image_ref_path(ref),
			 c->push ? "pull,push" : "pull", c->also_pull ? " repository:" : "",
			 c->also_pull ? c->also_pull : "", c->also_pull ? ":pull" : "");
	st_autofree char *key = st_xasprintf("%s %s", domain, scope);
	st_autofree char *cached = token_get(r, key);
	struct auth_ctx a = { r, domain, scope, NULL };
	struct st_http_request rq = {
		.method = c->method,
		.url = url,
		.headers = c->headers,
		.body = c->body,
		.body_len = c->body_len,
		.body_reader = c->reader,
		.flags = c->follow ? ST_HTTP_FOLLOW : 0,
		.authorization = cached,
		.auth = on_challenge,
		.auth_ctx = &a,
	};
	if (c->sink)
		rq.sink = *c->sink;
	struct st_http_tls tls;
	tls_for(r, url, &tls);
	rq.tls = &tls;
	if (c->path[0] != '/' && strncmp(c->path, "http", 4) && from_mirror(r, ref, c, &rq, resp))
		return 0;
	return st_http_do(r->http, &rq, resp, err);
}

/* ---- login -------------------------------------------------------------------------------- */

static int ping(struct st_registry *r, const char *domain, const char *userpass,
		struct st_http_response *resp, struct st_error **err)
{
	st_autofree char *base = base_url(r, domain);
	st_autofree char *url = st_xasprintf("%s/v2/", base);
	/* A login asks for no repository: the token server decides what an empty scope means. */
	struct auth_ctx a = { r, domain, "", userpass };
	struct st_http_tls tls;
	tls_for(r, url, &tls);
	struct st_http_request rq = {
		.url = url, .auth = on_challenge, .auth_ctx = &a, .tls = &tls
	};
	return st_http_do(r->http, &rq, resp, err);
}

int st_registry_login(struct st_registry *r, const char *domain, const char *user,
		      const char *password, struct st_error **err)
{
	if (!*user)
		return st_err(err, ST_E_INVALID, "login %s: a username is required", domain);
	st_autofree char *userpass = st_xasprintf("%s:%s", user, password);
	struct st_http_response resp;
	int rc = ping(r, domain, userpass, &resp, err);
	if (rc == 0 && resp.status != 200)
		rc = api_error(&resp, err);
	st_http_response_release(&resp);
	if (rc < 0)
		return st_err_wrap(err, "login %s", domain);
	if (registry_save_credentials(r->auth_file, domain, user, password, err) < 0)
		return st_err_wrap(err, "login %s: save credentials", domain);
	return 0;
}

int st_registry_logout(struct st_registry *r, const char *domain, struct st_error **err)
{
	if (registry_save_credentials(r->auth_file, domain, NULL, NULL, err) < 0)
		return st_err_wrap(err, "logout %s", domain);
	return 0;
}

/* ---- manifests ---------------------------------------------------------------------------- */

/* A manifest is read whole into memory: a registry must not make that unbounded. */
struct capped {
	struct st_buf *b;
	size_t max;
};

static int capped_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	struct capped *c = ctx;
	if (c->b->len + n > c->max)
		return st_err(err, ST_E_INVALID, "the manifest is larger than %zu MiB",
			      c->max >> 20);
	st_buf_add(c->b, p, n);
	return 0;
}

static int capped_reset(void *ctx, struct st_error **err)
{
	st_buf_release(((struct capped *)ctx)->b);
	return 0;
}

static int get_manifest(struct st_registry *r, const struct st_image_ref *ref,
			const char *reference, const struct st_digest *want,
			struct st_registry_manifest *out, struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	st_autofree char *path = st_xasprintf("manifests/%s", reference);
	const char *headers[] = { "Accept: " ST_REGISTRY_ACCEPT, NULL };
	struct capped cap = { &out->bytes, ST_REGISTRY_MANIFEST_MAX };
	struct st_http_sink sink = { capped_write, capped_reset, &cap };
	struct call c = {
		.method = "GET", .path = path, .headers = headers, .sink = &sink, .follow = true
	};
	struct st_http_response resp;
	int rc = call(r, ref, &c, &resp, err);
	if (rc == 0 && resp.status != 200)
		rc = api_error(&resp, err);
	if (rc == 0) {
		st_digest_of(out->bytes.data ? out->bytes.data : "", out->bytes.len, &out->digest);
		const char *served = st_http_response_header(&resp, "docker-content-digest");
		if (want && !st_digest_equal(want, &out->digest))
			rc = st_err(err, ST_E_DIGEST, "manifest %s: content hashes to %s",
				    want->str, out->digest.str);
		else if (served && strcmp(served, out->digest.str) &&
			 !strncmp(served, "sha256:", 7))
			rc = st_err(err, ST_E_DIGEST,
				    "manifest %s: content hashes to %s, the registry says %s",
				    reference, out->digest.str, served);
		const char *ct = st_http_response_header(&resp, "content-type");
		out->media_type = st_xstrndup(ct ? ct : "", ct ? strcspn(ct, "; ") : 0);
	}
	st_http_response_release(&resp);
	if (rc < 0) {
		st_registry_manifest_release(out);
		st_autofree char *name = st_image_ref_repository(ref);
		return st_err_wrap(err, "%s:%s", name, reference);
	}
	return 0;
}

int st_registry_get_manifest(struct st_registry *r, const struct st_image_ref *ref,
			     struct st_registry_manifest *out, struct st_error **err)
{
	const char *d = st_image_ref_digest(ref);
	if (d) {
		struct st_digest want;
		if (st_digest_parse(d, &want, err) < 0)
			return -1;
		return get_manifest(r, ref, d, &want, out, err);
	}
	const char *t = st_image_ref_tag(ref);
	return get_manifest(r, ref, t ? t : "latest", NULL, out, err);
}

int st_registry_get_manifest_digest(struct st_registry *r, const struct st_image_ref *ref,
				    const struct st_digest *digest,
				    struct st_registry_manifest *out, struct st_error **err)
{
	return get_manifest(r, ref, digest->str, digest, out, err);
}

int st_registry_put_manifest(struct st_registry *r, const struct st_image_ref *ref,
			     const char *media_type, const void *bytes, size_t len,
			     struct st_error **err)
{
	return registry_put_manifest(r, ref, media_type, bytes, len, NULL, err);
}

int registry_put_manifest(struct st_registry *r, const struct st_image_ref *ref,
			  const char *media_type, const void *bytes, size_t len,
			  bool *subject_indexed, struct st_error **err)
{
	const char *t = st_image_ref_tag(ref);
	struct st_digest d;
	st_digest_of(bytes, len, &d);
	st_autofree char *path = st_xasprintf("manifests/%s", t ? t : d.str);
	st_autofree char *ct = st_xasprintf("Content-Type: %s", media_type);
	const char *headers[] = { ct, NULL };
	struct call c = {
		.method = "PUT",
		.path = path,
		.headers = headers,
		.body = bytes,
		.body_len = len,
		.push = true,
	};
	struct st_http_response resp;
	int rc = call(r, ref, &c, &resp, err);
	if (rc == 0 && resp.status != 201 && resp.status != 200)
		rc = api_error(&resp, err);
	if (rc == 0 && subject_indexed)
		*subject_indexed = st_http_response_header(&resp, "oci-subject") != NULL;
	st_http_response_release(&resp);
	if (rc < 0)
		return st_err_wrap(err, "put manifest %s", d.str);
	return 0;
}

/* ---- blobs -------------------------------------------------------------------------------- */

int st_registry_blob_exists(struct st_registry *r, const struct st_image_ref *ref,
			    const struct st_digest *digest, bool *exists, struct st_error **err)
{
	st_autofree char *path = st_xasprintf("blobs/%s", digest->str);
	struct call c = { .method = "HEAD", .path = path, .follow = true };
	struct st_http_response resp;
	int rc = call(r, ref, &c, &resp, err);
	if (rc == 0) {
		*exists = resp.status == 200;
		if (resp.status != 200 && resp.status != 404)
			rc = api_error(&resp, err);
	}
	st_http_response_release(&resp);
	if (rc < 0)
		return st_err_wrap(err, "blob %s", digest->str);
	return 0;
}

int st_registry_get_blob(struct st_registry *r, const struct st_image_ref *ref,
			 const struct st_digest *digest, const struct st_http_sink *sink,
			 struct st_error **err)
{
	st_autofree char *path = st_xasprintf("blobs/%s", digest->str);
	/* Registries redirect blobs to their storage; curl sends no Authorization to another host.
	 */
	struct call c = { .method = "GET", .path = path, .sink = sink, .follow = true };
	struct st_http_response resp;
	int rc = call(r, ref, &c, &resp, err);
	if (rc == 0 && (resp.status < 200 || resp.status > 299))
		rc = api_error(&resp, err);
	st_http_response_release(&resp);
	return rc;
}

/* An upload's Location may be relative to the registry. New. */
static char *absolute(struct st_registry *r, const struct st_image_ref *ref, const char *loc)
{
	if (!strncmp(loc, "http://", 7) || !strncmp(loc, "https://", 8))
		return st_xstrdup(loc);
	st_autofree char *base = base_url(r, st_image_ref_domain(ref));
	return st_xasprintf("%s%s%s", base, loc[0] == '/' ? "" : "/", loc);
}

/* Part of a blob for one PATCH: 'len' bytes from 'start' of the whole blob's reader. */
struct chunk {
	const struct st_http_body_reader *body;
	uint64_t start, len, done;
};

static ssize_t chunk_read(void *ctx, void *buf, size_t n, struct st_error **err)
{
	struct chunk *c = ctx;
	if (n > c->len - c->done)
		n = (size_t)(c->len - c->done);
	if (!n)
		return 0;
	ssize_t k = c->body->read(c->body->ctx, buf, n, err);
	if (k > 0)
		c->done += (uint64_t)k;
	return k;
}

/* Put the blob's reader at 'off': back to its start, the bytes before 'off' skipped. */
static int seek_body(const struct st_http_body_reader *b, uint64_t off, struct st_error **err)
{
	if (!b->rewind)
		return st_err(err, ST_E_NET, "the blob cannot be read again");
	if (b->rewind(b->ctx, err) < 0)
		return -1;
	char buf[1 << 16];
	while (off) {
		ssize_t k =
		    b->read(b->ctx, buf, off < sizeof(buf) ? (size_t)off : sizeof(buf), err);
		if (k < 0)
			return -1;
		if (k == 0)
			return st_err(err, ST_E_IO, "the blob ended before byte %llu",
				      (unsigned long long)off);
		off -= (uint64_t)k;
	}
	return 0;
}

static int chunk_rewind(void *ctx, struct st_error **err)
{
	struct chunk *c = ctx;
	c->done = 0;
	return seek_body(c->body, c->start, err);
}

/*
 * Where an upload stands, from a response's "Range: 0-<last>" (inclusive) and Location: *off
 * is the next byte to send, *loc (replaced) the URL to send it to. False without them.
 */
static bool upload_state(struct st_registry *r, const struct st_image_ref *ref,
			 const struct st_http_response *resp, uint64_t *off, char **loc)
{
	const char *range = st_http_response_header(resp, "range");
	const char *l = st_http_response_header(resp, "location");
	unsigned long long first, last;
	if (!range || !l || sscanf(range, "%llu-%llu", &first, &last) != 2 || first != 0)
		return false;
	free(*loc);
	*loc = absolute(r, ref, l);
	*off = last + 1;
	return true;
}

/*
 * Send the blob in PATCH chunks to the upload session at *loc, then close it with the digest.
 * After a failed PATCH the session's state is asked for (GET <loc>) and the upload resumes
 * where the registry says it stands. Returns 1 when the registry has lost the session (the
 * distribution registry drops one whose stored size no longer matches the state in its URL,
 * as after a PATCH cut in the middle): the caller starts a new one.
 */
static int upload_chunked(struct st_registry *r, const struct st_image_ref *ref,
			  const struct st_digest *digest, const struct st_http_body_reader *body,
			  char **loc, struct st_error **err)
{
	uint64_t size = body->size, chunk = r->hosts.chunk_size, off = 0, pos = 0;
	while (off < size) {
		if (pos != off && seek_body(body, off, err) < 0)
			return -1;
		uint64_t len = size - off < chunk ? size - off : chunk;
		struct chunk ch = { body, off, len, 0 };
		struct st_http_body_reader rd = { chunk_read, chunk_rewind, &ch, len };
		char range[64];
		snprintf(range, sizeof(range), "Content-Range: %llu-%llu", (unsigned long long)off,
			 (unsigned long long)(off + len - 1));
		const char *headers[] = { "Content-Type: application/octet-stream", range, NULL };
		struct call c = { .method = "PATCH",
				  .path = *loc,
				  .headers = headers,
				  .reader = &rd,
				  .push = true };
		struct st_http_response resp;
		struct st_error *e = NULL;
		int rc = call(r, ref, &c, &resp, &e);
		pos = off + ch.done;
		bool moved =
		    rc == 0 && resp.status == 202 && upload_state(r, ref, &resp, &off, loc);
		st_http_response_release(&resp);
		st_error_free(e);
		if (moved)
			continue;
		struct call status = { .method = "GET", .path = *loc, .push = true };
		rc = call(r, ref, &status, &resp, err);
		bool known =
		    rc == 0 && resp.status == 204 && upload_state(r, ref, &resp, &off, loc);
		st_http_response_release(&resp);
		if (rc < 0)
			return -1;
		if (!known)
			return 1;
		pos = size + 1; /* unknown: seek before the next chunk */
	}
	st_autofree char *put =
	    st_xasprintf("%s%cdigest=%s", *loc, strchr(*loc, '?') ? '&' : '?', digest->str);
	struct call fin = { .method = "PUT", .path = put, .body = "", .push = true };
	struct st_http_response resp;
	int rc = call(r, ref, &fin, &resp, err);
	if (rc == 0 && resp.status != 201)
		rc = api_error(&resp, err);
	st_http_response_release(&resp);
	return rc;
}

/*
 * One upload session: POST (a mount when 'mount_from' is set), then the blob in one PUT, or in
 * PATCH chunks when it is bigger than one. 1: the registry lost a chunked session.
 */
static int upload(struct st_registry *r, const struct st_image_ref *ref,
		  const struct st_digest *digest, const struct st_http_body_reader *body,
		  const char *mount_from, bool *mounted, struct st_error **err)
{
	st_autofree char *path = NULL;
	if (mount_from) {
		st_autofree char *from = url_escape(mount_from);
		path = st_xasprintf("blobs/uploads/?mount=%s&from=%s", digest->str, from);
	} else {
		path = st_xstrdup("blobs/uploads/");
	}
	struct call start = {
		.method = "POST", .path = path, .push = true, .also_pull = mount_from
	};
	struct st_http_response resp;
	int rc = call(r, ref, &start, &resp, err);
	*mounted = rc == 0 && resp.status == 201;
	if (*mounted) {
		st_http_response_release(&resp); /* nothing to send */
		return 0;
	}
	const char *loc = rc == 0 ? st_http_response_header(&resp, "location") : NULL;
	if (rc == 0 && (resp.status != 202 || !loc))
		rc = resp.status == 202
			 ? st_err(err, ST_E_NET, "the registry gave no upload location")
			 : api_error(&resp, err);
	st_autofree char *abs = rc == 0 ? absolute(r, ref, loc) : NULL;
	st_http_response_release(&resp);
	if (rc < 0)
		return -1;
	if (body->size > r->hosts.chunk_size)
		return upload_chunked(r, ref, digest, body, &abs, err);
	st_autofree char *put =
	    st_xasprintf("%s%cdigest=%s", abs, strchr(abs, '?') ? '&' : '?', digest->str);
	const char *headers[] = { "Content-Type: application/octet-stream", NULL };
	struct call c = {
		.method = "PUT",
		.path = put,
		.headers = headers,
		.reader = body,
		.push = true,
	};
	rc = call(r, ref, &c, &resp, err);
	if (rc == 0 && resp.status != 201)
		rc = api_error(&resp, err);
	st_http_response_release(&resp);
	return rc;
}

int st_registry_push_blob(struct st_registry *r, const struct st_image_ref *ref,
			  const struct st_digest *digest, const struct st_http_body_reader *body,
			  const char *mount_from, bool *mounted, struct st_error **err)
{
	int rc = upload(r, ref, digest, body, mount_from, mounted, err);
	/* A lost session: one new session, the blob sent again from its start. */
	if (rc == 1)
		rc = seek_body(body, 0, err) < 0 ? -1
						 : upload(r, ref, digest, body, NULL, mounted, err);
	if (rc == 1)
		rc = st_err(err, ST_E_NET, "the registry lost the upload session twice");
	if (rc < 0)
		return st_err_wrap(err, "upload blob %s", digest->str);
	return 0;
}

/* The next page from a Link header ('<url>; rel="next"'), new, or NULL. */
static char *next_link(const struct st_http_response *resp)
{
	const char *l = st_http_response_header(resp, "link");
	if (!l || !strstr(l, "rel=\"next\"") || *l != '<')
		return NULL;
	const char *end = strchr(l, '>');
	return end ? st_xstrndup(l + 1, (size_t)(end - l - 1)) : NULL;
}

int st_registry_tags(struct st_registry *r, const struct st_image_ref *ref, char ***tags, size_t *n,
		     struct st_error **err)
{
	*tags = NULL;
	*n = 0;
	st_autofree char *path = st_xstrdup("tags/list");
	int rc = 0;
	while (rc == 0 && path) {
		struct call c = { .method = "GET", .path = path, .follow = true };
		struct st_http_response resp;
		rc = call(r, ref, &c, &resp, err);
		if (rc == 0 && resp.status != 200)
			rc = api_error(&resp, err);
		json_t *j = rc == 0 ? json_loadb(resp.body.data ? resp.body.data : "",
						 resp.body.len, 0, NULL)
				    : NULL;
		if (rc == 0 && !json_is_array(json_object_get(j, "tags")) &&
		    !json_is_null(json_object_get(j, "tags")))
			rc = st_err(err, ST_E_PARSE, "the tag list is not {\"tags\": [...]}");
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(j, "tags"), i, t)
		{
			if (!json_is_string(t))
				continue;
			*tags = st_xrealloc(*tags, (*n + 1) * sizeof(**tags));
			(*tags)[(*n)++] = st_xstrdup(json_string_value(t));
		}
		json_decref(j);
		char *next = rc == 0 ? next_link(&resp) : NULL;
		free(path);
		path = next && next[0] == '/' ? next : next ? absolute(r, ref, next) : NULL;
		if (next && path != next)
			free(next);
		st_http_response_release(&resp);
	}
	if (rc < 0)
		return st_err_wrap(err, "list tags");
	return 0;
}

int registry_referrers_api(struct st_registry *r, const struct st_image_ref *ref,
			   const struct st_digest *subject, const char *artifact_type,
			   json_t **manifests, bool *filtered, struct st_error **err)
{
	*manifests = NULL;
	*filtered = false;
	st_autofree char *query = NULL;
	if (artifact_type) {
		st_autofree char *t = url_escape(artifact_type);
		query = st_xasprintf("?artifactType=%s", t);
	}
	st_autofree char *path = st_xasprintf("referrers/%s%s", subject->str, query ? query : "");
	json_t *all = json_array();
	int rc = 0;
	/* Every page, as the Link header chains them. */
	while (rc == 0 && path) {
		const char *headers[] = { "Accept: " ST_MT_OCI_INDEX, NULL };
		struct st_buf body = ST_BUF_INIT;
		struct capped cap = { &body, ST_REGISTRY_MANIFEST_MAX };
		struct st_http_sink sink = { capped_write, capped_reset, &cap };
		struct call c = { .method = "GET",
				  .path = path,
				  .headers = headers,
				  .sink = &sink,
				  .follow = true };
		struct st_http_response resp;
		rc = call(r, ref, &c, &resp, err);
		/* No API: the registry answers 404 (never sent when it has one, even for none). */
		if (rc == 0 && resp.status == 404 && json_array_size(all) == 0) {
			st_http_response_release(&resp);
			st_buf_release(&body);
			json_decref(all);
			return 1;
		}
		if (rc == 0 && resp.status != 200)
			rc = api_error(&resp, err);
		json_t *page = NULL;
		if (rc == 0) {
			json_error_t je;
			page = json_loadb(body.data ? body.data : "", body.len, 0, &je);
			if (!json_is_array(json_object_get(page, "manifests")))
				rc = st_err(err, ST_E_PARSE, "the referrers are not an index: %s",
					    page ? "no manifests" : je.text);
		}
		if (rc == 0) {
			json_array_extend(all, json_object_get(page, "manifests"));
			if (st_http_response_header(&resp, "oci-filters-applied"))
				*filtered = true;
		}
		json_decref(page);
		free(path);
		path = rc == 0 ? next_link(&resp) : NULL;
		st_http_response_release(&resp);
		st_buf_release(&body);
	}
	if (rc < 0) {
		json_decref(all);
		return st_err_wrap(err, "referrers of %s", subject->str);
	}
	*manifests = all;
	return 0;
}
