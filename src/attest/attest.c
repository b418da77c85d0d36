/*
 * attest.c: in-toto statements (SBOM, SLSA v1 provenance) and the attestation manifest that
 * carries them, as BuildKit's image exporter writes them, so that buildx imagetools, Docker
 * Scout and cosign find them where they look.
 */
#include "attest/attest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "local/local.h"
#include "sbom/sbom.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/timestamp.h"
#include "util/banned.h"

bool st_attest_wanted(const struct st_attest_opts *o)
{
	return o && (o->sbom || o->provenance != ST_ATTEST_PROVENANCE_NONE);
}

/* ---- flags ---- */

static int parse_bool(const char *key, const char *v, bool *out, struct st_error **err)
{
	if (!strcmp(v, "true") || !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "false") || !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	return st_err(err, ST_E_INVALID, "%s='%s': expected true or false", key, v);
}

/* The "key=value" pairs of 'spec' after its type, into 'o' for 'type'. */
static int parse_keys(char *spec, const char *type, struct st_attest_opts *o, char **warning,
		      struct st_error **err)
{
	bool sbom = !strcmp(type, "sbom");
	bool disabled = false;
	enum st_attest_provenance mode = ST_ATTEST_PROVENANCE_MIN;
	for (char *p = spec; p && *p;) {
		char *kv = p;
		p = strchr(p, ',');
		if (p)
			*p++ = '\0';
		char *eq = strchr(kv, '=');
		if (!eq)
			return st_err(err, ST_E_INVALID, "'%s': expected key=value", kv);
		*eq = '\0';
		const char *v = eq + 1;
		if (!strcmp(kv, "type")) {
			continue;
		} else if (!strcmp(kv, "disabled")) {
			if (parse_bool(kv, v, &disabled, err) < 0)
				return -1;
		} else if (sbom && !strcmp(kv, "generator")) {
			if (warning) {
				free(*warning);
				*warning =
				    st_xasprintf("the SBOM generator '%s' is not run: strata "
						 "catalogues the image itself",
						 v);
			}
		} else if (!sbom && !strcmp(kv, "mode")) {
			if (!strcmp(v, "min"))
				mode = ST_ATTEST_PROVENANCE_MIN;
			else if (!strcmp(v, "max"))
				mode = ST_ATTEST_PROVENANCE_MAX;
			else
				return st_err(err, ST_E_INVALID, "mode='%s': expected min or max",
					      v);
		} else if (!sbom && !strcmp(kv, "builder-id")) {
			o->builder_id = v;
		} else if (!sbom && !strcmp(kv, "version")) {
			if (strcmp(v, "v1"))
				return st_err(err, ST_E_INVALID,
					      "version='%s': strata writes SLSA provenance v1", v);
		} else {
			return st_err(err, ST_E_INVALID, "unknown %s attestation option '%s'", type,
				      kv);
		}
	}
	if (sbom)
		o->sbom = !disabled;
	else
		o->provenance = disabled ? ST_ATTEST_PROVENANCE_NONE : mode;
	return 0;
}

int st_attest_parse(char *spec, struct st_attest_opts *o, char **warning, struct st_error **err)
{
	const char *type = NULL;
	for (const char *p = spec; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, "type=", 5)) {
			type = p + 5;
			break;
		}
	if (!type)
		return st_err(err, ST_E_INVALID, "'%s': no type= (sbom or provenance)", spec);
	if (!strncmp(type, "sbom", 4) && (type[4] == ',' || !type[4]))
		return parse_keys(spec, "sbom", o, warning, err);
	if (!strncmp(type, "provenance", 10) && (type[10] == ',' || !type[10]))
		return parse_keys(spec, "provenance", o, warning, err);
	size_t n = strcspn(type, ",");
	return st_err(err, ST_E_INVALID, "type='%.*s': expected sbom or provenance", (int)n, type);
}

int st_attest_parse_sbom(char *value, struct st_attest_opts *o, char **warning,
			 struct st_error **err)
{
	if (!strchr(value, '='))
		return parse_bool("--sbom", value, &o->sbom, err);
	return parse_keys(value, "sbom", o, warning, err);
}

int st_attest_parse_provenance(char *value, struct st_attest_opts *o, struct st_error **err)
{
	/* buildx's shorthands: a boolean, or the mode alone. */
	if (!strchr(value, '=')) {
		bool on = true;
		if (!strcmp(value, "max"))
			o->provenance = ST_ATTEST_PROVENANCE_MAX;
		else if (!strcmp(value, "min"))
			o->provenance = ST_ATTEST_PROVENANCE_MIN;
		else if (parse_bool("--provenance", value, &on, err) < 0)
			return -1;
		else
			o->provenance = on ? ST_ATTEST_PROVENANCE_MIN : ST_ATTEST_PROVENANCE_NONE;
		return 0;
	}
	return parse_keys(value, "provenance", o, NULL, err);
}

/* ---- what a build says about itself ---- */

void st_attest_build_add_material(struct st_attest_build *b, const char *uri,
				  const struct st_digest *digest)
{
	for (size_t i = 0; i < b->n_materials; i++)
		if (!strcmp(b->materials[i].uri, uri) &&
		    st_digest_equal(&b->materials[i].digest, digest))
			return;
	b->materials = st_xrealloc(b->materials, (b->n_materials + 1) * sizeof(*b->materials));
	b->materials[b->n_materials++] =
	    (struct st_attest_material){ .uri = st_xstrdup(uri), .digest = *digest };
}

void st_attest_build_release(struct st_attest_build *b)
{
	free(b->dockerfile_name);
	free(b->dockerfile_source);
	free(b->context);
	free(b->target);
	st_strv_free(b->args, b->n_args);
	for (size_t i = 0; i < b->n_materials; i++)
		free(b->materials[i].uri);
	free(b->materials);
	free(b->invocation_id);
	*b = (struct st_attest_build){ 0 };
}

char *st_attest_purl(const struct st_image_ref *ref, const struct st_platform *p)
{
	st_autofree char *name = st_image_ref_familiar_name(ref);
	struct st_buf b = ST_BUF_INIT;
	st_buf_addf(&b, "pkg:docker/%s@", name);
	/* The digest's colon is percent-encoded, as a purl's version must be. */
	if (ref->tag || !ref->digest)
		st_buf_addf(&b, "%s", ref->tag ? ref->tag : "latest");
	else
		st_buf_addf(&b, "sha256%%3A%s", ref->digest + 7);
	if (p) {
		st_buf_addf(&b, "?platform=%s%%2F%s", p->os, p->architecture);
		if (p->variant[0])
			st_buf_addf(&b, "%%2F%s", p->variant);
	}
	return st_buf_detach(&b, NULL);
}

/* ---- statements ---- */

static json_t *digest_set(const struct st_digest *d)
{
	return json_pack("{s:s}", "sha256", st_digest_hex(d));
}

json_t *st_attest_statement(const char *predicate_type, const struct st_digest *subject,
			    const char *const *names, size_t n, json_t *predicate)
{
	json_t *subjects = json_array();
	for (size_t i = 0; i < (n ? n : 1); i++)
		json_array_append_new(subjects, json_pack("{s:s, s:o}", "name", n ? names[i] : "_",
							  "digest", digest_set(subject)));
	return json_pack("{s:s, s:s, s:o, s:o}", "_type", ST_ATTEST_STATEMENT_TYPE, "predicateType",
			 predicate_type, "subject", subjects, "predicate", predicate);
}

static json_t *rfc3339(int64_t sec)
{
	st_autofree char *t = st_time_rfc3339((time_t)sec, 0);
	return json_string(t);
}

static json_t *base64(const char *text)
{
	size_t n = strlen(text);
	st_autofree unsigned char *out = st_xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock(out, (const unsigned char *)text, (int)n);
	return json_string((char *)out);
}

json_t *st_attest_provenance(const struct st_attest_build *b, enum st_attest_provenance mode,
			     const char *builder_id)
{
	bool max = mode == ST_ATTEST_PROVENANCE_MAX;
	json_t *config_source = json_pack("{s:s}", "path", b->dockerfile_name);
	if (b->context)
		json_object_set_new(config_source, "uri", json_string(b->context));
	json_object_set_new(config_source, "digest", digest_set(&b->dockerfile_digest));

	/* Build arguments can hold what must not leave the build (tokens, passwords): BuildKit
	 * writes them in max mode only, and says in min mode that the request is incomplete. */
	json_t *args = json_object();
	if (b->target)
		json_object_set_new(args, "target", json_string(b->target));
	for (size_t i = 0; max && i < b->n_args; i++) {
		const char *eq = strchr(b->args[i], '=');
		st_autofree char *key = st_xasprintf(
		    "build-arg:%.*s", (int)(eq ? eq - b->args[i] : (long)strlen(b->args[i])),
		    b->args[i]);
		json_object_set_new(args, key, json_string(eq ? eq + 1 : ""));
	}
	json_t *request =
	    json_pack("{s:s, s:o, s:[{s:s}, {s:s}]}", "frontend", "dockerfile.v0", "args", args,
		      "locals", "name", "context", "name", "dockerfile");

	struct st_buf plat = ST_BUF_INIT;
	st_platform_format(&b->builder_platform, &plat);
	json_t *internal = json_pack("{s:s}", "builderPlatform", plat.data);
	st_buf_release(&plat);

	json_t *deps = json_array();
	for (size_t i = 0; i < b->n_materials; i++)
		json_array_append_new(deps,
				      json_pack("{s:s, s:o}", "uri", b->materials[i].uri, "digest",
						digest_set(&b->materials[i].digest)));
	/* The Dockerfile is what the build ran: its digest is as much an input as a base's. */
	st_autofree char *df_uri = st_xasprintf("file:%s", b->dockerfile_name);
	json_array_append_new(deps, json_pack("{s:s, s:o}", "uri", df_uri, "digest",
					      digest_set(&b->dockerfile_digest)));

	json_t *metadata =
	    json_pack("{s:s, s:o, s:o, s:{s:b, s:b}, s:b}", "invocationId",
		      b->invocation_id ? b->invocation_id : "", "startedOn", rfc3339(b->started),
		      "finishedOn", rfc3339(b->finished), "buildkit_completeness", "request",
		      max || !b->n_args, "resolvedDependencies", 1, "buildkit_hermetic", 0);
	if (max && b->dockerfile_source)
		json_object_set_new(metadata, "buildkit_metadata",
				    json_pack("{s:{s:[{s:s, s:s, s:o}]}}", "source", "infos",
					      "filename", b->dockerfile_name, "language",
					      "Dockerfile", "data", base64(b->dockerfile_source)));

	st_autofree char *id = builder_id ? st_xstrdup(builder_id)
					  : st_xasprintf("pkg:generic/strata@%s", STRATA_VERSION);
	return json_pack("{s:{s:s, s:{s:o, s:o}, s:o, s:o}, s:{s:{s:s}, s:o}}", "buildDefinition",
			 "buildType", ST_ATTEST_BUILD_TYPE, "externalParameters", "configSource",
			 config_source, "request", request, "internalParameters", internal,
			 "resolvedDependencies", deps, "runDetails", "builder", "id", id,
			 "metadata", metadata);
}

/* ---- the attestation manifest ---- */

void st_attest_manifest_release(struct st_attest_manifest *m)
{
	st_image_descriptor_release(&m->desc);
	st_strv_free(m->blobs, m->n_blobs);
	*m = (struct st_attest_manifest){ 0 };
}

/* Store 'b' under 'lease'; *d gets its digest and size. */
static int put(struct st_store *s, struct st_store_lease *lease, const struct st_buf *b,
	       struct st_image_descriptor *d, struct st_error **err)
{
	st_digest_of(b->data, b->len, &d->digest);
	d->size = (int64_t)b->len;
	if (st_store_lease_add(lease, d->digest.str, err) < 0)
		return -1;
	return st_store_put_blob(s, b->data, b->len, NULL, err);
}

/* One statement as a layer of 'm'. 'statement' is stolen. */
static int add_statement(struct st_store *s, struct st_store_lease *lease,
			 struct st_image_manifest *m, const char *predicate_type, json_t *statement,
			 struct st_error **err)
{
	/* Compact, keys in order: the same build gives the same blob. */
	char *text = json_dumps(statement, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(statement);
	if (!text)
		abort(); /* jansson fails only without memory */
	struct st_buf b = ST_BUF_INIT;
	st_buf_add(&b, text, strlen(text));
	free(text);
	struct st_image_descriptor d = { .media_type = ST_ATTEST_MT_INTOTO };
	st_image_map_set(&d.annotations, ST_ATTEST_ANN_PREDICATE, predicate_type);
	int rc = put(s, lease, &b, &d, err);
	if (rc == 0)
		st_image_manifest_add_layer(m, &d);
	st_image_map_release(&d.annotations);
	st_buf_release(&b);
	return rc;
}

static int sbom_predicate(struct st_store *s, const struct st_store_image *img, const char *name,
			  int64_t created, json_t **out, struct st_error **err)
{
	st_auto(st_sbom) struct st_sbom *sb = NULL;
	if (st_sbom_image(s, img, &sb, err) < 0)
		return st_err_wrap(err, "SBOM of %s", img->manifest_digest.str);
	struct st_sbom_meta meta = { .name = name,
				     .image_id = img->id.str,
				     .manifest_digest = img->manifest_digest.str,
				     .architecture = img->architecture,
				     .tool_version = STRATA_VERSION,
				     .created = created,
				     .scope = ST_SBOM_SQUASHED };
	struct st_buf doc = ST_BUF_INIT;
	st_sbom_write(sb, ST_SBOM_SPDX_JSON, &meta, &doc);
	json_error_t je;
	*out = json_loadb(doc.data, doc.len, 0, &je);
	st_buf_release(&doc);
	if (!*out)
		return st_err(err, ST_E_PARSE, "SBOM of %s: %s", img->manifest_digest.str, je.text);
	return 0;
}

/*
 * The config of an attestation manifest, byte for byte as BuildKit's (a Go ocispecs.Image of
 * platform unknown/unknown): readers ignore it, but a registry wants a manifest's config.
 */
#define ATTEST_CONFIG                                                                              \
	"{\"architecture\":\"unknown\",\"os\":\"unknown\",\"config\":{},\"rootfs\":{\"type\":"     \
	"\"layers\",\"diff_ids\":null}}"

int st_attest_write(struct st_store *s, const struct st_attest_opts *o,
		    const struct st_attest_build *b, const struct st_store_image *img,
		    const char *const *names, size_t n, struct st_store_lease *lease,
		    struct st_attest_manifest *out, struct st_error **err)
{
	*out = (struct st_attest_manifest){ 0 };
	struct st_platform p = { 0 };
	snprintf(p.os, sizeof(p.os), "%s", img->os ? img->os : "linux");
	snprintf(p.architecture, sizeof(p.architecture), "%s",
		 img->architecture ? img->architecture : "");
	snprintf(p.variant, sizeof(p.variant), "%s", img->variant ? img->variant : "");
	char **purls = st_xcalloc(n + 1, sizeof(*purls));
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		st_auto(st_image_ref) struct st_image_ref *ref = NULL;
		rc = st_image_ref_parse(names[i], &ref, err);
		if (rc == 0)
			purls[i] = st_attest_purl(ref, &p);
	}
	st_auto(st_image_manifest) struct st_image_manifest *m = st_image_manifest_new();
	if (rc == 0 && o->sbom) {
		json_t *pred = NULL;
		rc = sbom_predicate(s, img, n ? names[0] : img->manifest_digest.str, b->finished,
				    &pred, err);
		if (rc == 0)
			rc = add_statement(s, lease, m, ST_ATTEST_PREDICATE_SPDX,
					   st_attest_statement(ST_ATTEST_PREDICATE_SPDX,
							       &img->manifest_digest,
							       (const char *const *)purls, n, pred),
					   err);
	}
	if (rc == 0 && o->provenance != ST_ATTEST_PROVENANCE_NONE) {
		json_t *pred = st_attest_provenance(b, o->provenance, o->builder_id);
		rc = add_statement(s, lease, m, ST_ATTEST_PREDICATE_SLSA1,
				   st_attest_statement(ST_ATTEST_PREDICATE_SLSA1,
						       &img->manifest_digest,
						       (const char *const *)purls, n, pred),
				   err);
	}
	st_strv_free(purls, n);

	struct st_buf cfg = ST_BUF_INIT, man = ST_BUF_INIT;
	st_buf_addf(&cfg, "%s", ATTEST_CONFIG);
	if (rc == 0)
		rc = put(s, lease, &cfg, &m->config, err);
	if (rc == 0) {
		st_image_manifest_serialize(m, &man);
		out->desc.media_type = st_xstrdup(ST_MT_OCI_MANIFEST);
		rc = put(s, lease, &man, &out->desc, err);
	}
	if (rc == 0) {
		out->desc.has_platform = true;
		snprintf(out->desc.platform.os, sizeof(out->desc.platform.os), "unknown");
		snprintf(out->desc.platform.architecture, sizeof(out->desc.platform.architecture),
			 "unknown");
		st_image_map_set(&out->desc.annotations, ST_ATTEST_ANN_REF_DIGEST,
				 img->manifest_digest.str);
		st_image_map_set(&out->desc.annotations, ST_ATTEST_ANN_REF_TYPE,
				 ST_ATTEST_REF_TYPE_MANIFEST);
		out->n_blobs = m->n_layers + 1;
		out->blobs = st_xcalloc(out->n_blobs + 1, sizeof(*out->blobs));
		out->blobs[0] = st_xstrdup(m->config.digest.str);
		for (size_t i = 0; i < m->n_layers; i++)
			out->blobs[i + 1] = st_xstrdup(m->layers[i].digest.str);
	}
	st_buf_release(&cfg);
	st_buf_release(&man);
	if (rc < 0)
		st_attest_manifest_release(out);
	return rc;
}

/* ---- statements as files (type=local, type=tar) ---- */

void st_attest_subjects_free(struct st_attest_subject *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

struct subjects {
	struct st_attest_subject *v;
	size_t n;
};

static int add_subject(void *ctx, const char *path, const char *rel, enum st_walk_kind kind,
		       struct st_error **err)
{
	struct subjects *s = ctx;
	if (kind != ST_WALK_FILE)
		return 0;
	struct st_digest d;
	if (st_digest_of_file(path, &d, NULL, err) < 0)
		return -1;
	s->v = st_xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = (struct st_attest_subject){ .name = st_xstrdup(rel), .digest = d };
	return 0;
}

int st_attest_subjects(const char *root, struct st_attest_subject **out, size_t *n,
		       struct st_error **err)
{
	struct subjects s = { 0 };
	int rc = st_fs_walk(root, add_subject, &s, err);
	*out = s.v;
	*n = s.n;
	if (rc < 0) {
		st_attest_subjects_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void st_attest_files_free(struct st_attest_file *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].text);
	}
	free(v);
}

/* A statement about the files 'subjects' as the file 'base' (".json" its extension). */
static void add_file(struct st_attest_file **v, size_t *n, const char *prefix, const char *platform,
		     const char *base, const char *predicate_type,
		     const struct st_attest_subject *subjects, size_t ns, json_t *predicate)
{
	json_t *subj = json_array();
	for (size_t i = 0; i < ns; i++)
		json_array_append_new(subj, json_pack("{s:s, s:o}", "name", subjects[i].name,
						      "digest", digest_set(&subjects[i].digest)));
	json_t *st =
	    json_pack("{s:s, s:s, s:o, s:o}", "_type", ST_ATTEST_STATEMENT_TYPE, "predicateType",
		      predicate_type, "subject", subj, "predicate", predicate);
	/* Indented, in the statement's own key order: what Go's json.MarshalIndent writes. */
	char *text = json_dumps(st, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(st);
	if (!text)
		abort(); /* jansson fails only without memory */
	*v = st_xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].text = text;
	/* Several platforms in one tree: the platform goes before the extension, as BuildKit's
	 * "provenance.linux_arm64.json", so that no platform's statement hides another's. */
	size_t stem = strlen(base) - strlen(".json");
	(*v)[(*n)++].name = platform ? st_xasprintf("%s%.*s.%s.json", prefix ? prefix : "",
						    (int)stem, base, platform)
				     : st_xasprintf("%s%s", prefix ? prefix : "", base);
}

int st_attest_files(struct st_store *s, const struct st_attest_opts *o,
		    const struct st_attest_build *b, const struct st_store_image *img,
		    const struct st_attest_subject *subjects, size_t n, const char *prefix,
		    const char *platform, struct st_attest_file **out, size_t *nout,
		    struct st_error **err)
{
	*out = NULL;
	*nout = 0;
	/* BuildKit's names: its SBOM scanner's file for the final stage, its provenance's. */
	if (o->sbom) {
		json_t *pred = NULL;
		if (sbom_predicate(s, img, img->manifest_digest.str, b->finished, &pred, err) < 0)
			return -1;
		add_file(out, nout, prefix, platform, "sbom.spdx.json", ST_ATTEST_PREDICATE_SPDX,
			 subjects, n, pred);
	}
	if (o->provenance != ST_ATTEST_PROVENANCE_NONE)
		add_file(out, nout, prefix, platform, "provenance.json", ST_ATTEST_PREDICATE_SLSA1,
			 subjects, n, st_attest_provenance(b, o->provenance, o->builder_id));
	return 0;
}

int st_attest_for(const char *index, size_t len, const char *subject, char ***out, size_t *n,
		  struct st_error **err)
{
	*out = NULL;
	*n = 0;
	st_auto(st_image_index) struct st_image_index *idx = NULL;
	if (st_image_index_parse(index, len, &idx, err) < 0)
		return -1;
	char **v = st_xcalloc(idx->n_manifests + 1, sizeof(*v));
	size_t k = 0;
	for (size_t i = 0; i < idx->n_manifests; i++) {
		const struct st_image_map *a = &idx->manifests[i].annotations;
		const char *type = st_image_map_get(a, ST_ATTEST_ANN_REF_TYPE);
		const char *digest = st_image_map_get(a, ST_ATTEST_ANN_REF_DIGEST);
		if (type && !strcmp(type, ST_ATTEST_REF_TYPE_MANIFEST) && digest &&
		    (!subject || !strcmp(digest, subject)))
			v[k++] = st_xstrdup(idx->manifests[i].digest.str);
	}
	*out = v;
	*n = k;
	return 0;
}

void st_attest_entries_free(struct st_attest_entry *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].predicate_type);
	free(v);
}

/* Append the layers of attestation manifest 'digest' to *v. */
static int add_entries(struct st_store *s, const char *digest, struct st_attest_entry **v,
		       size_t *n, struct st_error **err)
{
	struct st_buf b = ST_BUF_INIT;
	st_auto(st_image_manifest) struct st_image_manifest *m = NULL;
	int rc = st_store_read_blob(s, digest, &b, err);
	if (rc == 0)
		rc = st_image_manifest_parse(b.data, b.len, &m, err);
	st_buf_release(&b);
	if (rc < 0)
		return st_err_wrap(err, "attestation manifest %s", digest);
	for (size_t i = 0; i < m->n_layers; i++) {
		const char *type =
		    st_image_map_get(&m->layers[i].annotations, ST_ATTEST_ANN_PREDICATE);
		*v = st_xrealloc(*v, (*n + 1) * sizeof(**v));
		struct st_attest_entry *e = &(*v)[(*n)++];
		*e = (struct st_attest_entry){ .digest = m->layers[i].digest,
					       .size = m->layers[i].size,
					       .predicate_type = st_xstrdup(type ? type : "") };
		snprintf(e->manifest.str, sizeof(e->manifest.str), "%s", digest);
	}
	return 0;
}

int st_attest_list(struct st_store *s, const char *name, const struct st_digest *subject,
		   struct st_attest_entry **out, size_t *n, struct st_error **err)
{
	*out = NULL;
	*n = 0;
	struct st_digest index;
	int is_index = st_local_ref_index(s, name, &index, err);
	if (is_index <= 0)
		return is_index;
	struct st_buf b = ST_BUF_INIT;
	char **att = NULL;
	size_t na = 0;
	int rc = st_store_read_blob(s, index.str, &b, err);
	if (rc == 0)
		rc = st_attest_for(b.data, b.len, subject->str, &att, &na, err);
	st_buf_release(&b);
	for (size_t i = 0; rc == 0 && i < na; i++)
		rc = add_entries(s, att[i], out, n, err);
	st_strv_free(att, na);
	if (rc < 0) {
		st_attest_entries_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int st_attest_predicate(struct st_store *s, const struct st_attest_entry *e, json_t **out,
			struct st_error **err)
{
	struct st_buf b = ST_BUF_INIT;
	int rc = st_store_read_blob(s, e->digest.str, &b, err);
	json_t *st = NULL;
	json_error_t je;
	if (rc == 0 && !(st = json_loadb(b.data, b.len, 0, &je)))
		rc = st_err(err, ST_E_PARSE, "statement %s: line %d: %s", e->digest.str, je.line,
			    je.text);
	st_buf_release(&b);
	json_t *pred = st ? json_object_get(st, "predicate") : NULL;
	if (rc == 0 && !json_is_object(pred))
		rc = st_err(err, ST_E_PARSE, "statement %s: no predicate object", e->digest.str);
	if (rc == 0)
		*out = json_incref(pred);
	json_decref(st);
	return rc;
}
