/**
 * Simulator generation cost, as ratios against a reference measured in the same run:
 * the reference is pulling the 1 Hz workout points alone; TCX/GPX add the text writing.
 * Also checks that memory stays flat for a three-day workout (peak heap growth, MB).
 *
 *   node bin/run-ts.mjs bench/simulator.ts
 */
import { workoutPoints, type WorkoutSpec } from '../src/simulator/workout.ts';
import { tcxChunks } from '../src/simulator/tcx.ts';
import { gpxChunks } from '../src/simulator/gpx.ts';
import { fitBytes } from '../src/simulator/fit.ts';

const spec: WorkoutSpec = { seed: 9, sport: 'RUNNING', startUtcMs: Date.UTC(2025, 5, 2, 6), durationS: 3600 * 6, utcOffsetMin: 180, withPower: true };

function time(label: string, fn: () => number): { label: string; ms: number; out: number } {
  fn(); // warm-up
  const runs = 3;
  let best = Infinity;
  let out = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    out = fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { label, ms: best, out };
}

const reference = time('points only (reference)', () => {
  let n = 0;
  for (const _ of workoutPoints(spec)) n++;
  return n;
});
const results = [
  time('tcx text', () => { let bytes = 0; for (const c of tcxChunks(spec)) bytes += c.length; return bytes; }),
  time('gpx text', () => { let bytes = 0; for (const c of gpxChunks(spec)) bytes += c.length; return bytes; }),
  time('fit bytes (SDK encoder, in memory)', () => fitBytes(spec).byteLength),
];
console.log(`workout: ${spec.durationS} points (${spec.durationS / 3600} h, 1 Hz)`);
console.log(`${reference.label}: 1.00x`);
for (const r of results) console.log(`${r.label}: ${(r.ms / reference.ms).toFixed(2)}x the reference, ${(r.out / 1e6).toFixed(1)} MB`);

// Memory: a three-day TCX streamed through must not grow the heap with its length.
const long: WorkoutSpec = { ...spec, durationS: 3 * 86_400 };
globalThis.gc?.();
const before = process.memoryUsage().heapUsed;
let peak = before;
let chars = 0;
let chunks = 0;
for (const c of tcxChunks(long)) {
  chars += c.length;
  if (++chunks % 500 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
}
console.log(`three-day tcx: ${(chars / 1e6).toFixed(0)} MB of text streamed, peak heap growth ${((peak - before) / 1e6).toFixed(1)} MB (ratio heap/text ${((peak - before) / chars).toFixed(3)})`);
