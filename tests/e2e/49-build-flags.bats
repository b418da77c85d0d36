#!/usr/bin/env bats
# strata build: the flags that set how RUN steps run (--shm-size, --ulimit, --allow
# security.insecure, --cgroup-parent) and what the image carries (--label, --annotation), and
# --provenance/--sbom, accepted until attestations exist.
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
	CG=strata-test-$$-$BATS_TEST_NUMBER
}

teardown() {
	local d
	for d in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG"; do
		if [ -d "$d" ]; then rmdir "$d"; fi
	done
}

# The content of FILE in IMAGE.
image_file() {
	strata export "$1" | tar xO "$2"
}

# The image's manifest, as saved.
manifest_of() {
	local dir=$BATS_TEST_TMPDIR/saved
	rm -rf "$dir" && mkdir -p "$dir"
	strata save "$1" | tar x -C "$dir"
	local d
	d=$(jq -r '.manifests[0].digest' "$dir/index.json")
	cat "$dir/blobs/sha256/${d#sha256:}"
}

@test "flags: --shm-size sizes /dev/shm and --ulimit sets limits, both in the cache key" {
	printf 'FROM busybox\nRUN df -k /dev/shm | tail -1 > /shm; ulimit -Sn > /nofile; ulimit -Hn >> /nofile; ulimit -u > /nproc\n' >"$CTX/Dockerfile"
	# nofile stays below the hard limit strata itself has: without CAP_SYS_RESOURCE no
	# process may raise it
	run strata build --progress=plain --shm-size 128m --ulimit nofile=1024:2048 --ulimit nproc=500 -t f:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file f:1 shm
	[[ "$output" == "shm "*" 131072 "* ]]
	run image_file f:1 nofile
	[ "$output" = "$(printf '1024\n2048')" ]
	run image_file f:1 nproc
	[ "$output" = "500" ]
	run strata build --progress=plain --shm-size 128m --ulimit nofile=1024:2048 --ulimit nproc=500 -t f:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 CACHED"* ]]
	run strata build --progress=plain --shm-size 64m --ulimit nofile=1024:2048 --ulimit nproc=500 -t f:2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 cache miss: shm-size changed from 134217728 to 67108864"* ]]
	run strata build --progress=plain -t f:3 "$CTX"
	[ "$status" -eq 0 ]
	run image_file f:3 shm
	[[ "$output" == "shm "*" 65536 "* ]]
}

@test "flags: bad --shm-size and --ulimit values are refused, naming them" {
	printf 'FROM busybox\nRUN true\n' >"$CTX/Dockerfile"
	run strata build --shm-size lots "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid --shm-size 'lots': expected a size such as 64m"* ]]
	run strata build --ulimit nofiles=10 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid --ulimit 'nofiles=10': expected NAME=SOFT[:HARD], NAME one of core,"* ]]
	run strata build --ulimit nofile=20:10 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid --ulimit 'nofile=20:10': the soft limit is above the hard limit"* ]]
}

@test "flags: a --ulimit above strata's own hard limit is refused where it cannot be raised" {
	hard=$(ulimit -Hn)
	if [ "$hard" = unlimited ]; then skip "no hard limit on open files here"; fi
	bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
	if (((16#$bnd >> 24) & 1)); then skip "CAP_SYS_RESOURCE is held here: the limit can be raised"; fi
	printf 'FROM busybox\nRUN true\n' >"$CTX/Dockerfile"
	run strata build --ulimit "nofile=1024:$((hard + 1))" "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"resource limit 'nofile': the hard limit asked for is above strata's own, $hard, and raising it takes CAP_SYS_RESOURCE"* ]]
	run strata build --ulimit "nofile=1024:$hard" "$CTX"
	[ "$status" -eq 0 ]
}

@test "flags: RUN --security=insecure with --allow security.insecure has every capability strata holds" {
	printf 'FROM busybox\nRUN --security=insecure grep CapEff /proc/self/status > /caps && mkdir -p /m && mount -t tmpfs none /m && umount /m\nRUN grep CapEff /proc/self/status > /plain\n' >"$CTX/Dockerfile"
	run strata build --progress=plain -t i:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"RUN --security=insecure needs the build to allow it: strata build --allow security.insecure"* ]]
	run strata build --progress=plain --allow security.insecure -t i:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file i:1 caps
	[ "$output" = "CapEff:	$(awk '/^CapBnd/ {print $2}' /proc/self/status)" ]
	run image_file i:1 plain
	[ "$output" = "CapEff:	00000000a80425fb" ]
	# BuildKit's other entitlement is accepted, also in one list with this one
	run strata build --allow network.host,security.insecure -t i:2 "$CTX"
	[ "$status" -eq 0 ]
	run strata build --allow devices "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid --allow 'devices': use security.insecure or network.host"* ]]
}

@test "flags: --cgroup-parent puts each step's container below it, or says why it cannot" {
	printf 'FROM busybox\nRUN cat /proc/self/cgroup > /cg\n' >"$CTX/Dockerfile"
	run strata build --progress=plain --cgroup-parent "$CG" -t c:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file c:1 cg
	[[ "$output" == *":/$CG/strata-build-"* ]]
	# where cgroups are read-only (a container's usual lot), the build says so
	run unshare -m sh -c "mount -o remount,bind,ro /sys/fs/cgroup && \"\$0\" build --no-cache --cgroup-parent $CG \"\$1\"" "$STRATA_BIN" "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--cgroup-parent $CG: strata cannot make cgroups on this host (/sys/fs/cgroup): Read-only file system"* ]]
}

@test "flags: --label goes into the image config, --annotation onto its manifest" {
	printf 'FROM busybox\nLABEL from.dockerfile=1\n' >"$CTX/Dockerfile"
	run strata build --label org.example.team=infra --annotation org.example.a=1 \
		--annotation manifest:org.example.b=two -t a:1 "$CTX"
	[ "$status" -eq 0 ]
	run strata inspect --format '{{json .Config.Labels}}' a:1
	[ "$output" = '{"from.dockerfile":"1","org.example.team":"infra"}' ]
	run manifest_of a:1
	[ "$(jq -c .annotations <<<"$output")" = '{"org.example.a":"1","org.example.b":"two"}' ]
	run strata build --annotation index:org.example.a=1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--annotation 'index:org.example.a=1': only manifest annotations are supported"* ]]
	run strata build --annotation noequals "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--annotation 'noequals': expected KEY=VALUE or manifest:KEY=VALUE"* ]]
}

@test "flags: --provenance and --sbom attach attestations; =false builds a plain image" {
	printf 'FROM busybox\nRUN true\n' >"$CTX/Dockerfile"
	run strata build --provenance=mode=max --sbom=true -t p:1 "$CTX"
	[ "$status" -eq 0 ]
	run strata inspect --format '{{range .Attestations}}{{.PredicateType}} {{end}}' p:1
	[ "$output" = "https://spdx.dev/Document https://slsa.dev/provenance/v1 " ]
	run strata build --provenance=false --sbom=false -t p:2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"warning: --"* ]]
	run strata inspect --format '{{len .RepoTags}}' p:2
	[ "$status" -eq 0 ]
	run strata inspect p:2
	[[ "$output" != *'"Attestations"'* ]]
}
