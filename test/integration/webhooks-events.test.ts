/**
 * Every webhook event type end to end on the embedded bus: the simulator signs and delivers
 * it, the receiver checks signature and replay window, the trigger runs the matching fetch
 * for that user, and the data reaches the lake. A replayed (stale) event fetches nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import type { Subscription } from '../../src/bus/bus.ts';
import { openLakeViews } from '../../src/lake/views.ts';
import { pipelineFromObject } from '../../src/pipeline/load.ts';
import { DAILY_KINDS } from '../../src/records/envelope.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../src/webhooks/receiver.ts';
import { createWebhook, loadWebhookSigningKey } from '../../src/webhooks/registration.ts';
import { WEBHOOK_EVENT_TYPES } from '../../src/webhooks/dispatch.ts';
import { publishWebhookEvent, startWebhookTrigger } from '../../src/webhooks/trigger.ts';
import { accessLinkSettings, enrolAll } from '../helpers/simulator-app.ts';

let dir: string;
let sim: Simulator;
let app: App;
let receiver: WebhookReceiver;
let trigger: Subscription;
let clockMs = Date.now();

const count = async (sql: string) => {
  const db = await openLakeViews(join(dir, 'lake'));
  try {
    return Number((await db.conn.runAndReadAll(sql)).getRowObjectsJS()[0]!['n']);
  } finally {
    db.close();
  }
};
/** Delivers one event and waits until its fetch, parse and sink are done; returns the API requests it caused. */
const deliver = async (event: (typeof WEBHOOK_EVENT_TYPES)[number], userId: string, fields: Record<string, unknown> = {}) => {
  const before = sim.requestLog.length;
  sim.sendWebhookEvent(event, userId, fields);
  await sim.flushWebhooks();
  await trigger.drained();
  await app.drain();
  return sim.requestLog.slice(before).map((r) => `${r.method} ${r.path}`);
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'polar-lake-webhook-events-'));
  sim = await startSimulator({ seed: 5, users: 2, exercisesPerUser: 0, dailyDaysAtRegistration: 3 });
  app = await createApp({
    lakeDir: join(dir, 'lake'), stateDir: join(dir, 'state'), logger: silentLogger, accesslink: accessLinkSettings(sim),
    pipeline: pipelineFromObject({ version: 1, name: 'wh', fetch: { daily: DAILY_KINDS.filter((k) => k !== 'activity_samples') }, sink: { idle_flush_secs: 1 } }, 'wh'),
  });
  await app.startConsumers();
  receiver = await startWebhookReceiver({
    signingKey: () => loadWebhookSigningKey(join(dir, 'state')),
    accept: (event) => publishWebhookEvent(app.bus, event),
    logger: silentLogger,
    maxEventAgeMs: 120_000,
    now: () => clockMs,
  });
  trigger = await startWebhookTrigger({ bus: app.bus, group: 'wh-events', logger: silentLogger, run: (_users, events) => app.fetch!.runEvents(events) });
  await createWebhook(sim, join(dir, 'state'), { url: receiver.url, events: [...WEBHOOK_EVENT_TYPES] });
  await enrolAll(app, sim);
});

afterAll(async () => {
  await trigger?.stop();
  await receiver?.close();
  await app?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('webhooks > every event type', () => {
  it('webhooks > each event type fetches its own data for its user, into the lake', async () => {
    clockMs = Date.now();
    const [a, b] = sim.accounts.map((x) => x.polarUserId) as [string, string];
    const day = sim.dailyActivity(a).at(-1)!.date;
    const dayBefore = sim.dailyActivity(a).at(-2)!.date;

    expect(await deliver('ACTIVITY_SUMMARY', a, { date: day })).toEqual(expect.arrayContaining([`GET /v3/users/activities/${dayBefore}`, `GET /v3/users/activities/${day}`]));
    expect(await count(`SELECT count(*) AS n FROM daily_activity WHERE user_id = '${a}'`)).toBe(2);
    expect(await count(`SELECT count(DISTINCT local_date) AS n FROM activity_step_samples WHERE user_id = '${a}'`)).toBe(2);
    expect(await count(`SELECT count(*) AS n FROM daily_activity WHERE user_id = '${b}'`)).toBe(0);

    const night = sim.sleepNights(b).at(-1)!.date; // b's own local date (users live in different zones)
    expect(await deliver('SLEEP', b, { date: night })).toEqual([`GET /v3/users/sleep/${night}`, `GET /v3/users/nightly-recharge/${night}`]);
    expect(await count(`SELECT count(*) AS n FROM sleep WHERE user_id = '${b}'`)).toBe(1);

    expect(await deliver('CONTINUOUS_HEART_RATE', b, { date: day })).toEqual([`GET /v3/users/continuous-heart-rate/${day}`]);
    expect(await deliver('SLEEP_WISE_ALERTNESS', b, { from: day, to: day })).toEqual(['GET /v3/users/sleepwise/alertness/date']);
    expect(await deliver('SLEEP_WISE_CIRCADIAN_BEDTIME', b, { from: day, to: day })).toEqual(['GET /v3/users/sleepwise/circadian-bedtime/date']);

    sim.changePhysicalInfo(a); // delivers PHYSICAL_INFORMATION itself
    await sim.flushWebhooks();
    await trigger.drained();
    await app.drain();
    expect(await count(`SELECT count(*) AS n FROM physical_info WHERE user_id = '${a}'`)).toBe(1);

    expect((await deliver('EXERCISE', a, { entity_id: 'nothing-new' })).filter((r) => r.startsWith('POST'))).toEqual([`POST /v3/users/${a}/exercise-transactions`]);

    // A duplicate delivery is harmless: nothing new stored.
    const rows = await count('SELECT count(*) AS n FROM daily_activity');
    await deliver('ACTIVITY_SUMMARY', a, { date: day });
    expect(await count('SELECT count(*) AS n FROM daily_activity')).toBe(rows);
    expect(sim.webhookDeliveries.filter((d) => d.event !== 'PING').every((d) => d.status === 200)).toBe(true);
  });

  it('webhooks > a signed event sent outside the replay window is dropped without a fetch', async () => {
    const user = sim.accounts[1]!.polarUserId;
    clockMs = Date.now() + 10 * 60_000; // the receiver's clock runs 10 min ahead: every event is stale
    const requests = await deliver('ACTIVITY_SUMMARY', user, { date: sim.dailyActivity(user).at(-1)!.date });
    expect(requests).toEqual([]);
    expect(sim.webhookDeliveries.at(-1)).toMatchObject({ event: 'ACTIVITY_SUMMARY', status: 200 });
    clockMs = Date.now();
  });
});
