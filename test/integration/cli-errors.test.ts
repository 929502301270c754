/**
 * Failing loudly, as an operator meets it: every command run as a process, each mistake a typed
 * error with its documented exit code (src/cli/exit-codes.ts) and no stack trace unless --debug.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { cliEnvironment } from '../helpers/simulator-app.ts';

const BIN = resolve('bin/polar-lake.mjs');
const STACK = /^\s+at /m;

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<Outcome> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env: options.env ?? process.env, cwd: options.cwd ?? process.cwd(), timeout: options.timeoutMs ?? 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

async function busyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, server };
}

describe('cli > fail loudly', () => {
  let dir: string;
  let busy: { port: number; server: Server };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-cli-errors-'));
    busy = await busyPort();
  });
  afterAll(() => {
    busy.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cli > --version prints the package version; an unknown command is a usage error (2)', async () => {
    const [version, unknown] = await Promise.all([cli(['--version']), cli(['nosuch'])]);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'nosuch'/);
  });

  it('cli > parse of a missing file or a folder, demo --dir on a file: typed errors, no stack trace', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const [missing, folder, demo] = await Promise.all([cli(['parse', join(dir, 'nope.tcx')]), cli(['parse', dir]), cli(['demo', '--dir', file])]);
    for (const o of [missing, folder, demo]) {
      expect(o.code).toBe(78);
      expect(o.stderr).toMatch(/PL_INPUT_PATH_INVALID/);
      expect(o.stderr).not.toMatch(STACK);
    }
    expect(missing.stderr).toMatch(/nope\.tcx: no such file or folder/);
    expect(folder.stderr).toMatch(/is a folder/);
    expect(demo.stderr).toMatch(/is a file, not a folder/);
  });

  it('cli > --debug adds the stack trace', async () => {
    const o = await cli(['--debug', 'parse', join(dir, 'nope.tcx')]);
    expect(o.code).toBe(78);
    expect(o.stderr).toMatch(STACK);
  });

  it('cli > simulate on a busy port is PL_LISTEN_FAILED and an exit, not a hang', async () => {
    const o = await cli(['simulate', '--port', String(busy.port)], { timeoutMs: 30_000 });
    expect(o.code).toBe(78);
    expect(o.stderr).toMatch(/PL_LISTEN_FAILED: .*already in use/);
    expect(o.stderr).not.toMatch(STACK);
  });

  it('cli > a lake path with no lake is an error for query, lake doctor and compact', async () => {
    const typo = join(dir, 'not-a-lake');
    mkdirSync(typo);
    const outcomes = await Promise.all([cli(['query', '--lake', typo, 'select 1']), cli(['lake', 'doctor', '--lake', typo]), cli(['compact', '--lake', join(dir, 'missing')])]);
    for (const o of outcomes) {
      expect(o.code).toBe(78);
      expect(o.stderr).toMatch(/PL_LAKE_NOT_FOUND/);
    }
  });

  it('cli > lint works outside the repository and refuses a cron expression node-cron refuses', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nname: bad\nfetch:\n  schedule: "99 * * * *"\n');
    const [shipped, refused] = await Promise.all([cli(['lint'], { cwd: dir }), cli(['lint', bad], { cwd: dir })]);
    expect(shipped.code).toBe(0);
    expect(shipped.stdout).toMatch(/^ok +.*default\.yaml$/m);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/\/fetch\/schedule: not a valid cron expression/);
  });

  it('cli > webhook show with AccessLink unreachable is a transient typed error (75)', async () => {
    const env = { ...process.env, POLAR_CLIENT_ID: 'id', POLAR_CLIENT_SECRET: 'secret-value', POLAR_API_BASE_URL: `http://127.0.0.1:${busy.port + 0}`, POLAR_LAKE_STATE_DIR: join(dir, 'ws') };
    // The busy port's server accepts and never answers HTTP: close it for a refused connection instead.
    const refused = await busyPort();
    refused.server.close();
    const o = await cli(['webhook', 'show'], { env: { ...env, POLAR_API_BASE_URL: `http://127.0.0.1:${refused.port}` } });
    expect(o.code).toBe(75);
    expect(o.stderr).toMatch(/PL_ACCESSLINK_NETWORK: GET \/v3\/webhooks/);
    expect(o.stderr).not.toContain('secret-value');
  });
});

describe('cli > run fails loudly', () => {
  let sim: Simulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-cli-run-'));
    sim = await startSimulator({ seed: 5, users: 2, exercisesPerUser: 1, durationRangeS: [120, 180] });
    env = await cliEnvironment(sim, dir);
  });
  afterAll(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cli > run --once exits 1 when every user failed, and says why', async () => {
    sim.injectFault({ path: /exercise-transactions/, status: 503, times: 1_000 });
    const o = await cli(['run', '--once'], { env });
    expect(o.code).toBe(1);
    expect(o.stderr).toMatch(/run --once finished with failures: errors PL_ACCESSLINK_SERVER_ERROR/);
  });

  it('cli > run with the metrics port in use exits 78 instead of hanging', async () => {
    const busy = await busyPort();
    try {
      const o = await cli(['run'], { env: { ...env, POLAR_LAKE_METRICS_LISTEN: `127.0.0.1:${busy.port}` }, timeoutMs: 45_000 });
      expect(o.code).toBe(78);
      expect(o.stderr).toMatch(/PL_LISTEN_FAILED: the metrics server cannot listen/);
    } finally {
      busy.server.close();
    }
  });

  it('cli > secret.key missing beside stored tokens: typed error, nothing polled, no new key written', async () => {
    const keyFile = join(env['POLAR_LAKE_STATE_DIR']!, 'secret.key');
    const key = readFileSync(keyFile);
    rmSync(keyFile);
    try {
      const o = await cli(['run', '--once'], { env });
      expect(o.code).toBe(78);
      expect(o.stderr).toMatch(/PL_STATE_SECRET_KEY_MISSING/);
      expect(existsSync(keyFile)).toBe(false);
      const wrong = await cli(['run', '--once'], { env: { ...env, POLAR_LAKE_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') } });
      expect(wrong.code).toBe(78);
      expect(wrong.stderr).toMatch(/PL_STATE_SECRET_KEY_WRONG/);
    } finally {
      writeFileSync(keyFile, key, { mode: 0o600 });
    }
  });
});
