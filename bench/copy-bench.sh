#!/bin/bash
# strata copy and skopeo copy, side by side in one run, of a 1 GiB one-layer image between the
# places that are not a store: an OCI layout, an oci-archive, a registry on 127.0.0.1 and a
# docker-archive (as skopeo writes it: the layer uncompressed, gzipped by both on the way):
#   oci: -> oci-archive:   oci-archive: -> docker://   docker:// -> oci:   docker-archive: -> oci:
# Prints the medians, the ratios and each tool's peak RSS over the pairs.
# usage: bench/copy-bench.sh [RUNS]      (install-deps.sh --bench)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
runs=${1:-3}
work=${BENCH_WORK:-/tmp/strata-bench-copy}
strata=$(strata_bin)
export BENCH_LOG=$work/copy-log.txt
mkdir -p "$work"; : >"$BENCH_LOG"
make_rootfs_1g "$work"
trap '[ -n "$regpid" ] && kill $regpid 2>/dev/null || true' EXIT

# The source layout, made once through a throwaway store.
export STRATA_ROOT=$work/store
rm -rf "$STRATA_ROOT" "$work/src"
"$strata" import "$work/rootfs-1g.tar" bench:1 >/dev/null
"$strata" copy -q bench:1 "oci:$work/src:1"
rm -rf "$STRATA_ROOT" "$work/src.tar"
skopeo copy -q "oci:$work/src:1" "docker-archive:$work/src.tar:bench:1"

# rss_of OUTVAR TIMEVAR CMD...: CMD timed, its peak RSS in KiB kept in OUTVAR
rss_of() {
	local __rss=$1 __t=$2; shift 2
	time_cmd "$__t" /usr/bin/time -f '%M' -o "$work/rss" "$@"
	printf -v "$__rss" '%s' "$(cat "$work/rss")"
}

declare -a s1 k1 s2 k2 s3 k3 s4 k4
speak=0 kpeak=0
keep() { [ "$1" -gt "$speak" ] && speak=$1; [ "$2" -gt "$kpeak" ] && kpeak=$2; return 0; }
for r in $(seq "$runs"); do
	start_registry "$work/registry"
	rm -rf "$work"/s.tar "$work"/k.tar "$work"/s-out "$work"/k-out "$work"/s-da "$work"/k-da
	rss_of a t "$strata" copy -q "oci:$work/src:1" "oci-archive:$work/s.tar"; s1+=("$t")
	rss_of b t skopeo copy -q "oci:$work/src:1" "oci-archive:$work/k.tar"; k1+=("$t")
	keep "$a" "$b"
	rss_of a t "$strata" copy -q "oci-archive:$work/s.tar" "docker://$reg/s:1"; s2+=("$t")
	rss_of b t skopeo copy -q --dest-tls-verify=false "oci-archive:$work/k.tar" "docker://$reg/k:1"
	k2+=("$t")
	keep "$a" "$b"
	rss_of a t "$strata" copy -q "docker://$reg/s:1" "oci:$work/s-out"; s3+=("$t")
	rss_of b t skopeo copy -q --src-tls-verify=false "docker://$reg/k:1" "oci:$work/k-out"
	k3+=("$t")
	keep "$a" "$b"
	rss_of a t "$strata" copy -q "docker-archive:$work/src.tar" "oci:$work/s-da"; s4+=("$t")
	rss_of b t skopeo copy -q "docker-archive:$work/src.tar" "oci:$work/k-da"; k4+=("$t")
	keep "$a" "$b"
done
rm -rf "$work"/s.tar "$work"/k.tar "$work"/s-out "$work"/k-out "$work"/s-da "$work"/k-da
rm -rf "$work/src" "$work/src.tar"

echo "medians of $runs runs (1 GiB image, one gzip layer, registry on 127.0.0.1):"
report "oci: -> oci-archive:" "$(median "${s1[@]}")" skopeo "$(median "${k1[@]}")"
report "oci-archive: -> docker://" "$(median "${s2[@]}")" skopeo "$(median "${k2[@]}")"
report "docker:// -> oci:" "$(median "${s3[@]}")" skopeo "$(median "${k3[@]}")"
report "docker-archive: -> oci:" "$(median "${s4[@]}")" skopeo "$(median "${k4[@]}")"
echo "peak RSS: strata $((speak / 1024)) MiB, skopeo $((kpeak / 1024)) MiB"
