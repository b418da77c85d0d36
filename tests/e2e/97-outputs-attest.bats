#!/usr/bin/env bats
# What a build's attestations become in a type=local or type=tar output (in-toto statements as
# files beside the root filesystem, one set per platform), --analyze of a multi-platform build,
# and the Dockerfile instructions import --change and commit -c accept.
bats_require_minimum_version 1.5.0
load helpers

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
}

@test "import --change: HEALTHCHECK and STOPSIGNAL are applied, as Docker's daemon accepts them" {
	run strata import --change 'HEALTHCHECK --interval=5s --retries=2 CMD wget -q -O- http://localhost/' \
		--change 'STOPSIGNAL SIGINT' "$(busybox_tar)" hc:1
	[ "$status" -eq 0 ]
	run strata inspect --format '{{json .Config.Healthcheck}}' hc:1
	[ "$status" -eq 0 ]
	[ "$(jq -c .Test <<<"$output")" = '["CMD-SHELL","wget -q -O- http://localhost/"]' ]
	[ "$(jq .Interval <<<"$output")" -eq 5000000000 ]
	[ "$(jq .Retries <<<"$output")" -eq 2 ]
	run strata inspect --format '{{.Config.StopSignal}}' hc:1
	[ "$status" -eq 0 ]
	[ "$output" = SIGINT ]
	run strata import --change 'HEALTHCHECK NONE' "$(busybox_tar)" hc:2
	[ "$status" -eq 0 ]
	run strata inspect --format '{{json .Config.Healthcheck.Test}}' hc:2
	[ "$status" -eq 0 ]
	[ "$output" = '["NONE"]' ]
}

@test "commit -c: HEALTHCHECK is applied to the committed image" {
	strata create --name src busybox true >/dev/null
	run strata commit -c 'HEALTHCHECK --timeout=3s CMD ["true"]' src hc:3
	[ "$status" -eq 0 ]
	run strata inspect --format '{{json .Config.Healthcheck}}' hc:3
	[ "$status" -eq 0 ]
	[ "$(jq -c .Test <<<"$output")" = '["CMD","true"]' ]
	[ "$(jq .Timeout <<<"$output")" -eq 3000000000 ]
	strata rm src >/dev/null
}

@test "import --change: an instruction Docker refuses is named in Docker's words, no image made" {
	run strata import --change 'RUN true' "$(busybox_tar)" bad:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"--change 'RUN true': run is not a valid change command"* ]]
	run strata import --change 'HEALTHCHECK --interval=soon CMD true' "$(busybox_tar)" bad:2
	[ "$status" -ne 0 ]
	[[ "$output" == *"invalid --interval duration 'soon'"* ]]
	run strata images -q bad
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}
