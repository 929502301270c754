/**
 * Where a row goes: `<lake>/<table>/year=YYYY/month=MM` (samples, laps) or
 * `<lake>/<table>/year=YYYY` (exercises), from the row's local date.
 *
 * Why: people query a date range, one user, or one sport. At 10,000 users × 1 h a day of
 * 1 Hz samples (36 M rows a day, ~1 G a month) a month holds a few GB, which compaction
 * cuts into files of ~256 MB sorted by (user_id, time): a date range prunes partitions by
 * path, one user prunes row groups by min/max statistics. Per-user or per-day partitions
 * would make 10,000 (or 365) small folders a year instead. Exercises (~3.6 M rows a year)
 * get one partition a year.
 */
import type { TableSchema } from './schema.ts';

const US_PER_MIN = 60_000_000;
const US_PER_DAY = 86_400_000_000;

/**
 * Local calendar date of an instant as days since 1970-01-01 (UTC date when the offset is
 * unknown). A row without an instant (a route point or a source file with no time, where the
 * schema allows it) gets day 0: partition year=1970, whatever its offset.
 */
export function localEpochDay(utcUs: number | null, offsetMin: number | null): number {
  if (utcUs === null) return 0;
  return Math.floor((utcUs + (offsetMin ?? 0) * US_PER_MIN) / US_PER_DAY);
}

/** The timestamp field local_date derives from (e.g. `time_utc_us`). */
export function localDateField(schema: TableSchema): string {
  const spec = schema.columns.find((c) => c.name === 'local_date');
  const from = spec?.derive?.slice('local_date:'.length);
  const field = schema.columns.find((c) => c.name === from)?.field;
  if (!field) throw new TypeError(`${schema.name}: local_date has no timestamp field`);
  return field;
}

/** Partition path (`year=2026/month=03`) of a local epoch day, following the schema's partition_by. */
export function partitionOfDay(schema: TableSchema, epochDay: number): string {
  const d = new Date(epochDay * 86_400_000);
  const parts: string[] = [];
  for (const p of schema.partition_by) {
    if (p.expr === 'year(local_date)') parts.push(`${p.name}=${d.getUTCFullYear()}`);
    else if (p.expr === 'month(local_date)') parts.push(`${p.name}=${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
    else throw new TypeError(`${schema.name}: partition expression ${p.expr} is not supported by the sink`);
  }
  return parts.join('/');
}

export { partitionDir } from './layout.ts';
