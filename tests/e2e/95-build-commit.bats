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

# Whether the store holds blob $1.
has_blob() {
	[ -f "$STRATA_ROOT/blobs/sha256/${1#sha256:}" ]
}

@test "a RUN step's layer is its directory until an output needs a blob: type=local writes none" {
	printf 'FROM busybox\nRUN head -c 4194304 /dev/urandom >/r && mkdir /d && echo hi >/d/f\n' >"$CTX/Dockerfile"
	run strata build --progress=plain -o "type=local,dest=$OUT/root" "$CTX"
	[ "$status" -eq 0 ]
	[ "$(stat -c %s "$OUT/root/r")" = 4194304 ]
	# The step's layer: its diff_id is the one unpacked directory besides busybox's.
	run strata build --progress=plain -t lz:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 CACHED"* ]]
	diff_id=$(strata inspect --format '{{index .RootFS.Layers 1}}' lz:1)
	[ -d "$STRATA_ROOT/layers/${diff_id#sha256:}" ]
	# The image's layer was made from that directory, gzipped, and checked against the diff_id.
	run strata inspect --raw lz:1
	[ "$(jq -r '.layers[1].mediaType' <<<"$output")" = application/vnd.oci.image.layer.v1.tar+gzip ]
	run has_blob "$diff_id"
	[ "$status" -ne 0 ]
	run strata system check
	[ "$status" -eq 0 ]
	run strata save -o "$OUT/lz.tar" lz:1
	[ "$status" -eq 0 ]
	[ "$(tar -xOf "$OUT/lz.tar" index.json | jq -r '.manifests | length')" = 1 ]
}

@test "a layer kept as its directory: the type=local build alone leaves no blob of it" {
	printf 'FROM busybox\nRUN head -c 4194304 /dev/urandom >/r\n' >"$CTX/Dockerfile"
	before=$(blob_bytes)
	run strata build -o "type=local,dest=$OUT/root" "$CTX"
	[ "$status" -eq 0 ]
	[ $(($(blob_bytes) - before)) -lt 1048576 ]
	run strata system check
	[ "$status" -eq 0 ]
	# An uncompressed image output writes the blob then, from the directory.
	run strata build -o type=image,name=lz:u,compression=uncompressed "$CTX"
	[ "$status" -eq 0 ]
	diff_id=$(strata inspect --format '{{index .RootFS.Layers 1}}' lz:u)
	run has_blob "$diff_id"
	[ "$status" -eq 0 ]
	[ "$(strata export lz:u | tar -xOf - r | wc -c)" = 4194304 ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "a layer directory changed behind the store's back fails its output, naming the layer" {
	printf 'FROM busybox\nRUN echo one >/f\n' >"$CTX/Dockerfile"
	run strata build -o "type=local,dest=$OUT/root" "$CTX"
	[ "$status" -eq 0 ]
	for d in "$STRATA_ROOT"/layers/*; do
		if [ -f "$d/f" ]; then echo two >"$d/f"; fi
	done
	run strata build -t bad:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"expected sha256:"* ]]
	run strata images -q bad:1
	[ -z "$output" ]
}

@test "a step whose layer is already unpacked in the store writes its blob: squash and --no-cache" {
	# Fixed mtimes: the same layer twice, the second time with its directory already there.
	printf 'FROM busybox\nRUN mkdir /x && echo hi >/x/f && touch -d @0 /x/f /x\n' >"$CTX/Dockerfile"
	run strata build -q -t same:1 "$CTX"
	[ "$status" -eq 0 ]
	run strata build -q --no-cache -t same:2 "$CTX"
	[ "$status" -eq 0 ]
	[ "$(strata inspect --format '{{index .RootFS.Layers 1}}' same:1)" = "$(strata inspect --format '{{index .RootFS.Layers 1}}' same:2)" ]
	run strata build -q --squash -t same:sq "$CTX"
	[ "$status" -eq 0 ]
	[ "$(strata export same:sq | tar -xOf - x/f)" = hi ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "a layer kept as its directory that went missing is a cache miss: the step runs again" {
	printf 'FROM busybox\nRUN echo one >/f\n' >"$CTX/Dockerfile"
	run strata build -o "type=local,dest=$OUT/root" "$CTX"
	[ "$status" -eq 0 ]
	for d in "$STRATA_ROOT"/layers/*; do
		if [ -f "$d/f" ]; then rm -rf "$d"; fi
	done
	run strata build --progress=plain -t gone:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"#2 CACHED"* ]]
	[ "$(strata export gone:1 | tar -xOf - f)" = one ]
}
