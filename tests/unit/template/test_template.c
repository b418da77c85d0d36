#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "template/template.h"
#include "util/cleanup.h"

/* A slice of what `strata inspect` feeds to templates. */
static const char data_json[] =
    "{\"Id\":\"sha256:abc\",\"RepoTags\":[\"busybox:latest\",\"bb:1\"],\"RepoDigests\":[],"
    "\"Size\":4261550,\"Ratio\":1.5,\"Big\":1000000.0,\"Small\":0.0001,\"Tiny\":0.00001,\"Neg\":-3,"
    "\"Ok\":true,\"No\":false,\"Nil\":null,\"Empty\":\"\",\"Name\":\"hello world-foo_bar\","
    "\"Config\":{\"Env\":[\"PATH=/bin\",\"A=1\"],\"Cmd\":[\"sh\",\"-c\",\"echo "
    "hi\"],\"Entrypoint\":null,"
    "\"Labels\":{\"org.example.team\":\"tools\",\"b\":\"2\"},\"WorkingDir\":\"/srv\"},"
    "\"RootFS\":{\"Type\":\"layers\",\"Layers\":[\"sha256:1\",\"sha256:2\"]},"
    "\"Mixed\":[\"a\",1,null,true,{\"k\":\"v\"},[1,2]]}";

struct tcase {
	const char *tmpl;
	const char *out;
};

static const struct tcase cases[] = {
	/* text, fields, dot */
	{ "plain text", "plain text" },
	{ "{{.Id}}", "sha256:abc" },
	{ "{{.Config.WorkingDir}}", "/srv" },
	{ "{{.Config.Env}}", "[PATH=/bin A=1]" },
	{ "{{.RootFS}}", "map[Layers:[sha256:1 sha256:2] Type:layers]" },
	{ "{{.Mixed}}", "[a 1 <nil> true map[k:v] [1 2]]" },
	{ "{{.Nope}}", "<no value>" },
	{ "{{.Nil}}", "<no value>" },
	{ "{{.Nope.Deeper}}", "<no value>" },
	{ "{{.Config.Entrypoint}}", "<no value>" },
	{ "{{.Size}} {{.Ratio}} {{.Big}} {{.Small}} {{.Tiny}} {{.Neg}}",
	  "4261550 1.5 1e+06 0.0001 1e-05 -3" },
	{ "{{.Ok}} {{.No}}", "true false" },
	{ "{{.RootFS.Type}}", "layers" },
	{ "{{$.Id}}", "sha256:abc" },
	/* json */
	{ "{{json .Config.Cmd}}", "[\"sh\",\"-c\",\"echo hi\"]" },
	{ "{{json .RootFS}}", "{\"Type\":\"layers\",\"Layers\":[\"sha256:1\",\"sha256:2\"]}" },
	{ "{{.Config.Cmd | json}}", "[\"sh\",\"-c\",\"echo hi\"]" },
	{ "{{json .Nope}}", "null" },
	{ "{{json .Name}}", "\"hello world-foo_bar\"" },
	/* index */
	{ "{{index .RepoTags 0}}", "busybox:latest" },
	{ "{{index .RepoTags 1}}", "bb:1" },
	{ "{{index .Config.Labels \"org.example.team\"}}", "tools" },
	{ "{{index .Config.Labels \"missing\"}}", "<no value>" },
	{ "{{index .Mixed 4 \"k\"}}", "v" },
	/* range */
	{ "{{range .RootFS.Layers}}{{.}};{{end}}", "sha256:1;sha256:2;" },
	{ "{{range $i, $e := .RepoTags}}{{$i}}={{$e}} {{end}}", "0=busybox:latest 1=bb:1 " },
	{ "{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}},{{end}}",
	  "b:2,org.example.team:tools," },
	{ "{{range .Config.Labels}}{{.}},{{end}}", "2,tools," },
	{ "{{range .RepoDigests}}x{{else}}none{{end}}", "none" },
	{ "{{range .Nope}}x{{else}}none{{end}}", "none" },
	{ "{{range $e := .RepoTags}}{{$e}}{{$.Id}} {{end}}",
	  "busybox:latestsha256:abc bb:1sha256:abc " },
	/* if / else / with */
	{ "{{if .Ok}}yes{{else}}no{{end}}", "yes" },
	{ "{{if .No}}yes{{else}}no{{end}}", "no" },
	{ "{{if .Empty}}yes{{else if .Ok}}second{{else}}no{{end}}", "second" },
	{ "{{if .RepoDigests}}y{{else}}n{{end}}{{if .Nope}}y{{else}}n{{end}}{{if .Size}}y{{end}}",
	  "nny" },
	{ "{{with .RootFS}}{{.Type}}{{end}}", "layers" },
	{ "{{with .Nope}}x{{else}}empty{{end}}", "empty" },
	{ "{{if and .Ok .Size}}a{{end}}{{if or .No .Empty}}b{{else}}c{{end}}{{if not .No}}d{{end}}",
	  "acd" },
	{ "{{if eq .RootFS.Type \"layers\"}}eq{{end}}{{if ne .Size 1}}ne{{end}}", "eqne" },
	{ "{{if eq .Size 4261550}}n{{end}}{{if lt 1 2}}lt{{end}}{{if ge 2.5 2}}ge{{end}}",
	  "nltge" },
	{ "{{if eq .Id \"x\" \"sha256:abc\"}}any{{end}}", "any" },
	/* functions */
	{ "{{join .Config.Cmd \" \"}}", "sh -c echo hi" },
	{ "{{join .Config.Env \",\"}}", "PATH=/bin,A=1" },
	{ "{{upper .RootFS.Type}} {{lower \"ABC\"}} {{title .Name}}",
	  "LAYERS abc Hello World-Foo_bar" },
	{ "{{split \"a:b:c\" \":\"}}", "[a b c]" },
	{ "{{index (split .Id \":\") 1}}", "abc" },
	{ "{{len .RepoTags}} {{len .Config.Labels}} {{len .Id}}", "2 2 10" },
	{ "{{println .Id .Size}}", "sha256:abc 4261550\n" },
	{ "{{print \"a\" \"b\" 1 2}}", "ab1 2" },
	{ "{{printf \"%s-%d\" .Id .Size}}", "sha256:abc-4261550" },
	{ "{{printf \"%v|%5s|%-5s|%05d|%.2f|%q|%%\" .RepoTags \"ab\" \"ab\" 42 3.14159 \"x\"}}",
	  "[busybox:latest bb:1]|   ab|ab   |00042|3.14|\"x\"|%" },
	{ "{{printf \"%d\" \"x\"}}", "%!d(string=x)" },
	{ "{{printf \"%s %s\" \"x\"}}", "x %!s(MISSING)" },
	{ "{{.Id | printf \"<%s>\"}}", "<sha256:abc>" },
	{ "{{truncate .Id 6}}|{{pad \"x\" 1 2}}|", "sha256| x  |" },
	{ "{{.Size | printf \"%d\" | len}}", "7" },
	/* literals, variables, trim markers, comments */
	{ "{{\"\\t\"}}|{{`raw\\t`}}|{{1.5}}|{{42}}|{{true}}|{{'a'}}", "\t|raw\\t|1.5|42|true|97" },
	{ "{{$x := .Id}}{{$x}}{{$x = \"y\"}}{{$x}}", "sha256:abcy" },
	{ "a  {{- .Id -}}  b", "asha256:abcb" },
	{ "a {{- /* comment */ -}} b", "ab" },
	{ "a{{/* comment */}}b", "ab" },
	{ "{{-3}}", "-3" },
	{ "{{.Id}}\t{{.Size}}\n", "sha256:abc\t4261550\n" },
	{ "{{(index .RootFS.Layers 0)}}", "sha256:1" },
	{ "{{(.RootFS).Type}}", "layers" },
	{ "", "" },
};

static void template_table(void **state)
{
	json_error_t je;
	json_t *data = json_loads(data_json, 0, &je);
	assert_non_null(data);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct st_template *t = NULL;
		struct st_error *err = NULL;
		struct st_buf out = ST_BUF_INIT;
		if (st_template_parse(cases[i].tmpl, &t, &err) < 0)
			fail_msg("parse '%s': %s", cases[i].tmpl, err->msg);
		if (st_template_execute(t, data, &out, &err) < 0)
			fail_msg("execute '%s': %s", cases[i].tmpl, err->msg);
		if (strcmp(st_buf_str(&out), cases[i].out) != 0)
			fail_msg("'%s': got '%s', want '%s'", cases[i].tmpl, st_buf_str(&out),
				 cases[i].out);
		st_buf_release(&out);
		/* parse once, execute many: a second run gives the same */
		assert_int_equal(st_template_execute(t, data, &out, &err), 0);
		assert_string_equal(st_buf_str(&out), cases[i].out);
		st_buf_release(&out);
		st_template_free(t);
	}
	json_decref(data);
}

static void template_parse_errors(void **state)
{
	static const struct {
		const char *tmpl, *msg;
	} bad[] = {
		{ "{{.Nope", "template: :1:8: unclosed action" },
		{ "{{.Id}}}}x{{", "unclosed action" },
		{ "{{}}", "template: :1:3: missing value for command" },
		{ "{{if .Ok}}x", "unexpected EOF" },
		{ "{{end}}", "unexpected {{end}}" },
		{ "{{else}}", "unexpected {{else}}" },
		{ "{{nosuch .X}}", "function \"nosuch\" not defined" },
		{ "{{.X | }}", "missing command after |" },
		{ "{{\"abc}}", "unterminated quoted string" },
		{ "{{(.X}}", "unclosed left paren" },
		{ "{{.X)}}", "unexpected right paren" },
		{ "{{define \"x\"}}{{end}}", "{{define}} is not supported" },
		{ "{{/* x }}", "unclosed comment" },
		{ "{{.X ; }}", "unexpected \";\" in operand" },
		{ "{{range .X}}{{else}}{{else}}{{end}}", "expected end; found {{else}}" },
		{ "line1\n{{.A}}\n  {{ } }}", "template: :3:6: unexpected \"}\" in operand" },
		{ "{{1x}}", "bad number syntax" },
		{ "{{$x := }}", "missing value for command" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct st_template *t = NULL;
		struct st_error *err = NULL;
		if (st_template_parse(bad[i].tmpl, &t, &err) == 0)
			fail_msg("'%s' parsed", bad[i].tmpl);
		assert_int_equal(err->kind, ST_E_PARSE);
		if (!strstr(err->msg, bad[i].msg))
			fail_msg("'%s': '%s' lacks '%s'", bad[i].tmpl, err->msg, bad[i].msg);
		st_error_free(err);
	}
}

static void template_exec_errors(void **state)
{
	static const struct {
		const char *tmpl, *msg;
	} bad[] = {
		{ "{{.Id.Sub}}",
		  "template: :1:3: executing \"\" at <.Id.Sub>: can't evaluate field Sub "
		  "in type string" },
		{ "{{index .RepoTags 5}}", "error calling index: index out of range: 5" },
		{ "{{index .Id \"k\"}}", "can't index item of type string" },
		{ "{{range .Id}}{{end}}", "range can't iterate over string" },
		{ "{{$y}}", "undefined variable: $y" },
		{ "{{len .Size}}", "len of type int" },
		{ "{{.Id 1}}", "has arguments but cannot be invoked as function" },
		{ "{{lt .Id 1}}", "incompatible types for comparison" },
		{ "{{not}}", "wrong number of args for not" },
		{ "{{join .Id \",\"}}", "expected []string" },
	};
	json_t *data = json_loads(data_json, 0, NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct st_template *t = NULL;
		struct st_error *err = NULL;
		struct st_buf out = ST_BUF_INIT;
		if (st_template_parse(bad[i].tmpl, &t, &err) < 0)
			fail_msg("'%s': %s", bad[i].tmpl, err->msg);
		assert_int_equal(st_template_execute(t, data, &out, &err), -1);
		assert_int_equal(err->kind, ST_E_INVALID);
		if (!strstr(err->msg, bad[i].msg))
			fail_msg("'%s': '%s' lacks '%s'", bad[i].tmpl, err->msg, bad[i].msg);
		st_error_free(err);
		st_buf_release(&out);
		st_template_free(t);
	}
	json_decref(data);
}

static void template_docker_table_and_json(void **state)
{
	st_auto(st_template) struct st_template *t = NULL, *j = NULL, *plain = NULL;
	struct st_error *err = NULL;
	struct st_buf out = ST_BUF_INIT;
	json_t *row = json_pack("{s:s, s:s}", "Repository", "busybox", "Tag", "latest");
	json_t *head = json_pack("{s:s, s:s}", "Repository", "REPOSITORY", "Tag", "TAG");
	assert_int_equal(st_template_parse_flags("table {{.Repository}}\t{{.Tag}}",
						 ST_TEMPLATE_DOCKER, &t, &err),
			 0);
	assert_true(st_template_is_table(t));
	assert_int_equal(st_template_execute(t, head, &out, &err), 0);
	assert_int_equal(st_template_execute(t, row, &out, &err), 0);
	assert_string_equal(st_buf_str(&out), "REPOSITORY\tTAGbusybox\tlatest");
	st_buf_release(&out);
	assert_int_equal(st_template_parse_flags("json", ST_TEMPLATE_DOCKER, &j, &err), 0);
	assert_false(st_template_is_table(j));
	assert_int_equal(st_template_execute(j, row, &out, &err), 0);
	assert_string_equal(st_buf_str(&out), "{\"Repository\":\"busybox\",\"Tag\":\"latest\"}");
	st_buf_release(&out);
	/* without the flag, "table" is text */
	assert_int_equal(st_template_parse("table {{.Tag}}", &plain, &err), 0);
	assert_false(st_template_is_table(plain));
	assert_int_equal(st_template_execute(plain, row, &out, &err), 0);
	assert_string_equal(st_buf_str(&out), "table latest");
	/* NULL data: every field is missing */
	st_buf_reset(&out);
	assert_int_equal(st_template_execute(plain, NULL, &out, &err), 0);
	assert_string_equal(st_buf_str(&out), "table <no value>");
	st_buf_release(&out);
	json_decref(row);
	json_decref(head);
}

static void template_print_value_rules(void **state)
{
	static const struct {
		const char *json, *out;
	} values[] = {
		{ "\"s\"", "s" },	  { "1", "1" },
		{ "-0.5", "-0.5" },	  { "1e21", "1e+21" },
		{ "123456.0", "123456" }, { "1234567.0", "1.234567e+06" },
		{ "0.1", "0.1" },	  { "[]", "[]" },
		{ "{}", "map[]" },	  { "{\"b\":1,\"a\":[null]}", "map[a:[<nil>] b:1]" },
		{ "null", "<no value>" },
	};
	for (size_t i = 0; i < sizeof(values) / sizeof(*values); i++) {
		json_t *v = json_loads(values[i].json, JSON_DECODE_ANY, NULL);
		struct st_buf out = ST_BUF_INIT;
		st_template_print_value(v, &out);
		assert_string_equal(st_buf_str(&out), values[i].out);
		st_buf_release(&out);
		json_decref(v);
	}
}

static void template_depth_is_bounded(void **state)
{
	struct st_buf deep = ST_BUF_INIT;
	struct st_template *t = NULL;
	struct st_error *err = NULL;
	for (int i = 0; i < 500; i++)
		st_buf_adds(&deep, "{{if 1}}");
	assert_int_equal(st_template_parse(deep.data, &t, &err), -1);
	assert_non_null(strstr(err->msg, "max nesting depth exceeded"));
	st_error_clear(&err);
	st_buf_reset(&deep);
	st_buf_adds(&deep, "{{");
	for (int i = 0; i < 500; i++)
		st_buf_adds(&deep, "(");
	assert_int_equal(st_template_parse(deep.data, &t, &err), -1);
	st_error_clear(&err);
	st_buf_release(&deep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(template_table),
		cmocka_unit_test(template_parse_errors),
		cmocka_unit_test(template_exec_errors),
		cmocka_unit_test(template_docker_table_and_json),
		cmocka_unit_test(template_print_value_rules),
		cmocka_unit_test(template_depth_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
