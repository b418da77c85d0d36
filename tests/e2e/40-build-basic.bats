#!/usr/bin/env bats
# strata build: instructions, flags and the image they make.
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
}

@test "build: examples/hello builds and history shows it" {
	run strata build -t hello:1 "$BATS_TEST_DIRNAME/../../examples/hello"
	[ "$status" -eq 0 ]
	run strata history hello:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"COPY /out/ /app/ # buildkit"* ]]
	[[ "$output" == *'CMD ["world"]'* ]]
	[[ "$output" == *"EXPOSE map[8080/tcp:{}]"* ]]
	run strata export hello:1
	[ "$status" -eq 0 ]
}

@test "build: config instructions set the image config" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
ENV A=1 B="two words"
LABEL x=y
EXPOSE 80 53/udp
VOLUME /data
USER nobody
WORKDIR /srv
STOPSIGNAL SIGINT
SHELL ["/bin/sh", "-ec"]
HEALTHCHECK --interval=5s --retries=2 CMD true
ONBUILD RUN echo child
ENTRYPOINT ["/bin/echo"]
CMD ["hi"]
DF
	run strata build -q -t cfg:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == sha256:* ]]
	run strata inspect cfg:1
	[[ "$output" == *'"A=1"'* ]]
	[[ "$output" == *'"B=two words"'* ]]
	[[ "$output" == *'"x": "y"'* ]]
	[[ "$output" == *'"53/udp"'* ]]
	[[ "$output" == *'"/data"'* ]]
	[[ "$output" == *'"User": "nobody"'* ]]
	[[ "$output" == *'"WorkingDir": "/srv"'* ]]
	[[ "$output" == *'"StopSignal": "SIGINT"'* ]]
	[[ "$output" == *'"RUN echo child"'* ]]
}

@test "build: ENTRYPOINT resets an inherited CMD" {
	printf 'FROM busybox\nCMD ["a"]\n' >"$CTX/Dockerfile"
	strata build -q -t base:1 "$CTX"
	printf 'FROM base:1\nENTRYPOINT ["/bin/echo"]\n' >"$CTX/Dockerfile"
	strata build -q -t child:1 "$CTX"
	run strata inspect child:1
	[[ "$output" == *'"Cmd": null'* ]]
}

@test "build: RUN sees ENV, WORKDIR, USER and build args; a failing RUN names the command" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
ARG V=1
ENV E=env
WORKDIR /w
USER nobody
RUN test "$(id -u)" = 65534 && test "$PWD" = /w && test "$V" = 2 && test "$E" = env
USER root
RUN false
DF
	run strata build --progress=plain --build-arg V=2 -t run:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *'process "/bin/sh -c false" did not complete successfully: exit code: 1'* ]]
	run strata images -q
	[[ "$output" != *run* ]]
	run strata inspect run:1
	[ "$status" -ne 0 ]
}

@test "build: RUN history reads like BuildKit's, with build args" {
	printf 'FROM busybox\nARG A=1\nRUN echo $A > /a\n' >"$CTX/Dockerfile"
	strata build -q -t h:1 "$CTX"
	run strata history --no-trunc h:1
	[[ "$output" == *'RUN |1 A=1 /bin/sh -c echo $A > /a # buildkit'* ]]
	[[ "$output" == *'ARG A=1'* ]]
}

@test "build: /etc/hosts and resolv.conf are provided but never committed" {
	printf 'FROM busybox\nRUN cat /etc/hosts | grep -q localhost && touch /x\n' >"$CTX/Dockerfile"
	strata build -q -t etc:1 "$CTX"
	run sh -c "'$STRATA_BIN' export etc:1 | tar t"
	[[ "$output" == *"x"* ]]
	[[ "$output" != *"etc/hosts"* ]]
	[[ "$output" != *"etc/resolv.conf"* ]]
}

@test "build: COPY rules: globs, dir contents, trailing slash, WORKDIR, --chown, --chmod" {
	mkdir -p "$CTX/dir/sub"
	echo a >"$CTX/a.txt"; echo b >"$CTX/b.txt"; echo c >"$CTX/dir/sub/c"
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
WORKDIR /w
COPY *.txt sub/
COPY dir /d
COPY --chown=nobody:nogroup --chmod=600 a.txt /owned
COPY a.txt /renamed
DF
	strata build -q -t cp:1 "$CTX"
	run sh -c "'$STRATA_BIN' export cp:1 | tar tv"
	[[ "$output" == *"w/sub/a.txt"* ]]
	[[ "$output" == *"w/sub/b.txt"* ]]
	[[ "$output" == *"d/sub/c"* ]]
	[[ "$output" != *"d/dir"* ]]
	[[ "$output" == *"-rw------- 65534/65534"*"owned"* ]]
	[[ "$output" == *"renamed"* ]]
}

@test "build: COPY into an existing dir keeps its mode; ADD unpacks a local tarball" {
	mkdir -p "$CTX/t/in"; echo z >"$CTX/t/in/z"
	tar -C "$CTX/t" -czf "$CTX/arch.tar.gz" in
	echo f >"$CTX/f"
	printf 'FROM busybox\nCOPY f /tmp/\nADD arch.tar.gz /opt/\n' >"$CTX/Dockerfile"
	strata build -q -t add:1 "$CTX"
	run sh -c "'$STRATA_BIN' export add:1 | tar tv"
	[[ "$output" == *"drwxrwxrwt"*"tmp/"* ]]
	[[ "$output" == *"opt/in/z"* ]]
}

@test "build: heredocs in RUN and COPY" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
COPY <<EOF /greeting
hello
EOF
RUN <<EOF
grep -q hello /greeting
echo ok > /ran
EOF
DF
	run strata build --progress=plain -t hd:1 "$CTX"
	[ "$status" -eq 0 ]
	run sh -c "'$STRATA_BIN' export hd:1 | tar xO ran"
	[ "$status" -eq 0 ]
	[ "$output" = "ok" ]
}

@test "build: -f -, --iidfile, --label, --target, context from stdin" {
	printf 'FROM busybox AS a\nRUN touch /a\nFROM busybox AS b\nRUN touch /b\n' >"$CTX/df"
	run sh -c "'$STRATA_BIN' build -q -f - --target a --label k=v --iidfile '$BATS_TEST_TMPDIR/iid' -t t:1 '$CTX' <'$CTX/df'"
	[ "$status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/iid")" = "$output" ]
	run strata history t:1
	[[ "$output" == *"touch /a"* ]]
	[[ "$output" != *"touch /b"* ]]
	run strata inspect t:1
	[[ "$output" == *'"k": "v"'* ]]
	printf 'FROM busybox\nCOPY x /x\n' >"$CTX/Dockerfile"; echo x >"$CTX/x"
	run sh -c "tar -C '$CTX' -c . | '$STRATA_BIN' build -q -t stdin:1 -"
	[ "$status" -eq 0 ]
}

@test "build: unsupported things fail clearly" {
	printf 'FROM busybox\nRUN true\n' >"$CTX/Dockerfile"
	run strata build --runtime /nonexistent/runtime "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"runtime"*"not found"* ]]
	printf 'FROM nosuchimage\n' >"$CTX/Dockerfile"
	run strata build "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"nosuchimage"* ]]
}
