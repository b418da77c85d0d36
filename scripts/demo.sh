#!/bin/bash
# The main job: make a busybox base image (from Debian's busybox-static, no registry), build the
# example app in examples/hello into the default store, and show the result and its history.
# usage: scripts/demo.sh      (after `make`; as root the store is /var/lib/strata, else
#                              ~/.local/share/strata; set STRATA_ROOT to use another)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
strata=${STRATA_BIN:-$top/build/cli/strata}
[ -x "$strata" ] || { echo "demo: build strata first: make" >&2; exit 1; }
tar=${TMPDIR:-/tmp}/strata-busybox-rootfs.tar
"$top/scripts/make-busybox-rootfs.sh" "$tar" >/dev/null
echo "+ strata import $tar busybox:latest"
"$strata" import --change 'CMD ["sh"]' --message 'busybox from Debian busybox-static' "$tar" busybox:latest
echo "+ strata build -t hello:1 examples/hello"
"$strata" build --progress=plain -t hello:1 "$top/examples/hello"
echo "+ strata images"
"$strata" images
echo "+ strata history hello:1"
"$strata" history hello:1
