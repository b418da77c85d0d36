#!/bin/bash
# A CI runner with an empty store: the W1 workload (deps-then-src) built cold, and built with
# the build cache another runner pushed to a registry (--cache-from type=registry), by strata
# and by buildah (--cache-to/--cache-from REPO) in one run, through the CNCF registry on 127.0.0.1.
# Prints medians and the speed-up the shared cache gives each builder.
# usage: bench/cache-share-bench.sh [RUNS, default 3]   (root; install-deps.sh --bench)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
runs=${1:-3}
work=${BENCH_WORK:-/tmp/strata-bench-cache}
shared=$(cd "$here/../.." && pwd)/shared
[ -d "$shared/bench/workloads" ] || shared=/work/shared
wl=${WORKLOADS:-$shared/bench/workloads}
strata=$(strata_bin)
export BENCH_LOG=$work/log.txt
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
mkdir -p "$work"; : >"$BENCH_LOG"

start_registry "$work/registry"
trap 'kill $regpid 2>/dev/null || true' EXIT

ctx=$work/ctx
rm -rf "$ctx"
python3 "$wl/deps-then-src/gen-context.py" "$ctx" >/dev/null
cp "$wl/deps-then-src/Dockerfile" "$ctx/"
base=$work/busybox.tar
[ -f "$base" ] || "$here/../scripts/make-busybox-rootfs.sh" "$base" >/dev/null

# The runner that fills the cache; every later store starts from the same base image.
seed=$work/store-seed
rm -rf "$seed"
STRATA_ROOT=$seed "$strata" import "$base" busybox:latest >/dev/null
STRATA_ROOT=$seed "$strata" save -o "$work/bb-image.tar" busybox
time_cmd t_export env STRATA_ROOT="$seed" "$strata" build -q \
	--cache-to "type=registry,ref=$reg/w1:cache,mode=max" -t w1 "$ctx"

fresh() { rm -rf "$1"; STRATA_ROOT=$1 "$strata" load -i "$work/bb-image.tar" >/dev/null; }
b_reset() {
	buildah rmi -a -f >/dev/null 2>&1 || true
	c=$(buildah from scratch); buildah add "$c" "$base" / >/dev/null
	buildah commit -q "$c" docker.io/library/busybox:latest >/dev/null; buildah rm "$c" >/dev/null
}
b_build() { buildah bud --layers --network=none --tls-verify=false -t w1b "$@" "$ctx"; }

buildah_ok=1
b_reset
if ! b_build --cache-to "$reg/bw1" >>"$BENCH_LOG" 2>&1; then
	buildah_ok=0
	echo "buildah: --cache-to failed (see $BENCH_LOG); buildah rows skipped" >&2
fi

declare -a s_cold s_warm b_cold b_warm
for r in $(seq "$runs"); do
	echo "run $r/$runs" >&2
	fresh "$work/store-cold"
	time_cmd t env STRATA_ROOT="$work/store-cold" "$strata" build -q -t w1 "$ctx"; s_cold+=("$t")
	fresh "$work/store-warm"
	time_cmd t env STRATA_ROOT="$work/store-warm" "$strata" build -q \
		--cache-from "type=registry,ref=$reg/w1:cache" -t w1 "$ctx"
	s_warm+=("$t")
	if [ "$buildah_ok" = 1 ]; then
		b_reset; time_cmd t b_build; b_cold+=("$t")
		b_reset; time_cmd t b_build --cache-from "$reg/bw1"; b_warm+=("$t")
	fi
done

sc=$(median "${s_cold[@]}"); sw=$(median "${s_warm[@]}")
printf '\nmedians of %s run(s), W1 on an empty store\n' "$runs"
printf '%-40s %8.3fs\n' "strata: export the cache (mode=max)" "$t_export"
printf '%-40s %8.3fs\n' "strata: cold, no cache" "$sc"
printf '%-40s %8.3fs   speed-up %.1fx\n' "strata: --cache-from type=registry" "$sw" "$(echo "$sc / $sw" | bc -l)"
if [ "$buildah_ok" = 1 ]; then
	bc_=$(median "${b_cold[@]}"); bw=$(median "${b_warm[@]}")
	printf '%-40s %8.3fs\n' "buildah: cold, no cache" "$bc_"
	printf '%-40s %8.3fs   speed-up %.1fx\n' "buildah: --cache-from REPO" "$bw" "$(echo "$bc_ / $bw" | bc -l)"
	report "W1 with the registry cache" "$sw" buildah "$bw"
fi
