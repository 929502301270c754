/**
 * All or nothing per source at the sink (src/lake/staging.ts): staged rows stay invisible until
 * the source's last batch; an abort or a gap discards them; a re-parse replaces; compaction in
 * between changes nothing.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../src/bus/embedded.ts';
import { TOPICS } from '../../src/bus/bus.ts';
import { compactLake } from '../../src/lake/compact.ts';
import { openLakeDuckDB } from '../../src/lake/duckdb.ts';
import { stagedSources, stagingDir } from '../../src/lake/staging.ts';
import { openLakeViews } from '../../src/lake/views.ts';
import { decodeEnvelope, encodeEnvelope, type DeadLetter, type RecordBatchEnvelope } from '../../src/records/envelope.ts';
import { createSinkStage } from '../../src/stages/sink.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { envelopesFor } from '../helpers/lake-rows.ts';

// 23:45 local on 31 March: the workout's rows fall in March and April.
const SPEC = { user_id: 'u1', exercise_id: 'e1', start_ms: Date.UTC(2026, 2, 31, 21, 45), utc_offset_min: 120, samples: 2000 };

describe('sink > staging', () => {
  let dir: string;
  let bus: EmbeddedBus;
  afterEach(async () => {
    await bus?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function setup() {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-staging-'));
    bus = new EmbeddedBus({ logger: silentLogger, retryBackoffMs: 5, maxRetryBackoffMs: 20 });
    return join(dir, 'lake');
  }
  const samples = (spec = SPEC) => envelopesFor(spec, 250).filter((e): e is RecordBatchEnvelope<'samples'> => e.table === 'samples');
  const publish = (list: readonly RecordBatchEnvelope[]) => bus.publish(TOPICS.samples, list.map((e) => ({ key: e.user_id, value: encodeEnvelope(e) })));
  async function sinkRun(lake: string, group = 'sink'): Promise<void> {
    const sink = createSinkStage({ bus, lakeRoot: lake, logger: silentLogger, options: { flush_rows: 500, max_ack_delay_ms: 5, group } });
    const sub = await sink.start();
    await sub.drained();
    await sink.close();
  }
  async function one(lake: string, sql: string): Promise<number> {
    const db = await openLakeViews(lake);
    try {
      return Number((await db.conn.runAndReadAll(sql)).getRows()[0]?.[0]);
    } finally {
      db.close();
    }
  }
  const stagingLeft = (lake: string) => (existsSync(stagingDir(lake, 'samples')) ? readdirSync(stagingDir(lake, 'samples')) : []);

  it('sink > staging > an abort after rows were staged in two partitions leaves zero rows and nothing staged', async () => {
    const lake = setup();
    const list = samples();
    const abort: RecordBatchEnvelope = { ...list[0]!, row_offset: 1500, last: false, aborted: true, rows: [] };
    await publish([...list.slice(0, 6), abort]);
    await sinkRun(lake);
    expect(await one(lake, 'SELECT count(*) FROM samples')).toBe(0);
    expect(stagingLeft(lake)).toEqual([]);
    // A later good parse of the same file lands whole.
    await publish(list);
    await sinkRun(lake);
    expect(await one(lake, 'SELECT count(*) FROM samples')).toBe(2000);
    expect(await one(lake, 'SELECT count(DISTINCT month) FROM samples')).toBe(2);
  });

  it('sink > staging > a re-parse with new content (a parser fix) of a multi-flush source replaces its rows in every partition', async () => {
    const lake = setup();
    await publish(samples());
    await sinkRun(lake);
    const fixed = samples().map((e) => ({ ...e, rows: e.rows.map((r) => ({ ...r, heart_rate_bpm: 77 })) }));
    await publish(fixed);
    await sinkRun(lake);
    expect(await one(lake, 'SELECT count(*) FROM samples')).toBe(2000);
    expect(await one(lake, 'SELECT count(*) FROM samples WHERE heart_rate_bpm = 77')).toBe(2000);
    expect(stagingLeft(lake)).toEqual([]);
  });

  it('sink > staging > a source whose middle batch never arrived is not made visible; its dead letter is PL_SINK_SOURCE_INCOMPLETE', async () => {
    const lake = setup();
    const list = samples();
    await publish([...list.slice(0, 3), ...list.slice(4)]);
    await sinkRun(lake);
    expect(await one(lake, 'SELECT count(*) FROM samples')).toBe(0);
    expect(stagingLeft(lake)).toEqual([]);
    const letters: DeadLetter[] = [];
    const sub = await bus.consume({ topics: [TOPICS.deadletter], group: 'dlq' }, async (b) => void letters.push(...b.messages.map((m) => decodeEnvelope(m.value) as DeadLetter)));
    await sub.drained();
    await sub.stop();
    expect(letters.map((l) => [l.error['code'], l.error['missing_from_row']])).toEqual([['PL_SINK_SOURCE_INCOMPLETE', 750]]);
  });

  it('sink > staging > compaction while a source is staged, then its completion: every row once; a replay from offset 0 changes nothing', async () => {
    const lake = setup();
    const other = samples({ ...SPEC, exercise_id: 'e0', start_ms: Date.UTC(2026, 2, 31, 8, 0), samples: 900 });
    await publish(other);
    await sinkRun(lake);
    await publish(samples({ ...SPEC, exercise_id: 'e2', start_ms: Date.UTC(2026, 2, 31, 10, 0), samples: 900 }));
    const list = samples();
    await publish(list.slice(0, 5));
    await sinkRun(lake);
    expect(stagedSources(lake, 'samples')).toBe(1);
    const db = await openLakeDuckDB();
    try {
      expect((await compactLake(db.conn, lake)).length).toBeGreaterThan(0);
    } finally {
      db.close();
    }
    await publish(list.slice(5));
    await sinkRun(lake);
    expect(await one(lake, 'SELECT count(*) FROM samples')).toBe(3800);
    expect(await one(lake, 'SELECT count(DISTINCT (exercise_id, source_row)) FROM samples')).toBe(3800);
    await sinkRun(lake, 'replay');
    expect(await one(lake, 'SELECT count(*) FROM samples')).toBe(3800);
    expect(stagingLeft(lake)).toEqual([]);
  });
});

describe('sink > all or nothing > a source in one flush', () => {
  it('sink > a source whose middle message is not a record batch lands none of its rows (PL_SINK_SOURCE_INCOMPLETE), the next source lands', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'polar-lake-staging-'));
    const bus = new EmbeddedBus({ logger: silentLogger, retryBackoffMs: 5, maxRetryBackoffMs: 20 });
    try {
      const lake = join(dir, 'lake');
      const list = envelopesFor({ ...SPEC, start_ms: Date.UTC(2026, 4, 3, 8, 0), samples: 900 }, 300).filter((e) => e.table === 'samples');
      const next = envelopesFor({ ...SPEC, exercise_id: 'e2', start_ms: Date.UTC(2026, 4, 4, 8, 0), samples: 400 }, 300).filter((e) => e.table === 'samples');
      const value = (e: RecordBatchEnvelope) => ({ key: e.user_id, value: encodeEnvelope(e) });
      // One delivery: the whole first source is in one flush, its second batch garbled on the way.
      await bus.publish(TOPICS.samples, [value(list[0]!), { key: 'u1', value: Buffer.from('not a batch') }, value(list[2]!), ...next.map(value)]);
      const sink = createSinkStage({ bus, lakeRoot: lake, logger: silentLogger, options: { max_ack_delay_ms: 5 } });
      const sub = await sink.start();
      await sub.drained();
      await sink.close();
      const db = await openLakeViews(lake);
      try {
        const rows = (await db.conn.runAndReadAll('SELECT exercise_id, count(*)::INTEGER FROM samples GROUP BY ALL')).getRows();
        expect(rows).toEqual([['e2', 400]]);
      } finally {
        db.close();
      }
      const codes: unknown[] = [];
      const dlq = await bus.consume({ topics: [TOPICS.deadletter], group: 'dlq' }, async (b) => void codes.push(...b.messages.map((m) => (decodeEnvelope(m.value) as DeadLetter).error['code'])));
      await dlq.drained();
      await dlq.stop();
      expect(codes.sort()).toEqual(['PL_SINK_MESSAGE_INVALID', 'PL_SINK_SOURCE_INCOMPLETE']);
    } finally {
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
