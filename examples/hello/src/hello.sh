#!/bin/sh
# hello @VERSION@
if [ "${1:-}" = "--check" ]; then exit 0; fi
echo "${GREETING:-hello}, ${1:-world} (hello @VERSION@)"
