load helpers
setup() { common_setup; }

fix() { echo "$BATS_TEST_DIRNAME/fixtures/dockerfile/$1"; }

@test "debug parse: BuildKit's dump format for its testfiles" {
	run strata debug parse "$(fix docker.Dockerfile)"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$(fix docker.result)")" ]
	run strata debug parse --ast-only "$(fix health.Dockerfile)"
	[ "$status" -eq 0 ]
	[ "$output" = "$(cat "$(fix health.result)")" ]
}

@test "debug parse: a bad Dockerfile exits 1 naming file, line and a fix" {
	printf 'FROM scratch\nRUNN true\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	run strata debug parse "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)"* ]]
	[[ "$output" == *"2 | RUNN true"* ]]
	printf 'FROM a\nRUN <<EOF\nnever ends\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	run strata debug parse "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 1 ]
	[[ "$output" == *"unterminated heredoc"* ]]
	: >"$BATS_TEST_TMPDIR/Dockerfile"
	run strata debug parse "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 1 ]
	[[ "$output" == *"file with no instructions"* ]]
}

@test "debug parse: multi-stage with mounts, heredocs and flags" {
	printf '%s\n' '# syntax=docker/dockerfile:1' 'FROM node:20 AS deps' \
		'RUN --mount=type=cache,target=/root/.npm npm ci' 'COPY <<EOF /etc/app.conf' \
		'port=8080' 'EOF' 'FROM node:20-slim' 'COPY --from=deps --link /app /app' \
		'HEALTHCHECK --interval=30s CMD ["node", "health.js"]' >"$BATS_TEST_TMPDIR/Dockerfile"
	run strata debug parse "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = '(run ["--mount=type=cache,target=/root/.npm"] "npm ci")' ]
	[ "${lines[2]}" = '(copy "<<EOF" "/etc/app.conf")' ]
	[ "${lines[4]}" = '(copy ["--from=deps" "--link"] "/app" "/app")' ]
	[ "${lines[5]}" = '(healthcheck ["--interval=30s"] "CMD" "node" "health.js")' ]
}

@test "debug expand and words: BuildKit's lexer" {
	run strata debug expand --env A=1 --env P=a/b/c -- 'x${A:+set}${B:-def}-${P##*/}-${P/b/X}'
	[ "$status" -eq 0 ]
	[ "$output" = "xsetdef-c-a/X/c" ]
	run strata debug expand -- '${NEED?must be set}'
	[ "$status" -eq 1 ]
	[[ "$output" == *"NEED: must be set"* ]]
	run strata debug expand --escape '`' -- 'a`$b'
	[ "$status" -eq 0 ]
	[ "$output" = 'a$b' ]
	run strata debug words --env 'V=a b' -- '$V "c d"'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = a ]
	[ "${lines[1]}" = b ]
	[ "${lines[2]}" = "c d" ]
}

@test "debug ignore: the files a build sends" {
	ctx=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$ctx/src" "$ctx/node_modules/x" "$ctx/ci"
	touch "$ctx/src/a.c" "$ctx/src/b.tmp" "$ctx/node_modules/x/i.js" "$ctx/README.md" "$ctx/Dockerfile"
	printf 'node_modules\n**/*.tmp\n*.md\n!README.md\nDockerfile\n' >"$ctx/.dockerignore"
	run strata debug ignore "$ctx"
	[ "$status" -eq 0 ]
	expected=$(printf '.dockerignore\nREADME.md\nsrc/a.c')
	[ "$output" = "$expected" ]
	echo 'FROM a' >"$ctx/ci/app.Dockerfile"
	printf 'src\n' >"$ctx/ci/app.Dockerfile.dockerignore"
	run strata debug ignore -f ci/app.Dockerfile "$ctx"
	[ "$status" -eq 0 ]
	[[ "$output" != *"src/a.c"* ]]
	[[ "$output" == *"node_modules/x/i.js"* ]]
}

@test "debug: usage errors exit 2" {
	run strata debug
	[ "$status" -eq 2 ]
	run strata debug frob
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown debug subcommand 'frob'"* ]]
}
