// Finds a libtorch to build the `torch` backend against, without downloading anything:
//   1. LIA_TORCH_DIR=<dir> (a libtorch folder with include/ and lib/),
//   2. Debian's libtorch-dev (/usr/include/ATen, libtorch_cpu.so in the multiarch lib folder),
//   3. the libtorch inside an installed PyTorch (python3 -c "import torch").
// As a program: prints the found libtorch as JSON, or `--include`, `--libdir`, `--cflags` for
// binding.gyp; exits 1 when none is found. `--dist-cflags` / `--dist-libs` add torch.distributed
// (native/torch/lia_dist.cc) when the libtorch has c10d's headers and gloo's are found, and NCCL
// where a CUDA libtorch has ProcessGroupNCCL and nccl.h is found.
'use strict';
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');
const { execFileSync } = require('node:child_process');

function fromDir(dir, source) {
  const include = join(dir, 'include');
  const lib = join(dir, 'lib');
  if (!existsSync(join(include, 'ATen', 'ATen.h')) || !existsSync(join(lib, 'libtorch_cpu.so'))) return null;
  return { source, include: [include, join(include, 'torch', 'csrc', 'api', 'include')], libdir: lib, cxx11abi: null, cuda: existsSync(join(lib, 'libtorch_cuda.so')) };
}

function debian() {
  if (!existsSync('/usr/include/ATen/ATen.h')) return null;
  const libRoot = '/usr/lib';
  const dirs = [libRoot, ...readdirSync(libRoot).filter((d) => /-linux-gnu/.test(d)).map((d) => join(libRoot, d))];
  const libdir = dirs.find((d) => existsSync(join(d, 'libtorch_cpu.so')));
  if (!libdir) return null;
  return { source: "Debian's libtorch-dev", include: ['/usr/include', '/usr/include/torch/csrc/api/include'], libdir, cxx11abi: null, cuda: existsSync(join(libdir, 'libtorch_cuda.so')) };
}

function python() {
  for (const py of [process.env.LIA_TORCH_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean)) {
    try {
      const out = execFileSync(py, ['-c', 'import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI)); print(torch.__version__)'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 60_000,
      });
      const [dir, abi, version] = out.trim().split('\n');
      const found = fromDir(dir, `PyTorch ${version} (${py})`);
      if (found) return { ...found, cxx11abi: abi === '1' ? 1 : 0 };
    } catch {
      // no torch in this python
    }
  }
  return null;
}

function findTorch() {
  if (process.env.LIA_TORCH_DIR) {
    const found = fromDir(process.env.LIA_TORCH_DIR, `LIA_TORCH_DIR=${process.env.LIA_TORCH_DIR}`);
    if (!found) throw new Error(`LIA_TORCH_DIR=${process.env.LIA_TORCH_DIR} has no include/ATen/ATen.h and lib/libtorch_cpu.so`);
    return found;
  }
  return debian() ?? python();
}

// torch.distributed: c10d's headers in the libtorch, gloo's headers (Debian: libgloo-dev) and, when
// gloo is a separate library (Debian), libgloo to link; NCCL when the libtorch is a CUDA one with
// ProcessGroupNCCL and nccl.h is found (LIA_NCCL_DIR, the CUDA include folder, or pip's nvidia-nccl).
// -I for a folder the compiler does not search anyway (an explicit -I/usr/include breaks libstdc++'s #include_next).
const include = (d) => (['/usr/include', '/usr/local/include'].includes(d) || !existsSync(d) ? [] : [`-I${d}`]);

function findDist(t) {
  const c10d = t.include.map((d) => join(d, 'torch', 'csrc', 'distributed', 'c10d')).find((d) => existsSync(join(d, 'ProcessGroupGloo.hpp')));
  if (!c10d) return { available: false, why: "this libtorch has no c10d headers" };
  const glooInclude = [...t.include, '/usr/include', '/usr/local/include'].find((d) => existsSync(join(d, 'gloo', 'algorithm.h')));
  if (!glooInclude) return { available: false, why: 'no gloo headers (apt-get install libgloo-dev)' };
  const glooLib = [t.libdir, '/usr/lib', '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/local/lib'].find((d) => existsSync(join(d, 'libgloo.so')));
  const inTorch = existsSync(join(t.libdir, 'libtorch_cpu.so')) && !glooLib;
  if (!glooLib && !inTorch) return { available: false, why: 'no libgloo.so' };
  const out = { available: true, cflags: ['-DLIA_DIST', '-DUSE_C10D_GLOO', ...include(glooInclude)], libs: glooLib ? [`-L${glooLib}`, '-lgloo'] : [], nccl: false };
  if (t.cuda && existsSync(join(c10d, 'ProcessGroupNCCL.hpp'))) {
    const ncclDirs = [process.env.LIA_NCCL_DIR && join(process.env.LIA_NCCL_DIR, 'include'), '/usr/local/cuda/include', '/usr/include', join(t.libdir, '..', '..', 'nvidia', 'nccl', 'include')];
    const nccl = ncclDirs.find((d) => d && existsSync(join(d, 'nccl.h')));
    if (nccl) {
      out.cflags.push('-DLIA_DIST_NCCL', '-DUSE_C10D_NCCL', ...include(nccl), ...include('/usr/local/cuda/include'));
      out.nccl = true;
    }
  }
  return out;
}

module.exports = { findTorch, findDist };

if (require.main === module) {
  const t = findTorch();
  if (!t) process.exit(1);
  const arg = process.argv[2];
  if (arg === '--include') console.log(t.include.join(' '));
  else if (arg === '--libdir') console.log(t.libdir);
  else if (arg === '--cflags') console.log(t.cxx11abi === null ? '' : `-D_GLIBCXX_USE_CXX11_ABI=${t.cxx11abi}`);
  // CUDA: link libtorch_cuda even though no symbol of it is used, so that its CUDA hooks register.
  else if (arg === '--dist-cflags') console.log(findDist(t).available ? findDist(t).cflags.join(' ') : '');
  else if (arg === '--dist-libs') console.log(findDist(t).available ? findDist(t).libs.join(' ') : '');
  else if (arg === '--libs') console.log(t.cuda ? '-Wl,--no-as-needed -ltorch_cuda -lc10_cuda -ltorch_cpu -lc10 -Wl,--as-needed' : '-ltorch_cpu -lc10');
  else console.log(JSON.stringify(t));
}
