/**
 * What the completeness check costs: node bin/run-ts.mjs bench/completeness.ts [--runs N]
 *
 * Over a 24-hour TCX and GPX (the simulator's generators, kept in memory, 64 KiB chunks),
 * measures in the same run: gzip level 6 (what the raw zone does to every body anyway), the
 * completeness check alone, and a plain byte count. Prints MB/s (median of the runs) and the
 * check's time as a fraction of gzip's: the check rides along the store, so that fraction is
 * what it adds to a download's CPU.
 */
import { createGzip } from 'node:zlib';
import { createCompletenessCheck, type CheckedFileKind } from '../src/accesslink/completeness.ts';
import { gpxChunks } from '../src/simulator/gpx.ts';
import { tcxChunks } from '../src/simulator/tcx.ts';
import type { WorkoutSpec } from '../src/simulator/workout.ts';

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1] ?? 5) || 5;
const CHUNK = 64 * 1024;

const spec: WorkoutSpec = { seed: 7, sport: 'RUNNING', startUtcMs: Date.UTC(2025, 5, 2, 6), durationS: 86_400, utcOffsetMin: 120, lapEveryS: 600, withPower: true };

function chunksOf(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += CHUNK) out.push(body.subarray(i, i + CHUNK));
  return out;
}

async function time(run: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

async function gzipAll(chunks: Buffer[]): Promise<void> {
  const gz = createGzip();
  gz.resume();
  const done = new Promise((r) => gz.on('end', r));
  for (const c of chunks) if (!gz.write(c)) await new Promise((r) => gz.once('drain', r));
  gz.end();
  await done;
}

async function checkAll(kind: CheckedFileKind, chunks: Buffer[]): Promise<void> {
  const check = createCompletenessCheck(kind);
  for (const c of chunks) await check.write(c);
  if ((await check.end()) !== null) throw new Error('a whole file was judged incomplete');
}

for (const [kind, generate] of [['tcx', () => tcxChunks(spec, { deviceName: 'Polar Vantage V3' })], ['gpx', () => gpxChunks(spec, { creator: 'Polar Flow' })]] as const) {
  const body = Buffer.from([...generate()].join(''));
  const chunks = chunksOf(body);
  const mb = body.length / 1e6;
  const gzip = await time(() => gzipAll(chunks));
  const check = await time(() => checkAll(kind, chunks));
  let counted = 0;
  const count = await time(async () => {
    for (const c of chunks) counted += c.length;
  });
  console.log(`${kind} 24 h (${mb.toFixed(1)} MB): gzip ${(mb / gzip).toFixed(0)} MB/s, check ${(mb / check).toFixed(0)} MB/s, ` +
    `byte count ${(mb / Math.max(count, 1e-9)).toFixed(0)} MB/s; check/gzip time = ${(check / gzip).toFixed(2)}`);
}
