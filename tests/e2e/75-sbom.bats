#!/usr/bin/env bats
# strata sbom: the catalogers on real package databases of this machine (dpkg's status and
# copyright files, Python's dist-info, a Go executable and a jar from Debian's packages, npm
# manifests from npm's registry, an apk database written here), the layer that added each
# package, SPDX and CycloneDX documents checked against the formats, and malformed input.
load helpers

FIX="$BATS_TEST_DIRNAME/fixtures/sbom"

# Host's dpkg status without the paragraphs of the packages named: FILE PKG...
status_without() {
	python3 - "$@" <<'PY'
import re, sys
out, drop = sys.argv[1], set(sys.argv[2:])
paras = open("/var/lib/dpkg/status").read().split("\n\n")
keep = [p for p in paras if p.strip() and re.search(r"^Package: (\S+)$", p, re.M).group(1) not in drop]
open(out, "w").write("\n\n".join(keep).rstrip("\n") + "\n")
PY
}

setup_file() {
	export STRATA_ROOT="$BATS_FILE_TMPDIR/root"
	CTX=$BATS_FILE_TMPDIR/ctx
	mkdir -p "$CTX"/l0/var/lib/dpkg "$CTX"/l0/etc "$CTX"/l1/var/lib/dpkg \
		"$CTX"/l1/usr/lib/python3/dist-packages "$CTX"/l2/usr/share/java \
		"$CTX"/l2/usr/lib/node_modules/@types "$CTX"/l3/var/lib/dpkg
	# layer 0: the host's packages but jq, its os-release, three copyright files
	cp -L /etc/os-release "$CTX"/l0/etc/os-release
	status_without "$CTX"/l0/var/lib/dpkg/status jq
	for p in jq openssl libc6; do
		mkdir -p "$CTX"/l0/usr/share/doc/$p
		cp /usr/share/doc/$p/copyright "$CTX"/l0/usr/share/doc/$p/
	done
	# layer 1: jq installed (the whole status), Python's installed distributions
	cp /var/lib/dpkg/status "$CTX"/l1/var/lib/dpkg/status
	for d in /usr/lib/python3/dist-packages/*.dist-info; do
		mkdir -p "$CTX/l1$d"
		cp "$d/METADATA" "$CTX/l1$d/"
	done
	# layer 2: a jar, two npm packages
	cp -L /usr/share/java/commons-cli.jar "$CTX"/l2/usr/share/java/commons-cli-1.5.0.jar
	mkdir -p "$CTX"/l2/usr/lib/node_modules/ms "$CTX"/l2/usr/lib/node_modules/@types/ms
	cp "$FIX"/npm/ms/package.json "$CTX"/l2/usr/lib/node_modules/ms/
	cp "$FIX"/npm/types-ms/package.json "$CTX"/l2/usr/lib/node_modules/@types/ms/
	# layer 3: openssl removed from the database
	status_without "$CTX"/l3/var/lib/dpkg/status openssl
	printf 'FROM scratch\nCOPY l0/ /\nCOPY l1/ /\nCOPY l2/ /\nCOPY l3/ /\n' >"$CTX/Dockerfile"
	strata build -q -t multi:1 "$CTX" >/dev/null
	# read once: most tests look at the same document
	strata sbom --scope all-layers -o strata-json="$BATS_FILE_TMPDIR/all.json" multi:1
}

setup() {
	export STRATA_ROOT="$BATS_FILE_TMPDIR/root"
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	registry_stop
	REG_PID=
}

# The strata-json document of IMAGE (all layers) in all.json.
all_json() {
	strata sbom --scope all-layers -o strata-json=all.json "$1"
}

# That of multi:1, made once.
multi_json() {
	cp "$BATS_FILE_TMPDIR/all.json" all.json
}

# jq over all.json
q() { jq -r "$1" all.json; }

@test "sbom: the dpkg packages are those dpkg-query lists, name, version and architecture" {
	run strata sbom -o strata-json=s.json multi:1
	[ "$status" -eq 0 ]
	jq -r '.packages[] | select(.type == "deb") | "\(.name) \(.version) \(.architecture)"' s.json |
		sort >got
	dpkg-query -W -f '${db:Status-Status} ${Package} ${Version} ${Architecture}\n' |
		awk '$1 == "installed" && $2 != "openssl" { print $2, $3, $4 }' | sort >want
	[ -s want ]
	diff want got
}

@test "sbom: each package names the layer that first listed it and its instruction" {
	multi_json
	[ "$(q '.packages[] | select(.name == "libc6") | .layer.index')" = 0 ]
	[ "$(q '.packages[] | select(.name == "jq") | .layer.index')" = 1 ]
	[[ "$(q '.packages[] | select(.name == "jq") | .layer.createdBy')" == *"COPY l1/ /"* ]]
	# the layers after it rewrote the database: jq still belongs to the one that added it
	[ "$(q '.packages[] | select(.name == "jq") | .layer.diffID')" = "$(q '.layers[1].diffID')" ]
	[ "$(q '.packages[] | select(.purl == "pkg:npm/ms@2.1.3") | .layer.index')" = 2 ]
}

@test "sbom: a package a later layer removed is in all-layers only, marked not present" {
	multi_json
	[ "$(q '.packages[] | select(.name == "openssl") | .present')" = false ]
	[ "$(q '.packages[] | select(.name == "openssl") | .layer.index')" = 0 ]
	[ "$(q '.packages[] | select(.name == "libc6") | .present')" = true ]
	run strata sbom -o purls multi:1
	[ "$status" -eq 0 ]
	[[ "$output" != *"pkg:deb/debian/openssl@"* ]]
	[[ "$output" == *"pkg:deb/debian/libssl3@"* ]]
	strata sbom multi:1 >table
	! grep -q '^openssl ' table
	grep -q '^libssl3 ' table
}

@test "sbom: deb purls carry syft's qualifiers; the distro comes from os-release" {
	multi_json
	. /etc/os-release
	# versions are escaped as packageurl-go escapes them: '+' is %2B, ':' %3A
	v=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$(dpkg-query -W -f '${Version}' libc6)")
	src=$(dpkg-query -W -f '${source:Package}' libc6)
	[ "$(q '.packages[] | select(.name == "libc6") | .purl')" = "pkg:deb/$ID/libc6@$v?arch=amd64&upstream=$src&distro=$ID-$VERSION_ID" ]
	[ "$(q '.distro.id')" = "$ID" ]
	[ "$(q '.distro.versionID')" = "$VERSION_ID" ]
	[[ "$(q '.packages[] | select(.name == "libc6") | .cpes[0]')" == "cpe:2.3:a:libc6:libc6:"* ]]
}

@test "sbom: Debian licences come from the copyright file's License: lines" {
	multi_json
	q '.packages[] | select(.name == "jq") | .licenses[]' >got
	grep '^License:' /usr/share/doc/jq/copyright | awk '{ print $2 }' | sed 's/[.,]*$//' | sort -u >want
	[ -s want ]
	# every License: line's licence, and the common-licenses files it points to
	[ -z "$(comm -23 want <(sort -u got))" ]
	q '.packages[] | select(.name == "jq") | .locations[]' | grep -qx 'usr/share/doc/jq/copyright'
}

@test "sbom: Python's installed distributions, as importlib.metadata reads them" {
	multi_json
	q '.packages[] | select(.type == "python") | "\(.name) \(.version)"' | sort >got
	python3 -c '
import importlib.metadata as m
for d in m.distributions(path=["/usr/lib/python3/dist-packages"]):
    if d._path.name.endswith(".dist-info"):
        print(d.metadata["Name"], d.version)' | sort >want
	[ -s want ]
	diff want got
	[[ "$(q '.packages[] | select(.type == "python") | .purl' | head -1)" == "pkg:pypi/"* ]]
}

@test "sbom: npm packages under node_modules, scoped ones with their namespace" {
	multi_json
	[ "$(q '.packages[] | select(.type == "npm" and .group == null) | .purl')" = "pkg:npm/ms@2.1.3" ]
	[ "$(q '.packages[] | select(.type == "npm" and .group == "@types") | .purl')" = "pkg:npm/%40types/ms@0.7.34" ]
	[ "$(q '.packages[] | select(.purl == "pkg:npm/ms@2.1.3") | .licenses[0]')" = MIT ]
}

@test "sbom: a Go executable's build information: main module and the Go it was built with" {
	mkdir -p ctx/usr/bin
	cp /usr/bin/skopeo ctx/usr/bin/
	printf 'FROM scratch\nCOPY . /\n' >ctx/Dockerfile
	strata build -q -t go:1 ctx >/dev/null
	all_json go:1
	[ "$(q '.packages[] | select(.type == "go-module" and .name != "stdlib") | .name')" = github.com/containers/skopeo/cmd/skopeo ]
	# Debian records the toolchain it built skopeo with: golang-1.19 (= 1.19.8-2)
	go=$(dpkg-query -W -f '${Built-Using}' skopeo | tr ',' '\n' | sed -n 's/.*golang-[0-9.]* (= \([0-9.]*\)-.*/\1/p')
	[ -n "$go" ]
	[ "$(q '.packages[] | select(.name == "stdlib") | .version')" = "go$go" ]
	[ "$(q '.packages[] | select(.name == "stdlib") | .purl')" = "pkg:golang/stdlib@$go" ]
	[ "$(q '.packages[] | select(.name == "stdlib") | .locations[0]')" = usr/bin/skopeo ]
}

@test "sbom: a Java archive's pom.properties names it; its SHA-1 is the jar's" {
	multi_json
	[ "$(q '.packages[] | select(.type == "java-archive") | .purl')" = "pkg:maven/commons-cli/commons-cli@1.5.0" ]
	sha=$(sha1sum /usr/share/java/commons-cli.jar | cut -d' ' -f1)
	[ "$(q '.packages[] | select(.type == "java-archive") | .checksum')" = "sha1:$sha" ]
}

@test "sbom: a jar inside a war is a package of its own, named by its place in the war" {
	mkdir -p ctx/srv
	# a web application without Maven metadata, carrying Debian's commons-cli jar
	python3 - ctx/srv/shop-2.1.war <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nImplementation-Version: 2.1.0\n\n")
    z.write("/usr/share/java/commons-cli.jar", "WEB-INF/lib/commons-cli-1.5.0.jar")
PY
	printf 'FROM scratch\nCOPY . /\n' >ctx/Dockerfile
	strata build -q -t war:1 ctx >/dev/null
	all_json war:1
	[ "$(q '.packages[] | select(.name == "shop") | .version')" = 2.1.0 ]
	[ "$(q '.packages[] | select(.name == "commons-cli") | .locations[0]')" = "srv/shop-2.1.war:WEB-INF/lib/commons-cli-1.5.0.jar" ]
	[ "$(q '.packages[] | select(.name == "commons-cli") | .purl')" = "pkg:maven/commons-cli/commons-cli@1.5.0" ]
}

@test "sbom: apk's installed database, with origin and licence" {
	mkdir -p ctx/etc ctx/lib/apk/db
	printf 'ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n' >ctx/etc/os-release
	cat >ctx/lib/apk/db/installed <<'APK'
C:Q1yYrQ6ozLhKRxwwXxZVxKNrFaRPk=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407765
I:663552
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
F:lib
R:ld-musl-x86_64.so.1

P:libcrypto3
V:3.1.4-r5
A:x86_64
L:Apache-2.0
o:openssl
m:Ariadne Conill <ariadne@dereferenced.org>
APK
	printf 'FROM scratch\nCOPY . /\n' >ctx/Dockerfile
	strata build -q -t alp:1 ctx >/dev/null
	run strata sbom -o purls alp:1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&upstream=openssl&distro=alpine-3.19.1" ]
	[ "${lines[1]}" = "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1" ]
}

# An rpm database as rpm 4.16+ writes it: SQLite, one header blob per package: FILE
make_rpmdb() {
	python3 - "$1" <<'PY'
import sqlite3, struct, sys
STRING, INT32, I18N = 6, 4, 9
def header(tags):
    index, data = b"", b""
    for tag, typ, value in tags:
        if typ == INT32:
            data += b"\0" * (-len(data) % 4)
            off, blob = len(data), struct.pack(">I", value)
        else:
            off, blob = len(data), value.encode() + b"\0"
        index += struct.pack(">IIII", tag, typ, off, 1)
        data += blob
    return struct.pack(">II", len(tags), len(data)) + index + data
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
pkgs = [
    [(1000, STRING, "openssl-libs"), (1001, STRING, "3.0.7"), (1002, STRING, "27.el9"),
     (1003, INT32, 1), (1004, I18N, "A general purpose cryptography library"),
     (1014, STRING, "ASL 2.0"), (1022, STRING, "x86_64"),
     (1044, STRING, "openssl-3.0.7-27.el9.src.rpm")],
    [(1000, STRING, "bash"), (1001, STRING, "5.1.8"), (1002, STRING, "9.el9"),
     (1014, STRING, "GPLv3+"), (1022, STRING, "x86_64"),
     (1044, STRING, "bash-5.1.8-9.el9.src.rpm")],
]
for p in pkgs:
    db.execute("INSERT INTO Packages (blob) VALUES (?)", (header(p),))
# a header whose string runs past its data
db.execute("INSERT INTO Packages (blob) VALUES (?)", (struct.pack(">IIIIII", 1, 4, 1000, 6, 0, 1) + b"abcd",))
db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
PY
}

@test "sbom: rpm's SQLite database, its header blobs read; a corrupt one is a warning" {
	mkdir -p ctx/etc ctx/var/lib/rpm
	printf 'ID="rhel"\nVERSION_ID="9.3"\n' >ctx/etc/os-release
	make_rpmdb ctx/var/lib/rpm/rpmdb.sqlite
	printf 'FROM scratch\nCOPY . /\n' >ctx/Dockerfile
	strata build -q -t rpm:1 ctx >/dev/null
	run strata sbom -o purls rpm:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"var/lib/rpm/rpmdb.sqlite: package 3: header without a name or version"* ]]
	[[ "$output" == *"pkg:rpm/redhat/bash@5.1.8-9.el9?arch=x86_64&upstream=bash-5.1.8-9.el9.src.rpm&distro=rhel-9.3"* ]]
	[[ "$output" == *"pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1&upstream=openssl-3.0.7-27.el9.src.rpm&distro=rhel-9.3"* ]]
	all_json rpm:1
	[ "$(q '.packages[] | select(.name == "openssl-libs") | .version')" = 1:3.0.7-27.el9 ]
	[ "$(q '.packages[] | select(.name == "openssl-libs") | .licenses[0]')" = "ASL 2.0" ]
}

@test "sbom: CycloneDX 1.6 valid against the official schema, SPDX 2.3 with every required field" {
	run strata sbom --scope all-layers -o cyclonedx-json=c.json -o spdx-json=s.json multi:1
	[ "$status" -eq 0 ]
	run python3 "$FIX/check_sbom.py" cyclonedx "$FIX/schema" c.json
	echo "$output"
	[ "$status" -eq 0 ]
	run python3 "$FIX/check_sbom.py" spdx s.json "$FIX/spdx/SPDXJSONExample-v2.3.spdx.json"
	echo "$output"
	[ "$status" -eq 0 ]
	# the layer that added jq is in both
	jq -e '.components[] | select(.name == "jq") | .properties[] | select(.name == "strata:layer:index" and .value == "1")' c.json
	jq -e '.packages[] | select(.name == "jq") | .comment | test("added by layer 1 ")' s.json
	jq -e '.components[] | select(.type == "operating-system")' c.json
}

@test "sbom: the same image and SOURCE_DATE_EPOCH give the same bytes" {
	SOURCE_DATE_EPOCH=1700000000 strata sbom -o spdx-json=a1 -o cyclonedx-json=b1 multi:1
	SOURCE_DATE_EPOCH=1700000000 strata sbom -o spdx-json=a2 -o cyclonedx-json=b2 multi:1
	cmp a1 a2
	cmp b1 b2
	[ "$(jq -r .creationInfo.created a1)" = 2023-11-14T22:13:20Z ]
	[ "$(jq -r .metadata.timestamp b1)" = 2023-11-14T22:13:20Z ]
}

@test "sbom: several -o at once, --file for the one without a file" {
	run strata sbom -o purls -o table=t.txt --file p.txt -o spdx-json=s.json multi:1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	grep -q '^pkg:deb/' p.txt
	head -1 t.txt | grep -q '^NAME  *VERSION  *TYPE  *LAYER  *INSTRUCTION'
	jq -e '.spdxVersion == "SPDX-2.3"' s.json
}

@test "sbom docker://: a registry's image is read in place; nothing lands in the store" {
	mkdir -p ctx/etc ctx/lib/apk/db
	printf 'ID=alpine\nVERSION_ID=3.19.1\n' >ctx/etc/os-release
	printf 'P:musl\nV:1.2.4-r4\nA:x86_64\nL:MIT\n' >ctx/lib/apk/db/installed
	printf 'FROM scratch\nCOPY . /\n' >ctx/Dockerfile
	registry_start "$BATS_TEST_TMPDIR/registry"
	strata build -q -t "$REG/sbom/apk:1" ctx >/dev/null
	strata push -q "$REG/sbom/apk:1" >/dev/null
	strata rmi "$REG/sbom/apk:1" >/dev/null
	before=$(strata images -q | wc -l)
	run strata sbom -o purls "docker://$REG/sbom/apk:1"
	[ "$status" -eq 0 ]
	[ "$output" = "pkg:apk/alpine/musl@1.2.4-r4?arch=x86_64&distro=alpine-3.19.1" ]
	[ "$(strata images -q | wc -l)" = "$before" ]
}

@test "sbom: an archive read in place gives the store's packages" {
	strata save -o img.tar multi:1
	run strata sbom -o purls docker-archive:img.tar
	[ "$status" -eq 0 ]
	echo "$output" >archive.txt
	strata sbom -o purls multi:1 >store.txt
	cmp store.txt archive.txt
}

@test "sbom: a package whose files a RUN deleted is not present any more" {
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	mkdir -p ctx
	cp -r "$BATS_FILE_TMPDIR"/ctx/l2/usr/lib/node_modules ctx/
	printf 'FROM busybox\nCOPY node_modules /usr/lib/node_modules\nRUN rm -rf /usr/lib/node_modules/ms\n' >ctx/Dockerfile
	strata build -q -t rm:1 ctx >/dev/null
	all_json rm:1
	[ "$(q '.packages[] | select(.purl == "pkg:npm/ms@2.1.3") | .present')" = false ]
	[ "$(q '.packages[] | select(.purl == "pkg:npm/%40types/ms@0.7.34") | .present')" = true ]
	run strata sbom -o purls rm:1
	[ "$status" -eq 0 ]
	[ "$output" = "pkg:npm/%40types/ms@0.7.34" ]
}

@test "sbom: malformed databases are warnings naming the file; the rest is still listed" {
	mkdir -p ctx/var/lib/dpkg ctx/usr/lib/node_modules/bad ctx/usr/local/bin ctx/opt
	# a status cut short: the last paragraph lost its Version line
	printf 'Package: good\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\nPackage: cut\nStatus: install ok installed\n' >ctx/var/lib/dpkg/status
	printf '{ "name": "bad", "version": ' >ctx/usr/lib/node_modules/bad/package.json
	# an ELF whose Go build information says its strings run past the end
	python3 -c '
import sys
b = bytearray(b"\x7fELF" + b"\0" * 12)
b += b"\xff Go buildinf:" + bytes([8, 2]) + b"\0" * 16 + b"\xff\xff\xff\xff\x0f" + b"go1.21"
open(sys.argv[1], "wb").write(b)' ctx/usr/local/bin/corrupt-go
	chmod +x ctx/usr/local/bin/corrupt-go
	head -c 3000 /dev/urandom >ctx/opt/broken.jar
	printf 'FROM scratch\nCOPY . /\n' >ctx/Dockerfile
	strata build -q -t bad:1 ctx >/dev/null
	run strata sbom -o purls bad:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"var/lib/dpkg/status:6: package without a version (Version:)"* ]]
	[[ "$output" == *"usr/lib/node_modules/bad/package.json:1: not JSON"* ]]
	[[ "$output" == *"usr/local/bin/corrupt-go: Go build information truncated or corrupt"* ]]
	[[ "$output" == *"opt/broken.jar: not a readable Java archive"* ]]
	[[ "$output" == *"pkg:deb/"*"/good@1.0?arch=amd64"* ]]
}

@test "sbom: flags it does not know are errors that say what is expected" {
	run strata sbom -o spdx multi:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"strata: sbom: --output 'spdx': unknown format 'spdx' (expected table, spdx-json, cyclonedx-json, strata-json or purls)"* ]]
	run strata sbom --scope deep multi:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"--scope 'deep': expected squashed or all-layers"* ]]
	run strata sbom --platform linux/s390x multi:1
	[ "$status" -ne 0 ]
	[[ "$output" == *"'multi:1' is linux/amd64, not linux/s390x"* ]]
	run strata sbom nothing:here
	[ "$status" -ne 0 ]
	[[ "$output" == *"strata: sbom: 'nothing:here'"* ]]
	run strata sbom --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"Usage: strata sbom [OPTIONS] IMAGE"* ]]
}

@test "sbom: purls of an image without packages are no output at all, to stdout and to a file" {
	mkdir -p ctx/etc
	printf 'hello\n' >ctx/etc/motd
	printf 'FROM scratch\nCOPY etc/ /etc/\n' >ctx/Dockerfile
	strata build -q -t nopkg:1 ctx >/dev/null
	run strata sbom -o purls nopkg:1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run strata sbom -o purls=p.txt nopkg:1
	[ "$status" -eq 0 ]
	[ -f p.txt ]
	[ ! -s p.txt ]
}
