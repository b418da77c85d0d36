#!/usr/bin/env bats
# strata build's layer compression and media types (-o compression=, compression-level=,
# force-compression=, oci-mediatypes=), as BuildKit's exporters take them, and a zstd image
# through push, pull, save, load and skopeo.
load helpers

setup_file() {
	registry_setup_file
}

teardown_file() {
	registry_stop
}

setup() {
	registry_test_setup
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
	printf 'FROM busybox\nRUN seq 1 200000 >/b.txt && echo made-by-run >/c.txt\n' >"$CTX/Dockerfile"
	OUT=$BATS_TEST_TMPDIR/out
	mkdir -p "$OUT"
}

# The stored manifest of IMAGE, through jq filter FILTER.
manifest() {
	strata inspect --raw "$1" | jq -r "$2"
}

# The first four bytes of the stored blob DIGEST, in hex.
blob_magic() {
	head -c 4 "$STRATA_ROOT/blobs/sha256/${1#sha256:}" | od -An -tx1 | tr -d ' \n'
}

@test "compression=zstd: the build's layer is zstd with the OCI media type; the base keeps gzip" {
	run strata build -q -t z:1 -o type=image,compression=zstd "$CTX"
	[ "$status" -eq 0 ]
	run manifest z:1 '.layers[1].mediaType'
	[ "$output" = application/vnd.oci.image.layer.v1.tar+zstd ]
	run manifest z:1 '.layers[0].mediaType'
	[ "$output" = application/vnd.oci.image.layer.v1.tar+gzip ]
	run blob_magic "$(manifest z:1 '.layers[1].digest')"
	[ "$output" = 28b52ffd ]
	"$STRATA_BIN" export z:1 >"$OUT/fs.tar"
	run tar -xOf "$OUT/fs.tar" c.txt
	[ "$output" = made-by-run ]
}

@test "compression: gzip by default; uncompressed layers are their diff_ids" {
	run strata build -q -t g:1 "$CTX"
	[ "$status" -eq 0 ]
	run manifest g:1 '.layers[1].mediaType'
	[ "$output" = application/vnd.oci.image.layer.v1.tar+gzip ]
	run blob_magic "$(manifest g:1 '.layers[1].digest')"
	[[ "$output" == 1f8b* ]]
	run strata build -q -t u:1 -o type=image,compression=uncompressed "$CTX"
	[ "$status" -eq 0 ]
	run manifest u:1 '.layers[1].mediaType'
	[ "$output" = application/vnd.oci.image.layer.v1.tar ]
	diff_id=$(strata inspect --format '{{json .RootFS.Layers}}' u:1 | jq -r '.[1]')
	run manifest u:1 '.layers[1].digest'
	[ "$output" = "$diff_id" ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "force-compression=true: the base image's layers are compressed again too" {
	run strata build -q -t f:1 -o type=image,compression=zstd,force-compression=true "$CTX"
	[ "$status" -eq 0 ]
	run manifest f:1 '[.layers[].mediaType] | unique | join(",")'
	[ "$output" = application/vnd.oci.image.layer.v1.tar+zstd ]
	run blob_magic "$(manifest f:1 '.layers[0].digest')"
	[ "$output" = 28b52ffd ]
	run strata build -q -t f:2 -o type=image,compression=uncompressed,force-compression=true "$CTX"
	[ "$status" -eq 0 ]
	run manifest f:2 '[.layers[].mediaType] | unique | join(",")'
	[ "$output" = application/vnd.oci.image.layer.v1.tar ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "compression-level: zstd 19 makes a smaller layer than zstd 1; a level out of range is refused" {
	run strata build -q -t l:1 -o type=image,compression=zstd,compression-level=1 "$CTX"
	[ "$status" -eq 0 ]
	fast=$(manifest l:1 '.layers[1].size')
	# A store of its own: the same layer's zstd blob would be found and used again.
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	run strata build -q -t l:19 -o type=image,compression=zstd,compression-level=19 "$CTX"
	[ "$status" -eq 0 ]
	small=$(manifest l:19 '.layers[1].size')
	[ "$small" -lt "$fast" ]
	run strata build -q -t l:2 -o type=image,compression=zstd,compression-level=23 "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"compression-level must be a number from 0 to 22 for zstd, not '23'"* ]]
	run strata build -q -t l:2 -o type=image,compression=gzip,compression-level=10 "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"compression-level must be a number from 0 to 9 for gzip, not '10'"* ]]
	run strata build -q -t l:2 -o type=image,compression=brotli "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"compression: unknown compression 'brotli'"* ]]
	run strata images -q l:2
	[ -z "$output" ]
}

@test "oci-mediatypes=false: a Docker schema 2 manifest; with zstd it is refused and nothing is kept" {
	run strata build -q -t d:1 -o type=image,oci-mediatypes=false "$CTX"
	[ "$status" -eq 0 ]
	run manifest d:1 '.mediaType'
	[ "$output" = application/vnd.docker.distribution.manifest.v2+json ]
	run manifest d:1 '.config.mediaType'
	[ "$output" = application/vnd.docker.container.image.v1+json ]
	run manifest d:1 '[.layers[].mediaType] | unique | join(",")'
	[ "$output" = application/vnd.docker.image.rootfs.diff.tar.gzip ]
	before=$(strata images -q --no-trunc | sort)
	run strata build -q -t d:2 -o type=image,compression=zstd,oci-mediatypes=false "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"zstd compression needs OCI media types"* ]]
	[ "$(strata images -q --no-trunc | sort)" = "$before" ]
	# A zstd base layer cannot be named by a Docker manifest either, unless compressed again.
	run strata build -q -t d:3 -o type=image,compression=zstd,force-compression=true "$CTX"
	[ "$status" -eq 0 ]
	printf 'FROM d:3\nRUN echo more >/d.txt\n' >"$CTX/Dockerfile"
	run strata build -q -t d:4 -o type=image,oci-mediatypes=false "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is zstd-compressed, which Docker media types cannot name"* ]]
	run strata build -q -t d:4 -o type=image,oci-mediatypes=false,force-compression=true "$CTX"
	[ "$status" -eq 0 ]
	run manifest d:4 '[.layers[].mediaType] | unique | join(",")'
	[ "$output" = application/vnd.docker.image.rootfs.diff.tar.gzip ]
}

@test "a zstd image: pushed, read by skopeo, pulled, saved and loaded with the same id" {
	run strata build -q -t "$REG/zstd/app:1" --push -o type=image,compression=zstd "$CTX"
	[ "$status" -eq 0 ]
	id=$output
	run skopeo inspect --tls-verify=false --raw "docker://$REG/zstd/app:1"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.layers[1].mediaType' <<<"$output")" = application/vnd.oci.image.layer.v1.tar+zstd ]
	run skopeo copy --src-tls-verify=false "docker://$REG/zstd/app:1" "dir:$OUT/dir"
	[ "$status" -eq 0 ]
	layer=$(jq -r '.layers[1].digest' "$OUT/dir/manifest.json")
	run sh -c "zstd -dc '$OUT/dir/${layer#sha256:}' | tar -xOf - c.txt"
	[ "$status" -eq 0 ]
	[ "$output" = made-by-run ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/pulled
	run strata pull "$REG/zstd/app:1"
	[ "$status" -eq 0 ]
	run strata inspect --format '{{.Id}}' "$REG/zstd/app:1"
	[ "$output" = "$id" ]
	run strata save -o "$OUT/app.tar" "$REG/zstd/app:1"
	[ "$status" -eq 0 ]
	run skopeo inspect --raw "docker-archive:$OUT/app.tar"
	[ "$status" -eq 0 ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/loaded
	run strata load -i "$OUT/app.tar"
	[ "$status" -eq 0 ]
	run strata inspect --format '{{.Id}}' "$REG/zstd/app:1"
	[ "$output" = "$id" ]
	"$STRATA_BIN" export "$REG/zstd/app:1" >"$OUT/fs.tar"
	run tar -xOf "$OUT/fs.tar" c.txt
	[ "$output" = made-by-run ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "type=oci and type=docker take the compression too" {
	run strata build -q -o "type=oci,dest=$OUT/img.tar,compression=zstd" "$CTX"
	[ "$status" -eq 0 ]
	run skopeo inspect --raw "oci-archive:$OUT/img.tar"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.layers[1].mediaType' <<<"$output")" = application/vnd.oci.image.layer.v1.tar+zstd ]
	# type=docker has Docker's media types, as BuildKit gives it, unless zstd needs OCI's.
	run strata build -q -o "type=docker,dest=$OUT/d.tar" "$CTX"
	[ "$status" -eq 0 ]
	run skopeo inspect --raw "docker-archive:$OUT/d.tar"
	[ "$status" -eq 0 ]
	run strata build -q -o "type=docker,dest=$OUT/z.tar,compression=zstd" "$CTX"
	[ "$status" -eq 0 ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/loaded
	run strata load -i "$OUT/z.tar"
	[ "$status" -eq 0 ]
}

@test "plain progress: a RUN step says what committing its layer cost" {
	run strata build --progress=plain -t p:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" =~ \#2\ committed\ [0-9.]+\ (KiB|MiB)\ in\ [0-9]+\.[0-9]s ]]
}
