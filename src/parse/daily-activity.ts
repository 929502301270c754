/**
 * AccessLink daily activity JSON → one `DailyActivityRow`.
 *
 * Reads the non-transactional day summary of `GET /v3/users/activities[/{date}]`
 * (snake_case: `start_time`, `active_duration`, `daily_activity`, `steps`, ...) and the
 * legacy transactional summary (hyphenated: `date`, `duration`, `active-calories`,
 * `active-steps`); mixtures give the same row. The `samples` part (steps, zones,
 * inactivity stamps) stays in the raw zone.
 *
 * The day: the payload's own `date`, else `samples.date`, else the date of `start_time`
 * (the beta payload has no `date`; its `start_time` is the day's local midnight), else
 * the date the fetch stage asked for. AccessLink gives no offset for a day: the times are
 * read as UTC, as AccessLink labels them, and `utc_offset_min` stays null.
 */
import type { DailyActivityRow } from '../records/rows.ts';
import { isoDurationSeconds } from './exercise-summary.ts';
import { DailyPayloadError, dateTimeAt, dateMidnightUtcMs, datePart, int, num, snakeKeys, type DailyContext } from './json-payload.ts';

export interface NormalisedDailyActivity {
  row: DailyActivityRow;
  /** The day the row is for, `YYYY-MM-DD`. */
  date: string;
}

/** The day a payload is about, without building the row (the fetch stage keys raw objects by it). */
export function dailyActivityDate(json: unknown): string | null {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return null;
  const o = json as Record<string, unknown>;
  const samples = o['samples'];
  const sampleDate = samples && typeof samples === 'object' && !Array.isArray(samples) ? (samples as Record<string, unknown>)['date'] : undefined;
  return datePart(o['date']) ?? datePart(sampleDate) ?? datePart(o['start_time'] ?? o['start-time']);
}

function durationField(o: Record<string, unknown>, key: string, file: string): number | null {
  const value = o[key];
  if (value === undefined || value === null) return null;
  const seconds = isoDurationSeconds(value);
  if (seconds === null) throw new DailyPayloadError(`not an ISO-8601 duration: ${JSON.stringify(value).slice(0, 40)}`, file, key);
  return seconds;
}

function timeField(o: Record<string, unknown>, key: string, file: string): number | null {
  return dateTimeAt(o[key], file, key)?.utcUs ?? null;
}

export function normaliseDailyActivity(json: unknown, ctx: DailyContext): NormalisedDailyActivity {
  const o = snakeKeys(json, ctx.file);
  const date = dailyActivityDate(o) ?? ctx.date ?? null;
  const midnightMs = dateMidnightUtcMs(date);
  if (date === null || midnightMs === null) {
    throw new DailyPayloadError('no date: neither date, samples.date nor start_time names the day', ctx.file, 'date');
  }
  const row: DailyActivityRow = {
    user_id: ctx.userId,
    date_start_utc_us: midnightMs * 1000,
    utc_offset_min: null,
    start_time_utc_us: timeField(o, 'start_time', ctx.file),
    end_time_utc_us: timeField(o, 'end_time', ctx.file),
    // The legacy summary has one `duration` (the day's active time) and no inactive time.
    active_duration_s: durationField(o, 'active_duration', ctx.file) ?? durationField(o, 'duration', ctx.file),
    inactive_duration_s: durationField(o, 'inactive_duration', ctx.file),
    daily_activity_pct: num(o['daily_activity']),
    calories_kcal: num(o['calories']),
    active_calories_kcal: num(o['active_calories']),
    steps: int(o['steps']) ?? int(o['active_steps']),
    inactivity_alert_count: int(o['inactivity_alert_count']),
    distance_from_steps_m: num(o['distance_from_steps']),
  };
  return { row, date };
}
