/*
 * lint_bench.c: lint_bench FILE [RUNS]: parse FILE and run every check over it (BuildKit's and
 * the DL rules, every stage) RUNS times (default 9) in process; print the median wall time in
 * milliseconds, so process start-up is not measured, and the median CPU time, which other work
 * on a loaded machine does not inflate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lint/lint.h"
#include "util/fs.h"

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: lint_bench FILE [RUNS]\n");
		return 2;
	}
	int runs = argc > 2 ? atoi(argv[2]) : 9;
	if (runs < 1 || runs > 1000)
		runs = 9;
	struct st_buf text = ST_BUF_INIT;
	struct st_error *err = NULL;
	if (st_read_file(argv[1], &text, &err) < 0) {
		fprintf(stderr, "lint_bench: %s\n", err->msg);
		return 1;
	}
	double *ms = calloc((size_t)runs, sizeof(double));
	double *cpu = calloc((size_t)runs, sizeof(double));
	size_t found = 0;
	for (int i = 0; i < runs; i++) {
		struct timespec t0, t1, c0, c1;
		struct st_dockerfile *df = NULL;
		struct st_lint_result r;
		struct st_lint_opts o = { .all_stages = true };
		clock_gettime(CLOCK_MONOTONIC, &t0);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
		if (st_dockerfile_parse("Dockerfile", text.data, text.len, &df, &err) < 0 ||
		    st_lint_dockerfile(df, text.data, text.len, &o, &r, &err) < 0) {
			fprintf(stderr, "lint_bench: %s\n", err->msg);
			return 1;
		}
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		found = r.ndiags;
		st_lint_result_release(&r);
		st_dockerfile_free(df);
		ms[i] = ms_between(&t0, &t1);
		cpu[i] = ms_between(&c0, &c1);
	}
	qsort(ms, (size_t)runs, sizeof(double), cmp);
	qsort(cpu, (size_t)runs, sizeof(double), cmp);
	printf("%.3f ms, %.3f ms CPU (%zu findings)\n", ms[runs / 2], cpu[runs / 2], found);
	free(cpu);
	free(ms);
	st_buf_release(&text);
	return 0;
}
