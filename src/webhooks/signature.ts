/**
 * AccessLink webhook signatures: `Polar-Webhook-Signature` is the hex HMAC-SHA256 of the raw
 * request body, keyed with the webhook's `signature_secret_key` (its UTF-8 bytes). Computed
 * over the bytes received, never over re-serialised JSON, and compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function signWebhookBody(body: Buffer | string, key: string): string {
  return createHmac('sha256', key).update(body).digest('hex');
}

export function verifyWebhookSignature(body: Buffer, signatureHeader: string | undefined, key: string): boolean {
  if (!signatureHeader || !/^[0-9a-fA-F]{64}$/.test(signatureHeader.trim())) return false;
  const expected = createHmac('sha256', key).update(body).digest();
  const given = Buffer.from(signatureHeader.trim().toLowerCase(), 'hex');
  // Both are 32 bytes here (checked above), as timingSafeEqual requires.
  return timingSafeEqual(expected, given);
}
