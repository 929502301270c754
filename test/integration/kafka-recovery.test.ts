/**
 * Kafka that recovers, on a real broker of the test's own: `polar-lake run` keeps ingesting
 * across a broker restart that keeps its data, and across one that comes back empty (topics,
 * offsets and whatever was on them gone): nothing lost, nothing doubled, no crash loop.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { cliEnvironment } from '../helpers/simulator-app.ts';
import { lakeFacts } from './pipeline-e2e.ts';
import { freePort } from '../helpers/free-port.ts';

const exec = promisify(execFile);


describe('bus > kafka > broker restarts', () => {
  let sim: Simulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let brokerEnv: NodeJS.ProcessEnv;
  let run: ChildProcess | undefined;
  let log = '';

  const broker = (cmd: 'start' | 'stop', keepData: boolean) =>
    exec('bash', ['scripts/kafka-local.sh', cmd], { env: { ...brokerEnv, KAFKA_KEEP_DATA: keepData ? '1' : '0' }, timeout: 180_000 });

  /** The lake holds exactly the trackpoints of every exercise the simulator has delivered, once. */
  const settled = async (timeoutMs = 150_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const want = sim.committedExercises().reduce((n, e) => n + e.trackpoints, 0);
      const facts = await lakeFacts(env['POLAR_LAKE_DIR']!).catch(() => null);
      if (facts && sim.pendingExercises().length === 0 && facts.samples === want && facts.exercises === sim.committedExercises().length) return facts;
      if (Date.now() > until) throw new Error(`lake not settled: ${JSON.stringify({ want, facts, pending: sim.pendingExercises().length })}\n${log.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-kafka-recovery-'));
    const [port, controller] = [await freePort(), await freePort()];
    brokerEnv = { ...process.env, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controller) };
    await broker('start', false);
    sim = await startSimulator({ seed: 44, users: 2, exercisesPerUser: 2, durationRangeS: [120, 300] });
    const pipeline = join(dir, 'fast.yaml');
    // A sweep every two seconds, so the test does not wait minutes for the next one.
    writeFileSync(pipeline, 'version: 1\nname: recovery\nfetch:\n  schedule: "*/2 * * * * *"\n  daily: []\n');
    env = await cliEnvironment(sim, dir, { KAFKA_BROKERS: `127.0.0.1:${port}`, POLAR_LAKE_PIPELINE: pipeline, POLAR_LAKE_LOG_LEVEL: 'info' });
    run = spawn(process.execPath, [resolve('bin/polar-lake.mjs'), 'run'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    run.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  }, 300_000);

  afterAll(async () => {
    if (run && run.exitCode === null) {
      run.kill('SIGTERM');
      await new Promise((r) => run!.on('exit', r));
    }
    await broker('stop', false).catch(() => undefined);
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('bus > kafka > ingests, survives a restart that keeps the data and one that comes back empty, without a crash loop', async () => {
    const first = await settled();
    expect(first.distinctSampleKeys).toBe(first.samples);

    await broker('stop', true);
    sim.uploadExercises(sim.accounts[0]!.polarUserId, 1);
    await broker('start', true);
    const afterRestart = await settled();
    expect(afterRestart.exercises).toBe(first.exercises + 1);
    expect(afterRestart.distinctSampleKeys).toBe(afterRestart.samples);

    await broker('stop', false);
    await broker('start', false); // empty: no topics, no offsets
    sim.uploadExercises(sim.accounts[1]!.polarUserId, 2);
    const afterEmpty = await settled();
    expect(afterEmpty.exercises).toBe(afterRestart.exercises + 2);
    expect(afterEmpty.distinctSampleKeys).toBe(afterEmpty.samples);
    expect(log).toContain('bus.kafka.topic_created');

    // Bounded noise: repeated client errors are folded into one line per window.
    const errorLines = log.split('\n').filter((l) => l.includes('"level":"error"')).length;
    expect(errorLines).toBeLessThan(200);

    run!.kill('SIGTERM');
    expect(await new Promise((r) => run!.on('exit', r))).toBe(0);
  }, 600_000);
});
