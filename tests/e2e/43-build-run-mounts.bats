#!/usr/bin/env bats
# strata build: RUN --mount (cache, bind, tmpfs, secret, ssh), --network and --security.
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX/sub"
	echo hello >"$CTX/sub/a.txt"
}

# Every path of every layer of IMAGE, one per line.
layer_paths() {
	local out=$BATS_TEST_TMPDIR/save
	rm -rf "$out" && mkdir -p "$out"
	strata save -o "$out/img.tar" "$1"
	tar xf "$out/img.tar" -C "$out"
	for b in "$out"/blobs/sha256/*; do
		if gzip -t "$b" 2>/dev/null; then zcat "$b" | tar t 2>/dev/null; fi
	done
}

@test "run mounts: a cache persists between builds, never enters the image, and builder prune removes it" {
	printf 'FROM busybox\nARG N\nRUN --mount=type=cache,target=/root/.cache,sharing=locked echo $N >> /root/.cache/log && cat /root/.cache/log\n' >"$CTX/Dockerfile"
	run strata build --progress=plain --build-arg N=first1 -t c:1 "$CTX"
	[ "$status" -eq 0 ]
	run strata build --progress=plain --build-arg N=second2 -t c:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"first1"*"second2"* ]]
	run layer_paths c:1
	[[ "$output" != *".cache"* ]]
	run strata history --format '{{.Size}}' c:1
	[ "${lines[0]}" = "0B" ]
	run strata builder prune </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"builder prune has been cancelled"* ]]
	[ -n "$(ls -A "$STRATA_ROOT/cache-mounts")" ]
	run strata builder prune -f
	[ "$status" -eq 0 ]
	[ -z "$(ls -A "$STRATA_ROOT/cache-mounts")" ]
	run strata build --progress=plain --build-arg N=third3 -t c:1 "$CTX"
	[[ "$output" != *"first1"* ]]
	[[ "$output" == *"third3"* ]]
}

@test "run mounts: bind from the context is read-only and its content is part of the key" {
	printf 'FROM busybox\nRUN --mount=target=/src cat /src/sub/a.txt && ! touch /src/x\n' >"$CTX/Dockerfile"
	run strata build --progress=plain -t b:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *hello* ]]
	run strata build --progress=plain -t b:1 "$CTX"
	[[ "$output" == *"CACHED"* ]]
	echo changed >"$CTX/sub/a.txt"
	run strata build --progress=plain -t b:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cache miss: file sub/a.txt changed"* ]]
	[[ "$output" == *changed* ]]
	run layer_paths b:1
	[[ "$output" != *"src"* ]]
}

@test "run mounts: a rw bind's writes are discarded, in the context and in the layer" {
	printf 'FROM busybox\nRUN --mount=target=/src,source=sub,rw echo x > /src/new && echo y > /src/a.txt && ls /src\n' >"$CTX/Dockerfile"
	run strata build --progress=plain -t rw:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *new* ]]
	[ ! -e "$CTX/sub/new" ]
	[ "$(cat "$CTX/sub/a.txt")" = hello ]
	run layer_paths rw:1
	[[ "$output" != *"src"* ]]
	[[ "$output" != *new* ]]
}

@test "run mounts: bind from a stage and from an image" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox AS gen
RUN echo generated > /out.txt
FROM busybox
RUN --mount=type=bind,from=gen,source=/out.txt,target=/in.txt cat /in.txt
RUN --mount=from=busybox:latest,target=/bb ls /bb/bin/busybox
DF
	run strata build --progress=plain -t st:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *generated* ]]
	[[ "$output" == *"/bb/bin/busybox"* ]]
	run layer_paths st:1
	[[ "$output" != *"in.txt"* ]]
	[[ "$output" != *"bb/"* ]]
}

@test "run mounts: tmpfs is empty and not committed" {
	printf 'FROM busybox\nRUN --mount=type=tmpfs,target=/scratch,size=1m test -z "$(ls -A /scratch)" && echo big > /scratch/f && grep -q " /scratch tmpfs" /proc/mounts\n' >"$CTX/Dockerfile"
	run strata build --progress=plain -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run layer_paths t:1
	[[ "$output" != *scratch* ]]
}

@test "run mounts: secrets from a file and from an env var are readable and appear nowhere" {
	echo 'filesecret-9f3a' >"$BATS_TEST_TMPDIR/s.txt"
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
RUN --mount=type=secret,id=f grep -q 9f3a /run/secrets/f && echo file-ok
RUN --mount=type=secret,id=e,env=E,required case "$E" in *77c1) echo env-ok;; *) false;; esac
RUN --mount=type=secret,id=absent echo optional-ok
DF
	E_SRC=envsecret-77c1 run strata build --progress=plain --secret id=f,src="$BATS_TEST_TMPDIR/s.txt" \
		--secret id=e,env=E_SRC -t sec:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *file-ok*env-ok*optional-ok* ]]
	out=$BATS_TEST_TMPDIR/save
	run layer_paths sec:1
	[[ "$output" != *secrets* ]]
	for b in "$out"/blobs/sha256/* "$out"/manifest.json; do
		if gzip -t "$b" 2>/dev/null; then
			run sh -c "zcat '$b' | grep -a -c -e filesecret -e envsecret"
		else
			run grep -a -c -e filesecret -e envsecret "$b"
		fi
		[ "$output" = 0 ]
	done
	run strata history --no-trunc sec:1
	[ "$status" -eq 0 ]
	[[ "$output" != *filesecret* ]]
	[[ "$output" != *envsecret* ]]
	run grep -r -a -l -e filesecret -e envsecret "$STRATA_ROOT"
	[ "$status" -eq 1 ]
}

@test "run mounts: a missing required secret fails naming it" {
	printf 'FROM busybox\nRUN --mount=type=secret,id=npmrc,required=true cat /run/secrets/npmrc\n' >"$CTX/Dockerfile"
	run strata build -t ms:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"secret 'npmrc' is required but was not provided"* ]]
}

@test "run mounts: a required ssh agent not given and --security=insecure (without --allow) are refused, sandbox accepted" {
	printf 'FROM busybox\nRUN --mount=type=ssh,required=true ls\n' >"$CTX/Dockerfile"
	run strata build -t s:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"ssh agent 'default' is required but was not provided (strata build --ssh default=SOCKET|KEYFILE)"* ]]
	printf 'FROM busybox\nRUN --security=insecure ls\n' >"$CTX/Dockerfile"
	run strata build -t s:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"RUN --security=insecure needs the build to allow it: strata build --allow security.insecure"* ]]
	printf 'FROM busybox\nRUN --security=sandbox true\n' >"$CTX/Dockerfile"
	run strata build -t s:1 "$CTX"
	[ "$status" -eq 0 ]
}

@test "run mounts: --network=none has only lo, even with --network=host for the build" {
	printf 'FROM busybox\nRUN --network=none ls /sys/class/net\n' >"$CTX/Dockerfile"
	run strata build --progress=plain --network=host -t n:1 "$CTX"
	[ "$status" -eq 0 ]
	nets=$(printf '%s\n' "$output" | grep -E '^#2 [0-9.]+ ' | awk '{print $3}' | sort | tr '\n' ' ')
	[ "$nets" = "lo " ]
}

@test "run mounts: the runtime keeps its state in the store, and a stale build container is deleted" {
	printf 'FROM busybox\nRUN true\n' >"$CTX/Dockerfile"
	run strata build -t r:1 "$CTX"
	[ "$status" -eq 0 ]
	[ -d "$STRATA_ROOT/runtime/runc" ]
	# A container left by a build that was killed: created, never started.
	b=$BATS_TEST_TMPDIR/stale
	mkdir -p "$b/rootfs"
	tar xf "$(busybox_tar)" -C "$b/rootfs"
	(cd "$b" && runc spec && sed -i 's/"terminal": true/"terminal": false/' config.json)
	runc --root "$STRATA_ROOT/runtime/runc" create --bundle "$b" strata-build-dir.gone </dev/null >/dev/null 2>&1
	[ -d "$STRATA_ROOT/runtime/runc/strata-build-dir.gone" ]
	printf 'FROM busybox\nRUN echo again\n' >"$CTX/Dockerfile"
	run strata build -t r:2 "$CTX"
	[ "$status" -eq 0 ]
	[ ! -e "$STRATA_ROOT/runtime/runc/strata-build-dir.gone" ]
}
