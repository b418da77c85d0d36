#!/bin/bash
# strata build against buildah bud and Docker's BuildKit on the workloads of shared/bench/workloads,
# in one run:
#   W1 deps-then-src (20,000-file context): cold build, no-change rebuild, rebuild after one file
#   W2 big-layer (a RUN writing 1 GiB), W3 multi-stage (three independent stages), W4 many-steps
#   (40 steps: cold and no-change rebuild).
# Also strata's own figures: W2's commit time (from the RUN process's exit to its layer in the
# store, as plain progress reports it; goal < 1 s) and what exporting W1 with compression=zstd
# adds to its no-change rebuild (goal < 1 s per GiB of layers).
# Prints medians and ratios peer/strata (>1: strata faster). BuildKit runs when a Docker daemon
# answers (shared/bench/README.md says how to start Debian's); buildah always.
# usage: bench/build-bench.sh [RUNS, default 3]   (root; WORKLOADS=dir, ONLY="W1 W3" to narrow)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
runs=${1:-3}
work=${BENCH_WORK:-/tmp/strata-bench-build}
shared=$(cd "$here/../.." && pwd)/shared
[ -d "$shared/bench/workloads" ] || shared=/work/shared
wl=${WORKLOADS:-$shared/bench/workloads}
strata=$(strata_bin)
export BENCH_LOG=$work/log.txt
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
mkdir -p "$work"; : >"$BENCH_LOG"
only=${ONLY:-W1 W2 W3 W4}
docker=${DOCKER:-/usr/bin/docker}
builders="strata buildah"
if [ -x "$docker" ] && "$docker" info >/dev/null 2>&1; then builders="$builders buildkit"; fi

# The base: busybox from Debian's busybox-static, imported into each builder once.
base=$work/busybox.tar
[ -f "$base" ] || "$here/../scripts/make-busybox-rootfs.sh" "$base" >/dev/null
sroot=$work/strata-root
rm -rf "$sroot"
STRATA_ROOT=$sroot "$strata" import "$base" busybox:latest >/dev/null
if ! buildah inspect --type image docker.io/library/busybox:latest >/dev/null 2>&1; then
	c=$(buildah from scratch)
	buildah add "$c" "$base" / >/dev/null
	buildah commit -q "$c" docker.io/library/busybox:latest >/dev/null
	buildah rm "$c" >/dev/null
fi

if [[ " $builders " == *" buildkit "* ]]; then "$docker" import "$base" busybox:latest >/dev/null; fi

s_build() { env STRATA_ROOT="$sroot" "$strata" build --progress=plain --network=none -t "$1" -f "$2/Dockerfile" "${@:3}" "$2"; }
b_build() { buildah bud --layers --network=none -t "$1" -f "$2/Dockerfile" "${@:3}" "$2"; }
s_reset() { env STRATA_ROOT="$sroot" "$strata" builder prune --all -f >/dev/null; }
b_reset() { buildah rmi -f "localhost/$1" >/dev/null 2>&1 || true; buildah rmi --prune >/dev/null 2>&1 || true; }
k_build() { DOCKER_BUILDKIT=1 "$docker" build --network=none -q -t "$1" -f "$2/Dockerfile" "${@:3}" "$2"; }
k_reset() { "$docker" rmi -f "$1" >/dev/null 2>&1 || true; "$docker" builder prune -af >/dev/null 2>&1 || true; }

declare -A res
add() { res[$1]="${res[$1]:-} $2"; }

make_ctx() { # name dir
	local d=$work/ctx-$1 src=$wl/$2
	rm -rf "$d"
	if [ -f "$src/gen-context.py" ]; then python3 "$src/gen-context.py" "$d" >/dev/null; cp "$src/Dockerfile" "$d/";
	else sh "$src/gen-context.sh" "$d" >/dev/null; [ -f "$d/Dockerfile" ] || cp "$src/Dockerfile" "$d/"; fi
	if [ -f "$src/gen-Dockerfile.sh" ]; then sh "$src/gen-Dockerfile.sh" >"$d/Dockerfile"; fi
	echo "$d"
}

# One workload for one builder: $1 = s|b|k, $2 = tag suffix. Results go to res["NAME|builder"].
run_w1() {
	local x=$1 name=$2 d
	d=$(make_ctx w1 deps-then-src)
	# The images of the last run go, and with them (the prune in s_reset) the zstd blobs of
	# their layers, so that the export below compresses again rather than find them.
	if [ "$x" = s ]; then env STRATA_ROOT="$sroot" "$strata" rmi w1z:s w1:s >/dev/null 2>&1 || true; fi
	${x}_reset w1:$x; time_cmd t ${x}_build w1:$x "$d"; add "W1 cold|$name" "$t"
	time_cmd t ${x}_build w1:$x "$d"; add "W1 no-change|$name" "$t"
	sh "$wl/deps-then-src/mutate.sh" "$d" "$x$r"
	time_cmd t ${x}_build w1:$x "$d"; add "W1 one file changed|$name" "$t"
	if [ "$x" = s ]; then
		# the no-change rebuild alone, several times: the 100 ms goal
		for i in 1 2 3 4 5; do time_cmd t s_build w1:s "$d"; add "W1 no-change (strata x5)" "$t"; done
		# Every step cached: what the zstd export adds is the layers' compression.
		time_cmd t s_build w1z:s "$d" -o type=image,compression=zstd; add "W1 zstd export" "$t"
		add "W1 layer GiB" "$(env STRATA_ROOT="$sroot" "$strata" inspect --format '{{.Size}}' w1z:s |
			awk '{print $1 / 1073741824}')"
		# The codec alone on the same bytes: zstd's own CLI at the same level and threads,
		# from tars already on disk (the floor under what the export can add).
		local z=$work/zstd-floor m
		rm -rf "$z"; mkdir -p "$z"
		m=$(env STRATA_ROOT="$sroot" "$strata" inspect --raw w1z:s)
		for dg in $(jq -r '.layers[] | select(.mediaType | endswith("+zstd")) | .digest' <<<"$m"); do
			zstd -q -d -c "$sroot/blobs/sha256/${dg#sha256:}" >"$z/${dg#sha256:}.tar"
		done
		time_cmd t sh -c "zstd -q -3 -T2 -c $z/*.tar >/dev/null"; add "W1 zstd codec" "$t"
		rm -rf "$z"
	fi
}
run_w2() {
	local d; d=$(make_ctx w2 big-layer); $1_reset w2:$1; time_cmd t $1_build w2:$1 "$d"; add "W2 1 GiB RUN|$2" "$t"
	# strata's plain progress: "#2 committed 1.0 GiB in 0.8s"
	if [ "$1" = s ]; then
		add "W2 commit" "$(grep -o 'committed .* in [0-9.]*s' "$BENCH_LOG" | tail -n 1 | sed 's/.* in \([0-9.]*\)s/\1/')"
	fi
}
run_w3() {
	local d extra=(); d=$(make_ctx w3 multi-stage)
	# buildah runs stages one at a time unless told; strata's default is one per core (2 here)
	[ "$1" = k ] || extra=(--jobs 3)
	$1_reset w3:$1; time_cmd t $1_build w3:$1 "$d" "${extra[@]}"; add "W3 three stages|$2" "$t"
}
run_w4() {
	local d; d=$(make_ctx w4 many-steps)
	$1_reset w4:$1; time_cmd t $1_build w4:$1 "$d"; add "W4 40 steps cold|$2" "$t"
	time_cmd t $1_build w4:$1 "$d"; add "W4 40 steps no-change|$2" "$t"
}

for r in $(seq "$runs"); do
	echo "run $r/$runs ($builders)" >&2
	for w in $only; do
		for b in $builders; do
			case $b in strata) x=s ;; buildah) x=b ;; buildkit) x=k ;; esac
			"run_$(echo "$w" | tr 'W' 'w')" "$x" "$b"
		done
	done
done

printf '\nmedians of %s run(s); ratio = peer / strata (>1: strata faster)\n' "$runs"
for k in "W1 cold" "W1 no-change" "W1 one file changed" "W2 1 GiB RUN" "W3 three stages" \
	"W4 40 steps cold" "W4 40 steps no-change"; do
	[ -n "${res["$k|strata"]:-}" ] || continue
	read -ra sv <<<"${res["$k|strata"]}"
	sm=$(median "${sv[@]}")
	for b in $builders; do
		[ "$b" = strata ] && continue
		read -ra pv <<<"${res["$k|$b"]}"
		report "$k" "$sm" "$b" "$(median "${pv[@]}")"
	done
done
if [ -n "${res["W1 no-change (strata x5)"]:-}" ]; then
	read -ra v <<<"${res["W1 no-change (strata x5)"]}"
	nochange=$(median "${v[@]}")
	printf '%-34s strata %8.3fs (median of %d; goal < 0.100s)\n' "W1 no-change rebuild" "$nochange" "${#v[@]}"
	read -ra v <<<"${res["W1 zstd export"]}"
	read -ra g <<<"${res["W1 layer GiB"]}"
	zx=$(median "${v[@]}")
	gib=$(median "${g[@]}")
	printf '%-34s strata %8.3fs (no-change rebuild + zstd export of %.2f GiB: %.2fs per GiB; goal < 1s)\n' \
		"W1 exported compression=zstd" "$zx" "$gib" "$(echo "($zx - $nochange) / $gib" | bc -l)"
	read -ra v <<<"${res["W1 zstd codec"]}"
	zc=$(median "${v[@]}")
	printf '%-34s zstd   %8.3fs (zstd -3 -T2 of the same layers: %.2fs per GiB, the codec alone)\n' \
		"W1 layers through zstd's CLI" "$zc" "$(echo "$zc / $gib" | bc -l)"
fi
if [ -n "${res["W2 commit"]:-}" ]; then
	read -ra v <<<"${res["W2 commit"]}"
	printf '%-34s strata %8.3fs (median of %d; RUN exit to layer recorded; goal < 1s)\n' "W2 commit of the 1 GiB layer" "$(median "${v[@]}")" "${#v[@]}"
fi
