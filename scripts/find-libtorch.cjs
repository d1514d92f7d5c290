#!/usr/bin/env node
// Finds the libtorch to build against, in this order: $LIBTORCH (a libtorch folder or a Python
// torch package folder), Python's torch, a system install (Debian/Ubuntu libtorch-dev).
// Used by CMakeLists.txt (--cmake-prefix) and binding.gyp (--include, --libdir, --cflags).
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

function configIn(prefix) {
  for (const rel of ['share/cmake/Torch/TorchConfig.cmake']) {
    const f = path.join(prefix, rel);
    if (fs.existsSync(f)) return f;
  }
  return null;
}

function multiarch() {
  try { return execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).trim() || 'x86_64-linux-gnu'; }
  catch { return 'x86_64-linux-gnu'; }
}

function find() {
  const tried = [];
  const env = process.env.LIBTORCH;
  if (env) {
    for (const prefix of [env, path.join(env, 'torch')]) {
      const cfg = configIn(prefix);
      if (cfg) return { how: `LIBTORCH=${env}`, prefix, config: cfg, include: path.join(prefix, 'include'), libdir: path.join(prefix, 'lib') };
    }
    tried.push(`LIBTORCH=${env}: no share/cmake/Torch/TorchConfig.cmake under it (or under its torch/)`);
  } else tried.push('LIBTORCH: not set');

  try {
    const dir = execFileSync('python3', ['-c', 'import os, torch; print(os.path.dirname(torch.__file__))'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const cfg = configIn(dir);
    if (cfg) return { how: `Python torch at ${dir}`, prefix: dir, config: cfg, include: path.join(dir, 'include'), libdir: path.join(dir, 'lib') };
    tried.push(`Python torch at ${dir}: no TorchConfig.cmake`);
  } catch { tried.push("Python torch: 'python3 -c \"import torch\"' failed"); }

  const arch = multiarch();
  const sysCfg = `/usr/lib/${arch}/cmake/Torch/TorchConfig.cmake`;
  if (fs.existsSync(sysCfg)) return { how: `system libtorch (${sysCfg})`, prefix: '/usr', config: sysCfg, include: '/usr/include', libdir: `/usr/lib/${arch}` };
  tried.push(`system: ${sysCfg} not found`);

  const msg = [
    'libtorch not found. Tried, in order:',
    ...tried.map((t) => `  - ${t}`),
    'Give one of:',
    '  1. LIBTORCH=/path/to/libtorch (the official libtorch zip, unpacked) or a Python torch package folder',
    "  2. a Python with torch: 'pip install torch' so that 'python3 -c \"import torch\"' works",
    '  3. the system package on Debian/Ubuntu: sudo apt-get install -y libtorch-dev libopenblas0-openmp libgloo-dev',
  ].join('\n');
  throw new Error(msg);
}

// Flags the found libtorch was built with: the libstdc++ ABI and the C++ standard.
function flags(cfgFile) {
  const text = fs.readFileSync(cfgFile, 'utf8');
  const abi = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(text);
  const std = /CXX_STANDARD\s+(\d+)/.exec(text);
  return { abi: abi ? abi[1] : '1', std: Math.max(17, std ? Number(std[1]) : 17) };
}

function main() {
  let found;
  try { found = find(); } catch (e) { process.stderr.write(`${e.message}\n`); process.exit(1); }
  const mode = process.argv[2] || '--describe';
  const f = flags(found.config);
  if (mode !== '--describe') process.stderr.write(`semanticist-ts: using ${found.how}\n`);
  switch (mode) {
    case '--cmake-prefix': process.stdout.write(found.prefix); break;
    case '--include': process.stdout.write(`${found.include} ${path.join(found.include, 'torch/csrc/api/include')}`); break;
    case '--libdir': process.stdout.write(found.libdir); break;
    case '--libs': {
      // CUDA builds: link torch_cuda/c10_cuda too (with --no-as-needed in binding.gyp), or CUDA
      // stays unregistered and torch.cuda.isAvailable() is false.
      const cuda = ['torch_cuda', 'c10_cuda'].filter((l) => fs.existsSync(path.join(found.libdir, `lib${l}.so`)));
      process.stdout.write(['torch_cpu', 'torch', 'c10', ...cuda].map((l) => `-l${l}`).join(' '));
      break;
    }
    case '--cflags': process.stdout.write(`-D_GLIBCXX_USE_CXX11_ABI=${f.abi} -std=gnu++${f.std}`); break;
    default: process.stdout.write(JSON.stringify({ ...found, ...f }, null, 2) + '\n');
  }
}

if (require.main === module) main();
module.exports = { find, flags };
