/**
 * AccessLink exercise summary JSON → one `ExerciseRow`.
 *
 * The API spells the same object two ways: hyphenated keys (transactional endpoints) and
 * snake_case (`/v3/exercises`), with hyphenated keys left inside the snake_case object
 * (`running-index`, `training_load_pro.cardio-load`). Keys are normalised to snake_case
 * first, so both spellings (and mixtures) give the same row.
 *
 * Schema contract (dlt's terms): an unknown key is `discard_value` (reported in
 * `unknownKeys`, the raw JSON in the raw zone keeps it); a missing or mistyped *required*
 * field (id, start time) is `discard_row`: a typed error, dead-lettered by the parse stage.
 */
import { bool, num, PayloadFieldError, readDateTime, str } from './json-payload.ts';
import type { ExerciseRow } from '../records/rows.ts';

export class SummaryError extends PayloadFieldError {
  readonly code = 'PL_SUMMARY_INVALID';
}

const KNOWN_KEYS = new Set([
  'id', 'upload_time', 'polar_user', 'transaction_id', 'device', 'device_id', 'start_time',
  'start_time_utc_offset', 'duration', 'calories', 'distance', 'heart_rate', 'training_load',
  'sport', 'has_route', 'club_id', 'club_name', 'detailed_sport_info', 'fat_percentage',
  'carbohydrate_percentage', 'protein_percentage', 'running_index', 'training_load_pro',
  'heart_rate_zones', 'samples', 'route',
]);

export interface NormalisedSummary {
  row: ExerciseRow;
  /** Top-level keys the schema does not know (after normalisation), kept only in the raw zone. */
  unknownKeys: string[];
}

const snake = (key: string) => key.replace(/-/g, '_');

function normaliseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normaliseKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [snake(k), normaliseKeys(v)]));
  }
  return value;
}

/** ISO-8601 duration (PT2H44M45S, PT6.705S, P1DT2H) → seconds; null when absent or not a duration. */
export function isoDurationSeconds(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!m || text === 'P' || text === 'PT') return null;
  const [, d, h, min, s] = m;
  return Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(min ?? 0) * 60 + Number(s ?? 0);
}

/** A local wall time without zone ('2008-10-13T10:40:02[.sss]') and an offset in minutes → UTC epoch µs. */
export function localTimeToUtcMicros(local: string, offsetMin: number): number | null {
  const t = readDateTime(local);
  return t && t.offsetMin === null ? t.utcUs - offsetMin * 60_000_000 : null;
}

/** An instant with a zone ('...Z', '+03:00') → UTC epoch µs. */
export function instantToUtcMicros(text: unknown): number | null {
  const t = readDateTime(text);
  return t && t.offsetMin !== null ? t.utcUs : null;
}

const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

export function normaliseExerciseSummary(json: unknown, ctx: { userId: string; file: string }): NormalisedSummary {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new SummaryError('expected a JSON object', ctx.file, '$');
  }
  const o = normaliseKeys(json) as Record<string, unknown>;
  const id = str(o['id']);
  if (!id) throw new SummaryError('missing exercise id', ctx.file, 'id');
  const startLocal = o['start_time'];
  if (typeof startLocal !== 'string') throw new SummaryError('missing start time', ctx.file, 'start_time');
  const offset = num(o['start_time_utc_offset']);
  // Without an offset the local wall time is the best we have: take it as UTC, keep offset null.
  const startUtc = localTimeToUtcMicros(startLocal, offset ?? 0) ?? instantToUtcMicros(startLocal);
  if (startUtc === null) {
    throw new SummaryError(`not a local date-time: ${JSON.stringify(startLocal).slice(0, 40)}`, ctx.file, 'start_time');
  }
  const hr = obj(o['heart_rate']);
  const tlp = obj(o['training_load_pro']);
  const row: ExerciseRow = {
    user_id: ctx.userId,
    exercise_id: id,
    transaction_id: str(o['transaction_id']),
    upload_time_utc_us: instantToUtcMicros(o['upload_time']),
    start_time_utc_us: startUtc,
    utc_offset_min: offset,
    duration_s: isoDurationSeconds(o['duration']),
    calories_kcal: num(o['calories']),
    distance_m: num(o['distance']),
    heart_rate_avg_bpm: num(hr['average']),
    heart_rate_max_bpm: num(hr['maximum']),
    training_load: num(o['training_load']),
    sport: str(o['sport']),
    detailed_sport_info: str(o['detailed_sport_info']),
    device: str(o['device']),
    device_id: str(o['device_id']),
    has_route: bool(o['has_route']),
    running_index: num(o['running_index']),
    fat_percentage: num(o['fat_percentage']),
    carbohydrate_percentage: num(o['carbohydrate_percentage']),
    protein_percentage: num(o['protein_percentage']),
    cardio_load: num(tlp['cardio_load']),
    muscle_load: num(tlp['muscle_load']),
    perceived_load: num(tlp['perceived_load']),
    source: 'accesslink',
    other_sources: null,
  };
  const unknownKeys = Object.keys(o).filter((k) => !KNOWN_KEYS.has(k));
  return { row, unknownKeys };
}
