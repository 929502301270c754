/**
 * bench/sink: polar-lake's Parquet write path against pyarrow (the writer ceiling), and three
 * typical queries over the streamed lake, the compacted lake and one single file.
 *
 *   node bin/run-ts.mjs bench/sink.ts [rows=10000000] [file_rows=1000000]
 *
 * Rows are generated sample rows (3,600-sample workouts, 10,000 users, one month). The write
 * is timed from columns as the sink holds them (each batch decoded from the bus wire form,
 * Arrow IPC, by decodeRecordVectors into typed vectors, fresh for every variant; the decode
 * is timed apart and printed) to committed Parquet files (commitPartition: scan
 * into DuckDB, encode, fsync, rename, manifest): the sink's streaming default, snappy, and
 * sorted. pyarrow writes the same rows (bench/sink_pyarrow.py), building its table from
 * numpy arrays, unsorted, run before and after ours (the faster run is the reference, the
 * machine being shared); DuckDB alone copies rows already inside it (no JS; its strings are
 * VARCHAR, whereas our scan hands over ENUM codes, so ours can pass it). Prints ratios.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLakeDuckDB } from '../src/lake/duckdb.ts';
import { commitPartition, type PartitionBatch } from '../src/lake/partition-writer.ts';
import type { ParquetWriteOptions } from '../src/lake/parquet-writer.ts';
import { columnsToRows, encodeRecordBatch } from '../src/records/arrow-codec.ts';
import { decodeRecordVectors } from '../src/records/envelope.ts';
import { compactLake } from '../src/lake/compact.ts';
import { loadTableSchema } from '../src/lake/schema.ts';
import { createLakeViews, liveFiles } from '../src/lake/views.ts';
import { pythonWith } from '../test/helpers/python.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROWS = Number(process.argv[2] ?? 10_000_000);
const FILE_ROWS = Number(process.argv[3] ?? 1_000_000);
const ROW_GROUP_ROWS = 500_000;
const WORKOUT = 3600;

/**
 * Same formulas as bench/sink_pyarrow.py and test/helpers/lake-rows.ts, column-wise as the
 * bus wire form carries them: one batch per workout (source).
 */
function generate(start: number, n: number): PartitionBatch[] {
  const batches: PartitionBatch[] = [];
  let g = start;
  while (g < start + n) {
    const w = Math.floor(g / WORKOUT);
    const first = g % WORKOUT;
    const count = Math.min(WORKOUT - first, start + n - g);
    const startUs = (1772323200000 + (w % 28) * 86_400_000 + 6 * 3_600_000) * 1000;
    const col = <T>(f: (i: number) => T): T[] => Array.from({ length: count }, (_, k) => f(first + k));
    const columns: Record<string, unknown[]> = {
      user_id: col(() => `u${w % 10000}`), exercise_id: col(() => `e${w}`), source_format: col(() => 'tcx'),
      time_utc_us: col((i) => startUs + i * 1_000_000), utc_offset_min: col(() => 60), activity_index: col(() => 0),
      lap_index: col((i) => Math.floor(i / 600)), segment_index: col(() => 0), latitude_deg: col((i) => 60.17 + i * 1e-5),
      longitude_deg: col((i) => 24.94 + i * 1e-5), altitude_m: col((i) => (i % 7 === 0 ? null : 10 + (i % 13))), distance_m: col((i) => i * 2.8),
      heart_rate_bpm: col((i) => 100 + ((i * 7) % 90)), cadence_rpm: col((i) => 80 + (i % 9)), speed_mps: col(() => 2.8),
      power_w: col(() => null), temperature_c: col(() => null), sensor_state: col((i) => (i % 2 ? 'Present' : null)),
      vertical_oscillation_mm: col(() => null), stance_time_ms: col(() => null), step_length_mm: col(() => null), left_right_balance_pct: col(() => null),
    };
    batches.push({ sourceId: `s${w}`, rowOffset: first, batchRows: count, last: first + count === WORKOUT, hash: `b${g}`, count, columns, sourceRows: null });
    g += count;
  }
  return batches;
}

interface PyResult {
  readonly rows: number;
  readonly seconds: number;
  readonly bytes: number;
}

const dir = mkdtempSync(join(tmpdir(), 'polar-lake-bench-sink-'));
const db = await openLakeDuckDB();
try {
  const schema = loadTableSchema('samples');
  const python = pythonWith(['pyarrow', 'numpy']);
  const runPyarrow = (): PyResult =>
    JSON.parse(execFileSync(python, [join(ROOT, 'bench/sink_pyarrow.py'), String(ROWS), String(FILE_ROWS), String(ROW_GROUP_ROWS), join(dir, 'pyarrow')], { encoding: 'utf8' })) as PyResult;
  const pyBefore = runPyarrow();
  const bytesOf = (root: string): number => liveFiles(root, 'samples').reduce((n, f) => n + statSync(f).size, 0);
  // The sink's streaming write (arrival order, zstd), then the variants.
  const variants: [string, string, ParquetWriteOptions][] = [
    ['streaming (sink default: arrival order, zstd)', 'stream', { sort: false, compression: 'zstd' }],
    ['streaming, snappy', 'stream-snappy', { sort: false, compression: 'snappy' }],
    ['sorted by user_id, time_utc (zstd)', 'sorted', { sort: true, compression: 'zstd' }],
  ];
  const writeMs = variants.map(() => 0);
  let againMs = 0;
  let decodeMs = 0;
  for (let start = 0, file = 0; start < ROWS; start += FILE_ROWS, file++) {
    // Each variant gets its own decode of the wire form (Arrow IPC, as the bus carries record
    // batches; decodeRecordVectors, as the sink reads them), timed apart: fresh vectors, as
    // the sink holds them after decoding a batch.
    const wire = generate(start, Math.min(FILE_ROWS, ROWS - start)).map((b) => ({
      ...b,
      columns: Buffer.from(encodeRecordBatch({ type: 'records', table: 'samples' }, columnsToRows(b.columns as Record<string, unknown[]>, b.count))),
    }));
    for (let k = 0; k < variants.length; k++) {
      const v = (file + k) % variants.length; // rotate which variant runs first
      const [, sub, options] = variants[v] as (typeof variants)[number];
      const decodeStart = performance.now();
      const batches: PartitionBatch[] = wire.map((b) => ({ ...b, columns: decodeRecordVectors(b.columns).columns }));
      if (v === 0) decodeMs += performance.now() - decodeStart;
      const t = performance.now();
      await commitPartition(db.conn, join(dir, sub), schema, 'year=2026/month=03', batches, { rowGroupRows: ROW_GROUP_ROWS, ...options });
      writeMs[v] = (writeMs[v] as number) + performance.now() - t;
      if (v === 0) {
        // The same decoded columns written again: shows what the first read of freshly
        // decoded JS values costs (not a sink figure: the sink writes each batch once).
        const again = performance.now();
        await commitPartition(db.conn, join(dir, 'again'), schema, 'year=2026/month=03', batches, { rowGroupRows: ROW_GROUP_ROWS, ...options });
        againMs += performance.now() - again;
      }
    }
  }
  const ours = variants.map(([name, sub], v): [string, number, number] => [name, ROWS / ((writeMs[v] as number) / 1000), bytesOf(join(dir, sub))]);

  // DuckDB's own COPY of the same rows already inside DuckDB (no JS), per file.
  await db.conn.run(`CREATE TABLE ceiling AS SELECT * FROM read_parquet(${JSON.stringify(liveFiles(join(dir, 'stream'), 'samples')[0]).replaceAll('"', "'")})`);
  const ceilingRows = Number((await db.conn.runAndReadAll('SELECT count(*)::BIGINT FROM ceiling')).getRows()[0]?.[0]);
  let ceilingMs = 0;
  for (let start = 0; start < ROWS; start += FILE_ROWS) {
    const t = performance.now();
    await db.conn.run(`COPY ceiling TO '${join(dir, 'ceiling.parquet')}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`);
    ceilingMs += performance.now() - t;
  }
  await db.conn.run('DROP TABLE ceiling');

  // pyarrow runs before and after the writes above (the machine is shared): the faster run is the reference.
  const py = [pyBefore, runPyarrow()].sort((a, b) => b.rows / b.seconds - a.rows / a.seconds)[0] as PyResult;
  const theirs = py.rows / py.seconds;
  const ceiling = (ceilingRows * Math.ceil(ROWS / FILE_ROWS)) / (ceilingMs / 1000);
  console.log(`rows: ${ROWS}, file_rows: ${FILE_ROWS}, row_group_rows: ${ROW_GROUP_ROWS}`);
  console.log('write (columns as the sink holds them: typed vectors decoded from Arrow IPC -> committed Parquet files), ratio to pyarrow (goal >= 0.5):');
  for (const [name, rate, bytes] of ours) {
    console.log(`  polar-lake ${name.padEnd(46)} ${(rate / 1e6).toFixed(2)} M rows/s, ${(bytes / ROWS).toFixed(2)} bytes/row, ratio ${(rate / theirs).toFixed(2)}`);
  }
  console.log(`  (same decoded columns written a second time, streaming zstd: ${(ROWS / (againMs / 1000) / 1e6).toFixed(2)} M rows/s, ratio ${(ROWS / (againMs / 1000) / theirs).toFixed(2)})`);
  const withDecode = ROWS / (((writeMs[0] as number) + decodeMs) / 1000);
  console.log(`  (decode of the bus messages, not in the figures above: ${(decodeMs / 1000).toFixed(2)} s; streaming zstd including it: ${(withDecode / 1e6).toFixed(2)} M rows/s, ratio ${(withDecode / theirs).toFixed(2)})`);
  console.log(`  pyarrow (numpy arrays, zstd, unsorted; faster of 2 runs)  ${(theirs / 1e6).toFixed(2)} M rows/s, ${(py.bytes / py.rows).toFixed(2)} bytes/row`);
  console.log(`  DuckDB alone: COPY of rows already in DuckDB (zstd)     ${(ceiling / 1e6).toFixed(2)} M rows/s, ratio ${(ceiling / theirs).toFixed(2)} (no JS; strings as VARCHAR, so DuckDB builds their dictionaries)`);

  // Streamed lake: more files, as streaming writes them (a tenth of file_rows each), twice:
  // one copy stays as streamed, the other is compacted.
  const streamed = join(dir, 'streamed');
  const compacted = join(dir, 'compacted');
  for (const root of [streamed, compacted]) {
    for (let start = 0; start < ROWS; start += FILE_ROWS / 10) {
      await commitPartition(db.conn, root, schema, 'year=2026/month=03', generate(start, Math.min(FILE_ROWS / 10, ROWS - start)), { rowGroupRows: ROW_GROUP_ROWS, sort: false });
    }
  }
  const queries: [string, string][] = [
    ['whole lake: avg HR per user', 'SELECT user_id, avg(heart_rate_bpm) FROM samples GROUP BY user_id'],
    ['one user, one week', `SELECT count(*), avg(heart_rate_bpm) FROM samples WHERE user_id = 'u42' AND local_date BETWEEN DATE '2026-03-08' AND DATE '2026-03-14'`],
    ['daily minutes, date range', `SELECT local_date, count(*) / 60 FROM samples WHERE time_utc >= TIMESTAMPTZ '2026-03-10 00:00:00+00' AND time_utc < TIMESTAMPTZ '2026-03-17 00:00:00+00' GROUP BY local_date`],
  ];
  // The three layouts are timed in turn, query by query, five rounds after a warm-up (the machine is shared:
  // interleaving keeps a burst of load from landing on one layout only); medians.
  const streamedFiles = liveFiles(streamed, 'samples').length;
  await compactLake(db.conn, compacted, { targetFileBytes: 256 * 1024 * 1024, rowGroupRows: ROW_GROUP_ROWS });
  const compactedFiles = liveFiles(compacted, 'samples').length;
  const single = join(dir, 'single.parquet');
  await createLakeViews(db.conn, compacted);
  await db.conn.run(`COPY (SELECT * FROM samples ORDER BY user_id, time_utc) TO '${single}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`);
  const layouts: [string, () => Promise<void>][] = [
    ['streamed', () => createLakeViews(db.conn, streamed)],
    ['compacted', () => createLakeViews(db.conn, compacted)],
    ['one file', async () => void (await db.conn.run(`CREATE OR REPLACE VIEW samples AS SELECT * FROM read_parquet('${single}')`))],
  ];
  const runs = queries.map(() => layouts.map((): number[] => []));
  for (let round = 0; round < 6; round++) {
    for (let q = 0; q < queries.length; q++) {
      for (let l = 0; l < layouts.length; l++) {
        await (layouts[l] as (typeof layouts)[number])[1]();
        const t = performance.now();
        await db.conn.runAndReadAll((queries[q] as [string, string])[1]);
        if (round > 0) (runs[q]?.[l] as number[]).push(performance.now() - t); // round 0 warms caches
      }
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const streamedMs = runs.map((r) => median(r[0] as number[]));
  const compactedMs = runs.map((r) => median(r[1] as number[]));
  const singleMs = runs.map((r) => median(r[2] as number[]));
  console.log(`\nqueries (median of 5, interleaved, ms): streamed (${streamedFiles} files) / compacted (${compactedFiles} files) / one file; ratio compacted/one file (goal <= 1.5)`);
  queries.forEach(([name], k) => {
    const s = streamedMs[k] as number;
    const c = compactedMs[k] as number;
    const o = singleMs[k] as number;
    console.log(`  ${name.padEnd(28)} ${s.toFixed(0).padStart(6)} / ${c.toFixed(0).padStart(6)} / ${o.toFixed(0).padStart(6)}   streamed/one ${(s / o).toFixed(2)}, compacted/one ${(c / o).toFixed(2)}`);
  });
} finally {
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
