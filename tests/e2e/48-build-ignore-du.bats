#!/usr/bin/env bats
# strata build: .dockerignore as BuildKit reads it (Go's filepath.Match on UTF-8, malformed
# patterns, ignore rules that exclude the build files), and disk accounting of the build cache.
load helpers

setup() {
	common_setup
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
}

# The files of image $1, one a line, sorted.
image_files() {
	"$STRATA_BIN" export "$1" | tar t | sort
}

@test ".dockerignore: '?' and '[^a]' match one UTF-8 character, not one byte" {
	printf 'FROM scratch\nCOPY . /ctx/\n' >"$CTX/Dockerfile"
	printf 'a?c\n[^x]y\nb??\n' >"$CTX/.dockerignore"
	touch "$CTX/aéc" "$CTX/éy" "$CTX/bé" "$CTX/xy"
	run strata build -q -t ign:utf8 "$CTX"
	[ "$status" -eq 0 ]
	run image_files ign:utf8
	[ "$status" -eq 0 ]
	[[ "$output" != *"aéc"* ]]
	[[ "$output" != *"éy"* ]]
	# "b??" needs two characters; "bé" has one (two bytes) and stays
	[[ "$output" == *"ctx/bé"* ]]
	[[ "$output" == *"ctx/xy"* ]]
}

@test ".dockerignore: a malformed pattern fails the build naming the pattern and its line" {
	printf 'FROM scratch\nCOPY . /ctx/\n' >"$CTX/Dockerfile"
	for pat in '[a-]' '[abc' '[]' 'end\'; do
		printf '*.o\n%s\n' "$pat" >"$CTX/.dockerignore"
		run strata build -t bad:1 "$CTX"
		echo "$pat: $output"
		[ "$status" -ne 0 ]
		[[ "$output" == *".dockerignore:2: invalid .dockerignore pattern \"$pat\""* ]]
	done
	run strata images -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test ".dockerignore: excluding the Dockerfile and .dockerignore keeps them out of the context" {
	printf 'FROM scratch\nCOPY . /ctx/\n' >"$CTX/Dockerfile"
	printf 'Dockerfile\n.dockerignore\n' >"$CTX/.dockerignore"
	echo kept >"$CTX/keep"
	run strata build -q -t self:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_files self:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"ctx/keep"* ]]
	[[ "$output" != *"ctx/Dockerfile"* ]]
	[[ "$output" != *"ctx/.dockerignore"* ]]
}

# A build with a RUN cache mount of 300 KiB, tagged cm:1.
build_with_cache_mount() {
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
RUN --mount=type=cache,target=/cache dd if=/dev/zero of=/cache/blob bs=1024 count=300
DF
	strata build -q -t cm:1 "$CTX" >/dev/null
}

@test "builder du, system df: a RUN cache mount is counted, as exec.cachemount" {
	build_with_cache_mount
	run strata builder du --verbose
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'Type:\t\texec.cachemount'* ]]
	[[ "$output" == *$'Type:\t\tregular'* ]]
	[[ "$output" == *$'Description:\tRUN '*"dd if=/dev/zero"* ]]
	run strata builder du --filter type=exec.cachemount
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "ID                          RECLAIMABLE   SIZE      LAST ACCESSED" ]
	[ "${#lines[@]}" -eq 7 ]
	[[ "${lines[1]}" =~ \ true\ +3[0-9][0-9]kB ]]
	run strata system df -v
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Build cache usage: "* ]]
	[[ "$output" == *" exec.cachemount "* ]]
	[[ "$output" == *"cm "*"1 "* ]]
}

@test "builder du and system df agree on the build cache's size and what is reclaimable" {
	build_with_cache_mount
	run strata builder du
	[ "$status" -eq 0 ]
	total=$(printf '%s\n' "$output" | sed -n 's/^Total:\t\t//p')
	reclaim=$(printf '%s\n' "$output" | sed -n 's/^Reclaimable:\t//p')
	[ -n "$total" ]
	[ "$reclaim" != 0B ]
	run strata system df --format '{{.Type}}|{{.Size}}|{{.Reclaimable}}'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Build Cache|$total|$reclaim ("* ]]
	# removing the image makes its steps dangling: both see more to reclaim, alike
	strata rmi cm:1 >/dev/null
	run strata builder du
	reclaim2=$(printf '%s\n' "$output" | sed -n 's/^Reclaimable:\t//p')
	[ "$reclaim2" = "$total" ]
	run strata system df --format '{{.Type}}|{{.Size}}|{{.Reclaimable}}'
	[[ "$output" == *"Build Cache|$total|$total (100%)"* ]]
}

@test "builder du --filter: type, id and until select records as buildx du does" {
	build_with_cache_mount
	run strata builder du --filter type=regular
	[ "$status" -eq 0 ]
	[[ "$output" == *"false"* ]]
	run strata builder du --filter type=regular --verbose
	[ "$status" -eq 0 ]
	[[ "$output" != *"exec.cachemount"* ]]
	run strata builder du --verbose --filter type=exec.cachemount
	[ "$status" -eq 0 ]
	id=$(printf '%s\n' "$output" | sed -n 's/^ID:\t\t//p')
	[ -n "$id" ]
	run strata builder du --verbose --filter "id=${id:0:12}"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | grep -c '^ID:')" -eq 1 ]
	[[ "$output" == *$'ID:\t\t'"$id"* ]]
	# everything was used just now: nothing was last used more than an hour ago
	run strata builder du --filter until=1h
	[ "$status" -eq 0 ]
	[[ "$output" == *$'Total:\t\t0B'* ]]
	run strata builder du --filter color=red
	[ "$status" -eq 2 ]
	[[ "$output" == *"bad filter 'color=red': unknown key 'color' (type, id, until)"* ]]
	run strata builder du --filter until=soon
	[ "$status" -eq 2 ]
	[[ "$output" == *"invalid duration 'soon'"* ]]
}
