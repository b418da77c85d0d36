#!/bin/sh
# Installs everything strata needs to build, test and benchmark on Debian 12.
# Usage: scripts/install-deps.sh [--bench]   (run as root)
set -eu
pkgs="build-essential meson ninja-build pkg-config clang clang-format libclang-rt-14-dev
      libarchive-dev libjansson-dev libssl-dev libcurl4-openssl-dev libsqlite3-dev
      libzstd-dev libisal-dev libcmocka-dev libsodium-dev libyaml-dev libxml2-dev libxml2-utils
      libncurses-dev
      bats runc busybox-static skopeo buildah jq bc python3 curl docker-registry openssl tmux tini
      python3-cryptography python3-nacl python3-jsonschema libcommons-cli-java"
if [ "${1:-}" = "--bench" ]; then
    pkgs="$pkgs hyperfine time"
    # bench/build-bench.sh: the zstd CLI, the codec alone beside the zstd export
    pkgs="$pkgs zstd"
    # bench/run-bench.sh: `run --rm` beside podman's and Docker's
    pkgs="$pkgs podman docker.io"
fi
# RUN steps reach the network through slirp4netns (src/runtime/net.c says why not pasta)
pkgs="$pkgs slirp4netns"
# --ssh with a key file runs ssh-agent and ssh-add; the tests make keys with ssh-keygen
pkgs="$pkgs openssh-client"
# ADD of git repositories and git build contexts run git (src/builder/git.c says why not libgit2)
pkgs="$pkgs git"
# ... and their tests serve repositories over ssh with an sshd of their own
pkgs="$pkgs openssh-server"
# the man page test renders strata's pages with groff and man
pkgs="$pkgs groff-base man-db"
# RUN for another architecture runs under QEMU user emulation, registered with binfmt_misc
pkgs="$pkgs qemu-user-static binfmt-support"
# lint reads RUN with tree-sitter's bash grammar (third_party/tree-sitter-bash) on its runtime
pkgs="$pkgs libtree-sitter-dev"
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root (apt-get)" >&2
    exit 1
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
# The multi-platform tests make their arm64 base image of Debian's arm64 busybox-static: its
# .deb, kept where tests/e2e/59-build-platforms.bats looks for it.
dpkg --add-architecture arm64
apt-get update -qq
mkdir -p /var/cache/strata-tests
(cd /var/cache/strata-tests && apt-get download -qq busybox-static:arm64)
