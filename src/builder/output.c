/*
 * output.c: where a build's result goes (-o), as BuildKit's exporters do it: into the store
 * (and pushed to a registry if asked), the final stage's files as a directory or a tar, an
 * OCI layout, or what `docker load` reads; and the --metadata-file document that says what
 * was made.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive/archive.h"
#include "builder/internal.h"
#include "local/local.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* ---- parsing -o ---- */

static const struct {
	const char *name;
	enum st_builder_output_type type;
	const char *keys; /* the keys it takes, as the error lists them */
} output_types[] = {
#define FORMAT_KEYS "compression, compression-level, force-compression, oci-mediatypes"
	{ "image", ST_BUILDER_OUTPUT_IMAGE, "name, push, " FORMAT_KEYS },
	{ "registry", ST_BUILDER_OUTPUT_IMAGE, "name, push, " FORMAT_KEYS },
	{ "local", ST_BUILDER_OUTPUT_LOCAL, "dest, platform-split, attestation-prefix" },
	{ "tar", ST_BUILDER_OUTPUT_TAR, "dest, platform-split, attestation-prefix" },
	{ "oci", ST_BUILDER_OUTPUT_OCI, "dest, name, tar, " FORMAT_KEYS },
	{ "docker", ST_BUILDER_OUTPUT_DOCKER, "dest, name, tar, " FORMAT_KEYS },
#undef FORMAT_KEYS
};

/*
 * The next field of a buildx CSV value: up to a ',' outside double quotes, where '""' is a
 * quote ("name=a,b" in quotes is one field, as encoding/csv reads it). *p moves past it. New.
 */
static char *next_field(const char **p)
{
	struct st_buf f = ST_BUF_INIT;
	const char *s = *p;
	bool quoted = false;
	for (; *s && (quoted || *s != ','); s++) {
		if (*s == '"' && quoted && s[1] == '"') {
			st_buf_addch(&f, '"');
			s++;
		} else if (*s == '"') {
			quoted = !quoted;
		} else {
			st_buf_addch(&f, *s);
		}
	}
	*p = *s ? s + 1 : s;
	return st_buf_detach(&f, NULL);
}

static bool takes_key(const char *keys, const char *key)
{
	size_t n = strlen(key);
	for (const char *k = keys; *k;) {
		size_t kl = strcspn(k, ",");
		if (kl == n && !strncmp(k, key, n))
			return true;
		k += kl;
		k += strspn(k, ", ");
	}
	return false;
}

static int parse_bool(const char *spec, const char *key, const char *v, bool *out,
		      struct st_error **err)
{
	if (!strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return st_err(err, ST_E_INVALID, "output '%s': %s must be true or false, not '%s'",
			      spec, key, v);
	return 0;
}

static int add_names(const char *spec, const char *v, struct st_builder_output *out,
		     struct st_error **err)
{
	for (const char *p = v; *p;) {
		size_t n = strcspn(p, ",");
		st_autofree char *name = st_xstrndup(p, n);
		p += n + (p[n] == ',');
		if (!*name)
			continue;
		char *full = NULL;
		if (st_local_ref_normalize(name, &full, err) < 0)
			return st_err_wrap(err, "output '%s': name '%s'", spec, name);
		out->names = st_xrealloc(out->names, (out->n_names + 1) * sizeof(*out->names));
		out->names[out->n_names++] = full;
	}
	return 0;
}

/*
 * compression-level=N as BuildKit takes it (gzip 0..9, zstd 0..22) into the level our codec
 * takes: isa-l has four gzip levels, so BuildKit's nine fall into its levels 1..3 by thirds
 * (0, BuildKit's "default", is the codec's default too).
 */
static int parse_level(const char *spec, const char *v, enum st_layer_comp c, int *out,
		       struct st_error **err)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	int max = c == ST_LAYER_COMP_ZSTD ? 22 : 9;
	if (errno || end == v || *end || n < 0 || n > max)
		return st_err(err, ST_E_INVALID,
			      "output '%s': compression-level must be a number from 0 to %d for "
			      "%s, not '%s'",
			      spec, max, c == ST_LAYER_COMP_ZSTD ? "zstd" : "gzip", v);
	*out = c == ST_LAYER_COMP_GZIP ? (int)(n + 2) / 3 : (int)n;
	return 0;
}

/* The image format keys, once every key was read: the level depends on the compression. */
static int parse_format(const char *spec, const char *comp, const char *level, const char *force,
			const char *oci, struct st_builder_output *out, struct st_error **err)
{
	struct st_local_format *f = &out->format;
	if (comp && st_layer_comp_parse(comp, &f->compression, err) < 0)
		return st_err_wrap(err, "output '%s': compression", spec);
	if (level && f->compression != ST_LAYER_COMP_NONE &&
	    parse_level(spec, level, f->compression, &f->level, err) < 0)
		return -1;
	bool b = false;
	if (force && parse_bool(spec, "force-compression", force, &b, err) < 0)
		return -1;
	if (b)
		f->flags |= ST_LOCAL_FORMAT_FORCE;
	/* BuildKit: OCI media types, but Docker's for type=docker unless zstd needs OCI's. */
	b = out->type == ST_BUILDER_OUTPUT_DOCKER && f->compression != ST_LAYER_COMP_ZSTD;
	if (oci) {
		if (parse_bool(spec, "oci-mediatypes", oci, &b, err) < 0)
			return -1;
		b = !b;
	}
	if (b && f->compression == ST_LAYER_COMP_ZSTD)
		return st_err(err, ST_E_INVALID,
			      "output '%s': zstd compression needs OCI media types: Docker media "
			      "types have no zstd layer (use oci-mediatypes=true)",
			      spec);
	if (b)
		f->flags |= ST_LOCAL_FORMAT_DOCKER;
	return 0;
}

int st_builder_output_parse(const char *spec, struct st_builder_output *out, struct st_error **err)
{
	/* buildx's shorthands: a lone value that is no "type=..." is a directory, "-" stdout. */
	if (!strchr(spec, ',') && strncmp(spec, "type=", 5) != 0) {
		if (!*spec)
			return st_err(err, ST_E_INVALID,
				      "output '': expected a directory or type=");
		out->type = strcmp(spec, "-") ? ST_BUILDER_OUTPUT_LOCAL : ST_BUILDER_OUTPUT_TAR;
		out->dest = st_xstrdup(spec);
		return 0;
	}
	/* The type first: which keys are known depends on it. */
	st_autofree char *type = NULL;
	for (const char *p = spec; *p;) {
		st_autofree char *f = next_field(&p);
		if (!strncmp(f, "type=", 5)) {
			free(type);
			type = st_xstrdup(f + 5);
		}
	}
	if (!type)
		return st_err(err, ST_E_INVALID, "output '%s': type is required", spec);
	size_t t = 0, ntypes = sizeof(output_types) / sizeof(*output_types);
	while (t < ntypes && strcmp(output_types[t].name, type) != 0)
		t++;
	if (t == ntypes)
		return st_err(
		    err, ST_E_INVALID,
		    "output '%s': unknown type '%s': use image, registry, local, tar, oci "
		    "or docker",
		    spec, type);
	out->type = output_types[t].type;
	if (!strcmp(output_types[t].name, "registry"))
		out->push = true;

	st_autofree char *comp = NULL, *level = NULL, *force = NULL, *oci = NULL;
	for (const char *p = spec; *p;) {
		st_autofree char *f = next_field(&p);
		char *eq = strchr(f, '=');
		if (!eq)
			return st_err(err, ST_E_INVALID, "output '%s': '%s' is not key=value", spec,
				      f);
		*eq = '\0';
		const char *key = f, *v = eq + 1;
		if (!strcmp(key, "type"))
			continue;
		if (!takes_key(output_types[t].keys, key))
			return st_err(err, ST_E_INVALID,
				      "output '%s': unknown key '%s' for type=%s (it takes %s)",
				      spec, key, output_types[t].name, output_types[t].keys);
		int rc = 0;
		if (!strcmp(key, "dest")) {
			free(out->dest);
			out->dest = st_xstrdup(v);
		} else if (!strcmp(key, "name")) {
			rc = add_names(spec, v, out, err);
		} else if (!strcmp(key, "push")) {
			rc = parse_bool(spec, key, v, &out->push, err);
		} else if (!strcmp(key, "tar")) {
			rc = parse_bool(spec, key, v, &out->tar, err);
		} else if (!strcmp(key, "attestation-prefix")) {
			/* A prefix of a file's name, beside the output's files: not a path. */
			if (strchr(v, '/'))
				return st_err(err, ST_E_INVALID,
					      "output '%s': attestation-prefix '%s' must not "
					      "contain '/': it starts a file name",
					      spec, v);
			free(out->attestation_prefix);
			out->attestation_prefix = st_xstrdup(v);
		} else if (!strcmp(key, "platform-split")) {
			bool b = false;
			rc = parse_bool(spec, key, v, &b, err);
			out->platform_split = b;
		} else {
			char **slot = !strcmp(key, "compression")	  ? &comp
				      : !strcmp(key, "compression-level") ? &level
				      : !strcmp(key, "force-compression") ? &force
									  : &oci;
			free(*slot);
			*slot = st_xstrdup(v);
		}
		if (rc < 0)
			return -1;
	}
	if (parse_format(spec, comp, level, force, oci, out, err) < 0)
		return -1;
	/* buildx's type=docker without a dest loads the image: into the store, here. */
	if (out->type == ST_BUILDER_OUTPUT_DOCKER && !out->dest)
		out->type = ST_BUILDER_OUTPUT_IMAGE;
	if (out->type != ST_BUILDER_OUTPUT_IMAGE && (!out->dest || !*out->dest))
		return st_err(err, ST_E_INVALID, "output '%s': dest is required for type=%s", spec,
			      output_types[t].name);
	if (out->dest && !strcmp(out->dest, "-") &&
	    (out->type == ST_BUILDER_OUTPUT_LOCAL || !out->tar))
		return st_err(err, ST_E_INVALID,
			      "output '%s': a directory cannot be written to stdout", spec);
	return 0;
}

int builder_outputs_check(const struct st_builder_opts *o, struct st_error **err)
{
	for (size_t i = 0; i < o->n_outputs; i++)
		if (o->outputs[i].push && !o->outputs[i].n_names && !o->n_tags)
			return st_err(err, ST_E_INVALID, "push=true needs a name (-t or name=)");
	return 0;
}

void st_builder_output_release(struct st_builder_output *o)
{
	free(o->dest);
	free(o->attestation_prefix);
	st_strv_free(o->names, o->n_names);
	*o = (struct st_builder_output)ST_BUILDER_OUTPUT_INIT;
}

/* ---- writing them ---- */

struct exporter {
	struct st_store *s;
	const struct st_builder_opts *o;
	const struct build_state *fin;
	struct st_store_lease *lease;
	char *const *tags; /* normalised -t values */
	size_t n_tags;
	const struct st_image_map *annotations; /* the manifest's, or NULL */
	struct st_store_image *written;		/* the image's blobs, as last written */
	struct st_local_format written_format;	/* ... in this format */
	struct st_registry *reg;
	json_t *meta;
};

static void say(struct exporter *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct exporter *x, const char *fmt, ...)
{
	if (!x->o->progress.fn)
		return;
	struct st_buf t = ST_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	st_buf_vaddf(&t, fmt, ap);
	va_end(ap);
	struct st_builder_event ev = { .type = ST_BUILDER_EVENT_INFO,
				       .text = st_buf_str(&t),
				       .len = t.len };
	x->o->progress.fn(x->o->progress.ctx, &ev);
	st_buf_release(&t);
}

/* The names an output gives the image: its name=, else the build's tags (buildx's -t). */
static void output_names(const struct exporter *x, const struct st_builder_output *out,
			 char *const **names, size_t *n)
{
	*names = out->n_names ? out->names : x->tags;
	*n = out->n_names ? out->n_names : x->n_tags;
}

/* The image's blobs in the format 'out' asks for; outputs that share a format share them. */
static int write_image(struct exporter *x, const struct st_builder_output *out,
		       struct st_error **err)
{
	if (x->written && !memcmp(&x->written_format, &out->format, sizeof(out->format)))
		return 0;
	struct st_local_commit c = {
		.config = x->fin->cfg,
		.layers = x->fin->layers,
		.n_layers = x->fin->n_layers,
		.lease = x->lease,
		.annotations = x->annotations,
		.format = &out->format,
	};
	struct st_store_image *img = NULL;
	if (st_local_image_write(x->s, &c, &img, err) < 0)
		return -1;
	st_store_image_free(x->written);
	x->written = img;
	x->written_format = out->format;
	return 0;
}

/* BuildKit's keys for the image made (the last image output's names win). */
static int describe_image(struct exporter *x, char *const *names, size_t n, struct st_error **err)
{
	uint64_t size = 0;
	st_autoclose int fd = -1;
	if (st_store_open_blob(x->s, x->written->manifest_digest.str, &fd, &size, err) < 0)
		return -1;
	json_object_set_new(x->meta, "containerimage.config.digest",
			    json_string(x->written->id.str));
	json_object_set_new(x->meta, "containerimage.digest",
			    json_string(x->written->manifest_digest.str));
	json_t *desc = json_object();
	json_object_set_new(desc, "mediaType", json_string(x->written->manifest_media_type));
	json_object_set_new(desc, "digest", json_string(x->written->manifest_digest.str));
	json_object_set_new(desc, "size", json_integer((json_int_t)size));
	json_object_set_new(x->meta, "containerimage.descriptor", desc);
	if (n) {
		struct st_buf all = ST_BUF_INIT;
		for (size_t i = 0; i < n; i++)
			st_buf_addf(&all, "%s%s", i ? "," : "", names[i]);
		json_object_set_new(x->meta, "image.name", json_string(all.data));
		st_buf_release(&all);
	}
	return 0;
}

static int push_image(struct exporter *x, char *const *names, size_t n, struct st_error **err)
{
	if (!x->reg && !(x->reg = st_registry_new(x->o->registry, err)))
		return -1;
	for (size_t i = 0; i < n; i++) {
		st_auto(st_image_ref) struct st_image_ref *ref = NULL;
		if (st_image_ref_parse(names[i], &ref, err) < 0)
			return -1;
		say(x, "pushing %s", names[i]);
		struct st_registry_push_result pr;
		if (st_registry_push(x->s, x->reg, x->written->id.str, ref, NULL, &pr, err) < 0)
			return st_err_wrap(err, "push '%s'", names[i]);
	}
	return 0;
}

static int export_image(struct exporter *x, const struct st_builder_output *out,
			struct st_error **err)
{
	char *const *names;
	size_t n;
	output_names(x, out, &names, &n);
	if (write_image(x, out, err) < 0)
		return -1;
	if (st_store_image_put(x->s, x->written, (const char *const *)names, n, err) < 0)
		return st_err_wrap(err, "commit image");
	if (describe_image(x, names, n, err) < 0)
		return -1;
	return out->push ? push_image(x, names, n, err) : 0;
}

/* A tar of the final stage's files, to 'fd'. */
static int export_files_fd(struct exporter *x, int fd, struct st_error **err)
{
	/* Only the layers are read: the image need not be recorded, or even written. */
	struct st_store_image img = { .layers = x->fin->layers, .n_layers = x->fin->n_layers };
	return st_local_image_export(x->s, &img, fd, err);
}

struct unpacker {
	int fd;
	const char *dest;
	struct st_error *err;
	int rc;
};

static void *unpack_thread(void *arg)
{
	struct unpacker *u = arg;
	struct st_layer_extract_opts eo = { .mode = ST_LAYER_EXTRACT_APPLY };
	u->rc = st_layer_extract(st_layer_source_fd(&u->fd), u->dest, &eo, NULL, &u->err);
	/* Drain what is left, so that the writer never blocks on a reader that gave up. */
	char buf[65536];
	while (read(u->fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

/* The files into the directory 'dest', as a tar streamed through a pipe into the extractor
 * that takes archive entries safely (no path leaves 'dest'). */
int builder_write_local(struct st_store *s, const struct st_store_image *img, const char *dest,
			struct st_error **err)
{
	if (st_mkdir_p(dest, 0755, err) < 0)
		return -1;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return st_err_errno(err, "pipe");
	struct unpacker u = { .fd = p[0], .dest = dest };
	pthread_t t;
	if (pthread_create(&t, NULL, unpack_thread, &u) != 0) {
		close(p[0]);
		close(p[1]);
		return st_err(err, ST_E_IO, "start a thread to write '%s'", dest);
	}
	int rc = st_local_image_export(s, img, p[1], err);
	close(p[1]);
	pthread_join(t, NULL);
	close(p[0]);
	if (rc == 0 && u.rc < 0) {
		*err = st_steal(&u.err);
		rc = -1;
	}
	st_error_free(u.err);
	return rc;
}

/* The final stage's files into the directory 'dest'. */
static int export_local(struct exporter *x, const char *dest, struct st_error **err)
{
	struct st_store_image img = { .layers = x->fin->layers, .n_layers = x->fin->n_layers };
	return builder_write_local(x->s, &img, dest, err);
}

/* A tar written by 'fn' to out->fd ("-") or whole to the file out->dest. */
static int write_tar_dest(struct exporter *x, const struct st_builder_output *out,
			  int (*fn)(struct exporter *x, const struct st_builder_output *out, int fd,
				    struct st_error **err),
			  struct st_error **err)
{
	if (!strcmp(out->dest, "-")) {
		if (out->fd < 0)
			return st_err(err, ST_E_INVALID, "no file descriptor for dest=-");
		return fn(x, out, out->fd, err);
	}
	st_auto_tmpfile struct st_tmpfile t = ST_TMPFILE_INIT;
	if (st_tmpfile_open_beside(&t, out->dest, 0644, err) < 0 || fn(x, out, t.fd, err) < 0)
		return -1;
	return st_tmpfile_commit(&t, out->dest, err);
}

static int tar_files(struct exporter *x, const struct st_builder_output *out, int fd,
		     struct st_error **err)
{
	return export_files_fd(x, fd, err);
}

static void archive_opts(struct exporter *x, const struct st_builder_output *out,
			 struct st_archive_save_opts *so)
{
	char *const *names;
	size_t n;
	output_names(x, out, &names, &n);
	*so = (struct st_archive_save_opts){
		.format = !out->tar				  ? ST_ARCHIVE_OCI_DIR
			  : out->type == ST_BUILDER_OUTPUT_DOCKER ? ST_ARCHIVE_DOCKER
								  : ST_ARCHIVE_OCI_ARCHIVE,
		.image = x->written,
		.image_names = (const char *const *)names,
		.n_image_names = n,
	};
}

static int tar_archive(struct exporter *x, const struct st_builder_output *out, int fd,
		       struct st_error **err)
{
	struct st_archive_save_opts so;
	archive_opts(x, out, &so);
	return st_archive_save_fd(x->s, &so, fd, err);
}

static int export_archive(struct exporter *x, const struct st_builder_output *out,
			  struct st_error **err)
{
	if (write_image(x, out, err) < 0)
		return -1;
	char *const *names;
	size_t n;
	output_names(x, out, &names, &n);
	if (describe_image(x, names, n, err) < 0)
		return -1;
	if (out->tar)
		return write_tar_dest(x, out, tar_archive, err);
	struct st_archive_save_opts so;
	archive_opts(x, out, &so);
	return st_archive_save_path(x->s, &so, out->dest, err);
}

/* platform-split=true in a build of one platform: its files under its directory all the same. */
static int export_split(struct exporter *x, const struct st_builder_output *out,
			struct st_error **err)
{
	struct st_store_image img = { .layers = x->fin->layers, .n_layers = x->fin->n_layers };
	struct platform_image one = { .img = &img };
	const struct st_image_config *c = x->fin->cfg;
	snprintf(one.platform.os, sizeof(one.platform.os), "%s", c->os ? c->os : "linux");
	snprintf(one.platform.architecture, sizeof(one.platform.architecture), "%s",
		 c->architecture ? c->architecture : "");
	snprintf(one.platform.variant, sizeof(one.platform.variant), "%s",
		 c->variant ? c->variant : "");
	if (builder_write_platforms(x->s, out, &one, 1, NULL, err) < 0)
		return st_err_wrap(err, "write '%s'", out->dest);
	return 0;
}

static int export_one(struct exporter *x, const struct st_builder_output *out,
		      struct st_error **err)
{
	if (out->platform_split == 1)
		return export_split(x, out, err);
	switch (out->type) {
	case ST_BUILDER_OUTPUT_IMAGE:
		return export_image(x, out, err);
	case ST_BUILDER_OUTPUT_LOCAL:
		if (export_local(x, out->dest, err) < 0)
			return st_err_wrap(err, "write '%s'", out->dest);
		return 0;
	case ST_BUILDER_OUTPUT_TAR:
		if (write_tar_dest(x, out, tar_files, err) < 0)
			return st_err_wrap(err, "write '%s'", out->dest);
		return 0;
	case ST_BUILDER_OUTPUT_OCI:
	case ST_BUILDER_OUTPUT_DOCKER:
		if (export_archive(x, out, err) < 0)
			return st_err_wrap(err, "write '%s'", out->dest);
		return 0;
	}
	return st_err(err, ST_E_INVALID, "unknown output type %d", (int)out->type);
}

int builder_export(struct st_store *s, const struct st_builder_opts *o,
		   const struct build_state *fin, struct st_store_lease *lease, char *const *tags,
		   size_t n_tags, const struct st_image_map *annotations,
		   struct st_builder_result *res, struct st_error **err)
{
	struct exporter x = { .s = s,
			      .o = o,
			      .fin = fin,
			      .lease = lease,
			      .tags = tags,
			      .n_tags = n_tags,
			      .annotations = annotations,
			      .meta = json_object() };
	const struct st_builder_output image = ST_BUILDER_OUTPUT_INIT;
	const struct st_builder_output *outs = o->n_outputs ? o->outputs : &image;
	size_t n = o->n_outputs ? o->n_outputs : 1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = export_one(&x, &outs[i], err);
	if (rc == 0 && res) {
		res->has_image = x.written != NULL;
		if (x.written)
			res->id = x.written->id;
		res->metadata = json_dumps(x.meta, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (!res->metadata)
			abort(); /* jansson fails only without memory */
	}
	json_decref(x.meta);
	st_store_image_free(x.written);
	st_registry_free(x.reg);
	return rc;
}

void st_builder_result_release(struct st_builder_result *res)
{
	free(res->metadata);
	res->metadata = NULL;
	free(res->images);
	res->images = NULL;
	res->n_images = 0;
}
