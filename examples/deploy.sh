#!/bin/bash
# A toy deploy with the dependencies deptrace is meant to find: it
# downloads a release from the forge itself (direct), and calls a tool
# that quietly checks the same forge for updates (hidden). Should the forge
# be down, this deploy cannot run, so it cannot be what repairs the forge.
set -euo pipefail
forge=${FORGE_URL:?set FORGE_URL to the forge, e.g. http://127.0.0.1:8080}
here=$(dirname "$0")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "deploy: downloading release 2.4.1"
curl -fsS -o "$work/app.tar.gz" "$forge/releases/app-2.4.1.tar.gz"

echo "deploy: running the migration tool"
"$here/bin/migrate" --forge "$forge"

echo "deploy: done"
