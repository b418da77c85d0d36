# Build caches that travel: --cache-to and --cache-from through an OCI layout and a registry.
load helpers

setup_file() {
	registry_setup_file
}

teardown_file() {
	registry_stop
}

setup() {
	common_setup
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
	# The same base image in every store: one import, saved and loaded elsewhere.
	BB=$BATS_TEST_TMPDIR/busybox.tar
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	strata save -o "$BB" busybox
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
	printf 'FROM busybox AS b\nRUN echo built >/art\nFROM busybox\nCOPY a.txt /a.txt\nRUN echo step-ran | tr a-z A-Z && cat /a.txt >/copy\nCOPY --from=b /art /art\n' >"$CTX/Dockerfile"
	echo A >"$CTX/a.txt"
}

# Use a fresh store holding only the base image.
fresh_store() {
	export STRATA_ROOT=$BATS_TEST_TMPDIR/$1
	strata load -i "$BB" >/dev/null
}

@test "cache-to type=local,mode=max: a fresh store builds the same image from it, every step cached" {
	run strata build -q --cache-to "type=local,dest=$BATS_TEST_TMPDIR/cache,mode=max" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	id=$output
	run jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$BATS_TEST_TMPDIR/cache/index.json"
	[ "$output" = "latest" ]
	fresh_store other
	run strata build --progress=plain --cache-from "type=local,src=$BATS_TEST_TMPDIR/cache" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"STEP-RAN"* ]]
	[[ "$output" == *"0 steps run, 4 cached"* ]]
	[ "$(strata inspect --format '{{.Id}}' app:1)" = "$id" ]
	run strata system check
	[ "$status" -eq 0 ]
	# The COPY --from checksum came with the cache: stage b's layer was not unpacked to compute
	# it. Unpacked are only the three layers below the last COPY, which resolves its
	# destination in them.
	run find "$STRATA_ROOT/layers" -mindepth 1 -maxdepth 1
	[ "${#lines[@]}" -eq 3 ]
	# A changed file still misses, and what follows it runs.
	echo B >"$CTX/a.txt"
	run strata build --progress=plain --cache-from "type=local,src=$BATS_TEST_TMPDIR/cache" -t app:2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"STEP-RAN"* ]]
}

@test "cache-to type=local: mode=min shares the final stage's steps; tags keep several caches in one layout" {
	run strata build -q --cache-to "type=local,dest=$BATS_TEST_TMPDIR/cache" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	run strata build -q --cache-to "type=local,dest=$BATS_TEST_TMPDIR/cache,tag=other,mode=max" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	run jq -r '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | sort | join(",")' "$BATS_TEST_TMPDIR/cache/index.json"
	[ "$output" = "latest,other" ]
	fresh_store other
	run strata build --progress=plain --cache-from "type=local,src=$BATS_TEST_TMPDIR/cache" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	# The build stage was not shared: it runs; the final stage's RUN does not, and its COPY
	# --from hits too: it is keyed by the content it copies, which the rerun made again.
	[[ "$output" == *"[b 2/2] RUN echo built"* ]]
	[[ "$output" != *"STEP-RAN"* ]]
	[[ "$output" == *"1 step run, 3 cached"* ]]
}

@test "cache-to type=registry: a fresh store gets its hits from the registry, with --cache-from REF" {
	run strata build -q --cache-to "type=registry,ref=$REG/cache/app:buildcache,mode=max" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	id=$output
	run skopeo inspect --raw --tls-verify=false "docker://$REG/cache/app:buildcache"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .config.mediaType)" = "application/vnd.strata.buildcache.config.v1+json" ]
	fresh_store other
	run strata build --progress=plain --cache-from "$REG/cache/app:buildcache" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"STEP-RAN"* ]]
	[[ "$output" == *"4 cached"* ]]
	[ "$(strata inspect --format '{{.Id}}' app:1)" = "$id" ]
	run strata system check
	[ "$status" -eq 0 ]
	# A second export sends no layer again: the registry has them.
	export STRATA_ROOT=$BATS_TEST_TMPDIR/root
	run strata build -q --cache-to "type=registry,ref=$REG/cache/app:buildcache,mode=max" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
}

@test "cache-from: a missing cache is a warning, a bad spec an error, a tampered layer a miss" {
	run strata build --progress=plain --cache-from "type=local,src=$BATS_TEST_TMPDIR/none" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: failed to import cache"* ]]
	run strata build --cache-from "type=local,src=$BATS_TEST_TMPDIR/none,bogus=1" -t app:1 "$CTX"
	[ "$status" -eq 2 ]
	[[ "$output" == *"unknown key 'bogus'"* ]]
	run strata build --cache-to "type=s3,ref=x" -t app:1 "$CTX"
	[ "$status" -eq 2 ]
	[[ "$output" == *"unsupported cache type 's3'"* ]]
	run strata build -q --cache-to "type=local,dest=$BATS_TEST_TMPDIR/cache,mode=max" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	# Change every layer blob of the cache: each is refused on the way in, and its step runs.
	manifest=$BATS_TEST_TMPDIR/cache/blobs/sha256/$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/cache/index.json" | cut -d: -f2)
	for d in $(jq -r '.layers[].digest' "$manifest"); do
		f=$BATS_TEST_TMPDIR/cache/blobs/sha256/${d#sha256:}
		chmod u+w "$f"
		printf 'x' >>"$f"
	done
	fresh_store other
	run strata build --progress=plain --cache-from "type=local,src=$BATS_TEST_TMPDIR/cache" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: cache from $BATS_TEST_TMPDIR/cache: layer sha256:"* ]]
	[[ "$output" == *"STEP-RAN"* ]]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "cache-to type=inline and BUILDKIT_INLINE_CACHE=1: the pushed image itself seeds a fresh store's cache" {
	run strata build -q --cache-to type=inline -t "$REG/cache/inline:1" "$CTX"
	[ "$status" -eq 0 ]
	run strata push -q "$REG/cache/inline:1"
	[ "$status" -eq 0 ]
	fresh_store other
	run strata build --progress=plain --cache-from "$REG/cache/inline:1" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"STEP-RAN"* ]]
	[[ "$output" != *"warning"* ]]
	# The build arg does the same; an image without an inline cache is only a warning.
	export STRATA_ROOT=$BATS_TEST_TMPDIR/root
	run strata build --progress=plain --build-arg BUILDKIT_INLINE_CACHE=1 -t "$REG/cache/inline:2" "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"not consumed"* ]]
	strata push -q "$REG/cache/inline:2"
	strata tag busybox "$REG/cache/plain:1"
	strata push -q "$REG/cache/plain:1"
	fresh_store third
	run strata build --progress=plain --cache-from "$REG/cache/plain:1" --cache-from "$REG/cache/inline:2" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"STEP-RAN"* ]]
	[[ "$output" == *"warning: failed to import cache $REG/cache/plain:1: the image has no inline cache"* ]]
}

@test "cache-from: a record whose value names another layer than its own is refused" {
	run strata build -q --cache-to "type=local,dest=$BATS_TEST_TMPDIR/cache,mode=max" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	# Rewrite the document: the first record with a layer names the second one's in its value.
	c=$BATS_TEST_TMPDIR/cache
	m=$c/blobs/sha256/$(jq -r '.manifests[0].digest' "$c/index.json" | cut -d: -f2)
	doc=$c/blobs/sha256/$(jq -r .config.digest "$m" | cut -d: -f2)
	jq -c '[.records[] | select(.layer) | .layer] as $l
		| (.records | map(.layer) | index($l[0])) as $i
		| .records[$i].value |= (fromjson | .layer = $l[1] | tojson)' "$doc" >"$BATS_TEST_TMPDIR/doc"
	d=sha256:$(sha256sum "$BATS_TEST_TMPDIR/doc" | cut -d' ' -f1)
	cp "$BATS_TEST_TMPDIR/doc" "$c/blobs/sha256/${d#sha256:}"
	jq -c --arg d "$d" --argjson n "$(stat -c %s "$BATS_TEST_TMPDIR/doc")" '.config.digest = $d | .config.size = $n' "$m" >"$BATS_TEST_TMPDIR/m"
	md=sha256:$(sha256sum "$BATS_TEST_TMPDIR/m" | cut -d' ' -f1)
	cp "$BATS_TEST_TMPDIR/m" "$c/blobs/sha256/${md#sha256:}"
	jq -c --arg d "$md" --argjson n "$(stat -c %s "$BATS_TEST_TMPDIR/m")" '.manifests[0].digest = $d | .manifests[0].size = $n' "$c/index.json" >"$BATS_TEST_TMPDIR/i"
	cp "$BATS_TEST_TMPDIR/i" "$c/index.json"
	fresh_store other
	run strata build --progress=plain --cache-from "type=local,src=$c" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: failed to import cache"*"its value names layer"* ]]
	[[ "$output" == *"STEP-RAN"* ]]
}

@test "cache-to type=inline with a zstd image: the records name the zstd layers the image carries" {
	printf 'FROM scratch\nCOPY a.txt /a.txt\n' >"$CTX/Dockerfile"
	run strata build -q --cache-to type=inline -o type=image,name=inline:zstd,compression=zstd "$CTX"
	[ "$status" -eq 0 ]
	id=$output
	run strata inspect --raw inline:zstd
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.layers[].mediaType')" = application/vnd.oci.image.layer.v1.tar+zstd ]
	layer=$(echo "$output" | jq -r '.layers[].digest')
	run jq -r '."strata.buildcache.v1" | fromjson | [.records[].layer | select(. != null)] | join(" ")' \
		"$STRATA_ROOT/blobs/sha256/${id#sha256:}"
	[ "$status" -eq 0 ]
	[ "$output" = "$layer" ]
}
