/**
 * vitest globalSetup: builds dist/ (incremental `npm run build`, a second or two when nothing
 * changed) so that tests running `bin/polar-lake.mjs` as a process run the JavaScript that
 * ships, compiled from the sources under test, never a stale build.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export default async function setup(): Promise<void> {
  const started = Date.now();
  try {
    await promisify(execFile)(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`building dist/ failed (npm run build):\n${`${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || e.message}`);
  }
  process.stderr.write(`[build setup] dist/ built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
