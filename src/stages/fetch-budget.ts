/**
 * Whether the rate-limit budget can walk a transaction before it expires.
 *
 * Polar does not document how long an uncommitted transaction lives (third parties report
 * about 10 minutes), and rate-limit windows are 15 minutes and 24 hours. A walk that runs
 * out of budget half-way waits for the window to reset, and its transaction expires behind
 * it: every item after that answers 404. So a transaction is opened only when the budget
 * left in both windows covers its worst case (the list, up to 50 items × the payloads
 * fetched per item, the commit), minus what walks already open have reserved; otherwise the
 * user's transaction is deferred to a later sweep, logged at info with the window and its
 * reset. No walk asks for more than a tenth of a window (MAX_WINDOW_SHARE): a small client's
 * window cannot promise whole worst-case walks anyway, and the 404 rule below takes over.
 *
 * Expiry can still happen (other traffic, 429s, a slow disk): then the first 404 of an item
 * ends the walk at once (fetch.ts), the ledger keeps every payload already stored, and the
 * next sweep's transaction offers the rest again. Nothing is stranded.
 */
import type { RateLimitGate, RateLimitWindowName } from '../accesslink/rate-limit.ts';

/** Polar caps a transaction at 50 items. */
export const MAX_ITEMS_PER_TRANSACTION = 50;

/**
 * Requests one exercise of a transaction may cost: one per payload, but the sample series are
 * a list plus one request per sample type (at most 12 types), and there is no route endpoint.
 */
export function requestsPerExerciseOf(payloads: readonly string[]): number {
  return payloads.reduce((n, kind) => n + (kind === 'samples' ? 13 : kind === 'route' ? 0 : 1), 0);
}

export interface Deferral {
  readonly window: RateLimitWindowName;
  /** The window itself has room; what walks already open have reserved is what is short. */
  readonly heldByOpenWalks: boolean;
  readonly remaining: number;
  readonly needed: number;
  readonly resetInMs: number;
}

export interface TransactionBudget {
  /** Requests a transaction's walk may cost at most. */
  readonly costPerTransaction: number;
  /** Reserves a walk's budget, or says which window is too short. */
  tryReserve(): Reservation | Deferral;
  /**
   * Reserves a walk's budget, waiting for open walks to end while only their reservations
   * stand in the way (the window has room for this walk too); says which window is too short
   * once the window itself is. Without the wait, a sweep of many users at once would defer
   * every user beyond the first few walks to the next sweep although the budget is there.
   */
  reserve(): Promise<Reservation | Deferral>;
}

export interface Reservation {
  readonly release: () => void;
}

/**
 * What a walk must find free in a window: its worst case, but never more than a tenth of the
 * window. The expiry probe already keeps an expired walk from stranding anything, so holding a
 * whole worst case back for each open walk would only starve a small client's other users
 * (a client with two users has 540 requests per 15 minutes; one 50-exercise walk costs ~900).
 */
export const MAX_WINDOW_SHARE = 0.1;
const neededOf = (cost: number, limit: number) => Math.min(cost, Math.max(1, Math.ceil(limit * MAX_WINDOW_SHARE)));

export function createTransactionBudget(gate: RateLimitGate, payloadsPerItem: number): TransactionBudget {
  const cost = 2 + MAX_ITEMS_PER_TRANSACTION * Math.max(1, payloadsPerItem);
  let reserved = 0;
  let released: (() => void)[] = [];
  const tryReserve = (): Reservation | Deferral => {
    const left = gate.remaining();
    if (left) {
      const needed = neededOf(cost, left.shortLimit);
      const short = { window: 'short_term' as const, remaining: left.shortTerm - reserved, needed, resetInMs: left.shortResetMs, heldByOpenWalks: left.shortTerm >= needed };
      if (short.remaining < short.needed) return short;
      if (left.longTerm !== undefined && left.longLimit !== undefined) {
        const longNeeded = neededOf(cost, left.longLimit);
        const long = { window: 'long_term' as const, remaining: left.longTerm - reserved, needed: longNeeded, resetInMs: left.longResetMs ?? 0, heldByOpenWalks: left.longTerm >= longNeeded };
        if (long.remaining < long.needed) return long;
      }
    }
    // What this walk holds back from the others: its share of the short window.
    const hold = left ? neededOf(cost, left.shortLimit) : cost;
    reserved += hold;
    let done = false;
    return {
      release: () => {
        if (done) return;
        done = true;
        reserved -= hold;
        const waiting = released;
        released = [];
        for (const wake of waiting) wake();
      },
    };
  };
  return {
    costPerTransaction: cost,
    tryReserve,
    async reserve() {
      for (;;) {
        const outcome = tryReserve();
        // heldByOpenWalks implies reserved > 0: some open walk will release and wake this one.
        if ('release' in outcome || !outcome.heldByOpenWalks || reserved === 0) return outcome;
        await new Promise<void>((wake) => released.push(wake));
      }
    },
  };
}
