# Registries over TLS with a CA of the test's own, the registries file (insecure registries,
# Docker Hub mirrors, certs.d directories), all against the CNCF registry on 127.0.0.1.
load helpers

setup_file() {
	local d=$BATS_FILE_TMPDIR/tls
	mkdir -p "$d"
	# A CA, and a certificate it signs for 127.0.0.1.
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=strata-test-ca \
		-keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/ext" -out "$d/server.crt" 2>/dev/null
	mkdir -p "$d/data"
	local port
	port=$(free_port)
	printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n' "$d/data" >"$d/config.yml"
	printf 'http:\n  addr: 127.0.0.1:%s\n  tls:\n    certificate: %s\n    key: %s\n' "$port" "$d/server.crt" "$d/server.key" >>"$d/config.yml"
	env -u REGISTRY_AUTH_FILE docker-registry serve "$d/config.yml" >"$d/log" 2>&1 3>&- &
	TLS_PID=$!
	TLS_REG=127.0.0.1:$port
	for _ in $(seq 100); do
		curl -s -o /dev/null --cacert "$d/ca.crt" "https://$TLS_REG/v2/" && break
		sleep 0.1
	done
	export TLS_REG TLS_PID TLS_DIR=$d
	# A plain one, for the mirror.
	registry_start "$BATS_FILE_TMPDIR/plain"
	export REG REG_PID
}

teardown_file() {
	kill "$TLS_PID" 2>/dev/null || true
	registry_stop
}

setup() {
	common_setup
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
	export STRATA_REGISTRIES_CONF=$BATS_TEST_TMPDIR/registries.json
	strata import "$(busybox_tar)" busybox:latest >/dev/null
}

@test "tls: a registry whose CA is unknown is refused naming the certificate, and not taken for plain HTTP" {
	strata tag busybox "$TLS_REG/tls/bb:1"
	run strata push "$TLS_REG/tls/bb:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"certificate"* ]]
	run strata system check
	[ "$status" -eq 0 ]
	# --tls-verify=false reaches it.
	run strata push --tls-verify=false "$TLS_REG/tls/bb:1"
	[ "$status" -eq 0 ]
}

@test "tls: the CA in a certs.d directory of the registries file is trusted for that host" {
	mkdir -p "$BATS_TEST_TMPDIR/certs.d/$TLS_REG"
	cp "$TLS_DIR/ca.crt" "$BATS_TEST_TMPDIR/certs.d/$TLS_REG/ca.crt"
	printf '{"certs-dirs": ["%s"]}\n' "$BATS_TEST_TMPDIR/certs.d" >"$STRATA_REGISTRIES_CONF"
	strata tag busybox "$TLS_REG/tls/ca:1"
	run strata push "$TLS_REG/tls/ca:1"
	[ "$status" -eq 0 ]
	# skopeo reads it with the same CA.
	run skopeo inspect --cert-dir "$BATS_TEST_TMPDIR/certs.d/$TLS_REG" "docker://$TLS_REG/tls/ca:1"
	[ "$status" -eq 0 ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull "$TLS_REG/tls/ca:1"
	[ "$status" -eq 0 ]
}

@test "tls: insecure-registries in the registries file skips verification for that host only" {
	printf '{"insecure-registries": ["%s"]}\n' "$TLS_REG" >"$STRATA_REGISTRIES_CONF"
	strata tag busybox "$TLS_REG/tls/insecure:1"
	run strata push "$TLS_REG/tls/insecure:1"
	[ "$status" -eq 0 ]
	printf '{"insecure-registries": ["127.0.0.1:1"]}\n' >"$STRATA_REGISTRIES_CONF"
	run strata push "$TLS_REG/tls/insecure:1"
	[ "$status" -ne 0 ]
	# A bad file is an error naming it and the key.
	printf '{"insecure-registries": "x"}\n' >"$STRATA_REGISTRIES_CONF"
	run strata pull "$TLS_REG/tls/insecure:1"
	[ "$status" -ne 0 ]
	[[ "$output" == *"registries.json: \"insecure-registries\": expected an array of strings"* ]]
}

@test "mirrors: a docker.io image is pulled from the mirror in the registries file" {
	strata tag busybox "$REG/library/mirrored:1"
	strata push -q "$REG/library/mirrored:1"
	printf '{"registry-mirrors": ["http://%s/"]}\n' "$REG" >"$STRATA_REGISTRIES_CONF"
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull mirrored:1
	[ "$status" -eq 0 ]
	# The mirror's answer that there are no signatures is final: Docker Hub is not asked.
	[[ "$output" != *"Signatures not pulled"* ]]
	run strata images --format '{{.Repository}}:{{.Tag}}'
	[ "$output" = "mirrored:1" ]
	run strata inspect --format '{{.Id}}' mirrored:1
	[ "$output" = "$(STRATA_ROOT=$BATS_TEST_TMPDIR/root strata inspect --format '{{.Id}}' busybox)" ]
}
