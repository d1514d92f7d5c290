#!/usr/bin/env bash
# Builds the addon with node-gyp (binding.gyp) in a scratch copy, and checks that it loads and
# computes: binding.gyp must keep working for users who build that way.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Node headers: npm's configured nodedir (this image: /usr), else the running node's own prefix.
nodedir="$(npm config get nodedir 2>/dev/null | grep -v "^undefined$" || true)"
[ -z "$nodedir" ] && [ -f "$(dirname "$(dirname "$(command -v node)")")/include/node/node_api.h" ] && nodedir="$(dirname "$(dirname "$(command -v node)")")"
cp -r "$root/native" "$root/scripts" "$root/binding.gyp" "$root/package.json" "$tmp/"
ln -s "$root/node_modules" "$tmp/node_modules"
(cd "$tmp" && "$root/node_modules/.bin/node-gyp" rebuild -j 2 ${nodedir:+--nodedir="$nodedir"} >"$tmp/gyp.log" 2>&1) || { tail -40 "$tmp/gyp.log"; exit 1; }
node -e "
const n = require('$tmp/build/Release/torchnode.node');
const i = n.resolveOp('mm', '');
const a = n.fromBuffer(new Float32Array([1, 2, 3, 4]), [2, 2], 'float32');
const r = new Float32Array(n.toBuffer(n.call(i, a, a)));
if (r.join() !== '7,10,15,22') { console.error('node-gyp build computes wrong values:', r); process.exit(1); }
console.log('check-gyp: node-gyp build OK (libtorch ' + n.config().torchVersion + ')');
"
