/*
 * dir.c: signatures in containers/image's dir: layout, as skopeo and podman write them
 * (`skopeo copy --sign-by-sigstore-private-key ... dir:D`): D/manifest.json is the image's
 * manifest, D/signature-1, D/signature-2, ... its sigstore signatures.
 */
#include "sign/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static const char sigstore_prefix[] = "\0sigstore-json\n";
#define SIGSTORE_PREFIX_LEN (sizeof(sigstore_prefix) - 1)

void st_sign_sigstore_release(struct st_sign_sigstore *s)
{
	free(s->mime_type);
	st_buf_release(&s->payload);
	free(s->b64);
	memset(s, 0, sizeof(*s));
}

int st_sign_sigstore_parse(const void *data, size_t len, const char *what,
			   struct st_sign_sigstore *out, struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	if (len < SIGSTORE_PREFIX_LEN || memcmp(data, sigstore_prefix, SIGSTORE_PREFIX_LEN) != 0)
		return st_err(err, ST_E_PARSE,
			      "%s: not a sigstore signature (it must start with "
			      "\"\\0sigstore-json\\n\")",
			      what);
	json_error_t je;
	json_t *doc = json_loadb((const char *)data + SIGSTORE_PREFIX_LEN,
				 len - SIGSTORE_PREFIX_LEN, JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return st_err(err, ST_E_PARSE, "%s: %s (at %d)", what, je.text, je.position);
	int rc = -1;
	json_t *mt = json_object_get(doc, "mimeType");
	json_t *payload = json_object_get(doc, "payload");
	json_t *ann = json_object_get(doc, "annotations");
	json_t *sig = json_object_get(ann, ST_SIGN_ANNOTATION);
	unsigned char *bin = NULL;
	size_t n = 0;
	if (!json_is_string(mt))
		st_err(err, ST_E_PARSE, "%s: mimeType: missing or not a string", what);
	else if (!json_is_string(payload) || sign_b64_decode(json_string_value(payload), &bin, &n))
		st_err(err, ST_E_PARSE, "%s: payload: missing or not base64", what);
	else if (ann && !json_is_object(ann))
		st_err(err, ST_E_PARSE, "%s: annotations: not an object", what);
	else if (sig && !json_is_string(sig))
		st_err(err, ST_E_PARSE, "%s: annotations.%s: not a string", what,
		       ST_SIGN_ANNOTATION);
	else
		rc = 0;
	if (rc == 0) {
		out->mime_type = st_xstrdup(json_string_value(mt));
		st_buf_add(&out->payload, bin, n);
		out->b64 = sig ? st_xstrdup(json_string_value(sig)) : NULL;
	}
	free(bin);
	json_decref(doc);
	return rc;
}

int st_sign_verify_dir(const struct st_sign_key *pub, const char *dir, struct st_sign_result *out,
		       struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	st_autofree char *mpath = st_path_join(dir, "manifest.json");
	struct st_buf manifest = ST_BUF_INIT;
	struct st_sign_sigstore *files = NULL;
	struct st_sign_signature *sigs = NULL;
	size_t n = 0;
	int rc = -1;
	if (st_read_file(mpath, &manifest, err) < 0)
		goto out;
	st_digest_of(manifest.data, manifest.len, &out->subject);
	/* signature-1, signature-2, ...: the first one missing ends the list, as in c/image. */
	for (;; n++) {
		char name[32];
		snprintf(name, sizeof(name), "signature-%zu", n + 1);
		st_autofree char *path = st_path_join(dir, name);
		struct st_buf b = ST_BUF_INIT;
		struct st_error *e = NULL;
		if (st_read_file(path, &b, &e) < 0) {
			bool missing = e->errnum == ENOENT;
			st_buf_release(&b);
			if (missing) {
				st_error_free(e);
				break;
			}
			*err = e;
			goto out;
		}
		files = st_xrealloc(files, (n + 1) * sizeof(*files));
		sigs = st_xrealloc(sigs, (n + 1) * sizeof(*sigs));
		int prc = st_sign_sigstore_parse(b.data, b.len, path, &files[n], err);
		st_buf_release(&b);
		if (prc < 0)
			goto out;
		sigs[n] = (struct st_sign_signature){
			.media_type = files[n].mime_type,
			.payload = files[n].payload.data,
			.len = files[n].payload.len,
			.b64 = files[n].b64,
		};
	}
	rc = st_sign_verify_signatures(pub, out->subject.str, NULL, sigs, n, &out->payloads,
				       &out->n_payloads, err);
out:
	for (size_t i = 0; i < n; i++)
		st_sign_sigstore_release(&files[i]);
	free(files);
	free(sigs);
	st_buf_release(&manifest);
	if (rc < 0) {
		st_sign_result_release(out);
		return st_err_wrap(err, "verify '%s'", dir);
	}
	return 0;
}
