load helpers
setup() { common_setup; }

@test "debug parse: ENV and LABEL pairs dump as name, value and separator, as BuildKit's parser" {
	printf '%s\n' 'FROM scratch' 'ENV a=b c="d e"' 'ENV legacy value with  spaces' \
		'LABEL "x y"=z w=' 'LABEL maintainer someone <a@b>' 'ONBUILD ENV k=v' \
		>"$BATS_TEST_TMPDIR/Dockerfile"
	run strata debug parse "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = '(env "a" "b" "=" "c" "\"d e\"" "=")' ]
	[ "${lines[2]}" = '(env "legacy" "value with  spaces" "")' ]
	[ "${lines[3]}" = '(label "\"x y\"" "z" "=" "w" "" "=")' ]
	[ "${lines[4]}" = '(label "maintainer" "someone <a@b>" "")' ]
	[ "${lines[5]}" = '(onbuild (env "k" "v" "="))' ]
}

@test "build: ENV and LABEL in both forms still set the config" {
	printf '%s\n' 'FROM scratch' 'ENV a=b c="d e"' 'ENV legacy value with  spaces' \
		'LABEL "x y"=z maintainer=someone' >"$BATS_TEST_TMPDIR/Dockerfile"
	run strata build -q -t pairs:1 "$BATS_TEST_TMPDIR"
	[ "$status" -eq 0 ]
	run strata inspect --format '{{json .Config.Env}}' pairs:1
	[ "$status" -eq 0 ]
	[[ "$output" == *'"a=b","c=d e","legacy=value with  spaces"'* ]]
	run strata inspect --format '{{json .Config.Labels}}' pairs:1
	[ "$status" -eq 0 ]
	[ "$output" = '{"maintainer":"someone","x y":"z"}' ]
}
