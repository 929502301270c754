/**
 * `polar-lake run` as a process with POLAR_LAKE_METRICS_LISTEN: it serves /health, /ready,
 * /metrics and the status page, `polar-lake status` finds it through the same variable, and
 * SIGTERM stops it cleanly.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { cliEnvironment } from '../helpers/simulator-app.ts';
import { freePort } from '../helpers/free-port.ts';

const run = promisify(execFile);


describe('cli > run serves telemetry', () => {
  let sim: Simulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let origin: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-run-telemetry-'));
    sim = await startSimulator({ seed: 4, users: 2, exercisesPerUser: 1, durationRangeS: [300, 400] });
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    env = await cliEnvironment(sim, dir, { POLAR_LAKE_METRICS_LISTEN: `127.0.0.1:${port}`, POLAR_LAKE_LOG_LEVEL: 'info' });
  });

  afterAll(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers /health, /ready, /metrics and /status while running; polar-lake status reads it; SIGTERM exits 0', async () => {
    const child = spawn(process.execPath, ['bin/polar-lake.mjs', 'run'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // Bounded wait for the process to come up (not a timing assertion: it either answers or the test fails).
      let ready = 0;
      for (let i = 0; i < 300 && ready !== 200; i++) {
        ready = await fetch(`${origin}/ready`).then((r) => r.status, () => 0);
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready, stderr).toBe(200);
      expect((await fetch(`${origin}/health`)).status).toBe(200);
      const metrics = await (await fetch(`${origin}/metrics`)).text();
      expect(metrics).toMatch(/^polar_users\{status="active"\} 2$/m);
      expect(metrics).toMatch(/^polar_consumer_lag_messages\{stage="parse",topic="polar.fetched",partition="0"\} 0$/m);
      const page = await fetch(`${origin}/status`);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await page.text()).toContain('<title>polar-lake status</title>');
      const { stdout } = await run(process.execPath, ['bin/polar-lake.mjs', 'status'], { env });
      expect(stdout).toMatch(/running since \S+, embedded bus, stages fetch, parse, sink/);
      for (const a of sim.accounts) expect(stdout).toMatch(new RegExp(`^${a.polarUserId} .* active `, 'm'));
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('"event":"pipeline.stopped"');
  });
});
