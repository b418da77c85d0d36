#!/usr/bin/env bats
# strata build -o/--output, --push and --metadata-file, as buildx has them.
load helpers

setup_file() {
	REG_DIR=$BATS_FILE_TMPDIR/registry
	registry_start "$REG_DIR"
	export REG REG_PID
}

teardown_file() {
	registry_stop
}

setup() {
	common_setup
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
	echo from-context >"$CTX/a.txt"
	printf 'FROM busybox\nCOPY a.txt /a.txt\nRUN echo made-by-run >/b.txt && rm /bin/vi\n' >"$CTX/Dockerfile"
	OUT=$BATS_TEST_TMPDIR/out
	mkdir -p "$OUT"
}

# The image ids in the store, one a line.
image_ids() {
	strata images -q --no-trunc | sort
}

@test "build -o type=local: the final stage's files in the directory, no image in the store" {
	before=$(image_ids)
	run strata build -o "type=local,dest=$OUT/fs" "$CTX"
	[ "$status" -eq 0 ]
	[ "$(cat "$OUT/fs/a.txt")" = from-context ]
	[ "$(cat "$OUT/fs/b.txt")" = made-by-run ]
	[ -x "$OUT/fs/bin/busybox" ]
	# A file a step deleted is not there.
	[ ! -e "$OUT/fs/bin/vi" ]
	[ "$(image_ids)" = "$before" ]
	[[ "$output" != *"writing image"* ]]
}

@test "build -o DIR: a lone directory is the local output" {
	run strata build -o "$OUT/short" "$CTX"
	[ "$status" -eq 0 ]
	[ "$(cat "$OUT/short/b.txt")" = made-by-run ]
}

@test "build -o type=tar: the files as a tar, to a file or to stdout with -" {
	run strata build -q -o "type=tar,dest=$OUT/fs.tar" "$CTX"
	[ "$status" -eq 0 ]
	run tar -tf "$OUT/fs.tar"
	[ "$status" -eq 0 ]
	[[ $'\n'"$output"$'\n' == *$'\na.txt\n'* ]]
	[[ $'\n'"$output"$'\n' == *$'\nb.txt\n'* ]]
	[[ "$output" == *"bin/busybox"* ]]
	[[ "$output" != *"bin/vi"* ]]
	"$STRATA_BIN" build -q -o - "$CTX" >"$OUT/stdout.tar"
	run tar -xOf "$OUT/stdout.tar" b.txt
	[ "$status" -eq 0 ]
	[ "$output" = made-by-run ]
	# The image id -q prints does not follow an archive written to stdout.
	"$STRATA_BIN" build -q -o type=docker,dest=- "$CTX" >"$OUT/stdout-docker.tar"
	run tar -tf "$OUT/stdout-docker.tar" manifest.json
	[ "$status" -eq 0 ]
	[ $(($(stat -c %s "$OUT/stdout-docker.tar") % 512)) -eq 0 ]
}

@test "build -o type=oci: an OCI archive skopeo reads, and a layout directory with tar=false" {
	before=$(image_ids)
	run strata build -q -o "type=oci,dest=$OUT/img.tar" "$CTX"
	[ "$status" -eq 0 ]
	id=$output
	# The config skopeo reads is the image's, byte for byte.
	run sh -c "skopeo inspect --raw --config 'oci-archive:$OUT/img.tar' | sha256sum"
	[ "$status" -eq 0 ]
	[ "${output%% *}" = "${id#sha256:}" ]
	run strata build -q -o "type=oci,dest=$OUT/layout,tar=false,name=app:2" "$CTX"
	[ "$status" -eq 0 ]
	[ -f "$OUT/layout/index.json" ]
	run skopeo inspect "oci:$OUT/layout:2"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"Layers"'* ]]
	# Exported, not kept: the store has the images it had.
	[ "$(image_ids)" = "$before" ]
}

@test "build -o type=docker: strata load in a fresh store and skopeo docker-archive: read it" {
	run strata build -q -t app:1 -o "type=docker,dest=$OUT/d.tar" "$CTX"
	[ "$status" -eq 0 ]
	id=$output
	run strata images -q app:1
	[ -z "$output" ]
	run sh -c "skopeo inspect --raw --config 'docker-archive:$OUT/d.tar' | sha256sum"
	[ "$status" -eq 0 ]
	[ "${output%% *}" = "${id#sha256:}" ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/fresh
	run strata load -i "$OUT/d.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Loaded image: app:1"* ]]
	run strata inspect --format '{{.Id}}' app:1
	[ "$status" -eq 0 ]
	[ "$output" = "$id" ]
	"$STRATA_BIN" export app:1 >"$OUT/loaded.tar"
	run tar -xOf "$OUT/loaded.tar" b.txt
	[ "$output" = made-by-run ]
}

@test "build --metadata-file: BuildKit's keys for the image made" {
	run strata build -q -t meta:1 --metadata-file "$OUT/meta.json" "$CTX"
	[ "$status" -eq 0 ]
	id=$output
	run jq -r '."containerimage.config.digest"' "$OUT/meta.json"
	[ "$output" = "$id" ]
	digest=$(jq -r '."containerimage.digest"' "$OUT/meta.json")
	[[ "$digest" == sha256:* ]]
	run jq -r '."containerimage.descriptor".digest' "$OUT/meta.json"
	[ "$output" = "$digest" ]
	run jq -r '."containerimage.descriptor".mediaType' "$OUT/meta.json"
	[ "$output" = application/vnd.oci.image.manifest.v1+json ]
	run jq -r '."image.name"' "$OUT/meta.json"
	[ "$output" = docker.io/library/meta:1 ]
	run jq -r '."containerimage.descriptor".size' "$OUT/meta.json"
	[ "$output" -gt 0 ]
}

@test "build --metadata-file with a local output: an empty document, no --iidfile" {
	run strata build -o "$OUT/fs" --metadata-file "$OUT/meta.json" --iidfile "$OUT/iid" "$CTX"
	[ "$status" -eq 0 ]
	run jq -c . "$OUT/meta.json"
	[ "$output" = "{}" ]
	[ ! -e "$OUT/iid" ]
}

@test "build -o type=image,name=...,push=true pushes every name; --push is its shorthand" {
	run strata build -q --metadata-file "$OUT/meta.json" \
		-o "type=image,\"name=$REG/out/a:1,$REG/out/b:1\",push=true" "$CTX"
	[ "$status" -eq 0 ]
	id=$output
	digest=$(jq -r '."containerimage.digest"' "$OUT/meta.json")
	run jq -r '."image.name"' "$OUT/meta.json"
	[ "$output" = "$REG/out/a:1,$REG/out/b:1" ]
	run skopeo inspect --tls-verify=false "docker://$REG/out/a:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"\"Digest\": \"$digest\""* ]]
	run skopeo inspect --tls-verify=false "docker://$REG/out/b:1"
	[ "$status" -eq 0 ]
	run strata images -q --no-trunc "$REG/out/a:1"
	[ "$output" = "$id" ]
	run strata build -q --push -t "$REG/out/c:1" "$CTX"
	[ "$status" -eq 0 ]
	run skopeo inspect --tls-verify=false "docker://$REG/out/c:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"\"Digest\": \"$digest\""* ]]
}

@test "build --push without a name, or with a local output, is refused before building" {
	run strata build --push "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"push=true needs a name"* ]]
	[[ "$output" != *"#1 "* ]]
	run strata build --push -o "$OUT/fs" -t x:1 "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--push and an output of another type"* ]]
	[ ! -e "$OUT/fs" ]
}

@test "build -o: an unknown type or key is named, and nothing is built or kept" {
	before=$(image_ids)
	run strata build -t bad:1 -o type=zip,dest=x "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"strata: build: output 'type=zip,dest=x': unknown type 'zip'"* ]]
	[[ "$output" != *"#1"* ]]
	run strata build -t bad:1 -o "type=local,dest=$OUT/fs,compression=zstd" "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unknown key 'compression' for type=local"* ]]
	run strata build -o type=tar "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"dest is required for type=tar"* ]]
	run strata build -o type=oci,dest=x,tar=maybe "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"tar must be true or false, not 'maybe'"* ]]
	[ "$(image_ids)" = "$before" ]
	[ ! -e "$OUT/fs" ]
}

@test "build --squash: the stage's own layers become one on top of the base, history kept" {
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
RUN echo one >/one && mkdir /d && echo x >/d/x
RUN rm /bin/vi /one && echo two >/two
ENV A=1
COPY a.txt /a.txt
DF
	run strata build -q --squash -t squashed:1 "$CTX"
	[ "$status" -eq 0 ]
	base_layers=$(strata inspect --format '{{len .RootFS.Layers}}' busybox)
	run strata inspect --format '{{len .RootFS.Layers}}' squashed:1
	[ "$output" -eq $((base_layers + 1)) ]
	# The base's layers are the base's.
	run strata inspect --format '{{index .RootFS.Layers 0}}' squashed:1
	[ "$output" = "$(strata inspect --format '{{index .RootFS.Layers 0}}' busybox)" ]
	# The merged layer holds what the steps left, and the deletion of a base file.
	strata save squashed:1 >"$OUT/s.tar"
	top=$(tar -xOf "$OUT/s.tar" manifest.json | jq -r '.[0].Layers[-1]')
	run sh -c "tar -xOf '$OUT/s.tar' '$top' | tar -tzf -"
	[ "$status" -eq 0 ]
	[[ "$output" == *"bin/.wh.vi"* ]]
	[[ "$output" == *"d/x"* ]]
	[[ "$output" == *"two"* ]]
	[[ "$output" == *"a.txt"* ]]
	[[ "$output" != *"one"* ]]
	# Every entry is kept; the stage's own are empty now, and Docker's merge entry is last.
	cfg=$(tar -xOf "$OUT/s.tar" manifest.json | jq -r '.[0].Config')
	run sh -c "tar -xOf '$OUT/s.tar' '$cfg' | jq -c .history"
	[ "$status" -eq 0 ]
	[ "$(jq 'length' <<<"$output")" -eq 6 ]
	[ "$(jq '[.[1:5][] | .empty_layer] | all' <<<"$output")" = true ]
	[[ "$(jq -r '.[-1].comment' <<<"$output")" == "merge sha256:"*" to $(strata inspect --format '{{.Id}}' busybox)" ]]
	[ "$(jq -r '.[-1].empty_layer // false' <<<"$output")" = false ]
}
