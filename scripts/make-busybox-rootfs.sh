#!/bin/bash
# Make a small busybox root filesystem tarball from Debian's busybox-static, reproducibly
# (sorted names, fixed mtimes, numeric 0:0 owners). No registry needed.
# usage: make-busybox-rootfs.sh OUT.tar     env: SOURCE_DATE_EPOCH (default 1700000000), WORK
set -euo pipefail
out=${1:?usage: make-busybox-rootfs.sh OUT.tar}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
bb=${BUSYBOX_BIN:-/bin/busybox}
[ -x "$bb" ] || { echo "make-busybox-rootfs.sh: need busybox-static ($bb)" >&2; exit 1; }
work=${WORK:-$(mktemp -d)}
d=$work/busybox.$$
rm -rf "$d"; mkdir -p "$d"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home,var,proc,sys,dev}
chmod 1777 "$d/tmp"; chmod 700 "$d/root"
install -m 0755 "$bb" "$d/bin/busybox"
"$d/bin/busybox" --list-full | sort | while read -r p; do
	[ "$p" = bin/busybox ] && continue
	mkdir -p "$d/$(dirname "$p")"
	depth=$(echo "$p" | awk -F/ '{print NF-1}')
	up=""; for _ in $(seq "$depth"); do up="../$up"; done
	ln -sfn "${up}bin/busybox" "$d/$p"
done
cat > "$d/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat > "$d/etc/group" <<'GR'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
tty:x:5:
nogroup:x:65534:
GR
printf 'hosts: files dns\n' > "$d/etc/nsswitch.conf"
find "$d" -depth -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$(dirname "$out")"
tar -C "$d" --sort=name --numeric-owner --owner=0 --group=0 --mtime="@$SOURCE_DATE_EPOCH" \
	--format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
	-cf "$out.tmp.$$" .
mv "$out.tmp.$$" "$out"
rm -rf "$d"
echo "$out"
