/**
 * SleepWise alertness and circadian bedtime (`GET /v3/users/sleepwise/...`). Their times are
 * UTC written without a `Z` (`2025-03-30T21:40:00`): read as UTC, never as local time. A
 * string that does carry a `Z` or an offset is read with it. The local offset is
 * `sleep_timezone_offset_minutes`; a period's day is its start's local date.
 */
import { DailyPayloadError, dateTimeAt, int, num, readDateTime, snakeKeys, str } from '../parse/json-payload.ts';
import type { SleepwiseAlertnessHourlyRow, SleepwiseAlertnessRow, SleepwiseCircadianBedtimeRow } from '../records/rows-date-based.ts';
import { localDateAt } from './clock.ts';
import { itemsOf, type DateBasedContext, type NormalisedRows } from './types.ts';

/** A SleepWise time ("UTC without Z") → epoch µs; null when absent; a typed error when malformed. */
function utcTime(o: Record<string, unknown>, key: string, file: string): number | null {
  return dateTimeAt(o[key], file, key)?.utcUs ?? null;
}

/** The local date of a SleepWise period's start; null without one. */
export function sleepwiseDate(item: Record<string, unknown>): string | null {
  const t = readDateTime(item['period_start_time']);
  if (!t) return null;
  return localDateAt(t.utcUs / 1000, int(item['sleep_timezone_offset_minutes']));
}

function periodStart(o: Record<string, unknown>, file: string): number {
  const start = utcTime(o, 'period_start_time', file);
  if (start === null) throw new DailyPayloadError('no period_start_time', file, 'period_start_time');
  return start;
}

export function normaliseAlertness(json: unknown, ctx: DateBasedContext): NormalisedRows {
  const periods: SleepwiseAlertnessRow[] = [];
  const hours: SleepwiseAlertnessHourlyRow[] = [];
  for (const item of itemsOf(json)) {
    const o = snakeKeys(item, ctx.file);
    const start = periodStart(o, ctx.file);
    const offset = int(o['sleep_timezone_offset_minutes']);
    periods.push({
      user_id: ctx.userId, period_start_utc_us: start, period_end_utc_us: utcTime(o, 'period_end_time', ctx.file), utc_offset_min: offset,
      grade: num(o['grade']), grade_validity_s: int(o['grade_validity_seconds']), grade_type: str(o['grade_type']),
      grade_classification: str(o['grade_classification']), validity: str(o['validity']), sleep_inertia: str(o['sleep_inertia']),
      sleep_type: str(o['sleep_type']), result_type: str(o['result_type']),
      sleep_period_start_utc_us: utcTime(o, 'sleep_period_start_time', ctx.file), sleep_period_end_utc_us: utcTime(o, 'sleep_period_end_time', ctx.file),
    });
    const hourly = o['hourly_data'] ?? [];
    if (!Array.isArray(hourly)) throw new DailyPayloadError('expected an array', ctx.file, 'hourly_data');
    for (const h of itemsOf(hourly)) {
      const hourStart = utcTime(h, 'start_time', ctx.file);
      if (hourStart === null) throw new DailyPayloadError('an hour without start_time', ctx.file, 'hourly_data');
      hours.push({
        user_id: ctx.userId, start_time_utc_us: hourStart, end_time_utc_us: utcTime(h, 'end_time', ctx.file), utc_offset_min: offset,
        period_start_utc_us: start, validity: str(h['validity']), alertness_level: str(h['alertness_level']),
      });
    }
  }
  return { sleepwise_alertness: periods, sleepwise_alertness_hourly: hours };
}

export function normaliseCircadianBedtime(json: unknown, ctx: DateBasedContext): NormalisedRows {
  const rows: SleepwiseCircadianBedtimeRow[] = itemsOf(json).map((item) => {
    const o = snakeKeys(item, ctx.file);
    return {
      user_id: ctx.userId, period_start_utc_us: periodStart(o, ctx.file), period_end_utc_us: utcTime(o, 'period_end_time', ctx.file),
      utc_offset_min: int(o['sleep_timezone_offset_minutes']), validity: str(o['validity']), quality: str(o['quality']), result_type: str(o['result_type']),
      preferred_sleep_period_start_utc_us: utcTime(o, 'preferred_sleep_period_start_time', ctx.file),
      preferred_sleep_period_end_utc_us: utcTime(o, 'preferred_sleep_period_end_time', ctx.file),
      sleep_gate_start_utc_us: utcTime(o, 'sleep_gate_start_time', ctx.file), sleep_gate_end_utc_us: utcTime(o, 'sleep_gate_end_time', ctx.file),
    };
  });
  return { sleepwise_circadian_bedtime: rows };
}
