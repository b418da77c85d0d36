/* internal.h: JSON reading and writing helpers shared by the manifest and config code. */
#ifndef ST_IMAGE_INTERNAL_H
#define ST_IMAGE_INTERNAL_H

#include "image/image.h"

/* Load 'data' as a JSON object; ST_E_PARSE "<doc>: line L column C: <why>" otherwise. New ref. */
json_t *st_image_json_load(const char *doc, const void *data, size_t len, struct st_error **err);

/* "prefix.key" or "key" when prefix is "" (new string). */
char *st_image_jpath(const char *prefix, const char *key);

/*
 * Read obj[key] as a string into *out (new, or NULL when absent or null). ST_E_INVALID
 * "<doc>: <path>: expected a string" when it has another type, or "...: missing" when
 * 'required' and absent.
 */
int st_image_json_string(const char *doc, const char *prefix, json_t *obj, const char *key,
			 bool required, char **out, struct st_error **err);
/* Read a map of strings (annotations, Labels). Absent or null leaves *m empty. */
int st_image_json_map(const char *doc, const char *prefix, json_t *obj, const char *key,
		      struct st_image_map *m, struct st_error **err);
/* Read a list of strings. Absent or null: unset. */
int st_image_json_strv(const char *doc, const char *prefix, json_t *obj, const char *key,
		       struct st_image_strv *s, struct st_error **err);
/* Read an object used as a set ({"80/tcp": {}}): its keys, sorted. Absent or null: unset. */
int st_image_json_set(const char *doc, const char *prefix, json_t *obj, const char *key,
		      struct st_image_strv *s, struct st_error **err);

/*
 * A JSON string for 's' (new reference). Invalid UTF-8 bytes become U+FFFD, as Go's
 * encoding/json does: jansson would refuse the string and the field would vanish.
 */
json_t *st_image_jstr(const char *s);
/* obj[key] = v (reference stolen), with the key's invalid UTF-8 replaced likewise. */
void st_image_jset(json_t *obj, const char *key, json_t *v);

/* Writers (new references). */
json_t *st_image_json_from_map(const struct st_image_map *m);
json_t *st_image_json_from_strv(const struct st_image_strv *s);
json_t *st_image_json_set_from_strv(const struct st_image_strv *s);

/* Append json_dumps(j, JSON_COMPACT) to out. */
void st_image_json_dump(json_t *j, struct st_buf *out);

#endif
