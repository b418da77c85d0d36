#!/bin/bash
# strata build against buildah bud on the workloads of shared/bench/workloads, in one run:
#   W1 deps-then-src (20,000-file context): cold build, no-change rebuild, rebuild after one file
#   W2 big-layer (a RUN writing 1 GiB), W3 multi-stage (three independent stages), W4 many-steps
#   (40 steps: cold and no-change rebuild).
# Prints medians and ratios buildah/strata (>1: strata faster).
# usage: bench/build-bench.sh [RUNS, default 3]   (root; buildah installed; WORKLOADS=dir to override)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
runs=${1:-3}
work=${BENCH_WORK:-/tmp/strata-bench-build}
wl=${WORKLOADS:-/work/shared/bench/workloads}
strata=$(strata_bin)
export BENCH_LOG=$work/log.txt
export CONTAINERS_CONF=${CONTAINERS_CONF:-/work/shared/bench/containers.conf}
mkdir -p "$work"; : >"$BENCH_LOG"
only=${ONLY:-W1 W2 W3 W4}

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

s_build() { env STRATA_ROOT="$sroot" "$strata" build --progress=plain -t "$1" -f "$2/Dockerfile" "${@:3}" "$2"; }
b_build() { buildah bud --layers --network=none -t "$1" -f "$2/Dockerfile" "${@:3}" "$2"; }
s_reset() { env STRATA_ROOT="$sroot" "$strata" builder prune --all -f >/dev/null; }
b_reset() { buildah rmi -f "localhost/$1" >/dev/null 2>&1 || true; buildah rmi --prune >/dev/null 2>&1 || true; }

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

for r in $(seq "$runs"); do
	echo "run $r/$runs" >&2
	if [[ " $only " == *" W1 "* ]]; then
		d=$(make_ctx w1 deps-then-src)
		s_reset; time_cmd t s_build w1:s "$d"; add "W1 cold" "$t"
		time_cmd t s_build w1:s "$d"; add "W1 no-change" "$t"
		sh "$wl/deps-then-src/mutate.sh" "$d" s$r
		time_cmd t s_build w1:s "$d"; add "W1 one file changed" "$t"
		d=$(make_ctx w1 deps-then-src)
		b_reset w1:b; time_cmd t b_build w1:b "$d"; add "W1 cold" "$t"
		time_cmd t b_build w1:b "$d"; add "W1 no-change" "$t"
		sh "$wl/deps-then-src/mutate.sh" "$d" b$r
		time_cmd t b_build w1:b "$d"; add "W1 one file changed" "$t"
		# the no-change rebuild alone, several times: the 100 ms goal
		for i in 1 2 3 4 5; do time_cmd t s_build w1:s "$d"; add "W1 no-change (strata x5)" "$t"; done
	fi
	if [[ " $only " == *" W2 "* ]]; then
		d=$(make_ctx w2 big-layer)
		s_reset; time_cmd t s_build w2:s "$d"; add "W2 1 GiB RUN" "$t"
		b_reset w2:b; time_cmd t b_build w2:b "$d"; add "W2 1 GiB RUN" "$t"
	fi
	if [[ " $only " == *" W3 "* ]]; then
		d=$(make_ctx w3 multi-stage)
		s_reset; time_cmd t s_build w3:s "$d" --jobs 3; add "W3 three stages" "$t"
		b_reset w3:b; time_cmd t b_build w3:b "$d" --jobs 3; add "W3 three stages" "$t"
	fi
	if [[ " $only " == *" W4 "* ]]; then
		d=$(make_ctx w4 many-steps)
		s_reset; time_cmd t s_build w4:s "$d"; add "W4 40 steps cold" "$t"
		time_cmd t s_build w4:s "$d"; add "W4 40 steps no-change" "$t"
		b_reset w4:b; time_cmd t b_build w4:b "$d"; add "W4 40 steps cold" "$t"
		time_cmd t b_build w4:b "$d"; add "W4 40 steps no-change" "$t"
	fi
done

# Each key holds strata's runs then buildah's, alternating per run: split them in order.
printf '\nstrata build vs buildah bud, medians of %s run(s)\n' "$runs"
for k in "W1 cold" "W1 no-change" "W1 one file changed" "W2 1 GiB RUN" "W3 three stages" \
	"W4 40 steps cold" "W4 40 steps no-change"; do
	[ -n "${res[$k]:-}" ] || continue
	read -ra v <<<"${res[$k]}"
	s=() b=()
	for i in "${!v[@]}"; do if (( i % 2 == 0 )); then s+=("${v[$i]}"); else b+=("${v[$i]}"); fi; done
	report "$k" "$(median "${s[@]}")" buildah "$(median "${b[@]}")"
done
if [ -n "${res["W1 no-change (strata x5)"]:-}" ]; then
	read -ra v <<<"${res["W1 no-change (strata x5)"]}"
	printf '%-34s strata %8.3fs (median of %d; goal < 0.100s)\n' "W1 no-change rebuild" "$(median "${v[@]}")" "${#v[@]}"
fi
