#!/usr/bin/env bats
# strata build: multi-stage builds, parallel stages, reproducible builds.
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
}

@test "multi-stage: the final image holds only what was copied from the builder" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox AS builder
RUN mkdir /out && echo art > /out/artifact && echo tmp > /scratch-file
FROM busybox AS unused
RUN false
FROM busybox
COPY --from=builder /out/artifact /artifact
DF
	run strata build --progress=plain -t ms:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"RUN false"* ]]
	run sh -c "'$STRATA_BIN' export ms:1 | tar t"
	[[ "$output" == *artifact* ]]
	[[ "$output" != *scratch-file* ]]
}

@test "multi-stage: COPY --from is keyed by what it copies, not by how the stage was made" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox AS b
COPY note.txt /note.txt
RUN echo built >/art
FROM busybox
COPY --from=b /art /art
RUN echo final-ran | tr a-z A-Z
DF
	echo one >"$CTX/note.txt"
	run strata build --progress=plain -t keyed:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"FINAL-RAN"* ]]
	# The stage is rebuilt, but /art comes out the same: the final stage is all hits.
	echo two >"$CTX/note.txt"
	run strata build --progress=plain -t keyed:2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"[b 3/3] RUN echo built"* ]]
	[[ "$output" != *"FINAL-RAN"* ]]
	[ "$(strata inspect --format '{{.Id}}' keyed:1)" = "$(strata inspect --format '{{.Id}}' keyed:2)" ]
	# Other content misses, and the explanation names the stage and the path.
	sed -i 's/echo built/echo rebuilt/' "$CTX/Dockerfile"
	run strata build --progress=plain -t keyed:3 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"FINAL-RAN"* ]]
	[[ "$output" == *"/art from stage b changed"* ]]
	# Nor does a mode, owner or a link target go unseen.
	sed -i 's|RUN echo rebuilt >/art|RUN echo rebuilt >/art \&\& chmod 600 /art|' "$CTX/Dockerfile"
	run strata build --progress=plain -t keyed:4 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"FINAL-RAN"* ]]
}

@test "multi-stage: independent stages run in parallel" {
	# Each stage waits (up to 60 s) for the other's mark in a shared cache mount: built one after
	# the other, the first would never see the second's mark.
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox AS a
RUN --mount=type=cache,id=rv,target=/rv,sharing=shared touch /rv/a && i=0 && while [ ! -e /rv/b ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done && test -e /rv/b && echo a > /a
FROM busybox AS b
RUN --mount=type=cache,id=rv,target=/rv,sharing=shared touch /rv/b && i=0 && while [ ! -e /rv/a ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done && test -e /rv/a && echo b > /b
FROM busybox
COPY --from=a /a /a
COPY --from=b /b /b
DF
	run strata build --jobs 2 -t par:1 "$CTX"
	[ "$status" -eq 0 ]
}

@test "reproducible: SOURCE_DATE_EPOCH gives the same image in two fresh stores" {
	echo data >"$CTX/f"
	printf 'FROM busybox\nCOPY f /f\nRUN echo hi > /g\nENV X=1\n' >"$CTX/Dockerfile"
	# The base must be reproducible too: import it the same way in both stores.
	export STRATA_ROOT=$BATS_TEST_TMPDIR/root1
	SOURCE_DATE_EPOCH=1700000000 strata import "$(busybox_tar)" busybox:latest >/dev/null
	run env SOURCE_DATE_EPOCH=1700000000 "$STRATA_BIN" build -q "$CTX"; a=$output
	export STRATA_ROOT=$BATS_TEST_TMPDIR/root2
	SOURCE_DATE_EPOCH=1700000000 strata import "$(busybox_tar)" busybox:latest >/dev/null
	touch "$CTX/f"
	run env SOURCE_DATE_EPOCH=1700000000 "$STRATA_BIN" build -q "$CTX"; b=$output
	[ -n "$a" ]
	[ "$a" = "$b" ]
}
