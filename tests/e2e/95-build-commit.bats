#!/usr/bin/env bats
# strata build: what committing a RUN step's layer costs, on disk and in time, and the layer
# compressed for an output (zstd) as it leaves the store.
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
	OUT=$BATS_TEST_TMPDIR/out
	mkdir -p "$OUT"
}

# Bytes under the store's blobs.
blob_bytes() {
	du -sb "$STRATA_ROOT/blobs" | cut -f1
}

@test "a built layer is kept once among the blobs: its compressed form replaces the uncompressed one" {
	# Random bytes do not compress: the gzip blob is as big as the layer itself.
	printf 'FROM busybox\nRUN head -c 16777216 /dev/urandom >/big\n' >"$CTX/Dockerfile"
	before=$(blob_bytes)
	run strata build -q -t big:1 "$CTX"
	[ "$status" -eq 0 ]
	grown=$(($(blob_bytes) - before))
	[ "$grown" -gt 16777216 ]
	[ "$grown" -lt $((16777216 * 3 / 2)) ]
	run strata system check
	[ "$status" -eq 0 ]
	# The cache still names the layer: a rebuild hits it and makes the same image.
	run strata build --progress=plain -t big:2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 CACHED"* ]]
	[ "$(strata images -q big:1)" = "$(strata images -q big:2)" ]
	# gc (through prune) keeps what the records name.
	run strata image prune -f
	[ "$status" -eq 0 ]
	size=$(strata export big:2 | tar -tvf - big | awk '{print $3}')
	[ "$size" = 16777216 ]
}

@test "a cached layer whose uncompressed blob is gone is made again for an uncompressed output" {
	printf 'FROM busybox\nRUN seq 1 100000 >/n\n' >"$CTX/Dockerfile"
	run strata build -q -t n:1 "$CTX"
	[ "$status" -eq 0 ]
	run strata build --progress=plain -o type=image,name=n:2,compression=uncompressed "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 CACHED"* ]]
	run strata inspect --raw n:2
	[ "$status" -eq 0 ]
	[ "$(jq -r '.layers[1].mediaType' <<<"$output")" = application/vnd.oci.image.layer.v1.tar ]
	run strata export n:2
	[ "$status" -eq 0 ]
	[ "$(strata export n:2 | tar -xOf - n | tail -n 1)" = 100000 ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "plain progress: a RUN step's line says what committing its layer cost" {
	printf 'FROM busybox\nRUN head -c 3145728 /dev/zero >/z\n' >"$CTX/Dockerfile"
	run strata build --progress=plain -t c:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" =~ \#2\ committed\ 3\.0\ MiB\ in\ [0-9]+\.[0-9]s ]]
}

@test "type=oci,compression=zstd: the export loads back and its built layer is zstd" {
	printf 'FROM busybox\nRUN seq 1 100000 >/n\n' >"$CTX/Dockerfile"
	run strata build -q -t z:1 "$CTX"
	[ "$status" -eq 0 ]
	run strata build -q -o "type=oci,dest=$OUT/z.tar,compression=zstd" "$CTX"
	[ "$status" -eq 0 ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/loaded
	run strata load -i "$OUT/z.tar"
	[ "$status" -eq 0 ]
	id=$(strata images -q | head -n 1)
	[ -n "$id" ]
	run strata inspect --raw "$id"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.layers[1].mediaType' <<<"$output")" = application/vnd.oci.image.layer.v1.tar+zstd ]
	digest=$(jq -r '.layers[1].digest' <<<"$output")
	[ "$(head -c 4 "$STRATA_ROOT/blobs/sha256/${digest#sha256:}" | od -An -tx1 | tr -d ' \n')" = 28b52ffd ]
	[ "$(strata export "$id" | tar -xOf - n | tail -n 1)" = 100000 ]
}
