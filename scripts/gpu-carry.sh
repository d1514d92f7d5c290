#!/usr/bin/env bash
# Prepares build-carry/ for scripts/gpu-check.sh on a GPU machine that has no network: the
# compiled TypeScript (dist/, built here; its generated op types do not depend on the libtorch),
# the production npm packages (no TypeScript or node-gyp, to stay small), and Fashion-MNIST's
# test split (4.4 MB, enough for the 50-step checks). About 45 MB; run after `npm ci` here.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build-carry
rm -rf "$out"
mkdir -p "$out/pkg" "$out/fashion-mnist"
npm run build:ts >/dev/null
cp -r dist "$out/dist"
cp package.json package-lock.json "$out/pkg/"
# The install script (the addon build) runs on the GPU machine, against its CUDA libtorch.
(cd "$out/pkg" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
src=/usr/share/datasets/fashion-mnist
cp "$src"/t10k-images-idx3-ubyte.gz "$src"/t10k-labels-idx1-ubyte.gz "$out/fashion-mnist/"
echo "gpu-carry: $(du -sh "$out" | cut -f1) in $out (carry it with the working tree, then run scripts/gpu-check.sh)"
