#!/usr/bin/env bats
# RUN steps run under Docker's default seccomp profile; RUN --security=insecure runs unconfined.
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
}

@test "RUN: a seccomp filter; unshare is refused, chroot (a default capability) is not" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
RUN grep '^Seccomp:' /proc/self/status
RUN if unshare -U true; then echo unshare-allowed; else echo unshare-refused; fi
RUN chroot / true && echo chroot-allowed
DF
	run strata build --progress=plain -t sc:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" =~ Seccomp:[[:space:]]+2 ]]
	[[ "$output" == *"unshare: unshare(0x10000000): Operation not permitted"* ]]
	[[ "$output" == *"unshare-refused"* ]]
	[[ "$output" == *"chroot-allowed"* ]]
}

@test "RUN --security=insecure: no seccomp filter, and unshare works" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
RUN --security=insecure grep '^Seccomp:' /proc/self/status
RUN --security=insecure if unshare -U true; then echo unshare-allowed; else echo unshare-refused; fi
DF
	run strata build --progress=plain --allow security.insecure -t sc:2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" =~ Seccomp:[[:space:]]+0 ]]
	[[ "$output" == *"unshare-allowed"* ]]
}
