# Shared helpers for the benchmark scripts: timing, medians, ratios.
# Times are wall-clock seconds; report medians of several runs, and ratios peer/strata (>1: strata faster).

now() { date +%s.%N; }

# time_cmd OUTVAR CMD...: run CMD (output to the log), store elapsed seconds in OUTVAR
time_cmd() {
	local __var=$1; shift
	local t0 t1
	t0=$(now)
	"$@" >>"${BENCH_LOG:-/dev/null}" 2>&1 || { echo "bench: command failed: $*" >&2; return 1; }
	t1=$(now)
	printf -v "$__var" '%s' "$(echo "$t1 - $t0" | bc -l)"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# report NAME STRATA_MEDIAN PEER_NAME PEER_MEDIAN
report() {
	printf '%-34s strata %8.3fs   %-8s %8.3fs   ratio %s/strata = %.2fx\n' "$1" "$2" "$3" "$4" "$3" \
		"$(echo "$4 / $2" | bc -l)"
}

strata_bin() {
	local here; here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	echo "${STRATA_BIN:-$here/build/cli/strata}"
}

# make_rootfs_1g WORK: WORK/rootfs-1g.tar, a 1 GiB rootfs (busybox + 1,000 files of mixed
# compressibility), made once and kept.
make_rootfs_1g() {
	local work=$1 here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	[ -f "$work/rootfs-1g.tar" ] && return 0
	echo "making a 1 GiB rootfs (busybox + 1,000 files of mixed compressibility)"
	"$here/scripts/make-busybox-rootfs.sh" "$work/bb.tar" >/dev/null
	rm -rf "$work/fs"; mkdir -p "$work/fs/data"; tar -C "$work/fs" -xf "$work/bb.tar"
	for i in $(seq 1 500); do head -c 1048576 /dev/urandom >"$work/fs/data/r$i.bin"; done
	# yes dies of SIGPIPE when head has enough: not a failure
	for i in $(seq 1 500); do { yes "strata benchmark line $i the quick brown fox" || true; } | head -c 1048576 >"$work/fs/data/t$i.txt"; done
	tar -C "$work/fs" -cf "$work/rootfs-1g.tar" .
	rm -rf "$work/fs"
}

# start_registry DIR: a fresh CNCF registry on a free port of 127.0.0.1 with its storage under
# DIR (emptied); sets reg (host:port) and regpid, stopping the one started before, if any.
regpid=
start_registry() {
	local dir=$1 port
	[ -n "$regpid" ] && { kill "$regpid"; wait "$regpid" 2>/dev/null || true; }
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	reg=127.0.0.1:$port
	rm -rf "$dir"; mkdir -p "$dir"
	printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
		"$dir/data" "$reg" >"$dir/config.yml"
	env -u REGISTRY_AUTH_FILE docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
	regpid=$!
	for _ in $(seq 100); do curl -s -o /dev/null "http://$reg/v2/" && break; sleep 0.1; done
}
