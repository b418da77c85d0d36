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

@test "build --analyze: what the image holds is reported on the Dockerfile lines that made it" {
	strata import "$(busybox_tar)" busybox:1 >/dev/null
	printf 'not a key\n' >"$CTX/id_rsa"
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox:1
COPY id_rsa /root/.ssh/id_rsa
RUN head -c 40000 /dev/zero >/big.bin
RUN rm /big.bin
USER nobody
DF
	run strata build --analyze --progress plain -t analyzed:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *" findings in the image (use strata lint --image sha256:"* ]]
	[[ "$output" == *" - ST2005: A file that looks like a key or credentials is in the layer of this instruction: 1 file, 10 bytes, such as /root/.ssh/id_rsa"*"(line 2)"* ]]
	[[ "$output" == *" - ST2002: Files this instruction adds are deleted by a later one: they still take their space in the image: 1 file, 40000 bytes, such as /big.bin (removed on line 4)"*"(line 3)"* ]]
	# Without --analyze the build does not look into its image.
	run strata build --progress plain -t analyzed:2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"ST200"* ]]
}

@test "lint without --image: the image the last build -t of this Dockerfile made, while its text is the same" {
	strata import "$(busybox_tar)" busybox:1 >/dev/null
	printf 'not a key\n' >"$CTX/id_rsa"
	printf 'FROM busybox:1\nCOPY id_rsa /root/.ssh/id_rsa\nUSER nobody\n' >"$CTX/Dockerfile"
	run strata lint --format gnu --failure-threshold none "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"ST2005"* ]]
	run strata build -q -t built:1 "$CTX"
	[ "$status" -eq 0 ]
	run strata lint --format gnu --failure-threshold none "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Dockerfile:2: error: ST2005 A file that looks like a key or credentials"* ]]
	# -f names the same file: the same image.
	run strata lint --format gnu --failure-threshold none -f "$CTX/Dockerfile" "$CTX"
	[[ "$output" == *"Dockerfile:2: error: ST2005"* ]]
	# Once the image is gone, nothing is said about it.
	run strata rmi built:1
	[ "$status" -eq 0 ]
	run strata lint --format gnu --failure-threshold none "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"ST2005"* ]]
	# A changed Dockerfile no longer lines up with what was built from the old one.
	run strata build -q -t built:2 "$CTX"
	[ "$status" -eq 0 ]
	printf 'LABEL edited=1\n' >>"$CTX/Dockerfile"
	run strata lint --format gnu --failure-threshold none "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"ST2005"* ]]
}
