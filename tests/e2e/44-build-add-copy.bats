#!/usr/bin/env bats
# strata build: ADD from URLs (a local HTTP server), and COPY/ADD details: hardlinks, --chmod,
# --from globs, heredoc expansion, --link, --unpack.
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	WWW=$BATS_TEST_TMPDIR/www
	mkdir -p "$CTX" "$WWW"
	python3 "$BATS_TEST_DIRNAME/fixtures/http-server.py" "$WWW" "$BATS_TEST_TMPDIR/port" 3>&- &
	SRV_PID=$!
	for _ in $(seq 50); do if [ -f "$BATS_TEST_TMPDIR/port" ]; then break; fi; sleep 0.1; done
	URL=http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")
}

teardown() {
	[ -z "${SRV_PID:-}" ] || kill "$SRV_PID" 2>/dev/null || true
}

sha256() { sha256sum "$1" | cut -d' ' -f1; }

@test "ADD URL: named after the URL, 0600, Last-Modified mtime, archives kept, --chown, redirects" {
	echo hello >"$WWW/tool.sh"
	touch -d @1600000000 "$WWW/tool.sh"
	mkdir -p "$BATS_TEST_TMPDIR/t" && echo in >"$BATS_TEST_TMPDIR/t/inner"
	tar -czf "$WWW/pkg.tar.gz" -C "$BATS_TEST_TMPDIR/t" inner
	cat >"$CTX/Dockerfile" <<DF
FROM busybox
ADD $URL/tool.sh /dl/
ADD $URL/tool.sh /named
ADD $URL/pkg.tar.gz /dl/
ADD --chown=1:2 $URL/redirect/tool.sh /owned
RUN test "\$(stat -c '%a %u %Y' /dl/tool.sh)" = "600 0 1600000000" && \\
    test "\$(cat /named)" = hello && test -f /dl/pkg.tar.gz && ! test -e /dl/inner && \\
    test "\$(stat -c '%u:%g %a' /owned)" = "1:2 600"
DF
	run strata build --progress=plain -t url:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "ADD URL: --checksum verified; a mismatch names the URL and both digests" {
	echo payload >"$WWW/f.bin"
	good=$(sha256 "$WWW/f.bin")
	bad=$(printf x | sha256sum | cut -d' ' -f1)
	printf 'FROM busybox\nADD --checksum=sha256:%s %s/f.bin /f.bin\nRUN grep -q payload /f.bin\n' "$good" "$URL" >"$CTX/Dockerfile"
	run strata build --progress=plain -t sum:1 "$CTX"
	[ "$status" -eq 0 ]
	printf 'FROM busybox\nADD --checksum=sha256:%s %s/f.bin /f.bin\n' "$bad" "$URL" >"$CTX/Dockerfile"
	run strata build --progress=plain -t sum:2 "$CTX"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"ADD $URL/f.bin: checksum mismatch: expected sha256:$bad, got sha256:$good"* ]]
	printf 'FROM busybox\nADD --checksum=md5:abc %s/f.bin /f.bin\n' "$URL" >"$CTX/Dockerfile"
	run strata build -t sum:3 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid --checksum=md5:abc"* ]]
}

@test "ADD URL: a 404 names the URL and the status; a .git URL is a repository; COPY refuses URLs" {
	printf 'FROM busybox\nADD %s/missing.txt /m\n' "$URL" >"$CTX/Dockerfile"
	run strata build -t nf:1 "$CTX"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"fetch '$URL/missing.txt': server returned HTTP 404 Not Found"* ]]
	printf 'FROM busybox\nADD %s/no-such-repo.git /src\n' "$URL" >"$CTX/Dockerfile"
	run strata build -t git:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"ADD $URL/no-such-repo.git: git ls-remote:"* ]]
	printf 'FROM busybox\nADD git@127.0.0.1:repo.git /src\n' >"$CTX/Dockerfile"
	run strata build -t git:2 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"an ssh git URL needs an SSH agent"* ]]
	printf 'FROM busybox\nCOPY %s/x /x\n' "$URL" >"$CTX/Dockerfile"
	run strata build -t cp:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"a URL can only be a source of ADD"* ]]
}

@test "ADD URL: the same content is CACHED, a changed file misses with a reason" {
	echo v1 >"$WWW/data.txt"
	printf 'FROM busybox\nADD %s/data.txt /data.txt\nRUN cat /data.txt\n' "$URL" >"$CTX/Dockerfile"
	run strata build --progress=plain -t c:1 "$CTX"
	[ "$status" -eq 0 ]
	run strata build --progress=plain -t c:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 CACHED"* ]]
	[[ "$output" != *"cache miss"* ]]
	echo v2 >"$WWW/data.txt"
	run strata build --progress=plain -t c:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cache miss: file $URL/data.txt changed"* ]]
}

@test "ADD URL: with --checksum a cached step does not fetch again" {
	echo stable >"$WWW/s.txt"
	printf 'FROM busybox\nADD --checksum=sha256:%s %s/s.txt /s.txt\n' "$(sha256 "$WWW/s.txt")" "$URL" >"$CTX/Dockerfile"
	run strata build -q -t ck:1 "$CTX"
	[ "$status" -eq 0 ]
	id1=$output
	kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=
	run strata build --progress=plain -t ck:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 CACHED"* ]]
	run strata build -q -t ck:1 "$CTX"
	[ "$output" = "$id1" ]
}

@test "COPY: hardlinks among the sources stay hardlinks" {
	mkdir -p "$CTX/d"
	echo same >"$CTX/d/a"
	ln "$CTX/d/a" "$CTX/d/b"
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
COPY d /d
RUN test "$(stat -c %i /d/a)" = "$(stat -c %i /d/b)" && test "$(stat -c %h /d/a)" = 2
DF
	run strata build --progress=plain -t hl:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "COPY --chmod: octal and symbolic modes; a bad mode is refused" {
	echo x >"$CTX/f"; chmod 0640 "$CTX/f"
	mkdir -p "$CTX/dir"; echo y >"$CTX/dir/g"; chmod 0600 "$CTX/dir/g"
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
COPY --chmod=755 f /oct
COPY --chmod=u=rwx,go=rx f /sym
COPY --chmod=a+X,g+w dir /dir
COPY --chmod=go-r f /minus
RUN test "$(stat -c %a /oct)" = 755 && test "$(stat -c %a /sym)" = 755 && \
    test "$(stat -c %a /dir/g)" = 620 && test "$(stat -c %a /minus)" = 600
DF
	run strata build --progress=plain -t chm:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	printf 'FROM busybox\nCOPY --chmod=u=bogus f /f\n' >"$CTX/Dockerfile"
	run strata build -t chm:2 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid --chmod=u=bogus"* ]]
}

@test "COPY --from: globs in any path component" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox AS src
RUN mkdir -p /src/a /src/b /src/c && echo 1 >/src/a/f1.txt && echo 2 >/src/b/f2.txt && echo 3 >/src/c/other
FROM busybox
COPY --from=src /src/*/f*.txt /out/
RUN test "$(cat /out/f1.txt /out/f2.txt)" = "$(printf '1\n2')" && ! test -e /out/other
DF
	run strata build --progress=plain -t glob:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "COPY heredoc: expanded with ENV and ARG unless the delimiter is quoted" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
ENV NAME=world
ARG GREETING=hello
COPY <<EOF /expanded
$GREETING ${NAME} "q"
EOF
COPY <<'EOF' /raw
$GREETING ${NAME}
EOF
RUN test "$(cat /expanded)" = 'hello world "q"' && test "$(cat /raw)" = '$GREETING ${NAME}'
DF
	run strata build --progress=plain -t hd:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "COPY --link: parents get default attributes; a change below reuses the same layer" {
	echo app >"$CTX/app.txt"
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
RUN mkdir -m 700 /app && echo one >/below
COPY --link app.txt /app/
RUN test "$(stat -c %a /app)" = 755 && test "$(cat /app/app.txt)" = app
DF
	run strata build --progress=plain -t ln:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	run sh -c "'$STRATA_BIN' inspect --format '{{json .RootFS.Layers}}' ln:1"
	layers1=$output
	sed -i 's/echo one/echo two/' "$CTX/Dockerfile"
	run strata build --progress=plain -t ln:2 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"reusing the --link layer"* ]]
	run sh -c "'$STRATA_BIN' inspect --format '{{json .RootFS.Layers}}' ln:2"
	layers2=$output
	# The COPY layer (third) is the same; the RUN layer below it (second) is not.
	l1=$(echo "$layers1" | tr -d '[]"' | cut -d, -f3); l2=$(echo "$layers2" | tr -d '[]"' | cut -d, -f3)
	[ -n "$l1" ]
	[ "$l1" = "$l2" ]
	[ "$(echo "$layers1" | cut -d, -f2)" != "$(echo "$layers2" | cut -d, -f2)" ]
}

@test "ADD --unpack=false keeps a local archive; default unpacks; --keep-git-dir is accepted" {
	mkdir -p "$BATS_TEST_TMPDIR/t" && echo in >"$BATS_TEST_TMPDIR/t/inner"
	tar -czf "$CTX/a.tar.gz" -C "$BATS_TEST_TMPDIR/t" inner
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
ADD a.tar.gz /unpacked/
ADD --unpack=false a.tar.gz /kept/
ADD --keep-git-dir=true a.tar.gz /k2/
RUN test -f /unpacked/inner && test -f /kept/a.tar.gz && ! test -e /kept/inner && test -f /k2/inner
DF
	run strata build --progress=plain -t up:1 "$CTX"
	echo "$output"
	[ "$status" -eq 0 ]
	printf 'FROM busybox\nADD --unpack=maybe a.tar.gz /x/\n' >"$CTX/Dockerfile"
	run strata build -t up:2 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"expecting boolean value for flag --unpack"* ]]
}
