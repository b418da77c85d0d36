/*
 * context.c: the build context as a list of files with content checksums.
 *
 * A rebuild must not read an unchanged context again: the checksums are kept in the store's kv
 * table, one record per context directory, each line holding a file's stat identity (inode,
 * size, mtime, ctime) and its sha256. A file whose stat data matches is trusted; anything else
 * is read once, when a COPY or ADD first selects it. One record rather than one row per file,
 * because loading 20,000 rows one query at a time costs more than the whole rebuild should.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "build/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void index_rebuild(struct build_context *c)
{
	free(c->slots);
	c->nslots = 64;
	while (c->nslots < c->n * 2 + 1)
		c->nslots *= 2;
	c->slots = st_xcalloc(c->nslots, sizeof(*c->slots));
	for (size_t i = 0; i < c->n; i++) {
		size_t j = hash_str(c->files[i].rel) & (c->nslots - 1);
		while (c->slots[j])
			j = (j + 1) & (c->nslots - 1);
		c->slots[j] = i + 1;
	}
}

struct ctx_file *ctx_lookup(struct build_context *c, const char *rel)
{
	if (!c->slots)
		return NULL;
	size_t j = hash_str(rel) & (c->nslots - 1);
	while (c->slots[j]) {
		struct ctx_file *f = &c->files[c->slots[j] - 1];
		if (!strcmp(f->rel, rel))
			return f;
		j = (j + 1) & (c->nslots - 1);
	}
	return NULL;
}

static int walk_cb(void *ctx, const char *rel, const struct stat *st)
{
	struct build_context *c = ctx;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->files = st_xrealloc(c->files, c->cap * sizeof(*c->files));
	}
	c->files[c->n++] = (struct ctx_file){ .rel = st_xstrdup(rel), .st = *st };
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The context walk of dockerignore.h, with the same rules, but relative to directory
 * descriptors: a 20,000-file context costs one short lookup per entry instead of a walk of
 * the whole path, which is most of a no-change rebuild.
 */
static int walk_fd(struct build_context *c, const struct st_dockerignore *m, int dfd,
		   const char *rel, struct st_error **err)
{
	int fd2 = dup(dfd);
	DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
	if (!d) {
		if (fd2 >= 0)
			close(fd2);
		return st_err_errno(err, "open directory '%s/%s'", c->root, rel);
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = st_xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = st_xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		st_autofree char *r = *rel ? st_xasprintf("%s/%s", rel, names[i]) : st_xstrdup(names[i]);
		struct stat st;
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = st_err_errno(err, "stat '%s/%s'", c->root, r);
			break;
		}
		bool excluded = st_dockerignore_matches(m, r);
		if (S_ISDIR(st.st_mode)) {
			if (excluded && !st_dockerignore_may_include_under(m, r))
				continue;
			if (!excluded)
				walk_cb(c, r, &st);
			int sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				rc = st_err_errno(err, "open directory '%s/%s'", c->root, r);
				break;
			}
			rc = walk_fd(c, m, sub, r, err);
			close(sub);
		} else if (!excluded) {
			walk_cb(c, r, &st);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size && a->st_mode == b->st_mode &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Take the remembered digests of files whose stat identity did not change. */
static void apply_remembered(struct build_context *c, const char *text)
{
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		/* strtoull, not sscanf: glibc's sscanf measures the whole remaining text on every
		 * call, which makes reading 20,000 lines quadratic. */
		char *e;
		unsigned long long ino = strtoull(p, &e, 10);
		unsigned long long size = strtoull(e, &e, 10);
		unsigned long long mode = strtoull(e, &e, 8);
		long long ms = strtoll(e, &e, 10);
		long long mn = *e == '.' ? strtoll(e + 1, &e, 10) : -1;
		long long cs = strtoll(e, &e, 10);
		long long cn = *e == '.' ? strtoll(e + 1, &e, 10) : -1;
		if (*e == ' ' && nl - (e + 1) > ST_DIGEST_HEX_LEN + 1 && e[1 + ST_DIGEST_HEX_LEN] == ' ' &&
		    mn >= 0 && cn >= 0) {
			char hex[ST_DIGEST_HEX_LEN + 1];
			memcpy(hex, e + 1, ST_DIGEST_HEX_LEN);
			hex[ST_DIGEST_HEX_LEN] = '\0';
			const char *relp = e + 2 + ST_DIGEST_HEX_LEN;
			st_autofree char *rel = st_xstrndup(relp, (size_t)(nl - relp));
			struct ctx_file *f = ctx_lookup(c, rel);
			struct stat want = { 0 };
			want.st_ino = ino;
			want.st_size = (off_t)size;
			want.st_mode = (mode_t)mode;
			want.st_mtim.tv_sec = ms;
			want.st_mtim.tv_nsec = mn;
			want.st_ctim.tv_sec = cs;
			want.st_ctim.tv_nsec = cn;
			if (f && same_stat(&f->st, &want) &&
			    st_digest_from_hex(hex, &f->digest, NULL) == 0)
				f->hashed = true;
		}
		p = nl + 1;
	}
}

int ctx_open(struct st_store *s, const char *root, const struct st_dockerignore *ign,
	     bool remember, struct build_context *c, struct st_error **err)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->root = realpath(root, NULL);
	if (!c->root)
		return st_err_errno(err, "build context '%s'", root);
	struct stat st;
	if (stat(c->root, &st) < 0 || !S_ISDIR(st.st_mode))
		return st_err(err, ST_E_INVALID, "build context '%s' is not a directory", root);
	st_autoclose int dfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return st_err_errno(err, "open build context '%s'", root);
	if (walk_fd(c, ign, dfd, "", err) != 0)
		return st_err_wrap(err, "read build context '%s'", root);
	index_rebuild(c);
	if (!remember)
		return 0;
	c->cache_key = st_xstrdup(c->root);
	st_autofree char *text = NULL;
	struct st_error *kerr = NULL;
	if (st_store_kv_get(s, KV_NS_CTX, c->cache_key, &text, &kerr) == 0)
		apply_remembered(c, text);
	st_error_free(kerr); /* nothing remembered: every file is read when selected */
	return 0;
}

int ctx_hash(struct build_context *c, struct ctx_file *f, struct st_error **err)
{
	pthread_mutex_lock(&c->lock);
	bool done = f->hashed;
	pthread_mutex_unlock(&c->lock);
	if (done)
		return 0;
	struct st_digest d;
	st_autofree char *path = st_path_join(c->root, f->rel);
	if (S_ISREG(f->st.st_mode)) {
		if (st_digest_of_file(path, &d, NULL, err) < 0)
			return -1;
	} else if (S_ISLNK(f->st.st_mode)) {
		char target[4096];
		ssize_t n = readlink(path, target, sizeof(target));
		if (n < 0)
			return st_err_errno(err, "readlink '%s'", path);
		st_digest_of(target, (size_t)n, &d);
	} else {
		st_digest_of("", 0, &d);
	}
	pthread_mutex_lock(&c->lock);
	f->digest = d;
	f->hashed = true;
	c->dirty = true;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int ctx_save(struct st_store *s, struct build_context *c, struct st_error **err)
{
	if (!c->cache_key || !c->dirty)
		return 0;
	struct st_buf b = ST_BUF_INIT;
	for (size_t i = 0; i < c->n; i++) {
		const struct ctx_file *f = &c->files[i];
		if (!f->hashed || S_ISDIR(f->st.st_mode))
			continue;
		st_buf_addf(&b, "%llu %llu %llo %lld.%ld %lld.%ld %s %s\n",
			    (unsigned long long)f->st.st_ino, (unsigned long long)f->st.st_size,
			    (unsigned long long)f->st.st_mode, (long long)f->st.st_mtim.tv_sec,
			    f->st.st_mtim.tv_nsec, (long long)f->st.st_ctim.tv_sec,
			    f->st.st_ctim.tv_nsec, st_digest_hex(&f->digest), f->rel);
	}
	int rc = st_store_kv_put(s, KV_NS_CTX, c->cache_key, st_buf_str(&b), err);
	st_buf_release(&b);
	if (rc == 0)
		c->dirty = false;
	return rc;
}

void ctx_release(struct build_context *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->files[i].rel);
	free(c->files);
	free(c->slots);
	free(c->root);
	free(c->cache_key);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}
