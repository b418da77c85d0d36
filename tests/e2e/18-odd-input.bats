#!/usr/bin/env bats
# Odd input: layers that could not be unpacked safely are refused by load and import, with the
# layer and the entry named, and nothing recorded; odd Dockerfiles.
load helpers

setup() {
	common_setup
	ODD=$BATS_TEST_DIRNAME/fixtures/odd-layer.py
}

# load KIND's archive: it must fail naming layer.tar, the entry and why, and record nothing.
refused_by_load() {
	local kind=$1 entry=$2 why=$3
	python3 "$ODD" "$kind" "$BATS_TEST_TMPDIR/$kind.tar"
	run strata load -i "$BATS_TEST_TMPDIR/$kind.tar"
	echo "$kind: $output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"layer 0 'layer.tar': entry '$entry"*"': $why"* ]]
	run strata images -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "load: a layer with a path out of the root is refused at load time" {
	refused_by_load dotdot ../escape "path escapes the root"
	refused_by_load dotdot-inner a/../../escape "path escapes the root"
}

@test "load: a hardlink that escapes the root is refused; an absolute one names a path of the image" {
	refused_by_load hardlink-escape link "hardlink target '../../etc/passwd' escapes the root"
	python3 "$ODD" hardlink-abs "$BATS_TEST_TMPDIR/abs.tar"
	run strata load -i "$BATS_TEST_TMPDIR/abs.tar"
	[ "$status" -eq 0 ]
}

@test "load: malformed whiteouts are refused" {
	refused_by_load whiteout-empty dir/.wh. "whiteout without a name to delete"
	refused_by_load whiteout-dotdot dir/.wh.. "whiteout without a name to delete"
	refused_by_load opaque-data dir/.wh..wh..opq "whiteout with 9 bytes of data"
	refused_by_load whiteout-dir .wh.gone "whiteout name on a directory"
}

@test "load: names longer than Linux allows are refused" {
	refused_by_load long-component d/nnnn "name longer than 4095 bytes or with a component over 255"
	refused_by_load long-path pppp "name longer than 4095 bytes or with a component over 255"
}

@test "load: whiteouts, hardlinks and absolute symlinks as real layers hold them still load" {
	python3 "$ODD" fine "$BATS_TEST_TMPDIR/fine.tar"
	run strata load -i "$BATS_TEST_TMPDIR/fine.tar"
	[ "$status" -eq 0 ]
	run strata images --format '{{.Repository}}:{{.Tag}}'
	[ "$status" -eq 0 ]
	[ "$output" = odd:fine ]
}

@test "import: a rootfs tar with an unsafe entry is refused, naming the entry" {
	for kind in dotdot hardlink-escape whiteout-empty long-component; do
		python3 "$ODD" "$kind" "$BATS_TEST_TMPDIR/$kind-rootfs.tar" --rootfs
		run strata import "$BATS_TEST_TMPDIR/$kind-rootfs.tar" odd:1
		echo "$kind: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *"$kind-rootfs.tar': entry '"* ]]
	done
	run strata images -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "load: an OCI archive with an unsafe layer is refused, naming the layer blob" {
	python3 "$ODD" hardlink-escape "$BATS_TEST_TMPDIR/oci.tar" --oci
	run strata load -i "$BATS_TEST_TMPDIR/oci.tar"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"layer 0 'blobs/sha256/"*"': entry 'link': hardlink target '../../etc/passwd' escapes the root"* ]]
	run strata images -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "build: a NUL byte in the Dockerfile is an error naming its line" {
	mkdir -p "$BATS_TEST_TMPDIR/ctx"
	printf 'FROM scratch\nLABEL a=b\0c\n' >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
	run strata build -t nul:1 "$BATS_TEST_TMPDIR/ctx"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Dockerfile:2: NUL byte at column 10: a Dockerfile must be text"* ]]
	run strata images -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
