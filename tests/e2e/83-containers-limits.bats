#!/usr/bin/env bats
# Containers' limits and privileges: cgroup limits through runc (OOM kill, pids), capabilities,
# no-new-privileges, stop settings, health checks, and a store that stays whole around them.
load helpers
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
}

teardown() {
	local ids
	ids=$(strata ps -q --no-trunc 2>/dev/null || true)
	if [ -n "$ids" ]; then
		# shellcheck disable=SC2086
		strata rm -f $ids >/dev/null 2>&1 || true
	fi
}

@test "run -m: a process over the memory limit is OOM-killed: 137 and State.OOMKilled" {
	run strata run --name hog --network none -m 16m --memory-swap 16m busybox \
		sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived'
	[ "$status" -eq 137 ]
	[[ "$output" != *survived* ]]
	run strata inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}' hog
	[ "$status" -eq 0 ]
	[ "$output" = "true 137 16777216 16777216" ]
	run strata run --name calm --network none -m 64m busybox true
	[ "$status" -eq 0 ]
	run strata inspect -f '{{.State.OOMKilled}} {{.HostConfig.MemorySwap}}' calm
	[ "$output" = "false 134217728" ]
}

@test "run --pids-limit: a fork loop stops at the limit; --cpus and --cpu-shares reach the cgroup" {
	run strata run --rm --network none --pids-limit 8 busybox \
		sh -c 'for i in $(seq 40); do sleep 30 & done; echo forked all'
	[ "$status" -ne 0 ]
	[[ "$output" == *"can't fork"* ]]
	[[ "$output" != *"forked all"* ]]
	run strata run --rm --network none --cpus 0.5 --cpu-shares 512 busybox \
		cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.shares
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "50000" ]
	[ "${lines[1]}" = "512" ]
}

@test "run --cap-drop ALL makes chown fail, --cap-add gives it back; no-new-privileges shows" {
	run strata run --rm --network none --cap-drop ALL busybox chown 1 /tmp
	[ "$status" -eq 1 ]
	[[ "$output" == *"Operation not permitted"* ]]
	run strata run --rm --network none --cap-drop all --cap-add chown busybox chown 1 /tmp
	[ "$status" -eq 0 ]
	run strata run --rm --network none --cap-drop CAP_CHOWN busybox chown 1 /tmp
	[ "$status" -eq 1 ]
	run strata run --rm --network none busybox grep NoNewPrivs /proc/self/status
	[ "$output" = "NoNewPrivs:	0" ]
	run strata run --rm --network none --security-opt no-new-privileges busybox \
		grep NoNewPrivs /proc/self/status
	[ "$output" = "NoNewPrivs:	1" ]
	run strata run --rm --network none --security-opt no-new-privileges=true busybox \
		grep NoNewPrivs /proc/self/status
	[ "$output" = "NoNewPrivs:	1" ]
}

@test "create: inspect's HostConfig and Config show the limits, capabilities and stop settings" {
	run strata create --name ctr --cap-add sys_admin --cap-drop ALL \
		--security-opt no-new-privileges --stop-signal USR1 --stop-timeout 1 \
		--pids-limit 5 --cpus 1.5 --cpu-shares 100 -m 1g busybox sleep 100
	[ "$status" -eq 0 ]
	run strata inspect -f '{{json .HostConfig.CapAdd}} {{json .HostConfig.CapDrop}} {{json .HostConfig.SecurityOpt}}' ctr
	[ "$output" = '["CAP_SYS_ADMIN"] ["ALL"] ["no-new-privileges"]' ]
	run strata inspect -f '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}}' ctr
	[ "$output" = "1073741824 1500000000 100 5" ]
	run strata inspect -f '{{.Config.StopSignal}} {{.Config.StopTimeout}}' ctr
	[ "$output" = "USR1 1" ]
	# pid 1 ignores USR1: --stop-timeout 1 is the wait before SIGKILL, not stop's default 10 s.
	strata start ctr
	run strata stop ctr
	[ "$status" -eq 0 ]
	run strata inspect -f '{{.State.ExitCode}}' ctr
	[ "$output" = "137" ]
}

@test "run: bad limits, capabilities and security options are refused, naming the flag" {
	run strata run -m 1x busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid argument \"1x\" for \"-m, --memory\" flag"* ]]
	run strata run -m 1k busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Minimum memory limit allowed is 6MB"* ]]
	run strata run --memory-swap 1g busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--memory-swap: You should always set the Memory limit"* ]]
	run strata run --cap-add FOO busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'--cap-add FOO: unknown capability: "CAP_FOO"'* ]]
	run strata run --security-opt seccomp=unconfined busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--security-opt seccomp=unconfined: not supported"* ]]
	run strata run --stop-signal NOPE busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--stop-signal: invalid signal: NOPE"* ]]
	run strata ps -aq
	[ -z "$output" ]
}

# Wait (30 s at most) until container $1's health is $2.
wait_health() {
	local i
	for i in $(seq 300); do
		if [ "$(strata inspect -f '{{.State.Health.Status}}' "$1")" = "$2" ]; then return 0; fi
		sleep 0.1
	done
	return 1
}

@test "health: starting, unhealthy after --health-retries failures, then healthy; ps and inspect show it" {
	run strata run -d --name slow --network none --health-cmd true --health-interval 1h \
		busybox sleep 60
	[ "$status" -eq 0 ]
	run strata ps --format '{{.Names}} {{.Status}}'
	[[ "$output" == *"slow Up "*" (health: starting)"* ]]
	run strata run -d --name hc --network none --health-cmd 'echo probed; test -e /tmp/ok' \
		--health-interval 100ms --health-retries 2 busybox sleep 60
	[ "$status" -eq 0 ]
	wait_health hc unhealthy
	run strata ps --format '{{.Names}} {{.Status}}'
	[[ "$output" == *"hc Up "*" (unhealthy)"* ]]
	run strata inspect -f '{{index .State.Health.Log 0 | json}}' hc
	[[ "$output" == *'"ExitCode":1,"Output":"probed\n"'* ]]
	strata exec hc touch /tmp/ok
	wait_health hc healthy
	run strata ps --format '{{.Names}} {{.Status}}'
	[[ "$output" == *"hc Up "*" (healthy)"* ]]
	run strata inspect -f '{{.State.Health.FailingStreak}} {{len .State.Health.Log}}' hc
	[ "$output" = "0 5" ]
}

@test "health: the image's HEALTHCHECK runs, --health-* change it, --no-healthcheck turns it off" {
	printf 'FROM busybox:latest\nHEALTHCHECK --interval=100ms --retries=1 CMD ["false"]\n' \
		>"$BATS_TEST_TMPDIR/Dockerfile"
	strata build -q -t hc:1 "$BATS_TEST_TMPDIR" >/dev/null
	run strata run -d --name img --network none hc:1 sleep 60
	[ "$status" -eq 0 ]
	wait_health img unhealthy
	run strata create --name more --health-retries 4 hc:1 sleep 60
	[ "$status" -eq 0 ]
	run strata inspect -f '{{json .Config.Healthcheck}}' more
	[ "$output" = '{"Test":["CMD","false"],"Interval":100000000,"Retries":4}' ]
	run strata run -d --name off --network none --no-healthcheck hc:1 sleep 60
	[ "$status" -eq 0 ]
	run strata inspect -f '{{json .Config.Healthcheck}} {{json .State.Health}}' off
	[ "$output" = '{"Test":["NONE"]} null' ]
	run strata ps --format '{{.Names}} {{.Status}}'
	# newest first: 'off' is the first line, without a health status
	[[ "${lines[0]}" == "off Up "* ]]
	[[ "${lines[0]}" != *"("* ]]
	run strata create --no-healthcheck --health-retries 2 hc:1 true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--no-healthcheck conflicts with --health-* options"* ]]
	run strata create --health-interval 5x hc:1 true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid argument "5x" for "--health-interval" flag'* ]]
}

@test "rmi -f of a running container's image: untagged and deleted, its layers kept until it stops" {
	# the one image with these layers
	strata import "$(busybox_tar)" bb:1 >/dev/null
	strata rmi busybox:latest >/dev/null
	run strata run -d --name keep --network none bb:1 sleep 60
	[ "$status" -eq 0 ]
	run strata rmi -f bb:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"Untagged: bb:1"* ]]
	run strata exec keep sh -c 'ls /usr/bin | grep -c . && head -1 /etc/passwd'
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "root:x:0:0:root:/root:/bin/sh" ]
	run strata stop -t 0 keep
	[ "$status" -eq 0 ]
	run strata rm keep
	[ "$status" -eq 0 ]
	# nothing holds the layers once it is gone
	run strata system prune -a -f
	[ "$status" -eq 0 ]
	run ls "$STRATA_ROOT/layers"
	[ -z "$output" ]
}

@test "system check: a record without its image or layer, and leftovers of create and rm; --repair removes the leftovers" {
	strata import "$(busybox_tar)" bb:1 >/dev/null
	strata create --name whole busybox true >/dev/null
	run strata system check
	[ "$status" -eq 0 ]
	local ctrs=$STRATA_ROOT/containers half
	half=$(printf 'a%.0s' $(seq 64))
	mkdir -p "$ctrs/$half/upper"
	touch "$ctrs/$half/lock"
	mkdir -p "$ctrs/.removing-$half/upper"
	ln -s "$(printf 'b%.0s' $(seq 64))" "$ctrs/names/ghost"
	run strata system check
	[ "$status" -eq 1 ]
	[[ "$output" == *"containers/$half: left by a create killed half-way"* ]]
	[[ "$output" == *"containers/.removing-$half: left by an rm killed half-way"* ]]
	[[ "$output" == *"containers/names/ghost: names no container"* ]]
	run strata system check --repair
	[ "$status" -eq 0 ]
	[[ "$output" == *"removed 3 leftovers of interrupted container commands"* ]]
	[ ! -e "$ctrs/$half" ]
	[ ! -e "$ctrs/.removing-$half" ]
	[ ! -L "$ctrs/names/ghost" ]
	# system prune removes them too
	mkdir -p "$ctrs/.removing-$half"
	run strata system prune -f
	[ "$status" -eq 0 ]
	[ ! -e "$ctrs/.removing-$half" ]
	strata create --name whole busybox true >/dev/null
	strata create --name orphan bb:1 true >/dev/null
	run strata rmi -f bb:1
	[ "$status" -eq 0 ]
	run strata system check
	[ "$status" -eq 1 ]
	[[ "$output" == *"container orphan ("*"): its image sha256:"*" is not in the store"* ]]
	[[ "$output" != *"container whole"* ]]
	rm -rf "$STRATA_ROOT"/layers/*
	run strata system check
	[ "$status" -eq 1 ]
	[[ "$output" == *"container whole ("*"): layer '$STRATA_ROOT/layers/"*"' is missing"* ]]
}

@test "create and rm killed at random points leave nothing that system check --repair does not remove" {
	local i pid
	for i in 1 2 3 4; do
		strata create --name "c$i" busybox true >/dev/null &
		pid=$!
		sleep "0.0$((RANDOM % 10))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
	done
	for i in 1 2 3; do
		strata create --name "r$i" busybox true >/dev/null
		strata rm "r$i" >/dev/null &
		pid=$!
		sleep "0.0$((RANDOM % 10))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
	done
	run strata system check --repair
	[ "$status" -eq 0 ]
	run strata system check
	[ "$status" -eq 0 ]
	# every directory left is a container ps lists, every name names one
	local d n
	for d in "$STRATA_ROOT"/containers/*; do
		n=$(basename "$d")
		if [ "$n" = names ]; then continue; fi
		[ -f "$d/config.json" ]
	done
	run ls -A "$STRATA_ROOT/containers"
	[[ "$output" != *".removing-"* ]]
	for d in "$STRATA_ROOT"/containers/names/*; do
		[ -e "$d" ] || continue
		[ -f "$d/config.json" ]
	done
}

@test "run --pull missing|always|never and --platform, with a registry on 127.0.0.1" {
	registry_start "$BATS_TEST_TMPDIR/registry"
	strata import "$(busybox_tar)" "$REG/bb:1" >/dev/null
	strata push "$REG/bb:1" >/dev/null
	strata rmi "$REG/bb:1" >/dev/null
	run strata run --rm --network none --pull never "$REG/bb:1" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"No such image: $REG/bb:1"* ]]
	run strata run --rm --network none --pull missing "$REG/bb:1" echo pulled
	[ "$status" -eq 0 ]
	[[ "$output" == *"Unable to find image '$REG/bb:1' locally"* ]]
	[ "${lines[${#lines[@]} - 1]}" = "pulled" ]
	# without --pull, as Docker: missing
	strata rmi "$REG/bb:1" >/dev/null
	run strata run --rm --network none "$REG/bb:1" echo by-default
	[ "$status" -eq 0 ]
	[[ "$output" == *"Unable to find image '$REG/bb:1' locally"* ]]
	[ "${lines[${#lines[@]} - 1]}" = "by-default" ]
	run strata run --rm --network none --pull always "$REG/bb:1" echo again
	[ "$status" -eq 0 ]
	[[ "$output" == *"Image is up to date for $REG/bb:1"* ]]
	registry_stop
	run strata run --rm --network none --pull missing "$REG/bb:1" echo local
	[ "$status" -eq 0 ]
	[ "$output" = "local" ]
	run strata run --rm --network none --platform linux/s390x busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"'busybox' is linux/"*", not linux/s390x"* ]]
	run strata run --pull sometimes busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid pull option: 'sometimes'"* ]]
}
