#!/usr/bin/env bash
# Install the pinned cytoscape from package-lock.json and copy its browser build and licence
# into knowledge/static/knowledge/vendor/, where the editor page loads it from.
set -euo pipefail

frontend="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vendor="$(dirname "$frontend")/static/knowledge/vendor"
package="$frontend/node_modules/cytoscape"

command -v npm >/dev/null 2>&1 || {
  echo "vendor.sh: npm is missing; install Node.js (it ships npm) to vendor cytoscape" >&2
  exit 1
}

npm ci --prefix "$frontend" --no-audit --no-fund
for file in "$package/dist/cytoscape.min.js" "$package/LICENSE"; do
  [ -s "$file" ] || { echo "vendor.sh: $file is missing after npm ci" >&2; exit 1; }
done

mkdir -p "$vendor"
cp "$package/dist/cytoscape.min.js" "$vendor/cytoscape.min.js"
cp "$package/LICENSE" "$vendor/cytoscape.LICENSE"
version="$(node -p 'require(process.argv[1]).version' "$package/package.json" 2>/dev/null || echo '?')"
echo "vendored cytoscape $version into $vendor"
