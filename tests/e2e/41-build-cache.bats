#!/usr/bin/env bats
# strata build: the cache and its explanations, and the lessons Docker users rely on.
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX/src"
	echo '{}' >"$CTX/package.json"
	echo 'v1' >"$CTX/src/app.js"
}

@test "build cache: a rebuild is all CACHED and gives the same image id" {
	printf 'FROM busybox\nCOPY . /app\nRUN date > /built\n' >"$CTX/Dockerfile"
	run strata build -q -t c:1 "$CTX"; id1=$output
	run strata build --progress=plain -t c:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#3 CACHED"* ]]
	[[ "$output" != *"cache miss"* ]]
	run strata build -q -t c:1 "$CTX"
	[ "$output" = "$id1" ]
}

@test "build cache: COPY package.json before the dependency step keeps it cached" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
WORKDIR /app
COPY package.json ./
RUN echo installing > deps
COPY . .
RUN cat src/app.js
DF
	strata build -q -t app:1 "$CTX"
	echo 'v2' >"$CTX/src/app.js"
	run strata build --progress=plain -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"RUN echo installing > deps"*"CACHED"*"COPY . ."*"cache miss: file src/app.js changed"* ]]
}

@test "build cache: a changed build arg and instruction are explained; --no-cache too" {
	printf 'FROM busybox\nARG VERSION=1\nRUN echo $VERSION\n' >"$CTX/Dockerfile"
	strata build -q --build-arg VERSION=1 "$CTX"
	run strata build --progress=plain --build-arg VERSION=2 "$CTX"
	[[ "$output" == *"build arg VERSION changed from '1' to '2'"* ]]
	printf 'FROM busybox\nARG VERSION=1\nRUN echo $VERSION!\n' >"$CTX/Dockerfile"
	run strata build --progress=plain --build-arg VERSION=2 "$CTX"
	[[ "$output" == *"the instruction changed"* ]]
	run strata build --progress=plain --no-cache --build-arg VERSION=2 "$CTX"
	[[ "$output" == *"cache miss: --no-cache"* ]]
}

@test "build cache: .dockerignore keeps files out of the image and out of the key" {
	mkdir -p "$CTX/node_modules"; echo junk >"$CTX/node_modules/x"
	echo node_modules >"$CTX/.dockerignore"
	printf 'FROM busybox\nCOPY . /app\n' >"$CTX/Dockerfile"
	strata build -q -t ign:1 "$CTX"
	run sh -c "'$STRATA_BIN' export ign:1 | tar t"
	[[ "$output" != *node_modules* ]]
	echo more >"$CTX/node_modules/y"
	run strata build --progress=plain -t ign:1 "$CTX"
	[[ "$output" == *"#2 CACHED"* ]]
}

@test "build: deleting in a later RUN does not shrink the image; in the same RUN it does" {
	printf 'FROM busybox\nRUN head -c 3000000 /dev/urandom > /big\nRUN rm /big\n' >"$CTX/Dockerfile"
	strata build -q -t two:1 "$CTX"
	printf 'FROM busybox\nRUN head -c 3000000 /dev/urandom > /big && rm /big\n' >"$CTX/Dockerfile"
	strata build -q -t one:1 "$CTX"
	run strata inspect --format '{{.Size}}' two:1; two=$output
	run strata inspect --format '{{.Size}}' one:1; one=$output
	[ "$two" -gt $((one + 2900000)) ]
}

@test "builder du: one row per record and the totals, as Docker prints them" {
	printf 'FROM busybox\nRUN echo x > /x\n' >"$CTX/Dockerfile"
	strata build -q -t du:1 "$CTX"
	run strata builder du
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "ID"*"RECLAIMABLE"*"SIZE"*"LAST ACCESSED" ]]
	[[ "${lines[1]}" == *" false "*"ago" ]]
	[[ "$output" == *"Reclaimable:"*"0B"*"Total:"* ]]
}

@test "builder prune: without --all only dangling cache goes; the image's steps stay cached" {
	printf 'FROM busybox\nRUN echo x > /x\n' >"$CTX/Dockerfile"
	strata build -q -t keep:1 "$CTX"
	printf 'FROM busybox\nRUN echo y > /y\n' >"$CTX/Dockerfile"
	strata build -q "$CTX"     # untagged: its image is dangling but still in the store
	run strata image prune -f  # now nothing was built through the second RUN
	[ "$status" -eq 0 ]
	run strata builder prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted build cache objects: 1"* ]]
	printf 'FROM busybox\nRUN echo x > /x\n' >"$CTX/Dockerfile"
	run strata build --progress=plain -t keep:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 CACHED"* ]]
	printf 'FROM busybox\nRUN echo y > /y\n' >"$CTX/Dockerfile"
	run strata build --progress=plain "$CTX"
	[[ "$output" == *"cache miss"* ]]
}

@test "builder prune --all: every record, the context checksums and the miss explanations" {
	printf 'FROM busybox\nCOPY . /app\nRUN echo x > /x\n' >"$CTX/Dockerfile"
	strata build -q -t all:1 "$CTX"
	run strata builder du
	[[ "$output" == *"Metadata:"* ]]
	[[ "$output" != *"Metadata:"*" 0B"* ]]
	run strata builder prune --all -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted build cache objects: 2"* ]]
	run strata builder du
	[[ "$output" == *"Metadata:"*"0B"*"Total:"*"0B"* ]]
	run strata build --progress=plain -t all:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cache miss"* ]]
	[[ "$output" != *"CACHED"* ]]
}

@test "builder prune --keep-storage keeps the most recently used records within the size" {
	printf 'FROM busybox\nRUN head -c 300000 /dev/urandom > /a\nRUN head -c 300000 /dev/urandom > /b\n' >"$CTX/Dockerfile"
	strata build -q "$CTX"
	run strata builder prune --all -f --keep-storage 400kB
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted build cache objects: 1"* ]]
	run strata builder du
	[ "${#lines[@]}" -eq 7 ]
	[[ "${lines[1]}" == *" false "*"kB"* ]]
	run strata builder prune --all -f --keep-storage 1x
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid size '1x'"* ]]
}
