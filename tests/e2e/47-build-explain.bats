#!/usr/bin/env bats
# strata build: what the explanations of cache misses say, the summary and the live view.
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX/src"
	echo 'v1' >"$CTX/src/hello.c"
}

@test "build summary: FROM is not a step run; one step is singular" {
	printf 'FROM busybox\nENV A=1\nRUN echo hi\n' >"$CTX/Dockerfile"
	run strata build --progress=plain "$CTX"
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == *"s: 2 steps run, 0 cached" ]]
	run strata build --progress=plain "$CTX"
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == *"s: 0 steps run, 2 cached" ]]
	printf 'FROM busybox\nENV A=1\nRUN echo hello\n' >"$CTX/Dockerfile"
	run strata build --progress=plain "$CTX"
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == *"s: 1 step run, 1 cached" ]]
}

@test "build explain: two contexts typed as . in two directories are not compared" {
	mkdir -p "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	printf 'FROM busybox\nRUN echo from-a\n' >"$BATS_TEST_TMPDIR/a/Dockerfile"
	printf 'FROM busybox\nRUN echo from-b\n' >"$BATS_TEST_TMPDIR/b/Dockerfile"
	cd "$BATS_TEST_TMPDIR/a"
	run strata build --progress=plain .
	[ "$status" -eq 0 ]
	cd "$BATS_TEST_TMPDIR/b"
	run strata build --progress=plain .
	[ "$status" -eq 0 ]
	[[ "$output" != *"from-a"* ]]
	[[ "$output" == *"cache miss: not in the cache"* ]]
	# The same directory typed another way is the same place.
	printf 'FROM busybox\nRUN echo from-b2\n' >"$BATS_TEST_TMPDIR/b/Dockerfile"
	run strata build --progress=plain "$BATS_TEST_TMPDIR/a/../b/"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cache miss: the instruction changed (was: RUN echo from-b)"* ]]
}

@test "build explain: a changed network mode names both modes" {
	printf 'FROM busybox\nRUN echo net\n' >"$CTX/Dockerfile"
	run strata build --progress=plain --network=host "$CTX"
	[ "$status" -eq 0 ]
	run strata build --progress=plain --network=none "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 cache miss: network changed from host to none"* ]]
}

@test "build explain: an ENV whose expanded value changed shows both values" {
	printf 'FROM busybox\nARG V=1\nENV X=$V\nRUN echo $X\n' >"$CTX/Dockerfile"
	run strata build --progress=plain "$CTX"
	[ "$status" -eq 0 ]
	run strata build --progress=plain --build-arg V=2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#3 cache miss: the expanded value of X changed from '1' to '2'"* ]]
	[[ "$output" == *"#4 cache miss: build arg V changed from '1' to '2'"* ]]
}

@test "build explain: a step whose last attempt failed says so, not pruned" {
	# The cache mount outlives the failed attempt, so the same step passes the second time.
	printf 'FROM busybox\nRUN --mount=type=cache,target=/c test -f /c/ok || { touch /c/ok; false; }\n' >"$CTX/Dockerfile"
	run strata build --progress=plain "$CTX"
	[ "$status" -ne 0 ]
	run strata build --progress=plain "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 cache miss: the previous attempt at this step failed"* ]]
	[[ "$output" != *"pruned"* ]]
}

@test "build explain: a COPY --from names the stage and the path; a later step names the first miss" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox AS build
COPY src/hello.c /out/hello.c
FROM busybox AS app
COPY --from=build /out/hello.c /app/
RUN cat /app/hello.c
FROM build AS again
RUN cat /out/hello.c
DF
	run strata build --progress=plain --target again "$CTX"
	[ "$status" -eq 0 ]
	run strata build --progress=plain --target app "$CTX"
	[ "$status" -eq 0 ]
	echo v2 >"$CTX/src/hello.c"
	run strata build --progress=plain --target app "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cache miss: /out/hello.c from stage build changed, because #2 COPY src/hello.c /out/hello.c missed: file src/hello.c changed"$'\n'* ]]
	[[ "$(grep "cache miss" <<<"$output")" != *sha256* ]]
	[[ "$output" == *"cache miss: a previous step was rebuilt, because #"*" COPY --from=build /out/hello.c /app/ missed: /out/hello.c from stage build changed"* ]]
	echo v3 >"$CTX/src/hello.c"
	run strata build --progress=plain --target again "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cache miss: stage build changed, because #2 COPY src/hello.c /out/hello.c missed: file src/hello.c changed"* ]]
}

@test "build explain: a rebuilt step names the root miss; a cheap COPY before a slow RUN is pointed out once" {
	printf 'FROM busybox\nCOPY . /app\nRUN sleep 1\nRUN cat /app/src/hello.c\n' >"$CTX/Dockerfile"
	run strata build --progress=plain "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"hint:"* ]]
	echo v2 >"$CTX/src/hello.c"
	run strata build --progress=plain "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#3 cache miss: a previous step was rebuilt, because #2 COPY . /app missed: file src/hello.c changed"* ]]
	[[ "$output" == *"hint: COPY . /app at Dockerfile:2 changed and invalidated RUN sleep 1 ("*"s) at Dockerfile:3: copy only what that step needs first"* ]]
	[ "$(grep -c 'hint:' <<<"$output")" -eq 1 ]
}

@test "build progress plain: starts without a blank line; a failed step shows its Dockerfile lines marked >>>" {
	printf 'FROM busybox\nCOPY . /app\nRUN echo hello && \\\n  echo world && false\nRUN echo after\n' >"$CTX/Dockerfile"
	run strata build --progress=plain "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == "#1 [1/4] FROM docker.io/library/busybox:latest"$'\n'* ]]
	[[ "$output" == *"#3 ERROR: process"*"------"$'\n'" > [3/4] RUN echo hello && echo world && false:"$'\n'"hello"$'\n'"world"$'\n'"------"* ]]
	[[ "$output" == *$'\n'"Dockerfile:3"$'\n'"--------------------"$'\n'"   1 |     FROM busybox"$'\n'"   2 |     COPY . /app"$'\n'"   3 | >>> RUN echo hello && \\"$'\n'"   4 | >>>   echo world && false"$'\n'"   5 |     RUN echo after"$'\n'"--------------------"$'\n'* ]]
}

# Run strata on a terminal 60 columns wide; print what it wrote without the escapes.
tty_build() {
	script -qec "stty cols 60 rows 40; $* '$STRATA_BIN' build $BUILD_ARGS" /dev/null >"$BATS_TEST_TMPDIR/tty.raw"
	local rc=$?
	sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$BATS_TEST_TMPDIR/tty.raw" | tr -d '\r' >"$BATS_TEST_TMPDIR/tty.txt"
	return $rc
}

@test "build progress tty: a header with the running total, times at the right edge, lines cut to the width" {
	printf 'FROM busybox\nCOPY . /app\nRUN echo hello\n' >"$CTX/Dockerfile"
	BUILD_ARGS="'$CTX'"
	tty_build
	echo v2 >"$CTX/src/hello.c"
	run tty_build
	[ "$status" -eq 0 ]
	run cat "$BATS_TEST_TMPDIR/tty.txt"
	[[ "$output" == *"[+] Building "*"s (3/3) FINISHED"* ]]
	# Every line of the view fits in 59 columns; a finished step's time ends its line at the
	# right edge.
	run awk '/^( => |\[\+\])/ && length($0) > 59' "$BATS_TEST_TMPDIR/tty.txt"
	[ -z "$output" ]
	run grep -E '^ => \[3/3\] RUN echo hello +[0-9]+\.[0-9]s$' "$BATS_TEST_TMPDIR/tty.txt"
	[ "$status" -eq 0 ]
	[ "${#lines[0]}" -eq 59 ]
	run grep '^ => => cache miss: a previous step was rebuilt, because #2' "$BATS_TEST_TMPDIR/tty.txt"
	[ "$status" -eq 0 ]
	[ "${#lines[0]}" -eq 59 ]
}

@test "build progress tty: a failed step is red with its excerpt; NO_COLOR leaves colour out" {
	printf 'FROM busybox\nRUN false\n' >"$CTX/Dockerfile"
	BUILD_ARGS="'$CTX'"
	run tty_build
	[ "$status" -ne 0 ]
	grep -q $'\x1b\\[31m => ERROR \\[2/2\\] RUN false' "$BATS_TEST_TMPDIR/tty.raw"
	grep -q '^   2 | >>> RUN false$' "$BATS_TEST_TMPDIR/tty.txt"
	run tty_build NO_COLOR=1
	[ "$status" -ne 0 ]
	grep -q '^ => ERROR \[2/2\] RUN false' "$BATS_TEST_TMPDIR/tty.txt"
	run grep -c $'\x1b\\[[0-9;]*m' "$BATS_TEST_TMPDIR/tty.raw"
	[ "$output" = 0 ]
}

@test "build progress: a failed step's last output is shown without tabs or a tool's colours" {
	printf 'FROM busybox\nRUN printf "a\\tb \\033[31mred\\033[0m x\\n"; false\n' >"$CTX/Dockerfile"
	run strata build --progress=plain "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *" > [2/2] RUN printf"*":"$'\n'"a b red x"$'\n'"------"* ]]
}

@test "build explain: after a pruned step, the steps after it name it rather than their own record" {
	printf 'FROM busybox\nRUN echo one > /one\nRUN echo two > /two\n' >"$CTX/Dockerfile"
	run strata build -q "$CTX"
	[ "$status" -eq 0 ]
	run strata image prune -f
	[ "$status" -eq 0 ]
	run strata builder prune -f
	[ "$status" -eq 0 ]
	run strata build --progress=plain "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 cache miss: the cached result is gone (pruned)"* ]]
	[[ "$output" == *"#3 cache miss: a previous step was rebuilt, because #2 RUN echo one > /one missed: the cached result is gone (pruned)"* ]]
}

@test "build explain: the first step after a FROM whose image changed says the base changed" {
	mkdir -p "$BATS_TEST_TMPDIR/base"
	printf 'FROM busybox\nRUN echo 1 > /v\n' >"$BATS_TEST_TMPDIR/base/Dockerfile"
	run strata build -q -t base:1 "$BATS_TEST_TMPDIR/base"
	[ "$status" -eq 0 ]
	printf 'FROM base:1\nRUN cat /v\n' >"$CTX/Dockerfile"
	run strata build --progress=plain "$CTX"
	[ "$status" -eq 0 ]
	printf 'FROM busybox\nRUN echo 2 > /v\n' >"$BATS_TEST_TMPDIR/base/Dockerfile"
	run strata build -q -t base:1 "$BATS_TEST_TMPDIR/base"
	[ "$status" -eq 0 ]
	run strata build --progress=plain "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 cache miss: the base image changed"$'\n'* ]]
}
