/*
 * pull.c: images a build names (FROM, COPY --from, RUN --mount from=) found in the store or
 * pulled, as BuildKit does with --pull: "missing" (the default) pulls what the store lacks,
 * "always" pulls each name once per build even when it is there (a moved tag is seen),
 * "never" uses the store only. Pulls are serialized: two stages naming the same image wait
 * for one download.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "builder/internal.h"
#include "local/local.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/banned.h"

struct build_pull {
	enum st_builder_pull policy;
	struct st_registry_opts ro;
	struct st_events events;
	pthread_mutex_t lock;
	struct st_registry *reg; /* made on the first pull */
	char **pulled;		 /* names pulled by this build */
	size_t n_pulled;
	struct st_attest_build used; /* only its materials: every image found */
};

struct build_pull *builder_pull_new(const struct st_builder_opts *o)
{
	struct build_pull *p = st_xcalloc(1, sizeof(*p));
	p->policy = o->pull;
	p->events = o->pull_events;
	if (o->registry)
		p->ro = *o->registry;
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void builder_pull_free(struct build_pull *p)
{
	if (!p)
		return;
	st_registry_free(p->reg);
	for (size_t i = 0; i < p->n_pulled; i++)
		free(p->pulled[i]);
	free(p->pulled);
	st_attest_build_release(&p->used);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static bool was_pulled(const struct build_pull *p, const char *full)
{
	for (size_t i = 0; i < p->n_pulled; i++)
		if (!strcmp(p->pulled[i], full))
			return true;
	return false;
}

/* The step that pulls, and whoever else listens to the build's pulls. */
struct pull_view {
	struct stage_run *r;
	const struct st_events *also;
};

/* A layer that is in the store now, as a line of the pulling step: "3f4a2b1c0d9e: Pull
 * complete", docker pull's words; the statuses in between only go to 'also'. */
static void pull_status(void *ctx, const char *id, const char *status)
{
	struct pull_view *v = ctx;
	st_events_status(v->also, id, status);
	if (!*id || (strcmp(status, "Pull complete") && strcmp(status, "Already exists")))
		return;
	st_autofree char *line = st_xasprintf("%s: %s\n", id, status);
	builder_stage_event(v->r, ST_BUILDER_EVENT_OUTPUT, line, strlen(line), 0);
}

static void pull_bytes(void *ctx, const char *id, uint64_t done, uint64_t total)
{
	struct pull_view *v = ctx;
	st_events_bytes(v->also, id, done, total);
}

/* Pull 'ref' unless this build did already; the caller holds p->lock. */
static int pull_locked(struct stage_run *r, struct build_pull *p, const struct st_image_ref *ref,
		       const char *full, struct st_error **err)
{
	if (was_pulled(p, full))
		return 0;
	if (!p->reg && !(p->reg = st_registry_new(&p->ro, err)))
		return -1;
	st_autofree char *msg = st_xasprintf("pulling %s", full);
	builder_stage_event(r, ST_BUILDER_EVENT_REASON, msg, strlen(msg), 0);
	struct st_registry_pull_result res;
	struct pull_view view = { .r = r, .also = &p->events };
	struct st_registry_pull_opts po = { .platform = r->platform_strict ? &r->platform : NULL,
					    .events = { pull_status, &view, pull_bytes } };
	if (st_registry_pull(r->s, p->reg, ref, &po, &res, err) < 0)
		return -1;
	st_registry_pull_result_release(&res);
	p->pulled = st_xrealloc(p->pulled, (p->n_pulled + 1) * sizeof(*p->pulled));
	p->pulled[p->n_pulled++] = st_xstrdup(full);
	return 0;
}

/*
 * The image of the stage's platform among what 'name' gives in the store (*out), when the
 * build named a platform: an index's entry, or the image itself if it is of that platform.
 * 1 when the index has the platform but the store does not hold its image (to be pulled).
 */
static int for_platform(struct stage_run *r, const char *name, struct st_store_image **out,
			struct st_error **err)
{
	if (!r->platform_strict)
		return 0;
	st_auto(st_store_image) struct st_store_image *found = st_steal(out);
	if (st_local_image_platform(r->s, name, found, &r->platform, out, err) < 0)
		return -1;
	return *out ? 0 : 1;
}

void builder_pull_materials(struct build_pull *p, struct st_attest_build *into)
{
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < p->used.n_materials; i++)
		st_attest_build_add_material(into, p->used.materials[i].uri,
					     &p->used.materials[i].digest);
	pthread_mutex_unlock(&p->lock);
}

/* Note the image found for 'name' among the build's materials. */
static void used(struct stage_run *r, const char *name, const struct st_store_image *img)
{
	struct build_pull *p = builder_puller(r);
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	struct st_error *e = NULL;
	if (st_image_ref_parse(name, &ref, &e) < 0) {
		st_error_free(e); /* an image id: no name to give it */
		return;
	}
	st_autofree char *purl = st_attest_purl(ref, &r->platform);
	pthread_mutex_lock(&p->lock);
	st_attest_build_add_material(&p->used, purl, &img->manifest_digest);
	pthread_mutex_unlock(&p->lock);
}

static int image_find(struct stage_run *r, const char *name, struct st_store_image **out,
		      struct st_error **err)
{
	struct build_pull *p = builder_puller(r);
	struct st_error *ferr = NULL;
	if (p->policy != ST_BUILDER_PULL_ALWAYS &&
	    st_local_image_find(r->s, name, out, &ferr) == 0) {
		/* What the store says an image has is final: no pull for a platform it lacks. */
		int have = for_platform(r, name, out, err);
		if (have <= 0)
			return have;
		if (p->policy == ST_BUILDER_PULL_NEVER)
			return st_err(err, ST_E_NOTFOUND,
				      "--pull=never and the store has no image of '%s' for "
				      "the platform",
				      name);
	}
	if (ferr && (ferr->kind != ST_E_NOTFOUND || p->policy == ST_BUILDER_PULL_NEVER)) {
		*err = ferr;
		if (ferr->kind == ST_E_NOTFOUND)
			st_err_wrap(err, "--pull=never and the store has no '%s'", name);
		return -1;
	}
	st_error_free(ferr);
	/* An image id names nothing in a registry. */
	st_auto(st_image_ref) struct st_image_ref *ref = NULL;
	if (st_image_ref_is_id(name) || st_image_ref_parse(name, &ref, err) < 0)
		return st_local_image_find(r->s, name, out, err);
	st_autofree char *full = st_image_ref_string(ref);
	/* Pulled once per platform a build needs. */
	struct st_buf key = ST_BUF_INIT;
	st_buf_addf(&key, "%s ", full);
	st_platform_format(&r->platform, &key);
	pthread_mutex_lock(&p->lock);
	int rc = pull_locked(r, p, ref, key.data, err);
	pthread_mutex_unlock(&p->lock);
	st_buf_release(&key);
	if (rc < 0 || st_local_image_find(r->s, full, out, err) < 0)
		return -1;
	rc = for_platform(r, full, out, err);
	if (rc == 1)
		return st_err(err, ST_E_NOTFOUND, "pulled '%s' but the platform's image is missing",
			      full);
	return rc;
}

int builder_image_find(struct stage_run *r, const char *name, struct st_store_image **out,
		       struct st_error **err)
{
	if (image_find(r, name, out, err) < 0)
		return -1;
	used(r, name, *out);
	return 0;
}
