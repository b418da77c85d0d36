/*
 * platform.c: building for other platforms, as BuildKit does: the image of a base for the
 * stage's platform (an index's entry), RUN of a foreign architecture through a QEMU emulator
 * registered with binfmt_misc, and the OCI index that a multi-platform build makes.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "builder/internal.h"
#include "local/local.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* ---- running a foreign architecture ---- */

/* QEMU's name of an OCI architecture (qemu-<name> is the binfmt_misc entry). */
static const char *qemu_arch(const char *arch)
{
	static const struct {
		const char *oci, *qemu;
	} names[] = {
		{ "amd64", "x86_64" },	    { "arm64", "aarch64" },   { "386", "i386" },
		{ "mips64le", "mips64el" }, { "mipsle", "mipsel" },   { "loong64", "loongarch64" },
		{ "ppc64le", "ppc64le" },   { "riscv64", "riscv64" }, { "s390x", "s390x" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(names[i].oci, arch))
			return names[i].qemu;
	return arch;
}

/* Whether the host's CPU runs 'arch' itself: its own, and the 32-bit one of a 64-bit CPU. */
static bool runs_natively(const char *host, const char *arch)
{
	return !strcmp(host, arch) || (!strcmp(host, "amd64") && !strcmp(arch, "386")) ||
	       (!strcmp(host, "arm64") && !strcmp(arch, "arm"));
}

int builder_platform_can_run(const struct st_platform *p, struct st_error **err)
{
	struct st_platform host;
	st_platform_host(&host);
	if (runs_natively(host.architecture, p->architecture))
		return 0;
	/* The kernel runs a foreign binary through the interpreter its binfmt_misc entry names;
	 * the F flag (Debian's qemu-user-static sets it) opens it at registration, so it works
	 * inside a step's root that has no QEMU of its own. */
	st_autofree char *entry =
	    st_xasprintf("/proc/sys/fs/binfmt_misc/qemu-%s", qemu_arch(p->architecture));
	struct st_buf text = ST_BUF_INIT;
	struct st_error *e = NULL;
	bool enabled = st_read_file(entry, &text, &e) == 0 && !strncmp(text.data, "enabled", 7);
	st_error_free(e);
	st_buf_release(&text);
	if (enabled)
		return 0;
	struct st_buf want = ST_BUF_INIT;
	st_platform_format(p, &want);
	st_err(err, ST_E_RUNTIME,
	       "a RUN for %s on this %s host needs an emulator: no binfmt_misc entry %s is "
	       "enabled (install Debian's qemu-user-static, which registers it, or enable it with "
	       "update-binfmts --enable qemu-%s)",
	       want.data, host.architecture, entry, qemu_arch(p->architecture));
	st_buf_release(&want);
	return -1;
}

/* ---- the index of a multi-platform build ---- */

/* The image the names point at among the index's: the host's when built, else the first. */
static size_t primary(const struct platform_image *v, size_t n)
{
	struct st_platform host;
	st_platform_host(&host);
	for (size_t i = 0; i < n; i++)
		if (st_platform_match(&host, &v[i].platform))
			return i;
	return 0;
}

/*
 * The index of every platform's image, written under 'lease'; *digest, *size: its blob's.
 * With attestations, each image's attestation manifest follows the images, as BuildKit
 * orders them; 'att' (n of them) receives them, their subjects named 'names'.
 */
static int write_index(struct st_store *s, const struct st_builder_opts *o,
		       const struct platform_image *v, size_t n, char *const *names, size_t nn,
		       struct st_store_lease *lease, struct st_attest_manifest *att,
		       struct st_digest *digest, size_t *size, struct st_error **err)
{
	st_auto(st_image_index) struct st_image_index *idx = st_image_index_new();
	for (size_t i = 0; i < n; i++) {
		const struct st_store_image *img = v[i].img;
		uint64_t msize = 0;
		st_autoclose int fd = -1;
		if (st_store_open_blob(s, img->manifest_digest.str, &fd, &msize, err) < 0)
			return -1;
		struct st_image_descriptor d = { .media_type = img->manifest_media_type,
						 .digest = img->manifest_digest,
						 .size = (int64_t)msize,
						 .has_platform = true,
						 .platform = v[i].platform };
		st_image_index_add(idx, &d);
	}
	for (size_t i = 0; st_attest_wanted(&o->attest) && i < n; i++) {
		if (st_attest_write(s, &o->attest, &v[i].prov, v[i].img, (const char *const *)names,
				    nn, lease, &att[i], err) < 0)
			return -1;
		st_image_index_add(idx, &att[i].desc);
	}
	struct st_buf b = ST_BUF_INIT;
	st_image_index_serialize(idx, &b);
	st_digest_of(b.data, b.len, digest);
	*size = b.len;
	int rc = st_store_lease_add(lease, digest->str, err);
	if (rc == 0)
		rc = st_store_put_blob(s, b.data, b.len, NULL, err);
	st_buf_release(&b);
	return rc;
}

/*
 * Record every platform's image, and the index 'digest' as listing them and their
 * attestation manifests ('att', n of them when 'with_att'), each listing its blobs.
 */
static int record_index(struct st_store *s, const struct platform_image *v, size_t n,
			const struct st_attest_manifest *att, bool with_att,
			const struct st_digest *digest, struct st_error **err)
{
	st_autofree const char **manifests = st_xcalloc(2 * n, sizeof(*manifests));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (st_store_image_put(s, v[i].img, NULL, 0, err) < 0)
			return -1;
		manifests[k++] = v[i].img->manifest_digest.str;
	}
	for (size_t i = 0; with_att && i < n; i++) {
		if (st_store_edge_add(s, att[i].desc.digest.str, ST_STORE_EDGE_CHILD,
				      (const char *const *)att[i].blobs, att[i].n_blobs, err) < 0)
			return -1;
		manifests[k++] = att[i].desc.digest.str;
	}
	return st_store_edge_add(s, digest->str, ST_STORE_EDGE_CHILD, manifests, k, err);
}

/* An OCI layout of the index (type=oci), as a tar or a directory. */
static int export_oci(struct st_store *s, const struct st_builder_output *out,
		      const struct st_store_image *head, const struct st_digest *index,
		      char *const *names, size_t nn, struct st_error **err)
{
	struct st_archive_save_opts so = {
		.format = out->tar ? ST_ARCHIVE_OCI_ARCHIVE : ST_ARCHIVE_OCI_DIR,
		.image = head,
		.image_names = (const char *const *)names,
		.n_image_names = nn,
		.image_index = index,
	};
	int rc = out->tar && !strcmp(out->dest, "-") ? st_archive_save_fd(s, &so, out->fd, err)
						     : st_archive_save_path(s, &so, out->dest, err);
	return rc < 0 ? st_err_wrap(err, "write '%s'", out->dest) : 0;
}

/* ---- the files of several platforms (type=local, type=tar) ---- */

/* "linux_arm64_v8": BuildKit's directory of a platform, its name with '/' made '_'. New. */
static char *platform_dir(const struct st_platform *p)
{
	return st_xasprintf("%s_%s%s%s", p->os, p->architecture, p->variant[0] ? "_" : "",
			    p->variant);
}

/* A file of one platform's image, for the check that no two platforms write one path. */
struct platform_file {
	char *path; /* relative to the root */
	size_t platform;
};

struct file_walk {
	struct platform_file *v;
	size_t n, platform;
};

static int collect_file(void *ctx, const char *path, const char *rel, enum st_walk_kind kind,
			struct st_error **err)
{
	(void)path;
	(void)err;
	struct file_walk *w = ctx;
	if (kind == ST_WALK_DIR)
		return 0;
	w->v = st_xrealloc(w->v, (w->n + 1) * sizeof(*w->v));
	w->v[w->n++] = (struct platform_file){ .path = st_xstrdup(rel), .platform = w->platform };
	return 0;
}

static int collect_files(void *ctx, const char *root, struct st_error **err)
{
	return st_fs_walk(root, collect_file, ctx, err);
}

static int by_path(const void *a, const void *b)
{
	const struct platform_file *x = a, *y = b;
	int c = strcmp(x->path, y->path);
	return c ? c : (x->platform > y->platform) - (x->platform < y->platform);
}

/*
 * Before the platforms' files go into one tree (platform-split=false): BuildKit refuses a
 * file (anything but a directory) that two platforms both have, as one would hide the other.
 */
static int check_no_overlap(struct st_store *s, const struct platform_image *v, size_t n,
			    struct st_error **err)
{
	struct file_walk w = { 0 };
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		w.platform = i;
		rc = st_local_image_view(s, v[i].img, collect_files, &w, err);
	}
	if (rc == 0)
		qsort(w.v, w.n, sizeof(*w.v), by_path);
	for (size_t i = 1; rc == 0 && i < w.n; i++) {
		if (strcmp(w.v[i - 1].path, w.v[i].path))
			continue;
		struct st_buf a = ST_BUF_INIT, b = ST_BUF_INIT;
		st_platform_format(&v[w.v[i - 1].platform].platform, &a);
		st_platform_format(&v[w.v[i].platform].platform, &b);
		rc = st_err(err, ST_E_INVALID,
			    "cannot overwrite %s from %s with %s when split option is disabled",
			    w.v[i].path, a.data, b.data);
		st_buf_release(&a);
		st_buf_release(&b);
	}
	for (size_t i = 0; i < w.n; i++)
		free(w.v[i].path);
	free(w.v);
	return rc;
}

/* ---- attestations beside the files ---- */

struct attest_view {
	struct st_store *s;
	const struct st_attest_opts *att;
	const struct platform_image *p;
	const char *prefix;   /* attestation-prefix= */
	const char *platform; /* in the files' names, or NULL */
	struct st_attest_file *files;
	size_t n;
};

static int attest_view(void *ctx, const char *root, struct st_error **err)
{
	struct attest_view *a = ctx;
	struct st_attest_subject *subj = NULL;
	size_t ns = 0;
	if (st_attest_subjects(root, &subj, &ns, err) < 0)
		return -1;
	int rc = st_attest_files(a->s, a->att, &a->p->prov, a->p->img, subj, ns, a->prefix,
				 a->platform, &a->files, &a->n, err);
	st_attest_subjects_free(subj, ns);
	return rc;
}

/*
 * The attestation files of platform 'p' in an output of 'n' platforms, as BuildKit's local
 * and tar exporters make them: statements whose subjects are the platform's regular files,
 * written beside them; when several platforms share one tree their names say whose they are.
 */
static int platform_attestations(struct st_store *s, const struct st_builder_output *out,
				 const struct st_attest_opts *att, const struct platform_image *p,
				 size_t n, bool split, struct st_attest_file **files,
				 size_t *nfiles, struct st_error **err)
{
	*files = NULL;
	*nfiles = 0;
	if (!st_attest_wanted(att))
		return 0;
	st_autofree char *plat = n > 1 && !split ? platform_dir(&p->platform) : NULL;
	struct attest_view a = {
		.s = s, .att = att, .p = p, .prefix = out->attestation_prefix, .platform = plat
	};
	int rc = st_local_image_view(s, p->img, attest_view, &a, err);
	*files = a.files;
	*nfiles = a.n;
	return rc;
}

/* The attestation files of 'p' into the directory 'dir', readable by their owner only. */
static int write_attestations(struct st_store *s, const struct st_builder_output *out,
			      const struct st_attest_opts *att, const struct platform_image *p,
			      size_t n, bool split, const char *dir, struct st_error **err)
{
	struct st_attest_file *files = NULL;
	size_t nf = 0;
	int rc = platform_attestations(s, out, att, p, n, split, &files, &nf, err);
	for (size_t i = 0; rc == 0 && i < nf; i++) {
		st_autofree char *path = st_xasprintf("%s/%s", dir, files[i].name);
		rc = st_write_file_atomic(path, NULL, files[i].text, strlen(files[i].text), 0600,
					  err);
	}
	st_attest_files_free(files, nf);
	return rc;
}

struct tar_view {
	struct st_layer_writer *w;
	const char *prefix; /* the platform's directory, or NULL */
};

static int tar_view(void *ctx, const char *root, struct st_error **err)
{
	struct tar_view *t = ctx;
	return st_layer_writer_add_tree(t->w, root, t->prefix, 0, err);
}

/* The attestation files of 'p' as entries of 'w', under 'dir' (may be NULL). */
static int tar_attestations(struct st_store *s, const struct st_builder_output *out,
			    const struct st_attest_opts *att, const struct platform_image *p,
			    size_t n, bool split, struct st_layer_writer *w, const char *dir,
			    struct st_error **err)
{
	struct st_attest_file *files = NULL;
	size_t nf = 0;
	int rc = platform_attestations(s, out, att, p, n, split, &files, &nf, err);
	/* BuildKit stamps them with the export's time: the build's end here. */
	struct st_layer_attr attr = { .set = ST_LAYER_ATTR_MODE | ST_LAYER_ATTR_MTIME,
				      .mode = 0600,
				      .mtime = p->prov.finished };
	for (size_t i = 0; rc == 0 && i < nf; i++) {
		st_autofree char *name =
		    dir ? st_xasprintf("%s/%s", dir, files[i].name) : st_xstrdup(files[i].name);
		rc = st_layer_writer_add_data(w, name, files[i].text, strlen(files[i].text), &attr,
					      err);
	}
	st_attest_files_free(files, nf);
	return rc;
}

/* The platforms' files as one uncompressed tar to 'fd': each under its directory, or merged. */
static int platforms_tar(struct st_store *s, const struct st_builder_output *out,
			 const struct platform_image *v, size_t n, bool split,
			 const struct st_attest_opts *att, int fd, struct st_error **err)
{
	if (!split && check_no_overlap(s, v, n, err) < 0)
		return -1;
	struct st_layer_writer_opts lo = { .compression = ST_LAYER_COMP_NONE };
	st_auto(st_layer_writer) struct st_layer_writer *w =
	    st_layer_writer_new(&lo, st_layer_sink_fd(&fd), err);
	if (!w)
		return -1;
	for (size_t i = 0; i < n; i++) {
		st_autofree char *dir = split ? platform_dir(&v[i].platform) : NULL;
		struct tar_view t = { .w = w, .prefix = dir };
		if (st_local_image_view(s, v[i].img, tar_view, &t, err) < 0 ||
		    tar_attestations(s, out, att, &v[i], n, split, w, dir, err) < 0)
			return -1;
	}
	struct st_layer_result res;
	return st_layer_writer_finish(w, &res, err);
}

int builder_write_platforms(struct st_store *s, const struct st_builder_output *out,
			    const struct platform_image *v, size_t n,
			    const struct st_attest_opts *att, struct st_error **err)
{
	bool split = out->platform_split < 0 ? n > 1 : out->platform_split;
	if (out->type == ST_BUILDER_OUTPUT_TAR && !strcmp(out->dest, "-")) {
		if (out->fd < 0)
			return st_err(err, ST_E_INVALID, "no file descriptor for dest=-");
		return platforms_tar(s, out, v, n, split, att, out->fd, err);
	}
	if (out->type == ST_BUILDER_OUTPUT_TAR) {
		st_auto_tmpfile struct st_tmpfile t = ST_TMPFILE_INIT;
		if (st_tmpfile_open_beside(&t, out->dest, 0644, err) < 0 ||
		    platforms_tar(s, out, v, n, split, att, t.fd, err) < 0)
			return -1;
		return st_tmpfile_commit(&t, out->dest, err);
	}
	if (!split && check_no_overlap(s, v, n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		st_autofree char *name = split ? platform_dir(&v[i].platform) : NULL;
		st_autofree char *dir = split ? st_xasprintf("%s/%s", out->dest, name) : NULL;
		if (builder_write_local(s, v[i].img, split ? dir : out->dest, err) < 0 ||
		    write_attestations(s, out, att, &v[i], n, split, split ? dir : out->dest, err) <
			0)
			return -1;
	}
	return 0;
}

int builder_export_platforms(struct st_store *s, const struct st_builder_opts *o,
			     const struct platform_image *v, size_t n, struct st_store_lease *lease,
			     char *const *tags, size_t n_tags, struct st_builder_result *res,
			     struct st_error **err)
{
	const struct st_builder_output image = ST_BUILDER_OUTPUT_INIT;
	const struct st_builder_output *outs = o->n_outputs ? o->outputs : &image;
	size_t nouts = o->n_outputs ? o->n_outputs : 1;
	size_t head = primary(v, n);
	struct st_digest index = { "" };
	size_t index_size = 0;
	bool recorded = false;
	json_t *meta = json_object();
	st_auto(st_registry) struct st_registry *reg = NULL;
	struct st_attest_manifest *att = st_xcalloc(n, sizeof(*att));
	bool with_att = st_attest_wanted(&o->attest);
	int rc = 0;
	for (size_t k = 0; rc == 0 && k < nouts; k++) {
		const struct st_builder_output *out = &outs[k];
		if (out->type == ST_BUILDER_OUTPUT_LOCAL || out->type == ST_BUILDER_OUTPUT_TAR) {
			if (builder_write_platforms(s, out, v, n, &o->attest, err) < 0)
				rc = st_err_wrap(err, "write '%s'", out->dest);
			continue;
		}
		char *const *names = out->n_names ? out->names : tags;
		size_t nn = out->n_names ? out->n_names : n_tags;
		if (!index.str[0])
			rc = write_index(s, o, v, n, names, nn, lease, att, &index, &index_size,
					 err);
		if (rc == 0 && out->type == ST_BUILDER_OUTPUT_OCI) {
			rc = export_oci(s, out, v[head].img, &index, names, nn, err);
			continue;
		}
		if (rc == 0 && !recorded) {
			rc = record_index(s, v, n, att, with_att, &index, err);
			recorded = rc == 0;
		}
		for (size_t i = 0; rc == 0 && i < nn; i++)
			rc = st_store_ref_set(s, names[i], v[head].img->id.str, index.str, err);
		if (rc == 0 && out->push && !reg && !(reg = st_registry_new(o->registry, err)))
			rc = -1;
		for (size_t i = 0; rc == 0 && out->push && i < nn; i++) {
			st_auto(st_image_ref) struct st_image_ref *ref = NULL;
			struct st_registry_push_result pr;
			rc = st_image_ref_parse(names[i], &ref, err);
			if (rc == 0 && o->progress.fn) {
				st_autofree char *t = st_xasprintf("pushing %s", names[i]);
				struct st_builder_event ev = { .type = ST_BUILDER_EVENT_INFO,
							       .text = t,
							       .len = strlen(t) };
				o->progress.fn(o->progress.ctx, &ev);
			}
			if (rc == 0 &&
			    st_registry_push_index(s, reg, &index, ref, NULL, &pr, err) < 0)
				rc = st_err_wrap(err, "push '%s'", names[i]);
		}
		if (rc == 0 && nn) {
			struct st_buf all = ST_BUF_INIT;
			for (size_t i = 0; i < nn; i++)
				st_buf_addf(&all, "%s%s", i ? "," : "", names[i]);
			json_object_set_new(meta, "image.name", json_string(all.data));
			st_buf_release(&all);
		}
	}
	if (rc == 0 && index.str[0]) {
		json_object_set_new(meta, "containerimage.digest", json_string(index.str));
		json_object_set_new(meta, "containerimage.descriptor",
				    json_pack("{s:s, s:s, s:I}", "mediaType", ST_MT_OCI_INDEX,
					      "digest", index.str, "size", (json_int_t)index_size));
	}
	if (rc == 0 && res) {
		res->has_image = index.str[0] != '\0';
		res->id = v[head].img->id;
		res->index = index;
		if (recorded) {
			res->images = st_xcalloc(n, sizeof(*res->images));
			res->n_images = n;
			for (size_t i = 0; i < n; i++)
				res->images[i] =
				    (struct st_builder_platform_image){ .platform = v[i].platform,
									.id = v[i].img->id };
		}
		res->metadata = json_dumps(meta, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (!res->metadata)
			abort(); /* jansson fails only without memory */
	}
	json_decref(meta);
	for (size_t i = 0; i < n; i++)
		st_attest_manifest_release(&att[i]);
	free(att);
	return rc;
}
