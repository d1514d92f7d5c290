#!/usr/bin/env bash
# The whole test suite again, against PyTorch's libtorch 2.x (the CPU wheel, torch
# ${TORCH2_VERSION:-2.13.0}) instead of the system's (Debian's 1.13, which `npm test` uses): the
# wheel in a venv of its own (build-torch2-venv/, kept so that the addon keeps loading and reruns
# skip the install), the addon built against it into build-torch2/, lib/generated and dist/
# rebuilt from that addon (TORCHNODE_ADDON), node --test; then lib/generated and dist/ rebuilt for
# the default addon (build/) again, pass or fail. Only the wheel's C++ libtorch is used, so torch is
# installed without its Python dependencies, and the venv is never activated: a python3 with torch
# on PATH would make find-libtorch.cjs pick it for later default builds.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
version="${TORCH2_VERSION:-2.13.0}"
venv="$root/build-torch2-venv"
restore() {
  echo "test-torch2: lib/generated and dist/ back to the default addon"
  env -u TORCHNODE_ADDON npm run -s build:ts >/dev/null
}
trap restore EXIT
t0=$SECONDS

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
torchdir="$site/torch"
if ! compgen -G "$site/torch-${version%%+*}*.dist-info" >/dev/null; then
  "$venv/bin/python" -m pip install -q --no-deps --only-binary=:all: "torch==$version" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
fi
echo "test-torch2: torch $version in $torchdir ($((SECONDS - t0)) s)"

LIBTORCH="$torchdir" npx cmake-js compile --out build-torch2 >build-torch2.log 2>&1 || { tail -40 build-torch2.log; exit 1; }
export TORCHNODE_ADDON="$root/build-torch2/Release/torchnode.node"
export LIBTORCH="$torchdir"   # test/gen-ops.test.ts compares this libtorch's headers with the addon
got="$(node -p "require(process.env.TORCHNODE_ADDON).config().torchVersion")"
[ "$got" = "${version%%+*}" ] || { echo "test-torch2: the addon in build-torch2 reports libtorch $got, not $version" >&2; exit 1; }
echo "test-torch2: addon built against libtorch $got ($((SECONDS - t0)) s)"

npm run -s build:ts
node --test --test-concurrency=1 dist/test/
echo "test-torch2: the suite passed on libtorch $got ($((SECONDS - t0)) s)"
