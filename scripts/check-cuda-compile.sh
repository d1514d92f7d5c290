#!/usr/bin/env bash
# Compile-only check of native/ against a CUDA libtorch with NCCL, on a machine without CUDA or a
# GPU, so the CUDA paths (native/cuda.cc's CUDA half, ProcessGroupNCCL in distributed.cc) cannot
# rot unseen. In a throwaway folder: the headers and CMake files of PyTorch's CUDA wheel (torch
# ${CUDA_TORCH_VERSION}) and the NVIDIA CUDA runtime and NCCL wheels, laid out as in site-packages;
# then every native/*.cc through g++ -fsyntax-only with the flags node-gyp would use for that
# libtorch (scripts/find-libtorch.cjs: its definitions, USE_C10D_NCCL among them, plus TN_WITH_CUDA
# and USE_CUDA). Wheels come through pip download (offline here: the image's local index).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
torch_version="${CUDA_TORCH_VERSION:-2.14.1}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS

# The wheels; their large libraries are never unpacked, only include/ and share/cmake.
pip_dl() {
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp/wheels" "$@" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
pip_dl "torch==$torch_version"
torch_whl="$(ls "$tmp"/wheels/torch-*.whl)"
# The CUDA major version and the NCCL release this torch was built with, from its own metadata.
meta="$(unzip -p "$torch_whl" "torch-$torch_version.dist-info/METADATA")"
cuda_major="$(sed -n 's/^Requires-Dist: cuda-toolkit\[.*\]==\([0-9]*\)\..*/\1/p' <<<"$meta")"
nccl_req="$(sed -n 's/^Requires-Dist: \(nvidia-nccl-cu[0-9]*==[0-9.]*\).*/\1/p' <<<"$meta")"
[ -n "$cuda_major" ] && [ -n "$nccl_req" ] || { echo "check-cuda-compile: torch $torch_version's metadata names no CUDA toolkit or NCCL: not a CUDA wheel?" >&2; exit 1; }
# cudart, its crt/ headers, libcu++ (cccl); cuSPARSE, cuBLAS, cuSOLVER, whose headers
# ATen/cuda/CUDAContextLight.h includes (through ProcessGroupNCCL.hpp). These three are versioned
# on their own; their wheels put headers under nvidia/cu<CUDA major>/, which is checked below.
cuda_pkgs=(nvidia-cuda-runtime nvidia-cuda-crt nvidia-cuda-cccl)
pip_dl "${cuda_pkgs[@]/%/>=$cuda_major,<$((cuda_major + 1))}" nvidia-cusparse nvidia-cublas nvidia-cusolver "$nccl_req"

site="$tmp/site"
mkdir -p "$site"
unzip -q "$torch_whl" 'torch/include/*' 'torch/share/*' -d "$site"
for w in "$tmp"/wheels/nvidia_*.whl; do unzip -q -o "$w" 'nvidia/*/include/*' -d "$site"; done
echo "check-cuda-compile: torch $torch_version (CUDA $cuda_major, $nccl_req) headers unpacked in $((SECONDS - start)) s:"
(cd "$tmp/wheels" && ls -1 | sed 's/^/  /')

# The flags node-gyp gets for this libtorch (binding.gyp), nothing from this machine's CUDA.
export LIBTORCH="$site/torch"
unset CUDA_HOME CUDA_PATH NCCL_HOME
defines="$(node "$root/scripts/find-libtorch.cjs" --defines)"
for d in TN_WITH_CUDA USE_CUDA USE_C10D_NCCL USE_DISTRIBUTED USE_C10D_GLOO; do
  grep -qw "$d" <<<"$defines" || { echo "check-cuda-compile: find-libtorch gives no $d for this libtorch (defines: $defines)" >&2; exit 1; }
done
include="$(node "$root/scripts/find-libtorch.cjs" --include)"
for h in "cu$cuda_major/include/cuda_runtime_api.h" "cu$cuda_major/include/cusparse.h" "cu$cuda_major/include/cublas_v2.h" "cu$cuda_major/include/cusolverDn.h" nccl/include/nccl.h; do
  [ -f "$site/nvidia/$h" ] || { echo "check-cuda-compile: nvidia/$h not in the unpacked wheels" >&2; exit 1; }
done
case "$include" in *"$site/nvidia/cu$cuda_major/include"*"$site/nvidia/nccl/include"*) ;;
  *) echo "check-cuda-compile: CUDA/NCCL headers not taken from the unpacked wheels: $include" >&2; exit 1 ;; esac
nodedir="$(npm config get nodedir 2>/dev/null | grep -v "^undefined$" || true)"
[ -z "$nodedir" ] && nodedir="$(dirname "$(dirname "$(command -v node)")")"
[ -f "$nodedir/include/node/node_api.h" ] || { echo "check-cuda-compile: node_api.h not found under $nodedir/include/node" >&2; exit 1; }
napi="$(cd "$root" && node -p "require('node-addon-api').include_dir")"
flags=(-fsyntax-only -fPIC -fexceptions -frtti -Wall -Wno-unused-parameter
  $(node "$root/scripts/find-libtorch.cjs" --cflags)
  -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_CPP_EXCEPTIONS_ALL $(sed 's/\([^ ]*\)/-D\1/g' <<<"$defines")
  -I"$nodedir/include/node" -I"$root/$napi" $(sed 's/\([^ ]*\)/-I\1/g' <<<"$include") -idirafter "$root/native/shim")
echo "check-cuda-compile: defines: $defines"
echo "check-cuda-compile: include: $(sed "s|$tmp|<tmp>|g" <<<"$include")"

# Each file on its own core; a failure prints the compiler's first errors and fails the check.
export tmp
printf '%s\n' "$root"/native/*.cc | xargs -P "$(nproc)" -I{} bash -c '
  f={}; n=$(basename "$f"); t0=$SECONDS
  if g++ "$@" "$f" >"$tmp/$n.log" 2>&1; then echo "  ok   native/$n ($((SECONDS - t0)) s)"
  else echo "  FAIL native/$n"; grep -m 20 -E "error|required from" "$tmp/$n.log" | sed "s/^/    /"; exit 1; fi' _ "${flags[@]}" \
  || { echo "check-cuda-compile: FAILED" >&2; exit 1; }
echo "check-cuda-compile: all of native/ compiles against CUDA torch $torch_version with NCCL ($((SECONDS - start)) s)"
