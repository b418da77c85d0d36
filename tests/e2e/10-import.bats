load helpers
setup() { common_setup; }

@test "import: a rootfs tarball becomes a one-layer image" {
	tar=$(busybox_tar)
	run strata import "$tar" busybox:latest
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	id=$output
	run strata images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}'
	[ "$status" -eq 0 ]
	[ "$output" = "busybox:latest $id" ]
	run strata inspect --format '{{len .RootFS.Layers}} {{.Os}}' busybox
	[ "$status" -eq 0 ]
	[ "$output" = "1 linux" ]
}

@test "import: from stdin, with --change and --message" {
	tar=$(busybox_tar)
	run strata import --change 'CMD ["/bin/sh", "-c", "echo hi"]' --change 'ENV A=1' \
		--change 'WORKDIR /srv' --message 'base image' - img:1 <"$tar"
	[ "$status" -eq 0 ]
	run strata inspect --format '{{json .Config.Cmd}} {{.Config.Env}} {{.Config.WorkingDir}}' img:1
	[ "$status" -eq 0 ]
	[ "$output" = '["/bin/sh","-c","echo hi"] [A=1] /srv' ]
	run strata history --format '{{.Comment}}' img:1
	[ "$status" -eq 0 ]
	[ "$output" = "base image" ]
}

@test "import: a directory gives the same files as its tarball" {
	tar=$(busybox_tar)
	mkdir "$BATS_TEST_TMPDIR/rootfs"
	tar -C "$BATS_TEST_TMPDIR/rootfs" -xf "$tar"
	run strata import "$BATS_TEST_TMPDIR/rootfs" fromdir:1
	[ "$status" -eq 0 ]
	run strata export fromdir:1 -o "$BATS_TEST_TMPDIR/out.tar"
	[ "$status" -eq 0 ]
	tar -tf "$BATS_TEST_TMPDIR/out.tar" | sed 's|^\./||; s|/$||' | grep -v '^$' | sort >"$BATS_TEST_TMPDIR/a"
	tar -tf "$tar" | sed 's|^\./||; s|/$||' | grep -v '^$' | sort >"$BATS_TEST_TMPDIR/b"
	diff "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
}

@test "import: a file that is not a tar is refused and nothing is recorded" {
	echo "not a tarball" >"$BATS_TEST_TMPDIR/bad.tar"
	run strata import "$BATS_TEST_TMPDIR/bad.tar" bad:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"bad.tar"* ]]
	run strata images -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "import: a missing file names it" {
	run strata import "$BATS_TEST_TMPDIR/nope.tar" x:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"nope.tar"* ]]
}

@test "import: with SOURCE_DATE_EPOCH the same tarball gives the same image id" {
	tar=$(busybox_tar)
	export SOURCE_DATE_EPOCH=1700000000
	run strata import "$tar" a:1
	a=$output
	STRATA_ROOT="$BATS_TEST_TMPDIR/other" run strata import "$tar" b:1
	[ "$status" -eq 0 ]
	[ "$a" = "$output" ]
	run strata inspect --format '{{.Created}}' a:1
	[ "$output" = "2023-11-14T22:13:20Z" ]
}

@test "import: SOURCE_DATE_EPOCH sets the creation time; a value that is no epoch is an error" {
	SOURCE_DATE_EPOCH=1700000000 strata import "$(busybox_tar)" sde:1 >/dev/null
	run strata inspect --format '{{.Created}}' sde:1
	[ "$output" = "2023-11-14T22:13:20Z" ]
	run env SOURCE_DATE_EPOCH=abc "$STRATA_BIN" import "$(busybox_tar)" sde:2
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid SOURCE_DATE_EPOCH 'abc'"* ]]
	run env SOURCE_DATE_EPOCH=abc "$STRATA_BIN" build -t x "$BATS_TEST_TMPDIR"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid SOURCE_DATE_EPOCH 'abc'"* ]]
}
