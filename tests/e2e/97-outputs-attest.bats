#!/usr/bin/env bats
# What a build's attestations become in a type=local or type=tar output (in-toto statements as
# files beside the root filesystem, one set per platform), --analyze of a multi-platform build,
# and the Dockerfile instructions import --change and commit -c accept.
bats_require_minimum_version 1.5.0
load helpers

setup() { common_setup; }

@test "import --change: HEALTHCHECK and STOPSIGNAL are applied, as Docker's daemon accepts them" {
	run strata import --change 'HEALTHCHECK --interval=5s --retries=2 CMD wget -q -O- http://localhost/' \
		--change 'STOPSIGNAL SIGINT' "$(busybox_tar)" hc:1
	[ "$status" -eq 0 ]
	run strata inspect --format '{{json .Config.Healthcheck}}' hc:1
	[ "$status" -eq 0 ]
	[ "$(jq -c .Test <<<"$output")" = '["CMD-SHELL","wget -q -O- http://localhost/"]' ]
	[ "$(jq .Interval <<<"$output")" -eq 5000000000 ]
	[ "$(jq .Retries <<<"$output")" -eq 2 ]
	run strata inspect --format '{{.Config.StopSignal}}' hc:1
	[ "$status" -eq 0 ]
	[ "$output" = SIGINT ]
	run strata import --change 'HEALTHCHECK NONE' "$(busybox_tar)" hc:2
	[ "$status" -eq 0 ]
	run strata inspect --format '{{json .Config.Healthcheck.Test}}' hc:2
	[ "$status" -eq 0 ]
	[ "$output" = '["NONE"]' ]
}

@test "commit -c: HEALTHCHECK is applied to the committed image" {
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	strata create --name src busybox true >/dev/null
	run strata commit -c 'HEALTHCHECK --timeout=3s CMD ["true"]' src hc:3
	[ "$status" -eq 0 ]
	run strata inspect --format '{{json .Config.Healthcheck}}' hc:3
	[ "$status" -eq 0 ]
	[ "$(jq -c .Test <<<"$output")" = '["CMD","true"]' ]
	[ "$(jq .Timeout <<<"$output")" -eq 3000000000 ]
	strata rm src >/dev/null
}

@test "import --change: an instruction Docker refuses is named in Docker's words, no image made" {
	run strata import --change 'RUN true' "$(busybox_tar)" bad:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"--change 'RUN true': run is not a valid change command"* ]]
	run strata import --change 'HEALTHCHECK --interval=soon CMD true' "$(busybox_tar)" bad:2
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid --interval duration 'soon'"* ]]
	run strata images -q bad
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

# A context of one file and two Dockerfiles: "Dockerfile" gives every platform /etc/hello and
# /<arch>.txt, "Dockerfile.merged" only the latter (no file two platforms share).
make_ctx() {
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
	echo hello >"$CTX/hello.txt"
	printf 'FROM scratch\nARG TARGETARCH\nCOPY hello.txt /$TARGETARCH.txt\nCOPY hello.txt /etc/hello\n' >"$CTX/Dockerfile"
	printf 'FROM scratch\nARG TARGETARCH\nCOPY hello.txt /$TARGETARCH.txt\n' >"$CTX/Dockerfile.merged"
}

# The subjects of statement FILE as "name sha256" lines, and the regular files of DIR (but the
# statements) the same way: BuildKit's statements name every file of the output.
subjects() { jq -r '.subject[] | "\(.name) \(.digest.sha256)"' "$1"; }
files_of() {
	(cd "$1" && find . -type f ! -name '*.json' -printf '%P\n' | sort | while read -r f; do
		echo "$f $(sha256sum "$f" | cut -d' ' -f1)"
	done)
}

@test "outputs-attest: type=local of one platform gets sbom.spdx.json and provenance.json about its files" {
	make_ctx
	out=$BATS_TEST_TMPDIR/out
	run strata build -q --sbom=true --provenance=mode=max -o "type=local,dest=$out" "$CTX"
	[ "$status" -eq 0 ]
	[ -f "$out/etc/hello" ]
	[ "$(stat -c %a "$out/sbom.spdx.json")" = 600 ]
	[ "$(stat -c %a "$out/provenance.json")" = 600 ]
	[ "$(jq -r ._type "$out/sbom.spdx.json")" = https://in-toto.io/Statement/v0.1 ]
	[ "$(jq -r .predicateType "$out/sbom.spdx.json")" = https://spdx.dev/Document ]
	[ "$(jq -r .predicate.spdxVersion "$out/sbom.spdx.json")" = SPDX-2.3 ]
	[ "$(jq -r ._type "$out/provenance.json")" = https://in-toto.io/Statement/v0.1 ]
	[ "$(jq -r .predicateType "$out/provenance.json")" = https://slsa.dev/provenance/v1 ]
	[ "$(jq -r .predicate.buildDefinition.externalParameters.configSource.path "$out/provenance.json")" = Dockerfile ]
	# max mode: the Dockerfile's text is in the provenance
	[ -n "$(jq -r '.predicate.runDetails.metadata.buildkit_metadata.source.infos[0].data' "$out/provenance.json")" ]
	files_of "$out" >"$BATS_TEST_TMPDIR/want"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/want")" -eq 2 ]
	subjects "$out/provenance.json" >"$BATS_TEST_TMPDIR/got"
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	subjects "$out/sbom.spdx.json" >"$BATS_TEST_TMPDIR/got"
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	# no image is recorded for a local output
	run strata images -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "outputs-attest: type=tar of one platform holds the statements beside the root's files" {
	make_ctx
	run strata build -q --provenance=true -o "type=tar,dest=$BATS_TEST_TMPDIR/out.tar" "$CTX"
	[ "$status" -eq 0 ]
	run tar -tf "$BATS_TEST_TMPDIR/out.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"provenance.json"* ]]
	[[ "$output" != *"sbom.spdx.json"* ]]
	[ "$(tar -tvf "$BATS_TEST_TMPDIR/out.tar" provenance.json | cut -c1-10)" = -rw------- ]
	mkdir "$BATS_TEST_TMPDIR/x"
	tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/out.tar"
	[ "$(jq -r .predicateType "$BATS_TEST_TMPDIR/x/provenance.json")" = https://slsa.dev/provenance/v1 ]
	files_of "$BATS_TEST_TMPDIR/x" >"$BATS_TEST_TMPDIR/want"
	subjects "$BATS_TEST_TMPDIR/x/provenance.json" >"$BATS_TEST_TMPDIR/got"
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "outputs-attest: several platforms each get their statements in their own directory" {
	make_ctx
	out=$BATS_TEST_TMPDIR/out
	run strata build -q --sbom=true --provenance=true --platform linux/amd64,linux/arm64 \
		-o "type=local,dest=$out" "$CTX"
	[ "$status" -eq 0 ]
	for p in amd64 arm64; do
		[ -f "$out/linux_$p/sbom.spdx.json" ]
		[ "$(jq -r .predicateType "$out/linux_$p/provenance.json")" = https://slsa.dev/provenance/v1 ]
		# the names are relative to the platform's own root
		files_of "$out/linux_$p" >"$BATS_TEST_TMPDIR/want"
		subjects "$out/linux_$p/provenance.json" >"$BATS_TEST_TMPDIR/got"
		diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
		grep -qx "$p.txt [0-9a-f]*" "$BATS_TEST_TMPDIR/got"
	done
	[ ! -e "$out/provenance.json" ]
	run strata build -q --sbom=true --platform linux/amd64,linux/arm64 \
		-o "type=tar,dest=$BATS_TEST_TMPDIR/out.tar" "$CTX"
	[ "$status" -eq 0 ]
	run tar -tf "$BATS_TEST_TMPDIR/out.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"linux_amd64/sbom.spdx.json"* ]]
	[[ "$output" == *"linux_arm64/sbom.spdx.json"* ]]
}

@test "outputs-attest: platform-split=false names each platform's statements, attestation-prefix before them" {
	make_ctx
	out=$BATS_TEST_TMPDIR/out
	run strata build -q --sbom=true --provenance=true --platform linux/amd64,linux/arm64 \
		-f "$CTX/Dockerfile.merged" -o "type=local,dest=$out,platform-split=false,attestation-prefix=att-" "$CTX"
	[ "$status" -eq 0 ]
	run ls "$out"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "amd64.txt arm64.txt att-provenance.linux_amd64.json att-provenance.linux_arm64.json att-sbom.spdx.linux_amd64.json att-sbom.spdx.linux_arm64.json" ]
	# each is about its own platform's files only
	[ "$(jq -r '[.subject[].name] | join(",")' "$out/att-provenance.linux_arm64.json")" = arm64.txt ]
	[ "$(jq -r '[.subject[].name] | join(",")' "$out/att-sbom.spdx.linux_amd64.json")" = amd64.txt ]
}

@test "outputs-attest: what cannot hold attestations, or a prefix that is a path, is refused before building" {
	make_ctx
	run strata build --sbom=true -o "type=docker,dest=$BATS_TEST_TMPDIR/d.tar" "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"attestations need an image, oci, local or tar output: type=docker has no index to hold them"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/d.tar" ]
	run strata build --provenance=true -o "type=local,dest=$BATS_TEST_TMPDIR/o,attestation-prefix=../x" "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"attestation-prefix '../x' must not contain '/'"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/o" ]
	run strata build --provenance=true -o "type=image,attestation-prefix=x" "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown key 'attestation-prefix' for type=image"* ]]
}

@test "build --analyze: each platform's image is analysed under its name; =ci fails when any platform fails" {
	# arm64's second step overwrites what its first added; amd64's wastes nothing
	ctx=$BATS_TEST_TMPDIR/an
	mkdir -p "$ctx/amd64/a" "$ctx/amd64/b" "$ctx/arm64/a" "$ctx/arm64/b"
	echo x >"$ctx/amd64/a/x"
	echo y >"$ctx/amd64/b/y"
	head -c 50000 /dev/zero >"$ctx/arm64/a/data"
	echo z >"$ctx/arm64/b/data"
	printf 'FROM scratch\nARG TARGETARCH\nCOPY $TARGETARCH/a /\nCOPY $TARGETARCH/b /\n' >"$ctx/Dockerfile"
	run strata build -q --analyze --platform linux/amd64,linux/arm64 -t an:1 "$ctx"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\nlinux/amd64:\n\nefficiency 100.00 % (dive), 0 B wasted (dive)'* ]]
	[[ "$output" == *$'\nlinux/arm64:\n\nefficiency '*" 50 kB wasted (dive)"* ]]
	[[ "$output" == *"added by layer 0: COPY arm64/a / # buildkit"* ]]
	run strata build -q --analyze=ci --platform linux/amd64,linux/arm64 -t an:1 "$ctx"
	[ "$status" -eq 1 ]
	[[ "$output" == *$'\nlinux/amd64:\n'*$'\nPASS [pass:2 skip:4]\n'*$'\nlinux/arm64:\n'*$'\nFAIL [fail:2 skip:4]'* ]]
	# one platform's build still judges its one image
	run strata build -q --analyze=ci --platform linux/amd64 -t an:2 "$ctx"
	[ "$status" -eq 0 ]
	[[ "$output" != *"linux/amd64:"* ]]
}
