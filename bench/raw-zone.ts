/**
 * Raw zone write cost, as a ratio against a reference measured in the same run:
 * reference = read → gzip → write a file (no hash, no fsync, no rename);
 * raw zone  = `put` (hash + gzip + temp file + fsync + rename + dir fsync).
 * Input: the shared corpus (POLAR_LAKE_CORPUS, default ../shared/corpus), else generated TCX-like text.
 *
 *   node bin/run-ts.mjs bench/raw-zone.ts [rounds=3]
 */
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { createRawZone } from '../src/lake/raw-zone.ts';

const rounds = Number(process.argv[2] ?? 3);
const corpus = resolve(process.env['POLAR_LAKE_CORPUS'] ?? '../shared/corpus');
const work = await mkdtemp(join(tmpdir(), 'polar-lake-bench-raw-'));

let inputs: string[];
if (existsSync(join(corpus, 'MANIFEST.tsv'))) {
  const manifest = await readFile(join(corpus, 'MANIFEST.tsv'), 'utf8');
  inputs = manifest.trim().split('\n').slice(1).map((l) => join(corpus, l.split('\t')[0]!));
} else {
  inputs = [];
  for (let i = 0; i < 20; i++) {
    const file = join(work, `gen-${i}.tcx`);
    await writeFile(file, '<Trackpoint><Time>2025-01-01T00:00:00Z</Time><HeartRateBpm><Value>140</Value></HeartRateBpm></Trackpoint>\n'.repeat(20_000));
    inputs.push(file);
  }
}
let totalBytes = 0;
for (const f of inputs) totalBytes += (await readFile(f)).length;

async function reference(dir: string): Promise<void> {
  for (const [i, f] of inputs.entries()) await pipeline(createReadStream(f), createGzip(), createWriteStream(join(dir, `ref-${i}.gz`)));
}
async function rawZone(dir: string): Promise<void> {
  const zone = createRawZone(dir);
  for (const [i, f] of inputs.entries()) await zone.put(`raw/bench/file_${i}/payload.bin.gz`, createReadStream(f));
}

const times: { ref: number[]; zone: number[] } = { ref: [], zone: [] };
for (let r = 0; r < rounds; r++) {
  for (const [name, fn] of [['ref', reference], ['zone', rawZone]] as const) {
    const dir = await mkdtemp(join(work, `${name}-`));
    const t0 = process.hrtime.bigint();
    await fn(dir);
    times[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
    await rm(dir, { recursive: true, force: true });
  }
}
await rm(work, { recursive: true, force: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ref = median(times.ref);
const zone = median(times.zone);
console.log(JSON.stringify({
  files: inputs.length,
  megabytes: +(totalBytes / 1e6).toFixed(1),
  rounds,
  reference_ms: Math.round(ref),
  raw_zone_ms: Math.round(zone),
  raw_zone_vs_reference: +(zone / ref).toFixed(2),
  raw_zone_mb_per_s: +(totalBytes / 1e6 / (zone / 1000)).toFixed(1),
}));
