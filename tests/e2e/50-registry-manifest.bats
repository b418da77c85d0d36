# strata manifest create|add|annotate|rm|push: manifest lists (OCI indexes) kept in the store and
# pushed to the CNCF distribution registry, read back by skopeo.
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
	# Two small images of two platforms, different bytes so their manifests differ.
	local p
	for p in amd64 arm64; do
		mkdir -p "$BATS_TEST_TMPDIR/$p"
		echo "$p" >"$BATS_TEST_TMPDIR/$p/platform"
		strata import --platform "linux/$p" "$BATS_TEST_TMPDIR/$p" "app:$p" >/dev/null
	done
}


@test "manifest create, annotate, push: skopeo reads the index and copies every platform" {
	run strata manifest create "$REG/app:list" app:amd64 app:arm64
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" == sha256:* ]]
	run strata manifest annotate --variant v8 --os-features a,b --annotation org.example=1 \
		"$REG/app:list" app:arm64
	[ "$status" -eq 0 ]
	run strata manifest inspect "$REG/app:list"
	[ "$status" -eq 0 ]
	local="$output"
	[ "$(echo "$local" | jq -r .mediaType)" = application/vnd.oci.image.index.v1+json ]
	[ "$(echo "$local" | jq -r '[.manifests[].platform.architecture] | join(",")')" = amd64,arm64 ]
	[ "$(echo "$local" | jq -r '.manifests[1].platform.variant')" = v8 ]
	[ "$(echo "$local" | jq -c '.manifests[1].platform["os.features"]')" = '["a","b"]' ]
	[ "$(echo "$local" | jq -r '.manifests[1].annotations["org.example"]')" = 1 ]

	run strata manifest push "$REG/app:list"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Pushed ref $REG/app@"* ]]
	digest=${lines[-1]}
	[[ "$digest" == sha256:* ]]
	run skopeo inspect --raw --tls-verify=false "docker://$REG/app:list"
	[ "$status" -eq 0 ]
	[ "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" = "$digest" ]
	[ "$(echo "$output" | jq -c .)" = "$(echo "$local" | jq -c .)" ]
	run skopeo copy --all --src-tls-verify=false "docker://$REG/app:list" "oci:$BATS_TEST_TMPDIR/oci:list"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/oci/index.json")" = "$digest" ]

	# Each platform pulls into a fresh store as the image it was.
	arm=$(strata inspect --format '{{.Id}}' app:arm64)
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull --platform linux/arm64/v8 "$REG/app:list"
	[ "$status" -eq 0 ]
	[ "$(strata inspect --format '{{.Id}}' "$REG/app:list")" = "$arm" ]
}

@test "strata push of a manifest list's name pushes the index with its images" {
	run strata manifest create "$REG/pushed:1" app:amd64 app:arm64
	[ "$status" -eq 0 ]
	run strata push "$REG/pushed:1"
	[ "$status" -eq 0 ]
	run skopeo inspect --raw --tls-verify=false "docker://$REG/pushed:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .mediaType)" = application/vnd.oci.image.index.v1+json ]
	[ "$(echo "$output" | jq -r '.manifests | length')" = 2 ]
	run skopeo inspect --tls-verify=false --override-arch arm64 "docker://$REG/pushed:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .Architecture)" = arm64 ]
}

@test "manifest add takes an image the store lacks from its registry; --amend; rm; push --purge" {
	strata tag app:arm64 "$REG/remote:arm64"
	run strata push -q "$REG/remote:arm64"
	[ "$status" -eq 0 ]
	strata rmi "$REG/remote:arm64" app:arm64 >/dev/null

	run strata manifest create local:list app:amd64
	[ "$status" -eq 0 ]
	run strata manifest create local:list app:amd64
	[ "$status" -ne 0 ]
	[[ "$output" == *"refusing to amend an existing manifest list with no --amend flag"* ]]
	run strata manifest add local:list "$REG/remote:arm64"
	[ "$status" -eq 0 ]
	run strata manifest inspect local:list
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.manifests[].platform.architecture] | join(",")')" = amd64,arm64 ]
	# Pulled by digest: no tag of the registry's name appears in the store.
	run strata images --format '{{.Repository}}:{{.Tag}}'
	[[ "$output" != *"remote"* ]]

	run strata manifest create --amend local:list app:amd64
	[ "$status" -eq 0 ]
	run strata manifest inspect local:list
	[ "$(echo "$output" | jq -r '.manifests | length')" = 2 ]

	run strata manifest push --purge local:list "$REG/purged:1"
	[ "$status" -eq 0 ]
	run skopeo inspect --raw --tls-verify=false "docker://$REG/purged:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.manifests | length')" = 2 ]
	run strata manifest push local:list "$REG/purged:2"
	[ "$status" -ne 0 ]
	[[ "$output" == *"docker.io/library/local:list: no such manifest list"* ]]

	run strata manifest create other:list app:amd64
	[ "$status" -eq 0 ]
	run strata manifest rm other:list
	[ "$status" -eq 0 ]
	run strata manifest rm other:list
	[ "$status" -ne 0 ]
	[[ "$output" == *"strata: manifest rm: docker.io/library/other:list: no such manifest list"* ]]
	# The images stay.
	run strata inspect app:amd64
	[ "$status" -eq 0 ]
}

@test "a list keeps its images' blobs: they push after the images are removed and gc ran" {
	run strata manifest create "$REG/kept:1" app:amd64 app:arm64
	[ "$status" -eq 0 ]
	run strata rmi app:amd64 app:arm64
	[ "$status" -eq 0 ]
	run strata system prune -f
	[ "$status" -eq 0 ]
	run strata system check
	[ "$status" -eq 0 ]
	run strata manifest push "$REG/kept:1"
	[ "$status" -eq 0 ]
	run skopeo copy --all --src-tls-verify=false "docker://$REG/kept:1" "oci:$BATS_TEST_TMPDIR/kept:1"
	[ "$status" -eq 0 ]
}

@test "manifest: bad input is refused with the name and the reason, the store intact" {
	run strata manifest create app:amd64 app:arm64
	[ "$status" -ne 0 ]
	[[ "$output" == *"docker.io/library/app:amd64: an image has this name; a manifest list needs its own"* ]]
	run strata manifest create l:1 app:amd64
	[ "$status" -eq 0 ]
	run strata manifest annotate --arch arm l:1 app:arm64
	[ "$status" -ne 0 ]
	[[ "$output" == *"manifest for image app:arm64 does not exist in docker.io/library/l:1"* ]]
	run strata manifest annotate --annotation novalue l:1 app:amd64
	[ "$status" -eq 2 ]
	[[ "$output" == *"--annotation 'novalue': expected key=value"* ]]
	run strata manifest add l:1 nosuch:image --tls-verify=false
	[ "$status" -ne 0 ]
	run strata manifest add missing:list app:amd64
	[ "$status" -ne 0 ]
	[[ "$output" == *"docker.io/library/missing:list: no such manifest list"* ]]
	run strata manifest create
	[ "$status" -eq 2 ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "manifest attach, referrers: through the fallback tag of a registry without the API" {
	strata tag app:amd64 "$REG/subject:1"
	run strata push -q "$REG/subject:1"
	[ "$status" -eq 0 ]
	subject=${output#*@}
	# Debian's distribution registry has no referrers API.
	run curl -s -o /dev/null -w '%{http_code}' "http://$REG/v2/subject/referrers/$subject"
	[ "$output" = 404 ]
	echo '{"spdxVersion":"SPDX-2.3"}' >"$BATS_TEST_TMPDIR/sbom.json"
	echo sig >"$BATS_TEST_TMPDIR/sig"
	run strata manifest attach --artifact-type application/vnd.example.sbom \
		--annotation org.example=1 "$REG/subject:1" "$BATS_TEST_TMPDIR/sbom.json"
	[ "$status" -eq 0 ]
	sbom=${output#*@}
	run strata manifest attach --artifact-type application/vnd.example.sig "$REG/subject:1" \
		"$BATS_TEST_TMPDIR/sig"
	[ "$status" -eq 0 ]
	# The same artifact again is listed once.
	run strata manifest attach --artifact-type application/vnd.example.sig "$REG/subject:1" \
		"$BATS_TEST_TMPDIR/sig"
	[ "$status" -eq 0 ]

	run skopeo inspect --raw --tls-verify=false "docker://$REG/subject:sha256-${subject#sha256:}"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .mediaType)" = application/vnd.oci.image.index.v1+json ]
	[ "$(echo "$output" | jq -r '.manifests | length')" = 2 ]
	run skopeo inspect --raw --tls-verify=false "docker://$REG/subject@$sbom"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .subject.digest)" = "$subject" ]
	[ "$(echo "$output" | jq -r .artifactType)" = application/vnd.example.sbom ]
	[ "$(echo "$output" | jq -r '.layers[0].annotations["org.opencontainers.image.title"]')" = sbom.json ]

	run strata manifest referrers "$REG/subject:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.manifests[].artifactType] | join(",")')" = application/vnd.example.sbom,application/vnd.example.sig ]
	[ "$(echo "$output" | jq -r '.manifests[0].digest')" = "$sbom" ]
	[ "$(echo "$output" | jq -r '.manifests[0].annotations["org.example"]')" = 1 ]
	run strata manifest referrers --artifact-type application/vnd.example.sig "$REG/subject:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.manifests[].artifactType] | join(",")')" = application/vnd.example.sig ]
	# An image nothing refers to has none.
	strata tag app:arm64 "$REG/subject:2"
	strata push -q "$REG/subject:2" >/dev/null
	run strata manifest referrers "$REG/subject:2"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.manifests | length')" = 0 ]
}

@test "manifest referrers: the referrers API where the registry has it, every page, filtered" {
	python3 "$BATS_TEST_DIRNAME/fixtures/referrers-api.py" "$BATS_TEST_TMPDIR/port" 3>&- &
	stub=$!
	for _ in $(seq 100); do
		if [ -s "$BATS_TEST_TMPDIR/port" ]; then break; fi
		sleep 0.1
	done
	api=127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")
	run strata manifest referrers "$api/app:1"
	kill "$stub"
	wait "$stub" || true
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.manifests[].artifactType] | join(",")')" = application/vnd.example.sbom,application/vnd.example.sig ]
	[ "$(echo "$output" | jq -r '.manifests[0].annotations.from')" = api ]
}

@test "manifest referrers --artifact-type: the registry's filter is used" {
	python3 "$BATS_TEST_DIRNAME/fixtures/referrers-api.py" "$BATS_TEST_TMPDIR/port" 3>&- &
	stub=$!
	for _ in $(seq 100); do
		if [ -s "$BATS_TEST_TMPDIR/port" ]; then break; fi
		sleep 0.1
	done
	api=127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")
	run strata manifest referrers --artifact-type application/vnd.example.sig "$api/app:1"
	kill "$stub"
	wait "$stub" || true
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.manifests[].digest] | join(",")')" = "sha256:$(printf '2%.0s' $(seq 64))" ]
}

@test "pull and push carry an image's referrers along; gc keeps them with the image" {
	strata tag app:amd64 "$REG/carried:1"
	run strata push -q "$REG/carried:1"
	[ "$status" -eq 0 ]
	subject=${output#*@}
	echo '{"spdxVersion":"SPDX-2.3"}' >"$BATS_TEST_TMPDIR/sbom.json"
	run strata manifest attach --artifact-type application/vnd.example.sbom "$REG/carried:1" \
		"$BATS_TEST_TMPDIR/sbom.json"
	[ "$status" -eq 0 ]
	sbom=${output#*@}

	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull "$REG/carried:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Pulled 1 referrers of $subject"* ]]
	run strata system prune -f
	[ "$status" -eq 0 ]
	strata tag "$REG/carried:1" "$REG/moved:1"
	run strata push "$REG/moved:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Pushed referrer $sbom"* ]]
	run strata manifest referrers "$REG/moved:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.manifests[].digest] | join(",")')" = "$sbom" ]
	[ "$(echo "$output" | jq -r '.manifests[0].artifactType')" = application/vnd.example.sbom ]
	run skopeo inspect --raw --tls-verify=false "docker://$REG/moved@$sbom"
	[ "$status" -eq 0 ]
	run strata system check
	[ "$status" -eq 0 ]
}

# An image of one 3 MiB layer of random bytes (it does not compress), uploads in 1 MiB chunks.
chunked_setup() {
	printf '{"upload-chunk-size": 1048576}\n' >"$BATS_TEST_TMPDIR/registries.json"
	export STRATA_REGISTRIES_CONF=$BATS_TEST_TMPDIR/registries.json
	mkdir -p "$BATS_TEST_TMPDIR/big"
	head -c 3M /dev/urandom >"$BATS_TEST_TMPDIR/big/blob"
	strata import "$BATS_TEST_TMPDIR/big" big:1 >/dev/null
}

@test "push: a blob bigger than the upload chunk size goes up in PATCH chunks, whole" {
	chunked_setup
	proxy_start pass
	strata tag big:1 "$PROXY/big:1"
	run strata push -q "$PROXY/big:1"
	proxy_stop
	[ "$status" -eq 0 ]
	digest=${output#*@}
	# The layer (3 MiB of random bytes and the tar around them) took four 1 MiB PATCH
	# requests; the small config went up in one PUT.
	[ "$(grep -c '^PATCH ' "$PROXY_LOG")" -eq 4 ]
	run skopeo inspect --tls-verify=false "docker://$REG/big:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .Digest)" = "$digest" ]
	id=$(strata inspect --format '{{.Id}}' big:1)
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull "$REG/big:1"
	[ "$status" -eq 0 ]
	[ "$(strata inspect --format '{{.Id}}' "$REG/big:1")" = "$id" ]
}

@test "push: a PATCH whose answer is lost: the registry drops the session, a new one carries the blob whole" {
	chunked_setup
	proxy_start drop-patch-once
	strata tag big:1 "$PROXY/drop:1"
	run strata push -q "$PROXY/drop:1"
	proxy_stop
	[ "$status" -eq 0 ]
	digest=${output#*@}
	grep -q '^PATCH .* dropped' "$PROXY_LOG"
	# Asked where the upload stands, the distribution registry no longer knows the session (the
	# size it holds is not the one in the URL's state): the layer went up in a second session.
	grep -q '^GET /v2/drop/blobs/uploads/.* 404' "$PROXY_LOG"
	[ "$(grep -c '^POST ' "$PROXY_LOG")" -eq 3 ]
	run skopeo copy --src-tls-verify=false "docker://$REG/drop:1" "oci:$BATS_TEST_TMPDIR/oci:drop"
	[ "$status" -eq 0 ]
	run skopeo inspect --tls-verify=false "docker://$REG/drop:1"
	[ "$(echo "$output" | jq -r .Digest)" = "$digest" ]
}
