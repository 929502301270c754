/**
 * Seeded pseudo-random numbers for the simulator. Everything the simulator invents (users,
 * exercises, workouts) comes from here, so one seed always gives the same bytes. Not for
 * secrets: tokens and codes use node:crypto.
 */
export type Rng = () => number;

/** mulberry32: tiny, fast, good enough for plausible test data; returns floats in [0, 1). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes several integers into one 32-bit seed, so sub-streams (user 2, exercise 5) stay independent. */
export function deriveSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    let x = Math.trunc(part) >>> 0;
    for (let i = 0; i < 4; i++) {
      h ^= x & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
      x >>>= 8;
    }
  }
  return h >>> 0;
}

export function between(rng: Rng, low: number, high: number): number {
  return low + (high - low) * rng();
}

export function intBetween(rng: Rng, low: number, highInclusive: number): number {
  return Math.floor(between(rng, low, highInclusive + 1));
}
