#!/usr/bin/env bats
# strata build --sbom, --provenance and --attest: in-toto statements in BuildKit's attestation
# manifests (the index layout, the statements, SLSA v1 provenance min and max), what inspect
# and sbom show of them, and the outputs that carry them: push (read back by skopeo), type=oci,
# save and load.
bats_require_minimum_version 1.5.0
load helpers

# The blob DIGEST of the store.
blob() { cat "$STRATA_ROOT/blobs/sha256/${1#sha256:}"; }

# The statement of predicate type TYPE that image NAME's attestation manifest holds.
statement() {
	local index att layer
	index=$(strata inspect --raw "$1")
	att=$(jq -r '.manifests[] | select(.annotations["vnd.docker.reference.type"] == "attestation-manifest") | .digest' <<<"$index" | head -1)
	layer=$(blob "$att" | jq -r --arg t "$2" '.layers[] | select(.annotations["in-toto.io/predicate-type"] == $t) | .digest')
	blob "$layer"
}

# Images built once into a store the tests read: plain:1 without attestations, att:1 with an
# SBOM and max provenance, min:1 with min provenance, multi:1 of two platforms.
setup_file() {
	registry_setup_file
	export STRATA_ROOT=$BATS_FILE_TMPDIR/root
	export CTX=$BATS_FILE_TMPDIR/ctx
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	mkdir -p "$CTX/var/lib/dpkg"
	printf 'Package: hello\nStatus: install ok installed\nVersion: 2.10-3\nArchitecture: amd64\n\nPackage: jq\nStatus: install ok installed\nVersion: 1.6-2.1\nArchitecture: amd64\n' \
		>"$CTX/var/lib/dpkg/status"
	printf 'FROM busybox\nARG TOKEN=none\nCOPY var /var\n' >"$CTX/Dockerfile"
	printf 'FROM scratch\nCOPY var /var\n' >"$CTX/Dockerfile.scratch"
	strata build -q -t plain:1 "$CTX" >/dev/null
	strata build -q --sbom=true --provenance=mode=max --build-arg TOKEN=s3cret -t att:1 "$CTX" >/dev/null
	strata build -q --attest type=provenance,mode=min --build-arg TOKEN=s3cret -t min:1 "$CTX" >/dev/null
	strata build -q --sbom=true --platform linux/amd64,linux/arm64 -f "$CTX/Dockerfile.scratch" \
		-t multi:1 "$CTX" >/dev/null
}

teardown_file() {
	registry_stop
}

@test "build-attest: a build without the flags makes a manifest, not an index, and lists no attestation" {
	run strata inspect --raw plain:1
	[ "$status" -eq 0 ]
	[ "$(jq -r .mediaType <<<"$output")" = application/vnd.oci.image.manifest.v1+json ]
	run strata inspect plain:1
	[ "$status" -eq 0 ]
	[ "$(jq '.[0] | has("Attestations")' <<<"$output")" = false ]
}

@test "build-attest: the index holds the image and its attestation manifest in BuildKit's layout" {
	run strata inspect --raw att:1
	[ "$status" -eq 0 ]
	index=$output
	[ "$(jq -r .mediaType <<<"$index")" = application/vnd.oci.image.index.v1+json ]
	[ "$(jq '.manifests | length' <<<"$index")" -eq 2 ]
	image=$(jq -r '.manifests[0].digest' <<<"$index")
	[ "$(jq -r '.manifests[0].platform.os' <<<"$index")" = linux ]
	[ "$(jq -r '.manifests[1].platform | "\(.os)/\(.architecture)"' <<<"$index")" = unknown/unknown ]
	[ "$(jq -r '.manifests[1].annotations["vnd.docker.reference.type"]' <<<"$index")" = attestation-manifest ]
	[ "$(jq -r '.manifests[1].annotations["vnd.docker.reference.digest"]' <<<"$index")" = "$image" ]
	# the name still points at the image, one row in images
	[ "$(strata images -q att:1 | wc -l)" -eq 1 ]
	[ "$(strata inspect --format '{{.Id}}' att:1)" = "$(blob "$image" | jq -r .config.digest)" ]
	att=$(blob "$(jq -r '.manifests[1].digest' <<<"$index")")
	[ "$(jq -r .mediaType <<<"$att")" = application/vnd.oci.image.manifest.v1+json ]
	[ "$(jq -r '[.layers[].mediaType] | unique | join(",")' <<<"$att")" = application/vnd.in-toto+json ]
	[ "$(jq -r '[.layers[].annotations["in-toto.io/predicate-type"]] | join(",")' <<<"$att")" = https://spdx.dev/Document,https://slsa.dev/provenance/v1 ]
	[ "$(blob "$(jq -r .config.digest <<<"$att")")" = '{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":null}}' ]
}

@test "build-attest: the SBOM statement is about the image manifest and lists what strata sbom finds" {
	image=$(strata inspect --raw att:1 | jq -r '.manifests[0].digest')
	run statement att:1 https://spdx.dev/Document
	[ "$status" -eq 0 ]
	st=$output
	[ "$(jq -r ._type <<<"$st")" = https://in-toto.io/Statement/v0.1 ]
	[ "$(jq -r .predicateType <<<"$st")" = https://spdx.dev/Document ]
	[ "$(jq -r '.subject[0].digest.sha256' <<<"$st")" = "${image#sha256:}" ]
	[ "$(jq -r '.subject[0].name' <<<"$st")" = "pkg:docker/att@1?platform=linux%2Famd64" ]
	[ "$(jq -r .predicate.spdxVersion <<<"$st")" = SPDX-2.3 ]
	attached=$(jq -r '[.predicate.packages[].externalRefs[]? | select(.referenceType == "purl") | .referenceLocator | select(startswith("pkg:oci/") | not)] | sort | join(" ")' <<<"$st")
	run strata sbom -o purls att:1
	[ "$status" -eq 0 ]
	[ -n "$attached" ]
	[ "$attached" = "$(sort <<<"$output" | paste -sd' ')" ]
}

@test "build-attest: strata sbom prints the attached SPDX document and says so" {
	run --separate-stderr strata sbom -o spdx-json att:1
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"using the SBOM attached to att:1 at build time"* ]]
	[ "$(jq -S . <<<"$output")" = "$(statement att:1 https://spdx.dev/Document | jq -S .predicate)" ]
	# an image without one is catalogued
	run --separate-stderr strata sbom -o spdx-json plain:1
	[ "$status" -eq 0 ]
	[[ "$stderr" != *"attached"* ]]
}

@test "build-attest: max provenance has the build arguments and the Dockerfile, min has neither" {
	df_digest=$(sha256sum "$CTX/Dockerfile" | cut -d' ' -f1)
	busybox=$(strata inspect --raw busybox:latest | sha256sum | cut -d' ' -f1)
	max=$(statement att:1 https://slsa.dev/provenance/v1)
	min=$(statement min:1 https://slsa.dev/provenance/v1)
	for p in "$max" "$min"; do
		[ "$(jq -r .predicateType <<<"$p")" = https://slsa.dev/provenance/v1 ]
		[ "$(jq -r .predicate.buildDefinition.buildType <<<"$p")" = https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md ]
		[ "$(jq -r .predicate.buildDefinition.externalParameters.configSource.path <<<"$p")" = Dockerfile ]
		[ "$(jq -r .predicate.buildDefinition.externalParameters.configSource.digest.sha256 <<<"$p")" = "$df_digest" ]
		[ "$(jq -r .predicate.buildDefinition.externalParameters.request.frontend <<<"$p")" = dockerfile.v0 ]
		[ "$(jq -r '.predicate.buildDefinition.resolvedDependencies[] | select(.uri == "pkg:docker/busybox@latest?platform=linux%2Famd64") | .digest.sha256' <<<"$p")" = "$busybox" ]
		[ "$(jq -r '.predicate.buildDefinition.resolvedDependencies[] | select(.uri == "file:Dockerfile") | .digest.sha256' <<<"$p")" = "$df_digest" ]
		[ -n "$(jq -r .predicate.buildDefinition.internalParameters.builderPlatform <<<"$p")" ]
		[ "$(jq -r .predicate.runDetails.builder.id <<<"$p")" != "" ]
		[[ "$(jq -r .predicate.runDetails.metadata.invocationId <<<"$p")" =~ ^[0-9a-f]{32}$ ]]
		[[ "$(jq -r .predicate.runDetails.metadata.startedOn <<<"$p")" =~ ^20[0-9-]+T[0-9:]+Z$ ]]
		[[ "$(jq -r .predicate.runDetails.metadata.finishedOn <<<"$p")" =~ ^20[0-9-]+T[0-9:]+Z$ ]]
	done
	[ "$(jq -r '.predicate.buildDefinition.externalParameters.request.args["build-arg:TOKEN"]' <<<"$max")" = s3cret ]
	[ "$(jq -r '.predicate.runDetails.metadata.buildkit_metadata.source.infos[0].data' <<<"$max" | base64 -d)" = "$(cat "$CTX/Dockerfile")" ]
	[ "$(jq -r .predicate.runDetails.metadata.buildkit_completeness.request <<<"$max")" = true ]
	# min: no argument values (they can be secrets), no source, and it says the request is incomplete
	[ "$(jq -r '.predicate.buildDefinition.externalParameters.request.args | keys | join(",")' <<<"$min")" = "" ]
	[ "$(jq -r .predicate.runDetails.metadata.buildkit_metadata <<<"$min")" = null ]
	[ "$(jq -r .predicate.runDetails.metadata.buildkit_completeness.request <<<"$min")" = false ]
	[[ "$min" != *s3cret* ]]
	# --attest type=provenance alone attaches no SBOM
	[ "$(statement min:1 https://spdx.dev/Document)" = "" ]
}

@test "build-attest: inspect lists the attestations of the image" {
	run strata inspect --format '{{range .Attestations}}{{.PredicateType}} {{end}}' att:1
	[ "$status" -eq 0 ]
	[ "$output" = "https://spdx.dev/Document https://slsa.dev/provenance/v1 " ]
}

@test "build-attest: two platforms give two attestation manifests, each about its platform's image" {
	index=$(strata inspect --raw multi:1)
	[ "$(jq '.manifests | length' <<<"$index")" -eq 4 ]
	[ "$(jq -r '[.manifests[0,1].platform.architecture] | join(",")' <<<"$index")" = amd64,arm64 ]
	[ "$(jq -r '.manifests[2].annotations["vnd.docker.reference.digest"]' <<<"$index")" = "$(jq -r '.manifests[0].digest' <<<"$index")" ]
	[ "$(jq -r '.manifests[3].annotations["vnd.docker.reference.digest"]' <<<"$index")" = "$(jq -r '.manifests[1].digest' <<<"$index")" ]
	arm=$(jq -r '.manifests[3].digest' <<<"$index")
	layer=$(blob "$arm" | jq -r '.layers[0].digest')
	[ "$(blob "$layer" | jq -r '.subject[0].digest.sha256')" = "$(jq -r '.manifests[1].digest | ltrimstr("sha256:")' <<<"$index")" ]
	[ "$(blob "$layer" | jq -r '.subject[0].name')" = "pkg:docker/multi@1?platform=linux%2Farm64" ]
}

@test "build-attest: --push sends the index, the attestation manifest and the statements; skopeo reads them" {
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
	run strata build -q --sbom=true --provenance=true --push -t "$REG/att:1" "$CTX"
	[ "$status" -eq 0 ]
	run skopeo inspect --tls-verify=false --raw "docker://$REG/att:1"
	[ "$status" -eq 0 ]
	index=$output
	[ "$(jq -r '.manifests[1].annotations["vnd.docker.reference.type"]' <<<"$index")" = attestation-manifest ]
	att=$(jq -r '.manifests[1].digest' <<<"$index")
	run skopeo inspect --tls-verify=false --raw "docker://$REG/att@$att"
	[ "$status" -eq 0 ]
	[ "$(jq -r '[.layers[].annotations["in-toto.io/predicate-type"]] | join(",")' <<<"$output")" = https://spdx.dev/Document,https://slsa.dev/provenance/v1 ]
	layer=$(jq -r '.layers[1].digest' <<<"$output")
	run curl -sf "http://$REG/v2/att/blobs/$layer"
	[ "$status" -eq 0 ]
	[ "$(jq -r .predicateType <<<"$output")" = https://slsa.dev/provenance/v1 ]
	[ "$(jq -r '.subject[0].name' <<<"$output")" = "pkg:docker/$REG/att@1?platform=linux%2Famd64" ]
}

@test "build-attest: -o type=oci writes the index with its attestation manifest; a generator named is not run" {
	run --separate-stderr strata build -q --attest type=sbom,generator=docker/buildkit-syft-scanner \
		-o "type=oci,dest=$BATS_TEST_TMPDIR/oci,tar=false" "$CTX"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"the SBOM generator 'docker/buildkit-syft-scanner' is not run"* ]]
	top=$(jq -r '.manifests[0].digest | ltrimstr("sha256:")' "$BATS_TEST_TMPDIR/oci/index.json")
	index=$BATS_TEST_TMPDIR/oci/blobs/sha256/$top
	[ "$(jq -r '.manifests[1].annotations["vnd.docker.reference.type"]' "$index")" = attestation-manifest ]
	att=$(jq -r '.manifests[1].digest | ltrimstr("sha256:")' "$index")
	layer=$(jq -r '.layers[0].digest | ltrimstr("sha256:")' "$BATS_TEST_TMPDIR/oci/blobs/sha256/$att")
	[ "$(jq -r .predicateType "$BATS_TEST_TMPDIR/oci/blobs/sha256/$layer")" = https://spdx.dev/Document ]
}

@test "build-attest: save and load keep the attestations" {
	run strata save -o "$BATS_TEST_TMPDIR/att.tar" att:1
	[ "$status" -eq 0 ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata load -i "$BATS_TEST_TMPDIR/att.tar"
	[ "$status" -eq 0 ]
	run strata inspect --format '{{range .Attestations}}{{.PredicateType}} {{end}}' att:1
	[ "$status" -eq 0 ]
	[ "$output" = "https://spdx.dev/Document https://slsa.dev/provenance/v1 " ]
	run --separate-stderr strata sbom -o spdx-json att:1
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"using the SBOM attached"* ]]
	[ "$(jq -r '[.packages[].name] | join(",")' <<<"$output")" = "$(statement att:1 https://spdx.dev/Document | jq -r '[.predicate.packages[].name] | join(",")')" ]
}

@test "build-attest: bad --attest, --sbom and --provenance values are refused before building" {
	run strata build --attest type=signature "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid --attest 'type=signature': type='signature': expected sbom or provenance"* ]]
	run strata build --provenance=mode=mid "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"mode='mid': expected min or max"* ]]
	run strata build --sbom=maybe "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--sbom='maybe': expected true or false"* ]]
	run strata build --attest type=provenance,colour=red "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown provenance attestation option 'colour'"* ]]
	run strata build --sbom=true -o "type=docker,dest=$BATS_TEST_TMPDIR/d.tar" "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"type=docker has no index to hold them"* ]]
}

@test "build-attest: a new tag of the index pushes the attestations; copy --all brings them into a store and to another repository" {
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
	run strata tag att:1 "$REG/tagged:1"
	[ "$status" -eq 0 ]
	run strata push -q "$REG/tagged:1"
	[ "$status" -eq 0 ]
	run skopeo inspect --tls-verify=false --raw "docker://$REG/tagged:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$(strata inspect --raw att:1)" ]
	run strata copy -q --all --src-tls-verify=false --dest-tls-verify=false "docker://$REG/tagged:1" "docker://$REG/copied:1"
	[ "$status" -eq 0 ]
	[ "$(skopeo inspect --tls-verify=false --raw "docker://$REG/copied:1")" = "$(strata inspect --raw att:1)" ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata copy -q --all --src-tls-verify=false "docker://$REG/tagged:1" copied:1
	[ "$status" -eq 0 ]
	run strata inspect --format '{{range .Attestations}}{{.PredicateType}} {{end}}' copied:1
	[ "$status" -eq 0 ]
	[ "$output" = "https://spdx.dev/Document https://slsa.dev/provenance/v1 " ]
}
