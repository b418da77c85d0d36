# A registry or a network that fails: dropped connections, 503s, garbage, huge manifests and a
# registry that dies mid-push end in a retry or a clear error, never in a corrupt store.
load helpers

setup_file() {
	registry_setup_file
}

teardown_file() {
	registry_stop
}

setup() {
	registry_test_setup
}

teardown() {
	proxy_stop
}

# An image with a 4 MiB layer of random bytes (it does not compress), pushed as $REG/NAME.
push_big() {
	mkdir -p "$BATS_TEST_TMPDIR/big"
	head -c 4M /dev/urandom >"$BATS_TEST_TMPDIR/big/blob"
	strata import "$BATS_TEST_TMPDIR/big" "$REG/$1" >/dev/null
	strata push -q "$REG/$1" >/dev/null
}

# After a failure: the store is whole, and nothing is left in tmp/.
store_is_clean() {
	run strata system check
	[ "$status" -eq 0 ]
	[ -z "$(ls -A "$STRATA_ROOT/tmp")" ]
}

@test "registry faults: a blob whose connection drops half-way is resumed with a Range request" {
	push_big faults/drop:1
	id=$(strata inspect --format '{{.Id}}' "$REG/faults/drop:1")
	proxy_start drop-blob-once
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull "$PROXY/faults/drop:1"
	[ "$status" -eq 0 ]
	[ "$(strata inspect --format '{{.Id}}' "$PROXY/faults/drop:1")" = "$id" ]
	run grep -c ' dropped$' "$PROXY_LOG"
	[ "$output" -ge 1 ]
	run grep -c '/blobs/sha256:.* 206$' "$PROXY_LOG"
	[ "$output" -ge 1 ]
	store_is_clean
}

@test "registry faults: 503 answers are retried, for pull and for push" {
	proxy_start flaky
	strata tag busybox "$PROXY/faults/flaky:1"
	run strata push "$PROXY/faults/flaky:1"
	[ "$status" -eq 0 ]
	run grep -c ' 503$' "$PROXY_LOG"
	[ "$output" -ge 2 ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull "$PROXY/faults/flaky:1"
	[ "$status" -eq 0 ]
	store_is_clean
}

@test "registry faults: a registry that answers garbage is refused clearly and nothing is recorded" {
	strata tag busybox "$REG/faults/garbage:1"
	strata push -q "$REG/faults/garbage:1"
	proxy_start garbage
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull "$PROXY/faults/garbage:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"faults/garbage"* ]]
	run strata images -q
	[ -z "$output" ]
	run strata manifest inspect "$PROXY/faults/garbage:1"
	[ "$status" -ne 0 ]
	store_is_clean
}

@test "registry faults: a manifest larger than the limit is refused, not read into memory" {
	strata tag busybox "$REG/faults/huge:1"
	strata push -q "$REG/faults/huge:1"
	proxy_start huge-manifest
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull "$PROXY/faults/huge:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"manifest is larger than"* ]]
	run strata images -q
	[ -z "$output" ]
	store_is_clean
}

@test "registry faults: a registry that dies mid-push fails the push clearly; the next push completes" {
	mkdir -p "$BATS_TEST_TMPDIR/big"
	head -c 8M /dev/urandom >"$BATS_TEST_TMPDIR/big/blob"
	strata import "$BATS_TEST_TMPDIR/big" big:1 >/dev/null
	proxy_start die-mid-upload
	strata tag big:1 "$PROXY/faults/died:1"
	run strata push "$PROXY/faults/died:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$PROXY"* ]]
	run grep -c ' died$' "$PROXY_LOG"
	[ "$output" -eq 1 ]
	store_is_clean
	# The registry itself is fine: the same push, straight to it, completes.
	strata tag big:1 "$REG/faults/died:1"
	run strata push "$REG/faults/died:1"
	[ "$status" -eq 0 ]
	run skopeo inspect --tls-verify=false "docker://$REG/faults/died:1"
	[ "$status" -eq 0 ]
}
