/** The webhook events polar-lake acts on, validated from the JSON Polar sends. */
import { PolarLakeError } from '../errors.ts';

export interface WebhookEvent {
  readonly event: string;
  /** Polar user id as a string (int64 in the payload). */
  readonly user_id: string;
  readonly entity_id: string | null;
  readonly date: string | null;
  readonly timestamp: string | null;
  /** SleepWise events name a range of dates instead of one. */
  readonly from?: string | null;
  readonly to?: string | null;
}

export class WebhookPayloadError extends PolarLakeError {
  readonly code = 'PL_WEBHOOK_PAYLOAD_INVALID';
  readonly kind = 'terminal';
}

/** Parses an event body; `null` for PING (which carries no user). */
export function parseWebhookEvent(body: Buffer): WebhookEvent | null {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new WebhookPayloadError('webhook body is not JSON', { cause });
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new WebhookPayloadError('webhook body is not a JSON object');
  const o = json as Record<string, unknown>;
  const event = o['event'];
  if (typeof event !== 'string' || !/^[A-Z_]{1,64}$/.test(event)) throw new WebhookPayloadError('webhook body has no valid "event"');
  if (event === 'PING') return null;
  const user = o['user_id'];
  const userId = typeof user === 'number' && Number.isSafeInteger(user) ? String(user) : typeof user === 'string' && /^\d{1,20}$/.test(user) ? user : null;
  if (!userId) throw new WebhookPayloadError(`webhook event ${event} has no valid "user_id"`);
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return { event, user_id: userId, entity_id: str(o['entity_id']), date: str(o['date']), timestamp: str(o['timestamp']), from: str(o['from']), to: str(o['to']) };
}
