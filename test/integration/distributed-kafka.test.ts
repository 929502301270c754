/**
 * The distributed deployment as it runs in production: fetch, parse and sink as three
 * separate `polar-lake run --stage` processes joined only by a real Kafka broker and the
 * shared lake folder, configured through the environment.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { kafkaBrokers } from '../helpers/kafka.ts';
import { lakeFacts } from './pipeline-e2e.ts';
import { cliEnvironment } from '../helpers/simulator-app.ts';

const run = promisify(execFile);

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

describe('pipeline > distributed > one process per stage over Kafka', () => {
  let sim: Simulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-dist-'));
    sim = await startSimulator({ seed: 31, users: 2, exercisesPerUser: 3, durationRangeS: [300, 900] });
    env = await cliEnvironment(sim, dir, {
      KAFKA_BROKERS: kafkaBrokers().join(','),
      POLAR_LAKE_TOPIC_PREFIX: `test-${randomBytes(4).toString('hex')}.`,
    });
  });

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fetch, parse and sink processes fill the lake exactly, and stop cleanly on SIGTERM', async () => {
    for (const stage of ['parse', 'sink']) {
      const child = spawn(process.execPath, ['bin/polar-lake.mjs', 'run', '--stage', stage], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => void (stderr += d.toString()));
      child.once('exit', (code) => code !== 0 && code !== null && console.error(`${stage} exited ${code}: ${stderr}`));
      workers.push(child);
    }
    const { stdout } = await run(process.execPath, ['bin/polar-lake.mjs', 'run', '--once', '--stage', 'fetch'], { env });
    expect((JSON.parse(stdout) as { fetch: { exercisesFetched: number } }).fetch.exercisesFetched).toBe(6);

    const expected = sim.committedExercises().reduce((s, e) => s + e.trackpoints, 0);
    const deadline = Date.now() + 180_000;
    let facts = { samples: -1, exercises: -1, distinctSampleKeys: -1 };
    while (Date.now() < deadline) {
      facts = await lakeFacts(env['POLAR_LAKE_DIR']!).catch(() => facts);
      if (facts.samples === expected && facts.exercises === 6) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(facts.samples).toBe(expected);
    expect(facts.distinctSampleKeys).toBe(expected);
    expect(facts.exercises).toBe(6);

    for (const w of workers) w.kill('SIGTERM');
    expect(await Promise.all(workers.map(exited))).toEqual([0, 0]);
    expect((await lakeFacts(env['POLAR_LAKE_DIR']!)).samples).toBe(expected);
  }, 300_000);
});
