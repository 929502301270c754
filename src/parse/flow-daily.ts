/**
 * Polar Flow account export, daily files → the same `daily_activity` and `sleep` rows as
 * AccessLink's day and night payloads. No such file is in the corpus; the shapes follow what
 * people importing these exports describe, and the generated exports in
 * test/helpers/import-fixtures.ts follow them:
 *
 * - `activity-<date>-<uuid>.json`: `{exportVersion, date, summary {startTime, endTime,
 *   stepCount, calories, ...}, samples {mets[], steps[], metSources[]}, physicalInformation}`;
 *   one day per file. Taken: the date, start/end (local wall times, read as UTC as AccessLink's
 *   are), `stepCount` → steps, `calories`, `inactivityAlertCount` when present; the series
 *   stay in the raw zone.
 * - `sleep_result_<uuid>.json`: an array of nights `{night, evaluation {analysis
 *   {continuityIndex, continuityClass}, interruptions {totalDuration}}, sleepResult
 *   {hypnogram {sleepStart, sleepEnd, sleepGoal, deviceId, sleepStateChanges [{offsetFromStart,
 *   state}]}}}`; the import stores each night as its own daily object. Light (NONREM1, NONREM2),
 *   deep (NONREM3) and REM seconds are summed from the state changes up to sleepEnd.
 */
import type { DailyActivityRow, SleepRow } from '../records/rows.ts';
import { isoDurationSeconds } from './exercise-summary.ts';
import { DailyPayloadError, dateTimeAt, dateMidnightUtcMs, datePart, int, num, readDateTime, str, type DailyContext } from './json-payload.ts';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

export function isFlowActivityDay(json: unknown): boolean {
  const o = obj(json);
  return typeof o['exportVersion'] === 'string' && typeof o['date'] === 'string' && typeof o['summary'] === 'object';
}

export function isFlowSleepNight(json: unknown): boolean {
  const o = obj(json);
  return typeof o['night'] === 'string' && (typeof o['sleepResult'] === 'object' || typeof o['evaluation'] === 'object');
}

/** A `sleep_result_*.json` document: an array of nights (a single night object is accepted too). */
export function flowSleepNights(json: unknown): Json[] | null {
  const list = Array.isArray(json) ? json : [json];
  return list.length > 0 && list.every(isFlowSleepNight) ? list.map(obj) : null;
}

const wall = (v: unknown, file: string, key: string): number | null => dateTimeAt(v, file, key)?.utcUs ?? null;

export function normaliseFlowActivityDay(json: unknown, ctx: DailyContext): DailyActivityRow {
  const o = obj(json);
  const summary = obj(o['summary']);
  const date = datePart(o['date']);
  const midnight = dateMidnightUtcMs(date);
  if (date === null || midnight === null) throw new DailyPayloadError('no date', ctx.file, 'date');
  return {
    user_id: ctx.userId, date_start_utc_us: midnight * 1000, utc_offset_min: null,
    start_time_utc_us: wall(summary['startTime'], ctx.file, 'summary.startTime'), end_time_utc_us: wall(summary['endTime'], ctx.file, 'summary.endTime'),
    active_duration_s: null, inactive_duration_s: null, daily_activity_pct: num(summary['dailyActivity']), calories_kcal: num(summary['calories']),
    active_calories_kcal: null, steps: int(summary['stepCount']), inactivity_alert_count: int(summary['inactivityAlertCount']), distance_from_steps_m: num(summary['stepsDistance']),
  };
}

export function normaliseFlowSleepNight(json: unknown, ctx: DailyContext): SleepRow {
  const o = obj(json);
  const date = datePart(o['night']);
  const midnight = dateMidnightUtcMs(date);
  if (date === null || midnight === null) throw new DailyPayloadError('no night date', ctx.file, 'night');
  const hypnogram = obj(obj(o['sleepResult'])['hypnogram']);
  const evaluation = obj(o['evaluation']);
  const analysis = obj(evaluation['analysis']);
  const start = readDateTime(hypnogram['sleepStart']);
  const end = readDateTime(hypnogram['sleepEnd']);
  if (hypnogram['sleepStart'] !== undefined && !start) throw new DailyPayloadError('sleepStart is not a date-time', ctx.file, 'sleepResult.hypnogram.sleepStart');
  const stages = { light: 0, deep: 0, rem: 0 };
  const changes = Array.isArray(hypnogram['sleepStateChanges']) ? hypnogram['sleepStateChanges'].map(obj) : [];
  const spanS = start && end ? (end.utcUs - start.utcUs) / 1e6 : null;
  changes.forEach((c, i) => {
    const from = isoDurationSeconds(c['offsetFromStart']);
    const next = changes[i + 1];
    const to = next ? isoDurationSeconds(next['offsetFromStart']) : spanS;
    if (from === null || to === null || to < from) return;
    const state = String(c['state']);
    if (state === 'NONREM1' || state === 'NONREM2') stages.light += to - from;
    else if (state === 'NONREM3') stages.deep += to - from;
    else if (state === 'REM') stages.rem += to - from;
  });
  const offset = start?.offsetMin ?? null;
  const seconds = (v: unknown) => {
    const s = isoDurationSeconds(v);
    return s === null ? null : Math.round(s);
  };
  return {
    user_id: ctx.userId, date_start_utc_us: (midnight - (offset ?? 0) * 60_000) * 1000, utc_offset_min: offset,
    sleep_start_utc_us: start?.utcUs ?? null, sleep_end_utc_us: end?.utcUs ?? null, sleep_end_utc_offset_min: end?.offsetMin ?? null,
    device_id: str(hypnogram['deviceId']), continuity: num(analysis['continuityIndex']), continuity_class: int(analysis['continuityClass']),
    light_sleep_s: changes.length > 0 ? Math.round(stages.light) : null, deep_sleep_s: changes.length > 0 ? Math.round(stages.deep) : null,
    rem_sleep_s: changes.length > 0 ? Math.round(stages.rem) : null, unrecognized_sleep_stage_s: null,
    total_interruption_duration_s: seconds(obj(evaluation['interruptions'])['totalDuration']), short_interruption_duration_s: null, long_interruption_duration_s: null,
    sleep_goal_s: seconds(hypnogram['sleepGoal']), sleep_score: null, sleep_charge: null, sleep_rating: null, sleep_cycles: null,
    group_duration_score: null, group_solidity_score: null, group_regeneration_score: null,
  };
}
