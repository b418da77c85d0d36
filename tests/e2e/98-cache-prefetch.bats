# A build with --cache-from fetches the cache's layers ahead, while it reads the context: what
# happens when one is gone, when the build dies meanwhile, and to the layers no step used.
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
	printf 'FROM busybox\nRUN echo one >/one\nRUN echo step-ran | tr a-z A-Z && echo two >/two\nCOPY a.txt /a.txt\n' >"$CTX/Dockerfile"
	echo A >"$CTX/a.txt"
}

teardown() {
	proxy_stop
}

# Use a fresh store holding only the base image.
fresh_store() {
	export STRATA_ROOT=$BATS_TEST_TMPDIR/$1
	strata load -i "$BB" >/dev/null
}

# The layer digest of the record of the cache REF (repository:tag on $REG) whose step's
# history line contains TEXT.
record_layer() {
	local repo=${1%%:*} tag=${1##*:} config
	config=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$REG/v2/$repo/manifests/$tag" | jq -r .config.digest)
	curl -s "http://$REG/v2/$repo/blobs/$config" |
		jq -r --arg t "$2" '.records[] | select(.layer != null) |
			select(.value | fromjson | .config | fromjson | .history[-1].created_by | contains($t)) | .layer'
}

@test "cache-from: a layer the registry lost is a miss its step explains, the others still hit" {
	run strata build -q --cache-to "type=registry,ref=$REG/prefetch/lost:cache,mode=max" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	layer=$(record_layer prefetch/lost:cache step-ran)
	[ -n "$layer" ]
	hex=${layer#sha256:}
	rm "$REG_DIR/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
	fresh_store other
	run strata build --progress=plain --cache-from "$REG/prefetch/lost:cache" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 CACHED"* ]]
	[[ "$output" == *"STEP-RAN"* ]]
	[[ "$output" == *"warning: cache from the registry: layer $layer: blob unknown"* ]]
	[[ "$output" == *"#3 cache miss: its record in an imported cache could not be used: cache from the registry: layer $layer"* ]]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "cache-from: a build killed while it fetches the cache's layers leaves the store clean" {
	run strata build -q --cache-to "type=registry,ref=$REG/prefetch/killed:cache,mode=max" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	proxy_start stall-blob
	fresh_store other
	"$STRATA_BIN" build -q --cache-from "$PROXY/prefetch/killed:cache" -t app:1 "$CTX" \
		>"$BATS_TEST_TMPDIR/build.log" 2>&1 3>&- &
	pid=$!
	for _ in $(seq 100); do
		if grep -q stalled "$PROXY_LOG" 2>/dev/null; then break; fi
		sleep 0.1
	done
	run grep -c stalled "$PROXY_LOG"
	[ "$output" -ge 1 ]
	kill -9 "$pid"
	wait "$pid" || true
	run strata system check
	[ "$status" -eq 0 ]
	# The next build gets every layer, from the registry itself.
	run strata build --progress=plain --cache-from "$REG/prefetch/killed:cache" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" != *"STEP-RAN"* ]]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "cache-from: a layer fetched ahead that no step used is gone after gc, the used ones stay" {
	run strata build -q --cache-to "type=registry,ref=$REG/prefetch/unused:cache,mode=max" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	unused=$(record_layer prefetch/unused:cache step-ran)
	[ -n "$unused" ]
	used=$(record_layer prefetch/unused:cache 'echo one')
	[ -n "$used" ]
	# The second RUN changes: its cached layer, on the same base, is fetched for nothing.
	sed -i 's/echo two/echo three/' "$CTX/Dockerfile"
	fresh_store other
	run strata build --progress=plain --cache-from "$REG/prefetch/unused:cache" -t app:2 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"#2 CACHED"* ]]
	[[ "$output" == *"STEP-RAN"* ]]
	# gc alone (image prune), which keeps every cache record and what they need.
	run strata image prune -f
	[ "$status" -eq 0 ]
	[ ! -e "$STRATA_ROOT/blobs/sha256/${unused#sha256:}" ]
	[ -e "$STRATA_ROOT/blobs/sha256/${used#sha256:}" ]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "cache-from with --no-cache: no step may hit, so no layer of the cache is fetched" {
	run strata build -q --cache-to "type=registry,ref=$REG/prefetch/nocache:cache,mode=max" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	layer=$(record_layer prefetch/nocache:cache 'echo one')
	[ -n "$layer" ]
	proxy_start pass
	fresh_store other
	run strata build --progress=plain --no-cache --cache-from "$PROXY/prefetch/nocache:cache" -t app:1 "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"STEP-RAN"* ]]
	# The cache was read (its manifest), none of its layers.
	run grep -c "GET /v2/prefetch/nocache/manifests/cache 200" "$PROXY_LOG"
	[ "$output" -ge 1 ]
	run grep -c "/blobs/$layer" "$PROXY_LOG"
	[ "$output" -eq 0 ]
}
