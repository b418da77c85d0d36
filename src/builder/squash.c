/*
 * squash.c: --squash, as Docker's experimental flag has it: the layers the final stage added
 * on top of its base become one layer, the difference between the base's filesystem and the
 * image's; the base's layers stay as they are. The history keeps every entry, the stage's own
 * marked as empty (their layer is the merged one now), and gains the entry Docker writes for
 * the merged layer: "merge <image id> to <base id>" ("create new from <image id>" on scratch).
 *
 * The merged layer is made as a RUN's is: the stage's layers are applied, bottom first, onto an
 * overlay of the base's, so that what they delete from the base becomes a whiteout in the upper
 * dir, and the upper dir becomes the layer.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/internal.h"
#include "local/local.h"
#include "snapshot/snapshot.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/banned.h"

/* Apply the stage's own layers of 'fin' onto the mounted overlay 'merged'. */
static int apply_layers(struct stage_run *r, const struct build_state *fin, const char *merged,
			struct st_error **err)
{
	for (size_t i = r->base_layers; i < fin->n_layers; i++) {
		st_autoclose int fd = -1;
		if (st_local_layer_open(r->s, &fin->layers[i], &fd, err) < 0)
			return -1;
		struct st_layer_extract_opts eo = { .mode = ST_LAYER_EXTRACT_APPLY };
		if (st_layer_extract(st_layer_source_fd(&fd), merged, &eo, NULL, err) < 0)
			return st_err_wrap(err, "apply layer %s", fin->layers[i].diff_id.str);
	}
	return 0;
}

static int merged_layer(struct stage_run *r, const struct build_state *fin,
			struct st_store_layer *layer, struct st_error **err)
{
	char **lowers = NULL;
	size_t nl = 0;
	if (st_local_lowers(r->s, fin->layers, r->base_layers, r->lease, &lowers, &nl, err) < 0)
		return -1;
	st_autofree char *base = NULL;
	st_autoclose int lock = -1;
	st_auto_snapshot_step struct st_snapshot_step step = ST_SNAPSHOT_STEP_INIT;
	bool mounted = false;
	int rc = st_store_tmp_mkdir(r->s, &base, &lock, err);
	if (rc == 0)
		rc = st_snapshot_step_create(base, "squash", &step, err);
	if (rc == 0)
		rc = st_snapshot_step_mount(&step, (const char *const *)lowers, nl, err);
	mounted = rc == 0;
	if (rc == 0)
		rc = apply_layers(r, fin, step.merged, err);
	if (mounted) {
		struct st_error *uerr = NULL;
		if (st_snapshot_step_umount(&step, &uerr) < 0 && rc == 0) {
			*err = st_steal(&uerr);
			rc = -1;
		}
		st_error_free(uerr);
	}
	if (rc == 0) {
		struct st_layer_writer_opts lo;
		builder_layer_opts(r, &lo);
		st_auto(st_local_layer_writer) struct st_local_layer_writer *w = NULL;
		rc = st_local_layer_writer_new(r->s, r->lease, &lo, &w, err);
		if (rc == 0)
			rc = st_layer_writer_add_tree(st_local_layer_writer_layer(w), step.upper,
						      NULL, ST_LAYER_TREE_OVERLAY, err);
		if (rc == 0)
			rc = st_local_layer_writer_commit(w, layer, err);
		if (rc == 0 && r->lease)
			rc = st_store_lease_add(r->lease, layer->diff_id.str, err);
	}
	struct st_error *cerr = NULL;
	if (step.dir && st_snapshot_step_remove(&step, &cerr) < 0)
		st_error_clear(&cerr);
	if (base && st_rm_rf(base, &cerr) < 0)
		st_error_clear(&cerr);
	st_strv_free(lowers, nl);
	return rc;
}

int builder_squash(struct stage_run *r, struct build_state *fin, const char *created,
		   struct st_error **err)
{
	if (fin->n_layers <= r->base_layers)
		return 0; /* nothing of its own to merge */
	struct st_store_layer layer = { 0 };
	if (merged_layer(r, fin, &layer, err) < 0)
		return st_err_wrap(err, "squash");

	struct st_digest id;
	st_image_config_digest(fin->cfg, &id);
	struct st_image_config *cfg = fin->cfg;
	cfg->n_diff_ids = r->base_layers;
	st_image_config_add_diff_id(cfg, &layer.diff_id);
	for (size_t i = r->base_history; i < cfg->n_history; i++)
		cfg->history[i].empty_layer = true;
	st_autofree char *comment = r->has_base_id
					? st_xasprintf("merge %s to %s", id.str, r->base_id.str)
					: st_xasprintf("create new from %s", id.str);
	struct st_image_history h = { .created = (char *)created, .comment = comment };
	st_image_config_add_history(cfg, &h);
	free(cfg->created);
	cfg->created = st_xstrdup(created);

	for (size_t i = r->base_layers; i < fin->n_layers; i++)
		st_store_layer_release(&fin->layers[i]);
	fin->n_layers = r->base_layers;
	builder_state_add_layer(fin, &layer);
	st_store_layer_release(&layer);
	return 0;
}
