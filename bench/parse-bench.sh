#!/usr/bin/env bash
# parse-bench.sh [LINES]: generate a Dockerfile of LINES lines (default 10000) in the style of
# the reference (multi-stage builds, continuations, heredocs, mounts, HEALTHCHECK) and print
# the median time to parse it (9 runs, in process). The goal is under 20 ms for 10,000 lines.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lines=${1:-10000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# An optimised driver of our own unless one is given: a sanitizer build would measure ASan.
bin=${PARSE_BENCH_BIN:-}
if [ -z "$bin" ]; then
	root=$here/..
	bin=$tmp/parse_bench
	${CC:-cc} -std=gnu11 -D_GNU_SOURCE -O2 -I"$root/src" "$root"/src/util/*.c \
		"$root"/src/dockerfile/*.c "$here/parse_bench.c" -o "$bin"
fi

df=$tmp/Dockerfile
{
	echo '# syntax=docker/dockerfile:1'
	echo 'ARG NODE=20 GO=1.22'
	n=2 i=0
	while [ "$n" -lt "$lines" ]; do
		cat <<STAGE
FROM --platform=\$BUILDPLATFORM golang:\${GO} AS build$i
WORKDIR /src
COPY --link go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \\
    --mount=type=secret,id=netrc,target=/root/.netrc \\
    go mod download
ENV CGO_ENABLED=0 GOOS=linux LABEL_$i="stage $i"
RUN <<BODY
set -e
go build -o /out/app$i ./cmd/app
BODY
FROM node:\${NODE}-slim AS web$i
COPY --from=build$i --chown=node:node /out/app$i /usr/local/bin/
LABEL org.opencontainers.image.title="app $i" version=$i
EXPOSE 8080 9090/udp
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD ["app$i", "health"]
USER node
CMD ["app$i"]
STAGE
		n=$((n + 18)) i=$((i + 1))
	done
} >"$df"
echo "parse-bench: $(wc -l <"$df") lines, median of 9 runs: $("$bin" "$df" 9) ms"
