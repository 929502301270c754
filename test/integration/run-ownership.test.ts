/**
 * `polar-lake run` as an orchestrator sees it: one owner per state folder, one fetch scheduler
 * per client (a second fetch process is a standby that takes over when the first dies), and
 * SIGTERM drains and exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { cliEnvironment } from '../helpers/simulator-app.ts';
import { kafkaBrokers } from '../helpers/kafka.ts';

interface Running {
  readonly child: ChildProcess;
  log(): string;
  exited: Promise<number | null>;
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

function start(args: readonly string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, [resolve('bin/polar-lake.mjs'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    log: () => text,
    exited,
    async waitFor(needle, timeoutMs = 90_000) {
      const until = Date.now() + timeoutMs;
      while (!text.includes(needle)) {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before "${needle}":\n${text}`);
        if (Date.now() > until) throw new Error(`no "${needle}" within ${timeoutMs} ms:\n${text}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

describe('run > ownership and shutdown', () => {
  let sim: Simulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-owner-'));
    sim = await startSimulator({ seed: 8, users: 1, exercisesPerUser: 1, durationRangeS: [60, 120] });
    env = await cliEnvironment(sim, dir, { POLAR_LAKE_LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('run > a second embedded run on the same state folder exits 78 naming the owner; SIGTERM drains the first', async () => {
    const first = start(['run'], env);
    children.push(first.child);
    await first.waitFor('pipeline.started');
    const second = start(['run'], env);
    children.push(second.child);
    expect(await second.exited).toBe(78);
    expect(second.log()).toMatch(new RegExp(`PL_STATE_LOCKED: .* in use by another polar-lake process \\(run --stage fetch,parse,sink, pid ${first.child.pid}`));
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.log()).toContain('pipeline.stopping');
    expect(first.log()).toContain('pipeline.stopped');
  });

  it('run > two fetch processes over Kafka: one schedules, the other is a standby that takes over when the first is killed', async () => {
    const kafkaEnv = {
      ...env,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      POLAR_LAKE_TOPIC_PREFIX: `test-${randomBytes(4).toString('hex')}.`,
      POLAR_LAKE_LEASE_STALE_MS: '3000',
    };
    const a = start(['run', '--stage', 'fetch'], kafkaEnv);
    children.push(a.child);
    await a.waitFor('pipeline.started');
    const b = start(['run', '--stage', 'fetch'], kafkaEnv);
    children.push(b.child);
    await b.waitFor('state.lease.standby');
    expect(b.log()).not.toContain('pipeline.started');
    a.child.kill('SIGKILL');
    await a.exited;
    await b.waitFor('state.lease.acquired');
    await b.waitFor('pipeline.started');
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  });
});
