/**
 * bench/replay: `polar-lake replay` throughput against the parser alone, on the same raw
 * objects in the same run.
 *
 *   npm run build && node bin/run-ts.mjs bench/replay.ts [exercises_per_user=20] [users=2] [workers=cores]
 *
 * The raw zone is generated (test/helpers/replay-fixture.ts: per exercise a summary, a TCX and
 * for every other one a FIT, 1-2 h at 1 Hz). "Parser alone" is the parse stage's own code
 * (parseEvent: read + gunzip + parse + normalise + Arrow-encode every batch) on one thread,
 * its output discarded. "Replay" is the whole job (runReplay): planning, N parse workers,
 * batches to the main thread, the sink's Parquet commits and the journal. Throughput is over
 * the raw objects' stored (gzip) bytes and the rows they yield. Goal: replay / parser ≥ 0.8.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import type { Bus } from '../src/bus/bus.ts';
import { writeReplayRawZone } from '../test/helpers/replay-fixture.ts';

// The shipped build (dist/, `npm run build` first), so the workers load compiled JavaScript as
// they do in production rather than TypeScript through tsx.
const dist = <T>(module: string): Promise<T> => import(new URL(`../dist/${module}.js`, import.meta.url).href) as Promise<T>;
const { runReplay } = await dist<typeof import('../src/jobs/replay/job.ts')>('jobs/replay/job');
const { createJobProgress } = await dist<typeof import('../src/jobs/progress.ts')>('jobs/progress');
const { createRawZone } = await dist<typeof import('../src/lake/raw-zone.ts')>('lake/raw-zone');
const { loadPipeline } = await dist<typeof import('../src/pipeline/load.ts')>('pipeline/load');
const { createParseStage } = await dist<typeof import('../src/stages/parse.ts')>('stages/parse');
const { planReplay } = await dist<typeof import('../src/stages/replay.ts')>('stages/replay');
const { silentLogger } = await dist<typeof import('../src/telemetry/log.ts')>('telemetry/log');

const PER_USER = Number(process.argv[2] ?? 20);
const USERS = Number(process.argv[3] ?? 2);
const WORKERS = Number(process.argv[4] ?? availableParallelism());
const pipeline = loadPipeline(new URL('../pipelines/default.yaml', import.meta.url).pathname);
const parseOptions = {
  tokenizer: pipeline.parse.tokenizer, batchRows: pipeline.parse.batch_rows, timeOrder: pipeline.parse.time_order,
  limits: { maxTextChars: pipeline.parse.max_xml_text_chars, maxDepth: pipeline.parse.max_xml_depth, maxFitBytes: pipeline.parse.max_fit_bytes },
};

const dir = mkdtempSync(join(tmpdir(), 'polar-lake-bench-replay-'));
try {
  const lakeDir = join(dir, 'lake');
  const fx = await writeReplayRawZone(lakeDir, { seed: 11, users: USERS, exercisesPerUser: PER_USER, durationRangeS: [3600, 7200] });
  const rawZone = createRawZone(lakeDir);

  // Parser alone: one thread, output discarded.
  const discard: Bus = { kind: 'embedded', publish: async () => {}, consume: () => Promise.reject(new Error('unused')), close: async () => {} };
  const parse = createParseStage({ bus: discard, rawZone, logger: silentLogger, options: parseOptions });
  let bytes = 0;
  let objects = 0;
  const t0 = performance.now();
  for await (const item of planReplay(rawZone)) {
    for (const event of item.events) {
      bytes += (await stat(join(lakeDir, ...event.raw_key.split('/')))).size;
      objects++;
      await parse.parseEvent(event);
    }
  }
  const parserS = (performance.now() - t0) / 1000;
  const parserRows = Object.values(parse.counters.rows).reduce((a, b) => a + b, 0);

  // Replay: the whole job.
  const progress = createJobProgress({ job: 'replay', mode: 'silent' });
  const report = await runReplay({ lakeDir, stateDir: join(dir, 'state'), pipeline, progress, logger: silentLogger, workers: WORKERS });
  const summary = progress.finish();
  if (summary.failed > 0 || report.rawObjects !== objects) throw new Error(`replay did not replay every object: ${JSON.stringify(summary)}`);
  const replayRows = Object.values(report.rows).reduce((a, b) => a + b, 0);

  const mb = bytes / 1e6;
  const line = (name: string, s: number, rows: number) =>
    `${name.padEnd(22)} ${s.toFixed(2).padStart(7)} s  ${(mb / s).toFixed(2).padStart(7)} MB/s  ${Math.round(rows / s).toLocaleString('en').padStart(10)} rows/s`;
  console.log(`raw objects: ${objects} (${fx.keys.length} written), ${mb.toFixed(1)} MB stored (gzip), ${parserRows.toLocaleString('en')} rows; cores ${availableParallelism()}`);
  console.log(line('parser alone (1 thread)', parserS, parserRows));
  console.log(line(`replay (${report.workers} workers)`, report.seconds, replayRows));
  console.log(`replay / parser: ${(parserS / report.seconds).toFixed(2)} (goal ≥ 0.8)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
