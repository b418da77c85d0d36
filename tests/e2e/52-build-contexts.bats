#!/usr/bin/env bats
# strata build --build-context NAME=DIR|docker-image://REF|oci-layout://DIR[:TAG|@DIGEST], as
# BuildKit resolves named contexts: FROM, COPY --from and RUN --mount from= use them before any
# image of that name, and a stage of that name is replaced by one.
load helpers

setup_file() {
	registry_start "$BATS_FILE_TMPDIR/registry"
	export REG REG_PID
}

teardown_file() {
	registry_stop
}

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
	# Another image: busybox with a file that says which it is.
	MARK=$BATS_TEST_TMPDIR/mark
	mkdir -p "$MARK"
	echo marked >"$MARK/marker"
	printf 'FROM busybox\nCOPY marker /marker\n' >"$MARK/Dockerfile"
	strata build -q -t marked:1 "$MARK" >/dev/null
	OUT=$BATS_TEST_TMPDIR/out
}

@test "build-context DIR: FROM, COPY --from and RUN --mount from= read the directory" {
	EXTRA=$BATS_TEST_TMPDIR/extra
	mkdir -p "$EXTRA/sub"
	echo extra-file >"$EXTRA/sub/e.txt"
	cat >"$CTX/Dockerfile" <<'DF'
FROM extra AS files
FROM busybox
COPY --from=extra /sub/e.txt /copied.txt
RUN --mount=from=extra,target=/x cat /x/sub/e.txt >/mounted.txt
COPY --from=files /sub /fromstage
DF
	run strata build -o "$OUT" --build-context "extra=$EXTRA" "$CTX"
	[ "$status" -eq 0 ]
	[ "$(cat "$OUT/copied.txt")" = extra-file ]
	[ "$(cat "$OUT/mounted.txt")" = extra-file ]
	[ "$(cat "$OUT/fromstage/e.txt")" = extra-file ]
	# Without the context, "extra" is an image the store does not have.
	run strata build --pull=never "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--pull=never and the store has no 'extra'"* ]]
}

@test "build-context DIR: a changed file in it misses the cache, the same files hit" {
	EXTRA=$BATS_TEST_TMPDIR/extra
	mkdir -p "$EXTRA"
	echo one >"$EXTRA/f"
	printf 'FROM busybox\nCOPY --from=extra /f /f\n' >"$CTX/Dockerfile"
	run strata build -q --build-context "extra=$EXTRA" "$CTX"
	[ "$status" -eq 0 ]
	first=$output
	run strata build --build-context "extra=$EXTRA" "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"CACHED"* ]]
	echo two >"$EXTRA/f"
	run strata build --progress=plain --build-context "extra=$EXTRA" "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cache miss: /f from build context extra changed"* ]]
	run strata build -q --build-context "extra=$EXTRA" "$CTX"
	[ "$output" != "$first" ]
}

@test "build-context docker-image://: it replaces the FROM image of that name, however it is written" {
	printf 'FROM docker.io/library/busybox:latest\nRUN cat /marker >/seen\n' >"$CTX/Dockerfile"
	run strata build -o "$OUT" --build-context busybox=docker-image://marked:1 "$CTX"
	[ "$status" -eq 0 ]
	[ "$(cat "$OUT/seen")" = marked ]
	# The same Dockerfile without the context uses busybox, which has no marker.
	run strata build -o "$OUT.plain" "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/marker"* ]]
}

@test "build-context docker-image://: resolved through the pull policy" {
	printf 'FROM base\n' >"$CTX/Dockerfile"
	run strata build --pull=never --build-context base=docker-image://absent:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"build context 'base'"* ]]
	[[ "$output" == *"--pull=never and the store has no 'absent:1'"* ]]
}

@test "build-context docker-image://: an image the store lacks is pulled from its registry" {
	strata tag marked:1 "$REG/ctx/marked:1"
	strata push -q "$REG/ctx/marked:1" >/dev/null
	strata rmi marked:1 "$REG/ctx/marked:1" >/dev/null
	printf 'FROM base\nRUN cat /marker >/seen\n' >"$CTX/Dockerfile"
	run strata build -o "$OUT" --build-context "base=docker-image://$REG/ctx/marked:1" "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"pulling $REG/ctx/marked:1"* ]]
	[ "$(cat "$OUT/seen")" = marked ]
}

@test "build-context: a stage with the context's name is replaced, its steps do not run" {
	# Nor do those of the stages only it needed: BuildKit never reaches them.
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox AS deps
RUN echo deps-ran && false
FROM deps AS base
RUN echo from-the-stage >/stage.txt
FROM base
RUN ls / >/listing
DF
	run strata build -o "$OUT" --build-context base=docker-image://marked:1 "$CTX"
	[ "$status" -eq 0 ]
	[ -f "$OUT/marker" ]
	[ ! -e "$OUT/stage.txt" ]
	[[ "$output" != *"from-the-stage"* ]]
	[[ "$output" != *"deps-ran"* ]]
	[[ "$output" == *"FROM --build-context base"* ]]
}

@test "build-context oci-layout://: an entry by tag or by digest, and the store keeps none of it" {
	strata save --format oci-dir -o "$BATS_TEST_TMPDIR/layout" marked:1
	strata rmi marked:1 >/dev/null
	before=$(strata images -q --no-trunc | sort)
	digest=$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/layout/index.json")
	printf 'FROM base\nRUN cat /marker >/seen\n' >"$CTX/Dockerfile"
	run strata build -o "$OUT" --build-context "base=oci-layout://$BATS_TEST_TMPDIR/layout:1" "$CTX"
	[ "$status" -eq 0 ]
	[ "$(cat "$OUT/seen")" = marked ]
	run strata build -o "$OUT.d" --build-context "base=oci-layout://$BATS_TEST_TMPDIR/layout@$digest" "$CTX"
	[ "$status" -eq 0 ]
	[ "$(cat "$OUT.d/seen")" = marked ]
	[ "$(strata images -q --no-trunc | sort)" = "$before" ]
	# A tag the layout does not have is named.
	run strata build --build-context "base=oci-layout://$BATS_TEST_TMPDIR/layout:nope" "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"has no image tagged nope"* ]]
}

@test "build-context: bad values are named and nothing is built" {
	printf 'FROM busybox\n' >"$CTX/Dockerfile"
	before=$(strata images -q --no-trunc | sort)
	run strata build -t bad:1 --build-context novalue "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"strata: build: build context 'novalue': expected NAME=VALUE"* ]]
	run strata build -t bad:1 --build-context "x=$BATS_TEST_TMPDIR/missing" "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is not a directory"* ]]
	run strata build -t bad:1 --build-context x=https://example.invalid/file.tar.gz "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unsupported source"* ]]
	run strata build -t bad:1 --build-context 'Bad Name=/tmp' "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid name 'Bad Name'"* ]]
	[ "$(strata images -q --no-trunc | sort)" = "$before" ]
}

@test "build-context: FROM scratch is never replaced (BuildKit reserves the name)" {
	echo file >"$CTX/f"
	printf 'FROM scratch\nCOPY f /f\n' >"$CTX/Dockerfile"
	run strata build -o "$OUT" --build-context scratch=docker-image://marked:1 "$CTX"
	[ "$status" -eq 0 ]
	[ -f "$OUT/f" ]
	[ ! -e "$OUT/marker" ]
	# Nor is --from=scratch: it names no context.
	printf 'FROM busybox\nCOPY --from=scratch /marker /m\n' >"$CTX/Dockerfile"
	run strata build --pull=never --build-context scratch=docker-image://marked:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"the store has no 'scratch'"* ]]
}
