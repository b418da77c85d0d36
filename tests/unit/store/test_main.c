/* test_main.c: fixtures and the one main() of the store tests. */
#include "helpers.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/fs.h"

int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/strata-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl))
		return -1;
	f->root = strdup(tmpl);
	OK(st_store_open(f->root, &f->s, err));
	*state = f;
	return 0;
}

int fx_teardown(void **state)
{
	struct fx *f = *state;
	st_store_free(f->s);
	OK(st_rm_rf(f->root, err));
	free(f->root);
	free(f);
	return 0;
}

static const char layer_mt[] = "application/vnd.oci.image.layer.v1.tar+gzip";

void make_image(struct st_store *s, const char *seed, const char *const *layers, size_t n,
		struct test_image *out)
{
	memset(out, 0, sizeof(*out));
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		struct st_store_layer *l = &out->layers[i];
		OK(st_store_put_blob(s, layers[i], strlen(layers[i]), &l->digest, err));
		/* The "uncompressed" form is the text with a suffix: distinct, deterministic. */
		char diff[256];
		snprintf(diff, sizeof(diff), "%s.tar", layers[i]);
		st_digest_of(diff, strlen(diff), &l->diff_id);
		l->media_type = (char *)layer_mt;
		l->size = strlen(layers[i]);
		l->diff_size = strlen(layers[i]) * 10;
	}
	char config[512], manifest[512];
	snprintf(config, sizeof(config), "{\"config\":\"%s\"}", seed);
	OK(st_store_put_blob(s, config, strlen(config), &out->img.id, err));
	snprintf(manifest, sizeof(manifest), "{\"manifest\":\"%s\",\"config\":\"%s\"}", seed,
		 out->img.id.str);
	OK(st_store_put_blob(s, manifest, strlen(manifest), &out->img.manifest_digest, err));
	out->img.manifest_media_type = (char *)"application/vnd.oci.image.manifest.v1+json";
	out->img.config_media_type = (char *)"application/vnd.oci.image.config.v1+json";
	out->img.created = (char *)"2024-05-01T10:00:00Z";
	out->img.os = (char *)"linux";
	out->img.architecture = (char *)"amd64";
	out->img.layers = out->layers;
	out->img.n_layers = n;
}

size_t count_dir(const char *root, const char *sub)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, sub);
	DIR *d = opendir(path);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int main(void)
{
	int failed = 0;
	failed += run_blob_tests();
	failed += run_meta_tests();
	failed += run_gc_tests();
	failed += run_edge_tests();
	return failed ? 1 : 0;
}
