#!/usr/bin/env bats
# Containers with a pseudo-terminal (-t), --init, pause/unpause and rename: a real terminal
# from tmux where one is needed, real containers through runc.
load helpers
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
}

teardown() {
	if [ -n "${TMUX_SOCK:-}" ]; then
		tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
	fi
	local ids
	ids=$(strata ps -q --no-trunc 2>/dev/null || true)
	if [ -n "$ids" ]; then
		# shellcheck disable=SC2086
		strata unpause $ids >/dev/null 2>&1 || true
		# shellcheck disable=SC2086
		strata rm -f $ids >/dev/null 2>&1 || true
	fi
}

# A tmux server of its own with one 100x30 pane running a plain shell; tx talks to it.
tmux_start() {
	TMUX_SOCK=$BATS_TEST_TMPDIR/tmux.sock
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -s t -x 100 -y 30 \
		"env PS1='$ ' STRATA_ROOT='$STRATA_ROOT' bash --norc --noprofile"
	tx set -g status off
}

tx() { tmux -S "$TMUX_SOCK" "$@"; }

# Type a line into the pane.
type_line() { tx send-keys -t t -l "$1" && tx send-keys -t t Enter; }

# Wait until the pane shows a line matching the extended regex $1; the pane then is in $pane.
wait_for() {
	local i
	for i in $(seq 300); do
		pane=$(tx capture-pane -p -t t)
		if grep -Eq -- "$1" <<<"$pane"; then
			return 0
		fi
		sleep 0.1
	done
	echo "the pane never showed /$1/:" >&2
	echo "$pane" >&2
	return 1
}

@test "run -it in tmux: a pty of the pane's size that follows a resize; Ctrl-C and the exit code pass through; the terminal is restored" {
	tmux_start
	type_line "stty -g >$BATS_TEST_TMPDIR/before"
	type_line "$STRATA_BIN run --rm -it --network none busybox sh"
	wait_for '^/ # ?$'
	type_line 'tty; stty size'
	wait_for '^/dev/pts/[0-9]+'
	size=$(tx display -p -t t '#{pane_height} #{pane_width}')
	wait_for "^$size\$"
	tx resize-window -t t -x 90 -y 20
	size=$(tx display -p -t t '#{pane_height} #{pane_width}')
	[ "$size" = "20 90" ]
	type_line 'clear; stty size'
	wait_for '^20 90$'
	# Ctrl-C reaches the container's foreground process, not strata.
	type_line 'echo re""ady; sleep 100'
	wait_for '^ready$'
	sleep 0.2
	tx send-keys -t t C-c
	type_line 'echo interrupted $?'
	wait_for '^interrupted 130$'
	type_line 'exit 7'
	wait_for '^\$ ?$'
	type_line "echo code=\$?; stty -g >$BATS_TEST_TMPDIR/after"
	wait_for '^code=7$'
	wait_for '^\$ ?$'
	[ "$(cat "$BATS_TEST_TMPDIR/before")" = "$(cat "$BATS_TEST_TMPDIR/after")" ]
	# Ctrl-C of the container's first process is its exit code, 130, as strata's.
	type_line "clear; $STRATA_BIN run --rm -it --network none busybox sh -c 'echo up; sleep 100; echo after'; echo code=\$?"
	wait_for '^up$'
	sleep 0.2
	tx send-keys -t t C-c
	wait_for 'code=130$'
}

@test "run -t: output has CRLF line ends, as a terminal's; -it with stdin not a terminal is refused" {
	run strata run --rm -t --network none busybox sh -c 'tty; echo done'
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^/dev/pts/[0-9]+$'\r\n'done$'\r'$ ]]
	run strata run --rm -t --network none busybox sh -c 'exit 4'
	[ "$status" -eq 4 ]
	run strata run --rm -it --network none busybox true </dev/null
	[ "$status" -eq 1 ]
	[ "$output" = "strata: run: the input device is not a TTY" ]
	run strata create -it --network none busybox true
	[ "$status" -eq 0 ]
	id=$output
	run strata start -ai "$id" </dev/null
	[ "$status" -eq 1 ]
	[ "$output" = "strata: start: the input device is not a TTY" ]
}

@test "create -t, start -a: the process has a terminal" {
	run strata create -t --network none busybox tty
	[ "$status" -eq 0 ]
	id=$output
	run strata inspect --format '{{.Config.Tty}}' "$id"
	[ "$output" = "true" ]
	run strata start -a "$id"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^/dev/pts/[0-9]+$'\r'$ ]]
}

@test "run -d -t: the supervisor keeps the terminal's output in the log, as stdout" {
	run strata run -d -t --network none busybox sh -c 'echo hello; tty'
	[ "$status" -eq 0 ]
	id=$output
	run strata wait "$id"
	[ "$output" = "0" ]
	run strata logs "$id"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^hello$'\r\n'/dev/pts/[0-9]+$'\r'$ ]]
	full=$(strata inspect --format '{{.Id}}' "$id")
	run jq -c '[.stream, .log]' "$STRATA_ROOT/containers/$full/ctr.log"
	[ "${lines[0]}" = '["stdout","hello\r\n"]' ]
	[[ "${lines[1]}" =~ ^'["stdout","/dev/pts/'[0-9]+'\r\n"]'$ ]]
}

@test "exec -t and -it: a terminal in a running container, its exit code" {
	run strata run -d --network none busybox sleep 1000
	[ "$status" -eq 0 ]
	id=$output
	run strata exec -t "$id" sh -c 'tty; exit 3'
	[ "$status" -eq 3 ]
	[[ "$output" =~ ^/dev/pts/[0-9]+$'\r'$ ]]
	run strata exec -it "$id" true </dev/null
	[ "$status" -eq 1 ]
	[ "$output" = "strata: exec: the input device is not a TTY" ]
	tmux_start
	type_line "$STRATA_BIN exec -it $id sh"
	wait_for '^/ # ?$'
	type_line 'stty size; exit 5'
	size=$(tx display -p -t t '#{pane_height} #{pane_width}')
	wait_for "^$size\$"
	type_line 'echo code=$?'
	wait_for '^code=5$'
}

# The process table of a running container as "STAT ARGS" lines.
ctr_ps() { strata exec "$1" ps -o stat,args; }

@test "run --init: tini is PID 1 at /dev/init and reaps an orphan that PID 1 alone leaves a zombie" {
	orphan='sh -c "sleep 0.5 &"; exec sleep 100'
	run strata run -d --init --network none busybox sh -c "$orphan"
	[ "$status" -eq 0 ]
	id=$output
	run strata exec "$id" sh -c 'tr "\0" " " </proc/1/cmdline'
	[ "$output" = "/dev/init -- sh -c $orphan " ]
	run strata inspect --format '{{.HostConfig.Init}}' "$id"
	[ "$output" = "true" ]
	for _ in $(seq 100); do
		table=$(ctr_ps "$id")
		grep -Eq '^[A-Z]+ +sleep 0\.5$' <<<"$table" || break
		sleep 0.1
	done
	run grep -Ec '^Z|^[A-Z]+ +sleep 0\.5$' <<<"$table"
	[ "$output" = "0" ]
	# Without it, the orphan stays a zombie of the command that does not wait for it.
	run strata run -d --network none busybox sh -c "$orphan"
	[ "$status" -eq 0 ]
	id=$output
	for _ in $(seq 100); do
		table=$(ctr_ps "$id")
		grep -q '^Z' <<<"$table" && break
		sleep 0.1
	done
	grep -q '^Z' <<<"$table"
}

@test "run --init: a missing init binary is a clear error and exit code 125" {
	run env STRATA_INIT_PATH="$BATS_TEST_TMPDIR/nosuch" "$STRATA_BIN" run --rm --init --network none busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--init: init binary '$BATS_TEST_TMPDIR/nosuch' (STRATA_INIT_PATH): No such file or directory"* ]]
}

@test "pause: ps shows (Paused), inspect State.Paused, the process does not advance; unpause resumes; stop of a paused one" {
	run strata run -d --network none busybox \
		sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/n; sleep 0.05; done'
	[ "$status" -eq 0 ]
	id=$output
	counter=$STRATA_ROOT/containers/$id/upper/tmp/n
	for _ in $(seq 100); do
		if [ -s "$counter" ]; then break; fi
		sleep 0.1
	done
	run strata pause "$id"
	[ "$status" -eq 0 ]
	run strata ps --format '{{.State}} {{.Status}}'
	[[ "$output" =~ ^paused\ Up\ .*\ \(Paused\)$ ]]
	run strata inspect --format '{{.State.Status}} {{.State.Paused}} {{.State.Running}}' "$id"
	[ "$output" = "paused true true" ]
	before=$(cat "$counter")
	sleep 0.5
	[ "$(cat "$counter")" = "$before" ]
	run strata pause "$id"
	[ "$status" -eq 1 ]
	[ "$output" = "strata: pause: Container $id is already paused" ]
	run strata exec "$id" true
	[ "$status" -eq 1 ]
	[ "$output" = "strata: exec: Container $id is paused, unpause the container before exec" ]
	run strata unpause "$id"
	[ "$status" -eq 0 ]
	for _ in $(seq 100); do
		if [ "$(cat "$counter")" != "$before" ]; then break; fi
		sleep 0.1
	done
	[ "$(cat "$counter")" != "$before" ]
	run strata inspect --format '{{.State.Status}} {{.State.Paused}}' "$id"
	[ "$output" = "running false" ]
	run strata unpause "$id"
	[ "$status" -eq 1 ]
	[ "$output" = "strata: unpause: Container $id is not paused" ]
	# The stop signal is ignored by a PID 1 without a handler: SIGKILL after -t, which a
	# paused container gets once resumed.
	run strata pause "$id"
	[ "$status" -eq 0 ]
	run strata stop -t 1 "$id"
	[ "$status" -eq 0 ]
	run strata ps -a --format '{{.State}} {{.Status}}'
	[[ "$output" == "exited Exited (137) "* ]]
	run strata inspect --format '{{.State.Paused}}' "$id"
	[ "$output" = "false" ]
}

@test "pause: a container that is not running is refused; kill of a paused one kills it" {
	run strata create --network none busybox true
	id=$output
	run strata pause "$id"
	[ "$status" -eq 1 ]
	[ "$output" = "strata: pause: Container $id is not running" ]
	run strata run -d --network none busybox sleep 100
	id=$output
	run strata pause "$id"
	[ "$status" -eq 0 ]
	run strata kill "$id"
	[ "$status" -eq 0 ]
	run strata wait "$id"
	[ "$output" = "137" ]
}

@test "rename: the new name finds the container, the old one is unknown and free; conflicts as Docker" {
	run strata create --name old --network none busybox true
	[ "$status" -eq 0 ]
	id=$output
	run strata rename old new
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	run strata inspect --format '{{.Name}} {{.Id}}' new
	[ "$output" = "/new $id" ]
	run strata rm old
	[ "$status" -eq 1 ]
	[ "$output" = "strata: rm: No such container: old" ]
	run strata create --name old --network none busybox true
	[ "$status" -eq 0 ]
	other=$output
	run strata rename new old
	[ "$status" -eq 1 ]
	[[ "$output" == *"Conflict. The container name \"/old\" is already in use by container \"$other\""* ]]
	run strata rename new new
	[ "$status" -eq 1 ]
	[ "$output" = "strata: rename: Renaming a container with the same name as its current name" ]
	run strata rename new 'bad/name'
	[ "$status" -eq 1 ]
	[[ "$output" == *"Invalid container name (bad/name)"* ]]
	run strata rename nosuch x
	[ "$status" -eq 1 ]
	[ "$output" = "strata: rename: No such container: nosuch" ]
	run strata ps -a --format '{{.Names}}'
	[ "$output" = $'old\nnew' ]
}

@test "rename: a rename cut short (the new link made, the record not yet) leaves one name, taken over by the next" {
	run strata create --name first --network none busybox true
	id=$output
	# What a rename killed before it rewrote the record leaves: a second link to the container.
	ln -s "$id" "$STRATA_ROOT/containers/names/half"
	run strata rm half
	[ "$status" -eq 1 ]
	[ "$output" = "strata: rm: No such container: half" ]
	run strata create --name half --network none busybox true
	[ "$status" -eq 0 ]
	other=$output
	run strata inspect --format '{{.Id}}' half
	[ "$output" = "$other" ]
	run strata inspect --format '{{.Name}}' first
	[ "$output" = "/first" ]
}
