/**
 * `polar-lake import` as a process, as an operator runs it: the JSON summary and the exit
 * code, and resumption after a SIGKILL mid-import (rerun → the same lake as one clean run,
 * nothing doubled).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary } from '../../src/jobs/progress.ts';
import { tcxText } from '../helpers/import-fixtures.ts';
import { lakeFacts } from './pipeline-e2e.ts';

const run = promisify(execFile);
const FILES = 16;

function envFor(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, POLAR_LAKE_DIR: join(dir, 'lake'), POLAR_LAKE_STATE_DIR: join(dir, 'state'), POLAR_LAKE_LOG_LEVEL: 'warn' };
  delete env['KAFKA_BROKERS'];
  return env;
}

async function importCli(dir: string, input: string): Promise<{ summary: JobSummary; code: number; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/polar-lake.mjs', 'import', input, '--user', 'u1', '--json'], { env: envFor(dir) });
    return { summary: JSON.parse(stdout) as JobSummary, code: 0, stderr };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { summary: JSON.parse(e.stdout) as JobSummary, code: e.code, stderr: e.stderr };
  }
}

describe('cli > import', () => {
  let root: string;
  let input: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'polar-lake-import-cli-'));
    input = join(root, 'input');
    mkdirSync(input);
    for (let i = 0; i < FILES; i++) writeFileSync(join(input, `w${String(i).padStart(2, '0')}.tcx`), tcxText(new Date(Date.UTC(2020, 0, 1 + i, 7)).toISOString(), 120 + i));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('cli > import > --json summary, exit 0; a bad file gives exit 2 and names it', async () => {
    const dir = join(root, 'clean');
    const first = await importCli(dir, input);
    expect(first.code).toBe(0);
    expect(first.summary).toMatchObject({ job: 'import', unit: 'files', seen: FILES, stored: FILES, failed: 0 });
    expect(first.stderr).toMatch(new RegExp(`import: ${FILES}/${FILES} files, [\\d.]+/s, 0 failed`)); // the plain progress line (stderr is not a terminal)
    const facts = await lakeFacts(join(dir, 'lake'));
    expect(facts.exercises).toBe(FILES);
    expect(facts.samples).toBe(Array.from({ length: FILES }, (_, i) => 120 + i).reduce((a, b) => a + b, 0));

    const badDir = join(root, 'bad-input');
    mkdirSync(badDir);
    writeFileSync(join(badDir, 'notes.txt'), 'not a workout');
    const bad = await importCli(dir, badDir);
    expect(bad.code).toBe(2);
    expect(bad.summary.failures).toEqual([{ path: join(badDir, 'notes.txt'), code: 'PL_IMPORT_UNSUPPORTED_FILE', reason: expect.stringContaining('notes.txt') }]);
    expect(await lakeFacts(join(dir, 'lake'))).toEqual(facts);
  });

  it('cli > import > SIGKILL mid-import, rerun: the same lake as one clean run, nothing doubled', async () => {
    const clean = join(root, 'clean-ref');
    await importCli(clean, input);
    const reference = await lakeFacts(join(clean, 'lake'));

    const dir = join(root, 'killed');
    const ledger = join(dir, 'state', 'fetch-ledger.jsonl');
    const child = spawn(process.execPath, ['bin/polar-lake.mjs', 'import', input, '--user', 'u1', '--json'], { env: envFor(dir), stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // Kill once a quarter of the files are published (the ledger says so), whatever the machine's speed.
    for (;;) {
      const published = existsSync(ledger) ? readFileSync(ledger, 'utf8').split('\n').filter((l) => l.includes('"s":"published"')).length : 0;
      if (published >= FILES / 4 || child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGKILL');
    await exited;
    expect(child.signalCode).toBe('SIGKILL');

    const rerun = await importCli(dir, input);
    expect(rerun.code).toBe(0);
    expect(rerun.summary.already_present).toBeGreaterThanOrEqual(FILES / 4);
    expect(rerun.summary.stored + rerun.summary.already_present).toBe(FILES);
    const facts = await lakeFacts(join(dir, 'lake'));
    expect(facts).toEqual(reference);
    expect(facts.distinctSampleKeys).toBe(facts.samples);
  });
});
