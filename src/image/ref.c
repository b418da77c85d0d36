/*
 * ref.c: image references with the grammar of github.com/distribution/reference
 * (regexp.go) and Docker's normalisation (normalize.go).
 *
 * The grammar is matched by hand rather than with POSIX regex: the distribution regexps use
 * non-greedy and non-capturing groups that regcomp() lacks, and a hand matcher gives the same
 * answers in one pass with no allocation.
 */
#include "image/image.h"

#include <ctype.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/banned.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define NAME_TOTAL_LENGTH_MAX 255

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_word(char c)
{
	return is_alnum(c) || c == '_';
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* domain-component: [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool domain_component_ok(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* domain: (domain-name | "[" ipv6 "]") (":" [0-9]+)? */
static bool domain_ok(const char *s, size_t n)
{
	size_t host_end = n;
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close || close == s + 1)
			return false;
		for (const char *p = s + 1; p < close; p++)
			if (!is_hex(*p) && *p != ':')
				return false;
		host_end = (size_t)(close - s) + 1;
		if (host_end != n && s[host_end] != ':')
			return false;
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon)
			host_end = (size_t)(colon - s);
		size_t start = 0;
		for (size_t i = 0; i <= host_end; i++) {
			if (i == host_end || s[i] == '.') {
				if (!domain_component_ok(s + start, i - start))
					return false;
				start = i + 1;
			}
		}
	}
	if (host_end == n)
		return true;
	/* ":" port */
	if (host_end + 1 >= n)
		return false;
	for (size_t i = host_end + 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* path-component: [a-z0-9]+ ((?:[._]|__|[-]+)[a-z0-9]+)* */
static bool path_component_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (n == 0 || !is_lower_alnum(s[0]))
		return false;
	while (i < n) {
		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			return true;
		/* a separator, then at least one alnum */
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i++;
			if (i < n && s[i] == '_')
				i++;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == n || !is_lower_alnum(s[i]))
			return false;
	}
	return true;
}

static bool path_ok(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '/') {
			if (!path_component_ok(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

bool st_image_ref_tag_valid(const char *tag)
{
	size_t n = tag ? strlen(tag) : 0;
	if (n == 0 || n > 128 || !is_word(tag[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_word(tag[i]) && tag[i] != '.' && tag[i] != '-')
			return false;
	return true;
}

/* digest: [A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,} */
static bool digest_grammar_ok(const char *s)
{
	const char *colon = strchr(s, ':');
	if (!colon)
		return false;
	bool want_alpha = true;
	for (const char *p = s; p < colon; p++) {
		if (want_alpha) {
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
				return false;
			want_alpha = false;
		} else if (*p == '-' || *p == '_' || *p == '+' || *p == '.') {
			want_alpha = true;
		} else if (!is_alnum(*p)) {
			return false;
		}
	}
	if (want_alpha)
		return false;
	size_t hex = strlen(colon + 1);
	if (hex < 32)
		return false;
	for (const char *p = colon + 1; *p; p++)
		if (!is_hex(*p))
			return false;
	return true;
}

static bool is_64_hex(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

bool st_image_ref_is_id(const char *s)
{
	size_t min = 12;
	if (!s)
		return false;
	if (strncmp(s, "sha256:", 7) == 0) {
		s += 7;
		min = 1;
	}
	size_t n = strlen(s);
	if (n < min || n > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

void st_image_ref_free(struct st_image_ref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	free(r);
}

void st_image_ref_freep(struct st_image_ref **r)
{
	st_image_ref_free(*r);
}

static char *dup_or_null(const char *s)
{
	return s ? st_xstrdup(s) : NULL;
}

struct st_image_ref *st_image_ref_dup(const struct st_image_ref *r)
{
	struct st_image_ref *d = st_xcalloc(1, sizeof(*d));
	d->domain = dup_or_null(r->domain);
	d->path = dup_or_null(r->path);
	d->tag = dup_or_null(r->tag);
	d->digest = dup_or_null(r->digest);
	return d;
}

struct st_image_ref *st_image_ref_at_digest(const struct st_image_ref *r, const char *digest)
{
	struct st_image_ref *d = st_xcalloc(1, sizeof(*d));
	d->domain = dup_or_null(r->domain);
	d->path = dup_or_null(r->path);
	d->digest = st_xstrdup(digest);
	return d;
}

/*
 * Docker's splitDockerDomain: the first component is a domain only if it has '.' or ':', is
 * "localhost", or has an upper-case letter (path components cannot, so it must be a host).
 */
static void split_docker_domain(const char *name, char **domain, char **remainder)
{
	const char *slash = strchr(name, '/');
	bool is_domain = false;
	if (slash) {
		size_t n = (size_t)(slash - name);
		is_domain = memchr(name, '.', n) || memchr(name, ':', n) ||
			    (n == 9 && strncmp(name, "localhost", 9) == 0);
		for (size_t i = 0; !is_domain && i < n; i++)
			if (name[i] >= 'A' && name[i] <= 'Z')
				is_domain = true;
	}
	if (is_domain) {
		*domain = st_xstrndup(name, (size_t)(slash - name));
		*remainder = st_xstrdup(slash + 1);
	} else {
		*domain = st_xstrdup(DEFAULT_DOMAIN);
		*remainder = st_xstrdup(name);
	}
	if (strcmp(*domain, LEGACY_DEFAULT_DOMAIN) == 0) {
		free(*domain);
		*domain = st_xstrdup(DEFAULT_DOMAIN);
	}
	if (strcmp(*domain, DEFAULT_DOMAIN) == 0 && !strchr(*remainder, '/')) {
		char *r = st_xasprintf(OFFICIAL_PREFIX "%s", *remainder);
		free(*remainder);
		*remainder = r;
	}
}

static int invalid(struct st_error **err, const char *why)
{
	return st_err(err, ST_E_PARSE, "invalid reference format%s%s", why ? ": " : "",
		      why ? why : "");
}

/* Match "<remainder>" = path[:tag][@digest] for a known domain; fills r. */
static bool match_remainder(const char *domain, const char *rem, struct st_image_ref *r)
{
	const char *at = strchr(rem, '@');
	size_t name_tag_len = at ? (size_t)(at - rem) : strlen(rem);
	if (at && !digest_grammar_ok(at + 1))
		return false;
	/* the tag separator is a ':' after the last '/' of the name */
	const char *colon = NULL;
	for (size_t i = 0; i < name_tag_len; i++) {
		if (rem[i] == '/')
			colon = NULL;
		else if (rem[i] == ':' && !colon)
			colon = rem + i;
	}
	size_t path_len = colon ? (size_t)(colon - rem) : name_tag_len;
	if (!domain_ok(domain, strlen(domain)) || !path_ok(rem, path_len))
		return false;
	if (colon) {
		st_autofree char *tag = st_xstrndup(colon + 1, name_tag_len - path_len - 1);
		if (!st_image_ref_tag_valid(tag))
			return false;
		r->tag = st_steal(&tag);
	}
	r->path = st_xstrndup(rem, path_len);
	if (at)
		r->digest = st_xstrdup(at + 1);
	return true;
}

static void ref_clear(struct st_image_ref *r)
{
	free(r->path);
	free(r->tag);
	free(r->digest);
	r->path = r->tag = r->digest = NULL;
}

int st_image_ref_parse_flags(const char *s, unsigned flags, struct st_image_ref **out,
			     struct st_error **err)
{
	if (!s || !*s)
		return invalid(err, "repository name must have at least one component");
	if (is_64_hex(s))
		return st_err(
		    err, ST_E_PARSE,
		    "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);

	st_auto(st_image_ref) struct st_image_ref *r = st_xcalloc(1, sizeof(*r));
	st_autofree char *rem = NULL;
	split_docker_domain(s, &r->domain, &rem);

	size_t remote_len = strcspn(rem, ":");
	for (size_t i = 0; i < remote_len; i++)
		if (rem[i] >= 'A' && rem[i] <= 'Z')
			return st_err(
			    err, ST_E_PARSE,
			    "invalid reference format: repository name (%.*s) must be lowercase",
			    (int)remote_len, rem);

	if (!match_remainder(r->domain, rem, r)) {
		ref_clear(r);
		return invalid(err, NULL);
	}
	if (strlen(r->domain) + 1 + strlen(r->path) > NAME_TOTAL_LENGTH_MAX)
		return invalid(err, "repository name must not be more than 255 characters");
	if (r->digest && !st_digest_valid(r->digest)) {
		if (strncmp(r->digest, "sha256:", 7) != 0)
			return st_err(err, ST_E_PARSE,
				      "invalid reference format: unsupported digest algorithm");
		if (strlen(r->digest) != ST_DIGEST_STR_LEN)
			return st_err(err, ST_E_PARSE,
				      "invalid reference format: invalid checksum digest length");
		return st_err(err, ST_E_PARSE,
			      "invalid reference format: invalid checksum digest format");
	}
	if ((flags & ST_IMAGE_REF_NAME_ONLY) && (r->tag || r->digest))
		return st_err(err, ST_E_PARSE,
			      "invalid repository name '%s': a tag or digest is not allowed here",
			      s);
	if (!r->tag && !r->digest && !(flags & ST_IMAGE_REF_NO_DEFAULT_TAG))
		r->tag = st_xstrdup("latest");
	*out = st_steal(&r);
	return 0;
}

int st_image_ref_parse(const char *s, struct st_image_ref **out, struct st_error **err)
{
	return st_image_ref_parse_flags(s, 0, out, err);
}

int st_image_ref_set_tag(struct st_image_ref *r, const char *tag, struct st_error **err)
{
	if (tag && !st_image_ref_tag_valid(tag))
		return st_err(err, ST_E_PARSE, "invalid tag format '%s'", tag);
	free(r->tag);
	r->tag = dup_or_null(tag);
	return 0;
}

static void add_tag_digest(struct st_buf *b, const struct st_image_ref *r)
{
	if (r->tag)
		st_buf_addf(b, ":%s", r->tag);
	if (r->digest)
		st_buf_addf(b, "@%s", r->digest);
}

char *st_image_ref_repository(const struct st_image_ref *r)
{
	return st_xasprintf("%s/%s", r->domain, r->path);
}

char *st_image_ref_string(const struct st_image_ref *r)
{
	struct st_buf b = ST_BUF_INIT;
	st_buf_addf(&b, "%s/%s", r->domain, r->path);
	add_tag_digest(&b, r);
	return st_buf_detach(&b, NULL);
}

/*
 * Docker's familiarizeName: drop "docker.io/", and "library/" when no further '/' follows
 * (Docker Hub has no nested official namespaces).
 */
char *st_image_ref_familiar_name(const struct st_image_ref *r)
{
	if (strcmp(r->domain, DEFAULT_DOMAIN) != 0)
		return st_image_ref_repository(r);
	const char *p = r->path;
	if (strncmp(p, OFFICIAL_PREFIX, strlen(OFFICIAL_PREFIX)) == 0 &&
	    !strchr(p + strlen(OFFICIAL_PREFIX), '/'))
		p += strlen(OFFICIAL_PREFIX);
	return st_xstrdup(p);
}

char *st_image_ref_familiar(const struct st_image_ref *r)
{
	struct st_buf b = ST_BUF_INIT;
	st_autofree char *name = st_image_ref_familiar_name(r);
	st_buf_adds(&b, name);
	add_tag_digest(&b, r);
	return st_buf_detach(&b, NULL);
}
