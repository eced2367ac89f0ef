#!/bin/bash
# deploy.sh: deploy a release of "app" on this host.
#
# Like many deploys, this one depends on the forge in three ways, and only
# the first shows in the script:
#   direct     it downloads the release from the forge;
#   hidden     the migration tool it runs checks the forge for a newer
#              version of itself;
#   transient  the deploy registry, an internal API it calls, checks the
#              release on the forge before it records the deploy; and the
#              host's deploy lock, a service on a Unix socket, asks the
#              forge whether a change freeze is on before it grants the lock
#              (when DEPLOY_LOCK_SOCKET names that socket).
# With the forge down this deploy fails, so it cannot be how the forge is
# redeployed. scripts/demo runs it under deptrace against fake services.
#
# Usage: deploy.sh [VERSION]   (the demo stages the release in a temporary
# directory and removes it: nothing is installed)
set -euo pipefail

version=${1:-2.4.1}
forge=${FORGE_URL:-http://forge.example.com}
registry=${REGISTRY_URL:-http://api.internal.example:8080}
lock=${DEPLOY_LOCK_SOCKET:-}
here=$(cd "$(dirname "$0")" && pwd)
stage=$(mktemp -d /tmp/deploy-app.XXXXXX)
trap 'rm -rf "$stage"' EXIT

if [[ -n $lock ]]; then
	echo "deploy: taking the deploy lock"
	curl -fsS -o /dev/null -X POST --unix-socket "$lock" "http://lock/v1/lock?app=app"
	trap 'curl -fsS -o /dev/null -X DELETE --unix-socket "$lock" "http://lock/v1/lock?app=app"; rm -rf "$stage"' EXIT
fi

echo "deploy: downloading app $version from the forge"
release=$forge/app/releases/$version
curl -fsS -o "$stage/app-$version.tar.gz" "$release/app-$version.tar.gz" \
	-o "$stage/SHA256SUMS" "$release/SHA256SUMS"
(cd "$stage" && sha256sum --quiet -c SHA256SUMS)
tar -xzf "$stage/app-$version.tar.gz" -C "$stage"

# The registry refuses versions the forge does not have.
echo "deploy: recording the deploy in the registry"
curl -fsS -o /dev/null -H 'Content-Type: application/json' \
	-d "{\"app\": \"app\", \"version\": \"$version\", \"host\": \"$HOSTNAME\"}" \
	"$registry/v1/deployments"

echo "deploy: migrating the database"
"$here/bin/migrate" "$stage/app/schema"

echo "deploy: app $version is live"
