/**
 * The API's own exercise data beside the files → rows: sample series (`exercise_series`),
 * RR intervals (`rr_intervals`), heart-rate zones (`hr_zones`) and route points (`routes`).
 *
 * Inputs come in both spellings: the transactional sub-resources (`{"samples":[...]}` as the
 * fetch stage stores them, `{"zone":[...]}`) and the listing's inline `samples`,
 * `heart_rate_zones` and `route`; inner keys may be hyphenated (`recording-rate`,
 * `lower-limit`) or snake_case. Every value may be missing.
 *
 * Time: value i of a series is at the exercise start + i × recording rate (AccessLink does not
 * document it; it is the only reading that fits the data). RR intervals have no rate: beat
 * times are the start plus the cumulative sum of the intervals. A `null` entry is a gap of
 * unknown length (the sensor was off), so it adds nothing to the sum; `segment_index` counts
 * the gaps, so times after a gap are known to be a lower bound and HRV can work per segment.
 * Route points carry an ISO duration from the start.
 *
 * Bad parts never cost the good ones: a series or point that cannot be placed is skipped and
 * reported, the rest is yielded, and one ExerciseDetailError at the end names what was
 * skipped (the parse stage keeps the rows and dead-letters the error).
 */
import type { ExerciseSeriesRow, HrZoneRow, RouteRow, RrIntervalRow, TableRows } from '../records/rows.ts';
import { isoDurationSeconds } from './exercise-summary.ts';
import { int, num, PayloadFieldError, str } from './json-payload.ts';

export class ExerciseDetailError extends PayloadFieldError {
  readonly code = 'PL_EXERCISE_DETAIL_INVALID';
}

export interface ExerciseDetailContext {
  readonly userId: string;
  readonly exerciseId: string;
  /** Raw zone key, named in errors. */
  readonly file: string;
  /** The exercise start (UTC epoch µs) and local offset, from its summary. */
  readonly startUtcUs: number;
  readonly utcOffsetMin: number | null;
}

export const RR_SAMPLE_TYPE = 11;

/** AccessLink's sample type ids (reference appendix) → column-style name and unit. */
export const SAMPLE_TYPES: Readonly<Record<number, { readonly name: string; readonly unit: string }>> = {
  0: { name: 'heart_rate', unit: 'bpm' },
  1: { name: 'speed', unit: 'km/h' },
  2: { name: 'cadence', unit: 'rpm' },
  3: { name: 'altitude', unit: 'm' },
  4: { name: 'power', unit: 'W' },
  5: { name: 'power_pedaling_index', unit: '%' },
  6: { name: 'power_lr_balance', unit: '%' },
  7: { name: 'air_pressure', unit: 'hPa' },
  8: { name: 'running_cadence', unit: 'spm' },
  9: { name: 'temperature', unit: 'C' },
  10: { name: 'distance', unit: 'm' },
  11: { name: 'rr_interval', unit: 'ms' },
};

/** Types where a 0 cannot be a reading, so a 0 is Polar's "no value" (heart rate, air pressure, RR). */
const ZERO_IS_SENTINEL = new Set([0, 7, RR_SAMPLE_TYPE]);

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v);

/** A key in either spelling (`recording-rate` / `recording_rate`). */
function field(o: Json, hyphenated: string): unknown {
  const v = o[hyphenated];
  return v !== undefined ? v : o[hyphenated.replace(/-/g, '_')];
}

/** A list given bare (listing) or wrapped (`{"samples":[...]}`, `{"zone":[...]}`); null/absent → []. */
function listOf(value: unknown, wrapper: string, ctx: ExerciseDetailContext, what: string): unknown[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value;
  if (isObject(value)) {
    const inner = value[wrapper];
    if (inner === null || inner === undefined) return [];
    if (Array.isArray(inner)) return inner;
  }
  throw new ExerciseDetailError(`expected a list of ${what}`, ctx.file, wrapper);
}

type Token = { value: number | null; missing: 'null' | 'zero_sentinel' | 'unparseable' | null };

/** One entry of a comma-separated data string. */
function readToken(text: string, zeroIsSentinel: boolean): Token {
  const t = text.trim();
  if (t === '' || t === 'null' || t === 'NULL') return { value: null, missing: 'null' };
  const n = Number(t);
  if (!Number.isFinite(n)) return { value: null, missing: 'unparseable' };
  if (n === 0 && zeroIsSentinel) return { value: null, missing: 'zero_sentinel' };
  return { value: n, missing: null };
}

/** A series' values: the API sends one comma-separated string; an array of numbers is accepted too. */
function tokensOf(data: unknown): string[] | null {
  if (data === null || data === undefined) return [];
  if (typeof data === 'string') return data.length === 0 ? [] : data.split(',');
  if (Array.isArray(data)) return data.map((v) => (v === null ? 'null' : String(v)));
  return null;
}

export type DetailOutput =
  | { readonly table: 'exercise_series'; readonly rows: TableRows['exercise_series'][] }
  | { readonly table: 'rr_intervals'; readonly rows: TableRows['rr_intervals'][] };

/**
 * Sample series → exercise_series and rr_intervals rows, in batches of `batchRows`. Throws
 * an ExerciseDetailError after the last batch when a series had to be skipped.
 */
export function* sampleSeriesRows(samples: unknown, ctx: ExerciseDetailContext, batchRows = 4096): Generator<DetailOutput> {
  const skipped: string[] = [];
  const series = listOf(samples, 'samples', ctx, 'sample series');
  for (const [s, item] of series.entries()) {
    if (!isObject(item)) {
      skipped.push(`samples[${s}]: not an object`);
      continue;
    }
    const typeId = int(Number(str(field(item, 'sample-type')) ?? NaN));
    const tokens = tokensOf(item['data']);
    if (typeId === null || typeId < 0 || typeId > 32767) {
      skipped.push(`samples[${s}]: no sample type`);
      continue;
    }
    if (tokens === null) {
      skipped.push(`samples[${s}] (type ${typeId}): data is not a string`);
      continue;
    }
    if (typeId === RR_SAMPLE_TYPE) {
      yield* rrRows(tokens, ctx, batchRows);
      continue;
    }
    const rate = num(field(item, 'recording-rate'));
    if (rate === null || rate <= 0) {
      // Without a rate the values cannot be placed in time; only RR has none, by design.
      if (tokens.length > 0) skipped.push(`samples[${s}] (type ${typeId}): no recording rate`);
      continue;
    }
    const known = SAMPLE_TYPES[typeId];
    const sampleType = known?.name ?? `type_${typeId}`;
    const unit = known?.unit ?? null;
    const zeroIsSentinel = ZERO_IS_SENTINEL.has(typeId);
    const stepUs = rate * 1_000_000;
    let batch: ExerciseSeriesRow[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = readToken(tokens[i]!, zeroIsSentinel);
      batch.push({
        user_id: ctx.userId, exercise_id: ctx.exerciseId, sample_type: sampleType, sample_type_id: typeId, sample_index: i,
        time_utc_us: ctx.startUtcUs + Math.round(i * stepUs), utc_offset_min: ctx.utcOffsetMin,
        value: t.value, unit, missing_reason: t.missing, recording_rate_s: rate,
      });
      if (batch.length >= batchRows) {
        yield { table: 'exercise_series', rows: batch };
        batch = [];
      }
    }
    if (batch.length > 0) yield { table: 'exercise_series', rows: batch };
  }
  if (skipped.length > 0) throw new ExerciseDetailError(`${skipped.length} sample series skipped: ${skipped.slice(0, 3).join('; ')}`, ctx.file, 'samples');
}

function* rrRows(tokens: readonly string[], ctx: ExerciseDetailContext, batchRows: number): Generator<DetailOutput> {
  let batch: RrIntervalRow[] = [];
  let sumUs = 0;
  let gaps = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = readToken(tokens[i]!, true);
    const isGap = t.value === null;
    if (!isGap) sumUs += Math.round((t.value as number) * 1000);
    batch.push({
      user_id: ctx.userId, exercise_id: ctx.exerciseId, beat_index: i, segment_index: gaps,
      time_utc_us: ctx.startUtcUs + sumUs, utc_offset_min: ctx.utcOffsetMin,
      interval_ms: t.value, is_gap: isGap, missing_reason: t.missing,
    });
    if (isGap) gaps++;
    if (batch.length >= batchRows) {
      yield { table: 'rr_intervals', rows: batch };
      batch = [];
    }
  }
  if (batch.length > 0) yield { table: 'rr_intervals', rows: batch };
}

/** Heart-rate zones (`{"zone":[...]}` or the listing's array; null = no zone info) → one row per zone. */
export function heartRateZoneRows(zones: unknown, ctx: ExerciseDetailContext): HrZoneRow[] {
  const rows: HrZoneRow[] = [];
  const list = listOf(zones, 'zone', ctx, 'heart-rate zones');
  for (const [i, z] of list.entries()) {
    if (!isObject(z)) throw new ExerciseDetailError('zone is not an object', ctx.file, `zone[${i}]`);
    const index = int(field(z, 'index'));
    if (index === null) throw new ExerciseDetailError('zone has no index', ctx.file, `zone[${i}].index`);
    rows.push({
      user_id: ctx.userId, exercise_id: ctx.exerciseId, zone_index: index,
      lower_limit_bpm: num(field(z, 'lower-limit')), upper_limit_bpm: num(field(z, 'upper-limit')),
      in_zone_s: isoDurationSeconds(field(z, 'in-zone')),
      start_time_utc_us: ctx.startUtcUs, utc_offset_min: ctx.utcOffsetMin,
    });
  }
  return rows;
}

/** Route points (`?route=true`) → routes rows (source_format 'api', route_index 0), in batches. */
export function* routeRows(route: unknown, ctx: ExerciseDetailContext, batchRows = 4096): Generator<RouteRow[]> {
  const points = listOf(route, 'route', ctx, 'route points');
  const skipped: number[] = [];
  let batch: RouteRow[] = [];
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    const lat = isObject(p) ? num(p['latitude']) : null;
    const lon = isObject(p) ? num(p['longitude']) : null;
    if (!isObject(p) || lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
      skipped.push(i);
      continue;
    }
    const offsetS = isoDurationSeconds(p['time']);
    batch.push({
      user_id: ctx.userId, exercise_id: ctx.exerciseId, source_format: 'api', route_index: 0, point_index: i,
      time_utc_us: offsetS === null ? null : ctx.startUtcUs + Math.round(offsetS * 1_000_000), utc_offset_min: ctx.utcOffsetMin,
      latitude_deg: lat, longitude_deg: lon, altitude_m: num(p['altitude']), distance_m: num(p['distance']),
      satellites: int(p['satellites']), fix: int(p['fix']), name: str(p['name']),
    });
    if (batch.length >= batchRows) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
  if (skipped.length > 0) throw new ExerciseDetailError(`${skipped.length} route point(s) without a valid latitude/longitude skipped (first: ${skipped[0]})`, ctx.file, 'route');
}
