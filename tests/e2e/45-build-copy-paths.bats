#!/usr/bin/env bats
# strata build: paths inside a stage's or an image's root. Symlinks in sources, destinations,
# WORKDIR and --chown's user lookup resolve inside the image, never on the host.
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
	# A file on the host that must never end up in an image.
	HOSTDIR=$BATS_TEST_TMPDIR/host
	mkdir -p "$HOSTDIR/dir"
	echo host-secret >"$HOSTDIR/marker"
	echo host-secret >"$HOSTDIR/dir/marker"
	OUT=$BATS_TEST_TMPDIR/out.tar
}

# The content of PATH (no leading '/') in IMAGE's flattened filesystem.
image_cat() {
	strata export -o "$OUT" "$1"
	tar -xOf "$OUT" "$2"
}

# 'tar tv' of PATH in IMAGE's flattened filesystem.
image_ls() {
	strata export -o "$OUT" "$1"
	tar -tvf "$OUT" "$2"
}

# A stage 'a' where /hostroot links to '/' and the marker's path also exists inside the stage.
stage_with_root_link() {
	cat >"$CTX/Dockerfile" <<DF
FROM busybox AS a
RUN ln -s $1 /hostroot && mkdir -p $HOSTDIR/dir && echo inside > $HOSTDIR/marker && echo inside > $HOSTDIR/dir/marker
FROM busybox
$2
DF
}

@test "COPY --from: an absolute link in the source path resolves inside the stage" {
	stage_with_root_link / "COPY --from=a /hostroot$HOSTDIR/marker /x"
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_cat t:1 x
	[ "$status" -eq 0 ]
	[ "$output" = inside ]
}

@test "COPY --from: a relative link that climbs above the root stops at the stage's root" {
	stage_with_root_link ../../../../../../../../.. "COPY --from=a /hostroot$HOSTDIR/marker /x"
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_cat t:1 x
	[ "$status" -eq 0 ]
	[ "$output" = inside ]
}

@test "COPY --from: a path through a link to the root that the stage lacks is not found" {
	printf 'FROM busybox AS a\nRUN ln -s / /hostroot\nFROM busybox\nCOPY --from=a /hostroot%s/marker /x\n' \
		"$HOSTDIR" >"$CTX/Dockerfile"
	run strata build -t t:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/hostroot$HOSTDIR/marker"*"not found"* ]]
	[[ "$output" != *host-secret* ]]
	run strata images -q
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | wc -w)" -eq 1 ]
}

@test "COPY --from: a directory source through a link is copied from the stage" {
	stage_with_root_link / "COPY --from=a /hostroot$HOSTDIR/dir/ /d/"
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_cat t:1 d/marker
	[ "$status" -eq 0 ]
	[ "$output" = inside ]
}

@test "COPY --from --parents: a link in the source path resolves inside the stage" {
	stage_with_root_link / "COPY --parents --from=a /hostroot$HOSTDIR/marker /p/"
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_cat t:1 "p/hostroot${HOSTDIR}/marker"
	[ "$status" -eq 0 ]
	[ "$output" = inside ]
}

@test "COPY --from --link: a link in the source path resolves inside the stage" {
	stage_with_root_link / "COPY --link --from=a /hostroot$HOSTDIR/marker /x"
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_cat t:1 x
	[ "$status" -eq 0 ]
	[ "$output" = inside ]
}

@test "COPY --from an image: a link shipped in a layer resolves inside the image" {
	mkdir -p "$BATS_TEST_TMPDIR/rootfs$HOSTDIR"
	echo inside >"$BATS_TEST_TMPDIR/rootfs$HOSTDIR/marker"
	ln -s / "$BATS_TEST_TMPDIR/rootfs/hostroot"
	ln -s ../../../../../../../.. "$BATS_TEST_TMPDIR/rootfs/up"
	tar -cf "$BATS_TEST_TMPDIR/evil.tar" -C "$BATS_TEST_TMPDIR/rootfs" .
	strata import "$BATS_TEST_TMPDIR/evil.tar" evil:1 >/dev/null
	printf 'FROM busybox\nCOPY --from=evil:1 /hostroot%s/marker /x\nCOPY --from=evil:1 /up%s/marker /y\n' \
		"$HOSTDIR" "$HOSTDIR" >"$CTX/Dockerfile"
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_cat t:1 x
	[ "$output" = inside ]
	run image_cat t:1 y
	[ "$output" = inside ]
}

@test "COPY --chown: the user is looked up in the image's /etc/passwd, not through a link to the host" {
	mkdir -p "$HOSTDIR/etc"
	echo 'hostonly:x:4242:4242::/:/bin/sh' >"$HOSTDIR/etc/passwd"
	echo 'hostonly:x:4242:' >"$HOSTDIR/etc/group"
	mkdir -p "$BATS_TEST_TMPDIR/rootfs"
	ln -s "$HOSTDIR/etc" "$BATS_TEST_TMPDIR/rootfs/etc"
	tar -cf "$BATS_TEST_TMPDIR/evil.tar" -C "$BATS_TEST_TMPDIR/rootfs" .
	strata import "$BATS_TEST_TMPDIR/evil.tar" evil:1 >/dev/null
	echo data >"$CTX/f"
	printf 'FROM evil:1\nCOPY --chown=hostonly f /f\n' >"$CTX/Dockerfile"
	run strata build -t t:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"hostonly"* ]]
	[[ "$output" != *4242* ]]
}

@test "COPY: a destination through a link to a host path is written inside the image" {
	chmod 0700 "$HOSTDIR/dir"
	echo data >"$CTX/f"
	printf 'FROM busybox\nRUN ln -s %s /hl\nCOPY f /hl/dir/f\n' "$HOSTDIR" >"$CTX/Dockerfile"
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_cat t:1 "${HOSTDIR#/}/dir/f"
	[ "$status" -eq 0 ]
	[ "$output" = data ]
	run image_ls t:1 hl
	[ "$status" -eq 0 ]
	[[ "$output" == l* ]]
	# The created parents are the image's own, not copies of the host's 0700 dir.
	run image_ls t:1 "${HOSTDIR#/}/dir/"
	[ "$status" -eq 0 ]
	[[ "$output" == drwxr-xr-x* ]]
	[ ! -e "$HOSTDIR/dir/f" ]
}
