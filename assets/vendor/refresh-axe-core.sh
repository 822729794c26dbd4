#!/usr/bin/env bash
# Refreshes the vendored axe-core (the accessibility audit the browser tests
# run on public pages) from its npm registry package, at the pinned version,
# checking the registry's SHA-512 before anything is replaced. No Node needed.
#
#   assets/vendor/refresh-axe-core.sh [version]
set -euo pipefail
version=${1:-4.10.3}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsS "https://registry.npmjs.org/axe-core/$version" -o "$tmp/meta.json"
integrity=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dist"]["integrity"])' "$tmp/meta.json")
curl -fsS "https://registry.npmjs.org/axe-core/-/axe-core-$version.tgz" -o "$tmp/axe.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tmp/axe.tgz" | base64 -w0)"
[ "$actual" = "$integrity" ] || { echo "axe-core $version: the tarball's hash is $actual, the registry says $integrity" >&2; exit 1; }
tar -xzf "$tmp/axe.tgz" -C "$tmp"
mkdir -p "$here/axe-core"
cp "$tmp/package/axe.min.js" "$tmp/package/LICENSE" "$tmp/package/LICENSE-3RD-PARTY.txt" "$here/axe-core/"
echo "$version" > "$here/axe-core/VERSION"
echo "axe-core $version vendored into $here/axe-core ($integrity)"
