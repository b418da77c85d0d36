#!/bin/bash
# `strata sbom` on two images, made once from this machine's files with COPY steps (no RUN):
# - debian: a Debian-like root of 3 layers: the host's dpkg database with every copyright
#   file and os-release, Python's installed distributions, and Go executables;
# - files-200k: that database and 200,000 small files in 10 layers (20,000 files each),
#   every layer streamed and each entry judged by the catalogers' path predicate.
# Prints the median wall and CPU time and the peak RSS of each (goals: under 1 s and under
# 2 s, under 150 MB).
# usage: bench/sbom-bench.sh [RUNS]      (the images are kept in $BENCH_WORK)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
runs=${1:-5}
work=${BENCH_WORK:-/tmp/strata-bench-sbom}
strata=$(strata_bin)
export STRATA_ROOT=$work/store
export BENCH_LOG=$work/log.txt
mkdir -p "$work"
: >"$BENCH_LOG"

have() { "$strata" inspect --format '{{.Id}}' "$1" >/dev/null 2>&1; }

# the host's package database, copyright files and os-release under DIR
debian_base() {
	local dir=$1 d
	mkdir -p "$dir/var/lib/dpkg" "$dir/etc" "$dir/usr/share/doc"
	cp /var/lib/dpkg/status "$dir/var/lib/dpkg/status"
	cp -L /etc/os-release "$dir/etc/os-release"
	for d in /usr/share/doc/*/copyright; do
		[ -f "$d" ] || continue
		mkdir -p "$dir$(dirname "$d")"
		cp "$d" "$dir$d"
	done
}

make_debian() {
	local ctx=$work/ctx-debian d
	have debian:1 && return 0
	echo "building debian:1 (made once)"
	rm -rf "$ctx"
	mkdir -p "$ctx"/l1 "$ctx"/l2/usr/bin "$ctx"/l3
	debian_base "$ctx/l1"
	for d in /usr/lib/python3/dist-packages/*.dist-info /usr/lib/python3/dist-packages/*.egg-info; do
		mkdir -p "$ctx/l2$(dirname "$d")"
		cp -r "$d" "$ctx/l2$d"
	done
	for d in /usr/bin/skopeo /usr/bin/docker-registry; do
		[ -f "$d" ] && cp "$d" "$ctx/l2/usr/bin/"
	done
	cp -r /usr/share/java "$ctx/l3/java" 2>/dev/null || true
	printf 'FROM scratch\nCOPY l1/ /\nCOPY l2/ /\nCOPY l3/ /usr/share/\n' >"$ctx/Dockerfile"
	"$strata" build -q -t debian:1 "$ctx" >>"$BENCH_LOG"
}

make_files() {
	local ctx=$work/ctx-files
	have files-200k:1 && return 0
	echo "building files-200k:1: 10 layers of 20,000 files (made once)"
	rm -rf "$ctx"
	mkdir -p "$ctx"
	debian_base "$ctx/l0"
	python3 - "$ctx" <<'PY'
import os, sys
ctx = sys.argv[1]
for k in range(10):
    for d in range(20):
        path = f"{ctx}/l{k}/srv/layer{k}/dir{d}"
        os.makedirs(path, exist_ok=True)
        for i in range(1000):
            with open(f"{path}/f{i}.txt", "w") as f:
                f.write(f"file {i} of dir {d} of layer {k}\n")
PY
	{
		echo "FROM scratch"
		for k in $(seq 0 9); do echo "COPY l$k/ /"; done
	} >"$ctx/Dockerfile"
	"$strata" build -q -t files-200k:1 "$ctx" >>"$BENCH_LOG"
}

# bench TAG: RUNS runs of `strata sbom -o strata-json TAG`: median wall and CPU (user +
# system) seconds, the largest peak RSS
bench() {
	local tag=$1 r t u sy rss secs=() cpus=() peak=0 pkgs
	pkgs=$("$strata" sbom -o purls "$tag" 2>>"$BENCH_LOG" | wc -l)
	for r in $(seq "$runs"); do
		/usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" "$strata" sbom -o strata-json \
			"$tag" >"$work/out.json" 2>>"$BENCH_LOG"
		read -r t u sy rss <"$work/time.txt"
		secs+=("$t")
		cpus+=("$(echo "$u + $sy" | bc -l)")
		[ "$rss" -gt "$peak" ] && peak=$rss
	done
	printf '%-14s %5d packages: %6.3fs wall, %6.3fs CPU (medians of %d), peak RSS %4d MB\n' \
		"$tag" "$pkgs" "$(median "${secs[@]}")" "$(median "${cpus[@]}")" "$runs" \
		$((peak / 1024))
}

make_debian
make_files
echo "strata sbom (machine load: $(cut -d' ' -f1-3 /proc/loadavg))"
bench debian:1
bench files-200k:1
