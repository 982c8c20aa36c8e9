#!/usr/bin/env bash
# Re-fetches the vendored Admin GraphQL introspection schema from the npm package that ships it.
# Usage: bash sandbox/shopify/schema/fetch_schema.sh   (needs npm and the npm registry)
set -euo pipefail
PACKAGE="@shopify/dev-mcp@1.16.0"
MEMBER="package/dist/data/admin_2026-10.json.gz"
EXPECTED_SHA256="f3b522f264556925eada700e795e4a002a9cba83444ebcc6c0d724254a0c6593"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null && tar xzf shopify-dev-mcp-*.tgz "$MEMBER" package/LICENSE)
echo "$EXPECTED_SHA256  $work/$MEMBER" | sha256sum --check --quiet
cp "$work/$MEMBER" "$here/admin_2026-10.json.gz"
cp "$work/package/LICENSE" "$here/LICENSE"
echo "schema refreshed from $PACKAGE"
