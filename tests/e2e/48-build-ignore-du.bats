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
