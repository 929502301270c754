/**
 * The partner's one webhook at AccessLink: create it (Polar PINGs the URL first and shows the
 * signing key once, in the create response), read it, re-activate it. The key is sealed
 * (AES-256-GCM, the same key as user tokens) into `<stateDir>/webhook.json` before anything
 * else happens, and never printed or logged.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { corrIdFromBody, errorForStatus, networkErrorFrom } from '../accesslink/errors.ts';
import { ConfigError, PolarLakeError } from '../errors.ts';
import { writeFileDurable } from '../fs/durable.ts';
import { createSecretBox, loadSecretKey, type SealedSecret } from '../state/secret-box.ts';

export interface PartnerCredentials {
  readonly apiBaseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface WebhookInfo {
  readonly id: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly active?: boolean;
}

interface StoredWebhook extends WebhookInfo {
  readonly signing_key: SealedSecret;
}

export class WebhookExistsError extends PolarLakeError {
  readonly code = 'PL_WEBHOOK_EXISTS';
  readonly kind = 'config';
}

const FILE = 'webhook.json';
const KEY_CONTEXT = 'webhook-signing-key';

async function call(creds: PartnerCredentials, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const url = new URL(path, creds.apiBaseUrl);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${creds.clientId}:${creds.clientSecret}`).toString('base64')}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    text = await response.text();
  } catch (error) {
    // AccessLink unreachable (refused, DNS, reset): a typed, transient error naming the call.
    throw networkErrorFrom(error, { method, path: url.pathname }) ?? error;
  }
  if (response.status === 409) throw new WebhookExistsError('a webhook already exists for this client: delete it first (a client has one webhook, and its signing key is shown only at creation)');
  if (response.status >= 400) throw errorForStatus({ method, path: url.pathname, status: response.status, corrId: corrIdFromBody(text) });
  return { status: response.status, json: text ? (JSON.parse(text) as unknown) : null };
}

export async function createWebhook(
  creds: PartnerCredentials,
  stateDir: string,
  request: { url: string; events: readonly string[] },
): Promise<WebhookInfo> {
  const { json } = await call(creds, 'POST', '/v3/webhooks', { url: request.url, events: request.events });
  const data = (json as { data?: Record<string, unknown> } | null)?.data ?? {};
  const key = data['signature_secret_key'];
  if (typeof key !== 'string' || key === '' || typeof data['id'] !== 'string') {
    throw new ConfigError('the create-webhook response had no id or signature_secret_key', 'POST /v3/webhooks');
  }
  const box = createSecretBox(await loadSecretKey(stateDir));
  const info: WebhookInfo = { id: data['id'], url: request.url, events: [...request.events] };
  const stored: StoredWebhook = { ...info, signing_key: box.seal(key, KEY_CONTEXT) };
  await writeFileDurable(join(stateDir, FILE), JSON.stringify(stored, null, 2), { mode: 0o600 });
  return info;
}

export async function listWebhooks(creds: PartnerCredentials): Promise<WebhookInfo[]> {
  const { json } = await call(creds, 'GET', '/v3/webhooks');
  return ((json as { data?: WebhookInfo[] } | null)?.data ?? []).map((w) => ({ id: w.id, url: w.url, events: w.events, active: w.active ?? true }));
}

/** Polar deactivates a webhook after 7 days of failed deliveries; this turns it back on. */
export async function activateWebhook(creds: PartnerCredentials): Promise<boolean> {
  return (await call(creds, 'POST', '/v3/webhooks/activate')).status === 200;
}

/** The stored signing key, or null when this state has no webhook. */
export async function loadWebhookSigningKey(stateDir: string): Promise<string | null> {
  let stored: StoredWebhook;
  try {
    stored = JSON.parse(await readFile(join(stateDir, FILE), 'utf8')) as StoredWebhook;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`cannot read ${FILE}: ${(error as Error).message}`, stateDir, { cause: error });
  }
  return createSecretBox(await loadSecretKey(stateDir)).open(stored.signing_key, KEY_CONTEXT);
}
