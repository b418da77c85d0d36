#!/usr/bin/env bats
# strata dive and strata diff: dive's figures, strata's waste and findings, the CI gate, dive's
# JSON layout, and image diffs, on images strata builds here. Every expected number is worked
# out by hand below from the bytes each RUN writes.
load helpers

# Built once for the file: the image takes a few seconds of RUN steps.
setup_file() {
	export STRATA_ROOT="$BATS_FILE_TMPDIR/root"
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	CTX=$BATS_FILE_TMPDIR/ctx
	mkdir -p "$CTX"
	# layer 1: /app/data/a 100000, /app/data/b 20000, /app/conf 5000 (125000)
	# layer 2: /app/conf rewritten with other bytes, 30000
	# layer 3: a download, /tmp/pkg.tar 40000
	# layer 4: the download deleted and rm -rf /app/data (nothing added)
	# layer 5: /srv/x 7000, /srv/y 3000
	# layer 6: chown -R /srv: x and y again, the same bytes with another owner (10000)
	# layer 7: an apt list left behind, 6000
	cat >"$CTX/Dockerfile" <<'DF'
FROM busybox
RUN mkdir -p /app/data && head -c 100000 /dev/zero >/app/data/a && head -c 20000 /dev/zero >/app/data/b && head -c 5000 /dev/zero >/app/conf
RUN head -c 30000 /dev/zero | tr '\0' c >/app/conf
RUN head -c 40000 /dev/zero | tr '\0' p >/tmp/pkg.tar
RUN rm /tmp/pkg.tar && rm -rf /app/data
RUN mkdir -p /srv && head -c 7000 /dev/zero >/srv/x && head -c 3000 /dev/zero >/srv/y
RUN chown -R 1000:1000 /srv
RUN mkdir -p /var/lib/apt/lists && head -c 6000 /dev/zero >/var/lib/apt/lists/main_Packages
DF
	strata build -q -t waste:1 "$CTX" >/dev/null
	# the base layer: the busybox rootfs, every file seen once
	tar -tvf "$(busybox_tar)" | awk '{ s += $3 } END { print s }' >"$BATS_FILE_TMPDIR/base"
}

teardown() {
	if [ -n "${TMUX_SOCK:-}" ]; then tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true; fi
}

setup() {
	export STRATA_ROOT="$BATS_FILE_TMPDIR/root"
	BASE=$(cat "$BATS_FILE_TMPDIR/base")
	cd "$BATS_TEST_TMPDIR"
	unset CI
}

# jq's value of FILTER in FILE
jqv() { jq -r "$2" "$1"; }

@test "dive: dive's figures follow dive 0.13's formula" {
	run strata dive --json "$BATS_TEST_TMPDIR/d.json" waste:1
	[ "$status" -eq 0 ]
	J=$BATS_TEST_TMPDIR/d.json
	[ "$(jqv "$J" '.image.sizeBytes')" -eq $((BASE + 221000)) ]
	# every sighting of the paths seen twice: /app/conf 5000+30000, /tmp/pkg.tar 40000 and
	# its whiteout 0, /srv/x 7000+7000, /srv/y 3000+3000. rm -rf /app/data is one whiteout
	# of a directory: counted once (120000), so not waste in dive's eyes.
	[ "$(jqv "$J" '.image.inefficientBytes')" -eq 95000 ]
	# smallest sightings: base + 100000 + 20000 + 5000 + 0 + 120000 + 7000 + 3000 + 6000;
	# all sightings: base + 100000 + 20000 + 35000 + 40000 + 120000 + 14000 + 6000 + 6000
	want=$(echo "scale=12; ($BASE + 261000) / ($BASE + 341000)" | bc)
	got=$(jqv "$J" '.image.efficiencyScore')
	[ "$(echo "d = $got - $want; if (d < 0) d = -d; d < 0.000000001" | bc)" -eq 1 ]
	run jqv "$J" '.image.fileReference | map("\(.count) \(.sizeBytes) \(.file)") | join(",")'
	[ "$output" = "2 40000 /tmp/pkg.tar,2 35000 /app/conf,2 14000 /srv/x,2 6000 /srv/y" ]
	# user-wasted percent: 95000 / the layers after the first (221000)
	run jqv "$J" '.image.strata.userWastedPercent * 10000 | round'
	[ "$output" = "4299" ]
}

@test "dive: strata's waste counts what the final filesystem does not show" {
	run strata dive --json "$BATS_TEST_TMPDIR/d.json" waste:1
	[ "$status" -eq 0 ]
	J=$BATS_TEST_TMPDIR/d.json
	# /app/conf 5000 (rewritten), /tmp/pkg.tar 40000 (deleted), /app/data 120000 (rm -rf),
	# /srv/x and /srv/y 10000 (chown -R copies); the apt list still shows
	[ "$(jqv "$J" '.image.strata.wastedBytes')" -eq 175000 ]
	[ "$(jqv "$J" '.image.strata.wastedFiles')" -eq 6 ]
	[ "$(jqv "$J" '.image.strata.baseLayers')" -eq 1 ]
	run jqv "$J" '.image.strata.findings | map("\(.kind) \(.sizeBytes) \(.files) \(.addedBy.index)-\(.removedBy.index)") | join(",")'
	[ "$output" = "deleted 120000 2 1-4,deleted 40000 1 3-4,copied 10000 2 5-6,cache 6000 1 7-null,overwritten 5000 1 1-2" ]
	[ "$(jqv "$J" '.layer[4].strata.removed')" -eq 2 ]
	[ "$(jqv "$J" '.layer[6].strata.modified')" -eq 3 ]
}

@test "dive: the report names the instruction that added and the one that removed each byte" {
	run strata dive --report waste:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"  wastedBytes:       175000 bytes (175 kB) in 6 files"* ]]
	[[ "$output" == *"  1. deleted: 120 kB in 2 files, e.g. /app/data/a"* ]]
	[[ "$output" == *"     added by layer 1: RUN /bin/sh -c mkdir -p /app/data && head -c 100000 "* ]]
	[[ "$output" == *"     removed by layer 4: RUN /bin/sh -c rm /tmp/pkg.tar && rm -rf /app/data # buildkit"$'\n'"     fix: delete it in the same RUN, or use a multi-stage build"* ]]
	[[ "$output" == *"  3. copied: 10 kB in 2 files, e.g. /srv/x"$'\n'"     added by layer 5: RUN /bin/sh -c mkdir -p /srv"* ]]
	[[ "$output" == *"     replaced by layer 6: RUN /bin/sh -c chown -R 1000:1000 /srv # buildkit"$'\n'"     fix: use COPY --chown/--chmod"* ]]
	[[ "$output" == *"  4. cache: 6.0 kB in 1 file, e.g. /var/lib/apt/lists/main_Packages"$'\n'"     added by layer 7: RUN /bin/sh -c mkdir -p /var/lib/apt/lists"* ]]
	[[ "$output" == *"  5. overwritten: 5.0 kB in 1 file, e.g. /app/conf"* ]]
}

@test "dive: --exclude-base leaves busybox's layer out of strata's figures" {
	run strata dive --exclude-base --json "$BATS_TEST_TMPDIR/d.json" waste:1
	[ "$status" -eq 0 ]
	[ "$(jqv "$BATS_TEST_TMPDIR/d.json" '.image.strata.sizeBytes')" -eq 221000 ]
	[ "$(jqv "$BATS_TEST_TMPDIR/d.json" '.image.strata.wastedBytes')" -eq 175000 ]
}

@test "dive --json: dive's layout for each layer" {
	run strata dive -j "$BATS_TEST_TMPDIR/d.json" waste:1
	[ "$status" -eq 0 ]
	J=$BATS_TEST_TMPDIR/d.json
	[ "$(jqv "$J" '.layer | length')" -eq 8 ]
	[ "$(jqv "$J" '.layer[3].index')" -eq 3 ]
	[ "$(jqv "$J" '.layer[3].sizeBytes')" -eq 40000 ]
	[ "$(jqv "$J" '.layer[3].command')" = "RUN /bin/sh -c head -c 40000 /dev/zero | tr '\\0' p >/tmp/pkg.tar # buildkit" ]
	run strata inspect --format '{{index .RootFS.Layers 3}}' waste:1
	[ "$(jqv "$J" '.layer[3].digestId')" = "$output" ]
	# children before their parent; a whiteout as its .wh. name; Go's file modes
	run jqv "$J" '.layer[4].fileList | map("\(.path):\(.typeFlag):\(.size)") | join(",")'
	[ "$output" = "app/.wh.data:48:0,app:53:0,tmp/.wh.pkg.tar:48:0,tmp:53:0" ]
	[ "$(jqv "$J" '.layer[6].fileList[] | select(.path == "srv/x") | "\(.uid):\(.gid):\(.fileMode)"')" = "1000:1000:420" ]
	[ "$(jqv "$J" '.layer[6].fileList[] | select(.path == "srv") | .fileMode')" -eq 2147484141 ]
}

@test "dive --ci: dive's report, one line per rule, exit 1 when one fails" {
	run strata dive --ci waste:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"  efficiency:        "* ]]
	[[ "$output" == *"  wastedBytes:       95000 bytes (95 kB)"* ]]
	[[ "$output" == *"  userWastedPercent: 42.99 %"* ]]
	[[ "$output" == *"  2      40 kB         /tmp/pkg.tar"* ]]
	# defaults: lowestEfficiency 0.9 passes, highestUserWastedPercent 0.1 fails
	[[ "$output" == *"  FAIL  highestUserWastedPercent (too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=0.43 > threshold=0.1))"* ]]
	[[ "$output" == *"  PASS  lowestEfficiency (0.9)"* ]]
	[[ "$output" == *"  SKIP  highestWastedBytes (disabled)"* ]]
	[[ "$output" == *"FAIL [pass:1 fail:1 skip:4]" ]]
}

@test "dive --ci: flags, CI=true and strata's own rules" {
	CI=true run strata dive --highest-user-wasted-percent 0.5 --highestWastedBytes 95kB waste:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"  PASS  highestWastedBytes (95kB)"* ]]
	[[ "$output" == *"PASS [pass:3 skip:3]" ]]
	run strata dive --ci --highest-user-wasted-percent off --highest-strata-wasted-bytes 100kB waste:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"  FAIL  highestStrataWastedBytes (too many bytes the final filesystem does not show (wasted-bytes=175000 > threshold=100000))"* ]]
	[[ "$output" == *"  SKIP  highestUserWastedPercent (disabled)"* ]]
	run strata dive --ci --highest-user-wasted-percent off --highest-image-size 1MB waste:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"  FAIL  highestImageSize (image is too large (size=$((BASE + 221000)) > threshold=1000000))"* ]]
}

@test "dive --ci: a .dive-ci file in dive's format" {
	printf 'rules:\n  lowestEfficiency: 0.99\n  highestWastedBytes: disabled\n  highestUserWastedPercent: "off"\n' >.dive-ci
	run strata dive --ci waste:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"  FAIL  lowestEfficiency (image efficiency is too low (efficiency=0.97 < threshold=0.99))"* ]]
	[[ "$output" == *"  SKIP  highestUserWastedPercent (disabled)"* ]]
	printf 'rules:\n  lowestEfficiency: 0.5\n  highestUserWastedPercent: off\n' >ci.yml
	run strata dive --ci --ci-config ci.yml waste:1
	[ "$status" -eq 0 ]
	[[ "$output" == *"  PASS  lowestEfficiency (0.5)"* ]]
}

@test "dive --ci: a bad rules file or value is an error naming it" {
	printf 'rules:\n  lowest-efficiency: 0.9\n' >ci.yml
	run strata dive --ci --ci-config ci.yml waste:1
	[ "$status" -eq 1 ]
	[[ "$output" == "strata: dive: ci.yml:2: rules: unknown rule 'lowest-efficiency' (expected one of lowestEfficiency, "* ]]
	printf 'rules:\n  lowestEfficiency: [0.9\n' >ci.yml
	run strata dive --ci --ci-config ci.yml waste:1
	[ "$status" -eq 1 ]
	[[ "$output" == "strata: dive: ci.yml:"* ]]
	run strata dive --ci --lowest-efficiency 2 waste:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"strata: dive: lowestEfficiency config value is outside allowed range (0-1), given '2.000000'" ]]
	run strata dive --ci --highest-wasted-bytes 20parsecs waste:1
	[ "$status" -eq 1 ]
	[[ "$output" == *"strata: dive: invalid highestWastedBytes config value: '20parsecs': expected a size such as 20MB, 20MiB or 300" ]]
}

@test "dive --ci --baseline: fails when strata's waste grew against the previous release" {
	mkdir -p ctx2
	printf 'FROM waste:1\nRUN head -c 9000 /dev/zero >/w && rm /srv/y\n' >ctx2/Dockerfile
	run strata build -q -t waste:2 ctx2
	[ "$status" -eq 0 ]
	run strata dive --ci --highest-user-wasted-percent off --baseline waste:1 waste:2
	[ "$status" -eq 1 ]
	# /srv/y's 3000 bytes of layer 6 now hidden too
	[[ "$output" == *"  FAIL  highestStrataWastedIncrease (waste grew against the baseline (wasted-bytes=178000, baseline=175000, allowed increase=0))"* ]]
	run strata dive --ci --highest-user-wasted-percent off --baseline waste:1 --highest-strata-wasted-increase 3kB waste:2
	[ "$status" -eq 0 ]
	[[ "$output" == *"  PASS  highestStrataWastedIncrease (3kB)"* ]]
}

@test "dive docker://: a registry's image is read in place, with the store's figures; nothing lands in the store" {
	registry_start "$BATS_TEST_TMPDIR/registry"
	strata tag waste:1 "$REG/dive/waste:1"
	strata push -q "$REG/dive/waste:1" >/dev/null
	strata rmi "$REG/dive/waste:1" >/dev/null
	before=$(strata images -q | wc -l)
	run strata dive --json "$BATS_TEST_TMPDIR/remote.json" "docker://$REG/dive/waste:1"
	[ "$status" -eq 0 ]
	run strata dive --json "$BATS_TEST_TMPDIR/local.json" waste:1
	[ "$status" -eq 0 ]
	# The same figures; only the base, which the store finds among its images, is unknown there.
	run diff <(jq -S '.image | del(.. | objects | .baseLayers)' "$BATS_TEST_TMPDIR/remote.json") <(jq -S '.image | del(.. | objects | .baseLayers)' "$BATS_TEST_TMPDIR/local.json")
	[ "$status" -eq 0 ]
	[ "$(jq '.layer | length' "$BATS_TEST_TMPDIR/remote.json")" = "$(jq '.layer | length' "$BATS_TEST_TMPDIR/local.json")" ]
	[ "$(strata images -q | wc -l)" = "$before" ]
	run strata dive --ci "docker://$REG/dive/missing:1"
	[ "$status" -eq 1 ]
	[[ "$output" == *"analyze 'docker://$REG/dive/missing:1'"* ]]
	registry_stop
}

@test "dive: a missing image or archive is named" {
	run strata dive --ci docker-archive:/nonexistent.tar
	[ "$status" -eq 1 ]
	[ "$output" = "strata: dive: analyze 'docker-archive:/nonexistent.tar': /nonexistent.tar: no such file or directory" ]
	run strata dive nosuch:1
	[ "$status" -eq 1 ]
	[ "$output" = "strata: dive: No such image: nosuch:1" ]
}

@test "dive: a layer blob cut short in the store is an error naming the layer, not a crash" {
	export STRATA_ROOT=$BATS_TEST_TMPDIR/root
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	run strata save -o img.tar busybox:latest
	[ "$status" -eq 0 ]
	digest=$(tar -xOf img.tar manifest.json | jq -r '.[0].Layers[0]' | sed 's|blobs/sha256/||')
	f=$STRATA_ROOT/blobs/sha256/$digest
	chmod u+w "$f"
	truncate -s 30000 "$f"
	run strata dive --ci busybox:latest
	[ "$status" -eq 1 ]
	[[ "$output" == "strata: dive: analyze 'busybox:latest': layer 0 (sha256:$digest): "* ]]
}

@test "diff: files added, deleted and changed between two images, with sizes" {
	run strata diff busybox:latest waste:1
	[ "$status" -eq 0 ]
	[[ "$output" == *$'A /app\n'* ]]
	[[ "$output" == *$'A /app/conf\t30kB\n'* ]]
	[[ "$output" == *$'A /srv/x\t7kB\n'* ]]
	[[ "$output" == *$'A /var/lib/apt/lists/main_Packages\t6kB'* ]]
	[[ "$output" != *"/app/data"* ]]
	[[ "$output" != *"pkg.tar"* ]]
	mkdir -p ctx3
	printf 'FROM waste:1\nRUN echo hi >/app/conf && rm /srv/y && chmod 600 /srv/x\n' >ctx3/Dockerfile
	run strata build -q -t waste:3 ctx3
	[ "$status" -eq 0 ]
	run strata diff waste:1 waste:3
	[ "$status" -eq 0 ]
	[ "$output" = $'C /app/conf\t30kB -> 3B\nC /srv/x\nD /srv/y\t3kB' ]
	run strata diff --json waste:1 waste:3
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq -r 'map("\(.Kind) \(.Path) \(.SizeBefore) \(.SizeAfter)") | join(",")')" = "C /app/conf 30000 3,C /srv/x 7000 7000,D /srv/y 3000 0" ]
}

@test "diff --layers: the shared layers, where the stacks diverge, what each adds" {
	mkdir -p ctx4
	printf 'FROM busybox\nRUN echo one >/one\n' >ctx4/Dockerfile
	run strata build -q -t other:1 ctx4
	[ "$status" -eq 0 ]
	run strata diff --layers waste:1 other:1
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Shared layers: 1" ]
	[ "${lines[2]}" = "Diverge at layer 1" ]
	[ "${lines[3]}" = "waste:1 adds 7:" ]
	[ "${lines[11]}" = "other:1 adds 1:" ]
	[[ "${lines[12]}" == "  1   sha256:"*"  RUN /bin/sh -c echo one >/one # buildkit" ]]
	run strata diff --layers --json waste:1 other:1
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | jq '.divergeAt')" -eq 1 ]
	[ "$(echo "$output" | jq '.shared | length')" -eq 1 ]
	[ "$(echo "$output" | jq '.image1 | length')" -eq 7 ]
}

@test "build --analyze: the efficiency and top findings after the build; =ci judges the rules" {
	mkdir -p ctx5
	printf 'FROM busybox\nRUN head -c 50000 /dev/zero >/blob\nRUN rm /blob\n' >ctx5/Dockerfile
	run strata build -q --analyze -t an:1 ctx5
	[ "$status" -eq 0 ]
	[[ "$output" == *" % (dive), 50 kB wasted (dive); 50 kB the final filesystem does not show, in 1 file"$'\n'* ]]
	[[ "$output" == *"  1. deleted: 50 kB in 1 file, e.g. /blob"$'\n'"     added by layer 1: RUN /bin/sh -c head -c 50000 /dev/zero >/blob # buildkit"* ]]
	[[ "$output" == *"     removed by layer 2: RUN /bin/sh -c rm /blob # buildkit"* ]]
	run strata build -q --analyze=ci -t an:1 ctx5
	[ "$status" -eq 1 ]
	[[ "$output" == *"  FAIL  highestUserWastedPercent (too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=1.00 > threshold=0.1))"* ]]
	run strata build -q --analyze=bogus ctx5
	[ "$status" -eq 2 ]
	[ "$output" = "strata: build: invalid --analyze 'bogus': use --analyze or --analyze=ci" ]
}

@test "dive: docker-archive:, oci-archive: and oci: are read in place, figures unchanged" {
	run strata save -o w.tar waste:1
	[ "$status" -eq 0 ]
	run strata save --format oci-archive -o w.oci.tar waste:1
	[ "$status" -eq 0 ]
	run strata save --format oci-dir -o wdir waste:1
	[ "$status" -eq 0 ]
	# another store, which must stay without images
	export STRATA_ROOT=$BATS_TEST_TMPDIR/other
	run strata dive --json a.json docker-archive:w.tar
	[ "$status" -eq 0 ]
	[ "$(jqv a.json '.image.inefficientBytes')" -eq 95000 ]
	[ "$(jqv a.json '.image.strata.wastedBytes')" -eq 175000 ]
	run strata dive --json b.json oci-archive:w.oci.tar:waste:1
	[ "$status" -eq 0 ]
	[ "$(jqv b.json '.image.strata.wastedBytes')" -eq 175000 ]
	run strata dive --json c.json oci:wdir
	[ "$status" -eq 0 ]
	[ "$(jqv c.json '.image.strata.wastedBytes')" -eq 175000 ]
	[ "$(jqv c.json '.layer[3].digestId')" = "$(jqv a.json '.layer[3].digestId')" ]
	run strata images -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run strata diff docker-archive:w.tar oci:wdir
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run strata dive docker-archive:w.tar:nope:1
	[ "$status" -eq 1 ]
	[ "$output" = "strata: dive: analyze 'docker-archive:w.tar:nope:1': w.tar: no image named 'nope:1'" ]
}

# The full-screen view in a tmux of COLS x ROWS, on a socket of the test's own.
tui_start() {
	TMUX_SOCK=$BATS_TEST_TMPDIR/tmux.sock
	tmux -S "$TMUX_SOCK" new-session -d -s dive -x "$1" -y "$2" \
		"STRATA_ROOT='$STRATA_ROOT' '$STRATA_BIN' dive waste:1; echo \$? >'$BATS_TEST_TMPDIR/rc'; sleep 60" 3>&-
	tui_wait "Layers"
}

# Wait until the screen shows TEXT (the view redraws after each key); fail showing the screen.
tui_wait() {
	local i
	for i in $(seq 200); do
		if tmux -S "$TMUX_SOCK" capture-pane -t dive -p | grep -qF -- "$1"; then return 0; fi
		sleep 0.05
	done
	echo "the screen never showed '$1':"
	tmux -S "$TMUX_SOCK" capture-pane -t dive -p
	return 1
}

tui_keys() { tmux -S "$TMUX_SOCK" send-keys -t dive "$@"; }

# Quit with KEY; the view must end with status 0 and give the terminal back.
tui_quit() {
	tui_keys "$1"
	local i
	for i in $(seq 200); do
		if [ -s "$BATS_TEST_TMPDIR/rc" ]; then break; fi
		sleep 0.05
	done
	[ "$(cat "$BATS_TEST_TMPDIR/rc")" = 0 ]
}

@test "dive: the full-screen view at 80x24: layers, figures, each layer's files, dive's keys" {
	tui_start 80 24
	tui_wait "Image efficiency score: 96 %"
	tui_wait "Current Layer Contents (layer 0)"
	tui_wait "q Quit  Tab Files  ^L Layer  ^A All layers"
	# layer 4: the download and /app/data deleted
	tui_keys Down Down Down Down
	tui_wait "Current Layer Contents (layer 4)"
	tui_wait "- app"
	tui_wait "    data"
	tui_wait "    pkg.tar"
	# the files pane: attributes, then the chown -R layer's owners
	tui_keys Tab C-b
	tui_wait "Permission     UID:GID"
	tui_keys Tab Down Down Tab
	tui_wait "Current Layer Contents (layer 6)"
	tui_wait "1000:1000"
	tui_keys C-b C-o
	tui_wait "Sort:size"
	# collapse /srv, then hide what was modified: the chown layer shows nothing
	tui_keys Space
	tui_wait "+ srv"
	tui_keys C-m
	tui_wait "Show:AR-U"
	run tmux -S "$TMUX_SOCK" capture-pane -t dive -p
	[[ "$output" != *"+ srv"* ]]
	# the path filter, then the whole image
	tui_keys C-m C-f a p t Enter Tab C-a
	tui_wait "Aggregated Layer Contents"
	tui_wait "- lists"
	run tmux -S "$TMUX_SOCK" capture-pane -t dive -p
	[[ "$output" != *"- srv"* ]]
	# the whole image marks what its own layers added: hiding the unmodified keeps the list
	tui_keys Tab C-u
	tui_wait "Show:ARM-"
	tui_wait "- lists"
	tui_quit q
}

@test "dive: the full-screen view at 200x60 shows whole commands and quits on ctrl+c" {
	tui_start 200 60
	tui_wait "6.0 kB  RUN /bin/sh -c mkdir -p /var/lib/apt/lists && head -c 6000 /dev/zero >/var/lib/apt"
	tui_wait "Not in the final filesystem: 175.0 kB (92 %)"
	tui_wait " 120.0 kB deleted     /app/data/a"
	tui_keys Tab C-Space
	tui_wait "+ bin"
	tui_quit C-c
}

@test "dive --platform: the image must be of the platform asked for" {
	host=$(strata inspect --format '{{.Os}}/{{.Architecture}}' waste:1)
	other=linux/s390x
	run strata dive --ci --platform "$other" waste:1
	[ "$status" -eq 1 ]
	[ "$output" = "strata: dive: 'waste:1' is $host, not $other" ]
	run strata save --format oci-dir -o wdir waste:1
	[ "$status" -eq 0 ]
	run strata dive --ci --platform "$other" oci:wdir
	[ "$status" -eq 1 ]
	[ "$output" = "strata: dive: analyze 'oci:wdir': 'wdir' is $host, not $other" ]
	run strata dive --json p.json --platform "$host" oci:wdir
	[ "$status" -eq 0 ]
	[ "$(jqv p.json '.image.strata.wastedBytes')" -eq 175000 ]
	run strata dive --platform 'x//' waste:1
	[ "$status" -eq 1 ]
	[[ "$output" == "strata: dive: invalid platform 'x//'"* ]]
}

@test "dive --sarif: the findings for code scanning, one result each, beside --ci" {
	run strata dive --ci --highest-user-wasted-percent off --sarif s.json waste:1
	[ "$status" -eq 0 ]
	[ "$(jqv s.json '.version')" = "2.1.0" ]
	[ "$(jqv s.json '.runs[0].tool.driver.name')" = "strata dive" ]
	run jqv s.json '.runs[0].results | map("\(.ruleId) \(.level) \(.properties.sizeBytes) \(.locations[0].logicalLocations[0].fullyQualifiedName)") | join(",")'
	[ "$output" = "strata-dive/deleted warning 120000 /app/data/a,strata-dive/deleted warning 40000 /tmp/pkg.tar,strata-dive/copied warning 10000 /srv/x,strata-dive/cache warning 6000 /var/lib/apt/lists/main_Packages,strata-dive/overwritten warning 5000 /app/conf" ]
	run jqv s.json '.runs[0].results[0].message.text'
	[[ "$output" == "waste:1: 120 kB in 2 files (e.g. /app/data/a), added by layer 1 (RUN /bin/sh -c mkdir -p /app/data "*", removed or replaced by layer 4 (RUN /bin/sh -c rm /tmp/pkg.tar && rm -rf /app/data # buildkit). Fix: delete it in the same RUN, or use a multi-stage build" ]]
}
