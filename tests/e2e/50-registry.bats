# strata pull, push, login and logout against the CNCF distribution registry on 127.0.0.1.
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
	strata import --change 'CMD ["sh"]' "$(busybox_tar)" busybox:latest >/dev/null
}

@test "push then pull into another store: same image id, the registry's digest, RepoDigests" {
	id=$(strata inspect --format '{{.Id}}' busybox)
	strata tag busybox "$REG/bb:1"
	run strata push "$REG/bb:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Pushed"* ]]
	digest=${lines[-1]#*@}
	[[ "$digest" == sha256:* ]]
	# The registry serves that digest for the tag, and skopeo reads the image.
	run skopeo inspect --tls-verify=false "docker://$REG/bb:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .Digest)" = "$digest" ]
	run strata push "$REG/bb:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Layer already exists"* ]]
	run strata inspect --format '{{json .RepoDigests}}' busybox
	[ "$output" = "[\"$REG/bb@$digest\"]" ]

	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull "$REG/bb:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Pull complete"* ]]
	[[ "$output" == *"Digest: $digest"* ]]
	[ "${lines[-1]}" = "$REG/bb:1" ]
	[ "$(strata inspect --format '{{.Id}}' "$REG/bb:1")" = "$id" ]
	run strata inspect --format '{{json .RepoDigests}}' "$REG/bb:1"
	[ "$output" = "[\"$REG/bb@$digest\"]" ]
	run strata pull "$REG/bb:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Already exists"* ]]
	[[ "$output" == *"Image is up to date"* ]]
	run strata system check
	[ "$status" -eq 0 ]
}

@test "pull: a digest pins the image, -q prints only the name, a missing tag fails cleanly" {
	strata tag busybox "$REG/pin:1"
	run strata push -q "$REG/pin:1"
	[ "$status" -eq 0 ]
	digest=${output#*@}
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull -q "$REG/pin@$digest"
	[ "$status" -eq 0 ]
	[ "$output" = "$REG/pin@$digest" ]
	run strata images --format '{{.Repository}}:{{.Tag}}'
	[ "$output" = "<none>:<none>" ]
	run strata pull "$REG/pin:nosuchtag"
	[ "$status" -ne 0 ]
	[[ "$output" == *"manifest unknown"* ]]
	[[ "$output" == *"pin:nosuchtag"* ]]
	run strata images -q
	[ "${#lines[@]}" -eq 1 ]
	run strata pull "$REG/pin@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	[ "$status" -ne 0 ]
}

@test "pull: an index gives the host's platform, and names the platforms when none fits" {
	strata tag busybox "$REG/multi:amd"
	run strata push -q "$REG/multi:amd"
	[ "$status" -eq 0 ]
	digest=${output#*@}
	size=$(curl -s -o /dev/null -w '%{size_download}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/multi/manifests/$digest")
	mt=$(strata inspect --format '{{json .}}' busybox >/dev/null; curl -s -I -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' "http://$REG/v2/multi/manifests/$digest" | tr -d '\r' | sed -n 's/^Content-Type: //Ip')
	index=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"%s","digest":"%s","size":%s,"platform":{"architecture":"s390x","os":"linux"}},{"mediaType":"%s","digest":"%s","size":%s,"platform":{"architecture":"amd64","os":"linux"}}]}' "$mt" "$digest" "$size" "$mt" "$digest" "$size")
	run curl -s -f -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary "$index" "http://$REG/v2/multi/manifests/all"
	[ "$status" -eq 0 ]
	index_digest=sha256:$(printf '%s' "$index" | sha256sum | cut -d' ' -f1)
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull --platform linux/amd64 "$REG/multi:all"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Digest: $index_digest"* ]]
	run strata inspect --format '{{.Architecture}} {{json .RepoDigests}}' "$REG/multi:all"
	[ "$output" = "amd64 [\"$REG/multi@$index_digest\"]" ]
	run strata pull --platform linux/arm64 "$REG/multi:all"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no matching manifest for linux/arm64"* ]]
	[[ "$output" == *"linux/s390x, linux/amd64"* ]]
}

@test "pull: a blob the registry corrupted is refused and nothing is recorded" {
	strata tag busybox "$REG/bad:1"
	run strata push -q "$REG/bad:1"
	[ "$status" -eq 0 ]
	layer=$(strata inspect --format '{{json .}}' busybox >/dev/null; curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' "http://$REG/v2/bad/manifests/1" | jq -r '.layers[0].digest')
	hex=${layer#sha256:}
	data=$REG_DIR/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
	[ -f "$data" ]
	cp "$data" "$BATS_TEST_TMPDIR/saved"
	# Another valid gzip'd tar in its place: only the digests can tell.
	mkdir "$BATS_TEST_TMPDIR/evil"
	echo evil >"$BATS_TEST_TMPDIR/evil/evil"
	tar -C "$BATS_TEST_TMPDIR/evil" -czf "$data" evil
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull "$REG/bad:1"
	cp "$BATS_TEST_TMPDIR/saved" "$data"
	[ "$status" -ne 0 ]
	[[ "$output" == *"layer $layer: its content is sha256:"* ]]
	run strata images -q
	[ -z "$output" ]
	run strata system check
	[ "$status" -eq 0 ]
	[ ! -e "$STRATA_ROOT/blobs/sha256/$hex" ]
}

@test "pull -a: every tag of the repository" {
	strata tag busybox "$REG/tags:a"
	strata tag busybox "$REG/tags:b"
	strata push -q "$REG/tags:a" >/dev/null
	strata push -q "$REG/tags:b" >/dev/null
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull -q -a "$REG/tags"
	[ "$status" -eq 0 ]
	run strata images --format '{{.Tag}}'
	[ "$(echo "$output" | sort | tr '\n' ' ')" = "a b " ]
	run strata pull -a "$REG/tags:a"
	[ "$status" -ne 0 ]
	[[ "$output" == *"a tag or digest is not allowed here"* ]]
}

@test "pull: two stores pulling at once both get the image" {
	strata tag busybox "$REG/both:1"
	strata push -q "$REG/both:1" >/dev/null
	export STRATA_ROOT=$BATS_TEST_TMPDIR/shared
	strata pull -q "$REG/both:1" >"$BATS_TEST_TMPDIR/a.out" 2>&1 &
	a=$!
	strata pull -q "$REG/both:1" >"$BATS_TEST_TMPDIR/b.out" 2>&1 &
	b=$!
	wait "$a"
	wait "$b"
	run strata system check
	[ "$status" -eq 0 ]
	run strata images -q
	[ "${#lines[@]}" -eq 1 ]
}

@test "login: wrong password refused, saved credentials used by push and pull, logout forgets" {
	dir=$BATS_TEST_TMPDIR/authreg
	mkdir -p "$dir"
	htpasswd_line alice s3cret >"$dir/htpasswd"
	registry_start "$dir" "$dir/htpasswd"
	strata tag busybox "$REG/private:1"
	run strata push "$REG/private:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unauthorized"* ]]
	run sh -c "echo wrong | '$STRATA_BIN' login -u alice --password-stdin $REG"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unauthorized"* ]]
	[ ! -e "$REGISTRY_AUTH_FILE" ]
	run sh -c "echo s3cret | '$STRATA_BIN' login -u alice --password-stdin $REG"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Login Succeeded"* ]]
	[ "$(stat -c %a "$REGISTRY_AUTH_FILE")" = 600 ]
	run jq -r ".auths[\"$REG\"].auth" "$REGISTRY_AUTH_FILE"
	[ "$output" = "$(printf alice:s3cret | base64)" ]
	run strata push "$REG/private:1"
	[ "$status" -eq 0 ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull -q "$REG/private:1"
	[ "$status" -eq 0 ]
	run strata logout "$REG"
	[ "$status" -eq 0 ]
	run strata pull "$REG/private:1"
	registry_stop
	[ "$status" -ne 0 ]
	[[ "$output" == *"unauthorized"* ]]
}

# The short digest of the first layer of REF in the registry, as pull progress names it.
layer_id() {
	local d
	d=$(strata manifest inspect "$1" | jq -r '.layers[0].digest')
	printf '%.12s' "${d#sha256:}"
}

@test "build: FROM, COPY --from and RUN --mount from= pull what is missing; --pull=never and always" {
	strata tag busybox "$REG/base:1"
	strata push -q "$REG/base:1" >/dev/null
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	ctx=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$ctx"
	printf 'FROM %s/base:1\nRUN echo built > /built\n' "$REG" >"$ctx/Dockerfile"
	run strata build --pull=never -t app:1 "$ctx"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$REG/base:1"* ]]
	[[ "$output" == *"--pull=never"* ]]
	run strata build --progress=plain -t app:1 "$ctx"
	[ "$status" -eq 0 ]
	[[ "$output" == *"pulling $REG/base:1"* ]]
	# each pulled layer is a line of the FROM step, in docker pull's words
	[[ "$output" == *"$(layer_id "$REG/base:1"): Pull complete"* ]]
	run strata images --format '{{.Repository}}:{{.Tag}}'
	[[ "$output" == *"$REG/base:1"* ]]
	[[ "$output" == *"app:1"* ]]
	# A tag that moved in the registry is seen with --pull=always, not without.
	printf 'FROM busybox\nRUN echo two > /two\n' >"$ctx/Dockerfile.two"
	STRATA_ROOT=$BATS_TEST_TMPDIR/root strata build -q -t "$REG/base:1" -f "$ctx/Dockerfile.two" "$ctx" >/dev/null
	STRATA_ROOT=$BATS_TEST_TMPDIR/root strata push -q "$REG/base:1" >/dev/null
	printf 'FROM %s/base:1\nRUN cat /two\n' "$REG" >"$ctx/Dockerfile"
	run strata build -t app:2 "$ctx"
	[ "$status" -ne 0 ]
	run strata build --pull=always -t app:2 "$ctx"
	echo "$output"
	[ "$status" -eq 0 ]
	# COPY --from an image and a bind mount from an image are pulled too.
	strata rmi -f "$REG/base:1" >/dev/null
	printf 'FROM scratch\nCOPY --from=%s/base:1 /two /two\n' "$REG" >"$ctx/Dockerfile"
	run strata build -t app:3 "$ctx"
	echo "$output"
	[ "$status" -eq 0 ]
	strata rmi -f "$REG/base:1" >/dev/null
	printf 'FROM app:1\nRUN --mount=from=%s/base:1,target=/m cat /m/two > /copied\n' "$REG" >"$ctx/Dockerfile"
	run strata build --progress=plain -t app:4 "$ctx"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "push -a pushes every tag of the repository; --digestfile holds the digest" {
	strata tag busybox "$REG/all:x"
	strata tag busybox "$REG/all:y"
	strata tag busybox "$REG/allother:z"
	run strata push -q -a --digestfile "$BATS_TEST_TMPDIR/digest" "$REG/all"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	run curl -s "http://$REG/v2/all/tags/list"
	[ "$(echo "$output" | jq -c '.tags | sort')" = '["x","y"]' ]
	[[ "$(cat "$BATS_TEST_TMPDIR/digest")" == sha256:* ]]
	run strata push -a "$REG/all:x"
	[ "$status" -ne 0 ]
}

@test "credentials: Docker's config.json auths and a credential helper are used" {
	dir=$BATS_TEST_TMPDIR/authreg
	mkdir -p "$dir"
	htpasswd_line bob pw1 >"$dir/htpasswd"
	registry_start "$dir" "$dir/htpasswd"
	strata tag busybox "$REG/c:1"
	# Docker's file, as `docker login` writes it.
	unset REGISTRY_AUTH_FILE
	export DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker
	mkdir -p "$DOCKER_CONFIG"
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$REG" "$(printf bob:pw1 | base64)" >"$DOCKER_CONFIG/config.json"
	run strata push -q "$REG/c:1"
	[ "$status" -eq 0 ]
	# A credential helper named by credHelpers answers instead; the password is not in its argv.
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/docker-credential-fake" <<'SH'
#!/bin/sh
read server
echo "$1 $server $*" >>"$(dirname "$0")/calls"
if [ "$1" = get ]; then printf '{"ServerURL":"%s","Username":"bob","Secret":"pw1"}' "$server"; fi
exit 0
SH
	chmod +x "$BATS_TEST_TMPDIR/bin/docker-credential-fake"
	printf '{"credHelpers":{"%s":"fake"}}' "$REG" >"$DOCKER_CONFIG/config.json"
	export PATH=$BATS_TEST_TMPDIR/bin:$PATH
	run strata push -q "$REG/c:1"
	[ "$status" -eq 0 ]
	grep -q "^get $REG" "$BATS_TEST_TMPDIR/bin/calls"
	run sh -c "echo pw1 | '$STRATA_BIN' login -u bob --password-stdin $REG"
	[ "$status" -eq 0 ]
	grep -q "^store {" "$BATS_TEST_TMPDIR/bin/calls"
	run jq -r '.auths // {} | length' "$DOCKER_CONFIG/config.json"
	registry_stop
	[ "$output" = 0 ]
	run grep -c pw1 "$BATS_TEST_TMPDIR/bin/calls"
	[ "$output" = 1 ]
}

@test "bearer tokens: anonymous pull, push with a scoped token after login, wrong password refused" {
	dir=$BATS_TEST_TMPDIR/tokenreg
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" \
		-days 2 -subj /CN=strata-test 2>/dev/null
	python3 "$BATS_TEST_DIRNAME/fixtures/token-server.py" "$dir/key.pem" "$dir/cert.pem" \
		carol:tok3n "$dir/port" 3>&- &
	tokpid=$!
	for i in $(seq 100); do if [ -f "$dir/port" ]; then break; fi; sleep 0.1; done
	registry_start "$dir" "" "http://127.0.0.1:$(cat "$dir/port")/token $dir/cert.pem"
	strata tag busybox "$REG/tok:1"
	run strata push "$REG/tok:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unauthorized"* || "$output" == *"denied"* ]]
	run sh -c "echo nope | '$STRATA_BIN' login -u carol --password-stdin $REG"
	[ "$status" -ne 0 ]
	[[ "$output" == *"incorrect username or password"* ]]
	run sh -c "echo tok3n | '$STRATA_BIN' login -u carol --password-stdin $REG"
	[ "$status" -eq 0 ]
	run strata push "$REG/tok:1"
	[ "$status" -eq 0 ]
	grep -q "^user repository:tok:pull,push" "$dir/port.log"
	strata logout "$REG"
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull "$REG/tok:1"
	registry_stop
	kill "$tokpid"
	[ "$status" -eq 0 ]
	grep -q "^anonymous repository:tok:pull" "$dir/port.log"
}

@test "pull: a layer that could not be unpacked safely is refused before it is recorded" {
	python3 "$BATS_TEST_DIRNAME/fixtures/odd-layer.py" hardlink-escape "$BATS_TEST_TMPDIR/odd.tar"
	run skopeo copy --dest-tls-verify=false "docker-archive:$BATS_TEST_TMPDIR/odd.tar" "docker://$REG/odd:1"
	[ "$status" -eq 0 ]
	run strata pull "$REG/odd:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"entry 'link': hardlink target '../../etc/passwd' escapes the root"* ]]
	run strata images --format '{{.Repository}}'
	[ "$output" = busybox ]
}

@test "manifest inspect and tags read the registry as docker manifest inspect and skopeo list-tags do" {
	strata tag busybox "$REG/mi:1"
	strata tag busybox "$REG/mi:2"
	strata push -q "$REG/mi:1" >/dev/null
	run strata push -q "$REG/mi:2"
	digest=${output#*@}
	run strata manifest inspect --raw "$REG/mi:1"
	[ "$status" -eq 0 ]
	[ "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" = "$digest" ]
	run strata manifest inspect "$REG/mi@$digest"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '.layers | length')" = 1 ]
	run strata tags "$REG/mi"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -c '.Tags | sort')" = '["1","2"]' ]
	[ "$(echo "$output" | jq -r .Repository)" = "$REG/mi" ]
	run strata manifest inspect "$REG/mi:nope"
	[ "$status" -ne 0 ]
	[[ "$output" == *"manifest unknown"* ]]
}

@test "push: a layer the registry has in another repository is mounted, not uploaded" {
	strata tag busybox "$REG/mnt-src:1"
	strata push -q "$REG/mnt-src:1" >/dev/null
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	strata pull -q "$REG/mnt-src:1" >/dev/null
	strata tag "$REG/mnt-src:1" "$REG/mnt-dst:1"
	run strata push "$REG/mnt-dst:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Mounted from mnt-src"* ]]
	layer=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' "http://$REG/v2/mnt-dst/manifests/1" | jq -r '.layers[0].digest')
	run curl -s -o /dev/null -w '%{http_code}' -I "http://$REG/v2/mnt-dst/blobs/$layer"
	[ "$output" = 200 ]
	run skopeo inspect --tls-verify=false "docker://$REG/mnt-dst:1"
	[ "$status" -eq 0 ]
}
