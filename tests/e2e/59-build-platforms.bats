# strata build --platform with several platforms: an OCI index, the platform ARGs, FROM
# --platform, a RUN for arm64 under QEMU (qemu-user-static, binfmt_misc), push, pull, save, load.
load helpers

# The arm64 busybox rootfs, from Debian's arm64 busybox-static that scripts/install-deps.sh keeps.
arm64_busybox_tar() {
	local cache=${STRATA_TEST_CACHE:-/tmp/strata-test-cache}
	local tar=$cache/busybox-rootfs-arm64.tar
	if [ ! -f "$tar" ]; then
		local deb
		deb=$(ls /var/cache/strata-tests/busybox-static_*_arm64.deb)
		mkdir -p "$cache/arm64-deb"
		dpkg-deb -x "$deb" "$cache/arm64-deb"
		WORK=$cache/work BUSYBOX_BIN=$cache/arm64-deb/bin/busybox \
			bash "$BATS_TEST_DIRNAME/../../scripts/make-busybox-rootfs.sh" "$tar" >/dev/null
	fi
	echo "$tar"
}

# QEMU for arm64, registered with binfmt_misc (a container without systemd may need it done).
register_qemu_aarch64() {
	local b=/proc/sys/fs/binfmt_misc
	if [ ! -e "$b/register" ]; then
		mount -t binfmt_misc binfmt_misc "$b"
	fi
	if [ ! -e "$b/qemu-aarch64" ]; then
		update-binfmts --enable qemu-aarch64 2>/dev/null ||
			printf '%s' ':qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:F' >"$b/register"
	fi
	echo 1 >"$b/qemu-aarch64"
}

# The two busybox images, and bb:multi, an index of both built from them (BuildKit's
# "FROM base-${TARGETARCH}" pattern): made once into a store each test starts from a copy of.
setup_file() {
	register_qemu_aarch64
	registry_setup_file
	export SEED=$BATS_FILE_TMPDIR/seed
	STRATA_ROOT=$SEED strata import --platform linux/arm64 "$(arm64_busybox_tar)" base:arm64 >/dev/null
	STRATA_ROOT=$SEED strata import --platform linux/amd64 "$(busybox_tar)" base:amd64 >/dev/null
	mkdir -p "$BATS_FILE_TMPDIR/base"
	printf 'ARG TARGETARCH\nFROM base:${TARGETARCH}\n' >"$BATS_FILE_TMPDIR/base/Dockerfile"
	STRATA_ROOT=$SEED strata build -q --platform linux/amd64,linux/arm64 -t bb:multi "$BATS_FILE_TMPDIR/base" >/dev/null
}

teardown_file() {
	registry_stop
}

setup() {
	common_setup
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
	cp -a "$SEED" "$STRATA_ROOT"
	ctx=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$ctx"
}

@test "build --platform amd64,arm64: an index under the tag, a RUN per platform, arm64 under QEMU" {
	cat >"$ctx/Dockerfile" <<-'EOF'
	FROM bb:multi
	ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDOS BUILDARCH
	RUN echo "$TARGETPLATFORM $TARGETOS $TARGETARCH [$TARGETVARIANT] $BUILDPLATFORM $BUILDOS $BUILDARCH $(uname -m)" >/info
	EOF
	run strata build --progress plain --platform linux/amd64,linux/arm64 -t app:1 -o type=image \
		-o "type=local,dest=$BATS_TEST_TMPDIR/out" -o "type=oci,dest=$BATS_TEST_TMPDIR/o.tar,name=app:oci" "$ctx"
	[ "$status" -eq 0 ]
	[[ "$output" == *"[linux/arm64 3/3] RUN echo"* ]]
	# type=oci: the index in an OCI layout, as skopeo reads it.
	run skopeo inspect --raw "oci-archive:$BATS_TEST_TMPDIR/o.tar"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r '[.manifests[].platform.architecture] | join(",")')" = amd64,arm64 ]
	run skopeo inspect --override-arch arm64 "oci-archive:$BATS_TEST_TMPDIR/o.tar"
	[ "$(echo "$output" | jq -r .Architecture)" = arm64 ]
	# BuildKit's local output of several platforms: a directory per platform.
	[ "$(cat "$BATS_TEST_TMPDIR/out/linux_amd64/info")" = "linux/amd64 linux amd64 [] linux/amd64 linux amd64 x86_64" ]
	[ "$(cat "$BATS_TEST_TMPDIR/out/linux_arm64/info")" = "linux/arm64 linux arm64 [] linux/amd64 linux amd64 aarch64" ]
	# One row per name, as Docker lists a multi-platform image.
	run strata images --format '{{.Repository}}:{{.Tag}}'
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$output" | sort | tr '\n' ' ')" = "app:1 base:amd64 base:arm64 bb:multi " ]
	run strata images -f dangling=true -q
	[ -z "$output" ]
	# The name resolves to the index, which lists both manifests with their platforms.
	run strata inspect --raw app:1
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .mediaType)" = application/vnd.oci.image.index.v1+json ]
	[ "$(echo "$output" | jq -r '[.manifests[].platform | .os + "/" + .architecture] | join(",")')" = linux/amd64,linux/arm64 ]
	run strata inspect --format '{{.Architecture}}' app:1
	[ "$output" = amd64 ]
	# export --platform takes one platform's files, and the platforms live as long as the
	# name: a prune keeps them.
	run strata image prune -f
	[ "$status" -eq 0 ]
	run strata export --platform linux/arm64 -o "$BATS_TEST_TMPDIR/arm64.tar" app:1
	[ "$status" -eq 0 ]
	[[ "$(tar -xOf "$BATS_TEST_TMPDIR/arm64.tar" info)" == *" aarch64" ]]
	run strata export --platform linux/s390x -o "$BATS_TEST_TMPDIR/s390x.tar" app:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"image 'app:1' has no linux/s390x: it has linux/amd64, linux/arm64"* ]]
}

@test "build --platform: FROM --platform=\$BUILDPLATFORM builds once on the host for every target" {
	cat >"$ctx/Dockerfile" <<-'EOF'
	FROM --platform=$BUILDPLATFORM bb:multi AS build
	ARG TARGETARCH
	RUN echo "built on $(uname -m) for $TARGETARCH" >/out
	FROM bb:multi
	COPY --from=build /out /out
	RUN echo "runs on $(uname -m)" >>/out
	EOF
	run strata build --progress plain --platform linux/amd64,linux/arm64 -o "type=local,dest=$BATS_TEST_TMPDIR/out" "$ctx"
	[ "$status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/out/linux_arm64/out")" = "$(printf 'built on x86_64 for arm64\nruns on aarch64')" ]
	[ "$(cat "$BATS_TEST_TMPDIR/out/linux_amd64/out")" = "$(printf 'built on x86_64 for amd64\nruns on x86_64')" ]
}

@test "build --platform: a platform the base image lacks is named with the ones it has, nothing recorded" {
	printf 'FROM bb:multi\nRUN true\n' >"$ctx/Dockerfile"
	run strata build --platform linux/amd64,linux/ppc64le -t app:1 "$ctx"
	[ "$status" -ne 0 ]
	[[ "$output" == *"image 'bb:multi' has no linux/ppc64le: it has linux/amd64, linux/arm64"* ]]
	run strata images -q app:1
	[ -z "$output" ]
	# A plain image of another platform is refused as well.
	printf 'FROM base:amd64\n' >"$ctx/Dockerfile"
	run strata build --platform linux/arm64 -t app:1 "$ctx"
	[ "$status" -ne 0 ]
	[[ "$output" == *"image 'base:amd64' has no linux/arm64: it has linux/amd64"* ]]
}

@test "build --platform: a RUN whose emulator is not registered names the package" {
	local entry=/proc/sys/fs/binfmt_misc/qemu-s390x was=""
	if [ -e "$entry" ]; then
		was=$(head -1 "$entry")
		echo 0 >"$entry"
	fi
	strata import --platform linux/s390x "$(busybox_tar)" base:s390x >/dev/null
	printf 'FROM base:s390x\nRUN true\n' >"$ctx/Dockerfile"
	run strata build --platform linux/s390x "$ctx"
	if [ "$was" = enabled ]; then echo 1 >"$entry"; fi
	[ "$status" -ne 0 ]
	[[ "$output" == *"a RUN for linux/s390x on this amd64 host needs an emulator"* ]]
	[[ "$output" == *"qemu-user-static"* ]]
}

@test "build --platform: type=docker of several platforms is refused, as BuildKit refuses it" {
	printf 'FROM bb:multi\n' >"$ctx/Dockerfile"
	run strata build --platform linux/amd64,linux/arm64 -o "type=docker,dest=$BATS_TEST_TMPDIR/d.tar" "$ctx"
	[ "$status" -ne 0 ]
	[[ "$output" == *"docker exporter does not currently support exporting manifest lists"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/d.tar" ]
}

@test "build --platform --push: the index and every manifest in the registry; a pull takes one platform" {
	printf 'FROM bb:multi\nRUN uname -m >/arch\n' >"$ctx/Dockerfile"
	run strata build --platform linux/amd64,linux/arm64 -t "$REG/multi:1" --push "$ctx"
	[ "$status" -eq 0 ]
	run skopeo inspect --raw --tls-verify=false "docker://$REG/multi:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .mediaType)" = application/vnd.oci.image.index.v1+json ]
	[ "$(echo "$output" | jq -r '[.manifests[].platform.architecture] | join(",")')" = amd64,arm64 ]
	run skopeo inspect --tls-verify=false --override-arch arm64 "docker://$REG/multi:1"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r .Architecture)" = arm64 ]
	# strata push of the name pushes the index too.
	run strata push "$REG/multi:1" "$REG/again:1"
	[ "$status" -eq 0 ]
	run skopeo inspect --raw --tls-verify=false "docker://$REG/again:1"
	[ "$(echo "$output" | jq -r '.manifests | length')" = 2 ]

	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata pull --platform linux/arm64 "$REG/multi:1"
	[ "$status" -eq 0 ]
	run strata inspect --format '{{.Architecture}}' "$REG/multi:1"
	[ "$output" = arm64 ]
	run strata export -o "$BATS_TEST_TMPDIR/fs.tar" "$REG/multi:1"
	[ "$status" -eq 0 ]
	[ "$(tar -xOf "$BATS_TEST_TMPDIR/fs.tar" arch)" = aarch64 ]
}

@test "save, load: a multi-platform image goes whole and comes back as the same index" {
	run strata inspect --raw bb:multi
	index=$output
	run strata save -o "$BATS_TEST_TMPDIR/bb.tar" bb:multi
	[ "$status" -eq 0 ]
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata load -i "$BATS_TEST_TMPDIR/bb.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: bb:multi" ]
	run strata inspect --raw bb:multi
	[ "$output" = "$index" ]
	run strata images --format '{{.Repository}}:{{.Tag}}'
	[ "$output" = bb:multi ]
	run strata export --platform linux/arm64 -o "$BATS_TEST_TMPDIR/arm64.tar" bb:multi
	[ "$status" -eq 0 ]
	tar -xf "$BATS_TEST_TMPDIR/arm64.tar" -C "$BATS_TEST_TMPDIR" bin/busybox
	# The ELF header's e_machine: 0xb7, aarch64.
	[ "$(od -An -tx1 -j18 -N2 "$BATS_TEST_TMPDIR/bin/busybox" | tr -d ' ')" = b700 ]
	# Saved again, the archive is the same bytes.
	run strata save -o "$BATS_TEST_TMPDIR/again.tar" bb:multi
	[ "$status" -eq 0 ]
	cmp "$BATS_TEST_TMPDIR/bb.tar" "$BATS_TEST_TMPDIR/again.tar"
}
