/**
 * The night's series: the sleep hypnogram and heart-rate maps (`GET /v3/users/sleep`) and
 * Nightly Recharge (`GET /v3/users/nightly-recharge`) with its HRV and breathing maps. Every
 * map is `{"HH:MM": value}`; keys are placed on instants from the night's sleep start
 * (./clock.ts). Polar's `null` and 0 values (no measurement) become rows with a null value
 * and `sentinel` true, so gaps stay visible.
 */
import { DailyPayloadError, dateMidnightUtcMs, datePart, int, num, readDateTime, snakeKeys } from '../parse/json-payload.ts';
import { normaliseSleep } from '../parse/sleep.ts';
import type { NightlyRechargeBreathingRow, NightlyRechargeHrvRow, NightlyRechargeRow, SleepHeartRateRow, SleepStagesRow } from '../records/rows-date-based.ts';
import { noonAnchor, placeClockKey, type NightAnchor } from './clock.ts';
import type { DateBasedContext, NormalisedRows } from './types.ts';

const STAGE_NAMES = ['wake', 'rem', 'lighter_non_rem', 'light_non_rem', 'deep_non_rem', 'unknown'] as const;

interface PlacedValue {
  readonly key: string;
  readonly utcMs: number;
  readonly offsetMin: number | null;
  readonly value: unknown;
}

/** A clock-keyed map placed on instants, in time order; a key that is not a clock time is a typed error naming it. */
function placeMap(map: unknown, anchor: NightAnchor, file: string, field: string): PlacedValue[] {
  if (map === undefined || map === null) return [];
  if (typeof map !== 'object' || Array.isArray(map)) throw new DailyPayloadError('expected a {"HH:MM": value} map', file, field);
  const out: PlacedValue[] = [];
  for (const [key, value] of Object.entries(map as Record<string, unknown>)) {
    const placed = placeClockKey(key, anchor);
    if (!placed) throw new DailyPayloadError(`key ${JSON.stringify(key.slice(0, 20))} is not a clock time HH:MM`, file, field);
    out.push({ key, utcMs: placed.utcMs, offsetMin: placed.offsetMin, value });
  }
  return out.sort((a, b) => a.utcMs - b.utcMs);
}

/** A measured value, or null when Polar sent null, 0 or something not a number (its "no measurement" sentinels). */
function measured(value: unknown): number | null {
  const n = num(typeof value === 'string' && value.trim() !== '' ? Number(value) : value);
  return n === null || n === 0 ? null : n;
}

/** The night's anchor from a sleep payload: start and end with their offsets; null without a start. */
export function sleepAnchor(json: unknown): NightAnchor | null {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return null;
  const o = json as Record<string, unknown>;
  const start = readDateTime(o['sleep_start_time'] ?? o['sleep-start-time']);
  if (!start) return null;
  const end = readDateTime(o['sleep_end_time'] ?? o['sleep-end-time']);
  return { startUtcMs: start.utcUs / 1000, startOffsetMin: start.offsetMin, endUtcMs: end ? end.utcUs / 1000 : null, endOffsetMin: end?.offsetMin ?? null };
}

/** A sleep night: its `sleep` row, the hypnogram as `sleep_stages`, heart rate as `sleep_heart_rate`. */
export function normaliseSleepNight(json: unknown, ctx: DateBasedContext): NormalisedRows {
  const { row, date } = normaliseSleep(json, ctx);
  const o = snakeKeys(json, ctx.file);
  const anchor = sleepAnchor(o);
  const hypnogram = o['hypnogram'];
  const heart = o['heart_rate_samples'];
  const hasMaps = (hypnogram && typeof hypnogram === 'object' && Object.keys(hypnogram).length > 0) || (heart && typeof heart === 'object' && Object.keys(heart).length > 0);
  if (!anchor) {
    if (hasMaps) throw new DailyPayloadError('clock-time maps without sleep_start_time to place them', ctx.file, 'sleep_start_time');
    return { sleep: [row], sleep_stages: [], sleep_heart_rate: [] };
  }
  const endMs = anchor.endUtcMs;
  const placedStages = placeMap(hypnogram, anchor, ctx.file, 'hypnogram');
  const stages: SleepStagesRow[] = placedStages.map((p, i) => {
    const code = int(p.value);
    const valid = code !== null && code >= 0 && code <= 5;
    const next = placedStages[i + 1]?.utcMs ?? endMs;
    return {
      user_id: ctx.userId, time_utc_us: p.utcMs * 1000, utc_offset_min: p.offsetMin, sleep_date: date, clock_time: p.key,
      stage: valid ? code : null, stage_name: valid ? STAGE_NAMES[code]! : null,
      duration_s: next !== null && next >= p.utcMs ? Math.round((next - p.utcMs) / 1000) : null,
      sentinel: !valid,
    };
  });
  const heartRows: SleepHeartRateRow[] = placeMap(heart, anchor, ctx.file, 'heart_rate_samples').map((p) => {
    const bpm = measured(p.value);
    return { user_id: ctx.userId, time_utc_us: p.utcMs * 1000, utc_offset_min: p.offsetMin, sleep_date: date, clock_time: p.key, heart_rate_bpm: bpm === null ? null : Math.round(bpm), sentinel: bpm === null };
  });
  return { sleep: [row], sleep_stages: stages, sleep_heart_rate: heartRows };
}

export function nightlyRechargeDate(item: Record<string, unknown>): string | null {
  return datePart(item['date']);
}

/**
 * A Nightly Recharge: its wide row and the HRV and breathing series. The series are anchored
 * on the same night's sleep start, read from the raw zone (the sweep fetches sleep first);
 * without it, the noon rule of ./clock.ts applies and the offset is null.
 */
export async function normaliseNightlyRecharge(json: unknown, ctx: DateBasedContext): Promise<NormalisedRows> {
  const o = snakeKeys(json, ctx.file);
  const date = nightlyRechargeDate(o) ?? ctx.date ?? null;
  const midnight = dateMidnightUtcMs(date);
  if (date === null || midnight === null) throw new DailyPayloadError('no date', ctx.file, 'date');
  const sleep = ctx.readDaily ? await ctx.readDaily('sleep', date) : null;
  const fromSleep = sleepAnchor(sleep);
  const anchor = fromSleep ?? (noonAnchor(date) as NightAnchor);
  const offset = fromSleep?.startOffsetMin ?? null;
  const row: NightlyRechargeRow = {
    user_id: ctx.userId,
    date_start_utc_us: (midnight - (offset ?? 0) * 60_000) * 1000,
    utc_offset_min: offset,
    sleep_start_utc_us: fromSleep ? Math.round(fromSleep.startUtcMs * 1000) : null,
    heart_rate_avg_bpm: num(o['heart_rate_avg']),
    beat_to_beat_avg_ms: num(o['beat_to_beat_avg']),
    heart_rate_variability_avg_ms: num(o['heart_rate_variability_avg']),
    breathing_rate_avg: num(o['breathing_rate_avg']),
    nightly_recharge_status: int(o['nightly_recharge_status']),
    ans_charge: num(o['ans_charge']),
    ans_charge_status: int(o['ans_charge_status']),
  };
  const hrv: NightlyRechargeHrvRow[] = placeMap(o['hrv_samples'], anchor, ctx.file, 'hrv_samples').map((p) => {
    const v = measured(p.value);
    return { user_id: ctx.userId, time_utc_us: p.utcMs * 1000, utc_offset_min: p.offsetMin, sleep_date: date, clock_time: p.key, hrv_ms: v, sentinel: v === null };
  });
  const breathing: NightlyRechargeBreathingRow[] = placeMap(o['breathing_samples'], anchor, ctx.file, 'breathing_samples').map((p) => {
    const v = measured(p.value);
    return { user_id: ctx.userId, time_utc_us: p.utcMs * 1000, utc_offset_min: p.offsetMin, sleep_date: date, clock_time: p.key, breathing_rate: v, sentinel: v === null };
  });
  return { nightly_recharge: [row], nightly_recharge_hrv: hrv, nightly_recharge_breathing: breathing };
}
