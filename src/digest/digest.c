#include "digest/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/banned.h"

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

bool st_digest_valid(const char *s)
{
	return s && strncmp(s, "sha256:", 7) == 0 && strlen(s) == ST_DIGEST_STR_LEN &&
	       is_lower_hex(s + 7, ST_DIGEST_HEX_LEN);
}

bool st_digest_hex_valid(const char *s)
{
	return s && strlen(s) == ST_DIGEST_HEX_LEN && is_lower_hex(s, ST_DIGEST_HEX_LEN);
}

int st_digest_parse(const char *s, struct st_digest *out, struct st_error **err)
{
	if (!st_digest_valid(s))
		return st_err(err, ST_E_INVALID, "invalid digest '%s': expected sha256:<64 hex>",
			      s ? s : "");
	memcpy(out->str, s, ST_DIGEST_STR_LEN + 1);
	return 0;
}

int st_digest_from_hex(const char *hex, struct st_digest *out, struct st_error **err)
{
	if (!hex || strlen(hex) != ST_DIGEST_HEX_LEN || !is_lower_hex(hex, ST_DIGEST_HEX_LEN))
		return st_err(err, ST_E_INVALID, "invalid digest '%s': expected 64 hex characters",
			      hex ? hex : "");
	memcpy(out->str, "sha256:", 7);
	memcpy(out->str + 7, hex, ST_DIGEST_HEX_LEN + 1);
	return 0;
}

bool st_digest_equal(const struct st_digest *a, const struct st_digest *b)
{
	return strcmp(a->str, b->str) == 0;
}

void st_hasher_init(struct st_hasher *h)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
		abort();
	h->ctx = c;
	h->n = 0;
}

void st_hasher_update(struct st_hasher *h, const void *p, size_t n)
{
	if (n && EVP_DigestUpdate(h->ctx, p, n) != 1)
		abort();
	h->n += n;
}

void st_hasher_final(struct st_hasher *h, struct st_digest *out)
{
	unsigned char md[32];
	unsigned int len = 0;
	if (EVP_DigestFinal_ex(h->ctx, md, &len) != 1 || len != 32)
		abort();
	st_digest_from_raw(md, out);
	st_hasher_release(h);
}

void st_digest_from_raw(const unsigned char md[32], struct st_digest *out)
{
	static const char hexd[] = "0123456789abcdef";
	memcpy(out->str, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out->str[7 + 2 * i] = hexd[md[i] >> 4];
		out->str[7 + 2 * i + 1] = hexd[md[i] & 15];
	}
	out->str[ST_DIGEST_STR_LEN] = '\0';
}

void st_hasher_next(struct st_hasher *h, unsigned char md[32])
{
	unsigned int len = 0;
	/* a NULL type keeps the context's algorithm, already fetched */
	if (EVP_DigestFinal_ex(h->ctx, md, &len) != 1 || len != 32 ||
	    EVP_DigestInit_ex(h->ctx, NULL, NULL) != 1)
		abort();
	h->n = 0;
}

void st_hasher_release(struct st_hasher *h)
{
	if (h->ctx)
		EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void st_digest_of(const void *p, size_t n, struct st_digest *out)
{
	struct st_hasher h;
	st_hasher_init(&h);
	st_hasher_update(&h, p, n);
	st_hasher_final(&h, out);
}

int st_digest_of_file(const char *path, struct st_digest *out, unsigned long long *size,
		      struct st_error **err)
{
	st_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return st_err_errno(err, "open '%s'", path);
	struct st_hasher h;
	st_hasher_init(&h);
	st_autofree char *buf = malloc(1 << 20);
	if (!buf)
		abort();
	for (;;) {
		ssize_t r = read(fd, buf, 1 << 20);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			st_hasher_release(&h);
			return st_err_errno(err, "read '%s'", path);
		}
		if (r == 0)
			break;
		st_hasher_update(&h, buf, (size_t)r);
	}
	if (size)
		*size = h.n;
	st_hasher_final(&h, out);
	return 0;
}
