#!/bin/bash
# `strata run --rm busybox true` end to end, beside `podman run --rm` and `docker run --rm` of the
# same busybox rootfs, with hyperfine, in one run: the cost of starting and removing a container.
# Then 20 containers started detached at once, all stopped and removed.
# usage: bench/run-bench.sh [RUNS]     (root; podman and docker.io: install-deps.sh --bench)
# Every runtime gets --network none, so that the figure is the container's start, not the network
# helper's (strata's and podman's default is slirp4netns, Docker's a bridge).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
runs=${1:-20}
work=${BENCH_WORK:-/tmp/strata-bench-run}
strata=$(strata_bin)
export BENCH_LOG=$work/log.txt
mkdir -p "$work"
: >"$BENCH_LOG"
export STRATA_ROOT=$work/store
rm -rf "$STRATA_ROOT"
"$here/../scripts/make-busybox-rootfs.sh" "$work/bb.tar" >/dev/null
"$strata" import "$work/bb.tar" busybox:bench >/dev/null

cmds=(-n strata "$strata run --rm --network none busybox:bench true")
if command -v podman >/dev/null; then
	export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
	podman import -q "$work/bb.tar" localhost/busybox:bench >/dev/null
	cmds+=(-n podman "podman run --rm --network none localhost/busybox:bench true")
else
	echo "podman not installed: strata alone" >&2
fi
# Debian's Docker, on a socket and data root of its own: another daemon may run on this machine.
dockerd_pid=
if [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ]; then
	export DOCKER_HOST=unix://$work/docker.sock
	/usr/sbin/dockerd --iptables=false --ip-masq=false --bridge=none --storage-driver=overlay2 \
		--data-root /var/lib/docker-bench-run --exec-root "$work/docker-exec" \
		--pidfile "$work/docker.pid" -H "$DOCKER_HOST" >>"$BENCH_LOG" 2>&1 &
	dockerd_pid=$!
	for _ in $(seq 150); do /usr/bin/docker info >/dev/null 2>&1 && break; sleep 0.2; done
	/usr/bin/docker import "$work/bb.tar" busybox:bench >/dev/null
	cmds+=(-n docker "/usr/bin/docker run --rm --network none busybox:bench true")
else
	echo "dockerd not installed: no Docker figure" >&2
fi
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/run.json" "${cmds[@]}"
jq -r '.results[] | "\(.command)\t\(.median)"' "$work/run.json" | {
	read -r _ s
	while read -r name m; do
		report "run --rm busybox true" "$s" "$name" "$m"
	done
}

# 20 detached at once: every one must run, then stop and go.
t0=$(now)
pids=()
for i in $(seq 20); do
	"$strata" run -d --network none --name "bench$i" busybox:bench sleep 1000 >/dev/null &
	pids+=($!)
done
wait "${pids[@]}"
running=$("$strata" ps -q | wc -l)
t1=$(now)
"$strata" stop -t 1 $(seq -f 'bench%g' 20) >/dev/null
"$strata" rm $(seq -f 'bench%g' 20) >/dev/null
t2=$(now)
printf '20 detached containers: %d running after %.2fs, all stopped and removed after %.2fs more\n' \
	"$running" "$(echo "$t1 - $t0" | bc -l)" "$(echo "$t2 - $t1" | bc -l)"
left=$("$strata" ps -a -q | wc -l)
[ "$left" -eq 0 ] || { echo "bench: $left containers left" >&2; exit 1; }

if [ -n "$dockerd_pid" ]; then
	/usr/bin/docker rmi busybox:bench >/dev/null 2>&1 || true
	kill "$dockerd_pid"
	wait "$dockerd_pid" 2>/dev/null || true
fi
