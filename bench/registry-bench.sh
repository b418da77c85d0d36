#!/bin/bash
# Push and pull a 1 GiB image through the CNCF distribution registry on 127.0.0.1, with strata
# and with skopeo in one run (both between a local store and the registry):
#   push:  strata push                   vs  skopeo copy containers-storage: -> docker://
#   pull:  strata pull into a new store  vs  skopeo copy docker:// -> containers-storage:
#   second push of the unchanged image (every blob is there already: goal < 0.3 s), both tools.
# Prints the medians, the ratios and strata's peak RSS.
# usage: bench/registry-bench.sh [RUNS]      (root; install-deps.sh --bench)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
runs=${1:-3}
work=${BENCH_WORK:-/tmp/strata-bench-isl}
strata=$(strata_bin)
export BENCH_LOG=$work/registry-log.txt
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
mkdir -p "$work"; : >"$BENCH_LOG"
make_rootfs_1g "$work"

# A registry of its own for each run, so nothing is there before the push: skopeo would mount
# what an earlier run pushed, and containers-storage would skip layers it already has.
trap '[ -n "$regpid" ] && kill $regpid 2>/dev/null || true' EXIT

src=$work/store-src; rm -rf "$src"
STRATA_ROOT=$src "$strata" import "$work/rootfs-1g.tar" bench:1 >/dev/null
STRATA_ROOT=$src "$strata" save -o "$work/r.tar" bench:1

declare -a s_push k_push s_pull k_pull s_again k_again
peak=0
for r in $(seq "$runs"); do
	start_registry "$work/registry"
	buildah rmi -f localhost/bench:1 >/dev/null 2>&1 || true
	skopeo copy -q "docker-archive:$work/r.tar" containers-storage:localhost/bench:1

	STRATA_ROOT=$src "$strata" tag bench:1 "$reg/s:1"
	time_cmd t env STRATA_ROOT="$src" "$strata" push -q "$reg/s:1"; s_push+=("$t")
	time_cmd t skopeo copy -q --dest-tls-verify=false containers-storage:localhost/bench:1 "docker://$reg/k:1"
	k_push+=("$t")
	time_cmd t env STRATA_ROOT="$src" "$strata" push -q "$reg/s:1"; s_again+=("$t")
	time_cmd t skopeo copy -q --dest-tls-verify=false containers-storage:localhost/bench:1 "docker://$reg/k:1"
	k_again+=("$t")

	dst=$work/store-pull; rm -rf "$dst"
	time_cmd t env STRATA_ROOT="$dst" /usr/bin/time -f '%M' -o "$work/rss" "$strata" pull -q "$reg/s:1"
	s_pull+=("$t")
	rss=$(cat "$work/rss"); [ "$rss" -gt "$peak" ] && peak=$rss
	# containers-storage must not hold the layers before the pull: the source image goes
	buildah rmi -f localhost/bench:1 >/dev/null 2>&1 || true
	time_cmd t skopeo copy -q --src-tls-verify=false "docker://$reg/k:1" "containers-storage:$reg/k:1"
	k_pull+=("$t")
	buildah rmi -f "$reg/k:1" >/dev/null 2>&1 || true
	STRATA_ROOT=$src "$strata" rmi "$reg/s:1" >/dev/null
done
buildah rmi -f localhost/bench:1 >/dev/null 2>&1 || true
rm -rf "$src" "$work/store-pull" "$work/r.tar"

echo "medians of $runs runs (1 GiB image, gzip layers, registry on 127.0.0.1):"
report "push (whole image, new repository)" "$(median "${s_push[@]}")" skopeo "$(median "${k_push[@]}")"
report "second push (nothing changed)" "$(median "${s_again[@]}")" skopeo "$(median "${k_again[@]}")"
report "pull (into an empty store)" "$(median "${s_pull[@]}")" skopeo "$(median "${k_pull[@]}")"
echo "strata pull peak RSS: $((peak / 1024)) MiB"
