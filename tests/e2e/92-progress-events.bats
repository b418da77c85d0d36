# What load, save, pull and push report per layer on stderr (--progress plain and tty, -q, a
# pipe), with stdout left to what the verb outputs.
load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	registry_setup_file
}

teardown_file() {
	registry_stop
}

setup() {
	registry_test_setup
	ARCHIVE=$BATS_TEST_TMPDIR/bb.tar
	strata save -o "$ARCHIVE" busybox:latest
	# The layer's blob as the archive names it: its short digest is the id progress shows.
	LAYER=$(tar -xOf "$ARCHIVE" manifest.json | jq -r '.[0].Layers[0]')
	LAYER=${LAYER#blobs/sha256/}
	LAYER=${LAYER:0:12}
}

# How many lines of "$stderr" are exactly LINE.
count_lines() {
	local n=0 l
	while IFS= read -r l; do
		if [ "$l" = "$1" ]; then
			n=$((n + 1))
		fi
	done <<<"$stderr"
	echo "$n"
}

@test "load --progress=plain: each layer loading, then loaded once; stdout keeps the result" {
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run --separate-stderr strata load --progress=plain -i "$ARCHIVE"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: busybox:latest" ]
	[ "$(count_lines "$LAYER: Loading layer")" -eq 1 ]
	[ "$(count_lines "$LAYER: Loaded")" -eq 1 ]
}

@test "load: -q and a stderr that is no terminal show no progress, as docker load" {
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run --separate-stderr strata load <"$ARCHIVE"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: busybox:latest" ]
	[ -z "$stderr" ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/third
	run --separate-stderr strata load -q --progress=plain -i "$ARCHIVE"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: busybox:latest" ]
	[ -z "$stderr" ]
}

@test "load --progress=tty: the layer's line is redrawn with a bar and its bytes" {
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run --separate-stderr strata load --progress=tty -i "$ARCHIVE"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"$LAYER: Loading layer ["*"]"*B/*B* ]]
	[[ "$stderr" == *$'\e[K'"$LAYER: Loaded"* ]]
}

@test "load: a bad --progress is a usage error naming the values" {
	run strata load --progress=fancy -i "$ARCHIVE"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--progress: expected auto, plain or tty, not 'fancy'"* ]]
}

@test "save --progress=plain: each layer saving, then saved once" {
	run --separate-stderr strata save --progress=plain -o "$BATS_TEST_TMPDIR/again.tar" busybox
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(count_lines "$LAYER: Saving")" -eq 1 ]
	[ "$(count_lines "$LAYER: Saved")" -eq 1 ]
	cmp "$ARCHIVE" "$BATS_TEST_TMPDIR/again.tar"
	run --separate-stderr strata save -q --progress=plain -o "$BATS_TEST_TMPDIR/quiet.tar" busybox
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "save to stdout: the same bytes with and without progress, which goes to stderr" {
	strata save --progress=plain busybox >"$BATS_TEST_TMPDIR/with.tar" 2>"$BATS_TEST_TMPDIR/err"
	strata save busybox >"$BATS_TEST_TMPDIR/without.tar" 2>"$BATS_TEST_TMPDIR/err-none"
	strata save --progress=tty busybox >"$BATS_TEST_TMPDIR/tty.tar" 2>/dev/null
	cmp "$ARCHIVE" "$BATS_TEST_TMPDIR/with.tar"
	cmp "$ARCHIVE" "$BATS_TEST_TMPDIR/without.tar"
	cmp "$ARCHIVE" "$BATS_TEST_TMPDIR/tty.tar"
	stderr=$(cat "$BATS_TEST_TMPDIR/err")
	[ "$(count_lines "$LAYER: Saved")" -eq 1 ]
	[ ! -s "$BATS_TEST_TMPDIR/err-none" ]
}

@test "push and pull --progress=plain: each layer's final status once; -q shows none" {
	strata tag busybox "$REG/ev:1"
	run --separate-stderr strata push --progress=plain "$REG/ev:1"
	[ "$status" -eq 0 ]
	[ "$(count_lines "$LAYER: Pushed")" -eq 1 ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run --separate-stderr strata pull --progress=plain "$REG/ev:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$REG/ev:1" ]
	[ "$(count_lines "$LAYER: Pull complete")" -eq 1 ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/third
	run --separate-stderr strata pull -q "$REG/ev:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$REG/ev:1" ]
	[ -z "$stderr" ]
}

@test "pull to a pipe: plain lines, as docker pull prints them there" {
	strata tag busybox "$REG/pipe:1"
	strata push -q "$REG/pipe:1" >/dev/null
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run --separate-stderr strata pull "$REG/pipe:1"
	[ "$status" -eq 0 ]
	[ "$(count_lines "$LAYER: Pull complete")" -eq 1 ]
	[[ "$stderr" != *$'\e['* ]]
}

@test "import --progress=plain: the tarball importing, then imported; stdout keeps the id" {
	run --separate-stderr strata import --progress=plain "$(busybox_tar)" imp:1
	[ "$status" -eq 0 ]
	[[ "$output" == sha256:* ]]
	[ "$(count_lines "busybox-rootfs.tar: Importing")" -eq 1 ]
	[ "$(count_lines "busybox-rootfs.tar: Imported")" -eq 1 ]
	run --separate-stderr strata import - imp:2 <"$(busybox_tar)"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "dive --ci and sbom --progress=plain: each layer read once, in place too" {
	run --separate-stderr strata dive --ci --progress=plain busybox
	[ "$status" -eq 0 ]
	[ "$(count_lines "$LAYER: Reading layer")" -eq 1 ]
	[ "$(count_lines "$LAYER: Read complete")" -eq 1 ]
	run --separate-stderr strata sbom --progress=plain -o strata-json "docker-archive:$ARCHIVE"
	[ "$status" -eq 0 ]
	[ "$(count_lines "$LAYER: Read complete")" -eq 1 ]
	[[ "$output" != *"Read complete"* ]]
}

@test "sbom: the document is the same with and without progress, none on a pipe" {
	export SOURCE_DATE_EPOCH=0
	run --separate-stderr strata sbom -o strata-json busybox
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	plain=$output
	run --separate-stderr strata sbom --progress=tty -o strata-json busybox
	[ "$status" -eq 0 ]
	[ "$output" = "$plain" ]
	[[ "$stderr" == *"$LAYER: Read complete"* ]]
}
