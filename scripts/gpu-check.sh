#!/usr/bin/env bash
# GPU checks, for a machine with an NVIDIA GPU and a CUDA PyTorch (pip's torch): builds the addon
# against that libtorch (build-cuda/) and then, within BUDGET seconds (default 480, 8 minutes; each
# stage is cut to what is left, and stages past the budget are reported as not run), runs and prints:
#   1. the CUDA test subset (test/cuda*.test.ts, test/device*.test.ts) on this addon;
#   2. 50 steps of the Fashion-MNIST tokenizer (configs/tokenizer_fmnist.yaml) on cuda:0 in bf16
#      and in fp16 with the loss scaler, with the evaluation table;
#   3. a 1-rank NCCL group and all-reduce (bench/allreduce, CUDA tensors);
#   4. bench/train_step at bench-S and at ViT-B/DiT-L size on the GPU, ours and the PyTorch
#      reference (bench/python/train_step_ref.py) with the same torch.
# Offline machines: run scripts/gpu-carry.sh on a networked one and bring build-carry/ along
# (compiled TypeScript, production npm packages, Fashion-MNIST's test split). Every stage has a
# time limit; a failed stage is reported and the rest still run; the exit code is the number of
# failed stages. Figures also go to $OUT/gpu-check.txt when OUT is set.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
report=${OUT:+$OUT/gpu-check.txt}
failed=0
say() { echo "== $*"; }
budget_end=""   # set after the build: the checks together get BUDGET seconds (default 480)
stage() {   # stage NAME SECONDS CMD...: runs CMD with a time limit, tees its output, counts failures
  local name=$1 secs=$2; shift 2
  if [ -n "$budget_end" ]; then
    local left=$((budget_end - SECONDS))
    if [ "$left" -lt 15 ]; then say "$name: NOT RUN (the ${BUDGET:-480} s budget is spent)"; failed=$((failed + 1)); return; fi
    [ "$secs" -gt "$left" ] && secs=$left
  fi
  say "$name (limit ${secs}s)"
  local t0=$SECONDS
  timeout --kill-after=10 "$secs" "$@" 2>&1
  local rc=$?
  say "$name: $([ $rc -eq 0 ] && echo ok || echo "FAILED (rc $rc)") in $((SECONDS - t0)) s"
  [ $rc -eq 0 ] || failed=$((failed + 1))
}
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || echo "nvidia-smi: not found"
  if ! TORCH_DIR=$($PY -c 'import os, torch; assert torch.cuda.is_available(), "torch.cuda.is_available() is False"; print(os.path.dirname(torch.__file__))'); then
    echo "gpu-check: needs a Python ($PY) whose torch is a CUDA build that sees a GPU (pip install torch; PYTHON=... to choose)"
    exit 1
  fi
  $PY -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "NCCL", torch.cuda.nccl.version(), torch.cuda.get_device_name(0))'
  # npm packages and compiled TypeScript: carried ones first (offline machines), else install here.
  if [ -d build-carry/pkg/node_modules ] && [ ! -e node_modules ]; then ln -s build-carry/pkg/node_modules node_modules; fi
  if [ -d build-carry/dist ] && [ ! -e dist ]; then cp -r build-carry/dist dist; fi
  [ -e node_modules ] || npm ci --ignore-scripts --no-audit --no-fund
  [ -e dist ] || npm run build:ts
  data=()
  if [ ! -d /usr/share/datasets/fashion-mnist ] && [ -d build-carry/fashion-mnist ]; then
    root=$PWD/build-carry/fashion-mnist   # only the test split is carried: train on it, evaluate on it
    data=(--opt trainer.params.dataset.params.split=test --opt "trainer.params.dataset.params.root=$root"
          --opt "trainer.params.test_dataset.params.root=$root")
  fi

  stage "build the addon against $TORCH_DIR" 420 env LIBTORCH="$TORCH_DIR" node_modules/.bin/cmake-js compile --out build-cuda
  export TORCHNODE_ADDON=$PWD/build-cuda/Release/torchnode.node
  budget_end=$((SECONDS + ${BUDGET:-480}))
  node -e "const n=require(process.env.TORCHNODE_ADDON); const c=n.config(); console.log('addon: libtorch', c.torchVersion, 'cuda', c.cuda, 'devices', c.cudaDevices, 'nccl', n.distributed.nccl)"

  stage "CUDA tests" 150 node --test --test-concurrency=1 dist/test/cuda-jobs.test.js dist/test/device.test.js dist/test/device-meta.test.js \
    $(ls dist/test/cuda.test.js dist/test/out-of-memory.test.js 2>/dev/null)
  for p in bf16 fp16; do
    stage "Fashion-MNIST tokenizer, 50 steps on cuda:0, $p" 90 node train.js --cfg configs/tokenizer_fmnist.yaml --device cuda:0 \
      --opt trainer.params.max_steps=50 --opt trainer.params.precision=$p --opt trainer.params.sample_every=1000 \
      --opt trainer.params.save_every=50 --opt trainer.params.eval_size=64 --opt "trainer.params.result_folder=/tmp/gpu-check-fmnist-$p" "${data[@]}"
  done
  stage "NCCL, 1 rank, all-reduce of CUDA tensors" 60 node dist/bench/allreduce.js --ranks 1 --backend nccl --sizes 4,64 --iters 5 --timeout 50
  for size in S L; do
    stage "bench/train_step SIZE=$size on cuda:0 (ours)" 75 env DEVICE=cuda:0 SIZE=$size ITERS=5 DECODES=2 node dist/bench/train_step.js
    stage "bench/train_step SIZE=$size on cuda:0 (PyTorch)" 75 env DEVICE=cuda:0 SIZE=$size ITERS=5 DECODES=2 $PY bench/python/train_step_ref.py
  done
  say "gpu-check: $failed stage(s) failed"
  exit "$failed"
} 2>&1 | tee ${report:-/dev/null}
exit "${PIPESTATUS[0]}"
