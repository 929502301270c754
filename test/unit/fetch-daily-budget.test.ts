/**
 * The date-based sweep's budget (src/stages/fetch-daily-budget.ts) against the real rate-limit
 * gate on a virtual clock, with Polar's limits for 10,000 users (200,500 per 15 min, 1,005,000
 * per 24 h): the sweep leaves the live share of each window and spreads the day's budget.
 */
import { describe, expect, it } from 'vitest';
import { createVirtualClock } from '../../src/clock.ts';
import { createRateLimitGate } from '../../src/accesslink/rate-limit.ts';
import { createDailyBudget } from '../../src/stages/fetch-daily-budget.ts';

const SHORT = 200_500;
const LONG = 1_005_000;

function rig() {
  const clock = createVirtualClock();
  const gate = createRateLimitGate({ clock });
  const seen = (usedShort: number, usedLong: number, shortResetS: number, longResetS: number) =>
    gate.observe({ shortTerm: { used: usedShort, limit: SHORT, resetSecs: shortResetS }, longTerm: { used: usedLong, limit: LONG, resetSecs: longResetS } });
  return { clock, gate, seen, budget: createDailyBudget(gate) };
}

describe('fetch > date-based sweep budget', () => {
  it('goes before anything is known, and at the start of a window up to the live share of one short window', () => {
    const { seen, budget } = rig();
    expect('release' in budget.tryReserve(13)).toBe(true);
    seen(1, 1, 900, 86_400);
    // 0.7 x (1,005,000 x 0 + 200,500) = 140,350 may go in the window's first minutes.
    expect('release' in budget.tryReserve(140_000)).toBe(true);
    expect(budget.tryReserve(400)).toMatchObject({ window: 'short_term', needed: 400 });
  });

  it('defers on the 24-hour window when the sweep is ahead of the pace, and goes again as the day goes by', () => {
    const { clock, seen, budget } = rig();
    // An hour into the day, 166,000 used: the pace allows 1,005,000 / 24 + 0.7 x 200,500 x 23 / 24 = 176,377.
    seen(20_000, 166_000, 600, 82_800);
    const ok = budget.tryReserve(10_000);
    expect('release' in ok).toBe(true);
    const deferred = budget.tryReserve(1_000);
    expect(deferred).toMatchObject({ window: 'long_term', needed: 1_000, remaining: 377 });
    // Released (the requests came back and the gate counts them instead): still ahead.
    if ('release' in ok) ok.release();
    seen(20_000, 176_000, 600, 82_800);
    expect(budget.tryReserve(1_000)).toMatchObject({ window: 'long_term' });
    // Two hours later the pace line has grown by (1,005,000 - 140,350) / 12 = 72,054.
    clock.advance(7_200_000);
    expect('release' in budget.tryReserve(1_000)).toBe(true);
  });

  it('leaves live work its share of a short window in the day\'s window, even at its end', () => {
    const { seen, budget } = rig();
    seen(0, 940_000, 900, 60);
    expect('release' in budget.tryReserve(3_000)).toBe(true);
    // 0.3 x 200,500 = 60,150 stay for transactions and webhooks until the window resets.
    expect(budget.tryReserve(2_000)).toMatchObject({ window: 'long_term', remaining: 1_850 });
  });

  it('counts a window whose reset has passed as just begun', () => {
    const { clock, seen, budget } = rig();
    seen(0, 900_000, 900, 600);
    clock.advance(601_000);
    expect('release' in budget.tryReserve(140_000)).toBe(true);
    expect(budget.tryReserve(1_000)).toMatchObject({ window: 'short_term' });
  });
});
