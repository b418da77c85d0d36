/*
 * container.c: container records: create, find, list, state, inspect, remove.
 *
 * Records are files under the store root, not rows of strata.db: the supervisor of a running
 * container rewrites its state while builds and pulls hold the database, and a container is
 * wholly its directory (record, writable layer, log), made and removed with it. A file written
 * by rename is whole or absent after a crash; a directory is removed by renaming it out of
 * sight first, so a half-removed container is never listed.
 */
#include "container/internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container/volume.h"
#include "local/local.h"
#include "runtime/runtime.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/timestamp.h"
#include "util/banned.h"

/* Docker's zero time, which its State shows for a time that never was. */
#define ZERO_TIME "0001-01-01T00:00:00Z"

char *container_base(struct st_store *s)
{
	return st_path_join(st_store_root(s), "containers");
}

char *container_path(const struct st_container *c, const char *name)
{
	return st_path_join(c->dir, name);
}

char *container_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return st_time_rfc3339(ts.tv_sec, ts.tv_nsec);
}

char *container_state_root(struct st_store *s)
{
	/* The build's runtime state dir: builds clean up only their own "strata-build-" ids. */
	return st_path_join(st_store_root(s), "runtime/runc");
}

const char *st_container_id(const struct st_container *c)
{
	return json_string_value(json_object_get(c->rec, "Id"));
}

const char *st_container_name(const struct st_container *c)
{
	const char *n = json_string_value(json_object_get(c->rec, "Name"));
	return n && *n == '/' ? n + 1 : n;
}

const char *st_container_image(const struct st_container *c)
{
	return json_string_value(json_object_get(json_object_get(c->rec, "Config"), "Image"));
}

const char *st_container_image_id(const struct st_container *c)
{
	return json_string_value(json_object_get(c->rec, "Image"));
}

bool st_container_tty(const struct st_container *c)
{
	return json_is_true(json_object_get(json_object_get(c->rec, "Config"), "Tty"));
}

const char *st_container_created(const struct st_container *c)
{
	return json_string_value(json_object_get(c->rec, "Created"));
}

char *st_container_ports(const struct st_container *c)
{
	struct st_buf b = ST_BUF_INIT;
	const char *key;
	json_t *list;
	json_object_foreach(json_object_get(json_object_get(c->rec, "HostConfig"), "PortBindings"),
			    key, list)
	{
		size_t i;
		json_t *e;
		json_array_foreach(list, i, e)
		    st_buf_addf(&b, "%s%s:%s->%s", b.len ? ", " : "",
				json_string_value(json_object_get(e, "HostIp")),
				json_string_value(json_object_get(e, "HostPort")), key);
	}
	st_buf_adds(&b, "");
	return st_buf_detach(&b, NULL);
}

char *st_container_command(const struct st_container *c)
{
	struct st_buf b = ST_BUF_INIT;
	st_buf_adds(&b, json_string_value(json_object_get(c->rec, "Path")));
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(c->rec, "Args"), i, a)
	    st_buf_addf(&b, " %s", json_string_value(a));
	return st_buf_detach(&b, NULL);
}

const char *st_container_status_name(enum st_container_status status)
{
	switch (status) {
	case ST_CONTAINER_RUNNING:
		return "running";
	case ST_CONTAINER_EXITED:
		return "exited";
	case ST_CONTAINER_CREATED:
		break;
	}
	return "created";
}

void st_container_free(struct st_container *c)
{
	if (!c)
		return;
	json_decref(c->rec);
	free(c->dir);
	free(c);
}

void st_container_freep(struct st_container **c)
{
	st_container_free(*c);
}

void st_container_list_free(struct st_container **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		st_container_free(v[i]);
	free(v);
}

/* Read containers/<id>/config.json. ST_E_NOTFOUND when there is none (a removed container). */
static int load(struct st_store *s, const char *id, struct st_container **out,
		struct st_error **err)
{
	st_autofree char *base = container_base(s);
	st_autofree char *dir = st_path_join(base, id);
	st_autofree char *path = st_path_join(dir, "config.json");
	struct st_buf text = ST_BUF_INIT;
	if (st_read_file(path, &text, err) < 0) {
		st_buf_release(&text);
		if (err && *err && (*err)->errnum == ENOENT)
			(*err)->kind = ST_E_NOTFOUND;
		return -1;
	}
	json_error_t je;
	json_t *rec = json_loadb(text.data, text.len, 0, &je);
	st_buf_release(&text);
	if (!json_is_object(rec) || !json_is_string(json_object_get(rec, "Id"))) {
		json_decref(rec);
		return st_err(err, ST_E_PARSE, "%s:%d: not a container record: %s", path, je.line,
			      je.text);
	}
	struct st_container *c = st_xcalloc(1, sizeof(*c));
	c->rec = rec;
	c->dir = st_steal(&dir);
	*out = c;
	return 0;
}

static bool is_id(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int st_container_list(struct st_store *s, struct st_container ***out, size_t *n,
		      struct st_error **err)
{
	*out = NULL;
	*n = 0;
	st_autofree char *base = container_base(s);
	DIR *d = opendir(base);
	if (!d)
		return errno == ENOENT ? 0 : st_err_errno(err, "open '%s'", base);
	char **names = NULL;
	size_t nn = 0;
	int rc = st_dir_names(d, base, &names, &nn, err);
	closedir(d);
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < nn; i++) {
		/* What a create or rm killed half-way leaves is skipped here; system check
		 * --repair and system prune remove it (check.c). */
		if (!is_id(names[i]))
			continue; /* names/, and what a removal renamed away */
		struct st_container *c = NULL;
		struct st_error *lerr = NULL;
		if (load(s, names[i], &c, &lerr) < 0) {
			/* one being created or removed right now */
			if (lerr->kind == ST_E_NOTFOUND) {
				st_error_free(lerr);
				continue;
			}
			st_strv_free(names, nn);
			st_container_list_free(*out, *n);
			*out = NULL;
			*n = 0;
			*err = lerr;
			return -1;
		}
		*out = st_xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = c;
	}
	st_strv_free(names, nn);
	/* Newest first, as `docker ps` lists them: RFC 3339 in UTC sorts as text. */
	for (size_t i = 1; i < *n; i++)
		for (size_t j = i; j > 0; j--) {
			struct st_container **v = *out;
			if (strcmp(st_container_created(v[j - 1]), st_container_created(v[j])) >= 0)
				break;
			struct st_container *t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return 0;
}

int st_container_find(struct st_store *s, const char *name, struct st_container **out,
		      struct st_error **err)
{
	if (!name || !*name)
		return st_err(err, ST_E_NOTFOUND, "No such container: %s", name ? name : "");
	/* A name first, then an id or a unique id prefix, as Docker resolves them. */
	st_autofree char *base = container_base(s);
	st_autofree char *link = st_xasprintf("%s/names/%s", base, name);
	char target[128];
	ssize_t len = strchr(name, '/') ? -1 : readlink(link, target, sizeof(target) - 1);
	if (len > 0) {
		target[len] = '\0';
		struct st_error *lerr = NULL;
		/* A link whose record names another is what a rename cut short left. */
		if (load(s, target, out, &lerr) == 0) {
			if (!strcmp(st_container_name(*out), name))
				return 0;
			st_container_free(st_steal(out));
		}
		st_error_free(lerr);
	}
	struct st_container **all = NULL;
	size_t n = 0;
	if (st_container_list(s, &all, &n, err) < 0)
		return -1;
	struct st_container *found = NULL;
	size_t matches = 0;
	for (size_t i = 0; i < n; i++)
		if (!strncmp(st_container_id(all[i]), name, strlen(name))) {
			matches++;
			found = all[i];
		}
	int rc = 0;
	if (matches == 1) {
		for (size_t i = 0; i < n; i++)
			if (all[i] == found)
				all[i] = NULL;
		*out = found;
	} else if (matches > 1) {
		rc = st_err(err, ST_E_INVALID, "multiple IDs found with provided prefix: %s", name);
	} else {
		rc = st_err(err, ST_E_NOTFOUND, "No such container: %s", name);
	}
	st_container_list_free(all, n);
	return rc;
}

/* ---- state ------------------------------------------------------------------------------ */

int container_lock_open(const struct st_container *c, struct st_error **err)
{
	st_autofree char *path = container_path(c, "lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return st_err_errno(err, "open '%s'", path);
	return fd;
}

bool container_supervised(const struct st_container *c)
{
	st_autofree char *path = container_path(c, "lock");
	st_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		return false;
	return errno == EWOULDBLOCK;
}

static json_t *read_state(const struct st_container *c)
{
	st_autofree char *path = container_path(c, "state.json");
	json_t *st = json_load_file(path, 0, NULL);
	if (!json_is_object(st)) {
		json_decref(st);
		st = json_pack("{s:s}", "Status", "created");
	}
	return st;
}

int container_state_write(const struct st_container *c, const struct container_state_change *ch,
			  struct st_error **err)
{
	json_t *st = read_state(c);
	const char *status = st_container_status_name(ch->status);
	json_object_set_new(st, "Status", json_string(status));
	json_object_set_new(st, "Running", json_boolean(ch->status == ST_CONTAINER_RUNNING));
	json_object_set_new(st, "Paused", json_false());
	json_object_set_new(st, "Restarting", json_false());
	json_object_set_new(st, "OOMKilled", json_boolean(ch->oom_killed));
	json_object_set_new(st, "Dead", json_false());
	json_object_set_new(st, "ExitCode", json_integer(ch->exit_code));
	json_object_set_new(st, "Error", json_string(ch->error ? ch->error : ""));
	json_object_set_new(st, "ConmonPid", json_integer(ch->supervisor));
	if (!json_object_get(st, "StartedAt"))
		json_object_set_new(st, "StartedAt", json_string(ZERO_TIME));
	if (!json_object_get(st, "FinishedAt"))
		json_object_set_new(st, "FinishedAt", json_string(ZERO_TIME));
	st_autofree char *now = container_now();
	if (ch->started)
		json_object_set_new(st, "StartedAt", json_string(now));
	if (ch->finished)
		json_object_set_new(st, "FinishedAt", json_string(now));
	char *text = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	st_autofree char *path = container_path(c, "state.json");
	int rc = st_write_file_atomic(path, NULL, text, strlen(text), 0644, err);
	free(text);
	return rc;
}

int container_state_set_paused(const struct st_container *c, bool paused, struct st_error **err)
{
	json_t *st = read_state(c);
	json_object_set_new(st, "Paused", json_boolean(paused));
	char *text = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	st_autofree char *path = container_path(c, "state.json");
	int rc = st_write_file_atomic(path, NULL, text, strlen(text), 0644, err);
	free(text);
	return rc;
}

void container_runtime_delete(struct st_store *s, const struct st_container *c)
{
	st_autofree char *root = container_state_root(s);
	struct st_runtime_opts ro = { .state_root = root };
	struct st_error *err = NULL;
	if (st_runtime_delete(&ro, st_container_id(c), &err) < 0)
		st_error_free(err);
}

static int pid_of(const struct st_container *c)
{
	st_autofree char *path = container_path(c, "bundle/pid");
	FILE *f = fopen(path, "re");
	int pid = 0;
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

int st_container_state(struct st_store *s, const struct st_container *c,
		       struct st_container_state *out, struct st_error **err)
{
	memset(out, 0, sizeof(*out));
	json_t *st = read_state(c);
	const char *status = json_string_value(json_object_get(st, "Status"));
	if (status && !strcmp(status, "running") && !container_supervised(c)) {
		/* Read again: the supervisor may have finished between the two looks. */
		json_decref(st);
		st = read_state(c);
		status = json_string_value(json_object_get(st, "Status"));
		if (status && !strcmp(status, "running")) {
			st_autoclose int lock = container_lock_open(c, err);
			if (lock < 0) {
				json_decref(st);
				return -1;
			}
			/* Its supervisor was killed, and the runtime's monitor with it stopped the
			 * container: what is left is the runtime's record. */
			if (flock(lock, LOCK_EX | LOCK_NB) == 0) {
				container_runtime_delete(s, c);
				struct container_state_change ch = {
					.status = ST_CONTAINER_EXITED,
					.exit_code = 137,
					.error = "the container's supervisor was killed",
					.finished = true,
				};
				if (container_state_write(c, &ch, err) < 0) {
					json_decref(st);
					return -1;
				}
			}
			json_decref(st);
			st = read_state(c);
			status = json_string_value(json_object_get(st, "Status"));
		}
	}
	if (status && !strcmp(status, "running"))
		out->status = ST_CONTAINER_RUNNING;
	else if (status && !strcmp(status, "exited"))
		out->status = ST_CONTAINER_EXITED;
	else
		out->status = ST_CONTAINER_CREATED;
	out->exit_code = (int)json_integer_value(json_object_get(st, "ExitCode"));
	if (out->status == ST_CONTAINER_RUNNING) {
		out->pid = pid_of(c);
		out->paused = json_is_true(json_object_get(st, "Paused"));
	}
	const char *t = json_string_value(json_object_get(st, "StartedAt"));
	if (t && strcmp(t, ZERO_TIME))
		out->started_at = st_xstrdup(t);
	t = json_string_value(json_object_get(st, "FinishedAt"));
	if (t && strcmp(t, ZERO_TIME))
		out->finished_at = st_xstrdup(t);
	t = json_string_value(json_object_get(st, "Error"));
	if (t && *t)
		out->error = st_xstrdup(t);
	json_decref(st);
	json_t *health = out->status == ST_CONTAINER_RUNNING ? container_health_read(c) : NULL;
	if (health)
		out->health = st_xstrdup(json_string_value(json_object_get(health, "Status")));
	json_decref(health);
	return 0;
}

void st_container_state_release(struct st_container_state *st)
{
	free(st->started_at);
	free(st->finished_at);
	free(st->error);
	free(st->health);
	memset(st, 0, sizeof(*st));
}

json_t *st_container_inspect(struct st_store *s, const struct st_container *c,
			     struct st_error **err)
{
	struct st_container_state st;
	if (st_container_state(s, c, &st, err) < 0)
		return NULL;
	json_t *state = read_state(c);
	json_object_set_new(state, "Pid", json_integer(st.pid));
	/* state.json keeps "running" for a paused container, which Docker calls "paused". */
	if (st.paused)
		json_object_set_new(state, "Status", json_string("paused"));
	json_t *health = container_health_read(c);
	if (health)
		json_object_set_new(state, "Health", health);
	json_t *out = json_object();
	const char *key;
	json_t *v;
	/* Docker's order of the top-level keys. */
	static const char *const order[] = { "Id",     "Created",  "Path",	     "Args",
					     "State",  "Image",	   "Name",	     "RestartCount",
					     "Driver", "Platform", "HostConfig",     "GraphDriver",
					     "Mounts", "Config",   "NetworkSettings" };
	for (size_t i = 0; i < sizeof(order) / sizeof(*order); i++) {
		if (!strcmp(order[i], "State"))
			json_object_set(out, "State", state);
		else if ((v = json_object_get(c->rec, order[i])))
			json_object_set(out, order[i], v);
	}
	json_object_foreach(c->rec, key, v) if (!json_object_get(out, key))
	    json_object_set(out, key, v);
	json_decref(state);
	st_container_state_release(&st);
	return out;
}

/* ---- create ----------------------------------------------------------------------------- */

static char *new_id(struct st_error **err)
{
	unsigned char r[32];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		st_err_errno(err, "getrandom");
		return NULL;
	}
	char *id = st_xmalloc(65);
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(id + 2 * i, 3, "%02x", r[i]);
	return id;
}

/* Docker's names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
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

/* A few of the words Docker's name generator pairs. */
static const char *const adjectives[] = { "admiring", "brave",	 "clever", "eager",  "festive",
					  "gallant",  "happy",	 "jolly",  "keen",   "lucid",
					  "modest",   "nifty",	 "quirky", "serene", "vibrant",
					  "wizardly", "zealous", "upbeat" };
static const char *const surnames[] = { "babbage", "curie",   "darwin",	 "euler",   "fermat",
					"galois",  "hopper",  "johnson", "knuth",   "lovelace",
					"meitner", "noether", "pascal",	 "ritchie", "shannon",
					"turing",  "wozniak", "yonath" };

static char *made_up_name(const char *id, unsigned attempt)
{
	unsigned a = (unsigned)strtoul((char[]){ id[0], id[1], id[2], id[3], '\0' }, NULL, 16);
	unsigned b = (unsigned)strtoul((char[]){ id[4], id[5], id[6], id[7], '\0' }, NULL, 16);
	const char *adj = adjectives[(a + attempt) % (sizeof(adjectives) / sizeof(*adjectives))];
	const char *sur = surnames[(b + attempt / 7) % (sizeof(surnames) / sizeof(*surnames))];
	if (attempt < 50)
		return st_xasprintf("%s_%s", adj, sur);
	return st_xasprintf("%s_%s%u", adj, sur, attempt);
}

/* Whether the record of container 'id' names it 'name' (its names/ link is then not stale). */
static bool record_names(const char *base, const char *id, const char *name)
{
	st_autofree char *path = st_xasprintf("%s/%s/config.json", base, id);
	json_t *rec = json_load_file(path, 0, NULL);
	const char *n = json_string_value(json_object_get(rec, "Name"));
	bool named = n && n[0] == '/' && !strcmp(n + 1, name);
	json_decref(rec);
	return named;
}

/*
 * Take 'name' for 'id': the symlink names/<name> -> <id>, whose creation is atomic. The
 * record says which name a container has: a link left by a container whose record never got
 * written (a create killed half-way), or whose record names another (a rename killed
 * half-way), is taken over.
 */
static int claim_name(const char *base, const char *name, const char *id, bool *taken,
		      struct st_error **err)
{
	st_autofree char *names = st_path_join(base, "names");
	if (st_mkdir_p(names, 0700, err) < 0)
		return -1;
	st_autofree char *link = st_path_join(names, name);
	*taken = false;
	for (int tries = 0; tries < 2; tries++) {
		if (symlink(id, link) == 0)
			return 0;
		if (errno != EEXIST)
			return st_err_errno(err, "create '%s'", link);
		char target[128];
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			break;
		target[len] = '\0';
		if (record_names(base, target, name))
			break;
		unlink(link);
	}
	*taken = true;
	return 0;
}

static json_t *strv_json(const struct st_image_strv *v)
{
	if (!v->set)
		return json_null();
	json_t *a = json_array();
	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}

static json_t *argv_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* Env: the image's, each of 'over' replacing the variable of its name or added after. */
static json_t *merge_env(const struct st_image_strv *img, char *const *over, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < img->n; i++)
		json_array_append_new(a, json_string(img->v[i]));
	for (size_t i = 0; i < n; i++) {
		size_t klen = strcspn(over[i], "=");
		bool replaced = false;
		size_t j;
		json_t *e;
		json_array_foreach(a, j, e)
		{
			const char *cur = json_string_value(e);
			if (!strncmp(cur, over[i], klen) && (cur[klen] == '=' || !cur[klen])) {
				json_array_set_new(a, j, json_string(over[i]));
				replaced = true;
				break;
			}
		}
		if (!replaced)
			json_array_append_new(a, json_string(over[i]));
	}
	return a;
}

static const char *mount_str(const json_t *m, const char *key)
{
	const char *v = json_string_value(json_object_get(m, key));
	return v ? v : "";
}

/*
 * -v as Docker's "Mounts" entry: HOST:CTR[:ro|:rw] a bind, NAME:CTR[:ro|:rw] a named volume,
 * CTR alone an anonymous one. A volume's Name (empty for an anonymous one) and Source are
 * settled by attach_volumes().
 */
static json_t *parse_volume(const char *v, struct st_error **err)
{
	st_autofree char *copy = st_xstrdup(v);
	char *host = copy, *ctr = strchr(copy, ':'), *mode = NULL;
	if (ctr) {
		*ctr++ = '\0';
		mode = strchr(ctr, ':');
		if (mode)
			*mode++ = '\0';
	} else if (*copy == '/') {
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "volume",
				 "Name", "", "Source", "", "Destination", copy, "Driver", "local",
				 "Mode", "", "RW", true, "Propagation", "");
	}
	if (!ctr || !*ctr || !*host) {
		st_err(err, ST_E_INVALID,
		       "invalid volume specification: '%s': expected HOST:CTR[:ro], NAME:CTR[:ro] "
		       "or CTR",
		       v);
		return NULL;
	}
	if (*ctr != '/') {
		st_err(err, ST_E_INVALID,
		       "invalid volume specification: '%s': mount path must be absolute", v);
		return NULL;
	}
	if (mode && strcmp(mode, "ro") && strcmp(mode, "rw")) {
		st_err(err, ST_E_INVALID, "invalid volume specification: '%s': invalid mode: %s", v,
		       mode);
		return NULL;
	}
	bool ro = mode && !strcmp(mode, "ro");
	if (*host != '/')
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "volume",
				 "Name", host, "Source", "", "Destination", ctr, "Driver", "local",
				 "Mode", mode ? mode : "z", "RW", !ro, "Propagation", "");
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source", host,
			 "Destination", ctr, "Mode", mode ? mode : "", "RW", !ro, "Propagation",
			 "rprivate");
}

/* tmpfs-size as Docker's units.RAMInBytes takes it: a number with an optional k, m or g
 * (and b), which tmpfs's size= takes too once the "b" is dropped. */
static bool tmpfs_size(const char *v, char **out)
{
	size_t digits = strspn(v, "0123456789");
	const char *unit = v + digits;
	if (!digits || strlen(unit) > 2)
		return false;
	if (*unit && !strchr("kKmMgG", *unit))
		return false;
	if (*unit && unit[1] && unit[1] != 'b' && unit[1] != 'B')
		return false;
	*out = st_xstrndup(v, digits + (*unit ? 1 : 0));
	return true;
}

/* Docker's CLI takes --mount's keys and type in any case. */
static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* Go's strconv.ParseBool, which Docker's readonly=VALUE takes. */
static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "1", "t", "T", "true", "TRUE", "True" };
	static const char *const no[] = { "0", "f", "F", "false", "FALSE", "False" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		if (!strcmp(v, yes[i]) || !strcmp(v, no[i])) {
			*out = !strcmp(v, yes[i]);
			return true;
		}
	}
	return false;
}

/*
 * --mount as Docker's CLI parses it (opts/mount.go) and its daemon checks it: a "Mounts" entry
 * like parse_volume()'s; a tmpfs one is also put in 'tmpfs' (Docker's HostConfig.Tmpfs), which
 * is what mounts it.
 */
static json_t *parse_mount(const char *spec, json_t *tmpfs, struct st_error **err)
{
	st_autofree char *copy = st_xstrdup(spec);
	st_autofree char *size = NULL;
	const char *type = "volume", *src = "", *dst = "";
	bool ro = false, tmpfs_opt = false;
	int rc = 0;
	for (char *f = copy, *next; f && rc == 0; f = next) {
		next = strchr(f, ',');
		if (next)
			*next++ = '\0';
		char *val = strchr(f, '=');
		if (val)
			*val++ = '\0';
		lower(f);
		if (!val) {
			if (!strcmp(f, "readonly") || !strcmp(f, "ro"))
				ro = true;
			else
				rc = st_err(err, ST_E_INVALID,
					    "invalid field '%s' must be a key=value pair", f);
		} else if (!strcmp(f, "type")) {
			lower(val);
			type = val;
		} else if (!strcmp(f, "source") || !strcmp(f, "src")) {
			src = val;
		} else if (!strcmp(f, "target") || !strcmp(f, "dst") || !strcmp(f, "destination")) {
			dst = val;
		} else if (!strcmp(f, "readonly") || !strcmp(f, "ro")) {
			if (!parse_bool(val, &ro))
				rc = st_err(err, ST_E_INVALID, "invalid value for %s: %s", f, val);
		} else if (!strcmp(f, "tmpfs-size")) {
			tmpfs_opt = true;
			free(size);
			size = NULL;
			if (!tmpfs_size(val, &size))
				rc = st_err(err, ST_E_INVALID, "invalid value for %s: %s", f, val);
		} else {
			rc = st_err(err, ST_E_INVALID, "unexpected key '%s' in '%s=%s'", f, f, val);
		}
	}
	if (rc == 0 && !*dst)
		rc = st_err(err, ST_E_INVALID, "target is required");
	if (rc == 0 && tmpfs_opt && strcmp(type, "tmpfs"))
		rc = st_err(err, ST_E_INVALID, "cannot mix 'tmpfs-*' options with mount type '%s'",
			    type);
	if (rc < 0) {
		st_err_wrap(err, "invalid argument \"%s\" for \"--mount\" flag", spec);
		return NULL;
	}
	/* From here on, what Docker's daemon refuses. */
	if (strcmp(type, "bind") && strcmp(type, "volume") && strcmp(type, "tmpfs")) {
		st_err(err, ST_E_INVALID,
		       "invalid mount config for type \"%s\": mount type unknown", type);
		return NULL;
	}
	if (*dst != '/') {
		st_err(err, ST_E_INVALID,
		       "invalid mount config for type \"%s\": invalid mount path: '%s' mount path "
		       "must be absolute",
		       type, dst);
		return NULL;
	}
	if (!strcmp(type, "bind")) {
		if (!*src)
			st_err(err, ST_E_INVALID,
			       "invalid mount config for type \"bind\": field Source must not be "
			       "empty");
		else if (*src != '/')
			st_err(err, ST_E_INVALID,
			       "invalid mount config for type \"bind\": invalid mount path: '%s' "
			       "mount path must be absolute",
			       src);
		else if (!st_path_exists(src))
			st_err(err, ST_E_INVALID,
			       "invalid mount config for type \"bind\": bind source path does not "
			       "exist: %s",
			       src);
		else
			return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "bind", "Source",
					 src, "Destination", dst, "Mode", "", "RW", !ro,
					 "Propagation", "rprivate");
		return NULL;
	}
	if (!strcmp(type, "tmpfs")) {
		if (*src) {
			st_err(err, ST_E_INVALID,
			       "invalid mount config for type \"tmpfs\": field Source must not be "
			       "specified");
			return NULL;
		}
		st_autofree char *opts =
		    st_xasprintf("%s%s%s", size ? "size=" : "", size ? size : "",
				 ro ? (size ? ",ro" : "ro") : "");
		json_object_set_new(tmpfs, dst, json_string(opts));
		return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "tmpfs", "Source", "",
				 "Destination", dst, "Mode", "", "RW", !ro, "Propagation", "");
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}", "Type", "volume", "Name", src,
			 "Source", "", "Destination", dst, "Driver", "local", "Mode", "z", "RW",
			 !ro, "Propagation", "");
}

/* -p [IP:]HOSTPORT:CTRPORT[/PROTO] into Docker's PortBindings map ("80/tcp": [{HostIp,
 * HostPort}]), the same in NetworkSettings.Ports. */
static int add_publish(json_t *bindings, const char *spec, struct st_error **err)
{
	st_autofree char *copy = st_xstrdup(spec);
	const char *proto = "tcp";
	char *slash = strchr(copy, '/');
	if (slash) {
		*slash = '\0';
		proto = slash + 1;
	}
	char *parts[4] = { NULL, NULL, NULL, NULL };
	size_t n = 0;
	for (char *p = copy; p && n < 4; n++) {
		parts[n] = p;
		p = strchr(p, ':');
		if (p)
			*p++ = '\0';
	}
	const char *ip = n == 3 ? parts[0] : "0.0.0.0";
	const char *host = n == 3 ? parts[1] : parts[0];
	const char *ctr = n == 3 ? parts[2] : parts[1];
	char *end = NULL;
	long hp = host ? strtol(host, &end, 10) : 0;
	bool host_ok = host && *host && !*end && hp > 0 && hp < 65536;
	long cp = ctr ? strtol(ctr, &end, 10) : 0;
	bool container_ok = ctr && *ctr && !*end && cp > 0 && cp < 65536;
	if ((n != 2 && n != 3) || !host_ok || !container_ok || !*ip ||
	    (strcmp(proto, "tcp") && strcmp(proto, "udp")))
		return st_err(err, ST_E_INVALID,
			      "invalid argument \"%s\" for \"-p, --publish\" flag: expected "
			      "[IP:]HOSTPORT:CONTAINERPORT[/tcp|/udp]",
			      spec);
	st_autofree char *key = st_xasprintf("%ld/%s", cp, proto);
	json_t *list = json_object_get(bindings, key);
	if (!list) {
		list = json_array();
		json_object_set_new(bindings, key, list);
	}
	st_autofree char *hps = st_xasprintf("%ld", hp);
	json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", ip, "HostPort", hps));
	return 0;
}

static int check_add_host(const char *h, struct st_error **err)
{
	const char *sep = strpbrk(h, ":=");
	if (!sep || sep == h || !sep[1])
		return st_err(err, ST_E_INVALID,
			      "invalid argument \"%s\" for \"--add-host\" flag: "
			      "bad format for add-host: \"%s\"",
			      h, h);
	return 0;
}

/*
 * The mount points of what the runtime mounts over the rootfs, made once in the "init" lower
 * layer above the image's (Docker's "-init" layer), so that they never show in the writable
 * layer, its diff or a commit.
 */
static int make_init(const char *init, const json_t *mounts, json_t *tmpfs, struct st_error **err)
{
	static const char *const dirs[] = { "proc", "sys", "dev", "etc" };
	static const char *const files[] = { "etc/hosts", "etc/resolv.conf", "etc/hostname" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
		st_autofree char *p = st_path_join(init, dirs[i]);
		if (st_mkdir_p(p, 0755, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		st_autofree char *p = st_path_join(init, files[i]);
		st_autoclose int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return st_err_errno(err, "create '%s'", p);
	}
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m)
	{
		const char *src = json_string_value(json_object_get(m, "Source"));
		const char *dst = json_string_value(json_object_get(m, "Destination"));
		if (!strcmp(mount_str(m, "Type"), "tmpfs"))
			continue; /* made below, with the other tmpfs mounts */
		struct stat sb;
		st_autofree char *p = st_path_join(init, dst);
		if (stat(src, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
			st_autofree char *parent = st_xstrdup(p);
			*strrchr(parent, '/') = '\0';
			if (st_mkdir_p(parent, 0755, err) < 0)
				return -1;
			st_autoclose int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			if (fd < 0)
				return st_err_errno(err, "create '%s'", p);
		} else if (st_mkdir_p(p, 0755, err) < 0) {
			return -1;
		}
	}
	const char *dst;
	json_t *opts;
	json_object_foreach(tmpfs, dst, opts)
	{
		st_autofree char *p = st_path_join(init, dst);
		if (st_mkdir_p(p, 0755, err) < 0)
			return -1;
	}
	return 0;
}

static int write_json(const char *path, const json_t *v, struct st_error **err)
{
	char *text = json_dumps(v, JSON_COMPACT);
	int rc = st_write_file_atomic(path, NULL, text, strlen(text), 0644, err);
	free(text);
	return rc;
}

/* The record's parts that come from the flags and the image config. */
static int build_record(const struct st_container_create *o, const struct st_image_config *cfg,
			json_t *rec, struct st_error **err)
{
	const struct st_image_runconfig *rc = &cfg->config;
	/* Docker: --entrypoint resets the image's CMD too; [COMMAND] replaces CMD. */
	json_t *ep, *cmd;
	if (o->entrypoint) {
		ep = *o->entrypoint ? json_pack("[s]", o->entrypoint) : json_null();
		cmd = o->n_cmd ? argv_json(o->cmd, o->n_cmd) : json_null();
	} else {
		ep = strv_json(&rc->entrypoint);
		cmd = o->n_cmd ? argv_json(o->cmd, o->n_cmd) : strv_json(&rc->cmd);
	}
	json_t *argv = json_array();
	if (json_is_array(ep))
		json_array_extend(argv, ep);
	if (json_is_array(cmd))
		json_array_extend(argv, cmd);
	if (json_array_size(argv) == 0) {
		json_decref(argv);
		json_decref(ep);
		json_decref(cmd);
		return st_err(err, ST_E_INVALID, "No command specified");
	}
	json_object_set(rec, "Path", json_array_get(argv, 0));
	json_array_remove(argv, 0);
	json_object_set_new(rec, "Args", argv);

	const char *net = o->network ? o->network : "default";
	if (strcmp(net, "default") && strcmp(net, "none") && strcmp(net, "host") &&
	    strcmp(net, "bridge")) {
		json_decref(ep);
		json_decref(cmd);
		return st_err(err, ST_E_INVALID,
			      "--network %s: network not found: use default, none or host", net);
	}
	if (!strcmp(net, "bridge"))
		net = "default";
	json_t *mounts = json_array(), *binds = json_array();
	for (size_t i = 0; i < o->n_volumes; i++) {
		json_t *m = parse_volume(o->volumes[i], err);
		if (!m) {
			json_decref(mounts);
			json_decref(binds);
			json_decref(ep);
			json_decref(cmd);
			return -1;
		}
		json_array_append_new(mounts, m);
		json_array_append_new(binds, json_string(o->volumes[i]));
	}
	json_t *tmpfs = json_object();
	for (size_t i = 0; i < o->n_tmpfs; i++) {
		const char *colon = strchr(o->tmpfs[i], ':');
		st_autofree char *dst =
		    colon ? st_xstrndup(o->tmpfs[i], (size_t)(colon - o->tmpfs[i]))
			  : st_xstrdup(o->tmpfs[i]);
		if (*dst != '/') {
			json_decref(mounts);
			json_decref(binds);
			json_decref(tmpfs);
			json_decref(ep);
			json_decref(cmd);
			return st_err(err, ST_E_INVALID,
				      "invalid argument \"%s\" for \"--tmpfs\" flag: mount path "
				      "must be absolute",
				      o->tmpfs[i]);
		}
		json_object_set_new(tmpfs, dst, json_string(colon ? colon + 1 : ""));
	}
	for (size_t i = 0; i < o->n_mounts; i++) {
		json_t *m = parse_mount(o->mounts[i], tmpfs, err);
		if (!m) {
			json_decref(mounts);
			json_decref(binds);
			json_decref(tmpfs);
			json_decref(ep);
			json_decref(cmd);
			return -1;
		}
		json_array_append_new(mounts, m);
	}
	json_t *hosts = json_array();
	for (size_t i = 0; i < o->n_add_hosts; i++) {
		if (check_add_host(o->add_hosts[i], err) < 0) {
			json_decref(mounts);
			json_decref(binds);
			json_decref(tmpfs);
			json_decref(hosts);
			json_decref(ep);
			json_decref(cmd);
			return -1;
		}
		json_array_append_new(hosts, json_string(o->add_hosts[i]));
	}
	json_t *ports = json_object();
	int perr = 0;
	for (size_t i = 0; i < o->n_publish && perr == 0; i++)
		perr = add_publish(ports, o->publish[i], err);
	if (perr == 0 && json_object_size(ports) && strcmp(net, "default"))
		perr = st_err(err, ST_E_INVALID,
			      "-p: ports are published through the default network, not "
			      "--network %s",
			      net);
	if (perr < 0) {
		json_decref(ports);
		json_decref(mounts);
		json_decref(binds);
		json_decref(tmpfs);
		json_decref(hosts);
		json_decref(ep);
		json_decref(cmd);
		return -1;
	}
	const char *id = json_string_value(json_object_get(rec, "Id"));
	st_autofree char *hostname = o->hostname ? st_xstrdup(o->hostname) : st_xstrndup(id, 12);
	json_t *labels = json_object();
	for (size_t i = 0; i < rc->labels.n; i++)
		json_object_set_new(labels, rc->labels.v[i].key,
				    json_string(rc->labels.v[i].value));
	json_t *config = json_pack(
	    "{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:o, s:o, s:s, s:s, s:o, s:o}",
	    "Hostname", hostname, "Domainname", "", "User",
	    o->user ? o->user : (rc->user ? rc->user : ""), "AttachStdin", o->interactive,
	    "AttachStdout", true, "AttachStderr", true, "Tty", o->tty, "OpenStdin", o->interactive,
	    "StdinOnce", o->interactive, "Env", merge_env(&rc->env, o->env, o->n_env), "Cmd", cmd,
	    "Image", o->image, "WorkingDir",
	    o->workdir ? o->workdir : (rc->working_dir ? rc->working_dir : ""), "Entrypoint", ep,
	    "Labels", labels);
	if (rc->stop_signal)
		json_object_set_new(config, "StopSignal", json_string(rc->stop_signal));
	json_object_set_new(rec, "Config", config);
	json_t *hc = json_pack("{s:o, s:s, s:b, s:b, s:o, s:o, s:O}", "Binds", binds, "NetworkMode",
			       net, "AutoRemove", o->auto_remove, "ReadonlyRootfs", o->read_only,
			       "Tmpfs", tmpfs, "ExtraHosts", hosts, "PortBindings", ports);
	json_object_set_new(rec, "HostConfig", hc);
	/* Docker's Init is null unless --init was given. */
	json_object_set_new(hc, "Init", o->init ? json_true() : json_null());
	if (container_limits_record(o->limits, hc, config, err) < 0 ||
	    container_health_record(o->health, rc->healthcheck, config, err) < 0) {
		json_decref(ports);
		json_decref(mounts);
		return -1;
	}
	json_object_set_new(rec, "NetworkSettings", json_pack("{s:o}", "Ports", ports));
	json_object_set_new(rec, "Mounts", mounts);
	return 0;
}

/*
 * The volumes of the record's Mounts: an anonymous one for each of the image's VOLUMEs that no
 * -v, --mount or --tmpfs covers (Docker's Config.Volumes), then each created if missing, with
 * its Name and Source settled. A destination mounted twice is refused, as Docker refuses it.
 */
static int attach_volumes(struct st_store *s, const struct st_image_config *cfg, json_t *rec,
			  struct st_error **err)
{
	json_t *mounts = json_object_get(rec, "Mounts");
	const json_t *tmpfs = json_object_get(json_object_get(rec, "HostConfig"), "Tmpfs");
	const struct st_image_strv *iv = &cfg->config.volumes;
	json_t *declared = json_object();
	for (size_t i = 0; i < iv->n; i++) {
		json_object_set_new(declared, iv->v[i], json_object());
		bool covered = json_object_get(tmpfs, iv->v[i]) != NULL;
		size_t j;
		json_t *m;
		json_array_foreach(mounts, j, m) covered |=
		    !strcmp(mount_str(m, "Destination"), iv->v[i]);
		if (!covered)
			json_array_append_new(mounts,
					      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s}",
							"Type", "volume", "Name", "", "Source", "",
							"Destination", iv->v[i], "Driver", "local",
							"Mode", "", "RW", true, "Propagation", ""));
	}
	json_object_set_new(json_object_get(rec, "Config"), "Volumes",
			    iv->n ? declared : json_null());
	if (!iv->n)
		json_decref(declared);
	for (size_t i = 0; i < json_array_size(mounts); i++)
		for (size_t j = i + 1; j < json_array_size(mounts); j++) {
			const char *d = mount_str(json_array_get(mounts, i), "Destination");
			if (!strcmp(d, mount_str(json_array_get(mounts, j), "Destination")))
				return st_err(err, ST_E_INVALID, "Duplicate mount point: %s", d);
		}
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m)
	{
		if (strcmp(mount_str(m, "Type"), "volume"))
			continue;
		const char *name = mount_str(m, "Name");
		struct st_volume_create vo = { .name = *name ? name : NULL };
		st_auto(st_volume) struct st_volume *v = NULL;
		bool created;
		if (st_volume_create(s, &vo, &v, &created, err) < 0)
			return -1;
		json_object_set_new(m, "Name", json_string(st_volume_name(v)));
		json_object_set_new(m, "Source", json_string(st_volume_mountpoint(v)));
	}
	return 0;
}

int st_container_create(struct st_store *s, const struct st_container_create *o,
			struct st_container **out, struct st_error **err)
{
	st_auto(st_store_image) struct st_store_image *img = NULL;
	if (st_local_image_find(s, o->image, &img, err) < 0)
		return -1;
	if (o->platform && st_platform_check(o->image, o->platform, img->os, img->architecture,
					     img->variant, err) < 0)
		return -1;
	st_auto(st_image_config) struct st_image_config *cfg = NULL;
	if (st_local_image_config(s, img, &cfg, err) < 0)
		return -1;
	if (o->name && !valid_name(o->name))
		return st_err(err, ST_E_INVALID,
			      "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
			      "allowed",
			      o->name);
	st_autofree char *id = new_id(err);
	if (!id)
		return -1;
	json_t *rec = json_object();
	st_autofree char *now = container_now();
	json_object_set_new(rec, "Id", json_string(id));
	json_object_set_new(rec, "Created", json_string(now));
	/* Held until the record is written: no volume it names is removed meanwhile. */
	st_autoclose int vlock = st_volume_lock_shared(s, err);
	if (vlock < 0 || build_record(o, cfg, rec, err) < 0 ||
	    attach_volumes(s, cfg, rec, err) < 0) {
		close(st_steal_fd(&vlock));
		container_remove_anonymous(s, rec);
		json_decref(rec);
		return -1;
	}
	/* The unpacked layers now, so that start has only to mount them. */
	char **lowers = NULL;
	size_t nl = 0;
	if (st_local_lowers(s, img->layers, img->n_layers, NULL, &lowers, &nl, err) < 0) {
		close(st_steal_fd(&vlock));
		container_remove_anonymous(s, rec);
		json_decref(rec);
		return -1;
	}

	st_autofree char *base = container_base(s);
	st_auto_snapshot_step struct st_snapshot_step step = ST_SNAPSHOT_STEP_INIT;
	int rc = st_snapshot_step_create(base, id, &step, err);
	/* Held until the record is written: a directory without a record whose lock is free
	 * is a create that died (check.c). */
	st_autofree char *lock_path = rc == 0 ? st_path_join(step.dir, "lock") : NULL;
	st_autoclose int lock = -1;
	if (rc == 0) {
		lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lock < 0 || flock(lock, LOCK_EX) < 0)
			rc = st_err_errno(err, "lock '%s'", lock_path);
	}
	st_autofree char *init = rc == 0 ? st_path_join(step.dir, "init") : NULL;
	if (rc == 0)
		rc = make_init(init, json_object_get(rec, "Mounts"),
			       json_object_get(json_object_get(rec, "HostConfig"), "Tmpfs"), err);
	struct st_buf ld = ST_BUF_INIT;
	st_buf_adds(&ld, init ? init : "");
	for (size_t i = 0; i < nl; i++)
		st_buf_addf(&ld, ":%s", lowers[i]);
	st_strv_free(lowers, nl);
	json_object_set_new(rec, "Image", json_string(img->id.str));
	json_object_set_new(rec, "RestartCount", json_integer(0));
	json_object_set_new(rec, "Driver", json_string("overlay2"));
	json_object_set_new(rec, "Platform", json_string(img->os ? img->os : "linux"));
	if (rc == 0)
		json_object_set_new(rec, "GraphDriver",
				    json_pack("{s:{s:s, s:s, s:s, s:s}, s:s}", "Data", "LowerDir",
					      ld.data, "MergedDir", step.merged, "UpperDir",
					      step.upper, "WorkDir", step.work, "Name",
					      "overlay2"));
	st_buf_release(&ld);

	/* The name last but one and the record last: a container without its record is not
	 * listed, and its name link is taken over by the next create that wants it. */
	st_autofree char *name = NULL;
	bool taken = true;
	for (unsigned attempt = 0; rc == 0 && taken; attempt++) {
		free(name);
		name = o->name ? st_xstrdup(o->name) : made_up_name(id, attempt);
		rc = claim_name(base, name, id, &taken, err);
		if (rc == 0 && taken && o->name) {
			char target[128];
			st_autofree char *link = st_xasprintf("%s/names/%s", base, name);
			ssize_t len = readlink(link, target, sizeof(target) - 1);
			target[len > 0 ? len : 0] = '\0';
			rc = st_err(err, ST_E_EXISTS,
				    "Conflict. The container name \"/%s\" is already in use by "
				    "container \"%s\". You have to remove (or rename) that "
				    "container to be able to reuse that name.",
				    name, target);
		}
	}
	bool named = rc == 0;
	if (rc == 0) {
		st_autofree char *n = st_xasprintf("/%s", name);
		json_object_set_new(rec, "Name", json_string(n));
		st_autofree char *path = st_path_join(step.dir, "config.json");
		rc = write_json(path, rec, err);
	}
	if (rc < 0) {
		if (named) {
			st_autofree char *link = st_xasprintf("%s/names/%s", base, name);
			unlink(link);
		}
		if (step.dir) {
			struct st_error *rerr = NULL;
			if (st_snapshot_step_remove(&step, &rerr) < 0)
				st_error_free(rerr);
		}
		close(st_steal_fd(&vlock));
		container_remove_anonymous(s, rec);
		json_decref(rec);
		return -1;
	}
	struct st_container *c = st_xcalloc(1, sizeof(*c));
	c->rec = rec;
	c->dir = st_steal(&step.dir);
	*out = c;
	return 0;
}

/* ---- rename ----------------------------------------------------------------------------- */

int st_container_rename(struct st_store *s, const struct st_container *c, const char *name,
			struct st_error **err)
{
	if (!valid_name(name))
		return st_err(err, ST_E_INVALID,
			      "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
			      "allowed",
			      name);
	const char *old = st_container_name(c);
	if (!strcmp(name, old))
		return st_err(err, ST_E_INVALID,
			      "Renaming a container with the same name as its current name");
	st_autofree char *base = container_base(s);
	bool taken;
	if (claim_name(base, name, st_container_id(c), &taken, err) < 0)
		return -1;
	st_autofree char *link = st_xasprintf("%s/names/%s", base, name);
	if (taken) {
		char target[128];
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		return st_err(err, ST_E_EXISTS,
			      "Error when allocating new name: Conflict. The container name "
			      "\"/%s\" is already in use by container \"%s\". You have to remove "
			      "(or rename) that container to be able to reuse that name.",
			      name, target);
	}
	/* The record is what names the container: until it is rewritten the new link is stale,
	 * and after it the old one (see claim_name()), so a crash anywhere leaves one name. */
	json_t *rec = json_deep_copy(c->rec);
	st_autofree char *slashed = st_xasprintf("/%s", name);
	json_object_set_new(rec, "Name", json_string(slashed));
	st_autofree char *path = container_path(c, "config.json");
	int rc = write_json(path, rec, err);
	json_decref(rec);
	if (rc < 0) {
		unlink(link);
		return st_err_wrap(err, "rename '%s'", old);
	}
	st_autofree char *old_link = st_xasprintf("%s/names/%s", base, old);
	char target[128];
	ssize_t len = readlink(old_link, target, sizeof(target) - 1);
	if (len > 0) {
		target[len] = '\0';
		if (!strcmp(target, st_container_id(c)))
			unlink(old_link);
	}
	return 0;
}

/* ---- remove ----------------------------------------------------------------------------- */

int st_container_remove(struct st_store *s, const struct st_container *c, unsigned flags,
			struct st_error **err)
{
	struct st_container_state st;
	if (st_container_state(s, c, &st, err) < 0)
		return -1;
	bool running = st.status == ST_CONTAINER_RUNNING;
	st_container_state_release(&st);
	if (running && !(flags & ST_CONTAINER_RM_FORCE))
		return st_err(err, ST_E_BUSY,
			      "cannot remove container \"/%s\": container is running: stop the "
			      "container before removing or force remove",
			      st_container_name(c));
	if (running && st_container_kill(s, c, SIGKILL, err) < 0)
		return -1;
	int code;
	if (running && st_container_wait(s, c, &code, err) < 0)
		return -1;
	if (container_remove_dir(s, c, err) < 0)
		return -1;
	if (flags & ST_CONTAINER_RM_VOLUMES)
		container_remove_anonymous(s, c->rec);
	return 0;
}

int container_remove_dir(struct st_store *s, const struct st_container *c, struct st_error **err)
{
	container_runtime_delete(s, c);
	st_autofree char *merged = container_path(c, "merged");
	if (st_snapshot_umount(merged, err) < 0)
		return -1;
	/* Out of sight first: a removal cut short leaves no container half there. */
	st_autofree char *base = container_base(s);
	st_autofree char *gone = st_xasprintf("%s/.removing-%s", base, st_container_id(c));
	if (rename(c->dir, gone) < 0 && errno != ENOENT)
		return st_err_errno(err, "remove container '%s'", st_container_name(c));
	st_autofree char *link = st_xasprintf("%s/names/%s", base, st_container_name(c));
	char target[128];
	ssize_t len = readlink(link, target, sizeof(target) - 1);
	if (len > 0) {
		target[len] = '\0';
		if (!strcmp(target, st_container_id(c)))
			unlink(link);
	}
	return st_rm_rf(gone, err);
}

int st_container_image_used(struct st_store *s, const char *image_id, bool *used,
			    struct st_error **err)
{
	*used = false;
	struct st_container **all = NULL;
	size_t n = 0;
	if (st_container_list(s, &all, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n && !*used; i++)
		*used = !strcmp(st_container_image_id(all[i]), image_id);
	st_container_list_free(all, n);
	return 0;
}

/* ---- signals ---------------------------------------------------------------------------- */

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "ABRT", SIGABRT }, { "ALRM", SIGALRM }, { "BUS", SIGBUS },	   { "CHLD", SIGCHLD },
	{ "CONT", SIGCONT }, { "FPE", SIGFPE },	  { "HUP", SIGHUP },	   { "ILL", SIGILL },
	{ "INT", SIGINT },   { "IO", SIGIO },	  { "KILL", SIGKILL },	   { "PIPE", SIGPIPE },
	{ "PROF", SIGPROF }, { "PWR", SIGPWR },	  { "QUIT", SIGQUIT },	   { "SEGV", SIGSEGV },
	{ "STOP", SIGSTOP }, { "SYS", SIGSYS },	  { "TERM", SIGTERM },	   { "TRAP", SIGTRAP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },	   { "URG", SIGURG },
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "VTALRM", SIGVTALRM }, { "WINCH", SIGWINCH },
	{ "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
};

int st_container_signal_parse(const char *s, int *sig, struct st_error **err)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (*s && !*end) {
		if (n <= 0 || n >= NSIG)
			return st_err(err, ST_E_INVALID, "invalid signal: %s", s);
		*sig = (int)n;
		return 0;
	}
	const char *name = strncasecmp(s, "SIG", 3) ? s : s + 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(*signals); i++)
		if (!strcasecmp(signals[i].name, name)) {
			*sig = signals[i].sig;
			return 0;
		}
	return st_err(err, ST_E_INVALID, "invalid signal: %s", s);
}

int st_container_image_prune(struct st_store *s, unsigned flags, char ***ids, size_t *n,
			     struct st_error **err)
{
	struct st_container **all = NULL;
	size_t nc = 0;
	if (st_container_list(s, &all, &nc, err) < 0)
		return -1;
	st_container_list_free(all, nc);
	if (nc == 0)
		return st_store_image_prune(s, flags, ids, n, err);
	/* One image at a time, as rmi -f removes it, skipping the containers' own. */
	struct st_store_image **imgs = NULL;
	size_t ni = 0;
	*ids = NULL;
	*n = 0;
	unsigned lf = flags & ST_STORE_PRUNE_ALL ? 0 : ST_STORE_LIST_DANGLING;
	if (st_store_image_list(s, lf, &imgs, &ni, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < ni && rc == 0; i++) {
		bool used = false;
		if ((rc = st_container_image_used(s, imgs[i]->id.str, &used, err)) < 0 || used)
			continue;
		struct st_local_removal r;
		if ((rc = st_local_rmi(s, imgs[i]->id.str, ST_LOCAL_RMI_FORCE, &r, err)) < 0)
			break;
		st_local_removal_release(&r);
		*ids = st_xrealloc(*ids, (*n + 1) * sizeof(**ids));
		(*ids)[(*n)++] = st_xstrdup(imgs[i]->id.str);
	}
	st_store_image_list_free(imgs, ni);
	return rc;
}
