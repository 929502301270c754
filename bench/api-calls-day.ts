/**
 * One day of the default pipeline's requests for many users on a virtual clock (bench/api-calls.ts
 * part 3): the simulator's rate limiter (Polar's formula) answers every request, the real gate
 * learns from its answers, and the fetch stage's real budgets decide what goes. What a request
 * costs comes from bench/api-calls.ts part 1 (measured against the simulator); the order of a
 * run is the fetch stage's (src/stages/fetch.ts): notifications, the transactions announced,
 * then the date-based sweep stalest users first, physical info in the same turn.
 */
import { createRateLimitGate } from '../src/accesslink/rate-limit.ts';
import { createVirtualClock } from '../src/clock.ts';
import { dateBasedEndpoint } from '../src/daily/endpoints.ts';
import type { DailyKind } from '../src/records/envelope.ts';
import { mulberry32 } from '../src/simulator/random.ts';
import { createRateLimiter } from '../src/simulator/rate-limit.ts';
import { createTransactionBudget } from '../src/stages/fetch-budget.ts';
import { createDailyBudget } from '../src/stages/fetch-daily-budget.ts';
import { planRequests, type DailySchedule } from '../src/stages/fetch-daily.ts';

export interface DayWorkload {
  readonly users: number;
  readonly sweepMin: number;
  readonly kinds: readonly DailyKind[];
  readonly schedule: Readonly<Record<DailyKind, DailySchedule>>;
  readonly physicalInfo: boolean;
  /** Requests a transaction's walk may cost at most (the fetch stage's figure for its payloads). */
  readonly requestsPerExercise: number;
  readonly exercisesPerUserDay: number;
  readonly activitySyncsPerUserDay: number;
  /** Share of users whose physical information changes in a day. */
  readonly physicalChangesPerUserDay: number;
  /** Measured: requests per transaction walk that finds something (create, list, commit, the closing create) and per item. */
  readonly exercise: { readonly perWalk: number; readonly perItem: number };
  readonly activity: { readonly perWalk: number; readonly perItem: number };
  readonly physical: { readonly perWalk: number; readonly perItem: number };
  /** With the fetch stage's budgets (the pipeline), or every request as configured (the demand). */
  readonly budgets: boolean;
}

export interface TypeDay {
  made: number;
  over: number;
  /** Date-based types: reads (user sweeps) and the longest time between two reads of one user (ms). */
  reads: number;
  longestGapMs: number;
}

export interface DayResult {
  readonly byType: Map<string, TypeDay>;
  readonly total: number;
  readonly over: number;
  readonly usersDeferred: number;
  readonly transactionsDeferred: number;
  /** Users a date-based type never read in the day. */
  readonly neverRead: Map<DailyKind, number>;
}

const DAY_MS = 86_400_000;

export function simulateDay(w: DayWorkload): DayResult {
  const clock = createVirtualClock(Date.UTC(2026, 0, 5, 0, 0));
  const start = clock.now();
  const limiter = createRateLimiter({ shortTermLimit: () => 500 + 20 * w.users, longTermLimit: () => 5000 + 100 * w.users, now: () => clock.now() });
  const gate = createRateLimitGate({ clock });
  const transactionBudget = createTransactionBudget(gate, w.requestsPerExercise);
  const dailyBudget = createDailyBudget(gate);
  const byType = new Map<string, TypeDay>();
  const carry = new Map<string, number>();
  const typeDay = (label: string) => {
    let t = byType.get(label);
    if (!t) byType.set(label, (t = { made: 0, over: 0, reads: 0, longestGapMs: 0 }));
    return t;
  };
  /** `n` requests of a type (fractional costs are carried to its next requests). */
  const spend = (label: string, n: number) => {
    const t = typeDay(label);
    const whole = Math.floor(n + (carry.get(label) ?? 0) + 1e-9);
    carry.set(label, n + (carry.get(label) ?? 0) - whole);
    for (let i = 0; i < whole; i++) {
      const s = limiter.hit();
      t.made++;
      if (s.exceeded) t.over++;
      gate.observe({ shortTerm: { used: s.usage[0], limit: s.limit[0], resetSecs: s.resetSecs[0] }, longTerm: { used: s.usage[1], limit: s.limit[1], resetSecs: s.resetSecs[1] } });
    }
  };

  // What the users do in the day, at seeded random minutes: uploads, device syncs, profile changes.
  const rng = mulberry32(7);
  const events = (perUserDay: number) => {
    const at: number[][] = Array.from({ length: Math.ceil(1440 / w.sweepMin) + 1 }, () => []);
    for (let u = 0; u < w.users; u++) {
      const whole = Math.floor(perUserDay);
      const n = whole + (rng() < perUserDay - whole ? 1 : 0);
      for (let k = 0; k < n; k++) at[Math.ceil((Math.floor(rng() * 1440) + 1) / w.sweepMin)]!.push(u);
    }
    return at;
  };
  const uploads = events(w.exercisesPerUserDay);
  const syncs = events(w.activitySyncsPerUserDay);
  const changes = events(w.physicalChangesPerUserDay);
  const pending = { exercise: new Int32Array(w.users), activity: new Int32Array(w.users), physical: new Int32Array(w.users) };

  const K = w.kinds.length;
  const lastRead = new Float64Array(w.users * K).fill(-Infinity);
  let usersDeferred = 0;
  let transactionsDeferred = 0;
  const today = new Date(start).toISOString().slice(0, 10);
  const readCost = w.kinds.map((k) => planRequests(dateBasedEndpoint(k), today, w.schedule[k].lookbackDays).requests.length);
  const everyMs = w.kinds.map((k) => w.schedule[k].everyMs);
  const order = Array.from({ length: w.users }, (_, u) => u);
  const stalest = new Float64Array(w.users);

  for (let run = 0; run * w.sweepMin < 1440; run++) {
    clock.advance(run === 0 ? 0 : w.sweepMin * 60_000);
    const now = clock.now();
    for (const u of uploads[run] ?? []) pending.exercise[u]!++;
    for (const u of syncs[run] ?? []) pending.activity[u]!++;
    for (const u of changes[run] ?? []) pending.physical[u]!++;

    spend('pull notifications', 1);
    for (const type of ['exercise', 'activity', 'physical'] as const) {
      const cost = w[type];
      for (let u = 0; u < w.users; u++) {
        const items = pending[type][u]!;
        if (items === 0) continue;
        const reservation = w.budgets ? transactionBudget.tryReserve() : { release() {} };
        if (!('release' in reservation)) {
          transactionsDeferred++;
          continue;
        }
        spend(`${type} transactions`, cost.perWalk + cost.perItem * items);
        pending[type][u] = 0;
        reservation.release();
      }
    }

    // The date-based sweep: stalest users first; the first user the budget cannot cover ends it.
    for (let u = 0; u < w.users; u++) {
      let oldest = Infinity;
      for (let k = 0; k < K; k++) oldest = Math.min(oldest, lastRead[u * K + k]!);
      stalest[u] = oldest;
    }
    order.sort((a, b) => stalest[a]! - stalest[b]! || a - b);
    for (let i = 0; i < order.length; i++) {
      const u = order[i]!;
      let cost = w.physicalInfo ? 1 : 0;
      const due: number[] = [];
      for (let k = 0; k < K; k++) {
        if (now - lastRead[u * K + k]! >= everyMs[k]!) {
          due.push(k);
          cost += readCost[k]!;
        }
      }
      const reservation = w.budgets ? dailyBudget.tryReserve(cost) : { release() {} };
      if (!('release' in reservation)) {
        usersDeferred += order.length - i;
        break;
      }
      for (const k of due) {
        const t = typeDay(w.kinds[k]!);
        spend(w.kinds[k]!, readCost[k]!);
        t.reads++;
        const last = lastRead[u * K + k]!;
        if (Number.isFinite(last)) t.longestGapMs = Math.max(t.longestGapMs, now - last);
        lastRead[u * K + k] = now;
      }
      if (w.physicalInfo) spend('physical info', 1);
      reservation.release();
    }
  }
  const neverRead = new Map<DailyKind, number>();
  const end = start + DAY_MS;
  for (let k = 0; k < K; k++) {
    let never = 0;
    for (let u = 0; u < w.users; u++) {
      const last = lastRead[u * K + k]!;
      if (!Number.isFinite(last)) never++;
      // A user not read again by the end of the day waited at least this long.
      else typeDay(w.kinds[k]!).longestGapMs = Math.max(typeDay(w.kinds[k]!).longestGapMs, end - last);
    }
    neverRead.set(w.kinds[k]!, never);
  }
  let total = 0;
  let over = 0;
  for (const t of byType.values()) {
    total += t.made;
    over += t.over;
  }
  return { byType, total, over, usersDeferred, transactionsDeferred, neverRead };
}
