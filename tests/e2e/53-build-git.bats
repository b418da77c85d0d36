#!/usr/bin/env bats
# Git sources: ADD of a repository and git URLs as the build context, against git's own servers
# on 127.0.0.1 (git daemon for git://, git http-backend for smart HTTP).
load helpers

setup_file() {
	export GIT_SRV=$BATS_FILE_TMPDIR/srv
	local src=$BATS_FILE_TMPDIR/src
	mkdir -p "$GIT_SRV" "$src/sub/d" "$src/ctxdir"
	git -C "$src" init -q -b main
	git -C "$src" config user.email t@example.com
	git -C "$src" config user.name test
	echo hello >"$src/a.txt"
	echo deep >"$src/sub/d/f"
	printf '#!/bin/sh\necho run\n' >"$src/run.sh"
	chmod 755 "$src/run.sh"
	ln -s sub/d "$src/linkdir"
	# A tar in the tree stays a file: ADD unpacks local archives, never a repository's.
	tar -cf "$src/keep.tar" -C "$src" a.txt
	printf 'FROM scratch\nCOPY . /ctx/\n' >"$src/ctxdir/Dockerfile"
	echo from-context >"$src/ctxdir/data"
	printf 'FROM scratch\nCOPY data /alt-data\n' >"$src/ctxdir/alt.Dockerfile"
	git -C "$src" add -A
	GIT_COMMITTER_DATE='2001-02-03T04:05:06Z' git -C "$src" commit -q -m one
	git -C "$src" tag v1
	git -C "$src" tag -a -m annotated v1a
	git clone -q --bare "$src" "$GIT_SRV/repo.git"
	git clone -q --bare "$src" "$GIT_SRV/private/repo.git"
	export COMMIT1
	COMMIT1=$(git -C "$src" rev-parse HEAD)
	export GIT_SRC=$src

	local port
	port=$(free_port)
	git daemon --export-all --base-path="$GIT_SRV" --listen=127.0.0.1 --port="$port" \
		--reuseaddr >"$BATS_FILE_TMPDIR/daemon.log" 2>&1 3>&- &
	export DAEMON_PID=$!
	export GITD=git://127.0.0.1:$port
	GIT_HTTP_TOKEN=test-token python3 "$BATS_TEST_DIRNAME/fixtures/git-http-server.py" "$GIT_SRV" \
		"$BATS_FILE_TMPDIR/http.port" 3>&- &
	export HTTP_PID=$!
	local i
	for i in $(seq 100); do
		if [ -s "$BATS_FILE_TMPDIR/http.port" ] && git ls-remote "$GITD/repo.git" >/dev/null 2>&1; then
			break
		fi
		sleep 0.1
	done
	export GITH=http://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/http.port")
}

teardown_file() {
	kill "$DAEMON_PID" "$HTTP_PID" 2>/dev/null || true
}

setup() {
	common_setup
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
}

# Build $CTX/Dockerfile (given as printf arguments) as image git:t.
build_df() {
	printf "$@" >"$CTX/Dockerfile"
	run strata build --progress=plain -t git:t "$CTX"
}

# The content of FILE in IMAGE, and the names of its entries.
image_cat() {
	strata export "$1" | tar -xOf - "$2"
}

image_list() {
	strata export "$1" | tar -tf -
}

# "mode uid/gid name" of every entry of the image, as tar lists them.
image_modes() {
	strata export "$1" | tar -tvf - | awk '{print $1, $2, $6}'
}

@test "ADD git:// at a branch with a subdir: its files, with git's modes, root's, and no .git" {
	build_df 'FROM scratch\nADD %s/repo.git#main:sub /src\nADD %s/repo.git#main /all\nADD %s/repo.git#main:linkdir /l\n' \
		"$GITD" "$GITD" "$GITD"
	[ "$status" -eq 0 ]
	run image_modes git:t
	[ "$status" -eq 0 ]
	[[ "$output" == *"-rw-r--r-- 0/0 src/d/f"* ]]
	[[ "$output" == *"drwxr-xr-x 0/0 src/d/"* ]]
	[[ "$output" != *"src/a.txt"* ]]
	[[ "$output" == *"-rwxr-xr-x 0/0 all/run.sh"* ]]
	[[ "$output" == *"-rw-r--r-- 0/0 all/a.txt"* ]]
	[[ "$output" == *"-rw-r--r-- 0/0 all/keep.tar"* ]]
	[[ "$output" == *"lrwxrwxrwx 0/0 all/linkdir"* ]]
	[[ "$output" == *"-rw-r--r-- 0/0 l/f"* ]]
	[[ "$output" != *".git"* ]]
}

@test "ADD over smart HTTP: an annotated tag, the query form, and a commit by its sha" {
	build_df 'FROM scratch\nADD %s/repo.git#v1a /tag\nADD %s/repo.git?tag=v1&subdir=sub/d /q\nADD %s/repo.git#%s /c\n' \
		"$GITH" "$GITH" "$GITH" "$COMMIT1"
	[ "$status" -eq 0 ]
	run image_list git:t
	[ "$status" -eq 0 ]
	[[ "$output" == *"tag/a.txt"* ]]
	[[ "$output" == *"q/f"* ]]
	[[ "$output" == *"c/run.sh"* ]]
	run image_cat git:t q/f
	[ "$output" = "deep" ]
}

@test "ADD --keep-git-dir=true keeps a .git at the commit; ?mtime=commit gives the commit's time" {
	build_df 'FROM scratch\nADD --keep-git-dir=true %s/repo.git#v1 /r\nADD %s/repo.git?ref=main&mtime=commit /m\n' \
		"$GITD" "$GITD"
	[ "$status" -eq 0 ]
	mkdir "$BATS_TEST_TMPDIR/out"
	strata export git:t | tar -xf - -C "$BATS_TEST_TMPDIR/out"
	run git -C "$BATS_TEST_TMPDIR/out/r" rev-parse HEAD
	[ "$status" -eq 0 ]
	[ "$output" = "$COMMIT1" ]
	run git -C "$BATS_TEST_TMPDIR/out/r" status --porcelain
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run stat -c %Y "$BATS_TEST_TMPDIR/out/m/a.txt" "$BATS_TEST_TMPDIR/out/m/sub/d"
	[ "$output" = "$(printf '%s\n%s' "$(date -d 2001-02-03T04:05:06Z +%s)" "$(date -d 2001-02-03T04:05:06Z +%s)")" ]
	[ ! -e "$BATS_TEST_TMPDIR/out/m/.git" ]
}

@test "ADD --checksum: a commit prefix builds, another fails naming both; COPY, ssh, bad queries refused" {
	build_df 'FROM scratch\nADD --checksum=%s %s/repo.git#main /r\n' "${COMMIT1:0:10}" "$GITD"
	[ "$status" -eq 0 ]
	build_df 'FROM scratch\nADD --checksum=%s %s/repo.git#main /r\n' "0123456789abcdef" "$GITD"
	[ "$status" -ne 0 ]
	[[ "$output" == *"checksum mismatch: expected commit 0123456789abcdef, got $COMMIT1"* ]]
	build_df 'FROM scratch\nADD --checksum=sha256:00 %s/repo.git#main /r\n' "$GITD"
	[ "$status" -ne 0 ]
	[[ "$output" == *"a git source's checksum is a commit sha"* ]]
	build_df 'FROM scratch\nCOPY %s/repo.git /r\n' "$GITD"
	[ "$status" -ne 0 ]
	[[ "$output" == *"COPY $GITD/repo.git: a git repository can only be a source of ADD"* ]]
	build_df 'FROM scratch\nADD git@127.0.0.1:repo.git /r\n'
	[ "$status" -ne 0 ]
	[[ "$output" == *"an ssh git URL needs an SSH agent: build with --ssh default"* ]]
	build_df 'FROM scratch\nADD %s/repo.git?color=blue /r\n' "$GITD"
	[ "$status" -ne 0 ]
	[[ "$output" == *"unexpected query 'color'"* ]]
}

@test "ADD of a branch that moved misses, naming the old and the new commit; unmoved, it hits" {
	git clone -q --bare "$GIT_SRC" "$GIT_SRV/moving.git"
	build_df 'FROM scratch\nADD %s/moving.git#main /r\n' "$GITD"
	[ "$status" -eq 0 ]
	run strata build -t ctx:moving "$GITD/moving.git#main:ctxdir"
	[ "$status" -eq 0 ]
	run strata build --progress=plain -t git:t "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"CACHED"* ]]
	local work=$BATS_TEST_TMPDIR/work
	git clone -q "$GIT_SRV/moving.git" "$work"
	echo two >"$work/b.txt"
	echo changed >"$work/ctxdir/data"
	git -C "$work" add b.txt ctxdir/data
	git -C "$work" -c user.email=t@example.com -c user.name=test commit -q -m two
	git -C "$work" push -q origin main
	local new
	new=$(git -C "$work" rev-parse HEAD)
	run strata build --progress=plain -t git:t "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"git $GITD/moving.git moved from commit $COMMIT1 to $new"* ]]
	run image_cat git:t r/b.txt
	[ "$output" = "two" ]
	# A git context is the same place from one checkout to the next: its misses say why.
	run strata build --progress=plain -t ctx:moving "$GITD/moving.git#main:ctxdir"
	[ "$status" -eq 0 ]
	[[ "$output" == *"cache miss: file data changed"* ]]
}

@test "ADD of a ref, a subdir or a host that does not exist: an error naming it, nothing stored" {
	build_df 'FROM scratch\nADD %s/repo.git#nope /r\n' "$GITD"
	[ "$status" -ne 0 ]
	[[ "$output" == *"ADD $GITD/repo.git#nope: ref 'nope' not found in the repository"* ]]
	build_df 'FROM scratch\nADD %s/repo.git#main:nodir /r\n' "$GITH"
	[ "$status" -ne 0 ]
	[[ "$output" == *"subdir 'nodir' not found"* ]]
	build_df 'FROM scratch\nADD git://127.0.0.1:1/repo.git /r\n'
	[ "$status" -ne 0 ]
	[[ "$output" == *"ADD git://127.0.0.1:1/repo.git: git ls-remote: unable to connect to 127.0.0.1"* ]]
	build_df 'FROM scratch\nADD %s/missing.git /r\n' "$GITH"
	[ "$status" -ne 0 ]
	[[ "$output" == *"ADD $GITH/missing.git: git ls-remote:"* ]]
	run strata images -q
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "ADD over HTTP with the GIT_AUTH_TOKEN secret, as BuildKit sends it" {
	build_df 'FROM scratch\nADD %s/private/repo.git#main:sub /s\n' "$GITH"
	[ "$status" -ne 0 ]
	[[ "$output" == *"ADD $GITH/private/repo.git#main:sub: git ls-remote:"* ]]
	TOKEN=test-token run strata build --secret id=GIT_AUTH_TOKEN,env=TOKEN -t git:t "$CTX"
	[ "$status" -eq 0 ]
	run image_cat git:t s/d/f
	[ "$output" = "deep" ]
	run strata history --no-trunc git:t
	[[ "$output" != *"test-token"* ]]
}

@test "build with a git URL as the context: git:// and http, a subdir, -f, errors naming the URL" {
	run strata build -t ctx:git "$GITD/repo.git#main:ctxdir"
	[ "$status" -eq 0 ]
	run image_cat ctx:git ctx/data
	[ "$output" = "from-context" ]
	# -f names a file of the repository (of its subdir), as BuildKit reads it.
	run strata build -f alt.Dockerfile -t ctx:http "$GITH/repo.git?branch=main&subdir=ctxdir"
	[ "$status" -eq 0 ]
	run image_cat ctx:http alt-data
	[ "$output" = "from-context" ]
	run strata build -t ctx:bad "$GITD/repo.git#nope"
	[ "$status" -ne 0 ]
	[[ "$output" == *"build context '$GITD/repo.git#nope': ref 'nope' not found"* ]]
	run strata images -q ctx:bad
	[ -z "$output" ]
}

@test "--build-context NAME=<git URL>: FROM, COPY --from and RUN --mount=from use its tree, keyed by the commit" {
	strata import "$(busybox_tar)" busybox:latest >/dev/null
	printf '%s\n' 'FROM busybox AS use' \
		'RUN --mount=from=src,target=/m cat /m/d/f >/from-mount' \
		'COPY --from=src /d/f /copied' \
		'FROM src' \
		'COPY --from=use /from-mount /copied /' >"$CTX/Dockerfile"
	run strata build --progress=plain --build-context "src=$GITD/repo.git#main:sub" -t git:t "$CTX"
	[ "$status" -eq 0 ]
	run image_list git:t
	[ "$(printf '%s\n' "$output" | sort | tr '\n' ' ')" = "copied d/ d/f from-mount " ]
	[ "$(image_cat git:t from-mount)" = deep ]
	[ "$(image_cat git:t copied)" = deep ]
	# The ref still names that commit: its tree is not fetched again, and every step hits.
	run strata build --progress=plain --build-context "src=$GITD/repo.git#main:sub" -t git:t "$CTX"
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 steps run"* ]]
	run strata build --build-context "src=$GITD/repo.git#nope" -t git:bad "$CTX"
	[ "$status" -ne 0 ]
	[[ "$output" == *"build context 'src': ref 'nope' not found"* ]]
	run strata images -q git:bad
	[ -z "$output" ]
}

@test "ADD and a git context check submodules out, recursively; an unreachable one is named" {
	local w=$BATS_TEST_TMPDIR/w
	repo() {
		git init -q -b main "$w/$1"
		echo "$1" >"$w/$1/$1.txt"
	}
	in_repo() {
		git -C "$w/$1" -c user.email=t@example.com -c user.name=test "${@:2}"
	}
	repo inner
	in_repo inner add -A
	in_repo inner commit -q -m inner
	git clone -q --bare "$w/inner" "$GIT_SRV/inner.git"
	repo lib
	in_repo lib submodule add -q "$GITD/inner.git" inner
	in_repo lib add -A
	in_repo lib commit -q -m lib
	git clone -q --bare "$w/lib" "$GIT_SRV/lib.git"
	repo app
	printf 'FROM scratch\nCOPY . /ctx/\n' >"$w/app/Dockerfile"
	in_repo app submodule add -q "$GITD/lib.git" vendor/lib
	in_repo app add -A
	in_repo app commit -q -m app
	git clone -q --bare "$w/app" "$GIT_SRV/app.git"

	build_df 'FROM scratch\nADD %s/app.git#main /src\n' "$GITD"
	[ "$status" -eq 0 ]
	run image_list git:t
	[[ "$output" == *"src/vendor/lib/lib.txt"* ]]
	[[ "$output" == *"src/vendor/lib/inner/inner.txt"* ]]
	# No .git: the submodules' would point at a git directory the image does not have.
	[ -z "$(printf '%s\n' "$output" | grep -E '(^|/)\.git/?$')" ]
	[[ "$output" == *"src/.gitmodules"* ]]
	run strata build -t ctx:sub "$GITD/app.git#main"
	[ "$status" -eq 0 ]
	run image_cat ctx:sub ctx/vendor/lib/inner/inner.txt
	[ "$output" = inner ]

	# A submodule whose URL leads nowhere: the error names it.
	in_repo app config -f .gitmodules submodule.vendor/lib.url git://127.0.0.1:1/elsewhere.git
	in_repo app commit -q -a -m moved
	git -C "$w/app" push -q "$GIT_SRV/app.git" main
	build_df 'FROM scratch\nADD %s/app.git#main /src\n' "$GITD"
	[ "$status" -ne 0 ]
	[[ "$output" == *"submodules: "*"git://127.0.0.1:1/elsewhere.git"* ]]
}

@test "ADD over ssh, through the build's --ssh agent, with the test's own sshd" {
	local d=$BATS_TEST_TMPDIR/sshd port
	mkdir -p "$d" /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$d/hostkey"
	ssh-keygen -q -t ed25519 -N '' -f "$d/userkey"
	cp "$d/userkey.pub" "$d/authorized_keys"
	port=$(free_port)
	cat >"$d/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $d/hostkey
AuthorizedKeysFile $d/authorized_keys
PidFile $d/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
CONF
	/usr/sbin/sshd -D -e -f "$d/sshd_config" >"$d/log" 2>&1 3>&- &
	SSHD_PID=$!
	# scp-like "git@host:path" has no port: the URL form with one reaches the test's sshd.
	printf 'FROM scratch\nADD ssh://root@127.0.0.1:%s%s/repo.git#main:sub /s\n' "$port" "$GIT_SRV" \
		>"$CTX/Dockerfile"
	run strata build --progress=plain --ssh "default=$d/userkey" -t git:t "$CTX"
	[ "$status" -eq 0 ]
	run image_cat git:t s/d/f
	[ "$output" = "deep" ]
}

teardown() {
	if [ -n "${SSHD_PID:-}" ]; then
		kill "$SSHD_PID" 2>/dev/null || true
		wait "$SSHD_PID" 2>/dev/null || true
	fi
}
