load helpers
setup() {
	common_setup
	strata import --change 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
}

ids() { strata inspect --format '{{.Id}} {{json .RootFS.Layers}}' "$@"; }

@test "save/load: docker-archive round trip into a fresh store keeps every digest" {
	before=$(ids busybox)
	run strata save -o "$BATS_TEST_TMPDIR/bb.tar" busybox
	[ "$status" -eq 0 ]
	tar -tf "$BATS_TEST_TMPDIR/bb.tar" | grep -qx manifest.json
	tar -tf "$BATS_TEST_TMPDIR/bb.tar" | grep -qx repositories
	tar -xOf "$BATS_TEST_TMPDIR/bb.tar" manifest.json | jq -e '.[0].RepoTags == ["busybox:latest"] and (.[0].Layers | length) == 1' >/dev/null
	export STRATA_ROOT="$BATS_TEST_TMPDIR/root2"
	run strata load -i "$BATS_TEST_TMPDIR/bb.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: busybox:latest" ]
	[ "$(ids busybox)" = "$before" ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "save/load: oci-archive and oci-dir round trips" {
	before=$(ids busybox)
	run strata save --format oci-archive -o "$BATS_TEST_TMPDIR/bb-oci.tar" busybox
	[ "$status" -eq 0 ]
	tar -xOf "$BATS_TEST_TMPDIR/bb-oci.tar" oci-layout | jq -e '.imageLayoutVersion == "1.0.0"' >/dev/null
	run strata save --format oci-dir -o "$BATS_TEST_TMPDIR/bb-oci" busybox
	[ "$status" -eq 0 ]
	[ -f "$BATS_TEST_TMPDIR/bb-oci/index.json" ]
	STRATA_ROOT="$BATS_TEST_TMPDIR/r2" strata load -i "$BATS_TEST_TMPDIR/bb-oci.tar"
	[ "$(STRATA_ROOT="$BATS_TEST_TMPDIR/r2" ids busybox)" = "$before" ]
	STRATA_ROOT="$BATS_TEST_TMPDIR/r3" strata load -i "$BATS_TEST_TMPDIR/bb-oci"
	[ "$(STRATA_ROOT="$BATS_TEST_TMPDIR/r3" ids busybox)" = "$before" ]
}

@test "save: several images in one archive, load from stdin" {
	strata import --change 'ENV X=1' "$(busybox_tar)" second:2 >/dev/null
	run strata save -o "$BATS_TEST_TMPDIR/two.tar" busybox second:2
	[ "$status" -eq 0 ]
	export STRATA_ROOT="$BATS_TEST_TMPDIR/root2"
	run strata load <"$BATS_TEST_TMPDIR/two.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Loaded image: busybox:latest"* ]]
	[[ "$output" == *"Loaded image: second:2"* ]]
}

@test "load: a corrupt archive is refused and the store stays consistent" {
	strata save -o "$BATS_TEST_TMPDIR/bb.tar" busybox
	mkdir "$BATS_TEST_TMPDIR/x" && tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/bb.tar"
	cfg=$(jq -r '.[0].Config' "$BATS_TEST_TMPDIR/x/manifest.json")
	echo '{"tampered":true}' >"$BATS_TEST_TMPDIR/x/$cfg"
	tar -C "$BATS_TEST_TMPDIR/x" -cf "$BATS_TEST_TMPDIR/bad.tar" .
	export STRATA_ROOT="$BATS_TEST_TMPDIR/root2"
	run strata load -i "$BATS_TEST_TMPDIR/bad.tar"
	[ "$status" -ne 0 ]
	[[ "$output" == *digest* ]]
	run strata images -q
	[ -z "$output" ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "export: the flattened filesystem with whiteouts applied" {
	run strata export busybox -o "$BATS_TEST_TMPDIR/fs.tar"
	[ "$status" -eq 0 ]
	tar -tf "$BATS_TEST_TMPDIR/fs.tar" | grep -qE '^(\./)?bin/busybox$'
}
