/**
 * Scaling out over a real broker: two parse and two sink workers in one consumer group each
 * share the topics' partitions; one of each is SIGKILLed mid-stream, the group rebalances, and
 * the lake still ends exact: nothing lost, nothing doubled.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { kafkaBrokers } from '../helpers/kafka.ts';
import { cliEnvironment } from '../helpers/simulator-app.ts';
import { lakeFacts } from './pipeline-e2e.ts';

const run = promisify(execFile);

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

describe('pipeline > distributed > two workers per stage', () => {
  let sim: Simulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let prefix: string;
  const workers: { stage: string; child: ChildProcess }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-workers-'));
    sim = await startSimulator({ seed: 57, users: 6, exercisesPerUser: 3, durationRangeS: [600, 1500] });
    prefix = `test-${randomBytes(4).toString('hex')}.`;
    const pipeline = join(dir, 'workers.yaml');
    writeFileSync(pipeline, 'version: 1\nname: workers\nfetch:\n  daily: []\nbus:\n  partitions: 4\n');
    env = await cliEnvironment(sim, dir, { KAFKA_BROKERS: kafkaBrokers().join(','), POLAR_LAKE_TOPIC_PREFIX: prefix, POLAR_LAKE_PIPELINE: pipeline });
  });

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('workers > each group shares the partitions; one parse and one sink worker killed, the lake ends exact', async () => {
    // Each worker's log goes to a file, shown when the groups do not form (a worker that failed to start says why).
    const logs = ['parse', 'parse', 'sink', 'sink'].map((stage, i) => {
      const log = join(dir, `${stage}-${i}.log`);
      const child = spawn(process.execPath, ['bin/polar-lake.mjs', 'run', '--stage', stage], { env: { ...env, POLAR_LAKE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', openSync(log, 'w')] });
      workers.push({ stage, child });
      return log;
    });
    const workerLogs = () => logs.map((log, i) => `${log} (exit ${workers[i]!.child.exitCode}):\n${readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}`).join('\n');
    const kafka = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // Both members of each group hold partitions before any data flows.
      const assigned = async (group: string) => {
        const { groups } = await admin.describeGroups([group]);
        return groups[0]?.state === 'Stable' ? groups[0].members.length : 0;
      };
      const groups = [`${prefix}polar-lake-workers-parse`, `${prefix}polar-lake-workers-sink`];
      for (let i = 0; i < 1200 && (await Promise.all(groups.map(assigned))).some((n) => n < 2); i++) await new Promise((r) => setTimeout(r, 200));
      expect(await Promise.all(groups.map(assigned)), workerLogs()).toEqual([2, 2]);

      const fetching = run(process.execPath, ['bin/polar-lake.mjs', 'run', '--once', '--stage', 'fetch'], { env });
      // Kill one worker of each stage once rows have started to land.
      for (let i = 0; i < 600 && ((await lakeFacts(env['POLAR_LAKE_DIR']!).catch(() => null))?.samples ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 100));
      workers[0]!.child.kill('SIGKILL');
      workers[2]!.child.kill('SIGKILL');
      const { stdout } = await fetching;
      expect((JSON.parse(stdout) as { fetch: { exercisesFetched: number } }).fetch.exercisesFetched).toBe(18);

      const expected = sim.committedExercises().reduce((s, e) => s + e.trackpoints, 0);
      const deadline = Date.now() + 180_000;
      let facts = await lakeFacts(env['POLAR_LAKE_DIR']!);
      while (Date.now() < deadline && !(facts.samples === expected && facts.exercises === 18)) {
        await new Promise((r) => setTimeout(r, 1000));
        facts = await lakeFacts(env['POLAR_LAKE_DIR']!).catch(() => facts);
      }
      expect(facts.samples).toBe(expected);
      expect(facts.distinctSampleKeys).toBe(expected);
      expect(facts.exercises).toBe(18);
    } finally {
      await admin.disconnect();
    }
    const survivors = [workers[1]!.child, workers[3]!.child];
    for (const w of survivors) w.kill('SIGTERM');
    expect(await Promise.all(survivors.map(exited))).toEqual([0, 0]);
  }, 400_000);
});
