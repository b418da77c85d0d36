#include "tests.h"

#include <string.h>

#include "image/image.h"
#include "util/cleanup.h"

/* busybox:1.36 (linux/amd64) as Docker Hub serves it: Docker's image JSON, compact. */
static const char busybox[] =
    "{\"architecture\":\"amd64\",\"config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\","
    "\"AttachStdin\":false,\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,"
    "\"OpenStdin\":false,"
    "\"StdinOnce\":false,\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/"
    "bin\"],"
    "\"Cmd\":[\"sh\"],\"Image\":\"sha256:"
    "3fb0a5ae5ac4ab1c8f6a1bc0c44b4c5a4c2b2ba7a4a1d2b0b1c9a8e7f6d5c4b3\","
    "\"Volumes\":null,\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},"
    "\"container\":\"5d6b5a5e2b5f0c0b8e8e7d2b36c1f1a1b0f1e5e8c8c9a1d3b5c7e9f1a3b5c7d9\","
    "\"container_config\":{\"Hostname\":\"5d6b5a5e2b5f\",\"Domainname\":\"\",\"User\":\"\","
    "\"AttachStdin\":false,"
    "\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":"
    "false,"
    "\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],"
    "\"Cmd\":[\"/bin/sh\",\"-c\",\"#(nop) \",\"CMD [\\\"sh\\\"]\"],"
    "\"Image\":\"sha256:3fb0a5ae5ac4ab1c8f6a1bc0c44b4c5a4c2b2ba7a4a1d2b0b1c9a8e7f6d5c4b3\","
    "\"Volumes\":null,"
    "\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{}},"
    "\"created\":\"2023-07-18T23:19:33.655005962Z\",\"docker_version\":\"20.10.23\","
    "\"history\":[{\"created\":\"2023-07-18T23:19:33.538571854Z\",\"created_by\":\"/bin/sh -c "
    "#(nop) ADD "
    "file:7e9002edaafd4e4579b65c8f0aaabde1aeb7fd3f8d95579f7fd3443cef785fd1 in / \"},"
    "{\"created\":\"2023-07-18T23:19:33.655005962Z\",\"created_by\":\"/bin/sh -c #(nop)  CMD "
    "[\\\"sh\\\"]\","
    "\"empty_layer\":true}],\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":"
    "[\"sha256:3d24ee258efc3bfe4066a1a9fb83febf6dc0b1548dfe896161533668281c9f4f\"]}}";

#define DIFF "sha256:3d24ee258efc3bfe4066a1a9fb83febf6dc0b1548dfe896161533668281c9f4f"

static void config_busybox_typed_fields(void **state)
{
	st_auto(st_image_config) struct st_image_config *c = NULL;
	struct st_error *err = NULL;
	assert_int_equal(st_image_config_parse(busybox, strlen(busybox), &c, &err), 0);
	assert_string_equal(c->architecture, "amd64");
	assert_string_equal(c->os, "linux");
	assert_string_equal(c->created, "2023-07-18T23:19:33.655005962Z");
	assert_true(c->config.cmd.set);
	assert_int_equal(c->config.cmd.n, 1);
	assert_string_equal(c->config.cmd.v[0], "sh");
	assert_false(c->config.entrypoint.set); /* null */
	assert_false(c->config.volumes.set);
	assert_int_equal(c->config.labels.n, 0);
	assert_string_equal(c->config.user, "");
	assert_int_equal(c->n_diff_ids, 1);
	assert_string_equal(c->diff_ids[0].str, DIFF);
	assert_int_equal(c->n_history, 2);
	assert_true(c->history[1].empty_layer);
	assert_string_equal(st_image_config_env_get(c, "PATH"),
			    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	assert_null(st_image_config_env_get(c, "PAT"));
}

static void config_busybox_round_trips_byte_for_byte(void **state)
{
	st_auto(st_image_config) struct st_image_config *c = NULL;
	struct st_error *err = NULL;
	struct st_buf out = ST_BUF_INIT;
	struct st_digest want, got;
	assert_int_equal(st_image_config_parse(busybox, strlen(busybox), &c, &err), 0);
	st_image_config_serialize(c, &out);
	/* unknown fields (container_config, docker_version, Hostname...) and nulls survive */
	assert_string_equal(out.data, busybox);
	st_digest_of(busybox, strlen(busybox), &want);
	st_image_config_digest(c, &got);
	assert_true(st_digest_equal(&want, &got));
	st_buf_release(&out);
}

static void config_edits_keep_unknown_fields(void **state)
{
	st_auto(st_image_config) struct st_image_config *c = NULL, *c2 = NULL;
	struct st_error *err = NULL;
	struct st_buf out = ST_BUF_INIT;
	struct st_digest d;
	const char *ep[] = { "/entry" };
	assert_int_equal(st_image_config_parse(busybox, strlen(busybox), &c, &err), 0);
	st_image_config_env_set(c, "PATH", "/bin");
	st_image_config_env_set(c, "A", "1");
	st_image_strv_set(&c->config.entrypoint, ep, 1);
	st_image_strv_set(&c->config.cmd, NULL, 0); /* CMD [] */
	st_image_map_set(&c->config.labels, "b", "2");
	st_image_map_set(&c->config.labels, "a", "1");
	st_image_strv_push(&c->config.exposed_ports, "80/tcp");
	st_image_strv_push(&c->config.exposed_ports, "443/tcp");
	st_image_config_add_diff_id(c, &c->diff_ids[0]);
	st_image_config_add_history(
	    c, &(struct st_image_history){ .created_by = "RUN x", .comment = "c" });
	st_image_config_serialize(c, &out);
	assert_non_null(strstr(out.data, "\"container_config\":{\"Hostname\":\"5d6b5a5e2b5f\""));
	assert_non_null(strstr(out.data, "\"docker_version\":\"20.10.23\""));
	assert_non_null(strstr(out.data, "\"Env\":[\"PATH=/bin\",\"A=1\"],\"Cmd\":[]"));
	assert_non_null(strstr(out.data, "\"Entrypoint\":[\"/entry\"]"));
	assert_non_null(strstr(out.data, "\"Labels\":{\"a\":\"1\",\"b\":\"2\"}"));
	/* a new key follows the input's keys */
	assert_non_null(strstr(out.data, "\"Labels\":{\"a\":\"1\",\"b\":\"2\"},\"ExposedPorts\":{"
					 "\"443/tcp\":{},\"80/tcp\":{}}"));
	assert_non_null(strstr(out.data, "{\"created_by\":\"RUN x\",\"comment\":\"c\"}]"));

	assert_int_equal(st_image_config_parse(out.data, out.len, &c2, &err), 0);
	assert_true(c2->config.cmd.set);
	assert_int_equal(c2->config.cmd.n, 0);
	assert_int_equal(c2->n_diff_ids, 2);
	assert_int_equal(c2->n_history, 3);
	struct st_buf again = ST_BUF_INIT;
	st_image_config_serialize(c2, &again);
	assert_string_equal(out.data, again.data);
	/* and a copy serializes to the same bytes */
	st_auto(st_image_config) struct st_image_config *dup = st_image_config_dup(c);
	struct st_digest dd;
	st_image_config_digest(c, &d);
	st_image_config_digest(dup, &dd);
	assert_true(st_digest_equal(&d, &dd));
	st_buf_release(&out);
	st_buf_release(&again);
}

static void config_new_is_canonical(void **state)
{
	st_auto(st_image_config) struct st_image_config *c = st_image_config_new();
	struct st_buf out = ST_BUF_INIT;
	struct st_digest d;
	struct st_error *err = NULL;
	const char *cmd[] = { "sh" };
	const char *test[] = { "CMD-SHELL", "true" };
	c->architecture = strdup("arm64");
	c->os = strdup("linux");
	c->created = strdup("2024-01-01T00:00:00Z");
	st_image_strv_set(&c->config.cmd, cmd, 1);
	c->config.working_dir = strdup("/srv");
	c->config.args_escaped = true;
	c->config.healthcheck = calloc(1, sizeof(*c->config.healthcheck));
	st_image_strv_set(&c->config.healthcheck->test, test, 2);
	c->config.healthcheck->interval_ns = 30000000000LL;
	c->config.healthcheck->retries = 3;
	st_image_strv_push(&c->config.volumes, "/data");
	assert_int_equal(st_digest_parse(DIFF, &d, &err), 0);
	st_image_config_add_diff_id(c, &d);
	st_image_config_serialize(c, &out);
	assert_string_equal(
	    out.data,
	    "{\"architecture\":\"arm64\",\"config\":{\"Cmd\":[\"sh\"],\"Volumes\":{\"/data\":{}},"
	    "\"WorkingDir\":\"/"
	    "srv\",\"ArgsEscaped\":true,\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"],"
	    "\"Interval\":30000000000,\"Retries\":3}},\"created\":\"2024-01-01T00:00:00Z\",\"os\":"
	    "\"linux\","
	    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" DIFF "\"]}}");
	st_buf_release(&out);
}

static void config_invalid_utf8_becomes_replacement(void **state)
{
	st_auto(st_image_config) struct st_image_config *c = st_image_config_new();
	struct st_buf out = ST_BUF_INIT;
	st_image_config_add_history(c,
				    &(struct st_image_history){ .created_by = "RUN echo caf\xe9" });
	st_image_map_set(&c->config.labels, "k\xff", "v");
	st_image_config_serialize(c, &out);
	/* Go's encoding/json writes U+FFFD for bytes that are not UTF-8; the field stays */
	assert_non_null(strstr(out.data, "\"created_by\":\"RUN echo caf\xef\xbf\xbd\""));
	assert_non_null(strstr(out.data, "\"Labels\":{\"k\xef\xbf\xbd\":\"v\"}"));
	st_buf_release(&out);
}

static void config_entrypoint_string_and_errors(void **state)
{
	st_auto(st_image_config) struct st_image_config *c = NULL;
	struct st_error *err = NULL;
	const char *j = "{\"config\":{\"Entrypoint\":\"/bin/sh\"}}";
	assert_int_equal(st_image_config_parse(j, strlen(j), &c, &err), 0);
	assert_int_equal(c->config.entrypoint.n, 1);

	static const struct {
		const char *json;
		enum st_errkind kind;
		const char *msg;
	} cases[] = {
		{ "{\"config\":", ST_E_PARSE, "config: line 1 column 10: " },
		{ "{\"config\":{\"Env\":[\"A=1\",2]}}", ST_E_INVALID,
		  "config: config.Env[1]: expected a string" },
		{ "{\"config\":{\"Cmd\":{}}}", ST_E_INVALID,
		  "config: config.Cmd: expected an array of strings" },
		{ "{\"config\":{\"Labels\":[]}}", ST_E_INVALID,
		  "config: config.Labels: expected an object of strings" },
		{ "{\"config\":{\"ExposedPorts\":[\"80\"]}}", ST_E_INVALID,
		  "config: config.ExposedPorts: expected an object" },
		{ "{\"config\":{\"Healthcheck\":{\"Interval\":\"30s\"}}}", ST_E_INVALID,
		  "config: config.Healthcheck.Interval: expected an integer" },
		{ "{\"config\":{\"ArgsEscaped\":1}}", ST_E_INVALID,
		  "config: config.ArgsEscaped: expected a boolean" },
		{ "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:x\"]}}", ST_E_INVALID,
		  "config: rootfs.diff_ids[0]: invalid digest 'sha256:x'" },
		{ "{\"history\":[{},{\"empty_layer\":\"yes\"}]}", ST_E_INVALID,
		  "config: history[1].empty_layer: expected a boolean" },
		{ "{\"architecture\":5}", ST_E_INVALID, "config: architecture: expected a string" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct st_image_config *x = NULL;
		assert_int_equal(
		    st_image_config_parse(cases[i].json, strlen(cases[i].json), &x, &err), -1);
		assert_null(x);
		assert_int_equal(err->kind, cases[i].kind);
		if (strncmp(err->msg, cases[i].msg, strlen(cases[i].msg)) != 0)
			fail_msg("case %zu: '%s' does not start with '%s'", i, err->msg,
				 cases[i].msg);
		st_error_clear(&err);
	}
}

/* Many pairs at once give what setting them one by one gives: the last value of a key wins. */
static void config_env_and_labels_by_pairs(void **state)
{
	st_auto(st_image_config) struct st_image_config *c = st_image_config_new();
	st_image_config_env_set(c, "PATH", "/bin");
	st_image_config_env_set(c, "A", "old");
	st_image_map_set(&c->config.labels, "m", "old");
	char *kv[] = { "B", "1", "A", "2", "PATHX", "3", "B", "4", "m", "5", "a", "6" };
	st_image_config_env_set_pairs(c, kv, 6);
	assert_int_equal(c->config.env.n, 6);
	assert_string_equal(c->config.env.v[0], "PATH=/bin");
	assert_string_equal(c->config.env.v[1], "A=2");
	assert_string_equal(c->config.env.v[2], "B=4");
	assert_string_equal(c->config.env.v[3], "PATHX=3");
	assert_string_equal(c->config.env.v[4], "m=5");
	assert_string_equal(c->config.env.v[5], "a=6");
	st_image_map_set_pairs(&c->config.labels, kv, 6);
	const char *want[][2] = {
		{ "A", "2" }, { "B", "4" }, { "PATHX", "3" }, { "a", "6" }, { "m", "5" }
	};
	assert_int_equal(c->config.labels.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(c->config.labels.v[i].key, want[i][0]);
		assert_string_equal(c->config.labels.v[i].value, want[i][1]);
	}
}

static void config_inspect_matches_docker(void **state)
{
	st_auto(st_image_config) struct st_image_config *c = NULL;
	struct st_error *err = NULL;
	const char *tags[] = { "busybox:latest" };
	struct st_image_inspect_info info = {
		.id = "sha256:a416a98b71e224a31ee99cff8e16063554498227d2b696152a9c3e0aa65e5824",
		.repo_tags = tags,
		.n_repo_tags = 1,
		.size = 4261550,
	};
	assert_int_equal(st_image_config_parse(busybox, strlen(busybox), &c, &err), 0);
	json_t *j = st_image_config_inspect(c, &info);
	char *s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(
	    s,
	    "{\"Id\":\"sha256:a416a98b71e224a31ee99cff8e16063554498227d2b696152a9c3e0aa65e5824\","
	    "\"RepoTags\":[\"busybox:latest\"],\"RepoDigests\":[],\"Parent\":\"\",\"Comment\":\"\","
	    "\"Created\":\"2023-07-18T23:19:33.655005962Z\",\"DockerVersion\":\"20.10.23\","
	    "\"Author\":\"\","
	    "\"Config\":{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,"
	    "\"AttachStdout\":false,\"AttachStderr\":false,\"Tty\":false,\"OpenStdin\":false,"
	    "\"StdinOnce\":false,"
	    "\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/"
	    "bin\"],\"Cmd\":[\"sh\"],"
	    "\"Image\":\"sha256:3fb0a5ae5ac4ab1c8f6a1bc0c44b4c5a4c2b2ba7a4a1d2b0b1c9a8e7f6d5c4b3\","
	    "\"Volumes\":null,"
	    "\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":null},"
	    "\"Architecture\":\"amd64\","
	    "\"Os\":\"linux\",\"Size\":4261550,\"RootFS\":{\"Type\":\"layers\",\"Layers\":[\"" DIFF
	    "\"]},"
	    "\"Metadata\":{\"LastTagTime\":\"0001-01-01T00:00:00Z\"}}");
	free(s);
	json_decref(j);
}

int test_config_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_busybox_typed_fields),
		cmocka_unit_test(config_busybox_round_trips_byte_for_byte),
		cmocka_unit_test(config_edits_keep_unknown_fields),
		cmocka_unit_test(config_new_is_canonical),
		cmocka_unit_test(config_invalid_utf8_becomes_replacement),
		cmocka_unit_test(config_entrypoint_string_and_errors),
		cmocka_unit_test(config_inspect_matches_docker),
		cmocka_unit_test(config_env_and_labels_by_pairs),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
