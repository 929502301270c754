import { mkdtempSync, readdirSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../src/bus/embedded.ts';
import { TOPICS, type Bus } from '../../src/bus/bus.ts';
import { decodeEnvelope, encodeEnvelope, type DeadLetter, type RecordBatchEnvelope } from '../../src/records/envelope.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { createSinkStage, type SinkOptions } from '../../src/stages/sink.ts';
import { openLakeViews, liveFiles, listPartitions } from '../../src/lake/views.ts';
import { openLakeDuckDB } from '../../src/lake/duckdb.ts';
import { compactLake } from '../../src/lake/compact.ts';
import { TABLE_NAMES } from '../../src/lake/schema.ts';
import { stagedSources } from '../../src/lake/staging.ts';
import { envelopesFor, type WorkoutSpec } from '../helpers/lake-rows.ts';

// East of UTC, west of UTC, unknown offset, and workouts that cross local midnight at a month end.
const WORKOUTS: WorkoutSpec[] = [
  { user_id: 'u-tokyo', exercise_id: 'e1', start_ms: Date.UTC(2026, 2, 31, 14, 30), utc_offset_min: 540, samples: 2500 }, // 23:30 local, 31 Mar → 1 Apr
  { user_id: 'u-denver', exercise_id: 'e2', start_ms: Date.UTC(2026, 3, 1, 5, 30), utc_offset_min: -360, samples: 2500, sport: 'CYCLING' }, // 23:30 local, 31 Mar
  { user_id: 'u-nooffset', exercise_id: 'e3', start_ms: Date.UTC(2026, 3, 2, 8, 0), utc_offset_min: null, samples: 1200 },
  { user_id: 'u-tokyo', exercise_id: 'e4', start_ms: Date.UTC(2026, 4, 3, 22, 0), utc_offset_min: 540, samples: 1800 },
];

function publishAll(bus: Bus, envelopes: readonly RecordBatchEnvelope[]): Promise<void[]> {
  return Promise.all(
    envelopes.map((e) => bus.publish(e.table === 'samples' ? TOPICS.samples : e.table === 'laps' ? TOPICS.laps : TOPICS.exercises, [{ key: e.user_id, value: encodeEnvelope(e) }])),
  );
}

/** count(*) and an order-independent checksum of every row, per table, through the manifest views. */
async function fingerprint(lake: string): Promise<Record<string, string>> {
  const db = await openLakeViews(lake);
  try {
    const out: Record<string, string> = {};
    for (const t of TABLE_NAMES) {
      const r = await db.conn.runAndReadAll(`SELECT count(*)::VARCHAR || ':' || coalesce(sum(hash(x))::VARCHAR, '0') FROM ${t} x`);
      out[t] = String(r.getRows()[0]?.[0]);
    }
    return out;
  } finally {
    db.close();
  }
}

async function runSink(bus: Bus, lake: string, options: SinkOptions = {}): Promise<void> {
  const sink = createSinkStage({ bus, lakeRoot: lake, logger: silentLogger, options });
  const sub = await sink.start();
  await sub.drained();
  await sink.close();
}

describe('lake > sink', () => {
  let dir: string;
  let lake: string;
  let bus: EmbeddedBus;
  let reference: Record<string, string>;
  const envelopes = WORKOUTS.flatMap((w) => envelopesFor(w, 700));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-sink-'));
    lake = join(dir, 'lake');
    bus = new EmbeddedBus({ retryBackoffMs: 5, maxRetryBackoffMs: 20, maxBatchMessages: 4 });
    await publishAll(bus, envelopes);
    await runSink(bus, lake, { flush_rows: 3000 });
    reference = await fingerprint(lake);
  });
  afterAll(async () => {
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lake > sink > writes every row once, partitioned by local month', async () => {
    expect(reference['samples']).toMatch(/^8000:/);
    expect(reference['laps']).toMatch(/^15:/);
    expect(reference['exercises']).toMatch(/^4:/);
    expect(readdirSync(join(lake, 'samples', 'year=2026')).sort()).toEqual(['month=03', 'month=04', 'month=05']);
    expect(readdirSync(join(lake, 'exercises'))).toEqual(['year=2026']);
    for (const f of liveFiles(lake, 'samples')) expect(f).toMatch(/\.parquet$/);
  });

  it('lake > sink > time > local_date east and west of UTC, across midnight, UTC when the offset is unknown', async () => {
    const db = await openLakeViews(lake);
    try {
      const r = await db.conn.runAndReadAll(
        `SELECT exercise_id, min(local_date)::VARCHAR, max(local_date)::VARCHAR, min(time_utc)::VARCHAR, typeof(min(time_utc)), min(month)
         FROM samples GROUP BY exercise_id ORDER BY exercise_id`,
      );
      expect(r.getRows()).toEqual([
        ['e1', '2026-03-31', '2026-04-01', '2026-03-31 14:30:00+00', 'TIMESTAMP WITH TIME ZONE', 3],
        ['e2', '2026-03-31', '2026-04-01', '2026-04-01 05:30:00+00', 'TIMESTAMP WITH TIME ZONE', 3],
        ['e3', '2026-04-02', '2026-04-02', '2026-04-02 08:00:00+00', 'TIMESTAMP WITH TIME ZONE', 4],
        ['e4', '2026-05-04', '2026-05-04', '2026-05-03 22:00:00+00', 'TIMESTAMP WITH TIME ZONE', 5],
      ]);
      // Rows of one workout on both sides of local midnight land in both month partitions.
      const split = await db.conn.runAndReadAll(`SELECT month, count(*) FROM samples WHERE exercise_id = 'e1' GROUP BY month ORDER BY month`);
      expect(split.getRows()).toEqual([[3, 1800n], [4, 700n]]);
      const ex = await db.conn.runAndReadAll(`SELECT exercise_id, local_date::VARCHAR FROM exercises ORDER BY exercise_id`);
      expect(ex.getRows()).toEqual([['e1', '2026-03-31'], ['e2', '2026-03-31'], ['e3', '2026-04-02'], ['e4', '2026-05-04']]);
    } finally {
      db.close();
    }
  });

  it('lake > sink > rolls a file at flush_rows even inside one large bus batch', async () => {
    const rollBus = new EmbeddedBus({ maxBatchMessages: 100 });
    const rollLake = join(dir, 'roll-lake');
    try {
      await publishAll(rollBus, envelopes);
      await runSink(rollBus, rollLake, { flush_rows: 1000 });
      expect(await fingerprint(rollLake)).toEqual(reference);
      const sizes = listPartitions(rollLake, 'samples').flatMap((p) => p.manifest.files.map((f) => f.rows));
      // Checked per message (700 rows here): a file holds flush_rows plus at most one message.
      expect(Math.max(...sizes)).toBeLessThan(1000 + 700);
      expect(sizes.length).toBeGreaterThanOrEqual(6);
    } finally {
      await rollBus.close();
    }
  });

  it('lake > sink > replaying the topics from offset 0 (new group) changes nothing', async () => {
    await runSink(bus, lake, { group: 'polar-lake-sink-replay', flush_rows: 1000 });
    expect(await fingerprint(lake)).toEqual(reference);
  });

  it('lake > sink > a crash between rename and ack, then a fresh sink, changes nothing', async () => {
    const crashBus = new EmbeddedBus({ retryBackoffMs: 5, maxRetryBackoffMs: 20, maxBatchMessages: 3 });
    const crashLake = join(dir, 'crash-lake');
    try {
      await publishAll(crashBus, envelopes);
      let crashes = 0;
      const crashing = createSinkStage({
        bus: crashBus, lakeRoot: crashLake, logger: silentLogger,
        options: { beforeAck: () => { crashes++; throw new Error('crash after rename, before ack'); } },
      });
      const sub = await crashing.start();
      while (crashes < 3) await new Promise((r) => setTimeout(r, 10));
      await sub.stop();
      await crashing.close();
      // Work was done before each crash: files committed, or a source's batches staged (all or nothing per source).
      const done = (['samples', 'laps', 'exercises'] as const).reduce((n, t) => n + liveFiles(crashLake, t).length + stagedSources(crashLake, t), 0);
      expect(done).toBeGreaterThan(0);
      await runSink(crashBus, crashLake, { flush_rows: 3000 });
      expect(await fingerprint(crashLake)).toEqual(reference);
    } finally {
      await crashBus.close();
    }
  });

  it('lake > sink > compaction twice leaves counts and checksums unchanged and merges files', async () => {
    const before = liveFiles(lake, 'samples').length;
    const db = await openLakeDuckDB();
    try {
      const first = await compactLake(db.conn, lake, { targetFileBytes: 64 * 1024 * 1024 });
      expect(first.length).toBeGreaterThan(0);
      expect(await fingerprint(lake)).toEqual(reference);
      expect(liveFiles(lake, 'samples').length).toBeLessThan(before);
      expect(liveFiles(lake, 'samples').length).toBe(3); // one per month partition
      const second = await compactLake(db.conn, lake, { targetFileBytes: 64 * 1024 * 1024 });
      expect(second).toEqual([]);
      expect(await fingerprint(lake)).toEqual(reference);
      // Nothing but committed files and manifests is left on disk.
      const onDisk = readdirSync(join(lake, 'samples', 'year=2026', 'month=03')).sort();
      expect(onDisk.filter((n) => n.endsWith('.parquet')).length).toBe(1);
      expect(onDisk.some((n) => n.endsWith('.tmp'))).toBe(false);
    } finally {
      db.close();
    }
  });

  it('lake > sink > a replay after compaction is still recognised, a re-parse replaces the source rows', async () => {
    await runSink(bus, lake, { group: 'polar-lake-sink-replay-2' });
    expect(await fingerprint(lake)).toEqual(reference);

    // Parser fix: the same source re-parsed with different heart rates and one row fewer.
    const target = envelopes.filter((e) => e.table === 'samples' && e.user_id === 'u-denver');
    const all = target.flatMap((e) => e.rows as RecordBatchEnvelope<'samples'>['rows']);
    const fixed = all.slice(0, -1).map((r) => ({ ...r, heart_rate_bpm: 77 }));
    const reparsed: RecordBatchEnvelope[] = [];
    for (let off = 0; off < fixed.length; off += 700) {
      reparsed.push({ ...(target[0] as RecordBatchEnvelope), row_offset: off, last: off + 700 >= fixed.length, rows: fixed.slice(off, off + 700) });
    }
    await publishAll(bus, reparsed);
    await runSink(bus, lake, {});
    const db = await openLakeViews(lake);
    try {
      const r = await db.conn.runAndReadAll(`SELECT count(*), min(heart_rate_bpm), max(heart_rate_bpm) FROM samples WHERE user_id = 'u-denver'`);
      expect(r.getRows()).toEqual([[2499n, 77, 77]]);
      const total = await db.conn.runAndReadAll(`SELECT count(*) FROM samples`);
      expect(total.getRows()).toEqual([[7999n]]);
    } finally {
      db.close();
    }
  });

  it('lake > sink > rows that do not match the schema go to the dead-letter topic, not the lake', async () => {
    const dlBus = new EmbeddedBus({ retryBackoffMs: 5 });
    const dlLake = join(dir, 'dl-lake');
    try {
      const [good] = envelopesFor({ user_id: 'u-bad', exercise_id: 'e9', start_ms: Date.UTC(2026, 0, 5), utc_offset_min: 0, samples: 10 });
      const rows = (good as RecordBatchEnvelope<'samples'>).rows.map((r, i) => (i === 3 ? { ...r, heart_rate_bpm: 'high' as unknown as number } : r));
      await publishAll(dlBus, [{ ...(good as RecordBatchEnvelope), rows }]);
      await dlBus.publish(TOPICS.samples, [{ key: 'u-bad', value: Buffer.from('{not json') }]);
      await runSink(dlBus, dlLake);
      const letters: DeadLetter[] = [];
      const sub = await dlBus.consume({ topics: [TOPICS.deadletter], group: 't' }, async (b) => {
        for (const m of b.messages) letters.push(decodeEnvelope(m.value) as DeadLetter);
      });
      await sub.drained();
      await sub.stop();
      expect(letters.map((l) => l.error['code']).sort()).toEqual(['PL_SINK_MESSAGE_INVALID', 'PL_SINK_ROW_INVALID']);
      expect(letters.find((l) => l.error['code'] === 'PL_SINK_ROW_INVALID')?.error).toMatchObject({ column: 'heart_rate_bpm', source_row: 3 });
      expect((await fingerprint(dlLake))['samples']).toMatch(/^9:/);
    } finally {
      await dlBus.close();
    }
  });

  it('lake > views.sql > runs as is in a fresh DuckDB and counts what the manifest views count', async () => {
    const db = await openLakeDuckDB();
    try {
      await db.conn.run(`SET VARIABLE lake = '${lake.replaceAll("'", "''")}'`);
      await db.conn.run(readFileSync(new URL('../../schemas/views.sql', import.meta.url), 'utf8'));
      const r = await db.conn.runAndReadAll(`SELECT (SELECT count(*) FROM samples), (SELECT count(*) FROM laps), (SELECT count(*) FROM exercises)`);
      expect(r.getRows()).toEqual([[7999n, 15n, 4n]]);
    } finally {
      db.close();
    }
  });
});
