/*
 * context.c: the build context as a list of files with content checksums.
 *
 * A rebuild must not read an unchanged context again: what the walk learnt is kept in the
 * store's kv table, one record per context directory, each line holding an entry's stat
 * identity (inode, size, mode, mtime, ctime) and, for files, its sha256. A file whose stat
 * data matches is trusted; anything else is read once, when a COPY or ADD first selects it.
 * One record rather than one row per file, because loading 20,000 rows one query at a time
 * costs more than the whole rebuild should.
 *
 * Directories are remembered too: a directory whose stat identity did not change has the
 * same names in it (adding, removing or renaming an entry updates its mtime and ctime), so
 * its listing is taken from the record and only its entries are stat()ed. Reading 18,000
 * directories (open, getdents, close) was half of a no-change rebuild. The listings hold the
 * entries the ignore rules let through, so they are only trusted under the same rules.
 *
 * Timestamps come from a coarse clock: a change made within the same tick as the stat that
 * recorded an entry leaves its times unchanged (git's "racy" entries). So an entry whose
 * ctime is not clearly older than the start of the walk that recorded it is not trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "builder/internal.h"
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

struct ctx_file *builder_ctx_lookup(struct build_context *c, const char *rel)
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

static size_t *order_push(struct build_context *c)
{
	if (c->norder == c->order_cap) {
		c->order_cap = c->order_cap ? c->order_cap * 2 : 512;
		c->order = st_xrealloc(c->order, c->order_cap * sizeof(*c->order));
	}
	return &c->order[c->norder++];
}

/* Append an entry the walk found: to 'files' if the build sends it, else to 'hidden'. */
static struct ctx_file *add_entry(struct build_context *c, char *rel, const struct stat *st,
				  bool hidden)
{
	struct ctx_file **v = hidden ? &c->hidden : &c->files;
	size_t *n = hidden ? &c->nhidden : &c->n, *cap = hidden ? &c->hidden_cap : &c->cap;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		*v = st_xrealloc(*v, *cap * sizeof(**v));
	}
	*order_push(c) = hidden ? *n | CTX_HIDDEN : *n;
	struct ctx_file *f = &(*v)[(*n)++];
	*f = (struct ctx_file){ .rel = rel, .st = *st };
	return f;
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size && a->st_mode == b->st_mode &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * st_digest_from_hex() without its strlen and error message: the record's layout already
 * placed 64 characters here, and this runs once per file of a rebuild.
 */
static bool digest_set(struct st_digest *d, const char *hex)
{
	bool ok = true;
	for (size_t i = 0; i < ST_DIGEST_HEX_LEN; i++)
		ok &= (hex[i] >= '0' && hex[i] <= '9') | (hex[i] >= 'a' && hex[i] <= 'f');
	if (!ok)
		return false;
	memcpy(d->str, "sha256:", 7);
	memcpy(d->str + 7, hex, ST_DIGEST_HEX_LEN);
	d->str[ST_DIGEST_STR_LEN] = '\0';
	return true;
}

/* ---- the remembered record ---- */

#define RECORD_MAGIC "strata-context 2"

struct rem_entry {
	char kind; /* 'd' directory, 'f' anything else */
	const char *rel;
	const char *hex; /* NULL: not hashed */
	struct stat st;
	size_t end; /* 'd': the index after its subtree */
};

struct remembered {
	char *text; /* the record, its lines cut in place */
	struct rem_entry *v;
	size_t n;
	size_t *slots; /* rel -> index + 1, built on first use */
	size_t nslots;
	int64_t walk_ns;
	bool listings; /* made under the same ignore rules: directory listings are usable */
};

static void rem_release(struct remembered *r)
{
	free(r->text);
	free(r->v);
	free(r->slots);
}

static bool under(const char *rel, const char *dir, size_t dlen)
{
	if (!dlen)
		return *rel != '\0';
	return !strncmp(rel, dir, dlen) && rel[dlen] == '/';
}

/* Parse the record (in walk order) and compute where each directory's subtree ends. */
static void rem_parse(struct remembered *r, const char *ignore_id)
{
	char *p = r->text;
	char *nl = strchr(p, '\n');
	if (!nl || strncmp(p, RECORD_MAGIC " ", sizeof(RECORD_MAGIC)) != 0)
		return; /* an older format: every file is read once more, then rewritten */
	*nl = '\0';
	char *e;
	r->walk_ns = strtoll(p + sizeof(RECORD_MAGIC), &e, 10);
	r->listings = *e == ' ' && !strcmp(e + 1, ignore_id);
	p = nl + 1;
	size_t cap = 0, *stack = NULL, depth = 0;
	while ((nl = strchr(p, '\n'))) {
		*nl = '\0';
		/* strtoull, not sscanf: glibc's sscanf measures the whole remaining text on every
		 * call, which makes reading 20,000 lines quadratic. */
		struct rem_entry en = { .kind = *p };
		en.st.st_ino = strtoull(p + 1, &e, 10);
		en.st.st_size = (off_t)strtoull(e, &e, 10);
		en.st.st_mode = (mode_t)strtoul(e, &e, 8);
		en.st.st_mtim.tv_sec = strtoll(e, &e, 10);
		en.st.st_mtim.tv_nsec = *e == '.' ? strtol(e + 1, &e, 10) : -1;
		en.st.st_ctim.tv_sec = strtoll(e, &e, 10);
		en.st.st_ctim.tv_nsec = *e == '.' ? strtol(e + 1, &e, 10) : -1;
		bool ok = (en.kind == 'd' || en.kind == 'f') && *e == ' ' &&
			  en.st.st_mtim.tv_nsec >= 0 && en.st.st_ctim.tv_nsec >= 0;
		if (ok && e[1] == '-' && e[2] == ' ') {
			en.rel = e + 3;
		} else if (ok && strlen(e + 1) > ST_DIGEST_HEX_LEN + 1 &&
			   e[1 + ST_DIGEST_HEX_LEN] == ' ') {
			e[1 + ST_DIGEST_HEX_LEN] = '\0';
			en.hex = e + 1;
			en.rel = e + 2 + ST_DIGEST_HEX_LEN;
		} else {
			break; /* damaged: keep what came before */
		}
		while (depth && !under(en.rel, r->v[stack[depth - 1]].rel,
				       strlen(r->v[stack[depth - 1]].rel)))
			r->v[stack[--depth]].end = r->n;
		if (r->n % 1024 == 0)
			r->v = st_xrealloc(r->v, (r->n + 1024) * sizeof(*r->v));
		r->v[r->n] = en;
		if (en.kind == 'd') {
			if (depth == cap) {
				cap = cap ? cap * 2 : 32;
				stack = st_xrealloc(stack, cap * sizeof(*stack));
			}
			stack[depth++] = r->n;
		}
		r->n++;
		p = nl + 1;
	}
	while (depth)
		r->v[stack[--depth]].end = r->n;
	free(stack);
}

static const struct rem_entry *rem_lookup(struct remembered *r, const char *rel)
{
	if (!r->n)
		return NULL;
	if (!r->slots) {
		r->nslots = 64;
		while (r->nslots < r->n * 2 + 1)
			r->nslots *= 2;
		r->slots = st_xcalloc(r->nslots, sizeof(*r->slots));
		for (size_t i = 0; i < r->n; i++) {
			size_t j = hash_str(r->v[i].rel) & (r->nslots - 1);
			while (r->slots[j])
				j = (j + 1) & (r->nslots - 1);
			r->slots[j] = i + 1;
		}
	}
	size_t j = hash_str(rel) & (r->nslots - 1);
	while (r->slots[j]) {
		const struct rem_entry *en = &r->v[r->slots[j] - 1];
		if (!strcmp(en->rel, rel))
			return en;
		j = (j + 1) & (r->nslots - 1);
	}
	return NULL;
}

/* ---- the walk ---- */

struct walker {
	struct build_context *c;
	const struct st_dockerignore *m;
	struct remembered *rem;
	int rootfd;
	struct stat *pre; /* the remembered entries stat()ed ahead, or NULL */
	int *pre_errno;	  /* 0: pre[i] is valid */
};

/*
 * With every listing trusted, a no-change rebuild is one stat() per entry, spent walking
 * paths in the kernel. The entries are known before the walk, so two threads stat them
 * ahead, each half of the list, and the walk then makes no system call for them.
 */
struct prefetch {
	const struct remembered *rem;
	int rootfd;
	size_t from, to;
	struct stat *pre;
	int *pre_errno;
};

static void *prefetch_range(void *arg)
{
	struct prefetch *p = arg;
	for (size_t i = p->from; i < p->to; i++)
		p->pre_errno[i] = fstatat(p->rootfd, *p->rem->v[i].rel ? p->rem->v[i].rel : ".",
					  &p->pre[i], AT_SYMLINK_NOFOLLOW) < 0
				      ? errno
				      : 0;
	return NULL;
}

/* Below this, a second thread costs more than it saves. */
#define PREFETCH_MIN 4096

static void prefetch(struct walker *w)
{
	const struct remembered *r = w->rem;
	if (!r->listings || r->n < PREFETCH_MIN)
		return;
	w->pre = st_xcalloc(r->n, sizeof(*w->pre));
	w->pre_errno = st_xcalloc(r->n, sizeof(*w->pre_errno));
	struct prefetch half[2];
	for (size_t k = 0; k < 2; k++)
		half[k] = (struct prefetch){ .rem = r,
					     .rootfd = w->rootfd,
					     .from = k * r->n / 2,
					     .to = (k + 1) * r->n / 2,
					     .pre = w->pre,
					     .pre_errno = w->pre_errno };
	pthread_t t;
	bool started = pthread_create(&t, NULL, prefetch_range, &half[1]) == 0;
	prefetch_range(&half[0]);
	if (started)
		pthread_join(t, NULL);
	else
		prefetch_range(&half[1]);
}

/* Whether 'st' matches what was remembered and was recorded clearly after its last change. */
static bool trusted(const struct walker *w, const struct rem_entry *en, const struct stat *st)
{
	if (!en || !same_stat(&en->st, st))
		return false;
	/* A nanosecond ctime is stamped from the kernel's coarse clock (a tick is at most
	 * 10 ms); a whole-second one may come from a filesystem with 1 s (or 2 s) resolution. */
	int64_t margin = st->st_ctim.tv_nsec ? 20000000LL : 2000000000LL;
	int64_t ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
	return ctime_ns < w->rem->walk_ns - margin;
}

static int walk_dir(struct walker *w, const char *rel, const struct stat *dst,
		    const struct rem_entry *rd, struct st_error **err);

enum { VISIT_RETRY = 1 };

/*
 * One entry of a directory, stat()ed relative to 'dfd'. 'hint' is its remembered entry when
 * the directory's listing is trusted: VISIT_RETRY if the disk disagrees with it.
 */
static int visit(struct walker *w, int dfd, const char *name, char *rel,
		 const struct rem_entry *hint, struct st_error **err)
{
	struct build_context *c = w->c;
	st_autofree char *r = rel;
	struct stat st;
	size_t hi = hint ? (size_t)(hint - w->rem->v) : 0;
	if (hint && w->pre) {
		st = w->pre[hi];
		errno = w->pre_errno[hi];
	}
	if (hint && w->pre ? errno != 0 : fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (hint && (errno == ENOENT || errno == ENOTDIR))
			return VISIT_RETRY;
		return st_err_errno(err, "stat '%s/%s'", c->root, r);
	}
	if (hint && (hint->kind == 'd') != S_ISDIR(st.st_mode))
		return VISIT_RETRY;
	bool excluded = st_dockerignore_matches(w->m, r);
	if (!hint)
		hint = rem_lookup(w->rem, r);
	if (S_ISDIR(st.st_mode)) {
		if (excluded && !st_dockerignore_may_include_under(w->m, r))
			return 0;
		struct ctx_file *f = add_entry(c, st_steal(&r), &st, excluded);
		const char *frel = f->rel; /* 'f' moves as the arrays grow */
		return walk_dir(w, frel, &st, hint && hint->kind == 'd' ? hint : NULL, err);
	}
	if (excluded)
		return 0;
	struct ctx_file *f = add_entry(c, st_steal(&r), &st, false);
	if (hint && hint->hex && trusted(w, hint, &st) && digest_set(&f->digest, hint->hex))
		f->hashed = true;
	else
		c->dirty = true;
	return 0;
}

static void walk_truncate(struct build_context *c, size_t n, size_t nhidden, size_t norder)
{
	for (size_t i = n; i < c->n; i++)
		free(c->files[i].rel);
	for (size_t i = nhidden; i < c->nhidden; i++)
		free(c->hidden[i].rel);
	c->n = n;
	c->nhidden = nhidden;
	c->norder = norder;
}

/* The entries of directory 'rel' ("" for the root), whose own stat data is 'dst'. */
static int walk_dir(struct walker *w, const char *rel, const struct stat *dst,
		    const struct rem_entry *rd, struct st_error **err)
{
	struct build_context *c = w->c;
	size_t n0 = c->n, h0 = c->nhidden, o0 = c->norder;
	if (rd && w->rem->listings && trusted(w, rd, dst)) {
		/* The same names as last time: stat them without reading the directory. */
		const struct rem_entry *v = w->rem->v;
		size_t i = (size_t)(rd - v) + 1;
		int rc = 0;
		while (i < rd->end && rc == 0) {
			rc = visit(w, w->rootfd, v[i].rel, st_xstrdup(v[i].rel), &v[i], err);
			i = v[i].kind == 'd' ? v[i].end : i + 1;
		}
		if (rc <= 0)
			return rc;
		walk_truncate(c, n0, h0, o0); /* the disk disagrees: read it after all */
	}
	c->dirty = true;
	int fd = *rel ? openat(w->rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		      : dup(w->rootfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return st_err_errno(err, "open directory '%s/%s'", c->root, rel);
	}
	char **names = NULL;
	size_t n = 0;
	int rc = st_dir_names(d, rel, &names, &n, err);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *r = *rel ? st_xasprintf("%s/%s", rel, names[i]) : st_xstrdup(names[i]);
		rc = visit(w, dirfd(d), names[i], r, NULL, err);
	}
	closedir(d);
	st_strv_free(names, n);
	return rc;
}

/*
 * Which ignore rules apply: the -f path (the Dockerfile is always sent) and the text of both
 * places an ignore file may be. Read here rather than asked of the matcher, which only
 * answers questions about paths.
 */
static void ignore_identity(const char *root, const char *dockerfile,
			    char out[ST_DIGEST_HEX_LEN + 1])
{
	struct st_hasher h;
	st_hasher_init(&h);
	const char *df = dockerfile ? dockerfile : "";
	st_hasher_update(&h, df, strlen(df) + 1);
	st_autofree char *a = st_path_join(root, ".dockerignore");
	st_autofree char *b = dockerfile ? st_xasprintf("%s.dockerignore", dockerfile) : NULL;
	const char *paths[] = { a, b };
	for (size_t i = 0; i < 2; i++) {
		struct st_buf t = ST_BUF_INIT;
		struct st_error *e = NULL;
		if (paths[i] && st_read_file(paths[i], &t, &e) == 0)
			st_hasher_update(&h, t.data, t.len + 1);
		else
			st_hasher_update(&h, "", 1);
		st_error_free(e);
		st_buf_release(&t);
	}
	struct st_digest d;
	st_hasher_final(&h, &d);
	memcpy(out, st_digest_hex(&d), ST_DIGEST_HEX_LEN + 1);
}

int builder_ctx_open(struct st_store *s, const char *root, const char *dockerfile,
		     const struct st_dockerignore *ign, bool remember, struct build_context *c,
		     struct st_error **err)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->root = realpath(root, NULL);
	if (!c->root)
		return st_err_errno(err, "build context '%s'", root);
	st_autoclose int dfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (errno == ENOTDIR)
			return st_err(err, ST_E_INVALID, "build context '%s' is not a directory",
				      root);
		return st_err_errno(err, "open build context '%s'", root);
	}
	struct stat st;
	if (fstat(dfd, &st) < 0)
		return st_err_errno(err, "stat build context '%s'", root);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	c->walk_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
	ignore_identity(c->root, dockerfile, c->ignore_id);

	struct remembered rem = { 0 };
	if (remember) {
		c->cache_key = st_xstrdup(c->root);
		struct st_error *kerr = NULL;
		if (st_store_kv_get(s, KV_NS_CTX, c->cache_key, &rem.text, &kerr) == 0)
			rem_parse(&rem, c->ignore_id);
		st_error_free(kerr); /* nothing remembered: every file is read when selected */
	}
	struct walker w = { .c = c, .m = ign, .rem = &rem, .rootfd = dfd };
	add_entry(c, st_xstrdup(""), &st, true);
	const struct rem_entry *rd =
	    rem.n && rem.v[0].kind == 'd' && !*rem.v[0].rel ? &rem.v[0] : NULL;
	prefetch(&w);
	int rc = walk_dir(&w, c->hidden[0].rel, &st, rd, err);
	free(w.pre);
	free(w.pre_errno);
	rem_release(&rem);
	if (rc < 0)
		return st_err_wrap(err, "read build context '%s'", root);
	index_rebuild(c);
	return 0;
}

/* What one hashing thread reads a file into. */
#define HASH_BUF (256u << 10)

/*
 * The checksum of entry 'f', found at 'path' relative to 'dfd': a file's content, a link's
 * target, nothing for anything else. 'h' is a hasher started over for each file
 * (st_hasher_next), 'buf' 'size' bytes.
 */
static int hash_entry(const struct build_context *c, int dfd, const char *path,
		      const struct ctx_file *f, struct st_hasher *h, char *buf, size_t size,
		      struct st_digest *d, struct st_error **err)
{
	unsigned char md[32];
	if (S_ISREG(f->st.st_mode)) {
		st_autoclose int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return st_err_errno(err, "open '%s/%s'", c->root, f->rel);
		for (;;) {
			ssize_t n = read(fd, buf, size);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				st_hasher_next(h, md); /* drops what was fed */
				return st_err_errno(err, "read '%s/%s'", c->root, f->rel);
			}
			if (n == 0)
				break;
			st_hasher_update(h, buf, (size_t)n);
		}
	} else if (S_ISLNK(f->st.st_mode)) {
		ssize_t n = readlinkat(dfd, path, buf, size);
		if (n < 0)
			return st_err_errno(err, "readlink '%s/%s'", c->root, f->rel);
		st_hasher_update(h, buf, (size_t)n);
	}
	st_hasher_next(h, md);
	st_digest_from_raw(md, d);
	return 0;
}

static void hashed(struct build_context *c, struct ctx_file *f, const struct st_digest *d)
{
	pthread_mutex_lock(&c->lock);
	f->digest = *d;
	f->hashed = true;
	c->dirty = true;
	pthread_mutex_unlock(&c->lock);
}

int builder_ctx_hash(struct build_context *c, struct ctx_file *f, struct st_error **err)
{
	pthread_mutex_lock(&c->lock);
	bool done = f->hashed;
	pthread_mutex_unlock(&c->lock);
	if (done)
		return 0;
	st_autofree char *path = st_path_join(c->root, f->rel);
	char buf[65536];
	struct st_hasher h;
	st_hasher_init(&h);
	struct st_digest d;
	int rc = hash_entry(c, AT_FDCWD, path, f, &h, buf, sizeof(buf), &d, err);
	st_hasher_release(&h);
	if (rc == 0)
		hashed(c, f, &d);
	return rc;
}

/* Files hashed on two threads, each taking the next one of the list. */
struct hash_job {
	struct build_context *c;
	int dfd;
	struct ctx_file **v;
	size_t n;
	size_t next;	  /* atomic */
	size_t failed_at; /* the first file that failed (n: none), under c->lock */
	struct st_error *err;
};

static void *hash_worker(void *arg)
{
	struct hash_job *j = arg;
	st_autofree char *buf = st_xmalloc(HASH_BUF);
	struct st_hasher h;
	st_hasher_init(&h);
	for (;;) {
		size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
		if (i >= j->n)
			break;
		struct st_digest d;
		struct st_error *e = NULL;
		if (hash_entry(j->c, j->dfd, j->v[i]->rel, j->v[i], &h, buf, HASH_BUF, &d, &e) ==
		    0) {
			hashed(j->c, j->v[i], &d);
			continue;
		}
		/* The error of the first file in the list that failed, as a loop would give. */
		pthread_mutex_lock(&j->c->lock);
		if (i < j->failed_at) {
			st_error_free(j->err);
			j->err = st_steal(&e);
			j->failed_at = i;
		}
		pthread_mutex_unlock(&j->c->lock);
		st_error_free(e);
	}
	st_hasher_release(&h);
	return NULL;
}

/* Below this many files, a second thread costs more than it saves. */
#define HASH_THREAD_MIN 64

int builder_ctx_hash_all(struct build_context *c, struct ctx_file **files, size_t n,
			 struct st_error **err)
{
	/* Only what is not known yet: a file whose stat data was remembered is not read. */
	st_autofree struct ctx_file **todo = st_xcalloc(n + 1, sizeof(*todo));
	size_t k = 0;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < n; i++)
		if (!files[i]->hashed && !S_ISDIR(files[i]->st.st_mode)) /* no checksum: a dir */
			todo[k++] = files[i];
	pthread_mutex_unlock(&c->lock);
	if (!k)
		return 0;
	st_autoclose int dfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return st_err_errno(err, "open build context '%s'", c->root);
	struct hash_job j = { .c = c, .dfd = dfd, .v = todo, .n = k, .failed_at = k };
	pthread_t t;
	bool second = k >= HASH_THREAD_MIN && pthread_create(&t, NULL, hash_worker, &j) == 0;
	hash_worker(&j);
	if (second)
		pthread_join(t, NULL);
	if (j.err) {
		*err = j.err;
		return -1;
	}
	return 0;
}

static void record_line(struct st_buf *b, char kind, const struct ctx_file *f)
{
	st_buf_addf(b, "%c%llu %llu %llo %lld.%ld %lld.%ld %s %s\n", kind,
		    (unsigned long long)f->st.st_ino, (unsigned long long)f->st.st_size,
		    (unsigned long long)f->st.st_mode, (long long)f->st.st_mtim.tv_sec,
		    f->st.st_mtim.tv_nsec, (long long)f->st.st_ctim.tv_sec, f->st.st_ctim.tv_nsec,
		    f->hashed && !S_ISDIR(f->st.st_mode) ? st_digest_hex(&f->digest) : "-", f->rel);
}

int builder_ctx_save(struct st_store *s, struct build_context *c, struct st_error **err)
{
	if (!c->cache_key || !c->dirty)
		return 0;
	struct st_buf b = ST_BUF_INIT;
	st_buf_addf(&b, RECORD_MAGIC " %lld %s\n", (long long)c->walk_ns, c->ignore_id);
	for (size_t i = 0; i < c->norder; i++) {
		size_t o = c->order[i];
		const struct ctx_file *f =
		    o & CTX_HIDDEN ? &c->hidden[o & ~CTX_HIDDEN] : &c->files[o];
		record_line(&b, S_ISDIR(f->st.st_mode) ? 'd' : 'f', f);
	}
	int rc = st_store_kv_put(s, KV_NS_CTX, c->cache_key, st_buf_str(&b), err);
	st_buf_release(&b);
	if (rc == 0)
		c->dirty = false;
	return rc;
}

void builder_ctx_release(struct build_context *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->files[i].rel);
	free(c->files);
	for (size_t i = 0; i < c->nhidden; i++)
		free(c->hidden[i].rel);
	free(c->hidden);
	free(c->order);
	free(c->slots);
	free(c->root);
	free(c->cache_key);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}
