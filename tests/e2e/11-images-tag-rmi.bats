load helpers
setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
}

@test "images: the default table has Docker's columns" {
	run strata images
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]]
	[[ "${lines[1]}" =~ ^busybox\ +latest\ +[0-9a-f]{12}\ + ]]
}

@test "images: -q, --digests, --no-trunc and --format" {
	run strata images -q
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{12}$ ]]
	run strata images --digests
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *DIGEST* ]]
	[[ "${lines[1]}" == *sha256:* ]]
	run strata images --no-trunc
	[[ "${lines[1]}" =~ sha256:[0-9a-f]{64} ]]
	run strata images --format '{{.Repository}}:{{.Tag}} {{.Size}}'
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^busybox:latest\ [0-9.]+MB$ ]]
	run strata images --format 'table {{.Repository}}\t{{.Tag}}'
	[[ "${lines[0]}" =~ ^REPOSITORY\ +TAG$ ]]
	[[ "${lines[1]}" =~ ^busybox\ +latest$ ]]
}

@test "tag: a second name for the same image, filters by reference" {
	run strata tag busybox localhost:5000/tools/bb:v1
	[ "$status" -eq 0 ]
	run strata images --format '{{.Repository}}:{{.Tag}}'
	[ "$status" -eq 0 ]
	[[ "$output" == *"busybox:latest"* ]]
	[[ "$output" == *"localhost:5000/tools/bb:v1"* ]]
	run strata images --filter 'reference=localhost:5000/*/*' --format '{{.Repository}}'
	[ "$output" = "localhost:5000/tools/bb" ]
	run strata tag nosuch:1 x:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"nosuch"* ]]
	run strata tag busybox 'Bad:Name'
	[ "$status" -ne 0 ]
}

@test "rmi: untags, deletes when the last tag goes, -f for an id with several tags" {
	strata tag busybox other:1
	id=$(strata images -q | head -1)
	run strata rmi "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"-f"* ]]
	run strata rmi other:1
	[ "$status" -eq 0 ]
	[ "$output" = "Untagged: other:1" ]
	run strata rmi busybox
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "Untagged: busybox:latest" ]]
	[[ "${lines[1]}" == "Deleted: sha256:"* ]]
	run strata images -q
	[ -z "$output" ]
	run strata rmi busybox
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such image"* ]]
}

@test "image prune: dangling images go, -a removes every unused image" {
	tar=$(busybox_tar)
	# retagging busybox:latest onto a new image leaves the old one dangling
	strata import --message second "$tar" busybox:latest >/dev/null
	run strata images --filter dangling=true -q
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	run strata image prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"Total reclaimed space"* ]]
	run strata images --filter dangling=true -q
	[ -z "$output" ]
	run strata images -q
	[ -n "$output" ]
	run strata image prune -a -f
	[ "$status" -eq 0 ]
	run strata images -q
	[ -z "$output" ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "system df: a layer shared by two images is counted once" {
	tar=$(busybox_tar)
	strata import --change 'ENV X=1' "$tar" two:1 >/dev/null
	run strata system df --format '{{.Type}} {{.TotalCount}} {{.Size}}'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^Images\ 2\  ]]
	one=$(strata images --format '{{.Size}}' | head -1)
	[[ "${lines[0]}" == "Images 2 $one" ]]
}

@test "images: an empty store prints only the header" {
	export STRATA_ROOT="$BATS_TEST_TMPDIR/empty"
	run strata images
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ ^REPOSITORY\ +TAG\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]]
	run strata images --digests
	[[ "${lines[0]}" =~ ^REPOSITORY\ +TAG\ +DIGEST\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]]
}
