#!/usr/bin/env bats
# strata lint on the real-world Dockerfiles of fixtures/lint/real (their sources and the review
# of their findings: SOURCES.md there): the false positives the review found stay away.
load helpers

setup() {
	common_setup
	REAL=$BATS_TEST_DIRNAME/fixtures/lint/real
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
}

@test "lint real: at least 30 real-world Dockerfiles, each with its source in SOURCES.md" {
	n=0
	for f in "$REAL"/*.Dockerfile; do
		n=$((n + 1))
		grep -qF "| $(basename "$f") |" "$REAL/SOURCES.md"
	done
	[ "$n" -ge 30 ]
}

@test "lint real: COPY to a quoted variable is no relative destination (DL3045)" {
	run strata lint --format gnu --failure-threshold none -f "$REAL/jquery-file-upload-php.Dockerfile" "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"DL3045"* ]]
}

@test "lint real: apt-get install --install-recommends is a choice, not DL3015" {
	run strata lint --format gnu --failure-threshold none -f "$REAL/crowdsec-debian.Dockerfile" "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"crowdsec-debian.Dockerfile:32: info: DL3015"* ]]
	# The other apt-get install of the file still lacks --no-install-recommends.
	[[ "$output" == *"crowdsec-debian.Dockerfile:15: info: DL3015"* ]]
}

@test "lint real: a package cache in a stage only copied from is not ST1005, the final stage's is" {
	run strata lint --format gnu --failure-threshold none -f "$REAL/charliecloud-multistage.Dockerfile" "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"Dockerfile:12: info: ST1005"* ]]
	[[ "$output" == *"Dockerfile:30: info: ST1005"* ]]
}
