import { afterEach, describe, expect, it } from 'vitest';
import { parseWebhookEvent, WebhookPayloadError, type WebhookEvent } from '../../src/webhooks/events.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../src/webhooks/receiver.ts';
import { signWebhookBody, verifyWebhookSignature } from '../../src/webhooks/signature.ts';
import { silentLogger } from '../../src/telemetry/log.ts';

const KEY = 'a-signing-key';
const event = (o: Record<string, unknown>) => Buffer.from(JSON.stringify(o));
const exercise = event({ event: 'EXERCISE', user_id: 475, entity_id: 'aQlC83', timestamp: '2018-05-15T14:22:24Z', url: 'https://x/v3/exercises/aQlC83' });

describe('webhooks > signature', () => {
  it('accepts the HMAC-SHA256 of the raw body, in either hex case', () => {
    const sig = signWebhookBody(exercise, KEY);
    expect(verifyWebhookSignature(exercise, sig, KEY)).toBe(true);
    expect(verifyWebhookSignature(exercise, sig.toUpperCase(), KEY)).toBe(true);
  });

  it('refuses another key, a changed body, a re-serialised body, a short or missing signature', () => {
    const sig = signWebhookBody(exercise, KEY);
    expect(verifyWebhookSignature(exercise, sig, 'other')).toBe(false);
    expect(verifyWebhookSignature(Buffer.concat([exercise, Buffer.from(' ')]), sig, KEY)).toBe(false);
    expect(verifyWebhookSignature(Buffer.from(JSON.stringify(JSON.parse(exercise.toString()), null, 1)), sig, KEY)).toBe(false);
    expect(verifyWebhookSignature(exercise, sig.slice(0, 63), KEY)).toBe(false);
    expect(verifyWebhookSignature(exercise, undefined, KEY)).toBe(false);
  });
});

describe('webhooks > events', () => {
  it('reads an EXERCISE event with an int64 user id as a string; PING is null', () => {
    expect(parseWebhookEvent(exercise)).toMatchObject({ event: 'EXERCISE', user_id: '475', entity_id: 'aQlC83' });
    expect(parseWebhookEvent(event({ event: 'PING', timestamp: 'x' }))).toBeNull();
  });

  it.each([
    ['not JSON', Buffer.from('{'), /not JSON/],
    ['no event', event({ user_id: 1 }), /no valid "event"/],
    ['no user', event({ event: 'SLEEP' }), /no valid "user_id"/],
    ['unsafe number', event({ event: 'SLEEP', user_id: 2 ** 60 }), /no valid "user_id"/],
  ])('refuses %s', (_name, body, message) => {
    expect(() => parseWebhookEvent(body)).toThrow(WebhookPayloadError);
    expect(() => parseWebhookEvent(body)).toThrow(message);
  });
});

describe('webhooks > receiver', () => {
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => receiver?.close());

  // The receiver's clock, driven by the tests: the fixture event was sent at this instant.
  let nowMs = Date.parse('2018-05-15T14:22:30Z');
  async function start(options: { key?: string | null; accept?: (e: WebhookEvent) => Promise<void> } = {}) {
    const accepted: WebhookEvent[] = [];
    nowMs = Date.parse('2018-05-15T14:22:30Z');
    receiver = await startWebhookReceiver({
      signingKey: async () => (options.key === undefined ? KEY : options.key),
      accept: options.accept ?? (async (e) => void accepted.push(e)),
      logger: silentLogger,
      maxEventAgeMs: 300_000,
      now: () => nowMs,
    });
    return accepted;
  }
  const post = (body: Buffer, headers: Record<string, string> = {}, url = receiver!.url) =>
    fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } }).then((r) => r.status);

  it('answers PING without a signature (it comes before the key exists) and accepts nothing', async () => {
    const accepted = await start({ key: null });
    expect(await post(event({ event: 'PING', timestamp: 'x' }))).toBe(200);
    expect(accepted).toEqual([]);
  });

  it('accepts a signed event, then answers 200', async () => {
    const accepted = await start();
    expect(await post(exercise, { 'polar-webhook-signature': signWebhookBody(exercise, KEY), 'polar-webhook-event': 'EXERCISE' })).toBe(200);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.user_id).toBe('475');
  });

  it('refuses a bad signature (401) and events before a key exists (401), accepting nothing', async () => {
    const accepted = await start();
    expect(await post(exercise, { 'polar-webhook-signature': signWebhookBody(exercise, 'wrong') })).toBe(401);
    expect(await post(exercise)).toBe(401);
    await receiver!.close();
    receiver = undefined;
    const none = await start({ key: null });
    expect(await post(exercise, { 'polar-webhook-signature': signWebhookBody(exercise, KEY) })).toBe(401);
    expect([...accepted, ...none]).toEqual([]);
  });

  it('answers 503 when the event cannot be stored, so Polar delivers it again', async () => {
    await start({ accept: async () => Promise.reject(new Error('bus down')) });
    expect(await post(exercise, { 'polar-webhook-signature': signWebhookBody(exercise, KEY) })).toBe(503);
  });

  it('refuses oversized bodies, malformed signed bodies, other paths and methods', async () => {
    await start();
    const big = Buffer.alloc(70 * 1024, 32);
    expect(await post(big, { 'polar-webhook-signature': signWebhookBody(big, KEY) })).toBe(413);
    const bad = Buffer.from('{"event":');
    expect(await post(bad, { 'polar-webhook-signature': signWebhookBody(bad, KEY) })).toBe(400);
    expect(await post(exercise, {}, receiver!.url.replace('/polar/webhook', '/other'))).toBe(404);
    expect((await fetch(receiver!.url)).status).toBe(405);
  });

  it('drops a signed event sent outside the window (a replay) with 200 and without accepting it; inside the window it is accepted', async () => {
    const accepted = await start();
    const sig = signWebhookBody(exercise, KEY);
    nowMs = Date.parse('2018-05-15T14:27:25Z'); // 5 min 1 s after the send time
    expect(await post(exercise, { 'polar-webhook-signature': sig })).toBe(200);
    expect(accepted).toHaveLength(0);
    nowMs = Date.parse('2018-05-15T14:17:23Z'); // from the future, beyond the window
    expect(await post(exercise, { 'polar-webhook-signature': sig })).toBe(200);
    expect(accepted).toHaveLength(0);
    nowMs = Date.parse('2018-05-15T14:27:23Z'); // 4 min 59 s: inside
    expect(await post(exercise, { 'polar-webhook-signature': sig })).toBe(200);
    expect(accepted).toHaveLength(1);
    const undated = event({ event: 'SLEEP', user_id: 475, date: '2018-05-15' });
    expect(await post(undated, { 'polar-webhook-signature': signWebhookBody(undated, KEY) })).toBe(200);
    expect(accepted).toHaveLength(1);
  });
});
