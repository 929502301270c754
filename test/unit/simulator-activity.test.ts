/** The simulator's activity samples, physical information and legacy activity / physical-information transactions. */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { api, basicAuth, loginAndRegister } from '../helpers/simulator-client.ts';

const sims: Simulator[] = [];
afterEach(async () => {
  for (const s of sims.splice(0)) await s.close();
});
async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  const s = await startSimulator({ seed: 4, users: 1, exercisesPerUser: 0, dailyDaysAtRegistration: 3, ...options });
  sims.push(s);
  return s;
}
const notifications = async (s: Simulator) => {
  const res = await fetch(`${s.apiBaseUrl}/v3/notifications`, { headers: { authorization: basicAuth(s) } });
  return res.status === 204 ? [] : ((await res.json()) as { 'available-user-data': { 'data-type': string }[] })['available-user-data'].map((n) => n['data-type']);
};

describe('simulator > activity', () => {
  it('samples: filtered step counts that forward-fill to the day total, zone change points, inactivity stamps; /activities/samples and by date', async () => {
    const s = await start();
    const { token, userId } = await loginAndRegister(s, 0);
    const day = s.dailyActivity(userId)[0]!;
    const samples = day.json['samples'] as { steps: { interval_ms: number; total_steps: number; samples: { steps: number; timestamp: string }[] }; activity_zones: { samples: { zone: string }[] }; inactivity_stamps: unknown[] };
    expect(samples.steps.interval_ms).toBe(60_000);
    expect(samples.steps.total_steps).toBe(day.json['steps']);
    const minutes = samples.steps.samples.map((x) => (Date.parse(`${x.timestamp}:00Z`) - Date.parse(`${day.date}T00:00:00Z`)) / 60_000);
    const filled = samples.steps.samples.reduce((sum, x, i) => sum + x.steps * ((minutes[i + 1] ?? 1440) - minutes[i]!), 0);
    expect(filled).toBe(day.json['steps']);
    expect(samples.steps.samples.every((x, i, a) => i === 0 || x.steps !== a[i - 1]!.steps)).toBe(true);
    expect(new Set(samples.activity_zones.samples.map((z) => z.zone)).size).toBeGreaterThanOrEqual(3);
    expect(samples.activity_zones.samples[0]!.zone).toBe('SLEEP');

    const list = (await (await api(s, token, 'GET', '/v3/users/activities/samples')).json()) as Record<string, unknown>[];
    expect(list).toHaveLength(3);
    expect(list[0]).toEqual(samples);
    const stepsOnly = (await (await api(s, token, 'GET', `/v3/users/activities/samples/${day.date}?steps=true`)).json()) as Record<string, unknown>;
    expect(Object.keys(stepsOnly).sort()).toEqual(['date', 'steps']);
    expect((await api(s, token, 'GET', '/v3/users/activities/samples/2001-01-01')).status).toBe(400);
    expect((await api(s, token, 'GET', `/v3/users/activities/samples/${day.date.slice(0, 8)}01`)).status).toBeOneOf([200, 204]);
  });

  it('physical-info: the latest snapshot in snake_case; a change adds a snapshot', async () => {
    const s = await start();
    const { token, userId } = await loginAndRegister(s, 0);
    const first = (await (await api(s, token, 'GET', '/v3/users/physical-info')).json()) as Record<string, unknown>;
    expect(Object.keys(first).sort()).toEqual(['aerobic_threshold', 'anaerobic_threshold', 'birthday', 'created', 'gender', 'height', 'maximum_heart_rate', 'modified', 'resting_heart_rate', 'sleep_goal', 'training_background', 'typical_day', 'vo2_max', 'weight', 'weight_source'].sort());
    s.changePhysicalInfo(userId);
    const second = (await (await api(s, token, 'GET', '/v3/users/physical-info')).json()) as Record<string, unknown>;
    expect(second['modified']).not.toBe(first['modified']);
    expect(second['created']).toBe(first['created']);
    expect(s.physicalInfo(userId)).toEqual([first, second]);
  });

  it('legacy transactions: off by default (204, nothing announced); on: create, list, items, commit, then 204 and no notification', async () => {
    const off = await start();
    const a = await loginAndRegister(off, 0);
    expect((await api(off, a.token, 'POST', `/v3/users/${a.userId}/activity-transactions`)).status).toBe(204);
    expect(await notifications(off)).toEqual([]);

    const s = await start({ legacyDaily: true });
    const { token, userId } = await loginAndRegister(s, 0);
    expect((await notifications(s)).sort()).toEqual(['ACTIVITY_SUMMARY', 'PHYSICAL_INFORMATION']);
    const created = await api(s, token, 'POST', `/v3/users/${userId}/activity-transactions`);
    expect(created.status).toBe(201);
    const tx = (await created.json()) as { 'transaction-id': number; 'resource-uri': string };
    const again = (await (await api(s, token, 'POST', `/v3/users/${userId}/activity-transactions`)).json()) as { 'transaction-id': number };
    expect(again['transaction-id']).toBe(tx['transaction-id']); // re-offered while open
    const log = (await (await api(s, token, 'GET', tx['resource-uri'])).json()) as { 'activity-log': string[] };
    expect(log['activity-log']).toHaveLength(3);
    const item = (await (await api(s, token, 'GET', log['activity-log'][0]!)).json()) as Record<string, unknown>;
    expect(Object.keys(item).sort()).toEqual(['active-calories', 'active-steps', 'calories', 'created', 'date', 'duration', 'id', 'polar-user', 'transaction-id']);
    const steps = (await (await api(s, token, 'GET', `${log['activity-log'][0]!}/step-samples`)).json()) as { interval: number; samples: { steps: number | null; time: string }[] };
    expect(steps.interval).toBe(60);
    expect(steps.samples[0]!.time).toBe('00:00:00.000');
    const zones = (await (await api(s, token, 'GET', `${log['activity-log'][0]!}/zone-samples`)).json()) as { samples: { 'activity-zones': { index: number; inzone: string }[] }[] };
    expect(zones.samples[0]!['activity-zones'][0]).toEqual({ index: 0, inzone: 'PT1H' });
    expect((await api(s, token, 'PUT', tx['resource-uri'])).status).toBe(200);
    expect((await api(s, token, 'GET', tx['resource-uri'])).status).toBe(404);
    expect((await api(s, token, 'POST', `/v3/users/${userId}/activity-transactions`)).status).toBe(204);

    const ptx = (await (await api(s, token, 'POST', `/v3/users/${userId}/physical-information-transactions`)).json()) as { 'resource-uri': string };
    const plist = (await (await api(s, token, 'GET', ptx['resource-uri'])).json()) as { 'physical-informations': string[] };
    const pitem = (await (await api(s, token, 'GET', plist['physical-informations'][0]!)).json()) as Record<string, unknown>;
    expect(pitem).toMatchObject({ 'weight-source': 'SOURCE_USER', created: s.physicalInfo(userId)[0]!['modified'] });
    expect((await api(s, token, 'PUT', ptx['resource-uri'])).status).toBe(200);
    expect(await notifications(s)).toEqual([]);
    expect((await api(s, token, 'GET', `/v3/users/${userId}/physical-information-transactions/1/physical-informations/1`)).status).toBe(404);
  });

  it('webhooks: every event type is delivered signed with its documented shape', async () => {
    const s = await start();
    const { userId } = await loginAndRegister(s, 0);
    const bodies: Record<string, unknown>[] = [];
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        bodies.push({ ...JSON.parse(body), signed: typeof req.headers['polar-webhook-signature'] === 'string' });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    await fetch(`${s.apiBaseUrl}/v3/webhooks`, { method: 'POST', headers: { authorization: basicAuth(s), 'content-type': 'application/json' }, body: JSON.stringify({ url, events: ['EXERCISE', 'SLEEP', 'CONTINUOUS_HEART_RATE', 'SLEEP_WISE_CIRCADIAN_BEDTIME', 'SLEEP_WISE_ALERTNESS', 'ACTIVITY_SUMMARY', 'PHYSICAL_INFORMATION'] }) });
    for (const e of ['EXERCISE', 'SLEEP', 'CONTINUOUS_HEART_RATE', 'SLEEP_WISE_CIRCADIAN_BEDTIME', 'SLEEP_WISE_ALERTNESS', 'ACTIVITY_SUMMARY', 'PHYSICAL_INFORMATION'] as const) {
      s.sendWebhookEvent(e, userId, { date: '2026-01-02', from: '2026-01-01', to: '2026-01-02', entity_id: 'aQlC83' });
    }
    await s.flushWebhooks();
    server.close();
    const byEvent: Record<string, Record<string, unknown>> = Object.fromEntries(bodies.filter((b) => b['event'] !== 'PING').map((b) => [String(b['event']), b]));
    expect(Object.keys(byEvent)).toHaveLength(7);
    expect(Object.values(byEvent).every((b) => b['signed'] === true && b['user_id'] === Number(userId) && typeof b['timestamp'] === 'string')).toBe(true);
    expect(byEvent['ACTIVITY_SUMMARY']).toMatchObject({ date: '2026-01-02', url: `${s.apiBaseUrl}/v3/users/activities/2026-01-02` });
    expect(byEvent['SLEEP_WISE_ALERTNESS']).toMatchObject({ from: '2026-01-01', to: '2026-01-02' });
    expect(byEvent['EXERCISE']).toMatchObject({ entity_id: 'aQlC83' });
    expect(byEvent['PHYSICAL_INFORMATION']!['url']).toBe(`${s.apiBaseUrl}/v3/users/physical-info`);
  });
});
