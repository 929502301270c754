/** Plain-fetch helpers for talking to the simulator in tests (no AccessLink client involved). */
import type { Simulator } from '../../src/simulator/index.ts';

export function basicAuth(sim: Simulator): string {
  return 'Basic ' + Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64');
}

export async function exchangeCode(sim: Simulator, code: string): Promise<Response> {
  return fetch(sim.tokenUrl, {
    method: 'POST',
    headers: { authorization: basicAuth(sim), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: sim.redirectUri }),
  });
}

/** Approve + token exchange; returns the bearer token and the user id. */
export async function login(sim: Simulator, accountIndex = 0): Promise<{ token: string; userId: string }> {
  const account = sim.accounts[accountIndex]!;
  const { code } = await sim.approve(account.login, 'state-' + accountIndex);
  const res = await exchangeCode(sim, code);
  if (res.status !== 200) throw new Error(`token exchange failed: ${res.status}`);
  const body = (await res.json()) as { access_token: string; x_user_id: number };
  return { token: body.access_token, userId: String(body.x_user_id) };
}

export async function api(sim: Simulator, token: string, method: string, pathOrUrl: string, body?: unknown): Promise<Response> {
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : sim.apiBaseUrl + pathOrUrl;
  return fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

/** Logs in and registers the account with the partner; returns the token and user id. */
export async function loginAndRegister(sim: Simulator, accountIndex = 0): Promise<{ token: string; userId: string }> {
  const session = await login(sim, accountIndex);
  const res = await api(sim, session.token, 'POST', '/v3/users', { 'member-id': `member-${accountIndex}` });
  if (res.status !== 200) throw new Error(`registration failed: ${res.status}`);
  await res.arrayBuffer();
  return session;
}
