/**
 * The partner's one webhook: create (with a PING that must get 200), read, update, delete,
 * activate/deactivate, and event deliveries of every type signed with HMAC-SHA256 over the raw body
 * (`Polar-Webhook-Signature`, lower-case hex). Deliveries are fire-and-forget like Polar's;
 * `flush()` lets tests wait for them.
 *
 * An event the receiver does not answer with 200 is sent again later, on the simulator's
 * clock: after 1, 5, 30 and 120 minutes (Polar documents no schedule; it deactivates a webhook
 * after 7 days of failures). `deliverDue()` sends the retries whose time has come, so a test
 * moves the clock and asks, instead of waiting.
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
/** Waits before each retry of an event the receiver did not take. */
export const WEBHOOK_RETRY_AFTER_MS: readonly number[] = [60_000, 300_000, 1_800_000, 7_200_000];

interface PendingRetry {
  readonly event: string;
  readonly userId: string;
  readonly body: string;
  /** Retries done so far. */
  readonly attempt: number;
  readonly dueMs: number;
}

export function signPayload(body: string, key: string): string {
  return createHmac('sha256', key).update(body, 'utf8').digest('hex');
}

export class WebhookRegistry {
  webhook: Webhook | null = null;
  readonly deliveries: WebhookDelivery[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private retries: PendingRetry[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Events waiting for a retry, for tests. */
  get pendingRetries(): number {
    return this.retries.length;
  }

  /** Sends every retry due by now (the simulator's clock); resolves when they are answered. */
  async deliverDue(): Promise<void> {
    const now = this.now();
    const due = this.retries.filter((r) => r.dueMs <= now);
    this.retries = this.retries.filter((r) => r.dueMs > now);
    for (const retry of due) this.send(retry.event, retry.userId, retry.body, retry.attempt);
    await this.flush();
  }

  /** Polar pings the URL first; anything but 200 means no webhook. */
  async ping(url: string): Promise<boolean> {
    return (await this.post(url, JSON.stringify({ timestamp: new Date(this.now()).toISOString(), event: 'PING' }), 'PING', null)) === 200;
  }

  create(events: string[], url: string): Webhook {
    this.webhook = { id: randomBytes(4).toString('hex'), events, url, active: true, signatureSecretKey: randomBytes(32).toString('hex') };
    return this.webhook;
  }

  /** Sends one event to the active webhook if it subscribes to it; does not wait. */
  notify(event: string, userId: string, payload: Record<string, unknown>): void {
    const hook = this.webhook;
    if (!hook || !hook.active || !hook.events.includes(event)) return;
    const body = JSON.stringify({ event, user_id: Number(userId), ...payload, timestamp: new Date(this.now()).toISOString() });
    this.send(event, userId, body, 0);
  }

  private send(event: string, userId: string, body: string, attempt: number): void {
    const hook = this.webhook;
    if (!hook || !hook.active) return;
    const p = this.post(hook.url, body, event, userId, hook.signatureSecretKey).then((status) => {
      const wait = WEBHOOK_RETRY_AFTER_MS[attempt];
      if (status !== 200 && wait !== undefined) this.retries.push({ event, userId, body, attempt: attempt + 1, dueMs: this.now() + wait });
    });
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
