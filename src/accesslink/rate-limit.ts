/**
 * AccessLink rate limits. Every response carries `RateLimit-Usage`, `RateLimit-Limit` and
 * `RateLimit-Reset`, each two comma-separated integers: short-term (15 min) first, then
 * long-term (24 h). Reset is in seconds. Windows are fixed and requests rejected by the
 * short-term limit still count toward the long-term one, so after a 429 (or when a budget
 * is spent) the whole client waits for the reset instead of probing.
 */

export interface RateLimitWindow {
  readonly used: number;
  readonly limit: number;
  readonly resetSecs: number;
}

export interface RateLimitState {
  readonly shortTerm: RateLimitWindow;
  readonly longTerm: RateLimitWindow | undefined;
}

interface HeaderSource {
  get(name: string): string | null;
}

function parsePair(value: string | null): number[] | undefined {
  if (value === null) return undefined;
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.length > 2) return undefined;
  const numbers: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,12}$/.test(p)) return undefined;
    numbers.push(Number(p));
  }
  return numbers;
}

/** Parses the three headers; undefined when any is missing or malformed (then nothing is learnt). */
export function parseRateLimitHeaders(headers: HeaderSource): RateLimitState | undefined {
  const usage = parsePair(headers.get('ratelimit-usage'));
  const limit = parsePair(headers.get('ratelimit-limit'));
  const reset = parsePair(headers.get('ratelimit-reset'));
  if (!usage || !limit || !reset) return undefined;
  const window = (i: number): RateLimitWindow | undefined => {
    const u = usage[i];
    const l = limit[i];
    const r = reset[i];
    return u === undefined || l === undefined || r === undefined ? undefined : { used: u, limit: l, resetSecs: r };
  };
  const shortTerm = window(0);
  if (!shortTerm) return undefined;
  return { shortTerm, longTerm: window(1) };
}

/** Milliseconds to wait before the next request under this state, 0 when budget remains. */
export function waitForBudgetMs(state: RateLimitState): number {
  let wait = 0;
  if (state.shortTerm.used >= state.shortTerm.limit) wait = Math.max(wait, state.shortTerm.resetSecs * 1000);
  if (state.longTerm && state.longTerm.used >= state.longTerm.limit) wait = Math.max(wait, state.longTerm.resetSecs * 1000);
  return wait;
}

/** Milliseconds a 429 asks us to wait: the reset of the spent window (the short one if unsure). */
export function retryAfterMsFor429(state: RateLimitState | undefined): number | undefined {
  if (!state) return undefined;
  if (state.longTerm && state.longTerm.used >= state.longTerm.limit) return state.longTerm.resetSecs * 1000;
  return state.shortTerm.resetSecs * 1000;
}

export interface RateLimitGate {
  /** Resolves when requests may flow again (at once when nothing is held). */
  wait(): Promise<void>;
  /** Learns from a response's headers: holds the gate when a budget is spent. */
  observe(state: RateLimitState | undefined): void;
  /** Holds every request for `ms` from now (after a 429). Extends, never shortens, a hold. */
  holdFor(ms: number): void;
  /** Epoch ms until which requests are held (0 when open), for logs and tests. */
  readonly heldUntilMs: number;
  /** The last state seen, for metrics. */
  readonly last: RateLimitState | undefined;
}

export interface RateLimitGateOptions {
  /** @default Date.now */
  readonly now?: () => number;
}

export function createRateLimitGate(options: RateLimitGateOptions = {}): RateLimitGate {
  const now = options.now ?? Date.now;
  let heldUntil = 0;
  let last: RateLimitState | undefined;
  const holdFor = (ms: number) => {
    if (ms > 0) heldUntil = Math.max(heldUntil, now() + ms);
  };
  return {
    async wait() {
      // Loop: a hold may be extended by a response that lands while we sleep.
      for (;;) {
        const remaining = heldUntil - now();
        if (remaining <= 0) return;
        await new Promise((resolve) => setTimeout(resolve, remaining));
      }
    },
    observe(state) {
      if (!state) return;
      last = state;
      holdFor(waitForBudgetMs(state));
    },
    holdFor,
    get heldUntilMs() {
      return heldUntil > now() ? heldUntil : 0;
    },
    get last() {
      return last;
    },
  };
}
