/* tests/unit/http/test_http.c: the HTTP client against a real local server (server.py). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/http.h"
#include "util/buf.h"
#include "util/fs.h"

struct server {
	pid_t pid;
	char dir[64];
	int port;
};

static char *url(const struct server *s, const char *path)
{
	return st_xasprintf("http://127.0.0.1:%d%s", s->port, path);
}

static int start_server(void **state)
{
	struct server *s = st_xcalloc(1, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/test_http.XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	char *portfile = st_xasprintf("%s/port", s->dir);
	const char *script = getenv("HTTP_TEST_SERVER");
	s->pid = fork();
	if (s->pid == 0) {
		execlp("python3", "python3", script ? script : "tests/unit/http/server.py",
		       portfile, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) { /* up to 10 s for python to start */
		FILE *f = fopen(portfile, "r");
		if (f) {
			int ok = fscanf(f, "%d", &s->port);
			fclose(f);
			if (ok == 1)
				break;
		}
		usleep(20000);
	}
	free(portfile);
	*state = s;
	return s->port ? 0 : -1;
}

static int stop_server(void **state)
{
	struct server *s = *state;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
	struct st_error *err = NULL;
	st_rm_rf(s->dir, &err);
	st_error_free(err);
	free(s);
	return 0;
}

/* A client that retries quickly, so failing attempts cost milliseconds. */
static struct st_http_client *quick_client(unsigned attempts)
{
	struct st_http_client_opts o = { .max_attempts = attempts, .backoff_ms = 5 };
	struct st_error *err = NULL;
	struct st_http_client *c = st_http_client_new(&o, &err);
	assert_non_null(c);
	return c;
}

static struct st_http_response get(struct st_http_client *c, const struct server *s,
				   const char *path, unsigned flags, int want_rc)
{
	char *u = url(s, path);
	struct st_http_request rq = { .url = u, .flags = flags };
	struct st_http_response r;
	struct st_error *err = NULL;
	assert_int_equal(st_http_do(c, &rq, &r, &err), want_rc);
	st_error_free(err);
	free(u);
	return r;
}

static void assert_data(const char *p, size_t n, size_t want)
{
	assert_int_equal(n, want);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] != i % 251)
			fail_msg("byte %zu is %u", i, (unsigned char)p[i]);
}

static void small_body_is_kept_with_headers_and_mtime(void **state)
{
	struct st_http_client *c = quick_client(0);
	struct st_http_response r = get(c, *state, "/data/1000", 0, 0);
	assert_int_equal(r.status, 200);
	assert_data(r.body.data, r.body.len, 1000);
	assert_string_equal(st_http_response_header(&r, "Content-Length"), "1000");
	assert_int_equal(r.mtime, 1700000000);
	assert_int_equal(r.attempts, 1);
	st_http_response_release(&r);
	st_http_client_free(c);
}

struct collect {
	struct st_buf b;
	int resets;
};

static int collect_write(void *ctx, const void *p, size_t n, struct st_error **err)
{
	st_buf_add(&((struct collect *)ctx)->b, p, n);
	return 0;
}

static int collect_reset(void *ctx, struct st_error **err)
{
	struct collect *k = ctx;
	st_buf_release(&k->b);
	k->resets++;
	return 0;
}

static int fetch(struct st_http_client *c, const struct server *s, const char *path,
		 struct collect *k, bool with_reset, struct st_http_response *r,
		 struct st_error **err)
{
	char *u = url(s, path);
	struct st_http_request rq = {
		.url = u,
		.sink = { collect_write, with_reset ? collect_reset : NULL, k },
	};
	int rc = st_http_do(c, &rq, r, err);
	free(u);
	return rc;
}

static void server_errors_are_retried_with_backoff(void **state)
{
	struct st_http_client *c = quick_client(0);
	struct collect k = { ST_BUF_INIT, 0 };
	struct st_http_response r;
	struct st_error *err = NULL;
	assert_int_equal(fetch(c, *state, "/flaky/a/2/data/100", &k, false, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 3);
	assert_data(k.b.data, k.b.len, 100);
	st_http_response_release(&r);
	st_buf_release(&k.b);
	st_http_client_free(c);
}

static void the_last_status_is_returned_when_attempts_run_out(void **state)
{
	struct st_http_client *c = quick_client(2);
	struct collect k = { ST_BUF_INIT, 0 };
	struct st_http_response r;
	struct st_error *err = NULL;
	assert_int_equal(fetch(c, *state, "/flaky/b/5/data/10", &k, false, &r, &err), 0);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(k.b.len, 0); /* an error page never reaches the sink */
	assert_string_equal(r.body.data, "try later");
	assert_int_equal(st_http_status_error(&r, &err), -1);
	assert_int_equal(err->kind, ST_E_NET);
	assert_string_equal(err->msg, "server returned HTTP 503 Service Unavailable");
	st_error_free(err);
	st_http_response_release(&r);
	st_http_client_free(c);
}

static void too_many_requests_waits_for_retry_after(void **state)
{
	struct st_http_client *c = quick_client(0);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	struct st_http_response r = get(c, *state, "/limit/c/data/10", 0, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 2);
	/* Retry-After: 1 replaces the 5 ms backoff: the retry cannot have come sooner. */
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 950);
	st_http_response_release(&r);
	st_http_client_free(c);
}

static void a_dropped_download_resumes_with_range(void **state)
{
	struct st_http_client *c = quick_client(0);
	struct collect k = { ST_BUF_INIT, 0 };
	struct st_http_response r;
	struct st_error *err = NULL;
	assert_int_equal(fetch(c, *state, "/drop/d/200000", &k, false, &r, &err), 0);
	assert_int_equal(r.status, 206);
	assert_int_equal(r.attempts, 2);
	assert_int_equal(k.resets, 0);
	assert_data(k.b.data, k.b.len, 200000);
	st_http_response_release(&r);
	st_buf_release(&k.b);
	/* The same into memory. */
	r = get(c, *state, "/drop/e/200000", 0, 0);
	assert_int_equal(r.status, 206);
	assert_data(r.body.data, r.body.len, 200000);
	st_http_response_release(&r);
	st_http_client_free(c);
}

static void a_server_ignoring_range_restarts_the_sink_or_fails(void **state)
{
	struct st_http_client *c = quick_client(0);
	struct collect k = { ST_BUF_INIT, 0 };
	struct st_http_response r;
	struct st_error *err = NULL;
	assert_int_equal(fetch(c, *state, "/drop-norange/f/200000", &k, true, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(k.resets, 1);
	assert_data(k.b.data, k.b.len, 200000);
	st_http_response_release(&r);
	st_buf_release(&k.b);

	assert_int_equal(fetch(c, *state, "/drop-norange/g/200000", &k, false, &r, &err), -1);
	assert_int_equal(err->kind, ST_E_NET);
	assert_non_null(strstr(err->msg, "cannot restart"));
	assert_non_null(strstr(err->msg, "/drop-norange/g/200000"));
	st_error_free(err);
	st_http_response_release(&r);
	st_buf_release(&k.b);
	st_http_client_free(c);
}

static int bearer(void *ctx, const char *challenge, char **authorization, struct st_error **err)
{
	int *calls = ctx;
	(*calls)++;
	assert_string_equal(challenge, "Bearer realm=\"http://x/token\",service=\"t\"");
	*authorization = st_xstrdup(*calls == 1 ? "Bearer good" : "Bearer bad");
	return 0;
}

static void a_challenge_is_answered_by_the_auth_hook(void **state)
{
	struct st_http_client *c = quick_client(0);
	char *u = url(*state, "/auth/data/10");
	int calls = 0;
	struct st_http_request rq = { .url = u, .auth = bearer, .auth_ctx = &calls };
	struct st_http_response r;
	struct st_error *err = NULL;
	assert_int_equal(st_http_do(c, &rq, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(calls, 1);
	assert_data(r.body.data, r.body.len, 10);
	st_http_response_release(&r);
	/* Without a hook the 401 and its body come back. */
	rq.auth = NULL;
	assert_int_equal(st_http_do(c, &rq, &r, &err), 0);
	assert_int_equal(r.status, 401);
	assert_non_null(strstr(r.body.data, "UNAUTHORIZED"));
	st_http_response_release(&r);
	free(u);
	st_http_client_free(c);
}

static void statuses_and_redirects(void **state)
{
	struct st_http_client *c = quick_client(0);
	struct st_error *err = NULL;
	struct st_http_response r = get(c, *state, "/status/404", 0, 0);
	assert_int_equal(r.status, 404);
	assert_int_equal(st_http_status_error(&r, &err), -1);
	assert_int_equal(err->kind, ST_E_NOTFOUND);
	assert_string_equal(err->msg, "server returned HTTP 404 Not Found");
	st_error_free(err);
	st_http_response_release(&r);
	r = get(c, *state, "/redirect/data/5", 0, 0);
	assert_int_equal(r.status, 302);
	assert_string_equal(st_http_response_header(&r, "location"), "/data/5");
	st_http_response_release(&r);
	r = get(c, *state, "/redirect/data/5", ST_HTTP_FOLLOW, 0);
	assert_int_equal(r.status, 200);
	assert_data(r.body.data, r.body.len, 5);
	st_http_response_release(&r);
	st_http_client_free(c);
}

static long number(struct st_http_client *c, const struct server *s, const char *path)
{
	struct st_http_response r = get(c, s, path, 0, 0);
	assert_int_equal(r.status, 200);
	long n = strtol(r.body.data, NULL, 10);
	st_http_response_release(&r);
	return n;
}

static void requests_of_one_client_share_a_connection(void **state)
{
	struct st_http_client *c = quick_client(0);
	long before = number(c, *state, "/ports");
	for (int i = 0; i < 5; i++) {
		struct st_http_response r = get(c, *state, "/data/100", 0, 0);
		assert_int_equal(r.status, 200);
		st_http_response_release(&r);
	}
	assert_int_equal(number(c, *state, "/ports"), before);
	st_http_client_free(c);
}

struct reader {
	size_t size, off;
};

static ssize_t read_data(void *ctx, void *buf, size_t n, struct st_error **err)
{
	struct reader *rd = ctx;
	size_t k = rd->size - rd->off < n ? rd->size - rd->off : n;
	for (size_t i = 0; i < k; i++)
		((unsigned char *)buf)[i] = (unsigned char)((rd->off + i) % 251);
	rd->off += k;
	return (ssize_t)k;
}

static int rewind_data(void *ctx, struct st_error **err)
{
	((struct reader *)ctx)->off = 0;
	return 0;
}

static void bodies_are_uploaded_from_memory_and_from_a_reader(void **state)
{
	struct st_http_client *c = quick_client(0);
	char *u = url(*state, "/echo");
	struct st_http_request rq = { .url = u, .body = "hello", .body_len = 5 };
	struct st_http_response r;
	struct st_error *err = NULL;
	assert_int_equal(st_http_do(c, &rq, &r, &err), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(st_http_response_header(&r, "body-length"), "5");
	assert_string_equal(st_http_response_header(&r, "body-sum"), "532");
	st_http_response_release(&r);

	struct reader rd = { .size = 300000 };
	struct st_http_body_reader br = { read_data, rewind_data, &rd, 300000 };
	struct st_http_request post = { .method = "POST", .url = u, .body_reader = &br };
	assert_int_equal(st_http_do(c, &post, &r, &err), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(st_http_response_header(&r, "body-length"), "300000");
	unsigned long long sum = 0;
	for (size_t i = 0; i < 300000; i++)
		sum += i % 251;
	char want[32];
	snprintf(want, sizeof(want), "%llu", sum);
	assert_string_equal(st_http_response_header(&r, "body-sum"), want);
	st_http_response_release(&r);

	struct st_http_request patch = { .method = "PATCH", .url = u, .body = "ab", .body_len = 2 };
	assert_int_equal(st_http_do(c, &patch, &r, &err), 0);
	assert_int_equal(r.status, 201);
	assert_string_equal(st_http_response_header(&r, "body-sum"), "195");
	st_http_response_release(&r);
	free(u);
	st_http_client_free(c);
}

static void a_refused_connection_is_a_network_error_after_the_retries(void **state)
{
	/* A port nobody listens on: bind one, note it, close it. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	char *u = st_xasprintf("http://127.0.0.1:%d/x", ntohs(a.sin_port));
	struct st_http_client *c = quick_client(3);
	struct st_http_request rq = { .url = u };
	struct st_http_response r;
	struct st_error *err = NULL;
	assert_int_equal(st_http_do(c, &rq, &r, &err), -1);
	assert_int_equal(err->kind, ST_E_NET);
	assert_int_equal(r.attempts, 3);
	assert_non_null(strstr(err->msg, u));
	st_error_free(err);
	st_http_response_release(&r);
	free(u);
	st_http_client_free(c);
}

static int cancel_early(void *ctx, uint64_t done, uint64_t total)
{
	*(uint64_t *)ctx = total;
	return done > 0;
}

static void progress_reports_the_total_and_can_cancel(void **state)
{
	struct st_http_client *c = quick_client(0);
	char *u = url(*state, "/data/2000000");
	uint64_t total = 0;
	struct st_http_request rq = { .url = u, .progress = cancel_early, .progress_ctx = &total };
	struct st_http_response r;
	struct st_error *err = NULL;
	assert_int_equal(st_http_do(c, &rq, &r, &err), -1);
	assert_int_equal(total, 2000000);
	assert_non_null(strstr(err->msg, "canceled"));
	st_error_free(err);
	st_http_response_release(&r);
	free(u);
	st_http_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_body_is_kept_with_headers_and_mtime),
		cmocka_unit_test(server_errors_are_retried_with_backoff),
		cmocka_unit_test(the_last_status_is_returned_when_attempts_run_out),
		cmocka_unit_test(too_many_requests_waits_for_retry_after),
		cmocka_unit_test(a_dropped_download_resumes_with_range),
		cmocka_unit_test(a_server_ignoring_range_restarts_the_sink_or_fails),
		cmocka_unit_test(a_challenge_is_answered_by_the_auth_hook),
		cmocka_unit_test(statuses_and_redirects),
		cmocka_unit_test(requests_of_one_client_share_a_connection),
		cmocka_unit_test(bodies_are_uploaded_from_memory_and_from_a_reader),
		cmocka_unit_test(a_refused_connection_is_a_network_error_after_the_retries),
		cmocka_unit_test(progress_reports_the_total_and_can_cancel),
	};
	return cmocka_run_group_tests(tests, start_server, stop_server);
}
