import { describe, expect, it } from 'vitest';
import {
  AccessLinkConflictError,
  AccessLinkConsentRequiredError,
  AccessLinkNetworkError,
  AccessLinkNotFoundError,
  AccessLinkRateLimitedError,
  AccessLinkServerError,
  AccessLinkUnauthorizedError,
  AccessLinkUnexpectedStatusError,
  STATUS_TABLE,
  corrIdFromBody,
  errorForStatus,
  networkErrorFrom,
} from '../../src/accesslink/errors.ts';
import { isRetriable } from '../../src/errors.ts';

const context = { method: 'GET', path: '/v3/users/42/exercise-transactions/7' };

describe('accesslink > errors > status table', () => {
  const rows = [
    { status: 400, type: AccessLinkUnexpectedStatusError, code: 'PL_ACCESSLINK_UNEXPECTED_STATUS', kind: 'terminal' },
    { status: 401, type: AccessLinkUnauthorizedError, code: 'PL_ACCESSLINK_UNAUTHORIZED', kind: 'config' },
    { status: 403, type: AccessLinkConsentRequiredError, code: 'PL_ACCESSLINK_CONSENT_REQUIRED', kind: 'config' },
    { status: 404, type: AccessLinkNotFoundError, code: 'PL_ACCESSLINK_NOT_FOUND', kind: 'terminal' },
    { status: 409, type: AccessLinkConflictError, code: 'PL_ACCESSLINK_CONFLICT', kind: 'terminal' },
    { status: 429, type: AccessLinkRateLimitedError, code: 'PL_ACCESSLINK_RATE_LIMITED', kind: 'transient' },
    { status: 500, type: AccessLinkServerError, code: 'PL_ACCESSLINK_SERVER_ERROR', kind: 'transient' },
    { status: 503, type: AccessLinkServerError, code: 'PL_ACCESSLINK_SERVER_ERROR', kind: 'transient' },
    { status: 418, type: AccessLinkUnexpectedStatusError, code: 'PL_ACCESSLINK_UNEXPECTED_STATUS', kind: 'terminal' },
  ] as const;

  it.each(rows)('status $status -> $code ($kind)', ({ status, type, code, kind }) => {
    const error = errorForStatus({ ...context, status, corrId: 'abc-123', retryAfterMs: 1500 });
    expect(error).toBeInstanceOf(type);
    expect(error.code).toBe(code);
    expect(error.kind).toBe(kind);
    expect(isRetriable(error)).toBe(kind === 'transient');
    expect(error.status).toBe(status);
    expect(error.method).toBe('GET');
    expect(error.path).toBe(context.path);
    expect(error.corrId).toBe('abc-123');
    expect(error.message).toContain('/v3/users/42/exercise-transactions/7');
    expect(error.message).toContain('corrId abc-123');
  });

  it('every row of the table is covered by the test above', () => {
    const tested = new Set<number | string>(rows.map((r) => (r.status >= 500 ? '5xx' : r.status === 418 ? 'other' : r.status)));
    for (const row of STATUS_TABLE) expect(tested.has(row.status)).toBe(true);
  });

  it('429 carries retryAfterMs from RateLimit-Reset, with a default when absent', () => {
    expect((errorForStatus({ ...context, status: 429, retryAfterMs: 2000 }) as AccessLinkRateLimitedError).retryAfterMs).toBe(2000);
    expect((errorForStatus({ ...context, status: 429 }) as AccessLinkRateLimitedError).retryAfterMs).toBe(60_000);
  });
});

describe('accesslink > errors > corrId', () => {
  it('reads corrId from the documented error body only', () => {
    expect(corrIdFromBody('{"timestamp":"x","status":404,"errorType":"x","message":"m","corrId":"c0ffee-1"}')).toBe('c0ffee-1');
    expect(corrIdFromBody('<html>oops</html>')).toBeUndefined();
    expect(corrIdFromBody('{"corrId":"has spaces and <script>"}')).toBeUndefined();
    expect(corrIdFromBody('')).toBeUndefined();
  });
});

describe('accesslink > errors > network', () => {
  it('ECONNRESET under undici "fetch failed" is a transient network error', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const error = networkErrorFrom(new TypeError('fetch failed', { cause: reset }), context);
    expect(error).toBeInstanceOf(AccessLinkNetworkError);
    expect(error?.networkCode).toBe('ECONNRESET');
    expect(isRetriable(error)).toBe(true);
  });

  it('a timeout is a transient network error', () => {
    const error = networkErrorFrom(new DOMException('timed out', 'TimeoutError'), context);
    expect(error?.networkCode).toBe('ETIMEDOUT');
  });

  it('a programming TypeError is not turned into a network error', () => {
    expect(networkErrorFrom(new TypeError('Invalid URL'), context)).toBeUndefined();
  });
});
