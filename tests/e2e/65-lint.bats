#!/usr/bin/env bats
# strata lint and strata build --check: BuildKit's build checks, hadolint's DL rules, check=.
load helpers

setup() {
	common_setup
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
}

@test "lint: findings name file, line, rule and severity, show the line, and fail the run" {
	printf 'FROM debian\nRUN cd /src && make\nCMD make run\n' >"$CTX/Dockerfile"
	run strata lint "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"/Dockerfile:1 DL3006 warning: Always tag the version of an image explicitly"* ]]
	[[ "$output" == *"    1 | FROM debian"* ]]
	[[ "$output" == *"/Dockerfile:2 DL3003 warning: Use WORKDIR to switch to a directory"* ]]
	[[ "$output" == *"/Dockerfile:3 JSONArgsRecommended warning: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals"* ]]
	[[ "$output" == *'  fix: CMD ["make", "run"]'* ]]
}

@test "lint: --failure-threshold decides the exit status; a clean Dockerfile passes" {
	printf 'FROM debian\n' >"$CTX/Dockerfile"
	run strata lint --failure-threshold error "$CTX/Dockerfile"
	[ "$status" -eq 0 ]
	[[ "$output" == *"DL3006"* ]]
	run strata lint --failure-threshold none "$CTX/Dockerfile"
	[ "$status" -eq 0 ]
	run strata lint --failure-threshold warning "$CTX/Dockerfile"
	[ "$status" -eq 1 ]
	printf 'FROM debian:12\nWORKDIR /app\nCOPY . .\nUSER app\nCMD ["app"]\n' >"$CTX/Dockerfile"
	run strata lint "$CTX/Dockerfile"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run strata lint --failure-threshold loud "$CTX/Dockerfile"
	[ "$status" -eq 2 ]
	[[ "$output" == *"invalid --failure-threshold 'loud'"* ]]
}

@test "lint: reads stdin with -, and --format json and sarif are JSON tools can read" {
	printf 'FROM debian:latest\nADD app.js /app/\n' >"$CTX/Dockerfile"
	run strata lint --format json - <"$CTX/Dockerfile"
	[ "$status" -eq 1 ]
	run python3 -c 'import json,sys; a=json.loads(sys.argv[1]); print(" ".join("%s:%s:%s:%s" % (f["file"], f["line"], f["code"], f["level"]) for f in a))' "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "Dockerfile:1:DL3007:warning Dockerfile:1:ST1006:info Dockerfile:2:DL3020:error" ]
	run strata lint --format sarif --failure-threshold none "$CTX/Dockerfile"
	[ "$status" -eq 0 ]
	run python3 -c '
import json, sys
s = json.loads(sys.argv[1])
run = s["runs"][0]
rules = run["tool"]["driver"]["rules"]
for r in run["results"]:
    loc = r["locations"][0]["physicalLocation"]
    assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    print(s["version"], r["ruleId"], r["level"], loc["region"]["startLine"], r["message"]["text"])
' "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "2.1.0 DL3007 warning 1 Using latest is prone to errors"* ]]
	[[ "${lines[1]}" == "2.1.0 ST1006 note 1 The final stage sets no USER: the container runs as root" ]]
	[[ "${lines[2]}" == "2.1.0 DL3020 error 2 Use COPY instead of ADD for files and folders" ]]
}

@test "lint: --format checkstyle and junit are XML that xmllint reads" {
	printf 'FROM debian\n' >"$CTX/Dockerfile"
	run strata lint --format checkstyle "$CTX/Dockerfile"
	[ "$status" -eq 1 ]
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/cs.xml"
	run xmllint --xpath 'string(/checkstyle/file/error[@source="DL3006"]/@severity)' "$BATS_TEST_TMPDIR/cs.xml"
	[ "$status" -eq 0 ]
	[ "$output" = "warning" ]
	run strata lint --format junit "$CTX/Dockerfile"
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/ju.xml"
	run xmllint --xpath 'string(/testsuites/testsuite/@failures)' "$BATS_TEST_TMPDIR/ju.xml"
	[ "$output" = "2" ]
}

@test "lint: heredocs and sh -c are read as shell, quoted text is not a command" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM debian:12
RUN echo "sudo make && cd /x" 'apt install'
RUN <<EOF
set -e
apt-get install -y --no-install-recommends curl
EOF
RUN sh -c 'sudo true'
DF
	run strata lint --format gnu "$CTX/Dockerfile"
	[ "$status" -eq 1 ]
	[[ "$output" != *"Dockerfile:2:"* ]]
	[[ "$output" == *"Dockerfile:3: warning: DL3008 Pin versions in apt get install"* ]]
	[[ "$output" == *"Dockerfile:7: error: DL3004 Do not use sudo"* ]]
}

@test "lint: hadolint ignore pragmas, --ignore and check=skip silence their rules" {
	cat >"$CTX/Dockerfile" <<'DF'
# check=skip=StageNameCasing
# hadolint global ignore=DL3007
FROM debian:latest AS Build
# hadolint ignore=DL3003
RUN cd /x
RUN cd /y
CMD run
DF
	run strata lint --ignore JSONArgsRecommended --ignore DL3025 "$CTX/Dockerfile"
	[ "$status" -eq 1 ]
	[[ "$output" != *"DL3007"* ]]
	[[ "$output" != *"StageNameCasing"* ]]
	[[ "$output" != *"JSONArgsRecommended"* ]]
	[[ "$output" != *"Dockerfile:5 DL3003"* ]]
	[[ "$output" == *"Dockerfile:6 DL3003"* ]]
}

@test "lint: a context's .dockerignore feeds CopyIgnoredFile; a base image in the store feeds UndefinedVar" {
	strata import "$(busybox_tar)" busybox:1 >/dev/null
	printf '.env\n' >"$CTX/.dockerignore"
	cat >"$CTX/Dockerfile" <<'DF'
# check=experimental=CopyIgnoredFile
FROM busybox:1
ENV PATH=$PATH:/opt/bin
COPY .env app.js /srv/
COPY $SRC_DIR /srv/
DF
	run strata lint --failure-threshold none "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *'Dockerfile:4 CopyIgnoredFile warning: Attempting to Copy file ".env" that is excluded by .dockerignore'* ]]
	[[ "$output" == *"Dockerfile:5 UndefinedVar warning: Usage of undefined variable '\$SRC_DIR'"* ]]
	[[ "$output" != *"'\$PATH'"* ]]
}

@test "lint: a context whose .git COPY . would send, and .dockerignore that keeps it out" {
	mkdir -p "$CTX/.git" "$CTX/src"
	printf 'FROM debian:12\nWORKDIR /app\nCOPY . .\nUSER app\n' >"$CTX/Dockerfile"
	run strata lint "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Dockerfile:3 ST1008 warning: .git is in the context and .dockerignore does not exclude it"* ]]
	printf '.git\n' >"$CTX/.dockerignore"
	run strata lint "$CTX"
	[ "$status" -eq 0 ]
}

@test "lint: a Dockerfile that does not parse is an error naming file and line" {
	printf 'FROM debian:12\nRUNN x\n' >"$CTX/Dockerfile"
	run strata lint "$CTX/Dockerfile"
	[ "$status" -eq 1 ]
	[[ "$output" == *"strata: lint: $CTX/Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)"* ]]
	printf '# check=error=maybe\nFROM debian:12\n' >"$CTX/Dockerfile"
	run strata lint "$CTX/Dockerfile"
	[ "$status" -eq 1 ]
	[[ "$output" == *'failed to parse check options: failed to parse check option "error=maybe"'* ]]
}

@test "build --check: BuildKit's report, nothing built, status 1 on findings" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM scratch AS Base
COPY a /a
CMD echo hi
DF
	echo a >"$CTX/a"
	run strata build --check -t nope:1 "$CTX"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "Check complete, 2 warnings have been found!" ]
	[[ "$output" == *"WARNING: StageNameCasing - https://docs.docker.com/go/dockerfile/rule/stage-name-casing/
Stage name 'Base' should be lowercase
Dockerfile:1
--------------------
   1 | >>> FROM scratch AS Base
   2 |     COPY a /a
   3 |     CMD echo hi
"* ]]
	[[ "$output" == *"WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/"* ]]
	[[ "$output" == *"   3 | >>> CMD echo hi"* ]]
	run strata images -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	printf 'FROM scratch\nCOPY a /a\nCMD ["x"]\n' >"$CTX/Dockerfile"
	run strata build --check "$CTX"
	[ "$status" -eq 0 ]
	[ "$output" = "Check complete, no warnings found." ]
}

@test "build: warnings are summed up after the build, which still succeeds" {
	printf 'FROM scratch\nCOPY a /a\nENV A 1\nCMD echo hi\n' >"$CTX/Dockerfile"
	echo a >"$CTX/a"
	run strata build --progress=plain -t warned:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *" 2 warnings found (use strata build --check to expand):
 - LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format (line 3)
 - JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 4)"* ]]
	run strata images -q
	[ -n "$output" ]
}

@test "build: check=error=true fails before any step; BUILDKIT_DOCKERFILE_CHECK replaces the directive" {
	printf '# check=error=true\nFROM scratch AS A\nCOPY a /a\nCMD echo hi\n' >"$CTX/Dockerfile"
	echo a >"$CTX/a"
	run strata build --progress=plain -t strict:1 "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"strata: build: lint violation found for rules: JSONArgsRecommended, StageNameCasing"* ]]
	[[ "$output" != *"COPY a /a"* ]]
	run strata images -q
	[ -z "$output" ]
	run strata build --progress=plain -t strict:1 --build-arg BUILDKIT_DOCKERFILE_CHECK=skip=all "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"warning"* ]]
	run strata build -t strict:2 --build-arg 'BUILDKIT_DOCKERFILE_CHECK=skip=JSONArgsRecommended;error=true' "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"lint violation found for rules: StageNameCasing"* ]]
	run strata build --check --build-arg BUILDKIT_DOCKERFILE_CHECK=bogus "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *'failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK: invalid check option "bogus"'* ]]
}

@test "build: only the target's stages are checked while building; --check checks them all" {
	printf 'FROM scratch AS a\nWORKDIR rel\nFROM scratch AS b\nCOPY f /f\n' >"$CTX/Dockerfile"
	echo f >"$CTX/f"
	run strata build --progress=plain -t tgt:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"WorkdirRelativePath"* ]]
	run strata build --check "$CTX"
	[ "$status" -eq 1 ]
	[[ "$output" == *"WARNING: WorkdirRelativePath"* ]]
	[[ "$output" == *'Relative workdir "rel" can have unexpected results if the base image changes'* ]]
}

@test "lint: .hadolint.yaml in the working directory: ignored, override, trustedRegistries, failure-threshold" {
	printf 'FROM debian\nCMD run\nUSER app\n' >"$CTX/Dockerfile"
	cd "$CTX"
	printf 'ignored:\n  - DL3006\noverride:\n  error: [DL3025]\ntrustedRegistries:\n  - quay.io\nfailure-threshold: error\n' >.hadolint.yaml
	run strata lint --ignore JSONArgsRecommended
	[ "$status" -eq 1 ]
	[[ "$output" != *"DL3006"* ]]
	[[ "$output" == *"Dockerfile:1 DL3026 error: Use only an allowed registry in the FROM image"* ]]
	[[ "$output" == *"Dockerfile:2 DL3025 error: Use arguments JSON notation"* ]]
	printf 'override:\n  error: [DL3025]\n' >"$BATS_TEST_TMPDIR/strata.yaml"
	printf 'failure-threshold: none\n' >.strata-lint.yaml
	run strata lint --ignore JSONArgsRecommended
	[ "$status" -eq 0 ]
	run strata lint --config "$BATS_TEST_TMPDIR/strata.yaml" --failure-threshold error --ignore DL3006
	[ "$status" -eq 1 ]
	[[ "$output" == *"DL3025 error"* ]]
	printf 'override:\n  fatal: [DL3025]\n' >.strata-lint.yaml
	run strata lint
	[ "$status" -eq 1 ]
	[[ "$output" == *"strata: lint: .strata-lint.yaml:2: override: expected error, warning, info or style lists"* ]]
}

@test "build --check: needs no root, since it runs no step" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to become another user"
	# bats' own directories are root's alone: the other user works in one of its own
	dir=$(mktemp -d /tmp/strata-check.XXXXXX)
	printf 'FROM scratch\nRUN true\nCMD x\n' >"$dir/Dockerfile"
	chmod -R a+rwX "$dir"
	run setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$dir" \
		STRATA_ROOT="$dir/root" "$STRATA_BIN" build --check "$dir"
	rm -rf "$dir"
	[ "$status" -eq 1 ]
	[[ "$output" == *"WARNING: JSONArgsRecommended"* ]]
}
