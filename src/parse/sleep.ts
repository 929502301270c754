/**
 * AccessLink sleep JSON (`GET /v3/users/sleep/{date}`, one of the `nights` of
 * `GET /v3/users/sleep`) → one `SleepRow`.
 *
 * The night belongs to AccessLink's `date` (the result date: the day the user woke up), not
 * to the date sleep began: a night from 23:33 to 07:13 is the second day's. Start and end
 * carry their own offsets (`2020-01-01T00:39:07+03:00`): both become UTC instants, the
 * start's offset is `utc_offset_min`, the end's is kept beside it. A time without an offset
 * is read as UTC with a null offset. Durations arrive in seconds already. The hypnogram and
 * heart-rate maps (`HH:MM` keys, crossing midnight) stay in the raw zone.
 */
import type { SleepRow } from '../records/rows.ts';
import { DailyPayloadError, dateTimeAt, dateMidnightUtcMs, datePart, int, num, snakeKeys, str, type DailyContext } from './json-payload.ts';

export interface NormalisedSleep {
  row: SleepRow;
  /** The night's result date, `YYYY-MM-DD`. */
  date: string;
}

/** The night's result date, without building the row. */
export function sleepDate(json: unknown): string | null {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return null;
  const o = json as Record<string, unknown>;
  return datePart(o['date']) ?? datePart(o['sleep_end_time'] ?? o['sleep-end-time']);
}

const instant = (o: Record<string, unknown>, key: string, file: string) => dateTimeAt(o[key], file, key);

export function normaliseSleep(json: unknown, ctx: DailyContext): NormalisedSleep {
  const o = snakeKeys(json, ctx.file);
  const start = instant(o, 'sleep_start_time', ctx.file);
  const end = instant(o, 'sleep_end_time', ctx.file);
  const date = sleepDate(o) ?? ctx.date ?? null;
  const midnightMs = dateMidnightUtcMs(date);
  if (date === null || midnightMs === null) throw new DailyPayloadError('no date: neither date nor sleep_end_time names the night', ctx.file, 'date');
  const offset = start?.offsetMin ?? null;
  const row: SleepRow = {
    user_id: ctx.userId,
    date_start_utc_us: (midnightMs - (offset ?? 0) * 60_000) * 1000,
    utc_offset_min: offset,
    sleep_start_utc_us: start?.utcUs ?? null,
    sleep_end_utc_us: end?.utcUs ?? null,
    sleep_end_utc_offset_min: end?.offsetMin ?? null,
    device_id: str(o['device_id']),
    continuity: num(o['continuity']),
    continuity_class: int(o['continuity_class']),
    light_sleep_s: int(o['light_sleep']),
    deep_sleep_s: int(o['deep_sleep']),
    rem_sleep_s: int(o['rem_sleep']),
    unrecognized_sleep_stage_s: int(o['unrecognized_sleep_stage']),
    total_interruption_duration_s: int(o['total_interruption_duration']),
    short_interruption_duration_s: int(o['short_interruption_duration']),
    long_interruption_duration_s: int(o['long_interruption_duration']),
    sleep_goal_s: int(o['sleep_goal']),
    sleep_score: num(o['sleep_score']),
    sleep_charge: int(o['sleep_charge']),
    sleep_rating: int(o['sleep_rating']),
    sleep_cycles: int(o['sleep_cycles']),
    group_duration_score: num(o['group_duration_score']),
    group_solidity_score: num(o['group_solidity_score']),
    group_regeneration_score: num(o['group_regeneration_score']),
  };
  return { row, date };
}
