#!/usr/bin/env bats
# strata build: the network of RUN steps (Docker's default bridge through slirp4netns, none,
# host), --add-host, and what a killed build leaves of it.
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
	WWW=$BATS_TEST_TMPDIR/www
	mkdir -p "$WWW"
	echo served-by-the-test >"$WWW/marker"
	# The host's own address, which a step reaches through its gateway.
	HOST_IP=$(hostname -I | tr ' ' '\n' | grep -m1 -F .)
}

teardown() {
	if [ -n "${SRV_PID:-}" ]; then
		kill "$SRV_PID" 2>/dev/null || true
		wait "$SRV_PID" 2>/dev/null || true
	fi
}

# Serve $WWW over HTTP on ADDRESS (0.0.0.0 or 127.0.0.1) and a free port; sets PORT, SRV_PID.
serve() {
	PORT=$(free_port)
	python3 -m http.server "$PORT" --bind "$1" --directory "$WWW" >/dev/null 2>&1 3>&- &
	SRV_PID=$!
	local i
	for i in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$PORT/marker" && return 0
		sleep 0.1
	done
	echo "the test's HTTP server did not start" >&2
	return 1
}

# The content of FILE in IMAGE.
image_file() {
	strata export "$1" | tar xO "$2"
}

@test "network: by default a step reaches a server on the host's address through its gateway" {
	serve 0.0.0.0
	printf 'FROM busybox\nRUN wget -q -O /got http://%s:%s/marker && ip route > /route\n' \
		"$HOST_IP" "$PORT" >"$CTX/Dockerfile"
	run strata build --progress=plain -t n:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file n:1 got
	[ "$output" = "served-by-the-test" ]
	run image_file n:1 route
	[[ "$output" == *"default via 10.0.2.2"* ]]
}

@test "network: a step has its own loopback and cannot reach the host's" {
	serve 127.0.0.1
	# The gateway is the host's side: it must not lead to the host's loopback.
	printf 'FROM busybox\nRUN ! wget -q -O- http://10.0.2.2:%s/marker\nRUN ! wget -q -O- http://127.0.0.1:%s/marker\nRUN ip addr show lo > /lo\n' \
		"$PORT" "$PORT" >"$CTX/Dockerfile"
	run strata build --progress=plain -t n:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"served-by-the-test"* ]]
	[[ "$output" == *"can't connect to remote host (10.0.2.2): Network is unreachable"* ]]
	[[ "$output" == *"can't connect to remote host (127.0.0.1): Connection refused"* ]]
	run image_file n:1 lo
	[[ "$output" == *"inet 127.0.0.1/8"* ]]
	[[ "$output" == *"UP"* ]]
}

@test "network: --network host and RUN --network=host see the host's loopback server" {
	serve 127.0.0.1
	printf 'FROM busybox\nRUN wget -q -O /got http://127.0.0.1:%s/marker\n' "$PORT" >"$CTX/Dockerfile"
	run strata build --progress=plain --network host -t n:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file n:1 got
	[ "$output" = "served-by-the-test" ]
	printf 'FROM busybox\nRUN --network=host wget -q -O /got http://127.0.0.1:%s/marker\n' "$PORT" >"$CTX/Dockerfile"
	run strata build --progress=plain -t n:2 "$CTX"
	[ "$status" -eq 0 ]
	run image_file n:2 got
	[ "$output" = "served-by-the-test" ]
	printf 'FROM busybox\nRUN --network=default wget -q -O /got http://127.0.0.1:%s/marker\n' "$PORT" >"$CTX/Dockerfile"
	run strata build --progress=plain --network host -t n:3 "$CTX"
	[ "$status" -eq 0 ]
	run image_file n:3 got
	[ "$output" = "served-by-the-test" ]
}

@test "network: --network none and RUN --network=none have no route and only lo" {
	serve 0.0.0.0
	printf 'FROM busybox\nRUN ip route > /route; ls /sys/class/net > /nets; ! wget -q -O- http://%s:%s/marker\n' \
		"$HOST_IP" "$PORT" >"$CTX/Dockerfile"
	run strata build --progress=plain --network none -t n:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file n:1 route
	[ -z "$output" ]
	run image_file n:1 nets
	[ "$output" = "lo" ]
	printf 'FROM busybox\nRUN --network=none ip route > /route; ! wget -q -O- http://%s:%s/marker\n' \
		"$HOST_IP" "$PORT" >"$CTX/Dockerfile"
	run strata build --progress=plain -t n:2 "$CTX"
	[ "$status" -eq 0 ]
	run image_file n:2 route
	[ -z "$output" ]
}

@test "network: resolv.conf names slirp4netns's DNS forwarder, and the host's under --network host" {
	printf 'FROM busybox\nRUN cat /etc/resolv.conf > /resolv\n' >"$CTX/Dockerfile"
	run strata build --progress=plain -t n:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file n:1 resolv
	[[ "$output" == *"nameserver 10.0.2.3"* ]]
	run grep -c nameserver <<<"$output"
	[ "$output" = "1" ]
	run strata build --progress=plain --network host -t n:2 "$CTX"
	[ "$status" -eq 0 ]
	run image_file n:2 resolv
	[ "$output" = "$(cat /etc/resolv.conf)" ]
	# bound from outside the rootfs: the step's layer has no /etc/resolv.conf of its own
	run image_file n:1 etc/resolv.conf
	[ "$status" -ne 0 ]
	[[ "$output" == *"Not found in archive"* ]]
}

@test "network: --add-host entries are in /etc/hosts, host-gateway as the host's address" {
	serve 0.0.0.0
	printf 'FROM busybox\nRUN cat /etc/hosts > /hosts && wget -q -O /got http://gw.test:%s/marker\n' "$PORT" >"$CTX/Dockerfile"
	run strata build --progress=plain --add-host db.test:10.1.2.3 --add-host v6.test=[fd00::1] \
		--add-host gw.test:host-gateway -t n:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file n:1 hosts
	[[ "$output" == *"127.0.0.1	localhost strata"* ]]
	[[ "$output" == *"10.1.2.3	db.test"* ]]
	[[ "$output" == *"fd00::1	v6.test"* ]]
	[[ "$output" == *"$HOST_IP	gw.test"* ]]
	run image_file n:1 got
	[ "$output" = "served-by-the-test" ]
}

@test "network: a bad --network or --add-host is refused before any work" {
	printf 'FROM busybox\nRUN true\n' >"$CTX/Dockerfile"
	run strata build --network bridge "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid --network 'bridge': use default, none or host"* ]]
	run strata build --add-host nocolon "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid --add-host 'nocolon': expected HOST:IP"* ]]
	run strata build --add-host db:not-an-ip "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid --add-host 'db:not-an-ip': 'not-an-ip' is not an IP address or host-gateway"* ]]
	printf 'FROM busybox\nRUN --network=bridge true\n' >"$CTX/Dockerfile"
	run strata build "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"RUN --network=bridge: unknown network mode: use default, none or host"* ]]
}

@test "network: the cache keys the mode as the step gets it and --add-host names, not addresses" {
	printf 'FROM busybox\nRUN echo hi\n' >"$CTX/Dockerfile"
	run strata build --progress=plain "$CTX"
	[ "$status" -eq 0 ]
	run strata build --progress=plain --network none "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 cache miss: network changed from default to none"* ]]
	run strata build --progress=plain --add-host db:10.0.0.1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 cache miss"* ]]
	run strata build --progress=plain --add-host db:10.0.0.2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 CACHED"* ]]
	# RUN --network=default is the build's mode: with the build's default, the same key
	printf 'FROM busybox\nRUN --network=default echo hi\n' >"$CTX/Dockerfile"
	run strata build --progress=plain --network none "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 CACHED"* ]]
}

@test "network: a killed build leaves no slirp4netns, no namespace holder and no mount" {
	printf 'FROM busybox\nRUN echo step-started | tr a-z A-Z && sleep 60\n' >"$CTX/Dockerfile"
	"$STRATA_BIN" build --progress=plain "$CTX" >"$BATS_TEST_TMPDIR/log" 2>&1 3>&- &
	pid=$!
	for _ in $(seq 200); do
		grep -q STEP-STARTED "$BATS_TEST_TMPDIR/log" && break
		sleep 0.1
	done
	run grep -q STEP-STARTED "$BATS_TEST_TMPDIR/log"
	[ "$status" -eq 0 ]
	children=$(pgrep -P "$pid" | tr '\n' ' ')
	run pgrep -P "$pid" -x slirp4netns
	[ "$status" -eq 0 ]
	kill -KILL "$pid"
	wait "$pid" || true
	alive=$(wait_gone "$children")
	echo "still alive:$alive"
	[ -z "$alive" ]
	run grep -F " $(realpath "$STRATA_ROOT")/" /proc/self/mountinfo
	[ "$status" -ne 0 ]
}
