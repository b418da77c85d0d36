# strata copy between two places that are not the store: blobs stream from one to the other.
load helpers

setup_file() {
	registry_setup_file
}

teardown_file() {
	registry_stop
}

setup() {
	common_setup
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
	strata import --change 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
	strata copy -q busybox "oci:$BATS_TEST_TMPDIR/src:v1"
	DIGEST=$(skopeo inspect "oci:$BATS_TEST_TMPDIR/src:v1" | jq -r .Digest)
}

skopeo_digest() {
	skopeo inspect --tls-verify=false "$1" | jq -r .Digest
}

@test "copy stream: oci, oci-archive and docker:// each to the others keep the manifest digest" {
	run strata copy "oci:$BATS_TEST_TMPDIR/src:v1" "oci-archive:$BATS_TEST_TMPDIR/a.tar:v2"
	[ "$status" -eq 0 ]
	[ "$(skopeo_digest "oci-archive:$BATS_TEST_TMPDIR/a.tar:v2")" = "$DIGEST" ]
	run strata copy "oci-archive:$BATS_TEST_TMPDIR/a.tar:v2" "docker://$REG/st/a:1"
	[ "$status" -eq 0 ]
	[ "$(skopeo_digest "docker://$REG/st/a:1")" = "$DIGEST" ]
	run strata copy "docker://$REG/st/a:1" "docker://$REG/st/b:1"
	[ "$status" -eq 0 ]
	[ "$(skopeo_digest "docker://$REG/st/b:1")" = "$DIGEST" ]
	run strata copy "docker://$REG/st/b:1" "oci-archive:$BATS_TEST_TMPDIR/b.tar"
	[ "$status" -eq 0 ]
	[ "$(skopeo_digest "oci-archive:$BATS_TEST_TMPDIR/b.tar")" = "$DIGEST" ]
	run strata copy "oci-archive:$BATS_TEST_TMPDIR/b.tar" "oci:$BATS_TEST_TMPDIR/c"
	[ "$status" -eq 0 ]
	[ "$(skopeo_digest "oci:$BATS_TEST_TMPDIR/c")" = "$DIGEST" ]
	run strata copy "oci:$BATS_TEST_TMPDIR/c" "docker://$REG/st/c:1"
	[ "$status" -eq 0 ]
	[ "$(skopeo_digest "docker://$REG/st/c:1")" = "$DIGEST" ]
	run strata copy "docker://$REG/st/c:1" "oci:$BATS_TEST_TMPDIR/d:x"
	[ "$status" -eq 0 ]
	[ "$(skopeo_digest "oci:$BATS_TEST_TMPDIR/d:x")" = "$DIGEST" ]
	# A layout is not written over.
	run strata copy "docker://$REG/st/c:1" "oci:$BATS_TEST_TMPDIR/d"
	[ "$status" -ne 0 ]
	[[ "$output" == *"exists and is not an empty directory"* ]]
}

@test "copy stream: the store is not needed, not even opened, when neither side is it" {
	export STRATA_ROOT=$BATS_TEST_TMPDIR/nostore
	run strata copy "oci:$BATS_TEST_TMPDIR/src:v1" "oci-archive:$BATS_TEST_TMPDIR/a.tar"
	[ "$status" -eq 0 ]
	run strata copy "oci-archive:$BATS_TEST_TMPDIR/a.tar" "docker://$REG/st/n:1"
	[ "$status" -eq 0 ]
	run strata copy "docker://$REG/st/n:1" "oci:$BATS_TEST_TMPDIR/n"
	[ "$status" -eq 0 ]
	[ "$(skopeo_digest "oci:$BATS_TEST_TMPDIR/n")" = "$DIGEST" ]
	run strata copy "docker://$REG/st/n:1" "docker-archive:$BATS_TEST_TMPDIR/d.tar:me/app:2"
	[ "$status" -eq 0 ]
	[ ! -e "$STRATA_ROOT" ]
	# skopeo finds the image by its name, and the layout beside manifest.json keeps the digest.
	run skopeo inspect "docker-archive:$BATS_TEST_TMPDIR/d.tar:me/app:2"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.Layers | length')" = 1 ]
	[ "$(skopeo_digest "oci-archive:$BATS_TEST_TMPDIR/d.tar")" = "$DIGEST" ]
}

@test "copy stream: a corrupted blob is refused naming its digest, and nothing is left at the destination" {
	manifest=$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/src/index.json" | cut -d: -f2)
	layer=$(jq -r '.layers[0].digest' "$BATS_TEST_TMPDIR/src/blobs/sha256/$manifest")
	blob=$BATS_TEST_TMPDIR/src/blobs/sha256/${layer#sha256:}
	chmod u+w "$blob"
	# The same size, one byte changed: only the digest can tell.
	printf 'x' | dd of="$blob" bs=1 seek=100 conv=notrunc status=none
	run strata copy "oci:$BATS_TEST_TMPDIR/src:v1" "oci:$BATS_TEST_TMPDIR/out"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$layer"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/out" ]
	run strata copy "oci:$BATS_TEST_TMPDIR/src:v1" "oci-archive:$BATS_TEST_TMPDIR/out.tar"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$layer"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/out.tar" ]
	run strata copy "oci:$BATS_TEST_TMPDIR/src:v1" "docker://$REG/st/bad:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$layer"* ]]
	run skopeo inspect --tls-verify=false "docker://$REG/st/bad:1"
	[ "$status" -ne 0 ]
	# Nothing but what the test made is in the destination's directory.
	run ls -A "$BATS_TEST_TMPDIR"
	[[ "$output" != *".tmp-"* ]]
}

@test "copy stream: docker:// to docker:// uploads each blob as it downloads, with no file between" {
	run strata copy "oci:$BATS_TEST_TMPDIR/src:v1" "docker://$REG/st/relay-src:1"
	[ "$status" -eq 0 ]
	# No temporary file can be made: the blobs go from one connection to the other.
	TMPDIR=$BATS_TEST_TMPDIR/nowhere run strata copy "docker://$REG/st/relay-src:1" "docker://$REG/st/relay:1"
	[ "$status" -eq 0 ]
	[ "$(skopeo_digest "docker://$REG/st/relay:1")" = "$DIGEST" ]
}

@test "copy stream: docker:// to docker:// resumes a download cut mid-blob and the upload goes on" {
	run strata copy "oci:$BATS_TEST_TMPDIR/src:v1" "docker://$REG/st/cut-src:1"
	[ "$status" -eq 0 ]
	proxy_start drop-blob-once
	run strata copy "docker://$PROXY/st/cut-src:1" "docker://$REG/st/cut:1"
	proxy_stop
	[ "$status" -eq 0 ]
	[ "$(skopeo_digest "docker://$REG/st/cut:1")" = "$DIGEST" ]
	run grep -c "GET /v2/st/cut-src/blobs/" "$PROXY_LOG"
	[ "$output" -ge 2 ]
}
