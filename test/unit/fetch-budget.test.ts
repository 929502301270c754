import { describe, expect, it } from 'vitest';
import { createRateLimitGate } from '../../src/accesslink/rate-limit.ts';
import { createVirtualClock } from '../../src/clock.ts';
import { createTransactionBudget } from '../../src/stages/fetch-budget.ts';

/** A gate that has seen `used` of a 1000-request short window: a walk needs a tenth of it (100). */
function gateAfter(used: number) {
  const gate = createRateLimitGate({ clock: createVirtualClock() });
  gate.observe({ shortTerm: { used, limit: 1000, resetSecs: 300 }, longTerm: undefined });
  return gate;
}

const settled = async (promise: Promise<unknown>) => {
  let done = false;
  void promise.then(() => (done = true));
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return done;
};

describe('fetch > transaction budget', () => {
  it('a walk that only open walks\' reservations keep out waits for one to end, then is reserved', async () => {
    const gate = gateAfter(850); // 150 left: room for one walk at a time
    const budget = createTransactionBudget(gate, 4);
    const first = await budget.reserve();
    expect('release' in first).toBe(true);
    const second = budget.reserve();
    expect(await settled(second)).toBe(false);
    (first as { release(): void }).release();
    expect('release' in (await second)).toBe(true);
  });

  it('a walk the window itself cannot cover is deferred at once', async () => {
    const budget = createTransactionBudget(gateAfter(950), 4);
    expect(await budget.reserve()).toEqual(expect.objectContaining({ window: 'short_term', remaining: 50, needed: 100, heldByOpenWalks: false }));
  });

  it('a waiting walk is deferred when the window is spent by the time an open walk ends', async () => {
    const gate = gateAfter(850);
    const budget = createTransactionBudget(gate, 4);
    const first = (await budget.reserve()) as { release(): void };
    const second = budget.reserve();
    gate.observe({ shortTerm: { used: 960, limit: 1000, resetSecs: 200 }, longTerm: undefined });
    first.release();
    expect(await second).toEqual(expect.objectContaining({ window: 'short_term', remaining: 40, needed: 100, heldByOpenWalks: false }));
  });
});
