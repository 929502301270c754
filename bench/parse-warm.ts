/**
 * Warm, in-process timing of the fast tokenizer bare and of parseFile on one file held in
 * memory (64 KiB chunks), for profiling the state machines:
 * node [--cpu-prof] bin/run-ts.mjs bench/parse-warm.ts FILE [ITERATIONS] [MODE]
 * MODE: both (default) | parse | bare. Prints per-iteration ms and the median ratio.
 */
import { readFileSync } from 'node:fs';
import { parseFile } from '../src/parse/index.ts';
import { createFastTokenizer } from '../src/parse/xml/fast.ts';

const [file, iterArg, modeArg] = process.argv.slice(2) as [string, string | undefined, string | undefined];
const iterations = Number(iterArg ?? 8);
const mode = modeArg ?? 'both';
const bytes = readFileSync(file);
const chunks: Buffer[] = [];
for (let i = 0; i < bytes.length; i += 65536) chunks.push(bytes.subarray(i, Math.min(bytes.length, i + 65536)));

async function* source(): AsyncGenerator<Buffer> {
  yield* chunks;
}

async function parseOnce(): Promise<number> {
  let points = 0;
  const ctx = { userId: 'u', exerciseId: 'e', file, utcOffsetMin: null };
  for await (const out of parseFile(source(), 'auto', ctx)) if (out.table === 'samples') points += out.rows.length;
  return points;
}

function bareOnce(): number {
  let events = 0;
  const handler = { wantsText: false, open: () => void events++, close: () => void events++, text: () => void events++ };
  const t = createFastTokenizer(handler, () => undefined);
  for (const c of chunks) t.writeBytes(c);
  t.end();
  return events;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const bare: number[] = [];
const parse: number[] = [];
let points = 0;
for (let i = 0; i < iterations; i++) {
  if (mode !== 'parse') {
    const t0 = performance.now();
    bareOnce();
    bare.push(performance.now() - t0);
  }
  if (mode !== 'bare') {
    const t0 = performance.now();
    points = await parseOnce();
    parse.push(performance.now() - t0);
  }
}
const mb = bytes.length / 1e6;
const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(' ');
if (bare.length > 0) console.log(`bare  ms: ${fmt(bare)}  median ${median(bare).toFixed(0)} (${(mb / (median(bare) / 1000)).toFixed(0)} MB/s)`);
if (parse.length > 0) console.log(`parse ms: ${fmt(parse)}  median ${median(parse).toFixed(0)} (${(mb / (median(parse) / 1000)).toFixed(0)} MB/s), ${points} points`);
if (bare.length > 0 && parse.length > 0) console.log(`warm ratio parse/bare: ${(median(bare) / median(parse)).toFixed(2)}`);
