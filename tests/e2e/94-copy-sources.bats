# strata copy from a docker-archive and from a registry, streamed without the store.
load helpers

setup_file() {
	registry_setup_file
	# busybox from Debian's busybox-static, through a store into an OCI layout, made once: the
	# tests only read it.
	export SRC=$BATS_FILE_TMPDIR/src DARCHIVE=$BATS_FILE_TMPDIR/d.tar
	export STRATA_ROOT=$BATS_FILE_TMPDIR/root
	strata import --change 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
	strata copy -q busybox "oci:$SRC:v1"
	ID=$(strata inspect --format '{{.Id}}' busybox)
	export ID
	# skopeo writes a docker-archive as old Docker did: manifest.json, uncompressed layers.
	skopeo copy -q "oci:$SRC:v1" "docker-archive:$DARCHIVE:me/bb:1"
}

teardown_file() {
	registry_stop
}

setup() {
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
	# Everything below runs without a store.
	export STRATA_ROOT=$BATS_TEST_TMPDIR/nostore
}

teardown() {
	# A blob corrupted in the registry's storage is put back for the tests after.
	if [ -n "${GOOD_BLOB:-}" ]; then cp "$BATS_TEST_TMPDIR/good" "$GOOD_BLOB"; fi
	proxy_stop
}

skopeo_digest() {
	skopeo inspect --tls-verify=false "$1" | jq -r .Digest
}

# The media type of the first layer of the manifest of the OCI layout DIR.
layer_type() {
	local m
	m=$(jq -r '.manifests[0].digest' "$1/index.json" | cut -d: -f2)
	jq -r '.layers[0].mediaType' "$1/blobs/sha256/$m"
}

@test "copy sources: a docker-archive streams to an OCI layout, gzipped, with the same image" {
	run tar -tf "$DARCHIVE"
	[[ "$output" != *index.json* ]]
	run strata copy "docker-archive:$DARCHIVE" "oci:$BATS_TEST_TMPDIR/out:v1"
	[ "$status" -eq 0 ]
	[ ! -e "$STRATA_ROOT" ]
	[ "$(layer_type "$BATS_TEST_TMPDIR/out")" = "application/vnd.oci.image.layer.v1.tar+gzip" ]
	run skopeo inspect "oci:$BATS_TEST_TMPDIR/out:v1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.Layers | length')" = 1 ]
	# Loaded into a store, each layer is checked against the config's diff_ids: the same image.
	run env STRATA_ROOT="$BATS_TEST_TMPDIR/check" "$STRATA_BIN" copy -q "oci:$BATS_TEST_TMPDIR/out:v1" strata:back:1
	[ "$status" -eq 0 ]
	[ "$(STRATA_ROOT=$BATS_TEST_TMPDIR/check strata inspect --format '{{.Id}}' back:1)" = "$ID" ]
}

@test "copy sources: a docker-archive by name to an oci-archive, a registry and a docker-archive" {
	run strata copy "docker-archive:$DARCHIVE:me/bb:1" "oci-archive:$BATS_TEST_TMPDIR/o.tar:v2"
	[ "$status" -eq 0 ]
	digest=$(skopeo_digest "oci-archive:$BATS_TEST_TMPDIR/o.tar:v2")
	[[ "$digest" == sha256:* ]]
	run strata copy --digestfile "$BATS_TEST_TMPDIR/dg" "docker-archive:$DARCHIVE:me/bb:1" "docker://$REG/src/bb:1"
	[ "$status" -eq 0 ]
	# Compression is deterministic: the same manifest on both sides.
	[ "$(cat "$BATS_TEST_TMPDIR/dg")" = "$digest" ]
	[ "$(skopeo_digest "docker://$REG/src/bb:1")" = "$digest" ]
	# To a docker-archive the layers stay as they are: uncompressed.
	run strata copy "docker-archive:$DARCHIVE" "docker-archive:$BATS_TEST_TMPDIR/d2.tar:me/bb:2"
	[ "$status" -eq 0 ]
	mkdir "$BATS_TEST_TMPDIR/x"
	tar -xf "$BATS_TEST_TMPDIR/d2.tar" -C "$BATS_TEST_TMPDIR/x"
	[ "$(layer_type "$BATS_TEST_TMPDIR/x")" = "application/vnd.oci.image.layer.v1.tar" ]
	run skopeo inspect "docker-archive:$BATS_TEST_TMPDIR/d2.tar:me/bb:2"
	[ "$status" -eq 0 ]
	# A name the archive does not have is named back.
	run strata copy "docker-archive:$DARCHIVE:me/other:1" "oci:$BATS_TEST_TMPDIR/none"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no image named 'me/other:1'"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/none" ]
}

@test "copy sources: a docker-archive layer that does not match its digest fails naming the layer, and nothing is written" {
	mkdir "$BATS_TEST_TMPDIR/x"
	tar -xf "$DARCHIVE" -C "$BATS_TEST_TMPDIR/x"
	layer=$(jq -r '.[0].Layers[0]' "$BATS_TEST_TMPDIR/x/manifest.json")
	chmod u+w "$BATS_TEST_TMPDIR/x/$layer"
	# The same size, one byte of a file's content changed: only the digest can tell.
	printf 'x' | dd of="$BATS_TEST_TMPDIR/x/$layer" bs=1 seek=5000 conv=notrunc status=none
	tar -cf "$BATS_TEST_TMPDIR/bad.tar" -C "$BATS_TEST_TMPDIR/x" .
	for dest in "oci:$BATS_TEST_TMPDIR/out" "oci-archive:$BATS_TEST_TMPDIR/out.tar" "docker://$REG/src/bad:1"; do
		run strata copy "docker-archive:$BATS_TEST_TMPDIR/bad.tar" "$dest"
		[ "$status" -ne 0 ]
		[[ "$output" == *"layer $layer: digest mismatch"* ]]
	done
	[ ! -e "$BATS_TEST_TMPDIR/out" ]
	[ ! -e "$BATS_TEST_TMPDIR/out.tar" ]
	run ls -A "$BATS_TEST_TMPDIR"
	[[ "$output" != *.tmp-* ]]
	run skopeo inspect --tls-verify=false "docker://$REG/src/bad:1"
	[ "$status" -ne 0 ]
}

@test "copy sources: a registry's blobs go straight into a layout and an archive, without a temporary file" {
	run strata copy "oci:$SRC:v1" "docker://$REG/src/reg:1"
	[ "$status" -eq 0 ]
	digest=$(skopeo_digest "docker://$REG/src/reg:1")
	# Nowhere to put a temporary file: nothing needs one.
	export TMPDIR=$BATS_TEST_TMPDIR/no-such-dir
	run strata copy "docker://$REG/src/reg:1" "oci:$BATS_TEST_TMPDIR/out"
	[ "$status" -eq 0 ]
	run strata copy "docker://$REG/src/reg:1" "oci-archive:$BATS_TEST_TMPDIR/out.tar"
	[ "$status" -eq 0 ]
	unset TMPDIR
	[ "$(skopeo_digest "oci:$BATS_TEST_TMPDIR/out")" = "$digest" ]
	[ "$(skopeo_digest "oci-archive:$BATS_TEST_TMPDIR/out.tar")" = "$digest" ]
}

@test "copy sources: a registry that serves a wrong blob fails naming it, and nothing is written" {
	run strata copy "oci:$SRC:v1" "docker://$REG/src/wrong:1"
	[ "$status" -eq 0 ]
	manifest=$(jq -r '.manifests[0].digest' "$SRC/index.json" | cut -d: -f2)
	layer=$(jq -r '.layers[0].digest' "$SRC/blobs/sha256/$manifest")
	hex=${layer#sha256:}
	# The registry serves what its storage holds: one byte changed there, the same size.
	data=$REG_DIR/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
	cp "$data" "$BATS_TEST_TMPDIR/good"
	GOOD_BLOB=$data
	printf 'x' | dd of="$data" bs=1 seek=100 conv=notrunc status=none
	for dest in "oci:$BATS_TEST_TMPDIR/out" "oci-archive:$BATS_TEST_TMPDIR/out.tar"; do
		run strata copy "docker://$REG/src/wrong:1" "$dest"
		[ "$status" -ne 0 ]
		[[ "$output" == *"blob $layer: digest mismatch"* ]]
	done
	[ ! -e "$BATS_TEST_TMPDIR/out" ]
	[ ! -e "$BATS_TEST_TMPDIR/out.tar" ]
	run ls -A "$BATS_TEST_TMPDIR"
	[[ "$output" != *.tmp-* ]]
}

# Two one-file images for linux/amd64 and linux/arm64 (written here) in an index at $REG/$1;
# INDEX is its digest.
push_index() {
	local p
	for p in amd64 arm64; do
		mkdir -p "$BATS_TEST_TMPDIR/$p"
		echo "$p" >"$BATS_TEST_TMPDIR/$p/platform"
		STRATA_ROOT=$BATS_TEST_TMPDIR/root strata import --platform "linux/$p" "$BATS_TEST_TMPDIR/$p" "app:$p" >/dev/null
	done
	STRATA_ROOT=$BATS_TEST_TMPDIR/root strata manifest create "$REG/$1" app:amd64 app:arm64 >/dev/null
	INDEX=$(STRATA_ROOT=$BATS_TEST_TMPDIR/root strata manifest push -q "$REG/$1" | tail -n 1)
}

@test "copy sources: --all and --multi-arch all copy a registry's index with every image to a layout and an archive" {
	push_index multi:src
	run strata copy --all "docker://$REG/multi:src" "oci:$BATS_TEST_TMPDIR/all"
	[ "$status" -eq 0 ]
	[ ! -e "$STRATA_ROOT" ]
	[ "$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/all/index.json")" = "$INDEX" ]
	run strata copy --multi-arch all "docker://$REG/multi:src" "oci-archive:$BATS_TEST_TMPDIR/all.tar"
	[ "$status" -eq 0 ]
	# skopeo reads every platform from both and pushes them back: the same index.
	run skopeo copy --all --dest-tls-verify=false "oci:$BATS_TEST_TMPDIR/all" "docker://$REG/multi:back"
	[ "$status" -eq 0 ]
	run skopeo copy --all --dest-tls-verify=false "oci-archive:$BATS_TEST_TMPDIR/all.tar" "docker://$REG/multi:back2"
	[ "$status" -eq 0 ]
	[ "$(skopeo_digest "docker://$REG/multi:back")" = "$INDEX" ]
	[ "$(skopeo_digest "docker://$REG/multi:back2")" = "$INDEX" ]
	# system, the default: one image, the platform asked for.
	run strata copy --multi-arch system --override-arch arm64 "docker://$REG/multi:src" "oci:$BATS_TEST_TMPDIR/one"
	[ "$status" -eq 0 ]
	run skopeo inspect --config "oci:$BATS_TEST_TMPDIR/one"
	[ "$(echo "$output" | jq -r .architecture)" = arm64 ]
}

@test "copy sources: --multi-arch index-only copies the index alone, to a registry" {
	push_index only:src
	run strata copy --multi-arch index-only "docker://$REG/only:src" "docker://$REG/only:idx"
	[ "$status" -eq 0 ]
	run skopeo inspect --raw --tls-verify=false "docker://$REG/only:idx"
	[ "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" = "$INDEX" ]
	run strata copy --multi-arch index-only "docker://$REG/only:src" "oci:$BATS_TEST_TMPDIR/idx"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--multi-arch index-only copies from docker:// to docker://"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/idx" ]
	run strata copy --multi-arch every "docker://$REG/only:src" "docker://$REG/only:x"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--multi-arch: expected system, all or index-only, not 'every'"* ]]
}

@test "copy sources: a PATCH cut on the way resumes where the upload session stands, not from the start" {
	printf '{"upload-chunk-size": 1048576}\n' >"$BATS_TEST_TMPDIR/registries.json"
	export STRATA_REGISTRIES_CONF=$BATS_TEST_TMPDIR/registries.json
	mkdir -p "$BATS_TEST_TMPDIR/big"
	head -c 3M /dev/urandom >"$BATS_TEST_TMPDIR/big/blob"
	STRATA_ROOT=$BATS_TEST_TMPDIR/root strata import "$BATS_TEST_TMPDIR/big" big:1 >/dev/null
	STRATA_ROOT=$BATS_TEST_TMPDIR/root strata copy -q big:1 "oci:$BATS_TEST_TMPDIR/big-oci"
	proxy_start cut-patch-once
	run strata copy --digestfile "$BATS_TEST_TMPDIR/dg" "oci:$BATS_TEST_TMPDIR/big-oci" "docker://$PROXY/resume:1"
	[ "$status" -eq 0 ]
	grep -q '^PATCH .* cut$' "$PROXY_LOG"
	# The session was asked where it stands, and the layer went on in the same session.
	grep -q '^GET /v2/resume/blobs/uploads/.* 204$' "$PROXY_LOG"
	[ "$(grep -c '^POST ' "$PROXY_LOG")" -eq 2 ]
	# Fewer bytes went up than two whole layers.
	layer=$(jq -r '.layers[0].size' "$BATS_TEST_TMPDIR/big-oci/blobs/sha256/$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/big-oci/index.json" | cut -d: -f2)")
	sent=$(awk '$1 == "PATCH-BYTES" { n += $2 } END { print n }' "$PROXY_LOG")
	[ "$sent" -lt $((2 * layer)) ]
	# It pulls back identical.
	run skopeo copy --src-tls-verify=false "docker://$REG/resume:1" "oci:$BATS_TEST_TMPDIR/back"
	[ "$status" -eq 0 ]
	[ "$(skopeo_digest "docker://$REG/resume:1")" = "$(cat "$BATS_TEST_TMPDIR/dg")" ]
	[ "$(skopeo_digest "oci:$BATS_TEST_TMPDIR/back")" = "$(cat "$BATS_TEST_TMPDIR/dg")" ]
}
