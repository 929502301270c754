/**
 * Headless enrolment, as on a server with no browser: the authorization URL is opened anywhere,
 * and the callback comes back pasted on stdin or lands on the running pipeline behind a reverse
 * proxy (an https redirect URI). A code is exchanged exactly once, whichever way it came.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { usersAdd, usersList, type PastedLines, type UsersCommandConfig } from '../../src/cli/commands/users.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { openPendingEnrolments } from '../../src/state/pending-enrolments.ts';
import { createLogger } from '../../src/telemetry/log.ts';

const HTTPS_REDIRECT = 'https://lake.example.org/oauth/callback';

let sim: Simulator | undefined;
let dir: string | undefined;
afterEach(async () => {
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  sim = undefined;
  dir = undefined;
});

async function setup(redirectUri = HTTPS_REDIRECT): Promise<{ sim: Simulator; config: UsersCommandConfig }> {
  sim = await startSimulator({ seed: 4, users: 3, exercisesPerUser: 1, redirectUri });
  dir = await mkdtemp(join(tmpdir(), 'polar-lake-headless-'));
  const config: UsersCommandConfig = {
    stateDir: join(dir, 'state'),
    accesslink: { apiBaseUrl: sim.apiBaseUrl, authorizeUrl: sim.authorizeUrl, tokenUrl: sim.tokenUrl, redirectUri, clientId: sim.clientId, clientSecret: sim.clientSecret },
  };
  return { sim, config };
}

/** Lines a test types: `type()` makes the next read answer. */
function typedLines(): PastedLines & { type(line: string | null): void } {
  const queue: (string | null)[] = [];
  let waiting: ((v: string | null) => void) | null = null;
  return {
    next: () => new Promise((r) => {
      if (queue.length > 0) r(queue.shift()!);
      else waiting = r;
    }),
    type(line) {
      if (waiting) {
        const w = waiting;
        waiting = null;
        w(line);
      } else queue.push(line);
    },
  };
}

async function printedUrl(printed: string[]): Promise<URL> {
  for (let i = 0; i < 500 && !printed.some((l) => l.startsWith('http')); i++) await new Promise((r) => setTimeout(r, 10));
  return new URL(printed.find((l) => l.startsWith('http'))!);
}

const tokenRequests = (s: Simulator) => s.requestLog.filter((r) => r.path === '/v2/oauth2/token').length;

describe('users > headless enrolment', () => {
  it('users > --no-browser takes the pasted redirected URL of an https redirect URI', async () => {
    const { sim: s, config } = await setup();
    const lines = typedLines();
    const printed: string[] = [];
    const adding = usersAdd({ config, memberId: 'server-1', lines, print: (l) => printed.push(l), logger: createLogger({ level: 'silent' }), timeoutMs: 30_000 });
    const url = await printedUrl(printed);
    expect(url.searchParams.get('redirect_uri')).toBe(HTTPS_REDIRECT);
    const { code, state } = await s.approve(s.accounts[0]!.login, url.searchParams.get('state')!);
    lines.type(`${HTTPS_REDIRECT}?state=${encodeURIComponent(state)}&code=${encodeURIComponent(code)}`);
    const { user } = await adding;
    expect(user).toMatchObject({ polarUserId: s.accounts[0]!.polarUserId, memberId: 'server-1', status: 'active' });
    expect(tokenRequests(s)).toBe(1);
  });

  it('users > --no-browser takes the bare code too', async () => {
    const { sim: s, config } = await setup();
    const lines = typedLines();
    const printed: string[] = [];
    const adding = usersAdd({ config, lines, print: (l) => printed.push(l), logger: createLogger({ level: 'silent' }), timeoutMs: 30_000 });
    const url = await printedUrl(printed);
    const { code } = await s.approve(s.accounts[1]!.login, url.searchParams.get('state')!);
    lines.type('');
    lines.type(`  ${code}  `);
    expect((await adding).user.polarUserId).toBe(s.accounts[1]!.polarUserId);
  });

  it('users > a pasted URL with another state is refused and the code is never exchanged', async () => {
    const { sim: s, config } = await setup();
    const lines = typedLines();
    const printed: string[] = [];
    const adding = usersAdd({ config, lines, print: (l) => printed.push(l), logger: createLogger({ level: 'silent' }), timeoutMs: 30_000 }).catch((e: unknown) => e);
    const url = await printedUrl(printed);
    const { code } = await s.approve(s.accounts[0]!.login, url.searchParams.get('state')!);
    lines.type(`${HTTPS_REDIRECT}?state=forged-state-value-000&code=${code}`);
    expect(await adding).toMatchObject({ code: 'PL_OAUTH_CALLBACK_FAILED', message: expect.stringMatching(/another state/) });
    expect(tokenRequests(s)).toBe(0);
    expect(await usersList(config)).toEqual([]);
  });

  it('users > a pending state is claimed once: a second exchange of the same callback is refused', async () => {
    const { config } = await setup();
    const pending = openPendingEnrolments(config.stateDir);
    const state = await pending.start('m', HTTPS_REDIRECT);
    const [a, b] = await Promise.all([pending.claim(state), pending.claim(state)]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect(await pending.claim('never-issued-state-123456')).toBeNull();
  });

  it('users > add --no-browser --count 2 enrols several users in one call (process, stdin)', async () => {
    const { sim: s, config } = await setup();
    const env = {
      ...process.env,
      POLAR_CLIENT_ID: s.clientId, POLAR_CLIENT_SECRET: s.clientSecret, POLAR_API_BASE_URL: s.apiBaseUrl, POLAR_AUTHORIZE_URL: s.authorizeUrl,
      POLAR_TOKEN_URL: s.tokenUrl, POLAR_REDIRECT_URI: HTTPS_REDIRECT, POLAR_LAKE_STATE_DIR: config.stateDir, POLAR_LAKE_LOG_LEVEL: 'warn',
    };
    const child = spawn(process.execPath, [resolve('bin/polar-lake.mjs'), 'users', 'add', '--no-browser', '--count', '2'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
    const seen = new Set<string>();
    const logins = [s.accounts[0]!.login, s.accounts[2]!.login];
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const m of out.matchAll(/^(http\S+oauth2\/authorization\S+)$/gm)) {
        const url = new URL(m[1]!);
        const st = url.searchParams.get('state')!;
        if (seen.has(st)) continue;
        seen.add(st);
        const login = logins[seen.size - 1]!;
        void s.approve(login, st).then(({ code, state }) => child.stdin.write(`${HTTPS_REDIRECT}?code=${code}&state=${state}\n`));
      }
    });
    expect(await exited, err).toBe(0);
    expect(out.match(/^enrolled polar user/gm)).toHaveLength(2);
    expect((await usersList(config)).map((u) => u.polarUserId).sort()).toEqual([s.accounts[0]!.polarUserId, s.accounts[2]!.polarUserId].sort());
  });

  it('users > the running pipeline serves the redirect URI (POLAR_LAKE_CALLBACK_LISTEN) and users add finishes by itself', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const { sim: s, config } = await setup();
    const env = {
      ...process.env,
      POLAR_CLIENT_ID: s.clientId, POLAR_CLIENT_SECRET: s.clientSecret, POLAR_API_BASE_URL: s.apiBaseUrl, POLAR_AUTHORIZE_URL: s.authorizeUrl,
      POLAR_TOKEN_URL: s.tokenUrl, POLAR_REDIRECT_URI: HTTPS_REDIRECT, POLAR_LAKE_STATE_DIR: config.stateDir, POLAR_LAKE_DIR: join(dir!, 'lake'),
      POLAR_LAKE_CALLBACK_LISTEN: `127.0.0.1:${port}`, POLAR_LAKE_LOG_LEVEL: 'info',
    };
    delete (env as NodeJS.ProcessEnv)['KAFKA_BROKERS'];
    const run = spawn(process.execPath, [resolve('bin/polar-lake.mjs'), 'run'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    run.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      for (let i = 0; i < 600 && !log.includes('users.callback.listening'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(log).toContain('users.callback.listening');
      const lines = typedLines(); // nothing is ever pasted
      const printed: string[] = [];
      const adding = usersAdd({ config, memberId: 'via-proxy', lines, pollMs: 50, print: (l) => printed.push(l), logger: createLogger({ level: 'silent' }), timeoutMs: 60_000 });
      const url = await printedUrl(printed);
      const { code, state } = await s.approve(s.accounts[2]!.login, url.searchParams.get('state')!);
      // The reverse proxy forwards https://lake.example.org/oauth/callback?... to the process.
      const page = await fetch(`http://127.0.0.1:${port}/oauth/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}`);
      expect(page.status).toBe(200);
      expect(await page.text()).not.toContain(code);
      const { user } = await adding;
      expect(user).toMatchObject({ polarUserId: s.accounts[2]!.polarUserId, memberId: 'via-proxy' });
      // The same callback again (a reload): refused, the code is not replayed.
      expect((await fetch(`http://127.0.0.1:${port}/oauth/callback?code=${code}&state=${state}`)).status).toBe(400);
      expect(tokenRequests(s)).toBe(1);
    } finally {
      run.kill('SIGTERM');
      await new Promise((r) => run.on('exit', r));
    }
  });
});
