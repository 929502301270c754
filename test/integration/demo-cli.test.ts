/** The README's first command: `polar-lake demo` must work on a fresh machine, no Kafka, no credentials. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('cli > demo', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'polar-lake-demo-')), 'lake-dir');
  afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('runs the whole pipeline on the simulator and finds every trackpoint exactly once', async () => {
    const env = { ...process.env };
    delete env['KAFKA_BROKERS']; // the demo is the embedded default, whatever the test run uses
    const { stdout } = await run(process.execPath, ['bin/polar-lake.mjs', 'demo', '--dir', dir, '--users', '2', '--exercises', '2'], { env });
    expect(stdout).toMatch(/enrolled \S+ as Polar user \d+/);
    const m = /samples in the lake: (\d+); trackpoints the simulator delivered: (\d+) \(exactly once\)/.exec(stdout);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(m![1]).toBe(m![2]);
  });

  it('refuses to wipe a folder that is not a previous demo', async () => {
    const foreign = mkdtempSync(join(tmpdir(), 'polar-lake-foreign-'));
    await run('touch', [join(foreign, 'precious.txt')]);
    await expect(run(process.execPath, ['bin/polar-lake.mjs', 'demo', '--dir', foreign])).rejects.toThrow(/not a previous demo/);
    rmSync(foreign, { recursive: true, force: true });
  });
});
