/**
 * The retrier (after kafkajs `src/retry`): exponential back-off with jitter. Only transient
 * errors are retried: programming errors (TypeError, RangeError, ...) and terminal/config
 * PolarLakeErrors fail at once. A transient error that says how long to wait
 * (`retryAfterMs`, from a 429's RateLimit-Reset) is waited for exactly that long.
 */
import { systemClock, type Clock } from '../clock.ts';
import { isRetriable } from '../errors.ts';

export interface RetryOptions {
  /** Retries after the first attempt. @default 5 */
  readonly retries: number;
  /** First back-off. Tests pass 1; never taken from NODE_ENV. @default 300 */
  readonly initialRetryTimeMs: number;
  /** Cap on one back-off. @default 30000 */
  readonly maxRetryTimeMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { retries: 5, initialRetryTimeMs: 300, maxRetryTimeMs: 30_000 };

/** Back-off before retry number `attempt` (0-based): doubles each time, ±20% jitter, capped. */
export function backoffMs(attempt: number, options: RetryOptions, random: () => number = Math.random): number {
  const base = options.initialRetryTimeMs * 2 ** attempt;
  const jitter = base * 0.2 * (random() * 2 - 1);
  return Math.max(0, Math.min(options.maxRetryTimeMs, Math.round(base + jitter)));
}

export interface RetryHooks {
  onRetry?(info: { attempt: number; waitMs: number; error: unknown }): void;
  /** Whose time the back-off waits on. @default systemClock */
  clock?: Clock;
  /** Which errors are retried. @default isRetriable */
  retriable?: (error: unknown) => boolean;
}

export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions, hooks: RetryHooks = {}): Promise<T> {
  const clock = hooks.clock ?? systemClock;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!(hooks.retriable ?? isRetriable)(error) || attempt >= options.retries) throw error;
      const asked = (error as { retryAfterMs?: unknown }).retryAfterMs;
      // A server-given wait is obeyed as is (not capped): retrying earlier only burns budget.
      const waitMs = typeof asked === 'number' && asked >= 0 ? asked : backoffMs(attempt, options);
      hooks.onRetry?.({ attempt: attempt + 1, waitMs, error });
      await clock.sleep(waitMs);
    }
  }
}
