load helpers
setup() { common_setup; }

# Start a strata command, SIGKILL it after a delay, then ask the store whether it is consistent.
kill_after() {
	local delay=$1; shift
	"$STRATA_BIN" "$@" >/dev/null 2>&1 &
	local pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

@test "crash: SIGKILL during import, save, load and prune leaves a consistent store" {
	tar=$(busybox_tar)
	# a bigger rootfs so the commands run long enough to be interrupted
	mkdir -p "$BATS_TEST_TMPDIR/fs"
	tar -C "$BATS_TEST_TMPDIR/fs" -xf "$tar"
	head -c 64000000 /dev/urandom >"$BATS_TEST_TMPDIR/fs/big.bin"
	tar -C "$BATS_TEST_TMPDIR/fs" -cf "$BATS_TEST_TMPDIR/big.tar" .
	strata import "$tar" base:1 >/dev/null
	for d in 0.01 0.05 0.1 0.2 0.4; do
		kill_after "$d" import "$BATS_TEST_TMPDIR/big.tar" "big:$d"
		run strata system check
		[ "$status" -eq 0 ] || { echo "after import killed at $d s: $output"; false; }
	done
	strata import "$BATS_TEST_TMPDIR/big.tar" big:ok >/dev/null
	for d in 0.01 0.05 0.1 0.3; do
		kill_after "$d" save -o "$BATS_TEST_TMPDIR/s.tar" big:ok
		run strata system check
		[ "$status" -eq 0 ] || { echo "after save killed at $d s: $output"; false; }
	done
	strata save -o "$BATS_TEST_TMPDIR/s.tar" big:ok
	for d in 0.01 0.05 0.1 0.3; do
		STRATA_ROOT="$BATS_TEST_TMPDIR/r2" kill_after "$d" load -i "$BATS_TEST_TMPDIR/s.tar"
		STRATA_ROOT="$BATS_TEST_TMPDIR/r2" run "$STRATA_BIN" system check
		[ "$status" -eq 0 ] || { echo "after load killed at $d s: $output"; false; }
	done
	strata rmi big:ok >/dev/null
	kill_after 0.02 image prune -a -f
	run strata system check
	[ "$status" -eq 0 ]
	# after all that, the store still works
	run strata import "$tar" again:1
	[ "$status" -eq 0 ]
	run strata system check
	[ "$status" -eq 0 ]
	[[ "$output" == *consistent* ]]
}
