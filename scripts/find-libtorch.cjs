#!/usr/bin/env node
// Finds the libtorch to build against, in this order: $LIBTORCH (a libtorch folder or a Python
// torch package folder), Python's torch, a system install (Debian/Ubuntu libtorch-dev).
// Used by CMakeLists.txt (--cmake-prefix, --nccl-include) and binding.gyp (--include, --libdir,
// --libs, --cflags, --defines).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

function configIn(prefix) {
  for (const rel of ['share/cmake/Torch/TorchConfig.cmake']) {
    const f = path.join(prefix, rel);
    if (fs.existsSync(f)) return f;
  }
  return null;
}

function multiarch() {
  try {
    return execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).trim() || 'x86_64-linux-gnu';
  } catch {
    return 'x86_64-linux-gnu';
  }
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
    const dir = execFileSync('python3', ['-c', 'import os, torch; print(os.path.dirname(torch.__file__))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const cfg = configIn(dir);
    if (cfg) return { how: `Python torch at ${dir}`, prefix: dir, config: cfg, include: path.join(dir, 'include'), libdir: path.join(dir, 'lib') };
    tried.push(`Python torch at ${dir}: no TorchConfig.cmake`);
  } catch {
    tried.push('Python torch: \'python3 -c "import torch"\' failed');
  }

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

// What the libtorch's CMake package says about itself, read from its Caffe2Targets.cmake: whether
// it has CUDA (a c10_cuda target) and the compile definitions its targets export (USE_DISTRIBUTED,
// USE_C10D_GLOO, and USE_C10D_NCCL where it was built with NCCL). CMake builds get these from the
// imported targets; node-gyp builds get the same list through --defines.
function targets(cfgFile) {
  const file = path.join(path.dirname(cfgFile), '..', 'Caffe2', 'Caffe2Targets.cmake');
  if (!fs.existsSync(file)) throw new Error(`libtorch's ${file} not found (next to ${cfgFile}): cannot tell its compile definitions`);
  const text = fs.readFileSync(file, 'utf8');
  const defines = new Set();
  for (const m of text.matchAll(/INTERFACE_COMPILE_DEFINITIONS\s+"([^"]*)"/g)) for (const d of m[1].split(';')) if (d && !d.includes('$<')) defines.add(d);
  return { cuda: /add_library\(c10_cuda\s/.test(text), nccl: defines.has('USE_C10D_NCCL'), defines: [...defines] };
}

function firstDir(candidates, file) {
  return candidates.find((d) => d && fs.existsSync(path.join(d, file))) ?? null;
}

// Headers a CUDA libtorch's own headers include but do not ship: the CUDA runtime's
// (cuda_runtime_api.h) and, with NCCL, nccl.h. Looked for in $CUDA_HOME/$CUDA_PATH ($NCCL_HOME),
// the NVIDIA wheels next to a Python torch (nvidia/cu13, nvidia/cuda_runtime, nvidia/nccl),
// /usr/local/cuda and /usr. Each throws naming what is missing and how to provide it.
function headerDirs(found) {
  const nv = path.join(found.prefix, '..', 'nvidia');
  const wheels = fs.existsSync(nv) ? fs.readdirSync(nv).map((d) => path.join(nv, d, 'include')) : [];
  const env = (v) => (process.env[v] ? path.join(process.env[v], 'include') : null);
  return [env('CUDA_HOME'), env('CUDA_PATH'), ...wheels, '/usr/local/cuda/include', '/usr/include'];
}

function cudaInclude(found) {
  const dir = firstDir(headerDirs(found), 'cuda_runtime_api.h');
  if (!dir)
    throw new Error(
      `libtorch at ${found.prefix} has CUDA, but cuda_runtime_api.h was not found (set CUDA_HOME to the CUDA toolkit, or pip install the nvidia-cuda-runtime wheel next to torch)`,
    );
  return dir;
}

function ncclInclude(found) {
  const dir = firstDir([process.env.NCCL_HOME && path.join(process.env.NCCL_HOME, 'include'), ...headerDirs(found)], 'nccl.h');
  if (!dir)
    throw new Error(
      `libtorch at ${found.prefix} was built with NCCL (its targets define USE_C10D_NCCL), but nccl.h was not found (set NCCL_HOME, or pip install the nvidia-nccl wheel next to torch)`,
    );
  return dir;
}

// The CUDA runtime library beside its headers (include/ → lib/ or lib64/), for -l:<file>: our
// cuda.cc calls cudaGetDeviceProperties itself. Wheels ship only the versioned libcudart.so.N.
function cudartLib(includeDir) {
  for (const sub of ['lib64', 'lib']) {
    const dir = path.join(includeDir, '..', sub);
    if (!fs.existsSync(dir)) continue;
    const so = fs
      .readdirSync(dir)
      .filter((f) => /^libcudart\.so(\.\d+)*$/.test(f))
      .sort()[0];
    if (so) return { dir, file: so };
  }
  throw new Error(`libcudart.so not found next to ${includeDir} (in ../lib64 or ../lib)`);
}

function main() {
  let found;
  try {
    found = find();
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  const mode = process.argv[2] || '--describe';
  const f = flags(found.config);
  try {
    const t = targets(found.config);
    // The extra header folders of a CUDA build: CUDA's runtime (with CUDA 13's include/cccl, where
    // libcu++'s <nv/target> moved, which cuda_fp16.h includes), and NCCL's where libtorch has it.
    const extra = () => {
      if (!t.cuda) return [];
      const cuda = cudaInclude(found);
      const cccl = path.join(cuda, 'cccl');
      return [...new Set([cuda, ...(fs.existsSync(cccl) ? [cccl] : []), ...(t.nccl ? [ncclInclude(found)] : [])])];
    };
    if (mode !== '--describe') process.stderr.write(`semanticist-ts: using ${found.how}${t.cuda ? ' (CUDA' + (t.nccl ? ', NCCL)' : ')') : ''}\n`);
    switch (mode) {
      case '--cmake-prefix':
        process.stdout.write(found.prefix);
        break;
      case '--include':
        process.stdout.write([found.include, path.join(found.include, 'torch/csrc/api/include'), ...extra()].join(' '));
        break;
      // CMakeLists.txt: CUDA's headers come with libtorch's targets (FindCUDAToolkit), nccl.h does not.
      case '--nccl-include':
        process.stdout.write(t.cuda && t.nccl ? ncclInclude(found) : '');
        break;
      case '--libdir':
        process.stdout.write(found.libdir);
        break;
      case '--libs': {
        // CUDA builds: link torch_cuda/c10_cuda too (with --no-as-needed in binding.gyp), or CUDA
        // stays unregistered and torch.cuda.isAvailable() is false.
        const libs = ['torch_cpu', 'torch', 'c10', ...(t.cuda ? ['torch_cuda', 'c10_cuda'] : [])].map((l) => `-l${l}`);
        if (t.cuda) {
          const rt = cudartLib(cudaInclude(found));
          libs.push(`-L${rt.dir}`, `-Wl,-rpath,${rt.dir}`, `-l:${rt.file}`);
        }
        process.stdout.write(libs.join(' '));
        break;
      }
      // Preprocessor names for binding.gyp: libtorch's own (see targets()) plus, with CUDA, ours
      // (TN_WITH_CUDA: native/cuda.cc's CUDA half) and USE_CUDA, as libtorch itself was compiled
      // (its headers key some struct layouts on it). CMakeLists.txt adds the same two.
      case '--defines':
        process.stdout.write([...t.defines, ...(t.cuda ? ['TN_WITH_CUDA', 'USE_CUDA'] : [])].join(' '));
        break;
      case '--cflags':
        process.stdout.write(`-D_GLIBCXX_USE_CXX11_ABI=${f.abi} -std=gnu++${f.std}`);
        break;
      default:
        process.stdout.write(JSON.stringify({ ...found, ...f, ...t, extraInclude: extra() }, null, 2) + '\n');
    }
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
}

if (require.main === module) main();
module.exports = { find, flags, targets };
