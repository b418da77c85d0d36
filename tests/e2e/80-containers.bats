#!/usr/bin/env bats
# strata run, create, start, ps, logs, stop, kill, rm, exec, diff, commit, export of containers:
# real containers through runc, Docker's flags, messages and exit codes.
load helpers
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
}

teardown() {
	# Whatever a failed test left running goes with its store.
	local ids
	ids=$(strata ps -q --no-trunc 2>/dev/null || true)
	if [ -n "$ids" ]; then
		# shellcheck disable=SC2086
		strata rm -f $ids >/dev/null 2>&1 || true
	fi
}

# An image with ENTRYPOINT and CMD, as the lessons make one.
ep_image() {
	strata import --change 'ENTRYPOINT ["echo", "ep"]' --change 'CMD ["default"]' \
		"$(busybox_tar)" ep:1 >/dev/null
}

@test "run: ENTRYPOINT runs with CMD as its default arguments" {
	ep_image
	run strata run --rm ep:1
	[ "$status" -eq 0 ]
	[ "$output" = "ep default" ]
}

@test "run: [COMMAND] replaces CMD and keeps ENTRYPOINT" {
	ep_image
	run strata run --network none --rm ep:1 other args
	[ "$status" -eq 0 ]
	[ "$output" = "ep other args" ]
}

@test "run: --entrypoint replaces ENTRYPOINT and drops the image's CMD" {
	ep_image
	run strata run --network none --rm --entrypoint echo ep:1
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	run strata run --network none --rm --entrypoint echo ep:1 given
	[ "$status" -eq 0 ]
	[ "$output" = "given" ]
}

@test "run: -e, --env-file, -w, -u and the image's ENV as Docker applies them" {
	strata import --change 'ENV A=image B=image' --change 'WORKDIR /tmp' \
		"$(busybox_tar)" env:1 >/dev/null
	printf '# a comment\nB=file\n\nC=file\n' >"$BATS_TEST_TMPDIR/env"
	run strata run --network none --rm -e A=flag --env-file "$BATS_TEST_TMPDIR/env" env:1 \
		sh -c 'echo "$A $B $C $(pwd) $(id -u)"'
	[ "$status" -eq 0 ]
	[ "$output" = "flag file file /tmp 0" ]
	run strata run --network none --rm -w /etc -u 65534 busybox sh -c 'echo "$(pwd) $(id -u)"'
	[ "$status" -eq 0 ]
	[ "$output" = "/etc 65534" ]
}

@test "run: a bad --env-file line names the file and the line" {
	printf 'GOOD=1\nBAD KEY=2\n' >"$BATS_TEST_TMPDIR/env"
	run strata run --network none --rm --env-file "$BATS_TEST_TMPDIR/env" busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"env:2: variable 'BAD KEY' contains whitespaces"* ]]
}

@test "run: the exit code is the process's; 125, 126 and 127 as Docker" {
	run strata run --network none --rm busybox sh -c 'exit 3'
	[ "$status" -eq 3 ]
	run -127 strata run --network none --rm busybox nosuchcommand
	[[ "$output" == *'exec: "nosuchcommand": executable file not found in $PATH'* ]]
	run -126 strata run --network none --rm busybox /etc/passwd
	[[ "$output" == *'exec: "/etc/passwd": permission denied'* ]]
	run strata run --pull never --network none --rm nosuchimage true
	[ "$status" -eq 125 ]
	[[ "$output" == *"strata: run: No such image: nosuchimage"* ]]
	run strata run --rm --network bogus busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--network bogus"* ]]
}

@test "run: --rm removes the container, without it ps -a lists it exited" {
	run strata run --network none --rm busybox true
	[ "$status" -eq 0 ]
	run strata ps -a -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run strata run --network none --name kept busybox sh -c 'exit 4'
	[ "$status" -eq 4 ]
	run strata ps -a --format '{{.Names}} {{.Status}}'
	[ "$status" -eq 0 ]
	[[ "$output" == "kept Exited (4) "* ]]
	run strata inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.Name}}' kept
	[ "$status" -eq 0 ]
	[ "$output" = "exited 4 /kept" ]
}

@test "run: a name in use is refused with Docker's message" {
	strata create --name twice busybox true >/dev/null
	run strata create --name twice busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'Conflict. The container name "/twice" is already in use by container'* ]]
}

@test "run: -v binds a host dir (read-only with :ro), -i passes stdin" {
	mkdir "$BATS_TEST_TMPDIR/vol"
	echo from-host >"$BATS_TEST_TMPDIR/vol/in"
	run strata run --network none --rm -v "$BATS_TEST_TMPDIR/vol:/data" busybox sh -c 'cat /data/in; echo back > /data/out'
	[ "$status" -eq 0 ]
	[ "$output" = "from-host" ]
	[ "$(cat "$BATS_TEST_TMPDIR/vol/out")" = "back" ]
	run strata run --network none --rm -v "$BATS_TEST_TMPDIR/vol:/data:ro" busybox touch /data/x
	[ "$status" -ne 0 ]
	[ ! -e "$BATS_TEST_TMPDIR/vol/x" ]
	run strata run --network none --rm -i busybox cat <<<"through stdin"
	[ "$status" -eq 0 ]
	[ "$output" = "through stdin" ]
}

@test "run: --read-only, --tmpfs, --hostname, --add-host and --network none" {
	run strata run --rm --read-only busybox touch /x
	[ "$status" -ne 0 ]
	run strata run --rm --read-only --tmpfs /scratch busybox sh -c 'touch /scratch/x && echo ok'
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
	run strata run --rm --hostname box --add-host db:10.1.2.3 busybox sh -c 'hostname; grep db /etc/hosts'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "box" ]
	[[ "${lines[1]}" == "10.1.2.3"*"db" ]]
	run strata run --rm --network none busybox ip -o link
	[ "$status" -eq 0 ]
	[[ "$output" == *"lo"* ]]
	[[ "$output" != *"tap0"* ]]
}

@test "diff: a lower file changed in a container is C, the image keeps it" {
	run strata run --network none --name cow busybox sh -c 'echo changed >> /etc/passwd; rm /linuxrc; mkdir /new; touch /new/f'
	[ "$status" -eq 0 ]
	run strata diff cow
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'C /etc\nC /etc/passwd\nD /linuxrc\nA /new\nA /new/f')" ]
	run sh -c "'$STRATA_BIN' export busybox | tar xO etc/passwd"
	[ "$status" -eq 0 ]
	[[ "$output" != *changed* ]]
	run strata run --network none --rm busybox tail -1 /etc/passwd
	[[ "$output" != *changed* ]]
}

@test "commit: the writable layer becomes an image that runs with the change" {
	strata run --network none --name src busybox sh -c 'echo committed > /note; rm /linuxrc' >/dev/null
	run strata commit -c 'CMD ["cat", "/note"]' -m "a note" -a "someone" src note:1
	[ "$status" -eq 0 ]
	[[ "$output" == sha256:* ]]
	run strata run --network none --rm note:1
	[ "$status" -eq 0 ]
	[ "$output" = "committed" ]
	run strata run --network none --rm note:1 ls /linuxrc
	[ "$status" -ne 0 ]
	run strata inspect -f '{{len .RootFS.Layers}} {{.Comment}} {{.Author}}' note:1
	[ "$status" -eq 0 ]
	[ "$output" = "2 a note someone" ]
}

@test "export: export CONTAINER | import gives one layer with the same files" {
	strata create --name flat busybox true >/dev/null
	run sh -c "'$STRATA_BIN' export flat > '$BATS_TEST_TMPDIR/flat.tar'"
	[ "$status" -eq 0 ]
	run strata import "$BATS_TEST_TMPDIR/flat.tar" flat:1
	[ "$status" -eq 0 ]
	run strata inspect -f '{{len .RootFS.Layers}}' flat:1
	[ "$output" = "1" ]
	tar tf "$BATS_TEST_TMPDIR/flat.tar" | sort >"$BATS_TEST_TMPDIR/a"
	"$STRATA_BIN" export flat:1 | tar t | sort >"$BATS_TEST_TMPDIR/b"
	run diff "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	[ "$status" -eq 0 ]
	run grep -c '^bin/busybox$' "$BATS_TEST_TMPDIR/a"
	[ "$output" = "1" ]
}

@test "run -d: logs, exec, then stop with the image's STOPSIGNAL" {
	strata import --change 'STOPSIGNAL SIGUSR1' "$(busybox_tar)" stopper:1 >/dev/null
	run strata run -d --name web stopper:1 sh -c 'trap "echo got-usr1; exit 0" USR1; echo started; while true; do sleep 0.1; done'
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	for _ in $(seq 100); do
		if strata logs web | grep -q started; then break; fi
		sleep 0.1
	done
	run strata ps --format '{{.Names}} {{.State}} {{.Command}}'
	[ "$output" = 'web running "sh -c trap \"echo go…"' ]
	run strata exec -e WHO=exec web sh -c 'echo "$WHO in $(hostname)"'
	[ "$status" -eq 0 ]
	[ "$output" = "exec in $(strata inspect -f '{{.Config.Hostname}}' web)" ]
	run strata exec web sh -c 'exit 5'
	[ "$status" -eq 5 ]
	run strata stop -t 30 web
	[ "$status" -eq 0 ]
	[ "$output" = "web" ]
	run strata logs web
	[ "${lines[0]}" = "started" ]
	[ "${lines[1]}" = "got-usr1" ]
	run strata logs -t --tail 1 web
	[[ "$output" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\ got-usr1$ ]]
	run strata ps -a --format '{{.Status}}'
	[[ "$output" == "Exited (0) "* ]]
}

@test "stop: a process that ignores the signal is killed after -t" {
	strata run --network none -d --name stubborn busybox sh -c 'trap "" TERM; while true; do sleep 0.1; done' >/dev/null
	run strata stop -t 1 stubborn
	[ "$status" -eq 0 ]
	run strata wait stubborn
	[ "$output" = "137" ]
}

@test "rm: a running container needs -f; unknown containers are named" {
	strata run --network none -d --name busy busybox sleep 1000 >/dev/null
	run strata rm busy
	[ "$status" -eq 1 ]
	[[ "$output" == *'cannot remove container "/busy": container is running: stop the container before removing or force remove'* ]]
	run strata ps -q
	[ -n "$output" ]
	run strata rm -f busy
	[ "$status" -eq 0 ]
	run strata ps -a -q
	[ -z "$output" ]
	run strata rm nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"strata: rm: No such container: nosuch"* ]]
	run strata logs nosuch
	[ "$status" -eq 1 ]
	[[ "$output" == *"No such container: nosuch"* ]]
	run strata exec nosuch true
	[[ "$output" == *"No such container: nosuch"* ]]
	run strata stop nosuch
	[ "$status" -eq 1 ]
}

@test "ps: a container whose supervisor was SIGKILLed shows exited, never running" {
	strata run --network none -d --name orphan busybox sleep 1000 >/dev/null
	local sup
	sup=$(strata inspect -f '{{.State.ConmonPid}}' orphan)
	[ "$sup" -gt 0 ]
	kill -KILL "$sup"
	[ -z "$(wait_gone "$sup")" ]
	run strata ps -a --format '{{.Names}} {{.State}}'
	[ "$output" = "orphan exited" ]
	run strata inspect -f '{{.State.ExitCode}}' orphan
	[ "$output" = "137" ]
	run strata rm orphan
	[ "$status" -eq 0 ]
}

@test "create, start, wait, container prune; rmi keeps an image a container uses" {
	run strata create --name later busybox sh -c 'exit 7'
	[ "$status" -eq 0 ]
	run strata ps -a --format '{{.Names}} {{.Status}}'
	[ "$output" = "later Created" ]
	run strata start later
	[ "$output" = "later" ]
	run strata wait later
	[ "$output" = "7" ]
	run strata start -a later
	[ "$status" -eq 7 ]
	run strata rmi busybox
	[ "$status" -eq 1 ]
	[[ "$output" == *'unable to remove repository reference "busybox" (must force)'* ]]
	run strata container prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == "Deleted Containers:"* ]]
	run strata ps -a -q
	[ -z "$output" ]
	run strata rmi busybox
	[ "$status" -eq 0 ]
}

@test "run: strata interrupted in the foreground leaves its container exited, killed" {
	"$STRATA_BIN" run --network none --name fg busybox sleep 1000 >/dev/null 2>&1 &
	local pid=$!
	for _ in $(seq 100); do
		if [ "$(strata ps --format '{{.State}}')" = running ]; then break; fi
		sleep 0.1
	done
	run strata ps --format '{{.Names}} {{.State}}'
	[ "$output" = "fg running" ]
	kill -INT "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 130 ]
	run strata ps -a --format '{{.Names}} {{.Status}}'
	[[ "$output" == "fg Exited (137) "* ]]
}

@test "run -p: a server in the container answers on the host's 127.0.0.1; a taken port is refused" {
	local port
	port=$(free_port)
	mkdir "$BATS_TEST_TMPDIR/www"
	echo served >"$BATS_TEST_TMPDIR/www/index.html"
	run strata run -d --name srv -p "127.0.0.1:$port:80" -v "$BATS_TEST_TMPDIR/www:/www:ro" busybox httpd -f -p 80 -h /www
	[ "$status" -eq 0 ]
	local body=""
	for _ in $(seq 100); do
		body=$(curl -s "http://127.0.0.1:$port/index.html" || true)
		if [ -n "$body" ]; then break; fi
		sleep 0.1
	done
	[ "$body" = "served" ]
	run strata ps --format '{{.Names}} {{.Ports}}'
	[ "$output" = "srv 127.0.0.1:$port->80/tcp" ]
	run strata run -d --name again -p "127.0.0.1:$port:80" busybox sleep 100
	[ "$status" -eq 125 ]
	[[ "$output" == *"Bind for 127.0.0.1:$port failed: port is already allocated"* ]]
	run strata run --rm -p 80 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid argument "80" for "-p, --publish" flag'* ]]
}

@test "system df counts containers; system prune -a removes stopped ones and keeps a running one's image" {
	strata run --network none --name stopped busybox sh -c 'echo x > /f' >/dev/null
	strata run -d --network none --name running busybox sleep 1000 >/dev/null
	run strata system df --format '{{.Type}} {{.TotalCount}} {{.Active}}'
	[ "$status" -eq 0 ]
	[[ "$output" == *"Images 1 1"* ]]
	[[ "$output" == *"Containers 2 1"* ]]
	run strata system prune -a -f
	[ "$status" -eq 0 ]
	[[ "$output" == "Deleted Containers:"* ]]
	run strata ps -a --format '{{.Names}}'
	[ "$output" = "running" ]
	run strata run --rm --network none busybox true
	[ "$status" -eq 0 ]
}

@test "ps --filter id, name, status, exited, ancestor; logs --since and --until" {
	strata run --network none --name three busybox sh -c 'exit 3' || true
	strata create --network none --name made busybox true >/dev/null
	strata run --network none --name talk busybox sh -c 'echo first; sleep 2; echo second' >/dev/null
	id=$(strata run -d --network none --name up busybox sleep 100)
	run strata ps --filter exited=3 --format '{{.Names}}'
	[ "$status" -eq 0 ]
	[ "$output" = "three" ]
	run strata ps --filter status=created --format '{{.Names}}'
	[ "$output" = "made" ]
	run strata ps --filter ancestor=busybox --format '{{.Names}}'
	[ "$output" = "up" ]
	run strata ps -a --filter name=hre --filter name=ade --format '{{.Names}}'
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "made three " ]
	run strata ps -a --filter id="${id:0:6}" --filter status=running -q
	[ "$output" = "${id:0:12}" ]
	run strata ps --filter status=sleepy
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid filter 'status=sleepy'"* ]]
	run strata ps --filter colour=red
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid filter 'colour'"* ]]
	first=$(strata logs -t talk | head -1 | cut -d' ' -f1)
	second=$(strata logs -t talk | tail -1 | cut -d' ' -f1)
	run strata logs --until "$first" talk
	[ "$output" = "first" ]
	run strata logs --since "$second" talk
	[ "$output" = "second" ]
	run strata logs --since 1h talk
	[ "${#lines[@]}" -eq 2 ]
	run strata logs --since "$(date -d "$second" +%s)" talk
	[ "$output" = "second" ]
	run strata logs --since yesterday talk
	[ "$status" -ne 0 ]
	[[ "$output" == *"--since yesterday: expected a timestamp"* ]]
	strata rm -f up >/dev/null
}
