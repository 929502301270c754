import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAccessLinkClient } from '../../src/accesslink/client.ts';
import { OAuthCallbackError, usersAdd, usersList, usersRemove, type UsersCommandConfig } from '../../src/cli/commands/users.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { openUserRegistry } from '../../src/state/users.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { freePort } from '../helpers/free-port.ts';


let sim: Simulator | undefined;
let dir: string | undefined;
afterEach(async () => {
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  sim = undefined;
  dir = undefined;
});

async function setup(): Promise<{ sim: Simulator; config: UsersCommandConfig }> {
  const redirectUri = `http://127.0.0.1:${await freePort()}/callback`;
  sim = await startSimulator({ seed: 3, users: 2, exercisesPerUser: 1, redirectUri });
  dir = await mkdtemp(join(tmpdir(), 'polar-lake-users-cli-'));
  const config: UsersCommandConfig = {
    stateDir: join(dir, 'state'),
    accesslink: { apiBaseUrl: sim.apiBaseUrl, authorizeUrl: sim.authorizeUrl, tokenUrl: sim.tokenUrl, redirectUri, clientId: sim.clientId, clientSecret: sim.clientSecret },
  };
  return { sim, config };
}

/** Plays the browser: approves in "Flow" with the state from the printed URL, follows the redirect. */
async function approveFromPrintedUrl(s: Simulator, printed: string[], login: string, tamperState = false): Promise<Response> {
  for (let i = 0; i < 100 && !printed.some((l) => l.startsWith('http')); i++) await new Promise((r) => setTimeout(r, 10));
  const url = new URL(printed.find((l) => l.startsWith('http'))!);
  expect(url.searchParams.get('client_id')).toBe(s.clientId);
  expect(url.searchParams.get('response_type')).toBe('code');
  const { code, state } = await s.approve(login, url.searchParams.get('state')!);
  const back = new URL(s.redirectUri);
  back.searchParams.set('code', code);
  back.searchParams.set('state', tamperState ? state.replace(/.$/, (c) => (c === '0' ? '1' : '0')) : state);
  return fetch(back);
}

describe('cli > users', () => {
  it('add enrols through the callback; list shows no token; remove de-registers at Polar', async () => {
    const { sim: s, config } = await setup();
    const printed: string[] = [];
    const logLines: string[] = [];
    const logger = createLogger({ level: 'debug', write: (l) => logLines.push(l) });
    const adding = usersAdd({ config, memberId: 'alice', timeoutMs: 10_000, print: (l) => printed.push(l), logger });
    const callback = await approveFromPrintedUrl(s, printed, s.accounts[0]!.login);
    expect(callback.status).toBe(200);
    const { user, alreadyRegistered } = await adding;
    expect(user).toMatchObject({ polarUserId: s.accounts[0]!.polarUserId, memberId: 'alice', status: 'active' });
    expect(alreadyRegistered).toBe(false);

    const registry = await openUserRegistry({ stateDir: config.stateDir });
    const token = registry.accessToken(user.polarUserId);
    const client = createAccessLinkClient({ apiBaseUrl: s.apiBaseUrl, clientId: s.clientId, clientSecret: s.clientSecret });
    expect(await client.getUser(user.polarUserId, token)).toMatchObject({ 'member-id': 'alice' });
    const listed = await usersList(config);
    expect(JSON.stringify(listed)).not.toContain(token);
    expect((await readFile(join(config.stateDir, 'users.json'))).includes(Buffer.from(token))).toBe(false);
    expect(logLines.filter((l) => l.includes(token) || l.includes(s.clientSecret))).toEqual([]);

    const removed = await usersRemove(config, user.polarUserId);
    expect(removed.status).toBe('deregistered');
    expect(s.requestLog.some((r) => r.method === 'DELETE' && r.path === `/v3/users/${user.polarUserId}` && r.status === 204)).toBe(true);
    await expect(client.getUser(user.polarUserId, token)).rejects.toMatchObject({ code: 'PL_ACCESSLINK_UNAUTHORIZED' });
  });

  it('add refuses a callback whose state does not match, without exchanging the code', async () => {
    const { sim: s, config } = await setup();
    const printed: string[] = [];
    const adding = usersAdd({ config, timeoutMs: 10_000, print: (l) => printed.push(l), logger: createLogger({ level: 'silent' }) });
    const settled = adding.catch((e: unknown) => e);
    const callback = await approveFromPrintedUrl(s, printed, s.accounts[1]!.login, true);
    expect(callback.status).toBe(400);
    expect(await settled).toBeInstanceOf(OAuthCallbackError);
    expect(s.requestLog.some((r) => r.path === '/v2/oauth2/token')).toBe(false);
    expect(await usersList(config)).toEqual([]);
  });
});
