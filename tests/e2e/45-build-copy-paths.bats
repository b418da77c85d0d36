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
	tar --warning=no-unknown-keyword -xOf "$OUT" "$2"
}

# 'tar tv' of PATH in IMAGE's flattened filesystem.
image_ls() {
	strata export -o "$OUT" "$1"
	tar --warning=no-unknown-keyword -tvf "$OUT" "$2"
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

@test "COPY --from: a source that is a link is followed; links inside a copied directory stay links" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox AS a
RUN mkdir -p /real/sub && echo in > /real/sub/f && ln -s sub/f /real/rel && ln -s /real /linkdir
FROM busybox
COPY --from=busybox /bin/sh /bin2/
COPY --from=a /linkdir/ /d/
COPY --from=a /linkdir /e
DF
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_ls t:1 bin2/sh
	[ "$status" -eq 0 ]
	[[ "$output" == -* ]]
	run image_cat t:1 d/sub/f
	[ "$output" = in ]
	run image_ls t:1 d/rel
	[[ "$output" == l*"d/rel -> sub/f" ]]
	run image_cat t:1 e/sub/f
	[ "$output" = in ]
}

@test "WORKDIR: a link, a path below a link and a dangling link are written through and kept" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
RUN mkdir /target && ln -s /target /wl && ln -s /made/here /dangling
WORKDIR /wl
RUN echo a > a
WORKDIR /wl/sub
RUN echo b > b
WORKDIR /dangling
RUN echo c > c
DF
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_cat t:1 target/a
	[ "$output" = a ]
	run image_cat t:1 target/sub/b
	[ "$output" = b ]
	run image_cat t:1 made/here/c
	[ "$output" = c ]
	run image_ls t:1 wl
	[[ "$output" == l*"wl -> /target" ]]
	run image_ls t:1 dangling
	[[ "$output" == l*"dangling -> /made/here" ]]
}

@test "COPY: a destination directory reached through a link is written into and the link kept" {
	echo data >"$CTX/f"
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
RUN mkdir /target && ln -s /target /dl && ln -s target /rl
COPY f /dl/
COPY f /rl/sub/g
COPY f /dl
DF
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_cat t:1 target/f
	[ "$output" = data ]
	run image_cat t:1 target/sub/g
	[ "$output" = data ]
	run image_ls t:1 dl
	[[ "$output" == l*"dl -> /target" ]]
	run image_ls t:1 rl
	[[ "$output" == l*"rl -> target" ]]
}

@test "COPY --from and RUN on a stage built FROM another stage that repeats one of its layers" {
	echo f >"$CTX/f"
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox AS base
COPY f /f
RUN echo base > /base
FROM base AS mid
COPY f /f
RUN echo mid > /mid
FROM busybox
COPY --from=mid /base /mid /f /out/
DF
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_cat t:1 out/base
	[ "$output" = base ]
	run image_cat t:1 out/mid
	[ "$output" = mid ]
	run image_cat t:1 out/f
	[ "$output" = f ]
}

@test "COPY: a wildcard that matches nothing copies nothing; a missing plain path fails naming it" {
	echo x >"$CTX/x"
	printf 'FROM busybox\nCOPY *.nothing /w/\nCOPY --from=busybox /nothing* /v/\nCOPY x /x\n' >"$CTX/Dockerfile"
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_cat t:1 x
	[ "$output" = x ]
	printf 'FROM busybox\nCOPY missing.txt /m\n' >"$CTX/Dockerfile"
	run strata build -t t:2 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *'"missing.txt": not found'* ]]
	printf 'FROM busybox\nCOPY --from=busybox /missing.txt /m\n' >"$CTX/Dockerfile"
	run strata build -t t:2 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *'"/missing.txt": not found'* ]]
}

@test "load: a layer that hardlinks a file of a lower layer unpacks, within the image only" {
	python3 - "$BATS_TEST_TMPDIR/hl.tar" "$HOSTDIR/marker" <<'PY'
import hashlib, io, json, sys, tarfile

def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif kind == "file":
                ti.size, ti.mode = len(data), 0o750
                ti.pax_headers = {"SCHILY.xattr.user.strata-test": "kept"}
                t.addfile(ti, io.BytesIO(data))
            else:
                ti.type, ti.linkname = tarfile.LNKTYPE, data
                t.addfile(ti)
    return buf.getvalue()

layers = [
    layer([("bin", "dir", None), ("bin/tool", "file", b"tool\n")]),
    layer([("usr", "dir", None), ("usr/tool2", "link", "bin/tool")]),
]
out_ok = sys.argv[1]

def archive(path, tag, layers):
    diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    files = {"config.json": cfg}
    names = []
    for i, l in enumerate(layers):
        files["l%d.tar" % i] = l
        names.append("l%d.tar" % i)
    files["manifest.json"] = json.dumps(
        [{"Config": "config.json", "RepoTags": [tag], "Layers": names}]).encode()
    with tarfile.open(path, "w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))

archive(out_ok, "hl:1", layers)
# A link to a path only the host has must not reach the host.
evil = [layers[0], layer([("usr", "dir", None), ("usr/stolen", "link", sys.argv[2])])]
archive(out_ok.replace("hl.tar", "evil.tar"), "evil:1", evil)
PY
	run strata load -i "$BATS_TEST_TMPDIR/hl.tar"
	[ "$status" -eq 0 ]
	printf 'FROM busybox\nCOPY --from=hl:1 /usr/tool2 /bin/tool /out/\n' >"$CTX/Dockerfile"
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_cat t:1 out/tool2
	[ "$output" = tool ]
	run image_ls t:1 out/tool2
	[[ "$output" == -rwxr-x---* ]]
	# The copy in the unpacked layer keeps the file's xattrs.
	run python3 -c 'import glob, os, sys; print(os.getxattr(glob.glob(sys.argv[1] + "/layers/*/usr/tool2")[0], "user.strata-test").decode())' "$STRATA_ROOT"
	[ "$output" = kept ]
	run strata load -i "$BATS_TEST_TMPDIR/evil.tar"
	[ "$status" -eq 0 ]
	printf 'FROM busybox\nCOPY --from=evil:1 /usr/ /out/\n' >"$CTX/Dockerfile"
	run strata build -t t:2 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"hardlink target '${HOSTDIR#/}/marker' not found"* ]]
	[[ "$output" != *host-secret* ]]
}

@test "COPY: a context source that is a link is followed inside the context" {
	mkdir -p "$CTX/real"
	echo in >"$CTX/real/f"
	ln -s real/f "$CTX/flink"
	ln -s /real "$CTX/dlink"
	ln -s "$HOSTDIR/marker" "$CTX/out"
	printf 'FROM busybox\nCOPY flink /x\nCOPY dlink /d/\n' >"$CTX/Dockerfile"
	run strata build -t t:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_ls t:1 x
	[[ "$output" == -* ]]
	run image_cat t:1 x
	[ "$output" = in ]
	run image_cat t:1 d/f
	[ "$output" = in ]
	printf 'FROM busybox\nCOPY out /x\n' >"$CTX/Dockerfile"
	run strata build -t t:2 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *'"out": a link to a file that is not in the build context'* ]]
	[[ "$output" != *host-secret* ]]
}

@test "RUN --mount=from: a source path through a link stays inside the stage" {
	cat >"$CTX/Dockerfile" <<DF
FROM busybox AS a
RUN ln -s / /hostroot
FROM busybox
RUN --mount=type=bind,from=a,source=/hostroot$HOSTDIR,target=/m cat /m/marker > /seen || echo none > /seen
DF
	run strata build -t t:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" != *host-secret* ]]
}

@test "WORKDIR: a path that is a file in the image is an error naming it" {
	printf 'FROM busybox\nRUN touch /file\nWORKDIR /file\n' >"$CTX/Dockerfile"
	run strata build -t t:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"'/file' is not a directory"* ]]
}
