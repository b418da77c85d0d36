# Common set-up for the end-to-end tests: a fresh store per test, the binary under test on PATH.
: "${STRATA_BIN:=$BATS_TEST_DIRNAME/../../build/cli/strata}"
strata() { "$STRATA_BIN" "$@"; }

common_setup() {
	export STRATA_ROOT="$BATS_TEST_TMPDIR/root"
}

# A busybox rootfs tarball (from Debian's busybox-static), made once per run and cached.
busybox_tar() {
	local cache=${STRATA_TEST_CACHE:-/tmp/strata-test-cache}
	local tar=$cache/busybox-rootfs.tar
	if [ ! -f "$tar" ]; then
		mkdir -p "$cache"
		WORK=$cache/work bash "$BATS_TEST_DIRNAME/../../scripts/make-busybox-rootfs.sh" "$tar" >/dev/null
	fi
	echo "$tar"
}
