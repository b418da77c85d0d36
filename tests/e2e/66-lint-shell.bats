#!/usr/bin/env bats
# strata lint reads RUN with a bash grammar: commands in lists, pipelines, subshells, `sh -c`
# strings and heredocs, words after quote removal, `set -o pipefail`.
load helpers

setup() {
	common_setup
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
}

@test "lint shell: a quoted && or ; inside a word with quotes of its own is not a command boundary" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM debian:12
RUN echo "it's \"quoted\" && sudo rm -rf /" && echo 'a; cd /tmp'
RUN V="$(echo "x" | tr x y)" && echo "$V && apt install z"
DF
	run strata lint --format gnu --failure-threshold none "$CTX/Dockerfile"
	[ "$status" -eq 0 ]
	[[ "$output" != *"DL3004"* ]]
	[[ "$output" != *"DL3003"* ]]
	[[ "$output" != *"DL3027"* ]]
}

@test "lint shell: apt-get install after set -e; and inside sh -c and bash -c is found" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM debian:12
RUN set -e; apt-get update; apt-get install -y curl
RUN sh -c "apt-get install -y --no-install-recommends 'wget'"
RUN ["bash", "-euc", "pip install flask"]
DF
	run strata lint --format gnu --failure-threshold none "$CTX/Dockerfile"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Dockerfile:2: warning: DL3008"* ]]
	[[ "$output" == *"Dockerfile:2: info: DL3015"* ]]
	[[ "$output" == *"Dockerfile:3: warning: DL3008"* ]]
	[[ "$output" != *"Dockerfile:3: info: DL3015"* ]]
	[[ "$output" == *"Dockerfile:4: warning: DL3013"* ]]
}

@test "lint shell: commands in \$(...), if bodies and subshells are found; a cd there does not last" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM debian:12
RUN VERSION="$(apt-get install -y jq)"
RUN if [ -f /x ]; then sudo make; fi
RUN (cd /src && make) && DIR=$(cd /opt && pwd)
RUN { cd /src; make; }
DF
	run strata lint --format gnu --failure-threshold none "$CTX/Dockerfile"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Dockerfile:2: warning: DL3008"* ]]
	[[ "$output" == *"Dockerfile:3: error: DL3004"* ]]
	[[ "$output" != *"Dockerfile:4: warning: DL3003"* ]]
	[[ "$output" == *"Dockerfile:5: warning: DL3003"* ]]
}

@test "lint shell: a heredoc is a shell's script but only data to cat" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM debian:12
RUN cat <<EOF >/etc/motd && echo done
sudo apt install x
EOF
RUN bash <<'EOF'
apt install -y y
EOF
DF
	run strata lint --format gnu --failure-threshold none "$CTX/Dockerfile"
	[ "$status" -eq 0 ]
	[[ "$output" != *"Dockerfile:2: error: DL3004"* ]]
	[[ "$output" != *"Dockerfile:2: warning: DL3027"* ]]
	[[ "$output" == *"Dockerfile:5: warning: DL3027"* ]]
}

@test "lint shell: set -o pipefail before a pipe in the same RUN satisfies DL4006" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM debian:12
RUN set -eux; curl -fsSL https://example.invalid/k | gpg --dearmor >/k.gpg
RUN set -euxo pipefail; curl -fsSL https://example.invalid/k | gpg --dearmor >/k.gpg
RUN bash -o pipefail -c 'curl -fsSL https://example.invalid/k | gpg --dearmor >/k.gpg'
DF
	run strata lint --format gnu --failure-threshold none "$CTX/Dockerfile"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Dockerfile:2: warning: DL4006"* ]]
	[[ "$output" != *"Dockerfile:3: warning: DL4006"* ]]
	[[ "$output" != *"Dockerfile:4: warning: DL4006"* ]]
}

@test "lint shell: an ARG token in single quotes is text, not an expansion" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM debian:12
ARG NPM_TOKEN
RUN echo 'use $NPM_TOKEN at run time' >/README
RUN echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" >/root/.npmrc
DF
	run strata lint --format gnu --failure-threshold none "$CTX/Dockerfile"
	[ "$status" -eq 0 ]
	[[ "$output" != *"Dockerfile:3: warning: ST1007"* ]]
	[[ "$output" == *"Dockerfile:4: warning: ST1007"* ]]
}

@test "lint --image: what the built image holds is reported on the lines that made it" {
	strata import "$(busybox_tar)" busybox:1 >/dev/null
	printf 'not a key\n' >"$CTX/id_rsa"
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox:1
WORKDIR /app
COPY id_rsa /root/.ssh/id_rsa
RUN head -c 40000 /dev/zero >/big.bin && mkdir -p /var/cache/apk && head -c 3000 /dev/zero >/var/cache/apk/x.tar.gz
ENV A=1
RUN rm /big.bin
USER nobody
DF
	run strata build -q -t lintimg:1 "$CTX"
	[ "$status" -eq 0 ]
	run strata lint --image lintimg:1 --format gnu --failure-threshold none "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Dockerfile:3: error: ST2005 A file that looks like a key or credentials is in the layer of this instruction: 1 file, 10 bytes, such as /root/.ssh/id_rsa"* ]]
	[[ "$output" == *"Dockerfile:4: warning: ST2002 Files this instruction adds are deleted by a later one: they still take their space in the image: 1 file, 40000 bytes, such as /big.bin (removed on line 6)"* ]]
	[[ "$output" == *"Dockerfile:4: warning: ST2001 A package manager's cache stays in the layer of this instruction"* ]]
	run strata lint --image lintimg:1 --format sarif --failure-threshold none "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"ST2005"'* ]]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/img.sarif"
	fix=$BATS_TEST_DIRNAME/fixtures/lint
	run python3 "$fix/check_sarif.py" "$fix/sarif-2.1.0-rtm.5.json" "$BATS_TEST_TMPDIR/img.sarif"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# Another text than the one built: no image lines up with it.
	printf 'LABEL edited=1\n' >>"$CTX/Dockerfile"
	run strata lint --format gnu --failure-threshold none "$CTX"
	[[ "$output" != *"ST200"* ]]
	run strata lint --image nosuch:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"strata: lint: "*"nosuch:1"* ]]
}

@test "lint: --format sarif is valid against the SARIF 2.1.0 schema, with its fixes" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM debian:latest
ADD app.js /app/
RUN cd /x && apt-get install -y curl | tee /l
CMD run
DF
	run strata lint --format sarif --failure-threshold none "$CTX/Dockerfile"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/a.sarif"
	[[ "$output" == *'"fixes"'* ]]
	fix=$BATS_TEST_DIRNAME/fixtures/lint
	run python3 "$fix/check_sarif.py" "$fix/sarif-2.1.0-rtm.5.json" "$BATS_TEST_TMPDIR/a.sarif"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "lint: real-world Dockerfiles lint without a crash, each finding on a line of its file" {
	real=$BATS_TEST_DIRNAME/fixtures/lint/real
	for f in "$real"/*.Dockerfile; do
		run strata lint --format json --failure-threshold none -f "$f" "$CTX"
		[ "$status" -eq 0 ] || { echo "$f: $output"; false; }
		lines=$(wc -l <"$f")
		run python3 -c 'import json,sys; n=int(sys.argv[2]); a=json.loads(sys.argv[1]); bad=[f for f in a if not 1 <= f["line"] <= n]; print(bad or "")' "$output" "$lines"
		[ "$status" -eq 0 ]
		[ -z "$output" ] || { echo "$f: $output"; false; }
	done
}

@test "lint: an image that steps down with gosu or su-exec is not reported as running as root" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM debian:12
RUN set -eux; apt-get update; apt-get install -y --no-install-recommends gosu=1.14-1; rm -rf /var/lib/apt/lists/*; gosu nobody true
ENTRYPOINT ["docker-entrypoint.sh"]
DF
	run strata lint --format gnu --failure-threshold none "$CTX/Dockerfile"
	[ "$status" -eq 0 ]
	[[ "$output" != *"ST1006"* ]]
	printf 'FROM debian:12\nRUN apt-get install -y --no-install-recommends gosu=1.14-1\n' >"$CTX/Dockerfile"
	run strata lint --format gnu --failure-threshold none "$CTX/Dockerfile"
	[[ "$output" == *"Dockerfile:1: info: ST1006"* ]]
}
