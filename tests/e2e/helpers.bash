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

# A free TCP port on 127.0.0.1 (the kernel picks it; nobody listens on it afterwards).
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start the CNCF distribution registry on 127.0.0.1 with its storage under DIR; an optional
# htpasswd file turns on Basic authentication, an optional "REALM CERT" (third argument) Bearer
# tokens. Sets REG (host:port) and REG_PID.
registry_start() {
	local dir=$1 htpasswd=${2:-} token=${3:-}
	mkdir -p "$dir/data"
	local port
	port=$(free_port)
	{
		printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n' "$dir/data"
		printf '  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:%s\n' "$port"
		if [ -n "$htpasswd" ]; then
			printf 'auth:\n  htpasswd:\n    realm: strata-test\n    path: %s\n' "$htpasswd"
		elif [ -n "$token" ]; then
			# token="REALM CERT": Bearer tokens from REALM, signed by the key of CERT.
			printf 'auth:\n  token:\n    realm: %s\n    service: strata-test-registry\n' "${token%% *}"
			printf '    issuer: strata-test\n    rootcertbundle: %s\n' "${token#* }"
		fi
	} >"$dir/config.yml"
	# The registry reads REGISTRY_* variables as configuration: REGISTRY_AUTH_FILE is not its.
	env -u REGISTRY_AUTH_FILE docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 3>&- &
	REG_PID=$!
	REG=127.0.0.1:$port
	local i
	for i in $(seq 100); do
		curl -s -o /dev/null "http://$REG/v2/" && return 0
		sleep 0.1
	done
	echo "registry did not start: $(cat "$dir/log")" >&2
	return 1
}

# setup_file for the files that share one registry: started once, REG exported to every test.
registry_setup_file() {
	export REG_DIR=$BATS_FILE_TMPDIR/registry
	registry_start "$REG_DIR"
	export REG REG_PID
}

# setup for a test against the file's registry: a store of its own, credentials of its own, and
# busybox:latest imported.
registry_test_setup() {
	common_setup
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
	strata import "$(busybox_tar)" busybox:latest >/dev/null
}

registry_stop() {
	if [ -n "${REG_PID:-}" ]; then
		kill "$REG_PID" 2>/dev/null || true
		wait "$REG_PID" 2>/dev/null || true
	fi
}

# The misbehaving proxy of fixtures/registry-proxy.py in front of the registry $REG, in MODE;
# sets PROXY (host:port), PROXY_PID and PROXY_LOG (a line per request it served).
proxy_start() {
	local portfile=$BATS_TEST_TMPDIR/proxy.port
	rm -f "$portfile" "$portfile.log"
	python3 "$BATS_TEST_DIRNAME/fixtures/registry-proxy.py" "$REG" "$1" "$portfile" 3>&- &
	PROXY_PID=$!
	for _ in $(seq 100); do
		if [ -s "$portfile" ]; then break; fi
		sleep 0.1
	done
	PROXY=127.0.0.1:$(cat "$portfile")
	PROXY_LOG=$portfile.log
}

proxy_stop() {
	if [ -n "${PROXY_PID:-}" ]; then
		kill "$PROXY_PID" 2>/dev/null || true
		wait "$PROXY_PID" 2>/dev/null || true
	fi
}

# A bcrypt htpasswd line for USER PASSWORD, as the registry wants it.
htpasswd_line() {
	/usr/bin/python3 -W ignore -c 'import crypt, sys; print(sys.argv[1] + ":" + crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH)))' "$1" "$2"
}

# Wait up to 10 s for every process of the PIDS (a space-separated list) to be gone; prints the
# ones still alive ("" when none).
wait_gone() {
	local alive c
	for _ in $(seq 100); do
		alive=""
		for c in $1; do
			if kill -0 "$c" 2>/dev/null; then alive="$alive $c"; fi
		done
		if [ -z "$alive" ]; then break; fi
		sleep 0.1
	done
	echo "$alive"
}
