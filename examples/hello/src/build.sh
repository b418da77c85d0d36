#!/bin/sh
# "Compile" the app: stamp the version into the script and install it.
set -eu
out=$1
version=$(cat VERSION)
sed "s/@VERSION@/$version/" hello.sh > "$out/bin/hello"
chmod 0755 "$out/bin/hello"
