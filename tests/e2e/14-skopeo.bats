load helpers
setup() {
	common_setup
	command -v skopeo >/dev/null || { echo "skopeo is required (scripts/install-deps.sh)" >&2; return 1; }
	strata import --change 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
}

@test "skopeo: reads what strata saved as docker-archive and oci" {
	strata save -o "$BATS_TEST_TMPDIR/bb.tar" busybox
	run skopeo inspect --raw "docker-archive:$BATS_TEST_TMPDIR/bb.tar"
	[ "$status" -eq 0 ]
	run skopeo inspect "docker-archive:$BATS_TEST_TMPDIR/bb.tar"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.Os == "linux" and (.Layers | length) == 1' >/dev/null
	strata save --format oci-dir -o "$BATS_TEST_TMPDIR/oci" busybox
	run skopeo inspect "oci:$BATS_TEST_TMPDIR/oci:latest"
	[ "$status" -eq 0 ]
	strata save --format oci-archive -o "$BATS_TEST_TMPDIR/oci.tar" busybox
	run skopeo inspect "oci-archive:$BATS_TEST_TMPDIR/oci.tar"
	[ "$status" -eq 0 ]
}

@test "skopeo: strata loads what skopeo copy wrote, with the same layer digests" {
	strata save -o "$BATS_TEST_TMPDIR/bb.tar" busybox
	layers=$(strata inspect --format '{{json .RootFS.Layers}}' busybox)
	run skopeo copy "docker-archive:$BATS_TEST_TMPDIR/bb.tar" "oci:$BATS_TEST_TMPDIR/sk:busybox:latest"
	[ "$status" -eq 0 ]
	run skopeo copy "docker-archive:$BATS_TEST_TMPDIR/bb.tar" "docker-archive:$BATS_TEST_TMPDIR/sk.tar:busybox:latest"
	[ "$status" -eq 0 ]
	export STRATA_ROOT="$BATS_TEST_TMPDIR/r2"
	run strata load -i "$BATS_TEST_TMPDIR/sk"
	[ "$status" -eq 0 ]
	[ "$(strata inspect --format '{{json .RootFS.Layers}}' busybox)" = "$layers" ]
	export STRATA_ROOT="$BATS_TEST_TMPDIR/r3"
	run strata load -i "$BATS_TEST_TMPDIR/sk.tar"
	[ "$status" -eq 0 ]
	[ "$(strata inspect --format '{{json .RootFS.Layers}}' busybox)" = "$layers" ]
}
