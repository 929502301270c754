import { afterEach, describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { api, basicAuth, loginAndRegister } from '../helpers/simulator-client.ts';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  // Short workouts keep the payloads small; behaviour does not depend on length.
  sim = await startSimulator({ seed: 5, durationRangeS: [60, 120], ...options });
  return sim;
}

type Created = { 'transaction-id': number; 'resource-uri': string };

async function createTx(s: Simulator, token: string, userId: string): Promise<Response> {
  return api(s, token, 'POST', `/v3/users/${userId}/exercise-transactions`);
}

async function listTx(s: Simulator, token: string, created: Created): Promise<string[]> {
  const res = await api(s, token, 'GET', created['resource-uri']);
  expect(res.status).toBe(200);
  return ((await res.json()) as { exercises: string[] }).exercises;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('simulator > transactions', () => {
  it('simulator > transactions > create, list, get, commit; then 204 and 404', async () => {
    const s = await start();
    const { token, userId } = await loginAndRegister(s, 0);

    const notes = await fetch(`${s.apiBaseUrl}/v3/notifications`, { headers: { authorization: basicAuth(s) } });
    expect(notes.status).toBe(200);
    const available = ((await notes.json()) as { 'available-user-data': Record<string, unknown>[] })['available-user-data'];
    expect(available).toEqual([{ 'user-id': Number(userId), 'data-type': 'EXERCISE', url: `${s.apiBaseUrl}/v3/users/${userId}/exercise-transactions` }]);

    const res = await createTx(s, token, userId);
    expect(res.status).toBe(201);
    const created = (await res.json()) as Created;
    expect(created['resource-uri']).toBe(`${s.apiBaseUrl}/v3/users/${userId}/exercise-transactions/${created['transaction-id']}`);
    const urls = await listTx(s, token, created);
    expect(urls).toHaveLength(3);
    const pendingIds = s.pendingExercises(userId).map((e) => e.exerciseId);
    expect(urls.map((u) => u.split('/').pop())).toEqual(pendingIds);

    const summary = (await (await api(s, token, 'GET', urls[0]!)).json()) as Record<string, unknown>;
    expect(String(summary['id'])).toBe(pendingIds[0]);
    expect(summary['transaction-id']).toBe(created['transaction-id']);
    expect(summary['start-time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    expect(typeof summary['start-time-utc-offset']).toBe('number');
    expect(summary['duration']).toMatch(/^PT(\d+H)?(\d+M)?(\d+(\.\d+)?S)?$/);
    expect(summary).toHaveProperty('heart-rate.average');
    expect(summary).toHaveProperty('heart-rate.maximum');
    expect(Object.values(summary)).not.toContain(null);

    const commit = await api(s, token, 'PUT', created['resource-uri']);
    expect(commit.status).toBe(200);
    expect(await commit.text()).toBe('');
    expect(s.committedExercises(userId).map((e) => e.exerciseId)).toEqual(pendingIds);
    expect(s.pendingExercises(userId)).toHaveLength(0);

    // Data is gone for good: transaction and items 404, nothing new 204 with an empty body.
    expect((await api(s, token, 'GET', created['resource-uri'])).status).toBe(404);
    expect((await api(s, token, 'GET', urls[0]!)).status).toBe(404);
    expect((await api(s, token, 'PUT', created['resource-uri'])).status).toBe(404);
    const again = await createTx(s, token, userId);
    expect(again.status).toBe(204);
    expect(await again.text()).toBe('');
    expect((await fetch(`${s.apiBaseUrl}/v3/notifications`, { headers: { authorization: basicAuth(s) } })).status).toBe(204);
  });

  it('simulator > transactions > unknown transaction is 404; another user is 403', async () => {
    const s = await start();
    const a = await loginAndRegister(s, 0);
    const b = await loginAndRegister(s, 1);
    expect((await api(s, a.token, 'GET', `/v3/users/${a.userId}/exercise-transactions/123456`)).status).toBe(404);
    expect((await api(s, a.token, 'PUT', `/v3/users/${a.userId}/exercise-transactions/123456`)).status).toBe(404);
    const created = (await (await createTx(s, b.token, b.userId)).json()) as Created;
    expect((await api(s, a.token, 'GET', created['resource-uri'])).status).toBe(403);
    expect((await api(s, a.token, 'GET', `/v3/users/${a.userId}/exercise-transactions/${created['transaction-id']}`)).status).toBe(404);
  });

  it('simulator > transactions > while open, create returns the same transaction; new uploads wait for the next', async () => {
    const s = await start();
    const { token, userId } = await loginAndRegister(s, 0);
    const first = (await (await createTx(s, token, userId)).json()) as Created;
    const later = s.uploadExercises(userId, 2);
    const second = await createTx(s, token, userId);
    expect(second.status).toBe(201);
    expect(((await second.json()) as Created)['transaction-id']).toBe(first['transaction-id']);
    expect(await listTx(s, token, first)).toHaveLength(3);
    await (await api(s, token, 'PUT', first['resource-uri'])).arrayBuffer();
    const next = (await (await createTx(s, token, userId)).json()) as Created;
    expect(next['transaction-id']).not.toBe(first['transaction-id']);
    expect((await listTx(s, token, next)).map((u) => u.split('/').pop())).toEqual(later.map((e) => e.exerciseId));
  });

  it('simulator > transactions > an uncommitted transaction expires and its items are offered again', async () => {
    const s = await start({ transactionTtlMs: 150 });
    const { token, userId } = await loginAndRegister(s, 0);
    const first = (await (await createTx(s, token, userId)).json()) as Created;
    const firstItems = (await listTx(s, token, first)).map((u) => u.split('/').pop());
    await sleep(250);
    expect((await api(s, token, 'GET', first['resource-uri'])).status).toBe(404);
    expect((await api(s, token, 'PUT', first['resource-uri'])).status).toBe(404);
    expect(s.committedExercises(userId)).toHaveLength(0);
    const second = (await (await createTx(s, token, userId)).json()) as Created;
    expect(second['transaction-id']).not.toBe(first['transaction-id']);
    expect((await listTx(s, token, second)).map((u) => u.split('/').pop())).toEqual(firstItems);
  });

  it('simulator > transactions > at most 50 items per transaction', async () => {
    const s = await start({ exercisesPerUser: 0, durationRangeS: [30, 30] });
    const { token, userId } = await loginAndRegister(s, 0);
    s.uploadExercises(userId, 73);
    const first = (await (await createTx(s, token, userId)).json()) as Created;
    expect(await listTx(s, token, first)).toHaveLength(50);
    await (await api(s, token, 'PUT', first['resource-uri'])).arrayBuffer();
    const second = (await (await createTx(s, token, userId)).json()) as Created;
    expect(await listTx(s, token, second)).toHaveLength(23);
    await (await api(s, token, 'PUT', second['resource-uri'])).arrayBuffer();
    expect((await createTx(s, token, userId)).status).toBe(204);
    expect(s.committedExercises(userId)).toHaveLength(73);
  });

  it('simulator > transactions > de-registration hides undelivered data and ends the transaction', async () => {
    const s = await start();
    const { token, userId } = await loginAndRegister(s, 0);
    await (await createTx(s, token, userId)).arrayBuffer();
    expect((await api(s, token, 'DELETE', `/v3/users/${userId}`)).status).toBe(204);
    expect(s.pendingExercises(userId)).toHaveLength(0);
    expect((await fetch(`${s.apiBaseUrl}/v3/notifications`, { headers: { authorization: basicAuth(s) } })).status).toBe(204);
  });
});

describe('simulator > exercise files', () => {
  async function itemUrls(s: Simulator) {
    const { token, userId } = await loginAndRegister(s, 0);
    s.uploadExercises(userId, 7);
    const created = (await (await createTx(s, token, userId)).json()) as Created;
    const urls = await listTx(s, token, created);
    const byId = new Map(s.pendingExercises(userId).map((e) => [e.exerciseId, e]));
    return { token, items: urls.map((url) => ({ url, ex: byId.get(url.split('/').pop()!)! })) };
  }

  it('simulator > exercise files > tcx is gzip for some exercises and plain for others, same document', async () => {
    const s = await start();
    const { token, items } = await itemUrls(s);
    const gz = items.find((i) => i.ex.tcxGzipped && i.ex.hasTcx)!;
    const plain = items.find((i) => !i.ex.tcxGzipped && i.ex.hasTcx)!;
    const gzRes = await api(s, token, 'GET', `${gz.url}/tcx`);
    expect(gzRes.status).toBe(200);
    expect(gzRes.headers.get('content-type')).toBe('application/vnd.garmin.tcx+xml');
    const gzBytes = Buffer.from(await gzRes.arrayBuffer());
    expect([gzBytes[0], gzBytes[1]]).toEqual([0x1f, 0x8b]);
    const gzText = gunzipSync(gzBytes).toString('utf8');
    expect(gzText.startsWith('<?xml')).toBe(true);
    expect(gzText.match(/<Trackpoint>/g)).toHaveLength(gz.ex.trackpoints);
    const plainBytes = Buffer.from(await (await api(s, token, 'GET', `${plain.url}/tcx`)).arrayBuffer());
    expect(plainBytes.subarray(0, 5).toString()).toBe('<?xml');
    expect(plainBytes.toString().match(/<Trackpoint>/g)).toHaveLength(plain.ex.trackpoints);
    // No TCX for this one: 204, empty.
    const none = items.find((i) => !i.ex.hasTcx)!;
    const noneRes = await api(s, token, 'GET', `${none.url}/tcx`);
    expect(noneRes.status).toBe(204);
    expect((await noneRes.arrayBuffer()).byteLength).toBe(0);
  });

  it('simulator > exercise files > gpx for outdoor, 204 for indoor', async () => {
    const s = await start();
    const { token, items } = await itemUrls(s);
    const indoor = items.find((i) => i.ex.indoor)!;
    const outdoor = items.find((i) => !i.ex.indoor)!;
    const none = await api(s, token, 'GET', `${indoor.url}/gpx`);
    expect(none.status).toBe(204);
    expect(await none.text()).toBe('');
    const gpx = await api(s, token, 'GET', `${outdoor.url}/gpx`);
    expect(gpx.status).toBe(200);
    expect(gpx.headers.get('content-type')).toBe('application/gpx+xml');
    expect((await gpx.text()).match(/<trkpt /g)).toHaveLength(outdoor.ex.trackpoints);
    const summary = (await (await api(s, token, 'GET', indoor.url)).json()) as Record<string, unknown>;
    expect(summary['has-route']).toBe(false);
  });

  it('simulator > exercise files > zones and samples agree with the workout', async () => {
    const s = await start();
    const { token, items } = await itemUrls(s);
    const item = items[0]!;
    const zones = (await (await api(s, token, 'GET', `${item.url}/heart-rate-zones`)).json()) as { zone: Record<string, unknown>[] };
    expect(zones.zone.map((z) => z['index'])).toEqual([1, 2, 3, 4, 5]);
    const list = (await (await api(s, token, 'GET', `${item.url}/samples`)).json()) as { samples: string[] };
    expect(list.samples).toContain(`${item.url}/samples/0`);
    const hr = (await (await api(s, token, 'GET', `${item.url}/samples/0`)).json()) as Record<string, unknown>;
    expect(hr['recording-rate']).toBe(1);
    expect(hr['sample-type']).toBe('0');
    const values = String(hr['data']).split(',');
    expect(values).toHaveLength(item.ex.trackpoints);
    for (const v of values) expect(v === 'null' || (Number(v) >= 90 && Number(v) <= 185)).toBe(true);
    expect((await api(s, token, 'GET', `${item.url}/samples/11`)).status).toBe(204);
  });
});

describe('simulator > rate limits and faults', () => {
  it('simulator > rate limits > headers on every response and 429 past the short-term limit', async () => {
    const s = await start({ rateLimit: { shortTermLimit: 3, longTermLimit: 100 } });
    const statuses: number[] = [];
    const usages: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${s.apiBaseUrl}/v3/notifications`, { headers: { authorization: basicAuth(s) } });
      await res.arrayBuffer();
      statuses.push(res.status);
      usages.push(res.headers.get('ratelimit-usage')!);
      expect(res.headers.get('ratelimit-limit')).toBe('3, 100');
      const [shortReset, longReset] = res.headers.get('ratelimit-reset')!.split(',').map((x) => Number(x.trim()));
      expect(shortReset).toBeGreaterThan(0);
      expect(shortReset).toBeLessThanOrEqual(900);
      expect(longReset).toBeGreaterThan(86_000);
    }
    expect(statuses).toEqual([204, 204, 204, 429, 429]);
    // Rejected requests still count toward the long-term window.
    expect(usages).toEqual(['1, 1', '2, 2', '3, 3', '4, 4', '5, 5']);
  });

  it('simulator > rate limits > the short window resets, the long one keeps counting', async () => {
    const s = await start({ rateLimit: { shortTermLimit: 1, longTermLimit: 100, shortTermWindowMs: 100 } });
    const hit = () => fetch(`${s.apiBaseUrl}/v3/notifications`, { headers: { authorization: basicAuth(s) } });
    expect((await hit()).status).toBe(204);
    expect((await hit()).status).toBe(429);
    await sleep(150);
    const res = await hit();
    expect(res.status).toBe(204);
    expect(res.headers.get('ratelimit-usage')).toBe('1, 3');
  });

  it('simulator > rate limits > default limits follow the registered-user formula', async () => {
    const s = await start();
    await loginAndRegister(s, 0);
    const res = await fetch(`${s.apiBaseUrl}/v3/notifications`, { headers: { authorization: basicAuth(s) } });
    expect(res.headers.get('ratelimit-limit')).toBe('520, 5100');
  });

  it('simulator > faults > injected status for the next n matching requests', async () => {
    const s = await start();
    const { token, userId } = await loginAndRegister(s, 0);
    s.injectFault({ method: 'POST', path: /exercise-transactions$/, status: 503, times: 2, headers: { 'Retry-After': '1' }, body: 'busy' });
    const a = await createTx(s, token, userId);
    expect(a.status).toBe(503);
    expect(a.headers.get('retry-after')).toBe('1');
    expect(await a.text()).toBe('busy');
    expect((await createTx(s, token, userId)).status).toBe(503);
    expect((await createTx(s, token, userId)).status).toBe(201);
    expect(s.requestLog.filter((r) => r.path.endsWith('/exercise-transactions')).map((r) => r.status)).toEqual([503, 503, 201]);
  });
});

describe('simulator > exercises endpoint', () => {
  it('simulator > exercises endpoint > snake_case list with hashed ids, still listed after commit', async () => {
    const s = await start();
    const { token, userId } = await loginAndRegister(s, 0);
    const res = await api(s, token, 'GET', '/v3/exercises');
    expect(res.status).toBe(200);
    const list = (await res.json()) as Record<string, unknown>[];
    expect(list).toHaveLength(3);
    for (const item of list) {
      expect(item['id']).toMatch(/^[0-9A-Za-z]{8}$/);
      expect(item).toHaveProperty('start_time_utc_offset');
      expect(item).not.toHaveProperty('start-time');
      expect(item).not.toHaveProperty('transaction_id');
      expect(item).not.toHaveProperty('samples');
    }
    const created = (await (await createTx(s, token, userId)).json()) as Created;
    await (await api(s, token, 'PUT', created['resource-uri'])).arrayBuffer();
    expect(((await (await api(s, token, 'GET', '/v3/exercises')).json()) as unknown[]).length).toBe(3);

    const outdoor = list.find((e) => e['has_route'] === true)!;
    const one = (await (await api(s, token, 'GET', `/v3/exercises/${String(outdoor['id'])}?samples=true&zones=true&route=true`)).json()) as Record<string, unknown>;
    expect(one['id']).toBe(outdoor['id']);
    expect(Array.isArray(one['samples'])).toBe(true);
    expect((one['heart_rate_zones'] as unknown[]).length).toBe(5);
    expect((one['route'] as Record<string, unknown>[])[1]).toMatchObject({ time: 'PT1S' });
    const gpx = await api(s, token, 'GET', `/v3/exercises/${String(outdoor['id'])}/gpx`);
    expect(gpx.status).toBe(200);
    expect((await gpx.text()).startsWith('<?xml')).toBe(true);
    expect((await api(s, token, 'GET', '/v3/exercises/NoSuchId')).status).toBe(404);
  });
});

describe('simulator > fit files', () => {
  it('simulator > fit files > 204 by default, a FIT file with fitFiles on', async () => {
    const off = await start();
    const a = await loginAndRegister(off, 0);
    const createdOff = (await (await createTx(off, a.token, a.userId)).json()) as Created;
    const urlOff = (await listTx(off, a.token, createdOff))[0]!;
    expect(off.pendingExercises(a.userId).every((e) => !e.hasFit)).toBe(true);
    expect((await api(off, a.token, 'GET', `${urlOff}/fit`)).status).toBe(204);
    await off.close();

    const on = await start({ fitFiles: true });
    const b = await loginAndRegister(on, 0);
    const created = (await (await createTx(on, b.token, b.userId)).json()) as Created;
    const url = (await listTx(on, b.token, created))[0]!;
    const fit = await api(on, b.token, 'GET', `${url}/fit`);
    expect(fit.status).toBe(200);
    const bytes = Buffer.from(await fit.arrayBuffer());
    // FIT header: size 14, then ".FIT" at bytes 8-11.
    expect(bytes[0]).toBe(14);
    expect(bytes.subarray(8, 12).toString('latin1')).toBe('.FIT');
  });
});
