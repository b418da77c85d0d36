/*
 * fuzz_load: arbitrary bytes as an image archive given to `strata load` (docker-archive's
 * manifest.json, an OCI layout's index.json, tar entry names, layers). Whatever the input, the
 * load either fails with an error or records images the store can verify: after every input
 * the store must pass st_store_check, and nothing may crash or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "archive/archive.h"
#include "store/store.h"
#include "util/fs.h"

/* One store for the whole run: opening SQLite per input would dominate the time. */
static struct st_store *store;

static void remove_root(void)
{
	st_store_free(store);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static char root[] = "/tmp/fuzz_load.XXXXXX";
	struct st_error *err = NULL;
	if (!mkdtemp(root) || st_store_open(root, &store, &err) < 0)
		abort();
	atexit(remove_root);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_load", 0);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) < 0)
		abort();
	struct st_archive_load_result res = { 0 };
	struct st_error *err = NULL;
	int rc = st_archive_load_fd(store, fd, "fuzz input", &res, &err);
	close(fd);
	st_error_free(err);
	err = NULL;
	st_archive_load_result_release(&res);
	if (rc == 0) {
		struct st_store_check_report rep = { 0 };
		if (st_store_check(store, &rep, &err) < 0 || rep.n_problems > 0) {
			for (size_t i = 0; i < rep.n_problems; i++)
				fprintf(stderr, "fuzz_load: %s\n", rep.problems[i]);
			abort();
		}
		st_store_check_report_release(&rep);
	}
	return 0;
}
