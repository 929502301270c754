/**
 * The sink drops a source's rows from partitions its newest parse no longer writes, within the
 * span its last batch names: a night whose stages moved from one year's partition to the next,
 * and a source whose newest parse has no row at all (an empty `last` batch).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedBus } from '../../src/bus/embedded.ts';
import { listPartitions, openLakeViews } from '../../src/lake/views.ts';
import { encodeEnvelope, sourceIdFor, type RecordBatchEnvelope } from '../../src/records/envelope.ts';
import { dateBasedTopic, type SleepStagesRow } from '../../src/records/rows-date-based.ts';
import { createSinkStage } from '../../src/stages/sink.ts';
import { silentLogger } from '../../src/telemetry/log.ts';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const SOURCE = sourceIdFor('raw/daily/sleep/user_id=u1/date=2026-01-01/sleep.json.gz');
const OTHER = sourceIdFor('raw/daily/sleep/user_id=u1/date=2025-12-30/sleep.json.gz');
const DAY = Date.UTC(2026, 0, 1) / 86_400_000;
const stage = (isoUtc: string): SleepStagesRow => ({
  user_id: 'u1', time_utc_us: Date.parse(isoUtc) * 1000, utc_offset_min: 0, sleep_date: '2026-01-01', clock_time: isoUtc.slice(11, 16), stage: 3, stage_name: 'light', duration_s: 60, sentinel: false,
});

async function publish(bus: EmbeddedBus, sourceId: string, rows: SleepStagesRow[], span: [number, number] | null): Promise<void> {
  const env: RecordBatchEnvelope = {
    type: 'records', table: 'sleep_stages', schema_version: 1, user_id: 'u1', source_id: sourceId, row_offset: 0, last: true, ...(span ? { source_span: span } : {}), rows,
  };
  await bus.publish(dateBasedTopic('sleep_stages'), [{ key: 'u1', value: encodeEnvelope(env) }]);
}

async function sinkAll(bus: EmbeddedBus, lake: string): Promise<void> {
  const sink = createSinkStage({ bus, lakeRoot: lake, logger: silentLogger, options: { max_ack_delay_ms: 1 } });
  const sub = await sink.start();
  await sub.drained();
  await sink.close();
}

async function rowsByYear(lake: string): Promise<Record<string, number>> {
  const db = await openLakeViews(lake);
  try {
    const rows = (await db.conn.runAndReadAll(`SELECT strftime(local_date, '%Y') || ' ' || source_id AS k, count(*)::INTEGER AS n FROM sleep_stages GROUP BY ALL ORDER BY k`)).getRowObjectsJS();
    return Object.fromEntries(rows.map((r) => [String(r['k']).replace(SOURCE, 'night').replace(OTHER, 'other'), Number(r['n'])]));
  } finally {
    db.close();
  }
}

describe('lake > source sweep', () => {
  for (const withSpan of [true, false]) {
    it(`lake > source sweep > a night whose stages moved to the next year's partition (sleep_stages is partitioned by year) ${withSpan ? 'leaves none behind' : 'without a span keeps the old ones (what the span is for)'}`, async () => {
      dir = mkdtempSync(join(tmpdir(), 'polar-lake-sweep-'));
      const lake = join(dir, 'lake');
      const bus = new EmbeddedBus();
      const span: [number, number] | null = withSpan ? [DAY - 2, DAY + 2] : null;
      await publish(bus, SOURCE, [stage('2025-12-31T23:30:00Z'), stage('2025-12-31T23:45:00Z'), stage('2026-01-01T01:00:00Z')], span);
      await publish(bus, OTHER, [stage('2025-12-30T02:00:00Z')], span && [span[0] - 2, span[1] - 2]);
      await sinkAll(bus, lake);
      expect(await rowsByYear(lake)).toEqual({ '2025 night': 2, '2025 other': 1, '2026 night': 1 });

      // The re-synced night starts after midnight: all its stages are in 2026 now.
      await publish(bus, SOURCE, [stage('2026-01-01T00:10:00Z'), stage('2026-01-01T02:00:00Z')], span);
      await sinkAll(bus, lake);
      expect(await rowsByYear(lake)).toEqual(withSpan ? { '2025 other': 1, '2026 night': 2 } : { '2025 night': 2, '2025 other': 1, '2026 night': 2 });
      await bus.close();
    });
  }

  it('lake > source sweep > an empty last batch removes the source from every partition of its span; a replay of it changes nothing', async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-sweep-'));
    const lake = join(dir, 'lake');
    const bus = new EmbeddedBus();
    const span: [number, number] = [DAY - 2, DAY + 2];
    await publish(bus, SOURCE, [stage('2025-12-31T23:30:00Z'), stage('2026-01-01T01:00:00Z')], span);
    await publish(bus, OTHER, [stage('2025-12-30T02:00:00Z')], [DAY - 4, DAY]);
    await sinkAll(bus, lake);
    await publish(bus, SOURCE, [], span);
    await sinkAll(bus, lake);
    expect(await rowsByYear(lake)).toEqual({ '2025 other': 1 });
    const generations = listPartitions(lake, 'sleep_stages').map((p) => [p.partition, p.manifest.generation]);
    await publish(bus, SOURCE, [], span);
    await sinkAll(bus, lake);
    expect(await rowsByYear(lake)).toEqual({ '2025 other': 1 });
    expect(listPartitions(lake, 'sleep_stages').map((p) => [p.partition, p.manifest.generation])).toEqual(generations); // nothing rewritten

    // Two sources emptied in one flush: both go, in one commit of the partition they share.
    await publish(bus, SOURCE, [stage('2025-12-31T23:30:00Z')], span);
    await sinkAll(bus, lake);
    const before = listPartitions(lake, 'sleep_stages').find((p) => p.partition === 'year=2025')!.manifest.generation;
    await publish(bus, SOURCE, [], span);
    await publish(bus, OTHER, [], [DAY - 4, DAY]);
    await sinkAll(bus, lake);
    expect(await rowsByYear(lake)).toEqual({});
    expect(listPartitions(lake, 'sleep_stages').find((p) => p.partition === 'year=2025')!.manifest.generation).toBe(before + 1);
    await bus.close();
  });
});
