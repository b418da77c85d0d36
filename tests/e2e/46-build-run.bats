#!/usr/bin/env bats
# strata build: how RUN steps run (heredocs, network hints, who may run them, long commands).
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
}

teardown() {
	if [ -n "${NOBODY_DIR:-}" ]; then rm -rf "$NOBODY_DIR"; fi
}

# The content of FILE in IMAGE.
image_file() {
	strata export "$1" | tar xO "$2"
}

@test "run: RUN <<EOF runs the heredoc's body as the script" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
ENV WHO=body
RUN <<EOT
echo made > /made
echo "$WHO" > /who
EOT
DF
	run strata build --progress=plain -t hd:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file hd:1 made
	[ "$output" = "made" ]
	run image_file hd:1 who
	[ "$output" = "body" ]
	run strata history --no-trunc --format '{{.CreatedBy}}' hd:1
	[[ "${lines[0]}" == "RUN /bin/sh -c echo made > /made"* ]]
}

@test "run: a quoted or <<- heredoc alone still runs its body, tabs stripped" {
	printf 'FROM busybox\nENV V=x\nRUN <<-"EOT"\n\techo "$V" > /q\n\tEOT\n' >"$CTX/Dockerfile"
	run strata build --progress=plain -t hq:1 "$CTX"
	[ "$status" -eq 0 ]
	# BuildKit ignores the quoting here: the body is a script, and the shell expands it
	run image_file hq:1 q
	[ "$output" = "x" ]
}

@test "run: a heredoc starting with #! runs with that interpreter, and the script stays out of the layer" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
RUN <<SCRIPT
#!/usr/bin/awk -f
BEGIN { print "from awk" > "/awk" }
SCRIPT
DF
	run strata build --progress=plain -t hs:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file hs:1 awk
	[ "$output" = "from awk" ]
	run sh -c "'$STRATA_BIN' export hs:1 | tar t"
	[ "$status" -eq 0 ]
	[[ "$output" != *"dev/pipes"* ]]
	[[ "$output" != *"SCRIPT"* ]]
	run strata history --no-trunc --format '{{.CreatedBy}}' hs:1
	[ "${lines[0]}" = "RUN /bin/sh -c /dev/pipes/SCRIPT # buildkit" ]
}

@test "run: a changed #! script body misses the cache" {
	printf 'FROM busybox\nRUN <<S\n#!/bin/sh\necho one > /v\nS\n' >"$CTX/Dockerfile"
	run strata build -q -t hc:1 "$CTX"
	[ "$status" -eq 0 ]
	printf 'FROM busybox\nRUN <<S\n#!/bin/sh\necho two > /v\nS\n' >"$CTX/Dockerfile"
	run strata build -q -t hc:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file hc:1 v
	[ "$output" = "two" ]
}

@test "run: heredocs after a command feed it, quoted ones unexpanded, several in one RUN" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
ENV V=expanded
RUN <<EOF sh
echo fed > /fed
EOF
RUN tr a-z A-Z <<EOF > /upper
shout $V
EOF
RUN cat <<'A' > /a && cat <<-B > /b
literal $V
A
	tabbed $V
	B
DF
	run strata build --progress=plain -t hm:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file hm:1 fed
	[ "$output" = "fed" ]
	run image_file hm:1 upper
	[ "$output" = "SHOUT EXPANDED" ]
	run image_file hm:1 a
	[ "$output" = 'literal $V' ]
	run image_file hm:1 b
	[ "$output" = "tabbed expanded" ]
}

@test "run: RUN --mount takes buildah's SELinux relabel options z, Z and relabel= as no-ops" {
	mkdir -p "$CTX/sub"
	echo hello >"$CTX/sub/a.txt"
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
RUN --mount=type=bind,source=sub,target=/s,z cat /s/a.txt > /z
RUN --mount=type=bind,source=sub,target=/s,Z cat /s/a.txt > /bigz
RUN --mount=type=cache,target=/c,relabel=private,Z echo cached > /c/x && cp /c/x /cache
DF
	run strata build --progress=plain -t rl:1 "$CTX"
	[ "$status" -eq 0 ]
	run image_file rl:1 z
	[ "$output" = "hello" ]
	run image_file rl:1 bigz
	[ "$output" = "hello" ]
	run image_file rl:1 cache
	[ "$output" = "cached" ]
	printf 'FROM busybox\nRUN --mount=type=tmpfs,target=/t,relabel=maybe true\n' >"$CTX/Dockerfile"
	run strata build "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid value 'maybe' for relabel: use shared or private"* ]]
}

@test "run: a FROM scratch stage starts from BuildKit's empty image config (PATH, WorkingDir /)" {
	echo hi >"$CTX/f"
	printf 'FROM scratch\nCOPY f /f\n' >"$CTX/Dockerfile"
	run strata build -q -t sc:1 "$CTX"
	[ "$status" -eq 0 ]
	run strata inspect --format '{{json .Config.Env}}' sc:1
	[ "$output" = '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]' ]
	run strata inspect --format '{{.Config.WorkingDir}}' sc:1
	[ "$output" = "/" ]
	# an ENV PATH of the Dockerfile still replaces it
	printf 'FROM scratch\nENV PATH=/bin\nCOPY f /f\n' >"$CTX/Dockerfile"
	run strata build -q -t sc:2 "$CTX"
	[ "$status" -eq 0 ]
	run strata inspect --format '{{json .Config.Env}}' sc:2
	[ "$output" = '["PATH=/bin"]' ]
}

@test "run: a command too long for exec says so once, quoting only the start of it" {
	printf 'FROM busybox\nRUN echo %s\n' "$(head -c 300000 /dev/zero | tr '\0' x)" >"$CTX/Dockerfile"
	run strata build -q -t big:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"the command is 300005 bytes, and Linux takes at most"*"(argument list too long)"* ]]
	[ "$(grep -o 'argument list too long' <<<"$output" | wc -l)" -eq 1 ]
	[ "${#output}" -lt 4096 ]
	run strata build --progress=plain -t big:1 "$CTX"
	[ "$status" -ne 0 ]
	[ "${#output}" -lt 8192 ]
	run strata inspect big:1
	[ "$status" -ne 0 ]
	# exec form: the argument is named
	printf 'FROM busybox\nRUN ["echo", "%s"]\n' "$(head -c 200000 /dev/zero | tr '\0' y)" >"$CTX/Dockerfile"
	run strata build -q "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"argument 2 of the command is 200000 bytes"* ]]
	# arguments each short enough, together too long
	local a
	a=$(head -c 100000 /dev/zero | tr '\0' z)
	printf 'FROM busybox\nRUN ["echo"%s]\n' "$(for i in $(seq 40); do printf ', "%s"' "$a"; done)" >"$CTX/Dockerfile"
	run strata build -q "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"the command and its environment are"*"(argument list too long)"* ]]
	[ "${#output}" -lt 4096 ]
}

@test "run: a step without network that fails to resolve or connect says how to give it one" {
	printf 'FROM busybox\nRUN wget -q -O- http://example.com/\n' >"$CTX/Dockerfile"
	run strata build --network none "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bad address"* ]]
	[[ "$output" == *"hint: this step ran without network (the build's --network is none)"* ]]
	[[ "$output" == *'`strata build --network default` (the default), or this step alone with RUN --network=default'* ]]
	printf 'FROM busybox\nRUN --network=none wget -q -O- http://192.0.2.1/\n' >"$CTX/Dockerfile"
	run strata build "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Network is unreachable"* ]]
	[[ "$output" == *"hint: this step ran with RUN --network=none"*"RUN --network=default"* ]]
}

@test "run: the no-network hint is keyed on the step's network, not on the words alone" {
	# the same words from a step that had a network: no hint
	printf 'FROM busybox\nRUN --network=host sh -c "echo wget: bad address x >&2; exit 1"\n' >"$CTX/Dockerfile"
	run strata build "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"bad address"* ]]
	[[ "$output" != *"hint:"* ]]
	# a step without network that failed for another reason: no hint
	printf 'FROM busybox\nRUN sh -c "echo no such file >&2; exit 1"\n' >"$CTX/Dockerfile"
	run strata build --network none "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" != *"hint:"* ]]
	# a sign split across two writes is still seen
	printf 'FROM busybox\nRUN printf "Temporary failure in na" >&2; sleep 0.2; printf "me resolution\\n" >&2; exit 1\n' >"$CTX/Dockerfile"
	run strata build --network none "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"hint: this step ran without network"* ]]
}

# Run strata as nobody with a store nobody owns (BATS_TEST_TMPDIR is private to root).
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups env STRATA_ROOT="$NOBODY_DIR/root" \
		"$STRATA_BIN" "$@"
}

@test "run: RUN without root is refused before the build starts, naming the step" {
	NOBODY_DIR=$(mktemp -d /tmp/strata-e2e-nobody.XXXXXX)
	chmod 755 "$NOBODY_DIR"
	mkdir -p "$NOBODY_DIR/ctx"
	printf 'FROM busybox AS a\nRUN echo hi > /x\nFROM scratch\nCOPY Dockerfile /d\n' >"$NOBODY_DIR/ctx/Dockerfile"
	cp "$(busybox_tar)" "$NOBODY_DIR/bb.tar"
	chmod -R a+rX "$NOBODY_DIR"
	chown nobody "$NOBODY_DIR"
	run as_nobody import "$NOBODY_DIR/bb.tar" busybox:latest
	[ "$status" -eq 0 ]
	run as_nobody build --target a --progress=plain -t a:1 "$NOBODY_DIR/ctx"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Dockerfile:2: RUN needs root, and strata runs as uid $(id -u nobody)"* ]]
	[[ "$output" == *"run the build as root"* ]]
	# refused before any step: no step started, nothing to unpack, no chown error
	[[ "$output" != *"#1 "* ]]
	[[ "$output" != *"chown"* ]]
	# a stage without RUN still builds
	run as_nobody build -q -t b:1 "$NOBODY_DIR/ctx"
	[ "$status" -eq 0 ]
	run as_nobody images --format '{{.Repository}}:{{.Tag}}'
	[[ "$output" == *"busybox:latest"* ]]
	[[ "$output" == *"b:1"* ]]
}

@test "run: a #! heredoc whose delimiter is no file name is an error naming it" {
	printf 'FROM busybox\nRUN <<a/b\n#!/bin/sh\ntrue\na/b\n' >"$CTX/Dockerfile"
	run strata build "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"heredoc delimiter 'a/b' is not a file name"* ]]
}
