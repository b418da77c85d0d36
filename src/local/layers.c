/* layers.c: the layers of a store's image as a struct st_local_layers, each blob a file. */
#include "local/local.h"

#include <stdlib.h>
#include <unistd.h>

#include "util/banned.h"

static int store_open(void *ctx, size_t i, struct st_layer_source *src, struct st_error **err)
{
	struct st_local_store_layers *l = ctx;
	if (st_store_open_blob(l->s, l->img->layers[i].digest.str, &l->fd, NULL, err) < 0)
		return -1;
	*src = st_layer_source_fd(&l->fd);
	return 0;
}

static void store_close(void *ctx, size_t i)
{
	struct st_local_store_layers *l = ctx;
	(void)i;
	close(l->fd);
	l->fd = -1;
}

int st_local_store_layers_open(struct st_store *s, const struct st_store_image *img,
			       struct st_local_store_layers *out, struct st_error **err)
{
	*out = (struct st_local_store_layers){ .s = s, .img = img, .fd = -1 };
	if (st_local_image_config(s, img, &out->config, err) < 0)
		return -1;
	size_t n = img->n_layers;
	out->digests = st_xcalloc(n ? n : 1, sizeof(*out->digests));
	out->diff_ids = st_xcalloc(n ? n : 1, sizeof(*out->diff_ids));
	for (size_t i = 0; i < n; i++) {
		out->digests[i] = img->layers[i].digest;
		out->diff_ids[i] = img->layers[i].diff_id;
	}
	out->in = (struct st_local_layers){ .config = out->config,
					    .digests = out->digests,
					    .diff_ids = out->diff_ids,
					    .n_layers = n,
					    .open = store_open,
					    .close = store_close,
					    .ctx = out };
	return 0;
}

void st_local_store_layers_release(struct st_local_store_layers *l)
{
	st_image_config_free(l->config);
	free(l->digests);
	free(l->diff_ids);
	if (l->fd >= 0)
		close(l->fd);
	*l = (struct st_local_store_layers){ .fd = -1 };
}
