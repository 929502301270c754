import type { WebhookEvent } from './events.ts';

export function encodeWebhookEvent(event: WebhookEvent): Buffer {
  return Buffer.from(JSON.stringify({ type: 'webhook', ...event }));
}

/** Null for a message that is not a webhook event (skipped, never retried forever). */
export function decodeWebhookEvent(value: Buffer): WebhookEvent | null {
  try {
    const o = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
    return o['type'] === 'webhook' && typeof o['user_id'] === 'string' ? (o as unknown as WebhookEvent) : null;
  } catch {
    return null;
  }
}
