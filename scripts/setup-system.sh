#!/usr/bin/env bash
# Installs the system packages the addon and its checks need on Debian/Ubuntu (as root, or with sudo):
# libtorch (Debian's 1.13, CPU), OpenBLAS (Debian's libtorch would otherwise run on the reference
# BLAS, ~30x slower), gloo headers (c10d), tcmalloc (the tensor allocator), the build tools, and
# Fashion-MNIST (dataset-fashion-mnist: idx files in /usr/share/datasets/fashion-mnist, for the data tests),
# pip, venv and unzip for the libtorch 2.x tests and the CUDA compile check (PyTorch's wheels), and
# clang-format (bookworm's 14, the version .clang-format is checked with) for npm run lint.
set -euo pipefail
pkgs=(libtorch-dev libopenblas0-openmp libgloo-dev libtcmalloc-minimal4 cmake ninja-build g++ make python3 dataset-fashion-mnist
  python3-pip python3-venv unzip clang-format)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup-system: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup-system: libtorch $(dpkg-query -W -f='${Version}' libtorch-dev), BLAS $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"
