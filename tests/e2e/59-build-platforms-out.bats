# strata build --platform with several platforms: what the outputs, --iidfile, --metadata-file
# and the shared cache make of them. FROM scratch and COPY only: no emulator needed.
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
	ctx=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$ctx"
	echo amd64 >"$ctx/amd64.txt"
	echo arm64 >"$ctx/arm64.txt"
	echo both >"$ctx/common.txt"
	cat >"$ctx/Dockerfile" <<-'EOF2'
	FROM scratch
	ARG TARGETARCH
	COPY ${TARGETARCH}.txt /${TARGETARCH}.txt
	EOF2
}

@test "build --platform: type=tar writes each platform's files under its own directory" {
	run strata build --platform linux/amd64,linux/arm64 -o "type=tar,dest=$BATS_TEST_TMPDIR/out.tar" "$ctx"
	[ "$status" -eq 0 ]
	run tar -tf "$BATS_TEST_TMPDIR/out.tar"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | sort | tr '\n' ' ')" = "linux_amd64/ linux_amd64/amd64.txt linux_arm64/ linux_arm64/arm64.txt " ]
	[ "$(tar -xOf "$BATS_TEST_TMPDIR/out.tar" linux_arm64/arm64.txt)" = arm64 ]
	# To stdout, the same.
	strata build -q --platform linux/amd64,linux/arm64 -o type=tar,dest=- "$ctx" >"$BATS_TEST_TMPDIR/stdout.tar"
	[ "$(tar -xOf "$BATS_TEST_TMPDIR/stdout.tar" linux_amd64/amd64.txt)" = amd64 ]
}

@test "build --platform: platform-split=false merges the platforms' files, for tar and local" {
	run strata build --platform linux/amd64,linux/arm64 \
		-o "type=tar,dest=$BATS_TEST_TMPDIR/out.tar,platform-split=false" \
		-o "type=local,dest=$BATS_TEST_TMPDIR/out,platform-split=false" "$ctx"
	[ "$status" -eq 0 ]
	run tar -tf "$BATS_TEST_TMPDIR/out.tar"
	[ "$(printf '%s\n' "$output" | sort | tr '\n' ' ')" = "amd64.txt arm64.txt " ]
	[ "$(ls "$BATS_TEST_TMPDIR/out" | tr '\n' ' ')" = "amd64.txt arm64.txt " ]
	# One platform with platform-split=true: under its directory all the same.
	run strata build --platform linux/arm64 -o "type=local,dest=$BATS_TEST_TMPDIR/one,platform-split=true" "$ctx"
	[ "$status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/one/linux_arm64/arm64.txt")" = arm64 ]
}

@test "build --platform: platform-split=false refuses a file two platforms have, and writes nothing" {
	printf 'FROM scratch\nCOPY common.txt /etc/common\n' >"$ctx/Dockerfile"
	run strata build --platform linux/amd64,linux/arm64 -o "type=tar,dest=$BATS_TEST_TMPDIR/out.tar,platform-split=false" "$ctx"
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot overwrite etc/common from linux/amd64 with linux/arm64 when split option is disabled"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/out.tar" ]
	run strata build --platform linux/amd64,linux/arm64 -o "type=local,dest=$BATS_TEST_TMPDIR/out,platform-split=false" "$ctx"
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot overwrite etc/common from linux/amd64 with linux/arm64"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/out" ]
	run strata build -o "type=tar,dest=$BATS_TEST_TMPDIR/out.tar,platform-split=maybe" "$ctx"
	[ "$status" -ne 0 ]
	[[ "$output" == *"platform-split must be true or false, not 'maybe'"* ]]
}

@test "build --platform: --iidfile, -q and --metadata-file name the index, as BuildKit does" {
	run strata build --platform linux/amd64,linux/arm64 -t app:1 --iidfile "$BATS_TEST_TMPDIR/iid" \
		--metadata-file "$BATS_TEST_TMPDIR/meta.json" "$ctx"
	[ "$status" -eq 0 ]
	run strata inspect --raw app:1
	[ "$status" -eq 0 ]
	index=sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)
	[ "$(echo "$output" | jq -r .mediaType)" = application/vnd.oci.image.index.v1+json ]
	[ "$(cat "$BATS_TEST_TMPDIR/iid")" = "$index" ]
	[ "$(jq -r '."containerimage.digest"' "$BATS_TEST_TMPDIR/meta.json")" = "$index" ]
	[ "$(jq -r '."containerimage.descriptor".mediaType' "$BATS_TEST_TMPDIR/meta.json")" = application/vnd.oci.image.index.v1+json ]
	[ "$(jq -r '."image.name"' "$BATS_TEST_TMPDIR/meta.json")" = docker.io/library/app:1 ]
	# An index has no one config: BuildKit leaves the key out.
	[ "$(jq -r 'has("containerimage.config.digest")' "$BATS_TEST_TMPDIR/meta.json")" = false ]
	run strata build -q --platform linux/amd64,linux/arm64 "$ctx"
	[ "$status" -eq 0 ]
	[ "$output" = "$index" ]
	# An OCI layout of several platforms: the index again.
	run strata build --platform linux/amd64,linux/arm64 --iidfile "$BATS_TEST_TMPDIR/iid2" \
		-o "type=oci,dest=$BATS_TEST_TMPDIR/o.tar" "$ctx"
	[ "$status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/iid2")" = "$index" ]
}

@test "build --platform --cache-to type=local: every platform's steps in the one cache" {
	run strata build --platform linux/amd64,linux/arm64 --cache-to "type=local,dest=$BATS_TEST_TMPDIR/cache" "$ctx"
	[ "$status" -eq 0 ]
	[[ "$output" == *"4 steps run, 0 cached"* ]]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata build --progress plain --platform linux/amd64,linux/arm64 --cache-from "type=local,src=$BATS_TEST_TMPDIR/cache" "$ctx"
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 steps run, 4 cached"* ]]
}

@test "build --platform --cache-to type=registry: every platform's steps in the one cache" {
	run strata build --platform linux/amd64,linux/arm64 --cache-to "type=registry,ref=$REG/cache/multi:c" "$ctx"
	[ "$status" -eq 0 ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata build --progress plain --platform linux/amd64,linux/arm64 --cache-from "$REG/cache/multi:c" "$ctx"
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 steps run, 4 cached"* ]]
	# A build of one of them takes its part of the cache.
	export STRATA_ROOT=$BATS_TEST_TMPDIR/third
	run strata build --progress plain --platform linux/arm64 --cache-from "$REG/cache/multi:c" "$ctx"
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 steps run, 2 cached"* ]]
}

@test "build --platform: each platform's layers in the output's compression, gzip by default" {
	run strata build --platform linux/amd64,linux/arm64 -t multi:gz "$ctx"
	[ "$status" -eq 0 ]
	run strata inspect --raw multi:gz
	[ "$status" -eq 0 ]
	arm=$(jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest' <<<"$output")
	run strata inspect --raw "multi:gz@$arm"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.layers[0].mediaType' <<<"$output")" = application/vnd.oci.image.layer.v1.tar+gzip ]
	run strata build --platform linux/amd64,linux/arm64 -o "type=oci,dest=$BATS_TEST_TMPDIR/z.tar,compression=zstd" "$ctx"
	[ "$status" -eq 0 ]
	mkdir "$BATS_TEST_TMPDIR/z"
	tar -xf "$BATS_TEST_TMPDIR/z.tar" -C "$BATS_TEST_TMPDIR/z"
	index=$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/z/index.json")
	for m in $(jq -r '.manifests[].digest' "$BATS_TEST_TMPDIR/z/blobs/sha256/${index#sha256:}"); do
		[ "$(jq -r '.layers[0].mediaType' "$BATS_TEST_TMPDIR/z/blobs/sha256/${m#sha256:}")" = application/vnd.oci.image.layer.v1.tar+zstd ]
	done
	run skopeo inspect --raw "oci-archive:$BATS_TEST_TMPDIR/z.tar"
	[ "$status" -eq 0 ]
}
