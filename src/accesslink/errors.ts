/**
 * AccessLink errors. Every HTTP status resolves to an error class through the one table
 * `STATUS_TABLE` below (Airbyte's status → action mapping as data), so the reaction to a
 * status lives in one place and one table test covers it.
 *
 * Errors carry the method, the path (ids only: tokens travel in headers and never reach
 * these fields), the status and Polar's `corrId` when the error body has one.
 */
import { PolarLakeError, type ErrorKind } from '../errors.ts';

export interface RequestContext {
  readonly method: string;
  /** Path and query of the request URL. Never a token: those travel in headers only. */
  readonly path: string;
}

export interface ResponseContext extends RequestContext {
  readonly status: number;
  /** Polar's correlation id from the error body, for Polar support. */
  readonly corrId?: string | undefined;
  /** Milliseconds until the rate-limit window resets (429 only). */
  readonly retryAfterMs?: number | undefined;
}

/** Base of every error raised by an HTTP exchange with AccessLink. */
export abstract class AccessLinkError extends PolarLakeError {
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;
  readonly corrId: string | undefined;

  constructor(message: string, context: RequestContext & { status?: number | undefined; corrId?: string | undefined }, options?: { cause?: unknown }) {
    const where = `${context.method} ${context.path}`;
    const status = context.status === undefined ? '' : ` -> ${context.status}`;
    const corr = context.corrId ? ` (corrId ${context.corrId})` : '';
    super(`${where}${status}: ${message}${corr}`, options);
    this.method = context.method;
    this.path = context.path;
    this.status = context.status;
    this.corrId = context.corrId;
  }
}

/** 401: the user's token is bad, expired or revoked (or the client credentials are wrong). */
export class AccessLinkUnauthorizedError extends AccessLinkError {
  readonly code = 'PL_ACCESSLINK_UNAUTHORIZED';
  readonly kind = 'config';
  constructor(context: ResponseContext) {
    super('unauthorized: the user must authorize again (or the client credentials are wrong)', context);
  }
}

/** 403: the user has not accepted the mandatory consents at account.polar.com. */
export class AccessLinkConsentRequiredError extends AccessLinkError {
  readonly code = 'PL_ACCESSLINK_CONSENT_REQUIRED';
  readonly kind = 'config';
  constructor(context: ResponseContext) {
    super('forbidden: the user has not accepted the mandatory consents', context);
  }
}

/** 404: the item (transaction, exercise, file) does not exist; retrying will not help. */
export class AccessLinkNotFoundError extends AccessLinkError {
  readonly code = 'PL_ACCESSLINK_NOT_FOUND';
  readonly kind = 'terminal';
  constructor(context: ResponseContext) {
    super('not found', context);
  }
}

/**
 * 409: already registered (or duplicate member-id; a webhook already exists).
 * `registerUser` treats it as success; elsewhere it is terminal.
 */
export class AccessLinkConflictError extends AccessLinkError {
  readonly code = 'PL_ACCESSLINK_CONFLICT';
  readonly kind = 'terminal';
  constructor(context: ResponseContext) {
    super('conflict: already exists', context);
  }
}

/** 429: the short- or long-term rate limit is spent; wait `retryAfterMs` (from `RateLimit-Reset`). */
export class AccessLinkRateLimitedError extends AccessLinkError {
  readonly code = 'PL_ACCESSLINK_RATE_LIMITED';
  readonly kind = 'transient';
  readonly retryAfterMs: number;
  constructor(context: ResponseContext) {
    super(`rate limited: retry in ${context.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS} ms`, context);
    this.retryAfterMs = context.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS;
  }
}

/** 5xx: Polar's side failed; retry with back-off. */
export class AccessLinkServerError extends AccessLinkError {
  readonly code = 'PL_ACCESSLINK_SERVER_ERROR';
  readonly kind = 'transient';
  constructor(context: ResponseContext) {
    super('server error', context);
  }
}

/** 400 and any status the table does not know: this request will not succeed as sent. */
export class AccessLinkUnexpectedStatusError extends AccessLinkError {
  readonly code = 'PL_ACCESSLINK_UNEXPECTED_STATUS';
  readonly kind = 'terminal';
  constructor(context: ResponseContext) {
    super('unexpected status', context);
  }
}

/** No HTTP response at all: connection reset or refused, DNS, timeout. */
export class AccessLinkNetworkError extends AccessLinkError {
  readonly code = 'PL_ACCESSLINK_NETWORK';
  readonly kind = 'transient';
  readonly networkCode: string | undefined;
  constructor(context: RequestContext, networkCode: string | undefined, options?: { cause?: unknown }) {
    super(`network failure${networkCode ? ` (${networkCode})` : ''}`, context, options);
    this.networkCode = networkCode;
  }
}

/**
 * A 2xx body that ended before it was whole: shorter than its Content-Length, a TCX/GPX that
 * stops before the root's closing tag, a FIT whose size or CRC does not check out, JSON that
 * ends mid-value. Transient: the request is made again, and nothing of it is stored.
 */
export class AccessLinkIncompleteBodyError extends AccessLinkError {
  readonly code = 'PL_ACCESSLINK_INCOMPLETE_BODY';
  readonly kind = 'transient';
  readonly receivedBytes: number;
  constructor(reason: string, context: RequestContext & { status: number }, receivedBytes: number, options?: { cause?: unknown }) {
    super(`incomplete body after ${receivedBytes} bytes: ${reason}`, context, options);
    this.receivedBytes = receivedBytes;
  }
}

/**
 * A body larger than `fetch.max_response_bytes` allows for its kind. Reading stops at the cap
 * (nothing is held whole), and the request is not retried: it would be as large again.
 */
export class AccessLinkPayloadTooLargeError extends AccessLinkError {
  readonly code = 'PL_ACCESSLINK_PAYLOAD_TOO_LARGE';
  readonly kind = 'terminal';
  readonly maxBytes: number;
  readonly payloadKind: string;
  constructor(payloadKind: string, maxBytes: number, context: RequestContext & { status: number }, declaredBytes?: number) {
    const seen = declaredBytes === undefined ? `more than ${maxBytes} bytes` : `Content-Length ${declaredBytes}`;
    super(`${payloadKind} body of ${seen} exceeds fetch.max_response_bytes.${payloadKind} (${maxBytes})`, context);
    this.maxBytes = maxBytes;
    this.payloadKind = payloadKind;
  }
}

/** The response was 2xx but its body is not what the API documents. */
export class AccessLinkResponseError extends AccessLinkError {
  readonly code = 'PL_ACCESSLINK_BAD_RESPONSE';
  readonly kind = 'terminal';
  constructor(message: string, context: RequestContext & { status: number }, options?: { cause?: unknown }) {
    super(message, context, options);
  }
}

/**
 * A URL given by the API (resource-uri, item URL) points outside the configured API origin.
 * Following it would send the user's bearer token to a foreign host, so it is refused.
 */
export class AccessLinkForeignUrlError extends AccessLinkError {
  readonly code = 'PL_ACCESSLINK_FOREIGN_URL';
  readonly kind = 'terminal';
  readonly host: string;
  constructor(method: string, url: string, expectedOrigin: string) {
    let host = '(unparsable)';
    let path = '(unparsable)';
    try {
      const u = new URL(url);
      host = u.host;
      path = u.pathname;
    } catch {
      // keep the placeholders: the message must not echo an arbitrary string
    }
    super(`refused to follow a URL on host ${host}; only ${expectedOrigin} is allowed`, { method, path });
    this.host = host;
  }
}

/** Used when a 429 carries no usable `RateLimit-Reset`. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

type ErrorFactory = (context: ResponseContext) => AccessLinkError;

export interface StatusRow {
  readonly status: number | '5xx' | 'other';
  readonly kind: ErrorKind;
  readonly create: ErrorFactory;
  /** What the caller does about it, for the docs and the table test. */
  readonly action: string;
}

/** The one table from an HTTP error status to an error. Order matters only for the wildcards. */
export const STATUS_TABLE: readonly StatusRow[] = [
  { status: 400, kind: 'terminal', create: (c) => new AccessLinkUnexpectedStatusError(c), action: 'bad request: fix the call' },
  { status: 401, kind: 'config', create: (c) => new AccessLinkUnauthorizedError(c), action: 'mark the user needs_reauth, stop polling them' },
  { status: 403, kind: 'config', create: (c) => new AccessLinkConsentRequiredError(c), action: 'mark the user needs_consent, stop polling them' },
  { status: 404, kind: 'terminal', create: (c) => new AccessLinkNotFoundError(c), action: 'the item does not exist; files: skip it' },
  { status: 409, kind: 'terminal', create: (c) => new AccessLinkConflictError(c), action: 'registration: already registered, continue' },
  { status: 429, kind: 'transient', create: (c) => new AccessLinkRateLimitedError(c), action: 'hold the queue until RateLimit-Reset, retry' },
  { status: '5xx', kind: 'transient', create: (c) => new AccessLinkServerError(c), action: 'retry with back-off and jitter' },
  { status: 'other', kind: 'terminal', create: (c) => new AccessLinkUnexpectedStatusError(c), action: 'unexpected: fail the request' },
];

export function statusRowFor(status: number): StatusRow {
  const exact = STATUS_TABLE.find((row) => row.status === status);
  if (exact) return exact;
  const wildcard = status >= 500 && status <= 599 ? '5xx' : 'other';
  return STATUS_TABLE.find((row) => row.status === wildcard)!;
}

/** Resolves a non-2xx response to its typed error. */
export function errorForStatus(context: ResponseContext): AccessLinkError {
  return statusRowFor(context.status).create(context);
}

/** Extracts Polar's `corrId` from an error body, if it is the documented JSON error shape. */
export function corrIdFromBody(bodyText: string): string | undefined {
  if (!bodyText || bodyText.length > 64 * 1024) return undefined;
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (parsed && typeof parsed === 'object' && 'corrId' in parsed) {
      const id = (parsed as { corrId: unknown }).corrId;
      // Only a plain id-looking value is kept: error bodies are never echoed whole.
      if (typeof id === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(id)) return id;
    }
  } catch {
    // not JSON: Polar documents the JSON shape only for some endpoints
  }
  return undefined;
}

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

/**
 * Resolves an error thrown by `fetch` (no response) to a network error, or returns undefined
 * when it is a programming error that must not be retried (TypeError from a bad URL, ...).
 * undici wraps socket errors as `TypeError('fetch failed', { cause })`; the cause decides.
 */
export function networkErrorFrom(error: unknown, context: RequestContext): AccessLinkNetworkError | undefined {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new AccessLinkNetworkError(context, 'ETIMEDOUT', { cause: error });
  }
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return new AccessLinkNetworkError(context, code, { cause: error });
    current = current.cause;
  }
  if (error instanceof TypeError && error.message === 'fetch failed') {
    return new AccessLinkNetworkError(context, undefined, { cause: error });
  }
  return undefined;
}
