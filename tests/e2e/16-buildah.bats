load helpers
setup() {
	common_setup
	command -v buildah >/dev/null || { echo "buildah is required (scripts/install-deps.sh)" >&2; return 1; }
	export CONTAINERS_CONF="$BATS_TEST_DIRNAME/../../bench/containers.conf"
	export CONTAINERS_STORAGE_CONF="$BATS_TEST_TMPDIR/storage.conf"
	# a storage of the test's own, so the machine's images are never touched
	printf '[storage]\ndriver = "vfs"\nrunroot = "%s/run"\ngraphroot = "%s/graph"\n' \
		"$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR" >"$CONTAINERS_STORAGE_CONF"
	strata import --change 'CMD ["sh"]' --change 'ENV A=1' "$(busybox_tar)" busybox:latest >/dev/null
}

@test "buildah: pulls what strata saved as docker-archive and oci-archive" {
	strata save -o "$BATS_TEST_TMPDIR/bb.tar" busybox
	run buildah pull -q "docker-archive:$BATS_TEST_TMPDIR/bb.tar"
	[ "$status" -eq 0 ]
	run buildah inspect --type image --format '{{.OCIv1.Config.Env}}' localhost/busybox:latest
	[ "$status" -eq 0 ]
	[[ "$output" == *"A=1"* ]]
	strata save --format oci-archive -o "$BATS_TEST_TMPDIR/bb-oci.tar" busybox
	run buildah pull -q "oci-archive:$BATS_TEST_TMPDIR/bb-oci.tar"
	[ "$status" -eq 0 ]
}

@test "buildah: strata loads and builds on what buildah wrote" {
	strata save -o "$BATS_TEST_TMPDIR/bb.tar" busybox
	buildah pull -q "docker-archive:$BATS_TEST_TMPDIR/bb.tar" >/dev/null
	ctr=$(buildah from localhost/busybox:latest)
	buildah config --env FROM_BUILDAH=yes "$ctr"
	buildah commit -q "$ctr" localhost/from-buildah:1 >/dev/null
	run buildah push -q localhost/from-buildah:1 "oci-archive:$BATS_TEST_TMPDIR/fb.tar:from-buildah:1"
	[ "$status" -eq 0 ]
	run strata load -i "$BATS_TEST_TMPDIR/fb.tar"
	[ "$status" -eq 0 ]
	run strata inspect --format '{{.Config.Env}}' from-buildah:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"FROM_BUILDAH=yes"* ]]
	printf 'FROM from-buildah:1\nRUN echo "$FROM_BUILDAH" > /seen\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	run strata build -q -t on-top:1 "$BATS_TEST_TMPDIR"
	[ "$status" -eq 0 ]
	run strata system check
	[ "$status" -eq 0 ]
}
