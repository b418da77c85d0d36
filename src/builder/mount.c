/*
 * mount.c: RUN --mount, as BuildKit defines it: bind, cache, tmpfs, secret, ssh.
 *
 * Every mount's host side lives outside the step's rootfs, so nothing written through a mount
 * reaches the overlay upper dir, and so the layer:
 *   - bind: the context, or a view of a stage or an image (an overlay whose upper is thrown
 *     away), is bound directly when read-only; a writable bind of a directory
 *     gets an overlay of its own under the step dir, of a file a private copy, so writes never
 *     reach the context;
 *   - cache: <store>/cache-mounts/<sha256 of id>, kept across builds, flock()ed per 'sharing';
 *   - secret: a file on a tmpfs mounted under the step dir (never on disk), bound read-only;
 *   - tmpfs: the runtime's;
 *   - ssh: a relay's socket under the step dir, passing connections to the agent (ssh.c).
 *
 * What enters the step's key: each mount's spec as parsed (never a secret's content); for a
 * bind, the content it shows: the context files' checksums (as COPY lists them, so a changed
 * file is explained the same way) or the source stage's config digest or image id. A cache's
 * content does not: that is the point of a cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <dirent.h>

#include "builder/internal.h"
#include "local/local.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

enum mount_type { M_BIND, M_CACHE, M_TMPFS, M_SECRET, M_SSH };
enum mount_sharing { SHARING_SHARED, SHARING_PRIVATE, SHARING_LOCKED };

struct mount_spec {
	enum mount_type type;
	char *target, *source, *from, *id, *env, *size;
	bool rw, required, target_set;
	enum mount_sharing sharing;
	long mode, uid, gid; /* -1: not given */
	char *text;	     /* the --mount value after expansion, for messages */
};

static void spec_release(struct mount_spec *m)
{
	free(m->target);
	free(m->source);
	free(m->from);
	free(m->id);
	free(m->env);
	free(m->size);
	free(m->text);
	memset(m, 0, sizeof(*m));
}

static const char *const type_names[] = { "bind", "cache", "tmpfs", "secret", "ssh" };
static const char *const sharing_names[] = { "shared", "private", "locked" };

static int parse_bool(const char *key, const char *v, bool *out, const char *text,
		      struct st_error **err)
{
	if (!v || !strcasecmp(v, "true") || !strcmp(v, "1")) {
		*out = true;
	} else if (!strcasecmp(v, "false") || !strcmp(v, "0")) {
		*out = false;
	} else {
		return st_err(err, ST_E_INVALID, "RUN --mount=%s: invalid value '%s' for %s", text,
			      v, key);
	}
	return 0;
}

static int parse_num(const char *key, const char *v, int base, long max, long *out,
		     const char *text, struct st_error **err)
{
	char *end;
	errno = 0;
	long n = v ? strtol(v, &end, base) : -1;
	if (!v || errno || end == v || *end || n < 0 || n > max)
		return st_err(err, ST_E_INVALID, "RUN --mount=%s: invalid value '%s' for %s", text,
			      v ? v : "", key);
	*out = n;
	return 0;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = st_xstrdup(v ? v : "");
}

/* Parse one expanded --mount value ("type=cache,target=/root/.cache,sharing=locked"). */
static int spec_parse(const char *text, struct mount_spec *m, struct st_error **err)
{
	memset(m, 0, sizeof(*m));
	m->mode = m->uid = m->gid = -1;
	m->text = st_xstrdup(text);
	bool rw_set = false, ro = false;
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, ",");
		st_autofree char *field = st_xstrndup(p, n);
		p += n + (p[n] == ',');
		if (!*field)
			continue;
		char *v = strchr(field, '=');
		if (v)
			*v++ = '\0';
		const char *k = field;
		for (char *c = field; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		int rc = 0;
		if (!strcmp(k, "type")) {
			size_t t;
			for (t = 0; t < sizeof(type_names) / sizeof(*type_names); t++)
				if (v && !strcmp(v, type_names[t]))
					break;
			if (t == sizeof(type_names) / sizeof(*type_names))
				return st_err(err, ST_E_INVALID,
					      "RUN --mount=%s: unsupported mount type '%s'", text,
					      v ? v : "");
			m->type = (enum mount_type)t;
		} else if (!strcmp(k, "target") || !strcmp(k, "dst") || !strcmp(k, "destination")) {
			set_str(&m->target, v);
			m->target_set = true;
		} else if (!strcmp(k, "source") || !strcmp(k, "src")) {
			set_str(&m->source, v);
		} else if (!strcmp(k, "from")) {
			set_str(&m->from, v);
		} else if (!strcmp(k, "id")) {
			set_str(&m->id, v);
		} else if (!strcmp(k, "env")) {
			set_str(&m->env, v);
		} else if (!strcmp(k, "size")) {
			set_str(&m->size, v);
		} else if (!strcmp(k, "readonly") || !strcmp(k, "ro")) {
			rc = parse_bool(k, v, &ro, text, err);
			m->rw = !ro;
			rw_set = true;
		} else if (!strcmp(k, "readwrite") || !strcmp(k, "rw")) {
			rc = parse_bool(k, v, &m->rw, text, err);
			rw_set = true;
		} else if (!strcmp(k, "required")) {
			rc = parse_bool(k, v, &m->required, text, err);
		} else if (!strcmp(k, "sharing")) {
			size_t s;
			for (s = 0; s < 3; s++)
				if (v && !strcmp(v, sharing_names[s]))
					break;
			if (s == 3)
				return st_err(err, ST_E_INVALID,
					      "RUN --mount=%s: invalid sharing '%s': use shared, "
					      "private or locked",
					      text, v ? v : "");
			m->sharing = (enum mount_sharing)s;
		} else if (!strcmp(k, "mode")) {
			rc = parse_num(k, v, 8, 07777, &m->mode, text, err);
		} else if (!strcmp(k, "uid")) {
			rc = parse_num(k, v, 10, 0x7fffffff, &m->uid, text, err);
		} else if (!strcmp(k, "gid")) {
			rc = parse_num(k, v, 10, 0x7fffffff, &m->gid, text, err);
		} else if (!strcmp(k, "z") && !v) {
			/* buildah's SELinux relabelling ("z", "Z", "relabel=shared|private"),
			 * which Containerfiles written for it carry: strata gives a step no
			 * SELinux label, so there is no label to relabel a mount for. */
		} else if (!strcmp(k, "relabel")) {
			if (!v || (strcmp(v, "shared") && strcmp(v, "private")))
				return st_err(err, ST_E_INVALID,
					      "RUN --mount=%s: invalid value '%s' for relabel: use "
					      "shared or private",
					      text, v ? v : "");
		} else {
			return st_err(err, ST_E_INVALID, "RUN --mount=%s: unexpected key '%s'",
				      text, k);
		}
		if (rc < 0)
			return -1;
	}
	/* BuildKit's defaults; the target depends on the mount's place (builder_mounts_setup). */
	if (m->type == M_SSH && !m->id)
		m->id = st_xstrdup("default");
	if (m->type == M_SSH && m->rw)
		return st_err(err, ST_E_INVALID, "RUN --mount=%s: an ssh mount is read-only", text);
	if (!rw_set)
		m->rw = m->type == M_CACHE;
	if (m->type == M_SECRET) {
		if (!m->id && m->target && *m->target) {
			const char *b = strrchr(m->target, '/');
			m->id = st_xstrdup(b ? b + 1 : m->target);
		}
		if (!m->id || !*m->id)
			return st_err(err, ST_E_INVALID,
				      "RUN --mount=%s: a secret needs an id or a "
				      "target",
				      text);
		if (!m->target && !m->env)
			m->target = st_xasprintf("/run/secrets/%s", m->id);
		if (m->rw)
			return st_err(err, ST_E_INVALID, "RUN --mount=%s: a secret is read-only",
				      text);
	}
	if (m->type != M_SECRET && m->type != M_SSH && (!m->target || !*m->target))
		return st_err(err, ST_E_INVALID, "RUN --mount=%s: target is required", text);
	if (m->type == M_CACHE && (!m->id || !*m->id))
		set_str(&m->id, m->target);
	return 0;
}

/* The canonical form: what the key holds of a mount. */
static void spec_canon(const struct mount_spec *m, const char *target, struct st_buf *b)
{
	st_buf_addf(b, "\x1emount type=%s", type_names[m->type]);
	if (target)
		st_buf_addf(b, ",target=%s", target);
	if (m->type == M_BIND || m->type == M_CACHE) {
		if (m->source)
			st_buf_addf(b, ",source=%s", m->source);
		if (m->from)
			st_buf_addf(b, ",from=%s", m->from);
		st_buf_addf(b, ",rw=%d", m->rw);
	}
	if (m->type == M_CACHE)
		st_buf_addf(b, ",id=%s,sharing=%s", m->id, sharing_names[m->sharing]);
	if (m->type == M_SECRET)
		st_buf_addf(b, ",id=%s,env=%s,required=%d", m->id, m->env ? m->env : "",
			    m->required);
	if (m->type == M_SSH)
		st_buf_addf(b, ",id=%s,required=%d", m->id, m->required);
	if (m->type == M_TMPFS && m->size)
		st_buf_addf(b, ",size=%s", m->size);
	if (m->mode >= 0)
		st_buf_addf(b, ",mode=%lo", m->mode);
	if (m->uid >= 0)
		st_buf_addf(b, ",uid=%ld", m->uid);
	if (m->gid >= 0)
		st_buf_addf(b, ",gid=%ld", m->gid);
}

/* The absolute target, relative ones taken from the working dir as BuildKit does. New. */
int builder_mount_spec_check(const char *text, struct st_buf *canon, struct st_error **err)
{
	struct mount_spec m = { 0 };
	int rc = spec_parse(text, &m, err);
	if (rc == 0)
		spec_canon(&m, m.target, canon);
	spec_release(&m);
	return rc;
}

static char *target_abs(struct stage_run *r, const char *t)
{
	if (!t)
		return NULL;
	if (t[0] == '/')
		return builder_path_clean(t);
	const char *wd = r->st.cfg->config.working_dir;
	st_autofree char *j = st_xasprintf("%s/%s", wd && *wd ? wd : "/", t);
	return builder_path_clean(j);
}

/* Parse every --mount of 'in', expanded with the stage's args and env. */
static int specs_parse(struct stage_run *r, const struct st_dockerfile_instr *in,
		       struct mount_spec **out, size_t *n, struct st_error **err)
{
	*out = NULL;
	*n = 0;
	const char **envkv = NULL;
	struct st_dockerfile_env env;
	builder_stage_env(r, &env, &envkv);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < in->nflags; i++) {
		if (strcmp(in->flags[i].name, "mount"))
			continue;
		st_autofree char *v = NULL;
		rc = st_dockerfile_flag_expand(&in->flags[i], &env, builder_stage_escape(r), &v,
					       err);
		if (rc < 0)
			break;
		*out = st_xrealloc(*out, (*n + 1) * sizeof(**out));
		rc = spec_parse(v ? v : "", &(*out)[(*n)++], err);
	}
	free(envkv);
	if (rc < 0) {
		for (size_t i = 0; i < *n; i++)
			spec_release(&(*out)[i]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static void specs_free(struct mount_spec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		spec_release(&v[i]);
	free(v);
}

static const struct st_builder_secret *secret_find(const struct st_builder_opts *o, const char *id)
{
	for (size_t i = o->n_secrets; i > 0; i--)
		if (o->secrets[i - 1].id && !strcmp(o->secrets[i - 1].id, id))
			return &o->secrets[i - 1];
	return NULL;
}

/* ---- the key ---- */

/* The context files under 'source' (relative, "" for the root), as COPY lists them. */
static int context_files(struct stage_run *r, const char *source, struct key_inputs *k,
			 struct st_error **err)
{
	struct build_context *c = builder_ctx(r, err);
	if (!c)
		return -1;
	st_autofree char *clean = builder_path_clean(source && *source ? source : "/");
	const char *rel = clean + 1;
	size_t plen = strlen(rel);
	struct ctx_file *top = plen ? builder_ctx_lookup(c, rel) : NULL;
	if (plen && !top)
		return st_err(err, ST_E_NOTFOUND,
			      "\"%s\": not found (not in the build context, or excluded by "
			      ".dockerignore)",
			      source);
	if (top && !S_ISDIR(top->st.st_mode)) {
		if (builder_ctx_hash(c, top, err) < 0)
			return -1;
		st_buf_addf(&k->files, "%s:%o %s\n", st_digest_hex(&top->digest),
			    (unsigned)top->st.st_mode, top->rel);
		return 0;
	}
	for (size_t i = 0; i < c->n; i++) {
		struct ctx_file *f = &c->files[i];
		if (plen && (strncmp(f->rel, rel, plen) != 0 ||
			     (f->rel[plen] != '/' && f->rel[plen] != '\0')))
			continue;
		if (S_ISDIR(f->st.st_mode)) {
			st_buf_addf(&k->files, "dir:%o %s/\n", (unsigned)f->st.st_mode, f->rel);
			continue;
		}
		if (builder_ctx_hash(c, f, err) < 0)
			return -1;
		st_buf_addf(&k->files, "%s:%o %s\n", st_digest_hex(&f->digest),
			    (unsigned)f->st.st_mode, f->rel);
	}
	return 0;
}

/* What a from= names: a stage (its final state, waited for), a named context, or an image in
 * the store. */
static int from_lookup(struct stage_run *r, const char *from, const struct build_state **st,
		       struct build_state *own, struct st_buf *desc, struct st_error **err)
{
	size_t idx;
	if (builder_stage_lookup(r, from, &idx)) {
		*st = builder_stage_state(r, idx);
		if (!*st)
			return st_err(err, ST_E_INVALID, "stage '%s' failed", from);
		if (desc) {
			struct st_digest cd;
			st_image_config_digest((*st)->cfg, &cd);
			st_buf_addf(desc, "stage %s\n", cd.str);
		}
		return 0;
	}
	/* A named context, keyed by its content as a stage is. */
	int named = builder_named_state(r, from, st, err);
	if (named < 0)
		return st_err_wrap(err, "RUN --mount from=%s", from);
	if (named == 1) {
		if (desc) {
			struct st_digest cd;
			st_image_config_digest((*st)->cfg, &cd);
			st_buf_addf(desc, "context %s\n", cd.str);
		}
		return 0;
	}
	struct st_store_image *img = NULL;
	if (builder_image_find(r, from, &img, err) < 0)
		return st_err_wrap(err, "RUN --mount from=%s", from);
	memset(own, 0, sizeof(*own));
	own->cfg = st_image_config_new();
	for (size_t i = 0; i < img->n_layers; i++)
		builder_state_add_layer(own, &img->layers[i]);
	if (desc)
		st_buf_addf(desc, "image %s\n", img->id.str);
	st_store_image_free(img);
	*st = own;
	return 0;
}

int builder_mounts_key(struct stage_run *r, const struct st_dockerfile_instr *in,
		       struct st_buf *canon, struct key_inputs *k, struct st_error **err)
{
	struct mount_spec *v = NULL;
	size_t n = 0;
	if (specs_parse(r, in, &v, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct mount_spec *m = &v[i];
		st_autofree char *t = target_abs(r, m->target);
		spec_canon(m, t, canon);
		if (m->type == M_BIND && !m->from) {
			rc = context_files(r, m->source, k, err);
		} else if (m->type == M_BIND) {
			const struct build_state *st = NULL;
			struct build_state own = { 0 };
			rc = from_lookup(r, m->from, &st, &own, &k->files, err);
			builder_state_release(&own);
		}
		if (rc < 0)
			st_err_wrap(err, "RUN --mount=%s", m->text);
	}
	specs_free(v, n);
	if (rc == 0 && k->files.len) {
		struct st_digest d;
		st_digest_of(k->files.data, k->files.len, &d);
		memcpy(k->files_sum, st_digest_hex(&d), sizeof(k->files_sum));
	}
	return rc;
}

/* ---- the host side of each mount ---- */

struct host_mount {
	char *dir; /* our own mount under the step dir to unmount after, or NULL */
	bool mounted;
	struct st_snapshot_step view; /* from=: a view of a stage or image */
	bool view_created, view_mounted;
	int lock; /* cache: the flock()ed dir */
};

struct run_mounts {
	char *base; /* <step base>/mounts */
	struct builder_ssh_relay **relays;
	size_t nrelays;
	struct host_mount *host;
	size_t nhost;
	struct st_runtime_mount *rt;
	size_t nrt;
	char **strs; /* strings the runtime mounts borrow */
	size_t nstrs;
	char **env; /* "K=V", NULL-terminated */
	size_t nenv;
};

static const char *keep(struct run_mounts *m, char *s)
{
	m->strs = st_xrealloc(m->strs, (m->nstrs + 1) * sizeof(*m->strs));
	m->strs[m->nstrs++] = s;
	return s;
}

static struct host_mount *host_add(struct run_mounts *m)
{
	m->host = st_xrealloc(m->host, (m->nhost + 1) * sizeof(*m->host));
	struct host_mount *h = &m->host[m->nhost++];
	memset(h, 0, sizeof(*h));
	h->lock = -1;
	return h;
}

static void rt_add(struct run_mounts *m, enum st_runtime_mount_type type, const char *src,
		   const char *dst, bool ro, const char *options)
{
	m->rt = st_xrealloc(m->rt, (m->nrt + 1) * sizeof(*m->rt));
	m->rt[m->nrt++] = (struct st_runtime_mount){
		.type = type,
		.source = src,
		.destination = dst,
		.flags = ro ? ST_RUNTIME_MOUNT_READONLY : 0,
		.options = options,
	};
}

/*
 * The host path of 'rel' inside 'root' with symlinks resolved as if 'root' were "/", so that
 * a link in an image or a context never binds a host path outside it. New, or NULL with
 * errno set.
 */
static char *resolve_in(const char *root, const char *rel)
{
	while (*rel == '/')
		rel++;
	st_autoclose int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return NULL;
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	st_autoclose int fd = (int)syscall(SYS_openat2, rfd, *rel ? rel : ".", &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) {
		/* Before 5.6: no symlink is followed at all. */
		fd = openat(rfd, *rel ? rel : ".", O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
			errno = ELOOP;
			return NULL;
		}
	}
	if (fd < 0)
		return NULL;
	st_autofree char *link = st_xasprintf("/proc/self/fd/%d", fd);
	char buf[4096];
	ssize_t len = readlink(link, buf, sizeof(buf) - 1);
	if (len < 0)
		return NULL;
	buf[len] = '\0';
	return st_xstrdup(buf);
}

/* Copy a tree (files, dirs, symlinks) with modes and owners. */
static int copy_tree(int sfd, int dfd, const char *name, struct st_error **err)
{
	struct stat st;
	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return st_err_errno(err, "stat '%s'", name);
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
			return st_err_errno(err, "mkdir '%s'", name);
		st_autoclose int s2 =
		    openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		st_autoclose int d2 =
		    openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s2 < 0 || d2 < 0)
			return st_err_errno(err, "open '%s'", name);
		DIR *d = fdopendir(dup(s2));
		if (!d)
			return st_err_errno(err, "read '%s'", name);
		struct dirent *de;
		int rc = 0;
		while (rc == 0 && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				rc = copy_tree(s2, d2, de->d_name, err);
		closedir(d);
		if (rc < 0)
			return -1;
		if (fchown(d2, st.st_uid, st.st_gid) < 0 || fchmod(d2, st.st_mode & 07777) < 0)
			return st_err_errno(err, "set owner and mode of '%s'", name);
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		char buf[4096];
		ssize_t n = readlinkat(sfd, name, buf, sizeof(buf) - 1);
		if (n < 0)
			return st_err_errno(err, "readlink '%s'", name);
		buf[n] = '\0';
		if (symlinkat(buf, dfd, name) < 0 ||
		    fchownat(dfd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			return st_err_errno(err, "symlink '%s'", name);
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return 0; /* devices, fifos and sockets are not copied */
	st_autoclose int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	st_autoclose int out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (in < 0 || out < 0)
		return st_err_errno(err, "copy '%s'", name);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (st_write_all(out, buf, (size_t)n, err) < 0)
			return -1;
	if (n < 0)
		return st_err_errno(err, "read '%s'", name);
	if (fchown(out, st.st_uid, st.st_gid) < 0 || fchmod(out, st.st_mode & 07777) < 0)
		return st_err_errno(err, "set owner and mode of '%s'", name);
	return 0;
}

/* Copy host path 'src' (a file or a dir) to the new path 'dst'. */
static int copy_path(const char *src, const char *dst, struct st_error **err)
{
	st_autofree char *sdir = st_xstrdup(src), *ddir = st_xstrdup(dst);
	char *ss = strrchr(sdir, '/'), *ds = strrchr(ddir, '/');
	if (!ss || !ds)
		return st_err(err, ST_E_INVALID, "copy '%s': not an absolute path", src);
	*ss = *ds = '\0';
	st_autoclose int sfd = open(*sdir ? sdir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	st_autoclose int dfd = open(*ddir ? ddir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0 || dfd < 0)
		return st_err_errno(err, "copy '%s'", src);
	if (strcmp(ss + 1, ds + 1)) {
		/* copy_tree keeps names: copy into a temporary sibling, then rename. */
		if (copy_tree(sfd, dfd, ss + 1, err) < 0)
			return -1;
		if (renameat(dfd, ss + 1, dfd, ds + 1) < 0)
			return st_err_errno(err, "rename '%s'", dst);
		return 0;
	}
	return copy_tree(sfd, dfd, ss + 1, err);
}

/* A read-write view of 'st' under 'dir'; writes land in the view's upper and are dropped. */
static int view_mount(struct stage_run *r, struct host_mount *h, const char *dir,
		      const struct build_state *st, struct st_error **err)
{
	char **lowers = NULL;
	size_t nl = 0;
	if (builder_stage_lowers(r, st, &lowers, &nl, err) < 0)
		return -1;
	int rc = st_snapshot_step_create(dir, "view", &h->view, err);
	h->view_created = rc == 0;
	if (rc == 0)
		rc = st_snapshot_step_mount(&h->view, (const char *const *)lowers, nl, err);
	h->view_mounted = rc == 0;
	st_strv_free(lowers, nl);
	return rc;
}

static int setup_bind(struct stage_run *r, struct run_mounts *rm, const struct mount_spec *m,
		      const char *dir, const char *target, struct st_error **err)
{
	struct host_mount *h = host_add(rm);
	const char *root;
	if (m->from) {
		const struct build_state *st = NULL;
		struct build_state own = { 0 };
		int rc = from_lookup(r, m->from, &st, &own, NULL, err);
		if (rc == 0)
			rc = view_mount(r, h, dir, st, err);
		builder_state_release(&own);
		if (rc < 0)
			return -1;
		root = h->view.merged;
	} else {
		struct build_context *c = builder_ctx(r, err);
		if (!c)
			return -1;
		root = c->root;
	}
	st_autofree char *src = resolve_in(root, m->source ? m->source : "/");
	if (!src)
		return st_err_errno(err, "source '%s'", m->source ? m->source : "/");
	if (!m->rw || m->from) {
		/* A view's writes already go to its own upper, which is removed after the step. */
		rt_add(rm, ST_RUNTIME_MOUNT_BIND, keep(rm, st_steal(&src)), target, !m->rw, NULL);
		return 0;
	}
	struct stat st;
	if (stat(src, &st) < 0)
		return st_err_errno(err, "source '%s'", m->source ? m->source : "/");
	if (!S_ISDIR(st.st_mode)) {
		char *copy = st_path_join(dir, "file");
		keep(rm, copy);
		if (copy_path(src, copy, err) < 0)
			return -1;
		rt_add(rm, ST_RUNTIME_MOUNT_BIND, copy, target, false, NULL);
		return 0;
	}
	/* An overlay on the context dir: the context is its read-only lower. */
	st_autofree char *upper = st_path_join(dir, "upper");
	st_autofree char *work = st_path_join(dir, "work");
	char *merged = st_path_join(dir, "merged");
	keep(rm, merged);
	if (st_mkdir_p(upper, 0755, err) < 0 || st_mkdir_p(work, 0700, err) < 0 ||
	    st_mkdir_p(merged, 0755, err) < 0)
		return -1;
	const char *lowers[] = { src };
	if (st_snapshot_mount(lowers, 1, upper, work, merged, err) < 0)
		return -1;
	h->dir = st_xstrdup(merged);
	h->mounted = true;
	rt_add(rm, ST_RUNTIME_MOUNT_BIND, merged, target, false, NULL);
	return 0;
}

static int apply_owner(const char *path, const struct mount_spec *m, mode_t dflt,
		       struct st_error **err)
{
	if ((m->uid >= 0 || m->gid >= 0) && chown(path, m->uid >= 0 ? (uid_t)m->uid : (uid_t)-1,
						  m->gid >= 0 ? (gid_t)m->gid : (gid_t)-1) < 0)
		return st_err_errno(err, "chown '%s'", path);
	if (chmod(path, m->mode >= 0 ? (mode_t)m->mode : dflt) < 0)
		return st_err_errno(err, "chmod '%s'", path);
	return 0;
}

static char *cache_root(struct st_store *s)
{
	return st_path_join(st_store_root(s), "cache-mounts");
}

/* Create the cache dir at 'path' once: built under tmp/ and renamed, so that a build that
 * dies halfway leaves no half-filled cache. */
static int cache_create(struct stage_run *r, const struct mount_spec *m, const char *path,
			struct st_error **err)
{
	st_autofree char *tmp = NULL;
	st_autoclose int lock = -1;
	if (st_store_tmp_mkdir(r->s, &tmp, &lock, err) < 0)
		return -1;
	st_autofree char *dir = st_path_join(tmp, "cache");
	int rc = 0;
	if (m->from) {
		const struct build_state *st = NULL;
		struct build_state own = { 0 };
		struct host_mount view = { .lock = -1 };
		rc = from_lookup(r, m->from, &st, &own, NULL, err);
		if (rc == 0)
			rc = view_mount(r, &view, tmp, st, err);
		st_autofree char *src = NULL;
		if (rc == 0 && !(src = resolve_in(view.view.merged, m->source ? m->source : "/")))
			rc = st_err_errno(err, "source '%s'", m->source ? m->source : "/");
		if (rc == 0)
			rc = copy_path(src, dir, err);
		struct st_error *e = NULL;
		if (view.view_created && st_snapshot_step_remove(&view.view, &e) < 0)
			st_error_free(e);
		st_snapshot_step_release(&view.view);
		builder_state_release(&own);
	} else if (mkdir(dir, 0755) < 0) {
		rc = st_err_errno(err, "mkdir '%s'", dir);
	}
	if (rc == 0 && m->from && m->mode < 0 && m->uid < 0 && m->gid < 0) {
		/* from= content keeps the source's owner and mode */
	} else if (rc == 0) {
		rc = apply_owner(dir, m, 0755, err);
	}
	if (rc == 0) {
		if (rename(dir, path) < 0 && errno != EEXIST && errno != ENOTEMPTY)
			rc = st_err_errno(err, "create cache '%s'", path);
	}
	struct st_error *e = NULL;
	if (st_rm_rf(tmp, &e) < 0)
		st_error_free(e);
	return rc;
}

static int setup_cache(struct stage_run *r, struct run_mounts *rm, const struct mount_spec *m,
		       const char *dir, const char *target, struct st_error **err)
{
	struct host_mount *h = host_add(rm);
	st_autofree char *croot = cache_root(r->s);
	if (st_mkdir_p(croot, 0700, err) < 0)
		return -1;
	struct st_digest d;
	st_digest_of(m->id, strlen(m->id), &d);
	char *path = st_path_join(croot, st_digest_hex(&d));
	keep(rm, path);
	if (!st_path_exists(path) && cache_create(r, m, path, err) < 0)
		return st_err_wrap(err, "cache '%s'", m->id);
	h->lock = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->lock < 0)
		return st_err_errno(err, "open cache '%s'", path);
	/* Every user holds a lock: shared ones a shared lock, so that a private user can tell
	 * the dir is in use, and a locked one waits for all the others. */
	int op = m->sharing == SHARING_SHARED ? LOCK_SH : LOCK_EX;
	if (m->sharing == SHARING_PRIVATE)
		op |= LOCK_NB;
	int lrc;
	while ((lrc = flock(h->lock, op)) < 0 && errno == EINTR)
		;
	if (lrc < 0 && errno == EWOULDBLOCK) {
		/* private and in use: a fresh dir of its own, dropped after the step */
		close(h->lock);
		h->lock = -1;
		path = st_path_join(dir, "private");
		keep(rm, path);
		if (mkdir(path, 0755) < 0)
			return st_err_errno(err, "mkdir '%s'", path);
		if (apply_owner(path, m, 0755, err) < 0)
			return -1;
	} else if (lrc < 0) {
		return st_err_errno(err, "lock cache '%s'", path);
	}
	rt_add(rm, ST_RUNTIME_MOUNT_BIND, path, target, !m->rw, NULL);
	return 0;
}

static int setup_secret(struct stage_run *r, struct run_mounts *rm, const struct mount_spec *m,
			const char *dir, const char *target, struct st_error **err)
{
	const struct st_builder_secret *sec = secret_find(builder_opts(r), m->id);
	if (!sec) {
		if (m->required)
			return st_err(err, ST_E_NOTFOUND,
				      "secret '%s' is required but was not provided (strata build "
				      "--secret id=%s,src=FILE)",
				      m->id, m->id);
		return 0; /* an optional secret that is not there is simply not mounted */
	}
	struct st_buf data = ST_BUF_INIT;
	if (sec->src) {
		if (st_read_file(sec->src, &data, err) < 0) {
			st_buf_release(&data);
			return st_err_wrap(err, "secret '%s'", m->id);
		}
	} else {
		st_buf_adds(&data, sec->value ? sec->value : "");
	}
	int rc = 0;
	if (m->env) {
		rm->env = st_xrealloc(rm->env, (rm->nenv + 2) * sizeof(*rm->env));
		rm->env[rm->nenv++] = st_xasprintf("%s=%s", m->env, st_buf_str(&data));
		rm->env[rm->nenv] = NULL;
	}
	if (target) {
		/* A tmpfs of its own: the content never touches a disk. */
		struct host_mount *h = host_add(rm);
		if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") <
		    0) {
			rc = st_err_errno(err, "mount a tmpfs for secret '%s'", m->id);
		} else {
			h->dir = st_xstrdup(dir);
			h->mounted = true;
			char *file = st_path_join(dir, "secret");
			keep(rm, file);
			rc = st_write_file_atomic(file, NULL, data.data ? data.data : "", data.len,
						  0400, err);
			if (rc == 0)
				rc = apply_owner(file, m, 0400, err);
			if (rc == 0)
				rt_add(rm, ST_RUNTIME_MOUNT_BIND, file, target, true, NULL);
		}
	}
	/* Wipe our copy: the buffer's memory is freed right after. */
	if (data.data)
		explicit_bzero(data.data, data.len);
	st_buf_release(&data);
	return rc;
}

static int setup_ssh(struct stage_run *r, struct run_mounts *rm, const struct mount_spec *m,
		     const char *dir, const char *target, struct st_error **err)
{
	const struct builder_ssh *ssh = builder_ssh_of(r);
	const char *agent = ssh ? builder_ssh_socket(ssh, m->id) : NULL;
	if (!agent) {
		if (m->required)
			return st_err(err, ST_E_NOTFOUND,
				      "ssh agent '%s' is required but was not provided (strata "
				      "build --ssh %s=SOCKET|KEYFILE)",
				      m->id, m->id);
		return 0; /* as an optional secret: not mounted */
	}
	struct builder_ssh_relay *relay = NULL;
	if (builder_ssh_relay_start(agent, dir, "agent.sock", m->mode >= 0 ? (mode_t)m->mode : 0600,
				    m->uid >= 0 ? (uid_t)m->uid : 0,
				    m->gid >= 0 ? (gid_t)m->gid : 0, &relay, err) < 0)
		return -1;
	rm->relays = st_xrealloc(rm->relays, (rm->nrelays + 1) * sizeof(*rm->relays));
	rm->relays[rm->nrelays++] = relay;
	rt_add(rm, ST_RUNTIME_MOUNT_BIND, keep(rm, st_path_join(dir, "agent.sock")), target, false,
	       NULL);
	/* The first agent is the one ssh and git use, unless the image says otherwise. */
	if (rm->nrelays == 1 && !st_image_config_env_get(r->st.cfg, "SSH_AUTH_SOCK")) {
		rm->env = st_xrealloc(rm->env, (rm->nenv + 2) * sizeof(*rm->env));
		rm->env[rm->nenv++] = st_xasprintf("SSH_AUTH_SOCK=%s", target);
		rm->env[rm->nenv] = NULL;
	}
	return 0;
}

int builder_mounts_setup(struct stage_run *r, const struct st_dockerfile_instr *in,
			 const char *base, struct run_mounts **out, struct st_error **err)
{
	*out = NULL;
	struct mount_spec *v = NULL;
	size_t n = 0;
	if (specs_parse(r, in, &v, &n, err) < 0)
		return -1;
	struct run_mounts *rm = st_xcalloc(1, sizeof(*rm));
	rm->base = st_path_join(base, "mounts");
	int rc = n ? st_mkdir_p(rm->base, 0700, err) : 0;
	size_t nssh = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct mount_spec *m = &v[i];
		/* A secret given as env= only has no target (spec_parse sets the default). */
		const char *target = m->target ? keep(rm, target_abs(r, m->target)) : NULL;
		if (m->type == M_SSH && !target)
			target = keep(rm, st_xasprintf("/run/buildkit/ssh_agent.%zu", nssh));
		nssh += m->type == M_SSH;
		char *dir = st_xasprintf("%s/%zu", rm->base, i);
		keep(rm, dir);
		rc = st_mkdir_p(dir, 0700, err);
		if (rc < 0)
			break;
		switch (m->type) {
		case M_BIND:
			rc = setup_bind(r, rm, m, dir, target, err);
			break;
		case M_CACHE:
			rc = setup_cache(r, rm, m, dir, target, err);
			break;
		case M_TMPFS: {
			const char *opt = m->size
					      ? keep(rm, st_xasprintf("mode=1777,size=%s", m->size))
					      : "mode=1777";
			rt_add(rm, ST_RUNTIME_MOUNT_TMPFS, NULL, target, false, opt);
			break;
		}
		case M_SECRET:
			rc = setup_secret(r, rm, m, dir, target, err);
			break;
		case M_SSH:
			rc = setup_ssh(r, rm, m, dir, target, err);
			break;
		}
		if (rc < 0)
			st_err_wrap(err, "RUN --mount=%s", m->text);
	}
	specs_free(v, n);
	if (rc < 0) {
		builder_run_mounts_free(rm);
		return -1;
	}
	*out = rm;
	return 0;
}

const struct st_runtime_mount *builder_mounts_runtime(const struct run_mounts *m, size_t *n)
{
	*n = m ? m->nrt : 0;
	return m ? m->rt : NULL;
}

const char *const *builder_mounts_env(const struct run_mounts *m, size_t *n)
{
	*n = m ? m->nenv : 0;
	return m ? (const char *const *)m->env : NULL;
}

void builder_run_mounts_free(struct run_mounts *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nrelays; i++)
		builder_ssh_relay_stop(m->relays[i]);
	free(m->relays);
	bool busy = false;
	for (size_t i = m->nhost; i > 0; i--) {
		struct host_mount *h = &m->host[i - 1];
		struct st_error *e = NULL;
		if (h->mounted && st_snapshot_umount(h->dir, &e) < 0)
			st_error_free(e);
		e = NULL;
		if (h->view_created && st_snapshot_step_remove(&h->view, &e) < 0)
			st_error_free(e);
		st_snapshot_step_release(&h->view);
		/* Never descend into a mount that would not go away. */
		busy |= h->mounted && st_snapshot_is_mounted(h->dir);
		if (h->lock >= 0)
			close(h->lock);
		free(h->dir);
	}
	free(m->host);
	for (size_t i = 0; i < m->nenv; i++) {
		explicit_bzero(m->env[i], strlen(m->env[i]));
		free(m->env[i]);
	}
	free(m->env);
	free(m->rt);
	if (m->base && st_path_exists(m->base)) {
		struct st_error *e = NULL;
		if (!busy && st_rm_rf(m->base, &e) < 0)
			st_error_free(e);
	}
	st_strv_free(m->strs, m->nstrs);
	free(m->base);
	free(m);
}

/* ---- builder prune ---- */

static uint64_t tree_size(int dfd, const char *name)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	uint64_t sum = (uint64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode))
		return sum;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return sum;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			sum += tree_size(dirfd(d), de->d_name);
	closedir(d);
	return sum;
}

int builder_cache_mounts_list(struct st_store *s, struct st_builder_cache_record **v, size_t *n,
			      struct st_error **err)
{
	*v = NULL;
	*n = 0;
	st_autofree char *croot = cache_root(s);
	DIR *d = opendir(croot);
	if (!d)
		return errno == ENOENT ? 0 : st_err_errno(err, "open '%s'", croot);
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		/* As prune sees it: a step holds its lock while it uses the directory. */
		int fd =
		    openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		bool in_use = fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0;
		if (fd >= 0)
			close(fd);
		*v = st_xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[(*n)++] = (struct st_builder_cache_record){
			.id = st_xstrdup(de->d_name),
			.type = "exec.cachemount",
			.size = tree_size(dirfd(d), de->d_name),
			/* a step writing at the top changes it: the best "last used" there is */
			.last_used =
			    (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000,
			.reclaimable = !in_use,
		};
	}
	closedir(d);
	return 0;
}

int builder_cache_mounts_prune(struct st_store *s, size_t *removed, uint64_t *freed,
			       struct st_error **err)
{
	size_t nrem = 0;
	uint64_t bytes = 0;
	st_autofree char *croot = cache_root(s);
	DIR *d = opendir(croot);
	if (!d && errno != ENOENT)
		return st_err_errno(err, "open '%s'", croot);
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		st_autofree char *p = st_path_join(croot, de->d_name);
		st_autoclose int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* a step uses it now */
		/* Renamed away first: a step that starts now creates a fresh one. */
		st_autofree char *tmp = NULL;
		st_autoclose int lock = -1;
		if (st_store_tmp_mkdir(s, &tmp, &lock, err) < 0) {
			rc = -1;
			break;
		}
		st_autofree char *dst = st_path_join(tmp, "cache");
		uint64_t size = tree_size(dirfd(d), de->d_name);
		if (rename(p, dst) < 0)
			rc = st_err_errno(err, "remove cache '%s'", p);
		if (st_rm_rf(tmp, rc == 0 ? err : NULL) < 0 && rc == 0)
			rc = -1;
		if (rc == 0) {
			nrem++;
			bytes += size;
		}
	}
	if (d)
		closedir(d);
	if (removed)
		*removed = nrem;
	if (freed)
		*freed = bytes;
	return rc;
}
