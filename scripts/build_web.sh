#!/usr/bin/env bash
# Build the console's static files: Leaflet, pinned in web/package-lock.json, from the npm
# registry into web/static/vendor/leaflet/ (git-ignored), which the hub serves under /static/.
# No bundler: the page loads leaflet.js as a plain script, so copying its dist is the build.
#
# Idempotent and quick when done: `npm ci` runs only when web/node_modules/ does not match the
# lock file, the copy only when the vendor folder does not. Force a rebuild with
# `rm -r web/node_modules web/static/vendor`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../web"

VENDOR=static/vendor/leaflet
DIST=node_modules/leaflet/dist
say() { printf 'build_web: %s\n' "$*"; }

command -v npm >/dev/null 2>&1 || { echo "build_web: error: npm not found (Debian: apt-get install nodejs npm)" >&2; exit 1; }

lock_key=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f node_modules/.lock-stamp && $(cat node_modules/.lock-stamp) == "$lock_key" \
      && -f $DIST/leaflet.js ]]; then
    say "node_modules up to date"
else
    say "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    printf '%s\n' "$lock_key" >node_modules/.lock-stamp
fi

if [[ -f $VENDOR/.stamp && $(cat "$VENDOR/.stamp") == "$lock_key" ]]; then
    say "$VENDOR up to date"
    exit 0
fi
rm -rf "$VENDOR"
mkdir -p "$VENDOR"
cp "$DIST/leaflet.js" "$DIST/leaflet.css" "$VENDOR/"
cp -r "$DIST/images" "$VENDOR/images"
cp node_modules/leaflet/LICENSE "$VENDOR/LICENSE"
printf '%s\n' "$lock_key" >"$VENDOR/.stamp"
say "copied leaflet $(node -p 'require("./node_modules/leaflet/package.json").version') into web/$VENDOR"
