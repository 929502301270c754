/**
 * The partner's one webhook: create (with a PING that must get 200), read, update, delete,
 * activate/deactivate, and event deliveries of every type signed with HMAC-SHA256 over the raw body
 * (`Polar-Webhook-Signature`, lower-case hex). Deliveries are fire-and-forget like Polar's;
 * `flush()` lets tests wait for them.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const WEBHOOK_EVENTS = [
  'EXERCISE',
  'SLEEP',
  'CONTINUOUS_HEART_RATE',
  'SLEEP_WISE_CIRCADIAN_BEDTIME',
  'SLEEP_WISE_ALERTNESS',
  'ACTIVITY_SUMMARY',
  'PHYSICAL_INFORMATION',
] as const;

export interface Webhook {
  id: string;
  events: string[];
  url: string;
  active: boolean;
  signatureSecretKey: string;
}

export interface WebhookDelivery {
  event: string;
  userId: string | null;
  /** The receiver's status, or null when the request failed (connection refused, timeout). */
  status: number | null;
}

const DELIVERY_TIMEOUT_MS = 5000;

export function signPayload(body: string, key: string): string {
  return createHmac('sha256', key).update(body, 'utf8').digest('hex');
}

export class WebhookRegistry {
  webhook: Webhook | null = null;
  readonly deliveries: WebhookDelivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  /** Polar pings the URL first; anything but 200 means no webhook. */
  async ping(url: string): Promise<boolean> {
    return (await this.post(url, JSON.stringify({ timestamp: new Date().toISOString(), event: 'PING' }), 'PING', null)) === 200;
  }

  create(events: string[], url: string): Webhook {
    this.webhook = { id: randomBytes(4).toString('hex'), events, url, active: true, signatureSecretKey: randomBytes(32).toString('hex') };
    return this.webhook;
  }

  /** Sends one event to the active webhook if it subscribes to it; does not wait. */
  notify(event: string, userId: string, payload: Record<string, unknown>): void {
    const hook = this.webhook;
    if (!hook || !hook.active || !hook.events.includes(event)) return;
    const body = JSON.stringify({ event, user_id: Number(userId), timestamp: new Date().toISOString(), ...payload });
    const p = this.post(hook.url, body, event, userId, hook.signatureSecretKey).then(() => undefined);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async post(url: string, body: string, event: string, userId: string | null, key?: string): Promise<number | null> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Polar-Webhook-Event': event };
    if (key) headers['Polar-Webhook-Signature'] = signPayload(body, key);
    let status: number | null = null;
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
      await res.arrayBuffer();
      status = res.status;
    } catch {
      status = null;
    }
    this.deliveries.push({ event, userId, status });
    return status;
  }
}
