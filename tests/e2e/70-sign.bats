load helpers
bats_require_minimum_version 1.5.0

# Keys, signatures and their verification as cosign makes them. What strata writes is checked
# by an independent checker (cosign-check.py: Python's cryptography, PyNaCl and hashlib.scrypt);
# what cosign wrote (fixtures/cosign, see its README) must verify or fail in strata as it does
# in cosign and containers/image.
FX="$BATS_TEST_DIRNAME/fixtures/cosign"
CHECK="$BATS_TEST_DIRNAME/fixtures/cosign-check.py"
check() { /usr/bin/python3 "$CHECK" "$@"; }

# One key pair (and another) for the tests that only use keys: scrypt makes keys slow to make.
setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/keys"
	cd "$BATS_FILE_TMPDIR/keys"
	STRATA_PASSWORD=s3cret "$STRATA_BIN" key generate 2>/dev/null
	STRATA_PASSWORD=s3cret "$STRATA_BIN" key generate --output-key-prefix other 2>/dev/null
}
keys() { cp "$BATS_FILE_TMPDIR"/keys/* .; }

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

# Run strata on a terminal of its own (script's pty), typing the lines of $1 into it.
on_tty() {
	local input=$1
	shift
	printf '%b' "$input" | script -qec "$(printf '%q ' "$STRATA_BIN" "$@")" /dev/null
}

@test "key generate, sign: without a variable the password is asked on the terminal, twice for a new key" {
	unset STRATA_PASSWORD
	run on_tty 'typed\ntyped\n' key generate
	[ "$status" -eq 0 ]
	[[ "$output" == *"Enter password for private key again:"* ]]
	run check decrypt cosign.key typed
	[ "$status" -eq 0 ]
	run on_tty 'typed\n' sign --key cosign.key app:1
	[ "$status" -eq 0 ]
	run strata verify --key cosign.pub app:1
	[ "$status" -eq 0 ]
	run on_tty 'one\ntwo\n' key generate --output-key-prefix mismatch
	[ "$status" -eq 1 ]
	[[ "$output" == *"the passwords do not match"* ]]
	[ ! -e mismatch.key ]
}

@test "sign, verify: the signature in the store is cosign's, several append, and verify prints the payloads" {
	keys
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
	keys
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
	keys
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

@test "verify dir: cosign's valid signatures verify, and the payloads are printed" {
	ci="$FX/containers-image"
	run --separate-stderr strata verify --key "$ci/cosign.pub" "dir:$ci/dir-img-cosign-valid"
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" = 1 ]
	[ "$(jq -r '.[0].critical.identity."docker-reference"' <<<"$output")" = 192.168.64.2:5000/cosign-signed-single-sample ]
	[ "$(jq -r '.[0].critical.image."docker-manifest-digest"' <<<"$output")" = "sha256:$(sha256sum <"$ci/dir-img-cosign-valid/manifest.json" | cut -d' ' -f1)" ]
	run --separate-stderr strata verify --key "$ci/cosign.pub" "dir:$ci/dir-img-cosign-valid-2"
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" = 2 ]
	run --separate-stderr strata verify --key "$ci/cosign.pub" "dir:$ci/dir-img-cosign-valid-with-tag"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[0].critical.identity."docker-reference"' <<<"$output")" = 192.168.64.2:5000/skopeo-signed:tag ]
	[ "$(jq -r '.[0].optional.creator' <<<"$output")" = "containers/image 5.21.2-dev" ]
	# One signature by another key, one valid: the image verifies through the valid one.
	run --separate-stderr strata verify --key "$ci/cosign.pub" "dir:$ci/dir-img-cosign-mixed"
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" = 1 ]
}

@test "verify dir: cosign's tampered, foreign and incomplete fixtures fail, naming what did not match" {
	ci="$FX/containers-image"
	signed=sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00
	run strata verify --key "$ci/cosign.pub" "dir:$ci/dir-img-cosign-modified-manifest"
	[ "$status" -eq 1 ]
	[[ "$output" == *"signature 1: the payload signs manifest $signed, not this image's sha256:"* ]]
	run strata verify --key "$ci/cosign.pub" "dir:$ci/dir-img-cosign-manifest-digest-error"
	[ "$status" -eq 1 ]
	[[ "$output" == *"the payload signs manifest $signed, not this image's sha256:"* ]]
	run strata verify --key "$ci/cosign.pub" "dir:$ci/dir-img-cosign-other-attachment"
	[ "$status" -eq 1 ]
	[[ "$output" == *"signature 1: a 'text/plain' payload, not a simple-signing signature"* ]]
	run strata verify --key "$ci/cosign.pub" "dir:$ci/dir-img-cosign-no-manifest"
	[ "$status" -eq 1 ]
	[[ "$output" == *"dir-img-cosign-no-manifest/manifest.json'"* ]]
	run strata verify --key "$ci/cosign2.pub" "dir:$ci/dir-img-cosign-valid"
	[ "$status" -eq 1 ]
	[[ "$output" == *"signature 1: the signature does not verify against the key"* ]]
	mkdir unknown
	cp "$ci/dir-img-cosign-valid/manifest.json" unknown/
	cp "$ci/unknown-cosign-key.signature" unknown/signature-1
	run strata verify --key "$ci/cosign.pub" dir:unknown
	[ "$status" -eq 1 ]
	[[ "$output" == *"signature 1: the signature does not verify against the key"* ]]
}

# Copy the valid fixture into DIR ($1), its signature's JSON rewritten by the jq filter $2.
tampered() {
	mkdir "$1"
	cp "$FX/containers-image/dir-img-cosign-valid/manifest.json" "$1/"
	{
		printf '\0sigstore-json\n'
		tail -c +16 "$FX/containers-image/dir-img-cosign-valid/signature-1" | jq -c "$2"
	} >"$1/signature-1"
}

@test "verify dir: a changed payload or signature annotation fails" {
	ci="$FX/containers-image"
	tampered same '.'
	run strata verify --key "$ci/cosign.pub" dir:same
	[ "$status" -eq 0 ]
	tampered payload '.payload |= (@base64d | sub("single-sample"; "other") | @base64)'
	run strata verify --key "$ci/cosign.pub" dir:payload
	[ "$status" -eq 1 ]
	[[ "$output" == *"signature 1: the signature does not verify against the key"* ]]
	tampered annotation '.annotations["dev.cosignproject.cosign/signature"] |= sub("^MEYCIQD"; "MEYCIQC")'
	run strata verify --key "$ci/cosign.pub" dir:annotation
	[ "$status" -eq 1 ]
	[[ "$output" == *"signature 1: the signature does not verify against the key"* ]]
	tampered unsigned 'del(.annotations)'
	run strata verify --key "$ci/cosign.pub" dir:unsigned
	[ "$status" -eq 1 ]
	[[ "$output" == *"signature 1: no dev.cosignproject.cosign/signature annotation"* ]]
}

@test "sign: cosign's encrypted keys (COSIGN and SIGSTORE PEM types) sign; a SEC1 key is refused" {
	keys="$FX/cosign-keys"
	export STRATA_PASSWORD=hello
	for k in cosign-pkcs8 sigstore; do
		check decrypt "$keys/$k.key" hello >"$k.pub"
	done
	run strata sign --key "$keys/cosign-pkcs8.key" app:1
	[ "$status" -eq 0 ]
	run strata verify --key cosign-pkcs8.pub app:1
	[ "$status" -eq 0 ]
	run strata sign --key "$keys/sigstore.key" app:1
	[ "$status" -eq 0 ]
	run --separate-stderr strata verify --key sigstore.pub app:1
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" = 1 ]
	run strata sign --key "$keys/cosign-sec1.key" app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"cosign-sec1.key: the decrypted private key is not PKCS#8"* ]]
	STRATA_PASSWORD=nope run strata sign --key "$keys/cosign-pkcs8.key" app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"cosign-pkcs8.key: decrypt the private key: wrong password"* ]]
}

@test "push: signatures go with the image under cosign's tag; verify reads them from the registry" {
	registry_start "$BATS_TEST_TMPDIR/reg"
	keys
	strata tag app:1 "$REG/app:1"
	run strata sign --key cosign.key -a by=strata "$REG/app:1"
	[ "$status" -eq 0 ]
	subject=$(signed_digest "$output")
	run strata push "$REG/app:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Pushed signatures as sha256-${subject#sha256:}.sig"* ]]
	run check registry cosign.pub "$REG" app "$subject"
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]

	# From a store that never saw the image: verified in the registry.
	export STRATA_ROOT="$BATS_TEST_TMPDIR/root2"
	run --separate-stderr strata verify --key cosign.pub "$REG/app:1"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[0].critical.identity."docker-reference"' <<<"$output")" = "$REG/app" ]
	[ "$(jq -r '.[0].critical.image."docker-manifest-digest"' <<<"$output")" = "$subject" ]
	[ "$(jq -r '.[0].optional.by' <<<"$output")" = strata ]
	run strata verify --key other.pub "$REG/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"signature 1: the signature does not verify against the key"* ]]
	# An image that is not signed there: nothing under its tag.
	strata import "$BATS_TEST_TMPDIR/rootfs" -c 'LABEL x=y' "$REG/unsigned:1" >/dev/null
	strata push "$REG/unsigned:1" >/dev/null 2>&1
	run strata verify --key cosign.pub "$REG/unsigned:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no signatures found (no tag sha256-"* ]]

	# A pull brings the signatures along: they verify with the registry gone.
	run strata pull "$REG/app:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Pulled signatures sha256-${subject#sha256:}.sig"* ]]
	registry_stop
	run --separate-stderr strata verify --key cosign.pub "$REG/app:1"
	[ "$status" -eq 0 ]
	[ "$(jq length <<<"$output")" = 1 ]
}

@test "pull: a pulled image that is not signed verifies against its registry when signed later" {
	registry_start "$BATS_TEST_TMPDIR/reg"
	keys
	strata tag app:1 "$REG/app:1"
	strata push "$REG/app:1" >/dev/null
	export STRATA_ROOT="$BATS_TEST_TMPDIR/root2"
	strata pull "$REG/app:1" >/dev/null
	run strata verify --key cosign.pub "$REG/app:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no signatures found (no tag sha256-"* ]]
	STRATA_ROOT="$BATS_TEST_TMPDIR/root" strata sign --key cosign.key "$REG/app:1"
	STRATA_ROOT="$BATS_TEST_TMPDIR/root" strata push "$REG/app:1" >/dev/null
	run --separate-stderr strata verify --key cosign.pub "$REG/app:1"
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[0].critical.identity."docker-reference"' <<<"$output")" = "$REG/app" ]
}

@test "save, load: an OCI layout carries the signatures beside the image; a docker-archive goes without" {
	keys
	run strata sign --key cosign.key app:1
	[ "$status" -eq 0 ]
	subject=$(signed_digest "$output")
	strata save --format oci-archive -o app.tar app:1
	strata save --format oci-dir -o layout app:1
	strata save -o docker.tar app:1
	run jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' layout/index.json
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "sha256-${subject#sha256:}.sig" ]
	run tar -xOf docker.tar index.json
	[ "$status" -eq 0 ]
	[[ "$output" != *".sig"* ]]

	for src in app.tar layout; do
		export STRATA_ROOT="$BATS_TEST_TMPDIR/root-$src"
		run strata load -i "$src"
		[ "$status" -eq 0 ]
		[ "$output" = "Loaded image: app:1" ]
		run --separate-stderr strata verify --key cosign.pub app:1
		[ "$status" -eq 0 ]
		[ "$(jq -r '.[0].critical.image."docker-manifest-digest"' <<<"$output")" = "$subject" ]
		run strata system check
		[ "$status" -eq 0 ]
	done
	export STRATA_ROOT="$BATS_TEST_TMPDIR/root-docker"
	strata load -i docker.tar
	run strata verify --key cosign.pub app:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"no signatures found"* ]]
}
