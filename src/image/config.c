/*
 * config.c: the image config (OCI image config, Docker image JSON) as a typed struct that
 * keeps the fields it does not know.
 *
 * Serializing writes the typed fields over a copy of the parsed document. That keeps unknown
 * fields (container_config, docker_version, moby.buildkit.buildinfo.v1, ...) and the input's
 * key order inside "config", and it keeps a null that Docker wrote for an unset list, so
 * parse -> serialize changes nothing the caller did not change. The top-level keys are then
 * sorted, which is what Docker (image.Image.MarshalJSON goes through a map) and BuildKit
 * write. Go's encoder escapes <, > and & as \u003c...; jansson does not, so bytes differ from
 * Docker's for such strings, but they are stable, which is what an image ID needs.
 */
#include "image/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/banned.h"

static const char doc[] = "config";

struct st_image_config *st_image_config_new(void)
{
	struct st_image_config *c = st_xcalloc(1, sizeof(*c));
	c->rootfs_type = st_xstrdup("layers");
	return c;
}

struct st_image_healthcheck *st_image_healthcheck_dup(const struct st_image_healthcheck *h)
{
	if (!h)
		return NULL;
	struct st_image_healthcheck *d = st_xcalloc(1, sizeof(*d));
	*d = *h;
	memset(&d->test, 0, sizeof(d->test));
	if (h->test.set)
		st_image_strv_set(&d->test, (const char *const *)h->test.v, h->test.n);
	return d;
}

void st_image_healthcheck_free(struct st_image_healthcheck *h)
{
	if (!h)
		return;
	st_image_strv_release(&h->test);
	free(h);
}

static void history_release(struct st_image_history *h)
{
	free(h->created);
	free(h->created_by);
	free(h->author);
	free(h->comment);
}

static void runconfig_release(struct st_image_runconfig *r)
{
	free(r->user);
	st_image_strv_release(&r->exposed_ports);
	st_image_strv_release(&r->env);
	st_image_strv_release(&r->entrypoint);
	st_image_strv_release(&r->cmd);
	st_image_strv_release(&r->volumes);
	free(r->working_dir);
	st_image_map_release(&r->labels);
	free(r->stop_signal);
	st_image_healthcheck_free(r->healthcheck);
	st_image_strv_release(&r->on_build);
	st_image_strv_release(&r->shell);
}

void st_image_config_free(struct st_image_config *c)
{
	if (!c)
		return;
	free(c->created);
	free(c->author);
	free(c->comment);
	free(c->architecture);
	free(c->os);
	free(c->variant);
	free(c->os_version);
	runconfig_release(&c->config);
	free(c->rootfs_type);
	free(c->diff_ids);
	for (size_t i = 0; i < c->n_history; i++)
		history_release(&c->history[i]);
	free(c->history);
	json_decref(c->raw);
	free(c);
}

void st_image_config_freep(struct st_image_config **c)
{
	st_image_config_free(*c);
}

/* ---- parsing ---- */

/* Docker's strslice: a list, or (old images) a single string meaning a list of one. */
static int parse_strslice(const char *prefix, json_t *o, const char *key, struct st_image_strv *s,
			  struct st_error **err)
{
	json_t *v = json_object_get(o, key);
	if (json_is_string(v)) {
		st_image_strv_release(s);
		st_image_strv_push(s, json_string_value(v));
		return 0;
	}
	return st_image_json_strv(doc, prefix, o, key, s, err);
}

static int parse_int(const char *prefix, json_t *o, const char *key, int64_t *out,
		     struct st_error **err)
{
	json_t *v = json_object_get(o, key);
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return st_err(err, ST_E_INVALID, "%s: %s.%s: expected an integer", doc, prefix,
			      key);
	*out = json_integer_value(v);
	return 0;
}

static int parse_bool(const char *prefix, json_t *o, const char *key, bool *out,
		      struct st_error **err)
{
	json_t *v = json_object_get(o, key);
	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		st_autofree char *p = st_image_jpath(prefix, key);
		return st_err(err, ST_E_INVALID, "%s: %s: expected a boolean", doc, p);
	}
	*out = json_is_true(v);
	return 0;
}

static int parse_healthcheck(json_t *o, struct st_image_healthcheck **out, struct st_error **err)
{
	static const char p[] = "config.Healthcheck";
	json_t *h = json_object_get(o, "Healthcheck");
	if (!h || json_is_null(h))
		return 0;
	if (!json_is_object(h))
		return st_err(err, ST_E_INVALID, "%s: %s: expected an object", doc, p);
	struct st_image_healthcheck *hc = st_xcalloc(1, sizeof(*hc));
	*out = hc;
	if (st_image_json_strv(doc, p, h, "Test", &hc->test, err) < 0 ||
	    parse_int(p, h, "Interval", &hc->interval_ns, err) < 0 ||
	    parse_int(p, h, "Timeout", &hc->timeout_ns, err) < 0 ||
	    parse_int(p, h, "StartPeriod", &hc->start_period_ns, err) < 0 ||
	    parse_int(p, h, "StartInterval", &hc->start_interval_ns, err) < 0 ||
	    parse_int(p, h, "Retries", &hc->retries, err) < 0)
		return -1;
	return 0;
}

static int parse_runconfig(json_t *root, struct st_image_runconfig *r, struct st_error **err)
{
	static const char p[] = "config";
	json_t *o = json_object_get(root, "config");
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return st_err(err, ST_E_INVALID, "%s: config: expected an object", doc);
	if (st_image_json_string(doc, p, o, "User", false, &r->user, err) < 0 ||
	    st_image_json_set(doc, p, o, "ExposedPorts", &r->exposed_ports, err) < 0 ||
	    st_image_json_strv(doc, p, o, "Env", &r->env, err) < 0 ||
	    parse_strslice(p, o, "Entrypoint", &r->entrypoint, err) < 0 ||
	    parse_strslice(p, o, "Cmd", &r->cmd, err) < 0 ||
	    st_image_json_set(doc, p, o, "Volumes", &r->volumes, err) < 0 ||
	    st_image_json_string(doc, p, o, "WorkingDir", false, &r->working_dir, err) < 0 ||
	    st_image_json_map(doc, p, o, "Labels", &r->labels, err) < 0 ||
	    st_image_json_string(doc, p, o, "StopSignal", false, &r->stop_signal, err) < 0 ||
	    parse_bool(p, o, "ArgsEscaped", &r->args_escaped, err) < 0 ||
	    parse_healthcheck(o, &r->healthcheck, err) < 0 ||
	    st_image_json_strv(doc, p, o, "OnBuild", &r->on_build, err) < 0 ||
	    parse_strslice(p, o, "Shell", &r->shell, err) < 0)
		return -1;
	return 0;
}

static int parse_rootfs(json_t *root, struct st_image_config *c, struct st_error **err)
{
	json_t *o = json_object_get(root, "rootfs");
	size_t i;
	json_t *e;
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return st_err(err, ST_E_INVALID, "%s: rootfs: expected an object", doc);
	if (st_image_json_string(doc, "rootfs", o, "type", false, &c->rootfs_type, err) < 0)
		return -1;
	json_t *ids = json_object_get(o, "diff_ids");
	if (!ids || json_is_null(ids))
		return 0;
	if (!json_is_array(ids))
		return st_err(err, ST_E_INVALID, "%s: rootfs.diff_ids: expected an array", doc);
	c->diff_ids =
	    st_xcalloc(json_array_size(ids) ? json_array_size(ids) : 1, sizeof(*c->diff_ids));
	json_array_foreach(ids, i, e)
	{
		const char *s = json_string_value(e);
		if (!st_digest_valid(s))
			return st_err(err, ST_E_INVALID,
				      "%s: rootfs.diff_ids[%zu]: invalid digest '%s'", doc, i,
				      s ? s : "(not a string)");
		memcpy(c->diff_ids[i].str, s, ST_DIGEST_STR_LEN + 1);
		c->n_diff_ids++;
	}
	return 0;
}

static int parse_history(json_t *root, struct st_image_config *c, struct st_error **err)
{
	json_t *a = json_object_get(root, "history");
	size_t i;
	json_t *e;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return st_err(err, ST_E_INVALID, "%s: history: expected an array", doc);
	c->history = st_xcalloc(json_array_size(a) ? json_array_size(a) : 1, sizeof(*c->history));
	json_array_foreach(a, i, e)
	{
		char p[48];
		struct st_image_history *h = &c->history[i];
		snprintf(p, sizeof(p), "history[%zu]", i);
		c->n_history++;
		if (!json_is_object(e))
			return st_err(err, ST_E_INVALID, "%s: %s: expected an object", doc, p);
		if (st_image_json_string(doc, p, e, "created", false, &h->created, err) < 0 ||
		    st_image_json_string(doc, p, e, "created_by", false, &h->created_by, err) < 0 ||
		    st_image_json_string(doc, p, e, "author", false, &h->author, err) < 0 ||
		    st_image_json_string(doc, p, e, "comment", false, &h->comment, err) < 0 ||
		    parse_bool(p, e, "empty_layer", &h->empty_layer, err) < 0)
			return -1;
	}
	return 0;
}

int st_image_config_parse(const void *data, size_t len, struct st_image_config **out,
			  struct st_error **err)
{
	json_t *j = st_image_json_load(doc, data, len, err);
	if (!j)
		return -1;
	st_auto(st_image_config) struct st_image_config *c = st_xcalloc(1, sizeof(*c));
	c->raw = j;
	if (st_image_json_string(doc, "", j, "created", false, &c->created, err) < 0 ||
	    st_image_json_string(doc, "", j, "author", false, &c->author, err) < 0 ||
	    st_image_json_string(doc, "", j, "comment", false, &c->comment, err) < 0 ||
	    st_image_json_string(doc, "", j, "architecture", false, &c->architecture, err) < 0 ||
	    st_image_json_string(doc, "", j, "os", false, &c->os, err) < 0 ||
	    st_image_json_string(doc, "", j, "variant", false, &c->variant, err) < 0 ||
	    st_image_json_string(doc, "", j, "os.version", false, &c->os_version, err) < 0 ||
	    parse_runconfig(j, &c->config, err) < 0 || parse_rootfs(j, c, err) < 0 ||
	    parse_history(j, c, err) < 0)
		return -1;
	*out = st_steal(&c);
	return 0;
}

/* ---- serializing ---- */

/* An unset value: keep a null the input had, drop anything else (the caller cleared it). */
static void put_unset(json_t *o, const char *key)
{
	json_t *old = json_object_get(o, key);
	if (old && !json_is_null(old))
		json_object_del(o, key);
}

static void put_str(json_t *o, const char *key, const char *val)
{
	if (val)
		json_object_set_new(o, key, st_image_jstr(val));
	else
		put_unset(o, key);
}

static void put_strv(json_t *o, const char *key, const struct st_image_strv *s)
{
	if (s->set)
		json_object_set_new(o, key, st_image_json_from_strv(s));
	else
		put_unset(o, key);
}

static void put_set(json_t *o, const char *key, const struct st_image_strv *s)
{
	if (s->set)
		json_object_set_new(o, key, st_image_json_set_from_strv(s));
	else
		put_unset(o, key);
}

static json_t *healthcheck_json(const struct st_image_healthcheck *h)
{
	/* Go's container.HealthConfig: Test, then the durations and Retries with omitempty */
	json_t *o = json_object();
	json_object_set_new(o, "Test",
			    h->test.set ? st_image_json_from_strv(&h->test) : json_null());
	if (h->interval_ns)
		json_object_set_new(o, "Interval", json_integer(h->interval_ns));
	if (h->timeout_ns)
		json_object_set_new(o, "Timeout", json_integer(h->timeout_ns));
	if (h->start_period_ns)
		json_object_set_new(o, "StartPeriod", json_integer(h->start_period_ns));
	if (h->start_interval_ns)
		json_object_set_new(o, "StartInterval", json_integer(h->start_interval_ns));
	if (h->retries)
		json_object_set_new(o, "Retries", json_integer(h->retries));
	return o;
}

static bool runconfig_empty(const struct st_image_runconfig *r)
{
	return !r->user && !r->exposed_ports.set && !r->env.set && !r->entrypoint.set &&
	       !r->cmd.set && !r->volumes.set && !r->working_dir && !r->labels.n &&
	       !r->stop_signal && !r->args_escaped && !r->healthcheck && !r->on_build.set &&
	       !r->shell.set;
}

static void write_runconfig(json_t *root, const struct st_image_runconfig *r)
{
	json_t *o = json_object_get(root, "config");
	if (!json_is_object(o)) {
		if (runconfig_empty(r))
			return; /* absent or null stays so */
		o = json_object();
		json_object_set_new(root, "config", o);
	}
	put_str(o, "User", r->user);
	put_set(o, "ExposedPorts", &r->exposed_ports);
	put_strv(o, "Env", &r->env);
	put_strv(o, "Entrypoint", &r->entrypoint);
	put_strv(o, "Cmd", &r->cmd);
	put_set(o, "Volumes", &r->volumes);
	put_str(o, "WorkingDir", r->working_dir);
	if (r->labels.n || json_is_object(json_object_get(o, "Labels")))
		json_object_set_new(o, "Labels", st_image_json_from_map(&r->labels));
	else
		put_unset(o, "Labels");
	put_str(o, "StopSignal", r->stop_signal);
	if (r->args_escaped)
		json_object_set_new(o, "ArgsEscaped", json_true());
	else if (json_is_true(json_object_get(o, "ArgsEscaped")))
		json_object_del(o, "ArgsEscaped");
	if (r->healthcheck)
		json_object_set_new(o, "Healthcheck", healthcheck_json(r->healthcheck));
	else
		put_unset(o, "Healthcheck");
	put_strv(o, "OnBuild", &r->on_build);
	put_strv(o, "Shell", &r->shell);
}

static json_t *history_json(const struct st_image_config *c)
{
	json_t *a = json_array();
	for (size_t i = 0; i < c->n_history; i++) {
		const struct st_image_history *h = &c->history[i];
		json_t *o = json_object(); /* OCI's History: all omitempty */
		if (h->created && *h->created)
			json_object_set_new(o, "created", st_image_jstr(h->created));
		if (h->created_by && *h->created_by)
			json_object_set_new(o, "created_by", st_image_jstr(h->created_by));
		if (h->author && *h->author)
			json_object_set_new(o, "author", st_image_jstr(h->author));
		if (h->comment && *h->comment)
			json_object_set_new(o, "comment", st_image_jstr(h->comment));
		if (h->empty_layer)
			json_object_set_new(o, "empty_layer", json_true());
		json_array_append_new(a, o);
	}
	return a;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *sorted_copy(json_t *o)
{
	size_t n = json_object_size(o), i = 0;
	const char **keys = st_xcalloc(n ? n : 1, sizeof(*keys));
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_key);
	json_t *s = json_object();
	for (i = 0; i < n; i++)
		json_object_set(s, keys[i], json_object_get(o, keys[i]));
	free(keys);
	return s;
}

static json_t *config_json(const struct st_image_config *c)
{
	json_t *root = c->raw ? json_deep_copy(c->raw) : json_object();
	put_str(root, "created", c->created);
	put_str(root, "author", c->author);
	put_str(root, "comment", c->comment);
	put_str(root, "architecture", c->architecture);
	put_str(root, "os", c->os);
	put_str(root, "variant", c->variant);
	put_str(root, "os.version", c->os_version);
	write_runconfig(root, &c->config);

	json_t *rootfs = json_object();
	json_object_set_new(rootfs, "type",
			    st_image_jstr(c->rootfs_type ? c->rootfs_type : "layers"));
	json_t *ids = json_array();
	for (size_t i = 0; i < c->n_diff_ids; i++)
		json_array_append_new(ids, st_image_jstr(c->diff_ids[i].str));
	json_object_set_new(rootfs, "diff_ids", ids);
	json_object_set_new(root, "rootfs", rootfs);

	if (c->n_history || json_object_get(root, "history"))
		json_object_set_new(root, "history", history_json(c));

	json_t *s = sorted_copy(root);
	json_decref(root);
	return s;
}

void st_image_config_serialize(const struct st_image_config *c, struct st_buf *out)
{
	json_t *j = config_json(c);
	st_image_json_dump(j, out);
	json_decref(j);
}

void st_image_config_digest(const struct st_image_config *c, struct st_digest *out)
{
	struct st_buf b = ST_BUF_INIT;
	st_image_config_serialize(c, &b);
	st_digest_of(b.data, b.len, out);
	st_buf_release(&b);
}

/*
 * A copy through the serializer: by construction the copy serializes to the same bytes, and
 * there is one code path for every field instead of a second, hand-kept list.
 */
struct st_image_config *st_image_config_dup(const struct st_image_config *c)
{
	struct st_buf b = ST_BUF_INIT;
	struct st_image_config *d = NULL;
	struct st_error *err = NULL;
	st_image_config_serialize(c, &b);
	if (st_image_config_parse(b.data, b.len, &d, &err) < 0)
		abort(); /* our own output must parse: a bug, not a runtime condition */
	st_buf_release(&b);
	return d;
}

/* ---- helpers for the build engine ---- */

static bool env_key_is(const char *entry, const char *key, size_t klen)
{
	return strncmp(entry, key, klen) == 0 && (entry[klen] == '=' || entry[klen] == 0);
}

const char *st_image_config_env_get(const struct st_image_config *c, const char *key)
{
	size_t klen = strlen(key);
	const struct st_image_strv *env = &c->config.env;
	for (size_t i = 0; i < env->n; i++)
		if (env_key_is(env->v[i], key, klen))
			return env->v[i][klen] == '=' ? env->v[i] + klen + 1 : "";
	return NULL;
}

void st_image_config_env_set(struct st_image_config *c, const char *key, const char *value)
{
	size_t klen = strlen(key);
	struct st_image_strv *env = &c->config.env;
	char *entry = st_xasprintf("%s=%s", key, value);
	for (size_t i = 0; i < env->n; i++) {
		if (env_key_is(env->v[i], key, klen)) {
			free(env->v[i]);
			env->v[i] = entry;
			return;
		}
	}
	env->v = st_xrealloc(env->v, (env->n + 1) * sizeof(*env->v));
	env->v[env->n++] = entry;
	env->set = true;
}

/* FNV-1a of an Env entry's key: the bytes before '=' (or all of them). */
static size_t env_key_hash(const char *s, size_t klen)
{
	size_t h = 14695981039346656037u;
	for (size_t i = 0; i < klen; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211u;
	return h;
}

/* The slot of 'key' in an open-addressing index of env->v (1 + position; 0 is empty). */
static size_t *env_slot(size_t *slots, size_t cap, const struct st_image_strv *env, const char *key,
			size_t klen)
{
	for (size_t i = env_key_hash(key, klen) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!slots[i] || env_key_is(env->v[slots[i] - 1], key, klen))
			return &slots[i];
}

void st_image_config_env_set_pairs(struct st_image_config *c, char *const *kv, size_t n)
{
	if (!n)
		return;
	struct st_image_strv *env = &c->config.env;
	/* An index of the keys: an ENV of many pairs must not scan Env once per pair. */
	size_t cap = 16;
	while (cap < 2 * (env->n + n))
		cap *= 2;
	size_t *slots = st_xcalloc(cap, sizeof(*slots));
	for (size_t i = 0; i < env->n; i++) {
		const char *e = env->v[i];
		size_t *slot = env_slot(slots, cap, env, e, strcspn(e, "="));
		if (!*slot) /* of repeated keys, the first is the one env_set replaces */
			*slot = i + 1;
	}
	env->v = st_xrealloc(env->v, (env->n + n) * sizeof(*env->v));
	for (size_t p = 0; p < n; p++) {
		const char *key = kv[2 * p];
		size_t *slot = env_slot(slots, cap, env, key, strlen(key));
		char *entry = st_xasprintf("%s=%s", key, kv[2 * p + 1]);
		if (*slot) {
			free(env->v[*slot - 1]);
			env->v[*slot - 1] = entry;
		} else {
			env->v[env->n++] = entry;
			*slot = env->n;
		}
	}
	env->set = true;
	free(slots);
}

static char *dup_or_null(const char *s)
{
	return s ? st_xstrdup(s) : NULL;
}

void st_image_config_add_history(struct st_image_config *c, const struct st_image_history *h)
{
	/* copy before growing: 'h' may point into c->history */
	struct st_image_history copy = {
		.created = dup_or_null(h->created),
		.created_by = dup_or_null(h->created_by),
		.author = dup_or_null(h->author),
		.comment = dup_or_null(h->comment),
		.empty_layer = h->empty_layer,
	};
	c->history = st_xrealloc(c->history, (c->n_history + 1) * sizeof(*c->history));
	c->history[c->n_history++] = copy;
}

void st_image_config_add_diff_id(struct st_image_config *c, const struct st_digest *d)
{
	struct st_digest copy = *d; /* 'd' may point into c->diff_ids */
	c->diff_ids = st_xrealloc(c->diff_ids, (c->n_diff_ids + 1) * sizeof(*c->diff_ids));
	c->diff_ids[c->n_diff_ids++] = copy;
}

/* ---- docker image inspect ---- */

static json_t *strv_or_null(const struct st_image_strv *s)
{
	return s->set ? st_image_json_from_strv(s) : json_null();
}

static json_t *str_array(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, st_image_jstr(v[i]));
	return a;
}

static const char *raw_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static json_t *inspect_config(const struct st_image_config *c)
{
	/* Docker's container.Config, in its field order; "?" fields are omitempty there */
	const struct st_image_runconfig *r = &c->config;
	json_t *raw = json_object_get(c->raw, "config");
	json_t *o = json_object();
	json_object_set_new(o, "Hostname", st_image_jstr(raw_str(raw, "Hostname")));
	json_object_set_new(o, "Domainname", st_image_jstr(raw_str(raw, "Domainname")));
	json_object_set_new(o, "User", st_image_jstr(r->user ? r->user : ""));
	json_object_set_new(o, "AttachStdin", json_false());
	json_object_set_new(o, "AttachStdout", json_false());
	json_object_set_new(o, "AttachStderr", json_false());
	if (r->exposed_ports.n)
		json_object_set_new(o, "ExposedPorts",
				    st_image_json_set_from_strv(&r->exposed_ports));
	json_object_set_new(o, "Tty", json_false());
	json_object_set_new(o, "OpenStdin", json_false());
	json_object_set_new(o, "StdinOnce", json_false());
	json_object_set_new(o, "Env", strv_or_null(&r->env));
	json_object_set_new(o, "Cmd", strv_or_null(&r->cmd));
	if (r->healthcheck)
		json_object_set_new(o, "Healthcheck", healthcheck_json(r->healthcheck));
	if (r->args_escaped)
		json_object_set_new(o, "ArgsEscaped", json_true());
	json_object_set_new(o, "Image", st_image_jstr(raw_str(raw, "Image")));
	json_object_set_new(
	    o, "Volumes", r->volumes.set ? st_image_json_set_from_strv(&r->volumes) : json_null());
	json_object_set_new(o, "WorkingDir", st_image_jstr(r->working_dir ? r->working_dir : ""));
	json_object_set_new(o, "Entrypoint", strv_or_null(&r->entrypoint));
	json_object_set_new(o, "OnBuild", strv_or_null(&r->on_build));
	json_object_set_new(o, "Labels",
			    r->labels.n ? st_image_json_from_map(&r->labels) : json_null());
	if (r->stop_signal && *r->stop_signal)
		json_object_set_new(o, "StopSignal", st_image_jstr(r->stop_signal));
	if (r->shell.set && r->shell.n)
		json_object_set_new(o, "Shell", st_image_json_from_strv(&r->shell));
	return o;
}

json_t *st_image_config_inspect(const struct st_image_config *c,
				const struct st_image_inspect_info *info)
{
	json_t *o = json_object();
	json_object_set_new(o, "Id", st_image_jstr(info->id ? info->id : ""));
	json_object_set_new(o, "RepoTags", str_array(info->repo_tags, info->n_repo_tags));
	json_object_set_new(o, "RepoDigests", str_array(info->repo_digests, info->n_repo_digests));
	json_object_set_new(o, "Parent", st_image_jstr(""));
	json_object_set_new(o, "Comment", st_image_jstr(c->comment ? c->comment : ""));
	json_object_set_new(o, "Created", st_image_jstr(c->created ? c->created : ""));
	json_object_set_new(o, "DockerVersion", st_image_jstr(raw_str(c->raw, "docker_version")));
	json_object_set_new(o, "Author", st_image_jstr(c->author ? c->author : ""));
	json_object_set_new(o, "Config", inspect_config(c));
	json_object_set_new(o, "Architecture",
			    st_image_jstr(c->architecture ? c->architecture : ""));
	if (c->variant && *c->variant)
		json_object_set_new(o, "Variant", st_image_jstr(c->variant));
	json_object_set_new(o, "Os", st_image_jstr(c->os ? c->os : ""));
	if (c->os_version && *c->os_version)
		json_object_set_new(o, "OsVersion", st_image_jstr(c->os_version));
	json_object_set_new(o, "Size", json_integer(info->size));
	json_t *rootfs = json_object();
	json_object_set_new(rootfs, "Type",
			    st_image_jstr(c->rootfs_type ? c->rootfs_type : "layers"));
	json_t *layers = json_array();
	for (size_t i = 0; i < c->n_diff_ids; i++)
		json_array_append_new(layers, st_image_jstr(c->diff_ids[i].str));
	json_object_set_new(rootfs, "Layers", layers);
	json_object_set_new(o, "RootFS", rootfs);
	json_t *meta = json_object();
	json_object_set_new(
	    meta, "LastTagTime",
	    st_image_jstr(info->last_tag_time ? info->last_tag_time : "0001-01-01T00:00:00Z"));
	json_object_set_new(o, "Metadata", meta);
	return o;
}
