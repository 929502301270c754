/**
 * The Python used by the lake reader tests: $POLAR_LAKE_PYTHON, else the project venv at
 * .cache/venv, else python3. When it lacks the readers, the venv is created and
 * test/python/requirements.txt installed into it (pip may refuse to touch a system Python).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VENV_PYTHON = join(ROOT, '.cache', 'venv', 'bin', 'python');

function hasModules(python: string, modules: readonly string[]): boolean {
  return spawnSync(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' }).status === 0;
}

export function pythonWith(modules: readonly string[]): string {
  const explicit = process.env['POLAR_LAKE_PYTHON'];
  if (explicit) return explicit;
  if (existsSync(VENV_PYTHON) && hasModules(VENV_PYTHON, modules)) return VENV_PYTHON;
  if (hasModules('python3', modules)) return 'python3';
  if (!existsSync(VENV_PYTHON)) execFileSync('python3', ['-m', 'venv', join(ROOT, '.cache', 'venv')], { stdio: 'inherit' });
  execFileSync(VENV_PYTHON, ['-m', 'pip', 'install', '-q', '-r', join(ROOT, 'test', 'python', 'requirements.txt')], { stdio: 'inherit', timeout: 600_000 });
  return VENV_PYTHON;
}
