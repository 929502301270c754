/**
 * The webhook receiver: a small HTTP endpoint for AccessLink's POSTs.
 *
 * Polar expects a fast 200 and deactivates a webhook after 7 days of failures, so the
 * receiver only verifies, validates and hands the event to `accept` (which publishes it to
 * the bus, durably) before answering; the fetch work happens behind the bus. A 200 is sent
 * only after `accept` resolved, so an event is never acknowledged and then lost; if `accept`
 * fails the answer is 503 and Polar delivers again. PING comes before the signing key exists
 * (it is in the create response), so PING alone is accepted unsigned and does nothing.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { Logger } from '../telemetry/log.ts';
import { parseWebhookEvent, WebhookPayloadError, type WebhookEvent } from './events.ts';
import { verifyWebhookSignature } from './signature.ts';
import { listen } from '../net/listen.ts';

const MAX_BODY_BYTES = 64 * 1024;

export interface WebhookReceiverOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default '/polar/webhook' */
  readonly path?: string;
  /** The signing key, or null while no webhook exists yet (then only PING is accepted). */
  readonly signingKey: () => Promise<string | null>;
  readonly accept: (event: WebhookEvent) => Promise<void>;
  readonly logger: Logger;
  /**
   * A signed event whose `timestamp` (Polar's send time) is further than this from now, or
   * missing, is a replay: answered 200 and dropped without a fetch (polling is the safety
   * net for a real event delayed that long). @default 600000 (10 minutes)
   */
  readonly maxEventAgeMs?: number;
  /** @default () => Date.now() */
  readonly now?: () => number;
}

export interface WebhookReceiver {
  readonly url: string;
  close(): Promise<void>;
}

class BodyTooLargeError extends Error {}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startWebhookReceiver(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
  const path = options.path ?? '/polar/webhook';
  const log = options.logger.child({ component: 'webhooks' });
  const maxEventAgeMs = options.maxEventAgeMs ?? 600_000;
  const now = options.now ?? (() => Date.now());

  async function handle(req: IncomingMessage): Promise<number> {
    if (new URL(req.url ?? '/', 'http://x').pathname !== path) return 404;
    if (req.method !== 'POST') return 405;
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return 413;
      throw error;
    }
    const headerEvent = req.headers['polar-webhook-event'];
    const key = await options.signingKey();
    const signed = key !== null && verifyWebhookSignature(body, req.headers['polar-webhook-signature'] as string | undefined, key);
    let event: WebhookEvent | null;
    try {
      event = parseWebhookEvent(body);
    } catch (error) {
      if (!(error instanceof WebhookPayloadError)) throw error;
      log.warn('webhooks.payload.rejected', { code: error.code, error: error.message, header_event: headerEvent, signed });
      return signed ? 400 : 401;
    }
    if (event === null) return 200; // PING
    if (!signed) {
      log.warn('webhooks.signature.rejected', { webhook_event: event.event, has_key: key !== null });
      return 401;
    }
    const sentAt = event.timestamp === null ? NaN : Date.parse(event.timestamp);
    if (!Number.isFinite(sentAt) || Math.abs(now() - sentAt) > maxEventAgeMs) {
      log.warn('webhooks.event.stale_dropped', { event: event.event, user_id: event.user_id, timestamp: event.timestamp, max_age_ms: maxEventAgeMs });
      return 200;
    }
    try {
      await options.accept(event);
    } catch (error) {
      log.error('webhooks.event.not_accepted', { webhook_event: event.event, user_id: event.user_id, error });
      return 503;
    }
    log.debug('webhooks.event.accepted', { webhook_event: event.event, user_id: event.user_id });
    return 200;
  }

  const server = createServer((req, res) => {
    handle(req)
      .catch((error: unknown) => {
        log.error('webhooks.receiver.failed', { error });
        return 500;
      })
      .then((status) => {
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : String(status));
      });
  });
  const address = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1', 'the webhook receiver');
  return {
    url: `http://${address.address}:${address.port}${path}`,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
