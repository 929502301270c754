/**
 * Continuous heart rate (`GET /v3/users/continuous-heart-rate/{date}` and `?from=&to=`) and
 * cardio load (`GET /v3/users/cardio-load...`).
 *
 * Continuous heart rate comes as `{date, heart_rate_samples: [{heart_rate, sample_time}]}`
 * per day; the range call has been seen answering either that same single object or
 * `{"heart_rates": [{date, heart_rate_samples}, ...]}`, so both are split into days here.
 * `sample_time` (`HH:mm:ss`) is device time with no zone: like daily activity, it stays the
 * wall time, read as UTC, with a null offset.
 */
import { DailyPayloadError, dateMidnightUtcMs, datePart, num, snakeKeys, str } from '../parse/json-payload.ts';
import type { CardioLoadRow, ContinuousHeartRateRow } from '../records/rows-date-based.ts';
import { clockKeyMs } from './clock.ts';
import type { DateBasedContext, NormalisedRows } from './types.ts';

/** The days of a continuous heart-rate answer, whichever of its two shapes it has. */
export function continuousHeartRateDays(json: unknown): unknown[] {
  if (!json || typeof json !== 'object') return [];
  if (Array.isArray(json)) return json;
  const o = json as Record<string, unknown>;
  const many = o['heart_rates'];
  if (Array.isArray(many)) return many;
  return [o];
}

export function continuousHeartRateDate(item: Record<string, unknown>): string | null {
  return datePart(item['date']);
}

export function normaliseContinuousHeartRate(json: unknown, ctx: DateBasedContext): NormalisedRows {
  const o = snakeKeys(json, ctx.file);
  const date = continuousHeartRateDate(o) ?? ctx.date ?? null;
  const midnight = dateMidnightUtcMs(date);
  if (date === null || midnight === null) throw new DailyPayloadError('no date', ctx.file, 'date');
  const samples = o['heart_rate_samples'] ?? [];
  if (!Array.isArray(samples)) throw new DailyPayloadError('expected an array of {heart_rate, sample_time}', ctx.file, 'heart_rate_samples');
  const rows: ContinuousHeartRateRow[] = [];
  const seen = new Set<number>();
  samples.forEach((s: unknown, i) => {
    const sample = (s && typeof s === 'object' ? s : {}) as Record<string, unknown>;
    const clock = sample['sample_time'];
    const ofDay = typeof clock === 'string' ? clockKeyMs(clock) : null;
    if (ofDay === null) throw new DailyPayloadError(`sample ${i}: sample_time ${JSON.stringify(clock)?.slice(0, 20)} is not HH:mm:ss`, ctx.file, 'heart_rate_samples');
    const timeUs = (midnight + ofDay) * 1000;
    if (seen.has(timeUs)) return; // a repeated sample time: the first is kept, the natural key stays unique
    seen.add(timeUs);
    const bpm = num(sample['heart_rate']);
    const value = bpm === null || bpm === 0 ? null : Math.round(bpm);
    rows.push({ user_id: ctx.userId, time_utc_us: timeUs, utc_offset_min: null, clock_time: clock as string, heart_rate_bpm: value, sentinel: value === null });
  });
  rows.sort((a, b) => a.time_utc_us - b.time_utc_us);
  return { continuous_heart_rate: rows };
}

export function cardioLoadDate(item: Record<string, unknown>): string | null {
  return datePart(item['date']);
}

export function normaliseCardioLoad(json: unknown, ctx: DateBasedContext): NormalisedRows {
  const o = snakeKeys(json, ctx.file);
  const date = cardioLoadDate(o) ?? ctx.date ?? null;
  const midnight = dateMidnightUtcMs(date);
  if (date === null || midnight === null) throw new DailyPayloadError('no date', ctx.file, 'date');
  const levels = o['cardio_load_level'];
  const level = (levels && typeof levels === 'object' && !Array.isArray(levels) ? levels : {}) as Record<string, unknown>;
  const row: CardioLoadRow = {
    user_id: ctx.userId,
    date_start_utc_us: midnight * 1000,
    utc_offset_min: null,
    cardio_load: num(o['cardio_load']),
    strain: num(o['strain']),
    tolerance: num(o['tolerance']),
    cardio_load_ratio: num(o['cardio_load_ratio']),
    cardio_load_status: str(o['cardio_load_status']),
    level_very_low: num(level['very_low'] ?? level['very-low']),
    level_low: num(level['low']),
    level_medium: num(level['medium']),
    level_high: num(level['high']),
    level_very_high: num(level['very-high'] ?? level['very_high']),
  };
  return { cardio_load: [row] };
}
