/**
 * Whether the rate-limit budget lets a user's date-based sweep go now.
 *
 * Polar's budget is 20 requests per user per 15 minutes and 100 per user per 24 hours (plus a
 * constant). A date-based sweep of every type costs about 13 requests per user, and the
 * default schedule asks for one every run for activity and sleep: read as configured, 10,000
 * users would ask for several million requests a day against about one million allowed, and
 * the gate would then hold every request, exercise transactions included, until the day's
 * window resets. So the sweep asks this budget before each user, and a user whose sweep the
 * budget cannot cover is deferred (their types stay due; the stalest users go first next run,
 * see fetch-daily.ts), logged at info once per run with the window:
 *
 * - in the 15-minute window, the sweep leaves `liveShare` of the limit to live work (exercise,
 *   activity and physical-information transactions, webhooks): those defer on their own
 *   (fetch-budget.ts) but must find budget when they come;
 * - in the 24-hour window it follows a pace: once a share `f` of the window has gone, all the
 *   client's requests together may have reached limit × f, plus, early in the window, what the
 *   sweep may use of one short window (1 - liveShare) × short limit × (1 - f). So the day's
 *   budget is spread over the day instead of spent in its first hours (live work then finds,
 *   at any moment, what is left of the day in proportion), and a small client, whose short
 *   window covers all its users, is not slowed at the start. Whatever the pace, the sweep never
 *   takes the last `liveShare` × short limit of the day's window. Polar's windows are fixed:
 *   the pace reads how far into the window we are from its reset. A window shorter than 24 h
 *   (a time-scaled simulator) only makes the pace more lenient.
 *
 * Before the first response the budget is unknown and the sweep goes (the first answer's
 * headers teach the gate).
 */
import type { RateLimitGate } from '../accesslink/rate-limit.ts';
import type { Deferral } from './fetch-budget.ts';

export const LONG_WINDOW_MS = 86_400_000;

export interface DailyBudget {
  /** Reserves `cost` requests for one user's sweep, or says which window cannot cover it. */
  tryReserve(cost: number): { readonly release: () => void } | Deferral;
}

export interface DailyBudgetOptions {
  /** Share (0-1) of each window left to live work. @default the gate's liveReserve (0.3) */
  readonly liveShare?: number;
}

export function createDailyBudget(gate: RateLimitGate, options: DailyBudgetOptions = {}): DailyBudget {
  const liveShare = Math.min(1, Math.max(0, options.liveShare ?? gate.liveReserve));
  let reserved = 0;
  const check = (cost: number): Deferral | null => {
    const left = gate.remaining();
    if (!left) return null;
    const shortFloor = Math.ceil(left.shortLimit * liveShare);
    if (left.shortTerm - reserved - cost < shortFloor) {
      return { window: 'short_term', remaining: Math.max(0, left.shortTerm - reserved - shortFloor), needed: cost, resetInMs: left.shortResetMs, heldByOpenWalks: false };
    }
    if (left.longTerm === undefined || left.longLimit === undefined) return null;
    const limit = left.longLimit;
    // A reset window counts as just begun: its first answer will say so.
    const resetMs = left.longResetMs ?? 0;
    const elapsed = resetMs > 0 ? Math.max(0, LONG_WINDOW_MS - resetMs) : 0;
    const gone = Math.min(1, elapsed / LONG_WINDOW_MS);
    const allowance = Math.min(limit * gone + (1 - liveShare) * left.shortLimit * (1 - gone), limit - Math.ceil(liveShare * left.shortLimit));
    const used = limit - left.longTerm + reserved;
    if (used + cost > allowance) {
      // When the pace line will have grown by what is missing (or the window reset, if sooner).
      const missing = used + cost - allowance;
      const paceWaitMs = Math.ceil((missing / limit) * LONG_WINDOW_MS);
      return { window: 'long_term', remaining: Math.max(0, Math.floor(allowance - used)), needed: cost, resetInMs: resetMs > 0 ? Math.min(resetMs, paceWaitMs) : paceWaitMs, heldByOpenWalks: false };
    }
    return null;
  };
  return {
    tryReserve(cost) {
      const deferral = check(cost);
      if (deferral) return deferral;
      reserved += cost;
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          reserved -= cost;
        },
      };
    },
  };
}
