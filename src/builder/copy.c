/*
 * copy.c: COPY and ADD, written straight into a layer without a container.
 *
 * Sources come from the context (after .dockerignore), from a stage or from an image
 * (--from, read through a read-only view of its layers), or from heredocs. Docker's
 * destination rules: a destination ending in '/', or several sources, or a directory the
 * image already has, means "into this directory"; a directory source copies its contents;
 * relative destinations are under WORKDIR; missing parents are created. The parents that
 * exist in the image are written with the image's own attributes so that a COPY never changes
 * a directory's mode or owner behind the user's back (except with --link: see builder_copy_exec).
 * Every path in an image or a stage (--from sources, destinations, --chown's /etc files) is
 * resolved inside its layers (st_union_lookup), its links followed there as the kernel would
 * and never on the host; a source that is a link is followed, as BuildKit does, and links
 * inside a copied directory stay links.
 *
 * ADD also takes http(s) URLs (fetch.c): the file is named after the URL, written 0600 with the
 * Last-Modified time, and not unpacked unless --unpack=true; --checksum verifies it. And git
 * repositories (git.c): the tree of the commit the ref resolves to, copied into the destination
 * as a directory is; --checksum then names the commit (or a prefix of it). Hardlinks
 * among the sources stay hardlinks; --chmod takes octal or chmod(1) symbolic modes; heredoc
 * bodies are expanded unless their delimiter is quoted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "builder/internal.h"
#include "local/local.h"
#include "runtime/runtime.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

enum item_kind { ITEM_PATH, ITEM_DATA, ITEM_ARCHIVE, ITEM_URL };

struct copy_item {
	enum item_kind kind;
	char *host; /* ITEM_PATH, ITEM_ARCHIVE: the file on the host */
	char *dest; /* absolute path in the image */
	char *data; /* ITEM_DATA (heredoc) */
	size_t len;
	bool is_dir;
	bool root_dir; /* the destination dir of a directory source */
	char *url;     /* ITEM_URL: the source; 'host' is the downloaded file once fetched */
	int64_t mtime; /* ITEM_URL: Last-Modified, or -1 */
};

struct copy_plan {
	const struct st_dockerfile_instr *in;
	bool add;
	struct copy_item *items;
	size_t n;
	char *dest_dir; /* the directory the copy goes into (parents created up to here) */
	/* --from: a read-only view of the source's layers */
	struct st_snapshot_step from_step;
	char *from_base;
	int from_lock;
	bool from_created, from_mounted;
	bool from_listed;   /* the sources are mounted and listed in 'items' */
	char **from_lowers; /* the source's unpacked layers, top first */
	size_t from_nl;
	const struct build_state *from_state; /* borrowed, or &own_from */
	struct build_state own_from;
	char **srcs; /* --from: the sources, listed only when the step runs */
	size_t nsrcs;
	char *dest;
	bool dest_is_dir;
	char *chown, *chmod;
	bool has_chmod;
	bool chmod_symbolic; /* --chmod=u=rwx,go=rx: applied to each entry's own mode */
	mode_t mode;
	bool link;
	bool parents; /* --parents: each source keeps its path under the destination */
	int unpack;   /* ADD --unpack: -1 when not given (local archives unpack, URLs do not) */
	bool has_checksum;
	struct st_digest checksum; /* ADD --checksum */
	bool has_git;		   /* ADD of a git repository, its only source */
	struct git_source git;
	char *git_url;	  /* as written */
	char *git_commit; /* what its ref resolved to when the step was keyed */
	int keep_git_dir; /* ADD --keep-git-dir: -1 when not given */
	char *fetch_dir;  /* URLs are downloaded here (store tmp/, locked) */
	int fetch_lock;
	char link_base[ST_DIGEST_HEX_LEN + 1]; /* --link: the key's part known before running */
	char *created_by;
	bool unresolved; /* made for the key only: 'dest' not resolved in the image yet */
};

void builder_copy_plan_free(struct copy_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].host);
		free(p->items[i].dest);
		free(p->items[i].data);
		free(p->items[i].url);
	}
	free(p->items);
	free(p->dest_dir);
	struct st_error *e = NULL;
	if (p->from_created && st_snapshot_step_remove(&p->from_step, &e) < 0)
		st_error_clear(&e);
	st_snapshot_step_release(&p->from_step);
	st_strv_free(p->from_lowers, p->from_nl);
	if (p->from_base && st_rm_rf(p->from_base, &e) < 0)
		st_error_clear(&e);
	free(p->from_base);
	if (p->from_lock >= 0)
		close(p->from_lock);
	st_strv_free(p->srcs, p->nsrcs);
	free(p->dest);
	builder_state_release(&p->own_from);
	free(p->chown);
	free(p->chmod);
	free(p->created_by);
	builder_git_source_release(&p->git);
	free(p->git_url);
	free(p->git_commit);
	if (p->fetch_dir && st_rm_rf(p->fetch_dir, &e) < 0)
		st_error_clear(&e);
	free(p->fetch_dir);
	if (p->fetch_lock >= 0)
		close(p->fetch_lock);
	free(p);
}

static struct copy_item *add_item(struct copy_plan *p, enum item_kind kind, const char *host,
				  const char *dest)
{
	p->items = st_xrealloc(p->items, (p->n + 1) * sizeof(*p->items));
	struct copy_item *it = &p->items[p->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->host = host ? st_xstrdup(host) : NULL;
	it->dest = builder_path_clean(dest);
	return it;
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Mount a read-only view of 'st' for reading sources. */
static int mount_from(struct stage_run *r, struct copy_plan *p, const struct build_state *st,
		      struct st_error **err)
{
	if (builder_stage_lowers(r, st, &p->from_lowers, &p->from_nl, err) < 0)
		return -1;
	int rc = st_store_tmp_mkdir(r->s, &p->from_base, &p->from_lock, err);
	if (rc == 0)
		rc = st_snapshot_step_create(p->from_base, "from", &p->from_step, err);
	p->from_created = rc == 0;
	if (rc == 0)
		rc = st_snapshot_step_mount(&p->from_step, (const char *const *)p->from_lowers,
					    p->from_nl, err);
	p->from_mounted = rc == 0;
	return rc;
}

/* ---- sources from a directory on disk (a --from view) ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add 'host' (a dir) contents under 'dest', recursively, sorted. */
static int add_tree_items(struct copy_plan *p, const char *host, const char *dest,
			  struct st_error **err)
{
	DIR *d = opendir(host);
	if (!d)
		return st_err_errno(err, "open '%s'", host);
	char **names = NULL;
	size_t n = 0;
	int rc = st_dir_names(d, host, &names, &n, err);
	closedir(d);
	for (size_t i = 0; i < n && rc == 0; i++) {
		st_autofree char *h = st_path_join(host, names[i]);
		st_autofree char *t = st_xasprintf("%s/%s", dest, names[i]);
		struct stat st;
		if (lstat(h, &st) < 0) {
			rc = st_err_errno(err, "stat '%s'", h);
			break;
		}
		struct copy_item *it = add_item(p, ITEM_PATH, h, t);
		it->is_dir = S_ISDIR(st.st_mode);
		if (it->is_dir)
			rc = add_tree_items(p, h, t, err);
	}
	st_strv_free(names, n);
	return rc;
}

/*
 * Expand the pattern 'rest' (components relative to 'base', an image path or "") against the
 * tree at 'root', where any component may hold a glob, as BuildKit allows for --from sources.
 * Matches (image paths) are appended to *out in sorted order. Intermediate components must be
 * real directories: a symlink is not followed out of the source's root.
 */
static void glob_paths(const char *root, const char *base, const char *rest, char ***out, size_t *n)
{
	if (!*rest) {
		*out = st_xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = st_xstrdup(*base ? base : "/");
		return;
	}
	const char *slash = strchr(rest, '/');
	const char *next = slash ? slash + 1 : "";
	st_autofree char *comp =
	    slash ? st_xstrndup(rest, (size_t)(slash - rest)) : st_xstrdup(rest);
	char **names = NULL;
	size_t nn = 0;
	if (!has_glob(comp)) {
		names = st_xcalloc(1, sizeof(*names));
		names[nn++] = st_xstrdup(comp);
	} else {
		st_autofree char *hd = st_xasprintf("%s%s", root, *base ? base : "/");
		DIR *d = opendir(hd);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (fnmatch(comp, de->d_name, FNM_PERIOD) == 0) {
				names = st_xrealloc(names, (nn + 1) * sizeof(*names));
				names[nn++] = st_xstrdup(de->d_name);
			}
		}
		if (d)
			closedir(d);
		if (nn > 1)
			qsort(names, nn, sizeof(*names), cmp_str);
	}
	for (size_t i = 0; i < nn; i++) {
		st_autofree char *pth = st_xasprintf("%s/%s", base, names[i]);
		st_autofree char *h = st_xasprintf("%s%s", root, pth);
		struct stat st;
		if (lstat(h, &st) < 0 || (*next && !S_ISDIR(st.st_mode)))
			continue;
		glob_paths(root, pth, next, out, n);
	}
	st_strv_free(names, nn);
}

/*
 * The sources of --from, read through the mounted view 'root' of the source's layers. Each path
 * is resolved inside those layers, a link in its last component followed as BuildKit does, so
 * that no link, absolute or relative, can lead out to the host; what a directory source holds is
 * copied as it is (links stay links).
 */
static int from_sources(struct copy_plan *p, const char *root, char **srcs, size_t nsrc,
			const char *dest, bool dest_is_dir, struct st_error **err)
{
	for (size_t i = 0; i < nsrc; i++) {
		st_autofree char *clean = builder_path_clean(srcs[i]);
		char **matches = NULL;
		size_t nm = 0;
		if (has_glob(clean)) {
			glob_paths(root, "", clean + 1, &matches, &nm);
		} else {
			matches = st_xcalloc(1, sizeof(*matches));
			matches[nm++] = st_xstrdup(clean);
		}
		/* A wildcard may match nothing, as BuildKit allows. */
		if (nm == 0) {
			free(matches);
			continue;
		}
		int rc = 0;
		for (size_t m = 0; m < nm && rc == 0; m++) {
			struct st_union_entry e;
			int found = st_union_lookup(p->from_lowers, p->from_nl, matches[m],
						    ST_UNION_FOLLOW, &e, err);
			if (found < 0)
				rc = st_err_wrap(err, "\"%s\"", matches[m]);
			else if (!found)
				rc = st_err(err, ST_E_NOTFOUND, "\"%s\": not found", matches[m]);
			if (rc < 0) {
				st_union_entry_release(&e);
				break;
			}
			/* The view shows the layers' union: the resolved path has no link in it. */
			st_autofree char *h =
			    st_xasprintf("%s%s", root, strcmp(e.path, "/") ? e.path : "");
			bool isdir = S_ISDIR(e.st.st_mode);
			st_union_entry_release(&e);
			st_autofree char *t = NULL;
			if (p->parents && strcmp(matches[m], "/"))
				t = st_xasprintf("%s%s", strcmp(dest, "/") ? dest : "", matches[m]);
			else if (isdir || !dest_is_dir)
				t = st_xstrdup(dest);
			else
				t = st_xasprintf("%s/%s", dest, base_name(matches[m]));
			if (isdir) {
				struct copy_item *it = add_item(p, ITEM_PATH, h, t);
				it->is_dir = it->root_dir = true;
				rc = add_tree_items(p, h, t, err);
			} else {
				add_item(p, ITEM_PATH, h, t);
			}
		}
		st_strv_free(matches, nm);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Mount the --from view and list what the step copies from it into 'items'. */
static int from_list(struct stage_run *r, struct copy_plan *p, struct st_error **err)
{
	int rc = mount_from(r, p, p->from_state, err);
	if (rc == 0)
		rc = from_sources(p, p->from_step.merged, p->srcs, p->nsrcs, p->dest,
				  p->dest_is_dir, err);
	p->from_listed = rc == 0;
	return rc;
}

static int hash_file(struct st_hasher *h, const char *path, struct st_error **err)
{
	st_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return st_err_errno(err, "open '%s'", path);
	struct st_hasher fh;
	st_hasher_init(&fh);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			st_hasher_update(&fh, buf, (size_t)n);
	struct st_digest d;
	st_hasher_final(&fh, &d);
	if (n < 0)
		return st_err_errno(err, "read '%s'", path);
	st_hasher_update(h, d.str, strlen(d.str) + 1);
	return 0;
}

/*
 * The key part of a COPY --from a stage or named context: the checksum of what it copies
 * (each entry's destination, type, permissions, owner, link target and content; not its
 * mtime), as BuildKit keys such a copy by content. A source stage rebuilt with the same
 * result (a fresh store whose cache holds only the final stage, a rebuilt stage whose
 * artifact did not change) then still hits. The checksum is kept in the store by what
 * decides it (the source's config digest, which covers its layers, and the sources and
 * destination), so an unchanged source is not mounted nor read again, and travels with a
 * shared cache, so a store that got the source stage from a cache need not unpack it.
 */
static int from_content_sum(struct stage_run *r, struct copy_plan *p,
			    char out[ST_DIGEST_HEX_LEN + 1], struct st_error **err)
{
	struct st_digest cd;
	st_image_config_digest(p->from_state->cfg, &cd);
	struct st_buf memo = ST_BUF_INIT;
	st_buf_addf(&memo, "%s\n%s\n%d\n", cd.str, p->dest, (int)p->parents);
	for (size_t i = 0; i < p->nsrcs; i++)
		st_buf_addf(&memo, "%s\n", p->srcs[i]);
	struct st_digest md;
	st_digest_of(memo.data, memo.len, &md);
	st_buf_release(&memo);
	const char *mk = st_digest_hex(&md);
	struct builder_cache_share *share = builder_share(r);
	char *v = NULL;
	struct st_error *kerr = NULL;
	bool known = st_store_kv_get(r->s, KV_NS_FROM, mk, &v, &kerr) == 0 && v &&
		     strlen(v) == ST_DIGEST_HEX_LEN;
	if (known)
		memcpy(out, v, ST_DIGEST_HEX_LEN + 1);
	free(v);
	st_error_clear(&kerr);
	if (known || builder_cache_share_sum(share, mk, out)) {
		builder_cache_share_sum_used(share, mk, out, r->stage->index);
		return 0;
	}
	if (from_list(r, p, err) < 0)
		return -1;
	struct st_hasher h;
	st_hasher_init(&h);
	size_t root = strlen(p->from_step.merged);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < p->n; i++) {
		const struct copy_item *it = &p->items[i];
		struct stat st;
		if (lstat(it->host, &st) < 0) {
			rc = st_err_errno(err, "stat '%s'", it->host + root);
			break;
		}
		char head[256];
		int hn = snprintf(head, sizeof(head), "%o %u %u %llu", (unsigned)st.st_mode,
				  (unsigned)st.st_uid, (unsigned)st.st_gid,
				  (unsigned long long)(S_ISREG(st.st_mode) ? st.st_size : 0));
		st_hasher_update(&h, it->dest, strlen(it->dest) + 1);
		st_hasher_update(&h, head, (size_t)hn + 1);
		if (S_ISREG(st.st_mode)) {
			rc = hash_file(&h, it->host, err);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(it->host, target, sizeof(target) - 1);
			if (n < 0)
				rc = st_err_errno(err, "readlink '%s'", it->host + root);
			else
				st_hasher_update(&h, target, (size_t)n + 1);
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			char dev[64];
			int dn = snprintf(dev, sizeof(dev), "%llu", (unsigned long long)st.st_rdev);
			st_hasher_update(&h, dev, (size_t)dn + 1);
		}
	}
	struct st_digest d;
	st_hasher_final(&h, &d);
	if (rc < 0)
		return -1;
	memcpy(out, st_digest_hex(&d), ST_DIGEST_HEX_LEN + 1);
	/* Only a memo: a store that cannot keep it computes it again next time. */
	if (st_store_kv_put(r->s, KV_NS_FROM, mk, out, &kerr) < 0)
		st_error_clear(&kerr);
	builder_cache_share_sum_used(share, mk, out, r->stage->index);
	return 0;
}

/* ---- sources from the context ---- */

/*
 * Where the context's symlink 'rel' leads, resolved inside the context as if it were '/'
 * (openat2 RESOLVE_IN_ROOT), as BuildKit follows a source link: *rel_out is new ("" for the
 * context root) and *out its entry (NULL for the root). ST_E_NOTFOUND if it leads to nothing
 * the context holds after .dockerignore.
 */
static int ctx_follow(struct build_context *c, const char *rel, char **rel_out,
		      struct ctx_file **out, struct st_error **err)
{
	st_autoclose int rfd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return st_err_errno(err, "open '%s'", c->root);
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	st_autoclose int fd = (int)syscall(SYS_openat2, rfd, rel, &how, sizeof(how));
	char buf[4096];
	ssize_t len = -1;
	if (fd >= 0) {
		st_autofree char *proc = st_xasprintf("/proc/self/fd/%d", fd);
		len = readlink(proc, buf, sizeof(buf) - 1);
	}
	size_t rl = strlen(c->root);
	if (len >= 0) {
		buf[len] = '\0';
		/* RESOLVE_IN_ROOT keeps it under the root; the check states it. */
		if (strncmp(buf, c->root, rl) != 0 || (buf[rl] != '/' && buf[rl] != '\0'))
			len = -1;
	}
	const char *r = len >= 0 ? buf + rl + (buf[rl] == '/') : NULL;
	*out = r && *r ? builder_ctx_lookup(c, r) : NULL;
	if (!r || (*r && !*out))
		return st_err(err, ST_E_NOTFOUND,
			      "\"%s\": a link to a file that is not in the build context", rel);
	*rel_out = st_xstrdup(r);
	return 0;
}

/*
 * The entries a copy of the context's directory 'frel' (entry 'dir', NULL for the root) takes,
 * in walk order, .dockerignore's exclusions 'excl' left out: *n of them, a new array.
 */
static struct ctx_file **tree_entries(struct build_context *c, struct ctx_file *dir,
				      const char *frel, struct st_dockerignore *excl, size_t *n)
{
	size_t plen = strlen(frel);
	size_t from = dir ? (size_t)(dir - c->files) + 1 : 0;
	struct ctx_file **v = st_xcalloc(c->n - from + 1, sizeof(*v));
	*n = 0;
	for (size_t g = from; g < c->n; g++) {
		struct ctx_file *sub = &c->files[g];
		if (plen && (strncmp(sub->rel, frel, plen) != 0 || sub->rel[plen] != '/')) {
			if (dir)
				break; /* walk order: the dir's entries are contiguous */
			continue;
		}
		if (!(excl && st_dockerignore_matches(excl, plen ? sub->rel + plen + 1 : sub->rel)))
			v[(*n)++] = sub;
	}
	return v;
}

static int context_sources(struct stage_run *r, struct copy_plan *p, struct build_context *c,
			   char **srcs, size_t nsrc, const char *dest, bool dest_is_dir,
			   bool parents, struct st_dockerignore *excl, struct key_inputs *k,
			   struct st_error **err)
{
	for (size_t i = 0; i < nsrc; i++) {
		st_autofree char *clean = builder_path_clean(srcs[i]);
		const char *rel = clean + 1; /* "" for the context root */
		bool glob = has_glob(rel);
		size_t found = 0;
		/* Parents of a source are never sources themselves; walk order puts a dir first. */
		for (size_t f = 0; f <= c->n; f++) {
			const char *frel;
			struct ctx_file *cf = NULL;
			if (f == c->n) {
				if (*rel || glob)
					break;
				frel =
				    ""; /* the root itself, last so it is only matched when asked */
			} else {
				cf = &c->files[f];
				frel = cf->rel;
			}
			if (glob ? fnmatch(rel, frel, FNM_PATHNAME | FNM_PERIOD) != 0
				 : strcmp(rel, frel) != 0)
				continue;
			found++;
			/* A link is followed inside the context; the copy keeps its name. */
			const char *name = frel;
			st_autofree char *followed = NULL;
			if (cf && S_ISLNK(cf->st.st_mode)) {
				if (ctx_follow(c, frel, &followed, &cf, err) < 0)
					return -1;
				frel = followed;
			}
			bool isdir = cf ? S_ISDIR(cf->st.st_mode) : true;
			if (!isdir) {
				if (excl && st_dockerignore_matches(excl, frel))
					continue;
				st_autofree char *t = NULL;
				if (parents)
					t = st_xasprintf("%s/%s", dest, name);
				else
					t = dest_is_dir
						? st_xasprintf("%s/%s", dest, base_name(name))
						: st_xstrdup(dest);
				if (builder_ctx_hash(c, cf, err) < 0)
					return -1;
				st_buf_addf(&k->files, "%s:%o %s\n", st_digest_hex(&cf->digest),
					    (unsigned)cf->st.st_mode, frel);
				st_autofree char *h = st_path_join(c->root, frel);
				add_item(p, ITEM_PATH, h, t);
				continue;
			}
			/* A directory: its contents go into the destination directory. */
			st_autofree char *droot =
			    parents && *name ? st_xasprintf("%s/%s", dest, name) : st_xstrdup(dest);
			st_autofree char *hroot =
			    *frel ? st_path_join(c->root, frel) : st_xstrdup(c->root);
			struct copy_item *it = add_item(p, ITEM_PATH, hroot, droot);
			it->is_dir = it->root_dir = true;
			st_buf_addf(&k->files, "dir:%o %s/\n",
				    cf ? (unsigned)cf->st.st_mode : 040755u, frel);
			size_t plen = strlen(frel), nsub = 0;
			st_autofree struct ctx_file **subs = tree_entries(c, cf, frel, excl, &nsub);
			/* All at once, on two threads, rather than one by one below. */
			if (builder_ctx_hash_all(c, subs, nsub, err) < 0)
				return -1;
			for (size_t g = 0; g < nsub; g++) {
				struct ctx_file *sub = subs[g];
				const char *inner = plen ? sub->rel + plen + 1 : sub->rel;
				st_autofree char *t = st_xasprintf("%s/%s", droot, inner);
				st_autofree char *h = st_path_join(c->root, sub->rel);
				struct copy_item *si = add_item(p, ITEM_PATH, h, t);
				si->is_dir = S_ISDIR(sub->st.st_mode);
				if (si->is_dir) {
					st_buf_addf(&k->files, "dir:%o %s/\n",
						    (unsigned)sub->st.st_mode, sub->rel);
					continue;
				}
				st_buf_addf(&k->files, "%s:%o %s\n", st_digest_hex(&sub->digest),
					    (unsigned)sub->st.st_mode, sub->rel);
			}
		}
		/* A wildcard may match nothing, as BuildKit allows; a plain path must exist. */
		if (!found && !glob)
			return st_err(err, ST_E_NOTFOUND,
				      "\"%s\": not found (not in the build context, or excluded by "
				      ".dockerignore)",
				      srcs[i]);
	}
	(void)r;
	return 0;
}

/* A local archive that ADD unpacks: by its magic bytes, or a tar header at 257. */
static bool is_archive(const char *path)
{
	st_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	unsigned char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < (ssize_t)ST_LAYER_COMP_MAGIC_LEN)
		return false;
	if (st_layer_comp_detect(buf, (size_t)n) != ST_LAYER_COMP_NONE)
		return true;
	return n >= 262 && !memcmp(buf + 257, "ustar", 5);
}

/*
 * --chmod in chmod(1)'s symbolic form ("u=rwx,go=rx", "a+X"), which dockerfile 1.14 accepts
 * (moby/buildkit#5734): applied to each copied entry's own mode, with no umask. 'X' adds
 * execute to directories and to files some class can already execute. -1 if malformed.
 */
static int chmod_symbolic(const char *spec, mode_t cur, bool isdir, mode_t *out)
{
	mode_t m = cur & 07777;
	const char *s = spec;
	for (;;) {
		mode_t who = 0;
		for (; *s && strchr("ugoa", *s); s++)
			who |= *s == 'u' ? 04700 : *s == 'g' ? 02070 : *s == 'o' ? 01007 : 07777;
		if (!who)
			who = 07777;
		if (!*s || !strchr("+-=", *s))
			return -1;
		while (*s && strchr("+-=", *s)) {
			char op = *s++;
			mode_t perm = 0;
			if (*s && strchr("ugo", *s)) {
				/* "g=u": another class's bits */
				mode_t c = *s == 'u'   ? (m >> 6) & 7
					   : *s == 'g' ? (m >> 3) & 7
						       : m & 7;
				perm = c << 6 | c << 3 | c;
				s++;
			}
			for (; *s && strchr("rwxXst", *s); s++) {
				if (*s == 'r')
					perm |= 0444;
				else if (*s == 'w')
					perm |= 0222;
				else if (*s == 'x' || (*s == 'X' && (isdir || (m & 0111))))
					perm |= 0111;
				else if (*s == 's')
					perm |= 06000;
				else if (*s == 't')
					perm |= 01000;
			}
			perm &= who;
			if (op == '+')
				m |= perm;
			else if (op == '-')
				m &= ~perm;
			else
				m = (m & ~who) | perm;
		}
		if (!*s)
			break;
		if (*s != ',')
			return -1;
		s++;
	}
	*out = m;
	return 0;
}

/* The mode --chmod gives an entry whose own mode is 'cur'. */
static mode_t chmod_for(const struct copy_plan *p, mode_t cur, bool isdir)
{
	mode_t m = p->mode;
	if (p->chmod_symbolic && chmod_symbolic(p->chmod, cur, isdir, &m) < 0)
		m = cur & 07777; /* checked when the plan was made */
	return m;
}

/* Download the URL of 'it' into the plan's fetch dir, checking --checksum. */
static int url_fetch(struct stage_run *r, struct copy_plan *p, struct copy_item *it,
		     struct st_error **err)
{
	if (!p->fetch_dir && st_store_tmp_mkdir(r->s, &p->fetch_dir, &p->fetch_lock, err) < 0)
		return -1;
	char name[32];
	snprintf(name, sizeof(name), "%zu", (size_t)(it - p->items));
	it->host = st_path_join(p->fetch_dir, name);
	struct fetch_result fr;
	if (builder_fetch_url(it->url, it->host, &fr, err) < 0)
		return -1;
	it->mtime = fr.mtime;
	if (p->has_checksum && !st_digest_equal(&fr.digest, &p->checksum))
		return st_err(err, ST_E_DIGEST, "ADD %s: checksum mismatch: expected %s, got %s",
			      it->url, p->checksum.str, fr.digest.str);
	return 0;
}

/*
 * A URL source. Without --checksum it is downloaded now, on every build, as BuildKit does:
 * the step's key covers the content, so a changed file misses and an unchanged one hits.
 * With --checksum the key is the checksum and the download waits until the step runs.
 */
static int url_source(struct stage_run *r, struct copy_plan *p, const char *url, const char *dest,
		      bool dest_is_dir, struct key_inputs *k, struct st_error **err)
{
	st_autofree char *name = builder_fetch_url_name(url);
	st_autofree char *t = dest_is_dir ? st_xasprintf("%s/%s", dest, name) : st_xstrdup(dest);
	struct copy_item *it = add_item(p, ITEM_URL, NULL, t);
	it->url = st_xstrdup(url);
	it->mtime = -1;
	if (p->has_checksum) {
		st_buf_addf(&k->files, "%s:url %s\n", st_digest_hex(&p->checksum), url);
		return 0;
	}
	if (url_fetch(r, p, it, err) < 0)
		return -1;
	struct st_digest d;
	if (st_digest_of_file(it->host, &d, NULL, err) < 0)
		return -1;
	/* The mtime is part of the file the layer holds. */
	st_buf_addf(&k->files, "%s:url:%lld %s\n", st_digest_hex(&d), (long long)it->mtime, url);
	return 0;
}

/* The agent an ssh git URL goes through: the build's --ssh default, as BuildKit's. */
static int git_ssh_sock(struct stage_run *r, const struct copy_plan *p, const char **sock,
			struct st_error **err)
{
	*sock = NULL;
	if (!p->git.ssh)
		return 0;
	const struct builder_ssh *ssh = builder_ssh_of(r);
	*sock = ssh ? builder_ssh_socket(ssh, "default") : NULL;
	if (!*sock)
		return st_err(err, ST_E_INVALID,
			      "ADD %s: an ssh git URL needs an SSH agent: build with --ssh default",
			      p->git_url);
	return 0;
}

/*
 * A git repository. Its ref is resolved now, on every build, as BuildKit does: the key holds
 * the commit, so a branch that moved misses (and the explanation names both commits), and an
 * unchanged one hits without fetching anything. The tree is fetched when the step runs.
 */
static int git_source(struct stage_run *r, struct copy_plan *p, const char *url,
		      const char *checksum, struct key_inputs *k, struct st_error **err)
{
	p->git_url = st_xstrdup(url);
	if (builder_git_parse(url, &p->git, err) < 0)
		return st_err_wrap(err, "ADD");
	p->has_git = true;
	struct git_opts o = { 0 };
	st_autofree char *auth = NULL;
	if (git_ssh_sock(r, p, &o.ssh_sock, err) < 0 ||
	    builder_git_auth(builder_opts(r), &p->git, &auth, err) < 0)
		return -1;
	o.auth_header = auth;
	if (builder_git_resolve(&p->git, &o, &p->git_commit, err) < 0)
		return st_err_wrap(err, "ADD %s", url);
	const char *want[] = { checksum, p->git.checksum };
	for (size_t i = 0; i < 2; i++)
		if (want[i] && strncmp(p->git_commit, want[i], strlen(want[i])))
			return st_err(err, ST_E_DIGEST,
				      "ADD %s: checksum mismatch: expected commit %s, got %s", url,
				      want[i], p->git_commit);
	st_buf_addf(&k->files, "%s:git %s\n", p->git_commit, p->git.remote);
	return 0;
}

/* Check the resolved commit out and list its tree as the copy's sources. */
static int git_fetch(struct stage_run *r, struct copy_plan *p, struct st_error **err)
{
	if (!p->fetch_dir && st_store_tmp_mkdir(r->s, &p->fetch_dir, &p->fetch_lock, err) < 0)
		return -1;
	int keep = p->keep_git_dir >= 0 ? p->keep_git_dir : p->git.keep_git_dir;
	bool epoch = builder_opts(r)->flags & ST_BUILDER_SOURCE_DATE_EPOCH;
	struct git_opts o = {
		.keep_git_dir = keep == 1,
		.mtime_commit = p->git.mtime_commit >= 0 ? p->git.mtime_commit == 1 : epoch,
	};
	st_autofree char *auth = NULL;
	if (git_ssh_sock(r, p, &o.ssh_sock, err) < 0 ||
	    builder_git_auth(builder_opts(r), &p->git, &auth, err) < 0)
		return -1;
	o.auth_header = auth;
	st_autofree char *tree = NULL;
	if (builder_git_checkout(&p->git, p->git_commit, p->fetch_dir, &o, &tree, err) < 0)
		return st_err_wrap(err, "ADD %s", p->git_url);
	struct copy_item *it = add_item(p, ITEM_PATH, tree, p->dest);
	it->is_dir = it->root_dir = true;
	return add_tree_items(p, tree, p->dest, err);
}

/*
 * Where a copy to 'dest' (absolute, cleaned) writes in the image below, as the kernel would
 * write through its links: a directory reached through links is written into where they lead
 * (the links stay), and a dangling link's target is created. *dest is replaced by that path,
 * except for a last component that is not a directory, which the copy replaces; *is_dir says
 * whether the image has a directory there.
 */
static int dest_resolve(struct stage_run *r, char **dest, bool *is_dir, struct st_error **err)
{
	char **lowers = NULL;
	size_t nl = 0;
	if (builder_stage_lowers(r, &r->st, &lowers, &nl, err) < 0)
		return -1;
	struct st_union_entry e, pe = { 0 };
	int found = st_union_lookup(lowers, nl, *dest, ST_UNION_FOLLOW, &e, err);
	*is_dir = found == 1 && S_ISDIR(e.st.st_mode);
	char *resolved = NULL;
	if (*is_dir || found == 0) {
		/* Missing: a directory there (trailing '/', several sources) goes where the
		 * links lead; a file, too, as its parents are resolved the same way. */
		resolved = st_steal(&e.path);
	} else if (found == 1) {
		st_autofree char *parent = st_xstrdup(*dest);
		char *slash = strrchr(parent, '/');
		slash[slash == parent] = '\0';
		found = st_union_lookup(lowers, nl, parent, ST_UNION_FOLLOW, &pe, err);
		if (found >= 0)
			resolved = st_xasprintf("%s/%s", strcmp(pe.path, "/") ? pe.path : "",
						base_name(*dest));
	}
	st_union_entry_release(&e);
	st_union_entry_release(&pe);
	st_strv_free(lowers, nl);
	if (found < 0)
		return st_err_wrap(err, "destination '%s'", *dest);
	free(*dest);
	*dest = resolved;
	return 0;
}

/* A boolean flag's value: "--x" and "--x=true" are true, "--x=false" false. */
static int flag_bool(const char *name, const char *v, bool *out, struct st_error **err)
{
	if (!v || !strcmp(v, "true") || !*v)
		*out = true;
	else if (!strcmp(v, "false"))
		*out = false;
	else
		return st_err(err, ST_E_INVALID, "invalid --%s=%s: expected true or false", name,
			      v);
	return 0;
}

/*
 * The plan of a COPY or ADD and its key inputs. 'for_key': the plan is only sure to be
 * right for the key, and builder_copy_exec() makes it again if it was not (p->unresolved).
 */
static int plan_make(struct stage_run *r, const struct st_dockerfile_instr *in, bool for_key,
		     struct key_inputs *k, struct copy_plan **out, struct st_error **err)
{
	struct copy_plan *p = st_xcalloc(1, sizeof(*p));
	p->from_lock = -1;
	p->fetch_lock = -1;
	p->unpack = -1;
	p->keep_git_dir = -1;
	p->in = in;
	p->add = in->kind == ST_DF_ADD;
	*out = p;
	const char *verb = p->add ? "ADD" : "COPY";

	const char **envkv = NULL;
	struct st_dockerfile_env env;
	builder_stage_env(r, &env, &envkv);
	char **w = NULL;
	size_t nw = 0;
	char escape = builder_stage_escape(r);
	int rc = st_dockerfile_instr_expand(in, &env, escape, &w, &nw, err);
	st_autofree char *from = NULL;
	st_autofree char *checksum = NULL;
	struct st_dockerignore *excl = NULL;
	bool parents = p->parents = st_dockerfile_instr_flag_bool(in, "parents");
	struct st_buf canon = ST_BUF_INIT;
	st_buf_addf(&canon, "%s%s", p->add ? "add" : "copy", in->json ? " json" : "");
	for (size_t i = 0; rc == 0 && i < in->nflags; i++) {
		const struct st_dockerfile_flag *f = &in->flags[i];
		char *v = NULL;
		if (f->value && st_dockerfile_flag_expand(f, &env, escape, &v, err) < 0) {
			rc = -1;
			break;
		}
		st_buf_addf(&canon, " --%s=%s", f->name, v ? v : "");
		if (!strcmp(f->name, "from")) {
			free(from);
			from = v;
			continue;
		} else if (!strcmp(f->name, "chown")) {
			free(p->chown);
			p->chown = v;
			continue;
		} else if (!strcmp(f->name, "chmod")) {
			free(p->chmod);
			p->chmod = v;
			continue;
		} else if (p->add && !strcmp(f->name, "checksum")) {
			free(checksum);
			checksum = v;
			continue;
		} else if (!strcmp(f->name, "exclude")) {
			if (!excl)
				excl = st_dockerignore_new();
			rc = st_dockerignore_add_pattern(excl, v ? v : "", err);
		} else if (!strcmp(f->name, "link")) {
			rc = flag_bool(f->name, v, &p->link, err);
		} else if (p->add && !strcmp(f->name, "unpack")) {
			bool u = false;
			rc = flag_bool(f->name, v, &u, err);
			p->unpack = u;
		} else if (p->add && !strcmp(f->name, "keep-git-dir")) {
			/* Only a git source has a .git to keep: others ignore it. */
			bool keep = false;
			rc = flag_bool(f->name, v, &keep, err);
			p->keep_git_dir = keep;
		} else if (!strcmp(f->name, "parents")) {
			bool ignored; /* read above */
			rc = flag_bool(f->name, v, &ignored, err);
		} else {
			rc = st_err(err, ST_E_INVALID, "%s: unknown flag --%s", verb, f->name);
		}
		free(v);
	}
	if (rc == 0 && p->chmod) {
		char *end;
		unsigned long m = strtoul(p->chmod, &end, 8);
		p->has_chmod = true;
		if (*p->chmod && !*end && m <= 07777) {
			p->mode = (mode_t)m;
		} else {
			mode_t unused;
			p->chmod_symbolic = true;
			if (chmod_symbolic(p->chmod, 0, false, &unused) < 0)
				rc =
				    st_err(err, ST_E_INVALID,
					   "invalid --chmod=%s: expected an octal mode (0755) or a "
					   "symbolic one (u=rwx,go=rx)",
					   p->chmod);
		}
	}
	/* A git source's --checksum is a commit, checked when its ref is resolved. */
	bool git = false;
	for (size_t i = 0; i + 1 < nw; i++)
		git = git || builder_git_is_url(w[i]);
	if (rc == 0 && checksum && git) {
		if (strlen(checksum) < 4 || checksum[strspn(checksum, "0123456789abcdef")])
			rc =
			    st_err(err, ST_E_INVALID,
				   "invalid --checksum=%s: a git source's checksum is a commit sha "
				   "(or a prefix of at least 4 hexadecimal digits)",
				   checksum);
	} else if (rc == 0 && checksum) {
		if (strncmp(checksum, "sha256:", 7) != 0)
			rc = st_err(
			    err, ST_E_INVALID,
			    "invalid --checksum=%s: only sha256:<hex> checksums are supported",
			    checksum);
		else if (st_digest_parse(checksum, &p->checksum, err) < 0)
			rc = st_err_wrap(err, "invalid --checksum");
		p->has_checksum = rc == 0;
	}
	if (rc == 0 && nw < 2)
		rc = st_err(err, ST_E_INVALID, "%s requires at least two arguments", verb);
	/* Declared before the first jump to 'out': a goto may not skip a cleanup variable. */
	st_autofree char *dest = NULL;
	st_autofree char **srcs = NULL;
	st_autofree char **urls = NULL;
	if (rc < 0)
		goto out;

	/* Destination. */
	const char *wd = r->st.cfg->config.working_dir && *r->st.cfg->config.working_dir
			     ? r->st.cfg->config.working_dir
			     : "/";
	const char *dw = w[nw - 1];
	size_t dl = strlen(dw);
	bool trailing = dl && (dw[dl - 1] == '/' || (dl >= 2 && !strcmp(dw + dl - 2, "/.")) ||
			       !strcmp(dw, "."));
	dest = dw[0] == '/' ? builder_path_clean(dw) : ({
		st_autofree char *j = st_xasprintf("%s/%s", wd, dw);
		builder_path_clean(j);
	});
	/*
	 * --link reads nothing of the image it lands on: whether the destination is a directory
	 * there cannot matter (BuildKit copies onto scratch, then merges). Nor does it matter to
	 * the key of a copy from the context, which the parent's key and the sources decide:
	 * resolving it reads the image's files (unpacking every layer below), which a step that
	 * hits never needs. A copy from a stage or a URL names its destination in its key.
	 */
	bool dest_exists_dir = false;
	bool remote = from || git;
	for (size_t i = 0; i + 1 < nw; i++)
		remote = remote || builder_fetch_is_url(w[i]);
	p->unresolved = for_key && !p->link && !remote;
	if (!p->link && !p->unresolved) {
		rc = dest_resolve(r, &dest, &dest_exists_dir, err);
		if (rc < 0)
			goto out;
	}
	size_t nsrc = nw - 1;
	bool dest_is_dir = trailing || nsrc > 1 || dest_exists_dir || git ||
			   (has_glob(w[0]) && !builder_fetch_is_url(w[0])) || parents;

	/* Heredocs ("COPY <<EOF /file") are files of their own; URLs are fetched. */
	srcs = st_xcalloc(nsrc + 1, sizeof(*srcs));
	urls = st_xcalloc(nsrc + 1, sizeof(*urls));
	size_t ns = 0, nu = 0;
	const char *git_src = NULL;
	for (size_t i = 0; rc == 0 && i < nsrc; i++) {
		const struct st_dockerfile_heredoc *h = NULL;
		if (!strncmp(w[i], "<<", 2)) {
			const char *nm = w[i] + 2 + (w[i][2] == '-');
			size_t nl = strlen(nm);
			bool quoted =
			    nl >= 2 && (nm[0] == '"' || nm[0] == '\'') && nm[nl - 1] == nm[0];
			for (size_t j = 0; j < in->nheredocs; j++) {
				const char *hn = in->heredocs[j].name;
				if (!strcmp(hn, nm) || (quoted && strlen(hn) == nl - 2 &&
							!strncmp(hn, nm + 1, nl - 2)))
					h = &in->heredocs[j];
			}
		}
		if (h) {
			/* An unquoted delimiter: the body is expanded with the stage's ENV and
			 * ARGs. */
			char *bodytext = NULL;
			rc = st_dockerfile_heredoc_body(h, &env, builder_stage_escape(r), &bodytext,
							err);
			if (rc < 0) {
				st_err_wrap(err, "%s <<%s", verb, h->name);
				break;
			}
			st_autofree char *t =
			    dest_is_dir ? st_xasprintf("%s/%s", dest, h->name) : st_xstrdup(dest);
			struct copy_item *it = add_item(p, ITEM_DATA, NULL, t);
			it->len = strlen(bodytext);
			it->data = bodytext;
			struct st_digest d;
			st_digest_of(it->data, it->len, &d);
			st_buf_addf(&k->files, "%s:heredoc %s\n", st_digest_hex(&d), h->name);
		} else if (builder_git_is_url(w[i])) {
			if (!p->add || from)
				rc = st_err(err, ST_E_INVALID,
					    "%s %s: a git repository can only be a source of ADD",
					    p->add ? "ADD --from" : "COPY", w[i]);
			else if (nsrc != 1)
				rc = st_err(err, ST_E_INVALID,
					    "ADD %s: a git repository must be the only source",
					    w[i]);
			git_src = w[i];
		} else if (builder_fetch_is_url(w[i])) {
			if (!p->add || from)
				rc = st_err(err, ST_E_INVALID,
					    "%s %s: a URL can only be a source of ADD",
					    p->add ? "ADD --from" : "COPY", w[i]);
			urls[nu++] = w[i];
		} else {
			srcs[ns++] = w[i];
		}
	}
	if (rc == 0 && p->has_checksum && !git && (ns || nu != 1))
		rc = st_err(
		    err, ST_E_INVALID,
		    "ADD --checksum: the only source must be a URL (a local source has nothing to "
		    "verify)");
	if (rc < 0)
		goto out;
	p->dest_dir = dest_is_dir ? st_xstrdup(dest) : ({
		st_autofree char *d = st_xstrdup(dest);
		char *s = strrchr(d, '/');
		if (s == d)
			s[1] = '\0';
		else
			*s = '\0';
		st_xstrdup(d);
	});
	p->dest = st_xstrdup(dest);
	p->dest_is_dir = dest_is_dir;

	for (size_t i = 0; rc == 0 && i < nu; i++)
		rc = url_source(r, p, urls[i], dest, dest_is_dir, k, err);
	if (rc == 0 && git_src)
		rc = git_source(r, p, git_src, checksum, k, err);

	if (rc == 0 && from) {
		/* A stage by name or index, a named context, else an image in the store. A stage
		 * or context is keyed by the content copied from it (from_content_sum()), an
		 * image by its id (its config digest covers its layers' diff_ids). The line names
		 * the sources and where they come from, for the explanation when that changes. */
		struct st_buf what = ST_BUF_INIT;
		for (size_t i = 0; i < ns; i++)
			st_buf_addf(&what, "%s%s", i ? ", " : "", srcs[i]);
		size_t idx;
		int named = 0;
		if (builder_stage_lookup(r, from, &idx)) {
			p->from_state = builder_stage_state(r, idx);
			if (!p->from_state)
				rc = st_err(err, ST_E_INVALID, "stage '%s' failed", from);
		} else if ((named = builder_named_state(r, from, &p->from_state, err)) != 0) {
			/* A named context: keyed by its content, as a stage is. */
			if (named < 0)
				rc = st_err_wrap(err, "--from=%s", from);
		} else {
			struct st_store_image *img = NULL;
			rc = builder_image_find(r, from, &img, err);
			if (rc == 0) {
				p->own_from.cfg = st_image_config_new();
				for (size_t i = 0; i < img->n_layers; i++)
					builder_state_add_layer(&p->own_from, &img->layers[i]);
				st_buf_addf(&k->files, "%s:image %s from image %s\n",
					    st_digest_hex(&img->id), what.data, from);
				st_store_image_free(img);
				p->from_state = &p->own_from;
			} else {
				st_err_wrap(err, "--from=%s", from);
			}
		}
		p->srcs = st_xcalloc(ns + 1, sizeof(*p->srcs));
		for (size_t i = 0; i < ns; i++)
			p->srcs[i] = st_xstrdup(srcs[i]);
		p->nsrcs = ns;
		char sum[ST_DIGEST_HEX_LEN + 1];
		if (rc == 0 && p->from_state != &p->own_from &&
		    (rc = from_content_sum(r, p, sum, err)) == 0)
			st_buf_addf(&k->files, "%s:stage %s from %s %s\n", sum, what.data,
				    named ? "build context" : "stage", from);
		st_buf_release(&what);
	}
	if (rc == 0 && !from && ns) {
		struct build_context *c = builder_ctx(r, err);
		if (!c)
			rc = -1;
		else
			rc = context_sources(r, p, c, srcs, ns, dest, dest_is_dir, parents, excl, k,
					     err);
	}
	if (rc < 0)
		goto out;

	st_buf_add(&k->instr_own, canon.data, canon.len);
	for (size_t i = 0; i < nw; i++)
		st_buf_addf(&k->instr_own, "\x1f%s", w[i]);
	k->instr = k->instr_own.data;
	{
		struct st_digest d;
		st_digest_of(k->files.data ? k->files.data : "", k->files.len, &d);
		memcpy(k->files_sum, st_digest_hex(&d), sizeof(k->files_sum));
	}
	if (p->link) {
		/* What a --link layer is made of, without the parent chain: see builder_copy_exec.
		 */
		struct st_buf lk = ST_BUF_INIT;
		st_buf_addf(&lk, "strata-link-v1\n%s\n%s\n%s%s\n", k->instr, k->files_sum, dest,
			    dest_is_dir ? "/" : "");
		struct st_digest d;
		st_digest_of(lk.data, lk.len, &d);
		memcpy(p->link_base, st_digest_hex(&d), sizeof(p->link_base));
		st_buf_release(&lk);
	}
	struct st_buf cb = ST_BUF_INIT;
	st_buf_adds(&cb, verb);
	for (size_t i = 0; i < nw; i++)
		st_buf_addf(&cb, " %s", w[i]);
	p->created_by = st_buf_detach(&cb, NULL);
out:
	st_dockerignore_free(excl);
	st_buf_release(&canon);
	if (w)
		st_dockerfile_strv_free(w);
	free(envkv);
	return rc;
}

int builder_copy_prepare(struct stage_run *r, const struct st_dockerfile_instr *in,
			 struct key_inputs *k, struct copy_plan **out, struct st_error **err)
{
	return plan_make(r, in, true, k, out, err);
}

/* A plan made for the key only, made again now that the step runs (the context's checksums
 * are known by now: nothing is read twice). */
static int plan_resolve(struct stage_run *r, struct copy_plan *p, struct st_error **err)
{
	struct key_inputs k;
	builder_key_inputs_init(&k);
	struct copy_plan *full = NULL;
	int rc = plan_make(r, p->in, false, &k, &full, err);
	builder_key_inputs_release(&k);
	if (rc == 0) {
		struct copy_plan t = *p;
		*p = *full;
		*full = t;
	}
	builder_copy_plan_free(full);
	return rc;
}

/*
 * Resolve --chown against the image's /etc/passwd and /etc/group, which may sit in different
 * layers: both are gathered into a small directory the resolver can read as a rootfs.
 */
static int resolve_chown(struct stage_run *r, const char *spec, char *const *lowers, size_t nl,
			 uid_t *uid, gid_t *gid, struct st_error **err)
{
	char *end;
	const char *colon = strchr(spec, ':');
	unsigned long u = strtoul(spec, &end, 10);
	if (end != spec && (end == colon || !*end)) {
		if (!colon) {
			*uid = (uid_t)u;
			*gid = (gid_t)u;
			return 0;
		}
		unsigned long g = strtoul(colon + 1, &end, 10);
		if (end != colon + 1 && !*end) {
			*uid = (uid_t)u;
			*gid = (gid_t)g;
			return 0;
		}
	}
	st_autofree char *tmp = NULL;
	st_autoclose int lock = -1;
	if (st_store_tmp_mkdir(r->s, &tmp, &lock, err) < 0)
		return -1;
	st_autofree char *etc = st_path_join(tmp, "etc");
	int rc = st_mkdir_p(etc, 0755, err);
	static const char *const files[] = { "/etc/passwd", "/etc/group" };
	for (size_t i = 0; rc == 0 && i < 2; i++) {
		st_autofree char *src = builder_lower_find(lowers, nl, files[i], ST_UNION_FOLLOW);
		if (!src)
			continue;
		struct st_buf b = ST_BUF_INIT;
		struct st_error *e = NULL;
		if (st_read_file(src, &b, &e) == 0) {
			st_autofree char *dst = st_xasprintf("%s%s", tmp, files[i]);
			rc =
			    st_write_file_atomic(dst, NULL, b.data ? b.data : "", b.len, 0644, err);
		}
		st_error_free(e);
		st_buf_release(&b);
	}
	gid_t *gids = NULL;
	size_t ng = 0;
	if (rc == 0)
		rc = st_runtime_resolve_user(tmp, spec, uid, gid, &gids, &ng, err);
	free(gids);
	struct st_error *e = NULL;
	if (st_rm_rf(tmp, &e) < 0)
		st_error_free(e);
	if (rc < 0)
		return st_err_wrap(err, "--chown=%s", spec);
	return 0;
}

/* Add the directories of 'dir' (absolute) from the root down, as the image has them. */
static int add_parents(struct st_layer_writer *lw, const char *dir, char *const *lowers, size_t nl,
		       const struct st_layer_attr *created, struct st_error **err)
{
	st_autofree char *d = st_xstrdup(dir);
	for (char *p = d + 1; *p || p[-1]; p++) {
		if (*p != '/' && *p)
			continue;
		char save = *p;
		*p = '\0';
		if (strlen(d) > 1) {
			st_autofree char *lp = builder_lower_find(lowers, nl, d, 0);
			struct stat st;
			int rc;
			if (lp && lstat(lp, &st) == 0 && S_ISDIR(st.st_mode))
				rc = st_layer_writer_add_path(lw, lp, d, NULL, err);
			else
				rc = st_layer_writer_add_dir(lw, d, created, err);
			if (rc < 0)
				return -1;
		}
		*p = save;
		if (!save)
			break;
	}
	return 0;
}

static int add_archive(struct stage_run *r, struct st_layer_writer *lw, const char *host,
		       const char *dest, struct st_error **err)
{
	st_autofree char *tmp = NULL;
	st_autoclose int lock = -1;
	if (st_store_tmp_mkdir(r->s, &tmp, &lock, err) < 0)
		return -1;
	st_autoclose int fd = open(host, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	if (fd < 0)
		rc = st_err_errno(err, "open '%s'", host);
	struct st_layer_extract_opts eo = { .mode = ST_LAYER_EXTRACT_APPLY };
	if (rc == 0)
		rc = st_layer_extract(st_layer_source_fd(&fd), tmp, &eo, NULL, err);
	if (rc == 0) {
		/* The archive's contents, not the temporary directory itself. */
		DIR *d = opendir(tmp);
		char **names = NULL;
		size_t n = 0;
		rc =
		    d ? st_dir_names(d, tmp, &names, &n, err) : st_err_errno(err, "open '%s'", tmp);
		if (d)
			closedir(d);
		for (size_t i = 0; rc == 0 && i < n; i++) {
			st_autofree char *h = st_path_join(tmp, names[i]);
			st_autofree char *t = strcmp(dest, "/")
						  ? st_xasprintf("%s/%s", dest, names[i])
						  : st_xasprintf("/%s", names[i]);
			struct stat st;
			if (lstat(h, &st) == 0 && S_ISDIR(st.st_mode))
				rc = st_layer_writer_add_tree(lw, h, t + 1, 0, err);
			else
				rc = st_layer_writer_add_path(lw, h, t + 1, NULL, err);
		}
		st_strv_free(names, n);
	}
	struct st_error *e = NULL;
	if (st_rm_rf(tmp, &e) < 0)
		st_error_free(e);
	if (rc < 0)
		return st_err_wrap(err, "ADD: unpack '%s'", host);
	return 0;
}

/*
 * --link. BuildKit copies a linked COPY onto an empty tree and merges the result onto the
 * image, so the layer depends only on what the instruction reads, and a change below it does
 * not rebuild it. Here every step's cache record holds the whole image config (history,
 * diff_ids), so it stays keyed by the parent chain; what is keyed apart is the layer: the
 * "link key" covers the instruction after expansion, the checksum of its sources, the resolved
 * destination and the owner --chown resolves to (the only thing read from the image below,
 * through its /etc/passwd and /etc/group). When the step misses because something below
 * changed, a layer recorded under the same link key is reused as it is: nothing is copied or
 * compressed again, and the layer (its digest) is the same in both images.
 * Parent directories of the destination are written with default attributes (0755, owned by
 * root or the --chown owner), never taken from the image below.
 */
#define KV_NS_LINK "build.link"

static void link_key(const struct copy_plan *p, const struct st_layer_attr *owner,
		     char out[ST_DIGEST_HEX_LEN + 1])
{
	st_autofree char *text = st_xasprintf("%s\n%s%u:%u\n", p->link_base,
					      (owner->set & ST_LAYER_ATTR_UID) ? "chown " : "",
					      (unsigned)owner->uid, (unsigned)owner->gid);
	struct st_digest d;
	st_digest_of(text, strlen(text), &d);
	memcpy(out, st_digest_hex(&d), ST_DIGEST_HEX_LEN + 1);
}

/* 1 and *layer filled if a layer was recorded under 'key' and is still in the store. */
static int link_reuse(struct stage_run *r, const char *key, struct st_store_layer *layer,
		      struct st_error **err)
{
	st_autofree char *digest = NULL;
	struct st_error *e = NULL;
	if (st_store_kv_get(r->s, KV_NS_LINK, key, &digest, &e) < 0) {
		if (e->kind != ST_E_NOTFOUND) {
			*err = e;
			return -1;
		}
		st_error_free(e);
		return 0;
	}
	/* Leased before it is checked: gc may not take it between here and the cache record. */
	if (r->lease && st_store_lease_add(r->lease, digest, err) < 0)
		return -1;
	return st_local_layer_find(r->s, digest, layer, err);
}

/* A regular file's (dev, inode) seen earlier in this copy, and the entry it became. */
struct link_seen {
	dev_t dev;
	ino_t ino;
	char *name;
};

int builder_copy_exec(struct stage_run *r, struct copy_plan *p, struct st_store_layer *layer,
		      bool *has_layer, char **created_by, struct st_error **err)
{
	*has_layer = false;
	int rc = 0;
	if (p->unresolved && plan_resolve(r, p, err) < 0)
		return -1;
	if (p->from_state && !p->from_listed && from_list(r, p, err) < 0)
		return -1;
	char **lowers = NULL;
	size_t nl = 0;
	if (builder_stage_lowers(r, &r->st, &lowers, &nl, err) < 0)
		return -1;
	/* What the layer may read of the image below: nothing with --link. */
	size_t nread = p->link ? 0 : nl;
	struct st_layer_attr attr = { 0 };
	if (!p->from_state) {
		/* Files from the context belong to root unless --chown says otherwise. */
		attr.set = ST_LAYER_ATTR_UID | ST_LAYER_ATTR_GID;
	}
	if (p->chown) {
		rc = resolve_chown(r, p->chown, lowers, nl, &attr.uid, &attr.gid, err);
		attr.set |= ST_LAYER_ATTR_UID | ST_LAYER_ATTR_GID;
	}
	struct st_layer_attr dattr = attr; /* created parents: owner of the copy, mode 0755 */
	if (p->has_chmod && !p->chmod_symbolic) {
		attr.set |= ST_LAYER_ATTR_MODE;
		attr.mode = p->mode;
	}
	char lkey[ST_DIGEST_HEX_LEN + 1] = "";
	if (rc == 0 && p->link) {
		link_key(p, &dattr, lkey);
		/* --no-cache means every layer is written again, linked or not. */
		rc = r->no_cache ? 0 : link_reuse(r, lkey, layer, err);
		if (rc == 1) {
			st_autofree char *msg =
			    st_xasprintf("reusing the --link layer %s\n", layer->digest.str);
			builder_stage_event(r, ST_BUILDER_EVENT_OUTPUT, msg, strlen(msg), 0);
			*has_layer = true;
			*created_by = st_xstrdup(p->created_by);
			st_strv_free(lowers, nl);
			return 0;
		}
	}
	/* URLs with --checksum are fetched only now that the step runs. */
	for (size_t i = 0; rc == 0 && i < p->n; i++)
		if (p->items[i].kind == ITEM_URL && !p->items[i].host)
			rc = url_fetch(r, p, &p->items[i], err);
	if (rc == 0 && p->has_git)
		rc = git_fetch(r, p, err);
	struct st_layer_writer_opts lo;
	builder_layer_opts(r, &lo);
	st_auto(st_local_layer_writer) struct st_local_layer_writer *w = NULL;
	if (rc == 0)
		rc = st_local_layer_writer_new(r->s, r->lease, &lo, &w, err);
	struct st_layer_writer *lw = rc == 0 ? st_local_layer_writer_layer(w) : NULL;
	if (rc == 0)
		rc = add_parents(lw, p->dest_dir, lowers, nread, &dattr, err);
	struct link_seen *seen = NULL;
	size_t nseen = 0;
	for (size_t i = 0; rc == 0 && i < p->n; i++) {
		struct copy_item *it = &p->items[i];
		const char *name = it->dest + 1;
		struct st_layer_attr a = attr;
		if (it->kind == ITEM_DATA) {
			if (!(a.set & ST_LAYER_ATTR_MODE)) {
				a.set |= ST_LAYER_ATTR_MODE;
				a.mode = p->chmod_symbolic ? chmod_for(p, 0644, false) : 0644;
			}
			rc = st_layer_writer_add_data(lw, name, it->data, it->len, &a, err);
			continue;
		}
		if (it->kind == ITEM_URL) {
			if (p->unpack == 1 && is_archive(it->host)) {
				rc = add_archive(r, lw, it->host, p->dest_dir, err);
				continue;
			}
			/* Docker writes a downloaded file 0600 unless --chmod says otherwise. */
			if (!(a.set & ST_LAYER_ATTR_MODE)) {
				a.set |= ST_LAYER_ATTR_MODE;
				a.mode = p->chmod_symbolic ? chmod_for(p, 0600, false) : 0600;
			}
			a.set |= ST_LAYER_ATTR_UID | ST_LAYER_ATTR_GID;
			if (it->mtime >= 0) {
				a.set |= ST_LAYER_ATTR_MTIME;
				a.mtime = it->mtime;
			}
			rc = st_layer_writer_add_path(lw, it->host, name, &a, err);
			continue;
		}
		if (it->root_dir) {
			/* The destination dir: the image's own if it has one (written with the
			 * parents when it is the copy's destination), else the source dir's. */
			if (!*name || !strcmp(it->dest, p->dest_dir))
				continue;
			struct stat st;
			if (builder_lower_lstat(lowers, nread, it->dest, &st) &&
			    S_ISDIR(st.st_mode)) {
				st_autofree char *lp =
				    builder_lower_find(lowers, nread, it->dest, 0);
				rc = st_layer_writer_add_path(lw, lp, name, NULL, err);
				continue;
			}
		}
		if (p->add && !it->is_dir && !p->from_state && !p->has_git && p->unpack != 0 &&
		    is_archive(it->host)) {
			const char *into = p->dest_is_dir || it->dest[0] ? p->dest_dir : "/";
			rc = add_archive(r, lw, it->host, into, err);
			continue;
		}
		struct stat st;
		if (lstat(it->host, &st) < 0) {
			rc = st_err_errno(err, "stat '%s'", it->host);
			break;
		}
		if (p->chmod_symbolic && !S_ISLNK(st.st_mode)) {
			a.set |= ST_LAYER_ATTR_MODE;
			a.mode = chmod_for(p, st.st_mode, S_ISDIR(st.st_mode));
		}
		/* Hardlinks among the sources stay hardlinks, as in BuildKit's copy. */
		if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
			size_t j = 0;
			while (j < nseen && (seen[j].dev != st.st_dev || seen[j].ino != st.st_ino))
				j++;
			if (j < nseen && strcmp(seen[j].name, name) != 0) {
				rc = st_layer_writer_add_hardlink(lw, name, seen[j].name, err);
				continue;
			}
			if (j == nseen) {
				seen = st_xrealloc(seen, (nseen + 1) * sizeof(*seen));
				seen[nseen++] =
				    (struct link_seen){ st.st_dev, st.st_ino, st_xstrdup(name) };
			}
		}
		rc = st_layer_writer_add_path(lw, it->host, name, &a, err);
	}
	for (size_t i = 0; i < nseen; i++)
		free(seen[i].name);
	free(seen);
	if (rc == 0) {
		rc = st_local_layer_writer_commit(w, layer, err);
		*has_layer = rc == 0;
	}
	if (rc == 0 && p->link) {
		/* A lost record only costs a rewrite next time. */
		struct st_error *e = NULL;
		if (st_store_kv_put(r->s, KV_NS_LINK, lkey, layer->digest.str, &e) < 0)
			st_error_free(e);
	}
	if (rc == 0)
		*created_by = st_xstrdup(p->created_by);
	st_strv_free(lowers, nl);
	return rc;
}

int builder_mkdir_layer(struct stage_run *r, const char *path, struct st_store_layer *layer,
			bool *has_layer, struct st_error **err)
{
	*has_layer = false;
	char **lowers = NULL;
	size_t nl = 0;
	if (builder_stage_lowers(r, &r->st, &lowers, &nl, err) < 0)
		return -1;
	/* Through links as mkdir -p would go: a WORKDIR that is or lies below a link keeps the
	 * link, and a dangling link's target is created. */
	struct st_union_entry e;
	int rc = st_union_lookup(lowers, nl, path, ST_UNION_FOLLOW, &e, err);
	if (rc == 1 && !S_ISDIR(e.st.st_mode))
		rc = st_err(err, ST_E_INVALID, "'%s' is not a directory", e.path);
	if (rc == 0) {
		struct st_layer_writer_opts lo;
		builder_layer_opts(r, &lo);
		st_auto(st_local_layer_writer) struct st_local_layer_writer *w = NULL;
		rc = st_local_layer_writer_new(r->s, r->lease, &lo, &w, err);
		if (rc == 0)
			rc = add_parents(st_local_layer_writer_layer(w), e.path, lowers, nl, NULL,
					 err);
		if (rc == 0)
			rc = st_local_layer_writer_commit(w, layer, err);
		*has_layer = rc == 0;
	}
	st_union_entry_release(&e);
	st_strv_free(lowers, nl);
	return rc < 0 ? -1 : 0;
}
