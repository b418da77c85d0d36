#!/bin/bash
# Analyse images of 10 layers (busybox and 9 RUN steps that each add files, and from the second
# on rewrite 1,000 of the layer below and delete 1,000 more) with `strata dive`: every layer
# streamed, its trees built, both sets of figures and the findings computed; then the same with
# dive's JSON written. Prints wall and CPU time and the peak RSS for about 200,000 and
# 1,000,000 files.
# usage: bench/analyze-bench.sh [RUNS]      (root: the images are built with RUN steps, once,
#                                            and kept in $BENCH_WORK)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
runs=${1:-3}
work=${BENCH_WORK:-/tmp/strata-bench-analyze}
strata=$(strata_bin)
export STRATA_ROOT=$work/store
export BENCH_LOG=$work/log.txt
mkdir -p "$work"; : >"$BENCH_LOG"

if ! "$strata" inspect --format '{{.Id}}' busybox:latest >/dev/null 2>&1; then
	"$here/../scripts/make-busybox-rootfs.sh" "$work/bb.tar" >/dev/null
	"$strata" import "$work/bb.tar" busybox:latest >/dev/null
fi

# make_image TAG FILES_PER_LAYER: build TAG unless the store has it
make_image() {
	local tag=$1 n=$2 ctx=$work/ctx-$1 k
	"$strata" inspect --format '{{.Id}}' "$tag" >/dev/null 2>&1 && return 0
	echo "building $tag: 9 RUN layers of $n files each (made once)"
	mkdir -p "$ctx"
	{
		echo "FROM busybox"
		for k in $(seq 1 9); do
			printf 'RUN mkdir /d%s && cd /d%s && i=0; while [ $i -lt %s ]; do echo "file $i of layer %s" >f$i; i=$((i+1)); done' "$k" "$k" "$n" "$k"
			if [ "$k" -gt 1 ]; then
				printf ' && i=0; while [ $i -lt 1000 ]; do echo rewritten >/d%s/f$i; rm /d%s/f$((i+1000)); i=$((i+1)); done' $((k - 1)) $((k - 1))
			fi
			echo
		done
	} >"$ctx/Dockerfile"
	"$strata" build -q -t "$tag" "$ctx" >>"$BENCH_LOG"
}

# bench_image TAG WHAT ARGS...: RUNS runs of `strata dive ARGS TAG`; the median wall and CPU
# (user + system) seconds and the largest peak RSS
bench_image() {
	local tag=$1 what=$2 r t u sy rss secs=() cpus=() peak=0
	shift 2
	for r in $(seq "$runs"); do
		/usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" "$strata" dive "$@" "$tag" \
			>>"$BENCH_LOG" 2>&1 || true
		read -r t u sy rss <"$work/time.txt"
		secs+=("$t")
		cpus+=("$(echo "$u + $sy" | bc -l)")
		[ "$rss" -gt "$peak" ] && peak=$rss
	done
	printf '%-10s %-9s %7d entries: %6.3fs wall, %6.3fs CPU (medians of %d), peak RSS %4d MB\n' \
		"$tag" "$what" "$entries" "$(median "${secs[@]}")" "$(median "${cpus[@]}")" "$runs" \
		$((peak / 1024))
}

# bench TAG: the analysis alone (the CI gate with every rule off: layers read, trees, figures,
# findings), then the same with dive's JSON written (every entry of every layer listed)
bench() {
	local tag=$1
	"$strata" dive --json "$work/out.json" "$tag" >>"$BENCH_LOG" 2>&1
	entries=$(jq '[.layer[].fileList | length] | add' "$work/out.json")
	bench_image "$tag" analysis --ci --lowest-efficiency off --highest-user-wasted-percent off
	bench_image "$tag" "--json" --json "$work/out.json"
}

make_image files-200k 22222
make_image files-1m 111111
echo "strata dive, 10 layers (machine load: $(cut -d' ' -f1-3 /proc/loadavg))"
bench files-200k
bench files-1m
