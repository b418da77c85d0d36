#!/bin/bash
# Import a 1 GiB rootfs, then save and load the image, with strata and with its peers in one run:
#   import:  strata import ROOTFS.tar      vs  buildah from scratch + add ROOTFS.tar + commit
#   save:    strata save (docker-archive)  vs  skopeo copy containers-storage: -> docker-archive:
#   load:    strata load (docker-archive)  vs  skopeo copy docker-archive: -> containers-storage:
# usage: bench/import-save-load.sh [RUNS]      (root; needs buildah and skopeo: install-deps.sh --bench)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
runs=${1:-3}
work=${BENCH_WORK:-/tmp/strata-bench-isl}
strata=$(strata_bin)
export BENCH_LOG=$work/log.txt
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
mkdir -p "$work"; : >"$BENCH_LOG"

rootfs=$work/rootfs-1g.tar
make_rootfs_1g "$work"
ls -l "$rootfs"

declare -a s_imp b_imp s_save k_save s_load k_load
for r in $(seq "$runs"); do
	root=$work/store-$r; rm -rf "$root"
	time_cmd t env STRATA_ROOT="$root" "$strata" import "$rootfs" bench:1; s_imp+=("$t")
	buildah rmi -f localhost/bench:1 >/dev/null 2>&1 || true
	time_cmd t bash -c "c=\$(buildah from scratch) && buildah add \$c '$rootfs' / && buildah commit -q \$c localhost/bench:1 && buildah rm \$c"
	b_imp+=("$t")

	rm -f "$work/s.tar" "$work/k.tar"
	time_cmd t env STRATA_ROOT="$root" "$strata" save -o "$work/s.tar" bench:1; s_save+=("$t")
	time_cmd t skopeo copy -q containers-storage:localhost/bench:1 "docker-archive:$work/k.tar:localhost/bench:1"; k_save+=("$t")

	rm -rf "$root-load"
	time_cmd t env STRATA_ROOT="$root-load" "$strata" load -i "$work/s.tar"; s_load+=("$t")
	# containers-storage skips layers it already has: load into a storage without them, as
	# strata loads into a fresh store
	buildah rmi -f localhost/bench:1 localhost/bench:2 >/dev/null 2>&1 || true
	time_cmd t skopeo copy -q "docker-archive:$work/k.tar" containers-storage:localhost/bench:2; k_load+=("$t")
	rm -rf "$root" "$root-load"
done
buildah rmi -f localhost/bench:1 localhost/bench:2 >/dev/null 2>&1 || true

echo "medians of $runs runs (1 GiB rootfs):"
report "import 1 GiB rootfs" "$(median "${s_imp[@]}")" buildah "$(median "${b_imp[@]}")"
report "save (docker-archive)" "$(median "${s_save[@]}")" skopeo "$(median "${k_save[@]}")"
report "load (docker-archive)" "$(median "${s_load[@]}")" skopeo "$(median "${k_load[@]}")"
