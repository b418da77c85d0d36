/*
 * volume.c: volumes kept in the store, as Docker's local driver keeps them (see volume.h).
 *
 * Records are files, as containers' are: which containers use a volume is read from their
 * records' Mounts, so a container and the volumes it uses never disagree in two places.
 */
#include "container/volume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container/internal.h"
#include "layer/layer.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/timestamp.h"
#include "util/banned.h"

struct st_volume {
	char *name;
	char *mountpoint;
	json_t *rec; /* the inspect object, Mountpoint included */
};

static char *vol_base(struct st_store *s)
{
	return st_path_join(st_store_root(s), "volumes");
}

void st_volume_free(struct st_volume *v)
{
	if (!v)
		return;
	free(v->name);
	free(v->mountpoint);
	json_decref(v->rec);
	free(v);
}

void st_volume_freep(struct st_volume **v)
{
	st_volume_free(*v);
}

void st_volume_list_free(struct st_volume **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		st_volume_free(v[i]);
	free(v);
}

const char *st_volume_name(const struct st_volume *v)
{
	return v->name;
}

const char *st_volume_mountpoint(const struct st_volume *v)
{
	return v->mountpoint;
}

bool st_volume_anonymous(const struct st_volume *v)
{
	return json_object_get(json_object_get(v->rec, "Labels"), ST_VOLUME_ANONYMOUS_LABEL) !=
	       NULL;
}

const json_t *st_volume_inspect(const struct st_volume *v)
{
	return v->rec;
}

/* Docker's local driver: [a-zA-Z0-9][a-zA-Z0-9_.-]+, so never "." or ".." or a dot file. */
static bool valid_name(const char *n)
{
	size_t len = strlen(n);
	if (len < 2)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = n[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');
		if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
			return false;
	}
	return true;
}

static int load(struct st_store *s, const char *name, struct st_volume **out, struct st_error **err)
{
	st_autofree char *base = vol_base(s);
	st_autofree char *dir = st_path_join(base, name);
	st_autofree char *path = st_path_join(dir, "volume.json");
	if (!st_path_exists(path))
		return st_err(err, ST_E_NOTFOUND, "get %s: no such volume", name);
	json_error_t je;
	json_t *rec = json_load_file(path, 0, &je);
	if (!json_is_object(rec)) {
		json_decref(rec);
		return st_err(err, ST_E_PARSE, "%s:%d: not a volume record: %s", path, je.line,
			      je.text);
	}
	struct st_volume *v = st_xcalloc(1, sizeof(*v));
	v->name = st_xstrdup(name);
	v->mountpoint = st_path_join(dir, "_data");
	json_object_set_new(rec, "Mountpoint", json_string(v->mountpoint));
	/* Docker's order of the keys. */
	static const char *const order[] = { "CreatedAt", "Driver",  "Labels", "Mountpoint",
					     "Name",	  "Options", "Scope" };
	v->rec = json_object();
	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++)
		json_object_set(v->rec, order[i], json_object_get(rec, order[i]));
	json_decref(rec);
	*out = v;
	return 0;
}

int st_volume_find(struct st_store *s, const char *name, struct st_volume **out,
		   struct st_error **err)
{
	if (!valid_name(name))
		return st_err(err, ST_E_NOTFOUND, "get %s: no such volume", name);
	return load(s, name, out, err);
}

static char *random_name(struct st_error **err)
{
	unsigned char r[32];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		st_err_errno(err, "getrandom");
		return NULL;
	}
	char *name = st_xmalloc(65);
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(name + 2 * i, 3, "%02x", r[i]);
	return name;
}

/* Docker's inspect object, keys in its order. Mountpoint is added by load(). */
static json_t *new_record(const char *name, const struct st_volume_create *o, struct st_error **err)
{
	json_t *labels = json_object();
	for (size_t i = 0; i < o->n_labels; i++) {
		const char *eq = strchr(o->labels[i], '=');
		size_t klen = eq ? (size_t)(eq - o->labels[i]) : strlen(o->labels[i]);
		if (klen == 0) {
			json_decref(labels);
			st_err(err, ST_E_INVALID, "invalid label '%s': empty name", o->labels[i]);
			return NULL;
		}
		st_autofree char *key = st_xstrndup(o->labels[i], klen);
		json_object_set_new(labels, key, json_string(eq ? eq + 1 : ""));
	}
	if (!o->name)
		json_object_set_new(labels, ST_VOLUME_ANONYMOUS_LABEL, json_string(""));
	/* Docker shows no labels as null, not {}. */
	if (!json_object_size(labels)) {
		json_decref(labels);
		labels = json_null();
	}
	st_autofree char *now = st_time_rfc3339(time(NULL), 0);
	return json_pack("{s:s, s:s, s:o, s:s, s:n, s:s}", "CreatedAt", now, "Driver", "local",
			 "Labels", labels, "Name", name, "Options", "Scope", "local");
}

int st_volume_create(struct st_store *s, const struct st_volume_create *o, struct st_volume **out,
		     bool *created, struct st_error **err)
{
	*created = false;
	if (o->name && !valid_name(o->name))
		return st_err(err, ST_E_INVALID,
			      "create %s: \"%s\" includes invalid characters for a local volume "
			      "name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you "
			      "intended to pass a host directory, use absolute path",
			      o->name, o->name);
	st_autofree char *name = o->name ? st_xstrdup(o->name) : random_name(err);
	if (!name)
		return -1;
	struct st_error *ferr = NULL;
	if (load(s, name, out, &ferr) == 0)
		return 0;
	if (ferr->kind != ST_E_NOTFOUND) {
		*err = ferr;
		return -1;
	}
	st_error_free(ferr);
	json_t *rec = new_record(name, o, err);
	if (!rec)
		return -1;
	/* Made whole under tmp/ (which gc clears of what a killed process left), then renamed
	 * into place: a rename onto an existing volume fails, and that one is kept. */
	st_autofree char *base = vol_base(s);
	st_autofree char *tmp = NULL;
	st_autoclose int tmp_lock = -1;
	int rc = st_mkdir_p(base, 0700, err);
	if (rc == 0)
		rc = st_store_tmp_mkdir(s, &tmp, &tmp_lock, err);
	st_autofree char *data = tmp ? st_path_join(tmp, "_data") : NULL;
	if (rc == 0 && mkdir(data, 0755) < 0)
		rc = st_err_errno(err, "create '%s'", data);
	if (rc == 0) {
		char *text = json_dumps(rec, JSON_COMPACT);
		st_autofree char *path = st_path_join(tmp, "volume.json");
		rc = st_write_file_atomic(path, NULL, text, strlen(text), 0644, err);
		free(text);
	}
	json_decref(rec);
	st_autofree char *dir = st_path_join(base, name);
	if (rc == 0 && rename(tmp, dir) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY)
			rc = st_err_errno(err, "create volume '%s'", name);
	} else if (rc == 0) {
		*created = true;
		rc = st_fsync_dir(base, err);
	}
	if (tmp && !*created) {
		struct st_error *rerr = NULL;
		if (st_rm_rf(tmp, &rerr) < 0)
			st_error_free(rerr);
	}
	if (rc < 0)
		return -1;
	return load(s, name, out, err);
}

int st_volume_list(struct st_store *s, struct st_volume ***out, size_t *n, struct st_error **err)
{
	*out = NULL;
	*n = 0;
	st_autofree char *base = vol_base(s);
	DIR *d = opendir(base);
	if (!d)
		return errno == ENOENT ? 0 : st_err_errno(err, "open '%s'", base);
	char **names = NULL;
	size_t nn = 0;
	int rc = st_dir_names(d, base, &names, &nn, err);
	closedir(d);
	if (rc < 0)
		return -1;
	/* st_dir_names() sorts, so volumes list by name, as Docker lists them. */
	for (size_t i = 0; i < nn && rc == 0; i++) {
		if (!valid_name(names[i]))
			continue; /* the lock, and what a removal renamed away */
		struct st_volume *v = NULL;
		struct st_error *lerr = NULL;
		if (load(s, names[i], &v, &lerr) < 0) {
			if (lerr->kind == ST_E_NOTFOUND) { /* removed meanwhile */
				st_error_free(lerr);
				continue;
			}
			*err = lerr;
			rc = -1;
			break;
		}
		*out = st_xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = v;
	}
	st_strv_free(names, nn);
	if (rc < 0) {
		st_volume_list_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int st_volume_users(struct st_store *s, const char *name, char ***ids, size_t *n,
		    struct st_error **err)
{
	*ids = NULL;
	*n = 0;
	struct st_container **all = NULL;
	size_t nc = 0;
	if (st_container_list(s, &all, &nc, err) < 0)
		return -1;
	for (size_t i = 0; i < nc; i++) {
		size_t j;
		json_t *m;
		json_array_foreach(json_object_get(all[i]->rec, "Mounts"), j, m)
		{
			const char *type = json_string_value(json_object_get(m, "Type"));
			const char *vname = json_string_value(json_object_get(m, "Name"));
			if (type && !strcmp(type, "volume") && vname && !strcmp(vname, name)) {
				*ids = st_xrealloc(*ids, (*n + 1) * sizeof(**ids));
				(*ids)[(*n)++] = st_xstrdup(st_container_id(all[i]));
				break;
			}
		}
	}
	st_container_list_free(all, nc);
	return 0;
}

int st_volume_size(const struct st_volume *v, uint64_t *bytes, struct st_error **err)
{
	*bytes = 0;
	return container_du(v->mountpoint, bytes, err);
}

static int lock(struct st_store *s, int op, struct st_error **err)
{
	st_autofree char *base = vol_base(s);
	if (st_mkdir_p(base, 0700, err) < 0)
		return -1;
	st_autofree char *path = st_path_join(base, "lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return st_err_errno(err, "open '%s'", path);
	while (flock(fd, op) < 0) {
		if (errno != EINTR) {
			close(fd);
			return st_err_errno(err, "lock '%s'", path);
		}
	}
	return fd;
}

int st_volume_lock_shared(struct st_store *s, struct st_error **err)
{
	return lock(s, LOCK_SH, err);
}

/* Remove a volume no container uses; the caller holds the lock exclusively. */
static int remove_locked(struct st_store *s, const struct st_volume *v, struct st_error **err)
{
	char **ids = NULL;
	size_t n = 0;
	if (st_volume_users(s, v->name, &ids, &n, err) < 0)
		return -1;
	if (n) {
		struct st_buf b = ST_BUF_INIT;
		for (size_t i = 0; i < n; i++)
			st_buf_addf(&b, "%s%s", i ? ", " : "", ids[i]);
		st_strv_free(ids, n);
		int rc =
		    st_err(err, ST_E_BUSY, "remove %s: volume is in use - [%s]", v->name, b.data);
		st_buf_release(&b);
		return rc;
	}
	/* Out of sight first: a removal cut short leaves no volume half there. */
	st_autofree char *base = vol_base(s);
	st_autofree char *dir = st_path_join(base, v->name);
	st_autofree char *gone = st_xasprintf("%s/.removing-%s", base, v->name);
	if (rename(dir, gone) < 0)
		return errno == ENOENT ? 0 : st_err_errno(err, "remove volume '%s'", v->name);
	return st_rm_rf(gone, err);
}

int st_volume_remove(struct st_store *s, const char *name, struct st_error **err)
{
	st_autoclose int fd = lock(s, LOCK_EX, err);
	if (fd < 0)
		return -1;
	st_auto(st_volume) struct st_volume *v = NULL;
	if (st_volume_find(s, name, &v, err) < 0)
		return -1;
	return remove_locked(s, v, err);
}

int st_volume_prune(struct st_store *s, unsigned flags, char ***names, size_t *n, uint64_t *bytes,
		    struct st_error **err)
{
	*names = NULL;
	*n = 0;
	*bytes = 0;
	st_autoclose int fd = lock(s, LOCK_EX, err);
	if (fd < 0)
		return -1;
	struct st_volume **v = NULL;
	size_t nv = 0;
	if (st_volume_list(s, &v, &nv, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < nv && rc == 0; i++) {
		if (!(flags & ST_VOLUME_PRUNE_ALL) && !st_volume_anonymous(v[i]))
			continue;
		char **ids = NULL;
		size_t nu = 0;
		if ((rc = st_volume_users(s, v[i]->name, &ids, &nu, err)) < 0)
			break;
		st_strv_free(ids, nu);
		if (nu)
			continue;
		uint64_t size = 0;
		if ((rc = st_volume_size(v[i], &size, err)) < 0 ||
		    (rc = remove_locked(s, v[i], err)) < 0)
			break;
		*bytes += size;
		*names = st_xrealloc(*names, (*n + 1) * sizeof(**names));
		(*names)[(*n)++] = st_xstrdup(v[i]->name);
	}
	st_volume_list_free(v, nv);
	return rc;
}

void container_remove_anonymous(struct st_store *s, const json_t *rec)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(rec, "Mounts"), i, m)
	{
		const char *type = json_string_value(json_object_get(m, "Type"));
		const char *name = json_string_value(json_object_get(m, "Name"));
		if (!type || strcmp(type, "volume") || !name || !*name)
			continue;
		struct st_volume *v = NULL;
		struct st_error *err = NULL;
		if (st_volume_find(s, name, &v, &err) == 0 && st_volume_anonymous(v))
			st_volume_remove(s, name, &err);
		st_volume_free(v);
		st_error_free(err);
	}
}

static bool empty_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return false;
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

/* Copy the directory 'from' (its contents, owner and mode) into the empty 'to', through an
 * unnamed tar beside it: the layer writer and the safe extraction do the files' kinds,
 * owners, modes, times and xattrs as a layer keeps them. */
static int copy_tree(const char *from, const struct stat *st, const char *to, const char *tmpdir,
		     struct st_error **err)
{
	st_autoclose int fd = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return st_err_errno(err, "create a temporary file in '%s'", tmpdir);
	struct st_layer_writer_opts lo = { .compression = ST_LAYER_COMP_NONE };
	st_auto(st_layer_writer) struct st_layer_writer *w =
	    st_layer_writer_new(&lo, st_layer_sink_fd(&fd), err);
	struct st_layer_result res;
	if (!w || st_layer_writer_add_tree(w, from, NULL, 0, err) < 0 ||
	    st_layer_writer_finish(w, &res, err) < 0)
		return -1;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return st_err_errno(err, "seek");
	struct st_layer_extract_opts xo = { .mode = ST_LAYER_EXTRACT_APPLY };
	if (st_layer_extract(st_layer_source_fd(&fd), to, &xo, NULL, err) < 0)
		return -1;
	if (chown(to, st->st_uid, st->st_gid) < 0 || chmod(to, st->st_mode & 07777) < 0)
		return st_err_errno(err, "set the owner and mode of '%s'", to);
	return 0;
}

int container_volumes_fill(const struct st_container *c, const char *merged, struct st_error **err)
{
	/* The destination is looked up in the layers, not through 'merged': a symlink in the
	 * image resolves inside the container's root, never on the host. */
	size_t nl = 0;
	char **lowers = container_lowers(c, &nl);
	lowers = st_xrealloc(lowers, (nl + 1) * sizeof(*lowers));
	memmove(lowers + 1, lowers, nl * sizeof(*lowers));
	lowers[0] = container_path(c, "upper");
	nl++;
	st_autofree char *bundle = container_path(c, "bundle");
	int rc = 0;
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(c->rec, "Mounts"), i, m)
	{
		const char *type = json_string_value(json_object_get(m, "Type"));
		const char *src = json_string_value(json_object_get(m, "Source"));
		const char *dst = json_string_value(json_object_get(m, "Destination"));
		if (!type || strcmp(type, "volume") || !src || !dst || !empty_dir(src))
			continue;
		struct st_union_entry e;
		int found = st_union_lookup(lowers, nl, dst, ST_UNION_FOLLOW, &e, err);
		if (found < 0) {
			rc = st_err_wrap(err, "volume at '%s'", dst);
			break;
		}
		if (found && S_ISDIR(e.st.st_mode)) {
			st_autofree char *from = st_path_join(merged, e.path);
			rc = copy_tree(from, &e.st, src, bundle, err);
			if (rc < 0)
				st_err_wrap(err, "fill the volume at '%s' from the image", dst);
		}
		st_union_entry_release(&e);
		if (rc < 0)
			break;
	}
	st_strv_free(lowers, nl);
	return rc;
}
