load helpers
setup() { common_setup; }

@test "debug parse: ENV and LABEL pairs dump as name, value and separator, as BuildKit's parser" {
	printf '%s\n' 'FROM scratch' 'ENV a=b c="d e"' 'ENV legacy value with  spaces' \
		'LABEL "x y"=z w=' 'LABEL maintainer someone <a@b>' 'ONBUILD ENV k=v' \
		>"$BATS_TEST_TMPDIR/Dockerfile"
	run strata debug parse "$BATS_TEST_TMPDIR/Dockerfile"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = '(env "a" "b" "=" "c" "\"d e\"" "=")' ]
	[ "${lines[2]}" = '(env "legacy" "value with  spaces" "")' ]
	[ "${lines[3]}" = '(label "\"x y\"" "z" "=" "w" "" "=")' ]
	[ "${lines[4]}" = '(label "maintainer" "someone <a@b>" "")' ]
	[ "${lines[5]}" = '(onbuild (env "k" "v" "="))' ]
}

@test "build: ENV and LABEL in both forms still set the config" {
	printf '%s\n' 'FROM scratch' 'ENV a=b c="d e"' 'ENV legacy value with  spaces' \
		'LABEL "x y"=z maintainer=someone' >"$BATS_TEST_TMPDIR/Dockerfile"
	run strata build -q -t pairs:1 "$BATS_TEST_TMPDIR"
	[ "$status" -eq 0 ]
	run strata inspect --format '{{json .Config.Env}}' pairs:1
	[ "$status" -eq 0 ]
	[[ "$output" == *'"a=b","c=d e","legacy=value with  spaces"'* ]]
	run strata inspect --format '{{json .Config.Labels}}' pairs:1
	[ "$status" -eq 0 ]
	[ "$output" = '{"maintainer":"someone","x y":"z"}' ]
}

@test "prune verbs: a \"no\" is Docker's cancelled error and removes nothing, for every verb" {
	strata volume create keep >/dev/null
	for verb in "container prune" "image prune" "system prune" "volume prune --all"; do
		run strata $verb </dev/null
		[ "$status" -eq 1 ]
		[[ "$output" == *"Are you sure you want to continue? [y/N]"* ]]
		[[ "$output" == *"strata: ${verb% --all}: ${verb% --all} has been cancelled"* ]]
	done
	run strata volume ls -q
	[ "$status" -eq 0 ]
	[ "$output" = "keep" ]
	run strata volume prune -a <<<"y"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Deleted Volumes:"* ]]
	run strata volume ls -q
	[ -z "$output" ]
}

@test "prune and rm verbs: one set of flags, usage errors and --help" {
	for verb in "container prune" "image prune" "system prune" "volume prune"; do
		run strata $verb extra
		[ "$status" -eq 2 ]
		[[ "$output" == *"\"$verb\" accepts no arguments"* ]]
		run strata $verb --help
		[ "$status" -eq 0 ]
		[[ "$output" == *"-f, --force"* ]]
	done
	for verb in "rmi" "volume rm"; do
		run strata $verb
		[ "$status" -eq 2 ]
		[[ "$output" == *"\"$verb\" requires at least 1 argument"* ]]
		run strata $verb --bogus x
		[ "$status" -eq 2 ]
		[[ "$output" == *"see 'strata $verb --help'"* ]]
	done
	run strata volume rm -f missing
	[ "$status" -eq 0 ]
	run strata rmi --no-prune missing:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"missing:1"* ]]
	run strata container prune -a
	[ "$status" -eq 2 ]
	run strata system prune --volumes -f
	[ "$status" -eq 0 ]
}

@test "nm: every external symbol of strata's own carries a prefix (st_, a module's, the CLI's)" {
	# Module-internal names take the module's folder name (builder_, container_); the CLI's are
	# cmd_<verb> and cli/run.h's run_. Left out: the toolchain's and sanitizers' (a leading
	# '_', main, data_start), symbol versions of shared libraries and third_party/ (tree-sitter).
	modules=$(ls "$BATS_TEST_DIRNAME/../../src" | paste -sd'|')
	run nm --defined-only --extern-only "$STRATA_BIN"
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	stray=$(printf '%s\n' "$output" | awk '{ print $3 }' |
		grep -vE '^_|@|^(main|data_start)$|^(ts|tree_sitter)_' |
		grep -vE "^(st|cmd|run|$modules)_" || true)
	echo "unprefixed: $stray"
	[ -z "$stray" ]
}

@test "load: an OCI layout's manifest is recorded byte for byte, under its own digest" {
	strata import "$(busybox_tar)" bb:1 >/dev/null
	dir="$BATS_TEST_TMPDIR/oci"
	run strata save --format oci-dir -o "$dir" bb:1
	[ "$status" -eq 0 ]
	# Re-indent the manifest: the same document in other bytes, which load must keep.
	run python3 - "$dir" <<-'PY'
		import hashlib, json, os, sys
		d = sys.argv[1]
		idx = json.load(open(os.path.join(d, "index.json")))
		m = idx["manifests"][0]
		old = os.path.join(d, "blobs", *m["digest"].split(":"))
		data = json.dumps(json.load(open(old)), indent=7).encode()
		digest = hashlib.sha256(data).hexdigest()
		open(os.path.join(d, "blobs", "sha256", digest), "wb").write(data)
		m["digest"], m["size"] = "sha256:" + digest, len(data)
		json.dump(idx, open(os.path.join(d, "index.json"), "w"))
		print("sha256:" + digest)
	PY
	[ "$status" -eq 0 ]
	want=$output
	export STRATA_ROOT="$BATS_TEST_TMPDIR/root2"
	run strata load -i "$dir"
	[ "$status" -eq 0 ]
	run strata images --digests --format '{{.Digest}}' bb:1
	[ "$status" -eq 0 ]
	[ "$output" = "$want" ]
}
