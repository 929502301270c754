/** Shared helpers of the format state machines: numbers, empty rows, file info. */
import type { LapRow, SampleRow } from '../records/rows.ts';
import { ParseFault } from './errors.ts';

export type SourceFormat = 'tcx' | 'gpx' | 'fit' | 'hrm' | 'ppt' | 'flow';

/** What the parse stage knows about the file before reading it. */
export interface ParseContext {
  userId: string;
  exerciseId: string;
  /** Raw-zone key or path, for errors only. */
  file: string;
  /** Local offset from the exercise summary; applied to zone-less timestamps and rows without one. */
  utcOffsetMin: number | null;
}

/**
 * A decimal number from element text. Rule (the reference reader has the same): empty
 * text and the literal `null` (written by Strava's GPX export) are a missing value; any
 * other text must be a finite decimal number, else PL_PARSE_NOT_A_NUMBER.
 */
export function toNumber(text: string, field: string): number | null {
  const fast = plainDecimal(text);
  if (fast === fast) return fast; // not NaN
  const v = Number(text);
  if (Number.isFinite(v)) {
    if (text.length === 0 || text.charCodeAt(0) <= 32 || text.charCodeAt(text.length - 1) <= 32) {
      const t = text.trim();
      return t.length === 0 ? null : checked(t, v, field);
    }
    return checked(text, v, field);
  }
  const t = text.trim();
  if (t.length === 0 || t === 'null') return null;
  throw new ParseFault('PL_PARSE_NOT_A_NUMBER', `${field}: not a number: ${JSON.stringify(t.slice(0, 40))}`);
}

// Exact powers of ten: m / 10^k with m < 2^53 and k <= 22 is one correctly rounded IEEE
// division, so it equals Number(text) bit for bit (Clinger's fast path).
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
/**
 * Mantissas below this are exact doubles. The digits are accumulated as `m * 10 + d` in
 * doubles: each step is exact while the true value stays below 2^53, and once it reaches
 * 2^53 the rounded one does too (rounding is monotonic), so `m < MAX_EXACT` after the loop
 * proves every step was exact, whatever the digit count (Garmin's 16-digit float32 values
 * such as 1.100000023841858 included).
 */
const MAX_EXACT = 2 ** 53;

/**
 * The value of a plain decimal `-?\d*(\.\d+)?` (at least one digit, at most 24 characters)
 * whose digits make an exact mantissa, without Number()'s generic string-to-double path;
 * NaN for anything else (the caller then takes the general path, which also handles
 * whitespace, exponents, errors).
 */
function plainDecimal(text: string): number {
  const n = text.length;
  if (n === 0 || n > 24) return NaN;
  let i = 0;
  let negative = false;
  if (text.charCodeAt(0) === 45) {
    negative = true;
    i = 1;
  }
  let mantissa = 0;
  let digitCount = 0;
  let fractionDigits = -1; // -1 until the '.'
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digitCount++;
      if (fractionDigits >= 0) fractionDigits++;
    } else if (c === 46 && fractionDigits < 0) {
      fractionDigits = 0;
    } else {
      return NaN;
    }
  }
  // "5." and "-" and "." go the general way (Python's float() accepts "5.", so does DECIMAL).
  if (digitCount === 0 || mantissa >= MAX_EXACT || fractionDigits === 0 || fractionDigits > 22) return NaN;
  const v = fractionDigits > 0 ? mantissa / POW10[fractionDigits]! : mantissa;
  return negative ? -v : v;
}

/**
 * plainDecimal over the UTF-8 bytes b[start, end) of an element's text (the fast
 * tokenizer's textBytes): the same rule and the same value, with no string made. NaN when
 * the text is anything but a plain decimal: the caller decodes it and takes toNumber.
 */
export function decimalBytes(b: Uint8Array, start: number, end: number): number {
  if (end <= start || end - start > 24) return NaN;
  let i = start;
  const negative = b[i] === 45;
  if (negative) i++;
  const intStart = i;
  let mantissa = 0;
  for (; i < end; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) break;
    mantissa = mantissa * 10 + d;
  }
  let fractionDigits = 0;
  if (i < end) {
    // Only a '.' and at least one digit may follow ("5." goes the general way).
    if (b[i] !== 46 || i + 1 === end) return NaN;
    const fractionStart = ++i;
    for (; i < end; i++) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9) return NaN;
      mantissa = mantissa * 10 + d;
    }
    fractionDigits = end - fractionStart;
    if (fractionDigits > 22) return NaN;
  } else if (i === intStart) {
    return NaN; // "" or "-"
  }
  if (mantissa >= MAX_EXACT) return NaN;
  const v = fractionDigits > 0 ? mantissa / POW10[fractionDigits]! : mantissa;
  return negative ? -v : v;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function checked(text: string, v: number, field: string): number {
  // Number() also accepts 0x10, 0b1, Infinity: a decimal check keeps us in step with Python's float().
  const c = text.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 45) {
    const c1 = text.charCodeAt(1);
    if (c1 !== 120 && c1 !== 88 && c1 !== 98 && c1 !== 66 && c1 !== 111 && c1 !== 79) return v;
  }
  if (DECIMAL.test(text)) return v;
  throw new ParseFault('PL_PARSE_NOT_A_NUMBER', `${field}: not a number: ${JSON.stringify(text.slice(0, 40))}`);
}

export function emptySample(ctx: ParseContext, format: SourceFormat, activityIndex: number): SampleRow {
  return {
    user_id: ctx.userId,
    exercise_id: ctx.exerciseId,
    source_format: format,
    time_utc_us: 0,
    utc_offset_min: null,
    activity_index: activityIndex,
    lap_index: null,
    segment_index: null,
    latitude_deg: null,
    longitude_deg: null,
    altitude_m: null,
    distance_m: null,
    heart_rate_bpm: null,
    cadence_rpm: null,
    speed_mps: null,
    power_w: null,
    temperature_c: null,
    sensor_state: null,
    vertical_oscillation_mm: null,
    stance_time_ms: null,
    step_length_mm: null,
    left_right_balance_pct: null,
  };
}

export function emptyLap(ctx: ParseContext, format: SourceFormat, activityIndex: number, lapIndex: number): LapRow {
  return {
    user_id: ctx.userId,
    exercise_id: ctx.exerciseId,
    source_format: format,
    activity_index: activityIndex,
    lap_index: lapIndex,
    start_time_utc_us: 0,
    utc_offset_min: null,
    total_time_s: null,
    distance_m: null,
    max_speed_mps: null,
    calories_kcal: null,
    avg_heart_rate_bpm: null,
    max_heart_rate_bpm: null,
    avg_cadence_rpm: null,
    avg_power_w: null,
    intensity: null,
    trigger_method: null,
  };
}

/**
 * One row per file: what it holds. `content` says what kind of document it is, so a TCX
 * Course or Workouts file (no recorded samples, by rule) gives a clear answer, not silence.
 */
export interface FileInfo {
  user_id: string;
  exercise_id: string;
  file: string;
  source_format: SourceFormat;
  content: 'activity' | 'course' | 'workouts' | 'empty';
  /** TCX Activity Creator Name / GPX creator attribute / FIT device product name. */
  creator_name: string | null;
  /** TCX VersionMajor.VersionMinor.BuildMajor.BuildMinor / FIT software version. */
  creator_version: string | null;
  /** TCX Author Name, GPX metadata author, FIT manufacturer. */
  author_name: string | null;
  /** Sports of the activities in order, comma separated. */
  sport: string | null;
  activity_count: number;
  lap_count: number;
  sample_count: number;
  /** Trackpoints without a time (no natural key), dropped by rule. */
  dropped_point_count: number;
  /** GPX wpt + rte points, TCX Course points: not samples, by rule. */
  ignored_point_count: number;
  first_time_utc_us: number | null;
  last_time_utc_us: number | null;
  utc_offset_min: number | null;
  /** Sample columns that hold at least one non-null value. */
  fields_present: string[];
}

export function emptyFileInfo(ctx: ParseContext, format: SourceFormat): FileInfo {
  return {
    user_id: ctx.userId,
    exercise_id: ctx.exerciseId,
    file: ctx.file,
    source_format: format,
    content: 'empty',
    creator_name: null,
    creator_version: null,
    author_name: null,
    sport: null,
    activity_count: 0,
    lap_count: 0,
    sample_count: 0,
    dropped_point_count: 0,
    ignored_point_count: 0,
    first_time_utc_us: null,
    last_time_utc_us: null,
    utc_offset_min: null,
    fields_present: [],
  };
}

const OPTIONAL_SAMPLE_FIELDS = [
  'latitude_deg', 'longitude_deg', 'altitude_m', 'distance_m', 'heart_rate_bpm', 'cadence_rpm', 'speed_mps',
  'power_w', 'temperature_c', 'sensor_state', 'vertical_oscillation_mm', 'stance_time_ms', 'step_length_mm',
  'left_right_balance_pct',
] as const satisfies readonly (keyof SampleRow)[];

/** Bit of each optional sample column in SampleStats.addPoint's `presentBits`. */
export const PRESENT = Object.freeze(Object.fromEntries(OPTIONAL_SAMPLE_FIELDS.map((f, i) => [f, 1 << i]))) as Readonly<
  Record<(typeof OPTIONAL_SAMPLE_FIELDS)[number], number>
>;

/** Tracks which optional sample columns were ever non-null, and the time span. */
export class SampleStats {
  private present = 0;
  count = 0;
  first: number | null = null;
  last: number | null = null;
  offset: number | null = null;

  add(row: SampleRow): void {
    this.count++;
    if (this.first === null || row.time_utc_us < this.first) this.first = row.time_utc_us;
    if (this.last === null || row.time_utc_us > this.last) this.last = row.time_utc_us;
    if (this.offset === null) this.offset = row.utc_offset_min;
    for (let i = 0; i < OPTIONAL_SAMPLE_FIELDS.length; i++) {
      if ((this.present & (1 << i)) === 0 && row[OPTIONAL_SAMPLE_FIELDS[i]!] !== null) this.present |= 1 << i;
    }
  }

  /** add() for a state machine that already knows which columns its row has (no row walk). */
  addPoint(timeUs: number, offsetMin: number | null, presentBits: number): void {
    this.count++;
    if (this.first === null || timeUs < this.first) this.first = timeUs;
    if (this.last === null || timeUs > this.last) this.last = timeUs;
    if (this.offset === null) this.offset = offsetMin;
    this.present |= presentBits;
  }

  fill(info: FileInfo): void {
    info.sample_count = this.count;
    info.first_time_utc_us = this.first;
    info.last_time_utc_us = this.last;
    info.utc_offset_min = this.offset;
    info.fields_present = OPTIONAL_SAMPLE_FIELDS.filter((_, i) => (this.present & (1 << i)) !== 0);
  }
}
