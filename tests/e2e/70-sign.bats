load helpers
bats_require_minimum_version 1.5.0

# Keys, signatures and their verification as cosign makes them. What strata writes is checked
# by an independent checker (cosign-check.py: Python's cryptography, PyNaCl and hashlib.scrypt);
# what cosign wrote (fixtures/cosign, see its README) must verify or fail in strata as it does
# in cosign and containers/image.
FX="$BATS_TEST_DIRNAME/fixtures/cosign"
CHECK="$BATS_TEST_DIRNAME/fixtures/cosign-check.py"
check() { /usr/bin/python3 "$CHECK" "$@"; }

setup() {
	common_setup
	mkdir -p "$BATS_TEST_TMPDIR/rootfs"
	echo hello >"$BATS_TEST_TMPDIR/rootfs/hello"
	strata import "$BATS_TEST_TMPDIR/rootfs" app:1 >/dev/null
	cd "$BATS_TEST_TMPDIR"
	export STRATA_PASSWORD=s3cret
	unset COSIGN_PASSWORD
}

teardown() {
	registry_stop
}

# The manifest digest of IMAGE, as `strata save` writes it in an OCI layout's index.
manifest_digest() {
	strata save --format oci-dir -o "$BATS_TEST_TMPDIR/layout" "$1"
	jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/layout/index.json"
	rm -rf "$BATS_TEST_TMPDIR/layout"
}
# What 'strata sign' reports: the digest signed, and the signature manifest.
signed_digest() { sed -n 's/^Signed [^@]*@\(sha256:[0-9a-f]*\): .*/\1/p' <<<"$1"; }
sig_manifest() { sed -n 's/.*: signatures in \(sha256:[0-9a-f]*\) .*/\1/p' <<<"$1"; }

@test "key generate: cosign's encrypted key (0600) and public key, which an independent checker opens" {
	run strata key generate
	[ "$status" -eq 0 ]
	[[ "$output" == *"Private key written to cosign.key"* ]]
	[ "$(stat -c %a cosign.key)" = 600 ]
	[ "$(head -1 cosign.key)" = "-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----" ]
	[ "$(head -1 cosign.pub)" = "-----BEGIN PUBLIC KEY-----" ]
	run check decrypt cosign.key s3cret
	[ "$status" -eq 0 ]
	[[ "$output" == *"scrypt N=65536 r=8 p=1"* ]]
	check decrypt cosign.key s3cret 2>/dev/null >decrypted.pub
	cmp decrypted.pub cosign.pub
	run check decrypt cosign.key wrong
	[ "$status" -ne 0 ]
	# COSIGN_PASSWORD serves when STRATA_PASSWORD is not set; a prefix names the files.
	unset STRATA_PASSWORD
	COSIGN_PASSWORD=other strata key generate --output-key-prefix other
	run check decrypt other.key other
	[ "$status" -eq 0 ]
}

@test "key generate: never replaces a key, and without a password or a terminal says how to give one" {
	strata key generate
	cp cosign.key before.key
	run strata key generate
	[ "$status" -eq 1 ]
	[[ "$output" == *"'cosign.key' exists"* ]]
	cmp cosign.key before.key
	unset STRATA_PASSWORD
	run setsid "$STRATA_BIN" key generate --output-key-prefix none
	[ "$status" -eq 1 ]
	[[ "$output" == *"no password: set STRATA_PASSWORD (or COSIGN_PASSWORD)"* ]]
	[ ! -e none.key ]
}

@test "sign, verify: the signature in the store is cosign's, several append, and verify prints the payloads" {
	strata key generate
	run strata sign --key cosign.key -a build=42 app:1
	[ "$status" -eq 0 ]
	subject=$(signed_digest "$output")
	first=$(sig_manifest "$output")
	[ "$subject" = "$(manifest_digest app:1)" ]
	run check store cosign.pub "$STRATA_ROOT/blobs" "$first" "$subject" docker.io/library/app
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
	run strata sign --key cosign.key app:1
	[ "$status" -eq 0 ]
	second=$(sig_manifest "$output")
	[ "$second" != "$first" ]
	run check store cosign.pub "$STRATA_ROOT/blobs" "$second" "$subject" docker.io/library/app
	[ "$status" -eq 0 ]
	[ "$output" = 2 ]
	run --separate-stderr strata verify --key cosign.pub app:1
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" = 2 ]
	[ "$(jq -r '.[0].critical.image."docker-manifest-digest"' <<<"$output")" = "$subject" ]
	[ "$(jq -r '.[0].critical.identity."docker-reference"' <<<"$output")" = docker.io/library/app ]
	[ "$(jq -r '.[0].critical.type' <<<"$output")" = "cosign container image signature" ]
	[ "$(jq -r '.[0].optional.build' <<<"$output")" = 42 ]
	[ "$(jq -r '.[1].optional' <<<"$output")" = null ]
	[[ "$stderr" == *"The signatures were verified against the specified public key"* ]]
}

@test "verify: another key, another repository, or no signature fail and say what did not match" {
	strata key generate
	strata key generate --output-key-prefix other
	run strata verify --key cosign.pub app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"no signatures found"* ]]
	strata sign --key cosign.key app:1
	run strata verify --key other.pub app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"signature 1: the signature does not verify against the key"* ]]
	strata tag app:1 elsewhere/app:1
	run strata verify --key cosign.pub elsewhere/app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"docker-reference 'docker.io/library/app' is not repository 'docker.io/elsewhere/app'"* ]]
	run strata verify --key cosign.key app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"cosign.key: a 'ENCRYPTED COSIGN PRIVATE KEY' PEM block, expected 'PUBLIC KEY'"* ]]
	run strata sign --key cosign.pub app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"expected 'ENCRYPTED COSIGN PRIVATE KEY' or 'ENCRYPTED SIGSTORE PRIVATE KEY'"* ]]
	STRATA_PASSWORD=wrong run strata sign --key cosign.key app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"wrong password"* ]]
}

@test "sign: the signature is kept with its image and removed with it" {
	strata key generate
	run strata sign --key cosign.key app:1
	[ "$status" -eq 0 ]
	sig=$(sig_manifest "$output")
	[ -f "$STRATA_ROOT/blobs/sha256/${sig#sha256:}" ]
	run strata system prune -f
	[ "$status" -eq 0 ]
	[ -f "$STRATA_ROOT/blobs/sha256/${sig#sha256:}" ]
	run strata verify --key cosign.pub app:1
	[ "$status" -eq 0 ]
	run strata system check
	[ "$status" -eq 0 ]
	run strata rmi app:1
	[ "$status" -eq 0 ]
	[ ! -f "$STRATA_ROOT/blobs/sha256/${sig#sha256:}" ]
	[ -z "$(ls "$STRATA_ROOT/blobs/sha256")" ]
}
