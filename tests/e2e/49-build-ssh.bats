#!/usr/bin/env bats
# strata build --ssh and RUN --mount=type=ssh: a real ssh-agent reached from a step, its keys
# never in the image, the cache or the store.
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX/tools"
	# ssh-add and the libraries it needs, for the step to list the agent's keys with
	local f
	for f in /usr/bin/ssh-add $(ldd /usr/bin/ssh-add | grep -o '/[^ ]*'); do
		cp --parents -L "$f" "$CTX/tools/"
	done
	KEY=$BATS_TEST_TMPDIR/id_test
	ssh-keygen -q -t ed25519 -N '' -C strata-test-key -f "$KEY"
	FP=$(ssh-keygen -l -f "$KEY.pub" | awk '{print $2}')
}

teardown() {
	if [ -n "${AGENT_PID:-}" ]; then kill "$AGENT_PID" 2>/dev/null || true; fi
}

# The content of FILE in IMAGE, and the list of its files.
image_file() {
	strata export "$1" | tar xO "$2"
}

image_list() {
	strata export "$1" | tar t
}

# A real ssh-agent holding $KEY, its socket in $SOCK.
agent_start() {
	SOCK=$BATS_TEST_TMPDIR/agent.sock
	eval "$(ssh-agent -a "$SOCK")" >/dev/null
	AGENT_PID=$SSH_AGENT_PID
	SSH_AUTH_SOCK=$SOCK ssh-add -q "$KEY"
}

# Whether the private key's base64 body or its file appear anywhere in the store.
key_in_store() {
	local body
	body=$(sed -n 2p "$KEY")
	grep -r -a -l -F -e "$body" "$STRATA_ROOT"
}

@test "ssh: --ssh default forwards the agent: ssh-add -l in RUN lists its key" {
	agent_start
	printf 'FROM busybox\nCOPY tools/ /\nRUN --mount=type=ssh ssh-add -l > /keys; echo "$SSH_AUTH_SOCK" > /sock; ls -ln /run/buildkit/ssh_agent.0 > /perm\n' >"$CTX/Dockerfile"
	SSH_AUTH_SOCK=$SOCK run strata build --progress=plain --ssh default -t s:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file s:1 keys
	[[ "$output" == *"$FP strata-test-key (ED25519)"* ]]
	run image_file s:1 sock
	[ "$output" = "/run/buildkit/ssh_agent.0" ]
	run image_file s:1 perm
	[[ "$output" == "srw-------"*" 0 "*" 0 "* ]]
	# the socket is not in the layer, and the user's socket kept its own mode
	run image_list s:1
	[[ "$output" != *"run/buildkit"* ]]
	[ "$(stat -c %a "$SOCK")" = "600" ]
	run key_in_store
	[ "$status" -eq 1 ]
}

@test "ssh: --ssh ID=KEYFILE runs an agent for the build, with target, mode and uid as asked" {
	printf 'FROM busybox\nCOPY tools/ /\nRUN --mount=type=ssh,id=deploy,target=/tmp/agent,mode=0660,uid=1000 ls -ln /tmp/agent > /perm; SSH_AUTH_SOCK=/tmp/agent ssh-add -l > /keys\n' >"$CTX/Dockerfile"
	run strata build --progress=plain --ssh "deploy=$KEY" -t s:2 "$CTX"
	[ "$status" -eq 0 ]
	run image_file s:2 keys
	[[ "$output" == *"$FP strata-test-key (ED25519)"* ]]
	run image_file s:2 perm
	[[ "$output" == "srw-rw----"*" 1000 "*" 0 "* ]]
	run key_in_store
	[ "$status" -eq 1 ]
	run strata history --no-trunc s:2
	[[ "$output" != *"$KEY"* ]]
	# the agent strata started is gone with the build (told to stop as the build ends)
	for _ in $(seq 50); do
		pgrep -f "ssh-agent -a .*strata-ssh-" >/dev/null || break
		sleep 0.1
	done
	run pgrep -f "ssh-agent -a .*strata-ssh-"
	[ "$status" -eq 1 ]
}

@test "ssh: the cache keys the mount, not the agent or its keys" {
	agent_start
	printf 'FROM busybox\nRUN --mount=type=ssh echo ran\n' >"$CTX/Dockerfile"
	run strata build --progress=plain --ssh "default=$SOCK" "$CTX"
	[ "$status" -eq 0 ]
	run strata build --progress=plain --ssh "default=$KEY" "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 CACHED"* ]]
}

@test "ssh: a missing socket, a required agent not given and no SSH_AUTH_SOCK are errors naming them" {
	printf 'FROM busybox\nRUN --mount=type=ssh,id=git,required=true true\n' >"$CTX/Dockerfile"
	run strata build --ssh "git=$BATS_TEST_TMPDIR/nothing.sock" "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--ssh git=$BATS_TEST_TMPDIR/nothing.sock: No such file or directory"* ]]
	run strata build "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"ssh agent 'git' is required but was not provided (strata build --ssh git=SOCKET|KEYFILE)"* ]]
	ssh-keygen -q -t ed25519 -N 'a passphrase' -f "$BATS_TEST_TMPDIR/locked"
	run strata build --ssh "git=$BATS_TEST_TMPDIR/locked" "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"ssh-add could not load '$BATS_TEST_TMPDIR/locked': the key has a passphrase, and a build cannot ask for it"* ]]
	run env -u SSH_AUTH_SOCK "$STRATA_BIN" build --ssh default "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--ssh default: SSH_AUTH_SOCK is not set"* ]]
	# optional and not given: the step runs without it
	printf 'FROM busybox\nRUN --mount=type=ssh test ! -e /run/buildkit/ssh_agent.0\n' >"$CTX/Dockerfile"
	run strata build "$CTX"
	[ "$status" -eq 0 ]
}

@test "ssh: a killed build leaves no ssh-agent of its own, no relay and no agent directory" {
	printf 'FROM busybox\nRUN --mount=type=ssh echo step-started | tr a-z A-Z && sleep 60\n' >"$CTX/Dockerfile"
	"$STRATA_BIN" build --progress=plain --network none --ssh "default=$KEY" "$CTX" >"$BATS_TEST_TMPDIR/log" 2>&1 3>&- &
	pid=$!
	for _ in $(seq 200); do
		grep -q STEP-STARTED "$BATS_TEST_TMPDIR/log" && break
		sleep 0.1
	done
	run grep -q STEP-STARTED "$BATS_TEST_TMPDIR/log"
	[ "$status" -eq 0 ]
	agent=$(pgrep -f "ssh-agent -a .*/strata-ssh-")
	[ -n "$agent" ]
	dir=$(dirname "$(ps -o args= -p "$agent" | awk '{print $3}')")
	[ -d "$dir" ]
	children="$(pgrep -P "$pid" | tr '\n' ' ') $agent"
	kill -KILL "$pid"
	wait "$pid" || true
	alive=$(wait_gone "$children")
	echo "still alive:$alive"
	if [ -n "$alive" ]; then ps -o pid,ppid,args -p "${alive# }"; fi
	[ -z "$alive" ]
	[ ! -e "$dir" ]
}
