#!/usr/bin/env bats
# Volumes kept in the store (volume create, ls, inspect, rm, prune), -v NAME:/path, anonymous
# volumes, --mount, rm -v, and strata cp in both directions: real containers through runc.
load helpers
bats_require_minimum_version 1.5.0

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
}

teardown() {
	local ids
	ids=$(strata ps -q --no-trunc 2>/dev/null || true)
	if [ -n "$ids" ]; then
		# shellcheck disable=SC2086
		strata rm -f $ids >/dev/null 2>&1 || true
	fi
}

# busybox with /seed/sub/file ("from-image"), as seeded:1.
seeded_image() {
	mkdir -p "$BATS_TEST_TMPDIR/seed/seed/sub"
	echo from-image >"$BATS_TEST_TMPDIR/seed/seed/sub/file"
	cp "$(busybox_tar)" "$BATS_TEST_TMPDIR/seeded.tar"
	tar -rf "$BATS_TEST_TMPDIR/seeded.tar" -C "$BATS_TEST_TMPDIR/seed" seed
	strata import "$BATS_TEST_TMPDIR/seeded.tar" seeded:1 >/dev/null
}

@test "volume: create, ls, inspect as Docker's local driver shows them, then rm" {
	run strata volume create --label team=a data1
	[ "$status" -eq 0 ]
	[ "$output" = "data1" ]
	run strata volume create
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	anon=$output
	run strata volume ls
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "DRIVER    VOLUME NAME" ]
	[[ "$output" == *"local     data1"* ]]
	run strata volume ls -q --filter label=team=a
	[ "$status" -eq 0 ]
	[ "$output" = "data1" ]
	run strata volume ls --format '{{.Name}} {{.Driver}} {{.Labels}}' --filter name=data
	[ "$status" -eq 0 ]
	[ "$output" = "data1 local team=a" ]
	run strata volume inspect -f '{{.Name}} {{.Driver}} {{.Scope}} {{.Mountpoint}} {{.Labels.team}}' data1
	[ "$status" -eq 0 ]
	[ "$output" = "data1 local local $STRATA_ROOT/volumes/data1/_data a" ]
	run strata volume inspect data1
	[ "$status" -eq 0 ]
	[[ "$output" == *'"CreatedAt": "'* ]]
	run strata volume rm data1 "$anon"
	[ "$status" -eq 0 ]
	run strata volume ls
	[ "$status" -eq 0 ]
	[ "$output" = "DRIVER    VOLUME NAME" ]
	run strata volume rm nosuch
	[ "$status" -ne 0 ]
	[[ "$output" == *"get nosuch: no such volume"* ]]
	run strata volume rm -f nosuch
	[ "$status" -eq 0 ]
	run strata volume create 'bad/name'
	[ "$status" -ne 0 ]
	[[ "$output" == *'"bad/name" includes invalid characters for a local volume name'* ]]
}

@test "volume: data kept across containers through a named volume, created on first use" {
	run strata run --network none --rm -v kept:/data busybox sh -c 'echo written > /data/f'
	[ "$status" -eq 0 ]
	run strata volume ls -q
	[ "$output" = "kept" ]
	run strata run --network none --rm -v kept:/data:ro busybox cat /data/f
	[ "$status" -eq 0 ]
	[ "$output" = "written" ]
	run strata run --network none --rm -v kept:/data:ro busybox touch /data/g
	[ "$status" -ne 0 ]
	run strata run --network none --rm --mount type=volume,source=kept,target=/m busybox cat /m/f
	[ "$status" -eq 0 ]
	[ "$output" = "written" ]
}

@test "volume: a new volume is first filled from the image's content at its path" {
	seeded_image
	run strata run --network none --rm -v fresh:/seed seeded:1 cat /seed/sub/file
	[ "$status" -eq 0 ]
	[ "$output" = "from-image" ]
	# A volume that has files is not filled again.
	run strata run --network none --rm -v fresh:/seed seeded:1 sh -c 'rm /seed/sub/file; echo mine > /seed/own'
	[ "$status" -eq 0 ]
	run strata run --network none --rm -v fresh:/seed seeded:1 ls /seed/sub
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "volume: the image's VOLUME is an anonymous volume, removed by rm -v and kept without" {
	strata import --change 'VOLUME /data' "$(busybox_tar)" vol:1 >/dev/null
	strata run --network none --name keep vol:1 sh -c 'echo x > /data/y' >/dev/null
	run strata inspect -f '{{range .Mounts}}{{.Type}} {{.Destination}} {{.RW}} {{.Name}}{{end}}' keep
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^volume\ /data\ true\ [0-9a-f]{64}$ ]]
	kept=${output##* }
	run strata volume inspect -f '{{.Labels}}' "$kept"
	[[ "$output" == *"com.docker.volume.anonymous"* ]]
	run strata rm keep
	[ "$status" -eq 0 ]
	run strata volume ls -q
	[ "$output" = "$kept" ]
	strata run --network none --name gone vol:1 true >/dev/null
	gone=$(strata inspect -f '{{range .Mounts}}{{.Name}}{{end}}' gone)
	run strata rm -v gone
	[ "$status" -eq 0 ]
	run strata volume ls -q
	[ "$output" = "$kept" ]
	# run --rm takes the anonymous volumes of -v /path with it, never a named one.
	run strata run --network none --rm -v /anon -v named:/named busybox true
	[ "$status" -eq 0 ]
	run strata volume ls -q
	[ "${lines[0]}" = "$kept" ]
	[ "${lines[1]}" = "named" ]
	[ "${#lines[@]}" -eq 2 ]
	[ "$gone" != "$kept" ]
}

@test "volume: rm and prune refuse a volume a container uses, with Docker's message" {
	strata create --name user -v used:/data busybox true >/dev/null
	id=$(strata inspect -f '{{.Id}}' user)
	run strata volume rm used
	[ "$status" -ne 0 ]
	[[ "$output" == *"remove used: volume is in use - [$id]"* ]]
	run strata volume rm -f used
	[ "$status" -ne 0 ]
	strata volume create unused >/dev/null
	run strata volume ls -q --filter dangling=true
	[ "$output" = "unused" ]
	# prune without -a takes anonymous volumes only, as Docker 23 and later.
	run strata volume prune -f
	[ "$status" -eq 0 ]
	run strata volume ls -q
	[ "${#lines[@]}" -eq 2 ]
	run strata volume prune -f -a
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted Volumes:"* ]]
	run strata volume ls -q
	[ "$output" = "used" ]
	strata rm user >/dev/null
	run strata volume rm used
	[ "$status" -eq 0 ]
}

@test "run --mount: bind, volume and tmpfs, and Docker's errors" {
	mkdir "$BATS_TEST_TMPDIR/host"
	echo on-host >"$BATS_TEST_TMPDIR/host/f"
	run strata run --network none --rm \
		--mount "type=bind,source=$BATS_TEST_TMPDIR/host,target=/h,readonly" \
		--mount type=tmpfs,target=/t,tmpfs-size=1m busybox sh -c 'cat /h/f; df -k /t | tail -1'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "on-host" ]
	[[ "${lines[1]}" == "tmpfs "*" 1024 "* ]]
	run strata run --network none --rm --mount Type=TMPFS,dst=/r,ro=true busybox touch /r/x
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	run strata run --network none --rm --mount type=volume busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid argument "type=volume" for "--mount" flag: target is required'* ]]
	run strata run --network none --rm --mount type=bind,source=/nonexistent,target=/x busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid mount config for type "bind": bind source path does not exist: /nonexistent'* ]]
	run strata run --network none --rm --mount type=nfs,target=/x busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid mount config for type "nfs": mount type unknown'* ]]
	run strata run --network none --rm --mount type=tmpfs,source=x,target=/x busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid mount config for type "tmpfs": field Source must not be specified'* ]]
	run strata run --network none --rm --mount type=volume,target=/x,colour=red busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"unexpected key 'colour' in 'colour=red'"* ]]
	run strata run --network none --rm -v a:/x --mount type=volume,target=/x busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Duplicate mount point: /x"* ]]
	run strata volume ls -q
	[ -z "$output" ]
}

@test "system df counts volumes; system prune --volumes removes unused anonymous ones" {
	strata run --network none -v /anon -v named:/named busybox sh -c 'echo data > /named/f' >/dev/null
	run strata system df --format '{{.Type}} {{.TotalCount}} {{.Active}}'
	[ "$status" -eq 0 ]
	[[ "$output" == *"Local Volumes 2 2"* ]]
	run strata system df -v
	[ "$status" -eq 0 ]
	[[ "$output" =~ named\ +1\ +5B ]]
	run strata system prune -f --volumes
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted Volumes:"* ]]
	run strata volume ls -q
	[ "$output" = "named" ]
}

@test "cp: both directions with a stopped container, Docker's rules for DEST, diff shows it" {
	strata create --name box busybox true >/dev/null
	mkdir "$BATS_TEST_TMPDIR/out"
	run strata cp box:/etc/passwd "$BATS_TEST_TMPDIR/out/"
	[ "$status" -eq 0 ]
	[[ "$(head -1 "$BATS_TEST_TMPDIR/out/passwd")" == root:* ]]
	run strata cp box:/etc "$BATS_TEST_TMPDIR/out/etc-copy"
	[ "$status" -eq 0 ]
	[ -f "$BATS_TEST_TMPDIR/out/etc-copy/group" ]
	run strata cp box:/etc "$BATS_TEST_TMPDIR/out"
	[ "$status" -eq 0 ]
	[ -f "$BATS_TEST_TMPDIR/out/etc/group" ]
	mkdir "$BATS_TEST_TMPDIR/contents"
	run strata cp box:/etc/. "$BATS_TEST_TMPDIR/contents"
	[ "$status" -eq 0 ]
	[ -f "$BATS_TEST_TMPDIR/contents/group" ]
	run strata cp box:/etc "$BATS_TEST_TMPDIR/out/passwd"
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot copy a directory to a file"* ]]
	run strata cp box:/nonexistent "$BATS_TEST_TMPDIR/out"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Could not find the file /nonexistent in container box"* ]]

	mkdir -p "$BATS_TEST_TMPDIR/in/dir"
	echo in-file >"$BATS_TEST_TMPDIR/in/dir/f"
	chown 1234:1234 "$BATS_TEST_TMPDIR/in/dir/f"
	run strata cp "$BATS_TEST_TMPDIR/in/dir" box:/root
	[ "$status" -eq 0 ]
	run strata cp -a "$BATS_TEST_TMPDIR/in/dir/f" box:/kept
	[ "$status" -eq 0 ]
	run strata cp "$BATS_TEST_TMPDIR/in/dir/f" box:/nodir/
	[ "$status" -ne 0 ]
	[[ "$output" == *"must exist"* ]]
	run strata diff box
	[ "$status" -eq 0 ]
	[[ "$output" == *"A /root/dir/f"* ]]
	[[ "$output" == *"A /kept"* ]]
	# A stopped container's volumes are where its paths lead, as when it runs.
	strata create --name vbox -v cpvol:/data busybox true >/dev/null
	run strata cp "$BATS_TEST_TMPDIR/in/dir/f" vbox:/data/
	[ "$status" -eq 0 ]
	[ "$(cat "$STRATA_ROOT/volumes/cpvol/_data/f")" = "in-file" ]
	run strata diff vbox
	[ -z "$output" ]
	run strata commit box boxed:1
	[ "$status" -eq 0 ]
	run strata run --network none --rm boxed:1 stat -c '%u:%g %n' /root/dir/f /kept
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "0:0 /root/dir/f" ]
	[ "${lines[1]}" = "1234:1234 /kept" ]
}

@test "cp: a running container, tar streams with -, diff shows the copied file" {
	id=$(strata run -d --network none busybox sleep 60)
	echo streamed >"$BATS_TEST_TMPDIR/s"
	tar -C "$BATS_TEST_TMPDIR" -cf "$BATS_TEST_TMPDIR/s.tar" s
	run strata cp - "$id:/tmp" <"$BATS_TEST_TMPDIR/s.tar"
	[ "$status" -eq 0 ]
	run strata exec "$id" cat /tmp/s
	[ "$status" -eq 0 ]
	[ "$output" = "streamed" ]
	run strata cp - "$id:/etc/passwd" <"$BATS_TEST_TMPDIR/s.tar"
	[ "$status" -ne 0 ]
	[[ "$output" == *'destination "/etc/passwd" must be a directory'* ]]
	run strata diff "$id"
	[[ "$output" == *"A /tmp/s"* ]]
	strata cp "$id:/etc/group" - >"$BATS_TEST_TMPDIR/g.tar"
	run tar -tf "$BATS_TEST_TMPDIR/g.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "group" ]
	run strata cp "$id:/tmp/s" "$BATS_TEST_TMPDIR/back"
	[ "$status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/back")" = "streamed" ]
}

@test "cp: symlinks in the container to / or ../../ never lead outside it" {
	id=$(strata run -d --network none busybox sh -c 'ln -s / /root-link; ln -s ../../../../../.. /tmp/up; sleep 60')
	# Wait for the links: exec runs once the container does.
	strata exec "$id" sh -c 'while [ ! -L /tmp/up ]; do sleep 0.1; done'
	marker=strata-cp-escape-$$-$RANDOM
	echo inside >"$BATS_TEST_TMPDIR/$marker"
	run strata cp "$BATS_TEST_TMPDIR/$marker" "$id:/root-link/tmp/"
	[ "$status" -eq 0 ]
	run strata cp "$BATS_TEST_TMPDIR/$marker" "$id:/tmp/up/"
	[ "$status" -eq 0 ]
	tar -C "$BATS_TEST_TMPDIR" -cf "$BATS_TEST_TMPDIR/m.tar" "$marker"
	run strata cp - "$id:/tmp/up/etc" <"$BATS_TEST_TMPDIR/m.tar"
	[ "$status" -eq 0 ]
	# Nothing on the host's / or /tmp or /etc: both landed in the container's.
	[ ! -e "/$marker" ]
	[ ! -e "/tmp/$marker" ]
	[ ! -e "/etc/$marker" ]
	run strata exec "$id" cat "/tmp/$marker" "/$marker" "/etc/$marker"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	# Reading through them gives the container's files, not the host's.
	echo host-only >"$BATS_TEST_TMPDIR/host-only"
	run strata cp "$id:/tmp/up$BATS_TEST_TMPDIR/host-only" "$BATS_TEST_TMPDIR/read"
	[ "$status" -ne 0 ]
	[ ! -e "$BATS_TEST_TMPDIR/read" ]
	run strata cp "$id:/root-link/etc/passwd" "$BATS_TEST_TMPDIR/pw"
	[ "$status" -eq 0 ]
	cmp "$BATS_TEST_TMPDIR/pw" <(strata run --network none --rm busybox cat /etc/passwd)
	# A stopped container too.
	strata stop -t 0 "$id" >/dev/null
	run strata cp "$BATS_TEST_TMPDIR/$marker" "$id:/tmp/up/var/"
	[ "$status" -eq 0 ]
	[ ! -e "/var/$marker" ]
	run strata diff "$id"
	[[ "$output" == *"A /var/$marker"* ]]
}
