/**
 * Daily-activity sample series → long rows, from both API generations.
 *
 * Current (`samples` of `/v3/users/activities[/{date}]`, or an item of
 * `/v3/users/activities/samples`):
 * - `steps: {interval_ms, total_steps, samples: [{steps, timestamp}]}`. AccessLink drops a
 *   sample whose count equals the previous one, so a gap longer than the interval means the
 *   previous count repeated. Rows keep exactly what was sent, plus `interval_s`; readers
 *   forward-fill (docs/tables.md says how). Timestamps may lack seconds.
 * - `activity_zones: {samples: [{zone, timestamp}]}`: change points.
 * - `inactivity_stamps: [{stamp}]`.
 * Legacy transactional:
 * - `/step-samples`: `{date, interval (minutes), samples: [{steps, time: "HH:mm:ss.SSS"}]}`;
 *   a null count means the segment is unavailable (`steps_missing`).
 * - `/zone-samples`: `{date, interval, samples: [{"activity-zones": [{index, inzone}], time}]}`:
 *   per-hour durations per zone, not cumulative.
 *
 * All these times are device-local wall times with no zone: they are read as UTC and
 * `utc_offset_min` stays null, like the day summary (./daily-activity.ts).
 */
import type { ActivityInactivityStampRow, ActivityStepSampleRow, ActivityZoneSampleRow } from '../records/rows.ts';
import { isoDurationSeconds } from './exercise-summary.ts';
import { DailyPayloadError, dateTimeAt, dateMidnightUtcMs, datePart, int, num, type DailyContext } from './json-payload.ts';

export interface ActivitySampleRows {
  steps: ActivityStepSampleRow[];
  zones: ActivityZoneSampleRow[];
  inactivity: ActivityInactivityStampRow[];
}

/** Legacy zone index → the current API's zone names (5, non-wear, has no current name). */
export const LEGACY_ZONES = ['SLEEP', 'SEDENTARY', 'LIGHT', 'MODERATE', 'VIGOROUS', 'NON_WEAR'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function list(value: unknown, file: string, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new DailyPayloadError('expected a list', file, field);
  return value;
}

/** A wall time without zone (`2025-08-14T00:02`); a zone, if any, is honoured. */
function wallTimeUs(value: unknown, file: string, field: string): number {
  const t = dateTimeAt(value, file, field);
  if (!t) throw new DailyPayloadError('missing date-time', file, field);
  return t.utcUs;
}

/** `HH:mm[:ss[.SSS]]` on `date` → wall time read as UTC, epoch µs. */
function timeOfDayUs(date: string, value: unknown, file: string, field: string): number {
  const m = typeof value === 'string' ? /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/.exec(value) : null;
  const midnight = dateMidnightUtcMs(date);
  if (!m || midnight === null || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) {
    throw new DailyPayloadError(`not a time of day: ${JSON.stringify(value).slice(0, 40)}`, file, field);
  }
  const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0);
  return (midnight + seconds * 1000) * 1000 + (m[4] ? Number(m[4].padEnd(6, '0')) : 0);
}

/** The sample parts of a current-API activity day (`{..., samples: {...}}`) or samples item (`{date, steps, ...}`). */
export function normaliseCurrentActivitySamples(json: unknown, ctx: DailyContext): ActivitySampleRows {
  if (!isObject(json)) throw new DailyPayloadError('expected a JSON object', ctx.file, '$');
  // A day summary carries its parts under `samples` (its own `steps` is the day's count); a samples item has them at the top.
  const isSamplesItem = isObject(json['steps']) || 'activity_zones' in json || 'inactivity_stamps' in json;
  const part = isObject(json['samples']) ? json['samples'] : isSamplesItem ? json : {};
  const base = { user_id: ctx.userId, utc_offset_min: null };
  const out: ActivitySampleRows = { steps: [], zones: [], inactivity: [] };

  const steps = part['steps'];
  if (steps !== undefined && steps !== null) {
    if (!isObject(steps)) throw new DailyPayloadError('expected an object', ctx.file, 'samples.steps');
    const intervalMs = num(steps['interval_ms']);
    const total = int(steps['total_steps']);
    list(steps['samples'], ctx.file, 'samples.steps.samples').forEach((s, i) => {
      const field = `samples.steps.samples[${i}]`;
      if (!isObject(s)) throw new DailyPayloadError('expected an object', ctx.file, field);
      const count = int(s['steps']);
      out.steps.push({
        ...base, time_utc_us: wallTimeUs(s['timestamp'], ctx.file, `${field}.timestamp`), steps: count, steps_missing: s['steps'] === null,
        interval_s: intervalMs === null ? null : intervalMs / 1000, day_total_steps: total, source_channel: 'current',
      });
    });
  }
  const zones = part['activity_zones'];
  if (zones !== undefined && zones !== null) {
    const samples = isObject(zones) ? zones['samples'] : zones; // `{samples: [...]}`, or a bare list
    list(samples, ctx.file, 'samples.activity_zones.samples').forEach((s, i) => {
      const field = `samples.activity_zones.samples[${i}]`;
      if (!isObject(s)) throw new DailyPayloadError('expected an object', ctx.file, field);
      out.zones.push({
        ...base, time_utc_us: wallTimeUs(s['timestamp'], ctx.file, `${field}.timestamp`), zone: typeof s['zone'] === 'string' ? s['zone'] : null,
        zone_index: null, in_zone_s: null, source_channel: 'current',
      });
    });
  }
  list(part['inactivity_stamps'], ctx.file, 'samples.inactivity_stamps').forEach((s, i) => {
    const field = `samples.inactivity_stamps[${i}]`;
    const stamp = isObject(s) ? s['stamp'] : s;
    out.inactivity.push({ ...base, time_utc_us: wallTimeUs(stamp, ctx.file, `${field}.stamp`) });
  });
  return out;
}

function legacyDate(o: Record<string, unknown>, ctx: DailyContext): string {
  const date = datePart(o['date']) ?? ctx.date ?? null;
  if (date === null || dateMidnightUtcMs(date) === null) throw new DailyPayloadError('no date', ctx.file, 'date');
  return date;
}

/** Legacy `/step-samples`. */
export function normaliseLegacyStepSamples(json: unknown, ctx: DailyContext): ActivityStepSampleRow[] {
  if (!isObject(json)) throw new DailyPayloadError('expected a JSON object', ctx.file, '$');
  const date = legacyDate(json, ctx);
  const intervalMin = num(json['interval']);
  return list(json['samples'], ctx.file, 'samples').map((s, i) => {
    if (!isObject(s)) throw new DailyPayloadError('expected an object', ctx.file, `samples[${i}]`);
    return {
      user_id: ctx.userId, time_utc_us: timeOfDayUs(date, s['time'], ctx.file, `samples[${i}].time`), utc_offset_min: null,
      steps: int(s['steps']), steps_missing: s['steps'] === null || s['steps'] === undefined,
      interval_s: intervalMin === null ? null : intervalMin * 60, day_total_steps: null, source_channel: 'transactional',
    };
  });
}

/** Legacy `/zone-samples`: one row per zone of each hourly sample. */
export function normaliseLegacyZoneSamples(json: unknown, ctx: DailyContext): ActivityZoneSampleRow[] {
  if (!isObject(json)) throw new DailyPayloadError('expected a JSON object', ctx.file, '$');
  const date = legacyDate(json, ctx);
  const rows: ActivityZoneSampleRow[] = [];
  list(json['samples'], ctx.file, 'samples').forEach((s, i) => {
    if (!isObject(s)) throw new DailyPayloadError('expected an object', ctx.file, `samples[${i}]`);
    const time = timeOfDayUs(date, s['time'], ctx.file, `samples[${i}].time`);
    list(s['activity-zones'] ?? s['activity_zones'], ctx.file, `samples[${i}].activity-zones`).forEach((z, j) => {
      const field = `samples[${i}].activity-zones[${j}]`;
      if (!isObject(z)) throw new DailyPayloadError('expected an object', ctx.file, field);
      const index = int(z['index']);
      const inzone = z['inzone'] ?? z['in-zone'];
      const seconds = inzone === undefined || inzone === null ? null : isoDurationSeconds(inzone);
      if (inzone !== undefined && inzone !== null && seconds === null) throw new DailyPayloadError(`not an ISO-8601 duration: ${JSON.stringify(inzone).slice(0, 40)}`, ctx.file, `${field}.inzone`);
      rows.push({
        user_id: ctx.userId, time_utc_us: time, utc_offset_min: null,
        zone: index !== null && index >= 0 && index < LEGACY_ZONES.length ? LEGACY_ZONES[index]! : null,
        zone_index: index, in_zone_s: seconds, source_channel: 'transactional',
      });
    });
  });
  return rows;
}
