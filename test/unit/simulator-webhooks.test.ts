import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { createVirtualClock } from '../../src/clock.ts';
import { basicAuth, loginAndRegister } from '../helpers/simulator-client.ts';

interface Received { event: string | undefined; signature: string | undefined; body: string }

let sim: Simulator | undefined;
let receiver: Server | undefined;
afterEach(async () => {
  await sim?.close();
  await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
  sim = undefined;
  receiver = undefined;
});

/** A real receiver on 127.0.0.1 that answers `status()` and keeps what it got. */
async function startReceiver(status: () => number): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ event: req.headers['polar-webhook-event'] as string | undefined, signature: req.headers['polar-webhook-signature'] as string | undefined, body: Buffer.concat(chunks).toString() });
      res.writeHead(status()).end();
    });
  });
  await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, received };
}

const hooks = (s: Simulator, method: string, path = '', body?: unknown) =>
  fetch(`${s.apiBaseUrl}/v3/webhooks${path}`, {
    method,
    headers: { authorization: basicAuth(s), 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });

describe('simulator > webhooks', () => {
  it('simulator > webhooks > create pings first, returns the key once, 409 on a second, signed EXERCISE deliveries', async () => {
    let answer = 200;
    const { url, received } = await startReceiver(() => answer);
    sim = await startSimulator({ seed: 3, durationRangeS: [60, 60] });
    const created = await hooks(sim, 'POST', '', { events: ['EXERCISE'], url });
    expect(created.status).toBe(201);
    const data = ((await created.json()) as { data: Record<string, unknown> }).data;
    expect(data).toMatchObject({ events: ['EXERCISE'], url });
    const key = String(data['signature_secret_key']);
    expect(key.length).toBeGreaterThanOrEqual(32);
    expect(received[0]).toMatchObject({ event: 'PING', signature: undefined });
    expect((await hooks(sim, 'POST', '', { events: ['EXERCISE'], url })).status).toBe(409);
    const listed = (await (await hooks(sim, 'GET')).json()) as { data: Record<string, unknown>[] };
    expect(listed.data).toEqual([{ id: data['id'], events: ['EXERCISE'], url, active: true }]);
    expect(JSON.stringify(listed)).not.toContain(key);

    const { userId } = await loginAndRegister(sim, 0);
    await sim.flushWebhooks();
    const events = received.filter((r) => r.event === 'EXERCISE');
    expect(events).toHaveLength(3);
    for (const e of events) {
      expect(e.signature).toBe(createHmac('sha256', key).update(e.body).digest('hex'));
      const payload = JSON.parse(e.body) as Record<string, unknown>;
      expect(String(payload['user_id'])).toBe(userId);
      expect(payload['entity_id']).toMatch(/^[0-9A-Za-z]{8}$/);
      expect(payload['url']).toBe(`${sim.apiBaseUrl}/v3/exercises/${String(payload['entity_id'])}`);
    }

    // Deactivated: no deliveries. Activation needs a 200 PING.
    expect((await hooks(sim, 'POST', '/deactivate')).status).toBe(200);
    sim.uploadExercises(userId, 1);
    await sim.flushWebhooks();
    expect(received.filter((r) => r.event === 'EXERCISE')).toHaveLength(3);
    answer = 500;
    expect((await hooks(sim, 'POST', '/activate')).status).toBe(400);
    answer = 200;
    expect((await hooks(sim, 'POST', '/activate')).status).toBe(200);
    sim.uploadExercises(userId, 1);
    await sim.flushWebhooks();
    expect(received.filter((r) => r.event === 'EXERCISE')).toHaveLength(4);

    expect((await hooks(sim, 'DELETE', `/${String(data['id'])}`)).status).toBe(204);
    expect((await hooks(sim, 'DELETE', `/${String(data['id'])}`)).status).toBe(404);
    expect((await hooks(sim, 'POST', '/activate')).status).toBe(204);
  });

  it('simulator > webhooks > a failed PING creates nothing; bad bodies and credentials are rejected', async () => {
    const { url } = await startReceiver(() => 503);
    sim = await startSimulator({ seed: 3 });
    expect((await hooks(sim, 'POST', '', { events: ['EXERCISE'], url })).status).toBe(400);
    expect(((await (await hooks(sim, 'GET')).json()) as { data: unknown[] }).data).toEqual([]);
    expect((await hooks(sim, 'POST', '', { events: ['NOPE'], url })).status).toBe(400);
    expect((await hooks(sim, 'POST', '', { events: ['EXERCISE'] })).status).toBe(400);
    expect((await fetch(`${sim.apiBaseUrl}/v3/webhooks`)).status).toBe(401);
    expect(sim.webhookDeliveries.map((d) => [d.event, d.status])).toEqual([['PING', 503]]);
  });
});

describe('simulator > webhooks > retries on the simulator clock', () => {
  it('an event the receiver refuses is sent again after 1 minute of simulated time, not before, and not after a 200', async () => {
    let answer = 200;
    const { url, received } = await startReceiver(() => answer);
    const clock = createVirtualClock();
    sim = await startSimulator({ seed: 3, durationRangeS: [60, 60], exercisesPerUser: 1, clock });
    expect((await hooks(sim, 'POST', '', { events: ['EXERCISE'], url })).status).toBe(201);
    answer = 503;
    await loginAndRegister(sim, 0);
    await sim.flushWebhooks();
    const exercise = () => received.filter((r) => r.event === 'EXERCISE');
    expect(exercise()).toHaveLength(1);

    clock.advance(59_000);
    await sim.deliverDueWebhooks();
    expect(exercise()).toHaveLength(1);
    clock.advance(1_000);
    answer = 200;
    await sim.deliverDueWebhooks();
    expect(exercise()).toHaveLength(2);
    expect(exercise()[1]!.body).toBe(exercise()[0]!.body); // the same event, signed the same
    clock.advance(86_400_000);
    await sim.deliverDueWebhooks();
    expect(exercise()).toHaveLength(2);
  });
});
