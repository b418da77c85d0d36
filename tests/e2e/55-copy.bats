# strata copy between the registry, OCI layouts, archives and the store, read back by skopeo.
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
	ID=$(strata inspect --format '{{.Id}}' busybox)
}

# The digest skopeo reads for an image.
skopeo_digest() {
	skopeo inspect --tls-verify=false "$1" | jq -r .Digest
}

# The store's tmp/ is empty: nothing of a copy was left behind.
tmp_is_empty() {
	[ -z "$(ls -A "$STRATA_ROOT/tmp")" ]
}

@test "copy: store to an OCI layout, a docker-archive and an oci-archive; skopeo reads each with the same digest" {
	run strata copy busybox "oci:$BATS_TEST_TMPDIR/oci:v1"
	[ "$status" -eq 0 ]
	run jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$BATS_TEST_TMPDIR/oci/index.json"
	[ "$output" = "v1" ]
	digest=$(skopeo_digest "oci:$BATS_TEST_TMPDIR/oci:v1")
	[[ "$digest" == sha256:* ]]
	run strata copy --digestfile "$BATS_TEST_TMPDIR/d" "oci:$BATS_TEST_TMPDIR/oci:v1" "docker-archive:$BATS_TEST_TMPDIR/d.tar:me/app:2"
	[ "$status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/d")" = "$digest" ]
	# skopeo finds it by that name (and makes a manifest of its own for a docker-archive).
	run skopeo inspect "docker-archive:$BATS_TEST_TMPDIR/d.tar:me/app:2"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.Layers | length')" = 1 ]
	run strata copy -q "docker-archive:$BATS_TEST_TMPDIR/d.tar" "oci-archive:$BATS_TEST_TMPDIR/o.tar:latest"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(skopeo_digest "oci-archive:$BATS_TEST_TMPDIR/o.tar:latest")" = "$digest" ]
	tmp_is_empty
	# Into a fresh store under a name of the user's: the same image.
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata copy "oci-archive:$BATS_TEST_TMPDIR/o.tar" strata:copied:1
	[ "$status" -eq 0 ]
	[ "$(strata inspect --format '{{.Id}}' copied:1)" = "$ID" ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "copy: to and from a registry, and from a registry to an archive without the store" {
	run strata copy busybox "docker://$REG/cp/bb:1"
	[ "$status" -eq 0 ]
	digest=$(skopeo_digest "docker://$REG/cp/bb:1")
	[[ "$digest" == sha256:* ]]
	# Registry to registry, and registry to an OCI layout: the digest is the registry's.
	run strata copy --digestfile "$BATS_TEST_TMPDIR/d" "docker://$REG/cp/bb:1" "docker://$REG/cp/other:2"
	[ "$status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/d")" = "$digest" ]
	[ "$(skopeo_digest "docker://$REG/cp/other:2")" = "$digest" ]
	run strata copy "docker://$REG/cp/other:2" "oci:$BATS_TEST_TMPDIR/oci"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/oci/index.json")" = "$digest" ]
	# Neither side was the store: it holds nothing of those images, and no leftover.
	run strata images -q
	[ "${#lines[@]}" -eq 1 ]
	tmp_is_empty
	# What skopeo pushed, strata copies into its store.
	skopeo copy --dest-tls-verify=false "oci:$BATS_TEST_TMPDIR/oci" "docker://$REG/cp/sk:1"
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata copy "docker://$REG/cp/sk:1" mine:1
	[ "$status" -eq 0 ]
	[ "$(strata inspect --format '{{.Id}}' mine:1)" = "$ID" ]
}

@test "copy: bad sources and destinations fail naming what is wrong, and leave nothing behind" {
	run strata copy "oci:$BATS_TEST_TMPDIR/missing" "oci:$BATS_TEST_TMPDIR/x"
	[ "$status" -ne 0 ]
	[[ "$output" == *"missing"* ]]
	run strata copy containers-storage:busybox "oci:$BATS_TEST_TMPDIR/x"
	[ "$status" -ne 0 ]
	[[ "$output" == *"strata:NAME"* ]]
	run strata copy "docker://" "oci:$BATS_TEST_TMPDIR/x"
	[ "$status" -ne 0 ]
	[[ "$output" == *"source"* ]]
	run strata copy busybox
	[ "$status" -eq 2 ]
	# Two images in one layout: the copy must be told which.
	printf 'FROM busybox\nRUN echo x >/x\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	strata build -q -t second:1 "$BATS_TEST_TMPDIR" >/dev/null
	strata save --format oci-archive -o "$BATS_TEST_TMPDIR/two.tar" busybox second:1
	run strata copy "oci-archive:$BATS_TEST_TMPDIR/two.tar" "oci:$BATS_TEST_TMPDIR/y"
	[ "$status" -ne 0 ]
	[[ "$output" == *"holds 2 images"* ]]
	run strata copy "oci-archive:$BATS_TEST_TMPDIR/two.tar:nope" "oci:$BATS_TEST_TMPDIR/y"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no image named 'nope'"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/y" ]
	run strata copy "oci-archive:$BATS_TEST_TMPDIR/two.tar:second:1" "oci:$BATS_TEST_TMPDIR/y"
	[ "$status" -eq 0 ]
	# (strata writes a tag alone as ref.name, as docker save does: skopeo knows it as "1".)
	[ "$(skopeo_digest "oci:$BATS_TEST_TMPDIR/y")" = "$(skopeo_digest "oci-archive:$BATS_TEST_TMPDIR/two.tar:1")" ]
	# A layer blob changed in a layout: refused, and no destination is written.
	strata copy busybox "oci:$BATS_TEST_TMPDIR/bad"
	layer=$(jq -r '.layers[0].digest' "$BATS_TEST_TMPDIR/bad/blobs/sha256/$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/bad/index.json" | cut -d: -f2)" | cut -d: -f2)
	chmod u+w "$BATS_TEST_TMPDIR/bad/blobs/sha256/$layer"
	printf 'x' >>"$BATS_TEST_TMPDIR/bad/blobs/sha256/$layer"
	run strata copy "oci:$BATS_TEST_TMPDIR/bad" "docker-archive:$BATS_TEST_TMPDIR/bad.tar"
	[ "$status" -ne 0 ]
	[[ "$output" == *"digest"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/bad.tar" ]
	tmp_is_empty
	# An existing layout is not overwritten.
	run strata copy busybox "oci:$BATS_TEST_TMPDIR/bad"
	[ "$status" -ne 0 ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "inspect --raw: the stored manifest, and the registry's bytes for a name the store lacks or docker://" {
	run strata inspect --raw busybox
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .mediaType)" = "application/vnd.oci.image.manifest.v1+json" ]
	local_digest=sha256:$(strata inspect --raw busybox | sha256sum | cut -d' ' -f1)
	strata tag busybox "$REG/raw/bb:1"
	strata push -q "$REG/raw/bb:1"
	run strata inspect --raw "docker://$REG/raw/bb:1"
	[ "$status" -eq 0 ]
	[ "sha256:$(strata inspect --raw "docker://$REG/raw/bb:1" | sha256sum | cut -d' ' -f1)" = "$local_digest" ]
	strata rmi "$REG/raw/bb:1"
	[ "$(strata inspect --raw "$REG/raw/bb:1" | sha256sum)" = "$(skopeo inspect --raw --tls-verify=false "docker://$REG/raw/bb:1" | sha256sum)" ]
	run strata inspect --raw --format '{{.Id}}' busybox
	[ "$status" -eq 2 ]
	run strata inspect --raw "$REG/raw/missing:1"
	[ "$status" -ne 0 ]
}

@test "progress: --progress=tty draws a bar per layer in place; plain prints status lines; a bad mode is refused" {
	mkdir -p "$BATS_TEST_TMPDIR/big"
	head -c 4M /dev/urandom >"$BATS_TEST_TMPDIR/big/blob"
	strata import "$BATS_TEST_TMPDIR/big" "$REG/progress/big:1" >/dev/null
	run strata push --progress=tty "$REG/progress/big:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Pushing ["*"B/"*"MB"* ]]
	[[ "$output" == *$'\033['*"A"* ]]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull --progress=tty "$REG/progress/big:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Downloading ["* ]]
	[[ "$output" == *"Pull complete"* ]]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/third
	run strata pull --progress=plain "$REG/progress/big:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Pull complete"* ]]
	[[ "$output" != *$'\033'* ]]
	run strata pull --progress=bogus "$REG/progress/big:1"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--progress: expected auto, plain or tty"* ]]
}

@test "copy --all: every image of a registry's index and the index, to a registry and to the store" {
	for p in amd64 arm64; do
		mkdir -p "$BATS_TEST_TMPDIR/$p"
		echo "$p" >"$BATS_TEST_TMPDIR/$p/platform"
		strata import --platform "linux/$p" "$BATS_TEST_TMPDIR/$p" "app:$p" >/dev/null
	done
	run strata manifest create "$REG/all:src" app:amd64 app:arm64
	[ "$status" -eq 0 ]
	run strata manifest push -q "$REG/all:src"
	[ "$status" -eq 0 ]
	index=${lines[-1]}

	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata copy --all "docker://$REG/all:src" "docker://$REG/all:dst"
	[ "$status" -eq 0 ]
	run skopeo inspect --raw --tls-verify=false "docker://$REG/all:dst"
	[ "$status" -eq 0 ]
	[ "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" = "$index" ]
	run skopeo copy --all --src-tls-verify=false "docker://$REG/all:dst" "oci:$BATS_TEST_TMPDIR/oci:all"
	[ "$status" -eq 0 ]
	# Nothing of the copy stays in the store it went through.
	run strata images -q
	[ -z "$output" ]
	tmp_is_empty

	run strata copy --all "docker://$REG/all:src" strata:all:local
	[ "$status" -eq 0 ]
	run strata manifest inspect all:local
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.manifests[].platform.architecture] | join(",")')" = amd64,arm64 ]
	run strata manifest push all:local "$REG/all:again"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "$index" ]

	run strata copy --all "docker://$REG/all:src" "docker-archive:$BATS_TEST_TMPDIR/d.tar"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--all copies from docker:// to docker://, oci:, oci-archive: or the store"* ]]
}
