/**
 * Time as a dependency. Everything that waits (the rate-limit gate, the retrier's back-off,
 * the body idle timeout) or ages (simulated transactions, rate windows) asks a Clock, so a
 * test drives time instead of sleeping: no test depends on how fast the machine is.
 *
 * `systemClock` is the real one. `createVirtualClock` is for tests and suites: `sleep(ms)`
 * moves virtual time forward at once (to the latest of the sleepers' deadlines, so two
 * concurrent 10 s waits cost 10 s, not 20 s) and `advance(ms)` moves it by hand.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

export interface VirtualClock extends Clock {
  /** Moves time forward by `ms` (never backwards). */
  advance(ms: number): void;
}

/** @param startMs where virtual time starts. @default 2026-01-05T08:00:00Z */
export function createVirtualClock(startMs = Date.UTC(2026, 0, 5, 8)): VirtualClock {
  let nowMs = startMs;
  return {
    now: () => nowMs,
    advance(ms) {
      if (ms > 0) nowMs += ms;
    },
    async sleep(ms) {
      const deadline = nowMs + Math.max(0, ms);
      // Yield first so concurrent sleepers all read the same "now" before it moves.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (deadline > nowMs) nowMs = deadline;
    },
  };
}
