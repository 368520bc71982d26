#!/usr/bin/env bash
# Regenerate the vendored SDK type data (see README.md): npm pack the official SDKs at the pinned
# versions, read their TypeScript definitions with the TypeScript compiler (extract.js), and
# write <package>-<version>.json.gz plus each package's licence next to this script.
#   tests/sdk_types/regenerate.sh            (needs node and npm; the registry must be reachable)
set -euo pipefail

STRIPE_VERSION=23.1.0       # stripe-node that pins API 2026-10-28.endive, as stripe-python 16.1.0
CHARGEBEE_VERSION=3.33.0    # chargebee-node, current when vendored
TYPESCRIPT_VERSION=5.9.3

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "stripe@$STRIPE_VERSION" "chargebee@$CHARGEBEE_VERSION" >/dev/null
npm install --silent --no-save --prefix "$work/ts" "typescript@$TYPESCRIPT_VERSION" >/dev/null
export TYPESCRIPT="$work/ts/node_modules/typescript"

for spec in "stripe:$STRIPE_VERSION" "chargebee:$CHARGEBEE_VERSION"; do
  name="${spec%%:*}" version="${spec#*:}"
  mkdir -p "$name" && tar xzf "$name-$version.tgz" -C "$name"
  rm -f "$here/$name"-*.json.gz
  node "$here/extract.js" "$name" "$name/package" | gzip -9n > "$here/$name-$version.json.gz"
  cp "$name/package/LICENSE" "$here/LICENSE.$name"
done
echo "wrote $(cd "$here" && ls ./*.json.gz | tr '\n' ' ')"
