/**
 * The operator's commands as processes: `polar-lake run --once` against AccessLink (the
 * simulator, configured only through the environment, as a real deployment would be), then
 * `polar-lake replay`, which must leave the lake unchanged.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { lakeFacts } from './pipeline-e2e.ts';
import { cliEnvironment } from '../helpers/simulator-app.ts';

const run = promisify(execFile);

describe('cli > run --once and replay', () => {
  let sim: Simulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-cli-'));
    sim = await startSimulator({ seed: 21, users: 2, exercisesPerUser: 2, durationRangeS: [300, 600] });
    env = await cliEnvironment(sim, dir);
  });

  afterAll(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('run --once fetches, parses and sinks everything, and says what it did', async () => {
    const { stdout, stderr } = await run(process.execPath, ['bin/polar-lake.mjs', 'run', '--once'], { env });
    const out = JSON.parse(stdout) as { fetch: { transactionsCommitted: number; exercisesFetched: number } };
    expect(out.fetch.exercisesFetched).toBe(4);
    expect(stderr).not.toContain(sim.clientSecret);
    const facts = await lakeFacts(env['POLAR_LAKE_DIR']!);
    expect(facts.samples).toBe(sim.committedExercises().reduce((s, e) => s + e.trackpoints, 0));
    expect(facts.exercises).toBe(4);
  });

  it('replay re-parses every raw object and changes nothing', async () => {
    const before = await lakeFacts(env['POLAR_LAKE_DIR']!);
    const { stdout } = await run(process.execPath, ['bin/polar-lake.mjs', 'replay', '--json'], { env });
    expect((JSON.parse(stdout) as { stored: number }).stored).toBeGreaterThan(4);
    expect(await lakeFacts(env['POLAR_LAKE_DIR']!)).toEqual(before);
  });

  it('run --stage without Kafka is refused with the setting to change', async () => {
    await expect(run(process.execPath, ['bin/polar-lake.mjs', 'run', '--stage', 'parse'], { env })).rejects.toMatchObject({
      code: 78,
      stderr: expect.stringMatching(/PL_CONFIG_INVALID: --stage: .*KAFKA_BROKERS/),
    });
  });
});
