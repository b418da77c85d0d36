load helpers
bats_require_minimum_version 1.5.0
setup() { common_setup; }

@test "cli: Docker's names for the verbs run them" {
	run strata image ls
	[ "$status" -eq 0 ]
	[[ "$output" == "REPOSITORY"* ]]
	run strata image list -q
	[ "$status" -eq 0 ]
	run strata buildx build --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: strata build"* ]]
	run strata image rm --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: strata rmi"* ]]
	run strata system prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"Total reclaimed space"* ]]
}

@test "cli: help and help VERB" {
	run strata help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Commands:"* ]]
	run strata help history
	[ "$status" -eq 0 ]
	[[ "$output" == "Usage: strata history"* ]]
	run strata help image ls
	[ "$status" -eq 0 ]
	[[ "$output" == "Usage: strata images"* ]]
}

@test "cli: an unknown verb gets one line naming the closest" {
	run strata buidl .
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"'buidl' is not a strata command; did you mean 'build'?"* ]]
	run strata system prnue
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"did you mean 'system prune'?"* ]]
	run strata system
	[ "$status" -eq 2 ]
	[[ "$output" == *"'system' needs a subcommand: df, prune, check"* ]]
}

@test "cli: verbs strata lacks say what to use instead" {
	run strata scout app:1
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"'scout' is not a strata command: no vulnerability scanner"* ]]
}

@test "cli: getopt errors name strata and the verb" {
	run strata images --bogus
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "strata images: unrecognized option '--bogus'" ]]
	run strata image prune -x
	[ "$status" -eq 2 ]
	[[ "${lines[0]}" == "strata image prune: invalid option -- 'x'" ]]
}

@test "cli: --root without a value is a clear error" {
	run strata --root
	[ "$status" -eq 2 ]
	[[ "$output" == *"--root needs a directory"* ]]
	run strata --root= images
	[ "$status" -eq 2 ]
	[[ "$output" == *"--root needs a directory"* ]]
}

@test "image prune: without -f and no terminal it asks stdin and aborts on no answer" {
	tar=$(busybox_tar)
	strata import --message first "$tar" busybox:latest >/dev/null
	strata import --message second "$tar" busybox:latest >/dev/null
	run strata images --filter dangling=true -q
	[ -n "$output" ]
	run strata image prune </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"Are you sure you want to continue? [y/N]"* ]]
	[[ "$output" == *"image prune has been cancelled"* ]]
	run strata images --filter dangling=true -q
	[ -n "$output" ]
	run strata image prune <<<"y"
	[ "$status" -eq 0 ]
	run strata images --filter dangling=true -q
	[ -z "$output" ]
	run strata system prune </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"system prune has been cancelled"* ]]
}

@test "completion: bash, zsh and fish scripts come from the verb table" {
	export STRATA_BIN
	run bash -c 'source <("$STRATA_BIN" completion bash) && complete -p strata'
	[ "$status" -eq 0 ]
	[[ "$output" == *"-F _strata strata"* ]]
	run bash -c 'source <("$STRATA_BIN" completion bash); COMP_WORDS=(strata system ""); COMP_CWORD=2; _strata; echo "${COMPREPLY[*]}"'
	[ "$output" = "df prune check" ]
	run bash -c 'source <("$STRATA_BIN" completion bash); COMP_WORDS=(strata buildx build --ta); COMP_CWORD=3; _strata; echo "${COMPREPLY[*]}"'
	[ "$output" = "--tag --target" ]
	run strata completion zsh
	[ "$status" -eq 0 ]
	[[ "$output" == "#compdef strata"* ]]
	[[ "$output" == *"'--no-trunc:Don'\\''t truncate output'"* ]]
	run strata completion fish
	[ "$status" -eq 0 ]
	[[ "$output" == *"-n '__fish_seen_subcommand_from build' -l file -s f -r -F"* ]]
	run strata completion tcsh
	[ "$status" -eq 2 ]
	if command -v zsh >/dev/null; then
		run zsh -c 'autoload -Uz compinit; compinit -u -d "$1/zcd"; source <("$2" completion zsh); print -r -- ${_comps[strata]}' zsh "$BATS_TEST_TMPDIR" "$STRATA_BIN"
		[ "$output" = "_strata" ]
	fi
	if command -v fish >/dev/null; then
		run fish -c 'source ("$argv[1]" completion fish | psub); complete -C "strata system prune --f"' "$STRATA_BIN"
		[[ "$output" == "--force"* ]]
	fi
}

@test "inspect: --format is the template as typed, {{\"\\n\"}} and printf work" {
	strata import --change 'EXPOSE 8080' --change 'EXPOSE 53/udp' "$(busybox_tar)" busybox:latest >/dev/null
	run strata inspect --format '{{"\n"}}{{printf "%s\n" .Os}}' busybox
	[ "$status" -eq 0 ]
	# (run drops the trailing newlines)
	[ "$output" = $'\nlinux' ]
	run strata inspect --format '{{.Os}}\t{{.Architecture}}' busybox
	[ "$output" = 'linux\tamd64' ]
	run strata images --format '{{.Repository}}\t{{.Tag}}'
	[ "$output" = $'busybox\tlatest' ]
	run strata inspect --format '{{.Config.ExposedPorts}}' busybox
	[ "$output" = "map[53/udp:{} 8080/tcp:{}]" ]
}

@test "inspect: found images print, each missing one is named, exit 1" {
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	strata tag busybox:latest b2:1
	run --separate-stderr strata inspect --format '{{.Os}}' busybox:latest nosuch:1 b2:1 nope:2
	[ "$status" -eq 1 ]
	[ "$output" = $'linux\nlinux' ]
	[[ "$stderr" == *"No such object: nosuch:1"* ]]
	[[ "$stderr" == *"No such object: nope:2"* ]]
	run strata inspect busybox:latest nosuch:1
	[ "$status" -eq 1 ]
	[[ "$output" == *'"RepoTags"'* ]]
	run strata inspect -s --format '{{.Size}}' busybox:latest
	[ "$status" -eq 0 ]
	[ "$output" -gt 1000000 ]
}

@test "build: EXPOSE with a bad protocol or port is an error" {
	printf 'FROM scratch\nEXPOSE 80/tpc\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	run strata build -t bad:1 "$BATS_TEST_TMPDIR"
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid proto 'tpc' in '80/tpc': expected tcp, udp or sctp"* ]]
	printf 'FROM scratch\nEXPOSE 70000\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	run strata build -t bad:1 "$BATS_TEST_TMPDIR"
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid port '70000'"* ]]
	run strata images -q
	[ -z "$output" ]
	printf 'FROM scratch\nEXPOSE 80/TCP 8000-8010/udp\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	run strata build -t good:1 "$BATS_TEST_TMPDIR"
	[ "$status" -eq 0 ]
}

@test "build: --load, --provenance=false and --sbom=false are accepted" {
	printf 'FROM scratch\nLABEL a=b\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	run strata build -q --load --provenance=false --sbom=false -t ci:1 "$BATS_TEST_TMPDIR"
	[ "$status" -eq 0 ]
	run strata buildx build -q --load --provenance=false -t ci:2 "$BATS_TEST_TMPDIR"
	[ "$status" -eq 0 ]
	run strata images --format '{{.Repository}}:{{.Tag}}' ci
	[[ "$output" == *"ci:1"* ]]
	[[ "$output" == *"ci:2"* ]]
	run strata build -q --provenance=mode=max -t ci:3 "$BATS_TEST_TMPDIR"
	[ "$status" -eq 0 ]
	run strata inspect --format '{{range .Attestations}}{{.PredicateType}}{{end}}' ci:3
	[ "$output" = "https://slsa.dev/provenance/v1" ]
}

@test "build -: a Dockerfile on stdin has no context, a tar on stdin is the context" {
	cd "$BATS_TEST_TMPDIR"
	printf 'FROM scratch\nLABEL from=stdin\n' >Dockerfile
	run strata build -q -t df:1 - <Dockerfile
	[ "$status" -eq 0 ]
	run strata inspect --format '{{.Config.Labels.from}}' df:1
	[ "$output" = "stdin" ]
	# from a pipe too, which cannot be read twice
	run bash -c 'cat Dockerfile | "$0" build -q -t df:2 -' "$STRATA_BIN"
	[ "$status" -eq 0 ]
	printf 'FROM scratch\nCOPY f.txt /\n' >Dockerfile
	echo hello >f.txt
	run strata build -q - <Dockerfile
	[ "$status" -eq 1 ]
	[[ "$output" == *"no build context"* ]]
	tar -cf ctx.tar Dockerfile f.txt
	run strata build -q -t ctx:1 - <ctx.tar
	[ "$status" -eq 0 ]
	run bash -c 'gzip -c ctx.tar | "$0" build -q -t ctx:2 -' "$STRATA_BIN"
	[ "$status" -eq 0 ]
	run strata export ctx:2
	[[ "$output" == *"hello"* ]]
}

@test "cli: --build-arg without a name and save -o into a missing directory are errors" {
	printf 'FROM scratch\n' >"$BATS_TEST_TMPDIR/Dockerfile"
	run strata build --build-arg =x "$BATS_TEST_TMPDIR"
	[ "$status" -eq 2 ]
	[[ "$output" == *"invalid --build-arg '=x': expected NAME=VALUE or NAME"* ]]
	strata build -q -t s:1 "$BATS_TEST_TMPDIR" >/dev/null
	run strata save -o "$BATS_TEST_TMPDIR/missing/dir/s.tar" s:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"directory \"$BATS_TEST_TMPDIR/missing/dir\" does not exist"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/missing" ]
	run strata save -o "$BATS_TEST_TMPDIR/s.tar" s:1
	[ "$status" -eq 0 ]
}

@test "history and images: Docker's time formats, and SIZE is the files' bytes" {
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	run env TZ=UTC "$STRATA_BIN" history -H=false --format '{{.CreatedSince}}|{{.CreatedAt}}' busybox
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\|[0-9-]{10}T[0-9:]{8}Z$ ]]
	run env TZ=Europe/Paris "$STRATA_BIN" history --format '{{.CreatedAt}}' busybox
	[[ "$output" =~ ^[0-9-]{10}T[0-9:]{8}\+0[12]:00$ ]]
	run env TZ=UTC "$STRATA_BIN" images --format '{{json .}}'
	[ "$status" -eq 0 ]
	run jq -r .CreatedAt <<<"$output"
	[[ "$output" =~ ^[0-9-]{10}\ [0-9:]{8}\ \+0000\ UTC$ ]]
	# SIZE: the regular files' bytes, as docker history shows, not the tar's size
	strata export -o "$BATS_TEST_TMPDIR/fs.tar" busybox
	want=$(tar -tvf "$BATS_TEST_TMPDIR/fs.tar" | awk '/^-/ { n += $3 } END { print n }')
	run strata history -H=false --format '{{.Size}}' busybox
	[ "$output" = "$want" ]
}

@test "export: GNU tar reads xattrs without warnings" {
	mkdir -p "$BATS_TEST_TMPDIR/tree/d"
	echo hi >"$BATS_TEST_TMPDIR/tree/d/f"
	python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.note", b"hi")' "$BATS_TEST_TMPDIR/tree/d/f"
	strata import "$BATS_TEST_TMPDIR/tree" x:1 >/dev/null
	strata export -o "$BATS_TEST_TMPDIR/x.tar" x:1
	run --separate-stderr tar --xattrs --xattrs-include='*' -xf "$BATS_TEST_TMPDIR/x.tar" -C "$BATS_TEST_TMPDIR"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	run python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.note").decode())' "$BATS_TEST_TMPDIR/d/f"
	[ "$output" = "hi" ]
}

@test "save: an OCI index's ref.name is the tag, as docker save writes it" {
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	strata save --format oci-dir -o "$BATS_TEST_TMPDIR/oci" busybox:latest
	run jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$BATS_TEST_TMPDIR/oci/index.json"
	[ "$output" = "latest" ]
	run jq -r '.manifests[0].annotations["io.containerd.image.name"]' "$BATS_TEST_TMPDIR/oci/index.json"
	[ "$output" = "docker.io/library/busybox:latest" ]
	run skopeo inspect --format '{{.Os}}' "oci:$BATS_TEST_TMPDIR/oci:latest"
	[ "$status" -eq 0 ]
	[ "$output" = "linux" ]
	STRATA_ROOT="$BATS_TEST_TMPDIR/r2" strata load -i "$BATS_TEST_TMPDIR/oci" >/dev/null
	run env STRATA_ROOT="$BATS_TEST_TMPDIR/r2" "$STRATA_BIN" images --format '{{.Repository}}:{{.Tag}}'
	[ "$output" = "busybox:latest" ]
}

@test "images: --filter before= and since= compare creation times" {
	tar=$(busybox_tar)
	strata import --message one "$tar" one:1 >/dev/null
	strata import --message two "$tar" two:1 >/dev/null
	strata import --message three "$tar" three:1 >/dev/null
	run strata images --filter before=two:1 --format '{{.Repository}}'
	[ "$status" -eq 0 ]
	[ "$output" = "one" ]
	run strata images --filter since=two:1 --format '{{.Repository}}'
	[ "$output" = "three" ]
	run strata images --filter since=one:1 --filter before=three:1 --format '{{.Repository}}'
	[ "$output" = "two" ]
	run strata images --filter before=nosuch:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"No such image: nosuch:1"* ]]
}

@test "rmi --no-prune is accepted; export and save refuse a terminal alike" {
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	strata tag busybox:latest b2:1
	run strata rmi --no-prune b2:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"Untagged: b2:1"* ]]
	run script -qec "'$STRATA_BIN' export busybox" /dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"cowardly refusing to save to a terminal"* ]]
	run script -qec "'$STRATA_BIN' save busybox" /dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"cowardly refusing to save to a terminal"* ]]
}

@test "man: strata(1) and strata-VERB(1) come from the help texts and render" {
	run "$BATS_TEST_DIRNAME/../../scripts/gen-man.sh" "$STRATA_BIN" "$BATS_TEST_TMPDIR/man"
	[ "$status" -eq 0 ]
	[ -f "$BATS_TEST_TMPDIR/man/strata.1" ]
	[ -f "$BATS_TEST_TMPDIR/man/strata-system-prune.1" ]
	run --separate-stderr groff -man -Tascii -P-bcu -ww "$BATS_TEST_TMPDIR/man/strata-build.1"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "$output" == *"strata-build - Build an image from a Dockerfile"* ]]
	[[ "$output" == *"--iidfile string"* ]]
	if command -v man >/dev/null; then
		run env LC_ALL=C MANWIDTH=100 man -l "$BATS_TEST_TMPDIR/man/strata.1"
		[ "$status" -eq 0 ]
		[[ "$output" == *"strata-image-prune(1)"* ]]
	fi
}

@test "README: each 'Using it' line is one strata command that exists" {
	readme="$BATS_TEST_DIRNAME/../../README.md"
	grep -q 'build/cli/strata' "$readme"
	grep -q 'make install' "$readme"
	usage=$(awk '/^## Using it/ { on = 1; next } /^## / { on = 0 } on && /^    strata /' "$readme")
	[ -n "$usage" ]
	while IFS= read -r line; do
		cmd=${line%%#*}
		[[ "$cmd" != *"|"* ]]
		read -r -a w <<<"$cmd"
		if [ "${w[1]}" = help ]; then
			run strata "${w[@]:1}"
		else
			run strata help "${w[1]}" "${w[2]:-}"
		fi
		[ "$status" -eq 0 ]
		[[ "$output" == "Usage: strata "* ]]
	done <<<"$usage"
}
