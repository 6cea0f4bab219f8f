// Locating a python3 that has PyTorch, for reference comparisons only (never a dependency).
// Debian's python3-torch installs into /usr/bin/python3, which a pyenv or venv python3 on PATH hides.
import { spawnSync } from 'node:child_process';

export interface TorchPython {
  python: string;
  torchVersion: string;
}

let cached: TorchPython | null | undefined;

export function findTorchPython(): TorchPython | null {
  if (cached !== undefined) return cached;
  cached = null;
  for (const python of [process.env.LIA_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p)) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) {
      cached = { python, torchVersion: r.stdout.trim() };
      break;
    }
  }
  return cached;
}

/** Runs a python script with torch; returns stdout, throwing with stderr on failure. */
export function runTorchScript(py: TorchPython, script: string, input: string, timeoutMs = 600_000): string {
  const r = spawnSync(py.python, ['-c', script], { input, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${py.python} (torch ${py.torchVersion}) failed: ${r.error?.message ?? r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}
