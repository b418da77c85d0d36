#!/usr/bin/env bats
# Interrupted commands: SIGINT, SIGTERM, SIGPIPE and SIGKILL at any point leave no mount, no
# temporary tree and no secret behind, and whatever a killed process left never stops gc.
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
}

# Start strata in the background with its output in $BATS_TEST_TMPDIR/log; sets PID.
start() {
	"$STRATA_BIN" "$@" >"$BATS_TEST_TMPDIR/log" 2>&1 &
	PID=$!
}

# Wait until the log holds 'text' (a RUN step started), at most 20 s.
wait_for() {
	for _ in $(seq 200); do
		grep -q "$1" "$BATS_TEST_TMPDIR/log" && return 0
		sleep 0.1
	done
	echo "never saw '$1' in:" && cat "$BATS_TEST_TMPDIR/log"
	return 1
}

# Sleep for a random number of tenths of a second in [from, to).
random_delay() {
	local t=$(($1 + RANDOM % ($2 - $1)))
	sleep "$((t / 10)).$((t % 10))"
}

# Mounts of this namespace under the store (none may survive an interrupted command).
store_mounts() {
	grep -F " $(realpath "$STRATA_ROOT")/" /proc/self/mountinfo || true
}

# After any interruption: prune and check succeed, no mount is left, tmp/ ends up empty.
assert_store_clean() {
	run store_mounts
	[ -z "$output" ]
	run strata image prune -a -f
	[ "$status" -eq 0 ]
	run strata builder prune -a -f
	[ "$status" -eq 0 ]
	run strata system check
	[ "$status" -eq 0 ]
	run ls -A -l "$STRATA_ROOT/tmp"
	echo "left in tmp/: $output"
	echo "processes: $(ps -eo pid,ppid,args | grep -E 'strata|runc' | grep -v grep)"
	[ -z "$(ls -A "$STRATA_ROOT/tmp")" ]
}

@test "interrupt: SIGTERM during a RUN stops the container, says canceled and exits 143" {
	printf 'FROM busybox\nRUN echo step-started | tr a-z A-Z && sleep 60\n' >"$CTX/Dockerfile"
	start build --progress=plain -t t:1 "$CTX"
	wait_for STEP-STARTED
	kill -TERM "$PID"
	status=0
	wait "$PID" || status=$?
	[ "$status" -eq 143 ]
	run cat "$BATS_TEST_TMPDIR/log"
	[[ "$output" == *"strata: build: canceled"* ]]
	[ "$(ls -A "$STRATA_ROOT/tmp")" = "" ]
	[ "$(ls -A "$STRATA_ROOT/runtime/runc")" = "" ]
	run store_mounts
	[ -z "$output" ]
	run strata images -q
	[ "${#lines[@]}" -eq 1 ]
}

@test "interrupt: SIGINT during a RUN exits 130 and leaves nothing" {
	printf 'FROM busybox\nRUN echo step-started | tr a-z A-Z && sleep 60\n' >"$CTX/Dockerfile"
	start build --progress=plain -t t:1 "$CTX"
	wait_for STEP-STARTED
	kill -INT "$PID"
	status=0
	wait "$PID" || status=$?
	[ "$status" -eq 130 ]
	[ "$(ls -A "$STRATA_ROOT/tmp")" = "" ]
	run store_mounts
	[ -z "$output" ]
}

@test "interrupt: a build whose output reader goes away stops quietly and leaves nothing" {
	printf 'FROM busybox\nRUN echo step-started | tr a-z A-Z && sleep 2 && echo more\n' >"$CTX/Dockerfile"
	run bash -c "'$STRATA_BIN' build --progress=plain -t t:1 '$CTX' 2>&1 | grep -m 1 STEP-STARTED; echo \"rc=\${PIPESTATUS[0]}\""
	[[ "$output" == *"rc=141"* ]]
	[[ "$output" != *"canceled"* ]]
	assert_store_clean
}

@test "interrupt: export piped to head exits quietly and leaves no copy of the image" {
	run bash -c "'$STRATA_BIN' export busybox | tar -t | head -n 1; echo \"rc=\${PIPESTATUS[0]}\""
	[[ "$output" == *"rc=141"* ]]
	[[ "$output" != *"strata"* ]]
	[ "$(ls -A "$STRATA_ROOT/tmp")" = "" ]
	run store_mounts
	[ -z "$output" ]
	# The export streams from the image's layers: the whole tree is there, whiteouts applied.
	printf 'FROM busybox\nRUN mkdir /gone && echo x >/gone/f\nRUN rm -r /gone && echo x >/new\n' >"$CTX/Dockerfile"
	run strata build -q -t w:1 "$CTX"
	[ "$status" -eq 0 ]
	run bash -c "'$STRATA_BIN' export w:1 | tar -t"
	[ "$status" -eq 0 ]
	[[ "$output" == *"bin/busybox"* ]]
	[[ "$output" == *"new"* ]]
	[[ "$output" != *"gone"* ]]
	[[ "$output" != *".wh."* ]]
}

@test "interrupt: a killed RUN leaves its env= secret nowhere on disk" {
	printf 'FROM busybox\nRUN --mount=type=secret,id=tok,env=TOK echo step-started | tr a-z A-Z && sleep 60\n' >"$CTX/Dockerfile"
	export TOK_SRC=s3cr3t-value-4711
	start build --progress=plain --secret id=tok,env=TOK_SRC -t s:1 "$CTX"
	wait_for STEP-STARTED
	run grep -r -l -a s3cr3t-value-4711 "$STRATA_ROOT"
	[ -z "$output" ]
	kill -KILL "$PID"
	wait "$PID" || true
	run grep -r -l -a s3cr3t-value-4711 "$STRATA_ROOT"
	[ -z "$output" ]
	assert_store_clean
}

# Wait until something appears in directory 'dir' (the temp file of a save), at most ~20 s.
wait_for_entry() {
	for _ in $(seq 5000); do
		if [ -n "$(ls -A "$1")" ]; then return 0; fi
	done
	return 1
}

@test "interrupt: save -o removes its temp file on SIGTERM, and one left by SIGKILL is named after the output" {
	# Big enough that a save takes a while.
	mkdir -p "$BATS_TEST_TMPDIR/big"
	head -c 32M /dev/urandom >"$BATS_TEST_TMPDIR/big/blob"
	strata import "$BATS_TEST_TMPDIR/big" big:1 >/dev/null
	mkdir "$BATS_TEST_TMPDIR/out"
	for _ in 1 2 3; do
		start save -o "$BATS_TEST_TMPDIR/out/img.tar" big:1
		wait_for_entry "$BATS_TEST_TMPDIR/out"
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" || true
		run ls -A "$BATS_TEST_TMPDIR/out"
		[[ -z "$output" || "$output" == "img.tar" ]]
		rm -f "$BATS_TEST_TMPDIR/out/img.tar"
	done
	for _ in 1 2 3; do
		start save -o "$BATS_TEST_TMPDIR/out/img.tar" big:1
		wait_for_entry "$BATS_TEST_TMPDIR/out"
		kill -KILL "$PID" 2>/dev/null || true
		wait "$PID" || true
	done
	run bash -c "ls -A '$BATS_TEST_TMPDIR/out' | grep -v -e '^img\.tar$' -e '^\.img\.tar\.tmp-'"
	[ -z "$output" ]
}

@test "interrupt: SIGKILL or SIGTERM at random points of build, export, save and load; prune and check then succeed" {
	printf 'FROM busybox\nRUN echo step-started | tr a-z A-Z && sleep 0.3 && dd if=/dev/zero of=/big bs=1k count=2048 2>/dev/null\nRUN echo two >/two\n' >"$CTX/Dockerfile"
	strata save -o "$BATS_TEST_TMPDIR/bb.tar" busybox
	for sig in KILL TERM; do
		for i in 1 2 3; do
			start build --no-cache --progress=plain -t k:$i "$CTX"
			random_delay 0 15
			kill -$sig "$PID" 2>/dev/null || true
			wait "$PID" || true

			bash -c "exec '$STRATA_BIN' export busybox >'$BATS_TEST_TMPDIR/fs.tar'" &
			PID=$!
			random_delay 0 3
			kill -$sig "$PID" 2>/dev/null || true
			wait "$PID" || true

			start save -o "$BATS_TEST_TMPDIR/s.tar" busybox
			random_delay 0 3
			kill -$sig "$PID" 2>/dev/null || true
			wait "$PID" || true

			start load -i "$BATS_TEST_TMPDIR/bb.tar"
			random_delay 0 3
			kill -$sig "$PID" 2>/dev/null || true
			wait "$PID" || true

			run store_mounts
			[ -z "$output" ]
		done
	done
	assert_store_clean
	run strata images -q
	[ -z "$output" ]
}

@test "interrupt: gc and system check unmount and remove what a killed process left mounted in tmp/" {
	# What an older strata, or one that could not make a mount namespace, left behind.
	mkdir -p "$STRATA_ROOT/tmp/dir.stale1/s/merged"
	mount -t tmpfs tmpfs "$STRATA_ROOT/tmp/dir.stale1/s/merged"
	echo data >"$STRATA_ROOT/tmp/dir.stale1/s/merged/f"
	run strata image prune -a -f
	[ "$status" -eq 0 ]
	[ ! -e "$STRATA_ROOT/tmp/dir.stale1" ]
	mkdir -p "$STRATA_ROOT/tmp/dir.stale2/s/merged"
	mount -t tmpfs tmpfs "$STRATA_ROOT/tmp/dir.stale2/s/merged"
	mount -t tmpfs tmpfs "$STRATA_ROOT/tmp/dir.stale2/s/merged"
	run strata system check
	[ "$status" -eq 0 ]
	[[ "$output" == *"removed 1 leftover of interrupted commands"* ]]
	[[ "$output" == *"2 stale mounts"* ]]
	[ -z "$(ls -A "$STRATA_ROOT/tmp")" ]
	run store_mounts
	[ -z "$output" ]
}

@test "interrupt: the next build says a step killed mid-run did not finish, not that it was pruned" {
	# The delay comes through a secret, which is not part of the step's key.
	printf 'FROM busybox\nRUN --mount=type=secret,id=delay echo step-started | tr a-z A-Z && sleep $(cat /run/secrets/delay)\n' >"$CTX/Dockerfile"
	echo 60 >"$BATS_TEST_TMPDIR/long"
	echo 0 >"$BATS_TEST_TMPDIR/short"
	start build --progress=plain --secret "id=delay,src=$BATS_TEST_TMPDIR/long" -t t:1 "$CTX"
	wait_for STEP-STARTED
	kill -KILL "$PID"
	wait "$PID" || true
	run strata build --progress=plain --secret "id=delay,src=$BATS_TEST_TMPDIR/short" -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"the previous attempt at this step did not finish (interrupted)"* ]]
	[[ "$output" != *"pruned"* ]]
	assert_store_clean
}
