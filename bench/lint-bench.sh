#!/usr/bin/env bash
# lint-bench.sh [LINES]: generate a Dockerfile of LINES lines (default 10000) with stages,
# heredocs, mounts and package installs that the rules look into, and print the median wall and
# CPU times to parse and lint it (9 runs, in process). The goal is under 50 ms for 10,000 lines.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lines=${1:-10000}
# The optimised build's driver: a sanitizer build would measure ASan.
bin=${LINT_BENCH_BIN:-$here/../build/bench/lint_bench}
[ -x "$bin" ] || { echo "lint-bench: build first (make): $bin is missing" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
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
    apt-get update && apt-get install -y git | tee /log && go mod download
ENV CGO_ENABLED=0 GOOS=linux LABEL_$i="stage $i"
RUN <<BODY
set -e
cd /src && go build -o /out/app$i ./cmd/app
BODY
FROM node:\${NODE}-slim AS web$i
COPY --from=build$i --chown=node:node /out/app$i /usr/local/bin/
RUN npm install -g serve && pip install flask
LABEL org.opencontainers.image.title="app $i" version=$i
EXPOSE 8080 9090/udp
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD ["app$i", "health"]
USER node
CMD app$i --serve
STAGE
		n=$((n + 17)) i=$((i + 1))
	done
} >"$df"
echo "lint-bench: $(wc -l <"$df") lines, median of 9 runs: $("$bin" "$df" 9)"
