import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { api, basicAuth, exchangeCode, login } from '../helpers/simulator-client.ts';

let sim: Simulator;
beforeEach(async () => {
  sim = await startSimulator({ seed: 11, users: 2 });
});
afterEach(async () => {
  await sim.close();
});

describe('simulator > oauth', () => {
  it('simulator > oauth > authorization redirects with code and state', async () => {
    const u = new URL(sim.authorizeUrl);
    u.search = new URLSearchParams({
      response_type: 'code', client_id: sim.clientId, redirect_uri: sim.redirectUri, scope: 'accesslink.read_all', state: 'abc', login: sim.accounts[0]!.login,
    }).toString();
    const res = await fetch(u, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(sim.redirectUri);
    expect(location.searchParams.get('state')).toBe('abc');
    expect(location.searchParams.get('code')).toMatch(/^[0-9a-f]{24}$/);
  });

  it('simulator > oauth > authorization errors: unknown client, wrong redirect, bad response type, denial', async () => {
    const base = { response_type: 'code', client_id: sim.clientId, redirect_uri: sim.redirectUri, state: 's', login: sim.accounts[0]!.login };
    const get = (params: Record<string, string>) => fetch(`${sim.authorizeUrl}?${new URLSearchParams(params)}`, { redirect: 'manual' });
    expect((await get({ ...base, client_id: 'other' })).status).toBe(400);
    const wrongRedirect = await get({ ...base, redirect_uri: 'http://evil.example/cb' });
    expect(wrongRedirect.status).toBe(400);
    expect(wrongRedirect.headers.get('location')).toBeNull();
    const token = await get({ ...base, response_type: 'token' });
    expect(new URL(token.headers.get('location')!).searchParams.get('error')).toBe('unsupported_response_type');
    const denied = await get({ ...base, deny: '1' });
    expect(new URL(denied.headers.get('location')!).searchParams.get('error')).toBe('access_denied');
    expect(new URL(denied.headers.get('location')!).searchParams.get('state')).toBe('s');
    await expect(sim.approve('nobody', 's')).rejects.toThrow(/access_denied/);
  });

  it('simulator > oauth > token exchange returns bearer token and user id', async () => {
    const { code } = await sim.approve(sim.accounts[1]!.login, 'x');
    const res = await exchangeCode(sim, code);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body['token_type']).toBe('bearer');
    expect(body['expires_in']).toBeGreaterThan(0);
    expect(String(body['x_user_id'])).toBe(sim.accounts[1]!.polarUserId);
    expect(typeof body['access_token']).toBe('string');
  });

  it('simulator > oauth > bad client credentials and grant type give 400 with error', async () => {
    const { code } = await sim.approve(sim.accounts[0]!.login, 'x');
    const wrongSecret = await fetch(sim.tokenUrl, {
      method: 'POST',
      headers: { authorization: 'Basic ' + Buffer.from(`${sim.clientId}:nope`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: sim.redirectUri }),
    });
    expect(wrongSecret.status).toBe(400);
    expect(await wrongSecret.json()).toEqual({ error: 'invalid_client' });
    const wrongGrant = await fetch(sim.tokenUrl, {
      method: 'POST',
      headers: { authorization: basicAuth(sim), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', code }),
    });
    expect(await wrongGrant.json()).toEqual({ error: 'unsupported_grant_type' });
    // The code was not consumed by the failed attempts.
    expect((await exchangeCode(sim, code)).status).toBe(200);
  });

  it('simulator > oauth > re-using a code is denied and revokes the tokens issued for that user', async () => {
    const account = sim.accounts[0]!;
    const earlier = await login(sim, 0);
    const { code } = await sim.approve(account.login, 'y');
    const first = await exchangeCode(sim, code);
    expect(first.status).toBe(200);
    const { access_token: token } = (await first.json()) as { access_token: string };
    expect((await api(sim, token, 'POST', '/v3/users', { 'member-id': 'm' })).status).toBe(200);

    const reuse = await exchangeCode(sim, code);
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toEqual({ error: 'invalid_grant' });
    expect((await api(sim, token, 'GET', `/v3/users/${account.polarUserId}`)).status).toBe(401);
    expect((await api(sim, earlier.token, 'GET', `/v3/users/${account.polarUserId}`)).status).toBe(401);
    // Another user's tokens are untouched.
    const other = await login(sim, 1);
    expect((await api(sim, other.token, 'GET', `/v3/users/${other.userId}`)).status).toBe(204);
  });

  it('simulator > oauth > bearer and client auth are enforced', async () => {
    const { token, userId } = await login(sim, 0);
    expect((await api(sim, 'not-a-token', 'GET', `/v3/users/${userId}`)).status).toBe(401);
    expect((await fetch(`${sim.apiBaseUrl}/v3/users/${userId}`)).status).toBe(401);
    // Another user's id in the path.
    expect((await api(sim, token, 'GET', `/v3/users/${sim.accounts[1]!.polarUserId}`)).status).toBe(403);
    expect((await fetch(`${sim.apiBaseUrl}/v3/notifications`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    const ok = await fetch(`${sim.apiBaseUrl}/v3/notifications`, { headers: { authorization: basicAuth(sim) } });
    expect(ok.status).toBe(204);
    expect(await ok.text()).toBe('');
  });

  it('simulator > oauth > request log never holds tokens or codes', async () => {
    const { token } = await login(sim, 0);
    const logged = JSON.stringify(sim.requestLog);
    expect(logged).not.toContain(token);
    expect(logged).not.toContain('code=');
    expect(sim.requestLog.some((r) => r.method === 'POST' && r.path === '/v2/oauth2/token' && r.status === 200)).toBe(true);
  });
});

describe('simulator > users', () => {
  it('simulator > users > register, 409 on second registration, get, delete revokes token', async () => {
    const { token, userId } = await login(sim, 0);
    expect((await api(sim, token, 'GET', `/v3/users/${userId}`)).status).toBe(204);
    const reg = await api(sim, token, 'POST', '/v3/users', { 'member-id': 'alice' });
    expect(reg.status).toBe(200);
    const user = (await reg.json()) as Record<string, unknown>;
    expect(user['member-id']).toBe('alice');
    expect(String(user['polar-user-id'])).toBe(userId);
    expect(user['registration-date']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect((await api(sim, token, 'POST', '/v3/users', { 'member-id': 'alice' })).status).toBe(409);
    const got = await api(sim, token, 'GET', `/v3/users/${userId}`);
    expect(got.status).toBe(200);
    const del = await api(sim, token, 'DELETE', `/v3/users/${userId}`);
    expect(del.status).toBe(204);
    expect((await api(sim, token, 'GET', `/v3/users/${userId}`)).status).toBe(401);
  });

  it('simulator > users > duplicate member-id of another user is 409; XML body accepted', async () => {
    const a = await login(sim, 0);
    const b = await login(sim, 1);
    expect((await api(sim, a.token, 'POST', '/v3/users', { 'member-id': 'same' })).status).toBe(200);
    expect((await api(sim, b.token, 'POST', '/v3/users', { 'member-id': 'same' })).status).toBe(409);
    const xml = await fetch(`${sim.apiBaseUrl}/v3/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${b.token}`, 'content-type': 'application/xml' },
      body: '<register><member-id>bob &amp; co</member-id></register>',
    });
    expect(xml.status).toBe(200);
    expect(((await xml.json()) as Record<string, unknown>)['member-id']).toBe('bob & co');
    expect((await api(sim, b.token, 'POST', '/v3/users', {})).status).toBe(400);
  });

  it('simulator > users > only data uploaded after registration is visible', async () => {
    const { token, userId } = await login(sim, 0);
    const before = sim.uploadExercises(userId, 2);
    expect(before).toHaveLength(2);
    expect(sim.pendingExercises(userId)).toHaveLength(0);
    await api(sim, token, 'POST', '/v3/users', { 'member-id': 'm' });
    const pending = sim.pendingExercises(userId);
    expect(pending).toHaveLength(3);
    expect(pending.map((e) => e.exerciseId)).not.toContain(before[0]!.exerciseId);
    expect(() => sim.uploadExercises('1', 1)).toThrow(/no simulated account/);
  });
});
