/* test_build.c: cache keys, context checksums and their kv cache, paths, the cache verbs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

static char *tmpdir(void)
{
	char t[] = "/tmp/st-build-test-XXXXXX";
	assert_non_null(mkdtemp(t));
	return st_xstrdup(t);
}

static void put_file(const char *dir, const char *name, const char *text)
{
	st_autofree char *p = st_path_join(dir, name);
	assert_int_equal(st_write_file_atomic(p, NULL, text, strlen(text), 0644, NULL), 0);
}

static void path_clean_follows_docker(void **state)
{
	(void)state;
	const char *cases[][2] = { { "/a/./b/../c/", "/a/c" },
				   { "", "/" },
				   { "/..", "/" },
				   { "//x//y", "/x/y" },
				   { "/a/b/..", "/a" } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		st_autofree char *c = builder_path_clean(cases[i][0]);
		assert_string_equal(c, cases[i][1]);
	}
}

static void keys_cover_every_input(void **state)
{
	(void)state;
	struct key_inputs k;
	builder_key_inputs_init(&k);
	k.parent = "p";
	k.instr = "run\x1f/bin/sh\x1f-c\x1ftrue";
	char a[65], b[65];
	builder_key_compute(&k, a);
	builder_key_compute(&k, b);
	assert_string_equal(a, b);
	st_buf_adds(&k.args, "VERSION=1\n");
	builder_key_compute(&k, b);
	assert_string_not_equal(a, b);
	builder_key_compute(&k, a);
	memcpy(k.files_sum, "ab", 3);
	builder_key_compute(&k, b);
	assert_string_not_equal(a, b);
	k.parent = "q";
	builder_key_compute(&k, a);
	assert_string_not_equal(a, b);
	builder_key_inputs_release(&k);
}

static void context_sums_are_remembered_by_stat(void **state)
{
	(void)state;
	st_autofree char *root = tmpdir();
	st_autofree char *ctxd = st_path_join(root, "ctx");
	st_autofree char *stored = st_path_join(root, "store");
	assert_int_equal(st_mkdir_p(ctxd, 0755, NULL), 0);
	put_file(ctxd, "a.txt", "hello\n");
	put_file(ctxd, "skip.log", "x\n");
	put_file(ctxd, ".dockerignore", "*.log\n");
	struct st_store *s = NULL;
	assert_int_equal(st_store_open(stored, &s, NULL), 0);
	struct st_dockerignore *ign = NULL;
	assert_int_equal(st_dockerignore_load(ctxd, NULL, &ign, NULL), 0);
	/* Entries changed within a clock tick of the walk are not trusted: age them. */
	usleep(50000);

	struct build_context c;
	assert_int_equal(builder_ctx_open(s, ctxd, NULL, ign, true, &c, NULL), 0);
	assert_null(builder_ctx_lookup(&c, "skip.log"));
	struct ctx_file *f = builder_ctx_lookup(&c, "a.txt");
	assert_non_null(f);
	assert_false(f->hashed);
	assert_int_equal(builder_ctx_hash(&c, f, NULL), 0);
	struct st_digest want;
	st_digest_of("hello\n", 6, &want);
	assert_string_equal(f->digest.str, want.str);
	assert_int_equal(builder_ctx_save(s, &c, NULL), 0);
	builder_ctx_release(&c);

	/* Unchanged: known without reading. */
	assert_int_equal(builder_ctx_open(s, ctxd, NULL, ign, true, &c, NULL), 0);
	f = builder_ctx_lookup(&c, "a.txt");
	assert_true(f->hashed);
	assert_string_equal(f->digest.str, want.str);
	builder_ctx_release(&c);

	/* A new file in a remembered directory is found; the old one is still known. */
	usleep(50000);
	put_file(ctxd, "b.txt", "new\n");
	assert_int_equal(builder_ctx_open(s, ctxd, NULL, ign, true, &c, NULL), 0);
	assert_non_null(builder_ctx_lookup(&c, "b.txt"));
	assert_true(builder_ctx_lookup(&c, "a.txt")->hashed);
	assert_int_equal(builder_ctx_save(s, &c, NULL), 0);
	builder_ctx_release(&c);

	/* Changed within the tick of the walk that remembered it: read again. */
	assert_int_equal(builder_ctx_open(s, ctxd, NULL, ign, true, &c, NULL), 0);
	assert_int_equal(builder_ctx_hash(&c, builder_ctx_lookup(&c, "b.txt"), NULL), 0);
	assert_int_equal(builder_ctx_save(s, &c, NULL), 0);
	builder_ctx_release(&c);
	{
		/* In place: the same inode and size, and within a tick the same times. */
		st_autofree char *bp = st_path_join(ctxd, "b.txt");
		int fd = open(bp, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "NEW\n", 4, 0), 4);
		close(fd);
	}
	assert_int_equal(builder_ctx_open(s, ctxd, NULL, ign, true, &c, NULL), 0);
	assert_false(builder_ctx_lookup(&c, "b.txt")->hashed);
	builder_ctx_release(&c);

	/* Other ignore rules: the listings are read again, the sums still count. */
	usleep(50000);
	put_file(ctxd, ".dockerignore", "*.txt\n!a.txt\n");
	st_dockerignore_free(ign);
	assert_int_equal(st_dockerignore_load(ctxd, NULL, &ign, NULL), 0);
	assert_int_equal(builder_ctx_open(s, ctxd, NULL, ign, true, &c, NULL), 0);
	assert_null(builder_ctx_lookup(&c, "b.txt"));
	assert_non_null(builder_ctx_lookup(&c, "skip.log"));
	assert_true(builder_ctx_lookup(&c, "a.txt")->hashed);
	builder_ctx_release(&c);
	put_file(ctxd, ".dockerignore", "*.log\n");
	st_dockerignore_free(ign);
	assert_int_equal(st_dockerignore_load(ctxd, NULL, &ign, NULL), 0);

	/* Changed (new inode, size): read again. */
	put_file(ctxd, "a.txt", "hello, world\n");
	assert_int_equal(builder_ctx_open(s, ctxd, NULL, ign, true, &c, NULL), 0);
	f = builder_ctx_lookup(&c, "a.txt");
	assert_false(f->hashed);
	builder_ctx_release(&c);

	st_dockerignore_free(ign);
	st_store_free(s);
	assert_int_equal(st_rm_rf(root, NULL), 0);
}

static int explain(struct st_store *s, struct key_inputs *k, char **why)
{
	struct st_digest d;
	st_digest_of(k->files.data ? k->files.data : "", k->files.len, &d);
	memcpy(k->files_sum, st_digest_hex(&d), sizeof(k->files_sum));
	char key[65];
	builder_key_compute(k, key);
	struct cache_why cw;
	int rc = builder_cache_explain(s, "pos", k, key, false, &cw, NULL);
	*why = cw.text;
	return rc;
}

static void cache_explains_a_changed_file_and_arg(void **state)
{
	(void)state;
	st_autofree char *root = tmpdir();
	struct st_store *s = NULL;
	assert_int_equal(st_store_open(root, &s, NULL), 0);
	struct key_inputs k;
	builder_key_inputs_init(&k);
	k.parent = "p";
	k.instr = "copy\x1f.\x1f.";
	k.text = "COPY . .";
	st_buf_adds(&k.files, "aa:100644 src/a.js\nbb:100644 src/b.js\n");
	char *why = NULL;
	assert_int_equal(explain(s, &k, &why), 0);
	assert_null(why);
	st_buf_reset(&k.files);
	st_buf_adds(&k.files, "aa:100644 src/a.js\ncc:100644 src/b.js\n");
	assert_int_equal(explain(s, &k, &why), 0);
	assert_string_equal(why, "file src/b.js changed");
	free(why);
	st_buf_adds(&k.args, "VERSION=2\n");
	assert_int_equal(explain(s, &k, &why), 0);
	assert_string_equal(why, "build arg VERSION set to '2'");
	free(why);
	k.instr = "copy\x1f.\x1f/x";
	k.text = "COPY . /x";
	assert_int_equal(explain(s, &k, &why), 0);
	assert_string_equal(why, "the instruction changed (was: COPY . .)");
	free(why);
	/* The same text expanded to another value, and another setting: both values. */
	k.instr = "copy\x1f.\x1f/y";
	assert_int_equal(explain(s, &k, &why), 0);
	assert_string_equal(why, "the expanded value changed from '/x' to '/y'");
	free(why);
	k.instr = "copy\x1f.\x1f/y\x1enetwork=none";
	assert_int_equal(explain(s, &k, &why), 0);
	free(why);
	k.instr = "copy\x1f.\x1f/y\x1enetwork=host";
	assert_int_equal(explain(s, &k, &why), 0);
	assert_string_equal(why, "network changed from none to host");
	free(why);
	/* A step that failed under the same key failed; it was not pruned. */
	char key[65];
	builder_key_compute(&k, key);
	assert_int_equal(builder_cache_attempt(s, "pos", key, false, NULL), 0);
	assert_int_equal(explain(s, &k, &why), 0);
	assert_string_equal(why, "the previous attempt at this step failed");
	free(why);
	/* That miss ran the step again and nothing said it ended: it was killed. */
	assert_int_equal(explain(s, &k, &why), 0);
	assert_string_equal(why, "the previous attempt at this step did not finish (interrupted)");
	free(why);
	/* One that ran to its end and whose record is gone was pruned. */
	assert_int_equal(builder_cache_attempt(s, "pos", key, true, NULL), 0);
	assert_int_equal(explain(s, &k, &why), 0);
	assert_string_equal(why, "the cached result is gone (pruned)");
	free(why);
	builder_key_inputs_release(&k);

	struct st_builder_cache_usage u;
	assert_int_equal(st_builder_cache_du(s, NULL, &u, NULL), 0);
	assert_int_equal(u.records, 0);
	assert_true(u.meta_size > 0);
	st_builder_cache_usage_release(&u);
	/* A prune forgets the explanations of a context that is gone, and their file lists. */
	assert_int_equal(st_builder_cache_prune(s, 0, 0, NULL, NULL, NULL), 0);
	struct st_store_kv *kv = NULL;
	size_t n = 0;
	assert_int_equal(st_store_kv_list(s, KV_NS_LAST, 0, &kv, &n, NULL), 0);
	assert_int_equal(n, 0);
	st_store_kvs_free(kv, n);
	assert_int_equal(st_store_kv_list(s, KV_NS_FILES, 0, &kv, &n, NULL), 0);
	assert_int_equal(n, 0);
	st_store_kvs_free(kv, n);
	st_store_free(s);
	assert_int_equal(st_rm_rf(root, NULL), 0);
}

static void output_specs_parse_as_buildx(void **state)
{
	(void)state;
	struct st_error *err = NULL;
	struct st_builder_output o = ST_BUILDER_OUTPUT_INIT;
	assert_int_equal(st_builder_output_parse("type=image,\"name=a:1,b\",push=true", &o, &err),
			 0);
	assert_int_equal(o.type, ST_BUILDER_OUTPUT_IMAGE);
	assert_true(o.push);
	assert_int_equal(o.n_names, 2);
	assert_string_equal(o.names[0], "docker.io/library/a:1");
	assert_string_equal(o.names[1], "docker.io/library/b:latest");
	st_builder_output_release(&o);

	assert_int_equal(st_builder_output_parse("type=oci,dest=x,tar=false", &o, &err), 0);
	assert_int_equal(o.type, ST_BUILDER_OUTPUT_OCI);
	assert_false(o.tar);
	assert_string_equal(o.dest, "x");
	st_builder_output_release(&o);

	/* The shorthands: a directory, "-" a tar on stdout; docker without dest loads. */
	assert_int_equal(st_builder_output_parse("out", &o, &err), 0);
	assert_int_equal(o.type, ST_BUILDER_OUTPUT_LOCAL);
	st_builder_output_release(&o);
	assert_int_equal(st_builder_output_parse("-", &o, &err), 0);
	assert_int_equal(o.type, ST_BUILDER_OUTPUT_TAR);
	st_builder_output_release(&o);
	assert_int_equal(st_builder_output_parse("type=docker,name=x", &o, &err), 0);
	assert_int_equal(o.type, ST_BUILDER_OUTPUT_IMAGE);
	st_builder_output_release(&o);
	assert_int_equal(st_builder_output_parse("type=registry,name=x", &o, &err), 0);
	assert_true(o.push);
	st_builder_output_release(&o);

	const char *bad[][2] = {
		{ "type=zip,dest=x", "unknown type 'zip'" },
		{ "type=local", "dest is required for type=local" },
		{ "type=local,dest=x,name=y", "unknown key 'name' for type=local" },
		{ "type=image,push=maybe", "push must be true or false" },
		{ "dest=x,tar=false", "type is required" },
		{ "type=oci,dest=-,tar=false", "a directory cannot be written to stdout" },
		{ "type=image,name=UPPER", "name 'UPPER'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(st_builder_output_parse(bad[i][0], &o, &err), -1);
		assert_non_null(strstr(err->msg, bad[i][1]));
		st_error_clear(&err);
		st_builder_output_release(&o);
	}
}

static void context_specs_parse_as_buildkit(void **state)
{
	(void)state;
	struct st_error *err = NULL;
	struct st_builder_context c;
	/* Names are compared normalised, without ":latest". */
	assert_int_equal(st_builder_context_parse(
			     "docker.io/library/alpine:latest=docker-image://alpine:3", &c, &err),
			 0);
	assert_string_equal(c.key, "alpine");
	assert_int_equal(c.kind, ST_BUILDER_CONTEXT_IMAGE);
	assert_string_equal(c.value, "alpine:3");
	st_builder_context_release(&c);

	assert_int_equal(st_builder_context_parse("b=oci-layout:///tmp:v1", &c, &err), 0);
	assert_int_equal(c.kind, ST_BUILDER_CONTEXT_OCI_LAYOUT);
	assert_string_equal(c.value, "/tmp");
	assert_string_equal(c.tag, "v1");
	st_builder_context_release(&c);
	assert_int_equal(st_builder_context_parse("b=oci-layout:///tmp", &c, &err), 0);
	assert_string_equal(c.tag, "latest");
	st_builder_context_release(&c);
	assert_int_equal(st_builder_context_parse(
			     "b=oci-layout:///tmp@sha256:"
			     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			     &c, &err),
			 0);
	assert_null(c.tag);
	assert_non_null(c.digest);
	st_builder_context_release(&c);
	assert_int_equal(st_builder_context_parse("src=/tmp", &c, &err), 0);
	assert_int_equal(c.kind, ST_BUILDER_CONTEXT_DIR);
	st_builder_context_release(&c);
	/* Git URLs as ADD takes them. */
	const char *git[] = { "x=git@github.com:a/b.git", "x=https://h/r.git#main:sub",
			      "x=git://h/r", "x=ssh://git@h:2222/r" };
	for (size_t i = 0; i < sizeof(git) / sizeof(*git); i++) {
		assert_int_equal(st_builder_context_parse(git[i], &c, &err), 0);
		assert_int_equal(c.kind, ST_BUILDER_CONTEXT_GIT);
		assert_string_equal(c.value, git[i] + 2);
		st_builder_context_release(&c);
	}

	const char *bad[][2] = {
		{ "novalue", "expected NAME=VALUE" },
		{ "=x", "expected NAME=VALUE" },
		{ "x=https://h/file.tar.gz", "unsupported source" },
		{ "x=target:other", "unsupported source" },
		{ "x=/nonexistent/strata", "is not a directory" },
		{ "x=oci-layout:///tmp@sha256:12", "build context" },
		{ "x=docker-image://UP", "build context" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(st_builder_context_parse(bad[i][0], &c, &err), -1);
		assert_non_null(strstr(err->msg, bad[i][1]));
		st_error_clear(&err);
		st_builder_context_release(&c);
	}
}

/* BuildKit's grammar (util/gitutil, dfgitutil): what is a git URL, and what it asks for. */
static void git_urls_parse_as_buildkit(void **state)
{
	(void)state;
	assert_true(builder_git_is_url("https://github.com/moby/buildkit.git"));
	assert_true(builder_git_is_url("http://127.0.0.1:8080/repo.git#main:docs"));
	assert_true(builder_git_is_url("git://host/repo"));
	assert_true(builder_git_is_url("ssh://git@host:2222/repo"));
	assert_true(builder_git_is_url("git@github.com:moby/buildkit.git"));
	assert_false(builder_git_is_url("https://example.com/file.tar.gz"));
	assert_false(builder_git_is_url("https://example.com/repo.git.tar"));
	assert_false(builder_git_is_url("src/app"));
	assert_false(builder_git_is_url("user@host"));

	struct git_source g;
	struct st_error *err = NULL;
	assert_int_equal(builder_git_parse("https://h/r.git#v1.0:/a/b/", &g, &err), 0);
	assert_string_equal(g.remote, "https://h/r.git");
	assert_string_equal(g.ref, "v1.0");
	assert_string_equal(g.subdir, "a/b");
	assert_false(g.ssh);
	builder_git_source_release(&g);

	assert_int_equal(
	    builder_git_parse("http://h/r.git?branch=dev&subdir=x&keep-git-dir", &g, &err), 0);
	assert_string_equal(g.remote, "http://h/r.git");
	assert_string_equal(g.ref, "refs/heads/dev");
	assert_string_equal(g.subdir, "x");
	assert_int_equal(g.keep_git_dir, 1);
	builder_git_source_release(&g);

	assert_int_equal(
	    builder_git_parse("git@h:o/r.git##ref=main,commit=abcd12,subdir=d", &g, &err), 0);
	assert_string_equal(g.remote, "git@h:o/r.git");
	assert_string_equal(g.ref, "main");
	assert_string_equal(g.checksum, "abcd12");
	assert_true(g.ssh);
	builder_git_source_release(&g);

	/* A commit alone is the ref; the root as subdir is no subdir. */
	assert_int_equal(builder_git_parse("git://h/r?commit=abcdef&subdir=/", &g, &err), 0);
	assert_string_equal(g.ref, "abcdef");
	assert_null(g.subdir);
	builder_git_source_release(&g);

	static const char *const bad[] = {
		"git://h/r?tag=a&branch=b", "git://h/r?color=blue",	 "git://h/r?ref=a&ref=b",
		"git://h/r?ref=",	    "git://h/r##nokey",		 "git://h/r?commit=xyz",
		"git://h/r#-upload-pack=x", "git://h/r?mtime=yesterday",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(builder_git_parse(bad[i], &g, &err), -1);
		assert_int_equal(err->kind, ST_E_INVALID);
		assert_non_null(strstr(err->msg, bad[i]));
		st_error_clear(&err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(path_clean_follows_docker),
		cmocka_unit_test(keys_cover_every_input),
		cmocka_unit_test(context_sums_are_remembered_by_stat),
		cmocka_unit_test(cache_explains_a_changed_file_and_arg),
		cmocka_unit_test(output_specs_parse_as_buildx),
		cmocka_unit_test(context_specs_parse_as_buildkit),
		cmocka_unit_test(git_urls_parse_as_buildkit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
