/* helpers.h: shared fixtures of the store tests. */
#ifndef ST_TEST_STORE_HELPERS_H
#define ST_TEST_STORE_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "store/store.h"

/* A fresh store in a new temporary directory per test. */
struct fx {
	char *root;
	struct st_store *s;
};

int fx_setup(void **state);
int fx_teardown(void **state);

/* Fail the test with the error message if 'expr' is negative. */
#define OK(expr)                                                                                   \
	do {                                                                                       \
		struct st_error *ok_err_ = NULL;                                                   \
		struct st_error **err = &ok_err_;                                                  \
		if ((expr) < 0)                                                                    \
			fail_msg("%s: %s", #expr, ok_err_ ? ok_err_->msg : "(no error)");          \
		(void)err;                                                                         \
	} while (0)

/* Expect 'expr' to fail with 'kind' and a message containing 'needle'. */
#define FAILS(expr, kind_, needle)                                                                 \
	do {                                                                                       \
		struct st_error *f_err_ = NULL;                                                    \
		struct st_error **err = &f_err_;                                                   \
		(void)err;                                                                         \
		assert_int_equal((expr), -1);                                                      \
		assert_non_null(f_err_);                                                           \
		if (f_err_->kind != (kind_) || !strstr(f_err_->msg, (needle)))                     \
			fail_msg("got kind %d '%s', want kind %d with '%s'", f_err_->kind,         \
				 f_err_->msg, (int)(kind_), (needle));                             \
		st_error_free(f_err_);                                                             \
	} while (0)

/* An image whose blobs are in the store: config, manifest, one blob per layer text. */
struct test_image {
	struct st_store_image img;
	struct st_store_layer layers[8];
};

void make_image(struct st_store *s, const char *seed, const char *const *layers, size_t n,
		struct test_image *out);
/* Number of entries in root/<sub>, not counting . and .. */
size_t count_dir(const char *root, const char *sub);

int run_blob_tests(void);
int run_meta_tests(void);
int run_gc_tests(void);
int run_edge_tests(void);

#endif
