/* json.c: typed reading of jansson values with path-naming errors; maps and string lists. */
#include "image/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/banned.h"

json_t *st_image_json_load(const char *doc, const void *data, size_t len, struct st_error **err)
{
	json_error_t je;
	json_t *j = json_loadb(data ? data : "", len, 0, &je);
	if (!j) {
		st_err(err, ST_E_PARSE, "%s: line %d column %d: %s", doc, je.line, je.column,
		       je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		st_err(err, ST_E_INVALID, "%s: expected a JSON object", doc);
		return NULL;
	}
	return j;
}

char *st_image_jpath(const char *prefix, const char *key)
{
	if (!prefix || !*prefix)
		return st_xstrdup(key);
	return st_xasprintf("%s.%s", prefix, key);
}

static int type_err(const char *doc, const char *prefix, const char *key, const char *what,
		    struct st_error **err)
{
	st_autofree char *p = st_image_jpath(prefix, key);
	return st_err(err, ST_E_INVALID, "%s: %s: expected %s", doc, p, what);
}

int st_image_json_string(const char *doc, const char *prefix, json_t *obj, const char *key,
			 bool required, char **out, struct st_error **err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required) {
			st_autofree char *p = st_image_jpath(prefix, key);
			return st_err(err, ST_E_INVALID, "%s: %s: missing", doc, p);
		}
		return 0;
	}
	if (!json_is_string(v))
		return type_err(doc, prefix, key, "a string", err);
	*out = st_xstrndup(json_string_value(v), json_string_length(v));
	return 0;
}

int st_image_json_map(const char *doc, const char *prefix, json_t *obj, const char *key,
		      struct st_image_map *m, struct st_error **err)
{
	json_t *v = json_object_get(obj, key);
	const char *k;
	json_t *val;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return type_err(doc, prefix, key, "an object of strings", err);
	json_object_foreach(v, k, val)
	{
		if (!json_is_string(val)) {
			st_autofree char *p = st_image_jpath(prefix, key);
			return st_err(err, ST_E_INVALID, "%s: %s[\"%s\"]: expected a string", doc,
				      p, k);
		}
		st_image_map_set(m, k, json_string_value(val));
	}
	return 0;
}

int st_image_json_strv(const char *doc, const char *prefix, json_t *obj, const char *key,
		       struct st_image_strv *s, struct st_error **err)
{
	json_t *v = json_object_get(obj, key);
	size_t i;
	json_t *e;
	st_image_strv_release(s);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return type_err(doc, prefix, key, "an array of strings", err);
	s->set = true;
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e)) {
			st_autofree char *p = st_image_jpath(prefix, key);
			st_image_strv_release(s);
			return st_err(err, ST_E_INVALID, "%s: %s[%zu]: expected a string", doc, p,
				      i);
		}
		st_image_strv_push(s, json_string_value(e));
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int st_image_json_set(const char *doc, const char *prefix, json_t *obj, const char *key,
		      struct st_image_strv *s, struct st_error **err)
{
	json_t *v = json_object_get(obj, key);
	const char *k;
	json_t *val;
	st_image_strv_release(s);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return type_err(doc, prefix, key, "an object", err);
	s->set = true;
	json_object_foreach(v, k, val) st_image_strv_push(s, k);
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_str);
	return 0;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if the bytes there are not one. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned min, cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2, min = 0x80, cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, min = 0x800, cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, min = 0x10000, cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* New string with invalid UTF-8 replaced by U+FFFD; NULL if 's' is valid already. */
static char *utf8_fix(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;
	while (*p && (n = utf8_len(p)) != 0)
		p += n;
	if (!*p)
		return NULL;
	struct st_buf b = ST_BUF_INIT;
	st_buf_add(&b, s, (size_t)((const char *)p - s));
	while (*p) {
		n = utf8_len(p);
		if (n) {
			st_buf_add(&b, p, n);
			p += n;
		} else {
			st_buf_adds(&b, "\xef\xbf\xbd");
			p++;
		}
	}
	return st_buf_detach(&b, NULL);
}

json_t *st_image_jstr(const char *s)
{
	st_autofree char *fixed = utf8_fix(s ? s : "");
	return json_string(fixed ? fixed : s ? s : "");
}

void st_image_jset(json_t *obj, const char *key, json_t *v)
{
	st_autofree char *fixed = utf8_fix(key);
	json_object_set_new(obj, fixed ? fixed : key, v);
}

json_t *st_image_json_from_map(const struct st_image_map *m)
{
	json_t *o = json_object();
	/* the map is kept sorted, so insertion order is key order */
	for (size_t i = 0; i < m->n; i++)
		st_image_jset(o, m->v[i].key, st_image_jstr(m->v[i].value));
	return o;
}

json_t *st_image_json_from_strv(const struct st_image_strv *s)
{
	json_t *a = json_array();
	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(a, st_image_jstr(s->v[i]));
	return a;
}

json_t *st_image_json_set_from_strv(const struct st_image_strv *s)
{
	json_t *o = json_object();
	char **sorted = st_xcalloc(s->n ? s->n : 1, sizeof(char *));
	if (s->n)
		memcpy(sorted, s->v, s->n * sizeof(char *));
	if (s->n > 1)
		qsort(sorted, s->n, sizeof(*sorted), cmp_str);
	for (size_t i = 0; i < s->n; i++)
		st_image_jset(o, sorted[i], json_object());
	free(sorted);
	return o;
}

void st_image_json_dump(json_t *j, struct st_buf *out)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!s)
		abort(); /* only on out-of-memory */
	st_buf_adds(out, s);
	free(s);
}

/* Maps: a sorted array, binary searched. Maps here are small (labels, annotations). */
static size_t map_find(const struct st_image_map *m, const char *key, bool *found)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(m->v[mid].key, key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

const char *st_image_map_get(const struct st_image_map *m, const char *key)
{
	bool found;
	size_t i = map_find(m, key, &found);
	return found ? m->v[i].value : NULL;
}

void st_image_map_set(struct st_image_map *m, const char *key, const char *value)
{
	bool found;
	size_t i = map_find(m, key, &found);
	if (found) {
		free(m->v[i].value);
		m->v[i].value = st_xstrdup(value);
		return;
	}
	m->v = st_xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
	memmove(m->v + i + 1, m->v + i, (m->n - i) * sizeof(*m->v));
	m->v[i].key = st_xstrdup(key);
	m->v[i].value = st_xstrdup(value);
	m->n++;
}

struct kv_at {
	struct st_image_kv kv;
	size_t at; /* order of setting: of equal keys, the last set wins */
};

static int kv_at_cmp(const void *a, const void *b)
{
	const struct kv_at *x = a, *y = b;
	int c = strcmp(x->kv.key, y->kv.key);
	return c ? c : x->at < y->at ? -1 : 1;
}

void st_image_map_set_pairs(struct st_image_map *m, char *const *kv, size_t n)
{
	if (!n)
		return;
	/* One sort for all pairs: inserting them one by one would move the array for each. */
	size_t total = m->n + n;
	struct kv_at *all = st_xcalloc(total, sizeof(*all));
	for (size_t i = 0; i < m->n; i++)
		all[i] = (struct kv_at){ m->v[i], i };
	for (size_t p = 0; p < n; p++)
		all[m->n + p] =
		    (struct kv_at){ { st_xstrdup(kv[2 * p]), st_xstrdup(kv[2 * p + 1]) },
				    m->n + p };
	qsort(all, total, sizeof(*all), kv_at_cmp);
	m->v = st_xrealloc(m->v, total * sizeof(*m->v));
	m->n = 0;
	for (size_t i = 0; i < total; i++) {
		if (i + 1 < total && !strcmp(all[i].kv.key, all[i + 1].kv.key)) {
			free(all[i].kv.key);
			free(all[i].kv.value);
			continue;
		}
		m->v[m->n++] = all[i].kv;
	}
	free(all);
}

bool st_image_map_del(struct st_image_map *m, const char *key)
{
	bool found;
	size_t i = map_find(m, key, &found);
	if (!found)
		return false;
	free(m->v[i].key);
	free(m->v[i].value);
	memmove(m->v + i, m->v + i + 1, (m->n - i - 1) * sizeof(*m->v));
	m->n--;
	return true;
}

void st_image_map_release(struct st_image_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].value);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

void st_image_strv_push(struct st_image_strv *s, const char *str)
{
	s->v = st_xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = st_xstrdup(str);
	s->set = true;
}

void st_image_strv_release(struct st_image_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->set = false;
}

void st_image_strv_set(struct st_image_strv *s, const char *const *v, size_t n)
{
	st_image_strv_release(s);
	s->set = true;
	for (size_t i = 0; i < n; i++)
		st_image_strv_push(s, v[i]);
}

bool st_image_strv_has(const struct st_image_strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return true;
	return false;
}
