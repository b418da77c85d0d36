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

#include "builder/engine.h"
#include "local/local.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/banned.h"

struct build_pull {
	enum st_builder_pull policy;
	struct st_registry_opts ro;
	pthread_mutex_t lock;
	struct st_registry *reg; /* made on the first pull */
	char **pulled;		 /* names pulled by this build */
	size_t n_pulled;
};

struct build_pull *builder_pull_new(const struct st_builder_opts *o)
{
	struct build_pull *p = st_xcalloc(1, sizeof(*p));
	p->policy = o->pull;
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
	if (st_registry_pull(r->s, p->reg, ref, NULL, &res, err) < 0)
		return -1;
	st_registry_pull_result_release(&res);
	p->pulled = st_xrealloc(p->pulled, (p->n_pulled + 1) * sizeof(*p->pulled));
	p->pulled[p->n_pulled++] = st_xstrdup(full);
	return 0;
}

int builder_image_find(struct stage_run *r, const char *name, struct st_store_image **out,
		       struct st_error **err)
{
	struct build_pull *p = builder_puller(r);
	struct st_error *ferr = NULL;
	if (p->policy != ST_BUILDER_PULL_ALWAYS && st_local_image_find(r->s, name, out, &ferr) == 0)
		return 0;
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
	pthread_mutex_lock(&p->lock);
	int rc = pull_locked(r, p, ref, full, err);
	pthread_mutex_unlock(&p->lock);
	if (rc < 0)
		return -1;
	return st_local_image_find(r->s, full, out, err);
}
