/**
 * Polar Flow account export (the GDPR "download your data" zip): a training-session JSON
 * (`training-session-<date>-<id>-<uuid>.json`) → sample, lap and exercise rows.
 *
 * As found (exportVersion 1.3, AlexanderFabisch_slither/running.json in the corpus, and the
 * generated exports in test/helpers/flow-export.ts): the session holds `startTime` /
 * `stopTime` as local wall times without a zone, `timeZoneOffset` in minutes, `duration`
 * (ISO 8601), `distance` (m), `kiloCalories`, `averageHeartRate`, `maximumHeartRate`, and
 * `exercises[]` (one per sport of a multisport session: `sport`, `startTime`, `duration`,
 * `heartRate {min, avg, max}`, `samples {heartRate, speed, cadence, altitude, distance,
 * temperature, power: [{dateTime, value}], recordedRoute: [{dateTime, latitude, longitude,
 * altitude}]}`, `laps[]` with `duration`, `distance`, `heartRate {avg, max}`, `zones`).
 *
 * Rules: one exercise row per file (the session); exercise i of the session is
 * `activity_index` i; series are joined by their local dateTime (local − offset = UTC).
 * In the corpus file the recordedRoute's dateTimes run 1 h 20 min past the heart-rate series
 * (past stopTime, so not a zone shift); when the route has as many points as the heart-rate
 * series it is joined by position, else by its own times. Speeds are km/h (→ m/s). Zones
 * stay in the raw zone (no table holds them). The document is read whole, with a size cap:
 * JSON has no record boundary to stream on.
 *
 * Newer exports (as described by people importing them; no such file is in the corpus, the
 * generated ones in test/helpers/import-fixtures.ts follow that description) name the session
 * `identifier.id`, give `durationMillis`, `distanceMeters`, `calories`,
 * `timezoneOffsetMinutes`, `sport.id` (a numeric Polar sport id: kept in
 * `detailed_sport_info`, the sport itself left unknown), and per exercise
 * `samples.samples[] {type: HEART_RATE | SPEED | CADENCE | ALTITUDE | DISTANCE | TEMPERATURE |
 * POWER, intervalMillis, values[]}` from the exercise's start, `route.wayPoints[] {latitude,
 * longitude, altitude, elapsedMillis}`, `laps[]` with `durationMillis` / `distanceMeters`.
 * Times with a zone are read as such; without, as local wall times at the offset.
 */
import type { ExerciseRow, LapRow, SampleRow } from '../records/rows.ts';
import { instantToUtcMicros, isoDurationSeconds, localTimeToUtcMicros } from './exercise-summary.ts';
import { ParseError } from './errors.ts';
import { importedExerciseRow, type ImportParseOutput } from './imported-row.ts';
import { emptyLap, emptySample, type ParseContext } from './values.ts';

/** A training-session JSON larger than this is refused (the largest real ones are tens of MB). */
export const MAX_FLOW_SESSION_BYTES = 512 * 1024 * 1024;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

const SERIES: Record<string, (row: SampleRow, v: number) => void> = {
  heartRate: (r, v) => (r.heart_rate_bpm = v > 0 ? v : null),
  speed: (r, v) => (r.speed_mps = v / 3.6),
  cadence: (r, v) => (r.cadence_rpm = v),
  altitude: (r, v) => (r.altitude_m = v),
  distance: (r, v) => (r.distance_m = v),
  temperature: (r, v) => (r.temperature_c = v),
  power: (r, v) => (r.power_w = v),
};

/** True when a parsed JSON document looks like a Flow export training session (exportVersion 1.x or the newer identifier shape). */
export function isFlowTrainingSession(json: unknown): boolean {
  const o = obj(json);
  return (typeof o['exportVersion'] === 'string' || typeof o['identifier'] === 'object') && Array.isArray(o['exercises']) && typeof o['startTime'] === 'string';
}

/** Series names of the newer shape's `samples.samples[].type` → the 1.x names. */
const TYPED_SERIES: Record<string, string> = {
  HEART_RATE: 'heartRate', SPEED: 'speed', CADENCE: 'cadence', ALTITUDE: 'altitude', DISTANCE: 'distance', TEMPERATURE: 'temperature', POWER: 'power',
};
const millisToS = (v: unknown): number | null => (num(v) === null ? null : (num(v) as number) / 1000);

async function readWhole(input: AsyncIterable<Buffer>, file: string): Promise<unknown> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    size += chunk.length;
    if (size > MAX_FLOW_SESSION_BYTES) throw new ParseError('PL_PARSE_FLOW_INVALID', `larger than ${MAX_FLOW_SESSION_BYTES} bytes`, file, { byteOffset: MAX_FLOW_SESSION_BYTES });
    parts.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(parts, size).toString('utf8'));
  } catch (cause) {
    throw new ParseError('PL_PARSE_FLOW_INVALID', `not JSON: ${(cause as Error).message}`, file, {}, { cause });
  }
}

export async function* parseFlowTrainingSession(input: AsyncIterable<Buffer>, ctx: ParseContext, options: { batchRows?: number } = {}): AsyncGenerator<ImportParseOutput> {
  const batchRows = Math.max(1, options.batchRows ?? 512);
  const session = obj(await readWhole(input, ctx.file));
  const fail = (detail: string): never => {
    throw new ParseError('PL_PARSE_FLOW_INVALID', detail, ctx.file);
  };
  if (!isFlowTrainingSession(session)) fail('not a training session (needs exportVersion, startTime and exercises[])');
  const offset = num(session['timeZoneOffset']) ?? num(session['timezoneOffsetMinutes']);
  const toUtc = (local: unknown, at: string): number => {
    const us = typeof local === 'string' ? (localTimeToUtcMicros(local, offset ?? 0) ?? instantToUtcMicros(local)) : null;
    return us ?? fail(`${at}: ${JSON.stringify(local)} is not a date-time`);
  };
  const startUtc = toUtc(session['startTime'], 'startTime');
  const laps: LapRow[] = [];
  const sports: string[] = [];

  for (const [activity, exercise] of arr(session['exercises']).map(obj).entries()) {
    if (typeof exercise['sport'] === 'string') sports.push(exercise['sport']);
    const exerciseStart = typeof exercise['startTime'] === 'string' ? toUtc(exercise['startTime'], `exercises[${activity}].startTime`) : startUtc;
    const samples = obj(exercise['samples']);
    const rows = new Map<number, SampleRow>();
    const at = (timeUs: number): SampleRow => {
      let row = rows.get(timeUs);
      if (!row) {
        row = emptySample(ctx, 'flow', activity);
        row.time_utc_us = timeUs;
        row.utc_offset_min = offset;
        rows.set(timeUs, row);
      }
      return row;
    };
    const hrTimes: number[] = [];
    for (const [name, apply] of Object.entries(SERIES)) {
      for (const [i, point] of arr(samples[name]).map(obj).entries()) {
        const value = num(point['value']);
        if (point['dateTime'] === undefined) continue;
        const t = toUtc(point['dateTime'], `exercises[${activity}].samples.${name}[${i}].dateTime`);
        if (name === 'heartRate') hrTimes.push(t);
        if (value !== null) apply(at(t), value);
      }
    }
    // Newer shape: typed series at a fixed interval from the exercise's start.
    for (const series of arr(samples['samples']).map(obj)) {
      const apply = SERIES[TYPED_SERIES[String(series['type'])] ?? ''];
      const intervalMs = num(series['intervalMillis']);
      if (!apply || intervalMs === null || intervalMs <= 0) continue;
      for (const [k, value] of arr(series['values']).entries()) {
        const v = num(value);
        const t = exerciseStart + Math.round(k * intervalMs * 1000);
        if (series['type'] === 'HEART_RATE') hrTimes.push(t);
        if (v !== null) apply(at(t), v);
      }
    }
    for (const point of arr(obj(exercise['route'])['wayPoints']).map(obj)) {
      const elapsed = num(point['elapsedMillis']);
      if (elapsed === null) continue;
      const row = at(exerciseStart + Math.round(elapsed * 1000));
      row.latitude_deg = num(point['latitude']);
      row.longitude_deg = num(point['longitude']);
      row.altitude_m ??= num(point['altitude']);
    }
    const route = arr(samples['recordedRoute']).map(obj);
    const byPosition = route.length > 0 && route.length === hrTimes.length;
    for (const [i, point] of route.entries()) {
      const t = byPosition ? (hrTimes[i] as number) : toUtc(point['dateTime'], `exercises[${activity}].samples.recordedRoute[${i}].dateTime`);
      const row = at(t);
      row.latitude_deg = num(point['latitude']);
      row.longitude_deg = num(point['longitude']);
      row.altitude_m ??= num(point['altitude']);
    }
    const sorted = [...rows.values()].sort((a, b) => a.time_utc_us - b.time_utc_us);
    for (let i = 0; i < sorted.length; i += batchRows) {
      yield { table: 'samples', rows: sorted.slice(i, i + batchRows) };
    }

    let lapStart = exerciseStart;
    for (const [index, lap] of arr(exercise['laps']).map(obj).entries()) {
      const row = emptyLap(ctx, 'flow', activity, index);
      const duration = isoDurationSeconds(lap['duration']) ?? millisToS(lap['durationMillis']);
      row.start_time_utc_us = lapStart;
      row.utc_offset_min = offset;
      row.total_time_s = duration;
      row.distance_m = num(lap['distance']) ?? num(lap['distanceMeters']);
      row.avg_heart_rate_bpm = num(obj(lap['heartRate'])['avg']);
      row.max_heart_rate_bpm = num(obj(lap['heartRate'])['max']);
      row.max_speed_mps = num(obj(lap['speed'])['max']) === null ? null : (num(obj(lap['speed'])['max']) as number) / 3.6;
      row.avg_cadence_rpm = num(obj(lap['cadence'])['avg']);
      row.avg_power_w = num(obj(lap['power'])['avg']);
      laps.push(row);
      lapStart += Math.round((duration ?? 0) * 1e6);
    }
  }
  if (laps.length > 0) yield { table: 'laps', rows: laps };

  const row: ExerciseRow = importedExerciseRow(ctx, {
    startUtcUs: startUtc,
    offsetMin: offset,
    durationS: isoDurationSeconds(session['duration']) ?? millisToS(session['durationMillis']),
    sport: sports.length > 0 ? sports.join(',') : null,
    device: typeof obj(session['product'])['modelName'] === 'string' ? (obj(session['product'])['modelName'] as string) : typeof session['deviceId'] === 'string' ? session['deviceId'] : null,
  });
  const sportId = obj(session['sport'])['id'];
  if (sportId !== undefined) row.detailed_sport_info = String(sportId);
  row.device_id = typeof session['deviceId'] === 'string' ? session['deviceId'] : null;
  row.distance_m = num(session['distance']) ?? num(session['distanceMeters']);
  row.calories_kcal = num(session['kiloCalories']) ?? num(session['calories']);
  row.training_load = num(session['trainingLoad']);
  row.heart_rate_avg_bpm = num(session['averageHeartRate']);
  row.heart_rate_max_bpm = num(session['maximumHeartRate']);
  row.has_route = arr(session['exercises']).some((e) => arr(obj(obj(e)['samples'])['recordedRoute']).length > 0 || arr(obj(obj(e)['route'])['wayPoints']).length > 0);
  yield { table: 'exercises', rows: [row] };
}
