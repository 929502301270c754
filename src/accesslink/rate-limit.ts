/**
 * AccessLink rate limits. Every response carries `RateLimit-Usage`, `RateLimit-Limit` and
 * `RateLimit-Reset`, each two comma-separated integers: short-term (15 min) first, then
 * long-term (24 h). Reset is in seconds. Windows are fixed and requests rejected by the
 * short-term limit still count toward the long-term one, so after a 429 (or when a budget
 * is spent) the whole client waits for the reset instead of probing.
 */
import { systemClock, type Clock } from '../clock.ts';
import { silentLogger, type Logger } from '../telemetry/log.ts';

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

/**
 * Lanes of the one gate. `live` (polling, webhooks) may spend the whole budget. `backfill`
 * stops once the budget left in a window falls to the share reserved for live work, and
 * waits for that window's reset: a backfill never starves live polling, however long it runs.
 */
export type RateLimitLane = 'live' | 'backfill';

/** Which window a hold waits out. */
export type RateLimitWindowName = 'short_term' | 'long_term';

/** Waits at least this long are logged at info with their reason and window. */
export const LONG_WAIT_LOG_MS = 5_000;

export interface RateLimitGate {
  /** Resolves when a request in this lane may go (at once when nothing holds it). @default lane 'live' */
  wait(lane?: RateLimitLane): Promise<void>;
  /** Learns from a response's headers: holds the gate when a budget is spent. */
  observe(state: RateLimitState | undefined): void;
  /** Holds every request for `ms` from now (after a 429). Extends, never shortens, a hold. `state`: the response's, for the log. */
  holdFor(ms: number, reason?: string, state?: RateLimitState): void;
  /** Epoch ms until which requests are held (0 when open), for logs and tests. */
  readonly heldUntilMs: number;
  /** The last state seen, for metrics. */
  readonly last: RateLimitState | undefined;
  /**
   * Requests left in each window now, from the last state seen and the time since: a window
   * whose reset has passed counts as fresh. Undefined before the first response.
   */
  remaining(): RemainingBudget | undefined;
  /** Share (0-1) of each window's limit the backfill lane leaves to live work. */
  readonly liveReserve: number;
  /** Requests let through per lane since the gate was made (for metrics and tests). */
  readonly granted: Readonly<Record<RateLimitLane, number>>;
}

export interface RemainingBudget {
  readonly shortTerm: number;
  readonly shortLimit: number;
  /** Milliseconds until the short window resets (0: it has). */
  readonly shortResetMs: number;
  readonly longTerm: number | undefined;
  readonly longLimit: number | undefined;
  readonly longResetMs: number | undefined;
}

export interface RateLimitGateOptions {
  /** @default systemClock */
  readonly clock?: Clock;
  /** Holds of LONG_WAIT_LOG_MS or more are logged at info here. @default silentLogger */
  readonly logger?: Logger;
  /** Share (0-1) of each window's limit reserved for the live lane. @default 0.3 */
  readonly liveReserve?: number;
}

/** A window as last observed, with its reset turned into an instant. */
interface WindowBudget {
  used: number;
  readonly limit: number;
  readonly resetAtMs: number;
}

/** The window a spent budget (or a 429) is waiting on: the long one when it is spent. */
function spentWindow(state: RateLimitState | undefined): RateLimitWindowName {
  return state?.longTerm && state.longTerm.used >= state.longTerm.limit ? 'long_term' : 'short_term';
}

export function createRateLimitGate(options: RateLimitGateOptions = {}): RateLimitGate {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const liveReserve = Math.min(1, Math.max(0, options.liveReserve ?? 0.3));
  let heldUntil = 0;
  let last: RateLimitState | undefined;
  let observedAt = 0;
  let windows: WindowBudget[] = [];
  const granted: Record<RateLimitLane, number> = { live: 0, backfill: 0 };
  const holdFor = (ms: number, reason = 'rate_limited', state: RateLimitState | undefined = last) => {
    if (ms <= 0) return;
    const until = clock.now() + ms;
    if (until <= heldUntil) return;
    heldUntil = until;
    if (ms >= LONG_WAIT_LOG_MS) {
      // Said once per hold, at info: a sweep that stops for minutes must say why.
      const window = spentWindow(state);
      const w = window === 'long_term' ? state?.longTerm : state?.shortTerm;
      logger.info('accesslink.rate_limit.hold', {
        reason, wait_ms: ms, until_utc: new Date(until).toISOString(), window,
        ...(w ? { used: w.used, limit: w.limit } : {}),
      });
    }
  };
  /** Ms a backfill request must wait for its share: until the reset of a window whose free budget is down to the live reserve. */
  const backfillWaitMs = (): number => {
    const t = clock.now();
    let wait = 0;
    for (const w of windows) {
      if (t >= w.resetAtMs) continue; // a new window: nothing known against it yet
      if (w.limit - w.used <= Math.ceil(w.limit * liveReserve)) wait = Math.max(wait, w.resetAtMs - t);
    }
    return wait;
  };
  return {
    async wait(lane = 'live') {
      // Loop: a hold may be extended by a response that lands while we sleep.
      let loggedBackfill = false;
      for (;;) {
        const backfill = lane === 'backfill' ? backfillWaitMs() : 0;
        const remaining = Math.max(heldUntil - clock.now(), backfill);
        if (remaining <= 0) break;
        if (backfill >= LONG_WAIT_LOG_MS && backfill > heldUntil - clock.now() && !loggedBackfill) {
          logger.info('accesslink.rate_limit.hold', { reason: 'backfill_leaves_live_share', lane, wait_ms: backfill, until_utc: new Date(clock.now() + backfill).toISOString(), live_reserve: liveReserve });
          loggedBackfill = true;
        }
        await clock.sleep(remaining);
      }
      // Counted at once: requests in flight are spent budget before their headers come back.
      for (const w of windows) if (clock.now() < w.resetAtMs) w.used++;
      granted[lane]++;
    },
    observe(state) {
      if (!state) return;
      last = state;
      observedAt = clock.now();
      windows = [state.shortTerm, ...(state.longTerm ? [state.longTerm] : [])].map((w) => ({ used: w.used, limit: w.limit, resetAtMs: observedAt + w.resetSecs * 1000 }));
      holdFor(waitForBudgetMs(state), 'budget_spent');
    },
    holdFor,
    get heldUntilMs() {
      return heldUntil > clock.now() ? heldUntil : 0;
    },
    get last() {
      return last;
    },
    remaining() {
      if (!last) return undefined;
      const elapsed = clock.now() - observedAt;
      const left = (w: RateLimitWindow) => {
        const resetMs = w.resetSecs * 1000 - elapsed;
        return resetMs <= 0 ? { n: w.limit, resetMs: 0 } : { n: Math.max(0, w.limit - w.used), resetMs };
      };
      const s = left(last.shortTerm);
      const l = last.longTerm ? left(last.longTerm) : undefined;
      return { shortTerm: s.n, shortLimit: last.shortTerm.limit, shortResetMs: s.resetMs, longTerm: l?.n, longLimit: last.longTerm?.limit, longResetMs: l?.resetMs };
    },
    liveReserve,
    granted,
  };
}
