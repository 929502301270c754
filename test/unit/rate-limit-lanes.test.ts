/**
 * The backfill lane of the one rate-limit gate: it never takes the share of a window reserved
 * for live work. Driven by an injected clock: the gate's sleeps advance it, nothing waits for real.
 */
import { describe, expect, it } from 'vitest';
import { createRateLimitGate } from '../../src/accesslink/rate-limit.ts';

function rig(liveReserve = 0.3) {
  const clock = { t: 0, sleeps: [] as number[] };
  const gate = createRateLimitGate({ clock: { now: () => clock.t, sleep: async (ms: number) => { clock.sleeps.push(ms); clock.t += ms; } }, liveReserve });
  // A fixed 15-minute window that starts with its first request, as AccessLink counts.
  const LIMIT = 100;
  const WINDOW_MS = 900_000;
  const server = { windowStart: -Infinity, used: 0, over: 0, perWindow: [] as { live: number; backfill: number }[] };
  const serve = (lane: 'live' | 'backfill') => {
    if (clock.t >= server.windowStart + WINDOW_MS) {
      server.windowStart = clock.t;
      server.used = 0;
      server.perWindow.push({ live: 0, backfill: 0 });
    }
    server.used++;
    server.perWindow.at(-1)![lane]++;
    if (server.used > LIMIT) server.over++;
    gate.observe({ shortTerm: { used: server.used, limit: LIMIT, resetSecs: Math.ceil((server.windowStart + WINDOW_MS - clock.t) / 1000) }, longTerm: { used: server.used, limit: 100_000, resetSecs: 86_400 } });
  };
  return { clock, gate, serve, server, LIMIT };
}

describe('rate limit > lanes', () => {
  it('backfill stops when the window is down to the live reserve; live requests still go at once', async () => {
    const { clock, gate, serve } = rig();
    let backfill = 0;
    for (;;) {
      const before = clock.sleeps.length;
      await gate.wait('backfill');
      if (clock.sleeps.length > before) break; // had to wait for the reset
      serve('backfill');
      backfill++;
    }
    expect(backfill).toBe(70);
    expect(clock.sleeps).toEqual([900_000]); // until the window's reset, from the headers
    expect(gate.granted.backfill).toBe(71);
  });

  it('while a backfill runs flat out, live requests never wait, no request is over the limit, and backfill never takes more than its share of a window', async () => {
    const { clock, gate, serve, server, LIMIT } = rig();
    let liveWaited = 0;
    for (let i = 0; i < 400; i++) {
      await gate.wait('backfill');
      serve('backfill');
      clock.t += 1000; // a second per backfill request
      if (i % 4 === 0) {
        const before = clock.sleeps.length;
        await gate.wait('live');
        if (clock.sleeps.length > before) liveWaited++;
        serve('live');
      }
    }
    expect(server.over).toBe(0);
    expect(liveWaited).toBe(0);
    expect(server.perWindow.length).toBeGreaterThan(3);
    for (const w of server.perWindow) expect(w.backfill).toBeLessThanOrEqual(LIMIT * 0.7);
    // Live got every request it asked for in each window (one per four backfill requests).
    expect(server.perWindow.reduce((n, w) => n + w.live, 0)).toBe(100);
  });

  it('a 429 hold stops both lanes; with no headers seen yet, backfill is not held', async () => {
    const { clock, gate } = rig();
    await gate.wait('backfill');
    expect(clock.sleeps).toEqual([]);
    gate.holdFor(5000);
    await gate.wait('live');
    await gate.wait('backfill');
    expect(clock.sleeps).toEqual([5000]);
  });
});
